/* test_tls_live.c - the live server side of the TLS pump (umpa_tls_live) against a real OpenSSL client.
 *
 * The client is OpenSSL's own (TLS_client_method on memory BIOs), not the
 * pump's: bytes go from it into umpa_tls_live_input and what the session
 * writes goes back, as a TCP endpoint would carry them.  Checked: the
 * handshake and its report (version, ALPN, SNI, the self-signed generated
 * certificate), the key log lines equal the client's own, data both ways
 * (written before the handshake completed too), close_notify both ways, and
 * a failing handshake (no shared version) ends with an alert and the FAILED
 * event, not an error.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "umpa_tls.h"
#include "unit.h"

struct side {
	BIO *to_client; /* what the server wrote, for the client to read */
	char keylog[8192];
	size_t klen;
	char got[256];
	size_t ngot;
	int handshakes, failed, closes;
};

static int out_cb(void *arg, const uint8_t *d, size_t n, struct umpa_err *e)
{
	struct side *s = arg;

	(void)e;
	assert_int_equal(BIO_write(s->to_client, d, (int)n), (int)n);
	return 0;
}

static void data_cb(void *arg, const uint8_t *d, size_t n)
{
	struct side *s = arg;

	assert_true(s->ngot + n < sizeof(s->got));
	memcpy(s->got + s->ngot, d, n);
	s->ngot += n;
}

static void event_cb(void *arg, enum umpa_tls_live_event ev)
{
	struct side *s = arg;

	if (ev == UMPA_TLS_LIVE_HANDSHAKE)
		s->handshakes++;
	else if (ev == UMPA_TLS_LIVE_FAILED)
		s->failed++;
	else if (ev == UMPA_TLS_LIVE_CLOSE_NOTIFY)
		s->closes++;
}

static void keylog_cb(void *arg, const char *line)
{
	struct side *s = arg;
	size_t n = strlen(line);

	assert_true(s->klen + n + 1 < sizeof(s->keylog));
	memcpy(s->keylog + s->klen, line, n);
	s->keylog[s->klen + n] = '\n';
	s->klen += n + 1;
}

static char client_keys[8192];
static size_t client_klen;

static void client_keylog(const SSL *ssl, const char *line)
{
	size_t n = strlen(line);

	(void)ssl;
	assert_true(client_klen + n + 1 < sizeof(client_keys));
	memcpy(client_keys + client_klen, line, n);
	client_keys[client_klen + n] = '\n';
	client_klen += n + 1;
}

/* Move the client's output into the session until neither side has anything left. */
static void pump(SSL *cl, BIO *from_client, struct umpa_tls_live *l)
{
	uint8_t buf[16384];
	struct umpa_err e = {0};

	for (int i = 0; i < 50; i++) {
		int n = BIO_read(from_client, buf, sizeof(buf));
		if (n <= 0)
			return;
		assert_int_equal(umpa_tls_live_input(l, buf, (size_t)n, &e), 0);
		(void)cl;
	}
}

static SSL *client_new(SSL_CTX *ctx, BIO **to_server, BIO *from_server)
{
	SSL *cl = SSL_new(ctx);

	*to_server = BIO_new(BIO_s_mem());
	assert_non_null(cl);
	BIO_up_ref(from_server);
	SSL_set_bio(cl, from_server, *to_server);
	BIO_up_ref(*to_server);
	SSL_set_connect_state(cl);
	return cl;
}

static void test_live_handshake_data_close(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct umpa_tls *t;
	struct umpa_tls_live *l;
	struct side s = {0};
	struct umpa_tls_live_cbs cb = {out_cb, data_cb, event_cb, keylog_cb, &s};
	const struct umpa_tls_report *r;
	SSL_CTX *cctx;
	SSL *cl;
	BIO *to_server;
	char buf[256];
	size_t n = 0;
	const unsigned char alpn[] = "\x08http/1.1";

	(void)state;
	umpa_tls_opts_init(&o);
	o.sni = "live.umpa.test";
	o.self_signed = 1;
	o.side[UMPA_TCPS_SERVER].key_type = "ec:P-256";
	o.side[UMPA_TCPS_SERVER].alpn = "http/1.1";
	t = umpa_tls_new(&o, &e);
	assert_non_null(t);
	s.to_client = BIO_new(BIO_s_mem());
	l = umpa_tls_live_new(t, &cb, &e);
	assert_non_null(l);
	/* written before the handshake: held, sent once it completes */
	assert_int_equal(umpa_tls_live_write(l, "early ", 6, &e), 6);

	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_keylog_callback(cctx, client_keylog);
	cl = client_new(cctx, &to_server, s.to_client);
	SSL_set_tlsext_host_name(cl, "live.umpa.test");
	SSL_set_alpn_protos(cl, alpn, sizeof(alpn) - 1);
	for (int i = 0; i < 10 && SSL_do_handshake(cl) != 1; i++)
		pump(cl, to_server, l);
	assert_int_equal(SSL_is_init_finished(cl), 1);
	pump(cl, to_server, l); /* the client's Finished */
	assert_int_equal(s.handshakes, 1);
	assert_int_equal(s.failed, 0);

	r = umpa_tls_live_report(l);
	assert_true(r->handshake_ok);
	assert_string_equal(r->version, "TLSv1.3");
	assert_string_equal(r->alpn, "http/1.1");
	assert_string_equal(r->sni, "live.umpa.test");
	assert_int_equal(r->n_server_chain, 1);
	assert_non_null(strstr(r->server_chain[0].subject, "CN=live.umpa.test"));
	assert_string_equal(r->server_chain[0].subject, r->server_chain[0].issuer); /* self-signed */
	/* the session's key log holds the client's lines (in another order: each side logs as it derives) */
	assert_true(s.klen > 0);
	assert_int_equal(s.klen, client_klen);
	s.keylog[s.klen] = 0;
	client_keys[client_klen] = 0;
	for (char *line = client_keys, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		char one[512];
		assert_true((size_t)(nl - line) < sizeof(one) - 1);
		memcpy(one, line, (size_t)(nl - line) + 1);
		one[nl - line + 1] = 0;
		assert_non_null(strstr(s.keylog, one));
	}
	assert_non_null(strstr(s.keylog, "CLIENT_TRAFFIC_SECRET_0 "));

	/* data both ways */
	assert_int_equal(SSL_write(cl, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	pump(cl, to_server, l);
	assert_int_equal(s.ngot, 18);
	assert_memory_equal(s.got, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(umpa_tls_live_write(l, "hello", 5, &e), 5);
	assert_int_equal(SSL_read_ex(cl, buf, sizeof(buf), &n), 1);
	if (n < 11) { /* "early " and "hello" may come as two records */
		size_t m = 0;
		assert_int_equal(SSL_read_ex(cl, buf + n, sizeof(buf) - n, &m), 1);
		n += m;
	}
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "early hello", 11);

	/* close_notify both ways */
	assert_int_equal(SSL_shutdown(cl), 0);
	pump(cl, to_server, l);
	assert_int_equal(s.closes, 1);
	assert_int_equal(umpa_tls_live_close(l, &e), 0);
	assert_int_equal(SSL_read_ex(cl, buf, sizeof(buf), &n), 0);
	assert_int_equal(SSL_get_error(cl, 0), SSL_ERROR_ZERO_RETURN);
	assert_int_equal(umpa_tls_live_write(l, "x", 1, &e), -UMPA_EINVAL);

	SSL_free(cl);
	BIO_free(to_server);
	SSL_CTX_free(cctx);
	BIO_free(s.to_client);
	umpa_tls_live_free(l);
	umpa_tls_free(t);
}

static void test_live_failed_handshake(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct umpa_tls *t;
	struct umpa_tls_live *l;
	struct side s = {0};
	struct umpa_tls_live_cbs cb = {out_cb, data_cb, event_cb, keylog_cb, &s};
	SSL_CTX *cctx;
	SSL *cl;
	BIO *to_server;

	(void)state;
	umpa_tls_opts_init(&o);
	o.self_signed = 1;
	o.side[UMPA_TCPS_SERVER].key_type = "ec:P-256";
	o.side[UMPA_TCPS_SERVER].min_version = "TLSv1.3";
	t = umpa_tls_new(&o, &e);
	assert_non_null(t);
	s.to_client = BIO_new(BIO_s_mem());
	l = umpa_tls_live_new(t, &cb, &e);
	assert_non_null(l);
	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	cl = client_new(cctx, &to_server, s.to_client);
	assert_true(SSL_do_handshake(cl) <= 0);
	pump(cl, to_server, l);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.handshakes, 0);
	assert_false(umpa_tls_live_report(l)->handshake_ok);
	assert_true(strlen(umpa_tls_live_report(l)->error) > 0);
	/* the client reads the server's alert */
	assert_true(BIO_pending(s.to_client) > 0);
	ERR_clear_error();
	assert_true(SSL_do_handshake(cl) <= 0);
	assert_int_equal(SSL_get_error(cl, 0), SSL_ERROR_SSL);
	ERR_clear_error();
	SSL_free(cl);
	BIO_free(to_server);
	SSL_CTX_free(cctx);
	BIO_free(s.to_client);
	umpa_tls_live_free(l);
	umpa_tls_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_handshake_data_close),
	    cmocka_unit_test(test_live_failed_handshake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
