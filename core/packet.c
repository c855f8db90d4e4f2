/* packet.c - packets: owned or borrowed bytes, the layer index, building and finishing. */
#include <stdlib.h>
#include <string.h>

#include "umpa_packet.h"

void umpa_pkt_init(struct umpa_pkt *p)
{
	memset(p, 0, sizeof(*p));
}

void umpa_pkt_release(struct umpa_pkt *p)
{
	if (p->owned)
		free(p->data);
	umpa_pkt_init(p);
}

void umpa_pkt_clear(struct umpa_pkt *p)
{
	if (!p->owned) {
		p->data = NULL;
		p->cap = 0;
	}
	p->len = p->wirelen = 0;
	p->ro = 0;
	p->nlayers = 0;
	p->ts_sec = 0;
	p->ts_nsec = 0;
	p->comment = NULL;
}

void umpa_pkt_attach(struct umpa_pkt *p, const uint8_t *data, uint32_t caplen, uint32_t wirelen, int linktype)
{
	if (p->owned)
		free(p->data);
	p->owned = 0;
	p->ro = 1;
	p->data = (uint8_t *)(uintptr_t)data; /* never written: ro is set */
	p->len = caplen;
	p->cap = caplen;
	p->wirelen = wirelen < caplen ? caplen : wirelen;
	p->linktype = linktype;
	p->nlayers = 0;
}

/* Ensure room for @n bytes in an owned buffer (converting a borrowed one). */
static int reserve(struct umpa_pkt *p, uint32_t n, struct umpa_err *e)
{
	uint8_t *d;
	uint32_t cap;

	if (n > UMPA_MAX_PKT)
		return umpa_err_set(e, UMPA_ERANGE, "packet of %u bytes is larger than %u", n, UMPA_MAX_PKT);
	if (p->owned && n <= p->cap)
		return 0;
	cap = p->owned && p->cap ? p->cap : 128;
	while (cap < n)
		cap *= 2;
	if (cap > UMPA_MAX_PKT)
		cap = UMPA_MAX_PKT;
	if (p->owned) {
		d = realloc(p->data, cap);
	} else {
		d = malloc(cap);
		if (d && p->len)
			memcpy(d, p->data, p->len);
	}
	if (!d)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory for a %u-byte packet", n);
	p->data = d;
	p->cap = cap;
	p->owned = 1;
	p->ro = 0;
	return 0;
}

int umpa_pkt_copy_from(struct umpa_pkt *p, const uint8_t *data, uint32_t n, struct umpa_err *e)
{
	int rc;

	p->len = 0;
	if ((rc = reserve(p, n ? n : 1, e)) < 0)
		return rc;
	if (n)
		memcpy(p->data, data, n);
	p->len = n;
	p->wirelen = n;
	p->nlayers = 0;
	return 0;
}

int umpa_pkt_dup(struct umpa_pkt *dst, const struct umpa_pkt *src, struct umpa_err *e)
{
	int rc;

	if (dst == src)
		return 0;
	if ((rc = umpa_pkt_copy_from(dst, src->data, src->len, e)) < 0)
		return rc;
	dst->wirelen = src->wirelen;
	dst->linktype = src->linktype;
	dst->ts_sec = src->ts_sec;
	dst->ts_nsec = src->ts_nsec;
	dst->comment = src->comment;
	dst->nlayers = src->nlayers;
	memcpy(dst->l, src->l, sizeof(src->l[0]) * src->nlayers);
	return 0;
}

/* Write every field's default into a fresh header. */
static void write_defaults(struct umpa_pkt *p, unsigned li)
{
	const struct umpa_proto *pr = p->l[li].proto;

	for (unsigned i = 0; i < pr->nfields; i++) {
		const struct umpa_field *f = &pr->fields[i];
		if (f->type == UMPA_FT_VAR || f->bitoff + f->bits > 8u * pr->hdr_len)
			continue;
		if (f->type == UMPA_FT_MAC || f->type == UMPA_FT_IPV4 || f->type == UMPA_FT_IPV6 ||
		    f->type == UMPA_FT_BYTES) {
			if (f->defp && (f->bitoff & 7) == 0)
				memcpy(p->data + p->l[li].off + f->bitoff / 8, f->defp, f->bits / 8);
		} else if (f->def) {
			umpa_field_auto_u64(p, li, f, f->def);
		}
	}
}

int umpa_pkt_push(struct umpa_pkt *p, const struct umpa_proto *proto, struct umpa_err *e)
{
	unsigned li = p->nlayers;
	int rc;

	if (li >= UMPA_MAX_LAYERS)
		return umpa_err_set(e, UMPA_ERANGE, "too many layers (at most %d)", UMPA_MAX_LAYERS);
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
	if ((rc = reserve(p, p->len + proto->hdr_len, e)) < 0)
		return rc;
	memset(p->data + p->len, 0, proto->hdr_len);
	for (unsigned i = 0; i < li; i++)
		p->l[i].len += proto->hdr_len;
	p->l[li] = (struct umpa_layer){.proto = proto, .off = p->len, .len = proto->hdr_len, .hlen = proto->hdr_len};
	p->len += proto->hdr_len;
	p->wirelen = p->len;
	p->nlayers = li + 1;
	write_defaults(p, li);
	return (int)li;
}

int umpa_pkt_prepend(struct umpa_pkt *p, const struct umpa_proto *proto, struct umpa_err *e)
{
	uint32_t n = proto->hdr_len;
	int rc;

	if (p->nlayers >= UMPA_MAX_LAYERS)
		return umpa_err_set(e, UMPA_ERANGE, "too many layers (at most %d)", UMPA_MAX_LAYERS);
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only"); /* (bytes not owned: reserve copies them) */
	if (p->len + n > UMPA_MAX_PKT)
		return umpa_err_set(e, UMPA_ERANGE, "packet would exceed %u bytes", UMPA_MAX_PKT);
	if ((rc = reserve(p, p->len + n, e)) < 0)
		return rc;
	memmove(p->data + n, p->data, p->len);
	memset(p->data, 0, n);
	memmove(&p->l[1], &p->l[0], p->nlayers * sizeof p->l[0]);
	for (unsigned i = 1; i <= p->nlayers; i++)
		p->l[i].off += n;
	p->len += n;
	p->wirelen += n;
	p->l[0] = (struct umpa_layer){.proto = proto, .off = 0, .len = p->len, .hlen = n};
	p->nlayers++;
	write_defaults(p, 0);
	return 0;
}

int umpa_pkt_push_bytes(struct umpa_pkt *p, const struct umpa_proto *raw_proto, const void *bytes, uint32_t n,
			struct umpa_err *e)
{
	int li = umpa_pkt_push(p, raw_proto, e);
	int rc;

	if (li < 0)
		return li;
	if ((rc = umpa_pkt_splice(p, (unsigned)li, 0, p->l[li].hlen, bytes, n, e)) < 0)
		return rc;
	return li;
}

int umpa_pkt_append_trailer(struct umpa_pkt *p, unsigned li, const void *ins, uint32_t n, struct umpa_err *e)
{
	uint32_t pos, end;
	int rc;

	if (li >= p->nlayers)
		return umpa_err_set(e, UMPA_EINVAL, "no layer %u", li);
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
	if ((uint64_t)p->len + n > UMPA_MAX_PKT)
		return umpa_err_set(e, UMPA_ERANGE, "packet would exceed %u bytes", UMPA_MAX_PKT);
	if ((rc = reserve(p, p->len + n ? p->len + n : 1, e)) < 0)
		return rc;
	pos = p->l[li].off + p->l[li].len;
	memmove(p->data + pos + n, p->data + pos, p->len - pos);
	if (ins)
		memcpy(p->data + pos, ins, n);
	else
		memset(p->data + pos, 0, n);
	p->len += n;
	p->wirelen = p->len;
	for (unsigned i = 0; i < p->nlayers; i++) {
		struct umpa_layer *o = &p->l[i];
		end = o->off + o->len;
		if (i == li || (i < li && o->off <= p->l[li].off && end >= pos))
			o->len += n; /* the layer and those enclosing it */
		else if (o->off > pos || (o->off == pos && o->len > 0))
			o->off += n; /* a layer after it (one inside it ends at pos at the latest) */
	}
	return 0;
}

int umpa_pkt_splice(struct umpa_pkt *p, unsigned li, uint32_t at, uint32_t del, const void *ins, uint32_t n,
		    struct umpa_err *e)
{
	struct umpa_layer *l;
	uint32_t pos, newlen;
	int64_t delta;
	int rc;

	if (li >= p->nlayers)
		return umpa_err_set(e, UMPA_EINVAL, "no layer %u", li);
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
	l = &p->l[li];
	if (at > l->hlen || del > l->hlen - at)
		return umpa_err_set(e, UMPA_ERANGE, "splice outside the %s header", l->proto->name);
	delta = (int64_t)n - (int64_t)del;
	if ((int64_t)p->len + delta > UMPA_MAX_PKT)
		return umpa_err_set(e, UMPA_ERANGE, "packet would exceed %u bytes", UMPA_MAX_PKT);
	newlen = (uint32_t)((int64_t)p->len + delta);
	if ((rc = reserve(p, newlen ? newlen : 1, e)) < 0)
		return rc;
	l = &p->l[li];
	pos = l->off + at;
	memmove(p->data + pos + n, p->data + pos + del, p->len - pos - del);
	if (n) {
		if (ins)
			memcpy(p->data + pos, ins, n);
		else
			memset(p->data + pos, 0, n);
	}
	p->len = newlen;
	p->wirelen = newlen;
	for (unsigned i = 0; i < p->nlayers; i++) {
		struct umpa_layer *o = &p->l[i];
		if (i == li) {
			o->len = (uint32_t)((int64_t)o->len + delta);
			o->hlen = (uint32_t)((int64_t)o->hlen + delta);
		} else if (o->off > pos || (o->off == pos && i > li)) {
			o->off = (uint32_t)((int64_t)o->off + delta);
		} else if (o->off + o->len >= pos + del && o->off <= pos) {
			o->len = (uint32_t)((int64_t)o->len + delta); /* an enclosing layer */
		}
	}
	return 0;
}

int umpa_pkt_finish(struct umpa_pkt *p, struct umpa_err *e)
{
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
	for (unsigned i = p->nlayers; i-- > 0;) {
		const struct umpa_proto *pr = p->l[i].proto;
		int rc;
		if (pr->finish && (rc = pr->finish(p, i, e)) < 0)
			return rc;
	}
	return 0;
}

void umpa_layer_short(struct umpa_pkt *p, unsigned li, const char *why)
{
	struct umpa_layer *l = &p->l[li];

	if (l->off + l->len >= p->len && p->len < p->wirelen) {
		l->flags |= UMPA_L_TRUNCATED;
		l->why = why ? why : "not captured";
	} else {
		l->flags |= UMPA_L_INVALID;
		l->why = why ? why : "length beyond the data";
	}
}

int umpa_pkt_find(const struct umpa_pkt *p, const struct umpa_proto *proto, unsigned from)
{
	for (unsigned i = from; i < p->nlayers; i++)
		if (p->l[i].proto == proto)
			return (int)i;
	return -1;
}

/* Chunks summed one after another must have even lengths, but for the last. */
/* CRC32c (Castagnoli, reflected polynomial 0x82f63b78), four bits at a time: a 16-entry table. */
static const uint32_t crc32c_nibble[16] = {
    0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
    0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t umpa_crc32c_add(uint32_t crc, const uint8_t *d, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		crc ^= d[i];
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
	}
	return crc;
}

uint32_t umpa_csum_add(uint32_t sum, const uint8_t *d, uint32_t n)
{
	uint64_t s = 0;
	uint32_t i = 0, w;

	/* RFC 1071 2(B): the ones'-complement sum does not depend on byte order, so the bytes are
	 * summed as native 32-bit words (2^16 = 1 mod 0xffff: they sum like pairs of 16-bit words),
	 * eight bytes a step, and the folded result is put in network order once at the end */
	for (; i + 8 <= n; i += 8) {
		uint32_t a, b;
		memcpy(&a, d + i, 4);
		memcpy(&b, d + i + 4, 4);
		s += (uint64_t)a + b;
	}
	for (; i + 4 <= n; i += 4) {
		memcpy(&w, d + i, 4);
		s += w;
	}
	if (i < n) { /* 1 to 3 bytes left: zero-padded to a word (an odd last byte is a high byte) */
		uint8_t t[4] = {0, 0, 0, 0};
		memcpy(t, d + i, n - i);
		memcpy(&w, t, 4);
		s += w;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = (uint16_t)(s << 8 | s >> 8);
#endif
	s += sum;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t umpa_csum_fold(uint32_t sum)
{
	uint64_t s = sum;

	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), in two steps so that one field
 * change can move several checksums: the delta (~m + m' summed over the
 * changed 16-bit words) once, then each checksum.
 */
uint32_t umpa_csum_delta(uint32_t delta, const uint8_t *old, const uint8_t *cur, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2) {
		delta += (uint16_t) ~(old[i] << 8 | old[i + 1]);
		delta += (uint32_t)(cur[i] << 8 | cur[i + 1]);
	}
	return delta;
}

uint16_t umpa_csum_adjust(uint16_t hc, uint32_t delta)
{
	uint64_t sum = (uint64_t)(uint16_t)~hc + delta;

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void umpa_pkt_csum_policy(struct umpa_pkt *p, enum umpa_csum_mode m)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		struct umpa_layer *l = &p->l[i];
		if (!(l->proto->pflags & UMPA_PF_OFFLOAD))
			continue;
		if (m == UMPA_CSUM_LIVE && !(l->flags & UMPA_L_QUOTED)) {
			l->flags &= (uint16_t) ~(UMPA_L_BADSUM | UMPA_L_CSUM_PARTIAL);
			l->flags |= UMPA_L_CSUM_UNVERIFIED;
		} else if (m == UMPA_CSUM_STRICT && (l->flags & UMPA_L_CSUM_PARTIAL)) {
			l->flags &= (uint16_t)~UMPA_L_CSUM_PARTIAL;
			l->flags |= UMPA_L_BADSUM;
		}
	}
}
