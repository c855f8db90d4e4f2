/* tls_cert.c - keys and certificates for the TLS pump: generation (a CA and
 * leaves it signs, RFC 5280 profile: v3, random serial, SKI/AKI, SAN) and the
 * one-line descriptions the report shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls_internal.h"
#include "umpa_num.h"
#include "umpa_tls_opts.h"

/* A parsed key type. */
struct keyspec_ {
	enum { K_RSA_, K_EC_, K_ED25519_, K_ED448_, K_DSA_ } kind;
	unsigned bits;     /* RSA, DSA */
	const char *curve; /* EC: OpenSSL's group name */
};

/* The curve names users type, with OpenSSL's group name and the NIST name. */
static const struct {
	const char *name, *group, *nist;
} curves_[] = {
    {"p256", "P-256", "P-256"},       {"p-256", "P-256", "P-256"},     {"secp256r1", "P-256", "P-256"},
    {"prime256v1", "P-256", "P-256"}, {"nistp256", "P-256", "P-256"},  {"p384", "P-384", "P-384"},
    {"p-384", "P-384", "P-384"},      {"secp384r1", "P-384", "P-384"}, {"nistp384", "P-384", "P-384"},
    {"p521", "P-521", "P-521"},       {"p-521", "P-521", "P-521"},     {"secp521r1", "P-521", "P-521"},
    {"nistp521", "P-521", "P-521"},
};

#define KT_LIST_                                                                                                       \
	"rsa, rsa:BITS, ec:P-256, ec:P-384, ec:P-521 (or p384, P-384, secp384r1, prime256v1 ...), ed25519, ed448"

/* Parse key type @p s into @p k.  Returns 0 or -UMPA_EINVAL with "key_type: ..." in @p e. */
static int keyspec_parse_(const char *s, int dsa_ok, struct keyspec_ *k, struct umpa_err *e)
{
	const char *t = s ? s : "rsa", *curve = NULL;
	size_t i;

	memset(k, 0, sizeof(*k));
	if (!strcasecmp(t, "rsa") || !strncasecmp(t, "rsa:", 4) ||
	    (dsa_ok && (!strcasecmp(t, "dsa") || !strncasecmp(t, "dsa:", 4)))) {
		unsigned long lo = UMPA_TLS_RSA_MIN_BITS, hi = UMPA_TLS_RSA_MAX_BITS, bits = 2048;
		k->kind = (t[0] | 32) == 'd' ? K_DSA_ : K_RSA_;
		if (k->kind == K_DSA_)
			lo = 1024, hi = 3072;
		if (t[3] == ':') {
			struct umpa_num_spec spec = {k->kind == K_DSA_ ? "bits of a DSA key" : "bits of an RSA key",
						     (double)lo, (double)hi, UMPA_NUM_INT};
			uint64_t b;
			if (umpa_num_u64(&spec, "key_type", t + 4, &b, e) < 0)
				return -e->code;
			bits = (unsigned long)b;
		}
		k->bits = (unsigned)bits;
		return 0;
	}
	if (!strcasecmp(t, "ed25519")) {
		k->kind = K_ED25519_;
		return 0;
	}
	if (!strcasecmp(t, "ed448")) {
		k->kind = K_ED448_;
		return 0;
	}
	if (!strcasecmp(t, "ec") || !strcasecmp(t, "ecdsa"))
		curve = "P-256";
	else if (!strncasecmp(t, "ec:", 3))
		curve = t + 3;
	else if (!strncasecmp(t, "ecdsa:", 6))
		curve = t + 6;
	for (i = 0; i < sizeof(curves_) / sizeof(curves_[0]); i++)
		if (!strcasecmp(curve ? curve : t, curves_[i].name))
			break;
	if (i < sizeof(curves_) / sizeof(curves_[0])) {
		k->kind = K_EC_;
		k->curve = curves_[i].group;
		return 0;
	}
	if (curve)
		return umpa_err_set(e, UMPA_EINVAL, "key_type: unknown curve '%s' (P-256, P-384, P-521)", curve);
	return umpa_err_set(e, UMPA_EINVAL, "key_type: unknown key type '%s' (" KT_LIST_ ")", t);
}

int umpa_tls_keytype_parse(const char *s, int dsa_ok, char *canon, size_t n, struct umpa_err *e)
{
	struct keyspec_ k;

	if (keyspec_parse_(s, dsa_ok, &k, e) < 0)
		return -e->code;
	if (canon && n) {
		switch (k.kind) {
		case K_RSA_:
			snprintf(canon, n, "rsa:%u", k.bits);
			break;
		case K_DSA_:
			snprintf(canon, n, "dsa:%u", k.bits);
			break;
		case K_EC_:
			snprintf(canon, n, "ec:%s", k.curve);
			break;
		case K_ED25519_:
			snprintf(canon, n, "ed25519");
			break;
		case K_ED448_:
			snprintf(canon, n, "ed448");
			break;
		}
	}
	return 0;
}

/* A DSA key of @p bits (parameters generated first). */
static EVP_PKEY *dsa_keygen_(unsigned bits)
{
	EVP_PKEY *pkey = NULL, *params = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL), *kc = NULL;

	if (pc && EVP_PKEY_paramgen_init(pc) > 0 && EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, (int)bits) > 0 &&
	    EVP_PKEY_paramgen(pc, &params) > 0) {
		kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
		if (!kc || EVP_PKEY_keygen_init(kc) <= 0 || EVP_PKEY_keygen(kc, &pkey) <= 0)
			pkey = NULL;
	}
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(params);
	return pkey;
}

/* Generate a key of @p type; DSA only when @p dsa_ok. */
static EVP_PKEY *keygen_(const char *type, int dsa_ok, struct umpa_err *e)
{
	struct keyspec_ k;
	EVP_PKEY *p = NULL;

	if (keyspec_parse_(type, dsa_ok, &k, e) < 0)
		return NULL;
	switch (k.kind) {
	case K_RSA_:
		p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)k.bits);
		break;
	case K_DSA_:
		p = dsa_keygen_(k.bits);
		break;
	case K_EC_:
		p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", k.curve);
		break;
	case K_ED25519_:
		p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case K_ED448_:
		p = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
		break;
	}
	if (!p) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		ERR_clear_error();
		umpa_err_set(e, UMPA_EINVAL, "key_type: cannot generate a '%s' key: %s", type ? type : "rsa", buf);
	}
	return p;
}

EVP_PKEY *umpa_tls_keygen_(const char *type, struct umpa_err *e)
{
	return keygen_(type, 0, e);
}

/* Add extension @p nid with value @p val (openssl.cnf syntax) to @p x. */
static int add_ext_(X509 *x, X509 *issuer, int nid, const char *val)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
	if (!ex)
		return 0;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return ok;
}

X509 *umpa_tls_cert_make_(EVP_PKEY *key, const char *cn, enum umpa_tls_certkind_ kind, X509 *ca, EVP_PKEY *cakey,
			  struct umpa_err *e)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();
	unsigned char ipb[16];
	char san[300];
	int ok = x && name && bn;

	ok = ok && X509_set_version(x, 2);
	ok = ok && BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
	ok = ok && X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400L);
	ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"umpa", -1, -1, 0);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	ok = ok && X509_set_subject_name(x, name);
	ok = ok && X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
	ok = ok && X509_set_pubkey(x, key);
	ok = ok && add_ext_(x, ca ? ca : x, NID_subject_key_identifier, "hash");
	switch (kind) {
	case UMPA_TLS_CERT_CA_:
		ok = ok && add_ext_(x, x, NID_basic_constraints, "critical,CA:TRUE");
		ok = ok && add_ext_(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
		break;
	case UMPA_TLS_CERT_SERVER_:
		if (inet_pton(AF_INET, cn, ipb) == 1 || inet_pton(AF_INET6, cn, ipb) == 1)
			snprintf(san, sizeof(san), "IP:%s", cn);
		else
			snprintf(san, sizeof(san), "DNS:%s", cn);
		ok = ok && add_ext_(x, ca, NID_basic_constraints, "critical,CA:FALSE");
		ok = ok && add_ext_(x, ca, NID_ext_key_usage, "serverAuth");
		ok = ok && add_ext_(x, ca, NID_subject_alt_name, san);
		break;
	case UMPA_TLS_CERT_CLIENT_:
		ok = ok && add_ext_(x, ca, NID_basic_constraints, "critical,CA:FALSE");
		ok = ok && add_ext_(x, ca, NID_ext_key_usage, "clientAuth");
		break;
	}
	if (ok && ca)
		ok = add_ext_(x, ca, NID_authority_key_identifier, "keyid:always");
	if (ok) {
		EVP_PKEY *sk = cakey ? cakey : key;
		int id = EVP_PKEY_get_base_id(sk);
		/* Ed25519/Ed448 sign without a separate digest. */
		ok = X509_sign(x, sk, (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? NULL : EVP_sha256()) > 0;
	}
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		ERR_clear_error();
		umpa_err_set(e, UMPA_ENOMEM, "tls: cannot make a certificate for '%s': %s", cn, buf);
		X509_free(x);
		return NULL;
	}
	return x;
}

/* @p t as "YYYY-MM-DD HH:MM:SS UTC". */
static void time_str_(const ASN1_TIME *t, char *out, size_t n)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, n, "?");
}

/* @p nm in RFC 2253 form. */
static void name_str_(const X509_NAME *nm, char *out, size_t n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	out[0] = 0;
	if (!b)
		return;
	if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len > 0)
			snprintf(out, n, "%.*s", (int)len, p);
	}
	BIO_free(b);
}

/* @p x's DNS and IP subjectAltNames as "DNS:a, IP:b" into @p out (cut at @p n - 1 bytes). */
static void san_str_(X509 *x, char *out, size_t n)
{
	GENERAL_NAMES *gs = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t len = 0;

	out[0] = 0;
	for (int i = 0; gs && i < sk_GENERAL_NAME_num(gs); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gs, i);
		char one[64] = "";
		if (g->type == GEN_DNS) {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
			snprintf(one, sizeof(one), "DNS:%.*s",
				 ASN1_STRING_length(g->d.dNSName) > 59 ? 59 : ASN1_STRING_length(g->d.dNSName),
				 (const char *)d);
		} else if (g->type == GEN_IPADD) {
			int l = ASN1_STRING_length(g->d.iPAddress);
			char a[INET6_ADDRSTRLEN] = "?";
			if (l == 4 || l == 16)
				inet_ntop(l == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), a,
					  sizeof(a));
			snprintf(one, sizeof(one), "IP:%s", a);
		} else {
			continue;
		}
		if (len + strlen(one) + 3 >= n)
			break;
		len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "", one);
	}
	GENERAL_NAMES_free(gs);
}

void umpa_tls_cert_info_(X509 *x, struct umpa_tls_cert *out)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	memset(out, 0, sizeof(*out));
	name_str_(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_str_(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	time_str_(X509_get0_notBefore(x), out->not_before, sizeof(out->not_before));
	time_str_(X509_get0_notAfter(x), out->not_after, sizeof(out->not_after));
	san_str_(x, out->san, sizeof(out->san));
	if (!k) {
		snprintf(out->key_type, sizeof(out->key_type), "?");
		return;
	}
	out->key_bits = EVP_PKEY_get_bits(k);
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		snprintf(out->key_type, sizeof(out->key_type), "RSA");
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(out->key_type, sizeof(out->key_type), "RSA-PSS");
		break;
	case EVP_PKEY_EC: {
		char g[64] = "";
		const char *nist = NULL;
		size_t gl = 0;
		if (EVP_PKEY_get_group_name(k, g, sizeof(g), &gl))
			nist = EC_curve_nid2nist(OBJ_sn2nid(g));
		snprintf(out->key_type, sizeof(out->key_type), "EC %.28s", nist ? nist : g);
		break;
	}
	case EVP_PKEY_ED25519:
		snprintf(out->key_type, sizeof(out->key_type), "ED25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(out->key_type, sizeof(out->key_type), "ED448");
		break;
	default:
		snprintf(out->key_type, sizeof(out->key_type), "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
		break;
	}
}

int umpa_tls_cert_write_pem(const char *key_type, const char *cn, const char *cert_path, const char *key_path,
			    struct umpa_err *e)
{
	EVP_PKEY *k = keygen_(key_type, 1, e);
	X509 *x = k ? umpa_tls_cert_make_(k, cn, UMPA_TLS_CERT_SERVER_, NULL, NULL, e) : NULL;
	FILE *f = NULL;
	int fd, rc = -1;

	if (!x)
		goto out;
	f = fopen(cert_path, "w");
	if (!f || !PEM_write_X509(f, x) || fclose(f) != 0) {
		f = NULL;
		umpa_err_set(e, UMPA_EIO, "%s: cannot write the certificate", cert_path);
		goto out;
	}
	fd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0) {
		f = NULL;
		umpa_err_set(e, UMPA_EIO, "%s: cannot write the key", key_path);
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc < 0 ? -(e && e->code ? e->code : UMPA_EIO) : 0;
}
