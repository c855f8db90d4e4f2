/* replay_tcp_drv.c - the TCP driver of `umpa replay`: sched/umpa_replay.h's flow driver over the engine of replay_tcp.c.
 *
 * See umpa_replay_tcp.h (umpa_replay_driver_tcp) for what it does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_replay.h"
#include "umpa_replay_tcp.h"
#include "umpa_sched.h"

/* ------------------------------------------------------------------ */
/* The TCP driver of umpa replay (sched/umpa_replay.h)                 */
/* ------------------------------------------------------------------ */

/** Most answers per flow whose headers are compared (SYN+ACK, FIN, RST and a spare). */
#define DRV_HDR_MAX 4

/* One claimed flow: an engine with that one flow in it. */
struct tcpdrv_ {
	struct umpa_replay_run *run;
	const struct umpa_replay_cap *cap;
	uint32_t fi;
	struct umpa_rtcp *rt;
	uint32_t *pk; /* the flow's packet indices, in file order */
	size_t npk;
	unsigned ifidx;
	int started;
	/* header differences of SYN+ACK / RST answers, allocated only when there are some */
	struct drv_hdr_ {
		size_t chk;
		struct umpa_replay_result r;
	} *hdr;
	size_t nhdr;
	/* close(): results being assembled */
	struct umpa_replay_result *res;
	uint32_t *res_exch;
	size_t nres;
	struct umpa_rtcp_flow info;
};

static int drv_claim_(const struct umpa_replay_cap *cap, uint32_t fi)
{
	return cap->flows[fi].kind == UMPA_FLOW_TCP;
}

static int drv_send_(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct tcpdrv_ *d = arg;
	return umpa_replay_transmit(d->run, d->ifidx, p, e);
}

/* The packet index of file frame @p frame in the flow (UMPA_REPLAY_NONE when not). */
static uint32_t drv_pkt_(const struct tcpdrv_ *d, uint64_t frame)
{
	for (size_t i = 0; i < d->npk; i++)
		if (d->cap->pkts[d->pk[i]].frame == frame)
			return d->pk[i];
	return UMPA_REPLAY_NONE;
}

static void drv_compare_(void *arg, size_t flow, size_t chk, uint64_t rec_frame, const struct umpa_pkt *live)
{
	struct tcpdrv_ *d = arg;
	uint32_t pi = drv_pkt_(d, rec_frame);
	struct umpa_replay_result r;
	struct umpa_pkt rec;

	(void)flow;
	if (pi == UMPA_REPLAY_NONE || d->nhdr == DRV_HDR_MAX)
		return;
	umpa_pkt_init(&rec);
	umpa_replay_cap_pkt(d->cap, pi, &rec);
	memset(&r, 0, sizeof(r));
	if (umpa_replay_compare(umpa_replay_run_checker(d->run), &rec, live, &r, 0) &&
	    (d->hdr || (d->hdr = calloc(DRV_HDR_MAX, sizeof(*d->hdr))))) {
		d->hdr[d->nhdr].chk = chk;
		d->hdr[d->nhdr].r = r;
		d->nhdr++;
	}
	umpa_pkt_release(&rec);
}

static void *drv_open_(struct umpa_replay_run *run, uint32_t fi, struct umpa_err *e)
{
	const struct umpa_replay_cap *cap = umpa_replay_capture(run);
	const struct umpa_replay_flow *fl = &cap->flows[fi];
	struct tcpdrv_ *d = calloc(1, sizeof(*d));
	struct umpa_rtcp_opts o = {0};
	struct umpa_pkt p;

	if (!d || !(d->pk = calloc(fl->npkts ? fl->npkts : 1, sizeof(*d->pk)))) {
		free(d);
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	d->run = run;
	d->cap = cap;
	d->fi = fi;
	o.compare = drv_compare_;
	o.compare_arg = d;
	if (!(d->rt = umpa_rtcp_new(umpa_replay_loop(run), &o, drv_send_, d, e)))
		goto fail;
	umpa_pkt_init(&p);
	for (uint32_t i = fl->first; i <= fl->last && i < cap->npkts && d->npk < fl->npkts; i++) {
		const struct umpa_replay_pkt *rp = &cap->pkts[i];
		int send = rp->role == UMPA_ROLE_SEND;
		if (rp->flow != fi)
			continue;
		if (send && !d->npk)
			d->ifidx = rp->ifidx;
		d->pk[d->npk++] = i;
		if (send && rp->unsendable)
			continue;
		umpa_replay_cap_pkt(cap, i, &p);
		if (umpa_rtcp_add(d->rt, &p, rp->frame, send, e) < 0) {
			umpa_pkt_release(&p);
			goto fail;
		}
	}
	umpa_pkt_release(&p);
	return d;
fail:
	umpa_rtcp_free(d->rt);
	free(d->pk);
	free(d);
	return NULL;
}

static int drv_due_(void *st, uint32_t pi, struct umpa_err *e)
{
	struct tcpdrv_ *d = st;

	(void)pi;
	if (d->started)
		return 0; /* the engine sends when the peer allows, not by the schedule */
	d->started = 1;
	return umpa_rtcp_start(d->rt, e);
}

static int drv_input_(void *st, struct umpa_pkt *p, int ifidx)
{
	struct tcpdrv_ *d = st;
	struct umpa_err e = {0};
	int rc;

	(void)ifidx;
	if (!d->started)
		return 0;
	rc = umpa_rtcp_input(d->rt, p, &e);
	if (rc < 0)
		umpa_loop_fail(umpa_replay_loop(d->run), &e);
	return rc > 0;
}

static int drv_busy_(void *st)
{
	struct tcpdrv_ *d = st;
	return d->started && !umpa_rtcp_done(d->rt);
}

/* Worse of two verdicts for one exchange answered by several checks. */
static int drv_rank_(int v)
{
	switch (v) {
	case UMPA_RV_MATCHED:
		return 0;
	case UMPA_RV_UNEXPECTED:
		return 1;
	case UMPA_RV_DIFFERING:
		return 2;
	case UMPA_RV_MISSING:
		return 3;
	default:
		return 4;
	}
}

static void drv_add_diff_(struct umpa_replay_result *r, const char *field, const char *rec, const char *live)
{
	if (r->ndiffs == UMPA_REPLAY_MAX_DIFFS) {
		r->more_diffs++;
		return;
	}
	snprintf(r->diffs[r->ndiffs].field, sizeof(r->diffs[0].field), "%s", field);
	snprintf(r->diffs[r->ndiffs].recorded, sizeof(r->diffs[0].recorded), "%s", rec);
	snprintf(r->diffs[r->ndiffs].live, sizeof(r->diffs[0].live), "%s", live);
	r->ndiffs++;
}

static void drv_check_(void *arg, const struct umpa_rtcp_check *c)
{
	struct tcpdrv_ *d = arg;
	struct umpa_replay_result *r = NULL;
	uint32_t pi = c->req_frame ? drv_pkt_(d, c->req_frame) : UMPA_REPLAY_NONE;
	uint32_t ex = pi != UMPA_REPLAY_NONE ? d->cap->pkts[pi].exch : UMPA_REPLAY_NONE;
	int v;

	switch (c->verdict) {
	case UMPA_RTCP_MATCH:
		v = UMPA_RV_MATCHED;
		break;
	case UMPA_RTCP_DIFFER:
		v = UMPA_RV_DIFFERING;
		break;
	case UMPA_RTCP_UNEXPECTED:
		v = UMPA_RV_UNEXPECTED;
		break;
	default:
		v = d->info.gave_up ? UMPA_RV_GAVEUP : UMPA_RV_MISSING;
		break;
	}
	if (c->verdict != UMPA_RTCP_UNEXPECTED && ex != UMPA_REPLAY_NONE)
		for (size_t k = 0; k < d->nres; k++)
			if (d->res_exch[k] == ex) {
				r = &d->res[k];
				break;
			}
	if (!r) {
		r = &d->res[d->nres];
		d->res_exch[d->nres++] = c->verdict == UMPA_RTCP_UNEXPECTED ? UMPA_REPLAY_NONE : ex;
		memset(r, 0, sizeof(*r));
		r->exch = c->verdict == UMPA_RTCP_UNEXPECTED ? UMPA_REPLAY_NONE : ex;
		r->flow = d->fi;
		r->verdict = (uint8_t)v;
		r->rec_rtt_ns = c->rec_rtt_ns;
		r->live_rtt_ns = c->live_rtt_ns;
	} else if (drv_rank_(v) > drv_rank_(r->verdict)) {
		r->verdict = (uint8_t)v;
	}
	if (c->verdict != UMPA_RTCP_MISSING && c->verdict != UMPA_RTCP_UNEXPECTED)
		r->answers++;
	if (c->verdict == UMPA_RTCP_DIFFER)
		drv_add_diff_(r, c->field, c->rec_val, c->live_val);
	if ((c->verdict == UMPA_RTCP_MISSING || c->verdict == UMPA_RTCP_UNEXPECTED) && !r->note[0])
		snprintf(r->note, sizeof(r->note), "%s", c->verdict == UMPA_RTCP_MISSING ? c->diff : c->live);
	for (size_t k = 0; k < d->nhdr; k++)
		if (d->hdr[k].chk == c->index)
			for (unsigned j = 0; j < d->hdr[k].r.ndiffs; j++) {
				const struct umpa_replay_diff *x = &d->hdr[k].r.diffs[j];
				if (!strcmp(x->field, "tcp.flags") && c->verdict == UMPA_RTCP_DIFFER)
					continue; /* said already */
				drv_add_diff_(r, x->field, x->recorded, x->live);
				if (r->verdict == UMPA_RV_MATCHED)
					r->verdict = UMPA_RV_DIFFERING;
			}
}

static void drv_close_(void *st)
{
	struct tcpdrv_ *d = st;
	size_t n;

	if (!d)
		return;
	umpa_rtcp_finish(d->rt, d->started ? "the replay ended before the answer" : "the flow was never started");
	umpa_rtcp_flow_info(d->rt, 0, &d->info);
	n = umpa_rtcp_results(d->rt, NULL, NULL) + d->npk;
	d->res = calloc(n ? n : 1, sizeof(*d->res));
	d->res_exch = calloc(n ? n : 1, sizeof(*d->res_exch));
	if (d->res && d->res_exch) {
		umpa_rtcp_results(d->rt, drv_check_, d);
		/* requests nothing answered when recorded (pure ACKs): sent, or cut off when the flow gave up */
		for (size_t i = 0; i < d->npk; i++) {
			const struct umpa_replay_pkt *rp = &d->cap->pkts[d->pk[i]];
			int have = 0;
			if (rp->role != UMPA_ROLE_SEND || rp->exch == UMPA_REPLAY_NONE)
				continue;
			for (size_t k = 0; k < d->nres && !have; k++)
				have = d->res_exch[k] == rp->exch;
			if (have)
				continue;
			memset(&d->res[d->nres], 0, sizeof(d->res[0]));
			d->res[d->nres].exch = rp->exch;
			d->res[d->nres].flow = d->fi;
			d->res[d->nres].rec_rtt_ns = -1;
			d->res[d->nres].live_rtt_ns = -1;
			if (rp->unsendable) {
				d->res[d->nres].verdict = UMPA_RV_UNSENT;
			} else if (umpa_rtcp_was_sent(d->rt, rp->frame)) {
				d->res[d->nres].verdict = UMPA_RV_SENT;
			} else {
				d->res[d->nres].verdict = UMPA_RV_GAVEUP;
				snprintf(d->res[d->nres].note, sizeof(d->res[0].note), "%s",
					 d->info.gave_up ? d->info.gave_up : "not sent");
			}
			d->res_exch[d->nres++] = rp->exch;
		}
		for (size_t k = 0; k < d->nres; k++)
			umpa_replay_report_exch(d->run, &d->res[k]);
	}
	free(d->res);
	free(d->res_exch);
	free(d->hdr);
	umpa_rtcp_free(d->rt);
	free(d->pk);
	free(d);
}

const struct umpa_replay_driver umpa_replay_driver_tcp = {
    .name = "tcp",
    .claim = drv_claim_,
    .open = drv_open_,
    .due = drv_due_,
    .input = drv_input_,
    .busy = drv_busy_,
    .close = drv_close_,
};
