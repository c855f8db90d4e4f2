/* udp.c - User Datagram Protocol (RFC 768; IPv6 checksum rules from RFC 8200 s8.1, jumbograms RFC 2675).
 *
 * Header: source port, destination port, length (header + data), checksum
 * over the IPv4/IPv6 pseudo-header and the datagram.
 *
 * Building: length and checksum are automatic.  The checksum's pseudo-header
 * length is the real datagram length (the layer's window), not udp.length, so
 * a lying udp.length set on purpose still gets the checksum Scapy computes.
 * A computed checksum of 0 goes on the wire as 0xffff (0 means "no checksum"
 * over IPv4 and is forbidden over IPv6).  Without an IP layer below, the
 * checksum is left as it is (0, "none"), as Scapy does.
 *
 * Dissecting: udp.length bounds the payload (the window shrinks to it); a
 * length below 8 is invalid; a length beyond the window is a short layer
 * (truncated capture or lying length) unless the datagram is quoted inside
 * an ICMP error or starts a fragmented IP packet.  The checksum is verified when the whole datagram is there
 * and the result recorded as UMPA_L_BADSUM (informational).
 *
 * Matching: hashret is the xor of the ports (the same in both directions);
 * a datagram answers another when its ports are the other's, swapped
 * (proto_common.h's port-pair hooks, shared with SCTP and TCP).
 */
#include <stdio.h>

#include "proto_common.h"
#include "umpa_inet.h"
#include "umpa_protos.h"

enum { UDP_HLEN = 8, UDP_CSUM_OFF = 6, UDP_PROTO = 17 };

/* Field indexes: the order of udp_fields. */
enum { F_SPORT, F_DPORT, F_LEN, F_CSUM, F_COUNT };

static const struct umpa_field udp_fields[] = {
    [F_SPORT] = {.name = "srcport",
		 .ws = "udp.srcport",
		 .aliases = "sport",
		 .bitoff = 0,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .def = 53,
		 .help = "source port"},
    [F_DPORT] = {.name = "dstport",
		 .ws = "udp.dstport",
		 .aliases = "dport",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .def = 53,
		 .help = "destination port"},
    [F_LEN] = {.name = "length",
	       .ws = "udp.length",
	       .aliases = "len",
	       .bitoff = 32,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_AUTO,
	       .def = UDP_HLEN,
	       .help = "header and data length in bytes (automatic)"},
    [F_CSUM] = {.name = "checksum",
		.ws = "udp.checksum",
		.aliases = "chksum",
		.bitoff = 48,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.def = 0,
		.help = "checksum over the IP pseudo-header and the datagram (automatic; 0 = none over IPv4)"},
};
UMPA_FIELDS_CHECK(udp_fields, F_COUNT);

/* Verify the checksum of a complete datagram: the ones'-complement sum of the
 * pseudo-header and every byte, the checksum field included, must be 0xffff. */
static void udp_verify(struct umpa_pkt *p, unsigned li, uint16_t csum)
{
	struct umpa_layer *l = &p->l[li];
	int l3 = umpa_inet_l3(p, li);
	uint32_t sum;

	if (l3 < 0)
		return;
	if (csum == 0) {
		/* "no checksum": allowed over IPv4, forbidden over IPv6 */
		if (p->l[l3].proto == &umpa_proto_ipv6)
			l->flags |= UMPA_L_BADSUM;
		return;
	}
	if (umpa_inet_pseudo_sum(p, li, UDP_PROTO, l->len, &sum) < 0)
		return;
	if (umpa_inet_partial_csum(p, li, sum, 6))
		l->flags |= UMPA_L_CSUM_PARTIAL; /* left for the NIC: not verifiable, not bad */
	else if (umpa_csum_fold(umpa_csum_add(sum, p->data + l->off, l->len)) != 0)
		l->flags |= UMPA_L_BADSUM;
}

static const struct umpa_proto *udp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t sport, dport, ulen, csum;
	const struct umpa_proto *next;
	int frag = umpa_inet_fragment(p, li);

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &sport) < 0 || umpa_cur_be16_at(&c, 2, &dport) < 0 ||
	    umpa_cur_be16_at(&c, 4, &ulen) < 0 || umpa_cur_be16_at(&c, 6, &csum) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	l->hlen = UDP_HLEN;

	if (ulen == 0 && l->len > 0xffff) {
		/* RFC 2675 jumbogram: the length comes from IPv6 */
	} else if (ulen < UDP_HLEN) {
		l->flags |= UMPA_L_INVALID;
		l->why = "udp length < 8";
		return NULL;
	} else if (ulen > l->len) {
		/* normal inside an ICMP quotation and in a first fragment */
		if (!frag && !(l->flags & UMPA_L_QUOTED))
			umpa_layer_short(p, li, "udp length exceeds the bytes present");
	} else {
		l->len = ulen;
	}

	/* verify only a datagram that is all there (not cut, quoted or fragmented) */
	if (!frag && !(l->flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_QUOTED)) &&
	    !(l->off + l->len == p->len && p->wirelen > p->len))
		udp_verify(p, li, csum);

	next = umpa_proto_bound(UMPA_BIND_UDPPORT, dport);
	if (!next)
		next = umpa_proto_bound(UMPA_BIND_UDPPORT, sport);
	return next;
}

static int udp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint16_t ck;
	int ok;

	(void)e;
	/* over 65535 bytes only an IPv6 jumbogram can carry it: length 0 (RFC 2675) */
	umpa_field_auto_u64(p, li, &udp_fields[F_LEN], l->len > 0xffff ? 0 : l->len);
	if (umpa_field_is_set(p, li, &udp_fields[F_CSUM]))
		return 0;
	ck = umpa_inet_csum(p, li, UDP_CSUM_OFF, 1, UDP_PROTO, &ok);
	if (!ok)
		return 0; /* no IP below: leave "no checksum" */
	umpa_field_auto_u64(p, li, &udp_fields[F_CSUM], ck == 0 ? 0xffff : ck);
	return 0;
}

/* tcpdump -nn: "UDP, length N" (payload bytes).  The IP layer has printed the
 * addresses and ports.  When a protocol other than raw data follows (DNS), it
 * prints its own text instead, as tcpdump does. */
static void udp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint16_t ulen;

	if (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		return;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 4, &ulen) < 0) {
		umpa_sbuf_puts(out, "UDP");
		return;
	}
	if (ulen < UDP_HLEN && !(ulen == 0 && p->l[li].len > 0xffff)) {
		umpa_sbuf_puts(out, "UDP, bad length ");
		umpa_sbuf_put_u64(out, ulen);
		return;
	}
	umpa_sbuf_puts(out, "UDP, length ");
	umpa_sbuf_put_u64(out, ulen ? (uint64_t)ulen - UDP_HLEN : (uint64_t)p->l[li].len - UDP_HLEN);
}

const struct umpa_proto umpa_proto_udp = {
    .name = "udp",
    .aliases = "UDP",
    .title = "User Datagram Protocol",
    .fields = udp_fields,
    .nfields = F_COUNT,
    .hdr_len = UDP_HLEN,
    .pflags = UMPA_PF_PORTS | UMPA_PF_OFFLOAD,
    .dissect = udp_dissect,
    .finish = udp_finish,
    .summary = udp_summary,
    .hashret = umpa_ports_hashret_,
    .answers = umpa_ports_answers_,
};
