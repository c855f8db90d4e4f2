/* persona_lua.c - personality() and personality_closed() for templates (persona_lua.h).
 *
 *   personality(addr_or_cidr, name_or_table [, {uptime = seconds}])
 *       binds a personality to a source address or prefix ("10.0.0.5",
 *       "10.0.0.0/24", "fd00::5", "fd00::/64"): every packet the template
 *       sends from there is shaped (templates/umpa_persona.h).  The name is
 *       linux, linux6, windows, freebsd, embedded or nmap:NAME; a table starts from
 *       `base` (default linux) and changes what it names.  nil or "" as the
 *       personality removes the binding.  uptime (default one day) is where
 *       the timestamp clock starts.
 *   personality_closed(p) -> packet or nil
 *       what the host p was sent to answers at a closed port: a RST or an
 *       ICMP port unreachable as its personality gives them (RFC rules
 *       without one), nil where it stays silent.
 */
#include "config.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "persona_lua.h"

/** The default uptime: a day (a TSval of 0 is itself a fingerprint). */
#define DEFAULT_UPTIME_S 86400.0

/* "addr" or "addr/len" -> family, address, prefix length; raises on error. */
static void parse_prefix(lua_State *L, const char *s, int *af, uint8_t *addr, unsigned *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= INET6_ADDRSTRLEN) {
		luaL_error(L, "personality: '%s' is not an address or prefix (10.0.0.5, 10.0.0.0/24, fd00::/64)", s);
		return;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, addr) == 1)
		*af = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*af = AF_INET6;
	else
		luaL_error(L, "personality: '%s' is not an address or prefix (10.0.0.5, 10.0.0.0/24, fd00::/64)", s);
	*plen = *af == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || v < 0 || v > (long)*plen)
			luaL_error(L, "personality: '%s': prefix length 0 to %d", s, (int)*plen);
		*plen = (unsigned)v;
	}
}

static lua_Integer int_key(lua_State *L, int t, const char *k, lua_Integer lo, lua_Integer hi)
{
	int isnum;
	lua_Integer v;

	lua_getfield(L, t, k);
	v = lua_tointegerx(L, -1, &isnum);
	if (!isnum || v < lo || v > hi)
		luaL_error(L, "personality: %s must be an integer from %d to %d", k, (int)lo, (int)hi);
	lua_pop(L, 1);
	return v;
}

static const char *str_key(lua_State *L, int t, const char *k)
{
	const char *s;

	lua_getfield(L, t, k);
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "personality: %s must be a string", k);
	s = lua_tostring(L, -1);
	lua_pop(L, 1); /* still referenced by the table */
	return s;
}

static void opts_key(lua_State *L, int t, const char *k, char *out)
{
	struct umpa_err e = {0};
	const char *s = str_key(L, t, k);

	if (umpa_persona_opts_check(s, &e) < 0)
		luaL_error(L, "personality: %s: %s", k, e.msg);
	snprintf(out, UMPA_PERSONA_OPTS, "%s", s);
}

/* A personality from the table at @t: base, then the keys it changes. */
static void from_table(lua_State *L, int t, struct umpa_persona *p)
{
	static const char *const keys[] = {"base",          "ttl",        "ttl_icmp",   "df",          "window",
					   "synack_window", "syn_window", "options",    "syn_options", "ts_hz",
					   "ipid",          "closed_tcp", "closed_udp", "quote",       NULL};
	struct umpa_err e = {0};
	const char *base = "linux";

	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		int i;
		for (i = 0; keys[i] && (!k || strcmp(k, keys[i])); i++)
			;
		if (!keys[i])
			luaL_error(L,
				   "personality: unknown key '%s' (keys: base, ttl, ttl_icmp, df, window, "
				   "synack_window, syn_window, options, syn_options, ts_hz, ipid, closed_tcp, "
				   "closed_udp, quote)",
				   k ? k : "?");
		lua_pop(L, 1);
	}
	if (lua_getfield(L, t, "base") != LUA_TNIL)
		base = str_key(L, t, "base");
	lua_pop(L, 1);
	if (umpa_persona_get(base, NULL, p, &e) < 0)
		luaL_error(L, "personality: %s", e.msg);
	if (lua_getfield(L, t, "ttl") != LUA_TNIL) {
		uint8_t v = (uint8_t)int_key(L, t, "ttl", 1, 255);
		p->ttl = p->rst_syn.ttl = p->rst_ack.ttl = p->rst_other.ttl = v;
		p->ttl_icmp = p->unreach_ttl = v;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "ttl_icmp") != LUA_TNIL)
		p->ttl_icmp = p->unreach_ttl = (uint8_t)int_key(L, t, "ttl_icmp", 1, 255);
	lua_pop(L, 1);
	if (lua_getfield(L, t, "df") != LUA_TNIL) {
		uint8_t df;
		if (!lua_isboolean(L, -1))
			luaL_error(L, "personality: df must be true or false");
		df = (uint8_t)lua_toboolean(L, -1);
		p->df_tcp = p->df_udp = p->rst_syn.df = p->rst_ack.df = p->rst_other.df = df;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "window") != LUA_TNIL)
		p->win = (uint16_t)int_key(L, t, "window", 0, 65535);
	lua_pop(L, 1);
	if (lua_getfield(L, t, "synack_window") != LUA_TNIL) {
		uint16_t v = (uint16_t)int_key(L, t, "synack_window", 0, 65535);
		for (int i = 0; i < 6; i++)
			p->win_synack[i] = v;
		p->win_nots = v;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "syn_window") != LUA_TNIL)
		p->win_syn = (uint16_t)int_key(L, t, "syn_window", 0, 65535);
	lua_pop(L, 1);
	if (lua_getfield(L, t, "options") != LUA_TNIL) {
		opts_key(L, t, "options", p->opts_synack[0]);
		for (int i = 1; i < 6; i++)
			strcpy(p->opts_synack[i], p->opts_synack[0]);
		p->opts_nots[0] = 0; /* the same layout without timestamps */
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "syn_options") != LUA_TNIL)
		opts_key(L, t, "syn_options", p->opts_syn);
	lua_pop(L, 1);
	if (lua_getfield(L, t, "ts_hz") != LUA_TNIL)
		p->ts_hz = (uint32_t)int_key(L, t, "ts_hz", 0, 1000000);
	lua_pop(L, 1);
	if (lua_getfield(L, t, "ipid") != LUA_TNIL) {
		static const char *const names[] = {"inc", "zero", "random", "randinc", "broken", NULL};
		const char *s = str_key(L, t, "ipid");
		int i;
		for (i = 0; names[i] && strcmp(names[i], s); i++)
			;
		if (!names[i])
			luaL_error(L, "personality: ipid '%s' (inc, zero, random, randinc, broken)", s);
		p->ipid_tcp = p->ipid_closed = p->ipid_icmp = (uint8_t)i;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "closed_tcp") != LUA_TNIL) {
		const char *s = str_key(L, t, "closed_tcp");
		if (strcmp(s, "rst") && strcmp(s, "silent"))
			luaL_error(L, "personality: closed_tcp '%s' (rst, silent)", s);
		p->rst_syn.send = p->rst_ack.send = p->rst_other.send = !strcmp(s, "rst");
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "closed_udp") != LUA_TNIL) {
		const char *s = str_key(L, t, "closed_udp");
		if (strcmp(s, "unreachable") && strcmp(s, "silent"))
			luaL_error(L, "personality: closed_udp '%s' (unreachable, silent)", s);
		p->udp_unreach = !strcmp(s, "unreachable");
	}
	lua_pop(L, 1);
	if (lua_getfield(L, t, "quote") != LUA_TNIL)
		p->unreach_ipl = (uint16_t)(28 + int_key(L, t, "quote", 0, 548));
	lua_pop(L, 1);
	snprintf(p->name, sizeof(p->name), "%s (changed)", base);
}

/* personality(addr_or_cidr, name_or_table [, {uptime=s}]) */
static int l_personality(lua_State *L)
{
	struct umpa_persona_lua *c = lua_touserdata(L, lua_upvalueindex(1));
	const char *a = luaL_checkstring(L, 1);
	struct umpa_persona p;
	struct umpa_err e = {0};
	uint8_t addr[16] = {0};
	unsigned plen = 0;
	double up = DEFAULT_UPTIME_S;
	int af = 0, unbind = 0;

	parse_prefix(L, a, &af, addr, &plen);
	if (lua_isnoneornil(L, 2) || (lua_type(L, 2) == LUA_TSTRING && !*lua_tostring(L, 2))) {
		unbind = 1;
	} else if (lua_type(L, 2) == LUA_TSTRING) {
		if (umpa_persona_get(lua_tostring(L, 2), NULL, &p, &e) < 0)
			return luaL_error(L, "personality: %s", e.msg);
	} else if (lua_type(L, 2) == LUA_TTABLE) {
		from_table(L, 2, &p);
	} else {
		return luaL_error(L, "personality: argument 2 is a name (linux, linux6, windows, freebsd, embedded, "
				     "nmap:NAME) or a table");
	}
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, 3)) {
			if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "uptime"))
				return luaL_error(L, "personality: unknown option '%s' (options: uptime)",
						  lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
			lua_pop(L, 1);
		}
		if (lua_getfield(L, 3, "uptime") != LUA_TNIL) {
			int isnum;
			up = lua_tonumberx(L, -1, &isnum);
			if (!isnum || !(up >= 0) || up > 1e9)
				return luaL_error(L, "personality: uptime must be 0 to 1e9 seconds");
		}
		lua_pop(L, 1);
	}
	if (umpa_persona_bind(c->set, af, addr, plen, unbind ? NULL : &p, (int64_t)llround(up * 1e9), c->now(c->arg),
			      &e) < 0)
		return luaL_error(L, "%s", e.msg);
	if (unbind)
		return 0;
	lua_pushstring(L, p.name);
	return 1;
}

struct closed_ctx {
	struct umpa_persona_lua *c;
	struct umpa_pkt out;
	int rc;
};

static int closed_cb(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct closed_ctx *k = arg;

	k->rc = umpa_persona_closed(k->c->set, p, &k->out, e);
	return k->rc < 0 ? k->rc : 0;
}

/* Protected part of personality_closed: build, then push (both may raise). */
static int closed_protected(lua_State *L)
{
	struct closed_ctx *k = lua_touserdata(L, 2);
	struct umpa_err e = {0};

	if (umpa_lua_build_value(L, 1, 1, closed_cb, k) != 1)
		return luaL_error(L, "personality_closed: give one received packet");
	if (k->rc != 1)
		return 0;
	if (umpa_lua_push_pkt(k->c->U, &k->out, &e) < 0)
		return luaL_error(L, "personality_closed: %s", e.msg);
	return 1;
}

/* personality_closed(p) -> packet or nil */
static int l_personality_closed(lua_State *L)
{
	struct closed_ctx k = {.c = lua_touserdata(L, lua_upvalueindex(1))};
	int st, n;

	luaL_checkany(L, 1);
	lua_settop(L, 1);
	umpa_pkt_init(&k.out);
	/* the packet built in C is freed on every path, errors included */
	lua_pushcfunction(L, closed_protected);
	lua_pushvalue(L, 1);
	lua_pushlightuserdata(L, &k);
	st = lua_pcall(L, 2, LUA_MULTRET, 0);
	umpa_pkt_release(&k.out);
	if (st != LUA_OK)
		return lua_error(L);
	n = lua_gettop(L) - 1;
	if (n == 0)
		lua_pushnil(L);
	return 1;
}

int umpa_persona_lua_open_(lua_State *L, struct umpa_persona_lua *ctx)
{
	lua_pushlightuserdata(L, ctx);
	lua_pushcclosure(L, l_personality, 1);
	lua_setglobal(L, "personality");
	lua_pushlightuserdata(L, ctx);
	lua_pushcclosure(L, l_personality_closed, 1);
	lua_setglobal(L, "personality_closed");
	return 0;
}
