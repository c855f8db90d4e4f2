/* proxy_lua.c - Lua modules for the proxy (umpa_proxy_lua.h). */
#include "umpa_proxy_lua.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_lua.h"

/* templates/proxy_mods.c, generated from templates/proxy/NAME.lua */
struct umpa_proxy_modsrc_ {
	const char *name;
	const char *src;
};
extern const struct umpa_proxy_modsrc_ umpa_proxy_modsrcs_[];

struct umpa_proxy_mods {
	struct umpa_lua *U;
	lua_State *L;
	umpa_proxy_mods_log_fn log;
	void *log_arg;
	int chains;    /* registry ref of {[0] = {spec...}, [1] = {...}} */
	unsigned n[2]; /* modules per direction */
};

/* What one connection keeps. */
struct pm_conn {
	struct umpa_proxy_mods *m;
	int ref;   /* registry ref of the connection's state table */
	char *buf; /* the last forwarded chunk (hooks own their output) */
	size_t cap;
	char redirect[300]; /* "HOST:PORT" a module asked for (conn:redirect), "" for none */
};

const char *umpa_proxy_mod_builtin(const char *name)
{
	const struct umpa_proxy_modsrc_ *s;
	for (s = umpa_proxy_modsrcs_; s->name; s++)
		if (!strcmp(s->name, name))
			return s->src;
	return NULL;
}

static int l_log(lua_State *L)
{
	struct umpa_proxy_mods *m = lua_touserdata(L, lua_upvalueindex(1));
	const char *s = luaL_checkstring(L, 1);
	if (m->log)
		m->log(m->log_arg, s);
	return 0;
}

/* proxy.base64(data): the standard alphabet with padding (in C: the log module's hot path). */
static int l_base64(lua_State *L)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n, i, k = 0;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *o = luaL_buffinitsize(L, &b, (n + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		o[k++] = tab[v >> 18];
		o[k++] = tab[v >> 12 & 63];
		o[k++] = tab[v >> 6 & 63];
		o[k++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		o[k++] = tab[v >> 18];
		o[k++] = tab[v >> 12 & 63];
		o[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		o[k++] = '=';
	}
	luaL_pushresultsize(&b, k);
	return 1;
}

/* Call global function @p fn with @p nargs arguments already pushed above it. */
static int call_global(struct umpa_proxy_mods *m, const char *fn, int nargs, int nres, struct umpa_err *e)
{
	lua_getglobal(m->L, fn);
	lua_insert(m->L, -1 - nargs);
	return umpa_lua_pcall(m->U, nargs, nres, "proxy module", e);
}

int umpa_proxy_mods_load(struct umpa_proxy_mods *m, const char *name, const char *src, size_t len,
			 const char *chunkname, struct umpa_err *e)
{
	char cn[300];
	snprintf(cn, sizeof(cn), "=%s", chunkname ? chunkname : name);
	if (luaL_loadbufferx(m->L, src, len, cn, "t") != LUA_OK) {
		umpa_err_set(e, UMPA_EINVAL, "module '%s': %s", name, lua_tostring(m->L, -1));
		lua_pop(m->L, 1);
		return -UMPA_EINVAL;
	}
	if (umpa_lua_pcall(m->U, 0, 1, cn + 1, e) < 0)
		return -UMPA_EINVAL;
	lua_pushstring(m->L, name);
	lua_insert(m->L, -2);
	return call_global(m, "__proxy_register", 2, 0, e) < 0 ? -UMPA_EINVAL : 0;
}

static int have_module(struct umpa_proxy_mods *m, const char *name)
{
	int t;
	lua_getglobal(m->L, "__proxy_mods");
	t = lua_getfield(m->L, -1, name);
	lua_pop(m->L, 2);
	return t != LUA_TNIL;
}

/* Make sure @p name is registered (a built-in is loaded on first use).  0, or -UMPA_ENOENT. */
static int need_module(struct umpa_proxy_mods *m, const char *name, struct umpa_err *e)
{
	const char *src;
	if (have_module(m, name))
		return 0;
	if (!(src = umpa_proxy_mod_builtin(name)))
		return umpa_err_set(e, UMPA_ENOENT, "module '%s' does not exist (umpa proxy --list-modules)", name);
	return umpa_proxy_mods_load(m, name, src, strlen(src), name, e);
}

struct umpa_proxy_mods *umpa_proxy_mods_new(umpa_proxy_mods_log_fn log, void *arg, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = calloc(1, sizeof(*m));
	struct umpa_lua_deadline dl = {1, 2, 0};
	const char *pre = umpa_proxy_mod_builtin("prelude");
	if (!m) {
		umpa_err_set(e, UMPA_ENOMEM, "proxy modules: out of memory");
		return NULL;
	}
	m->log = log;
	m->log_arg = arg;
	m->chains = LUA_NOREF;
	if (!(m->U = umpa_lua_open(e)) || umpa_lua_set_deadline(m->U, &dl, e) < 0)
		return umpa_proxy_mods_free(m);
	m->L = umpa_lua_state(m->U);
	lua_newtable(m->L);
	lua_pushlightuserdata(m->L, m);
	lua_pushcclosure(m->L, l_log, 1);
	lua_setfield(m->L, -2, "log");
	lua_pushcfunction(m->L, l_base64);
	lua_setfield(m->L, -2, "base64");
	lua_setglobal(m->L, "proxy");
	if (!pre || umpa_lua_run(m->U, pre, strlen(pre), "prelude.lua", e) < 0)
		return umpa_proxy_mods_free(m);
	lua_createtable(m->L, 0, 2);
	lua_newtable(m->L);
	lua_rawseti(m->L, -2, 0);
	lua_newtable(m->L);
	lua_rawseti(m->L, -2, 1);
	m->chains = luaL_ref(m->L, LUA_REGISTRYINDEX);
	return m;
}

struct umpa_proxy_mods *umpa_proxy_mods_free(struct umpa_proxy_mods *m)
{
	if (!m)
		return NULL;
	umpa_lua_close(m->U);
	free(m);
	return NULL;
}

unsigned umpa_proxy_mods_count(const struct umpa_proxy_mods *m, int dir)
{
	return dir == 0 || dir == 1 ? m->n[dir] : 0;
}

/* One token of a chain: up to one of @p stops (unescaped); escapes decoded into @p out. */
static const char *token(const char *s, const char *stops, char *out, size_t n, size_t *olen, struct umpa_err *e)
{
	size_t k = 0;
	while (*s && !strchr(stops, *s)) {
		char c = *s++;
		if (c == '\\') {
			c = *s++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case '\\':
			case ',':
			case ':':
			case '=':
				break;
			case 'x': {
				unsigned v;
				char h[3] = {s[0], s[0] ? s[1] : 0, 0};
				if (!h[0] || !h[1] || sscanf(h, "%2x", &v) != 1 ||
				    !strchr("0123456789abcdefABCDEF", h[0]) ||
				    !strchr("0123456789abcdefABCDEF", h[1])) {
					umpa_err_set(e, UMPA_EINVAL, "modules: bad \\x escape (\\xHH)");
					return NULL;
				}
				c = (char)v;
				s += 2;
				break;
			}
			default:
				umpa_err_set(e, UMPA_EINVAL,
					     "modules: bad escape '\\%c' (\\, \\: \\= \\\\ \\n \\r \\t \\xHH)",
					     c ? c : '0');
				return NULL;
			}
		}
		if (k + 1 >= n) {
			umpa_err_set(e, UMPA_ERANGE, "modules: a name or value is longer than %zu bytes", n - 1);
			return NULL;
		}
		out[k++] = c;
	}
	out[k] = 0;
	*olen = k;
	return s;
}

int umpa_proxy_mods_chain(struct umpa_proxy_mods *m, int dir, const char *spec, struct umpa_err *e)
{
	char name[256], key[256], val[4096];
	const char *s = spec;
	size_t nl, kl, vl;
	int d;
	if (!*spec)
		return umpa_err_set(e, UMPA_EINVAL, "modules: empty list (MOD[:KEY=VALUE...][,MOD...])");
	while (1) {
		if (!(s = token(s, ":,", name, sizeof(name), &nl, e)))
			return -UMPA_EINVAL;
		if (!nl)
			return umpa_err_set(e, UMPA_EINVAL, "modules: '%s': empty module name", spec);
		if (need_module(m, name, e) < 0)
			return e->code == UMPA_ENOENT ? -UMPA_ENOENT : -UMPA_EINVAL;
		lua_createtable(m->L, 2, 0); /* spec {name, opts} */
		lua_pushlstring(m->L, name, nl);
		lua_rawseti(m->L, -2, 1);
		lua_newtable(m->L);
		while (*s == ':') {
			if (!(s = token(s + 1, ":,=", key, sizeof(key), &kl, e)))
				goto fail;
			if (*s != '=' || !kl) {
				umpa_err_set(e, UMPA_EINVAL, "module '%s': option '%s' needs KEY=VALUE", name, key);
				goto fail;
			}
			if (!(s = token(s + 1, ":,", val, sizeof(val), &vl, e)))
				goto fail;
			lua_pushlstring(m->L, val, vl);
			lua_setfield(m->L, -2, key);
		}
		lua_rawseti(m->L, -2, 2);
		lua_pushvalue(m->L, -1);
		if (call_global(m, "__proxy_check", 1, 0, e) < 0)
			goto fail;
		lua_rawgeti(m->L, LUA_REGISTRYINDEX, m->chains);
		for (d = 0; d < 2; d++) {
			if (dir != -1 && dir != d)
				continue;
			lua_rawgeti(m->L, -1, d);
			lua_pushvalue(m->L, -3);
			lua_rawseti(m->L, -2, (lua_Integer)++m->n[d]);
			lua_pop(m->L, 1);
		}
		lua_pop(m->L, 2);
		if (!*s)
			return 0;
		s++; /* ',' */
	}
fail:
	lua_settop(m->L, 0);
	return -UMPA_EINVAL;
}

/* ---- the hooks ---- */

static int pm_open(void *arg, const struct umpa_proxy_conn_info *ci, void **state, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc;
	char conv[200], hash[9];
	uint32_t h = 2166136261u;
	const char *p;
	*state = NULL;
	if (!m->n[0] && !m->n[1])
		return 0;
	if (!(pc = calloc(1, sizeof(*pc))))
		return umpa_err_set(e, UMPA_ENOMEM, "modules: out of memory");
	pc->m = m;
	pc->ref = LUA_NOREF;
	snprintf(conv, sizeof(conv), "%s:%s:%u", ci->src, ci->dst, ci->dport);
	for (p = conv; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(hash, sizeof(hash), "%08x", h);
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, m->chains);
	lua_createtable(m->L, 0, 8);
	lua_pushinteger(m->L, (lua_Integer)ci->id);
	lua_setfield(m->L, -2, "channel");
	lua_pushstring(m->L, hash);
	lua_setfield(m->L, -2, "hash");
	lua_pushstring(m->L, ci->src);
	lua_setfield(m->L, -2, "src");
	lua_pushinteger(m->L, ci->sport);
	lua_setfield(m->L, -2, "srcport");
	lua_pushstring(m->L, ci->dst);
	lua_setfield(m->L, -2, "dst");
	lua_pushinteger(m->L, ci->dport);
	lua_setfield(m->L, -2, "dstport");
	if (ci->host[0]) { /* the name a SOCKS5 client asked for */
		lua_pushstring(m->L, ci->host);
		lua_setfield(m->L, -2, "hostname");
	}
	if (call_global(m, "__proxy_open", 2, 1, e) < 0) {
		free(pc);
		return -UMPA_EINVAL;
	}
	lua_getfield(m->L, -1, "conn"); /* a module's conn:redirect(host, port) in set_connection */
	if (lua_getfield(m->L, -1, "__redirect") == LUA_TSTRING)
		snprintf(pc->redirect, sizeof(pc->redirect), "%s", lua_tostring(m->L, -1));
	lua_pop(m->L, 2);
	pc->ref = luaL_ref(m->L, LUA_REGISTRYINDEX);
	*state = pc;
	return 0;
}

static int pm_target(void *arg, void *state, char *hostport, size_t n)
{
	struct pm_conn *pc = state;
	(void)arg;
	if (!pc || !pc->redirect[0])
		return 0;
	snprintf(hostport, n, "%s", pc->redirect);
	return 1;
}

/* Keep @p r (@p rl bytes) as the connection's output buffer content (hooks own their output). */
static int pm_keep(struct pm_conn *pc, const char *r, size_t rl, struct umpa_err *e)
{
	if (rl > pc->cap) {
		size_t cap = rl < 4096 ? 4096 : rl;
		char *nb = realloc(pc->buf, cap);
		if (!nb)
			return umpa_err_set(e, UMPA_ENOMEM, "modules: out of memory");
		pc->buf = nb;
		pc->cap = cap;
	}
	if (rl)
		memcpy(pc->buf, r, rl);
	return 0;
}

static int pm_data(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		   struct umpa_proxy_out *out, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	const char *r;
	size_t rl;
	if (!pc || !m->n[dir])
		return 0; /* out already holds the input: forward as is */
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, pc->ref);
	lua_pushinteger(m->L, dir);
	lua_pushlstring(m->L, (const char *)in, n);
	if (call_global(m, "__proxy_data", 3, 2, e) < 0)
		return -UMPA_EINVAL;
	r = lua_tolstring(m->L, -2, &rl);
	if (lua_type(m->L, -1) == LUA_TSTRING && !strcmp(lua_tostring(m->L, -1), "starttls")) {
		out->action = UMPA_PROXY_STARTTLS; /* forward, then both legs become TLS */
	} else if (lua_type(m->L, -1) == LUA_TSTRING) {
		out->action = UMPA_PROXY_RESET;
		rl = 0;
	} else if (lua_isnumber(m->L, -1)) {
		double s = lua_tonumber(m->L, -1);
		out->delay_ns = s > 0 && s <= 3600 ? (int64_t)(s * 1e9) : 0;
	}
	if (pm_keep(pc, r, rl, e) < 0) {
		lua_pop(m->L, 2);
		return -UMPA_ENOMEM;
	}
	out->data = pc->buf;
	out->len = rl;
	lua_pop(m->L, 2);
	return 0;
}

/* The end of @p dir: what the modules still hold (a framing helper's partial message) goes out. */
static int pm_flush(void *arg, void *state, enum umpa_proxy_dir dir, struct umpa_proxy_out *out, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	const char *r;
	size_t rl = 0;
	int rc;
	if (!pc || !m->n[dir])
		return 0;
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, pc->ref);
	lua_pushinteger(m->L, dir);
	if (call_global(m, "__proxy_flush", 2, 1, e) < 0)
		return -UMPA_EINVAL;
	r = lua_tolstring(m->L, -1, &rl);
	rc = r ? pm_keep(pc, r, rl, e) : 0;
	lua_pop(m->L, 1);
	if (rc < 0)
		return rc;
	out->data = pc->buf;
	out->len = r ? rl : 0;
	return 0;
}

static void pm_eof(void *arg, void *state, enum umpa_proxy_dir dir)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	struct umpa_err e = {0, ""};
	if (!pc || !m->n[dir])
		return;
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, pc->ref);
	lua_pushinteger(m->L, dir);
	call_global(m, "__proxy_eof", 2, 0, &e); /* best effort: the bytes are all through */
}

/* The SNI becomes the connection's hostname, with the tag "tls" (what peek_sni does on plaintext). */
static void pm_tls(void *arg, void *state, const char *sni)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	struct umpa_err e = {0, ""};
	if (!pc)
		return;
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, pc->ref);
	lua_pushstring(m->L, sni);
	call_global(m, "__proxy_tls", 2, 0, &e); /* only fails without memory: the hostname stays unset */
}

static void pm_close(void *arg, void *state)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	if (!pc)
		return;
	luaL_unref(m->L, LUA_REGISTRYINDEX, pc->ref);
	free(pc->buf);
	free(pc);
}

void umpa_proxy_mods_hooks(struct umpa_proxy_mods *m, struct umpa_proxy_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->arg = m;
	h->open = pm_open;
	h->data = pm_data;
	h->eof = pm_eof;
	h->tls = pm_tls;
	h->close = pm_close;
	h->target = pm_target;
	h->flush = pm_flush;
}

int umpa_proxy_mods_list(struct umpa_proxy_mods *m, void (*cb)(void *arg, const char *name, const char *help),
			 void *arg, struct umpa_err *e)
{
	const struct umpa_proxy_modsrc_ *s;
	char buf[4096];
	for (s = umpa_proxy_modsrcs_; s->name; s++) {
		char *nl;
		if (!strcmp(s->name, "prelude"))
			continue;
		if (umpa_proxy_mods_help(m, s->name, buf, sizeof(buf), e) < 0)
			return -1;
		if ((nl = strchr(buf, '\n')))
			*nl = 0;
		cb(arg, s->name, buf);
	}
	return 0;
}

int umpa_proxy_mods_help(struct umpa_proxy_mods *m, const char *name, char *buf, size_t n, struct umpa_err *e)
{
	size_t k;
	int rc;
	if (!strcmp(name, "prelude"))
		return umpa_err_set(e, UMPA_ENOENT, "module '%s' does not exist (umpa proxy --list-modules)", name);
	if ((rc = need_module(m, name, e)) < 0)
		return rc;
	lua_getglobal(m->L, "__proxy_mods");
	lua_getfield(m->L, -1, name);
	lua_getfield(m->L, -1, "help");
	k = (size_t)snprintf(buf, n, "%s\n", lua_tostring(m->L, -1) ? lua_tostring(m->L, -1) : "");
	lua_pop(m->L, 1);
	lua_getfield(m->L, -1, "options");
	/* sorted option names */
	{
		const char *keys[64];
		int nk = 0, i, j;
		lua_pushnil(m->L);
		while (lua_next(m->L, -2) && nk < 64) {
			if (lua_type(m->L, -2) == LUA_TSTRING)
				keys[nk++] = lua_tostring(m->L, -2);
			lua_pop(m->L, 1);
		}
		for (i = 1; i < nk; i++)
			for (j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
				const char *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
			}
		for (i = 0; i < nk && k < n; i++) {
			lua_getfield(m->L, -1, keys[i]);
			k += (size_t)snprintf(buf + k, n - k, "  %-10s %s\n", keys[i], lua_tostring(m->L, -1));
			lua_pop(m->L, 1);
		}
	}
	lua_pop(m->L, 3);
	return 0;
}
