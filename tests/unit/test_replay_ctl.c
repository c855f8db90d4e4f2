/* test_replay_ctl.c - a running replay's pace changed live (umpa replay --http's parameters), on the virtual clock.
 *
 * Eleven UDP datagrams recorded 100 ms apart are replayed (send only) against a
 * fake interface that notes when each frame leaves.  Timers during the run
 * change the pace as the control plane would: umpa_replay_set_multiplier (the
 * recorded time reached stays, what follows runs at the new speed),
 * umpa_replay_pause (nothing leaves while paused, the rest moves by the pause),
 * umpa_replay_set_rate on a --pps replay (the next frame no later than one new
 * gap).  The virtual clock makes every send time exact.
 */
#include "unit.h"

#include "umpa_capfile.h"
#include "umpa_lua.h"
#include "umpa_replay.h"
#include "umpa_sched.h"

#define MS 1000000LL
#define N 11

static struct umpa_lua *L;
static char path[512];

struct wctx {
	struct umpa_capw *w;
	int64_t ts_ns;
};

static int write_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct wctx *w = arg;
	p->ts_sec = w->ts_ns / 1000000000;
	p->ts_nsec = (uint32_t)(w->ts_ns % 1000000000);
	w->ts_ns += 100 * MS;
	return umpa_capw_write(w->w, p, e);
}

static int setup(void **state)
{
	struct umpa_err e = {0};
	struct wctx w = {.ts_ns = 1700000000LL * 1000000000LL};
	(void)state;
	L = umpa_lua_open(&e);
	assert_non_null(L);
	snprintf(path, sizeof path, "%s/umpa-test-replay-ctl-%d.pcap", unit_tmpdir(), (int)getpid());
	w.w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(w.w);
	for (int i = 0; i < N; i++)
		assert_int_equal(/* the number of packets built */
				 umpa_lua_build(
				     L,
				     "ether{src=\"02:aa:00:00:00:01\", dst=\"02:bb:00:00:00:02\"}/"
				     "ip{src=\"10.77.0.1\", dst=\"10.77.0.2\"}/udp{sport=40000, dport=9}/\"x\"",
				     "test", 0, write_pkt, &w, &e),
				 1);
	assert_int_equal(umpa_capw_close(w.w, &e), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	umpa_lua_close(L);
	unit_discard(path);
	return 0;
}

struct fake {
	struct umpa_loop *loop;
	struct umpa_replay_run *run;
	int64_t t0, at[N + 4];
	unsigned n;
};

static int fake_send(void *arg, unsigned ifidx, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	struct fake *f = arg;
	(void)ifidx, (void)pkts, (void)e;
	for (unsigned i = 0; i < n && f->n < N + 4; i++)
		f->at[f->n++] = (umpa_loop_now_ns(f->loop) - f->t0) / MS;
	return (int)n;
}

/* A change at a time of the run: what and when (ms after the start). */
struct change {
	struct fake *f;
	int what; /* 0 multiplier, 1 pause, 2 resume, 3 pps */
	double v;
};

static void do_change(struct umpa_loop *loop, void *arg)
{
	struct change *c = arg;
	struct umpa_err e = {0};
	(void)loop;
	if (c->what == 0)
		assert_int_equal(umpa_replay_set_multiplier(c->f->run, c->v, &e), 0);
	else if (c->what == 3)
		assert_int_equal(umpa_replay_set_rate(c->f->run, c->v, 0, &e), 0);
	else
		assert_int_equal(umpa_replay_pause(c->f->run, c->what == 1, &e), 0);
}

/* Replay with @p t, the changes @p ch at @p when ms; the send times (ms) into @p f. */
static void run(struct fake *f, const struct umpa_replay_timing *t, struct change *ch, const int64_t *when,
		unsigned nch)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts o = {.vlan = -1, .no_answers = 1};
	struct umpa_capr *r = umpa_capr_open(path, &e);
	struct umpa_replay_cap *cap;
	struct umpa_replay_checker *ck = umpa_replay_checker_new(&e);
	struct umpa_replay_io io = {.send = fake_send, .arg = f, .nifs = 1};
	assert_non_null(r);
	cap = umpa_replay_cap_load(r, &o, &e);
	umpa_capr_close(r);
	assert_non_null(cap);
	assert_int_equal(cap->nexch, N);
	f->loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	assert_non_null(f->loop);
	f->t0 = umpa_loop_now_ns(f->loop);
	f->run = umpa_replay_run_new(f->loop, cap, ck, t, &io, &e);
	assert_non_null(f->run);
	for (unsigned i = 0; i < nch; i++) {
		ch[i].f = f;
		assert_non_null(umpa_at(f->loop, f->t0 + when[i] * MS, do_change, &ch[i], &e));
	}
	assert_int_equal(umpa_replay_run_go(f->run, &e), 0);
	umpa_replay_run_free(f->run);
	umpa_loop_free(f->loop);
	umpa_replay_checker_free(ck);
	umpa_replay_cap_free(cap);
}

static void multiplier_and_pause(void **state)
{
	struct umpa_replay_timing t = {.no_check = 1};
	struct fake f = {0};
	/* twice as fast at 250 ms (recorded 250 ms reached: the next, recorded at 300, 25 ms later); paused
	 * at 400, resumed at 600 (the rest 200 ms later); half speed at 800 (recorded 950 reached: the
	 * last, recorded at 1000, 100 ms later) */
	struct change ch[4] = {{NULL, 0, 2}, {NULL, 1, 0}, {NULL, 2, 0}, {NULL, 0, 0.5}};
	static const int64_t when[4] = {250, 400, 600, 800};
	static const int64_t want[N] = {0, 100, 200, 275, 325, 375, 625, 675, 725, 775, 900};
	(void)state;
	run(&f, &t, ch, when, 4);
	assert_int_equal(f.n, N);
	for (unsigned i = 0; i < N; i++)
		if (f.at[i] != want[i])
			fail_msg("frame %u left at %lld ms, want %lld", i, (long long)f.at[i], (long long)want[i]);
}

static void pps_rate(void **state)
{
	struct umpa_replay_timing t = {.no_check = 1, .pps = 10};
	struct fake f = {0};
	struct change ch[1] = {{NULL, 3, 20}};
	static const int64_t when[1] = {250};
	static const int64_t want[N] = {0, 100, 200, 300, 350, 400, 450, 500, 550, 600, 650};
	(void)state;
	run(&f, &t, ch, when, 1);
	assert_int_equal(f.n, N);
	for (unsigned i = 0; i < N; i++)
		if (f.at[i] != want[i])
			fail_msg("frame %u left at %lld ms, want %lld", i, (long long)f.at[i], (long long)want[i]);
}

static void refusals(void **state)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts o = {.vlan = -1, .no_answers = 1};
	struct umpa_capr *r = umpa_capr_open(path, &e);
	struct umpa_replay_cap *cap = umpa_replay_cap_load(r, &o, &e);
	struct umpa_loop *loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct umpa_replay_checker *ck = umpa_replay_checker_new(&e);
	struct fake f = {0};
	struct umpa_replay_io io = {.send = fake_send, .arg = &f, .nifs = 1};
	struct umpa_replay_timing t = {.no_check = 1, .pps = 10};
	struct umpa_replay_run *run;
	(void)state;
	umpa_capr_close(r);
	f.loop = loop;
	run = umpa_replay_run_new(loop, cap, ck, &t, &io, &e);
	assert_non_null(run);
	assert_true(umpa_replay_run_paced(run));
	assert_int_equal(umpa_replay_set_multiplier(run, 2, &e), -UMPA_EINVAL); /* paced */
	unit_assert_contains(e.msg, "paced");
	assert_int_equal(umpa_replay_pause(run, 1, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_replay_set_rate(run, 0, 0, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_replay_set_rate(run, 0, 5, &e), -UMPA_EINVAL); /* mbps on a --pps run */
	assert_int_equal(umpa_replay_set_rate(run, 50, 0, &e), 0);
	umpa_replay_run_free(run);
	t.pps = 0;
	run = umpa_replay_run_new(loop, cap, ck, &t, &io, &e);
	assert_false(umpa_replay_run_paced(run));
	assert_int_equal(umpa_replay_set_multiplier(run, 0, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_replay_set_multiplier(run, 3, &e), 0); /* before the start: the schedule takes it */
	assert_true(umpa_replay_multiplier(run) == 3);
	assert_int_equal(umpa_replay_pause(run, 1, &e), -UMPA_EINVAL); /* not started */
	assert_int_equal(umpa_replay_set_rate(run, 10, 0, &e), -UMPA_EINVAL);
	umpa_replay_run_free(run);
	umpa_loop_free(loop);
	umpa_replay_checker_free(ck);
	umpa_replay_cap_free(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(multiplier_and_pause),
	    cmocka_unit_test(pps_rate),
	    cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
