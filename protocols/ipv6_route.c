/* ipv6_route.c - IPv6 Routing header (RFC 8200 s4.4; type 0 RFC 5095, type 2 RFC 6275, SRH RFC 8754).
 *
 * Header: next header, length (8-octet units, not counting the first 8),
 * routing type, segments left, then type-specific data:
 *   type 0 (source route) and 2 (Mobile IPv6): 4 reserved bytes, addresses;
 *   type 4 (segment routing): last entry, flags, tag, then the segment list
 *     (segment 0 first: the last segment of the path), then TLVs;
 *   other types (RPL, compact routing...): shown as raw type-specific data.
 *
 * The address list is the VAR field "addrs": a spec of IPv6 addresses
 * separated by ',' (e.g. "2001:db8::1,2001:db8::2"), written at offset 8 in
 * wire order whatever the type (for SRH: segment list[0] first); it replaces
 * whatever followed the first 8 bytes (SRH TLVs included).  An empty spec
 * removes the addresses.
 *
 * Building: defaults are Scapy's IPv6ExtHdrRouting() (type 0, all zero).
 * nxt and len are automatic; segleft is automatic for types 0 and 2 (the
 * address count) and 4 (address count - 1), and so is SRH's last entry
 * (address count - 1).
 *
 * Dissecting: the length bounds the header (a longer one than the window is
 * short).  Types 0 and 2 need an even length (whole addresses) and segments
 * left no larger than the address count; an SRH's last entry must fit the
 * header: otherwise the layer is INVALID (and still dissected onwards).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipv6_opts.h"

enum { RT_SRC = 0, RT_MIPV6 = 2, RT_RPL = 3, RT_SRH = 4, RT_MAXLEN = 2048, RT_MAXADDR = (RT_MAXLEN - 8) / 16 };

static const struct umpa_vname rt_type_names[] = {
    {0, "source-route"}, {1, "nimrod"}, {2, "type2"},           {3, "rpl"}, {4, "srh"}, {5, "crh16"}, {6, "crh32"},
    {0, "rt0"},          {2, "mipv6"},  {4, "segment-routing"}, {0, NULL},
};

/* Field indexes: the order of rt_fields. */
enum { F_NXT, F_LEN, F_TYPE, F_SEGLEFT, F_RESERVED, F_LAST, F_FLAGS, F_TAG, F_ADDRS, F_COUNT };

static const struct umpa_field rt_fields[] = {
    [F_NXT] = UMPA_IPV6_NXT_FIELD_("ipv6.routing.nxt", 0),
    [F_LEN] = UMPA_IPV6_EXT_LEN_FIELD_("ipv6.routing.len"),
    [F_TYPE] = {.name = "type",
		.ws = "ipv6.routing.type",
		.bitoff = 16,
		.bits = 8,
		.type = UMPA_FT_ENUM,
		.names = rt_type_names,
		.help = "routing type (0 source route, 2 mobile IPv6, 3 RPL, 4 SRH)"},
    [F_SEGLEFT] = {.name = "segleft",
		   .ws = "ipv6.routing.segleft",
		   .bitoff = 24,
		   .bits = 8,
		   .type = UMPA_FT_UINT,
		   .flags = UMPA_F_AUTO,
		   .help = "segments left (automatic for types 0, 2 and 4)"},
    [F_RESERVED] = {.name = "src.reserved",
		    .ws = "ipv6.routing.src.reserved",
		    .aliases = "reserved",
		    .bitoff = 32,
		    .bits = 32,
		    .type = UMPA_FT_BYTES,
		    .flags = UMPA_F_HIDDEN,
		    .help = "reserved (types 0 and 2)"},
    [F_LAST] = {.name = "srh.last_entry",
		.ws = "ipv6.routing.srh.last_entry",
		.aliases = "lastentry,last_entry",
		.bitoff = 32,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HIDDEN,
		.help = "SRH: index of the last segment (automatic)"},
    [F_FLAGS] = {.name = "srh.flags",
		 .ws = "ipv6.routing.srh.flags",
		 .bitoff = 40,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX | UMPA_F_HIDDEN,
		 .help = "SRH: flags"},
    [F_TAG] = {.name = "srh.tag",
	       .ws = "ipv6.routing.srh.tag",
	       .aliases = "tag",
	       .bitoff = 48,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX | UMPA_F_HIDDEN,
	       .help = "SRH: tag"},
    [F_ADDRS] = {.name = "addrs",
		 .ws = "ipv6.routing.src.addr",
		 .aliases = "addresses,segments",
		 .bitoff = 64,
		 .bits = 0,
		 .type = UMPA_FT_VAR,
		 .help = "addresses (SRH: segment list) from offset 8: IPv6 addresses separated by ','"},
};
UMPA_FIELDS_CHECK(rt_fields, F_COUNT);

struct rt {
	uint8_t nxt, len, type, segleft;
	uint32_t hlen;    /* declared header length */
	uint32_t present; /* header bytes present: min(hlen, window) */
	struct umpa_cur c;
};

static int rt_read(const struct umpa_pkt *p, unsigned li, struct rt *r)
{
	umpa_layer_cur(p, li, &r->c);
	if (umpa_cur_u8_at(&r->c, 0, &r->nxt) < 0 || umpa_cur_u8_at(&r->c, 1, &r->len) < 0 ||
	    umpa_cur_u8_at(&r->c, 2, &r->type) < 0 || umpa_cur_u8_at(&r->c, 3, &r->segleft) < 0)
		return -1;
	r->hlen = 8u * (r->len + 1u);
	r->present = r->hlen < r->c.len ? r->hlen : (uint32_t)r->c.len;
	if (p->l[li].hlen < r->present)
		r->present = p->l[li].hlen;
	return 0;
}

static const struct umpa_proto *rt_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct rt r;
	uint8_t le;

	if (rt_read(p, li, &r) < 0)
		return NULL;
	l->hlen = r.hlen;
	if (r.hlen > l->len) {
		umpa_layer_short(p, li, "routing header longer than the bytes present");
		return NULL;
	}
	if (r.type == RT_SRC || r.type == RT_MIPV6) {
		if (r.len & 1) {
			l->flags |= UMPA_L_INVALID;
			l->why = "routing header length is not a whole number of addresses";
		} else if (r.segleft > r.len / 2) {
			l->flags |= UMPA_L_INVALID;
			l->why = "segments left exceeds the address count";
		}
	} else if (r.type == RT_SRH && umpa_cur_u8_at(&r.c, 4, &le) == 0 && 8u + 16u * (le + 1u) > r.hlen) {
		l->flags |= UMPA_L_INVALID;
		l->why = "segment routing last entry beyond the header";
	}
	return umpa_proto_bound(UMPA_BIND_IPPROTO, r.nxt);
}

static int rt_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	const struct umpa_layer *l = &p->l[li];
	uint32_t n = l->hlen > 8 ? (l->hlen - 8) / 16 : 0;
	uint64_t type = 0;

	(void)e;
	umpa_field_auto_u64(p, li, &rt_fields[F_NXT], umpa_ipv6_auto_nxt_(p, li));
	umpa_field_auto_u64(p, li, &rt_fields[F_LEN], l->hlen >= 8 ? (l->hlen + 7) / 8 - 1 : 0);
	if (umpa_field_get_u64(p, li, &rt_fields[F_TYPE], &type) < 0)
		return 0;
	if (type == RT_SRC || type == RT_MIPV6) {
		umpa_field_auto_u64(p, li, &rt_fields[F_SEGLEFT], n);
	} else if (type == RT_SRH && n > 0) {
		umpa_field_auto_u64(p, li, &rt_fields[F_SEGLEFT], n - 1);
		umpa_field_auto_u64(p, li, &rt_fields[F_LAST], n - 1);
	}
	return 0;
}

static int rt_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint8_t b[RT_MAXADDR * 16];
	char item[128];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), ks, vs;
	int hasval;

	(void)f;
	if (l->hlen < 8)
		return umpa_err_set(e, UMPA_EINVAL, "routing header too short for addresses");
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		if (hasval || umpa_span_cstr(ks, item, sizeof(item)) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "addrs: '%s' is not a list of IPv6 addresses", spec);
		if (n + 16 > sizeof(b))
			return umpa_err_set(e, UMPA_ERANGE, "addrs: more than %d addresses", RT_MAXADDR);
		if (inet_pton(AF_INET6, item, b + n) != 1)
			return umpa_err_set(e, UMPA_EINVAL, "addrs: '%s' is not an IPv6 address", item);
		n += 16;
	}
	int rc = umpa_pkt_splice(p, li, 8, l->hlen - 8, b, (uint32_t)n, e);

	if (rc < 0)
		return rc;
	/* fill len and segments left now: finish runs innermost first, and the
	 * UDP/TCP/ICMPv6 checksum below needs the final destination (inet.c) */
	return rt_finish(p, li, e);
}

static void rt_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct rt r;
	const uint8_t *a;
	uint8_t v8;
	uint16_t v16;

	if (rt_read(p, li, &r) < 0)
		return;
	umpa_emit_u64(em, "ipv6.routing.len_oct", r.hlen, NULL);
	r.c.len = r.present;
	switch (r.type) {
	case RT_SRC:
	case RT_MIPV6:
		if (umpa_cur_ptr_at(&r.c, 4, 4, &a) == 0)
			umpa_emit_bytes(
			    em, r.type == RT_SRC ? "ipv6.routing.src.reserved" : "ipv6.routing.mipv6.reserved", a, 4);
		for (uint32_t off = 8; umpa_cur_ptr_at(&r.c, off, 16, &a) == 0; off += 16)
			umpa_emit_ipv6(
			    em, r.type == RT_SRC ? "ipv6.routing.src.addr" : "ipv6.routing.mipv6.home_address", a);
		break;
	case RT_SRH:
		if (umpa_cur_u8_at(&r.c, 4, &v8) < 0)
			break;
		umpa_emit_u64(em, "ipv6.routing.srh.last_entry", v8, NULL);
		if (umpa_cur_u8_at(&r.c, 5, &v8) == 0)
			umpa_emit_hex(em, "ipv6.routing.srh.flags", v8, 2);
		if (umpa_cur_be16_at(&r.c, 6, &v16) == 0)
			umpa_emit_hex(em, "ipv6.routing.srh.tag", v16, 4);
		if (umpa_cur_u8_at(&r.c, 4, &v8) == 0)
			for (uint32_t i = 0; i <= v8 && umpa_cur_ptr_at(&r.c, 8 + 16 * i, 16, &a) == 0; i++)
				umpa_emit_ipv6(em, "ipv6.routing.srh.addr", a);
		break;
	default:
		if (r.present > 4 && umpa_cur_ptr_at(&r.c, 4, r.present - 4, &a) == 0)
			umpa_emit_bytes(em, "ipv6.routing.unknown_data", a, r.present - 4);
		break;
	}
}

/* tcpdump -nn: "RT6 (len=2, type=0 [Deprecated], segleft=1, [0]2001:db8::5) " */
static void rt_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct rt r;
	const uint8_t *a;
	uint8_t le;
	uint16_t tag;
	uint32_t n = 0;

	if (rt_read(p, li, &r) < 0) {
		umpa_sbuf_puts(out, "RT6 [|rt6] ");
		return;
	}
	r.c.len = r.present;
	umpa_sbuf_puts(out, "RT6 (len=");
	umpa_sbuf_put_u64(out, r.len);
	umpa_sbuf_puts(out, ", type=");
	umpa_sbuf_put_u64(out, r.type);
	if (r.type == RT_SRC)
		umpa_sbuf_puts(out, " [Deprecated]");
	umpa_sbuf_puts(out, ", segleft=");
	umpa_sbuf_put_u64(out, r.segleft);
	if (r.type == RT_SRC || r.type == RT_MIPV6) {
		n = r.hlen > 8 ? (r.hlen - 8) / 16 : 0;
	} else if (r.type == RT_SRH && umpa_cur_u8_at(&r.c, 4, &le) == 0 && umpa_cur_be16_at(&r.c, 6, &tag) == 0) {
		umpa_sbuf_puts(out, ", last-entry=");
		umpa_sbuf_put_u64(out, le);
		umpa_sbuf_puts(out, ", tag=");
		umpa_sbuf_printf(out, "%x", tag);
		n = le + 1u;
	}
	for (uint32_t i = 0; i < n && umpa_cur_ptr_at(&r.c, 8 + 16 * i, 16, &a) == 0; i++) {
		umpa_sbuf_puts(out, ", [");
		umpa_sbuf_put_u64(out, i);
		umpa_sbuf_putc(out, ']');
		umpa_sbuf_put_ipv6(out, a);
	}
	umpa_sbuf_puts(out, ") ");
	umpa_ipv6_tail_(p, li, r.nxt, out);
}

const struct umpa_proto umpa_proto_ipv6_route = {
    .name = "ipv6_route",
    .aliases = "ipv6.routing,routing,rt6,IPv6ExtHdrRouting",
    .title = "Routing Header for IPv6",
    .fields = rt_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_NETEXT,
    .hdr_len = 8,
    .dissect = rt_dissect,
    .finish = rt_finish,
    .set_var = rt_set_var,
    .details = rt_details,
    .summary = rt_summary,
};
