/* proxy_socks.c - SOCKS5 (RFC 1928, RFC 1929 username/password) and SOCKS4/4a: the codec of umpa_socks.h and
 * the negotiation on a client socket for umpa proxy --socks5 (proxy_internal.h); the first byte decides. */
#include "umpa_socks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy_internal.h"
#include "umpa_cursor.h"

long umpa_socks5_greeting(const uint8_t *b, size_t n, unsigned *methods)
{
	struct umpa_cur c;
	uint8_t ver, nm, m;
	umpa_cur_init(&c, b, n);
	*methods = 0;
	if (umpa_cur_u8_at(&c, 0, &ver) < 0)
		return 0;
	if (ver != 5) {
		*methods = ver;
		return -1;
	}
	if (umpa_cur_u8_at(&c, 1, &nm) < 0 || !umpa_cur_has(&c, 2, nm))
		return 0;
	for (unsigned i = 0; i < nm; i++)
		if (umpa_cur_u8_at(&c, 2 + i, &m) == 0 && m < 8)
			*methods |= 1u << m;
	return 2 + (long)nm;
}

/* A length-prefixed string at @p off into @p out (256 bytes).  Its end offset, 0 when more bytes are needed. */
static size_t lstring(struct umpa_cur *c, size_t off, char *out)
{
	uint8_t l;
	const uint8_t *p;
	if (umpa_cur_u8_at(c, off, &l) < 0 || umpa_cur_ptr_at(c, off + 1, l, &p) < 0)
		return 0;
	memcpy(out, p, l);
	out[l] = 0;
	return off + 1 + l;
}

long umpa_socks5_userpass(const uint8_t *b, size_t n, char *user, char *pass)
{
	struct umpa_cur c;
	uint8_t ver;
	size_t off;
	umpa_cur_init(&c, b, n);
	if (umpa_cur_u8_at(&c, 0, &ver) < 0)
		return 0;
	if (ver != 1)
		return -1;
	if (!(off = lstring(&c, 1, user)) || !(off = lstring(&c, off, pass)))
		return 0;
	return (long)off;
}

long umpa_socks5_request(const uint8_t *b, size_t n, struct umpa_socks5_req *r, uint8_t *rep)
{
	struct umpa_cur c;
	uint8_t ver, atyp, l;
	uint16_t port;
	const uint8_t *a;
	size_t alen;
	umpa_cur_init(&c, b, n);
	memset(r, 0, sizeof(*r));
	*rep = UMPA_SOCKS5_FAIL;
	if (umpa_cur_u8_at(&c, 0, &ver) < 0)
		return 0;
	if (ver != 5)
		return -1;
	r->ver = 5;
	if (umpa_cur_u8_at(&c, 1, &r->cmd) < 0 || umpa_cur_u8_at(&c, 3, &atyp) < 0)
		return 0;
	r->atyp = atyp;
	switch (atyp) {
	case 1:
		alen = 4;
		break;
	case 4:
		alen = 16;
		break;
	case 3:
		if (umpa_cur_u8_at(&c, 4, &l) < 0)
			return 0;
		if (l == 0)
			return -1; /* an empty name */
		alen = 1 + (size_t)l;
		break;
	default:
		*rep = UMPA_SOCKS5_ATYP_UNSUPP;
		return -1;
	}
	if (umpa_cur_ptr_at(&c, 4, alen, &a) < 0 || umpa_cur_be16_at(&c, 4 + alen, &port) < 0)
		return 0;
	r->port = port;
	if (atyp == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&r->addr;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons(port);
		r->alen = sizeof(*s4);
		inet_ntop(AF_INET, a, r->host, sizeof(r->host));
	} else if (atyp == 4) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&r->addr;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		s6->sin6_port = htons(port);
		r->alen = sizeof(*s6);
		inet_ntop(AF_INET6, a, r->host, sizeof(r->host));
	} else {
		for (size_t i = 1; i < alen; i++)
			if (a[i] <= ' ' || a[i] > '~')
				return -1; /* not a host name: no NUL, space or control byte reaches the resolver */
		memcpy(r->host, a + 1, alen - 1);
		r->host[alen - 1] = 0;
	}
	return (long)(4 + alen + 2);
}

size_t umpa_socks5_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bnd)
{
	size_t k = 4;
	out[0] = 5;
	out[1] = rep;
	out[2] = 0;
	if (bnd && bnd->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)bnd;
		out[3] = 4;
		memcpy(out + k, &s6->sin6_addr, 16);
		k += 16;
		memcpy(out + k, &s6->sin6_port, 2);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)bnd;
		out[3] = 1;
		if (bnd && bnd->sa_family == AF_INET) {
			memcpy(out + k, &s4->sin_addr, 4);
			memcpy(out + k + 4, &s4->sin_port, 2);
		} else {
			memset(out + k, 0, 6);
		}
		k += 4;
	}
	return k + 2;
}

/* A NUL-terminated string at @p off (at most 255 bytes before the NUL) into @p out (256 bytes).  Its end
 * offset (after the NUL), 0 when more bytes are needed, -1 when it is too long. */
static long zstring(struct umpa_cur *c, size_t off, char *out)
{
	uint8_t ch;
	for (size_t i = 0; i < 256; i++) {
		if (umpa_cur_u8_at(c, off + i, &ch) < 0)
			return 0;
		out[i] = (char)ch;
		if (!ch)
			return (long)(off + i + 1);
	}
	return -1;
}

long umpa_socks4_request(const uint8_t *b, size_t n, struct umpa_socks5_req *r)
{
	struct umpa_cur c;
	uint8_t ver;
	uint16_t port;
	const uint8_t *a;
	char user[256];
	long end;
	umpa_cur_init(&c, b, n);
	memset(r, 0, sizeof(*r));
	r->ver = 4;
	if (umpa_cur_u8_at(&c, 0, &ver) < 0)
		return 0;
	if (ver != 4)
		return -1;
	if (umpa_cur_u8_at(&c, 1, &r->cmd) < 0 || umpa_cur_be16_at(&c, 2, &port) < 0 ||
	    umpa_cur_ptr_at(&c, 4, 4, &a) < 0)
		return 0;
	if ((end = zstring(&c, 8, user)) <= 0)
		return end;
	r->port = port;
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] != 0) { /* 4a: the name follows */
		long hend = zstring(&c, (size_t)end, r->host);
		if (hend <= 0)
			return hend;
		if (!r->host[0])
			return -1;
		for (size_t i = 0; r->host[i]; i++)
			if ((uint8_t)r->host[i] <= ' ' || (uint8_t)r->host[i] > '~')
				return -1;
		r->atyp = 3;
		return hend;
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)&r->addr;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons(port);
		r->alen = sizeof(*s4);
		r->atyp = 1;
		inet_ntop(AF_INET, a, r->host, sizeof(r->host));
	}
	return end;
}

size_t umpa_socks4_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bnd)
{
	out[0] = 0;
	out[1] = rep == UMPA_SOCKS5_OK ? UMPA_SOCKS4_GRANTED : UMPA_SOCKS4_REJECTED;
	memset(out + 2, 0, 6);
	if (bnd && bnd->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)bnd;
		memcpy(out + 2, &s4->sin_port, 2);
		memcpy(out + 4, &s4->sin_addr, 4);
	}
	return 8;
}

uint8_t umpa_socks5_rep_for_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return UMPA_SOCKS5_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return UMPA_SOCKS5_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return UMPA_SOCKS5_HOST_UNREACH;
	case ETIMEDOUT:
		return UMPA_SOCKS5_TTL_EXPIRED;
	case EACCES:
	case EPERM:
		return UMPA_SOCKS5_NOT_ALLOWED;
	default:
		return UMPA_SOCKS5_FAIL;
	}
}

const char *umpa_socks5_rep_name(uint8_t rep)
{
	static const char *const names[] = {"succeeded",
					    "general SOCKS server failure",
					    "connection not allowed by ruleset",
					    "network unreachable",
					    "host unreachable",
					    "connection refused",
					    "TTL expired",
					    "command not supported",
					    "address type not supported"};
	return rep < sizeof(names) / sizeof(names[0]) ? names[rep] : "unassigned";
}

/* ---- the negotiation on a socket ---- */

enum socks_stage { ST_GREETING, ST_AUTH, ST_REQUEST, ST_DONE };

struct proxy_socks_ {
	int fd;
	struct event *ev;
	enum socks_stage stage;
	int v4; /* the client speaks SOCKS4 or 4a */
	const char *user, *pass;
	const struct proxy_socks_ops_ *ops;
	void *arg;
};

/* Write @p n bytes (a few dozen at most: a fresh socket's buffer takes them at once). */
static int socks_send(struct proxy_socks_ *s, const void *d, size_t n)
{
	ssize_t w = send(s->fd, d, n, MSG_NOSIGNAL);
	if (w != (ssize_t)n)
		return -1;
	s->ops->wire(s->arg, 1, d, n);
	return 0;
}

/* Take @p n bytes (peeked and parsed) out of the socket. */
static void socks_take(struct proxy_socks_ *s, const uint8_t *peeked, size_t n)
{
	uint8_t junk[600];
	if (n > sizeof(junk) || recv(s->fd, junk, n, 0) != (ssize_t)n)
		return; /* cannot happen for peeked bytes; the next read sees the rest */
	s->ops->wire(s->arg, 0, peeked, n);
}

/* The client gets a FIN after the last reply; what it sent meanwhile is read and dropped so the close sends no
 * reset (a reset could overtake the reply). */
static void socks_shut(struct proxy_socks_ *s)
{
	uint8_t junk[4096];
	shutdown(s->fd, SHUT_WR);
	for (int i = 0; i < 16; i++)
		if (recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
}

static void socks_fail(struct proxy_socks_ *s, const char *why)
{
	s->stage = ST_DONE;
	event_del(s->ev);
	s->ops->fail(s->arg, why);
}

static void socks_fail_reply(struct proxy_socks_ *s, uint8_t rep, const char *fmt, const char *detail)
{
	uint8_t out[32];
	char why[320];
	size_t n = s->v4 ? umpa_socks4_reply(out, rep, NULL) : umpa_socks5_reply(out, rep, NULL);
	snprintf(why, sizeof(why), fmt, detail);
	if (socks_send(s, out, n) == 0)
		socks_shut(s);
	socks_fail(s, why);
}

static void socks_read(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_socks_ *s = arg;
	uint8_t b[600];
	ssize_t n;
	long used;
	(void)fd;
	if (what & EV_TIMEOUT) {
		socks_fail(s, "SOCKS5: the client said nothing more for too long");
		return;
	}
	n = recv(s->fd, b, sizeof(b), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		socks_fail(s, n ? "SOCKS5: the client's socket failed"
				: "SOCKS5: the client closed during the negotiation");
		return;
	}
	while (n > 0 && s->stage != ST_DONE) {
		if (s->stage == ST_GREETING && b[0] == 4) { /* SOCKS4 / 4a: the request is all */
			struct umpa_socks5_req r;
			s->v4 = 1;
			if ((used = umpa_socks4_request(b, (size_t)n, &r)) == 0)
				return;
			if (used < 0) {
				socks_fail_reply(s, UMPA_SOCKS5_FAIL, "SOCKS4: bad request (%s)",
						 "a user id or name too long, or an unprintable name");
				return;
			}
			socks_take(s, b, (size_t)used);
			if (s->user) {
				socks_fail_reply(s, UMPA_SOCKS5_NOT_ALLOWED, "SOCKS4: refused (%s)",
						 "--socks5-auth demands a password, which SOCKS4 cannot carry");
				return;
			}
			if (r.cmd != 1) {
				socks_fail_reply(s, UMPA_SOCKS5_CMD_UNSUPP,
						 "SOCKS4: command %s not supported (only CONNECT)",
						 r.cmd == 2 ? "BIND" : "(unknown)");
				return;
			}
			s->stage = ST_DONE;
			event_del(s->ev);
			s->ops->request(s->arg, &r);
			return;
		} else if (s->stage == ST_GREETING) {
			unsigned methods;
			uint8_t want = s->user ? UMPA_SOCKS5_M_USERPASS : UMPA_SOCKS5_M_NONE, ans[2] = {5, 0};
			char why[96];
			if ((used = umpa_socks5_greeting(b, (size_t)n, &methods)) == 0)
				return;
			if (used < 0) {
				snprintf(why, sizeof(why),
					 "SOCKS: not a SOCKS5 greeting nor a SOCKS4 request (version byte %u)",
					 methods);
				socks_shut(s);
				socks_fail(s, why);
				return;
			}
			socks_take(s, b, (size_t)used);
			ans[1] = methods & (1u << want) ? want : UMPA_SOCKS5_M_NONE_OK;
			if (socks_send(s, ans, 2) < 0) {
				socks_fail(s, "SOCKS5: cannot answer the greeting");
				return;
			}
			if (ans[1] == UMPA_SOCKS5_M_NONE_OK) {
				socks_shut(s);
				socks_fail(s, s->user ? "SOCKS5: the client offers no username/password authentication"
						      : "SOCKS5: the client offers no method without authentication");
				return;
			}
			s->stage = want == UMPA_SOCKS5_M_USERPASS ? ST_AUTH : ST_REQUEST;
		} else if (s->stage == ST_AUTH) {
			char user[256], pass[256];
			uint8_t ans[2] = {1, 0};
			if ((used = umpa_socks5_userpass(b, (size_t)n, user, pass)) == 0)
				return;
			if (used < 0) {
				socks_shut(s);
				socks_fail(s, "SOCKS5: bad username/password request (version is not 1)");
				return;
			}
			socks_take(s, b, (size_t)used);
			ans[1] = strcmp(user, s->user) || strcmp(pass, s->pass ? s->pass : "") ? 1 : 0;
			if (socks_send(s, ans, 2) < 0 || ans[1]) {
				if (ans[1])
					socks_shut(s);
				socks_fail(s, ans[1] ? "SOCKS5: wrong username or password" : "SOCKS5: cannot answer");
				return;
			}
			s->stage = ST_REQUEST;
		} else {
			struct umpa_socks5_req r;
			uint8_t rep;
			if ((used = umpa_socks5_request(b, (size_t)n, &r, &rep)) == 0)
				return;
			if (used < 0) {
				socks_fail_reply(s, rep, "SOCKS5: bad request (%s)", umpa_socks5_rep_name(rep));
				return;
			}
			socks_take(s, b, (size_t)used);
			if (r.cmd != 1) {
				socks_fail_reply(s, UMPA_SOCKS5_CMD_UNSUPP,
						 "SOCKS5: command %s not supported (only CONNECT)",
						 r.cmd == 2   ? "BIND"
						 : r.cmd == 3 ? "UDP ASSOCIATE"
							      : "(unknown)");
				return;
			}
			s->stage = ST_DONE;
			event_del(s->ev);
			s->ops->request(s->arg, &r);
			return;
		}
		/* the next message may be here already */
		n = recv(s->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	}
}

struct proxy_socks_ *proxy_socks_new_(struct event_base *base, int fd, const char *user, const char *pass,
				      int64_t timeout_ns, const struct proxy_socks_ops_ *ops, void *arg)
{
	struct proxy_socks_ *s = calloc(1, sizeof(*s));
	struct timeval tv = {(time_t)(timeout_ns / 1000000000), (suseconds_t)(timeout_ns % 1000000000 / 1000)};
	if (!s)
		return NULL;
	s->fd = fd;
	s->user = user;
	s->pass = pass;
	s->ops = ops;
	s->arg = arg;
	if (!(s->ev = event_new(base, fd, EV_READ | EV_PERSIST, socks_read, s)) || event_add(s->ev, &tv) < 0) {
		proxy_socks_free_(s);
		return NULL;
	}
	return s;
}

int proxy_socks_reply_(struct proxy_socks_ *s, uint8_t rep, const struct sockaddr *bnd)
{
	uint8_t out[32];
	size_t n = s->v4 ? umpa_socks4_reply(out, rep, bnd) : umpa_socks5_reply(out, rep, bnd);
	if (socks_send(s, out, n) < 0)
		return -1;
	if (rep != UMPA_SOCKS5_OK)
		socks_shut(s);
	return 0;
}

void proxy_socks_free_(struct proxy_socks_ *s)
{
	if (!s)
		return;
	if (s->ev)
		event_free(s->ev);
	free(s);
}
