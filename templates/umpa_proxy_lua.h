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
 * by a peek; with --tls-mitm the ClientHello's SNI, tag "tls"), tags; conn:to_table(data, incoming) and
 * conn:to_json(...) (the data in base64), conn:add_tag(t).  execute returns the bytes to forward ("" or nil drops
 * them), or a table of strings: pieces (at most UMPA_PROXY_MAX_PARTS; on a UDP relay each is a datagram of its own, on
 * TCP they go out in a row; the modules after it see each piece), and
 * optionally an action: "reset" (RST both ways) or a number (seconds to
 * wait before forwarding).  peek sees
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
 * proxy.replace(s, plain, by), the framing helpers above; for the redis
 * control API (umpa_proxy_bus):
 * proxy.publish(channel, text), proxy.debugging(), proxy.inspect(channel,
 * text, seq, timeout) (true: execute then returns data, "hold": the chunk
 * waits for the bus, at most timeout seconds, and the chain ends there for
 * it), conn:redis_channel() ("src:srcport:dst:dstport:hostname:tags",
 * tcpproxy's), conn:redis_short_hash() (without srcport),
 * conn:to_redis_json(data, extra) (tcpproxy's get_json: tags by commas,
 * hostname null while unknown, data in base64, then extra's keys).
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
#include "umpa_proxy_rules.h"
#include "umpa_sbuf.h"

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

/**
 * Check every module of every rule of @p r (as umpa_proxy_mods_chain does a
 * chain) and make @p r the rule set of the connections opened from now on
 * (a reference is taken; the connections already open keep theirs).  @p r
 * may be NULL (no rules).  Returns 0, or -code with @p e set and the
 * current set kept: "rules.json: rule 2: module 'foo' does not exist (umpa
 * proxy --list-modules)".  Each new connection gets the -m / --c2s / --s2c
 * chains first, then the modules of every rule it matches, in rule order
 * (umpa_proxy_rules.h); a module of a rule with a hostname runs only while
 * the connection's hostname matches.
 */
int umpa_proxy_mods_set_rules(struct umpa_proxy_mods *m, struct umpa_proxy_rules *r, struct umpa_err *e);

/** Parse JSON rules @p text (@p len bytes, named @p what in errors), check and set them.  0 or -code. */
int umpa_proxy_mods_rules_text(struct umpa_proxy_mods *m, const char *text, size_t len, const char *what,
			       struct umpa_err *e);

/**
 * Rules from file @p path: read now (an error fails here), and read again
 * when a new connection opens and the file changed (size, time or inode);
 * a file that became bad then keeps the rules in force and is reported once
 * through the note callback.  Returns 0 or -code with @p e set.
 */
int umpa_proxy_mods_rules_file(struct umpa_proxy_mods *m, const char *path, struct umpa_err *e);

/** The rule set in force (borrowed; NULL: none). */
struct umpa_proxy_rules *umpa_proxy_mods_rules(const struct umpa_proxy_mods *m);

/** Receives warnings of the host itself (a rules file that became bad).  NULL: dropped. */
void umpa_proxy_mods_set_note(struct umpa_proxy_mods *m, umpa_proxy_mods_log_fn fn, void *arg);

/** Every module's name (built-in and loaded, sorted), separated by @p sep, appended to @p b. */
void umpa_proxy_mods_names(struct umpa_proxy_mods *m, struct umpa_sbuf *b, char sep);

/**
 * What the modules debug and inspect and the per-connection counters talk
 * to (the redis control API, templates/umpa_proxy_redis.h).  Every callback
 * may be NULL.
 */
struct umpa_proxy_bus {
	void *arg;
	int count; /**< count bytes and chunks of every connection for conn_stats */
	/** Publish @p msg (@p len bytes) on @p channel.  Nonzero when it went out (a connected bus). */
	int (*publish)(void *arg, const char *channel, const char *msg, size_t len);
	/** Is debugging on (the redis key `debugging` is 1)? */
	int (*debugging)(void *arg);
	/**
	 * Publish @p msg on "inspect:" @p channel and wait for "inspected:" @p channel with the chunk of
	 * connection @p id, direction @p dir, sequence @p seq: the bus then calls umpa_proxy_release(id,
	 * dir, seq, bytes).  Nonzero when the chunk is to be held (for @p timeout_ns).
	 */
	int (*inspect)(void *arg, const char *channel, const char *msg, size_t len, uint64_t id, int dir, uint64_t seq,
		       int64_t timeout_ns);
	/**
	 * @p bytes and @p packets (chunks, both directions) more for connection key @p conn_key
	 * ("src:srcport:dst:dstport:hostname:tags") and summary key @p summary_key
	 * ("src:dst:dstport:hostname:tags"); @p status "O" when the connection is first counted, "C" at
	 * its end, NULL in between.
	 */
	void (*conn_stats)(void *arg, const char *conn_key, const char *summary_key, uint64_t bytes, uint64_t packets,
			   const char *status);
};

/** Connect the modules to @p bus (copied; NULL: none).  Before the proxy starts. */
void umpa_proxy_mods_set_bus(struct umpa_proxy_mods *m, const struct umpa_proxy_bus *bus);

/** Hand the counts of every open connection since the last flush to bus.conn_stats (batched: call it on a timer). */
void umpa_proxy_mods_stats_flush(struct umpa_proxy_mods *m);

#endif
