/* mpls.c - MPLS label stack entry (RFC 3032; traffic class: RFC 5462; MPLS in UDP: RFC 7510, in IP: RFC 4023).
 *
 * One layer per label stack entry (4 bytes): label (20 bits), traffic
 * class (3, formerly EXP), bottom of stack (1), TTL (8).  A stack is
 * mpls{label=16}/mpls{label=17}/ip{}, as Wireshark shows one mpls tree per
 * entry.  After Ethernet type 0x8847 (0x8848 multicast), GRE protocol type
 * 0x8847, UDP port 6635 and IP protocol 137.
 *
 * Building: Scapy's MPLS() defaults (label 3, tc 0, ttl 0); mpls.bottom is
 * automatic: 1 unless another label stack entry follows.
 *
 * Dissecting: after an entry without the bottom bit comes another entry;
 * after the bottom one, the first nibble says IPv4 (4) or IPv6 (6), as
 * tcpdump and Wireshark guess; anything else is kept as bytes.
 *
 * Summary (tcpdump -nn): "MPLS (label 16, tc 0, ttl 64) (label 17, tc 0, [S],
 * ttl 64) " then the payload.
 *
 * Names: Wireshark's mpls.label, mpls.exp, mpls.bottom, mpls.ttl; Scapy's
 * cos and s and RFC 5462's tc are aliases.
 */
#include "proto_common.h"
#include "umpa_protos.h"

enum { MPLS_HLEN = 4 };

/* Field indexes: the order of mpls_fields. */
enum { F_LABEL, F_EXP, F_BOTTOM, F_TTL, F_COUNT };

static const struct umpa_vname mpls_label_names[] = {
    {0, "ipv4-explicit-null"},
    {1, "router-alert"},
    {2, "ipv6-explicit-null"},
    {3, "implicit-null"},
    {7, "entropy-label-indicator"},
    {13, "gal"},
    {14, "oam-alert"},
    {15, "extension"},
    {0, NULL},
};

static const struct umpa_field mpls_fields[] = {
    [F_LABEL] = {.name = "label",
		 .ws = "mpls.label",
		 .bitoff = 0,
		 .bits = 20,
		 .type = UMPA_FT_ENUM,
		 .def = 3,
		 .names = mpls_label_names,
		 .help = "label, 0..1048575 (default 3, Scapy's)"},
    [F_EXP] = {.name = "exp",
	       .ws = "mpls.exp",
	       .aliases = "tc,cos",
	       .bitoff = 20,
	       .bits = 3,
	       .type = UMPA_FT_UINT,
	       .help = "traffic class (formerly experimental bits)"},
    [F_BOTTOM] = {.name = "bottom",
		  .ws = "mpls.bottom",
		  .aliases = "s",
		  .bitoff = 23,
		  .bits = 1,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_AUTO,
		  .help = "bottom of stack (automatic: 1 unless an mpls layer follows)"},
    [F_TTL] = {.name = "ttl", .ws = "mpls.ttl", .bitoff = 24, .bits = 8, .type = UMPA_FT_UINT, .help = "time to live"},
};
UMPA_FIELDS_CHECK(mpls_fields, F_COUNT);

static const struct umpa_proto *mpls_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint32_t e;
	uint8_t nib;

	umpa_layer_cur(p, li, &c);
	p->l[li].hlen = MPLS_HLEN;
	if (umpa_cur_be32_at(&c, 0, &e) < 0)
		return NULL;
	if (!(e & 0x100))
		return &umpa_proto_mpls;
	if (umpa_cur_u8_at(&c, MPLS_HLEN, &nib) < 0)
		return NULL;
	switch (nib >> 4) {
	case 4:
		return &umpa_proto_ip;
	case 6:
		return &umpa_proto_ipv6;
	}
	return NULL;
}

static int mpls_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_field_auto_u64(p, li, &mpls_fields[F_BOTTOM],
			    li + 1 < p->nlayers && p->l[li + 1].proto == &umpa_proto_mpls ? 0 : 1);
	return 0;
}

static void mpls_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint32_t e;

	umpa_layer_cur(p, li, &c);
	if (li == 0 || p->l[li - 1].proto != &umpa_proto_mpls)
		umpa_sbuf_puts(out, "MPLS");
	if (umpa_cur_be32_at(&c, 0, &e) < 0)
		return;
	umpa_sbuf_printf(out, " (label %u, tc %u, %sttl %u)", e >> 12, (e >> 9) & 7, e & 0x100 ? "[S], " : "",
			 e & 0xff);
	if (e & 0x100) {
		umpa_sbuf_putc(out, ' ');
		if (li + 1 >= p->nlayers || (p->l[li + 1].proto->pflags & UMPA_PF_RAW))
			umpa_sbuf_printf(out, "length %u", p->l[li].len - p->l[li].hlen);
	}
}

const struct umpa_proto umpa_proto_mpls = {
    .name = "mpls",
    .title = "MultiProtocol Label Switching Header",
    .fields = mpls_fields,
    .nfields = F_COUNT,
    .hdr_len = MPLS_HLEN,
    .dissect = mpls_dissect,
    .finish = mpls_finish,
    .summary = mpls_summary,
};
