/* icmp.c - ICMP for IPv4 (RFC 792; router discovery RFC 1256; mask RFC 950; PMTU RFC 1191).
 *
 * The fixed header is type, code and checksum, then four bytes whose meaning
 * depends on the type.  Those bytes are described by overlapping fields with
 * Wireshark's names, all at byte 4: icmp.ident + icmp.seq (echo, timestamp,
 * information, address mask), icmp.redir_gw (redirect), icmp.mtu (bytes 6-7,
 * "fragmentation needed"), icmp.pointer (parameter problem).  Timestamp and
 * address-mask messages add icmp.originate/receive/transmit_timestamp and
 * icmp.address_mask after the first eight bytes.
 *
 * Every type-dependent field is UMPA_F_HIDDEN in the table, so a tree or JSON
 * does not show an echo identifier on a "port unreachable"; the `details` hook
 * emits the ones that apply to the message's type, as Wireshark does.  All of
 * them can be set by name whatever the type (they are bits at an offset), so a
 * decoder test can still put anything in the "unused" word.
 *
 * Timestamp and address-mask messages built as the last layer get their full
 * fixed part (20 / 12 bytes) in finish, as Scapy builds them.
 *
 * The code is a plain number (its names depend on the type); the summary names
 * the common ones as tcpdump does ("udp port 53 unreachable").
 *
 * Errors (destination unreachable, source quench, redirect, time exceeded,
 * parameter problem) set UMPA_L_QUOTES and hand the rest to IPv4, so the quoted
 * datagram is dissected as the following layers.
 */
#include <stdio.h>
#include <string.h>

#include "icmp_ext.h"
#include "proto_common.h"
#include "umpa_inet.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum {
	F_TYPE,
	F_CODE,
	F_CHECKSUM,
	F_IDENT,
	F_SEQ,
	F_REDIR_GW,
	F_MTU,
	F_POINTER,
	F_TS_ORIG,
	F_TS_RECV,
	F_TS_XMIT,
	F_ADDR_MASK,
	F_LENGTH,
	F_EXT,
	F_COUNT
};

#define ICMP_HDR 8

#define T_ECHO_REPLY 0
#define T_UNREACH 3
#define T_SOURCE_QUENCH 4
#define T_REDIRECT 5
#define T_ECHO 8
#define T_ROUTER_ADV 9
#define T_ROUTER_SOL 10
#define T_TIME_EXCEEDED 11
#define T_PARAM_PROB 12
#define T_TSTAMP 13
#define T_TSTAMP_REPLY 14
#define T_INFO 15
#define T_INFO_REPLY 16
#define T_MASK 17
#define T_MASK_REPLY 18

/* Scapy's names. */
static const struct umpa_vname type_names[] = {
    {0, "echo-reply"},
    {3, "dest-unreach"},
    {4, "source-quench"},
    {5, "redirect"},
    {8, "echo-request"},
    {9, "router-advertisement"},
    {10, "router-solicitation"},
    {11, "time-exceeded"},
    {12, "parameter-problem"},
    {13, "timestamp-request"},
    {14, "timestamp-reply"},
    {15, "information-request"},
    {16, "information-response"},
    {17, "address-mask-request"},
    {18, "address-mask-reply"},
    {30, "traceroute"},
    {31, "datagram-conversion-error"},
    {32, "mobile-host-redirect"},
    {33, "ipv6-where-are-you"},
    {34, "ipv6-i-am-here"},
    {35, "mobile-registration-request"},
    {36, "mobile-registration-reply"},
    {37, "domain-name-request"},
    {38, "domain-name-reply"},
    {39, "skip"},
    {40, "photuris"},
    /* aliases, accepted when setting */
    {0, "echo"},
    {8, "ping"},
    {3, "unreach"},
    {3, "dest-unreachable"},
    {11, "ttl-exceeded"},
    {0, NULL},
};

/* clang-format off */
static const struct umpa_field icmp_fields[] = {
	[F_TYPE] = {.name = "type", .ws = "icmp.type", .bitoff = 0, .bits = 8, .type = UMPA_FT_ENUM, .def = T_ECHO,
		.names = type_names, .help = "message type"},
	[F_CODE] = {.name = "code", .ws = "icmp.code", .bitoff = 8, .bits = 8, .type = UMPA_FT_UINT,
		.help = "message code (meaning depends on the type: 3 = port unreachable for dest-unreach)"},
	[F_CHECKSUM] = {.name = "checksum", .ws = "icmp.checksum", .aliases = "chksum", .bitoff = 16, .bits = 16,
		.type = UMPA_FT_UINT, .flags = UMPA_F_AUTO | UMPA_F_HEX,
		.help = "checksum of the whole message (automatic)"},
	[F_IDENT] = {.name = "ident", .ws = "icmp.ident", .aliases = "id", .bitoff = 32, .bits = 16,
		.type = UMPA_FT_UINT, .flags = UMPA_F_HIDDEN,
		.help = "identifier (echo, timestamp, information, address mask)"},
	[F_SEQ] = {.name = "seq", .ws = "icmp.seq", .bitoff = 48, .bits = 16, .type = UMPA_FT_UINT,
		.flags = UMPA_F_HIDDEN, .help = "sequence number (echo, timestamp, information, address mask)"},
	[F_REDIR_GW] = {.name = "redir_gw", .ws = "icmp.redir_gw", .aliases = "gw", .bitoff = 32, .bits = 32,
		.type = UMPA_FT_IPV4, .flags = UMPA_F_HIDDEN, .help = "gateway address (redirect)"},
	[F_MTU] = {.name = "mtu", .ws = "icmp.mtu", .aliases = "nexthopmtu", .bitoff = 48, .bits = 16,
		.type = UMPA_FT_UINT, .flags = UMPA_F_HIDDEN,
		.help = "next-hop MTU (dest-unreach, code 4: fragmentation needed)"},
	[F_POINTER] = {.name = "pointer", .ws = "icmp.pointer", .aliases = "ptr", .bitoff = 32, .bits = 8,
		.type = UMPA_FT_UINT, .flags = UMPA_F_HIDDEN, .help = "octet where the problem is (parameter problem)"},
	[F_TS_ORIG] = {.name = "originate_timestamp", .ws = "icmp.originate_timestamp", .aliases = "ts_ori",
		.bitoff = 64, .bits = 32, .type = UMPA_FT_UINT, .flags = UMPA_F_HIDDEN,
		.help = "originate timestamp, ms since midnight UT (timestamp)"},
	[F_TS_RECV] = {.name = "receive_timestamp", .ws = "icmp.receive_timestamp", .aliases = "ts_rx", .bitoff = 96,
		.bits = 32, .type = UMPA_FT_UINT, .flags = UMPA_F_HIDDEN, .help = "receive timestamp (timestamp)"},
	[F_TS_XMIT] = {.name = "transmit_timestamp", .ws = "icmp.transmit_timestamp", .aliases = "ts_tx", .bitoff = 128,
		.bits = 32, .type = UMPA_FT_UINT, .flags = UMPA_F_HIDDEN, .help = "transmit timestamp (timestamp)"},
	[F_ADDR_MASK] = {.name = "address_mask", .ws = "icmp.address_mask", .aliases = "addr_mask", .bitoff = 64,
		.bits = 32, .type = UMPA_FT_IPV4, .flags = UMPA_F_HIDDEN,
		.help = "address mask (address mask request/reply)"},
	[F_LENGTH] = {.name = "length", .ws = "icmp.length", .bitoff = 40, .bits = 8, .type = UMPA_FT_UINT,
		.flags = UMPA_F_HIDDEN,
		.help = "errors: length of the quoted datagram in 32-bit words, when extensions follow (RFC 4884)"},
	[F_EXT] = {.name = "ext", .ws = "icmp.ext", .aliases = "extensions", .bitoff = 64, .type = UMPA_FT_VAR,
		.help = "errors (3, 11, 12): extension objects after the quoted datagram: mpls=LABEL:EXP:S:TTL[:...], "
			"ifinfo=ROLE/IFINDEX/ADDR/NAME/MTU, CLASS.CTYPE=HEX"},
};
UMPA_FIELDS_CHECK(icmp_fields, F_COUNT);
/* clang-format on */

/* ---------------------------------------------------------------- helpers */

static int is_error(uint8_t t)
{
	return t == T_UNREACH || t == T_SOURCE_QUENCH || t == T_REDIRECT || t == T_TIME_EXCEEDED || t == T_PARAM_PROB;
}

/* Types that carry an identifier and a sequence number. */
static int has_id_seq(uint8_t t)
{
	return t == T_ECHO_REPLY || t == T_ECHO || (t >= T_TSTAMP && t <= T_MASK_REPLY);
}

/* The byte-oriented view of a layer's first bytes, or -1 when absent. */
static int icmp_type_code(const struct umpa_pkt *p, unsigned li, uint8_t *type, uint8_t *code)
{
	struct umpa_cur c;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, type) < 0 || umpa_cur_u8_at(&c, 1, code) < 0)
		return -1;
	return 0;
}

/* The quoted IP layer of an error at @p li, or -1. */
static int icmp_quoted_ip(const struct umpa_pkt *p, unsigned li)
{
	if (li + 1 < p->nlayers && p->l[li + 1].proto == &umpa_proto_ip)
		return (int)(li + 1);
	return -1;
}

/* ---------------------------------------------------------------- dissect */

static const struct umpa_proto *icmp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *d;
	uint8_t type;
	int l3, complete = 1;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &type) < 0)
		return NULL;
	if ((type == T_TSTAMP || type == T_TSTAMP_REPLY) && l->len >= 20)
		l->hlen = 20;
	else if ((type == T_MASK || type == T_MASK_REPLY) && l->len >= 12)
		l->hlen = 12;

	/* verify the checksum only over a whole message: not quoted, not cut, not a first fragment */
	l3 = umpa_inet_l3(p, li);
	if (l->flags & UMPA_L_QUOTED)
		complete = 0;
	else if (l3 >= 0 && (p->l[l3].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)))
		complete = 0;
	else if (l3 < 0 && p->wirelen > p->len && l->off + l->len >= p->len)
		complete = 0;
	if (complete && l3 >= 0 && p->l[l3].proto == &umpa_proto_ip) {
		struct umpa_cur ic;
		uint16_t frag = 0;
		umpa_layer_cur(p, (unsigned)l3, &ic);
		if (umpa_cur_be16_at(&ic, 6, &frag) < 0 || (frag & 0x3fff))
			complete = 0;
	}
	if (complete && umpa_cur_ptr_at(&c, 0, l->len, &d) == 0 && umpa_csum_fold(umpa_csum_add(0, d, l->len)) != 0)
		l->flags |= UMPA_L_BADSUM;

	if (is_error(type)) {
		l->flags |= UMPA_L_QUOTES;
		/* RFC 4884: an extension structure after the quoted datagram (its length in 32-bit words at
		 * byte 5, or 128 bytes when 0); the quotation stops before it */
		if ((type == T_UNREACH || type == T_TIME_EXCEEDED || type == T_PARAM_PROB) &&
		    !(l->flags & UMPA_L_QUOTED)) {
			uint8_t words = 0;
			uint32_t ext;
			umpa_cur_u8_at(&c, 5, &words);
			ext = umpa_icmp_ext_at_(&c, l->hlen, 4u * words, l->len, 1);
			if (ext) {
				l->aux = ext;
				l->plen = ext - l->hlen;
			}
		}
		return &umpa_proto_ip;
	}
	return NULL;
}

/* ---------------------------------------------------------------- finish */

/*
 * Timestamp and address-mask messages have a longer fixed part (20 and 12
 * bytes, as Scapy builds them).  When such a message is the last layer and
 * shorter, finish adds the missing zero bytes.  With a payload pushed after
 * it, or a checksum set by hand (as every field of a captured packet is), the
 * user is in charge of the layout and a short message stays short.
 */
static int icmp_fixed_part(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint8_t type, code;
	uint32_t want;

	if (li + 1 != p->nlayers || umpa_field_is_set(p, li, &icmp_fields[F_CHECKSUM]) ||
	    icmp_type_code(p, li, &type, &code) < 0)
		return 0;
	if (type == T_TSTAMP || type == T_TSTAMP_REPLY)
		want = 20;
	else if (type == T_MASK || type == T_MASK_REPLY)
		want = 12;
	else
		return 0;
	if (l->hlen >= want || l->hlen != l->len)
		return 0;
	return umpa_pkt_splice(p, li, l->hlen, 0, NULL, want - l->hlen, e);
}

/* l->aux of a built error whose extension structure set_var parked in the header, after the first 8 bytes,
 * until finish moves it after the quoted datagram: this bit and the structure's length. */
#define EXT_PARKED 0x80000000u

/* ext=...: build the extension structure and park it in the header (finish moves it behind the quote). */
static int icmp_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	uint8_t b[1024];
	uint8_t type = 0, code = 0;
	uint32_t parked = p->l[li].aux & EXT_PARKED ? p->l[li].aux & ~EXT_PARKED : 0;
	long n;
	int rc;

	(void)f;
	icmp_type_code(p, li, &type, &code);
	if (type != T_UNREACH && type != T_TIME_EXCEEDED && type != T_PARAM_PROB)
		return umpa_err_set(
		    e, UMPA_EINVAL,
		    "icmp.ext: extensions follow the quoted datagram of an error (types 3, 11, 12): set "
		    "the type first");
	if ((n = umpa_icmp_ext_build_(spec, b, sizeof b, e)) < 0)
		return (int)n;
	if ((rc = umpa_pkt_splice(p, li, ICMP_HDR, parked, b, (uint32_t)n, e)) < 0)
		return rc;
	p->l[li].aux = EXT_PARKED | (uint32_t)n;
	return 0;
}

/* finish: the parked extension structure goes after the quoted datagram, which is padded to 128 bytes (or to
 * a multiple of 4), and the length field (32-bit words) says so unless it was set (RFC 4884). */
static int icmp_ext_place(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	uint8_t b[1024];
	uint32_t n = p->l[li].aux & ~EXT_PARKED, quote;
	int rc;

	if (!(p->l[li].aux & EXT_PARKED) || n > sizeof b)
		return 0;
	memcpy(b, p->data + p->l[li].off + ICMP_HDR, n);
	if ((rc = umpa_pkt_splice(p, li, ICMP_HDR, n, NULL, 0, e)) < 0)
		return rc;
	quote = p->l[li].len - ICMP_HDR;
	if (quote < UMPA_ICMP_EXT_COMPAT_ || quote % 4) {
		uint32_t pad = quote < UMPA_ICMP_EXT_COMPAT_ ? UMPA_ICMP_EXT_COMPAT_ - quote : 4 - quote % 4;
		if ((rc = umpa_pkt_append_trailer(p, li, NULL, pad, e)) < 0)
			return rc;
		quote += pad;
	}
	if (quote / 4 > 255)
		return umpa_err_set(e, UMPA_ERANGE,
				    "icmp.ext: a quoted datagram of %u bytes is too long for the length "
				    "field",
				    quote);
	umpa_field_auto_u64(p, li, &icmp_fields[F_LENGTH], quote / 4);
	if ((rc = umpa_pkt_append_trailer(p, li, b, n, e)) < 0)
		return rc;
	p->l[li].aux = ICMP_HDR + quote;
	return 0;
}

static int icmp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	int ok, rc;
	uint16_t sum;

	if ((rc = icmp_fixed_part(p, li, e)) < 0)
		return rc;
	if ((rc = icmp_ext_place(p, li, e)) < 0)
		return rc;
	if (umpa_field_is_set(p, li, &icmp_fields[F_CHECKSUM]))
		return 0;
	sum = umpa_inet_csum(p, li, 2, 0, 0, &ok);
	umpa_field_auto_u64(p, li, &icmp_fields[F_CHECKSUM], sum);
	return 0;
}

/* ---------------------------------------------------------------- details */

static void emit_u16(struct umpa_emit *em, struct umpa_cur *c, size_t off, const char *key)
{
	uint16_t v;

	if (umpa_cur_be16_at(c, off, &v) == 0)
		umpa_emit_u64(em, key, v, NULL);
}

static void emit_u32(struct umpa_emit *em, struct umpa_cur *c, size_t off, const char *key)
{
	uint32_t v;

	if (umpa_cur_be32_at(c, off, &v) == 0)
		umpa_emit_u64(em, key, v, NULL);
}

static void emit_raw(struct umpa_emit *em, struct umpa_cur *c, size_t off, size_t n, const char *key)
{
	const uint8_t *d;

	if (umpa_cur_ptr_at(c, off, n, &d) == 0)
		umpa_emit_bytes(em, key, d, n);
}

static void emit_addr(struct umpa_emit *em, struct umpa_cur *c, size_t off, const char *key)
{
	const uint8_t *d;

	if (umpa_cur_ptr_at(c, off, 4, &d) == 0)
		umpa_emit_ipv4(em, key, d);
}

/* Emit the type-dependent fields that apply to this message (the table hides them). */
static void icmp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct umpa_cur c;
	uint8_t type, code;

	if (icmp_type_code(p, li, &type, &code) < 0)
		return;
	umpa_layer_cur(p, li, &c);
	switch (type) {
	case T_ECHO_REPLY:
	case T_ECHO:
	case T_INFO:
	case T_INFO_REPLY:
		emit_u16(em, &c, 4, "icmp.ident");
		emit_u16(em, &c, 6, "icmp.seq");
		break;
	case T_TSTAMP:
	case T_TSTAMP_REPLY:
		emit_u16(em, &c, 4, "icmp.ident");
		emit_u16(em, &c, 6, "icmp.seq");
		emit_u32(em, &c, 8, "icmp.originate_timestamp");
		emit_u32(em, &c, 12, "icmp.receive_timestamp");
		emit_u32(em, &c, 16, "icmp.transmit_timestamp");
		break;
	case T_MASK:
	case T_MASK_REPLY:
		emit_u16(em, &c, 4, "icmp.ident");
		emit_u16(em, &c, 6, "icmp.seq");
		emit_addr(em, &c, 8, "icmp.address_mask");
		break;
	case T_UNREACH:
	case T_TIME_EXCEEDED: {
		uint8_t words = 0;
		int frag = type == T_UNREACH && code == 4;
		umpa_cur_u8_at(&c, 5, &words);
		if (words) { /* RFC 4884: the quoted datagram's length in 32-bit words, at byte 5 */
			emit_raw(em, &c, 4, 1, "icmp.unused");
			umpa_emit_u64(em, "icmp.length", words, NULL);
			if (frag)
				emit_u16(em, &c, 6, "icmp.mtu");
			else
				emit_raw(em, &c, 6, 2, "icmp.unused");
		} else if (frag) {
			emit_raw(em, &c, 4, 2, "icmp.unused");
			emit_u16(em, &c, 6, "icmp.mtu");
		} else {
			emit_raw(em, &c, 4, 4, "icmp.unused");
		}
		break;
	}
	case T_SOURCE_QUENCH: /* Wireshark shows nothing for bytes 4-7 here */
		break;
	case T_REDIRECT:
		emit_addr(em, &c, 4, "icmp.redir_gw");
		break;
	case T_PARAM_PROB: {
		uint8_t v;
		if (umpa_cur_u8_at(&c, 4, &v) == 0)
			umpa_emit_u64(em, "icmp.pointer", v, NULL);
		emit_raw(em, &c, 5, 3, "icmp.unused");
		break;
	}
	case T_ROUTER_SOL: /* bytes 4-7 reserved: Wireshark shows nothing */
		break;
	case T_ROUTER_ADV: {
		uint8_t n = 0, sz = 0;
		umpa_cur_u8_at(&c, 4, &n);
		umpa_cur_u8_at(&c, 5, &sz);
		umpa_emit_u64(em, "icmp.num_addrs", n, NULL);
		umpa_emit_u64(em, "icmp.addr_entry_size", sz, NULL);
		emit_u16(em, &c, 6, "icmp.lifetime");
		if (sz >= 2) {
			for (size_t i = 0, off = 8; i < n && umpa_cur_has(&c, off, 8); i++, off += (size_t)sz * 4) {
				uint32_t pref;
				emit_addr(em, &c, off, "icmp.router_address");
				if (umpa_cur_be32_at(&c, off + 4, &pref) == 0)
					umpa_emit_u64(em, "icmp.pref_level", pref, NULL);
			}
		}
		break;
	}
	default:
		break;
	}
	if (is_error(type) && p->l[li].aux)
		umpa_icmp_ext_emit_(em, &c, p->l[li].aux, p->l[li].len);
}

/* ---------------------------------------------------------------- summary */

/* tcpdump's texts for destination unreachable; '%' stands for the quoted destination. */
static const char *const unreach_text[16] = {
    "net % unreachable",
    "host % unreachable",
    "% protocol # unreachable",
    "% port unreachable",
    "% unreachable - need to frag",
    "% unreachable - source route failed",
    "net % unreachable - unknown",
    "host % unreachable - unknown",
    "% unreachable - source host isolated",
    "net % unreachable - admin prohibited",
    "host % unreachable - admin prohibited",
    "net % unreachable - tos prohibited",
    "host % unreachable - tos prohibited",
    "host % unreachable - admin prohibited filter",
    "host % unreachable - host precedence violation",
    "host % unreachable - precedence cutoff",
};

/* Append @p fmt with '%' replaced by the address @p a and '#' by @p num. */
static void put_fmt(struct umpa_sbuf *out, const char *fmt, const uint8_t *a, uint64_t num)
{
	for (const char *s = fmt; *s; s++) {
		if (*s == '%')
			umpa_sbuf_put_ipv4(out, a);
		else if (*s == '#')
			umpa_sbuf_put_u64(out, num);
		else
			umpa_sbuf_putc(out, *s);
	}
}

static void put_id_seq(struct umpa_sbuf *out, struct umpa_cur *c, const char *sep)
{
	uint16_t id, seq;

	if (umpa_cur_be16_at(c, 4, &id) < 0 || umpa_cur_be16_at(c, 6, &seq) < 0)
		return;
	umpa_sbuf_puts(out, sep);
	umpa_sbuf_puts(out, "id ");
	umpa_sbuf_put_u64(out, id);
	umpa_sbuf_puts(out, sep);
	umpa_sbuf_puts(out, "seq ");
	umpa_sbuf_put_u64(out, seq);
}

static void unreach_summary(const struct umpa_pkt *p, unsigned li, uint8_t code, struct umpa_cur *c,
			    struct umpa_sbuf *out)
{
	int q = icmp_quoted_ip(p, li);
	struct umpa_cur qc;
	const uint8_t *dst;
	uint8_t proto = 0;

	if (q < 0) {
		umpa_sbuf_puts(out, "dest unreachable, code ");
		umpa_sbuf_put_u64(out, code);
		return;
	}
	umpa_layer_cur(p, (unsigned)q, &qc);
	if (umpa_cur_ptr_at(&qc, 16, 4, &dst) < 0 || umpa_cur_u8_at(&qc, 9, &proto) < 0) {
		umpa_sbuf_puts(out, "dest unreachable, code ");
		umpa_sbuf_put_u64(out, code);
		return;
	}
	if (code == 3) {
		struct umpa_cur tc;
		uint16_t dport;
		int have = 0;
		if ((unsigned)q + 1 < p->nlayers && !(p->l[q + 1].proto->pflags & UMPA_PF_RAW)) {
			umpa_layer_cur(p, (unsigned)q + 1, &tc);
			have = umpa_cur_be16_at(&tc, 2, &dport) == 0;
		}
		umpa_sbuf_put_ipv4(out, dst);
		if (have && (proto == 6 || proto == 17)) {
			umpa_sbuf_puts(out, proto == 6 ? " tcp port " : " udp port ");
			umpa_sbuf_put_u64(out, dport);
		} else {
			umpa_sbuf_puts(out, " protocol ");
			umpa_sbuf_put_u64(out, proto);
			if (have) {
				umpa_sbuf_puts(out, " port ");
				umpa_sbuf_put_u64(out, dport);
			}
		}
		umpa_sbuf_puts(out, " unreachable");
		return;
	}
	if (code < 16) {
		put_fmt(out, unreach_text[code], dst, proto);
	} else {
		put_fmt(out, "% unreachable - #", dst, code);
	}
	if (code == 4) {
		uint16_t mtu;
		if (umpa_cur_be16_at(c, 6, &mtu) == 0 && mtu) {
			umpa_sbuf_puts(out, " (mtu ");
			umpa_sbuf_put_u64(out, mtu);
			umpa_sbuf_putc(out, ')');
		}
	}
}

static void icmp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t type, code;

	if (icmp_type_code(p, li, &type, &code) < 0)
		return;
	umpa_layer_cur(p, li, &c);
	umpa_sbuf_puts(out, "ICMP ");
	switch (type) {
	case T_ECHO:
	case T_ECHO_REPLY:
		umpa_sbuf_puts(out, type == T_ECHO ? "echo request" : "echo reply");
		put_id_seq(out, &c, ", ");
		break;
	case T_UNREACH:
		unreach_summary(p, li, code, &c, out);
		break;
	case T_SOURCE_QUENCH:
		umpa_sbuf_puts(out, "source quench");
		break;
	case T_REDIRECT: {
		static const char *const redir[4] = {"redirect % to net ", "redirect % to host ",
						     "redirect-tos % to net ", "redirect-tos % to host "};
		const uint8_t *gw, *dst = NULL;
		struct umpa_cur qc;
		int q = icmp_quoted_ip(p, li);
		if (q >= 0) {
			umpa_layer_cur(p, (unsigned)q, &qc);
			if (umpa_cur_ptr_at(&qc, 16, 4, &dst) < 0)
				dst = NULL;
		}
		if (umpa_cur_ptr_at(&c, 4, 4, &gw) < 0 || !dst) {
			umpa_sbuf_puts(out, "redirect, code ");
			umpa_sbuf_put_u64(out, code);
			break;
		}
		if (code < 4) {
			put_fmt(out, redir[code], dst, 0);
		} else {
			umpa_sbuf_puts(out, "redirect-#");
			umpa_sbuf_put_u64(out, code);
			umpa_sbuf_putc(out, ' ');
			put_fmt(out, "% to ", dst, 0);
		}
		umpa_sbuf_put_ipv4(out, gw);
		break;
	}
	case T_ROUTER_ADV:
		umpa_sbuf_puts(out, "router advertisement");
		break;
	case T_ROUTER_SOL:
		umpa_sbuf_puts(out, "router solicitation");
		break;
	case T_TIME_EXCEEDED:
		if (code == 0)
			umpa_sbuf_puts(out, "time exceeded in-transit");
		else if (code == 1)
			umpa_sbuf_puts(out, "ip reassembly time exceeded");
		else {
			umpa_sbuf_puts(out, "time exceeded-#");
			umpa_sbuf_put_u64(out, code);
		}
		break;
	case T_PARAM_PROB: {
		uint8_t ptr = 0;
		if (code == 0 && umpa_cur_u8_at(&c, 4, &ptr) == 0) {
			umpa_sbuf_puts(out, "parameter problem - octet ");
			umpa_sbuf_put_u64(out, ptr);
		} else {
			umpa_sbuf_puts(out, "parameter problem - code ");
			umpa_sbuf_put_u64(out, code);
		}
		break;
	}
	case T_TSTAMP:
		umpa_sbuf_puts(out, "time stamp query");
		put_id_seq(out, &c, ", ");
		break;
	case T_TSTAMP_REPLY:
		umpa_sbuf_puts(out, "time stamp reply");
		put_id_seq(out, &c, ", ");
		break;
	case T_INFO:
		umpa_sbuf_puts(out, "information request");
		break;
	case T_INFO_REPLY:
		umpa_sbuf_puts(out, "information reply");
		break;
	case T_MASK:
		umpa_sbuf_puts(out, "address mask request");
		break;
	case T_MASK_REPLY: {
		uint32_t m;
		if (umpa_cur_be32_at(&c, 8, &m) == 0) {
			umpa_sbuf_puts(out, "address mask is ");
			umpa_sbuf_put_hex(out, m, 8);
		} else {
			umpa_sbuf_puts(out, "address mask reply");
		}
		break;
	}
	default:
		umpa_sbuf_puts(out, "type-#");
		umpa_sbuf_put_u64(out, type);
		break;
	}
	umpa_sbuf_puts(out, ", length ");
	umpa_sbuf_put_u64(out, p->l[li].len);
}

/* ---------------------------------------------------------------- matching */

/*
 * Scapy's ICMP.hashret: queries and replies hash their identifier and
 * sequence number; an error hashes as the packet it quotes (the IP layer's
 * hash of it), so it meets the request it is about.
 */
static uint32_t icmp_hashret(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t type, code;
	uint16_t id, seq;

	if (icmp_type_code(p, li, &type, &code) < 0)
		return 0;
	if (is_error(type)) {
		int q = icmp_quoted_ip(p, li);
		return q >= 0 && umpa_proto_ip.hashret ? umpa_proto_ip.hashret(p, (unsigned)q) : 0;
	}
	umpa_layer_cur(p, li, &c);
	if (!has_id_seq(type) || umpa_cur_be16_at(&c, 4, &id) < 0 || umpa_cur_be16_at(&c, 6, &seq) < 0)
		return umpa_mix32_(0x49434d50U); /* "ICMP" */
	return umpa_mix32_(((uint32_t)id << 16 | seq) ^ 0x49434d50U);
}

/* The IPv4 layer the request's layer @p qli belongs to (itself or the nearest before). */
static int req_ip(const struct umpa_pkt *req, unsigned qli)
{
	int l3;

	if (req->l[qli].proto == &umpa_proto_ip)
		return (int)qli;
	l3 = umpa_inet_l3(req, qli);
	return l3 >= 0 && req->l[l3].proto == &umpa_proto_ip ? l3 : -1;
}

/* Does the error at @p rli quote the request (its IP header and the start of its transport)? */
static int error_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
			 size_t whylen)
{
	int q = icmp_quoted_ip(resp, rli), r = req_ip(req, qli);
	struct umpa_cur qc, rc;
	const uint8_t *a, *b;
	uint8_t qproto, rproto;

	if (q < 0)
		return umpa_why_(why, whylen, "the ICMP error quotes no IP header");
	if (r < 0)
		return umpa_why_(why, whylen, "request has no IPv4 layer");
	umpa_layer_cur(resp, (unsigned)q, &qc);
	umpa_layer_cur(req, (unsigned)r, &rc);
	if (umpa_cur_ptr_at(&qc, 12, 8, &a) < 0 || umpa_cur_ptr_at(&rc, 12, 8, &b) < 0 ||
	    umpa_cur_u8_at(&qc, 9, &qproto) < 0 || umpa_cur_u8_at(&rc, 9, &rproto) < 0)
		return umpa_why_(why, whylen, "ip header cut short");
	if (memcmp(a, b, 8) != 0)
		return umpa_why_(why, whylen, "quoted ip.src/ip.dst differ from the request's");
	if (qproto != rproto)
		return umpa_why_(why, whylen, "quoted ip.proto differs from the request's");

	/* the quoted transport header: ports for TCP/UDP, identifier/sequence for ICMP */
	if ((unsigned)q + 1 < resp->nlayers && (unsigned)r + 1 < req->nlayers &&
	    resp->l[q + 1].proto == req->l[r + 1].proto && !(resp->l[q + 1].proto->pflags & UMPA_PF_RAW)) {
		const struct umpa_proto *tp = req->l[r + 1].proto;
		size_t off = 0, n = 0;
		if (tp->pflags & UMPA_PF_PORTS)
			n = 4;
		else if (tp == &umpa_proto_icmp) {
			off = 4;
			n = 4;
		}
		if (n) {
			umpa_layer_cur(resp, (unsigned)q + 1, &qc);
			umpa_layer_cur(req, (unsigned)r + 1, &rc);
			if (umpa_cur_ptr_at(&qc, off, n, &a) == 0 && umpa_cur_ptr_at(&rc, off, n, &b) == 0 &&
			    memcmp(a, b, n) != 0)
				return umpa_why_(why, whylen,
						 tp == &umpa_proto_icmp ? "quoted icmp id/seq differ from the request's"
									: "quoted ports differ from the request's");
		}
	}
	return 1;
}

/*
 * Scapy's ICMP.answers: a reply answers the query of the matching type with
 * the same identifier and sequence number; an error answers the packet it
 * quotes (IP source, destination and protocol, then ports or id/seq).
 */
static int icmp_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
			size_t whylen)
{
	static const uint8_t pairs[][2] = {{8, 0}, {13, 14}, {15, 16}, {17, 18}, {33, 34}, {35, 36}, {37, 38}};
	struct umpa_cur rc, qc;
	uint8_t rt, rcode, qt, qcode;
	uint32_t rid, qid;
	int match = 0;

	if (icmp_type_code(resp, rli, &rt, &rcode) < 0)
		return umpa_why_(why, whylen, "icmp header cut short");
	if (is_error(rt))
		return error_answers(resp, rli, req, qli, why, whylen);
	if (req->l[qli].proto != &umpa_proto_icmp)
		return umpa_why_(why, whylen, "request is not ICMP");
	if (icmp_type_code(req, qli, &qt, &qcode) < 0)
		return umpa_why_(why, whylen, "request icmp header cut short");
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		match |= pairs[i][0] == qt && pairs[i][1] == rt;
	if (!match)
		return umpa_why_(why, whylen, "icmp.type is not the reply to the request's type");
	umpa_layer_cur(resp, rli, &rc);
	umpa_layer_cur(req, qli, &qc);
	if (umpa_cur_be32_at(&rc, 4, &rid) < 0 || umpa_cur_be32_at(&qc, 4, &qid) < 0)
		return umpa_why_(why, whylen, "icmp id/seq cut short");
	if ((rid >> 16) != (qid >> 16))
		return umpa_why_(why, whylen, "icmp.ident differs");
	if ((rid & 0xffff) != (qid & 0xffff))
		return umpa_why_(why, whylen, "icmp.seq differs");
	return 1;
}

const struct umpa_proto umpa_proto_icmp = {
    .name = "icmp",
    .aliases = "icmp4,ICMP",
    .title = "Internet Control Message Protocol",
    .fields = icmp_fields,
    .nfields = F_COUNT,
    .hdr_len = ICMP_HDR,
    .pflags = 0,
    .dissect = icmp_dissect,
    .finish = icmp_finish,
    .set_var = icmp_set_var,
    .details = icmp_details,
    .summary = icmp_summary,
    .hashret = icmp_hashret,
    .answers = icmp_answers,
};
