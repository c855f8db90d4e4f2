/* umpa_render.h - turning dissected packets into text: one line, a tree, JSON.
 *
 * The renderers walk the layer index and the protocols' field tables, so they
 * need to know no protocol by name.  A protocol's `details` hook adds what its
 * table cannot describe (options, DNS records) through the emitter below.
 * Everything is appended to a caller-owned umpa_sbuf; nothing is printed.
 */
#ifndef UMPA_RENDER_H
#define UMPA_RENDER_H

#include "umpa_packet.h"
#include "umpa_sbuf.h"

/** Value kinds for emitted fields (JSON quotes strings, not numbers). */
enum umpa_vkind {
	UMPA_V_STR = 0,  /**< text */
	UMPA_V_NUM = 1,  /**< a JSON number */
	UMPA_V_BOOL = 2, /**< true / false */
};

/**
 * An emitter: where the details hooks put extra fields.  Use the helpers
 * below rather than the ops directly.
 */
struct umpa_emit {
	/** open a group (an option, a record): @p key is its Wireshark-style name, @p label its text */
	void (*open)(struct umpa_emit *em, const char *key, const char *label);
	/** close the innermost group */
	void (*close)(struct umpa_emit *em);
	/** one field: Wireshark name, value text, value kind, optional value-name text */
	void (*field)(struct umpa_emit *em, const char *key, const char *val, int kind, const char *vname);
	struct umpa_sbuf *out;  /**< where the renderer writes */
	int depth;              /**< renderer-private */
	int first;              /**< renderer-private */
	struct umpa_sbuf tmp;   /**< scratch for the helpers */
	struct umpa_sbuf tmp2;  /**< second scratch (flag names) */
	struct umpa_sbuf arena; /**< renderer-private: the JSON renderer's record of one layer */
};

/** Emit a string field. */
void umpa_emit_str(struct umpa_emit *em, const char *key, const char *val);
/** Emit an unsigned number field, with an optional value name ("A", "mss"). */
void umpa_emit_u64(struct umpa_emit *em, const char *key, uint64_t v, const char *vname);
/** Emit an unsigned number shown in hex (0x....) in text and as a string in JSON. */
void umpa_emit_hex(struct umpa_emit *em, const char *key, uint64_t v, unsigned digits);
/** Emit a boolean field. */
void umpa_emit_bool(struct umpa_emit *em, const char *key, int v);
/** Emit bytes as colon-separated hex. */
void umpa_emit_bytes(struct umpa_emit *em, const char *key, const uint8_t *b, size_t n);
/** Emit an IPv4 address from 4 bytes. */
void umpa_emit_ipv4(struct umpa_emit *em, const char *key, const uint8_t a[4]);
/** Emit an IPv6 address from 16 bytes. */
void umpa_emit_ipv6(struct umpa_emit *em, const char *key, const uint8_t a[16]);
/** Emit a MAC address from 6 bytes. */
void umpa_emit_mac(struct umpa_emit *em, const char *key, const uint8_t a[6]);
/** Open a group. */
void umpa_emit_open(struct umpa_emit *em, const char *key, const char *label);
/** Close a group. */
void umpa_emit_close(struct umpa_emit *em);
/** Emit one table field of layer @p li (used by the renderers; hooks may reuse it). */
void umpa_emit_field(struct umpa_emit *em, const struct umpa_pkt *p, unsigned li, const struct umpa_field *f);

/** Time stamp forms of the one-line output, as tcpdump's -t options. */
enum umpa_ts_mode {
	UMPA_TS_TIME = 0,        /**< time of day, UTC (tcpdump's default) */
	UMPA_TS_NONE = 1,        /**< none (-t) */
	UMPA_TS_EPOCH = 2,       /**< seconds since the epoch (-tt) */
	UMPA_TS_DELTA = 3,       /**< since the previous packet (-ttt) */
	UMPA_TS_DATE = 4,        /**< date and time of day, UTC (-tttt) */
	UMPA_TS_SINCE_FIRST = 5, /**< since the first packet (-ttttt) */
};

/** Options for the renderers. */
struct umpa_render_opts {
	uint64_t number; /**< frame number (1-based) */
	int ts_nsec;     /**< print nanoseconds rather than microseconds */
	/** How the one-line form starts (tcpdump's -t options); see enum umpa_ts_mode. */
	int ts_mode;
	/** For UMPA_TS_DELTA / UMPA_TS_SINCE_FIRST: the reference time the caller keeps
	 * (the previous packet's, the first packet's); unset means "this packet". */
	int ts_ref_set;
	int64_t ts_ref_sec;   /**< reference seconds */
	uint32_t ts_ref_nsec; /**< reference nanoseconds */
	/** Optional: per-flow state for relative TCP sequence numbers (tcpdump's
	 * default; NULL prints them absolute, as -S).  Owned by the caller
	 * (umpa_relseq_new in umpa_protos.h). */
	void *relseq;
	/** Optional: two scratch buffers the tree and JSON renderers reuse, so that
	 * rendering many packets allocates nothing once they have grown.  The
	 * caller frees them with umpa_sbuf_free. */
	struct umpa_sbuf *scratch;
	/** Optional: one more scratch buffer, for the JSON renderer (NULL: it
	 * allocates one per packet).  The caller frees it with umpa_sbuf_free. */
	struct umpa_sbuf *json_scratch;
	/** tcpdump's -e: link-layer protocols (Ethernet, 802.1Q, Linux cooked) print their
	 * header on every line; see umpa_proto.line_tag. */
	int link_hdr;
};

/**
 * Append the one-line summary (time, then each layer's summary, then
 * [truncated]/[invalid] marks) and a newline.
 */
void umpa_render_line(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b);

/** Append the field tree (-v): one layer per heading, one field per line. */
void umpa_render_tree(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b);

/** Append one JSON object (one line) keyed by Wireshark field names. */
void umpa_render_json(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b);

/** Append the time of day "HH:MM:SS.uuuuuu" (UTC) of @p p. */
void umpa_render_time(const struct umpa_pkt *p, int nsec, struct umpa_sbuf *b);

#endif
