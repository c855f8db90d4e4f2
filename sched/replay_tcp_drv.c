/* replay_tcp_drv.c - the TCP driver of `umpa replay`: sched/umpa_replay.h's flow driver over the engine of
 * replay_tcp.c.
 *
 * See umpa_replay_tcp.h (umpa_replay_driver_tcp) for what it does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_protos.h"
#include "umpa_replay.h"
#include "umpa_replay_tcp.h"
#include "umpa_sched.h"

/* ------------------------------------------------------------------ */
/* The TCP driver of umpa replay (sched/umpa_replay.h)                 */
/* ------------------------------------------------------------------ */

/** Most answers per flow whose headers are compared (SYN+ACK, FIN, RST and a spare). */
#define DRV_HDR_MAX 4

struct tcpdrv_;

/* One connection of a claimed flow: the flow played once (round iter of --loop), an engine with that one flow. */
struct tcpconn_ {
	struct tcpdrv_ *d;
	struct umpa_rtcp *rt;
	uint32_t iter;
	int aliased;       /* its live 4-tuple told to the run (a renewed connection) */
	uint16_t rec_port; /* our recorded port, and the one it uses live */
	uint16_t live_port;
	int peer_seen;      /* the peer's packets reached it (a flow the peer opens: its SYN did) */
	uint16_t peer_port; /* the port the peer opened it from, learned from its SYN (0: as recorded) */
	/* header differences of SYN+ACK / RST answers, allocated only when there are some */
	struct drv_hdr_ {
		size_t chk;
		struct umpa_replay_result r;
	} * hdr;
	size_t nhdr;
	struct umpa_rtcp_flow info;
	struct tcpconn_ *next;
};

/* One claimed flow: its connections, one per round of --loop, started when its first packet is due. */
struct tcpdrv_ {
	struct umpa_replay_run *run;
	const struct umpa_replay_cap *cap;
	uint32_t fi;
	uint32_t *pk; /* the flow's packet indices, in file order */
	size_t npk;
	unsigned ifidx;
	int opener;        /* we open the flow (our first packet is its client's): later connections renew it */
	int peer_opens;    /* the peer opens it (its first packet is the client's): it chooses its port each time */
	uint16_t rec_port; /* our recorded port */
	uint16_t peer_rec_port;         /* the peer's recorded port (a flow the peer opens) */
	uint32_t next_iter;             /* rounds started so far */
	struct tcpconn_ *conns, **tail; /* started and not reported yet, in round order */
	/* reporting: results being assembled */
	struct umpa_replay_result *res;
	uint32_t *res_exch;
	size_t nres;
	struct tcpconn_ *cur;
};

static int drv_claim_(const struct umpa_replay_cap *cap, uint32_t fi)
{
	return cap->flows[fi].kind == UMPA_FLOW_TCP;
}

static int drv_send_(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct tcpconn_ *c = arg;
	if (!c->aliased && c->live_port != c->rec_port) {
		/* the answers to the new 4-tuple come to this flow */
		if (umpa_replay_run_alias(c->d->run, p, c->d->fi, e) < 0)
			return -e->code;
		c->aliased = 1;
	}
	return umpa_replay_transmit(c->d->run, c->d->ifidx, p, e);
}

/* The packet index of file frame @p frame in the flow (UMPA_REPLAY_NONE when not). */
static uint32_t drv_pkt_(const struct tcpdrv_ *d, uint64_t frame)
{
	for (size_t i = 0; i < d->npk; i++)
		if (d->cap->pkts[d->pk[i]].frame == frame)
			return d->pk[i];
	return UMPA_REPLAY_NONE;
}

/* Live answer @p live as the recording would have it: our port back to the recorded one (into @p tmp). */
static const struct umpa_pkt *drv_as_recorded_(const struct tcpconn_ *c, const struct umpa_pkt *live,
					       struct umpa_pkt *tmp)
{
	int l4 = umpa_pkt_find(live, &umpa_proto_tcp, 0);
	int ours = c->live_port != c->rec_port, peers = c->peer_port && c->peer_port != c->d->peer_rec_port;
	uint8_t *th;

	if ((!ours && !peers) || l4 < 0 || umpa_pkt_dup(tmp, live, NULL) < 0 || tmp->l[l4].off + 4 > tmp->len)
		return live;
	th = tmp->data + tmp->l[l4].off;
	if (ours) {
		th[2] = (uint8_t)(c->rec_port >> 8);
		th[3] = (uint8_t)c->rec_port;
	}
	if (peers) { /* the peer's own port for this connection (drv_adopt_) back to the recorded one */
		th[0] = (uint8_t)(c->d->peer_rec_port >> 8);
		th[1] = (uint8_t)c->d->peer_rec_port;
	}
	return tmp;
}

static void drv_compare_(void *arg, size_t flow, size_t chk, uint64_t rec_frame, const struct umpa_pkt *live)
{
	struct tcpconn_ *c = arg;
	struct tcpdrv_ *d = c->d;
	uint32_t pi = drv_pkt_(d, rec_frame);
	const struct umpa_replay_timing *t = umpa_replay_run_timing(d->run);
	struct umpa_replay_checker *ck = umpa_replay_run_checker(d->run);
	struct umpa_replay_result r;
	struct umpa_pkt rec, tmp;
	const struct umpa_pkt *lv;

	(void)flow;
	if (pi == UMPA_REPLAY_NONE || c->nhdr == DRV_HDR_MAX)
		return;
	umpa_pkt_init(&rec);
	umpa_pkt_init(&tmp);
	lv = drv_as_recorded_(c, live, &tmp);
	if (t->learn && d->cap->pkts[pi].exch != UMPA_REPLAY_NONE) {
		/* a --learn-noise round: the first keeps the answer, the later ones learn what differs */
		struct umpa_err e = {0};
		if (t->learn == 1 && umpa_replay_checker_keep(ck, d->cap->pkts[pi].exch, d->cap->nexch, lv, &e) < 0)
			umpa_loop_fail(umpa_replay_loop(d->run), &e);
		else if (t->learn == 2)
			umpa_replay_checker_learn(ck, d->cap->pkts[pi].exch, lv);
		goto out;
	}
	umpa_replay_cap_pkt(d->cap, pi, &rec);
	memset(&r, 0, sizeof(r));
	if (umpa_replay_compare(ck, &rec, lv, &r, 0) && (c->hdr || (c->hdr = calloc(DRV_HDR_MAX, sizeof(*c->hdr))))) {
		c->hdr[c->nhdr].chk = chk;
		c->hdr[c->nhdr].r = r;
		c->nhdr++;
	}
out:
	umpa_pkt_release(&rec);
	umpa_pkt_release(&tmp);
}

static void *drv_open_(struct umpa_replay_run *run, uint32_t fi, struct umpa_err *e)
{
	const struct umpa_replay_cap *cap = umpa_replay_capture(run);
	const struct umpa_replay_flow *fl = &cap->flows[fi];
	struct tcpdrv_ *d = calloc(1, sizeof(*d));

	if (!d || !(d->pk = calloc(fl->npkts ? fl->npkts : 1, sizeof(*d->pk)))) {
		free(d);
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	d->run = run;
	d->cap = cap;
	d->fi = fi;
	d->tail = &d->conns;
	for (uint32_t i = fl->first; i <= fl->last && i < cap->npkts && d->npk < fl->npkts; i++) {
		const struct umpa_replay_pkt *rp = &cap->pkts[i];
		if (rp->flow != fi)
			continue;
		if (rp->role == UMPA_ROLE_SEND && !d->npk) {
			/* the flow's first packet is ours and its client's: we open it */
			d->opener = rp->side == UMPA_SIDE_CLIENT;
			d->rec_port = fl->cport;
		} else if (rp->role != UMPA_ROLE_SEND && !d->npk && rp->side == UMPA_SIDE_CLIENT) {
			/* the peer's and its client's (its SYN): the peer opens every connection, from its own port */
			d->peer_opens = 1;
			d->peer_rec_port = fl->cport;
		}
		if (rp->role == UMPA_ROLE_SEND && d->ifidx == 0)
			d->ifidx = rp->ifidx;
		d->pk[d->npk++] = i;
	}
	if (d->peer_opens && umpa_replay_run_adopter(run, fi, e) < 0) {
		free(d->pk);
		free(d);
		return NULL;
	}
	return d;
}

/* Start round @p iter: a new engine with the flow's recorded packets, a new 4-tuple after the first connection. */
static int drv_start_(struct tcpdrv_ *d, uint32_t iter, struct umpa_err *e)
{
	const struct umpa_replay_timing *t = umpa_replay_run_timing(d->run);
	struct umpa_rtcp_opts o = {.timeout_ns = t->timeout_ns, .retries = t->retries};
	struct tcpconn_ *c = calloc(1, sizeof(*c));
	uint64_t conn = (uint64_t)t->conn_base + iter;
	struct umpa_pkt p;
	int rc = 0;

	if (!c)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	c->d = d;
	c->iter = iter;
	c->rec_port = c->live_port = d->rec_port;
	o.compare = drv_compare_;
	o.compare_arg = c;
	if (!(c->rt = umpa_rtcp_new(umpa_replay_loop(d->run), &o, drv_send_, c, e))) {
		free(c);
		return -e->code;
	}
	*d->tail = c;
	d->tail = &c->next;
	umpa_pkt_init(&p);
	for (size_t k = 0; k < d->npk && rc >= 0; k++) {
		const struct umpa_replay_pkt *rp = &d->cap->pkts[d->pk[k]];
		if (rp->role == UMPA_ROLE_SEND && rp->unsendable)
			continue;
		umpa_replay_cap_pkt(d->cap, d->pk[k], &p);
		rc = umpa_rtcp_add(c->rt, &p, rp->frame, rp->role == UMPA_ROLE_SEND, e);
	}
	umpa_pkt_release(&p);
	if (rc < 0)
		return rc;
	if (d->opener && conn > 0 && umpa_rtcp_nflows(c->rt) == 1) {
		c->live_port = umpa_replay_tcp_port(d->cap, d->fi, d->rec_port, conn);
		if (umpa_rtcp_renew(c->rt, 0, c->live_port, (uint32_t)(conn * 2654435761u), e) < 0)
			return -e->code;
	}
	return umpa_rtcp_start(c->rt, e);
}

static void drv_report_(struct tcpdrv_ *d, struct tcpconn_ *c);

/* Report and free the connections that are over (all of them with @p all). */
static void drv_reap_(struct tcpdrv_ *d, int all)
{
	struct tcpconn_ **pc = &d->conns;

	while (*pc) {
		struct tcpconn_ *c = *pc;
		if (!all && !umpa_rtcp_done(c->rt)) {
			pc = &c->next;
			continue;
		}
		*pc = c->next;
		drv_report_(d, c);
		free(c->hdr);
		umpa_rtcp_free(c->rt);
		free(c);
	}
	for (d->tail = &d->conns; *d->tail; d->tail = &(*d->tail)->next)
		;
}

static int drv_due_(void *st, uint32_t pi, uint32_t iter, struct umpa_err *e)
{
	struct tcpdrv_ *d = st;

	(void)pi;
	if (iter < d->next_iter)
		return 0; /* the engine sends when the peer allows, not by the schedule */
	d->next_iter = iter + 1;
	drv_reap_(d, 0);
	return drv_start_(d, iter, e);
}

static int drv_input_(void *st, struct umpa_pkt *p, int ifidx)
{
	struct tcpdrv_ *d = st;
	struct umpa_err e = {0};

	(void)ifidx;
	/* the connection whose 4-tuple it has (several share one only when the peer opens: the oldest running) */
	for (struct tcpconn_ *c = d->conns; c; c = c->next) {
		int rc;
		if (umpa_rtcp_done(c->rt) && c->next)
			continue;
		rc = umpa_rtcp_input(c->rt, p, &e);
		if (rc < 0)
			umpa_loop_fail(umpa_replay_loop(d->run), &e);
		if (rc != 0) {
			c->peer_seen = 1;
			return 1;
		}
	}
	return 0;
}

/*
 * A SYN of no known flow (umpa_replay_run_input offers it): the peer opens a
 * connection of this flow from a port of its own, as a real client does for
 * each connection (the recorded one may be in its TIME-WAIT).  The oldest
 * connection still waiting for its peer takes that port (umpa_rtcp_peer_port)
 * when the rest of the 4-tuple is the flow's, and the run learns the tuple.
 */
static int drv_adopt_(void *st, struct umpa_pkt *p, int ifidx)
{
	struct tcpdrv_ *d = st;
	struct umpa_err e = {0};
	int l4 = umpa_pkt_find(p, &umpa_proto_tcp, 0);
	struct umpa_cur cur;
	uint16_t sport;

	(void)ifidx;
	if (!d->peer_opens || l4 < 0)
		return 0;
	umpa_layer_cur(p, (unsigned)l4, &cur);
	if (umpa_cur_be16_at(&cur, 0, &sport) < 0)
		return 0;
	for (struct tcpconn_ *c = d->conns; c; c = c->next) {
		uint16_t was = c->peer_port ? c->peer_port : d->peer_rec_port;
		int rc;
		if (c->peer_seen || umpa_rtcp_done(c->rt))
			continue;
		if (umpa_rtcp_peer_port(c->rt, 0, sport, &e) < 0)
			break;
		c->peer_port = sport; /* before the input: its checks compare the SYN as recorded (drv_as_recorded_) */
		rc = umpa_rtcp_input(c->rt, p, &e);
		if (rc == 1) {
			c->peer_seen = 1;
			if (umpa_replay_run_alias(d->run, p, d->fi, &e) < 0)
				break;
			return 1;
		}
		/* not this flow's 4-tuple (another address or port): as it was */
		c->peer_port = was == d->peer_rec_port ? 0 : was;
		if (rc < 0 || umpa_rtcp_peer_port(c->rt, 0, was, &e) < 0)
			break;
	}
	if (e.code)
		umpa_loop_fail(umpa_replay_loop(d->run), &e);
	return 0;
}

static int drv_busy_(void *st)
{
	struct tcpdrv_ *d = st;
	for (const struct tcpconn_ *c = d->conns; c; c = c->next)
		if (!umpa_rtcp_done(c->rt))
			return 1;
	return 0;
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
	struct tcpconn_ *cn = d->cur;
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
		v = cn->info.gave_up ? UMPA_RV_GAVEUP : UMPA_RV_MISSING;
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
		r->iter = cn->iter;
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
	for (size_t k = 0; k < cn->nhdr; k++)
		if (cn->hdr[k].chk == c->index)
			for (unsigned j = 0; j < cn->hdr[k].r.ndiffs; j++) {
				const struct umpa_replay_diff *x = &cn->hdr[k].r.diffs[j];
				if (!strcmp(x->field, "tcp.flags") && c->verdict == UMPA_RTCP_DIFFER)
					continue; /* said already */
				drv_add_diff_(r, x->field, x->recorded, x->live);
				if (r->verdict == UMPA_RV_MATCHED)
					r->verdict = UMPA_RV_DIFFERING;
			}
}

/* Connection @p c is over (or the run is): its exchanges become the run's results for its round. */
static void drv_report_(struct tcpdrv_ *d, struct tcpconn_ *c)
{
	size_t n;

	umpa_rtcp_finish(c->rt, "the replay ended before the answer");
	umpa_rtcp_flow_info(c->rt, 0, &c->info);
	n = umpa_rtcp_results(c->rt, NULL, NULL) + d->npk;
	d->res = calloc(n ? n : 1, sizeof(*d->res));
	d->res_exch = calloc(n ? n : 1, sizeof(*d->res_exch));
	d->nres = 0;
	d->cur = c;
	if (d->res && d->res_exch) {
		umpa_rtcp_results(c->rt, drv_check_, d);
		/* requests nothing answered when recorded (pure ACKs): sent, or cut off when the flow gave up */
		for (size_t i = 0; i < d->npk; i++) {
			const struct umpa_replay_pkt *rp = &d->cap->pkts[d->pk[i]];
			struct umpa_replay_result *r = &d->res[d->nres];
			int have = 0;
			if (rp->role != UMPA_ROLE_SEND || rp->exch == UMPA_REPLAY_NONE)
				continue;
			for (size_t k = 0; k < d->nres && !have; k++)
				have = d->res_exch[k] == rp->exch;
			if (have)
				continue;
			memset(r, 0, sizeof(*r));
			r->exch = rp->exch;
			r->iter = c->iter;
			r->flow = d->fi;
			r->rec_rtt_ns = -1;
			r->live_rtt_ns = -1;
			if (rp->unsendable) {
				r->verdict = UMPA_RV_UNSENT;
			} else if (umpa_rtcp_was_sent(c->rt, rp->frame)) {
				r->verdict = UMPA_RV_SENT;
			} else {
				r->verdict = UMPA_RV_GAVEUP;
				snprintf(r->note, sizeof(r->note), "%s",
					 c->info.gave_up ? c->info.gave_up : "not sent");
			}
			d->res_exch[d->nres++] = rp->exch;
		}
		for (size_t k = 0; k < d->nres; k++)
			umpa_replay_report_exch(d->run, &d->res[k]);
	}
	free(d->res);
	free(d->res_exch);
	d->res = NULL;
	d->res_exch = NULL;
	d->cur = NULL;
}

static void drv_close_(void *st)
{
	struct tcpdrv_ *d = st;

	if (!d)
		return;
	if (!d->next_iter) {
		/* never started (the run was cut short): its exchanges are reported once, not sent */
		struct umpa_err e = {0};
		struct tcpconn_ *c = calloc(1, sizeof(*c));
		struct umpa_pkt p;
		if (c && (c->rt = umpa_rtcp_new(umpa_replay_loop(d->run), NULL, drv_send_, c, &e))) {
			c->d = d;
			umpa_pkt_init(&p);
			for (size_t k = 0; k < d->npk; k++) {
				const struct umpa_replay_pkt *rp = &d->cap->pkts[d->pk[k]];
				if (rp->role == UMPA_ROLE_SEND && rp->unsendable)
					continue;
				umpa_replay_cap_pkt(d->cap, d->pk[k], &p);
				if (umpa_rtcp_add(c->rt, &p, rp->frame, rp->role == UMPA_ROLE_SEND, &e) < 0)
					break;
			}
			umpa_pkt_release(&p);
			umpa_rtcp_finish(c->rt, "the flow was never started");
			*d->tail = c;
			d->tail = &c->next;
		} else {
			free(c);
		}
	}
	drv_reap_(d, 1);
	free(d->pk);
	free(d);
}

uint16_t umpa_replay_tcp_port(const struct umpa_replay_cap *cap, uint32_t fi, uint16_t port, uint64_t conn)
{
	uint64_t k;

	if (conn == 0)
		return port;
	k = (conn - 1) * (uint64_t)cap->nflows + fi;
	if (port >= 1024)
		return (uint16_t)(1024 + k % 31744);
	/* a reserved port (rsh, NFS and the other services that want a privileged client port) stays
	 * reserved: rresvport's 512-1023, never the recorded port itself */
	if (port < 512)
		return (uint16_t)(512 + k % 512);
	k %= 511;
	return (uint16_t)(512 + k + (512 + k >= port));
}

const struct umpa_replay_driver umpa_replay_driver_tcp = {
    .name = "tcp",
    .claim = drv_claim_,
    .open = drv_open_,
    .due = drv_due_,
    .input = drv_input_,
    .busy = drv_busy_,
    .close = drv_close_,
    .adopt = drv_adopt_,
};
