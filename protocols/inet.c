/* inet.c - pseudo-header sums shared by UDP, TCP and ICMPv6 (RFC 768, 793, 8200 s8.1).
 *
 * The pseudo-header's destination is the final one: the last address of an
 * IPv4 loose/strict source route still in progress, or of an IPv6 routing
 * header with segments left (segment list[0] for an SRH).
 */
#include "umpa_inet.h"

#include "umpa_protos.h"

int umpa_inet_l3(const struct umpa_pkt *p, unsigned li)
{
	for (int i = (int)li - 1; i >= 0; i--) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr->pflags & UMPA_PF_NET)
			return i;
		if (pr->pflags & UMPA_PF_NETEXT)
			continue;
		return -1;
	}
	return -1;
}

/* The final destination an IPv4 loose or strict source route option (131,
 * 137) names while the route is not complete (pointer within the option):
 * its last address.  NULL when there is none.  @c is the IPv4 layer, @hl its
 * header length (the layer's, not the IHL: building fills the IHL after the
 * transport checksum). */
static const uint8_t *ipv4_final_dst(struct umpa_cur *c, uint32_t hl)
{
	const uint8_t *o;
	uint32_t i = 20;

	while (i < hl) {
		uint8_t t, len, ptr;
		if (umpa_cur_u8_at(c, i, &t) < 0)
			return NULL;
		if (t == 0)
			return NULL;
		if (t == 1) {
			i++;
			continue;
		}
		if (umpa_cur_u8_at(c, i + 1, &len) < 0 || len < 2 || i + len > hl)
			return NULL;
		if ((t == 131 || t == 137) && len >= 7) {
			if (!umpa_cur_has(c, i, len) || umpa_cur_u8_at(c, i + 2, &ptr) < 0)
				return NULL;
			if (ptr > len) /* route complete: the header holds the final destination */
				return NULL;
			return umpa_cur_ptr_at(c, i + 3 + ((len - 3u) / 4u - 1u) * 4u, 4, &o) < 0 ? NULL : o;
		}
		i += len;
	}
	return NULL;
}

/* The final destination a routing header (layer @p ri) names when segments
 * are left: the last address of types 0 and 2, segment list[0] of an SRH
 * (type 4).  NULL when none (no segments left, other types, short header). */
static const uint8_t *ipv6_final_dst(const struct umpa_pkt *p, unsigned ri)
{
	struct umpa_cur c;
	const uint8_t *a;
	uint8_t len8, type, left;
	unsigned n;

	umpa_layer_cur(p, ri, &c);
	if (!umpa_cur_has(&c, 0, 8) || umpa_cur_u8_at(&c, 1, &len8) < 0 || umpa_cur_u8_at(&c, 2, &type) < 0 ||
	    umpa_cur_u8_at(&c, 3, &left) < 0 || left == 0)
		return NULL;
	n = len8 / 2u; /* 16-byte addresses after the first 8 bytes */
	if (n == 0)
		return NULL;
	if (type == 0 || type == 2)
		return umpa_cur_ptr_at(&c, 8 + 16 * (n - 1), 16, &a) < 0 ? NULL : a;
	if (type == 4)
		return umpa_cur_ptr_at(&c, 8, 16, &a) < 0 ? NULL : a;
	return NULL;
}

int umpa_inet_fragment(const struct umpa_pkt *p, unsigned li)
{
	for (int i = (int)li - 1; i >= 0; i--) {
		const struct umpa_proto *pr = p->l[i].proto;
		struct umpa_cur c;
		uint8_t b;

		umpa_layer_cur(p, (unsigned)i, &c);
		if (pr == &umpa_proto_ip) /* MF: 0x20 of byte 6 */
			return umpa_cur_u8_at(&c, 6, &b) == 0 && (b & 0x20);
		if (pr == &umpa_proto_ipv6_frag) { /* M: 0x01 of byte 3 */
			if (umpa_cur_u8_at(&c, 3, &b) == 0 && (b & 0x01))
				return 1;
			continue;
		}
		if (pr == &umpa_proto_ipv6)
			return 0;
		if (pr->pflags & UMPA_PF_NETEXT) /* the fragment header was looked at above */
			continue;
		return 0;
	}
	return 0;
}

int umpa_inet_pseudo_sum(const struct umpa_pkt *p, unsigned li, uint8_t proto, uint32_t len, uint32_t *sum)
{
	int l3 = umpa_inet_l3(p, li);
	struct umpa_cur c;
	const uint8_t *a;
	uint32_t s = 0;
	uint8_t tail[8];

	if (l3 < 0)
		return -1;
	umpa_layer_cur(p, (unsigned)l3, &c);
	if (p->l[l3].proto == &umpa_proto_ip) {
		const uint8_t *fin;
		struct umpa_cur fc;
		uint16_t w[4];
		if (umpa_cur_ptr_at(&c, 12, 8, &a) < 0)
			return -1;
		/* with a source route the pseudo-header holds the final
		 * destination, as Scapy's in4_chksum and Wireshark compute it */
		fin = ipv4_final_dst(&c, p->l[l3].hlen);
		umpa_cur_init(&fc, fin ? fin : a + 4, 4);
		/* the twelve bytes as six 16-bit words, summed here (it runs for every TCP and UDP
		 * segment dissected): the same sum umpa_csum_add gives */
		if (umpa_cur_be16_at(&c, 12, &w[0]) < 0 || umpa_cur_be16_at(&c, 14, &w[1]) < 0 ||
		    umpa_cur_be16_at(&fc, 0, &w[2]) < 0 || umpa_cur_be16_at(&fc, 2, &w[3]) < 0)
			return -1;
		s = (uint32_t)w[0] + w[1] + w[2] + w[3] + proto + (len & 0xffff);
	} else {
		const uint8_t *fin = NULL;
		if (umpa_cur_ptr_at(&c, 8, 32, &a) < 0)
			return -1;
		/* RFC 8200 s8.1: with a Routing header the pseudo-header holds the
		 * final destination (what Scapy's in6_chksum and Wireshark use). */
		for (unsigned i = (unsigned)l3 + 1; i < li && !fin; i++)
			if (p->l[i].proto == &umpa_proto_ipv6_route)
				fin = ipv6_final_dst(p, i);
		s = umpa_csum_add(0, a, 16);
		s = umpa_csum_add(s, fin ? fin : a + 16, 16);
		tail[0] = (uint8_t)(len >> 24);
		tail[1] = (uint8_t)(len >> 16);
		tail[2] = (uint8_t)(len >> 8);
		tail[3] = (uint8_t)len;
		tail[4] = tail[5] = tail[6] = 0;
		tail[7] = proto;
		s = umpa_csum_add(s, tail, 8);
	}
	*sum = s;
	return 0;
}

uint16_t umpa_inet_csum(const struct umpa_pkt *p, unsigned li, uint32_t csum_off, int pseudo, uint8_t proto, int *ok)
{
	const struct umpa_layer *l = &p->l[li];
	const uint8_t *d = p->data + l->off;
	uint32_t sum = 0;

	*ok = 1;
	if (pseudo && umpa_inet_pseudo_sum(p, li, proto, l->len, &sum) < 0) {
		*ok = 0;
		return 0;
	}
	if (csum_off + 2 <= l->len) {
		/* sum around the checksum field (counted as zero); csum_off is even */
		sum = umpa_csum_add(sum, d, csum_off);
		sum = umpa_csum_add(sum, d + csum_off + 2, l->len - csum_off - 2);
	} else {
		sum = umpa_csum_add(sum, d, l->len);
	}
	return umpa_csum_fold(sum);
}

int umpa_inet_partial_csum(const struct umpa_pkt *p, unsigned li, uint32_t pseudo, uint32_t csum_off)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t field, part;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, csum_off, &field) < 0)
		return 0;
	part = (uint16_t)~umpa_csum_fold(pseudo);
	if (field != part && !(part == 0 && field == 0xffff) && !(part == 0xffff && field == 0))
		return 0;
	/* a real checksum that equals it by chance verifies: then it is a real one */
	return umpa_csum_fold(umpa_csum_add(pseudo, p->data + l->off, l->len)) != 0;
}
