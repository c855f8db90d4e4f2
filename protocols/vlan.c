/* vlan.c - IEEE 802.1Q VLAN tag (IEEE 802.1Q-2018 clause 9.6; stacked tags: 802.1ad).
 *
 * Header (4 bytes after the Ethernet type 0x8100 / 0x88a8 / 0x9100):
 * priority (PCP, 3 bits), drop eligible indicator (DEI, 1 bit), VLAN id
 * (12 bits), then the Ethernet type of what follows.
 *
 * Building: vlan.id defaults to 1 and vlan.etype to 0 (Scapy's Dot1Q
 * defaults); vlan.etype is automatic: finish() writes the Ethernet type the
 * registry binds to the next layer.  The 0x8100 before the tag is the outer
 * layer's business (eth.type and an outer vlan.etype come from the same
 * registry binding), so Q-in-Q is simply vlan{}/vlan{}.
 *
 * Dissecting: an etype of 1500 or less is an 802.3 length: the payload is
 * raw (LLC) and the window shrinks to it when shorter, nothing is flagged.
 * An 802.1ad service tag (after 0x88a8) is the same header under its own
 * protocol, ieee8021ad, with Wireshark's names for it: ieee8021ad.priority,
 * ieee8021ad.dei, ieee8021ad.id and ieee8021ah.etype (sic: Wireshark's
 * 802.1ad and 802.1ah dissectors share the type field).  Q-in-Q as an
 * operator builds it is ether{}/ieee8021ad{id=100}/vlan{id=200}/ip{}...;
 * vlan{}/vlan{} stacks two 0x8100 tags (Scapy's Dot1Q/Dot1Q).
 *
 * Names: Scapy's Dot1Q calls the DEI bit "id" and the VLAN id "vlan"; here
 * "id" is the VLAN id (Wireshark's vlan.id) and "vlan" an alias of it.
 *
 * Summary: nothing (tcpdump -nn without -e prints nothing for a tag; the
 * Ethernet layer prints the innermost type when nothing else speaks).
 *
 * Matching (Scapy): a tag answers a tag of the same VLAN id and etype.
 */
#include <stdio.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum { VLAN_HLEN = 4, VLAN_ETYPE_OFF = 2, VLAN_MAX_LEN = 1500 };

static const struct umpa_vname vlan_pcp_names[] = {
    {0, "best-effort"},           {1, "background"},      {2, "excellent-effort"},
    {3, "critical-applications"}, {4, "video"},           {5, "voice"},
    {6, "internetwork-control"},  {7, "network-control"}, {0, NULL},
};

/* Field indexes: the order of vlan_fields. */
enum { F_PRIO, F_DEI, F_ID, F_ETYPE, F_COUNT };

static const struct umpa_field vlan_fields[] = {
    [F_PRIO] = {.name = "priority",
		.ws = "vlan.priority",
		.aliases = "prio,pcp",
		.bitoff = 0,
		.bits = 3,
		.type = UMPA_FT_ENUM,
		.names = vlan_pcp_names,
		.help = "priority code point, 0..7 (802.1p)"},
    [F_DEI] = {.name = "dei",
	       .ws = "vlan.dei",
	       .aliases = "cfi",
	       .bitoff = 3,
	       .bits = 1,
	       .type = UMPA_FT_UINT,
	       .help = "drop eligible indicator (formerly CFI)"},
    [F_ID] = {.name = "id",
	      .ws = "vlan.id",
	      .aliases = "vlan,vid",
	      .bitoff = 4,
	      .bits = 12,
	      .type = UMPA_FT_UINT,
	      .def = 1,
	      .help = "VLAN identifier, 0..4095 (default 1)"},
    [F_ETYPE] = {.name = "etype",
		 .ws = "vlan.etype",
		 .aliases = "type,len",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_AUTO | UMPA_F_HEX,
		 .names = umpa_ethertype_names,
		 .help = "Ethernet type of the payload, or an 802.3 length <= 1500 (automatic from the next layer)"},
};
UMPA_FIELDS_CHECK(vlan_fields, F_COUNT);

static const struct umpa_proto *vlan_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t etype;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, VLAN_ETYPE_OFF, &etype) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	l->hlen = VLAN_HLEN;
	if (etype <= VLAN_MAX_LEN) {
		if ((uint32_t)VLAN_HLEN + etype < l->len)
			l->len = (uint32_t)VLAN_HLEN + etype;
		return NULL;
	}
	return umpa_proto_bound(UMPA_BIND_ETHERTYPE, etype);
}

static int vlan_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_auto_next_(p, li, &p->l[li].proto->fields[F_ETYPE], UMPA_BIND_ETHERTYPE);
	return 0;
}

static int vlan_read(const struct umpa_pkt *p, unsigned li, uint16_t *tci, uint16_t *etype)
{
	struct umpa_cur c;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, tci) < 0 || umpa_cur_be16_at(&c, VLAN_ETYPE_OFF, etype) < 0)
		return -1;
	return 0;
}

static uint32_t vlan_hashret(const struct umpa_pkt *p, unsigned li)
{
	uint16_t tci, etype;

	if (vlan_read(p, li, &tci, &etype) < 0)
		return 0;
	return (uint32_t)(tci & 0x0fff) << 16 | etype;
}

static int vlan_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
			size_t whylen)
{
	uint16_t rt, re, qt, qe;

	if (vlan_read(resp, rli, &rt, &re) < 0 || vlan_read(req, qli, &qt, &qe) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "vlan tag missing");
		return 0;
	}
	if ((rt & 0x0fff) != (qt & 0x0fff)) {
		if (why && whylen)
			snprintf(why, whylen, "vlan.id %u is not %u", rt & 0x0fff, qt & 0x0fff);
		return 0;
	}
	if (re != qe) {
		if (why && whylen)
			snprintf(why, whylen, "vlan.etype 0x%04x is not 0x%04x", re, qe);
		return 0;
	}
	return 1;
}

/* tcpdump -e: "vlan ID, p PCP[, DEI], ethertype NAME (0x....), " before what
 * follows (nothing without -e: tcpdump -nn prints no tag). */
static void vlan_summary_ctx(const struct umpa_pkt *p, unsigned li, const struct umpa_render_opts *o,
			     struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint16_t tci, type;

	if (!o->link_hdr)
		return;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &tci) < 0 || umpa_cur_be16_at(&c, 2, &type) < 0)
		return;
	umpa_sbuf_puts(out, "vlan ");
	umpa_sbuf_put_u64(out, tci & 0xfff);
	umpa_sbuf_puts(out, ", p ");
	umpa_sbuf_put_u64(out, tci >> 13);
	if (tci & 0x1000)
		umpa_sbuf_puts(out, ", DEI");
	umpa_sbuf_puts(out, ", ");
	if (type <= 1500)
		umpa_sbuf_puts(out, "802.3");
	else
		umpa_put_ethertype_(out, type);
	if (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		umpa_sbuf_puts(out, ", ");
}

const struct umpa_proto umpa_proto_vlan = {
    .name = "vlan",
    .aliases = "dot1q,802.1q,Dot1Q",
    .title = "802.1Q Virtual LAN",
    .fields = vlan_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_LINK | UMPA_PF_TAG,
    .hdr_len = VLAN_HLEN,
    .dissect = vlan_dissect,
    .finish = vlan_finish,
    .hashret = vlan_hashret,
    .answers = vlan_answers,
    .summary_ctx = vlan_summary_ctx,
};

/* 802.1ad: vlan_fields under Wireshark's ieee8021ad names. */
static const struct umpa_field ieee8021ad_fields[] = {
    [F_PRIO] = {.name = "priority",
		.ws = "ieee8021ad.priority",
		.aliases = "prio,pcp",
		.bitoff = 0,
		.bits = 3,
		.type = UMPA_FT_ENUM,
		.names = vlan_pcp_names,
		.help = "priority code point, 0..7"},
    [F_DEI] = {.name = "dei",
	       .ws = "ieee8021ad.dei",
	       .aliases = "cfi",
	       .bitoff = 3,
	       .bits = 1,
	       .type = UMPA_FT_UINT,
	       .help = "drop eligible indicator"},
    [F_ID] = {.name = "id",
	      .ws = "ieee8021ad.id",
	      .aliases = "vlan,vid,svid",
	      .bitoff = 4,
	      .bits = 12,
	      .type = UMPA_FT_UINT,
	      .def = 1,
	      .help = "service VLAN identifier, 0..4095 (default 1)"},
    [F_ETYPE] = {.name = "etype",
		 .ws = "ieee8021ah.etype",
		 .aliases = "type,len",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_AUTO | UMPA_F_HEX,
		 .names = umpa_ethertype_names,
		 .help = "Ethernet type of the payload (automatic from the next layer: vlan 0x8100)"},
};
UMPA_FIELDS_CHECK(ieee8021ad_fields, F_COUNT);

const struct umpa_proto umpa_proto_ieee8021ad = {
    .name = "ieee8021ad",
    .aliases = "dot1ad,802.1ad,stag",
    .title = "IEEE 802.1ad",
    .fields = ieee8021ad_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_LINK | UMPA_PF_TAG,
    .hdr_len = VLAN_HLEN,
    .dissect = vlan_dissect,
    .finish = vlan_finish,
    .hashret = vlan_hashret,
    .answers = vlan_answers,
    .summary_ctx = vlan_summary_ctx, /* tcpdump -e prints an 802.1ad tag as a vlan tag */
};
