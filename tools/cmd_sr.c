/* cmd_sr.c - `umpa sr`: send requests, match their answers (Scapy's sr, nping). */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umpa_expect.h"
#include "umpa_live.h"
#include "umpa_lua.h"
#include "umpa_protos.h"
#include "umpa_render.h"
#include "umpa_resolve.h"
#include "umpa_sched.h"
#include "sr_views.h"
#include "umpa_tool.h"

static const char sr_usage[] =
    "usage: umpa sr EXPR... -i IFACE [--timeout S] [--retry N] [--rate PPS] [--json] [-v] [-Z USER]\n"
    "       umpa sr -f SCRIPT.lua -i IFACE ...   (the script returns the requests)\n"
    "       umpa sr --l3 EXPR...                 (no -i: the kernel routes, answers are read on all interfaces)\n"
    "\n"
    "Send every packet the expressions expand to and match the answers: each\n"
    "request is printed with its answer (or \"no answer\") and the round-trip time\n"
    "as it settles, then the views that apply and a summary.  Lists, ranges and\n"
    "address prefixes expand (dst=\"10.0.0.0/28\": one request per address):\n"
    "  umpa sr -i eth0 'ether{}/ip{dst=\"10.0.0.2\"}/tcp{dport=range(1,1024), flags=\"S\"}'   (port scan)\n"
    "  umpa sr -i eth0 'ether{}/ip{dst=\"10.9.9.9\", ttl=range(1,20)}/icmp{}'              (traceroute)\n"
    "  umpa sr -i eth0 'ip{dst=\"10.0.0.0/24\"}/icmp{}'                                    (ping sweep)\n"
    "Views after the exchanges: a traceroute (TTL: hop, RTT) for each destination\n"
    "whose requests differ in TTL; a port table for TCP SYN and UDP probes, with\n"
    "nmap's states and reasons (SYN/ACK open, RST closed, ICMP unreachable or no\n"
    "answer filtered; UDP: an answer open, port unreachable closed, no answer\n"
    "open|filtered); loss and RTT min/avg/max.  RTTs are the difference of the\n"
    "kernel's capture time stamps of the request as it left and of the answer\n"
    "(the loop's clock only when the request was not heard leaving).\n"
    "An ICMP error quoting a request answers it.  Ethernet source and destination\n"
    "and the IP source are filled in when not set: the interface's MAC and address,\n"
    "the next hop's MAC from the kernel's neighbour table or ARP / neighbour\n"
    "discovery (through the gateway the routing table names for off-link hosts).\n"
    "  -i IFACE       interface to send on and capture from (optional with --l3)\n"
    "  --timeout S    seconds to wait for each answer after a transmission (default 2)\n"
    "  --retry N      send an unanswered request up to N more times (default 0)\n"
    "  --rate PPS     requests per second (default: as fast as the link takes them)\n"
    "  --l3           send from the IP layer on through the kernel (it routes and resolves)\n"
    "  -f SCRIPT      a Lua script whose return value is the requests (with or without EXPRs)\n"
    "  --filter BPF   only consider captured packets that pass this filter\n"
    "  --ordered      print the exchanges in request order (those that settle early wait)\n"
    "  --progress     a progress line on stderr every second (default: when stderr is a\n"
    "                 terminal, once the run has lasted a second)\n"
    "  --json         one JSON object per exchange {\"no\", \"request\", \"answer\", \"rtt_us\",\n"
    "                 \"rtt_from\"} (the request's frame.time_epoch is its send time), then a\n"
    "                 summary {\"sent\", \"answered\", \"lost\", \"unmatched\", \"rtt_min_us\",\n"
    "                 \"rtt_avg_us\", \"rtt_max_us\", ..., \"answer_span_us\", \"traceroute\", \"ports\"}\n"
    "  -q             print only the views and the summary\n"
    "  -v             also say where each next hop's MAC came from, and why a captured packet\n"
    "                 did not answer a request it hashed to\n"
    "  -Z USER        drop privileges to USER once the capture and injector are open\n"
    "  --max N        refuse expressions that expand to more than N packets (default 1000000)\n"
    "A request that cannot be addressed (no route, no answer to ARP / neighbour\n"
    "solicitation) is not sent: it is reported as unanswered with the reason\n"
    "(\"error\" in --json, \"not_sent\" in the summary) and the others go on.\n"
    "Exit status: 0 ok (also when requests went unanswered), 1 the work failed or a\n"
    "request could not be sent, 2 usage.\n";

/* Requests whose next hops are asked for together (umpa_resolve_prefetch). */
#define SR_RESOLVE_WINDOW 128

struct sr {
	struct umpa_pkt *pkts;
	size_t n, cap;
	size_t next;    /* next request the source hands out */
	size_t sink_at; /* next request the sink sends (untaken frames are offered again, in order) */
	struct umpa_cap *cap_h;
	struct umpa_inj *inj;
	struct umpa_loop *loop;
	struct umpa_expect *ex;
	struct umpa_source *src;
	struct umpa_expect_opts xo;
	int json, quiet, verbose, l3, ordered, progress;
	struct umpa_sbuf out, a, b;
	struct umpa_sbuf scratch[2], jscratch;
	struct umpa_err err;
	int failed;
	/* requests that could not be addressed: never sent, reported with their reason */
	struct tool_unsent unsent;
	int64_t t_first, t_last; /* loop time of the first transmission and of the last answer (0: none) */
	/* every request as built (1-based number = index + 1): what the views need */
	struct sr_rec *rec;
	size_t nrec;
	size_t *no; /* pkts[i] is request no[i] (0-based): the unaddressable ones were taken out */
	/* --ordered: settled output waits in one arena until every earlier request printed */
	struct umpa_sbuf arena;
	size_t *slot_off;   /* request -> offset of its text in arena */
	uint32_t *slot_len; /* request -> length; UINT32_MAX: not settled yet */
	size_t next_print;  /* the first request not printed */
	size_t waiting;     /* settled, not printed */
	/* progress */
	int progress_tty, progress_shown;
	uint8_t mac[6]; /* the interface's, to tell what leaves from what arrives */
	int has_mac;
	size_t settled;
};

static int keep_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct sr *s = arg;

	if (umpa_array_grow(&s->pkts, &s->cap, s->n + 1, sizeof(*s->pkts), e) < 0)
		return -UMPA_ENOMEM;
	umpa_pkt_init(&s->pkts[s->n]);
	if (umpa_pkt_dup(&s->pkts[s->n], p, e) < 0)
		return -e->code;
	s->n++;
	return 0;
}

/* The one-line summary of @p p without its time stamp and newline. */
static void summary(const struct umpa_pkt *p, struct umpa_sbuf *b)
{
	size_t sp;

	umpa_sbuf_reset(b);
	umpa_render_line(p, NULL, b);
	if (b->len && b->s[b->len - 1] == '\n')
		b->s[--b->len] = 0;
	sp = strcspn(b->s, " ");
	if (b->s[sp] == ' ')
		memmove(b->s, b->s + sp + 1, b->len - sp); /* the NUL moves too */
	b->len = strlen(b->s);
}

static void json_pkt(struct sr *s, const struct umpa_pkt *p, struct umpa_sbuf *b)
{
	struct umpa_render_opts ro = {.scratch = s->scratch, .json_scratch = &s->jscratch};

	umpa_sbuf_reset(b);
	umpa_render_json(p, &ro, b);
	while (b->len && b->s[b->len - 1] == '\n')
		b->s[--b->len] = 0;
}

/*
 * Print the text of request @p no (0-based) in s->out: at once, or with
 * --ordered once every earlier request has printed (the text waits in the
 * arena; the arena starts over whenever nothing waits).
 */
static void put_exchange(struct sr *s, size_t no)
{
	if (!s->ordered) {
		fwrite(s->out.s, 1, s->out.len, stdout);
		return;
	}
	if (no >= s->nrec || s->out.len >= UINT32_MAX)
		return;
	s->slot_off[no] = s->arena.len;
	s->slot_len[no] = (uint32_t)s->out.len;
	umpa_sbuf_put(&s->arena, s->out.s, s->out.len);
	s->waiting++;
	while (s->next_print < s->nrec && s->slot_len[s->next_print] != UINT32_MAX) {
		fwrite(s->arena.s + s->slot_off[s->next_print], 1, s->slot_len[s->next_print], stdout);
		s->next_print++;
		s->waiting--;
	}
	if (!s->waiting)
		umpa_sbuf_reset(&s->arena);
}

static void on_settled(void *arg, const struct umpa_exchange *x)
{
	struct sr *s = arg;
	size_t no = (size_t)(uintptr_t)x->user;

	s->settled++;
	if (x->answer)
		s->t_last = umpa_loop_now_ns(s->loop);
	if (no < s->nrec) {
		if (x->answer)
			sr_rec_answer(&s->rec[no], x->answer, x->rtt_ns);
		else
			s->rec[no].outcome = SR_LOST;
	}
	if (s->quiet)
		return;
	umpa_sbuf_reset(&s->out);
	if (s->json) {
		json_pkt(s, x->request, &s->a);
		umpa_sbuf_printf(&s->out, "{\"no\":%zu,\"request\":", no + 1);
		umpa_sbuf_puts(&s->out, s->a.s);
		umpa_sbuf_puts(&s->out, ",\"answer\":");
		if (x->answer) {
			json_pkt(s, x->answer, &s->b);
			umpa_sbuf_puts(&s->out, s->b.s);
			umpa_sbuf_printf(&s->out, ",\"rtt_us\":%.3f,\"rtt_from\":\"%s\"", (double)x->rtt_ns / 1000.0,
					 x->rtt_kernel ? "kernel" : "clock");
		} else {
			umpa_sbuf_puts(&s->out, "null,\"rtt_us\":null");
		}
		umpa_sbuf_printf(&s->out, ",\"tries\":%u}\n", x->tries);
	} else {
		summary(x->request, &s->a);
		umpa_sbuf_printf(&s->out, "#%zu %s\n", no + 1, s->a.s);
		if (x->answer) {
			summary(x->answer, &s->b);
			umpa_sbuf_printf(&s->out, "   -> %s  rtt %.3f ms\n", s->b.s, (double)x->rtt_ns / 1e6);
		} else {
			umpa_sbuf_printf(&s->out, "   -> no answer (%u %s)\n", x->tries,
					 x->tries == 1 ? "try" : "tries");
		}
	}
	put_exchange(s, no);
}

/*
 * Request @p no (1-based, in the order the expressions built them) cannot be
 * addressed: it is reported as unanswered with @p why and counted; it is not
 * sent, and the others go on.
 */
static void on_unsent(struct sr *s, const struct umpa_pkt *p, size_t no, const char *why)
{
	tool_unsent_note(&s->unsent, no, why);
	s->settled++;
	if (no - 1 < s->nrec)
		s->rec[no - 1].outcome = SR_UNSENT;
	if (s->quiet)
		return;
	umpa_sbuf_reset(&s->out);
	if (s->json) {
		json_pkt(s, p, &s->a);
		umpa_sbuf_printf(&s->out, "{\"no\":%zu,\"request\":", no);
		umpa_sbuf_puts(&s->out, s->a.s);
		umpa_sbuf_puts(&s->out, ",\"answer\":null,\"rtt_us\":null,\"tries\":0,\"error\":");
		umpa_sbuf_put_json_str(&s->out, why, strlen(why));
		umpa_sbuf_puts(&s->out, "}\n");
	} else {
		summary(p, &s->a);
		umpa_sbuf_printf(&s->out, "#%zu %s\n   -> no answer: not sent, %s\n", no, s->a.s, why);
	}
	put_exchange(s, no - 1);
}

static void on_mismatch(void *arg, const struct umpa_pkt *p, const struct umpa_pkt *req, const char *why)
{
	struct sr *s = arg;

	summary(p, &s->b);
	summary(req, &s->a);
	tool_note("sr: %s: not an answer to %s: %s", s->b.s, s->a.s, why);
}

/* -v: where each next hop's MAC came from (new ones only: the cache is quiet) */
static void on_found(void *arg, int family, const uint8_t *addr, const uint8_t mac[6], const char *how)
{
	char txt[64];

	(void)arg;
	if (!strcmp(how, "cache") || !inet_ntop(family, addr, txt, sizeof(txt)))
		return;
	tool_note("sr: %s is at %02x:%02x:%02x:%02x:%02x:%02x (%s)", txt, mac[0], mac[1], mac[2], mac[3], mac[4],
		  mac[5], how);
}

static int send_one(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	return umpa_inj_send(((struct sr *)arg)->inj, p, e);
}

/*
 * Did @p p leave this host?  The capture sees both directions (a request
 * heard leaving carries its transmit time stamp): on Ethernet a frame from
 * the interface's own MAC, on "any" (Linux cooked headers) pkttype outgoing.
 */
static int outgoing(const struct sr *s, struct umpa_pkt *p)
{
	const struct umpa_field *f;
	const uint8_t *b;
	uint32_t n;
	uint64_t v;

	if (p->nlayers == 0)
		umpa_dissect(p);
	if (!p->nlayers)
		return 0;
	if (p->l[0].proto == &umpa_proto_eth)
		return s->has_mac && (f = umpa_proto_field(&umpa_proto_eth, "src")) &&
		       umpa_field_get_bytes(p, 0, f, &b, &n) == 0 && n == 6 && memcmp(b, s->mac, 6) == 0;
	if (p->l[0].proto == &umpa_proto_sll || p->l[0].proto == &umpa_proto_sll2)
		return (f = umpa_proto_field(p->l[0].proto, "pkttype")) && umpa_field_get_u64(p, 0, f, &v) == 0 &&
		       v == 4; /* PACKET_OUTGOING */
	return 0;
}

static void on_captured(struct umpa_pkt *p, void *arg)
{
	struct sr *s = arg;

	if (outgoing(s, p))
		umpa_expect_heard(s->ex, p);
	else
		umpa_expect_input(s->ex, p);
}

static void ignore_pkt(struct umpa_pkt *p, void *arg)
{
	(void)p;
	(void)arg;
}

static void drain(struct sr *s)
{
	struct umpa_err e = {0};

	if (umpa_cap_dispatch(s->cap_h, -1, on_captured, s, &e) < 0 && !s->failed) {
		s->failed = 1;
		s->err = e;
		umpa_loop_fail(s->loop, &e);
	}
}

static void on_readable(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	(void)loop;
	(void)fd;
	(void)what;
	drain(arg);
}

/* Paced source: hand out the prepared requests in order. */
static int next_frame(void *arg, struct umpa_frame *f, struct umpa_err *e)
{
	struct sr *s = arg;
	const struct umpa_pkt *p;

	(void)e;
	if (s->next >= s->n)
		return 0;
	p = &s->pkts[s->next++];
	f->data = p->data;
	f->len = p->len;
	return 1;
}

/* Sink: send a batch, then register each request (the clock starts after it left). */
static int send_frames(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e)
{
	struct sr *s = arg;
	struct umpa_pkt *batch[UMPA_BATCH_MAX];
	int sent;

	for (unsigned i = 0; i < n; i++) {
		batch[i] = &s->pkts[s->sink_at + i];
		if (s->sink_at + i >= s->n || f[i].data != batch[i]->data)
			return umpa_err_set(e, UMPA_EINVAL, "sr: frames out of order");
	}
	if (!s->t_first)
		s->t_first = umpa_loop_now_ns(s->loop);
	sent = umpa_inj_send_batch(s->inj, batch, n, e);
	if (sent < 0)
		return sent;
	for (int i = 0; i < sent; i++) {
		s->xo.user = (void *)(uintptr_t)s->no[s->sink_at + (size_t)i];
		if (umpa_expect_add(s->ex, batch[i], &s->xo, e) < 0)
			return -e->code;
	}
	s->sink_at += (size_t)sent;
	/* answers may already wait: read them between batches so the buffer never fills */
	drain(s);
	return sent;
}

/*
 * Give each IPv4 request whose ip.id the user left alone its own id (then
 * finish again for the checksum), as traceroute and nping do: an ICMP error
 * quotes the header, so requests that differ only in their TTL are told
 * apart by it.
 */
static int number_ip_id(struct umpa_pkt *p, uint16_t id, struct umpa_err *e)
{
	int li = umpa_pkt_find(p, &umpa_proto_ip, 0);
	const struct umpa_field *f = umpa_proto_field(&umpa_proto_ip, "id");

	if (li < 0 || !f || umpa_field_is_set(p, (unsigned)li, f))
		return 0;
	if (umpa_field_set_u64(p, (unsigned)li, f, id, e) < 0)
		return -e->code;
	return umpa_pkt_finish(p, e);
}

static int all_done(void *arg)
{
	struct sr *s = arg;

	return (!s->src || umpa_source_done(s->src)) && umpa_expect_pending(s->ex) == 0;
}

/* The progress line: every second once the run has lasted one (stderr). */
static void on_progress(struct umpa_loop *loop, void *arg)
{
	struct sr *s = arg;
	struct umpa_expect_stats st;

	(void)loop;
	umpa_expect_stats(s->ex, &st);
	fprintf(stderr, "%sumpa: sr: %zu of %zu sent, %zu settled: %llu answered, %llu lost, %lu not sent%s",
		s->progress_tty ? "\r\033[K" : "", s->sink_at + s->unsent.total, s->nrec, s->settled,
		(unsigned long long)st.answered, (unsigned long long)st.lost, s->unsent.total,
		s->progress_tty ? "" : "\n");
	fflush(stderr);
	s->progress_shown = 1;
}

static void print_summary(struct sr *s, const struct umpa_cap_stats *cs)
{
	struct umpa_expect_stats st;
	double avg, span;
	unsigned long long dropped = cs ? (unsigned long long)cs->dropped : 0;

	umpa_expect_stats(s->ex, &st);
	avg = st.answered ? (double)st.rtt_sum_ns / (double)st.answered : 0;
	span = s->t_first && s->t_last > s->t_first ? (double)(s->t_last - s->t_first) / 1e9 : 0;
	if (s->json) {
		printf("{\"sent\":%llu,\"answered\":%llu,\"lost\":%llu,\"unmatched\":%llu,",
		       (unsigned long long)st.sent, (unsigned long long)st.answered, (unsigned long long)st.lost,
		       (unsigned long long)st.unmatched);
		printf("\"rtt_min_us\":%.3f,\"rtt_avg_us\":%.3f,\"rtt_max_us\":%.3f,", (double)st.rtt_min_ns / 1000.0,
		       avg / 1000.0, (double)st.rtt_max_ns / 1000.0);
		printf("\"tx\":%llu,\"mismatched\":%llu,\"capture_dropped\":%llu,\"answer_span_us\":%.3f,",
		       (unsigned long long)st.tx, (unsigned long long)st.mismatched, dropped, span * 1e6);
		printf("\"not_sent\":%lu", s->unsent.total);
		umpa_sbuf_reset(&s->out);
		sr_views(s->rec, s->nrec, 1, &s->out);
		fwrite(s->out.s, 1, s->out.len, stdout);
		printf("}\n");
	} else {
		umpa_sbuf_reset(&s->out);
		sr_views(s->rec, s->nrec, 0, &s->out);
		fwrite(s->out.s, 1, s->out.len, stdout);
		printf("Sent %llu, answered %llu, lost %llu (%.1f%%), unmatched %llu", (unsigned long long)st.sent,
		       (unsigned long long)st.answered, (unsigned long long)st.lost,
		       st.sent ? 100.0 * (double)st.lost / (double)st.sent : 0.0, (unsigned long long)st.unmatched);
		if (st.tx != st.sent)
			printf(", %llu transmissions", (unsigned long long)st.tx);
		if (dropped)
			printf(", %llu dropped by the capture", dropped);
		if (s->unsent.total)
			printf(", %lu not sent (no address)", s->unsent.total);
		if (st.answered)
			printf("\nRTT min/avg/max: %.3f/%.3f/%.3f ms; first request to last answer: %.6f s",
			       (double)st.rtt_min_ns / 1e6, avg / 1e6, (double)st.rtt_max_ns / 1e6, span);
		printf("\n");
	}
}

/* --timeout: per transmission, more than nothing */
static const struct umpa_num_spec sr_timeout = {"seconds", 1e-9, 1e8, 0};

int cmd_sr(int argc, char **argv)
{
	enum { O_TIMEOUT = 256, O_RETRY, O_RATE, O_JSON, O_L3, O_MAX, O_FILTER, O_ORDERED, O_PROGRESS, O_HELP };
	static const struct option lopts[] = {
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"retry", required_argument, NULL, O_RETRY},
	    {"rate", required_argument, NULL, O_RATE},
	    {"json", no_argument, NULL, O_JSON},
	    {"l3", no_argument, NULL, O_L3},
	    {"max", required_argument, NULL, O_MAX},
	    {"filter", required_argument, NULL, O_FILTER},
	    {"ordered", no_argument, NULL, O_ORDERED},
	    {"progress", no_argument, NULL, O_PROGRESS},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	struct sr s;
	const char *ifname = NULL, *bpf = NULL, *user = NULL, *script = NULL;
	struct umpa_timer *tick = NULL;
	double rate = 0;
	int64_t timeout_ns = 2000000000;
	unsigned long max = 1000000;
	unsigned retries = 0;
	struct umpa_lua *L = NULL;
	struct umpa_resolver *res = NULL;
	struct umpa_cap_opts co;
	struct umpa_cap_stats cs;
	struct umpa_fdsrc *fds = NULL;
	struct umpa_rate rt = {0};
	struct umpa_err e = {0};
	int c, rc = UMPA_EXIT_ERROR, have_cs = 0;
	size_t kept = 0; /* requests that could be addressed, moved to the front */
	unsigned id_base = ((unsigned)getpid() * 2654435761u) >> 16;

	memset(&s, 0, sizeof(s));
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:f:qvZ:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'f':
			script = optarg;
			break;
		case O_FILTER:
			bpf = optarg;
			break;
		case O_ORDERED:
			s.ordered = 1;
			break;
		case O_PROGRESS:
			s.progress = 1;
			break;
		case 'q':
			s.quiet = 1;
			break;
		case 'v':
			s.verbose = 1;
			break;
		case 'Z':
			user = optarg;
			break;
		case O_TIMEOUT:
			timeout_ns = tool_ns(&sr_timeout, "--timeout", optarg);
			break;
		case O_RETRY:
			retries =
			    (unsigned)tool_u64(UMPA_NUM_RANGE("retries", 0, 100, UMPA_NUM_INT), "--retry", optarg);
			break;
		case O_RATE:
			rate = tool_real(&umpa_num_pps, "--rate", optarg);
			break;
		case O_JSON:
			s.json = 1;
			break;
		case O_L3:
			s.l3 = 1;
			break;
		case O_MAX:
			max = (unsigned long)tool_u64(&tool_max, "--max", optarg);
			break;
		case 'h':
		case O_HELP:
			fputs(sr_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			fputs(sr_usage, stderr);
			return UMPA_EXIT_USAGE;
		}
	}
	if (optind >= argc && !script) {
		tool_err("sr: no packet expression (EXPR... or -f SCRIPT.lua)");
		fputs(sr_usage, stderr);
		return UMPA_EXIT_USAGE;
	}
	if (!ifname && !s.l3) {
		tool_err("sr: which interface? (-i IFACE, or --l3 to let the kernel route)");
		return UMPA_EXIT_USAGE;
	}

	/* the requests */
	if (!(L = umpa_lua_open(&e)))
		goto fail;
	if (tool_build_exprs(L, script, argv + optind, argc - optind, max, keep_pkt, &s, &e) < 0)
		goto fail;
	L = umpa_lua_close(L);
	if (s.n == 0) {
		tool_err("sr: the expressions build no packet");
		goto out;
	}
	s.nrec = s.n;
	if (!(s.rec = calloc(s.n, sizeof(*s.rec))) || !(s.no = calloc(s.n, sizeof(*s.no))) ||
	    (s.ordered &&
	     (!(s.slot_off = calloc(s.n, sizeof(*s.slot_off))) || !(s.slot_len = malloc(s.n * sizeof(*s.slot_len)))))) {
		umpa_err_set(&e, UMPA_ENOMEM, "out of memory");
		goto fail;
	}
	if (s.ordered)
		memset(s.slot_len, 0xff, s.n * sizeof(*s.slot_len)); /* UINT32_MAX: not settled */

	if (ifname) {
		static const uint8_t zero[6];
		struct umpa_iface ifc;
		if (umpa_iface_get(ifname, &ifc, &e) < 0)
			goto fail;
		memcpy(s.mac, ifc.mac, 6);
		/* loopback: every frame comes from the all-zero MAC, both ways */
		s.has_mac = ifc.has_mac && !(ifc.flags & UMPA_IF_LOOPBACK) && memcmp(ifc.mac, zero, 6) != 0;
	}

	/* capture first: it is armed before the first request leaves */
	umpa_cap_opts_init(&co);
	co.bufsize = 32 << 20;
	co.snaplen = 65535;
	/* both directions: a request heard leaving gives its kernel transmit time stamp (the RTT's start) */
	co.dir = UMPA_DIR_INOUT;
	if (ifname && !s.has_mac)
		co.dir = UMPA_DIR_IN; /* what leaves cannot be told from what arrives: RTTs on umpa's clock */
	/* not immediate: libpcap then uses TPACKET_V3, which packs answers densely into
	 * blocks (immediate mode's TPACKET_V2 gives each one a 64 KiB slot, 512 in 32 MiB,
	 * and a burst of answers overflows it).  Blocks are handed over every millisecond;
	 * RTTs come from the kernel's time stamps, so the delay does not show in them. */
	co.immediate = 0;
	co.timeout_ms = 1;
	/* --l3 without -i: the kernel picks the interfaces; answers are read on all of them */
	if (!(s.cap_h = umpa_cap_open(ifname ? ifname : "any", &co, &e)))
		goto fail;
	if (!(s.inj = umpa_inj_open(ifname, s.l3 ? 3 : 2, &e)))
		goto fail;
	if (!(s.loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e)))
		goto fail;
	if (!(s.ex = umpa_expect_new(s.loop, send_one, &s, &e)))
		goto fail;
	if (!(fds = umpa_loop_add_fd(s.loop, umpa_cap_fd(s.cap_h), UMPA_FD_READ, on_readable, &s, &e)))
		goto fail;
	if (umpa_loop_break_on_signal(s.loop, SIGINT, &e) < 0 || umpa_loop_break_on_signal(s.loop, SIGTERM, &e) < 0)
		goto fail;

	/* addresses the user left out: interface MAC and address, next hop's MAC */
	/* (--l3 without -i: nothing to resolve on a wire, the kernel does it) */
	if (!(res = umpa_resolver_new(ifname, ifname ? s.loop : NULL, ifname ? s.ex : NULL, &e)))
		goto fail;
	if (s.verbose)
		umpa_resolver_on_found(res, on_found, &s);
	umpa_resolver_set_layer3(res, s.l3);
	for (size_t i = 0; i < s.n; i++) {
		struct umpa_pkt *p = &s.pkts[i];
		if (s.l3) {
			int l3 = -1;
			for (unsigned li = 0; li < p->nlayers && l3 < 0; li++)
				if (p->l[li].proto == &umpa_proto_ip || p->l[li].proto == &umpa_proto_ipv6)
					l3 = (int)li;
			if (l3 < 0) {
				tool_err("sr: --l3: packet %zu has no IPv4 or IPv6 layer", i + 1);
				goto out;
			}
		}
		/* an IP or ARP packet on an Ethernet device gets its Ethernet header here, as Scapy's sr() does */
		if (!s.l3 && umpa_pkt_fit_link(p, umpa_cap_linktype(s.cap_h), &e) < 0) {
			tool_err("sr: packet %zu: %s", i + 1, e.msg);
			goto out;
		}
	}
	for (size_t i = 0, n = s.n; i < n; i++) {
		struct umpa_pkt *p = &s.pkts[i];
		/* the next hops nobody knows, a window at a time, are asked at once: silent hosts cost
		 * one timeout together (the window is smaller than the resolver's cache of answers) */
		if (i % SR_RESOLVE_WINDOW == 0 &&
		    umpa_resolve_prefetch(res, p, n - i < SR_RESOLVE_WINDOW ? n - i : SR_RESOLVE_WINDOW, &e) < 0)
			goto fail;
		if (umpa_resolve_dst(res, p, &e) < 0) {
			if (e.code != UMPA_ENOENT)
				goto fail;
			on_unsent(&s, p, i + 1, e.msg); /* this request cannot go; the others still do */
			umpa_err_clear(&e);
			umpa_pkt_release(p);
			continue;
		}
		if (number_ip_id(p, (uint16_t)(id_base + i), &e) < 0)
			goto fail;
		umpa_dissect(p); /* index the final bytes as a capture would */
		sr_rec_request(&s.rec[i], p);
		s.no[kept] = i;
		if (kept != i) {
			s.pkts[kept] = *p; /* moved: the slot at i is emptied */
			umpa_pkt_init(p);
		}
		kept++;
	}
	s.n = kept;
	res = umpa_resolver_free(res);
	tool_unsent_report(&s.unsent, "sr", "request");
	{
		struct umpa_expect_stats st0;
		umpa_expect_stats(s.ex, &st0);
		if (st0.sent) { /* resolution went on the wire: count only the user's exchanges */
			umpa_expect_free(s.ex);
			if (!(s.ex = umpa_expect_new(s.loop, send_one, &s, &e)))
				goto fail;
		}
	}
	if (bpf && umpa_cap_setfilter(s.cap_h, bpf, &e) < 0)
		goto fail;
	if (user && umpa_drop_privileges(user, &e) < 0)
		goto fail;
	/* what arrived during resolution is no answer to anything: read and drop it */
	if (umpa_cap_dispatch(s.cap_h, -1, ignore_pkt, NULL, &e) < 0)
		goto fail;

	if (s.verbose)
		umpa_expect_on_mismatch(s.ex, on_mismatch, &s);
	s.xo.timeout_ns = timeout_ns;
	s.xo.retries = retries;
	s.xo.on_reply = on_settled;
	s.xo.reply_arg = &s;
	s.xo.on_timeout = on_settled;
	s.xo.timeout_arg = &s;
	s.xo.sent_by_caller = 1;
	s.progress_tty = isatty(STDERR_FILENO);
	if ((s.progress || s.progress_tty) && !(tick = umpa_every(s.loop, UMPA_NS_PER_SEC, on_progress, &s, &e)))
		goto fail;
	rt.pps = rate;
	rt.batch = rate > 0 && rate < 1000 ? 1 : 0;
	if (s.n && !(s.src = umpa_loop_source(s.loop, next_frame, &s, rate > 0 ? &rt : NULL, send_frames, &s, &e)))
		goto fail;
	if (s.n && umpa_loop_run_until(s.loop, all_done, &s, UMPA_NEVER, &e) < 0)
		goto fail;
	drain(&s);
	umpa_timer_cancel(tick);
	tick = NULL;
	for (; s.ordered && s.next_print < s.nrec; s.next_print++) /* interrupted: what settled, in order */
		if (s.slot_len[s.next_print] != UINT32_MAX)
			fwrite(s.arena.s + s.slot_off[s.next_print], 1, s.slot_len[s.next_print], stdout);
	if (s.progress_shown && s.progress_tty)
		fputs("\r\033[K", stderr); /* the line goes; the summary says it all */
	have_cs = umpa_cap_stats(s.cap_h, &cs, NULL) == 0;
	if (umpa_loop_signalled(s.loop))
		fprintf(stderr, "umpa: sr: interrupted\n");
	print_summary(&s, have_cs ? &cs : NULL);
	rc = s.unsent.total ? UMPA_EXIT_ERROR : UMPA_EXIT_OK;
	goto out;
fail:
	tool_err("sr: %s", e.msg);
	rc = UMPA_EXIT_ERROR;
out:
	fflush(stdout);
	umpa_lua_close(L);
	umpa_resolver_free(res);
	umpa_timer_cancel(tick);
	umpa_loop_remove_fd(fds);
	umpa_source_close(s.src);
	umpa_expect_free(s.ex);
	umpa_loop_free(s.loop);
	umpa_inj_close(s.inj);
	umpa_cap_close(s.cap_h);
	for (size_t i = 0; i < s.n; i++)
		umpa_pkt_release(&s.pkts[i]);
	free(s.pkts);
	free(s.rec);
	free(s.no);
	free(s.slot_off);
	free(s.slot_len);
	umpa_sbuf_free(&s.arena);
	umpa_sbuf_free(&s.out);
	umpa_sbuf_free(&s.a);
	umpa_sbuf_free(&s.b);
	umpa_sbuf_free(&s.scratch[0]);
	umpa_sbuf_free(&s.scratch[1]);
	umpa_sbuf_free(&s.jscratch);
	return rc;
}
