/* replay_guard.h - keep the local kernel from resetting TCP flows that umpa replay plays from its own addresses. */
#ifndef UMPA_REPLAY_GUARD_H
#define UMPA_REPLAY_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"

/** One replayed TCP flow: our end (local) and the peer's. */
struct replay_guard_flow {
	int ipv6;
	uint8_t laddr[16], raddr[16]; /**< IPv4 in the first 4 bytes */
	uint16_t lport, rport;        /**< rport 0: any (a flow the peer opens, from a port of its own each time) */
};

/** An installed guard (opaque). */
struct replay_guard;

/**
 * For the flows of @p fl (@p n) whose local address a local interface
 * holds (getifaddrs), install one nftables table "inet umpa_replay_PID" with
 * an output-hook rule that drops the TCP RSTs the kernel sends on those
 * flows (it has no socket for them: the SYN+ACK of a connection umpa opened
 * would be answered with a RST).  umpa's own frames leave through a packet
 * socket and never meet the hook, so a recorded RST still goes.  The table
 * is removed by replay_guard_off, which the tool calls at the end, after a
 * signal broke the loop, and from an atexit handler; a table left by a
 * killed process (SIGKILL) is named after its PID: `nft delete table inet
 * umpa_replay_PID`.  Writes one line for the user into @p how ("kernel RSTs
 * of 3 flows from 10.0.0.1 dropped by nftables table inet umpa_replay_42
 * until the replay ends"), or "" when no flow needed it.  Returns 0 (with
 * *@p out NULL when nothing was needed) or a negative error (nft missing
 * or refused: not root) with @p e set.
 */
int replay_guard_on(const struct replay_guard_flow *fl, size_t n, struct replay_guard **out, char *how, size_t howlen,
		    struct umpa_err *e);

/** Remove the guard's table (idempotent) and free it.  NULL is fine. */
void replay_guard_off(struct replay_guard *g);

#endif
