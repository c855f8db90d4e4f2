/* ipv6_frag.c - IPv6 Fragment header (RFC 8200 s4.5).
 *
 * Header (8 bytes): next header, a reserved octet, the fragment offset (13
 * bits, in 8-octet units), 2 reserved bits, the M (more fragments) flag and
 * a 32-bit identification.  Field names are Wireshark's (ipv6.fraghdr.*),
 * aliases Scapy's (nh, res1, offset, res2, m, id).
 *
 * Building: Scapy's IPv6ExtHdrFragment() defaults (all zero); the next
 * header is automatic.
 *
 * Dissecting: the header is always 8 bytes.  A fragment whose offset is 0
 * carries the start of the upper-layer packet, which is dissected (as
 * tcpdump does; its lengths may then run past the fragment); a later
 * fragment's payload is raw data.
 *
 * Summary (tcpdump -nn): "frag (OFFSET|LENGTH) " with the offset in bytes
 * and the length of the fragment's payload.
 */
#include "ipv6_opts.h"

/* Field indexes: the order of frag_fields. */
enum { F_NXT, F_RESERVED_OCTET, F_OFFSET, F_RESERVED_BITS, F_MORE, F_IDENT, F_COUNT };

static const struct umpa_field frag_fields[] = {
    [F_NXT] = UMPA_IPV6_NXT_FIELD_("ipv6.fraghdr.nxt", 0),
    [F_RESERVED_OCTET] = {.name = "reserved_octet",
			  .ws = "ipv6.fraghdr.reserved_octet",
			  .aliases = "res1",
			  .bitoff = 8,
			  .bits = 8,
			  .type = UMPA_FT_UINT,
			  .flags = UMPA_F_HEX,
			  .help = "reserved (0)"},
    [F_OFFSET] = {.name = "offset",
		  .ws = "ipv6.fraghdr.offset",
		  .bitoff = 16,
		  .bits = 13,
		  .type = UMPA_FT_UINT,
		  .help = "fragment offset in 8-octet units"},
    [F_RESERVED_BITS] = {.name = "reserved_bits",
			 .ws = "ipv6.fraghdr.reserved_bits",
			 .aliases = "res2",
			 .bitoff = 29,
			 .bits = 2,
			 .type = UMPA_FT_UINT,
			 .help = "reserved (0)"},
    [F_MORE] = {.name = "more",
		.ws = "ipv6.fraghdr.more",
		.aliases = "m,mf",
		.bitoff = 31,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.help = "more fragments follow"},
    [F_IDENT] = {.name = "ident",
		 .ws = "ipv6.fraghdr.ident",
		 .aliases = "id",
		 .bitoff = 32,
		 .bits = 32,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX,
		 .help = "identification"},
};
UMPA_FIELDS_CHECK(frag_fields, F_COUNT);

static const struct umpa_proto *frag_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t nxt;
	uint16_t offm;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &nxt) < 0 || umpa_cur_be16_at(&c, 2, &offm) < 0)
		return NULL;
	p->l[li].hlen = 8;
	if (offm >> 3)
		return NULL; /* not the first fragment: raw data */
	return umpa_proto_bound(UMPA_BIND_IPPROTO, nxt);
}

static int frag_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_field_auto_u64(p, li, &frag_fields[0], umpa_ipv6_auto_nxt_(p, li));
	return 0;
}

static void frag_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t offm;
	uint8_t nxt;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 2, &offm) < 0) {
		umpa_sbuf_puts(out, "frag [|frag6] ");
		return;
	}
	umpa_sbuf_puts(out, "frag (");
	umpa_sbuf_put_u64(out, (uint64_t)(offm >> 3) * 8);
	umpa_sbuf_putc(out, '|');
	umpa_sbuf_put_u64(out, l->len > l->hlen ? l->len - l->hlen : 0);
	umpa_sbuf_puts(out, ") ");
	if ((offm >> 3) == 0 && umpa_cur_u8_at(&c, 0, &nxt) == 0)
		umpa_ipv6_tail_(p, li, nxt, out); /* a later fragment's data is just data */
}

const struct umpa_proto umpa_proto_ipv6_frag = {
    .name = "ipv6_frag",
    .aliases = "ipv6.fraghdr,fraghdr,frag6,IPv6ExtHdrFragment",
    .title = "Fragment Header for IPv6",
    .fields = frag_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_NETEXT,
    .hdr_len = 8,
    .dissect = frag_dissect,
    .finish = frag_finish,
    .summary = frag_summary,
};
