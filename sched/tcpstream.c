/* tcpstream.c - a userland TCP endpoint pair that turns byte streams into packets.
 *
 * See umpa_tcpstream.h.  Each endpoint keeps snd_nxt (next sequence number
 * to send), rcv_nxt (next expected from the peer), its timestamp base and
 * the last timestamp value received (TS.Recent, echoed as TSecr).  The
 * receiver reads everything at once, so its window stays constant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_protos.h"
#include "umpa_tcpstream.h"

#define TH_FIN 0x01u
#define TH_SYN 0x02u
#define TH_RST 0x04u
#define TH_PSH 0x08u
#define TH_ACK 0x10u

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

/* An interval of bytes [l, r) the receiver holds beyond the next expected one. */
struct ivl_ {
	size_t l, r;
	uint64_t stamp; /* when last extended: SACK blocks go most recent first */
};

#define MAX_SACK 4

/* An ACK the receiver sends: its cumulative offset and SACK blocks (offsets; the first may be a D-SACK). */
struct ackrec_ {
	size_t ack;
	uint32_t nsack;
	int dsack; /* the first block is a D-SACK */
	size_t sack[MAX_SACK][2];
};

struct tcps_end {
	uint32_t isn;
	uint32_t snd_nxt;
	uint32_t rcv_nxt;
	uint32_t ts_base;
	uint32_t ts_recent;
	uint16_t ip_id;
	uint16_t port;
	int fin_sent;
	int have_ack;      /* sent a segment with ACK */
	uint32_t last_ack; /* its acknowledgement number */
	uint32_t last_win; /* and its window in bytes */
};

struct umpa_tcps {
	struct umpa_tcps_opts o;
	umpa_tcps_emit_cb cb;
	void *arg;
	uint64_t rng;
	int64_t now;   /* ns since the epoch */
	int64_t start; /* ns since the epoch */
	int state;
	int wscale_on;    /* both sides announced a window scale */
	int ts_on;        /* timestamps negotiated */
	uint32_t cwnd[2]; /* segments per flight, per sender */
	struct tcps_end end[2];
	struct umpa_pkt pkt;
	struct umpa_tcps_stats st;
	/* the send in progress (offsets relative to its first byte) */
	struct seg_ *segs; /* the current round, in capture order */
	size_t nsegs, scap;
	struct ackrec_ *acks; /* ACKs the receiver sends after the current round */
	size_t nacks, acap;
	struct ivl_ *ooo; /* out-of-order data the receiver holds, sorted */
	size_t nooo, ocap;
	uint64_t ooo_stamp;
	char *cbuf; /* joined label texts */
	size_t ccap;
	size_t r_nxt;       /* the receiver's next expected offset */
	uint32_t r_pending; /* in-order segments it has not acknowledged */
	uint32_t dups;      /* duplicate ACKs at the end of the last ACK train */
	const struct umpa_field *f_eth_src, *f_eth_dst;
	const struct umpa_field *f_ip_src, *f_ip_dst, *f_ip_id, *f_ip_df;
	const struct umpa_field *f_sport, *f_dport, *f_seq, *f_ack, *f_flags, *f_win, *f_opts;
};

/* splitmix64 (public domain, Sebastiano Vigna). */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

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

static const struct umpa_field *need_field(const struct umpa_proto *pr, const char *name, int *missing)
{
	const struct umpa_field *f = umpa_proto_field(pr, name);

	if (!f)
		*missing = 1;
	return f;
}

struct umpa_tcps *umpa_tcps_new(const struct umpa_tcps_opts *o, umpa_tcps_emit_cb cb, void *arg, struct umpa_err *e)
{
	struct umpa_tcps_opts def;
	struct umpa_tcps *t;
	const struct umpa_proto *l3;
	int missing = 0;

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
	if (!t->o.rwnd)
		t->o.rwnd = t->wscale_on ? 131072u : 65535u;
	if (t->o.rwnd > (65535u << (t->wscale_on ? t->o.wscale : 0))) {
		umpa_err_set(e, UMPA_EINVAL, "tcp stream: window %u too large for scale %d", t->o.rwnd, t->o.wscale);
		free(t);
		return NULL;
	}
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
	}
	t->end[0].port = o->port[0] ? o->port[0] : (uint16_t)(32768 + rng_next(&t->rng) % (61000 - 32768));
	t->end[1].port = o->port[1] ? o->port[1] : 443;
	for (int s = 0; s < 2; s++) {
		t->end[s].isn = (uint32_t)rng_next(&t->rng);
		t->end[s].snd_nxt = t->end[s].isn;
		t->end[s].ts_base = (uint32_t)rng_next(&t->rng);
		t->end[s].ip_id = (uint16_t)rng_next(&t->rng);
		t->cwnd[s] = 10;
	}
	t->start = o->start_sec * 1000000000 + o->start_nsec;
	t->now = t->start;
	t->state = ST_NEW;
	umpa_pkt_init(&t->pkt);

	l3 = t->o.ipv6 ? &umpa_proto_ipv6 : &umpa_proto_ip;
	t->f_eth_src = need_field(&umpa_proto_eth, "src", &missing);
	t->f_eth_dst = need_field(&umpa_proto_eth, "dst", &missing);
	t->f_ip_src = need_field(l3, "src", &missing);
	t->f_ip_dst = need_field(l3, "dst", &missing);
	if (!t->o.ipv6) {
		t->f_ip_id = need_field(l3, "id", &missing);
		t->f_ip_df = need_field(l3, "flags.df", &missing);
	}
	t->f_sport = need_field(&umpa_proto_tcp, "srcport", &missing);
	t->f_dport = need_field(&umpa_proto_tcp, "dstport", &missing);
	t->f_seq = need_field(&umpa_proto_tcp, "seq", &missing);
	t->f_ack = need_field(&umpa_proto_tcp, "ack", &missing);
	t->f_flags = need_field(&umpa_proto_tcp, "flags", &missing);
	t->f_win = need_field(&umpa_proto_tcp, "window_size_value", &missing);
	t->f_opts = need_field(&umpa_proto_tcp, "options", &missing);
	if (missing) {
		umpa_err_set(e, UMPA_ENOSYS, "tcp stream: protocol tables lack a field it needs");
		free(t);
		return NULL;
	}
	return t;
}

void umpa_tcps_free(struct umpa_tcps *t)
{
	if (!t)
		return;
	umpa_pkt_release(&t->pkt);
	free(t->segs);
	free(t->acks);
	free(t->ooo);
	free(t->cbuf);
	free(t);
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
	return t->end[side & 1].port;
}

int64_t umpa_tcps_now_ns(const struct umpa_tcps *t)
{
	return t->now;
}

/* Advance the clock by @p us microseconds. */
static void tick(struct umpa_tcps *t, uint64_t us)
{
	t->now += (int64_t)us * 1000;
}

/* Half a round trip: the time between a packet and its answer at the capture point. */
static void half_rtt(struct umpa_tcps *t)
{
	tick(t, t->o.rtt_us / 2);
}

/* The timestamp value side @p s sends now: a 1 kHz clock from its random base. */
static uint32_t tsval(const struct umpa_tcps *t, int s)
{
	return t->end[s].ts_base + (uint32_t)((uint64_t)(t->now - t->start) / 1000000u);
}

/* The window field side @p s announces (unscaled in a SYN, never scaled there). */
static uint32_t win_field(const struct umpa_tcps *t, int syn)
{
	uint32_t w = t->o.rwnd;

	if (syn || !t->wscale_on)
		return w > 65535 ? 65535 : w;
	return w >> t->o.wscale;
}

/* Payload bytes per segment sent by @p s: the peer's MSS less the timestamp option. */
static uint32_t seg_size(const struct umpa_tcps *t, int s)
{
	return (uint32_t)t->o.mss[!s] - (t->ts_on ? 12u : 0u);
}

/*
 * Build and emit one segment from side @p s with @p flags, sequence number
 * @p seq, acknowledgement number @p ack, @p n bytes of @p data and
 * @p nsack SACK blocks (sequence numbers) in @p sack.  Counts duplicate
 * ACKs and ACKs with SACK blocks; changes no sequence state.
 */
static int emit_seg(struct umpa_tcps *t, int s, unsigned flags, uint32_t seq, uint32_t ack, const uint8_t *data,
		    uint32_t n, const char *comment, const uint32_t (*sack)[2], uint32_t nsack, struct umpa_err *e)
{
	struct tcps_end *me = &t->end[s], *peer = &t->end[!s];
	struct umpa_pkt *p = &t->pkt;
	uint32_t alen = t->o.ipv6 ? 16 : 4;
	uint32_t tv = tsval(t, s);
	char opts[256];
	uint32_t win;
	int li3, li4, rc;

	umpa_pkt_release(p);
	umpa_pkt_init(p);
	if ((rc = umpa_pkt_push(p, &umpa_proto_eth, e)) < 0)
		return rc;
	if ((li3 = umpa_pkt_push(p, t->o.ipv6 ? &umpa_proto_ipv6 : &umpa_proto_ip, e)) < 0)
		return li3;
	if ((li4 = umpa_pkt_push(p, &umpa_proto_tcp, e)) < 0)
		return li4;
	if ((rc = umpa_field_set_bytes(p, 0, t->f_eth_src, t->o.mac[s], 6, e)) < 0 ||
	    (rc = umpa_field_set_bytes(p, 0, t->f_eth_dst, t->o.mac[!s], 6, e)) < 0 ||
	    (rc = umpa_field_set_bytes(p, (unsigned)li3, t->f_ip_src, t->o.addr[s], alen, e)) < 0 ||
	    (rc = umpa_field_set_bytes(p, (unsigned)li3, t->f_ip_dst, t->o.addr[!s], alen, e)) < 0)
		return rc;
	if (!t->o.ipv6) {
		if ((rc = umpa_field_set_u64(p, (unsigned)li3, t->f_ip_id, me->ip_id++, e)) < 0 ||
		    (rc = umpa_field_set_u64(p, (unsigned)li3, t->f_ip_df, 1, e)) < 0)
			return rc;
	}
	opts[0] = 0;
	if (flags & TH_SYN) {
		size_t k = (size_t)snprintf(opts, sizeof(opts), "mss=%u", t->o.mss[s]);
		if (t->o.sackok)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, t->ts_on ? ",sackok" : ",nop,nop,sackok");
		if (t->ts_on)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, "%sts=%u:%u", t->o.sackok ? "," : ",nop,nop,",
					      tv, (flags & TH_ACK) ? me->ts_recent : 0u);
		if (t->wscale_on)
			snprintf(opts + k, sizeof(opts) - k, ",nop,wscale=%d", t->o.wscale);
	} else if (!(flags & TH_RST)) {
		size_t k = 0;

		if (t->ts_on)
			k = (size_t)snprintf(opts, sizeof(opts), "nop,nop,ts=%u:%u", tv, me->ts_recent);
		for (uint32_t i = 0; i < nsack; i++)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, "%s%u-%u",
					      i   ? ":"
					      : k ? ",nop,nop,sack="
						  : "nop,nop,sack=",
					      sack[i][0], sack[i][1]);
	}
	if ((rc = umpa_field_set_u64(p, (unsigned)li4, t->f_sport, me->port, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_dport, peer->port, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_seq, seq, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_ack, (flags & TH_ACK) ? ack : 0u, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_flags, flags, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_win, (flags & TH_RST) ? 0u : win_field(t, flags & TH_SYN),
				     e)) < 0)
		return rc;
	if (opts[0] && (rc = umpa_field_set_str(p, (unsigned)li4, t->f_opts, opts, e)) < 0)
		return rc;
	if (n && (rc = umpa_pkt_push_bytes(p, &umpa_proto_raw, data, n, e)) < 0)
		return rc;
	if ((rc = umpa_pkt_finish(p, e)) < 0)
		return rc;
	p->linktype = UMPA_LINKTYPE_ETHERNET;
	p->ts_sec = t->now / 1000000000;
	p->ts_nsec = (uint32_t)(t->now % 1000000000);
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

int umpa_tcps_connect(struct umpa_tcps *t, struct umpa_err *e)
{
	int rc;

	if (t->state != ST_NEW)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: already connected");
	if ((rc = emit(t, UMPA_TCPS_CLIENT, TH_SYN, NULL, 0, NULL, e)) < 0)
		return rc;
	half_rtt(t);
	if ((rc = emit(t, UMPA_TCPS_SERVER, TH_SYN | TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	half_rtt(t);
	if ((rc = emit(t, UMPA_TCPS_CLIENT, TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	t->state = ST_OPEN;
	return 0;
}

/* Make room for @p need elements of @p size in *@p buf (capacity *@p cap). */
static int grow_(void *buf, size_t *cap, size_t need, size_t size, struct umpa_err *e)
{
	void **b = buf;
	size_t ncap = *cap ? *cap : 64;
	void *nb;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(*b, ncap * size);
	if (!nb)
		return umpa_err_set(e, UMPA_ENOMEM, "tcp stream: out of memory");
	*b = nb;
	*cap = ncap;
	return 0;
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
	uint32_t max = t->ts_on ? 3 : 4;
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
	if (dr > dl) {
		a->sack[0][0] = dl;
		a->sack[0][1] = dr;
		a->nsack = 1;
	}
	/* then the out-of-order blocks, most recently extended first (RFC 2018) */
	while (a->nsack < max) {
		const struct ivl_ *best = NULL;
		for (size_t i = 0; i < t->nooo; i++) {
			const struct ivl_ *v = &t->ooo[i];
			int used = 0;
			for (uint32_t k = (dr > dl); k < a->nsack; k++)
				if (a->sack[k][0] == v->l)
					used = 1;
			if (!used && (!best || v->stamp > best->stamp))
				best = v;
		}
		if (!best)
			break;
		a->sack[a->nsack][0] = best->l;
		a->sack[a->nsack][1] = best->r;
		a->nsack++;
	}
	return 0;
}

/* The receiver holds [@p l, @p r) out of order: merge it into its sorted list. */
static int ooo_add_(struct umpa_tcps *t, size_t l, size_t r, struct umpa_err *e)
{
	size_t i = 0, j;
	int rc;

	while (i < t->nooo && t->ooo[i].r < l)
		i++;
	/* i: the first interval touching or after [l, r) */
	j = i;
	while (j < t->nooo && t->ooo[j].l <= r) {
		if (t->ooo[j].l < l)
			l = t->ooo[j].l;
		if (t->ooo[j].r > r)
			r = t->ooo[j].r;
		j++;
	}
	if (j == i) {
		if ((rc = grow_(&t->ooo, &t->ocap, t->nooo + 1, sizeof(*t->ooo), e)) < 0)
			return rc;
		memmove(t->ooo + i + 1, t->ooo + i, (t->nooo - i) * sizeof(*t->ooo));
		t->nooo++;
	} else if (j > i + 1) {
		memmove(t->ooo + i + 1, t->ooo + j, (t->nooo - j) * sizeof(*t->ooo));
		t->nooo -= j - i - 1;
	}
	t->ooo[i].l = l;
	t->ooo[i].r = r;
	t->ooo[i].stamp = ++t->ooo_stamp;
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
		int rc = ooo_add_(t, a, b, e);
		return rc < 0 ? rc : add_ack_(t, 0, 0, e);
	}
	had = t->nooo > 0;
	t->r_nxt = b;
	while (t->nooo && t->ooo[0].l <= t->r_nxt) {
		if (t->ooo[0].r > t->r_nxt)
			t->r_nxt = t->ooo[0].r;
		memmove(t->ooo, t->ooo + 1, (t->nooo - 1) * sizeof(*t->ooo));
		t->nooo--;
	}
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
 * One round: side @p s sends the segments of t->segs (capture order); the
 * receiver takes those not lost; rtt/2 later its ACKs come back.  Sets
 * t->dups to the number of duplicate ACKs at the end of the ACK train.
 */
static int round_(struct umpa_tcps *t, int s, uint32_t base, const uint8_t *d, size_t n,
		  const struct umpa_tcps_label *labels, struct umpa_err *e)
{
	struct tcps_end *me = &t->end[s], *rx = &t->end[!s];
	int rc;

	t->nacks = 0;
	t->r_pending = 0;
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct seg_ *g = &t->segs[i];
		const char *comment;
		unsigned fl = TH_ACK | (g->off + g->len == n ? TH_PSH : 0u);

		if ((rc = seg_comment_(t, g, labels, &comment, e)) < 0 ||
		    (rc = emit_seg(t, s, fl, base + (uint32_t)g->off, me->rcv_nxt, d + g->off, g->len, comment, NULL, 0,
				   e)) < 0)
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
	/* rtt/2 later the ACKs come */
	half_rtt(t);
	t->dups = 0;
	for (size_t i = 0; i < t->nacks; i++) {
		const struct ackrec_ *a = &t->acks[i];
		uint32_t sk[MAX_SACK][2], ack = base + (uint32_t)a->ack;

		for (uint32_t k = 0; k < a->nsack; k++) {
			sk[k][0] = base + (uint32_t)a->sack[k][0];
			sk[k][1] = base + (uint32_t)a->sack[k][1];
		}
		if (rx->have_ack && ack == rx->last_ack)
			t->dups++;
		else
			t->dups = 0;
		rx->rcv_nxt = ack;
		if ((rc = emit_seg(t, !s, TH_ACK, rx->snd_nxt, ack, NULL, 0, NULL, (const uint32_t(*)[2])sk, a->nsack,
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
		size_t b = i < t->nooo ? t->ooo[i].l : end, stop = b, c;

		if (t->o.overlap && i < t->nooo) {
			/* the last piece runs on into the data received after the hole */
			stop = t->ooo[i].r;
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
		a = i < t->nooo ? t->ooo[i].r : end;
	}
	return 0;
}

int umpa_tcps_send_labelled(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n,
			    const struct umpa_tcps_label *labels, size_t nlabels, struct umpa_err *e)
{
	const uint8_t *d = data;
	int s = side & 1;
	uint32_t mss = seg_size(t, s);
	/* flights never fill the peer's window: tshark would call that "window full" */
	uint32_t room = t->o.rwnd > 1 ? t->o.rwnd - 1 : 1;
	uint32_t cap = mss, base;
	size_t off = 0, li = 0;
	int hostile = t->o.loss > 0 || t->o.dup > 0 || t->o.reorder > 0;
	int rc;

	if (t->state != ST_OPEN || t->end[s].fin_sent)
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
	if (t->o.seg_max && t->o.seg_max < cap)
		cap = t->o.seg_max;
	if (room < cap)
		cap = room;
	tick(t, t->o.per_flight_delay_us);
	base = t->end[s].snd_nxt;
	t->r_nxt = 0;
	t->nooo = 0;
	while (off < n) {
		size_t bytes = 0, sent;
		uint32_t segs = 0;
		int lossy = 0;

		/* the flight: all its segments leave together */
		t->nsegs = 0;
		while (segs < t->cwnd[s] && off + bytes < n) {
			uint32_t k = t->o.seg_random ? 1u + (uint32_t)(rng_next(&t->rng) % cap) : cap;
			struct seg_ *g;

			if (k > n - off - bytes)
				k = (uint32_t)(n - off - bytes);
			if (segs > 0 && bytes + k > room)
				break;
			if ((rc = add_seg_(t, off + bytes, k, SEG_ORIG, e)) < 0)
				return rc;
			g = &t->segs[t->nsegs - 1];
			g->lab0 = li;
			while (li < nlabels && labels[li].offset < off + bytes + k)
				li++;
			g->nlab = li - g->lab0;
			bytes += k;
			segs++;
		}
		sent = off + bytes;
		if (hostile && (rc = hostile_(t, e)) < 0)
			return rc;
		if ((rc = round_(t, s, base, d, n, labels, e)) < 0)
			return rc;
		t->end[s].snd_nxt = base + (uint32_t)sent;
		/* recovery: fast retransmit after 3 duplicate ACKs, else a retransmission timeout */
		for (int tries = 0; t->r_nxt < sent; tries++) {
			/* retransmissions are never lost: one round repairs everything */
			if (tries == 8)
				return umpa_err_set(e, UMPA_EIO, "tcp stream: recovery does not converge");
			lossy = 1;
			if (t->dups >= 3 && t->nacks && t->acks[t->nacks - 1].ack == t->r_nxt) {
				t->st.fast_retransmits++;
				tick(t, t->o.rtt_us / 2 + REACT_US);
			} else {
				t->st.timeouts++;
				tick(t, t->o.rtt_us / 2 + RTO_MIN_US);
			}
			if ((rc = retx_(t, sent, cap, e)) < 0 || (rc = round_(t, s, base, d, n, labels, e)) < 0)
				return rc;
		}
		off = sent;
		if (lossy)
			t->cwnd[s] = t->cwnd[s] > 4 ? t->cwnd[s] / 2 : 2;
		else if (t->cwnd[s] < 0x40000000u)
			t->cwnd[s] *= 2;
		/* the next flight follows the last ACK back */
		half_rtt(t);
	}
	return 0;
}

int umpa_tcps_send(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n, const char *comment,
		   struct umpa_err *e)
{
	struct umpa_tcps_label l = {0, comment};

	return umpa_tcps_send_labelled(t, side, data, n, &l, comment && n ? 1 : 0, e);
}

int umpa_tcps_close(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e)
{
	int s = side & 1, rc;

	if (t->state != ST_OPEN)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: not connected");
	tick(t, t->o.per_flight_delay_us);
	/* the first FIN (unless a half-close sent it), the other, the final ACK */
	if (t->end[!s].fin_sent)
		s = !s;
	if (!t->end[s].fin_sent) {
		if ((rc = emit(t, s, TH_FIN | TH_ACK, NULL, 0, NULL, e)) < 0)
			return rc;
		t->end[s].fin_sent = 1;
		half_rtt(t);
	}
	if ((rc = emit(t, !s, TH_FIN | TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	t->end[!s].fin_sent = 1;
	half_rtt(t);
	if ((rc = emit(t, s, TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	t->state = ST_CLOSED;
	return 0;
}

int umpa_tcps_shutdown(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e)
{
	int s = side & 1, rc;

	if (t->state != ST_OPEN || t->end[s].fin_sent)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: %s cannot shut down (not connected or closed)",
				    s ? "server" : "client");
	if (t->end[!s].fin_sent)
		return umpa_tcps_close(t, side, e);
	tick(t, t->o.per_flight_delay_us);
	if ((rc = emit(t, s, TH_FIN | TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	t->end[s].fin_sent = 1;
	half_rtt(t);
	if ((rc = emit(t, !s, TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	/* the next packet follows the ACK back */
	half_rtt(t);
	return 0;
}

void umpa_tcps_stats(const struct umpa_tcps *t, struct umpa_tcps_stats *st)
{
	*st = t->st;
}

int umpa_tcps_reset(struct umpa_tcps *t, enum umpa_tcps_side side, struct umpa_err *e)
{
	int s = side & 1, rc;

	if (t->state != ST_OPEN)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: not connected");
	tick(t, t->o.per_flight_delay_us);
	if ((rc = emit(t, s, TH_RST | TH_ACK, NULL, 0, NULL, e)) < 0)
		return rc;
	t->state = ST_CLOSED;
	return 0;
}
