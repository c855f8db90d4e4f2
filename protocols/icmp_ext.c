/* icmp_ext.c - ICMP extension structures (RFC 4884; MPLS label stack RFC 4950; interface information RFC 5837).
 *
 * Shared by icmp.c and icmpv6.c (icmp_ext.h says what each function does):
 * finding the structure after the quoted datagram and showing its objects
 * under Wireshark's names (icmp.ext.version, .res, .checksum; each object
 * an "icmp.ext.object" group with icmp.ext.length, .class, .ctype and,
 * by class, icmp.mpls.label/exp/s/ttl per label stack entry or
 * icmp.int_info.*; other objects as icmp.ext.data).
 */
#include <stdio.h>
#include <string.h>

#include "icmp_ext.h"

uint32_t umpa_icmp_ext_at_(struct umpa_cur *c, uint32_t body, uint32_t quoted, uint32_t len, int compat)
{
	uint32_t at;
	uint8_t v = 0;

	if (quoted == 0) {
		if (!compat)
			return 0;
		quoted = UMPA_ICMP_EXT_COMPAT_;
	}
	if (body + quoted < body || body + quoted + 4 > len)
		return 0;
	at = body + quoted;
	if (umpa_cur_u8_at(c, at, &v) < 0 || v >> 4 != 2)
		return 0;
	return at;
}

/* One interface information object's payload (RFC 5837) at [@at, @end) with C-type @ct. */
static void emit_int_info(struct umpa_emit *em, struct umpa_cur *c, uint8_t ct, uint32_t at, uint32_t end)
{
	uint32_t v32 = 0;
	uint16_t afi = 0;
	uint8_t n = 0;
	const uint8_t *d;
	char name[64];

	umpa_emit_u64(em, "icmp.int_info.role", ct >> 6, NULL);
	umpa_emit_u64(em, "icmp.int_info.reserved", (ct >> 4) & 3, NULL);
	umpa_emit_bool(em, "icmp.int_info.ifindex", (ct >> 3) & 1);
	umpa_emit_bool(em, "icmp.int_info.ipaddr", (ct >> 2) & 1);
	umpa_emit_bool(em, "icmp.int_info.name_present", (ct >> 1) & 1);
	umpa_emit_bool(em, "icmp.int_info.mtu_present", ct & 1);
	if (ct & 8) {
		if (at + 4 > end || umpa_cur_be32_at(c, at, &v32) < 0)
			return;
		umpa_emit_u64(em, "icmp.int_info.index", v32, NULL);
		at += 4;
	}
	if (ct & 4) {
		if (at + 4 > end || umpa_cur_be16_at(c, at, &afi) < 0 || umpa_cur_ptr_at(c, at + 2, 2, &d) < 0)
			return;
		umpa_emit_open(em, "icmp.int_info.ip", "IP Address Sub-Object");
		umpa_emit_u64(em, "icmp.int_info.afi", afi, NULL);
		umpa_emit_bytes(em, "icmp.reserved", d, 2);
		if (afi == 1 && at + 8 <= end && umpa_cur_ptr_at(c, at + 4, 4, &d) == 0) {
			umpa_emit_ipv4(em, "icmp.int_info.ipv4", d);
			at += 8;
		} else if (afi == 2 && at + 20 <= end && umpa_cur_ptr_at(c, at + 4, 16, &d) == 0) {
			umpa_emit_ipv6(em, "icmp.int_info.ipv6", d);
			at += 20;
		} else {
			umpa_emit_close(em);
			return; /* an unknown family: its length is unknown, so nothing after it can be read */
		}
		umpa_emit_close(em);
	}
	if (ct & 2) {
		if (at + 1 > end || umpa_cur_u8_at(c, at, &n) < 0 || n < 1 || at + n > end)
			return;
		umpa_emit_open(em, "icmp.int_info.name_obj", "Interface Name Sub-Object");
		umpa_emit_u64(em, "icmp.int_info.name_length", n, NULL);
		if (n > 1) {
			size_t k = n - 1u < sizeof name - 1 ? n - 1u : sizeof name - 1;
			if (umpa_cur_copy_at(c, at + 1, k, name) == 0) {
				name[k] = 0;
				umpa_emit_str(em, "icmp.int_info.name", name);
			}
		}
		umpa_emit_close(em);
		at += n;
	}
	if (ct & 1 && at + 4 <= end && umpa_cur_be32_at(c, at, &v32) == 0)
		umpa_emit_u64(em, "icmp.int_info.mtu", v32, NULL);
}

void umpa_icmp_ext_emit_(struct umpa_emit *em, struct umpa_cur *c, uint32_t at, uint32_t end)
{
	uint16_t hdr = 0, sum = 0;

	if (at + 4 > end || umpa_cur_be16_at(c, at, &hdr) < 0 || umpa_cur_be16_at(c, at + 2, &sum) < 0)
		return;
	umpa_emit_open(em, "icmp.ext", "ICMP Extensions");
	umpa_emit_u64(em, "icmp.ext.version", hdr >> 12, NULL);
	umpa_emit_hex(em, "icmp.ext.res", hdr & 0x0fff, 4);
	umpa_emit_hex(em, "icmp.ext.checksum", sum, 4);
	at += 4;
	while (at + 4 <= end) {
		uint16_t olen = 0;
		uint8_t cls = 0, ct = 0;
		const uint8_t *d;
		if (umpa_cur_be16_at(c, at, &olen) < 0 || umpa_cur_u8_at(c, at + 2, &cls) < 0 ||
		    umpa_cur_u8_at(c, at + 3, &ct) < 0 || olen < 4 || at + olen > end)
			break;
		umpa_emit_open(em, "icmp.ext.object",
			       cls == 1   ? "MPLS Stack Entry"
			       : cls == 2 ? "Interface Information Object"
					  : "Unknown object");
		umpa_emit_u64(em, "icmp.ext.length", olen, NULL);
		umpa_emit_u64(em, "icmp.ext.class", cls, NULL);
		umpa_emit_u64(em, "icmp.ext.ctype", ct, NULL);
		if (cls == 1 && ct == 1) {
			for (uint32_t k = at + 4; k + 4 <= at + olen; k += 4) {
				uint32_t e = 0;
				umpa_cur_be32_at(c, k, &e);
				umpa_emit_open(em, "icmp.mpls", NULL);
				umpa_emit_u64(em, "icmp.mpls.label", e >> 12, NULL);
				umpa_emit_u64(em, "icmp.mpls.exp", (e >> 9) & 7, NULL);
				umpa_emit_bool(em, "icmp.mpls.s", (e >> 8) & 1);
				umpa_emit_u64(em, "icmp.mpls.ttl", e & 0xff, NULL);
				umpa_emit_close(em);
			}
		} else if (cls == 2) {
			emit_int_info(em, c, ct, at + 4, at + olen);
		} else if (olen > 4 && umpa_cur_ptr_at(c, at + 4, olen - 4u, &d) == 0) {
			umpa_emit_bytes(em, "icmp.ext.data", d, olen - 4u);
		}
		umpa_emit_close(em);
		at += olen;
	}
	umpa_emit_close(em);
}
