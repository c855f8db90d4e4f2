/* cmd_replay.c - `umpa replay`: replay a capture at a device and check its answers.
 *
 * The work is sched/replay.c's (sched/umpa_replay.h): this file parses the
 * options, opens the interfaces (an injector and a capture of what arrives
 * per -i), addresses the frames for the live link (the recorded sender's
 * MAC becomes the interface's, the recorded peer's MAC the live peer's,
 * found by the resolver as umpa send finds next hops; the same map applies
 * to the recorded answers, so they compare equal), hands the run its I/O,
 * prints the progress line, the results as they settle, the summary and the
 * rate report (send's), writes the JUnit file, and turns the verdicts into
 * the exit status.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay_guard.h"
#include "replay_http.h"
#include "replay_modes.h"
#include "umpa_capfile.h"
#include "umpa_cursor.h"
#include "umpa_live.h"
#include "umpa_protos.h"
#include "umpa_replay.h"
#include "umpa_replay_fwd.h"
#include "umpa_replay_tcp.h"
#include "umpa_replay_tmpl.h"
#include "umpa_resolve.h"
#include "umpa_run.h"
#include "umpa_sched.h"
#include "umpa_tool.h"

static const char replay_usage[] =
    "usage: umpa replay FILE -i IFACE [-i IFACE2] [OPTIONS]\n"
    "\n"
    "Replays the packets of FILE (pcap or pcapng, any link type umpa reads) that one\n"
    "side sent, and checks that the device answers as it did when the capture was\n"
    "recorded: every answer is matched to its request and compared field by field.\n"
    "Timing (default: the recorded gaps, on an absolute schedule):\n"
    "  -x, --multiplier X   recorded gaps divided by X (2: twice as fast)\n"
    "  --pps N              N packets per second instead\n"
    "  --mbps N             N megabits per second instead (frame bytes)\n"
    "  --topspeed           as fast as the interface takes them\n"
    "  --loop N             replay the file N times\n"
    "  --duration S         stop sending after S seconds\n"
    "  --qdisc-bypass       TX ring frames go straight to the driver (PACKET_QDISC_BYPASS:\n"
    "                       no qdisc, no shaping, no taps of the qdisc layer; opt-in)\n"
    "  --timeout S          wait S seconds for each answer (default 1); a TCP flow\n"
    "                       waiting this long retransmits\n"
    "  --retries N          TCP retransmissions before a flow gives up (default 3)\n"
    "Which packets are sent (the rest is what is expected back):\n"
    "  (default)            the side that opened each flow (SYN, first packet)\n"
    "  --side CIDR[,CIDR]   packets whose source address is in one of these\n"
    "  --side-bpf EXPR      packets that pass this BPF filter\n"
    "  --server-side        the other side of each flow\n"
    "  -i A -i B            two interfaces, a device between them: every packet is\n"
    "                       sent, the client side of each flow on A, the server side\n"
    "                       on B, and checked where it comes out of the other one\n"
    "                       (field by field, the link layer aside: --check eth)\n"
    "  --both-sides         the same with --template T as the device (flaky-link)\n"
    "Rewriting (applied to the sent packets and the expected answers alike):\n"
    "  --rewrite-mac OLD=NEW, --rewrite-ip OLD[/N]=NEW[/N] (IPv4 or IPv6 prefix map),\n"
    "  --rewrite-port OLD=NEW, --ttl N (sent packets), --vlan ID|none\n"
    "  --keep-checksums     do not fix checksums after rewriting\n"
    "  --no-auto-mac        send the recorded MAC addresses (default: the interface's\n"
    "                       MAC for the sender, the live peer's for the recorded peer)\n"
    "Checks:\n"
    "  --ignore F,F         fields not compared (Wireshark names: ip.ttl, a protocol: dns)\n"
    "  --check F,F          compare these again (default ignored: ip.id, checksums, TCP\n"
    "                       timestamps, tcp.seq, tcp.ack, ipv6.flow)\n"
    "  --learn-noise N      replay N times (2 or more) first and ignore the fields whose\n"
    "                       answers differ between those runs (they are named)\n"
    "  --no-check           only send (as tcpreplay does)\n"
    "Without a device (no -i, no root):\n"
    "  --audit              check FILE's own exchanges on its time stamps: each request\n"
    "                       answered (RTT), unanswered, answered late (after --timeout),\n"
    "                       answered wrongly (the near miss), unexpected answers\n"
    "  --template T         replay against template T (umpa run's) on the virtual clock\n"
    "  --set KEY=VALUE      a parameter of the template (repeatable)\n"
    "TCP flows are replayed statefully, all at once: umpa waits for the peer where the\n"
    "recording shows it, moves its acknowledgement numbers to the live peer's ISN,\n"
    "retransmits on its own timeout and gives up on a flow (reported) without stopping\n"
    "the others.  When a replayed flow's address is the machine's own, the kernel's\n"
    "RSTs on it are dropped for the replay (an nftables table, removed at the end).\n"
    "Report:\n"
    "  -v                   a line for every exchange, not only those that failed\n"
    "  --json               one JSON object per exchange, then a summary object (last line)\n"
    "  --junit FILE         JUnit XML, one test case per flow\n"
    "  --progress           a progress line every second (default when stderr is a terminal)\n"
    "Live page and control (a live replay):\n"
    "  --http ADDR:PORT     serve GET / (the live page), /stats, /events, /conns (the flows)\n"
    "                       and PATCH /params (multiplier, paused; pps or mbps with --pps, --mbps;\n"
    "                       paused with --topspeed), POST /pause, POST /resume\n"
    "  --http-allow CIDR    also serve clients from CIDR (repeatable; default loopback only)\n"
    "  --http-token TOKEN   changes need 'Authorization: Bearer TOKEN'\n"
    "Exit status: 0 every exchange matched, 1 an exchange differed, was missing or\n"
    "unexpected, or the work failed, 2 usage.\n";

#define REPLAY_MAX_IFS 2
#define REPLAY_MAX_RULES 64

struct rp_if {
	const char *name;
	struct umpa_iface info;
	struct umpa_inj *inj;
	struct umpa_cap *cap;
	struct umpa_fdsrc *fd;
	unsigned idx;
	struct rp_ctx *ctx;
};

struct rp_ctx {
	struct rp_if ifs[REPLAY_MAX_IFS];
	unsigned nifs;
	struct umpa_loop *loop;
	struct umpa_replay_run *run; /* the current one */
	enum umpa_replay_fmt fmt;
	int verbose;
	int progress_tty;
	struct umpa_sbuf line;
	struct umpa_replay_cap *cap;
	struct umpa_replay_io tio; /* --template: the device's I/O */
};

/* ---- I/O ---- */

static int rp_send(void *arg, unsigned ifidx, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	struct rp_ctx *c = arg;
	struct umpa_inj *inj = c->ifs[ifidx < c->nifs ? ifidx : 0].inj;

	if (n == 1)
		return umpa_inj_send(inj, pkts[0], e) < 0 ? -e->code : 1;
	return umpa_inj_send_batch(inj, pkts, n, e);
}

static void rp_captured(struct umpa_pkt *p, void *arg)
{
	struct rp_if *ifc = arg;
	if (ifc->ctx->run)
		umpa_replay_run_input(ifc->ctx->run, p, ifc->idx);
}

static void rp_readable(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	struct rp_if *ifc = arg;
	struct umpa_err e = {0};

	(void)fd;
	(void)what;
	if (umpa_cap_dispatch(ifc->cap, -1, rp_captured, ifc, &e) < 0)
		umpa_loop_fail(loop, &e);
}

/* ---- output ---- */

static void rp_result(void *arg, const struct umpa_replay_result *res)
{
	struct rp_ctx *c = arg;

	umpa_sbuf_reset(&c->line);
	umpa_replay_format_result(c->cap, res, c->fmt, c->verbose, &c->line);
	if (c->line.len && !c->line.oom) {
		if (c->progress_tty == 1)
			fputs("\r\033[K", stderr);
		fwrite(c->line.s, 1, c->line.len, stdout);
	}
}

static void rp_progress(void *arg, const struct umpa_replay_summary *s, uint64_t total)
{
	struct rp_ctx *c = arg;
	fflush(stdout);
	fprintf(stderr, "%sreplay: %llu/%llu packets sent, %llu exchanges settled (%llu matched)%s",
		c->progress_tty == 1 ? "\r\033[K" : "", (unsigned long long)s->sent, (unsigned long long)total,
		(unsigned long long)s->exchanges, (unsigned long long)s->verdicts[UMPA_RV_MATCHED],
		c->progress_tty == 1 ? "" : "\n");
	fflush(stderr);
}

/* ---- addressing ---- */

struct macmap {
	uint8_t from[6], to[6];
};

static int mac_known(const struct macmap *m, size_t n, const uint8_t *mac)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(m[i].from, mac, 6))
			return 1;
	return 0;
}

static int mac_group(const uint8_t *mac)
{
	return mac[0] & 1; /* broadcast and multicast */
}

/*
 * The MAC map for the live link: each recorded sender MAC of the sent
 * packets becomes the interface's, each recorded unicast destination MAC the
 * live next hop's (the resolver: neighbour table, else ARP / ND on the
 * wire).  Rules the user gave win.  Returns 0, or -1 after printing why.
 */
static int auto_macs(struct rp_ctx *c, struct umpa_replay_rewrite *rw, struct macmap *user, size_t nuser)
{
	struct macmap m[REPLAY_MAX_RULES];
	size_t n = 0;
	struct umpa_pkt p, q;
	struct umpa_err e = {0};
	struct umpa_resolver *res[REPLAY_MAX_IFS] = {0};
	int rc = 0, warned = 0;
	const struct umpa_field *fdst = umpa_proto_field(&umpa_proto_eth, "dst");
	const struct umpa_field *fsrc = umpa_proto_field(&umpa_proto_eth, "src");

	umpa_pkt_init(&p);
	umpa_pkt_init(&q);
	for (uint32_t i = 0; i < c->cap->npkts && rc == 0; i++) {
		const struct umpa_replay_pkt *rp = &c->cap->pkts[i];
		struct rp_if *ifc = &c->ifs[rp->ifidx < c->nifs ? rp->ifidx : 0];
		uint8_t src[6], dst[6];
		struct umpa_cur cur;
		if (rp->role != UMPA_ROLE_SEND || rp->unsendable)
			continue;
		umpa_cur_init(&cur, c->cap->arena + rp->off, rp->len);
		if (umpa_cur_copy_at(&cur, 0, 6, dst) < 0 || umpa_cur_copy_at(&cur, 6, 6, src) < 0)
			continue;
		if (!mac_known(m, n, src) && !mac_known(user, nuser, src) && ifc->info.has_mac) {
			if (n == REPLAY_MAX_RULES)
				goto full;
			memcpy(m[n].from, src, 6);
			memcpy(m[n].to, ifc->info.mac, 6);
			n++;
		}
		if (mac_group(dst) || mac_known(m, n, dst) || mac_known(user, nuser, dst))
			continue;
		if (n == REPLAY_MAX_RULES)
			goto full;
		/* the live next hop of this packet: its copy with the Ethernet addresses unset */
		if (!res[rp->ifidx] && !(res[rp->ifidx] = umpa_resolver_new(ifc->name, NULL, NULL, &e))) {
			tool_err("replay: %s", e.msg);
			rc = -1;
			break;
		}
		umpa_replay_cap_pkt(c->cap, i, &p);
		if (umpa_pkt_dup(&q, &p, &e) < 0) {
			tool_err("replay: %s", e.msg);
			rc = -1;
			break;
		}
		umpa_field_unset(&q, 0, fdst);
		umpa_field_unset(&q, 0, fsrc);
		if (umpa_resolve_dst(res[rp->ifidx], &q, &e) < 0) {
			if (e.code != UMPA_ENOENT) {
				tool_err("replay: %s", e.msg);
				rc = -1;
				break;
			}
			if (!warned++)
				tool_note("replay: frame %llu: %s: sent to its recorded MAC",
					  (unsigned long long)rp->frame, e.msg);
			memcpy(m[n].from, dst, 6);
			memcpy(m[n].to, dst, 6); /* asked once */
			n++;
			umpa_err_clear(&e);
			continue;
		}
		memcpy(m[n].from, dst, 6);
		umpa_cur_init(&cur, q.data, q.len);
		if (umpa_cur_copy_at(&cur, 0, 6, m[n].to) < 0)
			memcpy(m[n].to, dst, 6);
		n++;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char rule[64];
		if (!memcmp(m[i].from, m[i].to, 6))
			continue;
		snprintf(rule, sizeof rule, "mac:%02x:%02x:%02x:%02x:%02x:%02x=%02x:%02x:%02x:%02x:%02x:%02x",
			 m[i].from[0], m[i].from[1], m[i].from[2], m[i].from[3], m[i].from[4], m[i].from[5], m[i].to[0],
			 m[i].to[1], m[i].to[2], m[i].to[3], m[i].to[4], m[i].to[5]);
		if (umpa_replay_rewrite_add(rw, rule, &e) < 0) {
			tool_err("replay: %s", e.msg);
			rc = -1;
		}
	}
	goto out;
full:
	tool_note("replay: more than %d MAC addresses to map: the rest are sent as recorded (--rewrite-mac)",
		  REPLAY_MAX_RULES);
	goto out;
out:
	for (unsigned i = 0; i < REPLAY_MAX_IFS; i++)
		umpa_resolver_free(res[i]);
	umpa_pkt_release(&p);
	umpa_pkt_release(&q);
	return rc;
}

/* ---- the command ---- */

static const struct umpa_num_spec rp_mult = {"times", 1e-6, 1e6, 0};
static const struct umpa_num_spec rp_mbps = {"megabits per second", 1e-6, 1e6, 0};
static const struct umpa_num_spec rp_vlan = {"VLAN id", 0, 4095, UMPA_NUM_INT};
static const struct umpa_num_spec rp_rounds = {"rounds", 2, 1000, UMPA_NUM_INT};
static const struct umpa_num_spec rp_ttl = {"TTL", 0, 255, UMPA_NUM_INT};
static const struct umpa_num_spec rp_retries = {"retransmissions", 0, 100, UMPA_NUM_INT};

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"multiplier", required_argument, NULL, 'x'},
	    {"pps", required_argument, NULL, 'P'},
	    {"mbps", required_argument, NULL, 'M'},
	    {"topspeed", no_argument, NULL, 'T'},
	    {"loop", required_argument, NULL, 'L'},
	    {"duration", required_argument, NULL, 'D'},
	    {"timeout", required_argument, NULL, 'W'},
	    {"retries", required_argument, NULL, 'R'},
	    {"side", required_argument, NULL, 's'},
	    {"side-bpf", required_argument, NULL, 'B'},
	    {"server-side", no_argument, NULL, 'S'},
	    {"rewrite-mac", required_argument, NULL, 'm'},
	    {"rewrite-ip", required_argument, NULL, 'a'},
	    {"rewrite-port", required_argument, NULL, 'p'},
	    {"ttl", required_argument, NULL, 't'},
	    {"vlan", required_argument, NULL, 'V'},
	    {"keep-checksums", no_argument, NULL, 'K'},
	    {"no-auto-mac", no_argument, NULL, 'A'},
	    {"ignore", required_argument, NULL, 'I'},
	    {"check", required_argument, NULL, 'C'},
	    {"learn-noise", required_argument, NULL, 'N'},
	    {"no-check", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"junit", required_argument, NULL, 'J'},
	    {"progress", no_argument, NULL, 'G'},
	    {"audit", no_argument, NULL, 'U'},
	    {"template", required_argument, NULL, 'E'},
	    {"both-sides", no_argument, NULL, 'b'},
	    {"set", required_argument, NULL, 'Z'},
	    {"qdisc-bypass", no_argument, NULL, 'Q'},
	    HTTP_CLI_LOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct rp_ctx c = {0};
	struct umpa_replay_load_opts lo = {.vlan = -1};
	struct umpa_replay_timing tm = {0};
	const char *rules[3 * REPLAY_MAX_RULES + 1];
	size_t nrules = 0;
	const char *ignore[16], *check[16], *junit = NULL, *file;
	size_t nignore = 0, ncheck = 0;
	unsigned long learn = 0;
	int ch, keep = 0, no_auto = 0, progress = 0, modes = 0, rc = UMPA_EXIT_ERROR;
	struct umpa_err e = {0};
	struct umpa_capr *r = NULL;
	struct umpa_replay_rewrite *rw = NULL;
	struct umpa_replay_checker *ck = NULL;
	struct macmap user[REPLAY_MAX_RULES];
	size_t nuser = 0;
	int audit = 0, bypass = 0;
	const char *tmpl = NULL, *sets[64];
	size_t nsets = 0;
	struct umpa_replay_tmpl *dev = NULL;
	struct replay_guard *guard = NULL;
	struct umpa_sbuf ans_filter = {0}; /* the capture's filter (sched/replay_filter.c) */
	struct http_cli hc = {0};          /* --http: tools/replay_http.c */
	struct replay_http *rh = NULL;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "i:x:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (c.nifs == REPLAY_MAX_IFS) {
				tool_err("replay: at most two interfaces (-i A -i B)");
				return UMPA_EXIT_USAGE;
			}
			c.ifs[c.nifs++].name = optarg;
			break;
		case 'x':
			tm.multiplier = tool_real(&rp_mult, "--multiplier", optarg);
			modes++;
			break;
		case 'P':
			tm.pps = tool_real(&umpa_num_pps, "--pps", optarg);
			modes++;
			break;
		case 'M':
			tm.mbps = tool_real(&rp_mbps, "--mbps", optarg);
			modes++;
			break;
		case 'T':
			tm.topspeed = 1;
			modes++;
			break;
		case 'L':
			tm.loops = tool_u64(&umpa_num_count, "--loop", optarg);
			if (tm.loops == 0) {
				tool_err("replay: --loop: give a number of rounds (1 or more)");
				return UMPA_EXIT_USAGE;
			}
			break;
		case 'D':
			tm.duration_ns = tool_ns(&umpa_num_seconds, "--duration", optarg);
			break;
		case 'W':
			tm.timeout_ns = tool_ns(&umpa_num_seconds, "--timeout", optarg);
			break;
		case 'R':
			tm.retries = (unsigned)tool_u64(&rp_retries, "--retries", optarg);
			if (tm.retries == 0)
				tm.retries = UINT32_MAX; /* the engine's "none" */
			break;
		case 's':
			lo.sides.cidrs = optarg;
			break;
		case 'B':
			lo.sides.bpf = optarg;
			break;
		case 'S':
			lo.sides.server_side = 1;
			break;
		case 'm':
		case 'a':
		case 'p':
		case 't': {
			static char buf[3 * REPLAY_MAX_RULES + 1][96];
			const char *kind = ch == 'm' ? "mac" : ch == 'a' ? "ip" : ch == 'p' ? "port" : "ttl";
			char num[24];
			const char *val = optarg;
			if (ch == 't') { /* a number, checked now, in any form umpa reads numbers */
				snprintf(num, sizeof num, "%llu",
					 (unsigned long long)tool_u64(&rp_ttl, "--ttl", optarg));
				val = num;
			}
			if (nrules == sizeof rules / sizeof rules[0]) {
				tool_err("replay: too many rewrite rules");
				return UMPA_EXIT_USAGE;
			}
			snprintf(buf[nrules], sizeof buf[nrules], "%s:%s", kind, val);
			rules[nrules] = buf[nrules];
			nrules++;
			if (ch == 'm' && nuser < REPLAY_MAX_RULES) {
				/* remembered so that the automatic MACs leave it alone */
				unsigned v[6];
				if (sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) ==
				    6) {
					for (int k = 0; k < 6; k++)
						user[nuser].from[k] = (uint8_t)v[k];
					nuser++;
				}
			}
			break;
		}
		case 'V':
			if (!strcmp(optarg, "none"))
				lo.vlan = -2;
			else
				lo.vlan = (int)tool_u64(&rp_vlan, "--vlan", optarg);
			break;
		case 'K':
			keep = 1;
			break;
		case 'A':
			no_auto = 1;
			break;
		case 'I':
		case 'C':
			if ((ch == 'I' ? nignore : ncheck) == 16) {
				tool_err("replay: too many --%s options (give a comma-separated list)",
					 ch == 'I' ? "ignore" : "check");
				return UMPA_EXIT_USAGE;
			}
			if (ch == 'I')
				ignore[nignore++] = optarg;
			else
				check[ncheck++] = optarg;
			break;
		case 'N':
			learn = (unsigned long)tool_u64(&rp_rounds, "--learn-noise", optarg);
			break;
		case 'n':
			tm.no_check = 1;
			break;
		case 'j':
			c.fmt = UMPA_REPLAY_JSON;
			break;
		case 'J':
			junit = optarg;
			break;
		case 'G':
			progress = 1;
			break;
		case 'v':
			c.verbose = 1;
			break;
		case 'U':
			audit = 1;
			break;
		case 'E':
			tmpl = optarg;
			break;
		case 'b':
			lo.sides.both = 1;
			break;
		case 'Q':
			bypass = 1;
			break;
		case 'Z':
			if (nsets == sizeof sets / sizeof sets[0]) {
				tool_err("replay: at most 64 --set");
				return UMPA_EXIT_USAGE;
			}
			sets[nsets++] = optarg;
			break;
		case 'h':
			fputs(replay_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			if (http_cli_opt(&hc, ch, optarg))
				break;
			tool_err("replay: unknown or incomplete option '%s' (try 'umpa replay --help')",
				 argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (modes > 1) {
		tool_err("replay: give one of --multiplier, --pps, --mbps and --topspeed");
		return UMPA_EXIT_USAGE;
	}
	if ((lo.sides.cidrs != NULL) + (lo.sides.bpf != NULL) + lo.sides.server_side > 1) {
		tool_err("replay: give one of --side, --side-bpf and --server-side");
		return UMPA_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		tool_err(optind == argc ? "replay: which capture? give FILE (try 'umpa replay --help')"
					: "replay: give one capture FILE (extra argument '%s')",
			 optind < argc ? argv[optind + 1] : "");
		return UMPA_EXIT_USAGE;
	}
	file = argv[optind];
	if ((audit || tmpl) && c.nifs) {
		tool_err("replay: --%s checks without a device: drop -i", audit ? "audit" : "template");
		return UMPA_EXIT_USAGE;
	}
	if (audit && tmpl) {
		tool_err("replay: give --audit or --template, not both");
		return UMPA_EXIT_USAGE;
	}
	if (nsets && !tmpl) {
		tool_err("replay: --set is a parameter of --template T");
		return UMPA_EXIT_USAGE;
	}
	if (http_cli_check(&hc, "replay") < 0)
		return UMPA_EXIT_USAGE;
	if (hc.listen && (audit || tmpl)) {
		tool_err("replay: --http serves a live replay (-i); --%s is over before a client could ask",
			 audit ? "audit" : "template");
		return UMPA_EXIT_USAGE;
	}
	if (bypass && (audit || tmpl)) {
		tool_err("replay: --qdisc-bypass is for a live replay (-i): drop --%s", audit ? "audit" : "template");
		return UMPA_EXIT_USAGE;
	}
	if (audit || tmpl) {
		if (tm.no_check || learn) {
			tool_err("replay: --%s checks: drop --no-check and --learn-noise",
				 audit ? "audit" : "template");
			return UMPA_EXIT_USAGE;
		}
	} else if (c.nifs == 0) {
		tool_err("replay: on which interface? give -i IFACE (try 'umpa replay --help')");
		return UMPA_EXIT_USAGE;
	}
	if (lo.sides.both && !tmpl && c.nifs != 2) {
		tool_err("replay: --both-sides: the sides go out of two interfaces (-i A -i B) or into --template T");
		return UMPA_EXIT_USAGE;
	}
	if (c.nifs == 2)
		lo.sides.both = 1;
	if (lo.sides.both && (lo.sides.cidrs || lo.sides.bpf || lo.sides.server_side)) {
		tool_err("replay: both sides are sent (two interfaces): drop --side, --side-bpf and --server-side");
		return UMPA_EXIT_USAGE;
	}
	if (tm.no_check && learn) {
		tool_err("replay: --learn-noise needs the checks: drop --no-check");
		return UMPA_EXIT_USAGE;
	}

	/* the interfaces first: a wrong name is the most common mistake */
	for (unsigned i = 0; i < c.nifs; i++) {
		c.ifs[i].idx = i;
		c.ifs[i].ctx = &c;
		if (umpa_iface_get(c.ifs[i].name, &c.ifs[i].info, &e) < 0)
			goto fail;
		if (i == 1 && c.ifs[1].info.linktype != c.ifs[0].info.linktype) {
			umpa_err_set(&e, UMPA_EINVAL, "%s and %s are of different link types", c.ifs[0].name,
				     c.ifs[1].name);
			goto fail;
		}
	}
	if (c.nifs)
		lo.out_linktype = c.ifs[0].info.linktype > 0 ? c.ifs[0].info.linktype : UMPA_LINKTYPE_ETHERNET;
	if (c.nifs && c.ifs[0].info.mtu)
		lo.max_frame = c.ifs[0].info.mtu + (lo.out_linktype == UMPA_LINKTYPE_ETHERNET ? 18 : 0);

	/* the capture */
	lo.no_answers = tm.no_check;
	if (!(r = umpa_capr_open(file, &e)))
		goto fail;
	c.cap = umpa_replay_cap_load(r, &lo, &e);
	if (!c.cap) {
		umpa_err_prefix(&e, "%s: ", file);
		goto fail;
	}
	r = umpa_capr_close(r);
	if (!tm.no_check && !lo.sides.both && c.cap->nanswers == 0) {
		umpa_err_set(&e, UMPA_EINVAL,
			     "%s: no recorded answer to check (%u packets to send, none answered in the file): "
			     "choose the side with --side, or replay without checks with --no-check",
			     file, c.cap->nsend);
		goto fail;
	}
	if (c.cap->nunsendable && c.nifs)
		tool_note("replay: %u of %u packets to send cannot go on %s: %s", c.cap->nunsendable, c.cap->nsend,
			  c.ifs[0].name, c.cap->unsendable_why);

	/* rewriting: the user's rules, then the live link's addresses */
	if (!(rw = umpa_replay_rewrite_new(&e)))
		goto fail;
	for (size_t i = 0; i < nrules; i++)
		if (umpa_replay_rewrite_add(rw, rules[i], &e) < 0) {
			tool_err("replay: %s", e.msg);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
	if (c.nifs && !no_auto && !tm.no_check && !lo.sides.both && c.cap->linktype == UMPA_LINKTYPE_ETHERNET &&
	    auto_macs(&c, rw, user, nuser) < 0)
		goto out;
	if (umpa_replay_rewrite_apply(rw, c.cap, keep, &e) < 0)
		goto fail;

	/* the checker */
	if (!(ck = umpa_replay_checker_new(&e)))
		goto fail;
	/* through a device, the link layer is the device's (a router's MACs): --check eth to compare it */
	if (lo.sides.both && umpa_replay_checker_set(ck, "eth", 1, &e) < 0)
		goto fail;
	for (size_t i = 0; i < nignore; i++)
		if (umpa_replay_checker_set(ck, ignore[i], 1, &e) < 0) {
			tool_err("replay: --ignore %s", e.msg);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
	for (size_t i = 0; i < ncheck; i++)
		if (umpa_replay_checker_set(ck, check[i], 0, &e) < 0) {
			tool_err("replay: --check %s", e.msg);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}

	if (audit) {
		rc = replay_audit_cmd(c.cap, tm.timeout_ns, c.fmt, c.verbose, junit, file);
		goto out;
	}
	if (tmpl) {
		/* the template plays the device on the virtual clock */
		struct umpa_replay_io tio;
		struct umpa_run_opts ro = {.tmpl = tmpl, .sets = sets, .nsets = nsets};
		if (!(dev = umpa_replay_tmpl_new(&ro, c.cap->first_ts_ns, c.cap->linktype, lo.sides.both ? 2 : 1, &tio,
						 &e)))
			goto fail;
		c.loop = umpa_replay_tmpl_loop(dev);
		c.tio = tio;
	} else if (!(c.loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e)) ||
		   umpa_loop_break_on_signal(c.loop, SIGINT, &e) < 0 ||
		   umpa_loop_break_on_signal(c.loop, SIGTERM, &e) < 0)
		goto fail;
	if (!tm.no_check && !tmpl && !lo.sides.both)
		guard = replay_tcp_guard(c.cap, (uint64_t)learn + (tm.loops ? tm.loops : 1));
	/* one interface: its capture keeps only what can answer (two: what comes out of the device is
	 * addressed as the device forwards it, so nothing is filtered) */
	if (!tm.no_check && !tmpl && !lo.sides.both && umpa_replay_answer_filter(c.cap, &ans_filter) == 0)
		umpa_sbuf_reset(&ans_filter);
	for (unsigned i = 0; i < c.nifs; i++) {
		struct rp_if *ifc = &c.ifs[i];
		if (!(ifc->inj = umpa_inj_open(ifc->name, 2, &e)))
			goto fail;
		if (umpa_inj_send_batch(ifc->inj, NULL, 0, &e) < 0) /* the TX ring, set up now */
			goto fail;
		if (bypass && umpa_inj_qdisc_bypass(ifc->inj, 1, &e) < 0)
			goto fail;
		if (!tm.no_check) {
			struct umpa_cap_opts co;
			umpa_cap_opts_init(&co);
			co.bufsize = 32 << 20;
			co.snaplen = 65535;
			co.dir = UMPA_DIR_IN; /* answers only: what umpa sends is not heard back */
			co.filter = ans_filter.len ? ans_filter.s : NULL; /* and only what can answer */
			co.immediate = 0; /* TPACKET_V3 blocks, handed over every millisecond (as sr) */
			co.timeout_ms = 1;
			if (!(ifc->cap = umpa_cap_open(ifc->name, &co, &e)))
				goto fail;
			if (!(ifc->fd =
				  umpa_loop_add_fd(c.loop, umpa_cap_fd(ifc->cap), UMPA_FD_READ, rp_readable, ifc, &e)))
				goto fail;
		}
	}
	c.progress_tty = isatty(2) && !progress ? 1 : 0;
	if (!progress && !c.progress_tty)
		c.progress_tty = -1; /* no progress line */
	if (hc.listen) {
		char title[300];
		snprintf(title, sizeof title, "replay %s", file);
		if (!(rh = replay_http_new(c.loop, &hc, title, c.cap,
					   (uint64_t)c.cap->nexch * (tm.loops ? tm.loops : 1), &e))) {
			tool_err("replay: %s", e.msg);
			rc = e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
			goto out;
		}
	}

	{
		struct umpa_replay_io io =
		    tmpl ? c.tio : (struct umpa_replay_io){.send = rp_send, .arg = &c, .nifs = c.nifs};
		struct umpa_replay_summary sum;
		struct umpa_rate_stats st;
		const struct umpa_replay_driver *drv =
		    lo.sides.both ? &umpa_replay_driver_fwd : &umpa_replay_driver_tcp;
		int failed, sig;

		/* --learn-noise: rounds whose differences become ignored fields */
		for (unsigned long k = 0; k < learn; k++) {
			struct umpa_replay_timing lt = tm;
			lt.learn = k == 0 ? 1 : 2;
			lt.loops = 1;
			lt.conn_base = (uint32_t)k; /* each round's TCP connections from new ports: no TIME-WAIT */
			if (!(c.run = umpa_replay_run_new(c.loop, c.cap, ck, &lt, &io, &e)) ||
			    umpa_replay_add_driver(c.run, drv, &e) < 0)
				goto fail;
			if (dev)
				umpa_replay_tmpl_attach(dev, c.run);
			replay_http_attach(rh, c.run);
			if (umpa_replay_run_go(c.run, &e) < 0)
				goto fail;
			replay_http_attach(rh, NULL);
			c.run = umpa_replay_run_free(c.run);
			if (umpa_loop_signalled(c.loop))
				goto out;
		}
		if (learn) {
			struct umpa_sbuf b = {0};
			umpa_replay_checker_learned(ck, &b);
			tool_note("replay: learned over %lu round%s to ignore: %s", learn, tool_s(learn),
				  b.len ? b.s : "nothing (every answer was the same)");
			umpa_sbuf_free(&b);
		}
		tm.conn_base = (uint32_t)learn;
		if (!(c.run = umpa_replay_run_new(c.loop, c.cap, ck, &tm, &io, &e)))
			goto fail;
		/* TCP flows statefully (sched/replay_tcp_drv.c), or with both sides every flow through the device
		 * (sched/replay_fwd.c), unless only sending */
		if (!tm.no_check && umpa_replay_add_driver(c.run, drv, &e) < 0)
			goto fail;
		if (dev)
			umpa_replay_tmpl_attach(dev, c.run);
		replay_http_attach(rh, c.run);
		umpa_replay_on_result(c.run, rp_result, &c);
		if (c.progress_tty >= 0)
			umpa_replay_on_progress(c.run, UMPA_NS_PER_SEC, rp_progress, &c);
		if (umpa_replay_run_go(c.run, &e) < 0)
			goto fail;
		for (unsigned i = 0; i < c.nifs; i++)
			if (umpa_inj_flush(c.ifs[i].inj, &e) < 0)
				goto fail;
		if (c.progress_tty == 1)
			fputs("\r\033[K", stderr);
		sig = umpa_loop_signalled(c.loop);
		umpa_replay_run_summary(c.run, &sum);
		umpa_replay_run_rate(c.run, &st);
		umpa_sbuf_reset(&c.line);
		umpa_replay_format_summary(&sum, c.fmt, &c.line);
		if (c.fmt == UMPA_REPLAY_JSON) {
			/* the summary object is the last line of stdout: the rest goes to stderr */
			fflush(stdout);
			fprintf(stderr, "umpa: replay: sent %llu packet%s, %llu bytes on %s%s%s\n",
				(unsigned long long)sum.sent, tool_s(sum.sent), (unsigned long long)sum.sent_bytes,
				dev ? "the template" : c.ifs[0].name, c.nifs > 1 ? " and " : "",
				c.nifs > 1 ? c.ifs[1].name : "");
		} else if (dev) {
			printf(
			    "sent %llu packet%s, %llu bytes to template %s (virtual clock, %.6f s of capture time)\n",
			    (unsigned long long)sum.sent, tool_s(sum.sent), (unsigned long long)sum.sent_bytes,
			    umpa_run_path(umpa_replay_tmpl_run(dev)), (double)st.elapsed_ns / 1e9);
		} else {
			printf("sent %llu packet%s, %llu bytes in %.6f s on %s%s%s (%s)%s\n",
			       (unsigned long long)sum.sent, tool_s(sum.sent), (unsigned long long)sum.sent_bytes,
			       (double)st.elapsed_ns / 1e9, c.ifs[0].name, c.nifs > 1 ? " and " : "",
			       c.nifs > 1 ? c.ifs[1].name : "", umpa_inj_backend(c.ifs[0].inj),
			       sig ? ", interrupted" : "");
			tool_rate_report(&st);
			if (sum.unsendable)
				printf("not sent: %llu packet%s (%s)\n", (unsigned long long)sum.unsendable,
				       tool_s(sum.unsendable), c.cap->unsendable_why);
		}
		if (!tm.no_check || c.fmt == UMPA_REPLAY_JSON)
			fwrite(c.line.s, 1, c.line.len, stdout);
		if (junit && replay_write_junit(umpa_replay_run_report(c.run), file, junit, &e) < 0)
			goto fail;
		failed = replay_exit_status(&sum) != UMPA_EXIT_OK;
		/* nothing at all could be sent: the work failed, even without checks */
		rc = failed || sig || (sum.sent == 0 && c.cap->nsend > 0) ? UMPA_EXIT_ERROR : UMPA_EXIT_OK;
	}
	goto out;
fail:
	tool_err("replay: %s", e.msg);
	rc = UMPA_EXIT_ERROR;
out:
	rh = replay_http_free(rh); /* before the run and the loop */
	umpa_replay_run_free(c.run);
	replay_guard_off(guard);
	if (dev) {
		c.loop = NULL; /* the template's */
		dev = umpa_replay_tmpl_free(dev);
	}
	for (unsigned i = 0; i < c.nifs; i++) {
		umpa_loop_remove_fd(c.ifs[i].fd);
		umpa_cap_close(c.ifs[i].cap);
		umpa_inj_close(c.ifs[i].inj);
	}
	umpa_loop_free(c.loop);
	umpa_replay_checker_free(ck);
	umpa_replay_rewrite_free(rw);
	umpa_replay_cap_free(c.cap);
	umpa_capr_close(r);
	umpa_sbuf_free(&c.line);
	umpa_sbuf_free(&ans_filter);
	return rc;
}
