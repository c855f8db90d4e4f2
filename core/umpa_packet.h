/* umpa_packet.h - a packet: wire bytes plus a layer index.
 *
 * Built and captured packets are the same thing.  Dissecting fills the layer
 * index over borrowed or owned bytes without copying; building pushes layers
 * with their defaults into an owned buffer and sets fields in place; finish
 * fills the automatic fields the user did not set.
 */
#ifndef UMPA_PACKET_H
#define UMPA_PACKET_H

#include <stdint.h>

#include "umpa_cursor.h"
#include "umpa_error.h"
#include "umpa_proto.h"

/** Most layers one packet can have. */
#define UMPA_MAX_LAYERS 32
/** Largest packet umpa builds or accepts (bytes). */
#define UMPA_MAX_PKT 262144

/** Layer flags. */
enum umpa_lflag {
	UMPA_L_TRUNCATED = 1 << 0, /**< bytes missing because they were not captured */
	UMPA_L_INVALID = 1 << 1,   /**< a field lies: a length that overruns, a bad option */
	UMPA_L_BADSUM = 1 << 2,    /**< checksum does not verify (informational) */
	UMPA_L_QUOTES = 1 << 3,    /**< this layer (an ICMP error) quotes a packet: what follows is QUOTED */
	UMPA_L_QUOTED = 1 << 4,    /**< inside a quotation: lengths may exceed the window without being invalid */
	/** the checksum field holds the pseudo-header sum that Linux leaves for the NIC to finish
	 * (checksum offload, CHECKSUM_PARTIAL): not verified, not called bad (see umpa_pkt_csum_policy) */
	UMPA_L_CSUM_PARTIAL = 1 << 5,
	/** the checksum was not verified: a live capture, where offloads make the bytes lie */
	UMPA_L_CSUM_UNVERIFIED = 1 << 6,
};

/**
 * How checksums that a NIC may compute (layers whose protocol has
 * UMPA_PF_OFFLOAD: TCP, UDP) are judged, after umpa_dissect():
 *  - UMPA_CSUM_FILE: as dissected: one that does not verify is bad
 *    (UMPA_L_BADSUM), except a partial sum left for checksum offload
 *    (UMPA_L_CSUM_PARTIAL, "unverified"): a capture file holds what was on
 *    the wire or what a builder wrote, and a wrong checksum there is news;
 *  - UMPA_CSUM_LIVE: not verified at all (UMPA_L_CSUM_UNVERIFIED), as tshark
 *    by default: captured live, outgoing packets carry partial sums and
 *    incoming ones were checked by the NIC and may have been merged (GRO);
 *  - UMPA_CSUM_STRICT (--verify-checksums): every one that does not verify
 *    is bad, partial sums included.
 * Other checksums (IPv4 header, ICMP, ICMPv6) are always verified: Linux
 * computes them itself.
 */
enum umpa_csum_mode { UMPA_CSUM_FILE = 0, UMPA_CSUM_LIVE = 1, UMPA_CSUM_STRICT = 2 };

struct umpa_pkt;
/** Apply checksum mode @p m to dissected packet @p p (see enum umpa_csum_mode). */
void umpa_pkt_csum_policy(struct umpa_pkt *p, enum umpa_csum_mode m);

/** One layer: a protocol over a window of the packet's bytes. */
struct umpa_layer {
	const struct umpa_proto *proto;
	uint32_t off;    /**< first byte of the layer in the packet */
	uint32_t len;    /**< bytes of the window: header and what it carries */
	uint32_t hlen;   /**< header bytes (options included) */
	uint16_t flags;  /**< enum umpa_lflag */
	const char *why; /**< static text explaining TRUNCATED/INVALID, or NULL */
	uint64_t set;    /**< bit i: field i was set by the user (finish keeps it) */
	uint32_t aux;    /**< protocol-private */
	/** dissecting: bytes of the layer's payload the next layer gets, when fewer than len - hlen
	 * (0: all of them); what follows belongs to this layer (an ICMP error's extension
	 * structure after the quoted datagram, RFC 4884) */
	uint32_t plen;
};

/** A packet. */
struct umpa_pkt {
	uint8_t *data;       /**< the bytes (captured or built) */
	uint32_t len;        /**< bytes present (captured length) */
	uint32_t cap;        /**< bytes allocated when owned */
	uint32_t wirelen;    /**< original length on the wire (>= len) */
	uint8_t owned;       /**< data is ours (malloc'd, growable) */
	uint8_t ro;          /**< data is borrowed read-only: writes fail */
	int linktype;        /**< LINKTYPE_ of the first layer */
	int64_t ts_sec;      /**< timestamp, seconds since the epoch */
	uint32_t ts_nsec;    /**< nanoseconds */
	const char *comment; /**< pcapng packet comment (borrowed), or NULL */
	unsigned nlayers;
	struct umpa_layer l[UMPA_MAX_LAYERS];
};

/** Initialise an empty packet (no allocation). */
void umpa_pkt_init(struct umpa_pkt *p);

/** Free owned bytes and reset to empty. */
void umpa_pkt_release(struct umpa_pkt *p);

/** Forget layers and bytes but keep the owned allocation for reuse. */
void umpa_pkt_clear(struct umpa_pkt *p);

/**
 * Borrow @p caplen bytes (read-only) as the packet's data; layers are
 * cleared.  Nothing is copied.
 */
void umpa_pkt_attach(struct umpa_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen, int linktype);

/** Copy @p n bytes into an owned buffer (so the packet may be edited). */
int umpa_pkt_copy_from(struct umpa_pkt *p, const uint8_t *data, uint32_t n, struct umpa_err *e);

/** Duplicate @p src (bytes and layers) into @p dst, which must be initialised. */
int umpa_pkt_dup(struct umpa_pkt *dst, const struct umpa_pkt *src, struct umpa_err *e);

/**
 * Insert a layer of @p proto with its default header in front of every other
 * layer (an Ethernet header before an IP packet, say).  The bytes, fields
 * and set masks of the existing layers are kept; their offsets move.  The
 * new layer's automatic fields are filled by the next umpa_pkt_finish().
 * @p p must not be read-only (bytes it does not own are copied first).  The caller sets p->linktype (core
 * knows no protocol by name).  Returns 0 or a negative error.
 */
int umpa_pkt_prepend(struct umpa_pkt *p, const struct umpa_proto *proto, struct umpa_err *e);

/**
 * Append a layer of @p proto with its default header (hdr_len bytes, field
 * defaults).  Every earlier layer's window grows to cover it.  Returns the
 * new layer's index, or a negative error.
 */
int umpa_pkt_push(struct umpa_pkt *p, const struct umpa_proto *proto, struct umpa_err *e);

/**
 * Append raw bytes as a layer of @p raw_proto (the payload protocol).
 * Returns the layer index or a negative error.
 */
int umpa_pkt_push_bytes(struct umpa_pkt *p, const struct umpa_proto *raw_proto, const void *bytes, uint32_t n,
			struct umpa_err *e);

/**
 * Replace @p del bytes at offset @p at inside layer @p li's header with
 * @p n bytes from @p ins (NULL: zeros).  Bytes after move; later layers'
 * offsets and every enclosing layer's window follow; l->hlen of @p li grows
 * or shrinks by n - del.  Returns 0 or a negative error.
 */
int umpa_pkt_splice(struct umpa_pkt *p, unsigned li, uint32_t at, uint32_t del, const void *ins, uint32_t n,
		    struct umpa_err *e);

/**
 * Append @p n bytes from @p ins (NULL: zeros) at the end of layer @p li's
 * window, after the layers it carries: a trailer of its own (an ICMP error's
 * extension structure after the quoted datagram).  The window of @p li and of
 * every layer enclosing it grows; the layers inside it keep theirs; later
 * layers move.  Returns 0 or a negative error.
 */
int umpa_pkt_append_trailer(struct umpa_pkt *p, unsigned li, const void *ins, uint32_t n, struct umpa_err *e);

/** Run every layer's finish hook, innermost first. */
int umpa_pkt_finish(struct umpa_pkt *p, struct umpa_err *e);

/** A cursor over layer @p li's window. */
static inline void umpa_layer_cur(const struct umpa_pkt *p, unsigned li, struct umpa_cur *c)
{
	umpa_cur_init(c, p->data + p->l[li].off, p->l[li].len);
}

/** Mark layer @p li short: TRUNCATED if capture cut it, INVALID if its container lies. */
void umpa_layer_short(struct umpa_pkt *p, unsigned li, const char *why);

/** Find the first layer at or after @p from whose protocol is @p proto; -1 if none. */
int umpa_pkt_find(const struct umpa_pkt *p, const struct umpa_proto *proto, unsigned from);

/* ---- fields ---- */

/**
 * Where field @p f of layer @p li starts, in bits from the layer's start: its
 * table offset, or where the protocol's locate hook finds it (fields that
 * come and go with flag bits, GRE's).  -1 when the header holds no such field.
 */
long umpa_field_bitoff(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f);

/** Read an integer-typed field (UINT, ENUM, FLAGS, BOOL). Returns 0, or -1 if the bytes are not there. */
int umpa_field_get_u64(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t *v);

/** Borrow a byte-typed field's bytes (MAC, IPV4, IPV6, BYTES). Returns 0 or -1. */
int umpa_field_get_bytes(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const uint8_t **b,
			 uint32_t *n);

/** Write an integer field and mark it set. Values wider than the field fail with UMPA_ERANGE. */
int umpa_field_set_u64(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t v, struct umpa_err *e);

/** Write a byte-typed field (exact length) and mark it set. */
int umpa_field_set_bytes(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const uint8_t *b, uint32_t n,
			 struct umpa_err *e);

/**
 * Set a field from text: numbers (decimal, 0x hex), value names
 * ("echo-request"), flag letters or names ("SA", "syn|ack"), MAC, IPv4,
 * IPv6, hex bytes ("de:ad:be:ef" or "deadbeef"), or a VAR field's spec.
 * Marks the field set.
 */
int umpa_field_set_str(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *s, struct umpa_err *e);

/** Write an automatic field's computed value unless the user set it. Never marks it set. */
int umpa_field_auto_u64(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t v);

/** True when the user set field @p f of layer @p li. */
static inline int umpa_field_is_set(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	return (int)((p->l[li].set >> umpa_field_index(p->l[li].proto, f)) & 1);
}

/** Forget that the user set @p f (finish will compute it again). */
void umpa_field_unset(struct umpa_pkt *p, unsigned li, const struct umpa_field *f);

/** Append the field's value as text ("64", "0x1c46", "10.0.0.1", "echo-request"... see umpa_render). */
int umpa_field_format(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_sbuf *b);

/* ---- checksums ---- */

/**
 * Add @p n bytes to a running CRC32c (Castagnoli, RFC 3309: SCTP's checksum): start
 * with 0xffffffff, finish with ~crc.  Returns the new running value.
 */
uint32_t umpa_crc32c_add(uint32_t crc, const uint8_t *d, uint32_t n);

/** Add @p n bytes to a ones'-complement running sum (RFC 1071). */
uint32_t umpa_csum_add(uint32_t sum, const uint8_t *d, uint32_t n);

/** Fold a running sum and complement it into the 16-bit Internet checksum. */
uint16_t umpa_csum_fold(uint32_t sum);

/**
 * Incremental update (RFC 1624), step one: add to @p delta (0 to start) the
 * change of the 16-bit words [@p old, @p old + @p n) into [@p cur, @p cur +
 * @p n) (@p n even, the words aligned as in the checksummed data).  Returns
 * the new delta, for umpa_csum_adjust.
 */
uint32_t umpa_csum_delta(uint32_t delta, const uint8_t *old, const uint8_t *cur, uint32_t n);

/**
 * Incremental update (RFC 1624 eqn. 3), step two: checksum @p hc after the
 * changes summed in @p delta.  A result of 0x0000 or 0xffff is ones'-
 * complement zero in one of its two spellings; which one goes on the wire
 * is the protocol's choice (UDP sends 0xffff), so callers re-finish then.
 */
uint16_t umpa_csum_adjust(uint16_t hc, uint32_t delta);

#endif
