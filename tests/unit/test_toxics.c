/* test_toxics.c - the toxics of sched/toxics.c through their proxy hooks, with no sockets:
 * each toxic's answer for chunks (delay, cut, drop, close, reset), toxicity, a match on the
 * client address and on the Host header, a schedule, attribute checks, and the UDP
 * impairment the toxics of a stream add up to; UDP sessions: a matched toxic in a session's own
 * impairment only, hooks (lua toxics) per datagram splitting and dropping pieces. */
#include <math.h>

#include "umpa_toxics.h"
#include "unit.h"

#define MS 1000000LL

struct fix {
	struct umpa_loop *loop;
	struct umpa_toxics *t;
	struct umpa_proxy_hooks h;
	void *st;
};

static void fix_open(struct fix *f, const char *src)
{
	struct umpa_err e = {0, ""};
	struct umpa_proxy_conn_info ci = {.id = 1};
	f->loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e);
	assert_non_null(f->loop);
	f->t = umpa_toxics_new(f->loop, 42, &e);
	assert_non_null(f->t);
	umpa_toxics_hooks(f->t, &f->h);
	snprintf(ci.src, sizeof(ci.src), "%s", src);
	assert_int_equal(f->h.open(f->h.arg, &ci, &f->st, &e), 0);
}

static void fix_close(struct fix *f)
{
	f->h.close(f->h.arg, f->st);
	umpa_toxics_free(f->t);
	umpa_loop_free(f->loop);
}

static void add(struct fix *f, const char *type, const char *name, enum umpa_proxy_dir dir, const char *attr, double v)
{
	struct umpa_toxic_def d;
	enum umpa_toxic_type ty;
	struct umpa_err e = {0, ""};
	assert_int_equal(umpa_toxic_type_parse(type, &ty), 0);
	umpa_toxic_def_init(&d, ty);
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.dir = dir;
	if (attr)
		assert_int_equal(umpa_toxic_def_attr(&d, attr, v, &e), 0);
	assert_int_equal(umpa_toxics_add(f->t, &d, &e), 0);
}

/* One chunk of @n bytes in direction @dir, arrived now. */
static struct umpa_proxy_out chunk(struct fix *f, enum umpa_proxy_dir dir, const uint8_t *in, size_t n)
{
	struct umpa_proxy_out o = umpa_proxy_out_forward(in, n, umpa_loop_now_ns(f->loop));
	struct umpa_err e = {0, ""};
	assert_int_equal(f->h.data(f->h.arg, f->st, dir, in, n, &o, &e), 0);
	return o;
}

static uint8_t buf[200000];

static void latency_and_toxicity(void **s)
{
	struct fix f;
	struct umpa_proxy_out o;
	struct umpa_toxic_def d;
	struct umpa_err e = {0, ""};
	(void)s;
	fix_open(&f, "127.0.0.1");
	add(&f, "latency", "lat", UMPA_PROXY_S2C, "latency", 200);
	o = chunk(&f, UMPA_PROXY_C2S, buf, 10); /* the other stream: untouched */
	assert_int_equal(o.delay_ns, 0);
	assert_int_equal(o.len, 10);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 10);
	assert_true(o.delay_ns > 195 * MS && o.delay_ns <= 200 * MS);
	assert_int_equal(o.len, 10);
	assert_int_equal(o.consumed, 10);
	fix_close(&f);
	/* toxicity 0: never applies */
	fix_open(&f, "127.0.0.1");
	add(&f, "latency", "lat", UMPA_PROXY_S2C, "latency", 200);
	d = *umpa_toxics_find(f.t, "lat");
	d.toxicity = 0;
	assert_int_equal(umpa_toxics_update(f.t, "lat", &d, &e), 0);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 10);
	assert_int_equal(o.delay_ns, 0);
	fix_close(&f);
}

static void bandwidth_slicer_limit(void **s)
{
	struct fix f;
	struct umpa_proxy_out o;
	size_t total = 0;
	(void)s;
	fix_open(&f, "127.0.0.1");
	add(&f, "bandwidth", "bw", UMPA_PROXY_S2C, "rate", 100); /* 100 KB/s: 10,000 bytes per 100 ms */
	o = chunk(&f, UMPA_PROXY_S2C, buf, 65536);
	assert_int_equal(o.len, 10000);
	assert_int_equal(o.consumed, 10000);
	assert_true(o.delay_ns > 90 * MS && o.delay_ns <= 100 * MS);
	fix_close(&f);

	fix_open(&f, "127.0.0.1");
	add(&f, "slicer", "sl", UMPA_PROXY_S2C, "average_size", 100);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 1000);
	assert_int_equal(o.len, 100);
	assert_int_equal(o.consumed, 100);
	fix_close(&f);

	fix_open(&f, "127.0.0.1");
	add(&f, "limit_data", "ld", UMPA_PROXY_C2S, "bytes", 2500);
	for (int i = 0; i < 3; i++) {
		o = chunk(&f, UMPA_PROXY_C2S, buf, 1000);
		total += o.len;
		assert_int_equal(o.action, i < 2 ? UMPA_PROXY_FORWARD : UMPA_PROXY_CLOSE);
	}
	assert_int_equal(total, 2500);
	fix_close(&f);
}

static void drops_and_resets(void **s)
{
	struct fix f;
	struct umpa_proxy_out o;
	(void)s;
	fix_open(&f, "127.0.0.1");
	add(&f, "timeout", "to", UMPA_PROXY_S2C, "timeout", 0);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 100);
	assert_int_equal(o.len, 0);
	assert_int_equal(o.consumed, 100);
	fix_close(&f);

	fix_open(&f, "127.0.0.1");
	add(&f, "reset_peer", "rp", UMPA_PROXY_S2C, "timeout", 0);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 100);
	assert_int_equal(o.action, UMPA_PROXY_RESET);
	fix_close(&f);

	fix_open(&f, "127.0.0.1");
	add(&f, "packet_loss", "pl", UMPA_PROXY_S2C, "loss_rate", 1);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 100);
	assert_int_equal(o.len, 0);
	fix_close(&f);

	fix_open(&f, "127.0.0.1");
	add(&f, "slow_close", "sc", UMPA_PROXY_S2C, "delay", 300);
	assert_int_equal(f.h.eof_delay(f.h.arg, f.st, UMPA_PROXY_S2C), 300 * MS);
	assert_int_equal(f.h.eof_delay(f.h.arg, f.st, UMPA_PROXY_C2S), 0);
	fix_close(&f);
}

static void match_and_schedule(void **s)
{
	struct fix f;
	struct umpa_proxy_out o;
	struct umpa_toxic_def d;
	struct umpa_err e = {0, ""};
	static const char req[] = "GET / HTTP/1.1\r\nHost: slow.test:8080\r\n\r\n";
	(void)s;
	/* client prefix: 127.0.0.2 is in 127.0.0.0/31, 127.0.0.3 not in 127.0.0.2/32 */
	for (int k = 0; k < 2; k++) {
		fix_open(&f, k ? "127.0.0.3" : "127.0.0.2");
		umpa_toxic_def_init(&d, UMPA_TOXIC_LATENCY);
		snprintf(d.name, sizeof(d.name), "m");
		d.attr[0] = 100;
		snprintf(d.match_client, sizeof(d.match_client), "127.0.0.2/32");
		assert_int_equal(umpa_toxics_add(f.t, &d, &e), 0);
		o = chunk(&f, UMPA_PROXY_S2C, buf, 10);
		assert_int_equal(o.delay_ns > 0, !k);
		fix_close(&f);
	}
	/* Host: known from the client's first bytes */
	fix_open(&f, "127.0.0.1");
	umpa_toxic_def_init(&d, UMPA_TOXIC_LATENCY);
	snprintf(d.name, sizeof(d.name), "h");
	d.attr[0] = 100;
	snprintf(d.match_host, sizeof(d.match_host), "slow.test");
	assert_int_equal(umpa_toxics_add(f.t, &d, &e), 0);
	chunk(&f, UMPA_PROXY_C2S, (const uint8_t *)req, sizeof(req) - 1);
	o = chunk(&f, UMPA_PROXY_S2C, buf, 10);
	assert_true(o.delay_ns > 90 * MS);
	fix_close(&f);
	/* a schedule that starts in an hour: not active now, and not in the UDP impairment */
	fix_open(&f, "127.0.0.1");
	umpa_toxic_def_init(&d, UMPA_TOXIC_LATENCY);
	snprintf(d.name, sizeof(d.name), "later");
	d.attr[0] = 100;
	d.has_schedule = 1;
	d.start_ms = 3600000;
	assert_int_equal(umpa_toxics_add(f.t, &d, &e), 0);
	assert_true(umpa_toxics_scheduled(f.t));
	o = chunk(&f, UMPA_PROXY_S2C, buf, 10);
	assert_int_equal(o.delay_ns, 0);
	fix_close(&f);
}

static void udp_impairment(void **s)
{
	struct fix f;
	struct umpa_impair_cfg c;
	(void)s;
	fix_open(&f, "127.0.0.1");
	add(&f, "packet_loss", "a", UMPA_PROXY_C2S, "loss_rate", 0.3);
	add(&f, "packet_loss", "b", UMPA_PROXY_C2S, "loss_rate", 0.5);
	add(&f, "latency", "l", UMPA_PROXY_C2S, "latency", 40);
	add(&f, "duplicate", "d", UMPA_PROXY_S2C, "probability", 0.25);
	umpa_toxics_impair_cfg(f.t, UMPA_PROXY_C2S, &c);
	assert_true(fabs(c.loss - 0.65) < 1e-9); /* 1 - 0.7 * 0.5 */
	assert_true(fabs(c.delay - 0.040) < 1e-9);
	assert_true(c.dup == 0);
	umpa_toxics_impair_cfg(f.t, UMPA_PROXY_S2C, &c);
	assert_true(fabs(c.dup - 0.25) < 1e-9);
	assert_true(c.loss == 0);
	assert_int_equal(umpa_toxics_remove(f.t, "a"), 0);
	assert_int_equal(umpa_toxics_remove(f.t, "a"), -UMPA_ENOENT);
	umpa_toxics_impair_cfg(f.t, UMPA_PROXY_C2S, &c);
	assert_true(fabs(c.loss - 0.5) < 1e-9);
	fix_close(&f);
}

/* Two C hooks as lua toxics would be: split a datagram in two pieces, drop a piece "c". */
static int split_data(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		      struct umpa_proxy_out *out, struct umpa_err *e)
{
	(void)arg, (void)state, (void)dir, (void)in, (void)n, (void)e;
	out->data = "abc";
	out->len = 3;
	return 0;
}

static unsigned split_parts(void *arg, void *state, const size_t **lens)
{
	static const size_t parts[2] = {2, 1};
	(void)arg, (void)state;
	*lens = parts;
	return 2;
}

static int drop_c(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		  struct umpa_proxy_out *out, struct umpa_err *e)
{
	(void)arg, (void)state, (void)dir, (void)e;
	out->len = n == 1 && in[0] == 'c' ? 0 : n;
	return 0;
}

static void udp_sessions(void **s)
{
	struct umpa_err e = {0, ""};
	struct umpa_loop *loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e);
	struct umpa_toxics *t = umpa_toxics_new(loop, 7, &e);
	struct umpa_proxy_hooks h, hs = {0}, hd = {0};
	struct umpa_proxy_conn_info a = {.id = 1, .src = "10.0.3.4"}, b = {.id = 2, .src = "10.1.3.4"};
	struct umpa_proxy_out o = {0};
	const size_t *lens = NULL;
	struct umpa_toxic_def d;
	struct umpa_impair_cfg c;
	void *sa, *sb;
	(void)s;
	umpa_toxics_udp_hooks(t, &h);
	assert_int_equal(h.open(h.arg, &a, &sa, &e), 0);
	assert_int_equal(h.open(h.arg, &b, &sb, &e), 0);
	umpa_toxic_def_init(&d, UMPA_TOXIC_PACKET_LOSS);
	snprintf(d.name, sizeof(d.name), "all");
	d.dir = UMPA_PROXY_C2S;
	d.attr[0] = 0.4;
	assert_int_equal(umpa_toxics_add(t, &d, &e), 0);
	snprintf(d.name, sizeof(d.name), "some");
	snprintf(d.match_client, sizeof(d.match_client), "10.0.0.0/16");
	d.attr[0] = 0.5;
	assert_int_equal(umpa_toxics_add(t, &d, &e), 0);
	umpa_toxics_impair_cfg(t, UMPA_PROXY_C2S, &c); /* shared: the unmatched toxic only */
	assert_true(fabs(c.loss - 0.4) < 1e-9);
	assert_int_equal(umpa_toxics_session_cfg(t, sa, 0, &c), 1);
	assert_true(fabs(c.loss - 0.7) < 1e-9); /* 1 - 0.6 * 0.5 */
	assert_int_equal(umpa_toxics_session_cfg(t, sb, 0, &c), 0);
	assert_int_equal(umpa_toxics_session_cfg(t, sa, 1, &c), 0);
	/* hooks per datagram: split, then the piece "c" dropped, for the matched session only */
	hs.data = split_data;
	hs.parts = split_parts;
	hd.data = drop_c;
	umpa_toxic_def_init(&d, UMPA_TOXIC_HOOKS);
	d.dir = UMPA_PROXY_C2S;
	snprintf(d.name, sizeof(d.name), "split");
	snprintf(d.match_client, sizeof(d.match_client), "10.0.3.4");
	assert_int_equal(umpa_toxics_add_hooks(t, &d, &hs, &e), 0);
	snprintf(d.name, sizeof(d.name), "dropc");
	assert_int_equal(umpa_toxics_add_hooks(t, &d, &hd, &e), 0);
	assert_int_equal(h.data(h.arg, sa, UMPA_PROXY_C2S, (const uint8_t *)"xyz", 3, &o, &e), 0);
	assert_int_equal(h.parts(h.arg, sa, &lens), 1);
	assert_int_equal(o.len, 2);
	assert_memory_equal(o.data, "ab", 2);
	assert_int_equal(umpa_toxics_remove(t, "dropc"), 0);
	assert_int_equal(h.data(h.arg, sa, UMPA_PROXY_C2S, (const uint8_t *)"xyz", 3, &o, &e), 0);
	assert_int_equal(h.parts(h.arg, sa, &lens), 2); /* split, nothing dropped: two datagrams */
	assert_int_equal(lens[0], 2);
	assert_int_equal(lens[1], 1);
	assert_memory_equal(o.data, "abc", 3);
	assert_int_equal(h.data(h.arg, sb, UMPA_PROXY_C2S, (const uint8_t *)"xyz", 3, &o, &e), 0);
	assert_int_equal(o.len, 3); /* not matched: as it came */
	assert_int_equal(h.parts(h.arg, sb, &lens), 0);
	assert_int_equal(h.data(h.arg, sa, UMPA_PROXY_S2C, (const uint8_t *)"xyz", 3, &o, &e), 0);
	assert_int_equal(o.len, 3); /* the other stream */
	h.close(h.arg, sa);
	h.close(h.arg, sb);
	umpa_toxics_free(t);
	umpa_loop_free(loop);
}

static void bad_definitions(void **s)
{
	struct umpa_toxic_def d;
	struct umpa_err e = {0, ""};
	enum umpa_toxic_type ty;
	(void)s;
	assert_int_equal(umpa_toxic_type_parse("nosuch", &ty), -UMPA_ENOENT);
	umpa_toxic_def_init(&d, UMPA_TOXIC_LATENCY);
	assert_int_equal(umpa_toxic_def_attr(&d, "latencyy", 1, &e), -UMPA_ENOENT);
	assert_non_null(strstr(e.msg, "(latency, jitter)"));
	assert_int_equal(umpa_toxic_def_attr(&d, "latency", -1, &e), -UMPA_ERANGE);
	assert_int_equal(umpa_toxic_def_attr(&d, "latency", 1.5, &e), -UMPA_ERANGE);
	umpa_toxic_def_init(&d, UMPA_TOXIC_PACKET_LOSS);
	assert_true(fabs(d.attr[0] - 0.1) < 1e-9); /* Toxiproxy #739's default */
	assert_int_equal(umpa_toxic_def_attr(&d, "loss_rate", 1.01, &e), -UMPA_ERANGE);
	d.toxicity = 2;
	assert_int_equal(umpa_toxic_def_check(&d, &e), -UMPA_ERANGE);
	d.toxicity = 1;
	snprintf(d.match_client, sizeof(d.match_client), "10.0.0.0/33");
	assert_int_equal(umpa_toxic_def_check(&d, &e), -UMPA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(latency_and_toxicity), cmocka_unit_test(bandwidth_slicer_limit),
	    cmocka_unit_test(drops_and_resets),     cmocka_unit_test(match_and_schedule),
	    cmocka_unit_test(udp_impairment),       cmocka_unit_test(bad_definitions),
	    cmocka_unit_test(udp_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
