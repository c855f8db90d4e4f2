/* proxy_lua.c - Lua modules for the proxy (umpa_proxy_lua.h). */
#include "umpa_proxy_lua.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

	struct umpa_proxy_rules *rules; /* in force (a reference) */
	int rulespecs;                  /* registry ref of {[i] = {spec...}}: rule i's modules, checked */
	char *rules_path;               /* --rules FILE, read again when it changes */
	struct stat rules_st;
	umpa_proxy_mods_log_fn note;
	void *note_arg;
	struct umpa_proxy_bus bus;
	struct pm_conn *conns; /* open connections (stats flush) */
	struct pm_conn *cur;   /* the connection whose chunk the modules see now */
	int cur_dir;
};

/* What one connection keeps. */
struct pm_conn {
	struct umpa_proxy_mods *m;
	struct pm_conn *prev, *next;
	uint64_t id;
	int ref;   /* registry ref of the connection's state table */
	char *buf; /* the last forwarded chunk (hooks own their output) */
	size_t cap;
	int any[2];                     /* modules in the chain of [dir] */
	struct umpa_proxy_rules *rules; /* the set it was opened with (hostname checks) */
	uint64_t bytes, packets;        /* counted for bus.conn_stats, not yet handed over */
	int counted;                    /* status "O" was handed over */
	int64_t hold_ns;                /* proxy.inspect: the hold asked for this chunk */
	uint64_t hold_token;
	int hold;
	size_t parts[UMPA_PROXY_MAX_PARTS]; /* its pieces' lengths, when execute returned a table */
	unsigned nparts;                    /* their number (0: one piece) */
	char redirect[300];                 /* "HOST:PORT" a module asked for (conn:redirect), "" for none */
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

/* proxy.publish(channel, message): true when the bus took it. */
static int l_publish(lua_State *L)
{
	struct umpa_proxy_mods *m = lua_touserdata(L, lua_upvalueindex(1));
	size_t n;
	const char *ch = luaL_checkstring(L, 1), *msg = luaL_checklstring(L, 2, &n);
	lua_pushboolean(L, m->bus.publish && m->bus.publish(m->bus.arg, ch, msg, n));
	return 1;
}

/* proxy.debugging(): is the redis key `debugging` 1? */
static int l_debugging(lua_State *L)
{
	struct umpa_proxy_mods *m = lua_touserdata(L, lua_upvalueindex(1));
	lua_pushboolean(L, m->bus.debugging && m->bus.debugging(m->bus.arg));
	return 1;
}

/* proxy.inspect(channel, message, seq, timeout_s): true when this chunk is to be held (execute then returns
 * data, "hold"). */
static int l_inspect(lua_State *L)
{
	struct umpa_proxy_mods *m = lua_touserdata(L, lua_upvalueindex(1));
	size_t n;
	const char *ch = luaL_checkstring(L, 1), *msg = luaL_checklstring(L, 2, &n);
	lua_Integer seq = luaL_checkinteger(L, 3);
	double to = luaL_checknumber(L, 4);
	int64_t ns = to > 0 && to <= 3600 ? (int64_t)(to * 1e9) : 10000000000LL;
	struct pm_conn *pc = m->cur;
	int ok = pc && m->bus.inspect && m->bus.inspect(m->bus.arg, ch, msg, n, pc->id, m->cur_dir, (uint64_t)seq, ns);
	if (ok) {
		pc->hold = 1;
		pc->hold_ns = ns;
		pc->hold_token = (uint64_t)seq;
	}
	lua_pushboolean(L, ok);
	return 1;
}

/* __proxy_hostok(rules, index, hostname): may the modules of rule index (from 1) run? */
static int l_hostok(lua_State *L)
{
	const struct umpa_proxy_rules *r = lua_touserdata(L, 1);
	lua_Integer i = luaL_checkinteger(L, 2);
	const char *host = lua_tostring(L, 3);
	lua_pushboolean(L, i >= 1 && umpa_proxy_rules_host(r, (unsigned)(i - 1), host));
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
	m->rulespecs = LUA_NOREF;
	if (!(m->U = umpa_lua_open(e)) || umpa_lua_set_deadline(m->U, &dl, e) < 0)
		return umpa_proxy_mods_free(m);
	m->L = umpa_lua_state(m->U);
	lua_newtable(m->L);
	lua_pushlightuserdata(m->L, m);
	lua_pushcclosure(m->L, l_log, 1);
	lua_setfield(m->L, -2, "log");
	lua_pushcfunction(m->L, l_base64);
	lua_setfield(m->L, -2, "base64");
	lua_pushlightuserdata(m->L, m);
	lua_pushcclosure(m->L, l_publish, 1);
	lua_setfield(m->L, -2, "publish");
	lua_pushlightuserdata(m->L, m);
	lua_pushcclosure(m->L, l_debugging, 1);
	lua_setfield(m->L, -2, "debugging");
	lua_pushlightuserdata(m->L, m);
	lua_pushcclosure(m->L, l_inspect, 1);
	lua_setfield(m->L, -2, "inspect");
	lua_setglobal(m->L, "proxy");
	lua_pushcfunction(m->L, l_hostok);
	lua_setglobal(m->L, "__proxy_hostok");
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
	umpa_proxy_rules_unref(m->rules);
	free(m->rules_path);
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

/* Parse and check chain @p spec: push a list of spec tables {name, opts} (one instance of each was made).
 * 0, or -code with @p e set and the stack as it was. */
static int chain_specs(struct umpa_proxy_mods *m, const char *spec, struct umpa_err *e)
{
	char name[256], key[256], val[4096];
	const char *s = spec;
	size_t nl, kl, vl;
	int top = lua_gettop(m->L), k = 0;
	if (!*spec)
		return umpa_err_set(e, UMPA_EINVAL, "modules: empty list (MOD[:KEY=VALUE...][,MOD...])");
	lua_newtable(m->L);
	while (1) {
		if (!(s = token(s, ":,", name, sizeof(name), &nl, e)))
			goto fail;
		if (!nl) {
			umpa_err_set(e, UMPA_EINVAL, "modules: '%s': empty module name", spec);
			goto fail;
		}
		if (need_module(m, name, e) < 0) {
			lua_settop(m->L, top);
			return e->code == UMPA_ENOENT ? -UMPA_ENOENT : -UMPA_EINVAL;
		}
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
		lua_rawseti(m->L, -2, ++k);
		if (!*s)
			return 0;
		s++; /* ',' */
	}
fail:
	lua_settop(m->L, top);
	return e->code ? -e->code : -UMPA_EINVAL;
}

int umpa_proxy_mods_chain(struct umpa_proxy_mods *m, int dir, const char *spec, struct umpa_err *e)
{
	int rc, d;
	lua_Integer i, n;
	if ((rc = chain_specs(m, spec, e)) < 0)
		return rc == -UMPA_ENOENT ? rc : -UMPA_EINVAL;
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, m->chains);
	n = (lua_Integer)lua_rawlen(m->L, -2);
	for (d = 0; d < 2; d++) {
		if (dir != -1 && dir != d)
			continue;
		lua_rawgeti(m->L, -1, d);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(m->L, -3, i);
			lua_rawseti(m->L, -2, (lua_Integer)++m->n[d]);
		}
		lua_pop(m->L, 1);
	}
	lua_pop(m->L, 2);
	return 0;
}

/* ---- rules ---- */

int umpa_proxy_mods_set_rules(struct umpa_proxy_mods *m, struct umpa_proxy_rules *r, struct umpa_err *e)
{
	unsigned i, k;
	lua_newtable(m->L); /* {[i] = {spec...}} */
	for (i = 0; i < umpa_proxy_rules_count(r); i++) {
		const struct umpa_proxy_rule *x = umpa_proxy_rules_get(r, i);
		lua_Integer n = 0;
		lua_newtable(m->L);
		for (k = 0; k < x->nmods; k++) {
			if (chain_specs(m, x->mods[k], e) < 0) {
				lua_pop(m->L, 2);
				umpa_err_prefix(e, "%s: rule %u: ", umpa_proxy_rules_origin(r), i + 1);
				return -UMPA_EINVAL;
			}
			for (lua_Integer j = 1; j <= (lua_Integer)lua_rawlen(m->L, -1); j++) {
				lua_rawgeti(m->L, -1, j);
				lua_rawseti(m->L, -3, ++n);
			}
			lua_pop(m->L, 1);
		}
		lua_rawseti(m->L, -2, (lua_Integer)i + 1);
	}
	luaL_unref(m->L, LUA_REGISTRYINDEX, m->rulespecs);
	m->rulespecs = luaL_ref(m->L, LUA_REGISTRYINDEX);
	umpa_proxy_rules_unref(m->rules);
	m->rules = umpa_proxy_rules_ref(r);
	return 0;
}

int umpa_proxy_mods_rules_text(struct umpa_proxy_mods *m, const char *text, size_t len, const char *what,
			       struct umpa_err *e)
{
	struct umpa_proxy_rules *r = umpa_proxy_rules_parse(text, len, what, e);
	int rc;
	if (!r)
		return -UMPA_EINVAL;
	rc = umpa_proxy_mods_set_rules(m, r, e);
	umpa_proxy_rules_unref(r);
	return rc;
}

int umpa_proxy_mods_rules_file(struct umpa_proxy_mods *m, const char *path, struct umpa_err *e)
{
	struct umpa_proxy_rules *r;
	struct stat st;
	int rc;
	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (!(r = umpa_proxy_rules_load(path, e)))
		return -UMPA_EINVAL;
	rc = umpa_proxy_mods_set_rules(m, r, e);
	umpa_proxy_rules_unref(r);
	if (rc < 0)
		return rc;
	if (!m->rules_path || strcmp(m->rules_path, path)) {
		char *p = strdup(path);
		if (!p)
			return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", path);
		free(m->rules_path);
		m->rules_path = p;
	}
	m->rules_st = st;
	return 0;
}

/* A new connection: read the rules file again when it changed. */
static void rules_file_check(struct umpa_proxy_mods *m)
{
	struct stat st;
	struct umpa_err e = {0, ""};
	if (!m->rules_path || stat(m->rules_path, &st) < 0)
		return;
	if (st.st_size == m->rules_st.st_size && st.st_ino == m->rules_st.st_ino &&
	    st.st_mtim.tv_sec == m->rules_st.st_mtim.tv_sec && st.st_mtim.tv_nsec == m->rules_st.st_mtim.tv_nsec)
		return;
	m->rules_st = st; /* a bad file is reported once, not at every connection */
	if (umpa_proxy_mods_rules_file(m, m->rules_path, &e) < 0) {
		if (m->note) {
			char msg[700];
			snprintf(msg, sizeof(msg), "rules: %s (the rules in force stay)", e.msg);
			m->note(m->note_arg, msg);
		}
	} else if (m->note) {
		char msg[700];
		snprintf(msg, sizeof(msg), "rules: %u from %s", umpa_proxy_rules_count(m->rules), m->rules_path);
		m->note(m->note_arg, msg);
	}
}

struct umpa_proxy_rules *umpa_proxy_mods_rules(const struct umpa_proxy_mods *m)
{
	return m->rules;
}

void umpa_proxy_mods_set_note(struct umpa_proxy_mods *m, umpa_proxy_mods_log_fn fn, void *arg)
{
	m->note = fn;
	m->note_arg = arg;
}

void umpa_proxy_mods_set_bus(struct umpa_proxy_mods *m, const struct umpa_proxy_bus *bus)
{
	if (bus)
		m->bus = *bus;
	else
		memset(&m->bus, 0, sizeof(m->bus));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void umpa_proxy_mods_names(struct umpa_proxy_mods *m, struct umpa_sbuf *b, char sep)
{
	const struct umpa_proxy_modsrc_ *s;
	const char *names[256];
	size_t n = 0, i;
	struct umpa_err e = {0, ""};
	for (s = umpa_proxy_modsrcs_; s->name; s++)
		if (strcmp(s->name, "prelude"))
			(void)need_module(m, s->name, &e); /* a built-in that fails to load is left out */
	lua_getglobal(m->L, "__proxy_mods");
	lua_pushnil(m->L);
	while (lua_next(m->L, -2) && n < 256) {
		if (lua_type(m->L, -2) == LUA_TSTRING)
			names[n++] = lua_tostring(m->L, -2); /* kept alive by the table */
		lua_pop(m->L, 1);
	}
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			umpa_sbuf_putc(b, sep);
		umpa_sbuf_puts(b, names[i]);
	}
	lua_pop(m->L, 1);
}

/* ---- the hooks ---- */

static int pm_open(void *arg, const struct umpa_proxy_conn_info *ci, void **state, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc;
	char conv[200], hash[9];
	uint32_t h = 2166136261u;
	const char *p;
	unsigned i, nmatch = 0;
	*state = NULL;
	rules_file_check(m);
	for (i = 0; i < umpa_proxy_rules_count(m->rules); i++)
		if (umpa_proxy_rules_match(m->rules, i, ci->src, ci->sport, ci->dst, ci->dport))
			nmatch++;
	if (!m->n[0] && !m->n[1] && !nmatch && !m->bus.count)
		return 0;
	if (!(pc = calloc(1, sizeof(*pc))))
		return umpa_err_set(e, UMPA_ENOMEM, "modules: out of memory");
	pc->m = m;
	pc->ref = LUA_NOREF;
	pc->id = ci->id;
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
	/* the rules it matches: {rule = i, c2s, s2c, specs} in order */
	lua_createtable(m->L, (int)nmatch, 0);
	if (nmatch) {
		lua_Integer k = 0;
		lua_rawgeti(m->L, LUA_REGISTRYINDEX, m->rulespecs);
		for (i = 0; i < umpa_proxy_rules_count(m->rules); i++) {
			const struct umpa_proxy_rule *x = umpa_proxy_rules_get(m->rules, i);
			if (!umpa_proxy_rules_match(m->rules, i, ci->src, ci->sport, ci->dst, ci->dport))
				continue;
			lua_createtable(m->L, 0, 4);
			lua_pushinteger(m->L, (lua_Integer)i + 1);
			lua_setfield(m->L, -2, "rule");
			lua_pushboolean(m->L, x->c2s);
			lua_setfield(m->L, -2, "c2s");
			lua_pushboolean(m->L, x->s2c);
			lua_setfield(m->L, -2, "s2c");
			lua_rawgeti(m->L, -2, (lua_Integer)i + 1);
			lua_setfield(m->L, -2, "specs");
			lua_rawseti(m->L, -3, ++k);
		}
		lua_pop(m->L, 1);
		pc->rules = umpa_proxy_rules_ref(m->rules);
	}
	lua_pushlightuserdata(m->L, pc->rules);
	if (call_global(m, "__proxy_open", 4, 3, e) < 0) {
		umpa_proxy_rules_unref(pc->rules);
		free(pc);
		return -UMPA_EINVAL;
	}
	pc->any[0] = lua_toboolean(m->L, -2);
	pc->any[1] = lua_toboolean(m->L, -1);
	lua_getfield(m->L, -3, "conn"); /* a module's conn:redirect(host, port) in set_connection */
	if (lua_getfield(m->L, -1, "__redirect") == LUA_TSTRING)
		snprintf(pc->redirect, sizeof(pc->redirect), "%s", lua_tostring(m->L, -1));
	lua_pop(m->L, 2);
	lua_pop(m->L, 2);
	pc->ref = luaL_ref(m->L, LUA_REGISTRYINDEX);
	pc->next = m->conns;
	if (m->conns)
		m->conns->prev = pc;
	m->conns = pc;
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

/* Room for @p need bytes in pc->buf.  0 or -UMPA_ENOMEM. */
static int pm_room(struct pm_conn *pc, size_t need, struct umpa_err *e)
{
	if (need > pc->cap) {
		size_t cap = need < 4096 ? 4096 : need;
		char *nb = realloc(pc->buf, cap);
		if (!nb)
			return umpa_err_set(e, UMPA_ENOMEM, "modules: out of memory");
		pc->buf = nb;
		pc->cap = cap;
	}
	return 0;
}

/* Keep @p r (@p rl bytes) as the connection's output buffer content (hooks own their output). */
static int pm_keep(struct pm_conn *pc, const char *r, size_t rl, struct umpa_err *e)
{
	if (pm_room(pc, rl, e) < 0)
		return -UMPA_ENOMEM;
	if (rl)
		memcpy(pc->buf, r, rl);
	return 0;
}

/* __proxy_data returned a table of pieces (strings, none empty) at -2 and its delay at -1: join them. */
static int pm_pieces(struct umpa_proxy_mods *m, struct pm_conn *pc, struct umpa_proxy_out *out, struct umpa_err *e)
{
	lua_Integer n = luaL_len(m->L, -2);
	size_t total = 0, off = 0;
	if (n > UMPA_PROXY_MAX_PARTS) {
		lua_pop(m->L, 2);
		return umpa_err_set(e, UMPA_ERANGE, "proxy module: execute returned %lld pieces (at most %d)",
				    (long long)n, UMPA_PROXY_MAX_PARTS);
	}
	for (lua_Integer i = 1; i <= n; i++) {
		size_t l;
		lua_rawgeti(m->L, -2, i);
		lua_tolstring(m->L, -1, &l);
		total += l;
		lua_pop(m->L, 1);
	}
	if (pm_room(pc, total, e) < 0) {
		lua_pop(m->L, 2);
		return -UMPA_ENOMEM;
	}
	for (lua_Integer i = 1; i <= n; i++) {
		size_t l;
		const char *s;
		lua_rawgeti(m->L, -2, i);
		s = lua_tolstring(m->L, -1, &l);
		memcpy(pc->buf + off, s, l);
		pc->parts[i - 1] = l;
		off += l;
		lua_pop(m->L, 1);
	}
	if (lua_isnumber(m->L, -1)) {
		double s = lua_tonumber(m->L, -1);
		out->delay_ns = s > 0 && s <= 3600 ? (int64_t)(s * 1e9) : 0;
	}
	out->data = pc->buf;
	out->len = total;
	pc->nparts = (unsigned)n;
	lua_pop(m->L, 2);
	return 0;
}

/* The pieces of the last answer (pm_pieces), for a UDP relay. */
static unsigned pm_parts(void *arg, void *state, const size_t **lens)
{
	struct pm_conn *pc = state;
	(void)arg;
	if (!pc)
		return 0;
	*lens = pc->parts;
	return pc->nparts;
}

static int pm_data(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		   struct umpa_proxy_out *out, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	const char *r;
	size_t rl;
	int rc;
	if (pc)
		pc->nparts = 0; /* one piece unless execute returns a table */
	if (!pc)
		return 0; /* out already holds the input: forward as is */
	pc->bytes += n;
	pc->packets++;
	if (!pc->any[dir])
		return 0;
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, pc->ref);
	lua_pushinteger(m->L, dir);
	lua_pushlstring(m->L, (const char *)in, n);
	m->cur = pc;
	m->cur_dir = dir;
	pc->hold = 0;
	rc = call_global(m, "__proxy_data", 3, 2, e);
	m->cur = NULL;
	if (rc < 0)
		return -UMPA_EINVAL;
	if (lua_type(m->L, -2) == LUA_TTABLE) /* pieces: each a datagram on UDP */
		return pm_pieces(m, pc, out, e);
	r = lua_tolstring(m->L, -2, &rl);
	if (lua_type(m->L, -1) == LUA_TSTRING && !strcmp(lua_tostring(m->L, -1), "starttls")) {
		out->action = UMPA_PROXY_STARTTLS; /* forward, then both legs become TLS */
	} else if (lua_type(m->L, -1) == LUA_TSTRING && !strcmp(lua_tostring(m->L, -1), "hold")) {
		if (pc->hold) { /* proxy.inspect registered it: forward r at the timeout, unless released first */
			out->action = UMPA_PROXY_HOLD;
			out->delay_ns = pc->hold_ns;
			out->hold_token = pc->hold_token;
		}
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

/* No module in direction @p dir: the proxy moves it unhooked (pm_tally counts it). */
static int pm_pass(void *arg, void *state, enum umpa_proxy_dir dir)
{
	struct pm_conn *pc = state;
	(void)arg;
	return !pc || !pc->any[dir];
}

/* What moved unhooked: one chunk of @p n bytes for the counters. */
static void pm_tally(void *arg, void *state, enum umpa_proxy_dir dir, size_t n)
{
	struct pm_conn *pc = state;
	(void)arg;
	(void)dir;
	if (pc) {
		pc->bytes += n;
		pc->packets++;
	}
}

/* The end of @p dir: what the modules still hold (a framing helper's partial message) goes out. */
static int pm_flush(void *arg, void *state, enum umpa_proxy_dir dir, struct umpa_proxy_out *out, struct umpa_err *e)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	const char *r;
	size_t rl = 0;
	int rc;
	if (!pc || !pc->any[dir])
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
	if (!pc || !pc->any[dir])
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

/* Hand @p pc's counts since the last time to bus.conn_stats (@p status: "C" at the end). */
static void pc_stats(struct pm_conn *pc, const char *status)
{
	struct umpa_proxy_mods *m = pc->m;
	struct umpa_err e = {0, ""};
	if (!m->bus.count || !m->bus.conn_stats || (!pc->bytes && !pc->packets && pc->counted && !status))
		return;
	lua_rawgeti(m->L, LUA_REGISTRYINDEX, pc->ref);
	if (call_global(m, "__proxy_keys", 1, 2, &e) < 0)
		return;
	m->bus.conn_stats(m->bus.arg, lua_tostring(m->L, -2), lua_tostring(m->L, -1), pc->bytes, pc->packets,
			  status        ? status
			  : pc->counted ? NULL
					: "O");
	lua_pop(m->L, 2);
	pc->counted = 1;
	pc->bytes = pc->packets = 0;
}

void umpa_proxy_mods_stats_flush(struct umpa_proxy_mods *m)
{
	for (struct pm_conn *pc = m->conns; pc; pc = pc->next)
		pc_stats(pc, NULL);
}

static void pm_close(void *arg, void *state)
{
	struct umpa_proxy_mods *m = arg;
	struct pm_conn *pc = state;
	if (!pc)
		return;
	pc_stats(pc, "C");
	if (pc->prev)
		pc->prev->next = pc->next;
	else
		m->conns = pc->next;
	if (pc->next)
		pc->next->prev = pc->prev;
	luaL_unref(m->L, LUA_REGISTRYINDEX, pc->ref);
	umpa_proxy_rules_unref(pc->rules);
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
	h->pass = pm_pass;
	h->tally = pm_tally;
	h->parts = pm_parts;
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
