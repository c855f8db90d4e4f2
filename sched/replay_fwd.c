/* replay_fwd.c - the forwarding check of `umpa replay -i A -i B` (see umpa_replay_fwd.h).
 *
 * Per flow, the packets in flight are a queue in send order (index of the
 * capture packet, round, send time); one timer per flow waits for the
 * oldest.  A packet that comes out of the device is looked for among the
 * first REPLAY_FWD_SCAN of them sent on the other interface, so a device
 * that keeps order finds its match at the head and a lost packet costs one
 * missing exchange, not a shift of every later one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_cursor.h"
#include "umpa_protos.h"
#include "umpa_replay_fwd.h"
#include "umpa_sched.h"

/** Packets in flight a received one is compared with, at most. */
#define REPLAY_FWD_SCAN 64

struct fwd_pend_ {
	uint32_t pi;   /* the capture packet sent (UMPA_REPLAY_NONE: settled) */
	uint32_t iter; /* its round */
	int64_t sent_ns;
};

struct fwdflow_ {
	struct umpa_replay_run *run;
	const struct umpa_replay_cap *cap;
	uint32_t fi;
	struct fwd_pend_ *q; /* in send order; [head, n) may hold settled ones */
	size_t head, n, capq, live;
	struct umpa_timer *tm;
};

static int fwd_claim_(const struct umpa_replay_cap *cap, uint32_t fi)
{
	(void)cap;
	(void)fi;
	return 1;
}

static void *fwd_open_(struct umpa_replay_run *run, uint32_t fi, struct umpa_err *e)
{
	struct fwdflow_ *f = calloc(1, sizeof(*f));

	if (!f) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	f->run = run;
	f->cap = umpa_replay_capture(run);
	f->fi = fi;
	return f;
}

static void fwd_result_(struct fwdflow_ *f, const struct fwd_pend_ *pd, struct umpa_replay_result *r)
{
	memset(r, 0, sizeof(*r));
	r->exch = f->cap->pkts[pd->pi].exch;
	r->iter = pd->iter;
	r->flow = f->fi;
	r->rec_rtt_ns = -1;
	r->live_rtt_ns = -1;
	r->verdict = UMPA_RV_MATCHED;
}

/* Drop the settled entries at the head (and reuse the queue when it empties). */
static void fwd_trim_(struct fwdflow_ *f)
{
	while (f->head < f->n && f->q[f->head].pi == UMPA_REPLAY_NONE)
		f->head++;
	if (f->head == f->n)
		f->head = f->n = 0;
}

static void fwd_tm_(struct umpa_loop *loop, void *arg);

/* Wait for the oldest packet in flight (no timer when none is). */
static void fwd_arm_(struct fwdflow_ *f)
{
	struct umpa_err e = {0};
	const struct umpa_replay_timing *t = umpa_replay_run_timing(f->run);

	umpa_timer_cancel(f->tm);
	f->tm = NULL;
	fwd_trim_(f);
	if (f->head < f->n &&
	    !(f->tm = umpa_at(umpa_replay_loop(f->run), f->q[f->head].sent_ns + t->timeout_ns, fwd_tm_, f, &e)))
		umpa_loop_fail(umpa_replay_loop(f->run), &e);
}

/* Every packet in flight for longer than the timeout is missing. */
static void fwd_tm_(struct umpa_loop *loop, void *arg)
{
	struct fwdflow_ *f = arg;
	const struct umpa_replay_timing *t = umpa_replay_run_timing(f->run);
	int64_t now = umpa_loop_now_ns(loop);

	f->tm = NULL;
	for (size_t k = f->head; k < f->n; k++) {
		struct fwd_pend_ *pd = &f->q[k];
		struct umpa_replay_result r;
		if (pd->pi == UMPA_REPLAY_NONE)
			continue;
		if (pd->sent_ns + t->timeout_ns > now)
			break;
		fwd_result_(f, pd, &r);
		r.verdict = UMPA_RV_MISSING;
		snprintf(r.note, sizeof(r.note), "not out of interface %u within %.3g s",
			 f->cap->pkts[pd->pi].ifidx ? 1u : 2u, (double)t->timeout_ns / 1e9);
		pd->pi = UMPA_REPLAY_NONE;
		f->live--;
		umpa_replay_report_exch(f->run, &r);
	}
	fwd_arm_(f);
}

static int fwd_due_(void *st, uint32_t pi, uint32_t iter, struct umpa_err *e)
{
	struct fwdflow_ *f = st;
	const struct umpa_replay_pkt *rp = &f->cap->pkts[pi];

	if (rp->unsendable) {
		struct umpa_replay_result r;
		struct fwd_pend_ pd = {.pi = pi, .iter = iter};
		fwd_result_(f, &pd, &r);
		r.verdict = UMPA_RV_UNSENT;
		snprintf(r.note, sizeof(r.note), "cannot be sent on this interface (link type or size)");
		return umpa_replay_report_exch(f->run, &r) < 0 ? umpa_err_set(e, UMPA_ENOMEM, "out of memory") : 0;
	}
	if (f->n == f->capq) {
		size_t nc = f->capq ? f->capq * 2 : 8;
		struct fwd_pend_ *nq = realloc(f->q, nc * sizeof(*nq));
		if (!nq)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		f->q = nq;
		f->capq = nc;
	}
	/* in flight before it leaves: a device on the virtual clock may answer at once */
	f->q[f->n].pi = pi;
	f->q[f->n].iter = iter;
	f->q[f->n].sent_ns = umpa_loop_now_ns(umpa_replay_loop(f->run));
	f->n++;
	f->live++;
	if (!f->tm)
		fwd_arm_(f);
	return 1; /* the run sends it, on its schedule and pace */
}

/* The bytes of @p p from its network layer on: 0, or -1 when it has none. */
static int net_bytes_(const struct umpa_pkt *p, const uint8_t **b, uint32_t *n, int *v6)
{
	struct umpa_cur c;

	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr != &umpa_proto_ip && pr != &umpa_proto_ipv6 && pr != &umpa_proto_arp)
			continue;
		umpa_cur_init(&c, p->data, p->len);
		*n = p->len - p->l[i].off;
		*v6 = pr == &umpa_proto_ipv6 ? 1 : pr == &umpa_proto_ip ? 0 : -1;
		return umpa_cur_ptr_at(&c, p->l[i].off, *n, b);
	}
	return -1;
}

/* Does @p live carry what @p rec carried, from the network layer on, hop count and IPv4 header checksum aside? */
static int same_packet_(const struct umpa_pkt *rec, const struct umpa_pkt *live)
{
	const uint8_t *a, *b;
	uint32_t na, nb;
	int va, vb;

	if (net_bytes_(rec, &a, &na, &va) < 0 || net_bytes_(live, &b, &nb, &vb) < 0 || na != nb || va != vb)
		return 0;
	for (uint32_t i = 0; i < na; i++) {
		if (va == 0 && (i == 8 || i == 10 || i == 11))
			continue; /* IPv4 TTL, header checksum */
		if (va == 1 && i == 7)
			continue; /* IPv6 hop limit */
		if (a[i] != b[i])
			return 0;
	}
	return 1;
}

static int fwd_input_(void *st, struct umpa_pkt *p, int ifidx)
{
	struct fwdflow_ *f = st;
	const struct umpa_replay_timing *t = umpa_replay_run_timing(f->run);
	struct umpa_replay_checker *ck = umpa_replay_run_checker(f->run);
	struct umpa_replay_result r;
	struct umpa_pkt rec;
	size_t pick = SIZE_MAX, oldest = SIZE_MAX, seen = 0;

	umpa_pkt_init(&rec);
	/* the same bytes first, then equal to the checker, then the oldest sent the other way */
	for (int pass = 0; pass < 2 && pick == SIZE_MAX; pass++) {
		seen = 0;
		for (size_t k = f->head; k < f->n && seen < REPLAY_FWD_SCAN; k++) {
			const struct fwd_pend_ *pd = &f->q[k];
			if (pd->pi == UMPA_REPLAY_NONE || f->cap->pkts[pd->pi].ifidx == ifidx)
				continue;
			seen++;
			if (oldest == SIZE_MAX)
				oldest = k;
			umpa_replay_cap_pkt(f->cap, pd->pi, &rec);
			if (pass == 0 ? same_packet_(&rec, p)
				      : (!t->learn && !umpa_replay_compare(ck, &rec, p, NULL, 0))) {
				pick = k;
				break;
			}
		}
	}
	if (pick == SIZE_MAX)
		pick = oldest;
	if (pick == SIZE_MAX) {
		/* nothing of this flow in flight towards here: a copy, or the device's own */
		memset(&r, 0, sizeof(r));
		r.exch = UMPA_REPLAY_NONE;
		r.flow = f->fi;
		r.rec_rtt_ns = r.live_rtt_ns = -1;
		r.answers = 1;
		r.verdict = UMPA_RV_UNEXPECTED;
		snprintf(r.note, sizeof(r.note), "out of interface %d with nothing of the flow in flight towards it",
			 ifidx + 1);
		umpa_replay_report_exch(f->run, &r);
		umpa_pkt_release(&rec);
		return 1;
	}
	fwd_result_(f, &f->q[pick], &r);
	r.answers = 1;
	r.live_rtt_ns = umpa_loop_now_ns(umpa_replay_loop(f->run)) - f->q[pick].sent_ns;
	umpa_replay_cap_pkt(f->cap, f->q[pick].pi, &rec);
	if (t->learn) {
		/* a --learn-noise round: the first keeps what came out, the later ones learn what differs */
		struct umpa_err e = {0};
		if (t->learn == 1 && umpa_replay_checker_keep(ck, r.exch, f->cap->nexch, p, &e) < 0)
			umpa_loop_fail(umpa_replay_loop(f->run), &e);
		else if (t->learn == 2)
			umpa_replay_checker_learn(ck, r.exch, p);
	} else {
		umpa_replay_compare(ck, &rec, p, &r, 0);
	}
	umpa_pkt_release(&rec);
	f->q[pick].pi = UMPA_REPLAY_NONE;
	f->live--;
	umpa_replay_report_exch(f->run, &r);
	if (pick == f->head)
		fwd_arm_(f); /* the oldest went: wait for the next one */
	return 1;
}

static int fwd_busy_(void *st)
{
	const struct fwdflow_ *f = st;
	return f->live > 0;
}

static void fwd_close_(void *st)
{
	struct fwdflow_ *f = st;

	if (!f)
		return;
	umpa_timer_cancel(f->tm);
	for (size_t k = f->head; k < f->n; k++) {
		struct umpa_replay_result r;
		if (f->q[k].pi == UMPA_REPLAY_NONE)
			continue;
		fwd_result_(f, &f->q[k], &r);
		r.verdict = UMPA_RV_MISSING;
		snprintf(r.note, sizeof(r.note), "the replay ended before it came out");
		umpa_replay_report_exch(f->run, &r);
	}
	free(f->q);
	free(f);
}

const struct umpa_replay_driver umpa_replay_driver_fwd = {
    .name = "fwd",
    .claim = fwd_claim_,
    .open = fwd_open_,
    .due = fwd_due_,
    .input = fwd_input_,
    .busy = fwd_busy_,
    .close = fwd_close_,
};
