/* eth.c - Ethernet II framing (RFC 894; IEEE 802.3 length frames, IEEE 802.3 clause 3.2.6).
 *
 * Header: destination MAC, source MAC, type (14 bytes, no FCS: captures
 * do not carry it).
 *
 * Building: eth.dst defaults to broadcast, eth.src to 00:00:00:00:00:00 (no
 * interface is known here), eth.type to 0x9000 (Loopback, Scapy's default)
 * and is automatic: finish() writes the Ethernet type the registry binds to
 * the next layer (0x8100 before a VLAN tag, 0x0800 before IPv4 ...).
 *
 * Dissecting: a type of 1500 or less is an IEEE 802.3 length: the payload
 * (LLC) is left as raw data, the window shrinks to the length when it is
 * shorter (the rest is padding) and nothing is flagged when it is longer.
 * Ethernet padding after an upper layer is not a layer of its own: the IP
 * (or ARP) layer claims only its own bytes.
 *
 * Summary: nothing, like tcpdump -nn without -e, when a known protocol
 * follows (through any VLAN tags); otherwise "SRC > DST, ethertype NAME
 * (0xTYPE), length N" (or "802.3" for length frames).
 *
 * Matching (Scapy): hashret is the type; a frame answers another of the
 * same type.
 */
#include <stdio.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum { ETH_HLEN = 14, ETH_TYPE_OFF = 12, ETH_MAX_LEN = 1500 };

const struct umpa_vname umpa_ethertype_names[] = {
    {0x0800, "IPv4"},
    {0x0806, "ARP"},
    {0x0842, "WoL"},
    {0x8035, "RARP"},
    {0x809b, "Appletalk"},
    {0x80f3, "AARP"},
    {0x8100, "802.1Q"},
    {0x8137, "IPX"},
    {0x86dd, "IPv6"},
    {0x8808, "MAC-Control"},
    {0x8809, "Slow-Protocols"},
    {0x8847, "MPLS"},
    {0x8848, "MPLS-multicast"},
    {0x8863, "PPPoE-D"},
    {0x8864, "PPPoE-S"},
    {0x888e, "EAPOL"},
    {0x88a8, "802.1Q-QinQ"},
    {0x88cc, "LLDP"},
    {0x88e5, "MACsec"},
    {0x88f7, "PTP"},
    {0x8906, "FCoE"},
    {0x9000, "Loopback"},
    {0x9100, "802.1Q-9100"},
    /* extra spellings for parsing only (umpa_vname_find returns the first) */
    {0x0800, "ip"},
    {0x86dd, "ip6"},
    {0x8100, "vlan"},
    {0x8100, "dot1q"},
    {0x88a8, "qinq"},
    {0x88a8, "802.1ad"},
    {0x88a8, "dot1ad"},
    {0x88cc, "802.1ab"},
    {0, NULL},
};

static const uint8_t eth_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Field indexes: the order of eth_fields. */
enum { F_DST, F_SRC, F_TYPE, F_COUNT };

static const struct umpa_field eth_fields[] = {
    [F_DST] = {.name = "dst",
	       .ws = "eth.dst",
	       .bitoff = 0,
	       .bits = 48,
	       .type = UMPA_FT_MAC,
	       .defp = eth_broadcast,
	       .help = "destination MAC address (default ff:ff:ff:ff:ff:ff)"},
    [F_SRC] = {.name = "src",
	       .ws = "eth.src",
	       .bitoff = 48,
	       .bits = 48,
	       .type = UMPA_FT_MAC,
	       .help = "source MAC address (default 00:00:00:00:00:00)"},
    [F_TYPE] = {.name = "type",
		.ws = "eth.type",
		.aliases = "len",
		.bitoff = 96,
		.bits = 16,
		.type = UMPA_FT_ENUM,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.def = 0x9000,
		.names = umpa_ethertype_names,
		.help = "Ethernet type of the payload, or an 802.3 length <= 1500 (automatic from the next layer)"},
};
UMPA_FIELDS_CHECK(eth_fields, F_COUNT);

static const struct umpa_proto *eth_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t type;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, ETH_TYPE_OFF, &type) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	l->hlen = ETH_HLEN;
	if (type <= ETH_MAX_LEN) {
		/* IEEE 802.3: a length, then LLC; the rest of the window is padding */
		if ((uint32_t)ETH_HLEN + type < l->len)
			l->len = (uint32_t)ETH_HLEN + type;
		return NULL;
	}
	return umpa_proto_bound(UMPA_BIND_ETHERTYPE, type);
}

static int eth_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_auto_next_(p, li, &eth_fields[F_TYPE], UMPA_BIND_ETHERTYPE);
	return 0;
}

/* tcpdump -nn prints Ethernet only when it cannot print what it carries:
 * then "src > dst, ethertype NAME (0x....), length N" with the innermost type
 * (VLAN tags are looked through, as tcpdump does). */
static void eth_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	const uint8_t *dst, *src;
	uint16_t type;
	unsigned n = li + 1;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_ptr_at(&c, 0, 6, &dst) < 0 || umpa_cur_ptr_at(&c, 6, 6, &src) < 0 ||
	    umpa_cur_be16_at(&c, ETH_TYPE_OFF, &type) < 0)
		return;
	for (; n < p->nlayers && p->l[n].proto->pflags & UMPA_PF_TAG; n++) {
		struct umpa_cur vc;
		uint16_t t;
		umpa_layer_cur(p, n, &vc);
		if (umpa_cur_be16_at(&vc, 2, &t) == 0)
			type = t;
	}
	if (n < p->nlayers && !(p->l[n].proto->pflags & UMPA_PF_RAW))
		return; /* the next protocol speaks for itself */
	umpa_sbuf_put_mac(out, src);
	umpa_sbuf_puts(out, " > ");
	umpa_sbuf_put_mac(out, dst);
	if (type <= ETH_MAX_LEN) {
		umpa_sbuf_puts(out, ", 802.3");
	} else {
		umpa_sbuf_puts(out, ", ");
		umpa_put_ethertype_(out, type);
	}
	umpa_put_link_length_(p, li, out);
}

/* tcpdump -e: "src > dst, ethertype NAME (0x....), length N: " before what
 * follows (this header's own type; VLAN tags print themselves), or the plain
 * summary when -e is off. */
static void eth_summary_ctx(const struct umpa_pkt *p, unsigned li, const struct umpa_render_opts *o,
			    struct umpa_sbuf *out)
{
	struct umpa_cur c;
	const uint8_t *dst, *src;
	uint16_t type;

	if (!o->link_hdr) {
		eth_summary(p, li, out);
		return;
	}
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_ptr_at(&c, 0, 6, &dst) < 0 || umpa_cur_ptr_at(&c, 6, 6, &src) < 0 ||
	    umpa_cur_be16_at(&c, ETH_TYPE_OFF, &type) < 0)
		return;
	umpa_sbuf_put_mac(out, src);
	umpa_sbuf_puts(out, " > ");
	umpa_sbuf_put_mac(out, dst);
	umpa_sbuf_puts(out, ", ");
	if (type <= ETH_MAX_LEN)
		umpa_sbuf_puts(out, "802.3");
	else
		umpa_put_ethertype_(out, type);
	umpa_put_link_length_(p, li, out);
	if (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		umpa_sbuf_puts(out, ": ");
}

static uint32_t eth_hashret(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint16_t type;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, ETH_TYPE_OFF, &type) < 0)
		return 0;
	return type;
}

/* Scapy: a frame answers one of the same type; the payloads decide the rest. */
static int eth_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
		       size_t whylen)
{
	struct umpa_cur rc, qc;
	uint16_t rt, qt;

	umpa_layer_cur(resp, rli, &rc);
	umpa_layer_cur(req, qli, &qc);
	if (umpa_cur_be16_at(&rc, ETH_TYPE_OFF, &rt) < 0 || umpa_cur_be16_at(&qc, ETH_TYPE_OFF, &qt) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "eth header missing");
		return 0;
	}
	if (rt != qt) {
		if (why && whylen)
			snprintf(why, whylen, "eth.type 0x%04x is not 0x%04x", rt, qt);
		return 0;
	}
	return 1;
}

const struct umpa_proto umpa_proto_eth = {
    .name = "eth",
    .aliases = "ether,ethernet,Ether",
    .title = "Ethernet II",
    .fields = eth_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_LINK,
    .hdr_len = ETH_HLEN,
    .dissect = eth_dissect,
    .finish = eth_finish,
    .summary = eth_summary,
    .summary_ctx = eth_summary_ctx,
    .hashret = eth_hashret,
    .answers = eth_answers,
};
