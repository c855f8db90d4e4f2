/* test_wiretap.c - real sockets' conversations as pcapng (sched/umpa_wiretap.h), read back with umpa's reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_packet.h"
#include "umpa_proxy.h"
#include "umpa_wiretap.h"
#include "unit.h"

static char dir[64];

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/umpa-wiretap.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];
	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static struct sockaddr_in sin4(const char *a, uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

/* What a file holds: packets, TCP flags seen, payload per source port, keys known at the first packet. */
struct seen {
	int packets, syn, fin, rst;
	char data[2][4096]; /* [0] from port a, [1] from port b */
	size_t len[2];
	char keys_at_first[1024];
	char keys_at_end[4096];
};

static void read_back(const char *file, uint16_t a, struct seen *s)
{
	struct umpa_err e = {0, ""};
	struct umpa_capr *r = umpa_capr_open(file, &e);
	struct umpa_pkt p;
	const char *k;
	size_t kn;
	int rc;
	assert_non_null(r);
	memset(s, 0, sizeof(*s));
	umpa_pkt_init(&p);
	while ((rc = umpa_capr_next(r, &p, &e)) > 0) {
		/* Ethernet 14, IPv4 20 (umpa's stream writes no IP options), TCP header */
		const uint8_t *b = p.data;
		size_t thl, pl;
		uint16_t sport;
		assert_true(p.len >= 54);
		thl = (size_t)(b[34 + 12] >> 4) * 4;
		sport = (uint16_t)(b[34] << 8 | b[35]);
		s->syn += (b[34 + 13] & 0x02) != 0;
		s->fin += (b[34 + 13] & 0x01) != 0;
		s->rst += (b[34 + 13] & 0x04) != 0;
		pl = p.len - 34 - thl;
		if (pl) {
			int i = sport == a ? 0 : 1;
			assert_true(s->len[i] + pl <= sizeof(s->data[i]));
			memcpy(s->data[i] + s->len[i], b + 34 + thl, pl);
			s->len[i] += pl;
		}
		if (!s->packets++ && (k = umpa_capr_tls_keylog(r, &kn)))
			snprintf(s->keys_at_first, sizeof(s->keys_at_first), "%.*s", (int)kn, k);
	}
	assert_int_equal(rc, 0);
	if ((k = umpa_capr_tls_keylog(r, &kn)))
		snprintf(s->keys_at_end, sizeof(s->keys_at_end), "%.*s", (int)kn, k);
	umpa_pkt_release(&p);
	umpa_capr_close(r);
}

/* A plaintext conversation: handshake, data both ways in order, FIN both ways. */
static void plain_conversation(void **st)
{
	struct umpa_err e = {0, ""};
	struct umpa_wtap *w = umpa_wtap_open(path("plain.pcapng"), &e);
	struct sockaddr_in c = sin4("127.0.0.1", 40000), s = sin4("127.0.0.2", 8080);
	struct umpa_wtap_conv *cv;
	struct seen x;
	(void)st;
	assert_non_null(w);
	cv = umpa_wtap_conv_new(w, (struct sockaddr *)&c, (struct sockaddr *)&s);
	assert_non_null(cv);
	umpa_wtap_conv_data(cv, 0, "GET / HTTP/1.0\r\n\r\n", 18);
	umpa_wtap_conv_data(cv, 1, "HTTP/1.0 200 OK\r\n\r\nhello", 24);
	umpa_wtap_conv_data(cv, 1, " world", 6);
	assert_false(umpa_wtap_conv_closed(cv));
	umpa_wtap_conv_fin(cv, 1);
	umpa_wtap_conv_data(cv, 1, "after FIN: not sent", 19);
	umpa_wtap_conv_fin(cv, 0);
	assert_true(umpa_wtap_conv_closed(cv));
	umpa_wtap_conv_free(cv);
	assert_true(umpa_wtap_packets(w) > 6);
	assert_int_equal(umpa_wtap_close(w, &e), 0);
	read_back(path("plain.pcapng"), 40000, &x);
	assert_int_equal(x.syn, 2);
	assert_int_equal(x.fin, 2);
	assert_int_equal(x.rst, 0);
	assert_int_equal(x.len[0], 18);
	assert_memory_equal(x.data[0], "GET / HTTP/1.0\r\n\r\n", 18);
	assert_int_equal(x.len[1], 30);
	assert_memory_equal(x.data[1], "HTTP/1.0 200 OK\r\n\r\nhello world", 30);
	assert_string_equal(x.keys_at_end, "");
}

/* A ClientHello-shaped record (type 22, handshake type 1) with random @p rnd. */
static size_t client_hello(uint8_t *b, uint8_t rnd)
{
	memset(b, 0, 64);
	b[0] = 22;
	b[1] = 3;
	b[2] = 1;
	b[4] = 59; /* record length */
	b[5] = 1;  /* ClientHello */
	b[8] = 55;
	b[9] = 3;
	b[10] = 3;
	memset(b + 11, rnd, 32);
	return 64;
}

/* A TLS conversation holds its packets until the key log names its client random; the keys come first. */
static void tls_keys_before_packets(void **st)
{
	struct umpa_err e = {0, ""};
	struct umpa_wtap *w = umpa_wtap_open(path("tls.pcapng"), &e);
	struct sockaddr_in c = sin4("10.1.1.1", 50000), s = sin4("10.1.1.2", 443);
	struct umpa_wtap_conv *cv;
	uint8_t ch[64];
	char line[200];
	struct seen x;
	(void)st;
	assert_non_null(w);
	cv = umpa_wtap_conv_new(w, (struct sockaddr *)&c, (struct sockaddr *)&s);
	umpa_wtap_conv_data(cv, 0, ch, client_hello(ch, 0xab));
	umpa_wtap_conv_data(cv, 1, "\x16\x03\x03\x00\x02hi", 7); /* "ServerHello" */
	assert_int_equal(umpa_wtap_packets(w), 0);               /* held */
	/* a key of another conversation, then a handshake key of this one: still held */
	umpa_wtap_secret(w, "CLIENT_TRAFFIC_SECRET_0 "
			    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd 00");
	umpa_wtap_secret(w, "SERVER_HANDSHAKE_TRAFFIC_SECRET "
			    "abababababababababababababababababababababababababababababababab 11");
	assert_int_equal(umpa_wtap_packets(w), 0);
	snprintf(line, sizeof(line), "CLIENT_TRAFFIC_SECRET_0 %s 22\n",
		 "abababababababababababababababababababababababababababababababab");
	umpa_wtap_secret(w, line);
	assert_true(umpa_wtap_packets(w) >= 5); /* released: handshake, both records, ACKs */
	umpa_wtap_conv_data(cv, 0, "\x17\x03\x03\x00\x01z", 6);
	umpa_wtap_conv_reset(cv, 1);
	umpa_wtap_conv_free(cv);
	assert_int_equal(umpa_wtap_close(w, &e), 0);
	read_back(path("tls.pcapng"), 50000, &x);
	unit_assert_contains(x.keys_at_first, "SERVER_HANDSHAKE_TRAFFIC_SECRET abab");
	unit_assert_contains(x.keys_at_first, "CLIENT_TRAFFIC_SECRET_0 abab");
	assert_int_equal(x.rst, 1);
	assert_int_equal(x.len[0], 70);
	assert_memory_equal(x.data[0], ch, 64);
}

/* STARTTLS: a ClientHello in the middle of a plaintext conversation holds its packets again. */
static void starttls_holds_again(void **st)
{
	struct umpa_err e = {0, ""};
	struct umpa_wtap *w = umpa_wtap_open(path("starttls.pcapng"), &e);
	struct sockaddr_in c = sin4("10.1.1.1", 50001), s = sin4("10.1.1.2", 25);
	struct umpa_wtap_conv *cv;
	uint8_t ch[64];
	uint64_t before;
	char line[200];
	(void)st;
	cv = umpa_wtap_conv_new(w, (struct sockaddr *)&c, (struct sockaddr *)&s);
	umpa_wtap_conv_data(cv, 1, "220 hi\r\n", 8);
	umpa_wtap_conv_data(cv, 0, "STARTTLS\r\n", 10); /* plaintext: written */
	assert_true(umpa_wtap_packets(w) > 0);
	umpa_wtap_conv_data(cv, 1, "220 go\r\n", 8);
	before = umpa_wtap_packets(w);
	client_hello(ch, 0x5a);
	umpa_wtap_conv_data(cv, 0, ch, 5); /* a TLS server reads the record header first */
	umpa_wtap_conv_data(cv, 0, ch + 5, sizeof(ch) - 5);
	umpa_wtap_conv_data(cv, 1, "\x16\x03\x03\x00\x02hi", 7);
	assert_true(umpa_wtap_packets(w) <= before + 2); /* at most the ACK of "220 go" went out */
	before = umpa_wtap_packets(w);
	snprintf(line, sizeof(line), "CLIENT_RANDOM %s 33",
		 "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	umpa_wtap_secret(w, line);
	assert_true(umpa_wtap_packets(w) > before);
	umpa_wtap_conv_free(cv);
	assert_int_equal(umpa_wtap_close(w, &e), 0);
}

static int got_sent[2];
static char got[2][64];

static void bio_cb(void *arg, int sent, const void *d, size_t n)
{
	assert_ptr_equal(arg, &got_sent);
	assert_true(n < sizeof(got[0]) - strlen(got[sent]));
	strncat(got[sent], d, n);
	got_sent[sent]++;
}

/* The tap BIO reports what a socket BIO reads and writes, and passes it on unchanged. */
static void tap_bio(void **st)
{
	int sv[2];
	char buf[32] = "";
	BIO *b;
	(void)st;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	b = umpa_wtap_bio(sv[0], bio_cb, &got_sent);
	assert_non_null(b);
	assert_int_equal(BIO_write(b, "ping", 4), 4);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 4);
	assert_int_equal(write(sv[1], "pong!", 5), 5);
	assert_int_equal(BIO_read(b, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "pong!", 5);
	assert_string_equal(got[1], "ping");
	assert_string_equal(got[0], "pong!");
	assert_int_equal(got_sent[0] + got_sent[1], 2);
	BIO_free(b);
	/* the socket stays open: the BIO does not own it */
	assert_int_equal(write(sv[0], "x", 1), 1);
	close(sv[0]);
	close(sv[1]);
}

/* The proxy's tap: two legs per connection; a connection that ends out of order ends with the proxy's RST. */
static void proxy_tap_legs(void **st)
{
	struct umpa_err e = {0, ""};
	struct umpa_wtap *w = umpa_wtap_open(path("proxy.pcapng"), &e);
	struct umpa_proxy_tap t;
	struct umpa_proxy_conn_info ci = {.id = 1};
	struct sockaddr_in cl = sin4("127.0.0.1", 41000), lis = sin4("127.0.0.1", 8080), up = sin4("127.0.0.1", 42000),
			   tg = sin4("127.0.0.1", 80);
	void *state = NULL;
	struct seen x;
	(void)st;
	umpa_wtap_proxy_tap(w, &t);
	t.leg(t.arg, &ci, &state, 0, (struct sockaddr *)&cl, (struct sockaddr *)&lis);
	t.leg(t.arg, &ci, &state, 1, (struct sockaddr *)&up, (struct sockaddr *)&tg);
	t.bytes(t.arg, state, 0, 0, "abc", 3);
	t.bytes(t.arg, state, 1, 0, "abc", 3);
	t.bytes(t.arg, state, 1, 1, "defg", 4);
	t.fin(t.arg, state, 1, 1);
	t.close(t.arg, state, 0); /* the client vanished before the answer reached it */
	assert_int_equal(umpa_wtap_close(w, &e), 0);
	read_back(path("proxy.pcapng"), 41000, &x);
	assert_int_equal(x.syn, 4);
	assert_int_equal(x.fin, 1);
	assert_int_equal(x.rst, 2); /* leg 0 by the proxy's side, leg 1 by the proxy (after the server's FIN) */
	assert_int_equal(x.len[0], 3);
	assert_int_equal(x.len[1], 7); /* "abc" from 42000 and "defg" from 80 */
}

static void open_fails(void **st)
{
	struct umpa_err e = {0, ""};
	(void)st;
	assert_null(umpa_wtap_open("/nonexistent-dir/x.pcapng", &e));
	unit_assert_contains(e.msg, "/nonexistent-dir/x.pcapng");
	assert_null(umpa_wtap_conv_new(NULL, NULL, NULL));
	umpa_wtap_conv_data(NULL, 0, "x", 1); /* no conversation: nothing happens */
	umpa_wtap_secret(NULL, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_conversation),   cmocka_unit_test(tls_keys_before_packets),
	    cmocka_unit_test(starttls_holds_again), cmocka_unit_test(tap_bio),
	    cmocka_unit_test(proxy_tap_legs),       cmocka_unit_test(open_fails),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
