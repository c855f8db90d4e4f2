/* tls.c - the TLS pump: an OpenSSL client and server joined by memory BIOs,
 * each flight handed to a userland TCP stream (see umpa_tls.h).
 *
 * A conversation is a small scheduler over two SSL objects.  At each step the
 * side that has unread input processes it (handshake, early data, records);
 * if that produced output, the output is one flight: one umpa_tcps_send from
 * that side, and the same bytes go into the peer's read BIO.  When neither
 * side has input left, the next scripted action runs (client data, server
 * data, renegotiations, close_notify), and when none is left, TCP closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_internal.h"
#include "umpa_protos.h"
#include "umpa_sched.h"

#define C_ UMPA_TCPS_CLIENT
#define S_ UMPA_TCPS_SERVER

/* A growable text buffer. */
struct tbuf_ {
	char *p;
	size_t len, cap;
};

static int tbuf_add_(struct tbuf_ *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

/* Labels (comments) per flight: one per TLS record, as many as a flight of 1 MB of data needs. */
#define UMPA_TLS_MAX_LABELS_ 80

struct umpa_tls {
	struct umpa_tls_opts o; /* copy; its strings and buffers point into own[] */
	void *own[40];
	unsigned nown;
	SSL_CTX *ctx[2];
	unsigned char *alpn[2]; /* wire format (length-prefixed) */
	unsigned alpn_len[2];
	SSL_SESSION *sess; /* the client's last resumable session */
	struct tbuf_ keylog;
	int oom;
	/* Labels of the flight being written: filled and used within one conversation step. */
	struct {
		size_t off;
		char text[160];
	} lab[2][UMPA_TLS_MAX_LABELS_];
	unsigned nlab[2];
	struct umpa_tcps_label tl[UMPA_TLS_MAX_LABELS_];
};

enum phase_ { P_CONNECT_, P_START_, P_RUN_, P_CLOSE_, P_DONE_ };
enum act_ { A_DATA_C_, A_DATA_S_, A_RENEG_C_, A_RENEG_S_, A_CLOSE_C_, A_CLOSE_S_, A_END_ };

struct umpa_tls_conv {
	int live_; /* 0: tells a conversation from a live session (struct umpa_tls_live) behind SSL app data */
	struct umpa_tls *t;
	SSL *ssl[2];
	BIO *rb[2], *wb[2]; /* owned by ssl[] */
	struct umpa_tcps *tcp;
	umpa_tcps_emit_cb emit;
	void *arg;
	struct umpa_tls_report rep;
	enum phase_ phase;
	enum act_ act;
	int hs_done[2];
	int dead[2]; /* this side hit a fatal error */
	int failed;  /* 1 + the side that failed first, 0 if none */
	int got_close[2];
	int early_w;                /* client starts with SSL_write_early_data */
	int early_r;                /* server reads with SSL_read_early_data */
	int renegs[2];              /* renegotiations started */
	int finished_c;             /* Finished messages the client wrote */
	long msg_start[2];          /* offset of the first record of the message being written, -1: none */
	size_t wr_off[2];           /* bytes of the records built since the last flight */
	const char *app_name[2];    /* while application data is written: its label */
	int in_run;                 /* made by umpa_tls_run: its keys also go to the pump's log */
	umpa_tls_conv_done_cb done; /* umpa_tls_conv_start: told at the end */
	void *done_arg;
	int over;                     /* umpa_tls_conv_step said 0: the end comes once the TCP side is idle */
	int started;                  /* umpa_tls_conv_start was called */
	int psk_used;                 /* the server's PSK callback handed out the external PSK */
	const SSL_CIPHER *psk_cipher; /* TLS 1.3: the suite of the client's external PSK session */
	struct tbuf_ keylog;
	unsigned char buf[16384];
};

/* The conversation SSL object @p ssl belongs to; NULL for none or for a live session (umpa_tls_live_new),
 * whose app data starts with live_ = 1. */
static struct umpa_tls_conv *conv_of_(const SSL *ssl)
{
	int *kind = SSL_get_app_data(ssl);

	return kind && *kind == 0 ? (struct umpa_tls_conv *)(void *)kind : NULL;
}

static void live_keylog_(const SSL *ssl, const char *line);

/* ---- options ---- */

static const char *own_str_(struct umpa_tls *t, const char *s)
{
	char *d;

	if (!s || t->nown >= sizeof(t->own) / sizeof(t->own[0]))
		return s && t->nown >= sizeof(t->own) / sizeof(t->own[0]) ? NULL : s;
	d = strdup(s);
	if (d)
		t->own[t->nown++] = d;
	else
		t->oom = 1;
	return d;
}

static const void *own_mem_(struct umpa_tls *t, const void *p, size_t n)
{
	void *d;

	if (!p || !n)
		return NULL;
	d = malloc(n);
	if (!d || t->nown >= sizeof(t->own) / sizeof(t->own[0])) {
		free(d);
		t->oom = 1;
		return NULL;
	}
	memcpy(d, p, n);
	t->own[t->nown++] = d;
	return d;
}

void umpa_tls_opts_init(struct umpa_tls_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->side[C_].security_level = -1;
	o->side[S_].security_level = -1;
	umpa_tcps_opts_init(&o->tcp);
}

/* "TLSv1.2", "1.2", "tls1.2" ... -> TLS1_2_VERSION; 0 for NULL; -1 unknown. */
static int version_parse_(const char *s)
{
	static const struct {
		const char *name;
		int v;
	} tab[] = {
	    {"1", TLS1_VERSION},     {"1.0", TLS1_VERSION}, {"1.1", TLS1_1_VERSION}, {"1.2", TLS1_2_VERSION},
	    {"1.3", TLS1_3_VERSION}, {"3", SSL3_VERSION},   {"3.0", SSL3_VERSION},   {NULL, 0},
	};
	const char *p = s;

	if (!s || !*s)
		return 0;
	if (!strncasecmp(p, "TLSv", 4))
		p += 4;
	else if (!strncasecmp(p, "TLS", 3))
		p += 3;
	else if (!strncasecmp(p, "SSLv", 4)) {
		p += 4;
		if (strcmp(p, "3") && strcmp(p, "3.0"))
			return -1;
	}
	for (int i = 0; tab[i].name; i++)
		if (!strcmp(p, tab[i].name))
			return tab[i].v;
	return -1;
}

static const char *version_name_(int v)
{
	switch (v) {
	case SSL3_VERSION:
		return "SSLv3";
	case TLS1_VERSION:
		return "TLSv1";
	case TLS1_1_VERSION:
		return "TLSv1.1";
	case TLS1_2_VERSION:
		return "TLSv1.2";
	case TLS1_3_VERSION:
		return "TLSv1.3";
	default:
		return "any";
	}
}

/* OpenSSL's error queue as "reason; reason" into @p out. */
static void ssl_errors_(char *out, size_t n)
{
	unsigned long code;
	size_t len = strlen(out);

	while ((code = ERR_get_error()) != 0) {
		char one[256];
		ERR_error_string_n(code, one, sizeof(one));
		if (len + 3 < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "; " : "", one);
	}
}

/* Set "OPT: MSG[: OpenSSL's reasons]" in @p e, free @p t (may be NULL), return NULL. */
static struct umpa_tls *fail_new_(struct umpa_tls *t, struct umpa_err *e, int code, const char *opt, const char *msg)
{
	char why[300] = "";

	ssl_errors_(why, sizeof(why));
	umpa_err_set(e, code, "%s: %s%s%s", opt, msg, why[0] ? ": " : "", why);
	umpa_tls_free(t);
	return NULL;
}

/* Comma list -> ALPN wire format.  Returns 0 or -1 (bad entry). */
static int alpn_wire_(const char *list, unsigned char **out, unsigned *outlen)
{
	size_t n = strlen(list), w = 0;
	unsigned char *b = malloc(n + 1);
	const char *p = list;

	if (!b)
		return -1;
	while (1) {
		const char *q = strchr(p, ',');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		if (l == 0 || l > 255) {
			free(b);
			return -1;
		}
		b[w++] = (unsigned char)l;
		memcpy(b + w, p, l);
		w += l;
		if (!q)
			break;
		p = q + 1;
	}
	*out = b;
	*outlen = (unsigned)w;
	return 0;
}

static int alpn_select_cb_(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
			   unsigned int inlen, void *arg)
{
	struct umpa_tls *t = arg;
	unsigned char *sel = NULL;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, t->alpn[S_], t->alpn_len[S_], in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Report-only verification: remember the error, carry on. */
static int verify_accept_cb_(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static void msg_cb_(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg);
static void keylog_cb_(const SSL *ssl, const char *line);
static unsigned int psk_client_cb_(SSL *ssl, const char *hint, char *id, unsigned int max_id, unsigned char *psk,
				   unsigned int max_psk);
static unsigned int psk_server_cb_(SSL *ssl, const char *id, unsigned char *psk, unsigned int max_psk);
static int psk_use_session_cb_(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess);
static int psk_find_session_cb_(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess);

/* Trust @p x (and allow it to be a non-root anchor) in @p ctx's store. */
static int trust_cert_(SSL_CTX *ctx, X509 *x)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);

	if (!X509_STORE_add_cert(st, x))
		return 0;
	return X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
}

/* The last certificate of @p ctx's own chain (its anchor when loaded from PEM). */
static X509 *chain_last_(SSL_CTX *ctx)
{
	STACK_OF(X509) *sk = NULL;

	if (SSL_CTX_get0_chain_certs(ctx, &sk) && sk && sk_X509_num(sk) > 0)
		return sk_X509_value(sk, sk_X509_num(sk) - 1);
	return SSL_CTX_get0_certificate(ctx);
}

static int use_pem_ctx_(SSL_CTX *ctx, const struct umpa_tls_side *sd, const char *copt, const char *kopt,
			struct umpa_err *e)
{
	const char *kf = sd->key_file ? sd->key_file : sd->cert_file;
	char why[300] = "";

	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, sd->cert_file) != 1) {
		ssl_errors_(why, sizeof(why));
		/* a file named in the options that does not load is bad input (EINVAL: exit 2), as --static-cert */
		return umpa_err_set(e, UMPA_EINVAL, "%s: cannot read certificate '%s': %s", copt, sd->cert_file, why);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, kf, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			return umpa_err_set(e, UMPA_EINVAL, "%s: the key in '%s' does not match the certificate '%s'",
					    kopt, kf, sd->cert_file);
		}
		ssl_errors_(why, sizeof(why));
		return umpa_err_set(e, UMPA_EINVAL, "%s: cannot read private key '%s': %s", kopt, kf, why);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errors_(why, sizeof(why));
		return umpa_err_set(e, UMPA_EINVAL, "%s: the key in '%s' does not match the certificate: %s", kopt, kf,
				    why);
	}
	return 0;
}

static int use_pem_(struct umpa_tls *t, int s, const char *copt, const char *kopt, struct umpa_err *e)
{
	return use_pem_ctx_(t->ctx[s], &t->o.side[s], copt, kopt, e);
}

/* Do the two sides' strings differ? */
static int differ_(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* Set up @p ctx from side @p s of @p o: versions, lists, limits, ALPN (its wire form into *@p alpn, owned by
 * the caller; the server's selection callback only with a pump @p t).  Errors name the option key
 * (umpa_tls_opts.h): the both-sides one ("ciphers") unless the sides were given different values
 * ("server_ciphers"). */
static int ctx_apply_(SSL_CTX *ctx, const struct umpa_tls_opts *o, int s, int vmin, int vmax, unsigned char **alpn,
		      unsigned *alpn_len, struct umpa_tls *t, struct umpa_err *e)
{
	const struct umpa_tls_side *sd = &o->side[s];
	char why[300] = "";
	const char *sidepre = s == C_ ? "client_" : "server_";
	const char *pre = differ_(o->side[C_].min_version, o->side[S_].min_version) ||
				  differ_(o->side[C_].max_version, o->side[S_].max_version)
			      ? sidepre
			      : "";
#define DIFF_(f) (differ_(o->side[C_].f, o->side[S_].f) ? sidepre : "")

	ERR_clear_error();
	if (sd->security_level >= 0)
		SSL_CTX_set_security_level(ctx, sd->security_level > 5 ? 5 : sd->security_level);
	if (vmin && !SSL_CTX_set_min_proto_version(ctx, vmin))
		return umpa_err_set(e, UMPA_EINVAL, "%sversion: %s is not supported by this OpenSSL", pre,
				    version_name_(vmin));
	if (vmax && !SSL_CTX_set_max_proto_version(ctx, vmax))
		return umpa_err_set(e, UMPA_EINVAL, "%sversion: %s is not supported by this OpenSSL", pre,
				    version_name_(vmax));
	if (sd->ciphers && SSL_CTX_set_cipher_list(ctx, sd->ciphers) != 1) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_EINVAL, "%sciphers: no cipher matches '%s'", DIFF_(ciphers), sd->ciphers);
	}
	if (sd->ciphersuites && SSL_CTX_set_ciphersuites(ctx, sd->ciphersuites) != 1) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_EINVAL, "%sciphersuites: not a TLS 1.3 cipher suite list: '%s'",
				    DIFF_(ciphersuites), sd->ciphersuites);
	}
	if (sd->groups && SSL_CTX_set1_groups_list(ctx, sd->groups) != 1) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_EINVAL, "%sgroups: unknown group in '%s'", DIFF_(groups), sd->groups);
	}
	if (sd->sigalgs && SSL_CTX_set1_sigalgs_list(ctx, sd->sigalgs) != 1) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_EINVAL, "%ssigalgs: unknown signature algorithm in '%s'", DIFF_(sigalgs),
				    sd->sigalgs);
	}
	if (sd->max_record) {
		if (sd->max_record < 512 || sd->max_record > 16384)
			return umpa_err_set(e, UMPA_EINVAL, "max_record: %zu is not 512..16384", sd->max_record);
		SSL_CTX_set_max_send_fragment(ctx, (long)sd->max_record);
		if (s == C_) {
			int code = sd->max_record == 512    ? TLSEXT_max_fragment_length_512
				   : sd->max_record == 1024 ? TLSEXT_max_fragment_length_1024
				   : sd->max_record == 2048 ? TLSEXT_max_fragment_length_2048
				   : sd->max_record == 4096 ? TLSEXT_max_fragment_length_4096
							    : 0;
			if (code)
				SSL_CTX_set_tlsext_max_fragment_length(ctx, code);
		}
	}
	if (sd->alpn) {
		if (alpn_wire_(sd->alpn, alpn, alpn_len) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "%salpn: bad protocol list '%s' (names of 1..255 bytes)",
					    s == S_ && differ_(o->side[C_].alpn, sd->alpn) ? "server_" : "", sd->alpn);
		if (s == C_ && SSL_CTX_set_alpn_protos(ctx, *alpn, *alpn_len) != 0)
			return umpa_err_set(e, UMPA_ENOMEM, "alpn: cannot set '%s'", sd->alpn);
		if (s == S_ && t)
			SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb_, t);
	}
	if (sd->ca_file && SSL_CTX_load_verify_locations(ctx, sd->ca_file, NULL) != 1) {
		ssl_errors_(why, sizeof(why));
		return umpa_err_set(e, UMPA_EIO, "%s: cannot read '%s': %s", s == C_ ? "ca" : "client_ca", sd->ca_file,
				    why);
	}
	if (t)
		SSL_CTX_set_msg_callback(ctx, msg_cb_);
	return 0;
#undef DIFF_
}

static int ctx_side_(struct umpa_tls *t, int s, int vmin, int vmax, struct umpa_err *e)
{
	return ctx_apply_(t->ctx[s], &t->o, s, vmin, vmax, &t->alpn[s], &t->alpn_len[s], t, e);
}

int umpa_tls_ctx_apply(void *ssl_ctx, const struct umpa_tls_opts *o, int side, unsigned flags, struct umpa_err *e)
{
	SSL_CTX *ctx = ssl_ctx;
	const struct umpa_tls_side *sd = &o->side[side ? S_ : C_];
	int vmin = version_parse_(sd->min_version), vmax = version_parse_(sd->max_version), rc;
	unsigned char *alpn = NULL;
	unsigned alen = 0;

	if (vmin < 0 || vmax < 0)
		return umpa_err_set(e, UMPA_EINVAL, "version: unknown version '%s' (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)",
				    vmin < 0 ? sd->min_version : sd->max_version);
	if (vmin && vmax && vmin > vmax)
		return umpa_err_set(e, UMPA_EINVAL, "version: minimum %s is above maximum %s", version_name_(vmin),
				    version_name_(vmax));
	rc = ctx_apply_(ctx, o, side ? S_ : C_, vmin, vmax, &alpn, &alen, NULL, e);
	free(alpn);
	if (rc < 0)
		return rc;
	if ((flags & UMPA_TLS_CTX_CERT) && sd->cert_file &&
	    use_pem_ctx_(ctx, sd, side ? "cert" : "client_cert", side ? "key" : "client_key", e) < 0)
		return -UMPA_EIO;
	if (!side && !sd->ca_file && (flags & UMPA_TLS_CTX_SYSTEM_CA) && SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_EIO, "ca: cannot load the system's trusted certificates");
	}
	return 0;
}

struct umpa_tls *umpa_tls_new(const struct umpa_tls_opts *o, struct umpa_err *e)
{
	struct umpa_tls *t = calloc(1, sizeof(*t));
	int vmin[2], vmax[2], lo, hi;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *x = NULL;
	int need_ca;

	if (!t) {
		umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
		return NULL;
	}
	t->o = *o;
	for (int s = 0; s < 2; s++) {
		struct umpa_tls_side *sd = &t->o.side[s];
		const char **strs[] = {&sd->min_version, &sd->max_version, &sd->ciphers,   &sd->ciphersuites,
				       &sd->groups,      &sd->sigalgs,     &sd->cert_file, &sd->key_file,
				       &sd->ca_file,     &sd->key_type,    &sd->alpn};
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
			*strs[i] = own_str_(t, *strs[i]);
		sd->data = own_mem_(t, sd->data, sd->data_len);
		if (!sd->data)
			sd->data_len = 0;
	}
	t->o.sni = own_str_(t, t->o.sni);
	t->o.label = own_str_(t, t->o.label);
	t->o.psk_identity = own_str_(t, t->o.psk_identity ? t->o.psk_identity : "umpa");
	t->o.psk = own_mem_(t, t->o.psk, t->o.psk_len);
	if (!t->o.psk)
		t->o.psk_len = 0;
	t->o.early_data = own_mem_(t, t->o.early_data, t->o.early_len);
	if (!t->o.early_data)
		t->o.early_len = 0;
	if (t->oom) {
		umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
		return umpa_tls_free(t);
	}
	if (t->o.psk && (t->o.psk_len > 64 || strlen(t->o.psk_identity) > 128)) {
		umpa_err_set(e, UMPA_EINVAL, "psk: the key is 1 to 64 bytes, the identity at most 128 characters");
		return umpa_tls_free(t);
	}
	if (t->o.psk && (t->o.resume != UMPA_TLS_RESUME_NONE || t->o.early_len)) {
		umpa_err_set(e, UMPA_EINVAL, "psk: cannot be combined with resume or early_data");
		return umpa_tls_free(t);
	}

	/* Versions: each side's range, then what they share. */
	for (int s = 0; s < 2; s++) {
		const struct umpa_tls_side *sd = &t->o.side[s];
		vmin[s] = version_parse_(sd->min_version);
		vmax[s] = version_parse_(sd->max_version);
		if (vmin[s] < 0 || vmax[s] < 0) {
			umpa_err_set(e, UMPA_EINVAL, "version: unknown version '%s' (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)",
				     vmin[s] < 0 ? sd->min_version : sd->max_version);
			return umpa_tls_free(t);
		}
		if (vmin[s] && vmax[s] && vmin[s] > vmax[s]) {
			umpa_err_set(e, UMPA_EINVAL, "version: minimum %s is above maximum %s", version_name_(vmin[s]),
				     version_name_(vmax[s]));
			return umpa_tls_free(t);
		}
	}
	lo = vmin[C_] > vmin[S_] ? vmin[C_] : vmin[S_];
	hi = !vmax[C_] ? vmax[S_] : !vmax[S_] ? vmax[C_] : vmax[C_] < vmax[S_] ? vmax[C_] : vmax[S_];
	if (lo && hi && lo > hi) {
		umpa_err_set(e, UMPA_EINVAL, "version: the client (%s..%s) and the server (%s..%s) share no version",
			     version_name_(vmin[C_]), version_name_(vmax[C_]), version_name_(vmin[S_]),
			     version_name_(vmax[S_]));
		return umpa_tls_free(t);
	}
	/* Features bound to a version: cap an open range, refuse a closed one. */
	if (t->o.resume == UMPA_TLS_RESUME_ID || t->o.side[C_].renegotiations || t->o.side[S_].renegotiations) {
		const char *what = t->o.resume == UMPA_TLS_RESUME_ID ? "resume: 'id'"
				   : t->o.side[C_].renegotiations    ? "renegotiate:"
								     : "server_renegotiate:";
		if (lo >= TLS1_3_VERSION) {
			umpa_err_set(e, UMPA_EINVAL, "%s needs TLS 1.2 or older, the versions allow only TLSv1.3",
				     what);
			return umpa_tls_free(t);
		}
		if (!hi || hi > TLS1_2_VERSION) {
			if (vmax[C_] >= TLS1_3_VERSION || vmax[S_] >= TLS1_3_VERSION) {
				umpa_err_set(e, UMPA_EINVAL, "%s needs TLS 1.2 or older (the maximum asked is TLSv1.3)",
					     what);
				return umpa_tls_free(t);
			}
			vmax[C_] = hi = TLS1_2_VERSION;
		}
	}
	if ((t->o.resume == UMPA_TLS_RESUME_PSK || t->o.early_len || t->o.side[C_].key_updates ||
	     t->o.side[S_].key_updates) &&
	    hi && hi < TLS1_3_VERSION) {
		umpa_err_set(e, UMPA_EINVAL, "%s needs TLS 1.3, the versions allow at most %s",
			     t->o.resume == UMPA_TLS_RESUME_PSK ? "resume: 'psk'"
			     : t->o.early_len                   ? "early_data:"
			     : t->o.side[C_].key_updates        ? "key_update:"
								: "server_key_update:",
			     version_name_(hi));
		return umpa_tls_free(t);
	}
	if (t->o.early_len && t->o.resume == UMPA_TLS_RESUME_NONE)
		t->o.resume = UMPA_TLS_RESUME_TICKET;

	ERR_clear_error();
	t->ctx[C_] = SSL_CTX_new(TLS_client_method());
	t->ctx[S_] = SSL_CTX_new(TLS_server_method());
	if (!t->ctx[C_] || !t->ctx[S_])
		return fail_new_(t, e, UMPA_ENOMEM, "tls", "cannot create SSL contexts");
	for (int s = 0; s < 2; s++)
		if (ctx_side_(t, s, vmin[s], vmax[s], e) < 0)
			return umpa_tls_free(t);

	/* Certificates: generated ones share one CA whose key type is the server's. */
	need_ca = (!t->o.side[S_].cert_file && !t->o.self_signed) || (t->o.client_cert && !t->o.side[C_].cert_file);
	if (need_ca) {
		const char *kt = !t->o.side[S_].cert_file ? t->o.side[S_].key_type : t->o.side[C_].key_type;
		cakey = umpa_tls_keygen_(kt, e);
		if (!cakey && t->o.side[S_].cert_file)
			umpa_err_prefix(e, "client_"); /* the client's key type made the CA */
		if (!cakey || !(ca = umpa_tls_cert_make_(cakey, "umpa test CA", UMPA_TLS_CERT_CA_, NULL, NULL, e)))
			goto fail;
	}
	if (t->o.side[S_].cert_file) {
		if (use_pem_(t, S_, "cert", "key", e) < 0)
			goto fail;
	} else {
		const char *cn = t->o.sni && *t->o.sni ? t->o.sni : "umpa.test";
		int self = t->o.self_signed; /* the leaf signs itself: no CA */
		if (!(key = umpa_tls_keygen_(t->o.side[S_].key_type, e)) ||
		    !(x = umpa_tls_cert_make_(key, cn, UMPA_TLS_CERT_SERVER_, self ? NULL : ca, self ? NULL : cakey,
					      e)))
			goto fail;
		if (SSL_CTX_use_certificate(t->ctx[S_], x) != 1 || SSL_CTX_use_PrivateKey(t->ctx[S_], key) != 1) {
			fail_new_(NULL, e, UMPA_EINVAL, "key_type", "the server cannot use the generated key");
			goto fail;
		}
		if (self && !t->o.side[C_].ca_file && !trust_cert_(t->ctx[C_], x)) {
			umpa_err_set(e, UMPA_ENOMEM, "tls: cannot set up the client's trust store");
			goto fail;
		}
		X509_free(x);
		EVP_PKEY_free(key);
		x = NULL;
		key = NULL;
	}
	if (t->o.client_cert) {
		if (t->o.side[C_].cert_file) {
			if (use_pem_(t, C_, "client_cert", "client_key", e) < 0)
				goto fail;
		} else {
			if (!(key = umpa_tls_keygen_(t->o.side[C_].key_type, e))) {
				umpa_err_prefix(e, "client_"); /* "client_key_type: ..." */
				goto fail;
			}
			if (!(x = umpa_tls_cert_make_(key, "umpa client", UMPA_TLS_CERT_CLIENT_, ca, cakey, e)))
				goto fail;
			if (SSL_CTX_use_certificate(t->ctx[C_], x) != 1 ||
			    SSL_CTX_use_PrivateKey(t->ctx[C_], key) != 1) {
				fail_new_(NULL, e, UMPA_EINVAL, "client_key_type",
					  "the client cannot use the generated key");
				goto fail;
			}
			X509_free(x);
			EVP_PKEY_free(key);
			x = NULL;
			key = NULL;
		}
		SSL_CTX_set_verify(t->ctx[S_], SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   t->o.verify ? NULL : verify_accept_cb_);
		if (!t->o.side[S_].ca_file &&
		    !trust_cert_(t->ctx[S_], t->o.side[C_].cert_file ? chain_last_(t->ctx[C_]) : ca)) {
			umpa_err_set(e, UMPA_ENOMEM, "tls: cannot set up the server's trust store");
			goto fail;
		}
	}
	SSL_CTX_set_verify(t->ctx[C_], SSL_VERIFY_PEER, t->o.verify ? NULL : verify_accept_cb_);
	if (!t->o.side[C_].ca_file && (t->o.side[S_].cert_file || !t->o.self_signed) &&
	    !trust_cert_(t->ctx[C_], t->o.side[S_].cert_file ? chain_last_(t->ctx[S_]) : ca)) {
		umpa_err_set(e, UMPA_ENOMEM, "tls: cannot set up the client's trust store");
		goto fail;
	}
	X509_free(ca);
	EVP_PKEY_free(cakey);
	ca = NULL;
	cakey = NULL;

	/* Sessions and resumption. */
	SSL_CTX_set_session_id_context(t->ctx[S_], (const unsigned char *)"umpa", 4);
	SSL_CTX_set_keylog_callback(t->ctx[C_], keylog_cb_);
	SSL_CTX_set_keylog_callback(t->ctx[S_], keylog_cb_); /* live server sessions log theirs */
	if (t->o.resume == UMPA_TLS_RESUME_ID || t->o.resume == UMPA_TLS_RESUME_PSK) {
		SSL_CTX_set_options(t->ctx[S_], SSL_OP_NO_TICKET);
		SSL_CTX_set_options(t->ctx[C_], SSL_OP_NO_TICKET);
	}
	if (t->o.early_len) {
		uint32_t m = t->o.early_len > 16384 ? (uint32_t)t->o.early_len : 16384;
		SSL_CTX_set_max_early_data(t->ctx[S_], m);
		SSL_CTX_set_recv_max_early_data(t->ctx[S_], m);
	}
	if (t->o.side[C_].renegotiations)
		SSL_CTX_set_options(t->ctx[S_], SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	/* DHE suites: OpenSSL's built-in RFC 7919 groups sized to the certificate's strength */
	SSL_CTX_set_dh_auto(t->ctx[S_], 1);
	if (t->o.psk) {
		SSL_CTX_set_psk_client_callback(t->ctx[C_], psk_client_cb_);
		SSL_CTX_set_psk_server_callback(t->ctx[S_], psk_server_cb_);
		SSL_CTX_set_psk_use_session_callback(t->ctx[C_], psk_use_session_cb_);
		SSL_CTX_set_psk_find_session_callback(t->ctx[S_], psk_find_session_cb_);
	}
	return t;
fail:
	X509_free(x);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	ERR_clear_error();
	return umpa_tls_free(t);
}

struct umpa_tls *umpa_tls_free(struct umpa_tls *t)
{
	if (!t)
		return NULL;
	SSL_CTX_free(t->ctx[C_]);
	SSL_CTX_free(t->ctx[S_]);
	SSL_SESSION_free(t->sess);
	free(t->alpn[C_]);
	free(t->alpn[S_]);
	for (unsigned i = 0; i < t->nown; i++)
		free(t->own[i]);
	free(t->keylog.p);
	free(t);
	return NULL;
}

const char *umpa_tls_keylog(const struct umpa_tls *t, size_t *len)
{
	if (len)
		*len = t->keylog.len;
	return t->keylog.p ? t->keylog.p : "";
}

/* ---- callbacks ---- */

/* TLS <= 1.2 PSK suites, client: the identity and the key. */
static unsigned int psk_client_cb_(SSL *ssl, const char *hint, char *id, unsigned int max_id, unsigned char *psk,
				   unsigned int max_psk)
{
	struct umpa_tls_conv *c = conv_of_(ssl);
	size_t il;

	(void)hint;
	if (!c || !c->t->o.psk)
		return 0;
	il = strlen(c->t->o.psk_identity);
	if (il >= max_id || c->t->o.psk_len > max_psk)
		return 0;
	memcpy(id, c->t->o.psk_identity, il + 1);
	memcpy(psk, c->t->o.psk, c->t->o.psk_len);
	return (unsigned int)c->t->o.psk_len;
}

/* TLS <= 1.2 PSK suites, server: the key of a known identity. */
static unsigned int psk_server_cb_(SSL *ssl, const char *id, unsigned char *psk, unsigned int max_psk)
{
	struct umpa_tls_conv *c = conv_of_(ssl);

	if (!c || !c->t->o.psk || !id || strcmp(id, c->t->o.psk_identity) != 0 || c->t->o.psk_len > max_psk)
		return 0;
	memcpy(psk, c->t->o.psk, c->t->o.psk_len);
	c->psk_used = 1;
	return (unsigned int)c->t->o.psk_len;
}

/* A TLS 1.3 external PSK session: the key, suite @p ci, TLS 1.3. NULL on failure. */
static SSL_SESSION *psk_session_(const struct umpa_tls *t, const SSL_CIPHER *ci)
{
	SSL_SESSION *s = SSL_SESSION_new();

	if (!s || !SSL_SESSION_set1_master_key(s, t->o.psk, t->o.psk_len) || !SSL_SESSION_set_cipher(s, ci) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

/* TLS 1.3, client: offer the PSK with the first TLS 1.3 suite of the list (whose hash is @p md, if set). */
static int psk_use_session_cb_(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess)
{
	struct umpa_tls_conv *c = conv_of_(ssl);
	STACK_OF(SSL_CIPHER) *sk = SSL_get_ciphers(ssl);
	const SSL_CIPHER *ci = NULL;

	*sess = NULL;
	if (!c || !c->t->o.psk)
		return 1;
	for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk) && !ci; i++) {
		const SSL_CIPHER *x = sk_SSL_CIPHER_value(sk, i);
		const EVP_MD *h = SSL_CIPHER_get_handshake_digest(x);
		if (SSL_CIPHER_get_kx_nid(x) == NID_kx_any && (!md || (h && EVP_MD_is_a(md, EVP_MD_get0_name(h)))))
			ci = x;
	}
	if (!ci)
		return 1; /* no suite for it: no PSK offered */
	if (!(*sess = psk_session_(c->t, ci)))
		return 0;
	c->psk_cipher = ci;
	*id = (const unsigned char *)c->t->o.psk_identity;
	*idlen = strlen(c->t->o.psk_identity);
	return 1;
}

/* TLS 1.3, server: the PSK session of a known identity, with the client's suite. */
static int psk_find_session_cb_(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
	struct umpa_tls_conv *c = conv_of_(ssl);
	const SSL_CIPHER *ci;

	*sess = NULL;
	if (!c || !c->t->o.psk || idlen != strlen(c->t->o.psk_identity) || memcmp(id, c->t->o.psk_identity, idlen) != 0)
		return 1; /* unknown identity: a full handshake */
	ci = c->psk_cipher ? c->psk_cipher : SSL_get_pending_cipher(ssl);
	if (!ci)
		return 1;
	if (!(*sess = psk_session_(c->t, ci)))
		return 0;
	c->psk_used = 1;
	return 1;
}

static void keylog_cb_(const SSL *ssl, const char *line)
{
	struct umpa_tls_conv *c = conv_of_(ssl);
	size_t n = strlen(line);

	if (!c) {
		live_keylog_(ssl, line);
		return;
	}
	if (SSL_is_server((SSL *)ssl))
		return; /* the client logs the same secrets */
	if (tbuf_add_(&c->keylog, line, n) < 0 || tbuf_add_(&c->keylog, "\n", 1) < 0 ||
	    (c->in_run && (tbuf_add_(&c->t->keylog, line, n) < 0 || tbuf_add_(&c->t->keylog, "\n", 1) < 0)))
		c->t->oom = 1;
}

static const char *hs_name_(unsigned t)
{
	switch (t) {
	case 0:
		return "HelloRequest";
	case 1:
		return "ClientHello";
	case 2:
		return "ServerHello";
	case 4:
		return "NewSessionTicket";
	case 5:
		return "EndOfEarlyData";
	case 8:
		return "EncryptedExtensions";
	case 11:
		return "Certificate";
	case 12:
		return "ServerKeyExchange";
	case 13:
		return "CertificateRequest";
	case 14:
		return "ServerHelloDone";
	case 15:
		return "CertificateVerify";
	case 16:
		return "ClientKeyExchange";
	case 20:
		return "Finished";
	case 22:
		return "CertificateStatus";
	case 24:
		return "KeyUpdate";
	default:
		return NULL;
	}
}

/*
 * Label the record of side @p s's flight at output offset @p off with @p name.
 * The labels become the comments of the segments holding those offsets
 * (umpa_tcps_send_labelled).
 */
static void label_at_(struct umpa_tls_conv *c, int s, size_t off, const char *name)
{
	struct umpa_tls *t = c->t;
	unsigned i = t->nlab[s];

	if (i >= UMPA_TLS_MAX_LABELS_)
		return;
	t->lab[s][i].off = off;
	if (t->o.label)
		snprintf(t->lab[s][i].text, sizeof(t->lab[s][i].text), "[%.100s] %s", t->o.label, name);
	else
		snprintf(t->lab[s][i].text, sizeof(t->lab[s][i].text), "%s", name);
	t->nlab[s]++;
}

/* Label message @p name just written by side @p s: it starts at its first record. */
static void label_msg_(struct umpa_tls_conv *c, int s, const char *name)
{
	size_t off = c->msg_start[s] >= 0 ? (size_t)c->msg_start[s] : c->wr_off[s];

	c->msg_start[s] = -1;
	label_at_(c, s, off, name);
}

static void msg_cb_(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct umpa_tls_conv *c = conv_of_(ssl);
	const unsigned char *b = buf;
	int s;

	(void)version;
	(void)arg;
	if (!c)
		return;
	s = SSL_is_server(ssl) ? S_ : C_;
	if (content_type == SSL3_RT_HEADER && write_p && len >= 5) {
		/*
		 * Called as each record is built, before the message callback of
		 * the message it carries.  Handshake records wait in OpenSSL's
		 * buffering BIO, so the flight offset is counted here, from the
		 * record lengths, rather than asked of our BIO.
		 */
		size_t off = c->wr_off[s];
		c->wr_off[s] += 5 + ((size_t)b[3] << 8 | b[4]);
		if (c->app_name[s] && b[0] == SSL3_RT_APPLICATION_DATA)
			label_at_(c, s, off, c->app_name[s]);
		else if (c->msg_start[s] < 0)
			c->msg_start[s] = (long)off;
		return;
	}
	if (content_type == SSL3_RT_ALERT && len >= 2) {
		const char *an = umpa_tls_alert_name(b[1]);
		if (write_p) {
			char n[64];
			snprintf(n, sizeof(n), "Alert %s", an);
			label_msg_(c, s, n);
		}
		if (b[0] == SSL3_AL_FATAL && !c->rep.alert[0])
			snprintf(c->rep.alert, sizeof(c->rep.alert), "%s %s: %s", write_p ? "sent by" : "received by",
				 s == S_ ? "server" : "client", an);
		return;
	}
	if (!write_p)
		return;
	if (content_type == SSL3_RT_CHANGE_CIPHER_SPEC) {
		label_msg_(c, s, "ChangeCipherSpec");
	} else if (content_type == SSL3_RT_HANDSHAKE && len >= 1) {
		const char *n = hs_name_(b[0]);
		char other[32];
		if (!n) {
			snprintf(other, sizeof(other), "Handshake(%u)", b[0]);
			n = other;
		}
		if (b[0] == 24)
			c->rep.key_updates++;
		if (b[0] == 20 && s == C_)
			c->finished_c++;
		label_msg_(c, s, n);
	}
}

/* ---- conversations ---- */

static int conv_emit_(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct umpa_tls_conv *c = arg;

	c->rep.packets++;
	return c->emit(c->arg, p, comment, e);
}

struct umpa_tls_conv *umpa_tls_conv_new(struct umpa_tls *t, const struct umpa_tcps_opts *tcp, int resume,
					umpa_tcps_emit_cb emit, void *arg, struct umpa_err *e)
{
	return umpa_tls_conv_new_on(t, NULL, tcp, resume, emit, arg, e);
}

struct umpa_tls_conv *umpa_tls_conv_new_on(struct umpa_tls *t, struct umpa_loop *loop, const struct umpa_tcps_opts *tcp,
					   int resume, umpa_tcps_emit_cb emit, void *arg, struct umpa_err *e)
{
	struct umpa_tls_conv *c;

	if (resume && !t->sess) {
		umpa_err_set(e, UMPA_EINVAL, "resume: no session to resume (the first handshake failed?)");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
		return NULL;
	}
	c->t = t;
	c->emit = emit;
	c->arg = arg;
	c->rep.early_data = -1;
	c->tcp = umpa_tcps_new_on(loop, tcp ? tcp : &t->o.tcp, conv_emit_, c, e);
	if (!c->tcp)
		return umpa_tls_conv_free(c);
	for (int s = 0; s < 2; s++) {
		c->ssl[s] = SSL_new(t->ctx[s]);
		c->rb[s] = BIO_new(BIO_s_mem());
		c->wb[s] = BIO_new(BIO_s_mem());
		if (!c->ssl[s] || !c->rb[s] || !c->wb[s]) {
			BIO_free(c->rb[s]);
			BIO_free(c->wb[s]);
			c->rb[s] = c->wb[s] = NULL;
			umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
			return umpa_tls_conv_free(c);
		}
		BIO_set_mem_eof_return(c->rb[s], -1);
		SSL_set_bio(c->ssl[s], c->rb[s], c->wb[s]);
		SSL_set_app_data(c->ssl[s], c);
	}
	SSL_set_connect_state(c->ssl[C_]);
	SSL_set_accept_state(c->ssl[S_]);
	if (t->o.sni && *t->o.sni) {
		SSL_set_tlsext_host_name(c->ssl[C_], t->o.sni);
		SSL_set1_host(c->ssl[C_], t->o.sni);
	}
	if (resume) {
		SSL_set_session(c->ssl[C_], t->sess);
		if (t->o.early_len && SSL_SESSION_get_max_early_data(t->sess) > 0)
			c->early_w = c->early_r = 1;
	}
	return c;
}

struct umpa_tls_conv *umpa_tls_conv_free(struct umpa_tls_conv *c)
{
	if (!c)
		return NULL;
	SSL_free(c->ssl[C_]);
	SSL_free(c->ssl[S_]);
	umpa_tcps_free(c->tcp);
	free(c->keylog.p);
	free(c);
	return NULL;
}

const struct umpa_tls_report *umpa_tls_conv_report(const struct umpa_tls_conv *c)
{
	return &c->rep;
}

const char *umpa_tls_conv_keylog(const struct umpa_tls_conv *c, size_t *len)
{
	if (len)
		*len = c->keylog.len;
	return c->keylog.p ? c->keylog.p : "";
}

int64_t umpa_tls_conv_now_ns(const struct umpa_tls_conv *c)
{
	return umpa_tcps_now_ns(c->tcp);
}

/* Side @p s hit a fatal error in an SSL call that returned @p r. */
static void side_fail_(struct umpa_tls_conv *c, int s, int r)
{
	char why[400] = "";
	int err = SSL_get_error(c->ssl[s], r);

	c->dead[s] = 1;
	ssl_errors_(why, sizeof(why));
	if (!why[0])
		snprintf(why, sizeof(why), "SSL error %d", err);
	if (!c->failed) {
		c->failed = s + 1;
		snprintf(c->rep.error, sizeof(c->rep.error), "%s: %s", s == S_ ? "server" : "client", why);
	}
}

/* Side @p s processes its input: early data, handshake, records. */
static void process_(struct umpa_tls_conv *c, int s)
{
	SSL *ssl = c->ssl[s];
	int r;

	if (c->dead[s])
		return;
	ERR_clear_error();
	while (s == S_ && c->early_r) {
		size_t n = 0;
		r = SSL_read_early_data(ssl, c->buf, sizeof(c->buf), &n);
		if (r == SSL_READ_EARLY_DATA_SUCCESS) {
			c->rep.app_bytes[C_] += n;
			continue;
		}
		if (r == SSL_READ_EARLY_DATA_FINISH) {
			c->early_r = 0;
			break;
		}
		if (SSL_get_error(ssl, 0) == SSL_ERROR_WANT_READ)
			return;
		side_fail_(c, s, 0);
		return;
	}
	if (!c->hs_done[s]) {
		r = SSL_do_handshake(ssl);
		if (r != 1) {
			int err = SSL_get_error(ssl, r);
			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
				side_fail_(c, s, r);
			return;
		}
		c->hs_done[s] = 1;
	}
	for (;;) {
		r = SSL_read(ssl, c->buf, sizeof(c->buf));
		if (r > 0) {
			c->rep.app_bytes[!s] += (uint64_t)r;
			continue;
		}
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return;
		case SSL_ERROR_ZERO_RETURN:
			c->got_close[s] = 1;
			return;
		default:
			side_fail_(c, s, r);
			return;
		}
	}
}

/* Send side @p s's pending output as one flight.  Returns 1 if there was one, 0 if not, or an error. */
static int flush_(struct umpa_tls_conv *c, int s, struct umpa_err *e)
{
	char *p = NULL;
	long n = BIO_get_mem_data(c->wb[s], &p);
	int r;

	if (n <= 0)
		return 0;
	{
		struct umpa_tls *t = c->t;
		unsigned nl = 0;
		for (unsigned i = 0; i < t->nlab[s]; i++) {
			size_t off = t->lab[s][i].off;
			if (off >= (size_t)n || (nl && off < t->tl[nl - 1].offset))
				continue; /* cannot happen with OpenSSL 3's callback order; never pass a bad label */
			t->tl[nl].offset = off;
			t->tl[nl].text = t->lab[s][i].text;
			nl++;
		}
		if (c->wr_off[s] != (size_t)n)
			nl = 0; /* the count disagrees with what was written: no label rather than a wrong one */
		r = umpa_tcps_send_labelled(c->tcp, (enum umpa_tcps_side)s, p, (size_t)n, nl ? t->tl : NULL, nl, e);
		t->nlab[s] = 0;
		c->wr_off[s] = 0;
	}
	if (r < 0)
		return r;
	c->rep.tls_bytes[s] += (uint64_t)n;
	if (!c->dead[!s] && BIO_write(c->rb[!s], p, (int)n) != n)
		return umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
	(void)BIO_reset(c->wb[s]);
	return 1;
}

/* Side @p s writes its application data, with its KeyUpdates spread over it. */
static void write_data_(struct umpa_tls_conv *c, int s)
{
	const struct umpa_tls_side *sd = &c->t->o.side[s];
	SSL *ssl = c->ssl[s];
	int k = SSL_version(ssl) >= TLS1_3_VERSION ? sd->key_updates : 0;
	size_t off = 0;

	ERR_clear_error();
	for (int i = 0; i <= k; i++) {
		size_t end = sd->data_len * (size_t)(i + 1) / (size_t)(k + 1);
		while (off < end) {
			size_t part = end - off > (1u << 30) ? 1u << 30 : end - off;
			int r;
			c->app_name[s] = "Application Data";
			r = SSL_write(ssl, (const char *)sd->data + off, (int)part);
			c->app_name[s] = NULL;
			if (r <= 0) {
				side_fail_(c, s, r);
				return;
			}
			off += (size_t)r;
		}
		if (i < k) {
			if (SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 || SSL_do_handshake(ssl) != 1) {
				side_fail_(c, s, -1);
				return;
			}
		}
	}
}

/* Side @p s starts a renegotiation. */
static void renegotiate_(struct umpa_tls_conv *c, int s)
{
	SSL *ssl = c->ssl[s];
	int r;

	ERR_clear_error();
	if (SSL_version(ssl) >= TLS1_3_VERSION || SSL_renegotiate(ssl) != 1) {
		ERR_clear_error();
		return; /* not possible at this version: reported as 0 renegotiations */
	}
	r = SSL_do_handshake(ssl);
	if (r != 1) {
		int err = SSL_get_error(ssl, r);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			side_fail_(c, s, r);
	}
}

/* Run the next scripted action.  Returns the acting side, or -1 when none is left. */
static int next_action_(struct umpa_tls_conv *c)
{
	const struct umpa_tls_opts *o = &c->t->o;

	while (c->act < A_END_) {
		switch (c->act) {
		case A_DATA_C_:
		case A_DATA_S_: {
			int s = c->act == A_DATA_C_ ? C_ : S_;
			c->act++;
			if (!o->side[s].data_len && !o->side[s].key_updates)
				continue;
			write_data_(c, s);
			return s;
		}
		case A_RENEG_C_:
		case A_RENEG_S_: {
			int s = c->act == A_RENEG_C_ ? C_ : S_;
			if (c->renegs[s] >= o->side[s].renegotiations) {
				c->act++;
				continue;
			}
			c->renegs[s]++;
			renegotiate_(c, s);
			return s;
		}
		case A_CLOSE_C_:
			if (o->close != UMPA_TLS_CLOSE_NOTIFY) {
				c->act = A_END_;
				return -1;
			}
			c->act++;
			ERR_clear_error();
			if (SSL_shutdown(c->ssl[C_]) < 0)
				side_fail_(c, C_, -1);
			return C_;
		case A_CLOSE_S_:
			c->act++;
			if (!c->got_close[S_])
				continue;
			ERR_clear_error();
			if (SSL_shutdown(c->ssl[S_]) < 0)
				side_fail_(c, S_, -1);
			return S_;
		case A_END_:
			break;
		}
	}
	return -1;
}

/* Fill the report from the finished SSL objects. */
void umpa_tls_report_client_(SSL *cl, struct umpa_tls_report *r, int failed)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(cl);
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	STACK_OF(X509) * sk;
	int nid = 0, hnid = 0;
	EVP_PKEY *tmp = NULL;

	if (ci) {
		const char *std = SSL_CIPHER_standard_name(ci);
		snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_CIPHER_get_name(ci));
		snprintf(r->cipher_iana, sizeof(r->cipher_iana), "%s", std ? std : "");
	}
	nid = SSL_get_negotiated_group(cl);
	if (nid > 0) {
		const char *g = SSL_group_to_name(cl, nid);
		snprintf(r->group, sizeof(r->group), "%s", g ? g : OBJ_nid2sn(nid));
	} else if (SSL_get_peer_tmp_key(cl, &tmp) && tmp) {
		char g[64] = "";
		size_t gl = 0;
		if (EVP_PKEY_get_group_name(tmp, g, sizeof(g), &gl) && g[0])
			snprintf(r->group, sizeof(r->group), "%.31s", g);
		else
			snprintf(r->group, sizeof(r->group), "%s %d", EVP_PKEY_get0_type_name(tmp),
				 EVP_PKEY_get_bits(tmp));
		EVP_PKEY_free(tmp);
	}
	if (SSL_get_peer_signature_type_nid(cl, &nid) && nid) {
		const char *h = "";
		if (SSL_get_peer_signature_nid(cl, &hnid))
			h = hnid == NID_sha1       ? "sha1"
			    : hnid == NID_sha224   ? "sha224"
			    : hnid == NID_sha256   ? "sha256"
			    : hnid == NID_sha384   ? "sha384"
			    : hnid == NID_sha512   ? "sha512"
			    : hnid == NID_md5_sha1 ? "md5_sha1"
			    : hnid == NID_undef    ? ""
						   : OBJ_nid2sn(hnid);
		if (nid == NID_rsaEncryption)
			snprintf(r->sigalg, sizeof(r->sigalg), "rsa_pkcs1_%s", h);
		else if (nid == NID_rsassaPss) {
			X509 *peer = SSL_get0_peer_certificate(cl);
			int pss = peer && EVP_PKEY_get_base_id(X509_get0_pubkey(peer)) == EVP_PKEY_RSA_PSS;
			snprintf(r->sigalg, sizeof(r->sigalg), "rsa_pss_%s_%s", pss ? "pss" : "rsae", h);
		} else if (nid == NID_X9_62_id_ecPublicKey) {
			const char *cv = !strcmp(h, "sha256")   ? "secp256r1_"
					 : !strcmp(h, "sha384") ? "secp384r1_"
					 : !strcmp(h, "sha512") ? "secp521r1_"
								: "";
			if (SSL_version(cl) < TLS1_3_VERSION)
				cv = "";
			snprintf(r->sigalg, sizeof(r->sigalg), "ecdsa_%s%s", cv, h);
		} else if (nid == NID_ED25519)
			snprintf(r->sigalg, sizeof(r->sigalg), "ed25519");
		else if (nid == NID_ED448)
			snprintf(r->sigalg, sizeof(r->sigalg), "ed448");
		else
			snprintf(r->sigalg, sizeof(r->sigalg), "%s+%s", OBJ_nid2sn(nid), h);
	}
	SSL_get0_alpn_selected(cl, &alpn, &alen);
	if (alen)
		snprintf(r->alpn, sizeof(r->alpn), "%.*s", (int)alen, alpn);
	if (SSL_get0_peer_certificate(cl)) {
		r->verify_result = (int)SSL_get_verify_result(cl);
		snprintf(r->verify_reason, sizeof(r->verify_reason), "%s",
			 X509_verify_cert_error_string(r->verify_result));
	} else if (failed) {
		r->verify_result = (int)SSL_get_verify_result(cl);
		if (r->verify_result != X509_V_OK)
			snprintf(r->verify_reason, sizeof(r->verify_reason), "%s",
				 X509_verify_cert_error_string(r->verify_result));
	}
	/* Chains: the verified one (leaf to anchor) when there is one, else as received. */
	sk = r->verify_result == X509_V_OK ? SSL_get0_verified_chain(cl) : NULL;
	if (!sk)
		sk = SSL_get_peer_cert_chain(cl);
	for (int i = 0; sk && i < sk_X509_num(sk) && r->n_server_chain < UMPA_TLS_MAX_CHAIN; i++)
		umpa_tls_cert_info_(sk_X509_value(sk, i), &r->server_chain[r->n_server_chain++]);
	if (!r->n_server_chain && SSL_get0_peer_certificate(cl))
		umpa_tls_cert_info_(SSL_get0_peer_certificate(cl), &r->server_chain[r->n_server_chain++]);
}

static void report_fill_(struct umpa_tls_conv *c)
{
	struct umpa_tls_report *r = &c->rep;
	SSL *cl = c->ssl[C_], *sv = c->ssl[S_];
	const SSL_CIPHER *ci = SSL_get_current_cipher(cl);
	const char *sni;
	STACK_OF(X509) * sk;

	/* both sides finished, and no failure caught either of them in a handshake */
	r->handshake_ok = c->hs_done[C_] && c->hs_done[S_] &&
			  !(c->failed && (!SSL_is_init_finished(cl) || !SSL_is_init_finished(sv)));
	r->port[C_] = umpa_tcps_port(c->tcp, UMPA_TCPS_CLIENT);
	r->port[S_] = umpa_tcps_port(c->tcp, UMPA_TCPS_SERVER);
	if (c->hs_done[C_] || SSL_is_init_finished(cl) || ci) {
		snprintf(r->version, sizeof(r->version), "%s", SSL_get_version(cl));
	}
	umpa_tls_report_client_(cl, r, c->failed);
	sni = SSL_get_servername(sv, TLSEXT_NAMETYPE_host_name);
	if (sni)
		snprintf(r->sni, sizeof(r->sni), "%s", sni);
	r->resumed = SSL_session_reused(cl);
	if (c->psk_used && r->handshake_ok) {
		int v = SSL_version(cl);
		int kx = ci ? SSL_CIPHER_get_kx_nid(ci) : 0;
		if ((v >= TLS1_3_VERSION && r->resumed) ||
		    (v < TLS1_3_VERSION &&
		     (kx == NID_kx_psk || kx == NID_kx_dhe_psk || kx == NID_kx_ecdhe_psk || kx == NID_kx_rsa_psk))) {
			snprintf(r->psk, sizeof(r->psk), "external");
			r->resumed = 0;
		}
	}
	if (c->t->o.early_len && SSL_get0_session(cl) && c->early_w) {
		int st = SSL_get_early_data_status(cl);
		r->early_data = st == SSL_EARLY_DATA_ACCEPTED ? 1 : 0;
	}
	if (SSL_get0_peer_certificate(sv))
		r->client_verify_result = (int)SSL_get_verify_result(sv);
	sk = r->client_verify_result == X509_V_OK ? SSL_get0_verified_chain(sv) : NULL;
	if (sk) {
		for (int i = 0; i < sk_X509_num(sk) && r->n_client_chain < UMPA_TLS_MAX_CHAIN; i++)
			umpa_tls_cert_info_(sk_X509_value(sk, i), &r->client_chain[r->n_client_chain++]);
	} else if (SSL_get0_peer_certificate(sv)) {
		umpa_tls_cert_info_(SSL_get0_peer_certificate(sv), &r->client_chain[r->n_client_chain++]);
		sk = SSL_get_peer_cert_chain(sv); /* server side: without the leaf */
		for (int i = 0; sk && i < sk_X509_num(sk) && r->n_client_chain < UMPA_TLS_MAX_CHAIN; i++)
			umpa_tls_cert_info_(sk_X509_value(sk, i), &r->client_chain[r->n_client_chain++]);
	}
	r->renegotiations = c->finished_c > 1 ? c->finished_c - 1 : 0;
}

int umpa_tls_conv_step(struct umpa_tls_conv *c, struct umpa_err *e)
{
	int r;

	if (c->t->oom)
		return umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
	c->t->nlab[C_] = c->t->nlab[S_] = 0;
	c->msg_start[C_] = c->msg_start[S_] = -1;
	c->wr_off[C_] = c->wr_off[S_] = 0;
	switch (c->phase) {
	case P_CONNECT_:
		r = umpa_tcps_connect(c->tcp, e);
		if (r < 0)
			return r;
		c->phase = P_START_;
		return 1;
	case P_START_:
		c->phase = P_RUN_;
		ERR_clear_error();
		if (c->early_w) {
			const struct umpa_tls_opts *o = &c->t->o;
			size_t w = 0;
			c->app_name[C_] = "Application Data (early)";
			r = SSL_write_early_data(c->ssl[C_], o->early_data, o->early_len, &w);
			c->app_name[C_] = NULL;
			if (r != 1)
				side_fail_(c, C_, r);
		} else {
			process_(c, C_);
		}
		r = flush_(c, C_, e);
		if (r < 0)
			return r;
		if (r)
			return 1;
		/* fall through: nothing to send (the client failed at once) */
		c->phase = P_CLOSE_;
		return 1;
	case P_RUN_:
		for (int guard = 0; guard < 1000; guard++) {
			int busy = 0, s;
			for (s = 0; s < 2; s++) {
				if (c->dead[s] || BIO_ctrl_pending(c->rb[s]) == 0)
					continue;
				busy = 1;
				process_(c, s);
				r = flush_(c, s, e);
				if (r)
					return r < 0 ? r : 1;
				if (!c->dead[s] && BIO_ctrl_pending(c->rb[s]) > 0) {
					/* input left that OpenSSL will not take: stop here */
					if (!c->failed) {
						c->failed = s + 1;
						snprintf(c->rep.error, sizeof(c->rep.error),
							 "%s: stalled with unread input",
							 s == S_ ? "server" : "client");
					}
					c->dead[s] = 1;
				}
			}
			if (busy)
				continue;
			if (c->failed)
				break;
			if (!c->hs_done[C_] || !c->hs_done[S_]) {
				c->failed = 1;
				snprintf(c->rep.error, sizeof(c->rep.error), "handshake stalled");
				break;
			}
			s = next_action_(c);
			if (s < 0)
				break;
			r = flush_(c, s, e);
			if (r)
				return r < 0 ? r : 1;
		}
		c->phase = P_CLOSE_;
		return 1;
	case P_CLOSE_:
		report_fill_(c);
		if (c->failed)
			r = umpa_tcps_close(c->tcp, (enum umpa_tcps_side)(c->failed - 1), e);
		else if (c->t->o.close == UMPA_TLS_CLOSE_ABORT)
			r = umpa_tcps_reset(c->tcp, UMPA_TCPS_CLIENT, e);
		else
			r = umpa_tcps_close(c->tcp, UMPA_TCPS_CLIENT, e);
		c->phase = P_DONE_;
		if (r < 0)
			return r;
		if (c->rep.handshake_ok) {
			SSL_SESSION *ss = SSL_get1_session(c->ssl[C_]);
			if (ss && SSL_SESSION_is_resumable(ss)) {
				SSL_SESSION_free(c->t->sess);
				c->t->sess = ss;
			} else {
				SSL_SESSION_free(ss);
			}
		}
		return 0;
	case P_DONE_:
		return 0;
	}
	return 0;
}

/* The end of a started conversation: tell its owner once. */
static void conv_end_(struct umpa_tls_conv *c, int rc, const struct umpa_err *e)
{
	umpa_tls_conv_done_cb done = c->done;

	c->done = NULL;
	if (done)
		done(c->done_arg, c, rc, e);
}

/* Step @p c while its TCP side is idle; a step that queued packets waits for the TCP side's idle callback. */
static void conv_drive_(struct umpa_tls_conv *c)
{
	struct umpa_err e = {0};

	while (c->done && !umpa_tcps_busy(c->tcp)) {
		int r;

		if (c->over) {
			conv_end_(c, 0, NULL);
			return;
		}
		r = umpa_tls_conv_step(c, &e);
		if (r < 0) {
			conv_end_(c, r, &e);
			return;
		}
		if (r == 0)
			c->over = 1;
	}
}

static void conv_idle_(void *arg, struct umpa_tcps *tcp, int rc, const struct umpa_err *e)
{
	struct umpa_tls_conv *c = arg;

	(void)tcp;
	if (rc < 0)
		conv_end_(c, rc, e);
	else
		conv_drive_(c);
}

static void conv_kick_(struct umpa_loop *loop, void *arg)
{
	(void)loop;
	conv_drive_(arg);
}

int umpa_tls_conv_start(struct umpa_tls_conv *c, umpa_tls_conv_done_cb done, void *arg, struct umpa_err *e)
{
	if (!done)
		return umpa_err_set(e, UMPA_EINVAL, "tls: a started conversation needs a done callback");
	if (c->started || c->phase != P_CONNECT_)
		return umpa_err_set(e, UMPA_EINVAL, "tls: conversation already started or stepped");
	c->started = 1;
	c->done = done;
	c->done_arg = arg;
	umpa_tcps_on_idle(c->tcp, conv_idle_, c);
	if (!umpa_after(umpa_tcps_loop(c->tcp), 0, conv_kick_, c, e)) {
		c->done = NULL;
		return -e->code;
	}
	return 0;
}

struct umpa_loop *umpa_tls_conv_loop(const struct umpa_tls_conv *c)
{
	return umpa_tcps_loop(c->tcp);
}

int umpa_tls_run(struct umpa_tls *t, umpa_tcps_emit_cb emit, void *arg, struct umpa_tls_report *rep, size_t nrep,
		 struct umpa_err *e)
{
	struct umpa_tcps_opts tcp = t->o.tcp;
	int n = t->o.resume != UMPA_TLS_RESUME_NONE ? 2 : 1, done = 0;

	for (int i = 0; i < n; i++) {
		struct umpa_tls_conv *c;
		int r;
		if (i == 1 && !t->sess)
			break; /* nothing to resume: the first handshake failed */
		c = umpa_tls_conv_new(t, &tcp, i == 1, emit, arg, e);
		if (!c)
			return -e->code;
		c->in_run = 1;
		while ((r = umpa_tls_conv_step(c, e)) > 0)
			;
		if (r < 0) {
			umpa_tls_conv_free(c);
			return r;
		}
		if ((size_t)i < nrep)
			rep[i] = *umpa_tls_conv_report(c);
		/* The next conversation: another client port, a second later. */
		{
			int64_t ns = umpa_tls_conv_now_ns(c) + 1000000000LL;
			tcp.start_sec = ns / 1000000000LL;
			tcp.start_nsec = ns % 1000000000LL;
			tcp.seed = tcp.seed * 6364136223846793005ULL +
				   1442695040888963407ULL; /* not seed + 1: a caller's next seed */
			if (tcp.port[C_])
				tcp.port[C_] = (uint16_t)(tcp.port[C_] + 1);
		}
		umpa_tls_conv_free(c);
		done++;
	}
	return done;
}

/* ---- one side against a real peer (umpa_tls_live) ---- */

struct umpa_tls_live {
	int live_; /* 1: see conv_of_ */
	struct umpa_tls *t;
	SSL *ssl;
	BIO *rb, *wb; /* owned by ssl */
	struct umpa_tls_live_cbs cb;
	int hs_done, failed, got_close, sent_close;
	uint8_t *pend; /* plaintext written before the handshake finished */
	size_t npend;
	struct umpa_tls_report rep;
	unsigned char buf[16384];
};

static void live_keylog_(const SSL *ssl, const char *line)
{
	int *kind = SSL_get_app_data(ssl);
	struct umpa_tls_live *l = (struct umpa_tls_live *)(void *)kind;

	if (l && *kind == 1 && l->cb.keylog)
		l->cb.keylog(l->cb.arg, line);
}

struct umpa_tls_live *umpa_tls_live_new(struct umpa_tls *t, const struct umpa_tls_live_cbs *cbs, struct umpa_err *e)
{
	struct umpa_tls_live *l = calloc(1, sizeof(*l));

	if (!l) {
		umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
		return NULL;
	}
	l->live_ = 1;
	l->t = t;
	l->cb = *cbs;
	l->rep.early_data = -1;
	l->ssl = SSL_new(t->ctx[S_]);
	l->rb = BIO_new(BIO_s_mem());
	l->wb = BIO_new(BIO_s_mem());
	if (!l->ssl || !l->rb || !l->wb) {
		BIO_free(l->rb);
		BIO_free(l->wb);
		SSL_free(l->ssl);
		free(l);
		umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
		return NULL;
	}
	BIO_set_mem_eof_return(l->rb, -1);
	SSL_set_bio(l->ssl, l->rb, l->wb);
	SSL_set_app_data(l->ssl, l);
	SSL_set_accept_state(l->ssl);
	return l;
}

struct umpa_tls_live *umpa_tls_live_free(struct umpa_tls_live *l)
{
	if (!l)
		return NULL;
	SSL_free(l->ssl);
	free(l->pend);
	free(l);
	return NULL;
}

/* Hand what OpenSSL wrote to the wire callback. */
static int live_flush_(struct umpa_tls_live *l, struct umpa_err *e)
{
	int n, rc;

	while ((n = BIO_read(l->wb, l->buf, sizeof(l->buf))) > 0) {
		l->rep.tls_bytes[S_] += (uint64_t)n;
		if ((rc = l->cb.out(l->cb.arg, l->buf, (size_t)n, e)) < 0)
			return rc;
	}
	return 0;
}

static void live_fail_(struct umpa_tls_live *l, int r)
{
	char why[400] = "";
	int err = SSL_get_error(l->ssl, r);

	ssl_errors_(why, sizeof(why));
	if (!why[0])
		snprintf(why, sizeof(why), "SSL error %d", err);
	if (!l->failed)
		snprintf(l->rep.error, sizeof(l->rep.error), "server: %s", why);
	l->failed = 1;
}

/* The report from the server's point of view, once the handshake is over. */
static void live_report_(struct umpa_tls_live *l)
{
	struct umpa_tls_report *r = &l->rep;
	const SSL_CIPHER *ci = SSL_get_current_cipher(l->ssl);
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	const char *sni;
	X509 *own = SSL_get_certificate(l->ssl);
	int nid;

	r->handshake_ok = l->hs_done && !l->failed;
	snprintf(r->version, sizeof(r->version), "%s", SSL_get_version(l->ssl));
	if (ci) {
		const char *std = SSL_CIPHER_standard_name(ci);
		snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_CIPHER_get_name(ci));
		snprintf(r->cipher_iana, sizeof(r->cipher_iana), "%s", std ? std : "");
	}
	nid = SSL_get_negotiated_group(l->ssl);
	if (nid > 0) {
		const char *g = SSL_group_to_name(l->ssl, nid);
		snprintf(r->group, sizeof(r->group), "%s", g ? g : OBJ_nid2sn(nid));
	}
	SSL_get0_alpn_selected(l->ssl, &alpn, &alen);
	if (alen)
		snprintf(r->alpn, sizeof(r->alpn), "%.*s", (int)alen, alpn);
	if ((sni = SSL_get_servername(l->ssl, TLSEXT_NAMETYPE_host_name)))
		snprintf(r->sni, sizeof(r->sni), "%s", sni);
	r->resumed = SSL_session_reused(l->ssl);
	r->n_server_chain = 0;
	if (own)
		umpa_tls_cert_info_(own, &r->server_chain[r->n_server_chain++]);
	if (SSL_get0_peer_certificate(l->ssl)) {
		r->client_verify_result = (int)SSL_get_verify_result(l->ssl);
		umpa_tls_cert_info_(SSL_get0_peer_certificate(l->ssl), &r->client_chain[r->n_client_chain++]);
	}
}

/* Write @p n plaintext bytes (the handshake is done).  Returns 0 or a negative error. */
static int live_write_now_(struct umpa_tls_live *l, const void *d, size_t n, struct umpa_err *e)
{
	size_t done = 0, w;

	ERR_clear_error();
	while (done < n) {
		int r = SSL_write_ex(l->ssl, (const uint8_t *)d + done, n - done, &w);
		if (r <= 0) {
			live_fail_(l, r);
			return umpa_err_set(e, UMPA_EIO, "tls: %s", l->rep.error);
		}
		done += w;
		l->rep.app_bytes[S_] += w;
	}
	return live_flush_(l, e);
}

int umpa_tls_live_input(struct umpa_tls_live *l, const void *d, size_t n, struct umpa_err *e)
{
	int r, rc;

	if (l->failed)
		return 0;
	if (n && BIO_write(l->rb, d, (int)n) != (int)n)
		return umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
	l->rep.tls_bytes[C_] += n;
	ERR_clear_error();
	if (!l->hs_done) {
		r = SSL_do_handshake(l->ssl);
		if (r == 1) {
			l->hs_done = 1;
			live_report_(l);
			if ((rc = live_flush_(l, e)) < 0)
				return rc;
			if (l->cb.event)
				l->cb.event(l->cb.arg, UMPA_TLS_LIVE_HANDSHAKE);
			if (l->npend) {
				uint8_t *p = l->pend;
				size_t np = l->npend;
				l->pend = NULL;
				l->npend = 0;
				rc = live_write_now_(l, p, np, e);
				free(p);
				if (rc < 0)
					return rc;
			}
		} else if (SSL_get_error(l->ssl, r) == SSL_ERROR_WANT_READ) {
			return live_flush_(l, e);
		} else {
			live_fail_(l, r);
			if ((rc = live_flush_(l, e)) < 0) /* the alert */
				return rc;
			if (l->cb.event)
				l->cb.event(l->cb.arg, UMPA_TLS_LIVE_FAILED);
			return 0;
		}
	}
	while (!l->failed && !l->got_close) {
		size_t got = 0;
		r = SSL_read_ex(l->ssl, l->buf, sizeof(l->buf), &got);
		if (r > 0) {
			l->rep.app_bytes[C_] += got;
			if (l->cb.data)
				l->cb.data(l->cb.arg, l->buf, got);
			continue;
		}
		r = SSL_get_error(l->ssl, 0);
		if (r == SSL_ERROR_WANT_READ)
			break;
		if (r == SSL_ERROR_ZERO_RETURN) {
			l->got_close = 1;
			if ((rc = live_flush_(l, e)) < 0)
				return rc;
			if (l->cb.event)
				l->cb.event(l->cb.arg, UMPA_TLS_LIVE_CLOSE_NOTIFY);
			return 0;
		}
		live_fail_(l, 0);
		if ((rc = live_flush_(l, e)) < 0)
			return rc;
		if (l->cb.event)
			l->cb.event(l->cb.arg, UMPA_TLS_LIVE_FAILED);
		return 0;
	}
	return live_flush_(l, e); /* session tickets, KeyUpdate answers */
}

int64_t umpa_tls_live_write(struct umpa_tls_live *l, const void *d, size_t n, struct umpa_err *e)
{
	int rc;

	if (l->failed || l->sent_close)
		return umpa_err_set(e, UMPA_EINVAL, "tls: cannot write after %s", l->failed ? "a failure" : "close");
	if (!l->hs_done) {
		uint8_t *p = realloc(l->pend, l->npend + n);
		if (!p && l->npend + n)
			return umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
		if (n)
			memcpy(p + l->npend, d, n);
		l->pend = p;
		l->npend += n;
		return (int64_t)n;
	}
	if ((rc = live_write_now_(l, d, n, e)) < 0)
		return rc;
	return (int64_t)n;
}

int umpa_tls_live_close(struct umpa_tls_live *l, struct umpa_err *e)
{
	if (l->sent_close || l->failed || !l->hs_done)
		return 0;
	l->sent_close = 1;
	ERR_clear_error();
	(void)SSL_shutdown(l->ssl);
	ERR_clear_error();
	return live_flush_(l, e);
}

const struct umpa_tls_report *umpa_tls_live_report(const struct umpa_tls_live *l)
{
	return &l->rep;
}
