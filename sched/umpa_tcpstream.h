/* umpa_tcpstream.h - a userland TCP endpoint pair that turns byte streams into packets.
 *
 * Two endpoints (a client and a server) share one virtual clock.  Every
 * segment either side sends is built as Ethernet/IPv4 or IPv6/TCP/payload,
 * finished, stamped and handed to the emit callback; nothing touches a
 * socket.  The stream does the three-way handshake with options (MSS, SACK
 * permitted, timestamps, window scale), segments each send at the peer's
 * MSS (less the 12 bytes of the timestamp option when timestamps are on),
 * in flights that grow as slow start does (10 segments, doubling, never
 * filling the peer's window), and has the receiver acknowledge at least
 * every second segment, as a real stack with delayed ACKs would.  Teardown
 * is FIN / FIN+ACK / ACK; a reset is one RST+ACK.
 *
 * Hostile segmentation (seg_max, seg_random) cuts the stream into tiny or
 * odd-sized segments; the stream stays valid TCP.
 *
 * Hostile network (reorder, dup, loss, overlap), all seeded, applied to the
 * first transmission of data segments only (retransmissions always arrive).
 * The capture point sits between the endpoints: reordering and copies
 * happen before it (so the capture shows them), loss after it (so the
 * capture holds every byte and tshark still reassembles the whole stream).
 * What tshark 4.0's TCP analysis then says, frame by frame:
 * - reorder: a segment and its successor in the flight swap places; the
 *   early one is "previous segment not captured" (tcp.analysis.lost_segment:
 *   tshark cannot know yet), the late one tcp.analysis.out_of_order.  The
 *   receiver ACKs the early one at once with a SACK block.
 * - dup: a copy right behind the segment; tshark: tcp.analysis.retransmission.
 *   The receiver answers the copy at once with a D-SACK block (RFC 2883;
 *   tshark adds the expert warning "D-SACK Sequence"), a duplicate ACK when
 *   the ACK number did not move.
 * - loss: the original appears once, then its retransmission
 *   (tcp.analysis.retransmission, also fast_retransmission when it follows
 *   >= 2 duplicate ACKs within 20 ms); never "previous segment not captured"
 *   or "ACKed unseen segment".  The receiver sends an immediate duplicate
 *   ACK (with SACK blocks when SACK is permitted) for every segment after
 *   the hole; the sender retransmits all holes rtt/2 (+50 us) after the ACKs
 *   when it saw 3 duplicate ACKs (fast retransmit), otherwise after a
 *   retransmission timeout (rtt + 200 ms after the flight, Linux's minimum
 *   RTO); then the cumulative ACK jumps and the congestion window halves.
 * - overlap: retransmissions are cut afresh (random sizes up to the
 *   segment limit) and the last piece of a hole runs on into the SACKed
 *   data after it; overlapping bytes are the same bytes.
 * A 1-byte copy or retransmission of the highest byte seen looks like a
 *   keep-alive to tshark (tcp.analysis.keep_alive, its ACK keep_alive_ack)
 *   instead of a retransmission and duplicate ACK: byte-by-byte segments.
 * The receiver puts SACK blocks (kind 5, D-SACK first, then most recently
 * changed first, RFC 2018; 3 with timestamps, else 4) in every ACK while it
 * holds out-of-order data and SACK was permitted.  The first pure ACK that
 * repeats the SYN's acknowledgement number shows another window than the
 * SYN's unscaled one: tshark calls it a window update.
 * umpa_tcps_stats() counts all of these as they appear in the capture.
 *
 * Time: the stream runs on an umpa_loop (umpa_sched.h).  Each operation
 * is queued and runs as a chain of loop timers: the segments of one instant
 * are emitted from a timer callback and stamped with the loop's wall time
 * (umpa_loop_wall_ns), and the next instant - the peer's answer rtt/2
 * later, the per-flight delay, the fast-retransmit reaction, the
 * retransmission timeout - is a timer armed for it.  The capture point sits
 * between the endpoints; a packet crossing to the other side and its answer
 * are rtt/2 apart.
 * - umpa_tcps_new() makes a private virtual loop starting at start_sec:
 *   each call runs it until the operation is done (synchronous), and the
 *   same seed gives the same bytes and timestamps as ever.
 * - umpa_tcps_new_on() puts the stream on the caller's loop (virtual or
 *   live; start_sec is then ignored: time is the loop's): calls only queue
 *   the operation (data and label texts are copied) and return; the
 *   operations run as the caller runs the loop, interleaved with its other
 *   timers and streams.  umpa_tcps_on_idle() says when the queue drained
 *   (or an operation failed); umpa_tcps_wait() runs the loop until then.
 *   On a live loop each step is armed when the one before it ran, so a
 *   late timer delays what follows (as a real stack's reaction would be).
 *   Timestamps are then the real time of emission.  TCP timestamp values tick
 * once per millisecond from a random base per side.  All randomness (ISNs,
 * IP ids, the ephemeral port, timestamp bases) comes from a splitmix64
 * generator seeded by the options: the same seed gives the same bytes.
 *
 * After an operation fails (a callback error, no memory) the endpoints may
 * disagree on sequence numbers: free the stream.
 */
#ifndef UMPA_TCPSTREAM_H
#define UMPA_TCPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"

/** Which endpoint acts. */
enum umpa_tcps_side {
	UMPA_TCPS_CLIENT = 0, /**< the side that connects */
	UMPA_TCPS_SERVER = 1, /**< the side that listens */
};

/** How the stream is set up.  Fill with umpa_tcps_opts_init(), then change what you need. */
struct umpa_tcps_opts {
	int ipv6;            /**< 0: IPv4, 1: IPv6 */
	uint8_t addr[2][16]; /**< [side] address (first 4 bytes for IPv4); all zero: 10.0.0.1/.2 or fd00::1/::2 */
	uint16_t port[2];    /**< [side] port; 0: client ephemeral (32768-60999, from the RNG), server 443 */
	uint8_t mac[2][6];   /**< [side] Ethernet address; defaults 02:00:00:00:00:01 and :02 */
	uint16_t mss[2];     /**< [side] MSS announced in the SYN; 0: 1460 (IPv4) or 1440 (IPv6), a 1500-byte MTU */
	int wscale;          /**< window scale shift both sides announce (0-14), -1 for no option (default 7) */
	int sackok;          /**< announce SACK permitted (default 1) */
	int timestamps;      /**< use the timestamp option (default 1) */
	uint32_t rwnd;       /**< receive window in bytes (default 131072 with scaling, 65535 without) */
	uint64_t seed;       /**< RNG seed */
	uint32_t rtt_us;     /**< round-trip time (default 20000) */
	uint32_t per_flight_delay_us; /**< extra time before each send/close/reset (application think time) */
	uint32_t seg_max;  /**< hostile segmentation: no segment carries more than this (0: the MSS; 1: byte by byte) */
	int seg_random;    /**< hostile segmentation: segment sizes drawn from the RNG, 1 to the limit */
	int64_t start_sec; /**< time of the first packet (default 1700000000) */
	int64_t start_nsec; /**< nanoseconds part */
	/* hostile network (see above) */
	double reorder; /**< probability (0-1) a data segment arrives after its successor (default 0) */
	double dup;     /**< probability (0-1) a data segment is duplicated (default 0) */
	double loss;    /**< probability (0-1) a data segment is lost after the capture point (default 0) */
	int overlap;    /**< retransmissions cover other ranges than the lost segments (with loss; default 0) */
};

/** What a stream did so far (umpa_tcps_stats()); counts of packets as they appear in the capture. */
struct umpa_tcps_stats {
	uint64_t data_segments;    /**< data segments sent the first time (originals, without copies) */
	uint64_t reordered;        /**< segments delivered after their successor (tshark: out_of_order) */
	uint64_t duplicated;       /**< extra copies of segments (tshark: retransmission) */
	uint64_t lost;             /**< segments lost after the capture point */
	uint64_t retransmitted;    /**< retransmitted segments (tshark: retransmission) */
	uint64_t fast_retransmits; /**< recoveries started by 3 duplicate ACKs */
	uint64_t timeouts;         /**< recoveries started by a retransmission timeout */
	uint64_t dup_acks;         /**< pure ACKs repeating the previous ACK number (tshark: duplicate_ack) */
	uint64_t sack_acks;        /**< ACKs carrying SACK blocks (D-SACK included) */
	uint64_t dsack_acks;       /**< ACKs reporting duplicate data with a D-SACK block (tshark: expert
				    * warning "D-SACK Sequence") */
	uint64_t window_updates;   /**< pure ACKs repeating the previous ACK number with another window: the
				    * first after the unscaled window of a SYN (tshark: window_update) */
};

/** A label on a byte of the data given to umpa_tcps_send_labelled(). */
struct umpa_tcps_label {
	size_t offset;    /**< byte offset in the data */
	const char *text; /**< the comment (copied into the segment comment when it is emitted) */
};

/**
 * Receives each finished packet.  @p p (and @p comment, also in p->comment)
 * are valid during the call only.  Return 0, or a negative error (with
 * @p e set) to stop the operation in progress.
 */
typedef int (*umpa_tcps_emit_cb)(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e);

/** A stream: two endpoints on a loop (opaque). */
struct umpa_tcps;

/** Fill @p o with the defaults documented in struct umpa_tcps_opts (seed 0). */
void umpa_tcps_opts_init(struct umpa_tcps_opts *o);

/**
 * Create a stream from @p o (NULL: defaults) that emits through @p cb with
 * @p arg.  No packet is sent yet.  Returns NULL with @p e set on bad options
 * (wscale above 14, an MSS below 64, rwnd 0 or too large for the scale, a
 * probability outside 0-1) or no memory.
 */
struct umpa_tcps *umpa_tcps_new(const struct umpa_tcps_opts *o, umpa_tcps_emit_cb cb, void *arg, struct umpa_err *e);

/**
 * Three-way handshake: client SYN, server SYN+ACK, client ACK, with the
 * configured options.  Returns 0 or a negative error (UMPA_EINVAL if
 * already connected or closed).
 */
int umpa_tcps_connect(struct umpa_tcps *t, struct umpa_err *e);

/**
 * Send @p n bytes of @p data from @p side: segments at the peer's MSS (or
 * as seg_max/seg_random say), in slow-start flights that stay below the
 * peer's window, each flight acknowledged by the peer rtt/2 later (an ACK
 * per two segments, and one for an odd last segment); PSH on the last
 * segment.
 * @p comment (may be NULL) goes on the first segment.  Returns 0 or a
 * negative error (UMPA_EINVAL when not connected or @p side has closed).
 */
int umpa_tcps_send(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n, const char *comment,
		   struct umpa_err *e);

/**
 * Like umpa_tcps_send(), with comments on byte offsets: the first
 * transmission of a segment carries, as its comment, the texts of the
 * labels whose offset falls inside it, joined by "; ".  Copies and
 * retransmissions carry no comment.  @p labels (may be NULL when
 * @p nlabels is 0) must be sorted by offset, each below @p n; the texts
 * must stay valid during the call.  Returns 0 or a negative error
 * (UMPA_EINVAL for unsorted or out-of-range labels, or as umpa_tcps_send()).
 */
int umpa_tcps_send_labelled(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n,
			    const struct umpa_tcps_label *labels, size_t nlabels, struct umpa_err *e);

/**
 * Half-close from @p side: its FIN+ACK, the peer's ACK rtt/2 later.
 * @p side may not send afterwards; the peer still may, and @p side
 * acknowledges what it sends.  When the peer has already shut down, this
 * completes the close (FIN+ACK, final ACK) and the stream is closed.
 * Returns 0 or a negative error (UMPA_EINVAL when not connected or @p side
 * already sent its FIN).
 */
int umpa_tcps_shutdown(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e);

/**
 * Orderly close started by @p side: its FIN+ACK, the peer's FIN+ACK, the
 * final ACK.  After a half-close (umpa_tcps_shutdown()) only the missing
 * FIN+ACK and the final ACK are sent.  The stream is closed afterwards.
 * Returns 0 or a negative error.
 */
int umpa_tcps_close(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e);

/**
 * Abort from @p side: one RST+ACK at its next sequence number.  The stream
 * is closed afterwards.  Returns 0 or a negative error.
 */
int umpa_tcps_reset(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e);

/** Initial sequence number of @p side. */
uint32_t umpa_tcps_isn(const struct umpa_tcps *t, enum umpa_tcps_side side);

/** Next sequence number @p side will send. */
uint32_t umpa_tcps_snd_nxt(const struct umpa_tcps *t, enum umpa_tcps_side side);

/** Port of @p side (after automatic choice). */
uint16_t umpa_tcps_port(const struct umpa_tcps *t, enum umpa_tcps_side side);

/** The loop's wall time (virtual: of the next packet before any delay), in nanoseconds since the epoch. */
int64_t umpa_tcps_now_ns(const struct umpa_tcps *t);

/** Copy what @p t did so far into @p st. */
void umpa_tcps_stats(const struct umpa_tcps *t, struct umpa_tcps_stats *st);

/**
 * Free @p t (no further packet is sent: queued operations are dropped, its
 * pending timer cancelled; a private loop is freed).  Not from inside its
 * own emit callback.  NULL is allowed.  Returns NULL.
 */
struct umpa_tcps *umpa_tcps_free(struct umpa_tcps *t);

struct umpa_loop;

/**
 * Like umpa_tcps_new(), on @p loop (not owned; NULL: a private virtual loop
 * starting at o->start_sec, as umpa_tcps_new).  On a caller's loop the
 * operations are asynchronous: umpa_tcps_connect/send/shutdown/close/reset
 * check the request against the state as of the operations queued so far,
 * queue it and return 0; the packets come as the caller runs the loop.  An
 * operation that fails later (the emit callback's error, no memory) is
 * reported to the idle callback, or without one stops the loop with
 * umpa_loop_fail.  Timestamp values count from the loop's time at creation.
 */
struct umpa_tcps *umpa_tcps_new_on(struct umpa_loop *loop, const struct umpa_tcps_opts *o, umpa_tcps_emit_cb cb,
				   void *arg, struct umpa_err *e);

/** The loop @p t runs on (its private one for umpa_tcps_new()). */
struct umpa_loop *umpa_tcps_loop(const struct umpa_tcps *t);

/** True while @p t has operations queued or running. */
int umpa_tcps_busy(const struct umpa_tcps *t);

/**
 * Called from the loop when @p t's queue has drained: @p rc is 0, or the
 * negative error of the operation that failed (then @p e holds its message
 * and the stream is unusable).  The callback may queue more operations.
 */
typedef void (*umpa_tcps_idle_cb)(void *arg, struct umpa_tcps *t, int rc, const struct umpa_err *e);

/** Set @p t's idle callback (NULL: none; a failure then stops the loop with umpa_loop_fail). */
void umpa_tcps_on_idle(struct umpa_tcps *t, umpa_tcps_idle_cb cb, void *arg);

/**
 * Run @p t's loop until its queue has drained (other timers of the loop run
 * too, in time order).  Not from inside a callback of that loop (no nested
 * runs).  Returns 0, the error of a failed operation, or the loop's error.
 */
int umpa_tcps_wait(struct umpa_tcps *t, struct umpa_err *e);

#endif
