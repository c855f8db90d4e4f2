/* registry.c - the list of protocols and how they are demultiplexed.
 *
 * Adding a protocol: its file, one line in `protos`, and its bindings below.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "umpa_near.h"
#include "umpa_protos.h"

static const struct umpa_proto *const protos[] = {
    &umpa_proto_eth,       &umpa_proto_vlan,     &umpa_proto_sll,    &umpa_proto_sll2,       &umpa_proto_null,
    &umpa_proto_arp,       &umpa_proto_ip,       &umpa_proto_ipv6,   &umpa_proto_ipv6_hop,   &umpa_proto_ipv6_route,
    &umpa_proto_ipv6_frag, &umpa_proto_ipv6_dst, &umpa_proto_icmp,   &umpa_proto_icmpv6,     &umpa_proto_udp,
    &umpa_proto_tcp,       &umpa_proto_dns,      &umpa_proto_tls,    &umpa_proto_vxlan,      &umpa_proto_gre,
    &umpa_proto_erspan,    &umpa_proto_mpls,     &umpa_proto_geneve, &umpa_proto_ieee8021ad, &umpa_proto_dhcp,
    &umpa_proto_igmp,      &umpa_proto_sctp,     &umpa_proto_dhcpv6, &umpa_proto_ntp,        &umpa_proto_lldp,
    &umpa_proto_raw,       &umpa_proto_http,
};

/** One demultiplexing binding: (kind, value) -> protocol.  Keep binds[] grouped by kind.  The first binding of
 * a protocol under a kind is the value finish() writes for it. */
struct bind {
	uint8_t kind;
	uint32_t val;
	const struct umpa_proto *proto;
};

static const struct bind binds[] = {
    {UMPA_BIND_DLT, UMPA_LINKTYPE_ETHERNET, &umpa_proto_eth},
    {UMPA_BIND_DLT, UMPA_LINKTYPE_IPV4, &umpa_proto_ip},
    {UMPA_BIND_DLT, UMPA_LINKTYPE_IPV6, &umpa_proto_ipv6},
    {UMPA_BIND_DLT, UMPA_LINKTYPE_LINUX_SLL, &umpa_proto_sll},
    {UMPA_BIND_DLT, UMPA_LINKTYPE_LINUX_SLL2, &umpa_proto_sll2},
    {UMPA_BIND_DLT, UMPA_LINKTYPE_NULL, &umpa_proto_null},
    {UMPA_BIND_DLT, UMPA_LINKTYPE_LOOP, &umpa_proto_null},
    {UMPA_BIND_ETHERTYPE, 0x0800, &umpa_proto_ip},
    {UMPA_BIND_ETHERTYPE, 0x86dd, &umpa_proto_ipv6},
    {UMPA_BIND_ETHERTYPE, 0x0806, &umpa_proto_arp},
    {UMPA_BIND_ETHERTYPE, 0x8100, &umpa_proto_vlan},
    {UMPA_BIND_ETHERTYPE, 0x88a8, &umpa_proto_ieee8021ad},
    {UMPA_BIND_ETHERTYPE, 0x8847, &umpa_proto_mpls},
    {UMPA_BIND_ETHERTYPE, 0x8848, &umpa_proto_mpls}, /* multicast */
    {UMPA_BIND_ETHERTYPE, 0x9100, &umpa_proto_vlan},
    {UMPA_BIND_ETHERTYPE, 0x88cc, &umpa_proto_lldp},
    {UMPA_BIND_AF, 2, &umpa_proto_ip},    /* AF_INET everywhere */
    {UMPA_BIND_AF, 24, &umpa_proto_ipv6}, /* NetBSD, OpenBSD */
    {UMPA_BIND_AF, 28, &umpa_proto_ipv6}, /* FreeBSD */
    {UMPA_BIND_AF, 30, &umpa_proto_ipv6}, /* macOS */
    {UMPA_BIND_AF, 10, &umpa_proto_ipv6}, /* Linux */
    {UMPA_BIND_IPPROTO, 1, &umpa_proto_icmp},
    {UMPA_BIND_IPPROTO, 6, &umpa_proto_tcp},
    {UMPA_BIND_IPPROTO, 17, &umpa_proto_udp},
    {UMPA_BIND_IPPROTO, 58, &umpa_proto_icmpv6},
    {UMPA_BIND_IPPROTO, 4, &umpa_proto_ip},    /* IP in IP */
    {UMPA_BIND_IPPROTO, 41, &umpa_proto_ipv6}, /* IPv6 in IP */
    {UMPA_BIND_IPPROTO, 2, &umpa_proto_igmp},
    {UMPA_BIND_IPPROTO, 132, &umpa_proto_sctp},
    {UMPA_BIND_IPPROTO, 47, &umpa_proto_gre},
    {UMPA_BIND_IPPROTO, 137, &umpa_proto_mpls}, /* MPLS in IP */
    {UMPA_BIND_IPPROTO, 0, &umpa_proto_ipv6_hop},
    {UMPA_BIND_IPPROTO, 43, &umpa_proto_ipv6_route},
    {UMPA_BIND_IPPROTO, 44, &umpa_proto_ipv6_frag},
    {UMPA_BIND_IPPROTO, 60, &umpa_proto_ipv6_dst},
    {UMPA_BIND_UDPPORT, 53, &umpa_proto_dns},
    {UMPA_BIND_UDPPORT, 5353, &umpa_proto_dns},
    {UMPA_BIND_UDPPORT, 4789, &umpa_proto_vxlan},
    {UMPA_BIND_UDPPORT, 6081, &umpa_proto_geneve},
    {UMPA_BIND_UDPPORT, 67, &umpa_proto_dhcp},
    {UMPA_BIND_UDPPORT, 68, &umpa_proto_dhcp},
    {UMPA_BIND_UDPPORT, 6635, &umpa_proto_mpls}, /* MPLS in UDP */
    {UMPA_BIND_UDPPORT, 547, &umpa_proto_dhcpv6},
    {UMPA_BIND_UDPPORT, 123, &umpa_proto_ntp},
    {UMPA_BIND_UDPPORT, 546, &umpa_proto_dhcpv6},
    {UMPA_BIND_TCPPORT, 53, &umpa_proto_dns},
    /* TLS: https, smtps, nntps, ldaps, dns-over-tls, ftps, telnets, imaps, ircs, pop3s, sips, amqps, mqtts,
     * https-alt; other ports by tls.c's heuristic (tcp.c) */
    {UMPA_BIND_TCPPORT, 443, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 465, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 563, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 636, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 853, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 989, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 990, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 992, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 993, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 994, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 995, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 5061, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 5671, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 8883, &umpa_proto_tls},
    {UMPA_BIND_TCPPORT, 8443, &umpa_proto_tls},
    /* GRE and GENEVE protocol types that are no Ethernet types (the others are looked up as Ethernet types) */
    {UMPA_BIND_GREPROTO, 0x6558, &umpa_proto_eth},    /* transparent Ethernet bridging */
    {UMPA_BIND_GREPROTO, 0x88be, &umpa_proto_erspan}, /* types I and II; gre.c writes 0x22eb for type III */
    {UMPA_BIND_GREPROTO, 0x22eb, &umpa_proto_erspan},
};

const struct umpa_proto *const *umpa_protos(size_t *n)
{
	*n = sizeof(protos) / sizeof(protos[0]);
	return protos;
}

const struct umpa_proto *umpa_proto_find(const char *name)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (umpa_proto_is_named(protos[i], name))
			return protos[i];
	return NULL;
}

const char *umpa_proto_near(const char *name, char *buf, size_t size)
{
	struct umpa_near n;

	umpa_near_init(&n, name);
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		umpa_near_str(&n, protos[i]->name);
		umpa_near_list(&n, protos[i]->aliases);
	}
	return umpa_near_best(&n, buf, size);
}

/*
 * The bindings' index: an open-addressing table over (kind, value), built
 * once (pthread_once) from binds[], first binding first so that it wins as
 * in a scan of binds[].  Every dissected layer looks its next protocol up
 * here (a UDP datagram twice: its ports), so a scan of the 64 bindings was
 * a fifth of umpa replay's load time.
 */
#define BIND_IX_SIZE 256 /* a power of two, several times the number of bindings */
static struct {
	uint64_t key;
	const struct umpa_proto *proto; /* NULL: empty */
} bind_ix[BIND_IX_SIZE];
static pthread_once_t bind_ix_once = PTHREAD_ONCE_INIT;
_Static_assert(sizeof(binds) / sizeof(binds[0]) <= BIND_IX_SIZE / 2, "binds[] outgrew its index: double BIND_IX_SIZE");

static size_t bind_slot(uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 56) & (BIND_IX_SIZE - 1);
}

static void bind_ix_build(void)
{
	for (size_t i = 0; i < sizeof(binds) / sizeof(binds[0]); i++) {
		uint64_t key = (uint64_t)binds[i].kind << 32 | binds[i].val;
		size_t s = bind_slot(key);
		while (bind_ix[s].proto && bind_ix[s].key != key)
			s = (s + 1) & (BIND_IX_SIZE - 1);
		if (!bind_ix[s].proto) {
			bind_ix[s].key = key;
			bind_ix[s].proto = binds[i].proto;
		}
	}
}

const struct umpa_proto *umpa_proto_bound(enum umpa_bind_kind kind, uint32_t val)
{
	uint64_t key = (uint64_t)kind << 32 | val;
	size_t s;

	pthread_once(&bind_ix_once, bind_ix_build);
	for (s = bind_slot(key); bind_ix[s].proto; s = (s + 1) & (BIND_IX_SIZE - 1))
		if (bind_ix[s].key == key)
			return bind_ix[s].proto;
	return NULL;
}

int umpa_proto_bind_value(enum umpa_bind_kind kind, const struct umpa_proto *proto, uint32_t *val)
{
	for (size_t i = 0; i < sizeof(binds) / sizeof(binds[0]); i++)
		if (binds[i].kind == kind && binds[i].proto == proto) {
			*val = binds[i].val;
			return 0;
		}
	return -1;
}

const struct umpa_proto *umpa_proto_for_linktype(int linktype)
{
	if (linktype == UMPA_LINKTYPE_RAW || linktype == 12 /* DLT_RAW on some systems */ || linktype == 14)
		return &umpa_proto_ip; /* umpa_dissect picks IPv6 by the version nibble */
	return umpa_proto_bound(UMPA_BIND_DLT, (uint32_t)linktype);
}

int umpa_linktype_for_proto(const struct umpa_proto *proto)
{
	uint32_t v;

	if (proto == &umpa_proto_ip || proto == &umpa_proto_ipv6)
		return UMPA_LINKTYPE_RAW;
	if (proto == &umpa_proto_null)
		return UMPA_LINKTYPE_NULL;
	if (umpa_proto_bind_value(UMPA_BIND_DLT, proto, &v) == 0)
		return (int)v;
	return -1;
}

int umpa_pkt_fit_link(struct umpa_pkt *p, int linktype, struct umpa_err *e)
{
	const struct umpa_proto *first = p->nlayers ? p->l[0].proto : NULL;
	int rc;

	if (!first)
		return umpa_err_set(e, UMPA_EINVAL, "empty packet");
	if (umpa_linktype_for_proto(first) == linktype)
		return 0;
	if (linktype == UMPA_LINKTYPE_ETHERNET &&
	    (first == &umpa_proto_ip || first == &umpa_proto_ipv6 || first == &umpa_proto_arp)) {
		if ((rc = umpa_pkt_prepend(p, &umpa_proto_eth, e)) < 0)
			return rc;
		p->linktype = UMPA_LINKTYPE_ETHERNET;
		if ((rc = umpa_pkt_finish(p, e)) < 0)
			return rc;
		return 1;
	}
	return umpa_err_set(e, UMPA_EINVAL, "a packet starting with %s cannot be sent on a device of link type %d",
			    first->name, linktype);
}
