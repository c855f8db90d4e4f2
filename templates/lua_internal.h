/* lua_internal.h - internals shared by the files of the Lua binding (not installed). */
#ifndef UMPA_LUA_INTERNAL_H
#define UMPA_LUA_INTERNAL_H

struct lua_State;

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
