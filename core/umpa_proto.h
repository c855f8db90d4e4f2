/* umpa_proto.h - protocol descriptions: field tables and hooks.
 *
 * Each protocol is one `const struct umpa_proto` in its own file under
 * protocols/.  The field table drives building (defaults, parsing values from
 * text), dissecting (reading values), printing, JSON and the Lua constructors.
 * Hooks cover what a table cannot: variable header lengths, automatic fields,
 * option lists, demultiplexing and one-line summaries.
 *
 * Nothing in core/ knows a protocol by name: it only walks these tables.
 */
#ifndef UMPA_PROTO_H
#define UMPA_PROTO_H

#include <stdint.h>

#include "umpa_error.h"
#include "umpa_sbuf.h"

struct umpa_pkt;
struct umpa_emit;

/** How a field's bits are interpreted. */
enum umpa_ftype {
	UMPA_FT_UINT,  /**< unsigned integer, 1..64 bits */
	UMPA_FT_ENUM,  /**< unsigned integer with value names (names[]) */
	UMPA_FT_FLAGS, /**< bit set; names[] maps masks to names, letters[] to chars */
	UMPA_FT_BOOL,  /**< one bit shown as true/false */
	UMPA_FT_MAC,   /**< 48-bit Ethernet address */
	UMPA_FT_IPV4,  /**< 32-bit IPv4 address */
	UMPA_FT_IPV6,  /**< 128-bit IPv6 address */
	UMPA_FT_BYTES, /**< fixed-length byte string (bits = 8 * length) */
	UMPA_FT_VAR,   /**< variable part (options, records): set via proto->set_var, shown via proto->details */
};

/** Field flags. */
enum umpa_fflag {
	UMPA_F_AUTO = 1 << 0,   /**< finish() computes it unless the user set it */
	UMPA_F_HEX = 1 << 1,    /**< show in hex (checksums, ids) */
	UMPA_F_LE = 1 << 2,     /**< little-endian (byte-aligned fields only) */
	UMPA_F_HIDDEN = 1 << 3, /**< not shown in trees/JSON (e.g. an alias view) */
	UMPA_F_SIGNED = 1 << 4, /**< show as signed two's complement */
};

/** A value name: for ENUM the value, for FLAGS the mask. Tables end with {0, NULL}. */
struct umpa_vname {
	uint64_t v;
	const char *name;
};

/** A field descriptor: bits at an offset inside its layer. */
struct umpa_field {
	const char *name;               /**< short name used in expressions: "ttl" */
	const char *ws;                 /**< Wireshark display-filter name: "ip.ttl" */
	const char *aliases;            /**< comma-separated extra names ("id,ident"), or NULL */
	uint16_t bitoff;                /**< offset in bits from the start of the layer */
	uint16_t bits;                  /**< width in bits (BYTES: 8 * length; VAR: 0) */
	uint8_t type;                   /**< enum umpa_ftype */
	uint8_t flags;                  /**< enum umpa_fflag */
	uint64_t def;                   /**< default for integer types */
	const void *defp;               /**< default bytes for MAC/IPV4/IPV6/BYTES, or NULL for zeros */
	const struct umpa_vname *names; /**< ENUM value names / FLAGS bit names, or NULL */
	const char *letters; /**< FLAGS: one letter per bit, least significant first ("FSRPAUECN"), or NULL */
	const char *help;    /**< one-line description */
	/** The field's value is the wire value times this (0 or 1: as on the wire), so a
	 * Wireshark name means Wireshark's value: ip.hdr_len and tcp.hdr_len count bytes
	 * over 4-byte words.  Reading multiplies; setting takes a multiple and divides.
	 * .def is in these units too. */
	uint8_t scale;
};

/** Demultiplexing keys a protocol can be bound to (see protocols/umpa_protos.h). */
enum umpa_bind_kind {
	UMPA_BIND_DLT = 1,   /**< pcap link type (LINKTYPE_ value) */
	UMPA_BIND_ETHERTYPE, /**< Ethernet type / SLL protocol */
	UMPA_BIND_IPPROTO,   /**< IPv4 protocol / IPv6 next header */
	UMPA_BIND_UDPPORT,   /**< well-known UDP port */
	UMPA_BIND_TCPPORT,   /**< well-known TCP port */
	UMPA_BIND_AF,        /**< BSD loopback address family */
	UMPA_BIND_GREPROTO,  /**< GRE protocol type, where it is no Ethernet type (ERSPAN, bridged Ethernet) */
};

/**
 * Protocol flags: what kind of layer a protocol is.  Code outside protocols/
 * (the expect engine, the injector) asks these instead of keeping its own
 * lists of protocols, so a new protocol file says what it is in one place.
 */
enum umpa_pflag {
	UMPA_PF_PORTS = 1 << 0,  /**< fields[0] and fields[1] are source and destination ports */
	UMPA_PF_RAW = 1 << 1,    /**< the raw payload protocol */
	UMPA_PF_LINK = 1 << 2,   /**< a link-layer header (or a capture pseudo-header) */
	UMPA_PF_TAG = 1 << 3,    /**< a tag inside the link layer (802.1Q): also UMPA_PF_LINK */
	UMPA_PF_NET = 1 << 4,    /**< a network-layer header a raw IP socket sends from; its "dst" field
				      (UMPA_FT_IPV4 or UMPA_FT_IPV6) is where the datagram goes */
	UMPA_PF_NETEXT = 1 << 5, /**< a network-layer extension header (IPv6 hop-by-hop, routing, ...) */
	/** its checksum may be left to the NIC (checksum offload: TCP, UDP); see umpa_pkt_csum_policy */
	UMPA_PF_OFFLOAD = 1 << 12,
};

/** Check at compile time that field table @p t has @p n entries (its F_COUNT). */
#define UMPA_FIELDS_CHECK(t, n) _Static_assert(sizeof(t) / sizeof((t)[0]) == (n), #t " must have " #n " entries")

/** A protocol description. */
struct umpa_render_opts;

struct umpa_proto {
	const char *name;    /**< Wireshark protocol name and Lua constructor: "ip" */
	const char *aliases; /**< comma-separated ("ipv4,ip4"), or NULL */
	const char *title;   /**< "Internet Protocol Version 4" */
	const struct umpa_field *fields;
	unsigned nfields; /**< at most 64 */
	uint16_t hdr_len; /**< fixed header length in bytes: the size of a freshly built layer */
	uint16_t pflags;  /**< enum umpa_pflag */

	/**
	 * Dissect layer @p li of @p p.  Core has set l->off, l->len (the window:
	 * what the outer layer says this layer spans, clipped to the captured
	 * bytes) and l->hlen = hdr_len, and checked that hdr_len bytes are
	 * there.  The hook sets l->hlen to the real header length, shrinks l->len
	 * to what the header says the PDU spans (never grows it), sets
	 * UMPA_L_TRUNCATED / UMPA_L_INVALID with l->why when the bytes are
	 * short or lie, and returns the protocol of the payload (NULL: raw
	 * data).  It reads bytes only through umpa_cur.  May be NULL.
	 */
	const struct umpa_proto *(*dissect)(struct umpa_pkt *p, unsigned li);

	/**
	 * Fill the automatic fields of layer @p li that the user did not set
	 * (lengths, checksums, next-protocol numbers, header lengths).  Called
	 * from the innermost layer outwards.  May be NULL.
	 */
	int (*finish)(struct umpa_pkt *p, unsigned li, struct umpa_err *e);

	/**
	 * Set a VAR field (options, records) from its text spec: parse, write
	 * the bytes with umpa_pkt_splice (which moves what follows), update
	 * l->hlen.  May be NULL when the protocol has no VAR field.
	 */
	int (*set_var)(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
		       struct umpa_err *e);

	/** Emit what the table cannot show (options, records) through @p em. May be NULL. */
	void (*details)(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em);

	/**
	 * Append this layer's part of the one-line summary (like tcpdump -nn).
	 * May append nothing (Ethernet).  May be NULL.
	 */
	void (*summary)(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out);

	/**
	 * Hash of what a request and its answers share (ids, ports, addresses
	 * ordered so both directions agree), for matching.  May be NULL (capture
	 * headers, raw data): callers then count the layer's hash as 0.
	 */
	uint32_t (*hashret)(const struct umpa_pkt *p, unsigned li);

	/**
	 * Does layer @p rli of @p resp answer layer @p qli of @p req?  Returns
	 * 1 or 0; on 0 may write a reason ("tcp.ack off by 1") into @p why.
	 * May be NULL: the layer then never prevents an answer (callers check).
	 */
	int (*answers)(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
		       size_t whylen);

	/**
	 * The one-line summary when it depends on the renderer's options or on
	 * earlier packets (TCP's relative sequence numbers: @p o->relseq).  When
	 * set, the one-line renderer calls it instead of summary.  May be NULL.
	 */
	void (*summary_ctx)(const struct umpa_pkt *p, unsigned li, const struct umpa_render_opts *o,
			    struct umpa_sbuf *out);

	/**
	 * Where field @p f of layer @p li starts, in bits from the layer's start,
	 * when that depends on the header itself (GRE: the checksum, key and
	 * sequence number are there or not by its flag bits, each after the
	 * ones present before it): the offset, or -1 when the header as it
	 * stands holds no such field.  Return f->bitoff for fixed fields.  Read
	 * bytes only through umpa_cur.  NULL: every field lies at its table
	 * offset (use umpa_field_bitoff, which asks this hook).
	 */
	long (*locate)(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f);

	/**
	 * Building: make optional field @p f of layer @p li present (set its
	 * flag bit, splice zeroed room into the header with umpa_pkt_splice), so
	 * that locate finds it.  Called when a field locate says is absent is
	 * set.  Returns 0 or a negative error with @p e set.  May be NULL (with
	 * locate: absent fields cannot be set).
	 */
	int (*place)(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e);
	/**
	 * The text the one-line summary starts with to name the protocol ("IP ",
	 * "IP6 ", "ARP, "), which tcpdump -e leaves out right after a link header
	 * (the link header's "ethertype IPv4 (0x0800)" has named it).  May be NULL.
	 */
	const char *line_tag;
};

/** Find a field of @p proto by short name, Wireshark name or alias. NULL if none. */
const struct umpa_field *umpa_proto_field(const struct umpa_proto *proto, const char *name);

/** Index of @p f in its protocol's table (for set masks). */
static inline unsigned umpa_field_index(const struct umpa_proto *proto, const struct umpa_field *f)
{
	return (unsigned)(f - proto->fields);
}

/** True when @p name is @p proto's name or one of its aliases. */
int umpa_proto_is_named(const struct umpa_proto *proto, const char *name);

/** Look up a value name in a {0, NULL}-terminated table; NULL if none. */
const char *umpa_vname_find(const struct umpa_vname *t, uint64_t v);

/** Look up a value by name (case-insensitive, '-' and '_' alike). Returns 0 or -1. */
int umpa_vname_value(const struct umpa_vname *t, const char *name, uint64_t *v);

/**
 * The value name of @p t nearest to @p name (a typo: "echo-reqest" ->
 * "echo-request"; core/umpa_near.h says how near), copied into @p buf of
 * @p size bytes; NULL when none is near.
 */
const char *umpa_vname_near(const struct umpa_vname *t, const char *name, char *buf, size_t size);

/**
 * The field name of @p proto (short, alias or Wireshark name) nearest to
 * @p name, copied into @p buf of @p size bytes; NULL when none is near.
 */
const char *umpa_proto_field_near(const struct umpa_proto *proto, const char *name, char *buf, size_t size);

/** Append the comma-separated valid field names of @p proto to @p b (for error messages). */
void umpa_proto_list_fields(const struct umpa_proto *proto, struct umpa_sbuf *b);

#endif
