/* persona_lua.h - internal: the Lua side of host personalities (templates/persona_lua.c).
 *
 * Not installed: the template runtime (templates/run.c) gives a template's
 * state the functions personality() and personality_closed() over the
 * runtime's personality set.  The guide is templates/README.md.
 */
#ifndef UMPA_PERSONA_LUA_H
#define UMPA_PERSONA_LUA_H

#include <stdint.h>

#include "umpa_lua.h"
#include "umpa_persona.h"

struct lua_State;

/** What the Lua functions work on (owned by the caller, outliving the state). */
struct umpa_persona_lua {
	struct umpa_persona_set *set; /**< the bindings (shaping happens on the caller's send path) */
	struct umpa_lua *U;           /**< the state, to hand packets to the script */
	int64_t (*now)(void *arg);    /**< the caller's clock (ns since the epoch; virtual offline) */
	void *arg;                    /**< for now() */
};

/**
 * Define the globals personality(addr_or_cidr, name_or_table [, {uptime=s}])
 * and personality_closed(p) in @p L, bound to @p ctx.  Call it in protected
 * mode (it allocates).  Returns 0.
 */
int umpa_persona_lua_open_(struct lua_State *L, struct umpa_persona_lua *ctx);

#endif
