/* test_tls.c - the TLS pump: conversations for TLS 1.2/1.3 x RSA/ECDSA/Ed25519,
 * report fields against what was asked, failures, resumption, 0-RTT, key
 * update, renegotiation, client certificates, verification, bad options.
 *
 * Every conversation the tests run also goes into one capture (in order, a
 * few seconds apart); the last test has tshark decrypt it twice - as pcap
 * with the key log file, and as pcapng with only its own Decryption Secrets
 * Block - and compares each stream's plaintext, byte for byte, with what was
 * sent, and the TLS messages tshark sees with what each test expects.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include "umpa_capfile.h"
#include "umpa_tls.h"
#include "unit.h"

#define C UMPA_TCPS_CLIENT
#define S UMPA_TCPS_SERVER

/* ---- the capture all tests add to ---- */

#define MAX_STREAMS 64

struct stream_want {
	uint8_t *data[2]; /* plaintext each side sent (NULL: the stream must not decrypt to anything) */
	size_t len[2];
	int hs_count[32]; /* handshake messages by type tshark must see (-1: don't care) */
	int alert;        /* fatal alert description expected (-1: none) */
	size_t max_record;
};

static struct {
	struct umpa_pkt *pk;
	size_t n, cap;
	char *keylog;
	size_t kl_len;
	struct stream_want want[MAX_STREAMS];
	int nstreams;
	int64_t next_sec;
} g = {.next_sec = 1700000000};

static int collect(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	(void)arg;
	(void)e;
	assert_ptr_equal(comment, p->comment);
	if (g.n == g.cap) {
		g.cap = g.cap ? g.cap * 2 : 256;
		g.pk = realloc(g.pk, g.cap * sizeof(*g.pk));
		assert_non_null(g.pk);
	}
	umpa_pkt_init(&g.pk[g.n]);
	assert_int_equal(umpa_pkt_dup(&g.pk[g.n], p, NULL), 0);
	g.pk[g.n].comment = comment ? strdup(comment) : NULL;
	g.n++;
	return 0;
}

static void add_keylog(const char *kl)
{
	size_t n = strlen(kl);

	g.keylog = realloc(g.keylog, g.kl_len + n + 1);
	assert_non_null(g.keylog);
	memcpy(g.keylog + g.kl_len, kl, n + 1);
	g.kl_len += n;
}

/* Register the next stream: what each side sent. */
static struct stream_want *want_stream(const void *c2s, size_t n0, const void *s2c, size_t n1)
{
	struct stream_want *w;

	assert_true(g.nstreams < MAX_STREAMS);
	w = &g.want[g.nstreams++];
	for (int i = 0; i < 32; i++)
		w->hs_count[i] = -1;
	w->alert = -1;
	w->len[0] = n0;
	w->len[1] = n1;
	w->data[0] = malloc(n0 + 1);
	w->data[1] = malloc(n1 + 1);
	assert_non_null(w->data[0]);
	assert_non_null(w->data[1]);
	if (n0)
		memcpy(w->data[0], c2s, n0);
	if (n1)
		memcpy(w->data[1], s2c, n1);
	return w;
}

/* ---- data ---- */

static uint8_t req[3000], resp[20000];

static void fill_data(void)
{
	for (size_t i = 0; i < sizeof(req); i++)
		req[i] = (uint8_t)("GET / HTTP/1.1\r\n"[i % 16]);
	for (size_t i = 0; i < sizeof(resp); i++)
		resp[i] = (uint8_t)(i * 13 + 5);
}

static void opts_default(struct umpa_tls_opts *o, uint64_t seed)
{
	fill_data();
	umpa_tls_opts_init(o);
	o->side[C].data = req;
	o->side[C].data_len = sizeof(req);
	o->side[S].data = resp;
	o->side[S].data_len = sizeof(resp);
	o->tcp.seed = seed;
	/* P-256 keys are generated in microseconds, RSA ones in tenths of a second: RSA where it is the point */
	o->side[C].key_type = o->side[S].key_type = "ec:P-256";
}

static void print_report(const struct umpa_tls_report *r)
{
	char buf[8192];

	umpa_tls_report_text(r, buf, sizeof(buf));
	fprintf(stderr, "%s", buf);
}

/*
 * Run @p o into the shared capture: reports into @p rep; returns the number
 * of conversations.  Each gets a stream_want for @p o's data (early data
 * first on a resumed one), returned in @p w (may be NULL).
 */
static int run(struct umpa_tls_opts *o, struct umpa_tls_report *rep, size_t nrep, struct stream_want **w)
{
	struct umpa_err e = {0};
	struct umpa_tls *t;
	int n;
	size_t first = g.n;

	o->tcp.start_sec = g.next_sec;
	t = umpa_tls_new(o, &e);
	if (!t)
		fail_msg("umpa_tls_new: %s", e.msg);
	n = umpa_tls_run(t, collect, NULL, rep, nrep, &e);
	if (n < 0)
		fail_msg("umpa_tls_run: %s", e.msg);
	add_keylog(umpa_tls_keylog(t, NULL));
	umpa_tls_free(t);
	for (int i = 0; i < n; i++) {
		static uint8_t cbuf[sizeof(req) + 4096];
		size_t cl = 0;
		struct stream_want *sw;
		if (i == 1 && o->early_len) {
			memcpy(cbuf, o->early_data, o->early_len);
			cl = o->early_len;
		}
		memcpy(cbuf + cl, o->side[C].data, o->side[C].data_len);
		cl += o->side[C].data_len;
		sw = want_stream(cbuf, cl, o->side[S].data, o->side[S].data_len);
		if (w)
			w[i] = sw;
		if ((size_t)i < nrep) {
			print_report(&rep[i]);
			if (!rep[i].handshake_ok) {
				sw->len[0] = sw->len[1] = 0;
			}
		}
	}
	assert_true(g.n > first);
	g.next_sec = g.pk[g.n - 1].ts_sec + 5;
	return n;
}

/* Comment of the first packet at or after @p from that has one. */
static const char *next_comment(size_t *from)
{
	while (*from < g.n && !g.pk[*from].comment)
		(*from)++;
	return *from < g.n ? g.pk[(*from)++].comment : NULL;
}

/* ---- tests ---- */

/* The matrix this file covers: version x key type x suite, with what the report must say. */
static void test_versions_and_keys(void **state)
{
	static const struct {
		const char *ver, *key, *ciphers, *suites, *want_cipher, *want_key, *want_sig;
		int bits, ipv6;
	} m[] = {
	    {"TLSv1.3", "rsa", NULL, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "RSA", "rsa_pss_rsae_sha256",
	     2048, 0},
	    {"TLSv1.3", "ec:P-256", NULL, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "EC P-256",
	     "ecdsa_secp256r1_sha256", 256, 1},
	    {"TLSv1.3", "ed25519", NULL, NULL, "TLS_AES_256_GCM_SHA384", "ED25519", "ed25519", 256, 0},
	    {"TLSv1.2", "rsa", "ECDHE-RSA-AES256-GCM-SHA384", NULL, "ECDHE-RSA-AES256-GCM-SHA384", "RSA",
	     "rsa_pss_rsae_sha256", 2048, 0},
	    {"TLSv1.2", "ec:P-384", "ECDHE-ECDSA-AES128-SHA256", NULL, "ECDHE-ECDSA-AES128-SHA256", "EC P-384",
	     "ecdsa_sha256", 384, 1}, /* TLS 1.2 does not bind the curve: sha256 comes first */
	    {"TLSv1.2", "rsa:1024", "AES128-SHA", NULL, "AES128-SHA", "RSA", "", 1024, 0},
	    {"TLSv1.2", "rsa", "DHE-RSA-AES128-GCM-SHA256", NULL, "DHE-RSA-AES128-GCM-SHA256", "RSA",
	     "rsa_pss_rsae_sha256", 2048, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct umpa_tls_opts o;
		struct umpa_tls_report r;
		struct stream_want *w;
		size_t first = g.n, k;
		const char *cm;

		opts_default(&o, 100 + i);
		for (int s = 0; s < 2; s++) {
			o.side[s].min_version = o.side[s].max_version = m[i].ver;
			o.side[s].ciphers = m[i].ciphers;
			o.side[s].ciphersuites = m[i].suites;
		}
		o.side[S].key_type = m[i].key;
		if (m[i].bits == 1024) /* below Debian's default security level 2 */
			o.side[C].security_level = o.side[S].security_level = 1;
		o.sni = "www.umpa.test";
		o.side[C].alpn = "h2,http/1.1";
		o.side[S].alpn = "http/1.1,h2";
		o.tcp.ipv6 = m[i].ipv6;
		assert_int_equal(run(&o, &r, 1, &w), 1);
		assert_int_equal(r.handshake_ok, 1);
		assert_string_equal(r.error, "");
		assert_string_equal(r.alert, "");
		assert_string_equal(r.version, m[i].ver);
		assert_string_equal(r.cipher, m[i].want_cipher);
		assert_true(r.cipher_iana[0] == 'T');
		assert_string_equal(r.sigalg, m[i].want_sig);
		assert_string_equal(r.alpn, "http/1.1");
		assert_string_equal(r.sni, "www.umpa.test");
		assert_int_equal(r.resumed, 0);
		assert_int_equal(r.early_data, -1);
		assert_int_equal(r.verify_result, 0);
		assert_int_equal(r.n_server_chain, 2);
		assert_int_equal(r.n_client_chain, 0);
		assert_string_equal(r.server_chain[0].subject, "CN=www.umpa.test,O=umpa");
		assert_string_equal(r.server_chain[0].issuer, "CN=umpa test CA,O=umpa");
		assert_string_equal(r.server_chain[1].subject, "CN=umpa test CA,O=umpa");
		assert_string_equal(r.server_chain[0].key_type, m[i].want_key);
		assert_string_equal(r.server_chain[1].key_type, m[i].want_key);
		assert_int_equal(r.server_chain[0].key_bits, m[i].bits);
		assert_int_equal(r.app_bytes[C], sizeof(req));
		assert_int_equal(r.app_bytes[S], sizeof(resp));
		assert_true(r.tls_bytes[C] > sizeof(req) && r.tls_bytes[S] > sizeof(resp));
		assert_int_equal(r.packets, g.n - first);
		if (!strcmp(m[i].key, "rsa:1024"))
			assert_string_equal(r.group, ""); /* RSA key exchange: no group */
		else
			assert_true(r.group[0] != 0);
		/* Comments: each flight names its messages. */
		k = first;
		assert_string_equal(next_comment(&k), "ClientHello");
		cm = next_comment(&k);
		if (!strcmp(m[i].ver, "TLSv1.3")) {
			assert_string_equal(cm, "ServerHello; ChangeCipherSpec; EncryptedExtensions; Certificate; "
						"CertificateVerify; Finished");
			assert_string_equal(next_comment(&k), "ChangeCipherSpec; Finished");
			assert_string_equal(next_comment(&k), "NewSessionTicket; NewSessionTicket");
		} else if (!strcmp(m[i].key, "rsa:1024")) {
			assert_string_equal(cm, "ServerHello; Certificate; ServerHelloDone");
			assert_string_equal(next_comment(&k), "ClientKeyExchange; ChangeCipherSpec; Finished");
			assert_string_equal(next_comment(&k), "NewSessionTicket; ChangeCipherSpec; Finished");
		} else if (!strncmp(m[i].want_cipher, "DHE-", 4)) {
			/* 256 bytes of DH parameters and key: ServerHelloDone starts in the next segment */
			assert_string_equal(cm, "ServerHello; Certificate; ServerKeyExchange");
			assert_string_equal(next_comment(&k), "ServerHelloDone");
			assert_string_equal(next_comment(&k), "ClientKeyExchange; ChangeCipherSpec; Finished");
			assert_string_equal(next_comment(&k), "NewSessionTicket; ChangeCipherSpec; Finished");
		} else {
			assert_string_equal(cm, "ServerHello; Certificate; ServerKeyExchange; ServerHelloDone");
			assert_string_equal(next_comment(&k), "ClientKeyExchange; ChangeCipherSpec; Finished");
			assert_string_equal(next_comment(&k), "NewSessionTicket; ChangeCipherSpec; Finished");
		}
		/* one record from the client, two (16384 + the rest) from the server, each labelled where it starts */
		assert_string_equal(next_comment(&k), "Application Data");
		assert_string_equal(next_comment(&k), "Application Data");
		assert_string_equal(next_comment(&k), "Application Data");
		assert_string_equal(next_comment(&k), "Alert close_notify");
		assert_string_equal(next_comment(&k), "Alert close_notify");
		assert_null(next_comment(&k));
		w->hs_count[1] = 1; /* one ClientHello */
		w->hs_count[11] = 1;
	}
}

/* Resumption in every mode: the second conversation is reported resumed, and it is on the wire. */
static void test_resumption(void **state)
{
	static const struct {
		enum umpa_tls_resume mode;
		const char *ver;
		int tickets; /* NewSessionTicket messages in the first conversation */
	} m[] = {
	    {UMPA_TLS_RESUME_TICKET, "TLSv1.3", 2}, {UMPA_TLS_RESUME_PSK, "TLSv1.3", 2},
	    {UMPA_TLS_RESUME_TICKET, "TLSv1.2", 1}, {UMPA_TLS_RESUME_ID, "TLSv1.2", 0},
	    {UMPA_TLS_RESUME_ID, NULL, 0}, /* id caps an open range at TLS 1.2 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct umpa_tls_opts o;
		struct umpa_tls_report r[2];
		struct stream_want *w[2];

		opts_default(&o, 200 + i);
		o.side[C].max_version = m[i].ver;
		o.side[S].key_type = "ec:P-256";
		o.resume = m[i].mode;
		o.sni = "resume.umpa.test";
		assert_int_equal(run(&o, r, 2, w), 2);
		assert_int_equal(r[0].handshake_ok, 1);
		assert_int_equal(r[1].handshake_ok, 1);
		assert_int_equal(r[0].resumed, 0);
		assert_int_equal(r[1].resumed, 1);
		assert_string_equal(r[0].version, m[i].ver ? m[i].ver : "TLSv1.2");
		assert_string_equal(r[1].version, r[0].version);
		assert_string_equal(r[1].cipher, r[0].cipher);
		assert_int_equal(r[1].app_bytes[C], sizeof(req));
		assert_int_equal(r[1].app_bytes[S], sizeof(resp));
		assert_true(r[0].port[C] != r[1].port[C]);
		/* the resumed session still reports the server's certificate and its verification */
		assert_int_equal(r[1].verify_result, 0);
		assert_true(r[1].n_server_chain >= 1);
		w[0]->hs_count[4] = m[i].tickets;
		w[0]->hs_count[11] = 1;
		w[1]->hs_count[11] = 0; /* an abbreviated handshake: no Certificate */
		w[1]->hs_count[1] = 1;
	}
}

/*
 * External PSK: TLS 1.2 PSK suites of every key exchange (plain, DHE, ECDHE,
 * RSA) and TLS 1.3 with two suites of different hashes; the report says
 * "external", no certificate unless the suite is RSA-PSK; the streams join
 * the shared capture, so test_tshark_decrypts_everything decrypts them.
 */
static void test_external_psk(void **state)
{
	static const unsigned char key[] = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5,
					    0xb4, 0xc3, 0xd2, 0xe1, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
					    0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
	static const struct {
		const char *ver, *ciphers, *suites, *want;
		int certs; /* Certificate messages: RSA-PSK authenticates the server with its certificate */
	} m[] = {
	    {"TLSv1.2", "PSK-AES128-GCM-SHA256", NULL, "PSK-AES128-GCM-SHA256", 0},
	    {"TLSv1.2", "DHE-PSK-AES256-GCM-SHA384", NULL, "DHE-PSK-AES256-GCM-SHA384", 0},
	    {"TLSv1.2", "ECDHE-PSK-CHACHA20-POLY1305", NULL, "ECDHE-PSK-CHACHA20-POLY1305", 0},
	    {"TLSv1.2", "RSA-PSK-AES128-GCM-SHA256", NULL, "RSA-PSK-AES128-GCM-SHA256", 1},
	    {"TLSv1.3", NULL, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0},
	    {"TLSv1.3", NULL, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0},
	};
	struct umpa_err e = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct umpa_tls_opts o;
		struct umpa_tls_report r[1];
		struct stream_want *w[1];

		opts_default(&o, 1100 + i);
		o.side[C].min_version = o.side[C].max_version = m[i].ver;
		o.side[C].ciphers = o.side[S].ciphers = m[i].ciphers;
		o.side[C].ciphersuites = o.side[S].ciphersuites = m[i].suites;
		if (m[i].certs)
			o.side[S].key_type = "rsa";
		o.psk = key;
		o.psk_len = sizeof(key);
		o.psk_identity = i % 2 ? "client-7" : NULL;
		assert_int_equal(run(&o, r, 1, w), 1);
		assert_int_equal(r[0].handshake_ok, 1);
		assert_string_equal(r[0].version, m[i].ver);
		assert_string_equal(r[0].cipher, m[i].want);
		assert_string_equal(r[0].psk, "external");
		assert_int_equal(r[0].resumed, 0);
		assert_int_equal(r[0].n_server_chain > 0, m[i].certs); /* leaf and CA for RSA-PSK */
		assert_int_equal(r[0].app_bytes[C], sizeof(req));
		assert_int_equal(r[0].app_bytes[S], sizeof(resp));
		if (!strcmp(m[i].ver, "TLSv1.3") || strstr(m[i].want, "DHE-PSK"))
			assert_true(r[0].group[0] != 0); /* (EC)DHE with the PSK */
		w[0]->hs_count[11] = m[i].certs;
		w[0]->hs_count[1] = 1;
	}
	/* control: the same TLS 1.3 run without a PSK is a certificate handshake */
	{
		struct umpa_tls_opts o;
		struct umpa_tls_report r[1];
		struct stream_want *w[1];

		opts_default(&o, 1199);
		o.side[C].min_version = "TLSv1.3";
		assert_int_equal(run(&o, r, 1, w), 1);
		assert_int_equal(r[0].handshake_ok, 1);
		assert_string_equal(r[0].psk, "");
		assert_true(r[0].n_server_chain >= 1);
		w[0]->hs_count[11] = 1;
	}
	/* bad options */
	{
		struct umpa_tls_opts o;
		unsigned char big[65] = {0};

		umpa_tls_opts_init(&o);
		o.psk = big;
		o.psk_len = sizeof(big);
		assert_null(umpa_tls_new(&o, &e));
		assert_int_equal(e.code, UMPA_EINVAL);
		assert_true(!strncmp(e.msg, "psk: ", 5));
		umpa_tls_opts_init(&o);
		o.psk = key;
		o.psk_len = sizeof(key);
		o.resume = UMPA_TLS_RESUME_TICKET;
		assert_null(umpa_tls_new(&o, &e));
		assert_int_equal(e.code, UMPA_EINVAL);
		assert_true(!strncmp(e.msg, "psk: ", 5));
	}
}

/* 0-RTT: the resumed conversation carries early data the server accepts. */
static void test_early_data(void **state)
{
	static const char early[] = "POST /early HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	struct umpa_tls_opts o;
	struct umpa_tls_report r[2];
	struct stream_want *w[2];

	(void)state;
	opts_default(&o, 300);
	o.early_data = early;
	o.early_len = sizeof(early) - 1;
	o.resume = UMPA_TLS_RESUME_TICKET;
	assert_int_equal(run(&o, r, 2, w), 2);
	assert_int_equal(r[0].early_data, -1);
	assert_int_equal(r[1].early_data, 1);
	assert_int_equal(r[1].resumed, 1);
	assert_int_equal(r[1].app_bytes[C], sizeof(req) + sizeof(early) - 1);
	w[1]->hs_count[5] = 1; /* EndOfEarlyData */
	/* early data without a resume mode implies tickets */
	opts_default(&o, 301);
	o.early_data = early;
	o.early_len = sizeof(early) - 1;
	o.side[C].max_version = "1.3";
	assert_int_equal(run(&o, r, 2, w), 2);
	assert_int_equal(r[1].early_data, 1);
}

/* KeyUpdate (TLS 1.3) and renegotiation (TLS 1.2) happen, are counted, and the streams still decrypt. */
static void test_key_update_renegotiation(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_tls_report r;
	struct stream_want *w;

	(void)state;
	opts_default(&o, 400);
	o.side[C].key_updates = 2;
	o.side[S].key_updates = 1;
	assert_int_equal(run(&o, &r, 1, &w), 1);
	assert_int_equal(r.handshake_ok, 1);
	assert_string_equal(r.version, "TLSv1.3");
	assert_int_equal(r.key_updates, 3);
	w->hs_count[24] = 3;

	opts_default(&o, 401);
	o.side[C].renegotiations = 1;
	o.side[S].renegotiations = 1;
	assert_int_equal(run(&o, &r, 1, &w), 1);
	assert_int_equal(r.handshake_ok, 1);
	assert_string_equal(r.version, "TLSv1.2"); /* capped by --renegotiate */
	assert_int_equal(r.renegotiations, 2);
	assert_string_equal(r.error, "");
	w->hs_count[1] = 3; /* the first ClientHello and two encrypted ones */
	w->hs_count[0] = 1; /* the server's HelloRequest */
}

/* Mutual authentication with a generated client certificate. */
static void test_client_cert(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_tls_report r;
	struct stream_want *w;

	(void)state;
	for (int v = 0; v < 2; v++) {
		opts_default(&o, 500 + (uint64_t)v);
		o.client_cert = 1;
		o.side[C].key_type = "ec:P-384";
		o.side[C].max_version = v ? "TLSv1.2" : "TLSv1.3";
		assert_int_equal(run(&o, &r, 1, &w), 1);
		assert_int_equal(r.handshake_ok, 1);
		assert_int_equal(r.n_client_chain, 2);
		assert_string_equal(r.client_chain[0].subject, "CN=umpa client,O=umpa");
		assert_string_equal(r.client_chain[0].key_type, "EC P-384");
		assert_int_equal(r.client_verify_result, 0);
		w->hs_count[13] = 1; /* CertificateRequest */
		w->hs_count[11] = 2; /* both Certificates */
		w->hs_count[15] = v ? 1 : 2;
	}
}

/* A handshake that fails is written and reported: no shared cipher. */
static void test_failed_handshake(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_tls_report r[2];
	struct stream_want *w;
	size_t first = g.n;

	(void)state;
	opts_default(&o, 600);
	o.side[C].max_version = o.side[S].max_version = "1.2";
	o.side[C].ciphers = "AES128-SHA";
	o.side[S].ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
	o.resume = UMPA_TLS_RESUME_TICKET; /* nothing to resume: one conversation only */
	assert_int_equal(run(&o, r, 2, &w), 1);
	assert_int_equal(r[0].handshake_ok, 0);
	assert_non_null(strstr(r[0].error, "server: "));
	assert_non_null(strstr(r[0].error, "no shared cipher"));
	assert_string_equal(r[0].alert, "sent by server: handshake_failure");
	assert_int_equal(r[0].app_bytes[C], 0);
	assert_int_equal(r[0].packets, g.n - first);
	/* SYN, SYN+ACK, ACK, ClientHello, ACK?, Alert, then FIN exchange from the server */
	assert_true(g.n - first >= 8);
	{
		size_t k = first;
		assert_string_equal(next_comment(&k), "ClientHello");
		assert_string_equal(next_comment(&k), "Alert handshake_failure");
		assert_null(next_comment(&k));
	}
	w->alert = 40;
	w->hs_count[1] = 1;
	w->hs_count[2] = 0;
}

/* Verification is reported (s_client style) and, with verify set, fatal. */
static void test_verification(void **state)
{
	char dir[64], ca[128], cert[160], cmd[1024];
	struct umpa_tls_opts o;
	struct umpa_tls_report r;
	struct stream_want *w;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/umpa-tls-%d", (int)getpid());
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(ca, sizeof(ca), "%s/other-ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	/* openssl itself makes an unrelated CA, and a self-signed server certificate for another name */
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout %s/ca.key -out %s "
		 "-subj /CN=other-ca -days 2 2>/dev/null && "
		 "openssl req -x509 -newkey rsa:2048 -noenc -keyout %s/server.pem -out %s/server.crt -subj "
		 "/CN=other.test -addext subjectAltName=DNS:other.test -days 2 2>/dev/null && cat %s/server.crt >> %s",
		 dir, ca, dir, dir, dir, cert);
	assert_int_equal(system(cmd), 0);

	/* an unknown issuer: reported, not fatal */
	opts_default(&o, 700);
	o.side[C].ca_file = ca;
	assert_int_equal(run(&o, &r, 1, &w), 1);
	assert_int_equal(r.handshake_ok, 1);
	assert_int_equal(r.verify_result, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
	assert_string_equal(r.verify_reason, "unable to verify the first certificate");
	assert_int_equal(r.n_server_chain, 1);

	/* the same, fatal: the client aborts with unknown_ca */
	opts_default(&o, 701);
	o.side[C].ca_file = ca;
	o.verify = 1;
	assert_int_equal(run(&o, &r, 1, &w), 1);
	assert_int_equal(r.handshake_ok, 0);
	assert_string_equal(r.alert, "sent by client: unknown_ca");
	assert_non_null(strstr(r.error, "client: "));
	assert_non_null(strstr(r.error, "certificate verify failed"));
	assert_int_equal(r.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	w->alert = 48;

	/* a PEM server certificate (key and certificate in one file) for another name than the SNI */
	opts_default(&o, 702);
	o.side[S].cert_file = cert;
	o.sni = "www.umpa.test";
	assert_int_equal(run(&o, &r, 1, &w), 1);
	assert_int_equal(r.handshake_ok, 1);
	assert_int_equal(r.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
	assert_string_equal(r.server_chain[0].subject, "CN=other.test");
	assert_string_equal(r.server_chain[0].key_type, "RSA");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Record size limit and hostile TCP segmentation: still one decryptable stream. */
static void test_records_and_segments(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_tls_report r;
	struct stream_want *w;

	(void)state;
	opts_default(&o, 800);
	o.side[S].max_record = 1024; /* also asks for the max_fragment_length extension */
	o.side[C].max_record = 512;
	o.tcp.seg_random = 1;
	o.tcp.seg_max = 700;
	o.label = "small records";
	assert_int_equal(run(&o, &r, 1, &w), 1);
	assert_int_equal(r.handshake_ok, 1);
	w->max_record = 1024;
	assert_string_equal(g.pk[g.n - r.packets + 3].comment, "[small records] ClientHello");
}

/* Options that cannot work fail in umpa_tls_new with a message naming the option's key (the one-side key
 * when only one side has the value). */
static void test_bad_options(void **state)
{
	static const struct {
		const char *what, *msg;
	} m[] = {
	    {"ciphers", "client_ciphers: no cipher matches 'FOO'"},
	    {"suites", "server_ciphersuites: "},
	    {"version", "version: unknown version 'TLSv9'"},
	    {"minmax", "version: minimum TLSv1.3 is above maximum TLSv1.2"},
	    {"disjoint", "version: the client (TLSv1.3..TLSv1.3) and the server (any..TLSv1.2) share no version"},
	    {"cert", "cert: cannot read certificate '/nonexistent/cert.pem'"},
	    {"keytype", "key_type: unknown key type 'dsa'"},
	    {"groups", "client_groups: unknown group in 'P-999'"},
	    {"reneg13", "renegotiate: needs TLS 1.2 or older"},
	    {"early12", "early_data: needs TLS 1.3"},
	    {"alpn", "alpn: bad protocol list 'h2,,x'"},
	    {"record", "max_record: 100 is not 512..16384"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct umpa_tls_opts o;
		struct umpa_err e = {0};
		const char *w = m[i].what;

		opts_default(&o, 900);
		if (!strcmp(w, "ciphers"))
			o.side[C].ciphers = "FOO";
		else if (!strcmp(w, "suites"))
			o.side[S].ciphersuites = "TLS_NOPE";
		else if (!strcmp(w, "version"))
			o.side[C].max_version = "TLSv9";
		else if (!strcmp(w, "minmax"))
			o.side[C].min_version = "1.3", o.side[C].max_version = "1.2";
		else if (!strcmp(w, "disjoint"))
			o.side[C].min_version = o.side[C].max_version = "TLSv1.3", o.side[S].max_version = "TLSv1.2";
		else if (!strcmp(w, "cert"))
			o.side[S].cert_file = "/nonexistent/cert.pem";
		else if (!strcmp(w, "keytype"))
			o.side[S].key_type = "dsa";
		else if (!strcmp(w, "groups"))
			o.side[C].groups = "P-999";
		else if (!strcmp(w, "reneg13"))
			o.side[C].renegotiations = 1, o.side[C].max_version = "1.3";
		else if (!strcmp(w, "early12"))
			o.early_data = "x", o.early_len = 1, o.side[S].max_version = "1.2";
		else if (!strcmp(w, "alpn"))
			o.side[C].alpn = "h2,,x";
		else if (!strcmp(w, "record"))
			o.side[S].max_record = 100;
		assert_null(umpa_tls_new(&o, &e));
		fprintf(stderr, "%s: %s\n", w, e.msg);
		assert_int_equal(e.code, UMPA_EINVAL); /* a certificate file that does not load too: bad input */
		assert_true(!strncmp(e.msg, m[i].msg, strlen(m[i].msg)));
	}
}

/* The step API: two conversations interleaved flight by flight, each complete and with its own keys. */
static void test_step_interleaved(void **state)
{
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct umpa_tls *t;
	struct umpa_tls_conv *cv[2];
	struct umpa_tcps_opts tcp[2];
	int live = 2, r;
	size_t kl[2];

	(void)state;
	opts_default(&o, 1000);
	t = umpa_tls_new(&o, &e);
	assert_non_null(t);
	for (int i = 0; i < 2; i++) {
		tcp[i] = o.tcp;
		tcp[i].seed = 1000 + (uint64_t)i;
		tcp[i].start_sec = 1800000000;
		cv[i] = umpa_tls_conv_new(t, &tcp[i], 0, collect, NULL, &e);
		assert_non_null(cv[i]);
	}
	assert_null(umpa_tls_conv_new(t, NULL, 1, collect, NULL, &e)); /* nothing to resume yet */
	assert_non_null(strstr(e.msg, "no session"));
	while (live) {
		live = 0;
		for (int i = 0; i < 2; i++) {
			r = umpa_tls_conv_step(cv[i], &e);
			assert_true(r >= 0);
			live += r;
		}
	}
	for (int i = 0; i < 2; i++) {
		const struct umpa_tls_report *rp = umpa_tls_conv_report(cv[i]);
		assert_int_equal(rp->handshake_ok, 1);
		assert_int_equal(rp->app_bytes[S], sizeof(resp));
		assert_non_null(strstr(umpa_tls_conv_keylog(cv[i], &kl[i]), "CLIENT_HANDSHAKE_TRAFFIC_SECRET "));
		assert_true(kl[i] > 0);
		want_stream(req, sizeof(req), resp, sizeof(resp));
	}
	assert_int_equal(strlen(umpa_tls_keylog(t, NULL)), 0); /* step conversations keep their own */
	assert_true(umpa_tls_conv_report(cv[0])->port[C] != umpa_tls_conv_report(cv[1])->port[C]);
	add_keylog(umpa_tls_conv_keylog(cv[0], NULL));
	add_keylog(umpa_tls_conv_keylog(cv[1], NULL));
	cv[0] = umpa_tls_conv_free(cv[0]);
	cv[1] = umpa_tls_conv_free(cv[1]);
	assert_null(umpa_tls_free(t));
	g.next_sec = 1800000100;
}

/* The report's text and JSON: complete with room, truncated but terminated without, JSON strings escaped. */
static void test_report_format(void **state)
{
	struct umpa_tls_report r;
	char big[16384], small[16];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.handshake_ok = 0;
	r.early_data = -1;
	snprintf(r.error, sizeof(r.error), "server: \"quoted\" \\ back\nslash");
	snprintf(r.version, sizeof(r.version), "TLSv1.2");
	r.n_server_chain = 1;
	snprintf(r.server_chain[0].subject, sizeof(r.server_chain[0].subject), "CN=a\"b");
	r.app_bytes[0] = 7;
	n = umpa_tls_report_json(&r, big, sizeof(big));
	assert_int_equal(n, strlen(big));
	assert_non_null(strstr(big, "\"error\":\"server: \\\"quoted\\\" \\\\ back\\u000aslash\""));
	assert_non_null(strstr(big, "\"subject\":\"CN=a\\\"b\""));
	assert_non_null(strstr(big, "\"handshake_ok\":false"));
	assert_non_null(strstr(big, "\"early_data\":\"none\""));
	assert_non_null(strstr(big, "\"app_bytes\":{\"client\":7,\"server\":0}"));
	assert_int_equal(umpa_tls_report_json(&r, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	n = umpa_tls_report_text(&r, big, sizeof(big));
	assert_int_equal(n, strlen(big));
	assert_non_null(strstr(big, "Handshake: FAILED: server: "));
	assert_non_null(strstr(big, "Protocol: TLSv1.2\n"));
	assert_int_equal(umpa_tls_report_text(&r, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* ---- the tshark check of everything above ---- */

/* tshark's decryption of every stream: follow,tls,raw of all streams in one run. */
static void tshark_follow_all(const char *path, const char *keyfile, uint8_t **got, size_t *glen)
{
	char *cmd = malloc(65536), *line = malloc(200000);
	size_t l;
	FILE *f;
	int cur = -1, swap = 0, body = 0;

	assert_non_null(cmd);
	assert_non_null(line);
	l = (size_t)snprintf(cmd, 65536, "tshark -r %s %s%s -q", path, keyfile ? "-o tls.keylog_file:" : "",
			     keyfile ? keyfile : "");
	for (int i = 0; i < g.nstreams; i++)
		l += (size_t)snprintf(cmd + l, 65536 - l, " -z follow,tls,raw,%d", i);
	snprintf(cmd + l, 65536 - l, " 2>/dev/null");
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, 200000, f)) {
		int sn;
		if (sscanf(line, "Filter: tcp.stream eq %d", &sn) == 1) {
			assert_true(sn >= 0 && sn < g.nstreams);
			cur = sn;
			swap = body = 0;
			continue;
		}
		/* tshark 4.0 may name the server as node 0: the unindented lines are then the server's */
		if (!strncmp(line, "Node 0:", 7) && strstr(line, ":443\n"))
			swap = 1;
		if (!strncmp(line, "Node 1:", 7)) {
			body = 1;
			continue;
		}
		if (line[0] == '=') {
			body = 0; /* the end of a section: "Follow: ..." follows */
			continue;
		}
		if (!body || cur < 0)
			continue;
		{
			int dir = (line[0] == '\t') ^ swap;
			size_t k = (size_t)cur * 2 + (size_t)dir;
			size_t room = g.want[cur].len[dir] + 64;
			if (!got[k])
				got[k] = calloc(1, room);
			glen[k] += unit_hex(line, got[k] + glen[k], room - glen[k]);
		}
	}
	assert_int_equal(pclose(f), 0);
	free(cmd);
	free(line);
}

static void check_plaintext(const char *path, const char *keyfile)
{
	uint8_t *got[2 * MAX_STREAMS] = {0};
	size_t glen[2 * MAX_STREAMS] = {0};
	int bad = 0;

	tshark_follow_all(path, keyfile, got, glen);
	for (int i = 0; i < g.nstreams; i++)
		for (int d = 0; d < 2; d++) {
			size_t k = (size_t)i * 2 + (size_t)d;
			if (glen[k] != g.want[i].len[d] || (glen[k] && memcmp(got[k], g.want[i].data[d], glen[k]))) {
				fprintf(stderr, "%s: stream %d %s: tshark decrypted %zu bytes, %zu were sent%s\n", path,
					i, d ? "server" : "client", glen[k], g.want[i].len[d],
					glen[k] == g.want[i].len[d] ? " (different bytes)" : "");
				bad++;
			}
			free(got[k]);
		}
	assert_int_equal(bad, 0);
}

/* Per stream: handshake messages by type, fatal alerts, the largest record; and nothing tshark flags. */
static void check_messages(const char *path)
{
	char cmd[512], line[4096];
	static int hs[MAX_STREAMS][32], alert[MAX_STREAMS], maxrec[MAX_STREAMS];
	FILE *f;
	int bad = 0;

	snprintf(
	    cmd, sizeof(cmd),
	    "tshark -r %s -T fields -E 'separator=;' -e tcp.stream -e tls.handshake.type -e tls.alert_message.desc "
	    "-e tls.record.length -e tls.record.opaque_type -e _ws.malformed -e _ws.expert.severity "
	    "-e tcp.analysis.flags 2>/dev/null",
	    path);
	f = popen(cmd, "r");
	assert_non_null(f);
	for (int i = 0; i < MAX_STREAMS; i++)
		alert[i] = -1;
	while (fgets(line, sizeof(line), f)) {
		char *fld[8] = {0}, *p = line;
		int sn, sev;
		line[strcspn(line, "\n")] = 0;
		for (int i = 0; i < 8; i++) {
			fld[i] = p;
			p = strchr(p, ';');
			if (!p)
				break;
			*p++ = 0;
		}
		sn = atoi(fld[0]);
		assert_true(sn >= 0 && sn < g.nstreams);
		for (char *q = fld[1]; q && *q;) {
			int t = atoi(q);
			if (t >= 0 && t < 32)
				hs[sn][t]++;
			q = strchr(q, ',');
			q = q ? q + 1 : NULL;
		}
		if (fld[2] && *fld[2])
			alert[sn] = atoi(fld[2]);
		/* record lengths of application data (content type 23): opaque_type is 23 for TLS 1.3 */
		for (char *q = fld[3]; q && *q;) {
			int len = atoi(q);
			if (len > maxrec[sn])
				maxrec[sn] = len;
			q = strchr(q, ',');
			q = q ? q + 1 : NULL;
		}
		sev = 0;
		for (char *q = fld[6]; q && *q;) {
			if (atoi(q) > sev)
				sev = atoi(q);
			q = strchr(q, ',');
			q = q ? q + 1 : NULL;
		}
		if ((fld[5] && *fld[5]) || sev >= 6291456 /* PI_WARN */ || (fld[7] && *fld[7])) {
			fprintf(stderr, "%s: stream %d flagged: %s %s %s\n", path, sn, fld[5] ? fld[5] : "",
				fld[6] ? fld[6] : "", fld[7] ? fld[7] : "");
			bad++;
		}
	}
	assert_int_equal(pclose(f), 0);
	for (int i = 0; i < g.nstreams; i++) {
		const struct stream_want *w = &g.want[i];
		for (int t = 0; t < 32; t++)
			if (w->hs_count[t] >= 0 && w->hs_count[t] != hs[i][t]) {
				fprintf(stderr, "stream %d: %d handshake messages of type %d, %d expected\n", i,
					hs[i][t], t, w->hs_count[t]);
				bad++;
			}
		if (w->alert != alert[i] && !(w->alert < 0 && alert[i] == 0)) {
			fprintf(stderr, "stream %d: alert %d, %d expected\n", i, alert[i], w->alert);
			bad++;
		}
		/* a 1024-byte plaintext limit: TLS 1.2 records grow by at most 1024 + the CBC/MAC overhead */
		if (w->max_record && maxrec[i] > (int)w->max_record + 256) {
			fprintf(stderr, "stream %d: a %d-byte record, limit %zu\n", i, maxrec[i], w->max_record);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/*
 * Every segment's comment names exactly the TLS records that start in it:
 * walk each direction's TCP payload as TLS records (5-byte headers) and
 * count the record starts per segment against the "; "-joined labels.
 */
static void test_labels_match_records(void **state)
{
	struct dir {
		uint16_t sport, dport;
		uint8_t *data;
		size_t len, cap;
		size_t seg_pos[4096], seg_len[4096];
		const char *seg_cm[4096];
		size_t nseg;
	} *d = calloc(2 * MAX_STREAMS, sizeof(*d));
	size_t nd = 0, labelled = 0, bad = 0;

	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < g.n; i++) {
		const uint8_t *b = g.pk[i].data;
		size_t ip = 14, tcp, end, doff;
		uint16_t sport, dport;
		struct dir *x = NULL;
		if (b[12] == 0x08 && b[13] == 0x00) {
			tcp = ip + (size_t)(b[ip] & 15) * 4;
			end = ip + ((size_t)b[ip + 2] << 8 | b[ip + 3]);
		} else {
			assert_true(b[12] == 0x86 && b[13] == 0xdd && b[ip + 6] == 6);
			tcp = ip + 40;
			end = ip + 40 + ((size_t)b[ip + 4] << 8 | b[ip + 5]);
		}
		sport = (uint16_t)(b[tcp] << 8 | b[tcp + 1]);
		dport = (uint16_t)(b[tcp + 2] << 8 | b[tcp + 3]);
		doff = (size_t)(b[tcp + 12] >> 4) * 4;
		if (b[tcp + 13] & 0x02) { /* SYN: a new stream in this direction */
			assert_true(nd < 2 * MAX_STREAMS);
			x = &d[nd++];
			x->sport = sport;
			x->dport = dport;
			continue;
		}
		for (size_t k = nd; k-- > 0;)
			if (d[k].sport == sport && d[k].dport == dport) {
				x = &d[k];
				break;
			}
		assert_non_null(x);
		if (end <= tcp + doff)
			continue;
		assert_true(x->nseg < 4096);
		if (x->len + (end - tcp - doff) > x->cap) {
			x->cap = (x->len + (end - tcp - doff)) * 2;
			x->data = realloc(x->data, x->cap);
			assert_non_null(x->data);
		}
		memcpy(x->data + x->len, b + tcp + doff, end - tcp - doff);
		x->seg_pos[x->nseg] = x->len;
		x->seg_len[x->nseg] = end - tcp - doff;
		x->seg_cm[x->nseg++] = g.pk[i].comment;
		x->len += end - tcp - doff;
	}
	for (size_t k = 0; k < nd; k++) {
		struct dir *x = &d[k];
		size_t rec = 0;
		for (size_t j = 0; j < x->nseg; j++) {
			int starts = 0, labels = 0;
			while (rec < x->seg_pos[j] + x->seg_len[j] && rec + 5 <= x->len) {
				starts++;
				rec += 5 + ((size_t)x->data[rec + 3] << 8 | x->data[rec + 4]);
			}
			if (x->seg_cm[j]) {
				labels = 1;
				for (const char *q = x->seg_cm[j]; (q = strstr(q, "; ")) != NULL; q += 2)
					labels++;
				labelled++;
			}
			if (starts != labels) {
				fprintf(stderr, "port %u->%u segment %zu: %d records start, comment '%s'\n", x->sport,
					x->dport, j, starts, x->seg_cm[j] ? x->seg_cm[j] : "");
				bad++;
			}
		}
		assert_int_equal(rec, x->len); /* the records tile the stream */
		free(x->data);
	}
	free(d);
	fprintf(stderr, "%zu directions, %zu labelled segments\n", nd, labelled);
	assert_true(labelled > 300);
	assert_int_equal(bad, 0);
}

static void test_tshark_decrypts_everything(void **state)
{
	char pcap[128], pcapng[128], keyf[128];
	struct umpa_err e = {0};
	struct umpa_capw *w;
	FILE *f;

	(void)state;
	if (!unit_have_tshark()) {
		fprintf(stderr, "tshark not found: skipping the decryption checks\n");
		skip();
	}
	snprintf(pcap, sizeof(pcap), "%s/umpa-tls-%d.pcap", unit_tmpdir(), (int)getpid());
	snprintf(pcapng, sizeof(pcapng), "%s/umpa-tls-%d.pcapng", unit_tmpdir(), (int)getpid());
	snprintf(keyf, sizeof(keyf), "%s/umpa-tls-%d.keys", unit_tmpdir(), (int)getpid());
	fprintf(stderr, "%d streams, %zu packets, %zu bytes of key log\n", g.nstreams, g.n, g.kl_len);
	for (int ng = 0; ng < 2; ng++) {
		w = umpa_capw_open(ng ? pcapng : pcap, ng ? UMPA_CAP_PCAPNG : UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET,
				   &e);
		assert_non_null(w);
		if (ng)
			assert_int_equal(
			    umpa_capw_secrets(w, UMPA_SECRETS_TLS_KEYLOG, g.keylog, (uint32_t)g.kl_len, &e), 0);
		for (size_t i = 0; i < g.n; i++)
			assert_int_equal(umpa_capw_write(w, &g.pk[i], &e), 0);
		assert_int_equal(umpa_capw_close(w, &e), 0);
	}
	f = fopen(keyf, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(g.keylog, 1, g.kl_len, f), g.kl_len);
	assert_int_equal(fclose(f), 0);
	check_plaintext(pcap, keyf);   /* pcap + SSLKEYLOGFILE */
	check_plaintext(pcapng, NULL); /* pcapng, its own secrets block */
	check_messages(pcapng);
	/* (no "without keys" control run: plaintext equal to what was sent cannot come without them) */
	unit_discard(pcap);
	unit_discard(pcapng);
	unit_discard(keyf);
}

static int teardown_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < g.n; i++) {
		free((char *)g.pk[i].comment);
		g.pk[i].comment = NULL;
		umpa_pkt_release(&g.pk[i]);
	}
	free(g.pk);
	for (int i = 0; i < g.nstreams; i++) {
		free(g.want[i].data[0]);
		free(g.want[i].data[1]);
	}
	free(g.keylog);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions_and_keys),
	    cmocka_unit_test(test_resumption),
	    cmocka_unit_test(test_early_data),
	    cmocka_unit_test(test_external_psk),
	    cmocka_unit_test(test_key_update_renegotiation),
	    cmocka_unit_test(test_client_cert),
	    cmocka_unit_test(test_failed_handshake),
	    cmocka_unit_test(test_verification),
	    cmocka_unit_test(test_records_and_segments),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_step_interleaved),
	    cmocka_unit_test(test_report_format),
	    cmocka_unit_test(test_labels_match_records),
	    cmocka_unit_test(test_tshark_decrypts_everything),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
