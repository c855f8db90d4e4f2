/* lua_tls.c - tls{...}: the TLS pump from templates (see umpa_lua_tls.h).
 *
 * Options: the keys of the TLS option table (sched/umpa_tls_opts.h, the
 * same table `umpa tls` takes its long options from, '-' spelled '_'):
 * version, ciphers, key_type ("rsa:3072", "ec:P-384", "p384", "ed25519"
 * ...), count, resume, psk, client, server, time, ...; client_X / server_X
 * for one side win over the key for both sides whatever the table order.
 * Values are strings, numbers (formatted exactly and parsed by the table's
 * one number parser, with the same ranges as the command line) or booleans
 * (on/off keys).  send_client, send_server and early_data are the data
 * itself (no escapes, no "@file": a template reads no file).  Keys that
 * name a file (cert, key, ca, client_key, client_ca, client_cert=FILE) fail:
 * the sandbox opens no file.  umpa tls's --interleave has no counterpart: a
 * template that wants conversations at the same time merges their packets
 * itself.  count is at most 10000 per call here (umpa tls allows more).
 *
 * Errors: an unknown key raises "tls: unknown option 'K' (options: ...)";
 * a bad value, and what the pump refuses, raise "tls{KEY=...}: why" (the
 * table's and the pump's messages name the key; the script line comes
 * first).  A handshake that fails is not an error: its packets are
 * returned and report.ok is false.
 *
 * Safety: the pump and the conversation are held by a userdata whose __gc
 * frees them, so a Lua error cannot leak them; packets reach Lua through a
 * protected call, so no error unwinds through OpenSSL's frames.  tls{} does
 * not run from a finalizer at close (its objects would never be freed).
 *
 * Budget: the pump's C work is invisible to the instruction count, so each
 * evaluation (each call from the host) may make tls{} generate keys worth
 * 16 RSA-2048 keys (RSA-N costs (N/2048)^3 of them, other types 1/8: a call
 * makes a CA and a server key of key_type, and a client key with
 * client_cert; so rsa:4096 once, rsa:8192 never) and run 500 handshakes
 * (count times 1 + renegotiations).  A call past either is refused before
 * it starts: "tls: key generation limit (16 RSA-2048 keys' worth per
 * evaluation) exceeded ..." / "tls: work limit (500 handshakes per
 * evaluation) exceeded ...".  Its packets, report and key log count
 * against the memory cap; its C time counts against the script's time
 * limits, checked between the pump's flights (umpa_lua_charge_).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_internal.h"
#include "umpa_near.h"
#include "umpa_lua_tls.h"
#include "umpa_tls.h"
#include "umpa_tls_opts.h"

#define MT_TLSRUN "umpa.tlsrun"
#define MT_TLSKEYS "umpa.tlskeys"

/* Registry key of the state's key collector (a full userdata). */
static const char keys_key_;

/* The collector: a struct umpa_lua_tls_keys and its buffer's capacity (charged to the
 * script's memory cap); and the state's tls{} work of the current evaluation. */
struct keys_ud_ {
	struct umpa_lua_tls_keys pub;
	char *buf;
	size_t cap;
	unsigned long long eval; /* umpa_lua_eval_ when the counts below restarted */
	unsigned handshakes;     /* handshakes run (renegotiations count) */
	unsigned key_units;      /* keys generated, in 1/8 of an RSA-2048 key */
};

static int keys_gc_(lua_State *L)
{
	struct keys_ud_ *k = luaL_checkudata(L, 1, MT_TLSKEYS);

	umpa_lua_mem_release_(L, k->cap);
	free(k->buf);
	k->buf = NULL;
	k->pub.text = NULL;
	k->pub.len = k->cap = 0;
	return 0;
}

static struct keys_ud_ *keys_get_(lua_State *L)
{
	struct keys_ud_ *k;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &keys_key_);
	k = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return k;
}

const struct umpa_lua_tls_keys *umpa_lua_tls_keys(struct umpa_lua *U)
{
	struct keys_ud_ *k = keys_get_(umpa_lua_state(U));

	return k ? &k->pub : NULL;
}

/* Append @p n bytes to the collector; -1 when out of memory.  The growth is charged to the
 * memory cap of @p L first (raises when it does not fit). */
static int keys_add_(lua_State *L, struct keys_ud_ *k, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (k->pub.len + n > k->cap) {
		size_t cap = k->cap ? k->cap : 1024;
		while (cap < k->pub.len + n)
			cap *= 2;
		umpa_lua_mem_charge_(L, cap - k->cap);
		char *b = realloc(k->buf, cap);
		if (!b) {
			umpa_lua_mem_release_(L, cap - k->cap);
			return -1;
		}
		k->buf = b;
		k->cap = cap;
		k->pub.text = b;
	}
	memcpy(k->buf + k->pub.len, s, n);
	k->pub.len += n;
	return 0;
}

/* ---- one run: the pump and its reports, owned by a userdata ---- */

struct tlsrun_ {
	struct umpa_tls *t;
	struct umpa_tls_conv *c;
	struct umpa_tls_report rep; /* the last conversation's, copied before it is freed */
	/* while the pump runs: where packets go */
	lua_State *L;
	int tbl;            /* absolute index of the result table */
	lua_Integer n;      /* packets stored */
	struct umpa_lua *U; /* for umpa_lua_push_pkt */
};

static int tlsrun_gc_(lua_State *L)
{
	struct tlsrun_ *r = luaL_checkudata(L, 1, MT_TLSRUN);

	r->c = umpa_tls_conv_free(r->c);
	r->t = umpa_tls_free(r->t);
	return 0;
}

/* Protected: push packet (light userdata 2) as an object into table 1 at index 3. */
static int store_run_(lua_State *L)
{
	struct umpa_err e = {0};
	void *ud;

	lua_getallocf(L, &ud); /* templates/lua.c makes the state with its struct umpa_lua as allocator data */
	if (umpa_lua_push_pkt(ud, lua_touserdata(L, 2), &e) < 0)
		return luaL_error(L, "%s", e.msg);
	lua_rawseti(L, 1, lua_tointeger(L, 3));
	return 0;
}

/* The pump's emit callback: the packet into the result table, no error escaping as a longjmp. */
static int emit_(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct tlsrun_ *r = arg;
	lua_State *L = r->L;
	int st;

	(void)comment;
	if (!lua_checkstack(L, 4))
		return umpa_err_set(e, UMPA_ENOMEM, "tls: Lua stack full");
	lua_pushcfunction(L, store_run_);
	lua_pushvalue(L, r->tbl);
	lua_pushlightuserdata(L, (void *)(uintptr_t)p);
	lua_pushinteger(L, r->n + 1);
	st = lua_pcall(L, 3, 0, 0);
	if (st != LUA_OK) {
		umpa_err_set(e, st == LUA_ERRMEM ? UMPA_ENOMEM : UMPA_EINVAL, "%s",
			     lua_isstring(L, -1) ? lua_tostring(L, -1) : "cannot store a packet");
		lua_pop(L, 1);
		return -e->code;
	}
	r->n++;
	return 0;
}

/* ---- options: read through the option table (sched/umpa_tls_opts.h) ---- */

#define MT_TLSCONF "umpa.tlsconf"

/* A template asks for at most this many conversations per call (the table allows more to umpa tls). */
#define LUA_TLS_MAX_COUNT 10000

static int conf_gc_(lua_State *L)
{
	umpa_tls_conf_free(luaL_checkudata(L, 1, MT_TLSCONF));
	return 0;
}

static int unknown_key_(lua_State *L, const char *k)
{
	luaL_Buffer b;
	struct umpa_near n;
	char near[UMPA_NEAR_MAX + 1];
	const char *best;

	umpa_near_init(&n, k);
	luaL_buffinit(L, &b);
	for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; d->key; d++) {
		if (d != umpa_tls_optdefs)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, d->key);
		umpa_near_str(&n, d->key);
	}
	luaL_pushresult(&b);
	best = umpa_near_best(&n, near, sizeof near);
	return luaL_error(L, "tls: unknown option '%s' (" UMPA_NEAR_FMT "options: %s)", k, UMPA_NEAR_ARGS(best),
			  lua_tostring(L, -1));
}

/* Raise an error of the table or the pump as "tls{KEY=...}: why" (the key the script gave). */
static int opt_error_(lua_State *L, const struct umpa_tls_conf *c, const struct umpa_err *e)
{
	const char *rest = NULL;
	const struct umpa_tls_optdef *d = umpa_tls_opt_from_msg(e->msg, c, &rest);

	if (d)
		return luaL_error(L, "tls{%s=...}: %s", d->key, rest);
	return luaL_error(L, "tls: %s", strncmp(e->msg, "tls: ", 5) ? e->msg : e->msg + 5);
}

/* Which files an option may name (tls.serve under --allow-read); NULL: none (tls{}). */
struct file_ok_ {
	int (*ok)(void *arg, const char *path);
	void *arg;
};

/* The value at the top of the stack into option @p d of @p c. */
static void opt_value_(lua_State *L, const struct umpa_tls_optdef *d, struct umpa_tls_conf *c,
		       const struct file_ok_ *fo)
{
	struct umpa_err e = {0};
	int t = lua_type(L, -1), rc;

	if ((d->flags & UMPA_TLS_OPT_FILE) && t == LUA_TSTRING && fo && !fo->ok(fo->arg, lua_tostring(L, -1)))
		luaL_error(L, "tls{%s=...}: '%s' is not a readable file under the --allow-read directories", d->key,
			   lua_tostring(L, -1));
	if ((d->flags & UMPA_TLS_OPT_FILE) && t != LUA_TBOOLEAN && !fo)
		luaL_error(L, "tls{%s=...}: a template opens no file (sandbox); use key_type, or umpa tls --%s", d->key,
			   d->cli);
	if (d->type == UMPA_TLS_OT_BOOL) {
		if (t != LUA_TBOOLEAN)
			luaL_error(L, "tls{%s=...}: want true or false, got a %s", d->key, luaL_typename(L, -1));
		rc = umpa_tls_opt_set_bool(d, c, lua_toboolean(L, -1), &e);
	} else if (t == LUA_TSTRING) {
		size_t len;
		const char *v = lua_tolstring(L, -1, &len); /* anchored in the option table while the pump is built */
		rc = umpa_tls_opt_set(d, c, v, len, UMPA_TLS_SET_BORROW, &e);
	} else if (t == LUA_TNUMBER) {
		char buf[64];
		if (lua_isinteger(L, -1)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)lua_tointeger(L, -1));
		} else {
			double x = (double)lua_tonumber(L, -1);
			for (int prec = 14; prec <= 17; prec++) /* the shortest text that reads back as x */
				if (snprintf(buf, sizeof(buf), "%.*g", prec, x) > 0 && strtod(buf, NULL) == x)
					break;
		}
		rc = umpa_tls_opt_set(d, c, buf, strlen(buf), 0, &e);
	} else {
		luaL_error(L, "tls{%s=...}: want a %s, got a %s", d->key,
			   d->type == UMPA_TLS_OT_INT || d->type == UMPA_TLS_OT_NUM ? "number" : "string",
			   luaL_typename(L, -1));
		return;
	}
	if (rc < 0)
		opt_error_(L, c, &e);
}

/*
 * Read the option table at index 1 into a new conf, left at the top of the
 * stack (a userdata whose __gc frees it, so an error cannot leak it).  Keys
 * for both sides first, then client_X / server_X, which win whatever the
 * table order.  Strings stay in the option table, which outlives the run.
 */
static struct umpa_tls_conf *read_opts_(lua_State *L, const struct file_ok_ *fo)
{
	struct umpa_tls_conf *c = lua_newuserdatauv(L, sizeof(*c), 0);
	struct umpa_err e = {0};
	int ci = lua_gettop(L);

	umpa_tls_conf_init(c, &e);
	luaL_setmetatable(L, MT_TLSCONF);
	for (int pass = 0; pass < 2; pass++) {
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			const struct umpa_tls_optdef *d;
			if (lua_type(L, -2) != LUA_TSTRING)
				luaL_error(L, "tls: option names are strings (got a %s key)", luaL_typename(L, -2));
			d = umpa_tls_opt_find(lua_tostring(L, -2));
			if (!d)
				unknown_key_(L, lua_tostring(L, -2));
			if (!!(d->flags & UMPA_TLS_OPT_SIDED) == pass)
				opt_value_(L, d, c, fo);
			lua_pop(L, 1);
		}
	}
	if (umpa_tls_conf_finish(c, &e) < 0)
		opt_error_(L, c, &e);
	if (c->count > LUA_TLS_MAX_COUNT)
		luaL_error(L, "tls{count=...}: '%d' is more than a template runs in one call (1..%d)", c->count,
			   LUA_TLS_MAX_COUNT);
	lua_settop(L, ci);
	return c;
}

struct read_cb_ {
	void (*cb)(const struct umpa_tls_conf *c, void *arg);
	void *arg;
};

/* Protected: read the table at 1 (light userdata 2: struct read_cb_) and hand the conf over. */
static int read_only_(lua_State *L)
{
	struct read_cb_ *r = lua_touserdata(L, 2);
	struct umpa_tls_conf *c;

	lua_remove(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	c = read_opts_(L, NULL);
	if (r->cb)
		r->cb(c, r->arg);
	return 0;
}

int umpa_lua_tls_read_(struct umpa_lua *U, const char *chunk, void (*cb)(const struct umpa_tls_conf *c, void *arg),
		       void *arg, struct umpa_err *e)
{
	lua_State *L = umpa_lua_state(U);
	struct read_cb_ r = {cb, arg};
	int top = lua_gettop(L), st;

	st = luaL_loadbuffer(L, chunk, strlen(chunk), "=t.lua");
	if (st == LUA_OK)
		st = lua_pcall(L, 0, 1, 0);
	if (st == LUA_OK) {
		lua_pushcfunction(L, read_only_);
		lua_insert(L, -2);
		lua_pushlightuserdata(L, &r);
		st = lua_pcall(L, 2, 0, 0);
	}
	if (st != LUA_OK)
		umpa_err_set(e, UMPA_EINVAL, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
	lua_settop(L, top);
	return st == LUA_OK ? 0 : -1;
}

/* ---- results ---- */

#define SETS_(L, name, s) (lua_pushstring(L, s), lua_setfield(L, -2, name))
#define SETI_(L, name, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, name))
#define SETB_(L, name, v) (lua_pushboolean(L, v), lua_setfield(L, -2, name))

static void push_chain_(lua_State *L, const struct umpa_tls_cert *c, size_t n)
{
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n && i < UMPA_TLS_MAX_CHAIN; i++) {
		lua_createtable(L, 0, 6);
		SETS_(L, "subject", c[i].subject);
		SETS_(L, "issuer", c[i].issuer);
		SETS_(L, "not_before", c[i].not_before);
		SETS_(L, "not_after", c[i].not_after);
		SETS_(L, "key_type", c[i].key_type);
		SETI_(L, "key_bits", c[i].key_bits);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

static void push_report_(lua_State *L, const struct umpa_tls_report *r)
{
	lua_createtable(L, 0, 24);
	SETB_(L, "ok", r->handshake_ok);
	SETS_(L, "error", r->error);
	SETS_(L, "alert", r->alert);
	SETS_(L, "version", r->version);
	SETS_(L, "cipher", r->cipher);
	SETS_(L, "cipher_iana", r->cipher_iana);
	SETS_(L, "group", r->group);
	SETS_(L, "sigalg", r->sigalg);
	SETS_(L, "alpn", r->alpn);
	SETS_(L, "sni", r->sni);
	SETB_(L, "resumed", r->resumed);
	SETS_(L, "psk", r->psk);
	SETI_(L, "early_data", r->early_data);
	SETI_(L, "verify_result", r->verify_result);
	SETS_(L, "verify_reason", r->verify_reason);
	SETI_(L, "client_verify_result", r->client_verify_result);
	SETI_(L, "client_bytes", r->app_bytes[UMPA_TCPS_CLIENT]);
	SETI_(L, "server_bytes", r->app_bytes[UMPA_TCPS_SERVER]);
	SETI_(L, "packets", r->packets);
	SETI_(L, "key_updates", r->key_updates);
	SETI_(L, "renegotiations", r->renegotiations);
	SETI_(L, "client_port", r->port[UMPA_TCPS_CLIENT]);
	SETI_(L, "server_port", r->port[UMPA_TCPS_SERVER]);
	push_chain_(L, r->server_chain, r->n_server_chain);
	lua_setfield(L, -2, "server_chain");
	push_chain_(L, r->client_chain, r->n_client_chain);
	lua_setfield(L, -2, "client_chain");
}

/* ---- work done on the script's behalf ---- */

/* What one evaluation (one call from the host: a build, a template's callback) may make
 * tls{} do.  The pump's C time is not seen by the instruction budget, so it is bounded
 * here, before it is spent: key generation (an RSA key costs about the cube of its size:
 * RSA-2048 about 0.25 s of CPU, RSA-4096 2 s, RSA-8192 15 s, RSA-16384 minutes) and
 * handshakes (1-5 ms each, more on a loaded machine).  A template that wants many conversations asks one tls{}
 * for count=N: they share one set of keys. */
#define TLS_MAX_HANDSHAKES 500u                        /* per evaluation; renegotiations count */
#define TLS_KEY_UNIT_RSA2048 8u                        /* key generation is counted in 1/8 of an RSA-2048 key */
#define TLS_MAX_KEY_UNITS (16u * TLS_KEY_UNIT_RSA2048) /* 16 RSA-2048 keys' worth: 8 calls of tls{}, 1 rsa:4096 */

/* The cost of generating a key of @p type (umpa_tls_keytype_parse's names; NULL: rsa) in 1/8
 * of an RSA-2048 key: 8 (N/2048)^3 for RSA-N, 1 for the others.  A type the parser refuses
 * costs 1: the pump refuses it too, before generating anything. */
static unsigned key_cost_(const char *type)
{
	char canon[64];
	double r;

	if (umpa_tls_keytype_parse(type ? type : "rsa", 0, canon, sizeof(canon), NULL) < 0 ||
	    strncmp(canon, "rsa:", 4) != 0)
		return 1;
	r = (double)strtoul(canon + 4, NULL, 10) / 2048;
	r = r * r * r * TLS_KEY_UNIT_RSA2048;
	return r < 1 ? 1 : (unsigned)(r + 0.5);
}

/* Charge the work of a tls{} call with options @p o and @p count conversations to the
 * evaluation's budget (kept in @p k), or raise naming the limit; nothing is charged then. */
static void budget_charge_(lua_State *L, struct keys_ud_ *k, const struct umpa_tls_opts *o, int count)
{
	const struct umpa_tls_side *sd = o->side;
	unsigned long long hs, keys;

	if (k->eval != umpa_lua_eval_(L)) {
		k->eval = umpa_lua_eval_(L);
		k->handshakes = k->key_units = 0;
	}
	/* a CA and the server's leaf, both of the server's key type; the client's with client_cert */
	keys = 2ull * key_cost_(sd[UMPA_TCPS_SERVER].key_type);
	if (o->client_cert)
		keys += key_cost_(sd[UMPA_TCPS_CLIENT].key_type);
	hs = (unsigned long long)count * (1ull + (unsigned)sd[0].renegotiations + (unsigned)sd[1].renegotiations);
	if (keys > TLS_MAX_KEY_UNITS - k->key_units)
		luaL_error(L,
			   "tls: key generation limit (%d RSA-2048 keys' worth per evaluation) exceeded: this call "
			   "needs %d%s, %d left (key_type \"%s\")",
			   (int)(TLS_MAX_KEY_UNITS / TLS_KEY_UNIT_RSA2048), (int)(keys / TLS_KEY_UNIT_RSA2048),
			   keys % TLS_KEY_UNIT_RSA2048 ? ".x" : "",
			   (int)((TLS_MAX_KEY_UNITS - k->key_units) / TLS_KEY_UNIT_RSA2048),
			   sd[UMPA_TCPS_SERVER].key_type ? sd[UMPA_TCPS_SERVER].key_type : "rsa");
	if (hs > TLS_MAX_HANDSHAKES - k->handshakes)
		luaL_error(L,
			   "tls: work limit (%d handshakes per evaluation) exceeded: this call needs %I, %d left "
			   "(count times 1 + renegotiations)",
			   (int)TLS_MAX_HANDSHAKES, (lua_Integer)hs, (int)(TLS_MAX_HANDSHAKES - k->handshakes));
	k->key_units += (unsigned)keys;
	k->handshakes += (unsigned)hs;
}

/* tls{...}: see the file comment. */
static int l_tls_(lua_State *L)
{
	struct umpa_tls_conf *conf;
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct tlsrun_ *r;
	struct keys_ud_ *k;
	void *ud;
	int count, resume;
	size_t kstart;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	if (umpa_lua_closing_(L)) /* lua_close runs finalizers: what tls{} makes would never be freed */
		return luaL_error(L, "tls: cannot run while the state closes (in a finalizer)");
	conf = read_opts_(L, NULL); /* index 2 until the run owns it */
	o = conf->o;
	count = conf->count;
	resume = o.resume != UMPA_TLS_RESUME_NONE;
	if ((k = keys_get_(L)))
		budget_charge_(L, k, &o, count);

	r = lua_newuserdatauv(L, sizeof *r, 1); /* owns the pump and the conversation */
	memset(r, 0, sizeof *r);
	luaL_setmetatable(L, MT_TLSRUN);
	lua_rotate(L, 2, 1); /* the run to index 2, the conf (what o points into) its user value */
	lua_setiuservalue(L, 2, 1);
	lua_newtable(L);              /* index 3: the result */
	lua_createtable(L, count, 0); /* index 4: the reports */
	lua_getallocf(L, &ud);
	r->U = ud;
	r->L = L;
	r->tbl = 3;
	kstart = k ? k->pub.len : 0;

	r->t = umpa_tls_new(&o, &e);
	if (!r->t)
		return opt_error_(L, conf, &e);
	umpa_lua_charge_(L, 1000, "tls"); /* key generation took time too */
	/* as umpa tls -n: one after the other, 1 ms apart, TCP seed + i, client port + i when given */
	int64_t next_ns = o.tcp.start_sec * 1000000000LL + o.tcp.start_nsec;
	for (int i = 0; i < count; i++) {
		struct umpa_tcps_opts tcp = o.tcp;
		size_t klen = 0;
		const char *kl;
		int rc;

		tcp.seed = o.tcp.seed + (uint64_t)i;
		if (o.tcp.port[UMPA_TCPS_CLIENT])
			tcp.port[UMPA_TCPS_CLIENT] =
			    (uint16_t)(1024 +
				       ((unsigned)o.tcp.port[UMPA_TCPS_CLIENT] - 1024 + (unsigned)i) % (65536 - 1024));
		tcp.start_sec = next_ns / 1000000000LL;
		tcp.start_nsec = next_ns % 1000000000LL;
		r->c = umpa_tls_conv_new(r->t, &tcp, resume && i > 0, emit_, r, &e);
		if (!r->c)
			return luaL_error(L, "tls: conversation %d: %s", i + 1, e.msg);
		while ((rc = umpa_tls_conv_step(r->c, &e)) > 0)
			umpa_lua_charge_(L, 1000, "tls"); /* the script's time limits, between flights */
		if (rc < 0)
			return luaL_error(L, "tls: conversation %d: %s", i + 1, e.msg);
		next_ns = umpa_tls_conv_now_ns(r->c) + 1000000;
		kl = umpa_tls_conv_keylog(r->c, &klen);
		if (k && keys_add_(L, k, kl, klen) < 0)
			return luaL_error(L, "tls: no memory for the key log");
		r->rep = *umpa_tls_conv_report(r->c);
		r->c = umpa_tls_conv_free(r->c);
		push_report_(L, &r->rep);
		lua_rawseti(L, 4, i + 1);
	}
	r->t = umpa_tls_free(r->t);
	lua_pushvalue(L, 4);
	lua_setfield(L, 3, "reports");
	lua_rawgeti(L, 4, 1);
	lua_setfield(L, 3, "report");
	if (k && k->pub.len > kstart)
		lua_pushlstring(L, k->pub.text + kstart, k->pub.len - kstart);
	else
		lua_pushliteral(L, "");
	lua_setfield(L, 3, "keylog");
	lua_pushvalue(L, 3);
	return 1;
}

/* Protected body of umpa_lua_tls_pump_: option table at 1, struct file_ok_ at 2, self_signed at 3. */
static int pump_build_(lua_State *L)
{
	const struct file_ok_ *fo = lua_touserdata(L, 2);
	int self = lua_toboolean(L, 3);
	struct umpa_tls_conf *conf;
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct tlsrun_ *r;
	struct keys_ud_ *k;

	lua_settop(L, 1);
	luaL_checktype(L, 1, LUA_TTABLE);
	if (umpa_lua_closing_(L))
		return luaL_error(L, "tls: cannot run while the state closes (in a finalizer)");
	conf = read_opts_(L, fo->ok ? fo : NULL); /* index 2 */
	o = conf->o;
	if (self && !o.side[UMPA_TCPS_SERVER].cert_file)
		o.self_signed = 1;
	if ((k = keys_get_(L)))
		budget_charge_(L, k, &o, 0);
	r = lua_newuserdatauv(L, sizeof *r, 0);
	memset(r, 0, sizeof *r);
	luaL_setmetatable(L, MT_TLSRUN);
	r->t = umpa_tls_new(&o, &e);
	if (!r->t)
		return opt_error_(L, conf, &e);
	umpa_lua_charge_(L, 1000, "tls");
	return 1;
}

struct umpa_tls *umpa_lua_tls_pump_(struct lua_State *L, int idx, int self_signed,
				    int (*file_ok)(void *arg, const char *path), void *arg)
{
	struct file_ok_ fo = {file_ok, arg};

	idx = lua_absindex(L, idx);
	lua_pushcfunction(L, pump_build_);
	lua_pushvalue(L, idx);
	lua_pushlightuserdata(L, &fo);
	lua_pushboolean(L, self_signed);
	lua_call(L, 3, 1);
	return ((struct tlsrun_ *)luaL_checkudata(L, -1, MT_TLSRUN))->t;
}

struct umpa_tls *umpa_lua_tls_pump_get_(struct lua_State *L, int idx)
{
	return ((struct tlsrun_ *)luaL_checkudata(L, idx, MT_TLSRUN))->t;
}

void umpa_lua_tls_open_(struct lua_State *L)
{
	struct keys_ud_ *k;

	luaL_newmetatable(L, MT_TLSRUN);
	lua_pushcfunction(L, tlsrun_gc_);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, MT_TLSRUN);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	luaL_newmetatable(L, MT_TLSCONF);
	lua_pushcfunction(L, conf_gc_);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, MT_TLSCONF);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	luaL_newmetatable(L, MT_TLSKEYS);
	lua_pushcfunction(L, keys_gc_);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	k = lua_newuserdatauv(L, sizeof *k, 0);
	memset(k, 0, sizeof *k);
	luaL_setmetatable(L, MT_TLSKEYS);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &keys_key_);
	lua_register(L, "tls", l_tls_);
}
