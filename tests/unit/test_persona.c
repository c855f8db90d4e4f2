/* test_persona.c - host personalities (templates/umpa_persona.h): the shipped
 * ones, the nmap-os-db parser (malformed lines included), the shaping engine
 * and the closed-port answers, and the Lua API through an offline run.
 *
 * Packets are built with umpa's Lua builder (so the fields a template sets
 * are marked set exactly as in a template), shaped, then dissected again and
 * read field by field; expected values come from the personality texts
 * (nmap's hex), the uptime and the requests, not from a previous run.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <time.h>

#include "umpa_capfile.h"
#include "umpa_lua.h"
#include "umpa_persona.h"
#include "umpa_run.h"

#define T0 1700000000000000000LL /* a clock reading, ns */

/* ---- helpers ---- */

struct one {
	struct umpa_pkt p;
	int n;
};

static int keep_cb(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct one *o = arg;

	o->n++;
	return umpa_pkt_dup(&o->p, p, e);
}

/* Build one packet from a Lua expression. */
static void build(struct umpa_pkt *out, const char *expr)
{
	struct umpa_err e = {0};
	struct umpa_lua *U = umpa_lua_open(&e);
	struct one o;

	assert_non_null(U);
	umpa_pkt_init(&o.p);
	o.n = 0;
	if (umpa_lua_build(U, expr, "test", 1, keep_cb, &o, &e) != 1)
		fail_msg("build %s: %s", expr, e.msg);
	umpa_lua_close(U);
	*out = o.p;
}

/* Re-dissect a copy of @p (every field read from the bytes, checksums verified). */
static void redissect(const struct umpa_pkt *p, struct umpa_pkt *d)
{
	unit_dissect(d, 1, p->data, p->len);
	for (unsigned i = 0; i < d->nlayers; i++) {
		assert_false(d->l[i].flags & (UMPA_L_BADSUM | UMPA_L_INVALID | UMPA_L_TRUNCATED));
	}
}

static void addr4(const char *s, uint8_t *a)
{
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

static struct umpa_persona_set *set_with(const char *name, const char *cidr4, unsigned plen, double uptime)
{
	struct umpa_persona_set *s = umpa_persona_set_new();
	struct umpa_persona p;
	struct umpa_err e = {0};
	uint8_t a[16];

	assert_non_null(s);
	if (umpa_persona_get(name, NULL, &p, &e) < 0)
		fail_msg("%s: %s", name, e.msg);
	addr4(cidr4, a);
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, plen, &p, (int64_t)(uptime * 1e9), T0, &e), 0);
	return s;
}

/* The TCP option bytes of the first TCP layer of @p (after re-dissecting), as hex. */
static void tcp_opts_hex(const struct umpa_pkt *p, char *out, size_t n)
{
	int li = umpa_pkt_find(p, &umpa_proto_tcp, 0);
	size_t w = 0;

	assert_true(li >= 0);
	out[0] = 0;
	for (uint32_t i = 20; i < p->l[li].hlen && w + 3 < n; i++)
		w += (size_t)snprintf(out + w, n - w, "%02x", p->data[p->l[li].off + i]);
}

static const char syn_full[] = "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='S', "
			       "seq=1000, window=64240, options='mss=1460,sackok,ts=4242:0,nop,wscale=7'}";
static const char synack[] = "ether{}/ip{src='10.9.0.1', dst='10.9.0.2'}/tcp{sport=80, dport=40000, flags='SA', "
			     "seq=5000, ack=1001}";

/* Shape the packet @ans (an expression) from @s at @t as the answer to @req (an expression; NULL: no
 * request known), as a TCP endpoint's segment when @endpoint (umpa_persona_unset_shaped first): it must
 * be shaped.  @d gets the result re-dissected (release it); the packets built here are released. */
static void shaped(struct umpa_persona_set *s, const char *req, const char *ans, int64_t t, int endpoint,
		   struct umpa_pkt *d)
{
	struct umpa_pkt q, a;
	struct umpa_err e = {0};

	if (req) {
		build(&q, req);
		umpa_dissect(&q);
	}
	build(&a, ans);
	if (endpoint)
		umpa_persona_unset_shaped(s, &a);
	if (umpa_persona_shape(s, &a, req ? &q : NULL, t, &e) != 1)
		fail_msg("%s: not shaped (%s)", ans, e.msg);
	redissect(&a, d);
	umpa_pkt_release(&a);
	if (req)
		umpa_pkt_release(&q);
}

/* @s's answer to the open-port probe @req (an expression): umpa_persona_open_probe must return @want;
 * when it answers (1), @d gets the answer re-dissected (release it). */
static void open_probe(struct umpa_persona_set *s, const char *req, int want, struct umpa_pkt *d)
{
	struct umpa_pkt q, a;
	struct umpa_err e = {0};
	int rc;

	build(&q, req);
	umpa_dissect(&q);
	umpa_pkt_init(&a);
	rc = umpa_persona_open_probe(s, &q, &a, &e);
	if (rc != want)
		fail_msg("%s: %d, want %d (%s)", req, rc, want, e.msg);
	if (rc == 1)
		redissect(&a, d);
	umpa_pkt_release(&a);
	umpa_pkt_release(&q);
}

/* ---- the shipped personalities ---- */

static void test_builtins(void **state)
{
	struct umpa_persona p;
	struct umpa_err e = {0};

	(void)state;
	assert_int_equal(umpa_persona_get("linux", NULL, &p, &e), 0);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.df_tcp, 1);
	assert_int_equal(p.win_synack[0], 0x3890);
	assert_int_equal(p.win_nots, 0x3908);
	assert_string_equal(p.opts_synack[0], "M5B4ST11NW7");
	assert_string_equal(p.opts_synack[2], "M5B4NNT11NW7");
	assert_string_equal(p.opts_syn, "M5B4ST11NW7");
	assert_int_equal(p.win_syn, 64240);
	assert_int_equal(p.ipid_tcp, UMPA_IPID_ZERO);
	assert_int_equal(p.ipid_icmp, UMPA_IPID_INC);
	assert_int_equal(p.ts_hz, 1000);
	assert_int_equal(p.ts_per_conn, 0);
	assert_int_equal(p.rst_syn.seq, 'Z');
	assert_int_equal(p.rst_syn.ack, 'T');
	assert_int_equal(p.rst_syn.flags, 0x14);
	assert_int_equal(p.rst_ack.seq, 'A');
	assert_int_equal(p.unreach_ipl, 0x164);
	assert_int_equal(p.dfi, 'N');

	assert_int_equal(umpa_persona_get("windows", NULL, &p, &e), 0);
	assert_int_equal(p.ttl, 128);
	assert_int_equal(p.ttl_icmp, 128);
	assert_int_equal(p.win_synack[0], 8192);
	assert_string_equal(p.opts_synack[0], "M5B4NW8NNS");
	assert_null(strchr(p.opts_synack[0], 'T'));
	assert_int_equal(p.ipid_tcp, UMPA_IPID_INC);
	assert_int_equal(p.rst_ack.ack, 'O');
	assert_int_equal(p.icmp_code, 'Z');

	assert_int_equal(umpa_persona_get("freebsd", NULL, &p, &e), 0);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.win_synack[0], 65535);
	assert_string_equal(p.opts_synack[0], "M5B4NW6ST11");
	assert_string_equal(p.opts_synack[1], "M578NW6ST11");
	assert_int_equal(p.rst_other.send, 0); /* T7(R=N) */
	assert_int_equal(p.ts_per_conn, 1);    /* TS=22 */
	assert_int_equal(p.unreach_ipl, 0x38);

	assert_int_equal(umpa_persona_get("embedded", NULL, &p, &e), 0);
	assert_int_equal(p.ttl, 255);
	assert_int_equal(p.df_tcp, 0);
	assert_string_equal(p.opts_synack[0], "M5B4");
	assert_int_equal(p.win_synack[0], 0x800);
	assert_int_equal(p.ts_hz, 0);

	assert_int_equal(umpa_persona_get("solaris", NULL, &p, &e), -UMPA_ENOENT);
	assert_non_null(
	    strstr(e.msg, "unknown personality 'solaris' (linux, linux6, windows, freebsd, embedded, nmap:NAME)"));
}

/* ---- the nmap-os-db parser ---- */

static const char db[] = "# a small database\n"
			 "MatchPoints\n"
			 "SEQ(SP=25%GCD=75%ISR=25%TI=100%CI=50%II=100%SS=80%TS=100)\n"
			 "\n"
			 "Fingerprint Acme OS 1.0\n"
			 "Class Acme | Acme OS | 1.X | general purpose\n"
			 "CPE cpe:/o:acme:os:1.0 auto\n"
			 "SEQ(SP=FB-109%GCD=1-6%ISR=106-110%TI=RD|I%CI=BI%II=RI%SS=S%TS=7)\n"
			 "OPS(O1=M5B4NW8ST11%O2=M578NW8ST11|M5B4%O3=M280NW8NNT11%O4=M5B4NW8ST11%O5=M218NW8ST11%O6="
			 "M109ST11)\n"
			 "WIN(W1=2000%W2=2001%W3=2002%W4=2003%W5=2004%W6=2005)\n"
			 "ECN(R=Y%DF=Y%T=7B-85%TG=80%W=2000%O=M5B4NW8NNS%CC=N%Q=)\n"
			 "T1(R=Y%DF=Y%T=7B-85%TG=80%S=O%A=S+%F=AS%RD=0%Q=)\n"
			 "T2(R=N)\n"
			 "T4(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)\n"
			 "T5(R=Y%DF=N%T=7B-85%TG=80%W=10%S=A+%A=S%F=AR%O=%RD=0%Q=)\n"
			 "T6(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)\n"
			 "T7(R=N)\n"
			 "U1(DF=N%T=7B-85%TG=80%IPL=38%UN=1234%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
			 "IE(DFI=S%T=FA-104%CD=Z)\n"
			 "\n"
			 "Fingerprint Acme OS 1.0 router\n"
			 "SEQ(TI=Z)\n"
			 "T1(R=Y%DF=N%T=40%S=O%A=S+%F=AS%RD=0%Q=)\n"
			 "\n"
			 "Fingerprint Other thing\n"
			 "T1(R=Y%DF=N%T=3B-45%S=O%A=S+%F=AS%RD=0%Q=)\n";

static void test_nmap_parse(void **state)
{
	struct umpa_persona p;
	struct umpa_err e = {0};

	(void)state;
	/* exact name (case-insensitive) wins over the longer name that contains it */
	assert_int_equal(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "acme os 1.0", &p, &e), 0);
	assert_string_equal(p.name, "Acme OS 1.0");
	assert_int_equal(p.ttl, 0x80);
	assert_int_equal(p.ttl_icmp, 255); /* IE T=FA-104, no TG: the initial TTL around it */
	assert_int_equal(p.ipid_tcp, UMPA_IPID_RAND);
	assert_int_equal(p.ipid_closed, UMPA_IPID_BROKEN);
	assert_int_equal(p.ipid_icmp, UMPA_IPID_RANDINC);
	assert_int_equal(p.ts_hz, 100);
	assert_string_equal(p.opts_synack[0], "M5B4NW8ST11");
	assert_string_equal(p.opts_synack[1], "M578NW8ST11"); /* the first alternative */
	assert_string_equal(p.opts_synack[5], "M109ST11");
	for (int i = 0; i < 6; i++)
		assert_int_equal(p.win_synack[i], 0x2000 + i);
	assert_string_equal(p.opts_nots, "M5B4NW8NNS");
	assert_int_equal(p.rst_syn.df, 0);
	assert_int_equal(p.rst_syn.win, 0x10);
	assert_int_equal(p.rst_syn.seq, 'B');
	assert_int_equal(p.rst_syn.ack, 'S');
	assert_int_equal(p.rst_ack.ack, 'O');
	assert_int_equal(p.rst_other.send, 0);
	assert_int_equal(p.unreach_ipl, 0x38);
	assert_int_equal(p.unreach_un, 0x1234);
	assert_int_equal(p.dfi, 'S');
	assert_int_equal(p.icmp_code, 'Z');
	/* what nmap does not see: the host's own SYNs take W1/O1 */
	assert_int_equal(p.win_syn, 0x2000);
	assert_string_equal(p.opts_syn, "M5B4NW8ST11");

	/* a unique substring */
	assert_int_equal(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "ROUTER", &p, &e), 0);
	assert_string_equal(p.name, "Acme OS 1.0 router");
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.df_tcp, 0);
	assert_int_equal(p.ipid_tcp, UMPA_IPID_ZERO);
	assert_int_equal(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "other", &p, &e), 0);
	assert_int_equal(p.ttl, 64); /* T=3B-45: around 64 */

	/* ambiguous, missing, empty */
	assert_true(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "acme", &p, &e) < 0);
	assert_non_null(strstr(e.msg, "db: 'acme' matches several fingerprints ('Acme OS 1.0', 'Acme OS 1.0 router')"));
	assert_true(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "Plan 9", &p, &e) < 0);
	assert_string_equal(e.msg, "db: no fingerprint named 'Plan 9'");
	assert_true(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "", &p, &e) < 0);
}

/* Replace line @no (1-based) of db with @line and parse for @name; return the error message. */
static const char *bad_line(unsigned no, const char *line, const char *name)
{
	static char buf[8192];
	static struct umpa_err e;
	struct umpa_persona p;
	const char *s = db;
	size_t w = 0;

	for (unsigned i = 1; *s; i++) {
		const char *nl = strchr(s, '\n');
		size_t n = (size_t)(nl - s) + 1;
		if (i == no)
			w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s\n", line);
		else
			memcpy(buf + w, s, n), w += n;
		s = nl + 1;
	}
	memset(&e, 0, sizeof(e));
	assert_true(umpa_persona_nmap_parse(buf, w, "os-db", name, &p, &e) < 0);
	return e.msg;
}

static void test_nmap_malformed(void **state)
{
	char longline[1100];

	(void)state;
	/* syntax: checked on every line, chosen entry or not */
	assert_string_equal(bad_line(8, "SEQ(TI=Z", "other"), "os-db:8: test line does not end with ')'");
	assert_string_equal(bad_line(22, "SEQ TI=Z", "other"), "os-db:22: not a test line NAME(K=V%...)");
	assert_string_equal(bad_line(10, "WIN(W1=20 00)", "other"),
			    "os-db:10: attribute value has a character outside [0-9A-Za-z|-+<>_.]");
	assert_string_equal(bad_line(3, "SEQ(SP25)", "other"), "os-db:3: attribute is not NAME=VALUE");
	assert_string_equal(bad_line(12, "T1(=Y)", "other"), "os-db:12: attribute is not NAME=VALUE");
	memset(longline, 'A', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	memcpy(longline, "T1(R=", 5);
	assert_string_equal(bad_line(12, longline, "other"), "os-db:12: line longer than 1024 bytes");
	/* values: checked in the entry read */
	assert_string_equal(bad_line(10, "WIN(W1=XYZ%W2=2001)", "acme os 1.0"), "os-db:10: W1=XYZ: not a window (hex)");
	assert_string_equal(bad_line(9, "OPS(O1=M5B4Q)", "acme os 1.0"),
			    "os-db:9: O1=M5B4Q: not an option layout (M hex, W hex, T11, S, N, L)");
	assert_string_equal(bad_line(12, "T1(R=Y%DF=Y%T=ZZ)", "acme os 1.0"),
			    "os-db:12: T=ZZ: not a TTL (hex, or a hex range)");
	assert_string_equal(bad_line(8, "SEQ(TI=QQ)", "acme os 1.0"),
			    "os-db:8: TI=QQ: not an IP ID class (I, Z, RD, RI, BI or hex)");
	assert_string_equal(bad_line(15, "T5(R=Y%S=X)", "acme os 1.0"), "os-db:15: S=X: not Z, A, A+ or O");
	assert_string_equal(bad_line(15, "T5(R=Y%F=ARQ)", "acme os 1.0"),
			    "os-db:15: F=ARQ: not TCP flag letters (E U A P R S F)");
	assert_string_equal(bad_line(18, "U1(IPL=10)", "acme os 1.0"),
			    "os-db:18: IPL=10: not an IP length (hex, at least 1C)");
	assert_string_equal(bad_line(12, "T1(R=maybe)", "acme os 1.0"), "os-db:12: R=maybe: not Y or N");
	/* the same bad value in an entry not read is only syntax-checked */
	assert_string_equal(bad_line(26, "T1(R=Y%DF=N%T=ZZ)", "other"),
			    "os-db:26: T=ZZ: not a TTL (hex, or a hex range)");
	{
		struct umpa_persona p;
		struct umpa_err e = {0};
		static const char nul[] = "Fingerprint x\nT1(R=Y\0)\n";
		assert_true(umpa_persona_nmap_parse(nul, sizeof(nul) - 1, "f", "x", &p, &e) < 0);
		assert_string_equal(e.msg, "f:2: a NUL byte");
	}
}

static void test_opts_check(void **state)
{
	struct umpa_err e = {0};

	(void)state;
	assert_int_equal(umpa_persona_opts_check("M5B4ST11NW7", &e), 0);
	assert_int_equal(umpa_persona_opts_check("", &e), 0);
	assert_int_equal(umpa_persona_opts_check("M5B4NW6SLL", &e), 0);
	assert_true(umpa_persona_opts_check("M5B4T2", &e) < 0);
	assert_non_null(strstr(e.msg, "T at 5 wants two digits"));
	assert_true(umpa_persona_opts_check("M", &e) < 0);
	assert_true(umpa_persona_opts_check("W100", &e) < 0);
	assert_true(umpa_persona_opts_check("x", &e) < 0);
	assert_true(umpa_persona_opts_check("T11T11T11T11T11", &e) < 0); /* 50 bytes */
	assert_non_null(strstr(e.msg, "more than 40 bytes"));
}

/* The real database Debian's nmap installs: every line checked, two entries read. */
static void test_nmap_db(void **state)
{
	struct umpa_persona p;
	struct umpa_err e = {0};
	struct timespec a, b;

	(void)state;
	if (access(UMPA_NMAP_OS_DB, R_OK) != 0)
		skip();
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (umpa_persona_get("nmap:Microsoft Windows 7 SP1", NULL, &p, &e) < 0)
		fail_msg("%s", e.msg);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("nmap-os-db read and checked in %.1f ms\n",
	       (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	assert_int_equal(p.ttl, 128);
	assert_string_equal(p.opts_synack[0], "M5B4NW8ST11");
	assert_int_equal(p.win_synack[0], 0x2000);
	assert_int_equal(p.ts_hz, 100);
	assert_int_equal(umpa_persona_get("nmap:Linux 2.6.32", NULL, &p, &e), 0); /* the first of equal names */
	assert_string_equal(p.name, "Linux 2.6.32");
	assert_int_equal(p.ttl, 64);
	assert_true(umpa_persona_get("nmap:Linux", NULL, &p, &e) < 0);
	assert_non_null(strstr(e.msg, "matches several fingerprints"));
	assert_true(umpa_persona_get("nmap:x", "/nonexistent/os-db", &p, &e) < 0);
	assert_non_null(strstr(e.msg, "/nonexistent/os-db"));
}

/* ---- shaping ---- */

static void test_shape_synack(void **state)
{
	struct umpa_persona_set *s = set_with("linux", "10.9.0.0", 24, 100);
	struct umpa_pkt d;
	char hex[128], want[128];

	(void)state;
	shaped(s, syn_full, synack, T0 + 2500000000LL, 0, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 64);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "flags.df"), 1);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "id"), 0);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 0x3890);
	/* MSS 1460, SACK permitted, TS (100 s of uptime + 2.5 s at 1000 Hz, echoing 4242), NOP, WS 7 */
	snprintf(want, sizeof(want), "020405b40402080a%08x%08x01030307", 102500u, 4242u);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_string_equal(hex, want);
	/* the fields the template set are the template's */
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "seq"), 5000);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "ack"), 1001);
	umpa_pkt_release(&d);

	/* a SYN offering nothing: no SACK, TS or WS back (the ECN line's window, no TS) */
	shaped(s,
	       "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='S', seq=1000, "
	       "options='mss=1460'}",
	       synack, T0, 0, &d);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_string_equal(hex, "020405b4");
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 0x3908);
	umpa_pkt_release(&d);

	/* a segment after the handshake: NOP, NOP, TS echoing the request's TSval; the window is UMPA's W */
	shaped(s,
	       "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='PA', seq=1001, "
	       "ack=5001, options='nop,nop,ts=4300:102500'}/'GET /'",
	       "ether{}/ip{src='10.9.0.1', dst='10.9.0.2'}/tcp{sport=80, dport=40000, flags='A', seq=5001, ack=1006}",
	       T0 + 3000000000LL, 0, &d);
	tcp_opts_hex(&d, hex, sizeof(hex));
	snprintf(want, sizeof(want), "0101080a%08x%08x", 103000u, 4300u);
	assert_string_equal(hex, want);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 0x1f6);
	umpa_pkt_release(&d);

	/* no request known (a timer sent it): the whole O1 layout */
	shaped(s, NULL, synack, T0, 0, &d);
	tcp_opts_hex(&d, hex, sizeof(hex));
	snprintf(want, sizeof(want), "020405b40402080a%08x%08x01030307", 100000u, 0u);
	assert_string_equal(hex, want);
	umpa_pkt_release(&d);
	umpa_persona_set_free(s);
}

static void test_shape_nmap_probe(void **state)
{
	struct umpa_persona_set *s = set_with("freebsd", "10.9.0.1", 32, 0);
	struct umpa_pkt d;
	char hex[128];

	(void)state;
	/* nmap's second probe: window 63, MSS 1400, WS 0, SACK, TS 0xFFFFFFFF, EOL */
	shaped(s,
	       "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='S', seq=1, "
	       "window=63, options='mss=1400,wscale=0,sackok,ts=0xffffffff:0,eol'}",
	       synack, T0 + 1000000000LL, 0, &d);
	tcp_opts_hex(&d, hex, sizeof(hex));
	/* O2=M578NW6ST11: MSS 1400, NOP, WS 6, SACK, TS (its value below) echoing 0xffffffff */
	assert_int_equal(strlen(hex), 40);
	assert_memory_equal(hex, "02040578010303060402080a", 24);
	assert_string_equal(hex + 32, "ffffffff");
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 65535);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 64);
	assert_int_not_equal(unit_get(&d, &umpa_proto_ip, "id"), 0); /* TI=I */
	umpa_pkt_release(&d);
	umpa_persona_set_free(s);
}

/* TSval of a SYN/ACK from @s to port @dport at @t (no request: the whole O1 layout). */
static uint32_t synack_tsval(struct umpa_persona_set *s, unsigned dport, int64_t t)
{
	char expr[200];
	struct umpa_pkt ans;
	struct umpa_err e = {0};
	uint32_t v;
	int li;

	snprintf(expr, sizeof(expr), "ether{}/ip{src='10.9.0.1', dst='10.9.0.2'}/tcp{sport=80, dport=%u, flags='SA'}",
		 dport);
	build(&ans, expr);
	assert_int_equal(umpa_persona_shape(s, &ans, NULL, t, &e), 1);
	li = umpa_pkt_find(&ans, &umpa_proto_tcp, 0);
	/* O1=M5B4NW6ST11: MSS (4), NOP, WS (3), SACK (2), then kind 8 length 10 and TSval at 11 */
	assert_int_equal(ans.data[ans.l[li].off + 20 + 10], 8);
	v = (uint32_t)ans.data[ans.l[li].off + 32] << 24 | (uint32_t)ans.data[ans.l[li].off + 33] << 16 |
	    (uint32_t)ans.data[ans.l[li].off + 34] << 8 | ans.data[ans.l[li].off + 35];
	umpa_pkt_release(&ans);
	return v;
}

/* Per-connection timestamp offsets where the personality has them. */
static void test_timestamps(void **state)
{
	struct umpa_persona_set *s = set_with("freebsd", "10.9.0.1", 32, 50);
	uint32_t a1, a2, b1;

	(void)state;
	/* freebsd (nmap TS=22): the clock ticks at 1000 Hz within a connection, offsets differ between them */
	a1 = synack_tsval(s, 40000, T0);
	a2 = synack_tsval(s, 40000, T0 + 2500000000LL);
	b1 = synack_tsval(s, 40001, T0);
	assert_int_equal(a2 - a1, 2500);
	assert_true(b1 - a1 > 100000 && a1 - b1 > 100000);
	umpa_persona_set_free(s); /* linux's one clock from the uptime: test_shape_synack */
}

static void test_shape_keeps_set_fields(void **state)
{
	struct umpa_persona_set *s = set_with("windows", "10.9.0.0", 16, 0);
	struct umpa_pkt req, ans, d, raw;
	struct umpa_err e = {0};
	char hex[128];

	(void)state;
	build(&req, syn_full);
	umpa_dissect(&req);
	build(&ans, "ether{}/ip{src='10.9.0.1', dst='10.9.0.2', ttl=7, id=99, flags='DF'}/tcp{sport=80, "
		    "dport=40000, flags='SA', window=1234, options='mss=536'}");
	assert_int_equal(umpa_persona_shape(s, &ans, &req, T0, &e), 1);
	redissect(&ans, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 7);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "id"), 99);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "flags.df"), 1);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 1234);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_string_equal(hex, "02040218");
	umpa_pkt_release(&d);

	/* a captured packet (every field set) from a bound address passes untouched */
	unit_dissect(&raw, 1, ans.data, ans.len);
	{
		struct umpa_pkt copy;
		umpa_pkt_init(&copy);
		assert_int_equal(umpa_pkt_dup(&copy, &raw, &e), 0);
		assert_int_equal(umpa_persona_shape(s, &copy, NULL, T0, &e), 1);
		assert_int_equal(copy.len, raw.len);
		assert_memory_equal(copy.data, raw.data, raw.len);
		umpa_pkt_release(&copy);
	}
	umpa_pkt_release(&raw);
	umpa_pkt_release(&ans);

	/* an address no personality covers: untouched (0) */
	build(&ans, "ether{}/ip{src='10.8.0.1', dst='10.9.0.2'}/tcp{sport=80, dport=40000, flags='SA'}");
	unit_dissect(&raw, 1, ans.data, ans.len);
	assert_int_equal(umpa_persona_shape(s, &ans, &req, T0, &e), 0);
	assert_memory_equal(ans.data, raw.data, raw.len);
	umpa_pkt_release(&raw);
	umpa_pkt_release(&ans);
	umpa_pkt_release(&req);
	umpa_persona_set_free(s);
}

/* IP ID sequences: per host, per class. */
static uint16_t shaped_id(struct umpa_persona_set *s, const char *src, const char *l4)
{
	char expr[256];
	struct umpa_pkt p;
	struct umpa_err e = {0};
	uint16_t id;

	snprintf(expr, sizeof(expr), "ether{}/ip{src='%s', dst='10.9.9.9'}/%s", src, l4);
	build(&p, expr);
	assert_int_equal(umpa_persona_shape(s, &p, NULL, T0, &e), 1);
	id = (uint16_t)unit_get(&p, &umpa_proto_ip, "id");
	umpa_pkt_release(&p);
	return id;
}

static void test_ipid(void **state)
{
	struct umpa_persona_set *s = set_with("windows", "10.9.0.0", 24, 0);
	struct umpa_persona p;
	struct umpa_err e = {0};
	uint8_t a[16];
	uint16_t x, y, z, w;

	(void)state;
	x = shaped_id(s, "10.9.0.1", "icmp{type='echo-reply'}");
	y = shaped_id(s, "10.9.0.1", "tcp{flags='SA'}");
	w = shaped_id(s, "10.9.0.2", "tcp{flags='SA'}"); /* another host: its own counter */
	z = shaped_id(s, "10.9.0.1", "tcp{flags='RA'}");
	assert_int_equal((uint16_t)(y - x), 1);
	assert_int_equal((uint16_t)(z - y), 1);
	assert_int_not_equal(w, (uint16_t)(z + 1));

	/* a longer prefix overrides: zero and broken (+256) classes */
	assert_int_equal(umpa_persona_get("linux", NULL, &p, &e), 0);
	addr4("10.9.0.128", a);
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, 25, &p, 0, T0, &e), 0);
	assert_int_equal(shaped_id(s, "10.9.0.200", "tcp{flags='SA'}"), 0);
	assert_int_equal(shaped_id(s, "10.9.0.200", "tcp{flags='SA'}"), 0);
	p.ipid_tcp = UMPA_IPID_BROKEN;
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, 25, &p, 0, T0, &e), 0);
	x = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	y = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	assert_int_equal((uint16_t)(y - x), 256);
	p.ipid_tcp = UMPA_IPID_RAND;
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, 25, &p, 0, T0, &e), 0);
	x = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	y = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	z = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	assert_false((uint16_t)(y - x) == 1 && (uint16_t)(z - y) == 1);
	/* unbinding the /25 gives its hosts back to the /24 (windows: +1 again) */
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, 25, NULL, 0, T0, &e), 0);
	x = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	y = shaped_id(s, "10.9.0.200", "tcp{flags='SA'}");
	assert_int_equal((uint16_t)(y - x), 1);
	assert_int_equal(umpa_persona_count(s), 1);
	/* bad binds */
	assert_true(umpa_persona_bind(s, AF_INET, a, 33, &p, 0, T0, &e) < 0);
	assert_non_null(strstr(e.msg, "prefix length 33"));
	assert_true(umpa_persona_bind(s, AF_INET, a, 24, &p, -1, T0, &e) < 0);
	umpa_persona_set_free(s);
}

static void test_shape_ipv6_icmp(void **state)
{
	struct umpa_persona_set *s = umpa_persona_set_new();
	struct umpa_persona p;
	struct umpa_err e = {0};
	struct umpa_pkt ans, d;
	uint8_t a[16];
	char hex[128];

	(void)state;
	assert_int_equal(umpa_persona_get("windows", NULL, &p, &e), 0);
	assert_int_equal(inet_pton(AF_INET6, "fd00:9::", a), 1);
	assert_int_equal(umpa_persona_bind(s, AF_INET6, a, 64, &p, 0, T0, &e), 0);
	shaped(s,
	       "ether{}/ipv6{src='fd00:9::2', dst='fd00:9::1'}/tcp{sport=4, dport=80, flags='S', "
	       "options='mss=1440,wscale=7,sackok'}",
	       "ether{}/ipv6{src='fd00:9::1', dst='fd00:9::2'}/tcp{sport=80, dport=4, flags='SA'}", T0, 0, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_ipv6, "hlim"), 128);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_int_equal(strncmp(hex, "020405a00103030801010402", 24), 0); /* MSS 1440, NOP, WS 8, NOP, NOP, SACK */
	umpa_pkt_release(&d);
	/* neighbour discovery keeps the hop limit it was built with (RFC 4861 wants 255); echo requests take IE's */
	build(&ans, "ether{}/ipv6{src='fd00:9::1', dst='fd00:9::2'}/icmpv6{type='na'}");
	assert_int_equal(umpa_persona_shape(s, &ans, NULL, T0, &e), 1);
	assert_int_equal(unit_get(&ans, &umpa_proto_ipv6, "hlim"), umpa_proto_field(&umpa_proto_ipv6, "hlim")->def);
	umpa_pkt_release(&ans);
	build(&ans, "ether{}/ipv6{src='fd00:9::1', dst='fd00:9::2'}/icmpv6{type='echo-request'}");
	assert_int_equal(umpa_persona_shape(s, &ans, NULL, T0, &e), 1);
	assert_int_equal(unit_get(&ans, &umpa_proto_ipv6, "hlim"), 128);
	umpa_pkt_release(&ans);
	umpa_persona_set_free(s);

	/* echo replies: DF as the request's (DFI=S in the test database), code as nmap's CD */
	s = set_with("linux", "10.9.0.1", 32, 0);
	assert_int_equal(umpa_persona_nmap_parse(db, sizeof(db) - 1, "db", "acme os 1.0", &p, &e), 0);
	addr4("10.9.0.1", a);
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, 32, &p, 0, T0, &e), 0);
	shaped(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1', flags='DF'}/icmp{type='echo-request', code=9}",
	       "ether{}/ip{src='10.9.0.1', dst='10.9.0.2'}/icmp{type='echo-reply'}", T0, 0, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "flags.df"), 1);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 255);
	assert_int_equal(unit_get(&d, &umpa_proto_icmp, "code"), 0); /* CD=Z */
	umpa_pkt_release(&d);
	umpa_persona_set_free(s);
}

/* A TCP endpoint's segments: its negotiated values, the personality's layout. */
static void test_endpoint(void **state)
{
	struct umpa_persona_set *s = set_with("freebsd", "10.9.0.1", 32, 0);
	struct umpa_persona p;
	struct umpa_tcpe_opts o;
	struct umpa_pkt d;
	struct umpa_err e = {0};
	char hex[128];
	uint8_t a[16];

	(void)state;
	shaped(s, syn_full,
	       "ether{}/ip{src='10.9.0.1', dst='10.9.0.2', ttl=64, id=7, flags='DF'}/tcp{sport=80, dport=40000, "
	       "flags='SA', window=65535, options='mss=1400,sackok,ts=777:888,nop,wscale=5'}",
	       T0, 1, &d);
	tcp_opts_hex(&d, hex, sizeof(hex)); /* O1=M5B4NW6ST11 in order, the endpoint's values */
	assert_string_equal(hex, "02040578010303050402080a0000030900000378");
	assert_int_not_equal(unit_get(&d, &umpa_proto_ip, "id"), 7); /* TI=I: the host's counter */
	umpa_pkt_release(&d);
	/* windows: no timestamps in its layout: dropped */
	assert_int_equal(umpa_persona_get("windows", NULL, &p, &e), 0);
	addr4("10.9.0.1", a);
	assert_int_equal(umpa_persona_bind(s, AF_INET, a, 32, &p, 0, T0, &e), 0);
	shaped(s, syn_full,
	       "ether{}/ip{src='10.9.0.1', dst='10.9.0.2'}/tcp{sport=80, dport=40000, flags='SA', "
	       "options='mss=1400,sackok,ts=777:888,nop,wscale=5'}",
	       T0, 1, &d);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_string_equal(hex, "020405780103030501010402");
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 128);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 8192); /* a SYN's window is the personality's */
	umpa_pkt_release(&d);
	/* a data segment keeps its own options (timestamps, SACK blocks) and window */
	shaped(s, NULL,
	       "ether{}/ip{src='10.9.0.1', dst='10.9.0.2'}/tcp{sport=80, dport=40000, flags='A', window=300, "
	       "options='nop,nop,ts=5:6,nop,nop,sack=10-20'}",
	       T0, 1, &d);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_string_equal(hex, "0101080a00000005000000060101050a0000000a00000014");
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 300);
	umpa_pkt_release(&d);
	umpa_persona_set_free(s);

	/* the endpoint's settings from a personality */
	umpa_tcpe_opts_init(&o);
	assert_int_equal(umpa_persona_get("linux", NULL, &p, &e), 0);
	umpa_persona_tcpe_opts(&p, &o);
	assert_int_equal(o.mss, 1460);
	assert_int_equal(o.wscale, 7);
	assert_int_equal(o.sackok, 1);
	assert_int_equal(o.timestamps, 1);
	assert_int_equal(o.rwnd, 0x1f6u << 7);
	assert_int_equal(umpa_persona_get("embedded", NULL, &p, &e), 0);
	umpa_persona_tcpe_opts(&p, &o);
	assert_int_equal(o.wscale, -1);
	assert_int_equal(o.sackok, 0);
	assert_int_equal(o.timestamps, 0);
	assert_int_equal(o.rwnd, 2048);
}

/* linux6: a current kernel's SYN/ACK: 65535 rounded down to the MSS less 12 (timestamps) or the MSS,
 * window scale 10; its endpoint announces that rounded up to the scale afterwards (what a 6.x kernel sent) */
static void test_linux6(void **state)
{
	struct umpa_persona_set *s = set_with("linux6", "10.9.0.0", 24, 100);
	struct umpa_persona p;
	struct umpa_tcpe_opts o;
	struct umpa_pkt d;
	struct umpa_err e = {0};
	char hex[128], want[128];

	(void)state;
	shaped(s, syn_full, synack, T0, 0, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "id"), 0);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 65160); /* 45 x 1448 */
	snprintf(want, sizeof(want), "020405b40402080a%08x%08x0103030a", 100000u, 4242u);
	tcp_opts_hex(&d, hex, sizeof(hex));
	assert_string_equal(hex, want);
	umpa_pkt_release(&d);
	/* no timestamps offered: 44 x 1460 */
	shaped(s,
	       "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='S', seq=1000, "
	       "options='mss=1460,sackok,nop,wscale=7'}",
	       synack, T0, 0, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 64240);
	umpa_pkt_release(&d);
	umpa_persona_set_free(s);
	/* the endpoint: MSS 1460 (1440 on IPv6), scale 10, 65160 (64260) rounded up to 1024 */
	assert_int_equal(umpa_persona_get("linux6", NULL, &p, &e), 0);
	umpa_tcpe_opts_init(&o);
	umpa_persona_tcpe_opts(&p, &o);
	assert_int_equal(o.wscale, 10);
	assert_int_equal(o.rwnd, 64u << 10);
	umpa_tcpe_opts_init(&o);
	o.ipv6 = 1;
	umpa_persona_tcpe_opts(&p, &o);
	assert_int_equal(o.mss, 1440);
	assert_int_equal(o.rwnd, 63u << 10);
}

/* nmap's open-port probes T2 (no flags), T3 (SYN+FIN+PSH+URG), T4 (ACK): the personality's T lines */
static void test_open_probe(void **state)
{
	struct umpa_persona_set *s = set_with("embedded", "10.9.0.1", 32, 0);
	struct umpa_persona_set *f = set_with("freebsd", "10.9.0.1", 32, 0);
	static const char t2[] =
	    "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='', seq=77}";
	static const char t3[] = "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='SFPU', "
				 "seq=77, window=256, options='wscale=10,nop,mss=265,ts=1:0,sackok'}";
	struct umpa_pkt d;

	(void)state;
	/* T3 to embedded (lwIP-like): a SYN/ACK, ack = seq + 1, window 2048, TTL 255, no DF */
	open_probe(s, t3, 1, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "flags"), 0x12);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "ack"), 78);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 2048);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 255);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "flags.df"), 0);
	umpa_pkt_release(&d);
	/* to freebsd: silence */
	open_probe(f, t3, 0, &d);
	/* T2 (no flags): silence from both */
	open_probe(s, t2, 0, &d);
	open_probe(f, t2, 0, &d);
	/* T4 (ACK): embedded's RST+ACK, seq = the ACK's ack, ack = its seq, window 2048 */
	open_probe(s,
		   "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=40000, dport=80, flags='A', seq=77, "
		   "ack=9000}",
		   1, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "flags"), 0x14);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "seq"), 9000);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "ack"), 77);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 2048);
	umpa_pkt_release(&d);
	/* a SYN is the endpoint's, and an address without a personality too */
	open_probe(s, syn_full, -1, &d);
	open_probe(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.7'}/tcp{sport=40000, dport=80, flags='', seq=77}", -1,
		   &d);
	umpa_persona_set_free(s);
	umpa_persona_set_free(f);
}

/* 65,536 hosts bound one by one (as a template claiming a /16 might): quick, and each is found. */
static void test_many_hosts(void **state)
{
	struct umpa_persona_set *s = umpa_persona_set_new();
	struct umpa_persona lin, win;
	struct umpa_err e = {0};
	struct umpa_pkt pkt;
	const struct umpa_field *src = umpa_proto_field(&umpa_proto_ip, "src");
	struct timespec a, b;
	uint8_t addr[4] = {10, 10, 0, 0};
	double ms;

	(void)state;
	assert_int_equal(umpa_persona_get("linux", NULL, &lin, &e), 0);
	assert_int_equal(umpa_persona_get("windows", NULL, &win, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned i = 0; i < 65536; i++) {
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		assert_int_equal(umpa_persona_bind(s, AF_INET, addr, 32, i % 2 ? &win : &lin, 0, T0, &e), 0);
	}
	assert_int_equal(umpa_persona_count(s), 65536);
	build(&pkt, "ether{}/ip{src='10.10.0.0', dst='10.9.9.9'}/icmp{type='echo-reply'}");
	for (unsigned i = 0; i < 65536; i++) {
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		assert_int_equal(umpa_field_set_bytes(&pkt, 1, src, addr, 4, &e), 0);
		assert_int_equal(umpa_persona_shape(s, &pkt, NULL, T0, &e), 1);
		assert_int_equal(pkt.data[14 + 8], i % 2 ? 128 : 64);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	printf("65536 hosts bound one by one, one packet shaped from each: %.0f ms\n", ms);
	assert_true(ms < 20000); /* quadratic work would take minutes */
	umpa_persona_set_free(s);

	/* a /8: hosts past the 262,144 with their own state share one sequence, and are still shaped */
	s = umpa_persona_set_new();
	addr[0] = 11;
	addr[1] = addr[2] = addr[3] = 0;
	assert_int_equal(umpa_persona_bind(s, AF_INET, addr, 8, &win, 0, T0, &e), 0);
	for (unsigned i = 0; i < 270000; i++) {
		addr[1] = (uint8_t)(i >> 16);
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		assert_int_equal(umpa_field_set_bytes(&pkt, 1, src, addr, 4, &e), 0);
		assert_int_equal(umpa_persona_shape(s, &pkt, NULL, T0, &e), 1);
		assert_int_equal(pkt.data[14 + 8], 128);
	}
	umpa_pkt_release(&pkt);
	umpa_persona_set_free(s);
}

/* ---- closed ports ---- */

static void closed(struct umpa_persona_set *s, const char *expr, struct umpa_pkt *out, int want)
{
	struct umpa_pkt req;
	struct umpa_err e = {0};
	int rc;

	build(&req, expr);
	umpa_dissect(&req);
	umpa_pkt_init(out);
	rc = umpa_persona_closed(s, &req, out, &e);
	if (rc != want)
		fail_msg("%s: %d (%s)", expr, rc, e.msg);
	umpa_pkt_release(&req);
}

static void test_closed(void **state)
{
	struct umpa_persona_set *s = set_with("linux", "10.9.0.1", 32, 0);
	struct umpa_pkt out, d;
	struct umpa_err e = {0};
	uint8_t big[2000];

	(void)state;
	/* a SYN: RST+ACK, seq 0, ack = seq + 1, window 0, DF, TTL 64; addresses and ports swapped */
	closed(s,
	       "ether{src='02:00:00:00:00:02', dst='02:00:00:00:00:01'}/ip{src='10.9.0.2', dst='10.9.0.1'}/"
	       "tcp{sport=5555, dport=23, flags='S', seq=777, ack=0}",
	       &out, 1);
	assert_int_equal(umpa_persona_shape(s, &out, NULL, T0, &e), 1);
	redissect(&out, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "flags"), 0x14);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "seq"), 0);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "ack"), 778);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "window"), 0);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "sport"), 23);
	assert_int_equal(unit_get(&d, &umpa_proto_tcp, "dport"), 5555);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "flags.df"), 1);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "ttl"), 64);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "id"), 0); /* CI=Z */
	assert_int_equal(d.data[5], 0x02);                       /* Ethernet dst = the request's src */
	assert_int_equal(d.data[11], 0x01);
	umpa_pkt_release(&d);
	umpa_pkt_release(&out);
	/* an ACK: RST, seq = its ack, ack 0 */
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=5555, dport=23, flags='A', seq=1, ack=4000}",
	       &out, 1);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "flags"), 0x04);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "seq"), 4000);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "ack"), 0);
	umpa_pkt_release(&out);
	/* a FIN with 3 bytes: ack = seq + 3 + 1 */
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=5555, dport=23, flags='FP', seq=10}/'abc'",
	       &out, 1);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "ack"), 14);
	umpa_pkt_release(&out);
	/* a RST is never answered */
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=5555, dport=23, flags='R'}", &out, 0);
	/* UDP: port unreachable quoting the whole datagram up to IPL 0x164 (328 bytes) */
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/udp{sport=5, dport=9}/'hello'", &out, 1);
	redissect(&out, &d);
	assert_int_equal(unit_get(&d, &umpa_proto_icmp, "type"), 3);
	assert_int_equal(unit_get(&d, &umpa_proto_icmp, "code"), 3);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "len"), 20 + 8 + 20 + 8 + 5);
	assert_int_equal(unit_get(&d, &umpa_proto_ip, "flags.df"), 0);
	umpa_pkt_release(&d);
	umpa_pkt_release(&out);
	memset(big, 'x', sizeof(big));
	{
		char expr[2300];
		snprintf(expr, sizeof(expr),
			 "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/udp{sport=5, dport=9}/'%.400s'",
			 (const char *)big);
		closed(s, expr, &out, 1);
		assert_int_equal(unit_get(&out, &umpa_proto_ip, "len"), 0x164);
		umpa_pkt_release(&out);
		umpa_persona_set_free(s);
		/* freebsd: 28 bytes quoted; silent to a FIN at a closed port (T7 R=N) */
		s = set_with("freebsd", "10.9.0.1", 32, 0);
		closed(s, expr, &out, 1);
		assert_int_equal(unit_get(&out, &umpa_proto_ip, "len"), 0x38);
		umpa_pkt_release(&out);
	}
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=5555, dport=23, flags='FPU'}", &out, 0);
	umpa_persona_set_free(s);
	/* embedded (lwIP): RST+ACK with seq = the probe's ack, window 2048, no DF, TTL 255 */
	s = set_with("embedded", "10.9.0.1", 32, 0);
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/tcp{sport=5555, dport=23, flags='S', seq=50, ack=9}",
	       &out, 1);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "seq"), 9);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "ack"), 51);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "window"), 2048);
	assert_int_equal(unit_get(&out, &umpa_proto_ip, "ttl"), 255);
	assert_int_equal(unit_get(&out, &umpa_proto_ip, "flags.df"), 0);
	umpa_pkt_release(&out);
	/* an address without a personality: RFC 9293's RST; ICMP gets no answer */
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.77'}/tcp{sport=5555, dport=23, flags='S', seq=50}", &out, 1);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "flags"), 0x14);
	assert_int_equal(unit_get(&out, &umpa_proto_tcp, "ack"), 51);
	umpa_pkt_release(&out);
	closed(s, "ether{}/ip{src='10.9.0.2', dst='10.9.0.1'}/icmp{}", &out, 0);
	/* IPv6 UDP: ICMPv6 port unreachable */
	closed(s, "ether{}/ipv6{src='fd00::2', dst='fd00::1'}/udp{sport=5, dport=9}/'x'", &out, 1);
	assert_int_equal(unit_get(&out, &umpa_proto_icmpv6, "type"), 1);
	assert_int_equal(unit_get(&out, &umpa_proto_icmpv6, "code"), 4);
	umpa_pkt_release(&out);
	umpa_persona_set_free(s);
}

/* ---- the Lua API, through an offline run ---- */

static char dir[] = "/tmp/umpa-persona-XXXXXX";

static const char *path(const char *name)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct wctx {
	struct umpa_capw *w;
};

static int put_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct wctx *c = arg;

	p->ts_sec = 1700000000;
	p->ts_nsec = 0;
	return umpa_capw_write(c->w, p, e);
}

/* Run template text @lua offline on one SYN; return umpa_run_new's error (NULL: it ran). */
static const char *run_lua(const char *lua)
{
	static struct umpa_err e;
	struct umpa_run_opts o = {0};
	struct umpa_run *r;
	struct umpa_lua *U;
	struct wctx c;

	memset(&e, 0, sizeof(e));
	c.w = umpa_capw_open(path("in.pcapng"), UMPA_CAP_PCAPNG, 1, &e);
	assert_non_null(c.w);
	U = umpa_lua_open(&e);
	assert_int_equal(umpa_lua_build(U, syn_full, "in", 1, put_pkt, &c, &e), 1);
	umpa_lua_close(U);
	assert_int_equal(umpa_capw_close(c.w, &e), 0);
	write_text("t.lua", lua);
	o.tmpl = path("t.lua");
	o.offline = path("in.pcapng");
	o.out = path("out.pcapng");
	if (!(r = umpa_run_new(&o, &e)))
		return e.msg;
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "errors"), 0);
	umpa_run_free(r);
	return NULL;
}

static void test_lua_api(void **state)
{
	struct umpa_err e = {0};
	struct umpa_capr *rd;
	struct umpa_pkt p;
	int n = 0, seen = 0;
	const char *err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	err = run_lua("personality('10.9.0.0/24', {base='windows', ttl=100, synack_window=4321, options='M5B4NNS'},"
		      " {uptime=5})\n"
		      "on('tcp', function(p)\n"
		      "  send(reply(p, tcp{flags='SA'}))\n"
		      "  local r = personality_closed(p)\n"
		      "  send(r)\n"
		      "end)\n");
	if (err)
		fail_msg("%s", err);
	assert_non_null(rd = umpa_capr_open(path("out.pcapng"), &e));
	umpa_pkt_init(&p);
	while (umpa_capr_next(rd, &p, &e) > 0) {
		umpa_dissect(&p);
		n++;
		if (n == 1)
			continue; /* the SYN */
		assert_int_equal(unit_get(&p, &umpa_proto_ip, "ttl"), 100);
		if (unit_get(&p, &umpa_proto_tcp, "flags") == 0x12) {
			char hex[64];
			assert_int_equal(unit_get(&p, &umpa_proto_tcp, "window"), 4321);
			tcp_opts_hex(&p, hex, sizeof(hex));
			assert_string_equal(hex, "020405b401010402");
			seen |= 1;
		} else {
			assert_int_equal(unit_get(&p, &umpa_proto_tcp, "flags"), 0x14);
			assert_int_equal(unit_get(&p, &umpa_proto_tcp, "ack"), 1001);
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	umpa_pkt_release(&p);
	umpa_capr_close(rd);

	/* offline, the same input gives the same bytes: IP IDs, timestamps and offsets come from the run's clock
	 * and per-host state seeded by the address */
	{
		static const char det[] = "personality('10.9.0.0/24', 'freebsd', {uptime=77})\n"
					  "on('tcp', function(p) send(reply(p, tcp{flags='SA', seq=9})) "
					  "send(personality_closed(p)) end)\n";
		char *one, *two;
		size_t n1, n2;
		FILE *f;
		assert_null(run_lua(det));
		assert_non_null(f = fopen(path("out.pcapng"), "rb"));
		one = malloc(65536);
		n1 = fread(one, 1, 65536, f);
		fclose(f);
		assert_null(run_lua(det));
		assert_non_null(f = fopen(path("out.pcapng"), "rb"));
		two = malloc(65536);
		n2 = fread(two, 1, 65536, f);
		fclose(f);
		assert_true(n1 > 200);
		assert_int_equal(n1, n2);
		assert_memory_equal(one, two, n1);
		free(one);
		free(two);
	}

	/* errors name the template's line */
	err = run_lua("\npersonality('10.9.0.0/33', 'linux')\n");
	assert_non_null(err);
	assert_non_null(strstr(err, "t.lua:2: personality: '10.9.0.0/33': prefix length 0 to 32"));
	err = run_lua("personality('10.9.0.1', 'beos')\n");
	assert_non_null(strstr(err, "t.lua:1: personality: unknown personality 'beos'"));
	err = run_lua("personality('nowhere', 'linux')\n");
	assert_non_null(strstr(err, "t.lua:1: personality: 'nowhere' is not an address or prefix"));
	err = run_lua("personality('10.9.0.1', {base='linux', colour='red'})\n");
	assert_non_null(strstr(err, "t.lua:1: personality: unknown key 'colour'"));
	err = run_lua("personality('10.9.0.1', {options='M5B4Q'})\n");
	assert_non_null(strstr(err, "t.lua:1: personality: options: options 'M5B4Q': 'Q' at 5"));
	err = run_lua("personality('10.9.0.1', 'linux', {uptime=-1})\n");
	assert_non_null(strstr(err, "t.lua:1: personality: uptime must be 0 to 1e9 seconds"));
	err = run_lua("personality('10.9.0.1', 'linux', {boot=1})\n");
	assert_non_null(strstr(err, "t.lua:1: personality: unknown option 'boot'"));
	err = run_lua("personality('10.9.0.1', '')\npersonality('fd00::/64', 'embedded')\n");
	assert_null(err);
	{
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtins),
	    cmocka_unit_test(test_nmap_parse),
	    cmocka_unit_test(test_nmap_malformed),
	    cmocka_unit_test(test_opts_check),
	    cmocka_unit_test(test_nmap_db),
	    cmocka_unit_test(test_shape_synack),
	    cmocka_unit_test(test_shape_nmap_probe),
	    cmocka_unit_test(test_shape_keeps_set_fields),
	    cmocka_unit_test(test_ipid),
	    cmocka_unit_test(test_shape_ipv6_icmp),
	    cmocka_unit_test(test_closed),
	    cmocka_unit_test(test_endpoint),
	    cmocka_unit_test(test_linux6),
	    cmocka_unit_test(test_open_probe),
	    cmocka_unit_test(test_many_hosts),
	    cmocka_unit_test(test_timestamps),
	    cmocka_unit_test(test_lua_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
