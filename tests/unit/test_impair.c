/* test_impair.c - netem's impairments (sched/impair.c) on the virtual clock:
 * the statistics of loss (Bernoulli, Gilbert-Elliott), duplication,
 * corruption, reordering, delay distributions and rate, exact timing, and
 * determinism by seed.  Every run feeds numbered frames at known times and
 * records what leaves and when. */
#include <math.h>

#include "umpa_impair.h"
#include "umpa_sched.h"
#include "unit.h"

#define MS 1000000LL
#define NMAX 40000

struct rec {
	struct umpa_loop *loop;
	size_t n;
	int64_t at[NMAX + NMAX / 2];
	uint32_t id[NMAX + NMAX / 2];
	size_t len[NMAX + NMAX / 2];
	uint8_t first[NMAX + NMAX / 2][32]; /* the first bytes, for the corruption check */
};

static int out(void *arg, const uint8_t *f, size_t len, struct umpa_err *e)
{
	struct rec *r = arg;

	(void)e;
	assert_true(r->n < NMAX + NMAX / 2);
	assert_true(len >= 18);
	r->at[r->n] = umpa_loop_now_ns(r->loop);
	r->id[r->n] = (uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 | (uint32_t)f[16] << 8 | f[17];
	r->len[r->n] = len;
	memcpy(r->first[r->n], f, len < 32 ? len : 32);
	r->n++;
	return 0;
}

/* A frame of @len bytes numbered @i (bytes 14..17), the rest a pattern. */
static void frame(uint8_t *b, size_t len, uint32_t i)
{
	for (size_t k = 0; k < len; k++)
		b[k] = (uint8_t)(k * 7 + 3);
	b[14] = (uint8_t)(i >> 24);
	b[15] = (uint8_t)(i >> 16);
	b[16] = (uint8_t)(i >> 8);
	b[17] = (uint8_t)i;
}

/* Feed @n frames of @len bytes, one every @gap ns from t=1 s, through @c
 * with @seed; then let everything out.  Returns the impairment (stats). */
static struct umpa_impair *feed(struct rec *r, const struct umpa_impair_cfg *c, uint64_t seed, size_t n, size_t len,
				int64_t gap)
{
	struct umpa_err e = {0};
	struct umpa_impair *m;
	uint8_t b[2000];

	memset(r, 0, sizeof(*r));
	assert_non_null(r->loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e));
	assert_int_equal(umpa_loop_set_now(r->loop, UMPA_NS_PER_SEC, &e), 0);
	assert_non_null(m = umpa_impair_new(r->loop, out, r, &e));
	assert_int_equal(umpa_impair_set(m, c, &e), 0);
	umpa_impair_seed(m, seed);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(umpa_loop_advance_to(r->loop, UMPA_NS_PER_SEC + (int64_t)i * gap, &e), 0);
		frame(b, len, (uint32_t)i);
		assert_int_equal(umpa_impair_input(m, b, len, &e), 0);
	}
	/* the last departure is the time to advance to */
	if (umpa_impair_stats(m)->queued) {
		int64_t last = umpa_impair_last_due(m);
		assert_true(last > umpa_loop_now_ns(r->loop));
		assert_int_equal(umpa_loop_advance_to(r->loop, last - 1, &e), 0);
		assert_true(umpa_impair_stats(m)->queued > 0);
		assert_int_equal(umpa_loop_advance_to(r->loop, last, &e), 0);
		assert_int_equal(umpa_impair_stats(m)->queued, 0);
	}
	assert_int_equal(umpa_impair_last_due(m), -1);
	assert_int_equal(umpa_loop_run(r->loop, &e), 0); /* nothing else is pending */
	assert_int_equal(umpa_impair_stats(m)->queued, 0);
	return m;
}

static void done(struct rec *r, struct umpa_impair *m)
{
	umpa_impair_free(m);
	r->loop = umpa_loop_free(r->loop);
}

/* Departure delay of output k (frames entered at 1 s + id * gap). */
static double delay_ms(const struct rec *r, size_t k, int64_t gap)
{
	return (double)(r->at[k] - UMPA_NS_PER_SEC - (int64_t)r->id[k] * gap) / 1e6;
}

static struct rec R; /* large: static */

static void passthrough(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;

	(void)state;
	umpa_impair_cfg_init(&c);
	m = feed(&R, &c, 1, 1000, 100, MS);
	assert_int_equal(R.n, 1000);
	for (size_t k = 0; k < R.n; k++) {
		assert_int_equal(R.id[k], k);
		assert_true(delay_ms(&R, k, MS) == 0);
	}
	assert_int_equal(umpa_impair_stats(m)->forwarded, 1000);
	assert_int_equal(umpa_impair_stats(m)->bytes, 100000);
	done(&R, m);
}

static void bernoulli_loss(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;
	double f;

	(void)state;
	umpa_impair_cfg_init(&c);
	c.loss = 0.1;
	m = feed(&R, &c, 7, 20000, 60, MS);
	f = (double)umpa_impair_stats(m)->dropped / 20000;
	print_message("bernoulli 0.1: %.4f lost\n", f);
	assert_true(fabs(f - 0.1) < 0.01); /* 5 standard deviations */
	assert_int_equal(R.n + umpa_impair_stats(m)->dropped, 20000);
	for (size_t k = 1; k < R.n; k++) /* no delay: order kept */
		assert_true(R.id[k] > R.id[k - 1]);
	done(&R, m);
}

/* Gilbert-Elliott p=0.01 r=0.1, 1-h=1 1-k=0: loss p/(p+r) = 9.1 %, bursts 1/r = 10 long. */
static void gilbert_elliott(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;
	size_t bursts = 0, lostn = 0;
	double f, mean;

	(void)state;
	umpa_impair_cfg_init(&c);
	c.ge_p = 0.01;
	c.ge_r = 0.1;
	m = feed(&R, &c, 11, 40000, 60, MS);
	/* bursts: runs of missing ids */
	for (size_t k = 0, want = 0; k <= R.n; k++) {
		uint32_t id = k < R.n ? R.id[k] : 40000;
		if (id > want) {
			bursts++;
			lostn += id - want;
		}
		want = id + 1;
	}
	f = (double)lostn / 40000;
	mean = (double)lostn / (double)bursts;
	print_message("gilbert-elliott: %.4f lost in %zu bursts of %.2f\n", f, bursts, mean);
	assert_int_equal(lostn, umpa_impair_stats(m)->dropped);
	assert_true(fabs(f - 1.0 / 11) < 0.025);
	assert_true(mean > 8 && mean < 12);
	done(&R, m);
}

static void duplicate_and_corrupt(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;
	uint8_t want[32];
	size_t bad = 0;

	(void)state;
	umpa_impair_cfg_init(&c);
	c.dup = 0.2;
	m = feed(&R, &c, 3, 20000, 60, MS);
	print_message("dup 0.2: %zu out of 20000\n", R.n);
	assert_int_equal(R.n, 20000 + umpa_impair_stats(m)->duplicated);
	assert_true(fabs((double)umpa_impair_stats(m)->duplicated / 20000 - 0.2) < 0.015);
	done(&R, m);

	umpa_impair_cfg_init(&c);
	c.corrupt = 1;
	m = feed(&R, &c, 3, 2000, 32, MS);
	assert_int_equal(R.n, 2000);
	assert_int_equal(umpa_impair_stats(m)->corrupted, 2000);
	for (size_t k = 0; k < R.n; k++) {
		int bits = 0;
		frame(want, 32, R.id[k] ^ 0); /* id bytes may be the flipped ones: compare the rest */
		for (size_t i = 0; i < 32; i++) {
			if (i >= 14 && i < 18)
				continue;
			bits += __builtin_popcount(want[i] ^ R.first[k][i]);
			assert_true(i >= 14 || want[i] == R.first[k][i]); /* the Ethernet header is never hit */
		}
		if (bits == 0)
			bad++; /* the flip hit the id bytes */
		else
			assert_int_equal(bits, 1);
	}
	assert_true(bad < 2000 * 4 / 18 + 100); /* 4 of the 18 corruptible bytes are the id */
	done(&R, m);
}

static void delay_distributions(void **state)
{
	static const char *const names[] = {"uniform", "normal", "pareto", "paretonormal"};
	struct umpa_impair_cfg c;
	struct umpa_impair *m;
	struct umpa_err e = {0};

	(void)state;
	for (int d = 0; d < 4; d++) {
		double sum = 0, sq = 0, lo = 1e9, hi = 0, mean, sd;
		umpa_impair_cfg_init(&c);
		assert_int_equal(umpa_impair_dist_parse(names[d], &c.dist, &e), 0);
		c.delay = 0.05;
		c.jitter = 0.01;
		/* frames 1 s apart: no two wait together, each delay is seen as drawn */
		m = feed(&R, &c, 5, 20000, 60, UMPA_NS_PER_SEC);
		assert_int_equal(R.n, 20000);
		for (size_t k = 0; k < R.n; k++) {
			double x = delay_ms(&R, k, UMPA_NS_PER_SEC);
			sum += x;
			sq += x * x;
			lo = fmin(lo, x);
			hi = fmax(hi, x);
		}
		mean = sum / 20000;
		sd = sqrt(sq / 20000 - mean * mean);
		print_message("%-12s mean %.3f ms sd %.3f ms min %.3f max %.3f\n", names[d], mean, sd, lo, hi);
		assert_true(fabs(mean - 50) < 0.5);
		if (d == 0) { /* flat on [40, 60]: sd 20 / sqrt(12) */
			assert_true(lo >= 40 && hi <= 60);
			assert_true(fabs(sd - 20 / sqrt(12)) < 0.2);
		} else {
			assert_true(fabs(sd - 10) < 1.0);
		}
		if (d == 2) /* Pareto: nothing below the scale's minimum, a long right tail */
			assert_true(lo >= 43 && hi > 80); /* the minimum: (1 - 1.4865) / 0.7022 deviations */
		assert_int_equal(umpa_impair_stats(m)->delayed, 20000);
		done(&R, m);
	}
}

static void reordering(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;
	size_t early = 0;

	(void)state;
	umpa_impair_cfg_init(&c);
	c.delay = 0.01;
	c.reorder = 0.25;
	m = feed(&R, &c, 9, 20000, 60, MS);
	for (size_t k = 0; k < R.n; k++)
		if (delay_ms(&R, k, MS) == 0)
			early++;
	print_message("reorder 0.25: %zu sent at once, %llu counted\n", early,
		      (unsigned long long)umpa_impair_stats(m)->reordered);
	assert_int_equal(R.n, 20000);
	assert_true(fabs((double)early / 20000 - 0.25) < 0.015);
	assert_true(umpa_impair_stats(m)->reordered <= early);
	assert_true(umpa_impair_stats(m)->reordered + 20 >= early);
	done(&R, m);

	/* gap 5: at most one frame in 5 jumps the queue */
	c.gap = 5;
	c.reorder = 1;
	m = feed(&R, &c, 9, 1000, 60, MS);
	early = 0;
	for (size_t k = 0; k < R.n; k++)
		if (delay_ms(&R, k, MS) == 0) {
			early++;
			assert_int_equal(R.id[k] % 5, 4);
		}
	assert_int_equal(early, 200);
	done(&R, m);
}

static void rate_limit(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;

	(void)state;
	/* 1 Mbit/s; 1000-byte frames offered every 1 ms (8 Mbit/s): one leaves every 8 ms */
	umpa_impair_cfg_init(&c);
	c.rate = 1e6;
	c.limit = 50;
	m = feed(&R, &c, 1, 2000, 1000, MS);
	print_message("rate 1 Mbit/s: %zu out, %llu dropped, %llu held back\n", R.n,
		      (unsigned long long)umpa_impair_stats(m)->rate_dropped,
		      (unsigned long long)umpa_impair_stats(m)->rate_queued);
	assert_int_equal(R.n + umpa_impair_stats(m)->rate_dropped, 2000);
	for (size_t k = 1; k < R.n; k++) {
		assert_true(R.id[k] > R.id[k - 1]);
		assert_true(R.at[k] - R.at[k - 1] >= 8 * MS);
	}
	/* the offered 2 s at 8 Mbit/s leave at 1 Mbit/s: 2 s / 8 ms + the 50 queued */
	assert_true(R.n >= 250 + 40 && R.n <= 250 + 52);
	assert_true((double)(R.n - 1) * 8000 / ((double)(R.at[R.n - 1] - R.at[0]) / 1e9) <= 1e6 + 1);
	done(&R, m);
}

static void same_seed_same_output(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_impair *m;
	uint64_t h[3] = {0};

	(void)state;
	umpa_impair_cfg_init(&c);
	c.loss = 0.1;
	c.dup = 0.05;
	c.delay = 0.02;
	c.jitter = 0.01;
	c.dist = UMPA_DIST_NORMAL;
	c.corrupt = 0.01;
	for (int run = 0; run < 3; run++) {
		m = feed(&R, &c, run == 2 ? 43 : 42, 5000, 60, MS);
		for (size_t k = 0; k < R.n; k++)
			h[run] = (h[run] ^ (uint64_t)R.at[k] ^ ((uint64_t)R.id[k] << 40) ^ R.first[k][20]) *
				 1099511628211ull;
		done(&R, m);
	}
	assert_true(h[0] == h[1]);
	assert_true(h[0] != h[2]);
}

static void bad_settings(void **state)
{
	struct umpa_impair_cfg c;
	struct umpa_err e = {0};
	enum umpa_impair_dist d;

	(void)state;
	umpa_impair_cfg_init(&c);
	assert_int_equal(umpa_impair_cfg_check(&c, &e), 0);
	c.loss = 1.5;
	assert_int_equal(umpa_impair_cfg_check(&c, &e), -UMPA_EINVAL);
	assert_non_null(strstr(e.msg, "loss: 1.5 is not a probability"));
	umpa_impair_cfg_init(&c);
	c.delay = -1;
	assert_int_equal(umpa_impair_cfg_check(&c, &e), -UMPA_EINVAL);
	assert_non_null(strstr(e.msg, "delay"));
	umpa_impair_cfg_init(&c);
	c.rate = NAN;
	assert_int_equal(umpa_impair_cfg_check(&c, &e), -UMPA_EINVAL);
	umpa_impair_cfg_init(&c);
	c.rate = 1e-300; /* its frame times would overflow */
	assert_int_equal(umpa_impair_cfg_check(&c, &e), -UMPA_EINVAL);
	assert_non_null(strstr(e.msg, "at least 1"));
	umpa_impair_cfg_init(&c);
	c.limit = 0;
	assert_int_equal(umpa_impair_cfg_check(&c, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_impair_dist_parse("gauss", &d, &e), -UMPA_EINVAL);
	assert_non_null(strstr(e.msg, "uniform, normal, pareto or paretonormal"));
	assert_int_equal(umpa_impair_dist_parse("paretonormal", &d, &e), 0);
	assert_int_equal(d, UMPA_DIST_PARETONORMAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(passthrough),         cmocka_unit_test(bernoulli_loss),
	    cmocka_unit_test(gilbert_elliott),     cmocka_unit_test(duplicate_and_corrupt),
	    cmocka_unit_test(delay_distributions), cmocka_unit_test(reordering),
	    cmocka_unit_test(rate_limit),          cmocka_unit_test(same_seed_same_output),
	    cmocka_unit_test(bad_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
