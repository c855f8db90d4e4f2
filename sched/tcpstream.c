/* tcpstream.c - a userland TCP endpoint pair that turns byte streams into packets, on a loop.
 *
 * See umpa_tcpstream.h.  Each endpoint keeps snd_nxt (next sequence number
 * to send), rcv_nxt (next expected from the peer), its timestamp base and
 * the last timestamp value received (TS.Recent, echoed as TSecr).  The
 * receiver reads everything at once, so its window stays constant.
 *
 * Every operation (connect, send, shutdown, close, reset) is queued and run
 * as a chain of steps on the stream's umpa_loop: each step emits the
 * segments of one instant at the loop's time (the capture timestamp) and
 * arms a loop timer for the next one - half a round trip to the peer's
 * answer, the per-flight delay before an operation, the fast-retransmit
 * reaction or the retransmission timeout.  A private virtual loop set to
 * start_sec makes the classic synchronous calls; a caller's loop makes them
 * asynchronous.  Segments are built by tcp_seg.c, which the one-sided
 * endpoint (tcpend.c) shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"
#include "umpa_protos.h"
#include "umpa_sched.h"
#include "umpa_tcpstream.h"

#define TH_FIN UMPA_TH_FIN_
#define TH_SYN UMPA_TH_SYN_
#define TH_RST UMPA_TH_RST_
#define TH_PSH UMPA_TH_PSH_
#define TH_ACK UMPA_TH_ACK_

enum { ST_NEW, ST_OPEN, ST_CLOSED };

/* Linux's minimum retransmission timeout: an RTO fires rtt + 200 ms after the flight. */
#define RTO_MIN_US 200000u
/* The sender's reaction time between the third duplicate ACK and the fast retransmission. */
#define REACT_US 50u

/* A data segment of the send in progress. */
struct seg_ {
	size_t off;   /* first byte, offset in the send */
	uint32_t len; /* bytes */
	uint8_t kind; /* SEG_ORIG, SEG_COPY, SEG_RETX */
	uint8_t lost; /* lost after the capture point */
	uint8_t dup;  /* a copy follows */
	size_t lab0;  /* first label inside it */
	size_t nlab;  /* labels inside it */
};

enum { SEG_ORIG, SEG_COPY, SEG_RETX };

#define MAX_SACK UMPA_TCP_MAX_SACK_

/* An ACK the receiver sends: its cumulative offset and SACK blocks (offsets; the first may be a D-SACK). */
struct ackrec_ {
	size_t ack;
	uint32_t nsack;
	int dsack; /* the first block is a D-SACK */
	uint64_t sack[MAX_SACK][2];
};

struct tcps_end {
	uint32_t isn;
	uint32_t snd_nxt;
	uint32_t rcv_nxt;
	uint32_t ts_base;
	uint32_t ts_recent;
	uint16_t ip_id;
	int fin_sent;
	int have_ack;      /* sent a segment with ACK */
	uint32_t last_ack; /* its acknowledgement number */
	uint32_t last_win; /* and its window in bytes */
};

/*
 * A queued operation.  On a private loop the call runs it to the end, so it
 * borrows the caller's data and labels (the comments handed to the emit
 * callback are the caller's texts, as before the loop); on a caller's loop
 * the call returns first, so they are copied into blk.
 */
enum { OP_CONNECT, OP_SEND, OP_SHUTDOWN, OP_CLOSE, OP_RESET };

struct op_ {
	int kind;
	int side;
	void *blk;           /* the allocation holding labels, data and texts */
	const uint8_t *data; /* the bytes to send */
	size_t n;
	const struct umpa_tcps_label *labels; /* on a caller's loop: copies, texts in blk too */
	size_t nlabels;
};

struct umpa_tcps {
	struct umpa_tcps_opts o;
	umpa_tcps_emit_cb cb;
	void *arg;
	uint64_t rng;
	struct umpa_loop *loop;
	int own_loop;  /* a private virtual loop: calls run it to completion */
	int64_t start; /* loop time at creation: timestamp values count from it */
	int state;
	int wscale_on;    /* both sides announced a window scale */
	int ts_on;        /* timestamps negotiated */
	uint32_t cwnd[2]; /* segments per flight, per sender */
	struct tcps_end end[2];
	struct umpa_tcp_wire_ w;
	struct umpa_pkt pkt;
	struct umpa_tcps_stats st;
	/* the operation queue and the step in progress */
	struct op_ *q;
	size_t qhead, qn, qcap;
	int busy;               /* an operation is queued or running */
	int step;               /* the running operation's next step */
	struct umpa_timer *tm;  /* armed for that step */
	int failed;             /* an operation failed: the stream is unusable */
	struct umpa_err ferr;   /* why */
	int q_state, q_fin[2];  /* state and FINs as of the last queued operation */
	umpa_tcps_idle_cb idle; /* asynchronous: told when the queue drains or fails */
	void *idle_arg;
	/* the send in progress (offsets relative to its first byte) */
	uint32_t s_base, s_cap, s_room;
	size_t s_off, s_sent;
	int s_lossy, s_tries, s_hostile;
	size_t s_li;
	struct seg_ *segs; /* the current round, in capture order */
	size_t nsegs, scap;
	struct ackrec_ *acks; /* ACKs the receiver sends after the current round */
	size_t nacks, acap;
	struct umpa_tcp_ivls_ ooo; /* out-of-order data the receiver holds */
	char *cbuf;                /* joined label texts */
	size_t ccap;
	size_t r_nxt;       /* the receiver's next expected offset */
	uint32_t r_pending; /* in-order segments it has not acknowledged */
	uint32_t dups;      /* duplicate ACKs at the end of the last ACK train */
};

#define rng_next umpa_tcp_rng_next_
#define grow_ umpa_tcp_grow_

void umpa_tcps_opts_init(struct umpa_tcps_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->wscale = 7;
	o->sackok = 1;
	o->timestamps = 1;
	o->rtt_us = 20000;
	o->start_sec = 1700000000;
	for (int s = 0; s < 2; s++) {
		o->mac[s][0] = 0x02;
		o->mac[s][5] = (uint8_t)(s + 1);
	}
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

struct umpa_tcps *umpa_tcps_new_on(struct umpa_loop *loop, const struct umpa_tcps_opts *o, umpa_tcps_emit_cb cb,
				   void *arg, struct umpa_err *e)
{
	struct umpa_tcps_opts def;
	struct umpa_tcps *t;

	if (!o) {
		umpa_tcps_opts_init(&def);
		o = &def;
	}
	if (!cb) {
		umpa_err_set(e, UMPA_EINVAL, "tcp stream: no emit callback");
		return NULL;
	}
	if (o->wscale > 14 || o->wscale < -1) {
		umpa_err_set(e, UMPA_EINVAL, "tcp stream: window scale %d out of range (-1 to 14)", o->wscale);
		return NULL;
	}
	if ((o->mss[0] && o->mss[0] < 64) || (o->mss[1] && o->mss[1] < 64)) {
		umpa_err_set(e, UMPA_EINVAL, "tcp stream: MSS %u/%u below 64", o->mss[0], o->mss[1]);
		return NULL;
	}
	if (!(o->reorder >= 0 && o->reorder <= 1) || !(o->dup >= 0 && o->dup <= 1) || !(o->loss >= 0 && o->loss <= 1)) {
		umpa_err_set(e, UMPA_EINVAL, "tcp stream: reorder, dup and loss are probabilities (0 to 1)");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		umpa_err_set(e, UMPA_ENOMEM, "tcp stream: out of memory");
		return NULL;
	}
	t->o = *o;
	t->cb = cb;
	t->arg = arg;
	t->rng = o->seed;
	t->wscale_on = o->wscale >= 0;
	t->ts_on = o->timestamps != 0;
	umpa_pkt_init(&t->pkt);
	if (!t->o.rwnd)
		t->o.rwnd = t->wscale_on ? 131072u : 65535u;
	if (t->o.rwnd > (65535u << (t->wscale_on ? t->o.wscale : 0))) {
		umpa_err_set(e, UMPA_EINVAL, "tcp stream: window %u too large for scale %d", t->o.rwnd, t->o.wscale);
		return umpa_tcps_free(t), NULL;
	}
	t->w.ipv6 = t->o.ipv6 != 0;
	for (int s = 0; s < 2; s++) {
		if (!t->o.mss[s])
			t->o.mss[s] = t->o.ipv6 ? 1440 : 1460;
		if (all_zero(t->o.addr[s], 16)) {
			if (t->o.ipv6) {
				t->o.addr[s][0] = 0xfd;
				t->o.addr[s][15] = (uint8_t)(s + 1);
			} else {
				t->o.addr[s][0] = 10;
				t->o.addr[s][3] = (uint8_t)(s + 1);
			}
		}
		if (all_zero(t->o.mac[s], 6)) {
			t->o.mac[s][0] = 0x02;
			t->o.mac[s][5] = (uint8_t)(s + 1);
		}
		memcpy(t->w.addr[s], t->o.addr[s], 16);
		memcpy(t->w.mac[s], t->o.mac[s], 6);
	}
	t->w.port[0] = o->port[0] ? o->port[0] : (uint16_t)(32768 + rng_next(&t->rng) % (61000 - 32768));
	t->w.port[1] = o->port[1] ? o->port[1] : 443;
	for (int s = 0; s < 2; s++) {
		t->end[s].isn = (uint32_t)rng_next(&t->rng);
		t->end[s].snd_nxt = t->end[s].isn;
		t->end[s].ts_base = (uint32_t)rng_next(&t->rng);
		t->end[s].ip_id = (uint16_t)rng_next(&t->rng);
		t->cwnd[s] = 10;
	}
	t->state = t->q_state = ST_NEW;
	if (umpa_tcp_wire_init_(&t->w, e) < 0)
		return umpa_tcps_free(t), NULL;
	if (loop) {
		t->loop = loop;
	} else {
		t->loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, e);
		if (!t->loop)
			return umpa_tcps_free(t), NULL;
		t->own_loop = 1;
		if (umpa_loop_set_now(t->loop, o->start_sec * 1000000000 + o->start_nsec, e) < 0)
			return umpa_tcps_free(t), NULL;
	}
	t->start = umpa_loop_now_ns(t->loop);
	return t;
}

struct umpa_tcps *umpa_tcps_new(const struct umpa_tcps_opts *o, umpa_tcps_emit_cb cb, void *arg, struct umpa_err *e)
{
	return umpa_tcps_new_on(NULL, o, cb, arg, e);
}

/* Drop the queued operations (and their copies). */
static void q_clear_(struct umpa_tcps *t)
{
	for (size_t i = t->qhead; i < t->qn; i++)
		free(t->q[i].blk);
	t->qhead = t->qn = 0;
}

struct umpa_tcps *umpa_tcps_free(struct umpa_tcps *t)
{
	if (!t)
		return NULL;
	umpa_timer_cancel(t->tm);
	q_clear_(t);
	free(t->q);
	if (t->own_loop)
		umpa_loop_free(t->loop);
	umpa_pkt_release(&t->pkt);
	free(t->segs);
	free(t->acks);
	umpa_tcp_ivls_free_(&t->ooo);
	free(t->cbuf);
	free(t);
	return NULL;
}

uint32_t umpa_tcps_isn(const struct umpa_tcps *t, enum umpa_tcps_side side)
{
	return t->end[side & 1].isn;
}

uint32_t umpa_tcps_snd_nxt(const struct umpa_tcps *t, enum umpa_tcps_side side)
{
	return t->end[side & 1].snd_nxt;
}

uint16_t umpa_tcps_port(const struct umpa_tcps *t, enum umpa_tcps_side side)
{
	return t->w.port[side & 1];
}

int64_t umpa_tcps_now_ns(const struct umpa_tcps *t)
{
	return umpa_loop_wall_ns(t->loop);
}

struct umpa_loop *umpa_tcps_loop(const struct umpa_tcps *t)
{
	return t->loop;
}

int umpa_tcps_busy(const struct umpa_tcps *t)
{
	return t->busy;
}

void umpa_tcps_on_idle(struct umpa_tcps *t, umpa_tcps_idle_cb cb, void *arg)
{
	t->idle = cb;
	t->idle_arg = arg;
}

/* Microseconds to nanoseconds, for the step delays. */
static int64_t us_(uint64_t us)
{
	return (int64_t)us * 1000;
}

/* Half a round trip: the time between a packet and its answer at the capture point. */
static int64_t half_rtt(const struct umpa_tcps *t)
{
	return us_(t->o.rtt_us / 2);
}

/* The timestamp value side @p s sends now: a 1 kHz clock from its random base. */
static uint32_t tsval(const struct umpa_tcps *t, int s)
{
	return t->end[s].ts_base + (uint32_t)((uint64_t)(umpa_loop_now_ns(t->loop) - t->start) / 1000000u);
}

/* The window field side @p s announces (unscaled in a SYN, never scaled there). */
static uint32_t win_field(const struct umpa_tcps *t, int syn)
{
	return umpa_tcp_win_field_(t->o.rwnd, t->wscale_on, t->o.wscale, syn);
}

/* Payload bytes per segment sent by @p s: the peer's MSS less the timestamp option. */
static uint32_t seg_size(const struct umpa_tcps *t, int s)
{
	return (uint32_t)t->o.mss[!s] - (t->ts_on ? 12u : 0u);
}

/*
 * Build and emit one segment from side @p s with @p flags, sequence number
 * @p seq, acknowledgement number @p ack, @p n bytes of @p data and
 * @p nsack SACK blocks (sequence numbers) in @p sack, stamped with the
 * loop's time.  Counts duplicate ACKs and ACKs with SACK blocks; changes no
 * sequence state.
 */
static int emit_seg(struct umpa_tcps *t, int s, unsigned flags, uint32_t seq, uint32_t ack, const uint8_t *data,
		    uint32_t n, const char *comment, const uint64_t (*sack)[2], uint32_t nsack, struct umpa_err *e)
{
	struct tcps_end *me = &t->end[s];
	struct umpa_pkt *p = &t->pkt;
	struct umpa_tcp_segout_ g = {0};
	int64_t wall = umpa_loop_wall_ns(t->loop);
	uint32_t win;
	int rc;

	g.flags = flags;
	g.seq = seq;
	g.ack = ack;
	g.win = (flags & TH_RST) ? 0u : win_field(t, flags & TH_SYN);
	g.ip_id = me->ip_id;
	g.mss = t->o.mss[s];
	g.sackok = t->o.sackok != 0;
	g.ts = t->ts_on;
	g.tsval = tsval(t, s);
	g.tsecr = (flags & TH_SYN) && !(flags & TH_ACK) ? 0u : me->ts_recent;
	g.wscale = t->wscale_on ? t->o.wscale : -1;
	g.sack = sack;
	g.nsack = nsack;
	g.data = data;
	g.n = n;
	if (!t->o.ipv6)
		me->ip_id++;
	if ((rc = umpa_tcp_build_(p, &t->w, s, &g, e)) < 0)
		return rc;
	p->ts_sec = wall / 1000000000;
	p->ts_nsec = (uint32_t)(wall % 1000000000);
	p->comment = comment;
	/* what tshark calls a duplicate ACK: a pure ACK repeating the previous acknowledgement number and
	 * window; with another window (the first ACK after the unscaled one of a SYN) a window update */
	win = win_field(t, flags & TH_SYN);
	if (!(flags & TH_SYN) && t->wscale_on)
		win <<= t->o.wscale;
	if (flags == TH_ACK && !n && me->have_ack && ack == me->last_ack)
		(*(win == me->last_win ? &t->st.dup_acks : &t->st.window_updates))++;
	if (nsack)
		t->st.sack_acks++;
	if (flags & TH_ACK) {
		me->have_ack = 1;
		me->last_ack = ack;
		me->last_win = win;
	}
	rc = t->cb(t->arg, p, comment, e);
	p->comment = NULL;
	return rc < 0 ? rc : 0;
}

/*
 * Emit a segment from side @p s at its snd_nxt acknowledging its rcv_nxt;
 * advance snd_nxt by the segment's sequence space and record on the peer
 * that it received it (control segments and the handshake: never lost).
 */
static int emit(struct umpa_tcps *t, int s, unsigned flags, const uint8_t *data, uint32_t n, const char *comment,
		struct umpa_err *e)
{
	struct tcps_end *me = &t->end[s], *peer = &t->end[!s];
	uint32_t tv = tsval(t, s), seq = me->snd_nxt;

	/* sequence space: data, SYN and FIN count */
	me->snd_nxt += n + ((flags & TH_SYN) ? 1u : 0u) + ((flags & TH_FIN) ? 1u : 0u);
	/* the peer sees it rtt/2 later */
	if (!(flags & TH_RST)) {
		peer->rcv_nxt = me->snd_nxt;
		if (t->ts_on)
			peer->ts_recent = tv;
	}
	return emit_seg(t, s, flags, seq, me->rcv_nxt, data, n, comment, NULL, 0, e);
}

/* True with probability @p p (draws from the RNG only when p > 0). */
static int chance_(struct umpa_tcps *t, double p)
{
	return p > 0 && (double)(rng_next(&t->rng) >> 11) * 0x1.0p-53 < p;
}

/* Append a segment to the current round. */
static int add_seg_(struct umpa_tcps *t, size_t off, uint32_t len, int kind, struct umpa_err *e)
{
	struct seg_ *g;
	int rc;

	if ((rc = grow_(&t->segs, &t->scap, t->nsegs + 1, sizeof(*t->segs), e)) < 0)
		return rc;
	g = &t->segs[t->nsegs++];
	memset(g, 0, sizeof(*g));
	g->off = off;
	g->len = len;
	g->kind = (uint8_t)kind;
	return 0;
}

/* The receiver queues an ACK of everything in order, with SACK blocks (D-SACK [@p dl, @p dr) first when dr > dl). */
static int add_ack_(struct umpa_tcps *t, size_t dl, size_t dr, struct umpa_err *e)
{
	struct ackrec_ *a;
	int rc;

	if ((rc = grow_(&t->acks, &t->acap, t->nacks + 1, sizeof(*t->acks), e)) < 0)
		return rc;
	a = &t->acks[t->nacks++];
	a->ack = t->r_nxt;
	a->nsack = 0;
	a->dsack = 0;
	t->r_pending = 0;
	if (!t->o.sackok)
		return 0;
	a->dsack = dr > dl;
	a->nsack = umpa_tcp_sack_blocks_(&t->ooo, dl, dr, t->ts_on ? 3 : 4, a->sack);
	return 0;
}

/*
 * The receiver gets data [@p a, @p b): like a Linux receiver it acknowledges
 * every second in-order segment, and at once anything out of order, a
 * duplicate (with a D-SACK block) or data that fills a hole.
 */
static int deliver_(struct umpa_tcps *t, size_t a, size_t b, struct umpa_err *e)
{
	size_t old = t->r_nxt;
	int had;

	if (b <= old)
		return add_ack_(t, a, b, e);
	if (a > old) {
		int rc = umpa_tcp_ivls_add_(&t->ooo, a, b, e);
		return rc < 0 ? rc : add_ack_(t, 0, 0, e);
	}
	had = t->ooo.n > 0;
	t->r_nxt = (size_t)umpa_tcp_ivls_advance_(&t->ooo, b);
	if (a < old)
		return add_ack_(t, a, old, e);
	if (had)
		return add_ack_(t, 0, 0, e);
	if (++t->r_pending == 2)
		return add_ack_(t, 0, 0, e);
	return 0;
}

/* Set *@p out to the comment of segment @p g: its labels' texts joined by "; " (NULL: none).  Returns 0 or an error. */
static int seg_comment_(struct umpa_tcps *t, const struct seg_ *g, const struct umpa_tcps_label *labels,
			const char **out, struct umpa_err *e)
{
	size_t len = 0, k = 0;
	int rc;

	*out = NULL;
	if (g->kind != SEG_ORIG || !g->nlab)
		return 0;
	if (g->nlab == 1) {
		*out = labels[g->lab0].text;
		return 0;
	}
	for (size_t i = 0; i < g->nlab; i++)
		len += strlen(labels[g->lab0 + i].text ? labels[g->lab0 + i].text : "") + 2;
	if ((rc = grow_(&t->cbuf, &t->ccap, len + 1, 1, e)) < 0)
		return rc;
	for (size_t i = 0; i < g->nlab; i++) {
		const char *x = labels[g->lab0 + i].text ? labels[g->lab0 + i].text : "";
		size_t xl = strlen(x);

		if (i) {
			memcpy(t->cbuf + k, "; ", 2);
			k += 2;
		}
		memcpy(t->cbuf + k, x, xl);
		k += xl;
	}
	t->cbuf[k] = 0;
	*out = t->cbuf;
	return 0;
}

/*
 * The first half of a round: side @p s sends the segments of t->segs
 * (capture order) of operation @p op; the receiver takes those not lost and
 * queues its ACKs, which round_acks_ sends rtt/2 later.
 */
static int round_segs_(struct umpa_tcps *t, const struct op_ *op, struct umpa_err *e)
{
	int s = op->side;
	struct tcps_end *me = &t->end[s], *rx = &t->end[!s];
	int rc;

	t->nacks = 0;
	t->r_pending = 0;
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct seg_ *g = &t->segs[i];
		const char *comment;
		unsigned fl = TH_ACK | (g->off + g->len == op->n ? TH_PSH : 0u);

		if ((rc = seg_comment_(t, g, op->labels, &comment, e)) < 0 ||
		    (rc = emit_seg(t, s, fl, t->s_base + (uint32_t)g->off, me->rcv_nxt, op->data + g->off, g->len,
				   comment, NULL, 0, e)) < 0)
			return rc;
		if (g->kind == SEG_ORIG)
			t->st.data_segments++;
		else if (g->kind == SEG_COPY)
			t->st.duplicated++;
		else
			t->st.retransmitted++;
		if (g->lost) {
			t->st.lost++;
			continue;
		}
		if (t->ts_on)
			rx->ts_recent = tsval(t, s);
		if ((rc = deliver_(t, g->off, g->off + g->len, e)) < 0)
			return rc;
	}
	if (t->r_pending && (rc = add_ack_(t, 0, 0, e)) < 0)
		return rc;
	return 0;
}

/* The second half of a round: the receiver's ACKs.  Sets t->dups to the duplicate ACKs at the end of the train. */
static int round_acks_(struct umpa_tcps *t, int s, struct umpa_err *e)
{
	struct tcps_end *me = &t->end[s], *rx = &t->end[!s];
	int rc;

	t->dups = 0;
	for (size_t i = 0; i < t->nacks; i++) {
		const struct ackrec_ *a = &t->acks[i];
		uint64_t sk[MAX_SACK][2];
		uint32_t ack = t->s_base + (uint32_t)a->ack;

		for (uint32_t k = 0; k < a->nsack; k++) {
			sk[k][0] = t->s_base + (uint32_t)a->sack[k][0];
			sk[k][1] = t->s_base + (uint32_t)a->sack[k][1];
		}
		if (rx->have_ack && ack == rx->last_ack)
			t->dups++;
		else
			t->dups = 0;
		rx->rcv_nxt = ack;
		if ((rc = emit_seg(t, !s, TH_ACK, rx->snd_nxt, ack, NULL, 0, NULL, (const uint64_t(*)[2])sk, a->nsack,
				   e)) < 0)
			return rc;
		if (t->ts_on)
			me->ts_recent = tsval(t, !s);
		t->st.dsack_acks += a->dsack != 0;
	}
	return 0;
}

/* Hostile network on the flight in t->segs (send order): loss, copies, swaps; leaves it in capture order. */
static int hostile_(struct umpa_tcps *t, struct umpa_err *e)
{
	size_t ncopy = 0, i, j;
	int rc;

	for (i = 0; i < t->nsegs; i++) {
		struct seg_ *g = &t->segs[i];

		g->lost = (uint8_t)chance_(t, t->o.loss);
		g->dup = (uint8_t)(!g->lost && chance_(t, t->o.dup));
		ncopy += g->dup;
	}
	/* a segment arrives after its successor (its copy would then be out of order too: not both) */
	for (i = 0; i + 1 < t->nsegs; i++) {
		if (chance_(t, t->o.reorder) && !t->segs[i].dup) {
			struct seg_ x = t->segs[i];

			t->segs[i] = t->segs[i + 1];
			t->segs[i + 1] = x;
			t->st.reordered++;
			i++;
		}
	}
	if (!ncopy)
		return 0;
	/* each copy right behind its original */
	if ((rc = grow_(&t->segs, &t->scap, t->nsegs + ncopy, sizeof(*t->segs), e)) < 0)
		return rc;
	j = t->nsegs + ncopy;
	for (i = t->nsegs; i-- > 0;) {
		if (t->segs[i].dup) {
			t->segs[--j] = t->segs[i];
			t->segs[j].kind = SEG_COPY;
			t->segs[j].dup = 0;
		}
		t->segs[--j] = t->segs[i];
	}
	t->nsegs += ncopy;
	return 0;
}

/* The retransmissions that repair the receiver's holes below @p end (segments at most @p cap long). */
static int retx_(struct umpa_tcps *t, size_t end, uint32_t cap, struct umpa_err *e)
{
	size_t a = t->r_nxt;
	int rc;

	t->nsegs = 0;
	for (size_t i = 0; a < end; i++) {
		size_t b = i < t->ooo.n ? (size_t)t->ooo.v[i].l : end, stop = b, c;

		if (t->o.overlap && i < t->ooo.n) {
			/* the last piece runs on into the data received after the hole */
			stop = (size_t)t->ooo.v[i].r;
		}
		for (c = a; c < b;) {
			uint32_t k = t->o.overlap ? 1u + (uint32_t)(rng_next(&t->rng) % cap) : cap;

			if (k > b - c)
				k = (uint32_t)(b - c);
			if (c + k == b && stop > b) {
				size_t room = stop - c < cap ? stop - c : cap;
				if (room > k)
					k = k + 1 + (uint32_t)(rng_next(&t->rng) % (room - k));
			}
			if ((rc = add_seg_(t, c, k, SEG_RETX, e)) < 0)
				return rc;
			c += k;
		}
		a = i < t->ooo.n ? (size_t)t->ooo.v[i].r : end;
	}
	return 0;
}

/* ---- operations as chains of loop steps ---- */

/* Send: the next flight (or the end of the send). */
static int send_flight_(struct umpa_tcps *t, const struct op_ *op, int64_t *delay, struct umpa_err *e)
{
	int s = op->side;
	size_t bytes = 0;
	uint32_t segs = 0;
	int rc;

	if (t->s_off >= op->n)
		return 0;
	/* the flight: all its segments leave together */
	t->nsegs = 0;
	while (segs < t->cwnd[s] && t->s_off + bytes < op->n) {
		uint32_t k = t->o.seg_random ? 1u + (uint32_t)(rng_next(&t->rng) % t->s_cap) : t->s_cap;
		struct seg_ *g;

		if (k > op->n - t->s_off - bytes)
			k = (uint32_t)(op->n - t->s_off - bytes);
		if (segs > 0 && bytes + k > t->s_room)
			break;
		if ((rc = add_seg_(t, t->s_off + bytes, k, SEG_ORIG, e)) < 0)
			return rc;
		g = &t->segs[t->nsegs - 1];
		g->lab0 = t->s_li;
		while (t->s_li < op->nlabels && op->labels[t->s_li].offset < t->s_off + bytes + k)
			t->s_li++;
		g->nlab = t->s_li - g->lab0;
		bytes += k;
		segs++;
	}
	t->s_sent = t->s_off + bytes;
	t->s_lossy = 0;
	t->s_tries = 0;
	if (t->s_hostile && (rc = hostile_(t, e)) < 0)
		return rc;
	if ((rc = round_segs_(t, op, e)) < 0)
		return rc;
	/* rtt/2 later the ACKs come */
	*delay = half_rtt(t);
	return 1;
}

/* Send: the ACKs of a round come back; recovery when the receiver has holes. */
static int send_acks_(struct umpa_tcps *t, const struct op_ *op, int64_t *delay, struct umpa_err *e)
{
	int s = op->side, rc;

	if ((rc = round_acks_(t, s, e)) < 0)
		return rc;
	t->end[s].snd_nxt = t->s_base + (uint32_t)t->s_sent;
	if (t->r_nxt < t->s_sent) {
		/* recovery: fast retransmit after 3 duplicate ACKs, else a retransmission timeout;
		 * retransmissions are never lost: one round repairs everything */
		if (t->s_tries == 8)
			return umpa_err_set(e, UMPA_EIO, "tcp stream: recovery does not converge");
		t->s_lossy = 1;
		if (t->dups >= 3 && t->nacks && t->acks[t->nacks - 1].ack == t->r_nxt) {
			t->st.fast_retransmits++;
			*delay = us_(t->o.rtt_us / 2 + REACT_US);
		} else {
			t->st.timeouts++;
			*delay = us_(t->o.rtt_us / 2 + RTO_MIN_US);
		}
		t->step = 3;
		return 1;
	}
	t->s_off = t->s_sent;
	if (t->s_lossy)
		t->cwnd[s] = t->cwnd[s] > 4 ? t->cwnd[s] / 2 : 2;
	else if (t->cwnd[s] < 0x40000000u)
		t->cwnd[s] *= 2;
	/* the next flight follows the last ACK back */
	*delay = half_rtt(t);
	t->step = 1;
	return 1;
}

/*
 * Run step t->step of operation @p op at the loop's time.  Returns 1 with
 * *@p delay set (the next step runs that much later; t->step says which),
 * 0 when the operation is complete, or a negative error.
 */
static int op_step_(struct umpa_tcps *t, struct op_ *op, int64_t *delay, struct umpa_err *e)
{
	int s = op->side, st = t->step++, rc;

	*delay = 0;
	switch (op->kind) {
	case OP_CONNECT:
		if (st == 0) {
			if ((rc = emit(t, UMPA_TCPS_CLIENT, TH_SYN, NULL, 0, NULL, e)) < 0)
				return rc;
			*delay = half_rtt(t);
			return 1;
		}
		if (st == 1) {
			if ((rc = emit(t, UMPA_TCPS_SERVER, TH_SYN | TH_ACK, NULL, 0, NULL, e)) < 0)
				return rc;
			*delay = half_rtt(t);
			return 1;
		}
		if ((rc = emit(t, UMPA_TCPS_CLIENT, TH_ACK, NULL, 0, NULL, e)) < 0)
			return rc;
		t->state = ST_OPEN;
		return 0;
	case OP_SEND:
		if (st == 0) {
			uint32_t mss = seg_size(t, s);
			/* flights never fill the peer's window: tshark would call that "window full" */
			t->s_room = t->o.rwnd > 1 ? t->o.rwnd - 1 : 1;
			t->s_cap = mss;
			if (t->o.seg_max && t->o.seg_max < t->s_cap)
				t->s_cap = t->o.seg_max;
			if (t->s_room < t->s_cap)
				t->s_cap = t->s_room;
			t->s_hostile = t->o.loss > 0 || t->o.dup > 0 || t->o.reorder > 0;
			t->s_off = t->s_sent = t->s_li = 0;
			*delay = us_(t->o.per_flight_delay_us);
			return 1;
		}
		if (st == 1) {
			if (t->s_off == 0) {
				t->s_base = t->end[s].snd_nxt;
				t->r_nxt = 0;
				t->ooo.n = 0;
			}
			return send_flight_(t, op, delay, e);
		}
		if (st == 2)
			return send_acks_(t, op, delay, e);
		/* st == 3: the retransmissions */
		if ((rc = retx_(t, t->s_sent, t->s_cap, e)) < 0 || (rc = round_segs_(t, op, e)) < 0)
			return rc;
		t->s_tries++;
		*delay = half_rtt(t);
		t->step = 2;
		return 1;
	case OP_SHUTDOWN:
		if (st == 0) {
			*delay = us_(t->o.per_flight_delay_us);
			return 1;
		}
		if (st == 1) {
			if ((rc = emit(t, s, TH_FIN | TH_ACK, NULL, 0, NULL, e)) < 0)
				return rc;
			t->end[s].fin_sent = 1;
			*delay = half_rtt(t);
			return 1;
		}
		if (st == 2) {
			if ((rc = emit(t, !s, TH_ACK, NULL, 0, NULL, e)) < 0)
				return rc;
			/* the next packet follows the ACK back */
			*delay = half_rtt(t);
			return 1;
		}
		return 0;
	case OP_CLOSE:
		if (st == 0) {
			*delay = us_(t->o.per_flight_delay_us);
			return 1;
		}
		if (st == 1) {
			/* the first FIN (unless a half-close sent it), the other, the final ACK */
			if (t->end[!s].fin_sent)
				op->side = s = !s;
			if (!t->end[s].fin_sent) {
				if ((rc = emit(t, s, TH_FIN | TH_ACK, NULL, 0, NULL, e)) < 0)
					return rc;
				t->end[s].fin_sent = 1;
				*delay = half_rtt(t);
				return 1;
			}
			st = t->step++;
		}
		if (st == 2) {
			if ((rc = emit(t, !s, TH_FIN | TH_ACK, NULL, 0, NULL, e)) < 0)
				return rc;
			t->end[!s].fin_sent = 1;
			*delay = half_rtt(t);
			return 1;
		}
		if ((rc = emit(t, s, TH_ACK, NULL, 0, NULL, e)) < 0)
			return rc;
		t->state = ST_CLOSED;
		return 0;
	case OP_RESET:
		if (st == 0) {
			*delay = us_(t->o.per_flight_delay_us);
			return 1;
		}
		if ((rc = emit(t, s, TH_RST | TH_ACK, NULL, 0, NULL, e)) < 0)
			return rc;
		t->state = ST_CLOSED;
		return 0;
	}
	return 0;
}

static void step_cb_(struct umpa_loop *loop, void *arg);

/* Run steps of the queued operations until one waits for a timer, the queue is empty, or a step fails. */
static void pump_(struct umpa_tcps *t)
{
	struct umpa_err e = {0};
	int64_t delay;
	int rc;

	while (t->qhead < t->qn) {
		struct op_ *op = &t->q[t->qhead];

		rc = op_step_(t, op, &delay, &e);
		op = &t->q[t->qhead]; /* a callback may have queued more (t->q moved) */
		if (rc > 0) {
			t->tm = umpa_after(t->loop, delay, step_cb_, t, &e);
			if (t->tm)
				return;
			rc = -e.code;
		}
		if (rc < 0) {
			t->failed = 1;
			t->ferr = e;
			q_clear_(t);
			break;
		}
		free(op->blk);
		op->blk = NULL;
		t->qhead++;
		t->step = 0;
	}
	t->qhead = t->qn = 0;
	t->busy = 0;
	if (t->own_loop)
		return; /* the synchronous caller looks at t->failed */
	if (t->idle)
		t->idle(t->idle_arg, t, t->failed ? -t->ferr.code : 0, &t->ferr);
	else if (t->failed)
		umpa_loop_fail(t->loop, &t->ferr);
}

static void step_cb_(struct umpa_loop *loop, void *arg)
{
	struct umpa_tcps *t = arg;

	(void)loop;
	t->tm = NULL;
	pump_(t);
}

/* Kick an idle stream: its first step runs from the loop, at the current time. */
static void kick_cb_(struct umpa_loop *loop, void *arg)
{
	step_cb_(loop, arg);
}

static int idle_(void *arg)
{
	return !((struct umpa_tcps *)arg)->busy;
}

int umpa_tcps_wait(struct umpa_tcps *t, struct umpa_err *e)
{
	int rc;

	if (t->busy) {
		rc = umpa_loop_run_until(t->loop, idle_, t, UMPA_NEVER, e);
		if (rc < 0)
			return rc;
		if (t->busy)
			return umpa_err_set(e, UMPA_EIO, "tcp stream: the loop stopped before the stream was done");
	}
	if (t->failed) {
		if (e)
			*e = t->ferr;
		return -t->ferr.code;
	}
	return 0;
}

/*
 * Queue operation @p kind of @p side with copies of @p data and @p labels,
 * start it if the stream is idle, and on a private loop run it to the end.
 */
static int enqueue_(struct umpa_tcps *t, int kind, int side, const void *data, size_t n,
		    const struct umpa_tcps_label *labels, size_t nlabels, struct umpa_err *e)
{
	struct op_ *op;
	size_t tl = 0;
	uint8_t *blk = NULL;
	int rc;

	if (t->failed)
		return umpa_err_set(e, UMPA_EIO, "tcp stream: an earlier operation failed (%s)", t->ferr.msg);
	for (size_t i = 0; !t->own_loop && i < nlabels; i++)
		tl += strlen(labels[i].text ? labels[i].text : "") + 1;
	if (!t->own_loop && n + tl + nlabels * sizeof(*labels)) {
		blk = malloc(nlabels * sizeof(*labels) + n + tl);
		if (!blk)
			return umpa_err_set(e, UMPA_ENOMEM, "tcp stream: out of memory");
	}
	if ((rc = grow_(&t->q, &t->qcap, t->qn + 1, sizeof(*t->q), e)) < 0) {
		free(blk);
		return rc;
	}
	op = &t->q[t->qn];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->side = side & 1;
	op->blk = blk;
	op->n = n;
	op->nlabels = nlabels;
	op->data = data;
	op->labels = labels;
	if (blk) {
		struct umpa_tcps_label *lc = (struct umpa_tcps_label *)(void *)blk;
		char *txt;

		/* labels first (aligned), then the data, then the texts */
		if (n)
			memcpy(blk + nlabels * sizeof(*labels), data, n);
		op->data = blk + nlabels * sizeof(*labels);
		txt = (char *)blk + nlabels * sizeof(*labels) + n;
		for (size_t i = 0; i < nlabels; i++) {
			size_t k = strlen(labels[i].text ? labels[i].text : "") + 1;

			memcpy(txt, labels[i].text ? labels[i].text : "", k);
			lc[i].offset = labels[i].offset;
			lc[i].text = labels[i].text ? txt : NULL;
			txt += k;
		}
		op->labels = lc;
	}
	t->qn++;
	if (!t->busy) {
		t->busy = 1;
		t->step = 0;
		t->tm = umpa_after(t->loop, 0, kick_cb_, t, e);
		if (!t->tm) {
			free(blk);
			t->qn--;
			t->busy = 0;
			return -e->code;
		}
	}
	if (t->own_loop)
		return umpa_tcps_wait(t, e);
	return 0;
}

/* ---- the API: checks against the state as of the last queued operation, then queue ---- */

int umpa_tcps_connect(struct umpa_tcps *t, struct umpa_err *e)
{
	if (t->q_state != ST_NEW)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: already connected");
	t->q_state = ST_OPEN;
	return enqueue_(t, OP_CONNECT, UMPA_TCPS_CLIENT, NULL, 0, NULL, 0, e);
}

int umpa_tcps_send_labelled(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n,
			    const struct umpa_tcps_label *labels, size_t nlabels, struct umpa_err *e)
{
	int s = side & 1;

	if (t->q_state != ST_OPEN || t->q_fin[s])
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: %s cannot send (not connected or closed)",
				    s ? "server" : "client");
	if (n && !data)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: no data");
	if (nlabels && !labels)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: no labels");
	for (size_t i = 0; i < nlabels; i++)
		if (labels[i].offset >= n || (i && labels[i].offset < labels[i - 1].offset))
			return umpa_err_set(e, UMPA_EINVAL, "tcp stream: label %zu at offset %zu: %s", i,
					    labels[i].offset, labels[i].offset >= n ? "beyond the data" : "not sorted");
	return enqueue_(t, OP_SEND, s, data, n, labels, nlabels, e);
}

int umpa_tcps_send(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n, const char *comment,
		   struct umpa_err *e)
{
	struct umpa_tcps_label l = {0, comment};

	return umpa_tcps_send_labelled(t, side, data, n, &l, comment && n ? 1 : 0, e);
}

int umpa_tcps_close(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e)
{
	if (t->q_state != ST_OPEN)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: not connected");
	t->q_state = ST_CLOSED;
	t->q_fin[0] = t->q_fin[1] = 1;
	return enqueue_(t, OP_CLOSE, side, NULL, 0, NULL, 0, e);
}

int umpa_tcps_shutdown(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e)
{
	int s = side & 1;

	if (t->q_state != ST_OPEN || t->q_fin[s])
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: %s cannot shut down (not connected or closed)",
				    s ? "server" : "client");
	if (t->q_fin[!s])
		return umpa_tcps_close(t, side, e);
	t->q_fin[s] = 1;
	return enqueue_(t, OP_SHUTDOWN, s, NULL, 0, NULL, 0, e);
}

void umpa_tcps_stats(const struct umpa_tcps *t, struct umpa_tcps_stats *st)
{
	*st = t->st;
}

int umpa_tcps_reset(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e)
{
	if (t->q_state != ST_OPEN)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: not connected");
	t->q_state = ST_CLOSED;
	return enqueue_(t, OP_RESET, side, NULL, 0, NULL, 0, e);
}
