/* lua_internal.h - internal: between the Lua binding's files (templates/lua.c, templates/lua_tls.c)
 * and the unit tests that look inside them.
 *
 * Not installed, not exported (names end with an underscore; the library exports
 * only umpa_* names without one, Makefile.am).  A unit test that calls these links
 * the library's objects rather than libumpa.so (UNIT_INTERNAL_LDADD in Makefile.am).
 */
#ifndef UMPA_LUA_INTERNAL_H
#define UMPA_LUA_INTERNAL_H

#include "umpa_error.h"

struct lua_State;
struct umpa_lua;
struct umpa_tls_conf;

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

/** Replace string.find/match/gmatch/gsub with the bounded matcher (lua_strpat.c). */
void umpa_lua_strpat_open_(struct lua_State *L);

#endif
