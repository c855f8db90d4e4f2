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

#include <arpa/inet.h>

#include "icmp_ext.h"
#include "proto_common.h"
#include "umpa_packet.h"
#include "umpa_spec.h"

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
		if (n > 1)
			umpa_emit_text_(em, "icmp.int_info.name", c, at + 1, n - 1u, 63);
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

/* ifinfo=ROLE/IFINDEX/ADDR/NAME/MTU into @b (room @max) after its 4-byte object header; the C-type in *@ct.
 * Returns the payload length or -1. */
static long ifinfo_payload(struct umpa_span v, uint8_t *b, size_t max, uint8_t *ct)
{
	struct umpa_span part[5] = {{0}}, head, rest = v;
	size_t n = 0, k = 0;
	uint64_t x;
	char tmp[80];

	while (k < 5) {
		int more = umpa_span_cut(rest, "/", &head, &rest);
		part[k++] = umpa_span_trim(head);
		if (!more)
			break;
	}
	if (k != 5 || umpa_spec_num(part[0], 3, &x) < 0)
		return -1;
	*ct = (uint8_t)(x << 6);
	if (part[1].n) {
		if (umpa_spec_num(part[1], 0xffffffffu, &x) < 0 || max < n + 4)
			return -1;
		umpa_put_be16_(b + n, (uint32_t)(x >> 16));
		umpa_put_be16_(b + n + 2, (uint32_t)x);
		n += 4;
		*ct |= 8;
	}
	if (part[2].n) {
		if (umpa_span_cstr(part[2], tmp, sizeof tmp) < 0 || max < n + 20)
			return -1;
		memset(b + n, 0, 4);
		if (inet_pton(AF_INET, tmp, b + n + 4) == 1) {
			umpa_put_be16_(b + n, 1);
			n += 8;
		} else if (inet_pton(AF_INET6, tmp, b + n + 4) == 1) {
			umpa_put_be16_(b + n, 2);
			n += 20;
		} else {
			return -1;
		}
		*ct |= 4;
	}
	if (part[3].n) {
		size_t len = (1 + part[3].n + 3) / 4 * 4; /* length byte, name, zero padding to 4 */
		if (len > 64 || max < n + len)
			return -1;
		memset(b + n, 0, len);
		b[n] = (uint8_t)len;
		memcpy(b + n + 1, part[3].s, part[3].n);
		n += len;
		*ct |= 2;
	}
	if (part[4].n) {
		if (umpa_spec_num(part[4], 0xffffffffu, &x) < 0 || max < n + 4)
			return -1;
		umpa_put_be16_(b + n, (uint32_t)(x >> 16));
		umpa_put_be16_(b + n + 2, (uint32_t)x);
		n += 4;
		*ct |= 1;
	}
	return (long)n;
}

long umpa_icmp_ext_build_(const char *spec, uint8_t *b, size_t max, struct umpa_err *e)
{
	struct umpa_span s = umpa_span_of(spec), ks, vs, cls_s, ct_s;
	size_t n = 4;
	int hasval;
	uint32_t sum;

	if (max < 4)
		return umpa_err_set(e, UMPA_ERANGE, "icmp.ext: no room");
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		uint8_t cls, ct = 0;
		long pl;
		uint64_t x, y;

		if (max - n < 8)
			return umpa_err_set(e, UMPA_ERANGE, "icmp.ext: more than %zu bytes of objects", max);
		if (umpa_span_is(ks, "mpls")) {
			struct umpa_span part;
			uint64_t f[4];
			unsigned k = 0;
			cls = 1, ct = 1, pl = 0;
			while (umpa_spec_part(&vs, &part)) {
				static const uint64_t lim[4] = {0xfffff, 7, 1, 255};
				if (umpa_spec_num(part, lim[k], &f[k]) < 0)
					goto bad;
				if (++k == 4) {
					uint32_t v = (uint32_t)(f[0] << 12 | f[1] << 9 | f[2] << 8 | f[3]);
					if (max - n - 4 < (size_t)pl + 4)
						goto bad;
					umpa_put_be16_(b + n + 4 + pl, v >> 16);
					umpa_put_be16_(b + n + 6 + pl, v);
					pl += 4;
					k = 0;
				}
			}
			if (k || pl == 0)
				goto bad;
		} else if (umpa_span_is(ks, "ifinfo")) {
			cls = 2;
			if ((pl = ifinfo_payload(vs, b + n + 4, max - n - 4, &ct)) < 0)
				goto bad;
		} else if (umpa_span_cut(ks, ".", &cls_s, &ct_s) && umpa_spec_num(cls_s, 255, &x) == 0 &&
			   umpa_spec_num(ct_s, 255, &y) == 0) {
			cls = (uint8_t)x, ct = (uint8_t)y;
			pl = hasval ? umpa_spec_hex(vs, b + n + 4, max - n - 4) : 0;
			if (pl < 0)
				goto bad;
		} else {
			return umpa_err_set(e, UMPA_EINVAL,
					    "icmp.ext: unknown object '%.*s' (mpls=LABEL:EXP:S:TTL, "
					    "ifinfo=ROLE/IFINDEX/ADDR/NAME/MTU, CLASS.CTYPE=HEX)",
					    (int)ks.n, ks.s);
		}
		umpa_put_be16_(b + n, 4u + (uint32_t)pl);
		b[n + 2] = cls;
		b[n + 3] = ct;
		n += 4 + (size_t)pl;
		continue;
	bad:
		return umpa_err_set(e, UMPA_EINVAL, "icmp.ext: bad value '%.*s' for %.*s", (int)vs.n, vs.s, (int)ks.n,
				    ks.s);
	}
	b[0] = 0x20, b[1] = 0, b[2] = 0, b[3] = 0;
	sum = umpa_csum_fold(umpa_csum_add(0, b, (uint32_t)n));
	umpa_put_be16_(b + 2, sum);
	return (long)n;
}
