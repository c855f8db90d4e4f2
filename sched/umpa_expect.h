/* umpa_expect.h - action-reaction: send a request, match its answers, time out.
 *
 * The engine is I/O-agnostic: it transmits through a caller's send function
 * (the tool passes a live injector, tests a fake wire) and is fed received
 * packets with umpa_expect_input (the tool from its capture callback, tests
 * from a virtual peer).  Timeouts run on a umpa_loop, live or virtual.
 *
 * Matching works as Scapy's sr(): every request is filed under a hash of its
 * layers' hashret hooks (both directions of an exchange hash alike), so a
 * received packet finds its candidates in O(1); the layers' answers hooks
 * then confirm, walking request and answer side by side.  An ICMP or ICMPv6
 * error answers the request it quotes: it is looked up by the hash of the
 * quoted packet.  A packet equal to a request byte for byte from the
 * network layer on is our own, heard back (a capture that sees outgoing
 * frames): never an answer, and its capture time stamp is the request's
 * transmit time.  When the answer's time stamp too is the kernel's, the RTT
 * is the difference of the two, so it does not depend on when the loop got
 * around to reading either; otherwise the loop's clock measures it.
 *
 * Persistent rules (umpa_on) see every received packet: a BPF expression
 * (run with pcap_offline_filter on the bytes) and/or field conditions
 * ("ip.ttl<5 and tcp.flags.syn==1").
 *
 * Nothing here prints; verbose reasons go to a caller's callback.
 */
#ifndef UMPA_EXPECT_H
#define UMPA_EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"
#include "umpa_sched.h"

/* ------------------------------------------------------------------ */
/* Matching (used by the engine; public for tests and other tools)     */
/* ------------------------------------------------------------------ */

/**
 * The matching hash of @p p (dissected): the layers' hashret hooks combined
 * from the first network layer on (link layers are left out, so a request
 * sent at layer 3 meets its answer captured with an Ethernet header; IPv6
 * extension headers and raw payload are left out too).  A packet carrying
 * an ICMP/ICMPv6 error hashes as the packet it quotes.  With @p upto_l4 the
 * walk stops after the first layer above the network layer (an error may
 * quote only the start of a request, so errors are matched on this one).
 */
uint32_t umpa_match_hash(const struct umpa_pkt *p, int upto_l4);

/**
 * Does @p resp answer @p req (both dissected)?  Walks both from their first
 * network layer, layer by layer, through each protocol's answers hook; an
 * ICMP error layer decides for the rest (it checks the quotation).  Layers
 * past the end of either packet, and raw payload, do not prevent an answer.
 * Returns 1 or 0; on 0 writes the reason ("tcp.ack off by 1") into @p why
 * (@p whylen bytes, may be NULL).
 */
int umpa_match_answers(const struct umpa_pkt *resp, const struct umpa_pkt *req, char *why, size_t whylen);

/* ------------------------------------------------------------------ */
/* Field predicates                                                    */
/* ------------------------------------------------------------------ */

/** Compiled field conditions (opaque). */
struct umpa_pred;

/**
 * Compile field conditions: comparisons `NAME OP VALUE` with OP one of ==
 * != < <= > >= joined by `and`/`&&`, `or`/`||`, `not`/`!` and parentheses.
 * NAME is a Wireshark field name ("ip.ttl", "tcp.flags.syn", "icmp.type")
 * or a protocol name alone ("tcp": the packet has that layer); a field name
 * alone means "present and not zero".  VALUE is anything the field accepts
 * when building ("64", "0x1c", "echo-reply", "SA", "10.0.0.2"); address and
 * byte fields compare with == and != only.  A condition on a layer the
 * packet lacks is false.  An IPv4 or IPv6 address compares with a prefix
 * too, as in Wireshark: "ip.dst == 10.99.0.0/16" is true for every address
 * of 10.99/16 ("!=" for every other).  Returns the predicate (free with umpa_pred_free)
 * or NULL with @p e set ("field conditions 'ip.tll<5': ip: unknown field 'tll'").
 */
struct umpa_pred *umpa_pred_compile(const char *expr, struct umpa_err *e);

/** True when dissected packet @p p satisfies @p pr. */
int umpa_pred_match(const struct umpa_pred *pr, const struct umpa_pkt *p);

/** Free @p pr (NULL is fine). Returns NULL. */
struct umpa_pred *umpa_pred_free(struct umpa_pred *pr);

/* ------------------------------------------------------------------ */
/* The engine                                                          */
/* ------------------------------------------------------------------ */

/** The engine (opaque). */
struct umpa_expect;

/**
 * Transmit @p p (finished, dissected).  Returns 0, or a negative error with
 * @p e set (the exchange then fails with that error).
 */
typedef int (*umpa_send_fn)(void *arg, const struct umpa_pkt *p, struct umpa_err *e);

/** One exchange as the callbacks see it (valid during the call only). */
struct umpa_exchange {
	uint64_t id;                    /**< the number umpa_expect_add returned */
	const struct umpa_pkt *request; /**< the request as sent */
	const struct umpa_pkt *answer;  /**< the answer (NULL on timeout) */
	int64_t rtt_ns;                 /**< from the last transmission to the answer; -1 on timeout */
	int64_t sent_ts_ns;             /**< wall time of the last transmission (ns since the epoch): the capture's
					     time stamp of the request heard back when it was, else the clock's */
	int rtt_kernel;                 /**< rtt_ns is the answer's capture time stamp minus the request's
					     (both from the kernel's packet taps); 0: the loop's clock measured it */
	unsigned tries;                 /**< transmissions made */
	int outcome;                    /**< index of the outcome that claimed the answer, -1 for none */
	void *user;                     /**< umpa_expect_opts.user */
};

/** An outcome callback. */
typedef void (*umpa_expect_cb)(void *arg, const struct umpa_exchange *x);

/** A predicate function over an answer: non-zero to accept. */
typedef int (*umpa_match_fn)(void *arg, const struct umpa_pkt *answer);

/**
 * "Reply like this → that callback".  An outcome accepts an answer when its
 * pred (if any) and its match function (if any) both accept it.
 */
struct umpa_outcome {
	const struct umpa_pred *pred; /**< field conditions (borrowed: keep alive), or NULL */
	umpa_match_fn match;          /**< predicate function, or NULL */
	void *match_arg;
	umpa_expect_cb cb; /**< what to run (NULL: nothing, the exchange still settles) */
	void *arg;
};

/** Most outcomes one exchange may have. */
#define UMPA_EXPECT_MAX_OUTCOMES 8

/**
 * How one exchange goes.  An answer (a packet the answers hooks accept)
 * settles the exchange: the first outcome that accepts it runs, else
 * on_reply.  No answer within timeout_ns after a transmission: the request
 * is sent again, up to @c retries more times, then on_timeout runs.
 */
struct umpa_expect_opts {
	int64_t timeout_ns;                  /**< per transmission (<= 0: one second) */
	unsigned retries;                    /**< extra transmissions after the first */
	const struct umpa_outcome *outcomes; /**< copied; at most UMPA_EXPECT_MAX_OUTCOMES */
	unsigned noutcomes;
	umpa_expect_cb on_reply; /**< an answer no outcome accepted (or there are none), or NULL */
	void *reply_arg;
	umpa_expect_cb on_timeout; /**< no answer after every try, or NULL */
	void *timeout_arg;
	void *user;         /**< handed back in umpa_exchange.user */
	int sent_by_caller; /**< the caller already transmitted the request (batch sending): only start the clock */
};

/** Counters (umpa_expect_stats). */
struct umpa_expect_stats {
	uint64_t sent;                  /**< exchanges started */
	uint64_t tx;                    /**< transmissions, retries included */
	uint64_t answered;              /**< exchanges answered */
	uint64_t lost;                  /**< exchanges timed out after every try */
	uint64_t received;              /**< packets given to umpa_expect_input */
	uint64_t unmatched;             /**< received packets that answered nothing (hashed nowhere or mismatched) */
	uint64_t mismatched;            /**< of those, packets that reached a bucket but no answers hook accepted */
	uint64_t own;                   /**< received packets equal to a request (our own, ignored) */
	uint64_t send_errors;           /**< transmissions the send function refused */
	int64_t rtt_min_ns, rtt_max_ns; /**< over answered exchanges (0 when none) */
	int64_t rtt_sum_ns;             /**< for the mean */
};

/**
 * Create an engine on @p loop that transmits with @p send(@p send_arg, ...).
 * Returns the engine or NULL with @p e set.
 */
struct umpa_expect *umpa_expect_new(struct umpa_loop *loop, umpa_send_fn send, void *send_arg, struct umpa_err *e);

/**
 * Free @p ex: pending exchanges are dropped without callbacks, rules freed.
 * Not from inside one of its own callbacks.  NULL is fine.  Returns NULL.
 */
struct umpa_expect *umpa_expect_free(struct umpa_expect *ex);

/**
 * Start an exchange: copy @p request (its bytes are re-dissected so they
 * look like what a capture gives), transmit it (unless
 * opts->sent_by_caller) and wait for an answer as @p o says (NULL:
 * defaults).  Thousands may be in flight; the request's memory is reused
 * after the exchange settles.  Returns the exchange id (>= 1), or a negative
 * error (no memory, too many outcomes, the first transmission failed: the
 * exchange is then not kept).
 */
int64_t umpa_expect_add(struct umpa_expect *ex, const struct umpa_pkt *request, const struct umpa_expect_opts *o,
			struct umpa_err *e);

/**
 * A packet @p p seen leaving (a capture of both directions): when it is one
 * of the pending requests, note its capture time stamp as the request's
 * transmit time (see above) and return 1; otherwise return 0.  Never an
 * answer, and not counted as received or unmatched (the kernel's own
 * packets, such as the RST it sends to an unexpected SYN/ACK, are no one's
 * business here).
 */
int umpa_expect_heard(struct umpa_expect *ex, struct umpa_pkt *p);

/**
 * A received packet (dissected; dissected here when it has no layers).  Rules
 * run first, then the packet is matched against the exchanges in flight; the
 * oldest it answers settles (an ICMP error quoting a request's exact ip.id
 * first: requests that differ only in their TTL are told apart); its callback
 * runs before this returns.  @p p is
 * only read and not kept.  Returns 1 when it answered an exchange, else 0.
 */
int umpa_expect_input(struct umpa_expect *ex, struct umpa_pkt *p);

/** Exchanges in flight (started, not yet answered or timed out). */
size_t umpa_expect_pending(const struct umpa_expect *ex);

/**
 * Run the loop until no exchange is in flight (or @p deadline_ns, absolute on
 * the loop's clock; UMPA_NEVER for none).  Returns 1 when all settled, 0 on
 * another stop, or a negative loop error.
 */
int umpa_expect_wait(struct umpa_expect *ex, int64_t deadline_ns, struct umpa_err *e);

/** Copy the counters into @p st. */
void umpa_expect_stats(const struct umpa_expect *ex, struct umpa_expect_stats *st);

/**
 * Verbose matching: @p cb runs for each received packet that reached a
 * bucket but answered none of its candidates, with the first candidate
 * request and the reason ("tcp.ack off by 1").  NULL turns it off.
 */
void umpa_expect_on_mismatch(struct umpa_expect *ex,
			     void (*cb)(void *arg, const struct umpa_pkt *p, const struct umpa_pkt *req,
					const char *why),
			     void *arg);

/** A rule callback: @p p (dissected) matched the rule; valid during the call only. */
typedef void (*umpa_rule_cb)(void *arg, const struct umpa_pkt *p);

/**
 * A persistent rule: every received packet that passes the BPF expression
 * @p bpf (NULL: any) and the field conditions @p fields (NULL: any; syntax
 * as umpa_pred_compile) runs @p cb(@p arg, packet).  The BPF program is
 * compiled with pcap_open_dead for the link type of the packets it meets
 * (checked for Ethernet now).  Returns the rule id (>= 0) or a negative
 * error ("bad filter 'xyz': syntax error").
 */
int umpa_on(struct umpa_expect *ex, const char *bpf, const char *fields, umpa_rule_cb cb, void *arg,
	    struct umpa_err *e);

/** Remove rule @p id. Returns 0, or -UMPA_ENOENT when there is no such rule. */
int umpa_on_remove(struct umpa_expect *ex, int id);

#endif
