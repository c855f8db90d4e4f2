/* proxy_redis.c - the proxy's redis control API (umpa_proxy_redis.h): hiredis on the loop's event_base. */
#include "umpa_proxy_redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_proxy.h"
#include "umpa_proxy_ca.h"
#include "umpa_proxy_lua.h"
#include "umpa_sbuf.h"
#include "umpa_sched.h"

#define POLL_NS 250000000LL /* MGET rules debugging */
#define FLUSH_TICKS 4       /* counts every 4 polls: once a second */
#define BACKOFF_MIN_NS 250000000LL
#define BACKOFF_MAX_NS 30000000000LL
#define PEND_MAX 1024       /* chunks held for inspection at once; more go on at once */
#define GATE_MAX 4096       /* connections waiting for their rules at once; more go on with the rules in force */
#define GATE_NS 500000000LL /* a connection waits this long for its rules (or leaf), then goes on with those in force  \
			     */

struct umpa_proxy_redis;

/* One connection to redis: commands, or the subscriber of inspected:*. */
struct rconn {
	struct umpa_proxy_redis *r;
	redisAsyncContext *ac;
	int up, sub;
	int64_t backoff_ns;
	struct umpa_timer *retry;
};

/* A chunk held by inspect, waiting for inspected:CHANNEL. */
struct pend {
	int used;
	char ch[300];
	uint64_t id, seq;
	int dir;
	int64_t deadline_ns;
};

struct umpa_proxy_redis {
	struct umpa_loop *loop;
	struct event_base *base;
	struct umpa_proxy_mods *m;
	struct umpa_proxy *p;
	char host[256];
	int port, db;
	struct rconn cmd, sub;
	struct umpa_timer *poll;
	unsigned ticks;
	int debugging;
	char *rules_seen; /* the last value of the key rules */
	int down;         /* told that redis cannot be reached (once until it is back) */
	int ever_up;
	char *ca_cert, *ca_key;   /* to store with SET NX once connected */
	struct umpa_proxy_ca *ca; /* the man-in-the-middle CA (umpa_proxy_redis_ca): leaves go in its cache */
	umpa_proxy_redis_log_fn log;
	void *log_arg;
	struct pend pend[PEND_MAX];
	unsigned npend;
	/* new connections waiting for their MGET rules debugging (umpa_proxy_redis_gate), in the order the
	 * commands went out (redis answers in order); id 0: it timed out and went on, its answer still due */
	struct gatew {
		uint64_t id;
		int64_t deadline_ns;
	} gq[GATE_MAX];
	unsigned ghead, gn;
	struct umpa_timer *gtimer;
};

static void rlog(struct umpa_proxy_redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rlog(struct umpa_proxy_redis *r, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	if (!r->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->log(r->log_arg, msg);
}

int umpa_proxy_redis_url(const char *url, char *host, size_t n, int *port, int *db, struct umpa_err *e)
{
	const char *h, *colon, *slash;
	size_t hl;
	char *end;
	long v;
	*port = 6379;
	*db = 0;
	if (strncmp(url, "redis://", 8))
		return umpa_err_set(e, UMPA_EINVAL, "'%s' is not redis://HOST:PORT", url);
	h = url + 8;
	slash = strchr(h, '/');
	colon = strchr(h, ':');
	if (colon && slash && colon > slash)
		colon = NULL;
	hl = colon ? (size_t)(colon - h) : slash ? (size_t)(slash - h) : strlen(h);
	if (!hl || hl >= n || memchr(h, '@', hl))
		return umpa_err_set(e, UMPA_EINVAL, "'%s': bad host (redis://HOST:PORT)", url);
	memcpy(host, h, hl);
	host[hl] = 0;
	if (colon) {
		v = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || v < 1 || v > 65535 || (*end && *end != '/'))
			return umpa_err_set(e, UMPA_EINVAL, "'%s': bad port (1 to 65535)", url);
		*port = (int)v;
	}
	if (slash && slash[1]) {
		v = strtol(slash + 1, &end, 10);
		if (*end || v < 0 || v > 1000000)
			return umpa_err_set(e, UMPA_EINVAL, "'%s': bad database number", url);
		*db = (int)v;
	}
	return 0;
}

static void rc_connect(struct rconn *c);

static void retry_cb(struct umpa_loop *loop, void *arg)
{
	struct rconn *c = arg;
	(void)loop;
	c->retry = NULL;
	rc_connect(c);
}

/* @p c failed (@p why): say so once, try again after the backoff. */
static void rc_failed(struct rconn *c, const char *why)
{
	struct umpa_proxy_redis *r = c->r;
	struct umpa_err e = {0, ""};
	c->ac = NULL;
	c->up = 0;
	if (!c->sub && !r->down) {
		r->down = 1;
		rlog(r, "redis %s:%d: %s: going on without it, trying again (every %.2f s up to 30 s)", r->host,
		     r->port, why && *why ? why : "connection lost", (double)BACKOFF_MIN_NS / 1e9);
	}
	c->backoff_ns = c->backoff_ns ? c->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (c->backoff_ns > BACKOFF_MAX_NS)
		c->backoff_ns = BACKOFF_MAX_NS;
	c->retry = umpa_after(r->loop, c->backoff_ns, retry_cb, c, &e);
}

static void ignore_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	(void)reply;
	(void)priv;
}

/* SET ca:cert NX: nil when a CA was already there (the UI's wins: it is used from the next start). */
static void ca_set_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct umpa_proxy_redis *r = priv;
	redisReply *rep = reply;
	(void)ac;
	if (rep && rep->type == REDIS_REPLY_NIL)
		rlog(r, "redis: ca:cert holds another CA: this run keeps its own (restart to use that one)");
	else if (rep && rep->type == REDIS_REPLY_STATUS)
		rlog(r, "redis: the CA stored in ca:cert and ca:key");
}

/* The commands connection is up: what the engine tells (modules), the CA it still has to store. */
static void announce(struct umpa_proxy_redis *r)
{
	redisAsyncContext *ac = r->cmd.ac;
	struct umpa_sbuf b = {0};
	struct umpa_err e = {0, ""};
	char help[8192];
	umpa_proxy_mods_names(r->m, &b, ' ');
	if (!b.oom && b.len) {
		redisAsyncCommand(ac, ignore_cb, NULL, "SET modules %b", b.s, b.len);
		/* module:NAME:help, one per name */
		for (char *s = b.s, *t; s && *s; s = t) {
			t = strchr(s, ' ');
			if (t)
				*t++ = 0;
			if (umpa_proxy_mods_help(r->m, s, help, sizeof(help), &e) == 0)
				redisAsyncCommand(ac, ignore_cb, NULL, "SET module:%s:help %s", s, help);
		}
	}
	umpa_sbuf_free(&b);
	redisAsyncCommand(ac, ignore_cb, NULL, "SET default_modules %s", "peek_sni,peek_httphost,peek_ssl");
	if (r->ca_cert && r->ca_key) {
		redisAsyncCommand(ac, ignore_cb, NULL, "SET ca:key %s NX", r->ca_key);
		redisAsyncCommand(ac, ca_set_cb, r, "SET ca:cert %s NX", r->ca_cert);
		free(r->ca_cert);
		free(r->ca_key);
		r->ca_cert = r->ca_key = NULL;
	}
}

static void pmsg_cb(redisAsyncContext *ac, void *reply, void *priv);

static void connect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;
	struct umpa_proxy_redis *r = c->r;
	if (status != REDIS_OK) {
		rc_failed(c, ac->errstr); /* hiredis frees the context */
		return;
	}
	c->up = 1;
	c->backoff_ns = 0;
	if (r->db)
		redisAsyncCommand(c->ac, ignore_cb, NULL, "SELECT %d", r->db);
	if (c->sub) {
		/* keyspace events of rules and debugging (a server with notify-keyspace-events K$ or KA): read them
		 * at once rather than at the next poll */
		redisAsyncCommand(c->ac, pmsg_cb, r,
				  "PSUBSCRIBE inspected:* __keyspace@*__:rules __keyspace@*__:debugging");
		return;
	}
	if (r->down || !r->ever_up)
		rlog(r, "redis %s:%d: connected", r->host, r->port);
	r->down = 0;
	r->ever_up = 1;
	announce(r);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;
	if (!c)
		return; /* umpa_proxy_redis_free */
	rc_failed(c, status == REDIS_OK ? "disconnected" : ac->errstr);
}

static void rc_connect(struct rconn *c)
{
	struct umpa_proxy_redis *r = c->r;
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
	if (!ac || ac->err) {
		char why[128];
		snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		rc_failed(c, why);
		return;
	}
	ac->data = c;
	c->ac = ac;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
}

/* ---- the bus of the modules ---- */

static int bus_publish(void *arg, const char *channel, const char *msg, size_t len)
{
	struct umpa_proxy_redis *r = arg;
	if (!r->cmd.up)
		return 0;
	return redisAsyncCommand(r->cmd.ac, ignore_cb, NULL, "PUBLISH %s %b", channel, msg, len) == REDIS_OK;
}

static int bus_debugging(void *arg)
{
	struct umpa_proxy_redis *r = arg;
	return r->debugging && r->cmd.up && r->sub.up;
}

static int bus_inspect(void *arg, const char *channel, const char *msg, size_t len, uint64_t id, int dir, uint64_t seq,
		       int64_t timeout_ns)
{
	struct umpa_proxy_redis *r = arg;
	struct pend *pd = NULL;
	if (!r->p || !r->cmd.up || !r->sub.up || strlen(channel) >= sizeof(pd->ch))
		return 0;
	for (unsigned i = 0; i < PEND_MAX && !pd; i++)
		if (!r->pend[i].used)
			pd = &r->pend[i];
	if (!pd) /* too many held already: this one goes on */
		return 0;
	if (redisAsyncCommand(r->cmd.ac, ignore_cb, NULL, "PUBLISH inspect:%s %b", channel, msg, len) != REDIS_OK)
		return 0;
	pd->used = 1;
	snprintf(pd->ch, sizeof(pd->ch), "%s", channel);
	pd->id = id;
	pd->dir = dir;
	pd->seq = seq;
	pd->deadline_ns = umpa_loop_now_ns(r->loop) + timeout_ns;
	r->npend++;
	return 1;
}

static void bus_stats(void *arg, const char *ckey, const char *skey, uint64_t bytes, uint64_t packets,
		      const char *status)
{
	struct umpa_proxy_redis *r = arg;
	redisAsyncContext *ac = r->cmd.ac;
	if (!r->cmd.up)
		return;
	if (bytes || packets || status) {
		redisAsyncCommand(ac, ignore_cb, NULL, "HINCRBY stats:summary:bytes %s %llu", skey,
				  (unsigned long long)bytes);
		redisAsyncCommand(ac, ignore_cb, NULL, "HINCRBY stats:summary:packets %s %llu", skey,
				  (unsigned long long)packets);
		redisAsyncCommand(ac, ignore_cb, NULL, "HINCRBY stats:connections:bytes %s %llu", ckey,
				  (unsigned long long)bytes);
		redisAsyncCommand(ac, ignore_cb, NULL, "HINCRBY stats:connections:packets %s %llu", ckey,
				  (unsigned long long)packets);
	}
	if (status)
		redisAsyncCommand(ac, ignore_cb, NULL, "HSET stats:connections:status %s %s", ckey, status);
}

/* Base64 @p s into a malloc'ed buffer (*@p n bytes); NULL when it is not base64. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
	size_t l = strlen(s), pad = 0;
	unsigned char *out;
	int got;
	*n = 0;
	if (l % 4)
		return NULL;
	if (!(out = malloc(l / 4 * 3 + 1)))
		return NULL;
	if (!l)
		return out;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)l);
	if (got < 0) {
		free(out);
		return NULL;
	}
	if (s[l - 1] == '=')
		pad++;
	if (s[l - 2] == '=')
		pad++;
	*n = (size_t)got - pad;
	return out;
}

/* Is @p ch the channel @p full (src:srcport:dst:dstport:hostname:tags) or its first four fields (what
 * tcpproxy's inspect module and command-line client use: src:srcport:dst:dstport)? */
static int chan_is(const char *full, const char *ch)
{
	const char *p = full;
	if (!strcmp(full, ch))
		return 1;
	for (int k = 0; k < 4 && p; k++)
		p = strchr(p + (k ? 1 : 0), ':');
	return p && strlen(ch) == (size_t)(p - full) && !strncmp(full, ch, (size_t)(p - full));
}

/* A message on inspected:CHANNEL: the held chunk goes on with its (possibly edited) data. */
static void inspected(struct umpa_proxy_redis *r, const char *ch, const char *msg, size_t len)
{
	json_error_t je;
	json_t *o = json_loadb(msg, len, 0, &je), *v;
	const char *data;
	struct pend *pd = NULL;
	unsigned char *bytes;
	size_t n;
	int dir = -1;
	json_int_t seq = -1;
	if (!o || !json_is_object(o) || !json_is_string(json_object_get(o, "data"))) {
		rlog(r, "redis: inspected:%s: not JSON with \"data\" (base64): ignored", ch);
		json_decref(o);
		return;
	}
	data = json_string_value(json_object_get(o, "data"));
	if (json_is_integer(v = json_object_get(o, "seq")))
		seq = json_integer_value(v);
	if (json_is_boolean(v = json_object_get(o, "s2c")))
		dir = json_is_true(v) ? UMPA_PROXY_S2C : UMPA_PROXY_C2S;
	else if (json_is_boolean(v = json_object_get(o, "c2s")))
		dir = json_is_true(v) ? UMPA_PROXY_C2S : UMPA_PROXY_S2C;
	for (unsigned i = 0; i < PEND_MAX && !pd; i++) {
		struct pend *x = &r->pend[i];
		if (x->used && chan_is(x->ch, ch) && (seq < 0 || (uint64_t)seq == x->seq) && (dir < 0 || dir == x->dir))
			pd = x;
	}
	if (!pd) {
		json_decref(o);
		return; /* it timed out and went on, or it is another proxy's */
	}
	if (!(bytes = b64_decode(data, &n))) {
		rlog(r, "redis: inspected:%s: data is not base64: the original goes on at its timeout", ch);
		json_decref(o);
		return;
	}
	pd->used = 0;
	r->npend--;
	if (r->p)
		umpa_proxy_release(r->p, pd->id, (enum umpa_proxy_dir)pd->dir, pd->seq, bytes, n);
	free(bytes);
	json_decref(o);
}

static void pmsg_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct umpa_proxy_redis *r = priv;
	redisReply *rep = reply;
	(void)ac;
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 4 ||
	    rep->element[0]->type != REDIS_REPLY_STRING || strcmp(rep->element[0]->str, "pmessage") ||
	    rep->element[2]->type != REDIS_REPLY_STRING || rep->element[3]->type != REDIS_REPLY_STRING ||
	    strncmp(rep->element[2]->str, "inspected:", 10))
		return;
	inspected(r, rep->element[2]->str + 10, rep->element[3]->str, rep->element[3]->len);
}

/* MGET rules debugging. */
static void poll_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct umpa_proxy_redis *r = priv;
	redisReply *rep = reply, *ru, *dbg;
	struct umpa_err e = {0, ""};
	int on;
	(void)ac;
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		return;
	ru = rep->element[0];
	dbg = rep->element[1];
	on = dbg->type == REDIS_REPLY_STRING && atoi(dbg->str) == 1;
	if (on != r->debugging)
		rlog(r, "redis: debugging %s", on ? "on (inspect holds chunks)" : "off");
	r->debugging = on;
	if (ru->type != REDIS_REPLY_STRING || (r->rules_seen && !strcmp(r->rules_seen, ru->str)))
		return; /* no key (the rules in force stay), or the same text */
	free(r->rules_seen);
	r->rules_seen = strdup(ru->str);
	if (umpa_proxy_mods_rules_text(r->m, ru->str, ru->len, "redis key 'rules'", &e) < 0)
		rlog(r, "%s (the rules in force stay)", e.msg);
	else
		rlog(r, "redis: %u rules from key 'rules'", umpa_proxy_rules_count(umpa_proxy_mods_rules(r->m)));
}

static void gate_timer(struct umpa_loop *loop, void *arg);

/* Arm the gate's timer for the oldest connection still waiting. */
static void gate_arm(struct umpa_proxy_redis *r)
{
	struct umpa_err e = {0, ""};
	for (unsigned k = 0; k < r->gn; k++) {
		struct gatew *w = &r->gq[(r->ghead + k) % GATE_MAX];
		if (w->id) {
			r->gtimer = umpa_at(r->loop, w->deadline_ns, gate_timer, r, &e);
			return;
		}
	}
}

/* Connections that waited GATE_NS for their rules go on with the rules in force. */
static void gate_timer(struct umpa_loop *loop, void *arg)
{
	struct umpa_proxy_redis *r = arg;
	int64_t now = umpa_loop_now_ns(loop);
	r->gtimer = NULL;
	for (unsigned k = 0; k < r->gn; k++) {
		struct gatew *w = &r->gq[(r->ghead + k) % GATE_MAX];
		if (w->id && w->deadline_ns <= now) {
			uint64_t id = w->id;
			w->id = 0;
			if (r->p)
				umpa_proxy_proceed(r->p, id);
		}
	}
	gate_arm(r);
}

/* The rules a waiting connection asked for: in force (poll_reply), then it goes on. */
/* An answer to a command sent by gate_push came (or the connection went): the oldest waiting connection goes
 * on (redis answers in order; one that timed out has id 0). */
static void gate_pop(struct umpa_proxy_redis *r)
{
	uint64_t id;
	if (!r->gn)
		return;
	id = r->gq[r->ghead].id;
	r->ghead = (r->ghead + 1) % GATE_MAX;
	r->gn--;
	if (id && r->p)
		umpa_proxy_proceed(r->p, id);
}

static void gate_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct umpa_proxy_redis *r = priv;
	poll_reply(ac, reply, priv);
	gate_pop(r);
}

/* Send command @p fmt (@p fn, @p priv: its callback, which ends with gate_pop) and make connection @p id wait
 * for its answer, GATE_NS at most.  Returns 1 (waits), or 0 when it cannot be sent (redis down, too many
 * waiting). */
static int gate_push(struct umpa_proxy_redis *r, uint64_t id, redisCallbackFn *fn, void *priv, const char *fmt,
		     const char *a1, const char *a2)
{
	struct gatew *w;
	if (!r->p || !r->cmd.up || r->gn == GATE_MAX || redisAsyncCommand(r->cmd.ac, fn, priv, fmt, a1, a2) != REDIS_OK)
		return 0;
	w = &r->gq[(r->ghead + r->gn++) % GATE_MAX];
	w->id = id;
	w->deadline_ns = umpa_loop_now_ns(r->loop) + GATE_NS;
	if (!r->gtimer)
		gate_arm(r);
	return 1;
}

int umpa_proxy_redis_gate(void *arg, uint64_t id)
{
	return gate_push(arg, id, gate_reply, arg, "MGET rules debugging", NULL, NULL); /* 0: the rules in force */
}

static void poll_cb(struct umpa_loop *loop, void *arg)
{
	struct umpa_proxy_redis *r = arg;
	int64_t now = umpa_loop_now_ns(loop);
	if (r->cmd.up)
		redisAsyncCommand(r->cmd.ac, poll_reply, r, "MGET rules debugging");
	if (++r->ticks % FLUSH_TICKS == 0)
		umpa_proxy_mods_stats_flush(r->m);
	/* holds whose timeout passed a second ago went on without an answer: forget them */
	for (unsigned i = 0; r->npend && i < PEND_MAX; i++)
		if (r->pend[i].used && now > r->pend[i].deadline_ns + 1000000000LL) {
			r->pend[i].used = 0;
			r->npend--;
		}
}

struct umpa_proxy_redis *umpa_proxy_redis_new(struct umpa_loop *loop, struct umpa_proxy_mods *m, const char *url,
					      umpa_proxy_redis_log_fn log, void *arg, struct umpa_err *e)
{
	struct umpa_proxy_redis *r;
	struct umpa_proxy_bus bus;
	struct event_base *base = umpa_loop_event_base(loop);
	if (!base) {
		umpa_err_set(e, UMPA_EINVAL, "redis: needs a live loop");
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		umpa_err_set(e, UMPA_ENOMEM, "redis: out of memory");
		return NULL;
	}
	if (umpa_proxy_redis_url(url, r->host, sizeof(r->host), &r->port, &r->db, e) < 0) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->base = base;
	r->m = m;
	r->log = log;
	r->log_arg = arg;
	r->cmd.r = r->sub.r = r;
	r->sub.sub = 1;
	if (!(r->poll = umpa_every(loop, POLL_NS, poll_cb, r, e))) {
		free(r);
		return NULL;
	}
	memset(&bus, 0, sizeof(bus));
	bus.arg = r;
	bus.count = 1;
	bus.publish = bus_publish;
	bus.debugging = bus_debugging;
	bus.inspect = bus_inspect;
	bus.conn_stats = bus_stats;
	umpa_proxy_mods_set_bus(m, &bus);
	rc_connect(&r->cmd);
	rc_connect(&r->sub);
	return r;
}

void umpa_proxy_redis_set_proxy(struct umpa_proxy_redis *r, struct umpa_proxy *p)
{
	r->p = p;
}

/* A leaf made for @p host: HOST:cert and HOST:key, both or neither (MSETNX): one stored meanwhile (another
 * proxy on the same redis made it first) stays, and this proxy's next start serves that one.  A stored leaf
 * that does not load with the CA in force was deleted when it was found (leaves_load, leaf_reply). */
static void leaf_made(void *arg, const char *host, const char *cert_pem, const char *key_pem)
{
	struct umpa_proxy_redis *r = arg;
	if (!r->cmd.up)
		return;
	redisAsyncCommand(r->cmd.ac, ignore_cb, NULL, "MSETNX %s:key %s %s:cert %s", host, key_pem, host, cert_pem);
}

/* MGET HOST:cert HOST:key asked by umpa_proxy_redis_sni: a leaf stored there goes into the CA's cache; one
 * that does not load with this CA is deleted (a leaf of this CA takes its place once made). */
static void gate_pop(struct umpa_proxy_redis *r);

static void leaf_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct umpa_proxy_redis *r = ac->data ? ((struct rconn *)ac->data)->r : NULL;
	redisReply *rep = reply;
	char *host = priv;
	struct umpa_err e = {0, ""};
	if (r && r->ca && rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING &&
	    umpa_proxy_ca_add_leaf(r->ca, host, rep->element[0]->str, rep->element[1]->str, &e) < 0) {
		rlog(r, "redis: %s:cert: %s: deleted, made again", host, e.msg);
		redisAsyncCommand(ac, ignore_cb, NULL, "DEL %s:cert %s:key", host, host);
	}
	free(host);
	if (r)
		gate_pop(r); /* its connection goes on, the leaf (if any) in the cache */
}

static int gate_push(struct umpa_proxy_redis *r, uint64_t id, redisCallbackFn *fn, void *priv, const char *fmt,
		     const char *a1, const char *a2);

int umpa_proxy_redis_sni(void *arg, const char *sni, uint64_t id)
{
	struct umpa_proxy_redis *r = arg;
	char *host;
	if (!r->ca || umpa_proxy_ca_has_leaf(r->ca, sni) || !(host = strdup(sni)))
		return 0;
	if (gate_push(r, id, leaf_reply, host, "MGET %s:cert %s:key", sni, sni))
		return 1;
	free(host);
	return 0;
}

/* Most SCAN rounds when reading the stored leaves at start (each asks for 1000 keys). */
#define LEAF_SCAN_ROUNDS 1000

/* The leaves stored in HOST:cert / HOST:key into @p ca's cache, over @p c (blocking, at start): SCAN MATCH
 * *:cert, then MGET of each pair.  Returns how many loaded; *@p bad gets how many did not (another CA ...). */
static unsigned leaves_load(redisContext *c, struct umpa_proxy_ca *ca, unsigned *bad)
{
	char cursor[32] = "0";
	unsigned n = 0, rounds = 0;
	*bad = 0;
	do {
		redisReply *sr = redisCommand(c, "SCAN %s MATCH *:cert COUNT 1000", cursor);
		if (!sr || sr->type != REDIS_REPLY_ARRAY || sr->elements != 2 ||
		    sr->element[0]->type != REDIS_REPLY_STRING || sr->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(sr);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", sr->element[0]->str);
		for (size_t i = 0; i < sr->element[1]->elements && n < UMPA_PROXY_CA_CACHE; i++) {
			redisReply *k = sr->element[1]->element[i], *mr;
			char host[256];
			struct umpa_err e = {0, ""};
			if (k->type != REDIS_REPLY_STRING || k->len < 6 || k->len - 5 >= sizeof(host) ||
			    !strcmp(k->str, "ca:cert"))
				continue;
			memcpy(host, k->str, k->len - 5);
			host[k->len - 5] = 0;
			mr = redisCommand(c, "MGET %s:cert %s:key", host, host);
			if (mr && mr->type == REDIS_REPLY_ARRAY && mr->elements == 2 &&
			    mr->element[0]->type == REDIS_REPLY_STRING && mr->element[1]->type == REDIS_REPLY_STRING &&
			    umpa_proxy_ca_add_leaf(ca, host, mr->element[0]->str, mr->element[1]->str, &e) == 0) {
				n++;
			} else { /* another CA's, expired, broken: a leaf of this CA takes its place once made */
				(*bad)++;
				freeReplyObject(redisCommand(c, "DEL %s:cert %s:key", host, host));
			}
			freeReplyObject(mr);
		}
		freeReplyObject(sr);
	} while (strcmp(cursor, "0") && ++rounds < LEAF_SCAN_ROUNDS && n < UMPA_PROXY_CA_CACHE);
	return n;
}

struct umpa_proxy_ca *umpa_proxy_redis_ca(struct umpa_proxy_redis *r, struct umpa_proxy_ca *fallback, int *from_redis,
					  char *note, size_t nn, struct umpa_err *e)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
	redisReply *rc = NULL, *rk = NULL;
	struct umpa_proxy_ca *ca = NULL;
	*from_redis = 0;
	if (c && !c->err) {
		redisSetTimeout(c, tv);
		if (r->db)
			freeReplyObject(redisCommand(c, "SELECT %d", r->db));
		rc = redisCommand(c, "GET ca:cert");
		rk = redisCommand(c, "GET ca:key");
	}
	if (rc && rk && rc->type == REDIS_REPLY_STRING && rk->type == REDIS_REPLY_STRING) {
		if ((ca = umpa_proxy_ca_from_pem(rc->str, rk->str, e))) {
			*from_redis = 1;
			snprintf(note, nn, "redis: the CA from ca:cert and ca:key");
		} else {
			umpa_err_prefix(e, "redis %s:%d: ", r->host, r->port);
		}
	} else {
		char *cp = NULL, *kp = NULL;
		ca = fallback ? fallback : umpa_proxy_ca_from_pem(NULL, NULL, e);
		if (ca && umpa_proxy_ca_pem(ca, &cp, &kp) == 0) {
			if (c && !c->err && rc && rc->type != REDIS_REPLY_ERROR) {
				freeReplyObject(redisCommand(c, "SET ca:key %s NX", kp));
				freeReplyObject(redisCommand(c, "SET ca:cert %s NX", cp));
				snprintf(note, nn, "redis: a %s CA stored in ca:cert and ca:key",
					 fallback ? "--ca-dir" : "new");
				free(cp);
				free(kp);
			} else {
				snprintf(note, nn, "redis %s:%d: %s: the %s CA goes to ca:cert once redis is reachable",
					 r->host, r->port,
					 c && c->err ? c->errstr
					 : rc        ? rc->str
						     : "no answer",
					 fallback ? "--ca-dir" : "new (in memory)");
				r->ca_cert = cp;
				r->ca_key = kp;
			}
		}
	}
	if (ca && c && !c->err && rc && rc->type != REDIS_REPLY_ERROR) {
		unsigned bad, n = leaves_load(c, ca, &bad);
		size_t l = strlen(note);
		if ((n || bad) && l < nn)
			snprintf(note + l, nn - l, "; %u leaf certificate%s from HOST:cert%s", n, n == 1 ? "" : "s",
				 bad ? " (others are not this CA's or do not load: made again)" : "");
	}
	freeReplyObject(rc);
	freeReplyObject(rk);
	if (c)
		redisFree(c);
	if (ca)
		umpa_proxy_ca_on_leaf(ca, leaf_made, r);
	r->ca = ca;
	return ca;
}

struct umpa_proxy_redis *umpa_proxy_redis_free(struct umpa_proxy_redis *r)
{
	if (!r)
		return NULL;
	umpa_proxy_mods_set_bus(r->m, NULL);
	umpa_timer_cancel(r->poll);
	if (r->gtimer)
		umpa_timer_cancel(r->gtimer);
	r->p = NULL; /* the answers hiredis still calls back with NULL proceed nobody */
	r->gn = 0;
	for (int i = 0; i < 2; i++) {
		struct rconn *c = i ? &r->sub : &r->cmd;
		if (c->retry)
			umpa_timer_cancel(c->retry);
		if (c->ac) {
			int done = 0;
			/* the last counts (the connections closed by umpa_proxy_free) are still in the output
			 * buffer: write them out (loopback: at once; bounded) */
			for (int k = 0; c->up && !done && k < 100; k++)
				if (redisBufferWrite(&c->ac->c, &done) != REDIS_OK)
					break;
			c->ac->data = NULL;
			redisAsyncFree(c->ac);
		}
	}
	free(r->rules_seen);
	free(r->ca_cert);
	free(r->ca_key);
	free(r);
	return NULL;
}
