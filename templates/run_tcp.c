/* run_tcp.c - TCP and TLS services of templates: tcp.listen, tcp.connect, tls.serve (see templates/README.md).
 *
 * A listener is a port (and optionally the addresses it answers for); every
 * SYN to it makes one userland TCP endpoint (sched/umpa_tcpend.h) on the
 * run's loop, live or virtual, so the same template serves a real client
 * and, offline, a recorded one.  Received packets find their connection
 * through a hash of (family, local address and port, remote address and
 * port); a segment for a listened port and no connection is answered with a
 * RST by a closed endpoint, as a kernel does.  What an endpoint sends goes
 * through the run's send path (counted, written to -w with "reply to frame
 * K" comments).
 *
 * The sequence number of a connection's SYN+ACK, its IP ids and its
 * timestamp base come from a seed that is a hash of the SYN (addresses,
 * ports, sequence number): a recorded client replayed offline is answered
 * with the sequence numbers the live run used, so its acknowledgements fit.
 *
 * The template sees a connection object once the handshake completes (the
 * listener's function is called with it).  Callbacks the endpoint makes
 * while a segment is being handled (data, EOF, the handshake) may call
 * close() and reset(): those take effect after the segment has been
 * handled.  A connection is freed (and its object goes dead: write returns
 * nil, "closed") once it is closed, reset or timed out and its on_close
 * has run.
 *
 * tls.serve(conn, opts) puts the server side of the TLS pump
 * (umpa_tls_live) on a connection: its data callback then gets the
 * plaintext, write() encrypts, close() sends close_notify first.  The pump
 * (certificate, keys, contexts) is built once per option table (cached
 * while the table lives), so many connections share one key generation.
 * The session's secrets go to --keylog and into the output's Decryption
 * Secrets Block before the records they protect.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_internal.h"
#include "run_internal.h"
#include "umpa_cursor.h"
#include "umpa_persona.h"
#include "umpa_protos.h"
#include "umpa_tcpend.h"
#include "umpa_tls.h"

#define MT_CONN "umpa.run.conn"
/** Most connections a run holds at once (half-open included): a SYN beyond is dropped and counted. */
#define TCP_MAX_CONNS 65536
/** Most bytes a connection holds beyond the endpoint's send buffer. */
#define CONN_PEND_MAX (64u << 20)
/** Most addresses one listener answers for. */
#define LS_MAX_ADDRS 16

struct rt_listener {
	struct umpa_run *r;
	int id;
	uint16_t port;
	int ref; /* accept function */
	size_t naddr;
	struct {
		int v6;
		uint8_t a[16];
		unsigned plen; /* prefix length in bits (32 or 128: one address) */
	} addr[LS_MAX_ADDRS];  /* none: any address */
	struct umpa_tcpe_opts o;
	unsigned given; /* GIVEN_* the template set: a personality does not change them */
	int has_mac;
	uint8_t ttl; /* TTL / hop limit of its connections' segments (0: the stack's, or the personality's) */
	struct rt_listener *next;
};

struct rt_conn {
	struct umpa_run *r;
	struct umpa_tcpe *ep;
	int v6;
	uint8_t la[16], ra[16];
	uint16_t lp, rp;
	size_t ifidx;
	int ls_ref; /* the listener's accept function (LUA_NOREF for connect) */
	int ud_ref; /* the Lua object, while the connection lives */
	int ref_data, ref_eof, ref_close, ref_tls;
	int accepted, dead, in_input, want_close, want_reset, shut, fin_after_pend, told_close;
	int outgoing; /* made by tcp.connect: owns ls_ref, tells on_close also when it never connected */
	int persona;  /* the local address had a personality when made: its segments are shaped */
	uint8_t ttl;  /* TTL / hop limit the template gave (0: the stack's, or the personality's) */
	const char *why;
	uint8_t *pend; /* written beyond the endpoint's send buffer */
	size_t npend;
	struct umpa_tls_live *tls;
	int pump_ref;
	struct rt_conn *next, *prev, *hnext;
	struct rt_conn *dnext; /* on the list of connections to free */
};

struct rt_tcp {
	struct rt_listener *ls;
	int nls;
	struct rt_conn *all, *tail; /* newest first */
	struct rt_conn *dead;       /* over, to be freed */
	struct rt_conn **h;
	size_t hcap, n;
	struct umpa_timer *reap_tm;
	int cache_ref; /* weak table: option table -> pump */
};

struct conn_ud {
	struct rt_conn *c;
};

static uint64_t fnv_(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static uint64_t key_hash_(int v6, const uint8_t *la, uint16_t lp, const uint8_t *ra, uint16_t rp)
{
	uint64_t h = 1469598103934665603ull;
	size_t al = v6 ? 16 : 4;
	uint8_t pp[5] = {(uint8_t)v6, (uint8_t)(lp >> 8), (uint8_t)lp, (uint8_t)(rp >> 8), (uint8_t)rp};

	h = fnv_(h, la, al);
	h = fnv_(h, ra, al);
	return fnv_(h, pp, sizeof(pp));
}

static struct rt_tcp *tcp_of_(struct umpa_run *r)
{
	if (!r->tcp) {
		r->tcp = calloc(1, sizeof(*r->tcp));
		if (r->tcp)
			r->tcp->cache_ref = LUA_NOREF;
	}
	return r->tcp;
}

static struct rt_conn *conn_find_(struct rt_tcp *T, int v6, const uint8_t *la, uint16_t lp, const uint8_t *ra,
				  uint16_t rp)
{
	size_t al = v6 ? 16 : 4;

	if (!T->hcap)
		return NULL;
	for (struct rt_conn *c = T->h[key_hash_(v6, la, lp, ra, rp) & (T->hcap - 1)]; c; c = c->hnext)
		if (c->v6 == v6 && c->lp == lp && c->rp == rp && !memcmp(c->la, la, al) && !memcmp(c->ra, ra, al))
			return c;
	return NULL;
}

static int hash_add_(struct rt_tcp *T, struct rt_conn *c)
{
	if ((T->n + 1) * 2 > T->hcap) {
		size_t nc = T->hcap ? T->hcap * 2 : 256;
		struct rt_conn **nh = calloc(nc, sizeof(*nh));
		if (!nh)
			return -1;
		for (struct rt_conn *x = T->all; x; x = x->next) {
			size_t j = key_hash_(x->v6, x->la, x->lp, x->ra, x->rp) & (nc - 1);
			x->hnext = nh[j];
			nh[j] = x;
		}
		free(T->h);
		T->h = nh;
		T->hcap = nc;
	}
	{
		size_t j = key_hash_(c->v6, c->la, c->lp, c->ra, c->rp) & (T->hcap - 1);
		c->hnext = T->h[j];
		T->h[j] = c;
	}
	c->next = T->all;
	c->prev = NULL;
	if (T->all)
		T->all->prev = c;
	else
		T->tail = c;
	T->all = c;
	T->n++;
	return 0;
}

static void conn_unlink_(struct rt_tcp *T, struct rt_conn *c)
{
	size_t j = key_hash_(c->v6, c->la, c->lp, c->ra, c->rp) & (T->hcap - 1);

	for (struct rt_conn **pp = &T->h[j]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (c->prev)
		c->prev->next = c->next;
	else
		T->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		T->tail = c->prev;
	T->n--;
	for (struct rt_conn **pp = &T->dead; *pp; pp = &(*pp)->dnext) /* short: reaped after each packet */
		if (*pp == c) {
			*pp = c->dnext;
			break;
		}
}

/* Free @p c: the endpoint, the TLS session, the Lua references (its object goes dead). */
static void conn_free_(struct umpa_run *r, struct rt_conn *c)
{
	lua_State *L = r->L;

	umpa_tcpe_free(c->ep);
	umpa_tls_live_free(c->tls);
	if (L) {
		if (c->ud_ref != LUA_NOREF) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, c->ud_ref);
			((struct conn_ud *)lua_touserdata(L, -1))->c = NULL;
			lua_pop(L, 1);
		}
		luaL_unref(L, LUA_REGISTRYINDEX, c->ud_ref);
		luaL_unref(L, LUA_REGISTRYINDEX, c->ref_data);
		luaL_unref(L, LUA_REGISTRYINDEX, c->ref_eof);
		luaL_unref(L, LUA_REGISTRYINDEX, c->ref_close);
		luaL_unref(L, LUA_REGISTRYINDEX, c->ref_tls);
		luaL_unref(L, LUA_REGISTRYINDEX, c->pump_ref);
		if (c->outgoing)
			luaL_unref(L, LUA_REGISTRYINDEX, c->ls_ref);
	}
	free(c->pend);
	free(c);
}

/* Free the connections that are over (not while one is handling a segment). */
static void reap_(struct umpa_run *r)
{
	struct rt_tcp *T = r->tcp;
	struct rt_conn **pp;

	if (!T)
		return;
	pp = &T->dead;
	while (*pp) {
		struct rt_conn *c = *pp;
		if (c->in_input) {
			pp = &c->dnext;
			continue;
		}
		*pp = c->dnext;
		c->dnext = NULL;
		conn_unlink_(T, c);
		conn_free_(r, c);
	}
}

static void reap_cb_(struct umpa_loop *loop, void *arg)
{
	struct umpa_run *r = arg;

	(void)loop;
	r->tcp->reap_tm = NULL;
	reap_(r);
}

static void reap_later_(struct umpa_run *r)
{
	struct umpa_err e = {0};

	if (!r->tcp->reap_tm)
		r->tcp->reap_tm = umpa_after(r->loop, 0, reap_cb_, r, &e);
}

/* @p c is over (@p why): freed after the current packet or timer. */
static void mark_dead_(struct rt_conn *c, const char *why)
{
	struct rt_tcp *T = c->r->tcp;

	if (c->dead)
		return;
	c->dead = 1;
	c->why = why;
	c->dnext = T->dead;
	T->dead = c;
	reap_later_(c->r);
}

/* ---- personalities ---- */

/* Endpoint settings a template gave explicitly (kept when a personality is applied). */
#define GIVEN_MSS 1u
#define GIVEN_WSCALE 2u
#define GIVEN_RWND 4u
#define GIVEN_SACKOK 8u
#define GIVEN_TS 16u

/* Which of the settings table at @p idx names. */
static unsigned given_(lua_State *L, int idx)
{
	static const char *const k[] = {"mss", "wscale", "rwnd", "sackok", "timestamps"};
	unsigned g = 0;

	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (lua_getfield(L, idx, k[i]) != LUA_TNIL)
			g |= 1u << i;
		lua_pop(L, 1);
	}
	return g;
}

/*
 * When the local address of @p o has a personality bound in the run, take
 * its MSS, window scale, SACK, timestamps and window (the settings in
 * @p given stay as the template gave them).  Returns 1 when one is bound.
 */
static int persona_opts_(struct umpa_run *r, struct umpa_tcpe_opts *o, unsigned given)
{
	struct umpa_persona_set *s = umpa_run_personas(r);
	const struct umpa_persona *p;
	struct umpa_tcpe_opts u = *o;
	uint32_t max;

	if (!s || !umpa_persona_count(s) || !(p = umpa_persona_find(s, o->ipv6 ? AF_INET6 : AF_INET, o->addr[0])))
		return 0;
	umpa_persona_tcpe_opts(p, o);
	if (given & GIVEN_MSS)
		o->mss = u.mss;
	if (given & GIVEN_WSCALE)
		o->wscale = u.wscale;
	if (given & GIVEN_RWND)
		o->rwnd = u.rwnd;
	if (given & GIVEN_SACKOK)
		o->sackok = u.sackok;
	if (given & GIVEN_TS)
		o->timestamps = u.timestamps;
	max = 65535u << (o->wscale > 0 ? o->wscale : 0);
	if (o->rwnd > max)
		o->rwnd = max;
	return 1;
}

/* ---- the endpoint's callbacks ---- */

/* Give segment @p p the TTL (IPv4) or hop limit (IPv6) @p ttl, marked as set. */
static int conn_ttl_(struct umpa_pkt *p, uint8_t ttl, struct umpa_err *e)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr != &umpa_proto_ip && pr != &umpa_proto_ipv6)
			continue;
		if (umpa_field_set_u64(p, i, umpa_proto_field(pr, pr == &umpa_proto_ip ? "ttl" : "hlim"), ttl, e) < 0)
			return -1;
		return umpa_pkt_finish(p, e);
	}
	return 0;
}

static int conn_emit_(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct rt_conn *c = arg;
	struct umpa_pkt q;
	int rc;

	umpa_pkt_init(&q);
	if ((rc = umpa_pkt_dup(&q, p, e)) == 0) {
		struct umpa_persona_set *s = umpa_run_personas(c->r);
		if (c->persona && s)
			umpa_persona_unset_shaped(
			    s, &q); /* TTL, ID, DF, option layout, a SYN's window: xmit shapes them */
		if (c->ttl)
			rc = conn_ttl_(&q, c->ttl, e); /* set: a personality leaves it */
		if (rc == 0)
			rc = umpa_run_xmit_(c->r, &q, c->ifidx, e);
	}
	umpa_pkt_release(&q);
	return rc;
}

/* Push the connection's Lua object (made on first use). */
static void push_conn_(lua_State *L, struct rt_conn *c)
{
	if (c->ud_ref == LUA_NOREF) {
		struct conn_ud *u = lua_newuserdatauv(L, sizeof(*u), 0);
		u->c = c;
		luaL_setmetatable(L, MT_CONN);
		lua_pushvalue(L, -1);
		c->ud_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, c->ud_ref);
}

static void push_report_(lua_State *L, const struct umpa_tls_report *rp);

struct call_args_ {
	struct rt_conn *c;
	int ref;
	const void *d; /* bytes to pass, or NULL */
	size_t n;
	const char *s;                     /* a string to pass, or NULL */
	const struct umpa_tls_report *rep; /* a report to pass, or NULL */
};

/* Protected: push the function, the connection and the extra argument (pushing may run out of memory). */
static int push_args_p_(lua_State *L)
{
	const struct call_args_ *a = lua_touserdata(L, 1);

	lua_settop(L, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
	push_conn_(L, a->c);
	if (a->d)
		lua_pushlstring(L, a->d, a->n);
	else if (a->s)
		lua_pushstring(L, a->s);
	else if (a->rep)
		push_report_(L, a->rep);
	return lua_gettop(L);
}

/* Call function @p a->ref (if any) with the connection and one more argument, as a callback of the run. */
static void call_conn_(const struct call_args_ *a, const char *what)
{
	struct umpa_run *r = a->c->r;
	lua_State *L = r->L;
	int top = lua_gettop(L), st;

	if (a->ref == LUA_NOREF || r->stopped)
		return;
	lua_pushcfunction(L, push_args_p_);
	lua_pushlightuserdata(L, (void *)(uintptr_t)a);
	if ((st = lua_pcall(L, 1, LUA_MULTRET, 0)) != LUA_OK) {
		struct umpa_err e = {0};
		umpa_err_set(&e, st == LUA_ERRMEM ? UMPA_ENOMEM : UMPA_EINVAL, "%s: %s", what,
			     lua_isstring(L, -1) ? lua_tostring(L, -1) : "cannot call");
		lua_settop(L, top);
		umpa_run_cb_failed_(r, &e);
		return;
	}
	umpa_run_call_(r, lua_gettop(L) - top - 1, what);
	lua_settop(L, top);
}

/* call_conn_ with nothing, bytes or a string after the connection. */
static void call_(struct rt_conn *c, int ref, const char *what, const void *d, size_t n, const char *s)
{
	struct call_args_ a = {c, ref, d, n, s, NULL};

	call_conn_(&a, what);
}

/* Bytes for the wire: into the endpoint, what does not fit held until it acknowledges. */
static int conn_raw_write_(struct rt_conn *c, const uint8_t *d, size_t n, struct umpa_err *e)
{
	int64_t k = 0;

	if (!c->npend) {
		k = umpa_tcpe_write(c->ep, d, n, e);
		if (k < 0)
			return (int)k;
	}
	if ((size_t)k < n) {
		uint8_t *p;
		if (c->npend + (n - (size_t)k) > CONN_PEND_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "tcp: more than %u MiB written and not acknowledged",
					    CONN_PEND_MAX >> 20);
		if (!(p = realloc(c->pend, c->npend + (n - (size_t)k))))
			return umpa_err_set(e, UMPA_ENOMEM, "tcp: out of memory");
		memcpy(p + c->npend, d + k, n - (size_t)k);
		c->pend = p;
		c->npend += n - (size_t)k;
	}
	return 0;
}

/* Our side is done: close_notify (TLS), then the FIN once everything held is in the endpoint. */
static void conn_close_now_(struct rt_conn *c)
{
	struct umpa_err e = {0};

	if (c->shut || c->dead)
		return;
	c->shut = 1;
	if (c->tls && umpa_tls_live_close(c->tls, &e) < 0) {
		umpa_run_cb_failed_(c->r, &e);
		return;
	}
	if (c->npend) {
		c->fin_after_pend = 1;
		return;
	}
	if (umpa_tcpe_shutdown(c->ep, &e) < 0 && umpa_tcpe_state(c->ep) != UMPA_TCPE_ST_CLOSED)
		umpa_run_cb_failed_(c->r, &e);
}

static void conn_reset_now_(struct rt_conn *c)
{
	struct umpa_err e = {0};

	if (c->dead)
		return;
	if (umpa_tcpe_abort(c->ep, &e) < 0)
		umpa_run_cb_failed_(c->r, &e);
	mark_dead_(c, "aborted");
}

/* The peer sends nothing more (FIN, or close_notify): its on_eof, or by default we close too. */
static void conn_eof_(struct rt_conn *c)
{
	if (c->ref_eof != LUA_NOREF)
		call_(c, c->ref_eof, "tcp eof", NULL, 0, NULL);
	else if (c->in_input)
		c->want_close = 1;
	else
		conn_close_now_(c);
}

static void conn_data_(void *arg, const uint8_t *d, size_t n)
{
	struct rt_conn *c = arg;
	struct umpa_err e = {0};

	if (c->dead)
		return;
	if (c->tls) {
		if (umpa_tls_live_input(c->tls, d, n, &e) < 0)
			umpa_run_cb_failed_(c->r, &e);
		return;
	}
	call_(c, c->ref_data, "tcp data", d, n, NULL);
}

static void conn_event_(void *arg, enum umpa_tcpe_event ev)
{
	struct rt_conn *c = arg;
	struct umpa_err e = {0};

	switch (ev) {
	case UMPA_TCPE_CONNECTED:
		if (c->accepted)
			return;
		c->accepted = 1;
		umpa_run_count_(c->r, c->outgoing ? "tcp.connected" : "tcp.accepted", 1);
		call_(c, c->ls_ref, "tcp accept", NULL, 0, NULL);
		return;
	case UMPA_TCPE_EOF:
		if (!c->tls)
			conn_eof_(c);
		else if (c->in_input)
			c->want_close = 1; /* a FIN without close_notify */
		else
			conn_close_now_(c);
		return;
	case UMPA_TCPE_SENT:
		if (c->npend) {
			uint8_t *p = c->pend;
			size_t n = c->npend;
			c->pend = NULL;
			c->npend = 0;
			if (conn_raw_write_(c, p, n, &e) < 0)
				umpa_run_cb_failed_(c->r, &e);
			free(p);
			if (!c->npend && c->fin_after_pend) {
				c->fin_after_pend = 0;
				if (umpa_tcpe_shutdown(c->ep, &e) < 0)
					umpa_run_cb_failed_(c->r, &e);
			}
		}
		return;
	case UMPA_TCPE_CLOSED:
	case UMPA_TCPE_RESET:
	case UMPA_TCPE_TIMEOUT:
		if (c->dead)
			return;
		mark_dead_(c, ev == UMPA_TCPE_CLOSED ? "closed" : ev == UMPA_TCPE_RESET ? "reset" : "timeout");
		umpa_run_count_(c->r,
				ev == UMPA_TCPE_CLOSED  ? "tcp.closed"
				: ev == UMPA_TCPE_RESET ? "tcp.reset"
							: "tcp.timeout",
				1);
		if ((c->accepted || c->outgoing) && !c->told_close) {
			c->told_close = 1;
			call_(c, c->ref_close, "tcp close", NULL, 0, c->why);
		}
		return;
	}
}

/* ---- TLS on a connection ---- */

static int tls_out_(void *arg, const uint8_t *d, size_t n, struct umpa_err *e)
{
	struct rt_conn *c = arg;

	if (c->dead)
		return 0;
	return conn_raw_write_(c, d, n, e);
}

static void tls_data_(void *arg, const uint8_t *d, size_t n)
{
	struct rt_conn *c = arg;

	call_(c, c->ref_data, "tls data", d, n, NULL);
}

static void tls_event_(void *arg, enum umpa_tls_live_event ev)
{
	struct rt_conn *c = arg;

	switch (ev) {
	case UMPA_TLS_LIVE_HANDSHAKE:
		umpa_run_count_(c->r, "tls.handshakes", 1);
		{
			struct call_args_ a = {c, c->ref_tls, NULL, 0, NULL, umpa_tls_live_report(c->tls)};
			call_conn_(&a, "tls handshake");
		}
		return;
	case UMPA_TLS_LIVE_FAILED: {
		struct umpa_sbuf b = {0};
		umpa_run_count_(c->r, "tls.failed", 1);
		umpa_sbuf_printf(&b, "tls: connection from port %u: ", c->rp);
		umpa_sbuf_put_safe(&b, umpa_tls_live_report(c->tls)->error,
				   strlen(umpa_tls_live_report(c->tls)->error));
		if (b.s)
			umpa_run_log_(c->r, UMPA_RUN_INFO, b.s);
		umpa_sbuf_free(&b);
		if (c->in_input)
			c->want_close = 1;
		else
			conn_close_now_(c);
		return;
	}
	case UMPA_TLS_LIVE_CLOSE_NOTIFY:
		conn_eof_(c);
		return;
	}
}

static void tls_keylog_(void *arg, const char *line)
{
	struct rt_conn *c = arg;

	umpa_run_keylog_(c->r, line);
}

/* ---- received segments ---- */

/* Feed @p p to connection @p c; then what its callbacks asked for. */
static void conn_input_(struct rt_conn *c, const struct umpa_pkt *p)
{
	struct umpa_err e = {0};

	c->in_input = 1;
	if (umpa_tcpe_input(c->ep, p, &e) < 0)
		umpa_run_cb_failed_(c->r, &e);
	c->in_input = 0;
	if (c->want_reset)
		conn_reset_now_(c);
	else if (c->want_close)
		conn_close_now_(c);
	c->want_reset = c->want_close = 0;
	if (umpa_tcpe_state(c->ep) == UMPA_TCPE_ST_CLOSED && !c->dead)
		mark_dead_(c, "reset"); /* ended without an event */
}

static const struct rt_listener *ls_find_(const struct rt_tcp *T, int v6, const uint8_t *dst, uint16_t port)
{
	for (const struct rt_listener *l = T->ls; l; l = l->next) {
		if (l->port != port)
			continue;
		if (!l->naddr)
			return l;
		for (size_t i = 0; i < l->naddr; i++) {
			unsigned b = l->addr[i].plen, k = b / 8;
			if (l->addr[i].v6 == v6 && !memcmp(l->addr[i].a, dst, k) &&
			    (b % 8 == 0 || !((l->addr[i].a[k] ^ dst[k]) & (0xff00 >> (b % 8)))))
				return l;
		}
	}
	return NULL;
}

/*
 * At the connection limit, make room for a new SYN: free the oldest
 * connection that is over (TIME-WAIT, or dead and not yet reaped), else the
 * oldest half-open one (SYN_RCVD: a SYN flood's).  Established connections
 * are never taken.  Returns 0, or -1 when none can go.
 */
static int evict_(struct umpa_run *r)
{
	struct rt_tcp *T = r->tcp;
	struct rt_conn *half = NULL, *c;
	size_t k = 0;

	/* oldest first; in a flood the oldest is eligible at once, so the walk is short (and bounded) */
	for (c = T->tail; c && k < 4096; c = c->prev, k++) {
		enum umpa_tcpe_state st = umpa_tcpe_state(c->ep);
		if (c->in_input)
			continue;
		if (c->dead || st == UMPA_TCPE_ST_TIME_WAIT)
			break;
		if (st == UMPA_TCPE_ST_SYN_RCVD && !half)
			half = c;
	}
	if (!c || k == 4096)
		c = half;
	if (!c)
		return -1;
	umpa_run_count_(r, "tcp.evicted", 1);
	conn_unlink_(T, c);
	conn_free_(r, c);
	return 0;
}

/*
 * A segment to listener @p ls's port that belongs to no connection and is
 * one of nmap's open-port probes (no flags, SYN+FIN, a bare ACK): when its
 * address has a personality, that answers it (or stays silent) as its
 * stack does; then 1.  0: no personality, or another segment (the
 * endpoint handles it).
 */
static int open_probe_(struct umpa_run *r, const struct rt_listener *ls, const struct umpa_pkt *p, size_t ifidx)
{
	struct umpa_persona_set *s = umpa_run_personas(r);
	struct umpa_err e = {0};
	struct umpa_pkt q;
	int rc;

	if (!s || !umpa_persona_count(s))
		return 0;
	umpa_pkt_init(&q);
	rc = umpa_persona_open_probe(s, p, &q, &e);
	if (rc == 1) {
		umpa_run_count_(r, "tcp.probes", 1);
		if ((ls->ttl && conn_ttl_(&q, ls->ttl, &e) < 0) || umpa_run_xmit_(r, &q, ifidx, &e) < 0)
			umpa_run_cb_failed_(r, &e);
	} else if (rc == 0) {
		umpa_run_count_(r, "tcp.probes", 1);
	} else if (rc < -1) {
		umpa_run_cb_failed_(r, &e);
	}
	umpa_pkt_release(&q);
	return rc >= 0;
}

void umpa_run_tcp_input_(struct umpa_run *r, const struct umpa_pkt *p, size_t ifidx)
{
	struct rt_tcp *T = r->tcp;
	int li = umpa_pkt_find(p, &umpa_proto_tcp, 0), l3 = -1, v6 = 0;
	const uint8_t *src, *dst, *emac = NULL;
	uint16_t sport, dport;
	uint8_t fl;
	uint32_t seq;
	struct umpa_cur cu;
	struct rt_conn *c;
	const struct rt_listener *ls;
	struct umpa_err e = {0};

	if (li < 0 || !T)
		return;
	for (int i = li - 1; i >= 0 && l3 < 0; i--) {
		if (p->l[i].proto == &umpa_proto_ip)
			l3 = i;
		else if (p->l[i].proto == &umpa_proto_ipv6)
			l3 = i, v6 = 1;
	}
	if (l3 < 0)
		return;
	umpa_layer_cur(p, (unsigned)l3, &cu);
	if (umpa_cur_ptr_at(&cu, v6 ? 8 : 12, v6 ? 16 : 4, &src) < 0 ||
	    umpa_cur_ptr_at(&cu, v6 ? 24 : 16, v6 ? 16 : 4, &dst) < 0)
		return;
	umpa_layer_cur(p, (unsigned)li, &cu);
	if (umpa_cur_be16_at(&cu, 0, &sport) < 0 || umpa_cur_be16_at(&cu, 2, &dport) < 0 ||
	    umpa_cur_be32_at(&cu, 4, &seq) < 0 || umpa_cur_u8_at(&cu, 13, &fl) < 0)
		return;
	if ((c = conn_find_(T, v6, dst, dport, src, sport)) && !c->dead) {
		conn_input_(c, p);
		reap_(r);
		return;
	}
	if (!(ls = ls_find_(T, v6, dst, dport)) || (fl & 0x04))
		return; /* not ours, or a RST: nothing to answer */
	if (open_probe_(r, ls, p, ifidx))
		return; /* nmap's T2/T3/T4: what the address's personality answers (or not) */
	if (p->nlayers && p->l[0].proto == &umpa_proto_eth) {
		umpa_layer_cur(p, 0, &cu);
		if (umpa_cur_ptr_at(&cu, 0, 6, &emac) < 0)
			emac = NULL;
	}
	{
		struct umpa_tcpe_opts o = ls->o;
		struct umpa_tcpe_cbs cb = {conn_emit_, conn_data_, conn_event_, NULL};
		int syn = (fl & 0x12) == 0x02;

		o.ipv6 = v6;
		memcpy(o.addr[0], dst, v6 ? 16 : 4);
		o.port[0] = dport;
		if (!ls->has_mac && emac)
			memcpy(o.mac[0], emac, 6); /* answer from the address the peer sent to */
		if (syn && T->n >= TCP_MAX_CONNS && evict_(r) < 0) {
			umpa_run_count_(r, "tcp.dropped", 1);
			return;
		}
		if (!(c = calloc(1, sizeof(*c)))) {
			umpa_err_set(&e, UMPA_ENOMEM, "tcp: out of memory");
			umpa_run_cb_failed_(r, &e);
			return;
		}
		c->r = r;
		c->v6 = v6;
		memcpy(c->la, dst, v6 ? 16 : 4);
		memcpy(c->ra, src, v6 ? 16 : 4);
		c->lp = dport;
		c->rp = sport;
		c->ifidx = ifidx;
		c->ls_ref = ls->ref;
		c->ud_ref = c->ref_data = c->ref_eof = c->ref_close = c->ref_tls = c->pump_ref = LUA_NOREF;
		/* the ISN, IP ids and timestamp base from the SYN itself: offline replays meet the live numbers */
		o.seed = key_hash_(v6, dst, dport, src, sport) ^ ((uint64_t)seq * 0x9e3779b97f4a7c15ull);
		c->persona = persona_opts_(r, &o, ls->given);
		c->ttl = ls->ttl;
		cb.arg = c;
		if (!(c->ep = umpa_tcpe_new(r->loop, &o, &cb, &e))) {
			free(c);
			umpa_run_cb_failed_(r, &e);
			return;
		}
		if (!syn) {
			/* a segment for no connection: a closed endpoint answers it with a RST */
			if (umpa_tcpe_input(c->ep, p, &e) < 0)
				umpa_run_cb_failed_(r, &e);
			umpa_tcpe_free(c->ep);
			free(c);
			return;
		}
		if (umpa_tcpe_listen(c->ep, &e) < 0 || hash_add_(T, c) < 0) {
			if (!e.msg[0])
				umpa_err_set(&e, UMPA_ENOMEM, "tcp: out of memory");
			umpa_tcpe_free(c->ep);
			free(c);
			umpa_run_cb_failed_(r, &e);
			return;
		}
		umpa_run_count_(r, "tcp.syn", 1);
		conn_input_(c, p);
		reap_(r);
	}
}

void umpa_run_tcp_free_(struct umpa_run *r)
{
	struct rt_tcp *T = r->tcp;

	if (!T)
		return;
	umpa_timer_cancel(T->reap_tm);
	while (T->all) {
		struct rt_conn *c = T->all;
		conn_unlink_(T, c);
		conn_free_(r, c);
	}
	while (T->ls) {
		struct rt_listener *l = T->ls;
		T->ls = l->next;
		if (r->L)
			luaL_unref(r->L, LUA_REGISTRYINDEX, l->ref);
		free(l);
	}
	if (r->L)
		luaL_unref(r->L, LUA_REGISTRYINDEX, T->cache_ref);
	free(T->h);
	free(T);
	r->tcp = NULL;
}

/* ---- Lua: the connection object ---- */

static struct rt_conn *conn_arg_(lua_State *L, int i)
{
	return ((struct conn_ud *)luaL_checkudata(L, i, MT_CONN))->c;
}

/* conn:on_X(fn): store fn (nil removes it) in the int at @p off of the connection; returns the connection. */
static int set_cb_(lua_State *L, size_t off)
{
	struct rt_conn *c = conn_arg_(L, 1);
	int *ref;

	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_settop(L, 2);
	if (!c)
		return 1; /* a closed connection calls nothing */
	ref = (int *)(void *)((char *)c + off);
	luaL_unref(L, LUA_REGISTRYINDEX, *ref);
	*ref = lua_isnil(L, 2) ? LUA_NOREF : (lua_pushvalue(L, 2), luaL_ref(L, LUA_REGISTRYINDEX));
	lua_settop(L, 1);
	return 1;
}

static int m_on_data(lua_State *L)
{
	return set_cb_(L, offsetof(struct rt_conn, ref_data));
}

static int m_on_eof(lua_State *L)
{
	return set_cb_(L, offsetof(struct rt_conn, ref_eof));
}

static int m_on_close(lua_State *L)
{
	return set_cb_(L, offsetof(struct rt_conn, ref_close));
}

static int m_on_tls(lua_State *L)
{
	return set_cb_(L, offsetof(struct rt_conn, ref_tls));
}

/* conn:write(data) -> bytes taken, or nil and why */
static int m_write(lua_State *L)
{
	struct rt_conn *c = conn_arg_(L, 1);
	size_t n;
	const char *d = luaL_checklstring(L, 2, &n);
	struct umpa_err e = {0};
	int64_t rc;

	if (!c || c->dead || c->shut) {
		lua_pushnil(L);
		lua_pushstring(L, !c || c->dead ? "closed" : "shut down (close() was called)");
		return 2;
	}
	rc = c->tls ? umpa_tls_live_write(c->tls, d, n, &e) : conn_raw_write_(c, (const uint8_t *)d, n, &e);
	if (rc < 0)
		return luaL_error(L, "write: %s", e.msg);
	lua_pushinteger(L, (lua_Integer)n);
	return 1;
}

static int m_close(lua_State *L)
{
	struct rt_conn *c = conn_arg_(L, 1);

	if (c && c->in_input)
		c->want_close = 1;
	else if (c)
		conn_close_now_(c);
	return 0;
}

static int m_reset(lua_State *L)
{
	struct rt_conn *c = conn_arg_(L, 1);

	if (c && c->in_input)
		c->want_reset = 1;
	else if (c)
		conn_reset_now_(c);
	return 0;
}

static void push_addr_(lua_State *L, int v6, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(v6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
	lua_pushstring(L, s);
}

static int conn_index_(lua_State *L)
{
	struct rt_conn *c = conn_arg_(L, 1);
	const char *k = luaL_checkstring(L, 2);

	lua_getmetatable(L, 1);
	if (lua_getfield(L, -1, k) != LUA_TNIL && lua_type(L, -1) == LUA_TFUNCTION && strncmp(k, "__", 2))
		return 1;
	lua_pop(L, 2);
	if (!strcmp(k, "closed")) {
		lua_pushboolean(L, !c || c->dead);
		return 1;
	}
	if (!c) {
		if (!strcmp(k, "state")) {
			lua_pushliteral(L, "CLOSED");
			return 1;
		}
		return 0;
	}
	if (!strcmp(k, "peer"))
		push_addr_(L, c->v6, c->ra);
	else if (!strcmp(k, "peer_port"))
		lua_pushinteger(L, c->rp);
	else if (!strcmp(k, "addr"))
		push_addr_(L, c->v6, c->la);
	else if (!strcmp(k, "port"))
		lua_pushinteger(L, c->lp);
	else if (!strcmp(k, "family"))
		lua_pushstring(L, c->v6 ? "ipv6" : "ipv4");
	else if (!strcmp(k, "state"))
		lua_pushstring(L, umpa_tcpe_state_name(umpa_tcpe_state(c->ep)));
	else if (!strcmp(k, "tls") && c->tls)
		push_report_(L, umpa_tls_live_report(c->tls));
	else
		lua_pushnil(L);
	return 1;
}

static int conn_tostring_(lua_State *L)
{
	struct rt_conn *c = conn_arg_(L, 1);
	char a[INET6_ADDRSTRLEN] = "?";

	if (!c) {
		lua_pushliteral(L, "tcp connection (closed)");
		return 1;
	}
	inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->ra, a, sizeof(a));
	lua_pushfstring(L, "tcp connection %s port %d -> port %d (%s)", a, (int)c->rp, (int)c->lp,
			umpa_tcpe_state_name(umpa_tcpe_state(c->ep)));
	return 1;
}

#define SETS_(L, name, s) (lua_pushstring(L, s), lua_setfield(L, -2, name))
#define SETI_(L, name, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, name))
#define SETB_(L, name, v) (lua_pushboolean(L, v), lua_setfield(L, -2, name))

static void push_report_(lua_State *L, const struct umpa_tls_report *rp)
{
	lua_createtable(L, 0, 12);
	SETB_(L, "ok", rp->handshake_ok);
	SETS_(L, "error", rp->error);
	SETS_(L, "version", rp->version);
	SETS_(L, "cipher", rp->cipher);
	SETS_(L, "cipher_iana", rp->cipher_iana);
	SETS_(L, "group", rp->group);
	SETS_(L, "alpn", rp->alpn);
	SETS_(L, "sni", rp->sni);
	SETB_(L, "resumed", rp->resumed);
	SETI_(L, "client_bytes", rp->app_bytes[UMPA_TCPS_CLIENT]);
	SETI_(L, "server_bytes", rp->app_bytes[UMPA_TCPS_SERVER]);
	if (rp->n_server_chain)
		SETS_(L, "subject", rp->server_chain[0].subject);
}

/* ---- Lua: tcp.listen, tls.serve ---- */

static void opt_uint_(lua_State *L, const char *fn, int t, const char *k, lua_Integer lo, lua_Integer hi,
		      lua_Integer *out)
{
	if (lua_getfield(L, t, k) != LUA_TNIL) {
		lua_Integer v;
		if (!lua_isinteger(L, -1))
			luaL_error(L, "%s: %s= wants an integer", fn, k);
		v = lua_tointeger(L, -1);
		if (v < lo || v > hi)
			luaL_error(L, "%s: %s=%d: give %d to %d", fn, k, (int)v, (int)lo, (int)hi);
		*out = v;
	}
	lua_pop(L, 1);
}

/* One address or prefix ("10.99.0.0/16": every address in it) a listener answers for. */
static void ls_addr_(lua_State *L, struct rt_listener *l, const char *s)
{
	const char *slash = strchr(s, '/');
	char a[INET6_ADDRSTRLEN];
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long bits = 0;
	char *end = NULL;

	if (l->naddr == LS_MAX_ADDRS)
		luaL_error(L, "tcp.listen: at most %d addresses", LS_MAX_ADDRS);
	if (n >= sizeof(a))
		luaL_error(L, "tcp.listen: addr '%s' is not an IPv4 or IPv6 address or prefix", s);
	memcpy(a, s, n);
	a[n] = 0;
	if (inet_pton(AF_INET, a, l->addr[l->naddr].a) == 1)
		l->addr[l->naddr].v6 = 0;
	else if (inet_pton(AF_INET6, a, l->addr[l->naddr].a) == 1)
		l->addr[l->naddr].v6 = 1;
	else
		luaL_error(L, "tcp.listen: addr '%s' is not an IPv4 or IPv6 address or prefix", s);
	l->addr[l->naddr].plen = l->addr[l->naddr].v6 ? 128 : 32;
	if (slash) {
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || bits > l->addr[l->naddr].plen)
			luaL_error(L, "tcp.listen: addr '%s': the prefix length is 0 to %u", s, l->addr[l->naddr].plen);
		l->addr[l->naddr].plen = (unsigned)bits;
	}
	l->naddr++;
}

/* tcp.listen(port, fn [, {addr=, mac=, mss=, wscale=, sackok=, timestamps=, rwnd=, timewait=}]) -> id */
static int l_listen(lua_State *L)
{
	struct umpa_run *r = umpa_run_get_(L);
	struct rt_tcp *T = tcp_of_(r);
	lua_Integer port = luaL_checkinteger(L, 1), v;
	struct rt_listener *l;

	if (!T)
		return luaL_error(L, "tcp.listen: out of memory");
	if (port < 1 || port > 65535)
		return luaL_error(L, "tcp.listen: port %d: give 1 to 65535", (int)port);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	if (!(l = lua_newuserdatauv(L, sizeof(*l), 0))) /* scratch while checking; copied below */
		return luaL_error(L, "tcp.listen: out of memory");
	memset(l, 0, sizeof(*l));
	umpa_tcpe_opts_init(&l->o);
	if (lua_istable(L, 3)) {
		lua_pushnil(L);
		while (lua_next(L, 3)) {
			static const char *const ok[] = {"addr",        "mac",        "mss",  "wscale",
							 "sackok",      "timestamps", "rwnd", "timewait",
							 "max_retries", "ttl",        NULL};
			const char *k = lua_tostring(L, -2);
			int i;
			for (i = 0; ok[i] && (!k || strcmp(k, ok[i])); i++)
				;
			if (!ok[i])
				return luaL_error(L,
						  "tcp.listen: unknown option '%s' (options: addr, mac, mss, wscale, "
						  "sackok, timestamps, rwnd, timewait, max_retries, ttl)",
						  k ? k : "?");
			lua_pop(L, 1);
		}
		if (lua_getfield(L, 3, "addr") == LUA_TSTRING) {
			ls_addr_(L, l, lua_tostring(L, -1));
		} else if (lua_istable(L, -1)) {
			for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
				ls_addr_(L, l, lua_tostring(L, -1));
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		} else if (!lua_isnil(L, -1)) {
			return luaL_error(L, "tcp.listen: addr= an address or a list of them");
		}
		lua_pop(L, 1);
		if (lua_getfield(L, 3, "mac") == LUA_TSTRING) {
			unsigned m[6];
			int n = 0;
			const char *s = lua_tostring(L, -1);
			if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &n) != 6 ||
			    s[n])
				return luaL_error(L, "tcp.listen: mac '%s' is not a MAC address", s);
			for (int i = 0; i < 6; i++)
				l->o.mac[0][i] = (uint8_t)m[i];
			l->has_mac = 1;
		}
		lua_pop(L, 1);
		l->given = given_(L, 3);
		v = l->o.mss;
		opt_uint_(L, "tcp.listen", 3, "mss", 64, 65535, &v);
		l->o.mss = (uint16_t)v;
		v = l->o.wscale;
		opt_uint_(L, "tcp.listen", 3, "wscale", -1, 14, &v);
		l->o.wscale = (int)v;
		v = l->o.rwnd;
		opt_uint_(L, "tcp.listen", 3, "rwnd", 1, 1 << 30, &v);
		l->o.rwnd = (uint32_t)v;
		v = l->o.timewait_us / 1000;
		opt_uint_(L, "tcp.listen", 3, "timewait", 0, 240000, &v); /* milliseconds */
		l->o.timewait_us = (uint32_t)v * 1000;
		v = l->o.max_retries;
		opt_uint_(L, "tcp.listen", 3, "max_retries", 1, 100, &v);
		l->o.max_retries = (uint32_t)v;
		v = 0;
		opt_uint_(L, "tcp.listen", 3, "ttl", 1, 255, &v);
		l->ttl = (uint8_t)v;
		if (lua_getfield(L, 3, "sackok") != LUA_TNIL)
			l->o.sackok = lua_toboolean(L, -1);
		if (lua_getfield(L, 3, "timestamps") != LUA_TNIL)
			l->o.timestamps = lua_toboolean(L, -1);
		lua_pop(L, 2);
	}
	if (l->o.rwnd > (65535u << (l->o.wscale > 0 ? l->o.wscale : 0)))
		return luaL_error(L, "tcp.listen: rwnd=%d is too large for wscale=%d", (int)l->o.rwnd, l->o.wscale);
	{
		struct rt_listener *nl = malloc(sizeof(*nl));
		if (!nl)
			return luaL_error(L, "tcp.listen: out of memory");
		*nl = *l;
		nl->r = r;
		nl->port = (uint16_t)port;
		nl->id = ++T->nls;
		lua_pushvalue(L, 2);
		nl->ref = luaL_ref(L, LUA_REGISTRYINDEX);
		nl->next = T->ls;
		T->ls = nl;
		lua_pushinteger(L, nl->id);
	}
	return 1;
}

static void addr_arg_(lua_State *L, int t, const char *k, int *v6, uint8_t *a, int need)
{
	const char *s;

	if (lua_getfield(L, t, k) != LUA_TSTRING) {
		if (need || !lua_isnil(L, -1))
			luaL_error(L, "tcp.connect: %s= an IPv4 or IPv6 address", k);
		lua_pop(L, 1);
		return;
	}
	s = lua_tostring(L, -1);
	if (inet_pton(AF_INET, s, a) == 1)
		*v6 = 0;
	else if (inet_pton(AF_INET6, s, a) == 1)
		*v6 = 1;
	else
		luaL_error(L, "tcp.connect: %s='%s' is not an IPv4 or IPv6 address", k, s);
	lua_pop(L, 1);
}

static void mac_arg_(lua_State *L, int t, const char *k, uint8_t *out)
{
	unsigned m[6];
	int n = 0;
	const char *s;

	if (lua_getfield(L, t, k) != LUA_TSTRING)
		luaL_error(L, "tcp.connect: %s= a MAC address (aa:bb:cc:dd:ee:ff)", k);
	s = lua_tostring(L, -1);
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &n) != 6 || s[n])
		luaL_error(L, "tcp.connect: %s='%s' is not a MAC address", k, s);
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)m[i];
	lua_pop(L, 1);
}

/* tcp.connect{addr=, port=, src=, mac=, dmac= [, sport=, iface=, mss=, wscale=, rwnd=, ...]} [, fn] -> conn */
static int l_connect(lua_State *L)
{
	struct umpa_run *r = umpa_run_get_(L);
	struct rt_tcp *T = tcp_of_(r);
	struct umpa_tcpe_opts o;
	struct umpa_tcpe_cbs cb = {conn_emit_, conn_data_, conn_event_, NULL};
	struct umpa_err e = {0};
	struct rt_conn *c;
	lua_Integer v, port = 0, sport = 0, ifn = 1, ttl = 0;
	int v6 = 0, v6s = -1;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (!lua_isnoneornil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!T)
		return luaL_error(L, "tcp.connect: out of memory");
	if (!r->loop || (!r->offline && !r->nifs))
		return luaL_error(L, "tcp.connect: the template was only loaded (no -i or --offline)");
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		static const char *const ok[] = {"addr",     "port",        "src",    "sport",  "mac",        "dmac",
						 "iface",    "mss",         "wscale", "sackok", "timestamps", "rwnd",
						 "timewait", "max_retries", "ttl",    NULL};
		const char *k = lua_tostring(L, -2);
		int i;
		for (i = 0; ok[i] && (!k || strcmp(k, ok[i])); i++)
			;
		if (!ok[i])
			return luaL_error(
			    L,
			    "tcp.connect: unknown option '%s' (options: addr, port, src, sport, mac, dmac, "
			    "iface, mss, wscale, sackok, timestamps, rwnd, timewait, max_retries, ttl)",
			    k ? k : "?");
		lua_pop(L, 1);
	}
	umpa_tcpe_opts_init(&o);
	addr_arg_(L, 1, "addr", &v6, o.addr[1], 1);
	addr_arg_(L, 1, "src", &v6s, o.addr[0], 1);
	if (v6 != v6s)
		return luaL_error(L, "tcp.connect: addr= and src= are of different families");
	mac_arg_(L, 1, "mac", o.mac[0]);
	mac_arg_(L, 1, "dmac", o.mac[1]);
	opt_uint_(L, "tcp.connect", 1, "port", 1, 65535, &port);
	if (!port)
		return luaL_error(L, "tcp.connect: port= is missing");
	opt_uint_(L, "tcp.connect", 1, "sport", 1, 65535, &sport);
	opt_uint_(L, "tcp.connect", 1, "iface", 1, RUN_MAX_IFACES, &ifn);
	if ((size_t)ifn > (r->nifs ? r->nifs : 1))
		return luaL_error(L, "tcp.connect: iface=%d: the run has %d", (int)ifn, (int)r->nifs);
	v = o.mss;
	opt_uint_(L, "tcp.connect", 1, "mss", 64, 65535, &v);
	o.mss = (uint16_t)v;
	v = o.wscale;
	opt_uint_(L, "tcp.connect", 1, "wscale", -1, 14, &v);
	o.wscale = (int)v;
	v = o.rwnd;
	opt_uint_(L, "tcp.connect", 1, "rwnd", 1, 1 << 30, &v);
	o.rwnd = (uint32_t)v;
	v = o.timewait_us / 1000;
	opt_uint_(L, "tcp.connect", 1, "timewait", 0, 240000, &v);
	o.timewait_us = (uint32_t)v * 1000;
	v = o.max_retries;
	opt_uint_(L, "tcp.connect", 1, "max_retries", 1, 100, &v);
	o.max_retries = (uint32_t)v;
	opt_uint_(L, "tcp.connect", 1, "ttl", 1, 255, &ttl);
	if (lua_getfield(L, 1, "sackok") != LUA_TNIL)
		o.sackok = lua_toboolean(L, -1);
	if (lua_getfield(L, 1, "timestamps") != LUA_TNIL)
		o.timestamps = lua_toboolean(L, -1);
	lua_pop(L, 2);
	o.ipv6 = v6;
	o.port[1] = (uint16_t)port;
	if (!sport) /* an ephemeral port from the addresses and the run's connection count */
		sport = 32768 +
			(lua_Integer)((key_hash_(v6, o.addr[0], 0, o.addr[1], (uint16_t)port) + T->n * 7919u) % 28232u);
	o.port[0] = (uint16_t)sport;
	if (conn_find_(T, v6, o.addr[0], o.port[0], o.addr[1], o.port[1]))
		return luaL_error(L, "tcp.connect: a connection from port %d to that address and port exists",
				  (int)sport);
	if (T->n >= TCP_MAX_CONNS)
		return luaL_error(L, "tcp.connect: %d connections already", TCP_MAX_CONNS);
	o.seed = key_hash_(v6, o.addr[0], o.port[0], o.addr[1], o.port[1]) ^ 0x5bd1e995u;
	if (!(c = calloc(1, sizeof(*c))))
		return luaL_error(L, "tcp.connect: out of memory");
	c->r = r;
	c->v6 = v6;
	memcpy(c->la, o.addr[0], 16);
	memcpy(c->ra, o.addr[1], 16);
	c->lp = o.port[0];
	c->rp = o.port[1];
	c->ifidx = (size_t)(ifn - 1);
	c->outgoing = 1;
	c->ud_ref = c->ref_data = c->ref_eof = c->ref_close = c->ref_tls = c->pump_ref = LUA_NOREF;
	c->ls_ref = LUA_NOREF;
	c->persona = persona_opts_(r, &o, given_(L, 1));
	c->ttl = (uint8_t)ttl;
	cb.arg = c;
	if (!(c->ep = umpa_tcpe_new(r->loop, &o, &cb, &e))) {
		free(c);
		return luaL_error(L, "tcp.connect: %s", e.msg);
	}
	if (hash_add_(T, c) < 0) {
		umpa_tcpe_free(c->ep);
		free(c);
		return luaL_error(L, "tcp.connect: out of memory");
	}
	if (!lua_isnoneornil(L, 2)) {
		lua_pushvalue(L, 2);
		c->ls_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	push_conn_(L, c); /* the object first: the template sets on_close before anything can happen */
	if (umpa_tcpe_connect(c->ep, &e) < 0) {
		mark_dead_(c, "failed");
		return luaL_error(L, "tcp.connect: %s", e.msg);
	}
	umpa_run_count_(r, "tcp.connects", 1);
	return 1;
}

/* Is @p path under an --allow-read directory?  (file.read's rule, run.c) */
static int file_ok_(void *arg, const char *path)
{
	return umpa_run_readable_(arg, path);
}

/* tls.serve(conn [, opts]) -> conn, now carrying TLS */
static int l_serve(lua_State *L)
{
	struct umpa_run *r = umpa_run_get_(L);
	struct rt_conn *c = conn_arg_(L, 1);
	struct rt_tcp *T = r->tcp;
	struct umpa_tls *pump;
	struct umpa_err e = {0};
	struct umpa_tls_live_cbs cb = {tls_out_, tls_data_, tls_event_, tls_keylog_, NULL};

	if (lua_isnoneornil(L, 2)) {
		lua_settop(L, 1);
		lua_newtable(L);
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	if (!c || c->dead)
		return luaL_error(L, "tls.serve: the connection is closed");
	if (c->tls)
		return luaL_error(L, "tls.serve: the connection already carries TLS");
	/* one pump per option table, while the table lives */
	if (T->cache_ref == LUA_NOREF) {
		lua_newtable(L);
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "k");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		T->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, T->cache_ref); /* 3 */
	lua_pushvalue(L, 2);
	if (lua_rawget(L, 3) == LUA_TNIL) {
		lua_pop(L, 1);
		umpa_lua_tls_pump_(L, 2, 1, file_ok_, r); /* 4: the pump's owner */
		lua_pushvalue(L, 2);
		lua_pushvalue(L, 4);
		lua_rawset(L, 3);
	}
	pump = umpa_lua_tls_pump_get_(L, -1);
	cb.arg = c;
	if (!(c->tls = umpa_tls_live_new(pump, &cb, &e)))
		return luaL_error(L, "tls.serve: %s", e.msg);
	c->pump_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the pump lives as long as the session */
	lua_settop(L, 1);
	return 1;
}

/* tcp{...} and tls{...} stay function calls (a layer constructor, the TLS pump): their tables' __call */
static int call_up_(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_replace(L, 1); /* the table -> the function */
	lua_call(L, n - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Global @p name (a function) becomes a table of @p fns that is still called as the function was. */
static void callable_(lua_State *L, const char *name, const luaL_Reg *fns)
{
	lua_newtable(L);
	luaL_setfuncs(L, fns, 0);
	lua_createtable(L, 0, 2);
	lua_getglobal(L, name);
	lua_pushcclosure(L, call_up_, 1);
	lua_setfield(L, -2, "__call");
	lua_pushstring(L, name);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_setglobal(L, name);
}

void umpa_run_tcp_open_(lua_State *L)
{
	static const luaL_Reg methods[] = {{"on_data", m_on_data}, {"on_eof", m_on_eof}, {"on_close", m_on_close},
					   {"on_tls", m_on_tls},   {"write", m_write},   {"close", m_close},
					   {"reset", m_reset},     {NULL, NULL}};
	static const luaL_Reg tcp_fns[] = {{"listen", l_listen}, {"connect", l_connect}, {NULL, NULL}};
	static const luaL_Reg tls_fns[] = {{"serve", l_serve}, {NULL, NULL}};

	umpa_lua_new_mt_(L, MT_CONN, methods);
	lua_pushcfunction(L, conn_index_);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, conn_tostring_);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	callable_(L, "tcp", tcp_fns);
	callable_(L, "tls", tls_fns);
}
