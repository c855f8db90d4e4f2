/* umpa_proxy_lua.h - Lua modules for umpa_proxy (sched/umpa_proxy.h), tcpproxy's plugin semantics.
 *
 * A module is Lua, run in the sandbox of umpa_lua.h, and is a table:
 *
 *     return {
 *       help = "one paragraph",
 *       options = {search = "help of the option", ...},   -- the keys it accepts
 *       new = function(opts, incoming)                     -- opts: {key = "text"}; incoming: s2c
 *         return {
 *           execute = function(data) return data end,      -- the (possibly changed) bytes
 *           peek = function(first) return {hostname = ...} end,   -- optional
 *           set_connection = function(conn) end,            -- optional
 *           eof = function() end,                           -- optional: the direction ended
 *         }
 *       end,
 *     }
 *
 * Per connection, each module of a chain gets two instances, one per
 * direction (new is called with incoming false for client to server, true
 * for server to client), each with state of its own, and both share one
 * connection object: channel, hash (8 hex digits of the conversation
 * without the client's port), src, srcport, dst, dstport, hostname (set
 * by a peek; with --tls-mitm the ClientHello's SNI, tag "tls"), tags; conn:to_table(data, incoming) and conn:to_json(...)
 * (the data in base64), conn:add_tag(t).  execute returns the bytes to
 * forward ("" or nil drops them) and optionally an action: "reset" (RST
 * both ways) or a number (seconds to wait before forwarding).  peek sees
 * the first chunk of its direction before execute; the fields of the table
 * it returns are set on the connection.  Modules work per chunk as the
 * socket delivered it, unless they use a framing helper: proxy.lines(fn),
 * proxy.length_prefixed(fn, opts), proxy.http(fn) and the engine
 * proxy.framer(split, emit, tail) return an instance that buffers and hands
 * fn whole messages; an instance's optional flush() returns what it still
 * holds when its direction ends (the flush hook), forwarded before the end
 * of stream.  conn:redirect(host, port) in set_connection sends the
 * connection elsewhere (the target hook; module redirect).
 *
 * Helpers in the sandbox: proxy.log(text) (to the host's log callback),
 * proxy.hexdump(data[, width]), proxy.base64(data), proxy.json(value),
 * proxy.replace(s, plain, by), the framing helpers above.
 *
 * A module that raises an error (or exceeds the sandbox's limits: 1 s CPU,
 * 2 s wall clock per chunk) fails its connection: umpa_proxy closes that
 * connection and counts it (errors); the others go on.
 *
 * Chains: "mod:key=value:key2=value,mod2" (\, \: \\ \n \r \t \xHH escapes
 * in values).  Built-in modules are embedded (templates/proxy/NAME.lua).
 */
#ifndef UMPA_PROXY_LUA_H
#define UMPA_PROXY_LUA_H

#include <stddef.h>

#include "umpa_error.h"
#include "umpa_proxy.h"

struct umpa_proxy_mods;

/** Receives each line a module logs (proxy.log). */
typedef void (*umpa_proxy_mods_log_fn)(void *arg, const char *text);

/** A module host (one sandboxed Lua state).  NULL with @p e set on failure. */
struct umpa_proxy_mods *umpa_proxy_mods_new(umpa_proxy_mods_log_fn log, void *arg, struct umpa_err *e);

/** Free @p m (NULL is fine).  After the proxy using its hooks.  Returns NULL. */
struct umpa_proxy_mods *umpa_proxy_mods_free(struct umpa_proxy_mods *m);

/**
 * Add a module named @p name from Lua source @p src (@p len bytes), e.g. a
 * user's file; @p chunkname names it in errors.  Returns 0 or -code with @p e set.
 */
int umpa_proxy_mods_load(struct umpa_proxy_mods *m, const char *name, const char *src, size_t len,
			 const char *chunkname, struct umpa_err *e);

/**
 * Append the modules of @p spec to the chain of direction @p dir
 * (UMPA_PROXY_C2S, UMPA_PROXY_S2C, or -1 for both).  Each module is looked
 * up (loaded modules, then the built-ins), its options checked and one
 * instance made, so a bad chain fails here: "module 'foo' does not exist
 * (umpa proxy --list-modules)", "module 'replace': unknown option 'x'
 * (options: replace, search)".  Returns 0 or -code with @p e set.
 */
int umpa_proxy_mods_chain(struct umpa_proxy_mods *m, int dir, const char *spec, struct umpa_err *e);

/** Modules in the chain of @p dir. */
unsigned umpa_proxy_mods_count(const struct umpa_proxy_mods *m, int dir);

/** The hooks that run the chains, for umpa_proxy_new. */
void umpa_proxy_mods_hooks(struct umpa_proxy_mods *m, struct umpa_proxy_hooks *h);

/** Call @p cb for every built-in module with its name and the first line of its help. */
int umpa_proxy_mods_list(struct umpa_proxy_mods *m, void (*cb)(void *arg, const char *name, const char *help),
			 void *arg, struct umpa_err *e);

/**
 * Help of module @p name (its text and options, one per line) into @p buf
 * (@p n bytes).  Returns 0, or -UMPA_ENOENT when there is no such module.
 */
int umpa_proxy_mods_help(struct umpa_proxy_mods *m, const char *name, char *buf, size_t n, struct umpa_err *e);

/** One built-in module's source (embedded), or NULL. */
const char *umpa_proxy_mod_builtin(const char *name);

#endif
