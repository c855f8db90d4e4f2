/* tls_sweep.c - `umpa tls --sweep`: every protocol version x cipher suite the
 * linked OpenSSL can negotiate, one conversation each, into one capture.
 *
 * Enumeration (what the linked OpenSSL offers, found by asking it):
 * - TLS 1.0, 1.1, 1.2: a client SSL_CTX pinned to the version, at security
 *   level 0, with the cipher list "ALL:COMPLEMENTOFALL" (or --ciphers) and a
 *   PSK client callback; every suite of that list (SSL_get_ciphers) whose
 *   minimum version is at most the swept one is listed in the report:
 *   the ones SSL_get1_supported_ciphers() says the client would offer are
 *   tried, the others are "not tried" with the reason: SRP suites (SRP is
 *   deprecated in OpenSSL 3: the pump does not use its deprecated API), or
 *   "OpenSSL does not offer it" (e.g. an algorithm a provider lacks).  So
 *   ok + failed + not tried for a version is the number of suites
 *   `openssl ciphers -v 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'` lists for it.
 * - PSK suites (PSK, DHE-PSK, ECDHE-PSK, RSA-PSK) run with an external PSK:
 *   --psk's, or 32 random bytes made for the sweep (identity "umpa").  The
 *   key log carries their master secrets as for any suite, so they decrypt.
 *   Other suites run without a PSK (TLS 1.3 ones with certificates).
 * - TLS 1.3: each RFC 8446 suite name is tried with SSL_CTX_set_ciphersuites
 *   (or the --ciphersuites list is used); the ones OpenSSL accepts are swept.
 * - Versions: TLS 1.0 to 1.3, narrowed by --version/--min-version/--max-version
 *   when given (a version OpenSSL refuses at level 0 yields no suite).
 *
 * Security level 0 for the whole sweep: OpenSSL 3 refuses TLS 1.0/1.1
 * (their MD5+SHA1 signatures) and weak suites (NULL encryption, 3DES,
 * anonymous) at its default level 1 or above.  The summary says so.
 *
 * Each suite gets the server key its authentication needs: RSA-2048 for
 * RSA-signed, anonymous and TLS 1.3 suites, ECDSA P-256 for ECDSA suites,
 * DSA-2048 for DSS suites; keys and self-signed certificates (CN and SAN =
 * the SNI, or umpa.test) are made once per sweep in a private temporary
 * folder, so the hundreds of conversations cost no key generation.  A
 * --cert/--key given by the user is used for every suite instead.  The
 * client does not fail on verification (verify = 0): the result is reported.
 *
 * Each conversation is labelled: the client sends "TLSv1.2 ECDHE-RSA-
 * AES128-GCM-SHA256", the server answers the same text followed by " ok",
 * and every packet comment starts with "[TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256]".
 * A handshake that fails is still written (its alert and teardown) and listed
 * with OpenSSL's reason.  Conversations follow each other in time (one
 * millisecond apart), client ports counting up from 40000 unless --client
 * gives one (then from it), TCP seed + i per conversation.
 *
 * The other options of umpa tls (TCP, SNI, ALPN, groups, sigalgs, data
 * sizes aside) apply to every conversation; -n, --resume and --early-data do
 * not (one full handshake per combination).
 *
 * DHE and anonymous DH suites negotiate: the pump sets the server's DH
 * parameters automatically (SSL_CTX_set_dh_auto).
 *
 * Packets of a conversation are held until it ends, so in pcapng the
 * Decryption Secrets Block carrying its keys comes before them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "umpa_sbuf.h"
#include "umpa_capfile.h"
#include "umpa_tls.h"
#include "umpa_tls_opts.h"
#include "umpa_tool.h"

/* ---- enumeration ---- */

/** A version the sweep can try. */
struct sweep_ver_ {
	const char *name; /* OpenSSL's name, as SSL_get_version prints it */
	int ver;
};

static const struct sweep_ver_ sweep_vers_[] = {
    {"TLSv1", TLS1_VERSION},
    {"TLSv1.1", TLS1_1_VERSION},
    {"TLSv1.2", TLS1_2_VERSION},
    {"TLSv1.3", TLS1_3_VERSION},
};

/* RFC 8446 appendix B.4, in its order. */
static const char *const sweep_tls13_[] = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",   "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
};

/** Server keys by the authentication a suite needs. */
enum sweep_key_ {
	SWEEP_RSA_ = 0,
	SWEEP_ECDSA_ = 1,
	SWEEP_DSA_ = 2,
	SWEEP_NKEYS_ = 3,
};

static const char *const sweep_key_names_[SWEEP_NKEYS_] = {"rsa:2048", "ec:P-256", "dsa:2048"};

/** One combination to run. */
struct sweep_combo_ {
	int vi;         /* index in sweep_vers_ */
	char suite[64]; /* OpenSSL's name of the suite */
	enum sweep_key_ key;
	int psk;               /* a PSK suite: runs with the sweep's external PSK */
	const char *not_tried; /* not run: why (a static string); NULL: run */
};

/** A growable list of combinations. */
struct sweep_list_ {
	struct sweep_combo_ *v;
	size_t n, cap;
};

static int list_add_(struct sweep_list_ *l, int vi, const char *suite, enum sweep_key_ key, int psk,
		     const char *not_tried)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct sweep_combo_ *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	struct sweep_combo_ *c = &l->v[l->n++];
	c->vi = vi;
	snprintf(c->suite, sizeof c->suite, "%s", suite);
	c->key = key;
	c->psk = psk;
	c->not_tried = not_tried;
	return 0;
}

/* Version index of @p name ("TLSv1.2", "1.2", "TLSv1.0", "1.0", "1"), or -1. */
static int ver_index_(const char *name)
{
	static const char *const alias[][3] = {
	    {"TLSv1", "TLSv1.0", "1.0"},
	    {"TLSv1.1", "1.1", NULL},
	    {"TLSv1.2", "1.2", NULL},
	    {"TLSv1.3", "1.3", NULL},
	};
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 3; j++)
			if (alias[i][j] && strcmp(name, alias[i][j]) == 0)
				return i;
	return -1;
}

static enum sweep_key_ key_for_(const SSL_CIPHER *c)
{
	switch (SSL_CIPHER_get_auth_nid(c)) {
	case NID_auth_ecdsa:
		return SWEEP_ECDSA_;
	case NID_auth_dss:
		return SWEEP_DSA_;
	default: /* RSA, anonymous (the key is not used), TLS 1.3 (any) */
		return SWEEP_RSA_;
	}
}

/* Enumeration only: lets OpenSSL count the PSK suites as offered. */
static unsigned int enum_psk_cb_(SSL *ssl, const char *hint, char *id, unsigned int max_id, unsigned char *psk,
				 unsigned int max_psk)
{
	(void)ssl;
	(void)hint;
	(void)id;
	(void)max_id;
	(void)psk;
	(void)max_psk;
	return 0;
}

/* Protocol version number of a suite's minimum version name ("SSLv3", "TLSv1", "TLSv1.2"); 0 unknown. */
static int min_version_(const SSL_CIPHER *c)
{
	const char *v = SSL_CIPHER_get_version(c);

	if (!v)
		return 0;
	if (!strcmp(v, "SSLv3"))
		return SSL3_VERSION;
	if (!strcmp(v, "TLSv1") || !strcmp(v, "TLSv1.0"))
		return TLS1_VERSION;
	if (!strcmp(v, "TLSv1.1"))
		return TLS1_1_VERSION;
	if (!strcmp(v, "TLSv1.2"))
		return TLS1_2_VERSION;
	if (!strcmp(v, "TLSv1.3"))
		return TLS1_3_VERSION;
	return 0;
}

static int is_psk_(const SSL_CIPHER *c)
{
	int kx = SSL_CIPHER_get_kx_nid(c);
	return kx == NID_kx_psk || kx == NID_kx_dhe_psk || kx == NID_kx_ecdhe_psk || kx == NID_kx_rsa_psk;
}

/* Is @p c in @p sk? */
static int has_cipher_(STACK_OF(SSL_CIPHER) * sk, const SSL_CIPHER *c)
{
	for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk); i++)
		if (SSL_CIPHER_get_id(sk_SSL_CIPHER_value(sk, i)) == SSL_CIPHER_get_id(c))
			return 1;
	return 0;
}

/* The suites of @p cipherlist usable in TLS <= 1.2 version @p vi: the ones a client would offer to try, the
 * others listed as not tried. */
static int enum_tls12_(struct sweep_list_ *l, int vi, const char *cipherlist)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *s = NULL;
	STACK_OF(SSL_CIPHER) *sk = NULL, *all;
	int rc = -1;

	if (!ctx)
		goto out;
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_psk_client_callback(ctx, enum_psk_cb_);
	if (!SSL_CTX_set_min_proto_version(ctx, sweep_vers_[vi].ver) ||
	    !SSL_CTX_set_max_proto_version(ctx, sweep_vers_[vi].ver))
		goto out;
	if (!SSL_CTX_set_cipher_list(ctx, cipherlist)) {
		rc = -2;
		goto out;
	}
	s = SSL_new(ctx);
	if (!s)
		goto out;
	sk = SSL_get1_supported_ciphers(s);
	all = SSL_get_ciphers(s);
	rc = 0;
	for (int i = 0; all && i < sk_SSL_CIPHER_num(all); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
		const char *why = NULL;
		if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) /* a TLS 1.3 suite */
			continue;
		if (min_version_(c) > sweep_vers_[vi].ver)
			continue; /* newer than the version swept */
		if (!has_cipher_(sk, c))
			why = SSL_CIPHER_get_kx_nid(c) == NID_kx_srp ? "SRP is deprecated in OpenSSL 3"
								     : "OpenSSL does not offer it for this version";
		if (list_add_(l, vi, SSL_CIPHER_get_name(c), key_for_(c), is_psk_(c), why) < 0) {
			rc = -1;
			break;
		}
	}
out:
	sk_SSL_CIPHER_free(sk);
	SSL_free(s);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* The TLS 1.3 suites OpenSSL accepts, from @p list (NULL: every RFC 8446 name). */
static int enum_tls13_(struct sweep_list_ *l, int vi, const char *list)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char *copy = list ? strdup(list) : NULL;
	int rc = 0;

	if (!ctx || (list && !copy)) {
		rc = -1;
		goto out;
	}
	if (copy) {
		char *save = NULL;
		for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
			if (SSL_CTX_set_ciphersuites(ctx, t) && list_add_(l, vi, t, SWEEP_RSA_, 0, NULL) < 0) {
				rc = -1;
				break;
			}
	} else {
		for (size_t i = 0; i < sizeof sweep_tls13_ / sizeof *sweep_tls13_; i++)
			if (SSL_CTX_set_ciphersuites(ctx, sweep_tls13_[i]) &&
			    list_add_(l, vi, sweep_tls13_[i], SWEEP_RSA_, 0, NULL) < 0) {
				rc = -1;
				break;
			}
	}
out:
	free(copy);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* ---- keys ---- */

/* Write a key of kind @p k and a self-signed certificate for @p cn into @p dir (sched/tls_cert.c makes them). */
static int make_cert_(const char *dir, enum sweep_key_ k, const char *cn, char *crt_path, char *key_path, size_t n,
		      struct umpa_err *e)
{
	static const char *const types[SWEEP_NKEYS_] = {"rsa:2048", "ec:P-256", "dsa:2048"};
	static const char *const names[SWEEP_NKEYS_] = {"rsa", "ecdsa", "dsa"};

	snprintf(crt_path, n, "%s/%s.crt", dir, names[k]);
	snprintf(key_path, n, "%s/%s.key", dir, names[k]);
	return umpa_tls_cert_write_pem(types[k], cn, crt_path, key_path, e);
}

/* ---- capture: a conversation's packets are held until its keys are known ---- */

struct held_pkt_ {
	uint8_t *data;
	uint32_t len, cap;
	int linktype;
	int64_t sec;
	uint32_t nsec;
	char *comment;
};

struct sweep_out_ {
	struct umpa_capw *w;
	int pcapng;
	struct held_pkt_ *v;
	size_t n, cap;
	uint64_t packets;
};

static int hold_(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct sweep_out_ *o = arg;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct held_pkt_ *v = realloc(o->v, cap * sizeof *v);
		if (!v)
			return umpa_err_set(e, UMPA_ENOMEM, "no memory for packets");
		memset(v + o->cap, 0, (cap - o->cap) * sizeof *v);
		o->v = v;
		o->cap = cap;
	}
	struct held_pkt_ *h = &o->v[o->n];
	if (h->cap < p->len) {
		uint8_t *d = realloc(h->data, p->len);
		if (!d)
			return umpa_err_set(e, UMPA_ENOMEM, "no memory for packets");
		h->data = d;
		h->cap = p->len;
	}
	memcpy(h->data, p->data, p->len);
	h->len = p->len;
	h->linktype = p->linktype;
	h->sec = p->ts_sec;
	h->nsec = p->ts_nsec;
	free(h->comment);
	h->comment = NULL;
	if (comment && !(h->comment = strdup(comment)))
		return umpa_err_set(e, UMPA_ENOMEM, "no memory for packets");
	o->n++;
	return 0;
}

/* Write the held packets, after a secrets block with @p keylog in pcapng. */
static int flush_(struct sweep_out_ *o, const char *keylog, size_t klen, struct umpa_err *e)
{
	struct umpa_pkt p;
	int rc;

	if (o->pcapng && klen > 0) {
		rc = umpa_capw_secrets(o->w, UMPA_SECRETS_TLS_KEYLOG, keylog, (uint32_t)klen, e);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < o->n; i++) {
		struct held_pkt_ *h = &o->v[i];
		umpa_pkt_init(&p);
		umpa_pkt_attach(&p, h->data, h->len, h->len, h->linktype);
		p.ts_sec = h->sec;
		p.ts_nsec = h->nsec;
		p.comment = h->comment;
		rc = umpa_capw_write(o->w, &p, e);
		if (rc < 0)
			return rc;
	}
	o->packets += o->n;
	o->n = 0;
	return 0;
}

static void out_free_(struct sweep_out_ *o)
{
	for (size_t i = 0; i < o->cap; i++) {
		free(o->v[i].data);
		free(o->v[i].comment);
	}
	free(o->v);
}

/* ---- the sweep ---- */

/* Print @p s as a JSON string (the escaping of every other JSON umpa prints). */
static void json_str_(FILE *f, const char *s)
{
	struct umpa_sbuf b = {0};

	umpa_sbuf_put_json_str(&b, s, strlen(s));
	fwrite(b.s, 1, b.len, f);
	umpa_sbuf_free(&b);
}

/* Print @p s and a newline, terminal-safe: errors quote files and peers (umpa_sbuf_put_safe). */
static void text_line_(FILE *f, const char *s)
{
	struct umpa_sbuf b = {0};

	umpa_sbuf_put_safe(&b, s, strlen(s));
	umpa_sbuf_putc(&b, '\n');
	fwrite(b.s, 1, b.len, f);
	umpa_sbuf_free(&b);
}

/* One line of reason for a failed conversation. */
static const char *reason_(const struct umpa_tls_report *r)
{
	if (r->error[0])
		return r->error;
	if (r->alert[0])
		return r->alert;
	return "handshake did not complete";
}

int tls_sweep(const struct umpa_tls_opts *base, const char *out, int pcapng, const char *keylog_path, int json)
{
	struct sweep_list_ l = {0};
	struct sweep_out_ o = {0};
	struct umpa_err e = {0};
	char dir[] = "/tmp/umpa-sweep.XXXXXX";
	char crt[SWEEP_NKEYS_][4096], key[SWEEP_NKEYS_][4096];
	int have_key[SWEEP_NKEYS_] = {0};
	int dir_made = 0, ret = UMPA_EXIT_ERROR, keylog_fd = -1;
	size_t nok = 0, nfail = 0, nskip = 0;
	unsigned char pskkey[32];
	char *rep = NULL;
	size_t rep_cap = 0;
	const struct umpa_tls_side *bc = &base->side[UMPA_TCPS_CLIENT];
	const struct umpa_tls_side *bs = &base->side[UMPA_TCPS_SERVER];
	const char *cn = base->sni ? base->sni : "umpa.test";
	const char *min = bc->min_version ? bc->min_version : bs->min_version;
	const char *max = bc->max_version ? bc->max_version : bs->max_version;
	const char *ciphers = bc->ciphers ? bc->ciphers : bs->ciphers;
	const char *suites = bc->ciphersuites ? bc->ciphersuites : bs->ciphersuites;
	int vmin = min ? ver_index_(min) : 0, vmax = max ? ver_index_(max) : 3;
	FILE *rf = strcmp(out, "-") == 0 ? stderr : stdout; /* the report, away from a capture on stdout */

	if (vmin < 0 || vmax < 0) {
		tool_err("--version: unknown TLS version '%s' (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)",
			 vmin < 0 ? min : max);
		return UMPA_EXIT_USAGE;
	}
	if (vmin > vmax) {
		tool_err("--version: minimum %s is above maximum %s", min, max);
		return UMPA_EXIT_USAGE;
	}
	for (int vi = vmin; vi <= vmax; vi++) {
		int rc = sweep_vers_[vi].ver == TLS1_3_VERSION
			     ? enum_tls13_(&l, vi, suites)
			     : enum_tls12_(&l, vi, ciphers ? ciphers : "ALL:COMPLEMENTOFALL");
		if (rc == -2) {
			tool_err("--ciphers: no cipher matches '%s'", ciphers);
			ret = UMPA_EXIT_USAGE;
			goto done;
		}
		if (rc < 0) {
			tool_err("sweep: cannot enumerate %s suites", sweep_vers_[vi].name);
			goto done;
		}
	}
	if (l.n == 0) {
		tool_err("sweep: no cipher suite to try (check --version, --ciphers, --ciphersuites)");
		ret = UMPA_EXIT_USAGE;
		goto done;
	}

	/* keys: the user's, or one of each kind the suites need */
	if (!bs->cert_file) {
		if (!mkdtemp(dir)) {
			tool_err("sweep: cannot create a temporary folder: %s", strerror(errno));
			goto done;
		}
		dir_made = 1;
		for (size_t i = 0; i < l.n; i++) {
			enum sweep_key_ k = l.v[i].key;
			if (have_key[k] || l.v[i].not_tried)
				continue;
			if (make_cert_(dir, k, cn, crt[k], key[k], sizeof crt[k], &e) < 0) {
				tool_err("sweep: cannot make a %s key and certificate: %s", sweep_key_names_[k], e.msg);
				goto done;
			}
			have_key[k] = 1;
		}
	}

	if (!base->psk && RAND_bytes(pskkey, sizeof pskkey) != 1) {
		tool_err("sweep: cannot make a PSK: no randomness");
		goto done;
	}

	o.pcapng = pcapng;
	o.w = umpa_capw_open(out, pcapng ? UMPA_CAP_PCAPNG : UMPA_CAP_PCAP, 1 /* LINKTYPE_ETHERNET */, &e);
	if (!o.w) {
		tool_err("%s", e.msg);
		goto done;
	}
	if (keylog_path) {
		keylog_fd = open(keylog_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (keylog_fd < 0) {
			tool_err("--keylog: %s: %s", keylog_path, strerror(errno));
			goto done;
		}
	}
	if (json)
		fprintf(rf, "{\"security_level\": 0, \"conversations\": [");

	int64_t t_ns = (int64_t)base->tcp.start_sec * 1000000000 + base->tcp.start_nsec;
	uint16_t port0 = base->tcp.port[UMPA_TCPS_CLIENT] ? base->tcp.port[UMPA_TCPS_CLIENT] : 40000;
	for (size_t i = 0; i < l.n; i++) {
		const struct sweep_combo_ *c = &l.v[i];
		const char *vname = sweep_vers_[c->vi].name;
		char label[96], sdata[100];
		struct umpa_tls_opts opts = *base;
		struct umpa_tls *t = NULL;
		struct umpa_tls_conv *cv = NULL;
		int rc;

		if (c->not_tried) {
			nskip++;
			if (json) {
				fprintf(rf, "%s{\"version\": ", i ? ", " : "");
				json_str_(rf, vname);
				fprintf(rf, ", \"cipher\": ");
				json_str_(rf, c->suite);
				fprintf(rf, ", \"ok\": false, \"tried\": false, \"reason\": ");
				json_str_(rf, c->not_tried);
				fprintf(rf, "}");
			} else {
				fprintf(rf, "skip %-8s %-40s not tried: %s\n", vname, c->suite, c->not_tried);
			}
			continue;
		}
		snprintf(label, sizeof label, "%s %s", vname, c->suite);
		snprintf(sdata, sizeof sdata, "%s ok", label);
		opts.label = label;
		opts.verify = 0;
		opts.resume = UMPA_TLS_RESUME_NONE;
		opts.early_data = NULL;
		opts.early_len = 0;
		opts.psk = NULL;
		opts.psk_len = 0;
		if (c->psk) {
			opts.psk = base->psk ? base->psk : pskkey;
			opts.psk_len = base->psk ? base->psk_len : sizeof pskkey;
		}
		for (int s = 0; s < 2; s++) {
			struct umpa_tls_side *sd = &opts.side[s];
			sd->min_version = sd->max_version = vname;
			sd->security_level = 0;
			if (sweep_vers_[c->vi].ver == TLS1_3_VERSION) {
				sd->ciphersuites = c->suite;
			} else {
				sd->ciphers = c->suite;
			}
			if (!bs->cert_file && !(s == UMPA_TCPS_CLIENT && base->client_cert)) {
				sd->cert_file = crt[c->key];
				sd->key_file = key[c->key];
				sd->ca_file = crt[c->key];
			}
		}
		opts.side[UMPA_TCPS_CLIENT].data = label;
		opts.side[UMPA_TCPS_CLIENT].data_len = strlen(label);
		opts.side[UMPA_TCPS_SERVER].data = sdata;
		opts.side[UMPA_TCPS_SERVER].data_len = strlen(sdata);
		opts.tcp.start_sec = t_ns / 1000000000;
		opts.tcp.start_nsec = t_ns % 1000000000;
		opts.tcp.port[UMPA_TCPS_CLIENT] = (uint16_t)(port0 + i);
		opts.tcp.seed = base->tcp.seed + i;

		t = umpa_tls_new(&opts, &e);
		if (!t) {
			/* a combination OpenSSL refuses before any packet: listed, nothing written */
			nfail++;
			if (json) {
				fprintf(rf, "%s{\"version\": ", i ? ", " : "");
				json_str_(rf, vname);
				fprintf(rf, ", \"cipher\": ");
				json_str_(rf, c->suite);
				fprintf(rf, ", \"key\": \"%s\", \"ok\": false, \"error\": ", sweep_key_names_[c->key]);
				json_str_(rf, e.msg);
				fprintf(rf, "}");
			} else {
				fprintf(rf, "FAIL %-8s %-40s ", vname, c->suite);
				text_line_(rf, e.msg);
			}
			continue;
		}
		cv = umpa_tls_conv_new(t, &opts.tcp, 0, hold_, &o, &e);
		if (!cv) {
			tool_err("sweep: %s: %s", label, e.msg);
			umpa_tls_free(t);
			goto close;
		}
		while ((rc = umpa_tls_conv_step(cv, &e)) > 0)
			;
		if (rc < 0) {
			tool_err("sweep: %s: %s", label, e.msg);
			umpa_tls_conv_free(cv);
			umpa_tls_free(t);
			goto close;
		}
		size_t klen = 0;
		const char *kl = umpa_tls_conv_keylog(cv, &klen);
		if (flush_(&o, kl, klen, &e) < 0) {
			tool_err("%s", e.msg);
			umpa_tls_conv_free(cv);
			umpa_tls_free(t);
			goto close;
		}
		if (keylog_fd >= 0 && klen > 0 && write(keylog_fd, kl, klen) != (ssize_t)klen) {
			tool_err("--keylog: %s: %s", keylog_path, strerror(errno));
			umpa_tls_conv_free(cv);
			umpa_tls_free(t);
			goto close;
		}
		const struct umpa_tls_report *r = umpa_tls_conv_report(cv);
		int ok = r->handshake_ok && r->app_bytes[0] == strlen(label) && r->app_bytes[1] == strlen(sdata);
		if (ok)
			nok++;
		else
			nfail++;
		if (json) {
			size_t need = umpa_tls_report_json(r, rep, rep_cap);
			if (need >= rep_cap) {
				char *nr = realloc(rep, need + 1);
				if (!nr) {
					tool_err("sweep: no memory");
					umpa_tls_conv_free(cv);
					umpa_tls_free(t);
					goto close;
				}
				rep = nr;
				rep_cap = need + 1;
				umpa_tls_report_json(r, rep, rep_cap);
			}
			fprintf(rf, "%s{\"version\": ", i ? ", " : "");
			json_str_(rf, vname);
			fprintf(rf, ", \"cipher\": ");
			json_str_(rf, c->suite);
			fprintf(rf, ", \"key\": \"%s\", \"ok\": %s", bs->cert_file ? "user" : sweep_key_names_[c->key],
				ok ? "true" : "false");
			if (!ok) {
				fprintf(rf, ", \"error\": ");
				json_str_(rf, reason_(r));
			}
			fprintf(rf, ", \"report\": %s}", rep);
		} else if (ok) {
			fprintf(rf, "ok   %-8s %-40s %s%s%s\n", vname, c->suite,
				bs->cert_file ? "user key" : sweep_key_names_[c->key], r->group[0] ? " " : "",
				r->group);
		} else {
			fprintf(rf, "FAIL %-8s %-40s ", vname, c->suite);
			text_line_(rf, reason_(r));
		}
		t_ns = umpa_tls_conv_now_ns(cv) + 1000000;
		umpa_tls_conv_free(cv);
		umpa_tls_free(t);
	}
	ret = UMPA_EXIT_OK;
close:
	if (json) {
		fprintf(rf, "], \"ok\": %zu, \"failed\": %zu, \"not_tried\": %zu}\n", nok, nfail, nskip);
	} else {
		fprintf(rf,
			"sweep: %zu ok, %zu failed, %zu not tried, %zu conversation%s, %llu packet%s in %s (security "
			"level 0: OpenSSL 3 needs it for TLS 1.0/1.1 and weak suites)\n",
			nok, nfail, nskip, l.n - nskip, tool_s(l.n - nskip), (unsigned long long)o.packets,
			tool_s(o.packets), out);
	}
	if (umpa_capw_close(o.w, &e) < 0 && ret == UMPA_EXIT_OK) {
		tool_err("%s", e.msg);
		ret = UMPA_EXIT_ERROR;
	}
	if (keylog_fd >= 0 && close(keylog_fd) != 0 && ret == UMPA_EXIT_OK) {
		tool_err("--keylog: %s: %s", keylog_path, strerror(errno));
		ret = UMPA_EXIT_ERROR;
	}
done:
	if (dir_made) {
		for (int k = 0; k < SWEEP_NKEYS_; k++)
			if (have_key[k]) {
				unlink(crt[k]);
				unlink(key[k]);
			}
		rmdir(dir);
	}
	free(rep);
	out_free_(&o);
	free(l.v);
	return ret;
}
