/* near.c - "did you mean": the nearest known name (umpa_near.h). */
#include <ctype.h>
#include <string.h>

#include "umpa_near.h"

/* Fold a character for comparing: lower case, '_' as '-'. */
static int fold(char c)
{
	return c == '_' ? '-' : tolower((unsigned char)c);
}

/* Compare exactly (@exact) or folded. */
static int same(char a, char b, int exact)
{
	return exact ? a == b : fold(a) == fold(b);
}

/* Optimal string alignment distance of a[0..na) and b[0..nb), both at most
 * UMPA_NEAR_MAX, case-sensitive when @exact. */
static unsigned osa(const char *a, size_t na, const char *b, size_t nb, int exact)
{
	unsigned d[UMPA_NEAR_MAX + 1][UMPA_NEAR_MAX + 1];

	for (size_t i = 0; i <= na; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= nb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= na; i++)
		for (size_t j = 1; j <= nb; j++) {
			unsigned cost = !same(a[i - 1], b[j - 1], exact), v = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && same(a[i - 1], b[j - 2], exact) && same(a[i - 2], b[j - 1], exact) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[na][nb];
}

/* The most edits that still look like a typo of a name of @p n characters. */
static unsigned limit(size_t n)
{
	return n <= 4 ? 1 : n <= 10 ? 2 : 3;
}

void umpa_near_init(struct umpa_near *n, const char *want)
{
	n->want = want ? want : "";
	n->best = NULL;
	n->len = 0;
	n->dist = ~0u;
}

void umpa_near_try(struct umpa_near *n, const char *cand, size_t len)
{
	size_t wl = strlen(n->want);
	unsigned d;

	if (!cand || len == 0 || len > UMPA_NEAR_MAX || wl == 0 || wl > UMPA_NEAR_MAX)
		return;
	if (len == wl && strncmp(cand, n->want, len) == 0)
		return; /* the name itself is not a suggestion */
	d = osa(n->want, wl, cand, len, 0);
	if (d > limit(wl)) {
		/* a prefix of a longer name ("echo" for "echo-request") is near too */
		size_t k = 0;
		while (k < wl && k < len && fold(n->want[k]) == fold(cand[k]))
			k++;
		if (k < wl || wl < 3)
			return;
		d = limit(wl); /* ranked after the true typos */
	}
	/* ties: the nearer in case ("IP" for "IPP" before "ip6"), then the first in byte order,
	 * so the answer does not depend on the order names are offered in (a hash table's) */
	if (d == n->dist && n->best) {
		unsigned e = osa(n->want, wl, cand, len, 1), eb = osa(n->want, wl, n->best, n->len, 1);
		int cmp = strncmp(cand, n->best, len < n->len ? len : n->len);
		if (e > eb || (e == eb && (cmp > 0 || (cmp == 0 && len >= n->len))))
			return;
	} else if (d > n->dist) {
		return;
	}
	n->best = cand;
	n->len = len;
	n->dist = d;
}

void umpa_near_str(struct umpa_near *n, const char *cand)
{
	if (cand)
		umpa_near_try(n, cand, strlen(cand));
}

void umpa_near_list(struct umpa_near *n, const char *list)
{
	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t k = end ? (size_t)(end - list) : strlen(list);
		umpa_near_try(n, list, k);
		list = end ? end + 1 : NULL;
	}
}

const char *umpa_near_best(const struct umpa_near *n, char *buf, size_t size)
{
	if (!n->best || n->len >= size)
		return NULL;
	memcpy(buf, n->best, n->len);
	buf[n->len] = 0;
	return buf;
}

const char *umpa_near_in(const char *want, size_t n, const char *list, char *buf, size_t size)
{
	char w[UMPA_NEAR_MAX + 1];
	struct umpa_near nr;

	if (!want || n == 0 || n > UMPA_NEAR_MAX)
		return NULL;
	memcpy(w, want, n);
	w[n] = 0;
	/* a name of the list, as umpa_near compares names: known, so the mistake is elsewhere */
	for (const char *l = list; l && *l;) {
		const char *end = strchr(l, ',');
		size_t k = end ? (size_t)(end - l) : strlen(l), i = 0;
		while (i < k && i < n && fold(l[i]) == fold(w[i]))
			i++;
		if (i == n && k == n)
			return NULL;
		l = end ? end + 1 : NULL;
	}
	umpa_near_init(&nr, w);
	umpa_near_list(&nr, list);
	return umpa_near_best(&nr, buf, size);
}
