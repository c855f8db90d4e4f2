/* error.c - error messages for library callers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "umpa_error.h"

int umpa_err_set(struct umpa_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
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
		size_t k = strlen(pre);
		if (k >= sizeof(e->msg))
			k = sizeof(e->msg) - 1;
		memcpy(e->msg, pre, k);
		size_t rest = strnlen(old, sizeof(old) - 1);
		if (rest > sizeof(e->msg) - 1 - k)
			rest = sizeof(e->msg) - 1 - k;
		memcpy(e->msg + k, old, rest);
		e->msg[k + rest] = 0;
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
