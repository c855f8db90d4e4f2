/* test_services.c - SCTP (and the other everyday services of issue 11): build against Scapy's bytes, dissect,
 * truncation at every length.
 *
 * Expected bytes come from Scapy 2.5 (/usr/bin/python3, scapy.layers.sctp); tshark 4.0 shows the same field
 * values for them (tests/oracle/cases.lua has the cases).
 */
#include "unit.h"

/* Scapy: IP(src='10.0.0.1',dst='10.0.0.2')/SCTP(sport=40000,dport=40001,tag=0x1234) and then: */
#define SCTP_IP_HDR(len, csum) "4500" len "000100004084" csum "0a0000010a0000029c409c4100001234"
static const struct {
	const char *spec; /* umpa's chunks */
	const char *hex;  /* Scapy's bytes */
} sctp_cases[] = {
    /* SCTPChunkData(tsn=5,stream_id=1,stream_seq=2,proto_id=0,beginning=1,ending=1,data=b'hello') */
    {"data=5:1:2:0:68656c6c6f", SCTP_IP_HDR("0038", "663f") "1aab14a90003001500000005000100020000000068656c6c6f000000"},
    /* SCTPChunkInit(init_tag=0xabcd,a_rwnd=65536,n_out_streams=10,n_in_streams=10,init_tsn=100,
     *               params=[SCTPChunkParamIPv4Addr(addr='10.0.0.1')]) */
    {"init=0xabcd:65536:10:10:100:000500080a000001",
     SCTP_IP_HDR("003c", "663b") "5e3206e70100001c0000abcd00010000000a000a00000064000500080a000001"},
    /* SCTPChunkSACK(cumul_tsn_ack=7,a_rwnd=1000,gap_ack_list=['2:3'],dup_tsn_list=[9]) */
    {"sack=7:1000:2-3:9", SCTP_IP_HDR("0038", "663f") "ec7992e60300001800000007000003e8000100010002000300000009"},
    /* SCTPChunkHeartbeatReq(params=[SCTPChunkParamHeartbeatInfo(data=b'12345678')]) */
    {"heartbeat=3132333435363738", SCTP_IP_HDR("0030", "6647") "d15d777f040000100001000c3132333435363738"},
    /* SCTPChunkAbort(TCB=1)/SCTPChunkShutdown(cumul_tsn_ack=9)/SCTPChunkShutdownAck()/
     * SCTPChunkShutdownComplete()/SCTPChunkCookieEcho(cookie=b'xy')/SCTPChunkCookieAck() */
    {"abort.1, shutdown=9, shutdown_ack, shutdown_complete, cookie_echo=7879, cookie_ack",
     SCTP_IP_HDR("0040", "6637") "04f3ce10060100040700000800000009080000040e0000040a000006787900000b000004"},
};

static void sctp_build(struct umpa_pkt *p, const char *chunks)
{
	unit_build_ip(p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_sctp);
	unit_set(p, 1, "sport", "40000");
	unit_set(p, 1, "dport", "40001");
	unit_set(p, 1, "tag", "0x1234");
	unit_set(p, 1, "chunks", chunks);
	unit_finish(p);
}

/* Every chunk spec builds Scapy's bytes (chunk lengths, padding, the CRC32c); the bytes dissect back into one
 * sctp layer whose checksum verifies; every cut stays inside the bytes. */
static void test_sctp_build(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof sctp_cases / sizeof sctp_cases[0]; i++) {
		struct umpa_pkt p;
		sctp_build(&p, sctp_cases[i].spec);
		unit_assert_bytes(&p, sctp_cases[i].hex);
		umpa_pkt_release(&p);

		unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, sctp_cases[i].hex);
		assert_int_equal(p.nlayers, 2);
		assert_ptr_equal(p.l[1].proto, &umpa_proto_sctp);
		assert_int_equal(p.l[1].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM), 0);
		assert_int_equal(unit_get_at(&p, 1, "sctp.verification_tag"), 0x1234);
		umpa_pkt_release(&p);
		unit_truncate_hex(UMPA_LINKTYPE_RAW, sctp_cases[i].hex);
	}
}

/* What a DATA chunk and a SACK show: Wireshark's names, tcpdump's line; a flipped bit fails the CRC32c. */
static void test_sctp_dissect(void **state)
{
	struct umpa_pkt p;
	char hex[256];

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, sctp_cases[0].hex);
	unit_assert_json_has(&p, "\"sctp.checksum\":\"0x1aab14a9\"");
	unit_assert_json_has(&p, "\"sctp.data_tsn_raw\":5");
	unit_assert_json_has(&p, "\"sctp.data_b_bit\":true,\"sctp.data_e_bit\":true,\"sctp.chunk_length\":21");
	unit_assert_json_has(&p, "\"data.data\":\"68:65:6c:6c:6f\"");
	unit_assert_json_has(&p, "\"sctp.chunk_padding\":\"00:00:00\"");
	unit_assert_line_has(&p, "IP 10.0.0.1.40000 > 10.0.0.2.40001: sctp (1) [DATA] (B)(E) [TSN: 5] [SID: 1] "
				 "[SSEQ 2] [PPID 0x0]");
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, sctp_cases[2].hex);
	unit_assert_json_has(&p, "\"sctp.sack_gap_block_start_tsn\":9");
	unit_assert_json_has(&p, "\"sctp.sack_gap_block_end_tsn\":10");
	unit_assert_json_has(&p, "\"sctp.sack_duplicate_tsn\":9");
	unit_assert_line_has(&p, "sctp (1) [SACK] [cum ack 7] [a_rwnd 1000] [#gap acks 1] [#dup tsns 1]");
	umpa_pkt_release(&p);

	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, sctp_cases[4].hex);
	unit_assert_line_has(&p, "sctp (1) [ABORT] , (2) [SHUTDOWN] , (3) [SHUTDOWN ACK] , (4) [SHUTDOWN COMPLETE] , "
				 "(5) [COOKIE ECHO] , (6) [COOKIE ACK]");
	unit_assert_json_has(&p, "\"sctp.abort_t_bit\":true");
	umpa_pkt_release(&p);

	/* one payload byte changed: the CRC32c no longer verifies */
	snprintf(hex, sizeof hex, "%s", sctp_cases[0].hex);
	hex[strlen(hex) - 8] = '7';
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, hex);
	assert_true(p.l[1].flags & UMPA_L_BADSUM);
	umpa_pkt_release(&p);

	/* a chunk length below 4 is invalid, one past the bytes short: marked, never read past */
	snprintf(hex, sizeof hex, "%s", sctp_cases[4].hex);
	memcpy(hex + 2 * 20 + 24 + 4, "0002", 4); /* the ABORT's length */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, hex);
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	umpa_pkt_release(&p);
	memcpy(hex + 2 * 20 + 24 + 4, "0100", 4);
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, hex);
	assert_true(p.l[1].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED));
	umpa_pkt_release(&p);
}

/* A checksum set on purpose goes on the wire as set; chunk specs that cannot be built say what is wrong. */
static void test_sctp_specs(void **state)
{
	static const char *const bad[] = {
	    "bogus",        "data",   "data=1:2",    "init=1:2:3", "sack=x", "data.999=1:2:3:4",
	    "heartbeat=zz", "raw=0g", "shutdown=-1", "200=123"};
	struct umpa_pkt p;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_sctp);
	unit_set(&p, 1, "checksum", "0x12345678");
	unit_set(&p, 1, "chunks", "cookie_ack, raw=0b000004");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 1, "sctp.checksum"), 0x12345678);
	assert_int_equal(p.l[1].len, 12 + 8);
	umpa_pkt_release(&p);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct umpa_err e = {0};
		unsigned li;
		umpa_pkt_init(&p);
		li = unit_push(&p, &umpa_proto_sctp);
		assert_true(umpa_field_set_str(&p, li, umpa_proto_field(&umpa_proto_sctp, "chunks"), bad[i], &e) < 0);
		assert_true(strstr(e.msg, "sctp.chunk") != NULL);
		umpa_pkt_release(&p);
	}
}

/* SCTP matching (proto_common.h's port-pair hooks, shared with UDP and TCP): hashret is the same both ways; a
 * packet answers when its ports are the request's swapped; the reason names sctp; a cut header answers
 * nothing. */
static void test_sctp_answers(void **state)
{
	struct umpa_pkt q, r, cut;
	char why[96] = "";

	(void)state;
	sctp_build(&q, "init=1:2:3:4:5");
	unit_build_ip(&r, &umpa_proto_ip, "10.0.0.2", "10.0.0.1", &umpa_proto_sctp);
	unit_set(&r, 1, "sport", "40001");
	unit_set(&r, 1, "dport", "40000");
	unit_set(&r, 1, "chunks", "init_ack=9:2:3:4:5");
	unit_finish(&r);
	assert_int_equal(umpa_proto_sctp.hashret(&q, 1), 40000 ^ 40001);
	assert_int_equal(umpa_proto_sctp.hashret(&r, 1), umpa_proto_sctp.hashret(&q, 1));
	assert_int_equal(umpa_proto_sctp.answers(&r, 1, &q, 1, why, sizeof why), 1);
	assert_int_equal(umpa_proto_sctp.answers(&q, 1, &q, 1, why, sizeof why), 0);
	assert_string_equal(why, "sctp ports not swapped (40000>40001 vs 40000>40001)");
	unit_set(&r, 1, "sport", "40002");
	assert_int_equal(umpa_proto_sctp.answers(&r, 1, &q, 1, why, sizeof why), 0);
	assert_string_equal(why, "sctp ports not swapped (40002>40000 vs 40000>40001)");
	/* 3 bytes of SCTP: no destination port */
	unit_dissect_hex(&cut, UMPA_LINKTYPE_RAW,
			 "4500001700010000408400000a0000020a000001"
			 "9c419c");
	assert_ptr_equal(cut.l[1].proto, &umpa_proto_sctp);
	assert_int_equal(umpa_proto_sctp.hashret(&cut, 1), 0);
	assert_int_equal(umpa_proto_sctp.answers(&cut, 1, &q, 1, why, sizeof why), 0);
	assert_string_equal(why, "sctp header missing");
	umpa_pkt_release(&cut);
	umpa_pkt_release(&r);
	umpa_pkt_release(&q);
}

/* Scapy: DHCP6_Solicit(trid=0x123456)/DHCP6OptClientId(duid=DUID_LLT(lladdr='02:00:00:00:00:01',timeval=0x2a))/
 *        DHCP6OptElapsedTime(elapsedtime=5)/DHCP6OptOptReq(reqopts=[23,24])/DHCP6OptIA_NA(iaid=1,T1=3600,T2=5400) */
static const char *d6_solicit_hex =
    "011234560001000e000100010000002a02000000000100080002000500060004001700180003000c0000000100000e1000001518";
/* Scapy: DHCP6_Advertise(trid=0x123456)/DHCP6OptServerId(duid=DUID_LL(lladdr='02:00:00:00:00:02'))/
 *        DHCP6OptIA_NA(iaid=1,T1=3600,T2=5400,ianaopts=[DHCP6OptIAAddress(addr='2001:db8::10',preflft=7200,
 *        validlft=7500)])/DHCP6OptDNSServers(dnsservers=['2001:db8::53'])/DHCP6OptDNSDomains(dnsdomains=
 *        ['example.com.'])/DHCP6OptStatusCode(statuscode=0,statusmsg='ok')/DHCP6OptPref(prefval=255) */
static const char *d6_advertise_hex =
    "021234560002000a00030001020000000002000300280000000100000e10000015180005001820010db80000000000000000000000100000"
    "1c2000001d4c0017001020010db80000000000000000000000530018000d076578616d706c6503636f6d00000d000400006f6b00070001ff";
/* Scapy: DHCP6_RelayForward(hopcount=1,linkaddr='2001:db8::1',peeraddr='fe80::1')/DHCP6OptRelayMsg(message=
 *        DHCP6_Solicit(trid=1)) */
static const char *d6_relay_hex =
    "0c0120010db8000000000000000000000001fe8000000000000000000000000000010009000401000001";

/* Build a DHCPv6 message over UDP 546 -> 547 and compare its UDP payload with @hex. */
static void d6_check(const char *const *set, const char *hex)
{
	struct umpa_pkt p;
	uint8_t want[512];
	size_t n = unit_hex(hex, want, sizeof want);

	unit_build_ip(&p, &umpa_proto_ipv6, "fe80::1", "ff02::1:2", &umpa_proto_udp);
	unit_set(&p, 1, "sport", "546");
	unit_set(&p, 1, "dport", "547");
	unit_push(&p, &umpa_proto_dhcpv6);
	for (size_t i = 0; set[i]; i += 2)
		unit_set(&p, 2, set[i], set[i + 1]);
	unit_finish(&p);
	assert_int_equal(p.l[2].len, n);
	assert_memory_equal(p.data + p.l[2].off, want, n);
	umpa_pkt_release(&p);
}

/* Option specs build Scapy's bytes: DUIDs, elapsed time in Wireshark's milliseconds, an IA_NA holding an IA
 * Address, DNS servers and search list, status; a relay header from its fields. */
static void test_dhcpv6_build(void **state)
{
	static const char *const solicit[] = {
	    "xid", "0x123456", "options",
	    "client_id=000100010000002a020000000001,elapsed_time=50,oro=23:24,ia_na=1:3600:5400", NULL};
	static const char *const advertise[] = {"msgtype",
						"advertise",
						"xid",
						"0x123456",
						"options",
						"server_id=00030001020000000002, ia_na=1:3600:5400, "
						"iaaddr=2001:db8::10/7200/7500, dns=2001:db8::53, domains=example.com, "
						"status=0/ok, preference=255",
						NULL};
	static const char *const relay[] = {"linkaddr", "2001:db8::1", "peeraddr",           "fe80::1", "hopcount",
					    "1",        "options",     "relay_msg=01000001", NULL};
	(void)state;
	d6_check(solicit, d6_solicit_hex);
	d6_check(advertise, d6_advertise_hex);
	d6_check(relay, d6_relay_hex);
}

/* Dissecting: Wireshark's names and values; the relayed message is the next layer; tcpdump's line; every cut
 * stays inside the bytes; an option past the end is marked. */
static void test_dhcpv6_dissect(void **state)
{
	struct umpa_pkt p;
	uint8_t b[512];
	size_t n;

	(void)state;
	n = unit_hex(d6_advertise_hex, b, sizeof b);
	{
		struct umpa_pkt q;
		unit_build_ip(&q, &umpa_proto_ipv6, "fe80::2", "fe80::1", &umpa_proto_udp);
		unit_set(&q, 1, "sport", "547");
		unit_set(&q, 1, "dport", "546");
		unit_push_payload(&q, b, n);
		unit_finish(&q);
		unit_dissect(&p, UMPA_LINKTYPE_RAW, q.data, q.len);
		assert_ptr_equal(p.l[2].proto, &umpa_proto_dhcpv6);
		assert_int_equal(p.l[2].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID), 0);
		unit_assert_json_has(&p, "\"dhcpv6.iaaddr.ip\":\"2001:db8::10\"");
		unit_assert_json_has(&p, "\"dhcpv6.search_list_entry\":\"example.com.\"");
		unit_assert_json_has(&p, "\"dhcpv6.duidll.link_layer_addr\":\"02:00:00:00:00:02\"");
		unit_assert_json_has(&p, "\"dhcpv6.status_msg\":\"ok\"");
		unit_assert_line_has(&p, "IP6 fe80::2.547 > fe80::1.546: dhcp6 advertise");
		unit_truncate_all(UMPA_LINKTYPE_RAW, q.data, q.len);
		/* the IA_NA's length grown past the message */
		q.data[q.l[2].off + 4 + 14 + 3] = 0xf0;
		umpa_pkt_release(&p);
		unit_dissect(&p, UMPA_LINKTYPE_RAW, q.data, q.len);
		assert_true(p.l[2].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED));
		umpa_pkt_release(&p);
		umpa_pkt_release(&q);

		unit_build_ip(&q, &umpa_proto_ipv6, "fe80::1", "ff02::1:2", &umpa_proto_udp);
		unit_set(&q, 1, "sport", "547");
		unit_set(&q, 1, "dport", "547");
		n = unit_hex(d6_relay_hex, b, sizeof b);
		unit_push_payload(&q, b, n);
		unit_finish(&q);
		unit_dissect(&p, UMPA_LINKTYPE_RAW, q.data, q.len);
		assert_int_equal(p.nlayers, 4);
		assert_ptr_equal(p.l[3].proto, &umpa_proto_dhcpv6);
		assert_int_equal(unit_get_at(&p, 2, "dhcpv6.hopcount"), 1);
		assert_int_equal(unit_get_at(&p, 3, "dhcpv6.xid"), 1);
		unit_assert_line_has(&p, "dhcp6 relay-fwd");
		{
			char *line = unit_line(&p);
			unit_assert_lacks(line, "solicit");
			free(line);
		}
		unit_truncate_all(UMPA_LINKTYPE_RAW, q.data, q.len);
		umpa_pkt_release(&p);
		umpa_pkt_release(&q);
	}
}

/* Scapy: NTPHeader(mode=4,stratum=2,poll=6,precision=-20,delay=0.5,dispersion=0.25,id='192.168.1.1',
 *        ref=3900000000.5,orig=3900000001.25,recv=3900000002.0,sent=3900000002.125) */
static const char *ntp_server_hex =
    "240206ec0000800000004000c0a80101e875470080000000e875470140000000e875470200000000e875470220000000";

/* NTP: a server reply built field by field is Scapy's; control and private modes get their short headers;
 * timestamps are shown as Wireshark shows them; every cut stays inside the bytes. */
static void test_ntp(void **state)
{
	struct umpa_pkt p, q;
	static const char *const set[] = {"mode",       "server",
					  "poll",       "6",
					  "precision",  "236",
					  "delay",      "32768",
					  "dispersion", "16384",
					  "id",         "c0:a8:01:01",
					  "ref",        "0xe875470080000000",
					  "orig",       "0xe875470140000000",
					  "recv",       "0xe875470200000000",
					  "sent",       "0xe875470220000000",
					  NULL};
	uint8_t want[64];
	size_t n = unit_hex(ntp_server_hex, want, sizeof want);

	(void)state;
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.2", "10.0.0.1", &umpa_proto_udp);
	unit_set(&p, 1, "sport", "123");
	unit_set(&p, 1, "dport", "123");
	unit_push(&p, &umpa_proto_ntp);
	for (size_t i = 0; set[i]; i += 2)
		unit_set(&p, 2, set[i], set[i + 1]);
	unit_finish(&p);
	assert_int_equal(p.l[2].len, n);
	assert_memory_equal(p.data + p.l[2].off, want, n);
	unit_dissect(&q, UMPA_LINKTYPE_RAW, p.data, p.len);
	assert_ptr_equal(q.l[2].proto, &umpa_proto_ntp);
	unit_assert_json_has(&q, "\"ntp.reftime\":\"Aug  2, 2023 21:20:00.500000000 UTC\"");
	unit_assert_json_has(&q, "\"ntp.xmt\":\"Aug  2, 2023 21:20:02.125000000 UTC\"");
	unit_assert_json_lacks(&q, "ntp.ctrl");
	unit_assert_line_has(&q, "IP 10.0.0.2.123 > 10.0.0.1.123: NTPv4, Server, length 48");
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);

	/* a mode 6 field makes a 12-byte control message (count automatic), a mode 7 one an 8-byte one */
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_udp);
	unit_set(&p, 1, "dport", "123");
	unit_push(&p, &umpa_proto_ntp);
	unit_set(&p, 2, "opcode", "2");
	unit_set(&p, 2, "version", "2");
	unit_finish(&p);
	assert_int_equal(p.l[2].len, 12);
	assert_int_equal(unit_get_at(&p, 2, "ntp.flags.mode"), 6);
	unit_assert_line_has(&p, "NTPv2, Control Message, length 12");
	umpa_pkt_release(&p);
	unit_build_ip(&p, &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_udp);
	unit_set(&p, 1, "dport", "123");
	unit_push(&p, &umpa_proto_ntp);
	unit_set(&p, 2, "reqcode", "42");
	unit_finish(&p);
	assert_int_equal(p.l[2].len, 8);
	assert_int_equal(unit_get_at(&p, 2, "ntp.priv.reqcode"), 42);
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);
	umpa_pkt_release(&p);
}

/* Scapy (contrib.lldp): Ether(src='02:00:00:00:00:01',dst='01:80:c2:00:00:0e')/LLDPDUChassisID(subtype=4,
 *        id='02:00:00:00:00:01')/LLDPDUPortID(subtype=5,id='eth0')/LLDPDUTimeToLive(ttl=120)/
 *        LLDPDUPortDescription(description='uplink')/LLDPDUSystemName(system_name='sw1')/
 *        LLDPDUSystemDescription(description='umpa test')/LLDPDUSystemCapabilities(mac_bridge_available=1,
 *        router_available=1,mac_bridge_enabled=1)/LLDPDUManagementAddress(management_address_subtype=1,
 *        management_address=b'\x0a\x00\x00\x01',interface_numbering_subtype=2,interface_number=3)/
 *        LLDPDUEndOfLLDPDU() */
static const char *lldp_hex = "0180c200000e02000000000188cc"
			      "0207040200000000010405056574683006020078080675706c696e6b0a037377310c09756d70612074657374"
			      "0e0400140004100c05010a0000010200000003000000";

/* LLDP: the TLV spec builds Scapy's frame; it reads back with Wireshark's names and tcpdump's line; the LLDPDU
 * ends at its End TLV (padding after it is the frame's); every cut stays inside the bytes. */
static void test_lldp(void **state)
{
	struct umpa_pkt p;
	unsigned li;
	uint8_t b[128];
	size_t n;

	(void)state;
	umpa_pkt_init(&p);
	li = unit_push(&p, &umpa_proto_eth);
	unit_set(&p, li, "src", "02:00:00:00:00:01");
	unit_set(&p, li, "dst", "01:80:c2:00:00:0e");
	li = unit_push(&p, &umpa_proto_lldp);
	unit_set(&p, li, "tlvs",
		 "chassis_mac=02:00:00:00:00:01, port_name=eth0, ttl=120, port_desc=uplink, system_name=sw1, "
		 "system_desc=umpa test, caps=0x14/0x04, mgmt_ipv4=10.0.0.1/3");
	unit_finish(&p);
	unit_assert_bytes(&p, lldp_hex);
	umpa_pkt_release(&p);

	n = unit_hex(lldp_hex, b, sizeof b);
	memset(b + n, 0, 8); /* Ethernet padding after the End TLV */
	unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, b, n + 8);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_lldp);
	assert_int_equal(p.l[1].len, n - 14);
	assert_int_equal(p.l[1].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID), 0);
	unit_assert_json_has(&p, "\"lldp.chassis.id.mac\":\"02:00:00:00:00:01\"");
	unit_assert_json_has(&p, "\"lldp.port.id\":\"eth0\"");
	unit_assert_json_has(&p, "\"lldp.tlv.system_cap.router\":true");
	unit_assert_json_has(&p, "\"lldp.mgn.addr.ip4\":\"10.0.0.1\"");
	unit_assert_line_has(&p, "LLDP, length 66: sw1");
	umpa_pkt_release(&p);
	unit_truncate_hex(UMPA_LINKTYPE_ETHERNET, lldp_hex);

	/* a TLV longer than the bytes: marked, never read past */
	b[14 + 1] = 0xff;
	unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, b, n);
	assert_true(p.l[1].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID));
	umpa_pkt_release(&p);
}

/* Scapy: IPv6(src='fe80::1',dst='ff02::1')/ICMPv6MLQuery2(mladdr='ff02::fb',sources=['2001:db8::1','2001:db8::2'],
 *        QRV=2,QQIC=125) */
static const char *mld2_query_hex = "60000000003c3a01fe800000000000000000000000000001ff020000000000000000000000000001"
				    "8200fb0027100000ff0200000000000000000000000000fb027d0002"
				    "20010db800000000000000000000000120010db8000000000000000000000002";
/* Scapy: IPv6(src='fe80::1',dst='ff02::16')/ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4,dst='ff02::fb'),
 *        ICMPv6MLDMultAddrRec(rtype=5,dst='ff02::1:3',sources=['2001:db8::1'])]) */
static const char *mld2_report_hex = "6000000000403a01fe800000000000000000000000000001ff020000000000000000000000000016"
				     "8f003d280000000204000000ff0200000000000000000000000000fb"
				     "05000001ff02000000000000000000000001000320010db8000000000000000000000001";

/* MLDv2: a query from its sources and tail fields, a report from its records spec: Scapy's bytes (counts and
 * checksum automatic); tcpdump's lines; every cut stays inside the bytes. */
static void test_mld2(void **state)
{
	struct umpa_pkt p;

	(void)state;
	unit_build_ip(&p, &umpa_proto_ipv6, "fe80::1", "ff02::1", &umpa_proto_icmpv6);
	unit_set(&p, 0, "hlim", "1");
	unit_set(&p, 1, "qrv", "2"); /* before the type: an MLDv2 field makes the message a query */
	unit_set(&p, 1, "mrd", "10000");
	unit_set(&p, 1, "mladdr", "ff02::fb");
	unit_set(&p, 1, "qqic", "125");
	unit_set(&p, 1, "sources", "2001:db8::1/2001:db8::2");
	unit_finish(&p);
	unit_assert_bytes(&p, mld2_query_hex);
	unit_assert_line_has(&p, "ICMP6, multicast listener query v2 [gaddr ff02::fb, 2 source(s)], length 60");
	unit_assert_json_has(&p, "\"icmpv6.mld.maximum_response_code\":10000");
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);
	umpa_pkt_release(&p);

	unit_build_ip(&p, &umpa_proto_ipv6, "fe80::1", "ff02::16", &umpa_proto_icmpv6);
	unit_set(&p, 0, "hlim", "1");
	unit_set(&p, 1, "records", "to_ex/ff02::fb, allow/ff02::1:3/2001:db8::1");
	unit_finish(&p);
	unit_assert_bytes(&p, mld2_report_hex);
	unit_assert_line_has(&p, "ICMP6, multicast listener report v2, 2 group record(s), length 64");
	unit_assert_json_has(&p, "\"icmpv6.mldr.mar.source_address\":\"2001:db8::1\"");
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);
	umpa_pkt_release(&p);

	/* records on an echo request the user asked for: refused with the reason */
	{
		struct umpa_err e = {0};
		unsigned li;
		umpa_pkt_init(&p);
		li = unit_push(&p, &umpa_proto_icmpv6);
		unit_set(&p, li, "type", "echo-request");
		assert_true(umpa_field_set_str(&p, li, umpa_proto_field(&umpa_proto_icmpv6, "records"),
					       "is_ex/ff02::fb", &e) < 0);
		assert_true(strstr(e.msg, "type 143") != NULL);
		assert_true(umpa_field_set_str(&p, li, umpa_proto_field(&umpa_proto_icmpv6, "qrv"), "2", &e) < 0);
		umpa_pkt_release(&p);
	}
}

/* An ICMP time exceeded quoting 128 bytes (RFC 4884's compatibility rule: length field 0) with an extension
 * structure holding an MPLS label stack (RFC 4950): label 100704, S, TTL 1 (tcpdump's mpls-traceroute.pcap,
 * frame 2, from its IPv4 header on). */
static const char *icmp_mpls_hex =
    "450000a813964000ff014db10a0500010c0404040b00cd040000000045000028a54c00000111f76f0c0404040c010101a54b"
    "829b001400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000002000c55f0008010118960101";

/* ICMP extensions: found after the 128 quoted bytes, the quotation's window stops before them, the label stack
 * reads as Wireshark shows it; every cut stays inside the bytes. */
static void test_icmp_ext(void **state)
{
	struct umpa_pkt p;
	char hex[600];
	size_t k = 0;

	(void)state;
	for (const char *h = icmp_mpls_hex; *h; h++)
		if (*h != ' ')
			hex[k++] = *h;
	hex[k] = 0;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, hex);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_icmp);
	assert_int_equal(p.l[1].flags & (UMPA_L_BADSUM | UMPA_L_INVALID | UMPA_L_TRUNCATED), 0);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_ip);
	assert_int_equal(p.l[2].off + p.l[2].len <= p.l[1].off + 8 + 128, 1); /* the quote ends before the extension */
	unit_assert_json_has(&p, "\"icmp.ext.version\":2");
	unit_assert_json_has(&p, "\"icmp.ext.checksum\":\"0xc55f\"");
	unit_assert_json_has(&p,
			     "\"icmp.mpls.label\":100704,\"icmp.mpls.exp\":0,\"icmp.mpls.s\":true,\"icmp.mpls.ttl\":1");
	unit_assert_line_has(&p, "ICMP time exceeded in-transit");
	umpa_pkt_release(&p);
	unit_truncate_hex(UMPA_LINKTYPE_RAW, hex);

	/* built: ext= parks the structure until finish puts it after the quote, padded to 128 bytes */
	unit_build_ip(&p, &umpa_proto_ip, "10.5.0.1", "10.0.0.1", &umpa_proto_icmp);
	unit_set(&p, 1, "type", "time-exceeded");
	unit_set(&p, 1, "ext", "mpls=100704:0:1:1");
	{
		unsigned li = unit_push(&p, &umpa_proto_ip);
		struct umpa_pkt q;
		unit_set(&p, li, "src", "10.0.0.1");
		unit_set(&p, li, "dst", "10.0.0.2");
		unit_set(&p, li, "proto", "253");
		unit_push_payload(&p, "probe", 5);
		unit_finish(&p);
		assert_int_equal(p.len, 20 + 8 + 128 + 12);
		assert_int_equal(p.l[2].len, 25); /* the quoted datagram kept its own length */
		unit_dissect(&q, UMPA_LINKTYPE_RAW, p.data, p.len);
		assert_int_equal(q.l[1].flags & (UMPA_L_BADSUM | UMPA_L_INVALID | UMPA_L_TRUNCATED), 0);
		assert_int_equal(unit_get_at(&q, 1, "icmp.length"), 32);
		unit_assert_json_has(&q, "\"icmp.mpls.label\":100704");
		unit_assert_json_has(&q, "\"icmp.ext.checksum\":\"0xc55f\""); /* mpls-traceroute's: the same object */
		umpa_pkt_release(&q);
	}
	umpa_pkt_release(&p);

	/* not version 2 where the structure would start: no extension, the quotation takes everything */
	memcpy(hex + 2 * (20 + 8 + 128), "10", 2);
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, hex);
	unit_assert_json_lacks(&p, "icmp.ext");
	umpa_pkt_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sctp_build),   cmocka_unit_test(test_sctp_dissect),
	    cmocka_unit_test(test_sctp_specs),   cmocka_unit_test(test_sctp_answers),
	    cmocka_unit_test(test_dhcpv6_build), cmocka_unit_test(test_dhcpv6_dissect),
	    cmocka_unit_test(test_ntp),          cmocka_unit_test(test_lldp),
	    cmocka_unit_test(test_mld2),         cmocka_unit_test(test_icmp_ext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
