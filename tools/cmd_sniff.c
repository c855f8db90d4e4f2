/* cmd_sniff.c - `umpa sniff`: capture live packets, print them like `umpa show`, write them to a file.
 *
 * One capture handle (core/umpa_live.h) whose selectable descriptor is an fd
 * source of the scheduler's live loop (sched/umpa_sched.h): pcap_dispatch
 * runs in its callback, as in honeyd.  SIGINT and SIGTERM break the loop;
 * then whatever the kernel already holds is drained (within -c), the file is
 * flushed and closed, and the counts go to stderr, so an interrupted capture
 * still leaves a complete, valid file.
 *
 * Printed packets go through the TCP reassembler (protocols/umpa_reasm.h), as
 * in `umpa show`: TLS records and HTTP messages split across segments are
 * shown whole, and with --keylog FILE TLS records are decrypted.  The key log
 * is followed as it grows (curl and browsers append to SSLKEYLOGFILE while the
 * capture runs).  A client logs the server's handshake secret only after the
 * ServerHello flight reached it, which is when the capture sees that flight
 * too; so with --keylog a packet of a TLS connection whose secrets are not
 * in the file yet (umpa_reasm_keys_missing) waits in a hold buffer (one
 * growing byte buffer, no allocation per packet) until they are, or
 * --keylog-wait (0.3 s) at most, and the file is read again before held packets
 * are dissected.  So do the later packets of a connection with packets
 * held, to keep its order.  Every other packet is printed at once.  The file
 * written with -w gets every packet at once, as before.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_live.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"
#include "umpa_render.h"
#include "umpa_sched.h"
#include "umpa_tool.h"

static const char sniff_usage[] =
    "usage: umpa sniff -i IFACE [-f BPF] [-c N] [-w FILE [--pcapng]] [-v | --json] [OPTIONS] [BPF FILTER...]\n"
    "\n"
    "Capture packets on IFACE and print one line per packet (like 'umpa show'),\n"
    "and/or write them to a capture file.  Options may come anywhere; other words\n"
    "are a BPF filter, as tcpdump takes them ('umpa sniff -i eth0 udp port 53').\n"
    "  -i IFACE            the interface ('umpa ifaces' lists them)\n"
    "  -f BPF              only packets matching this BPF filter expression\n"
    "  -n, -t..-ttttt, -x, -X, -xx, -XX, -S, -e   as in 'umpa show' (tcpdump's)\n"
    "  -c N                stop after N packets\n"
    "  -w FILE             write the packets to FILE (pcap, nanosecond timestamps;\n"
    "                      '-' is standard output); nothing is printed unless --print\n"
    "  --pcapng            write pcapng instead of pcap\n"
    "  --print             print packets even with -w\n"
    "  -v                  a field tree per packet;  --json  one JSON object per line\n"
    "  --nsec              nanosecond timestamps in the one-line and tree forms\n"
    "  --promisc           promiscuous mode\n"
    "  --snaplen N         bytes kept per packet (default 262144)\n"
    "  --buffer-size KIB   kernel capture buffer in KiB (default: libpcap's, 2048)\n"
    "  --direction D       in, out or inout (default): which frames to capture\n"
    "  --immediate         hand each packet over at once (default: within 100 ms;\n"
    "                      immediate mode holds far fewer packets in the buffer)\n"
    "  --timeout S         stop after S seconds\n"
    "  --verify-checksums  verify TCP and UDP checksums too: by default they are\n"
    "                      \"unverified\" (as tshark's), since the kernel leaves\n"
    "                      outgoing ones to the NIC (checksum offload)\n"
    "  --keylog FILE       decrypt TLS 1.2 and 1.3 records with the secrets of FILE\n"
    "                      (SSLKEYLOGFILE format), as 'umpa show --keylog' does;\n"
    "                      FILE is followed as it grows and may not exist yet.\n"
    "                      Packets of TLS connections whose secrets are not in\n"
    "                      FILE yet wait for them (--keylog-wait); others are\n"
    "                      printed at once\n"
    "  --keylog-wait S     how long a packet waits for its secrets (default 0.3)\n"
    "  --no-reassembly     print each TCP segment alone (TLS records and HTTP\n"
    "                      messages split across segments are otherwise shown\n"
    "                      reassembled, in the frame that completes them)\n"
    "  -Z USER             become USER once the capture and the file are open\n"
    "At the end and on SIGINT/SIGTERM: packets captured, received by the filter,\n"
    "dropped by the kernel and by the interface, on standard error.\n"
    "Exit status: 0 ok, 1 capture failed (unknown interface, no permission, bad\n"
    "filter, I/O error), 2 usage.\n";

struct sniff_ {
	struct umpa_loop *loop;
	struct umpa_cap *cap;
	struct umpa_capw *w;
	enum tool_fmt fmt;
	int print;
	unsigned long limit; /* 0: none */
	uint64_t n;
	int failed;
	struct umpa_err err;
	struct umpa_sbuf out;
	struct umpa_sbuf scratch[2], jscratch;
	struct umpa_render_opts ro;
	struct tool_dump dump;
	struct umpa_reasm *reasm; /* NULL with --no-reassembly */
	/* --keylog: the file, how much of it the reassembler has, and the packets waiting for their secrets */
	const char *keylog;
	off_t koff;
	char *kbuf;
	size_t kcap;
	uint8_t *hold; /* struct held_ then the bytes (padded to 8), one after another, from hhead to hlen */
	size_t hhead, hlen, hcap;
	struct {
		uint64_t conn;
		uint32_t n;
	} hconn[64];     /* the connections with packets held, and how many */
	unsigned hall;   /* packets held when hconn was full: every packet waits until they are shown */
	int64_t hold_ms; /* --keylog-wait */
	int linktype;
	struct umpa_pkt hp; /* a held packet, being shown */
};

enum {
	KEYLOG_HOLD_MS = 300,       /* how long a packet waits for its secrets (--keylog-wait's default) */
	KEYLOG_READ_MAX = 16 << 20, /* key log bytes read at once */
	HOLD_MAX = 64 << 20,        /* held bytes at most: beyond, the oldest are shown at once */
};

/** A held packet's header in sniff_.hold. */
struct held_ {
	int64_t due_ms; /* monotonic time it is shown at */
	int64_t ts_sec;
	uint32_t ts_nsec, caplen, wirelen;
	uint32_t wild; /* counted in sniff_.hall rather than under its connection */
	uint64_t number;
	uint64_t conn; /* umpa_reasm_keys_missing's connection number, 0 for none */
};

static int64_t sniff_now_ms_(void);

/* Dissect and print @p p, frame @p number (through the reassembler when there is one). */
static void sniff_show_(struct sniff_ *s, struct umpa_pkt *p, uint64_t number)
{
	umpa_dissect(p);
	/* live: TCP and UDP checksums unverified (offloads), as tshark, unless --verify-checksums */
	umpa_pkt_csum_policy(p, s->dump.verify ? UMPA_CSUM_STRICT : UMPA_CSUM_LIVE);
	s->ro.number = number;
	umpa_reasm_show(s->reasm, p, number, (enum umpa_reasm_fmt)s->fmt, &s->ro, &s->out);
	tool_dump_after(&s->dump, p, &s->ro, &s->out);
}

/* Give the reassembler the key log's complete lines added since the last call.  A file not there yet, or
 * unreadable for a moment, is tried again next time; one that shrank (rewritten) is read from its start. */
static void sniff_keylog_follow_(struct sniff_ *s)
{
	struct stat st;
	struct umpa_err e;
	FILE *f;
	size_t want, n, m;

	if (!s->keylog || stat(s->keylog, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (st.st_size < s->koff)
		s->koff = 0;
	if (st.st_size == s->koff)
		return;
	want = (size_t)(st.st_size - s->koff) > KEYLOG_READ_MAX ? KEYLOG_READ_MAX : (size_t)(st.st_size - s->koff);
	if (want > s->kcap) {
		char *nb = realloc(s->kbuf, want);
		if (!nb)
			return;
		s->kbuf = nb;
		s->kcap = want;
	}
	if (!(f = fopen(s->keylog, "rb")))
		return;
	n = fseeko(f, s->koff, SEEK_SET) == 0 ? fread(s->kbuf, 1, want, f) : 0;
	fclose(f);
	/* complete lines only: the writer may be in the middle of one */
	for (m = n; m > 0 && s->kbuf[m - 1] != '\n'; m--)
		;
	if (m == 0 && n == KEYLOG_READ_MAX)
		m = n; /* no newline in 16 MiB: not a key log; skip it */
	if (m == 0)
		return;
	(void)umpa_reasm_keylog(s->reasm, s->kbuf, m, &e); /* lines without secrets are skipped, as show does */
	s->koff += (off_t)m;
}

/* The slot of connection @p conn in s->hconn, or (@p add) a free one for it; NULL when there is none. */
static unsigned *sniff_hconn_(struct sniff_ *s, uint64_t conn, int add)
{
	size_t n = sizeof s->hconn / sizeof s->hconn[0], i, k = n;

	for (i = 0; i < n; i++) {
		if (s->hconn[i].n && s->hconn[i].conn == conn)
			return (unsigned *)&s->hconn[i].n;
		if (!s->hconn[i].n && k == n)
			k = i;
	}
	if (!add || k == n)
		return NULL;
	s->hconn[k].conn = conn;
	return (unsigned *)&s->hconn[k].n;
}

/* Whether dissected packet @p p must wait in the hold buffer (its connection's number in *@p conn): it
 * belongs to a TLS connection whose secrets are not logged yet, or to one with packets held already, or
 * packets are held that no connection counts. */
static int sniff_must_hold_(struct sniff_ *s, const struct umpa_pkt *p, uint64_t *conn)
{
	if (!umpa_reasm_keys_missing(s->reasm, p, conn))
		return s->hall > 0 || (*conn && sniff_hconn_(s, *conn, 0));
	sniff_keylog_follow_(s); /* perhaps they are in the file by now */
	return umpa_reasm_keys_missing(s->reasm, p, conn) || s->hall > 0 || (*conn && sniff_hconn_(s, *conn, 0));
}

/* Show the held packets that are due, or whose secrets came (all of them when @p all), in the order they
 * came, the key log read again first. */
static void sniff_release_(struct sniff_ *s, int all)
{
	int64_t now;

	if (s->hhead == s->hlen)
		return;
	sniff_keylog_follow_(s);
	now = sniff_now_ms_();
	while (s->hhead < s->hlen) {
		struct held_ h;
		uint64_t conn;
		unsigned *cnt;
		memcpy(&h, s->hold + s->hhead, sizeof(h));
		umpa_pkt_attach(&s->hp, s->hold + s->hhead + sizeof(h), h.caplen, h.wirelen, s->linktype);
		s->hp.ts_sec = h.ts_sec;
		s->hp.ts_nsec = h.ts_nsec;
		if (!all && h.due_ms > now) {
			umpa_dissect(&s->hp);
			if (umpa_reasm_keys_missing(s->reasm, &s->hp, &conn))
				break;
		}
		if (h.wild)
			s->hall--;
		else if (h.conn && (cnt = sniff_hconn_(s, h.conn, 0)))
			(*cnt)--;
		sniff_show_(s, &s->hp, h.number);
		s->hhead += sizeof(h) + ((h.caplen + 7u) & ~7u);
	}
	if (s->hhead == s->hlen)
		s->hhead = s->hlen = 0;
}

/* Copy @p p, of connection @p conn, into the hold buffer, due s->hold_ms from now.  When the buffer cannot
 * grow, the oldest held packets are shown now to make room; when even that fails, @p p is shown at once. */
static void sniff_hold_(struct sniff_ *s, struct umpa_pkt *p, uint64_t number, uint64_t conn)
{
	struct held_ h = {.due_ms = sniff_now_ms_() + s->hold_ms,
			  .ts_sec = p->ts_sec,
			  .ts_nsec = p->ts_nsec,
			  .caplen = p->len,
			  .wirelen = p->wirelen,
			  .number = number,
			  .conn = conn};
	size_t need = sizeof(h) + ((p->len + 7u) & ~7u);
	unsigned *cnt;

	if (s->hlen + need > s->hcap && s->hhead > 0) { /* compact */
		memmove(s->hold, s->hold + s->hhead, s->hlen - s->hhead);
		s->hlen -= s->hhead;
		s->hhead = 0;
	}
	while (s->hlen + need > s->hcap) {
		size_t nc = s->hcap ? s->hcap * 2 : 1 << 20;
		uint8_t *nb = nc <= HOLD_MAX ? realloc(s->hold, nc) : NULL;
		if (nb) {
			s->hold = nb;
			s->hcap = nc;
			continue;
		}
		if (s->hhead == s->hlen) {
			sniff_show_(s, p, number);
			return;
		}
		/* full: show the oldest one now */
		{
			struct held_ o;
			memcpy(&o, s->hold + s->hhead, sizeof(o));
			o.due_ms = 0;
			memcpy(s->hold + s->hhead, &o, sizeof(o));
			sniff_release_(s, 0);
		}
		if (s->hhead > 0) {
			memmove(s->hold, s->hold + s->hhead, s->hlen - s->hhead);
			s->hlen -= s->hhead;
			s->hhead = 0;
		}
	}
	if (!conn || !(cnt = sniff_hconn_(s, conn, 1))) {
		h.wild = 1; /* no connection, or too many held: everything waits behind it */
		s->hall++;
	} else {
		(*cnt)++;
	}
	memcpy(s->hold + s->hlen, &h, sizeof(h));
	memcpy(s->hold + s->hlen + sizeof(h), p->data, p->len);
	s->hlen += need;
}

/* One captured packet: write it, print it. */
static void sniff_pkt_(struct umpa_pkt *p, void *arg)
{
	struct sniff_ *s = arg;

	if (s->failed)
		return;
	s->n++;
	if (s->w && umpa_capw_write(s->w, p, &s->err) < 0) {
		s->failed = 1;
		umpa_cap_breakloop(s->cap);
		return;
	}
	if (s->print) {
		uint64_t conn = 0;
		int hold = 0;
		if (s->keylog) {
			umpa_dissect(p);
			hold = sniff_must_hold_(s, p, &conn);
		}
		if (hold)
			sniff_hold_(s, p, s->n, conn);
		else
			sniff_show_(s, p, s->n);
	}
	if (s->limit && s->n >= s->limit)
		umpa_cap_breakloop(s->cap);
}

/* Deliver what is buffered now (at most what -c still allows); flush printed lines. */
static int sniff_dispatch_(struct sniff_ *s)
{
	int max = 0, r;

	if (s->limit) {
		if (s->n >= s->limit)
			return 0;
		max = s->limit - s->n > 1000000 ? 1000000 : (int)(s->limit - s->n);
	}
	r = umpa_cap_dispatch(s->cap, max, sniff_pkt_, s, &s->err);
	if (r < 0)
		s->failed = 1;
	sniff_release_(s, 0);
	if (s->out.len) {
		fwrite(s->out.s, 1, s->out.len, stdout);
		fflush(stdout);
		umpa_sbuf_reset(&s->out);
	}
	return r;
}

static void sniff_readable_(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	struct sniff_ *s = arg;

	sniff_dispatch_(s);
	if (s->failed || (s->limit && s->n >= s->limit))
		umpa_loop_break(loop);
}

static int64_t sniff_now_ms_(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * After the loop stopped (signal, --timeout): deliver every packet the kernel
 * has already accepted, so the counts printed match the file.  With buffered
 * delivery (TPACKET_V3) the last packets sit in a block the kernel hands over
 * only when its timeout expires, hence the wait, bounded by @p ms.  Done when
 * delivered + dropped reaches what the kernel counted, or at -c.
 */
static void sniff_drain_(struct sniff_ *s, int ms)
{
	int64_t end = sniff_now_ms_() + ms;
	struct pollfd pfd = {.fd = umpa_cap_fd(s->cap), .events = POLLIN};
	struct umpa_cap_stats st;

	for (;;) {
		if (sniff_dispatch_(s) < 0 || s->failed || (s->limit && s->n >= s->limit))
			return;
		if (umpa_cap_stats(s->cap, &st, NULL) < 0 || st.delivered + st.dropped >= st.received)
			return;
		if (sniff_now_ms_() >= end || pfd.fd < 0)
			return;
		(void)poll(&pfd, 1, 10);
	}
}

static void sniff_timeout_(struct umpa_loop *loop, void *arg)
{
	umpa_loop_break(loop);
}

/* --keylog: every 50 ms, show the held packets that are due. */
static void sniff_tick_(struct umpa_loop *loop, void *arg)
{
	struct sniff_ *s = arg;

	sniff_release_(s, 0);
	if (s->out.len) {
		fwrite(s->out.s, 1, s->out.len, stdout);
		fflush(stdout);
		umpa_sbuf_reset(&s->out);
	}
}

static int sniff_direction_(const char *v, enum umpa_cap_dir *d)
{
	if (!strcmp(v, "in"))
		*d = UMPA_DIR_IN;
	else if (!strcmp(v, "out"))
		*d = UMPA_DIR_OUT;
	else if (!strcmp(v, "inout"))
		*d = UMPA_DIR_INOUT;
	else
		return -1;
	return 0;
}

int cmd_sniff(int argc, char **argv)
{
	enum {
		OPT_JSON = 256,
		OPT_PCAPNG,
		OPT_PRINT,
		OPT_NSEC,
		OPT_PROMISC,
		OPT_SNAPLEN,
		OPT_BUFSIZE,
		OPT_DIRECTION,
		OPT_TIMEOUT,
		OPT_SELFTEST,
		OPT_IMMEDIATE,
		OPT_VERIFY,
		OPT_KEYLOG,
		OPT_KEYLOG_WAIT,
		OPT_NOREASM,
	};
	static const struct option opts[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"pcapng", no_argument, NULL, OPT_PCAPNG},
	    {"print", no_argument, NULL, OPT_PRINT},
	    {"nsec", no_argument, NULL, OPT_NSEC},
	    {"promisc", no_argument, NULL, OPT_PROMISC},
	    {"snaplen", required_argument, NULL, OPT_SNAPLEN},
	    {"buffer-size", required_argument, NULL, OPT_BUFSIZE},
	    {"direction", required_argument, NULL, OPT_DIRECTION},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"immediate", no_argument, NULL, OPT_IMMEDIATE},
	    {"verify-checksums", no_argument, NULL, OPT_VERIFY},
	    {"keylog", required_argument, NULL, OPT_KEYLOG},
	    {"keylog-wait", required_argument, NULL, OPT_KEYLOG_WAIT},
	    {"no-reassembly", no_argument, NULL, OPT_NOREASM},
	    {"selftest-setuid", no_argument, NULL, OPT_SELFTEST}, /* hidden: proves -Z in tests */
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sniff_ s;
	struct umpa_cap_opts co;
	struct umpa_cap_stats st;
	struct umpa_fdsrc *src = NULL;
	const char *ifname = NULL, *wpath = NULL, *user = NULL;
	enum umpa_capfmt wfmt = UMPA_CAP_PCAP;
	int64_t timeout_ns = 0;
	int c, force_print = 0, selftest = 0, noreasm = 0, rc = UMPA_EXIT_OK, sig;
	char *bpfbuf = NULL;

	memset(&s, 0, sizeof s);
	s.hold_ms = -1;
	s.fmt = TOOL_FMT_LINE;
	s.ro.scratch = s.scratch;
	s.ro.json_scratch = &s.jscratch;
	umpa_cap_opts_init(&co);
	/* Like tcpdump: buffered delivery (TPACKET_V3 on Linux packs packets into
	 * blocks) with a 100 ms timeout.  Immediate mode uses fixed-size slots
	 * sized for the largest packet (64 KiB with offloads), so the same
	 * buffer holds far fewer packets and bursts are dropped. */
	co.immediate = 0;
	co.timeout_ms = 100;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:f:c:w:vZ:h" TOOL_DUMP_OPTS, opts, NULL)) != -1) {
		if (tool_dump_opt(c, &s.dump))
			continue;
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'f':
			co.filter = optarg;
			break;
		case 'c':
			s.limit = (unsigned long)tool_u64(&umpa_num_count, "-c", optarg);
			break;
		case 'w':
			wpath = optarg;
			break;
		case 'v':
			s.fmt = TOOL_FMT_TREE;
			break;
		case 'Z':
			user = optarg;
			break;
		case OPT_JSON:
			s.fmt = TOOL_FMT_JSON;
			break;
		case OPT_PCAPNG:
			wfmt = UMPA_CAP_PCAPNG;
			break;
		case OPT_PRINT:
			force_print = 1;
			break;
		case OPT_VERIFY:
			s.dump.verify = 1;
			break;
		case OPT_NSEC:
			s.ro.ts_nsec = 1;
			break;
		case OPT_PROMISC:
			co.promisc = 1;
			break;
		case OPT_SNAPLEN: {
			co.snaplen =
			    (int)tool_u64(UMPA_NUM_RANGE("bytes", 14, UMPA_MAX_PKT, UMPA_NUM_INT), "--snaplen", optarg);
			break;
		}
		case OPT_BUFSIZE: {
			co.bufsize =
			    (int)(tool_u64(UMPA_NUM_RANGE("KiB", 1, 1 << 21, UMPA_NUM_INT), "--buffer-size", optarg) *
				  1024);
			break;
		}
		case OPT_DIRECTION:
			if (sniff_direction_(optarg, &co.dir) < 0) {
				tool_err("sniff: --direction must be in, out or inout, not '%s'", optarg);
				return UMPA_EXIT_USAGE;
			}
			break;
		case OPT_TIMEOUT:
			timeout_ns = tool_ns(&umpa_num_seconds, "--timeout", optarg);
			break;
		case OPT_KEYLOG_WAIT:
			s.hold_ms = tool_ns(&umpa_num_seconds, "--keylog-wait", optarg) / 1000000;
			break;
		case OPT_SELFTEST:
			selftest = 1;
			break;
		case OPT_IMMEDIATE:
			co.immediate = 1;
			break;
		case OPT_KEYLOG:
			s.keylog = optarg;
			break;
		case OPT_NOREASM:
			noreasm = 1;
			break;
		case 'h':
			fputs(sniff_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("sniff: unknown or incomplete option '%s' (try 'umpa sniff --help')",
				 argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (optind < argc) { /* a BPF expression as words, as tcpdump's */
		if (co.filter) {
			tool_err("sniff: a filter both in -f and as words ('%s')", argv[optind]);
			return UMPA_EXIT_USAGE;
		}
		if (!(co.filter = bpfbuf = tool_join_args(argc, argv, optind))) {
			tool_err("sniff: out of memory");
			return UMPA_EXIT_ERROR;
		}
	}
	if (!ifname) {
		tool_err("sniff: which interface? (-i IFACE; 'umpa ifaces' lists them)");
		free(bpfbuf);
		return UMPA_EXIT_USAGE;
	}
	if (s.hold_ms >= 0 && !s.keylog) {
		tool_err("sniff: --keylog-wait goes with --keylog");
		free(bpfbuf);
		return UMPA_EXIT_USAGE;
	}
	if (s.hold_ms < 0)
		s.hold_ms = KEYLOG_HOLD_MS;
	s.print = !wpath || force_print;
	if (wpath && !strcmp(wpath, "-") && s.print) {
		tool_err("sniff: -w - writes the capture to standard output: --print cannot share it");
		free(bpfbuf);
		return UMPA_EXIT_USAGE;
	}
	if (s.keylog && (noreasm || !s.print)) {
		tool_err("sniff: --keylog decrypts the packets printed: %s",
			 noreasm ? "it needs reassembly (drop --no-reassembly)" : "with -w, add --print");
		free(bpfbuf);
		return UMPA_EXIT_USAGE;
	}
	if (s.keylog) { /* it may not exist yet (curl creates it when it starts); anything else is a mistake */
		struct stat kst;
		if (stat(s.keylog, &kst) == 0 ? !S_ISREG(kst.st_mode) || access(s.keylog, R_OK) != 0
					      : errno != ENOENT) {
			tool_err("sniff: --keylog %s: not a readable file", s.keylog);
			free(bpfbuf);
			return UMPA_EXIT_USAGE;
		}
	}
	if ((c = tool_dump_setup(&s.dump, &s.ro, "sniff")) != UMPA_EXIT_OK) {
		free(bpfbuf);
		return c;
	}
	if (s.print && !noreasm && !(s.reasm = umpa_reasm_open(NULL, &s.err))) {
		tool_err("sniff: %s", s.err.msg);
		free(bpfbuf);
		tool_dump_free(&s.ro);
		return UMPA_EXIT_ERROR;
	}
	umpa_pkt_init(&s.hp);

	s.cap = umpa_cap_open(ifname, &co, &s.err);
	free(bpfbuf); /* compiled into the handle */
	if (!s.cap) {
		tool_err("sniff: %s", s.err.msg);
		tool_dump_free(&s.ro);
		umpa_reasm_close(s.reasm);
		return UMPA_EXIT_ERROR;
	}
	s.linktype = umpa_cap_linktype(s.cap);
	if (wpath) {
		s.w = umpa_capw_open(wpath, wfmt, umpa_cap_linktype(s.cap), &s.err);
		if (!s.w) {
			tool_err("sniff: %s", s.err.msg);
			umpa_cap_close(s.cap);
			tool_dump_free(&s.ro);
			umpa_reasm_close(s.reasm);
			return UMPA_EXIT_ERROR;
		}
	}
	s.loop = umpa_loop_new(UMPA_CLOCK_LIVE, &s.err);
	if (!s.loop || umpa_loop_break_on_signal(s.loop, SIGINT, &s.err) < 0 ||
	    umpa_loop_break_on_signal(s.loop, SIGTERM, &s.err) < 0 ||
	    !(src = umpa_loop_add_fd(s.loop, umpa_cap_fd(s.cap), UMPA_FD_READ, sniff_readable_, &s, &s.err)) ||
	    (timeout_ns > 0 && !umpa_after(s.loop, timeout_ns, sniff_timeout_, NULL, &s.err)) ||
	    (s.keylog && !umpa_every(s.loop, 50 * 1000000LL, sniff_tick_, &s, &s.err))) {
		tool_err("sniff: %s", s.err.msg);
		rc = UMPA_EXIT_ERROR;
		goto out;
	}
	if (user) {
		if (umpa_drop_privileges(user, &s.err) < 0) {
			tool_err("sniff: -Z: %s", s.err.msg);
			rc = UMPA_EXIT_ERROR;
			goto out;
		}
		if (selftest) {
			/* the proof that -Z holds: root cannot be regained */
			int r = setuid(0);
			fprintf(stderr, "selftest: uid=%u euid=%u setuid(0)=%d%s%s\n", (unsigned)getuid(),
				(unsigned)geteuid(), r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
		}
	}
	tool_note("sniffing on %s, link type %d, %s timestamps", ifname, umpa_cap_linktype(s.cap),
		  umpa_cap_nsec(s.cap) ? "nanosecond" : "microsecond");
	if (umpa_loop_run(s.loop, &s.err) < 0) {
		tool_err("sniff: %s", s.err.msg);
		rc = UMPA_EXIT_ERROR;
	}
	/* Stopped by a signal or the timeout: take what the kernel already holds. */
	sniff_drain_(&s, co.immediate ? 50 : co.timeout_ms + 150);
	sniff_release_(&s, 1); /* the packets still held, with the secrets logged by now */
	if (s.failed) {
		tool_err("sniff: %s", s.err.msg);
		rc = UMPA_EXIT_ERROR;
	}
out:
	sig = s.loop ? umpa_loop_signalled(s.loop) : 0;
	if (s.w && umpa_capw_close(s.w, &s.err) < 0) {
		tool_err("sniff: %s", s.err.msg);
		rc = UMPA_EXIT_ERROR;
	}
	if (s.out.len)
		fwrite(s.out.s, 1, s.out.len, stdout);
	if (fflush(stdout) != 0 || ferror(stdout) || s.out.oom) {
		tool_err("sniff: cannot write output");
		rc = UMPA_EXIT_ERROR;
	}
	if (umpa_cap_stats(s.cap, &st, &s.err) == 0)
		fprintf(stderr,
			"%s%llu packet%s captured, %llu received by filter, %llu dropped by kernel, %llu dropped by "
			"interface\n",
			sig == SIGINT    ? "interrupted: "
			: sig == SIGTERM ? "terminated: "
					 : "",
			(unsigned long long)s.n, tool_s(s.n), (unsigned long long)st.received,
			(unsigned long long)st.dropped, (unsigned long long)st.ifdropped);
	umpa_loop_remove_fd(src);
	umpa_loop_free(s.loop);
	umpa_cap_close(s.cap);
	umpa_sbuf_free(&s.out);
	umpa_sbuf_free(&s.scratch[0]);
	umpa_sbuf_free(&s.scratch[1]);
	umpa_sbuf_free(&s.jscratch);
	tool_dump_free(&s.ro);
	umpa_reasm_close(s.reasm);
	umpa_pkt_release(&s.hp);
	free(s.kbuf);
	free(s.hold);
	return rc;
}
