/* ipv6_hop.c - IPv6 Hop-by-Hop Options header (RFC 8200 s4.2-4.3; Router Alert RFC 2711; Jumbo RFC 2675).
 *
 * Header: next header, length (in 8-octet units, not counting the first 8
 * octets), then type-length-value options up to the end of the header.
 * The option code here is shared with the Destination Options header
 * (ipv6_dst.c) through ipv6_opts.h.
 *
 * Options (the VAR field "options", Wireshark ipv6.opt) are written from a
 * text spec: items separated by ',', each one of
 *     pad1            one zero byte (type 0)
 *     padn=N          PadN (type 1) with N zero data bytes (N alone: 0)
 *     ra=V            Router Alert (type 5) with value V (ra alone: 0, MLD)
 *     jumbo=N         Jumbo Payload (type 0xc2) of N bytes; "jumbo" alone
 *                     is automatic: the bytes after the IPv6 header
 *     N=hex           any type N (decimal or 0x) with these data bytes
 *                     ("N" alone: no data; N = 0 is a single zero byte)
 * e.g. "ra=0" or "jumbo,padn=2".  Known options are aligned as RFC 8200
 * asks (Router Alert 2n, Jumbo Payload 4n+2) by padding inserted before
 * them; raw N=hex items are put where they fall, so a misaligned option can
 * be written on purpose.  The header is padded to a multiple of 8 bytes
 * (Pad1 for one byte, PadN for more), as Scapy does.  An empty spec leaves
 * only the padding.  A fresh header (no options set) is Scapy's default:
 * one PadN of 4 bytes.
 *
 * Dissecting: the length bounds the header; a header longer than the window
 * is short; a hop-by-hop header anywhere but right after IPv6 is invalid
 * (RFC 8200 s4.3); an option running past the header flags the layer
 * INVALID and the walk stops there.  When the IPv6 payload length is 0 the Jumbo Payload
 * option gives the length of what follows the IPv6 header: the window
 * shrinks to it (a missing option is invalid).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipv6_opts.h"
#include "umpa_near.h"

enum {
	OPT_PAD1 = 0x00,
	OPT_PADN = 0x01,
	OPT_RA = 0x05,
	OPT_JUMBO = 0xc2,
	OPTS_MAX = 2048, /* (255 + 1) * 8 */
	NXT_NONE = 59,
};

/* ---- the option walk ---- */

struct opt_it {
	struct umpa_cur c; /* the header as present: [0, min(hlen, window)) */
	uint32_t pos;
};

struct opt {
	uint32_t off; /* offset of the type byte in the header */
	uint8_t type;
	uint8_t dlen;       /* data length (0 for Pad1) */
	const uint8_t *d;   /* data */
	struct umpa_cur dc; /* a cursor over d: every read of the data goes through it */
};

enum { OPT_END = 0, OPT_OK = 1, OPT_BAD = -1 };

static void opt_begin(const struct umpa_pkt *p, unsigned li, struct opt_it *it)
{
	const struct umpa_layer *l = &p->l[li];

	umpa_layer_cur(p, li, &it->c);
	if (l->hlen < it->c.len)
		it->c.len = l->hlen;
	it->pos = 2;
}

/* The next option: OPT_OK, OPT_END, or OPT_BAD when one overruns the header. */
static int opt_next(struct opt_it *it, struct opt *o)
{
	uint8_t t, n;

	if (it->pos >= it->c.len)
		return OPT_END;
	if (umpa_cur_u8_at(&it->c, it->pos, &t) < 0)
		return OPT_END;
	o->off = it->pos;
	o->type = t;
	o->d = NULL;
	o->dlen = 0;
	umpa_cur_init(&o->dc, NULL, 0);
	if (t == OPT_PAD1) {
		it->pos += 1;
		return OPT_OK;
	}
	if (umpa_cur_u8_at(&it->c, it->pos + 1, &n) < 0 || umpa_cur_ptr_at(&it->c, it->pos + 2, n, &o->d) < 0 ||
	    umpa_cur_sub(&it->c, it->pos + 2, n, &o->dc) < 0)
		return OPT_BAD;
	o->dlen = n;
	it->pos += 2u + n;
	return OPT_OK;
}

/* ---- hooks shared with ipv6_dst.c ---- */

const struct umpa_proto *umpa_ipv6_opts_dissect_(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	struct opt_it it;
	struct opt o;
	uint8_t nxt, len;
	uint32_t hlen;
	int r, jumbo_seen = 0;
	uint32_t jumbo = 0;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &nxt) < 0 || umpa_cur_u8_at(&c, 1, &len) < 0)
		return NULL;
	hlen = 8u * (len + 1u);
	l->hlen = hlen;
	if (l->proto == &umpa_proto_ipv6_hop && (li == 0 || p->l[li - 1].proto != &umpa_proto_ipv6)) {
		l->flags |= UMPA_L_INVALID; /* RFC 8200 s4.3; dissected all the same */
		l->why = "hop-by-hop header not right after the IPv6 header";
	}
	if (hlen > l->len) {
		umpa_layer_short(p, li, "options header longer than the bytes present");
		return NULL;
	}
	opt_begin(p, li, &it);
	while ((r = opt_next(&it, &o)) == OPT_OK) {
		if (o.type == OPT_JUMBO && o.dlen == 4 && !jumbo_seen) {
			jumbo_seen = 1;
			umpa_cur_be32_at(&o.dc, 0, &jumbo);
		}
	}
	if (r == OPT_BAD && !(l->flags & UMPA_L_INVALID)) {
		l->flags |= UMPA_L_INVALID;
		l->why = "option overruns the header";
	}
	/* a jumbogram: IPv6 payload length 0, the length is here (RFC 2675) */
	if (l->proto == &umpa_proto_ipv6_hop && li > 0 && p->l[li - 1].proto == &umpa_proto_ipv6) {
		struct umpa_cur ic;
		uint16_t plen;
		umpa_layer_cur(p, li - 1, &ic);
		if (umpa_cur_be16_at(&ic, 4, &plen) == 0 && plen == 0) {
			if (!jumbo_seen) {
				if (!(l->flags & UMPA_L_INVALID)) {
					l->flags |= UMPA_L_INVALID;
					l->why = "payload length 0 without a jumbo payload option";
				}
			} else if (jumbo > l->len) {
				if (!(l->flags & UMPA_L_QUOTED))
					umpa_layer_short(p, li, "jumbo payload length beyond the bytes present");
			} else if (jumbo >= hlen) {
				l->len = jumbo;
			} else if (!(l->flags & UMPA_L_INVALID)) {
				l->flags |= UMPA_L_INVALID;
				l->why = "jumbo payload length shorter than the header";
			}
		}
	}
	return umpa_proto_bound(UMPA_BIND_IPPROTO, nxt);
}

int umpa_ipv6_opts_finish_(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	const struct umpa_field *f = l->proto->fields;
	uint8_t *h = p->data + l->off;

	(void)e;
	umpa_field_auto_u64(p, li, &f[0], umpa_ipv6_auto_nxt_(p, li));
	umpa_field_auto_u64(p, li, &f[1], l->hlen >= 8 ? (l->hlen + 7) / 8 - 1 : 0);
	if (!umpa_field_is_set(p, li, &f[2]) && l->hlen == 8 && l->len >= 8 &&
	    !(h[2] | h[3] | h[4] | h[5] | h[6] | h[7])) {
		h[2] = OPT_PADN; /* Scapy's default: PadN of 4 */
		h[3] = 4;
	}
	if (l->aux && l->aux - 1 + 4 <= l->hlen && l->hlen <= l->len) {
		/* an automatic jumbo length: the bytes after the IPv6 header */
		uint32_t v = l->len, at = l->aux - 1;
		h[at] = (uint8_t)(v >> 24);
		h[at + 1] = (uint8_t)(v >> 16);
		h[at + 2] = (uint8_t)(v >> 8);
		h[at + 3] = (uint8_t)v;
	}
	return 0;
}

/* Append @n bytes of padding to @b (Pad1 for one, PadN otherwise). */
static void put_pad(uint8_t *b, size_t *n, size_t k)
{
	if (k == 0)
		return;
	if (k == 1) {
		b[(*n)++] = OPT_PAD1;
		return;
	}
	b[(*n)++] = OPT_PADN;
	b[(*n)++] = (uint8_t)(k - 2);
	memset(b + *n, 0, k - 2);
	*n += k - 2;
}

/* Pad so that the next option starts at x*n + y (offsets count from the header start). */
static void align(uint8_t *b, size_t *n, unsigned x, unsigned y)
{
	size_t at = 2 + *n;
	size_t k = (y + x - at % x) % x;

	put_pad(b, n, k);
}

int umpa_ipv6_opts_set_var_(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			    struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint8_t b[OPTS_MAX + 16];
	size_t n = 0;
	uint32_t jumbo_at = 0;
	struct umpa_span s = umpa_span_of(spec), ks, vs;
	char item[32], vbuf[OPTS_MAX * 2 + 32];
	int hasval;

	(void)f;
	if (l->hlen < 2)
		return umpa_err_set(e, UMPA_EINVAL, "%s header too short for options", l->proto->name);
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		char *val = hasval ? vbuf : NULL;
		uint64_t v;
		long dn;

		if (umpa_span_cstr(ks, item, sizeof(item)) < 0 || umpa_span_cstr(vs, vbuf, sizeof(vbuf)) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "options: item too long in '%s'", spec);
		if (!strcmp(item, "pad1")) {
			if (val)
				return umpa_err_set(e, UMPA_EINVAL, "options: pad1 takes no value");
			b[n++] = OPT_PAD1;
		} else if (!strcmp(item, "padn")) {
			v = 0;
			if (val && umpa_spec_num(umpa_span_of(val), 255, &v) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "options: padn=%s: want 0..255 data bytes", val);
			if (n + 2 + v > OPTS_MAX)
				goto toolong;
			b[n++] = OPT_PADN;
			b[n++] = (uint8_t)v;
			memset(b + n, 0, (size_t)v);
			n += (size_t)v;
		} else if (!strcmp(item, "ra") || !strcmp(item, "router_alert")) {
			v = 0;
			if (val && umpa_spec_num(umpa_span_of(val), 0xffff, &v) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "options: ra=%s: want 0..65535", val);
			align(b, &n, 2, 0);
			b[n++] = OPT_RA;
			b[n++] = 2;
			b[n++] = (uint8_t)(v >> 8);
			b[n++] = (uint8_t)v;
		} else if (!strcmp(item, "jumbo")) {
			v = 0;
			if (val && umpa_spec_num(umpa_span_of(val), 0xffffffffu, &v) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "options: jumbo=%s: want 0..4294967295", val);
			align(b, &n, 4, 2);
			b[n++] = OPT_JUMBO;
			b[n++] = 4;
			if (!val)
				jumbo_at = (uint32_t)(2 + n + 1); /* header offset of the value, plus 1 */
			b[n++] = (uint8_t)(v >> 24);
			b[n++] = (uint8_t)(v >> 16);
			b[n++] = (uint8_t)(v >> 8);
			b[n++] = (uint8_t)v;
		} else if (umpa_spec_num(umpa_span_of(item), 255, &v) == 0) {
			size_t room = OPTS_MAX - n;
			if (v == OPT_PAD1) {
				if (val && *val)
					return umpa_err_set(e, UMPA_EINVAL, "options: type 0 (pad1) takes no data");
				b[n++] = OPT_PAD1;
			} else {
				dn = 0;
				if (val && (dn = umpa_spec_hex(umpa_span_of(val), b + n + 2,
							       room - 2 < 255 ? room - 2 : 255)) < 0)
					return umpa_err_set(e, UMPA_EINVAL,
							    "options: %s=%s: want hex data (at most 255 bytes)", item,
							    val);
				b[n++] = (uint8_t)v;
				b[n++] = (uint8_t)dn;
				n += (size_t)dn;
			}
		} else {
			char near[UMPA_NEAR_MAX + 1];
			const char *best =
			    umpa_near_in(item, strlen(item), "pad1,padn,ra,router_alert,jumbo", near, sizeof near);
			return umpa_err_set(e, UMPA_EINVAL,
					    "options: unknown item '%s' (" UMPA_NEAR_FMT
					    "pad1, padn=N, ra=V, jumbo=N, N=hex)",
					    item, UMPA_NEAR_ARGS(best));
		}
		if (n > OPTS_MAX - 2)
			goto toolong;
	}
	put_pad(b, &n, (8 - (2 + n) % 8) % 8);
	if (n + 2 > OPTS_MAX)
		goto toolong;
	{
		int rc = umpa_pkt_splice(p, li, 2, l->hlen - 2, b, (uint32_t)n, e);
		if (rc < 0)
			return rc;
	}
	p->l[li].aux = jumbo_at;
	return 0;
toolong:
	return umpa_err_set(e, UMPA_ERANGE, "options: more than %d bytes", OPTS_MAX - 2);
}

static const char *opt_name(uint8_t t)
{
	switch (t) {
	case OPT_PAD1:
		return "Pad1";
	case OPT_PADN:
		return "PadN";
	case OPT_RA:
		return "Router Alert";
	case OPT_JUMBO:
		return "Jumbo Payload";
	case 0x04:
		return "Tunnel Encapsulation Limit";
	case 0x07:
		return "CALIPSO";
	case 0x08:
		return "SMF_DPD";
	case 0x26:
		return "Quick-Start";
	case 0x63:
		return "RPL Option";
	case 0xc9:
		return "Home Address";
	default:
		return (t & 0x1f) == 0x1e ? "Experimental" : NULL; /* RFC 4727 */
	}
}

void umpa_ipv6_opts_details_(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct opt_it it;
	struct opt o;
	uint16_t v16;
	uint32_t v32;
	char label[80];
	int r;

	umpa_emit_u64(em, l->proto == &umpa_proto_ipv6_hop ? "ipv6.hopopts.len_oct" : "ipv6.dstopts.len_oct", l->hlen,
		      NULL);
	opt_begin(p, li, &it);
	while ((r = opt_next(&it, &o)) == OPT_OK) {
		const char *nm = opt_name(o.type);
		if (nm)
			snprintf(label, sizeof(label), "IPv6 Option (%s)", nm);
		else
			snprintf(label, sizeof(label), "IPv6 Option (Unknown 0x%02x)", o.type);
		umpa_emit_open(em, "ipv6.opt", label);
		umpa_emit_u64(em, "ipv6.opt.type", o.type, nm);
		if (o.type == OPT_PAD1) { /* Wireshark: no action/change bits for Pad1 */
			umpa_emit_str(em, "ipv6.opt.pad1", "");
			umpa_emit_close(em);
			continue;
		}
		umpa_emit_u64(em, "ipv6.opt.type.action", o.type >> 6, NULL);
		umpa_emit_bool(em, "ipv6.opt.type.change", (o.type >> 5) & 1);
		umpa_emit_u64(em, "ipv6.opt.length", o.dlen, NULL);
		if (o.type == OPT_PADN)
			umpa_emit_bytes(em, "ipv6.opt.padn", o.d, o.dlen);
		else if (o.type == OPT_RA && umpa_cur_be16_at(&o.dc, 0, &v16) == 0 && o.dlen == 2)
			umpa_emit_u64(em, "ipv6.opt.router_alert", v16, NULL);
		else if (o.type == OPT_JUMBO && umpa_cur_be32_at(&o.dc, 0, &v32) == 0 && o.dlen == 4)
			umpa_emit_u64(em, "ipv6.opt.jumbo", v32, NULL);
		else if (o.dlen && (o.type == OPT_RA || o.type == OPT_JUMBO))
			umpa_emit_str(em, "ipv6.opt.invalid_len", "Invalid IPv6 option length");
		else if (o.dlen)
			umpa_emit_bytes(em, (o.type & 0x1f) == 0x1e ? "ipv6.opt.experimental" : "ipv6.opt.unknown", o.d,
					o.dlen);
		umpa_emit_close(em);
	}
	if (r == OPT_BAD)
		umpa_emit_str(em, "ipv6.opt.invalid_len", "option overruns the header");
}

/* ---- the hop-by-hop header itself ---- */

/* Field indexes: the order of hop_fields. */
enum { F_NXT, F_LEN, F_OPTIONS, F_COUNT };

static const struct umpa_field hop_fields[] = {
    [F_NXT] = UMPA_IPV6_NXT_FIELD_("ipv6.hopopts.nxt", 0),
    [F_LEN] = UMPA_IPV6_EXT_LEN_FIELD_("ipv6.hopopts.len"),
    [F_OPTIONS] = UMPA_IPV6_OPTS_FIELD_(
	"options: pad1, padn=N, ra=V, jumbo=N (jumbo alone: automatic), N=hex; padded to 8 bytes"),
};
UMPA_FIELDS_CHECK(hop_fields, F_COUNT);

void umpa_ipv6_opts_summary_(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t nxt;

	umpa_sbuf_puts(out, p->l[li].proto == &umpa_proto_ipv6_hop ? "HBH " : "DSTOPT ");
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &nxt) == 0)
		umpa_ipv6_tail_(p, li, nxt, out);
}

const struct umpa_proto umpa_proto_ipv6_hop = {
    .name = "ipv6_hop",
    .aliases = "ipv6.hopopts,hopopts,hbh,IPv6ExtHdrHopByHop",
    .title = "IPv6 Hop-by-Hop Option",
    .fields = hop_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_NETEXT,
    .hdr_len = 8,
    .dissect = umpa_ipv6_opts_dissect_,
    .finish = umpa_ipv6_opts_finish_,
    .set_var = umpa_ipv6_opts_set_var_,
    .details = umpa_ipv6_opts_details_,
    .summary = umpa_ipv6_opts_summary_,
};
