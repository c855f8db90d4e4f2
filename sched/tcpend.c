/* tcpend.c - a one-sided userland TCP endpoint on the loop (RFC 9293, 6298, 5681, 6582, 2018, 7323).
 *
 * See umpa_tcpend.h.  Sequence numbers are kept as 64-bit stream offsets:
 * sending offset 0 is the first data byte (sequence iss + 1), receiving
 * offset 0 is irs + 1; 32-bit numbers on the wire are unwrapped against the
 * nearest offset.  The send buffer holds [una, una + len); the receiver
 * holds out-of-order bytes in a ring of rwnd bytes indexed by offset
 * (nothing beyond rcv_nxt + rwnd is accepted, so no two offsets share a
 * slot).  Segments are built by tcp_seg.c, shared with the endpoint pair.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"
#include "umpa_protos.h"
#include "umpa_sched.h"
#include "umpa_tcpend.h"

#define ST(x) UMPA_TCPE_ST_##x

struct umpa_tcpe {
	struct umpa_tcpe_opts o;
	struct umpa_tcpe_cbs cb;
	struct umpa_loop *loop;
	struct umpa_tcp_wire_ w;
	struct umpa_pkt pkt;
	enum umpa_tcpe_state state;
	uint64_t rng;
	int64_t t0; /* loop time at creation: timestamp values count from it */
	uint16_t ip_id;
	/* negotiated */
	int ts_on, sack_on, ws_on;
	int snd_shift; /* the peer's window scale */
	uint32_t smss; /* payload bytes per segment we send (options taken off) */
	/* send side: offsets of data bytes */
	uint32_t iss;
	uint64_t una, nxt, max; /* oldest unacked, next to send, highest sent + 1 */
	uint8_t *sb;            /* bytes [una, una + sb_len) at sb + sb_head */
	size_t sb_head, sb_len, sb_cap;
	int fin_queued; /* shutdown: FIN at offset fin_off */
	uint64_t fin_off;
	int fin_sent;
	int syn_acked;
	uint32_t snd_wnd; /* the peer's window, bytes */
	uint32_t cwnd, ssthresh;
	uint32_t dupacks;
	int in_recovery;
	uint64_t recover;             /* recovery ends when una passes it */
	uint64_t hole_nxt;            /* in recovery: retransmit holes from here */
	struct umpa_tcp_ivls_ sacked; /* offsets the peer SACKed above una */
	/* RTT and RTO (ns) */
	int64_t srtt, rttvar, rto;
	int backoff;
	int timing; /* Karn: timing rtt_off sent at rtt_t */
	uint64_t rtt_off;
	int64_t rtt_t;
	uint32_t retries;
	struct umpa_timer *rtx_tm, *dack_tm, *tw_tm;
	/* receive side */
	uint32_t irs;
	uint64_t rcv_nxt;
	uint8_t *rb; /* ring of rwnd bytes, allocated when data first arrives out of order */
	struct umpa_tcp_ivls_ ooo;
	int peer_fin; /* a FIN was seen at offset peer_fin_off */
	uint64_t peer_fin_off;
	int eof_told;
	uint32_t unacked_segs; /* in-order segments not acknowledged yet */
	uint32_t ts_recent;
	uint64_t dsack_l, dsack_r; /* a D-SACK block for the next ACK */
	int sent_told;
	struct umpa_tcpe_stats st;
};

void umpa_tcpe_opts_init(struct umpa_tcpe_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->wscale = 7;
	o->sackok = 1;
	o->timestamps = 1;
	o->rwnd = 262144;
	o->sndbuf = 4u << 20;
	o->rto_min_us = 200000;
	o->rto_max_us = 60000000;
	o->rto_init_us = 1000000;
	o->delack_us = 40000;
	o->max_retries = 15;
	o->timewait_us = 60000000;
}

static const char *const state_names_[] = {
    "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK", "TIME_WAIT",
};

const char *umpa_tcpe_state_name(enum umpa_tcpe_state st)
{
	return (unsigned)st < sizeof(state_names_) / sizeof(state_names_[0]) ? state_names_[st] : "?";
}

enum umpa_tcpe_state umpa_tcpe_state(const struct umpa_tcpe *ep)
{
	return ep->state;
}

size_t umpa_tcpe_unacked(const struct umpa_tcpe *ep)
{
	return ep->sb_len;
}

uint16_t umpa_tcpe_remote_port(const struct umpa_tcpe *ep)
{
	return ep->w.port[1];
}

void umpa_tcpe_stats(const struct umpa_tcpe *ep, struct umpa_tcpe_stats *st)
{
	*st = ep->st;
	st->srtt_us = (uint32_t)(ep->srtt / 1000);
	st->rto_us = (uint32_t)(ep->rto / 1000);
	st->cwnd = ep->cwnd;
}

static int all_zero_(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

struct umpa_tcpe *umpa_tcpe_new(struct umpa_loop *loop, const struct umpa_tcpe_opts *o, const struct umpa_tcpe_cbs *cbs,
				struct umpa_err *e)
{
	struct umpa_tcpe *ep;

	if (!loop || !o || !cbs || !cbs->emit) {
		umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: needs a loop, options and an emit callback");
		return NULL;
	}
	if (o->wscale > 14 || o->wscale < -1) {
		umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: window scale %d out of range (-1 to 14)", o->wscale);
		return NULL;
	}
	if (o->mss && o->mss < 64) {
		umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: MSS %u below 64", o->mss);
		return NULL;
	}
	if (!o->rwnd || o->rwnd > (65535u << (o->wscale > 0 ? o->wscale : 0))) {
		umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: window %u out of range for scale %d", o->rwnd, o->wscale);
		return NULL;
	}
	if (!o->port[0]) {
		umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: no local port");
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		umpa_err_set(e, UMPA_ENOMEM, "tcp endpoint: out of memory");
		return NULL;
	}
	ep->o = *o;
	ep->cb = *cbs;
	ep->loop = loop;
	umpa_pkt_init(&ep->pkt);
	if (!ep->o.mss)
		ep->o.mss = o->ipv6 ? 1440 : 1460;
	if (!ep->o.sndbuf)
		ep->o.sndbuf = 4u << 20;
	if (!ep->o.rto_min_us)
		ep->o.rto_min_us = 200000;
	if (ep->o.rto_max_us < ep->o.rto_min_us)
		ep->o.rto_max_us = ep->o.rto_min_us;
	if (!ep->o.rto_init_us)
		ep->o.rto_init_us = 1000000;
	if (!ep->o.max_retries)
		ep->o.max_retries = 15;
	ep->w.ipv6 = o->ipv6 != 0;
	memcpy(ep->w.addr, o->addr, sizeof(ep->w.addr));
	memcpy(ep->w.mac, o->mac, sizeof(ep->w.mac));
	memcpy(ep->w.port, o->port, sizeof(ep->w.port));
	ep->rng = o->seed;
	ep->iss = (uint32_t)umpa_tcp_rng_next_(&ep->rng);
	ep->ip_id = (uint16_t)umpa_tcp_rng_next_(&ep->rng);
	ep->t0 = umpa_loop_now_ns(loop) - (int64_t)(umpa_tcp_rng_next_(&ep->rng) % 1000000) * 1000000;
	ep->rto = (int64_t)ep->o.rto_init_us * 1000;
	ep->ssthresh = UINT32_MAX;
	if (umpa_tcp_wire_init_(&ep->w, e) < 0)
		return umpa_tcpe_free(ep);
	return ep;
}

static void timers_off_(struct umpa_tcpe *ep)
{
	umpa_timer_cancel(ep->rtx_tm);
	umpa_timer_cancel(ep->dack_tm);
	umpa_timer_cancel(ep->tw_tm);
	ep->rtx_tm = ep->dack_tm = ep->tw_tm = NULL;
}

struct umpa_tcpe *umpa_tcpe_free(struct umpa_tcpe *ep)
{
	if (!ep)
		return NULL;
	timers_off_(ep);
	umpa_pkt_release(&ep->pkt);
	free(ep->sb);
	free(ep->rb);
	umpa_tcp_ivls_free_(&ep->sacked);
	umpa_tcp_ivls_free_(&ep->ooo);
	free(ep);
	return NULL;
}

static void tell_(struct umpa_tcpe *ep, enum umpa_tcpe_event ev)
{
	if (ep->cb.event)
		ep->cb.event(ep->cb.arg, ev);
}

/* Our timestamp clock: milliseconds of loop time from a random base. */
static uint32_t tsval_(struct umpa_tcpe *ep)
{
	return (uint32_t)((umpa_loop_now_ns(ep->loop) - ep->t0) / 1000000);
}

/* The window we announce (in a SYN unscaled). */
static uint32_t rwin_(const struct umpa_tcpe *ep, int syn)
{
	return umpa_tcp_win_field_(ep->o.rwnd, ep->ws_on, ep->o.wscale, syn);
}

static uint32_t sseq_(const struct umpa_tcpe *ep, uint64_t off)
{
	return ep->iss + 1u + (uint32_t)off;
}

static uint32_t rseq_(const struct umpa_tcpe *ep, uint64_t off)
{
	return ep->irs + 1u + (uint32_t)off;
}

/* The offset of wire number @p seq near offset @p near (base: sequence of offset 0). */
static uint64_t unwrap_(uint32_t base, uint64_t near, uint32_t seq)
{
	int32_t d = (int32_t)(seq - (base + (uint32_t)near));
	int64_t r = (int64_t)near + d;

	return r < 0 ? 0 : (uint64_t)r;
}

/*
 * Emit one segment: @p flags, data [@p off, @p off + @p n) of the send
 * buffer, acknowledging rcv_nxt (with SACK blocks when we hold data out of
 * order or saw a duplicate).
 */
static int out_(struct umpa_tcpe *ep, unsigned flags, uint64_t off, uint32_t n, struct umpa_err *e)
{
	struct umpa_tcp_segout_ g = {0};
	uint64_t sk[UMPA_TCP_MAX_SACK_][2];
	int64_t wall = umpa_loop_wall_ns(ep->loop);
	int syn = (flags & UMPA_TH_SYN_) != 0, rc;

	g.flags = flags;
	g.seq = syn ? ep->iss : sseq_(ep, off);
	g.ack = rseq_(ep, ep->rcv_nxt);
	g.win = (flags & UMPA_TH_RST_) ? 0 : rwin_(ep, syn);
	g.ip_id = ep->ip_id++;
	g.mss = ep->o.mss;
	g.sackok = ep->o.sackok != 0;
	g.wscale = ep->o.wscale;
	if (syn) {
		g.ts = ep->o.timestamps != 0;
		g.tsval = tsval_(ep);
		g.tsecr = (flags & UMPA_TH_ACK_) ? ep->ts_recent : 0;
		if ((flags & UMPA_TH_ACK_) && !ep->sack_on)
			g.sackok = 0;
		if ((flags & UMPA_TH_ACK_) && !ep->ws_on)
			g.wscale = -1;
		if ((flags & UMPA_TH_ACK_) && !ep->ts_on)
			g.ts = 0;
	} else {
		g.ts = ep->ts_on;
		g.tsval = tsval_(ep);
		g.tsecr = ep->ts_recent;
		if (ep->sack_on && !(flags & UMPA_TH_RST_) && (ep->ooo.n || ep->dsack_r > ep->dsack_l)) {
			uint64_t raw[UMPA_TCP_MAX_SACK_][2];
			/* options and payload share the MSS (RFC 6691): a full data segment has no room for SACK */
			uint32_t room = ep->smss + (ep->ts_on ? 12u : 0u), used = n + (ep->ts_on ? 12u : 0u);
			uint32_t max = room > used + 4 ? (room - used - 4) / 8 : 0, k;

			if (max > (ep->ts_on ? 3u : 4u))
				max = ep->ts_on ? 3u : 4u;
			k = umpa_tcp_sack_blocks_(&ep->ooo, ep->dsack_l, ep->dsack_r, max, raw);

			for (uint32_t i = 0; i < k; i++) {
				sk[i][0] = rseq_(ep, raw[i][0]);
				sk[i][1] = rseq_(ep, raw[i][1]);
			}
			g.sack = (const uint64_t(*)[2])sk;
			g.nsack = k;
		}
	}
	ep->dsack_l = ep->dsack_r = 0;
	if (n) {
		/* the send buffer holds [una, una + sb_len) */
		g.data = ep->sb + ep->sb_head + (size_t)(off - ep->una);
		g.n = n;
	}
	if ((rc = umpa_tcp_build_(&ep->pkt, &ep->w, 0, &g, e)) < 0)
		return rc;
	ep->pkt.ts_sec = wall / 1000000000;
	ep->pkt.ts_nsec = (uint32_t)(wall % 1000000000);
	if (flags & UMPA_TH_ACK_) {
		ep->unacked_segs = 0;
		umpa_timer_cancel(ep->dack_tm);
		ep->dack_tm = NULL;
	}
	ep->st.segs_out++;
	return ep->cb.emit(ep->cb.arg, &ep->pkt, e);
}

static void rtx_cb_(struct umpa_loop *loop, void *arg);

/* (Re)arm the retransmission timer for the current RTO (backed off). */
static int arm_rtx_(struct umpa_tcpe *ep, struct umpa_err *e)
{
	int64_t rto = ep->rto;
	int64_t max = (int64_t)ep->o.rto_max_us * 1000;

	for (int i = 0; i < ep->backoff && rto < max; i++)
		rto *= 2;
	if (rto > max)
		rto = max;
	umpa_timer_cancel(ep->rtx_tm);
	ep->rtx_tm = umpa_after(ep->loop, rto, rtx_cb_, ep, e);
	return ep->rtx_tm ? 0 : -e->code;
}

static void stop_rtx_(struct umpa_tcpe *ep)
{
	umpa_timer_cancel(ep->rtx_tm);
	ep->rtx_tm = NULL;
}

/*
 * Bytes in flight as far as we know: sent below nxt, not acknowledged, not
 * SACKed.  After an RTO nxt goes back to una, so everything outstanding
 * counts as lost and the window refills from there.
 */
static uint64_t pipe_(const struct umpa_tcpe *ep)
{
	uint64_t p = ep->nxt > ep->una ? ep->nxt - ep->una : 0;

	for (size_t i = 0; i < ep->sacked.n; i++) {
		uint64_t l = ep->sacked.v[i].l, r = ep->sacked.v[i].r < ep->nxt ? ep->sacked.v[i].r : ep->nxt;
		if (r > l)
			p -= r - l;
	}
	return p;
}

/* The end of the data we may send: the buffer, limited by the peer's window. */
static uint64_t wnd_end_(const struct umpa_tcpe *ep)
{
	uint64_t end = ep->una + ep->sb_len;
	uint64_t wend = ep->una + ep->snd_wnd;

	return wend < end ? wend : end;
}

/* Send what the windows allow: data from nxt (skipping SACKed ranges below max), then a FIN. */
static int output_(struct umpa_tcpe *ep, struct umpa_err *e)
{
	int rc;

	if (ep->state < ST(ESTABLISHED) || ep->state == ST(TIME_WAIT))
		return 0;
	for (;;) {
		uint64_t end = wnd_end_(ep), n;
		uint64_t pipe = pipe_(ep);

		/* skip what the peer already has */
		while (ep->nxt < ep->max) {
			int moved = 0;
			for (size_t i = 0; i < ep->sacked.n; i++)
				if (ep->sacked.v[i].l <= ep->nxt && ep->sacked.v[i].r > ep->nxt) {
					ep->nxt = ep->sacked.v[i].r;
					moved = 1;
				}
			if (!moved)
				break;
		}
		if (ep->nxt >= end)
			break;
		if (pipe >= ep->cwnd)
			break;
		n = end - ep->nxt;
		if (n > ep->smss)
			n = ep->smss;
		if (ep->nxt < ep->max) {
			/* a retransmission stops at the next SACKed range; it may run on into new data */
			if (ep->nxt + n > ep->max)
				ep->st.bytes_out += ep->nxt + n - ep->max;
			for (size_t i = 0; i < ep->sacked.n; i++)
				if (ep->sacked.v[i].l > ep->nxt && ep->sacked.v[i].l - ep->nxt < n)
					n = ep->sacked.v[i].l - ep->nxt;
			ep->st.retransmits++;
			if (ep->timing && ep->rtt_off >= ep->nxt)
				ep->timing = 0; /* Karn */
		} else {
			ep->st.bytes_out += n;
			if (!ep->timing && !ep->ts_on) {
				ep->timing = 1;
				ep->rtt_off = ep->nxt;
				ep->rtt_t = umpa_loop_now_ns(ep->loop);
			}
		}
		if ((rc = out_(ep, UMPA_TH_ACK_ | (ep->nxt + n == ep->una + ep->sb_len ? UMPA_TH_PSH_ : 0u), ep->nxt,
			       (uint32_t)n, e)) < 0)
			return rc;
		ep->nxt += n;
		if (ep->nxt > ep->max)
			ep->max = ep->nxt;
		if (!ep->rtx_tm && (rc = arm_rtx_(ep, e)) < 0)
			return rc;
	}
	/* the FIN, once every byte before it has been sent */
	if (ep->fin_queued && !ep->fin_sent && ep->nxt == ep->fin_off && ep->una + ep->sb_len == ep->fin_off) {
		if ((rc = out_(ep, UMPA_TH_FIN_ | UMPA_TH_ACK_, ep->fin_off, 0, e)) < 0)
			return rc;
		ep->fin_sent = 1;
		ep->nxt = ep->fin_off + 1;
		if (ep->max < ep->nxt)
			ep->max = ep->nxt;
		if (ep->state == ST(ESTABLISHED))
			ep->state = ST(FIN_WAIT_1);
		else if (ep->state == ST(CLOSE_WAIT))
			ep->state = ST(LAST_ACK);
		if (!ep->rtx_tm && (rc = arm_rtx_(ep, e)) < 0)
			return rc;
	}
	/* data waiting behind a zero window: the timer probes it */
	if (!ep->rtx_tm && ep->una + ep->sb_len > ep->nxt && (rc = arm_rtx_(ep, e)) < 0)
		return rc;
	return 0;
}

static void fail_(struct umpa_tcpe *ep, const struct umpa_err *e)
{
	umpa_loop_fail(ep->loop, e);
}

/* Closed for good: timers off, the state, the event. */
static void closed_(struct umpa_tcpe *ep, enum umpa_tcpe_event ev)
{
	timers_off_(ep);
	ep->state = ST(CLOSED);
	tell_(ep, ev);
}

static void rtx_cb_(struct umpa_loop *loop, void *arg)
{
	struct umpa_tcpe *ep = arg;
	struct umpa_err e = {0};
	int rc = 0;

	(void)loop;
	ep->rtx_tm = NULL;
	if (++ep->retries > ep->o.max_retries) {
		if (ep->state != ST(SYN_SENT) && ep->state != ST(LISTEN))
			rc = out_(ep, UMPA_TH_RST_ | UMPA_TH_ACK_, ep->nxt, 0, &e);
		closed_(ep, UMPA_TCPE_TIMEOUT);
		if (rc < 0)
			fail_(ep, &e);
		return;
	}
	ep->st.rto_expiries++;
	ep->backoff++;
	ep->timing = 0;
	if (ep->state == ST(SYN_SENT) || ep->state == ST(SYN_RCVD)) {
		rc = out_(ep, ep->state == ST(SYN_SENT) ? UMPA_TH_SYN_ : UMPA_TH_SYN_ | UMPA_TH_ACK_, 0, 0, &e);
		if (rc >= 0)
			rc = arm_rtx_(ep, &e);
		if (rc < 0)
			fail_(ep, &e);
		return;
	}
	if (ep->snd_wnd == 0 && ep->sb_len) {
		/*
		 * The peer's window is shut: probe it with the first unacknowledged
		 * byte (RFC 9293 3.8.6.1).  It counts as sent (max) but nxt stays,
		 * so the byte goes again, as data, once the window opens.  An answer
		 * resets the retry count (take_ack_): a live peer is probed forever.
		 */
		rc = out_(ep, UMPA_TH_ACK_, ep->una, 1, &e);
		if (rc >= 0) {
			ep->nxt = ep->una;
			if (ep->max < ep->una + 1) {
				ep->max = ep->una + 1;
				ep->st.bytes_out++; /* a byte never sent before */
			}
			ep->st.window_probes++;
			rc = arm_rtx_(ep, &e);
		}
		if (rc < 0)
			fail_(ep, &e);
		return;
	}
	/* RFC 5681: one segment, slow start again; everything unacknowledged (but SACKed) goes again */
	ep->ssthresh = (uint32_t)((ep->max - ep->una) / 2 > 2 * ep->smss ? (ep->max - ep->una) / 2 : 2 * ep->smss);
	ep->cwnd = ep->smss;
	ep->in_recovery = 0;
	ep->dupacks = 0;
	ep->nxt = ep->una;
	if (ep->fin_sent && ep->una <= ep->fin_off)
		ep->fin_sent = 0;
	rc = output_(ep, &e);
	if (rc >= 0 && !ep->rtx_tm && ep->una < ep->max)
		rc = arm_rtx_(ep, &e);
	if (rc < 0)
		fail_(ep, &e);
}

static void dack_cb_(struct umpa_loop *loop, void *arg)
{
	struct umpa_tcpe *ep = arg;
	struct umpa_err e = {0};

	(void)loop;
	ep->dack_tm = NULL;
	if (ep->unacked_segs && out_(ep, UMPA_TH_ACK_, ep->nxt, 0, &e) < 0)
		fail_(ep, &e);
}

static void tw_cb_(struct umpa_loop *loop, void *arg)
{
	struct umpa_tcpe *ep = arg;

	(void)loop;
	ep->tw_tm = NULL;
	closed_(ep, UMPA_TCPE_CLOSED);
}

/* Enter TIME-WAIT: the connection is over for us; the timer ends it. */
static int time_wait_(struct umpa_tcpe *ep, struct umpa_err *e)
{
	ep->state = ST(TIME_WAIT);
	stop_rtx_(ep);
	umpa_timer_cancel(ep->tw_tm);
	ep->tw_tm = umpa_after(ep->loop, (int64_t)ep->o.timewait_us * 1000, tw_cb_, ep, e);
	return ep->tw_tm ? 0 : -e->code;
}

/* The options of the peer's SYN (or SYN+ACK) decide what is on. */
static void take_syn_(struct umpa_tcpe *ep, const struct umpa_tcp_segin_ *g)
{
	uint32_t pmss = g->has_mss ? g->mss : (ep->o.ipv6 ? 1220u : 536u);

	ep->irs = g->seq;
	ep->rcv_nxt = 0;
	ep->ts_on = ep->o.timestamps && g->has_ts;
	ep->sack_on = ep->o.sackok && g->has_sackok;
	ep->ws_on = ep->o.wscale >= 0 && g->has_ws;
	ep->snd_shift = ep->ws_on ? (int)g->ws : 0;
	if (ep->ts_on)
		ep->ts_recent = g->tsval;
	if (pmss > ep->o.mss)
		pmss = ep->o.mss;
	ep->smss = pmss - (ep->ts_on ? 12u : 0u);
	ep->snd_wnd = g->win; /* never scaled in a SYN */
	ep->cwnd = 10 * ep->smss;
}

/* Deliver ring bytes [a, b) to the data callback (at most two pieces). */
static void deliver_ring_(struct umpa_tcpe *ep, uint64_t a, uint64_t b)
{
	while (a < b) {
		size_t at = (size_t)(a % ep->o.rwnd), k = (size_t)(b - a);

		if (k > ep->o.rwnd - at)
			k = ep->o.rwnd - at;
		if (ep->cb.data)
			ep->cb.data(ep->cb.arg, ep->rb + at, k);
		ep->st.bytes_in += k;
		a += k;
	}
}

/* Drop SACK information at or below una. */
static void sacked_trim_(struct umpa_tcpe *ep)
{
	size_t k = 0;

	while (k < ep->sacked.n && ep->sacked.v[k].r <= ep->una)
		k++;
	if (k) {
		memmove(ep->sacked.v, ep->sacked.v + k, (ep->sacked.n - k) * sizeof(*ep->sacked.v));
		ep->sacked.n -= k;
	}
	if (ep->sacked.n && ep->sacked.v[0].l < ep->una)
		ep->sacked.v[0].l = ep->una;
}

/* RFC 6298 with a new RTT sample @p r (ns). */
static void rtt_sample_(struct umpa_tcpe *ep, int64_t r)
{
	int64_t min = (int64_t)ep->o.rto_min_us * 1000, max = (int64_t)ep->o.rto_max_us * 1000, g = 1000000;

	if (r < 0)
		return;
	if (!ep->srtt) {
		ep->srtt = r > 0 ? r : 1;
		ep->rttvar = r / 2;
	} else {
		int64_t d = ep->srtt > r ? ep->srtt - r : r - ep->srtt;
		ep->rttvar = (3 * ep->rttvar + d) / 4;
		ep->srtt = (7 * ep->srtt + r) / 8;
	}
	ep->rto = ep->srtt + (4 * ep->rttvar > g ? 4 * ep->rttvar : g);
	if (ep->rto < min)
		ep->rto = min;
	if (ep->rto > max)
		ep->rto = max;
}

/* In recovery: retransmit the next hole (one segment) from hole_nxt.  Returns 0 or an error. */
static int rexmit_hole_(struct umpa_tcpe *ep, struct umpa_err *e)
{
	uint64_t h = ep->hole_nxt > ep->una ? ep->hole_nxt : ep->una, n, lim;
	int moved = 1, rc;

	while (moved) {
		moved = 0;
		for (size_t i = 0; i < ep->sacked.n; i++)
			if (ep->sacked.v[i].l <= h && ep->sacked.v[i].r > h) {
				h = ep->sacked.v[i].r;
				moved = 1;
			}
	}
	lim = ep->una + ep->sb_len;
	if (ep->recover < lim)
		lim = ep->recover;
	/* with SACK only what lies below SACKed data is known lost */
	if (ep->sack_on && ep->sacked.n && ep->sacked.v[ep->sacked.n - 1].r < lim)
		lim = ep->sacked.v[ep->sacked.n - 1].r;
	if (h >= lim)
		return 0;
	n = lim - h;
	if (n > ep->smss)
		n = ep->smss;
	for (size_t i = 0; i < ep->sacked.n; i++)
		if (ep->sacked.v[i].l > h && ep->sacked.v[i].l - h < n)
			n = ep->sacked.v[i].l - h;
	if ((rc = out_(ep, UMPA_TH_ACK_, h, (uint32_t)n, e)) < 0)
		return rc;
	ep->st.retransmits++;
	ep->hole_nxt = h + n;
	if (ep->timing && ep->rtt_off >= h)
		ep->timing = 0;
	return 0;
}

/* The ACK part of an acceptable segment in a synchronized state.  Returns 0 or an error. */
static int take_ack_(struct umpa_tcpe *ep, const struct umpa_tcp_segin_ *g, struct umpa_err *e)
{
	uint64_t ackoff = unwrap_(ep->iss + 1u, ep->una, g->ack);
	uint32_t win = g->win << ep->snd_shift;
	int rc;

	if (ackoff > ep->max)
		return 0; /* acknowledges what was never sent: ignore */
	if (ep->snd_wnd == 0)
		ep->retries = 0; /* the answer to a window probe: the peer is alive */
	/* SACK blocks first, so retransmissions skip what arrived */
	for (uint32_t i = 0; ep->sack_on && i < g->nsack; i++) {
		uint64_t l = unwrap_(ep->iss + 1u, ep->una, g->sack[i][0]);
		uint64_t r = unwrap_(ep->iss + 1u, ep->una, g->sack[i][1]);

		if (l < ep->una)
			l = ep->una;
		if (r > ep->max)
			r = ep->max;
		if (r > l && (rc = umpa_tcp_ivls_add_(&ep->sacked, l, r, e)) < 0)
			return rc;
	}
	if (ackoff > ep->una) {
		uint64_t acked = ackoff - ep->una, data = acked;
		int64_t now = umpa_loop_now_ns(ep->loop);

		if (data > ep->sb_len)
			data = ep->sb_len; /* the FIN */
		ep->sb_head += (size_t)data;
		ep->sb_len -= (size_t)data;
		if (!ep->sb_len)
			ep->sb_head = 0;
		ep->una = ackoff;
		if (ep->nxt < ep->una)
			ep->nxt = ep->una;
		sacked_trim_(ep);
		ep->retries = 0;
		ep->backoff = 0;
		if (ep->ts_on && g->has_ts && g->tsecr)
			rtt_sample_(ep, (int64_t)(uint32_t)(tsval_(ep) - g->tsecr) * 1000000);
		else if (ep->timing && ackoff > ep->rtt_off) {
			rtt_sample_(ep, now - ep->rtt_t);
			ep->timing = 0;
		}
		if (ep->in_recovery) {
			if (ep->una >= ep->recover) {
				ep->in_recovery = 0;
				ep->cwnd = ep->ssthresh;
			} else {
				/* a partial ACK: the next hole */
				if (!ep->sack_on)
					ep->hole_nxt = ep->una;
				if ((rc = rexmit_hole_(ep, e)) < 0)
					return rc;
			}
		} else if (ep->cwnd < ep->ssthresh) {
			ep->cwnd += (uint32_t)(acked < ep->smss ? acked : ep->smss);
		} else {
			ep->cwnd += ep->smss * ep->smss / ep->cwnd > 0 ? ep->smss * ep->smss / ep->cwnd : 1;
		}
		ep->dupacks = 0;
		stop_rtx_(ep);
		if (ep->una < ep->max && (rc = arm_rtx_(ep, e)) < 0)
			return rc;
		ep->snd_wnd = win;
		if (!ep->sb_len && !ep->sent_told) {
			ep->sent_told = 1;
			tell_(ep, UMPA_TCPE_SENT);
		}
		/* the FIN acknowledged (fin_sent may have been cleared by an RTO that came too early) */
		if (ep->fin_queued && ep->una > ep->fin_off) {
			ep->fin_sent = 1;
			if (ep->state == ST(FIN_WAIT_1))
				ep->state = ST(FIN_WAIT_2);
			else if (ep->state == ST(CLOSING))
				return time_wait_(ep, e);
			else if (ep->state == ST(LAST_ACK)) {
				closed_(ep, UMPA_TCPE_CLOSED);
				return 0;
			}
		}
	} else if (ackoff == ep->una && !g->n && !(g->flags & (UMPA_TH_SYN_ | UMPA_TH_FIN_)) && win == ep->snd_wnd &&
		   ep->una < ep->max) {
		ep->st.dup_acks_in++;
		if (++ep->dupacks == 3 && !ep->in_recovery) {
			uint64_t flight = ep->max - ep->una;
			ep->ssthresh = (uint32_t)(flight / 2 > 2 * ep->smss ? flight / 2 : 2 * ep->smss);
			ep->cwnd = ep->ssthresh;
			ep->recover = ep->max;
			ep->in_recovery = 1;
			ep->hole_nxt = ep->una;
			ep->timing = 0;
			ep->st.fast_retransmits++;
			if ((rc = rexmit_hole_(ep, e)) < 0)
				return rc;
		} else if (ep->in_recovery && ep->sack_on) {
			if ((rc = rexmit_hole_(ep, e)) < 0)
				return rc;
		}
	} else {
		ep->snd_wnd = win;
	}
	return 0;
}

/* Acknowledge now (cancels the delayed ACK). */
static int ack_now_(struct umpa_tcpe *ep, struct umpa_err *e)
{
	return out_(ep, UMPA_TH_ACK_, ep->nxt, 0, e);
}

/* The data and FIN of an acceptable segment.  Returns 0 or an error. */
static int take_data_(struct umpa_tcpe *ep, const struct umpa_tcp_segin_ *g, struct umpa_err *e)
{
	uint64_t off = unwrap_(ep->irs + 1u, ep->rcv_nxt, g->seq), end = off + g->n;
	uint64_t lim = ep->rcv_nxt + ep->o.rwnd;
	int now = 0, rc;

	if (ep->peer_fin && ep->rcv_nxt > ep->peer_fin_off) {
		/* after the peer's FIN: a retransmitted FIN or data wants our ACK again (and TIME-WAIT starts over) */
		if (!g->n && !(g->flags & UMPA_TH_FIN_))
			return 0;
		if ((rc = ack_now_(ep, e)) < 0)
			return rc;
		return ep->state == ST(TIME_WAIT) ? time_wait_(ep, e) : 0;
	}
	if (ep->ts_on && g->has_ts && off <= ep->rcv_nxt && (int32_t)(g->tsval - ep->ts_recent) >= 0)
		ep->ts_recent = g->tsval;
	if (g->n) {
		if (end <= ep->rcv_nxt) {
			ep->st.dup_segs_in++;
			ep->dsack_l = off;
			ep->dsack_r = end;
			now = 1;
		} else if (off > ep->rcv_nxt) {
			uint64_t a = off, b = end < lim ? end : lim;

			now = 1;
			if (a < b && !ep->rb && !(ep->rb = malloc(ep->o.rwnd)))
				return umpa_err_set(e, UMPA_ENOMEM, "tcp endpoint: out of memory");
			if (a < b) {
				for (uint64_t x = a; x < b;) {
					size_t at = (size_t)(x % ep->o.rwnd), k = (size_t)(b - x);
					if (k > ep->o.rwnd - at)
						k = ep->o.rwnd - at;
					memcpy(ep->rb + at, g->data + (x - off), k);
					x += k;
				}
				if ((rc = umpa_tcp_ivls_add_(&ep->ooo, a, b, e)) < 0)
					return rc;
				ep->st.ooo_segs_in++;
			}
		} else {
			uint64_t skip = ep->rcv_nxt - off, b = end < lim ? end : lim, nn;
			int had = ep->ooo.n > 0;

			if (skip) {
				ep->dsack_l = off;
				ep->dsack_r = ep->rcv_nxt;
			}
			if (ep->cb.data && b > ep->rcv_nxt)
				ep->cb.data(ep->cb.arg, g->data + skip, (size_t)(b - ep->rcv_nxt));
			ep->st.bytes_in += b - ep->rcv_nxt;
			ep->rcv_nxt = b;
			nn = umpa_tcp_ivls_advance_(&ep->ooo, ep->rcv_nxt);
			deliver_ring_(ep, ep->rcv_nxt, nn);
			ep->rcv_nxt = nn;
			if (had || skip)
				now = 1;
			else if (++ep->unacked_segs >= 2)
				now = 1;
		}
	}
	if (g->flags & UMPA_TH_FIN_) {
		ep->peer_fin = 1;
		ep->peer_fin_off = end;
		now = 1;
	}
	if (ep->peer_fin && ep->rcv_nxt == ep->peer_fin_off && !ep->eof_told) {
		ep->rcv_nxt++;
		ep->eof_told = 1;
		now = 1;
		if (ep->state == ST(ESTABLISHED))
			ep->state = ST(CLOSE_WAIT);
		else if (ep->state == ST(FIN_WAIT_1))
			ep->state = ST(CLOSING);
		else if (ep->state == ST(FIN_WAIT_2))
			ep->state = ST(TIME_WAIT);
		if ((rc = ack_now_(ep, e)) < 0)
			return rc;
		tell_(ep, UMPA_TCPE_EOF);
		if (ep->state == ST(TIME_WAIT) && (rc = time_wait_(ep, e)) < 0)
			return rc;
		return 0;
	}
	if (now)
		return ack_now_(ep, e);
	if (ep->unacked_segs && !ep->dack_tm) {
		ep->dack_tm = umpa_after(ep->loop, (int64_t)ep->o.delack_us * 1000, dack_cb_, ep, e);
		if (!ep->dack_tm)
			return -e->code;
	}
	return 0;
}

/* The peer's address, port and MAC as a received segment says (for answers to segments of no connection). */
struct from_ {
	const uint8_t *addr;
	uint16_t port;
	const uint8_t *mac; /* NULL: not an Ethernet frame */
};

/* Answer a segment for no connection with a RST (RFC 9293 3.10.7.1), to where it came from. */
static int rst_reply_(struct umpa_tcpe *ep, const struct umpa_tcp_segin_ *g, const struct from_ *fr, struct umpa_err *e)
{
	struct umpa_tcp_segout_ o = {0};
	struct umpa_tcp_wire_ w = ep->w;
	int64_t wall = umpa_loop_wall_ns(ep->loop);
	int rc;

	if (g->flags & UMPA_TH_RST_)
		return 0;
	if (g->flags & UMPA_TH_ACK_) {
		o.flags = UMPA_TH_RST_;
		o.seq = g->ack;
	} else {
		o.flags = UMPA_TH_RST_ | UMPA_TH_ACK_;
		o.ack = g->seq + g->n + ((g->flags & UMPA_TH_SYN_) ? 1u : 0u) + ((g->flags & UMPA_TH_FIN_) ? 1u : 0u);
	}
	o.ip_id = ep->ip_id++;
	o.wscale = -1;
	memcpy(w.addr[1], fr->addr, ep->o.ipv6 ? 16 : 4);
	w.port[1] = fr->port;
	if (fr->mac && all_zero_(w.mac[1], 6))
		memcpy(w.mac[1], fr->mac, 6);
	if ((rc = umpa_tcp_build_(&ep->pkt, &w, 0, &o, e)) < 0)
		return rc;
	ep->pkt.ts_sec = wall / 1000000000;
	ep->pkt.ts_nsec = (uint32_t)(wall % 1000000000);
	ep->st.segs_out++;
	return ep->cb.emit(ep->cb.arg, &ep->pkt, e);
}

int umpa_tcpe_input(struct umpa_tcpe *ep, const struct umpa_pkt *p, struct umpa_err *e)
{
	int li = umpa_pkt_find(p, &umpa_proto_tcp, 0), l3, rc;
	struct umpa_cur c;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint32_t alen = ep->o.ipv6 ? 16 : 4;
	struct umpa_tcp_segin_ g;
	struct from_ fr = {0};
	int any_remote;

	if (li < 0)
		return 0;
	l3 = umpa_pkt_find(p, ep->o.ipv6 ? &umpa_proto_ipv6 : &umpa_proto_ip, 0);
	if (l3 < 0 || l3 > li)
		return 0;
	umpa_layer_cur(p, (unsigned)l3, &c);
	if (umpa_cur_ptr_at(&c, ep->o.ipv6 ? 8 : 12, alen, &src) < 0 ||
	    umpa_cur_ptr_at(&c, ep->o.ipv6 ? 24 : 16, alen, &dst) < 0)
		return 0;
	umpa_layer_cur(p, (unsigned)li, &c);
	if (umpa_cur_be16_at(&c, 0, &sport) < 0 || umpa_cur_be16_at(&c, 2, &dport) < 0)
		return 0;
	if (dport != ep->w.port[0] || memcmp(dst, ep->w.addr[0], alen))
		return 0;
	any_remote = (ep->state == ST(LISTEN) || (ep->state == ST(CLOSED) && !ep->w.port[1])) &&
		     (!ep->o.port[1] || all_zero_(ep->o.addr[1], alen));
	if (!any_remote && (sport != ep->w.port[1] || memcmp(src, ep->w.addr[1], alen)))
		return 0;
	if ((p->l[li].flags | p->l[l3].flags) & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM) ||
	    umpa_tcp_parse_(p, (unsigned)li, &g) < 0) {
		ep->st.bad_in++;
		return 1;
	}
	ep->st.segs_in++;
	fr.addr = src;
	fr.port = sport;
	if (p->nlayers && p->l[0].proto == &umpa_proto_eth) {
		umpa_layer_cur(p, 0, &c);
		if (umpa_cur_ptr_at(&c, 6, 6, &fr.mac) < 0)
			fr.mac = NULL;
	}
	switch (ep->state) {
	case ST(CLOSED):
		rc = rst_reply_(ep, &g, &fr, e);
		return rc < 0 ? rc : 1;
	case ST(LISTEN):
		if (g.flags & UMPA_TH_RST_)
			return 1;
		if ((g.flags & UMPA_TH_ACK_) || !(g.flags & UMPA_TH_SYN_)) {
			rc = rst_reply_(ep, &g, &fr, e);
			return rc < 0 ? rc : 1;
		}
		/* a SYN: learn the peer (and its MAC when the frame is Ethernet), answer SYN+ACK */
		if (ep->o.port[1] && sport != ep->o.port[1])
			return 0;
		memcpy(ep->w.addr[1], src, alen);
		ep->w.port[1] = sport;
		if (all_zero_(ep->w.mac[1], 6) && fr.mac)
			memcpy(ep->w.mac[1], fr.mac, 6);
		take_syn_(ep, &g);
		ep->state = ST(SYN_RCVD);
		if ((rc = out_(ep, UMPA_TH_SYN_ | UMPA_TH_ACK_, 0, 0, e)) < 0 || (rc = arm_rtx_(ep, e)) < 0)
			return rc;
		return 1;
	case ST(SYN_SENT):
		if ((g.flags & UMPA_TH_ACK_) && g.ack != ep->iss + 1u) {
			rc = (g.flags & UMPA_TH_RST_) ? 0 : rst_reply_(ep, &g, &fr, e);
			return rc < 0 ? rc : 1;
		}
		if (g.flags & UMPA_TH_RST_) {
			if (g.flags & UMPA_TH_ACK_)
				closed_(ep, UMPA_TCPE_RESET);
			return 1;
		}
		if (!(g.flags & UMPA_TH_SYN_) || !(g.flags & UMPA_TH_ACK_))
			return 1; /* simultaneous open is not supported */
		take_syn_(ep, &g);
		ep->state = ST(ESTABLISHED);
		ep->syn_acked = 1;
		ep->retries = 0;
		ep->backoff = 0;
		stop_rtx_(ep);
		if ((rc = out_(ep, UMPA_TH_ACK_, 0, 0, e)) < 0)
			return rc;
		tell_(ep, UMPA_TCPE_CONNECTED);
		if (ep->state == ST(ESTABLISHED) && (rc = output_(ep, e)) < 0)
			return rc;
		return 1;
	default:
		break;
	}
	/* synchronized states: RST, then a SYN again, then the ACK, then data and FIN */
	if (g.flags & UMPA_TH_RST_) {
		uint64_t off = unwrap_(ep->irs + 1u, ep->rcv_nxt, g.seq);

		/* in the window (RFC 9293; RFC 5961's exact-match challenge is not done); TIME-WAIT ignores it (RFC
		 * 1337) */
		if (ep->state != ST(TIME_WAIT) && off + 1 >= ep->rcv_nxt && off < ep->rcv_nxt + ep->o.rwnd)
			closed_(ep, UMPA_TCPE_RESET);
		return 1;
	}
	if (g.flags & UMPA_TH_SYN_) {
		/* the peer did not get our SYN+ACK (or our ACK): say again where we are */
		if (ep->state == ST(SYN_RCVD) && g.seq == ep->irs)
			rc = out_(ep, UMPA_TH_SYN_ | UMPA_TH_ACK_, 0, 0, e);
		else
			rc = ack_now_(ep, e);
		return rc < 0 ? rc : 1;
	}
	if (!(g.flags & UMPA_TH_ACK_))
		return 1;
	if (ep->state == ST(SYN_RCVD)) {
		if (g.ack != ep->iss + 1u) {
			rc = rst_reply_(ep, &g, &fr, e);
			return rc < 0 ? rc : 1;
		}
		ep->state = ST(ESTABLISHED);
		ep->syn_acked = 1;
		ep->retries = 0;
		ep->backoff = 0;
		ep->snd_wnd = g.win << ep->snd_shift;
		stop_rtx_(ep);
		tell_(ep, UMPA_TCPE_CONNECTED);
		if (ep->state != ST(ESTABLISHED))
			return 1;
	}
	if ((rc = take_ack_(ep, &g, e)) < 0)
		return rc;
	if (ep->state == ST(CLOSED))
		return 1;
	if ((rc = take_data_(ep, &g, e)) < 0)
		return rc;
	if (ep->state == ST(CLOSED) || ep->state == ST(TIME_WAIT))
		return 1;
	if ((rc = output_(ep, e)) < 0)
		return rc;
	return 1;
}

int umpa_tcpe_listen(struct umpa_tcpe *ep, struct umpa_err *e)
{
	if (ep->state != ST(CLOSED) || ep->syn_acked)
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: listen needs a new endpoint");
	ep->state = ST(LISTEN);
	return 0;
}

int umpa_tcpe_connect(struct umpa_tcpe *ep, struct umpa_err *e)
{
	int rc;

	if (ep->state != ST(CLOSED) || ep->syn_acked)
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: connect needs a new endpoint");
	if (!ep->w.port[1] || all_zero_(ep->w.addr[1], ep->o.ipv6 ? 16 : 4))
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: connect needs the remote address and port");
	ep->state = ST(SYN_SENT);
	ep->smss = ep->o.mss; /* until the SYN+ACK says */
	if ((rc = out_(ep, UMPA_TH_SYN_, 0, 0, e)) < 0)
		return rc;
	return arm_rtx_(ep, e);
}

int64_t umpa_tcpe_write(struct umpa_tcpe *ep, const void *data, size_t n, struct umpa_err *e)
{
	size_t room, need;
	int rc;

	if (ep->fin_queued)
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: cannot write after shutdown");
	if (ep->state == ST(CLOSED) || ep->state > ST(CLOSE_WAIT))
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: cannot write in state %s",
				    umpa_tcpe_state_name(ep->state));
	room = ep->o.sndbuf > ep->sb_len ? ep->o.sndbuf - ep->sb_len : 0;
	if (n > room)
		n = room;
	if (!n)
		return 0;
	need = ep->sb_head + ep->sb_len + n;
	if (need > ep->sb_cap && ep->sb_head) {
		memmove(ep->sb, ep->sb + ep->sb_head, ep->sb_len);
		ep->sb_head = 0;
		need = ep->sb_len + n;
	}
	if ((rc = umpa_tcp_grow_(&ep->sb, &ep->sb_cap, need, 1, e)) < 0)
		return rc;
	memcpy(ep->sb + ep->sb_head + ep->sb_len, data, n);
	ep->sb_len += n;
	ep->sent_told = 0;
	if ((rc = output_(ep, e)) < 0)
		return rc;
	return (int64_t)n;
}

int umpa_tcpe_shutdown(struct umpa_tcpe *ep, struct umpa_err *e)
{
	if (ep->fin_queued)
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: already shut down");
	if (ep->state == ST(CLOSED) || ep->state > ST(CLOSE_WAIT))
		return umpa_err_set(e, UMPA_EINVAL, "tcp endpoint: cannot shut down in state %s",
				    umpa_tcpe_state_name(ep->state));
	ep->fin_queued = 1;
	ep->fin_off = ep->una + ep->sb_len;
	return output_(ep, e);
}

int umpa_tcpe_abort(struct umpa_tcpe *ep, struct umpa_err *e)
{
	int rc = 0;

	if (ep->state >= ST(SYN_RCVD) && ep->state != ST(TIME_WAIT))
		rc = out_(ep, UMPA_TH_RST_ | UMPA_TH_ACK_, ep->nxt, 0, e);
	timers_off_(ep);
	ep->state = ST(CLOSED);
	return rc < 0 ? rc : 0;
}
