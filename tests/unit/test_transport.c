/* test_transport.c - UDP and TCP: build, dissect, auto fields, options, matching, tshark.
 *
 * Expected bytes come from Scapy 2.5 (/usr/bin/python3), e.g.
 *   from scapy.all import *; bytes(IP()/TCP()).hex()
 * and real frames from tcpdump's test captures (shared/corpus/tcpdump-tests:
 * dns_tcp.pcap, syslog_udp.pcap) with the values tshark 4.0 shows for them
 * (run with -o tcp.relative_sequence_numbers:FALSE; tshark's tcp.hdr_len is
 * in bytes, ours is the wire data offset in words).
 */
#include <unistd.h>

#include "unit.h"

/* ---- helpers ---- */

/* Dissect @src's bytes again into @dst, as a raw-IP capture would. */
static void redissect(struct umpa_pkt *dst, const struct umpa_pkt *src)
{
	unit_dissect(dst, UMPA_LINKTYPE_RAW, src->data, src->len);
}

/* Index of the first layer of @pr (fails if none). */
static unsigned find(const struct umpa_pkt *p, const struct umpa_proto *pr)
{
	int li = umpa_pkt_find(p, pr, 0);

	if (li < 0)
		fail_msg("no %s layer", pr->name);
	return (unsigned)li;
}

/* ip{src,dst}/l4{} */
static void build4(struct umpa_pkt *p, const struct umpa_proto *l4)
{
	unit_build_ip(p, &umpa_proto_ip, "192.168.1.1", "10.0.0.2", l4);
}

static void build6(struct umpa_pkt *p, const struct umpa_proto *l4)
{
	unit_build_ip(p, &umpa_proto_ipv6, "2001:db8::1", "2001:db8::2", l4);
}

/* ---- frames ---- */

/* Scapy: IP()/TCP() and IP()/UDP() */
#define SCAPY_IP_TCP "450000280001000040067ccd7f0000017f00000100140050000000000000000050022000917c0000"
#define SCAPY_IP_UDP "4500001c0001000040117cce7f0000017f0000010035003500080172"

/* IP(src='192.168.1.1',dst='10.0.0.2')/UDP(sport=1234,dport=5678)/b'hello' */
#define SCAPY_UDP4 "45000021000100004011af20c0a801010a00000204d2162e000dd55668656c6c6f"
/* ... with UDP(len=100): a lying length; checksum as Scapy computes it */
#define SCAPY_UDP4_LIE "45000021000100004011af20c0a801010a00000204d2162e0064d4ff68656c6c6f"
/* ... payload b'\x19\x2f': the sum is 0, sent as 0xffff */
#define SCAPY_UDP4_ZERO "4500001e000100004011af23c0a801010a00000204d2162e000affff192f"
/* IP(src,dst)/TCP(sport=40000,dport=443,seq=0x01020304,ack=0x0a0b0c0d,flags='SA',window=65535,
 *   options=[('MSS',1460),('SAckOK',b''),('Timestamp',(100,0)),('NOP',None),('WScale',7)])/b'data' */
#define SCAPY_TCP4                                                                                                     \
	"45000040000100004006af0cc0a801010a0000029c4001bb010203040a0b0c0da012ffffeb000000020405b40402080a"             \
	"00000064000000000103030764617461"
/* IPv6(src='2001:db8::1',dst='2001:db8::2')/UDP(sport=1234,dport=5678)/b'hello' */
#define SCAPY_UDP6                                                                                                     \
	"60000000000d114020010db800000000000000000000000120010db800000000000000000000000204d2162e000d458d"             \
	"68656c6c6f"
/* IPv6(src,dst)/TCP(sport=40000,dport=443,flags='PA',seq=7,ack=9)/b'data!' */
#define SCAPY_TCP6                                                                                                     \
	"600000000019064020010db800000000000000000000000120010db80000000000000000000000029c4001bb00000007"             \
	"00000009501820009c8400006461746121"

/* dns_tcp.pcap frame 1: SYN with mss, sackOK, TS, nop, wscale */
#define DNS_TCP_SYN                                                                                                    \
	"00112233446600112233445508004500003c9b28400040061376c0a8010bd157f91283f3003523fec80c00000000a002"             \
	"faf00c410000020405b40402080a79e2ca9a0000000001030307"
/* frame 2: SYN+ACK with mss only, 2 bytes of Ethernet padding */
#define DNS_TCP_SYNACK                                                                                                 \
	"00112233445500112233446608004500002c002e00008006ae80d157f912c0a8010b003583f379d2491323fec80d6012"             \
	"faf0dded0000020405b40000"
/* frame 4: a DNS query over TCP (2-byte length prefix + 56 bytes) */
#define DNS_TCP_QUERY                                                                                                  \
	"0011223344660011223344550800450000629b2a40004006134ec0a8010bd157f91283f3003523fec80d79d249145018"             \
	"faf0779600000038431901200001000000000001037777770774637064756d70036f72670000010001000029100000"               \
	"000000000c000a00088f06be7d691442f0"
/* syslog_udp.pcap frame 1 */
#define SYSLOG_UDP                                                                                                     \
	"14cf929138f0b09928c8d64608004500004f78d140004011ad710a0000140a000048b9cd0202003b14a83c353e536570"             \
	"2031322031393a31363a3132207468726f756768206c6f676765723a2074657374206d65737361676520323100"

/* ---- building ---- */

static void test_udp_default(void **state)
{
	struct umpa_pkt p;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_push(&p, &umpa_proto_udp);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_IP_UDP);
	assert_int_equal(unit_get_at(&p, 1, "sport"), 53);
	assert_int_equal(unit_get_at(&p, 1, "dport"), 53);
	assert_int_equal(unit_get_at(&p, 1, "len"), 8);
	assert_int_equal(unit_get_at(&p, 1, "udp.checksum"), 0x0172);
	umpa_pkt_release(&p);
}

static void test_tcp_default(void **state)
{
	struct umpa_pkt p;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_push(&p, &umpa_proto_tcp);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_IP_TCP);
	assert_int_equal(unit_get_at(&p, 1, "sport"), 20);
	assert_int_equal(unit_get_at(&p, 1, "dport"), 80);
	assert_int_equal(unit_get_at(&p, 1, "flags"), 0x002);
	assert_int_equal(unit_get_at(&p, 1, "flags.syn"), 1);
	assert_int_equal(unit_get_at(&p, 1, "flags.ack"), 0);
	assert_int_equal(unit_get_at(&p, 1, "window"), 8192);
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 5);
	assert_int_equal(unit_get_at(&p, 1, "chksum"), 0x917c);
	unit_assert_line(&p, "IP 127.0.0.1.20 > 127.0.0.1.80: Flags [S], seq 0, win 8192, length 0");
	umpa_pkt_release(&p);
}

static void test_field_names(void **state)
{
	(void)state;
	/* short names, Wireshark names and Scapy aliases all find the field */
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "sport"), unit_field(&umpa_proto_tcp, "tcp.srcport"));
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "dport"), unit_field(&umpa_proto_tcp, "dstport"));
	/* dataofs is Scapy's view of tcp.hdr_len's bits, in words: its own (hidden) field */
	assert_int_equal(unit_field(&umpa_proto_tcp, "dataofs")->bitoff,
			 unit_field(&umpa_proto_tcp, "tcp.hdr_len")->bitoff);
	assert_true(unit_field(&umpa_proto_tcp, "dataofs")->flags & UMPA_F_HIDDEN);
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "window"), unit_field(&umpa_proto_tcp, "tcp.window_size_value"));
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "urgptr"), unit_field(&umpa_proto_tcp, "urgent_pointer"));
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "chksum"), unit_field(&umpa_proto_tcp, "tcp.checksum"));
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "seq"), unit_field(&umpa_proto_tcp, "tcp.seq"));
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "flags.syn"), unit_field(&umpa_proto_tcp, "tcp.flags.syn"));
	assert_ptr_equal(unit_field(&umpa_proto_udp, "len"), unit_field(&umpa_proto_udp, "udp.length"));
	assert_ptr_equal(unit_field(&umpa_proto_udp, "chksum"), unit_field(&umpa_proto_udp, "checksum"));
	assert_ptr_equal(unit_field(&umpa_proto_udp, "sport"), &umpa_proto_udp.fields[0]);
	assert_ptr_equal(unit_field(&umpa_proto_udp, "dport"), &umpa_proto_udp.fields[1]);
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "sport"), &umpa_proto_tcp.fields[0]);
	assert_ptr_equal(unit_field(&umpa_proto_tcp, "dport"), &umpa_proto_tcp.fields[1]);
	assert_true(umpa_proto_tcp.pflags & UMPA_PF_PORTS);
	assert_true(umpa_proto_udp.pflags & UMPA_PF_PORTS);
}

static void test_udp4_checksum(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	build4(&p, &umpa_proto_udp);
	unit_set(&p, 1, "sport", "1234");
	unit_set(&p, 1, "dport", "5678");
	unit_push_payload(&p, "hello", 5);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_UDP4);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 17);
	assert_int_equal(unit_get_at(&p, 1, "length"), 13);

	redissect(&d, &p);
	assert_int_equal(d.nlayers, 3);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_udp);
	assert_int_equal(d.l[1].flags, 0);
	assert_int_equal(d.l[1].len, 13);
	assert_int_equal(d.l[1].hlen, 8);
	assert_ptr_equal(d.l[2].proto, &umpa_proto_raw);
	unit_assert_line(&d, "IP 192.168.1.1.1234 > 10.0.0.2.5678: UDP, length 5");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_udp4_zero_checksum(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	build4(&p, &umpa_proto_udp);
	unit_set(&p, 1, "sport", "1234");
	unit_set(&p, 1, "dport", "5678");
	unit_push_payload(&p, "\x19\x2f", 2);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_UDP4_ZERO);
	redissect(&d, &p);
	assert_int_equal(d.l[1].flags & UMPA_L_BADSUM, 0);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_tcp4_options_checksum(void **state)
{
	struct umpa_pkt p, d;
	unsigned t;

	(void)state;
	build4(&p, &umpa_proto_tcp);
	unit_set(&p, 1, "sport", "40000");
	unit_set(&p, 1, "dport", "443");
	unit_set(&p, 1, "seq", "0x01020304");
	unit_set(&p, 1, "ack", "0x0a0b0c0d");
	unit_set(&p, 1, "flags", "SA");
	unit_set(&p, 1, "window", "65535");
	unit_set(&p, 1, "options", "mss=1460,sackok,ts=100:0,nop,wscale=7");
	unit_push_payload(&p, "data", 4);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_TCP4);
	assert_int_equal(unit_get_at(&p, 1, "hdr_len"), 40);
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 10);
	assert_int_equal(p.l[1].hlen, 40);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 6);

	redissect(&d, &p);
	t = find(&d, &umpa_proto_tcp);
	assert_int_equal(d.l[t].flags, 0);
	assert_int_equal(d.l[t].hlen, 40);
	assert_int_equal(unit_get_at(&d, t, "seq"), 0x01020304);
	assert_int_equal(unit_get_at(&d, t, "ack"), 0x0a0b0c0d);
	assert_int_equal(unit_get_at(&d, t, "flags.syn"), 1);
	assert_int_equal(unit_get_at(&d, t, "flags.ack"), 1);
	unit_assert_line(&d, "IP 192.168.1.1.40000 > 10.0.0.2.443: Flags [S.], seq 16909060:16909064, ack 168496141, "
			     "win 65535, options [mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7], length 4");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

/* ---- real frames ---- */

static void test_real_tcp_syn(void **state)
{
	struct umpa_pkt p;
	unsigned t;
	char *s;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, DNS_TCP_SYN);
	t = find(&p, &umpa_proto_tcp);
	assert_int_equal(p.nlayers, t + 1);
	assert_int_equal(p.l[t].flags, 0); /* checksum verifies */
	assert_int_equal(p.l[t].hlen, 40);
	assert_int_equal(unit_get_at(&p, t, "srcport"), 33779);
	assert_int_equal(unit_get_at(&p, t, "dstport"), 53);
	assert_int_equal(unit_get_at(&p, t, "seq"), 603899916);
	assert_int_equal(unit_get_at(&p, t, "ack"), 0);
	assert_int_equal(unit_get_at(&p, t, "hdr_len"), 40); /* tshark: tcp.hdr_len 40 */
	assert_int_equal(unit_get_at(&p, t, "flags"), 0x002);
	assert_int_equal(unit_get_at(&p, t, "window_size_value"), 64240);
	assert_int_equal(unit_get_at(&p, t, "checksum"), 0x0c41);
	assert_int_equal(unit_get_at(&p, t, "urgent_pointer"), 0);
	unit_assert_line(&p, "IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [S], seq 603899916, win 64240, "
			     "options [mss 1460,sackOK,TS val 2044906138 ecr 0,nop,wscale 7], length 0");
	s = unit_json(&p);
	unit_assert_contains(s, "\"tcp.options\":\"02:04:05:b4:04:02:08:0a:79:e2:ca:9a:00:00:00:00:01:03:03:07\"");
	unit_assert_contains(s, "\"tcp.options.mss_val\":1460");
	unit_assert_contains(s, "\"tcp.options.wscale.shift\":7");
	unit_assert_contains(s, "\"tcp.options.wscale.multiplier\":128");
	unit_assert_contains(s, "\"tcp.options.timestamp.tsval\":2044906138");
	unit_assert_contains(s, "\"tcp.options.timestamp.tsecr\":0");
	unit_assert_contains(s, "\"tcp.option_kind\":4");
	unit_assert_contains(s, "\"tcp.len\":0");
	unit_assert_contains(s, "\"tcp.flags.syn\":true");
	free(s);
	s = unit_tree(&p);
	unit_assert_contains(s, "TCP Option - Maximum segment size: 1460 bytes");
	unit_assert_contains(s, "TCP Option - Window scale: 7 (multiply by 128)");
	unit_assert_contains(s, "TCP Option - Timestamps: TSval 2044906138, TSecr 0");
	unit_assert_contains(s, "tcp.option_kind: 2 (Maximum Segment Size)");
	free(s);
	umpa_pkt_release(&p);
}

static void test_real_tcp_synack_padding(void **state)
{
	struct umpa_pkt p;
	unsigned t;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, DNS_TCP_SYNACK);
	t = find(&p, &umpa_proto_tcp);
	assert_int_equal(p.l[t].flags, 0);
	assert_int_equal(p.l[t].len, 24); /* IP total length bounds it: no Ethernet padding */
	assert_int_equal(p.l[t].hlen, 24);
	assert_int_equal(unit_get_at(&p, t, "flags"), 0x012);
	assert_int_equal(unit_get_at(&p, t, "ack"), 603899917);
	assert_int_equal(unit_get_at(&p, t, "checksum"), 0xdded);
	unit_assert_line(&p, "IP 209.87.249.18.53 > 192.168.1.11.33779: Flags [S.], seq 2043824403, ack 603899917, "
			     "win 64240, options [mss 1460], length 0");
	umpa_pkt_release(&p);
}

static void test_real_dns_over_tcp(void **state)
{
	struct umpa_pkt p;
	unsigned t;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, DNS_TCP_QUERY);
	t = find(&p, &umpa_proto_tcp);
	assert_int_equal(p.l[t].flags, 0);
	assert_int_equal(unit_get_at(&p, t, "flags"), 0x018);
	assert_int_equal(unit_get_at(&p, t, "seq"), 603899917);
	assert_int_equal(unit_get_at(&p, t, "ack"), 2043824404);
	assert_int_equal(unit_get_at(&p, t, "checksum"), 0x7796);
	assert_true(p.nlayers > t + 1);
	assert_ptr_equal(p.l[t + 1].proto, &umpa_proto_dns); /* port 53, >= 14 bytes */
	/* tcpdump -nn -S prints exactly this; the DNS layer appends its part */
	unit_assert_line(&p, "IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [P.], seq 603899917:603899975, "
			     "ack 2043824404, win 64240, length 58 17177+ [1au] A? www.tcpdump.org. (56)");
	unit_assert_json_has(&p, "\"tcp.len\":58");
	umpa_pkt_release(&p);

	/* fewer than 14 bytes to port 53 cannot be a prefixed DNS message: raw */
	{
		struct umpa_pkt b;
		build4(&b, &umpa_proto_tcp);
		unit_set(&b, 1, "dport", "53");
		unit_set(&b, 1, "flags", "PA");
		unit_push_payload(&b,
				  "\x00\x0b"
				  "0123456789a",
				  13);
		unit_finish(&b);
		redissect(&p, &b);
		assert_int_equal(p.nlayers, 3);
		assert_ptr_equal(p.l[2].proto, &umpa_proto_raw);
		umpa_pkt_release(&p);
		umpa_pkt_release(&b);
	}
}

/* dns_udp.pcap frame 1: UDP prints nothing when DNS follows, as tcpdump */
#define DNS_UDP_QUERY                                                                                                  \
	"00112233446600112233445508004500005459cd0000401194aec0a8010bd157f912abbe003500407824593401200001"             \
	"000000000001037777770774637064756d70036f72670000010001000029100000000000000c000a000842f5d00996f9"             \
	"0b13"

static void test_real_dns_over_udp(void **state)
{
	struct umpa_pkt p;
	unsigned u;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, DNS_UDP_QUERY);
	u = find(&p, &umpa_proto_udp);
	assert_int_equal(p.l[u].flags, 0);
	assert_int_equal(unit_get_at(&p, u, "length"), 64);
	assert_int_equal(unit_get_at(&p, u, "checksum"), 0x7824);
	assert_ptr_equal(p.l[u + 1].proto, &umpa_proto_dns);
	unit_assert_line(&p, "IP 192.168.1.11.43966 > 209.87.249.18.53: 22836+ [1au] A? www.tcpdump.org. (56)");
	umpa_pkt_release(&p);
}

static void test_real_udp_syslog(void **state)
{
	struct umpa_pkt p;
	unsigned u;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_ETHERNET, SYSLOG_UDP);
	u = find(&p, &umpa_proto_udp);
	/* sent with checksum offload: tshark -o udp.check_checksum:TRUE says
	 * "0x14a8 incorrect, should be 0x8d5a"; 0x14a8 is the partial pseudo-header
	 * sum Linux leaves for the NIC: unverified, bad only when verified strictly */
	assert_int_equal(p.l[u].flags, UMPA_L_CSUM_PARTIAL);
	{ /* captured live: not verified at all */
		struct umpa_pkt q;
		unit_dissect_hex(&q, UMPA_LINKTYPE_ETHERNET, SYSLOG_UDP);
		umpa_pkt_csum_policy(&q, UMPA_CSUM_LIVE);
		assert_int_equal(q.l[u].flags, UMPA_L_CSUM_UNVERIFIED);
		umpa_pkt_release(&q);
	}
	umpa_pkt_csum_policy(&p, UMPA_CSUM_STRICT);
	assert_int_equal(p.l[u].flags, UMPA_L_BADSUM);
	assert_int_equal(unit_get_at(&p, u, "srcport"), 47565);
	assert_int_equal(unit_get_at(&p, u, "dstport"), 514);
	assert_int_equal(unit_get_at(&p, u, "length"), 59);
	assert_int_equal(unit_get_at(&p, u, "checksum"), 0x14a8);
	assert_int_equal(p.l[u].len, 59);
	assert_ptr_equal(p.l[u + 1].proto, &umpa_proto_raw);
	assert_int_equal(p.l[u + 1].len, 51);
	unit_assert_line(&p, "IP 10.0.0.20.47565 > 10.0.0.72.514: UDP, length 51 [bad udp checksum]");
	unit_assert_json_has(&p, "\"udp.checksum\":\"0x14a8\"");
	/* with the right checksum it verifies */
	p.data[14 + 20 + 6] = 0x8d;
	p.data[14 + 20 + 7] = 0x5a;
	umpa_dissect(&p);
	assert_int_equal(p.l[u].flags, 0);
	umpa_pkt_release(&p);
}

/* ---- auto fields and overrides ---- */

static void test_auto_fields(void **state)
{
	struct umpa_pkt p;

	(void)state;
	build4(&p, &umpa_proto_tcp);
	unit_set(&p, 1, "options", "mss=536");
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 6); /* set_var keeps the data offset in step */
	unit_push_payload(&p, "0123456789", 10);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "len"), 20 + 24 + 10);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 6);
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 6);
	/* removing the options shrinks the header again */
	unit_set(&p, 1, "options", "");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 5);
	assert_int_equal(unit_get_at(&p, 0, "len"), 20 + 20 + 10);
	umpa_pkt_release(&p);

	/* no IP below: checksum left alone (0) as Scapy does; length still computed */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_udp);
	unit_push_payload(&p, "abc", 3);
	unit_finish(&p);
	unit_assert_bytes(&p, "0035003500 0b0000 616263");
	umpa_pkt_release(&p);
}

static void test_overrides_kept(void **state)
{
	struct umpa_pkt p, d;
	unsigned t;

	(void)state;
	/* a lying udp.length survives finish; the checksum is Scapy's */
	build4(&p, &umpa_proto_udp);
	unit_set(&p, 1, "sport", "1234");
	unit_set(&p, 1, "dport", "5678");
	unit_set(&p, 1, "len", "100");
	unit_push_payload(&p, "hello", 5);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_UDP4_LIE);
	/* ... and is flagged INVALID (the capture is whole) when read back */
	redissect(&d, &p);
	assert_true(d.l[1].flags & UMPA_L_INVALID);
	assert_false(d.l[1].flags & UMPA_L_TRUNCATED);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* a wrong checksum set on purpose goes on the wire, and reads back as bad */
	build4(&p, &umpa_proto_udp);
	unit_set(&p, 1, "chksum", "0x1234");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 1, "chksum"), 0x1234);
	redissect(&d, &p);
	assert_true(d.l[1].flags & UMPA_L_BADSUM);
	assert_false(d.l[1].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED));
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* tcp: checksum 0 and a data offset that lies */
	build4(&p, &umpa_proto_tcp);
	unit_set(&p, 1, "checksum", "0");
	unit_set(&p, 1, "dataofs", "6");
	unit_push_payload(&p, "\x02\x04\x05\xb4", 4);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 1, "checksum"), 0);
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 6);
	redissect(&d, &p);
	t = find(&d, &umpa_proto_tcp);
	assert_true(d.l[t].flags & UMPA_L_BADSUM);
	assert_int_equal(d.l[t].hlen, 24); /* the payload became an MSS option */
	unit_assert_json_has(&d, "\"tcp.options.mss_val\":1460");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* a dissected packet keeps everything (set = all); unset recomputes */
	build4(&p, &umpa_proto_tcp);
	unit_finish(&p);
	redissect(&d, &p);
	t = find(&d, &umpa_proto_tcp);
	unit_set(&d, t, "window", "1");
	unit_finish(&d);
	assert_int_equal(unit_get_at(&d, t, "checksum"), unit_get_at(&p, 1, "checksum")); /* stale, kept */
	umpa_field_unset(&d, t, unit_field(&umpa_proto_tcp, "checksum"));
	unit_finish(&d);
	assert_int_not_equal(unit_get_at(&d, t, "checksum"), unit_get_at(&p, 1, "checksum"));
	{
		struct umpa_pkt d2;
		redissect(&d2, &d);
		assert_int_equal(d2.l[t].flags & UMPA_L_BADSUM, 0);
		umpa_pkt_release(&d2);
	}
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

/* ---- short and lying headers ---- */

static void test_truncate_all(void **state)
{
	uint8_t b[512];
	size_t n;
	struct umpa_pkt p;

	(void)state;
	n = unit_hex(DNS_TCP_SYN, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_ETHERNET, b, n);
	n = unit_hex(DNS_TCP_QUERY, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_ETHERNET, b, n);
	n = unit_hex(SYSLOG_UDP, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_ETHERNET, b, n);
	n = unit_hex(SCAPY_TCP4, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_RAW, b, n);
	n = unit_hex(SCAPY_UDP6, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_RAW, b, n);

	/* a capture cut inside the TCP options: TRUNCATED, not INVALID */
	n = unit_hex(SCAPY_TCP4, b, sizeof(b));
	for (size_t k = 20 + 21; k < 20 + 40; k++) {
		umpa_pkt_init(&p);
		assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)k, NULL), 0);
		p.wirelen = (uint32_t)n;
		p.linktype = UMPA_LINKTYPE_RAW;
		umpa_dissect(&p);
		assert_int_equal(p.nlayers, 2);
		assert_true(p.l[1].flags & UMPA_L_TRUNCATED);
		assert_false(p.l[1].flags & UMPA_L_INVALID);
		{
			char *s = unit_line(&p);
			free(s);
		}
		umpa_pkt_release(&p);
	}
	/* a capture cut inside the UDP payload: TRUNCATED */
	n = unit_hex(SCAPY_UDP4, b, sizeof(b));
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)n - 2, NULL), 0);
	p.wirelen = (uint32_t)n;
	p.linktype = UMPA_LINKTYPE_RAW;
	umpa_dissect(&p);
	assert_true(p.nlayers >= 2);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_udp);
	assert_false(p.l[1].flags & (UMPA_L_INVALID | UMPA_L_BADSUM));
	umpa_pkt_release(&p);
}

static void test_udp_invalid_length(void **state)
{
	struct umpa_pkt p;
	uint8_t b[64];
	size_t n;

	(void)state;
	/* udp.length 4 < 8 */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, "4500001c0001000040117cce7f0000017f000001 0035 0035 0004 0000");
	assert_ptr_equal(p.l[1].proto, &umpa_proto_udp);
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[1].why, "udp length < 8");
	unit_assert_line(&p, "IP 127.0.0.1.53 > 127.0.0.1.53: UDP, bad length 4 [invalid udp: udp length < 8]");
	umpa_pkt_release(&p);

	/* udp.length 200 beyond the IP payload, whole capture: INVALID */
	n = unit_hex("4500001c0001000040117cce7f0000017f000001 0035 0035 00c8 0000", b, sizeof(b));
	unit_dissect(&p, UMPA_LINKTYPE_RAW, b, n);
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_false(p.l[1].flags & UMPA_L_TRUNCATED);
	umpa_pkt_release(&p);

	/* shorter than its own length because the capture cut it: TRUNCATED */
	n = unit_hex(SCAPY_UDP4, b, sizeof(b));
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, b, 30, NULL), 0);
	p.wirelen = (uint32_t)n;
	p.linktype = UMPA_LINKTYPE_RAW;
	umpa_dissect(&p);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_udp);
	assert_false(p.l[1].flags & UMPA_L_INVALID);
	umpa_pkt_release(&p);
}

static void test_first_fragment(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	/* the first fragment of a bigger datagram: its length runs past the
	 * fragment and its checksum covers bytes not here; neither is an error */
	build4(&p, &umpa_proto_udp);
	unit_set(&p, 0, "flags.mf", "1");
	unit_set(&p, 1, "len", "1000");
	unit_set(&p, 1, "chksum", "0x1234");
	unit_push_payload(&p, "01234567", 8);
	unit_finish(&p);
	redissect(&d, &p);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_udp);
	assert_int_equal(d.l[1].flags, 0);
	assert_int_equal(d.l[1].len, 16);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	build4(&p, &umpa_proto_tcp);
	unit_set(&p, 0, "flags.mf", "1");
	unit_set(&p, 1, "chksum", "0x1234");
	unit_push_payload(&p, "01234567", 8);
	unit_finish(&p);
	redissect(&d, &p);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_tcp);
	assert_int_equal(d.l[1].flags, 0);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_tcp_invalid_offset(void **state)
{
	struct umpa_pkt p;
	uint8_t b[128];
	size_t n;

	(void)state;
	/* data offset 4 */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "450000280001000040067ccd7f0000017f000001 00140050000000000000000040022000917c0000");
	assert_ptr_equal(p.l[1].proto, &umpa_proto_tcp);
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[1].why, "tcp data offset < 5");
	assert_int_equal(p.l[1].hlen, 20);
	umpa_pkt_release(&p);

	/* data offset 15 but only 20 bytes, whole capture: INVALID */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "450000280001000040067ccd7f0000017f000001 001400500000000000000000f0022000917c0000");
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_false(p.l[1].flags & UMPA_L_TRUNCATED);
	assert_true(p.l[1].hlen <= p.l[1].len);
	umpa_pkt_release(&p);

	/* the same, but the capture was cut: TRUNCATED */
	n = unit_hex("450000400001000040067ccd7f0000017f000001 001400500000000000000000f0022000917c0000", b, sizeof(b));
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)n, NULL), 0);
	p.wirelen = 20 + 60 - 16;
	p.linktype = UMPA_LINKTYPE_RAW;
	umpa_dissect(&p);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_tcp);
	assert_true(p.l[1].flags & UMPA_L_TRUNCATED);
	assert_false(p.l[1].flags & UMPA_L_INVALID);
	umpa_pkt_release(&p);
}

static void test_malformed_options(void **state)
{
	struct umpa_pkt p;

	(void)state;
	/* option kind 2 with length 1 (< 2) */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500002c0001000040067cc97f0000017f000001 00140050000000000000000060022000917c0000"
			 "02010000");
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[1].why, "tcp option overruns header");
	assert_int_equal(p.l[1].hlen, 24);
	unit_assert_line_has(&p, "options [[bad opt]]");
	unit_assert_json_has(&p, "tcp.option.len.invalid");
	umpa_pkt_release(&p);

	/* a timestamp (length 10) in a 4-byte option area, payload after it */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "450000300001000040067cc57f0000017f000001 00140050000000000000000060022000917c0000"
			 "010108 0a 41424344");
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[1].why, "tcp option overruns header");
	assert_int_equal(p.l[1].hlen, 24);
	assert_int_equal(p.nlayers, 3); /* the data offset is sound: the payload is kept */
	assert_ptr_equal(p.l[2].proto, &umpa_proto_raw);
	assert_int_equal(p.l[2].len, 4);
	unit_assert_line_has(&p, "options [nop,nop,[bad opt]], length 4");
	umpa_pkt_release(&p);

	/* the length byte itself missing from the header: kind 3 is the last byte */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500002c0001000040067cc97f0000017f000001 00140050000000000000000060022000917c0000"
			 "01010103");
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[1].why, "tcp option overruns header");
	umpa_pkt_release(&p);

	/* an MSS option of length 3: wrong for its kind */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500002c0001000040067cc97f0000017f000001 00140050000000000000000060022000917c0000"
			 "02030500");
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[1].why, "tcp option length wrong for its kind");
	unit_assert_line_has(&p, "options [mss [bad opt],eol]");
	umpa_pkt_release(&p);

	/* padding after EOL is not parsed as options */
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW,
			 "4500002c0001000040067cc97f0000017f000001 00140050000000000000000060022000917c0000"
			 "0001ffff");
	assert_int_equal(p.l[1].flags & UMPA_L_INVALID, 0);
	umpa_pkt_release(&p);
}

/* ---- options ---- */

static void test_options_roundtrip(void **state)
{
	struct umpa_pkt p, d;
	unsigned t;
	char *s;

	(void)state;
	build4(&p, &umpa_proto_tcp);
	{
		/* errors first: 4+1+3+2+10+18 = 38 bytes, plus 4 more is over 40 */
		struct umpa_err e = {0};
		const struct umpa_field *f = unit_field(&umpa_proto_tcp, "options");
		assert_true(
		    umpa_field_set_str(&p, 1, f, "mss=1460,nop,wscale=7,sackok,ts=1:2,sack=1-2:3-4,34=0102", &e) < 0);
		unit_assert_contains(e.msg, "40");
		assert_true(umpa_field_set_str(&p, 1, f, "mss=70000", &e) < 0);
		assert_true(umpa_field_set_str(&p, 1, f, "bogus", &e) < 0);
		unit_assert_contains(e.msg, "mss=N");
		assert_true(umpa_field_set_str(&p, 1, f, "sack=1-2:3-4:5-6:7-8:9-10", &e) < 0);
		assert_true(umpa_field_set_str(&p, 1, f, "sack=12", &e) < 0);
		assert_true(umpa_field_set_str(&p, 1, f, "34=abc", &e) < 0);
		assert_true(umpa_field_set_str(&p, 1, f, "nop=1", &e) < 0);
		assert_int_equal(p.l[1].hlen, 20); /* failures leave the header alone */
	}
	unit_set(&p, 1, "options", "mss=1460, nop,wscale=7,sackok,ts=100:0x10,sack=100-200:300-400");
	unit_finish(&p);
	assert_int_equal(p.l[1].hlen, 60); /* 20 + 38 + 2 bytes of zero padding */
	assert_memory_equal(p.data + 20 + 20,
			    "\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x08\x0a\x00\x00\x00\x64\x00\x00\x00\x10"
			    "\x05\x12\x00\x00\x00\x64\x00\x00\x00\xc8\x00\x00\x01\x2c\x00\x00\x01\x90\x00\x00",
			    40);
	redissect(&d, &p);
	t = find(&d, &umpa_proto_tcp);
	assert_int_equal(d.l[t].flags, 0);
	s = unit_json(&d);
	unit_assert_contains(s, "\"tcp.options.mss_val\":1460");
	unit_assert_contains(s, "\"tcp.options.wscale.shift\":7");
	unit_assert_contains(s, "\"tcp.options.timestamp.tsval\":100");
	unit_assert_contains(s, "\"tcp.options.timestamp.tsecr\":16");
	/* repeated keys are one array each, so jq can address them */
	unit_assert_contains(s, "\"tcp.options.sack_le\":[100,300],\"tcp.options.sack_re\":[200,400]");
	unit_assert_contains(s, "\"tcp.options.sack.count\":2");
	free(s);
	unit_assert_line(&d, "IP 192.168.1.1.20 > 10.0.0.2.80: Flags [S], seq 0, win 8192, options [mss 1460,nop,"
			     "wscale 7,sackOK,TS val 100 ecr 16,sack 2 {100:200}{300:400},eol], length 0");
	umpa_pkt_release(&d);

	/* unknown kinds and raw bytes; Scapy pads with zeros too */
	unit_set(&p, 1, "options", "34=0102,99,nop,0");
	unit_finish(&p);
	assert_int_equal(p.l[1].hlen, 28);
	assert_memory_equal(p.data + 40, "\x22\x04\x01\x02\x63\x02\x01\x00", 8);
	redissect(&d, &p);
	t = find(&d, &umpa_proto_tcp);
	assert_int_equal(d.l[t].flags, 0);
	unit_assert_json_has(&d, "\"tcp.options.tfo.cookie\":\"01:02\"");
	unit_assert_json_has(&d, "\"tcp.option_kind\":99,\"tcp.option_kind_name\":\"Unknown\"");
	unit_assert_line(&d, "IP 192.168.1.1.20 > 10.0.0.2.80: Flags [S], seq 0, win 8192, "
			     "options [tfo 0x0102,unknown-99,nop,eol], length 0");
	umpa_pkt_release(&d);

	/* exactly 40 bytes, no padding needed */
	unit_set(&p, 1, "options", "ts=1:2,ts=3:4,ts=5:6,ts=7:8");
	unit_finish(&p);
	assert_int_equal(p.l[1].hlen, 60);
	assert_int_equal(unit_get_at(&p, 1, "dataofs"), 15);
	umpa_pkt_release(&p);
}

/* ---- matching ---- */

static void mk_tcp(struct umpa_pkt *p, const char *sport, const char *dport, const char *flags, const char *seq,
		   const char *ack, const char *payload)
{
	build4(p, &umpa_proto_tcp);
	unit_set(p, 1, "sport", sport);
	unit_set(p, 1, "dport", dport);
	unit_set(p, 1, "flags", flags);
	unit_set(p, 1, "seq", seq);
	unit_set(p, 1, "ack", ack);
	if (payload)
		unit_push_payload(p, payload, strlen(payload));
	unit_finish(p);
}

static int tcp_ans(const struct umpa_pkt *r, const struct umpa_pkt *q, char *why, size_t n)
{
	why[0] = 0;
	return umpa_proto_tcp.answers(r, 1, q, 1, why, n);
}

static void test_tcp_answers(void **state)
{
	struct umpa_pkt q, r;
	char why[96];

	(void)state;
	mk_tcp(&q, "40000", "80", "S", "1000", "0", NULL);
	mk_tcp(&r, "80", "40000", "SA", "5000", "1001", NULL);
	assert_int_equal(umpa_proto_tcp.hashret(&q, 1), umpa_proto_tcp.hashret(&r, 1));
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 1);
	assert_int_equal(tcp_ans(&q, &r, why, sizeof(why)), 0); /* a SYN answers nothing */
	umpa_pkt_release(&r);

	mk_tcp(&r, "80", "40000", "SA", "5000", "1002", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 0);
	assert_string_equal(why, "tcp.ack off by 1");
	umpa_pkt_release(&r);

	mk_tcp(&r, "80", "40000", "RA", "0", "1001", NULL); /* closed port */
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 1);
	umpa_pkt_release(&r);

	mk_tcp(&r, "81", "40000", "SA", "5000", "1001", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 0);
	unit_assert_contains(why, "ports");
	umpa_pkt_release(&r);
	umpa_pkt_release(&q);

	/* data: the ack covers the payload; the reply's seq is the request's ack */
	mk_tcp(&q, "40000", "80", "PA", "1001", "5001", "GET / HTTP/1.0\r\n\r\n");
	mk_tcp(&r, "80", "40000", "A", "5001", "1019", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 1);
	umpa_pkt_release(&r);
	mk_tcp(&r, "80", "40000", "A", "5001", "1020", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 0);
	assert_string_equal(why, "tcp.ack off by 1");
	umpa_pkt_release(&r);
	mk_tcp(&r, "80", "40000", "A", "6000", "1019", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 0);
	assert_string_equal(why, "tcp.seq off by 999");
	umpa_pkt_release(&r);
	mk_tcp(&r, "80", "40000", "SA", "5001", "1019", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 0); /* SYN+ACK answers only a SYN */
	umpa_pkt_release(&r);
	umpa_pkt_release(&q);

	/* FIN counts one; sequence numbers wrap */
	mk_tcp(&q, "40000", "80", "FA", "4294967295", "7", NULL);
	mk_tcp(&r, "80", "40000", "A", "7", "0", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 1);
	umpa_pkt_release(&r);
	umpa_pkt_release(&q);

	/* nothing answers a RST */
	mk_tcp(&q, "40000", "80", "R", "1", "0", NULL);
	mk_tcp(&r, "80", "40000", "RA", "0", "1", NULL);
	assert_int_equal(tcp_ans(&r, &q, why, sizeof(why)), 0);
	umpa_pkt_release(&r);
	umpa_pkt_release(&q);
}

static void test_udp_answers(void **state)
{
	struct umpa_pkt q, r;
	char why[96];

	(void)state;
	build4(&q, &umpa_proto_udp);
	unit_set(&q, 1, "sport", "33000");
	unit_finish(&q);
	build4(&r, &umpa_proto_udp);
	unit_set(&r, 1, "dport", "33000");
	unit_finish(&r);
	assert_int_equal(umpa_proto_udp.hashret(&q, 1), umpa_proto_udp.hashret(&r, 1));
	assert_int_equal(umpa_proto_udp.answers(&r, 1, &q, 1, why, sizeof(why)), 1);
	unit_set(&r, 1, "sport", "54");
	assert_int_equal(umpa_proto_udp.answers(&r, 1, &q, 1, why, sizeof(why)), 0);
	unit_assert_contains(why, "ports");
	umpa_pkt_release(&r);
	umpa_pkt_release(&q);
}

/* ---- IPv6 (the IPv6 layer is another file: tested last) ---- */

static void test_udp6_checksum(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	build6(&p, &umpa_proto_udp);
	unit_set(&p, 1, "sport", "1234");
	unit_set(&p, 1, "dport", "5678");
	unit_push_payload(&p, "hello", 5);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_UDP6);
	redissect(&d, &p);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_udp);
	assert_int_equal(d.l[1].flags, 0);
	umpa_pkt_release(&d);

	/* a zero checksum is forbidden over IPv6 */
	unit_set(&p, 1, "chksum", "0");
	redissect(&d, &p);
	assert_true(d.l[1].flags & UMPA_L_BADSUM);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_tcp6_checksum(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	build6(&p, &umpa_proto_tcp);
	unit_set(&p, 1, "sport", "40000");
	unit_set(&p, 1, "dport", "443");
	unit_set(&p, 1, "flags", "PA");
	unit_set(&p, 1, "seq", "7");
	unit_set(&p, 1, "ack", "9");
	unit_push_payload(&p, "data!", 5);
	unit_finish(&p);
	unit_assert_bytes(&p, SCAPY_TCP6);
	redissect(&d, &p);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_tcp);
	assert_int_equal(d.l[1].flags, 0);
	unit_assert_line_has(&d, "Flags [P.], seq 7:12, ack 9, win 8192, length 5");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

/* ---- tshark reads what we build ---- */

static void test_tshark_clean(void **state)
{
	struct umpa_pkt pk[8];
	unsigned n = 0;

	(void)state;
	if (!unit_have_tshark())
		skip();
	build4(&pk[n], &umpa_proto_tcp);
	unit_finish(&pk[n++]);
	build4(&pk[n], &umpa_proto_tcp);
	unit_set(&pk[n], 1, "flags", "SA");
	unit_set(&pk[n], 1, "ack", "1");
	unit_set(&pk[n], 1, "options", "mss=1460,sackok,ts=100:0,nop,wscale=7");
	unit_finish(&pk[n++]);
	build4(&pk[n], &umpa_proto_tcp);
	unit_set(&pk[n], 1, "flags", "PA");
	unit_set(&pk[n], 1, "options", "nop,nop,ts=5:6,sack=1-2");
	unit_push_payload(&pk[n], "hello, world", 12);
	unit_finish(&pk[n++]);
	build4(&pk[n], &umpa_proto_udp);
	unit_set(&pk[n], 1, "sport", "1234");
	unit_set(&pk[n], 1, "dport", "5678");
	unit_push_payload(&pk[n], "hello", 5);
	unit_finish(&pk[n++]);
	build4(&pk[n], &umpa_proto_udp);
	unit_set(&pk[n], 1, "sport", "1234");
	unit_set(&pk[n], 1, "dport", "5678");
	unit_push_payload(&pk[n], "\x19\x2f", 2); /* checksum 0xffff */
	unit_finish(&pk[n++]);
	build6(&pk[n], &umpa_proto_udp);
	unit_set(&pk[n], 1, "sport", "1234");
	unit_set(&pk[n], 1, "dport", "5678");
	unit_push_payload(&pk[n], "hello", 5);
	unit_finish(&pk[n++]);
	build6(&pk[n], &umpa_proto_tcp);
	unit_set(&pk[n], 1, "flags", "A");
	unit_set(&pk[n], 1, "options", "ts=1:2");
	unit_push_payload(&pk[n], "data!", 5);
	unit_finish(&pk[n++]);

	unit_tshark_pkts(UMPA_LINKTYPE_RAW, pk, n,
			 "-o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE "
			 "-o tcp.analyze_sequence_numbers:FALSE -o tcp.relative_sequence_numbers:FALSE",
			 NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_names),        cmocka_unit_test(test_udp_default),
	    cmocka_unit_test(test_tcp_default),        cmocka_unit_test(test_udp4_checksum),
	    cmocka_unit_test(test_udp4_zero_checksum), cmocka_unit_test(test_tcp4_options_checksum),
	    cmocka_unit_test(test_real_tcp_syn),       cmocka_unit_test(test_real_tcp_synack_padding),
	    cmocka_unit_test(test_real_dns_over_tcp),  cmocka_unit_test(test_real_dns_over_udp),
	    cmocka_unit_test(test_real_udp_syslog),    cmocka_unit_test(test_auto_fields),
	    cmocka_unit_test(test_overrides_kept),     cmocka_unit_test(test_truncate_all),
	    cmocka_unit_test(test_udp_invalid_length), cmocka_unit_test(test_first_fragment),
	    cmocka_unit_test(test_tcp_invalid_offset), cmocka_unit_test(test_malformed_options),
	    cmocka_unit_test(test_options_roundtrip),  cmocka_unit_test(test_tcp_answers),
	    cmocka_unit_test(test_udp_answers),        cmocka_unit_test(test_udp6_checksum),
	    cmocka_unit_test(test_tcp6_checksum),      cmocka_unit_test(test_tshark_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
