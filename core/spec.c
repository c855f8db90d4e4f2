/* spec.c - the one tokenizer for the text specs of variable fields (grammar in umpa_spec.h). */
#include <string.h>
#include <strings.h>

#include "umpa_num.h"
#include "umpa_spec.h"

static int is_blank_(char ch)
{
	return ch == ' ' || ch == '\t';
}

int umpa_spec_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

struct umpa_span umpa_span_of(const char *s)
{
	struct umpa_span r = {s ? s : "", s ? strlen(s) : 0};

	return r;
}

struct umpa_span umpa_span_trim(struct umpa_span a)
{
	while (a.n > 0 && is_blank_(a.s[0]))
		a.s++, a.n--;
	while (a.n > 0 && is_blank_(a.s[a.n - 1]))
		a.n--;
	return a;
}

int umpa_span_cstr(struct umpa_span a, char *buf, size_t size)
{
	if (a.n >= size)
		return -1;
	if (a.n)
		memcpy(buf, a.s, a.n);
	buf[a.n] = 0;
	return 0;
}

int umpa_span_is(struct umpa_span a, const char *word)
{
	size_t n = strlen(word);

	return a.n == n && strncasecmp(a.s, word, n) == 0;
}

int umpa_span_cut(struct umpa_span a, const char *seps, struct umpa_span *head, struct umpa_span *tail)
{
	size_t i = 0;

	while (i < a.n && !strchr(seps, a.s[i]))
		i += a.s[i] == '\\' && i + 1 < a.n ? 2 : 1;
	if (i >= a.n || a.s[i] == 0) {
		*head = a;
		tail->s = a.s + a.n;
		tail->n = 0;
		return 0;
	}
	head->s = a.s;
	head->n = i;
	tail->s = a.s + i + 1;
	tail->n = a.n - i - 1;
	return 1;
}

int umpa_spec_next(struct umpa_span *s, struct umpa_span *item)
{
	while (s->n) {
		umpa_span_cut(*s, ",", item, s);
		*item = umpa_span_trim(*item);
		if (item->n)
			return 1;
	}
	return 0;
}

int umpa_spec_item(struct umpa_span *s, struct umpa_span *key, struct umpa_span *val, int *hasval)
{
	struct umpa_span item;

	if (!umpa_spec_next(s, &item))
		return 0;
	*hasval = umpa_span_cut(item, "=", key, val);
	*key = umpa_span_trim(*key);
	*val = umpa_span_trim(*val);
	return 1;
}

int umpa_spec_part(struct umpa_span *list, struct umpa_span *part)
{
	struct umpa_span rest;

	if (list->n == 0)
		return 0;
	umpa_span_cut(*list, ":", part, &rest);
	*part = umpa_span_trim(*part);
	*list = rest;
	return 1;
}

size_t umpa_spec_nparts(struct umpa_span list)
{
	struct umpa_span part;
	size_t k = 0;

	while (umpa_spec_part(&list, &part))
		k++;
	return k;
}

int umpa_spec_num(struct umpa_span a, uint64_t max, uint64_t *v)
{
	char buf[48];
	struct umpa_err e;

	/* the digits are read by the one checked-number parser (umpa_num.h); a
	 * spec's numbers (codes, sizes, counts) take no sign */
	a = umpa_span_trim(a);
	if (a.n == 0 || a.s[0] == '+' || a.s[0] == '-' || umpa_span_cstr(a, buf, sizeof(buf)) < 0)
		return -1;
	return umpa_num_u64(UMPA_NUM_RANGE("", 0, (double)max, UMPA_NUM_INT), "spec", buf, v, &e) < 0 ? -1 : 0;
}

long umpa_spec_hex(struct umpa_span a, uint8_t *out, size_t max)
{
	size_t k = 0;
	int hi = -1;

	a = umpa_span_trim(a);
	if (a.n >= 2 && a.s[0] == '0' && (a.s[1] == 'x' || a.s[1] == 'X'))
		a.s += 2, a.n -= 2;
	for (size_t i = 0; i < a.n; i++) {
		char ch = a.s[i];
		int d = umpa_spec_hexval(ch);
		if (d < 0) {
			if (ch != ':' && ch != '-' && ch != '.' && ch != ' ')
				return UMPA_SPEC_NOTHEX;
			if (hi >= 0)
				return UMPA_SPEC_ODD;
			continue;
		}
		if (hi < 0) {
			hi = d;
			continue;
		}
		if (k >= max)
			return UMPA_SPEC_LONG;
		if (out)
			out[k] = (uint8_t)(hi << 4 | d);
		k++;
		hi = -1;
	}
	return hi >= 0 ? UMPA_SPEC_ODD : (long)k;
}
