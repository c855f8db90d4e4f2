/* tcp_seg.c - what both TCP endpoints share: segment building, interval sets, SACK blocks, the RNG.
 *
 * See tcp_internal.h.  The pair (tcpstream.c) and the one-sided endpoint
 * (tcpend.c) build every segment here, so both put the same options in the
 * same order on the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_internal.h"
#include "umpa_cursor.h"
#include "umpa_protos.h"

uint64_t umpa_tcp_rng_next_(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int umpa_tcp_grow_(void *buf, size_t *cap, size_t need, size_t size, struct umpa_err *e)
{
	return umpa_array_grow(buf, cap, need, size, e) < 0 ? umpa_err_prefix(e, "tcp: ") : 0;
}

uint32_t umpa_tcp_win_field_(uint32_t rwnd, int scaled, int shift, int syn)
{
	if (syn || !scaled)
		return rwnd > 65535 ? 65535 : rwnd;
	return rwnd >> shift;
}

int umpa_tcp_ivls_add_(struct umpa_tcp_ivls_ *s, uint64_t l, uint64_t r, struct umpa_err *e)
{
	size_t i = 0, j;
	int rc;

	while (i < s->n && s->v[i].r < l)
		i++;
	/* i: the first interval touching or after [l, r) */
	j = i;
	while (j < s->n && s->v[j].l <= r) {
		if (s->v[j].l < l)
			l = s->v[j].l;
		if (s->v[j].r > r)
			r = s->v[j].r;
		j++;
	}
	if (j == i) {
		if ((rc = umpa_tcp_grow_(&s->v, &s->cap, s->n + 1, sizeof(*s->v), e)) < 0)
			return rc;
		memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
		s->n++;
	} else if (j > i + 1) {
		memmove(s->v + i + 1, s->v + j, (s->n - j) * sizeof(*s->v));
		s->n -= j - i - 1;
	}
	s->v[i].l = l;
	s->v[i].r = r;
	s->v[i].stamp = ++s->stamp;
	return 0;
}

uint64_t umpa_tcp_ivls_advance_(struct umpa_tcp_ivls_ *s, uint64_t nxt)
{
	size_t k = 0;

	while (k < s->n && s->v[k].l <= nxt) {
		if (s->v[k].r > nxt)
			nxt = s->v[k].r;
		k++;
	}
	if (k) {
		memmove(s->v, s->v + k, (s->n - k) * sizeof(*s->v));
		s->n -= k;
	}
	return nxt;
}

int umpa_tcp_ivls_covers_(const struct umpa_tcp_ivls_ *s, uint64_t l, uint64_t r)
{
	for (size_t i = 0; i < s->n && s->v[i].l <= l; i++)
		if (s->v[i].r >= r)
			return 1;
	return 0;
}

void umpa_tcp_ivls_free_(struct umpa_tcp_ivls_ *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

uint32_t umpa_tcp_sack_blocks_(const struct umpa_tcp_ivls_ *s, uint64_t dl, uint64_t dr, uint32_t max,
			       uint64_t out[][2])
{
	uint32_t n = 0, d = dr > dl;

	if (d && max) {
		out[0][0] = dl;
		out[0][1] = dr;
		n = 1;
	}
	while (n < max) {
		const struct umpa_tcp_ivl_ *best = NULL;

		for (size_t i = 0; i < s->n; i++) {
			const struct umpa_tcp_ivl_ *v = &s->v[i];
			int used = 0;

			for (uint32_t k = d; k < n; k++)
				if (out[k][0] == v->l)
					used = 1;
			if (!used && (!best || v->stamp > best->stamp))
				best = v;
		}
		if (!best)
			break;
		out[n][0] = best->l;
		out[n][1] = best->r;
		n++;
	}
	return n;
}

static const struct umpa_field *need_field_(const struct umpa_proto *pr, const char *name, int *missing)
{
	const struct umpa_field *f = umpa_proto_field(pr, name);

	if (!f)
		*missing = 1;
	return f;
}

int umpa_tcp_wire_init_(struct umpa_tcp_wire_ *w, struct umpa_err *e)
{
	const struct umpa_proto *l3 = w->ipv6 ? &umpa_proto_ipv6 : &umpa_proto_ip;
	int missing = 0;

	w->f_eth_src = need_field_(&umpa_proto_eth, "src", &missing);
	w->f_eth_dst = need_field_(&umpa_proto_eth, "dst", &missing);
	w->f_ip_src = need_field_(l3, "src", &missing);
	w->f_ip_dst = need_field_(l3, "dst", &missing);
	w->f_ip_id = w->f_ip_df = NULL;
	if (!w->ipv6) {
		w->f_ip_id = need_field_(l3, "id", &missing);
		w->f_ip_df = need_field_(l3, "flags.df", &missing);
	}
	w->f_sport = need_field_(&umpa_proto_tcp, "srcport", &missing);
	w->f_dport = need_field_(&umpa_proto_tcp, "dstport", &missing);
	w->f_seq = need_field_(&umpa_proto_tcp, "seq", &missing);
	w->f_ack = need_field_(&umpa_proto_tcp, "ack", &missing);
	w->f_flags = need_field_(&umpa_proto_tcp, "flags", &missing);
	w->f_win = need_field_(&umpa_proto_tcp, "window_size_value", &missing);
	w->f_opts = need_field_(&umpa_proto_tcp, "options", &missing);
	if (missing)
		return umpa_err_set(e, UMPA_ENOSYS, "tcp: protocol tables lack a field it needs");
	return 0;
}

int umpa_tcp_build_(struct umpa_pkt *p, const struct umpa_tcp_wire_ *w, int s, const struct umpa_tcp_segout_ *g,
		    struct umpa_err *e)
{
	uint32_t alen = w->ipv6 ? 16 : 4;
	char opts[256];
	int li3, li4, rc;

	umpa_pkt_release(p);
	umpa_pkt_init(p);
	if ((rc = umpa_pkt_push(p, &umpa_proto_eth, e)) < 0)
		return rc;
	if ((li3 = umpa_pkt_push(p, w->ipv6 ? &umpa_proto_ipv6 : &umpa_proto_ip, e)) < 0)
		return li3;
	if ((li4 = umpa_pkt_push(p, &umpa_proto_tcp, e)) < 0)
		return li4;
	if ((rc = umpa_field_set_bytes(p, 0, w->f_eth_src, w->mac[s], 6, e)) < 0 ||
	    (rc = umpa_field_set_bytes(p, 0, w->f_eth_dst, w->mac[!s], 6, e)) < 0 ||
	    (rc = umpa_field_set_bytes(p, (unsigned)li3, w->f_ip_src, w->addr[s], alen, e)) < 0 ||
	    (rc = umpa_field_set_bytes(p, (unsigned)li3, w->f_ip_dst, w->addr[!s], alen, e)) < 0)
		return rc;
	if (!w->ipv6) {
		if ((rc = umpa_field_set_u64(p, (unsigned)li3, w->f_ip_id, g->ip_id, e)) < 0 ||
		    (rc = umpa_field_set_u64(p, (unsigned)li3, w->f_ip_df, 1, e)) < 0)
			return rc;
	}
	opts[0] = 0;
	if (g->flags & UMPA_TH_SYN_) {
		size_t k = (size_t)snprintf(opts, sizeof(opts), "mss=%u", g->mss);
		if (g->sackok)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, g->ts ? ",sackok" : ",nop,nop,sackok");
		if (g->ts)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, "%sts=%u:%u", g->sackok ? "," : ",nop,nop,",
					      g->tsval, g->tsecr);
		if (g->wscale >= 0)
			snprintf(opts + k, sizeof(opts) - k, ",nop,wscale=%d", g->wscale);
	} else if (!(g->flags & UMPA_TH_RST_)) {
		size_t k = 0;

		if (g->ts)
			k = (size_t)snprintf(opts, sizeof(opts), "nop,nop,ts=%u:%u", g->tsval, g->tsecr);
		for (uint32_t i = 0; i < g->nsack; i++)
			k += (size_t)snprintf(opts + k, sizeof(opts) - k, "%s%u-%u",
					      i   ? ":"
					      : k ? ",nop,nop,sack="
						  : "nop,nop,sack=",
					      (uint32_t)g->sack[i][0], (uint32_t)g->sack[i][1]);
	}
	if ((rc = umpa_field_set_u64(p, (unsigned)li4, w->f_sport, w->port[s], e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, w->f_dport, w->port[!s], e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, w->f_seq, g->seq, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, w->f_ack, (g->flags & UMPA_TH_ACK_) ? g->ack : 0u, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, w->f_flags, g->flags, e)) < 0 ||
	    (rc = umpa_field_set_u64(p, (unsigned)li4, w->f_win, g->win, e)) < 0)
		return rc;
	if (opts[0] && (rc = umpa_field_set_str(p, (unsigned)li4, w->f_opts, opts, e)) < 0)
		return rc;
	if (g->n && (rc = umpa_pkt_push_bytes(p, &umpa_proto_raw, g->data, g->n, e)) < 0)
		return rc;
	if ((rc = umpa_pkt_finish(p, e)) < 0)
		return rc;
	p->linktype = UMPA_LINKTYPE_ETHERNET;
	return 0;
}

int umpa_tcp_parse_(const struct umpa_pkt *p, unsigned li, struct umpa_tcp_segin_ *g)
{
	struct umpa_cur c, o;
	uint16_t w;
	uint8_t off_b, fl;
	uint32_t hlen;
	size_t i;

	memset(g, 0, sizeof(*g));
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be32_at(&c, 4, &g->seq) < 0 || umpa_cur_be32_at(&c, 8, &g->ack) < 0 ||
	    umpa_cur_u8_at(&c, 12, &off_b) < 0 || umpa_cur_u8_at(&c, 13, &fl) < 0 || umpa_cur_be16_at(&c, 14, &w) < 0)
		return -1;
	hlen = (uint32_t)(off_b >> 4) * 4u;
	if (hlen < 20 || !umpa_cur_has(&c, 0, hlen))
		return -1;
	g->flags = fl;
	g->win = w;
	g->n = (uint32_t)(umpa_cur_left(&c) - hlen);
	if (g->n && umpa_cur_ptr_at(&c, hlen, g->n, &g->data) < 0)
		return -1;
	if (umpa_cur_sub(&c, 20, hlen - 20, &o) < 0)
		return -1;
	for (i = 0; i < hlen - 20;) {
		uint8_t kind, len;

		if (umpa_cur_u8_at(&o, i, &kind) < 0)
			return -1;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (umpa_cur_u8_at(&o, i + 1, &len) < 0 || len < 2 || !umpa_cur_has(&o, i, len))
			return -1;
		if (kind == 2 && len == 4) {
			uint16_t m = 0;
			umpa_cur_be16_at(&o, i + 2, &m);
			g->has_mss = 1;
			g->mss = m;
		} else if (kind == 3 && len == 3) {
			uint8_t s = 0;
			umpa_cur_u8_at(&o, i + 2, &s);
			g->has_ws = 1;
			g->ws = s > 14 ? 14 : s;
		} else if (kind == 4 && len == 2) {
			g->has_sackok = 1;
		} else if (kind == 8 && len == 10) {
			g->has_ts = 1;
			umpa_cur_be32_at(&o, i + 2, &g->tsval);
			umpa_cur_be32_at(&o, i + 6, &g->tsecr);
		} else if (kind == 5 && (len - 2) % 8 == 0) {
			for (size_t k = 0; k < (size_t)(len - 2) / 8 && g->nsack < UMPA_TCP_MAX_SACK_; k++) {
				umpa_cur_be32_at(&o, i + 2 + 8 * k, &g->sack[g->nsack][0]);
				umpa_cur_be32_at(&o, i + 6 + 8 * k, &g->sack[g->nsack][1]);
				g->nsack++;
			}
		}
		i += len;
	}
	return 0;
}
