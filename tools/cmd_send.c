/* cmd_send.c - `umpa send`: packet expressions onto an interface, paced or as fast as the kernel takes them.
 *
 * Packets are built once, before the first one leaves: the expressions
 * expand (lists, ranges) into a set whose bytes go into one arena, and the
 * sender walks the arena -c times, handing the kernel pointers into it (no
 * copy, no allocation per packet).  With --inc FIELD a field changes on
 * every copy instead: the set is kept as packets, and each frame is the
 * packet with the field patched and re-finished into the loop's frame
 * buffer (again no allocation per packet).
 *
 * Pacing is the scheduler's (sched/umpa_sched.h): a packet source on the
 * live clock with the requested rate and jitter; unpaced sends go in
 * batches through the injector's fast path (umpa_inj_send_batch: the
 * PACKET_TX_RING at layer 2).
 *
 * Fill-ins, for fields the user did not set, are the resolver's (sched/
 * umpa_resolve.h), the same policy as umpa sr's: at layer 2 ether src is
 * the interface's MAC, ip/ipv6 src the route's preferred source (else the
 * interface's address), ether dst the next hop's MAC (cache, the kernel's
 * neighbour table, then umpa's own ARP who-has / neighbour solicitation;
 * multicast and broadcast destinations map to their group MACs).  At layer
 * 3 (--l3) the kernel routes; ip/ipv6 src, when unset, is the route's
 * source.  A packet that cannot be addressed (no route, no answer) is not
 * sent and is reported on stderr (which packet, how many, why); the others
 * go, and the exit status is 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_live.h"
#include "umpa_lua.h"
#include "umpa_protos.h"
#include "umpa_resolve.h"
#include "umpa_sched.h"
#include "umpa_tool.h"

static const char send_usage[] =
    "usage: umpa send EXPR... -i IFACE [-c N] [--interval S | --rate PPS | --bps BPS | --fast]\n"
    "                 [--jitter F] [--seed N] [--l3] [--inc PROTO.FIELD[:STEP]] [--qdisc-bypass]\n"
    "                 [--stats] [-Z USER]\n"
    "       umpa send -f SCRIPT.lua -i IFACE ...   (the script returns what to send)\n"
    "\n"
    "Builds the packets of each EXPR (as 'umpa build' does: lists and range() expand)\n"
    "and sends them on IFACE, the whole set -c times.\n"
    "  -i IFACE        interface to send on (optional with --l3: the route decides)\n"
    "  -c N            send the set N times (default 1; 0: until interrupted)\n"
    "  --interval S    seconds between packets\n"
    "  --rate PPS      packets per second\n"
    "  --bps BPS       bits per second (frame bytes; with --rate, the slower limit wins)\n"
    "  --fast          no pacing, in batches through the kernel's TX ring (the default\n"
    "                  when no rate is given)\n"
    "  --jitter F      vary each gap by up to +-F of itself (0..1), mean rate kept\n"
    "  --seed N        seed of the jitter (default 1)\n"
    "  --l3            send from the IP header on through raw sockets: the kernel routes\n"
    "                  and resolves the link layer\n"
    "  --inc P.F[:S]   add S (default 1) to field P.F on every copy of a packet, e.g.\n"
    "                  --inc udp.sport or --inc ip.id:2 (checksums follow)\n"
    "  --qdisc-bypass  TX ring frames go straight to the driver (PACKET_QDISC_BYPASS,\n"
    "                  as trafgen does by default): a little faster, but sniffers on\n"
    "                  this host (tcpdump, umpa sniff) do not see them and tc (shaping,\n"
    "                  filters, the qdisc's queue) is skipped; layer 2 only\n"
    "  --stats         print the rate accuracy (always printed with a rate)\n"
    "  -Z USER         drop privileges to USER once the interface is open and the\n"
    "                  packets are built, before the first one is sent\n"
    "  -f SCRIPT       a Lua script whose return value is what to send\n"
    "  --max N         refuse sets of more than N packets (default 1000000)\n"
    "At layer 2, fields left unset are filled in as 'umpa sr' fills them: ether src\n"
    "(the interface's MAC), ip/ipv6 src (the route's source address), ether dst (the\n"
    "next hop's MAC: the kernel's neighbour table, else umpa's own ARP / neighbour\n"
    "solicitation).  A packet that cannot be addressed is not sent and is named on\n"
    "stderr with the reason; the rest of the set is sent.\n"
    "Ends with a summary: packets, bytes, elapsed time, achieved rate.\n"
    "Exit status: 0 ok, 1 the work failed (unknown interface, a packet with no route\n"
    "or no neighbour, send error), 2 usage.\n";

/* Packets addressed together (umpa_resolve_prefetch; the resolver's cache holds 256 answers). */
#define SEND_RESOLVE_WINDOW 128

/* Largest set kept as packets for --inc (each packet carries its layer index). */
#define SEND_INC_MAX 4096
/* Most checksum words one --inc field may feed (IPv4 header, UDP/TCP, an ICMP quotation...). */
#define SEND_CS_MAX 8

/*
 * One packet of an --inc set: a working copy that always holds the last
 * frame sent, and how to move it to the next value of the field.  Re-running
 * finish for every frame is correct but costs as much as the kernel's send;
 * when the only other bytes the field changes are Internet checksums (found
 * at start-up by finishing a copy at other values and comparing), the frame
 * is updated incrementally instead (RFC 1624: HC' = ~(~HC + ~m + m') over
 * the field's 16-bit words).  The incremental result is checked against a
 * full finish for a set of sample values before it is trusted, and a result
 * of 0x0000 or 0xffff (the two spellings of zero, whose choice is the
 * protocol's: UDP sends 0xffff) goes through finish.
 */
struct send_tpl {
	struct umpa_pkt p;
	uint64_t base;   /* the field's value as built */
	unsigned li;     /* its layer */
	uint32_t off;    /* first byte sent (the IP header with --l3) */
	uint32_t wb, we; /* the field's 16-bit words: bytes [wb, we) */
	unsigned ncs;
	uint32_t cs[SEND_CS_MAX]; /* offsets of the checksum words that follow the field */
	int incr;                 /* 1: update incrementally */
};

struct send_inc {
	const struct umpa_proto *proto;
	const struct umpa_field *field;
	uint64_t step;
	uint64_t mask;
};

struct send_ctx {
	/* options */
	const char *ifname;
	int l3;
	unsigned long rounds; /* 0: forever */
	struct send_inc inc;
	int have_inc;
	/* addresses: the resolver (sched/umpa_resolve.h), and the packets it could not address */
	struct umpa_resolver *res;
	struct tool_unsent unsent;
	/* the set: bytes in one arena */
	uint8_t *arena;
	size_t alen, acap;
	uint32_t (*idx)[2]; /* offset, length */
	size_t n, ncap;
	/* the set as packets, for --inc */
	struct send_tpl *tpl;
	size_t tcap; /* slots of tpl allocated (and initialised): grown as packets come */
	/* building: packets wait in a window to be addressed together */
	struct umpa_pkt *win;                      /* SEND_RESOLVE_WINDOW of them */
	unsigned long win_no[SEND_RESOLVE_WINDOW]; /* their numbers in the set */
	size_t nwin;
	unsigned long built; /* packets the expressions gave, sent or not */
	/* sending */
	uint64_t next, total;
	uint64_t round, pos; /* next = round * n + pos */
	struct umpa_inj *inj;
	int linktype;
	struct umpa_pkt *bp;   /* UMPA_BATCH_MAX packets attached to the frames of a batch */
	struct umpa_pkt **bpp; /* and pointers to them, for umpa_inj_send_batch */
};

/* ---- fill-ins ---- */

/*
 * Make @p p (packet @p no of the set) sendable as the options say: an IP or
 * ARP packet gets its Ethernet header at layer 2 (as in umpa sr), and a
 * packet that cannot go at the chosen layer is a fatal error.
 */
static int fit(struct send_ctx *s, struct umpa_pkt *p, unsigned long no, struct umpa_err *e)
{
	int li4, li6;

	if (!s->l3 && p->nlayers && p->l[0].proto != &umpa_proto_eth &&
	    umpa_pkt_fit_link(p, UMPA_LINKTYPE_ETHERNET, e) < 0) {
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", e->msg);
		return umpa_err_set(e, UMPA_EINVAL, "packet %lu: %s: put ether{}/ in front, or use --l3", no, why);
	}
	li4 = umpa_pkt_find(p, &umpa_proto_ip, 0);
	li6 = umpa_pkt_find(p, &umpa_proto_ipv6, 0);
	if (s->l3 && li4 < 0 && li6 < 0)
		return umpa_err_set(e, UMPA_EINVAL, "packet %lu has no ip or ipv6 layer to send at layer 3", no);
	if (!s->l3 && (p->nlayers == 0 || p->l[0].proto != &umpa_proto_eth))
		return umpa_err_set(e, UMPA_EINVAL,
				    "packet %lu starts with %s, not ether: put ether{}/ in front, or use --l3", no,
				    p->nlayers ? p->l[0].proto->name : "nothing");
	return 0;
}

/* The bytes of @p p that go to the injector: the frame, or from the IP header on (--l3). */
static void wire_bytes(const struct send_ctx *s, const struct umpa_pkt *p, const uint8_t **b, uint32_t *n)
{
	uint32_t off = 0;

	if (s->l3) {
		int li4 = umpa_pkt_find(p, &umpa_proto_ip, 0), li6 = umpa_pkt_find(p, &umpa_proto_ipv6, 0);
		int li = li4 < 0 || (li6 >= 0 && li6 < li4) ? li6 : li4;
		off = p->l[li].off;
	}
	*b = p->data + off;
	*n = p->len - off;
}

/* Room for @p need elements of @p elem bytes in the array at @p arrp (umpa_array_grow, with what for). */
static int grow(void *arrp, size_t *cap, size_t need, size_t elem, struct umpa_err *e)
{
	return umpa_array_grow(arrp, cap, need, elem, e) < 0 ? umpa_err_prefix(e, "keeping the packets to send: ") : 0;
}

/* Move @p t's frame to field value @p v: incrementally when verified, else by finish. */
static int inc_apply(const struct send_ctx *s, struct send_tpl *t, uint64_t v, struct umpa_err *e)
{
	uint8_t old[16];
	uint32_t n = t->we - t->wb, delta = 0;

	memcpy(old, t->p.data + t->wb, n);
	if (umpa_field_set_u64(&t->p, t->li, s->inc.field, v, e) < 0)
		return -e->code;
	if (!t->incr)
		return umpa_pkt_finish(&t->p, e);
	delta = umpa_csum_delta(0, old, t->p.data + t->wb, n);
	for (unsigned c = 0; c < t->ncs; c++) {
		uint8_t *q = t->p.data + t->cs[c];
		uint16_t hc = umpa_csum_adjust((uint16_t)(q[0] << 8 | q[1]), delta);
		if (hc == 0 || hc == 0xffff)
			return umpa_pkt_finish(&t->p, e); /* zero has two spellings: the protocol picks */
		q[0] = (uint8_t)(hc >> 8);
		q[1] = (uint8_t)hc;
	}
	return 0;
}

/* Find the checksum words @p t's field feeds and check the incremental update against finish. */
static int inc_prepare(const struct send_ctx *s, struct send_tpl *t, struct umpa_err *e)
{
	static const uint64_t samples[] = {
	    1,     2,     3,       7,          255,        256,      257,         4095,           32768,
	    65535, 65536, 0x12345, 0x7fffffff, 0xdeadbeef, 1u << 31, 0xffffffffu, 0x123456789ull, ~0ull};
	const struct umpa_field *f = s->inc.field;
	long bo = umpa_field_bitoff(&t->p, t->li, f); /* where the field is in this header (GRE's key moves) */
	uint32_t fb = t->p.l[t->li].off + (uint32_t)bo / 8u;
	uint32_t fe = t->p.l[t->li].off + ((uint32_t)bo + f->bits + 7u) / 8u;
	struct umpa_pkt q, w;
	int ok = 1;

	t->incr = 0;
	t->ncs = 0;
	if (bo < 0)
		return 0;
	t->wb = fb & ~1u;
	t->we = (fe + 1) & ~1u;
	if (t->we > t->p.len || t->we - t->wb > 16)
		return 0;
	umpa_pkt_init(&q);
	umpa_pkt_init(&w);
	/* which bytes besides the field change when the field does */
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]) && ok; k++) {
		uint64_t v = (t->base + samples[k]) & s->inc.mask;
		if (umpa_pkt_dup(&q, &t->p, e) < 0 || umpa_field_set_u64(&q, t->li, f, v, e) < 0 ||
		    umpa_pkt_finish(&q, e) < 0)
			goto fail;
		if (q.len != t->p.len) {
			ok = 0;
			break;
		}
		for (uint32_t i = 0; i < q.len && ok; i++) {
			uint32_t wo = i & ~1u;
			unsigned c;
			if ((i >= t->wb && i < t->we) || q.data[i] == t->p.data[i])
				continue;
			for (c = 0; c < t->ncs && t->cs[c] != wo; c++)
				;
			if (c == t->ncs) {
				if (t->ncs == SEND_CS_MAX || wo + 2 > q.len)
					ok = 0;
				else
					t->cs[t->ncs++] = wo;
			}
		}
	}
	/* the incremental update must give what finish gives, from the built value to each sample */
	t->incr = ok && t->ncs > 0;
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]) && t->incr; k++) {
		uint64_t v = (t->base + samples[k]) & s->inc.mask;
		struct send_tpl save = *t;
		if (umpa_pkt_dup(&q, &t->p, e) < 0 || umpa_field_set_u64(&q, t->li, f, v, e) < 0 ||
		    umpa_pkt_finish(&q, e) < 0 || umpa_pkt_dup(&w, &t->p, e) < 0)
			goto fail;
		save.p = w; /* a shallow copy pointing at w's bytes */
		if (inc_apply(s, &save, v, e) < 0)
			goto fail;
		w = save.p;
		if (memcmp(w.data, q.data, q.len) != 0)
			t->incr = 0;
	}
	umpa_pkt_release(&q);
	umpa_pkt_release(&w);
	return 0;
fail:
	umpa_pkt_release(&q);
	umpa_pkt_release(&w);
	return -e->code;
}

/* Keep addressed packet @p p in the set: its bytes in the arena, or (--inc) the packet itself. */
static int keep(struct send_ctx *s, struct umpa_pkt *p, struct umpa_err *e)
{
	const uint8_t *b;
	uint32_t n;

	wire_bytes(s, p, &b, &n);
	if (s->have_inc) {
		int li = umpa_pkt_find(p, s->inc.proto, 0);
		uint64_t v;
		if (li < 0)
			return umpa_err_set(e, UMPA_EINVAL, "--inc: packet %zu has no %s layer", s->n + 1,
					    s->inc.proto->name);
		if (s->n >= SEND_INC_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "--inc: more than %d packets in the set", SEND_INC_MAX);
		if (umpa_field_get_u64(p, (unsigned)li, s->inc.field, &v) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "--inc: packet %zu: %s.%s is cut short", s->n + 1,
					    s->inc.proto->name, s->inc.field->name);
		if (s->n >= s->tcap) {
			/* grown as needed: all SEND_INC_MAX slots at once would be ~7 MB
			 * to clear before the first packet */
			size_t old = s->tcap;
			if (grow(&s->tpl, &s->tcap, s->n + 1, sizeof(*s->tpl), e) < 0)
				return -e->code;
			for (size_t i = old; i < s->tcap; i++)
				umpa_pkt_init(&s->tpl[i].p);
		}
		if (umpa_pkt_dup(&s->tpl[s->n].p, p, e) < 0)
			return -e->code;
		s->tpl[s->n].base = v;
		s->tpl[s->n].li = (unsigned)li;
		s->tpl[s->n].off = (uint32_t)(b - p->data);
		if (inc_prepare(s, &s->tpl[s->n], e) < 0)
			return -e->code;
		if (n > UMPA_FRAME_CAP)
			return umpa_err_set(e, UMPA_ERANGE, "--inc: packet %zu is larger than %d bytes", s->n + 1,
					    UMPA_FRAME_CAP);
	} else {
		if (grow(&s->arena, &s->acap, s->alen + n, 1, e) < 0)
			return -e->code;
		memcpy(s->arena + s->alen, b, n);
	}
	if (grow(&s->idx, &s->ncap, s->n + 1, sizeof(*s->idx), e) < 0)
		return -e->code;
	s->idx[s->n][0] = (uint32_t)s->alen;
	s->idx[s->n][1] = n;
	if (!s->have_inc)
		s->alen += n;
	s->n++;
	return 0;
}

/*
 * Address the packets of the window through the resolver and keep those it
 * could address.  Their unknown next hops are asked for together first
 * (umpa_resolve_prefetch), so silent hosts cost one timeout, not one each; a
 * packet that cannot be addressed is counted with its reason and skipped.
 */
static int flush_window(struct send_ctx *s, struct umpa_err *e)
{
	size_t n = s->nwin;

	s->nwin = 0;
	if (n && umpa_resolve_prefetch(s->res, s->win, n, e) < 0)
		return -e->code;
	for (size_t i = 0; i < n; i++) {
		struct umpa_pkt *p = &s->win[i];
		if (umpa_resolve_dst(s->res, p, e) < 0 || umpa_pkt_finish(p, e) < 0) {
			if (e->code != UMPA_ENOENT)
				return -e->code;
			tool_unsent_note(&s->unsent, s->win_no[i], e->msg); /* this one cannot go; the others do */
			umpa_err_clear(e);
			continue;
		}
		if (keep(s, p, e) < 0)
			return -e->code;
	}
	return 0;
}

/* Each packet the expressions build: fitted at once, addressed a window at a time. */
static int on_packet(void *arg, struct umpa_pkt *built, struct umpa_err *e)
{
	struct send_ctx *s = arg;
	struct umpa_pkt *p = &s->win[s->nwin];

	s->built++;
	if (umpa_pkt_dup(p, built, e) < 0 || fit(s, p, s->built, e) < 0)
		return -e->code;
	s->win_no[s->nwin++] = s->built;
	return s->nwin == SEND_RESOLVE_WINDOW ? flush_window(s, e) : 0;
}

/* ---- source and sink ---- */

static int send_src(void *arg, struct umpa_frame *f, struct umpa_err *e)
{
	struct send_ctx *s = arg;
	uint64_t k, i;

	if (s->total && s->next >= s->total)
		return 0;
	k = s->round; /* next / n and next % n, kept without a division per packet */
	i = s->pos;
	s->next++;
	if (++s->pos == s->n) {
		s->pos = 0;
		s->round++;
	}
	if (!s->have_inc) {
		f->data = s->arena + s->idx[i][0];
		f->len = s->idx[i][1];
		return 1;
	}
	{
		struct send_tpl *t = &s->tpl[i];
		uint32_t n = t->p.len - t->off;
		if (inc_apply(s, t, (t->base + k * s->inc.step) & s->inc.mask, e) < 0)
			return -e->code;
		memcpy(f->buf, t->p.data + t->off, n);
		f->len = n;
	}
	return 1;
}

static int send_sink(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e)
{
	struct send_ctx *s = arg;
	int r;

	/* The batch packets were attached once (read-only, no layers, the link
	 * type set): only the borrowed bytes change here.  umpa_pkt_attach per
	 * frame would clear its 32 layer slots (~1.6 KB) every time. */
	for (unsigned i = 0; i < n; i++) {
		struct umpa_pkt *p = &s->bp[i];
		p->data = (uint8_t *)(uintptr_t)f[i].data; /* never written: ro is set */
		p->len = p->cap = p->wirelen = f[i].len;
		if (s->l3)
			umpa_dissect_outer(p); /* the injector sends from the layer flagged as the network header */
	}
	if (n == 1)
		return umpa_inj_send(s->inj, &s->bp[0], e) < 0 ? -e->code : 1;
	r = umpa_inj_send_batch(s->inj, s->bpp, n, e);
	if (r < 0)
		return r;
	if ((unsigned)r < n)
		return e->code ? -e->code
			       : umpa_err_set(e, UMPA_EIO, "%s: the kernel took %d of %u frames", s->ifname, r, n);
	return r;
}

/* ---- options ---- */

/* --interval: its inverse is the rate, so the same range turned over (0: unpaced) */
static const struct umpa_num_spec send_interval = {"seconds", 1e-9, 1e8, UMPA_NUM_OFF};

static int parse_inc(const char *spec, struct send_inc *inc)
{
	char name[64];
	const char *dot = strchr(spec, '.'), *colon = strchr(spec, ':');
	size_t pl;

	if (!dot || dot == spec || (colon && colon < dot) || (size_t)(dot - spec) >= sizeof(name))
		goto bad;
	pl = (size_t)(dot - spec);
	memcpy(name, spec, pl);
	name[pl] = 0;
	inc->proto = umpa_proto_find(name);
	if (!inc->proto) {
		tool_err("send: --inc: unknown protocol '%s'", name);
		return -1;
	}
	pl = colon ? (size_t)(colon - dot - 1) : strlen(dot + 1);
	if (pl == 0 || pl >= sizeof(name))
		goto bad;
	memcpy(name, dot + 1, pl);
	name[pl] = 0;
	inc->field = umpa_proto_field(inc->proto, name);
	if (!inc->field) {
		tool_err("send: --inc: %s has no field '%s'", inc->proto->name, name);
		return -1;
	}
	if (inc->field->type == UMPA_FT_MAC || inc->field->type == UMPA_FT_IPV4 || inc->field->type == UMPA_FT_IPV6 ||
	    inc->field->type == UMPA_FT_BYTES || inc->field->type == UMPA_FT_VAR || inc->field->bits > 64 ||
	    inc->field->bits == 0) {
		tool_err("send: --inc: %s.%s is not an integer field", inc->proto->name, name);
		return -1;
	}
	inc->mask = inc->field->bits == 64 ? ~0ull : (1ull << inc->field->bits) - 1;
	inc->step = 1;
	if (colon)
		inc->step = tool_u64(&umpa_num_seed, "--inc", colon + 1);
	return 0;
bad:
	tool_err("send: --inc: '%s' is not PROTO.FIELD[:STEP] (e.g. udp.sport or ip.id:2)", spec);
	return -1;
}

/*
 * The summary: what went out over the wall time of the run (from the first
 * packet's build to the last batch's return), then with @p rate_report the
 * scheduler's accuracy figures (first to last send).
 */
static void print_summary(const struct send_ctx *s, const struct umpa_rate_stats *st, int64_t wall_ns, int rate_report,
			  int sig)
{
	double secs = (double)wall_ns / 1e9;

	printf("sent %llu packet%s, %llu bytes in %.6f s on %s (%s): %.0f pps%s\n", (unsigned long long)st->packets,
	       st->packets == 1 ? "" : "s", (unsigned long long)st->bytes, secs,
	       s->ifname ? s->ifname : "the routed interface", umpa_inj_backend(s->inj),
	       secs > 0 ? (double)st->packets / secs : 0.0, sig ? ", interrupted" : "");
	if (!rate_report)
		return;
	tool_rate_report(st);
	if (s->have_inc) {
		size_t incr = 0;
		for (size_t i = 0; i < s->n; i++)
			incr += s->tpl[i].incr != 0;
		printf("inc: %s.%s +%llu per copy; %zu of %zu packets updated incrementally (RFC 1624, checked against "
		       "finish), the rest re-finished\n",
		       s->inc.proto->name, s->inc.field->name, (unsigned long long)s->inc.step, incr, s->n);
	}
}

int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interval", required_argument, NULL, 'I'},
	    {"rate", required_argument, NULL, 'r'},
	    {"bps", required_argument, NULL, 'b'},
	    {"fast", no_argument, NULL, 'F'},
	    {"jitter", required_argument, NULL, 'j'},
	    {"seed", required_argument, NULL, 's'},
	    {"l3", no_argument, NULL, '3'},
	    {"inc", required_argument, NULL, 'n'},
	    {"stats", no_argument, NULL, 'S'},
	    {"max", required_argument, NULL, 'M'},
	    {"qdisc-bypass", no_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct send_ctx s = {.rounds = 1};
	struct umpa_rate rate = {.seed = 1};
	const char *user = NULL, *script = NULL;
	unsigned long max = 1000000;
	int c, r, fast = 0, stats = 0, rc = UMPA_EXIT_ERROR, paced_opts = 0, bypass = 0;
	int64_t t0, wall;
	struct umpa_err e = {0}, e2 = {0};
	struct umpa_lua *L = NULL;
	struct umpa_loop *loop = NULL;
	struct umpa_source *src = NULL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:c:f:Z:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			s.ifname = optarg;
			break;
		case 'c':
			s.rounds = (unsigned long)tool_u64(&umpa_num_count, "-c", optarg);
			break;
		case 'f':
			script = optarg;
			break;
		case 'Z':
			user = optarg;
			break;
		case 'I': {
			double iv = tool_real(&send_interval, "--interval", optarg);
			rate.pps = iv > 0 ? 1.0 / iv : 0;
			if (rate.pps > umpa_num_pps.max) /* 1 / 1e-9 may round up past it */
				rate.pps = umpa_num_pps.max;
			paced_opts++;
			break;
		}
		case 'r':
			rate.pps = tool_real(&umpa_num_pps, "--rate", optarg);
			paced_opts++;
			break;
		case 'b':
			rate.bps = tool_real(&umpa_num_bps, "--bps", optarg);
			break;
		case 'F':
			fast = 1;
			break;
		case 'j':
			rate.jitter = tool_real(&umpa_num_fraction, "--jitter", optarg);
			break;
		case 's':
			rate.seed = tool_u64(&umpa_num_seed, "--seed", optarg);
			break;
		case '3':
			s.l3 = 1;
			break;
		case 'n':
			if (parse_inc(optarg, &s.inc) < 0)
				return UMPA_EXIT_USAGE;
			s.have_inc = 1;
			break;
		case 'S':
			stats = 1;
			break;
		case 'M':
			max = (unsigned long)tool_u64(&tool_max, "--max", optarg);
			break;
		case 'Q':
			bypass = 1;
			break;
		case 'h':
			fputs(send_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("send: unknown or incomplete option '%s' (try 'umpa send --help')", argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (paced_opts > 1) {
		tool_err("send: give one of --interval and --rate");
		return UMPA_EXIT_USAGE;
	}
	if (fast && (rate.pps > 0 || rate.bps > 0)) {
		tool_err("send: --fast means no pacing: drop --rate, --interval or --bps");
		return UMPA_EXIT_USAGE;
	}
	if (bypass && s.l3) {
		tool_err("send: --qdisc-bypass is for frames (layer 2): drop --l3 or --qdisc-bypass");
		return UMPA_EXIT_USAGE;
	}
	if (!s.ifname && !s.l3) {
		tool_err("send: on which interface? give -i IFACE (try 'umpa send --help')");
		return UMPA_EXIT_USAGE;
	}
	if (optind == argc && !script) {
		tool_err("send: nothing to send: give EXPR or -f SCRIPT");
		return UMPA_EXIT_USAGE;
	}

	/* the interface (the resolver checks it) and the injector first */
	if (!(s.res = umpa_resolver_new(s.ifname, NULL, NULL, &e)))
		goto fail;
	umpa_resolver_set_layer3(s.res, s.l3);
	s.inj = umpa_inj_open(s.ifname, s.l3 ? 3 : 2, &e);
	if (!s.inj)
		goto fail;
	if (!s.l3 && umpa_inj_send_batch(s.inj, NULL, 0, &e) < 0) /* sets the TX ring up while we may */
		goto fail;
	if (bypass && umpa_inj_qdisc_bypass(s.inj, 1, &e) < 0)
		goto fail;
	/* build the set (resolving next hops may need to ARP: privileges go after) */
	s.win = calloc(SEND_RESOLVE_WINDOW, sizeof(*s.win));
	if (!s.win) {
		umpa_err_set(&e, UMPA_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < SEND_RESOLVE_WINDOW; i++)
		umpa_pkt_init(&s.win[i]);
	L = umpa_lua_open(&e);
	if (!L)
		goto fail;
	if (tool_build_exprs(L, script, argv + optind, argc - optind, max, on_packet, &s, &e) < 0 ||
	    flush_window(&s, &e) < 0)
		goto fail;
	L = umpa_lua_close(L);
	s.res = umpa_resolver_free(s.res); /* with its own capture and injector, if it opened them */
	tool_unsent_report(&s.unsent, "send", "packet");
	if (user && umpa_drop_privileges(user, &e) < 0)
		goto fail;
	if (s.n == 0 && s.unsent.total) {
		rc = UMPA_EXIT_ERROR; /* every packet was refused, and each reason is told */
		goto out;
	}
	if (s.n == 0) {
		umpa_err_set(&e, UMPA_EINVAL, "the expressions produced no packets");
		goto fail;
	}

	/* send */
	if (s.rounds > UINT64_MAX / s.n) {
		umpa_err_set(&e, UMPA_ERANGE, "-c %lu times %zu packets is more than 2^64", s.rounds, s.n);
		goto fail;
	}
	s.total = s.rounds ? (uint64_t)s.n * s.rounds : 0;
	s.linktype = s.l3 ? UMPA_LINKTYPE_RAW : UMPA_LINKTYPE_ETHERNET;
	s.bp = calloc(UMPA_BATCH_MAX, sizeof(*s.bp));
	s.bpp = calloc(UMPA_BATCH_MAX, sizeof(*s.bpp));
	if (!s.bp || !s.bpp) {
		umpa_err_set(&e, UMPA_ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < UMPA_BATCH_MAX; i++) {
		umpa_pkt_init(&s.bp[i]);
		umpa_pkt_attach(&s.bp[i], NULL, 0, 0, s.linktype); /* send_sink points it at each frame */
		s.bpp[i] = &s.bp[i];
	}
	loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e);
	if (!loop || umpa_loop_break_on_signal(loop, SIGINT, &e) < 0 ||
	    umpa_loop_break_on_signal(loop, SIGTERM, &e) < 0)
		goto fail;
	src = umpa_loop_source(loop, send_src, &s, &rate, send_sink, &s, &e);
	if (!src)
		goto fail;
	t0 = umpa_loop_now_ns(loop);
	r = umpa_loop_run(loop, &e);
	/* the TX ring's last frames leave (and are counted) before the clock stops */
	if (umpa_inj_flush(s.inj, r < 0 ? &e2 : &e) < 0 && r >= 0)
		r = -e.code;
	wall = umpa_loop_now_ns(loop) - t0;
	if (r < 0) {
		struct umpa_rate_stats st;
		umpa_source_stats(src, &st);
		tool_err("send: %s (after %llu packet%s)", e.msg, (unsigned long long)st.packets, tool_s(st.packets));
		rc = UMPA_EXIT_ERROR;
	} else {
		struct umpa_rate_stats st;
		umpa_source_stats(src, &st);
		print_summary(&s, &st, wall, stats || rate.pps > 0 || rate.bps > 0, umpa_loop_signalled(loop));
		if (s.unsent.total)
			printf(
			    "not sent: %lu of the %lu packet%s of the set (no address for them: reasons on stderr)\n",
			    s.unsent.total, s.built, tool_s(s.built));
		rc = s.unsent.total ? UMPA_EXIT_ERROR : UMPA_EXIT_OK;
	}
	goto out;
fail:
	tool_err("send: %s", e.msg);
	rc = UMPA_EXIT_ERROR;
out:
	umpa_loop_free(loop);
	umpa_lua_close(L);
	umpa_resolver_free(s.res);
	umpa_inj_close(s.inj);
	for (size_t i = 0; s.win && i < SEND_RESOLVE_WINDOW; i++)
		umpa_pkt_release(&s.win[i]);
	free(s.win);
	free(s.bp); /* attached (borrowed) bytes only: nothing to release */
	free(s.bpp);
	if (s.tpl) {
		for (size_t i = 0; i < s.tcap; i++)
			umpa_pkt_release(&s.tpl[i].p);
	}
	free(s.tpl);
	free(s.arena);
	free(s.idx);
	return rc;
}
