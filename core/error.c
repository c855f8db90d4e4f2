/* error.c - error messages for library callers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "umpa_error.h"

/*
 * Copy the message @p s (@p n bytes) into @p e->msg.  One that does not fit
 * is cut at the last word boundary (a space) that leaves room for " ...",
 * never inside a word or a UTF-8 sequence, so a long list of names ends
 * "..., key_update ..." rather than "server_renego".
 */
static void err_fit(struct umpa_err *e, const char *s, size_t n)
{
	const size_t cap = sizeof(e->msg) - 1;
	size_t k;

	if (n <= cap) {
		memcpy(e->msg, s, n);
		e->msg[n] = 0;
		return;
	}
	k = cap - 4; /* room for " ..." */
	while (k > cap / 2 && s[k] != ' ')
		k--;
	if (s[k] != ' ') /* one very long word (a path): cut between UTF-8 sequences */
		for (k = cap - 4; k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80; k--)
			;
	while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == ','))
		k--;
	memcpy(e->msg, s, k);
	memcpy(e->msg + k, " ...", 5);
}

int umpa_err_set(struct umpa_err *e, int code, const char *fmt, ...)
{
	char big[4 * sizeof(e->msg)];
	va_list ap;
	int n;

	if (e) {
		e->code = code;
		va_start(ap, fmt);
		n = vsnprintf(big, sizeof(big), fmt, ap);
		va_end(ap);
		if (n < 0)
			n = 0;
		err_fit(e, big, (size_t)n < sizeof(big) ? (size_t)n : sizeof(big) - 1);
	}
	return -code;
}

int umpa_err_prefix(struct umpa_err *e, const char *fmt, ...)
{
	char pre[256], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -UMPA_EINVAL;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	{
		char big[sizeof(pre) + sizeof(old)];
		size_t k = strnlen(pre, sizeof(pre) - 1), rest = strnlen(old, sizeof(old) - 1);
		memcpy(big, pre, k);
		memcpy(big + k, old, rest);
		err_fit(e, big, k + rest);
	}
	return -(e->code ? e->code : UMPA_EINVAL);
}

void umpa_err_clear(struct umpa_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = 0;
	}
}
