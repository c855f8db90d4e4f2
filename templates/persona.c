/* persona.c - host personalities (templates/umpa_persona.h): the shipped
 * ones, the nmap-os-db reader and the engine that shapes what a simulated
 * host sends.
 *
 * Every personality, shipped or read from nmap's database, goes through one
 * parser of nmap's fingerprint syntax (nmap's "TCP/IP Fingerprinting" chapter,
 * https://nmap.org/book/osdetect-methods.html): SEQ (TI/CI/II: IP ID classes,
 * TS: timestamp rate), OPS (O1-O6: SYN/ACK option layouts), WIN (W1-W6), ECN
 * (the SYN/ACK to a SYN without timestamps), T1 (TTL, DF), T2-T4 (an open
 * port's answers to a NULL, a SYN+FIN+PSH+URG and an ACK), T5-T7 (RSTs),
 * U1 (the port unreachable: DF, TTL, IPL, UN), IE (echo replies: DFI, T, CD).
 * A value with alternatives ("I|RD") takes the first; a TTL range
 * ("3B-45") without TG takes the initial TTL above it.  One line of umpa's
 * own, UMPA(SW=..%SO=..%W=..), gives what nmap does not see: the window
 * and options of a SYN the host opens with, and the window of other
 * segments.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "umpa_persona.h"
#include "umpa_protos.h"

/** Longest line of a fingerprint file. */
#define LINE_MAX_ 1024
/** Most lines of one entry. */
#define ENTRY_LINES 64
/** Largest database file read. */
#define DB_MAX (64u << 20)
/** Most bindings of one set (addresses and prefixes; about 64 bytes each). */
#define PERSONA_MAX_BINDINGS (1u << 20)
/** Most hosts with their own state (IP ID sequence; 40 bytes, twice for the hash). */
#define PERSONA_MAX_HOSTS (1u << 18)

/* TCP flag bits */
#define TF_FIN 0x01u
#define TF_SYN 0x02u
#define TF_RST 0x04u
#define TF_PSH 0x08u
#define TF_ACK 0x10u
#define TF_URG 0x20u
#define TF_ECE 0x40u
#define TF_CWR 0x80u

/* ------------------------------------------------------------------ */
/* the shipped personalities                                           */
/* ------------------------------------------------------------------ */

struct builtin {
	const char *name;
	const char *text;
};

/* What Linux answers nmap's T1-T7, U1 and IE probes, the same from 3.x to 6.x (nmap's "Linux 3.0 -
 * 3.1" and "Linux 4.15 - 5.6" have these lines alike): both linux personalities. */
#define LINUX_TESTS                                                                                                    \
	"T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)\n"                                                                    \
	"T2(R=N)\n"                                                                                                    \
	"T3(R=N)\n"                                                                                                    \
	"T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"                                                               \
	"T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"                                                             \
	"T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"                                                               \
	"T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"                                                             \
	"U1(DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"                                               \
	"IE(DFI=N%T=40%CD=S)\n"

/* linux: nmap's "Linux 3.0 - 3.1" (TTL 64, DF, IP ID zero on TCP, 1000 Hz
 * timestamps, SYN/ACK window 10 x (MSS - 12) = 14480 and MSS,SACKOK,TS,NOP,
 * WS7: p0f's "Linux 3.x" response signature); its own SYNs as a current
 * kernel's (64240, the same options). */
static const char linux_fp[] =
    "Fingerprint linux\n"
    "SEQ(TI=Z%CI=Z%II=I%TS=A)\n"
    "OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7%O3=M5B4NNT11NW7%O4=M5B4ST11NW7%O5=M5B4ST11NW7%O6="
    "M5B4ST11)\n"
    "WIN(W1=3890%W2=3890%W3=3890%W4=3890%W5=3890%W6=3890)\n"
    "ECN(R=Y%DF=Y%T=40%W=3908%O=M5B4NNSNW7%CC=N%Q=)\n" LINUX_TESTS "UMPA(SW=FAF0%SO=M5B4ST11NW7%W=1F6)\n";

/* linux6: what a current kernel sends (Linux 6.x with tcp_rmem[2] = 32 MiB,
 * as the kernels of the test machines, 6.18: window scale 10): nmap's "Linux
 * 4.15 - 5.6" with that scale.  The SYN/ACK window is 65535 rounded down to
 * a multiple of the MSS less 12 for timestamps (65160 with MSS 1460, 64260
 * with 1440 on IPv6, 64240 without timestamps: UMPA's WR) and later segments
 * announce it rounded up to the scale (64 and 63), IP ID zero on TCP: a
 * recorded conversation with such a kernel replays against it unchanged.
 * p0f (its database ends at Linux 3.x) names none of this: for p0f's "Linux"
 * use linux. */
static const char linux6_fp[] =
    "Fingerprint linux6\n"
    "SEQ(TI=Z%CI=Z%II=I%TS=A)\n"
    "OPS(O1=M5B4ST11NWA%O2=M5B4ST11NWA%O3=M5B4NNT11NWA%O4=M5B4ST11NWA%O5=M5B4ST11NWA%O6="
    "M5B4ST11)\n"
    "WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)\n"
    "ECN(R=Y%DF=Y%T=40%W=FAF0%O=M5B4NNSNWA%CC=N%Q=)\n" LINUX_TESTS "UMPA(SW=FAF0%SO=M5B4ST11NWA%W=40%WR=FFFF)\n";

/* windows: nmap's "Microsoft Windows 7 SP1" without timestamps (Windows
 * does not answer them unless configured): TTL 128, DF, incrementing IP
 * IDs, SYN/ACK window 8192 with MSS,NOP,WS8,NOP,NOP,SACKOK (p0f's "Windows
 * 7 or 8"); its own SYNs as Windows 10's (64240, the same options). */
static const char windows_fp[] = "Fingerprint windows\n"
				 "SEQ(TI=I%CI=I%II=I%SS=S%TS=U)\n"
				 "OPS(O1=M5B4NW8NNS%O2=M5B4NW8NNS%O3=M5B4NW8%O4=M5B4NW8NNS%O5=M5B4NW8NNS%O6=M5B4NNS)\n"
				 "WIN(W1=2000%W2=2000%W3=2000%W4=2000%W5=2000%W6=2000)\n"
				 "ECN(R=Y%DF=Y%T=80%W=2000%O=M5B4NW8NNS%CC=N%Q=)\n"
				 "T1(R=Y%DF=Y%T=80%S=O%A=S+%F=AS%RD=0%Q=)\n"
				 "T2(R=N)\n"
				 "T3(R=N)\n"
				 "T4(R=Y%DF=Y%T=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)\n"
				 "T5(R=Y%DF=Y%T=80%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
				 "T6(R=Y%DF=Y%T=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)\n"
				 "T7(R=Y%DF=Y%T=80%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
				 "U1(DF=N%T=80%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
				 "IE(DFI=N%T=80%CD=Z)\n"
				 "UMPA(SW=FAF0%SO=M5B4NW8NNS%W=402)\n";

/* freebsd: nmap's "FreeBSD 9.0-RELEASE": TTL 64, DF, incrementing IP IDs,
 * window 65535 with MSS,NOP,WS6,SACKOK,TS (p0f's "FreeBSD 9.x"), silent
 * to FIN/PSH/URG at closed ports, unreachables quoting 28 bytes. */
static const char freebsd_fp[] = "Fingerprint freebsd\n"
				 "SEQ(TI=I%CI=I%II=I%TS=22)\n"
				 "OPS(O1=M5B4NW6ST11%O2=M578NW6ST11%O3=M280NW6NNT11%O4=M5B4NW6ST11%O5=M218NW6ST11%O6="
				 "M109ST11)\n"
				 "WIN(W1=FFFF%W2=FFFF%W3=FFFF%W4=FFFF%W5=FFFF%W6=FFFF)\n"
				 "ECN(R=Y%DF=Y%T=40%W=FFFF%O=M5B4NW6SLL%CC=N)\n"
				 "T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0)\n"
				 "T2(R=N)\n"
				 "T3(R=N)\n"
				 "T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%RD=0)\n"
				 "T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%RD=0)\n"
				 "T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%RD=0)\n"
				 "T7(R=N)\n"
				 "U1(DF=N%T=40%IPL=38%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
				 "IE(DFI=N%T=40%CD=S)\n"
				 "UMPA(SW=FFFF%SO=M5B4NW6ST11%W=404)\n";

/* embedded: an lwIP-like small stack (nmap's lwIP entries): TTL 255, no DF,
 * incrementing IP IDs, window 2048, MSS only, no timestamps. */
static const char embedded_fp[] = "Fingerprint embedded\n"
				  "SEQ(TI=I%CI=I%II=I%TS=U)\n"
				  "OPS(O1=M5B4%O2=M5B4%O3=M5B4%O4=M5B4%O5=M5B4%O6=M5B4)\n"
				  "WIN(W1=800%W2=800%W3=800%W4=800%W5=800%W6=800)\n"
				  "ECN(R=Y%DF=N%T=FF%W=800%O=M5B4%CC=N%Q=)\n"
				  "T1(R=Y%DF=N%T=FF%S=O%A=S+%F=AS%RD=0%Q=)\n"
				  "T2(R=N)\n"
				  "T3(R=Y%DF=N%T=FF%W=800%S=O%A=S+%F=AS%O=M5B4%RD=0%Q=)\n"
				  "T4(R=Y%DF=N%T=FF%W=800%S=A%A=S%F=AR%O=%RD=0%Q=)\n"
				  "T5(R=Y%DF=N%T=FF%W=800%S=A%A=S+%F=AR%O=%RD=0%Q=)\n"
				  "T6(R=Y%DF=N%T=FF%W=800%S=A%A=S%F=AR%O=%RD=0%Q=)\n"
				  "T7(R=Y%DF=N%T=FF%W=800%S=A%A=S+%F=AR%O=%RD=0%Q=)\n"
				  "U1(DF=N%T=FF%IPL=38%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
				  "IE(DFI=N%T=FF%CD=S)\n"
				  "UMPA(SW=800%SO=M5B4%W=800)\n";

static const struct builtin builtins[] = {
    {"linux", linux_fp},     {"linux6", linux6_fp},     {"windows", windows_fp},
    {"freebsd", freebsd_fp}, {"embedded", embedded_fp},
};

/* ------------------------------------------------------------------ */
/* the fingerprint parser                                              */
/* ------------------------------------------------------------------ */

struct span {
	const char *s;
	size_t n;
};

static int span_is(struct span a, const char *w)
{
	size_t n = strlen(w);

	return a.n == n && memcmp(a.s, w, n) == 0;
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The hex number that is all of @v, at most @max.  Returns 0 or -1. */
static int hexnum(struct span v, uint32_t max, uint32_t *out)
{
	uint64_t x = 0;

	if (!v.n || v.n > 8)
		return -1;
	for (size_t i = 0; i < v.n; i++) {
		int d = hexval(v.s[i]);
		if (d < 0)
			return -1;
		x = x * 16 + (unsigned)d;
	}
	if (x > max)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* The first alternative of a value ("I|RD" -> "I"). */
static struct span first_alt(struct span v)
{
	const char *bar = memchr(v.s, '|', v.n);

	if (bar)
		v.n = (size_t)(bar - v.s);
	return v;
}

/* A hex number or range "LO-HI" (@hi = @lo for a number). */
static int hexrange(struct span v, uint32_t max, uint32_t *lo, uint32_t *hi)
{
	const char *dash = memchr(v.s, '-', v.n);

	if (!dash)
		return hexnum(v, max, lo) < 0 ? -1 : (*hi = *lo, 0);
	if (hexnum((struct span){v.s, (size_t)(dash - v.s)}, max, lo) < 0 ||
	    hexnum((struct span){dash + 1, v.n - (size_t)(dash - v.s) - 1}, max, hi) < 0 || *hi < *lo)
		return -1;
	return 0;
}

/* The usual initial TTL at or above an observed one. */
static uint8_t guess_ttl(uint32_t t)
{
	return t <= 32 ? 32 : t <= 64 ? 64 : t <= 128 ? 128 : 255;
}

int umpa_persona_opts_check(const char *o, struct umpa_err *e)
{
	size_t i = 0, bytes = 0;

	while (o[i]) {
		char c = o[i];
		size_t start = i++;
		switch (c) {
		case 'L':
		case 'N':
			bytes += 1;
			break;
		case 'S':
			bytes += 2;
			break;
		case 'M':
		case 'W': {
			size_t k = 0;
			uint32_t v = 0;
			while (hexval(o[i]) >= 0 && k < 5)
				v = v * 16 + (unsigned)hexval(o[i++]), k++;
			if (!k || (c == 'M' && v > 0xffff) || (c == 'W' && v > 0xff))
				return umpa_err_set(e, UMPA_EINVAL,
						    "options '%s': %c at %zu wants a hex value (MSS up to FFFF, "
						    "shift up to FF)",
						    o, c, start + 1);
			bytes += c == 'M' ? 4 : 3;
			break;
		}
		case 'T':
			if ((o[i] != '0' && o[i] != '1') || (o[i + 1] != '0' && o[i + 1] != '1'))
				return umpa_err_set(e, UMPA_EINVAL,
						    "options '%s': T at %zu wants two digits 0/1 (TSval, TSecr set)", o,
						    start + 1);
			i += 2;
			bytes += 10;
			break;
		default:
			return umpa_err_set(e, UMPA_EINVAL,
					    "options '%s': '%c' at %zu is not an option (M hex, W hex, T11, S, N, L)",
					    o, c, start + 1);
		}
		if (bytes > 40)
			return umpa_err_set(e, UMPA_EINVAL, "options '%s': more than 40 bytes", o);
		if (i >= UMPA_PERSONA_OPTS)
			return umpa_err_set(e, UMPA_EINVAL, "options '%s': longer than %d characters", o,
					    UMPA_PERSONA_OPTS - 1);
	}
	return 0;
}

/* One line of a database: its text (no newline) and number. */
struct line {
	struct span t;
	unsigned no;
};

/* Check the syntax of a test line "NAME(K=V%K=V...)".  Returns 0 or -1 with @why. */
static int test_syntax(struct span l, const char **why)
{
	size_t i = 0, k;

	while (i < l.n && is_alnum(l.s[i]))
		i++;
	if (i == 0 || i > 8 || i >= l.n || l.s[i] != '(') {
		*why = "not a test line NAME(K=V%...)";
		return -1;
	}
	if (l.s[l.n - 1] != ')') {
		*why = "test line does not end with ')'";
		return -1;
	}
	i++;
	while (i < l.n - 1) {
		for (k = 0; i < l.n - 1 && is_alnum(l.s[i]); i++, k++)
			;
		if (k == 0 || k > 8 || i >= l.n - 1 || l.s[i] != '=') {
			*why = "attribute is not NAME=VALUE";
			return -1;
		}
		for (i++; i < l.n - 1 && l.s[i] != '%'; i++)
			if (!is_alnum(l.s[i]) && !strchr("|-+<>_.", l.s[i])) {
				*why = "attribute value has a character outside [0-9A-Za-z|-+<>_.]";
				return -1;
			}
		if (i < l.n - 1)
			i++; /* '%' */
	}
	return 0;
}

/* Case-insensitive: does @hay contain @needle? */
static int contains_ci(struct span hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return 1;
	for (size_t i = 0; i + n <= hay.n; i++)
		if (strncasecmp(hay.s + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Defaults before an entry's lines: a plain RFC host. */
static void persona_defaults(struct umpa_persona *p)
{
	memset(p, 0, sizeof(*p));
	p->ttl = p->ttl_icmp = p->unreach_ttl = 64;
	p->df_tcp = p->df_udp = 1;
	p->dfi = 'N';
	p->icmp_code = 'S';
	p->ipid_tcp = p->ipid_closed = p->ipid_icmp = UMPA_IPID_INC;
	p->ts_hz = 1000;
	for (int i = 0; i < 6; i++) {
		p->win_synack[i] = 65535;
		strcpy(p->opts_synack[i], "M5B4");
	}
	p->win_nots = 0;
	p->win_syn = 65535;
	strcpy(p->opts_syn, "M5B4");
	p->win = 65535;
	p->rst_syn = (struct umpa_persona_rst){1, 1, 64, 'Z', 'T', TF_RST | TF_ACK, 0};
	p->rst_ack = (struct umpa_persona_rst){1, 1, 64, 'A', 'Z', TF_RST, 0};
	p->rst_other = (struct umpa_persona_rst){1, 1, 64, 'Z', 'T', TF_RST | TF_ACK, 0};
	/* open ports: no answer to nmap's T2 and T3 (what Linux, Windows and FreeBSD do) */
	p->open_null = p->open_synfin = (struct umpa_persona_rst){0, 1, 64, 'Z', 'Z', 0, 0};
	p->open_ack = p->rst_ack;
	p->udp_unreach = 1;
	p->unreach_ipl = 576;
}

struct pctx {
	const char *file;
	unsigned no;
	struct umpa_err *e;
	int have_ttl, have_win, have_syn, have_icmp_ttl, have_unreach_ttl, have_win_nots, have_t4;
	uint8_t some_ttl; /* any TTL seen, for lines without one */
};

static int bad(struct pctx *c, const char *what, struct span k, struct span v)
{
	return umpa_err_set(c->e, UMPA_EFORMAT, "%s:%u: %.*s=%.*s: %s", c->file, c->no, (int)k.n, k.s, (int)v.n, v.s,
			    what);
}

static int ipid_class(struct span v, uint8_t *cls, uint16_t *fixed)
{
	uint32_t x;

	v = first_alt(v);
	if (span_is(v, "I"))
		*cls = UMPA_IPID_INC;
	else if (span_is(v, "Z"))
		*cls = UMPA_IPID_ZERO;
	else if (span_is(v, "RD"))
		*cls = UMPA_IPID_RAND;
	else if (span_is(v, "RI"))
		*cls = UMPA_IPID_RANDINC;
	else if (span_is(v, "BI"))
		*cls = UMPA_IPID_BROKEN;
	else if (hexnum(v, 0xffff, &x) == 0)
		*cls = UMPA_IPID_FIXED, *fixed = (uint16_t)x;
	else
		return -1;
	return 0;
}

/* nmap's TS class -> ticks per second, and whether offsets differ per connection. */
static int ts_rate(struct span v, uint32_t *hz, uint8_t *per_conn)
{
	uint32_t x, hi;

	v = first_alt(v);
	*per_conn = 0;
	if (span_is(v, "U") || span_is(v, "0")) {
		*hz = 0;
		return 0;
	}
	if (hexrange(v, 0xff, &x, &hi) < 0)
		return -1;
	if (x == 1)
		*hz = 2;
	else if (x == 7)
		*hz = 100;
	else if (x == 8)
		*hz = 200;
	else if (x == 0xA)
		*hz = 1000;
	else if (x <= 20)
		*hz = 1u << x;
	else /* log2 beyond 2^20: random per-connection offsets; the clock is 1000 Hz */
		*hz = 1000, *per_conn = 1;
	return 0;
}

/* An O value: nmap syntax, checked; "" allowed. */
static int opt_value(struct pctx *c, struct span k, struct span v, char *out)
{
	struct umpa_err e2 = {0};

	v = first_alt(v);
	if (v.n >= UMPA_PERSONA_OPTS)
		return bad(c, "option layout too long", k, v);
	memcpy(out, v.s, v.n);
	out[v.n] = 0;
	if (umpa_persona_opts_check(out, &e2) < 0)
		return bad(c, "not an option layout (M hex, W hex, T11, S, N, L)", k, v);
	return 0;
}

static int ttl_value(struct pctx *c, struct span k, struct span v, uint8_t *ttl)
{
	uint32_t lo, hi, mid;

	v = first_alt(v);
	/* a range is the initial TTL give or take (3B-45 around 64, FA-104 around 255) */
	if (hexrange(v, 0x1ff, &lo, &hi) < 0 || hi == 0 || lo > 0xff)
		return bad(c, "not a TTL (hex, or a hex range)", k, v);
	mid = (lo + hi) / 2;
	*ttl = lo == hi ? (uint8_t)lo : guess_ttl(mid > 255 ? 255 : mid);
	if (!c->some_ttl)
		c->some_ttl = *ttl;
	return 0;
}

static int flags_value(struct span v, uint16_t *f)
{
	static const char letters[] = "FSRPAUEC";
	*f = 0;
	v = first_alt(v);
	for (size_t i = 0; i < v.n; i++) {
		const char *x = memchr(letters, v.s[i], sizeof(letters) - 1);
		if (!x)
			return -1;
		*f |= (uint16_t)(1u << (x - letters));
	}
	return 0;
}

/* Parse one test line of the chosen entry into @p. */
static int parse_test(struct pctx *c, struct span l, struct umpa_persona *p)
{
	size_t i = 0;
	struct span test;
	struct umpa_persona_rst *rst = NULL;
	int t_seen = 0;
	uint8_t tg = 0, t = 0;

	while (is_alnum(l.s[i]))
		i++;
	test = (struct span){l.s, i};
	if (span_is(test, "T2"))
		rst = &p->open_null;
	else if (span_is(test, "T3"))
		rst = &p->open_synfin;
	else if (span_is(test, "T4"))
		rst = &p->open_ack, c->have_t4 = 1;
	else if (span_is(test, "T5"))
		rst = &p->rst_syn;
	else if (span_is(test, "T6"))
		rst = &p->rst_ack;
	else if (span_is(test, "T7"))
		rst = &p->rst_other;
	i++;
	while (i < l.n - 1) {
		struct span k = {l.s + i, 0}, v;
		uint32_t x, hi;
		while (l.s[i] != '=')
			i++, k.n++;
		v = (struct span){l.s + ++i, 0};
		while (i < l.n - 1 && l.s[i] != '%')
			i++, v.n++;
		if (i < l.n - 1)
			i++;
		if (span_is(test, "SEQ")) {
			if (span_is(k, "TI") && ipid_class(v, &p->ipid_tcp, &p->ipid_fixed) < 0)
				return bad(c, "not an IP ID class (I, Z, RD, RI, BI or hex)", k, v);
			if (span_is(k, "CI") && ipid_class(v, &p->ipid_closed, &p->ipid_fixed) < 0)
				return bad(c, "not an IP ID class (I, Z, RD, RI, BI or hex)", k, v);
			if (span_is(k, "II") && ipid_class(v, &p->ipid_icmp, &p->ipid_fixed) < 0)
				return bad(c, "not an IP ID class (I, Z, RD, RI, BI or hex)", k, v);
			if (span_is(k, "TS") && ts_rate(v, &p->ts_hz, &p->ts_per_conn) < 0)
				return bad(c, "not a timestamp class (U, 0 or hex)", k, v);
		} else if (span_is(test, "OPS")) {
			if (k.n == 2 && k.s[0] == 'O' && k.s[1] >= '1' && k.s[1] <= '6' &&
			    opt_value(c, k, v, p->opts_synack[k.s[1] - '1']) < 0)
				return -UMPA_EFORMAT;
		} else if (span_is(test, "WIN")) {
			if (k.n == 2 && k.s[0] == 'W' && k.s[1] >= '1' && k.s[1] <= '6') {
				if (hexrange(first_alt(v), 0xffff, &x, &hi) < 0)
					return bad(c, "not a window (hex)", k, v);
				p->win_synack[k.s[1] - '1'] = (uint16_t)x;
				c->have_win = 1;
			}
		} else if (span_is(test, "ECN")) {
			if (span_is(k, "W")) {
				if (hexrange(first_alt(v), 0xffff, &x, &hi) < 0)
					return bad(c, "not a window (hex)", k, v);
				p->win_nots = (uint16_t)x;
				c->have_win_nots = 1;
			} else if (span_is(k, "O") && opt_value(c, k, v, p->opts_nots) < 0) {
				return -UMPA_EFORMAT;
			}
		} else if (span_is(test, "UMPA")) {
			if (span_is(k, "SW") || span_is(k, "W")) {
				if (hexnum(v, 0xffff, &x) < 0)
					return bad(c, "not a window (hex)", k, v);
				*(span_is(k, "W") ? &p->win : &p->win_syn) = (uint16_t)x;
				c->have_syn |= span_is(k, "SW");
			} else if (span_is(k, "SO") && opt_value(c, k, v, p->opts_syn) < 0) {
				return -UMPA_EFORMAT;
			} else if (span_is(k, "WR")) {
				if (hexnum(v, 0xffff, &x) < 0 || x == 0)
					return bad(c, "not a window (hex, not 0)", k, v);
				p->win_round = (uint16_t)x;
			}
		} else if (span_is(test, "T1") || rst || span_is(test, "U1") || span_is(test, "IE")) {
			int u1 = span_is(test, "U1"), ie = span_is(test, "IE");
			struct span fv = first_alt(v);
			if (span_is(k, "R")) {
				int yes = span_is(fv, "Y");
				if (!yes && !span_is(fv, "N"))
					return bad(c, "not Y or N", k, v);
				if (rst)
					rst->send = (uint8_t)yes;
				if (u1)
					p->udp_unreach = (uint8_t)yes;
			} else if (span_is(k, "DF")) {
				int yes = span_is(fv, "Y");
				if (!yes && !span_is(fv, "N"))
					return bad(c, "not Y or N", k, v);
				if (span_is(test, "T1"))
					p->df_tcp = p->df_udp = (uint8_t)yes;
				if (rst)
					rst->df = (uint8_t)yes;
				if (u1)
					p->unreach_df = (uint8_t)yes;
			} else if (span_is(k, "DFI") && ie) {
				if (fv.n != 1 || !strchr("NYSO", fv.s[0]))
					return bad(c, "not N, Y, S or O", k, v);
				p->dfi = fv.s[0];
			} else if (span_is(k, "CD") && ie) {
				p->icmp_code = span_is(fv, "Z") ? 'Z' : 'S';
			} else if (span_is(k, "T") || span_is(k, "TG")) {
				uint8_t *dst = span_is(k, "TG") ? &tg : &t;
				if (ttl_value(c, k, v, dst) < 0)
					return -UMPA_EFORMAT;
				t_seen = 1;
			} else if (span_is(k, "W") && rst) {
				if (hexrange(fv, 0xffff, &x, &hi) < 0)
					return bad(c, "not a window (hex)", k, v);
				rst->win = (uint16_t)x;
			} else if (span_is(k, "S") && rst) {
				if (span_is(fv, "Z") || span_is(fv, "A") || span_is(fv, "O"))
					rst->seq = fv.s[0];
				else if (span_is(fv, "A+"))
					rst->seq = 'B';
				else
					return bad(c, "not Z, A, A+ or O", k, v);
			} else if (span_is(k, "A") && rst) {
				if (span_is(fv, "Z") || span_is(fv, "S") || span_is(fv, "O"))
					rst->ack = fv.s[0];
				else if (span_is(fv, "S+"))
					rst->ack = 'T';
				else
					return bad(c, "not Z, S, S+ or O", k, v);
			} else if (span_is(k, "F") && rst) {
				if (flags_value(fv, &rst->flags) < 0)
					return bad(c, "not TCP flag letters (E U A P R S F)", k, v);
			} else if (span_is(k, "IPL") && u1) {
				if (hexnum(fv, 0xffff, &x) < 0 || x < 28)
					return bad(c, "not an IP length (hex, at least 1C)", k, v);
				p->unreach_ipl = (uint16_t)x;
			} else if (span_is(k, "UN") && u1) {
				if (hexnum(fv, 0xffffffffu, &x) < 0)
					return bad(c, "not a hex number", k, v);
				p->unreach_un = x;
			}
		}
	}
	if (t_seen) { /* TG (nmap's guess of the initial TTL) wins over an observed T */
		uint8_t ttl = tg ? tg : t;
		if (span_is(test, "T1"))
			p->ttl = ttl, c->have_ttl = 1;
		if (rst)
			rst->ttl = ttl;
		if (span_is(test, "U1"))
			p->unreach_ttl = ttl, c->have_unreach_ttl = 1;
		if (span_is(test, "IE"))
			p->ttl_icmp = ttl, c->have_icmp_ttl = 1;
	}
	return 0;
}

/* Fill what an entry left out from what it gave. */
static void persona_complete(struct pctx *c, struct umpa_persona *p)
{
	uint8_t ttl = c->have_ttl ? p->ttl : c->some_ttl ? c->some_ttl : 64;

	p->ttl = ttl;
	if (!c->have_icmp_ttl)
		p->ttl_icmp = ttl;
	if (!c->have_unreach_ttl)
		p->unreach_ttl = p->ttl_icmp;
	for (int i = 1; i < 6; i++)
		if (!p->opts_synack[i][0])
			strcpy(p->opts_synack[i], p->opts_synack[0]);
	if (!c->have_win_nots)
		p->win_nots = p->win_synack[0];
	if (!c->have_syn) {
		p->win_syn = p->win_synack[0];
		strcpy(p->opts_syn, p->opts_synack[0]);
	}
	if (!c->have_syn && p->win == 65535 && c->have_win)
		p->win = p->win_synack[0];
	if (!c->have_t4) /* an ACK to an open port: as to a closed one (nmap sees both) */
		p->open_ack = p->rst_ack;
}

/* Parse @text: check every line; pick the entry @want (NULL: the first);
 * fill @out.  Returns 0 or a negative error. */
static int parse_db(const char *text, size_t len, const char *file, const char *want, struct umpa_persona *out,
		    struct umpa_err *e)
{
	struct pctx c = {.file = file, .e = e};
	struct line exact[ENTRY_LINES], sub[ENTRY_LINES], *pick;
	size_t nexact = 0, nsub = 0, npick;
	int in_exact = 0, in_sub = 0, have_exact = 0, nsubnames = 0;
	char subnames[3][96];
	const char *p = text, *end = text + len;
	unsigned no = 0;
	struct span name = {0};

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct span l = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
		const char *why = NULL;
		p = nl ? nl + 1 : end;
		no++;
		if (l.n > LINE_MAX_)
			return umpa_err_set(e, UMPA_EFORMAT, "%s:%u: line longer than %d bytes", file, no, LINE_MAX_);
		if (l.n && l.s[l.n - 1] == '\r')
			l.n--;
		while (l.n && (l.s[l.n - 1] == ' ' || l.s[l.n - 1] == '\t'))
			l.n--;
		if (memchr(l.s, 0, l.n))
			return umpa_err_set(e, UMPA_EFORMAT, "%s:%u: a NUL byte", file, no);
		if (l.n == 0 || l.s[0] == '#')
			continue;
		if (l.n > 12 && !memcmp(l.s, "Fingerprint ", 12)) {
			name = (struct span){l.s + 12, l.n - 12};
			in_exact = in_sub = 0;
			if (name.n == 0 || name.n >= sizeof(out->name))
				return umpa_err_set(e, UMPA_EFORMAT, "%s:%u: a fingerprint name of 1 to %zu bytes",
						    file, no, sizeof(out->name) - 1);
			if (!want) {
				in_exact = !have_exact;
			} else if (!have_exact && strlen(want) == name.n && !strncasecmp(want, name.s, name.n)) {
				in_exact = 1;
			} else if (contains_ci(name, want)) {
				int dup = 0;
				for (int k = 0; k < nsubnames && k < 3; k++)
					dup |= strlen(subnames[k]) == name.n && !memcmp(subnames[k], name.s, name.n);
				if (!dup) {
					if (nsubnames < 3)
						snprintf(subnames[nsubnames], sizeof(subnames[0]), "%.*s", (int)name.n,
							 name.s);
					in_sub = nsubnames == 0;
					nsubnames++;
				}
			}
			if (in_exact) {
				have_exact = 1;
				nexact = 0;
				exact[nexact++] = (struct line){l, no};
			}
			if (in_sub) {
				nsub = 0;
				sub[nsub++] = (struct line){l, no};
			}
			continue;
		}
		if ((l.n >= 6 && !memcmp(l.s, "Class ", 6)) || (l.n >= 4 && !memcmp(l.s, "CPE ", 4)) ||
		    span_is(l, "MatchPoints"))
			continue;
		if (test_syntax(l, &why) < 0)
			return umpa_err_set(e, UMPA_EFORMAT, "%s:%u: %s", file, no, why);
		if (!name.n && no)
			continue; /* MatchPoints' lines come before every entry */
		if (in_exact) {
			if (nexact == ENTRY_LINES)
				return umpa_err_set(e, UMPA_EFORMAT, "%s:%u: entry of more than %d lines", file, no,
						    ENTRY_LINES);
			exact[nexact++] = (struct line){l, no};
		}
		if (in_sub) {
			if (nsub == ENTRY_LINES)
				return umpa_err_set(e, UMPA_EFORMAT, "%s:%u: entry of more than %d lines", file, no,
						    ENTRY_LINES);
			sub[nsub++] = (struct line){l, no};
		}
	}
	if (have_exact) {
		pick = exact;
		npick = nexact;
	} else if (nsubnames == 1) {
		pick = sub;
		npick = nsub;
	} else if (nsubnames > 1) {
		return umpa_err_set(
		    e, UMPA_ENOENT, "%s: '%s' matches several fingerprints ('%s', '%s'%s%s%s%s): give more of the name",
		    file, want, subnames[0], subnames[1], nsubnames > 2 ? ", '" : "", nsubnames > 2 ? subnames[2] : "",
		    nsubnames > 2 ? "'" : "", nsubnames > 3 ? ", ..." : "");
	} else {
		return umpa_err_set(e, UMPA_ENOENT, "%s: no fingerprint named '%s'", file, want ? want : "");
	}
	persona_defaults(out);
	snprintf(out->name, sizeof(out->name), "%.*s", (int)pick[0].t.n - 12, pick[0].t.s + 12);
	for (size_t i = 1; i < npick; i++) {
		int rc;
		c.no = pick[i].no;
		if ((rc = parse_test(&c, pick[i].t, out)) < 0)
			return rc;
	}
	persona_complete(&c, out);
	return 0;
}

int umpa_persona_nmap_parse(const char *text, size_t len, const char *file, const char *name, struct umpa_persona *out,
			    struct umpa_err *e)
{
	if (!name || !*name)
		return umpa_err_set(e, UMPA_EINVAL, "nmap: give a fingerprint name (nmap:Linux 2.6.32)");
	return parse_db(text, len, file, name, out, e);
}

int umpa_persona_get(const char *spec, const char *db, struct umpa_persona *out, struct umpa_err *e)
{
	if (!strncmp(spec, "nmap:", 5)) {
		const char *path = db ? db : getenv("UMPA_NMAP_OS_DB");
		FILE *f;
		char *text;
		size_t n = 0, got;
		int rc;

		if (!path || !*path)
			path = UMPA_NMAP_OS_DB;
		if (!(f = fopen(path, "rb")))
			return umpa_err_set(e, UMPA_ENOENT, "personality '%s': %s: %s (install nmap)", spec, path,
					    strerror(errno));
		if (!(text = malloc(DB_MAX))) {
			fclose(f);
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		}
		while ((got = fread(text + n, 1, DB_MAX - n, f)) > 0)
			n += got;
		if (ferror(f) || n == DB_MAX) {
			fclose(f);
			free(text);
			return umpa_err_set(e, UMPA_EIO, "%s: %s", path,
					    n == DB_MAX ? "larger than 64 MiB" : "read error");
		}
		fclose(f);
		rc = umpa_persona_nmap_parse(text, n, path, spec + 5, out, e);
		free(text);
		return rc;
	}
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(spec, builtins[i].name))
			return parse_db(builtins[i].text, strlen(builtins[i].text), builtins[i].name, NULL, out, e);
	return umpa_err_set(e, UMPA_ENOENT,
			    "unknown personality '%s' (linux, linux6, windows, freebsd, embedded, nmap:NAME)", spec);
}

/* ------------------------------------------------------------------ */
/* the engine                                                          */
/* ------------------------------------------------------------------ */

struct binding {
	uint8_t af, plen, live;
	uint8_t addr[16];
	uint32_t pi; /* index into the personalities */
	int64_t uptime_ns, t0;
};

struct host {
	uint8_t used, af;
	uint8_t addr[16];
	uint16_t id;
	uint32_t bind; /* index + 1 into the bindings, 0: unbound (as of gen) */
	uint32_t gen;
	uint64_t rng;
};

/* Field descriptors, looked up once. */
struct fields {
	const struct umpa_field *ip_ttl, *ip_id, *ip_flags, *ip_df, *ip_src, *ip_dst, *ip6_hlim, *ip6_src, *ip6_dst;
	const struct umpa_field *tcp_sport, *tcp_dport, *tcp_seq, *tcp_ack, *tcp_flags, *tcp_win, *tcp_opts;
	const struct umpa_field *icmp_type, *icmp_code, *icmp_id, *icmp_seq, *icmp6_type, *icmp6_code;
	const struct umpa_field *eth_src, *eth_dst;
};

struct umpa_persona_set {
	struct umpa_persona *pers; /* the distinct personalities bound (shared by their bindings) */
	size_t npers, cappers;
	struct binding *b;
	size_t nb, capb, nlive;
	uint32_t *exact; /* open addressing over full-length bindings: binding index + 1 */
	size_t nx, capx;
	uint32_t *pfx; /* indices of the shorter prefixes */
	size_t npfx, cappfx;
	struct host *h;
	size_t nh, caph; /* open addressing, caph a power of two */
	uint32_t gen;
	struct host spill; /* the state of the hosts past PERSONA_MAX_HOSTS */
	struct fields f;
};

struct umpa_persona_set *umpa_persona_set_new(void)
{
	struct umpa_persona_set *s = calloc(1, sizeof(*s));
	struct fields *f;

	if (!s)
		return NULL;
	f = &s->f;
	f->ip_ttl = umpa_proto_field(&umpa_proto_ip, "ttl");
	f->ip_id = umpa_proto_field(&umpa_proto_ip, "id");
	f->ip_flags = umpa_proto_field(&umpa_proto_ip, "flags");
	f->ip_df = umpa_proto_field(&umpa_proto_ip, "flags.df");
	f->ip_src = umpa_proto_field(&umpa_proto_ip, "src");
	f->ip_dst = umpa_proto_field(&umpa_proto_ip, "dst");
	f->ip6_hlim = umpa_proto_field(&umpa_proto_ipv6, "hlim");
	f->ip6_src = umpa_proto_field(&umpa_proto_ipv6, "src");
	f->ip6_dst = umpa_proto_field(&umpa_proto_ipv6, "dst");
	f->tcp_sport = umpa_proto_field(&umpa_proto_tcp, "sport");
	f->tcp_dport = umpa_proto_field(&umpa_proto_tcp, "dport");
	f->tcp_seq = umpa_proto_field(&umpa_proto_tcp, "seq");
	f->tcp_ack = umpa_proto_field(&umpa_proto_tcp, "ack");
	f->tcp_flags = umpa_proto_field(&umpa_proto_tcp, "flags");
	f->tcp_win = umpa_proto_field(&umpa_proto_tcp, "window");
	f->tcp_opts = umpa_proto_field(&umpa_proto_tcp, "options");
	f->icmp_type = umpa_proto_field(&umpa_proto_icmp, "type");
	f->icmp_code = umpa_proto_field(&umpa_proto_icmp, "code");
	f->icmp_id = umpa_proto_field(&umpa_proto_icmp, "ident");
	f->icmp_seq = umpa_proto_field(&umpa_proto_icmp, "seq");
	f->icmp6_type = umpa_proto_field(&umpa_proto_icmpv6, "type");
	f->icmp6_code = umpa_proto_field(&umpa_proto_icmpv6, "code");
	f->eth_src = umpa_proto_field(&umpa_proto_eth, "src");
	f->eth_dst = umpa_proto_field(&umpa_proto_eth, "dst");
	for (const struct umpa_field *const *x = &f->ip_ttl; x <= &f->eth_dst; x++)
		if (!*x) { /* a protocol table changed under us */
			free(s);
			return NULL;
		}
	return s;
}

struct umpa_persona_set *umpa_persona_set_free(struct umpa_persona_set *s)
{
	if (s) {
		free(s->pers);
		free(s->b);
		free(s->exact);
		free(s->pfx);
		free(s->h);
		free(s);
	}
	return NULL;
}

size_t umpa_persona_count(const struct umpa_persona_set *s)
{
	return s->nlive;
}

static int prefix_match(const uint8_t *a, const uint8_t *pfx, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, pfx, full))
		return 0;
	return !rest || ((a[full] ^ pfx[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static uint64_t addr_hash(int af, const uint8_t *a)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)af;

	for (int i = 0; i < (af == AF_INET ? 4 : 16); i++)
		h = (h ^ a[i]) * 1099511628211ull;
	return h;
}

static unsigned full_len(int af)
{
	return af == AF_INET ? 32 : 128;
}

/* The slot of full-length binding @a in the exact index (an empty slot when absent). */
static size_t exact_slot(const struct umpa_persona_set *s, int af, const uint8_t *a)
{
	size_t j = addr_hash(af, a) & (s->capx - 1);

	while (s->exact[j]) {
		const struct binding *b = &s->b[s->exact[j] - 1];
		if (b->af == af && !memcmp(b->addr, a, af == AF_INET ? 4 : 16))
			break;
		j = (j + 1) & (s->capx - 1);
	}
	return j;
}

static int exact_grow(struct umpa_persona_set *s)
{
	size_t nc = s->capx ? s->capx * 2 : 64, oc = s->capx;
	uint32_t *old = s->exact;

	if (!(s->exact = calloc(nc, sizeof(*s->exact)))) {
		s->exact = old;
		return -1;
	}
	s->capx = nc;
	for (size_t i = 0; i < oc; i++)
		if (old[i]) {
			const struct binding *b = &s->b[old[i] - 1];
			s->exact[exact_slot(s, b->af, b->addr)] = old[i];
		}
	free(old);
	return 0;
}

/* The index of a personality equal to @p (added when none of the last few is). */
static long persona_index(struct umpa_persona_set *s, const struct umpa_persona *p)
{
	/* a window of recent ones: a template binding one personality to a /16
	 * host by host keeps one copy, and the search stays short */
	for (size_t k = 0; k < 64 && k < s->npers; k++)
		if (!memcmp(&s->pers[s->npers - 1 - k], p, sizeof(*p)))
			return (long)(s->npers - 1 - k);
	if (s->npers == s->cappers) {
		size_t nc = s->cappers ? s->cappers * 2 : 4;
		struct umpa_persona *np = realloc(s->pers, nc * sizeof(*np));
		if (!np)
			return -1;
		s->pers = np;
		s->cappers = nc;
	}
	s->pers[s->npers] = *p;
	return (long)s->npers++;
}

int umpa_persona_bind(struct umpa_persona_set *s, int af, const uint8_t *addr, unsigned plen,
		      const struct umpa_persona *p, int64_t uptime_ns, int64_t now_ns, struct umpa_err *e)
{
	unsigned alen = af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
	uint8_t a[16] = {0};
	size_t i = SIZE_MAX, slot = 0;
	long pi = 0;

	if (!alen)
		return umpa_err_set(e, UMPA_EINVAL, "personality: address family %d", af);
	if (plen > alen * 8)
		return umpa_err_set(e, UMPA_EINVAL, "personality: prefix length %u (at most %u)", plen, alen * 8);
	if (uptime_ns < 0)
		return umpa_err_set(e, UMPA_EINVAL, "personality: a negative uptime");
	memcpy(a, addr, alen);
	for (unsigned k = plen; k < alen * 8; k++) /* the host bits of a prefix */
		a[k / 8] &= (uint8_t) ~(0x80u >> (k % 8));
	if (plen == full_len(af)) {
		if ((s->nx + 1) * 2 > s->capx && exact_grow(s) < 0)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		slot = exact_slot(s, af, a);
		if (s->exact[slot])
			i = s->exact[slot] - 1;
	} else {
		for (size_t k = 0; k < s->npfx; k++) {
			const struct binding *b = &s->b[s->pfx[k]];
			if (b->af == af && b->plen == plen && !memcmp(b->addr, a, 16))
				i = s->pfx[k];
		}
	}
	if (p && (pi = persona_index(s, p)) < 0)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	if (i == SIZE_MAX) {
		if (!p)
			return 0;
		if (s->nb >= PERSONA_MAX_BINDINGS)
			return umpa_err_set(e, UMPA_ERANGE,
					    "personality: at most %u addresses and prefixes (bind a prefix instead)",
					    PERSONA_MAX_BINDINGS);
		if (s->nb == s->capb) {
			size_t nc = s->capb ? s->capb * 2 : 8;
			struct binding *nb = realloc(s->b, nc * sizeof(*nb));
			if (!nb)
				return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
			s->b = nb;
			s->capb = nc;
		}
		if (plen != full_len(af) && s->npfx == s->cappfx) {
			size_t nc = s->cappfx ? s->cappfx * 2 : 8;
			uint32_t *np = realloc(s->pfx, nc * sizeof(*np));
			if (!np)
				return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
			s->pfx = np;
			s->cappfx = nc;
		}
		i = s->nb++;
		memset(&s->b[i], 0, sizeof(s->b[i]));
		s->b[i].af = (uint8_t)af;
		s->b[i].plen = (uint8_t)plen;
		memcpy(s->b[i].addr, a, 16);
		if (plen == full_len(af)) {
			s->exact[slot] = (uint32_t)i + 1;
			s->nx++;
		} else {
			s->pfx[s->npfx++] = (uint32_t)i;
		}
	}
	if (p && !s->b[i].live)
		s->nlive++;
	else if (!p && s->b[i].live)
		s->nlive--;
	s->b[i].live = p != NULL;
	if (p) {
		s->b[i].pi = (uint32_t)pi;
		s->b[i].uptime_ns = uptime_ns;
		s->b[i].t0 = now_ns;
	}
	s->gen++;
	return 0;
}

/* The longest live binding covering @addr: index + 1, or 0. */
static uint32_t longest(const struct umpa_persona_set *s, int af, const uint8_t *addr)
{
	uint32_t best = 0;
	int bl = -1;

	if (s->nx) {
		size_t j = exact_slot(s, af, addr);
		if (s->exact[j] && s->b[s->exact[j] - 1].live)
			return s->exact[j];
	}
	for (size_t k = 0; k < s->npfx; k++) {
		const struct binding *b = &s->b[s->pfx[k]];
		if (b->live && b->af == af && (int)b->plen > bl && prefix_match(addr, b->addr, b->plen)) {
			best = s->pfx[k] + 1;
			bl = b->plen;
		}
	}
	return best;
}

const struct umpa_persona *umpa_persona_find(const struct umpa_persona_set *s, int af, const uint8_t *addr)
{
	uint32_t b = longest(s, af, addr);

	return b ? &s->pers[s->b[b - 1].pi] : NULL;
}

static int hosts_grow(struct umpa_persona_set *s)
{
	size_t nc = s->caph ? s->caph * 2 : 64;
	struct host *nh = calloc(nc, sizeof(*nh));

	if (!nh)
		return -1;
	for (size_t i = 0; i < s->caph; i++) {
		struct host *h = &s->h[i];
		size_t j;
		if (!h->used)
			continue;
		for (j = addr_hash(h->af, h->addr) & (nc - 1); nh[j].used; j = (j + 1) & (nc - 1))
			;
		nh[j] = *h;
	}
	free(s->h);
	s->h = nh;
	s->caph = nc;
	return 0;
}

/* The state of host @addr when a personality covers it (created then), else NULL. */
static struct host *host_get(struct umpa_persona_set *s, int af, const uint8_t *addr)
{
	unsigned alen = af == AF_INET ? 4 : 16;
	struct host *h;
	uint32_t b;
	size_t j;

	if (s->caph) {
		for (j = addr_hash(af, addr) & (s->caph - 1); s->h[j].used; j = (j + 1) & (s->caph - 1)) {
			h = &s->h[j];
			if (h->af == af && !memcmp(h->addr, addr, alen)) {
				if (h->gen != s->gen) {
					h->bind = longest(s, af, addr);
					h->gen = s->gen;
				}
				return h->bind ? h : NULL;
			}
		}
	}
	if (!(b = longest(s, af, addr)))
		return NULL;
	if (s->nh >= PERSONA_MAX_HOSTS || ((s->nh + 1) * 2 > s->caph && hosts_grow(s) < 0)) {
		/* past the cap (or out of memory): the hosts beyond share one IP ID sequence */
		if (!s->spill.used)
			s->spill = (struct host){.used = 1, .rng = 0x9e3779b97f4a7c15ull, .id = 1};
		s->spill.bind = b;
		return &s->spill;
	}
	for (j = addr_hash(af, addr) & (s->caph - 1); s->h[j].used; j = (j + 1) & (s->caph - 1))
		;
	h = &s->h[j];
	memset(h, 0, sizeof(*h));
	h->used = 1;
	h->af = (uint8_t)af;
	memcpy(h->addr, addr, alen);
	h->bind = b;
	h->gen = s->gen;
	h->rng = addr_hash(af, addr) | 1;
	h->id = (uint16_t)(h->rng >> 17); /* a start that differs between hosts, the same every run */
	s->nh++;
	return h;
}

/* xorshift64: deterministic per host, so offline runs repeat. */
static uint64_t rnd(struct host *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

static uint16_t next_id(struct host *h, const struct umpa_persona *p, uint8_t cls)
{
	switch (cls) {
	case UMPA_IPID_ZERO:
		return 0;
	case UMPA_IPID_FIXED:
		return p->ipid_fixed;
	case UMPA_IPID_RAND:
		return (uint16_t)(rnd(h) >> 32);
	case UMPA_IPID_RANDINC:
		h->id = (uint16_t)(h->id + 1001 + rnd(h) % 4000);
		return h->id;
	case UMPA_IPID_BROKEN:
		h->id++;
		return (uint16_t)((h->id << 8) | (h->id >> 8));
	default:
		return ++h->id;
	}
}

/* TSval of binding @b at @now. */
static uint32_t tsval(const struct binding *b, const struct umpa_persona *p, int64_t now_ns)
{
	int64_t up = b->uptime_ns + (now_ns > b->t0 ? now_ns - b->t0 : 0);
	uint64_t sec = (uint64_t)up / 1000000000u, ns = (uint64_t)up % 1000000000u;

	return (uint32_t)(sec * p->ts_hz + ns * p->ts_hz / 1000000000u);
}

/* What a TCP layer's options say. */
/* Window @win rounded down to a multiple of the MSS, less 12 bytes when
 * timestamps are on (Linux's tcp_select_initial_window with the space of
 * its own MSS: 65535 -> 65160 for MSS 1460, 64260 for 1440). */
static uint32_t persona_round_win(uint16_t win, uint16_t mss, int ts)
{
	uint32_t m = ts && mss > 12 ? mss - 12u : mss;

	return m && win > m ? win / m * m : win;
}

struct tcpopts {
	int present; /* a TCP layer was read */
	uint8_t first_kind;
	int ws, sackok, ts, mss;
	uint16_t mss_val;
	uint8_t ws_val;
	uint32_t tsval, tsecr;
	uint16_t win, flags;
	uint16_t sport, dport;
	uint32_t seq, ack, paylen;
};

/* Read the TCP layer @li of @p through the cursor. */
static void read_tcp(const struct umpa_pkt *p, int li, struct tcpopts *o)
{
	struct umpa_cur c;
	uint8_t b12, b13, kind, len;
	uint32_t hlen, pos;

	memset(o, 0, sizeof(*o));
	o->first_kind = 0xff;
	umpa_layer_cur(p, (unsigned)li, &c);
	if (umpa_cur_be16_at(&c, 0, &o->sport) < 0 || umpa_cur_be16_at(&c, 2, &o->dport) < 0 ||
	    umpa_cur_be32_at(&c, 4, &o->seq) < 0 || umpa_cur_be32_at(&c, 8, &o->ack) < 0 ||
	    umpa_cur_u8_at(&c, 12, &b12) < 0 || umpa_cur_u8_at(&c, 13, &b13) < 0 ||
	    umpa_cur_be16_at(&c, 14, &o->win) < 0)
		return;
	o->present = 1;
	o->flags = (uint16_t)(((b12 & 1u) << 8) | b13);
	hlen = (b12 >> 4) * 4u;
	o->paylen = p->l[li].len > hlen ? p->l[li].len - hlen : 0;
	for (pos = 20; pos < hlen;) {
		if (umpa_cur_u8_at(&c, pos, &kind) < 0 || kind == 0)
			break;
		if (o->first_kind == 0xff)
			o->first_kind = kind;
		if (kind == 1) {
			pos++;
			continue;
		}
		if (umpa_cur_u8_at(&c, pos + 1, &len) < 0 || len < 2 || pos + len > hlen)
			break;
		if (kind == 2 && len == 4 && umpa_cur_be16_at(&c, pos + 2, &o->mss_val) == 0)
			o->mss = 1;
		else if (kind == 3 && len == 3 && umpa_cur_u8_at(&c, pos + 2, &o->ws_val) == 0)
			o->ws = 1;
		else if (kind == 4)
			o->sackok = 1;
		else if (kind == 8 && len == 10 && umpa_cur_be32_at(&c, pos + 2, &o->tsval) == 0 &&
			 umpa_cur_be32_at(&c, pos + 6, &o->tsecr) == 0)
			o->ts = 1;
		pos += len;
	}
}

/* The first TCP (not quoted) layer of @p, or -1. */
static int tcp_layer(const struct umpa_pkt *p)
{
	int li = umpa_pkt_find(p, &umpa_proto_tcp, 0);

	return li >= 0 && !(p->l[li].flags & UMPA_L_QUOTED) ? li : -1;
}

/* Which of nmap's six SYN probes @q is (0-5), or -1 (nmap: osscan2.cc). */
static int nmap_probe(const struct tcpopts *q)
{
	if (!q->ts || q->tsval != 0xffffffffu)
		return -1;
	switch (q->win) {
	case 1:
		return 0;
	case 63:
		return 1;
	case 4:
		return q->first_kind == 8 ? 2 : q->first_kind == 4 ? 3 : -1;
	case 16:
		return 4;
	case 512:
		return 5;
	default:
		return -1;
	}
}

/* Write option layout @o (nmap syntax) as a tcp options spec into @out,
 * leaving out what the SYN @q did not offer (and the NOPs just before).
 * Values the packet already carries (@own: options its sender left
 * automatic, a TCP endpoint's negotiated MSS, shift and timestamps) win over
 * the layout's; a kind the layout lacks is dropped. */
static void opts_spec(const char *o, const struct tcpopts *q, const struct tcpopts *own, uint32_t tsv, uint32_t tsecr,
		      int ipv6, char *out, size_t n)
{
	size_t w = 0, pending_nops = 0;

	out[0] = 0;
	for (size_t i = 0; o[i];) {
		char c = o[i++], item[48];
		uint32_t v = 0;
		int keep = 1;
		item[0] = 0;
		if (c == 'M' || c == 'W') {
			while (hexval(o[i]) >= 0)
				v = v * 16 + (unsigned)hexval(o[i++]);
		}
		switch (c) {
		case 'N':
			pending_nops++;
			continue;
		case 'L':
			snprintf(item, sizeof(item), "eol");
			break;
		case 'S':
			keep = !q || q->sackok;
			snprintf(item, sizeof(item), "sackok");
			break;
		case 'M':
			if (ipv6 && v > 20)
				v -= 20;
			snprintf(item, sizeof(item), "mss=%u", own->mss ? own->mss_val : v);
			break;
		case 'W':
			keep = !q || q->ws;
			snprintf(item, sizeof(item), "wscale=%u", own->ws ? own->ws_val : v);
			break;
		case 'T':
			keep = !q || q->ts;
			if (own->ts)
				snprintf(item, sizeof(item), "ts=%u:%u", own->tsval, own->tsecr);
			else
				snprintf(item, sizeof(item), "ts=%u:%u", o[i] == '1' ? tsv : 0,
					 o[i + 1] == '1' ? tsecr : 0);
			i += 2;
			break;
		default:
			continue;
		}
		if (keep) {
			for (; pending_nops; pending_nops--)
				w += (size_t)snprintf(out + w, w < n ? n - w : 0, "%snop", w ? "," : "");
			w += (size_t)snprintf(out + w, w < n ? n - w : 0, "%s%s", w ? "," : "", item);
		}
		pending_nops = 0;
	}
	for (; pending_nops; pending_nops--) /* trailing NOPs stay */
		w += (size_t)snprintf(out + w, w < n ? n - w : 0, "%snop", w ? "," : "");
}

/* The IP layer that starts the packet's network part: its index, family. */
static int net_layer(const struct umpa_pkt *p, int *af)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		if (p->l[i].proto == &umpa_proto_ip) {
			*af = AF_INET;
			return (int)i;
		}
		if (p->l[i].proto == &umpa_proto_ipv6) {
			*af = AF_INET6;
			return (int)i;
		}
	}
	return -1;
}

/* The layer after the network header(s) (IPv6 extension headers skipped). */
static int transport_layer(const struct umpa_pkt *p, int li)
{
	unsigned i = (unsigned)li + 1;

	while (i < p->nlayers && (p->l[i].proto->pflags & UMPA_PF_NETEXT))
		i++;
	return i < p->nlayers ? (int)i : -1;
}

static uint64_t getu(const struct umpa_pkt *p, int li, const struct umpa_field *f)
{
	uint64_t v = 0;

	umpa_field_get_u64(p, (unsigned)li, f, &v);
	return v;
}

/* The per-connection timestamp offset of segment @p: a hash of its addresses and ports. */
static uint32_t conn_offset(const struct umpa_pkt *p, int li, int ti, int af, const struct fields *F)
{
	const uint8_t *a = NULL, *b = NULL;
	uint32_t n = 0, m = 0;
	uint64_t h = 0x5a17c0ffee5a17c0ull; /* FNV-1a from a seed of ours */

	umpa_field_get_bytes(p, (unsigned)li, af == AF_INET ? F->ip_src : F->ip6_src, &a, &n);
	umpa_field_get_bytes(p, (unsigned)li, af == AF_INET ? F->ip_dst : F->ip6_dst, &b, &m);
	for (uint32_t i = 0; a && i < n; i++)
		h = (h ^ a[i]) * 1099511628211ull;
	for (uint32_t i = 0; b && i < m; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	h = (h ^ getu(p, ti, F->tcp_sport)) * 1099511628211ull;
	h = (h ^ getu(p, ti, F->tcp_dport)) * 1099511628211ull;
	h ^= h >> 33; /* MurmurHash3's finaliser: one port apart is a whole new offset */
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

int umpa_persona_shape(struct umpa_persona_set *s, struct umpa_pkt *p, const struct umpa_pkt *req, int64_t now_ns,
		       struct umpa_err *e)
{
	const struct fields *F = &s->f;
	const struct umpa_persona *P;
	const struct binding *B;
	const uint8_t *src;
	struct host *h;
	int af = 0, li, ti, rst = 0, icmp = 0, echo = 0, echo_req = 0, nd = 0, tcp = 0;
	uint32_t n;
	struct tcpopts q = {0};
	int have_q = 0;

	if (!s->nlive || p->ro)
		return 0;
	if ((li = net_layer(p, &af)) < 0)
		return 0;
	if (umpa_field_get_bytes(p, (unsigned)li, af == AF_INET ? F->ip_src : F->ip6_src, &src, &n) < 0)
		return 0;
	if (!(h = host_get(s, af, src)))
		return 0;
	B = &s->b[h->bind - 1];
	P = &s->pers[B->pi];
	ti = transport_layer(p, li);
	if (ti >= 0 && p->l[ti].proto == &umpa_proto_tcp) {
		tcp = 1;
		rst = (getu(p, ti, F->tcp_flags) & TF_RST) != 0;
	} else if (ti >= 0 && (p->l[ti].proto == &umpa_proto_icmp || p->l[ti].proto == &umpa_proto_icmpv6)) {
		icmp = 1;
		if (p->l[ti].proto == &umpa_proto_icmp) {
			uint64_t t = getu(p, ti, F->icmp_type);
			echo = t == 0;
			echo_req = t == 8;
		} else {
			uint64_t t = getu(p, ti, F->icmp6_type);
			echo = t == 129;
			echo_req = t == 128;
			nd = t >= 133 && t <= 137; /* neighbour discovery: hop limit 255 (RFC 4861) */
		}
	}

	/* the request, when it is what this packet answers */
	if (req && tcp) {
		int qi = tcp_layer(req);
		if (qi >= 0) {
			read_tcp(req, qi, &q);
			have_q =
			    q.present && q.sport == getu(p, ti, F->tcp_dport) && q.dport == getu(p, ti, F->tcp_sport);
		}
	}

	/* IP: TTL / hop limit, DF, ID */
	{
		uint8_t ttl = icmp ? (echo || echo_req ? P->ttl_icmp : P->unreach_ttl) : rst ? P->rst_syn.ttl : P->ttl;
		if (af == AF_INET) {
			umpa_field_auto_u64(p, (unsigned)li, F->ip_ttl, ttl);
			if (!umpa_field_is_set(p, (unsigned)li, F->ip_flags) &&
			    !umpa_field_is_set(p, (unsigned)li, F->ip_df)) {
				int df = tcp                 ? (rst ? P->rst_syn.df : P->df_tcp)
					 : icmp && !echo_req ? P->unreach_df
							     : P->df_udp;
				if (echo) {
					int qdf = 0, qli, qaf;
					if (req && (qli = net_layer(req, &qaf)) >= 0 && qaf == AF_INET)
						qdf = (int)getu(req, qli, F->ip_df);
					df = P->dfi == 'Y' ? 1 : P->dfi == 'S' ? qdf : P->dfi == 'O' ? !qdf : 0;
				}
				umpa_field_auto_u64(p, (unsigned)li, F->ip_df, (uint64_t)df);
			}
			if (!umpa_field_is_set(p, (unsigned)li, F->ip_id)) {
				uint8_t cls = icmp ? P->ipid_icmp : rst ? P->ipid_closed : P->ipid_tcp;
				umpa_field_auto_u64(p, (unsigned)li, F->ip_id, next_id(h, P, cls));
			}
		} else if (!nd) {
			umpa_field_auto_u64(p, (unsigned)li, F->ip6_hlim, ttl);
		}
	}

	/* ICMP echo reply code (nmap CD) */
	if (echo && P->icmp_code == 'S' && req && p->l[ti].proto == &umpa_proto_icmp &&
	    !umpa_field_is_set(p, (unsigned)ti, F->icmp_code)) {
		int qi = umpa_pkt_find(req, &umpa_proto_icmp, 0);
		if (qi >= 0)
			umpa_field_auto_u64(p, (unsigned)ti, F->icmp_code, getu(req, qi, F->icmp_code));
	}

	/* TCP: window and options */
	if (tcp) {
		uint16_t fl = (uint16_t)getu(p, ti, F->tcp_flags);
		int syn = (fl & TF_SYN) != 0, ack = (fl & TF_ACK) != 0;
		int synack_q = have_q && (q.flags & TF_SYN) && !(q.flags & TF_ACK);
		int probe = synack_q ? nmap_probe(&q) : -1;
		int nots = synack_q && !q.ts && P->opts_nots[0];
		uint16_t win = rst          ? P->rst_syn.win
			       : syn && ack ? (nots ? P->win_nots : P->win_synack[probe < 0 ? 0 : probe])
			       : syn        ? P->win_syn
					    : P->win;
		uint32_t tsv = tsval(B, P, now_ns), tsecr = have_q && q.ts ? q.tsval : 0;
		char spec[256];
		const char *layout = NULL;

		if (P->ts_per_conn) /* a secret offset per connection: hashed from its addresses and ports */
			tsv += conn_offset(p, li, ti, af, F);
		umpa_field_auto_u64(p, (unsigned)ti, F->tcp_win, win);
		if (!rst && !umpa_field_is_set(p, (unsigned)ti, F->tcp_opts)) {
			struct tcpopts own;
			read_tcp(p, ti, &own);
			if (syn && ack)
				layout = nots ? P->opts_nots : P->opts_synack[probe < 0 ? 0 : probe];
			else if (syn)
				layout = P->opts_syn;
			/* other segments: their own options (timestamps, SACK blocks) stay as they are;
			 * without any, timestamps as after a handshake that agreed them */
			else if (p->l[ti].hlen <= 20 && strchr(P->opts_synack[0], 'T') && (!have_q || q.ts))
				layout = "NNT11";
			if (layout) {
				opts_spec(layout, syn && ack && synack_q ? &q : NULL, &own, tsv,
					  syn && !ack ? 0 : tsecr, af == AF_INET6, spec, sizeof(spec));
				if (umpa_field_set_str(p, (unsigned)ti, F->tcp_opts, spec, e) < 0)
					return -UMPA_EINVAL;
			}
		}
		if (syn && ack && !rst && P->win_round && !umpa_field_is_set(p, (unsigned)ti, F->tcp_win)) {
			struct tcpopts mine;
			read_tcp(p, ti, &mine);
			if (mine.mss)
				umpa_field_auto_u64(p, (unsigned)ti, F->tcp_win,
						    persona_round_win(P->win_round, mine.mss_val, mine.ts));
		}
	}
	if (umpa_pkt_finish(p, e) < 0)
		return -UMPA_EINVAL;
	return 1;
}

/* ------------------------------------------------------------------ */
/* what a closed port answers                                          */
/* ------------------------------------------------------------------ */

/* Push the Ethernet (swapped from @req's, when it has one) and IP layers of an answer to @req. */
static int answer_head(const struct umpa_persona_set *s, const struct umpa_pkt *req, int qli, int af,
		       struct umpa_pkt *out, struct umpa_err *e)
{
	const struct fields *F = &s->f;
	const uint8_t *a, *b;
	uint32_t n, m;
	int li;

	if (req->nlayers && req->l[0].proto == &umpa_proto_eth) {
		if (umpa_field_get_bytes(req, 0, F->eth_src, &a, &n) < 0 ||
		    umpa_field_get_bytes(req, 0, F->eth_dst, &b, &m) < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "personality_closed: the request's Ethernet header is short");
		if ((li = umpa_pkt_push(out, &umpa_proto_eth, e)) < 0 ||
		    umpa_field_set_bytes(out, 0, F->eth_src, b, m, e) < 0 ||
		    umpa_field_set_bytes(out, 0, F->eth_dst, a, n, e) < 0)
			return -1;
	}
	if (umpa_field_get_bytes(req, (unsigned)qli, af == AF_INET ? F->ip_src : F->ip6_src, &a, &n) < 0 ||
	    umpa_field_get_bytes(req, (unsigned)qli, af == AF_INET ? F->ip_dst : F->ip6_dst, &b, &m) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "personality_closed: the request's IP header is short");
	if ((li = umpa_pkt_push(out, af == AF_INET ? &umpa_proto_ip : &umpa_proto_ipv6, e)) < 0 ||
	    umpa_field_set_bytes(out, (unsigned)li, af == AF_INET ? F->ip_src : F->ip6_src, b, m, e) < 0 ||
	    umpa_field_set_bytes(out, (unsigned)li, af == AF_INET ? F->ip_dst : F->ip6_dst, a, n, e) < 0)
		return -1;
	return li;
}

/*
 * The TCP answer rule @R makes to segment @q (read from @req, network layer
 * @qli of family @af) into @out: seq and ack as nmap's S and A say, flags,
 * DF, TTL, window (a SYN/ACK's options the shaping gives, as to any
 * SYN/ACK).  Returns 0 or -1.
 */
static int tcp_answer(const struct umpa_persona_set *s, const struct umpa_persona_rst *R, const struct umpa_pkt *req,
		      int qli, int af, const struct tcpopts *q, struct umpa_pkt *out, struct umpa_err *e)
{
	const struct fields *F = &s->f;
	uint32_t seglen = q->paylen + ((q->flags & TF_SYN) ? 1 : 0) + ((q->flags & TF_FIN) ? 1 : 0), seq, ack;
	int li, ti;

	if (R->flags & TF_SYN)
		seglen = 1; /* a SYN/ACK acknowledges the SYN (nmap's S+: the probe's seq + 1) */
	seq = R->seq == 'A' ? q->ack : R->seq == 'B' ? q->ack + 1 : R->seq == 'O' ? q->ack ^ 0x5a5a1234u : 0;
	ack = R->ack == 'S' ? q->seq : R->ack == 'T' ? q->seq + seglen : R->ack == 'O' ? q->seq ^ 0x2b2b4321u : 0;
	if ((li = answer_head(s, req, qli, af, out, e)) < 0)
		return -1;
	if (af == AF_INET) {
		if (umpa_field_set_u64(out, (unsigned)li, F->ip_df, R->df, e) < 0 ||
		    umpa_field_set_u64(out, (unsigned)li, F->ip_ttl, R->ttl, e) < 0)
			return -1;
	} else if (umpa_field_set_u64(out, (unsigned)li, F->ip6_hlim, R->ttl, e) < 0) {
		return -1;
	}
	if ((ti = umpa_pkt_push(out, &umpa_proto_tcp, e)) < 0 ||
	    umpa_field_set_u64(out, (unsigned)ti, F->tcp_sport, q->dport, e) < 0 ||
	    umpa_field_set_u64(out, (unsigned)ti, F->tcp_dport, q->sport, e) < 0 ||
	    umpa_field_set_u64(out, (unsigned)ti, F->tcp_seq, seq, e) < 0 ||
	    umpa_field_set_u64(out, (unsigned)ti, F->tcp_ack, ack, e) < 0 ||
	    umpa_field_set_u64(out, (unsigned)ti, F->tcp_flags, R->flags, e) < 0)
		return -1;
	if (umpa_field_set_u64(out, (unsigned)ti, F->tcp_win, R->win, e) < 0)
		return -1;
	return 0;
}

int umpa_persona_open_probe(struct umpa_persona_set *s, const struct umpa_pkt *req, struct umpa_pkt *out,
			    struct umpa_err *e)
{
	const struct fields *F = &s->f;
	const struct umpa_persona *P;
	const struct umpa_persona_rst *R;
	const uint8_t *dst;
	struct tcpopts q;
	uint32_t n;
	int af = 0, qli, qti;

	umpa_pkt_release(out);
	if ((qli = net_layer(req, &af)) < 0 || (qti = transport_layer(req, qli)) < 0 ||
	    req->l[qti].proto != &umpa_proto_tcp)
		return -1;
	if (umpa_field_get_bytes(req, (unsigned)qli, af == AF_INET ? F->ip_dst : F->ip6_dst, &dst, &n) < 0 ||
	    !(P = umpa_persona_find(s, af, dst)))
		return -1;
	read_tcp(req, qti, &q);
	if (!q.present)
		return -1;
	if (!(q.flags & (TF_SYN | TF_ACK | TF_RST | TF_FIN | TF_PSH | TF_URG)))
		R = &P->open_null;
	else if ((q.flags & (TF_SYN | TF_FIN | TF_RST | TF_ACK)) == (TF_SYN | TF_FIN))
		R = &P->open_synfin;
	else if ((q.flags & (TF_SYN | TF_FIN | TF_RST | TF_ACK)) == TF_ACK)
		R = &P->open_ack;
	else
		return -1;
	if (!R->send)
		return 0;
	if (tcp_answer(s, R, req, qli, af, &q, out, e) < 0)
		return -UMPA_EINVAL;
	out->linktype = req->linktype;
	if (umpa_pkt_finish(out, e) < 0)
		return -UMPA_EINVAL;
	return 1;
}

int umpa_persona_closed(struct umpa_persona_set *s, const struct umpa_pkt *req, struct umpa_pkt *out,
			struct umpa_err *e)
{
	const struct fields *F = &s->f;
	struct umpa_persona rfc;
	const struct umpa_persona *P;
	const uint8_t *dst;
	uint32_t n;
	int af = 0, qli, qti, li, ti;

	umpa_pkt_release(out);
	if ((qli = net_layer(req, &af)) < 0 || (qti = transport_layer(req, qli)) < 0)
		return 0;
	if (umpa_field_get_bytes(req, (unsigned)qli, af == AF_INET ? F->ip_dst : F->ip6_dst, &dst, &n) < 0)
		return 0;
	if (!(P = umpa_persona_find(s, af, dst))) {
		persona_defaults(&rfc);
		P = &rfc;
	}
	if (req->l[qti].proto == &umpa_proto_tcp) {
		struct tcpopts q;
		const struct umpa_persona_rst *R;
		read_tcp(req, qti, &q);
		if (!q.present || (q.flags & TF_RST))
			return 0; /* a RST is never answered (RFC 9293 3.10.7.1) */
		R = (q.flags & TF_ACK) ? &P->rst_ack : (q.flags & TF_SYN) ? &P->rst_syn : &P->rst_other;
		if (!R->send)
			return 0;
		if (tcp_answer(s, R, req, qli, af, &q, out, e) < 0)
			return -UMPA_EINVAL;
	} else if (req->l[qti].proto == &umpa_proto_udp) {
		const uint8_t *quote = NULL;
		uint32_t qn = req->len - req->l[qli].off, max;
		struct umpa_cur c;
		if (!P->udp_unreach)
			return 0;
		if ((li = answer_head(s, req, qli, af, out, e)) < 0)
			return -UMPA_EINVAL;
		if (af == AF_INET) {
			max = P->unreach_ipl > 28 ? P->unreach_ipl - 28u : 0;
			if (umpa_field_set_u64(out, (unsigned)li, F->ip_df, P->unreach_df, e) < 0 ||
			    umpa_field_set_u64(out, (unsigned)li, F->ip_ttl, P->unreach_ttl, e) < 0 ||
			    (ti = umpa_pkt_push(out, &umpa_proto_icmp, e)) < 0 ||
			    umpa_field_set_u64(out, (unsigned)ti, F->icmp_type, 3, e) < 0 ||
			    umpa_field_set_u64(out, (unsigned)ti, F->icmp_code, 3, e) < 0 ||
			    umpa_field_set_u64(out, (unsigned)ti, F->icmp_id, P->unreach_un >> 16, e) < 0 ||
			    umpa_field_set_u64(out, (unsigned)ti, F->icmp_seq, P->unreach_un & 0xffff, e) < 0)
				return -UMPA_EINVAL;
		} else {
			max = 1280 - 48;
			if (umpa_field_set_u64(out, (unsigned)li, F->ip6_hlim, P->unreach_ttl, e) < 0 ||
			    (ti = umpa_pkt_push(out, &umpa_proto_icmpv6, e)) < 0 ||
			    umpa_field_set_u64(out, (unsigned)ti, F->icmp6_type, 1, e) < 0 ||
			    umpa_field_set_u64(out, (unsigned)ti, F->icmp6_code, 4, e) < 0)
				return -UMPA_EINVAL;
		}
		if (qn > max)
			qn = max;
		umpa_cur_init(&c, req->data, req->len);
		if (qn && umpa_cur_ptr_at(&c, req->l[qli].off, qn, &quote) < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "personality_closed: the request is shorter than its layers");
		if (qn && umpa_pkt_push_bytes(out, &umpa_proto_raw, quote, qn, e) < 0)
			return -UMPA_EINVAL;
	} else {
		return 0;
	}
	out->linktype = req->linktype;
	if (umpa_pkt_finish(out, e) < 0)
		return -UMPA_EINVAL;
	return 1;
}

/* ------------------------------------------------------------------ */
/* TCP endpoints                                                       */
/* ------------------------------------------------------------------ */

void umpa_persona_tcpe_opts(const struct umpa_persona *p, struct umpa_tcpe_opts *o)
{
	const char *l = p->opts_synack[0];
	int ws = -1;
	uint32_t mss = 0;

	o->sackok = strchr(l, 'S') != NULL;
	o->timestamps = strchr(l, 'T') != NULL;
	for (size_t i = 0; l[i]; i++) {
		uint32_t v = 0;
		char c = l[i];
		if (c != 'M' && c != 'W')
			continue;
		while (hexval(l[i + 1]) >= 0)
			v = v * 16 + (unsigned)hexval(l[++i]);
		if (c == 'M')
			mss = v;
		else
			ws = v > 14 ? 14 : (int)v;
	}
	if (mss)
		o->mss = (uint16_t)(o->ipv6 && mss > 20 ? mss - 20 : mss);
	o->wscale = ws;
	o->rwnd = ws > 0 ? (uint32_t)p->win << ws : p->win;
	if (p->win_round) {
		/* Linux: the SYN/ACK's window rounded up to the scale: what its later segments announce */
		uint32_t w = persona_round_win(p->win_round, o->mss ? o->mss : o->ipv6 ? 1440 : 1460, o->timestamps);
		uint32_t unit = ws > 0 ? 1u << ws : 1u;
		o->rwnd = (w + unit - 1) / unit * unit;
	}
	if (!o->rwnd)
		o->rwnd = 65535;
}

void umpa_persona_unset_shaped(const struct umpa_persona_set *s, struct umpa_pkt *p)
{
	const struct fields *F = &s->f;
	int af = 0, li = net_layer(p, &af), ti;

	if (li < 0)
		return;
	if (af == AF_INET) {
		umpa_field_unset(p, (unsigned)li, F->ip_ttl);
		umpa_field_unset(p, (unsigned)li, F->ip_id);
		umpa_field_unset(p, (unsigned)li, F->ip_df);
		umpa_field_unset(p, (unsigned)li, F->ip_flags);
	} else {
		umpa_field_unset(p, (unsigned)li, F->ip6_hlim);
	}
	if ((ti = transport_layer(p, li)) < 0 || p->l[ti].proto != &umpa_proto_tcp)
		return;
	umpa_field_unset(p, (unsigned)ti, F->tcp_opts);
	if (getu(p, ti, F->tcp_flags) & TF_SYN)
		umpa_field_unset(p, (unsigned)ti, F->tcp_win);
}
