/* lua_internal.h - internal: between the Lua binding's files (templates/lua.c, templates/lua_tls.c).
 *
 * Not installed, not exported (names end with an underscore; the library exports
 * only umpa_* names without one, Makefile.am).
 */
#ifndef UMPA_LUA_INTERNAL_H
#define UMPA_LUA_INTERNAL_H

struct lua_State;

/** Define tls{} in a new state (called from templates/lua.c when a state opens). */
void umpa_lua_tls_open_(struct lua_State *L);

#endif
