/* test_lua_tls.c - tls{...} in Lua: packets, report, key log, resumption, errors. */
#include "unit.h"

#include "umpa_lua.h"
#include "umpa_lua_tls.h"
#include "umpa_tls.h"

/* What a build saw. */
struct seen {
	unsigned long n;
	unsigned long syn;     /* SYN without ACK */
	unsigned long tcp;     /* packets with a TCP layer */
	unsigned long ipv6;    /* packets with an IPv6 layer */
	unsigned long payload; /* TCP payload bytes (TLS records) */
	unsigned long other;   /* packets without TCP (a template's own) */
	uint64_t first_sport;  /* source port of the first TCP packet */
};

static int see(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct seen *s = arg;
	const struct umpa_proto *tcp = umpa_proto_find("tcp"), *ip6 = umpa_proto_find("ipv6");
	int li = umpa_pkt_find(p, tcp, 0);

	(void)e;
	s->n++;
	if (umpa_pkt_find(p, ip6, 0) >= 0)
		s->ipv6++;
	if (li < 0) {
		s->other++;
		return 0;
	}
	s->tcp++;
	uint64_t flags = unit_get_at(p, (unsigned)li, "flags");
	if ((flags & 0x12) == 0x02)
		s->syn++;
	if (s->tcp == 1)
		s->first_sport = unit_get_at(p, (unsigned)li, "sport");
	s->payload += p->l[li].len - p->l[li].hlen;
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

/* Build @p chunk, which must succeed; returns the packet count. */
static long build_ok(struct umpa_lua *L, const char *chunk, struct seen *s)
{
	struct umpa_err e = {0};
	long n = umpa_lua_build_chunk(L, chunk, strlen(chunk), "t.lua", 0, see, s, &e);

	if (n < 0)
		fail_msg("build failed: %s\n%s", e.msg, chunk);
	return n;
}

/* Build @p chunk, which must fail with a message containing @p want (and not @p not_want, if given). */
static void build_fails(const char *chunk, const char *want, const char *not_want)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct seen s = {0};

	assert_true(umpa_lua_build_chunk(L, chunk, strlen(chunk), "t.lua", 0, see, &s, &e) < 0);
	unit_assert_contains(e.msg, want);
	unit_assert_contains(e.msg, "t.lua:1:"); /* the script's line */
	if (not_want)
		unit_assert_lacks(e.msg, not_want);
	assert_int_equal(s.n, 0);
	umpa_lua_close(L);
}

/* A TLS 1.3 conversation: report fields as asked, packets = report.packets, keys collected. */
static void test_basic(void **state)
{
	struct umpa_lua *L = open_state();
	struct seen s = {0};
	const struct umpa_lua_tls_keys *k = umpa_lua_tls_keys(L);
	const char *chunk =
	    "local c = tls{version='1.3', sni='a.test', key_type='ec:P-256', alpn='h2,http/1.1', send_client='GET /', "
	    "              send_server='200 OK', seed=7, client='10.1.2.3:40001', server='10.1.2.4:8443'}\n"
	    "local r = c.report\n"
	    "assert(r.ok, r.error)\n"
	    "assert(r.version == 'TLSv1.3', r.version)\n"
	    "assert(r.sni == 'a.test', r.sni)\n"
	    "assert(r.alpn == 'h2', r.alpn)\n"
	    "assert(r.client_bytes == 5 and r.server_bytes == 6, r.client_bytes .. ' ' .. r.server_bytes)\n"
	    "assert(r.client_port == 40001 and r.server_port == 8443)\n"
	    "assert(#c == r.packets, #c .. ' vs ' .. r.packets)\n"
	    "assert(#c.reports == 1 and not r.resumed)\n"
	    "assert(#r.server_chain >= 1 and r.server_chain[1].subject:find('a.test', 1, true))\n"
	    "assert(c.keylog:find('CLIENT_HANDSHAKE_TRAFFIC_SECRET', 1, true))\n"
	    "assert(c[1].tcp.dport == 8443 and c[1].ip.src == '10.1.2.3')\n"
	    "return { ether{}/ip{}/udp{}/'mine', c }\n";

	(void)state;
	assert_non_null(k);
	assert_int_equal(k->len, 0);
	long n = build_ok(L, chunk, &s);
	assert_true(n > 10);
	assert_int_equal(s.other, 1);
	assert_int_equal(s.syn, 1);
	assert_int_equal(s.first_sport, 40001);
	assert_true(s.payload > 1000); /* handshake with a certificate chain */
	/* the collector holds this conversation's keys: 5 TLS 1.3 secrets */
	assert_true(k->len > 0);
	char *text = strndup(k->text, k->len);
	unit_assert_contains(text, "SERVER_TRAFFIC_SECRET_0");
	unit_assert_contains(text, "EXPORTER_SECRET");
	free(text);
	size_t before = k->len;
	/* a second call adds to it; the struct stays where it was */
	build_ok(L, "return tls{version='1.2', send_client='x', key_type='ec:P-256'}", &s);
	assert_ptr_equal(k, umpa_lua_tls_keys(L));
	assert_true(k->len > before);
	text = strndup(k->text + before, k->len - before);
	unit_assert_contains(text, "CLIENT_RANDOM");
	free(text);
	umpa_lua_close(L);
}

/* Resumption: two conversations, the second resumed, for each mode where it applies. */
static void test_resume(void **state)
{
	static const char *const cases[] = {
	    "tls{version='1.2', resume='id', send_client='a', key_type='ec:P-256'}",
	    "tls{version='1.2', resume='ticket', send_client='a', key_type='ec:P-256'}",
	    "tls{version='1.3', resume='ticket', send_client='a', key_type='ec:P-256'}",
	    "tls{version='1.3', resume='psk', send_client='a', key_type='ec:P-256'}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct umpa_lua *L = open_state();
		struct seen s = {0};
		char chunk[512];
		snprintf(chunk, sizeof chunk,
			 "local c = %s\n"
			 "assert(#c.reports == 2, 'reports: ' .. #c.reports)\n"
			 "assert(c.reports[1].ok and c.reports[2].ok)\n"
			 "assert(not c.reports[1].resumed, 'first resumed')\n"
			 "assert(c.reports[2].resumed, 'second not resumed')\n"
			 "assert(c.reports[1].client_port ~= c.reports[2].client_port)\n"
			 "return c\n",
			 cases[i]);
		build_ok(L, chunk, &s);
		assert_int_equal(s.syn, 2);
		umpa_lua_close(L);
	}
}

/* count: conversations one after the other, each resuming the one before; per-side options. */
static void test_count_and_sides(void **state)
{
	struct umpa_lua *L = open_state();
	struct seen s = {0};
	const char *chunk =
	    "local c = tls{version='1.3', resume='psk', count=3, key_type='ec:P-256', client='10.0.0.1:5000', "
	    "              send_client='q', alpn='h2,http/1.1', server_alpn='http/1.1'}\n"
	    "assert(#c.reports == 3, #c.reports)\n"
	    "for i, r in ipairs(c.reports) do\n"
	    "  assert(r.ok, r.error)\n"
	    "  assert(r.resumed == (i > 1), 'conversation ' .. i)\n"
	    "  assert(r.client_port == 4999 + i, r.client_port)\n"
	    "  assert(r.alpn == 'http/1.1', r.alpn)\n"
	    "end\n"
	    "assert(c.report == c.reports[1])\n"
	    "local d = tls{version='1.2', client_ciphers='AES128-SHA', server_ciphers='AES256-SHA', "
	    "key_type='ec:P-256'}\n"
	    "assert(not d.report.ok, 'disjoint cipher lists should fail')\n"
	    "local ok, err = pcall(tls, {client_version='1.2', server_version='1.3', key_type='ec:P-256'})\n"
	    "assert(not ok and err:find('share no version', 1, true), tostring(err))\n"
	    "return c\n";

	(void)state;
	build_ok(L, chunk, &s);
	assert_int_equal(s.syn, 3);
	umpa_lua_close(L);
}

/* A handshake that fails is written and reported, not raised. */
static void test_failed_handshake(void **state)
{
	struct umpa_lua *L = open_state();
	struct seen s = {0};
	const char *chunk = "local c = tls{version='1.2', ciphers='ECDHE-RSA-AES128-GCM-SHA256', key_type='ec:P-256', "
			    "send_client='never'}\n"
			    "assert(not c.report.ok, 'handshake should fail')\n"
			    "assert(c.report.error ~= '' or c.report.alert ~= '')\n"
			    "assert(c.report.client_bytes == 0)\n"
			    "return c\n";

	(void)state;
	long n = build_ok(L, chunk, &s);
	assert_true(n >= 5); /* SYN, SYN-ACK, ACK, ClientHello, alert, teardown */
	assert_int_equal(s.syn, 1);
	umpa_lua_close(L);
}

/* IPv6 endpoints and options of the TCP stream. */
static void test_tcp_options(void **state)
{
	struct umpa_lua *L = open_state();
	struct seen s = {0};

	(void)state;
	build_ok(L,
		 "return tls{client='[fd00::5]:1234', server='[fd00::6]:443', send_client='hi', segment=1, "
		 "key_type='ec:P-256'}",
		 &s);
	assert_int_equal(s.ipv6, s.n);
	assert_int_equal(s.first_sport, 1234);
	/* one byte per segment: at least as many packets as TLS bytes */
	assert_true(s.tcp > s.payload);
	umpa_lua_close(L);
}

/* Packets as a build callback sees them: comment and timestamp. */
struct stamped {
	unsigned long n;
	char *comment[256];
	int64_t ns[256];
};

static int see_stamped(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct stamped *s = arg;

	(void)e;
	assert_true(s->n < 256);
	s->comment[s->n] = p->comment ? strdup(p->comment) : NULL;
	s->ns[s->n] = p->ts_sec * 1000000000LL + p->ts_nsec;
	s->n++;
	return 0;
}

static int pump_stamped(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct umpa_pkt q = *p;

	q.comment = comment;
	return see_stamped(arg, &q, e);
}

static void stamped_free(struct stamped *s)
{
	for (unsigned long i = 0; i < s->n; i++)
		free(s->comment[i]);
}

/*
 * tls{} packets keep the pump's per-packet comments and timestamps through
 * the Lua objects (and their copies, after a garbage collection), and a
 * template's own packets have neither.  Oracle: the same conversation run
 * through the pump's C API (same options and TCP seed: same packets, comments
 * and times).
 */
static void test_comments_and_times(void **state)
{
	struct umpa_lua *L = open_state();
	struct stamped lua = {0}, pump = {0};
	struct umpa_err e = {0};
	struct umpa_tls_opts o;
	struct umpa_tls *t;
	struct umpa_tls_report rep;
	const char *chunk =
	    "local c = tls{version='1.3', key_type='ec:P-256', send_client='GET /', send_server='200 OK',\n"
	    "              seed=11, time='1600000000.25', label='L'}\n"
	    "local cp = c[4]:copy()\n"
	    "local n = #c\n"
	    "c = {table.unpack(c)}\n"
	    "collectgarbage(); collectgarbage()\n"
	    "return { c, cp, ether{}/ip{}/udp{}/'mine' }\n";
	long n;

	(void)state;
	n = umpa_lua_build_chunk(L, chunk, strlen(chunk), "t.lua", 0, see_stamped, &lua, &e);
	if (n < 0)
		fail_msg("build failed: %s", e.msg);
	umpa_tls_opts_init(&o);
	for (int s = 0; s < 2; s++) {
		o.side[s].min_version = o.side[s].max_version = "TLSv1.3";
	}
	o.side[UMPA_TCPS_SERVER].key_type = "ec:P-256";
	o.side[UMPA_TCPS_CLIENT].data = "GET /";
	o.side[UMPA_TCPS_CLIENT].data_len = 5;
	o.side[UMPA_TCPS_SERVER].data = "200 OK";
	o.side[UMPA_TCPS_SERVER].data_len = 6;
	o.tcp.seed = 11;
	o.tcp.start_sec = 1600000000;
	o.tcp.start_nsec = 250000000;
	o.label = "L";
	t = umpa_tls_new(&o, &e);
	assert_non_null(t);
	assert_int_equal(umpa_tls_run(t, pump_stamped, &pump, &rep, 1, &e), 1);
	umpa_tls_free(t);

	assert_true(pump.n > 10);
	assert_int_equal(lua.n, pump.n + 2); /* + the copy + the template's own packet */
	int ncomments = 0;
	for (unsigned long i = 0; i < pump.n; i++) {
		if (pump.comment[i]) {
			ncomments++;
			assert_non_null(lua.comment[i]);
			assert_string_equal(lua.comment[i], pump.comment[i]);
		} else {
			assert_null(lua.comment[i]);
		}
		assert_int_equal(lua.ns[i], pump.ns[i]);
	}
	assert_true(ncomments >= 5);
	assert_int_equal(lua.ns[0], 1600000000250000000LL);
	assert_string_equal(lua.comment[3], "[L] ClientHello");
	/* the copy of packet 4 keeps its comment and time */
	assert_non_null(lua.comment[pump.n]);
	assert_string_equal(lua.comment[pump.n], "[L] ClientHello");
	assert_int_equal(lua.ns[pump.n], pump.ns[3]);
	/* a template's own packet: no comment, no timestamp (the host stamps it) */
	assert_null(lua.comment[pump.n + 1]);
	assert_int_equal(lua.ns[pump.n + 1], 0);
	stamped_free(&lua);
	stamped_free(&pump);
	umpa_lua_close(L);
}

/* psk= : the external PSK from templates, TLS 1.2 and 1.3; report.psk says it was used. */
static void test_psk(void **state)
{
	struct umpa_lua *L = open_state();
	struct seen s = {0};

	(void)state;
	build_ok(L,
		 "local a = tls{version='1.2', ciphers='ECDHE-PSK-AES128-CBC-SHA256', "
		 "psk='00112233445566778899aabbccddeeff:bob'}\n"
		 "assert(a.report.ok, a.report.error)\n"
		 "assert(a.report.psk == 'external', a.report.psk)\n"
		 "assert(a.report.cipher == 'ECDHE-PSK-AES128-CBC-SHA256', a.report.cipher)\n"
		 "assert(#a.report.server_chain == 0)\n"
		 "local b = tls{version='1.3', key_type='ec:P-256', psk='0123456789abcdef0123456789abcdef'}\n"
		 "assert(b.report.ok and b.report.psk == 'external' and not b.report.resumed, b.report.error)\n"
		 "local c = tls{version='1.3', key_type='ec:P-256'}\n"
		 "assert(c.report.ok and c.report.psk == '')\n"
		 "return { a, b, c }\n",
		 &s);
	assert_int_equal(s.syn, 3);
	umpa_lua_close(L);
}

static void test_errors(void **state)
{
	(void)state;
	build_fails("return tls{verison='1.3'}",
		    "tls: unknown option 'verison' (did you mean 'version'? options: version,", NULL);
	build_fails("return tls{zzzzzzzz='1.3'}", "tls: unknown option 'zzzzzzzz' (options: version,", "did you mean");
	build_fails("return tls{version={}}", "tls{version=...}: want a string, got a table", NULL);
	build_fails("return tls{ciphers='NOPE', version='1.2'}", "tls{ciphers=...}: no cipher matches 'NOPE'",
		    "--ciphers");
	build_fails("return tls{version='1.7'}", "tls{version=...}: unknown version '1.7'", NULL);
	build_fails("return tls{cert='/etc/passwd'}", "sandbox", NULL);
	build_fails("return tls{resume='maybe'}", "tls{resume=...}: 'maybe' is not one of id, ticket, psk, none",
		    "did you mean");
	build_fails("return tls{resume='tikcet'}",
		    "tls{resume=...}: 'tikcet' is not one of id, ticket, psk, none (did you mean 'ticket'?)", NULL);
	build_fails("return tls{client='10.0.0.300:1'}", "tls{client=...}: '10.0.0.300:1' is not ADDR", NULL);
	build_fails("return tls{server='10.0.0.1:99999'}",
		    "tls{server=...}: '10.0.0.1:99999' is not ADDR, ADDR:PORT, [IPV6]:PORT or :PORT (port 1..65535)",
		    NULL);
	build_fails("return tls{ipv6='yes'}", "tls{ipv6=...}: want true or false", NULL);
	build_fails("return tls{loss=2}", "tls{loss=...}: '2' is out of range (a probability: 0 to 1)", NULL);
	build_fails("return tls('1.3')", "bad argument #1 to 'tls'", NULL);
	build_fails("return tls{count=0}", "tls{count=...}: '0' is out of range (conversations: 1 to 10000000)", NULL);
	build_fails("return tls{psk='abc'}", "tls{psk=...}: want 2 to 128 hex digits", NULL);
	build_fails("return tls{psk='zz'}", "tls{psk=...}: 'z' is not a hex digit", NULL);
	build_fails("return tls{psk='0011', resume='ticket'}", "tls{psk=...}: cannot be combined", "--psk");
	/* numbers: the option table's ranges, as on the command line (tests/tls/tls_cli.sh) */
	build_fails("return tls{key_update=1001}",
		    "tls{key_update=...}: '1001' is out of range (KeyUpdates: 0 to 1000)", NULL);
	build_fails("return tls{renegotiate=101}",
		    "tls{renegotiate=...}: '101' is out of range (renegotiations: 0 to 100)", NULL);
	build_fails("return tls{key_type='rsa:16384'}",
		    "tls{key_type=...}: '16384' is out of range (bits of an RSA key: 512 to 8192)", NULL);
	build_fails("return tls{time=1e12}", "tls{time=...}: '1000000000000' is out of range (seconds since 1970",
		    NULL);
	build_fails("return tls{time=-1}", "tls{time=...}: '-1' is out of range (seconds since 1970", NULL);
	build_fails("return tls{time=0/0}", "tls{time=...}: ", NULL);
	build_fails("return tls{rtt=math.huge}", "tls{rtt=...}: 'inf' is not a number (seconds: 0 to 60)", NULL);
	build_fails("return tls{seed=-1}", "tls{seed=...}: '-1' is out of range", NULL);
	build_fails("return tls{max_record=100}", "tls{max_record=...}: '100' is out of range (bytes per record", NULL);
	build_fails("return tls{count=20000}", "tls{count=...}: '20000' is more than a template runs in one call",
		    NULL);
	build_fails("return tls{key_update=1.5}", "tls{key_update=...}: '1.5' is not a whole number", NULL);
}

/* The curve names users type: tls{} makes the server key asked for. */
/* The work tls{} does for a script is budgeted per evaluation, refused before it starts, and the
 * budget restarts with the next call from the host; what it keeps counts against the memory cap. */
static void test_work_budget(void **state)
{
	struct umpa_lua *L = open_state();
	struct umpa_err e = {0};
	struct seen s = {0};
	const char *fill = "local t = {} for i = 1, 2 do t[i] = tls{key_type='ec:P-256', count=200} end return t";
	const char *over = "local t = {} for i = 1, 3 do t[i] = tls{key_type='ec:P-256', count=200} end return t";
	const char *caught =
	    "local n = 0 for i = 1, 20 do if pcall(tls, {key_type='rsa:8192'}) then n = n + 1 end end\n"
	    "assert(n == 0, n) return tls{key_type='ec:P-256'}";
	const char *mem = "local p = packets(ip{}/string.rep('x', 60000))[1] local t = {p:copy(), p:copy()}\n"
			  "return tls{key_type='ec:P-256', send_client=string.rep('y', 4e6)}";

	(void)state;
	assert_true(build_ok(L, fill, &s) > 400); /* 400 handshakes */
	assert_true(umpa_lua_build_chunk(L, over, strlen(over), "t.lua", 0, see, &s, &e) < 0);
	unit_assert_contains(e.msg, "t.lua:1: tls: work limit (500 handshakes per evaluation) exceeded");
	build_ok(L, fill, &s); /* a new evaluation, a new budget */
	build_fails("return tls{key_type='rsa:8192'}", "key generation limit (16 RSA-2048 keys' worth per evaluation)",
		    NULL);
	build_fails("return tls{key_type='ec:P-256', renegotiate=10, version='1.2', count=50}",
		    "work limit (500 handshakes per evaluation)", NULL);
	/* refused calls cost nothing and keep being refused: nothing was generated, then an EC key fits */
	build_ok(L, caught, &s);
	umpa_lua_set_limits(L, 8 << 20, 0); /* the 4 MB to send and its packets do not fit in 8 MiB */
	assert_true(umpa_lua_build_chunk(L, mem, strlen(mem), "t.lua", 0, see, &s, &e) < 0);
	unit_assert_contains(e.msg, "memory limit (8 MiB) exceeded");
	umpa_lua_close(L);
}

static void test_key_type_aliases(void **state)
{
	struct umpa_lua *L = open_state();
	struct seen s = {0};

	(void)state;
	build_ok(
	    L,
	    "local want = { p256='EC P-256', ['P-256']='EC P-256', prime256v1='EC P-256', secp384r1='EC P-384',\n"
	    "  ['ec:p384']='EC P-384', P521='EC P-521', ['EC:SECP521R1']='EC P-521', ED25519='ED25519' }\n"
	    "local out = {}\n"
	    "for kt, name in pairs(want) do\n"
	    "  local r = tls{version='1.3', key_type=kt}\n"
	    "  assert(r.report.ok, r.report.error)\n"
	    "  assert(r.report.server_chain[1].key_type == name, kt .. ': ' .. r.report.server_chain[1].key_type)\n"
	    "  out[#out + 1] = r\n"
	    "end\n"
	    "return out\n",
	    &s);
	assert_int_equal(s.syn, 8);
	umpa_lua_close(L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_resume),
	    cmocka_unit_test(test_count_and_sides),
	    cmocka_unit_test(test_failed_handshake),
	    cmocka_unit_test(test_tcp_options),
	    cmocka_unit_test(test_comments_and_times),
	    cmocka_unit_test(test_psk),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_key_type_aliases),
	    cmocka_unit_test(test_work_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
