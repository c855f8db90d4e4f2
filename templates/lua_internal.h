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

#endif
