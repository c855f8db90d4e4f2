/* umpa_proxy_ca.h - the certificate authority of the proxy's TLS man-in-the-middle.
 *
 * A CA kept in a directory: ca.crt (PEM) and ca.key (PEM, mode 0600), made
 * on first use (ECDSA P-256, CN "umpa proxy CA", valid from a day ago for a
 * year) and read back afterwards, so a client that trusts ca.crt once
 * (curl --cacert DIR/ca.crt) keeps trusting it.  Leaf certificates for the
 * hosts the proxy impersonates all share one key pair made at open (as
 * tcpproxy and mitmproxy do: one key, many certificates), copy the real
 * server certificate's subject CN and subjectAltName extension (or, with
 * no real certificate, name the SNI as CN and DNS SAN), and are signed by
 * the CA with SHA-256.  They are cached by host name (SNI, else the real
 * certificate's CN): the same host gets the same certificate.
 */
#ifndef UMPA_PROXY_CA_H
#define UMPA_PROXY_CA_H

#include "umpa_error.h"

struct x509_st;
struct evp_pkey_st;

/** Most leaf certificates kept in the cache (the oldest goes first). */
#define UMPA_PROXY_CA_CACHE 4096

struct umpa_proxy_ca;

/**
 * Open the CA in @p dir (created, mode 0700, when missing): read ca.crt and
 * ca.key, or make and write them.  *@p created (may be NULL) says which.
 * Returns NULL with @p e set: "DIR/ca.key: cannot read the key", "DIR/ca.crt
 * does not match DIR/ca.key", "DIR: Permission denied".
 */
struct umpa_proxy_ca *umpa_proxy_ca_open(const char *dir, int *created, struct umpa_err *e);

/**
 * A CA kept elsewhere (the redis keys ca:cert and ca:key): from PEM
 * @p cert_pem and @p key_pem, or, both NULL, a new one made in memory (as
 * umpa_proxy_ca_open makes it).  Its cert path is "".  Returns NULL with @p e
 * set: "ca:cert: no PEM certificate", "ca:cert does not match ca:key".
 */
struct umpa_proxy_ca *umpa_proxy_ca_from_pem(const char *cert_pem, const char *key_pem, struct umpa_err *e);

/**
 * The CA certificate and key as PEM into malloc'ed *@p cert_pem and *@p key_pem (the caller frees them).
 * Returns 0 or -UMPA_ENOMEM.
 */
int umpa_proxy_ca_pem(const struct umpa_proxy_ca *ca, char **cert_pem, char **key_pem);

/** The CA certificate's path (DIR/ca.crt). */
const char *umpa_proxy_ca_cert_path(const struct umpa_proxy_ca *ca);

/** The CA certificate (borrowed). */
struct x509_st *umpa_proxy_ca_cert(const struct umpa_proxy_ca *ca);

/**
 * The leaf certificate for @p host (may be NULL when @p real is given),
 * copying @p real's CN and SANs when @p real is given (NULL: CN and SAN
 * from @p host).  The certificate and *@p key are borrowed from the cache:
 * valid until umpa_proxy_ca_free (SSL_CTX_use_certificate takes its own
 * reference).  Returns NULL with @p e set.
 */
struct x509_st *umpa_proxy_ca_leaf(struct umpa_proxy_ca *ca, const char *host, struct x509_st *real,
				   struct evp_pkey_st **key, struct umpa_err *e);

/**
 * Put a leaf kept elsewhere (the redis keys HOST:cert and HOST:key, PEM) into the cache for @p host, so it
 * is served instead of a new one being made: it must carry a key that matches it, be signed by this CA and
 * be valid now.  A host already cached keeps its leaf.  Not told to umpa_proxy_ca_on_leaf.  Returns 0, or
 * -UMPA_EINVAL with @p e set ("leaf: not signed by this CA") or -UMPA_ENOMEM.
 */
int umpa_proxy_ca_add_leaf(struct umpa_proxy_ca *ca, const char *host, const char *cert_pem, const char *key_pem,
			   struct umpa_err *e);

/** Does the cache hold a leaf for @p host? */
int umpa_proxy_ca_has_leaf(const struct umpa_proxy_ca *ca, const char *host);

/** Told each leaf certificate made (a cache miss): its host name, the certificate and the leaf key as PEM. */
typedef void (*umpa_proxy_ca_leaf_fn)(void *arg, const char *host, const char *cert_pem, const char *key_pem);

/** Call @p fn (NULL: nobody) for each leaf made from now on (the redis keys HOST:cert and HOST:key). */
void umpa_proxy_ca_on_leaf(struct umpa_proxy_ca *ca, umpa_proxy_ca_leaf_fn fn, void *arg);

/** Leaf certificates made so far (cache misses). */
unsigned long umpa_proxy_ca_made(const struct umpa_proxy_ca *ca);

/** Free @p ca (NULL is fine).  Returns NULL. */
struct umpa_proxy_ca *umpa_proxy_ca_free(struct umpa_proxy_ca *ca);

#endif
