/* field.c - field descriptors: lookup, reading, writing, parsing and formatting values. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "umpa_near.h"
#include "umpa_packet.h"
#include "umpa_spec.h"

/* Is @name one of the comma-separated names in @list? */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t k = end ? (size_t)(end - list) : strlen(list);
		if (k == n && strncmp(list, name, n) == 0)
			return 1;
		list = end ? end + 1 : NULL;
	}
	return 0;
}

int umpa_proto_is_named(const struct umpa_proto *proto, const char *name)
{
	return strcmp(proto->name, name) == 0 || in_list(proto->aliases, name);
}

const struct umpa_field *umpa_proto_field(const struct umpa_proto *proto, const char *name)
{
	for (unsigned i = 0; i < proto->nfields; i++) {
		const struct umpa_field *f = &proto->fields[i];
		if (strcmp(f->name, name) == 0 || (f->ws && strcmp(f->ws, name) == 0))
			return f;
	}
	for (unsigned i = 0; i < proto->nfields; i++)
		if (in_list(proto->fields[i].aliases, name))
			return &proto->fields[i];
	return NULL;
}

const char *umpa_vname_find(const struct umpa_vname *t, uint64_t v)
{
	for (; t && t->name; t++)
		if (t->v == v)
			return t->name;
	return NULL;
}

/* Compare names case-insensitively with '-' and '_' alike. */
static int name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (char)tolower((unsigned char)*a), y = (char)tolower((unsigned char)*b);
		if (x == '_')
			x = '-';
		if (y == '_')
			y = '-';
		if (x != y)
			return 0;
	}
	return *a == *b;
}

int umpa_vname_value(const struct umpa_vname *t, const char *name, uint64_t *v)
{
	for (; t && t->name; t++)
		if (name_eq(t->name, name)) {
			*v = t->v;
			return 0;
		}
	return -1;
}

const char *umpa_vname_near(const struct umpa_vname *t, const char *name, char *buf, size_t size)
{
	struct umpa_near n;

	umpa_near_init(&n, name);
	for (; t && t->name; t++)
		umpa_near_str(&n, t->name);
	return umpa_near_best(&n, buf, size);
}

const char *umpa_proto_field_near(const struct umpa_proto *proto, const char *name, char *buf, size_t size)
{
	struct umpa_near n;

	umpa_near_init(&n, name);
	for (unsigned i = 0; i < proto->nfields; i++) {
		const struct umpa_field *f = &proto->fields[i];
		umpa_near_str(&n, f->name);
		umpa_near_list(&n, f->aliases);
	}
	for (unsigned i = 0; i < proto->nfields; i++)
		umpa_near_str(&n, proto->fields[i].ws);
	return umpa_near_best(&n, buf, size);
}

void umpa_proto_list_fields(const struct umpa_proto *proto, struct umpa_sbuf *b)
{
	for (unsigned i = 0; i < proto->nfields; i++) {
		if (i)
			umpa_sbuf_puts(b, ", ");
		umpa_sbuf_puts(b, proto->fields[i].name);
	}
}

long umpa_field_bitoff(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	const struct umpa_proto *pr;

	if (li >= p->nlayers)
		return -1;
	pr = p->l[li].proto;
	return pr->locate ? pr->locate(p, li, f) : (long)f->bitoff;
}

/* Does field @f of layer @li lie inside the layer's window? */
static int field_in_layer(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	long off = umpa_field_bitoff(p, li, f);

	return off >= 0 && (uint64_t)off + f->bits <= 8ull * p->l[li].len;
}

int umpa_field_get_u64(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t *v)
{
	struct umpa_cur c;

	long off;

	if (li >= p->nlayers || f->type >= UMPA_FT_MAC || f->bits == 0 || f->bits > 64 ||
	    (off = umpa_field_bitoff(p, li, f)) < 0)
		return -1;
	umpa_layer_cur(p, li, &c);
	if (f->flags & UMPA_F_LE) {
		uint64_t acc = 0;
		const uint8_t *b;
		unsigned n = f->bits / 8;
		if (umpa_cur_ptr_at(&c, (size_t)off / 8, n, &b) < 0)
			return -1;
		for (unsigned i = n; i-- > 0;)
			acc = acc << 8 | b[i];
		*v = acc;
		return 0;
	}
	if (umpa_cur_bits_at(&c, (size_t)off, f->bits, v) < 0)
		return -1;
	if (f->scale > 1)
		*v *= f->scale;
	return 0;
}

int umpa_field_get_bytes(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const uint8_t **b,
			 uint32_t *n)
{
	struct umpa_cur c;

	long off;

	if (li >= p->nlayers || f->type < UMPA_FT_MAC || f->type == UMPA_FT_VAR ||
	    (off = umpa_field_bitoff(p, li, f)) < 0 || (off & 7))
		return -1;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_ptr_at(&c, (size_t)off / 8, f->bits / 8, b) < 0)
		return -1;
	*n = f->bits / 8;
	return 0;
}

/* Write bits without marking; bounds are checked by the caller. */
static void put_bits(uint8_t *d, unsigned bitoff, unsigned bits, uint64_t v, int le)
{
	if (le) {
		for (unsigned i = 0; i < bits / 8; i++)
			d[bitoff / 8 + i] = (uint8_t)(v >> (8 * i));
		return;
	}
	{
		/* read-modify-write the (at most 8) bytes the field spans as one big-endian word */
		unsigned first = bitoff / 8, n = (bitoff + bits - 1) / 8 - first + 1;
		if (n <= 8) {
			uint64_t w = 0, mask;
			unsigned shift = 8 * n - (bitoff & 7) - bits;
			for (unsigned i = 0; i < n; i++)
				w = w << 8 | d[first + i];
			mask = (bits >= 64 ? ~0ull : ((1ull << bits) - 1)) << shift;
			w = (w & ~mask) | ((v << shift) & mask);
			for (unsigned i = n; i-- > 0; w >>= 8)
				d[first + i] = (uint8_t)w;
			return;
		}
	}
	for (unsigned i = 0; i < bits; i++) {         /* a field spanning nine bytes: bit by bit */
		unsigned bit = bitoff + bits - 1 - i; /* least significant bit last on the wire */
		uint8_t mask = (uint8_t)(0x80 >> (bit & 7));
		if ((v >> i) & 1)
			d[bit / 8] |= mask;
		else
			d[bit / 8] &= (uint8_t)~mask;
	}
}

/* Write @v into field @f, which the caller found inside the layer (field_in_layer). */
static void write_u64(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t v)
{
	uint8_t *d = p->data + p->l[li].off;
	unsigned off = (unsigned)umpa_field_bitoff(p, li, f);

	if (!(f->flags & UMPA_F_LE) && (off & 7) == 0 && (f->bits & 7) == 0) {
		for (unsigned i = f->bits / 8; i-- > 0; v >>= 8)
			d[off / 8 + i] = (uint8_t)v;
		return;
	}
	put_bits(d, off, f->bits, v, f->flags & UMPA_F_LE);
}

int umpa_field_auto_u64(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t v)
{
	if (li >= p->nlayers || p->ro || f->type >= UMPA_FT_MAC || !field_in_layer(p, li, f))
		return -1;
	if (umpa_field_is_set(p, li, f))
		return 0;
	if (f->scale > 1)
		v /= f->scale;
	if (f->bits < 64)
		v &= (1ull << f->bits) - 1;
	write_u64(p, li, f, v);
	return 0;
}

void umpa_field_unset(struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	if (li < p->nlayers)
		p->l[li].set &= ~(1ull << umpa_field_index(p->l[li].proto, f));
}

/* A field past the end of layer li's window (a type-dependent body: ICMPv6
 * ns/na/ra, ICMP timestamps) makes room: the header grows with zeros up to
 * the field's end, moving what follows.  Returns 0, or -1 with e set. */
static int grow_for(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	const struct umpa_layer *l = &p->l[li];
	long off = umpa_field_bitoff(p, li, f);
	uint64_t need;
	int rc;

	if (off < 0) { /* an optional field the header does not hold (GRE's key): the protocol makes room */
		if (!l->proto->place)
			return umpa_err_set(e, UMPA_EINVAL, "%s is not in this %s header", f->ws, l->proto->name);
		if ((rc = l->proto->place(p, li, f, e)) < 0)
			return rc;
		l = &p->l[li];
		if ((off = umpa_field_bitoff(p, li, f)) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "%s is not in this %s header", f->ws, l->proto->name);
	}
	need = ((uint64_t)off + f->bits + 7) / 8;
	if (field_in_layer(p, li, f))
		return 0;
	if (need <= l->hlen || umpa_pkt_splice(p, li, l->hlen, 0, NULL, (uint32_t)(need - l->hlen), e) < 0)
		return umpa_err_set(e, UMPA_ERANGE, "%s lies beyond the %s header", f->ws, l->proto->name);
	return 0;
}

static void mark(struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	p->l[li].set |= 1ull << umpa_field_index(p->l[li].proto, f);
}

int umpa_field_set_u64(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t v, struct umpa_err *e)
{
	int rc;

	if (li >= p->nlayers)
		return umpa_err_set(e, UMPA_EINVAL, "no layer %u", li);
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
	if (f->type >= UMPA_FT_MAC)
		return umpa_err_set(e, UMPA_EINVAL, "%s is not a number field", f->ws);
	if (f->scale > 1) {
		if (v % f->scale || (f->bits < 64 && (v / f->scale) >> f->bits))
			return umpa_err_set(e, UMPA_ERANGE, "%s: %llu is not a multiple of %u from 0 to %llu", f->ws,
					    (unsigned long long)v, f->scale,
					    (unsigned long long)((1ull << f->bits) - 1) * f->scale);
		v /= f->scale;
	}
	if (f->bits < 64 && v >> f->bits)
		return umpa_err_set(e, UMPA_ERANGE, "%s: %llu does not fit in %u bits (max %llu)", f->ws,
				    (unsigned long long)v, f->bits, (unsigned long long)((1ull << f->bits) - 1));
	if ((rc = grow_for(p, li, f, e)) < 0)
		return rc;
	write_u64(p, li, f, v);
	mark(p, li, f);
	return 0;
}

int umpa_field_set_bytes(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const uint8_t *b, uint32_t n,
			 struct umpa_err *e)
{
	int rc;

	if (li >= p->nlayers)
		return umpa_err_set(e, UMPA_EINVAL, "no layer %u", li);
	if (p->ro)
		return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
	if (f->type < UMPA_FT_MAC || f->type == UMPA_FT_VAR)
		return umpa_err_set(e, UMPA_EINVAL, "%s is not a byte field", f->ws);
	if (n != f->bits / 8u)
		return umpa_err_set(e, UMPA_EINVAL, "%s takes %u bytes, not %u", f->ws, f->bits / 8u, n);
	if (f->bitoff & 7)
		return umpa_err_set(e, UMPA_ERANGE, "%s is not byte-aligned", f->ws);
	if ((rc = grow_for(p, li, f, e)) < 0)
		return rc;
	memcpy(p->data + p->l[li].off + umpa_field_bitoff(p, li, f) / 8, b, n);
	mark(p, li, f);
	return 0;
}

/* Parse an unsigned number: decimal, 0x hex, 0b binary. */
static int parse_num(const char *s, uint64_t *v)
{
	char *end;
	int base = 10;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-')
		return -1;
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		s += 2;
		base = 2;
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
	}
	*v = strtoull(s, &end, base);
	while (isspace((unsigned char)*end))
		end++;
	return *end ? -1 : 0;
}

/* Flags from letters ("SA"), names joined by | or + ("syn|ack"), or a number. */
static int parse_flags(const struct umpa_field *f, const char *s, uint64_t *v)
{
	uint64_t acc = 0;
	char tok[64];

	if (parse_num(s, v) == 0)
		return 0;
	if (f->names && (strchr(s, '|') || strchr(s, '+') || umpa_vname_value(f->names, s, v) == 0)) {
		const char *q = s;
		while (*q) {
			size_t k = strcspn(q, "|+");
			uint64_t m;
			if (k == 0 || k >= sizeof(tok))
				return -1;
			memcpy(tok, q, k);
			tok[k] = 0;
			if (umpa_vname_value(f->names, tok, &m) < 0)
				return -1;
			acc |= m;
			q += k;
			if (*q)
				q++;
		}
		*v = acc;
		return 0;
	}
	if (!f->letters)
		return -1;
	for (const char *q = s; *q; q++) {
		const char *at = strchr(f->letters, toupper((unsigned char)*q));
		if (!at || *q == 0)
			return -1;
		acc |= 1ull << (at - f->letters);
	}
	*v = acc;
	return 0;
}

/* The flag name nearest to the first name of @s that is not one ("syn|akc" -> "ack"), or NULL. */
static const char *flags_near(const struct umpa_field *f, const char *s, char *buf, size_t size)
{
	char tok[UMPA_NEAR_MAX + 1];
	uint64_t m;

	while (*s) {
		size_t k = strcspn(s, "|+");
		if (k > 0 && k < sizeof tok) {
			memcpy(tok, s, k);
			tok[k] = 0;
			if (umpa_vname_value(f->names, tok, &m) < 0)
				return umpa_vname_near(f->names, tok, buf, size);
		}
		s += k;
		if (*s)
			s++;
	}
	return NULL;
}

int umpa_field_set_str(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *s, struct umpa_err *e)
{
	uint64_t v;
	uint8_t b[64];
	long hn;

	if (li >= p->nlayers)
		return umpa_err_set(e, UMPA_EINVAL, "no layer %u", li);
	switch (f->type) {
	case UMPA_FT_UINT:
		if (parse_num(s, &v) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not a number", f->ws, s);
		return umpa_field_set_u64(p, li, f, v, e);
	case UMPA_FT_ENUM:
		if (parse_num(s, &v) < 0 && umpa_vname_value(f->names, s, &v) < 0) {
			struct umpa_sbuf sb = {0};
			for (const struct umpa_vname *t = f->names; t && t->name; t++) {
				if (sb.len)
					umpa_sbuf_puts(&sb, ", ");
				umpa_sbuf_puts(&sb, t->name);
			}
			char near[UMPA_NEAR_MAX + 1];
			const char *best = umpa_vname_near(f->names, s, near, sizeof near);
			umpa_err_set(e, UMPA_EINVAL, "%s: unknown value '%s' (%s%s%sknown: %s)", f->ws, s,
				     best ? "did you mean '" : "", best ? best : "", best ? "'? " : "",
				     sb.s ? sb.s : "numbers only");
			umpa_sbuf_free(&sb);
			return -UMPA_EINVAL;
		}
		return umpa_field_set_u64(p, li, f, v, e);
	case UMPA_FT_FLAGS:
		if (parse_flags(f, s, &v) < 0) {
			char near[UMPA_NEAR_MAX + 1];
			const char *best = flags_near(f, s, near, sizeof near);
			return umpa_err_set(e, UMPA_EINVAL,
					    "%s: bad flags '%s' (%s%s%sletters %s, or names joined by |)", f->ws, s,
					    best ? "did you mean '" : "", best ? best : "", best ? "'? " : "",
					    f->letters ? f->letters : "none");
		}
		return umpa_field_set_u64(p, li, f, v, e);
	case UMPA_FT_BOOL:
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1"))
			v = 1;
		else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0"))
			v = 0;
		else if (parse_num(s, &v) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not true/false", f->ws, s);
		return umpa_field_set_u64(p, li, f, v, e);
	case UMPA_FT_MAC:
		if (umpa_spec_hex(umpa_span_of(s), b, sizeof(b)) != 6)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not a MAC address", f->ws, s);
		return umpa_field_set_bytes(p, li, f, b, 6, e);
	case UMPA_FT_IPV4:
		if (inet_pton(AF_INET, s, b) != 1)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not an IPv4 address", f->ws, s);
		return umpa_field_set_bytes(p, li, f, b, 4, e);
	case UMPA_FT_IPV6:
		if (inet_pton(AF_INET6, s, b) != 1)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not an IPv6 address", f->ws, s);
		return umpa_field_set_bytes(p, li, f, b, 16, e);
	case UMPA_FT_BYTES:
		if ((hn = umpa_spec_hex(umpa_span_of(s), b, sizeof(b))) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "%s: '%s' is not hex bytes", f->ws, s);
		return umpa_field_set_bytes(p, li, f, b, (uint32_t)hn, e);
	case UMPA_FT_VAR: {
		int rc;
		const struct umpa_proto *pr = p->l[li].proto;
		if (!pr->set_var)
			return umpa_err_set(e, UMPA_ENOSYS, "%s cannot be set", f->ws);
		if (p->ro)
			return umpa_err_set(e, UMPA_EINVAL, "packet is read-only");
		if ((rc = pr->set_var(p, li, f, s, e)) < 0)
			return rc;
		mark(p, li, f);
		return 0;
	}
	}
	return umpa_err_set(e, UMPA_EINVAL, "%s: unknown field type", f->ws);
}

int umpa_field_format(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_sbuf *b)
{
	uint64_t v;
	const uint8_t *bytes;
	uint32_t n;

	switch (f->type) {
	case UMPA_FT_UINT:
	case UMPA_FT_ENUM:
	case UMPA_FT_FLAGS:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return -1;
		if (f->flags & UMPA_F_HEX || f->type == UMPA_FT_FLAGS)
			umpa_sbuf_put_hex(b, v, (f->bits + 3) / 4);
		else
			umpa_sbuf_put_u64(b, v);
		return 0;
	case UMPA_FT_BOOL:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return -1;
		umpa_sbuf_puts(b, v ? "true" : "false");
		return 0;
	case UMPA_FT_MAC:
		if (umpa_field_get_bytes(p, li, f, &bytes, &n) < 0)
			return -1;
		umpa_sbuf_put_mac(b, bytes);
		return 0;
	case UMPA_FT_IPV4:
		if (umpa_field_get_bytes(p, li, f, &bytes, &n) < 0)
			return -1;
		umpa_sbuf_put_ipv4(b, bytes);
		return 0;
	case UMPA_FT_IPV6:
		if (umpa_field_get_bytes(p, li, f, &bytes, &n) < 0)
			return -1;
		umpa_sbuf_put_ipv6(b, bytes);
		return 0;
	case UMPA_FT_BYTES:
		if (umpa_field_get_bytes(p, li, f, &bytes, &n) < 0)
			return -1;
		umpa_sbuf_put_hexbytes(b, bytes, n, ':');
		return 0;
	default:
		return -1;
	}
}
