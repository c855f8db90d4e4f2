/* umpa_lua_tls.h - tls{...} for templates: a whole TLS conversation as packets.
 *
 * The global tls{} (templates/lua_tls.c) runs the TLS pump (sched/umpa_tls.h)
 * with the options of `umpa tls`, table keys being the long option names
 * with '_' for '-':
 *
 *     tls{version="1.3", sni="a.test", send_client="GET /", send_server="200 OK"}
 *
 * and returns an array of packet objects (the conversation's frames, in
 * order, as any constructor's packets: they build into captures like the
 * rest of a template's packets) with three more fields: report (a table:
 * version, cipher, group, ... of the first conversation), reports (every
 * conversation's; two with resume) and keylog (SSLKEYLOGFILE text).
 *
 * Every key log a state produces is also collected, so the host that writes
 * the capture can put the keys in a pcapng Decryption Secrets Block before
 * the packets that need them (umpa build does).
 */
#ifndef UMPA_LUA_TLS_H
#define UMPA_LUA_TLS_H

#include <stddef.h>

#include "umpa_lua.h"

/** The SSLKEYLOGFILE lines of every tls{} conversation of a state, in order. */
struct umpa_lua_tls_keys {
	const char *text; /**< the lines (NULL while empty; not NUL-terminated) */
	size_t len;       /**< bytes in text: only grows */
};

/**
 * The key log collector of state @p L.  The struct is owned by the state,
 * stays at the same address until umpa_lua_close(), and is updated by every
 * tls{} call: a host keeps the pointer and compares len with what it has
 * written (a cheap check per packet).
 */
const struct umpa_lua_tls_keys *umpa_lua_tls_keys(struct umpa_lua *L);

#endif
