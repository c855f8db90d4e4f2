/* inet.c - pseudo-header sums shared by UDP, TCP and ICMPv6 (RFC 768, 793, 8200 s8.1). */
#include "umpa_inet.h"

#include "umpa_protos.h"

int umpa_inet_l3(const struct umpa_pkt *p, unsigned li)
{
	for (int i = (int)li - 1; i >= 0; i--) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr == &umpa_proto_ip || pr == &umpa_proto_ipv6)
			return i;
		if (pr == &umpa_proto_ipv6_hop || pr == &umpa_proto_ipv6_route || pr == &umpa_proto_ipv6_frag ||
		    pr == &umpa_proto_ipv6_dst)
			continue;
		return -1;
	}
	return -1;
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
		if (umpa_cur_ptr_at(&c, 12, 8, &a) < 0)
			return -1;
		s = umpa_csum_add(0, a, 8);
		tail[0] = 0;
		tail[1] = proto;
		tail[2] = (uint8_t)(len >> 8);
		tail[3] = (uint8_t)len;
		s = umpa_csum_add(s, tail, 4);
	} else {
		if (umpa_cur_ptr_at(&c, 8, 32, &a) < 0)
			return -1;
		s = umpa_csum_add(0, a, 32);
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

uint16_t umpa_inet_csum(const struct umpa_pkt *p, unsigned li, uint32_t csum_off, int pseudo, uint8_t proto,
			int *ok)
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
