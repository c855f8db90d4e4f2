/* replay.c - umpa replay: the capture model, rewriting, the checker, the report and the run.
 *
 * See sched/umpa_replay.h for the models.  The capture is read whole into
 * one arena (bytes re-framed for the interface on the way in), dissected
 * once to find flows (an open-addressing table over canonical flow keys) and
 * exchanges (a recorded answer is looked up among the recent SEND packets of
 * its flow by the expect engine's matching hash, then confirmed with
 * umpa_match_answers), and dissected again wherever a packet is needed:
 * dissecting is indexing, cheaper than keeping 32 layer slots per packet.
 *
 * The run sends on an absolute schedule: packet k of iteration i is due at
 * start + i * span + (ts[k] - ts[0]) / multiplier (original timing, a timer
 * per burst), or at the scheduler's rate (--pps, --mbps, --topspeed: a
 * packet source with its token bucket and rate report).  Each sent request
 * is registered with the expect engine (sent_by_caller, registered before
 * the frame leaves, so a template that answers at once is not missed); an
 * answer is compared with the recorded one field by field, no answer within
 * the timeout is a missing answer.
 */
#include <arpa/inet.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_expect.h"
#include "umpa_capfile.h"
#include "umpa_protos.h"
#include "umpa_replay.h"
#include "umpa_sched.h"

/* ================================================================== */
/* Small helpers                                                      */
/* ================================================================== */

static int first_net_layer(const struct umpa_pkt *p, unsigned from)
{
	for (unsigned i = from; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr == &umpa_proto_ip || pr == &umpa_proto_ipv6 || pr == &umpa_proto_arp)
			return (int)i;
	}
	return -1;
}

/* the layer above network layer @p net (IPv6 extension headers skipped), or -1 */
static int transport_layer(const struct umpa_pkt *p, unsigned net)
{
	for (unsigned i = net + 1; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr == &umpa_proto_ipv6_hop || pr == &umpa_proto_ipv6_route || pr == &umpa_proto_ipv6_frag ||
		    pr == &umpa_proto_ipv6_dst)
			continue;
		return (int)i;
	}
	return -1;
}

/* 1 when dissected @p p is an ICMP/ICMPv6 error (it quotes a packet) */
static int is_error(const struct umpa_pkt *p)
{
	int net = first_net_layer(p, 0), tl = net < 0 ? -1 : transport_layer(p, (unsigned)net);
	return tl >= 0 && (p->l[tl].flags & UMPA_L_QUOTES) != 0;
}

/* ================================================================== */
/* Flow keys                                                          */
/* ================================================================== */

struct fkey {
	uint8_t kind, family, proto, pad;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

/*
 * The canonical key of dissected packet @p p from layer @p from on (both
 * directions of a flow give the same key); *dir is 0 when the packet was
 * sent by endpoint a, 1 by b.  An ICMP error takes the key of what it
 * quotes, its direction reversed.  Returns 0, or -1 when the packet has no
 * network layer (the key is then the "other" flow's).
 */
static int flow_key(const struct umpa_pkt *p, unsigned from, struct fkey *k, int *dir, int depth)
{
	int net = first_net_layer(p, from), tl;
	struct umpa_cur c;
	uint8_t sa[16] = {0}, da[16] = {0};
	uint16_t sp = 0, dp = 0;
	unsigned alen = 4;
	int d;

	memset(k, 0, sizeof *k);
	*dir = 0;
	if (net < 0)
		return -1;
	umpa_layer_cur(p, (unsigned)net, &c);
	if (p->l[net].proto == &umpa_proto_arp) {
		uint8_t hl = 0, pl = 0;
		if (umpa_cur_u8_at(&c, 4, &hl) < 0 || umpa_cur_u8_at(&c, 5, &pl) < 0 || pl != 4 ||
		    umpa_cur_copy_at(&c, 8u + hl, 4, sa) < 0 || umpa_cur_copy_at(&c, 8u + 2u * hl + 4u, 4, da) < 0)
			return -1;
		k->kind = UMPA_FLOW_ARP;
		k->family = 0;
	} else if (p->l[net].proto == &umpa_proto_ip) {
		uint8_t pr = 0;
		if (umpa_cur_copy_at(&c, 12, 4, sa) < 0 || umpa_cur_copy_at(&c, 16, 4, da) < 0 ||
		    umpa_cur_u8_at(&c, 9, &pr) < 0)
			return -1;
		k->family = 4;
		k->proto = pr;
		k->kind = UMPA_FLOW_OTHER;
	} else {
		alen = 16;
		if (umpa_cur_copy_at(&c, 8, 16, sa) < 0 || umpa_cur_copy_at(&c, 24, 16, da) < 0)
			return -1;
		k->family = 6;
		k->kind = UMPA_FLOW_OTHER;
	}
	tl = k->kind == UMPA_FLOW_ARP ? -1 : transport_layer(p, (unsigned)net);
	if (tl >= 0) {
		const struct umpa_proto *tp = p->l[tl].proto;
		struct umpa_cur t;
		umpa_layer_cur(p, (unsigned)tl, &t);
		if (tp == &umpa_proto_udp || tp == &umpa_proto_tcp) {
			k->kind = tp == &umpa_proto_udp ? UMPA_FLOW_UDP : UMPA_FLOW_TCP;
			k->proto = tp == &umpa_proto_udp ? 17 : 6;
			umpa_cur_be16_at(&t, 0, &sp);
			umpa_cur_be16_at(&t, 2, &dp);
		} else if (tp == &umpa_proto_icmp || tp == &umpa_proto_icmpv6) {
			uint8_t type = 0;
			int v6 = tp == &umpa_proto_icmpv6;
			umpa_cur_u8_at(&t, 0, &type);
			k->proto = v6 ? 58 : 1;
			if ((p->l[tl].flags & UMPA_L_QUOTES) && depth == 0 && (unsigned)tl + 1 < p->nlayers) {
				/* an error goes with the flow of what it quotes, sent the other way */
				struct fkey q;
				int qd;
				if (flow_key(p, (unsigned)tl + 1, &q, &qd, 1) == 0) {
					*k = q;
					*dir = !qd;
					return 0;
				}
			}
			if ((!v6 && (type == 8 || type == 0 || type == 13 || type == 14)) ||
			    (v6 && (type == 128 || type == 129))) {
				k->kind = UMPA_FLOW_ICMP;
				umpa_cur_be16_at(&t, 4, &sp);
				dp = sp;
			} else if (v6 && (type == 135 || type == 136)) {
				/* neighbour discovery: the target address; the solicitation is the client's */
				uint8_t tgt[16];
				if (umpa_cur_copy_at(&t, 8, 16, tgt) == 0) {
					k->kind = UMPA_FLOW_ND;
					memcpy(k->a, tgt, 16);
					*dir = type == 136;
					return 0;
				}
			}
		}
	}
	d = memcmp(sa, da, alen);
	if (d > 0 || (d == 0 && sp > dp)) {
		memcpy(k->a, da, alen);
		memcpy(k->b, sa, alen);
		k->pa = dp;
		k->pb = sp;
		*dir = 1;
	} else {
		memcpy(k->a, sa, alen);
		memcpy(k->b, da, alen);
		k->pa = sp;
		k->pb = dp;
	}
	return 0;
}

/* five 64-bit words mixed (multiply, fold): the flow table is probed once per packet loaded and per answer */
static uint32_t fkey_hash(const struct fkey *k)
{
	uint64_t w[sizeof *k / 8], h = 0x9e3779b97f4a7c15ull;
	memcpy(w, k, sizeof w);
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)(h ^ (h >> 29));
}
_Static_assert(sizeof(struct fkey) % 8 == 0, "fkey_hash reads the key as 64-bit words");

/* the capture's private part: the flow table and keys */
struct cap_priv {
	struct fkey *keys;   /* per flow */
	uint8_t *client_dir; /* per flow: the dir of the client's packets */
	uint32_t *tab;       /* open addressing: flow index + 1, 0 empty */
	size_t tabsize;      /* power of two */
};

static long flow_find(const struct cap_priv *cp, const struct fkey *k)
{
	size_t m = cp->tabsize - 1, i = fkey_hash(k) & m;
	for (;;) {
		uint32_t v = cp->tab[i];
		if (!v)
			return -1;
		if (!memcmp(&cp->keys[v - 1], k, sizeof *k))
			return (long)v - 1;
		i = (i + 1) & m;
	}
}

static int tab_rehash(struct cap_priv *cp, uint32_t nflows, struct umpa_err *e)
{
	size_t ns = cp->tabsize ? cp->tabsize * 2 : 1024;
	uint32_t *nt = calloc(ns, sizeof *nt);
	if (!nt)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory reading the capture");
	free(cp->tab);
	cp->tab = nt;
	cp->tabsize = ns;
	for (uint32_t f = 0; f < nflows; f++) {
		size_t i = fkey_hash(&cp->keys[f]) & (ns - 1);
		while (cp->tab[i])
			i = (i + 1) & (ns - 1);
		cp->tab[i] = f + 1;
	}
	return 0;
}

static void put_addr(char *out, size_t n, int family, const uint8_t *a)
{
	struct umpa_sbuf b = {0};
	if (family == 6)
		umpa_sbuf_put_ipv6(&b, a);
	else
		umpa_sbuf_put_ipv4(&b, a);
	snprintf(out, n, "%s", b.s && !b.oom ? b.s : "?");
	umpa_sbuf_free(&b);
}

static void flow_name(struct umpa_replay_flow *f)
{
	char c[48], s[48], t[256];
	int fam = f->family ? f->family : 4;

	put_addr(c, sizeof c, fam, f->caddr);
	put_addr(s, sizeof s, fam, f->saddr);
	switch (f->kind) {
	case UMPA_FLOW_UDP:
	case UMPA_FLOW_TCP:
		if (fam == 6)
			snprintf(t, sizeof t, "%s [%s]:%u > [%s]:%u", f->kind == UMPA_FLOW_UDP ? "udp" : "tcp", c,
				 f->cport, s, f->sport);
		else
			snprintf(t, sizeof t, "%s %s:%u > %s:%u", f->kind == UMPA_FLOW_UDP ? "udp" : "tcp", c, f->cport,
				 s, f->sport);
		break;
	case UMPA_FLOW_ICMP:
		snprintf(t, sizeof t, "%s %s > %s id %u", fam == 6 ? "icmpv6" : "icmp", c, s, f->cport);
		break;
	case UMPA_FLOW_ARP:
		snprintf(t, sizeof t, "arp %s > %s", c, s);
		break;
	case UMPA_FLOW_ND:
		put_addr(c, sizeof c, 6, f->caddr);
		snprintf(t, sizeof t, "nd %s", c);
		break;
	default:
		if (f->family)
			snprintf(t, sizeof t, "ip proto %u %s > %s", f->proto, c, s);
		else
			snprintf(t, sizeof t, "other");
		break;
	}
	snprintf(f->name, sizeof f->name, "%.*s", (int)sizeof f->name - 1, t);
}

/* ================================================================== */
/* Loading                                                            */
/* ================================================================== */

/* placeholder MACs for frames that had no Ethernet header: 02:00 + the address's last 4 bytes */
static void placeholder_mac(uint8_t mac[6], const uint8_t *addr, unsigned alen, int family)
{
	if (family == 4 && !memcmp(addr, "\xff\xff\xff\xff", 4)) {
		memset(mac, 0xff, 6);
		return;
	}
	if (family == 4 && (addr[0] & 0xf0) == 0xe0) {
		mac[0] = 0x01, mac[1] = 0x00, mac[2] = 0x5e, mac[3] = addr[1] & 0x7f, mac[4] = addr[2],
		mac[5] = addr[3];
		return;
	}
	if (family == 6 && addr[0] == 0xff) {
		mac[0] = 0x33, mac[1] = 0x33;
		memcpy(mac + 2, addr + 12, 4);
		return;
	}
	mac[0] = 0x02;
	mac[1] = 0x00;
	memcpy(mac + 2, addr + alen - 4, 4);
}

/*
 * Re-frame dissected @p p for @p out (a LINKTYPE_) into @p buf (at least
 * p->len + 18 bytes).  A frame that had no Ethernet header gets one (*made
 * set): the source is the Linux cooked header's address when there is one,
 * else a placeholder made of the source IP address; the destination a
 * placeholder of the destination address (broadcast for an ARP request or a
 * cooked broadcast), which cap_fix_dst replaces by the MAC the capture
 * shows for that address when it shows one.  Returns the new length, or 0
 * when it cannot be done.
 */
/* the most bytes reframe() adds to a frame: an Ethernet header and one 802.1Q tag */
#define REFRAME_MAX_MORE 18

static uint32_t reframe(const struct umpa_pkt *p, int out, int vlan, uint8_t *buf, int *made)
{
	uint8_t sll_src[6] = {0};
	int bcast_ = 0, *sll_bcast = &bcast_;

	int net = first_net_layer(p, 0);
	uint32_t off, n, o = 0;
	int has_eth = p->nlayers && p->l[0].proto == &umpa_proto_eth;
	uint16_t etype;
	uint8_t smac[6] = {0}, dmac[6] = {0};
	struct umpa_cur w; /* the whole frame */

	umpa_cur_init(&w, p->data, p->len);

	if (out == UMPA_LINKTYPE_RAW || out == UMPA_LINKTYPE_IPV4 || out == UMPA_LINKTYPE_IPV6) {
		if (net < 0 || p->l[net].proto == &umpa_proto_arp)
			return 0;
		off = p->l[net].off;
		return umpa_cur_copy_at(&w, off, p->len - off, buf) == 0 ? p->len - off : 0;
	}
	if (out != UMPA_LINKTYPE_ETHERNET) {
		return umpa_cur_copy_at(&w, 0, p->len, buf) == 0 ? p->len : 0;
	}
	if (has_eth) {
		if (umpa_cur_copy_at(&w, 6, 6, smac) < 0 || umpa_cur_copy_at(&w, 0, 6, dmac) < 0)
			return 0;
	} else {
		/* Linux cooked headers carry the sender's link address and the packet type */
		int sll = p->nlayers && p->l[0].proto == &umpa_proto_sll,
		    sll2 = p->nlayers && p->l[0].proto == &umpa_proto_sll2;
		uint16_t ptype = 0xffff, halen = 0;
		uint8_t b8 = 0, hl8 = 0;
		if (sll && umpa_cur_be16_at(&w, 0, &ptype) == 0 && umpa_cur_be16_at(&w, 4, &halen) == 0 && halen == 6)
			umpa_cur_copy_at(&w, 6, 6, sll_src);
		else if (sll2 && umpa_cur_u8_at(&w, 10, &b8) == 0 && umpa_cur_u8_at(&w, 11, &hl8) == 0 && hl8 == 6) {
			ptype = b8;
			umpa_cur_copy_at(&w, 12, 6, sll_src);
		}
		*sll_bcast = ptype == 1;
		struct umpa_cur c;
		if (net < 0)
			return 0;
		umpa_layer_cur(p, (unsigned)net, &c);
		if (p->l[net].proto == &umpa_proto_ip) {
			uint8_t a[4] = {0}, b[4] = {0};
			umpa_cur_copy_at(&c, 12, 4, a);
			umpa_cur_copy_at(&c, 16, 4, b);
			placeholder_mac(smac, a, 4, 4);
			placeholder_mac(dmac, b, 4, 4);
		} else if (p->l[net].proto == &umpa_proto_ipv6) {
			uint8_t a[16] = {0}, b[16] = {0};
			umpa_cur_copy_at(&c, 8, 16, a);
			umpa_cur_copy_at(&c, 24, 16, b);
			placeholder_mac(smac, a, 16, 6);
			placeholder_mac(dmac, b, 16, 6);
		} else {
			uint8_t a[4] = {0}, b[4] = {0};
			uint16_t op = 0;
			umpa_cur_copy_at(&c, 14, 4, a);
			umpa_cur_copy_at(&c, 24, 4, b);
			umpa_cur_be16_at(&c, 6, &op);
			placeholder_mac(smac, a, 4, 4);
			if (op == 1)
				memset(dmac, 0xff, 6);
			else
				placeholder_mac(dmac, b, 4, 4);
		}
		if (sll_src[0] || sll_src[1] || sll_src[2] || sll_src[3] || sll_src[4] || sll_src[5])
			memcpy(smac, sll_src, 6);
		if (*sll_bcast)
			memset(dmac, 0xff, 6);
		*made = 1;
	}
	if (net < 0) { /* an Ethernet frame of something else: as it is, VLAN tags aside */
		uint16_t t;
		if (vlan == -1)
			return umpa_cur_copy_at(&w, 0, p->len, buf) == 0 ? p->len : 0;
		off = 12;
		while (umpa_cur_be16_at(&w, off, &t) == 0 && t == 0x8100 && off + 4 <= p->len)
			off += 4;
		if (umpa_cur_copy_at(&w, 0, 12, buf) < 0)
			return 0;
		o = 12;
		if (vlan >= 0) {
			buf[o++] = 0x81, buf[o++] = 0x00, buf[o++] = (uint8_t)(vlan >> 8), buf[o++] = (uint8_t)vlan;
		}
		if (umpa_cur_copy_at(&w, off, p->len - off, buf + o) < 0)
			return 0;
		return o + p->len - off;
	}
	off = p->l[net].off;
	n = p->len - off;
	etype = p->l[net].proto == &umpa_proto_ip ? 0x0800 : p->l[net].proto == &umpa_proto_ipv6 ? 0x86dd : 0x0806;
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	o = 12;
	if (vlan >= 0 || (vlan == -1 && has_eth && off >= 18 && p->l[1].proto == &umpa_proto_vlan)) {
		/* keep the first tag (-1) or set one */
		uint16_t tci = (uint16_t)vlan;
		if (vlan < 0 && umpa_cur_be16_at(&w, 14, &tci) < 0)
			return 0;
		buf[o++] = 0x81, buf[o++] = 0x00, buf[o++] = (uint8_t)(tci >> 8), buf[o++] = (uint8_t)tci;
	}
	buf[o++] = (uint8_t)(etype >> 8);
	buf[o++] = (uint8_t)etype;
	if (umpa_cur_copy_at(&w, off, n, buf + o) < 0)
		return 0;
	return o + n;
}

/* one entry of the address -> MAC table of cap_fix_dst */
struct amac {
	uint8_t addr[16];
	uint8_t fam, used;
	uint8_t mac[6];
};

static struct amac *amac_slot(struct amac *t, size_t size, int fam, const uint8_t *a)
{
	uint32_t h = 2166136261u;
	size_t i;
	for (int k = 0; k < 16; k++)
		h = (h ^ a[k]) * 16777619u;
	for (i = h & (size - 1);; i = (i + 1) & (size - 1)) {
		if (!t[i].used || (t[i].fam == fam && !memcmp(t[i].addr, a, 16)))
			return &t[i];
	}
}

/* the source (or destination) IP address of the re-framed Ethernet frame @p b[0..n): family, or 0 */
static int frame_addr(const uint8_t *b, uint32_t n, int dst, uint8_t a[16])
{
	struct umpa_cur c;
	uint16_t et = 0;
	uint32_t o = 12;
	memset(a, 0, 16);
	umpa_cur_init(&c, b, n);
	while (umpa_cur_be16_at(&c, o, &et) == 0 && et == 0x8100)
		o += 4;
	o += 2;
	if (et == 0x0800)
		return umpa_cur_copy_at(&c, o + (dst ? 16 : 12), 4, a) == 0 ? 4 : 0;
	if (et == 0x86dd)
		return umpa_cur_copy_at(&c, o + (dst ? 24 : 8), 16, a) == 0 ? 6 : 0;
	if (et == 0x0806)
		return umpa_cur_copy_at(&c, o + (dst ? 24 : 14), 4, a) == 0 ? 4 : 0;
	return 0;
}

/*
 * The frames whose Ethernet header umpa made (a cooked or raw-IP capture)
 * get, as destination, the MAC the capture shows for their destination
 * address (a frame from that address whose source MAC is known): a cooked
 * capture names every sender's MAC, so the answers' destination becomes the
 * requester's real MAC, as the requests' source is, and the MAC map of the
 * live link applies to both alike.  Returns 0 or -UMPA_ENOMEM.
 */
static int cap_fix_dst(struct umpa_replay_cap *cap, uint32_t nmade, struct umpa_err *e)
{
	size_t size = 1024;
	struct amac *t;

	if (cap->linktype != UMPA_LINKTYPE_ETHERNET) {
		for (uint32_t i = 0; i < cap->npkts; i++)
			cap->pkts[i].unsendable &= 1;
		return 0;
	}
	while (size < 4 * (size_t)nmade + 16)
		size *= 2;
	if (!nmade)
		return 0;
	if (!(t = calloc(size, sizeof *t)))
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory reading the capture");
	/* the MAC of each source address, from frames whose source MAC is real (not a placeholder) */
	for (uint32_t i = 0; i < cap->npkts; i++) {
		const struct umpa_replay_pkt *rp = &cap->pkts[i];
		const uint8_t *b = cap->arena + rp->off;
		uint8_t a[16], mac[6];
		struct umpa_cur c;
		int fam = frame_addr(b, rp->len, 0, a);
		struct amac *m;
		umpa_cur_init(&c, b, rp->len);
		if (!fam || umpa_cur_copy_at(&c, 6, 6, mac) < 0 || (mac[0] == 0x02 && mac[1] == 0x00) || (mac[0] & 1))
			continue;
		m = amac_slot(t, size, fam, a);
		if (!m->used) {
			m->used = 1;
			m->fam = (uint8_t)fam;
			memcpy(m->addr, a, 16);
			memcpy(m->mac, mac, 6);
		}
	}
	for (uint32_t i = 0; i < cap->npkts; i++) {
		struct umpa_replay_pkt *rp = &cap->pkts[i];
		uint8_t *b = cap->arena + rp->off, a[16], first = 0;
		struct umpa_cur c;
		int fam;
		struct amac *m;
		if (!(rp->unsendable & 2))
			continue;
		rp->unsendable &= 1;
		umpa_cur_init(&c, b, rp->len);
		if (umpa_cur_u8_at(&c, 0, &first) < 0 || (first & 1) || !(fam = frame_addr(b, rp->len, 1, a)))
			continue;
		m = amac_slot(t, size, fam, a);
		if (m->used)
			memcpy(b, m->mac, 6);
	}
	free(t);
	return 0;
}

static void cap_priv_free(struct cap_priv *cp)
{
	if (!cp)
		return;
	free(cp->keys);
	free(cp->client_dir);
	free(cp->tab);
	free(cp);
}

struct umpa_replay_cap *umpa_replay_cap_free(struct umpa_replay_cap *cap)
{
	if (!cap)
		return NULL;
	free(cap->arena);
	free(cap->pkts);
	free(cap->flows);
	free(cap->exch);
	cap_priv_free(cap->priv);
	free(cap);
	return NULL;
}

void umpa_replay_cap_pkt(const struct umpa_replay_cap *cap, uint32_t i, struct umpa_pkt *p)
{
	const struct umpa_replay_pkt *rp = &cap->pkts[i];

	if (p->owned)
		umpa_pkt_release(p);
	umpa_pkt_attach(p, cap->arena + rp->off, rp->len, rp->wirelen, cap->linktype);
	p->ro = 0; /* the arena is ours: the rewriter edits in place */
	p->ts_sec = rp->ts_ns / UMPA_NS_PER_SEC;
	p->ts_nsec = (uint32_t)(rp->ts_ns % UMPA_NS_PER_SEC);
	umpa_dissect(p);
}

/* --side CIDR list */
struct cidr {
	int family;
	uint8_t a[16];
	unsigned plen;
};

static int parse_cidr(const char *s, size_t n, struct cidr *c, struct umpa_err *e)
{
	char buf[80];
	char *slash;
	unsigned long pl;

	if (n == 0 || n >= sizeof buf)
		return umpa_err_set(e, UMPA_EINVAL, "'%.*s' is not an address or CIDR prefix", (int)n, s);
	memcpy(buf, s, n);
	buf[n] = 0;
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(c, 0, sizeof *c);
	if (inet_pton(AF_INET, buf, c->a) == 1)
		c->family = 4;
	else if (inet_pton(AF_INET6, buf, c->a) == 1)
		c->family = 6;
	else
		return umpa_err_set(e, UMPA_EINVAL, "'%s' is not an IPv4 or IPv6 address", buf);
	c->plen = c->family == 4 ? 32 : 128;
	if (slash) {
		char *end;
		pl = strtoul(slash, &end, 10);
		if (!*slash || *end || pl > c->plen)
			return umpa_err_set(e, UMPA_EINVAL, "'%.*s': bad prefix length", (int)n, s);
		c->plen = (unsigned)pl;
	}
	return 0;
}

static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;
	if (memcmp(a, b, full))
		return 0;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));
		return (a[full] & m) == (b[full] & m);
	}
	return 1;
}

/* the source address of dissected @p p (family 4/6, ARP's sender as 4), or 0 */
static int pkt_src(const struct umpa_pkt *p, uint8_t a[16])
{
	int net = first_net_layer(p, 0);
	struct umpa_cur c;
	if (net < 0)
		return 0;
	umpa_layer_cur(p, (unsigned)net, &c);
	if (p->l[net].proto == &umpa_proto_ip)
		return umpa_cur_copy_at(&c, 12, 4, a) == 0 ? 4 : 0;
	if (p->l[net].proto == &umpa_proto_ipv6)
		return umpa_cur_copy_at(&c, 8, 16, a) == 0 ? 6 : 0;
	return umpa_cur_copy_at(&c, 14, 4, a) == 0 ? 4 : 0;
}

/*
 * The default side: the hosts (Ethernet source addresses; for frames that
 * had no Ethernet header, the placeholder MAC of their IP address) that
 * opened more flows than they were asked in.  Deciding per host, not per
 * flow, keeps the peer's own flows (its multicast reports, its ARP
 * requests) on the expected side.
 */
#define HOST_TAB 4096

struct host_vote {
	uint8_t mac[6];
	uint8_t used;
	int32_t score;
};

static struct host_vote *host_slot(struct host_vote *t, const uint8_t *mac)
{
	size_t i =
	    ((size_t)mac[2] << 24 | (size_t)mac[3] << 16 | (size_t)mac[4] << 8 | mac[5]) * 2654435761u % HOST_TAB;
	for (size_t n = 0; n < HOST_TAB; n++, i = (i + 1) % HOST_TAB) {
		if (!t[i].used) {
			t[i].used = 1;
			memcpy(t[i].mac, mac, 6);
			return &t[i];
		}
		if (!memcmp(t[i].mac, mac, 6))
			return &t[i];
	}
	return NULL;
}

/* how far back a recorded answer looks for its request among its flow's SEND packets */
#define REPLAY_MATCH_WINDOW 256

struct load_tmp {
	uint32_t *prev_send;   /* per packet: the previous SEND packet of its flow */
	uint32_t *last_send;   /* per flow */
	uint32_t *hfull, *hl4; /* per packet: matching hashes */
};

struct umpa_replay_cap *umpa_replay_cap_load(struct umpa_capr *r, const struct umpa_replay_load_opts *o,
					     struct umpa_err *e)
{
	static const struct umpa_replay_load_opts defaults = {.vlan = -1};
	struct umpa_replay_cap *cap = calloc(1, sizeof *cap);
	struct cap_priv *cp = calloc(1, sizeof *cp);
	struct umpa_pkt p, q;
	size_t acap = 0, pcap_ = 0, fcap = 0, kcap = 0, dcap = 0, ccap = 0, ecap = 0;
	struct cidr *cidrs = NULL;
	size_t ncidr = 0;
	struct bpf_program bpf = {0};
	int have_bpf = 0;
	struct load_tmp t = {0};
	struct host_vote *votes = NULL, *last_hv = NULL;
	int inlt, rc, made, ok = 0;
	uint32_t nmade = 0;
	uint64_t maxp;
	struct fkey last_k; /* the previous packet's flow (a stream's packets skip the table) */
	long last_fi = -1;

	umpa_pkt_init(&p);
	umpa_pkt_init(&q);
	if (!o)
		o = &defaults;
	maxp = o->max_pkts ? o->max_pkts : 10000000;
	if (!cap || !cp) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory reading the capture");
		goto fail;
	}
	cap->priv = cp;
	if (umpa_array_grow(&cap->arena, &acap, 65536, 1, e) < 0) /* never NULL, even for empty records */
		goto fail;
	inlt = umpa_capr_linktype(r);
	if (!umpa_proto_for_linktype(inlt)) {
		const char *nm = pcap_datalink_val_to_name(inlt);
		umpa_err_set(e, UMPA_EFORMAT, "link type %d (%s) is not one umpa reads", inlt, nm ? nm : "unknown");
		goto fail;
	}
	cap->linktype = o->out_linktype ? o->out_linktype : inlt;
	/* side rules */
	if (o->sides.cidrs) {
		const char *s = o->sides.cidrs;
		while (*s) {
			const char *end = strchr(s, ',');
			size_t n = end ? (size_t)(end - s) : strlen(s);
			if (umpa_array_grow(&cidrs, &ccap, ncidr + 1, sizeof *cidrs, e) < 0)
				goto fail;
			if (parse_cidr(s, n, &cidrs[ncidr], e) < 0) {
				umpa_err_prefix(e, "side rule: ");
				goto fail;
			}
			ncidr++;
			s += n + (end ? 1 : 0);
		}
	}
	if (o->sides.bpf) {
		pcap_t *dead = pcap_open_dead(cap->linktype, 65535);
		if (!dead || pcap_compile(dead, &bpf, o->sides.bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			umpa_err_set(e, UMPA_EINVAL, "side filter '%s': %s", o->sides.bpf,
				     dead ? pcap_geterr(dead) : "out of memory");
			if (dead)
				pcap_close(dead);
			goto fail;
		}
		pcap_close(dead);
		have_bpf = 1;
	}

	/* read every packet: bytes re-framed into the arena, flows found */
	for (;;) {
		struct umpa_replay_pkt *rp;
		struct fkey k;
		int dir = 0;
		long fi;
		uint32_t n;

		rc = umpa_capr_next(r, &p, e);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		if (cap->npkts >= maxp) {
			umpa_err_set(e, UMPA_ERANGE, "more than %llu packets (the most one replay reads)",
				     (unsigned long long)maxp);
			goto fail;
		}
		umpa_dissect(&p);
		/* per packet: the call only when full (a call per packet costs as much as the rest of this) */
		if (cap->npkts + 1 > pcap_ &&
		    umpa_array_grow(&cap->pkts, &pcap_, cap->npkts + 1, sizeof *cap->pkts, e) < 0)
			goto fail;
		rp = &cap->pkts[cap->npkts];
		memset(rp, 0, sizeof *rp);
		for (unsigned li = 0; li < p.nlayers; li++)
			if ((p.l[li].flags & (UMPA_L_CSUM_PARTIAL | UMPA_L_QUOTED)) == UMPA_L_CSUM_PARTIAL)
				rp->partial = 1;
		rp->ts_ns = p.ts_sec * UMPA_NS_PER_SEC + p.ts_nsec;
		rp->frame = umpa_capr_number(r);
		rp->exch = UMPA_REPLAY_NONE;
		made = 0;
		/* re-framed straight into the arena: at most an Ethernet header and a tag longer */
		if (cap->alen + p.len + REFRAME_MAX_MORE > acap &&
		    umpa_array_grow(&cap->arena, &acap, cap->alen + p.len + REFRAME_MAX_MORE, 1, e) < 0)
			goto fail;
		n = reframe(&p, cap->linktype, o->vlan, cap->arena + cap->alen, &made);
		if (n == 0) { /* cannot be re-framed: kept as it is, never sent */
			rp->unsendable = 1;
			if (p.len)
				memcpy(cap->arena + cap->alen, p.data, p.len);
			n = p.len;
			if (!cap->unsendable_why[0])
				snprintf(cap->unsendable_why, sizeof cap->unsendable_why,
					 "frame %llu has no network layer to re-frame for link type %d",
					 (unsigned long long)rp->frame, cap->linktype);
		}
		if (o->max_frame && n > o->max_frame) {
			rp->unsendable = 1;
			if (!cap->unsendable_why[0])
				snprintf(cap->unsendable_why, sizeof cap->unsendable_why,
					 "frame %llu is %u bytes, more than the interface takes (%u)",
					 (unsigned long long)rp->frame, n, o->max_frame);
		}
		if (p.len < p.wirelen && !rp->unsendable) {
			rp->unsendable = 1;
			if (!cap->unsendable_why[0])
				snprintf(cap->unsendable_why, sizeof cap->unsendable_why,
					 "frame %llu was cut to %u of its %u bytes when captured",
					 (unsigned long long)rp->frame, p.len, p.wirelen);
		}
		nmade += made != 0;
		rp->unsendable |= made ? 2 : 0; /* bit 1: header made here (cleared by cap_fix_dst) */
		if (!n)
			rp->unsendable = 1; /* an empty record: nothing to send */
		rp->off = cap->alen;
		rp->len = n;
		rp->wirelen = n + (p.wirelen - p.len);
		cap->alen += n;
		if (cap->npkts == 0)
			cap->first_ts_ns = rp->ts_ns;
		cap->last_ts_ns = rp->ts_ns;

		/* its flow */
		flow_key(&p, 0, &k, &dir, 0);
		if (cap->nflows * 2 >= cp->tabsize && tab_rehash(cp, cap->nflows, e) < 0)
			goto fail;
		fi = last_fi >= 0 && !memcmp(&k, &last_k, sizeof k) ? last_fi : flow_find(cp, &k);
		if (fi < 0) {
			struct umpa_replay_flow *f;
			size_t i;
			if (umpa_array_grow(&cap->flows, &fcap, cap->nflows + 1, sizeof *cap->flows, e) < 0 ||
			    umpa_array_grow(&cp->keys, &kcap, cap->nflows + 1, sizeof *cp->keys, e) < 0 ||
			    umpa_array_grow(&cp->client_dir, &dcap, cap->nflows + 1, 1, e) < 0)
				goto fail;
			fi = cap->nflows++;
			cp->keys[fi] = k;
			f = &cap->flows[fi];
			memset(f, 0, sizeof *f);
			f->kind = k.kind;
			f->family = k.family;
			f->proto = k.proto;
			f->first = cap->npkts;
			cp->client_dir[fi] = (uint8_t)dir;
			if (k.kind == UMPA_FLOW_TCP) { /* a SYN/ACK first: its receiver opened the flow */
				int tl = transport_layer(&p, (unsigned)first_net_layer(&p, 0));
				uint8_t fl = 0;
				struct umpa_cur c;
				if (tl >= 0) {
					umpa_layer_cur(&p, (unsigned)tl, &c);
					if (umpa_cur_u8_at(&c, 13, &fl) == 0 && (fl & 0x12) == 0x12)
						cp->client_dir[fi] = (uint8_t)!dir;
				}
			}
			if (cp->client_dir[fi] == 0) {
				memcpy(f->caddr, k.a, 16), memcpy(f->saddr, k.b, 16);
				f->cport = k.pa, f->sport = k.pb;
			} else {
				memcpy(f->caddr, k.b, 16), memcpy(f->saddr, k.a, 16);
				f->cport = k.pb, f->sport = k.pa;
			}
			flow_name(f);
			i = fkey_hash(&k) & (cp->tabsize - 1);
			while (cp->tab[i])
				i = (i + 1) & (cp->tabsize - 1);
			cp->tab[i] = (uint32_t)fi + 1;
		}
		last_k = k;
		last_fi = fi;
		rp->flow = (uint32_t)fi;
		rp->side = (uint8_t)(dir == cp->client_dir[fi] ? UMPA_SIDE_CLIENT : UMPA_SIDE_SERVER);
		cap->flows[fi].last = cap->npkts;
		cap->flows[fi].npkts++;
		cap->npkts++;
	}
	if (cap->npkts == 0) {
		umpa_err_set(e, UMPA_EFORMAT, "the capture holds no packets");
		goto fail;
	}
	if (cap_fix_dst(cap, nmade, e) < 0)
		goto fail;

	/* roles, then exchanges */
	if (!(t.prev_send = malloc(cap->npkts * sizeof *t.prev_send)) ||
	    !(t.last_send = malloc(cap->nflows * sizeof *t.last_send)) ||
	    !(t.hfull = malloc(cap->npkts * sizeof *t.hfull)) || !(t.hl4 = malloc(cap->npkts * sizeof *t.hl4))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory reading the capture");
		goto fail;
	}
	for (uint32_t f = 0; f < cap->nflows; f++)
		t.last_send[f] = UMPA_REPLAY_NONE;
	if (cap->linktype == UMPA_LINKTYPE_ETHERNET && !ncidr && !have_bpf && !o->sides.both &&
	    !(votes = calloc(HOST_TAB, sizeof *votes))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory reading the capture");
		goto fail;
	}
	for (uint32_t f = 0; votes && f < cap->nflows; f++) {
		const struct umpa_replay_pkt *fp = &cap->pkts[cap->flows[f].first];
		struct umpa_cur c;
		uint8_t b[12];
		struct host_vote *cv, *sv;
		umpa_cur_init(&c, cap->arena + fp->off, fp->len);
		if (umpa_cur_copy_at(&c, 0, 12, b) < 0)
			continue;
		/* the first packet's sender is the client unless it was the server's (a SYN/ACK) */
		cv = host_slot(votes, fp->side == UMPA_SIDE_CLIENT ? b + 6 : b);
		sv = b[0] & 1 ? NULL : host_slot(votes, fp->side == UMPA_SIDE_CLIENT ? b : b + 6);
		if (!cv || (!sv && !(b[0] & 1))) {
			free(votes); /* more hosts than the table holds: the flows' openers decide */
			votes = NULL;
			break;
		}
		cv->score++;
		if (sv)
			sv->score--;
	}
	for (uint32_t i = 0; i < cap->npkts; i++) {
		struct umpa_replay_pkt *rp = &cap->pkts[i];
		int send;

		if (ncidr || !o->no_answers)
			umpa_replay_cap_pkt(cap, i, &p);
		if (o->sides.both)
			send = 1;
		else if (ncidr) {
			uint8_t a[16] = {0};
			int fam = pkt_src(&p, a);
			send = 0;
			for (size_t c = 0; c < ncidr && !send; c++)
				send = cidrs[c].family == fam && prefix_eq(a, cidrs[c].a, cidrs[c].plen);
		} else if (have_bpf) {
			struct pcap_pkthdr h = {.caplen = rp->len, .len = rp->wirelen};
			send = pcap_offline_filter(&bpf, &h, cap->arena + rp->off) != 0;
		} else if (votes && rp->len >= 14) {
			struct umpa_cur c;
			uint8_t src[6] = {0};
			umpa_cur_init(&c, cap->arena + rp->off, rp->len);
			umpa_cur_copy_at(&c, 6, 6, src);
			if (!last_hv || memcmp(src, last_hv->mac, 6)) /* a host's packets in a row: one look-up */
				last_hv = host_slot(votes, src);
			send = (last_hv && last_hv->score > 0) != (o->sides.server_side != 0);
		} else
			send = rp->side == (o->sides.server_side ? UMPA_SIDE_SERVER : UMPA_SIDE_CLIENT);
		rp->role = (uint8_t)(send ? UMPA_ROLE_SEND : UMPA_ROLE_EXPECT);
		rp->ifidx = (uint8_t)(o->sides.both ? rp->side : 0);
		if (!o->no_answers) {
			t.hfull[i] = umpa_match_hash(&p, 0);
			t.hl4[i] = umpa_match_hash(&p, 1);
		}
		t.prev_send[i] = UMPA_REPLAY_NONE;
		if (send) {
			struct umpa_replay_exch *x;
			if (cap->nexch + 1 > ecap &&
			    umpa_array_grow(&cap->exch, &ecap, cap->nexch + 1, sizeof *cap->exch, e) < 0)
				goto fail;
			x = &cap->exch[cap->nexch];
			memset(x, 0, sizeof *x);
			x->req = i;
			x->flow = rp->flow;
			x->rtt_ns = -1;
			rp->exch = cap->nexch++;
			t.prev_send[i] = t.last_send[rp->flow];
			t.last_send[rp->flow] = i;
			cap->flows[rp->flow].nsend++;
			cap->nsend++;
			if (rp->unsendable)
				cap->nunsendable++;
			continue;
		}
		/* an expected packet: which recent request of its flow does it answer? */
		if (o->no_answers)
			cap->norphans++;
		else {
			int err = is_error(&p);
			uint32_t h = err ? t.hl4[i] : t.hfull[i], best = UMPA_REPLAY_NONE, any = UMPA_REPLAY_NONE;
			uint32_t j = t.last_send[rp->flow];
			for (unsigned w = 0; j != UMPA_REPLAY_NONE && w < REPLAY_MATCH_WINDOW;
			     w++, j = t.prev_send[j]) {
				const struct umpa_replay_exch *x = &cap->exch[cap->pkts[j].exch];
				if ((err ? t.hl4[j] : t.hfull[j]) != h)
					continue;
				umpa_replay_cap_pkt(cap, j, &q);
				if (!umpa_match_answers(&p, &q, NULL, 0))
					continue;
				if (x->nans == 0)
					best = j; /* keep walking: the oldest unanswered one wins */
				else if (any == UMPA_REPLAY_NONE)
					any = j;
			}
			if (best == UMPA_REPLAY_NONE)
				best = any;
			if (best != UMPA_REPLAY_NONE) {
				struct umpa_replay_exch *x = &cap->exch[cap->pkts[best].exch];
				if (x->nans < UMPA_REPLAY_MAX_ANS) {
					if (x->nans == 0)
						x->rtt_ns = rp->ts_ns - cap->pkts[best].ts_ns;
					x->ans[x->nans++] = i;
					rp->exch = cap->pkts[best].exch;
					cap->nanswers++;
					continue;
				}
			}
			cap->norphans++;
		}
	}
	if (cap->nsend == 0) {
		if (ncidr || have_bpf)
			umpa_err_set(e, UMPA_EINVAL, "side rule '%s' selects no packet of the capture",
				     ncidr ? o->sides.cidrs : o->sides.bpf);
		else
			umpa_err_set(e, UMPA_EINVAL, "no packet of the capture is on the side to send");
		goto fail;
	}
	ok = 1;
fail:
	free(cidrs);
	free(votes);
	if (have_bpf)
		pcap_freecode(&bpf);
	free(t.prev_send);
	free(t.last_send);
	free(t.hfull);
	free(t.hl4);
	umpa_pkt_release(&p);
	umpa_pkt_release(&q);
	if (ok)
		return cap;
	if (!cap || !cap->priv) /* not handed over yet */
		cap_priv_free(cp);
	umpa_replay_cap_free(cap);
	return NULL;
}

long umpa_replay_flow_of(const struct umpa_replay_cap *cap, const struct umpa_pkt *p)
{
	struct fkey k;
	int dir;
	const struct cap_priv *cp = cap->priv;

	flow_key(p, 0, &k, &dir, 0);
	return flow_find(cp, &k);
}

/* ================================================================== */
/* Rewriting                                                          */
/* ================================================================== */

#define RW_MAX 64

struct umpa_replay_rewrite {
	struct {
		uint8_t from[6], to[6];
	} mac[RW_MAX];
	unsigned nmac;
	struct {
		struct cidr from, to;
	} ip[RW_MAX];
	unsigned nip;
	struct {
		uint16_t from, to;
	} port[RW_MAX];
	unsigned nport;
	int ttl; /* -1: keep */
};

struct umpa_replay_rewrite *umpa_replay_rewrite_new(struct umpa_err *e)
{
	struct umpa_replay_rewrite *rw = calloc(1, sizeof *rw);
	if (!rw) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	rw->ttl = -1;
	return rw;
}

struct umpa_replay_rewrite *umpa_replay_rewrite_free(struct umpa_replay_rewrite *rw)
{
	free(rw);
	return NULL;
}

static int parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	unsigned v[6];
	char buf[32], tail;
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int umpa_replay_rewrite_add(struct umpa_replay_rewrite *rw, const char *rule, struct umpa_err *e)
{
	const char *colon = strchr(rule, ':'), *eq;
	size_t kl;

	if (!colon)
		goto bad;
	kl = (size_t)(colon - rule);
	eq = strchr(colon + 1, '=');
	if (kl == 3 && !strncmp(rule, "ttl", 3)) {
		char *end;
		unsigned long v = strtoul(colon + 1, &end, 10);
		if (!colon[1] || *end || v > 255)
			return umpa_err_set(e, UMPA_EINVAL, "rewrite '%s': the TTL is 0 to 255", rule);
		rw->ttl = (int)v;
		return 0;
	}
	if (!eq)
		goto bad;
	if (kl == 3 && !strncmp(rule, "mac", 3)) {
		if (rw->nmac == RW_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "rewrite '%s': more than %d MAC rules", rule, RW_MAX);
		if (parse_mac(colon + 1, (size_t)(eq - colon - 1), rw->mac[rw->nmac].from) < 0 ||
		    parse_mac(eq + 1, strlen(eq + 1), rw->mac[rw->nmac].to) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "rewrite '%s': expected mac:OLD=NEW (aa:bb:cc:dd:ee:ff)",
					    rule);
		rw->nmac++;
		return 0;
	}
	if (kl == 2 && !strncmp(rule, "ip", 2)) {
		struct cidr *f, *t;
		if (rw->nip == RW_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "rewrite '%s': more than %d address rules", rule, RW_MAX);
		f = &rw->ip[rw->nip].from;
		t = &rw->ip[rw->nip].to;
		if (parse_cidr(colon + 1, (size_t)(eq - colon - 1), f, e) < 0 ||
		    parse_cidr(eq + 1, strlen(eq + 1), t, e) < 0)
			return umpa_err_prefix(e, "rewrite '%s': ", rule);
		if (f->family != t->family)
			return umpa_err_set(e, UMPA_EINVAL, "rewrite '%s': the two sides are of different families",
					    rule);
		if (f->plen != t->plen)
			return umpa_err_set(e, UMPA_EINVAL, "rewrite '%s': the two prefixes differ in length", rule);
		rw->nip++;
		return 0;
	}
	if (kl == 4 && !strncmp(rule, "port", 4)) {
		char *end;
		unsigned long a = strtoul(colon + 1, &end, 10), b;
		if (end != eq || a > 65535)
			goto badport;
		b = strtoul(eq + 1, &end, 10);
		if (!eq[1] || *end || b > 65535)
			goto badport;
		if (rw->nport == RW_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "rewrite '%s': more than %d port rules", rule, RW_MAX);
		rw->port[rw->nport].from = (uint16_t)a;
		rw->port[rw->nport].to = (uint16_t)b;
		rw->nport++;
		return 0;
	badport:
		return umpa_err_set(e, UMPA_EINVAL, "rewrite '%s': expected port:OLD=NEW (0 to 65535)", rule);
	}
bad:
	return umpa_err_set(e, UMPA_EINVAL,
			    "rewrite '%s': expected mac:OLD=NEW, ip:OLD[/N]=NEW[/N], port:OLD=NEW or ttl:N", rule);
}

static int rw_mac(const struct umpa_replay_rewrite *rw, uint8_t *m)
{
	for (unsigned i = 0; i < rw->nmac; i++)
		if (!memcmp(m, rw->mac[i].from, 6)) {
			memcpy(m, rw->mac[i].to, 6);
			return 1;
		}
	return 0;
}

static int rw_ip(const struct umpa_replay_rewrite *rw, int family, uint8_t *a)
{
	for (unsigned i = 0; i < rw->nip; i++) {
		const struct cidr *f = &rw->ip[i].from, *t = &rw->ip[i].to;
		unsigned full, rest;
		if (f->family != family || !prefix_eq(a, f->a, f->plen))
			continue;
		full = f->plen / 8;
		rest = f->plen % 8;
		memcpy(a, t->a, full);
		if (rest) {
			uint8_t m = (uint8_t)(0xff << (8 - rest));
			a[full] = (uint8_t)((t->a[full] & m) | (a[full] & ~m));
		}
		return 1;
	}
	return 0;
}

static int rw_port(const struct umpa_replay_rewrite *rw, uint8_t *b)
{
	uint16_t v = (uint16_t)(b[0] << 8 | b[1]);
	for (unsigned i = 0; i < rw->nport; i++)
		if (v == rw->port[i].from) {
			b[0] = (uint8_t)(rw->port[i].to >> 8);
			b[1] = (uint8_t)rw->port[i].to;
			return 1;
		}
	return 0;
}

/* a writable pointer to @p n bytes at @p off of layer @p li, or NULL (bounds-checked) */
static uint8_t *layer_bytes(struct umpa_pkt *p, unsigned li, uint32_t off, uint32_t n)
{
	struct umpa_cur c;
	const uint8_t *b;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_ptr_at(&c, off, n, &b) < 0)
		return NULL;
	return p->data + (b - p->data);
}

static void unset_csum(struct umpa_pkt *p, unsigned li)
{
	const struct umpa_field *f = umpa_proto_field(p->l[li].proto, "checksum");
	if (f)
		umpa_field_unset(p, li, f);
}

/* Rewrite dissected @p p in place.  Returns 1 when something changed. */
static int rewrite_pkt(const struct umpa_replay_rewrite *rw, struct umpa_pkt *p, int send, int keep, struct umpa_err *e)
{
	int changed = 0, csum_dirty = 0, partial = 0;

	for (unsigned li = 0; li < p->nlayers; li++) {
		const struct umpa_proto *pr = p->l[li].proto;
		int quoted = (p->l[li].flags & UMPA_L_QUOTED) != 0, c = 0;
		uint8_t *b;
		if (pr == &umpa_proto_eth && rw->nmac) {
			if ((b = layer_bytes(p, li, 0, 12)) != NULL) {
				c |= rw_mac(rw, b);
				c |= rw_mac(rw, b + 6);
			}
		} else if (pr == &umpa_proto_arp) {
			uint8_t hl = 0, pl = 0;
			if ((b = layer_bytes(p, li, 4, 2)) != NULL) {
				hl = b[0];
				pl = b[1];
			}
			if (hl == 6 && pl == 4 && (b = layer_bytes(p, li, 8, 20)) != NULL) {
				c |= rw_mac(rw, b);
				c |= rw_ip(rw, 4, b + 6);
				if (memcmp(b + 10, "\0\0\0\0\0\0", 6))
					c |= rw_mac(rw, b + 10);
				c |= rw_ip(rw, 4, b + 16);
			}
		} else if (pr == &umpa_proto_ip) {
			if ((b = layer_bytes(p, li, 0, 20)) != NULL) {
				int ci = rw_ip(rw, 4, b + 12) | rw_ip(rw, 4, b + 16);
				if (send && !quoted && rw->ttl >= 0 && b[8] != rw->ttl) {
					b[8] = (uint8_t)rw->ttl;
					ci = 1;
				}
				if (ci) {
					unset_csum(p, li);
					c = 1;
				}
			}
		} else if (pr == &umpa_proto_ipv6) {
			if ((b = layer_bytes(p, li, 0, 40)) != NULL) {
				c |= rw_ip(rw, 6, b + 8) | rw_ip(rw, 6, b + 24);
				if (send && !quoted && rw->ttl >= 0 && b[7] != rw->ttl) {
					b[7] = (uint8_t)rw->ttl;
					c = 1;
				}
			}
		} else if (pr == &umpa_proto_udp || pr == &umpa_proto_tcp) {
			if (rw->nport && (b = layer_bytes(p, li, 0, 4)) != NULL)
				c |= rw_port(rw, b) | rw_port(rw, b + 2);
		} else if (pr == &umpa_proto_icmpv6 && (rw->nip || rw->nmac)) {
			uint8_t type = 0;
			if ((b = layer_bytes(p, li, 0, 1)) != NULL)
				type = b[0];
			if ((type == 135 || type == 136) && (b = layer_bytes(p, li, 8, 16)) != NULL) {
				c |= rw_ip(rw, 6, b);
				/* link-layer address options (RFC 4861 4.6.1) */
				for (uint32_t off = 24; (b = layer_bytes(p, li, off, 2)) != NULL && b[1];
				     off += 8u * b[1]) {
					uint8_t *m;
					if ((b[0] == 1 || b[0] == 2) && b[1] == 1 &&
					    (m = layer_bytes(p, li, off + 2, 6)))
						c |= rw_mac(rw, m);
				}
			}
		}
		if (c) {
			changed = 1;
			/* Ethernet and ARP carry no checksum: a MAC map alone re-finishes nothing */
			if (pr != &umpa_proto_eth && pr != &umpa_proto_arp)
				csum_dirty = 1;
		}
	}
	/* a sent TCP/UDP segment captured on its way out carries the partial sum Linux leaves to the
	 * NIC (checksum offload): finished here, or the peer drops it */
	for (unsigned li = 0; send && !keep && li < p->nlayers; li++)
		if ((p->l[li].flags & UMPA_L_CSUM_PARTIAL) && !(p->l[li].flags & UMPA_L_QUOTED)) {
			unset_csum(p, li);
			partial = 1;
		}
	if (partial && !(changed && csum_dirty)) {
		if (umpa_pkt_finish(p, e) < 0)
			return -e->code;
		return 1;
	}
	if (changed && !keep && csum_dirty) {
		/* checksums over what changed: every non-quoted transport checksum, the ICMP ones over
		 * their quotation, quoted IPv4 headers (complete) */
		for (unsigned li = 0; li < p->nlayers; li++) {
			const struct umpa_proto *pr = p->l[li].proto;
			int quoted = (p->l[li].flags & UMPA_L_QUOTED) != 0;
			if (pr == &umpa_proto_ip)
				unset_csum(p, li);
			else if (!quoted &&
				 (pr == &umpa_proto_tcp || pr == &umpa_proto_icmp || pr == &umpa_proto_icmpv6))
				unset_csum(p, li);
			else if (!quoted && pr == &umpa_proto_udp) {
				uint8_t *b = layer_bytes(p, li, 6, 2);
				int v4 = li > 0 && p->l[li - 1].proto == &umpa_proto_ip;
				if (b && !(v4 && b[0] == 0 && b[1] == 0)) /* IPv4 UDP without a checksum stays so */
					unset_csum(p, li);
			}
		}
		if (umpa_pkt_finish(p, e) < 0)
			return -e->code;
	}
	return changed;
}

long umpa_replay_rewrite_apply(const struct umpa_replay_rewrite *rw, struct umpa_replay_cap *cap, int keep_csums,
			       struct umpa_err *e)
{
	struct umpa_pkt p;
	long n = 0;

	int rules = rw->nmac || rw->nip || rw->nport || rw->ttl >= 0;

	if (!rules && keep_csums)
		return 0;
	umpa_pkt_init(&p);
	for (uint32_t i = 0; i < cap->npkts; i++) {
		int r;
		if (!rules && (cap->pkts[i].role != UMPA_ROLE_SEND || !cap->pkts[i].partial))
			continue; /* only the partial sums of sent packets to finish (marked at load) */
		umpa_replay_cap_pkt(cap, i, &p);
		r = rewrite_pkt(rw, &p, cap->pkts[i].role == UMPA_ROLE_SEND, keep_csums, e);
		if (r < 0) {
			umpa_err_prefix(e, "rewriting frame %llu: ", (unsigned long long)cap->pkts[i].frame);
			umpa_pkt_release(&p);
			return r;
		}
		n += r;
	}
	umpa_pkt_release(&p);
	return n;
}

/* ================================================================== */
/* The checker                                                        */
/* ================================================================== */

#define CK_MASK_MAX 64

/* per protocol: ignored fields (bit i: field i), learned ones, the whole layer, where its variable part starts */
struct ck_proto {
	const struct umpa_proto *pr;
	uint64_t ign, learned;
	uint8_t all, all_learned;
	uint16_t fixed_end; /* bytes of the fixed header (after it: VAR fields) */
	int var_field;      /* index of its first VAR field, or -1 */
	/* compare_layer's fast path: the header bytes the compared fields cover, for the ignored set mask_ign */
	uint8_t fmask[CK_MASK_MAX];
	uint16_t mask_len;
	int8_t mask_ok; /* 1 built for mask_ign, 0 to build, -1 never (located or unbounded fields) */
	uint64_t mask_ign;
};

struct umpa_replay_checker {
	struct ck_proto *p;
	size_t n;
	/* --learn-noise: the first learning round's live answers (first answer per exchange) */
	uint8_t *ref;
	size_t rlen, rcap;
	uint64_t *roff; /* per exchange: offset + 1 into ref (0: none) */
	uint32_t *rsz;
	uint32_t nref;
	int rlt;
};

static struct ck_proto *ck_find(const struct umpa_replay_checker *ck, const struct umpa_proto *pr)
{
	for (size_t i = 0; i < ck->n; i++)
		if (ck->p[i].pr == pr)
			return &ck->p[i];
	return NULL;
}

static const char *const ck_defaults = "ip.id,ip.checksum,udp.checksum,tcp.checksum,icmp.checksum,icmpv6.checksum,"
				       "tcp.seq,tcp.ack,ipv6.flow";

struct umpa_replay_checker *umpa_replay_checker_new(struct umpa_err *e)
{
	struct umpa_replay_checker *ck = calloc(1, sizeof *ck);
	const struct umpa_proto *const *all;
	size_t n;

	if (!ck)
		goto oom;
	all = umpa_protos(&n);
	if (!(ck->p = calloc(n, sizeof *ck->p)))
		goto oom;
	ck->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct umpa_proto *pr = all[i];
		unsigned end = 0;
		ck->p[i].pr = pr;
		ck->p[i].var_field = -1;
		for (unsigned f = 0; f < pr->nfields; f++) {
			const struct umpa_field *fd = &pr->fields[f];
			if (fd->type == UMPA_FT_VAR) {
				if (ck->p[i].var_field < 0)
					ck->p[i].var_field = (int)f;
				continue;
			}
			if ((unsigned)(fd->bitoff + fd->bits + 7) / 8 > end)
				end = (unsigned)(fd->bitoff + fd->bits + 7) / 8;
		}
		ck->p[i].fixed_end = (uint16_t)(end > pr->hdr_len ? end : pr->hdr_len);
	}
	if (umpa_replay_checker_set(ck, ck_defaults, 1, e) < 0) {
		umpa_replay_checker_free(ck);
		return NULL;
	}
	return ck;
oom:
	umpa_replay_checker_free(ck);
	umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	return NULL;
}

struct umpa_replay_checker *umpa_replay_checker_free(struct umpa_replay_checker *ck)
{
	if (ck) {
		free(ck->p);
		free(ck->ref);
		free(ck->roff);
		free(ck->rsz);
		free(ck);
	}
	return NULL;
}

/* field @p name ("ttl", "ip.ttl", an alias) of @p pr: its index, or -1 */
static int field_index(const struct umpa_proto *pr, const char *full)
{
	const struct umpa_field *f;
	for (unsigned i = 0; i < pr->nfields; i++)
		if (pr->fields[i].ws && !strcmp(pr->fields[i].ws, full))
			return (int)i;
	f = umpa_proto_field(pr, full + strlen(pr->name) + 1);
	return f ? (int)(f - pr->fields) : -1;
}

int umpa_replay_checker_set(struct umpa_replay_checker *ck, const char *list, int on, struct umpa_err *e)
{
	const char *s = list;

	while (*s) {
		const char *end = strchr(s, ','), *dot;
		size_t n = end ? (size_t)(end - s) : strlen(s);
		char name[96], pname[48];
		const struct umpa_proto *pr;
		struct ck_proto *cp;

		if (n == 0 || n >= sizeof name) {
			if (n == 0) {
				s += end ? 1 : 0;
				if (!end)
					break;
				continue;
			}
			return umpa_err_set(e, UMPA_EINVAL, "field name '%.*s...' is too long", 20, s);
		}
		memcpy(name, s, n);
		name[n] = 0;
		dot = strchr(name, '.');
		snprintf(pname, sizeof pname, "%.*s", dot ? (int)(dot - name) : (int)n, name);
		pr = umpa_proto_find(pname);
		if (!pr) {
			char near[64];
			if (umpa_proto_near(pname, near, sizeof near))
				return umpa_err_set(e, UMPA_ENOENT, "'%s': no protocol '%s' (did you mean '%s'?)", name,
						    pname, near);
			return umpa_err_set(e, UMPA_ENOENT, "'%s': no protocol '%s'", name, pname);
		}
		if (!(cp = ck_find(ck, pr)))
			return umpa_err_set(e, UMPA_ENOENT, "'%s': protocol not registered", name);
		if (!dot) {
			cp->all = (uint8_t)on;
		} else {
			char full[128];
			int fi;
			snprintf(full, sizeof full, "%s%s", pr->name, dot);
			fi = field_index(pr, full);
			if (fi < 0)
				return umpa_err_set(e, UMPA_ENOENT, "'%s': %s has no field '%s' (see 'umpa fields %s')",
						    name, pr->name, dot + 1, pr->name);
			if (on)
				cp->ign |= 1ull << fi;
			else
				cp->ign &= ~(1ull << fi);
		}
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

int umpa_replay_checker_ignored(const struct umpa_replay_checker *ck, const struct umpa_proto *proto,
				const struct umpa_field *f)
{
	const struct ck_proto *cp = ck_find(ck, proto);
	if (!cp)
		return 0;
	if (cp->all)
		return 1;
	return f ? (int)((cp->ign >> (f - proto->fields)) & 1) : 0;
}

void umpa_replay_checker_learned(const struct umpa_replay_checker *ck, struct umpa_sbuf *out)
{
	int first = 1;
	for (size_t i = 0; i < ck->n; i++) {
		const struct ck_proto *cp = &ck->p[i];
		if (cp->all_learned) {
			umpa_sbuf_printf(out, "%s%s", first ? "" : ",", cp->pr->name);
			first = 0;
			continue;
		}
		for (unsigned f = 0; f < cp->pr->nfields; f++)
			if ((cp->learned >> f) & 1) {
				umpa_sbuf_printf(out, "%s%s", first ? "" : ",", cp->pr->fields[f].ws);
				first = 0;
			}
	}
}

int umpa_replay_checker_keep(struct umpa_replay_checker *ck, uint32_t k, uint32_t nexch, const struct umpa_pkt *live,
			     struct umpa_err *e)
{
	if (k >= nexch)
		return umpa_err_set(e, UMPA_EINVAL, "noise reference: exchange %u of %u", k, nexch);
	if (ck->nref != nexch) {
		free(ck->roff);
		free(ck->rsz);
		ck->roff = calloc(nexch, sizeof *ck->roff);
		ck->rsz = calloc(nexch, sizeof *ck->rsz);
		ck->rlen = 0;
		ck->nref = ck->roff && ck->rsz ? nexch : 0;
		if (!ck->nref)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	}
	if (ck->roff[k])
		return 0;
	if (umpa_array_grow(&ck->ref, &ck->rcap, ck->rlen + live->len, 1, e) < 0)
		return -e->code;
	memcpy(ck->ref + ck->rlen, live->data, live->len);
	ck->roff[k] = ck->rlen + 1;
	ck->rsz[k] = live->len;
	ck->rlen += live->len;
	ck->rlt = live->linktype;
	return 0;
}

unsigned umpa_replay_checker_learn(struct umpa_replay_checker *ck, uint32_t k, const struct umpa_pkt *live)
{
	struct umpa_pkt ref;
	unsigned n;

	if (k >= ck->nref || !ck->roff[k])
		return 0;
	umpa_pkt_init(&ref);
	umpa_pkt_attach(&ref, ck->ref + ck->roff[k] - 1, ck->rsz[k], ck->rsz[k], ck->rlt);
	umpa_dissect(&ref);
	n = umpa_replay_compare(ck, &ref, live, NULL, 1);
	umpa_pkt_release(&ref);
	return n;
}

static void add_diff(struct umpa_replay_result *res, const char *field, const char *rec, const char *live)
{
	struct umpa_replay_diff *d;
	if (!res)
		return;
	res->verdict = UMPA_RV_DIFFERING;
	if (res->ndiffs >= UMPA_REPLAY_MAX_DIFFS) {
		if (res->more_diffs < UINT16_MAX)
			res->more_diffs++;
		return;
	}
	d = &res->diffs[res->ndiffs++];
	snprintf(d->field, sizeof d->field, "%s", field);
	snprintf(d->recorded, sizeof d->recorded, "%s", rec);
	snprintf(d->live, sizeof d->live, "%s", live);
}

static void fmt_field(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, char *out, size_t n)
{
	struct umpa_sbuf b = {0};
	if (umpa_field_format(p, li, f, &b) < 0 || !b.s || b.oom)
		snprintf(out, n, "(absent)");
	else
		snprintf(out, n, "%s", b.s);
	umpa_sbuf_free(&b);
}

static void fmt_bytes(const uint8_t *d, uint32_t n, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "%u bytes ", n);
	for (uint32_t i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", d[i]);
	if (o + 3 >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
}

/* TCP options with the timestamp values (kind 8) blanked, into @p out; returns the length */
static uint32_t tcp_opts_masked(const uint8_t *o, uint32_t n, uint8_t *out)
{
	uint32_t i = 0;
	memcpy(out, o, n);
	while (i < n) {
		uint8_t kind = o[i], len;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || (len = o[i + 1]) < 2 || i + len > n)
			break;
		if (kind == 8 && len == 10)
			memset(out + i + 2, 0, 8);
		i += len;
	}
	return n;
}

/*
 * (Re)build @p cp's byte mask: every byte of the fixed header that a field
 * compared (not VAR, not ignored) covers, whole bytes (a byte shared with an
 * ignored field is compared too: that only sends the layer to the
 * field-by-field loop, which decides).  Not for protocols whose fields move
 * (locate) or reach past CK_MASK_MAX bytes.
 */
static void ck_mask_build(struct ck_proto *cp)
{
	const struct umpa_proto *pr = cp->pr;
	unsigned len = 0;

	memset(cp->fmask, 0, sizeof cp->fmask);
	cp->mask_ign = cp->ign;
	cp->mask_ok = -1;
	if (pr->locate)
		return;
	for (unsigned f = 0; f < pr->nfields; f++) {
		const struct umpa_field *fd = &pr->fields[f];
		unsigned from, to;
		if (fd->type == UMPA_FT_VAR || ((cp->ign >> f) & 1))
			continue;
		from = (unsigned)fd->bitoff / 8;
		to = (unsigned)(fd->bitoff + fd->bits + 7) / 8;
		if (fd->bits == 0 || to > CK_MASK_MAX)
			return;
		memset(cp->fmask + from, 0xff, to - from);
		if (to > len)
			len = to;
	}
	cp->mask_len = (uint16_t)len;
	cp->mask_ok = 1;
}

/*
 * 1 when no compared fixed field of the two layers can differ: same header
 * length and the same bytes under the mask (a fast path for the answers
 * that match, which are most: no field is read one by one).  0: the
 * field-by-field loop decides.
 */
static int fixed_same(struct ck_proto *cp, const struct umpa_pkt *rp, unsigned ri, const struct umpa_pkt *lp,
		      unsigned li)
{
	uint32_t hr = rp->l[ri].hlen, n;
	struct umpa_cur rc, lc;
	const uint8_t *a, *b;
	uint8_t acc = 0;

	if (cp->mask_ok == 0 || (cp->mask_ok == 1 && cp->mask_ign != cp->ign))
		ck_mask_build(cp);
	if (cp->mask_ok != 1 || hr != lp->l[li].hlen)
		return 0;
	n = hr < cp->mask_len ? hr : cp->mask_len;
	umpa_layer_cur(rp, ri, &rc);
	umpa_layer_cur(lp, li, &lc);
	if (umpa_cur_ptr_at(&rc, 0, n, &a) < 0 || umpa_cur_ptr_at(&lc, 0, n, &b) < 0)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		acc |= (uint8_t)((a[i] ^ b[i]) & cp->fmask[i]);
	return acc == 0;
}

static unsigned compare_layer(struct umpa_replay_checker *ck, const struct umpa_pkt *rp, unsigned ri,
			      const struct umpa_pkt *lp, unsigned li, struct umpa_replay_result *res, int learn)
{
	const struct umpa_proto *pr = rp->l[ri].proto;
	struct ck_proto *cp = ck_find(ck, pr);
	unsigned nd = 0;
	char a[64], b[64];

	if (!cp || cp->all)
		return 0;
	if (pr == &umpa_proto_raw) {
		struct umpa_cur rc, lc;
		const uint8_t *rb, *lb;
		uint32_t rn = rp->l[ri].len, ln = lp->l[li].len;
		umpa_layer_cur(rp, ri, &rc);
		umpa_layer_cur(lp, li, &lc);
		if (umpa_cur_ptr_at(&rc, 0, rn, &rb) < 0 || umpa_cur_ptr_at(&lc, 0, ln, &lb) < 0)
			return 0;
		if (rn != ln || memcmp(rb, lb, rn)) {
			if (learn) {
				cp->all = cp->all_learned = 1;
			} else {
				fmt_bytes(rb, rn, a, sizeof a);
				fmt_bytes(lb, ln, b, sizeof b);
				add_diff(res, "data", a, b);
			}
			nd++;
		}
		return nd;
	}
	for (unsigned f = fixed_same(cp, rp, ri, lp, li) ? pr->nfields : 0; f < pr->nfields; f++) {
		const struct umpa_field *fd = &pr->fields[f];
		long ro, lo;
		int diff = 0;
		if (fd->type == UMPA_FT_VAR || ((cp->ign >> f) & 1))
			continue;
		ro = umpa_field_bitoff(rp, ri, fd);
		lo = umpa_field_bitoff(lp, li, fd);
		/* a field past the header is another message type's view of the payload (ICMP's
		 * timestamps over an echo's data): the payload layer compares those bytes */
		if (ro >= 0 && (uint64_t)ro + fd->bits > (uint64_t)rp->l[ri].hlen * 8)
			ro = -1;
		if (lo >= 0 && (uint64_t)lo + fd->bits > (uint64_t)lp->l[li].hlen * 8)
			lo = -1;
		if (ro < 0 && lo < 0)
			continue;
		if (fd->type == UMPA_FT_MAC || fd->type == UMPA_FT_IPV4 || fd->type == UMPA_FT_IPV6 ||
		    fd->type == UMPA_FT_BYTES) {
			const uint8_t *x = NULL, *y = NULL;
			uint32_t xn = 0, yn = 0;
			int rx = umpa_field_get_bytes(rp, ri, fd, &x, &xn),
			    ry = umpa_field_get_bytes(lp, li, fd, &y, &yn);
			diff = rx != ry || (rx == 0 && (xn != yn || memcmp(x, y, xn)));
		} else {
			uint64_t x = 0, y = 0;
			int rx = ro < 0 ? -1 : umpa_field_get_u64(rp, ri, fd, &x);
			int ry = lo < 0 ? -1 : umpa_field_get_u64(lp, li, fd, &y);
			diff = rx != ry || x != y;
		}
		if (!diff)
			continue;
		nd++;
		if (learn) {
			cp->ign |= 1ull << f;
			cp->learned |= 1ull << f;
			continue;
		}
		fmt_field(rp, ri, fd, a, sizeof a);
		fmt_field(lp, li, fd, b, sizeof b);
		add_diff(res, fd->ws ? fd->ws : fd->name, a, b);
	}
	/* the variable part of the header (options, records) as bytes */
	if (cp->var_field >= 0 && !((cp->ign >> cp->var_field) & 1)) {
		uint32_t rs = cp->fixed_end, rh = rp->l[ri].hlen, lh = lp->l[li].hlen;
		uint32_t rn = rh > rs ? rh - rs : 0, ln = lh > rs ? lh - rs : 0;
		struct umpa_cur rc, lc;
		const uint8_t *rb = NULL, *lb = NULL;
		umpa_layer_cur(rp, ri, &rc);
		umpa_layer_cur(lp, li, &lc);
		if ((rn || ln) && umpa_cur_ptr_at(&rc, rs, rn, &rb) == 0 && umpa_cur_ptr_at(&lc, rs, ln, &lb) == 0) {
			int diff;
			if (pr == &umpa_proto_tcp && rn == ln && rn <= 40) {
				uint8_t mr[40], ml[40];
				tcp_opts_masked(rb, rn, mr);
				tcp_opts_masked(lb, ln, ml);
				diff = memcmp(mr, ml, rn) != 0;
			} else
				diff = rn != ln || memcmp(rb, lb, rn);
			if (diff) {
				const struct umpa_field *fd = &pr->fields[cp->var_field];
				nd++;
				if (learn) {
					cp->ign |= 1ull << cp->var_field;
					cp->learned |= 1ull << cp->var_field;
				} else {
					fmt_bytes(rb, rn, a, sizeof a);
					fmt_bytes(lb, ln, b, sizeof b);
					add_diff(res, fd->ws ? fd->ws : fd->name, a, b);
				}
			}
		}
	}
	return nd;
}

unsigned umpa_replay_compare(struct umpa_replay_checker *ck, const struct umpa_pkt *recorded,
			     const struct umpa_pkt *live, struct umpa_replay_result *res, int learn)
{
	unsigned i = 0, j = 0, nd = 0;

	/* the link layer only when both have the same one */
	if (!recorded->nlayers || !live->nlayers || recorded->l[0].proto != live->l[0].proto) {
		int a = first_net_layer(recorded, 0), b = first_net_layer(live, 0);
		i = a < 0 ? recorded->nlayers : (unsigned)a;
		j = b < 0 ? live->nlayers : (unsigned)b;
	}
	while (i < recorded->nlayers || j < live->nlayers) {
		if (i >= recorded->nlayers || j >= live->nlayers || recorded->l[i].proto != live->l[j].proto) {
			const char *rn = i < recorded->nlayers ? recorded->l[i].proto->name : "(absent)";
			const char *ln = j < live->nlayers ? live->l[j].proto->name : "(absent)";
			const struct umpa_proto *which =
			    i < recorded->nlayers ? recorded->l[i].proto : live->l[j].proto;
			struct ck_proto *cp = ck_find(ck, which);
			if (cp && cp->all)
				break;
			nd++;
			if (learn) {
				if (cp)
					cp->all = cp->all_learned = 1;
			} else {
				char field[32];
				snprintf(field, sizeof field, "layer %u", i + 1);
				add_diff(res, field, rn, ln);
			}
			break;
		}
		nd += compare_layer(ck, recorded, i, live, j, res, learn);
		i++;
		j++;
	}
	return nd;
}

/* ================================================================== */
/* The report                                                         */
/* ================================================================== */

static const char *const verdict_names[UMPA_RV_COUNT] = {"matched", "differing", "missing", "unexpected",
							 "unsent",  "gaveup",    "sent"};

const char *umpa_replay_verdict_name(enum umpa_replay_verdict v)
{
	return (unsigned)v < UMPA_RV_COUNT ? verdict_names[v] : "?";
}

int umpa_replay_failed(const struct umpa_replay_result *res)
{
	return res->verdict != UMPA_RV_MATCHED && res->verdict != UMPA_RV_SENT;
}

struct umpa_replay_report {
	const struct umpa_replay_cap *cap;
	struct umpa_replay_summary sum;
	uint32_t *flow_exch, *flow_fail;   /* per flow */
	struct umpa_replay_result *failed; /* the results that failed, kept for JUnit */
	size_t nfailed, cfailed;
	uint64_t failed_dropped;
};

/** Most failing results a report keeps for JUnit (the counts go on). */
#define REPLAY_KEEP_FAILED 100000

struct umpa_replay_report *umpa_replay_report_new(const struct umpa_replay_cap *cap, struct umpa_err *e)
{
	struct umpa_replay_report *rep = calloc(1, sizeof *rep);
	if (!rep || !(rep->flow_exch = calloc(cap->nflows + 1, sizeof *rep->flow_exch)) ||
	    !(rep->flow_fail = calloc(cap->nflows + 1, sizeof *rep->flow_fail))) {
		umpa_replay_report_free(rep);
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	rep->cap = cap;
	rep->sum.flows = cap->nflows;
	return rep;
}

struct umpa_replay_report *umpa_replay_report_free(struct umpa_replay_report *rep)
{
	if (rep) {
		free(rep->flow_exch);
		free(rep->flow_fail);
		free(rep->failed);
		free(rep);
	}
	return NULL;
}

int umpa_replay_report_add(struct umpa_replay_report *rep, const struct umpa_replay_result *res)
{
	uint32_t f = res->flow < rep->cap->nflows ? res->flow : rep->cap->nflows;

	rep->sum.exchanges++;
	if (res->verdict < UMPA_RV_COUNT)
		rep->sum.verdicts[res->verdict]++;
	if (res->rec_rtt_ns >= 0 && res->live_rtt_ns >= 0) {
		rep->sum.rec_rtt_sum_ns += res->rec_rtt_ns;
		rep->sum.live_rtt_sum_ns += res->live_rtt_ns;
		rep->sum.rtt_pairs++;
	}
	rep->flow_exch[f]++;
	if (!umpa_replay_failed(res))
		return 0;
	if (rep->flow_fail[f]++ == 0 && f < rep->cap->nflows)
		rep->sum.flows_failed++;
	if (rep->nfailed >= REPLAY_KEEP_FAILED) {
		rep->failed_dropped++;
		return 0;
	}
	if (umpa_array_grow(&rep->failed, &rep->cfailed, rep->nfailed + 1, sizeof *rep->failed, NULL) < 0)
		return -UMPA_ENOMEM;
	rep->failed[rep->nfailed++] = *res;
	return 0;
}

void umpa_replay_report_summary(const struct umpa_replay_report *rep, struct umpa_replay_summary *sum)
{
	*sum = rep->sum;
}

const struct umpa_replay_result *umpa_replay_report_failed(const struct umpa_replay_report *rep, size_t *n)
{
	*n = rep->nfailed;
	return rep->failed;
}

static const char *res_flow_name(const struct umpa_replay_cap *cap, const struct umpa_replay_result *res)
{
	return res->flow < cap->nflows ? cap->flows[res->flow].name : "(no flow)";
}

static uint64_t res_frame(const struct umpa_replay_cap *cap, const struct umpa_replay_result *res)
{
	return res->exch < cap->nexch ? cap->pkts[cap->exch[res->exch].req].frame : 0;
}

/* @p ns (>= 0) as microseconds with three decimals: what "%.3f" of ns / 1e3 prints, without printf */
static void put_us3(struct umpa_sbuf *out, int64_t ns)
{
	char frac[5] = {'.', 0, 0, 0, 0};
	uint64_t v = (uint64_t)ns;
	umpa_sbuf_put_u64(out, v / 1000);
	frac[1] = (char)('0' + v / 100 % 10);
	frac[2] = (char)('0' + v / 10 % 10);
	frac[3] = (char)('0' + v % 10);
	umpa_sbuf_put(out, frac, 4);
}

void umpa_replay_format_result(const struct umpa_replay_cap *cap, const struct umpa_replay_result *res,
			       enum umpa_replay_fmt fmt, int verbose, struct umpa_sbuf *out)
{
	const char *flow = res_flow_name(cap, res);
	uint64_t frame = res_frame(cap, res);

	if (fmt == UMPA_REPLAY_JSON) {
		/* one line per exchange, so no printf: integers by hand (the same text) */
		umpa_sbuf_puts(out, "{\"exchange\":");
		umpa_sbuf_put_u64(out, res->exch == UMPA_REPLAY_NONE ? 0 : (uint64_t)res->exch + 1);
		umpa_sbuf_puts(out, ",\"iteration\":");
		umpa_sbuf_put_u64(out, (uint64_t)res->iter + 1);
		umpa_sbuf_puts(out, ",\"frame\":");
		umpa_sbuf_put_u64(out, frame);
		umpa_sbuf_puts(out, ",\"flow\":");
		umpa_sbuf_put_json_str(out, flow, strlen(flow));
		umpa_sbuf_puts(out, ",\"verdict\":\"");
		umpa_sbuf_puts(out, umpa_replay_verdict_name(res->verdict));
		umpa_sbuf_puts(out, "\",\"answers\":");
		umpa_sbuf_put_u64(out, res->answers);
		if (res->rec_rtt_ns >= 0) {
			umpa_sbuf_puts(out, ",\"recorded_rtt_us\":");
			put_us3(out, res->rec_rtt_ns);
		}
		if (res->live_rtt_ns >= 0) {
			umpa_sbuf_puts(out, ",\"live_rtt_us\":");
			put_us3(out, res->live_rtt_ns);
		}
		umpa_sbuf_puts(out, ",\"differences\":[");
		for (unsigned i = 0; i < res->ndiffs; i++) {
			const struct umpa_replay_diff *d = &res->diffs[i];
			umpa_sbuf_puts(out, i ? ",{\"field\":" : "{\"field\":");
			umpa_sbuf_put_json_str(out, d->field, strlen(d->field));
			umpa_sbuf_puts(out, ",\"recorded\":");
			umpa_sbuf_put_json_str(out, d->recorded, strlen(d->recorded));
			umpa_sbuf_puts(out, ",\"live\":");
			umpa_sbuf_put_json_str(out, d->live, strlen(d->live));
			umpa_sbuf_putc(out, '}');
		}
		umpa_sbuf_putc(out, ']');
		if (res->more_diffs)
			umpa_sbuf_printf(out, ",\"more_differences\":%u", res->more_diffs);
		if (res->note[0]) {
			umpa_sbuf_puts(out, ",\"note\":");
			umpa_sbuf_put_json_str(out, res->note, strlen(res->note));
		}
		umpa_sbuf_puts(out, "}\n");
		return;
	}
	if (!verbose && !umpa_replay_failed(res))
		return;
	umpa_sbuf_printf(out, "%-10s #%u frame %llu  %s", umpa_replay_verdict_name(res->verdict),
			 res->exch == UMPA_REPLAY_NONE ? 0 : res->exch + 1, (unsigned long long)frame, flow);
	if (res->rec_rtt_ns >= 0 || res->live_rtt_ns >= 0) {
		umpa_sbuf_puts(out, "  rtt");
		if (res->rec_rtt_ns >= 0)
			umpa_sbuf_printf(out, " recorded %.3f ms", (double)res->rec_rtt_ns / 1e6);
		if (res->live_rtt_ns >= 0)
			umpa_sbuf_printf(out, " live %.3f ms", (double)res->live_rtt_ns / 1e6);
	}
	for (unsigned i = 0; i < res->ndiffs; i++)
		umpa_sbuf_printf(out, "%s %s %s -> %s", i ? "," : ":", res->diffs[i].field, res->diffs[i].recorded,
				 res->diffs[i].live);
	if (res->more_diffs)
		umpa_sbuf_printf(out, " (+%u more)", res->more_diffs);
	if (res->note[0])
		umpa_sbuf_printf(out, "%s%s", res->ndiffs ? "; " : ": ", res->note);
	umpa_sbuf_putc(out, '\n');
}

void umpa_replay_format_summary(const struct umpa_replay_summary *sum, enum umpa_replay_fmt fmt, struct umpa_sbuf *out)
{
	const uint64_t *v = sum->verdicts;

	if (fmt == UMPA_REPLAY_JSON) {
		umpa_sbuf_printf(
		    out,
		    "{\"summary\":true,\"exchanges\":%llu,\"unsent\":%llu,\"gaveup\":%llu,\"sent_only\":%llu,"
		    "\"flows\":%u,\"flows_failed\":%u,\"packets_sent\":%llu,\"packets_received\":%llu",
		    (unsigned long long)sum->exchanges, (unsigned long long)v[UMPA_RV_UNSENT],
		    (unsigned long long)v[UMPA_RV_GAVEUP], (unsigned long long)v[UMPA_RV_SENT], sum->flows,
		    sum->flows_failed, (unsigned long long)sum->sent, (unsigned long long)sum->received);
		umpa_sbuf_printf(out, ",\"elapsed_s\":%.6f", (double)sum->run_ns / 1e9);
		if (sum->rtt_pairs)
			umpa_sbuf_printf(out, ",\"recorded_rtt_mean_us\":%.3f,\"live_rtt_mean_us\":%.3f",
					 (double)sum->rec_rtt_sum_ns / 1e3 / (double)sum->rtt_pairs,
					 (double)sum->live_rtt_sum_ns / 1e3 / (double)sum->rtt_pairs);
		umpa_sbuf_printf(out, ",\"matched\":%llu,\"differing\":%llu,\"missing\":%llu,\"unexpected\":%llu}\n",
				 (unsigned long long)v[UMPA_RV_MATCHED], (unsigned long long)v[UMPA_RV_DIFFERING],
				 (unsigned long long)v[UMPA_RV_MISSING], (unsigned long long)v[UMPA_RV_UNEXPECTED]);
		return;
	}
	umpa_sbuf_printf(out, "%llu exchange%s: %llu matched, %llu differing, %llu missing, %llu unexpected",
			 (unsigned long long)sum->exchanges, sum->exchanges == 1 ? "" : "s",
			 (unsigned long long)v[UMPA_RV_MATCHED], (unsigned long long)v[UMPA_RV_DIFFERING],
			 (unsigned long long)v[UMPA_RV_MISSING], (unsigned long long)v[UMPA_RV_UNEXPECTED]);
	if (v[UMPA_RV_UNSENT])
		umpa_sbuf_printf(out, ", %llu unsent", (unsigned long long)v[UMPA_RV_UNSENT]);
	if (v[UMPA_RV_GAVEUP])
		umpa_sbuf_printf(out, ", %llu given up", (unsigned long long)v[UMPA_RV_GAVEUP]);
	if (v[UMPA_RV_SENT])
		umpa_sbuf_printf(out, ", %llu sent unchecked", (unsigned long long)v[UMPA_RV_SENT]);
	umpa_sbuf_printf(out, "; %u flow%s, %u failed; %.3f s", sum->flows, sum->flows == 1 ? "" : "s",
			 sum->flows_failed, (double)sum->run_ns / 1e9);
	if (sum->run_ns > 0 && sum->exchanges)
		umpa_sbuf_printf(out, " (%.0f exchanges/s)", (double)sum->exchanges / ((double)sum->run_ns / 1e9));
	umpa_sbuf_putc(out, '\n');
	if (sum->rtt_pairs)
		umpa_sbuf_printf(out, "latency: recorded mean %.3f ms, live mean %.3f ms (%llu exchanges)\n",
				 (double)sum->rec_rtt_sum_ns / 1e6 / (double)sum->rtt_pairs,
				 (double)sum->live_rtt_sum_ns / 1e6 / (double)sum->rtt_pairs,
				 (unsigned long long)sum->rtt_pairs);
}

static void put_xml(struct umpa_sbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			umpa_sbuf_puts(out, "&lt;");
			break;
		case '>':
			umpa_sbuf_puts(out, "&gt;");
			break;
		case '&':
			umpa_sbuf_puts(out, "&amp;");
			break;
		case '"':
			umpa_sbuf_puts(out, "&quot;");
			break;
		default:
			if ((unsigned char)*s < 0x20)
				umpa_sbuf_putc(out, ' ');
			else
				umpa_sbuf_putc(out, *s);
		}
	}
}

void umpa_replay_report_junit(const struct umpa_replay_report *rep, const char *suite, struct umpa_sbuf *out)
{
	const struct umpa_replay_cap *cap = rep->cap;
	uint32_t tests = 0;

	for (uint32_t f = 0; f < cap->nflows; f++)
		tests += rep->flow_exch[f] > 0;
	umpa_sbuf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"");
	put_xml(out, suite);
	umpa_sbuf_printf(out, "\" tests=\"%u\" failures=\"%u\">\n", tests, rep->sum.flows_failed);
	for (uint32_t f = 0; f < cap->nflows; f++) {
		if (!rep->flow_exch[f])
			continue;
		umpa_sbuf_puts(out, "  <testcase classname=\"umpa.replay\" name=\"");
		put_xml(out, cap->flows[f].name);
		umpa_sbuf_puts(out, "\"");
		if (!rep->flow_fail[f]) {
			umpa_sbuf_puts(out, "/>\n");
			continue;
		}
		umpa_sbuf_printf(out, ">\n    <failure message=\"%u of %u exchanges failed\">", rep->flow_fail[f],
				 rep->flow_exch[f]);
		for (size_t i = 0; i < rep->nfailed; i++) {
			struct umpa_sbuf line = {0};
			if (rep->failed[i].flow != f)
				continue;
			umpa_replay_format_result(cap, &rep->failed[i], UMPA_REPLAY_HUMAN, 1, &line);
			if (line.s)
				put_xml(out, line.s);
			umpa_sbuf_puts(out, "\n");
			umpa_sbuf_free(&line);
		}
		umpa_sbuf_puts(out, "</failure>\n  </testcase>\n");
	}
	umpa_sbuf_puts(out, "</testsuite>\n</testsuites>\n");
}

/* ================================================================== */
/* The run                                                            */
/* ================================================================== */

#define REPLAY_MAX_DRIVERS 8
#define REPLAY_RING (2 * UMPA_BATCH_MAX)
#define REPLAY_PEND 256
/* most packets one timer callback sends before it lets the loop read answers */
#define REPLAY_TICK_MAX (4 * UMPA_BATCH_MAX)

struct pend_ans {
	uint64_t key; /* position + 1; 0: free */
	struct umpa_replay_result r;
};

struct umpa_replay_run {
	struct umpa_loop *loop;
	const struct umpa_replay_cap *cap;
	struct umpa_replay_checker *ck;
	struct umpa_replay_timing t;
	struct umpa_replay_io io;
	struct umpa_expect *ex;
	struct umpa_replay_report *rep;
	void (*on_result)(void *arg, const struct umpa_replay_result *res);
	void *res_arg;
	void (*on_progress)(void *arg, const struct umpa_replay_summary *sofar, uint64_t total);
	void *prog_arg;
	int64_t prog_period;
	struct umpa_timer *prog;
	const struct umpa_replay_driver *drv[REPLAY_MAX_DRIVERS];
	unsigned ndrv;
	const struct umpa_replay_driver **fdrv; /* per flow, NULL: stateless */
	void **fst;
	uint32_t nclaimed; /* flows a driver claimed (0: answers need no flow lookup) */
	/* the schedule: position = iteration * nexch + exchange */
	uint64_t next, total, reg_next;
	int64_t t0, span_ns, base_ts;
	double mult;
	int done_sending, paced;
	struct umpa_timer *tm;
	struct umpa_source *src;
	uint64_t ring[REPLAY_RING];
	uint64_t ring_head, ring_tail;
	/* sending */
	struct umpa_pkt *bp, **bpp;
	struct umpa_pkt req, rec;
	/* accounting (timer path; the source keeps its own) */
	uint64_t sent, bytes, received, unsendable;
	int64_t first_ns, last_ns, prev_ns, max_late, end_ns;
	double gap_n, gap_mean, gap_m2;
	struct pend_ans *pend;
	/* live flow keys the drivers added (umpa_replay_run_alias): open addressing, flow index + 1 */
	struct run_alias *alias;
	size_t nalias, calias;
	/* flows the peer opens from ports of its own (umpa_replay_run_adopter) */
	uint32_t *adopt;
	size_t nadopt, cadopt;
	/* live controls (umpa_replay_set_multiplier, umpa_replay_pause) */
	int64_t start_ns, paused_ns; /* when the run began (--duration); when a pause began */
	int started, paused;
	struct umpa_timer *hold; /* while paused: keeps the loop running when nothing else would (--no-check) */
};

struct run_alias {
	struct fkey k;
	uint32_t fi1; /* flow index + 1; 0: free */
};

struct umpa_loop *umpa_replay_loop(struct umpa_replay_run *run)
{
	return run->loop;
}

const struct umpa_replay_cap *umpa_replay_capture(struct umpa_replay_run *run)
{
	return run->cap;
}

const struct umpa_replay_timing *umpa_replay_run_timing(const struct umpa_replay_run *run)
{
	return &run->t;
}

int umpa_replay_run_alias(struct umpa_replay_run *run, const struct umpa_pkt *p, uint32_t fi, struct umpa_err *e)
{
	struct fkey k;
	int dir;
	size_t i;

	if ((run->nalias + 1) * 2 > run->calias) {
		size_t nc = run->calias ? run->calias * 2 : 64;
		struct run_alias *na = calloc(nc, sizeof *na);
		if (!na)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		for (size_t j = 0; j < run->calias; j++) {
			if (!run->alias[j].fi1)
				continue;
			for (i = fkey_hash(&run->alias[j].k) & (nc - 1); na[i].fi1; i = (i + 1) & (nc - 1))
				;
			na[i] = run->alias[j];
		}
		free(run->alias);
		run->alias = na;
		run->calias = nc;
	}
	flow_key(p, 0, &k, &dir, 0);
	for (i = fkey_hash(&k) & (run->calias - 1); run->alias[i].fi1; i = (i + 1) & (run->calias - 1))
		if (!memcmp(&run->alias[i].k, &k, sizeof k)) {
			run->alias[i].fi1 = fi + 1;
			return 0;
		}
	run->alias[i].k = k;
	run->alias[i].fi1 = fi + 1;
	run->nalias++;
	return 0;
}

int umpa_replay_run_adopter(struct umpa_replay_run *run, uint32_t fi, struct umpa_err *e)
{
	if (umpa_array_grow(&run->adopt, &run->cadopt, run->nadopt + 1, sizeof *run->adopt, e) < 0)
		return -UMPA_ENOMEM;
	run->adopt[run->nadopt++] = fi;
	return 0;
}

/* a TCP SYN without ACK (a connection being opened), read through the cursor */
static int tcp_syn(const struct umpa_pkt *p)
{
	int l4 = umpa_pkt_find(p, &umpa_proto_tcp, 0);
	struct umpa_cur c;
	uint8_t fl = 0;
	if (l4 < 0)
		return 0;
	umpa_layer_cur(p, (unsigned)l4, &c);
	return umpa_cur_u8_at(&c, 13, &fl) == 0 && (fl & 0x12) == 0x02;
}

/* the flow of live packet @p p: the capture's, else one a driver aliased; -1 for none */
static long run_flow_of(const struct umpa_replay_run *run, const struct umpa_pkt *p)
{
	struct fkey k;
	int dir;
	long f;

	flow_key(p, 0, &k, &dir, 0);
	f = flow_find(run->cap->priv, &k);
	if (f >= 0 || !run->nalias)
		return f;
	for (size_t i = fkey_hash(&k) & (run->calias - 1); run->alias[i].fi1; i = (i + 1) & (run->calias - 1))
		if (!memcmp(&run->alias[i].k, &k, sizeof k))
			return (long)run->alias[i].fi1 - 1;
	return -1;
}

struct umpa_replay_checker *umpa_replay_run_checker(struct umpa_replay_run *run)
{
	return run->ck;
}

struct umpa_replay_report *umpa_replay_run_report(struct umpa_replay_run *run)
{
	return run->rep;
}

void umpa_replay_on_result(struct umpa_replay_run *run, void (*cb)(void *arg, const struct umpa_replay_result *res),
			   void *arg)
{
	run->on_result = cb;
	run->res_arg = arg;
}

int umpa_replay_report_exch(struct umpa_replay_run *run, const struct umpa_replay_result *res)
{
	if (run->t.learn)
		return 0;
	if (run->on_result)
		run->on_result(run->res_arg, res);
	return umpa_replay_report_add(run->rep, res);
}

static void result_init(const struct umpa_replay_run *run, uint64_t pos, struct umpa_replay_result *r)
{
	uint32_t k = (uint32_t)(pos % run->cap->nexch);
	/* not the differences' 1.4 KB: only diffs[0..ndiffs) and the note's text are read */
	memset(r, 0, offsetof(struct umpa_replay_result, diffs));
	r->note[0] = '\0';
	r->exch = k;
	r->iter = (uint32_t)(pos / run->cap->nexch);
	r->flow = run->cap->exch[k].flow;
	r->rec_rtt_ns = run->cap->exch[k].rtt_ns;
	r->live_rtt_ns = -1;
	r->verdict = UMPA_RV_MATCHED;
}

static struct pend_ans *pend_find(struct umpa_replay_run *run, uint64_t pos, int create)
{
	size_t i = (size_t)(pos * 0x9e3779b97f4a7c15ull >> 56) % REPLAY_PEND;
	for (size_t n = 0; n < REPLAY_PEND; n++, i = (i + 1) % REPLAY_PEND) {
		if (run->pend[i].key == pos + 1)
			return &run->pend[i];
		if (run->pend[i].key == 0) {
			if (!create)
				return NULL;
			run->pend[i].key = pos + 1;
			return &run->pend[i];
		}
	}
	return NULL;
}

static void pend_drop(struct pend_ans *pa)
{
	pa->key = 0;
}

static void fail_run(struct umpa_replay_run *run, struct umpa_err *e)
{
	umpa_loop_fail(run->loop, e);
}

static int register_req(struct umpa_replay_run *run, uint64_t pos, struct umpa_err *e);

static void on_reply(void *arg, const struct umpa_exchange *x)
{
	struct umpa_replay_run *run = arg;
	uint64_t pos = (uint64_t)(uintptr_t)x->user - 1;
	const struct umpa_replay_exch *xc = &run->cap->exch[pos % run->cap->nexch];
	struct pend_ans *pa = xc->nans > 1 ? pend_find(run, pos, 0) : NULL;
	struct umpa_replay_result local, *r = pa ? &pa->r : &local;
	unsigned aidx;

	if (!pa)
		result_init(run, pos, r);
	aidx = r->answers++;
	if (aidx == 0)
		r->live_rtt_ns = x->rtt_ns;
	run->received++;
	if (aidx >= xc->nans) {
		r->verdict = UMPA_RV_UNEXPECTED;
		snprintf(r->note, sizeof r->note, "%s",
			 xc->nans ? "more answers than recorded" : "an answer where the recording has none");
	} else if (run->t.learn) {
		/* a learning round: the first keeps its answers, the others learn what differs from them */
		struct umpa_err e = {0};
		uint32_t k = (uint32_t)(pos % run->cap->nexch);
		if (aidx == 0 && run->t.learn == 1 &&
		    umpa_replay_checker_keep(run->ck, k, run->cap->nexch, x->answer, &e) < 0)
			fail_run(run, &e);
		else if (aidx == 0 && run->t.learn == 2)
			umpa_replay_checker_learn(run->ck, k, x->answer);
	} else {
		umpa_replay_cap_pkt(run->cap, xc->ans[aidx], &run->rec);
		umpa_replay_compare(run->ck, &run->rec, x->answer, r, 0);
		if (aidx + 1 < xc->nans) {
			struct umpa_err e = {0};
			if (!pa && (pa = pend_find(run, pos, 1)) != NULL) {
				pa->r = *r;
				r = &pa->r;
			}
			if (pa && register_req(run, pos, &e) == 0)
				return; /* the next answer is awaited */
			snprintf(r->note, sizeof r->note, "answers after the first not checked (too many in flight)");
		}
	}
	umpa_replay_report_exch(run, r);
	if (pa)
		pend_drop(pa);
}

static void on_timeout(void *arg, const struct umpa_exchange *x)
{
	struct umpa_replay_run *run = arg;
	uint64_t pos = (uint64_t)(uintptr_t)x->user - 1;
	const struct umpa_replay_exch *xc = &run->cap->exch[pos % run->cap->nexch];
	struct pend_ans *pa = xc->nans > 1 ? pend_find(run, pos, 0) : NULL;
	struct umpa_replay_result local, *r = pa ? &pa->r : &local;

	if (!pa)
		result_init(run, pos, r);
	if (r->answers < xc->nans) {
		r->verdict = UMPA_RV_MISSING;
		if (r->answers)
			snprintf(r->note, sizeof r->note, "answer %u of %u did not come within %.3g s", r->answers + 1,
				 xc->nans, (double)run->t.timeout_ns / 1e9);
		else
			snprintf(r->note, sizeof r->note, "no answer within %.3g s", (double)run->t.timeout_ns / 1e9);
	}
	umpa_replay_report_exch(run, r);
	if (pa)
		pend_drop(pa);
}

/* start waiting for the answers of the request at @p pos (before it leaves) */
static int register_req(struct umpa_replay_run *run, uint64_t pos, struct umpa_err *e)
{
	const struct umpa_replay_exch *xc = &run->cap->exch[pos % run->cap->nexch];
	const struct umpa_replay_pkt *rp = &run->cap->pkts[xc->req];
	struct umpa_expect_opts o = {.timeout_ns = run->t.timeout_ns,
				     .on_reply = on_reply,
				     .reply_arg = run,
				     .on_timeout = on_timeout,
				     .timeout_arg = run,
				     .user = (void *)(uintptr_t)(pos + 1),
				     .sent_by_caller = 1};
	int64_t r;

	umpa_pkt_attach(&run->req, run->cap->arena + rp->off, rp->len, rp->wirelen, run->cap->linktype);
	r = umpa_expect_add(run->ex, &run->req, &o, e);
	return r < 0 ? (int)r : 0;
}

/* a SEND packet that cannot go: reported at once */
static void report_unsent(struct umpa_replay_run *run, uint64_t pos, const char *why)
{
	struct umpa_replay_result r;
	if (run->t.no_check) { /* counted only */
		run->unsendable++;
		return;
	}
	result_init(run, pos, &r);
	r.verdict = UMPA_RV_UNSENT;
	snprintf(r.note, sizeof r.note, "%s", why);
	run->unsendable++;
	umpa_replay_report_exch(run, &r);
}

/*
 * What to do with position @p pos before it is sent: 1 send it (a stateless
 * packet), 0 skip it (unsendable: reported; a driver's: handed over), or a
 * negative error.
 */
static int take_pos(struct umpa_replay_run *run, uint64_t pos, struct umpa_err *e)
{
	const struct umpa_replay_exch *xc = &run->cap->exch[pos % run->cap->nexch];
	const struct umpa_replay_pkt *rp = &run->cap->pkts[xc->req];

	if (run->fdrv && run->fdrv[xc->flow]) {
		int r = run->fdrv[xc->flow]->due(run->fst[xc->flow], xc->req, (uint32_t)(pos / run->cap->nexch), e);
		return r < 0 ? r : r == 1 && !rp->unsendable; /* 1: the driver leaves the sending to the schedule */
	}
	if (rp->unsendable) {
		report_unsent(run, pos, "cannot be sent on this interface (link type or size)");
		return 0;
	}
	return 1;
}

static void note_sent(struct umpa_replay_run *run, int64_t now, uint64_t pkts, uint64_t bytes)
{
	if (!run->sent)
		run->first_ns = now;
	else {
		double gap = (double)(now - run->prev_ns), d;
		for (uint64_t i = 0; i < pkts; i++) {
			run->gap_n += 1;
			d = (i ? 0.0 : gap) - run->gap_mean;
			run->gap_mean += d / run->gap_n;
			run->gap_m2 += d * ((i ? 0.0 : gap) - run->gap_mean);
		}
	}
	run->prev_ns = now;
	run->last_ns = now;
	run->sent += pkts;
	run->bytes += bytes;
}

/*
 * Register (once) and send the stateless positions @p pos[0..n), grouped by
 * interface.  Returns how many were taken (n unless an interface took fewer)
 * or a negative error.
 */
static int send_positions(struct umpa_replay_run *run, const uint64_t *pos, unsigned n, struct umpa_err *e)
{
	unsigned done = 0;

	for (unsigned i = 0; i < n; i++) {
		if (pos[i] < run->reg_next)
			continue;
		run->reg_next = pos[i] + 1;
		/* a driver's packet is the driver's to check */
		if (!run->t.no_check && !(run->fdrv && run->fdrv[run->cap->exch[pos[i] % run->cap->nexch].flow])) {
			int r = register_req(run, pos[i], e);
			if (r < 0)
				return r;
		}
	}
	while (done < n) {
		unsigned m = 0, ifx = run->cap->pkts[run->cap->exch[pos[done] % run->cap->nexch].req].ifidx;
		uint64_t bytes = 0;
		int r;
		while (done + m < n && m < UMPA_BATCH_MAX) {
			const struct umpa_replay_pkt *rp =
			    &run->cap->pkts[run->cap->exch[pos[done + m] % run->cap->nexch].req];
			struct umpa_pkt *p = &run->bp[m];
			if (rp->ifidx != ifx)
				break;
			p->data = run->cap->arena + rp->off;
			p->len = p->cap = p->wirelen = rp->len;
			bytes += rp->len;
			m++;
		}
		r = run->io.send(run->io.arg, ifx < run->io.nifs ? ifx : 0, run->bpp, m, e);
		if (r < 0)
			return r;
		if (!run->src)
			note_sent(run, umpa_loop_now_ns(run->loop), (uint64_t)r, bytes);
		done += (unsigned)r;
		if ((unsigned)r < m)
			break;
	}
	return (int)done;
}

int umpa_replay_transmit(struct umpa_replay_run *run, unsigned ifidx, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct umpa_pkt *const one[1] = {(struct umpa_pkt *)(uintptr_t)p};
	int r = run->io.send(run->io.arg, ifidx < run->io.nifs ? ifidx : 0, one, 1, e);
	if (r < 0)
		return r;
	if (r == 0)
		return umpa_err_set(e, UMPA_EIO, "the interface took no frame");
	if (!run->src)
		note_sent(run, umpa_loop_now_ns(run->loop), 1, p->len);
	return 0;
}

static int64_t due_of(const struct umpa_replay_run *run, uint64_t pos)
{
	const struct umpa_replay_cap *cap = run->cap;
	uint64_t iter = pos / cap->nexch;
	int64_t rel = cap->pkts[cap->exch[pos % cap->nexch].req].ts_ns - run->base_ts;
	if (rel < 0)
		rel = 0; /* out of order in the file: as soon as possible */
	return run->t0 + (int64_t)iter * run->span_ns + (int64_t)((double)rel / run->mult);
}

static int duration_over(struct umpa_replay_run *run, int64_t now)
{
	return run->t.duration_ns > 0 && now - run->start_ns >= run->t.duration_ns;
}

/* original timing: send what is due, then sleep until the next due time */
static void tick(struct umpa_loop *loop, void *arg)
{
	struct umpa_replay_run *run = arg;
	struct umpa_err e = {0};
	int64_t now = umpa_loop_now_ns(loop);
	uint64_t batch[UMPA_BATCH_MAX];
	unsigned sent = 0;

	run->tm = NULL;
	while (run->next < run->total && sent < REPLAY_TICK_MAX) {
		unsigned n = 0;
		int r;
		if (duration_over(run, now)) {
			run->next = run->total;
			break;
		}
		while (run->next < run->total && n < UMPA_BATCH_MAX) {
			int64_t due = due_of(run, run->next);
			if (due > now)
				break;
			if (now - due > run->max_late)
				run->max_late = now - due;
			r = take_pos(run, run->next, &e);
			if (r < 0)
				goto fail;
			if (r)
				batch[n++] = run->next;
			run->next++;
		}
		if (n == 0)
			break;
		r = send_positions(run, batch, n, &e);
		if (r < 0)
			goto fail;
		if ((unsigned)r < n) {
			umpa_err_set(&e, UMPA_EIO, "the interface took %d of %u frames", r, n);
			goto fail;
		}
		sent += n;
	}
	if (run->next >= run->total) {
		run->done_sending = 1;
		return;
	}
	run->tm = sent >= REPLAY_TICK_MAX ? umpa_after(loop, 0, tick, run, &e)
					  : umpa_at(loop, due_of(run, run->next), tick, run, &e);
	if (!run->tm)
		goto fail;
	return;
fail:
	run->done_sending = 1;
	fail_run(run, &e);
}

/* --pps, --mbps, --topspeed: the scheduler's packet source */
static int src_cb(void *arg, struct umpa_frame *f, struct umpa_err *e)
{
	struct umpa_replay_run *run = arg;

	for (;;) {
		const struct umpa_replay_pkt *rp;
		int r;
		if (run->next >= run->total ||
		    (run->t.duration_ns > 0 && duration_over(run, umpa_loop_now_ns(run->loop)))) {
			run->next = run->total;
			run->done_sending = 1;
			return 0;
		}
		if (run->ring_tail - run->ring_head >= REPLAY_RING)
			return umpa_err_set(e, UMPA_ERANGE, "replay: frame ring overflow");
		r = take_pos(run, run->next, e);
		if (r < 0)
			return r;
		if (!r) {
			run->next++;
			continue;
		}
		rp = &run->cap->pkts[run->cap->exch[run->next % run->cap->nexch].req];
		f->data = run->cap->arena + rp->off;
		f->len = rp->len;
		run->ring[run->ring_tail++ % REPLAY_RING] = run->next++;
		return 1;
	}
}

static int sink_cb(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e)
{
	struct umpa_replay_run *run = arg;
	uint64_t pos[UMPA_BATCH_MAX];
	int r;

	(void)f;
	if (n > UMPA_BATCH_MAX || run->ring_tail - run->ring_head < n)
		return umpa_err_set(e, UMPA_ERANGE, "replay: the sink got frames it did not produce");
	for (unsigned i = 0; i < n; i++)
		pos[i] = run->ring[(run->ring_head + i) % REPLAY_RING];
	r = send_positions(run, pos, n, e);
	if (r > 0)
		run->ring_head += (uint64_t)r;
	return r;
}

static void progress_tick(struct umpa_loop *loop, void *arg)
{
	struct umpa_replay_run *run = arg;
	struct umpa_replay_summary s;
	(void)loop;
	umpa_replay_run_summary(run, &s);
	if (run->on_progress)
		run->on_progress(run->prog_arg, &s, run->total);
}

void umpa_replay_on_progress(struct umpa_replay_run *run, int64_t period_ns,
			     void (*cb)(void *arg, const struct umpa_replay_summary *sofar, uint64_t total_pkts),
			     void *arg)
{
	run->on_progress = cb;
	run->prog_arg = arg;
	run->prog_period = cb ? period_ns : 0;
}

/* the engine never transmits for the run (sent_by_caller, no retries): the run sends on its schedule */
static int no_send(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	(void)arg;
	(void)p;
	return umpa_err_set(e, UMPA_EINVAL, "replay: the expect engine does not send");
}

struct umpa_replay_run *umpa_replay_run_new(struct umpa_loop *loop, const struct umpa_replay_cap *cap,
					    struct umpa_replay_checker *ck, const struct umpa_replay_timing *t,
					    const struct umpa_replay_io *io, struct umpa_err *e)
{
	struct umpa_replay_run *run = calloc(1, sizeof *run);

	if (!run)
		goto oom;
	run->loop = loop;
	run->cap = cap;
	run->ck = ck;
	run->t = *t;
	run->io = *io;
	if (run->io.nifs == 0)
		run->io.nifs = 1;
	if (run->t.timeout_ns <= 0)
		run->t.timeout_ns = UMPA_NS_PER_SEC;
	run->mult = run->t.multiplier > 0 ? run->t.multiplier : 1.0;
	umpa_pkt_init(&run->req);
	umpa_pkt_init(&run->rec);
	if (!(run->rep = umpa_replay_report_new(cap, e)))
		goto fail;
	if (!(run->ex = umpa_expect_new(loop, no_send, NULL, e)))
		goto fail;
	if (!(run->bp = calloc(UMPA_BATCH_MAX, sizeof *run->bp)) ||
	    !(run->bpp = calloc(UMPA_BATCH_MAX, sizeof *run->bpp)) ||
	    !(run->pend = calloc(REPLAY_PEND, sizeof *run->pend)))
		goto oom;
	for (unsigned i = 0; i < UMPA_BATCH_MAX; i++) {
		umpa_pkt_init(&run->bp[i]);
		umpa_pkt_attach(&run->bp[i], NULL, 0, 0, cap->linktype);
		run->bpp[i] = &run->bp[i];
	}
	return run;
oom:
	umpa_err_set(e, UMPA_ENOMEM, "out of memory");
fail:
	umpa_replay_run_free(run);
	return NULL;
}

int umpa_replay_add_driver(struct umpa_replay_run *run, const struct umpa_replay_driver *d, struct umpa_err *e)
{
	if (run->ndrv == REPLAY_MAX_DRIVERS)
		return umpa_err_set(e, UMPA_ERANGE, "replay: more than %d flow drivers", REPLAY_MAX_DRIVERS);
	run->drv[run->ndrv++] = d;
	return 0;
}

static int run_done(void *arg)
{
	struct umpa_replay_run *run = arg;
	if (!run->done_sending || run->ring_head != run->ring_tail || umpa_expect_pending(run->ex))
		return 0;
	for (uint32_t f = 0; run->fdrv && f < run->cap->nflows; f++)
		if (run->fdrv[f] && run->fdrv[f]->busy && run->fdrv[f]->busy(run->fst[f]))
			return 0;
	return 1;
}

int umpa_replay_run_go(struct umpa_replay_run *run, struct umpa_err *e)
{
	const struct umpa_replay_cap *cap = run->cap;
	int64_t first = INT64_MAX, last = INT64_MIN;
	int r;

	/* drivers claim their flows */
	if (run->ndrv) {
		if (!(run->fdrv = calloc(cap->nflows, sizeof *run->fdrv)) ||
		    !(run->fst = calloc(cap->nflows, sizeof *run->fst)))
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		for (uint32_t f = 0; f < cap->nflows; f++)
			for (unsigned d = 0; d < run->ndrv; d++)
				if (run->drv[d]->claim(cap, f)) {
					run->fdrv[f] = run->drv[d];
					if (!(run->fst[f] = run->drv[d]->open(run, f, e))) {
						run->fdrv[f] = NULL;
						return -e->code;
					}
					run->nclaimed++;
					break;
				}
	}
	/* the schedule */
	for (uint32_t k = 0; k < cap->nexch; k++) {
		int64_t ts = cap->pkts[cap->exch[k].req].ts_ns;
		if (ts < first)
			first = ts;
		if (ts > last)
			last = ts;
	}
	run->base_ts = cap->nexch ? cap->pkts[cap->exch[0].req].ts_ns : 0;
	if (first < run->base_ts)
		run->base_ts = first;
	run->span_ns = (int64_t)((double)(last - run->base_ts) / run->mult);
	if (cap->nexch > 1)
		run->span_ns += run->span_ns / (int64_t)(cap->nexch - 1); /* one mean gap between two rounds */
	run->total = (uint64_t)cap->nexch * (run->t.loops ? run->t.loops : 1);
	run->paced = run->t.topspeed || run->t.pps > 0 || run->t.mbps > 0;
	run->t0 = run->start_ns = umpa_loop_now_ns(run->loop);
	run->started = 1;
	if (run->total == 0)
		run->done_sending = 1;
	else if (run->paced) {
		struct umpa_rate rate = {.pps = run->t.pps, .bps = run->t.mbps * 1e6, .seed = 1};
		run->src = umpa_loop_source(run->loop, src_cb, run, run->t.topspeed ? NULL : &rate, sink_cb, run, e);
		if (!run->src)
			return -e->code;
	} else if (!(run->tm = umpa_at(run->loop, run->t0, tick, run, e)))
		return -e->code;
	if (run->prog_period > 0 && !(run->prog = umpa_every(run->loop, run->prog_period, progress_tick, run, e)))
		return -e->code;
	r = umpa_loop_run_until(run->loop, run_done, run, UMPA_NEVER, e);
	run->end_ns = umpa_loop_now_ns(run->loop);
	umpa_timer_cancel(run->prog);
	run->prog = NULL;
	umpa_timer_cancel(run->tm);
	run->tm = NULL;
	umpa_timer_cancel(run->hold);
	run->hold = NULL;
	if (run->src)
		umpa_source_stop(run->src);
	run->last_ns = run->sent ? run->last_ns : run->start_ns;
	for (uint32_t f = 0; run->fdrv && f < cap->nflows; f++)
		if (run->fdrv[f]) {
			const struct umpa_replay_driver *d = run->fdrv[f];
			void *st = run->fst[f];
			run->fdrv[f] = NULL;
			run->fst[f] = NULL;
			/* a shared state is closed once */
			for (uint32_t g = f + 1; g < cap->nflows; g++)
				if (run->fst[g] == st)
					run->fdrv[g] = NULL, run->fst[g] = NULL;
			if (d->close)
				d->close(st);
		}
	return r < 0 ? r : 0;
}

int umpa_replay_run_input(struct umpa_replay_run *run, struct umpa_pkt *p, unsigned ifidx)
{
	if (!p->nlayers) {
		umpa_dissect(p);
		umpa_pkt_csum_policy(p, UMPA_CSUM_LIVE);
	}
	if (run->fdrv && run->nclaimed) {
		long f = run_flow_of(run, p);
		if (f >= 0 && run->fdrv[f] && run->fdrv[f]->input(run->fst[f], p, (int)ifidx)) {
			run->received++;
			return 1;
		}
		/* a connection the peer opens from a port of its own: the flows that take such ones are asked */
		if (f < 0 && run->nadopt && tcp_syn(p))
			for (size_t i = 0; i < run->nadopt; i++) {
				uint32_t a = run->adopt[i];
				if (run->fdrv[a] && run->fdrv[a]->adopt &&
				    run->fdrv[a]->adopt(run->fst[a], p, (int)ifidx)) {
					run->received++;
					return 1;
				}
			}
	}
	return umpa_expect_input(run->ex, p);
}

void umpa_replay_run_summary(const struct umpa_replay_run *run, struct umpa_replay_summary *sum)
{
	umpa_replay_report_summary(run->rep, sum);
	if (run->src) {
		struct umpa_rate_stats st;
		umpa_source_stats(run->src, &st);
		sum->sent = st.packets;
		sum->sent_bytes = st.bytes;
		sum->elapsed_ns = st.elapsed_ns;
	} else {
		sum->sent = run->sent;
		sum->sent_bytes = run->bytes;
		sum->elapsed_ns = run->last_ns - run->first_ns;
	}
	sum->received = run->received;
	sum->unsendable = run->unsendable;
	sum->run_ns = (run->end_ns ? run->end_ns : umpa_loop_now_ns(run->loop)) - run->start_ns;
}

void umpa_replay_run_rate(const struct umpa_replay_run *run, struct umpa_rate_stats *st)
{
	if (run->src) {
		umpa_source_stats(run->src, st);
		return;
	}
	memset(st, 0, sizeof *st);
	st->packets = run->sent;
	st->bytes = run->bytes;
	st->elapsed_ns = run->last_ns - run->first_ns;
	st->first_ns = run->first_ns;
	st->last_ns = run->last_ns;
	st->max_late_ns = run->max_late;
	if (st->elapsed_ns > 0 && run->sent > 1) {
		st->pps = (double)(run->sent - 1) / ((double)st->elapsed_ns / 1e9);
		st->bps = (double)run->bytes * 8.0 / ((double)st->elapsed_ns / 1e9);
	}
	{
		/* requested: the recorded rate of the SEND packets, sped up by the multiplier */
		const struct umpa_replay_cap *cap = run->cap;
		int64_t span = cap->nexch > 1 ? cap->pkts[cap->exch[cap->nexch - 1].req].ts_ns - run->base_ts : 0;
		if (span > 0) {
			st->req_pps = (double)(cap->nexch - 1) / ((double)span / 1e9) * run->mult;
		}
	}
	st->gap_mean_ns = run->gap_mean;
	st->gap_stddev_ns = run->gap_n > 1 ? sqrt(run->gap_m2 / (run->gap_n - 1)) : 0;
}

struct umpa_replay_run *umpa_replay_run_free(struct umpa_replay_run *run)
{
	if (!run)
		return NULL;
	umpa_timer_cancel(run->prog);
	umpa_timer_cancel(run->tm);
	if (run->src)
		umpa_source_close(run->src);
	umpa_expect_free(run->ex);
	umpa_replay_report_free(run->rep);
	umpa_pkt_release(&run->req);
	umpa_pkt_release(&run->rec);
	free(run->bp);
	free(run->bpp);
	free(run->pend);
	free(run->fdrv);
	free(run->fst);
	free(run->alias);
	free(run->adopt);
	free(run);
	return NULL;
}

/* ================================================================== */
/* Live controls (a control plane changes the pace of a running replay) */
/* ================================================================== */

int umpa_replay_run_paced(const struct umpa_replay_run *run)
{
	return run->t.topspeed || run->t.pps > 0 || run->t.mbps > 0;
}

double umpa_replay_multiplier(const struct umpa_replay_run *run)
{
	return run->mult;
}

int umpa_replay_paused(const struct umpa_replay_run *run)
{
	return run->paused;
}

/* The timer of original timing, re-armed for the next position (after a change of pace). */
static int rearm(struct umpa_replay_run *run, struct umpa_err *e)
{
	umpa_timer_cancel(run->tm);
	run->tm = NULL;
	if (run->paused || run->done_sending || run->next >= run->total)
		return 0;
	if (!(run->tm = umpa_at(run->loop, due_of(run, run->next), tick, run, e)))
		return -e->code;
	return 0;
}

int umpa_replay_set_multiplier(struct umpa_replay_run *run, double mult, struct umpa_err *e)
{
	int64_t now, at;
	double rec;
	if (!(mult > 0 && mult <= 1e6))
		return umpa_err_set(e, UMPA_EINVAL, "multiplier: %g is not a speed factor (above 0, at most 1e6)",
				    mult);
	if (umpa_replay_run_paced(run))
		return umpa_err_set(e, UMPA_EINVAL, "multiplier: this replay is paced (--pps, --mbps, --topspeed)");
	if (!run->started) { /* not started: the schedule is made with it */
		run->mult = mult;
		return 0;
	}
	/* the recorded time reached so far stays where it is; what follows runs at the new speed */
	now = umpa_loop_now_ns(run->loop);
	at = run->paused ? run->paused_ns : now;
	rec = (double)(at - run->t0) * run->mult;
	run->span_ns = (int64_t)((double)run->span_ns * run->mult / mult);
	run->t0 = at - (int64_t)(rec / mult);
	run->mult = mult;
	return rearm(run, e);
}

static void hold_tick(struct umpa_loop *loop, void *arg)
{
	(void)loop;
	(void)arg; /* a paused run waits: nothing to do, the loop just goes on */
}

int umpa_replay_pause(struct umpa_replay_run *run, int on, struct umpa_err *e)
{
	int64_t now;
	if (!run->started)
		return umpa_err_set(e, UMPA_EINVAL, "paused: the replay has not started");
	on = !!on;
	if (on == run->paused)
		return 0;
	/* paused, with no timer and no capture (--no-check) the loop would think the run over */
	if (on && !(run->hold = umpa_every(run->loop, UMPA_NS_PER_SEC / 10, hold_tick, run, e)))
		return -e->code;
	if (!on) {
		umpa_timer_cancel(run->hold);
		run->hold = NULL;
	}
	if (umpa_replay_run_paced(run)) { /* --pps, --mbps, --topspeed: the scheduler's source holds its frames */
		if (!run->src || (run->done_sending && on))
			umpa_err_set(e, UMPA_EINVAL, "paused: the replay has sent everything");
		else if (umpa_source_pause(run->src, on, e) == 0) {
			run->paused = on;
			return 0;
		}
		umpa_timer_cancel(run->hold);
		run->hold = NULL;
		return -e->code;
	}
	now = umpa_loop_now_ns(run->loop);
	if (on) {
		run->paused = 1;
		run->paused_ns = now;
	} else {
		run->paused = 0;
		run->t0 += now - run->paused_ns; /* the schedule resumes where it stopped */
	}
	return rearm(run, e);
}

int umpa_replay_set_rate(struct umpa_replay_run *run, double pps, double mbps, struct umpa_err *e)
{
	int by_pps = run->t.pps > 0;
	if (run->t.topspeed || (!by_pps && run->t.mbps <= 0))
		return umpa_err_set(e, UMPA_EINVAL, "rate: only a replay paced by --pps or --mbps changes its rate");
	if (by_pps ? !(pps > 0 && pps <= 1e9) || mbps != 0 : !(mbps > 0 && mbps <= 1e6) || pps != 0)
		return umpa_err_set(e, UMPA_EINVAL, "rate: %s %g is out of range (above 0, at most %s)",
				    by_pps ? "pps" : "mbps", by_pps ? pps : mbps, by_pps ? "1e9" : "1e6");
	if (run->src && umpa_source_set_rate(run->src, pps, mbps * 1e6, e) < 0)
		return -e->code;
	run->t.pps = pps;
	run->t.mbps = mbps;
	return 0;
}

void umpa_replay_rate_now(const struct umpa_replay_run *run, double *pps, double *mbps)
{
	*pps = run->t.pps;
	*mbps = run->t.mbps;
}

void umpa_replay_report_flow(const struct umpa_replay_report *rep, uint32_t fi, uint32_t *exch, uint32_t *failed)
{
	*exch = fi < rep->cap->nflows ? rep->flow_exch[fi] : 0;
	*failed = fi < rep->cap->nflows ? rep->flow_fail[fi] : 0;
}
