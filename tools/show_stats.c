/* show_stats.c - `umpa show --stats conv|proto|io[,SECONDS]`: tshark's -z conv,ip / conv,tcp /
 * conv,udp, -z io,phs and -z io,stat,N over the packets read.
 *
 * Conversations: by IP address pair (IPv4 and IPv6), and by 5-tuple for TCP and
 * UDP; A is the source of the conversation's first packet (as tshark shows it),
 * frames and bytes (frame lengths on the wire) each way, start relative to the
 * first packet read, duration; sorted by frames, most first.  The protocol
 * hierarchy counts frames and bytes per chain of layers (umpa's layer names; a
 * payload umpa keeps as bytes is tshark's "data"; IPv6 extension headers count
 * as IPv6, as tshark counts them).  The I/O statistics count
 * frames and bytes per interval from the first packet, empty intervals included.
 * Tables grow as they fill (no allocation for a packet of a known conversation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_cursor.h"
#include "umpa_protos.h"
#include "umpa_tool.h"

struct conv_ {
	uint8_t fam, proto; /* 4 or 6; 0 for the address pair, 6 TCP, 17 UDP */
	uint8_t a[16], b[16];
	uint16_t pa, pb;
	uint64_t fab, bab, fba, bba; /* frames and bytes A->B, B->A */
	int64_t first_ns, last_ns;
	uint64_t order; /* first seen */
};

struct phs_ {
	char path[128];
	unsigned depth;
	uint64_t frames, bytes;
};

struct show_stats {
	enum show_stats_kind kind;
	int64_t interval_ns;
	int have_t0;
	int64_t t0_ns;
	struct conv_ *conv; /* open addressing, nconv of cap used */
	size_t nconv, cap;
	struct phs_ *phs;
	size_t nphs, phcap;
	uint64_t *io; /* frames, bytes per interval */
	size_t nio;   /* allocated intervals */
	size_t nused; /* intervals up to the last packet's */
	int64_t last_ns;
	int oom;
};

struct show_stats *show_stats_new(enum show_stats_kind kind, double interval)
{
	struct show_stats *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->kind = kind;
	s->interval_ns = (int64_t)(interval * 1e9);
	if (s->interval_ns <= 0)
		s->interval_ns = 1000000000;
	return s;
}

void show_stats_free(struct show_stats *s)
{
	if (!s)
		return;
	free(s->conv);
	free(s->phs);
	free(s->io);
	free(s);
}

static uint64_t conv_hash_(const struct conv_ *k)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *lo = memcmp(k->a, k->b, 16) < 0 ? k->a : k->b, *hi = lo == k->a ? k->b : k->a;
	uint16_t plo = lo == k->a ? k->pa : k->pb, phi = lo == k->a ? k->pb : k->pa;

	if (!memcmp(k->a, k->b, 16) && k->pa > k->pb)
		plo = k->pb, phi = k->pa;
	for (int i = 0; i < 16; i++)
		h = (h ^ lo[i]) * 1099511628211ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ hi[i]) * 1099511628211ull;
	h = (h ^ plo) * 1099511628211ull;
	h = (h ^ phi) * 1099511628211ull;
	return (h ^ k->proto ^ ((uint64_t)k->fam << 8)) * 1099511628211ull;
}

/* 1 when @p c is @p k's conversation; *rev: k goes B->A. */
static int conv_same_(const struct conv_ *c, const struct conv_ *k, int *rev)
{
	if (c->fam != k->fam || c->proto != k->proto)
		return 0;
	if (!memcmp(c->a, k->a, 16) && !memcmp(c->b, k->b, 16) && c->pa == k->pa && c->pb == k->pb) {
		*rev = 0;
		return 1;
	}
	if (!memcmp(c->a, k->b, 16) && !memcmp(c->b, k->a, 16) && c->pa == k->pb && c->pb == k->pa) {
		*rev = 1;
		return 1;
	}
	return 0;
}

static struct conv_ *conv_find_(struct show_stats *s, const struct conv_ *k, int *rev)
{
	size_t i;

	if (s->nconv * 2 >= s->cap) { /* grow */
		size_t ncap = s->cap ? s->cap * 2 : 256;
		struct conv_ *n = calloc(ncap, sizeof *n);
		if (!n) {
			s->oom = 1;
			return NULL;
		}
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->conv[j].fam)
				continue;
			i = conv_hash_(&s->conv[j]) % ncap;
			while (n[i].fam)
				i = (i + 1) % ncap;
			n[i] = s->conv[j];
		}
		free(s->conv);
		s->conv = n;
		s->cap = ncap;
	}
	for (i = conv_hash_(k) % s->cap; s->conv[i].fam; i = (i + 1) % s->cap)
		if (conv_same_(&s->conv[i], k, rev))
			return &s->conv[i];
	s->conv[i] = *k;
	s->conv[i].order = s->nconv++;
	*rev = 0;
	return &s->conv[i];
}

static void conv_count_(struct show_stats *s, const struct conv_ *k, uint64_t bytes, int64_t t)
{
	int rev;
	struct conv_ *c = conv_find_(s, k, &rev);

	if (!c)
		return;
	if (c->fab + c->fba == 0)
		c->first_ns = t;
	c->last_ns = t;
	if (rev)
		c->fba++, c->bba += bytes;
	else
		c->fab++, c->bab += bytes;
}

static void add_conv_(struct show_stats *s, const struct umpa_pkt *p, int64_t t)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		struct conv_ k = {0};
		struct umpa_cur c;
		const uint8_t *sa, *da;
		unsigned alen, aoff;

		if (pr == &umpa_proto_ip)
			alen = 4, aoff = 12, k.fam = 4;
		else if (pr == &umpa_proto_ipv6)
			alen = 16, aoff = 8, k.fam = 6;
		else
			continue;
		umpa_layer_cur(p, i, &c);
		if (umpa_cur_ptr_at(&c, aoff, alen, &sa) < 0 || umpa_cur_ptr_at(&c, aoff + alen, alen, &da) < 0)
			return;
		memcpy(k.a, sa, alen);
		memcpy(k.b, da, alen);
		conv_count_(s, &k, p->wirelen, t);
		for (unsigned j = i + 1; j < p->nlayers; j++) {
			const struct umpa_proto *q = p->l[j].proto;
			uint16_t sp, dp;
			if (q != &umpa_proto_tcp && q != &umpa_proto_udp)
				continue;
			umpa_layer_cur(p, j, &c);
			if (umpa_cur_be16_at(&c, 0, &sp) < 0 || umpa_cur_be16_at(&c, 2, &dp) < 0)
				break;
			k.proto = q == &umpa_proto_tcp ? 6 : 17;
			k.pa = sp;
			k.pb = dp;
			conv_count_(s, &k, p->wirelen, t);
			break;
		}
		return; /* the outer IP header only, as tshark's first conversation */
	}
}

static void add_phs_(struct show_stats *s, const struct umpa_pkt *p)
{
	char path[128];
	size_t len = 0;
	unsigned depth = 0;

	for (unsigned i = 0; i < p->nlayers; i++) {
		const char *name = p->l[i].proto->name;
		size_t n = strlen(name), j;
		if (!strncmp(name, "ipv6_", 5)) /* extension headers count as IPv6, as tshark's */
			continue;
		if (!strcmp(name, "raw"))
			name = "data", n = 4;
		if (len + n + 2 > sizeof path)
			break;
		if (len)
			path[len++] = '/';
		memcpy(path + len, name, n);
		len += n;
		path[len] = 0;
		for (j = 0; j < s->nphs && strcmp(s->phs[j].path, path) != 0; j++)
			;
		if (j == s->nphs) {
			if (s->nphs == s->phcap) {
				size_t ncap = s->phcap ? s->phcap * 2 : 32;
				struct phs_ *np = realloc(s->phs, ncap * sizeof *np);
				if (!np) {
					s->oom = 1;
					return;
				}
				s->phs = np;
				s->phcap = ncap;
			}
			memset(&s->phs[j], 0, sizeof s->phs[j]);
			memcpy(s->phs[j].path, path, len + 1);
			s->phs[j].depth = depth;
			s->nphs++;
		}
		s->phs[j].frames++;
		s->phs[j].bytes += p->wirelen;
		depth++;
	}
}

static void add_io_(struct show_stats *s, const struct umpa_pkt *p, int64_t t)
{
	int64_t d = t - s->t0_ns;
	size_t k = d < 0 ? 0 : (size_t)(d / s->interval_ns);

	if (k >= 10000000) {
		s->oom = 1;
		return;
	}
	if (k >= s->nio) {
		size_t n = k + 1 > s->nio * 2 ? k + 1 : s->nio * 2;
		uint64_t *ni = realloc(s->io, n * 2 * sizeof *ni);
		if (!ni) {
			s->oom = 1;
			return;
		}
		memset(ni + s->nio * 2, 0, (n - s->nio) * 2 * sizeof *ni);
		s->io = ni;
		s->nio = n;
	}
	if (k + 1 > s->nused)
		s->nused = k + 1;
	s->io[k * 2]++;
	s->io[k * 2 + 1] += p->wirelen;
}

void show_stats_add(struct show_stats *s, const struct umpa_pkt *p)
{
	int64_t t = p->ts_sec * 1000000000 + p->ts_nsec;

	if (!s->have_t0) {
		s->have_t0 = 1;
		s->t0_ns = t;
	}
	if (t > s->last_ns)
		s->last_ns = t;
	switch (s->kind) {
	case SHOW_STATS_CONV:
		add_conv_(s, p, t);
		break;
	case SHOW_STATS_PROTO:
		add_phs_(s, p);
		break;
	case SHOW_STATS_IO:
		add_io_(s, p, t);
		break;
	}
}

static int conv_cmp_(const void *x, const void *y)
{
	const struct conv_ *a = *(const struct conv_ *const *)x, *b = *(const struct conv_ *const *)y;
	uint64_t fa = a->fab + a->fba, fb = b->fab + b->fba;

	if (fa != fb)
		return fa > fb ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void put_addr_(FILE *f, const struct conv_ *c, const uint8_t *a, uint16_t port)
{
	struct umpa_sbuf b = {0};

	if (c->fam == 4)
		umpa_sbuf_put_ipv4(&b, a);
	else
		umpa_sbuf_put_ipv6(&b, a);
	if (c->proto) {
		umpa_sbuf_putc(&b, c->fam == 6 ? '.' : ':');
		umpa_sbuf_put_u64(&b, port);
	}
	fprintf(f, "%-40s", b.s ? b.s : "?");
	umpa_sbuf_free(&b);
}

static void print_conv_(struct show_stats *s, FILE *f, int fam, int proto, const char *title)
{
	struct conv_ **v = malloc((s->nconv ? s->nconv : 1) * sizeof *v);
	size_t n = 0;

	if (!v) {
		s->oom = 1;
		return;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->conv[i].fam == fam && s->conv[i].proto == proto)
			v[n++] = &s->conv[i];
	if (n) {
		qsort(v, n, sizeof *v, conv_cmp_);
		fprintf(f, "%s conversations\n", title);
		fprintf(f, "%-40s     %-40s %10s %12s %10s %12s %10s %12s %14s %12s\n", "A", "B", "A->B fr",
			"A->B bytes", "B->A fr", "B->A bytes", "frames", "bytes", "rel start", "duration");
		for (size_t i = 0; i < n; i++) {
			const struct conv_ *c = v[i];
			int64_t rs = c->first_ns - s->t0_ns, du = c->last_ns - c->first_ns;
			put_addr_(f, c, c->a, c->pa);
			fputs(" <-> ", f);
			put_addr_(f, c, c->b, c->pb);
			fprintf(f, " %10llu %12llu %10llu %12llu %10llu %12llu %4lld.%09lld %3lld.%09lld\n",
				(unsigned long long)c->fab, (unsigned long long)c->bab, (unsigned long long)c->fba,
				(unsigned long long)c->bba, (unsigned long long)(c->fab + c->fba),
				(unsigned long long)(c->bab + c->bba), (long long)(rs / 1000000000),
				(long long)(rs % 1000000000), (long long)(du / 1000000000),
				(long long)(du % 1000000000));
		}
		fputc('\n', f);
	}
	free(v);
}

/* The hierarchy: a node, then its children (paths one longer with it as prefix), in first-seen order. */
static void print_phs_(const struct show_stats *s, FILE *f, size_t i)
{
	const struct phs_ *n = &s->phs[i];
	size_t plen = strlen(n->path);
	char name[160];

	snprintf(name, sizeof name, "%*s%s", (int)(2 * n->depth), "",
		 strrchr(n->path, '/') ? strrchr(n->path, '/') + 1 : n->path);
	fprintf(f, "%-40s frames:%llu bytes:%llu\n", name, (unsigned long long)n->frames, (unsigned long long)n->bytes);
	for (size_t j = i + 1; j < s->nphs; j++)
		if (s->phs[j].depth == n->depth + 1 && !strncmp(s->phs[j].path, n->path, plen) &&
		    s->phs[j].path[plen] == '/')
			print_phs_(s, f, j);
}

int show_stats_print(struct show_stats *s, FILE *f)
{
	switch (s->kind) {
	case SHOW_STATS_CONV:
		print_conv_(s, f, 4, 0, "IPv4");
		print_conv_(s, f, 6, 0, "IPv6");
		print_conv_(s, f, 4, 6, "TCP (IPv4)");
		print_conv_(s, f, 6, 6, "TCP (IPv6)");
		print_conv_(s, f, 4, 17, "UDP (IPv4)");
		print_conv_(s, f, 6, 17, "UDP (IPv6)");
		break;
	case SHOW_STATS_PROTO:
		fputs("Protocol hierarchy\n", f);
		for (size_t i = 0; i < s->nphs; i++)
			if (s->phs[i].depth == 0)
				print_phs_(s, f, i);
		break;
	case SHOW_STATS_IO: {
		double iv = (double)s->interval_ns / 1e9;
		fprintf(f, "I/O statistics, interval %g s, duration %.6f s\n", iv,
			(double)(s->last_ns - s->t0_ns) / 1e9);
		fprintf(f, "%12s %12s %10s %12s\n", "from", "to", "frames", "bytes");
		for (size_t k = 0; k < s->nused; k++)
			fprintf(f, "%12g %12g %10llu %12llu\n", iv * (double)k, iv * (double)(k + 1),
				(unsigned long long)s->io[2 * k], (unsigned long long)s->io[2 * k + 1]);
		break;
	}
	}
	return s->oom ? -1 : 0;
}
