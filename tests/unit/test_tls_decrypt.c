/* test_tls_decrypt.c - the reassembler's TLS 1.3 decryption (protocols/tls_decrypt.c, protocols/tcp_reasm.c) on
 * conversations the TLS pump writes: 0-RTT early data (with and without its secret in the key log) and
 * handshake messages split over encrypted records.  Fast and without tshark, so the sanitizer build runs the
 * new paths; tests/oracle/tls_decrypt.sh compares the same cases, and real peers, with tshark.
 */
#include "umpa_packet.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"
#include "umpa_tls.h"
#include "unit.h"

/* The packets of one umpa_tls_run, and its key log. */
static struct {
	struct umpa_pkt *pk;
	size_t n, cap;
} g;

static int collect(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	(void)arg;
	(void)comment;
	(void)e;
	if (g.n == g.cap) {
		g.cap = g.cap ? g.cap * 2 : 64;
		g.pk = realloc(g.pk, g.cap * sizeof(*g.pk));
		assert_non_null(g.pk);
	}
	umpa_pkt_init(&g.pk[g.n]);
	assert_int_equal(umpa_pkt_dup(&g.pk[g.n], p, NULL), 0);
	g.pk[g.n].comment = NULL;
	g.n++;
	return 0;
}

static void release(void)
{
	for (size_t i = 0; i < g.n; i++)
		umpa_pkt_release(&g.pk[i]);
	free(g.pk);
	memset(&g, 0, sizeof(g));
}

/* The key log lines of @p k that contain @p label (@p with 1) or that do not (@p with 0) into @p out; all of
 * them when @p label is NULL. */
static void keylog_lines(const char *k, size_t klen, const char *label, int with, struct umpa_sbuf *out)
{
	for (const char *l = k; l < k + klen;) {
		const char *nl = memchr(l, '\n', (size_t)(k + klen - l));
		size_t ll = nl ? (size_t)(nl - l) + 1 : (size_t)(k + klen - l);
		if (!label || (memmem(l, ll, label, strlen(label)) != NULL) == with)
			umpa_sbuf_put(out, l, ll);
		l += ll;
	}
}

/* Run @p o, then show every packet as `umpa show` does with the run's key log, less the lines that contain
 * @p drop (NULL: none), into @p out.  Returns the number of conversations. */
static int show_run(struct umpa_tls_opts *o, const char *drop, struct umpa_sbuf *out)
{
	struct umpa_err e = {0};
	struct umpa_tls *t = umpa_tls_new(o, &e);
	struct umpa_reasm *r;
	struct umpa_render_opts ro = {0};
	struct umpa_sbuf kl = {0};
	const char *k;
	size_t klen = 0;
	int n;

	if (!t)
		fail_msg("umpa_tls_new: %s", e.msg);
	n = umpa_tls_run(t, collect, NULL, NULL, 0, &e);
	if (n < 0)
		fail_msg("umpa_tls_run: %s", e.msg);
	k = umpa_tls_keylog(t, &klen);
	assert_non_null(k);
	keylog_lines(k, klen, drop, 0, &kl); /* the key log less the lines naming @p drop */
	r = umpa_reasm_open(NULL, &e);
	assert_non_null(r);
	assert_true(umpa_reasm_keylog(r, kl.s, kl.len, &e) > 0);
	for (size_t i = 0; i < g.n; i++) {
		umpa_dissect(&g.pk[i]);
		ro.number = i + 1;
		umpa_reasm_show(r, &g.pk[i], i + 1, UMPA_REASM_LINE, &ro, out);
	}
	umpa_reasm_close(r);
	umpa_tls_free(t);
	umpa_sbuf_free(&kl);
	release();
	return n;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

static const char req[] = "GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n";
static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
static const char early[] = "GET /early HTTP/1.1\r\nHost: a.test\r\n\r\n";

static void opts(struct umpa_tls_opts *o, const char *key_type)
{
	umpa_tls_opts_init(o);
	o->side[UMPA_TCPS_CLIENT].data = req;
	o->side[UMPA_TCPS_CLIENT].data_len = sizeof(req) - 1;
	o->side[UMPA_TCPS_SERVER].data = resp;
	o->side[UMPA_TCPS_SERVER].data_len = sizeof(resp) - 1;
	o->side[UMPA_TCPS_CLIENT].max_version = "1.3";
	o->side[UMPA_TCPS_CLIENT].key_type = o->side[UMPA_TCPS_SERVER].key_type = key_type;
	o->tcp.seed = 11;
}

/* 0-RTT: the early request decrypted with CLIENT_EARLY_TRAFFIC_SECRET (its suite found by trial), then
 * EndOfEarlyData, and the client's Finished with its handshake keys; every record decrypts. */
static void test_early_data(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_sbuf out = {0};

	(void)state;
	opts(&o, "ec:P-256");
	o.early_data = early;
	o.early_len = sizeof(early) - 1;
	o.resume = UMPA_TLS_RESUME_TICKET;
	assert_int_equal(show_run(&o, NULL, &out), 2);
	unit_assert_contains(out.s, "[decrypted 0-RTT: HTTP: GET /early HTTP/1.1]");
	unit_assert_contains(out.s, "[decrypted 0-RTT: TLSv1.3 End of Early Data] [decrypted: TLSv1.3 Finished]");
	assert_int_equal(count(out.s, "decrypted: HTTP: GET /index.html"), 2);
	assert_int_equal(count(out.s, "decrypted: HTTP: HTTP/1.1 200 OK"), 2);
	unit_assert_lacks(out.s, "cannot decrypt");
	umpa_sbuf_free(&out);
}

/* Without the early secret: the two early records say why, and the handshake and application records after
 * them still decrypt (the early epoch's failures do not move the handshake keys' sequence numbers). */
static void test_early_data_no_secret(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_sbuf out = {0};

	(void)state;
	opts(&o, "ec:P-256");
	o.early_data = early;
	o.early_len = sizeof(early) - 1;
	o.resume = UMPA_TLS_RESUME_TICKET;
	assert_int_equal(show_run(&o, "CLIENT_EARLY_TRAFFIC_SECRET", &out), 2);
	assert_int_equal(count(out.s, "cannot decrypt"), 2);
	assert_int_equal(count(out.s, "cannot decrypt: no CLIENT_EARLY_TRAFFIC_SECRET in the key log"), 2);
	assert_int_equal(count(out.s, "decrypted: HTTP: GET /index.html"), 2);
	assert_int_equal(count(out.s, "decrypted: HTTP: HTTP/1.1 200 OK"), 2);
	unit_assert_lacks(out.s, "0-RTT");
	umpa_sbuf_free(&out);
}

/* A 2048-bit RSA Certificate and CertificateVerify in 512-byte encrypted records: fragments said so, the whole
 * messages shown after the record that ends them, the keys changed after the Finished (application data
 * decrypts). */
static void test_split_handshake(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_sbuf out = {0};

	(void)state;
	opts(&o, "rsa:2048");
	o.side[UMPA_TCPS_CLIENT].max_record = o.side[UMPA_TCPS_SERVER].max_record = 512;
	assert_int_equal(show_run(&o, NULL, &out), 1);
	unit_assert_contains(out.s, "[decrypted: TLSv1.3 [Certificate Fragment]]");
	unit_assert_contains(out.s, "[decrypted: TLSv1.3 Certificate] [reassembled: TLSv1.3 Certificate]");
	assert_int_equal(count(out.s, "[reassembled: TLSv1.3 Certificate]"), 1);
	assert_int_equal(count(out.s, "[decrypted: TLSv1.3 Finished]"), 2);
	unit_assert_contains(out.s, "decrypted: HTTP: GET /index.html");
	unit_assert_contains(out.s, "decrypted: HTTP: HTTP/1.1 200 OK");
	unit_assert_lacks(out.s, "cannot decrypt");
	unit_assert_lacks(out.s, "Encrypted Handshake Message");
	umpa_sbuf_free(&out);
}

static int has_tls(const struct umpa_pkt *p)
{
	for (unsigned i = 0; i < p->nlayers; i++)
		if (p->l[i].proto == &umpa_proto_tls)
			return 1;
	return 0;
}

/* umpa_reasm_keys_missing, as `umpa sniff --keylog` asks it of each packet before showing it: a TCP packet
 * without TLS needs nothing; with the key log still empty the ClientHello waits; once a secret is known it
 * goes at once (it teaches the client random); the server's flight waits until the traffic secrets are
 * there too.  Both directions get the same connection number; a UDP datagram gets none. */
static void test_keys_missing(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct umpa_tls *t;
	struct umpa_reasm *r;
	struct umpa_sbuf kl = {0};
	struct umpa_pkt u;
	const char *k;
	size_t klen = 0, ch = 0, sh = 0;
	uint64_t conn0 = 0, conn = 0;

	(void)state;
	opts(&o, "ec:P-256");
	t = umpa_tls_new(&o, &e);
	assert_non_null(t);
	assert_int_equal(umpa_tls_run(t, collect, NULL, NULL, 0, &e), 1);
	k = umpa_tls_keylog(t, &klen);
	assert_non_null(k);
	for (size_t i = 0; i < g.n; i++)
		umpa_dissect(&g.pk[i]);
	while (ch < g.n && !has_tls(&g.pk[ch]))
		ch++;
	for (sh = ch + 1; sh < g.n && !has_tls(&g.pk[sh]); sh++)
		;
	assert_true(ch > 0 && sh < g.n);
	r = umpa_reasm_open(NULL, &e);
	assert_non_null(r);
	assert_int_equal(umpa_reasm_keylog(r, "", 0, &e), 0); /* the file exists, empty */

	assert_int_equal(umpa_reasm_keys_missing(r, &g.pk[0], &conn0), 0); /* the SYN */
	assert_true(conn0 != 0);
	assert_int_equal(umpa_reasm_keys_missing(r, &g.pk[ch], &conn), 1);
	assert_true(conn == conn0);

	keylog_lines(k, klen, "HANDSHAKE_TRAFFIC_SECRET", 1, &kl);
	assert_int_equal(umpa_reasm_keylog(r, kl.s, kl.len, &e), 2);
	assert_int_equal(umpa_reasm_keys_missing(r, &g.pk[ch], &conn), 0);
	for (size_t i = 0; i <= ch; i++)
		umpa_reasm_feed(r, &g.pk[i], i + 1);
	assert_int_equal(umpa_reasm_keys_missing(r, &g.pk[sh], &conn), 1); /* no traffic secrets yet */
	assert_true(conn == conn0);                                        /* the other direction */

	umpa_sbuf_reset(&kl);
	keylog_lines(k, klen, NULL, 1, &kl);
	assert_true(umpa_reasm_keylog(r, kl.s, kl.len, &e) > 0);
	assert_int_equal(umpa_reasm_keys_missing(r, &g.pk[sh], &conn), 0);

	unit_build_ip(&u, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_udp);
	unit_finish(&u);
	umpa_dissect(&u);
	assert_int_equal(umpa_reasm_keys_missing(r, &u, &conn), 0);
	assert_true(conn == 0);
	assert_int_equal(umpa_reasm_keys_missing(NULL, &g.pk[sh], &conn), 0);
	umpa_pkt_release(&u);
	umpa_reasm_close(r);
	umpa_tls_free(t);
	umpa_sbuf_free(&kl);
	release();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_early_data),
	    cmocka_unit_test(test_early_data_no_secret),
	    cmocka_unit_test(test_split_handshake),
	    cmocka_unit_test(test_keys_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
