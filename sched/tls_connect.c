/* tls_connect.c - a live TLS client against a real server (umpa_tls_connect.h). */
#include "umpa_tls_connect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tls_internal.h"
#include "umpa_proxy.h"
#include "umpa_wiretap.h"

/* One connection's state, reached from the SSL object's callbacks. */
struct cx_ {
	const struct umpa_tls_connect_opts *co;
	struct umpa_tls_report *r;
	struct umpa_wtap_conv *conv;
	int idx;
};

static void addr_port_(const struct sockaddr_storage *ss, uint16_t *port)
{
	*port = ss->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
					  : ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wait until @p fd is ready for @p ev or @p deadline (monotonic ns).  1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ns();
		struct pollfd p = {fd, ev, 0};
		int r;
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct cx_ *x = SSL_get_app_data(ssl);
	if (!x)
		return;
	if (x->co->keylog)
		x->co->keylog(x->co->arg, line);
	umpa_wtap_secret(x->co->cap, line);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct cx_ *x = SSL_get_app_data(ssl);
	if (!x || !(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL || x->r->alert[0])
		return;
	const char *d = SSL_alert_desc_string_long(ret);
	char num[16];
	if (!strcmp(d, "unknown")) { /* OpenSSL 3.0 names no TLS 1.3 alert (116 certificate_required) */
		snprintf(num, sizeof(num), "alert %d", ret & 0xff);
		d = num;
	}
	snprintf(x->r->alert, sizeof(x->r->alert), "%s %s: %s", (where & SSL_CB_READ) ? "received from" : "sent by",
		 (where & SSL_CB_READ) ? "server" : "client", d);
}

/* The socket's bytes: read, the server sent them; written, the client did. */
static void tap_cb(void *arg, int sent, const void *d, size_t n)
{
	struct cx_ *x = arg;
	x->r->tls_bytes[sent ? 0 : 1] += n;
	umpa_wtap_conv_data(x->conv, sent ? 0 : 1, d, n);
}

/* Report-only verification: OpenSSL's verdict is kept, the handshake goes on. */
static int verify_accept(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static void ssl_err(struct umpa_tls_report *r, const char *what)
{
	unsigned long code;
	size_t len = strlen(r->error);
	if (!len)
		len = (size_t)snprintf(r->error, sizeof(r->error), "%s", what);
	while ((code = ERR_get_error()) != 0 && len + 3 < sizeof(r->error)) {
		char one[256];
		ERR_error_string_n(code, one, sizeof(one));
		len += (size_t)snprintf(r->error + len, sizeof(r->error) - len, ": %s", one);
	}
	ERR_clear_error();
}

/* Connect to one of @p res within @p deadline.  Returns the socket or -1 with @p err set. */
static int tcp_connect(const struct addrinfo *res, int64_t deadline, int *err)
{
	*err = EHOSTUNREACH;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, r;
		socklen_t l = sizeof(*err);
		if (fd < 0) {
			*err = errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return fd;
		if (errno != EINPROGRESS) {
			*err = errno;
			close(fd);
			continue;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &l) == 0 && *err == 0)
			return fd;
		if (r == 0)
			*err = ETIMEDOUT;
		close(fd);
	}
	return -1;
}

/* Drive an SSL call that may want I/O until it is done, fails, or the deadline comes.  Returns its result. */
static int ssl_io(SSL *ssl, int fd, int64_t deadline, int (*op)(SSL *, void *, int), void *buf, int n, int *timedout)
{
	for (;;) {
		int r = op(ssl, buf, n), err = SSL_get_error(ssl, r), w;
		if (r > 0)
			return r;
		if (err == SSL_ERROR_WANT_READ)
			w = wait_fd(fd, POLLIN, deadline);
		else if (err == SSL_ERROR_WANT_WRITE)
			w = wait_fd(fd, POLLOUT, deadline);
		else
			return r;
		if (w <= 0) {
			*timedout = w == 0;
			return -1;
		}
	}
}

static int op_connect(SSL *ssl, void *b, int n)
{
	(void)b;
	(void)n;
	return SSL_connect(ssl);
}

static int op_read(SSL *ssl, void *b, int n)
{
	return SSL_read(ssl, b, n);
}

static int op_write(SSL *ssl, void *b, int n)
{
	return SSL_write(ssl, b, n);
}

/* One connection: report into @p x->r; @p sess (may be NULL) offered; *@p out_sess receives the session. */
static int one(SSL_CTX *ctx, const struct umpa_tls_opts *o, const struct addrinfo *res, const char *host, struct cx_ *x,
	       SSL_SESSION *sess, SSL_SESSION **out_sess, struct umpa_err *e)
{
	const struct umpa_tls_connect_opts *co = x->co;
	struct umpa_tls_report *r = x->r;
	int64_t deadline = mono_ns() + (co->timeout_ns > 0 ? co->timeout_ns : 10000000000LL);
	int64_t quiet = co->quiet_ns > 0                                      ? co->quiet_ns
			: o->side[UMPA_TCPS_CLIENT].data_len || co->reconnect ? 500000000LL
									      : 100000000LL;
	int err, fd, to = 0, rc;
	SSL *ssl = NULL;
	BIO *b;
	struct sockaddr_storage lo, pe;
	socklen_t ll = sizeof(lo), pl = sizeof(pe);
	unsigned char buf[16384];
	const char *name = o->sni && *o->sni ? o->sni : host;
	struct in6_addr ip;
	int is_ip = inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1;
	uint64_t packets0;

	r->early_data = -1;
	packets0 = co->cap ? umpa_wtap_packets(co->cap) : 0;
	if ((fd = tcp_connect(res, deadline, &err)) < 0)
		return umpa_err_set(e, UMPA_EIO, "connect %s: %s", co->target, strerror(err));
	getsockname(fd, (struct sockaddr *)&lo, &ll);
	getpeername(fd, (struct sockaddr *)&pe, &pl);
	addr_port_(&lo, &r->port[0]);
	addr_port_(&pe, &r->port[1]);
	if (co->cap)
		x->conv = umpa_wtap_conv_new(co->cap, (struct sockaddr *)&lo, (struct sockaddr *)&pe);
	b = umpa_wtap_bio(fd, tap_cb, x);
	if (!b || !(ssl = SSL_new(ctx))) {
		BIO_free(b);
		close(fd);
		umpa_wtap_conv_free(x->conv);
		x->conv = NULL;
		return umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
	}
	SSL_set_bio(ssl, b, b);
	SSL_set_app_data(ssl, x);
	if (o->sni && *o->sni)
		SSL_set_tlsext_host_name(ssl, o->sni);
	else if (!is_ip)
		SSL_set_tlsext_host_name(ssl, host);
	if (o->sni && *o->sni ? 1 : !is_ip)
		SSL_set1_host(ssl, name);
	else
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	if (sess)
		SSL_set_session(ssl, sess);
	rc = ssl_io(ssl, fd, deadline, op_connect, NULL, 0, &to);
	r->handshake_ok = rc == 1;
	if (rc == 1 || SSL_get_current_cipher(ssl))
		snprintf(r->version, sizeof(r->version), "%s", SSL_get_version(ssl));
	if (o->sni && *o->sni)
		snprintf(r->sni, sizeof(r->sni), "%s", o->sni);
	else if (!is_ip)
		snprintf(r->sni, sizeof(r->sni), "%s", host);
	if (rc != 1)
		ssl_err(r, to ? "client: handshake timed out" : "client: handshake failed");
	umpa_tls_report_client_(ssl, r, rc != 1);
	r->resumed = SSL_session_reused(ssl);
	if (rc == 1) {
		const struct umpa_tls_side *cs = &o->side[UMPA_TCPS_CLIENT];
		size_t off = 0;
		while (off < cs->data_len) {
			size_t k = cs->data_len - off > sizeof(buf) ? sizeof(buf) : cs->data_len - off;
			int w =
			    ssl_io(ssl, fd, deadline, op_write, (void *)((const char *)cs->data + off), (int)k, &to);
			if (w <= 0) {
				ssl_err(r, "client: write failed");
				break;
			}
			off += (size_t)w;
			r->app_bytes[0] += (uint64_t)w;
		}
		for (;;) { /* the answer, until the server closes or goes quiet */
			int64_t until = mono_ns() + quiet;
			int n = ssl_io(ssl, fd, until < deadline ? until : deadline, op_read, buf, sizeof(buf), &to);
			if (n <= 0)
				break;
			r->app_bytes[1] += (uint64_t)n;
			if (co->data)
				co->data(co->arg, x->idx, buf, (size_t)n);
		}
		if (r->alert[0] && !r->error[0]) /* TLS 1.3: the server refused the client after the handshake */
			snprintf(r->error, sizeof(r->error), "client: alert %s", r->alert);
		ERR_clear_error();
		if (out_sess)
			*out_sess = SSL_get1_session(ssl);
		SSL_shutdown(ssl); /* close_notify */
	}
	ERR_clear_error();
	shutdown(fd, SHUT_WR);
	umpa_wtap_conv_fin(x->conv, 0);
	{ /* the server's answer to the FIN (its close_notify and FIN), briefly */
		int64_t until = mono_ns() + 200000000LL;
		while (wait_fd(fd, POLLIN, until < deadline ? until : deadline) > 0) {
			ssize_t k = recv(fd, buf, sizeof(buf), 0);
			if (k > 0) {
				tap_cb(x, 0, buf, (size_t)k);
				continue;
			}
			if (k == 0)
				umpa_wtap_conv_fin(x->conv, 1);
			else
				umpa_wtap_conv_reset(x->conv, 1);
			break;
		}
	}
	SSL_free(ssl);
	close(fd);
	umpa_wtap_conv_free(x->conv);
	x->conv = NULL;
	if (co->cap)
		r->packets = umpa_wtap_packets(co->cap) - packets0;
	return 0;
}

int umpa_tls_connect(const struct umpa_tls_opts *o, const struct umpa_tls_connect_opts *co,
		     struct umpa_tls_report rep[2], struct umpa_err *e)
{
	char host[256], ps[8];
	uint16_t port;
	struct addrinfo hints, *res = NULL;
	SSL_CTX *ctx = NULL;
	SSL_SESSION *sess = NULL;
	struct cx_ x[2];
	int rc, n = co->reconnect ? 2 : 1, done = 0;
	unsigned flags = UMPA_TLS_CTX_SYSTEM_CA | (o->client_cert ? UMPA_TLS_CTX_CERT : 0);

	if (umpa_proxy_split_hostport(co->target, "target", host, sizeof(host), &port, e) < 0)
		return -UMPA_EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%u", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0 || !res) {
		if (res)
			freeaddrinfo(res);
		return umpa_err_set(e, UMPA_EIO, "target: '%s': %s", host, rc ? gai_strerror(rc) : "no address");
	}
	ERR_clear_error();
	if (!(ctx = SSL_CTX_new(TLS_client_method()))) {
		freeaddrinfo(res);
		return umpa_err_set(e, UMPA_ENOMEM, "tls: cannot create an SSL context");
	}
	if (o->client_cert && !o->side[UMPA_TCPS_CLIENT].cert_file) {
		rc = umpa_err_set(e, UMPA_EINVAL,
				  "client_cert: a live client needs the certificate file (--client-cert=FILE)");
		goto out;
	}
	if ((rc = umpa_tls_ctx_apply(ctx, o, UMPA_TCPS_CLIENT, flags, e)) < 0)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, o->verify ? NULL : verify_accept);
	SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_set_read_ahead(ctx, 1); /* whole reads: the capture's segments are the server's, not per record */
	for (int i = 0; i < n; i++) {
		memset(&rep[i], 0, sizeof(rep[i]));
		x[i] = (struct cx_){co, &rep[i], NULL, i};
		rc = one(ctx, o, res, host, &x[i], sess, i + 1 < n ? &sess : NULL, e);
		if (rc < 0)
			goto out;
		done++;
		if (!sess)
			break;
	}
	rc = done;
out:
	SSL_SESSION_free(sess);
	SSL_CTX_free(ctx);
	freeaddrinfo(res);
	ERR_clear_error();
	return rc;
}
