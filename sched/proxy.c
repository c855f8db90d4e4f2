/* proxy.c - the TCP relay of umpa_proxy.h on libevent bufferevents. */
#include "umpa_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umpa_cursor.h"
#include "umpa_proxy_ca.h"

/* Largest chunk handed to a hook at once. */
#define CHUNK_MAX 65536

struct proxy_conn;

/* One direction: bytes read from side[dir], written to side[!dir]. */
struct proxy_half {
	struct proxy_conn *c;
	int dir;
	int eof;               /* the sender's end of stream was seen */
	int shut;              /* passed on (SHUT_WR on the receiver) */
	int paused;            /* reading stopped for backpressure */
	struct event *delay;   /* a hook's delay in progress: forwarding waits */
	struct evbuffer *held; /* bytes waiting for the delay */
	uint64_t in, out;      /* bytes read from the sender, handed to the receiver (umpa_proxy_conns) */
};

struct proxy_conn {
	struct umpa_proxy *p;
	struct proxy_conn *prev, *next;
	struct bufferevent *side[2]; /* [0] client, [1] upstream */
	struct proxy_half half[2];   /* [dir] */
	struct umpa_proxy_conn_info ci;
	void *state;         /* the hooks' */
	int connected;       /* upstream connected */
	evutil_socket_t cfd; /* the client socket while peeking (-1 once a bufferevent owns it) */
	struct event *peek;  /* mitm: waiting for the first bytes */
	struct event *retry; /* mitm: a ClientHello not complete yet: look again */
	unsigned tries;
	int is_tls;
	char sni[256];
	int64_t started_ns; /* wall clock at accept */
};

struct proxy_listener {
	struct umpa_proxy *p;
	unsigned index;
	struct evconnlistener *l;
	struct sockaddr_storage addr;
	socklen_t alen;
};

struct umpa_proxy {
	struct umpa_loop *loop;
	struct event_base *base;
	struct umpa_proxy_opts o;
	struct umpa_proxy_hooks h;
	int hooked;
	struct proxy_listener lis[UMPA_PROXY_MAX_LISTEN];
	unsigned nlis;
	struct sockaddr_storage target;
	socklen_t tlen;
	struct sockaddr_storage source;
	socklen_t slen;
	struct proxy_conn *conns;
	struct umpa_proxy_stats st;
	uint64_t next_id;
	SSL_CTX *ctx_up, *ctx_cl; /* mitm: the upstream leg's (client) and the client leg's (server) */
};

void umpa_proxy_opts_init(struct umpa_proxy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hiwat = 262144;
	o->connect_timeout_ns = 10000000000LL;
	o->max_conns = 10000;
}

static void plog(struct umpa_proxy *p, enum umpa_proxy_level lvl, uint64_t id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void plog(struct umpa_proxy *p, enum umpa_proxy_level lvl, uint64_t id, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	if (!p->o.log || (lvl == UMPA_PROXY_NOTE && !p->o.verbose))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->o.log(p->o.log_arg, lvl, id, msg);
}

int umpa_proxy_split_hostport(const char *s, const char *what, char *host, size_t n, uint16_t *port, struct umpa_err *e)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long v;
	if (!s || !*s)
		return umpa_err_set(e, UMPA_EINVAL, "%s: empty address (ADDR:PORT)", what);
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not [ADDR]:PORT", what, s);
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)", what, s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= n)
		return umpa_err_set(e, UMPA_EINVAL, "%s: '%s': bad address", what, s);
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || v > 65535 || colon[1] == '-' || colon[1] == '+')
		return umpa_err_set(e, UMPA_EINVAL, "%s: '%s': bad port (0 to 65535)", what, s);
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (uint16_t)v;
	return 0;
}

static int resolve(const char *s, const char *what, int passive, struct sockaddr_storage *ss, socklen_t *len,
		   struct umpa_err *e)
{
	char host[256], ps[8];
	uint16_t port;
	struct addrinfo hints, *res = NULL;
	int rc;
	if (umpa_proxy_split_hostport(s, what, host, sizeof(host), &port, e) < 0)
		return -UMPA_EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_NUMERICHOST | AI_PASSIVE : 0);
	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc || !res) {
		if (res)
			freeaddrinfo(res);
		return umpa_err_set(e, UMPA_EINVAL, "%s: '%s': %s", what, host, rc ? gai_strerror(rc) : "no address");
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t n, uint16_t *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)n);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)n);
		*port = ntohs(s4->sin_port);
	}
}

const char *umpa_proxy_bound(const struct umpa_proxy *p, unsigned i, char *buf, size_t n)
{
	char a[64];
	uint16_t port;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (i >= p->nlis || !n)
		return "";
	if (getsockname(evconnlistener_get_fd(p->lis[i].l), (struct sockaddr *)&ss, &len) < 0)
		memcpy(&ss, &p->lis[i].addr, sizeof(ss));
	addr_text((struct sockaddr *)&ss, a, sizeof(a), &port);
	snprintf(buf, n, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

void umpa_proxy_stats(const struct umpa_proxy *p, struct umpa_proxy_stats *st)
{
	*st = p->st;
}

/* ---- connections ---- */

enum conn_end { END_DONE, END_ABORT, END_REFUSED, END_RESET, END_ERROR };

static void conn_free(struct proxy_conn *c, enum conn_end how)
{
	struct umpa_proxy *p = c->p;
	int i;
	switch (how) {
	case END_DONE:
		p->st.completed++;
		break;
	case END_ABORT:
		p->st.aborted++;
		break;
	case END_REFUSED:
		p->st.refused++;
		break;
	case END_RESET:
		p->st.resets++;
		break;
	case END_ERROR:
		p->st.errors++;
		break;
	}
	plog(p, UMPA_PROXY_NOTE, c->ci.id, "closed (%s)",
	     (const char *[]){"done", "aborted", "refused", "reset", "error"}[how]);
	for (i = 0; i < 2; i++) {
		if (c->side[i]) {
			if (how == END_RESET) {
				struct linger lg = {1, 0};
				evutil_socket_t fd = bufferevent_getfd(c->side[i]);
				if (fd >= 0)
					setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			}
			bufferevent_free(c->side[i]);
		}
		if (c->half[i].delay)
			event_free(c->half[i].delay);
		if (c->half[i].held)
			evbuffer_free(c->half[i].held);
	}
	if (c->peek)
		event_free(c->peek);
	if (c->retry)
		event_free(c->retry);
	if (c->cfd >= 0)
		evutil_closesocket(c->cfd);
	if (p->hooked && p->h.close)
		p->h.close(p->h.arg, c->state);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->st.active--;
	free(c);
}

/* Pass the end of stream of direction d on, once its receiver's output is empty.  Returns 1 when the
 * connection was freed. */
static int half_finish(struct proxy_half *h)
{
	struct proxy_conn *c = h->c;
	struct bufferevent *dst = c->side[!h->dir];
	if (!h->eof || h->shut || h->delay || (h->held && evbuffer_get_length(h->held)) ||
	    evbuffer_get_length(bufferevent_get_input(c->side[h->dir])))
		return 0; /* bytes still to forward: pump comes back here */
	if (evbuffer_get_length(bufferevent_get_output(dst))) {
		bufferevent_setwatermark(dst, EV_WRITE, 0, 0); /* the write callback when it is empty */
		return 0;
	}
	h->shut = 1;
	{
		SSL *ssl = bufferevent_openssl_get_ssl(dst);
		if (ssl) { /* TLS: close_notify first, as the sender did */
			SSL_shutdown(ssl);
			ERR_clear_error();
		}
	}
	shutdown(bufferevent_getfd(dst), SHUT_WR);
	if (c->half[!h->dir].shut) {
		conn_free(c, END_DONE);
		return 1;
	}
	return 0;
}

static void pump(struct proxy_half *h);

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *h = arg;
	struct proxy_conn *c = h->c;
	struct bufferevent *dst = c->side[!h->dir];
	(void)fd;
	(void)what;
	event_free(h->delay);
	h->delay = NULL;
	c->p->st.bytes_out[h->dir] += evbuffer_get_length(h->held);
	h->out += evbuffer_get_length(h->held);
	bufferevent_write_buffer(dst, h->held);
	pump(h); /* what arrived meanwhile; re-enables reading */
}

/* Write @p n bytes to the receiver (or hold them behind a delay). */
static void forward(struct proxy_half *h, const void *data, size_t n)
{
	struct proxy_conn *c = h->c;
	if (h->delay) {
		evbuffer_add(h->held, data, n);
		return;
	}
	c->p->st.bytes_out[h->dir] += n;
	h->out += n;
	bufferevent_write(c->side[!h->dir], data, n);
}

/* Move what side[dir] received to side[!dir], through the hooks; stop at the buffer bound or a delay. */
static void pump(struct proxy_half *h)
{
	struct proxy_conn *c = h->c;
	struct umpa_proxy *p = c->p;
	struct bufferevent *src = c->side[h->dir], *dst = c->side[!h->dir];
	struct evbuffer *in = bufferevent_get_input(src);
	size_t len;
	while ((len = evbuffer_get_length(in)) > 0 && !h->delay) {
		if (evbuffer_get_length(bufferevent_get_output(dst)) >= p->o.hiwat)
			break;
		if (!p->hooked) {
			p->st.bytes_in[h->dir] += len;
			p->st.bytes_out[h->dir] += len;
			h->in += len;
			h->out += len;
			bufferevent_write_buffer(dst, in);
			break;
		}
		{
			size_t n = len < CHUNK_MAX ? len : CHUNK_MAX;
			unsigned char *d = evbuffer_pullup(in, (ssize_t)n);
			struct umpa_proxy_out out = {d, n, UMPA_PROXY_FORWARD, 0};
			struct umpa_err e = {0, ""};
			if (p->h.data(p->h.arg, c->state, (enum umpa_proxy_dir)h->dir, d, n, &out, &e) < 0) {
				plog(p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg[0] ? e.msg : "module failed");
				conn_free(c, END_ERROR);
				return;
			}
			if (out.action == UMPA_PROXY_RESET) {
				plog(p, UMPA_PROXY_NOTE, c->ci.id, "reset by a module");
				conn_free(c, END_RESET);
				return;
			}
			if (out.delay_ns > 0) {
				struct timeval tv = {(time_t)(out.delay_ns / 1000000000),
						     (suseconds_t)(out.delay_ns % 1000000000 / 1000)};
				if (!h->held)
					h->held = evbuffer_new();
				h->delay = evtimer_new(p->base, delay_done, h);
				if (!h->held || !h->delay || evtimer_add(h->delay, &tv) < 0) {
					plog(p, UMPA_PROXY_WARN, c->ci.id, "no memory for a delay");
					conn_free(c, END_ERROR);
					return;
				}
			}
			p->st.bytes_in[h->dir] += n;
			h->in += n;
			if (out.len)
				forward(h, out.data, out.len);
			evbuffer_drain(in, n);
		}
	}
	if (h->delay || evbuffer_get_length(bufferevent_get_output(dst)) >= p->o.hiwat) {
		h->paused = 1;
		bufferevent_disable(src, EV_READ);
	} else if (h->paused || !h->eof) {
		h->paused = 0;
		if (!h->eof && c->connected)
			bufferevent_enable(src, EV_READ);
	}
	if (h->eof)
		half_finish(h);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;
	pump(&c->half[bev == c->side[0] ? UMPA_PROXY_C2S : UMPA_PROXY_S2C]);
}

/* The output of side s drained below its low watermark: the direction writing into it may go on. */
static void write_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;
	int s = bev == c->side[0] ? 0 : 1;
	struct proxy_half *h = &c->half[!s]; /* writes into side s */
	if ((h->paused || h->eof) && !h->delay)
		pump(h); /* the rest of the input; then, at its end of stream, the shutdown */
}

/* The last OpenSSL error of @p bev as text (or the socket's error). */
static void bev_error(struct bufferevent *bev, char *buf, size_t n)
{
	unsigned long err = bufferevent_get_openssl_error(bev);
	if (err) {
		ERR_error_string_n(err, buf, n);
		while (bufferevent_get_openssl_error(bev))
			;
	} else {
		snprintf(buf, n, "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	ERR_clear_error();
}

static int client_side(struct proxy_conn *c, evutil_socket_t fd, SSL *ssl);

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_conn *c = arg;
	struct umpa_proxy *p = c->p;
	int s = bev == c->side[0] ? 0 : 1;
	char why[256];
	if (what & BEV_EVENT_CONNECTED) {
		if (s == 0) { /* the client's TLS handshake is done */
			plog(p, UMPA_PROXY_NOTE, c->ci.id, "client TLS handshake done (%s)",
			     SSL_get_version(bufferevent_openssl_get_ssl(bev)));
			return;
		}
		c->connected = 1;
		bufferevent_set_timeouts(c->side[1], NULL, NULL);
		plog(p, UMPA_PROXY_NOTE, c->ci.id, "connected to %s:%u", c->ci.dst, c->ci.dport);
		if (c->is_tls) {
			/* the server's certificate is known: impersonate it towards the client */
			SSL *up = bufferevent_openssl_get_ssl(c->side[1]), *cl;
			X509 *real = SSL_get1_peer_certificate(up), *leaf;
			EVP_PKEY *key = NULL;
			struct umpa_err e = {0, ""};
			leaf = umpa_proxy_ca_leaf(p->o.mitm->ca, c->sni[0] ? c->sni : NULL, real, &key, &e);
			X509_free(real);
			cl = leaf ? SSL_new(p->ctx_cl) : NULL;
			if (!cl || SSL_use_certificate(cl, leaf) != 1 || SSL_use_PrivateKey(cl, key) != 1) {
				if (cl)
					SSL_free(cl);
				ERR_clear_error();
				plog(p, UMPA_PROXY_WARN, c->ci.id, "%s",
				     e.msg[0] ? e.msg : "cannot make the client's TLS");
				p->st.tls_failed++;
				conn_free(c, END_ERROR);
				return;
			}
			if (client_side(c, c->cfd, cl) < 0)
				return;
			c->cfd = -1;
		}
		bufferevent_enable(c->side[0], EV_READ | EV_WRITE);
		bufferevent_enable(c->side[1], EV_READ | EV_WRITE);
		pump(&c->half[UMPA_PROXY_C2S]);
		return;
	}
	if (s == 1 && !c->connected) {
		if (what & BEV_EVENT_TIMEOUT)
			snprintf(why, sizeof(why), "connect timed out");
		else
			bev_error(bev, why, sizeof(why));
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream %s:%u: %s", c->ci.dst, c->ci.dport, why);
		if (c->is_tls)
			p->st.tls_failed++;
		conn_free(c, END_REFUSED);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		struct proxy_half *h = &c->half[s];
		h->eof = 1;
		if (p->hooked && p->h.eof)
			p->h.eof(p->h.arg, c->state, (enum umpa_proxy_dir)s);
		pump(h); /* what is left in the input, then the shutdown */
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		bev_error(bev, why, sizeof(why));
		if (ssl && !SSL_is_init_finished(ssl)) {
			p->st.tls_failed++;
			plog(p, UMPA_PROXY_WARN, c->ci.id, "%s TLS handshake: %s", s ? "upstream" : "client", why);
		} else {
			plog(p, UMPA_PROXY_NOTE, c->ci.id, "%s: %s", s ? "upstream" : "client", why);
		}
		conn_free(c, END_ABORT);
	}
}

/* The client's bufferevent on @p fd (TLS accepting with @p ssl, or plain).  -1 when the connection was freed. */
static int client_side(struct proxy_conn *c, evutil_socket_t fd, SSL *ssl)
{
	struct umpa_proxy *p = c->p;
	c->side[0] =
	    ssl ? bufferevent_openssl_socket_new(p->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		: bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->cfd = -1;
	if (!c->side[0]) {
		if (ssl)
			SSL_free(ssl);
		evutil_closesocket(fd);
		conn_free(c, END_ERROR);
		return -1;
	}
	if (ssl)
		bufferevent_openssl_set_allow_dirty_shutdown(c->side[0], 1);
	bufferevent_setcb(c->side[0], read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->side[0], EV_READ, 0, p->o.hiwat);
	bufferevent_setwatermark(c->side[0], EV_WRITE, p->o.hiwat / 2, 0);
	return 0;
}

/* Connect to the target (TLS with @p ssl, or plain). */
static void upstream_connect(struct proxy_conn *c, SSL *ssl)
{
	struct umpa_proxy *p = c->p;
	evutil_socket_t ufd;
	int one = 1;
	struct timeval tv = {(time_t)(p->o.connect_timeout_ns / 1000000000),
			     (suseconds_t)(p->o.connect_timeout_ns % 1000000000 / 1000)};
	ufd = socket(p->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ufd < 0 || (p->slen && bind(ufd, (struct sockaddr *)&p->source, p->slen) < 0)) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream socket: %s", strerror(errno));
		if (ufd >= 0)
			close(ufd);
		if (ssl)
			SSL_free(ssl);
		conn_free(c, END_REFUSED);
		return;
	}
	setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->side[1] =
	    ssl ? bufferevent_openssl_socket_new(p->base, ufd, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)
		: bufferevent_socket_new(p->base, ufd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->side[1]) {
		close(ufd);
		if (ssl)
			SSL_free(ssl);
		conn_free(c, END_ERROR);
		return;
	}
	if (ssl)
		bufferevent_openssl_set_allow_dirty_shutdown(c->side[1], 1);
	bufferevent_setcb(c->side[1], read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->side[1], EV_READ, 0, p->o.hiwat);
	bufferevent_setwatermark(c->side[1], EV_WRITE, p->o.hiwat / 2, 0);
	if (c->side[0])
		bufferevent_disable(c->side[0], EV_READ); /* until the upstream is connected */
	bufferevent_set_timeouts(c->side[1], NULL, &tv);
	if (bufferevent_socket_connect(c->side[1], (struct sockaddr *)&p->target, (int)p->tlen) < 0) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream %s:%u: %s", c->ci.dst, c->ci.dport, strerror(errno));
		conn_free(c, END_REFUSED);
	}
}

/* The SNI of a ClientHello at the start of @p b (@p n bytes) into @p out; "" when there is none. */
static void clienthello_sni(const uint8_t *b, size_t n, char *out, size_t outn)
{
	struct umpa_cur cur;
	uint8_t u8;
	uint16_t l16, typ, len;
	size_t pos, end;
	const uint8_t *name;
	out[0] = 0;
	umpa_cur_init(&cur, b, n);
	pos = 43; /* record header 5, handshake header 4, version 2, random 32 */
	if (umpa_cur_u8_at(&cur, pos, &u8) < 0)
		return;
	pos += 1 + u8; /* session id */
	if (umpa_cur_be16_at(&cur, pos, &l16) < 0)
		return;
	pos += 2 + l16; /* cipher suites */
	if (umpa_cur_u8_at(&cur, pos, &u8) < 0)
		return;
	pos += 1 + u8; /* compression methods */
	if (umpa_cur_be16_at(&cur, pos, &l16) < 0)
		return;
	pos += 2;
	end = pos + l16;
	while (pos + 4 <= end && umpa_cur_be16_at(&cur, pos, &typ) == 0 && umpa_cur_be16_at(&cur, pos + 2, &len) == 0) {
		if (typ == 0) { /* server_name: list length, type 0 (host_name), length, name */
			if (umpa_cur_u8_at(&cur, pos + 6, &u8) < 0 || u8 != 0 ||
			    umpa_cur_be16_at(&cur, pos + 7, &l16) < 0 || l16 == 0 || l16 >= outn ||
			    umpa_cur_ptr_at(&cur, pos + 9, l16, &name) < 0)
				return;
			for (size_t i = 0; i < l16; i++)
				if (name[i] <= ' ' || name[i] > '~')
					return; /* not a host name */
			memcpy(out, name, l16);
			out[l16] = 0;
			return;
		}
		pos += 4 + len;
	}
}

static void peek_cb(evutil_socket_t fd, short what, void *arg);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *c = arg;
	(void)fd;
	(void)what;
	peek_cb(c->cfd, EV_READ, c);
}

/* mitm: the client's first bytes, peeked: TLS or not, and the SNI. */
static void peek_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *c = arg;
	struct umpa_proxy *p = c->p;
	uint8_t buf[16384 + 5], type;
	uint16_t reclen;
	struct umpa_cur cur;
	ssize_t n;
	SSL *up;
	if (what & EV_TIMEOUT) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "client sent nothing within 10 s");
		conn_free(c, END_ABORT);
		return;
	}
	n = recv(fd, buf, sizeof(buf), MSG_PEEK);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_free(c, END_ABORT);
		return;
	}
	umpa_cur_init(&cur, buf, (size_t)n);
	if (umpa_cur_u8_at(&cur, 0, &type) < 0)
		type = 0;
	if (type == 22 && (umpa_cur_be16_at(&cur, 3, &reclen) < 0 || !umpa_cur_has(&cur, 0, 5 + (size_t)reclen)) &&
	    (size_t)n < sizeof(buf)) {
		/* a handshake record not all here yet: look again shortly (at most 2 s) */
		struct timeval tv = {0, 10000};
		if (++c->tries > 200) {
			plog(p, UMPA_PROXY_WARN, c->ci.id, "incomplete ClientHello after 2 s");
			conn_free(c, END_ABORT);
			return;
		}
		event_del(c->peek);
		if (!c->retry && !(c->retry = evtimer_new(p->base, retry_cb, c))) {
			conn_free(c, END_ERROR);
			return;
		}
		evtimer_add(c->retry, &tv);
		return;
	}
	event_free(c->peek);
	c->peek = NULL;
	if (type != 22) { /* not TLS: relay as is */
		if (client_side(c, fd, NULL) == 0)
			upstream_connect(c, NULL);
		return;
	}
	clienthello_sni(buf, (size_t)n, c->sni, sizeof(c->sni));
	c->is_tls = 1;
	p->st.tls++;
	plog(p, UMPA_PROXY_NOTE, c->ci.id, "TLS ClientHello, SNI '%s'", c->sni);
	if (p->hooked && p->h.tls)
		p->h.tls(p->h.arg, c->state, c->sni);
	if (!(up = SSL_new(p->ctx_up))) {
		conn_free(c, END_ERROR);
		return;
	}
	if (c->sni[0])
		SSL_set_tlsext_host_name(up, c->sni);
	if (p->o.mitm->verify)
		SSL_set1_host(up, c->sni[0] ? c->sni : c->ci.dst);
	upstream_connect(c, up);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct proxy_listener *pl = arg;
	struct umpa_proxy *p = pl->p;
	struct proxy_conn *c;
	struct umpa_err e = {0, ""};
	int i, one = 1;
	(void)l;
	(void)salen;
	if (p->st.active >= p->o.max_conns) {
		p->st.over_limit++;
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->p = p;
	c->cfd = fd;
	c->ci.id = ++p->next_id;
	c->started_ns = umpa_loop_wall_ns(p->loop);
	c->ci.listener = pl->index;
	addr_text(sa, c->ci.src, sizeof(c->ci.src), &c->ci.sport);
	addr_text((struct sockaddr *)&p->target, c->ci.dst, sizeof(c->ci.dst), &c->ci.dport);
	{
		struct sockaddr_storage ls;
		socklen_t ll = sizeof(ls);
		if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
			addr_text((struct sockaddr *)&ls, c->ci.local, sizeof(c->ci.local), &c->ci.lport);
	}
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->st.accepted++;
	p->st.active++;
	for (i = 0; i < 2; i++) {
		c->half[i].c = c;
		c->half[i].dir = i;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	plog(p, UMPA_PROXY_NOTE, c->ci.id, "from %s:%u", c->ci.src, c->ci.sport);
	if (p->hooked && p->h.open && p->h.open(p->h.arg, &c->ci, &c->state, &e) < 0) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg);
		conn_free(c, END_ERROR);
		return;
	}
	if (p->o.mitm) {
		struct timeval tv = {10, 0};
		if (!(c->peek = event_new(p->base, fd, EV_READ | EV_PERSIST, peek_cb, c)) ||
		    event_add(c->peek, &tv) < 0)
			conn_free(c, END_ERROR);
		return;
	}
	if (client_side(c, fd, NULL) == 0)
		upstream_connect(c, NULL);
}

static void accept_err_cb(struct evconnlistener *l, void *arg)
{
	struct proxy_listener *pl = arg;
	int err = EVUTIL_SOCKET_ERROR();
	(void)l;
	/* EMFILE and the like: that accept fails, the listener stays */
	plog(pl->p, UMPA_PROXY_WARN, 0, "accept: %s", evutil_socket_error_to_string(err));
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct umpa_proxy *p = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (p && p->o.mitm->keylog)
		p->o.mitm->keylog(p->o.mitm->keylog_arg, line);
}

static int mitm_init(struct umpa_proxy *p, struct umpa_err *e)
{
	const struct umpa_proxy_mitm *m = p->o.mitm;
	if (!m->ca)
		return umpa_err_set(e, UMPA_EINVAL, "tls-mitm: no CA");
	p->ctx_up = SSL_CTX_new(TLS_client_method());
	p->ctx_cl = SSL_CTX_new(TLS_server_method());
	if (!p->ctx_up || !p->ctx_cl) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_ENOMEM, "tls-mitm: no TLS context");
	}
	SSL_CTX_set_app_data(p->ctx_up, p);
	SSL_CTX_set_app_data(p->ctx_cl, p);
	SSL_CTX_set_keylog_callback(p->ctx_up, keylog_cb);
	SSL_CTX_set_keylog_callback(p->ctx_cl, keylog_cb);
	if (m->verify) {
		SSL_CTX_set_verify(p->ctx_up, SSL_VERIFY_PEER, NULL);
		if (m->verify_ca ? SSL_CTX_load_verify_locations(p->ctx_up, m->verify_ca, NULL) != 1
				 : SSL_CTX_set_default_verify_paths(p->ctx_up) != 1) {
			ERR_clear_error();
			return umpa_err_set(e, UMPA_EINVAL, "upstream-ca: '%s': cannot load the certificates",
					    m->verify_ca ? m->verify_ca : "(system)");
		}
	} else {
		SSL_CTX_set_verify(p->ctx_up, SSL_VERIFY_NONE, NULL);
	}
	return 0;
}

struct umpa_proxy *umpa_proxy_new(struct umpa_loop *loop, const struct umpa_proxy_opts *o,
				  const struct umpa_proxy_hooks *hooks, struct umpa_err *e)
{
	struct umpa_proxy *p;
	unsigned i;
	struct event_base *base = umpa_loop_event_base(loop);
	if (!base) {
		umpa_err_set(e, UMPA_EINVAL, "proxy: needs a live loop");
		return NULL;
	}
	if (!o->nlisten || o->nlisten > UMPA_PROXY_MAX_LISTEN) {
		umpa_err_set(e, UMPA_EINVAL, "listen: give 1 to %d addresses", UMPA_PROXY_MAX_LISTEN);
		return NULL;
	}
	if (!o->target) {
		umpa_err_set(e, UMPA_EINVAL, "target: missing (HOST:PORT)");
		return NULL;
	}
	if (o->hiwat < 1024 || o->hiwat > (64u << 20)) {
		umpa_err_set(e, UMPA_ERANGE, "buffer: %zu is out of range (bytes: 1024 to 67108864)", o->hiwat);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		umpa_err_set(e, UMPA_ENOMEM, "proxy: out of memory");
		return NULL;
	}
	p->loop = loop;
	p->base = base;
	p->o = *o;
	if (hooks && hooks->data) {
		p->h = *hooks;
		p->hooked = 1;
	}
	if (resolve(o->target, "target", 0, &p->target, &p->tlen, e) < 0)
		goto fail;
	if (o->source) {
		char buf[300];
		snprintf(buf, sizeof(buf), strchr(o->source, ':') ? "[%s]:0" : "%s:0", o->source);
		if (resolve(buf, "source", 1, &p->source, &p->slen, e) < 0)
			goto fail;
		if (p->source.ss_family != p->target.ss_family) {
			umpa_err_set(e, UMPA_EINVAL, "source: '%s' is not of the target's address family", o->source);
			goto fail;
		}
	}
	if (o->mitm && mitm_init(p, e) < 0)
		goto fail;
	for (i = 0; i < o->nlisten; i++) {
		struct proxy_listener *pl = &p->lis[i];
		char what[32];
		snprintf(what, sizeof(what), "listen %s", o->listen[i]);
		pl->p = p;
		pl->index = i;
		if (resolve(o->listen[i], "listen", 1, &pl->addr, &pl->alen, e) < 0)
			goto fail;
		pl->l = evconnlistener_new_bind(base, accept_cb, pl,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
						(struct sockaddr *)&pl->addr, (int)pl->alen);
		if (!pl->l) {
			umpa_err_set(e, UMPA_EIO, "listen %s: %s", o->listen[i], strerror(errno));
			goto fail;
		}
		evconnlistener_set_error_cb(pl->l, accept_err_cb);
		p->nlis++;
	}
	return p;
fail:
	umpa_proxy_free(p);
	return NULL;
}

struct umpa_proxy *umpa_proxy_free(struct umpa_proxy *p)
{
	unsigned i;
	if (!p)
		return NULL;
	for (i = 0; i < p->nlis; i++)
		evconnlistener_free(p->lis[i].l);
	while (p->conns)
		conn_free(p->conns, END_ABORT);
	SSL_CTX_free(p->ctx_up);
	SSL_CTX_free(p->ctx_cl);
	free(p);
	return NULL;
}

size_t umpa_proxy_conns(const struct umpa_proxy *p, umpa_proxy_conn_cb cb, void *arg)
{
	size_t n = 0;

	for (const struct proxy_conn *c = p->conns; c; c = c->next, n++) {
		struct umpa_proxy_conn_stats s = {
		    .ci = &c->ci,
		    .bytes_in = {c->half[0].in, c->half[1].in},
		    .bytes_out = {c->half[0].out, c->half[1].out},
		    .started_ns = c->started_ns,
		    .connected = c->connected,
		    .tls = c->is_tls,
		    .sni = c->sni,
		};
		if (cb)
			cb(arg, &s);
	}
	return n;
}
