/* tls_internal.h - private helpers of the TLS pump (sched/tls*.c). */
#ifndef UMPA_TLS_INTERNAL_H
#define UMPA_TLS_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "umpa_tls.h"

/** What a generated certificate is for. */
enum umpa_tls_certkind_ {
	UMPA_TLS_CERT_CA_ = 0,     /**< self-signed CA (basicConstraints CA:TRUE, keyCertSign) */
	UMPA_TLS_CERT_SERVER_ = 1, /**< leaf for serverAuth, SAN = the name */
	UMPA_TLS_CERT_CLIENT_ = 2, /**< leaf for clientAuth */
};

/**
 * Generate a key of @p type ("rsa", "rsa:BITS", "ec:P-256", "ec:P-384",
 * "ec:P-521", "ed25519", "ed448"; NULL: "rsa").  Returns a new key (the
 * caller frees it) or NULL with @p e set ("--key-type: ...").
 */
EVP_PKEY *umpa_tls_keygen_(const char *type, struct umpa_err *e);

/**
 * Make a certificate for @p key named @p cn (also its DNS or IP SAN for a
 * server), valid from a day ago for a year, signed by @p cakey with issuer
 * @p ca (both NULL: self-signed).  Returns a new certificate or NULL with
 * @p e set.
 */
X509 *umpa_tls_cert_make_(EVP_PKEY *key, const char *cn, enum umpa_tls_certkind_ kind, X509 *ca, EVP_PKEY *cakey,
			  struct umpa_err *e);

/** Describe @p x (subject, issuer, validity, key) into @p out. */
void umpa_tls_cert_info_(X509 *x, struct umpa_tls_cert *out);

/**
 * What client @p cl sees of its handshake into @p r: cipher (both names),
 * group, the server's signature algorithm, ALPN, the verification result
 * and reason, the server's chain (the verified one when verification
 * passed).  @p failed: the handshake failed (a verification error is still
 * reported).  Shared by the pump and `tls --connect`.
 */
void umpa_tls_report_client_(SSL *cl, struct umpa_tls_report *r, int failed);

#endif
