/* tls_bare.c - the physical limit of the TLS benchmark: a bare loop of OpenSSL
 * handshakes over memory BIOs that writes nothing.
 *
 * Usage: tls_bare N VERSION KEYTYPE [SIZE]
 *   VERSION 1.2 or 1.3; KEYTYPE rsa:2048 or ec:P-256 (key and self-signed
 *   certificate made in memory before the clock starts).
 *
 * Each conversation is the job umpa tls does, less the capture: a client and a
 * server SSL, each with a read and a write memory BIO; every flight is read
 * out of one side's write BIO and written into the other's read BIO; full
 * handshake with the client verifying the server's certificate (trusted as its
 * own CA, as umpa's client verifies), SIZE bytes (default 1024) each way,
 * close_notify both ways.  One
 * SSL_CTX per side for the whole run, as a server would have.  Prints
 * conversations per second of wall time, then per second of this process's
 * CPU time (steadier on a shared machine).
 *
 * Built by tests/bench/bench_tls.sh with cc and pkg-config openssl.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die_(const char *what)
{
	fprintf(stderr, "tls_bare: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* A key of @p type and a self-signed certificate for CN=bench.test. */
static void make_cert_(const char *type, EVP_PKEY **pkey, X509 **crt)
{
	if (strcmp(type, "rsa:2048") == 0)
		*pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "ec:P-256") == 0)
		*pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		die_("key type must be rsa:2048 or ec:P-256");
	if (!*pkey)
		die_("key generation");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, *pkey);
	if (!X509_sign(x, *pkey, EVP_sha256()))
		die_("certificate signature");
	*crt = x;
}

/* Move everything @p from wrote into @p to's read BIO; returns bytes moved. */
static size_t move_(SSL *from, SSL *to)
{
	char buf[16384];
	size_t total = 0;
	int n;
	while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof buf)) > 0) {
		if (BIO_write(SSL_get_rbio(to), buf, n) != n)
			die_("BIO_write");
		total += (size_t)n;
	}
	return total;
}

static int step_(SSL *s, int r)
{
	if (r > 0)
		return 1;
	int err = SSL_get_error(s, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return 0;
	die_("handshake step");
	return 0;
}

static void read_all_(SSL *s, size_t size)
{
	char buf[4096];
	size_t got = 0;
	while (got < size) {
		size_t want = size - got < sizeof buf ? size - got : sizeof buf;
		int n = SSL_read(s, buf, (int)want);
		if (n <= 0)
			die_("SSL_read");
		got += (size_t)n;
	}
}

static void conversation_(SSL_CTX *cctx, SSL_CTX *sctx, const char *msg_c, const char *msg_s, size_t size)
{
	SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
	if (!c || !s)
		die_("SSL_new");
	SSL_set_bio(c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	SSL_set_tlsext_host_name(c, "bench.test");
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	int done_c = 0, done_s = 0, rounds = 0;
	for (;;) {
		if (!done_c)
			done_c = step_(c, SSL_do_handshake(c));
		size_t moved = move_(c, s);
		if (!done_s)
			done_s = step_(s, SSL_do_handshake(s));
		moved += move_(s, c);
		if (done_c && done_s && !moved)
			break;
		if (++rounds > 100)
			die_("handshake did not finish");
	}
	if (SSL_write(c, msg_c, (int)size) != (int)size)
		die_("SSL_write");
	move_(c, s);
	read_all_(s, size);
	if (SSL_write(s, msg_s, (int)size) != (int)size)
		die_("SSL_write");
	move_(s, c);
	read_all_(c, size);
	SSL_shutdown(c);
	move_(c, s);
	SSL_shutdown(s);
	move_(s, c);
	SSL_free(c);
	SSL_free(s);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: tls_bare N VERSION KEYTYPE [SIZE]\n");
		return 2;
	}
	long n = atol(argv[1]);
	int ver = strcmp(argv[2], "1.3") == 0 ? TLS1_3_VERSION : strcmp(argv[2], "1.2") == 0 ? TLS1_2_VERSION : 0;
	size_t size = argc > 4 ? (size_t)atol(argv[4]) : 1024;
	if (n <= 0 || !ver || size == 0 || size > 1 << 20) {
		fprintf(stderr, "tls_bare: bad N, VERSION (1.2, 1.3) or SIZE\n");
		return 2;
	}
	EVP_PKEY *pkey;
	X509 *crt;
	make_cert_(argv[3], &pkey, &crt);
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
	if (!sctx || !cctx)
		die_("SSL_CTX_new");
	if (SSL_CTX_use_certificate(sctx, crt) != 1 || SSL_CTX_use_PrivateKey(sctx, pkey) != 1)
		die_("certificate");
	SSL_CTX_set_min_proto_version(sctx, ver);
	SSL_CTX_set_max_proto_version(sctx, ver);
	SSL_CTX_set_min_proto_version(cctx, ver);
	SSL_CTX_set_max_proto_version(cctx, ver);
	/* the client verifies the chain (the certificate is its own CA), as umpa's client does */
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), crt) != 1)
		die_("trust store");
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	char *msg_c = malloc(size), *msg_s = malloc(size);
	if (!msg_c || !msg_s)
		die_("no memory");
	memset(msg_c, 'C', size);
	memset(msg_s, 'S', size);

	struct timespec t0, t1, c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (long i = 0; i < n; i++)
		conversation_(cctx, sctx, msg_c, msg_s, size);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double dc = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	printf("%.1f %.1f\n", (double)n / dt, (double)n / dc);

	free(msg_c);
	free(msg_s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	X509_free(crt);
	EVP_PKEY_free(pkey);
	return 0;
}
