/* vxlan.c - Virtual eXtensible Local Area Network (RFC 7348; group policy: draft-smith-vxlan-group-policy).
 *
 * Header (8 bytes, after UDP port 4789): flags (16 bits: the I flag 0x0800
 * says the VNI is valid; the group-policy extension adds G 0x8000, D 0x0040,
 * A 0x0008), group policy id (16 bits, reserved without G), VXLAN network
 * identifier (24 bits), reserved (8 bits).  An Ethernet frame follows.
 *
 * Building: flags default to 0x0800 (I set), everything else 0: Scapy's
 * VXLAN() bytes.  The inner frame is the next layer (vxlan{}/ether{}/...).
 *
 * Dissecting: an Ethernet frame always follows, as in Wireshark.
 *
 * Summary (tcpdump -nn): "VXLAN, flags [I] (0x08), vni 100", then ": " and the
 * inner frame's summary on the same line (tcpdump starts a new line there).
 *
 * Names: Wireshark's vxlan.flags, vxlan.gbp, vxlan.vni, vxlan.reserved8;
 * Scapy's vni and gpid are aliases.
 */
#include "umpa_protos.h"

enum { VXLAN_HLEN = 8 };

/* Field indexes: the order of vxlan_fields. */
enum { F_FLAGS, F_GBP, F_VNI, F_RSV, F_COUNT };

static const struct umpa_field vxlan_fields[] = {
    [F_FLAGS] = {.name = "flags",
		 .ws = "vxlan.flags",
		 .bitoff = 0,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX,
		 .def = 0x0800,
		 .help = "flags: 0x0800 I (VNI valid), 0x8000 G, 0x0040 D, 0x0008 A (default 0x0800)"},
    [F_GBP] = {.name = "gbp",
	       .ws = "vxlan.gbp",
	       .aliases = "gpid,reserved1",
	       .bitoff = 16,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .help = "group policy id (reserved unless the G flag is set)"},
    [F_VNI] = {.name = "vni",
	       .ws = "vxlan.vni",
	       .bitoff = 32,
	       .bits = 24,
	       .type = UMPA_FT_UINT,
	       .help = "VXLAN network identifier, 0..16777215"},
    [F_RSV] = {.name = "reserved8",
	       .ws = "vxlan.reserved8",
	       .aliases = "reserved2,reserved",
	       .bitoff = 56,
	       .bits = 8,
	       .type = UMPA_FT_UINT,
	       .help = "reserved (0)"},
};
UMPA_FIELDS_CHECK(vxlan_fields, F_COUNT);

static const struct umpa_proto *vxlan_dissect(struct umpa_pkt *p, unsigned li)
{
	p->l[li].hlen = VXLAN_HLEN;
	return &umpa_proto_eth;
}

static void vxlan_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t flags;
	uint32_t vni;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &flags) < 0 || umpa_cur_be32_at(&c, 4, &vni) < 0) {
		umpa_sbuf_puts(out, "VXLAN");
		return;
	}
	umpa_sbuf_puts(out, "VXLAN, flags [");
	umpa_sbuf_puts(out, flags & 0x08 ? "I" : ".");
	umpa_sbuf_printf(out, "] (0x%02x), vni %u", flags, vni >> 8);
	if (li + 1 < p->nlayers)
		umpa_sbuf_puts(out, ": ");
}

const struct umpa_proto umpa_proto_vxlan = {
    .name = "vxlan",
    .aliases = "VXLAN",
    .title = "Virtual eXtensible Local Area Network",
    .fields = vxlan_fields,
    .nfields = F_COUNT,
    .hdr_len = VXLAN_HLEN,
    .dissect = vxlan_dissect,
    .summary = vxlan_summary,
};
