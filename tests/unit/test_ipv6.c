/* test_ipv6.c - IPv6, its extension headers and ICMPv6: build, dissect, auto fields, options, matching.
 *
 * Expected bytes come from Scapy (/usr/bin/python3, scapy 2.5) and real
 * frames from tcpdump's test captures (shared/corpus/tcpdump-tests), with
 * the field values tshark 4.0 shows for them.
 */
#include "unit.h"

/* ---- helpers ---- */

/* Dissect the bytes of @src again into @dst (as a capture would). */
static void redissect(struct umpa_pkt *dst, const struct umpa_pkt *src)
{
	unit_dissect(dst, UMPA_LINKTYPE_IPV6, src->data, src->len);
}

/* Every layer's flags must be free of TRUNCATED/INVALID/BADSUM. */
static void assert_clean(const struct umpa_pkt *p)
{
	for (unsigned i = 0; i < p->nlayers; i++)
		if (p->l[i].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM))
			fail_msg("layer %u (%s) flagged 0x%x: %s", i, p->l[i].proto->name, p->l[i].flags,
				 p->l[i].why ? p->l[i].why : "");
}

/* ---- frames ---- */

/* Scapy:
 * IPv6(src='2001:db8::1',dst='2001:db8::2')/IPv6ExtHdrHopByHop()/IPv6ExtHdrFragment(id=0x1234)/ICMPv6EchoRequest(id=1,seq=2)
 */
static const char *chain_hex =
    "600000000018004020010db800000000000000000000000120010db80000000000000000000000022c00010400000000"
    "3a000000000012348000244500010002";

/* Scapy:
 * IPv6(src='fe80::1',dst='ff02::1:ff00:2')/ICMPv6ND_NS(tgt='fe80::2')/ICMPv6NDOptSrcLLAddr(lladdr='00:11:22:33:44:55')
 */
static const char *ns_hex = "6000000000203afffe800000000000000000000000000001ff0200000000000000000001ff000002"
			    "870015ff00000000fe8000000000000000000000000000020101001122334455";

/* Scapy: IPv6(src='fe80::1',dst='fe80::2')/ICMPv6ND_NA(tgt='fe80::1')/ICMPv6NDOptDstLLAddr(lladdr='00:11:22:33:44:55')
 */
static const char *na_hex = "6000000000203afffe800000000000000000000000000001fe800000000000000000000000000002"
			    "88007383a0000000fe8000000000000000000000000000010201001122334455";

/* Scapy:
 * IPv6(src='fe80::1',dst='ff02::1')/ICMPv6ND_RA()/ICMPv6NDOptPrefixInfo(prefix='2001:db8::',prefixlen=64)/ICMPv6NDOptMTU(mtu=1500)
 */
static const char *ra_hex =
    "6000000000383afffe800000000000000000000000000001ff020000000000000000000000000001"
    "8600f89c000807080000000000000000030440c0ffffffffffffffff0000000020010db8000000000000000000000000"
    "05010000000005dc";

/* Scapy:
 * IPv6(src='2001:db8::2',dst='2001:db8::1')/ICMPv6DestUnreach(code=4)/IPv6(src='2001:db8::1',dst='2001:db8::2')/UDP(sport=1234,dport=33434)/b'abcd'
 */
static const char *unreach_hex = "60000000003c3a4020010db800000000000000000000000220010db8000000000000000000000001"
				 "010431e100000000"
				 "60000000000c114020010db800000000000000000000000120010db8000000000000000000000002"
				 "04d2829a000c582e61626364";

/* Scapy: IPv6(src='2001:db8::1',dst='2001:db8::2')/UDP(sport=1234,dport=33434)/b'abcd' */
static const char *udp_hex = "60000000000c114020010db800000000000000000000000120010db8000000000000000000000002"
			     "04d2829a000c582e61626364";

/* tcpdump-tests/icmpv6-ns-nonce.pcap frame 1 (Ethernet stripped): DAD NS with a nonce option */
static const char *real_ns_hex = "6000000000203aff00000000000000000000000000000000ff0200000000000000000001ffe1000f"
				 "8700566e00000000fe80000000000000546ff7fffee1000f0e016069604c0aaa";

/* tcpdump-tests/icmpv6.pcap frame 1 (Ethernet stripped): RA with prefix, RDNSS, DNSSL, MTU, SLLA... */
static const char *real_ra_hex =
    "6000000000b03afffe80000000000000b29928fffec8d66cff020000000000000000000000000001"
    "860024014020000f0000000000000000030448c000278d0000093a8000000000222233334444555566000000000000001905000000000005"
    "abcd000000000000000000000000efef123456780000000000000000000000011f07000000000005076578616d706c6503636f6d00076578"
    "616d706c65036f72670004646f6d3104646f6d3203746c64000000000000000005010000000000640101b09928c8d66c0701000000001388"
    "08010000c351000f";

/* tcpdump-tests/icmpv6.pcap frame 2: hop-by-hop (router alert) then an MLDv2 report */
static const char *real_mld_hex = "6000000000240001fe80000000000000021517fffecce546ff020000000000000000000000000016"
				  "3a000502000001008f001fc50000000104000000ff0200000000000000000db811223344";

/* tcpdump-tests/ipv6-routing-header.pcap frame 1: routing type 0, one address, echo request */
static const char *real_rt0_hex =
    "6000000000202b04220000000000024402123ffffeae22f7220000000000024000020000000000043a02000100000000"
    "220000000000021000020000000000048000d3ab00000000";

/* tcpdump-tests/ipv6-srh-ext-header.pcap frame 1: SRH with two segments, then IPv6 in IPv6 with an echo request */
static const char *real_srh_hex = "600889ad00902b40000a000b000c00120000000000000001000a000b000c00020000000000f10000"
				  "2904040101000000000a000b000c000300000000000000d6000a000b000c00020000000000f10000"
				  "600889ad00403a40000a000b000c0012000000000000000100b20000000000000000000000000002"
				  "8000635e06ee000103c5475a000000000a5e000000000000101112131415161718191a1b1c1d1e1f"
				  "202122232425262728292a2b2c2d2e2f3031323334353637";

/* tcpdump-tests/LINKTYPE_IPV6.pcap frame 1: raw IPv6, UDP to port 53 */
static const char *real_udp_hex = "600000000025114020010db8000000000000000000000001262000fe000000000000000000000009"
				  "30390035002598b3123401000001000000000000076578616d706c6503636f6d0000010001";

/* ---- building ---- */

static void test_default_ipv6(void **state)
{
	struct umpa_pkt p;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	unit_finish(&p);
	/* Scapy: bytes(IPv6()) */
	unit_assert_bytes(&p, "6000000000003b4000000000000000000000000000000001"
			      "00000000000000000000000000000001");
	umpa_pkt_release(&p);
}

static void test_default_ipv6_icmpv6(void **state)
{
	struct umpa_pkt p;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	unit_push(&p, &umpa_proto_icmpv6);
	unit_finish(&p);
	/* Scapy: bytes(IPv6()/ICMPv6EchoRequest()) */
	unit_assert_bytes(&p, "6000000000083a4000000000000000000000000000000001"
			      "0000000000000000000000000000000180007fbb00000000");
	umpa_pkt_release(&p);
}

static void test_default_ext_headers(void **state)
{
	struct umpa_pkt p;

	(void)state;
	/* Scapy: bytes(IPv6ExtHdrHopByHop()), bytes(IPv6ExtHdrDestOpt()) (PadN of 4), routing, fragment */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6_hop);
	unit_finish(&p);
	unit_assert_bytes(&p, "3b00010400000000");
	umpa_pkt_release(&p);
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6_dst);
	unit_finish(&p);
	unit_assert_bytes(&p, "3b00010400000000");
	umpa_pkt_release(&p);
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6_route);
	unit_finish(&p);
	unit_assert_bytes(&p, "3b00000000000000");
	umpa_pkt_release(&p);
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6_frag);
	unit_finish(&p);
	unit_assert_bytes(&p, "3b00000000000000");
	umpa_pkt_release(&p);
}

static void test_build_chain(void **state)
{
	struct umpa_pkt p, q;
	unsigned ip, hop, frag, icmp;

	(void)state;
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	hop = unit_push(&p, &umpa_proto_ipv6_hop);
	frag = unit_push(&p, &umpa_proto_ipv6_frag);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, ip, "src", "2001:db8::1");
	unit_set(&p, ip, "dst", "2001:db8::2");
	unit_set(&p, frag, "id", "0x1234");
	unit_set(&p, icmp, "id", "1");
	unit_set(&p, icmp, "seq", "2");
	(void)hop;
	unit_finish(&p);
	unit_assert_bytes(&p, chain_hex);

	/* and back */
	redissect(&q, &p);
	assert_int_equal(q.nlayers, 4);
	assert_ptr_equal(q.l[1].proto, &umpa_proto_ipv6_hop);
	assert_ptr_equal(q.l[2].proto, &umpa_proto_ipv6_frag);
	assert_ptr_equal(q.l[3].proto, &umpa_proto_icmpv6);
	assert_clean(&q);
	assert_int_equal(unit_get(&q, &umpa_proto_ipv6, "nxt"), 0);
	assert_int_equal(unit_get(&q, &umpa_proto_ipv6, "plen"), 24);
	assert_int_equal(unit_get(&q, &umpa_proto_ipv6_hop, "nxt"), 44);
	assert_int_equal(unit_get(&q, &umpa_proto_ipv6_frag, "nxt"), 58);
	assert_int_equal(unit_get(&q, &umpa_proto_ipv6_frag, "ipv6.fraghdr.ident"), 0x1234);
	assert_int_equal(unit_get(&q, &umpa_proto_icmpv6, "icmpv6.echo.identifier"), 1);
	assert_int_equal(unit_get(&q, &umpa_proto_icmpv6, "icmpv6.echo.sequence_number"), 2);
	unit_assert_line(&q,
			 "IP6 2001:db8::1 > 2001:db8::2: HBH frag (0|8) ICMP6, echo request, id 1, seq 2, length 8");
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_build_udp_dstopts_routing(void **state)
{
	struct umpa_pkt p;
	unsigned ip, dst, udp;

	(void)state;
	/* Scapy: IPv6(src='2001:db8::1',dst='2001:db8::2')/IPv6ExtHdrDestOpt()/UDP(sport=1234,dport=53)/b'abcd' */
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	dst = unit_push(&p, &umpa_proto_ipv6_dst);
	udp = unit_push(&p, &umpa_proto_udp);
	assert_true(umpa_pkt_push_bytes(&p, &umpa_proto_raw, "abcd", 4, NULL) >= 0);
	unit_set(&p, ip, "src", "2001:db8::1");
	unit_set(&p, ip, "dst", "2001:db8::2");
	unit_set(&p, udp, "sport", "1234");
	(void)dst;
	unit_finish(&p);
	unit_assert_bytes(&p, "6000000000143c4020010db800000000000000000000000120010db8000000000000000000000002"
			      "110001040000000004d20035000cda9361626364");
	umpa_pkt_release(&p);

	/* Scapy: IPv6(...)/IPv6ExtHdrRouting(addresses=['2001:db8::5','2001:db8::6'])/UDP(): the UDP checksum
	 * uses the final destination (RFC 8200 s8.1) */
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	dst = unit_push(&p, &umpa_proto_ipv6_route);
	unit_push(&p, &umpa_proto_udp);
	unit_set(&p, ip, "src", "2001:db8::1");
	unit_set(&p, ip, "dst", "2001:db8::2");
	unit_set(&p, dst, "addrs", "2001:db8::5, 2001:db8::6");
	unit_finish(&p);
	unit_assert_bytes(&p, "6000000000302b4020010db800000000000000000000000120010db8000000000000000000000002"
			      "110400020000000020010db800000000000000000000000520010db8000000000000000000000006"
			      "003500350008a3fb");
	umpa_pkt_release(&p);
}

static void test_build_ns_slla(void **state)
{
	struct umpa_pkt p, q;
	unsigned ip, icmp;
	char *js;

	(void)state;
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, ip, "src", "fe80::1");
	unit_set(&p, ip, "dst", "ff02::1:ff00:2");
	unit_set(&p, ip, "hlim", "255");
	unit_set(&p, icmp, "type", "ns");
	unit_set(&p, icmp, "options", "slla=00:11:22:33:44:55");
	unit_set(&p, icmp, "tgt", "fe80::2");
	unit_finish(&p);
	unit_assert_bytes(&p, ns_hex);

	redissect(&q, &p);
	assert_int_equal(q.nlayers, 2);
	assert_clean(&q);
	assert_int_equal(q.l[1].hlen, 32);
	js = unit_json(&q);
	unit_assert_contains(js, "\"icmpv6.nd.ns.target_address\":\"fe80::2\"");
	unit_assert_contains(js, "\"icmpv6.opt.type\":1");
	unit_assert_contains(js, "\"icmpv6.opt.length\":1");
	unit_assert_contains(js, "\"icmpv6.opt.linkaddr\":\"00:11:22:33:44:55\"");
	unit_assert_contains(js, "\"icmpv6.opt.src_linkaddr\":\"00:11:22:33:44:55\"");
	unit_assert_contains(js, "\"icmpv6.checksum\":\"0x15ff\"");
	free(js);
	unit_assert_line(&q, "IP6 fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2, length 32");
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_build_na_ra(void **state)
{
	struct umpa_pkt p;
	unsigned ip, icmp;

	(void)state;
	/* NA: the body grows in finish with Scapy's flags (R, O) */
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, ip, "src", "fe80::1");
	unit_set(&p, ip, "dst", "fe80::2");
	unit_set(&p, ip, "hlim", "255");
	unit_set(&p, icmp, "type", "na");
	unit_set(&p, icmp, "opts", "tlla=00:11:22:33:44:55");
	unit_set(&p, icmp, "icmpv6.nd.na.target_address", "fe80::1");
	unit_finish(&p);
	unit_assert_bytes(&p, na_hex);
	umpa_pkt_release(&p);

	/* RA with a prefix and an MTU */
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, ip, "src", "fe80::1");
	unit_set(&p, ip, "dst", "ff02::1");
	unit_set(&p, ip, "hlim", "255");
	unit_set(&p, icmp, "type", "ra");
	unit_set(&p, icmp, "options", "prefix=2001:db8::/64,mtu=1500");
	unit_finish(&p);
	unit_assert_bytes(&p, ra_hex);
	umpa_pkt_release(&p);

	/* a fresh NS needs no options call: finish grows the body */
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, icmp, "type", "ns");
	unit_finish(&p);
	assert_int_equal(p.len, 40 + 24);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "plen"), 24);
	umpa_pkt_release(&p);
}

static void test_build_error_quote(void **state)
{
	struct umpa_pkt p, q;
	unsigned ip, icmp, ip2, udp;

	(void)state;
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	ip2 = unit_push(&p, &umpa_proto_ipv6);
	udp = unit_push(&p, &umpa_proto_udp);
	assert_true(umpa_pkt_push_bytes(&p, &umpa_proto_raw, "abcd", 4, NULL) >= 0);
	unit_set(&p, ip, "src", "2001:db8::2");
	unit_set(&p, ip, "dst", "2001:db8::1");
	unit_set(&p, icmp, "type", "dest-unreach");
	unit_set(&p, icmp, "code", "4");
	unit_set(&p, ip2, "src", "2001:db8::1");
	unit_set(&p, ip2, "dst", "2001:db8::2");
	unit_set(&p, udp, "sport", "1234");
	unit_set(&p, udp, "dport", "33434");
	unit_finish(&p);
	unit_assert_bytes(&p, unreach_hex);

	redissect(&q, &p);
	assert_int_equal(q.nlayers, 5);
	assert_true(q.l[1].flags & UMPA_L_QUOTES);
	assert_true(q.l[2].flags & UMPA_L_QUOTED);
	assert_ptr_equal(q.l[2].proto, &umpa_proto_ipv6);
	assert_ptr_equal(q.l[3].proto, &umpa_proto_udp);
	unit_assert_line(
	    &q, "IP6 2001:db8::2 > 2001:db8::1: ICMP6, destination unreachable, unreachable port, "
		"2001:db8::2 udp port 33434, length 60; IP6 2001:db8::1.1234 > 2001:db8::2.33434: UDP, length 4");
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_hop_options(void **state)
{
	struct umpa_pkt p, q;
	unsigned hop;
	char *js;
	struct umpa_err e = {0};

	(void)state;
	/* Scapy:
	 * IPv6(src='2001:db8::1',dst='2001:db8::2')/IPv6ExtHdrHopByHop(options=[RouterAlert()])/ICMPv6EchoRequest() */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	hop = unit_push(&p, &umpa_proto_ipv6_hop);
	unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, 0, "src", "2001:db8::1");
	unit_set(&p, 0, "dst", "2001:db8::2");
	unit_set(&p, hop, "options", "ra=0");
	unit_finish(&p);
	unit_assert_bytes(&p, "600000000010004020010db800000000000000000000000120010db8000000000000000000000002"
			      "3a00050200000100"
			      "8000244800000000");
	umpa_pkt_release(&p);

	/* alignment, padding to 8, lengths; raw items as given */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	hop = unit_push(&p, &umpa_proto_ipv6_hop);
	unit_set(&p, hop, "options", "pad1,ra=5,0x1e=aabbcc,padn=2");
	unit_finish(&p);
	/* 2 + pad1 + (pad1 to 2n) + ra(4) + 1e(5) + padn(4) = 17 -> padded to 24 */
	assert_int_equal(p.l[hop].hlen, 24);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_hop, "len"), 2);
	assert_memory_equal(p.data + 40,
			    "\x3b\x02\x00\x00\x05\x02\x00\x05\x1e\x03\xaa\xbb\xcc\x01\x02\x00\x00"
			    "\x01\x05\x00\x00\x00\x00\x00",
			    24);
	redissect(&q, &p);
	assert_clean(&q);
	js = unit_json(&q);
	unit_assert_contains(js, "\"ipv6.opt.router_alert\":5");
	unit_assert_contains(js, "\"ipv6.opt.experimental\":\"aa:bb:cc\"");
	unit_assert_contains(js, "\"ipv6.opt.padn\":\"00:00\"");
	unit_assert_contains(js, "\"ipv6.hopopts.len_oct\":24");
	free(js);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);

	/* bad specs */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	hop = unit_push(&p, &umpa_proto_ipv6_hop);
	assert_true(umpa_field_set_str(&p, hop, unit_field(&umpa_proto_ipv6_hop, "options"), "bogus", &e) < 0);
	assert_true(umpa_field_set_str(&p, hop, unit_field(&umpa_proto_ipv6_hop, "options"), "ra=70000", &e) < 0);
	assert_true(umpa_field_set_str(&p, hop, unit_field(&umpa_proto_ipv6_hop, "options"), "5=xyz", &e) < 0);
	{
		/* too long: refused, nothing written past the buffer */
		static char spec[3000 * 2 + 1];
		for (int i = 0; i < 3000; i++)
			memcpy(spec + 2 * i, "0,", 2);
		assert_true(umpa_field_set_str(&p, hop, unit_field(&umpa_proto_ipv6_hop, "options"), spec, &e) < 0);
		assert_true(umpa_field_set_str(
				&p, hop, unit_field(&umpa_proto_ipv6_hop, "options"),
				"padn=255,padn=255,padn=255,padn=255,padn=255,padn=255,padn=255,padn=255", &e) < 0);
	}
	/* empty: only padding */
	unit_set(&p, hop, "options", "");
	unit_finish(&p);
	assert_memory_equal(p.data + 40, "\x3b\x00\x01\x04\x00\x00\x00\x00", 8);
	umpa_pkt_release(&p);
}

static void test_jumbo(void **state)
{
	struct umpa_pkt p, q;
	unsigned hop;
	static uint8_t big[70000];

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	hop = unit_push(&p, &umpa_proto_ipv6_hop);
	unit_push(&p, &umpa_proto_udp);
	assert_true(umpa_pkt_push_bytes(&p, &umpa_proto_raw, big, sizeof(big), NULL) >= 0);
	unit_set(&p, hop, "options", "jumbo");
	unit_finish(&p);
	/* Scapy: IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=70016)]): aligned 4n+2 at offset 2 */
	assert_memory_equal(p.data + 40, "\x11\x00\xc2\x04\x00\x01\x11\x80", 8);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "plen"), 0);
	assert_int_equal(unit_get(&p, &umpa_proto_udp, "length"), 0);
	redissect(&q, &p);
	assert_clean(&q);
	assert_int_equal(q.nlayers, 4);
	assert_int_equal(q.l[1].len, 70016);
	assert_int_equal(q.l[2].len, 70008);
	umpa_pkt_release(&q);

	/* plen 0, hop-by-hop without a jumbo option: invalid */
	umpa_pkt_release(&p);
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	unit_push(&p, &umpa_proto_ipv6_hop);
	unit_set(&p, 0, "plen", "0");
	unit_finish(&p);
	redissect(&q, &p);
	assert_true(q.l[1].flags & UMPA_L_INVALID);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_routing(void **state)
{
	struct umpa_pkt p, q;
	unsigned rt;
	char *js;

	(void)state;
	/* SRH: segleft and last entry automatic */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	rt = unit_push(&p, &umpa_proto_ipv6_route);
	unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, rt, "type", "srh");
	unit_set(&p, rt, "addrs", "2001:db8::a,2001:db8::b,2001:db8::c");
	unit_set(&p, rt, "tag", "7");
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "len"), 6);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "segleft"), 2);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "lastentry"), 2);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "nxt"), 58);
	redissect(&q, &p);
	assert_clean(&q);
	js = unit_json(&q);
	unit_assert_contains(js, "\"ipv6.routing.srh.addr\":[\"2001:db8::a\",\"2001:db8::b\",\"2001:db8::c\"]");
	unit_assert_contains(js, "\"ipv6.routing.srh.tag\":\"0x0007\"");
	free(js);
	unit_assert_line(&q, "IP6 ::1 > ::1: RT6 (len=6, type=4, segleft=2, last-entry=2, tag=7, [0]2001:db8::a, "
			     "[1]2001:db8::b, [2]2001:db8::c) ICMP6, echo request, id 0, seq 0, length 8");
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);

	/* type 0 with an odd length: invalid, dissection goes on */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	rt = unit_push(&p, &umpa_proto_ipv6_route);
	unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, rt, "addrs", "2001:db8::a");
	unit_set(&p, rt, "segleft", "5");
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "segleft"), 5);
	redissect(&q, &p);
	assert_true(q.l[1].flags & UMPA_L_INVALID);
	assert_int_equal(q.nlayers, 3);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_fragment(void **state)
{
	struct umpa_pkt p, q;
	unsigned fr;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	fr = unit_push(&p, &umpa_proto_ipv6_frag);
	unit_push(&p, &umpa_proto_udp);
	unit_set(&p, fr, "offset", "100");
	unit_set(&p, fr, "m", "1");
	unit_set(&p, fr, "nh", "udp");
	unit_finish(&p);
	assert_memory_equal(p.data + 40, "\x11\x00\x03\x21\x00\x00\x00\x00", 8);
	redissect(&q, &p);
	/* a later fragment: the payload is data, not UDP */
	assert_int_equal(q.nlayers, 3);
	assert_ptr_equal(q.l[2].proto, &umpa_proto_raw);
	assert_true(unit_get(&q, &umpa_proto_ipv6_frag, "more"));
	assert_int_equal(unit_get(&q, &umpa_proto_ipv6_frag, "offset"), 100);
	{
		char *s = unit_line(&q);
		assert_true(strncmp(s, "IP6 ::1 > ::1: frag (800|8) ", 28) == 0);
		free(s);
	}
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

/* ---- auto fields and overrides ---- */

static void test_auto_and_overrides(void **state)
{
	struct umpa_pkt p, q;
	unsigned ip, icmp;

	(void)state;
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	assert_true(umpa_pkt_push_bytes(&p, &umpa_proto_raw, "0123456789", 10, NULL) >= 0);
	unit_set(&p, ip, "plen", "1000");
	unit_set(&p, ip, "nh", "udp");
	unit_set(&p, icmp, "chksum", "0x1234");
	unit_set(&p, ip, "tc", "0xb8");
	unit_set(&p, ip, "fl", "0x12345");
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "plen"), 1000);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "nxt"), 17);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "checksum"), 0x1234);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "dscp"), 46);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "ecn"), 0);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "flow"), 0x12345);
	assert_memory_equal(p.data, "\x6b\x81\x23\x45\x03\xe8\x11\x40", 8);

	/* the lying length: INVALID (not truncated: nothing was cut) */
	redissect(&q, &p);
	assert_true(q.l[0].flags & UMPA_L_INVALID);
	assert_false(q.l[0].flags & UMPA_L_TRUNCATED);
	umpa_pkt_release(&q);

	/* unset: recomputed */
	umpa_field_unset(&p, ip, unit_field(&umpa_proto_ipv6, "plen"));
	umpa_field_unset(&p, ip, unit_field(&umpa_proto_ipv6, "nxt"));
	umpa_field_unset(&p, icmp, unit_field(&umpa_proto_icmpv6, "checksum"));
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "plen"), 18);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "nxt"), 58);
	redissect(&q, &p);
	assert_clean(&q);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_truncated_vs_invalid(void **state)
{
	struct umpa_pkt p;
	uint8_t b[128];
	size_t n = unit_hex(udp_hex, b, sizeof(b));

	(void)state;
	/* cut by the capture */
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)n - 3, NULL), 0);
	p.wirelen = (uint32_t)n;
	p.linktype = UMPA_LINKTYPE_IPV6;
	umpa_dissect(&p);
	assert_true(p.l[0].flags & UMPA_L_TRUNCATED);
	umpa_pkt_release(&p);
	/* same bytes, nothing cut: the payload length lies */
	unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, udp_hex);
	assert_clean(&p);
	p.data[5] = 0x20;
	umpa_dissect(&p);
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	assert_false(p.l[0].flags & UMPA_L_TRUNCATED);
	umpa_pkt_release(&p);
	/* bad version */
	unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, udp_hex);
	p.data[0] = 0x40;
	umpa_dissect(&p);
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	assert_int_equal(p.nlayers, 1);
	umpa_pkt_release(&p);
}

static void test_nd_option_len0(void **state)
{
	struct umpa_pkt p;
	unsigned icmp;
	char *js;

	(void)state;
	/* an option with length 0, written on purpose: INVALID, and the walk stops */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	icmp = unit_push(&p, &umpa_proto_icmpv6);
	unit_set(&p, icmp, "type", "ns");
	unit_set(&p, icmp, "options", "slla=00:11:22:33:44:55,raw=0100000000000000");
	unit_finish(&p);
	{
		struct umpa_pkt q;
		redissect(&q, &p);
		assert_true(q.l[1].flags & UMPA_L_INVALID);
		assert_false(q.l[1].flags & UMPA_L_BADSUM);
		js = unit_json(&q);
		unit_assert_contains(js, "\"icmpv6.opt.src_linkaddr\":\"00:11:22:33:44:55\"");
		unit_assert_contains(js, "\"icmpv6.invalid_option_length\"");
		free(js);
		umpa_pkt_release(&q);
	}
	/* an option running past the message */
	unit_set(&p, icmp, "options", "raw=0103000000000000");
	unit_finish(&p);
	{
		struct umpa_pkt q;
		redissect(&q, &p);
		assert_true(q.l[1].flags & UMPA_L_INVALID);
		umpa_pkt_release(&q);
	}
	/* options on an echo request: refused */
	{
		struct umpa_err e = {0};
		struct umpa_pkt r;
		umpa_pkt_init(&r);
		unit_push(&r, &umpa_proto_ipv6);
		icmp = unit_push(&r, &umpa_proto_icmpv6);
		assert_true(umpa_field_set_str(&r, icmp, unit_field(&umpa_proto_icmpv6, "options"), "mtu=1", &e) < 0);
		umpa_pkt_release(&r);
	}
	umpa_pkt_release(&p);
}

/* ---- real frames ---- */

static void test_real_ns_nonce(void **state)
{
	struct umpa_pkt p;
	char *js;

	(void)state;
	assert_int_equal(unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, real_ns_hex), 2);
	assert_clean(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "type"), 135);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "checksum"), 0x566e);
	assert_int_equal(p.l[1].hlen, 32);
	js = unit_json(&p);
	unit_assert_contains(js, "\"icmpv6.nd.ns.target_address\":\"fe80::546f:f7ff:fee1:f\"");
	unit_assert_contains(js, "\"icmpv6.opt.type\":14");
	unit_assert_contains(js, "\"icmpv6.nonce\":\"60:69:60:4c:0a:aa\"");
	free(js);
	unit_assert_line(
	    &p, "IP6 :: > ff02::1:ffe1:f: ICMP6, neighbor solicitation, who has fe80::546f:f7ff:fee1:f, length 32");
	umpa_pkt_release(&p);
}

static void test_real_ra(void **state)
{
	struct umpa_pkt p;
	char *js;

	(void)state;
	assert_int_equal(unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, real_ra_hex), 2);
	assert_clean(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "chlim"), 64);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "icmpv6.nd.ra.flag"), 0x20);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "routerlifetime"), 15);
	js = unit_json(&p);
	/* tshark: opt types 3,25,31,5,1,7,8; prefix 2222:3333:4444:5555:6600::; mtu 100; slla b0:99:28:c8:d6:6c */
	unit_assert_contains(js, "\"icmpv6.opt.prefix\":\"2222:3333:4444:5555:6600::\"");
	unit_assert_contains(js, "\"icmpv6.opt.mtu\":100");
	unit_assert_contains(js, "\"icmpv6.opt.src_linkaddr\":\"b0:99:28:c8:d6:6c\"");
	unit_assert_contains(js, "\"icmpv6.opt.type\":31");
	unit_assert_contains(js, "\"icmpv6.opt.type\":8");
	free(js);
	unit_assert_line(&p, "IP6 fe80::b299:28ff:fec8:d66c > ff02::1: ICMP6, router advertisement, length 176");
	umpa_pkt_release(&p);
}

static void test_real_mld_hbh(void **state)
{
	struct umpa_pkt p;
	char *js;

	(void)state;
	assert_int_equal(unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, real_mld_hex), 3);
	assert_clean(&p);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_ipv6_hop);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_hop, "nxt"), 58);
	js = unit_json(&p);
	unit_assert_contains(js, "\"ipv6.opt.router_alert\":0");
	unit_assert_contains(js, "\"ipv6.opt.type\":5");
	free(js);
	unit_assert_line(&p, "IP6 fe80::215:17ff:fecc:e546 > ff02::16: HBH ICMP6, multicast listener report v2, "
			     "1 group record(s), length 28");
	umpa_pkt_release(&p);
}

static void test_real_routing(void **state)
{
	struct umpa_pkt p;
	char *js;

	(void)state;
	assert_int_equal(unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, real_rt0_hex), 3);
	assert_clean(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "type"), 0);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "segleft"), 1);
	unit_assert_json_has(&p, "\"ipv6.routing.src.addr\":\"2200::210:2:0:0:4\"");
	unit_assert_line(&p, "IP6 2200::244:212:3fff:feae:22f7 > 2200::240:2:0:0:4: RT6 (len=2, type=0 [Deprecated], "
			     "segleft=1, [0]2200::210:2:0:0:4) ICMP6, echo request, id 0, seq 0, length 8");
	umpa_pkt_release(&p);

	/* SRH, then IPv6 in IPv6 */
	assert_int_equal(unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, real_srh_hex), 5);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_ipv6_route);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_ipv6);
	assert_ptr_equal(p.l[3].proto, &umpa_proto_icmpv6);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6_route, "lastentry"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "id"), 0x06ee);
	assert_int_equal(unit_get(&p, &umpa_proto_icmpv6, "seq"), 1);
	js = unit_json(&p);
	unit_assert_contains(js, "\"ipv6.routing.srh.addr\":[\"a:b:c:3::d6\",\"a:b:c:2::f1:0\"]");
	free(js);
	unit_assert_line(&p, "IP6 a:b:c:12::1 > a:b:c:2::f1:0: RT6 (len=4, type=4, segleft=1, last-entry=1, tag=0, "
			     "[0]a:b:c:3::d6, [1]a:b:c:2::f1:0) IP6 a:b:c:12::1 > b2::2: ICMP6, echo request, id 1774, "
			     "seq 1, length 64");
	umpa_pkt_release(&p);
}

static void test_real_udp_ports(void **state)
{
	struct umpa_pkt p;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_IPV6, real_udp_hex);
	assert_true(p.nlayers >= 2);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "plen"), 37);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "nxt"), 17);
	assert_int_equal(unit_get(&p, &umpa_proto_ipv6, "hlim"), 64);
	unit_assert_line_has(&p, "IP6 2001:db8::1.12345 > 2620:fe::9.53: ");
	/* LINKTYPE_RAW picks IPv6 by the version nibble */
	umpa_pkt_release(&p);
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, real_udp_hex);
	assert_ptr_equal(p.l[0].proto, &umpa_proto_ipv6);
	umpa_pkt_release(&p);
}

static void test_summary_tail(void **state)
{
	struct umpa_pkt p;
	unsigned ip, hop;

	(void)state;
	/* nothing after IPv6 (next header 59) */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ipv6);
	unit_finish(&p);
	unit_assert_line(&p, "IP6 ::1 > ::1: no next header");
	umpa_pkt_release(&p);
	/* a protocol umpa does not know (ESP), after a hop-by-hop header */
	umpa_pkt_init(&p);
	ip = unit_push(&p, &umpa_proto_ipv6);
	hop = unit_push(&p, &umpa_proto_ipv6_hop);
	assert_true(umpa_pkt_push_bytes(&p, &umpa_proto_raw, "0123456789abcdef", 16, NULL) >= 0);
	unit_set(&p, hop, "nxt", "esp");
	unit_finish(&p);
	{
		struct umpa_pkt q;
		redissect(&q, &p);
		assert_int_equal(q.nlayers, 3);
		unit_assert_line(&q, "IP6 ::1 > ::1: HBH ip-proto-50, length 16");
		umpa_pkt_release(&q);
	}
	/* a second hop-by-hop header is invalid (RFC 8200 s4.3) */
	unit_set(&p, ip, "nxt", "hopopts");
	unit_set(&p, hop, "nxt", "hopopts");
	{
		struct umpa_pkt q;
		redissect(&q, &p);
		assert_false(q.l[1].flags & UMPA_L_INVALID);
		assert_ptr_equal(q.l[2].proto, &umpa_proto_ipv6_hop);
		assert_true(q.l[2].flags & UMPA_L_INVALID);
		umpa_pkt_release(&q);
	}
	umpa_pkt_release(&p);
}

static void test_truncate_all(void **state)
{
	(void)state;
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, chain_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, ns_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, ra_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, unreach_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, real_ra_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, real_mld_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, real_rt0_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, real_srh_hex);
	unit_truncate_hex(UMPA_LINKTYPE_IPV6, real_ns_hex);
}

static void test_truncate_flags(void **state)
{
	uint8_t b[512];
	size_t n = unit_hex(real_ra_hex, b, sizeof(b));

	(void)state;
	/* every cut inside the RA is flagged TRUNCATED, never INVALID */
	for (size_t k = 1; k < n; k++) {
		struct umpa_pkt p;
		int flagged = 0, invalid = 0;
		umpa_pkt_init(&p);
		assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)k, NULL), 0);
		p.wirelen = (uint32_t)n;
		p.linktype = UMPA_LINKTYPE_IPV6;
		umpa_dissect(&p);
		for (unsigned i = 0; i < p.nlayers; i++) {
			flagged |= p.l[i].flags & UMPA_L_TRUNCATED;
			invalid |= p.l[i].flags & UMPA_L_INVALID;
		}
		if (!flagged || invalid)
			fail_msg("cut at %zu: truncated %d invalid %d", k, flagged, invalid);
		umpa_pkt_release(&p);
	}
}

/* ---- matching ---- */

static void build_echo(struct umpa_pkt *p, const char *src, const char *dst, const char *type, const char *id,
		       const char *seq)
{
	unit_build_ip(p, &umpa_proto_ipv6, src, dst, &umpa_proto_icmpv6);
	unit_set(p, 1, "type", type);
	unit_set(p, 1, "id", id);
	unit_set(p, 1, "seq", seq);
	unit_finish(p);
}

static void test_answers_echo(void **state)
{
	struct umpa_pkt q, r, bad;
	char why[128] = "";

	(void)state;
	build_echo(&q, "2001:db8::1", "2001:db8::2", "echo-request", "7", "9");
	build_echo(&r, "2001:db8::2", "2001:db8::1", "echo-reply", "7", "9");
	assert_int_equal(umpa_proto_ipv6.hashret(&q, 0), umpa_proto_ipv6.hashret(&r, 0));
	assert_int_equal(umpa_proto_icmpv6.hashret(&q, 1), umpa_proto_icmpv6.hashret(&r, 1));
	assert_int_equal(umpa_proto_ipv6.answers(&r, 0, &q, 0, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_icmpv6.answers(&r, 1, &q, 1, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_ipv6.answers(&q, 0, &r, 0, why, sizeof(why)), 0);
	build_echo(&bad, "2001:db8::2", "2001:db8::1", "echo-reply", "7", "10");
	assert_int_equal(umpa_proto_ipv6.answers(&bad, 0, &q, 0, why, sizeof(why)), 0);
	assert_true(why[0] != 0);
	umpa_pkt_release(&bad);
	build_echo(&bad, "2001:db8::2", "2001:db8::3", "echo-reply", "7", "9");
	assert_int_equal(umpa_proto_ipv6.answers(&bad, 0, &q, 0, why, sizeof(why)), 0);
	umpa_pkt_release(&bad);
	umpa_pkt_release(&q);
	umpa_pkt_release(&r);
}

static void test_answers_nd(void **state)
{
	struct umpa_pkt ns, na, na2;

	(void)state;
	unit_dissect_hex(&ns, UMPA_LINKTYPE_IPV6, ns_hex); /* fe80::1 asks ff02::1:ff00:2 for fe80::2 */
	umpa_pkt_init(&na);
	unit_push(&na, &umpa_proto_ipv6);
	unit_push(&na, &umpa_proto_icmpv6);
	unit_set(&na, 0, "src", "fe80::2");
	unit_set(&na, 0, "dst", "fe80::1");
	unit_set(&na, 1, "type", "na");
	unit_set(&na, 1, "tgt", "fe80::2");
	unit_finish(&na);
	assert_int_equal(umpa_proto_ipv6.hashret(&ns, 0), umpa_proto_ipv6.hashret(&na, 0));
	assert_int_equal(umpa_proto_ipv6.answers(&na, 0, &ns, 0, NULL, 0), 1);
	/* an NA for another target */
	umpa_pkt_init(&na2);
	unit_push(&na2, &umpa_proto_ipv6);
	unit_push(&na2, &umpa_proto_icmpv6);
	unit_set(&na2, 0, "src", "fe80::2");
	unit_set(&na2, 0, "dst", "fe80::1");
	unit_set(&na2, 1, "type", "na");
	unit_set(&na2, 1, "tgt", "fe80::3");
	unit_finish(&na2);
	assert_int_equal(umpa_proto_ipv6.answers(&na2, 0, &ns, 0, NULL, 0), 0);
	umpa_pkt_release(&na2);
	umpa_pkt_release(&na);
	umpa_pkt_release(&ns);
}

static void test_answers_error(void **state)
{
	struct umpa_pkt req, err, other;

	(void)state;
	unit_dissect_hex(&req, UMPA_LINKTYPE_IPV6, udp_hex);
	unit_dissect_hex(&err, UMPA_LINKTYPE_IPV6, unreach_hex);
	assert_int_equal(umpa_proto_ipv6.hashret(&req, 0), umpa_proto_ipv6.hashret(&err, 0));
	assert_int_equal(umpa_proto_ipv6.answers(&err, 0, &req, 0, NULL, 0), 1);
	assert_int_equal(umpa_proto_icmpv6.answers(&err, 1, &req, 1, NULL, 0), 1);
	/* a request to another port is not what was quoted */
	unit_dissect_hex(&other, UMPA_LINKTYPE_IPV6, udp_hex);
	other.data[43] = 54;
	assert_int_equal(umpa_proto_ipv6.answers(&err, 0, &other, 0, NULL, 0), 0);
	umpa_pkt_release(&other);
	umpa_pkt_release(&err);
	umpa_pkt_release(&req);
}

static void test_field_names(void **state)
{
	(void)state;
	/* Wireshark names, short names and Scapy aliases */
	assert_ptr_equal(unit_field(&umpa_proto_ipv6, "tc"), unit_field(&umpa_proto_ipv6, "ipv6.tclass"));
	assert_ptr_equal(unit_field(&umpa_proto_ipv6, "fl"), unit_field(&umpa_proto_ipv6, "flow"));
	assert_ptr_equal(unit_field(&umpa_proto_ipv6, "nh"), unit_field(&umpa_proto_ipv6, "ipv6.nxt"));
	assert_ptr_equal(unit_field(&umpa_proto_ipv6, "hlim"), unit_field(&umpa_proto_ipv6, "ipv6.hlim"));
	assert_ptr_equal(unit_field(&umpa_proto_ipv6_frag, "id"),
			 unit_field(&umpa_proto_ipv6_frag, "ipv6.fraghdr.ident"));
	assert_ptr_equal(unit_field(&umpa_proto_icmpv6, "tgt"),
			 unit_field(&umpa_proto_icmpv6, "icmpv6.nd.ns.target_address"));
	assert_ptr_equal(unit_field(&umpa_proto_icmpv6, "chksum"), unit_field(&umpa_proto_icmpv6, "icmpv6.checksum"));
	assert_ptr_equal(unit_field(&umpa_proto_ipv6_hop, "options"), unit_field(&umpa_proto_ipv6_hop, "ipv6.opt"));
	assert_true(umpa_proto_ipv6.nfields <= 64 && umpa_proto_icmpv6.nfields <= 64);
	assert_ptr_equal(umpa_proto_find("ipv6.hopopts"), &umpa_proto_ipv6_hop);
	assert_ptr_equal(umpa_proto_find("icmp6"), &umpa_proto_icmpv6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_ipv6),
	    cmocka_unit_test(test_default_ipv6_icmpv6),
	    cmocka_unit_test(test_default_ext_headers),
	    cmocka_unit_test(test_build_chain),
	    cmocka_unit_test(test_build_udp_dstopts_routing),
	    cmocka_unit_test(test_build_ns_slla),
	    cmocka_unit_test(test_build_na_ra),
	    cmocka_unit_test(test_build_error_quote),
	    cmocka_unit_test(test_hop_options),
	    cmocka_unit_test(test_jumbo),
	    cmocka_unit_test(test_routing),
	    cmocka_unit_test(test_fragment),
	    cmocka_unit_test(test_auto_and_overrides),
	    cmocka_unit_test(test_truncated_vs_invalid),
	    cmocka_unit_test(test_nd_option_len0),
	    cmocka_unit_test(test_real_ns_nonce),
	    cmocka_unit_test(test_real_ra),
	    cmocka_unit_test(test_real_mld_hbh),
	    cmocka_unit_test(test_real_routing),
	    cmocka_unit_test(test_real_udp_ports),
	    cmocka_unit_test(test_summary_tail),
	    cmocka_unit_test(test_truncate_all),
	    cmocka_unit_test(test_truncate_flags),
	    cmocka_unit_test(test_answers_echo),
	    cmocka_unit_test(test_answers_nd),
	    cmocka_unit_test(test_answers_error),
	    cmocka_unit_test(test_field_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
