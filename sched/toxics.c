/* toxics.c - Toxiproxy's toxics as umpa_proxy hooks (umpa_toxics.h).
 *
 * Every chunk of a direction goes through the active toxics of its stream
 * in creation order, which together decide one answer for the proxy: how
 * many input bytes are used (bandwidth and slicer cut a chunk in pieces;
 * the rest comes back in the next call), how many go out (limit_data cuts,
 * timeout and reset_peer and packet_loss drop), the delay before they go
 * (latency, bandwidth, slicer add up), and whether the connection then
 * closes (limit_data) or is reset (reset_peer with timeout 0).  Timers of a
 * connection (timeout, reset_peer) end it through umpa_proxy_kill.
 *
 * Latency is charged once per chunk of new data, counted from when its
 * oldest byte was read (the proxy goes on reading during a delay), so
 * chunks that arrive during another's delay are not delayed twice - as
 * Toxiproxy times its chunks.  The pieces of a chunk cut by bandwidth or
 * slicer follow each other at their own pace.
 */
#include "umpa_toxics.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "tcp_internal.h"

static const struct umpa_toxic_kind kinds[UMPA_TOXIC_NTYPES] = {
    [UMPA_TOXIC_LATENCY] = {"latency", 1, 1, 2, {{"latency", 0, 3600000, 0, 0}, {"jitter", 0, 3600000, 0, 0}}},
    [UMPA_TOXIC_BANDWIDTH] = {"bandwidth", 1, 1, 1, {{"rate", 0, 1e9, 0, 0}}},
    [UMPA_TOXIC_SLOW_CLOSE] = {"slow_close", 1, 0, 1, {{"delay", 0, 3600000, 0, 0}}},
    [UMPA_TOXIC_TIMEOUT] = {"timeout", 1, 0, 1, {{"timeout", 0, 86400000, 0, 0}}},
    [UMPA_TOXIC_RESET_PEER] = {"reset_peer", 1, 0, 1, {{"timeout", 0, 86400000, 0, 0}}},
    [UMPA_TOXIC_SLICER] = {"slicer",
			   1,
			   0,
			   3,
			   {{"average_size", 0, 1048576, 0, 0},
			    {"size_variation", 0, 1048576, 0, 0},
			    {"delay", 0, 60000000, 0, 0}}},
    [UMPA_TOXIC_LIMIT_DATA] = {"limit_data", 1, 0, 1, {{"bytes", 0, 9.0e15, 0, 0}}},
    [UMPA_TOXIC_PACKET_LOSS] = {"packet_loss", 1, 1, 2, {{"loss_rate", 0, 1, 0.1, 1}, {"correlation", 0, 1, 0, 1}}},
    [UMPA_TOXIC_DUPLICATE] = {"duplicate", 0, 1, 2, {{"probability", 0, 1, 0.1, 1}, {"correlation", 0, 1, 0, 1}}},
    [UMPA_TOXIC_REORDER] = {"reorder", 0, 1, 2, {{"probability", 0, 1, 0.25, 1}, {"gap", 0, 1000, 0, 0}}},
    [UMPA_TOXIC_HOOKS] = {"lua", 1, 1, 0, {{NULL, 0, 0, 0, 0}}},
};

const struct umpa_toxic_kind *umpa_toxic_kind(enum umpa_toxic_type t)
{
	return (unsigned)t < UMPA_TOXIC_NTYPES ? &kinds[t] : NULL;
}

int umpa_toxic_type_parse(const char *name, enum umpa_toxic_type *t)
{
	for (unsigned i = 0; i < UMPA_TOXIC_NTYPES; i++)
		if (!strcmp(name, kinds[i].name)) {
			*t = (enum umpa_toxic_type)i;
			return 0;
		}
	return -UMPA_ENOENT;
}

void umpa_toxic_def_init(struct umpa_toxic_def *d, enum umpa_toxic_type t)
{
	memset(d, 0, sizeof(*d));
	d->type = t;
	d->dir = UMPA_PROXY_S2C;
	d->toxicity = 1.0;
	for (unsigned i = 0; i < kinds[t].nattrs; i++)
		d->attr[i] = kinds[t].attrs[i].def;
}

int umpa_toxic_def_attr(struct umpa_toxic_def *d, const char *name, double v, struct umpa_err *e)
{
	const struct umpa_toxic_kind *k = &kinds[d->type];
	for (unsigned i = 0; i < k->nattrs; i++) {
		const struct umpa_toxic_attr *a = &k->attrs[i];
		if (strcmp(name, a->name))
			continue;
		if (!isfinite(v) || v < a->min || v > a->max || (!a->real && v != floor(v)))
			return umpa_err_set(e, UMPA_ERANGE, "%s: attribute '%s': %g is out of range (%s %g to %g)",
					    k->name, name, v, a->real ? "a number" : "an integer", a->min, a->max);
		d->attr[i] = v;
		return 0;
	}
	{
		char list[128] = "";
		for (unsigned i = 0; i < k->nattrs; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
				 k->attrs[i].name);
		return umpa_err_set(e, UMPA_ENOENT, "%s has no attribute '%s' (%s)", k->name, name, list);
	}
}

/* Parse "ADDR[/BITS]" into family, 16 address bytes and bits. */
static int cidr_parse(const char *s, int *family, unsigned char a[16], unsigned *bits)
{
	char buf[64], *slash, *end;
	unsigned long b;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')))
		*slash = 0;
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		*family = AF_INET6;
	else
		return -1;
	b = *family == AF_INET ? 32 : 128;
	if (slash) {
		unsigned long max = b;
		b = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || b > max)
			return -1;
	}
	*bits = (unsigned)b;
	return 0;
}

int umpa_toxic_def_check(const struct umpa_toxic_def *d, struct umpa_err *e)
{
	int fam;
	unsigned char a[16];
	unsigned bits;
	if ((unsigned)d->type >= UMPA_TOXIC_NTYPES)
		return umpa_err_set(e, UMPA_EINVAL, "invalid toxic type");
	if (!(d->toxicity >= 0 && d->toxicity <= 1))
		return umpa_err_set(e, UMPA_ERANGE, "toxicity: %g is not a probability (0 to 1)", d->toxicity);
	if (d->match_client[0] && cidr_parse(d->match_client, &fam, a, &bits) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "match: client '%s' is not ADDR or ADDR/BITS", d->match_client);
	if (d->has_schedule && (d->start_ms < 0 || d->duration_ms < 0 || d->on_ms < 0 || d->off_ms < 0))
		return umpa_err_set(e, UMPA_ERANGE, "schedule: times are milliseconds >= 0");
	if (d->has_schedule && d->off_ms && !d->on_ms)
		return umpa_err_set(e, UMPA_EINVAL, "schedule: 'off' needs 'on'");
	return 0;
}

/* ---- the set ---- */

struct tx_toxic {
	struct umpa_toxic_def d;
	struct umpa_proxy_hooks h; /* UMPA_TOXIC_HOOKS */
	uint64_t uid;
	int64_t born_ns;
	int fam;
	unsigned char net[16];
	unsigned bits;
};

struct tx_conn;

/* One toxic's state in one connection. */
struct tx_slot {
	uint64_t uid; /* 0: free */
	int rolled, hit;
	uint64_t bytes;      /* limit_data: bytes let through */
	int lost_prev;       /* packet_loss: the previous chunk was dropped */
	int64_t due;         /* bandwidth: when the bytes let through so far are due out at the rate */
	struct event *timer; /* timeout, reset_peer */
	struct tx_conn *c;
	int reset;
	int opened;  /* hooks: open was called */
	void *state; /* hooks: their state for this connection */
	void *harg;  /* hooks: their arg, close and eof (copied: the toxic array moves on removals) */
	void (*hclose)(void *arg, void *state);
	void (*heof)(void *arg, void *state, enum umpa_proxy_dir dir);
};

struct tx_conn {
	struct umpa_toxics *t;
	struct tx_conn *prev, *next;
	uint64_t id;
	int fam;
	unsigned char addr[16];
	struct umpa_proxy_conn_info ci;
	int peeked; /* the client's first bytes were looked at */
	char sni[256], host[256];
	size_t pending[2]; /* bytes of the input already shown (the rest of a cut chunk) */
	struct tx_slot slot[UMPA_TOXICS_MAX];
};

struct umpa_toxics {
	struct umpa_loop *loop;
	struct event_base *base;
	struct umpa_proxy *proxy;
	struct tx_toxic tox[UMPA_TOXICS_MAX];
	size_t n;
	uint64_t next_uid;
	uint64_t rng;
	struct tx_conn *conns;
	/* UDP lua toxics: the pieces of one datagram between two toxics (two buffers, in turn) */
	uint8_t *ub[2];
	size_t ucap[2];
	size_t ulen[2][UMPA_PROXY_MAX_PARTS];
	unsigned unparts, uturn; /* the last answer's pieces: their number, in ulen[uturn] */
};

static double rnd(struct umpa_toxics *t)
{
	return (double)(umpa_tcp_rng_next_(&t->rng) >> 11) / 9007199254740992.0;
}

struct umpa_toxics *umpa_toxics_new(struct umpa_loop *loop, uint64_t seed, struct umpa_err *e)
{
	struct umpa_toxics *t;
	if (!umpa_loop_event_base(loop)) {
		umpa_err_set(e, UMPA_EINVAL, "toxics: need a live loop");
		return NULL;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	t->loop = loop;
	t->base = umpa_loop_event_base(loop);
	if (!seed && getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)umpa_loop_wall_ns(loop);
	t->rng = seed;
	return t;
}

void umpa_toxics_attach(struct umpa_toxics *t, struct umpa_proxy *p)
{
	t->proxy = p;
}

static void slot_clear(struct tx_slot *s)
{
	if (s->timer)
		event_free(s->timer);
	if (s->opened && s->hclose)
		s->hclose(s->harg, s->state);
	memset(s, 0, sizeof(*s));
}

static struct tx_slot *slot_of(struct tx_conn *c, const struct tx_toxic *x)
{
	struct tx_slot *free_slot = NULL;
	for (size_t i = 0; i < UMPA_TOXICS_MAX; i++) {
		if (c->slot[i].uid == x->uid)
			return &c->slot[i];
		if (!c->slot[i].uid && !free_slot)
			free_slot = &c->slot[i];
	}
	if (free_slot) {
		free_slot->uid = x->uid;
		free_slot->c = c;
	}
	return free_slot; /* never NULL: at most UMPA_TOXICS_MAX toxics exist */
}

int umpa_toxics_add(struct umpa_toxics *t, const struct umpa_toxic_def *d, struct umpa_err *e)
{
	struct tx_toxic *x;
	if (umpa_toxic_def_check(d, e) < 0)
		return -e->code;
	if (umpa_toxics_find(t, d->name))
		return umpa_err_set(e, UMPA_EINVAL, "toxic already exists");
	if (t->n >= UMPA_TOXICS_MAX)
		return umpa_err_set(e, UMPA_ERANGE, "at most %d toxics on a proxy", UMPA_TOXICS_MAX);
	x = &t->tox[t->n++];
	memset(x, 0, sizeof(*x));
	x->d = *d;
	x->uid = ++t->next_uid;
	x->born_ns = umpa_loop_now_ns(t->loop);
	if (d->match_client[0])
		cidr_parse(d->match_client, &x->fam, x->net, &x->bits);
	return 0;
}

int umpa_toxics_add_hooks(struct umpa_toxics *t, const struct umpa_toxic_def *d, const struct umpa_proxy_hooks *h,
			  struct umpa_err *e)
{
	struct umpa_toxic_def dd = *d;
	if (!h || !h->data)
		return umpa_err_set(e, UMPA_EINVAL, "lua: no hooks");
	dd.type = UMPA_TOXIC_HOOKS;
	if (umpa_toxics_add(t, &dd, e) < 0)
		return -e->code;
	t->tox[t->n - 1].h = *h;
	return 0;
}

static struct tx_toxic *find(struct umpa_toxics *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->tox[i].d.name, name))
			return &t->tox[i];
	return NULL;
}

const struct umpa_toxic_def *umpa_toxics_find(const struct umpa_toxics *t, const char *name)
{
	struct tx_toxic *x = find((struct umpa_toxics *)t, name);
	return x ? &x->d : NULL;
}

const struct umpa_toxic_def *umpa_toxics_get(const struct umpa_toxics *t, size_t i)
{
	return i < t->n ? &t->tox[i].d : NULL;
}

int umpa_toxics_update(struct umpa_toxics *t, const char *name, const struct umpa_toxic_def *d, struct umpa_err *e)
{
	struct tx_toxic *x = find(t, name);
	if (!x)
		return umpa_err_set(e, UMPA_ENOENT, "toxic not found");
	if (umpa_toxic_def_check(d, e) < 0)
		return -e->code;
	x->d = *d;
	if (d->match_client[0])
		cidr_parse(d->match_client, &x->fam, x->net, &x->bits);
	return 0;
}

int umpa_toxics_remove(struct umpa_toxics *t, const char *name)
{
	struct tx_toxic *x = find(t, name);
	size_t i;
	if (!x)
		return -UMPA_ENOENT;
	for (struct tx_conn *c = t->conns; c; c = c->next)
		for (i = 0; i < UMPA_TOXICS_MAX; i++)
			if (c->slot[i].uid == x->uid)
				slot_clear(&c->slot[i]);
	i = (size_t)(x - t->tox);
	memmove(&t->tox[i], &t->tox[i + 1], (t->n - i - 1) * sizeof(t->tox[0]));
	t->n--;
	return 0;
}

void umpa_toxics_clear(struct umpa_toxics *t)
{
	while (t->n)
		umpa_toxics_remove(t, t->tox[0].d.name);
}

int umpa_toxics_scheduled(const struct umpa_toxics *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tox[i].d.has_schedule)
			return 1;
	return 0;
}

/* Is @p x on by its schedule at @p now? */
static int sched_on(const struct tx_toxic *x, int64_t now)
{
	int64_t ms;
	if (!x->d.has_schedule)
		return 1;
	ms = (now - x->born_ns) / 1000000;
	if (ms < x->d.start_ms || (x->d.duration_ms && ms >= x->d.start_ms + x->d.duration_ms))
		return 0;
	if (x->d.on_ms)
		return (ms - x->d.start_ms) % (x->d.on_ms + x->d.off_ms) < x->d.on_ms;
	return 1;
}

/* Does @p x's match hold for @p c?  -1: not known yet (SNI or Host before the first bytes). */
static int match_on(const struct tx_toxic *x, const struct tx_conn *c)
{
	if (x->d.match_client[0]) {
		unsigned full = x->bits / 8, rest = x->bits % 8;
		if (c->fam != x->fam || memcmp(c->addr, x->net, full) ||
		    (rest && ((c->addr[full] ^ x->net[full]) & (0xff00 >> rest))))
			return 0;
	}
	if (x->d.match_sni[0] || x->d.match_host[0]) {
		if (!c->peeked)
			return -1;
		if (x->d.match_sni[0] && strcasecmp(x->d.match_sni, c->sni))
			return 0;
		if (x->d.match_host[0] && strcasecmp(x->d.match_host, c->host))
			return 0;
	}
	return 1;
}

/* Does toxic @p x act on connection @p c now? */
static int active(struct umpa_toxics *t, const struct tx_toxic *x, struct tx_conn *c, int64_t now)
{
	struct tx_slot *s;
	if (!sched_on(x, now) || match_on(x, c) != 1)
		return 0;
	s = slot_of(c, x);
	if (!s->rolled) {
		s->rolled = 1;
		s->hit = x->d.toxicity >= 1.0 || rnd(t) < x->d.toxicity;
	}
	return s->hit;
}

/* The Host header of an HTTP request at the start of @p b (@p n bytes) into @p out. */
static void http_host(const uint8_t *b, size_t n, char *out, size_t outn)
{
	size_t i = 0, k;
	out[0] = 0;
	while (i < n) {
		size_t eol = i;
		while (eol < n && b[eol] != '\n')
			eol++;
		if (eol == i || (eol == i + 1 && b[i] == '\r'))
			return; /* end of the headers */
		if (eol - i > 5 && !strncasecmp((const char *)b + i, "host:", 5)) {
			size_t s = i + 5, e = eol;
			while (s < e && (b[s] == ' ' || b[s] == '\t'))
				s++;
			while (e > s && (b[e - 1] == '\r' || b[e - 1] == ' '))
				e--;
			for (k = s; k < e && b[k] != ':' && k - s < outn - 1; k++) /* no port */
				out[k - s] = (char)b[k];
			out[k - s] = 0;
			return;
		}
		i = eol + 1;
	}
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tx_slot *s = arg;
	struct tx_conn *c = s->c;
	(void)fd;
	(void)what;
	if (c->t->proxy)
		umpa_proxy_kill(c->t->proxy, c->id, s->reset); /* frees c through the close hook */
}

static void arm(struct tx_conn *c, struct tx_slot *s, int64_t ms, int reset)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
	if (s->timer)
		return;
	s->reset = reset;
	if ((s->timer = evtimer_new(c->t->base, conn_timer, s)))
		evtimer_add(s->timer, &tv);
}

static int hk_open(void *arg, const struct umpa_proxy_conn_info *ci, void **state, struct umpa_err *e)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	c->t = t;
	c->id = ci->id;
	c->ci = *ci;
	if (inet_pton(AF_INET, ci->src, c->addr) == 1)
		c->fam = AF_INET;
	else if (inet_pton(AF_INET6, ci->src, c->addr) == 1)
		c->fam = AF_INET6;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	*state = c;
	return 0;
}

static void hk_close(void *arg, void *state)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = state;
	if (!c)
		return;
	for (size_t i = 0; i < UMPA_TOXICS_MAX; i++)
		slot_clear(&c->slot[i]);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void hk_tls(void *arg, void *state, const char *sni)
{
	struct tx_conn *c = state;
	(void)arg;
	snprintf(c->sni, sizeof(c->sni), "%s", sni);
}

/* Hooks toxic @p x's first chunk in @p c: its open.  0 or -1 with @p e set. */
static int slot_open(const struct tx_toxic *x, struct tx_slot *s, struct tx_conn *c, struct umpa_err *e)
{
	if (s->opened)
		return 0;
	if (x->h.open && x->h.open(x->h.arg, &c->ci, &s->state, e) < 0)
		return -1;
	s->opened = 1;
	s->harg = x->h.arg;
	s->hclose = x->h.close;
	s->heof = x->h.eof;
	return 0;
}

static int hk_data(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		   struct umpa_proxy_out *out, struct umpa_err *e)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = state;
	int64_t now = umpa_loop_now_ns(t->loop);
	size_t len = n;
	int fresh = n > c->pending[dir], drop = 0, whole = 0;
	if (!c->peeked && dir == UMPA_PROXY_C2S) {
		c->peeked = 1;
		if (!c->sni[0])
			umpa_proxy_clienthello_sni(in, n, c->sni, sizeof(c->sni));
		http_host(in, n, c->host, sizeof(c->host));
	}
	*out = umpa_proxy_out_forward(in, n, out->arrived_ns);
	for (size_t i = 0; i < t->n && fresh && !c->pending[dir]; i++) {
		/* hooks (Lua chains) first, on whole new chunks: what they return is what the others see */
		struct tx_toxic *x = &t->tox[i];
		struct tx_slot *s;
		struct umpa_proxy_out o2 = umpa_proxy_out_forward(out->data, len, out->arrived_ns);
		if (x->d.type != UMPA_TOXIC_HOOKS || x->d.dir != dir || !active(t, x, c, now))
			continue;
		s = slot_of(c, x);
		if (slot_open(x, s, c, e) < 0)
			return -1;
		if (x->h.data(x->h.arg, s->state, dir, out->data, len, &o2, e) < 0)
			return -1;
		if (o2.action == UMPA_PROXY_RESET) {
			out->action = UMPA_PROXY_RESET;
			return 0;
		}
		out->data = o2.data;
		len = o2.len;
		out->delay_ns += o2.delay_ns;
		whole = 1;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct tx_toxic *x = &t->tox[i];
		const double *a = x->d.attr;
		struct tx_slot *s;
		if (x->d.dir != dir || !active(t, x, c, now))
			continue;
		s = slot_of(c, x);
		switch (x->d.type) {
		case UMPA_TOXIC_LATENCY:
			if (fresh) { /* due latency after the bytes arrived, as Toxiproxy times its chunks */
				double ms = a[0];
				int64_t due;
				if (a[1] > 0)
					ms += (rnd(t) * 2 - 1) * a[1];
				due = (out->arrived_ns ? out->arrived_ns : now) + (int64_t)(ms * 1e6);
				if (due > now)
					out->delay_ns += due - now;
			}
			break;
		case UMPA_TOXIC_BANDWIDTH:
			if (a[0] > 0) {
				size_t cap = (size_t)(a[0] * 100); /* 100 ms worth */
				int64_t base;
				if (len > cap && !whole)
					len = cap;
				/* paced against a schedule, not slice by slice: the timers' lateness is made up */
				base = s->due && now - s->due < 1000000000 && now > s->due - 1000000000 ? s->due : now;
				s->due = base + (int64_t)((double)len * 1e6 / a[0]);
				if (s->due > now)
					out->delay_ns += s->due - now;
			}
			break;
		case UMPA_TOXIC_SLICER:
			if (a[0] > 0) {
				double sz = a[0];
				if (a[1] > 0)
					sz += (rnd(t) * 2 - 1) * a[1];
				if (sz < 1)
					sz = 1;
				if (len > (size_t)sz && !whole)
					len = (size_t)sz;
			}
			if (!fresh)
				out->delay_ns += (int64_t)(a[2] * 1000);
			break;
		case UMPA_TOXIC_TIMEOUT:
			drop = 1;
			if (a[0] > 0)
				arm(c, s, (int64_t)a[0], 0);
			break;
		case UMPA_TOXIC_RESET_PEER:
			drop = 1;
			if (a[0] <= 0) {
				out->action = UMPA_PROXY_RESET;
				return 0;
			}
			arm(c, s, (int64_t)a[0], 1);
			break;
		case UMPA_TOXIC_PACKET_LOSS:
			if (fresh) {
				double p = a[0] + (s->lost_prev ? a[1] : 0);
				s->lost_prev = rnd(t) < p;
				if (s->lost_prev)
					drop = 1;
			}
			break;
		default:
			break;
		}
	}
	/* limit_data last: it counts what really goes out */
	for (size_t i = 0; i < t->n && !drop; i++) {
		struct tx_toxic *x = &t->tox[i];
		struct tx_slot *s;
		uint64_t lim;
		if (x->d.type != UMPA_TOXIC_LIMIT_DATA || x->d.dir != dir || !active(t, x, c, now))
			continue;
		s = slot_of(c, x);
		lim = (uint64_t)x->d.attr[0];
		if (s->bytes + len >= lim) {
			len = (size_t)(lim - s->bytes);
			out->action = UMPA_PROXY_CLOSE;
		}
		s->bytes += len;
	}
	if (drop) {
		out->len = 0;
		out->consumed = n;
		out->delay_ns = 0;
	} else {
		out->len = len;
		out->consumed = out->action == UMPA_PROXY_CLOSE || whole ? n : len;
	}
	c->pending[dir] = n - out->consumed;
	return 0;
}

static void hk_eof(void *arg, void *state, enum umpa_proxy_dir dir)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = state;
	for (size_t i = 0; i < UMPA_TOXICS_MAX; i++) {
		struct tx_slot *s = &c->slot[i];
		if (s->opened && s->heof) {
			for (size_t k = 0; k < t->n; k++)
				if (t->tox[k].uid == s->uid && t->tox[k].d.dir == dir)
					s->heof(s->harg, s->state, dir);
		}
	}
}

static int64_t hk_eof_delay(void *arg, void *state, enum umpa_proxy_dir dir)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = state;
	int64_t now = umpa_loop_now_ns(t->loop), d = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct tx_toxic *x = &t->tox[i];
		if (x->d.type == UMPA_TOXIC_SLOW_CLOSE && x->d.dir == dir && active(t, x, c, now))
			d += (int64_t)x->d.attr[0] * 1000000;
	}
	return d;
}

/* No toxic on this stream, and nothing left to learn from the client's first bytes: move bytes unhooked. */
static int hk_pass(void *arg, void *state, enum umpa_proxy_dir dir)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = state;
	if (!c->peeked && dir == UMPA_PROXY_C2S)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->tox[i].d.dir == dir)
			return 0;
	return !c->pending[dir];
}

void umpa_toxics_hooks(struct umpa_toxics *t, struct umpa_proxy_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->arg = t;
	h->open = hk_open;
	h->data = hk_data;
	h->tls = hk_tls;
	h->close = hk_close;
	h->eof = hk_eof;
	h->eof_delay = hk_eof_delay;
	h->pass = hk_pass;
}

/* ---- UDP ---- */

/* Room for @p need bytes in UDP buffer @p k.  0 or -1 with @p e set. */
static int ub_room(struct umpa_toxics *t, int k, size_t need, struct umpa_err *e)
{
	if (need > t->ucap[k]) {
		size_t cap = need < 65536 ? 65536 : need;
		uint8_t *nb = realloc(t->ub[k], cap);
		if (!nb)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		t->ub[k] = nb;
		t->ucap[k] = cap;
	}
	return 0;
}

/* One datagram through the lua toxics of its stream that act on its session: each sees every piece
 * the one before it left (a table of strings from a module is several datagrams: hk_udp_parts). */
static int hk_udp_data(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		       struct umpa_proxy_out *out, struct umpa_err *e)
{
	struct umpa_toxics *t = arg;
	struct tx_conn *c = state;
	int64_t now = umpa_loop_now_ns(t->loop);
	int turn = 0;
	int64_t delay = 0; /* a lua toxic's delay: the longest of its pieces', added up over the toxics */
	*out = umpa_proxy_out_forward(in, n, out->arrived_ns);
	t->unparts = 0;
	for (size_t i = 0; i < t->n && out->len; i++) {
		struct tx_toxic *x = &t->tox[i];
		struct tx_slot *s;
		const uint8_t *src = out->data;
		size_t one = out->len, off = 0, total = 0;
		size_t np = t->unparts ? t->unparts : 1;
		const size_t *lens = t->unparts ? t->ulen[turn ^ 1] : &one;
		unsigned k = 0;
		int64_t most = 0;
		if (x->d.type != UMPA_TOXIC_HOOKS || x->d.dir != dir || !active(t, x, c, now))
			continue;
		s = slot_of(c, x);
		if (slot_open(x, s, c, e) < 0)
			return -1;
		for (size_t p = 0; p < np; off += lens[p++]) {
			struct umpa_proxy_out o = umpa_proxy_out_forward(src + off, lens[p], 0);
			const size_t *ol = NULL;
			unsigned on = 0;
			if (x->h.data(x->h.arg, s->state, dir, src + off, lens[p], &o, e) < 0)
				return -1;
			if (o.action == UMPA_PROXY_RESET || !o.len)
				continue; /* dropped (a reset has no meaning for a datagram) */
			if (o.delay_ns > most)
				most = o.delay_ns;
			if (x->h.parts)
				on = x->h.parts(x->h.arg, s->state, &ol);
			if (ub_room(t, turn, total + o.len, e) < 0)
				return -1;
			memcpy(t->ub[turn] + total, o.data, o.len);
			total += o.len;
			if (on > 1) {
				for (unsigned q = 0; q < on && k < UMPA_PROXY_MAX_PARTS; q++)
					t->ulen[turn][k++] = ol[q];
			} else if (k < UMPA_PROXY_MAX_PARTS) {
				t->ulen[turn][k++] = o.len;
			}
		}
		{ /* pieces past the most are joined into the last one */
			size_t sum = 0;
			for (unsigned q = 0; q + 1 < k; q++)
				sum += t->ulen[turn][q];
			if (k)
				t->ulen[turn][k - 1] = total - sum;
		}
		out->data = t->ub[turn];
		out->len = total;
		t->unparts = k;
		turn ^= 1;
		delay += most;
	}
	t->uturn = turn ^ 1;   /* where the last lengths are */
	out->delay_ns = delay; /* the relay holds the datagrams that long (udprelay.c) */
	return 0;
}

/* The pieces of the answer hk_udp_data just gave. */
static unsigned hk_udp_parts(void *arg, void *state, const size_t **lens)
{
	struct umpa_toxics *t = arg;
	(void)state;
	*lens = t->ulen[t->uturn];
	return t->unparts;
}

void umpa_toxics_udp_hooks(struct umpa_toxics *t, struct umpa_proxy_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->arg = t;
	h->open = hk_open;
	h->data = hk_udp_data;
	h->close = hk_close;
	h->parts = hk_udp_parts;
}

/* Add up into @p cfg the UDP toxics of @p dir on now: those without a match, and, with @p c, those whose
 * match holds for @p c.  Returns how many matched toxics of @p dir hold for @p c. */
static int sum_cfg(struct umpa_toxics *t, enum umpa_proxy_dir dir, const struct tx_conn *c, struct umpa_impair_cfg *cfg)
{
	int64_t now = umpa_loop_now_ns(t->loop);
	double keep = 1, keep_dup = 1;
	int matched = 0;
	umpa_impair_cfg_init(cfg);
	for (size_t i = 0; i < t->n; i++) {
		const struct tx_toxic *x = &t->tox[i];
		const double *a = x->d.attr, tx = x->d.toxicity;
		if (x->d.dir != dir || x->d.type == UMPA_TOXIC_HOOKS)
			continue;
		if (x->d.match_client[0]) {
			if (!c || match_on(x, c) != 1)
				continue;
			matched++;
		}
		if (!sched_on(x, now))
			continue;
		switch (x->d.type) {
		case UMPA_TOXIC_LATENCY:
			cfg->delay += a[0] / 1000;
			cfg->jitter += a[1] / 1000;
			break;
		case UMPA_TOXIC_BANDWIDTH:
			if (a[0] > 0 && (cfg->rate == 0 || a[0] * 8000 < cfg->rate))
				cfg->rate = a[0] * 8000;
			break;
		case UMPA_TOXIC_PACKET_LOSS:
			keep *= 1 - a[0] * tx;
			if (a[1] > cfg->loss_corr)
				cfg->loss_corr = a[1];
			break;
		case UMPA_TOXIC_DUPLICATE:
			keep_dup *= 1 - a[0] * tx;
			if (a[1] > cfg->dup_corr)
				cfg->dup_corr = a[1];
			break;
		case UMPA_TOXIC_REORDER:
			cfg->reorder = a[0] * tx;
			cfg->gap = (unsigned)a[1];
			break;
		default:
			break;
		}
	}
	cfg->loss = 1 - keep;
	cfg->dup = 1 - keep_dup;
	return matched;
}

void umpa_toxics_impair_cfg(struct umpa_toxics *t, enum umpa_proxy_dir dir, struct umpa_impair_cfg *cfg)
{
	sum_cfg(t, dir, NULL, cfg);
}

int umpa_toxics_session_cfg(void *arg, void *state, int dir, struct umpa_impair_cfg *cfg)
{
	if (!state)
		return 0;
	return sum_cfg(arg, dir ? UMPA_PROXY_S2C : UMPA_PROXY_C2S, state, cfg) > 0;
}

struct umpa_toxics *umpa_toxics_free(struct umpa_toxics *t)
{
	if (!t)
		return NULL;
	while (t->conns)
		hk_close(t, t->conns);
	free(t->ub[0]);
	free(t->ub[1]);
	free(t);
	return NULL;
}
