/* umpa_udprelay.h - a UDP datagram relay with per-direction impairment (`umpa proxy --udp`, UDP proxies).
 *
 * The relay listens on one ADDR:PORT.  Each client address gets a session:
 * a socket of its own connected to the target, so the server's answers
 * find their way back to that client.  Datagrams of each direction go
 * through one impairment (umpa_impair.h: loss, duplication, reordering,
 * delay, jitter, rate), shared by every session of that direction.  A
 * session idle for opts.idle_ns ends; at most opts.max_sessions live at
 * once (a client beyond that is not served and counted).  No allocation
 * per datagram: one receive buffer, the impairment's own free list.
 *
 * Library code: nothing prints.  Single-threaded, on the loop's thread.
 */
#ifndef UMPA_UDPRELAY_H
#define UMPA_UDPRELAY_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_impair.h"
#include "umpa_proxy.h"
#include "umpa_sched.h"

/**
 * How a relay runs.  Fill with umpa_udprelay_opts_init().
 *
 * Hooks (optional) make sessions connections as the TCP proxy has them:
 * open when a session starts (its umpa_proxy_conn_info: client, target,
 * listening address; a negative return refuses the client's datagram,
 * counted in refused), data on every datagram before the impairment
 * (out->len 0 or UMPA_PROXY_RESET drops it, counted in hook_dropped;
 * the pieces hooks->parts names become that many datagrams; out->delay_ns
 * holds each of them that long before the impairment, counted in
 * hook_delayed, while the datagrams after it go on; a negative return drops
 * it, counted in hook_errors), close when it ends.
 * With session_cfg (arg: hooks->arg, state: what open set) a session may
 * have an impairment of its own per direction instead of the shared one:
 * asked when the session starts and at each umpa_udprelay_refresh.
 */
struct umpa_udprelay_opts {
	const char *listen;                   /**< "ADDR:PORT" ("[v6]:PORT"; port 0: any free port) */
	const char *target;                   /**< "HOST:PORT" (resolved once) */
	int64_t idle_ns;                      /**< a session ends after this long without a datagram (default 60 s) */
	unsigned max_sessions;                /**< client addresses at once (default 1024) */
	const struct umpa_proxy_hooks *hooks; /**< per session and datagram (copied), or NULL */
	/** 1 with @p c set: direction @p dir of that session has an impairment of its own; 0: the shared one. */
	int (*session_cfg)(void *arg, void *state, int dir, struct umpa_impair_cfg *c);
};

/** Counters of a relay ([0] client to server, [1] server to client). */
struct umpa_udprelay_stats {
	uint64_t sessions;        /**< sessions made */
	uint64_t active;          /**< sessions now */
	uint64_t refused;         /**< datagrams of clients beyond max_sessions */
	uint64_t dgrams_in[2];    /**< datagrams received */
	uint64_t bytes_in[2];     /**< their bytes */
	uint64_t dgrams_out[2];   /**< datagrams sent (duplicates included) */
	uint64_t bytes_out[2];    /**< their bytes */
	uint64_t send_errors[2];  /**< sends the kernel refused */
	uint64_t hook_dropped[2]; /**< datagrams the hooks dropped */
	uint64_t hook_errors[2];  /**< datagrams whose hook failed (dropped) */
	uint64_t hook_delayed[2]; /**< datagrams a hook delayed (each held for its delay, then on) */
	uint64_t own;             /**< sessions with an impairment of their own now */
};

struct umpa_udprelay;

/** Defaults into @p o. */
void umpa_udprelay_opts_init(struct umpa_udprelay_opts *o);

/** Start a relay on live loop @p loop.  NULL with @p e set ("listen ...: Address already in use"). */
struct umpa_udprelay *umpa_udprelay_new(struct umpa_loop *loop, const struct umpa_udprelay_opts *o, struct umpa_err *e);

/** Set direction @p dir's impairment (0 client to server, 1 back).  0 or -UMPA_EINVAL (checked first). */
int umpa_udprelay_set(struct umpa_udprelay *r, int dir, const struct umpa_impair_cfg *c, struct umpa_err *e);

/** The bound listening address as "ADDR:PORT" ("[v6]:PORT") in @p buf (@p n bytes). */
const char *umpa_udprelay_bound(const struct umpa_udprelay *r, char *buf, size_t n);

/** The counters so far. */
void umpa_udprelay_stats(const struct umpa_udprelay *r, struct umpa_udprelay_stats *st);

/** The impairment counters of direction @p dir. */
const struct umpa_impair_stats *umpa_udprelay_impair_stats(const struct umpa_udprelay *r, int dir);

/**
 * The impairment counters of direction @p dir over the shared impairment
 * and every session's own (those of ended sessions included) into @p st.
 */
void umpa_udprelay_impair_total(const struct umpa_udprelay *r, int dir, struct umpa_impair_stats *st);

/** Ask session_cfg again for every session (the toxics changed or time passed). */
void umpa_udprelay_refresh(struct umpa_udprelay *r);

/**
 * Call @p cb for each session now (@p cb may be NULL), as umpa_proxy_conns
 * does for connections: ci (id, client, target, listening address),
 * bytes per direction (in: received, out: sent), started_ns (wall clock),
 * connected 1, tls 0, sni "".  Returns their number.
 */
size_t umpa_udprelay_sessions(const struct umpa_udprelay *r, umpa_proxy_conn_cb cb, void *arg);

/** Close every session and the listener.  NULL is fine.  Returns NULL. */
struct umpa_udprelay *umpa_udprelay_free(struct umpa_udprelay *r);

#endif
