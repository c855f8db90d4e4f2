/* impair.c - netem's link impairments in userland (sched/umpa_impair.h).
 *
 * Follows net/sched/sch_netem.c (netem_enqueue, get_crandom,
 * loss_gilb_ell, tabledist) where the header says so; distributions are
 * computed (Box-Muller, inverse Pareto) instead of read from iproute2's
 * tables.  Waiting frames sit in a binary heap ordered by (departure time,
 * arrival number), so frames due together leave in arrival order and
 * jitter reorders exactly as netem's tfifo does.  One loop timer is armed
 * for the earliest departure.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_impair.h"
#include "umpa_sbuf.h"

/* One waiting frame. */
struct imp_ent {
	int64_t due; /* departure, loop ns */
	uint64_t seq;
	uint8_t *buf;
	size_t len, cap;
};

/* A free buffer. */
struct imp_buf {
	uint8_t *buf;
	size_t cap;
};

/* netem's correlated uniform: the previous value weighs rho. */
struct imp_corr {
	double last;
};

struct umpa_impair {
	struct umpa_loop *loop;
	umpa_impair_out_cb out;
	void *arg;
	struct umpa_impair_cfg c;
	uint64_t s[4]; /* xoshiro256** */
	struct imp_corr c_loss, c_dup, c_corrupt, c_reorder, c_delay;
	int ge_bad;
	unsigned counter; /* frames delayed since the last reordered one */
	int64_t last_depart;
	uint64_t seq;
	struct imp_ent *heap;
	size_t n, cap;
	struct imp_buf *free;
	size_t nfree, capfree;
	struct umpa_timer *timer;
	int64_t timer_due;
	uint8_t *scratch; /* for a corrupted frame that leaves at once */
	size_t scratch_cap;
	struct umpa_impair_stats st;
};

/* ---- random numbers ---- */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(struct umpa_impair *m)
{
	uint64_t *s = m->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Uniform in [0, 1). */
static double rnd(struct umpa_impair *m)
{
	return (double)(next_u64(m) >> 11) * 0x1.0p-53;
}

/* netem's get_crandom: a uniform draw pulled toward the previous one by @rho. */
static double crnd(struct umpa_impair *m, struct imp_corr *c, double rho)
{
	double v = rnd(m);

	if (rho <= 0)
		return v;
	v = (1 - rho) * v + rho * c->last;
	c->last = v;
	return v;
}

/* Pareto with shape 3 and scale 1, its tail cut at PARETO_CUT (netem's
 * table is finite too), scaled to mean 0 and standard deviation 1 with the
 * moments of the cut distribution: F(x) = (1 - x^-3) / F(K) on [1, K],
 * E[x] = 1.5 (1 - K^-2) / F(K), E[x^2] = 3 (1 - 1/K) / F(K). */
#define PARETO_CUT 10.0

static double pareto_std(double u)
{
	const double fk = 1 - 1 / (PARETO_CUT * PARETO_CUT * PARETO_CUT);
	const double m1 = 1.5 * (1 - 1 / (PARETO_CUT * PARETO_CUT)) / fk, m2 = 3 * (1 - 1 / PARETO_CUT) / fk;
	double x = pow(1 - u * fk, -1.0 / 3);

	return (x - m1) / sqrt(m2 - m1 * m1);
}

/* A draw with mean 0 and standard deviation 1 of the configured shape
 * (uniform: flat on [-1, 1], as netem's jitter without a table, whose
 * deviation is 1/sqrt(3): netem's "jitter" is the half-width there). */
static double dist_draw(struct umpa_impair *m)
{
	double u = crnd(m, &m->c_delay, m->c.delay_corr), n;

	switch (m->c.dist) {
	case UMPA_DIST_UNIFORM:
		return 2 * u - 1;
	case UMPA_DIST_NORMAL:
	case UMPA_DIST_PARETONORMAL:
		n = sqrt(-2 * log(1 - u)) * cos(2 * M_PI * rnd(m)); /* Box-Muller */
		if (m->c.dist == UMPA_DIST_NORMAL)
			return n;
		return (3 * n + pareto_std(rnd(m))) / sqrt(10.0); /* 3/4 normal, 1/4 Pareto; deviation 1 */
	case UMPA_DIST_PARETO:
	default:
		return pareto_std(u);
	}
}

/* ---- configuration ---- */

void umpa_impair_cfg_init(struct umpa_impair_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->dist = UMPA_DIST_UNIFORM;
	c->ge_r = -1;
	c->ge_1h = 1;
	c->limit = 1000;
}

static int prob(double v, const char *name, struct umpa_err *e)
{
	if (!(v >= 0 && v <= 1))
		return umpa_err_set(e, UMPA_EINVAL, "%s: %g is not a probability (0 to 1)", name, v);
	return 0;
}

static int nonneg(double v, const char *name, struct umpa_err *e)
{
	if (!(v >= 0 && isfinite(v)))
		return umpa_err_set(e, UMPA_EINVAL, "%s: %g must be a finite number >= 0", name, v);
	return 0;
}

int umpa_impair_cfg_check(const struct umpa_impair_cfg *c, struct umpa_err *e)
{
	if (nonneg(c->delay, "delay", e) < 0 || nonneg(c->jitter, "jitter", e) < 0 || nonneg(c->rate, "rate", e) < 0 ||
	    prob(c->delay_corr, "delay_corr", e) < 0 || prob(c->loss, "loss", e) < 0 ||
	    prob(c->loss_corr, "loss_corr", e) < 0 || prob(c->ge_p, "ge_p", e) < 0 ||
	    (c->ge_r >= 0 && prob(c->ge_r, "ge_r", e) < 0) || prob(c->ge_1h, "ge_1h", e) < 0 ||
	    prob(c->ge_1k, "ge_1k", e) < 0 || prob(c->dup, "dup", e) < 0 || prob(c->dup_corr, "dup_corr", e) < 0 ||
	    prob(c->corrupt, "corrupt", e) < 0 || prob(c->corrupt_corr, "corrupt_corr", e) < 0 ||
	    prob(c->reorder, "reorder", e) < 0 || prob(c->reorder_corr, "reorder_corr", e) < 0)
		return -UMPA_EINVAL;
	if (c->rate > 0 && c->rate < 1)
		return umpa_err_set(e, UMPA_EINVAL, "rate: %g bits/s: give 0 (none) or at least 1", c->rate);
	if (c->delay > 3600 || c->jitter > 3600)
		return umpa_err_set(e, UMPA_EINVAL, "delay and jitter: at most 3600 seconds");
	if (c->dist > UMPA_DIST_PARETONORMAL)
		return umpa_err_set(e, UMPA_EINVAL, "distribution: %d is none of the four", (int)c->dist);
	if (c->limit < 1 || c->limit > 1000000)
		return umpa_err_set(e, UMPA_EINVAL, "limit: %u frames is not 1 to 1000000", c->limit);
	return 0;
}

int umpa_impair_dist_parse(const char *name, enum umpa_impair_dist *d, struct umpa_err *e)
{
	static const char *const names[] = {"uniform", "normal", "pareto", "paretonormal"};

	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, names[i])) {
			*d = (enum umpa_impair_dist)i;
			return 0;
		}
	return umpa_err_set(e, UMPA_EINVAL, "distribution '%s': give uniform, normal, pareto or paretonormal",
			    name ? name : "");
}

/* ---- the queue ---- */

static int ent_before(const struct imp_ent *a, const struct imp_ent *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_up(struct umpa_impair *m, size_t i)
{
	struct imp_ent x = m->heap[i];

	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!ent_before(&x, &m->heap[up]))
			break;
		m->heap[i] = m->heap[up];
		i = up;
	}
	m->heap[i] = x;
}

static void heap_down(struct umpa_impair *m, size_t i)
{
	struct imp_ent x = m->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m->n)
			break;
		if (c + 1 < m->n && ent_before(&m->heap[c + 1], &m->heap[c]))
			c++;
		if (!ent_before(&m->heap[c], &x))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	m->heap[i] = x;
}

static void buf_put(struct umpa_impair *m, uint8_t *buf, size_t cap)
{
	if (m->nfree == m->capfree) {
		size_t nc = m->capfree ? m->capfree * 2 : 64;
		struct imp_buf *f = realloc(m->free, nc * sizeof(*f));
		if (!f) {
			free(buf);
			return;
		}
		m->free = f;
		m->capfree = nc;
	}
	m->free[m->nfree].buf = buf;
	m->free[m->nfree++].cap = cap;
}

static void on_timer(struct umpa_loop *loop, void *arg);

static int arm(struct umpa_impair *m, struct umpa_err *e)
{
	if (!m->n) {
		umpa_timer_cancel(m->timer);
		m->timer = NULL;
		return 0;
	}
	if (m->timer && m->timer_due == m->heap[0].due)
		return 0;
	umpa_timer_cancel(m->timer);
	m->timer_due = m->heap[0].due;
	if (!(m->timer = umpa_at(m->loop, m->timer_due, on_timer, m, e)))
		return -UMPA_ENOMEM;
	return 0;
}

static void emit(struct umpa_impair *m, const uint8_t *frame, size_t len)
{
	struct umpa_err e = {0};

	if (m->out(m->arg, frame, len, &e) < 0) {
		m->st.out_errors++;
		return;
	}
	m->st.forwarded++;
	m->st.bytes += len;
}

static void on_timer(struct umpa_loop *loop, void *arg)
{
	struct umpa_impair *m = arg;
	struct umpa_err e = {0};
	int64_t now = umpa_loop_now_ns(loop);

	m->timer = NULL;
	while (m->n && m->heap[0].due <= now) {
		struct imp_ent x = m->heap[0];
		m->heap[0] = m->heap[--m->n];
		if (m->n)
			heap_down(m, 0);
		m->st.queued = m->n;
		emit(m, x.buf, x.len);
		buf_put(m, x.buf, x.cap);
	}
	if (arm(m, &e) < 0)
		umpa_loop_fail(loop, &e);
}

/* Queue a copy of @frame to leave at @due. */
static int enqueue(struct umpa_impair *m, const uint8_t *frame, size_t len, int64_t due, struct umpa_err *e)
{
	struct imp_ent x = {.due = due, .seq = m->seq++, .len = len};

	if (umpa_array_grow(&m->heap, &m->cap, m->n + 1, sizeof(*m->heap), e) < 0)
		return umpa_err_prefix(e, "the link's queue: ");
	if (m->nfree) {
		m->nfree--;
		x.buf = m->free[m->nfree].buf;
		x.cap = m->free[m->nfree].cap;
	}
	if (x.cap < len) {
		size_t nc = len < 2048 ? 2048 : len;
		uint8_t *b = realloc(x.buf, nc);
		if (!b) {
			if (x.buf)
				buf_put(m, x.buf, x.cap);
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory for the link's queue");
		}
		x.buf = b;
		x.cap = nc;
	}
	memcpy(x.buf, frame, len);
	m->heap[m->n++] = x;
	heap_up(m, m->n - 1);
	m->st.queued = m->n;
	return arm(m, e);
}

/* ---- the decisions ---- */

/* netem's loss_gilb_ell: one step of the two-state chain, then the state's loss. */
static int ge_lost(struct umpa_impair *m)
{
	double r = m->c.ge_r >= 0 ? m->c.ge_r : 1 - m->c.ge_p;

	if (!m->ge_bad) {
		if (rnd(m) < m->c.ge_p)
			m->ge_bad = 1;
		return rnd(m) < m->c.ge_1k;
	}
	if (rnd(m) < r)
		m->ge_bad = 0;
	return rnd(m) < m->c.ge_1h;
}

static int lost(struct umpa_impair *m)
{
	if (m->c.ge_p > 0)
		return ge_lost(m);
	return m->c.loss > 0 && crnd(m, &m->c_loss, m->c.loss_corr) < m->c.loss;
}

/* Steps 3 to 6 for one copy: limit, reorder, delay, rate; send or queue. */
static int schedule(struct umpa_impair *m, const uint8_t *frame, size_t len, struct umpa_err *e)
{
	int64_t now = umpa_loop_now_ns(m->loop), due, d;
	unsigned gap = m->c.gap ? m->c.gap : (m->c.reorder > 0 ? 1 : 0);

	if (m->n >= m->c.limit) {
		m->st.rate_dropped++;
		return 0;
	}
	if (gap && m->counter >= gap - 1 && crnd(m, &m->c_reorder, m->c.reorder_corr) < m->c.reorder) {
		m->counter = 0;
		if (m->n)
			m->st.reordered++;
		emit(m, frame, len);
		return 0;
	}
	d = (int64_t)llround(m->c.delay * 1e9);
	if (m->c.jitter > 0)
		d += (int64_t)llround(m->c.jitter * 1e9 * dist_draw(m));
	if (d < 0)
		d = 0;
	due = now + d;
	if (m->c.rate > 0) {
		if (m->last_depart > due) {
			due = m->last_depart;
			m->st.rate_queued++;
		}
		due += (int64_t)llround((double)len * 8e9 / m->c.rate);
		m->last_depart = due;
	}
	m->counter++;
	if (d > 0)
		m->st.delayed++;
	if (due <= now && !m->n) {
		emit(m, frame, len);
		return 0;
	}
	return enqueue(m, frame, len, due, e);
}

int umpa_impair_input(struct umpa_impair *m, const uint8_t *frame, size_t len, struct umpa_err *e)
{
	int count = 1, rc = 0;

	m->st.in++;
	if (m->c.dup > 0 && crnd(m, &m->c_dup, m->c.dup_corr) < m->c.dup)
		count++;
	if (lost(m))
		count--;
	if (count == 0) {
		m->st.dropped++;
		return 0;
	}
	if (count > 1)
		m->st.duplicated++;
	if (m->c.corrupt > 0 && len > 14 && crnd(m, &m->c_corrupt, m->c.corrupt_corr) < m->c.corrupt) {
		size_t at;
		if (m->scratch_cap < len) {
			uint8_t *b = realloc(m->scratch, len);
			if (!b)
				return umpa_err_set(e, UMPA_ENOMEM, "out of memory for a corrupted frame");
			m->scratch = b;
			m->scratch_cap = len;
		}
		memcpy(m->scratch, frame, len);
		at = 14 + (size_t)(next_u64(m) % (len - 14));
		m->scratch[at] ^= (uint8_t)(1u << (next_u64(m) % 8));
		m->st.corrupted++;
		/* the duplicate (netem's clone) stays intact: it was copied before */
		if (count > 1 && (rc = schedule(m, frame, len, e)) < 0)
			return rc;
		return schedule(m, m->scratch, len, e);
	}
	for (int i = 0; i < count && rc == 0; i++)
		rc = schedule(m, frame, len, e);
	return rc;
}

/* ---- the object ---- */

struct umpa_impair *umpa_impair_new(struct umpa_loop *loop, umpa_impair_out_cb out, void *arg, struct umpa_err *e)
{
	struct umpa_impair *m = calloc(1, sizeof(*m));

	if (!m) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	m->loop = loop;
	m->out = out;
	m->arg = arg;
	umpa_impair_cfg_init(&m->c);
	umpa_impair_seed(m, 1);
	return m;
}

int umpa_impair_set(struct umpa_impair *m, const struct umpa_impair_cfg *c, struct umpa_err *e)
{
	if (umpa_impair_cfg_check(c, e) < 0)
		return -UMPA_EINVAL;
	m->c = *c;
	return 0;
}

const struct umpa_impair_cfg *umpa_impair_get(const struct umpa_impair *m)
{
	return &m->c;
}

void umpa_impair_seed(struct umpa_impair *m, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		m->s[i] = splitmix(&x);
	m->c_loss.last = m->c_dup.last = m->c_corrupt.last = m->c_reorder.last = m->c_delay.last = 0;
	m->ge_bad = 0;
	m->counter = 0;
}

const struct umpa_impair_stats *umpa_impair_stats(const struct umpa_impair *m)
{
	return &m->st;
}

int64_t umpa_impair_last_due(const struct umpa_impair *m)
{
	int64_t last = -1;

	for (size_t i = 0; i < m->n; i++) /* the heap's maximum is among its leaves: a scan, at the end of a run */
		if (m->heap[i].due > last)
			last = m->heap[i].due;
	return last;
}

struct umpa_impair *umpa_impair_free(struct umpa_impair *m)
{
	if (!m)
		return NULL;
	umpa_timer_cancel(m->timer);
	for (size_t i = 0; i < m->n; i++)
		free(m->heap[i].buf);
	for (size_t i = 0; i < m->nfree; i++)
		free(m->free[i].buf);
	free(m->heap);
	free(m->free);
	free(m->scratch);
	free(m);
	return NULL;
}
