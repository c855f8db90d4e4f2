/* test_tls_loop.c - TLS conversations on a caller's loop, interleaved with each other and with timers. */
#include "umpa_sched.h"
#include "umpa_tls.h"
#include "unit.h"

#define MAXP 400

/* What one conversation emitted: timestamps and lengths, in order. */
struct rec {
	int64_t ts[MAXP];
	uint32_t len[MAXP];
	size_t n;
	int fail_at; /* > 0: the emit callback fails on that packet */
	int done, rc;
	int who; /* which conversation */
	char err[600];
};

/* Every packet of every conversation, in emission order. */
static int64_t all_ts[2 * MAXP];
static int all_who[2 * MAXP];
static size_t all_n;

static int rec_emit(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct rec *r = arg;

	(void)comment;
	if (r->fail_at && (int)r->n + 1 == r->fail_at)
		return umpa_err_set(e, UMPA_EIO, "emit refuses packet %d", r->fail_at);
	assert_true(r->n < MAXP && all_n < 2 * MAXP);
	r->ts[r->n] = (int64_t)p->ts_sec * UMPA_NS_PER_SEC + p->ts_nsec;
	r->len[r->n++] = p->len;
	all_ts[all_n] = (int64_t)p->ts_sec * UMPA_NS_PER_SEC + p->ts_nsec;
	all_who[all_n++] = r->who;
	return 0;
}

static void conv_done(void *arg, struct umpa_tls_conv *c, int rc, const struct umpa_err *e)
{
	struct rec *r = arg;

	(void)c;
	r->done++;
	r->rc = rc;
	if (rc < 0)
		snprintf(r->err, sizeof(r->err), "%s", e->msg);
}

static int64_t ticks[10000];
static size_t nticks;

static void tick_cb(struct umpa_loop *l, void *arg)
{
	(void)arg;
	if (nticks < 10000)
		ticks[nticks++] = umpa_loop_now_ns(l);
}

static struct rec rec[2], solo;

static int both_done(void *arg)
{
	(void)arg;
	return rec[0].done && rec[1].done;
}

static struct umpa_tls *make_pump(void)
{
	static char cdata[20000], sdata[30000];
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct umpa_tls *t;

	memset(cdata, 'c', sizeof(cdata));
	memset(sdata, 's', sizeof(sdata));
	umpa_tls_opts_init(&o);
	o.side[UMPA_TCPS_CLIENT].data = cdata;
	o.side[UMPA_TCPS_CLIENT].data_len = sizeof(cdata);
	o.side[UMPA_TCPS_SERVER].data = sdata;
	o.side[UMPA_TCPS_SERVER].data_len = sizeof(sdata);
	o.side[UMPA_TCPS_CLIENT].min_version = "TLSv1.3";
	o.tcp.rtt_us = 10000;
	t = umpa_tls_new(&o, &e);
	if (!t)
		fail_msg("tls_new: %s", e.msg);
	return t;
}

/* Two conversations and a 5 ms timer on one virtual loop: all interleave in time order. */
static void test_interleave(void **state)
{
	struct umpa_tls *t = make_pump();
	struct umpa_err e = {0};
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct umpa_tls_conv *c[2];
	struct umpa_tcps_opts tcp[2];
	struct umpa_timer *tm;
	const int64_t t0 = 1700000000LL * UMPA_NS_PER_SEC;
	size_t firstb = 0, lasta = 0;

	(void)state;
	memset(rec, 0, sizeof(rec));
	all_n = nticks = 0;
	assert_non_null(l);
	assert_int_equal(umpa_loop_set_now(l, t0, &e), 0);
	for (int i = 0; i < 2; i++) {
		umpa_tcps_opts_init(&tcp[i]);
		tcp[i].seed = 100 + (uint64_t)i;
		tcp[i].port[0] = (uint16_t)(40000 + i);
		tcp[i].rtt_us = 10000 + 3000 * (uint32_t)i;
		rec[i].who = i;
		c[i] = umpa_tls_conv_new_on(t, l, &tcp[i], 0, rec_emit, &rec[i], &e);
		assert_non_null(c[i]);
		assert_ptr_equal(umpa_tls_conv_loop(c[i]), l);
		assert_int_equal(umpa_tls_conv_start(c[i], conv_done, &rec[i], &e), 0);
	}
	assert_int_equal(umpa_tls_conv_start(c[0], conv_done, &rec[0], &e), -UMPA_EINVAL);
	assert_int_equal(rec[0].n + rec[1].n, 0); /* nothing before the loop runs */
	tm = umpa_every(l, 5000000, tick_cb, NULL, &e);
	assert_non_null(tm);
	assert_int_equal(umpa_loop_run_until(l, both_done, NULL, t0 + 60 * UMPA_NS_PER_SEC, &e), 1);
	for (int i = 0; i < 2; i++) {
		const struct umpa_tls_report *r = umpa_tls_conv_report(c[i]);
		assert_int_equal(rec[i].done, 1);
		assert_int_equal(rec[i].rc, 0);
		assert_true(r->handshake_ok);
		assert_int_equal(r->packets, rec[i].n);
		assert_true(rec[i].n > 20);
		assert_int_equal(rec[i].ts[0], t0); /* both SYNs at the loop's start */
	}
	/* one clock: emission order is time order, the conversations overlap, the timer ticked throughout */
	for (size_t i = 1; i < all_n; i++)
		assert_true(all_ts[i] >= all_ts[i - 1]);
	for (size_t i = 0; i < all_n; i++) {
		if (all_who[i] == 0)
			lasta = i;
		if (all_who[i] == 1 && !firstb)
			firstb = i;
	}
	assert_true(firstb < lasta);
	{
		int64_t end = rec[0].ts[rec[0].n - 1] > rec[1].ts[rec[1].n - 1] ? rec[0].ts[rec[0].n - 1]
										: rec[1].ts[rec[1].n - 1];
		for (size_t k = 0; k < nticks; k++)
			assert_int_equal(ticks[k], t0 + 5000000 * (int64_t)(k + 1));
		assert_true((int64_t)nticks >= (end - t0) / 5000000 - 1 && nticks > 10);
	}
	/* the same conversation alone on a private loop: the same packets at the same times */
	{
		struct umpa_tls_conv *s;
		int r;

		memset(&solo, 0, sizeof(solo));
		all_n = 0;
		s = umpa_tls_conv_new(t, &tcp[1], 0, rec_emit, &solo, &e);
		assert_non_null(s);
		while ((r = umpa_tls_conv_step(s, &e)) > 0)
			;
		assert_int_equal(r, 0);
		assert_int_equal(solo.n, rec[1].n);
		for (size_t i = 0; i < solo.n; i++) {
			assert_int_equal(solo.ts[i] - (int64_t)1700000000LL * UMPA_NS_PER_SEC, rec[1].ts[i] - t0);
			assert_int_equal(solo.len[i], rec[1].len[i]);
		}
		umpa_tls_conv_free(s);
	}
	umpa_timer_cancel(tm);
	for (int i = 0; i < 2; i++)
		umpa_tls_conv_free(c[i]);
	umpa_loop_free(l);
	umpa_tls_free(t);
}

/* An emit callback's error ends a started conversation through its done callback. */
static void test_error(void **state)
{
	struct umpa_tls *t = make_pump();
	struct umpa_err e = {0};
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct umpa_tls_conv *c;

	(void)state;
	memset(rec, 0, sizeof(rec));
	all_n = 0;
	rec[0].fail_at = 5;
	rec[1].done = 1;
	c = umpa_tls_conv_new_on(t, l, NULL, 0, rec_emit, &rec[0], &e);
	assert_non_null(c);
	assert_int_equal(umpa_tls_conv_start(c, conv_done, &rec[0], &e), 0);
	assert_int_equal(umpa_loop_run_until(l, both_done, NULL, UMPA_NEVER, &e), 1);
	assert_int_equal(rec[0].done, 1);
	assert_int_equal(rec[0].rc, -UMPA_EIO);
	assert_non_null(strstr(rec[0].err, "emit refuses packet 5"));
	assert_int_equal(rec[0].n, 4);
	umpa_tls_conv_free(c);
	umpa_loop_free(l);
	umpa_tls_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interleave),
	    cmocka_unit_test(test_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
