/* test_lua.c - the Lua binding: building, expansion, errors, sandbox, packet objects. */
#include "unit.h"

#include <dlfcn.h>
#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lua_internal.h"
#include "umpa_lua.h"
#include "umpa_sbuf.h"

/* What a build collects: every packet's bytes, concatenated as hex lines. */
struct got {
	unsigned long n;
	char hex[64][1024];
	int stop_at; /* return an error at this packet (1-based), 0: never */
};

static int collect(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct got *g = arg;

	if (g->stop_at && g->n + 1 == (unsigned long)g->stop_at)
		return umpa_err_set(e, UMPA_EIO, "disk full");
	if (g->n < 64) {
		char *h = g->hex[g->n];
		for (uint32_t i = 0; i < p->len && i < 500; i++)
			sprintf(h + 2 * i, "%02x", p->data[i]);
	}
	g->n++;
	return 0;
}

static int nothing(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	(void)p;
	(void)e;
	(*(unsigned long *)arg)++;
	return 0;
}

static struct umpa_lua *open_state(void)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);

	if (!L)
		fail_msg("umpa_lua_open: %s", e.msg);
	return L;
}

/* Build @expr and expect @n packets. */
static void build_ok(struct umpa_lua *L, const char *expr, struct got *g, unsigned long n)
{
	struct umpa_err e = {0};
	long rc;

	memset(g, 0, sizeof(*g));
	rc = umpa_lua_build(L, expr, "expression 1", 0, collect, g, &e);
	if (rc < 0)
		fail_msg("%s: %s", expr, e.msg);
	assert_int_equal(rc, n);
	assert_int_equal(g->n, n);
}

/* Build @expr and expect an error whose message contains @want. Returns the code. */
static int build_err(struct umpa_lua *L, const char *expr, unsigned long max, const char *want)
{
	struct umpa_err e = {0};
	struct got *g = calloc(1, sizeof(*g));
	long rc = umpa_lua_build(L, expr, "expression 1", max, collect, g, &e);

	free(g);
	if (rc >= 0)
		fail_msg("%s: built %ld packets, wanted an error with '%s'", expr, rc, want);
	if (!strstr(e.msg, want))
		fail_msg("%s: error '%s' lacks '%s'", expr, e.msg, want);
	assert_int_equal(rc, -e.code);
	return e.code;
}

/* Run a chunk that checks itself with assert(); fail with its message. */
static void run_ok(struct umpa_lua *L, const char *chunk)
{
	struct umpa_err e = {0};

	if (umpa_lua_run(L, chunk, strlen(chunk), "test", &e) < 0)
		fail_msg("%s", e.msg);
}

static void assert_hex(const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("got  %s\nwant %s", got, want);
}

/* Does the protocol look real yet (fields in its table)? */
static int real(const struct umpa_proto *pr)
{
	return pr->nfields > 0;
}

/* ---- bytes ---- */

static void test_bytes_ipv6_udp(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	/* scapy: IPv6(src="::1", dst="::2")/UDP(sport=1,dport=2)/"hi" */
	build_ok(L, "ipv6{src='::1', dst='::2'}/udp{sport=1, dport=2}/'hi'", &g, 1);
	assert_hex(g.hex[0],
		   "60000000000a1140000000000000000000000000000000010000000000000000000000000000000200010002000a"
		   "976b6869");
	/* Wireshark names and aliases work as keys */
	build_ok(L, "ipv6{['ipv6.src']='::1', dst='::2'}/udp{sport=1, ['udp.dstport']=2}/'hi'", &g, 1);
	assert_hex(g.hex[0],
		   "60000000000a1140000000000000000000000000000000010000000000000000000000000000000200010002000a"
		   "976b6869");
	umpa_lua_close(L);
}

static void test_bytes_tcp_options(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	/* scapy: IPv6(src="::1",dst="::2",hlim=7)/TCP(sport=1000,dport=80,flags="S",options=[MSS 1460, NOP]) */
	build_ok(L,
		 "ipv6{src='::1', dst='::2', hlim=7}/tcp{sport=1000, dport=80, flags='S', options={'mss=1460','nop'}}",
		 &g, 1);
	assert_hex(g.hex[0],
		   "60000000001c0607000000000000000000000000000000010000000000000000000000000000000203e800500000"
		   "0000000000007002200062e80000020405b401000000");
	/* the same as one string */
	build_ok(L, "ipv6{src='::1', dst='::2', hlim=7}/tcp{sport=1000, dport=80, flags='S', options='mss=1460,nop'}",
		 &g, 1);
	assert_hex(g.hex[0],
		   "60000000001c0607000000000000000000000000000000010000000000000000000000000000000203e800500000"
		   "0000000000007002200062e80000020405b401000000");
	/* alt{} tries several option lists */
	build_ok(L, "tcp{options=alt{{'mss=1460','nop'}, 'nop', 'wscale=7'}}", &g, 3);
	umpa_lua_close(L);
}

static void test_bytes_ether_ip_udp(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	if (!real(&umpa_proto_ip) || !real(&umpa_proto_eth) || !real(&umpa_proto_raw)) {
		umpa_lua_close(L);
		skip();
	}
	/* scapy: Ether(src=..01, dst=..02)/IP(src="10.0.0.1", dst="10.0.0.2", ttl=7)/UDP()/"payload" */
	build_ok(
	    L,
	    "ether{src='02:00:00:00:00:01', dst='02:00:00:00:00:02'}/ip{src='10.0.0.1', dst='10.0.0.2', ttl=7}/udp{}"
	    "/'payload'",
	    &g, 1);
	assert_hex(g.hex[0], "0200000000020200000000010800450000230001000007119fc70a0000010a00000200350035000f2e34"
			     "7061796c6f6164");
	build_ok(L, "ip{src='10.0.0.1', dst='10.0.0.2', ttl=7}/udp{}/'payload'", &g, 1);
	assert_hex(g.hex[0], "450000230001000007119fc70a0000010a00000200350035000f2e347061796c6f6164");
	/* scapy: IP(src="10.0.0.1", dst="10.0.0.2", ttl=7)/TCP(sport=40000, dport=22, flags="S", options=[...]) */
	build_ok(L,
		 "ip{src='10.0.0.1', dst='10.0.0.2', ttl=7}/tcp{sport=40000, dport=22, flags='S', "
		 "options='mss=1460,sackok,ts=1:0,nop,wscale=7'}",
		 &g, 1);
	assert_hex(g.hex[0], "4500003c0001000007069fb90a0000010a0000029c4000160000000000000000a002200077a60000020405b4"
			     "0402080a000000010000000001030307");
	/* an integer fills an address */
	build_ok(L, "ip{src=0x0a000001, dst='10.0.0.2', ttl=7}/udp{}/'payload'", &g, 1);
	assert_hex(g.hex[0], "450000230001000007119fc70a0000010a00000200350035000f2e347061796c6f6164");
	umpa_lua_close(L);
}

/* ---- expansion ---- */

static void test_expand_order(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;
	/* scapy: UDP(sport=[1,2], dport=(10,12)): the later field varies slowest */
	static const unsigned want[6][2] = {{1, 10}, {2, 10}, {1, 11}, {2, 11}, {1, 12}, {2, 12}};

	(void)state;
	build_ok(L, "udp{sport={1,2}, dport=range(10,12)}", &g, 6);
	for (int i = 0; i < 6; i++) {
		char w[32];
		snprintf(w, sizeof(w), "%04x%04x", want[i][0], want[i][1]);
		assert_memory_equal(g.hex[i], w, 8);
	}
	/* the outer layer varies slowest */
	build_ok(L, "ipv6{hlim={1,2}}/udp{dport={7,8,9}}", &g, 6);
	for (int i = 0; i < 6; i++) {
		char w[8];
		snprintf(w, sizeof(w), "%02x", i / 3 + 1);
		assert_memory_equal(g.hex[i] + 14, w, 2); /* hop limit: byte 7 */
		snprintf(w, sizeof(w), "%04x", 7 + i % 3);
		assert_memory_equal(g.hex[i] + 80 + 4, w, 4); /* udp dport: bytes 42-43 */
	}
	/* steps, descending ranges, ranges inside lists, empty ranges */
	build_ok(L, "udp{sport=range(10,1,-3)}", &g, 4); /* 10 7 4 1 */
	assert_memory_equal(g.hex[3], "0001", 4);
	build_ok(L, "udp{sport={1, range(5,6), {7, 8}}}", &g, 5);
	assert_memory_equal(g.hex[4], "0008", 4);
	build_ok(L, "udp{sport=range(5,1,1)}", &g, 0);
	build_ok(L, "udp{sport={}}", &g, 0);
	/* strings in lists are parsed once, addresses too */
	build_ok(L, "ipv6{dst={'::1','::2'}}/udp{}", &g, 2);
	assert_memory_equal(g.hex[1] + 48 + 30, "02", 2);
	umpa_lua_close(L);
}

static void test_expand_cap(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	assert_int_equal(build_err(L, "udp{sport=range(1,100)}", 10,
				   "expression 1: expression expands to more than 10 "
				   "packets"),
			 UMPA_ERANGE);
	assert_int_equal(
	    build_err(L, "udp{sport=range(0,65535), dport=range(0,65535)}", 0, "more than 1000000 packets"),
	    UMPA_ERANGE);
	/* nothing was built before the error */
	build_ok(L, "udp{sport=range(1,10)}", &g, 10);
	umpa_lua_close(L);
}

/* Addresses as prefixes (Scapy's Net): one packet per address, in order; bad ones named. */
static void test_cidr(void **state)
{
	struct umpa_lua *L = open_state();
	struct got *g = calloc(1, sizeof(*g));
	unsigned long n = 0;
	struct umpa_err e = {0};

	(void)state;
	run_ok(
	    L,
	    "local function dsts(v) local t = {} for _, p in ipairs(packets(v)) do\n"
	    "  t[#t + 1] = tostring((p.ip or p.ipv6).dst) end return table.concat(t, ' ') end\n"
	    "assert(dsts(ip{dst='10.1.2.3/32'}/icmp{}) == '10.1.2.3')\n"
	    "assert(dsts(ip{dst='10.1.2.3/31'}/icmp{}) == '10.1.2.2 10.1.2.3')\n"
	    "assert(dsts(ip{dst='10.0.0.5/30'}/icmp{}) == '10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7')\n"
	    "assert(dsts(ipv6{dst='fd00::7/126'}/udp{}) == 'fd00::4 fd00::5 fd00::6 fd00::7')\n"
	    "assert(dsts(ipv6{dst='fd00::ffff:fffe/127'}/udp{}) == 'fd00::ffff:fffe fd00::ffff:ffff')\n"
	    "assert(dsts(ip{dst={'10.0.0.9', '10.0.1.0/31', range(1,0,1)}}/icmp{}) == '10.0.0.9 10.0.1.0 10.0.1.1')\n"
	    "assert(dsts(ip{src='10.9.0.0/31', dst='10.0.0.0/31'}/icmp{}) == '10.0.0.0 10.0.0.0 10.0.0.1 10.0.0.1')\n"
	    "assert(tostring(ip{dst='10.0.0.0/28'}):find('10.0.0.0/28', 1, true))\n"
	    "local s = ip{dst='192.168.7.0/24'}; assert(#packets(s/icmp{}) == 256)\n"
	    "local t = packets(s/icmp{}); assert(t[1].ip.dst == '192.168.7.0' and t[256].ip.dst == '192.168.7.255')\n"
	    "local u = ip{dst=s.dst}; assert(#packets(u) == 256)\n");
	/* /24: 256 packets with their checksums (python3 computed the two expected ones) */
	build_ok(L, "ip{src=\"10.0.0.1\", dst=\"10.0.0.0/24\", id=1}/icmp{}", g, 256);
	assert_hex(g->hex[0], "4500001c00010000400166e00a0000010a000000"
			      "0800f7ff00000000");
	assert_hex(g->hex[63], "4500001c00010000400166a10a0000010a00003f"
			       "0800f7ff00000000");
	/* a /8 meets the cap before anything is built */
	assert_int_equal(umpa_lua_build(L, "ip{dst=\"10.0.0.0/8\"}/icmp{}", "expression 1", 0, nothing, &n, &e),
			 -UMPA_ERANGE);
	assert_non_null(strstr(e.msg, "expression expands to more than 1000000 packets (16777216)"));
	assert_int_equal(n, 0);
	assert_int_equal(build_err(L, "ipv6{dst=\"::/0\"}", 0, "expands to more than 1000000 packets"), UMPA_ERANGE);
	build_err(L, "ip{dst=\"10.0.0.0/33\"}", 0, "ip.dst: '10.0.0.0/33': the prefix length must be 0 to 32");
	build_err(L, "ipv6{dst=\"fd00::/129\"}", 0, "the prefix length must be 0 to 128");
	build_err(L, "ip{dst=\"10.0.0/8\"}", 0, "ip.dst: '10.0.0/8': '10.0.0' is not an IPv4 address");
	build_err(L, "ip{dst=\"fd00::/120\"}", 0, "'fd00::' is not an IPv4 address");
	build_err(L, "ipv6{dst=\"10.0.0.0/24\"}", 0, "'10.0.0.0' is not an IPv6 address");
	build_err(L, "ip{dst=\"10.0.0.0/\"}", 0, "the prefix length must be 0 to 32");
	build_err(L, "ip{dst=\"10.0.0.0/2x\"}", 0, "the prefix length must be 0 to 32");
	build_err(L, "ip{dst=\"10.0.0.0/-1\"}", 0, "the prefix length must be 0 to 32");
	build_err(L, "ipv6{dst=ip{dst=\"10.0.0.0/30\"}.dst}", 0, "ipv6.dst: an IPv4 prefix does not fit");
	free(g);
	umpa_lua_close(L);
}

static void test_chunk(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct got g = {0};
	const char *chunk = "local t = {}\n"
			    "for i = 1, 3 do t[#t+1] = udp{sport=i} end\n"
			    "return {t, 'raw bytes', {udp{dport={1,2}}}}, udp{}\n";
	long rc = umpa_lua_build_chunk(L, chunk, strlen(chunk), "t.lua", 0, collect, &g, &e);

	(void)state;
	if (rc < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rc, 3 + 1 + 2 + 1);
	assert_memory_equal(g.hex[2], "0003", 4);
	assert_hex(g.hex[3], "726177206279746573"); /* "raw bytes" */
	umpa_lua_close(L);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	const char *bad = "local x = 1\nreturn udp{dprt=1}\n";

	(void)state;
	assert_int_equal(
	    build_err(
		L, "udp{dprot=1}", 0,
		"expression 1:1: udp: unknown field 'dprot' (did you mean 'dport'? fields: srcport, dstport, length, "
		"checksum)"),
	    UMPA_ENOENT);
	build_err(L, "udp{sport=", 0, "expression 1:1:");
	build_err(L, "udp{sport=1.5}", 0, "expression 1:1: udp.srcport: 1.5 is not an integer");
	build_err(L, "udp{sport=-1}", 0, "udp.srcport: -1 is negative");
	build_err(L, "udp{sport=65536}", 0, "udp.srcport: 65536 does not fit in 16 bits");
	build_err(L, "udp{sport='http'}", 0, "udp.srcport: 'http' is not a number");
	build_err(L, "udp{sport={1, 70000}}", 0, "udp.srcport: 70000 does not fit");
	build_err(L, "udp{sport=range(1, 70000)}", 0, "udp.srcport: 70000 does not fit");
	build_err(L, "ipv6{dst='10.0.0.1'}", 0, "ipv6.dst: '10.0.0.1' is not an IPv6 address");
	build_err(L, "tcp{options='bogus'}", 0, "tcp.options");
	build_err(L, "udp{1}", 0, "udp: field names are strings");
	build_err(L, "udp{}/42", 0, "cannot stack a number");
	build_err(L, "42", 0, "expression 1: cannot build a number");
	build_err(L, "nil", 0, "nothing to build");
	build_err(L, "error('boom')", 0, "expression 1:1: boom");
	/* chunks: the line is named */
	assert_true(umpa_lua_build_chunk(L, bad, strlen(bad), "t.lua", 0, nothing, &(unsigned long){0}, &e) < 0);
	assert_non_null(strstr(e.msg, "t.lua:2: udp: unknown field 'dprt'"));
	/* writing fields of specs checks them too */
	build_err(L, "(function() local s = udp{} s.dprt = 1 return s end)()", 0,
		  "expression 1:1: udp: unknown field "
		  "'dprt'");
	umpa_lua_close(L);
}

/* Scapy's spelling is rewritten into Lua's; valid Lua keeps its meaning (templates/lua_scapy.c). */
static void test_scapy_spelling(void **state)
{
	struct umpa_lua *L = open_state();
	struct got a, b;

	(void)state;
	/* the same bytes in both spellings */
	build_ok(L, "Ether(src='02:00:00:00:00:01')/IP(dst='10.0.0.1', ttl=5)/TCP(dport=80, flags='SA')", &a, 1);
	build_ok(L, "eth{src='02:00:00:00:00:01'}/ip{dst='10.0.0.1', ttl=5}/tcp{dport=80, flags='SA'}", &b, 1);
	assert_hex(a.hex[0], b.hex[0]);
	build_ok(L, "IP()/TCP(options=[('MSS', 1460), ('NOP', None), ('Timestamp', (7, 0)), ('SAck', (1, 2, 3, 4))])",
		 &a, 1);
	build_ok(L, "ip{}/tcp{options='mss=1460,nop,ts=7:0,sack=1-2:3-4'}", &b, 1);
	assert_hex(a.hex[0], b.hex[0]);
	build_ok(L, "IP()/UDP(dport=[7, 9])/Raw('x' * 3)", &a, 2);
	build_ok(L, "ip{}/udp{dport={7, 9}}/'xxx'", &b, 2);
	assert_hex(a.hex[1], b.hex[1]);
	build_ok(L, "IP()/UDP()/DNS(rd=1, qd=DNSQR(qname='a.example', qtype='MX'))", &a, 1);
	build_ok(L, "ip{}/udp{}/dns{qd='a.example:MX'}", &b, 1);
	assert_hex(a.hex[0], b.hex[0]);
	run_ok(L, "assert(DNSQR(qname='a.b', qtype=28, qclass='CH') == 'a.b:28:CH')\n"
		  "assert(DNSQR() == 'www.example.com')\n"
		  "assert(DNSRR(rrname='a.b', rclass=3, ttl=9, rdata='1.2.3.4') == 'a.b:A:CLASS3:9:1.2.3.4')\n"
		  "assert(ICMPv6EchoReply().type == 'echo-reply' and ICMPv6EchoReply(type=1).type == 1)\n"
		  "assert(True == true and False == false)\n");
	/* keyword arguments after positional ones, nested calls, lists of lists */
	run_ok(L, "local function g(a, t) return a + t.k + #t.l end\n"
		  "assert(g(1, k=2, l=[ [1, 2], [3] ]) == 5)\n"
		  "local function n(t) return #t end\n"
		  "assert(n([1, 2, 3]) == 3 and n([]) == 0)\n");
	/* valid Lua is left alone: comparisons, indexing, table keys, strings, comments, numbers */
	run_ok(L, "local function f(x) return x end\n"
		  "assert(f(1 == 1) == true and f(2 >= 1) and f(1 ~= 2) and f(1 <= 2))\n"
		  "local t = {[1] = 2, [\"k\"] = 3}\n"
		  "assert(t[1] == 2 and t[\"k\"] == 3 and f(t)[1] == 2)\n"
		  "local s = [==[ f(a=1) [x] ]==] -- f(b=2) [y]\n"
		  "assert(s == ' f(a=1) [x] ' and f('f(a=1)') == 'f(a=1)' and f(\"[1]\") == '[1]')\n"
		  "--[[ f(c=3) ]] assert(f(1) == 1)\n"
		  "assert(('3' * 4) == 12 and ('ab' * 2) == 'abab' and (3 * 'ab') == 'ababab' and 2 * 3 == 6)\n");
	build_err(L, "IP(dts='10.0.0.1')", 0, "did you mean 'dst'?");
	build_err(L, "IPP()/TCP()", 0, "(global 'IPP'); did you mean 'IP'?");
	umpa_lua_close(L);
}

/* fragment() and dissect() from Lua (protocols/fragment.c: Scapy's sizes) */
static void test_fragment_dissect(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	/* 8 (UDP) + 100 bytes in pieces of 16: six of 16 and a last of 12 */
	build_ok(L, "fragment(ip{id=9}/udp{}/string.rep('x', 100), 16)", &g, 7);
	assert_memory_equal(g.hex[0] + 12, "2000", 4); /* MF, offset 0 */
	assert_memory_equal(g.hex[1] + 12, "2002", 4); /* MF, offset 2 (16 bytes) */
	assert_memory_equal(g.hex[6] + 12, "000c", 4); /* last: no MF, offset 12 (96 bytes) */
	assert_memory_equal(g.hex[6] + 4, "0020", 4);  /* total length 20 + 12 */
	/* 20 rounds down to 16, the last piece takes up to 20: 100 bytes are 5 x 16 + 20 */
	build_ok(L, "fragment(ip{}/udp{}/string.rep('x', 92), 20)", &g, 6);
	assert_memory_equal(g.hex[5] + 4, "0028", 4); /* 20 + 20 */
	build_ok(L, "fragment(ipv6{}/ipv6_frag{id=3}/udp{}/string.rep('x', 100), 64)", &g, 2);
	build_ok(L, "fragment(ip{}/udp{}, 1480)", &g, 1); /* fits: itself */
	build_err(L, "fragment(ipv6{}/udp{}/string.rep('x', 100), 16)", 0, "needs a fragment header");
	build_err(L, "fragment(ip{}/udp{}, 7)", 0, "from 8 to 65535");
	build_err(L, "fragment(eth{}/arp{}, 16)", 0, "no IPv4 or IPv6 header");
	run_ok(L, "local p = packets(ether{}/ip{dst='10.0.0.1', chksum=0xdead}/udp{dport=9}/'hi')[1]\n"
		  "local q = dissect(p:bytes())\n"
		  "assert(q:bytes() == p:bytes() and q.udp.dstport == 9 and q.ip.checksum == 0xdead)\n"
		  "local r = dissect(packets(ip{dst='10.0.0.2'}/icmp{})[1]:bytes(), 'IP')\n"
		  "assert(r.ip.dst == '10.0.0.2' and r.icmp)\n"
		  "assert(not pcall(dissect, 'x', 'nosuch'))\n");
	build_ok(L, "dissect(packets(ether{}/ip{chksum=0xdead}/udp{})[1]:bytes())", &g, 1);
	assert_memory_equal(g.hex[0] + 28 + 20, "dead", 4); /* built as it was: the lie kept */
	umpa_lua_close(L);
}

/* reply()'s compiled answers: for packets of every shape reply() knows
 * (ICMP echo with and without data, ARP, ICMPv6 echo, TCP, UDP, IP without
 * Ethernet), the answer built from specs kept and passed again (compiled
 * the second time, then built from p's bytes) is byte for byte the one
 * built from new specs (never compiled: the slow path); a lazy answer is a
 * stack like any other (tostring, #, fields, /), and a spec or packet
 * written after reply() does not change an answer already made. */
static void test_reply_compiled(void **state)
{
	struct umpa_lua *L = open_state();
	lua_State *S = umpa_lua_state(L);
	unsigned long compiled, built;

	(void)state;
	umpa_lua_push_reply_(S);
	lua_setglobal(S, "reply");
	run_ok(
	    L,
	    "local A, B = '02:00:00:00:00:0a', '02:00:00:00:00:01'\n"
	    "local function frame(kind, k)\n"
	    "  local e, i = ether{src = A, dst = B}, ip{src = '10.0.0.' .. (10 + k), dst = '10.0.0.1', ttl = 9, id = "
	    "k}\n"
	    "  if kind == 'echo' then return e/i/icmp{type = 'echo-request', id = 70 + k, seq = k}/('data' .. k) end\n"
	    "  if kind == 'echo0' then return e/i/icmp{type = 'echo-request', id = 70 + k, seq = k} end\n"
	    "  if kind == 'arp' then return e/arp{op = 'request', hwsrc = A, psrc = '10.0.0.' .. (10 + k), pdst = "
	    "'10.0.0.1'} end\n"
	    "  if kind == 'v6' then return e/ipv6{src = 'fd00::' .. k, dst = 'fd00::1'}/icmpv6{type = "
	    "'echo-request', id = k, seq = 2 * k}/('six' .. k) end\n"
	    "  if kind == 'tcp' then return e/i/tcp{sport = 4000 + k, dport = 80, flags = 'S', seq = 1000 * k}/'syn' "
	    "end\n"
	    "  if kind == 'udp' then return e/i/udp{sport = 1000 + k, dport = 53}/'q' end\n"
	    "  return ip{src = '10.0.0.' .. (10 + k), dst = '10.0.0.1'}/icmp{type = 'echo-request', id = k, seq = "
	    "k}/'raw'\n"
	    "end\n"
	    "local cases = {\n"
	    "  {'echo', function() return ether{src = B}, ip{ttl = 33}, icmp{type = 'echo-reply'} end},\n"
	    "  {'echo', function() return icmp{type = 'echo-reply'} end},\n"
	    "  {'echo0', function() return ether{src = B}, icmp{type = 'echo-reply'} end},\n"
	    "  {'arp', function() return arp{hwsrc = B} end},\n"
	    "  {'arp', function() return ether{src = B} end},\n"
	    "  {'arp', function() return arp{} end},\n"
	    "  {'v6', function() return ether{src = B}, ipv6{hlim = 7}, icmpv6{type = 'echo-reply'} end},\n"
	    "  {'tcp', function() return ether{src = B}, tcp{flags = 'SA', seq = 9} end},\n"
	    "  {'tcp', function() return tcp{flags = 'RA', seq = 0, window = 0} end},\n"
	    "  {'udp', function() return ether{src = B}, udp{} end},\n"
	    "  {'raw', function() return ip{ttl = 64}, icmp{type = 'echo-reply'} end},\n"
	    "}\n"
	    "for n, c in ipairs(cases) do\n"
	    "  local kept = {c[2]()}\n"
	    "  for k = 1, 5 do\n"
	    "    local p = dissect(packets(frame(c[1], k))[1]:bytes(), c[1] == 'raw' and 'IP' or nil)\n"
	    "    local fast = packets(reply(p, table.unpack(kept)))[1]:bytes()\n"
	    "    local slow = packets(reply(p, c[2]()))[1]:bytes()\n"
	    "    assert(fast == slow, 'case ' .. n .. ' packet ' .. k .. ' differs')\n"
	    "  end\n"
	    "end\n");
	umpa_lua_reply_stats_(S, &compiled, &built);
	if (compiled < 11 || built < 11 * 3)
		fail_msg("compiled %lu, built %lu: the fast path did not run", compiled, built);
	run_ok(L, "local E, I, C = ether{src = '02:00:00:00:00:01'}, ip{ttl = 33}, icmp{type = 'echo-reply'}\n"
		  "local p = dissect(packets(ether{src = '02:00:00:00:00:0a', dst = '02:00:00:00:00:01'}/ip{src = "
		  "'10.0.0.10', dst = '10.0.0.1'}/icmp{type = 'echo-request', id = 5, seq = 6}/'hello')[1]:bytes())\n"
		  "local function slow() return reply(p, ether{src = '02:00:00:00:00:01'}, ip{ttl = 33}, icmp{type = "
		  "'echo-reply'}) end\n"
		  "local function warm() for i = 1, 3 do packets(reply(p, E, I, C)) end end\n"
		  "warm()\n"
		  "local r = reply(p, E, I, C)\n"
		  "assert(tostring(r) == tostring(slow()), tostring(r))\n"
		  "assert(#r == 4 and r.ip.dst == '10.0.0.10' and r.icmp.id == 5 and r[4] == 'hello')\n"
		  "assert(#(reply(p, E, I, C) / 'more') == 5)\n"
		  "local want = packets(slow())[1]:bytes()\n"
		  "local r2 = reply(p, E, I, C)\n"
		  "E.src = '02:00:00:00:00:99'\n"
		  "assert(packets(r2)[1]:bytes() == want, 'a spec written after reply() changed its answer')\n"
		  "warm()\n"
		  "local shown = tostring(reply(p, E, I, C))\n"
		  "local r4 = reply(p, E, I, C)\n"
		  "E.src = '02:00:00:00:00:98'\n"
		  "assert(tostring(r4) == shown, 'a spec written after reply() changed its layers')\n"
		  "assert(packets(reply(p, E, I, C))[1]:bytes() ~= want, 'the spec written is not used')\n"
		  "E.src = '02:00:00:00:00:01'\n"
		  "warm()\n"
		  "local r3 = reply(p, E, I, C)\n"
		  "p.ip.src = '10.9.9.9'\n"
		  "assert(packets(r3)[1]:bytes() == want, 'a packet written after reply() changed its answer')\n"
		  "assert(packets(reply(p, E, I, C))[1].ip.dst == '10.9.9.9')\n");
	umpa_lua_close(L);
}

/* umpa_lua_eval: an interactive entry's values, statements, unfinished statements */
static void test_eval(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_sbuf out = {0};
	struct umpa_err e = {0};

	(void)state;
	assert_int_equal(umpa_lua_eval(L, "1 + 1, 'x'\n", 11, "stdin", &out, &e), 0);
	assert_string_equal(out.s, "2\tx\n");
	umpa_sbuf_reset(&out);
	assert_int_equal(umpa_lua_eval(L, "y = 5", 5, "stdin", &out, &e), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(umpa_lua_eval(L, "function f()\n", 13, "stdin", &out, &e), UMPA_LUA_INCOMPLETE);
	assert_int_equal(umpa_lua_eval(L, "function f()\n return y * 2\nend\n", 31, "stdin", &out, &e), 0);
	assert_int_equal(umpa_lua_eval(L, "f()", 3, "stdin", &out, &e), 0);
	assert_string_equal(out.s, "10\n");
	assert_true(umpa_lua_eval(L, "nosuch()", 8, "stdin", &out, &e) < 0);
	assert_string_equal(e.msg, "stdin:1: attempt to call a nil value (global 'nosuch')");
	assert_true(umpa_lua_eval(L, "x = = 1", 7, "stdin", &out, &e) < 0);
	umpa_sbuf_free(&out);
	umpa_lua_close(L);
}

static void test_callback_stops(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct got *g = calloc(1, sizeof(*g));
	long rc;

	(void)state;
	g->stop_at = 3;
	rc = umpa_lua_build(L, "udp{sport=range(1,10)}", "expression 1", 0, collect, g, &e);
	assert_int_equal(rc, -UMPA_EIO);
	assert_string_equal(e.msg, "disk full");
	assert_int_equal(g->n, 2);
	free(g);
	/* the state is still usable */
	rc = umpa_lua_build(L, "udp{}", "expression 2", 0, nothing, &(unsigned long){0}, &e);
	assert_int_equal(rc, 1);
	umpa_lua_close(L);
}

/* ---- sandbox and limits ---- */

static void test_sandbox(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};

	(void)state;
	run_ok(L, "assert(io == nil and os == nil and require == nil and package == nil and debug == nil)\n"
		  "assert(dofile == nil and loadfile == nil and print == nil and string.dump == nil)\n"
		  "assert(string and table and math and utf8 and pairs and pcall)\n"
		  "assert(load('return 1+1')() == 2)\n"
		  "local f, err = load('\\27Lua', 'x', 'b') assert(f == nil and err:find('binary'))\n"
		  "assert(type(ip) == 'function' and type(ipv6) == 'function' and type(udp) == 'function' and "
		  "type(tcp) == 'function')\n"
		  "assert(getmetatable(udp{}) == 'umpa.spec')\n");
	/* a runtime error names the chunk and line */
	assert_true(umpa_lua_run(L, "local a = 1\nlocal b = a + nil\n", 30, "tpl.lua", &e) < 0);
	assert_non_null(strstr(e.msg, "tpl.lua:2:"));
	umpa_lua_close(L);
}

static void test_instruction_cap(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	const char *loop = "while true do end";
	const char *sneaky = "while true do pcall(function() while true do end end) end";

	(void)state;
	umpa_lua_set_limits(L, 0, 1000000);
	assert_int_equal(umpa_lua_run(L, loop, strlen(loop), "loop.lua", &e), -UMPA_ERANGE);
	assert_non_null(strstr(e.msg, "loop.lua:1: instruction limit reached"));
	/* catching the error does not help */
	assert_int_equal(umpa_lua_run(L, sneaky, strlen(sneaky), "loop.lua", &e), -UMPA_ERANGE);
	/* each call gets a new budget */
	run_ok(L, "for i = 1, 1000 do end");
	build_err(L, "(function() while true do end end)()", 0, "expression 1:1: instruction limit reached");
	umpa_lua_close(L);
}

/* Run @chunk, expect it to fail within @max_s seconds with a message containing @want. */
/* Seconds this thread has waited on a run queue (ready while other tasks had
 * the CPU), from the scheduler's statistics; 0 when unknown. */
static double run_wait_s(void)
{
	unsigned long long run, wait;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	int n = f ? fscanf(f, "%llu %llu", &run, &wait) : 0;

	if (f)
		fclose(f);
	return n == 2 ? (double)wait / 1e9 : 0;
}

/* The chunk fails with @want and code @code within @max_s seconds of its own
 * time: wall time less what the thread waited for a CPU (a loaded machine),
 * as the limits themselves count it. */
static void run_fails(struct umpa_lua *L, const char *chunk, const char *want, double max_s, int code)
{
	struct umpa_err e = {0};
	struct timespec a, b;
	double took, w0 = run_wait_s();
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = umpa_lua_run(L, chunk, strlen(chunk), "t.lua", &e);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 - (run_wait_s() - w0);
	if (rc != -code || !strstr(e.msg, want) || took > max_s)
		fail_msg("chunk: %s\nrc %d (want %d) after %.2f s (at most %.2f)\nmsg:  %s\nwant: %s", chunk, rc, -code,
			 took, max_s, e.msg, want);
}

/* CPU and wall-clock limits hold where the count hook alone did not: in
 * xpcall handlers, __close, metamethods, pattern matching, table.move and
 * single long instructions; finalizers are refused. */
static void test_time_limits(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct umpa_lua_deadline d = {.cpu = 0.3, .wall = 5};
	static const struct {
		const char *chunk, *want;
	} hang[] = {
	    {"while true do end", "t.lua:1: time limit exceeded (0.3 s CPU)"},
	    /* the handler of an error raised by the hook ran with hooks off */
	    {"while true do xpcall(function() while true do end end, function(e) while true do end end) end",
	     "t.lua:1: time limit exceeded (0.3 s CPU)"},
	    {"xpcall(error, function(e) while true do end end)", "t.lua:1: time limit exceeded (0.3 s CPU)"},
	    {"while true do pcall(function() while true do end end) end", "t.lua:1: time limit exceeded (0.3 s CPU)"},
	    {"do local x <close> = setmetatable({}, {__close = function() while true do end end}) end",
	     "t.lua:1: time limit exceeded (0.3 s CPU)"},
	    {"local t = setmetatable({}, {__index = function() while true do end end}) return t.x",
	     "t.lua:1: time limit exceeded (0.3 s CPU)"},
	    {"string.find(string.rep('a', 5000), string.rep('.-', 30) .. 'X')",
	     "t.lua:1: time limit exceeded (0.3 s CPU) in string.find"},
	    {"string.find(string.rep('a', 3000), string.rep('a*', 40) .. 'b')",
	     "t.lua:1: time limit exceeded (0.3 s CPU) in string.find"},
	    {"string.match(string.rep('(', 300000), '%b()x')",
	     "t.lua:1: time limit exceeded (0.3 s CPU) in string.match"},
	    {"for m in string.gmatch(string.rep('a', 5000), string.rep('a*', 25) .. 'b') do end",
	     "t.lua:1: time limit exceeded (0.3 s CPU) in string.gmatch"},
	    {"string.gsub(string.rep('a', 5000), string.rep('.-', 30) .. 'X', '')",
	     "t.lua:1: time limit exceeded (0.3 s CPU) in string.gsub"},
	    {"table.move({}, 1, math.maxinteger - 1, 2)", "t.lua:1: time limit exceeded (0.3 s CPU) in table.move"},
	    /* four instructions per turn, each copying 32 MB: only the timer's tick makes the hook look */
	    {"local big = string.rep('x', 32 << 20) while true do local y = big .. 'y' end",
	     "t.lua:1: time limit exceeded (0.3 s CPU)"},
	};

	(void)state;
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	for (size_t i = 0; i < sizeof(hang) / sizeof(hang[0]); i++)
		run_fails(L, hang[i].chunk, hang[i].want, 8.0, UMPA_ERANGE);
	/* finalizers are refused; __gc added later is never called */
	run_fails(L, "setmetatable({}, {__gc = function() while true do end end})",
		  "t.lua:1: setmetatable: __gc is not allowed", 1.0, UMPA_EINVAL);
	run_ok(L, "local mt = {} local t = setmetatable({}, mt) mt.__gc = function() while true do end end\n"
		  "t = nil collectgarbage() collectgarbage()");
	/* the limit cannot be caught: no code runs after it, the first message stands */
	run_fails(L, "local ok, err = pcall(function() while true do end end) error('caught: ' .. tostring(err))",
		  "t.lua:1: time limit exceeded (0.3 s CPU)", 8.0, UMPA_ERANGE);
	/* the wall clock */
	d = (struct umpa_lua_deadline){.wall = 0.3};
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	run_fails(L, "while true do end", "t.lua:1: time limit exceeded (0.3 s wall clock)", 3.0, UMPA_ERANGE);
	/* a new call gets a new budget; ordinary work is untouched */
	run_ok(L, "local n = 0 for i = 1, 100000 do n = n + i end assert(n == 5000050000)");
	d.wall = -1;
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), -UMPA_EINVAL);
	d.wall = 0.0 / 0.0;
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), -UMPA_EINVAL);
	umpa_lua_close(L);
}

static double thread_cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The limits measure the call, not the machine's load: a call that shares its
 * CPU with a busy process (both pinned to one CPU) takes about twice its CPU
 * time in wall time, and neither the CPU limit nor the wall-clock limit, both
 * set 1.5 times its CPU time, stops it.  The call is one long instruction
 * (string.rep of 24 MiB: no clock is read while it runs), the case where the
 * CPU time used to be estimated from the wall time.  Then the same limits
 * still stop a call that really runs too long. */
static void test_time_limits_loaded(void **state)
{
	const char *chunk = "local s = string.rep('x', 24 << 20) return #s";
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct umpa_lua_deadline d = {.cpu = 5, .wall = 10};
	cpu_set_t old, one;
	double c = 1e9, took = 0;
	int cpu = sched_getcpu(), tries;
	pid_t busy[2];

	(void)state;
	assert_true(cpu >= 0);
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	for (int i = 0; i < 3; i++) { /* its CPU time alone */
		double t0 = thread_cpu();
		run_ok(L, chunk);
		if (thread_cpu() - t0 < c)
			c = thread_cpu() - t0;
	}
	for (int k = 0; k < 2; k++) {
		busy[k] = fork();
		assert_true(busy[k] >= 0);
		if (busy[k] == 0) { /* two competitors: pinned to the same CPU (inherited), bounded by alarm */
			alarm(60);
			for (volatile unsigned long n = 0;; n++)
				;
		}
	}
	/* limits twice the CPU time alone (room for the run's own noise: page faults, caches); with two
	 * competitors the call takes about three times as long, which a limit counting waits would stop */
	d.cpu = d.wall = c * 2;
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	/* the competitors must really have taken the CPU for the run to prove anything */
	for (tries = 0; tries < 5 && took < c * 2.2; tries++) {
		double t0 = mono();
		if (umpa_lua_run(L, chunk, strlen(chunk), "t.lua", &e) < 0) {
			kill(busy[0], SIGKILL);
			kill(busy[1], SIGKILL);
			fail_msg("%s (CPU time alone %.3f s, limits %.3f s)", e.msg, c, d.cpu);
		}
		took = mono() - t0;
	}
	for (int k = 0; k < 2; k++) {
		kill(busy[k], SIGKILL);
		waitpid(busy[k], NULL, 0);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	if (took < c * 2.2)
		print_message("note: the competitors never slowed the call (%.3f s wall, %.3f s CPU)\n", took, c);
	/* a call that needs more than its CPU limit is still stopped, and one longer than the wall limit too */
	d = (struct umpa_lua_deadline){.cpu = c / 3, .wall = 10};
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	run_fails(L, "local s = string.rep('x', 24 << 20) while true do end", "s CPU)", 10 + c * 3, UMPA_ERANGE);
	d = (struct umpa_lua_deadline){.cpu = 5, .wall = c / 3};
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	run_fails(L, "local s = string.rep('x', 24 << 20) while true do end", "s wall clock)", 10 + c * 3, UMPA_ERANGE);
	umpa_lua_close(L);
}

/* A thread that blocks the timer's signal: the hook's polling still stops a
 * loop, and closing the state takes the pending tick away (else it would
 * reach a freed state once the signal is unblocked). */
static void test_time_signal_blocked(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct umpa_lua_deadline d = {.cpu = 0.3, .wall = 5};
	sigset_t set, old, pend;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 4);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	run_fails(L, "while true do end", "t.lua:1: time limit exceeded (0.3 s CPU)", 8.0, UMPA_ERANGE);
	assert_int_equal(sigpending(&pend), 0);
	assert_int_equal(sigismember(&pend, SIGRTMIN + 4), 1); /* the ticks waited */
	umpa_lua_close(L);
	assert_int_equal(sigpending(&pend), 0);
	assert_int_equal(sigismember(&pend, SIGRTMIN + 4), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

/* umpa_lua_pcall: a fresh budget per callback, a budget over the state's life. */
static void test_pcall_budget(void **state)
{
	struct umpa_lua *L = open_state();
	lua_State *S = umpa_lua_state(L);
	struct umpa_err e = {0};
	struct umpa_lua_deadline d = {.cpu = 0.2, .total = 0.6};
	int calls = 0, rc = 0;

	(void)state;
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	run_ok(L, "function spin(s) local n = 0 for i = 1, s do n = n + 1 end return n end\n"
		  "function forever() while true do end end");
	/* each callback gets its own 0.2 s */
	lua_getglobal(S, "forever");
	assert_int_equal(umpa_lua_pcall(L, 0, 0, "forever", &e), -UMPA_ERANGE);
	assert_non_null(strstr(e.msg, "time limit exceeded (0.2 s CPU)"));
	/* until the state's 0.6 s are spent */
	while (calls < 20 && (rc = (lua_getglobal(S, "forever"), umpa_lua_pcall(L, 0, 0, "forever", &e))) < 0 &&
	       !strstr(e.msg, "in total"))
		calls++;
	assert_int_equal(rc, -UMPA_ERANGE);
	assert_non_null(strstr(e.msg, "time limit exceeded (0.6 s CPU in total)"));
	assert_true(calls <= 3); /* 0 when the first tick came late on a loaded machine (counted as CPU) */
	/* results come back */
	lua_getglobal(S, "spin");
	lua_pushinteger(S, 10);
	d.total = 0;
	assert_int_equal(umpa_lua_set_deadline(L, &d, &e), 0);
	assert_int_equal(umpa_lua_pcall(L, 1, 1, "spin", &e), 0);
	assert_int_equal(lua_tointeger(S, -1), 10);
	lua_pop(S, 1);
	umpa_lua_close(L);
}

/* C code charging its work: spend(n) charges n without raising, raise() raises. */
static int l_spend(lua_State *S)
{
	lua_pushboolean(S, umpa_lua_budget_spent_(S, (unsigned long)luaL_checkinteger(S, 1)));
	return 1;
}

static int l_raise(lua_State *S)
{
	umpa_lua_charge_(S, 0, "raise");
	return 0;
}

static void test_charge(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	const char *chunk = "assert(spend(1000) == false)\n"
			    "assert(spend(2000000) == true)\n"
			    "raise()\n"
			    "error('not reached')\n";

	(void)state;
	lua_register(umpa_lua_state(L), "spend", l_spend);
	lua_register(umpa_lua_state(L), "raise", l_raise);
	umpa_lua_set_limits(L, 0, 1000000);
	assert_int_equal(umpa_lua_run(L, chunk, strlen(chunk), "c.lua", &e), -UMPA_ERANGE);
	assert_string_equal(e.msg, "c.lua:3: instruction limit reached (1000000 Lua instructions) in raise");
	run_ok(L, "assert(spend(1000) == false)");
	umpa_lua_close(L);
}

/* load: text only, at most 4 MiB of source, readers called under the hook. */
static void test_load(void **state)
{
	struct umpa_lua *L = open_state();

	(void)state;
	run_ok(L, "local f = assert(load(\"return 1 + 1\")) assert(f() == 2)\n"
		  "local parts, i = {\"return \", \"2\", \" * 21\"}, 0\n"
		  "local g = assert(load(function() i = i + 1 return parts[i] end)) assert(g() == 42)\n"
		  "local ok, err = load(function() return 5 end) assert(not ok and err == \"reader function must "
		  "return a string\", err)\n"
		  "assert(select(2, load(function() error(\"rd\", 0) end)) == \"rd\")\n"
		  "assert(select(2, load(\"x =\")):find(\"^%[string \\\"x =\\\"%]:1:\"))\n"
		  "local j = 0\n"
		  "assert(select(2, load(function() j = j + 1 return ({\"x =\"})[j] end)):find(\"^%(load%):1:\"))\n"
		  "local e = select(2, load(string.rep(\" \", 5 * 1024 * 1024)))\n"
		  "assert(e:find(\"chunk larger than the sandbox compiles %(4 MiB%)\"), e)\n"
		  "local big, k = string.rep(\" \", 1024 * 1024), 0\n"
		  "local e2 = select(2, load(function() k = k + 1 return k <= 5 and big or nil end))\n"
		  "assert(e2 and e2:find(\"4 MiB\"), e2)\n");
	umpa_lua_close(L);
}

/* The bounded matcher matches as Lua's does. */
static void test_patterns(void **state)
{
	struct umpa_lua *L = open_state();

	(void)state;
	run_ok(L, "assert(string.find('hello world', 'o w') == 5)\n"
		  "assert(select(2, string.find('hello world', 'o w')) == 7)\n"
		  "assert(string.find('a.b', '.', 1, true) == 2)\n"
		  "assert(string.find('abc', '', 10) == nil and string.find('abc', '', 4) == 4)\n"
		  "assert(string.match('key = value', '(%w+)%s*=%s*(%w+)') == 'key')\n"
		  "assert(select(2, string.match('key = value', '(%w+)%s*=%s*(%w+)')) == 'value')\n"
		  "assert(string.match('THE (quick) fox', '%((%a+)%)') == 'quick')\n"
		  "assert(string.match('  x', '()x') == 3)\n"
		  "assert(string.match('f(a(b)c)d', '%b()') == '(a(b)c)')\n"
		  "assert(string.match('THE quick', '%f[%a]%a+', 4) == 'quick')\n"
		  "assert(string.match('abab', '(ab)%1') == 'ab')\n"
		  "local t = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do t[#t + 1] = k .. v end\n"
		  "assert(table.concat(t, ',') == 'a1,b2')\n"
		  "assert(string.gsub('hello world', 'o', '0') == 'hell0 w0rld')\n"
		  "assert(select(2, string.gsub('hello world', 'o', '0', 1)) == 1)\n"
		  "assert(string.gsub('abc', '%w', '%0%0') == 'aabbcc')\n"
		  "assert(string.gsub('$name', '%$(%w+)', {name = 'x'}) == 'x')\n"
		  "assert(string.gsub('abc', '.', function(c) return c:upper() end) == 'ABC')\n"
		  "assert(('x'):rep(3):gsub('x', 'y') == 'yyy')\n"
		  "assert(not pcall(string.find, 'a', '[a'))\n"
		  "assert(select(2, pcall(string.match, 'a', string.rep('(', 40))):find('too many captures'))\n"
		  "local a = {1, 2, 3, 4, 5} table.move(a, 1, 3, 3) assert(table.concat(a, ',') == '1,2,1,2,3')\n"
		  "local b = table.move({1, 2, 3}, 1, 3, 1, {}) assert(#b == 3 and b[3] == 3)\n"
		  "local ok, r = xpcall(function() error('x', 0) end, function(m) return 'h:' .. m end)\n"
		  "assert(not ok and r == 'h:x')\n"
		  "assert(select('#', xpcall(function(...) return ... end, print or error, 1, 2, 3)) == 4)\n");
	umpa_lua_close(L);
}

static void test_memory_cap(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	const char *big = "local s = string.rep('x', 300 * 1024 * 1024)";
	const char *grow = "local t = {} for i = 1, 1e9 do t[i] = i end";

	(void)state;
	assert_int_equal(umpa_lua_run(L, big, strlen(big), "big.lua", &e), -UMPA_ENOMEM);
	assert_non_null(strstr(e.msg, "big.lua: memory limit (256 MiB) exceeded"));
	umpa_lua_set_limits(L, 16 << 20, 0);
	assert_int_equal(umpa_lua_run(L, grow, strlen(grow), "grow.lua", &e), -UMPA_ENOMEM);
	/* the state recovers */
	run_ok(L, "local t = {} for i = 1, 1000 do t[i] = i end");
	umpa_lua_close(L);
}

/* Packet bytes live outside Lua's allocator: they count against the same cap, and come back. */
static void test_memory_cap_packets(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	/* 1,000 live copies of a 60 KB packet: 60 MB of bytes in 1,000 small Lua objects */
	const char *keep = "local p = packets(ip{}/udp{}/string.rep('x', 60000))[1]\n"
			   "local t = {} for i = 1, 1000 do t[i] = p:copy() end";
	/* the same in garbage: collected as it goes, its bytes given back */
	const char *garbage = "local p = packets(ip{}/udp{}/string.rep('x', 60000))[1]\n"
			      "for i = 1, 5000 do local c = p:copy() end\n"
			      "local t = {} for i = 1, 100 do t[i] = p:copy() end";
	/* built packets, and a written field that grows a packet (options) */
	const char *built = "local t = {} for i = 1, 1000 do t[i] = packets(ip{}/tcp{}/string.rep('y', 60000)) end";
	const char *grown = "local t = {} for i = 1, 200 do local p = packets(ip{}/tcp{}/string.rep('z', 1000))[1]\n"
			    "p.tcp.options = 'mss=1460,nop,nop,sackok' t[i] = p end";
	const char *pcall_then = "local p = packets(ip{}/string.rep('x', 60000))[1] local t = {}\n"
				 "local ok, err = pcall(function() for i = 1, 1000 do t[i] = p:copy() end end)\n"
				 "assert(not ok and err:find('memory limit %(16 MiB%) exceeded'), err)\n"
				 "t = nil collectgarbage() local u = {} for i = 1, 100 do u[i] = p:copy() end";

	(void)state;
	umpa_lua_set_limits(L, 16 << 20, 0);
	assert_int_equal(umpa_lua_run(L, keep, strlen(keep), "keep.lua", &e), -UMPA_ENOMEM);
	assert_non_null(strstr(e.msg, "keep.lua:2: memory limit (16 MiB) exceeded"));
	run_ok(L, garbage); /* the failed run's copies are garbage now: collected when needed */
	assert_int_equal(umpa_lua_run(L, built, strlen(built), "built.lua", &e), -UMPA_ENOMEM);
	assert_non_null(strstr(e.msg, "memory limit (16 MiB) exceeded"));
	run_ok(L, grown);
	run_ok(L, pcall_then); /* caught, then the memory is there again */
	umpa_lua_close(L);
}

/* lua_close runs finalizers; what they make gets no finalizer: nothing outside Lua may be made then
 * (LeakSanitizer checks), and a packet finalized before a finalizer reaches it is empty, not freed memory. */
static void test_close_finalizers(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	const char *late = "G = setmetatable({}, {__gc = function() local t = packets(ip{}/string.rep('x', 5000))\n"
			   "  local p = t[1]:copy() end})";
	const char *order = "G2 = setmetatable({}, {__gc = function() local x = LAYER.ttl end})\n"
			    "PKT = packets(ip{})[1] LAYER = PKT.ip";

	(void)state;
	/* (a sandbox that refuses __gc altogether passes too: then nothing runs at close) */
	if (umpa_lua_run(L, late, strlen(late), "late.lua", &e) < 0)
		assert_non_null(strstr(e.msg, "__gc"));
	if (umpa_lua_run(L, order, strlen(order), "order.lua", &e) < 0)
		assert_non_null(strstr(e.msg, "__gc"));
	umpa_lua_close(L);
}

/* ---- specs, stacks, packets ---- */

static void test_specs(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	run_ok(L, "local s = udp{sport=1}\n"
		  "assert(s.sport == 1 and s.srcport == 1 and s['udp.srcport'] == 1 and s.dport == nil)\n"
		  "s.dport = 7; assert(s.dstport == 7)\n"
		  "s.dport = {1,2}; assert(#s.dport == 2)\n"
		  "s.dport = nil; assert(s.dport == nil)\n"
		  "local st = ipv6{}/s/'x'\n"
		  "assert(#st == 3 and st.udp.sport == 1 and st[3] == 'x' and st[-1] == 'x' and st.tcp == nil)\n"
		  "s.sport = 9; assert(st.udp.sport == 1) -- stacks copy\n"
		  "st[2].sport = 5; assert(st.udp.sport == 5)\n"
		  "assert(tostring(udp{sport=1}) == 'udp{srcport=1}')\n"
		  "assert(ok == nil) local ok = pcall(function() return s.bogus end) assert(not ok)\n"
		  "assert(#range(1, 10, 2) == 5 and range(1, 10, 2)[2] == 3)\n");
	build_ok(L, "'ab'/udp{}", &g, 1);                              /* a string first is a payload too */
	build_ok(L, "local s = udp{sport={1,2}} return s/'x'", &g, 2); /* statements, not an expression */
	build_ok(L,
		 "(function() local s = udp{} s.sport = 1 s.dport = 2 return ipv6{src='::1', dst='::2'}/s/'hi' end)()",
		 &g, 1);
	assert_hex(g.hex[0],
		   "60000000000a1140000000000000000000000000000000010000000000000000000000000000000200010002000a"
		   "976b6869");
	umpa_lua_close(L);
}

static void test_packets(void **state)
{
	struct umpa_lua *L = open_state();

	(void)state;
	/* reads, writes, re-finish (scapy: the same with dport=99: checksum 970a; chksum=0x1234 kept) */
	run_ok(L, "local ps = packets(ipv6{src='::1', dst='::2'}/udp{sport=1, dport={2,3}}/'hi')\n"
		  "assert(#ps == 2)\n"
		  "local p = ps[1]\n"
		  "assert(p.ipv6.hlim == 64 and p.ipv6.src == '::1' and p.udp.dport == 2 and p.tcp == nil)\n"
		  "assert(p[2].sport == 1 and p[2]._name == 'udp' and p[-1]._name ~= nil)\n"
		  "assert(#p == 50 and p.udp.checksum == 0x976b)\n"
		  "p.udp.dport = 99\n"
		  "assert(p.udp.checksum == 0x970a, string.format('%x', p.udp.checksum))\n"
		  "assert(p:bytes():sub(41, 48) == '\\0\\1\\0\\99\\0\\10\\x97\\x0a')\n"
		  "p.udp.checksum = 0x1234; p.udp.length = 10\n"
		  "assert(p.udp.checksum == 0x1234)\n"
		  "p.udp.sport = 1 -- re-finish keeps a user-set checksum\n"
		  "assert(p.udp.checksum == 0x1234)\n"
		  "p.udp.checksum = nil\n"
		  "assert(p.udp.checksum == 0x970a)\n"
		  "p.ipv6.hlim = 5; assert(p.ipv6.hlim == 5); p.ipv6.hlim = nil; assert(p.ipv6.hlim == 64)\n"
		  "p.ipv6.dst = '::3'; assert(p.ipv6.dst == '::3')\n"
		  "assert(ps[2].udp.dport == 3)\n"
		  "local q = p:copy(); q.udp.dport = 1; assert(p.udp.dport == 99)\n"
		  "assert(type(p:show()) == 'string' and not p:show():find('\\n'))\n"
		  "assert(p:json():sub(1, 1) == '{')\n"
		  "assert(tostring(p) == p:show())\n"
		  "assert(not pcall(function() return p.nosuchproto end))\n"
		  "assert(not pcall(function() p.udp.dport = 'x' end))\n"
		  "assert(#packets(udp{}, {udp{}, 'x'}) == 3)\n");
	umpa_lua_close(L);
}

static void test_packets_ip(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	if (!real(&umpa_proto_ip)) {
		umpa_lua_close(L);
		skip();
	}
	/* scapy: IP(src="10.0.0.1", dst="10.0.0.2", ttl=7)/UDP()/"payload": checksum 9fc7; ttl=5: a1c7;
	 * ttl=5, flags="DF": 61c7 */
	run_ok(L, "local p = packets(ip{src='10.0.0.1', dst='10.0.0.2', ttl=7}/udp{}/'payload')[1]\n"
		  "assert(p.ip.ttl == 7 and p.ip.checksum == 0x9fc7 and p.ip.src == '10.0.0.1' and p.ip.proto == 17)\n"
		  "p.ip.ttl = 5\n"
		  "assert(p.ip.checksum == 0xa1c7, string.format('%x', p.ip.checksum))\n"
		  "p.ip.chksum = 0x4242; p.ip.tos = 0 -- a user-set checksum survives re-finishing\n"
		  "assert(p:bytes() == '\\x45\\0\\0\\x23\\0\\1\\0\\0\\5\\x11\\x42\\x42\\10\\0\\0\\1\\10\\0\\0\\2' .. "
		  "p:bytes():sub(21))\n"
		  "p.ip.chksum = nil; p.ip.df = true\n"
		  "assert(p.ip.checksum == 0x61c7, string.format('%x', p.ip.checksum))\n"
		  "assert(p.udp and p.tcp == nil and p[3]._name == 'raw' and #p == 35)\n"
		  "assert(p:show():find('10.0.0.1', 1, true))\n");
	/* booleans and Scapy's order inside a layer: dst (later in the table) varies slowest */
	build_ok(L, "ip{src='10.0.0.1', dst={'10.0.0.2','10.0.0.3'}, ttl={1,2}, df=true}/udp{}", &g, 4);
	assert_memory_equal(g.hex[0] + 16, "01", 2);
	assert_memory_equal(g.hex[0] + 38, "02", 2);
	assert_memory_equal(g.hex[1] + 16, "02", 2);
	assert_memory_equal(g.hex[1] + 38, "02", 2);
	assert_memory_equal(g.hex[2] + 16, "01", 2);
	assert_memory_equal(g.hex[2] + 38, "03", 2);
	assert_memory_equal(g.hex[0] + 12, "40", 2); /* DF */
	assert_int_equal(build_err(L, "ip{tll=1}", 0,
				   "expression 1:1: ip: unknown field 'tll' (did you mean 'ttl'? fields: version, "),
			 UMPA_ENOENT);
	umpa_lua_close(L);
}

static void test_packet_rebuilt(void **state)
{
	struct umpa_lua *L = open_state();
	struct got g;

	(void)state;
	/* a written packet handed back for building is finished again */
	build_ok(L,
		 "(function() local p = packets(ipv6{src='::1', dst='::2'}/udp{sport=1, dport=2}/'hi')[1] "
		 "p.udp.dport = 99 return p end)()",
		 &g, 1);
	assert_hex(g.hex[0],
		   "60000000000a1140000000000000000000000000000000010000000000000000000000000000000200010063000a"
		   "970a6869");
	umpa_lua_close(L);
}

static void test_push_pkt(void **state)
{
	struct umpa_lua *L = open_state();
	lua_State *Ls = umpa_lua_state(L);
	struct umpa_err e = {0};
	struct umpa_pkt p;
	uint8_t b[128];
	size_t n =
	    unit_hex("60000000000a1140000000000000000000000000000000010000000000000000000000000000000200010002000a"
		     "976b6869",
		     b, sizeof(b));

	/* the unit tests link libumpa only, not liblua: find lua_setglobal in the
	 * process (libumpa loaded it) rather than call it directly */
	void (*setglobal)(lua_State *, const char *) =
	    (void (*)(lua_State *, const char *))dlsym(RTLD_DEFAULT, "lua_setglobal");

	(void)state;
	assert_non_null(setglobal);
	unit_dissect(&p, UMPA_LINKTYPE_IPV6, b, n);
	assert_int_equal(umpa_lua_push_pkt(L, &p, &e), 0);
	setglobal(Ls, "pushed"); /* pops the packet */
	umpa_pkt_release(&p);
	run_ok(L, "assert(pushed.udp.dport == 2 and pushed.ipv6.dst == '::2' and #pushed == 50)\n"
		  "pushed.udp.dport = 99 -- a captured field counts as set: the checksum stays\n"
		  "assert(pushed.udp.checksum == 0x976b)\n"
		  "pushed.udp.checksum = nil -- unless unset\n"
		  "assert(pushed.udp.checksum == 0x970a)\n");
	umpa_lua_close(L);
}

static void test_example_lua(void **state)
{
	struct umpa_lua *L;
	struct umpa_err e = {0};
	char path[1024], *buf;
	const char *top = getenv("top_srcdir");
	FILE *f;
	long n, rc;
	unsigned long count = 0;

	(void)state;
	if (!real(&umpa_proto_ip) || !real(&umpa_proto_eth) || !real(&umpa_proto_arp) || !real(&umpa_proto_dns) ||
	    !real(&umpa_proto_vlan) || !real(&umpa_proto_icmp) || !real(&umpa_proto_icmpv6))
		skip();
	if (top)
		snprintf(path, sizeof(path), "%s/templates/example.lua", top);
	else
		snprintf(path, sizeof(path), "%.*s/../../templates/example.lua",
			 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = malloc(1 << 16);
	n = (long)fread(buf, 1, 1 << 16, f);
	fclose(f);
	L = open_state();
	rc = umpa_lua_build_chunk(L, buf, (size_t)n, "example.lua", 0, nothing, &count, &e);
	if (rc < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rc, 13); /* 8, and SCTP, DHCPv6, NTP, LLDP, MLDv2 */
	free(buf);
	umpa_lua_close(L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bytes_ipv6_udp),
	    cmocka_unit_test(test_bytes_tcp_options),
	    cmocka_unit_test(test_bytes_ether_ip_udp),
	    cmocka_unit_test(test_expand_order),
	    cmocka_unit_test(test_expand_cap),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_chunk),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_sandbox),
	    cmocka_unit_test(test_instruction_cap),
	    cmocka_unit_test(test_time_limits),
	    cmocka_unit_test(test_time_signal_blocked),
	    cmocka_unit_test(test_pcall_budget),
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_charge),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_memory_cap),
	    cmocka_unit_test(test_memory_cap_packets),
	    cmocka_unit_test(test_close_finalizers),
	    cmocka_unit_test(test_specs),
	    cmocka_unit_test(test_packets),
	    cmocka_unit_test(test_packets_ip),
	    cmocka_unit_test(test_packet_rebuilt),
	    cmocka_unit_test(test_push_pkt),
	    cmocka_unit_test(test_time_limits_loaded),
	    cmocka_unit_test(test_example_lua),
	    cmocka_unit_test(test_scapy_spelling),
	    cmocka_unit_test(test_fragment_dissect),
	    cmocka_unit_test(test_reply_compiled),
	    cmocka_unit_test(test_eval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
