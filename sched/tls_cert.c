/* tls_cert.c - keys and certificates for the TLS pump: generation (a CA and
 * leaves it signs, RFC 5280 profile: v3, random serial, SKI/AKI, SAN) and the
 * one-line descriptions the report shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls_internal.h"

EVP_PKEY *umpa_tls_keygen_(const char *type, struct umpa_err *e)
{
	EVP_PKEY *k = NULL;
	const char *t = type ? type : "rsa";

	if (!strcmp(t, "rsa") || !strncmp(t, "rsa:", 4)) {
		unsigned long bits = 2048;
		if (t[3] == ':') {
			char *end;
			bits = strtoul(t + 4, &end, 10);
			if (*end || bits < 512 || bits > 16384) {
				umpa_err_set(e, UMPA_EINVAL, "--key-type: RSA size '%s' is not 512..16384 bits", t + 4);
				return NULL;
			}
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (!strncmp(t, "ec:", 3) || !strncmp(t, "ecdsa:", 6)) {
		const char *curve = strchr(t, ':') + 1;
		int nid = EC_curve_nist2nid(curve);
		if (nid == NID_undef)
			nid = OBJ_sn2nid(curve);
		if (nid == NID_undef || !OBJ_nid2sn(nid)) {
			umpa_err_set(e, UMPA_EINVAL, "--key-type: unknown curve '%s' (P-256, P-384, P-521)", curve);
			return NULL;
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", OBJ_nid2sn(nid));
	} else if (!strcmp(t, "ec") || !strcmp(t, "ecdsa")) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	} else if (!strcmp(t, "ed25519")) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else if (!strcmp(t, "ed448")) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	} else {
		umpa_err_set(e, UMPA_EINVAL,
			     "--key-type: unknown key type '%s' (rsa, rsa:BITS, ec:P-256, ec:P-384, ec:P-521, ed25519, "
			     "ed448)",
			     t);
		return NULL;
	}
	if (!k) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		ERR_clear_error();
		umpa_err_set(e, UMPA_EINVAL, "--key-type: cannot generate a '%s' key: %s", t, buf);
	}
	return k;
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

void umpa_tls_cert_info_(X509 *x, struct umpa_tls_cert *out)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	memset(out, 0, sizeof(*out));
	name_str_(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_str_(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	time_str_(X509_get0_notBefore(x), out->not_before, sizeof(out->not_before));
	time_str_(X509_get0_notAfter(x), out->not_after, sizeof(out->not_after));
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
