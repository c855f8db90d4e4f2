/* umpa_replay_tcp.h - stateful TCP replay: every recorded flow at once, against a live peer, checked.
 *
 * The capture's TCP packets are filed per flow (umpa_rtcp_add), each marked
 * as ours (to send) or theirs (what the peer is expected to answer).  Then
 * every flow starts at once (umpa_rtcp_start) on a loop, live or virtual,
 * and the engine plays our side of each:
 *
 * - Dependencies: a segment of ours with ACK set waits until the live peer
 *   has sent everything the recorded segment acknowledged (its ack relative
 *   to the peer's recorded ISN, SYN and FIN counting one).  That is where
 *   the recording shows the dependency; segments that acknowledge nothing
 *   new go at once.
 * - Rewriting: our sequence numbers are sent as recorded (the peer accepts
 *   any ISN); our acknowledgement numbers are moved from the recorded peer's
 *   ISN to the live one (learnt from its SYN+ACK or first segment); the TCP
 *   checksum is computed afresh (a capture made on the sender holds partial
 *   checksums of offloading NICs).  Addresses, ports and MACs are left as
 *   the caller's frames have them (rewrite before umpa_rtcp_add).
 * - Retransmission: while a flow waits longer than opts.timeout_ns, the
 *   oldest segment of ours the peer has not acknowledged is sent again, up
 *   to opts.retries times; then the flow gives up (reported, with what it
 *   waited for) and the other flows go on.
 * - Checks: every recorded segment of theirs that carries SYN, FIN, RST or
 *   data is one exchange, its request the last segment of ours before it in
 *   the file.  Live answers are compared relative to each side's ISN (the
 *   sequence and acknowledgement numbers themselves are volatile): the
 *   flags of SYN+ACK, FIN and RST, the relative sequence number of a FIN,
 *   and the data byte for byte over the peer's reassembled stream (so a
 *   peer that segments differently still matches).  A RST where none was
 *   recorded ends the flow: the exchange it answers differs ("tcp.flags SA
 *   -> RA"), the later ones are missing.  Data beyond the recorded stream is
 *   unexpected.  Pure ACKs are timing (delayed ACKs) and are not checked.
 *
 * Nothing here prints; results come through umpa_rtcp_results.
 */
#ifndef UMPA_REPLAY_TCP_H
#define UMPA_REPLAY_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"

struct umpa_loop;

/** The engine (opaque). */
struct umpa_rtcp;

/** Settings.  Zero means the default. */
struct umpa_rtcp_opts {
	int64_t timeout_ns; /**< a flow waiting this long retransmits (default 1 s) */
	unsigned retries;   /**< retransmissions before a flow gives up (default 3; UINT32_MAX for none) */
	size_t max_flows;   /**< most flows filed (default 65536): more is an error */
	/**
	 * Optional: exchange @p chk of flow @p flow (as umpa_rtcp_results
	 * numbers them) whose recorded answer, file frame @p rec_frame, is a
	 * SYN+ACK or a RST without data was settled by live packet @p live
	 * (dissected, valid during the call): compare their headers field by
	 * field (TTL, window, options) as the caller's checker says.
	 */
	void (*compare)(void *arg, size_t flow, size_t chk, uint64_t rec_frame, const struct umpa_pkt *live);
	void *compare_arg;
};

/** Transmit frame @p p (finished: checksums right).  Returns 0 or a negative error with @p e set. */
typedef int (*umpa_rtcp_send_fn)(void *arg, const struct umpa_pkt *p, struct umpa_err *e);

/** Verdicts. */
enum umpa_rtcp_verdict {
	UMPA_RTCP_MATCH = 0,  /**< answered as recorded */
	UMPA_RTCP_DIFFER,     /**< answered differently (see diff) */
	UMPA_RTCP_MISSING,    /**< no answer: the flow gave up or ended first */
	UMPA_RTCP_UNEXPECTED, /**< the live peer sent what the recording does not have */
};

/** One checked exchange (umpa_rtcp_results; strings valid during the call). */
struct umpa_rtcp_check {
	size_t flow;                    /**< flow number, from 0 in order of first appearance */
	const char *flow_name;          /**< "10.0.0.1:40000 > 10.0.0.2:80" (ours first) */
	enum umpa_rtcp_verdict verdict; /**< what happened */
	uint64_t req_frame;             /**< file frame number of the request (1-based; 0: none) */
	uint64_t ans_frame;             /**< file frame number of the recorded answer (0 for unexpected) */
	const char *recorded;           /**< the recorded answer in short ("SA", "data 0-120", "FIN at 121") */
	const char *live;               /**< the live answer in short ("" when missing) */
	size_t index;                   /**< its number within the flow (umpa_rtcp_opts.compare's chk) */
	const char *diff;               /**< differing: "tcp.flags SA -> RA"; missing: why; else "" */
	const char *field;              /**< differing: the field ("tcp.flags", "tcp.payload[1235]"), else "" */
	const char *rec_val;            /**< differing: its recorded value ("SA") */
	const char *live_val;           /**< differing: its live value ("RA")*/
	int64_t rec_rtt_ns;             /**< recorded answer time minus request time (-1 when unknown) */
	int64_t live_rtt_ns;            /**< live answer time minus the request's transmission (-1 when none) */
};

/** Per-flow outcome (umpa_rtcp_flows). */
struct umpa_rtcp_flow {
	size_t flow;
	const char *flow_name;
	unsigned checks, matched, differing, missing, unexpected;
	unsigned retransmits; /**< segments of ours sent again */
	const char *gave_up;  /**< why the flow was given up, or NULL */
	uint16_t port[2];     /**< [0] our port, [1] the peer's (for RST prevention) */
	int ipv6;
	uint8_t addr[2][16]; /**< [0] our address, [1] the peer's */
};

/** Create an engine on @p loop (not owned) with @p o (NULL: defaults).  NULL with @p e set on no memory. */
struct umpa_rtcp *umpa_rtcp_new(struct umpa_loop *loop, const struct umpa_rtcp_opts *o, umpa_rtcp_send_fn send,
				void *send_arg, struct umpa_err *e);

/** Free @p rt and cancel its timers.  NULL is fine.  Returns NULL. */
struct umpa_rtcp *umpa_rtcp_free(struct umpa_rtcp *rt);

/**
 * File recorded packet @p p (dissected) as frame @p frame of the file, sent
 * by us (@p ours 1) or by the peer (0).  Packets of one flow must come in
 * file order.  Returns 1 when taken (IPv4 or IPv6 TCP), 0 when it is not a
 * TCP packet (left to the caller), or a negative error: no memory, too
 * many flows, a truncated frame of ours (UMPA_ETRUNC: cannot be sent).
 */
int umpa_rtcp_add(struct umpa_rtcp *rt, const struct umpa_pkt *p, uint64_t frame, int ours, struct umpa_err *e);

/**
 * Play flow @p i as a later connection of its client (after the last
 * umpa_rtcp_add, before umpa_rtcp_start): our segments leave from port
 * @p our_port with @p isn_add added to their sequence numbers, and the
 * peer's packets to that port are the flow's.  A real client's next
 * connection does the same: a new 4-tuple is not held by the peer's
 * TIME-WAIT of the last one.  Returns 0, or a negative error (no such flow,
 * started already, no memory).
 */
int umpa_rtcp_renew(struct umpa_rtcp *rt, size_t i, uint16_t our_port, uint32_t isn_add, struct umpa_err *e);

/**
 * Take flow @p i's peer at port @p peer_port from now on (before or after
 * umpa_rtcp_start): the peer's packets from that port are the flow's and our
 * segments go to it.  For a flow the peer opens (its SYN first), whose port
 * the peer chooses for each connection: the run learns it from the SYN.
 * Returns 0, or a negative error (no such flow, no memory).
 */
int umpa_rtcp_peer_port(struct umpa_rtcp *rt, size_t i, uint16_t peer_port, struct umpa_err *e);

/** Number of flows filed. */
size_t umpa_rtcp_nflows(const struct umpa_rtcp *rt);

/** Describe flow @p i (ports and addresses filled; counts final after the run).  Returns 0 or -UMPA_ERANGE. */
int umpa_rtcp_flow_info(const struct umpa_rtcp *rt, size_t i, struct umpa_rtcp_flow *out);

/** Start every flow: their first segments go out now.  Returns 0 or a negative error (a send failure). */
int umpa_rtcp_start(struct umpa_rtcp *rt, struct umpa_err *e);

/**
 * A live packet (dissected): when it belongs to a flow and comes from the
 * peer, it is taken (state, checks, segments of ours it unblocks go out).
 * Our own frames heard back are ignored.  Returns 1 when taken, 0 when not
 * ours to judge, or a negative send error.
 */
int umpa_rtcp_input(struct umpa_rtcp *rt, const struct umpa_pkt *p, struct umpa_err *e);

/** True when every flow has finished (all checked, or given up). */
int umpa_rtcp_done(const struct umpa_rtcp *rt);

/**
 * Settle the flows still running (the caller's deadline came): their
 * unanswered exchanges become missing with @p why.
 */
void umpa_rtcp_finish(struct umpa_rtcp *rt, const char *why);

/** A result callback. */
typedef void (*umpa_rtcp_check_cb)(void *arg, const struct umpa_rtcp_check *c);

/** Report every exchange (flow by flow, in file order, unexpected ones after each flow's). Returns their number. */
size_t umpa_rtcp_results(const struct umpa_rtcp *rt, umpa_rtcp_check_cb cb, void *arg);

/** True when the recorded segment of ours at file frame @p frame has been sent. */
int umpa_rtcp_was_sent(const struct umpa_rtcp *rt, uint64_t frame);

struct umpa_replay_driver;
struct umpa_replay_cap;

/**
 * The TCP driver of `umpa replay` (sched/umpa_replay.h): claims every TCP
 * flow of the capture and plays it with one engine per flow, started when
 * the flow's first packet is due by the schedule; later packets go when
 * the live peer allows, not by the schedule.  Its checks become the run's
 * exchange results: the request of each is the segment of ours before the
 * answers, several answers of one request are one result (the worst
 * verdict, every difference); the headers of SYN+ACK and RST
 * answers are also compared field by field with the run's checker (so
 * ip.ttl or tcp.window_size_value changes show); a request nothing
 * answered when recorded (a pure ACK) is "sent", or "gave up" when the
 * flow ended before it.
 */
extern const struct umpa_replay_driver umpa_replay_driver_tcp;

/**
 * The port the client of TCP flow @p fi of @p cap (recorded port @p port)
 * uses for its connection number @p conn (0: the recorded one, unchanged):
 * from 1 on, 1024 + ((conn - 1) * cap->nflows + fi) mod 31744, below the
 * ephemeral ranges systems draw from (Linux 32768-60999, others 49152 up),
 * so no two connections of one replay share a 4-tuple (until the range wraps)
 * and none takes a recorded one.  A recorded port under 1024 (a client that
 * needs a privileged port: rsh, NFS) gets another privileged one, from
 * rresvport's 512-1023: 512 + ((conn - 1) * cap->nflows + fi) mod 511,
 * stepping over the recorded port (mod 512 for a recorded port under 512).
 */
uint16_t umpa_replay_tcp_port(const struct umpa_replay_cap *cap, uint32_t fi, uint16_t port, uint64_t conn);

/** Name of verdict @p v ("match", "differ", "missing", "unexpected"). */
const char *umpa_rtcp_verdict_name(enum umpa_rtcp_verdict v);

#endif
