/* umpa_lua.h - the Lua binding: packet expressions and templates.
 *
 * One sandboxed Lua 5.4 state per umpa_lua.  Constructors are generated from
 * the protocol tables (every protocol name and alias: ether{}, ip{}, tcp{} ...),
 * so a CLI packet expression and a template read alike:
 *
 *     ether{}/ip{dst="10.0.0.2", ttl=7}/tcp{dport={22,80,443}, flags="S"}/"GET /"
 *
 * `/` stacks layers; a string is a raw payload; a list or range(a,b[,step]) in
 * a field expands into one packet per combination.  Built packets are Lua
 * objects: p.ip.ttl reads and writes fields in place (p.icmp._payload: the
 * bytes after a layer's header, p.ip._name its protocol), #p is the length,
 * p:bytes() the wire bytes, p:show() the summary line.  The sandbox has no
 * io, os, require, load of files or debug: scripts reach only what the host
 * gives them.  Memory (256 MiB), VM instructions (1e9), CPU time (5 s) and
 * wall-clock time (10 s) per call from the host are capped, in every place
 * a script can put code (finalizers are refused, error handlers, __close,
 * metamethods and pattern matching are bounded), so a script can neither
 * exhaust the machine nor hang.
 * templates/lua.c documents the whole language (values, alt{}, expansion
 * order, packet objects).
 */
#ifndef UMPA_LUA_H
#define UMPA_LUA_H

#include "umpa_error.h"
#include "umpa_packet.h"

struct lua_State;

/** A sandboxed Lua state with umpa's constructors. */
struct umpa_lua;

/** Create a state. Returns NULL with @p e set on failure. */
struct umpa_lua *umpa_lua_open(struct umpa_err *e);

/** Destroy a state (NULL is fine). Returns NULL. */
struct umpa_lua *umpa_lua_close(struct umpa_lua *L);

/** The underlying lua_State, for hosts that add functions (templates). */
struct lua_State *umpa_lua_state(struct umpa_lua *L);

/**
 * Set the sandbox limits: at most @p mem bytes of Lua memory and
 * @p instructions VM instructions per call from the host (0 keeps a limit
 * as it is).  Also restarts the budget of instructions and time (see
 * umpa_lua_set_deadline): every umpa_lua_* entry point does when no other
 * call from the host is running (a call nested in a host callback spends
 * its caller's budget), and a host that calls into the state itself (lua_pcall on a
 * template's callback) calls umpa_lua_set_limits(L, 0, 0) before each call
 * (better: umpa_lua_pcall, which also stops the time-limit timer after the
 * call and counts the call's CPU time).
 */
void umpa_lua_set_limits(struct umpa_lua *L, size_t mem, unsigned long long instructions);

/** Time limits of a state, in seconds; 0 means no limit. */
struct umpa_lua_deadline {
	double cpu; /**< CPU time per call from the host (an evaluation, a callback); default 5 */
	double
	    wall; /**< wall-clock time per call from the host, less the time the thread waited for a CPU; default 10 */
	double total; /**< CPU time over the state's life, summed over its calls (a template's budget); default 0 */
};

/**
 * Set the time limits of @p L (they apply from the next call from the
 * host).  A limit that is hit ends the call with one line naming it and the
 * script position, "x.lua:3: time limit exceeded (5 s CPU)" (with " in
 * string.find" when a C function was running), code UMPA_ERANGE.  Returns 0,
 * or -UMPA_EINVAL (a value negative, NaN or above 1e9) with @p e set.
 */
int umpa_lua_set_deadline(struct umpa_lua *L, const struct umpa_lua_deadline *d, struct umpa_err *e);

/**
 * Call the function below @p nargs arguments on the state's stack (as
 * lua_pcall) with a fresh budget of instructions and time: the way a host
 * runs a template's callback.  Leaves @p nresults results on success and
 * returns 0; on an error pops it and returns a negative code with @p e set
 * (messages name @p name when the error has no position).  A call nested in
 * another call from the host (a callback of a callback) spends the outer
 * budget.
 */
int umpa_lua_pcall(struct umpa_lua *L, int nargs, int nresults, const char *name, struct umpa_err *e);

/**
 * Called once per built packet.  The packet is finished and owned by the
 * binding: copy what you keep.  Return 0 to go on, negative to stop (the
 * error then propagates).
 */
typedef int (*umpa_lua_pkt_cb)(void *arg, struct umpa_pkt *p, struct umpa_err *e);

/**
 * Evaluate the packet expression @p expr (named @p where in messages, e.g.
 * "expression 1"), expand lists and ranges, build and finish each packet and
 * hand it to @p cb.  Returns the number of packets, or a negative error whose
 * message names the position ("expression 1:1: ip: unknown field 'tll'
 * (fields: version, hdr_len, ...)").  Expansion is capped at @p max packets
 * (0: 1,000,000) so a typo cannot exhaust memory.
 */
long umpa_lua_build(struct umpa_lua *L, const char *expr, const char *where, unsigned long max, umpa_lua_pkt_cb cb,
		    void *arg, struct umpa_err *e);

/**
 * Like umpa_lua_build, but @p chunk is a whole Lua chunk (a file's text) whose
 * return value is what is built: a layer stack, a packet, a string, or an
 * array of those (nested arrays flatten).  @p name names the chunk in errors
 * ("templates/example.lua:3: ...").
 */
long umpa_lua_build_chunk(struct umpa_lua *L, const char *chunk, size_t len, const char *name, unsigned long max,
			  umpa_lua_pkt_cb cb, void *arg, struct umpa_err *e);

/**
 * Run a Lua file or string chunk in the sandbox (for templates).  Errors name
 * the file and line.
 */
int umpa_lua_run(struct umpa_lua *L, const char *chunk, size_t len, const char *name, struct umpa_err *e);

/** umpa_lua_eval's answer when the text stops inside a statement: read another line and try again. */
#define UMPA_LUA_INCOMPLETE 1

struct umpa_sbuf;

/**
 * Run one entry of an interactive session (umpa shell), as Lua's own prompt
 * does: @p text (@p len bytes, Scapy's spelling accepted) as an expression
 * whose values are appended to @p out (tostring, tab-separated, one line),
 * else as statements; globals persist between entries.  The sandbox's
 * limits apply per entry.  @p name names it in messages ("stdin:3").
 * Returns 0, UMPA_LUA_INCOMPLETE when the text ends inside a statement (a
 * function not yet closed: add the next line and call again), or a negative
 * error with @p e set.
 */
int umpa_lua_eval(struct umpa_lua *L, const char *text, size_t len, const char *name, struct umpa_sbuf *out,
		  struct umpa_err *e);

/**
 * Push a copy of @p p as a Lua packet object onto the state's stack (for
 * hosts).  Returns 0 or a negative error (nothing pushed then).
 */
int umpa_lua_push_pkt(struct umpa_lua *L, const struct umpa_pkt *p, struct umpa_err *e);

/**
 * For a host's C function running inside the state (send(), pcap()): build
 * the value at stack index @p idx (a layer stack or spec, a packet, a string
 * or a nested array of those) and hand each packet to @p cb, as
 * umpa_lua_build does.  Errors, the callback's included, are raised as Lua
 * errors naming the caller's position.  Returns the number of packets.
 */
long umpa_lua_build_value(struct lua_State *L, int idx, unsigned long max, umpa_lua_pkt_cb cb, void *arg);

#endif
