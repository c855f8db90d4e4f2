/* umpa_replay_audit.h - check a capture's own exchanges without a device (`umpa replay --audit`).
 *
 * The capture model (sched/umpa_replay.h: which packets are requests, SEND,
 * and which are answers, EXPECT) is replayed on the virtual clock through
 * the expect engine (sched/umpa_expect.h): every request is started at its
 * time stamp, every answer fed in at its own, so the engine's RTTs are the
 * differences of the recorded time stamps.  Each exchange comes out as one
 * umpa_replay_result, in the forms and with the exit status of a live
 * replay:
 *
 * - answered: matched, rec_rtt_ns = the RTT;
 * - unanswered: missing ("no answer within 1000 ms");
 * - answered late: an answer the engine accepts for a request that had
 *   already timed out: differing, the difference "rtt" recorded "<= 1000 ms"
 *   live "1500 ms" (rec_rtt_ns = the RTT);
 * - answered wrongly: a packet that reached the request's bucket but that
 *   the answers hooks refused, and no right answer came: differing, the
 *   near-miss reason in the note ("frame 7: icmp.seq differs") and a
 *   difference when the reason names a field;
 * - unexpected: an answer that answers no request (exch UMPA_REPLAY_NONE),
 *   the frame in the note.
 *
 * TCP is a stream, not request/response: only segments that take sequence
 * space (SYN, FIN, data) are requests (a pure ACK is "sent"); a cumulative
 * ACK answers every request it covers (delayed ACKs answer two segments at
 * once); the peer's data, ACKs and FINs answering no request are the
 * stream, not unexpected: only an unsolicited SYN+ACK or RST is.
 */
#ifndef UMPA_REPLAY_AUDIT_H
#define UMPA_REPLAY_AUDIT_H

#include <stdint.h>

#include "umpa_error.h"

struct umpa_replay_cap;
struct umpa_replay_result;

/** Audit settings (zero: defaults). */
struct umpa_replay_audit_opts {
	int64_t timeout_ns; /**< an answer later than this after its request is late (0: 1 s) */
};

/** A result of the audit (valid during the call). */
typedef void (*umpa_replay_result_cb)(void *arg, const struct umpa_replay_result *r);

/**
 * Audit @p cap as above, calling @p cb for every exchange (in the order of
 * the requests), then for every unexpected packet (in file order).
 * Deterministic: no clock is read.  Returns the number of results, or a
 * negative error (no memory) with @p e set.
 */
long umpa_replay_audit(const struct umpa_replay_cap *cap, const struct umpa_replay_audit_opts *o,
		       umpa_replay_result_cb cb, void *arg, struct umpa_err *e);

#endif
