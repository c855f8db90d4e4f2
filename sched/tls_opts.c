/* tls_opts.c - the TLS option table (see umpa_tls_opts.h): one entry per
 * option, its parsers, and the checks that span several options.
 *
 * Ranges (the same on the command line and in tls{}):
 *   count 1..10000000, security_level 0..5, key_update 0..1000,
 *   renegotiate 0..100, max_record 512..16384, mss 64..65535, segment
 *   1..65535, seed 0..2^64-1, reorder and dup 0..1, loss 0..1 (1 excluded:
 *   every segment lost forever), rtt 0..60 s, time 0..4000000000 (seconds
 *   since the epoch: pcap keeps 32-bit seconds, and the conversations after
 *   the first packet need room), RSA keys 512..8192 bits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto_common.h"
#include "umpa_near.h"
#include "umpa_tls_opts.h"

#define CO_(f) offsetof(struct umpa_tls_conf, o.f)
#define CS_(f) CO_(side[0].f) /* client side */
#define SS_(f) CO_(side[1].f) /* server side */
#define W_(f) ((unsigned char)sizeof(((struct umpa_tls_conf *)0)->f))

enum {
	C_ = UMPA_TLS_OPT_CLIENT,
	S_ = UMPA_TLS_OPT_SERVER,
	CS_ = UMPA_TLS_OPT_CLIENT | UMPA_TLS_OPT_SERVER,
	P_ = UMPA_TLS_OPT_PUMP,
	F_ = UMPA_TLS_OPT_FILE,
	SD_ = UMPA_TLS_OPT_SIDED,
};

/* ---- storage ---- */

/* Keep @p p (malloc'd) until umpa_tls_conf_free.  Returns p, or NULL (p freed) when out of memory. */
static void *own_(struct umpa_tls_conf *c, void *p)
{
	if (!p)
		return NULL;
	if (c->nowned == c->capowned) {
		size_t cap = c->capowned ? c->capowned * 2 : 8;
		char **n = realloc(c->owned, cap * sizeof(*n));
		if (!n) {
			free(p);
			return NULL;
		}
		c->owned = n;
		c->capowned = cap;
	}
	c->owned[c->nowned++] = p;
	return p;
}

/* @p v as kept text: itself when borrowing, else a copy.  NULL: out of memory. */
static const char *keep_str_(struct umpa_tls_conf *c, const char *v, size_t len, unsigned flags)
{
	char *p;

	if (flags & UMPA_TLS_SET_BORROW)
		return v;
	p = malloc(len + 1);
	if (!p)
		return NULL;
	memcpy(p, v, len);
	p[len] = 0;
	return own_(c, p);
}

static void put_ptr_(struct umpa_tls_conf *c, size_t at, const void *p)
{
	memcpy((char *)c + at, &p, sizeof(p));
}

static void put_uint_(struct umpa_tls_conf *c, size_t at, unsigned width, uint64_t v)
{
	char *dst = (char *)c + at;

	switch (width) {
	case 1: {
		uint8_t x = (uint8_t)v;
		memcpy(dst, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(dst, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(dst, &x, 4);
		break;
	}
	default:
		memcpy(dst, &v, 8);
		break;
	}
}

/* ---- numbers: core's checked parser with the entry's range ---- */

int umpa_tls_opt_num_spec(const struct umpa_tls_optdef *d, struct umpa_num_spec *out)
{
	if (d->type == UMPA_TLS_OT_NUM) {
		*out = (struct umpa_num_spec){d->unit ? d->unit : "a number", d->dlo, d->dhi, 0};
		return 1;
	}
	if (d->type == UMPA_TLS_OT_INT || (d->type == UMPA_TLS_OT_CUSTOM && d->ihi)) {
		*out = (struct umpa_num_spec){d->unit ? d->unit : "a whole number", (double)d->ilo, (double)d->ihi,
					      UMPA_NUM_INT};
		return 1;
	}
	return 0;
}

/*
 * Parse @p v as a number of option @p d (core/umpa_num.h, the entry's range
 * as the spec): a whole number into *@p u when @p integer, else a real into
 * *@p x (an excluded upper bound refused here).  Every number of the table
 * goes through here.  Returns 0 or -code with "KEY: 'V' is out of range
 * (UNIT: LO to HI)".
 */
static int num_parse_(const struct umpa_tls_optdef *d, const char *v, int integer, uint64_t *u, double *x,
		      struct umpa_err *e)
{
	struct umpa_num_spec spec;

	umpa_tls_opt_num_spec(d, &spec);
	if (integer)
		return umpa_num_u64(&spec, d->key, v, u, e) < 0 ? -e->code : 0;
	if (umpa_num_real(&spec, d->key, v, x, e) < 0)
		return -e->code;
	if ((d->flags & UMPA_TLS_OPT_HI_OPEN) && *x >= d->dhi) {
		char range[160];
		return umpa_err_set(e, UMPA_ERANGE, "%s: '%.40s' is out of range (%s, %.15g excluded)", d->key, v,
				    umpa_num_range_text(&spec, range, sizeof(range)), d->dhi);
	}
	return 0;
}

/* ---- custom parsers ---- */

/* "[MIN:]MAX", "MIN:", ":MAX" into the versions of the sides in d->at (min, max pairs). */
static int p_version_(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
		      unsigned flags, struct umpa_err *e)
{
	const char *colon = memchr(v, ':', len), *lo, *hi;

	if (!colon) {
		lo = hi = keep_str_(c, v, len, flags);
		if (!lo)
			return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
	} else {
		size_t ll = (size_t)(colon - v);
		lo = ll ? keep_str_(c, v, ll, flags & ~(unsigned)UMPA_TLS_SET_BORROW) : NULL;
		hi = colon[1] ? keep_str_(c, colon + 1, len - ll - 1, flags) : NULL;
		if ((ll && !lo) || (colon[1] && !hi))
			return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
	}
	for (unsigned i = 0; i + 1 < d->nat; i += 2) {
		put_ptr_(c, d->at[i], lo);
		put_ptr_(c, d->at[i + 1], hi);
	}
	return 0;
}

/* "HEX[:IDENTITY]": 1 to 64 bytes of key. */
static int p_psk_(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len, unsigned flags,
		  struct umpa_err *e)
{
	const char *colon = memchr(v, ':', len);
	size_t hl = colon ? (size_t)(colon - v) : len, n = 0;

	if (hl == 0 || hl % 2 || hl / 2 > sizeof(c->psk) || (colon && !colon[1]))
		return umpa_err_set(e, UMPA_EINVAL, "%s: want 2 to 128 hex digits (1 to 64 bytes)[:IDENTITY], got '%s'",
				    d->key, v);
	for (size_t i = 0; i < hl; i += 2) {
		int hi = umpa_spec_hexval(v[i]), lo = umpa_spec_hexval(v[i + 1]);
		if (hi < 0 || lo < 0)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%c' is not a hex digit", d->key,
					    hi < 0 ? v[i] : v[i + 1]);
		c->psk[n++] = (unsigned char)(hi * 16 + lo);
	}
	c->o.psk = c->psk;
	c->o.psk_len = n;
	c->o.psk_identity = NULL;
	if (colon && !(c->o.psk_identity = keep_str_(c, colon + 1, len - hl - 1, flags)))
		return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
	return 0;
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT", ":PORT", "V6" into side at[0] (0 client, 1 server) of the TCP options. */
static int p_endpoint_(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
		       unsigned flags, struct umpa_err *e)
{
	int s = d->at[0] == CO_(tcp.addr[1]) ? 1 : 0; /* the side whose address at[0] is */
	char host[64] = "";
	const char *port = NULL;

	(void)flags;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		if (!end || (size_t)(end - v - 1) >= sizeof(host) || (end[1] && end[1] != ':'))
			goto bad;
		memcpy(host, v + 1, (size_t)(end - v - 1));
		port = end[1] ? end + 2 : NULL;
	} else if (strchr(v, ':') && strchr(v, ':') != strrchr(v, ':')) {
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, v, len + 1); /* a bare IPv6 address */
	} else {
		const char *colon = strchr(v, ':');
		size_t hl = colon ? (size_t)(colon - v) : len;
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, v, hl);
		host[hl] = 0;
		port = colon ? colon + 1 : NULL;
	}
	if (host[0]) {
		uint8_t a[16];
		if (inet_pton(AF_INET, host, a) == 1) {
			memset(c->o.tcp.addr[s], 0, 16);
			memcpy(c->o.tcp.addr[s], a, 4);
			c->family[s] = 0;
		} else if (inet_pton(AF_INET6, host, a) == 1) {
			memcpy(c->o.tcp.addr[s], a, 16);
			c->family[s] = 1;
		} else {
			goto bad;
		}
	}
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || *port == '-' || *port == '+' || p == 0 || p > 65535)
			goto bad;
		c->o.tcp.port[s] = (uint16_t)p;
	}
	return 0;
bad:
	return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not ADDR, ADDR:PORT, [IPV6]:PORT or :PORT (port 1..65535)",
			    d->key, v);
}

/* "random", or the largest segment 1..65535. */
static int p_segment_(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
		      unsigned flags, struct umpa_err *e)
{
	uint64_t n;

	(void)len;
	(void)flags;
	if (!strcmp(v, "random")) {
		c->o.tcp.seg_random = 1;
		return 0;
	}
	if (num_parse_(d, v, 1, &n, NULL, e) < 0)
		return -e->code;
	c->o.tcp.seg_max = (uint32_t)n;
	return 0;
}

/* A key type, checked now (so a bad one is a usage error before any work) and kept in canonical form. */
static int p_keytype_(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
		      unsigned flags, struct umpa_err *e)
{
	char canon[32];
	const char *k;

	(void)len;
	(void)flags;
	if (umpa_tls_keytype_parse(v, 0, canon, sizeof(canon), e) < 0) {
		/* the parser names "key_type"; name the entry given */
		const char *why = strchr(e->msg, ':');
		char msg[sizeof(e->msg)];
		snprintf(msg, sizeof(msg), "%s", why ? why + 2 : e->msg);
		return umpa_err_set(e, UMPA_EINVAL, "%s: %s", d->key, msg);
	}
	if (!(k = keep_str_(c, canon, strlen(canon), 0)))
		return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
	put_ptr_(c, d->at[0], k);
	return 0;
}

static void st_rtt_(struct umpa_tls_conf *c, double v)
{
	c->o.tcp.rtt_us = (uint32_t)(v * 1e6 + 0.5);
}

static const struct umpa_tls_optname resume_names_[] = {
    {"id", UMPA_TLS_RESUME_ID},
    {"ticket", UMPA_TLS_RESUME_TICKET},
    {"psk", UMPA_TLS_RESUME_PSK},
    {"none", UMPA_TLS_RESUME_NONE},
    {NULL, 0},
};

static const struct umpa_tls_optname close_names_[] = {
    {"notify", UMPA_TLS_CLOSE_NOTIFY},
    {"fin", UMPA_TLS_CLOSE_FIN},
    {"reset", UMPA_TLS_CLOSE_ABORT},
    {"rst", UMPA_TLS_CLOSE_ABORT},
    {NULL, 0},
};

/* ---- the table ---- */

#define AT1_(a) .at = {a}, .nat = 1
#define AT2_(a, b) .at = {a, b}, .nat = 2
#define STR_BOTH_(k, cl, f, grp, a, h)                                                                                 \
	{                                                                                                              \
		.key = k, .cli = cl, .type = UMPA_TLS_OT_STR, .flags = CS_, .group = grp, AT2_(CS_(f), SS_(f)),        \
		.arg = a, .help = h                                                                                    \
	}
#define STR_ONE_(k, cl, side, f, grp, a, h)                                                                            \
	{                                                                                                              \
		.key = k, .cli = cl, .type = UMPA_TLS_OT_STR, .flags = (side) | SD_, .group = grp,                     \
		AT1_((side) == C_ ? CS_(f) : SS_(f)), .arg = a, .help = h                                              \
	}

const struct umpa_tls_optdef umpa_tls_optdefs[] = {
    /* versions and algorithms */
    {.key = "version",
     .cli = "version",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = CS_,
     .group = UMPA_TLS_OG_ALGO,
     .at = {CS_(min_version), CS_(max_version), SS_(min_version), SS_(max_version)},
     .nat = 4,
     .parse = p_version_,
     .arg = "[MIN:]MAX",
     .help = "1.0, 1.1, 1.2, 1.3 (or TLSv1.2 ...): '1.2' is exactly 1.2, '1.0:1.3' a range"},
    STR_BOTH_("min_version", "min-version", min_version, UMPA_TLS_OG_ALGO, "V", "lowest version both sides allow"),
    STR_BOTH_("max_version", "max-version", max_version, UMPA_TLS_OG_ALGO, "V", "highest version both sides allow"),
    {.key = "client_version",
     .cli = "client-version",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = C_ | SD_,
     .group = UMPA_TLS_OG_ALGO,
     AT2_(CS_(min_version), CS_(max_version)),
     .parse = p_version_,
     .arg = "[MIN:]MAX",
     .help = "the client's versions"},
    {.key = "server_version",
     .cli = "server-version",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = S_ | SD_,
     .group = UMPA_TLS_OG_ALGO,
     AT2_(SS_(min_version), SS_(max_version)),
     .parse = p_version_,
     .arg = "[MIN:]MAX",
     .help = "the server's versions"},
    STR_BOTH_("ciphers", "ciphers", ciphers, UMPA_TLS_OG_ALGO, "LIST", "TLS <= 1.2 cipher list (OpenSSL syntax)"),
    STR_ONE_("client_ciphers", "client-ciphers", C_, ciphers, UMPA_TLS_OG_ALGO, "LIST", "the client's cipher list"),
    STR_ONE_("server_ciphers", "server-ciphers", S_, ciphers, UMPA_TLS_OG_ALGO, "LIST", "the server's cipher list"),
    STR_BOTH_("ciphersuites", "ciphersuites", ciphersuites, UMPA_TLS_OG_ALGO, "LIST",
	      "TLS 1.3 suites, e.g. TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"),
    STR_ONE_("client_ciphersuites", "client-ciphersuites", C_, ciphersuites, UMPA_TLS_OG_ALGO, "LIST",
	     "the client's TLS 1.3 suites"),
    STR_ONE_("server_ciphersuites", "server-ciphersuites", S_, ciphersuites, UMPA_TLS_OG_ALGO, "LIST",
	     "the server's TLS 1.3 suites"),
    STR_BOTH_("groups", "groups", groups, UMPA_TLS_OG_ALGO, "LIST", "key exchange groups, e.g. X25519:P-256:ffdhe2048"),
    STR_ONE_("client_groups", "client-groups", C_, groups, UMPA_TLS_OG_ALGO, "LIST", "the client's groups"),
    STR_ONE_("server_groups", "server-groups", S_, groups, UMPA_TLS_OG_ALGO, "LIST", "the server's groups"),
    STR_BOTH_("sigalgs", "sigalgs", sigalgs, UMPA_TLS_OG_ALGO, "LIST",
	      "signature algorithms, e.g. ECDSA+SHA256:rsa_pss_rsae_sha256"),
    STR_ONE_("client_sigalgs", "client-sigalgs", C_, sigalgs, UMPA_TLS_OG_ALGO, "LIST",
	     "the client's signature algorithms"),
    STR_ONE_("server_sigalgs", "server-sigalgs", S_, sigalgs, UMPA_TLS_OG_ALGO, "LIST",
	     "the server's signature algorithms"),
    {.key = "security_level",
     .cli = "security-level",
     .type = UMPA_TLS_OT_INT,
     .flags = CS_,
     .group = UMPA_TLS_OG_ALGO,
     AT2_(CS_(security_level), SS_(security_level)),
     .width = W_(o.side[0].security_level),
     .ilo = 0,
     .ihi = 5,
     .unit = "OpenSSL security level",
     .arg = "N",
     .help = "OpenSSL security level 0-5 (TLS 1.0/1.1 need 0)"},
    /* certificates */
    {.key = "key_type",
     .cli = "key-type",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = S_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(SS_(key_type)),
     .parse = p_keytype_,
     .arg = "T",
     .help = "generated server key: rsa (2048), rsa:512..8192, ec:P-256|P-384|P-521 (also p384, secp384r1, "
	     "prime256v1 ...), ed25519, ed448"},
    {.key = "client_key_type",
     .cli = "client-key-type",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = C_ | SD_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(CS_(key_type)),
     .parse = p_keytype_,
     .arg = "T",
     .help = "generated client key (with client_cert), as key_type"},
    {.key = "cert",
     .cli = "cert",
     .type = UMPA_TLS_OT_STR,
     .flags = S_ | F_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(SS_(cert_file)),
     .arg = "FILE",
     .help = "server certificate chain (PEM, leaf first) instead of a generated one"},
    {.key = "key",
     .cli = "key",
     .type = UMPA_TLS_OT_STR,
     .flags = S_ | F_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(SS_(key_file)),
     .arg = "FILE",
     .help = "server private key (PEM; default: the cert file)"},
    {.key = "ca",
     .cli = "ca",
     .type = UMPA_TLS_OT_STR,
     .flags = C_ | F_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(CS_(ca_file)),
     .arg = "FILE",
     .help = "CAs the client trusts (default: the generated CA, or the last certificate of cert)"},
    {.key = "client_cert",
     .cli = "client-cert",
     .type = UMPA_TLS_OT_BOOL,
     .flags = CS_ | F_ | UMPA_TLS_OPT_OPTARG,
     .group = UMPA_TLS_OG_CERT,
     AT1_(CO_(client_cert)),
     .aux_at = CS_(cert_file),
     .arg = "[=FILE]",
     .help = "mutual authentication: the server asks, the client sends a generated certificate (or FILE)"},
    {.key = "client_key",
     .cli = "client-key",
     .type = UMPA_TLS_OT_STR,
     .flags = C_ | F_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(CS_(key_file)),
     .arg = "FILE",
     .help = "the client certificate's key (PEM)"},
    {.key = "client_ca",
     .cli = "client-ca",
     .type = UMPA_TLS_OT_STR,
     .flags = S_ | F_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(SS_(ca_file)),
     .arg = "FILE",
     .help = "CAs the server trusts for client certificates"},
    {.key = "verify",
     .cli = "verify",
     .type = UMPA_TLS_OT_BOOL,
     .flags = C_,
     .group = UMPA_TLS_OG_CERT,
     AT1_(CO_(verify)),
     .help = "a failed verification of the server aborts the handshake (default: reported, as s_client)"},
    /* handshake and records */
    {.key = "sni",
     .cli = "sni",
     .type = UMPA_TLS_OT_STR,
     .flags = CS_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CO_(sni)),
     .arg = "NAME",
     .help = "server name the client sends (also the generated certificate's name)"},
    STR_BOTH_("alpn", "alpn", alpn, UMPA_TLS_OG_HANDSHAKE, "LIST",
	      "ALPN protocols, comma-separated (the client offers them, the server picks its first)"),
    STR_ONE_("server_alpn", "server-alpn", S_, alpn, UMPA_TLS_OG_HANDSHAKE, "LIST",
	     "the server's ALPN preference (default: alpn)"),
    {.key = "resume",
     .cli = "resume",
     .type = UMPA_TLS_OT_ENUM,
     .flags = CS_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CO_(resume)),
     .width = W_(o.resume),
     .names = resume_names_,
     .arg = "MODE",
     .help = "id|ticket|psk|none: every conversation after the first resumes the one before"},
    {.key = "early_data",
     .cli = "early-data",
     .type = UMPA_TLS_OT_DATA,
     .flags = C_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CO_(early_data)),
     .aux_at = CO_(early_len),
     .arg = "DATA",
     .help = "0-RTT data on resumed TLS 1.3 conversations (implies resume ticket)"},
    {.key = "psk",
     .cli = "psk",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = CS_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT2_(CO_(psk), CO_(psk_identity)),
     .parse = p_psk_,
     .arg = "HEX[:ID]",
     .help = "external pre-shared key, 1-64 bytes (identity default umpa): TLS <= 1.2 PSK suites, TLS 1.3 "
	     "with (EC)DHE"},
    {.key = "key_update",
     .cli = "key-update",
     .type = UMPA_TLS_OT_INT,
     .flags = C_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CS_(key_updates)),
     .width = W_(o.side[0].key_updates),
     .ilo = 0,
     .ihi = 1000,
     .unit = "KeyUpdates",
     .arg = "N",
     .help = "TLS 1.3 KeyUpdates the client sends (0..1000)"},
    {.key = "server_key_update",
     .cli = "server-key-update",
     .type = UMPA_TLS_OT_INT,
     .flags = S_ | SD_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(SS_(key_updates)),
     .width = W_(o.side[1].key_updates),
     .ilo = 0,
     .ihi = 1000,
     .unit = "KeyUpdates",
     .arg = "N",
     .help = "TLS 1.3 KeyUpdates the server sends (0..1000)"},
    {.key = "renegotiate",
     .cli = "renegotiate",
     .type = UMPA_TLS_OT_INT,
     .flags = C_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CS_(renegotiations)),
     .width = W_(o.side[0].renegotiations),
     .ilo = 0,
     .ihi = 100,
     .unit = "renegotiations",
     .arg = "N",
     .help = "TLS <= 1.2 renegotiations the client starts (0..100)"},
    {.key = "server_renegotiate",
     .cli = "server-renegotiate",
     .type = UMPA_TLS_OT_INT,
     .flags = S_ | SD_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(SS_(renegotiations)),
     .width = W_(o.side[1].renegotiations),
     .ilo = 0,
     .ihi = 100,
     .unit = "renegotiations",
     .arg = "N",
     .help = "TLS <= 1.2 renegotiations the server starts (HelloRequest; 0..100)"},
    {.key = "max_record",
     .cli = "max-record",
     .type = UMPA_TLS_OT_INT,
     .flags = CS_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT2_(CS_(max_record), SS_(max_record)),
     .width = W_(o.side[0].max_record),
     .ilo = 512,
     .ihi = 16384,
     .unit = "bytes per record",
     .arg = "N",
     .help = "largest record plaintext, 512..16384 (512/1024/2048/4096: the client asks for "
	     "max_fragment_length)"},
    {.key = "send_client",
     .cli = "send-client",
     .type = UMPA_TLS_OT_DATA,
     .flags = C_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CS_(data)),
     .aux_at = CS_(data_len),
     .arg = "DATA",
     .help = "application data from the client (default: a small HTTP GET)"},
    {.key = "send_server",
     .cli = "send-server",
     .type = UMPA_TLS_OT_DATA,
     .flags = S_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(SS_(data)),
     .aux_at = SS_(data_len),
     .arg = "DATA",
     .help = "application data from the server (default: a small HTTP response)"},
    {.key = "close",
     .cli = "close",
     .type = UMPA_TLS_OT_ENUM,
     .flags = CS_,
     .group = UMPA_TLS_OG_HANDSHAKE,
     AT1_(CO_(close)),
     .width = W_(o.close),
     .names = close_names_,
     .arg = "HOW",
     .help = "notify|fin|reset: the ending (default notify: close_notify both ways, then FIN)"},
    {.key = "label",
     .cli = "label",
     .type = UMPA_TLS_OT_STR,
     .flags = P_,
     .group = UMPA_TLS_OG_RUN,
     AT1_(CO_(label)),
     .arg = "TEXT",
     .help = "prefix every packet comment with [TEXT]"},
    {.key = "count",
     .cli = "count",
     .cli_short = 'n',
     .type = UMPA_TLS_OT_INT,
     .flags = P_,
     .group = UMPA_TLS_OG_RUN,
     AT1_(offsetof(struct umpa_tls_conf, count)),
     .width = W_(count),
     .ilo = 1,
     .ihi = UMPA_TLS_MAX_COUNT,
     .unit = "conversations",
     .arg = "N",
     .help = "conversations, 1..10000000 (default 1, or 2 with resume)"},
    /* TCP */
    {.key = "client",
     .cli = "client",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = P_ | C_,
     .group = UMPA_TLS_OG_TCP,
     AT2_(CO_(tcp.addr[0]), CO_(tcp.port[0])),
     .parse = p_endpoint_,
     .arg = "ADDR[:PORT]",
     .help = "client address and port ([V6]:PORT; default 10.0.0.1, port from the seed)"},
    {.key = "server",
     .cli = "server",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = P_ | S_,
     .group = UMPA_TLS_OG_TCP,
     AT2_(CO_(tcp.addr[1]), CO_(tcp.port[1])),
     .parse = p_endpoint_,
     .arg = "ADDR[:PORT]",
     .help = "server address and port (default 10.0.0.2:443)"},
    {.key = "ipv6",
     .cli = "ipv6",
     .type = UMPA_TLS_OT_BOOL,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.ipv6)),
     .help = "IPv6: fd00::1 and fd00::2"},
    {.key = "mss",
     .cli = "mss",
     .type = UMPA_TLS_OT_INT,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT2_(CO_(tcp.mss[0]), CO_(tcp.mss[1])),
     .width = W_(o.tcp.mss[0]),
     .ilo = 64,
     .ihi = 65535,
     .unit = "bytes",
     .arg = "N",
     .help = "MSS both ends announce, 64..65535"},
    {.key = "segment",
     .cli = "segment",
     .type = UMPA_TLS_OT_CUSTOM,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT2_(CO_(tcp.seg_max), CO_(tcp.seg_random)),
     .ilo = 1,
     .ihi = 65535,
     .unit = "bytes per segment",
     .parse = p_segment_,
     .arg = "random|N",
     .help = "hostile segmentation: random sizes, or at most N bytes (1..65535) per segment"},
    {.key = "reorder",
     .cli = "reorder",
     .type = UMPA_TLS_OT_NUM,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.reorder)),
     .dlo = 0,
     .dhi = 1,
     .unit = "a probability",
     .arg = "P",
     .help = "probability (0..1) a data segment arrives after its successor"},
    {.key = "dup",
     .cli = "dup",
     .type = UMPA_TLS_OT_NUM,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.dup)),
     .dlo = 0,
     .dhi = 1,
     .unit = "a probability",
     .arg = "P",
     .help = "probability (0..1) a data segment is duplicated"},
    {.key = "loss",
     .cli = "loss",
     .type = UMPA_TLS_OT_NUM,
     .flags = P_ | UMPA_TLS_OPT_HI_OPEN,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.loss)),
     .dlo = 0,
     .dhi = 1,
     .unit = "a probability",
     .arg = "P",
     .help = "probability (0..1, 1 excluded) a data segment is lost and retransmitted"},
    {.key = "overlap",
     .cli = "overlap",
     .type = UMPA_TLS_OT_BOOL,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.overlap)),
     .help = "retransmissions overlap the original segments"},
    {.key = "seed",
     .cli = "seed",
     .type = UMPA_TLS_OT_INT,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.seed)),
     .width = W_(o.tcp.seed),
     .ilo = 0,
     .ihi = UINT64_MAX,
     .unit = "a whole number",
     .arg = "N",
     .help = "TCP randomness (ISNs, ports, IP ids), 0..2^64-1; TLS bytes differ on every run"},
    {.key = "rtt",
     .cli = "rtt",
     .type = UMPA_TLS_OT_NUM,
     .flags = P_,
     .group = UMPA_TLS_OG_TCP,
     AT1_(CO_(tcp.rtt_us)),
     .dlo = 0,
     .dhi = 60,
     .unit = "seconds",
     .store = st_rtt_,
     .arg = "S",
     .help = "round-trip time in seconds, 0..60 (default 0.02)"},
    {.key = "time",
     .cli = "time",
     .type = UMPA_TLS_OT_NUM,
     .flags = P_ | UMPA_TLS_OPT_TIME,
     .group = UMPA_TLS_OG_TCP,
     AT2_(CO_(tcp.start_sec), CO_(tcp.start_nsec)),
     .dlo = 0,
     .dhi = UMPA_TLS_MAX_TIME,
     .unit = "seconds since 1970",
     .arg = "T",
     .help = "time of the first packet, seconds since the epoch, 0..4000000000 (fractions allowed)"},
    {.key = NULL},
};

_Static_assert(sizeof(umpa_tls_optdefs) / sizeof(umpa_tls_optdefs[0]) <= UMPA_TLS_OPTS_MAX, "raise UMPA_TLS_OPTS_MAX");

size_t umpa_tls_optdefs_count(void)
{
	return sizeof(umpa_tls_optdefs) / sizeof(umpa_tls_optdefs[0]) - 1;
}

const struct umpa_tls_optdef *umpa_tls_opt_find(const char *key)
{
	for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; key && d->key; d++)
		if (!strcmp(d->key, key))
			return d;
	return NULL;
}

const struct umpa_tls_optdef *umpa_tls_opt_find_cli(const char *cli)
{
	for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; cli && d->key; d++)
		if (d->cli && !strcmp(d->cli, cli))
			return d;
	return NULL;
}

int umpa_tls_conf_init(struct umpa_tls_conf *c, struct umpa_err *e)
{
	(void)e;
	memset(c, 0, sizeof(*c));
	umpa_tls_opts_init(&c->o);
	c->family[0] = c->family[1] = -1;
	return 0;
}

void umpa_tls_conf_free(struct umpa_tls_conf *c)
{
	for (size_t i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	c->owned = NULL;
	c->nowned = c->capowned = 0;
}

static void mark_given_(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c)
{
	size_t i = (size_t)(d - umpa_tls_optdefs);

	if (i < UMPA_TLS_OPTS_MAX && !c->given[i])
		c->given[i] = ++c->ngiven;
}

int umpa_tls_opt_set_bool(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, int on, struct umpa_err *e)
{
	if (d->type != UMPA_TLS_OT_BOOL)
		return umpa_err_set(e, UMPA_EINVAL, "%s: not an on/off option", d->key);
	for (unsigned i = 0; i < d->nat; i++)
		put_uint_(c, d->at[i], sizeof(int), on ? 1 : 0);
	if (!on && (d->flags & UMPA_TLS_OPT_OPTARG))
		put_ptr_(c, d->aux_at, NULL);
	mark_given_(d, c);
	return 0;
}

/* DATA with \n \r \t \\ \0 \xHH escapes decoded into @p out (room for @p len bytes).  Returns the length or -1. */
static long unescape_(const struct umpa_tls_optdef *d, const char *v, size_t len, uint8_t *out, struct umpa_err *e)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (v[i] != '\\' || i + 1 == len) {
			out[n++] = (uint8_t)v[i];
			continue;
		}
		switch (v[++i]) {
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case '0':
			out[n++] = 0;
			break;
		case 'x': {
			int h = i + 1 < len ? umpa_spec_hexval(v[i + 1]) : -1,
			    l = i + 2 < len ? umpa_spec_hexval(v[i + 2]) : -1;
			if (h < 0) {
				umpa_err_set(e, UMPA_EINVAL, "%s: bad escape '\\x%.2s'", d->key, v + i + 1);
				return -1;
			}
			out[n++] = (uint8_t)(l < 0 ? h : h * 16 + l);
			i += l < 0 ? 1 : 2;
			break;
		}
		default:
			out[n++] = (uint8_t)v[i];
			break;
		}
	}
	return (long)n;
}

int umpa_tls_opt_set(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
		     unsigned flags, struct umpa_err *e)
{
	uint64_t u = 0;
	double x = 0;
	int rc = 0;

	if (!v)
		return umpa_err_set(e, UMPA_EINVAL, "%s: needs a value", d->key);
	switch (d->type) {
	case UMPA_TLS_OT_STR: {
		const char *k = keep_str_(c, v, len, flags);
		if (!k)
			return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
		for (unsigned i = 0; i < d->nat; i++)
			put_ptr_(c, d->at[i], k);
		break;
	}
	case UMPA_TLS_OT_DATA: {
		const void *p = v;
		size_t n = len;
		if (flags & UMPA_TLS_SET_ESCAPES) {
			uint8_t *out = malloc(len + 1);
			long r;
			if (!out)
				return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
			r = unescape_(d, v, len, out, e);
			if (r < 0) {
				free(out);
				return -e->code;
			}
			if (!own_(c, out))
				return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
			p = out;
			n = (size_t)r;
		} else if (!(p = keep_str_(c, v, len, flags))) {
			return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
		}
		put_ptr_(c, d->at[0], p);
		memcpy((char *)c + d->aux_at, &n, sizeof(n));
		break;
	}
	case UMPA_TLS_OT_BOOL:
		if (d->flags & UMPA_TLS_OPT_OPTARG) { /* --client-cert=FILE */
			const char *k = keep_str_(c, v, len, flags);
			if (!k)
				return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", d->key);
			rc = umpa_tls_opt_set_bool(d, c, 1, e);
			put_ptr_(c, d->aux_at, k);
			return rc;
		}
		if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
			return umpa_tls_opt_set_bool(d, c, 1, e);
		if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
			return umpa_tls_opt_set_bool(d, c, 0, e);
		return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not true or false", d->key, v);
	case UMPA_TLS_OT_INT:
		if ((rc = num_parse_(d, v, 1, &u, NULL, e)) < 0)
			return rc;
		for (unsigned i = 0; i < d->nat; i++)
			put_uint_(c, d->at[i], d->width, u);
		break;
	case UMPA_TLS_OT_NUM:
		if (d->flags & UMPA_TLS_OPT_TIME) { /* exact: no binary rounding of "1600000000.123456789" */
			struct umpa_num_spec spec;
			int64_t sec, nsec64;
			uint32_t nsec;
			umpa_tls_opt_num_spec(d, &spec);
			if (umpa_num_time(&spec, d->key, v, &sec, &nsec, e) < 0)
				return -e->code;
			nsec64 = nsec;
			memcpy((char *)c + d->at[0], &sec, sizeof(sec));
			memcpy((char *)c + d->at[1], &nsec64, sizeof(nsec64));
			break;
		}
		if ((rc = num_parse_(d, v, 0, NULL, &x, e)) < 0)
			return rc;
		if (d->store)
			d->store(c, x);
		else
			for (unsigned i = 0; i < d->nat; i++)
				memcpy((char *)c + d->at[i], &x, sizeof(x));
		break;
	case UMPA_TLS_OT_ENUM: {
		const struct umpa_tls_optname *nm = d->names;
		char list[128] = "";
		size_t ll = 0;
		for (; nm->name; nm++)
			if (!strcasecmp(nm->name, v))
				break;
		if (!nm->name) {
			struct umpa_near nr;
			char near[UMPA_NEAR_MAX + 1];
			const char *best;
			umpa_near_init(&nr, v);
			for (nm = d->names; nm->name; nm++) {
				ll += (size_t)snprintf(list + ll, ll < sizeof(list) ? sizeof(list) - ll : 0, "%s%s",
						       nm == d->names ? "" : ", ", nm->name);
				umpa_near_str(&nr, nm->name);
			}
			best = umpa_near_best(&nr, near, sizeof near);
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not one of %s%s%s%s", d->key, v, list,
					    best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
		}
		for (unsigned i = 0; i < d->nat; i++)
			put_uint_(c, d->at[i], d->width, (uint64_t)(unsigned)nm->value);
		break;
	}
	case UMPA_TLS_OT_CUSTOM:
		if ((rc = d->parse(d, c, v, len, flags, e)) < 0)
			return rc;
		break;
	}
	mark_given_(d, c);
	return 0;
}

int umpa_tls_conf_finish(struct umpa_tls_conf *c, struct umpa_err *e)
{
	if (c->family[0] >= 0 && c->family[1] >= 0 && c->family[0] != c->family[1])
		return umpa_err_set(e, UMPA_EINVAL, "server: client and server must both be IPv4 or both IPv6");
	if (c->family[0] == 1 || c->family[1] == 1) {
		c->o.tcp.ipv6 = 1;
	} else if ((c->family[0] == 0 || c->family[1] == 0) && c->o.tcp.ipv6) {
		/* an IPv4 address was given and ipv6 asked for; an IPv6 address turns ipv6 on by itself */
		const struct umpa_tls_optdef *d = umpa_tls_opt_find("ipv6");
		if (c->given[d - umpa_tls_optdefs])
			return umpa_err_set(e, UMPA_EINVAL, "ipv6: client/server gave IPv4 addresses");
	}
	if (c->o.early_len && c->o.resume == UMPA_TLS_RESUME_NONE)
		c->o.resume = UMPA_TLS_RESUME_TICKET; /* 0-RTT needs a session to resume */
	if (!c->count)
		c->count = c->o.resume != UMPA_TLS_RESUME_NONE ? 2 : 1;
	return 0;
}

/* Do @p a and @p b write a field in common? */
static int overlap_(const struct umpa_tls_optdef *a, const struct umpa_tls_optdef *b)
{
	for (unsigned i = 0; i < a->nat; i++)
		for (unsigned j = 0; j < b->nat; j++)
			if (a->at[i] == b->at[j])
				return 1;
	return 0;
}

const struct umpa_tls_optdef *umpa_tls_opt_from_msg(const char *msg, const struct umpa_tls_conf *c, const char **rest)
{
	const char *colon = msg ? strchr(msg, ':') : NULL;
	const struct umpa_tls_optdef *d = NULL, *best = NULL;
	char key[64];

	if (!colon || colon[1] != ' ' || (size_t)(colon - msg) >= sizeof(key))
		return NULL;
	memcpy(key, msg, (size_t)(colon - msg));
	key[colon - msg] = 0;
	if (!(d = umpa_tls_opt_find(key)))
		return NULL;
	if (rest)
		*rest = colon + 2;
	if (!c || c->given[d - umpa_tls_optdefs])
		return d;
	/* the user gave another option for the same fields: name the first of them */
	for (const struct umpa_tls_optdef *o = umpa_tls_optdefs; o->key; o++) {
		unsigned g = c->given[o - umpa_tls_optdefs];
		if (g && overlap_(d, o) && (!best || g < c->given[best - umpa_tls_optdefs]))
			best = o;
	}
	return best ? best : d;
}
