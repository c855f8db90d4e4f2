/* lua_scapy.c - Scapy's spelling in packet expressions and scripts.
 *
 * Scapy users write `IP(dst="10.0.0.1", ttl=5)/TCP(dport=80, flags="S")`,
 * `DNS(rd=1, qd=DNSQR(qname="example.com"))` and `dport=[22, 80]`.  Lua has
 * neither keyword arguments nor [...] lists, so before a chunk is compiled
 * it is rewritten, token by token (strings, long strings and comments are
 * copied untouched, line numbers are kept):
 *
 *   - keyword arguments: in a call's parentheses, from the first argument of
 *     the form NAME = ... (a single '=') to the closing parenthesis, the
 *     arguments are wrapped in a table: f(a, k=1, j=2) -> f(a, {k=1, j=2}),
 *     IP(dst="x") -> IP({dst="x"}), which is IP{dst="x"};
 *   - Python lists: a '[' where Lua cannot have one (after a single '=',
 *     after '(' or after ',' directly inside parentheses or another such
 *     list) is a table constructor: [22, 80] -> {22, 80}, and a tuple
 *     directly in such a list is one too: [("MSS", 1460), ("NOP", None)] ->
 *     {{"MSS", 1460}, {"NOP", None}} (None is nil: an undefined name);
 *   - an option given as such a pair in a variable field's list (TCP options
 *     as Scapy writes them) becomes its spec item: {"MSS", 1460} -> "mss=1460",
 *     {"SAck", {1, 2}} -> "sack=1-2", {"Timestamp", {5, 0}} -> "ts=5:0", any
 *     other {"name", v} -> "name=v" (umpa_lua_option_item_).
 *
 * Both rewrite only text that is not valid Lua, so a valid Lua chunk never
 * changes meaning.  The constructors themselves are the protocols' Scapy
 * class names (aliases in their tables: Ether, IP, TCP, Raw, Dot1Q, ...);
 * this file adds what is not a protocol: DNSQR and DNSRR (the text of a DNS
 * question or record), ICMPv6EchoRequest and its kin (icmpv6 with a type),
 * True/False, "A" * 100 (a string that is not a number: "3" * 4 stays 12, as
 * in Lua), and nothing else.
 */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_internal.h"
#include "umpa_near.h"

static void push_rewritten(lua_State *L, const char *s, size_t n);

/* Does @s compile as Lua as it is, as a chunk or as the expression "return s"? */
static int is_lua(lua_State *L, const char *s, size_t n)
{
	int ok = luaL_loadbufferx(L, s, n, "=chunk", "t") == LUA_OK;

	lua_pop(L, 1);
	if (!ok) {
		lua_pushliteral(L, "return ");
		lua_pushlstring(L, s, n);
		lua_concat(L, 2);
		ok = luaL_loadbufferx(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=chunk", "t") == LUA_OK;
		lua_pop(L, 2);
	}
	return ok;
}

void umpa_lua_push_source_(lua_State *L, const char *s, size_t n)
{
	/* The rewriter follows brackets, not Lua's grammar: inside a function
	 * passed as an argument, "local a, b = ..." looks like keyword arguments.
	 * A chunk that compiles as it is is Lua, and stays exactly as written. */
	if (is_lua(L, s, n)) {
		lua_pushlstring(L, s, n);
		return;
	}
	push_rewritten(L, s, n);
}

/* Deepest nesting of brackets followed; from there on the text is copied as it is. */
#define DEPTH_MAX 200

struct frame {
	char kind;  /* '(' '{' '[', 'L' (a Python list made a table) or 'T' (a tuple in one) */
	char kw;    /* '(' only: a keyword table was opened */
	char start; /* '(' only: at the start of an argument */
};

static int is_name_char(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* At @s[i] a long bracket "[", "=" * k, "["? Its level k, or -1. */
static int long_open(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;

	if (i >= n || s[i] != '[')
		return -1;
	while (j < n && s[j] == '=')
		j++;
	return j < n && s[j] == '[' ? (int)(j - i - 1) : -1;
}

/* Past the long bracket of level @k opened at @i (or the end of the text). */
static size_t long_skip(const char *s, size_t n, size_t i, int k)
{
	for (i += (size_t)k + 2; i < n; i++) {
		if (s[i] != ']')
			continue;
		size_t j = i + 1;
		while (j < n && s[j] == '=')
			j++;
		if (j < n && s[j] == ']' && (int)(j - i - 1) == k)
			return j + 1;
	}
	return n;
}

static void push_rewritten(lua_State *L, const char *s, size_t n)
{
	struct frame st[DEPTH_MAX];
	int depth = 0;
	char prev = 0; /* the last significant character copied; '=' only for a lone '=' */
	luaL_Buffer b;
	size_t i = 0;

	luaL_buffinit(L, &b);
	while (i < n) {
		char c = s[i];
		size_t from = i;
		int k;

		if (depth == DEPTH_MAX) { /* too deep to follow: the rest as it is */
			luaL_addlstring(&b, s + i, n - i);
			break;
		}

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			luaL_addchar(&b, c);
			i++;
			continue;
		}
		if (c == '-' && i + 1 < n && s[i + 1] == '-') { /* a comment */
			if ((k = long_open(s, n, i + 2)) >= 0)
				i = long_skip(s, n, i + 2, k);
			else
				while (i < n && s[i] != '\n')
					i++;
			luaL_addlstring(&b, s + from, i - from);
			continue;
		}
		if (c == '"' || c == '\'') { /* a short string */
			for (i++; i < n && s[i] != c && s[i] != '\n'; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++;
			if (i < n && s[i] == c)
				i++;
			luaL_addlstring(&b, s + from, i - from);
			prev = '"';
			if (depth)
				st[depth - 1].start = 0;
			continue;
		}
		if ((k = long_open(s, n, i)) >= 0) { /* a long string: Lua's reading wins */
			i = long_skip(s, n, i, k);
			luaL_addlstring(&b, s + from, i - from);
			prev = '"';
			if (depth)
				st[depth - 1].start = 0;
			continue;
		}
		if (is_name_char(c) || c == '.') { /* a name, a number, a field access */
			struct frame *top = depth ? &st[depth - 1] : NULL;
			while (i < n && (is_name_char(s[i]) || s[i] == '.'))
				i++;
			if (top && top->kind == '(' && top->start && !top->kw && !(c >= '0' && c <= '9')) {
				size_t j = i;
				while (j < n && (s[j] == ' ' || s[j] == '\t'))
					j++;
				if (j < n && s[j] == '=' && (j + 1 >= n || s[j + 1] != '=')) {
					luaL_addchar(&b, '{'); /* NAME = ...: keyword arguments start */
					top->kw = 1;
				}
			}
			if (top)
				top->start = 0;
			luaL_addlstring(&b, s + from, i - from);
			prev = 'a';
			continue;
		}
		i++;
		switch (c) {
		case '(':
			if (depth && (st[depth - 1].kind == 'L' || st[depth - 1].kind == 'T') &&
			    (prev == '[' || prev == ',' || prev == '(')) {
				/* a Python tuple in a list: ("MSS", 1460) -> {"MSS", 1460} */
				if (depth < DEPTH_MAX)
					st[depth++] = (struct frame){'T', 0, 0};
				luaL_addchar(&b, '{');
				break;
			}
			if (depth < DEPTH_MAX)
				st[depth++] = (struct frame){'(', 0, 1};
			luaL_addchar(&b, c);
			break;
		case '{':
			if (depth && st[depth - 1].kind == '(')
				st[depth - 1].start = 0;
			if (depth < DEPTH_MAX)
				st[depth++] = (struct frame){'{', 0, 0};
			luaL_addchar(&b, c);
			break;
		case '[': {
			char in = depth ? st[depth - 1].kind : 0;
			int list = prev == '=' || (prev == '(' && in != '{') ||
				   (prev == ',' && (in == 'L' || in == 'T' || (in == '(' && !st[depth - 1].kw))) ||
				   (prev == '[' && in == 'L');
			if (depth && st[depth - 1].kind == '(')
				st[depth - 1].start = 0;
			if (depth < DEPTH_MAX)
				st[depth++] = (struct frame){list ? 'L' : '[', 0, 0};
			luaL_addchar(&b, list ? '{' : '[');
			c = list ? '[' : 'x'; /* prev: a list just opened */
			break;
		}
		case ')':
			if (depth && st[depth - 1].kind == 'T') {
				luaL_addchar(&b, '}');
				depth--;
				break;
			}
			if (depth && st[depth - 1].kind == '(') {
				if (st[depth - 1].kw)
					luaL_addchar(&b, '}');
				depth--;
			}
			luaL_addchar(&b, c);
			break;
		case ']':
			if (depth && (st[depth - 1].kind == '[' || st[depth - 1].kind == 'L')) {
				luaL_addchar(&b, st[depth - 1].kind == 'L' ? '}' : ']');
				depth--;
			} else {
				luaL_addchar(&b, c);
			}
			break;
		case '}':
			if (depth && st[depth - 1].kind == '{')
				depth--;
			luaL_addchar(&b, c);
			break;
		case ',':
			if (depth && st[depth - 1].kind == '(')
				st[depth - 1].start = 1;
			luaL_addchar(&b, c);
			break;
		case '=': {
			/* a lone '=' (not ==, <=, >=, ~=) */
			int lone = !(from > 0 && strchr("=<>~", s[from - 1])) && !(i < n && s[i] == '=');
			luaL_addchar(&b, c);
			c = lone ? '=' : 'o';
			if (depth && st[depth - 1].kind == '(')
				st[depth - 1].start = 0;
			break;
		}
		default:
			if (depth && st[depth - 1].kind == '(')
				st[depth - 1].start = 0;
			luaL_addchar(&b, c);
			break;
		}
		prev = c;
	}
	luaL_pushresult(&b);
}

/* ---- option lists as Scapy writes them ---- */

void umpa_lua_option_item_(lua_State *L, int idx)
{
	/* Scapy's TCP option names -> umpa's spec keys; pairs: values are L-R pairs (SAck) */
	static const struct {
		const char *scapy, *key;
		int pairs;
	} names[] = {
	    {"MSS", "mss", 0},   {"NOP", "nop", 0},      {"WScale", "wscale", 0}, {"SAckOK", "sackok", 0},
	    {"SAck", "sack", 1}, {"Timestamp", "ts", 0}, {"EOL", "eol", 0},
	};
	luaL_Buffer b;
	const char *key;
	int pairs = 0, t;

	idx = lua_absindex(L, idx);
	if (lua_rawgeti(L, idx, 1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
		luaL_error(L, "an option as a list is {NAME, VALUE} (Scapy's (\"MSS\", 1460)), not a %s first",
			   luaL_typename(L, -1));
	key = lua_tostring(L, -1);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(key, names[i].scapy) == 0) {
			key = names[i].key;
			pairs = names[i].pairs;
		}
	luaL_buffinit(L, &b);
	luaL_addstring(&b, key);
	t = lua_rawgeti(L, idx, 2);
	if (t == LUA_TNUMBER || (t == LUA_TSTRING && lua_rawlen(L, -1) > 0)) {
		luaL_addchar(&b, '=');
		luaL_addvalue(&b);
	} else if (t == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		int tab = lua_absindex(L, -1);
		luaL_addchar(&b, '=');
		for (lua_Integer i = 1; i <= n; i++) {
			if (i > 1)
				luaL_addchar(&b, pairs && (i % 2) == 0 ? '-' : ':');
			lua_rawgeti(L, tab, i);
			if (lua_type(L, -1) != LUA_TNUMBER && lua_type(L, -1) != LUA_TSTRING)
				luaL_error(L, "option %s: values are numbers or text", key);
			luaL_tolstring(L, -1, NULL);
			lua_remove(L, -2);
			luaL_addvalue(&b);
		}
		lua_remove(L, tab); /* the value table: below the buffer's own slot, if it has one */
	} else {
		lua_pop(L, 1);
	}
	luaL_pushresult(&b);
	lua_remove(L, -2); /* the name */
}

/* ---- helpers that are not protocols ---- */

/* Append field @k of the table at 1 as text (nil: @def, NULL: stop); returns 1 when something was added. */
static int add_part(lua_State *L, luaL_Buffer *b, const char *k, const char *def, int sep)
{
	int t = lua_getfield(L, 1, k);

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		if (!def)
			return 0;
		if (sep)
			luaL_addchar(b, ':');
		luaL_addstring(b, def);
		return 1;
	}
	if (t != LUA_TSTRING && t != LUA_TNUMBER)
		luaL_error(L, "%s: text or a number, not %s", k, lua_typename(L, t));
	if (sep)
		luaL_addchar(b, ':');
	luaL_tolstring(L, -1, NULL);
	lua_remove(L, -2);
	luaL_addvalue(b);
	return 1;
}

/* Raise unless every key of the table at 1 is one of @keys (NULL-terminated). */
static void check_keys(lua_State *L, const char *fn, const char *const *keys)
{
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		size_t i = 0;
		while (k && keys[i] && strcmp(keys[i], k) != 0)
			i++;
		if (!k || !keys[i]) {
			luaL_Buffer b;
			struct umpa_near n;
			char near[UMPA_NEAR_MAX + 1];
			const char *best;
			umpa_near_init(&n, k);
			luaL_buffinit(L, &b);
			for (i = 0; keys[i]; i++) {
				if (i)
					luaL_addstring(&b, ", ");
				luaL_addstring(&b, keys[i]);
				umpa_near_str(&n, keys[i]);
			}
			luaL_pushresult(&b);
			best = k ? umpa_near_best(&n, near, sizeof near) : NULL;
			luaL_error(L, "%s: unknown field '%s' (" UMPA_NEAR_FMT "fields: %s)", fn,
				   k ? k : "(not a name)", UMPA_NEAR_ARGS(best), lua_tostring(L, -1));
		}
		lua_pop(L, 1);
	}
}

/* DNSQR{qname=, qtype=, qclass=}: the text of one question, "name[:type[:class]]", for dns{qd=...}. */
static int l_dnsqr(lua_State *L)
{
	static const char *const keys[] = {"qname", "qtype", "qclass", NULL};
	luaL_Buffer b;

	lua_settop(L, 1);
	if (lua_isnil(L, 1)) {
		lua_newtable(L);
		lua_replace(L, 1);
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, "DNSQR", keys);
	luaL_buffinit(L, &b);
	add_part(L, &b, "qname", "www.example.com", 0); /* Scapy's default name */
	if (lua_getfield(L, 1, "qclass") != LUA_TNIL) {
		lua_pop(L, 1);
		add_part(L, &b, "qtype", "A", 1);
		add_part(L, &b, "qclass", NULL, 1);
	} else {
		lua_pop(L, 1);
		add_part(L, &b, "qtype", NULL, 1);
	}
	luaL_pushresult(&b);
	return 1;
}

/* DNSRR{rrname=, type=, rclass=, ttl=, rdata=}: the text of one record, "name:type:class:ttl:rdata", for an/ns/ar. */
static int l_dnsrr(lua_State *L)
{
	static const char *const keys[] = {"rrname", "type", "rclass", "ttl", "rdata", NULL};
	luaL_Buffer b;

	lua_settop(L, 1);
	if (lua_isnil(L, 1)) {
		lua_newtable(L);
		lua_replace(L, 1);
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, "DNSRR", keys);
	luaL_buffinit(L, &b);
	add_part(L, &b, "rrname", ".", 0);
	add_part(L, &b, "type", "A", 1);
	if (lua_getfield(L, 1, "rclass") == LUA_TNUMBER) { /* a number there would be read as the TTL */
		luaL_addstring(&b, ":CLASS");
		luaL_addvalue(&b);
	} else {
		lua_pop(L, 1);
		add_part(L, &b, "rclass", "IN", 1);
	}
	add_part(L, &b, "ttl", "0", 1);
	add_part(L, &b, "rdata", "0.0.0.0", 1);
	luaL_pushresult(&b);
	return 1;
}

/* A Scapy class that is one protocol with one field preset (ICMPv6EchoRequest):
 * upvalue 1 the constructor, 2 the field, 3 its value (kept when the caller sets it). */
static int l_preset(lua_State *L)
{
	lua_settop(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	lua_call(L, 1, 1);
	lua_pushvalue(L, lua_upvalueindex(2));
	if (lua_gettable(L, -2) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_pushvalue(L, lua_upvalueindex(2));
		lua_pushvalue(L, lua_upvalueindex(3));
		lua_settable(L, -3);
	} else {
		lua_pop(L, 1);
	}
	return 1;
}

/* "A" * 100 (Python's repetition; numbers still multiply). */
static int l_str_mul(lua_State *L)
{
	int si = lua_type(L, 1) == LUA_TSTRING && !lua_isnumber(L, 1) ? 1 : 2;
	int ok;
	lua_Integer k;

	if (lua_isnumber(L, 1) && lua_isnumber(L, 2)) { /* Lua's own meaning: "3" * "4" is 12 */
		for (int i = 1; i <= 2; i++)
			if (lua_type(L, i) != LUA_TSTRING || lua_stringtonumber(L, lua_tostring(L, i)) == 0)
				lua_pushvalue(L, i); /* a number already (stringtonumber pushed the string's) */
		lua_arith(L, LUA_OPMUL);             /* on numbers: no metamethod, no recursion */
		return 1;
	}
	k = lua_tointegerx(L, si == 1 ? 2 : 1, &ok);
	if (lua_type(L, si) != LUA_TSTRING || !ok)
		return luaL_error(L, "attempt to multiply a string by a %s (\"A\" * N repeats it)",
				  luaL_typename(L, si == 1 ? 2 : 1));
	if (k < 0)
		k = 0;
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "rep");
	lua_pushvalue(L, si);
	lua_pushinteger(L, k);
	lua_call(L, 2, 1);
	return 1;
}

void umpa_lua_scapy_open_(lua_State *L)
{
	static const struct {
		const char *name, *ctor, *field, *value;
	} presets[] = {
	    {"ICMPv6EchoRequest", "icmpv6", "type", "echo-request"},
	    {"ICMPv6EchoReply", "icmpv6", "type", "echo-reply"},
	    {"ICMPv6ND_RS", "icmpv6", "type", "rs"},
	    {"ICMPv6ND_RA", "icmpv6", "type", "ra"},
	    {"ICMPv6ND_NS", "icmpv6", "type", "ns"},
	    {"ICMPv6ND_NA", "icmpv6", "type", "na"},
	    {"ICMPv6DestUnreach", "icmpv6", "type", "1"},
	    {"ICMPv6PacketTooBig", "icmpv6", "type", "2"},
	    {"ICMPv6TimeExceeded", "icmpv6", "type", "3"},
	    {"ICMPv6ParamProblem", "icmpv6", "type", "4"},
	};

	lua_register(L, "DNSQR", l_dnsqr);
	lua_register(L, "DNSRR", l_dnsrr);
	lua_pushboolean(L, 1);
	lua_setglobal(L, "True");
	lua_pushboolean(L, 0);
	lua_setglobal(L, "False");
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
		if (lua_getglobal(L, presets[i].ctor) != LUA_TFUNCTION) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushstring(L, presets[i].field);
		lua_pushstring(L, presets[i].value);
		lua_pushcclosure(L, l_preset, 3);
		lua_setglobal(L, presets[i].name);
	}
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushcfunction(L, l_str_mul);
		lua_setfield(L, -2, "__mul");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}
