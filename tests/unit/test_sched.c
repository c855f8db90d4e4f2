/* test_sched.c - the scheduler: timer order and cancel on both clocks, virtual time, paced sources. */
#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "umpa_sched.h"
#include "unit.h"

#define MS 1000000LL

/* ---- a log of timer firings ---- */

struct log {
	struct umpa_loop *loop;
	int ids[64];
	int64_t at[64];
	int n;
};

struct tag {
	struct log *log;
	int id;
	struct umpa_timer *other; /* cancelled by this one's callback */
	struct umpa_timer *self;  /* cancelled by itself after `times` firings */
	int times;
	int fired;
};

static void note(struct umpa_loop *l, void *arg)
{
	struct tag *t = arg;

	assert_true(t->log->n < 64);
	t->log->ids[t->log->n] = t->id;
	t->log->at[t->log->n] = umpa_loop_now_ns(l);
	t->log->n++;
	t->fired++;
	if (t->other) {
		umpa_timer_cancel(t->other);
		t->other = NULL;
	}
	if (t->self && t->fired >= t->times) {
		umpa_timer_cancel(t->self);
		t->self = NULL;
	}
}

static void virtual_order(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct log log = {.loop = l};
	struct tag t[5];

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 5; i++)
		t[i] = (struct tag){.log = &log, .id = i};
	assert_non_null(umpa_after(l, 30, note, &t[0], &e));
	assert_non_null(umpa_after(l, 10, note, &t[1], &e));
	assert_non_null(umpa_at(l, 20, note, &t[2], &e));
	assert_non_null(umpa_after(l, 10, note, &t[3], &e)); /* tie with t[1]: runs after it */
	assert_non_null(umpa_after(l, -5, note, &t[4], &e)); /* negative: now */
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(log.n, 5);
	int want[] = {4, 1, 3, 2, 0};
	int64_t when[] = {0, 10, 10, 20, 30};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(log.ids[i], want[i]);
		assert_int_equal(log.at[i], when[i]);
	}
	assert_int_equal(umpa_loop_now_ns(l), 30);
	assert_int_equal(umpa_loop_wall_ns(l), 30);
	assert_null(umpa_loop_free(l));
}

static void every_and_cancel(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct log log = {.loop = l};
	struct tag ev = {.log = &log, .id = 1, .times = 5}, killer = {.log = &log, .id = 2};
	struct tag victim = {.log = &log, .id = 3}, pending = {.log = &log, .id = 4};
	struct tag oneshot = {.log = &log, .id = 5, .times = 1};

	(void)state;
	ev.self = umpa_every(l, 100, note, &ev, &e);
	assert_non_null(ev.self);
	assert_int_equal(umpa_timer_due_ns(ev.self), 100);
	/* killer at 250 cancels victim due at 250 too (armed after it) */
	assert_non_null(umpa_after(l, 250, note, &killer, &e));
	killer.other = umpa_after(l, 250, note, &victim, &e);
	assert_non_null(killer.other);
	/* cancelled before the run: never fires */
	struct umpa_timer *p = umpa_after(l, 50, note, &pending, &e);
	umpa_timer_cancel(p);
	umpa_timer_cancel(NULL);
	/* a one-shot that cancels itself inside its callback */
	oneshot.self = umpa_after(l, 120, note, &oneshot, &e);
	assert_null(umpa_every(l, 0, note, &ev, &e));
	assert_int_equal(e.code, UMPA_EINVAL);

	assert_int_equal(umpa_loop_run(l, &e), 0);
	/* every: 100 200 300 400 500, then it cancelled itself and the loop ran dry */
	int want[] = {1, 5, 1, 2, 1, 1, 1};
	int64_t when[] = {100, 120, 200, 250, 300, 400, 500};
	assert_int_equal(log.n, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(log.ids[i], want[i]);
		assert_int_equal(log.at[i], when[i]);
	}
	assert_int_equal(victim.fired, 0);
	assert_int_equal(pending.fired, 0);
	assert_int_equal(umpa_loop_now_ns(l), 500);
	umpa_loop_free(l);
}

static void count_cb(struct umpa_loop *l, void *arg)
{
	(void)l;
	(*(uint64_t *)arg)++;
}

static int reached(void *arg)
{
	return *(uint64_t *)arg >= 3;
}

static void virtual_week(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	uint64_t ticks = 0, mins = 0;
	int64_t week = 7 * 24 * 3600 * UMPA_NS_PER_SEC;
	struct timespec t0, t1;

	(void)state;
	assert_int_equal(umpa_loop_set_now(l, 1700000000 * UMPA_NS_PER_SEC, &e), 0);
	int64_t start = umpa_loop_now_ns(l);
	struct umpa_timer *sec = umpa_every(l, UMPA_NS_PER_SEC, count_cb, &ticks, &e);
	assert_non_null(umpa_every(l, 60 * UMPA_NS_PER_SEC, count_cb, &mins, &e));
	assert_int_equal(umpa_loop_set_now(l, 0, &e), -UMPA_EINVAL); /* timers pending */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(umpa_loop_run_until(l, NULL, NULL, start + week, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("a week of virtual time, a timer every second: %.3f s\n", secs);
	assert_int_equal(ticks, 7 * 24 * 3600);
	assert_int_equal(mins, 7 * 24 * 60);
	assert_int_equal(umpa_loop_now_ns(l), start + week);
	assert_true(secs < 5.0);

	/* run_until with a condition: done after 3 more ticks */
	ticks = 0;
	assert_int_equal(umpa_loop_run_until(l, reached, &ticks, UMPA_NEVER, &e), 1);
	assert_int_equal(ticks, 3);
	assert_int_equal(umpa_loop_now_ns(l), start + week + 3 * UMPA_NS_PER_SEC);
	umpa_timer_cancel(sec);
	umpa_loop_free(l);
}

static void virtual_advance(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct log log = {.loop = l};
	struct tag a = {.log = &log, .id = 1}, b = {.log = &log, .id = 2};

	(void)state;
	assert_non_null(umpa_at(l, 5, note, &a, &e));
	assert_non_null(umpa_at(l, 15, note, &b, &e));
	assert_int_equal(umpa_loop_advance_to(l, 10, &e), 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.at[0], 5);
	assert_int_equal(umpa_loop_now_ns(l), 10);
	assert_int_equal(umpa_loop_advance_to(l, 7, &e), 0); /* backwards: stays */
	assert_int_equal(umpa_loop_now_ns(l), 10);
	assert_int_equal(umpa_loop_advance_to(l, 15, &e), 0); /* due exactly at ts: runs */
	assert_int_equal(log.n, 2);
	assert_int_equal(log.at[1], 15);
	/* a virtual loop has no fds or signals */
	assert_null(umpa_loop_add_fd(l, 0, UMPA_FD_READ, NULL, NULL, &e));
	assert_int_equal(e.code, UMPA_ENOSYS);
	assert_int_equal(umpa_loop_on_signal(l, SIGINT, NULL, NULL, &e), -UMPA_ENOSYS);
	umpa_loop_free(l);
}

static void fail_cb(struct umpa_loop *l, void *arg)
{
	struct umpa_err e;

	(void)arg;
	umpa_err_set(&e, UMPA_EIO, "callback says no");
	umpa_loop_fail(l, &e);
}

static void fail_stops(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	uint64_t n = 0;

	(void)state;
	assert_non_null(umpa_after(l, 10, fail_cb, NULL, &e));
	assert_non_null(umpa_every(l, 1, count_cb, &n, &e));
	umpa_err_clear(&e);
	assert_int_equal(umpa_loop_run(l, &e), -UMPA_EIO);
	assert_string_equal(e.msg, "callback says no");
	assert_int_equal(n, 9); /* ticks 1..9: the fail timer was armed before the every tick due at 10 */
	assert_int_equal(umpa_loop_now_ns(l), 10);
	umpa_loop_free(l); /* frees the pending every timer */
}

/* ---- sources ---- */

struct gen {
	uint32_t count, made;
	uint32_t len;
	int own;                          /* point data at our own bytes instead of buf */
	uint8_t mine[UMPA_BATCH_MAX][64]; /* own bytes must stay valid for a whole batch */
};

static int gen_src(void *arg, struct umpa_frame *f, struct umpa_err *e)
{
	struct gen *g = arg;

	(void)e;
	if (g->made == g->count)
		return 0;
	if (g->own) {
		uint8_t *m = g->mine[g->made % UMPA_BATCH_MAX];
		memset(m, (int)g->made, sizeof(g->mine[0]));
		f->data = m;
		f->len = sizeof(g->mine[0]);
	} else {
		assert_true(f->cap >= UMPA_FRAME_CAP);
		memset(f->buf, 0, g->len);
		memcpy(f->buf, &g->made, sizeof(g->made));
		f->len = g->len;
	}
	g->made++;
	return 1;
}

struct sinkrec {
	struct umpa_loop *loop;
	uint32_t n;
	int64_t at[4096];
	int64_t due[4096];
	uint32_t seq[4096];
	unsigned calls, maxn, take; /* take: most frames accepted per call (0: all) */
	unsigned sizes[64];
};

static int rec_sink(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e)
{
	struct sinkrec *r = arg;
	unsigned k = r->take && r->take < n ? r->take : n;

	(void)e;
	assert_true(n >= 1 && n <= UMPA_BATCH_MAX);
	if (r->calls < 64)
		r->sizes[r->calls] = n;
	r->calls++;
	if (n > r->maxn)
		r->maxn = n;
	for (unsigned i = 0; i < k; i++) {
		assert_true(r->n < 4096);
		r->at[r->n] = umpa_loop_now_ns(r->loop);
		r->due[r->n] = f[i].due_ns;
		memcpy(&r->seq[r->n], f[i].data, sizeof(uint32_t));
		r->n++;
	}
	return (int)k;
}

/* A source of @g at @rate into @r (emptied first) on @l, the loop run until it ends; returns the source. */
static struct umpa_source *run_rec(struct umpa_loop *l, struct gen *g, struct umpa_rate *rate, struct sinkrec *r)
{
	struct umpa_err e;
	struct umpa_source *s;

	memset(r, 0, sizeof(*r));
	r->loop = l;
	s = umpa_loop_source(l, gen_src, g, rate, rec_sink, r, &e);
	assert_non_null(s);
	assert_int_equal(umpa_loop_run(l, &e), 0);
	return s;
}

static void source_virtual_exact(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct gen g = {.count = 100, .len = 60};
	static struct sinkrec r;
	struct umpa_rate rate = {.pps = 1000};
	struct umpa_rate_stats st;

	(void)state;
	struct umpa_source *s = run_rec(l, &g, &rate, &r);
	assert_true(umpa_source_done(s));
	assert_int_equal(r.n, 100);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(r.seq[i], i);
		assert_int_equal(r.at[i], (int64_t)i * MS); /* exactly 1 ms apart */
		assert_int_equal(r.due[i], (int64_t)i * MS);
	}
	umpa_source_stats(s, &st);
	assert_int_equal(st.packets, 100);
	assert_int_equal(st.bytes, 6000);
	assert_int_equal(st.elapsed_ns, 99 * MS);
	assert_true(fabs(st.pps - 1000) < 1e-9);
	assert_true(fabs(st.bps - 60 * 8 * 1000) < 1e-6);
	assert_true(fabs(st.gap_mean_ns - 1e6) < 1e-6);
	assert_true(st.gap_stddev_ns < 1e-6);
	assert_int_equal(st.max_late_ns, 0);
	assert_true(st.req_pps == 1000);

	/* bit rate: 125-byte frames at 1 Mbit/s are 1 ms apart; with pps 2000 too, the slower limit wins */
	struct umpa_loop *l2 = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct gen g2 = {.count = 20, .len = 125};
	struct umpa_rate rb = {.bps = 1e6, .pps = 2000};
	s = run_rec(l2, &g2, &rb, &r);
	assert_int_equal(r.n, 20);
	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(r.at[i], (int64_t)i * MS);
	umpa_source_stats(s, &st);
	assert_true(fabs(st.bps - 1e6) < 1e-3);
	assert_null(umpa_source_close(s)); /* closing early is fine; the loop forgets it */
	umpa_loop_free(l2);
	umpa_loop_free(l);
}

static void source_jitter(void **state)
{
	struct umpa_err e;
	static struct sinkrec r1, r2, r3;
	struct sinkrec *rs[3] = {&r1, &r2, &r3};
	uint64_t seeds[3] = {42, 42, 7};
	struct umpa_rate_stats st[3];

	(void)state;
	for (int k = 0; k < 3; k++) {
		struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
		struct gen g = {.count = 2000, .len = 60};
		struct umpa_rate rate = {.pps = 1000, .jitter = 0.2, .seed = seeds[k]};
		memset(rs[k], 0, sizeof(*rs[k]));
		rs[k]->loop = l;
		struct umpa_source *s = umpa_loop_source(l, gen_src, &g, &rate, rec_sink, rs[k], &e);
		assert_non_null(s);
		assert_int_equal(umpa_loop_run(l, &e), 0);
		umpa_source_stats(s, &st[k]);
		umpa_loop_free(l);
	}
	assert_int_equal(r1.n, 2000);
	for (uint32_t i = 1; i < r1.n; i++) {
		int64_t gap = r1.at[i] - r1.at[i - 1];
		assert_true(gap >= 800000 - 1 && gap <= 1200000 + 1); /* within +-20% of 1 ms */
	}
	/* uniform on +-20%: stddev 0.2/sqrt(3) ms = 115 us; mean stays 1 ms */
	print_message("jitter 0.2: gap mean %.0f ns, stddev %.0f ns, %.2f pps\n", st[0].gap_mean_ns,
		      st[0].gap_stddev_ns, st[0].pps);
	assert_true(fabs(st[0].gap_stddev_ns - 115470) < 115470 * 0.1);
	assert_true(fabs(st[0].gap_mean_ns - 1e6) < 1e6 * 0.02);
	assert_true(fabs(st[0].pps - 1000) < 20);
	assert_memory_equal(r1.at, r2.at, sizeof(r1.at)); /* same seed, same gaps */
	assert_memory_not_equal(r1.at, r3.at, sizeof(r1.at));
}

static void source_batches(void **state)
{
	struct umpa_err e;
	static struct sinkrec r;
	(void)state;

	/* no rate: everything at time 0, in full batches */
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct gen g = {.count = 3 * UMPA_BATCH_MAX + 8, .own = 1};
	memset(&r, 0, sizeof(r));
	r.loop = l;
	struct umpa_source *s = umpa_loop_source(l, gen_src, &g, NULL, rec_sink, &r, &e);
	assert_non_null(s);
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(r.n, 3 * UMPA_BATCH_MAX + 8);
	assert_int_equal(r.calls, 4);
	unsigned want[] = {UMPA_BATCH_MAX, UMPA_BATCH_MAX, UMPA_BATCH_MAX, 8};
	for (int i = 0; i < 4; i++)
		assert_int_equal(r.sizes[i], want[i]);
	for (uint32_t i = 0; i < r.n; i++) /* own bytes: memset with the index */
		assert_int_equal(r.seq[i] & 0xff, i & 0xff);
	assert_int_equal(umpa_loop_now_ns(l), 0);
	umpa_loop_free(l);

	/* a sink that takes 10 at a time and a batch limit of 16: every frame, in order */
	l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct gen g2 = {.count = 100, .len = 60};
	struct umpa_rate rate = {.batch = 16};
	memset(&r, 0, sizeof(r));
	r.loop = l;
	r.take = 10;
	struct umpa_source *s2 = umpa_loop_source(l, gen_src, &g2, &rate, rec_sink, &r, &e);
	assert_non_null(s2);
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(r.n, 100);
	assert_int_equal(r.maxn, 16);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(r.seq[i], i);
	/* the stats, batch-merged, agree with the gaps computed from what the sink saw */
	{
		struct umpa_rate_stats st;
		double mean = 0, m2 = 0;
		umpa_source_stats(s2, &st);
		for (uint32_t i = 1; i < r.n; i++)
			mean += (double)(r.at[i] - r.at[i - 1]);
		mean /= (double)(r.n - 1);
		for (uint32_t i = 1; i < r.n; i++) {
			double d = (double)(r.at[i] - r.at[i - 1]) - mean;
			m2 += d * d;
		}
		print_message("partial sink: %u calls, gap mean %.1f ns stddev %.1f ns\n", r.calls, st.gap_mean_ns,
			      st.gap_stddev_ns);
		assert_true(mean > 0);
		assert_int_equal(st.packets, 100);
		assert_true(fabs(st.gap_mean_ns - mean) < 1e-6 * mean);
		assert_true(fabs(st.gap_stddev_ns - sqrt(m2 / (double)(r.n - 1))) < 1e-6 * mean);
		assert_int_equal(st.elapsed_ns, r.at[99] - r.at[0]);
	}

	/* bad rates */
	struct umpa_rate bad = {.jitter = 1.5};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	assert_int_equal(e.code, UMPA_ERANGE);
	bad = (struct umpa_rate){.pps = -1};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	/* a gap (1 / rate) past 1e8 s, or none at all, would overflow the due times */
	bad = (struct umpa_rate){.pps = 1e-300};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	assert_string_equal(e.msg, "rate: pps: 1e-300 is out of range (packets per second: 0 for "
				   "none, or 0.00000001 to 1000000000)");
	bad = (struct umpa_rate){.pps = INFINITY};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	bad = (struct umpa_rate){.bps = NAN};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	assert_int_equal(e.code, UMPA_EINVAL);
	bad = (struct umpa_rate){.bps = 0.5};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	bad = (struct umpa_rate){.batch = UMPA_BATCH_MAX + 1};
	assert_null(umpa_loop_source(l, gen_src, &g2, &bad, rec_sink, &r, &e));
	umpa_loop_free(l);
}

static int err_sink(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e)
{
	unsigned *calls = arg;

	(void)f;
	(void)n;
	if (++*calls == 3)
		return umpa_err_set(e, UMPA_EIO, "wire on fire");
	return (int)n;
}

static void source_error(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct gen g = {.count = 100, .len = 60};
	struct umpa_rate rate = {.pps = 10};
	unsigned calls = 0;

	(void)state;
	struct umpa_source *s = umpa_loop_source(l, gen_src, &g, &rate, err_sink, &calls, &e);
	assert_non_null(s);
	assert_int_equal(umpa_loop_run(l, &e), -UMPA_EIO);
	assert_string_equal(e.msg, "wire on fire");
	assert_int_equal(calls, 3);
	assert_true(umpa_source_done(s));
	assert_int_equal(umpa_loop_now_ns(l), 200 * MS);
	umpa_loop_free(l); /* closes the source */
}

/* A sink that stops its own source once it has taken 150 frames (mid-batch). */
struct stopper {
	struct umpa_source *src;
	unsigned taken;
};

static int stop_sink(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e)
{
	struct stopper *st = arg;
	unsigned k = n;

	(void)f;
	(void)e;
	if (st->taken + k >= 150) {
		k = 150 - st->taken;
		umpa_source_stop(st->src);
	}
	st->taken += k;
	return (int)k;
}

static void source_stop_inside(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct gen g = {.count = 1000, .len = 60};
	struct stopper st = {0};
	struct umpa_rate_stats rs;

	(void)state;
	st.src = umpa_loop_source(l, gen_src, &g, NULL, stop_sink, &st, &e);
	assert_non_null(st.src);
	assert_int_equal(umpa_loop_run(l, &e), 0); /* the stopped source no longer keeps the loop */
	assert_true(umpa_source_done(st.src));
	umpa_source_stats(st.src, &rs);
	assert_int_equal(st.taken, 150);
	assert_int_equal(rs.packets, 150);
	assert_true(g.made < 1000);
	umpa_loop_free(l);
}

/* ---- live clock ---- */

/* Nanoseconds this thread has waited on a run queue (ready while other tasks
 * had the CPU), from the scheduler's statistics; -1 when unknown. */
static int64_t run_wait_ns(void)
{
	unsigned long long run, wait;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	int n = f ? fscanf(f, "%llu %llu", &run, &wait) : 0;

	if (f)
		fclose(f);
	return n == 2 ? (int64_t)wait : -1;
}

/* The live loops below: libevent's precise timer (0), or the loop's own timerfd
 * (UMPA_LOOP_OWN_TIMER, as umpa run has it): the same checks hold for both. */
static unsigned live_flags;

static struct umpa_loop *live_new(struct umpa_err *e)
{
	return umpa_loop_new_flags(UMPA_CLOCK_LIVE, live_flags, e);
}

static int own_timer(void **state)
{
	(void)state;
	live_flags = UMPA_LOOP_OWN_TIMER;
	return 0;
}

static int precise_timer(void **state)
{
	(void)state;
	live_flags = 0;
	return 0;
}

/* One run of the timers below; returns how long the thread waited for a CPU
 * meanwhile (ns; INT64_MAX when unknown).  Checks what holds however late the
 * loop ran: each fires as often as it should, none early, a cancelled one never. */
static int64_t timers_once(struct log *log, int64_t *t0)
{
	struct umpa_err e;
	struct umpa_loop *l = live_new(&e);
	struct tag a = {.log = log, .id = 1}, b = {.log = log, .id = 2}, c = {.log = log, .id = 3};
	struct tag ev = {.log = log, .id = 4, .times = 3};
	int64_t w0 = run_wait_ns(), w1;

	assert_non_null(l);
	log->loop = l;
	log->n = 0;
	*t0 = umpa_loop_now_ns(l);
	assert_non_null(umpa_after(l, 20 * MS, note, &a, &e));
	assert_non_null(umpa_after(l, 5 * MS, note, &b, &e));
	a.other = umpa_after(l, 30 * MS, note, &c, &e); /* a cancels c */
	ev.self = umpa_every(l, 7 * MS, note, &ev, &e);
	assert_int_equal(umpa_loop_run(l, &e), 0);
	w1 = run_wait_ns();
	assert_int_equal(log->n, 5);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(ev.fired, 3);
	assert_int_equal(c.fired, 0);
	assert_int_equal(umpa_loop_advance_to(l, 0, &e), -UMPA_ENOSYS);
	assert_int_equal(umpa_loop_set_now(l, 0, &e), -UMPA_ENOSYS);
	umpa_loop_free(l);
	return w0 >= 0 && w1 >= w0 ? w1 - w0 : INT64_MAX;
}

/* Live timers fire in order, never early and not absurdly late.  Lateness is
 * the loop's fault only when the thread had the CPU: a run during which the
 * thread waited on a run queue for more than 2 ms (a loaded machine) proves
 * nothing about order and lateness, and is run again (up to 20 times); the
 * checks above hold for every run. */
static void live_timers(void **state)
{
	struct log log = {0};
	/* b@5 ev@7 ev@14 a@20 ev@21 */
	static const int want[] = {2, 4, 4, 1, 4};
	static const int64_t when[] = {5, 7, 14, 20, 21};
	int64_t t0, waited = INT64_MAX;
	int tries;

	(void)state;
	for (tries = 0; tries < 20 && waited > 2 * MS; tries++)
		waited = timers_once(&log, &t0);
	if (waited > 2 * MS) {
		print_message("note: every run waited for a CPU (last %.1f ms): order and lateness not checked\n",
			      waited == INT64_MAX ? -1.0 : (double)waited / 1e6);
		for (int i = 0, k = 0; i < 5; i++) { /* never early: b at 5, a at 20, the k-th ev at 7k or later */
			int64_t due = log.ids[i] == 2 ? 5 : log.ids[i] == 1 ? 20 : 7 * ++k;
			assert_true(log.at[i] - t0 >= due * MS);
		}
		return;
	}
	for (int i = 0; i < 5; i++) {
		int64_t off = log.at[i] - t0;
		assert_int_equal(log.ids[i], want[i]);
		assert_true(off >= when[i] * MS);          /* never early */
		assert_true(off < when[i] * MS + 50 * MS); /* not absurdly late */
	}
}

struct pipe_ctx {
	int fds[2];
	struct umpa_fdsrc *src;
	char got[16];
	int reads;
};

static void pipe_write(struct umpa_loop *l, void *arg)
{
	struct pipe_ctx *p = arg;

	(void)l;
	assert_int_equal(write(p->fds[1], "ping", 4), 4);
}

static void pipe_read(struct umpa_loop *l, int fd, unsigned what, void *arg)
{
	struct pipe_ctx *p = arg;

	(void)l;
	assert_int_equal(fd, p->fds[0]);
	assert_true(what & UMPA_FD_READ);
	assert_int_equal(read(fd, p->got, sizeof(p->got) - 1), 4);
	p->reads++;
	p->src = umpa_loop_remove_fd(p->src); /* from inside its own callback */
}

static void raise_term(struct umpa_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	raise(SIGTERM);
}

static void stop_cb(struct umpa_loop *l, void *arg)
{
	(void)arg;
	umpa_loop_break(l);
}

/* The disposition of @p sig now: SIG_DFL, SIG_IGN or a handler. */
static void (*disposition(int sig))(int)
{
	struct sigaction sa;

	assert_int_equal(sigaction(sig, NULL, &sa), 0);
	return sa.sa_handler;
}

/* A second SIGTERM during shutdown (after the loop a first one broke was freed: files being written, atexit
 * handlers) must not kill the program: the break signals stay ignored.  Without a signal, freeing the loop
 * puts the default action back. */
static void live_signal_twice(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l;

	(void)state;
	assert_true(disposition(SIGTERM) == SIG_DFL);
	/* ended by --duration: SIGTERM kills again afterwards, as before the loop */
	l = live_new(&e);
	assert_non_null(l);
	assert_int_equal(umpa_loop_break_on_signal(l, SIGTERM, &e), 0);
	assert_true(disposition(SIGTERM) != SIG_DFL); /* libevent's handler */
	assert_non_null(umpa_after(l, 1 * MS, stop_cb, NULL, &e));
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(umpa_loop_signalled(l), 0);
	umpa_loop_free(l);
	assert_true(disposition(SIGTERM) == SIG_DFL);

	/* ended by SIGTERM: a second one after the free is ignored (without the fix it kills this test) */
	l = live_new(&e);
	assert_non_null(l);
	assert_int_equal(umpa_loop_break_on_signal(l, SIGTERM, &e), 0);
	assert_int_equal(umpa_loop_break_on_signal(l, SIGINT, &e), 0);
	assert_non_null(umpa_after(l, 5 * UMPA_NS_PER_SEC, stop_cb, NULL, &e)); /* keeps the loop running */
	assert_non_null(umpa_after(l, 1 * MS, raise_term, NULL, &e));
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(umpa_loop_signalled(l), SIGTERM);
	umpa_loop_free(l);
	assert_true(disposition(SIGTERM) == SIG_IGN);
	assert_true(disposition(SIGINT) == SIG_IGN);
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(raise(SIGINT), 0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
}

static void raise_usr1(struct umpa_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	raise(SIGUSR1);
}

/* A chain of zero-delay timers while an idle fd is watched: each new timer is
 * due at once, so the loop must not wait on the fd (it used to block). */
struct chain {
	int left;
	struct umpa_fdsrc *idle;
};

static void chain_step(struct umpa_loop *l, void *arg)
{
	struct chain *c = arg;

	if (--c->left > 0)
		assert_non_null(umpa_after(l, 0, chain_step, c, NULL));
	else
		c->idle = umpa_loop_remove_fd(c->idle);
}

static void idle_fd(struct umpa_loop *l, int fd, unsigned what, void *arg)
{
	(void)l;
	(void)fd;
	(void)what;
	(void)arg;
	fail_msg("the idle fd became readable");
}

static void live_fd_and_signal(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = live_new(&e);
	struct pipe_ctx p = {0};

	(void)state;
	assert_int_equal(pipe(p.fds), 0);
	p.src = umpa_loop_add_fd(l, p.fds[0], UMPA_FD_READ, pipe_read, &p, &e);
	assert_non_null(p.src);
	assert_non_null(umpa_after(l, 10 * MS, pipe_write, &p, &e));
	/* the fd source alone keeps the loop running until its callback removes it */
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(p.reads, 1);
	assert_string_equal(p.got, "ping");
	assert_null(p.src);

	/* zero-delay timers armed from callbacks run while an fd is idle */
	int idle[2];
	struct chain ch = {.left = 1000};
	assert_int_equal(pipe(idle), 0);
	ch.idle = umpa_loop_add_fd(l, idle[0], UMPA_FD_READ, idle_fd, NULL, &e);
	assert_non_null(ch.idle);
	assert_non_null(umpa_after(l, 0, chain_step, &ch, &e));
	int64_t c0 = umpa_loop_now_ns(l);
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(ch.left, 0);
	assert_true(umpa_loop_now_ns(l) - c0 < 2 * UMPA_NS_PER_SEC);
	close(idle[0]);
	close(idle[1]);

	/* a signal breaks a loop that would otherwise run forever */
	uint64_t n = 0;
	assert_int_equal(umpa_loop_break_on_signal(l, SIGUSR1, &e), 0);
	struct umpa_timer *forever = umpa_every(l, 1 * MS, count_cb, &n, &e);
	assert_non_null(umpa_after(l, 20 * MS, raise_usr1, NULL, &e));
	assert_int_equal(umpa_loop_run(l, &e), 0);
	assert_int_equal(umpa_loop_signalled(l), SIGUSR1);
	assert_true(n >= 1 && n <= 25); /* a loaded machine skips ticks, never runs extra ones */

	/* run_until with a deadline returns 0 at the deadline */
	int64_t t0 = umpa_loop_now_ns(l);
	assert_int_equal(umpa_loop_run_until(l, reached, &(uint64_t){0}, t0 + 15 * MS, &e), 0);
	assert_true(umpa_loop_now_ns(l) - t0 >= 15 * MS);
	umpa_timer_cancel(forever);
	close(p.fds[0]);
	close(p.fds[1]);
	umpa_loop_free(l);
}

static void live_rate(void **state)
{
	struct umpa_err e;
	struct umpa_loop *l = live_new(&e);
	struct gen g = {.count = 100, .len = 60};
	static struct sinkrec r;
	struct umpa_rate rate = {.pps = 200};
	struct umpa_rate_stats st;

	(void)state;
	struct umpa_source *s = run_rec(l, &g, &rate, &r);
	umpa_source_stats(s, &st);
	print_message("live 200 pps x 100: %.2f pps achieved over %.1f ms, gap mean %.0f ns stddev %.0f ns, max late "
		      "%lld ns\n",
		      st.pps, (double)st.elapsed_ns / 1e6, st.gap_mean_ns, st.gap_stddev_ns, (long long)st.max_late_ns);
	assert_int_equal(st.packets, 100);
	assert_int_equal(r.n, 100);
	assert_true(st.pps >= 180 && st.pps <= 220);
	assert_true(st.elapsed_ns >= 99 * 5 * MS - 1 * MS && st.elapsed_ns <= 99 * 5 * MS + 50 * MS);
	assert_true(fabs(st.gap_mean_ns - 5e6) < 5e5);
	for (uint32_t i = 0; i < r.n; i++)
		assert_true(r.at[i] >= r.due[i]); /* never early */
	umpa_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(virtual_order),
	    cmocka_unit_test(every_and_cancel),
	    cmocka_unit_test(virtual_week),
	    cmocka_unit_test(virtual_advance),
	    cmocka_unit_test(fail_stops),
	    cmocka_unit_test(source_virtual_exact),
	    cmocka_unit_test(source_jitter),
	    cmocka_unit_test(source_batches),
	    cmocka_unit_test(source_error),
	    cmocka_unit_test(source_stop_inside),
	    cmocka_unit_test(live_timers),
	    cmocka_unit_test(live_fd_and_signal),
	    cmocka_unit_test(live_signal_twice),
	    cmocka_unit_test(live_rate),
	    cmocka_unit_test_setup_teardown(live_timers, own_timer, precise_timer),
	    cmocka_unit_test_setup_teardown(live_fd_and_signal, own_timer, precise_timer),
	    cmocka_unit_test_setup_teardown(live_rate, own_timer, precise_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
