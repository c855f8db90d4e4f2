/* replay_tcp.c - stateful TCP replay: our side of every recorded flow, played against a live peer and checked.
 *
 * See umpa_replay_tcp.h for the model (RFC 9293 sequence space: SYN and
 * FIN take one number each; relative numbers count from the ISN, so the
 * first data byte is 1).  Each flow keeps its recorded segments in file
 * order (our frames whole, for sending; the peer's payload, for
 * comparing) in one growing byte store, so nothing is allocated per packet
 * while replaying.  Live data from the peer is kept in order only (a
 * segment beyond a hole is dropped: the peer sends it again after our
 * acknowledgement), which is all a comparison needs.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"
#include "umpa_cursor.h"
#include "umpa_inet.h"
#include "umpa_protos.h"
#include "umpa_replay_tcp.h"
#include "umpa_sched.h"

/** The flags a check compares (PSH and the ECN bits are the stack's business). */
#define CMP_FLAGS (UMPA_TH_FIN_ | UMPA_TH_SYN_ | UMPA_TH_RST_ | UMPA_TH_ACK_)

/* One recorded segment. */
struct rseg_ {
	uint64_t frame;
	int64_t ts_ns;
	int64_t sent_ns; /* ours: last transmission (loop clock), -1 before */
	uint8_t ours;
	uint8_t flags;
	uint32_t seq, ack;
	uint32_t n;    /* payload bytes */
	size_t off;    /* ours: the frame in the store; theirs: the payload */
	uint32_t flen; /* ours: frame bytes */
	int linktype;  /* ours */
};

/* One exchange: a recorded segment of the peer that carries SYN, FIN, RST or data. */
struct rchk_ {
	size_t seg;    /* the recorded answer */
	long req;      /* the request (last segment of ours before it), -1 for none */
	uint64_t l, r; /* data: relative [l, r) of the peer's stream; FIN: l = its number */
	int settled;
	enum umpa_rtcp_verdict v;
	int64_t live_rtt;
	char live[40];
	char field[32];   /* differing: the field */
	char dval[2][64]; /* its recorded and live values */
	char note[112];   /* missing: why */
};

struct rflow_ {
	int ipv6;
	uint8_t addr[2][16];    /* [0] ours, [1] the peer's */
	uint16_t port[2];       /* [0] ours as sent (umpa_rtcp_renew), [1] the peer's */
	uint16_t rec_port;      /* ours as recorded */
	uint16_t peer_rec_port; /* the peer's as recorded (port[1] differs once umpa_rtcp_peer_port moved it) */
	uint32_t isn_add;       /* added to our sequence numbers as sent (umpa_rtcp_renew) */
	char name[112];
	struct rseg_ *seg;
	size_t nseg, capseg;
	struct rchk_ *chk;
	size_t nchk, capchk;
	uint8_t *store;
	size_t nstore, capstore;
	/* recorded ISNs */
	int our_isn_ok, peer_isn_ok;
	uint32_t our_isn, peer_isn;
	uint64_t rec_peer_end; /* relative end of the recorded peer data */
	/* live */
	int live_isn_ok;
	uint32_t live_isn;
	uint64_t peer_nxt;   /* relative: next number expected from the peer */
	uint64_t peer_acked; /* relative, our space: what the peer acknowledged */
	uint32_t peer_tsval; /* latest timestamp of the peer (echoed) */
	int peer_ts_ok;
	uint8_t *lst; /* the peer's live data, relative byte 1 at [0] */
	size_t nlst, caplst;
	size_t next; /* next segment index to consider sending */
	size_t nchk_done;
	struct umpa_timer *tm;
	unsigned tries, retrans;
	int done;
	const char *gave_up;
	char gave_buf[128];
	uint64_t unexp_bytes;
	unsigned unexp_flags; /* a live SYN or FIN where none was recorded */
	struct umpa_rtcp *rt;
	size_t idx; /* its number */
};

struct umpa_rtcp {
	struct umpa_loop *loop;
	struct umpa_rtcp_opts o;
	umpa_rtcp_send_fn send;
	void *send_arg;
	struct rflow_ **fl;
	size_t nfl, capfl;
	size_t *ht; /* open addressing: flow index + 1 */
	size_t htcap;
	struct umpa_pkt out;
	int started;
	const struct umpa_pkt *cur; /* the live packet being taken */
};

/* ---- small helpers ---- */

static void flags_str_(unsigned f, char *b, size_t n)
{
	static const char L[] = "FSRPAUEC";
	size_t k = 0;

	for (unsigned i = 0; i < 8 && k + 1 < n; i++)
		if (f & (1u << i))
			b[k++] = L[i];
	if (!k && n > 1)
		b[k++] = '-';
	b[k] = 0;
}

const char *umpa_rtcp_verdict_name(enum umpa_rtcp_verdict v)
{
	static const char *const N[] = {"match", "differ", "missing", "unexpected"};
	return (unsigned)v < 4 ? N[v] : "?";
}

/* The addresses and TCP header of dissected @p p. */
struct tuple_ {
	int ipv6, l3, l4;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
};

static int tuple_(const struct umpa_pkt *p, struct tuple_ *t)
{
	struct umpa_cur c;
	uint32_t alen;

	t->l4 = umpa_pkt_find(p, &umpa_proto_tcp, 0);
	if (t->l4 < 0)
		return -1;
	t->l3 = -1;
	for (int i = t->l4 - 1; i >= 0; i--)
		if (p->l[i].proto == &umpa_proto_ip || p->l[i].proto == &umpa_proto_ipv6) {
			t->l3 = i;
			break;
		}
	if (t->l3 < 0)
		return -1;
	t->ipv6 = p->l[t->l3].proto == &umpa_proto_ipv6;
	alen = t->ipv6 ? 16 : 4;
	umpa_layer_cur(p, (unsigned)t->l3, &c);
	if (umpa_cur_ptr_at(&c, t->ipv6 ? 8 : 12, alen, &t->src) < 0 ||
	    umpa_cur_ptr_at(&c, t->ipv6 ? 24 : 16, alen, &t->dst) < 0)
		return -1;
	umpa_layer_cur(p, (unsigned)t->l4, &c);
	if (umpa_cur_be16_at(&c, 0, &t->sport) < 0 || umpa_cur_be16_at(&c, 2, &t->dport) < 0)
		return -1;
	return 0;
}

static uint64_t hash_(int v6, const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
	/* symmetric: both directions of a flow hash alike */
	uint64_t h1 = 1469598103934665603ull, h2 = 1469598103934665603ull;
	size_t n = v6 ? 16 : 4;

	for (size_t i = 0; i < n; i++) {
		h1 = (h1 ^ a[i]) * 1099511628211ull;
		h2 = (h2 ^ b[i]) * 1099511628211ull;
	}
	h1 = (h1 ^ pa) * 1099511628211ull;
	h2 = (h2 ^ pb) * 1099511628211ull;
	return (h1 ^ h2) + (h1 + h2) * 31 + (uint64_t)v6;
}

/* Direction of @p t in flow @p f: 0 ours -> peer, 1 peer -> ours, -1 not this flow. */
static int dir_(const struct rflow_ *f, const struct tuple_ *t)
{
	size_t n = f->ipv6 ? 16 : 4;

	if (t->ipv6 != f->ipv6)
		return -1;
	if (t->sport == f->port[0] && t->dport == f->port[1] && !memcmp(t->src, f->addr[0], n) &&
	    !memcmp(t->dst, f->addr[1], n))
		return 0;
	if (t->sport == f->port[1] && t->dport == f->port[0] && !memcmp(t->src, f->addr[1], n) &&
	    !memcmp(t->dst, f->addr[0], n))
		return 1;
	return -1;
}

static long find_flow_(const struct umpa_rtcp *rt, const struct tuple_ *t, int *dir)
{
	if (!rt->htcap)
		return -1;
	for (size_t i = hash_(t->ipv6, t->src, t->sport, t->dst, t->dport) & (rt->htcap - 1);;
	     i = (i + 1) & (rt->htcap - 1)) {
		size_t v = rt->ht[i];
		if (!v)
			return -1;
		if ((*dir = dir_(rt->fl[v - 1], t)) >= 0)
			return (long)(v - 1);
	}
}

static int ht_put_(struct umpa_rtcp *rt, size_t idx, struct umpa_err *e)
{
	if ((rt->nfl + 1) * 2 > rt->htcap) {
		size_t ncap = rt->htcap ? rt->htcap * 2 : 64;
		size_t *nh = calloc(ncap, sizeof(*nh));
		if (!nh)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		for (size_t k = 0; k < rt->htcap; k++) {
			struct rflow_ *f;
			size_t j;
			if (!rt->ht[k])
				continue;
			f = rt->fl[rt->ht[k] - 1];
			for (j = hash_(f->ipv6, f->addr[0], f->port[0], f->addr[1], f->port[1]) & (ncap - 1); nh[j];
			     j = (j + 1) & (ncap - 1))
				;
			nh[j] = rt->ht[k];
		}
		free(rt->ht);
		rt->ht = nh;
		rt->htcap = ncap;
	}
	{
		struct rflow_ *f = rt->fl[idx];
		size_t j;
		for (j = hash_(f->ipv6, f->addr[0], f->port[0], f->addr[1], f->port[1]) & (rt->htcap - 1); rt->ht[j];
		     j = (j + 1) & (rt->htcap - 1))
			;
		rt->ht[j] = idx + 1;
	}
	return 0;
}

/* ---- life cycle ---- */

struct umpa_rtcp *umpa_rtcp_new(struct umpa_loop *loop, const struct umpa_rtcp_opts *o, umpa_rtcp_send_fn send,
				void *send_arg, struct umpa_err *e)
{
	struct umpa_rtcp *rt = calloc(1, sizeof(*rt));

	if (!rt) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	rt->loop = loop;
	if (o)
		rt->o = *o;
	if (rt->o.timeout_ns <= 0)
		rt->o.timeout_ns = 1000000000;
	if (!rt->o.retries)
		rt->o.retries = 3;
	else if (rt->o.retries == UINT32_MAX)
		rt->o.retries = 0;
	if (!rt->o.max_flows)
		rt->o.max_flows = 65536;
	rt->send = send;
	rt->send_arg = send_arg;
	umpa_pkt_init(&rt->out);
	return rt;
}

struct umpa_rtcp *umpa_rtcp_free(struct umpa_rtcp *rt)
{
	if (!rt)
		return NULL;
	for (size_t i = 0; i < rt->nfl; i++) {
		struct rflow_ *f = rt->fl[i];
		umpa_timer_cancel(f->tm);
		free(f->seg);
		free(f->chk);
		free(f->store);
		free(f->lst);
		free(f);
	}
	free(rt->fl);
	free(rt->ht);
	umpa_pkt_release(&rt->out);
	free(rt);
	return NULL;
}

size_t umpa_rtcp_nflows(const struct umpa_rtcp *rt)
{
	return rt->nfl;
}

static int store_(struct rflow_ *f, const uint8_t *d, size_t n, size_t *off, struct umpa_err *e)
{
	if (umpa_tcp_grow_(&f->store, &f->capstore, f->nstore + n, 1, e) < 0)
		return -UMPA_ENOMEM;
	if (n)
		memcpy(f->store + f->nstore, d, n);
	*off = f->nstore;
	f->nstore += n;
	return 0;
}

static void name_(struct rflow_ *f)
{
	char a[2][64];

	for (int i = 0; i < 2; i++)
		if (!inet_ntop(f->ipv6 ? AF_INET6 : AF_INET, f->addr[i], a[i], sizeof(a[i])))
			snprintf(a[i], sizeof(a[i]), "?");
	snprintf(f->name, sizeof(f->name), f->ipv6 ? "[%s]:%u > [%s]:%u" : "%s:%u > %s:%u", a[0], f->port[0], a[1],
		 f->port[1]);
}

int umpa_rtcp_add(struct umpa_rtcp *rt, const struct umpa_pkt *p, uint64_t frame, int ours, struct umpa_err *e)
{
	struct tuple_ t;
	struct umpa_tcp_segin_ g;
	struct rflow_ *f;
	struct rseg_ *s;
	int dir = 0;
	long fi;

	if (tuple_(p, &t) < 0)
		return 0;
	if (umpa_tcp_parse_(p, (unsigned)t.l4, &g) < 0 || (p->l[t.l4].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)))
		return umpa_err_set(e, UMPA_EFORMAT, "frame %llu: TCP header truncated or invalid",
				    (unsigned long long)frame);
	fi = find_flow_(rt, &t, &dir);
	if (fi < 0) {
		size_t n = t.ipv6 ? 16 : 4;
		if (rt->started)
			return umpa_err_set(e, UMPA_EINVAL, "flows are filed before the start");
		if (rt->nfl >= rt->o.max_flows)
			return umpa_err_set(e, UMPA_ERANGE, "frame %llu: more than %zu TCP flows",
					    (unsigned long long)frame, rt->o.max_flows);
		if (umpa_tcp_grow_(&rt->fl, &rt->capfl, rt->nfl + 1, sizeof(*rt->fl), e) < 0)
			return -UMPA_ENOMEM;
		if (!(f = calloc(1, sizeof(*f))))
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		f->rt = rt;
		f->idx = rt->nfl;
		f->ipv6 = t.ipv6;
		memcpy(f->addr[0], ours ? t.src : t.dst, n);
		memcpy(f->addr[1], ours ? t.dst : t.src, n);
		f->port[0] = ours ? t.sport : t.dport;
		f->port[1] = ours ? t.dport : t.sport;
		f->rec_port = f->port[0];
		f->peer_rec_port = f->port[1];
		name_(f);
		rt->fl[rt->nfl] = f;
		if (ht_put_(rt, rt->nfl, e) < 0) {
			free(f);
			return -UMPA_ENOMEM;
		}
		rt->nfl++;
		dir = ours ? 0 : 1;
	} else {
		f = rt->fl[fi];
	}
	if (umpa_tcp_grow_(&f->seg, &f->capseg, f->nseg + 1, sizeof(*f->seg), e) < 0)
		return -UMPA_ENOMEM;
	s = &f->seg[f->nseg];
	memset(s, 0, sizeof(*s));
	s->frame = frame;
	s->ts_ns = p->ts_sec * 1000000000ll + p->ts_nsec;
	s->sent_ns = -1;
	s->ours = dir == 0;
	s->flags = (uint8_t)g.flags;
	s->seq = g.seq;
	s->ack = g.ack;
	s->n = g.n;
	if (s->ours) {
		if (p->len < p->wirelen)
			return umpa_err_set(e, UMPA_ETRUNC, "frame %llu: captured %u of %u bytes: cannot be sent",
					    (unsigned long long)frame, p->len, p->wirelen);
		if (store_(f, p->data, p->len, &s->off, e) < 0)
			return -UMPA_ENOMEM;
		s->flen = p->len;
		s->linktype = p->linktype;
		if (!f->our_isn_ok) {
			f->our_isn_ok = 1;
			f->our_isn = (g.flags & UMPA_TH_SYN_) ? g.seq : g.seq - 1;
		}
	} else {
		if (store_(f, g.data, g.n, &s->off, e) < 0)
			return -UMPA_ENOMEM;
		if (!f->peer_isn_ok && !(g.flags & UMPA_TH_RST_)) {
			f->peer_isn_ok = 1;
			f->peer_isn = (g.flags & UMPA_TH_SYN_) ? g.seq : g.seq - 1;
		}
		if ((g.flags & (UMPA_TH_SYN_ | UMPA_TH_FIN_ | UMPA_TH_RST_)) || g.n) {
			struct rchk_ *c;
			if (umpa_tcp_grow_(&f->chk, &f->capchk, f->nchk + 1, sizeof(*f->chk), e) < 0)
				return -UMPA_ENOMEM;
			c = &f->chk[f->nchk++];
			memset(c, 0, sizeof(*c));
			c->seg = f->nseg;
			c->req = -1;
			for (size_t k = f->nseg; k-- > 0;)
				if (f->seg[k].ours) {
					c->req = (long)k;
					break;
				}
			if (f->peer_isn_ok) {
				uint32_t rel = g.seq - f->peer_isn + ((g.flags & UMPA_TH_SYN_) ? 1u : 0u);
				c->l = rel;
				c->r = rel + g.n;
				if (c->r > f->rec_peer_end)
					f->rec_peer_end = c->r;
				if (g.flags & UMPA_TH_FIN_)
					c->l = c->r;
			}
			c->live_rtt = -1;
		}
	}
	f->nseg++;
	return 1;
}

/* A flow's key changed: the table again, same size. */
static int rehash_(struct umpa_rtcp *rt, struct umpa_err *e)
{
	size_t *nh;

	if (!(nh = calloc(rt->htcap, sizeof(*nh))))
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	for (size_t k = 0; k < rt->nfl; k++) {
		const struct rflow_ *f = rt->fl[k];
		size_t j;
		for (j = hash_(f->ipv6, f->addr[0], f->port[0], f->addr[1], f->port[1]) & (rt->htcap - 1); nh[j];
		     j = (j + 1) & (rt->htcap - 1))
			;
		nh[j] = k + 1;
	}
	free(rt->ht);
	rt->ht = nh;
	return 0;
}

int umpa_rtcp_renew(struct umpa_rtcp *rt, size_t i, uint16_t our_port, uint32_t isn_add, struct umpa_err *e)
{
	if (i >= rt->nfl)
		return umpa_err_set(e, UMPA_ERANGE, "no TCP flow %zu to renew", i);
	if (rt->started)
		return umpa_err_set(e, UMPA_EINVAL, "flows are renewed before the start");
	rt->fl[i]->port[0] = our_port;
	rt->fl[i]->isn_add = isn_add;
	return rehash_(rt, e);
}

int umpa_rtcp_peer_port(struct umpa_rtcp *rt, size_t i, uint16_t peer_port, struct umpa_err *e)
{
	if (i >= rt->nfl)
		return umpa_err_set(e, UMPA_ERANGE, "no TCP flow %zu", i);
	if (!rt->ht)
		return umpa_err_set(e, UMPA_EINVAL, "no TCP flow filed");
	rt->fl[i]->port[1] = peer_port;
	return rehash_(rt, e);
}

int umpa_rtcp_flow_info(const struct umpa_rtcp *rt, size_t i, struct umpa_rtcp_flow *out)
{
	const struct rflow_ *f;

	if (i >= rt->nfl)
		return -UMPA_ERANGE;
	f = rt->fl[i];
	memset(out, 0, sizeof(*out));
	out->flow = i;
	out->flow_name = f->name;
	out->ipv6 = f->ipv6;
	memcpy(out->addr, f->addr, sizeof(out->addr));
	memcpy(out->port, f->port, sizeof(out->port));
	out->checks = (unsigned)f->nchk + (f->unexp_bytes || f->unexp_flags ? 1u : 0u);
	for (size_t k = 0; k < f->nchk; k++) {
		const struct rchk_ *c = &f->chk[k];
		if (!c->settled)
			continue;
		out->matched += c->v == UMPA_RTCP_MATCH;
		out->differing += c->v == UMPA_RTCP_DIFFER;
		out->missing += c->v == UMPA_RTCP_MISSING;
	}
	out->unexpected = f->unexp_bytes || f->unexp_flags ? 1u : 0u;
	out->retransmits = f->retrans;
	out->gave_up = f->gave_up;
	return 0;
}

/* ---- sending ---- */

/* Rewrite our recorded segment @p s for the live peer and send it. */
static int send_seg_(struct rflow_ *f, struct rseg_ *s, struct umpa_err *e)
{
	struct umpa_rtcp *rt = f->rt;
	struct umpa_pkt *p = &rt->out;
	struct tuple_ t;
	struct umpa_cur c, o;
	uint8_t *th;
	uint8_t off_b = 0;
	uint32_t hlen, delta = f->live_isn - f->peer_isn;
	uint16_t sum;
	int ok = 0;

	umpa_pkt_clear(p);
	if (umpa_pkt_copy_from(p, f->store + s->off, s->flen, e) < 0)
		return -UMPA_ENOMEM;
	p->linktype = s->linktype;
	umpa_dissect(p);
	if (tuple_(p, &t) < 0)
		return umpa_err_set(e, UMPA_EFORMAT, "frame %llu: no TCP layer to send", (unsigned long long)s->frame);
	th = p->data + p->l[t.l4].off;
	umpa_layer_cur(p, (unsigned)t.l4, &c);
	if (umpa_cur_u8_at(&c, 12, &off_b) < 0)
		return umpa_err_set(e, UMPA_EFORMAT, "frame %llu: TCP header truncated", (unsigned long long)s->frame);
	hlen = (uint32_t)(off_b >> 4) * 4u;
	if (f->port[0] != f->rec_port) { /* a later connection: its own port */
		th[0] = (uint8_t)(f->port[0] >> 8);
		th[1] = (uint8_t)f->port[0];
	}
	if (f->port[1] != f->peer_rec_port) { /* a peer that opened from a port of its own (umpa_rtcp_peer_port) */
		th[2] = (uint8_t)(f->port[1] >> 8);
		th[3] = (uint8_t)f->port[1];
	}
	if (f->isn_add) { /* ... and its own ISN */
		uint32_t q = s->seq + f->isn_add;
		th[4] = (uint8_t)(q >> 24);
		th[5] = (uint8_t)(q >> 16);
		th[6] = (uint8_t)(q >> 8);
		th[7] = (uint8_t)q;
	}
	if ((s->flags & UMPA_TH_ACK_) && f->live_isn_ok) {
		uint32_t a = s->ack + delta;
		th[8] = (uint8_t)(a >> 24);
		th[9] = (uint8_t)(a >> 16);
		th[10] = (uint8_t)(a >> 8);
		th[11] = (uint8_t)a;
		/* options that name the peer's numbers: SACK edges move with its ISN, the timestamp echo is its latest
		 */
		if (hlen > 20 && umpa_cur_sub(&c, 20, hlen - 20, &o) == 0) {
			for (uint32_t i = 0; i < hlen - 20;) {
				uint8_t kind = 0, len = 0;
				if (umpa_cur_u8_at(&o, i, &kind) < 0 || kind == 0)
					break;
				if (kind == 1) {
					i++;
					continue;
				}
				if (umpa_cur_u8_at(&o, i + 1, &len) < 0 || len < 2 || !umpa_cur_has(&o, i, len))
					break;
				if (kind == 5) {
					for (uint32_t k = i + 2; k + 4 <= (uint32_t)i + len; k += 4) {
						uint8_t *q = th + 20 + k;
						uint32_t v = ((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
							      (uint32_t)q[2] << 8 | q[3]) +
							     delta;
						q[0] = (uint8_t)(v >> 24);
						q[1] = (uint8_t)(v >> 16);
						q[2] = (uint8_t)(v >> 8);
						q[3] = (uint8_t)v;
					}
				} else if (kind == 8 && len == 10 && f->peer_ts_ok) {
					uint8_t *q = th + 20 + i + 6;
					q[0] = (uint8_t)(f->peer_tsval >> 24);
					q[1] = (uint8_t)(f->peer_tsval >> 16);
					q[2] = (uint8_t)(f->peer_tsval >> 8);
					q[3] = (uint8_t)f->peer_tsval;
				}
				i += len;
			}
		}
	}
	sum = umpa_inet_csum(p, (unsigned)t.l4, 16, 1, 6, &ok);
	if (ok) {
		th[16] = (uint8_t)(sum >> 8);
		th[17] = (uint8_t)sum;
	}
	umpa_dissect(p);
	s->sent_ns = umpa_loop_now_ns(rt->loop);
	return rt->send(rt->send_arg, p, e);
}

static void settle_(struct rflow_ *f, struct rchk_ *c, enum umpa_rtcp_verdict v, const char *live, const char *field,
		    const char *recv, const char *livev)
{
	struct umpa_rtcp *rt = f->rt;

	if (c->settled)
		return;
	c->settled = 1;
	c->v = v;
	snprintf(c->live, sizeof(c->live), "%s", live ? live : "");
	if (v == UMPA_RTCP_MISSING) {
		snprintf(c->note, sizeof(c->note), "%s", field ? field : "");
	} else if (field) {
		snprintf(c->field, sizeof(c->field), "%s", field);
		snprintf(c->dval[0], sizeof(c->dval[0]), "%s", recv ? recv : "");
		snprintf(c->dval[1], sizeof(c->dval[1]), "%s", livev ? livev : "");
	}
	if (v != UMPA_RTCP_MISSING)
		/* from the request, or (the peer answered before we got there) the last segment of ours sent before it
		 */
		for (long k = c->req; k >= 0; k--)
			if (f->seg[k].ours && f->seg[k].sent_ns >= 0) {
				c->live_rtt = umpa_loop_now_ns(rt->loop) - f->seg[k].sent_ns;
				break;
			}
	/* headers of the handshake or a reset (a FIN may come with data live): the caller compares them field by field
	 */
	if (v != UMPA_RTCP_MISSING && rt->cur && rt->o.compare && !f->seg[c->seg].n &&
	    (f->seg[c->seg].flags & (UMPA_TH_SYN_ | UMPA_TH_RST_)))
		rt->o.compare(rt->o.compare_arg, f->idx, (size_t)(c - f->chk), f->seg[c->seg].frame, rt->cur);
	f->nchk_done++;
}

/* Every exchange not yet settled is missing with @p why; the flow ends. */
static void end_flow_(struct rflow_ *f, const char *why, int gave_up)
{
	for (size_t k = 0; k < f->nchk; k++)
		settle_(f, &f->chk[k], UMPA_RTCP_MISSING, "", why, NULL, NULL);
	if (gave_up && !f->gave_up) {
		snprintf(f->gave_buf, sizeof(f->gave_buf), "%s", why);
		f->gave_up = f->gave_buf;
	}
	f->done = 1;
	umpa_timer_cancel(f->tm);
	f->tm = NULL;
}

static void tm_cb_(struct umpa_loop *loop, void *arg);

static int arm_(struct rflow_ *f, struct umpa_err *e)
{
	umpa_timer_cancel(f->tm);
	f->tm = umpa_after(f->rt->loop, f->rt->o.timeout_ns, tm_cb_, f, e);
	return f->tm ? 0 : -UMPA_ENOMEM;
}

/* Relative end of our segment @p s in our sequence space. */
static uint64_t our_end_(const struct rflow_ *f, const struct rseg_ *s)
{
	return (uint32_t)(s->seq - f->our_isn) + s->n + ((s->flags & UMPA_TH_SYN_) ? 1u : 0u) +
	       ((s->flags & UMPA_TH_FIN_) ? 1u : 0u);
}

/* Send what the live peer's progress allows; arm the wait timer when blocked or waiting for answers. */
static int pump_(struct rflow_ *f, struct umpa_err *e)
{
	while (!f->done && f->next < f->nseg) {
		struct rseg_ *s = &f->seg[f->next];
		if (!s->ours) {
			f->next++;
			continue;
		}
		if (s->flags & UMPA_TH_ACK_) {
			if (!f->peer_isn_ok) {
				end_flow_(f, "the peer's ISN is not in the capture (it started mid-flow)", 1);
				return 0;
			}
			if (!f->live_isn_ok || (uint64_t)(uint32_t)(s->ack - f->peer_isn) > f->peer_nxt)
				break;
		}
		if (send_seg_(f, s, e) < 0)
			return -e->code;
		f->tries = 0;
		f->next++;
	}
	if (f->done)
		return 0;
	if (f->next >= f->nseg && f->nchk_done == f->nchk) {
		f->done = 1;
		umpa_timer_cancel(f->tm);
		f->tm = NULL;
		return 0;
	}
	return arm_(f, e);
}

static void tm_cb_(struct umpa_loop *loop, void *arg)
{
	struct rflow_ *f = arg;
	struct umpa_err e = {0};
	struct rseg_ *old = NULL;

	f->tm = NULL;
	if (f->done)
		return;
	if (++f->tries > f->rt->o.retries) {
		char why[128];
		double secs = (double)f->rt->o.timeout_ns * (f->rt->o.retries + 1) / 1e9;
		if (f->next < f->nseg)
			snprintf(why, sizeof(why), "gave up after %.3g s waiting for the peer's byte %llu (frame %llu)",
				 secs, (unsigned long long)(uint32_t)(f->seg[f->next].ack - f->peer_isn),
				 (unsigned long long)f->seg[f->next].frame);
		else
			snprintf(why, sizeof(why), "gave up after %.3g s waiting for the answers", secs);
		end_flow_(f, why, 1);
		return;
	}
	/* the oldest segment of ours the peer has not acknowledged goes again */
	for (size_t k = 0; k < f->next; k++) {
		struct rseg_ *s = &f->seg[k];
		if (s->ours && s->sent_ns >= 0 && (s->n || (s->flags & (UMPA_TH_SYN_ | UMPA_TH_FIN_))) &&
		    our_end_(f, s) > f->peer_acked) {
			old = s;
			break;
		}
	}
	if (old) {
		f->retrans++;
		if (send_seg_(f, old, &e) < 0) {
			umpa_loop_fail(loop, &e);
			return;
		}
	}
	if (arm_(f, &e) < 0)
		umpa_loop_fail(loop, &e);
}

int umpa_rtcp_start(struct umpa_rtcp *rt, struct umpa_err *e)
{
	rt->started = 1;
	for (size_t i = 0; i < rt->nfl; i++) {
		struct rflow_ *f = rt->fl[i];
		int anyours = 0;
		for (size_t k = 0; k < f->nseg && !anyours; k++)
			anyours = f->seg[k].ours;
		if (!anyours) {
			end_flow_(f, "nothing of ours to send in this flow", 1);
			continue;
		}
		if (!(f->seg[0].flags & UMPA_TH_SYN_) && f->seg[0].ours) {
			end_flow_(f, "no handshake in the capture (it started mid-flow)", 1);
			continue;
		}
		if (pump_(f, e) < 0)
			return -e->code;
	}
	return 0;
}

/* ---- receiving ---- */

/* The next unsettled exchange, or NULL. */
static struct rchk_ *next_chk_(struct rflow_ *f)
{
	for (size_t k = 0; k < f->nchk; k++)
		if (!f->chk[k].settled)
			return &f->chk[k];
	return NULL;
}

/* Settle the data exchanges the live stream now covers. */
static void check_data_(struct rflow_ *f)
{
	for (size_t k = 0; k < f->nchk; k++) {
		struct rchk_ *c = &f->chk[k];
		const struct rseg_ *s = &f->seg[c->seg];
		char live[40], fld[40], v[2][8];
		if (c->settled || !s->n)
			continue;
		if (c->r > f->peer_nxt || c->l < 1)
			break;
		snprintf(live, sizeof(live), "data %llu-%llu", (unsigned long long)c->l, (unsigned long long)c->r - 1);
		if (c->r - 1 > f->nlst) {
			break;
		}
		if (!memcmp(f->lst + (c->l - 1), f->store + s->off, s->n)) {
			settle_(f, c, UMPA_RTCP_MATCH, live, NULL, NULL, NULL);
		} else {
			uint32_t at = 0;
			while (at < s->n && f->lst[c->l - 1 + at] == f->store[s->off + at])
				at++;
			snprintf(fld, sizeof(fld), "tcp.payload[%llu]", (unsigned long long)(c->l + at));
			snprintf(v[0], sizeof(v[0]), "0x%02x", f->store[s->off + at]);
			snprintf(v[1], sizeof(v[1]), "0x%02x", f->lst[c->l - 1 + at]);
			settle_(f, c, UMPA_RTCP_DIFFER, live, fld, v[0], v[1]);
		}
	}
}

/* Take live segment @p p of the peer of flow @p f. */
static int input_(struct umpa_rtcp *rt, struct rflow_ *f, const struct umpa_pkt *p, const struct tuple_ *tp,
		  struct umpa_err *e)
{
	struct tuple_ t = *tp;
	struct umpa_tcp_segin_ g;
	struct rchk_ *c;
	char fs[12], rs[12], live[40], v[2][40];

	(void)rt;
	if ((p->l[t.l4].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)) || umpa_tcp_parse_(p, (unsigned)t.l4, &g) < 0)
		return 1;
	flags_str_(g.flags & CMP_FLAGS, fs, sizeof(fs));
	if (g.has_ts) {
		f->peer_ts_ok = 1;
		f->peer_tsval = g.tsval;
	}
	if (g.flags & UMPA_TH_RST_) {
		c = next_chk_(f);
		if (c) {
			flags_str_(f->seg[c->seg].flags & CMP_FLAGS, rs, sizeof(rs));
			if (f->seg[c->seg].flags & UMPA_TH_RST_) {
				settle_(f, c, UMPA_RTCP_MATCH, fs, NULL, NULL, NULL);
			} else {
				settle_(f, c, UMPA_RTCP_DIFFER, fs, "tcp.flags", rs, fs);
			}
		} else {
			f->unexp_flags |= UMPA_TH_RST_;
		}
		end_flow_(f, "the peer reset the connection", next_chk_(f) != NULL);
		return 1;
	}
	if (g.flags & UMPA_TH_ACK_) {
		uint64_t a = (uint32_t)(g.ack - f->our_isn - f->isn_add);
		if (a > f->peer_acked && a < (1ull << 31))
			f->peer_acked = a;
	}
	if (g.flags & UMPA_TH_SYN_) {
		if (!f->live_isn_ok) {
			f->live_isn_ok = 1;
			f->live_isn = g.seq;
			f->peer_nxt = 1;
			c = next_chk_(f);
			if (c && (f->seg[c->seg].flags & UMPA_TH_SYN_)) {
				flags_str_(f->seg[c->seg].flags & CMP_FLAGS, rs, sizeof(rs));
				if ((f->seg[c->seg].flags & CMP_FLAGS) == (g.flags & CMP_FLAGS)) {
					settle_(f, c, UMPA_RTCP_MATCH, fs, NULL, NULL, NULL);
				} else {
					settle_(f, c, UMPA_RTCP_DIFFER, fs, "tcp.flags", rs, fs);
				}
			} else if (c) {
				flags_str_(f->seg[c->seg].flags & CMP_FLAGS, rs, sizeof(rs));
				settle_(f, c, UMPA_RTCP_DIFFER, fs, "tcp.flags", rs, fs);
			} else {
				f->unexp_flags |= UMPA_TH_SYN_;
			}
		}
	} else if (!f->live_isn_ok) {
		return 1; /* not synchronised: nothing to compare with */
	}
	/* in-order data */
	{
		uint64_t rel = (uint32_t)(g.seq - f->live_isn) + ((g.flags & UMPA_TH_SYN_) ? 1u : 0u);
		uint64_t end = rel + g.n;
		if (g.n && rel <= f->peer_nxt && end > f->peer_nxt && rel >= 1) {
			uint64_t skip = f->peer_nxt - rel, add = end - f->peer_nxt;
			if (umpa_tcp_grow_(&f->lst, &f->caplst, f->nlst + add, 1, e) < 0)
				return -UMPA_ENOMEM;
			memcpy(f->lst + f->nlst, g.data + skip, add);
			f->nlst += add;
			f->peer_nxt = end;
			f->tries = 0;
			if (end > (f->rec_peer_end ? f->rec_peer_end : 1))
				f->unexp_bytes = end - (f->rec_peer_end ? f->rec_peer_end : 1);
			check_data_(f);
		}
		if ((g.flags & UMPA_TH_FIN_) && end == f->peer_nxt) {
			f->peer_nxt = end + 1;
			f->tries = 0;
			/* data exchanges the stream no longer reaches differ: it ended early */
			for (size_t k = 0; k < f->nchk; k++) {
				c = &f->chk[k];
				if (c->settled || !f->seg[c->seg].n)
					continue;
				snprintf(v[0], sizeof(v[0]), "data to byte %llu", (unsigned long long)c->r - 1);
				snprintf(v[1], sizeof(v[1]), "FIN after byte %llu", (unsigned long long)end - 1);
				snprintf(live, sizeof(live), "FIN at %llu", (unsigned long long)end);
				settle_(f, c, UMPA_RTCP_DIFFER, live, "tcp.stream", v[0], v[1]);
			}
			c = NULL;
			for (size_t k = 0; k < f->nchk; k++)
				if (!f->chk[k].settled && (f->seg[f->chk[k].seg].flags & UMPA_TH_FIN_)) {
					c = &f->chk[k];
					break;
				}
			snprintf(live, sizeof(live), "FIN at %llu", (unsigned long long)end);
			if (!c) {
				f->unexp_flags |= UMPA_TH_FIN_;
			} else if (c->l == end) {
				settle_(f, c, UMPA_RTCP_MATCH, live, NULL, NULL, NULL);
			} else {
				snprintf(v[0], sizeof(v[0]), "FIN at %llu", (unsigned long long)c->l);
				settle_(f, c, UMPA_RTCP_DIFFER, live, "tcp.seq", v[0], live);
			}
		}
	}
	if (pump_(f, e) < 0)
		return -e->code;
	return 1;
}

int umpa_rtcp_input(struct umpa_rtcp *rt, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct tuple_ t;
	struct rflow_ *f;
	int dir = 0, rc;
	long fi;

	if (tuple_(p, &t) < 0 || (fi = find_flow_(rt, &t, &dir)) < 0 || dir != 1)
		return 0;
	f = rt->fl[fi];
	if (f->done || !rt->started)
		return 1;
	rt->cur = p;
	rc = input_(rt, f, p, &t, e);
	rt->cur = NULL;
	return rc;
}

int umpa_rtcp_done(const struct umpa_rtcp *rt)
{
	for (size_t i = 0; i < rt->nfl; i++)
		if (!rt->fl[i]->done)
			return 0;
	return 1;
}

void umpa_rtcp_finish(struct umpa_rtcp *rt, const char *why)
{
	for (size_t i = 0; i < rt->nfl; i++)
		if (!rt->fl[i]->done)
			end_flow_(rt->fl[i], why, next_chk_(rt->fl[i]) != NULL);
}

int umpa_rtcp_was_sent(const struct umpa_rtcp *rt, uint64_t frame)
{
	for (size_t i = 0; i < rt->nfl; i++)
		for (size_t k = 0; k < rt->fl[i]->nseg; k++)
			if (rt->fl[i]->seg[k].frame == frame)
				return rt->fl[i]->seg[k].ours && rt->fl[i]->seg[k].sent_ns >= 0;
	return 0;
}

size_t umpa_rtcp_results(const struct umpa_rtcp *rt, umpa_rtcp_check_cb cb, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < rt->nfl; i++) {
		const struct rflow_ *f = rt->fl[i];
		for (size_t k = 0; k < f->nchk; k++) {
			const struct rchk_ *c = &f->chk[k];
			const struct rseg_ *s = &f->seg[c->seg];
			struct umpa_rtcp_check x = {0};
			char rec[40], fl[12], diff[200];
			flags_str_(s->flags & CMP_FLAGS, fl, sizeof(fl));
			if (s->n)
				snprintf(rec, sizeof(rec), "data %llu-%llu", (unsigned long long)c->l,
					 (unsigned long long)c->r - 1);
			else if (s->flags & UMPA_TH_FIN_)
				snprintf(rec, sizeof(rec), "FIN at %llu", (unsigned long long)c->l);
			else
				snprintf(rec, sizeof(rec), "%s", fl);
			x.flow = i;
			x.flow_name = f->name;
			x.verdict = c->settled ? c->v : UMPA_RTCP_MISSING;
			x.req_frame = c->req >= 0 ? f->seg[c->req].frame : 0;
			x.ans_frame = s->frame;
			x.recorded = rec;
			x.live = c->live;
			if (c->settled && c->v == UMPA_RTCP_DIFFER)
				snprintf(diff, sizeof(diff), "%s %s -> %s", c->field, c->dval[0], c->dval[1]);
			else
				snprintf(diff, sizeof(diff), "%s", c->settled ? c->note : "not settled");
			x.index = k;
			x.diff = diff;
			x.field = c->v == UMPA_RTCP_DIFFER ? c->field : "";
			x.rec_val = c->v == UMPA_RTCP_DIFFER ? c->dval[0] : "";
			x.live_val = c->v == UMPA_RTCP_DIFFER ? c->dval[1] : "";
			x.rec_rtt_ns = c->req >= 0 ? s->ts_ns - f->seg[c->req].ts_ns : -1;
			x.live_rtt_ns = c->live_rtt;
			if (cb)
				cb(arg, &x);
			n++;
		}
		if (f->unexp_bytes || f->unexp_flags) {
			struct umpa_rtcp_check x = {0};
			char live[80], fl[12];
			flags_str_(f->unexp_flags, fl, sizeof(fl));
			if (f->unexp_bytes)
				snprintf(live, sizeof(live), "%llu data bytes beyond the recorded stream",
					 (unsigned long long)f->unexp_bytes);
			else
				snprintf(live, sizeof(live), "%s not recorded", fl);
			x.flow = i;
			x.flow_name = f->name;
			x.verdict = UMPA_RTCP_UNEXPECTED;
			x.index = f->nchk;
			x.recorded = "";
			x.live = live;
			x.diff = "";
			x.field = x.rec_val = x.live_val = "";
			x.rec_rtt_ns = -1;
			x.live_rtt_ns = -1;
			if (cb)
				cb(arg, &x);
			n++;
		}
	}
	return n;
}
