/* umpa_reasm.h - TCP stream reassembly for dissecting records split across segments (TLS).
 *
 * A reassembler follows TCP flows (one per 5-tuple and direction) through a
 * run of `umpa show` or `umpa sniff`: it keeps, per flow, the bytes of a
 * record not yet complete, keyed by sequence number.  In-order data is
 * appended; data ahead of the expected sequence number is held (bounded)
 * until the gap fills; data already seen (retransmissions, duplicates) is
 * ignored.  When a segment completes records, they are dissected from the
 * reassembled bytes and shown with the frame that completed them, with the
 * frames they came from ("[reassembled from frames 4-6]"); a segment that
 * only carries the beginning of a record shows "[TLS segment of a
 * reassembled PDU]", as Wireshark says.
 *
 * Only flows whose first data dissected as TLS are followed (a port bound to
 * TLS, or tls.c's heuristic).  Limits: at most `max_flows` flows (the least
 * recently used is evicted and counted), `max_flow_bytes` buffered per flow
 * (a record that would need more is dropped and counted), `max_held`
 * out-of-order segments per flow.  Memory grows to what the traffic needs and
 * is then reused: no allocation per packet once the buffers have grown.
 * There is no global state: each run opens its own reassembler.
 */
#ifndef UMPA_REASM_H
#define UMPA_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"
#include "umpa_render.h"
#include "umpa_sbuf.h"

/** Limits; zero fields take the defaults (64 flows, 1 MiB per flow, 64 held segments per flow). */
struct umpa_reasm_opts {
	unsigned max_flows;
	size_t max_flow_bytes;
	unsigned max_held;
};

/** Counters, for --stats. */
struct umpa_reasm_stats {
	uint64_t flows;       /**< flows followed, in all */
	uint64_t evicted;     /**< flows evicted because the table was full */
	uint64_t reassembled; /**< records shown from bytes of more than one segment */
	uint64_t held;        /**< out-of-order segments held until their gap filled */
	uint64_t duplicates;  /**< segments whose bytes had all been seen */
	uint64_t dropped;     /**< bytes dropped: over a limit, or a gap that never filled before eviction */
};

/** Output forms of umpa_reasm_show (the order of tools' TOOL_FMT_*). */
enum umpa_reasm_fmt {
	UMPA_REASM_LINE = 0, /**< umpa_render_line */
	UMPA_REASM_TREE = 1, /**< umpa_render_tree, then a blank line */
	UMPA_REASM_JSON = 2, /**< umpa_render_json */
};

struct umpa_reasm;

/** Open a reassembler with limits @p o (NULL: defaults).  Returns NULL with @p e set on failure. */
struct umpa_reasm *umpa_reasm_open(const struct umpa_reasm_opts *o, struct umpa_err *e);

/** Free @p r and everything it holds.  Returns NULL. */
struct umpa_reasm *umpa_reasm_close(struct umpa_reasm *r);

/**
 * Feed dissected frame @p p (frame number @p frame, 1-based).  When @p p
 * carries data of a followed flow that does not stand alone (a record's
 * continuation, a duplicate, an out-of-order segment), the layers after TCP
 * are removed from @p p (the bytes stay).  Returns the records this segment
 * completed, dissected as a packet of tls layers over the reassembled bytes
 * (borrowed: valid until the next feed or close), or NULL when there are none
 * or the frame's own layers already show them.  umpa_reasm_show calls this.
 */
const struct umpa_pkt *umpa_reasm_feed(struct umpa_reasm *r, struct umpa_pkt *p, uint64_t frame);

/**
 * Feed @p p (see umpa_reasm_feed) and append it to @p out in form @p fmt,
 * with what reassembly found: the completed records after the frame's own
 * layers and the frames they came from, or a note ("[TLS segment of a
 * reassembled PDU]", "[TCP duplicate, ignored]", "[TCP out of order, held]").
 * The one call `umpa show` and `umpa sniff` make per packet.  @p r may be
 * NULL: the frame is rendered alone.
 */
void umpa_reasm_show(struct umpa_reasm *r, struct umpa_pkt *p, uint64_t frame, enum umpa_reasm_fmt fmt,
		     const struct umpa_render_opts *ro, struct umpa_sbuf *out);

/**
 * Add TLS secrets (SSLKEYLOGFILE text: CLIENT_RANDOM for TLS 1.2, the TLS 1.3
 * handshake and application traffic secrets) from [@p text, @p text + @p n):
 * the records of connections they belong to are then decrypted (TLS 1.2
 * AES-GCM, ChaCha20-Poly1305, AES-CBC; TLS 1.3 AES-128/256-GCM,
 * ChaCha20-Poly1305) and shown after the frame's own layers, application data
 * dissected as what it holds (HTTP/1.1); a record that does not decrypt is
 * shown as such, with the reason.  May be called again as more secrets come
 * (a pcapng file's Decryption Secrets Blocks).  Returns the number of secrets
 * added, or a negative error: out of memory, or text with malformed lines and
 * no secret at all.
 */
int umpa_reasm_keylog(struct umpa_reasm *r, const char *text, size_t n, struct umpa_err *e);

/**
 * For a live capture that waits for a key log as it grows (`umpa sniff
 * --keylog`): whether dissected frame @p p, not yet fed, belongs to a TLS
 * connection whose secrets are not all in the key log yet, so that showing
 * it now would leave its records undecrypted.  True for the records of a
 * followed TLS connection (or a frame whose data dissects as TLS) once its
 * ClientHello was seen and until its secrets came; before any secret is
 * known also for its ClientHello (the handshake is followed only once the
 * key log has secrets).  *@p conn gets a number for the frame's TCP
 * connection, the same both ways (0 when @p p is not TCP), so that the
 * caller can keep a connection's frames in order.  Returns 1 or 0; 0 for
 * NULL @p r.
 */
int umpa_reasm_keys_missing(struct umpa_reasm *r, const struct umpa_pkt *p, uint64_t *conn);

/** Copy the counters of @p r into @p st. */
void umpa_reasm_get_stats(const struct umpa_reasm *r, struct umpa_reasm_stats *st);

#endif
