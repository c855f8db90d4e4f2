/* test_tunnels.c - tunnels and overlays (VXLAN, GRE, ERSPAN, MPLS, GENEVE, 802.1ad) and DHCP: build against
 * Scapy's bytes, dissect, truncation.
 *
 * Expected bytes come from Scapy 2.5 (/usr/bin/python3); tshark 4.0 shows the
 * same field values for them (tests/oracle/cases.lua has the cases).
 */
#include "unit.h"

/* An Ethernet header 02:00:00:00:00:01 > 02:00:00:00:00:02 on @p. */
static void push_eth(struct umpa_pkt *p)
{
	unsigned li = unit_push(p, &umpa_proto_eth);

	unit_set(p, li, "src", "02:00:00:00:00:01");
	unit_set(p, li, "dst", "02:00:00:00:00:02");
}

/* The packet every tunnel here carries, Scapy's [Ether()/]IP(src='10.1.0.1',dst='10.1.0.2')/ICMP() (the
 * Ethernet header when @eth), pushed on @p; then @p finished. */
static void push_inner(struct umpa_pkt *p, int eth)
{
	unsigned li;

	if (eth)
		push_eth(p);
	li = unit_push(p, &umpa_proto_ip);
	unit_set(p, li, "src", "10.1.0.1");
	unit_set(p, li, "dst", "10.1.0.2");
	unit_push(p, &umpa_proto_icmp);
	unit_finish(p);
}

/* Scapy: IP(src='10.0.0.1',dst='10.0.0.2')/UDP(sport=40000,dport=4789)/VXLAN(vni=42,flags=0x08,NextProtocol=0)
 *        /Ether(src='02:00:00:00:00:01',dst='02:00:00:00:00:02')/IP(src='10.1.0.1',dst='10.1.0.2')/ICMP()
 * (flags/NextProtocol given: Scapy's Ether binding otherwise sets the VXLAN-GPE P bit and next protocol 3) */
static const char *vxlan_hex = "4500004e000100004011669c0a0000010a0000029c4012b5003afe7e"
			       "0800000000002a00"
			       "02000000000202000000000108004500001c00010000400166dc0a0100010a0100020800f7ff00000000";

/* Build ip/udp/vxlan{vni=42}/ether/ip/icmp with defaults elsewhere: Scapy's bytes. */
static void test_vxlan_build(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_udp);
	unit_set(&p, 1, "sport", "40000");
	unit_set(&p, 1, "dport", "4789");
	li = unit_push(&p, &umpa_proto_vxlan);
	unit_set(&p, li, "vni", "42");
	push_inner(&p, 1);
	unit_assert_bytes(&p, vxlan_hex);
	umpa_pkt_release(&p);
}

/* Dissect Scapy's frame: UDP 4789 gives VXLAN, then the inner Ethernet frame down to ICMP. */
static void test_vxlan_dissect(void **state)
{
	struct umpa_pkt p;
	char *dst;
	static const struct umpa_proto *const want[] = {&umpa_proto_ip,  &umpa_proto_udp, &umpa_proto_vxlan,
							&umpa_proto_eth, &umpa_proto_ip,  &umpa_proto_icmp};

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, vxlan_hex);
	assert_int_equal(p.nlayers, 6);
	for (unsigned i = 0; i < 6; i++) {
		assert_ptr_equal(p.l[i].proto, want[i]);
		assert_int_equal(p.l[i].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM), 0);
	}
	assert_int_equal(unit_get(&p, &umpa_proto_vxlan, "vni"), 42);
	assert_int_equal(unit_get(&p, &umpa_proto_vxlan, "vxlan.flags"), 0x0800);
	assert_int_equal(unit_get(&p, &umpa_proto_vxlan, "gbp"), 0);
	assert_int_equal(p.l[2].hlen, 8);
	dst = unit_format(&p, 4, "dst");
	assert_string_equal(dst, "10.1.0.2");
	free(dst);
	unit_assert_json_has(&p, "\"vxlan.vni\":42");
	umpa_pkt_release(&p);
}

/* Every cut of the frame dissects inside the bytes. */
static void test_vxlan_truncate(void **state)
{
	(void)state;
	unit_truncate_hex(UMPA_LINKTYPE_RAW, vxlan_hex);
}

/* Scapy: IP(src='10.0.0.1',dst='10.0.0.2')/GRE(chksum_present=1,key_present=1,seqnum_present=1,key=0x1234,
 *        seqence_number=7)/IP(src='10.1.0.1',dst='10.1.0.2')/ICMP() */
static const char *gre_hex = "4500004000010000402f668c0a0000010a000002"
			     "b000080035c4000000001234 00000007"
			     "4500001c00010000400166dc0a0100010a0100020800f7ff00000000";

/* Build gre{key, seq} (the checksum by setting it present): the optional fields land in order whatever order
 * they are set in, the flags follow, the checksum is computed. */
static void test_gre_build(void **state)
{
	struct umpa_pkt p;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_gre);
	unit_set(&p, 1, "seq", "7"); /* the sequence number first: the key goes before it */
	unit_set(&p, 1, "key", "0x1234");
	unit_set(&p, 1, "offset", "0"); /* checksum and offset present */
	umpa_field_unset(&p, 1, umpa_proto_field(&umpa_proto_gre, "offset"));
	assert_int_equal(p.l[1].hlen, 16);
	push_inner(&p, 0);
	unit_assert_bytes(&p, gre_hex);
	umpa_pkt_release(&p);
}

static void test_gre_dissect(void **state)
{
	struct umpa_pkt p;
	static const struct umpa_proto *const want[] = {&umpa_proto_ip, &umpa_proto_gre, &umpa_proto_ip,
							&umpa_proto_icmp};

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, gre_hex);
	assert_int_equal(p.nlayers, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_ptr_equal(p.l[i].proto, want[i]);
		assert_int_equal(p.l[i].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM), 0);
	}
	assert_int_equal(p.l[1].hlen, 16);
	assert_int_equal(unit_get(&p, &umpa_proto_gre, "gre.key"), 0x1234);
	assert_int_equal(unit_get(&p, &umpa_proto_gre, "gre.sequence_number"), 7);
	assert_int_equal(unit_get(&p, &umpa_proto_gre, "gre.checksum"), 0x35c4);
	assert_int_equal(unit_get(&p, &umpa_proto_gre, "gre.flags.key"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_gre, "proto"), 0x0800);
	unit_assert_json_has(&p, "\"gre.key\":\"0x00001234\"");
	unit_assert_json_has(&p, "\"gre.sequence_number\":7");
	unit_assert_json_lacks(&p, "gre.ack_number");
	unit_assert_json_lacks(&p, "gre.key.call_id");
	unit_assert_line_has(
	    &p, "GREv0, sum 0x35c4, key=0x1234, seq 7, length 44: IP 10.1.0.1 > 10.1.0.2: ICMP echo request");
	umpa_pkt_release(&p);
}

/* A header without the optional parts holds none of them: reading the key fails, JSON has none. */
static void test_gre_plain(void **state)
{
	struct umpa_pkt p;
	uint64_t v;

	(void)state;
	/* Scapy: IP(src='10.0.0.1',dst='10.0.0.2')/GRE()/IPv6()... cut: GRE carrying 0x86dd */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500002c00010000402f66a00a0000010a000002000086dd"
			 "6000000000003b4000000000000000000000000000000001");
	assert_int_equal(p.l[1].hlen, 4);
	assert_int_equal(umpa_field_get_u64(&p, 1, umpa_proto_field(&umpa_proto_gre, "key"), &v), -1);
	assert_int_equal(umpa_field_bitoff(&p, 1, umpa_proto_field(&umpa_proto_gre, "key")), -1);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_ipv6);
	unit_assert_json_lacks(&p, "gre.key");
	umpa_pkt_release(&p);
}

/* PPTP's enhanced GRE (version 1): call id and payload length in the key, the acknowledgement number. */
static void test_gre_v1(void **state)
{
	struct umpa_pkt p;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_gre);
	unit_set(&p, 1, "version", "1");
	unit_set(&p, 1, "proto", "0x880b");
	unit_set(&p, 1, "call_id", "9");
	unit_set(&p, 1, "seq", "3");
	unit_set(&p, 1, "ack_number", "2");
	unit_push_payload(&p, "\xff\x03\xc0\x21", 4);
	unit_finish(&p);
	assert_int_equal(p.l[1].hlen, 16);
	assert_int_equal(unit_get_at(&p, 1, "gre.flags_and_version"), 0x3081);
	assert_int_equal(unit_get_at(&p, 1, "gre.key.payload_length"), 4);
	unit_assert_line_has(&p, "GREv1, call 9, seq 3, ack 2, length 20: gre-proto-0x880b");
	unit_assert_json_has(&p, "\"gre.ack_number\":2");
	unit_assert_json_lacks(&p, "\"gre.key\":");
	umpa_pkt_release(&p);
}

/* Scapy: IP/GRE(seqnum_present=1,seqence_number=171)/ERSPAN_II(ver=1,vlan=342,cos=6,session_id=666,index=32760)
 *        /Ether(...)/IP(...)/ICMP() (Scapy's ERSPAN_II defaults ver to 0; type II is version 1, as captures have it) */
static const char *erspan2_hex = "4500004e00010000402f667e0a0000010a000002100088be000000ab"
				 "1156c29a00007ff8"
				 "02000000000202000000000108004500001c00010000400166dc0a0100010a0100020800f7ff00000000";
/* Scapy: IP/GRE()/ERSPAN_III(vlan=20,session_id=5,timestamp=0x11223344,sgt_other=256,gra=3)/Ether/IP/ICMP() */
static const char *erspan3_hex = "4500004e00010000402f667e0a0000010a000002000022eb"
				 "201400051122334401000006"
				 "02000000000202000000000108004500001c00010000400166dc0a0100010a0100020800f7ff00000000";

/* gre{seq}/erspan{} builds type II (GRE type 0x88be), erspan{timestamp=...} type III (0x22eb). */
static void test_erspan_build(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	for (int type3 = 0; type3 <= 1; type3++) {
		unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_gre);
		if (!type3)
			unit_set(&p, 1, "seq", "171");
		li = unit_push(&p, &umpa_proto_erspan);
		if (type3) {
			unit_set(&p, li, "vlan", "20");
			unit_set(&p, li, "spanid", "5");
			unit_set(&p, li, "timestamp", "0x11223344");
			unit_set(&p, li, "sgt", "256");
			unit_set(&p, li, "gra", "3");
		} else {
			unit_set(&p, li, "vlan", "342");
			unit_set(&p, li, "cos", "6");
			unit_set(&p, li, "session_id", "666");
			unit_set(&p, li, "index", "32760");
		}
		push_inner(&p, 1);
		unit_assert_bytes(&p, type3 ? erspan3_hex : erspan2_hex);
		umpa_pkt_release(&p);
	}
}

static void test_erspan_dissect(void **state)
{
	struct umpa_pkt p;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, erspan2_hex);
	assert_int_equal(p.nlayers, 6);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_erspan);
	assert_ptr_equal(p.l[3].proto, &umpa_proto_eth);
	assert_int_equal(p.l[2].hlen, 8);
	assert_int_equal(unit_get_at(&p, 2, "erspan.spanid"), 666);
	assert_int_equal(unit_get_at(&p, 2, "erspan.index"), 32760);
	unit_assert_json_has(&p, "\"erspan.encap\":0");
	unit_assert_json_lacks(&p, "erspan.timestamp");
	unit_assert_line_has(&p, "GREv0, seq 171, length 58: ERSPAN type II, session 666, vlan 342: IP 10.1.0.1");
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, erspan3_hex);
	assert_int_equal(p.nlayers, 6);
	assert_int_equal(p.l[2].hlen, 12);
	assert_int_equal(unit_get_at(&p, 2, "erspan.timestamp"), 0x11223344);
	assert_int_equal(unit_get_at(&p, 2, "erspan.sgt"), 256);
	assert_int_equal(unit_get_at(&p, 2, "erspan.gra"), 3);
	unit_assert_json_has(&p, "\"erspan.bso\":0");
	unit_assert_json_lacks(&p, "erspan.index");
	umpa_pkt_release(&p);

	/* type I: GRE 0x88be without a sequence number: a 0-byte ERSPAN layer, then the frame */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500004600010000402f66860a0000010a000002000088be"
			 "02000000000202000000000108004500001c00010000400166dc0a0100010a0100020800f7ff00000000");
	assert_ptr_equal(p.l[2].proto, &umpa_proto_erspan);
	assert_int_equal(p.l[2].hlen, 0);
	assert_ptr_equal(p.l[3].proto, &umpa_proto_eth);
	unit_assert_json_lacks(&p, "erspan.version");
	umpa_pkt_release(&p);
}

/* Scapy: Ether/MPLS(label=16,ttl=64,s=0)/MPLS(label=17,ttl=63)/IP/ICMP() */
static const char *mpls_hex = "0200000000020200000000018847000100400001113f"
			      "4500001c00010000400166dc0a0100010a0100020800f7ff00000000";

static void test_mpls(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	umpa_pkt_init(&p);
	push_eth(&p);
	li = unit_push(&p, &umpa_proto_mpls);
	unit_set(&p, li, "label", "16");
	unit_set(&p, li, "ttl", "64");
	li = unit_push(&p, &umpa_proto_mpls);
	unit_set(&p, li, "label", "17");
	unit_set(&p, li, "ttl", "63");
	push_inner(&p, 0);
	unit_assert_bytes(&p, mpls_hex); /* bottom of stack on the second entry only; eth.type 0x8847 */
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, mpls_hex);
	assert_int_equal(p.nlayers, 5);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_mpls);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_mpls);
	assert_ptr_equal(p.l[3].proto, &umpa_proto_ip);
	assert_int_equal(unit_get_at(&p, 1, "mpls.bottom"), 0);
	assert_int_equal(unit_get_at(&p, 2, "mpls.bottom"), 1);
	assert_int_equal(unit_get_at(&p, 2, "mpls.label"), 17);
	unit_assert_line_has(&p, "MPLS (label 16, tc 0, ttl 64) (label 17, tc 0, [S], ttl 63) IP 10.1.0.1 > 10.1.0.2");
	umpa_pkt_release(&p);
}

/* Scapy: IP/UDP(sport=40000,dport=6081)/GENEVE(vni=10,critical=1,options=[GeneveOptions(classid=0,type=0x80,
 *        data=b'\x00\x00\x00\x0c')])/Ether/IP/ICMP() */
static const char *geneve_hex = "4500005600010000401166940a0000010a0000029c4017c1004239bd"
				"0240655800000a00"
				"00008001"
				"0000000c"
				"02000000000202000000000108004500001c00010000400166dc0a0100010a0100020800f7ff00000000";

static void test_geneve(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_udp);
	unit_set(&p, 1, "sport", "40000");
	unit_set(&p, 1, "dport", "6081");
	li = unit_push(&p, &umpa_proto_geneve);
	unit_set(&p, li, "vni", "10");
	unit_set(&p, li, "critical", "1");
	unit_set(&p, li, "options", "0x0000.0x80=0000000c");
	push_inner(&p, 1);
	unit_assert_bytes(&p, geneve_hex);
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, geneve_hex);
	assert_int_equal(p.nlayers, 6);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_geneve);
	assert_int_equal(p.l[2].hlen, 16);
	assert_ptr_equal(p.l[3].proto, &umpa_proto_eth);
	unit_assert_json_has(&p, "\"geneve.option.length\":8");
	unit_assert_json_has(&p, "\"geneve.option.type\":\"0x80\"");
	unit_assert_json_has(&p, "\"geneve.option.unknown.data\":\"00:00:00:0c\"");
	unit_assert_line_has(&p, "Geneve, Flags [C], vni 0xa, options [8 bytes]: IP 10.1.0.1 > 10.1.0.2");
	umpa_pkt_release(&p);

	/* an option longer than the options: invalid, never read past */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500002c00010000401166be0a0000010a0000029c4017c10018000001406558"
			 "00000a0000008005"
			 "0000000c");
	assert_true(p.l[2].flags & UMPA_L_INVALID);
	umpa_pkt_release(&p);
}

/* Scapy: Ether/Dot1AD(vlan=100,prio=3)/Dot1Q(vlan=200)/IP/ICMP(): the S-tag under Wireshark's ieee8021ad names. */
static const char *qinq_hex = "02000000000202000000000188a86064810000c8"
			      "08004500001c00010000400166dc0a0100010a0100020800f7ff00000000";

static void test_qinq(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	umpa_pkt_init(&p);
	push_eth(&p);
	li = unit_push(&p, &umpa_proto_ieee8021ad);
	unit_set(&p, li, "id", "100");
	unit_set(&p, li, "priority", "3");
	li = unit_push(&p, &umpa_proto_vlan);
	unit_set(&p, li, "id", "200");
	push_inner(&p, 0);
	unit_assert_bytes(&p, qinq_hex);
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, qinq_hex);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_ieee8021ad);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_vlan);
	unit_assert_json_has(&p, "\"ieee8021ad.id\":100");
	unit_assert_json_has(&p, "\"ieee8021ah.etype\":\"0x8100\"");
	unit_assert_json_has(&p, "\"vlan.id\":200");
	umpa_pkt_release(&p);
}

/* IPv4 in IPv6 and IPv6 in IPv6: nested network layers by their protocol numbers (4, 41). */
static void test_ip_in_ip(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ipv6, "2001:db8::1", "2001:db8::2", &umpa_proto_ip);
	unit_set(&p, 1, "src", "10.1.0.1");
	unit_set(&p, 1, "dst", "10.1.0.2");
	li = unit_push(&p, &umpa_proto_ipv6);
	unit_set(&p, li, "src", "2001:db8:1::1");
	unit_set(&p, li, "dst", "2001:db8:1::2");
	unit_push(&p, &umpa_proto_icmpv6);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "ipv6.nxt"), 4);
	assert_int_equal(unit_get_at(&p, 1, "ip.proto"), 41);
	{
		struct umpa_pkt q;
		umpa_pkt_init(&q);
		assert_int_equal(umpa_pkt_copy_from(&q, p.data, p.len, NULL), 0);
		q.linktype = UMPA_LINKTYPE_RAW;
		umpa_dissect(&q);
		assert_int_equal(q.nlayers, 4);
		assert_ptr_equal(q.l[0].proto, &umpa_proto_ipv6);
		assert_ptr_equal(q.l[1].proto, &umpa_proto_ip);
		assert_ptr_equal(q.l[2].proto, &umpa_proto_ipv6);
		assert_ptr_equal(q.l[3].proto, &umpa_proto_icmpv6);
		umpa_pkt_release(&q);
	}
	umpa_pkt_release(&p);
}

/* Every cut of every frame above dissects inside the bytes. */
static void test_tunnels_truncate(void **state)
{
	(void)state;
	unit_truncate_hex(UMPA_LINKTYPE_RAW, gre_hex);
	unit_truncate_hex(UMPA_LINKTYPE_RAW, erspan2_hex);
	unit_truncate_hex(UMPA_LINKTYPE_RAW, erspan3_hex);
	unit_truncate_hex(UMPA_LINKTYPE_ETHERNET, mpls_hex);
	unit_truncate_hex(UMPA_LINKTYPE_RAW, geneve_hex);
	unit_truncate_hex(UMPA_LINKTYPE_ETHERNET, qinq_hex);
}

#define DHCP_Z50 "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
/* chaddr padding (10), sname (64) and file (128): 202 zero bytes */
#define DHCP_ZEROS_202 DHCP_Z50 DHCP_Z50 DHCP_Z50 DHCP_Z50 "0000"
/* Scapy: IP(src='10.0.0.1',dst='10.0.0.50')/UDP(sport=67,dport=68)/BOOTP(op=2,xid=0x1234,yiaddr='10.0.0.50',
 *        siaddr='10.0.0.1',chaddr=02:00:00:00:00:33)/DHCP(options=[('message-type','offer'),('server_id','10.0.0.1'),
 *        ('lease_time',3600),('subnet_mask','255.255.255.0'),('router','10.0.0.1'),
 *        ('name_server','10.0.0.1','10.0.0.2'),'end'])  (Scapy's name_server is option 6) */
static const char *dhcp_offer_hex =
    "4500013200010000401165880a0000010a00003200430044011e9acf"
    "020106000000123400000000000000000a0000320a00000100000000020000000033" DHCP_ZEROS_202 "63825363"
    "350102"
    "36040a000001"
    "330400000e10"
    "0104ffffff00"
    "03040a000001"
    "06080a0000010a000002"
    "ff";

/* A DHCP OFFER as a dhcp-server template builds it: the options spec in order, End appended. */
static void test_dhcp(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.50", &umpa_proto_udp);
	unit_set(&p, 1, "sport", "67");
	unit_set(&p, 1, "dport", "68");
	li = unit_push(&p, &umpa_proto_dhcp);
	unit_set(&p, li, "op", "boot-reply");
	unit_set(&p, li, "xid", "0x1234");
	unit_set(&p, li, "yiaddr", "10.0.0.50");
	unit_set(&p, li, "siaddr", "10.0.0.1");
	unit_set(&p, li, "mac", "02:00:00:00:00:33");
	unit_set(&p, li, "options",
		 "message_type=offer, server_id=10.0.0.1, lease_time=3600, subnet_mask=255.255.255.0, router=10.0.0.1, "
		 "dns=10.0.0.1:10.0.0.2");
	unit_finish(&p);
	unit_assert_bytes(&p, dhcp_offer_hex);
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, dhcp_offer_hex);
	assert_int_equal(p.nlayers, 3);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_dhcp);
	assert_int_equal(p.l[2].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID), 0);
	assert_int_equal(unit_get_at(&p, 2, "dhcp.id"), 0x1234);
	unit_assert_json_has(&p, "\"dhcp.hw.mac_addr\":\"02:00:00:00:00:33\"");
	unit_assert_json_has(&p, "\"dhcp.option.dhcp\":2,\"dhcp.option.dhcp_name\":\"offer\"");
	unit_assert_json_has(&p, "\"dhcp.option.ip_address_lease_time\":3600");
	unit_assert_json_has(&p, "\"dhcp.option.domain_name_server\":[\"10.0.0.1\",\"10.0.0.2\"]");
	unit_assert_json_has(&p, "\"dhcp.option.end\":255");
	unit_assert_json_lacks(&p, "dhcp.hw.addr\"");
	unit_assert_line_has(&p, "IP 10.0.0.1.67 > 10.0.0.50.68: BOOTP/DHCP, Reply, length 278");
	umpa_pkt_release(&p);

	/* an option whose length runs past the message: marked, never read past */
	{
		char bad[1400];
		/* the End byte replaced by a lease time option of 4 bytes with only 2 of them there */
		snprintf(bad, sizeof bad,
			 "%.*s"
			 "33040000",
			 (int)strlen(dhcp_offer_hex) - 2, dhcp_offer_hex);
		unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, bad);
		assert_true(p.l[2].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED));
		umpa_pkt_release(&p);
	}
	unit_truncate_hex(UMPA_LINKTYPE_RAW, dhcp_offer_hex);
}

/* Option specs that cannot be built say what is wrong. */
static void test_dhcp_bad_specs(void **state)
{
	static const char *const bad[] = {
	    "bogus=1", "lease_time", "subnet_mask=10.0.0", "message_type=maybe", "300=00", "lease_time=99999999999"};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct umpa_pkt p;
		struct umpa_err e = {0};
		unsigned li;
		umpa_pkt_init(&p);
		li = unit_push(&p, &umpa_proto_dhcp);
		assert_true(umpa_field_set_str(&p, li, umpa_proto_field(&umpa_proto_dhcp, "options"), bad[i], &e) < 0);
		assert_true(strstr(e.msg, "dhcp.option") != NULL);
		umpa_pkt_release(&p);
	}
}

/* IGMP: a version 3 report from its records spec reads back record by record; every cut stays inside the bytes;
 * a v2 query is 8 bytes, setting qrv makes a 12-byte v3 query. */
static void test_igmp(void **state)
{
	struct umpa_pkt p, q;
	unsigned li;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "224.0.0.22", &umpa_proto_igmp);
	unit_set(&p, 1, "records", "is_ex:239.1.1.4, allow:239.1.1.5:10.0.0.1:10.0.0.2");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 1, "igmp.type"), 0x22);
	assert_int_equal(unit_get_at(&p, 1, "igmp.num_grp_recs"), 2);
	assert_int_equal(p.l[1].hlen, 8 + 8 + 16);
	umpa_pkt_init(&q);
	assert_int_equal(umpa_pkt_copy_from(&q, p.data, p.len, NULL), 0);
	q.linktype = UMPA_LINKTYPE_RAW;
	umpa_dissect(&q);
	assert_ptr_equal(q.l[1].proto, &umpa_proto_igmp);
	assert_int_equal(q.l[1].flags & (UMPA_L_BADSUM | UMPA_L_INVALID | UMPA_L_TRUNCATED), 0);
	unit_assert_json_has(&q, "\"igmp.record_type\":5,\"igmp.record_type_name\":\"allow\"");
	unit_assert_json_has(&q, "\"igmp.saddr\":[\"10.0.0.1\",\"10.0.0.2\"]"); /* a repeated key is one array */
	unit_assert_json_lacks(&q, "igmp.max_resp");
	unit_assert_line_has(&q, "igmp v3 report, 2 group record(s)");
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);

	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "224.0.0.1", &umpa_proto_igmp);
	assert_int_equal(p.l[1].hlen, 8);
	li = 1;
	unit_set(&p, li, "qrv", "2");
	unit_set(&p, li, "sources", "10.0.0.7:10.0.0.8");
	unit_finish(&p);
	assert_int_equal(p.l[1].hlen, 20);
	assert_int_equal(unit_get_at(&p, 1, "igmp.num_src"), 2);
	unit_assert_line_has(&p, "igmp query v3");
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);
	umpa_pkt_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vxlan_build),    cmocka_unit_test(test_vxlan_dissect),
	    cmocka_unit_test(test_vxlan_truncate), cmocka_unit_test(test_gre_build),
	    cmocka_unit_test(test_gre_dissect),    cmocka_unit_test(test_gre_plain),
	    cmocka_unit_test(test_gre_v1),         cmocka_unit_test(test_erspan_build),
	    cmocka_unit_test(test_erspan_dissect), cmocka_unit_test(test_mpls),
	    cmocka_unit_test(test_geneve),         cmocka_unit_test(test_qinq),
	    cmocka_unit_test(test_ip_in_ip),       cmocka_unit_test(test_tunnels_truncate),
	    cmocka_unit_test(test_dhcp),           cmocka_unit_test(test_dhcp_bad_specs),
	    cmocka_unit_test(test_igmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
