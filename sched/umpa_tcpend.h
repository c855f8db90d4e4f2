/* umpa_tcpend.h - a one-sided userland TCP endpoint on the loop: packets in, packets out, no socket.
 *
 * One endpoint is one connection (RFC 9293): it connects or listens,
 * reads, writes, half-closes and resets.  Received segments come in as
 * dissected packets (umpa_tcpe_input, from a capture, a replayed file or
 * another endpoint); segments go out, built as Ethernet / IPv4 or IPv6 /
 * TCP / payload with the same builder as the endpoint pair
 * (umpa_tcpstream.h), through the emit callback.  Time is the loop's
 * (umpa_sched.h): live against a real peer, or virtual in tests and offline
 * runs.  A server that takes many connections makes one endpoint per SYN it
 * sees (demultiplexing by address and port is the caller's).
 *
 * What it does:
 * - handshake with MSS, SACK permitted, timestamps and window scale
 *   (RFC 7323), each on only when both sides offer it;
 * - sequence and window bookkeeping; the receive window is constant
 *   (in-order data goes to the data callback at once); out-of-order data is
 *   held (up to the window) and delivered in order; every second full
 *   segment is acknowledged at once, otherwise after a delayed-ACK timer;
 *   out-of-order data, duplicates (D-SACK, RFC 2883) and hole fills are
 *   acknowledged at once with SACK blocks (RFC 2018);
 * - the retransmission timer of RFC 6298 (SRTT, RTTVAR, RTO clamped to
 *   [rto_min, rto_max], doubled on each expiry, Karn's rule; RTT samples
 *   from the timestamp echo when timestamps are on); after an RTO the
 *   window restarts at one segment and the unacknowledged data is sent
 *   again, skipping what the peer SACKed;
 * - fast retransmit on three duplicate ACKs (or SACKed data three segments
 *   beyond the hole), then recovery (RFC 6582 NewReno, SACK-guided: each
 *   ACK during recovery retransmits the next hole); slow start and
 *   congestion avoidance (RFC 5681), initial window 10 segments;
 * - a zero window is probed with one byte when the timer fires (backed
 *   off; a peer that answers is probed for as long as it keeps the window
 *   shut);
 * - FIN in both directions (half-close), TIME-WAIT, RST sent (abort, a
 *   segment for a closed connection) and received.
 *
 * Not done: urgent data, path MTU discovery, keep-alives, SYN cookies.
 */
#ifndef UMPA_TCPEND_H
#define UMPA_TCPEND_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"

struct umpa_loop;

/** Endpoint settings.  Fill with umpa_tcpe_opts_init(), then change what you need. */
struct umpa_tcpe_opts {
	int ipv6;             /**< 0: IPv4, 1: IPv6 */
	uint8_t addr[2][16];  /**< [0] local, [1] remote address (listen: remote all zero = any, learnt from the SYN) */
	uint16_t port[2];     /**< [0] local, [1] remote port (listen: remote 0 = any) */
	uint8_t mac[2][6];    /**< [0] local, [1] next hop's Ethernet address (listen: all zero = the SYN's source) */
	uint16_t mss;         /**< MSS announced (0: 1460 for IPv4, 1440 for IPv6) */
	int wscale;           /**< window scale shift announced (0-14), -1 for no option (default 7) */
	int sackok;           /**< announce SACK permitted (default 1) */
	int timestamps;       /**< offer timestamps (default 1) */
	uint32_t rwnd;        /**< receive window in bytes (default 262144; at most 65535 << wscale) */
	uint32_t sndbuf;      /**< most bytes written and not yet acknowledged (default 4 MiB) */
	uint64_t seed;        /**< ISN, IP ids and the timestamp base come from it */
	uint32_t rto_min_us;  /**< lower bound of the RTO (default 200000, Linux's; RFC 6298 says 1 s) */
	uint32_t rto_max_us;  /**< upper bound (default 60 s) */
	uint32_t rto_init_us; /**< before the first RTT sample (default 1 s, RFC 6298) */
	uint32_t delack_us;   /**< delayed-ACK timer (default 40000) */
	uint32_t max_retries; /**< expiries of one segment's timer before giving up with a RST (default 15) */
	uint32_t timewait_us; /**< TIME-WAIT length (default 60 s, Linux's; a FIN seen again restarts it) */
};

/** What happened to an endpoint (the event callback). */
enum umpa_tcpe_event {
	UMPA_TCPE_CONNECTED = 1, /**< the handshake completed (either side) */
	UMPA_TCPE_EOF,           /**< the peer's FIN: it sends nothing more (every byte before it was delivered) */
	UMPA_TCPE_SENT,          /**< everything written so far has been acknowledged */
	UMPA_TCPE_CLOSED,  /**< both FINs exchanged and acknowledged (after TIME-WAIT on the side that closed first) */
	UMPA_TCPE_RESET,   /**< the peer reset the connection */
	UMPA_TCPE_TIMEOUT, /**< retransmissions gave up (a RST was sent) */
};

/** Connection states (RFC 9293 names). */
enum umpa_tcpe_state {
	UMPA_TCPE_ST_CLOSED = 0,
	UMPA_TCPE_ST_LISTEN,
	UMPA_TCPE_ST_SYN_SENT,
	UMPA_TCPE_ST_SYN_RCVD,
	UMPA_TCPE_ST_ESTABLISHED,
	UMPA_TCPE_ST_FIN_WAIT_1,
	UMPA_TCPE_ST_FIN_WAIT_2,
	UMPA_TCPE_ST_CLOSE_WAIT,
	UMPA_TCPE_ST_CLOSING,
	UMPA_TCPE_ST_LAST_ACK,
	UMPA_TCPE_ST_TIME_WAIT,
};

/** The callbacks (all run from the loop or from umpa_tcpe_input/write/... of the same endpoint). */
struct umpa_tcpe_cbs {
	/** A segment to send: @p p is valid during the call.  Return 0 or a negative error (with @p e set). */
	int (*emit)(void *arg, const struct umpa_pkt *p, struct umpa_err *e);
	/** In-order bytes received (may be NULL: discarded). */
	void (*data)(void *arg, const uint8_t *d, size_t n);
	/** Something happened (may be NULL). */
	void (*event)(void *arg, enum umpa_tcpe_event ev);
	void *arg; /**< for all three */
};

/** Counters of an endpoint (umpa_tcpe_stats). */
struct umpa_tcpe_stats {
	uint64_t segs_out;         /**< segments emitted */
	uint64_t segs_in;          /**< segments accepted by umpa_tcpe_input */
	uint64_t bytes_out;        /**< payload bytes sent for the first time */
	uint64_t bytes_in;         /**< bytes delivered in order */
	uint64_t retransmits;      /**< data segments sent again */
	uint64_t rto_expiries;     /**< retransmission timer expiries */
	uint64_t fast_retransmits; /**< recoveries started by duplicate ACKs or SACK */
	uint64_t dup_acks_in;      /**< duplicate ACKs received */
	uint64_t ooo_segs_in;      /**< segments received out of order (held) */
	uint64_t dup_segs_in;      /**< segments carrying only data already received */
	uint64_t bad_in;           /**< segments dropped: bad checksum, truncated, invalid */
	uint64_t window_probes;    /**< zero-window probes sent */
	uint32_t srtt_us;          /**< smoothed RTT (0: no sample yet) */
	uint32_t rto_us;           /**< current RTO */
	uint32_t cwnd;             /**< congestion window, bytes */
};

/** A connection endpoint (opaque). */
struct umpa_tcpe;

/** Fill @p o with the defaults documented in struct umpa_tcpe_opts. */
void umpa_tcpe_opts_init(struct umpa_tcpe_opts *o);

/**
 * Create a closed endpoint on @p loop (not owned) from @p o with @p cbs
 * (emit required).  Returns NULL with @p e set on bad options (wscale above
 * 14, MSS below 64, rwnd 0 or too large for the scale, no local port) or no
 * memory.
 */
struct umpa_tcpe *umpa_tcpe_new(struct umpa_loop *loop, const struct umpa_tcpe_opts *o, const struct umpa_tcpe_cbs *cbs,
				struct umpa_err *e);

/** Free @p ep (nothing is sent; its timers are cancelled).  Not from its own callbacks.  NULL allowed.  Returns NULL.
 */
struct umpa_tcpe *umpa_tcpe_free(struct umpa_tcpe *ep);

/** Wait for a SYN (LISTEN).  Returns 0 or UMPA_EINVAL when not closed. */
int umpa_tcpe_listen(struct umpa_tcpe *ep, struct umpa_err *e);

/** Send a SYN to the remote address and port (both required).  Returns 0 or a negative error. */
int umpa_tcpe_connect(struct umpa_tcpe *ep, struct umpa_err *e);

/**
 * A received packet, dissected (umpa_dissect), with an IPv4 or IPv6 and a
 * TCP layer.  Returns 1 when it was for this endpoint (its addresses and
 * ports; taken even when the segment is then ignored as TCP says), 0 when
 * it was not (another connection, no TCP layer), or a negative error of
 * the emit callback.  A segment with a bad checksum or a truncated or
 * invalid TCP layer is counted (bad_in) and dropped (returns 1).
 */
int umpa_tcpe_input(struct umpa_tcpe *ep, const struct umpa_pkt *p, struct umpa_err *e);

/**
 * Queue @p n bytes of @p data for sending (copied).  Allowed from
 * LISTEN, SYN_SENT and SYN_RCVD (sent once connected) until shutdown.  Returns the
 * number of bytes taken (less than @p n when the send buffer is full:
 * write the rest after UMPA_TCPE_SENT), or a negative error (UMPA_EINVAL
 * after shutdown or when not connecting or connected).
 */
int64_t umpa_tcpe_write(struct umpa_tcpe *ep, const void *data, size_t n, struct umpa_err *e);

/**
 * Half-close: a FIN after the data written so far (from LISTEN or the
 * handshake: once connected).  The peer may still send.  Returns 0 or a
 * negative error (UMPA_EINVAL when already shut down or closed).
 */
int umpa_tcpe_shutdown(struct umpa_tcpe *ep, struct umpa_err *e);

/** Abort: one RST, the endpoint is closed at once.  Returns 0 or a negative error. */
int umpa_tcpe_abort(struct umpa_tcpe *ep, struct umpa_err *e);

/** The connection state. */
enum umpa_tcpe_state umpa_tcpe_state(const struct umpa_tcpe *ep);

/** Name of state @p st ("ESTABLISHED"). */
const char *umpa_tcpe_state_name(enum umpa_tcpe_state st);

/** Bytes written and not yet acknowledged. */
size_t umpa_tcpe_unacked(const struct umpa_tcpe *ep);

/** The remote port (learnt from the SYN when listening on any). */
uint16_t umpa_tcpe_remote_port(const struct umpa_tcpe *ep);

/** Copy @p ep's counters into @p st. */
void umpa_tcpe_stats(const struct umpa_tcpe *ep, struct umpa_tcpe_stats *st);

#endif
