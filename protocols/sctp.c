/* sctp.c - Stream Control Transmission Protocol (RFC 9260; CRC32c: RFC 3309, RFC 9260 appendix A).
 *
 * Packet (after IP protocol 132): the common header (source port,
 * destination port, verification tag, CRC32c checksum), then chunks, each:
 * type, flags, length (header and value, without the padding), value, padded
 * with zeros to a multiple of 4 bytes.  INIT, INIT ACK and HEARTBEAT (ACK)
 * carry parameters (type, length, value, padded alike); ABORT and ERROR carry
 * error causes (code, length, information).
 *
 * Building: sctp{} is Scapy's SCTP(): ports 0, tag 0, no chunks.  The checksum
 * is automatic (CRC32c over the packet with the checksum zeroed, stored as
 * Scapy and Linux store it).  The chunks are a spec, one item per chunk:
 *   data=TSN:SID:SSN:PPID[:HEXDATA]     (flags 0x03: B and E)
 *   init=TAG:RWND:OUTSTREAMS:INSTREAMS:TSN[:HEXPARAMS]
 *   init_ack=TAG:RWND:OUTSTREAMS:INSTREAMS:TSN[:HEXPARAMS]
 *   sack=CUMTSN:RWND[:START-END...][:DUPTSN...]   (gap blocks as offsets)
 *   heartbeat=HEXINFO, heartbeat_ack=HEXINFO  (in a Heartbeat Info parameter)
 *   abort[=HEXCAUSES], error=HEXCAUSES, shutdown=CUMTSN, shutdown_ack,
 *   cookie_echo=HEXCOOKIE, cookie_ack, shutdown_complete
 *   TYPE=HEXVALUE (any chunk type by number), raw=HEXBYTES (bytes as given:
 *   a chunk that lies)
 * A name may carry the flags after a dot: data.0x07=..., abort.1 (the T bit).
 * HEXPARAMS and HEXCAUSES are whole TLVs (type, length, value), as on the wire.
 * Chunk lengths and padding follow from the spec.
 *
 * Dissecting: every chunk is part of the layer (the user data of DATA
 * chunks too: Wireshark hands it to a "data" layer, umpa shows it as
 * data.data inside its chunk); a chunk length below 4 or past the bytes marks
 * the layer invalid (or truncated) and ends the walk.  The CRC32c is verified
 * when the whole packet is there (bad_checksum otherwise).
 *
 * Summary (tcpdump -nn): "sctp (1) [DATA] (B)(E) [TSN: 5] [SID: 1] [SSEQ 2]
 * [PPID 0x0] , (2) [SACK] ..." (SACK's gap blocks stay on the one line).
 *
 * Matching (Scapy's SCTP.answers): the ports swapped; hashret is their xor
 * (proto_common.h's port-pair hooks, as UDP's).
 *
 * Names: Wireshark's sctp.* (sctp.data_tsn_raw and
 * sctp.sack_cumulative_tsn_ack_raw: umpa shows absolute numbers, which
 * Wireshark's relative sctp.data_tsn is not).  Each chunk is one "sctp.chunk"
 * group, each parameter one "sctp.parameter" group, each cause one
 * "sctp.cause" group.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum {
	SCTP_HLEN = 12,
	SCTP_CHUNKS_MAX = 4096, /* bytes of chunks a spec may build */
	CH_DATA = 0,
	CH_INIT = 1,
	CH_INIT_ACK = 2,
	CH_SACK = 3,
	CH_HB = 4,
	CH_HB_ACK = 5,
	CH_ABORT = 6,
	CH_SHUTDOWN = 7,
	CH_SHUTDOWN_ACK = 8,
	CH_ERROR = 9,
	CH_COOKIE_ECHO = 10,
	CH_COOKIE_ACK = 11,
	CH_SHUTDOWN_COMPLETE = 14
};

/* Wireshark's chunk type names (the spec's names, lower case, are the same words). */
static const struct umpa_vname chunk_names[] = {
    {CH_DATA, "DATA"},
    {CH_INIT, "INIT"},
    {CH_INIT_ACK, "INIT_ACK"},
    {CH_SACK, "SACK"},
    {CH_HB, "HEARTBEAT"},
    {CH_HB_ACK, "HEARTBEAT_ACK"},
    {CH_ABORT, "ABORT"},
    {CH_SHUTDOWN, "SHUTDOWN"},
    {CH_SHUTDOWN_ACK, "SHUTDOWN_ACK"},
    {CH_ERROR, "ERROR"},
    {CH_COOKIE_ECHO, "COOKIE_ECHO"},
    {CH_COOKIE_ACK, "COOKIE_ACK"},
    {12, "ECNE"},
    {13, "CWR"},
    {CH_SHUTDOWN_COMPLETE, "SHUTDOWN_COMPLETE"},
    {15, "AUTH"},
    {64, "I_DATA"},
    {128, "ASCONF_ACK"},
    {130, "RE_CONFIG"},
    {132, "PAD"},
    {192, "FORWARD_TSN"},
    {193, "ASCONF"},
    {194, "I_FORWARD_TSN"},
    {0, NULL},
};

/* tcpdump's chunk names (print-sctp.c sctp_chunkid_str). */
static const struct umpa_vname tcpdump_chunk_names[] = {
    {CH_DATA, "DATA"},
    {CH_INIT, "INIT"},
    {CH_INIT_ACK, "INIT ACK"},
    {CH_SACK, "SACK"},
    {CH_HB, "HB REQ"},
    {CH_HB_ACK, "HB ACK"},
    {CH_ABORT, "ABORT"},
    {CH_SHUTDOWN, "SHUTDOWN"},
    {CH_SHUTDOWN_ACK, "SHUTDOWN ACK"},
    {CH_ERROR, "OP ERR"},
    {CH_COOKIE_ECHO, "COOKIE ECHO"},
    {CH_COOKIE_ACK, "COOKIE ACK"},
    {12, "ECN ECHO"},
    {13, "ECN CWR"},
    {CH_SHUTDOWN_COMPLETE, "SHUTDOWN COMPLETE"},
    {15, "AUTH"},
    {64, "I-DATA"},
    {128, "ASCONF ACK"},
    {130, "RE-CONFIG"},
    {132, "PAD"},
    {192, "FOR CUM TSN"},
    {193, "ASCONF"},
    {194, "I-FORWARD-FSN"},
    {0, NULL},
};

/* Wireshark's parameter type names. */
static const struct umpa_vname param_names[] = {
    {1, "Heartbeat info"},
    {5, "IPv4 address"},
    {6, "IPv6 address"},
    {7, "State cookie"},
    {8, "Unrecognized parameter"},
    {9, "Cookie preservative"},
    {11, "Hostname address"},
    {12, "Supported address types"},
    {0x8000, "ECN"},
    {0xc000, "Forward TSN supported"},
    {0, NULL},
};

/* Field indexes: the order of sctp_fields. */
enum { F_SPORT, F_DPORT, F_TAG, F_CSUM, F_CHUNKS, F_COUNT };

static const struct umpa_field sctp_fields[] = {
    [F_SPORT] = {.name = "srcport",
		 .ws = "sctp.srcport",
		 .aliases = "sport",
		 .bitoff = 0,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .help = "source port"},
    [F_DPORT] = {.name = "dstport",
		 .ws = "sctp.dstport",
		 .aliases = "dport",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .help = "destination port"},
    [F_TAG] = {.name = "verification_tag",
	       .ws = "sctp.verification_tag",
	       .aliases = "tag,vtag",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX,
	       .help = "verification tag (the peer's initiate tag; 0 in an INIT)"},
    [F_CSUM] = {.name = "checksum",
		.ws = "sctp.checksum",
		.aliases = "chksum",
		.bitoff = 64,
		.bits = 32,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.help = "CRC32c of the packet (automatic)"},
    [F_CHUNKS] = {.name = "chunks",
		  .ws = "sctp.chunk",
		  .bitoff = 96,
		  .type = UMPA_FT_VAR,
		  .help = "chunks: data=TSN:SID:SSN:PPID[:HEX], init=TAG:RWND:OS:MIS:TSN[:HEXPARAMS], "
			  "init_ack=..., sack=CUMTSN:RWND[:START-END...][:DUP...], heartbeat=HEX, "
			  "heartbeat_ack=HEX, abort[=HEX], error=HEX, shutdown=CUMTSN, shutdown_ack, "
			  "cookie_echo=HEX, cookie_ack, shutdown_complete, TYPE=HEX, raw=HEX; NAME.FLAGS sets flags"},
};
UMPA_FIELDS_CHECK(sctp_fields, F_COUNT);

/* The packet's checksum as the header holds it (read big-endian): the CRC32c of the @n bytes at @d with the
 * checksum field as zeros, its bytes stored least significant first (RFC 9260 appendix A, as Linux and Scapy). */
static uint32_t sctp_crc(const uint8_t *d, size_t n)
{
	static const uint8_t zero[4] = {0, 0, 0, 0};
	uint32_t crc = 0xffffffffu;

	crc = umpa_crc32c_add(crc, d, 8);
	crc = umpa_crc32c_add(crc, zero, 4);
	crc = umpa_crc32c_add(crc, d + SCTP_HLEN, (uint32_t)(n - SCTP_HLEN));
	crc = ~crc;
	return (crc & 0xff) << 24 | (crc & 0xff00) << 8 | (crc >> 8 & 0xff00) | crc >> 24;
}

/* ---------------------------------------------------------------- building */

/* Append the hex bytes of @v to @b at *@n (room up to @max).  Returns 0 or -1. */
static int put_hex(struct umpa_span v, uint8_t *b, size_t *n, size_t max)
{
	long k = umpa_spec_hex(v, b + *n, max - *n);

	if (k < 0)
		return -1;
	*n += (size_t)k;
	return 0;
}

/* The next part of @list as a number up to @max into @v: 0, or -1 when it is missing or bad. */
static int part_num(struct umpa_span *list, uint64_t max, uint64_t *v)
{
	struct umpa_span part;

	return umpa_spec_part(list, &part) && umpa_spec_num(part, max, v) == 0 ? 0 : -1;
}

/* The numbers of @v's next @n parts at @b + *@k, each @w[i] bytes wide (2 or 4), big-endian.  Returns 0, or -1
 * when one is missing or does not fit its width. */
static int put_nums(struct umpa_span *v, const unsigned *w, size_t n, uint8_t *b, size_t *k)
{
	uint64_t x;

	for (size_t i = 0; i < n; i++) {
		if (part_num(v, w[i] == 2 ? 0xffff : 0xffffffffu, &x) < 0)
			return -1;
		if (w[i] == 2)
			umpa_put_be16_(b + *k, (uint32_t)x);
		else
			umpa_put_be32_(b + *k, (uint32_t)x);
		*k += w[i];
	}
	return 0;
}

/* The fixed fields of the chunks built from numbers, by width (RFC 9260 s3.3): DATA's TSN, stream id, stream
 * sequence number, payload protocol; INIT's and INIT ACK's tag, window, outbound and inbound streams, initial
 * TSN; SACK's cumulative TSN ack and window; SHUTDOWN's cumulative TSN ack. */
static const unsigned data_w[] = {4, 2, 2, 4}, init_w[] = {4, 4, 2, 2, 4}, sack_w[] = {4, 4}, shutdown_w[] = {4};
#define NUMS(w_) w_, sizeof w_ / sizeof w_[0]

/* The chunk named @name ("data", "init_ack", a number): its type, or -1. */
static int chunk_type_of(struct umpa_span name, uint64_t *type)
{
	char tmp[32];

	if (umpa_span_cstr(name, tmp, sizeof tmp) == 0 && umpa_vname_value(chunk_names, tmp, type) == 0)
		return 0;
	if (umpa_span_is(name, "heartbeat_request") || umpa_span_is(name, "hb"))
		return (*type = CH_HB), 0;
	return umpa_spec_num(name, 255, type);
}

/* Build one chunk of type @type with flags @flags from the value @v into @b at *@n.  Returns 0, or -1 with
 * @e set. */
static int build_chunk(unsigned type, int flags, struct umpa_span v, int hasval, uint8_t *b, size_t *n, size_t max,
		       struct umpa_err *e)
{
	size_t at = *n, k = at + 4;
	struct umpa_span whole = v;
	uint64_t x;
	struct umpa_span part;

	if (max - at < 64)
		return umpa_err_set(e, UMPA_ERANGE, "sctp.chunk: more than %d bytes of chunks", SCTP_CHUNKS_MAX);
	switch (type) {
	case CH_DATA:
	case CH_INIT:
	case CH_INIT_ACK:
		if ((type == CH_DATA ? put_nums(&v, NUMS(data_w), b, &k) : put_nums(&v, NUMS(init_w), b, &k)) < 0 ||
		    (umpa_spec_part(&v, &part) && put_hex(part, b, &k, max - 4) < 0))
			goto bad;
		if (type == CH_DATA && flags < 0)
			flags = 0x03;
		break;
	case CH_SACK: {
		unsigned ngap = 0, ndup = 0;
		size_t gaps;
		uint32_t dups[64];
		if (put_nums(&v, NUMS(sack_w), b, &k) < 0)
			goto bad;
		gaps = k + 4;
		k = gaps;
		while (umpa_spec_part(&v, &part)) {
			struct umpa_span s, t;
			uint64_t y;
			if (umpa_span_cut(part, "-", &s, &t)) {
				if (ndup || umpa_spec_num(s, 0xffff, &x) < 0 || umpa_spec_num(t, 0xffff, &y) < 0 ||
				    max - k < 8)
					goto bad;
				umpa_put_be16_(b + k, (uint32_t)x), umpa_put_be16_(b + k + 2, (uint32_t)y), k += 4;
				ngap++;
			} else {
				if (umpa_spec_num(part, 0xffffffffu, &x) < 0 || ndup >= 64)
					goto bad;
				dups[ndup++] = (uint32_t)x;
			}
		}
		if (max - k < 4u * ndup + 4)
			goto bad;
		for (unsigned i = 0; i < ndup; i++)
			umpa_put_be32_(b + k, dups[i]), k += 4;
		umpa_put_be16_(b + gaps - 4, ngap);
		umpa_put_be16_(b + gaps - 2, ndup);
		break;
	}
	case CH_HB:
	case CH_HB_ACK: {
		size_t p = k;
		k += 4;
		if (hasval && put_hex(v, b, &k, max - 4) < 0)
			goto bad;
		umpa_put_be16_(b + p, 1);
		umpa_put_be16_(b + p + 2, (uint32_t)(k - p)); /* its padding is the chunk's (RFC 9260 s3.2.1) */
		break;
	}
	case CH_SHUTDOWN:
		if (put_nums(&v, NUMS(shutdown_w), b, &k) < 0)
			goto bad;
		break;
	default:
		if (hasval && put_hex(v, b, &k, max - 4) < 0)
			goto bad;
	}
	b[at] = (uint8_t)type;
	b[at + 1] = (uint8_t)(flags < 0 ? 0 : flags);
	umpa_put_be16_(b + at + 2, (uint32_t)(k - at));
	while ((k - at) % 4) {
		if (k >= max)
			return umpa_err_set(e, UMPA_ERANGE, "sctp.chunk: more than %d bytes of chunks",
					    SCTP_CHUNKS_MAX);
		b[k++] = 0;
	}
	*n = k;
	return 0;
bad:
	return umpa_err_set(e, UMPA_EINVAL, "sctp.chunk: bad value '%.*s' for chunk %s (see umpa fields sctp)",
			    (int)whole.n, whole.s,
			    umpa_vname_find(chunk_names, type) ? umpa_vname_find(chunk_names, type) : "");
}

static int sctp_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	uint8_t b[SCTP_CHUNKS_MAX];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), ks, vs, name, fl;
	int hasval;

	(void)f;
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		uint64_t type, flags = 0;
		int has_flags = umpa_span_cut(ks, ".", &name, &fl);

		if (!has_flags)
			name = ks;
		if (umpa_span_is(name, "raw")) {
			if (put_hex(vs, b, &n, sizeof b) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "sctp.chunk: raw wants hex bytes, not '%.*s'",
						    (int)vs.n, vs.s);
			continue;
		}
		if (chunk_type_of(name, &type) < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "sctp.chunk: unknown chunk '%.*s' (data, init, init_ack, sack, heartbeat, "
					    "heartbeat_ack, abort, shutdown, shutdown_ack, error, cookie_echo, "
					    "cookie_ack, shutdown_complete, a number, raw)",
					    (int)name.n, name.s);
		if (has_flags && umpa_spec_num(fl, 255, &flags) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "sctp.chunk: bad flags '%.*s' (a number 0..255)", (int)fl.n,
					    fl.s);
		if (!hasval && (type == CH_DATA || type == CH_INIT || type == CH_INIT_ACK || type == CH_SACK ||
				type == CH_SHUTDOWN))
			return umpa_err_set(e, UMPA_EINVAL, "sctp.chunk: '%.*s' needs a value (see umpa fields sctp)",
					    (int)ks.n, ks.s);
		if (build_chunk((unsigned)type, has_flags ? (int)flags : -1, vs, hasval, b, &n, sizeof b, e) < 0)
			return -UMPA_EINVAL;
	}
	return umpa_pkt_splice(p, li, SCTP_HLEN, p->l[li].hlen - SCTP_HLEN, b, (uint32_t)n, e);
}

static int sctp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];

	(void)e;
	if (umpa_field_is_set(p, li, &sctp_fields[F_CSUM]) || l->off + l->len > p->len || l->len < SCTP_HLEN)
		return 0;
	umpa_field_auto_u64(p, li, &sctp_fields[F_CSUM], sctp_crc(p->data + l->off, l->len));
	return 0;
}

/* ---------------------------------------------------------------- dissecting */

static const struct umpa_proto *sctp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = SCTP_HLEN;
	uint32_t csum;

	umpa_layer_cur(p, li, &c);
	l->hlen = l->len; /* the chunks are the packet */
	while (at < l->len) {
		uint16_t clen;
		if (umpa_cur_be16_at(&c, at + 2, &clen) < 0) {
			umpa_layer_short(p, li, "chunk header past the end");
			return NULL;
		}
		if (clen < 4) {
			l->flags |= UMPA_L_INVALID;
			l->why = "chunk length below 4";
			return NULL;
		}
		if (!umpa_cur_has(&c, at, clen)) {
			umpa_layer_short(p, li, "chunk past the end");
			return NULL;
		}
		at += (clen + 3u) & ~3u;
	}
	if (!(l->flags & UMPA_L_QUOTED) && l->off + l->len <= p->len && p->len == p->wirelen &&
	    umpa_cur_be32_at(&c, 8, &csum) == 0 && csum != sctp_crc(p->data + l->off, l->len))
		l->flags |= UMPA_L_BADSUM;
	return NULL;
}

/* The TLV (chunk, parameter or error cause) at @at of @c within [.., @end): its length, at byte 2, counting its
 * 4-byte header and its value but not the padding, into *@len.  Returns 0, or -1 when its header is not
 * there, the length is below 4, or the TLV runs past @end. */
static int tlv_at(struct umpa_cur *c, size_t at, size_t end, uint16_t *len)
{
	return at + 4 <= end && umpa_cur_be16_at(c, at + 2, len) == 0 && *len >= 4 && at + *len <= end ? 0 : -1;
}

/* Emit the zeros that pad a TLV of length @len ending at @at as @key (those before @end).  Returns where the
 * next TLV starts. */
static size_t emit_pad(struct umpa_emit *em, struct umpa_cur *c, size_t at, uint16_t len, size_t end, const char *key)
{
	size_t pad = ((len + 3u) & ~3u) - len;
	const uint8_t *d;

	if (pad && at + pad <= end && umpa_cur_ptr_at(c, at, pad, &d) == 0)
		umpa_emit_bytes(em, key, d, pad);
	return at + pad;
}

/* The value of parameter @type: @vlen bytes at @at of @c (@d). */
static void emit_param_value(struct umpa_emit *em, struct umpa_cur *c, uint16_t type, size_t at, size_t vlen,
			     const uint8_t *d)
{
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	switch (type) {
	case 1:
		if (vlen)
			umpa_emit_bytes(em, "sctp.parameter_heartbeat_information", d, vlen);
		break;
	case 5:
		if (vlen == 4)
			umpa_emit_ipv4(em, "sctp.parameter_ipv4_address", d);
		break;
	case 6:
		if (vlen == 16)
			umpa_emit_ipv6(em, "sctp.parameter_ipv6_address", d);
		break;
	case 7:
		if (vlen)
			umpa_emit_bytes(em, "sctp.parameter_state_cookie", d, vlen);
		break;
	case 9:
		if (vlen == 4 && umpa_cur_be32_at(c, at, &v32) == 0)
			umpa_emit_u64(em, "sctp.parameter_cookie_preservative_incr", v32, NULL);
		break;
	case 12:
		for (size_t i = 0; i + 2 <= vlen && umpa_cur_be16_at(c, at + i, &v16) == 0; i += 2)
			umpa_emit_u64(em, "sctp.parameter_supported_address_type", v16, NULL);
		break;
	default:
		if (vlen)
			umpa_emit_bytes(em, "sctp.parameter_value", d, vlen);
	}
}

/* Emit the TLVs in [@at, @end) of @c, each one group: parameters (INIT, INIT ACK, HEARTBEAT), or error causes
 * (ABORT, ERROR) when @causes. */
static void emit_tlvs(struct umpa_emit *em, struct umpa_cur *c, size_t at, size_t end, int causes)
{
	uint16_t type, len;
	const uint8_t *d;

	while (tlv_at(c, at, end, &len) == 0 && umpa_cur_be16_at(c, at, &type) == 0 &&
	       umpa_cur_ptr_at(c, at + 4, len - 4u, &d) == 0) {
		if (causes) {
			umpa_emit_open(em, "sctp.cause", NULL);
			umpa_emit_u64(em, "sctp.cause_code", type, NULL);
			umpa_emit_u64(em, "sctp.cause_length", len, NULL);
			if (len > 4)
				umpa_emit_bytes(em, "sctp.cause_information", d, len - 4u);
		} else {
			umpa_emit_open(em, "sctp.parameter", umpa_vname_find(param_names, type));
			umpa_emit_hex(em, "sctp.parameter_type", type, 4);
			umpa_emit_bool(em, "sctp.parameter_bit_1", (type & 0x8000) != 0);
			umpa_emit_bool(em, "sctp.parameter_bit_2", (type & 0x4000) != 0);
			umpa_emit_u64(em, "sctp.parameter_length", len, NULL);
			emit_param_value(em, c, type, at + 4, len - 4u, d);
		}
		at = emit_pad(em, c, at + len, len, end, causes ? "sctp.cause_padding" : "sctp.parameter_padding");
		umpa_emit_close(em);
	}
}

/* The fixed fields of INIT and INIT ACK: offset in the chunk, width, Wireshark's name after "sctp.init_" or
 * "sctp.initack_" (in that order). */
static const struct init_field {
	uint8_t off, width;
	const char *name;
} init_fields[] = {
    {4, 4, "initiate_tag"},   {8, 4, "credit"},       {12, 2, "nr_out_streams"},
    {14, 2, "nr_in_streams"}, {16, 4, "initial_tsn"},
};

static void sctp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = SCTP_HLEN;

	umpa_layer_cur(p, li, &c);
	while (at + 4 <= l->hlen) {
		uint8_t type, flags;
		uint16_t clen;
		uint32_t v32 = 0;
		uint16_t v16 = 0;
		const uint8_t *d;
		size_t end;

		if (tlv_at(&c, at, l->hlen, &clen) < 0 || umpa_cur_u8_at(&c, at, &type) < 0 ||
		    umpa_cur_u8_at(&c, at + 1, &flags) < 0)
			break;
		end = at + clen;
		umpa_emit_open(em, "sctp.chunk", umpa_vname_find(chunk_names, type));
		umpa_emit_u64(em, "sctp.chunk_type", type, umpa_vname_find(chunk_names, type));
		umpa_emit_bool(em, "sctp.chunk_bit_1", (type & 0x80) != 0);
		umpa_emit_bool(em, "sctp.chunk_bit_2", (type & 0x40) != 0);
		umpa_emit_hex(em, "sctp.chunk_flags", flags, 2);
		switch (type) {
		case CH_DATA:
			umpa_emit_bool(em, "sctp.data_i_bit", (flags & 0x08) != 0);
			umpa_emit_bool(em, "sctp.data_u_bit", (flags & 0x04) != 0);
			umpa_emit_bool(em, "sctp.data_b_bit", (flags & 0x02) != 0);
			umpa_emit_bool(em, "sctp.data_e_bit", (flags & 0x01) != 0);
			break;
		case CH_SACK:
			umpa_emit_u64(em, "sctp.sack_nounce_sum", flags & 1, NULL);
			break;
		case CH_ABORT:
			umpa_emit_bool(em, "sctp.abort_t_bit", flags & 1);
			break;
		case CH_SHUTDOWN_COMPLETE:
			umpa_emit_bool(em, "sctp.shutdown_complete_t_bit", flags & 1);
			break;
		}
		umpa_emit_u64(em, "sctp.chunk_length", clen, NULL);
		switch (type) {
		case CH_DATA:
			if (clen < 16)
				break;
			if (umpa_cur_be32_at(&c, at + 4, &v32) == 0)
				umpa_emit_u64(em, "sctp.data_tsn_raw", v32, NULL);
			if (umpa_cur_be16_at(&c, at + 8, &v16) == 0)
				umpa_emit_hex(em, "sctp.data_sid", v16, 4);
			if (umpa_cur_be16_at(&c, at + 10, &v16) == 0)
				umpa_emit_u64(em, "sctp.data_ssn", v16, NULL);
			if (umpa_cur_be32_at(&c, at + 12, &v32) == 0)
				umpa_emit_u64(em, "sctp.data_payload_proto_id", v32, NULL);
			if (clen > 16 && umpa_cur_ptr_at(&c, at + 16, clen - 16u, &d) == 0)
				umpa_emit_bytes(em, "data.data", d, clen - 16u);
			break;
		case CH_INIT:
		case CH_INIT_ACK: {
			const char *pre = type == CH_INIT ? "sctp.init_" : "sctp.initack_";
			char key[48];
			if (clen < 20)
				break;
			for (size_t i = 0; i < sizeof init_fields / sizeof init_fields[0]; i++) {
				const struct init_field *f = &init_fields[i];
				v16 = 0;
				v32 = 0;
				if (f->width == 4)
					umpa_cur_be32_at(&c, at + f->off, &v32);
				else if (umpa_cur_be16_at(&c, at + f->off, &v16) == 0)
					v32 = v16;
				snprintf(key, sizeof key, "%s%s", pre, f->name);
				if (f->off == 4) { /* the tag also under the name both chunks share */
					umpa_emit_hex(em, key, v32, 8);
					umpa_emit_hex(em, "sctp.initiate_tag", v32, 8);
				} else {
					umpa_emit_u64(em, key, v32, NULL);
				}
			}
			emit_tlvs(em, &c, at + 20, end, 0);
			break;
		}
		case CH_SACK: {
			uint32_t cum = 0, tsns = 0;
			uint16_t ngap = 0, ndup = 0;
			size_t k = at + 16;
			if (clen < 16)
				break;
			umpa_cur_be32_at(&c, at + 4, &cum);
			umpa_emit_u64(em, "sctp.sack_cumulative_tsn_ack_raw", cum, NULL);
			umpa_cur_be32_at(&c, at + 8, &v32);
			umpa_emit_u64(em, "sctp.sack_a_rwnd", v32, NULL);
			umpa_cur_be16_at(&c, at + 12, &ngap);
			umpa_cur_be16_at(&c, at + 14, &ndup);
			umpa_emit_u64(em, "sctp.sack_number_of_gap_blocks", ngap, NULL);
			umpa_emit_u64(em, "sctp.sack_number_of_duplicated_tsns", ndup, NULL);
			for (unsigned i = 0; i < ngap && k + 4 <= end; i++, k += 4) {
				uint16_t s = 0, t = 0;
				umpa_cur_be16_at(&c, k, &s);
				umpa_cur_be16_at(&c, k + 2, &t);
				umpa_emit_open(em, "sctp.sack_gap_block", NULL);
				umpa_emit_u64(em, "sctp.sack_gap_block_start", s, NULL);
				umpa_emit_u64(em, "sctp.sack_gap_block_start_tsn", (uint32_t)(cum + s), NULL);
				umpa_emit_u64(em, "sctp.sack_gap_block_end", t, NULL);
				umpa_emit_u64(em, "sctp.sack_gap_block_end_tsn", (uint32_t)(cum + t), NULL);
				umpa_emit_close(em);
				if (t >= s)
					tsns += t - s + 1u;
			}
			if (ngap)
				umpa_emit_u64(em, "sctp.sack_number_of_tsns_gap_acked", tsns, NULL);
			for (unsigned i = 0; i < ndup && k + 4 <= end && umpa_cur_be32_at(&c, k, &v32) == 0;
			     i++, k += 4)
				umpa_emit_u64(em, "sctp.sack_duplicate_tsn", v32, NULL);
			break;
		}
		case CH_HB:
		case CH_HB_ACK:
			emit_tlvs(em, &c, at + 4, end, 0);
			break;
		case CH_ABORT:
		case CH_ERROR:
			emit_tlvs(em, &c, at + 4, end, 1);
			break;
		case CH_SHUTDOWN:
			if (clen >= 8 && umpa_cur_be32_at(&c, at + 4, &v32) == 0)
				umpa_emit_u64(em, "sctp.shutdown_cumulative_tsn_ack", v32, NULL);
			break;
		case CH_COOKIE_ECHO:
			if (clen > 4 && umpa_cur_ptr_at(&c, at + 4, clen - 4u, &d) == 0)
				umpa_emit_bytes(em, "sctp.cookie", d, clen - 4u);
			break;
		case CH_SHUTDOWN_ACK:
		case CH_COOKIE_ACK:
		case CH_SHUTDOWN_COMPLETE:
			break;
		default:
			if (clen > 4 && umpa_cur_ptr_at(&c, at + 4, clen - 4u, &d) == 0)
				umpa_emit_bytes(em, "sctp.chunk_value", d, clen - 4u);
		}
		at = emit_pad(em, &c, end, clen, l->hlen, "sctp.chunk_padding");
		umpa_emit_close(em);
	}
}

/* tcpdump's names of payload protocol identifiers (print-sctp.c PayloadProto_idents). */
static const struct umpa_vname ppid_names[] = {
    {1, "ISDN Q.921"}, {2, "M2UA"},   {3, "M3UA"},       {4, "SUA"},        {5, "M2PA"},       {6, "V5.2"},
    {7, "H.248"},      {8, "BICC"},   {9, "TALI"},       {10, "DUA"},       {11, "ASAP"},      {12, "ENRP"},
    {13, "H.323"},     {14, "Q.IPC"}, {15, "SIMCO"},     {16, "DDPSC"},     {17, "DDPSSC"},    {18, "S1AP"},
    {19, "RUA"},       {20, "HNBAP"}, {21, "ForCES HP"}, {22, "ForCES MP"}, {23, "ForCES LP"}, {24, "SBc-AP"},
    {25, "NBAP"},      {27, "X2AP"},  {28, "IRCP"},      {29, "LCSAP"},     {30, "MPICH2"},    {31, "SABP"},
    {32, "FGP"},       {33, "PPP"},   {34, "CALCAPP"},   {35, "SSP"},       {36, "NPMP CTRL"}, {37, "NPMP DATA"},
    {38, "SUCCESS"},   {39, "DOT"},   {40, "MIAP"},      {41, "NNAR"},      {42, "DTLS"},      {0, NULL},
};

/* tcpdump's "[LABEL VALUE] " items of a chunk's fixed fields: offset in the chunk, width (2 or 4), label. */
struct sum_item {
	uint8_t off, width;
	const char *label;
};
static const struct sum_item data_sum[] = {{4, 4, "TSN: "}, {8, 2, "SID: "}, {10, 2, "SSEQ "}, {0, 0, NULL}};
static const struct sum_item init_sum[] = {{4, 4, "init tag: "}, {8, 4, "rwnd: "},      {12, 2, "OS: "},
					   {14, 2, "MIS: "},     {16, 4, "init TSN: "}, {0, 0, NULL}};
static const struct sum_item sack_sum[] = {
    {4, 4, "cum ack "}, {8, 4, "a_rwnd "}, {12, 2, "#gap acks "}, {14, 2, "#dup tsns "}, {0, 0, NULL}};

/* Append the items @it of the chunk at @at of @c to @out. */
static void put_sum(struct umpa_sbuf *out, struct umpa_cur *c, size_t at, const struct sum_item *it)
{
	for (; it->label; it++) {
		uint32_t v32 = 0;
		uint16_t v16 = 0;
		if (it->width == 2)
			umpa_cur_be16_at(c, at + it->off, &v16);
		else
			umpa_cur_be32_at(c, at + it->off, &v32);
		umpa_sbuf_printf(out, "[%s%u] ", it->label, it->width == 2 ? (unsigned)v16 : (unsigned)v32);
	}
}

static void sctp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = SCTP_HLEN;
	unsigned n = 0;

	umpa_layer_cur(p, li, &c);
	umpa_sbuf_puts(out, "sctp");
	while (at + 4 <= l->hlen) {
		uint8_t type, flags;
		uint16_t clen;
		uint32_t v32 = 0;
		const char *name;

		if (tlv_at(&c, at, l->hlen, &clen) < 0 || umpa_cur_u8_at(&c, at, &type) < 0 ||
		    umpa_cur_u8_at(&c, at + 1, &flags) < 0)
			break;
		umpa_sbuf_printf(out, "%s%u) ", n ? ", (" : " (", n + 1);
		n++;
		name = umpa_vname_find(tcpdump_chunk_names, type);
		if (name)
			umpa_sbuf_printf(out, "[%s] ", name);
		else
			umpa_sbuf_printf(out, "[Unknown chunk type: 0x%x] ", type);
		if (type == CH_DATA && clen >= 16) {
			if (flags & 0x04)
				umpa_sbuf_puts(out, "(U)");
			if (flags & 0x02)
				umpa_sbuf_puts(out, "(B)");
			if (flags & 0x01)
				umpa_sbuf_puts(out, "(E)");
			if (flags & 0x07)
				umpa_sbuf_putc(out, ' ');
			put_sum(out, &c, at, data_sum);
			umpa_cur_be32_at(&c, at + 12, &v32);
			if ((name = umpa_vname_find(ppid_names, v32)))
				umpa_sbuf_printf(out, "[PPID %s] ", name);
			else
				umpa_sbuf_printf(out, "[PPID 0x%x] ", v32);
		} else if ((type == CH_INIT || type == CH_INIT_ACK) && clen >= 20) {
			put_sum(out, &c, at, init_sum);
		} else if (type == CH_SACK && clen >= 16) {
			put_sum(out, &c, at, sack_sum);
		}
		at += (clen + 3u) & ~3u;
	}
}

const struct umpa_proto umpa_proto_sctp = {
    .name = "sctp",
    .aliases = "SCTP",
    .title = "Stream Control Transmission Protocol",
    .fields = sctp_fields,
    .nfields = F_COUNT,
    .hdr_len = SCTP_HLEN,
    .pflags = UMPA_PF_PORTS,
    .dissect = sctp_dissect,
    .finish = sctp_finish,
    .set_var = sctp_set_var,
    .details = sctp_details,
    .summary = sctp_summary,
    .hashret = umpa_ports_hashret_,
    .answers = umpa_ports_answers_,
};
