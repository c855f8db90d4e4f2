/* replay_audit.c - `umpa replay --audit`: a capture's exchanges checked on the virtual clock by the expect engine.
 *
 * See umpa_replay_audit.h.  One slot per exchange of the capture model;
 * the expect engine owns the timing (requests started at their time
 * stamps, timeouts on the virtual clock), this file the verdicts that the
 * engine cannot give alone: late answers (after a timeout), near misses
 * (from its mismatch callback), TCP's cumulative acknowledgements.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"
#include "umpa_expect.h"
#include "umpa_protos.h"
#include "umpa_replay.h"
#include "umpa_replay_audit.h"
#include "umpa_sched.h"

enum slot_state_ {
	SL_NONE = 0, /* not a request */
	SL_SENT,     /* a pure TCP ACK: nothing to answer */
	SL_PENDING,
	SL_ANSWERED,
	SL_TIMEDOUT,
	SL_LATE,
};

struct slot_ {
	uint8_t state;
	uint8_t tcp;
	uint8_t syn; /* a SYN: only a SYN+ACK answers it, never a cumulative ACK */
	uint32_t flow;
	uint32_t end; /* TCP: the sequence number after the request (what an ACK must reach) */
	int64_t sent_ns;
	int64_t rtt_ns;
	int64_t covered_ns; /* TCP: when a cumulative ACK first covered it (-1: not yet) */
	uint64_t ans_frame;
	uint64_t near_frame;
	char near[80];
};

struct audit_ {
	const struct umpa_replay_cap *cap;
	struct slot_ *sl;
	/* per flow, its exchanges in order (a chain through next), so that nothing scans the whole capture */
	uint32_t *head, *next;
	uint32_t *tcur; /* per flow: the first TCP request a cumulative ACK has not covered yet (chain position) */
	int64_t timeout_ns;
	uint64_t cur_frame;
	int near_hit;
	uint32_t *unexp; /* packet indices */
	size_t nunexp;
};

static int nosend_(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	(void)arg;
	(void)p;
	(void)e;
	return 0;
}

static void reply_(void *arg, const struct umpa_exchange *x)
{
	struct audit_ *A = arg;
	struct slot_ *s = &A->sl[(uintptr_t)x->user];

	if (s->state != SL_PENDING)
		return;
	s->state = SL_ANSWERED;
	s->rtt_ns = x->rtt_ns;
	s->ans_frame = A->cur_frame;
}

static void timeout_(void *arg, const struct umpa_exchange *x)
{
	struct audit_ *A = arg;
	struct slot_ *s = &A->sl[(uintptr_t)x->user];

	if (s->state != SL_PENDING)
		return;
	if (s->covered_ns >= 0) { /* a cumulative ACK answered it in time */
		s->state = SL_ANSWERED;
		s->rtt_ns = s->covered_ns - s->sent_ns;
		return;
	}
	s->state = SL_TIMEDOUT;
}

/* The pending slot whose request is @p req (the engine's copy: the same bytes), searched in its flow. */
static long slot_of_(struct audit_ *A, const struct umpa_pkt *req)
{
	long f = umpa_replay_flow_of(A->cap, req);

	if (f < 0)
		return -1;
	for (uint32_t x = A->head[f]; x != UMPA_REPLAY_NONE; x = A->next[x]) {
		const struct umpa_replay_pkt *rp = &A->cap->pkts[A->cap->exch[x].req];
		if (A->sl[x].state == SL_PENDING && rp->len == req->len &&
		    !memcmp(A->cap->arena + rp->off, req->data, rp->len))
			return (long)x;
	}
	return -1;
}

/* TCP flags of dissected @p p, -1 without TCP. */
static int tcp_flags_(const struct umpa_pkt *p, struct umpa_tcp_segin_ *g)
{
	int li = umpa_pkt_find(p, &umpa_proto_tcp, 0);

	if (li < 0 || umpa_tcp_parse_(p, (unsigned)li, g) < 0)
		return -1;
	return (int)g->flags;
}

static void mismatch_(void *arg, const struct umpa_pkt *p, const struct umpa_pkt *req, const char *why)
{
	struct audit_ *A = arg;
	struct umpa_tcp_segin_ g;
	int fl = tcp_flags_(p, &g);
	long x;

	/* the peer's stream segments reach every TCP request's bucket: only a SYN+ACK or RST can be a wrong answer */
	if (fl >= 0 && !(fl & (UMPA_TH_SYN_ | UMPA_TH_RST_)))
		return;
	if ((x = slot_of_(A, req)) < 0)
		return;
	A->near_hit = 1;
	if (!A->sl[x].near[0]) {
		snprintf(A->sl[x].near, sizeof(A->sl[x].near), "%s", why);
		A->sl[x].near_frame = A->cur_frame;
	}
}

static void result_(struct audit_ *A, uint32_t x, umpa_replay_result_cb cb, void *arg)
{
	const struct slot_ *s = &A->sl[x];
	struct umpa_replay_result r;

	memset(&r, 0, sizeof(r));
	r.exch = x;
	r.flow = A->cap->exch[x].flow;
	r.rec_rtt_ns = -1;
	r.live_rtt_ns = -1;
	switch (s->state) {
	case SL_ANSWERED:
		r.verdict = UMPA_RV_MATCHED;
		r.rec_rtt_ns = s->rtt_ns;
		r.answers = 1;
		break;
	case SL_LATE:
		r.verdict = UMPA_RV_DIFFERING;
		r.rec_rtt_ns = s->rtt_ns;
		r.answers = 1;
		r.ndiffs = 1;
		snprintf(r.diffs[0].field, sizeof(r.diffs[0].field), "rtt");
		snprintf(r.diffs[0].recorded, sizeof(r.diffs[0].recorded), "<= %.6g ms", (double)A->timeout_ns / 1e6);
		snprintf(r.diffs[0].live, sizeof(r.diffs[0].live), "%.6g ms", (double)s->rtt_ns / 1e6);
		snprintf(r.note, sizeof(r.note), "answered late by frame %llu", (unsigned long long)s->ans_frame);
		break;
	case SL_TIMEDOUT:
		if (s->near[0]) {
			const char *sp = strchr(s->near, ' ');
			r.verdict = UMPA_RV_DIFFERING;
			r.answers = 1;
			if (sp && memchr(s->near, '.', (size_t)(sp - s->near))) {
				r.ndiffs = 1;
				snprintf(r.diffs[0].field, sizeof(r.diffs[0].field), "%.*s", (int)(sp - s->near),
					 s->near);
				snprintf(r.diffs[0].recorded, sizeof(r.diffs[0].recorded), "(an answer)");
				snprintf(r.diffs[0].live, sizeof(r.diffs[0].live), "%s", sp + 1);
			}
			snprintf(r.note, sizeof(r.note), "answered wrongly by frame %llu: %.60s",
				 (unsigned long long)s->near_frame, s->near);
		} else {
			r.verdict = UMPA_RV_MISSING;
			snprintf(r.note, sizeof(r.note), "unanswered: no answer within %.6g ms",
				 (double)A->timeout_ns / 1e6);
		}
		break;
	default:
		r.verdict = UMPA_RV_SENT;
		break;
	}
	cb(arg, &r);
}

long umpa_replay_audit(const struct umpa_replay_cap *cap, const struct umpa_replay_audit_opts *o,
		       umpa_replay_result_cb cb, void *arg, struct umpa_err *e)
{
	struct audit_ A = {0};
	struct umpa_loop *loop = NULL;
	struct umpa_expect *ex = NULL;
	struct umpa_pkt p, q;
	long n = -1;

	A.cap = cap;
	A.timeout_ns = o && o->timeout_ns > 0 ? o->timeout_ns : 1000000000;
	umpa_pkt_init(&p);
	umpa_pkt_init(&q);
	if (!(A.sl = calloc(cap->nexch ? cap->nexch : 1, sizeof(*A.sl))) ||
	    !(A.unexp = calloc(cap->npkts ? cap->npkts : 1, sizeof(*A.unexp))) ||
	    !(A.head = malloc((cap->nflows + 1) * sizeof(*A.head))) ||
	    !(A.tcur = malloc((cap->nflows + 1) * sizeof(*A.tcur))) ||
	    !(A.next = malloc((cap->nexch + 1) * sizeof(*A.next)))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		goto out;
	}
	/* the chains, built backwards so each is in exchange order */
	for (uint32_t f = 0; f < cap->nflows; f++)
		A.head[f] = UMPA_REPLAY_NONE;
	for (uint32_t x = cap->nexch; x-- > 0;) {
		uint32_t f = cap->exch[x].flow;
		A.next[x] = f < cap->nflows ? A.head[f] : UMPA_REPLAY_NONE;
		if (f < cap->nflows)
			A.head[f] = x;
	}
	memcpy(A.tcur, A.head, cap->nflows * sizeof(*A.tcur));
	if (!(loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, e)) || umpa_loop_set_now(loop, cap->first_ts_ns, e) < 0 ||
	    !(ex = umpa_expect_new(loop, nosend_, NULL, e)))
		goto out;
	umpa_expect_on_mismatch(ex, mismatch_, &A);
	for (uint32_t pi = 0; pi < cap->npkts; pi++) {
		const struct umpa_replay_pkt *rp = &cap->pkts[pi];
		struct umpa_tcp_segin_ g;
		int fl;

		if (umpa_loop_advance_to(loop, rp->ts_ns, e) < 0)
			goto out;
		A.cur_frame = rp->frame;
		umpa_replay_cap_pkt(cap, pi, &p);
		fl = tcp_flags_(&p, &g);
		if (rp->role == UMPA_ROLE_SEND) {
			struct slot_ *s;
			struct umpa_expect_opts eo = {0};
			if (rp->exch == UMPA_REPLAY_NONE)
				continue;
			s = &A.sl[rp->exch];
			s->flow = rp->flow;
			s->covered_ns = -1;
			if (fl >= 0) {
				s->tcp = 1;
				s->syn = (fl & UMPA_TH_SYN_) != 0;
				s->end =
				    g.seq + g.n + ((fl & UMPA_TH_SYN_) ? 1u : 0u) + ((fl & UMPA_TH_FIN_) ? 1u : 0u);
				if (!g.n && !(fl & (UMPA_TH_SYN_ | UMPA_TH_FIN_))) {
					s->state = SL_SENT; /* a pure ACK (or a RST): nothing answers it */
					continue;
				}
			}
			eo.timeout_ns = A.timeout_ns;
			eo.on_reply = reply_;
			eo.reply_arg = &A;
			eo.on_timeout = timeout_;
			eo.timeout_arg = &A;
			eo.user = (void *)(uintptr_t)rp->exch;
			eo.sent_by_caller = 1;
			s->state = SL_PENDING;
			s->sent_ns = rp->ts_ns;
			if (umpa_expect_add(ex, &p, &eo, e) < 0)
				goto out;
			continue;
		}
		/* an answer of the device */
		A.near_hit = 0;
		if (fl >= 0 && (fl & UMPA_TH_ACK_) && !(fl & UMPA_TH_RST_) && rp->flow < cap->nflows) {
			/* a cumulative ACK answers the requests it covers: in sequence order, from the flow's cursor on
			 */
			uint32_t *cur = &A.tcur[rp->flow];
			while (*cur != UMPA_REPLAY_NONE) {
				struct slot_ *s = &A.sl[*cur];
				if (s->state == SL_NONE)
					break; /* not sent yet */
				if (s->state == SL_PENDING || s->state == SL_TIMEDOUT) {
					if (s->tcp && !s->syn) { /* a SYN waits for its SYN+ACK (the engine's) */
						if ((int32_t)(g.ack - s->end) < 0)
							break; /* later data waits for a later ACK */
						s->covered_ns = rp->ts_ns;
						if (s->state == SL_TIMEDOUT) {
							s->state = SL_LATE;
							s->rtt_ns = rp->ts_ns - s->sent_ns;
							s->ans_frame = rp->frame;
						}
					}
				}
				*cur = A.next[*cur];
			}
		}
		if (umpa_expect_input(ex, &p) == 1)
			continue;
		{
			int late = 0;
			/* a TCP segment's late answers are its flow's cumulative ACKs (above): only SYN+ACK and RST
			 * here */
			uint32_t x0 = rp->flow < cap->nflows && (fl < 0 || (fl & (UMPA_TH_SYN_ | UMPA_TH_RST_)))
					  ? A.head[rp->flow]
					  : UMPA_REPLAY_NONE;
			for (uint32_t x = x0; x != UMPA_REPLAY_NONE && !late; x = A.next[x]) {
				struct slot_ *s = &A.sl[x];
				if (s->state != SL_TIMEDOUT)
					continue;
				umpa_replay_cap_pkt(cap, cap->exch[x].req, &q);
				if (umpa_match_answers(&p, &q, NULL, 0)) {
					s->state = SL_LATE;
					s->rtt_ns = rp->ts_ns - s->sent_ns;
					s->ans_frame = rp->frame;
					late = 1;
				}
			}
			if (late || A.near_hit)
				continue;
		}
		if (fl >= 0 && !(fl & (UMPA_TH_SYN_ | UMPA_TH_RST_)))
			continue; /* the peer's stream */
		A.unexp[A.nunexp++] = pi;
	}
	if (umpa_expect_wait(ex, UMPA_NEVER, e) < 0)
		goto out;
	n = 0;
	for (uint32_t x = 0; x < cap->nexch; x++, n++)
		result_(&A, x, cb, arg);
	for (size_t k = 0; k < A.nunexp; k++, n++) {
		const struct umpa_replay_pkt *rp = &cap->pkts[A.unexp[k]];
		struct umpa_replay_result r;
		memset(&r, 0, sizeof(r));
		r.exch = UMPA_REPLAY_NONE;
		r.flow = rp->flow;
		r.verdict = UMPA_RV_UNEXPECTED;
		r.rec_rtt_ns = -1;
		r.live_rtt_ns = -1;
		snprintf(r.note, sizeof(r.note), "frame %llu answers no request", (unsigned long long)rp->frame);
		cb(arg, &r);
	}
out:
	umpa_pkt_release(&p);
	umpa_pkt_release(&q);
	umpa_expect_free(ex);
	umpa_loop_free(loop);
	free(A.sl);
	free(A.head);
	free(A.next);
	free(A.tcur);
	free(A.unexp);
	return n;
}
