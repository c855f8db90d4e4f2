/* lldp.c - Link Layer Discovery Protocol (IEEE 802.1AB-2016; 802.1 and 802.3 organisational TLVs, annexes D, E).
 *
 * LLDPDU (Ethernet type 0x88cc): TLVs, each a 7-bit type and a 9-bit length
 * then the value: 1 chassis id (subtype, id), 2 port id (subtype, id), 3 time
 * to live, 4 port description, 5 system name, 6 system description, 7
 * system capabilities (available, enabled), 8 management address, 127
 * organisationally specific (OUI, subtype, information), 0 end.
 *
 * Building: lldp{} has no TLVs; they are a spec, one item per TLV, in order:
 *   chassis_mac=MAC, chassis_local=TEXT, port_mac=MAC, port_name=TEXT,
 *   port_alias=TEXT, port_local=TEXT, ttl=SECONDS, port_desc=TEXT,
 *   system_name=TEXT, system_desc=TEXT, caps=AVAILABLE/ENABLED (bit masks:
 *   0x04 bridge, 0x10 router, ...), mgmt_ipv4=ADDR[/IFINDEX],
 *   mgmt_ipv6=ADDR[/IFINDEX], vlan=PVID (802.1 port VLAN id),
 *   mtu=BYTES (802.3 maximum frame size), org=OUI/SUBTYPE/HEX, end,
 *   TYPE=HEX (any TLV type 0..127 with its value)
 * An End TLV is appended unless the spec has one.  Lengths follow from the
 * spec (raw TLVs, lying ones included, as TYPE=HEX with type 0..127 are not
 * checked).
 *
 * Dissecting: each TLV is one "lldp.tlv" group with Wireshark's
 * lldp.tlv.type, lldp.tlv.len and its decoded value; the LLDPDU ends after
 * the End TLV (what follows is Ethernet padding).  A TLV past the bytes
 * marks the layer invalid (or truncated).
 *
 * Summary (tcpdump -nn): "LLDP, length 66: sw1" (the system name, as tcpdump
 * prints it even without -v).
 *
 * Names: Wireshark's lldp.* (lldp.chassis.id.mac, lldp.port.id,
 * lldp.tlv.system.name, lldp.tlv.system_cap, lldp.mgn.addr.ip4,
 * lldp.orgtlv.oui, lldp.ieee.802_1.port_vlan.id...).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum {
	LLDP_TLVS_MAX = 1500,
	T_END = 0,
	T_CHASSIS = 1,
	T_PORT = 2,
	T_TTL = 3,
	T_PORT_DESC = 4,
	T_SYS_NAME = 5,
	T_SYS_DESC = 6,
	T_CAPS = 7,
	T_MGMT = 8,
	T_ORG = 127,
	OUI_8021 = 0x0080c2,
	OUI_8023 = 0x00120f
};

static const struct umpa_vname tlv_names[] = {
    {T_END, "End of LLDPDU"},
    {T_CHASSIS, "Chassis Id"},
    {T_PORT, "Port Id"},
    {T_TTL, "Time to Live"},
    {T_PORT_DESC, "Port Description"},
    {T_SYS_NAME, "System Name"},
    {T_SYS_DESC, "System Description"},
    {T_CAPS, "System Capabilities"},
    {T_MGMT, "Management Address"},
    {T_ORG, "Organization Specific"},
    {0, NULL},
};

/* Field indexes: the order of lldp_fields. */
enum { F_TLVS, F_COUNT };

static const struct umpa_field lldp_fields[] = {
    [F_TLVS] = {.name = "tlvs",
		.ws = "lldp.tlv",
		.bitoff = 0,
		.type = UMPA_FT_VAR,
		.help =
		    "TLVs: chassis_mac=MAC, chassis_local=TEXT, port_mac=MAC, port_name=TEXT, port_alias=TEXT, "
		    "port_local=TEXT, ttl=N, port_desc=TEXT, system_name=TEXT, system_desc=TEXT, caps=AVAIL/ENABLED, "
		    "mgmt_ipv4=ADDR[/IFINDEX], mgmt_ipv6=ADDR[/IFINDEX], vlan=N, mtu=N, org=OUI/SUBTYPE/HEX, end, "
		    "TYPE=HEX (End appended)"},
};
UMPA_FIELDS_CHECK(lldp_fields, F_COUNT);

/* The capability bits, Wireshark's names, least significant first. */
static const char *const cap_bits[8] = {
    "other", "repeater", "bridge", "wlan_access_pt", "router", "telephone", "docsis_cable_device", "station_only"};

/* ---------------------------------------------------------------- building */

static int span_mac(struct umpa_span v, uint8_t *out)
{
	return umpa_spec_hex(v, out, 6) == 6 ? 0 : -1;
}

/* The value of TLV item @key=@v into @b (room @max), its type in *@type.  Returns the length, -1 (bad value) or
 * -2 (unknown name). */
static long tlv_value(struct umpa_span key, struct umpa_span v, uint8_t *b, size_t max, unsigned *type)
{
	struct umpa_span a, r;
	uint64_t x, y;
	char tmp[64];

	if (max < 32)
		return -1;
	if (umpa_span_is(key, "chassis_mac") || umpa_span_is(key, "port_mac")) {
		*type = umpa_span_is(key, "chassis_mac") ? T_CHASSIS : T_PORT;
		b[0] = *type == T_CHASSIS ? 4 : 3;
		return span_mac(v, b + 1) < 0 ? -1 : 7;
	}
	if (umpa_span_is(key, "chassis_local") || umpa_span_is(key, "port_name") || umpa_span_is(key, "port_alias") ||
	    umpa_span_is(key, "port_local")) {
		*type = umpa_span_is(key, "chassis_local") ? T_CHASSIS : T_PORT;
		b[0] = umpa_span_is(key, "port_name") ? 5 : umpa_span_is(key, "port_alias") ? 1 : 7;
		if (v.n == 0 || v.n > 255 || v.n + 1 > max)
			return -1;
		memcpy(b + 1, v.s, v.n);
		return 1 + (long)v.n;
	}
	if (umpa_span_is(key, "ttl")) {
		*type = T_TTL;
		if (umpa_spec_num(v, 0xffff, &x) < 0)
			return -1;
		umpa_put_be16_(b, (uint32_t)x);
		return 2;
	}
	if (umpa_span_is(key, "port_desc") || umpa_span_is(key, "system_name") || umpa_span_is(key, "system_desc")) {
		*type = umpa_span_is(key, "port_desc")     ? T_PORT_DESC
			: umpa_span_is(key, "system_name") ? T_SYS_NAME
							   : T_SYS_DESC;
		if (v.n > 511 || v.n > max)
			return -1;
		memcpy(b, v.s, v.n);
		return (long)v.n;
	}
	if (umpa_span_is(key, "caps")) {
		*type = T_CAPS;
		if (!umpa_span_cut(v, "/", &a, &r) || umpa_spec_num(a, 0xffff, &x) < 0 ||
		    umpa_spec_num(r, 0xffff, &y) < 0)
			return -1;
		umpa_put_be16_(b, (uint32_t)x);
		umpa_put_be16_(b + 2, (uint32_t)y);
		return 4;
	}
	if (umpa_span_is(key, "mgmt_ipv4") || umpa_span_is(key, "mgmt_ipv6")) {
		int v6 = umpa_span_is(key, "mgmt_ipv6");
		unsigned alen = v6 ? 16 : 4;
		*type = T_MGMT;
		x = 0;
		if ((umpa_span_cut(v, "/", &a, &r) && umpa_spec_num(r, 0xffffffffu, &x) < 0) ||
		    umpa_span_cstr(umpa_span_trim(a), tmp, sizeof tmp) < 0 ||
		    inet_pton(v6 ? AF_INET6 : AF_INET, tmp, b + 2) != 1)
			return -1;
		b[0] = (uint8_t)(1 + alen); /* address string length: subtype and address */
		b[1] = v6 ? 2 : 1;          /* IANA address family */
		b[2 + alen] = x ? 2 : 1;    /* interface numbering: ifIndex, or unknown */
		b[3 + alen] = (uint8_t)(x >> 24);
		b[4 + alen] = (uint8_t)(x >> 16);
		b[5 + alen] = (uint8_t)(x >> 8);
		b[6 + alen] = (uint8_t)x;
		b[7 + alen] = 0; /* no OID */
		return 8 + (long)alen;
	}
	if (umpa_span_is(key, "vlan") || umpa_span_is(key, "mtu")) {
		int vlan = umpa_span_is(key, "vlan");
		*type = T_ORG;
		if (umpa_spec_num(v, vlan ? 4095 : 0xffff, &x) < 0)
			return -1;
		b[0] = 0x00, b[1] = vlan ? 0x80 : 0x12, b[2] = vlan ? 0xc2 : 0x0f;
		b[3] = vlan ? 1 : 4;
		umpa_put_be16_(b + 4, (uint32_t)x);
		return 6;
	}
	if (umpa_span_is(key, "org")) {
		struct umpa_span oui, sub, hex;
		long n;
		*type = T_ORG;
		if (!umpa_span_cut(v, "/", &oui, &r) || umpa_spec_num(oui, 0xffffff, &x) < 0)
			return -1;
		if (!umpa_span_cut(r, "/", &sub, &hex))
			hex.n = 0;
		if (umpa_spec_num(sub, 255, &y) < 0)
			return -1;
		b[0] = (uint8_t)(x >> 16), b[1] = (uint8_t)(x >> 8), b[2] = (uint8_t)x, b[3] = (uint8_t)y;
		n = hex.n ? umpa_spec_hex(hex, b + 4, max - 4 > 507 ? 507 : max - 4) : 0;
		return n < 0 ? -1 : 4 + n;
	}
	if (umpa_spec_num(key, 127, &x) == 0) {
		long n = v.n ? umpa_spec_hex(v, b, max > 511 ? 511 : max) : 0;
		*type = (unsigned)x;
		return n;
	}
	return -2;
}

static int lldp_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	uint8_t b[LLDP_TLVS_MAX];
	size_t n = 0;
	int ended = 0, hasval;
	struct umpa_span s = umpa_span_of(spec), ks, vs;

	(void)f;
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		unsigned type = 0;
		long vl;

		if (umpa_span_is(ks, "end")) {
			if (n + 2 > sizeof b)
				goto toolong;
			b[n++] = 0, b[n++] = 0;
			ended = 1;
			continue;
		}
		if (n + 2 + 32 > sizeof b)
			goto toolong;
		vl = tlv_value(ks, vs, b + n + 2, sizeof b - n - 2, &type);
		if (vl == -2)
			return umpa_err_set(
			    e, UMPA_EINVAL,
			    "lldp.tlv: unknown TLV '%.*s' (chassis_mac, port_name, ttl, system_name, ..., "
			    "or a type 0..127 with hex bytes: see umpa fields lldp)",
			    (int)ks.n, ks.s);
		if (vl < 0 || (!hasval && vl == 0 && type != T_END))
			return umpa_err_set(e, UMPA_EINVAL, "lldp.tlv: bad value '%.*s' for %.*s", (int)vs.n, vs.s,
					    (int)ks.n, ks.s);
		b[n] = (uint8_t)(type << 1 | (unsigned long)vl >> 8);
		b[n + 1] = (uint8_t)vl;
		n += 2 + (size_t)vl;
		ended |= type == T_END;
	}
	if (!ended) {
		if (n + 2 > sizeof b)
			goto toolong;
		b[n++] = 0, b[n++] = 0;
	}
	return umpa_pkt_splice(p, li, 0, p->l[li].hlen, b, (uint32_t)n, e);
toolong:
	return umpa_err_set(e, UMPA_ERANGE, "lldp.tlv: more than %d bytes of TLVs", LLDP_TLVS_MAX);
}

/* ---------------------------------------------------------------- dissecting */

static const struct umpa_proto *lldp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = 0;

	umpa_layer_cur(p, li, &c);
	while (at < l->len) {
		uint16_t tl;
		unsigned len;
		if (umpa_cur_be16_at(&c, at, &tl) < 0) {
			l->hlen = l->len;
			umpa_layer_short(p, li, "TLV header past the end");
			return NULL;
		}
		len = tl & 0x1ff;
		if (!umpa_cur_has(&c, at + 2, len)) {
			l->hlen = l->len;
			umpa_layer_short(p, li, "TLV past the end");
			return NULL;
		}
		at += 2u + len;
		if (tl >> 9 == T_END) {
			l->hlen = (uint32_t)at;
			l->len = (uint32_t)at; /* what follows is the frame's padding */
			return NULL;
		}
	}
	l->hlen = l->len;
	return NULL;
}

/* Emit the text of @n bytes at @at of @c up to its first NUL (at most 511 bytes shown). */
static void emit_text(struct umpa_emit *em, const char *key, struct umpa_cur *c, size_t at, size_t n)
{
	umpa_emit_text_(em, key, c, at, n, 511);
}

static void emit_caps(struct umpa_emit *em, const char *key, uint16_t v)
{
	char k[80];

	umpa_emit_hex(em, key, v, 4);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(k, sizeof k, "%s.%s", key, cap_bits[i]);
		umpa_emit_bool(em, k, (v >> i) & 1);
	}
}

static void emit_tlv(struct umpa_emit *em, struct umpa_cur *c, unsigned type, size_t at, unsigned len)
{
	const uint8_t *d;
	uint8_t sub = 0;
	uint16_t v16 = 0;
	uint32_t v32 = 0;

	if (len && umpa_cur_ptr_at(c, at, len, &d) < 0)
		return;
	switch (type) {
	case T_CHASSIS:
	case T_PORT: {
		int ch = type == T_CHASSIS;
		if (len < 1)
			return;
		umpa_cur_u8_at(c, at, &sub);
		umpa_emit_u64(em, ch ? "lldp.chassis.subtype" : "lldp.port.subtype", sub, NULL);
		if ((ch ? sub == 4 : sub == 3) && len == 7) {
			umpa_emit_mac(em, ch ? "lldp.chassis.id.mac" : "lldp.port.id.mac", d + 1);
		} else if ((ch ? sub == 5 : sub == 4) && len >= 2) {
			uint8_t fam = 0;
			umpa_cur_u8_at(c, at + 1, &fam);
			umpa_emit_u64(em, "lldp.network_address.subtype", fam, NULL);
			if (fam == 1 && len == 6)
				umpa_emit_ipv4(em, ch ? "lldp.chassis.id.ip4" : "lldp.port.id.ip4", d + 2);
			else if (fam == 2 && len == 18)
				umpa_emit_ipv6(em, ch ? "lldp.chassis.id.ip6" : "lldp.port.id.ip6", d + 2);
		} else if (len > 1) {
			if (ch)
				umpa_emit_bytes(em, "lldp.chassis.id", d + 1, len - 1u);
			else
				emit_text(em, "lldp.port.id", c, at + 1, len - 1u);
		}
		return;
	}
	case T_TTL:
		if (len >= 2 && umpa_cur_be16_at(c, at, &v16) == 0)
			umpa_emit_u64(em, "lldp.time_to_live", v16, NULL);
		return;
	case T_PORT_DESC:
		emit_text(em, "lldp.port.desc", c, at, len);
		return;
	case T_SYS_NAME:
		emit_text(em, "lldp.tlv.system.name", c, at, len);
		return;
	case T_SYS_DESC:
		emit_text(em, "lldp.tlv.system.desc", c, at, len);
		return;
	case T_CAPS:
		if (len < 4)
			return;
		umpa_cur_be16_at(c, at, &v16);
		emit_caps(em, "lldp.tlv.system_cap", v16);
		umpa_cur_be16_at(c, at + 2, &v16);
		emit_caps(em, "lldp.tlv.enable_system_cap", v16);
		return;
	case T_MGMT: {
		uint8_t alen = 0, isub = 0, olen = 0;
		if (len < 1 || umpa_cur_u8_at(c, at, &alen) < 0 || alen < 1 || len < 1u + alen + 6u)
			return;
		umpa_emit_u64(em, "lldp.mgn.address.len", alen, NULL);
		umpa_cur_u8_at(c, at + 1, &sub);
		umpa_emit_u64(em, "lldp.mgn.address.subtype", sub, NULL);
		if (sub == 1 && alen == 5)
			umpa_emit_ipv4(em, "lldp.mgn.addr.ip4", d + 2);
		else if (sub == 2 && alen == 17)
			umpa_emit_ipv6(em, "lldp.mgn.addr.ip6", d + 2);
		else if (alen > 1)
			umpa_emit_bytes(em, "lldp.mgn.addr.hex", d + 2, alen - 1u);
		umpa_cur_u8_at(c, at + 1 + alen, &isub);
		umpa_emit_u64(em, "lldp.mgn.interface.subtype", isub, NULL);
		umpa_cur_be32_at(c, at + 2 + alen, &v32);
		umpa_emit_u64(em, "lldp.mgn.interface.number", v32, NULL);
		if (umpa_cur_u8_at(c, at + 6 + alen, &olen) == 0)
			umpa_emit_u64(em, "lldp.mgn.obj.len", olen, NULL);
		return;
	}
	case T_ORG: {
		uint32_t oui = 0;
		uint8_t st = 0;
		if (len < 4 || umpa_cur_be24_at(c, at, &oui) < 0 || umpa_cur_u8_at(c, at + 3, &st) < 0)
			return;
		umpa_emit_u64(em, "lldp.orgtlv.oui", oui, NULL);
		if (len >= 6)
			umpa_cur_be16_at(c, at + 4, &v16);
		if (oui == OUI_8021) {
			umpa_emit_hex(em, "lldp.ieee.802_1.subtype", st, 2);
			if (st == 1 && len >= 6)
				umpa_emit_u64(em, "lldp.ieee.802_1.port_vlan.id", v16, NULL);
		} else if (oui == OUI_8023) {
			umpa_emit_hex(em, "lldp.ieee.802_3.subtype", st, 2);
			if (st == 4 && len >= 6)
				umpa_emit_u64(em, "lldp.ieee.802_3.max_frame_size", v16, NULL);
		}
		return;
	}
	}
}

static void lldp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = 0;

	umpa_layer_cur(p, li, &c);
	while (at + 2 <= l->hlen) {
		uint16_t tl;
		unsigned type, len;
		if (umpa_cur_be16_at(&c, at, &tl) < 0)
			break;
		type = tl >> 9;
		len = tl & 0x1ff;
		if (at + 2 + len > l->hlen)
			break;
		umpa_emit_open(em, "lldp.tlv", umpa_vname_find(tlv_names, type));
		umpa_emit_u64(em, "lldp.tlv.type", type, umpa_vname_find(tlv_names, type));
		umpa_emit_u64(em, "lldp.tlv.len", len, NULL);
		emit_tlv(em, &c, type, at + 2, len);
		umpa_emit_close(em);
		at += 2u + len;
		if (type == T_END)
			break;
	}
}

/* tcpdump: "LLDP, length N", and ": NAME" for a system name TLV, its bytes as tcpdump's nd_printjnp shows
 * them (M- before a byte with the top bit, ^ before a control character). */
static void lldp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = 0;

	umpa_layer_cur(p, li, &c);
	umpa_sbuf_printf(out, "LLDP, length %u", p->l[li].len);
	while (at + 2 <= l->hlen) {
		uint16_t tl;
		unsigned len;
		if (umpa_cur_be16_at(&c, at, &tl) < 0)
			return;
		len = tl & 0x1ff;
		if (at + 2 + len > l->hlen || tl >> 9 == T_END)
			return;
		if (tl >> 9 == T_SYS_NAME) {
			umpa_sbuf_puts(out, ": ");
			for (unsigned i = 0; i < len; i++) {
				uint8_t ch = 0;
				umpa_cur_u8_at(&c, at + 2 + i, &ch);
				if (ch & 0x80) {
					umpa_sbuf_puts(out, "M-");
					ch &= 0x7f;
				}
				if (ch < 0x20 || ch == 0x7f) {
					umpa_sbuf_putc(out, '^');
					ch = ch == 0x7f ? '?' : (uint8_t)(ch ^ 0x40);
				}
				umpa_sbuf_putc(out, (char)ch);
			}
		}
		at += 2u + len;
	}
}

const struct umpa_proto umpa_proto_lldp = {
    .name = "lldp",
    .aliases = "LLDPDU",
    .title = "Link Layer Discovery Protocol",
    .fields = lldp_fields,
    .nfields = F_COUNT,
    .hdr_len = 0,
    .dissect = lldp_dissect,
    .set_var = lldp_set_var,
    .details = lldp_details,
    .summary = lldp_summary,
};
