/* gre.c - Generic Routing Encapsulation (RFC 2784, keys and sequence numbers RFC 2890; version 1: PPTP, RFC 2637).
 *
 * Header (4 bytes after IP protocol 47): flags and version (16 bits: C
 * 0x8000 checksum present, R 0x4000 routing present, K 0x2000 key present, S
 * 0x1000 sequence number present, s 0x0800 strict source route, recursion
 * control 0x0700, A 0x0080 acknowledgement present (version 1), version
 * 0x0007), protocol type (an Ethernet type).  Then, each only when its flag
 * is set and in this order: checksum and offset (16 bits each; C or R),
 * key (32 bits; K; version 1 splits it into payload length and call id),
 * sequence number (32 bits; S), acknowledgement number (32 bits; A, version
 * 1), and with R the source route entries (RFC 1701: address family, SRE
 * offset, SRE length, routing information; ended by a zero-length entry).
 *
 * The optional fields sit at positions that depend on the flags: the locate
 * hook finds them from the flag bits in the bytes (so a dissected and a built
 * header are read alike), and the place hook makes room when one is set:
 * gre{key=5} sets the K bit and inserts the key after the checksum, if any,
 * and before the sequence number; the version 1 fields (call_id,
 * payload_length, ack_number) also make the header version 1.  Setting the flag field itself afterwards
 * (gre{key=5, flags_and_version=0}) writes a lying header as set.
 *
 * Building: everything 0 (Scapy's GRE() bytes); gre.proto is automatic from
 * the next layer (the registry's GRE protocol types first, then Ethernet
 * types: ip 0x0800, ipv6 0x86dd, ether 0x6558 transparent Ethernet bridging,
 * erspan 0x88be or 0x22eb by its version, mpls 0x8847); the checksum, when
 * present, is computed over the GRE header and payload unless set.  A
 * checksum that does not verify marks the layer bad_checksum (only when the
 * whole packet was captured).
 *
 * Dissecting: the next layer comes from gre.proto (version 0); version 1
 * (PPTP) carries PPP, kept as bytes.  WCCP's type 0x883e has a 4-byte
 * redirect header before the IPv4 packet (unless the packet starts at once,
 * WCCPv1): it counts as part of the GRE header, shown as Wireshark's
 * gre.wccp.* fields.  Routing entries are walked to find the
 * end of the header but not shown field by field.
 *
 * Summary: tcpdump's "GREv0, key=0x2, seq 7, length 116: " then the inner
 * packet (tcpdump's "gre-proto-0x2001" when umpa has no dissector for it);
 * version 1 "GREv1, call 0, seq 0, length 60: ".
 *
 * Names: Wireshark's gre.* (gre.flags_and_version and its bits, gre.proto,
 * gre.checksum, gre.offset, gre.key, gre.key.payload_length,
 * gre.key.call_id, gre.sequence_number, gre.ack_number); short names
 * flags, proto, checksum (chksum), key, seq (seqnum_present... are Scapy's
 * flag names, accepted for the bits).
 */
#include "proto_common.h"
#include "umpa_protos.h"

enum {
	GRE_HLEN = 4,
	GRE_C = 0x8000,
	GRE_R = 0x4000,
	GRE_K = 0x2000,
	GRE_S = 0x1000,
	GRE_A = 0x0080,
	GRE_MAX_SRE = 64, /* routing entries walked at most */
	GRE_WCCP = 0x883e /* WCCP redirection: a 4-byte redirect header, then IPv4 */
};

/* Field indexes: the order of gre_fields. */
enum {
	F_FV,
	F_C,
	F_R,
	F_K,
	F_S,
	F_SSR,
	F_RECUR,
	F_ACKF,
	F_RSV,
	F_RSV1,
	F_VER,
	F_PROTO,
	F_CSUM,
	F_OFFSET,
	F_KEY,
	F_PLEN,
	F_CALL,
	F_SEQ,
	F_ACK,
	F_COUNT
};

static const struct umpa_field gre_fields[] = {
    [F_FV] = {.name = "flags_and_version",
	      .ws = "gre.flags_and_version",
	      .aliases = "flags",
	      .bitoff = 0,
	      .bits = 16,
	      .type = UMPA_FT_UINT,
	      .flags = UMPA_F_HEX,
	      .help = "flags (C 0x8000, R 0x4000, K 0x2000, S 0x1000, s 0x0800, A 0x0080) and version (low 3 bits)"},
    [F_C] = {.name = "flags.checksum",
	     .ws = "gre.flags.checksum",
	     .aliases = "chksum_present",
	     .bitoff = 0,
	     .bits = 1,
	     .type = UMPA_FT_BOOL,
	     .help = "checksum and offset present (set by setting checksum)"},
    [F_R] = {.name = "flags.routing",
	     .ws = "gre.flags.routing",
	     .aliases = "routing_present",
	     .bitoff = 1,
	     .bits = 1,
	     .type = UMPA_FT_BOOL,
	     .help = "routing present (RFC 1701)"},
    [F_K] = {.name = "flags.key",
	     .ws = "gre.flags.key",
	     .aliases = "key_present",
	     .bitoff = 2,
	     .bits = 1,
	     .type = UMPA_FT_BOOL,
	     .help = "key present (set by setting key)"},
    [F_S] = {.name = "flags.sequence_number",
	     .ws = "gre.flags.sequence_number",
	     .aliases = "seqnum_present",
	     .bitoff = 3,
	     .bits = 1,
	     .type = UMPA_FT_BOOL,
	     .help = "sequence number present (set by setting seq)"},
    [F_SSR] = {.name = "flags.strict_source_route",
	       .ws = "gre.flags.strict_source_route",
	       .aliases = "strict_route_source",
	       .bitoff = 4,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "strict source route (RFC 1701)"},
    [F_RECUR] = {.name = "flags.recursion_control",
		 .ws = "gre.flags.recursion_control",
		 .aliases = "recursion_control",
		 .bitoff = 5,
		 .bits = 3,
		 .type = UMPA_FT_UINT,
		 .help = "recursion control (RFC 1701)"},
    [F_ACKF] = {.name = "flags.ack",
		.ws = "gre.flags.ack",
		.aliases = "acknum_present",
		.bitoff = 8,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.help = "acknowledgement number present (version 1; set by setting ack_number)"},
    [F_RSV] = {.name = "flags.reserved",
	       .ws = "gre.flags.reserved",
	       .bitoff = 8,
	       .bits = 5,
	       .type = UMPA_FT_UINT,
	       .help = "reserved flag bits (version 0)"},
    [F_RSV1] = {.name = "flags.reserved_v1",
		.ws = "gre.flags.reserved",
		.bitoff = 9,
		.bits = 4,
		.type = UMPA_FT_UINT,
		.help = "reserved flag bits (version 1)"},
    [F_VER] = {.name = "flags.version",
	       .ws = "gre.flags.version",
	       .aliases = "version",
	       .bitoff = 13,
	       .bits = 3,
	       .type = UMPA_FT_UINT,
	       .help = "version: 0 (RFC 2784), 1 (PPTP)"},
    [F_PROTO] = {.name = "proto",
		 .ws = "gre.proto",
		 .aliases = "type",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_AUTO | UMPA_F_HEX,
		 .names = umpa_ethertype_names,
		 .help = "protocol type of the payload, an Ethernet type (automatic from the next layer)"},
    [F_CSUM] = {.name = "checksum",
		.ws = "gre.checksum",
		.aliases = "chksum",
		.bitoff = 32,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.help = "checksum of header and payload (present with C or R; automatic)"},
    [F_OFFSET] = {.name = "offset",
		  .ws = "gre.offset",
		  .bitoff = 48,
		  .bits = 16,
		  .type = UMPA_FT_UINT,
		  .help = "routing offset (present with C or R)"},
    [F_KEY] = {.name = "key",
	       .ws = "gre.key",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX,
	       .help = "key (version 0; sets the K bit)"},
    [F_PLEN] = {.name = "key.payload_length",
		.ws = "gre.key.payload_length",
		.aliases = "payload_len",
		.bitoff = 32,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO,
		.help = "payload length (version 1; automatic)"},
    [F_CALL] = {.name = "key.call_id",
		.ws = "gre.key.call_id",
		.aliases = "call_id",
		.bitoff = 48,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.help = "call id (version 1; sets the K bit)"},
    [F_SEQ] = {.name = "sequence_number",
	       .ws = "gre.sequence_number",
	       .aliases = "seq,seqence_number",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .help = "sequence number (sets the S bit)"},
    [F_ACK] = {.name = "ack_number",
	       .ws = "gre.ack_number",
	       .aliases = "ack",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .help = "acknowledgement number (version 1; sets the A bit)"},
};
UMPA_FIELDS_CHECK(gre_fields, F_COUNT);

/* The flags-and-version word of layer @li (0 when cut). */
static uint16_t gre_fv(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint16_t fv = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_be16_at(&c, 0, &fv);
	return fv;
}

/* Byte offsets of the optional parts for flags @fv: checksum/offset, key, sequence, ack; -1 when absent.
 * Returns the length of the fixed part (before any routing entries). */
static unsigned gre_layout(uint16_t fv, int *csum, int *key, int *seq, int *ack)
{
	unsigned at = GRE_HLEN;

	*csum = *key = *seq = *ack = -1;
	if (fv & (GRE_C | GRE_R)) {
		*csum = (int)at;
		at += 4;
	}
	if (fv & GRE_K) {
		*key = (int)at;
		at += 4;
	}
	if (fv & GRE_S) {
		*seq = (int)at;
		at += 4;
	}
	if ((fv & 7) == 1 && (fv & GRE_A)) {
		*ack = (int)at;
		at += 4;
	}
	return at;
}

static long gre_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	uint16_t fv = gre_fv(p, li);
	unsigned ver = fv & 7;
	int csum, key, seq, ack, at;

	gre_layout(fv, &csum, &key, &seq, &ack);
	switch (f - gre_fields) {
	case F_ACKF:
	case F_RSV1:
		return ver == 1 ? (long)f->bitoff : -1;
	case F_RSV:
		return ver == 1 ? -1 : (long)f->bitoff;
	case F_CSUM:
		at = csum;
		break;
	case F_OFFSET:
		at = csum < 0 ? -1 : csum + 2;
		break;
	case F_KEY:
		at = ver == 1 ? -1 : key;
		break;
	case F_PLEN:
		at = ver == 1 ? key : -1;
		break;
	case F_CALL:
		at = ver == 1 && key >= 0 ? key + 2 : -1;
		break;
	case F_SEQ:
		at = seq;
		break;
	case F_ACK:
		at = ack;
		break;
	default:
		return f->bitoff;
	}
	return at < 0 ? -1 : 8L * at;
}

/* Set flag @bit in the header and splice 4 zero bytes where the part it announces goes. */
static int gre_add_part(struct umpa_pkt *p, unsigned li, uint16_t bit, struct umpa_err *e)
{
	uint16_t fv = gre_fv(p, li), nfv = (uint16_t)(fv | bit);
	int c0, k0, s0, a0, c1, k1, s1, a1, at = -1;
	int rc;

	if (fv & bit)
		return 0;
	if (umpa_field_is_set(p, li, &gre_fields[F_FV]))
		return umpa_err_set(e, UMPA_EINVAL, "gre: flags_and_version 0x%04x was set without the 0x%04x bit", fv,
				    bit);
	gre_layout(fv, &c0, &k0, &s0, &a0);
	gre_layout(nfv, &c1, &k1, &s1, &a1);
	if (c0 < 0 && c1 >= 0)
		at = c1;
	else if (k0 < 0 && k1 >= 0)
		at = k1;
	else if (s0 < 0 && s1 >= 0)
		at = s1;
	else if (a0 < 0 && a1 >= 0)
		at = a1;
	if (at >= 0 && (rc = umpa_pkt_splice(p, li, (uint32_t)at, 0, NULL, 4, e)) < 0)
		return rc;
	umpa_field_auto_u64(p, li, &gre_fields[F_FV], nfv);
	return 0;
}

/* Make the header version 1 (PPTP), keeping its flags (unless the user set the version). */
static void gre_set_v1(struct umpa_pkt *p, unsigned li)
{
	umpa_field_auto_u64(p, li, &gre_fields[F_VER], 1);
}

static int gre_place(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	switch (f - gre_fields) {
	case F_CSUM:
	case F_OFFSET:
		return gre_add_part(p, li, GRE_C, e);
	case F_KEY:
		if ((gre_fv(p, li) & 7) == 1)
			return umpa_err_set(e, UMPA_EINVAL,
					    "gre.key: a version 1 header has call_id and payload_length there");
		return gre_add_part(p, li, GRE_K, e);
	case F_SEQ:
		return gre_add_part(p, li, GRE_S, e);
	case F_PLEN: /* the version 1 fields make the header version 1 */
	case F_CALL:
		gre_set_v1(p, li);
		return gre_add_part(p, li, GRE_K, e);
	case F_ACK:
		gre_set_v1(p, li);
		return gre_add_part(p, li, GRE_A, e);
	case F_ACKF:
	case F_RSV1:
		gre_set_v1(p, li);
		return 0;
	case F_RSV:
		return umpa_err_set(e, UMPA_EINVAL, "%s exists in version 0 only", f->ws);
	}
	return umpa_err_set(e, UMPA_EINVAL, "%s is not in this gre header", f->ws);
}

/* The header's whole length: the fixed part and, with R, the routing entries.  Returns 0, or -1 when the
 * entries run past the window (*hlen is then the window). */
static int gre_header_len(struct umpa_cur *c, uint16_t fv, uint32_t *hlen)
{
	int csum, key, seq, ack;
	uint32_t at = gre_layout(fv, &csum, &key, &seq, &ack);

	if (fv & GRE_R) {
		for (unsigned n = 0;; n++) {
			uint8_t len;
			if (n == GRE_MAX_SRE || umpa_cur_u8_at(c, at + 3, &len) < 0) {
				*hlen = (uint32_t)c->len;
				return -1;
			}
			at += 4u + len;
			if (len == 0)
				break;
		}
	}
	*hlen = at;
	return at <= c->len ? 0 : -1;
}

/* The checksum of layer @li with its checksum field taken as zero. */
static uint16_t gre_csum(const struct umpa_pkt *p, unsigned li, int at)
{
	const struct umpa_layer *l = &p->l[li];
	const uint8_t *d = p->data + l->off;
	uint32_t sum = umpa_csum_add(0, d, (uint32_t)at);

	if ((uint32_t)at + 2 < l->len)
		sum = umpa_csum_add(sum, d + at + 2, l->len - (uint32_t)at - 2);
	return umpa_csum_fold(sum);
}

/* The protocol carried under protocol type @type. */
static const struct umpa_proto *gre_next(uint16_t type)
{
	const struct umpa_proto *pr = umpa_proto_bound(UMPA_BIND_GREPROTO, type);

	return pr ? pr : umpa_proto_bound(UMPA_BIND_ETHERTYPE, type);
}

static const struct umpa_proto *gre_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t fv, type;
	uint32_t hlen;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &fv) < 0 || umpa_cur_be16_at(&c, 2, &type) < 0)
		return NULL;
	if (gre_header_len(&c, fv, &hlen) < 0) {
		l->hlen = hlen; /* longer than the window: the driver marks and clips it */
		if (hlen <= l->len)
			umpa_layer_short(p, li, "routing entries past the end");
		return NULL;
	}
	l->hlen = hlen;
	if ((fv & GRE_C) && !(l->flags & UMPA_L_QUOTED) && l->off + l->len <= p->len && p->len == p->wirelen) {
		uint16_t sum; /* the checksum covers header and payload: verified only when all of it was captured */
		if (umpa_cur_be16_at(&c, GRE_HLEN, &sum) == 0 && gre_csum(p, li, GRE_HLEN) != sum)
			l->flags |= UMPA_L_BADSUM;
	}
	if ((fv & 7) != 0)
		return NULL; /* version 1 carries PPP: bytes */
	if (type == GRE_WCCP) {
		uint8_t b;
		if (umpa_cur_u8_at(&c, hlen, &b) < 0)
			return NULL;
		if (b >> 4 != 4) /* WCCPv2 redirect header (WCCPv1: the IPv4 packet at once) */
			l->hlen += 4;
		return &umpa_proto_ip;
	}
	return gre_next(type);
}

/* WCCP's redirect header (GRE type 0x883e, draft-wilson-wrec-wccp-v2 5.14): Wireshark's gre.wccp.* fields. */
static void gre_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t type;
	uint32_t w;

	umpa_layer_cur(p, li, &c);
	if (gre_fv(p, li) & 7 || umpa_cur_be16_at(&c, 2, &type) < 0 || type != GRE_WCCP || l->hlen < 8 ||
	    umpa_cur_be32_at(&c, l->hlen - 4, &w) < 0 || (w >> 28) == 4)
		return;
	umpa_emit_open(em, "gre.wccp.redirect_header", NULL);
	umpa_emit_bool(em, "gre.wccp.dynamic_service", (w >> 24) & 1);
	umpa_emit_bool(em, "gre.wccp.alternative_bucket_used", (w >> 25) & 1);
	umpa_emit_bool(em, "gre.wccp.redirect_header_valid", (w >> 26) & 1);
	umpa_emit_u64(em, "gre.wccp.service_id", (w >> 16) & 0xff, NULL);
	umpa_emit_u64(em, "gre.wccp.alternative_bucket", (w >> 8) & 0xff, NULL);
	umpa_emit_u64(em, "gre.wccp.primary_bucket", w & 0xff, NULL);
	umpa_emit_close(em);
}

static int gre_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	uint32_t v;
	uint16_t fv;
	int csum, key, seq, ack;
	unsigned need;
	int rc;

	if (li + 1 < p->nlayers && !umpa_field_is_set(p, li, &gre_fields[F_PROTO])) {
		const struct umpa_proto *nx = p->l[li + 1].proto;
		if (nx == &umpa_proto_erspan) { /* type III has its own protocol type */
			uint64_t ver = 1;
			umpa_field_get_u64(p, li + 1, &nx->fields[0], &ver);
			umpa_field_auto_u64(p, li, &gre_fields[F_PROTO], ver == 2 ? 0x22eb : 0x88be);
		} else if (umpa_proto_bind_value(UMPA_BIND_GREPROTO, nx, &v) == 0 ||
			   umpa_proto_bind_value(UMPA_BIND_ETHERTYPE, nx, &v) == 0) {
			umpa_field_auto_u64(p, li, &gre_fields[F_PROTO], v);
		}
	}
	/* flags set by hand without their fields: room for them (zeros) */
	fv = gre_fv(p, li);
	need = gre_layout(fv, &csum, &key, &seq, &ack);
	if (!(fv & GRE_R) && p->l[li].hlen < need &&
	    (rc = umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, need - p->l[li].hlen, e)) < 0)
		return rc;
	if ((fv & 7) == 1 && key >= 0)
		umpa_field_auto_u64(p, li, &gre_fields[F_PLEN], p->l[li].len - p->l[li].hlen);
	if (csum >= 0 && (fv & GRE_C) && !umpa_field_is_set(p, li, &gre_fields[F_CSUM])) {
		umpa_field_auto_u64(p, li, &gre_fields[F_CSUM], 0);
		umpa_field_auto_u64(p, li, &gre_fields[F_CSUM], gre_csum(p, li, csum));
	}
	return 0;
}

static void gre_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t fv, type, v16;
	uint32_t v32;
	int csum, key, seq, ack;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &fv) < 0 || umpa_cur_be16_at(&c, 2, &type) < 0) {
		umpa_sbuf_puts(out, "GRE");
		return;
	}
	gre_layout(fv, &csum, &key, &seq, &ack);
	umpa_sbuf_puts(out, "GREv");
	umpa_sbuf_put_u64(out, fv & 7);
	if ((fv & 7) == 1) {
		if (key >= 0 && umpa_cur_be16_at(&c, (size_t)key + 2, &v16) == 0) {
			umpa_sbuf_puts(out, ", call ");
			umpa_sbuf_put_u64(out, v16);
		}
	} else {
		if ((fv & GRE_C) && umpa_cur_be16_at(&c, (size_t)csum, &v16) == 0) {
			umpa_sbuf_puts(out, ", sum 0x");
			umpa_sbuf_printf(out, "%x", v16);
		}
		if ((fv & GRE_R) && umpa_cur_be16_at(&c, (size_t)csum + 2, &v16) == 0) {
			umpa_sbuf_puts(out, ", off 0x");
			umpa_sbuf_printf(out, "%x", v16);
		}
		if (key >= 0 && umpa_cur_be32_at(&c, (size_t)key, &v32) == 0)
			umpa_sbuf_printf(out, ", key=0x%x", v32);
	}
	if (seq >= 0 && umpa_cur_be32_at(&c, (size_t)seq, &v32) == 0)
		umpa_sbuf_printf(out, ", seq %u", v32);
	if (ack >= 0 && umpa_cur_be32_at(&c, (size_t)ack, &v32) == 0)
		umpa_sbuf_printf(out, ", ack %u", v32);
	umpa_sbuf_puts(out, ", length ");
	umpa_sbuf_put_u64(out, l->len);
	umpa_sbuf_puts(out, ": ");
	if (li + 1 >= p->nlayers || (p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		umpa_sbuf_printf(out, "gre-proto-0x%x", type);
}

const struct umpa_proto umpa_proto_gre = {
    .name = "gre",
    .title = "Generic Routing Encapsulation",
    .fields = gre_fields,
    .nfields = F_COUNT,
    .hdr_len = GRE_HLEN,
    .dissect = gre_dissect,
    .finish = gre_finish,
    .details = gre_details,
    .summary = gre_summary,
    .locate = gre_locate,
    .place = gre_place,
};
