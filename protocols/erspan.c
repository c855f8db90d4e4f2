/* erspan.c - Encapsulated Remote Switch Port Analyzer, types I, II and III (draft-foschiano-erspan-03).
 *
 * ERSPAN rides in GRE: protocol type 0x88be carries type I (no ERSPAN header:
 * the GRE header has no sequence number, and the mirrored Ethernet frame
 * follows at once) or type II (the GRE sequence number is present; an 8-byte
 * header, version 1), 0x22eb carries type III (a 12-byte header, version 2,
 * and with the O bit an 8-byte platform-specific subheader).
 *
 * Type II: version (4 bits), VLAN (12), class of service (3), encapsulation
 * type (2), truncated (1), session id (10), reserved (12), index (20).
 * Type III: version, VLAN, class of service, bad/short/oversized (2, where
 * type II has the encapsulation type), truncated, session id, timestamp (32),
 * security group tag (16), P (1: Ethernet PDU), frame type (5), hardware id
 * (6), direction (1), timestamp granularity (2), O (1: subheader present);
 * the subheader starts with a 6-bit platform id.
 *
 * One table serves both versions: the locate hook shows each field in the
 * version whose header holds it (erspan.encap in version 1, erspan.bso and
 * the rest of type III in version 2), and none in a type I "header" (0 bytes).
 *
 * Building: erspan{} is type II (version 1, 8 bytes); erspan{version=2} or
 * setting a type III field (timestamp, sgt, ft...) makes type III (12 bytes;
 * o=1 adds the zeroed subheader).  The GRE layer before it gets protocol type
 * 0x88be or 0x22eb by the version (gre.c).  Type I is built as
 * gre{proto=0x88be}/ether{}...: umpa then dissects it as a 0-byte erspan layer,
 * as Wireshark shows it.
 *
 * Dissecting: an Ethernet frame follows (type III: when the frame type is 0,
 * else the bytes are kept).
 *
 * Summary: "ERSPAN type II, session 666, vlan 342: " then the mirrored frame
 * (tcpdump 4.99 has no ERSPAN printer and prints "gre-proto-0x88be").
 *
 * Names: Wireshark's erspan.* (erspan.spanid is the session id, erspan.o the
 * subheader flag, erspan.platid and erspan.pidN.* the subheader's fields).
 */
#include "proto_common.h"
#include "umpa_protos.h"

enum { ERSPAN2_HLEN = 8, ERSPAN3_HLEN = 12, ERSPAN3_SUB = 8, GRE_S_BIT = 0x1000 };

/* Field indexes: the order of erspan_fields. */
enum {
	F_VER,
	F_VLAN,
	F_COS,
	F_ENCAP,
	F_BSO,
	F_T,
	F_SPANID,
	F_RSV,
	F_INDEX,
	F_TS,
	F_SGT,
	F_P,
	F_FT,
	F_HW,
	F_DIR,
	F_GRA,
	F_O,
	F_PLATID,
	F_COUNT
};

static const struct umpa_vname erspan_ver_names[] = {{1, "type-II"}, {2, "type-III"}, {0, NULL}};

static const struct umpa_field erspan_fields[] = {
    [F_VER] = {.name = "version",
	       .ws = "erspan.version",
	       .aliases = "ver",
	       .bitoff = 0,
	       .bits = 4,
	       .type = UMPA_FT_ENUM,
	       .def = 1,
	       .names = erspan_ver_names,
	       .help = "1 type II, 2 type III (default 1)"},
    [F_VLAN] = {.name = "vlan",
		.ws = "erspan.vlan",
		.bitoff = 4,
		.bits = 12,
		.type = UMPA_FT_UINT,
		.help = "VLAN of the mirrored frame"},
    [F_COS] = {.name = "cos",
	       .ws = "erspan.cos",
	       .bitoff = 16,
	       .bits = 3,
	       .type = UMPA_FT_UINT,
	       .help = "class of service of the mirrored frame"},
    [F_ENCAP] = {.name = "encap",
		 .ws = "erspan.encap",
		 .aliases = "en",
		 .bitoff = 19,
		 .bits = 2,
		 .type = UMPA_FT_UINT,
		 .help = "type II: how the frame was tagged (0 none, 1 ISL, 2 802.1Q, 3 kept)"},
    [F_BSO] = {.name = "bso",
	       .ws = "erspan.bso",
	       .bitoff = 19,
	       .bits = 2,
	       .type = UMPA_FT_UINT,
	       .help = "type III: bad/short/oversized frame"},
    [F_T] = {.name = "truncated",
	     .ws = "erspan.truncated",
	     .aliases = "t",
	     .bitoff = 21,
	     .bits = 1,
	     .type = UMPA_FT_UINT,
	     .help = "the mirrored frame was truncated"},
    [F_SPANID] = {.name = "spanid",
		  .ws = "erspan.spanid",
		  .aliases = "session_id,session",
		  .bitoff = 22,
		  .bits = 10,
		  .type = UMPA_FT_UINT,
		  .help = "session id"},
    [F_RSV] = {.name = "reserved",
	       .ws = "erspan.reserved",
	       .bitoff = 32,
	       .bits = 12,
	       .type = UMPA_FT_UINT,
	       .help = "type II: reserved"},
    [F_INDEX] = {.name = "index",
		 .ws = "erspan.index",
		 .bitoff = 44,
		 .bits = 20,
		 .type = UMPA_FT_UINT,
		 .help = "type II: port index"},
    [F_TS] = {.name = "timestamp",
	      .ws = "erspan.timestamp",
	      .bitoff = 32,
	      .bits = 32,
	      .type = UMPA_FT_UINT,
	      .help = "type III: timestamp"},
    [F_SGT] = {.name = "sgt",
	       .ws = "erspan.sgt",
	       .bitoff = 64,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .help = "type III: security group tag"},
    [F_P] = {.name = "p",
	     .ws = "erspan.p",
	     .bitoff = 80,
	     .bits = 1,
	     .type = UMPA_FT_UINT,
	     .help = "type III: the payload is an Ethernet PDU (no FCS)"},
    [F_FT] = {.name = "ft",
	      .ws = "erspan.ft",
	      .aliases = "frame_type",
	      .bitoff = 81,
	      .bits = 5,
	      .type = UMPA_FT_UINT,
	      .help = "type III: frame type (0 Ethernet)"},
    [F_HW] = {.name = "hw",
	      .ws = "erspan.hw",
	      .aliases = "hwid",
	      .bitoff = 86,
	      .bits = 6,
	      .type = UMPA_FT_UINT,
	      .help = "type III: hardware id"},
    [F_DIR] = {.name = "direction",
	       .ws = "erspan.direction",
	       .aliases = "d",
	       .bitoff = 92,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "type III: 0 ingress, 1 egress"},
    [F_GRA] = {.name = "gra",
	       .ws = "erspan.gra",
	       .bitoff = 93,
	       .bits = 2,
	       .type = UMPA_FT_UINT,
	       .help = "type III: timestamp granularity"},
    [F_O] = {.name = "o",
	     .ws = "erspan.o",
	     .bitoff = 95,
	     .bits = 1,
	     .type = UMPA_FT_UINT,
	     .help = "type III: platform-specific subheader present (setting platid sets it)"},
    [F_PLATID] = {.name = "platid",
		  .ws = "erspan.platid",
		  .bitoff = 96,
		  .bits = 6,
		  .type = UMPA_FT_UINT,
		  .help = "type III subheader: platform id"},
};
UMPA_FIELDS_CHECK(erspan_fields, F_COUNT);

/* The version nibble of layer @li (0 when cut). */
static unsigned erspan_version(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t b = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &b);
	return b >> 4;
}

static int erspan_has_sub(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t b = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 11, &b);
	return b & 1;
}

static long erspan_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	unsigned ver;

	if (p->l[li].hlen == 0)
		return -1; /* type I: no header */
	ver = erspan_version(p, li);
	switch (f - erspan_fields) {
	case F_ENCAP:
	case F_RSV:
	case F_INDEX:
		return ver == 2 ? -1 : (long)f->bitoff;
	case F_BSO:
	case F_TS:
	case F_SGT:
	case F_P:
	case F_FT:
	case F_HW:
	case F_DIR:
	case F_GRA:
	case F_O:
		return ver == 2 ? (long)f->bitoff : -1;
	case F_PLATID: /* shown when the whole subheader is there, as Wireshark does */
		return ver == 2 && erspan_has_sub(p, li) && p->l[li].len >= ERSPAN3_HLEN + ERSPAN3_SUB ? (long)f->bitoff
												       : -1;
	}
	return f->bitoff;
}

/* Building: turn a type II header into type III (version 2, 12 bytes), or add the subheader. */
static int erspan_place(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	int rc;

	switch (f - erspan_fields) {
	case F_ENCAP:
	case F_RSV:
	case F_INDEX:
		return umpa_err_set(e, UMPA_EINVAL, "%s is a type II field (this header is version 2)", f->ws);
	case F_PLATID:
		if (erspan_version(p, li) != 2 && (rc = erspan_place(p, li, &erspan_fields[F_O], e)) < 0)
			return rc;
		if (p->l[li].hlen < ERSPAN3_HLEN + ERSPAN3_SUB &&
		    (rc = umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, ERSPAN3_HLEN + ERSPAN3_SUB - p->l[li].hlen,
					  e)) < 0)
			return rc;
		umpa_field_auto_u64(p, li, &erspan_fields[F_O], 1);
		return 0;
	default:
		break;
	}
	/* a type III field: version 2, and 12 bytes (what was reserved/index becomes the timestamp) */
	if (umpa_field_is_set(p, li, &erspan_fields[F_VER]))
		return umpa_err_set(e, UMPA_EINVAL, "%s is a type III field (this header was set to version %u)", f->ws,
				    erspan_version(p, li));
	if (p->l[li].hlen < ERSPAN3_HLEN &&
	    (rc = umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, ERSPAN3_HLEN - p->l[li].hlen, e)) < 0)
		return rc;
	umpa_field_auto_u64(p, li, &erspan_fields[F_VER], 2);
	return 0;
}

static const struct umpa_proto *erspan_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t gfv = 0, gtype = 0;
	uint8_t b;

	/* type I: GRE type 0x88be without a sequence number: no header at all */
	if (li > 0 && p->l[li - 1].proto == &umpa_proto_gre) {
		umpa_layer_cur(p, li - 1, &c);
		umpa_cur_be16_at(&c, 0, &gfv);
		umpa_cur_be16_at(&c, 2, &gtype);
		if (gtype == 0x88be && !(gfv & GRE_S_BIT)) {
			l->hlen = 0;
			return &umpa_proto_eth;
		}
	}
	umpa_layer_cur(p, li, &c);
	if (erspan_version(p, li) != 2) {
		l->hlen = ERSPAN2_HLEN;
		return &umpa_proto_eth;
	}
	l->hlen = ERSPAN3_HLEN;
	if (umpa_cur_u8_at(&c, 11, &b) < 0)
		return NULL; /* the driver marks the cut header */
	if (b & 1)
		l->hlen += ERSPAN3_SUB;
	if (l->hlen > l->len)
		return NULL;
	umpa_cur_u8_at(&c, 10, &b);
	return (b & 0x7c) == 0 ? &umpa_proto_eth : NULL;
}

static int erspan_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	int rc;

	/* version 2 set by hand on an 8-byte header: the type III room */
	if (erspan_version(p, li) == 2) {
		unsigned need = ERSPAN3_HLEN + (erspan_has_sub(p, li) ? ERSPAN3_SUB : 0);
		if (p->l[li].hlen < need &&
		    (rc = umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, need - p->l[li].hlen, e)) < 0)
			return rc;
	}
	return 0;
}

/* Type III subheader: Wireshark's erspan.pidN.* fields by platform id. */
static void erspan_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct umpa_cur c;
	uint32_t w1, w2;
	unsigned id;

	if (erspan_locate(p, li, &erspan_fields[F_PLATID]) < 0 || p->l[li].hlen < ERSPAN3_HLEN + ERSPAN3_SUB)
		return;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be32_at(&c, 12, &w1) < 0 || umpa_cur_be32_at(&c, 16, &w2) < 0)
		return;
	id = w1 >> 26;
	switch (id) {
	case 1:
		umpa_emit_u64(em, "erspan.pid1.rsvd1", (w1 & 0x03fff000) >> 12, NULL);
		umpa_emit_u64(em, "erspan.pid1.vsmid", w1 & 0xfff, NULL);
		umpa_emit_u64(em, "erspan.pid1.port_index", w2, NULL);
		break;
	case 3:
		umpa_emit_u64(em, "erspan.pid3.rsvd1", (w1 & 0x03ffc000) >> 14, NULL);
		umpa_emit_u64(em, "erspan.pid3.port_index", w1 & 0x3fff, NULL);
		umpa_emit_u64(em, "erspan.pid3.timestamp", w2, NULL);
		break;
	case 4:
		umpa_emit_u64(em, "erspan.pid4.rsvd1", (w1 & 0x03ffc000) >> 14, NULL);
		umpa_emit_u64(em, "erspan.pid4.rsvd2", w1 & 0x3fff, NULL);
		umpa_emit_u64(em, "erspan.pid4.rsvd3", w2, NULL);
		break;
	case 5:
	case 6:
		umpa_emit_u64(em, "erspan.pid5.switchid", (w1 & 0x03ff0000) >> 16, NULL);
		umpa_emit_u64(em, "erspan.pid5.port_index", w1 & 0xffff, NULL);
		umpa_emit_u64(em, "erspan.pid5.timestamp", w2, NULL);
		break;
	case 7:
		umpa_emit_u64(em, "erspan.pid7.rsvd1", (w1 & 0x03f00000) >> 20, NULL);
		umpa_emit_u64(em, "erspan.pid7.source_index", w1 & 0xfffff, NULL);
		umpa_emit_u64(em, "erspan.pid7.timestamp", w2, NULL);
		break;
	default:
		break;
	}
}

static void erspan_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t w0, w1;
	unsigned ver;

	if (l->hlen == 0) {
		umpa_sbuf_puts(out, "ERSPAN type I: ");
		return;
	}
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &w0) < 0 || umpa_cur_be16_at(&c, 2, &w1) < 0) {
		umpa_sbuf_puts(out, "ERSPAN");
		return;
	}
	ver = w0 >> 12;
	umpa_sbuf_puts(out, ver == 1 ? "ERSPAN type II" : ver == 2 ? "ERSPAN type III" : "ERSPAN");
	umpa_sbuf_printf(out, ", session %u, vlan %u", w1 & 0x3ff, w0 & 0xfff);
	if (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		umpa_sbuf_puts(out, ": ");
	else
		umpa_sbuf_printf(out, ", length %u", l->len >= l->hlen ? l->len - l->hlen : 0);
}

const struct umpa_proto umpa_proto_erspan = {
    .name = "erspan",
    .title = "Encapsulated Remote Switch Packet ANalysis",
    .fields = erspan_fields,
    .nfields = F_COUNT,
    .hdr_len = ERSPAN2_HLEN,
    .dissect = erspan_dissect,
    .finish = erspan_finish,
    .details = erspan_details,
    .summary = erspan_summary,
    .locate = erspan_locate,
    .place = erspan_place,
};
