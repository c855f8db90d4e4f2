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

struct tcps_end {
	uint32_t isn;
	uint32_t snd_nxt;
	uint32_t rcv_nxt;
	uint32_t ts_base;
	uint32_t ts_recent;
	uint16_t ip_id;
	uint16_t port;
	int fin_sent;
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
	uint32_t *acks; /* ACK numbers the receiver sends after the current flight */
	size_t nacks, acap;
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
	free(t->acks);
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
 * Build and emit one segment from side @p s with @p flags, the current
 * snd_nxt/rcv_nxt, and @p n bytes of @p data; advance snd_nxt by the
 * segment's sequence space and record on the peer what it received.
 */
static int emit(struct umpa_tcps *t, int s, unsigned flags, const uint8_t *data, uint32_t n, const char *comment,
		struct umpa_err *e)
{
	struct tcps_end *me = &t->end[s], *peer = &t->end[!s];
	struct umpa_pkt *p = &t->pkt;
	uint32_t alen = t->o.ipv6 ? 16 : 4;
	uint32_t tv = tsval(t, s);
	char opts[128];
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
	} else if (t->ts_on && !(flags & TH_RST)) {
		snprintf(opts, sizeof(opts), "nop,nop,ts=%u:%u", tv, me->ts_recent);
	}
	if ((rc = umpa_field_set_u64(p, (unsigned)li4, t->f_sport, me->port, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_dport, peer->port, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_seq, me->snd_nxt, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, t->f_ack, (flags & TH_ACK) ? me->rcv_nxt : 0u, e)) < 0 ||
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

	/* sequence space: data, SYN and FIN count */
	me->snd_nxt += n + ((flags & TH_SYN) ? 1u : 0u) + ((flags & TH_FIN) ? 1u : 0u);
	/* the peer sees it rtt/2 later, in order (nothing is lost) */
	if (!(flags & TH_RST)) {
		peer->rcv_nxt = me->snd_nxt;
		if (t->ts_on)
			peer->ts_recent = tv;
	}
	rc = t->cb(t->arg, p, comment, e);
	p->comment = NULL;
	return rc < 0 ? rc : 0;
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

/* Remember that the receiver will acknowledge up to @p seq after this flight. */
static int push_ack(struct umpa_tcps *t, uint32_t seq, struct umpa_err *e)
{
	if (t->nacks == t->acap) {
		size_t ncap = t->acap ? t->acap * 2 : 64;
		uint32_t *a = realloc(t->acks, ncap * sizeof(*a));

		if (!a)
			return umpa_err_set(e, UMPA_ENOMEM, "tcp stream: out of memory");
		t->acks = a;
		t->acap = ncap;
	}
	t->acks[t->nacks++] = seq;
	return 0;
}

int umpa_tcps_send(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n, const char *comment,
		   struct umpa_err *e)
{
	const uint8_t *d = data;
	int s = side & 1;
	uint32_t mss = seg_size(t, s);
	/* flights never fill the peer's window: tshark would call that "window full" */
	uint32_t room = t->o.rwnd > 1 ? t->o.rwnd - 1 : 1;
	uint32_t cap = mss;
	int rc;

	if (t->state != ST_OPEN || t->end[s].fin_sent)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: %s cannot send (not connected or closed)",
				    s ? "server" : "client");
	if (n && !data)
		return umpa_err_set(e, UMPA_EINVAL, "tcp stream: no data");
	if (t->o.seg_max && t->o.seg_max < cap)
		cap = t->o.seg_max;
	if (room < cap)
		cap = room;
	tick(t, t->o.per_flight_delay_us);
	while (n > 0) {
		uint32_t start = t->end[s].snd_nxt, bytes = 0, segs = 0, i;

		t->nacks = 0;
		/* the flight: all its segments leave together */
		while (segs < t->cwnd[s] && n > 0) {
			uint32_t k = t->o.seg_random ? 1u + (uint32_t)(rng_next(&t->rng) % cap) : cap;
			unsigned fl;

			if (k > n)
				k = (uint32_t)n;
			if (segs > 0 && bytes + k > room)
				break;
			fl = TH_ACK | (k == n ? TH_PSH : 0u);
			if ((rc = emit(t, s, fl, d, k, comment, e)) < 0)
				return rc;
			comment = NULL;
			d += k;
			n -= k;
			bytes += k;
			segs++;
			/* the peer acknowledges every second segment and the last of the flight */
			if (segs % 2 == 0 || n == 0) {
				if ((rc = push_ack(t, start + bytes, e)) < 0)
					return rc;
			}
		}
		if (!t->nacks || t->acks[t->nacks - 1] != start + bytes) {
			if ((rc = push_ack(t, start + bytes, e)) < 0)
				return rc;
		}
		/* rtt/2 later the ACKs come */
		half_rtt(t);
		for (i = 0; i < t->nacks; i++) {
			t->end[!s].rcv_nxt = t->acks[i];
			if ((rc = emit(t, !s, TH_ACK, NULL, 0, NULL, e)) < 0)
				return rc;
		}
		if (t->cwnd[s] < 0x40000000u)
			t->cwnd[s] *= 2;
		/* the next flight follows the last ACK back */
		half_rtt(t);
	}
	return 0;
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

int umpa_tcps_send_labelled(struct umpa_tcps *t, enum umpa_tcps_side side, const void *data, size_t n,
			    const struct umpa_tcps_label *labels, size_t nlabels, struct umpa_err *e)
{
	(void)t, (void)side, (void)data, (void)n, (void)labels, (void)nlabels;
	return umpa_err_set(e, UMPA_ENOSYS, "tcp stream: labelled send not implemented yet");
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
