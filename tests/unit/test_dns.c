/* test_dns.c - DNS: building against Scapy's bytes, dissecting real frames, hostile names and counts. */
#include "unit.h"

/* dns_udp.pcap frame 2 (tcpdump tests): a response with compression pointers, NS, A, AAAA, OPT. */
static const char resp_hex[] =
    "593485000001000200020005037777770774637064756d70036f72670000010001c00c000100010000003c0004c08b2e42"
    "c00c000100010000003c0004c6c75868c0100002000100015180001203736e7308636f6f7065726978036e657400c010"
    "00020001000151800012036e69630973616e64656c6d616e02636100c06b000100010000012c0004d157f912c06b001c00"
    "010000012c00102607f0b0000f000000000000babef00dc04d0001000100001c200004616b850fc04d001c000100001c20"
    "001026003c0300000000f03c91fffe96e8ef0000291000000000000000";
/* dns_udp.pcap frame 1: the query, EDNS0 with a client cookie. */
static const char query_hex[] =
    "593401200001000000000001037777770774637064756d70036f72670000010001000029100000000000000c000a000842f5"
    "d00996f90b13";
/* The same response as a whole Ethernet frame. */
static const char frame_hex[] =
    "0011223344550011223344660800450000fc002d00008011ada6d157f912c0a8010b0035abbe00e8c454"
    "593485000001"
    "000200020005037777770774637064756d70036f72670000010001c00c000100010000003c0004c08b2e42c00c00010001"
    "0000003c0004c6c75868c0100002000100015180001203736e7308636f6f7065726978036e657400c01000020001000151"
    "800012036e69630973616e64656c6d616e02636100c06b000100010000012c0004d157f912c06b001c00010000012c0010"
    "2607f0b0000f000000000000babef00dc04d0001000100001c200004616b850fc04d001c000100001c20001026003c0300"
    "000000f03c91fffe96e8ef0000291000000000000000";
/* dns_tcp.pcap frames 4 and 6: TCP payloads with the 2-byte length prefix. */
static const char tcp_query_hex[] =
    "0038431901200001000000000001037777770774637064756d70036f72670000010001000029100000000000000c000a0008"
    "8f06be7d691442f0";
static const char tcp_resp_hex[] =
    "00e0431985000001000200020005037777770774637064756d70036f72670000010001c00c000100010000003c0004c08b2e"
    "42c00c000100010000003c0004c6c75868c01000020001000151800012036e69630973616e64656c6d616e02636100c010"
    "0002000100015180001203736e7308636f6f7065726978036e657400c04d000100010000012c0004d157f912c04d001c00"
    "010000012c00102607f0b0000f000000000000babef00dc06b0001000100001c200004616b850fc06b001c000100001c20"
    "001026003c0300000000f03c91fffe96e8ef0000291000000000000000";

/* Scapy 2.5 references (/usr/bin/python3 -c "from scapy.all import *; print(bytes(...).hex())"). */
/* DNS(rd=1,qd=DNSQR(qname='example.com')) */
static const char scapy_query[] = "000001000001000000000000076578616d706c6503636f6d0000010001";
/* DNS(id=0x1234,qr=1,aa=1,rd=1,ra=1,qd=DNSQR(qname='example.com'),an=A 300 / AAAA 60 / CNAME 7200 /
 * DNSRRMX(type='MX',ttl=3600,preference=10,exchange='mail.example.com') / TXT 5 'hello world') */
static const char scapy_resp[] =
    "123485800001000500000000076578616d706c6503636f6d0000010001076578616d706c6503636f6d00000100010000012c"
    "00045db8d822076578616d706c6503636f6d00001c00010000003c001020010db8000000000000000000000001037777770765"
    "78616d706c6503636f6d000005000100001c20000d076578616d706c6503636f6d00076578616d706c6503636f6d00000f00"
    "0100000e100014000a046d61696c076578616d706c6503636f6d00076578616d706c6503636f6d00001000010000000500"
    "0c0b68656c6c6f20776f726c64";
/* DNS(id=0xbeef,qd=DNSQR(qname='example.com'),ar=DNSRROPT(rclass=1232,z=0x8000)) */
static const char scapy_edns[] = "beef01000001000000000001076578616d706c6503636f6d000001000100002904d0000080000000";

/* ---- helpers ---- */

/* Dissect @n bytes as a lone DNS message (the capture holds @wire bytes). */
static void dns_only(struct umpa_pkt *p, const uint8_t *b, size_t n, size_t wire)
{
	umpa_pkt_init(p);
	assert_int_equal(umpa_pkt_copy_from(p, b, (uint32_t)n, NULL), 0);
	p->wirelen = (uint32_t)wire;
	umpa_dissect_from(p, 0, &umpa_proto_dns, 0, (uint32_t)n);
}

static void dns_only_hex(struct umpa_pkt *p, const char *hex)
{
	uint8_t b[4096];
	size_t n = unit_hex(hex, b, sizeof(b));

	dns_only(p, b, n, n);
}

/* A fresh packet holding one DNS layer. */
static unsigned new_dns(struct umpa_pkt *p)
{
	umpa_pkt_init(p);
	return unit_push(p, &umpa_proto_dns);
}

/* Set a field and expect failure; the bytes must not change. */
static void set_fails(struct umpa_pkt *p, unsigned li, const char *fname, const char *val)
{
	struct umpa_err e = {0};
	const struct umpa_field *f = umpa_proto_field(&umpa_proto_dns, fname);
	uint8_t before[2048];
	uint32_t n = p->len;

	assert_non_null(f);
	assert_true(n <= sizeof(before));
	memcpy(before, p->data, n);
	if (umpa_field_set_str(p, li, f, val, &e) >= 0)
		fail_msg("%s=%s should fail", fname, val);
	assert_true(e.msg[0] != 0);
	assert_int_equal(p->len, n);
	assert_memory_equal(p->data, before, n);
}

/* ---- building ---- */

static void test_build_defaults(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	li = new_dns(&p);
	unit_finish(&p);
	/* Scapy adds a default question (www.example.com); umpa's bare dns{} has none, rd=1 */
	unit_assert_bytes(&p, "000001000000000000000000");
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "rd"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.flags"), 0x0100);
	assert_int_equal(p.l[li].hlen, 12);
	umpa_pkt_release(&p);
}

static void test_build_query_vs_scapy(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	li = new_dns(&p);
	unit_set(&p, li, "qd", "example.com");
	unit_finish(&p);
	unit_assert_bytes(&p, scapy_query);
	assert_int_equal(p.l[li].hlen, p.len);
	umpa_pkt_release(&p);

	/* the qname alias, a trailing dot and explicit type/class give the same bytes */
	li = new_dns(&p);
	unit_set(&p, li, "qname", "example.com.:A:IN");
	unit_finish(&p);
	unit_assert_bytes(&p, scapy_query);
	umpa_pkt_release(&p);

	li = new_dns(&p);
	unit_set(&p, li, "dns.qry", "example.com:1:1");
	unit_finish(&p);
	unit_assert_bytes(&p, scapy_query);
	umpa_pkt_release(&p);
}

static void test_build_response_vs_scapy(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	li = new_dns(&p);
	unit_set(&p, li, "id", "0x1234");
	unit_set(&p, li, "qr", "1");
	unit_set(&p, li, "aa", "1");
	unit_set(&p, li, "ra", "1");
	/* answers before the question: the layout is still qd, an */
	unit_set(&p, li, "an",
		 "example.com:A:300:93.184.216.34, example.com:AAAA:60:2001:db8::1,"
		 "www.example.com:CNAME:7200:example.com, example.com:MX:3600:10/mail.example.com,"
		 "example.com:TXT:5:hello world");
	unit_set(&p, li, "qd", "example.com");
	unit_finish(&p);
	unit_assert_bytes(&p, scapy_resp);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "ancount"), 5);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "qdcount"), 1);
	umpa_pkt_release(&p);

	/* class spelled out, MX with ':' inside rdata */
	li = new_dns(&p);
	unit_set(&p, li, "id", "0x1234");
	unit_set(&p, li, "flags", "qr|aa|rd|ra");
	unit_set(&p, li, "qd", "example.com");
	unit_set(&p, li, "an",
		 "example.com:A:IN:300:93.184.216.34,example.com:AAAA:IN:60:2001:db8:0::1,"
		 "www.example.com:CNAME:CLASS1:7200:example.com,example.com:MX:IN:3600:10:mail.example.com,"
		 "example.com:TXT:5:\"hello world\"");
	unit_finish(&p);
	unit_assert_bytes(&p, scapy_resp);
	umpa_pkt_release(&p);
}

static void test_build_edns_vs_scapy(void **state)
{
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	li = new_dns(&p);
	unit_set(&p, li, "id", "0xbeef");
	unit_set(&p, li, "ar", ".:OPT:1232:do");
	unit_set(&p, li, "qd", "example.com");
	unit_finish(&p);
	unit_assert_bytes(&p, scapy_edns);
	umpa_pkt_release(&p);
}

/* Sections land in wire order whatever order they are set in; setting one again replaces it. */
static void test_section_order_and_replace(void **state)
{
	struct umpa_pkt a, b;
	unsigned la, lb;

	(void)state;
	la = new_dns(&a);
	unit_set(&a, la, "qd", "q.example");
	unit_set(&a, la, "an", "q.example:A:1:192.0.2.1");
	unit_set(&a, la, "ns", "example:NS:2:ns.example");
	unit_set(&a, la, "ar", "ns.example:A:3:192.0.2.2");
	unit_finish(&a);

	lb = new_dns(&b);
	unit_set(&b, lb, "ar", "ns.example:A:3:192.0.2.2");
	unit_set(&b, lb, "ns", "example:NS:2:ns.example");
	unit_set(&b, lb, "an", "x.example:AAAA:9:::1,y.example:TXT:9:zz");
	unit_set(&b, lb, "qd", "q.example,r.example");
	unit_set(&b, lb, "an", "q.example:A:1:192.0.2.1"); /* replaces */
	unit_set(&b, lb, "qd", "q.example");               /* replaces, shorter */
	unit_finish(&b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(b.l[lb].hlen, b.len);
	assert_int_equal(unit_get(&b, &umpa_proto_dns, "qdcount"), 1);
	assert_int_equal(unit_get(&b, &umpa_proto_dns, "ancount"), 1);
	assert_int_equal(unit_get(&b, &umpa_proto_dns, "nscount"), 1);
	assert_int_equal(unit_get(&b, &umpa_proto_dns, "arcount"), 1);

	/* an empty spec empties a section */
	unit_set(&b, lb, "ns", "");
	unit_set(&b, lb, "ar", "");
	unit_set(&b, lb, "an", "");
	unit_finish(&b);
	unit_assert_bytes(&b, "000001000001000000000000"
			      "0171076578616d706c6500 0001 0001");
	umpa_pkt_release(&a);
	umpa_pkt_release(&b);
}

/* Counts are automatic, but a count the user set (a lie) survives set_var and finish. */
static void test_auto_counts_and_lies(void **state)
{
	struct umpa_pkt p, d;
	unsigned li;

	(void)state;
	li = new_dns(&p);
	unit_set(&p, li, "ancount", "5");
	unit_set(&p, li, "an", "a.example:A:60:192.0.2.1");
	unit_set(&p, li, "qd", "a.example");
	unit_set(&p, li, "qdcount", "0");
	unit_set(&p, li, "ns", "example:NS:60:ns.example"); /* still placed after an: aux knows */
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "ancount"), 5);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "qdcount"), 0);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "nscount"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "arcount"), 0);
	unit_assert_bytes(&p, "000001000000000500010000"
			      "0161076578616d706c6500 0001 0001"
			      "0161076578616d706c6500 0001 0001 0000003c 0004 c0000201"
			      "076578616d706c6500 0002 0001 0000003c 000c 026e73076578616d706c6500");

	/* what the lie looks like on the receiving side: counts beyond the data are INVALID */
	dns_only(&d, p.data, p.len, p.len);
	assert_int_equal(d.nlayers, 1);
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	assert_false(d.l[0].flags & UMPA_L_TRUNCATED);
	assert_string_equal(d.l[0].why, "dns records run past the message");
	umpa_pkt_release(&d);
	/* ... and TRUNCATED when the capture was cut */
	dns_only(&d, p.data, p.len, p.len + 100);
	assert_true(d.l[0].flags & UMPA_L_TRUNCATED);
	assert_false(d.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&d);

	/* unset: finish counts again */
	umpa_field_unset(&p, li, umpa_proto_field(&umpa_proto_dns, "ancount"));
	umpa_field_unset(&p, li, umpa_proto_field(&umpa_proto_dns, "qdcount"));
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "ancount"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "qdcount"), 1);
	dns_only(&d, p.data, p.len, p.len);
	assert_int_equal(d.l[0].flags, 0);
	unit_assert_line(&d, "0+ [1a] [1n] A? a.example. (83)");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_spec_errors(void **state)
{
	struct umpa_pkt p;
	unsigned li;
	char longname[400];

	(void)state;
	li = new_dns(&p);
	unit_set(&p, li, "qd", "example.com");
	set_fails(&p, li, "qd", "example.com:BOGUS");
	set_fails(&p, li, "qd", "example.com:A:NOCLASS");
	set_fails(&p, li, "qd", "a..b");
	set_fails(&p, li, "qd", "a:A:IN:extra");
	memset(longname, 'a', 64);
	longname[64] = 0;
	set_fails(&p, li, "qd", longname); /* a 64-byte label */
	for (int i = 0; i < 130; i++) {
		longname[2 * i] = 'a';
		longname[2 * i + 1] = '.';
	}
	longname[260] = 0;
	set_fails(&p, li, "qd", longname); /* 261 bytes on the wire */
	set_fails(&p, li, "an", "a:A:60:300.1.1.1");
	set_fails(&p, li, "an", "a:AAAA:60:1.2.3.4");
	set_fails(&p, li, "an", "a:A:sixty:1.2.3.4");
	set_fails(&p, li, "an", "a");
	set_fails(&p, li, "an", "a:MX:60:mail.example");
	set_fails(&p, li, "an", "a:TYPE4000:60:abc");
	set_fails(&p, li, "an", "a:TXT:60:\"unterminated");
	set_fails(&p, li, "ar", ".:OPT:1232:bogus");
	set_fails(&p, li, "ar", ".:OPT:70000");
	umpa_pkt_release(&p);
}

/* Every rdata kind built from text, dissected back and shown with Wireshark's keys. */
static void test_roundtrip_details(void **state)
{
	struct umpa_pkt p, d;
	unsigned li;
	char *t, *j;

	(void)state;
	li = new_dns(&p);
	unit_set(&p, li, "id", "4660");
	unit_set(&p, li, "qr", "1");
	unit_set(&p, li, "rcode", "NXDomain");
	unit_set(&p, li, "qd", "_sip._udp.example.com:SRV");
	unit_set(&p, li, "an",
		 "_sip._udp.example.com:SRV:60:1/2/5060/sip.example.com,"
		 "1.2.0.192.in-addr.arpa:PTR:60:host.example.com,"
		 "t.example:TXT:60:\"a b\" \"c\\,d\","
		 "h.example:HINFO:60:x86/linux,"
		 "u.example:TYPE4000:60:de:ad:be:ef,"
		 "c.example:TXT:CH:0:chaos,"
		 "a.example:A:60:0x0102030405");
	unit_set(&p, li, "ns",
		 "example.com:SOA:3600:ns.example.com/host.example.com/2024010101/7200/3600/1209600/300,"
		 "example.com:NS:3600:ns.example.com");
	unit_set(&p, li, "ar",
		 "ns.example.com:AAAA:60:2001:db8::53,"
		 ".:OPT:1232:do:version=0:cookie=0102030405060708:nsid:padding=4:ecs=192.0.2.0/24:65001=abcd");
	unit_finish(&p);
	dns_only(&d, p.data, p.len, p.len);
	assert_int_equal(d.nlayers, 1);
	/* the 5-byte A record is a lie we asked for */
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	assert_string_equal(d.l[0].why, "dns rdata does not match its length");
	t = unit_tree(&d);
	unit_assert_contains(t, "dns.flags.rcode: 3 (NXDomain)");
	unit_assert_contains(t, "dns.count.answers: 7");
	unit_assert_contains(t, "dns.qry.name: _sip._udp.example.com");
	unit_assert_contains(t, "dns.qry.type: 33 (SRV)");
	unit_assert_contains(t, "dns.srv.port: 5060");
	unit_assert_contains(t, "dns.srv.target: sip.example.com");
	unit_assert_contains(t, "dns.ptr.domain_name: host.example.com");
	unit_assert_contains(t, "dns.txt.length: 3\n");
	unit_assert_contains(t, "dns.txt: a b\n");
	unit_assert_contains(t, "dns.txt: c,d\n");
	unit_assert_contains(t, "dns.hinfo.cpu: x86");
	unit_assert_contains(t, "dns.hinfo.os: linux");
	unit_assert_contains(t, "dns.resp.type: 4000\n");
	unit_assert_contains(t, "dns.data: de:ad:be:ef");
	unit_assert_contains(t, "dns.resp.class: 3 (CH)");
	unit_assert_contains(t, "dns.txt: chaos");
	unit_assert_contains(t, "dns.resp.len: 5\n");
	unit_assert_contains(t, "dns.soa.mname: ns.example.com");
	unit_assert_contains(t, "dns.soa.rname: host.example.com");
	unit_assert_contains(t, "dns.soa.serial_number: 2024010101");
	unit_assert_contains(t, "dns.soa.minimum_ttl: 300");
	unit_assert_contains(t, "dns.ns: ns.example.com");
	unit_assert_contains(t, "dns.aaaa: 2001:db8::53");
	unit_assert_contains(t, "dns.rr.udp_payload_size: 1232");
	unit_assert_contains(t, "dns.resp.z.do: true");
	unit_assert_contains(t, "dns.opt.cookie.client: 01:02:03:04:05:06:07:08");
	unit_assert_contains(t, "dns.opt.code: 3 (NSID)");
	unit_assert_contains(t, "dns.opt.padding: 00:00:00:00");
	unit_assert_contains(t, "dns.opt.client.addr4: 192.0.2.0");
	unit_assert_contains(t, "dns.opt.client.netmask: 24");
	unit_assert_contains(t, "dns.opt.code: 65001\n");
	unit_assert_contains(t, "dns.opt.data: ab:cd");
	unit_assert_contains(t, "    Authoritative nameservers\n");
	free(t);
	j = unit_json(&d);
	unit_assert_contains(j, "\"dns.srv.target\":\"sip.example.com\"");
	unit_assert_contains(j, "\"Additional records\":{");
	unit_assert_contains(j, "\"dns.qry.type\":33,\"dns.qry.type_name\":\"SRV\"");
	free(j);
	unit_assert_line(&d, "4660 NXDomain- 7/2/2 SRV sip.example.com.:5060 1 2, PTR host.example.com., "
			     "TXT \"a b\" \"c,d\", HINFO, Type4000, CHAOS TXT \"chaos\", A 1.2.3.4 (495) "
			     "[invalid dns: dns rdata does not match its length]");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

/* ---- dissecting real frames ---- */

static void test_dissect_real_response(void **state)
{
	struct umpa_pkt p;
	char *t;

	(void)state;
	dns_only_hex(&p, resp_hex);
	assert_int_equal(p.nlayers, 1);
	assert_int_equal(p.l[0].flags, 0);
	assert_int_equal(p.l[0].hlen, 224);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.id"), 0x5934);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.flags"), 0x8500);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "qr"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "aa"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "ra"), 0);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "opcode"), 0);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.count.queries"), 1);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.count.answers"), 2);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.count.auth_rr"), 2);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "dns.count.add_rr"), 5);
	/* tcpdump -nn prints exactly this */
	unit_assert_line(&p, "22836*- 2/2/5 A 192.139.46.66, A 198.199.88.104 (224)");
	/* tshark -T fields agrees with these values (names through compression pointers) */
	t = unit_tree(&p);
	unit_assert_contains(t, "dns.qry.name: www.tcpdump.org\n");
	unit_assert_contains(t, "dns.count.labels: 3\n");
	unit_assert_contains(t, "dns.resp.name: www.tcpdump.org\n");
	unit_assert_contains(t, "dns.a: 192.139.46.66\n");
	unit_assert_contains(t, "dns.a: 198.199.88.104\n");
	unit_assert_contains(t, "dns.ns: sns.cooperix.net\n");
	unit_assert_contains(t, "dns.ns: nic.sandelman.ca\n");
	unit_assert_contains(t, "dns.resp.name: nic.sandelman.ca\n");
	unit_assert_contains(t, "dns.aaaa: 2607:f0b0:f::babe:f00d\n");
	unit_assert_contains(t, "dns.aaaa: 2600:3c03::f03c:91ff:fe96:e8ef\n");
	unit_assert_contains(t, "dns.resp.ttl: 7200\n");
	unit_assert_contains(t, "        <Root>: type OPT\n");
	unit_assert_contains(t, "dns.rr.udp_payload_size: 4096\n");
	unit_assert_contains(t, "tcpdump.org: type NS, class IN, ns sns.cooperix.net\n");
	free(t);
	umpa_pkt_release(&p);

	dns_only_hex(&p, query_hex);
	assert_int_equal(p.l[0].flags, 0);
	unit_assert_line(&p, "22836+ [1au] A? www.tcpdump.org. (56)");
	unit_assert_tree_has(&p, "dns.opt.cookie.client: 42:f5:d0:09:96:f9:0b:13\n");
	umpa_pkt_release(&p);
}

/* The whole Ethernet frame through eth/ip/udp: the DNS layer is found by port 53. */
static void test_full_frame(void **state)
{
	struct umpa_pkt p;
	uint8_t b[512];
	size_t n = unit_hex(frame_hex, b, sizeof(b));
	int li;

	(void)state;
	unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, b, n);
	li = umpa_pkt_find(&p, &umpa_proto_dns, 0);
	assert_true(li > 0);
	assert_int_equal(p.l[li].off, 42);
	assert_int_equal(p.l[li].flags, 0);
	unit_assert_line_has(&p, "22836*- 2/2/5 A 192.139.46.66, A 198.199.88.104 (224)");
	umpa_pkt_release(&p);
	unit_truncate_all(UMPA_LINKTYPE_ETHERNET, b, n);
	/* every cut inside the message is TRUNCATED, never INVALID */
	for (size_t k = 42 + 12; k < n; k++) {
		umpa_pkt_init(&p);
		assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)k, NULL), 0);
		p.wirelen = (uint32_t)n;
		p.linktype = UMPA_LINKTYPE_ETHERNET;
		umpa_dissect(&p);
		li = umpa_pkt_find(&p, &umpa_proto_dns, 0);
		assert_true(li > 0);
		assert_int_equal(p.l[li].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID), UMPA_L_TRUNCATED);
		umpa_pkt_release(&p);
	}
}

/* Cut the lone message at every byte: flagged TRUNCATED, bounded, renderable. */
static void test_truncate_every_byte(void **state)
{
	const char *msgs[] = {resp_hex, query_hex, scapy_resp, scapy_edns};

	(void)state;
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		uint8_t b[1024];
		size_t n = unit_hex(msgs[m], b, sizeof(b));
		for (size_t k = 0; k <= n; k++) {
			struct umpa_pkt p;
			dns_only(&p, b, k, n);
			if (k == 0) {
				umpa_pkt_release(&p);
				continue;
			}
			assert_int_equal(p.nlayers, 1);
			assert_true(p.l[0].hlen <= p.l[0].len);
			assert_true(p.l[0].off + p.l[0].len <= p.len);
			if (k < n)
				assert_int_equal(p.l[0].flags, UMPA_L_TRUNCATED);
			else
				assert_int_equal(p.l[0].flags, 0);
			free(unit_line(&p));
			free(unit_tree(&p));
			free(unit_json(&p));
			umpa_pkt_release(&p);
		}
	}
}

/* DNS over TCP: a 2-byte length prefix before each message (RFC 1035 4.2.2). */
static void tcp_then_dns(struct umpa_pkt *p, const uint8_t *payload, size_t n, size_t wire)
{
	uint8_t b[2048];

	memset(b, 0, 20);
	b[12] = 0x50; /* a bare 20-byte TCP header */
	memcpy(b + 20, payload, n);
	umpa_pkt_init(p);
	assert_int_equal(umpa_pkt_copy_from(p, b, (uint32_t)(20 + n), NULL), 0);
	p->wirelen = (uint32_t)(20 + wire);
	p->nlayers = 1;
	p->l[0] = (struct umpa_layer){.proto = &umpa_proto_tcp, .off = 0, .len = (uint32_t)(20 + n), .hlen = 20};
	umpa_dissect_from(p, 1, &umpa_proto_dns, 20, (uint32_t)n);
}

static void test_tcp_prefix(void **state)
{
	struct umpa_pkt p;
	uint8_t b[1024];
	size_t n, m;

	(void)state;
	n = unit_hex(tcp_resp_hex, b, sizeof(b));
	tcp_then_dns(&p, b, n, n);
	assert_int_equal(p.nlayers, 2);
	assert_int_equal(p.l[1].off, 22);
	assert_int_equal(p.l[1].hlen, 224);
	assert_int_equal(p.l[1].flags, 0);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "id"), 17177);
	unit_assert_tree_has(&p, "dns.length: 224\n");
	/* after the TCP summary, separated by a space as tcpdump does */
	unit_assert_line_has(&p, "length 226 17177*- 2/2/5 A 192.139.46.66, A 198.199.88.104 (224)");
	umpa_pkt_release(&p);

	/* two messages in one segment */
	m = unit_hex(tcp_query_hex, b + n, sizeof(b) - n);
	tcp_then_dns(&p, b, n + m, n + m);
	assert_int_equal(p.nlayers, 3);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_dns);
	assert_int_equal(p.l[2].off, 20 + 226 + 2);
	assert_int_equal(p.l[2].hlen, 56);
	assert_int_equal(p.l[2].flags, 0);
	unit_assert_line_has(&p, " 17177*- 2/2/5 A 192.139.46.66, A 198.199.88.104 (224) 17177+ [1au] A? "
				 "www.tcpdump.org. (56)");
	umpa_pkt_release(&p);

	/* the message continues in the next segment: truncated, not invalid */
	tcp_then_dns(&p, b, 100, 100);
	assert_int_equal(p.l[1].flags, UMPA_L_TRUNCATED);
	assert_int_equal(p.l[1].hlen, 98);
	umpa_pkt_release(&p);
	/* a prefix shorter than a header is a lie */
	b[n] = 0;
	b[n + 1] = 5;
	tcp_then_dns(&p, b + n, m, m);
	assert_true(p.l[1].flags & UMPA_L_INVALID);
	umpa_pkt_release(&p);
	/* cut at every byte */
	n = unit_hex(tcp_resp_hex, b, sizeof(b));
	for (size_t k = 12 + 2; k < n; k++) {
		tcp_then_dns(&p, b, k, n);
		assert_int_equal(p.l[1].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID), UMPA_L_TRUNCATED);
		assert_true(p.l[1].off + p.l[1].len <= p.len);
		free(unit_tree(&p));
		umpa_pkt_release(&p);
	}
}

/* ---- hostile names and counts ---- */

/* Dissect a message given as hex; expect INVALID with @why (NULL: valid). */
static void expect_msg(const char *hex, const char *why)
{
	struct umpa_pkt p;

	dns_only_hex(&p, hex);
	assert_int_equal(p.nlayers, 1);
	if (why) {
		assert_true(p.l[0].flags & UMPA_L_INVALID);
		assert_false(p.l[0].flags & UMPA_L_TRUNCATED);
		assert_string_equal(p.l[0].why, why);
	} else {
		assert_int_equal(p.l[0].flags, 0);
	}
	free(unit_line(&p));
	free(unit_tree(&p));
	free(unit_json(&p));
	umpa_pkt_release(&p);
}

static void test_name_pointers(void **state)
{
	struct umpa_pkt p;
	char hex[8192];
	size_t k;

	(void)state;
	/* a pointer to itself */
	expect_msg("000001000001000000000000 c00c 0001 0001", "dns name loop");
	/* a forward pointer (to the type field after it) */
	expect_msg("000001000001000000000000 c00e 0001 0001", "dns name loop");
	/* a label, then a pointer back to the start of the same name */
	expect_msg("000001000001000000000000 0161 c00c 0001 0001", "dns name loop");
	/* a pointer beyond the message */
	expect_msg("000001000001000000000000 c0ff 0001 0001", "dns name loop");
	/* a proper backward pointer: the second question reuses the first name */
	expect_msg("000001000002000000000000 076578616d706c6503636f6d00 0001 0001 c00c 001c 0001", NULL);
	dns_only_hex(&p, "000001000002000000000000 076578616d706c6503636f6d00 0001 0001 03777777c00c 001c 0001");
	unit_assert_line(&p, "0+ [2q] A? example.com. AAAA? www.example.com. (39)");
	umpa_pkt_release(&p);
	/* reserved label types */
	expect_msg("000001000001000000000000 4161 00 0001 0001", "dns bad label type");
	expect_msg("000001000001000000000000 8161 00 0001 0001", "dns bad label type");
	/* 128 labels */
	k = (size_t)snprintf(hex, sizeof(hex), "000001000001000000000000");
	for (int i = 0; i < 128; i++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "0161");
	snprintf(hex + k, sizeof(hex) - k, "00 0001 0001");
	expect_msg(hex, "dns name too long");
	/* 4 labels of 63 bytes: 257 bytes */
	k = (size_t)snprintf(hex, sizeof(hex), "000001000001000000000000");
	for (int i = 0; i < 4; i++) {
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "3f");
		for (int j = 0; j < 63; j++)
			k += (size_t)snprintf(hex + k, sizeof(hex) - k, "61");
	}
	snprintf(hex + k, sizeof(hex) - k, "00 0001 0001");
	expect_msg(hex, "dns name too long");
	/* a name made long by pointers: 4 x 63 bytes through compression */
	k = (size_t)snprintf(hex, sizeof(hex), "000001000002000000000000 3f");
	for (int j = 0; j < 63; j++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "61");
	k += (size_t)snprintf(hex + k, sizeof(hex) - k, "00 0001 0001 3f");
	for (int j = 0; j < 63; j++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "62");
	k += (size_t)snprintf(hex + k, sizeof(hex) - k, "3f");
	for (int j = 0; j < 63; j++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "63");
	k += (size_t)snprintf(hex + k, sizeof(hex) - k, "3f");
	for (int j = 0; j < 63; j++)
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, "64");
	snprintf(hex + k, sizeof(hex) - k, "c00c 0001 0001");
	expect_msg(hex, "dns name too long");
	/* a chain of strictly backward pointers longer than 64 jumps: question i points at question i-1 */
	k = (size_t)snprintf(hex, sizeof(hex), "0000010000%02x000000000000 00 0001 0001", 70);
	for (int i = 1; i < 70; i++) {
		unsigned prev = i == 1 ? 12 : 12 + 5 + 6 * (unsigned)(i - 2);
		k += (size_t)snprintf(hex + k, sizeof(hex) - k, " %04x 0001 0001", 0xc000 | prev);
	}
	expect_msg(hex, "dns name loop");
	/* 60 jumps are fine */
	hex[10] = '3';
	hex[11] = 'c';
	k = 24 + 13 + 59 * 15;
	hex[k] = 0;
	expect_msg(hex, NULL);
}

static void test_counts_lie(void **state)
{
	struct umpa_pkt p;
	uint8_t b[64];
	size_t n;

	(void)state;
	/* 65535 questions announced, none present: no allocation, no long loop, INVALID */
	expect_msg("0000 0100 ffff ffff ffff ffff", "dns records run past the message");
	/* three answers announced, one present */
	expect_msg("0000 8180 0000 0003 0000 0000 0161 00 0001 0001 0000003c 0004 01020304",
		   "dns records run past the message");
	/* the same cut by the capture: truncated */
	n = unit_hex("0000 8180 0000 0003 0000 0000 0161 00 0001 0001 0000003c 0004 01020304", b, sizeof(b));
	dns_only(&p, b, n, n + 40);
	assert_int_equal(p.l[0].flags, UMPA_L_TRUNCATED);
	umpa_pkt_release(&p);
	/* an rdata length beyond the message */
	expect_msg("0000 8180 0000 0001 0000 0000 0161 00 0001 0001 0000003c 0040 01020304",
		   "dns records run past the message");
	/* rdata that does not match its length: A of 3 bytes, a CNAME running past its rdata */
	expect_msg("0000 8180 0000 0001 0000 0000 0161 00 0001 0001 0000003c 0003 010203",
		   "dns rdata does not match its length");
	expect_msg("0000 8180 0000 0001 0000 0000 0161 00 0005 0001 0000003c 0002 0162 00",
		   "dns rdata does not match its length");
	/* a bare header and nothing else is fine */
	expect_msg("1234 0100 0000 0000 0000 0000", NULL);
	/* shorter than a header */
	dns_only_hex(&p, "1234 0100 0000");
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	unit_assert_line(&p, "domain [length 6 < 12] [invalid dns: header cut short]");
	umpa_pkt_release(&p);
}

/* Editing a captured message: the sections come from the header's counts. */
static void test_edit_dissected(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	dns_only_hex(&p, resp_hex);
	unit_set(&p, 0, "an", "www.tcpdump.org:A:60:10.0.0.1");
	/* captured fields count as set: the old count stays until unset */
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "ancount"), 2);
	umpa_field_unset(&p, 0, umpa_proto_field(&umpa_proto_dns, "ancount"));
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &umpa_proto_dns, "ancount"), 1);
	dns_only(&d, p.data, p.len, p.len);
	assert_int_equal(d.l[0].flags, 0);
	unit_assert_line(&d, "22836*- 1/2/5 A 10.0.0.1 (223)");
	/* pointers into the question still resolve; those into the moved NS section were moved along */
	unit_assert_tree_has(&d, "dns.ns: sns.cooperix.net\n");
	unit_assert_tree_has(&d, "dns.resp.name: nic.sandelman.ca\n");
	unit_assert_tree_has(&d, "dns.aaaa: 2600:3c03::f03c:91ff:fe96:e8ef\n");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

/* ---- names, matching ---- */

static void test_field_names(void **state)
{
	static const char *const names[][2] = {
	    {"id", "dns.id"},
	    {"qr", "dns.flags.response"},
	    {"opcode", "dns.flags.opcode"},
	    {"aa", "dns.flags.authoritative"},
	    {"tc", "dns.flags.truncated"},
	    {"rd", "dns.flags.recdesired"},
	    {"ra", "dns.flags.recavail"},
	    {"z", "dns.flags.z"},
	    {"ad", "dns.flags.authenticated"},
	    {"cd", "dns.flags.checkdisable"},
	    {"rcode", "dns.flags.rcode"},
	    {"qdcount", "dns.count.queries"},
	    {"ancount", "dns.count.answers"},
	    {"nscount", "dns.count.auth_rr"},
	    {"arcount", "dns.count.add_rr"},
	    {"qname", "dns.qry"},
	    {"flags.rcode", "dns.flags.rcode"},
	};
	struct umpa_pkt p;
	unsigned li;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct umpa_field *a = umpa_proto_field(&umpa_proto_dns, names[i][0]);
		const struct umpa_field *b = umpa_proto_field(&umpa_proto_dns, names[i][1]);
		assert_non_null(a);
		assert_ptr_equal(a, b);
	}
	assert_ptr_equal(umpa_proto_find("dns"), &umpa_proto_dns);
	assert_true(umpa_proto_dns.nfields <= 64);
	li = new_dns(&p);
	unit_set(&p, li, "opcode", "update");
	unit_set(&p, li, "rcode", "ServFail");
	unit_set(&p, li, "tc", "1");
	unit_set(&p, li, "cd", "1");
	unit_finish(&p);
	unit_assert_bytes(&p, "0000 2b12 0000 0000 0000 0000");
	umpa_pkt_release(&p);
}

static void test_hashret_answers(void **state)
{
	struct umpa_pkt q, r, other;
	unsigned lq, lr, lo;
	char why[128] = "";

	(void)state;
	lq = new_dns(&q);
	unit_set(&q, lq, "id", "777");
	unit_set(&q, lq, "qd", "Example.COM:AAAA");
	unit_finish(&q);
	lr = new_dns(&r);
	unit_set(&r, lr, "id", "777");
	unit_set(&r, lr, "qr", "1");
	unit_set(&r, lr, "qd", "example.com:AAAA");
	unit_set(&r, lr, "an", "example.com:AAAA:60:2001:db8::1");
	unit_finish(&r);
	assert_int_equal(umpa_proto_dns.hashret(&q, lq), umpa_proto_dns.hashret(&r, lr));
	assert_int_equal(umpa_proto_dns.answers(&r, lr, &q, lq, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_dns.answers(&q, lq, &r, lr, why, sizeof(why)), 0); /* a query answers nothing */
	unit_assert_contains(why, "response");

	lo = new_dns(&other);
	unit_set(&other, lo, "id", "778");
	unit_set(&other, lo, "qr", "1");
	unit_set(&other, lo, "qd", "example.com:AAAA");
	unit_finish(&other);
	assert_int_equal(umpa_proto_dns.answers(&other, lo, &q, lq, why, sizeof(why)), 0);
	unit_assert_contains(why, "dns.id");
	umpa_pkt_release(&other);

	lo = new_dns(&other);
	unit_set(&other, lo, "id", "777");
	unit_set(&other, lo, "qr", "1");
	unit_set(&other, lo, "qd", "example.com:A");
	unit_finish(&other);
	assert_int_equal(umpa_proto_dns.answers(&other, lo, &q, lq, why, sizeof(why)), 0);
	unit_assert_contains(why, "question");
	umpa_pkt_release(&other);

	/* a response without a question (some servers' errors) still answers by id */
	lo = new_dns(&other);
	unit_set(&other, lo, "id", "777");
	unit_set(&other, lo, "qr", "1");
	unit_set(&other, lo, "rcode", "FormErr");
	unit_finish(&other);
	assert_int_equal(umpa_proto_dns.answers(&other, lo, &q, lq, why, sizeof(why)), 1);
	umpa_pkt_release(&other);
	umpa_pkt_release(&q);
	umpa_pkt_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_defaults),
	    cmocka_unit_test(test_build_query_vs_scapy),
	    cmocka_unit_test(test_build_response_vs_scapy),
	    cmocka_unit_test(test_build_edns_vs_scapy),
	    cmocka_unit_test(test_section_order_and_replace),
	    cmocka_unit_test(test_auto_counts_and_lies),
	    cmocka_unit_test(test_spec_errors),
	    cmocka_unit_test(test_roundtrip_details),
	    cmocka_unit_test(test_dissect_real_response),
	    cmocka_unit_test(test_full_frame),
	    cmocka_unit_test(test_truncate_every_byte),
	    cmocka_unit_test(test_tcp_prefix),
	    cmocka_unit_test(test_name_pointers),
	    cmocka_unit_test(test_counts_lie),
	    cmocka_unit_test(test_edit_dissected),
	    cmocka_unit_test(test_field_names),
	    cmocka_unit_test(test_hashret_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
