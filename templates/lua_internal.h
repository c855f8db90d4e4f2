/* lua_internal.h - internal: between the Lua binding's files (templates/lua.c, templates/lua_tls.c)
 * and the unit tests that look inside them.
 *
 * Not installed, not exported (names end with an underscore; the library exports
 * only umpa_* names without one, Makefile.am).  A unit test that calls these links
 * the library's objects rather than libumpa.so (UNIT_INTERNAL_LDADD in Makefile.am).
 *
 * A script's memory cap counts every byte it causes to be held, not only what
 * Lua's allocator hands out: memory that objects of the binding keep outside
 * Lua (packet bytes, build plans, the TLS key log) is charged to the same
 * counter before it is allocated and released when the object lets it go
 * (its __gc).  Work done in C on a script's behalf (tls{}) is charged to a
 * per-evaluation budget that restarts with the instruction budget.
 */
#ifndef UMPA_LUA_INTERNAL_H
#define UMPA_LUA_INTERNAL_H

#include <stddef.h>

#include "umpa_error.h"

struct lua_State;
struct luaL_Reg;
struct umpa_lua;
struct umpa_tls_conf;
struct umpa_tls;

/** Define tls{} in a new state (called from templates/lua.c when a state opens). */
void umpa_lua_tls_open_(struct lua_State *L);

/**
 * For tests: evaluate @p chunk (Lua code returning an option table) in @p L, read
 * the table as tls{} does, without running the pump, and hand the result to @p cb
 * while its strings are alive.  Returns 0, or -1 with @p e set to the error tls{}
 * would raise.
 */
int umpa_lua_tls_read_(struct umpa_lua *L, const char *chunk, void (*cb)(const struct umpa_tls_conf *c, void *arg),
		       void *arg, struct umpa_err *e);

/**
 * Charge @p n bytes held outside Lua's allocator on behalf of the script of
 * @p L.  When they do not fit under the cap, a full collection runs first
 * (garbage packets give their bytes back); when they still do not fit, or
 * the state is closing (a finalizer run by lua_close, whose objects would
 * never be finalized), raises "memory limit (N MiB) exceeded" / "... while
 * the state closes" as a Lua error.  Also tells the collector about the
 * bytes, so garbage holding outside memory is collected as soon as Lua
 * memory would be.
 */
void umpa_lua_mem_charge_(struct lua_State *L, size_t n);

/** Give back @p n bytes charged with umpa_lua_mem_charge_ (never raises; safe in __gc). */
void umpa_lua_mem_release_(struct lua_State *L, size_t n);

/**
 * Bring the charge of one object from @p *charged to @p now bytes: charge the
 * growth (may raise, *charged then unchanged) or release the shrink.
 */
void umpa_lua_mem_account_(struct lua_State *L, size_t *charged, size_t now);

/** Nonzero while lua_close runs the state's finalizers: create nothing that needs one. */
int umpa_lua_closing_(struct lua_State *L);

/**
 * The number of the current evaluation: it changes every time the host
 * calls into the state (each umpa_lua_* entry point and
 * umpa_lua_set_limits), so per-evaluation budgets (tls{} work) restart
 * when it changes.
 */
unsigned long long umpa_lua_eval_(struct lua_State *L);

/**
 * Charge @p steps units of work done by a C function of the sandbox (pattern
 * steps, elements moved) to the running script's instruction budget, and
 * check its time limits when the timer has ticked.  When a limit is passed it
 * raises a Lua error naming the limit and @p fn ("x.lua:3: time limit
 * exceeded (5 s CPU) in string.find"), and does not return.
 */
void umpa_lua_charge_(struct lua_State *L, unsigned long steps, const char *fn);

/**
 * Like umpa_lua_charge_ for C code that must not be left by a longjmp (a
 * callback of OpenSSL's, a loop holding resources): charges @p steps and
 * returns 1, without raising, when a limit has been passed; the caller
 * cleans up, returns to where it may raise, and calls
 * umpa_lua_charge_(L, 0, "tls") to raise the limit's message.  Returns 0
 * otherwise.
 */
int umpa_lua_budget_spent_(struct lua_State *L, unsigned long steps);

/**
 * For a host's live TLS service (tls.serve): read the option table at @p idx
 * as tls{} does - options naming a file are allowed when @p file_ok (may be
 * NULL: none) accepts the path - charge the key generation to the
 * evaluation's budget, build a pump (with @p self_signed, a generated server
 * certificate signs itself), and push a userdata that owns it (its __gc
 * frees the pump).  Returns the pump; raises a Lua error on bad options.
 */
struct umpa_tls *umpa_lua_tls_pump_(struct lua_State *L, int idx, int self_signed,
				    int (*file_ok)(void *arg, const char *path), void *arg);

/** The pump held by the userdata at @p idx (made by umpa_lua_tls_pump_). */
struct umpa_tls *umpa_lua_tls_pump_get_(struct lua_State *L, int idx);

/** Replace string.find/match/gmatch/gsub with the bounded matcher (lua_strpat.c). */
void umpa_lua_strpat_open_(struct lua_State *L);

/**
 * Push chunk text @p s (@p n bytes) as Lua compiles it: Scapy's spelling
 * (keyword arguments, [...] lists) rewritten into Lua's, valid Lua left as
 * it is, line numbers kept (templates/lua_scapy.c).
 */
void umpa_lua_push_source_(struct lua_State *L, const char *s, size_t n);

/**
 * Replace the option pair at @p idx ({"MSS", 1460}, Scapy's ("MSS", 1460))
 * with its spec text ("mss=1460") pushed on the stack (the pair stays).
 */
void umpa_lua_option_item_(struct lua_State *L, int idx);

/**
 * Push the function reply(p, layer...) -> a layer stack answering packet p
 * (addresses and ports swapped, TCP seq/ack and ICMP echo id/seq/data
 * filled; the given layers replace those of their protocol); the template
 * runtime's reply() (templates/run.c, umpa_run.h).
 */
void umpa_lua_push_reply_(struct lua_State *L);

/**
 * For tests: how many answers reply() has compiled in the state of @p L, and
 * how many packets were built from compiled answers (its fast path).
 */
void umpa_lua_reply_stats_(struct lua_State *L, unsigned long *compiled, unsigned long *built);

/**
 * Make the metatable @p name (luaL_newmetatable) with the functions @p fns
 * (may be NULL) and __metatable set to its name, so a script can neither
 * read nor replace it; leaves it on the stack.  Every object type of the
 * binding (lua.c, lua_tls.c, run.c, run_tcp.c) is made this way.
 */
void umpa_lua_new_mt_(struct lua_State *L, const char *name, const struct luaL_Reg *fns);

/** Define the Scapy helpers that are not protocols: DNSQR, DNSRR, ICMPv6EchoRequest ..., True, False, "A" * N. */
void umpa_lua_scapy_open_(struct lua_State *L);

#endif
