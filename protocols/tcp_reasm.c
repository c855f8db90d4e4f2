/* tcp_reasm.c - TCP stream reassembly for records split across segments (RFC 9293 sequence numbers; TLS
 * records, RFC 8446 5.1).
 *
 * Per flow (addresses, ports, direction) a byte buffer starts at the
 * sequence number `nxt - len`: the bytes of records not yet complete.  A
 * segment at `nxt` is appended; one ahead of it is copied into the flow's
 * hold pool (at most max_held segments, max_flow_bytes bytes) and appended
 * when the gap before it fills; one wholly before `nxt` is a duplicate; one
 * that overlaps `nxt` contributes its new bytes only.  Complete records are
 * the longest prefix of the buffer made of whole TLS records (5-byte header
 * plus length); they are dissected as a packet of tls layers over the buffer
 * itself (no copy) and consumed at the next feed.
 *
 * When a segment's data starts a fresh record and nothing is carried or
 * drained, the frame's own dissection already shows the records it
 * completes, so it is left alone (the common case costs one lookup and the
 * copy of a trailing partial record, if any).  Otherwise the frame's layers
 * after TCP go (the bytes they would misread are continuations), and the
 * records it completed come from the buffer.
 *
 * A header that is not a TLS record (a gap we never saw, or not TLS at
 * all) ends the flow's synchronisation: the rest is shown as an ignored
 * record and the flow resynchronises at the next segment that starts with a
 * plausible record header.  SYN and RST forget a flow; FIN forgets it after
 * its data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reasm_internal.h"
#include "tls_decrypt_internal.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"

enum {
	DEF_FLOWS = 64,
	DEF_FLOW_BYTES = 1 << 20,
	DEF_HELD = 64,
	MAX_CONTRIB = 256, /* frames remembered per flow for "[reassembled from frames ...]" */
	TLS_HDR = 5,
	MAX_DEC = UMPA_MAX_LAYERS, /* decrypted records (and failures) shown per frame */
	MAX_HS = 65535 - 4,        /* largest handshake message reassembled from fragments (a made record's length) */
};

/** One decrypted record (or one that could not be) of the current feed. */
struct dec_item {
	uint32_t off, len; /* in umpa_reasm.dec: a plaintext TLS record (handshake, alert) or application data */
	uint8_t app;       /* application data: dissected as what it holds (HTTP) rather than as a record */
	uint8_t tls13;     /* of a TLS 1.3 connection (labelled so) */
	uint8_t made;      /* handshake messages reassembled from fragments (not decrypted) */
	uint8_t pending;   /* decrypted, but only part of an HTTP message: shown where it ends */
	uint8_t early;     /* TLS 1.3 0-RTT early data (decrypted with the client_early_traffic_secret) */
	uint8_t hs_cont;   /* decrypted handshake record that continues a message begun in an earlier one */
	uint8_t hs_type;   /* ... of this type */
	uint8_t hs_last;   /* ... and completes it */
	uint32_t recno;    /* the record's number in its direction (1-based) */
	const char *why;   /* not decrypted: why (static text); NULL when decrypted */
};

/* What a feed did to the frame (shown by umpa_reasm_show). */
enum note {
	NOTE_NONE,
	NOTE_SEGMENT,   /* carries only part of a record */
	NOTE_DUPLICATE, /* every byte seen before */
	NOTE_HELD,      /* ahead of the stream: held */
};

/** Which frame brought the bytes up to `end` (an offset in the flow buffer). */
struct contrib {
	uint64_t frame;
	uint32_t end;
};

/** An out-of-order segment waiting in the hold pool. */
struct held {
	uint32_t seq;
	uint32_t len;
	uint32_t off; /* in the pool */
	uint64_t frame;
};

/** One direction of one TCP connection. */
struct flow {
	const struct umpa_proto *pdu; /* what the stream carries: TLS records or HTTP/1.x messages */
	int used;
	int synced;       /* nxt is at a record boundary plus len */
	int tls13;        /* the connection negotiated TLS 1.3 */
	uint8_t af;       /* 4 or 6 */
	uint8_t addr[32]; /* source then destination (4 or 16 bytes each) */
	uint16_t sport, dport;
	uint32_t nxt;  /* next expected sequence number */
	uint64_t last; /* last frame seen (LRU) */
	uint8_t *buf;  /* carried bytes: [0, len) end at nxt */
	size_t len, cap;
	uint8_t *pool; /* held segments' bytes */
	size_t plen, pcap;
	struct held *hold; /* max_held entries */
	unsigned nheld;
	struct contrib ents[MAX_CONTRIB];
	unsigned nents;
	int ents_lost;            /* more frames contributed than ents could name */
	struct umpa_tls_dir_ dec; /* decryption state of this direction (when a key log is given) */
	uint8_t *hs;              /* a handshake message begun in an earlier record: its bytes so far */
	size_t hslen, hscap;
	uint8_t *app; /* decrypted application data of an HTTP message not yet whole */
	size_t applen, appcap;
	uint32_t nrec; /* records of this direction so far */
};

struct umpa_reasm {
	struct umpa_reasm_opts o;
	struct flow *flows;
	struct umpa_reasm_stats st;
	/* the result of the last feed */
	struct umpa_pkt rp; /* the completed records (borrowing the flow buffer) */
	int have_rp;
	struct flow *rp_flow; /* whose buffer rp borrows: consume rp_len at the next feed */
	size_t rp_len;
	enum note note;
	int note_http;                /* the note is about an HTTP stream */
	uint64_t frames[MAX_CONTRIB]; /* frames of rp's bytes, sorted */
	unsigned nframes;
	int frames_lost;
	struct umpa_sbuf txt; /* scratch for rendering */
	/* decryption (umpa_reasm_keylog): the key log, and what the last feed decrypted */
	struct umpa_tls_keylog_ *kl;
	uint8_t *dec; /* plaintext of the feed's decrypted records, reused */
	size_t declen, deccap;
	struct dec_item items[MAX_DEC];
	unsigned nitems, items_lost;
	struct umpa_pkt dp; /* the decrypted records, dissected over dec */
};

struct umpa_reasm *umpa_reasm_open(const struct umpa_reasm_opts *o, struct umpa_err *e)
{
	struct umpa_reasm *r = calloc(1, sizeof(*r));

	if (!r) {
		umpa_err_set(e, UMPA_ENOMEM, "reassembly: out of memory");
		return NULL;
	}
	if (o)
		r->o = *o;
	if (!r->o.max_flows)
		r->o.max_flows = DEF_FLOWS;
	if (!r->o.max_flow_bytes)
		r->o.max_flow_bytes = DEF_FLOW_BYTES;
	if (!r->o.max_held)
		r->o.max_held = DEF_HELD;
	if (r->o.max_flow_bytes > UINT32_MAX / 2)
		r->o.max_flow_bytes = UINT32_MAX / 2;
	r->flows = calloc(r->o.max_flows, sizeof(*r->flows));
	if (!r->flows) {
		free(r);
		umpa_err_set(e, UMPA_ENOMEM, "reassembly: out of memory");
		return NULL;
	}
	umpa_pkt_init(&r->rp);
	umpa_pkt_init(&r->dp);
	return r;
}

static void flow_free(struct flow *f)
{
	umpa_tls_dir_free_(&f->dec);
	free(f->hs);
	free(f->app);
	free(f->buf);
	free(f->pool);
	free(f->hold);
	memset(f, 0, sizeof(*f));
}

struct umpa_reasm *umpa_reasm_close(struct umpa_reasm *r)
{
	if (!r)
		return NULL;
	for (unsigned i = 0; i < r->o.max_flows; i++)
		flow_free(&r->flows[i]);
	free(r->flows);
	umpa_sbuf_free(&r->txt);
	umpa_tls_keylog_free_(r->kl);
	free(r->dec);
	free(r);
	return NULL;
}

void umpa_reasm_get_stats(const struct umpa_reasm *r, struct umpa_reasm_stats *st)
{
	if (r)
		*st = r->st;
	else
		memset(st, 0, sizeof(*st));
}

/* Empty a flow's stream: no bytes, records or handshake held, the decryption state reset. */
static void flow_empty(struct flow *f)
{
	f->tls13 = 0;
	f->len = 0;
	f->plen = 0;
	f->nheld = 0;
	f->nents = 0;
	f->ents_lost = 0;
	f->nrec = 0;
	f->hslen = 0;
	f->applen = 0;
	umpa_tls_dir_reset_(&f->dec);
}

/* Forget a flow's data but keep its memory for reuse. */
static void flow_reset(struct umpa_reasm *r, struct flow *f)
{
	r->st.dropped += f->plen;
	f->used = 0;
	f->synced = 0;
	flow_empty(f);
}

/* Grow *b (capacity *cap) to hold n bytes, at most max.  Returns 0 or -1. */
static int grow(uint8_t **b, size_t *cap, size_t n, size_t max)
{
	size_t c = *cap ? *cap : 4096;
	uint8_t *nb;

	if (n <= *cap)
		return 0;
	if (n > max)
		return -1;
	while (c < n)
		c *= 2;
	if (c > max)
		c = max;
	nb = realloc(*b, c);
	if (!nb)
		return -1;
	*b = nb;
	*cap = c;
	return 0;
}

/* ---- the frame's TCP segment ---- */

/** What feed needs of a frame's TCP segment. */
struct seg {
	unsigned t; /* the tcp layer */
	uint8_t af;
	uint8_t addr[32];
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t flags; /* low 8 TCP flag bits */
	const uint8_t *data;
	uint32_t len;
};

static int seg_of(const struct umpa_pkt *p, struct seg *s)
{
	int t = -1, ipl = -1;
	struct umpa_cur c;
	const struct umpa_layer *l;

	for (unsigned i = 0; i < p->nlayers; i++) {
		if (p->l[i].flags & UMPA_L_QUOTED)
			break;
		if (p->l[i].proto->pflags & UMPA_PF_NET)
			ipl = (int)i;
		if (p->l[i].proto == &umpa_proto_tcp) {
			t = (int)i;
			break;
		}
	}
	if (t < 0 || ipl < 0)
		return -1;
	l = &p->l[t];
	if (l->flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID) || l->hlen > l->len)
		return -1;
	/* a segment the capture cut cannot be followed */
	if (l->off + l->len >= p->len && p->len < p->wirelen)
		return -1;
	s->t = (unsigned)t;
	umpa_layer_cur(p, (unsigned)ipl, &c);
	memset(s->addr, 0, sizeof(s->addr));
	if (p->l[ipl].proto == &umpa_proto_ip) {
		if (umpa_cur_copy_at(&c, 12, 8, s->addr) < 0)
			return -1;
		s->af = 4;
	} else {
		if (umpa_cur_copy_at(&c, 8, 32, s->addr) < 0)
			return -1;
		s->af = 6;
	}
	umpa_layer_cur(p, (unsigned)t, &c);
	if (umpa_cur_be16_at(&c, 0, &s->sport) < 0 || umpa_cur_be16_at(&c, 2, &s->dport) < 0 ||
	    umpa_cur_be32_at(&c, 4, &s->seq) < 0 || umpa_cur_u8_at(&c, 13, &s->flags) < 0)
		return -1;
	s->len = l->len - l->hlen;
	s->data = NULL;
	if (s->len && umpa_cur_ptr_at(&c, l->hlen, s->len, &s->data) < 0)
		return -1;
	return 0;
}

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04 };

static struct flow *flow_find(struct umpa_reasm *r, const struct seg *s)
{
	for (unsigned i = 0; i < r->o.max_flows; i++) {
		struct flow *f = &r->flows[i];
		if (f->used && f->sport == s->sport && f->dport == s->dport && f->af == s->af &&
		    memcmp(f->addr, s->addr, sizeof(f->addr)) == 0)
			return f;
	}
	return NULL;
}

/* A free slot, or the least recently used flow (evicted and counted). */
static struct flow *flow_new(struct umpa_reasm *r, const struct seg *s, uint64_t frame, const struct umpa_proto *pdu)
{
	struct flow *f = NULL;

	for (unsigned i = 0; i < r->o.max_flows && !f; i++)
		if (!r->flows[i].used)
			f = &r->flows[i];
	if (!f) {
		f = &r->flows[0];
		for (unsigned i = 1; i < r->o.max_flows; i++)
			if (r->flows[i].last < f->last)
				f = &r->flows[i];
		r->st.evicted++;
		r->st.dropped += f->len;
		flow_reset(r, f);
	}
	if (!f->hold) {
		f->hold = calloc(r->o.max_held, sizeof(*f->hold));
		if (!f->hold)
			return NULL;
	}
	f->used = 1;
	f->pdu = pdu;
	f->synced = 1;
	f->af = s->af;
	memcpy(f->addr, s->addr, sizeof(f->addr));
	f->sport = s->sport;
	f->dport = s->dport;
	f->nxt = s->seq;
	f->last = frame;
	flow_empty(f);
	r->st.flows++;
	return f;
}

/* Remember that @p frame brought the buffer up to its current length. */
static void contrib_add(struct flow *f, uint64_t frame)
{
	if (f->nents > 0 && f->ents[f->nents - 1].frame == frame) {
		f->ents[f->nents - 1].end = (uint32_t)f->len;
		return;
	}
	if (f->nents == MAX_CONTRIB) {
		f->ents_lost = 1; /* fold into the last entry: the list is then incomplete */
		f->ents[f->nents - 1].end = (uint32_t)f->len;
		return;
	}
	f->ents[f->nents].frame = frame;
	f->ents[f->nents].end = (uint32_t)f->len;
	f->nents++;
}

/* Append n bytes at @p off of @p src to the flow's buffer.  Returns 0, or -1 when over the limit (the
 * flow's data is dropped) or when @p src holds fewer bytes. */
static int flow_append(struct umpa_reasm *r, struct flow *f, struct umpa_cur *src, uint32_t off, uint32_t n,
		       uint64_t frame)
{
	if (grow(&f->buf, &f->cap, f->len + n, r->o.max_flow_bytes) < 0) {
		r->st.dropped += f->len + n;
		f->len = 0;
		f->nents = 0;
		f->synced = 0;
		f->nxt += n;
		return -1;
	}
	if (umpa_cur_copy_at(src, off, n, f->buf + f->len) < 0)
		return -1;
	f->len += n;
	f->nxt += n;
	contrib_add(f, frame);
	return 0;
}

/* Hold an out-of-order segment.  Returns 1 held, 0 already held (a duplicate), -1 no room (dropped). */
static int flow_hold(struct umpa_reasm *r, struct flow *f, const struct seg *s, uint64_t frame)
{
	for (unsigned i = 0; i < f->nheld; i++)
		if (f->hold[i].seq == s->seq && f->hold[i].len >= s->len)
			return 0;
	if (f->nheld == r->o.max_held || (uint32_t)(s->seq - f->nxt) > r->o.max_flow_bytes ||
	    grow(&f->pool, &f->pcap, f->plen + s->len, r->o.max_flow_bytes) < 0) {
		r->st.dropped += s->len;
		return -1;
	}
	memcpy(f->pool + f->plen, s->data, s->len);
	f->hold[f->nheld].seq = s->seq;
	f->hold[f->nheld].len = s->len;
	f->hold[f->nheld].off = (uint32_t)f->plen;
	f->hold[f->nheld].frame = frame;
	f->nheld++;
	f->plen += s->len;
	return 1;
}

/* Remove held segment i, compacting the pool. */
static void held_remove(struct flow *f, unsigned i)
{
	struct held h = f->hold[i];

	memmove(f->pool + h.off, f->pool + h.off + h.len, f->plen - h.off - h.len);
	f->plen -= h.len;
	for (unsigned k = 0; k < f->nheld; k++)
		if (f->hold[k].off > h.off)
			f->hold[k].off -= h.len;
	f->hold[i] = f->hold[--f->nheld];
}

/* Append every held segment that now touches nxt.  Returns how many bytes came from the pool. */
static size_t flow_drain(struct umpa_reasm *r, struct flow *f)
{
	size_t got = 0;
	int progress = 1;

	while (progress && f->nheld > 0) {
		progress = 0;
		for (unsigned i = 0; i < f->nheld; i++) {
			struct held *h = &f->hold[i];
			int32_t d = (int32_t)(h->seq - f->nxt);
			if (d > 0)
				continue;
			if ((uint32_t)-d < h->len) {
				uint32_t skip = (uint32_t)-d;
				struct umpa_cur hc;
				umpa_cur_init(&hc, f->pool + h->off, h->len);
				if (flow_append(r, f, &hc, skip, h->len - skip, h->frame) == 0)
					got += h->len - skip;
				r->st.held++;
			} else {
				r->st.duplicates++;
			}
			held_remove(f, i);
			progress = 1;
			break;
		}
	}
	return got;
}

/* Does the stream data under @p c start a PDU of kind @p pdu (a TLS record header, an HTTP message)? */
static int pdu_starts(const struct umpa_proto *pdu, struct umpa_cur *c)
{
	return pdu == &umpa_proto_http ? umpa_http_looks_like(c) : umpa_tls_looks_like(c);
}

/* The length of the longest prefix of [b, b+n) made of whole PDUs of f's kind; *bad set when one does not
 * start where it should (not TLS, not HTTP). */
static size_t complete_records(const struct flow *f, const uint8_t *b, size_t n, int *bad)
{
	size_t k = 0;

	*bad = 0;
	if (f->pdu == &umpa_proto_http)
		return umpa_http_complete_(b, n, bad);
	while (n - k >= TLS_HDR) {
		struct umpa_cur c;
		uint16_t len = 0;
		umpa_cur_init(&c, b + k, n - k);
		if (!umpa_tls_looks_like(&c)) {
			*bad = 1;
			return k;
		}
		umpa_cur_be16_at(&c, 3, &len);
		if (TLS_HDR + (size_t)len > n - k)
			break;
		k += TLS_HDR + (size_t)len;
	}
	return k;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Collect the frames of bytes [0, k) of f's buffer into r->frames (sorted, unique). */
static void frames_of(struct umpa_reasm *r, struct flow *f, size_t k)
{
	uint32_t start = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < f->nents && start < k; i++) {
		r->frames[n++] = f->ents[i].frame;
		start = f->ents[i].end;
	}
	qsort(r->frames, n, sizeof(r->frames[0]), cmp_u64);
	r->nframes = 0;
	for (unsigned i = 0; i < n; i++)
		if (r->nframes == 0 || r->frames[r->nframes - 1] != r->frames[i])
			r->frames[r->nframes++] = r->frames[i];
	r->frames_lost = f->ents_lost;
}

/* Drop the first k bytes of the flow buffer (records shown at the previous feed). */
static void flow_consume(struct flow *f, size_t k)
{
	unsigned j = 0;

	if (k == 0)
		return;
	if (k > f->len)
		k = f->len;
	memmove(f->buf, f->buf + k, f->len - k);
	f->len -= k;
	for (unsigned i = 0; i < f->nents; i++) {
		if (f->ents[i].end <= k)
			continue;
		f->ents[j] = f->ents[i];
		f->ents[j].end -= (uint32_t)k;
		j++;
	}
	f->nents = j;
	if (j == 0)
		f->ents_lost = 0;
}

/* Cut @p p's layers after the tcp layer t (their bytes are not what they claim). */
static void cut_after(struct umpa_pkt *p, unsigned t)
{
	if (p->nlayers > t + 1)
		p->nlayers = t + 1;
}

/* The other direction of f's connection, or NULL. */
static struct flow *flow_reverse(struct umpa_reasm *r, const struct flow *f)
{
	unsigned al = f->af == 4 ? 4 : 16;

	for (unsigned i = 0; i < r->o.max_flows; i++) {
		struct flow *g = &r->flows[i];
		if (g->used && g->af == f->af && g->sport == f->dport && g->dport == f->sport &&
		    memcmp(g->addr, f->addr + al, al) == 0 && memcmp(g->addr + al, f->addr, al) == 0)
			return g;
	}
	return NULL;
}

/* Room for @p n more bytes of made records in r->dec, and a new item for them; NULL when over a limit. */
static struct dec_item *item_new(struct umpa_reasm *r, size_t n)
{
	if (r->nitems == MAX_DEC || grow(&r->dec, &r->deccap, r->declen + n, r->o.max_flow_bytes + 65536) < 0) {
		r->items_lost++;
		return NULL;
	}
	memset(&r->items[r->nitems], 0, sizeof(r->items[0]));
	r->items[r->nitems].off = (uint32_t)r->declen;
	return &r->items[r->nitems++];
}

/* Handshake messages split over records (RFC 8446 5.1, RFC 5246 6.2.1): keep the bytes of a message that
 * continues in the next record; say which records continue it; when one completes it, show the whole message
 * (with the whole messages after it in that record) as a made record after the frame, as Wireshark shows
 * "Reassembled Handshake Fragments".  @p rec is one whole record (header and content), in the clear or
 * decrypted; @p start is the offset in it of a message that continues in the next record (0: none).  Returns 1
 * when the record continues a message, with its type in *@p type and in *@p last whether it completes it. */
static int hs_reasm(struct umpa_reasm *r, struct flow *f, struct umpa_cur *rec, uint32_t start, uint8_t *type,
		    int *last)
{
	struct umpa_cur hc;
	uint8_t ct = 0;
	uint32_t mlen = 0;
	size_t n, k = 0;
	struct dec_item *it;

	if (rec->len < TLS_HDR || umpa_cur_u8_at(rec, 0, &ct) < 0 || ct != 22) {
		f->hslen = 0; /* handshake messages are not interleaved with other records: the fragment is lost */
		return 0;
	}
	if (f->hslen == 0) {
		if (start >= TLS_HDR && start < rec->len && rec->len - start <= MAX_HS &&
		    grow(&f->hs, &f->hscap, rec->len - start, MAX_HS) == 0 &&
		    umpa_cur_copy_at(rec, start, rec->len - start, f->hs) == 0)
			f->hslen = rec->len - start;
		return 0;
	}
	n = rec->len - TLS_HDR;
	if (f->hslen + n > MAX_HS || grow(&f->hs, &f->hscap, f->hslen + n, MAX_HS) < 0 ||
	    umpa_cur_copy_at(rec, TLS_HDR, n, f->hs + f->hslen) < 0) {
		f->hslen = 0;
		r->st.dropped += n;
		return 0;
	}
	f->hslen += n;
	umpa_cur_init(&hc, f->hs, f->hslen);
	umpa_cur_u8_at(&hc, 0, type);
	/* the whole messages at the start of the buffer */
	while (umpa_cur_be24_at(&hc, k + 1, &mlen) == 0 && k + 4 + mlen <= f->hslen)
		k += 4 + mlen;
	*last = k > 0;
	if (k == 0)
		return 1;
	if ((it = item_new(r, k + TLS_HDR))) {
		uint8_t *d = r->dec + r->declen;
		it->made = 1;
		it->tls13 = f->tls13;
		it->recno = f->nrec;
		d[0] = 22;
		d[1] = 3;
		d[2] = 3;
		d[3] = (uint8_t)(k >> 8);
		d[4] = (uint8_t)k;
		memcpy(d + TLS_HDR, f->hs, k);
		it->len = (uint32_t)(k + TLS_HDR);
		r->declen += it->len;
	}
	memmove(f->hs, f->hs + k, f->hslen - k);
	f->hslen -= k;
	return 1;
}

/* hs_reasm for whole record @p li of @p p, in the clear: a record that continues a message is marked so. */
static void hs_reasm_layer(struct umpa_reasm *r, struct flow *f, struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur lc, c;
	uint32_t start = 0;
	uint8_t type = 0, ct = 0;
	int last = 0;

	umpa_layer_cur(p, li, &lc);
	if (umpa_cur_sub(&lc, 0, p->l[li].hlen, &c) < 0)
		return;
	if (f->tls13 && umpa_cur_u8_at(&c, 0, &ct) == 0 && ct == 23)
		return; /* TLS 1.3 encrypted: its handshake messages are followed once decrypted, if they are */
	if (!umpa_tls_hs_frag_(p, li, &start))
		start = 0;
	if (hs_reasm(r, f, &c, start, &type, &last))
		umpa_tls_mark_hs_cont_(p, li, type, last);
}

/* Where, in decrypted handshake record @p rec, a message begins that the record does not hold whole (a header
 * cut by the record's end too); 0 when it ends at a message boundary. */
static uint32_t hs_frag_start(struct umpa_cur *rec)
{
	size_t pos = TLS_HDR;
	uint32_t mlen = 0;

	while (umpa_cur_be24_at(rec, pos + 1, &mlen) == 0 && pos + 4 + mlen <= rec->len)
		pos += 4 + mlen;
	return pos < rec->len ? (uint32_t)pos : 0;
}

/* Give whole record @p li of @p p to the flow's decryption state; keep what it decrypted for showing. */
static void decrypt_record(struct umpa_reasm *r, struct flow *f, const struct umpa_pkt *p, unsigned li)
{
	const struct umpa_layer *l = &p->l[li];
	struct flow *g = flow_reverse(r, f);
	struct umpa_cur c;
	struct dec_item *it;
	size_t n = 0;
	uint8_t ct = 0;
	const char *why = NULL;
	enum umpa_tls_rec_ res;

	if (grow(&r->dec, &r->deccap, r->declen + l->hlen + TLS_HDR, r->o.max_flow_bytes + 65536) < 0) {
		r->items_lost++;
		return;
	}
	umpa_cur_init(&c, p->data + l->off, l->hlen);
	res = umpa_tls_dir_record_(r->kl, &f->dec, g ? &g->dec : NULL, &c, r->dec + r->declen + TLS_HDR, &n, &ct, &why);
	if (res == UMPA_TLS_REC_PLAIN)
		return;
	if (r->nitems == MAX_DEC) {
		r->items_lost++;
		return;
	}
	it = &r->items[r->nitems++];
	it->recno = f->nrec;
	it->why = res == UMPA_TLS_REC_FAILED ? why : NULL;
	it->off = (uint32_t)r->declen;
	it->len = 0;
	it->app = 0;
	it->made = 0;
	it->pending = 0;
	it->hs_cont = 0;
	it->early = f->dec.rec_early;
	it->tls13 = f->dec.tls13;
	if (res == UMPA_TLS_REC_FAILED)
		return;
	if (ct == 23 && n > 0) { /* application data */
		const uint8_t *pt = r->dec + r->declen + TLS_HDR;
		struct umpa_cur pc;
		size_t k;
		int bad;
		umpa_cur_init(&pc, pt, n);
		it->app = 1;
		if ((f->applen == 0 && !umpa_http_looks_like(&pc)) ||
		    grow(&f->app, &f->appcap, f->applen + n, r->o.max_flow_bytes) < 0) {
			/* not HTTP (or over the flow's limit): its bytes alone */
			r->st.dropped += f->applen;
			f->applen = 0;
			memmove(r->dec + r->declen, r->dec + r->declen + TLS_HDR, n);
			it->len = (uint32_t)n;
			r->declen += it->len;
			return;
		}
		/* HTTP: messages across records are shown whole in the record that completes them */
		umpa_cur_copy_at(&pc, 0, n, f->app + f->applen);
		f->applen += n;
		k = umpa_http_complete_(f->app, f->applen, &bad);
		if (bad)
			k = f->applen; /* what follows is not HTTP: show it as it is */
		if (k == 0) {
			it->pending = 1;
			return;
		}
		if (grow(&r->dec, &r->deccap, r->declen + k, r->o.max_flow_bytes + 65536) < 0) {
			r->nitems--;
			r->items_lost++;
			f->applen = 0;
			return;
		}
		memcpy(r->dec + r->declen, f->app, k);
		memmove(f->app, f->app + k, f->applen - k);
		f->applen -= k;
		it->len = (uint32_t)k;
	} else { /* a plaintext record of the inner content type, as if it had been sent in the clear */
		uint16_t ver = 0x0303; /* what every TLS 1.2 and 1.3 record header says */
		struct umpa_cur rc;
		uint8_t type = 0;
		int last = 0;
		r->dec[r->declen] = ct;
		r->dec[r->declen + 1] = (uint8_t)(ver >> 8);
		r->dec[r->declen + 2] = (uint8_t)ver;
		r->dec[r->declen + 3] = (uint8_t)(n >> 8);
		r->dec[r->declen + 4] = (uint8_t)n;
		it->len = (uint32_t)(n + TLS_HDR);
		r->declen += it->len;
		/* its handshake messages may begin or end in other records: reassembled as in the clear (hs_reasm
		 * reads the record before it adds a made one, which may move r->dec) */
		umpa_cur_init(&rc, r->dec + it->off, it->len);
		if (hs_reasm(r, f, &rc, hs_frag_start(&rc), &type, &last)) {
			it->hs_cont = 1;
			it->hs_type = type;
			it->hs_last = (uint8_t)last;
		}
		return;
	}
	r->declen += it->len;
}

/* Carry the connection's TLS version onto the tls layers of @p p from layer @p from on: mark them when the
 * connection is TLS 1.3, and learn it from a ServerHello; with a key log, decrypt the whole records. */
static void tls13_marks(struct umpa_reasm *r, struct flow *f, struct umpa_pkt *p, unsigned from)
{
	for (unsigned i = from; i < p->nlayers; i++) {
		if (p->l[i].proto != &umpa_proto_tls)
			continue;
		if (!umpa_tls_record_partial_(p, i)) { /* a whole record, once, in stream order */
			f->nrec++;
			hs_reasm_layer(r, f, p, i);
			if (r->kl && umpa_tls_keylog_count_(r->kl) > 0 && p->l[i].hlen >= TLS_HDR &&
			    !umpa_tls_record_partial_(p, i))
				decrypt_record(r, f, p, i);
		}
		if (f->tls13)
			umpa_tls_mark_tls13_(p, i);
		else if (umpa_tls_selects_tls13_(p, i)) {
			struct flow *g = flow_reverse(r, f);
			f->tls13 = 1;
			if (g)
				g->tls13 = 1;
			umpa_tls_mark_tls13_(p, i); /* the ServerHello's own record is TLS 1.3 too */
		}
	}
}

int umpa_reasm_keylog(struct umpa_reasm *r, const char *text, size_t n, struct umpa_err *e)
{
	unsigned long bad = 0;
	long added;

	if (!r->kl && !(r->kl = umpa_tls_keylog_new_()))
		return umpa_err_set(e, UMPA_ENOMEM, "key log: out of memory");
	added = umpa_tls_keylog_add_(r->kl, text, n, &bad);
	if (added < 0)
		return umpa_err_set(e, UMPA_ENOMEM, "key log: out of memory");
	if (added == 0 && bad > 0)
		return umpa_err_set(e, UMPA_EFORMAT, "key log: %lu malformed line%s and no usable secret", bad,
				    bad == 1 ? "" : "s");
	return (int)(added > INT32_MAX ? INT32_MAX : added);
}

const struct umpa_pkt *umpa_reasm_feed(struct umpa_reasm *r, struct umpa_pkt *p, uint64_t frame)
{
	struct seg s;
	struct umpa_cur sc;
	struct flow *f;
	int32_t d;
	size_t before, k;
	int own, bad;

	if (!r)
		return NULL;
	if (r->rp_flow) { /* what the previous feed showed is done with */
		flow_consume(r->rp_flow, r->rp_len);
		r->rp_flow = NULL;
		r->rp_len = 0;
	}
	r->have_rp = 0;
	r->note = NOTE_NONE;
	r->note_http = 0;
	r->nframes = 0;
	r->nitems = 0;
	r->items_lost = 0;
	r->declen = 0;
	if (seg_of(p, &s) < 0)
		return NULL;
	f = flow_find(r, &s);
	if (s.flags & (TH_SYN | TH_RST)) {
		if (f)
			flow_reset(r, f);
		f = NULL;
		if (s.flags & TH_RST)
			return NULL;
		s.seq++; /* data on a SYN starts after it */
		/* on a port bound to TLS, follow the connection from its start, so that data arriving out of
		 * order before the first record is held rather than misread */
		if (umpa_proto_bound(UMPA_BIND_TCPPORT, s.dport) == &umpa_proto_tls ||
		    umpa_proto_bound(UMPA_BIND_TCPPORT, s.sport) == &umpa_proto_tls)
			f = flow_new(r, &s, frame, &umpa_proto_tls);
		if (s.len == 0)
			return NULL;
	}
	if (s.len == 0) {
		if (f && (s.flags & TH_FIN) && f->nheld == 0)
			flow_reset(r, f);
		return NULL;
	}
	if (!f) {
		/* follow a flow from data that dissected as a TLS record or as the start of an HTTP message */
		const struct umpa_proto *pdu = s.t + 1 < p->nlayers ? p->l[s.t + 1].proto : NULL;
		struct umpa_cur c;
		if (pdu == &umpa_proto_tls && p->l[s.t + 1].hlen < TLS_HDR)
			return NULL;
		if (pdu != &umpa_proto_tls && pdu != &umpa_proto_http)
			return NULL;
		umpa_cur_init(&c, s.data, s.len);
		if (!pdu_starts(pdu, &c))
			return NULL;
		f = flow_new(r, &s, frame, pdu);
		if (!f)
			return NULL;
	}
	if (!f->tls13) {
		struct flow *g = flow_reverse(r, f);
		f->tls13 = g && g->tls13;
	}
	f->last = frame;
	r->note_http = f->pdu == &umpa_proto_http;
	d = (int32_t)(s.seq - f->nxt);
	if (d > 0) {
		int h = flow_hold(r, f, &s, frame);
		r->note = h == 0 ? NOTE_DUPLICATE : NOTE_HELD;
		if (h == 0)
			r->st.duplicates++;
		cut_after(p, s.t);
		return NULL;
	}
	if (d < 0 && (uint32_t)-d >= s.len) {
		r->st.duplicates++;
		r->note = NOTE_DUPLICATE;
		cut_after(p, s.t);
		return NULL;
	}
	if (!f->synced) {
		/* resynchronise only where a segment starts with a record header */
		struct umpa_cur c;
		umpa_cur_init(&c, s.data, s.len);
		if (d != 0 || f->len != 0 || !pdu_starts(f->pdu, &c)) {
			f->nxt = s.seq + s.len;
			return NULL; /* the frame's own dissection is all there is */
		}
		f->synced = 1;
	}
	before = f->len;
	own = before == 0 && d == 0;
	umpa_cur_init(&sc, s.data, s.len);
	if (flow_append(r, f, &sc, (uint32_t)-d, s.len - (uint32_t)-d, frame) < 0) {
		cut_after(p, s.t);
		return NULL;
	}
	if (flow_drain(r, f) > 0)
		own = 0;
	if (p->nlayers >= UMPA_MAX_LAYERS)
		own = 0; /* the frame ran out of layers: show its records from the buffer, all of them */
	k = complete_records(f, f->buf, f->len, &bad);
	if (bad) {
		k = f->len; /* show the rest as what it is (an ignored record) and resynchronise later */
		f->synced = 0;
	}
	if (own) {
		/* the frame's own layers show these records; keep only the trailing partial record */
		if (bad) {
			flow_consume(f, f->len);
			f->synced = 0;
		} else {
			flow_consume(f, k);
			if (f->pdu == &umpa_proto_tls && f->len > 0 && f->len < TLS_HDR) {
				/* a piece too short for the frame to show as a record */
				cut_after(p, s.t);
				r->note = NOTE_SEGMENT;
			}
		}
		tls13_marks(r, f, p, s.t + 1);
		if ((s.flags & TH_FIN) && f->nheld == 0)
			flow_reset(r, f);
		return NULL;
	}
	cut_after(p, s.t);
	if (k == 0) {
		r->note = NOTE_SEGMENT;
		return NULL;
	}
	frames_of(r, f, k);
	if (r->nframes > 1 || r->frames[0] != frame)
		r->st.reassembled++;
	umpa_pkt_attach(&r->rp, f->buf, (uint32_t)k, (uint32_t)k, -1);
	r->rp.ts_sec = p->ts_sec;
	r->rp.ts_nsec = p->ts_nsec;
	umpa_dissect_from(&r->rp, 0, f->pdu, 0, (uint32_t)k);
	tls13_marks(r, f, &r->rp, 0);
	r->have_rp = 1;
	r->rp_flow = f;
	r->rp_len = k;
	if (k < f->len)
		r->note = NOTE_SEGMENT; /* the segment also starts the next record */
	if ((s.flags & TH_FIN) && f->nheld == 0) {
		/* shown now, forgotten at the next feed: keep the buffer until then */
		f->synced = 0;
	}
	return &r->rp;
}

/* A number for the connection of @p s, the same both ways (FNV-1a over the lower endpoint first); never 0. */
static uint64_t conn_id(const struct seg *s)
{
	unsigned al = s->af == 4 ? 4 : 16;
	int c = memcmp(s->addr, s->addr + al, al);
	int fwd = c < 0 || (c == 0 && s->sport <= s->dport);
	uint8_t k[2 * (16 + 2) + 1];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = 0;

	k[n++] = s->af;
	for (int i = 0; i < 2; i++) {
		int lo = (i == 0) == fwd; /* first the source when forward */
		uint16_t port = lo ? s->sport : s->dport;
		memcpy(k + n, s->addr + (lo ? 0 : al), al);
		n += al;
		k[n++] = (uint8_t)(port >> 8);
		k[n++] = (uint8_t)port;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

int umpa_reasm_keys_missing(struct umpa_reasm *r, const struct umpa_pkt *p, uint64_t *conn)
{
	struct seg s, rs;
	struct flow *f, *g;
	unsigned al;
	int m;

	*conn = 0;
	if (!r || seg_of(p, &s) < 0)
		return 0;
	*conn = conn_id(&s);
	al = s.af == 4 ? 4 : 16;
	rs = s;
	memcpy(rs.addr, s.addr + al, al);
	memcpy(rs.addr + al, s.addr, al);
	rs.sport = s.dport;
	rs.dport = s.sport;
	f = flow_find(r, &s);
	g = flow_find(r, &rs);
	if (!(f && f->pdu == &umpa_proto_tls) && !(g && g->pdu == &umpa_proto_tls) &&
	    !(s.t + 1 < p->nlayers && p->l[s.t + 1].proto == &umpa_proto_tls))
		return 0;
	m = umpa_tls_keys_missing_(r->kl, f ? &f->dec : NULL, g ? &g->dec : NULL);
	if (m >= 0)
		return m;
	/* no ClientHello seen yet: with an empty key log it is this frame's or a coming one, and must wait;
	 * after records went by without it, no secret can ever match */
	return umpa_tls_keylog_count_(r->kl) == 0 && (!f || f->nrec == 0) && (!g || g->nrec == 0);
}

/* ---- rendering ---- */

static void put_frames(const struct umpa_reasm *r, struct umpa_sbuf *out, int json)
{
	for (unsigned i = 0; i < r->nframes; i++) {
		unsigned j = i;
		if (i)
			umpa_sbuf_putc(out, ',');
		umpa_sbuf_put_u64(out, r->frames[i]);
		if (json)
			continue;
		while (j + 1 < r->nframes && r->frames[j + 1] == r->frames[j] + 1)
			j++;
		if (j >= i + 2) {
			umpa_sbuf_putc(out, '-');
			umpa_sbuf_put_u64(out, r->frames[j]);
			i = j;
		}
	}
	if (r->frames_lost && !json)
		umpa_sbuf_puts(out, ",...");
}

static const char *note_text(const struct umpa_reasm *r, enum note n)
{
	switch (n) {
	case NOTE_SEGMENT:
		return r && r->note_http ? "HTTP segment of a reassembled PDU" : "TLS segment of a reassembled PDU";
	case NOTE_DUPLICATE:
		return "TCP duplicate, ignored";
	case NOTE_HELD:
		return "TCP out of order, held for reassembly";
	default:
		return "";
	}
}

/* Remove a trailing newline (and with it the one-line or JSON terminator). */
static void chop(struct umpa_sbuf *b, const char *suffix)
{
	size_t n = strlen(suffix);

	if (b->len >= n && memcmp(b->s + b->len - n, suffix, n) == 0) {
		b->len -= n;
		b->s[b->len] = 0;
	}
}

/* The marks the line renderer puts after a summary, for the reassembled layers. */
static void put_marks(const struct umpa_layer *l, struct umpa_sbuf *b)
{
	if (l->flags & UMPA_L_TRUNCATED) {
		umpa_sbuf_puts(b, " [truncated ");
		umpa_sbuf_puts(b, l->proto->name);
		umpa_sbuf_puts(b, l->why ? ": " : "");
		umpa_sbuf_puts(b, l->why ? l->why : "");
		umpa_sbuf_putc(b, ']');
	}
	if (l->flags & UMPA_L_INVALID) {
		umpa_sbuf_puts(b, " [invalid ");
		umpa_sbuf_puts(b, l->proto->name);
		umpa_sbuf_puts(b, l->why ? ": " : "");
		umpa_sbuf_puts(b, l->why ? l->why : "");
		umpa_sbuf_putc(b, ']');
	}
}

/* A packet holds at most UMPA_MAX_LAYERS layers: dissect the records after those r->rp holds into it, up to
 * that many.  Returns 0 when none are left. */
static int rp_next_chunk(struct umpa_reasm *r)
{
	const struct umpa_layer *last;
	uint32_t end;

	if (!r || !r->have_rp || r->rp.nlayers == 0)
		return 0;
	last = &r->rp.l[r->rp.nlayers - 1];
	end = last->off + last->hlen;
	if (last->hlen == 0 || end >= r->rp_len)
		return 0;
	umpa_dissect_from(&r->rp, 0, r->rp_flow->pdu, end, (uint32_t)(r->rp_len - end));
	tls13_marks(r, r->rp_flow, &r->rp, 0);
	return r->rp.nlayers > 0;
}

/* The "layers" array's content of one JSON rendering of rp in r->txt, or NULL. */
static const char *json_layers(struct umpa_reasm *r, const struct umpa_pkt *rp, const struct umpa_render_opts *ro)
{
	const char *ls;

	umpa_sbuf_reset(&r->txt);
	umpa_render_json(rp, ro, &r->txt);
	chop(&r->txt, "]}\n");
	ls = r->txt.s ? strstr(r->txt.s, "\"layers\":[{") : NULL;
	return ls ? ls + strlen("\"layers\":[{") : NULL;
}

/* Dissect decrypted item @p i into r->dp (application data as what it holds: HTTP/1.1 or raw data). */
static const struct umpa_pkt *dp_item(struct umpa_reasm *r, unsigned i, const struct umpa_pkt *p)
{
	const struct dec_item *it = &r->items[i];
	const struct umpa_proto *proto = &umpa_proto_tls;

	umpa_pkt_attach(&r->dp, r->dec, (uint32_t)r->declen, (uint32_t)r->declen, UMPA_LINKTYPE_TLS_MADE_);
	r->dp.ts_sec = p->ts_sec;
	r->dp.ts_nsec = p->ts_nsec;
	if (it->app)
		proto = umpa_app_proto_(r->dec + it->off, it->len);
	umpa_dissect_from(&r->dp, 0, proto, it->off, it->len);
	if (it->tls13 && r->dp.nlayers > 0 && r->dp.l[0].proto == &umpa_proto_tls)
		umpa_tls_mark_tls13_(&r->dp, 0);
	if (it->hs_cont && r->dp.nlayers > 0)
		umpa_tls_mark_hs_cont_(&r->dp, 0, it->hs_type, it->hs_last);
	return &r->dp;
}

/* The decrypted records of the last feed in form @p fmt (after the frame and its reassembled records). */
static void show_decrypted(struct umpa_reasm *r, const struct umpa_pkt *p, enum umpa_reasm_fmt fmt,
			   const struct umpa_render_opts *ro, struct umpa_sbuf *out)
{
	for (unsigned i = 0; i < r->nitems; i++) {
		const struct dec_item *it = &r->items[i];
		const struct umpa_pkt *dp;
		const char *ls, *nl;
		char head[96];
		if (it->why) {
			snprintf(head, sizeof(head), "TLS record %u: cannot decrypt: ", it->recno);
			switch (fmt) {
			case UMPA_REASM_LINE:
				umpa_sbuf_puts(out, " [");
				umpa_sbuf_puts(out, head);
				umpa_sbuf_puts(out, it->why);
				umpa_sbuf_putc(out, ']');
				break;
			case UMPA_REASM_TREE:
				umpa_sbuf_putc(out, '[');
				umpa_sbuf_puts(out, head);
				umpa_sbuf_puts(out, it->why);
				umpa_sbuf_puts(out, "]\n");
				break;
			case UMPA_REASM_JSON:
				umpa_sbuf_puts(out, ",{\"_decrypted_record\":");
				umpa_sbuf_put_u64(out, it->recno);
				umpa_sbuf_puts(out, ",\"_decrypt_error\":");
				umpa_sbuf_put_json_str(out, it->why, strlen(it->why));
				umpa_sbuf_putc(out, '}');
				break;
			}
			continue;
		}
		if (it->pending) {
			static const char seg[] = "HTTP segment of a reassembled PDU";
			switch (fmt) {
			case UMPA_REASM_LINE:
				umpa_sbuf_puts(out, " [decrypted: ");
				umpa_sbuf_puts(out, seg);
				umpa_sbuf_putc(out, ']');
				break;
			case UMPA_REASM_TREE:
				snprintf(head, sizeof(head), "[Decrypted TLS record %u: %s]\n", it->recno, seg);
				umpa_sbuf_puts(out, head);
				break;
			case UMPA_REASM_JSON:
				umpa_sbuf_puts(out, ",{\"_decrypted_record\":");
				umpa_sbuf_put_u64(out, it->recno);
				umpa_sbuf_puts(out, ",\"_reassembly\":");
				umpa_sbuf_put_json_str(out, seg, sizeof(seg) - 1);
				umpa_sbuf_putc(out, '}');
				break;
			}
			continue;
		}
		dp = dp_item(r, i, p);
		switch (fmt) {
		case UMPA_REASM_LINE:
			umpa_sbuf_puts(out, it->made    ? " [reassembled:"
					    : it->early ? " [decrypted 0-RTT:"
							: " [decrypted:");
			for (unsigned k = 0; k < dp->nlayers; k++)
				if (dp->l[k].proto->summary)
					dp->l[k].proto->summary(dp, k, out);
			if (dp->nlayers == 1 && dp->l[0].proto == &umpa_proto_raw) {
				umpa_sbuf_puts(out, " Application Data, length ");
				umpa_sbuf_put_u64(out, it->len);
			}
			for (unsigned k = 0; k < dp->nlayers; k++)
				put_marks(&dp->l[k], out);
			umpa_sbuf_putc(out, ']');
			break;
		case UMPA_REASM_TREE:
			if (it->made)
				snprintf(head, sizeof(head),
					 "[Reassembled handshake fragments (%u bytes), completed by TLS record %u]\n",
					 it->len - TLS_HDR, it->recno);
			else
				snprintf(head, sizeof(head), "[Decrypted TLS record %u (%u bytes%s)]\n", it->recno,
					 it->len, it->early ? ", 0-RTT early data" : "");
			umpa_sbuf_puts(out, head);
			umpa_sbuf_reset(&r->txt);
			umpa_render_tree(dp, ro, &r->txt);
			nl = r->txt.s ? strchr(r->txt.s, '\n') : NULL; /* drop the "Frame N: ..." line */
			if (nl)
				umpa_sbuf_puts(out, nl + 1);
			break;
		case UMPA_REASM_JSON:
			if ((ls = json_layers(r, dp, ro))) {
				umpa_sbuf_puts(out, it->made ? ",{\"_reassembled_handshake_record\":"
							     : ",{\"_decrypted_record\":");
				umpa_sbuf_put_u64(out, it->recno);
				umpa_sbuf_puts(out, it->made ? ",\"_reassembled_length\":" : ",\"_decrypted_length\":");
				umpa_sbuf_put_u64(out, it->len);
				if (it->early)
					umpa_sbuf_puts(out, ",\"_early_data\":true");
				umpa_sbuf_putc(out, ',');
				umpa_sbuf_puts(out, ls);
			}
			break;
		}
	}
	if (r->items_lost && fmt != UMPA_REASM_JSON) {
		umpa_sbuf_puts(out, fmt == UMPA_REASM_LINE ? " [" : "[");
		umpa_sbuf_put_u64(out, r->items_lost);
		umpa_sbuf_puts(out, fmt == UMPA_REASM_LINE ? " more TLS records not decrypted or not shown]"
							   : " more TLS records not decrypted or not shown]\n");
	}
}

void umpa_reasm_show(struct umpa_reasm *r, struct umpa_pkt *p, uint64_t frame, enum umpa_reasm_fmt fmt,
		     const struct umpa_render_opts *ro, struct umpa_sbuf *out)
{
	const struct umpa_pkt *rp = umpa_reasm_feed(r, p, frame);
	enum note note = r ? r->note : NOTE_NONE;
	size_t from;

	switch (fmt) {
	case UMPA_REASM_LINE:
		umpa_render_line(p, ro, out);
		if (!rp && note == NOTE_NONE && (!r || (r->nitems == 0 && r->items_lost == 0)))
			return;
		chop(out, "\n");
		from = out->len;
		if (rp) {
			do {
				for (unsigned i = 0; i < rp->nlayers; i++)
					if (rp->l[i].proto->summary)
						rp->l[i].proto->summary(rp, i, out);
				for (unsigned i = 0; i < rp->nlayers; i++)
					put_marks(&rp->l[i], out);
			} while (rp_next_chunk(r));
			umpa_sbuf_puts(out, " [reassembled from frames ");
			put_frames(r, out, 0);
			umpa_sbuf_putc(out, ']');
		}
		if (note != NOTE_NONE) {
			umpa_sbuf_puts(out, " [");
			umpa_sbuf_puts(out, note_text(r, note));
			umpa_sbuf_putc(out, ']');
		}
		if (r)
			show_decrypted(r, p, fmt, ro, out);
		umpa_sbuf_make_safe(out, from); /* the summaries quote the wire, as in umpa_render_line */
		umpa_sbuf_putc(out, '\n');
		return;
	case UMPA_REASM_TREE:
		umpa_render_tree(p, ro, out);
		if (note != NOTE_NONE) {
			umpa_sbuf_putc(out, '[');
			umpa_sbuf_puts(out, note_text(r, note));
			umpa_sbuf_puts(out, "]\n");
		}
		if (rp) {
			const char *nl;
			umpa_sbuf_puts(out, "[Reassembled TCP segments (");
			umpa_sbuf_put_u64(out, rp->len);
			umpa_sbuf_puts(out, " bytes): reassembled from frames ");
			put_frames(r, out, 0);
			umpa_sbuf_puts(out, "]\n");
			do {
				umpa_sbuf_reset(&r->txt);
				umpa_render_tree(rp, ro, &r->txt);
				nl = r->txt.s ? strchr(r->txt.s, '\n') : NULL; /* drop the "Frame N: ..." line */
				if (nl)
					umpa_sbuf_puts(out, nl + 1);
			} while (rp_next_chunk(r));
		}
		if (r)
			show_decrypted(r, p, fmt, ro, out);
		umpa_sbuf_putc(out, '\n');
		return;
	case UMPA_REASM_JSON:
		umpa_render_json(p, ro, out);
		if (!rp && note == NOTE_NONE && (!r || (r->nitems == 0 && r->items_lost == 0)))
			return;
		chop(out, "]}\n");
		if (rp) {
			const char *ls = json_layers(r, rp, ro);
			if (ls) {
				umpa_sbuf_puts(out, p->nlayers ? ",{" : "{");
				umpa_sbuf_puts(out, "\"_reassembled_from\":[");
				put_frames(r, out, 1);
				umpa_sbuf_puts(out, "],\"_reassembled_length\":");
				umpa_sbuf_put_u64(out, rp->len);
				umpa_sbuf_putc(out, ',');
				umpa_sbuf_puts(out, ls);
			}
			while (rp_next_chunk(r))
				if ((ls = json_layers(r, rp, ro))) {
					umpa_sbuf_puts(out, ",{");
					umpa_sbuf_puts(out, ls);
				}
		}
		if (r)
			show_decrypted(r, p, fmt, ro, out);
		umpa_sbuf_puts(out, "]");
		if (note != NOTE_NONE) {
			umpa_sbuf_puts(out, ",\"_reassembly\":");
			umpa_sbuf_put_json_str(out, note_text(r, note), strlen(note_text(r, note)));
		}
		umpa_sbuf_puts(out, "}\n");
		return;
	}
}
