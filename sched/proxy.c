/* proxy.c - the TCP relay of umpa_proxy.h on libevent bufferevents. */
#include "umpa_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proxy_internal.h"
#include "umpa_cursor.h"
#include "umpa_proxy_ca.h"
#include "umpa_tls.h"
#include "umpa_wiretap.h"

/* mitm: most server names whose upstream TLS session is kept for resumption. */
#define UP_SESSIONS 64

/* Largest chunk handed to a hook at once. */
#define CHUNK_MAX 65536

/* Most bytes one read(2) of a plain socket takes: libevent 2.1's evbuffer_read takes at most 4 KiB per call
 * (and asks FIONREAD first), so plain sides read for themselves (plain_read_cb).  Just under 128 KiB with
 * libevent's chain header: one heap chunk below glibc's mmap threshold. */
#define READ_MAX (131072 - 512)

/* mitm: the read buffer of each TLS leg's SSL.  Once the leg's handshake is done it reads ahead (tls_own): one
 * read(2) brings up to this many bytes (about four full records), where OpenSSL alone reads each record's 5-byte
 * header and its body with two. */
#define TLS_RBUF 65536

/* The largest TLS record's payload: what one SSL_write of the direct path sends (tls_send). */
#define TLS_RECORD 16384

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
	int eof_waited;        /* the eof_delay hook's wait is over (or none was asked) */
	int64_t first_ns;      /* when the oldest byte now in the input was read (0: none there) */
	struct event *rd;      /* the sender's own read event (plain_read_cb, tls_read_cb); NULL: its bufferevent
				* reads (a TLS leg during its handshake) */
	SSL *ssl;              /* side[dir] is a TLS leg whose handshake is done, read and written by us (tls_own) */
	int flushed;           /* the flush hook ran (at the end of stream) */
	uint64_t in, out;      /* bytes read from the sender, handed to the receiver (umpa_proxy_conns) */

	int holding; /* the delay is a hold (UMPA_PROXY_HOLD) with hold_token */
	uint64_t hold_token;
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
	int starttls; /* 1: upgrading both legs (UMPA_PROXY_STARTTLS), 2: done */
	char sni[256];
	/* opts.tap: the tap's state, which legs are up, the upstream socket, what each tap callback reports */
	void *tapst;
	int legup[2];
	evutil_socket_t ufd;
	int biotap[2]; /* [side]: a TLS side, tapped by its BIO */
	struct tapref {
		struct proxy_conn *c;
		int leg;
	} tref[2];
	int64_t started_ns; /* wall clock at accept */
	/* where the upstream leg goes (the target, the original destination, the SOCKS5 request, a redirect) */
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct proxy_socks_ *socks;  /* SOCKS5: negotiating, or the reply waits for the upstream connect */
	struct proxy_resolve_ *dns;  /* a name being resolved */
	int gated;                   /* opts.gate or mitm.sni_seen said wait: umpa_proxy_proceed goes on */
	SSL *gate_up;                /* mitm.sni_seen's wait: the upstream's TLS, to connect then */
	struct sockaddr_storage csa; /* the client's address (opts.spoof_source) */
	socklen_t clen;
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
	struct evdns_base *dns; /* names of SOCKS5 requests and redirects (made on first use) */
	struct proxy_conn *conns;
	struct umpa_proxy_stats st;
	uint64_t next_id;
	SSL_CTX *ctx_up, *ctx_cl; /* mitm: the upstream leg's (client) and the client leg's (server) */
	struct up_session {       /* mitm: the upstream leg's TLS sessions by server name (up_session_cb) */
		char sni[256];
		SSL_SESSION *s;
	} ups[UP_SESSIONS];
	unsigned upnext;      /* the entry a new name takes next (round robin) */
	struct proxy_static { /* mitm.statics, loaded */
		X509 *cert;
		STACK_OF(X509) * chain;
		EVP_PKEY *key;
	} * statics;
};

void umpa_proxy_opts_init(struct umpa_proxy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hiwat = 262144;
	o->connect_timeout_ns = 10000000000LL;
	o->max_conns = 10000;
	o->peek_timeout_ns = 300000000;
	o->socks_timeout_ns = 10000000000LL;
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
		return umpa_err_set(e, UMPA_EINVAL, "%s: '%s': %s", what, host,
				    passive && rc == EAI_NONAME ? "not a numeric address"
				    : rc                        ? gai_strerror(rc)
								: "no address");
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int umpa_proxy_resolve(const char *s, const char *what, int passive, struct sockaddr_storage *ss, socklen_t *len,
		       struct umpa_err *e)
{
	return resolve(s, what, passive, ss, len, e);
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

/* ---- mitm: upstream TLS sessions ---- */

static struct up_session *up_session_find(struct umpa_proxy *p, const char *sni)
{
	for (unsigned i = 0; i < UP_SESSIONS; i++)
		if (p->ups[i].s && !strcmp(p->ups[i].sni, sni))
			return &p->ups[i];
	return NULL;
}

/* mitm: a new session of the upstream leg (TLS 1.2: at the handshake's end; 1.3: a ticket).  Kept under its
 * server name, so the next connection to that name resumes it (up_resume): an abbreviated handshake on that
 * leg, as SSLsplit does, with the server's certificate and verification result kept in the session.  Returns 1:
 * the reference is ours. */
static int up_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct umpa_proxy *p = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct up_session *u;
	if (!sni)
		sni = "";
	if (!(u = up_session_find(p, sni))) {
		u = &p->ups[p->upnext];
		p->upnext = (p->upnext + 1) % UP_SESSIONS;
		snprintf(u->sni, sizeof(u->sni), "%s", sni);
	}
	if (u->s)
		SSL_SESSION_free(u->s);
	u->s = sess;
	return 1;
}

/* mitm: offer the kept session of server name @p sni (if any) on the upstream leg @p up. */
static void up_resume(struct umpa_proxy *p, SSL *up, const char *sni)
{
	struct up_session *u = up_session_find(p, sni);
	if (u && SSL_SESSION_is_resumable(u->s))
		SSL_set_session(up, u->s);
}

/* mitm: the upstream leg @p up (NULL: none) is about to be freed.  OpenSSL marks the session of an SSL freed
 * without a close_notify sent as not resumable (ssl_clear_bad_session), and the kept session (up_session_cb) is
 * that same object: a connection aborted on the client's side (a client that does not trust the CA, a TLS error
 * on that leg) would cost every later connection to that name a full upstream handshake.  A leg whose handshake
 * was done either ended well or met a fatal alert, which already dropped its session (SSLfatal), so it is
 * marked shut down: its session stays resumable, as after a close_notify. */
static void up_keep_session(SSL *up)
{
	if (up && SSL_is_init_finished(up))
		SSL_set_shutdown(up, SSL_get_shutdown(up) | SSL_SENT_SHUTDOWN);
}

/* ---- the wire tap (opts.tap) ---- */

/* Leg @p leg is up on socket @p fd: tell the tap its addresses (once). */
static void tap_leg(struct proxy_conn *c, int leg, evutil_socket_t fd)
{
	const struct umpa_proxy_tap *t = c->p->o.tap;
	struct sockaddr_storage lo, pe;
	socklen_t ll = sizeof(lo), pl = sizeof(pe);
	if (!t || c->legup[leg] || fd < 0 || getsockname(fd, (struct sockaddr *)&lo, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&pe, &pl) < 0)
		return;
	c->legup[leg] = 1;
	t->leg(t->arg, &c->ci, &c->tapst, leg, (struct sockaddr *)(leg ? &lo : &pe),
	       (struct sockaddr *)(leg ? &pe : &lo));
}

static void tap_bytes(struct proxy_conn *c, int leg, int sender, const void *d, size_t n)
{
	const struct umpa_proxy_tap *t = c->p->o.tap;
	if (!c->legup[leg])
		tap_leg(c, leg, leg ? c->ufd : c->cfd);
	if (c->legup[leg] && t->bytes)
		t->bytes(t->arg, c->tapst, leg, sender, d, n);
}

/* A TLS leg's records, from its socket BIO: read, the peer sent them; written, the proxy did. */
static void tap_bio_cb(void *arg, int sent, const void *d, size_t n)
{
	struct tapref *r = arg;
	tap_bytes(r->c, r->leg, sent ? !r->leg : r->leg, d, n);
}

/* A plain leg's bytes: the first @p n bytes of @p b (all: SIZE_MAX) that @p sender sent on @p leg. */
static void tap_plain(struct proxy_conn *c, int leg, int sender, struct evbuffer *b, const void *d, size_t n)
{
	struct evbuffer_ptr ptr;
	unsigned char tmp[16384];
	if (!c->p->o.tap || c->biotap[leg])
		return;
	if (d) {
		tap_bytes(c, leg, sender, d, n);
		return;
	}
	if (n > evbuffer_get_length(b))
		n = evbuffer_get_length(b);
	if (evbuffer_ptr_set(b, &ptr, 0, EVBUFFER_PTR_SET) < 0)
		return;
	while (n) {
		ev_ssize_t got = evbuffer_copyout_from(b, &ptr, tmp, n < sizeof(tmp) ? n : sizeof(tmp));
		if (got <= 0 || evbuffer_ptr_set(b, &ptr, (size_t)got, EVBUFFER_PTR_ADD) < 0)
			break;
		tap_bytes(c, leg, sender, tmp, (size_t)got);
		n -= (size_t)got;
	}
}

/* Side @p s (on socket @p fd) speaks TLS through @p ssl: its records are seen by a tap BIO. */
static void tap_tls(struct proxy_conn *c, int s, evutil_socket_t fd, SSL *ssl)
{
	BIO *b;
	if (!c->p->o.tap)
		return;
	c->tref[s] = (struct tapref){c, s};
	if ((b = umpa_wtap_bio(fd, tap_bio_cb, &c->tref[s]))) {
		SSL_set_bio(ssl, b, b);
		c->biotap[s] = 1;
	}
}

static void tap_fin(struct proxy_conn *c, int leg, int sender)
{
	const struct umpa_proxy_tap *t = c->p->o.tap;
	if (t && c->legup[leg] && t->fin)
		t->fin(t->arg, c->tapst, leg, sender);
}

/* ---- connections ---- */

enum conn_end { END_DONE, END_ABORT, END_REFUSED, END_RESET, END_ERROR, END_REJECTED };

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
	case END_REJECTED:
		p->st.rejected++;
		break;
	}
	plog(p, UMPA_PROXY_NOTE, c->ci.id, "closed (%s)",
	     (const char *[]){"done", "aborted", "refused", "reset", "error", "rejected"}[how]);
	proxy_socks_free_(c->socks);
	proxy_resolve_cancel_(c->dns);
	for (i = 0; i < 2; i++) {
		if (c->half[i].rd)
			event_free(c->half[i].rd);
		if (i == 1 && c->side[1] && c->is_tls)
			up_keep_session(bufferevent_openssl_get_ssl(c->side[1]));
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
	if (c->gate_up)
		SSL_free(c->gate_up);
	if (c->retry)
		event_free(c->retry);
	if (c->cfd >= 0)
		evutil_closesocket(c->cfd);
	if (p->hooked && p->h.close)
		p->h.close(p->h.arg, c->state);
	if (p->o.tap && (c->legup[0] || c->legup[1]) && p->o.tap->close)
		p->o.tap->close(p->o.tap->arg, c->tapst, how == END_DONE);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->st.active--;
	free(c);
}

static void delay_done(evutil_socket_t fd, short what, void *arg);
static void forward(struct proxy_half *h, const void *data, size_t n);

/* Pass the end of stream of direction d on, once its receiver's output is empty.  Returns 1 when the
 * connection was freed. */
static int half_finish(struct proxy_half *h)
{
	struct proxy_conn *c = h->c;
	struct bufferevent *dst = c->side[!h->dir];
	if (!h->eof || h->shut || h->delay || (h->held && evbuffer_get_length(h->held)) ||
	    evbuffer_get_length(bufferevent_get_input(c->side[h->dir])))
		return 0;                                   /* bytes still to forward: pump comes back here */
	if (!h->flushed && c->p->hooked && c->p->h.flush) { /* what a hook still holds goes before the end */
		struct umpa_proxy_out out = umpa_proxy_out_forward(NULL, 0, 0);
		struct umpa_err e = {0, ""};
		h->flushed = 1;
		if (c->p->h.flush(c->p->h.arg, c->state, (enum umpa_proxy_dir)h->dir, &out, &e) < 0) {
			plog(c->p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg[0] ? e.msg : "module failed");
			conn_free(c, END_ERROR);
			return 1;
		}
		if (out.len)
			forward(h, out.data, out.len);
	}
	if (evbuffer_get_length(bufferevent_get_output(dst))) {
		bufferevent_setwatermark(dst, EV_WRITE, 0, 0); /* the write callback when it is empty */
		return 0;
	}
	if (!h->eof_waited && c->p->hooked && c->p->h.eof_delay) {
		int64_t d = c->p->h.eof_delay(c->p->h.arg, c->state, (enum umpa_proxy_dir)h->dir);
		h->eof_waited = 1;
		if (d > 0) {
			struct timeval tv = {(time_t)(d / 1000000000), (suseconds_t)(d % 1000000000 / 1000)};
			if ((h->held || (h->held = evbuffer_new())) &&
			    (h->delay = evtimer_new(c->p->base, delay_done, h)) && evtimer_add(h->delay, &tv) == 0)
				return 0; /* delay_done pumps, and comes back here */
		}
	}
	h->shut = 1;
	{
		SSL *ssl = bufferevent_openssl_get_ssl(dst);
		if (ssl) { /* TLS: close_notify first, as the sender did */
			SSL_shutdown(ssl);
			ERR_clear_error();
		}
	}
	if (!c->half[!h->dir].shut)
		shutdown(bufferevent_getfd(dst), SHUT_WR);
	/* else the connection is freed below: its close sends the FIN */
	tap_fin(c, !h->dir, h->dir);
	if (c->half[!h->dir].shut) {
		conn_free(c, END_DONE);
		return 1;
	}
	return 0;
}

static void pump(struct proxy_half *h);
static void starttls_begin(struct proxy_conn *c);

/* Reading of side @p s on (@p on nonzero) or off: its own read event for a plain socket, else its bufferevent's. */
static void side_read(struct proxy_conn *c, int s, int on)
{
	struct event *rd = c->half[s].rd;
	if (rd) {
		if (!on)
			event_del(rd);
		else if (event_add(rd, NULL) == 0 && c->half[s].ssl && SSL_has_pending(c->half[s].ssl))
			event_active(rd, EV_READ, 1); /* bytes OpenSSL read ahead: the socket may say nothing more */
	} else if (c->side[s]) {
		if (on)
			bufferevent_enable(c->side[s], EV_READ);
		else
			bufferevent_disable(c->side[s], EV_READ);
	}
}

/* Side @p s may be written at once: a plain, connected socket whose output holds nothing. */
static int side_direct(const struct proxy_conn *c, int s)
{
	return c->half[s].rd && (s == 0 || c->connected) && !evbuffer_get_length(bufferevent_get_output(c->side[s]));
}

/* A TLS leg's direct write: @p n bytes at @p d through @p ssl, a record at a time, until its socket is full.
 * Returns how many went out.  Partial writes are on only here: libevent's own SSL_write (do_write) counts on
 * all-or-nothing ones.  A record that met a full socket stays in OpenSSL, which sends it when the same bytes are
 * written again: the caller puts the rest (those bytes first, at the head of one evbuffer chain, at least the
 * record long) in the bufferevent's output, whose SSL_write retries with them (ACCEPT_MOVING_WRITE_BUFFER is
 * libevent's).  Any error leaves the bytes to the bufferevent likewise, which meets it and reports it. */
static size_t tls_send(SSL *ssl, const void *d, size_t n)
{
	size_t done = 0;
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	while (done < n) {
		int k = (int)(n - done < TLS_RECORD ? n - done : TLS_RECORD), r;
		ERR_clear_error();
		if ((r = SSL_write(ssl, (const unsigned char *)d + done, k)) <= 0)
			break;
		done += (size_t)r;
	}
	ERR_clear_error();
	SSL_clear_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	return done;
}

/* All of @p b's bytes to side @p s.  A plain socket with an empty output is written at once (as haproxy and
 * socat do): only what the kernel did not take waits in the output for its write event, which saves arming
 * that event and a turn of the loop per chunk.  A failed write leaves the bytes to the bufferevent, which
 * meets the error itself and reports it to event_cb. */
static void send_buf(struct proxy_conn *c, int s, struct evbuffer *b)
{
	if (side_direct(c, s)) {
		if (c->half[s].ssl) {
			struct evbuffer_iovec v;
			size_t w;
			while (evbuffer_peek(b, -1, NULL, &v, 1) == 1) {
				w = tls_send(c->half[s].ssl, v.iov_base, v.iov_len);
				evbuffer_drain(b, w);
				if (w < v.iov_len)
					break; /* the socket is full: the bufferevent goes on */
			}
		} else {
			evbuffer_write(b, bufferevent_getfd(c->side[s]));
		}
	}
	if (evbuffer_get_length(b))
		bufferevent_write_buffer(c->side[s], b); /* when not empty, the output takes b's chains as they are */
}

/* @p n bytes at @p d to side @p s, as send_buf. */
static void send_data(struct proxy_conn *c, int s, const void *d, size_t n)
{
	if (n && side_direct(c, s)) {
		ssize_t w = c->half[s].ssl ? (ssize_t)tls_send(c->half[s].ssl, d, n)
					   : send(bufferevent_getfd(c->side[s]), d, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			d = (const unsigned char *)d + w;
			n -= (size_t)w;
		}
	}
	if (n)
		bufferevent_write(c->side[s], d, n);
}

enum acct { ACCT_IN = 0, ACCT_OUT = 1 };

/* The one bookkeeping of direction @p h's bytes, on every path (unhooked, hooked, delayed, STARTTLS): @p n bytes
 * read from the sender (ACCT_IN: seen on leg h->dir) or handed to the receiver (ACCT_OUT: leg !h->dir) go to the
 * capture tap, the proxy's counters and the connection's.  The bytes are @p d, or with @p d NULL the first @p n
 * of @p b. */
static void account(struct proxy_half *h, enum acct how, struct evbuffer *b, const void *d, size_t n)
{
	struct proxy_conn *c = h->c;
	tap_plain(c, how == ACCT_OUT ? !h->dir : h->dir, h->dir, b, d, n);
	if (how == ACCT_OUT) {
		c->p->st.bytes_out[h->dir] += n;
		h->out += n;
	} else {
		c->p->st.bytes_in[h->dir] += n;
		h->in += n;
	}
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *h = arg;
	struct proxy_conn *c = h->c;
	(void)fd;
	(void)what;
	event_free(h->delay);
	h->delay = NULL;
	h->holding = 0;
	account(h, ACCT_OUT, h->held, NULL, evbuffer_get_length(h->held));
	send_buf(c, !h->dir, h->held);
	pump(h); /* what arrived meanwhile; re-enables reading */
}

/* Write @p n bytes to the receiver (or hold them behind a delay). */
static void forward(struct proxy_half *h, const void *data, size_t n)
{
	if (h->delay) {
		evbuffer_add(h->held, data, n);
		return;
	}
	account(h, ACCT_OUT, NULL, data, n);
	send_data(h->c, !h->dir, data, n);
}

/* End @p c in order (UMPA_PROXY_CLOSE): no more reading either way, unread input dropped, what is
 * buffered or held is written, then both shutdowns.  Returns 1 when the connection was freed. */
static int conn_close_soon(struct proxy_conn *c)
{
	int i;
	for (i = 0; i < 2; i++) {
		struct proxy_half *h = &c->half[i];
		h->eof = 1;
		if (c->side[i]) {
			struct evbuffer *in = bufferevent_get_input(c->side[i]);
			side_read(c, i, 0);
			evbuffer_drain(in, evbuffer_get_length(in));
		}
	}
	if (!c->side[0] || !c->side[1] || !c->connected) {
		conn_free(c, END_DONE);
		return 1;
	}
	if (half_finish(&c->half[0]))
		return 1;
	return half_finish(&c->half[1]);
}

size_t umpa_proxy_closing(const struct umpa_proxy *p)
{
	size_t n = 0;
	for (const struct proxy_conn *c = p->conns; c; c = c->next)
		n += c->half[0].eof || c->half[1].eof;
	return n;
}

void umpa_proxy_stop_accepting(struct umpa_proxy *p)
{
	for (unsigned i = 0; i < p->nlis; i++)
		if (p->lis[i].l)
			evconnlistener_disable(p->lis[i].l);
}

int umpa_proxy_kill(struct umpa_proxy *p, uint64_t id, int reset)
{
	struct proxy_conn *c;
	for (c = p->conns; c; c = c->next)
		if (c->ci.id == id)
			break;
	if (!c)
		return -UMPA_ENOENT;
	if (reset)
		conn_free(c, END_RESET);
	else
		conn_close_soon(c);
	return 0;
}

int umpa_proxy_release(struct umpa_proxy *p, uint64_t id, enum umpa_proxy_dir dir, uint64_t token, const void *data,
		       size_t n)
{
	struct proxy_conn *c;
	struct proxy_half *h;
	for (c = p->conns; c; c = c->next)
		if (c->ci.id == id)
			break;
	if (!c || (dir != UMPA_PROXY_C2S && dir != UMPA_PROXY_S2C))
		return -UMPA_ENOENT;
	h = &c->half[dir];
	if (!h->delay || !h->holding || h->hold_token != token)
		return -UMPA_ENOENT;
	evbuffer_drain(h->held, evbuffer_get_length(h->held));
	if (n && evbuffer_add(h->held, data, n) < 0)
		return -UMPA_ENOMEM;
	event_del(h->delay);
	delay_done(-1, 0, h); /* forwards, pumps on (may end the connection) */
	return 0;
}

/* Do a hook's answer @p out for the @p n bytes at @p d, the head of @p in: account and drain the bytes it used,
 * forward its data (or hold them behind its delay), then its action.  Returns 1 when pump must stop: the
 * connection was freed, is closing or is being upgraded. */
static int hook_answer(struct proxy_half *h, struct evbuffer *in, const unsigned char *d, size_t n,
		       const struct umpa_proxy_out *out)
{
	struct proxy_conn *c = h->c;
	struct umpa_proxy *p = c->p;
	int starttls = out->action == UMPA_PROXY_STARTTLS && p->o.mitm && !c->starttls && !c->is_tls;
	int64_t delay_ns = out->delay_ns;
	if (out->action == UMPA_PROXY_RESET) {
		plog(p, UMPA_PROXY_NOTE, c->ci.id, "reset by a module");
		conn_free(c, END_RESET);
		return 1;
	}
	if (!starttls && out->action == UMPA_PROXY_HOLD) { /* released by umpa_proxy_release or at the delay */
		if (delay_ns <= 0)
			delay_ns = 10000000000LL;
		h->holding = 1;
		h->hold_token = out->hold_token;
	}
	if (!starttls && delay_ns > 0) {
		struct timeval tv = {(time_t)(delay_ns / 1000000000), (suseconds_t)(delay_ns % 1000000000 / 1000)};
		if (!h->held)
			h->held = evbuffer_new();
		h->delay = evtimer_new(p->base, delay_done, h);
		if (!h->held || !h->delay || evtimer_add(h->delay, &tv) < 0) {
			plog(p, UMPA_PROXY_WARN, c->ci.id, "no memory for a delay");
			conn_free(c, END_ERROR);
			return 1;
		}
	}
	if (!starttls && out->consumed && out->consumed < n)
		n = out->consumed;
	account(h, ACCT_IN, NULL, d, n); /* what this leg read, once: a hook may take less */
	if (out->len)
		forward(h, out->data, out->len);
	evbuffer_drain(in, n);
	if (starttls) {
		starttls_begin(c);
		return 1;
	}
	if (out->action == UMPA_PROXY_CLOSE) {
		plog(p, UMPA_PROXY_NOTE, c->ci.id, "closed by a module");
		conn_close_soon(c);
		return 1;
	}
	return 0;
}

/* Move what side[dir] received to side[!dir], through the hooks; stop at the buffer bound or a delay. */
static void pump(struct proxy_half *h)
{
	struct proxy_conn *c = h->c;
	struct umpa_proxy *p = c->p;
	struct bufferevent *src = c->side[h->dir], *dst = c->side[!h->dir];
	struct evbuffer *in;
	size_t len;
	if (c->starttls == 1 || !src || !dst)
		return; /* both legs are being upgraded: what follows is TLS */
	in = bufferevent_get_input(src);
	while ((len = evbuffer_get_length(in)) > 0 && !h->delay) {
		if (evbuffer_get_length(bufferevent_get_output(dst)) >= p->o.hiwat)
			break;
		if (!p->hooked || (p->h.pass && p->h.pass(p->h.arg, c->state, (enum umpa_proxy_dir)h->dir))) {
			account(h, ACCT_IN, in, NULL, len);
			account(h, ACCT_OUT, in, NULL, len);
			send_buf(c, !h->dir, in);
			if (p->hooked && p->h.tally) /* moved unhooked: the hook counts it all the same */
				p->h.tally(p->h.arg, c->state, (enum umpa_proxy_dir)h->dir, len);
			break;
		}
		{
			size_t n = len < CHUNK_MAX ? len : CHUNK_MAX;
			unsigned char *d = evbuffer_pullup(in, (ssize_t)n);
			struct umpa_proxy_out out = umpa_proxy_out_forward(d, n, h->first_ns);
			struct umpa_err e = {0, ""};
			if (p->h.data(p->h.arg, c->state, (enum umpa_proxy_dir)h->dir, d, n, &out, &e) < 0) {
				plog(p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg[0] ? e.msg : "module failed");
				conn_free(c, END_ERROR);
				return;
			}
			if (hook_answer(h, in, d, n, &out))
				return;
		}
	}
	if (!evbuffer_get_length(in))
		h->first_ns = 0;
	/* during a delay reading goes on (up to the input's bound), so bytes keep their arrival times */
	if (evbuffer_get_length(bufferevent_get_output(dst)) >= p->o.hiwat) {
		h->paused = 1;
		side_read(c, h->dir, 0);
	} else if (h->paused || !h->eof) {
		h->paused = 0;
		if (!h->eof && c->connected)
			side_read(c, h->dir, 1);
	}
	if (h->eof)
		half_finish(h);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;
	struct proxy_half *h = &c->half[bev == c->side[0] ? UMPA_PROXY_C2S : UMPA_PROXY_S2C];
	if (!h->first_ns)
		h->first_ns = umpa_loop_now_ns(c->p->loop);
	pump(h);
}

static void event_cb(struct bufferevent *bev, short what, void *arg);

/* How many bytes half @p h may read into @p in now: up to READ_MAX, no more than the input's bound; 0 when the
 * input is full, and then its read event is off (pump enables reading again once the input went out). */
static size_t read_room(struct proxy_half *h, struct evbuffer *in)
{
	size_t have = evbuffer_get_length(in), hiwat = h->c->p->o.hiwat;

	if (have >= hiwat) {
		event_del(h->rd);
		return 0;
	}
	return hiwat - have < READ_MAX ? hiwat - have : READ_MAX;
}

/* A plain side's read event: up to READ_MAX bytes (no more than the input's bound) in one readv, straight into
 * its bufferevent's input, then on as read_cb.  An end of stream or an error goes to event_cb as the
 * bufferevent would report it. */
static void plain_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *h = arg;
	struct proxy_conn *c = h->c;
	struct bufferevent *bev = c->side[h->dir];
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t want = read_room(h, in), left;
	ssize_t n;
	int nv, used = 0, err;
	(void)what;
	if (!want)
		return;
	evbuffer_unfreeze(in, 0); /* libevent freezes a socket bufferevent's input at its end but while it reads */
	nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (nv <= 0) {
		evbuffer_freeze(in, 0);
		event_del(h->rd);
		errno = ENOMEM;
		event_cb(bev, BEV_EVENT_READING | BEV_EVENT_ERROR, c);
		return;
	}
	for (int i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	n = readv(fd, iov, nv);
	if (n <= 0) {
		err = errno;
		evbuffer_commit_space(in, v, 0);
		evbuffer_freeze(in, 0);
		if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
			return;
		event_del(h->rd);
		errno = err;
		event_cb(bev, BEV_EVENT_READING | (n ? BEV_EVENT_ERROR : BEV_EVENT_EOF), c);
		return;
	}
	for (left = (size_t)n; used < nv && left; used++) {
		if (v[used].iov_len > left)
			v[used].iov_len = left;
		left -= v[used].iov_len;
	}
	evbuffer_commit_space(in, v, used);
	evbuffer_freeze(in, 0);
	read_cb(bev, c);
}

/* A TLS leg's read event, once its handshake is done (tls_own): SSL_read, from what OpenSSL read ahead, up to
 * READ_MAX bytes (no more than the input's bound) straight into its bufferevent's input, then on as read_cb.
 * libevent's own reading takes one record a wake-up and reads each with two read(2)s.  Its end (close_notify,
 * a FIN or a reset) or an error goes to event_cb as the bufferevent would report it, after the bytes before it
 * were pumped. */
static void tls_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *h = arg;
	struct proxy_conn *c = h->c;
	struct bufferevent *bev = c->side[h->dir];
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t want = read_room(h, in), got = 0;
	int err = SSL_ERROR_NONE, eof;
	(void)fd;
	(void)what;
	if (!want)
		return;
	while (got < want) {
		struct evbuffer_iovec v;
		int r;
		if (evbuffer_reserve_space(in, (ev_ssize_t)(want - got), &v, 1) != 1) {
			err = -1; /* no memory */
			break;
		}
		if (v.iov_len > want - got)
			v.iov_len = want - got;
		ERR_clear_error();
		r = SSL_read(h->ssl, v.iov_base, (int)(v.iov_len < INT_MAX ? v.iov_len : INT_MAX));
		if (r <= 0) {
			err = SSL_get_error(h->ssl, r);
			evbuffer_commit_space(in, &v, 0);
			break;
		}
		v.iov_len = (size_t)r;
		evbuffer_commit_space(in, &v, 1);
		got += (size_t)r;
	}
	if (got) {
		/* an end or an error after bytes: those go first; the next turn of the loop meets it again (OpenSSL
		 * keeps reporting it), as it does bytes read ahead beyond this turn's share */
		if ((err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) || SSL_has_pending(h->ssl))
			event_active(h->rd, EV_READ, 1);
		read_cb(bev, c);
		return;
	}
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_NONE)
		return; /* (a read that must write, a renegotiation, waits for the next bytes) */
	event_del(h->rd);
	/* an end without close_notify, a reset included, is an end of stream, as the bufferevent's own reading
	 * reports it with allow_dirty_shutdown (every leg has it) */
	eof = err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && !ERR_peek_error());
	if (err == -1)
		errno = ENOMEM;
	else if (err != SSL_ERROR_SYSCALL)
		errno = EPROTO; /* a TLS error: name the protocol (the socket's errno says nothing) */
	ERR_clear_error();
	event_cb(bev, BEV_EVENT_READING | (eof ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
}

/* Side @p s is a plain socket's bufferevent: it reads through a read event of its own (plain_read_cb; off until
 * side_read) and writes with no 16 KiB cap per call.  -1 when out of memory. */
static int plain_side(struct proxy_conn *c, int s)
{
	struct proxy_half *h = &c->half[s];
	if (!(h->rd = event_new(c->p->base, bufferevent_getfd(c->side[s]), EV_READ | EV_PERSIST, plain_read_cb, h)))
		return -1;
	bufferevent_set_max_single_write(c->side[s], c->p->o.hiwat);
	return 0;
}

/* Side @p s is a TLS leg whose handshake is done: from now on it reads through a read event of its own
 * (tls_read_cb, reading ahead) and is written directly while its output is empty (send_buf), as plain sides
 * are; its bufferevent keeps the output that waits and the shutdown.  Reading resumes as it was.  -1 when out of
 * memory. */
static int tls_own(struct proxy_conn *c, int s)
{
	struct proxy_half *h = &c->half[s];
	SSL *ssl = bufferevent_openssl_get_ssl(c->side[s]);
	int reading = bufferevent_get_enabled(c->side[s]) & EV_READ;
	if (h->rd || !ssl)
		return 0;
	if (!(h->rd = event_new(c->p->base, bufferevent_getfd(c->side[s]), EV_READ | EV_PERSIST, tls_read_cb, h)))
		return -1;
	h->ssl = ssl;
	SSL_set_read_ahead(ssl, 1);
	bufferevent_disable(c->side[s], EV_READ);
	if (reading)
		side_read(c, s, 1);
	return 0;
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

/* The upstream connect failed with errno @p err (0: it timed out): a SOCKS5 client hears why; the end. */
static void upstream_failed(struct proxy_conn *c, int err)
{
	if (c->socks)
		proxy_socks_reply_(c->socks, err ? umpa_socks5_rep_for_errno(err) : UMPA_SOCKS5_TTL_EXPIRED, NULL);
	conn_free(c, END_REFUSED);
}

/* STARTTLS: take side @p s's socket from its plain bufferevent (its output written out first).  The socket, or
 * -1 when bytes for the peer could not be written at once. */
static evutil_socket_t starttls_detach(struct proxy_conn *c, int s)
{
	struct bufferevent *b = c->side[s];
	evutil_socket_t fd = bufferevent_getfd(b);
	struct evbuffer *out = bufferevent_get_output(b);
	for (int i = 0; i < 100 && evbuffer_get_length(out); i++)
		if (evbuffer_write(out, fd) < 0 && errno != EAGAIN && errno != EINTR)
			break;
	if (evbuffer_get_length(out))
		return -1;
	if (c->half[s].rd) {
		event_free(c->half[s].rd);
		c->half[s].rd = NULL;
	}
	bufferevent_disable(b, EV_READ | EV_WRITE);
	bufferevent_setfd(b, -1); /* freed without closing the socket */
	bufferevent_free(b);
	c->side[s] = NULL;
	return fd;
}

/* The connected upstream leg becomes TLS through @p up (a TLS client on the same socket); the client's leg
 * follows once that handshake is done (event_cb, as for a TLS connection).  STARTTLS, and a SOCKS5
 * connection whose client turned out to speak TLS. */
static void upstream_upgrade(struct proxy_conn *c, SSL *up, const char *what)
{
	struct umpa_proxy *p = c->p;
	evutil_socket_t ufd;
	c->connected = 0;
	if (!up || (ufd = starttls_detach(c, 1)) < 0) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "%s: cannot upgrade the upstream leg", what);
		if (up)
			SSL_free(up);
		p->st.tls_failed++;
		conn_free(c, END_ERROR);
		return;
	}
	c->ufd = ufd;
	tap_tls(c, 1, ufd, up);
	c->side[1] =
	    bufferevent_openssl_socket_new(p->base, ufd, up, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!c->side[1]) {
		SSL_free(up);
		evutil_closesocket(ufd);
		conn_free(c, END_ERROR);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->side[1], 1);
	bufferevent_setcb(c->side[1], read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->side[1], EV_READ, 0, p->o.hiwat);
	bufferevent_setwatermark(c->side[1], EV_WRITE, p->o.hiwat / 2, 0);
	bufferevent_enable(c->side[1], EV_READ | EV_WRITE);
}

/* STARTTLS was accepted (its answer is queued for the client): upgrade the upstream leg now, the client's once
 * the upstream handshake is done. */
static void starttls_begin(struct proxy_conn *c)
{
	struct umpa_proxy *p = c->p;
	SSL *up;
	c->starttls = 1;
	c->is_tls = 1;
	p->st.tls++;
	p->st.starttls++;
	plog(p, UMPA_PROXY_NOTE, c->ci.id, "STARTTLS: upgrading both legs");
	if (p->hooked && p->h.tls)
		p->h.tls(p->h.arg, c->state, "");
	side_read(c, 0, 0);
	up = SSL_new(p->ctx_up);
	if (up && p->o.mitm->verify)
		SSL_set1_host(up, c->ci.dst);
	if (up)
		up_resume(p, up, "");
	upstream_upgrade(c, up, "STARTTLS");
}

/* Both legs are up: relay. */
static void relay_start(struct proxy_conn *c)
{
	for (int i = 0; i < 2; i++) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->side[i]);
		if (ssl && SSL_is_init_finished(ssl) && tls_own(c, i) < 0) {
			conn_free(c, END_ERROR);
			return;
		}
		/* a plain socket's bufferevent is born writing (and its connect keeps it so): enabling it again
		 * would arm its write event for an empty output, a wasted wake-up */
		if (!c->half[i].rd || !(bufferevent_get_enabled(c->side[i]) & EV_WRITE))
			bufferevent_enable(c->side[i], EV_WRITE);
		side_read(c, i, 1);
	}
	pump(&c->half[UMPA_PROXY_C2S]);
}

static void peek_start(struct proxy_conn *c);
static void upstream_connect(struct proxy_conn *c, SSL *ssl);

/* The client's leg on @p fd is plain: relay once the upstream is (or when it already is) connected. */
static void plain_go(struct proxy_conn *c, evutil_socket_t fd)
{
	if (client_side(c, fd, NULL) < 0)
		return;
	if (c->connected)
		relay_start(c);
	else
		upstream_connect(c, NULL);
}

/* SOCKS5: the upstream is connected: the success reply (with the upstream socket's local address), then the
 * client's leg as for any connection (peeked first with mitm: it may turn out to be TLS). */
static void socks_connected(struct proxy_conn *c)
{
	struct sockaddr_storage ls;
	socklen_t ll = sizeof(ls);
	if (getsockname(c->ufd, (struct sockaddr *)&ls, &ll) < 0)
		ls.ss_family = AF_UNSPEC;
	if (proxy_socks_reply_(c->socks, UMPA_SOCKS5_OK, (struct sockaddr *)&ls) < 0) {
		plog(c->p, UMPA_PROXY_WARN, c->ci.id, "SOCKS5: cannot send the reply to the client");
		conn_free(c, END_ABORT);
		return;
	}
	proxy_socks_free_(c->socks);
	c->socks = NULL;
	if (c->p->o.mitm)
		peek_start(c);
	else
		plain_go(c, c->cfd);
}

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
			if (tls_own(c, 0) < 0)
				conn_free(c, END_ERROR);
			return;
		}
		c->connected = 1;
		tap_leg(c, 1, c->ufd);
		bufferevent_set_timeouts(c->side[1], NULL, NULL);
		plog(p, UMPA_PROXY_NOTE, c->ci.id, "connected to %s:%u%s", c->ci.dst, c->ci.dport,
		     c->is_tls && SSL_session_reused(bufferevent_openssl_get_ssl(bev)) ? " (TLS session resumed)" : "");
		if (c->socks) { /* SOCKS5: the client hears of it, then speaks */
			socks_connected(c);
			return;
		}
		if (c->is_tls) {
			/* the server's certificate is known: impersonate it towards the client */
			SSL *up = bufferevent_openssl_get_ssl(c->side[1]), *cl;
			X509 *real = SSL_get1_peer_certificate(up), *leaf;
			EVP_PKEY *key = NULL;
			struct umpa_err e = {0, ""};
			const struct proxy_static *st = NULL;
			for (unsigned i = 0; i < p->o.mitm->nstatics && !st; i++)
				if (umpa_proxy_host_match(p->o.mitm->statics[i].pattern, c->sni))
					st = &p->statics[i];
			leaf = st ? st->cert
				  : umpa_proxy_ca_leaf(p->o.mitm->ca, c->sni[0] ? c->sni : NULL, real, &key, &e);
			X509_free(real);
			cl = leaf ? SSL_new(p->ctx_cl) : NULL;
			if (cl && st && SSL_use_cert_and_key(cl, st->cert, st->key, st->chain, 1) != 1) {
				SSL_free(cl);
				cl = NULL;
			}
			if (!cl || (!st && (SSL_use_certificate(cl, leaf) != 1 || SSL_use_PrivateKey(cl, key) != 1))) {
				if (cl)
					SSL_free(cl);
				ERR_clear_error();
				plog(p, UMPA_PROXY_WARN, c->ci.id, "%s",
				     e.msg[0] ? e.msg : "cannot make the client's TLS");
				p->st.tls_failed++;
				conn_free(c, END_ERROR);
				return;
			}
			if (c->starttls == 1 && (c->cfd = starttls_detach(c, 0)) < 0) {
				SSL_free(cl);
				plog(p, UMPA_PROXY_WARN, c->ci.id, "STARTTLS: the answer to the client is not out yet");
				p->st.tls_failed++;
				conn_free(c, END_ERROR);
				return;
			}
			if (c->starttls == 1)
				c->starttls = 2;
			if (client_side(c, c->cfd, cl) < 0)
				return;
			c->cfd = -1;
		}
		relay_start(c);
		return;
	}
	if (s == 1 && !c->connected) {
		int err = what & BEV_EVENT_TIMEOUT ? 0 : EVUTIL_SOCKET_ERROR();
		if (what & BEV_EVENT_TIMEOUT)
			snprintf(why, sizeof(why), "connect timed out");
		else
			bev_error(bev, why, sizeof(why));
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream %s:%u: %s", c->ci.dst, c->ci.dport, why);
		if (c->is_tls)
			p->st.tls_failed++;
		upstream_failed(c, err);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		struct proxy_half *h = &c->half[s];
		h->eof = 1;
		tap_fin(c, s, s);
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
	if (ssl)
		tap_tls(c, 0, fd, ssl);
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
	if (!ssl && plain_side(c, 0) < 0) {
		conn_free(c, END_ERROR);
		return -1;
	}
	return 0;
}

/* Does a static certificate (mitm.statics) serve @p sni?  Then no leaf is made or looked up for it. */
static int static_for(const struct umpa_proxy *p, const char *sni)
{
	for (unsigned i = 0; i < p->o.mitm->nstatics; i++)
		if (umpa_proxy_host_match(p->o.mitm->statics[i].pattern, sni))
			return 1;
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
	if (p->slen && p->source.ss_family != c->dst.ss_family) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream %s:%u: the source address (-s) is of the other family",
		     c->ci.dst, c->ci.dport);
		if (ssl)
			SSL_free(ssl);
		upstream_failed(c, EAFNOSUPPORT);
		return;
	}
	ufd = socket(c->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ufd >= 0 && p->o.spoof_source) {
		struct umpa_err e = {0, ""};
		int rc = proxy_spoof_bind_(ufd, c->dst.ss_family, (struct sockaddr *)&c->csa, c->clen, &e);
		if (rc < 0) {
			plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream %s:%u: %s", c->ci.dst, c->ci.dport, e.msg);
			close(ufd);
			if (ssl)
				SSL_free(ssl);
			upstream_failed(c, rc == -UMPA_EINVAL ? EAFNOSUPPORT : EPERM);
			return;
		}
	}
	if (ufd < 0 || (p->slen && bind(ufd, (struct sockaddr *)&p->source, p->slen) < 0)) {
		int err = errno;
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream socket: %s", strerror(err));
		if (ufd >= 0)
			close(ufd);
		if (ssl)
			SSL_free(ssl);
		upstream_failed(c, err);
		return;
	}
	setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ufd = ufd;
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
	if (!ssl && plain_side(c, 1) < 0) {
		conn_free(c, END_ERROR);
		return;
	}
	if (c->side[0])
		side_read(c, 0, 0); /* until the upstream is connected */
	bufferevent_set_timeouts(c->side[1], NULL, &tv);
	if (bufferevent_socket_connect(c->side[1], (struct sockaddr *)&c->dst, (int)c->dlen) < 0) {
		int err = errno;
		plog(p, UMPA_PROXY_WARN, c->ci.id, "upstream %s:%u: %s", c->ci.dst, c->ci.dport, strerror(err));
		upstream_failed(c, err);
		return;
	}
	if (ssl) /* after the connect, which gave the SSL a socket BIO of libevent's: the tap's replaces it */
		tap_tls(c, 1, ufd, ssl);
}

void umpa_proxy_clienthello_sni(const uint8_t *b, size_t n, char *out, size_t outn)
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
		/* a protocol whose server speaks first (SMTP, IMAP, POP3, FTP): plaintext */
		plog(p, UMPA_PROXY_NOTE, c->ci.id, "client silent: plaintext, the server speaks first");
		event_free(c->peek);
		c->peek = NULL;
		plain_go(c, fd);
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
		plain_go(c, fd);
		return;
	}
	umpa_proxy_clienthello_sni(buf, (size_t)n, c->sni, sizeof(c->sni));
	for (unsigned i = 0; i < p->o.mitm->npassthrough; i++)
		if (umpa_proxy_host_match(p->o.mitm->passthrough[i], c->sni)) { /* relayed as it is */
			p->st.passthrough++;
			plog(p, UMPA_PROXY_NOTE, c->ci.id, "TLS ClientHello, SNI '%s': passed through", c->sni);
			plain_go(c, fd);
			return;
		}
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
		SSL_set1_host(up, c->sni[0] ? c->sni : c->ci.host[0] ? c->ci.host : c->ci.dst);
	up_resume(p, up, c->sni);
	if (p->o.mitm->sni_seen && c->sni[0] && !static_for(p, c->sni) &&
	    p->o.mitm->sni_seen(p->o.mitm->sni_arg, c->sni, c->ci.id) > 0) {
		c->gated = 1; /* a leaf kept elsewhere is looked up first: umpa_proxy_proceed goes on */
		c->gate_up = up;
		return;
	}
	if (c->connected) /* SOCKS5: the upstream was connected for the reply */
		upstream_upgrade(c, up, "TLS");
	else
		upstream_connect(c, up);
}

/* mitm: wait for the client's first bytes (peek_cb), at most opts.peek_timeout_ns. */
static void peek_start(struct proxy_conn *c)
{
	struct umpa_proxy *p = c->p;
	struct timeval tv = {(time_t)(p->o.peek_timeout_ns / 1000000000),
			     (suseconds_t)(p->o.peek_timeout_ns % 1000000000 / 1000)};
	if (!(c->peek = event_new(p->base, c->cfd, EV_READ | EV_PERSIST, peek_cb, c)) || event_add(c->peek, &tv) < 0)
		conn_free(c, END_ERROR);
}

/* The destination is known (and the hooks agreed): the client's leg, the upstream's. */
static void conn_go(struct proxy_conn *c)
{
	tap_leg(c, 0, c->cfd);
	if (c->socks) /* the SOCKS5 reply waits for the upstream connect */
		upstream_connect(c, NULL);
	else if (c->p->o.mitm)
		peek_start(c);
	else
		plain_go(c, c->cfd);
}

static void conn_set_dst(struct proxy_conn *c, const struct sockaddr *sa, socklen_t len)
{
	memcpy(&c->dst, sa, len);
	c->dlen = len;
	addr_text(sa, c->ci.dst, sizeof(c->ci.dst), &c->ci.dport);
}

/* A redirect's name resolved (or not). */
static void redirect_resolved(void *arg, const struct sockaddr *sa, socklen_t len, const char *why)
{
	struct proxy_conn *c = arg;
	c->dns = NULL;
	if (!sa) {
		plog(c->p, UMPA_PROXY_WARN, c->ci.id, "redirect: %s", why);
		upstream_failed(c, EHOSTUNREACH);
		return;
	}
	conn_set_dst(c, sa, len);
	plog(c->p, UMPA_PROXY_NOTE, c->ci.id, "redirected to %s:%u", c->ci.dst, c->ci.dport);
	conn_go(c);
}

/* The hooks' open (they may refuse it, or send it elsewhere: the target hook), then on. */
static void conn_open(struct proxy_conn *c)
{
	struct umpa_proxy *p = c->p;
	struct umpa_err e = {0, ""};
	char hp[300], host[256];
	uint16_t port;
	if (p->hooked && p->h.open && p->h.open(p->h.arg, &c->ci, &c->state, &e) < 0) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg);
		if (c->socks)
			proxy_socks_reply_(c->socks, UMPA_SOCKS5_NOT_ALLOWED, NULL);
		conn_free(c, END_ERROR);
		return;
	}
	if (p->hooked && p->h.target && p->h.target(p->h.arg, c->state, hp, sizeof(hp)) > 0) {
		if (umpa_proxy_split_hostport(hp, "redirect", host, sizeof(host), &port, &e) < 0 ||
		    !(c->dns = proxy_resolve_(p->base, &p->dns, host, port, p->slen ? p->source.ss_family : AF_UNSPEC,
					      redirect_resolved, c, &e))) {
			plog(p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg);
			upstream_failed(c, EHOSTUNREACH);
		}
		return;
	}
	conn_go(c);
}

/* Destination @p sa: opts.gate may make the connection wait (umpa_proxy_proceed), then conn_open. */
static void conn_begin(struct proxy_conn *c, const struct sockaddr *sa, socklen_t len)
{
	struct umpa_proxy *p = c->p;
	conn_set_dst(c, sa, len);
	if (p->o.gate && p->o.gate(p->o.gate_arg, c->ci.id) > 0) {
		c->gated = 1;
		return;
	}
	conn_open(c);
}

int umpa_proxy_proceed(struct umpa_proxy *p, uint64_t id)
{
	struct proxy_conn *c;
	for (c = p->conns; c; c = c->next)
		if (c->ci.id == id)
			break;
	if (!c || !c->gated)
		return -UMPA_ENOENT;
	c->gated = 0;
	if (c->gate_up) { /* the leaf lookup is over: the upstream's TLS */
		SSL *up = c->gate_up;
		c->gate_up = NULL;
		if (c->connected)
			upstream_upgrade(c, up, "TLS");
		else
			upstream_connect(c, up);
		return 0;
	}
	conn_open(c);
	return 0;
}

/* ---- SOCKS5 (proxy_socks.c negotiates) ---- */

static void socks_resolved(void *arg, const struct sockaddr *sa, socklen_t len, const char *why)
{
	struct proxy_conn *c = arg;
	c->dns = NULL;
	if (!sa) {
		plog(c->p, UMPA_PROXY_WARN, c->ci.id, "SOCKS5: '%s': %s", c->ci.host, why);
		proxy_socks_reply_(c->socks, UMPA_SOCKS5_HOST_UNREACH, NULL);
		conn_free(c, END_REFUSED);
		return;
	}
	conn_begin(c, sa, len);
}

static void socks_request(void *arg, const struct umpa_socks5_req *r)
{
	struct proxy_conn *c = arg;
	struct umpa_proxy *p = c->p;
	struct umpa_err e = {0, ""};
	plog(p, UMPA_PROXY_NOTE, c->ci.id, "SOCKS%u CONNECT %s%s%s:%u", r->ver, r->atyp == 4 ? "[" : "", r->host,
	     r->atyp == 4 ? "]" : "", r->port);
	if (r->alen) {
		conn_begin(c, (const struct sockaddr *)&r->addr, r->alen);
		return;
	}
	snprintf(c->ci.host, sizeof(c->ci.host), "%s", r->host);
	if (!(c->dns = proxy_resolve_(p->base, &p->dns, r->host, r->port, p->slen ? p->source.ss_family : AF_UNSPEC,
				      socks_resolved, c, &e))) {
		plog(p, UMPA_PROXY_WARN, c->ci.id, "SOCKS5: %s", e.msg);
		proxy_socks_reply_(c->socks, UMPA_SOCKS5_FAIL, NULL);
		conn_free(c, END_ERROR);
	}
}

static void socks_fail(void *arg, const char *why)
{
	struct proxy_conn *c = arg;
	plog(c->p, UMPA_PROXY_WARN, c->ci.id, "%s", why);
	conn_free(c, END_REJECTED);
}

static void socks_wire(void *arg, int sender, const void *d, size_t n)
{
	struct proxy_conn *c = arg;
	if (c->p->o.tap && !c->biotap[0])
		tap_bytes(c, 0, sender, d, n);
}

static const struct proxy_socks_ops_ socks_ops = {socks_request, socks_fail, socks_wire};

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct proxy_listener *pl = arg;
	struct umpa_proxy *p = pl->p;
	struct proxy_conn *c;
	struct umpa_err e = {0, ""};
	int i, one = 1;
	(void)l;
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
	c->ufd = -1;
	c->ci.id = ++p->next_id;
	c->started_ns = umpa_loop_wall_ns(p->loop);
	c->ci.listener = pl->index;
	addr_text(sa, c->ci.src, sizeof(c->ci.src), &c->ci.sport);
	if (salen > 0 && (size_t)salen <= sizeof(c->csa)) {
		memcpy(&c->csa, sa, (size_t)salen);
		c->clen = (socklen_t)salen;
	}
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
	switch (p->o.dest) {
	case UMPA_PROXY_DEST_TARGET:
		conn_begin(c, (struct sockaddr *)&p->target, p->tlen);
		return;
	case UMPA_PROXY_DEST_ORIGINAL: {
		struct sockaddr_storage od;
		socklen_t ol;
		if (proxy_original_dst_(fd, p->o.tproxy, &od, &ol, &e) < 0) {
			plog(p, UMPA_PROXY_WARN, c->ci.id, "%s", e.msg);
			conn_free(c, END_REJECTED);
			return;
		}
		conn_begin(c, (struct sockaddr *)&od, ol);
		return;
	}
	case UMPA_PROXY_DEST_SOCKS5:
		if (!(c->socks = proxy_socks_new_(p->base, fd, p->o.socks_user, p->o.socks_pass, p->o.socks_timeout_ns,
						  &socks_ops, c)))
			conn_free(c, END_ERROR);
		return;
	}
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

int umpa_proxy_host_match(const char *pattern, const char *host)
{
	size_t pl, hl;
	if (!strcmp(pattern, "*"))
		return 1;
	if (!host || !*host)
		return 0;
	if (!strncmp(pattern, "*.", 2)) {
		pl = strlen(pattern + 1); /* ".SUFFIX" */
		hl = strlen(host);
		return hl > pl && !strcasecmp(host + hl - pl, pattern + 1);
	}
	return !strcasecmp(pattern, host);
}

/* Read a static certificate (its chain after it) and key from PEM files. */
static int static_load(struct proxy_static *ps, const struct umpa_proxy_static *s, struct umpa_err *e)
{
	const char *kf = s->key_file ? s->key_file : s->cert_file;
	FILE *f = fopen(s->cert_file, "r");
	X509 *x;
	if (!f)
		return umpa_err_set(e, UMPA_EINVAL, "static-cert: %s: %s", s->cert_file, strerror(errno));
	ps->cert = PEM_read_X509(f, NULL, NULL, NULL);
	ps->chain = sk_X509_new_null();
	while (ps->cert && ps->chain && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(ps->chain, x);
	fclose(f);
	ERR_clear_error();
	if (!ps->cert || !ps->chain)
		return umpa_err_set(e, UMPA_EINVAL, "static-cert: %s: no PEM certificate in it", s->cert_file);
	if (!(f = fopen(kf, "r")))
		return umpa_err_set(e, UMPA_EINVAL, "static-cert: %s: %s", kf, strerror(errno));
	ps->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!ps->key)
		return umpa_err_set(e, UMPA_EINVAL, "static-cert: %s: no PEM private key in it", kf);
	if (X509_check_private_key(ps->cert, ps->key) != 1) {
		ERR_clear_error();
		return umpa_err_set(e, UMPA_EINVAL, "static-cert: the key in %s does not match %s", kf, s->cert_file);
	}
	return 0;
}

/* A listener for TPROXY rules (proxy_transparent_socket_).  NULL with @p e set. */
static struct evconnlistener *tproxy_listener(struct umpa_proxy *p, struct proxy_listener *pl, struct umpa_err *e)
{
	struct evconnlistener *l;
	int fd = proxy_transparent_socket_((struct sockaddr *)&pl->addr, pl->alen, p->o.listen[pl->index], e);
	if (fd < 0)
		return NULL;
	if (!(l = evconnlistener_new(p->base, accept_cb, pl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024,
				     fd))) {
		umpa_err_set(e, UMPA_EIO, "listen %s: %s", p->o.listen[pl->index], strerror(errno));
		close(fd);
	}
	return l;
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
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* a peer that closes without close_notify ends its direction (as libevent's dirty shutdown means), not
	 * the connection with an error (OpenSSL 3 reports it as one) */
	SSL_CTX_set_options(p->ctx_up, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_options(p->ctx_cl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_session_cache_mode(p->ctx_up, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(p->ctx_up, up_session_cb);
	SSL_CTX_set_default_read_buffer_len(p->ctx_up, TLS_RBUF); /* read ahead once the handshake is done */
	SSL_CTX_set_default_read_buffer_len(p->ctx_cl, TLS_RBUF);
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
	if (m->up_opts && umpa_tls_ctx_apply(p->ctx_up, m->up_opts, UMPA_TCPS_CLIENT,
					     m->up_opts->client_cert ? UMPA_TLS_CTX_CERT : 0, e) < 0) {
		umpa_err_prefix(e, "upstream-tls: ");
		return -UMPA_EINVAL;
	}
	if (m->cl_opts && umpa_tls_ctx_apply(p->ctx_cl, m->cl_opts, UMPA_TCPS_SERVER, 0, e) < 0) {
		umpa_err_prefix(e, "client-tls: ");
		return -UMPA_EINVAL;
	}
	if (m->nstatics && !(p->statics = calloc(m->nstatics, sizeof(*p->statics))))
		return umpa_err_set(e, UMPA_ENOMEM, "static-cert: out of memory");
	for (unsigned i = 0; i < m->nstatics; i++)
		if (static_load(&p->statics[i], &m->statics[i], e) < 0)
			return -UMPA_EINVAL;
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
	if (!o->target && o->dest == UMPA_PROXY_DEST_TARGET) {
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
	if (o->dest == UMPA_PROXY_DEST_TARGET && resolve(o->target, "target", 0, &p->target, &p->tlen, e) < 0)
		goto fail;
	if (o->source) {
		char buf[300];
		snprintf(buf, sizeof(buf), strchr(o->source, ':') ? "[%s]:0" : "%s:0", o->source);
		if (resolve(buf, "source", 1, &p->source, &p->slen, e) < 0)
			goto fail;
		if (o->dest == UMPA_PROXY_DEST_TARGET && p->source.ss_family != p->target.ss_family) {
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
		pl->l = o->tproxy
			    ? tproxy_listener(p, pl, e)
			    : evconnlistener_new_bind(base, accept_cb, pl,
						      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
						      1024, (struct sockaddr *)&pl->addr, (int)pl->alen);
		if (!pl->l && o->tproxy)
			goto fail;
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
	for (i = 0; i < UP_SESSIONS; i++)
		SSL_SESSION_free(p->ups[i].s);
	if (p->dns)
		evdns_base_free(p->dns, 0);
	SSL_CTX_free(p->ctx_up);
	SSL_CTX_free(p->ctx_cl);
	for (unsigned k = 0; p->statics && k < p->o.mitm->nstatics; k++) {
		X509_free(p->statics[k].cert);
		EVP_PKEY_free(p->statics[k].key);
		sk_X509_pop_free(p->statics[k].chain, X509_free);
	}
	free(p->statics);
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
