/* proxy_ca.c - the proxy's man-in-the-middle CA and leaf certificates (umpa_proxy_ca.h). */
#include "umpa_proxy_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls_internal.h"

struct leaf_ {
	char *host;
	X509 *x;
	EVP_PKEY *key; /* its key: a reference to leafkey, or a stored leaf's own (umpa_proxy_ca_add_leaf) */
};

struct umpa_proxy_ca {
	char dir[4096];
	char crt[4200];
	char keyp[4200];
	X509 *cert;
	EVP_PKEY *key;
	EVP_PKEY *leafkey; /* the one key pair of every leaf */
	struct leaf_ *leaves;
	unsigned nleaves, next; /* a ring once full */
	unsigned long made;
	umpa_proxy_ca_leaf_fn on_leaf;
	void *on_leaf_arg;
};

static char *pem_text(X509 *x, EVP_PKEY *k);

static int ossl_fail(struct umpa_err *e, int code, const char *what)
{
	char buf[256];
	unsigned long err = ERR_get_error();
	if (err)
		ERR_error_string_n(err, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "failed");
	ERR_clear_error();
	return umpa_err_set(e, code, "%s: %s", what, buf);
}

static int write_pem(const char *path, int mode, X509 *x, EVP_PKEY *k, struct umpa_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return umpa_err_set(e, UMPA_EIO, "%s: %s", path, strerror(errno));
	}
	ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || !ok)
		return umpa_err_set(e, UMPA_EIO, "%s: cannot write", path);
	return 0;
}

struct umpa_proxy_ca *umpa_proxy_ca_open(const char *dir, int *created, struct umpa_err *e)
{
	struct umpa_proxy_ca *ca = calloc(1, sizeof(*ca));
	FILE *f;
	int have_crt, have_key;
	if (created)
		*created = 0;
	if (!ca) {
		umpa_err_set(e, UMPA_ENOMEM, "ca: out of memory");
		return NULL;
	}
	if (strlen(dir) >= sizeof(ca->dir)) {
		umpa_err_set(e, UMPA_EINVAL, "ca-dir: path too long");
		return umpa_proxy_ca_free(ca);
	}
	snprintf(ca->dir, sizeof(ca->dir), "%s", dir);
	snprintf(ca->crt, sizeof(ca->crt), "%s/ca.crt", dir);
	snprintf(ca->keyp, sizeof(ca->keyp), "%s/ca.key", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		umpa_err_set(e, UMPA_EIO, "%s: %s", dir, strerror(errno));
		return umpa_proxy_ca_free(ca);
	}
	have_crt = access(ca->crt, F_OK) == 0;
	have_key = access(ca->keyp, F_OK) == 0;
	if (have_crt != have_key) {
		umpa_err_set(e, UMPA_EINVAL, "%s: has %s but not %s", dir, have_crt ? "ca.crt" : "ca.key",
			     have_crt ? "ca.key" : "ca.crt");
		return umpa_proxy_ca_free(ca);
	}
	if (have_crt) {
		if (!(f = fopen(ca->crt, "r")) || !(ca->cert = PEM_read_X509(f, NULL, NULL, NULL))) {
			if (f)
				fclose(f);
			ossl_fail(e, UMPA_EINVAL, ca->crt);
			return umpa_proxy_ca_free(ca);
		}
		fclose(f);
		if (!(f = fopen(ca->keyp, "r")) || !(ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
			if (f)
				fclose(f);
			ossl_fail(e, UMPA_EINVAL, ca->keyp);
			return umpa_proxy_ca_free(ca);
		}
		fclose(f);
		if (X509_check_private_key(ca->cert, ca->key) != 1) {
			ERR_clear_error();
			umpa_err_set(e, UMPA_EINVAL, "%s does not match %s", ca->crt, ca->keyp);
			return umpa_proxy_ca_free(ca);
		}
	} else {
		if (!(ca->key = umpa_tls_keygen_("ec:P-256", e))) {
			ossl_fail(e, UMPA_ENOMEM, "ca: key");
			return umpa_proxy_ca_free(ca);
		}
		if (!(ca->cert = umpa_tls_cert_make_(ca->key, "umpa proxy CA", UMPA_TLS_CERT_CA_, NULL, NULL, e)))
			return umpa_proxy_ca_free(ca);
		if (write_pem(ca->keyp, 0600, NULL, ca->key, e) < 0 || write_pem(ca->crt, 0644, ca->cert, NULL, e) < 0)
			return umpa_proxy_ca_free(ca);
		if (created)
			*created = 1;
	}
	if (!(ca->leafkey = umpa_tls_keygen_("ec:P-256", e))) {
		ossl_fail(e, UMPA_ENOMEM, "ca: leaf key");
		return umpa_proxy_ca_free(ca);
	}
	return ca;
}

struct umpa_proxy_ca *umpa_proxy_ca_from_pem(const char *cert_pem, const char *key_pem, struct umpa_err *e)
{
	struct umpa_proxy_ca *ca = calloc(1, sizeof(*ca));
	BIO *b;
	if (!ca) {
		umpa_err_set(e, UMPA_ENOMEM, "ca: out of memory");
		return NULL;
	}
	if (cert_pem && key_pem) {
		if (!(b = BIO_new_mem_buf(cert_pem, -1)) || !(ca->cert = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
			BIO_free(b);
			ossl_fail(e, UMPA_EINVAL, "ca:cert: no PEM certificate");
			return umpa_proxy_ca_free(ca);
		}
		BIO_free(b);
		if (!(b = BIO_new_mem_buf(key_pem, -1)) || !(ca->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL))) {
			BIO_free(b);
			ossl_fail(e, UMPA_EINVAL, "ca:key: no PEM private key");
			return umpa_proxy_ca_free(ca);
		}
		BIO_free(b);
		if (X509_check_private_key(ca->cert, ca->key) != 1) {
			ERR_clear_error();
			umpa_err_set(e, UMPA_EINVAL, "ca:cert does not match ca:key");
			return umpa_proxy_ca_free(ca);
		}
	} else {
		if (!(ca->key = umpa_tls_keygen_("ec:P-256", e))) {
			ossl_fail(e, UMPA_ENOMEM, "ca: key");
			return umpa_proxy_ca_free(ca);
		}
		if (!(ca->cert = umpa_tls_cert_make_(ca->key, "umpa proxy CA", UMPA_TLS_CERT_CA_, NULL, NULL, e)))
			return umpa_proxy_ca_free(ca);
	}
	if (!(ca->leafkey = umpa_tls_keygen_("ec:P-256", e))) {
		ossl_fail(e, UMPA_ENOMEM, "ca: leaf key");
		return umpa_proxy_ca_free(ca);
	}
	return ca;
}

/* @p x or @p k as PEM, malloc'ed; NULL without memory. */
static char *pem_text(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *d, *out = NULL;
	long n;
	if (b && (x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) &&
	    (n = BIO_get_mem_data(b, &d)) > 0 && (out = malloc((size_t)n + 1))) {
		memcpy(out, d, (size_t)n);
		out[n] = 0;
	}
	BIO_free(b);
	ERR_clear_error();
	return out;
}

int umpa_proxy_ca_pem(const struct umpa_proxy_ca *ca, char **cert_pem, char **key_pem)
{
	*cert_pem = pem_text(ca->cert, NULL);
	*key_pem = pem_text(NULL, ca->key);
	if (!*cert_pem || !*key_pem) {
		free(*cert_pem);
		free(*key_pem);
		*cert_pem = *key_pem = NULL;
		return -UMPA_ENOMEM;
	}
	return 0;
}

const char *umpa_proxy_ca_cert_path(const struct umpa_proxy_ca *ca)
{
	return ca->crt;
}

struct x509_st *umpa_proxy_ca_cert(const struct umpa_proxy_ca *ca)
{
	return ca->cert;
}

unsigned long umpa_proxy_ca_made(const struct umpa_proxy_ca *ca)
{
	return ca->made;
}

/* Put leaf @p x (taken) with @p key (a reference is taken) for @p name into the cache: a ring once full, the
 * oldest goes.  Returns 0, or a negative code with @p e set (@p x not taken). */
static int cache_put(struct umpa_proxy_ca *ca, const char *name, X509 *x, EVP_PKEY *key, struct umpa_err *e)
{
	unsigned i;
	char *h;
	if (!ca->leaves && !(ca->leaves = calloc(UMPA_PROXY_CA_CACHE, sizeof(*ca->leaves))))
		return umpa_err_set(e, UMPA_ENOMEM, "ca: out of memory");
	if (!(h = strdup(name)))
		return umpa_err_set(e, UMPA_ENOMEM, "ca: out of memory");
	if (ca->nleaves < UMPA_PROXY_CA_CACHE) {
		i = ca->nleaves++;
	} else {
		i = ca->next;
		ca->next = (ca->next + 1) % UMPA_PROXY_CA_CACHE;
		X509_free(ca->leaves[i].x);
		EVP_PKEY_free(ca->leaves[i].key);
		free(ca->leaves[i].host);
	}
	EVP_PKEY_up_ref(key);
	ca->leaves[i].host = h;
	ca->leaves[i].x = x;
	ca->leaves[i].key = key;
	return 0;
}

/* Make @p x carry @p real's subjectAltName instead of its own, and sign it again. */
static int copy_san(X509 *x, X509 *real, EVP_PKEY *cakey)
{
	int loc = X509_get_ext_by_NID(real, NID_subject_alt_name, -1);
	int mine = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
	if (loc < 0)
		return 1; /* the real certificate has none: keep the CN's */
	if (mine >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, mine));
	if (!X509_add_ext(x, X509_get_ext(real, loc), -1))
		return 0;
	return X509_sign(x, cakey, EVP_sha256()) > 0;
}

struct x509_st *umpa_proxy_ca_leaf(struct umpa_proxy_ca *ca, const char *host, struct x509_st *real,
				   struct evp_pkey_st **key, struct umpa_err *e)
{
	char cn[256] = "";
	const char *name;
	unsigned i;
	X509 *x;
	if (real)
		X509_NAME_get_text_by_NID(X509_get_subject_name(real), NID_commonName, cn, sizeof(cn));
	name = host && *host ? host : cn[0] ? cn : NULL;
	if (!name) {
		umpa_err_set(e, UMPA_EINVAL, "ca: no host name (no SNI, and the server's certificate has no CN)");
		return NULL;
	}
	for (i = 0; i < ca->nleaves; i++)
		if (!strcmp(ca->leaves[i].host, name)) {
			*key = ca->leaves[i].key;
			return ca->leaves[i].x;
		}
	if (!(x = umpa_tls_cert_make_(ca->leafkey, cn[0] ? cn : name, UMPA_TLS_CERT_SERVER_, ca->cert, ca->key, e)))
		return NULL;
	if (real && !copy_san(x, real, ca->key)) {
		X509_free(x);
		ossl_fail(e, UMPA_ENOMEM, "ca: copying the server's names");
		return NULL;
	}
	if (cache_put(ca, name, x, ca->leafkey, e) < 0) {
		X509_free(x);
		return NULL;
	}
	ca->made++;
	*key = ca->leafkey;
	if (ca->on_leaf) {
		char *cp = pem_text(x, NULL), *kp = pem_text(NULL, ca->leafkey);
		if (cp && kp)
			ca->on_leaf(ca->on_leaf_arg, name, cp, kp);
		free(cp);
		free(kp);
	}
	return x;
}

int umpa_proxy_ca_add_leaf(struct umpa_proxy_ca *ca, const char *host, const char *cert_pem, const char *key_pem,
			   struct umpa_err *e)
{
	BIO *b;
	X509 *x = NULL;
	EVP_PKEY *k = NULL, *capub = X509_get0_pubkey(ca->cert);
	unsigned i;
	int rc;
	if (!host || !*host)
		return umpa_err_set(e, UMPA_EINVAL, "leaf: no host name");
	for (i = 0; i < ca->nleaves; i++)
		if (!strcmp(ca->leaves[i].host, host))
			return 0; /* already there: the first wins */
	if ((b = BIO_new_mem_buf(cert_pem, -1)))
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x && (b = BIO_new_mem_buf(key_pem, -1))) {
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (!x)
		rc = ossl_fail(e, UMPA_EINVAL, "leaf: no PEM certificate");
	else if (!k)
		rc = ossl_fail(e, UMPA_EINVAL, "leaf: no PEM private key");
	else if (X509_check_private_key(x, k) != 1)
		rc = umpa_err_set(e, UMPA_EINVAL, "leaf: the key does not match the certificate");
	else if (!capub || X509_verify(x, capub) != 1)
		rc = umpa_err_set(e, UMPA_EINVAL, "leaf: not signed by this CA");
	else if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0 || X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		rc = umpa_err_set(e, UMPA_EINVAL, "leaf: not valid now");
	else
		rc = cache_put(ca, host, x, k, e);
	ERR_clear_error();
	EVP_PKEY_free(k); /* the cache took its own reference */
	if (rc < 0)
		X509_free(x);
	return rc < 0 ? rc : 0;
}

int umpa_proxy_ca_has_leaf(const struct umpa_proxy_ca *ca, const char *host)
{
	for (unsigned i = 0; i < ca->nleaves; i++)
		if (!strcmp(ca->leaves[i].host, host))
			return 1;
	return 0;
}

void umpa_proxy_ca_on_leaf(struct umpa_proxy_ca *ca, umpa_proxy_ca_leaf_fn fn, void *arg)
{
	ca->on_leaf = fn;
	ca->on_leaf_arg = arg;
}

struct umpa_proxy_ca *umpa_proxy_ca_free(struct umpa_proxy_ca *ca)
{
	unsigned i;
	if (!ca)
		return NULL;
	for (i = 0; i < ca->nleaves; i++) {
		X509_free(ca->leaves[i].x);
		EVP_PKEY_free(ca->leaves[i].key);
		free(ca->leaves[i].host);
	}
	free(ca->leaves);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->leafkey);
	free(ca);
	return NULL;
}
