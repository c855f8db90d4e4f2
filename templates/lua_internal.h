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

/** Replace string.find/match/gmatch/gsub with the bounded matcher (lua_strpat.c). */
void umpa_lua_strpat_open_(struct lua_State *L);

#endif
