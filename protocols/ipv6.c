/* ipv6.c - Internet Protocol version 6 (RFC 8200; jumbograms RFC 2675).
 *
 * Header (40 bytes): version, traffic class (DSCP + ECN), flow label,
 * payload length, next header, hop limit, source, destination.  Extension
 * headers are layers of their own (ipv6_hop.c, ipv6_route.c, ipv6_frag.c,
 * ipv6_dst.c).
 *
 * Building: defaults are Scapy's IPv6(): version 6, hop limit 64, ::1 to
 * ::1.  The payload length (plen) is the layer's window minus 40 (0 past
 * 65535: a jumbogram, whose length a hop-by-hop Jumbo Payload option
 * carries), and the next header (nxt) is the IPPROTO binding of the layer
 * that follows, or 59 (No Next Header) when nothing bound follows.  Both are
 * automatic and kept when set.
 *
 * Dissecting: a version other than 6 is invalid and ends dissection.  The
 * payload length bounds everything inside: the window shrinks to 40 + plen.
 * A payload length past the window is a short layer (truncated capture or a
 * lying length) unless the packet is quoted inside an ICMPv6 error.  A
 * payload length of 0 with a next header other than 59 keeps the window, as
 * Wireshark does: either a jumbogram (the hop-by-hop header that must follow
 * takes the length from its Jumbo Payload option) or a capture of a
 * segmentation-offloaded send.
 *
 * Summary (tcpdump -nn): "IP6 src > dst: ", or "IP6 src.sport > dst.dport: "
 * when the first layer after the extension headers has ports.  The extension
 * headers and the upper layer print their own parts after it.  When what
 * follows is a protocol umpa does not know, the last header prints
 * "ip-proto-N, length L" (as ip.c; or "no next header" for 59).  A packet
 * quoted in an ICMPv6 error starts with "; ".
 *
 * Matching (Scapy's IPv6.hashret/answers): a reply goes to the request's
 * source (or, for a multicast request, to the same group); the upper layers
 * then decide.  An ICMPv6 error answers the packet it quotes: the quoted
 * addresses and the first bytes of the quoted upper-layer header must be the
 * request's.  hashret mixes the next header, the xor of the addresses (left
 * out when the destination is multicast or the upper layer is neighbour
 * discovery, whose replies come from elsewhere) and the upper layer's
 * hashret; an error hashes as the packet it quotes.
 */
#include <stdio.h>
#include <string.h>

#include "ipv6_opts.h"
#include "proto_common.h"
#include "umpa_inet.h"
#include "umpa_protos.h"

enum { IP6_HLEN = 40, NXT_NONE = 59, NXT_HOP = 0, ICMP6_ERRMAX = 127 };

const struct umpa_vname umpa_ipv6_nxt_names_[] = {
    {0, "hopopts"},
    {1, "icmp"},
    {2, "igmp"},
    {4, "ipv4"},
    {6, "tcp"},
    {17, "udp"},
    {41, "ipv6"},
    {43, "routing"},
    {44, "fragment"},
    {47, "gre"},
    {50, "esp"},
    {51, "ah"},
    {58, "icmpv6"},
    {59, "none"},
    {60, "dstopts"},
    {89, "ospf"},
    {103, "pim"},
    {112, "vrrp"},
    {115, "l2tp"},
    {132, "sctp"},
    {135, "mobility"},
    {136, "udplite"},
    {139, "hip"},
    {140, "shim6"},
    {143, "ethernet"},
    /* more spellings accepted when parsing (the first name of a value is shown) */
    {0, "hop"},
    {4, "ip"},
    {43, "route"},
    {44, "frag"},
    {58, "ipv6-icmp"},
    {59, "nonxt"},
    {60, "dst"},
    {0, NULL},
};

static const struct umpa_vname ecn_names[] = {
    {0, "Not-ECT"}, {1, "ECT(1)"}, {2, "ECT(0)"}, {3, "CE"}, {0, NULL},
};

static const uint8_t ip6_loopback[16] = {[15] = 1};

/* Field indexes: the order of ipv6_fields. */
enum { F_VERSION, F_TCLASS, F_DSCP, F_ECN, F_FLOW, F_PLEN, F_NXT, F_HLIM, F_SRC, F_DST, F_COUNT };

static const struct umpa_field ipv6_fields[] = {
    [F_VERSION] = {.name = "version",
		   .ws = "ipv6.version",
		   .bitoff = 0,
		   .bits = 4,
		   .type = UMPA_FT_UINT,
		   .def = 6,
		   .help = "IP version (6)"},
    [F_TCLASS] = {.name = "tclass",
		  .ws = "ipv6.tclass",
		  .aliases = "tc",
		  .bitoff = 4,
		  .bits = 8,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_HEX,
		  .help = "traffic class (DSCP << 2 | ECN)"},
    [F_DSCP] = {.name = "tclass.dscp",
		.ws = "ipv6.tclass.dscp",
		.aliases = "dscp",
		.bitoff = 4,
		.bits = 6,
		.type = UMPA_FT_UINT,
		.help = "differentiated services codepoint (upper 6 bits of tclass)"},
    [F_ECN] = {.name = "tclass.ecn",
	       .ws = "ipv6.tclass.ecn",
	       .aliases = "ecn",
	       .bitoff = 10,
	       .bits = 2,
	       .type = UMPA_FT_ENUM,
	       .names = ecn_names,
	       .help = "explicit congestion notification (lower 2 bits of tclass)"},
    [F_FLOW] = {.name = "flow",
		.ws = "ipv6.flow",
		.aliases = "fl",
		.bitoff = 12,
		.bits = 20,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_HEX,
		.help = "flow label"},
    [F_PLEN] = {.name = "plen",
		.ws = "ipv6.plen",
		.bitoff = 32,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO,
		.help = "payload length: bytes after this header (automatic; 0 for a jumbogram)"},
    [F_NXT] = UMPA_IPV6_NXT_FIELD_("ipv6.nxt", 48),
    [F_HLIM] = {.name = "hlim",
		.ws = "ipv6.hlim",
		.bitoff = 56,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.def = 64,
		.help = "hop limit"},
    [F_SRC] = {.name = "src",
	       .ws = "ipv6.src",
	       .bitoff = 64,
	       .bits = 128,
	       .type = UMPA_FT_IPV6,
	       .defp = ip6_loopback,
	       .help = "source address"},
    [F_DST] = {.name = "dst",
	       .ws = "ipv6.dst",
	       .bitoff = 192,
	       .bits = 128,
	       .type = UMPA_FT_IPV6,
	       .defp = ip6_loopback,
	       .help = "destination address"},
};
UMPA_FIELDS_CHECK(ipv6_fields, F_COUNT);

/* ---- helpers shared with the extension headers (ipv6_opts.h) ---- */

int umpa_ipv6_upper_(const struct umpa_pkt *p, unsigned li)
{
	for (unsigned i = li + 1; i < p->nlayers; i++)
		if (!umpa_ipv6_is_ext_(p->l[i].proto))
			return (int)i;
	return -1;
}

uint32_t umpa_ipv6_auto_nxt_(const struct umpa_pkt *p, unsigned li)
{
	uint32_t v;

	if (umpa_next_bind_(p, li, UMPA_BIND_IPPROTO, &v) == 0)
		return v;
	return NXT_NONE;
}

static int upper_ports(const struct umpa_pkt *p, int ui, uint64_t *sport, uint64_t *dport);

void umpa_ipv6_tail_(const struct umpa_pkt *p, unsigned li, unsigned nxt, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	uint64_t sport, dport;

	/* after extension headers, tcpdump puts the ports here, not after the addresses:
	 * "IP6 a > b: HBH 41851 > 43913: Flags [P.]" */
	if ((l->proto->pflags & UMPA_PF_NETEXT) && upper_ports(p, (int)li + 1, &sport, &dport) == 0) {
		umpa_sbuf_put_u64(out, sport);
		umpa_sbuf_puts(out, " > ");
		umpa_sbuf_put_u64(out, dport);
		umpa_sbuf_puts(out, ": ");
	}
	if (l->flags & UMPA_L_TRUNCATED || umpa_proto_bound(UMPA_BIND_IPPROTO, nxt) ||
	    (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW)))
		return; /* a protocol umpa knows (cut short, or shown by its layer) */
	if (nxt == NXT_NONE) {
		umpa_sbuf_puts(out, "no next header");
		return;
	}
	umpa_sbuf_puts(out, "ip-proto-");
	umpa_sbuf_put_u64(out, nxt);
	umpa_sbuf_puts(out, ", length "); /* tcpdump: "ip-proto-N LEN"; this is ip.c's form */
	umpa_sbuf_put_u64(out, l->len > l->hlen ? l->len - l->hlen : 0);
}

/* ---- hooks ---- */

static const struct umpa_proto *ipv6_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint8_t vers, nxt;
	uint16_t plen;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &vers) < 0 || umpa_cur_be16_at(&c, 4, &plen) < 0 || umpa_cur_u8_at(&c, 6, &nxt) < 0)
		return NULL; /* core checked the 40 bytes; cannot happen */
	l->hlen = IP6_HLEN;
	if (vers >> 4 != 6) {
		l->flags |= UMPA_L_INVALID;
		l->why = "version is not 6";
		return NULL;
	}
	if (plen == 0 && nxt != NXT_NONE) {
		/* jumbogram or offloaded send: keep the window (see the top comment) */
	} else if ((uint32_t)plen + IP6_HLEN > l->len) {
		if (!(l->flags & UMPA_L_QUOTED))
			umpa_layer_short(p, li, "payload length beyond the bytes present");
	} else {
		l->len = (uint32_t)plen + IP6_HLEN;
	}
	return umpa_proto_bound(UMPA_BIND_IPPROTO, nxt);
}

static int ipv6_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	const struct umpa_layer *l = &p->l[li];
	uint32_t plen = l->len > IP6_HLEN ? l->len - IP6_HLEN : 0;

	(void)e;
	umpa_field_auto_u64(p, li, &ipv6_fields[F_PLEN], plen > 0xffff ? 0 : plen);
	umpa_field_auto_u64(p, li, &ipv6_fields[F_NXT], umpa_ipv6_auto_nxt_(p, li));
	return 0;
}

/* The ports of layer @ui when its protocol has them; 0 on success. */
static int upper_ports(const struct umpa_pkt *p, int ui, uint64_t *sport, uint64_t *dport)
{
	const struct umpa_proto *pr;

	if (ui < 0 || (unsigned)ui >= p->nlayers)
		return -1;
	pr = p->l[ui].proto;
	if (!(pr->pflags & UMPA_PF_PORTS) || pr->nfields < 2)
		return -1;
	if (umpa_field_get_u64(p, (unsigned)ui, &pr->fields[0], sport) < 0 ||
	    umpa_field_get_u64(p, (unsigned)ui, &pr->fields[1], dport) < 0)
		return -1;
	return 0;
}

static void ipv6_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	const uint8_t *a;
	uint8_t vers, nxt = NXT_NONE;
	uint64_t sport, dport;
	int ports;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &vers) < 0 || umpa_cur_ptr_at(&c, 8, 32, &a) < 0) {
		umpa_sbuf_puts(out, "IP6 [|ip6]");
		return;
	}
	if (vers >> 4 != 6) {
		umpa_sbuf_puts(out, "IP6 version error: ");
		umpa_sbuf_put_u64(out, vers >> 4);
		umpa_sbuf_puts(out, " != 6");
		return;
	}
	/* the ports follow the addresses only when the transport comes right after (tcpdump) */
	ports = umpa_ipv6_upper_(p, li) == (int)li + 1 && upper_ports(p, (int)li + 1, &sport, &dport) == 0;
	umpa_cur_u8_at(&c, 6, &nxt);
	if (li > 0 && p->l[li - 1].flags & UMPA_L_QUOTES)
		umpa_sbuf_puts(out, "; "); /* the packet an ICMPv6 error quotes */
	umpa_sbuf_puts(out, "IP6 ");
	umpa_sbuf_put_ipv6(out, a);
	if (ports) {
		umpa_sbuf_putc(out, '.');
		umpa_sbuf_put_u64(out, sport);
	}
	umpa_sbuf_puts(out, " > ");
	umpa_sbuf_put_ipv6(out, a + 16);
	if (ports) {
		umpa_sbuf_putc(out, '.');
		umpa_sbuf_put_u64(out, dport);
	}
	umpa_sbuf_puts(out, ": ");
	umpa_ipv6_tail_(p, li, nxt, out);
}

/* ICMPv6 type of layer @ui when it is ICMPv6; -1 otherwise. */
static int icmpv6_type(const struct umpa_pkt *p, int ui)
{
	struct umpa_cur c;
	uint8_t t;

	if (ui < 0 || p->l[ui].proto != &umpa_proto_icmpv6)
		return -1;
	umpa_layer_cur(p, (unsigned)ui, &c);
	if (umpa_cur_u8_at(&c, 0, &t) < 0)
		return -1;
	return t;
}

/* The quoted IPv6 layer when layer @ui is an ICMPv6 error; -1 otherwise. */
static int quoted_ipv6(const struct umpa_pkt *p, int ui)
{
	int t = icmpv6_type(p, ui);

	if (t < 0 || t > ICMP6_ERRMAX || (unsigned)ui + 1 >= p->nlayers || p->l[ui + 1].proto != &umpa_proto_ipv6)
		return -1;
	return ui + 1;
}

/* Is the address at @p off of @p c a multicast one (ff00::/8)? */
static int is_multicast(struct umpa_cur *c, size_t off)
{
	uint8_t b;

	return umpa_cur_u8_at(c, off, &b) == 0 && b == 0xff;
}

static uint32_t ipv6_hashret(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t nxt;
	uint32_t h = 0;
	int ui = umpa_ipv6_upper_(p, li), q, t;

	if ((q = quoted_ipv6(p, ui)) >= 0)
		return ipv6_hashret(p, (unsigned)q); /* an error hashes as what it quotes */
	umpa_layer_cur(p, li, &c);
	if (!umpa_cur_has(&c, 8, 32))
		return 0;
	/* the protocol of the upper layer, through the extension headers */
	nxt = ui >= 0 ? (uint8_t)umpa_ipv6_auto_nxt_(p, (unsigned)ui - 1) : NXT_NONE;
	t = icmpv6_type(p, ui);
	if (!is_multicast(&c, 24) && !(t >= 133 && t <= 137)) {
		for (unsigned i = 0; i < 16; i += 4) {
			uint32_t s = 0, d = 0;
			umpa_cur_be32_at(&c, 8 + i, &s);
			umpa_cur_be32_at(&c, 24 + i, &d);
			h ^= s ^ d;
		}
	}
	h = h * 31u + nxt;
	if (ui >= 0) /* an upper layer without a hashret hook (raw data) hashes as 0 */
		h = h * 0x9e3779b1u ^ (p->l[ui].proto->hashret ? p->l[ui].proto->hashret(p, (unsigned)ui) : 0);
	return h;
}

/* Does the packet quoted at layer @qi of @resp (an ICMPv6 error) start like
 * the request at layer @qli of @req: same addresses, same upper protocol,
 * the same first bytes (up to 8) of the upper-layer header? */
static int quote_matches(const struct umpa_pkt *resp, unsigned qi, const struct umpa_pkt *req, unsigned qli, char *why,
			 size_t whylen)
{
	struct umpa_cur rc, qc;
	const uint8_t *ra, *qa;
	int ru, qu;
	uint32_t n;

	umpa_layer_cur(resp, qi, &rc);
	umpa_layer_cur(req, qli, &qc);
	if (umpa_cur_ptr_at(&rc, 8, 32, &ra) < 0 || umpa_cur_ptr_at(&qc, 8, 32, &qa) < 0)
		return umpa_why_(why, whylen, "ipv6 quoted header missing");
	if (memcmp(ra, qa, 32) != 0)
		return umpa_why_(why, whylen, "ipv6 error quotes other addresses");
	ru = umpa_ipv6_upper_(resp, qi);
	qu = umpa_ipv6_upper_(req, qli);
	if (ru < 0 || qu < 0)
		return 1; /* nothing more quoted (or sent) to compare */
	if (resp->l[ru].proto != req->l[qu].proto)
		return umpa_why_(why, whylen, "ipv6 error quotes another upper protocol");
	n = resp->l[ru].len < req->l[qu].len ? resp->l[ru].len : req->l[qu].len;
	if (n > 8)
		n = 8;
	if (memcmp(resp->data + resp->l[ru].off, req->data + req->l[qu].off, n) != 0)
		return umpa_why_(why, whylen, "ipv6 error quotes another upper-layer header");
	return 1;
}

static int ipv6_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
			size_t whylen)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
	static const uint8_t all_routers[16] = {0xff, 0x02, [15] = 2};
	struct umpa_cur rc, qc;
	const uint8_t *ra, *qa;
	int ru, qu, q;

	umpa_layer_cur(resp, rli, &rc);
	umpa_layer_cur(req, qli, &qc);
	if (umpa_cur_ptr_at(&rc, 8, 32, &ra) < 0 || umpa_cur_ptr_at(&qc, 8, 32, &qa) < 0)
		return umpa_why_(why, whylen, "ipv6 header missing");
	/* ra: reply src, ra+16: reply dst; qa: request src, qa+16: request dst */
	if (is_multicast(&qc, 24) && is_multicast(&rc, 24)) {
		if (memcmp(ra + 16, qa + 16, 16) != 0 &&
		    !(memcmp(ra + 16, all_nodes, 16) == 0 && memcmp(qa + 16, all_routers, 16) == 0))
			return umpa_why_(why, whylen, "ipv6 reply to another multicast group");
	} else if (memcmp(ra + 16, qa, 16) != 0) {
		return umpa_why_(why, whylen, "ipv6 reply not sent to the request's source");
	}
	ru = umpa_ipv6_upper_(resp, rli);
	qu = umpa_ipv6_upper_(req, qli);
	if ((q = quoted_ipv6(resp, ru)) >= 0)
		return quote_matches(resp, (unsigned)q, req, qli, why, whylen);
	if (ru < 0 || qu < 0) {
		if (ru < 0 && qu < 0)
			return 1;
		return umpa_why_(why, whylen, "ipv6 upper layer missing");
	}
	if (resp->l[ru].proto != req->l[qu].proto)
		return umpa_why_(why, whylen, "ipv6 upper protocols differ");
	if (resp->l[ru].proto->answers)
		return resp->l[ru].proto->answers(resp, (unsigned)ru, req, (unsigned)qu, why, whylen);
	return 1;
}

const struct umpa_proto umpa_proto_ipv6 = {
    .name = "ipv6",
    .aliases = "ip6,IPv6",
    .title = "Internet Protocol Version 6",
    .fields = ipv6_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_NET,
    .hdr_len = IP6_HLEN,
    .dissect = ipv6_dissect,
    .finish = ipv6_finish,
    .summary = ipv6_summary,
    .line_tag = "IP6 ",
    .hashret = ipv6_hashret,
    .answers = ipv6_answers,
};
