/* rate.c - paced packet sources: source -> sink at a packet or bit rate, with jitter.
 *
 * The schedule is computed, not measured: the frame after frame i is due
 * gap(i) after frame i's due time, gap(i) = max(1e9 / pps, len(i) * 8e9 /
 * bps) scaled by (1 + jitter * u).  Due times accumulate in a double (ns
 * since the loop's epoch: 2^53 ns is over 100 days, so sub-ns precision), so
 * the mean rate is exact and a late frame does not delay the ones after it.
 *
 * Live clock, why bursts and spinning: a timer wakes up tens of microseconds
 * late and costs a few microseconds, so above ~20,000 pps one wake-up per
 * frame cannot keep up.  Each wake-up therefore takes every frame whose due
 * time has passed (a token bucket filled by the elapsed time) and hands them
 * to the sink in batches of up to `batch`.  Below that rate frames go one by
 * one, and to keep gaps accurate to microseconds the source sleeps until
 * UMPA_SPIN_NS before a due time and spins (clock_gettime in the vDSO) the
 * rest: at most 50 us of CPU per frame, cheap at the low rates where it
 * matters.  A wake-up does at most a bounded amount of work (16 batches or
 * 2 ms) before returning to the loop, so fds and other timers still run.
 *
 * Virtual clock: one timer event per due time; frames due at the same
 * instant (no rate) go in batches.  Frames reach the sink exactly at their
 * due times, so the rate report shows the requested rate and the jitter
 * drawn, nothing else.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"
#include "umpa_num.h"
#include "umpa_sched.h"

struct umpa_source {
	struct umpa_loop *loop;
	umpa_source_cb src;
	void *src_arg;
	umpa_sink_cb sink;
	void *sink_arg;
	struct umpa_rate rate;
	int paced;
	double gap_pkt_ns; /* 1e9 / pps, or 0 */
	double ns_per_bit; /* 1e9 / bps, or 0 */
	uint64_t rng;
	double next_due; /* due time of the next frame to produce */
	struct umpa_frame fr[UMPA_BATCH_MAX];
	uint8_t *arena;
	unsigned batch;
	unsigned npend; /* produced, not yet taken: fr[0..npend) */
	int src_ended;
	int done;
	int paused;        /* umpa_source_pause: no frame produced or handed over */
	int64_t paused_ns; /* when the pause began */
	struct umpa_timer *timer;
	/* stats */
	uint64_t packets, bytes;
	uint32_t last_len;
	int64_t first_ns, last_ns, max_late;
	double gap_mean, gap_m2; /* Welford over packets - 1 gaps */
};

/* splitmix64 (Steele, Lea, Flood 2014): the same generator as the TCP stream. */
static uint64_t splitmix_(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double gap_after_(struct umpa_source *s, uint32_t len)
{
	double g = s->gap_pkt_ns, gb = (double)len * 8.0 * s->ns_per_bit;

	if (gb > g)
		g = gb;
	if (s->rate.jitter > 0 && g > 0) {
		double u = (double)(splitmix_(&s->rng) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
		g *= 1.0 + s->rate.jitter * u;
	}
	return g;
}

static void source_tick_(struct umpa_loop *l, void *arg);

static void finish_(struct umpa_source *s)
{
	s->done = 1;
	s->npend = 0;
	if (s->timer) {
		umpa_timer_cancel(s->timer);
		s->timer = NULL;
	}
}

static void fail_(struct umpa_source *s, struct umpa_err *e)
{
	finish_(s);
	umpa_loop_fail(s->loop, e);
}

static int rearm_(struct umpa_source *s, int64_t at)
{
	struct umpa_err e;

	s->timer = umpa_at(s->loop, at, source_tick_, s, &e);
	if (!s->timer) {
		fail_(s, &e);
		return -1;
	}
	return 0;
}

/*
 * Account @p n frames taken at loop time @p t.  Frames of one batch share
 * the send instant, so after the first one their gaps are zeros: those are
 * merged into the running mean and M2 in one step (Chan et al.'s pairwise
 * update), which keeps the cost per batch, not per frame, on the fast path.
 */
static void account_(struct umpa_source *s, unsigned n, int64_t t)
{
	unsigned i = 0;

	if (n == 0)
		return;
	for (; i < n; i++) {
		s->bytes += s->fr[i].len;
		if (s->paced && t - s->fr[i].due_ns > s->max_late)
			s->max_late = t - s->fr[i].due_ns;
	}
	s->last_len = s->fr[n - 1].len;
	if (s->packets == 0) {
		s->first_ns = t;
	} else {
		double gap = (double)(t - s->last_ns), d = gap - s->gap_mean;
		s->gap_mean += d / (double)s->packets; /* gaps so far, this one included */
		s->gap_m2 += d * (gap - s->gap_mean);
	}
	s->packets++;
	if (n > 1) { /* n - 1 zero gaps */
		double na = (double)(s->packets - 1), m = (double)(n - 1), tot = na + m, d = -s->gap_mean;
		s->gap_mean += d * m / tot;
		s->gap_m2 += d * d * na * m / tot;
		s->packets += n - 1;
	}
	s->last_ns = t;
}

/* Hand the pending frames to the sink; returns 1 if all were taken, 0 if
 * some remain, -1 on error (the source is finished). */
static int flush_(struct umpa_source *s, int64_t t)
{
	struct umpa_err e;
	int r;

	umpa_err_clear(&e);
	r = s->sink(s->sink_arg, s->fr, s->npend, &e);
	if (r < 0) {
		fail_(s, &e);
		return -1;
	}
	if (s->done) { /* the sink stopped the source: what it took still counts */
		account_(s, (unsigned)r <= s->batch ? (unsigned)r : s->batch, t);
		return -1;
	}
	if ((unsigned)r > s->npend)
		r = (int)s->npend;
	account_(s, (unsigned)r, t);
	if ((unsigned)r == s->npend) {
		s->npend = 0;
		return 1;
	}
	/* rotate the taken slots behind the pending ones (each slot keeps its buffer) */
	{
		struct umpa_frame tmp[UMPA_BATCH_MAX];
		unsigned k = (unsigned)r, rest = s->npend - k;
		memcpy(tmp, s->fr, k * sizeof(*tmp));
		memmove(s->fr, s->fr + k, rest * sizeof(*tmp));
		memcpy(s->fr + rest, tmp, k * sizeof(*tmp));
		s->npend = rest;
	}
	return 0;
}

/* Produce frames due at or before @p now into the batch.  Returns -1 on error. */
static int fill_(struct umpa_source *s, int64_t now)
{
	while (s->npend < s->batch && !s->src_ended) {
		struct umpa_frame *f = &s->fr[s->npend];
		struct umpa_err e;
		int r;
		int64_t due = (int64_t)s->next_due;
		if (s->paced && due > now)
			break;
		f->data = NULL;
		f->len = 0;
		f->due_ns = s->paced ? due : now;
		umpa_err_clear(&e);
		r = s->src(s->src_arg, f, &e);
		if (r < 0) {
			fail_(s, &e);
			return -1;
		}
		if (s->done) /* the source stopped itself */
			return -1;
		if (r == 0) {
			s->src_ended = 1;
			break;
		}
		if (!f->data)
			f->data = f->buf;
		s->npend++;
		if (s->paced)
			s->next_due += gap_after_(s, f->len);
	}
	return 0;
}

#define RETRY_NS_ 20000 /* a sink that took only part of a batch is offered the rest this much later */

static void source_tick_(struct umpa_loop *l, void *arg)
{
	struct umpa_source *s = arg;
	int live = umpa_loop_clock(l) == UMPA_CLOCK_LIVE;
	int64_t start = umpa_loop_now_ns(l), now = start;

	s->timer = NULL; /* a one-shot timer: freed when we return */
	if (s->paused)
		return; /* umpa_source_pause(s, 0) arms it again */
	for (unsigned round = 0; round < 16; round++) {
		if (fill_(s, now) < 0)
			return;
		if (s->npend == 0) {
			int64_t due = (int64_t)s->next_due;
			if (s->src_ended) {
				finish_(s);
				return;
			}
			/* paced and nothing due yet */
			if (!live) {
				rearm_(s, due);
				return;
			}
			if (due - now > UMPA_SPIN_NS) {
				rearm_(s, due - UMPA_SPIN_NS);
				return;
			}
			now = umpa_spin_until_(due);
			continue;
		}
		if (live)
			now = umpa_loop_now_ns(l);
		switch (flush_(s, now)) {
		case -1:
			return;
		case 0:
			rearm_(s, now + RETRY_NS_);
			return;
		}
		if (live) {
			now = umpa_loop_now_ns(l);
			if (now - start > 2000000)
				break;
		}
	}
	/* work budget used: come back after the loop had a turn */
	if (s->src_ended && s->npend == 0)
		finish_(s);
	else
		rearm_(s, now);
}

struct umpa_source *umpa_loop_source(struct umpa_loop *l, umpa_source_cb src_cb, void *src_arg,
				     const struct umpa_rate *rate, umpa_sink_cb sink_cb, void *sink_arg,
				     struct umpa_err *e)
{
	struct umpa_source *s;
	struct umpa_rate r = {0};

	if (!src_cb || !sink_cb) {
		umpa_err_set(e, UMPA_EINVAL, "source: needs a source and a sink callback");
		return NULL;
	}
	if (rate)
		r = *rate;
	/* the presets bound every gap (1 / rate) to 1e8 s, so due times stay far inside int64 nanoseconds */
	if (umpa_num_check(&umpa_num_pps, "rate: pps", r.pps, e) < 0 ||
	    umpa_num_check(&umpa_num_bps, "rate: bps", r.bps, e) < 0 ||
	    umpa_num_check(&umpa_num_fraction, "rate: jitter", r.jitter, e) < 0)
		return NULL;
	if (r.batch > UMPA_BATCH_MAX) {
		umpa_err_set(e, UMPA_EINVAL, "rate: batch %u is more than %d", r.batch, UMPA_BATCH_MAX);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		umpa_err_set(e, UMPA_ENOMEM, "source: out of memory");
		return NULL;
	}
	s->loop = l;
	s->src = src_cb;
	s->src_arg = src_arg;
	s->sink = sink_cb;
	s->sink_arg = sink_arg;
	s->rate = r;
	s->batch = r.batch ? r.batch : UMPA_BATCH_MAX;
	s->paced = r.pps > 0 || r.bps > 0;
	s->gap_pkt_ns = r.pps > 0 ? 1e9 / r.pps : 0;
	s->ns_per_bit = r.bps > 0 ? 1e9 / r.bps : 0;
	s->rng = r.seed;
	/* untouched pages of the arena are never faulted in */
	s->arena = malloc((size_t)s->batch * UMPA_FRAME_CAP);
	if (!s->arena || umpa_loop_track_source_(l, s, e) < 0) {
		if (s->arena)
			umpa_err_set(e, UMPA_ENOMEM, "source: out of memory");
		free(s->arena);
		free(s);
		return NULL;
	}
	for (unsigned i = 0; i < s->batch; i++) {
		s->fr[i].buf = s->arena + (size_t)i * UMPA_FRAME_CAP;
		s->fr[i].cap = UMPA_FRAME_CAP;
	}
	s->next_due = (double)umpa_loop_now_ns(l);
	s->timer = umpa_at(l, umpa_loop_now_ns(l), source_tick_, s, e);
	if (!s->timer)
		return umpa_source_close(s);
	return s;
}

void umpa_source_stop(struct umpa_source *s)
{
	if (s)
		finish_(s);
}

int umpa_source_done(const struct umpa_source *s)
{
	return s->done;
}

void umpa_source_stats(const struct umpa_source *s, struct umpa_rate_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->packets = s->packets;
	st->bytes = s->bytes;
	st->req_pps = s->rate.pps;
	st->req_bps = s->rate.bps;
	st->max_late_ns = s->max_late;
	st->first_ns = s->first_ns;
	st->last_ns = s->last_ns;
	if (s->packets >= 2) {
		st->elapsed_ns = s->last_ns - s->first_ns;
		st->gap_mean_ns = s->gap_mean;
		st->gap_stddev_ns = sqrt(s->gap_m2 / (double)(s->packets - 1));
		if (st->elapsed_ns > 0) {
			st->pps = (double)(s->packets - 1) * 1e9 / (double)st->elapsed_ns;
			st->bps = (double)(s->bytes - s->last_len) * 8e9 / (double)st->elapsed_ns;
		}
	}
}

struct umpa_source *umpa_source_close(struct umpa_source *s)
{
	if (!s)
		return NULL;
	finish_(s);
	umpa_loop_untrack_source_(s->loop, s);
	free(s->arena);
	free(s);
	return NULL;
}

int umpa_source_set_rate(struct umpa_source *s, double pps, double bps, struct umpa_err *e)
{
	double now, gap;
	if (umpa_num_check(&umpa_num_pps, "rate: pps", pps, e) < 0 ||
	    umpa_num_check(&umpa_num_bps, "rate: bps", bps, e) < 0)
		return -e->code;
	if (!s->paced || (pps <= 0 && bps <= 0))
		return umpa_err_set(e, UMPA_EINVAL, "rate: only a paced source changes its rate (and stays paced)");
	s->rate.pps = pps;
	s->rate.bps = bps;
	s->gap_pkt_ns = pps > 0 ? 1e9 / pps : 0;
	s->ns_per_bit = bps > 0 ? 1e9 / bps : 0;
	if (s->done)
		return 0;
	/* the next frame is due no later than one new gap from now: a faster rate starts at once */
	now = (double)umpa_loop_now_ns(s->loop);
	gap = gap_after_(s, s->last_len);
	if (s->next_due > now + gap)
		s->next_due = now + gap;
	if (s->timer) {
		umpa_timer_cancel(s->timer);
		s->timer = NULL;
		return rearm_(s, (int64_t)now) < 0 ? -UMPA_EIO : 0;
	}
	return 0;
}

int umpa_source_pause(struct umpa_source *s, int on, struct umpa_err *e)
{
	int64_t now, d;

	if (s->done)
		return umpa_err_set(e, UMPA_EINVAL, "source: it has ended (nothing to pause or resume)");
	on = !!on;
	if (on == s->paused)
		return 0;
	now = umpa_loop_now_ns(s->loop);
	if (on) {
		s->paused = 1;
		s->paused_ns = now;
		if (s->timer) {
			umpa_timer_cancel(s->timer);
			s->timer = NULL;
		}
		return 0;
	}
	s->paused = 0;
	/* the schedule moves by the pause: the rate resumes, with no burst to catch up */
	d = now - s->paused_ns;
	if (s->paced) {
		s->next_due += (double)d;
		for (unsigned i = 0; i < s->npend; i++)
			s->fr[i].due_ns += d;
	}
	s->timer = umpa_at(s->loop, now, source_tick_, s, e);
	return s->timer ? 0 : -e->code;
}
