/* geneve.c - Generic Network Virtualization Encapsulation (RFC 8926).
 *
 * Header (8 bytes after UDP port 6081): version (2 bits), options length (6
 * bits, in 4-byte words), O (OAM) and C (critical options present) flags and
 * 6 reserved bits, protocol type (an Ethernet type: 0x6558 an Ethernet frame,
 * 0x0800 IPv4, 0x86dd IPv6), VNI (24 bits), reserved (8).  Then the options,
 * each: class (16 bits), type (8; its top bit: critical), 3 reserved bits,
 * length (5 bits, in 4-byte words, after the 4-byte option header), data.
 *
 * Building: everything 0 (Scapy's GENEVE() bytes) but the protocol type,
 * which is automatic from the next layer (ether{} gives 0x6558), and the
 * options length, automatic from the options.  Options are a spec, one item
 * per option: CLASS.TYPE=HEXDATA (data padded with zeros to a multiple of 4
 * bytes; no data: a 4-byte option), e.g.
 * geneve{options="0x0132.0x03=0000000000001234, 0x0000.0x80"}.
 *
 * Dissecting: what follows by the protocol type (GRE's table, then Ethernet
 * types).  Options past the header's end or with a length past the options
 * mark the layer invalid; the options are never read past.
 *
 * Summary (tcpdump -nn): "Geneve, Flags [C], vni 0xa, options [8 bytes]: "
 * then the inner packet.
 *
 * Names: Wireshark's geneve.* (geneve.option.length is in bytes, as
 * Wireshark shows it: the header's options length and each option's whole
 * length; the raw 6-bit word count is the hidden field optlen); each option
 * is one "geneve.option" group with geneve.option.class, .type,
 * .type.critical, .flags, .flags.reserved, .length and
 * geneve.option.unknown.data, or for Google Cloud's class 0x0132 Wireshark's
 * geneve.option.gcp.vnid, .direction, .reserved (type 1), .endpoint (type
 * 2) and .profile (type 3).
 */
#include <string.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum { GENEVE_HLEN = 8, GENEVE_OPTS_MAX = 63 * 4, GENEVE_CLASS_GCP = 0x0132 };

/* Field indexes: the order of geneve_fields. */
enum { F_VER, F_OPTLEN, F_FLAGS, F_OAM, F_CRIT, F_RSVF, F_PROTO, F_VNI, F_RSV, F_OPTIONS, F_COUNT };

static const struct umpa_field geneve_fields[] = {
    [F_VER] = {.name = "version",
	       .ws = "geneve.version",
	       .aliases = "ver",
	       .bitoff = 0,
	       .bits = 2,
	       .type = UMPA_FT_UINT,
	       .help = "version (0)"},
    [F_OPTLEN] = {.name = "optlen",
		  .ws = "geneve.optlen",
		  .bitoff = 2,
		  .bits = 6,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_AUTO | UMPA_F_HIDDEN,
		  .help = "options length in 4-byte words (automatic; shown as geneve.option.length in bytes)"},
    [F_FLAGS] = {.name = "flags",
		 .ws = "geneve.flags",
		 .bitoff = 8,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX,
		 .help = "flags: 0x80 O (OAM), 0x40 C (critical options present)"},
    [F_OAM] = {.name = "flags.oam",
	       .ws = "geneve.flags.oam",
	       .aliases = "oam,o",
	       .bitoff = 8,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "OAM frame"},
    [F_CRIT] = {.name = "flags.critical",
		.ws = "geneve.flags.critical",
		.aliases = "critical,c",
		.bitoff = 9,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.help = "critical options present"},
    [F_RSVF] = {.name = "flags.reserved",
		.ws = "geneve.flags.reserved",
		.bitoff = 10,
		.bits = 6,
		.type = UMPA_FT_BOOL,
		.help = "reserved flag bits (shown as Wireshark does: true when any is set)"},
    [F_PROTO] = {.name = "proto_type",
		 .ws = "geneve.proto_type",
		 .aliases = "proto,type",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_AUTO | UMPA_F_HEX,
		 .names = umpa_ethertype_names,
		 .help = "protocol type of the payload (automatic from the next layer; ether 0x6558)"},
    [F_VNI] = {.name = "vni",
	       .ws = "geneve.vni",
	       .bitoff = 32,
	       .bits = 24,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX,
	       .help = "virtual network identifier, 0..16777215"},
    [F_RSV] = {.name = "reserved",
	       .ws = "geneve.reserved",
	       .aliases = "reserved2",
	       .bitoff = 56,
	       .bits = 8,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX,
	       .help = "reserved (0)"},
    [F_OPTIONS] = {.name = "options",
		   .ws = "geneve.options",
		   .bitoff = 64,
		   .type = UMPA_FT_VAR,
		   .help = "options: CLASS.TYPE=HEXDATA,... (data padded to 4 bytes)"},
};
UMPA_FIELDS_CHECK(geneve_fields, F_COUNT);

static const struct umpa_proto *geneve_next(uint16_t type)
{
	const struct umpa_proto *pr = umpa_proto_bound(UMPA_BIND_GREPROTO, type);

	return pr ? pr : umpa_proto_bound(UMPA_BIND_ETHERTYPE, type);
}

static const struct umpa_proto *geneve_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint8_t b;
	uint16_t type;
	uint32_t at;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &b) < 0 || umpa_cur_be16_at(&c, 2, &type) < 0)
		return NULL;
	l->hlen = GENEVE_HLEN + 4u * (b & 0x3f);
	if (l->hlen > l->len)
		return NULL;                    /* the driver marks it */
	for (at = GENEVE_HLEN; at < l->hlen;) { /* options must tile the options length */
		uint8_t ol;
		if (at + 4 > l->hlen || umpa_cur_u8_at(&c, at + 3, &ol) < 0 || at + 4 + 4u * (ol & 0x1f) > l->hlen) {
			l->flags |= UMPA_L_INVALID;
			l->why = "option length past the options";
			return NULL;
		}
		at += 4 + 4u * (ol & 0x1f);
	}
	return (b >> 6) == 0 ? geneve_next(type) : NULL;
}

static int geneve_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	uint32_t v;

	(void)e;
	umpa_field_auto_u64(p, li, &geneve_fields[F_OPTLEN], (p->l[li].hlen - GENEVE_HLEN) / 4);
	if (li + 1 < p->nlayers && (umpa_proto_bind_value(UMPA_BIND_GREPROTO, p->l[li + 1].proto, &v) == 0 ||
				    umpa_proto_bind_value(UMPA_BIND_ETHERTYPE, p->l[li + 1].proto, &v) == 0))
		umpa_field_auto_u64(p, li, &geneve_fields[F_PROTO], v);
	return 0;
}

static int geneve_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			  struct umpa_err *e)
{
	uint8_t b[GENEVE_OPTS_MAX];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), ks, vs, cls, typ;
	int hasval;

	(void)f;
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		uint64_t c, t;
		uint8_t data[GENEVE_OPTS_MAX];
		long dn = 0;
		size_t words;

		if (!umpa_span_cut(ks, ".", &cls, &typ) || umpa_spec_num(cls, 0xffff, &c) < 0 ||
		    umpa_spec_num(typ, 0xff, &t) < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "geneve.options: '%.*s': want CLASS.TYPE=HEXDATA (0x0132.3=00001234)",
					    (int)ks.n, ks.s);
		if (hasval && (dn = umpa_spec_hex(vs, data, sizeof data)) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "geneve.options: '%.*s' is not hex bytes", (int)vs.n, vs.s);
		words = ((size_t)dn + 3) / 4;
		if (words > 31 || n + 4 + 4 * words > sizeof b)
			return umpa_err_set(e, UMPA_ERANGE,
					    "geneve.options: more than %d bytes of options (or 124 in one)",
					    GENEVE_OPTS_MAX);
		b[n++] = (uint8_t)(c >> 8);
		b[n++] = (uint8_t)c;
		b[n++] = (uint8_t)t;
		b[n++] = (uint8_t)words;
		memset(b + n, 0, 4 * words);
		memcpy(b + n, data, (size_t)dn);
		n += 4 * words;
	}
	return umpa_pkt_splice(p, li, GENEVE_HLEN, p->l[li].hlen - GENEVE_HLEN, b, (uint32_t)n, e);
}

/* An option's data (@n bytes at @at of @c): Google Cloud's class 0x0132 as Wireshark decodes it, anything else as
 * bytes. */
static void geneve_option_data(struct umpa_emit *em, uint16_t cls, uint8_t type, struct umpa_cur *c, uint32_t at,
			       uint32_t n)
{
	const uint8_t *d;
	uint32_t w, hi;

	if (cls == GENEVE_CLASS_GCP && (type & 0x7f) == 1 && n == 4 && umpa_cur_be32_at(c, at, &w) == 0) {
		umpa_emit_u64(em, "geneve.option.gcp.vnid", w >> 4, NULL);
		umpa_emit_bool(em, "geneve.option.gcp.direction", w & 1);
		umpa_emit_bool(em, "geneve.option.gcp.reserved", (w & 0xe) != 0);
	} else if (cls == GENEVE_CLASS_GCP && (type & 0x7f) == 2 && n == 16 && umpa_cur_ptr_at(c, at, n, &d) == 0) {
		umpa_emit_bytes(em, "geneve.option.gcp.endpoint", d, n);
	} else if (cls == GENEVE_CLASS_GCP && (type & 0x7f) == 3 && n == 8 && umpa_cur_be32_at(c, at, &hi) == 0 &&
		   umpa_cur_be32_at(c, at + 4, &w) == 0) {
		umpa_emit_u64(em, "geneve.option.gcp.profile", (uint64_t)hi << 32 | w, NULL);
	} else if (umpa_cur_ptr_at(c, at, n, &d) == 0) {
		umpa_emit_bytes(em, "geneve.option.unknown.data", d, n);
	}
}

static void geneve_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *d;
	uint8_t b;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &b) < 0)
		return;
	umpa_emit_u64(em, "geneve.option.length", 4u * (b & 0x3f), NULL);
	if (l->hlen <= GENEVE_HLEN)
		return;
	if (umpa_cur_ptr_at(&c, GENEVE_HLEN, l->hlen - GENEVE_HLEN, &d) == 0)
		umpa_emit_bytes(em, "geneve.options", d, l->hlen - GENEVE_HLEN);
	for (uint32_t at = GENEVE_HLEN; at + 4 <= l->hlen;) {
		uint16_t cls;
		uint8_t t, fl;
		uint32_t olen;
		if (umpa_cur_be16_at(&c, at, &cls) < 0 || umpa_cur_u8_at(&c, at + 2, &t) < 0 ||
		    umpa_cur_u8_at(&c, at + 3, &fl) < 0)
			break;
		olen = 4 + 4u * (fl & 0x1f);
		if (at + olen > l->hlen)
			break;
		umpa_emit_open(em, "geneve.option", NULL);
		umpa_emit_hex(em, "geneve.option.class", cls, 4);
		umpa_emit_hex(em, "geneve.option.type", t, 2);
		umpa_emit_bool(em, "geneve.option.type.critical", t >> 7);
		umpa_emit_hex(em, "geneve.option.flags", fl & 0xe0, 2);
		umpa_emit_bool(em, "geneve.option.flags.reserved", (fl & 0xe0) != 0);
		umpa_emit_u64(em, "geneve.option.length", olen, NULL);
		if (olen > 4)
			geneve_option_data(em, cls, t, &c, at + 4, olen - 4);
		umpa_emit_close(em);
		at += olen;
	}
}

static void geneve_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t b0, fl;
	uint16_t type;
	uint32_t vni;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &b0) < 0 || umpa_cur_u8_at(&c, 1, &fl) < 0 || umpa_cur_be16_at(&c, 2, &type) < 0 ||
	    umpa_cur_be32_at(&c, 4, &vni) < 0) {
		umpa_sbuf_puts(out, "Geneve");
		return;
	}
	umpa_sbuf_puts(out, "Geneve, Flags [");
	if (!(fl & 0xc0))
		umpa_sbuf_puts(out, "none");
	else
		umpa_sbuf_printf(out, "%s%s%s", fl & 0x80 ? "O" : "",
				 fl & 0xc0 ? (fl & 0x80 && fl & 0x40 ? "," : "") : "", fl & 0x40 ? "C" : "");
	umpa_sbuf_printf(out, "], vni 0x%x", vni >> 8);
	if (b0 & 0x3f)
		umpa_sbuf_printf(out, ", options [%u bytes]", 4u * (b0 & 0x3f));
	if (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		umpa_sbuf_puts(out, ": ");
	else
		umpa_sbuf_printf(out, ", proto 0x%04x, length %u", type,
				 p->l[li].len >= p->l[li].hlen ? p->l[li].len - p->l[li].hlen : 0);
}

const struct umpa_proto umpa_proto_geneve = {
    .name = "geneve",
    .title = "Generic Network Virtualization Encapsulation",
    .fields = geneve_fields,
    .nfields = F_COUNT,
    .hdr_len = GENEVE_HLEN,
    .dissect = geneve_dissect,
    .finish = geneve_finish,
    .set_var = geneve_set_var,
    .details = geneve_details,
    .summary = geneve_summary,
};
