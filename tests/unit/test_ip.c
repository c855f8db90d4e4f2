/* test_ip.c - IPv4 and ICMP: build, dissect, auto fields, options, errors, matching, tshark.
 *
 * Expected bytes come from Scapy 2.5 (/usr/bin/python3), e.g.
 *   from scapy.all import *; bytes(IP()/ICMP()).hex()
 *   bytes(IP(options=[IPOption_RR(routers=['1.2.3.4']),IPOption_NOP(),IPOption_Router_Alert()])/ICMP()).hex()
 * and real frames from tcpdump's test captures (shared/corpus/tcpdump-tests):
 *   dhcp-rfc4388.pcap frames 2 (echo request) and 6 (host unreachable quoting it),
 *   mpls-traceroute.pcap frame 14 (port unreachable quoting IP/UDP; PPP header removed),
 * with the values tshark 4.0 shows for them (tshark's ip.hdr_len is in bytes,
 * ours is the wire value in 4-byte words).
 */
#include <unistd.h>

#include "umpa_inet.h"
#include "unit.h"

/* ---- helpers ---- */

/* Field @name of layer @li as text, with its value name when it has one ("1 (icmp)"). */
static void assert_fmt(const struct umpa_pkt *p, unsigned li, const char *name, const char *want)
{
	const struct umpa_field *f = unit_field(p->l[li].proto, name);
	char *s = unit_format(p, li, name);

	if (f->type == UMPA_FT_ENUM) {
		uint64_t v = unit_get_at(p, li, name);
		const char *vn = umpa_vname_find(f->names, v);
		char *t = malloc(strlen(s) + (vn ? strlen(vn) : 0) + 4);
		assert_non_null(t);
		sprintf(t, vn ? "%s (%s)" : "%s", s, vn);
		free(s);
		s = t;
	}

	if (strcmp(s, want) != 0)
		fail_msg("%s: got '%s', want '%s'", name, s, want);
	free(s);
}

/* Dissect the bytes of @src (a built packet) into @dst as a raw IPv4 capture. */
static void redissect(struct umpa_pkt *dst, const struct umpa_pkt *src)
{
	unit_dissect(dst, UMPA_LINKTYPE_RAW, src->data, src->len);
}

/* ip{src,dst}/icmp{} */
static void build_icmp(struct umpa_pkt *p, const char *src, const char *dst)
{
	unit_build_ip(p, &umpa_proto_ip, src, dst, &umpa_proto_icmp);
}

/* ip{}/icmp{} with one IP field set, finished, its bytes dissected again into @d. */
static void icmp_with(struct umpa_pkt *d, const char *field, const char *value)
{
	struct umpa_pkt p;

	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, field, value);
	unit_finish(&p);
	redissect(d, &p);
	umpa_pkt_release(&p);
}

/* Layer flags that say something is wrong. */
static unsigned bad_flags(const struct umpa_pkt *p)
{
	unsigned f = 0;

	for (unsigned i = 0; i < p->nlayers; i++)
		f |= p->l[i].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM);
	return f;
}

/* dhcp-rfc4388.pcap frame 2: echo request 10.40.2.3 > 10.30.4.4, id 16420, seq 0 (Ethernet removed) */
#define ECHO_REQ "4500003061b440004001becc0a2802030a1e04040800b7db402400000000000000000000000000000000000000000000"
/* dhcp-rfc4388.pcap frame 6: 10.40.1.1 > 10.40.2.3 host 10.30.4.4 unreachable, quoting frame 2 */
#define HOST_UNREACH                                                                                                   \
	"45c0004c9c6a00004001c6330a2801010a2802030301fcfe000000004500003061b440003f01bfcc0a2802030a1e0404"             \
	"0800b7db402400000000000000000000000000000000000000000000"
/* mpls-traceroute.pcap frame 14: 12.1.1.1 > 12.4.4.4 udp port 33441 unreachable (PPP removed) */
#define PORT_UNREACH                                                                                                   \
	"45000038c5a74000fd019b130c0101010c0404040303d4fb0000000045000028a55200000111f7690c0404040c010101"             \
	"a54b82a100140000"

/* ---- tests ---- */

static void test_field_names(void **state)
{
	static const char *const ipn[] = {"version",  "hdr_len",     "dsfield", "dsfield.dscp", "dsfield.ecn",
					  "len",      "id",          "flags",   "flags.rb",     "flags.df",
					  "flags.mf", "frag_offset", "ttl",     "proto",        "checksum",
					  "src",      "dst",         "options"};
	static const char *const icn[] = {"type",
					  "code",
					  "checksum",
					  "ident",
					  "seq",
					  "redir_gw",
					  "mtu",
					  "pointer",
					  "originate_timestamp",
					  "receive_timestamp",
					  "transmit_timestamp",
					  "address_mask"};
	char ws[64];

	(void)state;
	/* short name = Wireshark name minus "proto." */
	for (size_t i = 0; i < sizeof(ipn) / sizeof(ipn[0]); i++) {
		snprintf(ws, sizeof(ws), "ip.%s", ipn[i]);
		assert_string_equal(unit_field(&umpa_proto_ip, ipn[i])->ws, ws);
		assert_ptr_equal(unit_field(&umpa_proto_ip, ws), unit_field(&umpa_proto_ip, ipn[i]));
	}
	for (size_t i = 0; i < sizeof(icn) / sizeof(icn[0]); i++) {
		snprintf(ws, sizeof(ws), "icmp.%s", icn[i]);
		assert_string_equal(unit_field(&umpa_proto_icmp, icn[i])->ws, ws);
	}
	/* Scapy's names */
	/* ihl is Scapy's view of ip.hdr_len's bits, in words: its own (hidden) field */
	assert_int_equal(unit_field(&umpa_proto_ip, "ihl")->bitoff, unit_field(&umpa_proto_ip, "hdr_len")->bitoff);
	assert_true(unit_field(&umpa_proto_ip, "ihl")->flags & UMPA_F_HIDDEN);
	assert_ptr_equal(unit_field(&umpa_proto_ip, "tos"), unit_field(&umpa_proto_ip, "dsfield"));
	assert_ptr_equal(unit_field(&umpa_proto_ip, "chksum"), unit_field(&umpa_proto_ip, "checksum"));
	assert_ptr_equal(unit_field(&umpa_proto_ip, "frag"), unit_field(&umpa_proto_ip, "frag_offset"));
	assert_ptr_equal(unit_field(&umpa_proto_icmp, "id"), unit_field(&umpa_proto_icmp, "ident"));
	assert_ptr_equal(unit_field(&umpa_proto_icmp, "chksum"), unit_field(&umpa_proto_icmp, "checksum"));
	assert_true(umpa_proto_ip.nfields <= 64 && umpa_proto_icmp.nfields <= 64);
	assert_ptr_equal(umpa_proto_find("ipv4"), &umpa_proto_ip);
	assert_ptr_equal(umpa_proto_find("icmp"), &umpa_proto_icmp);
}

static void test_defaults(void **state)
{
	struct umpa_pkt p;

	(void)state;
	/* bytes(IP()) */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_finish(&p);
	unit_assert_bytes(&p, "450000140001000040007ce77f0000017f000001");
	umpa_pkt_release(&p);

	/* bytes(IP()/ICMP()) */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_push(&p, &umpa_proto_icmp);
	unit_finish(&p);
	unit_assert_bytes(&p, "4500001c0001000040017cde7f0000017f000001 0800f7ff00000000");
	assert_int_equal(unit_get_at(&p, 0, "proto"), 1);
	assert_int_equal(unit_get_at(&p, 1, "type"), 8);
	assert_fmt(&p, 0, "proto", "1 (icmp)");
	assert_fmt(&p, 1, "type", "8 (echo-request)");
	umpa_pkt_release(&p);

	/* bytes(ICMP()) alone: no pseudo-header, same checksum */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_icmp);
	unit_finish(&p);
	unit_assert_bytes(&p, "0800f7ff00000000");
	umpa_pkt_release(&p);

	/* bytes(IP(src='10.0.0.1',dst='10.0.0.2',ttl=7,flags='DF',id=0x1234)/ICMP(type='echo-reply',id=1,seq=2)/b'abcd')
	 */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "ttl", "7");
	unit_set(&p, 0, "flags", "DF");
	unit_set(&p, 0, "id", "0x1234");
	unit_set(&p, 1, "type", "echo-reply");
	unit_set(&p, 1, "id", "1");
	unit_set(&p, 1, "seq", "2");
	unit_push_payload(&p, "abcd", 4);
	unit_finish(&p);
	unit_assert_bytes(&p, "450000201234400007014da70a0000010a000002 00003b3600010002 61626364");
	umpa_pkt_release(&p);
}

static void test_real_echo_request(void **state)
{
	struct umpa_pkt p;
	char *s;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, ECHO_REQ);
	assert_int_equal(p.nlayers, 3);
	assert_ptr_equal(p.l[0].proto, &umpa_proto_ip);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_icmp);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_raw);
	assert_int_equal(bad_flags(&p), 0);
	/* tshark: ip.version 4, ip.hdr_len 20, ip.dsfield 0x00, ip.len 48, ip.id 0x61b4, ip.flags 0x2 (df),
	 * ip.frag_offset 0, ip.ttl 64, ip.proto 1, ip.checksum 0xbecc, ip.src 10.40.2.3, ip.dst 10.30.4.4 */
	assert_int_equal(unit_get_at(&p, 0, "version"), 4);
	assert_int_equal(unit_get_at(&p, 0, "hdr_len"), 20); /* bytes, as tshark's */
	assert_int_equal(unit_get_at(&p, 0, "ihl"), 5);      /* words, as Scapy's */
	assert_int_equal(unit_get_at(&p, 0, "dsfield"), 0);
	assert_int_equal(unit_get_at(&p, 0, "len"), 48);
	assert_int_equal(unit_get_at(&p, 0, "id"), 0x61b4);
	assert_int_equal(unit_get_at(&p, 0, "flags"), 2);
	assert_int_equal(unit_get_at(&p, 0, "flags.df"), 1);
	assert_int_equal(unit_get_at(&p, 0, "flags.mf"), 0);
	assert_int_equal(unit_get_at(&p, 0, "frag_offset"), 0);
	assert_int_equal(unit_get_at(&p, 0, "ttl"), 64);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 1);
	assert_int_equal(unit_get_at(&p, 0, "checksum"), 0xbecc);
	assert_fmt(&p, 0, "src", "10.40.2.3");
	assert_fmt(&p, 0, "dst", "10.30.4.4");
	/* tshark: icmp.type 8, icmp.code 0, icmp.checksum 0xb7db, icmp.ident 16420, icmp.seq 0 */
	assert_int_equal(unit_get_at(&p, 1, "type"), 8);
	assert_int_equal(unit_get_at(&p, 1, "code"), 0);
	assert_int_equal(unit_get_at(&p, 1, "checksum"), 0xb7db);
	assert_int_equal(unit_get_at(&p, 1, "ident"), 16420);
	assert_int_equal(unit_get_at(&p, 1, "seq"), 0);
	assert_int_equal(p.l[1].len, 28);
	assert_int_equal(p.l[2].len, 20);
	unit_assert_line(&p, "IP 10.40.2.3 > 10.30.4.4: ICMP echo request, id 16420, seq 0, length 28");

	s = unit_json(&p);
	unit_assert_contains(s, "\"ip.src\":\"10.40.2.3\"");
	unit_assert_contains(s, "\"ip.flags\":\"0x2\"");
	unit_assert_contains(s, "\"icmp.type\":8");
	unit_assert_contains(s, "\"icmp.type_name\":\"echo-request\"");
	unit_assert_contains(s, "\"icmp.ident\":16420");
	unit_assert_contains(s, "\"icmp.seq\":0");
	unit_assert_lacks(s, "icmp.redir_gw");
	unit_assert_lacks(s, "icmp.mtu");
	unit_assert_lacks(s, "_bad_checksum");
	free(s);

	/* a dissected packet is all "set": finish leaves every byte alone */
	{
		uint8_t before[64];
		uint32_t n = p.len;
		memcpy(before, p.data, n);
		unit_finish(&p);
		assert_memory_equal(before, p.data, n);
	}
	umpa_pkt_release(&p);
}

static void test_real_port_unreachable(void **state)
{
	struct umpa_pkt p;
	char *s;

	(void)state;
	unit_dissect_hex(&p, UMPA_LINKTYPE_RAW, PORT_UNREACH);
	assert_int_equal(p.nlayers, 4);
	assert_ptr_equal(p.l[0].proto, &umpa_proto_ip);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_icmp);
	assert_ptr_equal(p.l[2].proto, &umpa_proto_ip);
	assert_ptr_equal(p.l[3].proto, &umpa_proto_udp);
	assert_true(p.l[1].flags & UMPA_L_QUOTES);
	assert_false(p.l[1].flags & UMPA_L_QUOTED);
	assert_true(p.l[2].flags & UMPA_L_QUOTED);
	assert_true(p.l[3].flags & UMPA_L_QUOTED);
	/* quoted lengths exceed the quotation: normal, not truncated or invalid */
	assert_int_equal(bad_flags(&p), 0);
	assert_int_equal(unit_get_at(&p, 0, "ttl"), 253);
	assert_int_equal(unit_get_at(&p, 0, "checksum"), 0x9b13);
	assert_int_equal(unit_get_at(&p, 1, "type"), 3);
	assert_int_equal(unit_get_at(&p, 1, "code"), 3);
	assert_int_equal(unit_get_at(&p, 1, "checksum"), 0xd4fb);
	assert_int_equal(p.l[1].hlen, 8);
	assert_int_equal(unit_get_at(&p, 2, "len"), 40);
	assert_int_equal(unit_get_at(&p, 2, "ttl"), 1);
	assert_int_equal(unit_get_at(&p, 2, "proto"), 17);
	assert_fmt(&p, 2, "src", "12.4.4.4");
	assert_fmt(&p, 2, "dst", "12.1.1.1");
	assert_int_equal(unit_get_at(&p, 3, "dstport"), 33441);
	assert_int_equal(unit_get_at(&p, 3, "srcport"), 42315);
	assert_int_equal(p.l[2].len, 28);

	s = unit_json(&p);
	unit_assert_contains(s, "\"icmp.unused\":\"00:00:00:00\"");
	unit_assert_contains(s, "\"_quoted\":true");
	unit_assert_lacks(s, "icmp.ident");
	unit_assert_lacks(s, "icmp.seq");
	free(s);
	unit_assert_tree_has(&p, "[quoted]");
	{
		struct umpa_sbuf b = {0};
		struct umpa_render_opts o = {.number = 1};
		umpa_render_line(&p, &o, &b);
		unit_assert_contains(b.s,
				     "IP 12.1.1.1 > 12.4.4.4: ICMP 12.1.1.1 udp port 33441 unreachable, length 36");
		unit_assert_contains(b.s, "; IP 12.4.4.4.42315 > 12.1.1.1.33441: ");
		umpa_sbuf_free(&b);
	}
	umpa_pkt_release(&p);
}

static void test_auto_fields_with_options(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	/* bytes(IP(options=[IPOption_RR(routers=['1.2.3.4']),IPOption_NOP(),IPOption_Router_Alert()])/ICMP()) */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_push(&p, &umpa_proto_icmp);
	unit_set(&p, 0, "options", "rr=1.2.3.4,nop,ra");
	assert_int_equal(p.l[0].hlen, 32);
	unit_finish(&p);
	unit_assert_bytes(&p, "48000028000100004001d4c17f0000017f000001 07070401020304 01 94040000 0800f7ff00000000");
	assert_int_equal(unit_get_at(&p, 0, "hdr_len"), 32);
	assert_int_equal(unit_get_at(&p, 0, "len"), 40);
	assert_int_equal(unit_get_at(&p, 0, "checksum"), 0xd4c1);

	redissect(&d, &p);
	assert_int_equal(d.nlayers, 2);
	assert_int_equal(d.l[0].hlen, 32);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_icmp);
	assert_int_equal(bad_flags(&d), 0);
	umpa_pkt_release(&d);

	/* removing the options shrinks the header back; auto fields follow */
	unit_set(&p, 0, "options", "");
	assert_int_equal(p.l[0].hlen, 20);
	unit_finish(&p);
	unit_assert_bytes(&p, "4500001c0001000040017cde7f0000017f000001 0800f7ff00000000");

	/* next protocol from the next layer */
	umpa_pkt_release(&p);
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_push(&p, &umpa_proto_udp);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 17);
	assert_fmt(&p, 0, "proto", "17 (udp)");
	/* bytes(IP()/UDP()) */
	unit_assert_bytes(&p, "4500001c0001000040117cce7f0000017f000001 0035003500080172");
	umpa_pkt_release(&p);

	/* payload counts in ip.len; odd ICMP lengths checksum right */
	build_icmp(&p, "192.168.0.1", "192.168.0.2");
	unit_push_payload(&p, "abc", 3);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "len"), 31);
	redissect(&d, &p);
	assert_int_equal(bad_flags(&d), 0);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_overrides_kept(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "checksum", "0x1234");
	unit_set(&p, 1, "checksum", "0xbeef");
	unit_set(&p, 0, "proto", "tcp");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "checksum"), 0x1234);
	assert_int_equal(unit_get_at(&p, 1, "checksum"), 0xbeef);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 6);
	assert_int_equal(unit_get_at(&p, 0, "len"), 28);
	/* a wrong checksum is informational: flagged BADSUM, not INVALID */
	unit_set(&p, 0, "proto", "icmp");
	redissect(&d, &p);
	assert_int_equal(d.nlayers, 2);
	assert_true(d.l[0].flags & UMPA_L_BADSUM);
	assert_true(d.l[1].flags & UMPA_L_BADSUM);
	assert_false(d.l[0].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED));
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* a lying total length survives finish; dissecting flags it INVALID (all bytes were captured) */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "len", "1000");
	unit_set(&p, 0, "ihl", "5");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "len"), 1000);
	redissect(&d, &p);
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	assert_false(d.l[0].flags & UMPA_L_TRUNCATED);
	assert_false(d.l[0].flags & UMPA_L_BADSUM); /* the checksum was computed over the lie */
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* a short total length shrinks the window: the rest is not IP's */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_push_payload(&p, "abcdefgh", 8);
	unit_set(&p, 0, "len", "28");
	unit_finish(&p);
	redissect(&d, &p);
	assert_int_equal(d.l[0].len, 28);
	assert_int_equal(d.nlayers, 2);
	assert_int_equal(d.l[1].len, 8);
	assert_true(d.l[1].flags & UMPA_L_BADSUM); /* ICMP summed over 16 bytes, sees 8 */
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* unset: finish computes again */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "checksum", "0");
	umpa_field_unset(&p, 0, unit_field(&umpa_proto_ip, "checksum"));
	unit_finish(&p);
	assert_int_not_equal(unit_get_at(&p, 0, "checksum"), 0);
	umpa_pkt_release(&p);
}

static void test_truncate_all(void **state)
{
	struct umpa_pkt p;
	uint8_t b[256];
	size_t n;

	(void)state;
	n = unit_hex(ECHO_REQ, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_RAW, b, n);
	n = unit_hex(PORT_UNREACH, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_RAW, b, n);
	n = unit_hex(HOST_UNREACH, b, sizeof(b));
	unit_truncate_all(UMPA_LINKTYPE_RAW, b, n);

	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "options", "rr=2,lsrr=1.1.1.1,ts=1.2.3.4:5");
	unit_push_payload(&p, "0123456789", 10);
	unit_finish(&p);
	unit_truncate_all(UMPA_LINKTYPE_RAW, p.data, p.len);

	/* cut by the capture (wirelen larger): TRUNCATED, not INVALID */
	for (uint32_t k = 1; k < p.len; k++) {
		struct umpa_pkt d;
		umpa_pkt_init(&d);
		assert_int_equal(umpa_pkt_copy_from(&d, p.data, k, NULL), 0);
		d.wirelen = p.len;
		d.linktype = UMPA_LINKTYPE_RAW;
		umpa_dissect(&d);
		assert_true(d.nlayers >= 1);
		if (k < p.l[0].hlen + 8u) { /* the IP or ICMP header is cut */
			unsigned f = bad_flags(&d);
			assert_true(f & UMPA_L_TRUNCATED);
		}
		for (unsigned i = 0; i < d.nlayers; i++) {
			assert_false(d.l[i].flags & UMPA_L_INVALID);
			assert_false(d.l[i].flags & UMPA_L_BADSUM); /* never judged on a partial message */
		}
		umpa_pkt_release(&d);
	}
	umpa_pkt_release(&p);
}

static void test_invalid_lengths(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	/* ihl below 5 */
	for (unsigned ihl = 0; ihl < 5; ihl++) {
		char v[4];
		build_icmp(&p, "10.0.0.1", "10.0.0.2");
		snprintf(v, sizeof(v), "%u", ihl);
		unit_set(&p, 0, "ihl", v);
		unit_finish(&p);
		redissect(&d, &p);
		assert_int_equal(d.nlayers, 1);
		assert_true(d.l[0].flags & UMPA_L_INVALID);
		assert_false(d.l[0].flags & UMPA_L_TRUNCATED);
		assert_true(d.l[0].hlen <= d.l[0].len);
		umpa_pkt_release(&d);
		umpa_pkt_release(&p);
	}
	/* ihl past the packet's bytes: invalid (everything was captured) */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_set(&p, 0, "ihl", "15");
	unit_finish(&p);
	redissect(&d, &p);
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	assert_true(d.l[0].hlen <= d.l[0].len);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* total length below the header length */
	icmp_with(&d, "len", "19");
	assert_int_equal(d.nlayers, 1);
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&d);

	/* total length 0: a TSO capture, the window is kept */
	icmp_with(&d, "len", "0");
	assert_int_equal(d.nlayers, 2);
	assert_false(d.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&d);

	/* not version 4 */
	icmp_with(&d, "version", "5");
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&d);

	/* an option overrunning the header: INVALID, the rest still dissected */
	icmp_with(&d, "options", "raw=07 09 04 00 00 00 00 00");
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	assert_false(d.l[0].flags & UMPA_L_TRUNCATED);
	assert_int_equal(d.l[0].hlen, 28);
	assert_int_equal(d.nlayers, 2);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_icmp);
	{
		char *s = unit_json(&d);
		unit_assert_contains(s, "ip.opt.len.invalid");
		free(s);
	}
	umpa_pkt_release(&d);

	/* option length below 2, and a length byte missing at the end */
	icmp_with(&d, "options", "raw=01 01 44 01");
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&d);
	icmp_with(&d, "options", "raw=01 01 01 83");
	assert_true(d.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&d);
}

static void test_fragments(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	/* a later fragment: payload stays raw */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "frag", "185");
	unit_push_payload(&p, "abcdefgh", 8);
	unit_finish(&p);
	redissect(&d, &p);
	assert_int_equal(d.nlayers, 2);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_raw);
	unit_assert_line(&d, "IP 10.0.0.1 > 10.0.0.2: ip-proto-1 (frag offset 1480), length 16");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* the first fragment still carries the ICMP header; its checksum covers bytes not here */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "flags", "MF");
	unit_set(&p, 1, "checksum", "0x1234");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "flags.mf"), 1);
	redissect(&d, &p);
	assert_int_equal(d.nlayers, 2);
	assert_ptr_equal(d.l[1].proto, &umpa_proto_icmp);
	assert_int_equal(bad_flags(&d), 0);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* unknown protocol: raw payload, named as tcpdump does */
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_set(&p, 0, "proto", "253"); /* RFC 3692 experimental: no dissector (47, GRE, has one now) */
	unit_push_payload(&p, "\0\0\x08\0", 4);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "proto"), 253);
	redissect(&d, &p);
	unit_assert_line(&d, "IP 127.0.0.1 > 127.0.0.1: ip-proto-253, length 4");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

static void test_build_port_unreachable(void **state)
{
	struct umpa_pkt req, resp, d;
	char why[128] = "";

	(void)state;
	/* the request: 10.0.0.1.1234 > 10.0.0.2.53 UDP */
	umpa_pkt_init(&req);
	unit_push(&req, &umpa_proto_ip);
	unit_push(&req, &umpa_proto_udp);
	unit_set(&req, 0, "src", "10.0.0.1");
	unit_set(&req, 0, "dst", "10.0.0.2");
	unit_set(&req, 1, "sport", "1234");
	unit_set(&req, 1, "dport", "53");
	unit_push_payload(&req, "query", 5);
	unit_finish(&req);

	/* the error quoting its IP header and first 8 bytes */
	umpa_pkt_init(&resp);
	unit_push(&resp, &umpa_proto_ip);
	unit_push(&resp, &umpa_proto_icmp);
	unit_set(&resp, 0, "src", "10.0.0.2");
	unit_set(&resp, 0, "dst", "10.0.0.1");
	unit_set(&resp, 1, "type", "dest-unreach");
	unit_set(&resp, 1, "code", "3");
	unit_push_payload(&resp, req.data, 28);
	unit_finish(&resp);
	assert_int_equal(unit_get_at(&resp, 0, "len"), 56);

	redissect(&d, &resp);
	assert_int_equal(d.nlayers, 4);
	assert_ptr_equal(d.l[2].proto, &umpa_proto_ip);
	assert_ptr_equal(d.l[3].proto, &umpa_proto_udp);
	assert_true(d.l[2].flags & UMPA_L_QUOTED);
	assert_int_equal(bad_flags(&d), 0);
	assert_int_equal(unit_get_at(&d, 2, "len"), 33); /* the original length, more than quoted */
	{
		struct umpa_sbuf b = {0};
		struct umpa_render_opts o = {.number = 1};
		umpa_render_line(&d, &o, &b);
		unit_assert_contains(b.s, "IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 53 unreachable, length 36");
		umpa_sbuf_free(&b);
	}

	/* matching: the error answers the request through its quotation */
	{
		struct umpa_pkt q;
		redissect(&q, &req);
		assert_int_equal(umpa_proto_ip.answers(&d, 0, &q, 0, why, sizeof(why)), 1);
		assert_int_equal(umpa_proto_icmp.answers(&d, 1, &q, 1, why, sizeof(why)), 1);
		assert_int_equal(umpa_proto_ip.hashret(&d, 0), umpa_proto_ip.hashret(&q, 0));
		assert_int_equal(umpa_proto_icmp.hashret(&d, 1), umpa_proto_ip.hashret(&q, 0));
		/* another request (other port) is not answered */
		unit_set(&req, 1, "dport", "54");
		unit_finish(&req);
		umpa_pkt_release(&q);
		redissect(&q, &req);
		assert_int_equal(umpa_proto_icmp.answers(&d, 1, &q, 1, why, sizeof(why)), 0);
		assert_true(why[0] != 0);
		/* nor one to another host */
		unit_set(&req, 0, "dst", "10.0.0.3");
		unit_set(&req, 1, "dport", "53");
		unit_finish(&req);
		umpa_pkt_release(&q);
		redissect(&q, &req);
		assert_int_equal(umpa_proto_ip.answers(&d, 0, &q, 0, why, sizeof(why)), 0);
		assert_int_equal(umpa_proto_icmp.answers(&d, 1, &q, 1, why, sizeof(why)), 0);
		umpa_pkt_release(&q);
	}
	umpa_pkt_release(&d);
	umpa_pkt_release(&resp);
	umpa_pkt_release(&req);
}

static void test_real_host_unreach_answers(void **state)
{
	struct umpa_pkt req, resp;
	char why[128];

	(void)state;
	unit_dissect_hex(&req, UMPA_LINKTYPE_RAW, ECHO_REQ);
	unit_dissect_hex(&resp, UMPA_LINKTYPE_RAW, HOST_UNREACH);
	assert_int_equal(resp.nlayers, 5);
	assert_ptr_equal(resp.l[3].proto, &umpa_proto_icmp);
	assert_true(resp.l[3].flags & UMPA_L_QUOTED);
	assert_int_equal(bad_flags(&resp), 0);
	assert_int_equal(unit_get_at(&resp, 1, "code"), 1);
	assert_int_equal(unit_get_at(&resp, 2, "ttl"), 63);
	assert_int_equal(unit_get_at(&resp, 3, "ident"), 16420);
	assert_int_equal(umpa_proto_ip.answers(&resp, 0, &req, 0, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_icmp.answers(&resp, 1, &req, 1, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_ip.hashret(&resp, 0), umpa_proto_ip.hashret(&req, 0));
	/* the request does not answer the error */
	assert_int_equal(umpa_proto_ip.answers(&req, 0, &resp, 0, why, sizeof(why)), 0);
	{
		struct umpa_sbuf b = {0};
		struct umpa_render_opts o = {.number = 1};
		umpa_render_line(&resp, &o, &b);
		unit_assert_contains(b.s, "IP 10.40.1.1 > 10.40.2.3: ICMP host 10.30.4.4 unreachable, length 56");
		umpa_sbuf_free(&b);
	}
	umpa_pkt_release(&req);
	umpa_pkt_release(&resp);
}

static void test_echo_answers(void **state)
{
	struct umpa_pkt q, r, dq, dr;
	char why[128];

	(void)state;
	build_icmp(&q, "10.0.0.1", "10.0.0.2");
	unit_set(&q, 1, "id", "7");
	unit_set(&q, 1, "seq", "3");
	unit_push_payload(&q, "ping", 4);
	unit_finish(&q);
	build_icmp(&r, "10.0.0.2", "10.0.0.1");
	unit_set(&r, 1, "type", "echo-reply");
	unit_set(&r, 1, "id", "7");
	unit_set(&r, 1, "seq", "3");
	unit_push_payload(&r, "ping", 4);
	unit_finish(&r);
	redissect(&dq, &q);
	redissect(&dr, &r);
	assert_int_equal(umpa_proto_ip.answers(&dr, 0, &dq, 0, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_icmp.answers(&dr, 1, &dq, 1, why, sizeof(why)), 1);
	assert_int_equal(umpa_proto_ip.hashret(&dr, 0), umpa_proto_ip.hashret(&dq, 0));
	assert_int_equal(umpa_proto_icmp.hashret(&dr, 1), umpa_proto_icmp.hashret(&dq, 1));
	/* the request does not answer the reply; a request does not answer itself */
	assert_int_equal(umpa_proto_icmp.answers(&dq, 1, &dr, 1, why, sizeof(why)), 0);
	assert_int_equal(umpa_proto_icmp.answers(&dq, 1, &dq, 1, why, sizeof(why)), 0);
	assert_int_equal(umpa_proto_ip.answers(&dq, 0, &dq, 0, why, sizeof(why)), 0);
	unit_assert_line(&dq, "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 3, length 12");
	unit_assert_line(&dr, "IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 7, seq 3, length 12");
	umpa_pkt_release(&dr);

	/* another sequence number does not match */
	unit_set(&r, 1, "seq", "4");
	unit_finish(&r);
	redissect(&dr, &r);
	why[0] = 0;
	assert_int_equal(umpa_proto_icmp.answers(&dr, 1, &dq, 1, why, sizeof(why)), 0);
	assert_string_equal(why, "icmp.seq differs");
	assert_int_not_equal(umpa_proto_icmp.hashret(&dr, 1), umpa_proto_icmp.hashret(&dq, 1));
	umpa_pkt_release(&dr);
	umpa_pkt_release(&r);

	/* nor a reply from another host */
	build_icmp(&r, "10.0.0.9", "10.0.0.1");
	unit_set(&r, 1, "type", "echo-reply");
	unit_set(&r, 1, "id", "7");
	unit_set(&r, 1, "seq", "3");
	unit_finish(&r);
	redissect(&dr, &r);
	assert_int_equal(umpa_proto_ip.answers(&dr, 0, &dq, 0, why, sizeof(why)), 0);
	umpa_pkt_release(&dr);
	umpa_pkt_release(&r);
	umpa_pkt_release(&dq);
	umpa_pkt_release(&q);
}

static void test_options_roundtrip(void **state)
{
	struct umpa_pkt p, d;
	struct umpa_err e = {0};
	char *s;

	(void)state;
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 0, "options", "rr=1.2.3.4:0.0.0.0, nop ,ra,lsrr=5.6.7.8,ts=100");
	unit_finish(&p);
	/* Scapy: IPOption_RR(routers=['1.2.3.4','0.0.0.0']), NOP, Router_Alert, LSRR(routers=['5.6.7.8']),
	 * Timestamp(flg=0, timestamp=100) -> 31 bytes + 1 EOL */
	unit_assert_bytes(&p, "4d00003c000100004001b8480a0000010a000002"
			      "070b040102030400000000 01 94040000 83070405060708 4408090000000064 00"
			      "0800f7ff00000000");
	redissect(&d, &p);
	assert_int_equal(bad_flags(&d), 0);
	s = unit_json(&d);
	unit_assert_contains(s, "\"ip.options\":{\"ip.options.record_route\":{"); /* keys hold no values */
	unit_assert_lacks(s, "Options: (");
	unit_assert_contains(s, "\"ip.opt.type\":7");
	unit_assert_contains(s, "\"ip.opt.len\":11");
	unit_assert_contains(s, "\"ip.opt.ptr\":4");
	unit_assert_contains(s, "\"ip.empty_rt\":[\"1.2.3.4\",\"0.0.0.0\"]"); /* repeated: an array */
	unit_assert_contains(s, "\"ip.opt.ra\":0");
	unit_assert_contains(s, "\"ip.src_rt\":\"5.6.7.8\"");
	unit_assert_contains(s, "\"ip.opt.time_stamp\":100");
	unit_assert_contains(s, "\"ip.opt.flag\":\"0x00\"");
	free(s);
	s = unit_tree(&d);
	unit_assert_contains(s, "Record Route");
	unit_assert_contains(s, "No-Operation (NOP)");
	unit_assert_contains(s, "Router Alert");
	unit_assert_contains(s, "Loose Source Route");
	unit_assert_contains(s, "Time Stamp");
	unit_assert_contains(s, "End of Options List (EOL)");
	free(s);
	umpa_pkt_release(&d);

	/* ssrr with the pointer past the first hop, timestamps with addresses, raw kinds */
	unit_set(&p, 0, "options", "ssrr=5.6.7.8:1.1.1.1,ts=1.2.3.4:100,7=0405060708,eol");
	unit_finish(&p);
	assert_int_equal(p.l[0].hlen, 20 + 32);
	assert_memory_equal(p.data + 20,
			    "\x89\x0b\x04\x05\x06\x07\x08\x01\x01\x01\x01"
			    "\x44\x0c\x0d\x01\x01\x02\x03\x04\x00\x00\x00\x64"
			    "\x07\x07\x04\x05\x06\x07\x08\x00\x00",
			    32);
	redissect(&d, &p);
	assert_int_equal(bad_flags(&d), 0);
	s = unit_json(&d);
	unit_assert_contains(s, "\"ip.opt.time_stamp_addr\":\"1.2.3.4\"");
	unit_assert_contains(s, "\"ip.opt.flag\":\"0x01\"");
	unit_assert_contains(s, "\"ip.src_rt\":[\"5.6.7.8\",\"1.1.1.1\"]");
	free(s);
	umpa_pkt_release(&d);

	/* rr=N empty slots; bare numeric kinds */
	unit_set(&p, 0, "options", "rr=2,1,0x94=0000");
	assert_int_equal(p.l[0].hlen, 20 + 16);
	assert_memory_equal(p.data + 20, "\x07\x0b\x04\0\0\0\0\0\0\0\0\x01\x94\x04\0\0", 16);

	/* errors say what is wrong and change nothing */
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "bogus", &e) < 0);
	unit_assert_contains(e.msg, "bogus");
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "rr=1.2.3", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "nop=1", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "rr=9,rr=1", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "ts=1.2.3.4", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "300=00", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), "raw=0g", &e) < 0);
	assert_int_equal(p.l[0].hlen, 20 + 16);
	/* odd specs: each either fails or leaves a well-formed, 4-byte aligned header */
	{
		static const char *const odd[] = {
		    ",,,",
		    "=",
		    "rr=",
		    "rr=:",
		    "lsrr=1.1.1.1:",
		    "ts=",
		    "ts=:",
		    "ts=1:2:3:4:5:6:7:8:9",
		    "ts=1:2:3:4:5:6:7:8:9:10",
		    "raw=",
		    "raw=0",
		    "raw=0x01",
		    "1=",
		    "2",
		    "0,0,0",
		    "=1",
		    " nop , eol ",
		    "ra=65536",
		    "ra=-1",
		    "0x=1",
		    ("255="
		     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344"), /* one item, too
												       long */
		    "rr=0",
		    "ssrr=255.255.255.255",
		    "ts=4294967296",
		    "ts=4294967295",
		};
		for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
			struct umpa_err e2 = {0};
			int rc = umpa_field_set_str(&p, 0, unit_field(&umpa_proto_ip, "options"), odd[i], &e2);
			assert_true(p.l[0].hlen >= 20 && p.l[0].hlen <= 60 && p.l[0].hlen % 4 == 0);
			if (rc < 0)
				assert_true(e2.msg[0] != 0);
			unit_finish(&p);
			redissect(&d, &p);
			assert_false(d.l[0].flags & UMPA_L_TRUNCATED);
			umpa_pkt_release(&d);
		}
	}
	/* exactly 40 bytes fit */
	unit_set(&p, 0, "options", "rr=9");
	assert_int_equal(p.l[0].hlen, 60);
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "hdr_len"), 60);
	umpa_pkt_release(&p);
}

static void test_icmp_types(void **state)
{
	struct umpa_pkt p, d;
	char *s;

	(void)state;
	/* redirect: the gateway shows, the echo fields do not */
	build_icmp(&p, "10.0.0.254", "10.0.0.1");
	unit_set(&p, 1, "type", "redirect");
	unit_set(&p, 1, "code", "1");
	unit_set(&p, 1, "gw", "10.0.0.253");
	unit_push_payload(&p, "\x45\0\0\x1c\0\x01\0\0\x40\x11\0\0\x0a\0\0\x01\x08\x08\x08\x08\x04\xd2\0\x35\0\x08\0\0",
			  28);
	unit_finish(&p);
	redissect(&d, &p);
	assert_int_equal(d.nlayers, 4);
	s = unit_json(&d);
	unit_assert_contains(s, "\"icmp.redir_gw\":\"10.0.0.253\"");
	unit_assert_lacks(s, "icmp.ident");
	free(s);
	{
		struct umpa_sbuf b = {0};
		struct umpa_render_opts o = {.number = 1};
		umpa_render_line(&d, &o, &b);
		unit_assert_contains(b.s, "ICMP redirect 8.8.8.8 to host 10.0.0.253, length 36");
		umpa_sbuf_free(&b);
	}
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* fragmentation needed: mtu */
	build_icmp(&p, "10.0.0.254", "10.0.0.1");
	unit_set(&p, 1, "type", "dest-unreach");
	unit_set(&p, 1, "code", "4");
	unit_set(&p, 1, "mtu", "1400");
	unit_push_payload(&p, "\x45\0\x05\xdc\0\x01\x40\0\x40\x06\0\0\x0a\0\0\x01\x08\x08\x08\x08\0\x50\0\x50\0\0\0\0",
			  28);
	unit_finish(&p);
	redissect(&d, &p);
	unit_assert_json_has(&d, "\"icmp.mtu\":1400");
	{
		struct umpa_sbuf b = {0};
		struct umpa_render_opts o = {.number = 1};
		umpa_render_line(&d, &o, &b);
		unit_assert_contains(b.s, "ICMP 8.8.8.8 unreachable - need to frag (mtu 1400), length 36");
		umpa_sbuf_free(&b);
	}
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* time exceeded, parameter problem */
	build_icmp(&p, "10.0.0.254", "10.0.0.1");
	unit_set(&p, 1, "type", "time-exceeded");
	unit_finish(&p);
	redissect(&d, &p);
	unit_assert_line(&d, "IP 10.0.0.254 > 10.0.0.1: ICMP time exceeded in-transit, length 8");
	umpa_pkt_release(&d);
	unit_set(&p, 1, "type", "parameter-problem");
	unit_set(&p, 1, "pointer", "20");
	unit_finish(&p);
	redissect(&d, &p);
	unit_assert_line(&d, "IP 10.0.0.254 > 10.0.0.1: ICMP parameter problem - octet 20, length 8");
	unit_assert_json_has(&d, "\"icmp.pointer\":20");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* timestamp: setting the timestamps grows the header to 20 bytes */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 1, "type", "timestamp-request");
	unit_set(&p, 1, "id", "5");
	unit_set(&p, 1, "ts_ori", "1000");
	unit_set(&p, 1, "ts_tx", "3000");
	unit_finish(&p);
	assert_int_equal(p.len, 40);
	redissect(&d, &p);
	assert_int_equal(d.nlayers, 2);
	assert_int_equal(d.l[1].hlen, 20);
	assert_int_equal(bad_flags(&d), 0);
	assert_int_equal(unit_get_at(&d, 1, "transmit_timestamp"), 3000);
	s = unit_json(&d);
	unit_assert_contains(s, "\"icmp.originate_timestamp\":1000");
	unit_assert_contains(s, "\"icmp.receive_timestamp\":0");
	free(s);
	unit_assert_line(&d, "IP 10.0.0.1 > 10.0.0.2: ICMP time stamp query, id 5, seq 0, length 20");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* a timestamp request built bare gets its 20-byte fixed part (Scapy's ICMP(type=13)) */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 1, "type", "timestamp-request");
	unit_finish(&p);
	assert_int_equal(p.len, 40);
	assert_memory_equal(p.data + 20, "\x0d\x00\xf2\xff", 4);
	umpa_pkt_release(&p);
	/* a captured short one is left as it is by finish */
	unit_dissect_hex(&d, UMPA_LINKTYPE_RAW, "4500001c0001000040017cde7f0000017f000001 0d00f2ff00000000");
	assert_int_equal(d.nlayers, 2);
	assert_int_equal(d.l[1].hlen, 8);
	unit_finish(&d);
	assert_int_equal(d.len, 28);
	umpa_pkt_release(&d);
	/* address mask request: 12 bytes */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 1, "type", "address-mask-request");
	unit_finish(&p);
	assert_int_equal(p.len, 32);
	redissect(&d, &p);
	assert_int_equal(d.l[1].hlen, 12);
	assert_int_equal(bad_flags(&d), 0);
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);

	/* type names */
	build_icmp(&p, "10.0.0.1", "10.0.0.2");
	unit_set(&p, 1, "type", "router-solicitation");
	assert_int_equal(unit_get_at(&p, 1, "type"), 10);
	unit_set(&p, 1, "type", "echo-reply");
	assert_int_equal(unit_get_at(&p, 1, "type"), 0);
	unit_set(&p, 1, "type", "timestamp-reply");
	assert_int_equal(unit_get_at(&p, 1, "type"), 14);
	assert_fmt(&p, 1, "type", "14 (timestamp-reply)");
	umpa_pkt_release(&p);
}

static void test_summary_ports_and_dscp(void **state)
{
	struct umpa_pkt p, d;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &umpa_proto_ip);
	unit_push(&p, &umpa_proto_udp);
	unit_set(&p, 0, "src", "10.0.0.1");
	unit_set(&p, 0, "dst", "10.0.0.2");
	unit_set(&p, 0, "dscp", "ef");
	unit_set(&p, 0, "ecn", "ce");
	unit_set(&p, 1, "sport", "1234");
	unit_set(&p, 1, "dport", "5678");
	unit_finish(&p);
	assert_int_equal(unit_get_at(&p, 0, "tos"), 0xbb);
	redissect(&d, &p);
	unit_assert_line(&d, "IP 10.0.0.1.1234 > 10.0.0.2.5678: UDP, length 0");
	assert_fmt(&d, 0, "dsfield.dscp", "46 (ef)");
	umpa_pkt_release(&d);
	umpa_pkt_release(&p);
}

/* ---- tshark ---- */

static void test_tshark_clean(void **state)
{
	struct umpa_pkt pk[10];
	unsigned n = 0;
	int quoted_udp;

	(void)state;
	if (!unit_have_tshark())
		skip();
	umpa_pkt_init(&pk[n]);
	unit_push(&pk[n], &umpa_proto_ip);
	unit_push(&pk[n], &umpa_proto_icmp);
	unit_finish(&pk[n++]);
	build_icmp(&pk[n], "10.0.0.1", "10.0.0.2");
	unit_set(&pk[n], 1, "id", "1");
	unit_set(&pk[n], 1, "seq", "2");
	unit_push_payload(&pk[n], "0123456789abcdef0123456789abcdef0123456789abcdef0123456", 55);
	unit_finish(&pk[n++]);
	build_icmp(&pk[n], "10.0.0.1", "10.0.0.2");
	unit_set(&pk[n], 0, "options", "rr=1.2.3.4:0.0.0.0,nop,ra,lsrr=5.6.7.8,ts=100");
	unit_finish(&pk[n++]);
	build_icmp(&pk[n], "10.0.0.1", "10.0.0.2");
	unit_set(&pk[n], 0, "options", "ssrr=5.6.7.8:1.1.1.1,ts=1.2.3.4:100");
	unit_set(&pk[n], 0, "flags", "DF");
	unit_set(&pk[n], 0, "dscp", "af41");
	unit_finish(&pk[n++]);
	/* port unreachable quoting IP/UDP */
	{
		struct umpa_pkt req;
		umpa_pkt_init(&req);
		unit_push(&req, &umpa_proto_ip);
		unit_push(&req, &umpa_proto_udp);
		unit_set(&req, 0, "src", "10.0.0.1");
		unit_set(&req, 0, "dst", "10.0.0.2");
		unit_push_payload(&req, "query", 5);
		unit_finish(&req);
		build_icmp(&pk[n], "10.0.0.2", "10.0.0.1");
		unit_set(&pk[n], 1, "type", "dest-unreach");
		unit_set(&pk[n], 1, "code", "3");
		unit_push_payload(&pk[n], req.data, req.len);
		unit_finish(&pk[n++]);
		umpa_pkt_release(&req);
	}
	build_icmp(&pk[n], "10.0.0.1", "10.0.0.2");
	unit_set(&pk[n], 1, "type", "timestamp-request");
	unit_set(&pk[n], 1, "ts_ori", "1000");
	unit_finish(&pk[n++]);
	build_icmp(&pk[n], "10.0.0.1", "10.0.0.2");
	unit_set(&pk[n], 1, "type", "echo-reply");
	unit_set(&pk[n], 0, "ttl", "255");
	unit_finish(&pk[n++]);

	quoted_udp = unit_tshark_pkts(UMPA_LINKTYPE_RAW, pk, n, "-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE",
				      "User Datagram Protocol, Src Port: 53, Dst Port: 53");
	assert_int_equal(quoted_udp, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_names),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_real_echo_request),
	    cmocka_unit_test(test_real_port_unreachable),
	    cmocka_unit_test(test_auto_fields_with_options),
	    cmocka_unit_test(test_overrides_kept),
	    cmocka_unit_test(test_truncate_all),
	    cmocka_unit_test(test_invalid_lengths),
	    cmocka_unit_test(test_fragments),
	    cmocka_unit_test(test_build_port_unreachable),
	    cmocka_unit_test(test_real_host_unreach_answers),
	    cmocka_unit_test(test_echo_answers),
	    cmocka_unit_test(test_options_roundtrip),
	    cmocka_unit_test(test_icmp_types),
	    cmocka_unit_test(test_summary_ports_and_dscp),
	    cmocka_unit_test(test_tshark_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
