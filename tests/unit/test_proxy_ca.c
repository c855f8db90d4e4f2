/* test_proxy_ca.c - the proxy's man-in-the-middle CA (sched/umpa_proxy_ca.h), checked with OpenSSL itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umpa_proxy_ca.h"
#include "unit.h"

/* A "real" server certificate: self-signed, CN @p cn, SANs @p san (X509v3 text). */
static X509 *real_cert(const char *cn, const char *san)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	assert_non_null(ex);
	X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	EVP_PKEY_free(k);
	return x;
}

static char *san_text(X509 *x)
{
	static char buf[512];
	BIO *b = BIO_new(BIO_s_mem());
	int loc = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
	int n;
	assert_true(loc >= 0);
	X509V3_EXT_print(b, X509_get_ext(x, loc), 0, 0);
	n = BIO_read(b, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	BIO_free(b);
	return buf;
}

/* The chain leaf <- CA verifies with OpenSSL for @p host. */
static int verifies(X509 *ca, X509 *leaf, const char *host)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *c = X509_STORE_CTX_new();
	int ok;
	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(c, st, leaf, NULL);
	X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(c), host, 0);
	ok = X509_verify_cert(c) == 1;
	X509_STORE_CTX_free(c);
	X509_STORE_free(st);
	return ok;
}

static void test_ca_made_kept_and_leaves(void **state)
{
	char dir[4096], path[4200];
	struct umpa_err e = {0, ""};
	struct umpa_proxy_ca *ca;
	struct stat sb;
	int created = -1;
	X509 *real, *leaf, *leaf2, *leaf3, *cacert;
	EVP_PKEY *k1, *k2;
	char cn[256];
	(void)state;
	snprintf(dir, sizeof(dir), "%s/umpa-ca.XXXXXX", unit_tmpdir());
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/ca");
	ca = umpa_proxy_ca_open(dir, &created, &e);
	assert_non_null(ca);
	assert_int_equal(created, 1);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	cacert = X509_dup(umpa_proxy_ca_cert(ca));
	ca = umpa_proxy_ca_free(ca);

	/* kept: the second open reads the same CA */
	ca = umpa_proxy_ca_open(dir, &created, &e);
	assert_non_null(ca);
	assert_int_equal(created, 0);
	assert_int_equal(X509_cmp(cacert, umpa_proxy_ca_cert(ca)), 0);

	/* a leaf copies the real certificate's CN and SANs and verifies against the CA */
	real = real_cert("www.example.test", "DNS:www.example.test, DNS:alt.example.test, IP:192.0.2.7");
	leaf = umpa_proxy_ca_leaf(ca, "alt.example.test", real, &k1, &e);
	assert_non_null(leaf);
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "www.example.test");
	assert_string_equal(san_text(leaf), "DNS:www.example.test, DNS:alt.example.test, IP Address:192.0.2.7");
	assert_int_equal(X509_check_private_key(leaf, k1), 1);
	assert_true(verifies(cacert, leaf, "alt.example.test"));
	assert_false(verifies(cacert, leaf, "other.example.test"));
	assert_false(verifies(real, leaf, "alt.example.test"));

	/* cached per host; another host: another certificate, the same key pair */
	leaf2 = umpa_proxy_ca_leaf(ca, "alt.example.test", real, &k2, &e);
	assert_ptr_equal(leaf2, leaf);
	leaf3 = umpa_proxy_ca_leaf(ca, "sni-only.test", NULL, &k2, &e);
	assert_non_null(leaf3);
	assert_ptr_not_equal(leaf3, leaf);
	assert_ptr_equal(k2, k1);
	assert_string_equal(san_text(leaf3), "DNS:sni-only.test");
	assert_true(verifies(cacert, leaf3, "sni-only.test"));
	assert_int_equal(umpa_proxy_ca_made(ca), 2);
	/* no name at all */
	assert_null(umpa_proxy_ca_leaf(ca, NULL, NULL, &k2, &e));
	unit_assert_contains(e.msg, "no host name");
	X509_free(real);
	X509_free(cacert);
	umpa_proxy_ca_free(ca);

	/* a CA whose key is gone: one clear error */
	assert_int_equal(unlink(path), 0);
	assert_null(umpa_proxy_ca_open(dir, NULL, &e));
	unit_assert_contains(e.msg, "has ca.crt but not ca.key");
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	unlink(path);
	rmdir(dir);
	*strrchr(dir, '/') = 0;
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ca_made_kept_and_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
