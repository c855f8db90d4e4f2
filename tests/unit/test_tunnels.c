/* test_tunnels.c - tunnels and overlays (VXLAN): build against Scapy's bytes, dissect, truncation.
 *
 * Expected bytes come from Scapy 2.5 (/usr/bin/python3); tshark 4.0 shows the
 * same field values for them (tests/oracle/cases.lua has the cases).
 */
#include "unit.h"

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
	li = unit_push(&p, &umpa_proto_eth);
	unit_set(&p, li, "src", "02:00:00:00:00:01");
	unit_set(&p, li, "dst", "02:00:00:00:00:02");
	li = unit_push(&p, &umpa_proto_ip);
	unit_set(&p, li, "src", "10.1.0.1");
	unit_set(&p, li, "dst", "10.1.0.2");
	unit_push(&p, &umpa_proto_icmp);
	unit_finish(&p);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vxlan_build),
	    cmocka_unit_test(test_vxlan_dissect),
	    cmocka_unit_test(test_vxlan_truncate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
