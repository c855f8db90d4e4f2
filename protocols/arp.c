/* arp.c - Address Resolution Protocol (RFC 826; RARP RFC 903, InARP RFC 2390).
 *
 * Header: hardware type, protocol type, hardware address size (hs),
 * protocol address size (ps), opcode, then sender hardware and protocol
 * addresses and target hardware and protocol addresses: 8 + 2*(hs+ps)
 * bytes, 28 for Ethernet/IPv4.
 *
 * Fields: the table describes the Ethernet/IPv4 layout at fixed offsets
 * (arp.src.hw_mac at byte 8, arp.src.proto_ipv4 at 14, arp.dst.hw_mac at 18,
 * arp.dst.proto_ipv4 at 24; Scapy's hwsrc, psrc, hwdst, pdst).  Those four
 * are hidden from the generic tree: the details hook shows the addresses
 * where the sizes say they are, as Wireshark does - arp.*.hw_mac only for an
 * Ethernet (or IEEE 802) hardware type with hs 6, arp.*.proto_ipv4 only for
 * IPv4 with ps 4, arp.*.hw / arp.*.proto as bytes otherwise - so a header
 * with other sizes is never shown through the wrong offsets.
 *
 * Building: Scapy's ARP defaults (who-has, Ethernet/IPv4) with all addresses
 * zero (no interface is known here).  hw.size and proto.size are automatic
 * (6 and 4) and may be set to lie.
 *
 * Dissecting: the header length comes from hs and ps; the window shrinks to
 * it (Ethernet padding is not ARP).  Addresses beyond the bytes present make
 * the layer short (truncated or invalid).  ARP carries nothing after it.
 *
 * Summary (tcpdump -nn): "ARP, Request who-has 10.0.0.2 tell 10.0.0.1,
 * length 28", "ARP, Reply 10.0.0.2 is-at aa:bb:cc:dd:ee:ff, length 28";
 * other sizes or protocols: "ARP, Ethernet (len 6), IPv6 (len 16), length
 * 48".  The length is what tcpdump prints: the bytes after the link layer,
 * padding included.
 *
 * Matching (Scapy): hashret is the hardware type, protocol type and
 * (opcode+1)/2, so a request and its reply hash alike; a reply answers a
 * request when its opcode is the request's plus one and its sender protocol
 * address is the request's target.
 */
#include <stdio.h>
#include <string.h>

#include "umpa_protos.h"
#include "umpa_render.h"

enum {
	ARP_HLEN = 28,
	ARP_FIXED = 8,
	ARPHRD_ETHER = 1,
	ARPHRD_IEEE802 = 6,
	ETHERTYPE_IP = 0x0800,
	ETHERTYPE_TRAIL = 0x1000,
	AX25_P_IP = 0xcc,
};

static const struct umpa_vname arp_hw_names[] = {
    {1, "Ethernet"},       {6, "IEEE802"},      {7, "ARCnet"},  {15, "Frame-Relay"}, {16, "ATM"},        {17, "HDLC"},
    {18, "Fibre-Channel"}, {19, "ATM-RFC2225"}, {20, "Serial"}, {24, "IEEE1394"},    {32, "Infiniband"}, {0, NULL},
};

static const struct umpa_vname arp_op_names[] = {
    {1, "request"},
    {2, "reply"},
    {3, "reverse-request"},
    {4, "reverse-reply"},
    {5, "drarp-request"},
    {6, "drarp-reply"},
    {7, "drarp-error"},
    {8, "inarp-request"},
    {9, "inarp-reply"},
    {10, "arp-nak"},
    /* Scapy's and tcpdump's words, for parsing */
    {1, "who-has"},
    {2, "is-at"},
    {3, "rarp-req"},
    {4, "rarp-rep"},
    {8, "inarp-req"},
    {9, "inarp-rep"},
    {0, NULL},
};

/* Field indexes: the order of arp_fields. */
enum { F_HWTYPE, F_PTYPE, F_HWSIZE, F_PSIZE, F_OP, F_HWSRC, F_PSRC, F_HWDST, F_PDST, F_COUNT };

static const struct umpa_field arp_fields[] = {
    [F_HWTYPE] = {.name = "hw.type",
		  .ws = "arp.hw.type",
		  .aliases = "hwtype",
		  .bitoff = 0,
		  .bits = 16,
		  .type = UMPA_FT_ENUM,
		  .def = ARPHRD_ETHER,
		  .names = arp_hw_names,
		  .help = "hardware type (1 Ethernet)"},
    [F_PTYPE] = {.name = "proto.type",
		 .ws = "arp.proto.type",
		 .aliases = "ptype",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_HEX,
		 .def = ETHERTYPE_IP,
		 .names = umpa_ethertype_names,
		 .help = "protocol type, an Ethernet type (0x0800 IPv4)"},
    [F_HWSIZE] = {.name = "hw.size",
		  .ws = "arp.hw.size",
		  .aliases = "hwlen",
		  .bitoff = 32,
		  .bits = 8,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_AUTO,
		  .def = 6,
		  .help = "hardware address size in bytes (automatic: 6)"},
    [F_PSIZE] = {.name = "proto.size",
		 .ws = "arp.proto.size",
		 .aliases = "plen",
		 .bitoff = 40,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_AUTO,
		 .def = 4,
		 .help = "protocol address size in bytes (automatic: 4)"},
    [F_OP] = {.name = "opcode",
	      .ws = "arp.opcode",
	      .aliases = "op",
	      .bitoff = 48,
	      .bits = 16,
	      .type = UMPA_FT_ENUM,
	      .def = 1,
	      .names = arp_op_names,
	      .help = "operation: request (who-has), reply (is-at), ..."},
    [F_HWSRC] = {.name = "src.hw_mac",
		 .ws = "arp.src.hw_mac",
		 .aliases = "hwsrc",
		 .bitoff = 64,
		 .bits = 48,
		 .type = UMPA_FT_MAC,
		 .flags = UMPA_F_HIDDEN,
		 .help = "sender MAC address"},
    [F_PSRC] = {.name = "src.proto_ipv4",
		.ws = "arp.src.proto_ipv4",
		.aliases = "psrc",
		.bitoff = 112,
		.bits = 32,
		.type = UMPA_FT_IPV4,
		.flags = UMPA_F_HIDDEN,
		.help = "sender IPv4 address"},
    [F_HWDST] = {.name = "dst.hw_mac",
		 .ws = "arp.dst.hw_mac",
		 .aliases = "hwdst",
		 .bitoff = 144,
		 .bits = 48,
		 .type = UMPA_FT_MAC,
		 .flags = UMPA_F_HIDDEN,
		 .help = "target MAC address"},
    [F_PDST] = {.name = "dst.proto_ipv4",
		.ws = "arp.dst.proto_ipv4",
		.aliases = "pdst",
		.bitoff = 192,
		.bits = 32,
		.type = UMPA_FT_IPV4,
		.flags = UMPA_F_HIDDEN,
		.help = "target IPv4 address"},
};
UMPA_FIELDS_CHECK(arp_fields, F_COUNT);

/* The fixed part of a header and where its addresses are. */
struct arp_hdr {
	uint16_t hrd, pro, op;
	uint8_t hs, ps;
	uint32_t sha, spa, tha, tpa; /* offsets in the layer */
	uint32_t hlen;
};

static int arp_read(const struct umpa_pkt *p, unsigned li, struct arp_hdr *h)
{
	struct umpa_cur c;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &h->hrd) < 0 || umpa_cur_be16_at(&c, 2, &h->pro) < 0 ||
	    umpa_cur_u8_at(&c, 4, &h->hs) < 0 || umpa_cur_u8_at(&c, 5, &h->ps) < 0 ||
	    umpa_cur_be16_at(&c, 6, &h->op) < 0)
		return -1;
	h->sha = ARP_FIXED;
	h->spa = h->sha + h->hs;
	h->tha = h->spa + h->ps;
	h->tpa = h->tha + h->hs;
	h->hlen = h->tpa + h->ps;
	return 0;
}

static int hw_is_ether(const struct arp_hdr *h)
{
	return (h->hrd == ARPHRD_ETHER || h->hrd == ARPHRD_IEEE802) && h->hs == 6;
}

static int pro_is_ipv4(const struct arp_hdr *h)
{
	return (h->pro == ETHERTYPE_IP || h->pro == AX25_P_IP) && h->ps == 4;
}

static const struct umpa_proto *arp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct arp_hdr h;

	if (arp_read(p, li, &h) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	/* tcpdump's "length": the bytes after the link layer, on the wire */
	l->aux = l->len;
	if (l->off + l->len == p->len && p->wirelen > p->len)
		l->aux += p->wirelen - p->len;
	l->hlen = h.hlen;
	if (h.hlen > l->len) {
		if (!(l->flags & UMPA_L_QUOTED))
			umpa_layer_short(p, li, "arp addresses beyond the bytes present");
		return NULL;
	}
	l->len = h.hlen; /* what follows is padding */
	return NULL;
}

static int arp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_field_auto_u64(p, li, &arp_fields[F_HWSIZE], 6);
	umpa_field_auto_u64(p, li, &arp_fields[F_PSIZE], 4);
	return 0;
}

static void emit_hw(struct umpa_emit *em, const struct arp_hdr *h, struct umpa_cur *c, uint32_t off,
		    const char *mac_key, const char *bytes_key)
{
	const uint8_t *a;

	if (h->hs == 0 || umpa_cur_ptr_at(c, off, h->hs, &a) < 0)
		return;
	if (hw_is_ether(h))
		umpa_emit_mac(em, mac_key, a);
	else
		umpa_emit_bytes(em, bytes_key, a, h->hs);
}

static void emit_proto(struct umpa_emit *em, const struct arp_hdr *h, struct umpa_cur *c, uint32_t off,
		       const char *ipv4_key, const char *bytes_key)
{
	const uint8_t *a;

	if (h->ps == 0 || umpa_cur_ptr_at(c, off, h->ps, &a) < 0)
		return;
	if (pro_is_ipv4(h))
		umpa_emit_ipv4(em, ipv4_key, a);
	else
		umpa_emit_bytes(em, bytes_key, a, h->ps);
}

static void arp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct arp_hdr h;
	struct umpa_cur c;

	if (arp_read(p, li, &h) < 0)
		return;
	umpa_layer_cur(p, li, &c);
	emit_hw(em, &h, &c, h.sha, "arp.src.hw_mac", "arp.src.hw");
	emit_proto(em, &h, &c, h.spa, "arp.src.proto_ipv4", "arp.src.proto");
	emit_hw(em, &h, &c, h.tha, "arp.dst.hw_mac", "arp.dst.hw");
	emit_proto(em, &h, &c, h.tpa, "arp.dst.proto_ipv4", "arp.dst.proto");
}

/* tcpdump's words for the opcodes (print-arp.c arpop_values). */
static const struct umpa_vname arp_op_words[] = {
    {1, "Request"},         {2, "Reply"},         {3, "Reverse Request"}, {4, "Reverse Reply"},
    {8, "Inverse Request"}, {9, "Inverse Reply"}, {10, "NACK Reply"},     {0, NULL},
};

/* Put an address of @n bytes at @off: dotted quad for IPv4, hex pairs otherwise. */
static void put_addr(struct umpa_sbuf *out, struct umpa_cur *c, uint32_t off, unsigned n, int ipv4)
{
	const uint8_t *a;

	if (umpa_cur_ptr_at(c, off, n, &a) < 0) {
		umpa_sbuf_puts(out, "[|arp]");
		return;
	}
	if (ipv4)
		umpa_sbuf_put_ipv4(out, a);
	else
		umpa_sbuf_put_hexbytes(out, a, n, ':');
}

static int nonzero(struct umpa_cur *c, uint32_t off, unsigned n)
{
	uint8_t b;

	if (!umpa_cur_has(c, off, n))
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (umpa_cur_u8_at(c, off + i, &b) == 0 && b)
			return 1;
	return 0;
}

static void arp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct arp_hdr h;
	struct umpa_cur c;
	const char *name;
	int v4;

	umpa_sbuf_puts(out, "ARP, ");
	if (arp_read(p, li, &h) < 0) {
		umpa_sbuf_puts(out, "[|arp]");
		return;
	}
	umpa_layer_cur(p, li, &c);
	v4 = pro_is_ipv4(&h);
	if ((h.pro != ETHERTYPE_IP && h.pro != ETHERTYPE_TRAIL) || h.ps != 4 || h.hs == 0) {
		name = umpa_vname_find(arp_hw_names, h.hrd);
		if (name) {
			umpa_sbuf_puts(out, name);
		} else {
			umpa_sbuf_puts(out, "Unknown Hardware (");
			umpa_sbuf_put_u64(out, h.hrd);
			umpa_sbuf_putc(out, ')');
		}
		umpa_sbuf_puts(out, " (len ");
		umpa_sbuf_put_u64(out, h.hs);
		umpa_sbuf_puts(out, "), ");
		name = umpa_vname_find(umpa_ethertype_names, h.pro);
		if (name) {
			umpa_sbuf_puts(out, name);
		} else {
			umpa_sbuf_puts(out, "Unknown Protocol (");
			umpa_sbuf_put_hex(out, h.pro, 4);
			umpa_sbuf_putc(out, ')');
		}
		umpa_sbuf_puts(out, " (len ");
		umpa_sbuf_put_u64(out, h.ps);
		umpa_sbuf_putc(out, ')');
		goto out;
	}
	name = umpa_vname_find(arp_op_words, h.op);
	if (name) {
		umpa_sbuf_puts(out, name);
	} else {
		umpa_sbuf_puts(out, "Unknown (");
		umpa_sbuf_put_u64(out, h.op);
		umpa_sbuf_putc(out, ')');
	}
	switch (h.op) {
	case 1:
		umpa_sbuf_puts(out, " who-has ");
		put_addr(out, &c, h.tpa, h.ps, v4);
		if (nonzero(&c, h.tha, h.hs)) {
			umpa_sbuf_puts(out, " (");
			put_addr(out, &c, h.tha, h.hs, 0);
			umpa_sbuf_putc(out, ')');
		}
		umpa_sbuf_puts(out, " tell ");
		put_addr(out, &c, h.spa, h.ps, v4);
		break;
	case 2:
		umpa_sbuf_putc(out, ' ');
		put_addr(out, &c, h.spa, h.ps, v4);
		umpa_sbuf_puts(out, " is-at ");
		put_addr(out, &c, h.sha, h.hs, 0);
		break;
	case 3:
	case 8:
		umpa_sbuf_puts(out, " who-is ");
		put_addr(out, &c, h.tha, h.hs, 0);
		umpa_sbuf_puts(out, " tell ");
		put_addr(out, &c, h.sha, h.hs, 0);
		break;
	case 4:
		umpa_sbuf_putc(out, ' ');
		put_addr(out, &c, h.tha, h.hs, 0);
		umpa_sbuf_puts(out, " at ");
		put_addr(out, &c, h.tpa, h.ps, v4);
		break;
	case 9:
		umpa_sbuf_putc(out, ' ');
		put_addr(out, &c, h.sha, h.hs, 0);
		umpa_sbuf_puts(out, " at ");
		put_addr(out, &c, h.spa, h.ps, v4);
		break;
	default:
		break;
	}
out:
	umpa_sbuf_puts(out, ", length ");
	umpa_sbuf_put_u64(out, l->aux ? l->aux : l->len);
}

static uint32_t arp_hashret(const struct umpa_pkt *p, unsigned li)
{
	struct arp_hdr h;

	if (arp_read(p, li, &h) < 0)
		return 0;
	return ((uint32_t)h.hrd << 16 | h.pro) ^ ((uint32_t)(h.op + 1) / 2) * 0x9e3779b1u;
}

/* Scapy: the reply's opcode is the request's plus one and its sender protocol
 * address is the request's target. */
static int arp_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
		       size_t whylen)
{
	struct arp_hdr r, q;
	struct umpa_cur rc, qc;
	const uint8_t *rspa, *qtpa;
	unsigned n;

	if (arp_read(resp, rli, &r) < 0 || arp_read(req, qli, &q) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "arp header missing");
		return 0;
	}
	if (r.op != q.op + 1) {
		if (why && whylen)
			snprintf(why, whylen, "arp.opcode %u does not answer %u", r.op, q.op);
		return 0;
	}
	n = r.ps < q.ps ? r.ps : q.ps;
	umpa_layer_cur(resp, rli, &rc);
	umpa_layer_cur(req, qli, &qc);
	if (umpa_cur_ptr_at(&rc, r.spa, n, &rspa) < 0 || umpa_cur_ptr_at(&qc, q.tpa, n, &qtpa) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "arp addresses missing");
		return 0;
	}
	if (memcmp(rspa, qtpa, n) != 0) {
		if (why && whylen)
			snprintf(why, whylen, "arp sender is not the address asked for");
		return 0;
	}
	return 1;
}

const struct umpa_proto umpa_proto_arp = {
    .name = "arp",
    .aliases = "ARP",
    .title = "Address Resolution Protocol",
    .fields = arp_fields,
    .nfields = F_COUNT,
    .hdr_len = ARP_HLEN,
    .dissect = arp_dissect,
    .finish = arp_finish,
    .details = arp_details,
    .summary = arp_summary,
    .line_tag = "ARP, ",
    .hashret = arp_hashret,
    .answers = arp_answers,
};
