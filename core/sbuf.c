/* sbuf.c - the growable text buffer used by the renderers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "umpa_sbuf.h"

int umpa_sbuf_grow(struct umpa_sbuf *b, size_t n)
{
	size_t want = b->len + n + 1, cap = b->cap ? b->cap : 256;
	char *s;

	if (want <= b->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

int umpa_array_grow(void *arrp, size_t *cap, size_t need, size_t elem, struct umpa_err *e)
{
	void **arr = arrp;
	size_t nc = *cap ? *cap : 64;
	void *na;

	if (need <= *cap)
		return 0;
	while (nc < need) {
		if (nc > SIZE_MAX / 2 / (elem ? elem : 1))
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory (%zu elements of %zu bytes)", need, elem);
		nc *= 2;
	}
	na = realloc(*arr, nc * elem);
	if (!na)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory (%zu elements of %zu bytes)", need, elem);
	*arr = na;
	*cap = nc;
	return 0;
}

void umpa_sbuf_free(struct umpa_sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void umpa_sbuf_printf(struct umpa_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (umpa_sbuf_grow(b, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (umpa_sbuf_grow(b, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void umpa_sbuf_put_u64(struct umpa_sbuf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	umpa_sbuf_put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static const char hexdig[] = "0123456789abcdef";

void umpa_sbuf_put_hex(struct umpa_sbuf *b, uint64_t v, unsigned digits)
{
	char tmp[20];
	int i = sizeof(tmp);
	unsigned n = 0;

	do {
		tmp[--i] = hexdig[v & 15];
		v >>= 4;
		n++;
	} while ((v || n < digits) && i > 2);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	umpa_sbuf_put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void umpa_sbuf_put_ipv4(struct umpa_sbuf *b, const uint8_t a[4])
{
	char tmp[16];
	int n = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = a[k];
		if (v >= 100)
			tmp[n++] = (char)('0' + v / 100);
		if (v >= 10)
			tmp[n++] = (char)('0' + v / 10 % 10);
		tmp[n++] = (char)('0' + v % 10);
		if (k < 3)
			tmp[n++] = '.';
	}
	umpa_sbuf_put(b, tmp, (size_t)n);
}

void umpa_sbuf_put_ipv6(struct umpa_sbuf *b, const uint8_t a[16])
{
	uint16_t w[8];
	int best = -1, bestlen = 0;
	char tmp[48];
	int n = 0;

	for (int i = 0; i < 8; i++)
		w[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
	for (int i = 0; i < 8;) { /* longest run of zero words (>= 2), first wins */
		int j = i;
		while (j < 8 && w[j] == 0)
			j++;
		if (j - i > bestlen && j - i >= 2) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	if (best == 0 && (bestlen == 6 || (bestlen == 5 && w[5] == 0xffff))) { /* ::a.b.c.d, ::ffff:a.b.c.d */
		n = snprintf(tmp, sizeof(tmp), bestlen == 6 ? "::%u.%u.%u.%u" : "::ffff:%u.%u.%u.%u", a[12], a[13],
			     a[14], a[15]);
		umpa_sbuf_put(b, tmp, (size_t)n);
		return;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			tmp[n++] = ':';
			if (i == 0)
				tmp[n++] = ':';
			i += bestlen - 1;
			continue;
		}
		int started = 0;
		for (int s = 12; s >= 0; s -= 4) {
			unsigned d = (w[i] >> s) & 15;
			if (d || started || s == 0) {
				tmp[n++] = hexdig[d];
				started = 1;
			}
		}
		if (i < 7)
			tmp[n++] = ':';
	}
	umpa_sbuf_put(b, tmp, (size_t)n);
}

void umpa_sbuf_put_mac(struct umpa_sbuf *b, const uint8_t a[6])
{
	umpa_sbuf_put_hexbytes(b, a, 6, ':');
}

void umpa_sbuf_put_hexbytes(struct umpa_sbuf *b, const uint8_t *p, size_t n, char sep)
{
	if (n == 0)
		return;
	if (umpa_sbuf_grow(b, n * 3) < 0)
		return;
	char *o = b->s + b->len;
	for (size_t i = 0; i < n; i++) {
		if (i && sep)
			*o++ = sep;
		*o++ = hexdig[p[i] >> 4];
		*o++ = hexdig[p[i] & 15];
	}
	*o = 0;
	b->len = (size_t)(o - b->s);
}

static size_t safe_len_(const unsigned char *s, size_t n);

void umpa_sbuf_put_json_str(struct umpa_sbuf *b, const char *s, size_t n)
{
	umpa_sbuf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		size_t k;
		if (ch >= 0x80 && (k = safe_len_((const unsigned char *)s + i, n - i)) > 1) {
			umpa_sbuf_put(b, s + i, k); /* well-formed UTF-8 (a comment, a name): as it is */
			i += k - 1;
		} else if (ch == '"' || ch == '\\') {
			umpa_sbuf_putc(b, '\\');
			umpa_sbuf_putc(b, (char)ch);
		} else if (ch < 0x20 || ch >= 0x7f) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			umpa_sbuf_put(b, esc, 6);
		} else {
			umpa_sbuf_putc(b, (char)ch);
		}
	}
	umpa_sbuf_putc(b, '"');
}

/*
 * Length of the safe character at s[0] (n > 0 bytes left), or 0 when it must
 * be escaped.  Safe: printable ASCII, and well-formed UTF-8 of a code point
 * from U+00A0 on, except the ones that move or hide text: U+200E/U+200F
 * (marks), U+2028..U+202E (separators, embeddings, overrides) and
 * U+2066..U+2069 (isolates).  C0 and C1 controls, DEL, stray and overlong
 * bytes, surrogates are escaped.
 */
static size_t safe_len_(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, need;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07;
	else
		return 0;
	if (n <= need)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff)) /* overlong, past Unicode, surrogate */
		return 0;
	if (cp < 0xa0 || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return need + 1;
}

/*
 * Bytes of printable ASCII (0x20..0x7e) at the start of @p s, 8 at a time:
 * the renderers pass every line through here, so the common case costs a
 * load and a few operations per word ("Bit Twiddling Hacks": a word has a
 * byte less than n, or more than n, exactly, for these n).
 */
static size_t plain_run_(const unsigned char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		if ((((x - ones * 0x20) & ~x) | ((x + ones * (127 - 0x7e)) | x)) & high)
			break;
	}
	while (i < n && s[i] >= 0x20 && s[i] < 0x7f)
		i++;
	return i;
}

/* Bytes of safe text at the start of @p s. */
static size_t safe_run_(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	for (;;) {
		i += plain_run_(s + i, n - i);
		if (i >= n || (k = safe_len_(s + i, n - i)) == 0)
			return i;
		i += k;
	}
}

/* Append the escape of the unsafe character at s[0]; returns the bytes it stands for. */
static size_t put_escape_(struct umpa_sbuf *b, const unsigned char *s, size_t n)
{
	char esc[8] = {'\\', 'x', 0, 0};

	if (s[0] == '\n' || s[0] == '\r' || s[0] == '\t') {
		esc[1] = s[0] == '\n' ? 'n' : s[0] == '\r' ? 'r' : 't';
		umpa_sbuf_put(b, esc, 2);
		return 1;
	}
	if (s[0] == 0xe2 && n >= 3 && s[1] == 0x80 &&
	    (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xa8 && s[2] <= 0xae))) {
		umpa_sbuf_printf(b, "\\u20%02x", (unsigned)(s[2] - 0x80)); /* U+200E.., U+2028.. */
		return 3;
	}
	if (s[0] == 0xe2 && n >= 3 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9) {
		umpa_sbuf_printf(b, "\\u20%02x", (unsigned)(s[2] - 0x80 + 0x40)); /* U+2066..U+2069 */
		return 3;
	}
	if (s[0] == 0xc2 && n >= 2 && s[1] >= 0x80 && s[1] < 0xa0) {
		umpa_sbuf_printf(b, "\\u%04x", (unsigned)s[1]); /* a C1 control written in UTF-8 */
		return 2;
	}
	esc[2] = hexdig[s[0] >> 4];
	esc[3] = hexdig[s[0] & 15];
	umpa_sbuf_put(b, esc, 4);
	return 1;
}

void umpa_sbuf_put_safe(struct umpa_sbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t run = i + safe_run_(u + i, n - i);
		umpa_sbuf_put(b, s + i, run - i);
		if (run < n)
			run += put_escape_(b, u + run, n - run);
		i = run;
	}
}

int umpa_sbuf_make_safe(struct umpa_sbuf *b, size_t from)
{
	size_t i, tl;
	char stack[512], *tail;

	if (!b->s || from >= b->len)
		return 0;
	i = from + safe_run_((const unsigned char *)b->s + from, b->len - from);
	if (i == b->len)
		return 0; /* the common case: nothing to do, nothing copied */
	tl = b->len - i;
	tail = tl <= sizeof(stack) ? stack : malloc(tl);
	if (!tail) {
		b->len = i; /* drop the unsafe rest rather than print it */
		b->s[i] = 0;
		b->oom = 1;
		return -1;
	}
	memcpy(tail, b->s + i, tl);
	b->len = i;
	umpa_sbuf_put_safe(b, tail, tl);
	if (tail != stack)
		free(tail);
	return b->oom ? -1 : 0;
}
