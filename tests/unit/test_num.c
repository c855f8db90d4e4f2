/* test_num.c - checked numbers (core/umpa_num.h): grammar, ranges, exact times, messages. */
#include <math.h>

#include "unit.h"
#include "umpa_num.h"

/* Text every kind of number refuses, whatever the range. */
static const char *const junk[] = {"",   "inf",   "-inf", "nan", "NaN", "infinity", "0x1p4", " 1",   "1 ",
				   "1x", "1.2.3", "e5",   "1e",  "1e+", "--1",      "+-1",   ".",    "1,5",
				   "0x", "++1",   "1e5x", "\t1", "1\n", "\x1b[2J",  "１",    "1_000"};

static void test_junk(void **state)
{
	struct umpa_err e = {0};
	double d;
	uint64_t u;
	int64_t s, ns;
	uint32_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		const char *t = junk[i];
		/* "0x1p4" is no hex number either: p is not a hex digit */
		assert_int_equal(umpa_num_real(&umpa_num_seconds, "--x", t, &d, &e), -1);
		assert_int_equal(e.code, UMPA_EINVAL);
		assert_non_null(strstr(e.msg, "--x: '"));
		assert_non_null(strstr(e.msg, "is not a number (seconds: 0 to 100000000)"));
		assert_int_equal(umpa_num_time(&umpa_num_epoch, "--t", t, &s, &n, &e), -1);
		assert_int_equal(e.code, UMPA_EINVAL);
		assert_int_equal(umpa_num_ns(&umpa_num_seconds, "--t", t, &ns, &e), -1);
		assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", t, &u, &e), -1);
		assert_int_equal(e.code, UMPA_EINVAL);
	}
	/* NULL text is empty text */
	assert_int_equal(umpa_num_real(&umpa_num_pps, "--rate", NULL, &d, &e), -1);
	assert_string_equal(e.msg,
			    "--rate: '' is not a number (packets per second: 0 for none, or 0.00000001 to 1000000000)");
}

struct real_case_ {
	const char *text;
	int ok;
	double v;
};

static void test_real(void **state)
{
	static const struct real_case_ pps[] = {
	    {"0", 1, 0},       {"-0", 1, 0},     {"1", 1, 1},       {"1e9", 1, 1e9},   {"1000000001", 0, 0},
	    {"1e-8", 1, 1e-8}, {"1e-9", 0, 0},   {"1e-300", 0, 0},  {"1e-400", 0, 0},  {"0e-400", 1, 0},
	    {"1e300", 0, 0},   {"1e400", 0, 0},  {"-1", 0, 0},      {"+2.5", 1, 2.5},  {".5", 1, 0.5},
	    {"5.", 1, 5},      {"2E3", 1, 2000}, {"000012", 1, 12}, {"-1e-400", 0, 0}, {"1e99999999999", 0, 0},
	};
	struct umpa_err e = {0};
	double d;

	(void)state;
	for (size_t i = 0; i < sizeof(pps) / sizeof(pps[0]); i++) {
		int r = umpa_num_real(&umpa_num_pps, "--rate", pps[i].text, &d, &e);
		if (r != (pps[i].ok ? 0 : -1))
			fail_msg("'%s': got %d (%s)", pps[i].text, r, e.msg);
		if (pps[i].ok) {
			assert_true(d == pps[i].v);
			assert_false(signbit(d));
		} else {
			assert_int_equal(e.code, UMPA_ERANGE);
			assert_non_null(strstr(e.msg,
					       "is out of range (packets per second: 0 for none, or 0.00000001 to "
					       "1000000000)"));
		}
	}
	umpa_num_real(&umpa_num_pps, "--rate", "inf", &d, &e);
	assert_string_equal(
	    e.msg, "--rate: 'inf' is not a number (packets per second: 0 for none, or 0.00000001 to 1000000000)");
	umpa_num_real(&umpa_num_seconds, "--interval", "1e300", &d, &e);
	assert_string_equal(e.msg, "--interval: '1e300' is out of range (seconds: 0 to 100000000)");
	/* a range the caller gives, and the echo is cut */
	assert_int_equal(umpa_num_real(UMPA_NUM_RANGE("probability", 0, 1, 0), "--loss", "1.0000001", &d, &e), -1);
	assert_string_equal(e.msg, "--loss: '1.0000001' is out of range (probability: 0 to 1)");
	assert_int_equal(umpa_num_real(&umpa_num_fraction, "--jitter", "0.25", &d, &e), 0);
	assert_true(d == 0.25);
	assert_int_equal(umpa_num_real(&umpa_num_fraction, "--jitter",
				       "0.0000000000000000000000000000000000000000000000000000001x", &d, &e),
			 -1);
	assert_string_equal(e.msg, "--jitter: '0.00000000000000000000000000000000000000...' is not a number "
				   "(a fraction: 0 to 1)");
	/* a whole-number spec through umpa_num_real */
	assert_int_equal(umpa_num_real(&umpa_num_count, "-c", "12", &d, &e), 0);
	assert_true(d == 12);
	assert_int_equal(umpa_num_real(&umpa_num_count, "-c", "1.5", &d, &e), -1);
	assert_string_equal(e.msg, "-c: '1.5' is not a whole number (a count: 0 to 1000000000000)");
}

static void test_u64(void **state)
{
	struct umpa_err e = {0};
	uint64_t u;

	(void)state;
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "010", &u, &e), 0);
	assert_int_equal(u, 10); /* never octal */
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "0x10", &u, &e), 0);
	assert_int_equal(u, 16);
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "+7", &u, &e), 0);
	assert_int_equal(u, 7);
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "-0", &u, &e), 0);
	assert_int_equal(u, 0);
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "1000000000000", &u, &e), 0);
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "1000000000001", &u, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_string_equal(e.msg, "-c: '1000000000001' is out of range (a count: 0 to 1000000000000)");
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "-1", &u, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "1e3", &u, &e), -1);
	assert_string_equal(e.msg, "-c: '1e3' is not a whole number (a count: 0 to 1000000000000)");
	assert_int_equal(umpa_num_u64(&umpa_num_count, "-c", "0xfg", &u, &e), -1);
	assert_int_equal(e.code, UMPA_EINVAL);
	/* 64-bit edges */
	assert_int_equal(umpa_num_u64(&umpa_num_seed, "--seed", "18446744073709551615", &u, &e), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(umpa_num_u64(&umpa_num_seed, "--seed", "0xffffffffffffffff", &u, &e), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(umpa_num_u64(&umpa_num_seed, "--seed", "18446744073709551616", &u, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_string_equal(
	    e.msg, "--seed: '18446744073709551616' is out of range (a whole number: 0 to 18446744073709551615)");
	assert_int_equal(umpa_num_u64(&umpa_num_seed, "--seed", "99999999999999999999999x", &u, &e), -1);
	assert_int_equal(e.code, UMPA_EINVAL);
	/* a range with a floor and 0 for "off" */
	assert_int_equal(
	    umpa_num_u64(UMPA_NUM_RANGE("bytes", 64, 65535, UMPA_NUM_INT | UMPA_NUM_OFF), "--mss", "0", &u, &e), 0);
	assert_int_equal(
	    umpa_num_u64(UMPA_NUM_RANGE("bytes", 64, 65535, UMPA_NUM_INT | UMPA_NUM_OFF), "--mss", "63", &u, &e), -1);
	assert_string_equal(e.msg, "--mss: '63' is out of range (bytes: 0 for none, or 64 to 65535)");
}

static void test_time(void **state)
{
	struct umpa_err e = {0};
	int64_t s, ns;
	uint32_t n;

	(void)state;
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "1700000000.123456789", &s, &n, &e), 0);
	assert_int_equal(s, 1700000000);
	assert_int_equal(n, 123456789);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "1.7e9", &s, &n, &e), 0);
	assert_int_equal(s, 1700000000);
	assert_int_equal(n, 0);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "17e-1", &s, &n, &e), 0);
	assert_int_equal(s, 1);
	assert_int_equal(n, 700000000);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "0.0000000019", &s, &n, &e), 0);
	assert_int_equal(s, 0);
	assert_int_equal(n, 1); /* the tenth digit is dropped */
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "1e-99999999", &s, &n, &e), 0);
	assert_int_equal(s, 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    umpa_num_time(&umpa_num_epoch, "--time", "0000000000000000000000000000000000001.5", &s, &n, &e), 0);
	assert_int_equal(s, 1);
	assert_int_equal(n, 500000000);
	/* the pcap bound: 2^32 - 1 seconds, inclusive, exactly */
	assert_int_equal(umpa_num_time(&umpa_num_epoch_pcap, "--time", "4294967295", &s, &n, &e), 0);
	assert_int_equal(s, 4294967295LL);
	assert_int_equal(umpa_num_time(&umpa_num_epoch_pcap, "--time", "4294967295.000000001", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(&umpa_num_epoch_pcap, "--time", "4294967296", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(&umpa_num_epoch_pcap, "--time", "5e9", &s, &n, &e), -1);
	assert_string_equal(e.msg, "--time: '5e9' is out of range (pcap seconds since 1970: 0 to 4294967295)");
	assert_int_equal(umpa_num_time(&umpa_num_epoch_pcapng, "--time", "1e12", &s, &n, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "9000000000", &s, &n, &e), 0);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "9000000000.000000001", &s, &n, &e), -1);
	assert_string_equal(e.msg,
			    "--time: '9000000000.000000001' is out of range (seconds since 1970: 0 to 9000000000)");
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "9223372036", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "1e300", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "99999999999999999999", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "-1", &s, &n, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "-1e-20", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(&umpa_num_epoch, "--time", "-0.0", &s, &n, &e), 0);
	/* fractional bounds */
	assert_int_equal(umpa_num_time(UMPA_NUM_RANGE("seconds", 0.5, 1.25, 0), "--x", "1.25", &s, &n, &e), 0);
	assert_int_equal(umpa_num_time(UMPA_NUM_RANGE("seconds", 0.5, 1.25, 0), "--x", "1.250000001", &s, &n, &e), -1);
	assert_int_equal(umpa_num_time(UMPA_NUM_RANGE("seconds", 0.5, 1.25, 0), "--x", "0.5", &s, &n, &e), 0);
	assert_int_equal(umpa_num_time(UMPA_NUM_RANGE("seconds", 0.5, 1.25, 0), "--x", "0.499999999", &s, &n, &e), -1);
	/* durations in ns, exactly */
	assert_int_equal(umpa_num_ns(&umpa_num_seconds, "--interval", "0.1", &ns, &e), 0);
	assert_int_equal(ns, 100000000);
	assert_int_equal(umpa_num_ns(&umpa_num_seconds, "--interval", "1e8", &ns, &e), 0);
	assert_int_equal(ns, 100000000000000000LL);
	assert_int_equal(umpa_num_ns(&umpa_num_seconds, "--interval", "100000000.000000001", &ns, &e), -1);
	assert_string_equal(e.msg, "--interval: '100000000.000000001' is out of range (seconds: 0 to 100000000)");
	assert_int_equal(umpa_num_ns(UMPA_NUM_RANGE("s", 0, 9223372035, 0), "--t", "9223372035", &ns, &e), 0);
	assert_int_equal(ns, 9223372035000000000LL);
	assert_int_equal(umpa_num_ns(UMPA_NUM_RANGE("s", 0, 9223372036.5, 0), "--t", "9223372036.5", &ns, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE); /* a spec past the contract still cannot overflow */
}

static void test_check(void **state)
{
	struct umpa_err e = {0};
	int64_t s;
	uint32_t n;

	(void)state;
	assert_int_equal(umpa_num_check(&umpa_num_seconds, "tls{time}", 1.5, &e), 0);
	assert_int_equal(umpa_num_check(&umpa_num_seconds, "tls{time}", INFINITY, &e), -1);
	assert_string_equal(e.msg, "tls{time}: inf is out of range (seconds: 0 to 100000000)");
	assert_int_equal(umpa_num_check(&umpa_num_seconds, "tls{time}", NAN, &e), -1);
	assert_int_equal(e.code, UMPA_EINVAL);
	assert_int_equal(umpa_num_check(&umpa_num_seconds, "x", -1e-300, &e), -1);
	assert_string_equal(e.msg, "x: -1e-300 is out of range (seconds: 0 to 100000000)");
	assert_int_equal(umpa_num_check(&umpa_num_fraction, "--loss", nextafter(1.0, 2.0), &e), -1);
	assert_string_equal(e.msg, "--loss: 1.0000000000000002 is out of range (a fraction: 0 to 1)");
	assert_int_equal(umpa_num_check(&umpa_num_pps, "rate", 0, &e), 0);
	assert_int_equal(umpa_num_check(&umpa_num_pps, "rate", 1e-9, &e), -1);
	assert_int_equal(umpa_num_check(&umpa_num_count, "count", 2.5, &e), -1);
	assert_int_equal(e.code, UMPA_EINVAL);
	assert_string_equal(e.msg, "count: 2.5 is not a whole number (a count: 0 to 1000000000000)");
	assert_int_equal(umpa_num_check_i64(&umpa_num_count, "count", 1000000000000LL, &e), 0);
	assert_int_equal(umpa_num_check_i64(&umpa_num_count, "count", 1000000000001LL, &e), -1);
	assert_string_equal(e.msg, "count: 1000000000001 is out of range (a count: 0 to 1000000000000)");
	assert_int_equal(umpa_num_check_i64(&umpa_num_count, "count", INT64_MIN, &e), -1);
	assert_int_equal(umpa_num_check_i64(&umpa_num_seed, "seed", INT64_MAX, &e), 0);
	assert_int_equal(umpa_num_check_time(&umpa_num_epoch, "tls{time}", 9.9e9, &s, &n, &e), -1);
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_int_equal(umpa_num_check_time(&umpa_num_epoch, "tls{time}", 1700000000.25, &s, &n, &e), 0);
	assert_int_equal(s, 1700000000);
	assert_int_equal(n, 250000000);
	assert_int_equal(umpa_num_check_time(&umpa_num_epoch_pcap, "t", 4294967295.9999999999, &s, &n, &e), -1);
	assert_int_equal(umpa_num_check_time(&umpa_num_seconds, "t", 0.9999999999, &s, &n, &e), 0);
	assert_int_equal(s, 0);
	assert_int_equal(n, 999999999); /* never a nanosecond field of 1e9 */
}

/*
 * Random text over the characters numbers are made of (a fixed splitmix64
 * seed: the same 200,000 strings every run).  Whatever is accepted must be in
 * range and agree with an independent reading of the same text: strtod for
 * reals and times, strtoull for whole numbers.
 */
static uint64_t rng_(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void test_random_text(void **state)
{
	static const char alpha[] = "0123456789000111999.eE+-xXinfa ";
	struct umpa_err e = {0};
	uint64_t seed = 9, u;
	unsigned accepted[3] = {0, 0, 0};
	char t[32];

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t n = rng_(&seed) % 24;
		double d;
		int64_t sec;
		uint32_t ns;
		for (size_t k = 0; k < n; k++)
			t[k] = alpha[rng_(&seed) % (sizeof(alpha) - 1)];
		t[n] = 0;
		if (umpa_num_real(&umpa_num_seconds, "x", t, &d, &e) == 0) {
			accepted[0]++;
			if (!(d >= 0 && d <= 1e8) || d != (strtod(t, NULL) == 0 ? 0 : strtod(t, NULL)))
				fail_msg("real '%s' -> %.17g", t, d);
		}
		if (umpa_num_time(&umpa_num_epoch, "x", t, &sec, &ns, &e) == 0) {
			double ref = strtod(t, NULL), got = (double)sec + ns / 1e9;
			accepted[1]++;
			if (sec < 0 || sec > 9000000000LL || ns >= 1000000000u ||
			    fabs(got - ref) > 1e-9 * (1 + ref) + 1e-9)
				fail_msg("time '%s' -> %lld.%09u, strtod %.17g", t, (long long)sec, ns, ref);
		}
		if (umpa_num_u64(&umpa_num_count, "x", t, &u, &e) == 0) {
			const char *p = t + (t[0] == '+' || t[0] == '-');
			int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
			accepted[2]++;
			if (u > 1000000000000ull || u != strtoull(hex ? p + 2 : p, NULL, hex ? 16 : 10))
				fail_msg("u64 '%s' -> %llu", t, (unsigned long long)u);
		}
	}
	/* the alphabet makes plenty of each kind: the checks above did run */
	assert_true(accepted[0] > 10000 && accepted[1] > 10000 && accepted[2] > 10000);
}

static void test_range_text(void **state)
{
	char b[160], tiny[8];

	(void)state;
	assert_string_equal(umpa_num_range_text(&umpa_num_bps, b, sizeof(b)),
			    "bits per second: 0 for none, or 1 to 1000000000000");
	assert_string_equal(umpa_num_range_text(&umpa_num_epoch_pcapng, b, sizeof(b)),
			    "pcapng seconds since 1970: 0 to 18446744072");
	assert_string_equal(umpa_num_range_text(UMPA_NUM_RANGE("s", 0.001, 2.5, 0), b, sizeof(b)), "s: 0.001 to 2.5");
	assert_string_equal(umpa_num_range_text(&umpa_num_bps, tiny, sizeof(tiny)), "bits pe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_junk),        cmocka_unit_test(test_real),  cmocka_unit_test(test_u64),
	    cmocka_unit_test(test_time),        cmocka_unit_test(test_check), cmocka_unit_test(test_range_text),
	    cmocka_unit_test(test_random_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
