/* dissect.c - the dissector driver: walks protocols' dissect hooks over a packet.
 *
 * Each layer gets a window [off, off+len).  A hook may shrink the window to
 * what its header says (the IP total length bounds everything inside, as in
 * tcpdump's print-ip.c) but never grow it.  What a protocol does not claim
 * becomes a raw layer.  A layer too short for its fixed header is flagged
 * (truncated or invalid) and dissection stops there: nothing is read past it.
 */
#include "umpa_protos.h"

static unsigned dissect_loop(struct umpa_pkt *p, unsigned li, const struct umpa_proto *proto, uint32_t off,
			     uint32_t len, uint16_t inherit, unsigned max)
{
	while (li < max) {
		struct umpa_layer *l = &p->l[li];
		const struct umpa_proto *next = NULL;

		if (proto == &umpa_proto_ip) { /* raw link types carry either: the version nibble says */
			struct umpa_cur c;
			uint64_t ver;
			umpa_cur_init(&c, p->data + off, len);
			if (umpa_cur_bits_at(&c, 0, 4, &ver) == 0 && ver == 6)
				proto = &umpa_proto_ipv6;
		}
		l->proto = proto;
		l->off = off;
		l->len = len;
		l->hlen = proto->hdr_len;
		l->flags = inherit;
		l->why = NULL;
		l->set = ~0ULL;
		l->aux = 0;
		l->plen = 0;
		p->nlayers = ++li;
		if (len < proto->hdr_len) {
			l->hlen = len;
			/* an ICMP error quotes a datagram's first bytes: a cut header is normal there */
			if (!(l->flags & UMPA_L_QUOTED))
				umpa_layer_short(p, li - 1, "header cut short");
			break;
		}
		if (proto->dissect)
			next = proto->dissect(p, li - 1);
		if (l->hlen > l->len) { /* the hook found the header longer than its window */
			if (!(l->flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_QUOTED)))
				umpa_layer_short(p, li - 1, "header longer than the bytes present");
			l->hlen = l->len;
			break;
		}
		if (l->flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID) && !next)
			break;
		if (l->flags & (UMPA_L_QUOTES | UMPA_L_QUOTED))
			inherit |= UMPA_L_QUOTED;
		off = l->off + l->hlen;
		len = l->len - l->hlen;
		if (l->plen && l->plen < len)
			len = l->plen; /* the rest is the layer's own (its trailer) */
		if (len == 0)
			break;
		proto = next ? next : &umpa_proto_raw;
		if (proto == &umpa_proto_raw && l->proto == &umpa_proto_raw)
			break;
	}
	return p->nlayers;
}

unsigned umpa_dissect_from(struct umpa_pkt *p, unsigned li, const struct umpa_proto *proto, uint32_t off, uint32_t len)
{
	if (off > p->len)
		off = p->len;
	if (len > p->len - off)
		len = p->len - off;
	p->nlayers = li;
	if (li >= UMPA_MAX_LAYERS)
		return li;
	return dissect_loop(p, li, proto ? proto : &umpa_proto_raw, off, len, 0, UMPA_MAX_LAYERS);
}

unsigned umpa_dissect(struct umpa_pkt *p)
{
	const struct umpa_proto *first = umpa_proto_for_linktype(p->linktype);

	p->nlayers = 0;
	if (p->len == 0)
		return 0;
	return umpa_dissect_from(p, 0, first, 0, p->len);
}

unsigned umpa_dissect_outer(struct umpa_pkt *p)
{
	const struct umpa_proto *first = umpa_proto_for_linktype(p->linktype);

	p->nlayers = 0;
	if (p->len == 0)
		return 0;
	return dissect_loop(p, 0, first ? first : &umpa_proto_raw, 0, p->len, 0, 1);
}
