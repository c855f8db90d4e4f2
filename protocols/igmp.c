/* igmp.c - Internet Group Management Protocol versions 1, 2 and 3 (RFC 1112, RFC 2236, RFC 3376).
 *
 * Message (after IP protocol 2): type, max response time (version 1: unused),
 * checksum over the whole message, group address.  A version 3 query adds
 * reserved/S/QRV, QQIC, the number of sources and the sources; a version 3
 * report (type 0x22) has reserved, the number of group records and the
 * records (type, aux data length, number of sources, group, sources, aux
 * data) instead of the group address.
 *
 * The version is Wireshark's rule: type 0x12 is version 1, 0x16 and 0x17
 * version 2, 0x22 version 3; a query (0x11) of 8 bytes is version 1 when its
 * max response time is 0, else 2; a longer query is version 3.  The fields
 * of one version are shown (and readable) in its messages only (the locate
 * hook): igmp.reserved in version 1, igmp.max_resp in every message but the
 * v3 report (so version 1 messages show their unused byte both ways: a
 * query's version follows igmp.max_resp, which must stay settable), the query's
 * igmp.s/qrv/qqic/num_src and the report's igmp.num_grp_recs in version 3.
 *
 * Building: igmp{} is a version 2 general query with max response time 100
 * (10 s); setting a version 3 query field (qrv, qqic, s, sources) makes the
 * message 12 bytes; sources="10.0.0.1:10.0.0.2" lists the sources (num_src is
 * automatic); records="MODE:GROUP[:SOURCE
 * ...],..." (MODE 1..6 or is_in, is_ex, to_in, to_ex, allow, block;
 * num_grp_recs automatic) makes a version 3 report (type 0x22).  The checksum
 * is automatic.
 *
 * Dissecting: a checksum that does not verify marks the layer bad_checksum;
 * a source count or record that runs past the message marks it invalid.
 *
 * Summary (tcpdump -nn): "igmp query v2", "igmp query v2 [gaddr 239.1.1.1]",
 * "igmp v2 report 239.1.1.1", "igmp leave 239.1.1.1", "igmp v1 report G",
 * "igmp query v3", "igmp v3 report, 2 group record(s)".
 *
 * Names: Wireshark's igmp.*.
 */
#include <arpa/inet.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum {
	IGMP_HLEN = 8,
	IGMP3_QLEN = 12,
	T_QUERY = 0x11,
	T_V1_REPORT = 0x12,
	T_V2_REPORT = 0x16,
	T_LEAVE = 0x17,
	T_V3_REPORT = 0x22,
	IGMP_MAX_SOURCES = 256
};

static const struct umpa_vname igmp_type_names[] = {
    {T_QUERY, "membership-query"}, {T_V1_REPORT, "v1-membership-report"}, {T_V2_REPORT, "v2-membership-report"},
    {T_LEAVE, "leave-group"},      {T_V3_REPORT, "v3-membership-report"}, {0, NULL},
};

static const struct umpa_vname rec_names[] = {
    {1, "is_in"}, {2, "is_ex"}, {3, "to_in"}, {4, "to_ex"}, {5, "allow"}, {6, "block"}, {0, NULL},
};

/* Field indexes: the order of igmp_fields. */
enum {
	F_TYPE,
	F_RSV1,
	F_MAXRESP,
	F_CSUM,
	F_MADDR,
	F_RSV_Q,
	F_S,
	F_QRV,
	F_QQIC,
	F_NSRC,
	F_SOURCES,
	F_RSV_R,
	F_RSV_R1,
	F_NGRP,
	F_RECORDS,
	F_COUNT
};

static const struct umpa_field igmp_fields[] = {
    [F_TYPE] = {.name = "type",
		.ws = "igmp.type",
		.bitoff = 0,
		.bits = 8,
		.type = UMPA_FT_ENUM,
		.flags = UMPA_F_HEX,
		.def = T_QUERY,
		.names = igmp_type_names,
		.help = "0x11 query, 0x12 v1 report, 0x16 v2 report, 0x17 leave, 0x22 v3 report"},
    [F_RSV1] = {.name = "reserved",
		.ws = "igmp.reserved",
		.bitoff = 8,
		.bits = 8,
		.type = UMPA_FT_BYTES,
		.help = "version 1: unused byte"},
    [F_MAXRESP] = {.name = "max_resp",
		   .ws = "igmp.max_resp",
		   .aliases = "mrcode,mrtime",
		   .bitoff = 8,
		   .bits = 8,
		   .type = UMPA_FT_UINT,
		   .def = 100,
		   .help = "max response time in 1/10 s (version 3: a code, exponential from 128)"},
    [F_CSUM] = {.name = "checksum",
		.ws = "igmp.checksum",
		.aliases = "chksum",
		.bitoff = 16,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.help = "checksum of the message (automatic)"},
    [F_MADDR] = {.name = "maddr",
		 .ws = "igmp.maddr",
		 .aliases = "gaddr,group",
		 .bitoff = 32,
		 .bits = 32,
		 .type = UMPA_FT_IPV4,
		 .help = "group address (0.0.0.0 in a general query)"},
    [F_RSV_Q] = {.name = "qreserved",
		 .ws = "igmp.reserved",
		 .bitoff = 64,
		 .bits = 4,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HIDDEN,
		 .help = "version 3 query: reserved bits"},
    [F_S] = {.name = "s",
	     .ws = "igmp.s",
	     .aliases = "suppress",
	     .bitoff = 68,
	     .bits = 1,
	     .type = UMPA_FT_UINT,
	     .help = "version 3 query: suppress router-side processing"},
    [F_QRV] = {.name = "qrv",
	       .ws = "igmp.qrv",
	       .bitoff = 69,
	       .bits = 3,
	       .type = UMPA_FT_UINT,
	       .help = "version 3 query: querier's robustness variable"},
    [F_QQIC] = {.name = "qqic",
		.ws = "igmp.qqic",
		.bitoff = 72,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.help = "version 3 query: querier's query interval code"},
    [F_NSRC] = {.name = "num_src",
		.ws = "igmp.num_src",
		.aliases = "numsrc",
		.bitoff = 80,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO,
		.help = "version 3 query: number of sources (automatic)"},
    [F_SOURCES] = {.name = "sources",
		   .ws = "igmp.saddr",
		   .aliases = "srcaddrs",
		   .bitoff = 96,
		   .type = UMPA_FT_VAR,
		   .help = "version 3 query: source addresses, a:b:c"},
    [F_RSV_R] = {.name = "rreserved",
		 .ws = "igmp.reserved",
		 .bitoff = 32,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HIDDEN,
		 .help = "version 3 report: reserved"},
    [F_RSV_R1] = {.name = "rreserved1",
		  .ws = "igmp.reserved",
		  .bitoff = 8,
		  .bits = 8,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_HIDDEN | UMPA_F_AUTO,
		  .help = "version 3 report: the reserved byte where queries have max_resp (automatic: 0)"},
    [F_NGRP] = {.name = "num_grp_recs",
		.ws = "igmp.num_grp_recs",
		.aliases = "numgrp",
		.bitoff = 48,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO,
		.help = "version 3 report: number of group records (automatic)"},
    [F_RECORDS] = {.name = "records",
		   .ws = "igmp.record",
		   .bitoff = 64,
		   .type = UMPA_FT_VAR,
		   .help =
		       "version 3 report: MODE:GROUP[:SOURCE...],... (MODE is_in, is_ex, to_in, to_ex, allow, block)"},
};
UMPA_FIELDS_CHECK(igmp_fields, F_COUNT);

/* The message's version by Wireshark's rule (0: unknown type). */
static unsigned igmp_version(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t type = 0, mrt = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &type);
	umpa_cur_u8_at(&c, 1, &mrt);
	switch (type) {
	case T_QUERY:
		if (p->l[li].hlen >= IGMP3_QLEN)
			return 3;
		return mrt ? 2 : 1;
	case T_V1_REPORT:
		return 1;
	case T_V2_REPORT:
	case T_LEAVE:
		return 2;
	case T_V3_REPORT:
		return 3;
	}
	return 0;
}

static long igmp_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	struct umpa_cur c;
	uint8_t type = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &type);
	switch (f - igmp_fields) {
	case F_RSV1:
		return igmp_version(p, li) == 1 ? (long)f->bitoff : -1;
	case F_MAXRESP: /* not by the version: a query's version follows this very byte, which must stay settable */
		return type == T_V3_REPORT ? -1 : (long)f->bitoff;
	case F_MADDR:
		return type == T_V3_REPORT ? -1 : (long)f->bitoff;
	case F_RSV_Q:
	case F_S:
	case F_QRV:
	case F_QQIC:
	case F_NSRC:
		return type == T_QUERY ? (long)f->bitoff : -1;
	case F_RSV_R:
	case F_RSV_R1:
	case F_NGRP:
		return type == T_V3_REPORT ? (long)f->bitoff : -1;
	}
	return f->bitoff;
}

/* Building: a field another type of message holds (a query's qrv in a report) cannot be set. */
static int igmp_place(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	struct umpa_cur c;
	uint8_t type = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &type);
	return umpa_err_set(e, UMPA_EINVAL, "%s is not in an igmp message of type 0x%02x (version %u)", f->ws, type,
			    igmp_version(p, li));
}

/* The message's length as its counts give it, from @at (12 for a query, 8 for a report); -1 when it runs past. */
static long igmp_v3_len(struct umpa_cur *c, uint8_t type)
{
	uint16_t n;

	if (type == T_QUERY) {
		if (umpa_cur_be16_at(c, 10, &n) < 0 || !umpa_cur_has(c, IGMP3_QLEN, 4u * n))
			return -1;
		return IGMP3_QLEN + 4L * n;
	}
	if (umpa_cur_be16_at(c, 6, &n) < 0)
		return -1;
	{
		size_t at = IGMP_HLEN;
		for (unsigned r = 0; r < n; r++) {
			uint8_t aux;
			uint16_t ns;
			if (umpa_cur_u8_at(c, at + 1, &aux) < 0 || umpa_cur_be16_at(c, at + 2, &ns) < 0)
				return -1;
			at += 8u + 4u * ns + 4u * aux;
			if (at > c->len)
				return -1;
		}
		return (long)at;
	}
}

static const struct umpa_proto *igmp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint8_t type;
	long n;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &type) < 0)
		return NULL;
	l->hlen = IGMP_HLEN;
	if ((type == T_QUERY && l->len >= IGMP3_QLEN) || type == T_V3_REPORT) {
		if ((n = igmp_v3_len(&c, type)) < 0) {
			l->hlen = l->len;
			umpa_layer_short(p, li,
					 type == T_QUERY ? "sources past the end" : "group records past the end");
			return NULL;
		}
		l->hlen = (uint32_t)n;
	}
	if (!(l->flags & UMPA_L_QUOTED) && l->off + l->len <= p->len && p->len == p->wirelen &&
	    umpa_csum_fold(umpa_csum_add(0, p->data + l->off, l->len)) != 0)
		l->flags |= UMPA_L_BADSUM;
	return NULL;
}

static int igmp_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	uint8_t b[IGMP_MAX_SOURCES * 4 + 64];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), item, part;
	char tmp[64];
	struct umpa_cur c;
	uint8_t type = 0;
	unsigned count = 0;
	uint32_t at;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &type);
	if (f == &igmp_fields[F_SOURCES]) {
		if (type != T_QUERY)
			return umpa_err_set(e, UMPA_EINVAL, "igmp.saddr: sources belong to a query (type 0x11)");
		while (umpa_spec_next(&s, &item))
			while (umpa_spec_part(&item, &part)) {
				if (n + 4 > IGMP_MAX_SOURCES * 4 || umpa_span_cstr(part, tmp, sizeof tmp) < 0 ||
				    inet_pton(AF_INET, tmp, b + n) != 1)
					return umpa_err_set(e, UMPA_EINVAL,
							    "igmp.saddr: '%.*s' is not an IPv4 address (or too many)",
							    (int)part.n, part.s);
				n += 4;
				count++;
			}
		at = IGMP3_QLEN;
	} else {
		if (type != T_V3_REPORT) /* records make a version 3 report, unless the type was set otherwise */
			umpa_field_auto_u64(p, li, &igmp_fields[F_TYPE], T_V3_REPORT);
		umpa_cur_u8_at(&c, 0, &type);
		if (type != T_V3_REPORT)
			return umpa_err_set(e, UMPA_EINVAL,
					    "igmp.record: group records belong to a version 3 report (type 0x22)");
		while (umpa_spec_next(&s, &item)) {
			uint64_t mode;
			size_t rec = n;
			unsigned ns = 0;
			if (!umpa_spec_part(&item, &part) || n + 8 > sizeof b)
				return umpa_err_set(e, UMPA_EINVAL, "igmp.record: want MODE:GROUP[:SOURCE...]");
			if (umpa_span_cstr(part, tmp, sizeof tmp) < 0 ||
			    (umpa_vname_value(rec_names, tmp, &mode) < 0 && umpa_spec_num(part, 255, &mode) < 0))
				return umpa_err_set(e, UMPA_EINVAL, "igmp.record: unknown mode '%.*s'", (int)part.n,
						    part.s);
			b[n] = (uint8_t)mode;
			b[n + 1] = 0;
			n += 4;
			if (!umpa_spec_part(&item, &part) || umpa_span_cstr(part, tmp, sizeof tmp) < 0 ||
			    inet_pton(AF_INET, tmp, b + n) != 1)
				return umpa_err_set(e, UMPA_EINVAL, "igmp.record: want MODE:GROUP[:SOURCE...]");
			n += 4;
			while (umpa_spec_part(&item, &part)) {
				if (n + 4 > sizeof b || umpa_span_cstr(part, tmp, sizeof tmp) < 0 ||
				    inet_pton(AF_INET, tmp, b + n) != 1)
					return umpa_err_set(e, UMPA_EINVAL,
							    "igmp.record: '%.*s' is not an IPv4 address", (int)part.n,
							    part.s);
				n += 4;
				ns++;
			}
			b[rec + 2] = (uint8_t)(ns >> 8);
			b[rec + 3] = (uint8_t)ns;
			count++;
		}
		at = IGMP_HLEN;
	}
	if (p->l[li].hlen < at && umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, at - p->l[li].hlen, e) < 0)
		return -UMPA_ERANGE;
	(void)count;
	return umpa_pkt_splice(p, li, at, p->l[li].hlen - at, b, (uint32_t)n, e);
}

static int igmp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l;
	struct umpa_cur c;
	uint8_t type = 0;
	int rc;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &type);
	/* a version 3 query field set on an 8-byte query: the 12-byte version 3 header */
	if (type == T_QUERY && p->l[li].hlen < IGMP3_QLEN &&
	    (p->l[li].set &
	     ((1ull << F_S) | (1ull << F_QRV) | (1ull << F_QQIC) | (1ull << F_NSRC) | (1ull << F_SOURCES))) &&
	    (rc = umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, IGMP3_QLEN - p->l[li].hlen, e)) < 0)
		return rc;
	l = &p->l[li];
	if (type == T_QUERY && l->hlen >= IGMP3_QLEN)
		umpa_field_auto_u64(p, li, &igmp_fields[F_NSRC], (l->hlen - IGMP3_QLEN) / 4);
	if (type == T_V3_REPORT) {
		unsigned recs = 0;
		for (size_t at = IGMP_HLEN; at + 8 <= l->hlen; recs++) {
			uint8_t aux = 0;
			uint16_t ns = 0;
			umpa_layer_cur(p, li, &c);
			umpa_cur_u8_at(&c, at + 1, &aux);
			umpa_cur_be16_at(&c, at + 2, &ns);
			at += 8u + 4u * ns + 4u * aux;
		}
		umpa_field_auto_u64(p, li, &igmp_fields[F_NGRP], recs);
		umpa_field_auto_u64(p, li, &igmp_fields[F_RSV_R1], 0); /* igmp{}'s max_resp default, written at push */
	}
	if (!umpa_field_is_set(p, li, &igmp_fields[F_CSUM])) {
		umpa_field_auto_u64(p, li, &igmp_fields[F_CSUM], 0);
		umpa_field_auto_u64(p, li, &igmp_fields[F_CSUM],
				    umpa_csum_fold(umpa_csum_add(0, p->data + l->off, l->len)));
	}
	return 0;
}

static void igmp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *a;
	uint8_t type = 0;
	unsigned ver = igmp_version(p, li);

	if (ver)
		umpa_emit_u64(em, "igmp.version", ver, NULL);
	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &type);
	if (type == T_QUERY && ver == 3) {
		for (size_t at = IGMP3_QLEN; at + 4 <= l->hlen && umpa_cur_ptr_at(&c, at, 4, &a) == 0; at += 4)
			umpa_emit_ipv4(em, "igmp.saddr", a);
	} else if (type == T_V3_REPORT) {
		for (size_t at = IGMP_HLEN; at + 8 <= l->hlen;) {
			uint8_t rt, aux;
			uint16_t ns;
			if (umpa_cur_u8_at(&c, at, &rt) < 0 || umpa_cur_u8_at(&c, at + 1, &aux) < 0 ||
			    umpa_cur_be16_at(&c, at + 2, &ns) < 0 || umpa_cur_ptr_at(&c, at + 4, 4, &a) < 0)
				break;
			umpa_emit_open(em, "igmp.record", NULL);
			umpa_emit_u64(em, "igmp.record_type", rt, umpa_vname_find(rec_names, rt));
			umpa_emit_u64(em, "igmp.aux_data_len", aux, NULL);
			umpa_emit_u64(em, "igmp.num_src", ns, NULL);
			umpa_emit_ipv4(em, "igmp.maddr", a);
			for (unsigned i = 0; i < ns && umpa_cur_ptr_at(&c, at + 8 + 4u * i, 4, &a) == 0; i++)
				umpa_emit_ipv4(em, "igmp.saddr", a);
			umpa_emit_close(em);
			at += 8u + 4u * ns + 4u * aux;
		}
	}
}

static void igmp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t type;
	const uint8_t *g;
	uint32_t gv;
	uint16_t n = 0;
	unsigned ver = igmp_version(p, li);

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &type) < 0) {
		umpa_sbuf_puts(out, "igmp");
		return;
	}
	if (umpa_cur_ptr_at(&c, 4, 4, &g) < 0)
		g = NULL;
	switch (type) {
	case T_QUERY:
		umpa_sbuf_printf(out, "igmp query v%u", ver);
		if (g && umpa_cur_be32_at(&c, 4, &gv) == 0 && gv != 0) {
			umpa_sbuf_puts(out, " [gaddr ");
			umpa_sbuf_put_ipv4(out, g);
			umpa_sbuf_putc(out, ']');
		}
		return;
	case T_V1_REPORT:
	case T_V2_REPORT:
	case T_LEAVE:
		umpa_sbuf_puts(out, type == T_LEAVE       ? "igmp leave "
				    : type == T_V1_REPORT ? "igmp v1 report "
							  : "igmp v2 report ");
		if (g)
			umpa_sbuf_put_ipv4(out, g);
		return;
	case T_V3_REPORT:
		umpa_cur_be16_at(&c, 6, &n);
		umpa_sbuf_printf(out, "igmp v3 report, %u group record(s)", n);
		return;
	}
	umpa_sbuf_printf(out, "igmp-%u", type);
}

const struct umpa_proto umpa_proto_igmp = {
    .name = "igmp",
    .title = "Internet Group Management Protocol",
    .fields = igmp_fields,
    .nfields = F_COUNT,
    .hdr_len = IGMP_HLEN,
    .dissect = igmp_dissect,
    .finish = igmp_finish,
    .set_var = igmp_set_var,
    .details = igmp_details,
    .summary = igmp_summary,
    .locate = igmp_locate,
    .place = igmp_place,
};
