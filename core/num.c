/* num.c - checked numbers: parse and range-check every number a user gives.
 *
 * The grammar is checked here, character by character, before strtod() sees
 * the text: strtod alone takes "inf", "nan", "0x1p4", leading blanks and a
 * locale's decimal comma.  Times are parsed exactly in decimal (digit
 * positions, no floating point), so a timestamp keeps every nanosecond the
 * user wrote and a huge exponent cannot overflow anything.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_num.h"

const struct umpa_num_spec umpa_num_seconds = {"seconds", 0, 1e8, 0};
const struct umpa_num_spec umpa_num_pps = {"packets per second", 1e-8, 1e9, UMPA_NUM_OFF};
const struct umpa_num_spec umpa_num_bps = {"bits per second", 1, 1e12, UMPA_NUM_OFF};
const struct umpa_num_spec umpa_num_fraction = {"a fraction", 0, 1, 0};
const struct umpa_num_spec umpa_num_count = {"a count", 0, 1e12, UMPA_NUM_INT};
const struct umpa_num_spec umpa_num_bytes = {"bytes", 0, 4294967295.0, UMPA_NUM_INT};
const struct umpa_num_spec umpa_num_seed = {"a whole number", 0, 18446744073709551615.0, UMPA_NUM_INT};
const struct umpa_num_spec umpa_num_epoch = {"seconds since 1970", 0, 9e9, 0};
const struct umpa_num_spec umpa_num_epoch_pcap = {"pcap seconds since 1970", 0, 4294967295.0, 0};
const struct umpa_num_spec umpa_num_epoch_pcapng = {"pcapng seconds since 1970", 0, 18446744072.0, 0};

#define TWO64_ 18446744073709551616.0 /* 2^64 */
#define TWO63_ 9223372036854775808.0  /* 2^63 */
#define ECHO_ 40                      /* bytes of the user's text echoed in a message */

/* A bound as text: whole numbers in full, the rest in %g. */
static void bound_text_(double v, char *buf, size_t cap)
{
	if (v >= TWO64_ - 1)
		snprintf(buf, cap, "18446744073709551615");
	else if (v == floor(v) && fabs(v) < 1e16)
		snprintf(buf, cap, "%.0f", v);
	else if (v > 0 && v < 1e-4 && v >= 1e-12) { /* 0.00000001, not 1e-08 */
		size_t n = (size_t)snprintf(buf, cap, "%.12f", v);
		while (n > 1 && n < cap && buf[n - 1] == '0')
			buf[--n] = 0;
	} else
		snprintf(buf, cap, "%.15g", v);
}

const char *umpa_num_range_text(const struct umpa_num_spec *s, char *buf, unsigned cap)
{
	char lo[32], hi[32];

	if (!cap)
		return buf;
	bound_text_(s->min, lo, sizeof(lo));
	bound_text_(s->max, hi, sizeof(hi));
	snprintf(buf, cap, "%s: %s%s to %s", s->unit, (s->flags & UMPA_NUM_OFF) && s->min > 0 ? "0 for none, or " : "",
		 lo, hi);
	return buf;
}

/* Fail with "OPT: 'TEXT' WHAT (RANGE)". */
static int fail_text_(const struct umpa_num_spec *s, const char *opt, const char *text, const char *what, int code,
		      struct umpa_err *e)
{
	char range[160];
	size_t n = strlen(text);

	umpa_num_range_text(s, range, sizeof(range));
	umpa_err_set(e, code, "%s: '%.*s%s' %s (%s)", opt ? opt : "value", ECHO_, text, n > ECHO_ ? "..." : "", what,
		     range);
	return -1;
}

/* Fail with "OPT: VALUE WHAT (RANGE)" for a number that is one already. */
static int fail_value_(const struct umpa_num_spec *s, const char *opt, double v, const char *what, struct umpa_err *e)
{
	char range[160];

	char num[32];

	/* the shortest text that reads back as v: 1e-300, but 1.0000000000000002 when that is what it is */
	snprintf(num, sizeof(num), "%.15g", v);
	if (strtod(num, NULL) != v)
		snprintf(num, sizeof(num), "%.17g", v);
	umpa_num_range_text(s, range, sizeof(range));
	umpa_err_set(e, v != v ? UMPA_EINVAL : UMPA_ERANGE, "%s: %s %s (%s)", opt ? opt : "value", num, what, range);
	return -1;
}

static int isdig_(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The decimal grammar: [+-] (D+ [. D*] | . D+) [(e|E) [+-] D+].  Fills the
 * parts in @p d.  Returns 0, or -1 when @p text is not that.
 */
struct dec_ {
	int neg;
	const char *ip, *fp; /* integer and fraction digits */
	size_t il, fl;
	long exp; /* the exponent, clamped to +-100000 */
};

static int scan_dec_(const char *t, struct dec_ *d)
{
	memset(d, 0, sizeof(*d));
	if (*t == '+' || *t == '-')
		d->neg = *t++ == '-';
	d->ip = t;
	while (isdig_(*t))
		t++;
	d->il = (size_t)(t - d->ip);
	if (*t == '.') {
		d->fp = ++t;
		while (isdig_(*t))
			t++;
		d->fl = (size_t)(t - d->fp);
	}
	if (d->il + d->fl == 0)
		return -1;
	if (*t == 'e' || *t == 'E') {
		int eneg = 0;
		t++;
		if (*t == '+' || *t == '-')
			eneg = *t++ == '-';
		if (!isdig_(*t))
			return -1;
		for (; isdig_(*t); t++)
			if (d->exp < 100000)
				d->exp = d->exp * 10 + (*t - '0');
		if (eneg)
			d->exp = -d->exp;
	}
	return *t ? -1 : 0;
}

/* Digit @p k of the integer digits followed by the fraction digits; 0 past the end. */
static int digit_(const struct dec_ *d, long k)
{
	if (k < 0)
		return 0;
	if ((size_t)k < d->il)
		return d->ip[k] - '0';
	k -= (long)d->il;
	return (size_t)k < d->fl ? d->fp[k] - '0' : 0;
}

/* Are all digits of @p d zeros? */
static int dec_zero_(const struct dec_ *d)
{
	for (long k = 0; k < (long)(d->il + d->fl); k++)
		if (digit_(d, k))
			return 0;
	return 1;
}

/*
 * The exact value of @p d as whole seconds and nanoseconds (digits past the
 * ninth fractional one dropped).  Returns 0, 1 when the value is zero, or -1
 * when the whole part does not fit 63 bits.
 */
static int dec_split_(const struct dec_ *d, int64_t *sec, uint32_t *nsec)
{
	long n = (long)(d->il + d->fl), lead = 0, point;
	uint64_t w = 0;
	uint32_t f = 0;

	while (lead < n && digit_(d, lead) == 0)
		lead++;
	*sec = 0;
	*nsec = 0;
	if (lead == n)
		return 1;
	point = (long)d->il + d->exp; /* digits before the decimal point */
	if (point - lead > 19)
		return -1;
	for (long k = lead; k < point; k++)
		w = w * 10 + (uint64_t)digit_(d, k);
	if (w > (uint64_t)INT64_MAX)
		return -1;
	for (long k = point; k < point + 9; k++)
		f = f * 10 + (uint32_t)(k >= lead ? digit_(d, k) : 0);
	*sec = (int64_t)w;
	*nsec = f;
	return w == 0 && f == 0 ? 1 : 0;
}

/* Is @p v within @p s (0 passes with UMPA_NUM_OFF)? */
static int in_range_(const struct umpa_num_spec *s, double v)
{
	return (v >= s->min && v <= s->max) || ((s->flags & UMPA_NUM_OFF) && v == 0);
}

int umpa_num_real(const struct umpa_num_spec *s, const char *opt, const char *text, double *v, struct umpa_err *e)
{
	struct dec_ d;
	char *end;
	double x;

	if (!text)
		text = "";
	if (s->flags & UMPA_NUM_INT) {
		uint64_t u;
		if (umpa_num_u64(s, opt, text, &u, e) < 0)
			return -1;
		*v = (double)u;
		return 0;
	}
	if (scan_dec_(text, &d) < 0)
		return fail_text_(s, opt, text, "is not a number", UMPA_EINVAL, e);
	errno = 0;
	x = strtod(text, &end);
	if (*end) /* a locale whose decimal point is not '.' */
		return fail_text_(s, opt, text, "is not a number", UMPA_EINVAL, e);
	if (errno == ERANGE || !isfinite(x)) {
		/* underflow of a number that is zero after all ("0e-999") is fine */
		if (!(x == 0 && dec_zero_(&d)))
			return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
	}
	if (x == 0)
		x = 0; /* no -0 */
	if (!in_range_(s, x))
		return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
	*v = x;
	return 0;
}

int umpa_num_u64(const struct umpa_num_spec *s, const char *opt, const char *text, uint64_t *v, struct umpa_err *e)
{
	const char *t = text ? text : "";
	int neg = 0, hex = 0;
	uint64_t u = 0, hi, lo;
	struct dec_ d;

	if (!text)
		text = "";
	if (*t == '+' || *t == '-')
		neg = *t++ == '-';
	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
		hex = 1;
		t += 2;
	}
	if (!*t) {
		if (scan_dec_(text, &d) == 0) /* "0x" is not a number at all */
			goto frac;
		return fail_text_(s, opt, text, "is not a number", UMPA_EINVAL, e);
	}
	for (; *t; t++) {
		int dv;
		if (isdig_(*t))
			dv = *t - '0';
		else if (hex && ((*t | 32) >= 'a' && (*t | 32) <= 'f'))
			dv = (*t | 32) - 'a' + 10;
		else if (!hex && scan_dec_(text, &d) == 0)
			goto frac;
		else
			return fail_text_(s, opt, text, "is not a number", UMPA_EINVAL, e);
		if (u > (UINT64_MAX - (uint64_t)dv) / (hex ? 16 : 10)) {
			/* too large for 64 bits: out of range (keep checking it is a number) */
			for (t++; *t; t++)
				if (!(isdig_(*t) || (hex && ((*t | 32) >= 'a' && (*t | 32) <= 'f'))))
					return fail_text_(s, opt, text, "is not a number", UMPA_EINVAL, e);
			return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
		}
		u = u * (hex ? 16 : 10) + (uint64_t)dv;
	}
	hi = s->max >= TWO64_ - 1 ? UINT64_MAX : s->max < 0 ? 0 : (uint64_t)floor(s->max);
	lo = s->min <= 0 ? 0 : (uint64_t)ceil(s->min);
	if (neg && u != 0)
		return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
	if (s->max < 0 || u > hi || (u < lo && !(u == 0 && (s->flags & UMPA_NUM_OFF))))
		return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
	*v = u;
	return 0;
frac:
	/* a decimal number, but not a whole one written as digits ("1.5", "2e3") */
	return fail_text_(s, opt, text, "is not a whole number", UMPA_EINVAL, e);
}

/* Is (sec, nsec) within @p s?  Bounds are within [0, 2^63). */
static int time_in_range_(const struct umpa_num_spec *s, int64_t sec, uint32_t nsec)
{
	double fl_max = floor(s->max), fl_min = floor(s->min);
	int64_t smax = s->max >= TWO63_ ? INT64_MAX : (int64_t)fl_max;
	int64_t smin = s->min <= 0 ? 0 : (int64_t)fl_min;
	uint32_t nmax = s->max >= TWO63_ ? 999999999u : (uint32_t)((s->max - fl_max) * 1e9 + 0.5);
	uint32_t nmin = s->min <= 0 ? 0 : (uint32_t)((s->min - fl_min) * 1e9 + 0.5);

	if ((s->flags & UMPA_NUM_OFF) && sec == 0 && nsec == 0)
		return 1;
	if (s->max < 0 || sec > smax || (sec == smax && nsec > nmax))
		return 0;
	if (sec < smin || (sec == smin && nsec < nmin))
		return 0;
	return 1;
}

int umpa_num_time(const struct umpa_num_spec *s, const char *opt, const char *text, int64_t *sec, uint32_t *nsec,
		  struct umpa_err *e)
{
	struct dec_ d;
	int64_t S;
	uint32_t N;
	int z;

	if (!text)
		text = "";
	if (scan_dec_(text, &d) < 0)
		return fail_text_(s, opt, text, "is not a number", UMPA_EINVAL, e);
	z = dec_split_(&d, &S, &N);
	if (z < 0 || (d.neg && !dec_zero_(&d)) || !time_in_range_(s, S, N))
		return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
	if ((s->flags & UMPA_NUM_INT) && N != 0)
		return fail_text_(s, opt, text, "is not a whole number", UMPA_EINVAL, e);
	*sec = S;
	*nsec = N;
	return 0;
}

int umpa_num_ns(const struct umpa_num_spec *s, const char *opt, const char *text, int64_t *ns, struct umpa_err *e)
{
	int64_t sec;
	uint32_t nsec;

	if (umpa_num_time(s, opt, text, &sec, &nsec, e) < 0)
		return -1;
	if (sec > (INT64_MAX - 999999999) / 1000000000) /* a spec beyond its contract */
		return fail_text_(s, opt, text, "is out of range", UMPA_ERANGE, e);
	*ns = sec * 1000000000 + nsec;
	return 0;
}

int umpa_num_check(const struct umpa_num_spec *s, const char *opt, double v, struct umpa_err *e)
{
	if (v != v)
		return fail_value_(s, opt, v, "is not a number", e);
	if (!isfinite(v) || !in_range_(s, v))
		return fail_value_(s, opt, v, "is out of range", e);
	if ((s->flags & UMPA_NUM_INT) && v != floor(v)) {
		fail_value_(s, opt, v, "is not a whole number", e);
		if (e)
			e->code = UMPA_EINVAL;
		return -1;
	}
	return 0;
}

int umpa_num_check_i64(const struct umpa_num_spec *s, const char *opt, int64_t v, struct umpa_err *e)
{
	int hi_ok = s->max >= TWO63_ || (s->max >= -TWO63_ && v <= (int64_t)floor(s->max));
	int lo_ok = s->min <= -TWO63_ || (s->min < TWO63_ && v >= (int64_t)ceil(s->min));

	if ((hi_ok && lo_ok) || ((s->flags & UMPA_NUM_OFF) && v == 0))
		return 0;
	{
		char range[160];
		umpa_num_range_text(s, range, sizeof(range));
		umpa_err_set(e, UMPA_ERANGE, "%s: %lld is out of range (%s)", opt ? opt : "value", (long long)v, range);
	}
	return -1;
}

int umpa_num_check_time(const struct umpa_num_spec *s, const char *opt, double v, int64_t *sec, uint32_t *nsec,
			struct umpa_err *e)
{
	double w;
	int64_t S;
	uint32_t N;

	if (umpa_num_check(s, opt, v, e) < 0)
		return -1;
	if (v < 0 || v >= TWO63_)
		return fail_value_(s, opt, v, "is out of range", e);
	w = floor(v);
	S = (int64_t)w;
	N = (uint32_t)((v - w) * 1e9 + 0.5);
	if (N >= 1000000000u) {
		N = 999999999u; /* rounding must not step past the second (or past max) */
	}
	*sec = S;
	*nsec = N;
	return 0;
}
