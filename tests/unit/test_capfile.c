/* test_capfile.c - writing pcap and pcapng, reading them back, and broken files. */
#include <unistd.h>

#include "umpa_capfile.h"
#include "unit.h"

static char dir[] = "/tmp/umpa-capfile-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* Write three packets with nanosecond times, read them back. */
static void roundtrip(enum umpa_capfmt fmt, const char *name)
{
	char f[256];
	struct umpa_err e = {0};
	struct umpa_capw *w;
	struct umpa_capr *r;
	struct umpa_pkt p;
	uint8_t frame[64];

	path(f, sizeof(f), name);
	w = umpa_capw_open(f, fmt, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(w);
	umpa_pkt_init(&p);
	for (int i = 0; i < 3; i++) {
		memset(frame, i + 1, sizeof(frame));
		assert_int_equal(umpa_pkt_copy_from(&p, frame, (uint32_t)(20 + i), &e), 0);
		p.wirelen = 100;
		p.ts_sec = 1700000000 + i;
		p.ts_nsec = 123456789;
		p.comment = i == 1 ? "second packet" : NULL;
		assert_int_equal(umpa_capw_write(w, &p, &e), 0);
	}
	if (fmt == UMPA_CAP_PCAPNG) {
		static const char keys[] = "CLIENT_RANDOM 00 11\n";
		assert_int_equal(umpa_capw_secrets(w, UMPA_SECRETS_TLS_KEYLOG, keys, sizeof(keys) - 1, &e), 0);
	} else {
		assert_true(umpa_capw_secrets(w, UMPA_SECRETS_TLS_KEYLOG, "x", 1, &e) < 0);
		assert_int_equal(e.code, UMPA_ENOSYS);
	}
	assert_int_equal(umpa_capw_close(w, &e), 0);
	umpa_pkt_release(&p);

	r = umpa_capr_open(f, &e);
	assert_non_null(r);
	assert_int_equal(umpa_capr_linktype(r), 1);
	umpa_pkt_init(&p);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(umpa_capr_next(r, &p, &e), 1);
		assert_int_equal(p.len, 20 + i);
		assert_int_equal(p.wirelen, 100);
		assert_int_equal(p.data[0], i + 1);
		assert_int_equal(p.ts_sec, 1700000000 + i);
		/* pcap via libpcap keeps nanoseconds (nanosecond magic); pcapng has if_tsresol 9 */
		assert_int_equal(p.ts_nsec, 123456789);
	}
	assert_int_equal(umpa_capr_next(r, &p, &e), 0);
	umpa_capr_close(r);
	umpa_pkt_release(&p);
}

static void test_pcap(void **state)
{
	(void)state;
	roundtrip(UMPA_CAP_PCAP, "a.pcap");
}

static void test_pcapng(void **state)
{
	char f[256], cmd[512];
	FILE *fp;
	char line[256] = "";

	(void)state;
	roundtrip(UMPA_CAP_PCAPNG, "a.pcapng");
	if (system("command -v tshark >/dev/null 2>&1") != 0)
		return;
	/* an independent reader sees the comment and the nanosecond time */
	path(f, sizeof(f), "a.pcapng");
	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -T fields -e frame.comment -e frame.time_epoch 2>/dev/null | sed -n 2p", f);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	pclose(fp);
	assert_non_null(strstr(line, "second packet"));
	assert_non_null(strstr(line, "1700000001.123456789"));
}

/*
 * Timestamps: each format takes exactly what it holds (pcap: 32 unsigned bits
 * of seconds, read back unsigned; pcapng: 64 bits of nanoseconds) and refuses
 * the next second with an error, never a wrapped value.
 */
static void edges(enum umpa_capfmt fmt, const char *name, int64_t last, uint32_t last_ns)
{
	char f[256];
	struct umpa_err e = {0};
	struct umpa_capw *w;
	struct umpa_capr *r;
	struct umpa_pkt p;
	static const uint8_t frame[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x90, 0};
	const struct {
		int64_t sec;
		uint32_t nsec;
		int ok;
	} ts[] = {
	    {0, 0, 1},          {2147483648LL, 5, 1}, {last, last_ns, 1}, {last + 1, 0, 0},
	    {-1, 999999999, 0}, {5, 1000000000u, 0},  {INT64_MAX, 0, 0},  {INT64_MIN, 0, 0},
	};

	path(f, sizeof(f), name);
	w = umpa_capw_open(f, fmt, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(w);
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, frame, sizeof(frame), &e), 0);
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		p.ts_sec = ts[i].sec;
		p.ts_nsec = ts[i].nsec;
		umpa_err_clear(&e);
		if (ts[i].ok) {
			assert_int_equal(umpa_capw_write(w, &p, &e), 0);
		} else {
			assert_true(umpa_capw_write(w, &p, &e) < 0);
			assert_true(e.code == UMPA_ERANGE || e.code == UMPA_EINVAL);
			assert_non_null(strstr(e.msg, name));
		}
	}
	assert_int_equal(umpa_capw_close(w, &e), 0);
	umpa_pkt_release(&p);
	r = umpa_capr_open(f, &e);
	assert_non_null(r);
	umpa_pkt_init(&p);
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		if (!ts[i].ok)
			continue;
		assert_int_equal(umpa_capr_next(r, &p, &e), 1);
		assert_true(p.ts_sec == ts[i].sec);
		assert_int_equal(p.ts_nsec, ts[i].nsec);
	}
	assert_int_equal(umpa_capr_next(r, &p, &e), 0);
	umpa_capr_close(r);
	umpa_pkt_release(&p);
}

/* Decryption Secrets Blocks (which libpcap skips) reach umpa_capr_tls_keylog before the packets after them:
 * a small one, then one of 300 KB (across the reader's 256 KiB buffer) without a final newline. */
static void test_secrets(void **state)
{
	char f[256];
	struct umpa_err e = {0};
	struct umpa_capw *w;
	struct umpa_capr *r;
	struct umpa_pkt p;
	uint8_t frame[60] = {0};
	static const char k1[] = "CLIENT_RANDOM aa bb\n";
	static char k2[300000];
	const char *kt;
	size_t kn = 1;

	(void)state;
	memset(k2, 'x', sizeof(k2));
	memcpy(k2, "SERVER_TRAFFIC_SECRET_0 ", 24);
	path(f, sizeof(f), "s.pcapng");
	assert_non_null(w = umpa_capw_open(f, UMPA_CAP_PCAPNG, UMPA_LINKTYPE_ETHERNET, &e));
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, frame, sizeof(frame), &e), 0);
	assert_int_equal(umpa_capw_secrets(w, UMPA_SECRETS_TLS_KEYLOG, k1, sizeof(k1) - 1, &e), 0);
	assert_int_equal(umpa_capw_write(w, &p, &e), 0);
	assert_int_equal(umpa_capw_secrets(w, UMPA_SECRETS_TLS_KEYLOG, k2, sizeof(k2), &e), 0);
	assert_int_equal(umpa_capw_write(w, &p, &e), 0);
	assert_int_equal(umpa_capw_close(w, &e), 0);
	umpa_pkt_release(&p);

	assert_non_null(r = umpa_capr_open(f, &e));
	umpa_pkt_init(&p);
	assert_int_equal(umpa_capr_next(r, &p, &e), 1);
	kt = umpa_capr_tls_keylog(r, &kn);
	assert_true(kn >= sizeof(k1) - 1);
	assert_memory_equal(kt, k1, sizeof(k1) - 1);
	assert_int_equal(umpa_capr_next(r, &p, &e), 1);
	kt = umpa_capr_tls_keylog(r, &kn);
	assert_int_equal(kn, sizeof(k1) - 1 + sizeof(k2) + 1); /* a newline ends the second block's text */
	assert_memory_equal(kt + sizeof(k1) - 1, k2, sizeof(k2));
	assert_int_equal(kt[kn - 1], '\n');
	assert_int_equal(umpa_capr_next(r, &p, &e), 0);
	umpa_capr_close(r);
	umpa_pkt_release(&p);

	/* a pcap file has none */
	roundtrip(UMPA_CAP_PCAP, "s.pcap");
	path(f, sizeof(f), "s.pcap");
	assert_non_null(r = umpa_capr_open(f, &e));
	umpa_pkt_init(&p);
	while (umpa_capr_next(r, &p, &e) == 1)
		;
	assert_null(umpa_capr_tls_keylog(r, &kn));
	assert_int_equal(kn, 0);
	umpa_capr_close(r);
	umpa_pkt_release(&p);
}

static void test_ts_edges(void **state)
{
	struct umpa_err e = {0};
	struct umpa_capw *w;
	struct umpa_pkt p;
	char f[256];

	(void)state;
	edges(UMPA_CAP_PCAP, "edge.pcap", 4294967295LL, 999999999);
	edges(UMPA_CAP_PCAPNG, "edge.pcapng", 18446744073LL, 709551615); /* 2^64 - 1 ns */
	/* one nanosecond past pcapng's last */
	path(f, sizeof(f), "past.pcapng");
	w = umpa_capw_open(f, UMPA_CAP_PCAPNG, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(w);
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, (const uint8_t *)"0123456789abcd", 14, &e), 0);
	p.ts_sec = 18446744073LL;
	p.ts_nsec = 709551616;
	assert_int_equal(umpa_capw_write(w, &p, &e), -UMPA_ERANGE);
	assert_non_null(strstr(e.msg, "does not fit pcapng"));
	assert_int_equal(umpa_capw_close(w, &e), 0);
	umpa_pkt_release(&p);
}

static void write_bytes(const char *f, const void *b, size_t n)
{
	FILE *fp = fopen(f, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, n, fp), n);
	fclose(fp);
}

static void test_broken(void **state)
{
	char f[256], good[256];
	struct umpa_err e = {0};
	struct umpa_capr *r;
	struct umpa_pkt p;
	uint8_t buf[4096];
	size_t n;
	FILE *fp;

	(void)state;
	path(f, sizeof(f), "missing.pcap");
	assert_null(umpa_capr_open(f, &e));
	assert_int_equal(e.code, UMPA_ENOENT);
	assert_non_null(strstr(e.msg, "missing.pcap"));

	path(f, sizeof(f), "magic.pcap");
	write_bytes(f, "this is not a capture file at all", 33);
	assert_null(umpa_capr_open(f, &e));
	assert_non_null(strstr(e.msg, "magic.pcap"));
	assert_non_null(strstr(e.msg, "offset 0"));

	path(f, sizeof(f), "empty.pcap");
	write_bytes(f, "", 0);
	assert_null(umpa_capr_open(f, &e));
	assert_non_null(strstr(e.msg, "empty.pcap"));

	/* a good file cut in the middle of its third record */
	roundtrip(UMPA_CAP_PCAP, "good.pcap");
	path(good, sizeof(good), "good.pcap");
	fp = fopen(good, "rb");
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	path(f, sizeof(f), "cut.pcap");
	write_bytes(f, buf, n - 5);
	r = umpa_capr_open(f, &e);
	assert_non_null(r);
	umpa_pkt_init(&p);
	assert_int_equal(umpa_capr_next(r, &p, &e), 1);
	assert_int_equal(umpa_capr_next(r, &p, &e), 1);
	assert_true(umpa_capr_next(r, &p, &e) < 0);
	assert_int_equal(e.code, UMPA_ETRUNC);
	assert_non_null(strstr(e.msg, "cut.pcap"));
	/* 24-byte header, 16+20 and 16+21 byte records: the third record starts at 97 */
	assert_non_null(strstr(e.msg, "offset 97"));
	umpa_capr_close(r);

	/* a record whose caplen is absurd */
	memcpy(buf + 97 + 8, "\xff\xff\xff\x7f", 4);
	path(f, sizeof(f), "huge.pcap");
	write_bytes(f, buf, n);
	r = umpa_capr_open(f, &e);
	assert_non_null(r);
	assert_int_equal(umpa_capr_next(r, &p, &e), 1);
	assert_int_equal(umpa_capr_next(r, &p, &e), 1);
	assert_true(umpa_capr_next(r, &p, &e) < 0);
	assert_non_null(strstr(e.msg, "offset 97"));
	umpa_capr_close(r);
	umpa_pkt_release(&p);
}

static void test_filter(void **state)
{
	char f[256];
	struct umpa_err e = {0};
	struct umpa_capr *r;
	struct umpa_pkt p;
	int k = 0;

	(void)state;
	roundtrip(UMPA_CAP_PCAP, "f.pcap");
	path(f, sizeof(f), "f.pcap");
	r = umpa_capr_open(f, &e);
	assert_non_null(r);
	assert_true(umpa_capr_filter(r, "this is not bpf", &e) < 0);
	assert_non_null(strstr(e.msg, "this is not bpf"));
	assert_int_equal(umpa_capr_filter(r, "ether[0] == 2", &e), 0);
	umpa_pkt_init(&p);
	while (umpa_capr_next(r, &p, &e) == 1)
		k++;
	assert_int_equal(k, 1);
	umpa_capr_close(r);
	umpa_pkt_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pcap),   cmocka_unit_test(test_pcapng), cmocka_unit_test(test_ts_edges),
	    cmocka_unit_test(test_broken), cmocka_unit_test(test_filter), cmocka_unit_test(test_secrets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
