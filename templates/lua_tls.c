/* lua_tls.c - tls{...}: the TLS pump from templates (see umpa_lua_tls.h).
 *
 * Options (table keys; the long options of `umpa tls` with '_' for '-'):
 *   version ("1.0".."1.3", "TLSv1.2"; pins min and max), min_version,
 *   max_version, ciphers, ciphersuites, groups, sigalgs, key_type ("rsa",
 *   "rsa:N", "ec:P-256", "ec:P-384", "ed25519"), security_level, sni, alpn,
 *   client_cert (boolean), verify (boolean; default false, as the pump's
 *   opts.verify = 0 and umpa tls without --verify: the client verifies the
 *   chain and reports the result, a failure does not stop the handshake;
 *   true: a failure aborts the handshake with an alert), count
 *   (conversations, one after the other; default 1, or 2 with resume),
 *   resume ("id", "ticket", "psk": every conversation after the first
 *   resumes the one before), early_data (string; implies resume="ticket"),
 *   psk ("HEX" or "HEX:IDENTITY", as --psk: an external pre-shared key for
 *   TLS <= 1.2 PSK suites and TLS 1.3; report.psk is "external" when used),
 *   key_update (count, the client sends them), renegotiate (count,
 *   the client starts them), max_record, mss, segment ("random", or a
 *   number: largest segment), reorder, dup, loss (probabilities 0-1),
 *   overlap (boolean), seed, ipv6 (boolean), client and server ("ADDR",
 *   "ADDR:PORT", "[V6]:PORT", ":PORT"), send_client and send_server (the
 *   data itself: a template reads no file, so "@file" is sent as written),
 *   close ("notify", "fin", "reset"), label, time (seconds since the epoch
 *   of the first packet; fractions allowed), rtt (seconds).
 * Settings of one side (versions, ciphers, groups, sigalgs, security_level)
 * apply to both sides; client_X / server_X (version,
 * ciphers, ciphersuites, groups, sigalgs; client_key_type, server_alpn,
 * server_key_update, server_renegotiate) to one side, as --client-X and
 * --server-X do (key_type is the server's, as --key-type).  umpa tls's
 * --interleave has no counterpart: a template that wants conversations at the
 * same time merges their packets itself.  cert, key and ca name files, which
 * the sandbox does not open: they fail with a message saying so.
 *
 * Errors: an unknown key, a value of the wrong type, and what the pump
 * refuses (its messages name the option in CLI spelling, rewritten here to
 * the table key) raise Lua errors naming the script line.  A handshake that
 * fails is not an error: its packets are returned and report.ok is false.
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
 * client_cert; so rsa:4096 once, rsa:8192 never) and run 1000 handshakes
 * (count times 1 + renegotiations).  A call past either is refused before
 * it starts: "tls: key generation limit (16 RSA-2048 keys' worth per
 * evaluation) exceeded ..." / "tls: work limit (1000 handshakes per
 * evaluation) exceeded ...".  Its packets, report and key log count
 * against the memory cap.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_internal.h"
#include "umpa_lua_tls.h"
#include "umpa_tls.h"

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

/* ---- options ---- */

static const char *const tls_keys_[] = {
    "version",
    "min_version",
    "max_version",
    "ciphers",
    "ciphersuites",
    "groups",
    "sigalgs",
    "key_type",
    "security_level",
    "sni",
    "alpn",
    "client_cert",
    "verify",
    "resume",
    "early_data",
    "psk",
    "key_update",
    "renegotiate",
    "max_record",
    "mss",
    "segment",
    "reorder",
    "dup",
    "loss",
    "overlap",
    "seed",
    "ipv6",
    "client",
    "server",
    "send_client",
    "send_server",
    "close",
    "label",
    "time",
    "rtt",
    "cert",
    "key",
    "ca",
    "count",
    "client_version",
    "server_version",
    "client_ciphers",
    "server_ciphers",
    "client_ciphersuites",
    "server_ciphersuites",
    "client_groups",
    "server_groups",
    "client_sigalgs",
    "server_sigalgs",
    "client_key_type",
    "server_alpn",
    "server_key_update",
    "server_renegotiate",
    NULL,
};

static int unknown_key_(lua_State *L, const char *k)
{
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (int i = 0; tls_keys_[i]; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, tls_keys_[i]);
	}
	luaL_pushresult(&b);
	return luaL_error(L, "tls: unknown option '%s' (options: %s)", k, lua_tostring(L, -1));
}

static const char *opt_str_(lua_State *L, const char *k, size_t *len)
{
	if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
		luaL_error(L, "tls: %s: want a string, got a %s", k, luaL_typename(L, -1));
	if (lua_type(L, -1) == LUA_TNUMBER) {
		lua_tolstring(L, -1, NULL); /* converts the stack copy: store it back so the table anchors it */
		lua_pushvalue(L, -2);
		lua_pushvalue(L, -2);
		lua_rawset(L, 1);
	}
	return lua_tolstring(L, -1, len);
}

static lua_Integer opt_int_(lua_State *L, const char *k, lua_Integer lo, lua_Integer hi)
{
	int ok;
	lua_Integer v = lua_tointegerx(L, -1, &ok);

	if (!ok || v < lo || v > hi)
		luaL_error(L, "tls: %s: want an integer from %I to %I", k, lo, hi);
	return v;
}

static double opt_num_(lua_State *L, const char *k, double lo, double hi)
{
	int ok;
	double v = (double)lua_tonumberx(L, -1, &ok);

	if (!ok || !(v >= lo && v <= hi)) {
		char range[64]; /* luaL_error knows no %g */
		snprintf(range, sizeof range, "from %g to %g", lo, hi);
		luaL_error(L, "tls: %s: want a number %s", k, range);
	}
	return v;
}

static int opt_bool_(lua_State *L, const char *k)
{
	if (lua_type(L, -1) != LUA_TBOOLEAN)
		luaL_error(L, "tls: %s: want true or false, got a %s", k, luaL_typename(L, -1));
	return lua_toboolean(L, -1);
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT", ":PORT" into the TCP options of @p side. */
static void opt_endpoint_(lua_State *L, const char *k, const char *s, struct umpa_tcps_opts *t, int side)
{
	char host[64];
	const char *port = NULL;
	size_t hl;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':')) {
			luaL_error(L, "tls: %s: want ADDR, ADDR:PORT or [IPV6]:PORT, got '%s'", k, s);
			return;
		}
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof host) {
			luaL_error(L, "tls: %s: address too long", k);
			return;
		}
		memcpy(host, s + 1, hl);
		port = end[1] ? end + 2 : NULL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':')) /* a bare IPv6 address */
			c = NULL;
		hl = c ? (size_t)(c - s) : strlen(s);
		if (hl >= sizeof host) {
			luaL_error(L, "tls: %s: address too long", k);
			return;
		}
		memcpy(host, s, hl);
		port = c ? c + 1 : NULL;
	}
	host[hl] = '\0';
	if (hl > 0) {
		uint8_t a[16];
		if (inet_pton(AF_INET, host, a) == 1) {
			memset(t->addr[side], 0, 16);
			memcpy(t->addr[side], a, 4);
		} else if (inet_pton(AF_INET6, host, a) == 1) {
			memcpy(t->addr[side], a, 16);
			t->ipv6 = 1;
		} else {
			luaL_error(L, "tls: %s: '%s' is not an IPv4 or IPv6 address", k, host);
		}
	}
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535)
			luaL_error(L, "tls: %s: bad port '%s'", k, port);
		t->port[side] = (uint16_t)p;
	}
}

/* Read the option table at index 1 into @p o (strings stay in the table, which outlives the run). */
/* psk = "HEX[:IDENTITY]" into @p key (64 bytes) and @p o; the identity points into the (anchored) string. */
static void psk_opt_(lua_State *L, const char *v, unsigned char *key, struct umpa_tls_opts *o)
{
	const char *colon = strchr(v, ':');
	size_t hl = colon ? (size_t)(colon - v) : strlen(v), n = 0;

	if (hl == 0 || hl % 2 || hl / 2 > 64 || (colon && !colon[1]))
		luaL_error(L, "tls: psk: want 2 to 128 hex digits (1 to 64 bytes), then optionally :IDENTITY, got '%s'",
			   v);
	for (size_t i = 0; i < hl; i += 2) {
		unsigned x = 0;
		for (size_t j = 0; j < 2; j++) {
			char ch = v[i + j];
			int d = ch >= '0' && ch <= '9'   ? ch - '0'
				: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
				: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
							 : -1;
			if (d < 0)
				luaL_error(L, "tls: psk: '%c' is not a hex digit", ch);
			x = x * 16 + (unsigned)d;
		}
		key[n++] = (unsigned char)x;
	}
	o->psk = key;
	o->psk_len = n;
	o->psk_identity = colon ? colon + 1 : NULL;
}

static void read_opts_(lua_State *L, struct umpa_tls_opts *o, int *count, unsigned char *pskkey)
{
	struct umpa_tls_side *sd = o->side;

	/* two passes: keys for both sides first, then client_X / server_X, which win whatever the table order */
	for (int pass = 0; pass < 2; pass++) {
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			const char *k;
			size_t len;

			if (lua_type(L, -2) != LUA_TSTRING)
				luaL_error(L, "tls: option names are strings (got a %s key)", luaL_typename(L, -2));
			k = lua_tostring(L, -2);
			if ((strncmp(k, "client_", 7) == 0 || strncmp(k, "server_", 7) == 0) != pass) {
				lua_pop(L, 1);
				continue;
			}
			if (strcmp(k, "version") == 0) {
				sd[0].min_version = sd[0].max_version = sd[1].min_version = sd[1].max_version =
				    opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_version") == 0 || strcmp(k, "server_version") == 0) {
				int sd_i = k[0] == 'c' ? UMPA_TCPS_CLIENT : UMPA_TCPS_SERVER;
				sd[sd_i].min_version = sd[sd_i].max_version = opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_ciphers") == 0 || strcmp(k, "server_ciphers") == 0) {
				sd[k[0] == 'c' ? UMPA_TCPS_CLIENT : UMPA_TCPS_SERVER].ciphers = opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_ciphersuites") == 0 || strcmp(k, "server_ciphersuites") == 0) {
				sd[k[0] == 'c' ? UMPA_TCPS_CLIENT : UMPA_TCPS_SERVER].ciphersuites =
				    opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_groups") == 0 || strcmp(k, "server_groups") == 0) {
				sd[k[0] == 'c' ? UMPA_TCPS_CLIENT : UMPA_TCPS_SERVER].groups = opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_sigalgs") == 0 || strcmp(k, "server_sigalgs") == 0) {
				sd[k[0] == 'c' ? UMPA_TCPS_CLIENT : UMPA_TCPS_SERVER].sigalgs = opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_key_type") == 0) {
				sd[UMPA_TCPS_CLIENT].key_type = opt_str_(L, k, NULL);
			} else if (strcmp(k, "server_alpn") == 0) {
				sd[UMPA_TCPS_SERVER].alpn = opt_str_(L, k, NULL);
			} else if (strcmp(k, "server_key_update") == 0) {
				sd[UMPA_TCPS_SERVER].key_updates = (int)opt_int_(L, k, 0, 1000);
			} else if (strcmp(k, "server_renegotiate") == 0) {
				sd[UMPA_TCPS_SERVER].renegotiations = (int)opt_int_(L, k, 0, 100);
			} else if (strcmp(k, "count") == 0) {
				*count = (int)opt_int_(L, k, 1, 10000);
			} else if (strcmp(k, "min_version") == 0) {
				sd[0].min_version = sd[1].min_version = opt_str_(L, k, NULL);
			} else if (strcmp(k, "max_version") == 0) {
				sd[0].max_version = sd[1].max_version = opt_str_(L, k, NULL);
			} else if (strcmp(k, "ciphers") == 0) {
				sd[0].ciphers = sd[1].ciphers = opt_str_(L, k, NULL);
			} else if (strcmp(k, "ciphersuites") == 0) {
				sd[0].ciphersuites = sd[1].ciphersuites = opt_str_(L, k, NULL);
			} else if (strcmp(k, "groups") == 0) {
				sd[0].groups = sd[1].groups = opt_str_(L, k, NULL);
			} else if (strcmp(k, "sigalgs") == 0) {
				sd[0].sigalgs = sd[1].sigalgs = opt_str_(L, k, NULL);
			} else if (strcmp(k, "key_type") == 0) {
				sd[UMPA_TCPS_SERVER].key_type = opt_str_(L, k, NULL);
			} else if (strcmp(k, "security_level") == 0) {
				sd[0].security_level = sd[1].security_level = (int)opt_int_(L, k, 0, 5);
			} else if (strcmp(k, "sni") == 0) {
				o->sni = opt_str_(L, k, NULL);
			} else if (strcmp(k, "alpn") == 0) {
				sd[0].alpn = sd[1].alpn = opt_str_(L, k, NULL);
			} else if (strcmp(k, "client_cert") == 0) {
				o->client_cert = opt_bool_(L, k);
			} else if (strcmp(k, "verify") == 0) {
				o->verify = opt_bool_(L, k);
			} else if (strcmp(k, "resume") == 0) {
				const char *v = opt_str_(L, k, NULL);
				if (strcmp(v, "none") == 0)
					o->resume = UMPA_TLS_RESUME_NONE;
				else if (strcmp(v, "id") == 0)
					o->resume = UMPA_TLS_RESUME_ID;
				else if (strcmp(v, "ticket") == 0)
					o->resume = UMPA_TLS_RESUME_TICKET;
				else if (strcmp(v, "psk") == 0)
					o->resume = UMPA_TLS_RESUME_PSK;
				else
					luaL_error(
					    L, "tls: resume: want \"id\", \"ticket\", \"psk\" or \"none\", got '%s'",
					    v);
			} else if (strcmp(k, "psk") == 0) {
				psk_opt_(L, opt_str_(L, k, NULL), pskkey, o);
			} else if (strcmp(k, "early_data") == 0) {
				o->early_data = opt_str_(L, k, &len);
				o->early_len = len;
			} else if (strcmp(k, "key_update") == 0) {
				sd[UMPA_TCPS_CLIENT].key_updates = (int)opt_int_(L, k, 0, 1000);
			} else if (strcmp(k, "renegotiate") == 0) {
				sd[UMPA_TCPS_CLIENT].renegotiations = (int)opt_int_(L, k, 0, 100);
			} else if (strcmp(k, "max_record") == 0) {
				sd[0].max_record = sd[1].max_record = (size_t)opt_int_(L, k, 512, 16384);
			} else if (strcmp(k, "mss") == 0) {
				o->tcp.mss[0] = o->tcp.mss[1] = (uint16_t)opt_int_(L, k, 64, 65535);
			} else if (strcmp(k, "segment") == 0) {
				if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "random") == 0)
					o->tcp.seg_random = 1;
				else
					o->tcp.seg_max = (uint32_t)opt_int_(L, k, 1, 65535);
			} else if (strcmp(k, "reorder") == 0) {
				o->tcp.reorder = opt_num_(L, k, 0, 1);
			} else if (strcmp(k, "dup") == 0) {
				o->tcp.dup = opt_num_(L, k, 0, 1);
			} else if (strcmp(k, "loss") == 0) {
				o->tcp.loss = opt_num_(L, k, 0, 1);
			} else if (strcmp(k, "overlap") == 0) {
				o->tcp.overlap = opt_bool_(L, k);
			} else if (strcmp(k, "seed") == 0) {
				o->tcp.seed = (uint64_t)opt_int_(L, k, 0, LUA_MAXINTEGER);
			} else if (strcmp(k, "ipv6") == 0) {
				o->tcp.ipv6 = opt_bool_(L, k);
			} else if (strcmp(k, "client") == 0) {
				opt_endpoint_(L, k, opt_str_(L, k, NULL), &o->tcp, UMPA_TCPS_CLIENT);
			} else if (strcmp(k, "server") == 0) {
				opt_endpoint_(L, k, opt_str_(L, k, NULL), &o->tcp, UMPA_TCPS_SERVER);
			} else if (strcmp(k, "send_client") == 0) {
				sd[UMPA_TCPS_CLIENT].data = opt_str_(L, k, &len);
				sd[UMPA_TCPS_CLIENT].data_len = len;
			} else if (strcmp(k, "send_server") == 0) {
				sd[UMPA_TCPS_SERVER].data = opt_str_(L, k, &len);
				sd[UMPA_TCPS_SERVER].data_len = len;
			} else if (strcmp(k, "close") == 0) {
				const char *v = opt_str_(L, k, NULL);
				if (strcmp(v, "notify") == 0)
					o->close = UMPA_TLS_CLOSE_NOTIFY;
				else if (strcmp(v, "fin") == 0)
					o->close = UMPA_TLS_CLOSE_FIN;
				else if (strcmp(v, "reset") == 0)
					o->close = UMPA_TLS_CLOSE_ABORT;
				else
					luaL_error(L, "tls: close: want \"notify\", \"fin\" or \"reset\", got '%s'", v);
			} else if (strcmp(k, "label") == 0) {
				o->label = opt_str_(L, k, NULL);
			} else if (strcmp(k, "time") == 0) {
				double t = opt_num_(L, k, 0, 1e12);
				o->tcp.start_sec = (int64_t)t;
				o->tcp.start_nsec = (int64_t)((t - (double)o->tcp.start_sec) * 1e9 + 0.5);
				if (o->tcp.start_nsec >= 1000000000) {
					o->tcp.start_sec++;
					o->tcp.start_nsec -= 1000000000;
				}
			} else if (strcmp(k, "rtt") == 0) {
				o->tcp.rtt_us = (uint32_t)(opt_num_(L, k, 0, 60) * 1e6 + 0.5);
			} else if (strcmp(k, "cert") == 0 || strcmp(k, "key") == 0 || strcmp(k, "ca") == 0) {
				luaL_error(
				    L, "tls: %s: a template opens no file (sandbox); use key_type, or umpa tls --%s", k,
				    k);
			} else {
				unknown_key_(L, k);
			}
			lua_pop(L, 1);
		}
	}
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

/* The pump names options in CLI spelling ("--ciphers: ..."); a template knows table keys ("ciphers: ..."). */
static void to_table_key_(char *msg)
{
	if (msg[0] != '-' || msg[1] != '-')
		return;
	size_t n = strlen(msg);
	memmove(msg, msg + 2, n - 1);
	for (char *p = msg; *p && *p != ':' && *p != ' '; p++)
		if (*p == '-')
			*p = '_';
}

/* ---- work done on the script's behalf ---- */

/* What one evaluation (one call from the host: a build, a template's callback) may make
 * tls{} do.  The pump's C time is not seen by the instruction budget, so it is bounded
 * here, before it is spent: key generation (an RSA key costs about the cube of its size:
 * RSA-2048 about 0.25 s of CPU, RSA-4096 2 s, RSA-8192 15 s, RSA-16384 minutes) and
 * handshakes (1-5 ms each, more on a loaded machine).  A template that wants many conversations asks one tls{}
 * for count=N: they share one set of keys. */
#define TLS_MAX_HANDSHAKES 1000u                       /* per evaluation; renegotiations count */
#define TLS_KEY_UNIT_RSA2048 8u                        /* key generation is counted in 1/8 of an RSA-2048 key */
#define TLS_MAX_KEY_UNITS (16u * TLS_KEY_UNIT_RSA2048) /* 16 RSA-2048 keys' worth: 8 calls of tls{}, 1 rsa:4096 */

/* The cost of generating a key of @p type ("rsa", "rsa:N", "ec:...", "ed25519"; NULL: rsa)
 * in 1/8 of an RSA-2048 key: 8 (N/2048)^3 for RSA, 1 for the others.  Only an estimate:
 * the pump checks the type itself. */
static unsigned key_cost_(const char *type)
{
	unsigned long bits = 2048;
	double r;

	if (type && strncmp(type, "rsa", 3) != 0)
		return 1;
	if (type && type[3] == ':') {
		bits = strtoul(type + 4, NULL, 10);
		if (bits < 512)
			bits = 512;
		if (bits > 65536)
			bits = 65536;
	}
	r = (double)bits / 2048;
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
	struct umpa_tls_opts o;
	struct umpa_err e = {0};
	struct tlsrun_ *r;
	struct keys_ud_ *k;
	void *ud;
	int count = 0, resume;
	size_t kstart;
	unsigned char pskkey[64];

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	if (umpa_lua_closing_(L)) /* lua_close runs finalizers: what tls{} makes would never be freed */
		return luaL_error(L, "tls: cannot run while the state closes (in a finalizer)");
	umpa_tls_opts_init(&o);
	read_opts_(L, &o, &count, pskkey);
	if (o.early_len && o.resume == UMPA_TLS_RESUME_NONE)
		o.resume = UMPA_TLS_RESUME_TICKET; /* as umpa tls: 0-RTT needs a session to resume */
	resume = o.resume != UMPA_TLS_RESUME_NONE;
	if (!count)
		count = resume ? 2 : 1;
	/* the conversations count time in int64 nanoseconds: keep a year of room after the start
	 * (the option's own range, checked where it is read, is narrower) */
	if (o.tcp.start_sec < 0 || o.tcp.start_sec > INT64_MAX / 1000000000LL - 366LL * 86400)
		return luaL_error(L, "tls: time: %I s since the epoch is past what a nanosecond clock holds",
				  (lua_Integer)o.tcp.start_sec);
	if ((k = keys_get_(L)))
		budget_charge_(L, k, &o, count);

	r = lua_newuserdatauv(L, sizeof *r, 0); /* index 2: owns the pump and the conversation */
	memset(r, 0, sizeof *r);
	luaL_setmetatable(L, MT_TLSRUN);
	lua_newtable(L);              /* index 3: the result */
	lua_createtable(L, count, 0); /* index 4: the reports */
	lua_getallocf(L, &ud);
	r->U = ud;
	r->L = L;
	r->tbl = 3;
	kstart = k ? k->pub.len : 0;

	r->t = umpa_tls_new(&o, &e);
	if (!r->t) {
		to_table_key_(e.msg);
		return luaL_error(L, "tls: %s", e.msg);
	}
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
			;
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

void umpa_lua_tls_open_(struct lua_State *L)
{
	struct keys_ud_ *k;

	luaL_newmetatable(L, MT_TLSRUN);
	lua_pushcfunction(L, tlsrun_gc_);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, MT_TLSRUN);
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
