/* ip.c - IPv4 header and options (RFC 791; router alert RFC 2113; DSCP/ECN RFC 2474, 3168).
 *
 * Fields follow Wireshark's names; where they differ from what Wireshark shows:
 *  - ip.hdr_len is in bytes (20 for a plain header), as Wireshark's (the
 *    field's scale: the wire holds 4-byte words); Scapy's ihl, a hidden view
 *    of the same bits, is the wire value (5).
 *  - ip.flags is the 3-bit value (DF = 0x2), as Wireshark's masked field.
 *  - "options" (ws name "ip.options", which Wireshark has only as a subtree)
 *    is a VAR field set from a text spec:
 *
 *      items separated by ',', values of an item separated by ':'
 *        eol | nop               one-byte options (0, 1)
 *        rr=A:B:..  rr=N          record route (7): the addresses, or N empty slots
 *        lsrr=A:B:..  ssrr=A:..   loose / strict source route (131 / 137)
 *                                 (route options get pointer 4: nothing recorded yet)
 *        ts=T1:T2:..              timestamp (68), flag 0: timestamps only
 *        ts=A1:T1:A2:T2:..        timestamp, flag 1: address and timestamp pairs
 *                                 (the pointer is set past the entries given)
 *        ra  ra=V                 router alert (148), value V (default 0)
 *        N=hex  N                 option type N (0..255) with these data bytes
 *                                 (the length byte is computed; N alone: no data,
 *                                 or a single byte for N = 0 or 1)
 *        raw=hex                  bytes copied verbatim (lengths may lie)
 *      The result is padded with EOL to a multiple of 4 bytes; at most 40 bytes.
 *      Example: "rr=3,nop,ra" or "lsrr=10.0.0.1:10.0.0.2,ts=100".
 *
 * Dissection follows tcpdump's print-ip.c: the total length bounds the layer's
 * window; a total length of 0 is taken as a TSO capture (the window is kept);
 * fragments whose offset is not 0 carry raw payload.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_near.h"
#include "umpa_protos.h"
#include "umpa_render.h"
#include "umpa_spec.h"

enum {
	F_VERSION,
	F_HDR_LEN,
	F_DSFIELD,
	F_DSCP,
	F_ECN,
	F_LEN,
	F_ID,
	F_FLAGS,
	F_RB,
	F_DF,
	F_MF,
	F_FRAG,
	F_TTL,
	F_PROTO,
	F_CHECKSUM,
	F_SRC,
	F_DST,
	F_OPTIONS,
	F_IHL,
	F_COUNT
};

#define IP_HDR 20
#define IP_MAX_OPTS 40

static const uint8_t ip_loopback[4] = {127, 0, 0, 1};

static const struct umpa_vname dscp_names[] = {
    {0, "default"}, {0, "cs0"},   {1, "le"},    {8, "cs1"},   {10, "af11"}, {12, "af12"}, {14, "af13"},
    {16, "cs2"},    {18, "af21"}, {20, "af22"}, {22, "af23"}, {24, "cs3"},  {26, "af31"}, {28, "af32"},
    {30, "af33"},   {32, "cs4"},  {34, "af41"}, {36, "af42"}, {38, "af43"}, {40, "cs5"},  {44, "voice-admit"},
    {46, "ef"},     {48, "cs6"},  {56, "cs7"},  {0, NULL},
};

static const struct umpa_vname ecn_names[] = {
    {0, "not-ect"}, {1, "ect1"}, {2, "ect0"}, {3, "ce"}, {0, NULL},
};

static const struct umpa_vname flag_names[] = {
    {4, "rb"},
    {2, "df"},
    {1, "mf"},
    {0, NULL},
};

/* /etc/protocols names (as Scapy shows them), then a few aliases. */
static const struct umpa_vname proto_names[] = {
    {0, "hopopt"},      {1, "icmp"},       {2, "igmp"},  {4, "ipencap"},     {6, "tcp"},
    {8, "egp"},         {17, "udp"},       {41, "ipv6"}, {43, "ipv6-route"}, {44, "ipv6-frag"},
    {46, "rsvp"},       {47, "gre"},       {50, "esp"},  {51, "ah"},         {58, "ipv6-icmp"},
    {59, "ipv6-nonxt"}, {60, "ipv6-opts"}, {89, "ospf"}, {103, "pim"},       {112, "vrrp"},
    {132, "sctp"},      {136, "udplite"},  {4, "ipip"},  {58, "icmpv6"},     {0, NULL},
};

/* clang-format off */
static const struct umpa_field ip_fields[] = {
	[F_VERSION] = {.name = "version", .ws = "ip.version", .bitoff = 0, .bits = 4, .type = UMPA_FT_UINT, .def = 4,
		.help = "IP version (4)"},
	[F_HDR_LEN] = {.name = "hdr_len", .ws = "ip.hdr_len", .bitoff = 4, .bits = 4, .type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO, .scale = 4, .def = IP_HDR,
		.help = "header length in bytes, a multiple of 4 (automatic; as Wireshark; ihl: in words)"},
	[F_DSFIELD] = {.name = "dsfield", .ws = "ip.dsfield", .aliases = "tos", .bitoff = 8, .bits = 8,
		.type = UMPA_FT_UINT, .flags = UMPA_F_HEX, .help = "differentiated services field (DSCP and ECN)"},
	[F_DSCP] = {.name = "dsfield.dscp", .ws = "ip.dsfield.dscp", .aliases = "dscp", .bitoff = 8, .bits = 6,
		.type = UMPA_FT_ENUM, .names = dscp_names, .help = "differentiated services codepoint"},
	[F_ECN] = {.name = "dsfield.ecn", .ws = "ip.dsfield.ecn", .aliases = "ecn", .bitoff = 14, .bits = 2,
		.type = UMPA_FT_ENUM, .names = ecn_names, .help = "explicit congestion notification"},
	[F_LEN] = {.name = "len", .ws = "ip.len", .bitoff = 16, .bits = 16, .type = UMPA_FT_UINT, .flags = UMPA_F_AUTO,
		.def = 20, .help = "total length: header and payload in bytes"},
	[F_ID] = {.name = "id", .ws = "ip.id", .bitoff = 32, .bits = 16, .type = UMPA_FT_UINT, .flags = UMPA_F_HEX,
		.def = 1, .help = "identification (fragment reassembly)"},
	[F_FLAGS] = {.name = "flags", .ws = "ip.flags", .bitoff = 48, .bits = 3, .type = UMPA_FT_FLAGS,
		.flags = UMPA_F_HEX, .names = flag_names,
		.help = "flags: rb (reserved, 0x4), df (don't fragment, 0x2), mf (more fragments, 0x1)"},
	[F_RB] = {.name = "flags.rb", .ws = "ip.flags.rb", .bitoff = 48, .bits = 1, .type = UMPA_FT_BOOL,
		.help = "reserved bit (the evil bit, RFC 3514)"},
	[F_DF] = {.name = "flags.df", .ws = "ip.flags.df", .aliases = "df", .bitoff = 49, .bits = 1,
		.type = UMPA_FT_BOOL, .help = "don't fragment"},
	[F_MF] = {.name = "flags.mf", .ws = "ip.flags.mf", .aliases = "mf", .bitoff = 50, .bits = 1,
		.type = UMPA_FT_BOOL, .help = "more fragments"},
	[F_FRAG] = {.name = "frag_offset", .ws = "ip.frag_offset", .aliases = "frag", .bitoff = 51, .bits = 13,
		.type = UMPA_FT_UINT, .help = "fragment offset in 8-byte units"},
	[F_TTL] = {.name = "ttl", .ws = "ip.ttl", .bitoff = 64, .bits = 8, .type = UMPA_FT_UINT, .def = 64,
		.help = "time to live"},
	[F_PROTO] = {.name = "proto", .ws = "ip.proto", .bitoff = 72, .bits = 8, .type = UMPA_FT_ENUM,
		.flags = UMPA_F_AUTO, .names = proto_names,
		.help = "protocol of the payload (automatic from the next layer)"},
	[F_CHECKSUM] = {.name = "checksum", .ws = "ip.checksum", .aliases = "chksum", .bitoff = 80, .bits = 16,
		.type = UMPA_FT_UINT, .flags = UMPA_F_AUTO | UMPA_F_HEX, .help = "header checksum (automatic)"},
	[F_SRC] = {.name = "src", .ws = "ip.src", .bitoff = 96, .bits = 32, .type = UMPA_FT_IPV4, .defp = ip_loopback,
		.help = "source address"},
	[F_DST] = {.name = "dst", .ws = "ip.dst", .bitoff = 128, .bits = 32, .type = UMPA_FT_IPV4, .defp = ip_loopback,
		.help = "destination address"},
	[F_OPTIONS] = {.name = "options", .ws = "ip.options", .aliases = "opts", .bitoff = 160, .type = UMPA_FT_VAR,
		.help = "options: eol,nop,rr=A:B|N,lsrr=A:..,ssrr=A:..,ts=T:..|A:T:..,ra[=V],N=hex,raw=hex"},
	/* Scapy's view of the same bits, in 4-byte words as on the wire (hidden: ip.hdr_len shows them) */
	[F_IHL] = {.name = "ihl", .ws = "ip.ihl", .bitoff = 4, .bits = 4, .type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HIDDEN, .def = IP_HDR / 4,
		.help = "header length in 4-byte words, as on the wire (Scapy's ihl; automatic)"},
};
UMPA_FIELDS_CHECK(ip_fields, F_COUNT);
/* clang-format on */

/* Option types. */
#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_RR 7
#define IPOPT_TS 68
#define IPOPT_LSRR 131
#define IPOPT_SSRR 137
#define IPOPT_RA 148

/* ---------------------------------------------------------------- helpers */

static int is_icmp_error_type(uint8_t t)
{
	return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

/*
 * The index of the IP layer quoted by an ICMP error that follows IP layer
 * @p li (li+1 is the error, li+2 the quoted IP), or -1.
 */
static int ip_quoted_by_next(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t t;

	if (li + 2 >= p->nlayers || p->l[li + 1].proto != &umpa_proto_icmp || p->l[li + 2].proto != &umpa_proto_ip)
		return -1;
	umpa_layer_cur(p, li + 1, &c);
	if (umpa_cur_u8_at(&c, 0, &t) < 0 || !is_icmp_error_type(t))
		return -1;
	return (int)(li + 2);
}

/*
 * Walk the options in @p o (n bytes).  Returns NULL when they are well formed,
 * else a static text saying what is wrong.
 */
static const char *ip_opts_check(struct umpa_cur *o, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t t, len;

		if (umpa_cur_u8_at(o, i, &t) < 0)
			return "IP options cut short";
		if (t == IPOPT_EOL)
			return NULL;
		if (t == IPOPT_NOP) {
			i++;
			continue;
		}
		if (umpa_cur_u8_at(o, i + 1, &len) < 0 || i + 1 >= n)
			return "IP option length missing";
		if (len < 2)
			return "IP option length below 2";
		if (len > n - i)
			return "IP option overruns the header";
		if ((t == IPOPT_RR || t == IPOPT_LSRR || t == IPOPT_SSRR) && len < 3)
			return "IP route option shorter than 3 bytes";
		if (t == IPOPT_TS && len < 4)
			return "IP timestamp option shorter than 4 bytes";
		i += len;
	}
	return NULL;
}

/* ---------------------------------------------------------------- dissect */

static const struct umpa_proto *ip_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *hdr;
	uint8_t vihl, proto;
	uint16_t tot, frag;
	uint32_t hlen;
	const char *bad;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &vihl) < 0)
		return NULL;
	if ((vihl >> 4) != 4) {
		l->flags |= UMPA_L_INVALID;
		l->why = "IP version is not 4";
		return NULL;
	}
	hlen = (uint32_t)(vihl & 0x0f) * 4;
	if (hlen < IP_HDR) {
		l->flags |= UMPA_L_INVALID;
		l->why = "IP header length below 20 bytes";
		return NULL;
	}
	l->hlen = hlen;
	if (hlen > l->len) {
		umpa_layer_short(p, li, "IP options cut short");
		return NULL;
	}
	if (umpa_cur_be16_at(&c, 2, &tot) < 0 || umpa_cur_be16_at(&c, 6, &frag) < 0 ||
	    umpa_cur_u8_at(&c, 9, &proto) < 0)
		return NULL;
	if (tot == 0) {
		/* TSO/GSO capture: the kernel leaves the length to the NIC (tcpdump does the same) */
	} else if (tot < hlen) {
		l->flags |= UMPA_L_INVALID;
		l->why = "IP total length below the header length";
		return NULL;
	} else if (tot > l->len) {
		if (!(l->flags & UMPA_L_QUOTED))
			umpa_layer_short(p, li, "IP total length exceeds the bytes present");
	} else {
		l->len = tot;
	}

	if (umpa_cur_ptr_at(&c, 0, hlen, &hdr) == 0 && umpa_csum_fold(umpa_csum_add(0, hdr, hlen)) != 0)
		l->flags |= UMPA_L_BADSUM;

	if (hlen > IP_HDR) {
		struct umpa_cur o;
		if (umpa_cur_sub(&c, IP_HDR, hlen - IP_HDR, &o) == 0 &&
		    (bad = ip_opts_check(&o, hlen - IP_HDR)) != NULL) {
			l->flags |= UMPA_L_INVALID;
			l->why = bad; /* the more telling reason, even when the capture also cut the packet */
		}
	}

	if ((frag & 0x1fff) != 0)
		return NULL; /* a later fragment: no upper header in it */
	return umpa_proto_bound(UMPA_BIND_IPPROTO, proto);
}

/* ---------------------------------------------------------------- finish */

static int ip_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	const struct umpa_field *f = ip_fields;
	struct umpa_cur c;
	const uint8_t *d;
	umpa_auto_next_(p, li, &f[F_PROTO], UMPA_BIND_IPPROTO);
	if (!umpa_field_is_set(p, li, &f[F_HDR_LEN]) && !umpa_field_is_set(p, li, &f[F_IHL])) {
		if (l->hlen / 4 > 15 || l->hlen % 4)
			return umpa_err_set(e, UMPA_ERANGE, "ip: header of %u bytes cannot be said in ip.hdr_len",
					    l->hlen);
		umpa_field_auto_u64(p, li, &f[F_HDR_LEN], l->hlen);
	}
	if (!umpa_field_is_set(p, li, &f[F_LEN])) {
		if (l->len > 0xffff)
			return umpa_err_set(e, UMPA_ERANGE,
					    "ip: packet of %u bytes exceeds the 65535 that ip.len can say", l->len);
		umpa_field_auto_u64(p, li, &f[F_LEN], l->len);
	}
	if (!umpa_field_is_set(p, li, &f[F_CHECKSUM])) {
		umpa_layer_cur(p, li, &c);
		if (l->hlen < 12 || umpa_cur_ptr_at(&c, 0, l->hlen, &d) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "ip: header not present for the checksum");
		umpa_field_auto_u64(p, li, &f[F_CHECKSUM],
				    umpa_csum_fold(umpa_csum_add(umpa_csum_add(0, d, 10), d + 12, l->hlen - 12)));
	}
	return 0;
}

/* ---------------------------------------------------------------- options */

/* Parse a dotted-quad address.  Returns 0 or -1. */
static int opt_addr(struct umpa_span v, uint8_t a[4])
{
	char buf[INET_ADDRSTRLEN];

	if (v.n == 0 || v.n >= sizeof(buf))
		return -1;
	memcpy(buf, v.s, v.n);
	buf[v.n] = 0;
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

/*
 * Encode one spec item (name [= value]) at @p o + *n.  Returns 0, or a
 * negative error with a message.
 */
static int opt_item(struct umpa_span key, struct umpa_span val, int hasval, uint8_t *o, size_t *n, struct umpa_err *e)
{
	uint8_t tmp[IP_MAX_OPTS + 8];
	size_t k = 0, room = IP_MAX_OPTS - *n;
	uint64_t num;
	struct umpa_span list = val, part;
	const char *name = key.s;
	int nn = (int)key.n, vn = (int)val.n;

#define IS(w) umpa_span_is(key, w)
	if (IS("eol") || IS("nop")) {
		if (hasval)
			goto noval;
		tmp[k++] = IS("eol") ? IPOPT_EOL : IPOPT_NOP;
	} else if (IS("rr") || IS("lsrr") || IS("ssrr")) {
		size_t parts;
		if (!hasval || val.n == 0)
			return umpa_err_set(e, UMPA_EINVAL, "ip.options: %.*s needs addresses (%.*s=A:B or rr=N)", nn,
					    name, nn, name);
		tmp[k++] = IS("rr") ? IPOPT_RR : IS("lsrr") ? IPOPT_LSRR : IPOPT_SSRR;
		tmp[k++] = 0;
		tmp[k++] = 4;
		if (IS("rr") && umpa_spec_num(val, 9, &num) == 0) {
			if (3 + 4 * num > room)
				goto toolong;
			memset(tmp + k, 0, 4 * num);
			k += 4 * num;
		} else {
			parts = umpa_spec_nparts(val);
			if (3 + 4 * parts > room)
				goto toolong;
			while (umpa_spec_part(&list, &part)) {
				if (opt_addr(part, tmp + k) < 0)
					return umpa_err_set(e, UMPA_EINVAL, "ip.options: %.*s: bad address '%.*s'", nn,
							    name, (int)part.n, part.s);
				k += 4;
			}
		}
		tmp[1] = (uint8_t)k;
	} else if (IS("ts")) {
		size_t parts = hasval ? umpa_spec_nparts(val) : 0;
		uint8_t a[4];
		int pairs = 0;
		if (parts) {
			umpa_spec_part(&list, &part);
			pairs = opt_addr(part, a) == 0;
			list = val;
		}
		if (pairs && parts % 2)
			return umpa_err_set(e, UMPA_EINVAL, "ip.options: ts with addresses needs A:T pairs");
		if (4 + 4 * parts > room)
			goto toolong;
		tmp[k++] = IPOPT_TS;
		tmp[k++] = 0;
		tmp[k++] = 0;
		tmp[k++] = pairs ? 1 : 0; /* overflow 0, flag */
		for (size_t i = 0; umpa_spec_part(&list, &part); i++) {
			if (pairs && i % 2 == 0) {
				if (opt_addr(part, tmp + k) < 0)
					return umpa_err_set(e, UMPA_EINVAL, "ip.options: ts: bad address '%.*s'",
							    (int)part.n, part.s);
			} else {
				if (umpa_spec_num(part, 0xffffffffULL, &num) < 0)
					return umpa_err_set(e, UMPA_EINVAL, "ip.options: ts: bad timestamp '%.*s'",
							    (int)part.n, part.s);
				tmp[k] = (uint8_t)(num >> 24);
				tmp[k + 1] = (uint8_t)(num >> 16);
				tmp[k + 2] = (uint8_t)(num >> 8);
				tmp[k + 3] = (uint8_t)num;
			}
			k += 4;
		}
		tmp[1] = (uint8_t)k;
		tmp[2] = (uint8_t)(k + 1); /* past the entries given */
	} else if (IS("ra")) {
		num = 0;
		if (hasval && umpa_spec_num(val, 0xffff, &num) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "ip.options: ra: bad value '%.*s'", vn, val.s);
		tmp[k++] = IPOPT_RA;
		tmp[k++] = 4;
		tmp[k++] = (uint8_t)(num >> 8);
		tmp[k++] = (uint8_t)num;
	} else if (IS("raw")) {
		long r = hasval ? umpa_spec_hex(val, tmp, room) : -1;
		if (r < 0)
			return umpa_err_set(e, UMPA_EINVAL, "ip.options: raw needs hex bytes, at most %zu", room);
		k = (size_t)r;
	} else if (umpa_spec_num(key, 255, &num) == 0) {
		tmp[k++] = (uint8_t)num;
		if (hasval || num > IPOPT_NOP) {
			long r = 0;
			if (hasval && (r = umpa_spec_hex(val, tmp + 2, sizeof(tmp) - 2)) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "ip.options: %.*s: bad hex '%.*s'", nn, name, vn,
						    val.s);
			tmp[k++] = (uint8_t)(r + 2);
			k += (size_t)r;
		}
	} else {
		char near[UMPA_NEAR_MAX + 1];
		const char *best = umpa_near_in(name, (size_t)nn, "eol,nop,rr,lsrr,ssrr,ts,ra,raw", near, sizeof near);
		return umpa_err_set(e, UMPA_EINVAL,
				    "ip.options: unknown option '%.*s' (" UMPA_NEAR_FMT
				    "eol, nop, rr, lsrr, ssrr, ts, ra, raw, N=hex)",
				    nn, name, UMPA_NEAR_ARGS(best));
	}
#undef IS
	if (k > room)
		goto toolong;
	memcpy(o + *n, tmp, k);
	*n += k;
	return 0;
noval:
	return umpa_err_set(e, UMPA_EINVAL, "ip.options: %.*s takes no value", nn, name);
toolong:
	return umpa_err_set(e, UMPA_ERANGE, "ip.options: more than %d bytes of options", IP_MAX_OPTS);
}

static int ip_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec, struct umpa_err *e)
{
	uint8_t o[IP_MAX_OPTS];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), key, val;
	struct umpa_layer *l = &p->l[li];
	uint32_t old;
	int r, hasval;

	(void)f;
	while (umpa_spec_item(&s, &key, &val, &hasval))
		if ((r = opt_item(key, val, hasval, o, &n, e)) < 0)
			return r;
	while (n % 4)
		o[n++] = IPOPT_EOL;
	old = l->hlen > IP_HDR ? l->hlen - IP_HDR : 0;
	return umpa_pkt_splice(p, li, IP_HDR, old, o, (uint32_t)n, e);
}

/* ---------------------------------------------------------------- details */

static void emit_route_addrs(struct umpa_emit *em, struct umpa_cur *o, size_t at, uint8_t len, uint8_t ptr, int record)
{
	for (size_t slot = 3; slot + 4 <= len; slot += 4) {
		const uint8_t *a;
		const char *key;
		if (umpa_cur_ptr_at(o, at + slot, 4, &a) < 0)
			return;
		if (slot + 1 < ptr) /* before the pointer: already recorded / visited */
			key = "ip.rec_rt";
		else
			key = record ? "ip.empty_rt" : "ip.src_rt";
		umpa_emit_ipv4(em, key, a);
	}
}

static void ip_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c, o;
	size_t n, i = 0;

	if (l->hlen <= IP_HDR)
		return;
	umpa_layer_cur(p, li, &c);
	n = l->hlen - IP_HDR;
	if (umpa_cur_sub(&c, IP_HDR, n, &o) < 0)
		return;
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_puts(&em->tmp, "Options: (");
	umpa_sbuf_put_u64(&em->tmp, n);
	umpa_sbuf_puts(&em->tmp, " bytes)");
	umpa_emit_open(em, "ip.options", em->tmp.s);
	while (i < n) {
		uint8_t t, len = 1, ptr = 0, b;
		const char *key, *label;
		const uint8_t *d;

		if (umpa_cur_u8_at(&o, i, &t) < 0)
			break;
		switch (t) {
		case IPOPT_EOL:
			key = "ip.options.eol";
			label = "End of Options List (EOL)";
			break;
		case IPOPT_NOP:
			key = "ip.options.nop";
			label = "No-Operation (NOP)";
			break;
		case IPOPT_RR:
			key = "ip.options.record_route";
			label = "Record Route";
			break;
		case IPOPT_LSRR:
			key = "ip.options.route";
			label = "Loose Source Route";
			break;
		case IPOPT_SSRR:
			key = "ip.options.source_route";
			label = "Strict Source Route";
			break;
		case IPOPT_TS:
			key = "ip.options.timestamp";
			label = "Time Stamp";
			break;
		case IPOPT_RA:
			key = "ip.options.routeralert";
			label = "Router Alert";
			break;
		default:
			key = "ip.options.unknown";
			label = "Unknown option";
			break;
		}
		umpa_emit_open(em, key, label);
		umpa_emit_u64(em, "ip.opt.type", t, NULL);
		if (t == IPOPT_EOL) {
			umpa_emit_close(em);
			if (i + 1 < n && umpa_cur_ptr_at(&o, i + 1, n - i - 1, &d) == 0)
				umpa_emit_bytes(em, "ip.opt.padding", d, n - i - 1);
			break;
		}
		if (t == IPOPT_NOP) {
			umpa_emit_close(em);
			i++;
			continue;
		}
		if (umpa_cur_u8_at(&o, i + 1, &len) < 0 || len < 2 || len > n - i) {
			umpa_emit_str(em, "ip.opt.len.invalid", "option length missing or past the header");
			umpa_emit_close(em);
			break;
		}
		umpa_emit_u64(em, "ip.opt.len", len, NULL);
		switch (t) {
		case IPOPT_RR:
		case IPOPT_LSRR:
		case IPOPT_SSRR:
			if (len >= 3 && umpa_cur_u8_at(&o, i + 2, &ptr) == 0) {
				umpa_emit_u64(em, "ip.opt.ptr", ptr, NULL);
				emit_route_addrs(em, &o, i, len, ptr, t == IPOPT_RR);
			}
			break;
		case IPOPT_TS:
			if (len >= 4 && umpa_cur_u8_at(&o, i + 2, &ptr) == 0 && umpa_cur_u8_at(&o, i + 3, &b) == 0) {
				int pairs = (b & 0x0f) == 1 || (b & 0x0f) == 3;
				umpa_emit_u64(em, "ip.opt.ptr", ptr, NULL);
				umpa_emit_u64(em, "ip.opt.overflow", b >> 4, NULL);
				umpa_emit_hex(em, "ip.opt.flag", b & 0x0f, 2);
				for (size_t s = 4; s + 4 <= len; s += 4) {
					uint32_t v;
					if (pairs && umpa_cur_ptr_at(&o, i + s, 4, &d) == 0) {
						umpa_emit_ipv4(em, "ip.opt.time_stamp_addr", d);
						s += 4;
						if (s + 4 > len)
							break;
					}
					if (umpa_cur_be32_at(&o, i + s, &v) == 0)
						umpa_emit_u64(em, "ip.opt.time_stamp", v, NULL);
				}
			}
			break;
		case IPOPT_RA: {
			uint16_t v;
			if (len == 4 && umpa_cur_be16_at(&o, i + 2, &v) == 0)
				umpa_emit_u64(em, "ip.opt.ra", v, v == 0 ? "Router shall examine packet" : NULL);
			break;
		}
		default:
			if (len > 2 && umpa_cur_ptr_at(&o, i + 2, len - 2u, &d) == 0)
				umpa_emit_bytes(em, "ip.opt.data", d, len - 2u);
			break;
		}
		umpa_emit_close(em);
		i += len;
	}
	umpa_emit_close(em);
}

/* ---------------------------------------------------------------- summary */

static void ip_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	const struct umpa_layer *nx = li + 1 < p->nlayers ? &p->l[li + 1] : NULL;
	struct umpa_cur c;
	const uint8_t *src, *dst;
	uint64_t sport = 0, dport = 0;
	int ports = 0;
	uint16_t frag = 0;
	uint8_t proto = 0;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_ptr_at(&c, 12, 4, &src) < 0 || umpa_cur_ptr_at(&c, 16, 4, &dst) < 0)
		return;
	if (nx && nx->proto && (nx->proto->pflags & UMPA_PF_PORTS) && nx->proto->nfields >= 2 &&
	    umpa_field_get_u64(p, li + 1, &nx->proto->fields[0], &sport) == 0 &&
	    umpa_field_get_u64(p, li + 1, &nx->proto->fields[1], &dport) == 0)
		ports = 1;
	if (l->flags & UMPA_L_QUOTED)
		umpa_sbuf_puts(out, "; ");
	umpa_sbuf_put(out, "IP ", 3);
	umpa_sbuf_put_ipv4(out, src);
	if (ports) {
		umpa_sbuf_putc(out, '.');
		umpa_sbuf_put_u64(out, sport);
	}
	umpa_sbuf_put(out, " > ", 3);
	umpa_sbuf_put_ipv4(out, dst);
	if (ports) {
		umpa_sbuf_putc(out, '.');
		umpa_sbuf_put_u64(out, dport);
	}
	umpa_sbuf_put(out, ": ", 2);
	if (!nx || (nx->proto->pflags & UMPA_PF_RAW)) {
		/* nothing dissected above us: say what the payload is, as tcpdump does */
		umpa_cur_be16_at(&c, 6, &frag);
		umpa_cur_u8_at(&c, 9, &proto);
		umpa_sbuf_put(out, "ip-proto-", 9);
		umpa_sbuf_put_u64(out, proto);
		if (frag & 0x1fff) {
			umpa_sbuf_puts(out, " (frag offset ");
			umpa_sbuf_put_u64(out, (uint64_t)(frag & 0x1fff) * 8);
			umpa_sbuf_puts(out, (frag & 0x2000) ? "+)" : ")");
		}
		umpa_sbuf_put(out, ", length ", 9);
		umpa_sbuf_put_u64(out, l->len >= l->hlen ? l->len - l->hlen : 0);
	}
}

/* ---------------------------------------------------------------- matching */

/* Source, destination and protocol of IP layer @p li.  Returns 0 or -1. */
static int ip_addrs(const struct umpa_pkt *p, unsigned li, uint32_t *src, uint32_t *dst, uint8_t *proto)
{
	struct umpa_cur c;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be32_at(&c, 12, src) < 0 || umpa_cur_be32_at(&c, 16, dst) < 0 || umpa_cur_u8_at(&c, 9, proto) < 0)
		return -1;
	return 0;
}

/*
 * Scapy's IP.hashret: source xor destination (so both directions agree) and
 * the protocol.  The IP carrying an ICMP error hashes as the packet it
 * quotes, so the error meets the request it answers.
 */
static uint32_t ip_hashret(const struct umpa_pkt *p, unsigned li)
{
	uint32_t src, dst;
	uint8_t proto;
	int q = ip_quoted_by_next(p, li);

	if (q >= 0)
		li = (unsigned)q;
	if (ip_addrs(p, li, &src, &dst, &proto) < 0)
		return 0;
	return umpa_mix32_((src ^ dst) + 0x9e3779b9U * (uint32_t)(proto + 1));
}

/*
 * Scapy's IP.answers: the response goes back to the request's source, from
 * its destination (unless that was multicast or broadcast), with the same
 * protocol; an ICMP error instead answers when the packet it quotes is the
 * request (same source, destination and protocol).
 */
static int ip_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
		      size_t whylen)
{
	uint32_t rs, rd, qs, qd;
	uint8_t rp, qp;
	int q;

	if (req->l[qli].proto != &umpa_proto_ip)
		return umpa_why_(why, whylen, "request is not IPv4");
	if (ip_addrs(resp, rli, &rs, &rd, &rp) < 0 || ip_addrs(req, qli, &qs, &qd, &qp) < 0)
		return umpa_why_(why, whylen, "ip header cut short");
	if (rd != qs)
		return umpa_why_(why, whylen, "ip.dst is not the request's ip.src");
	q = ip_quoted_by_next(resp, rli);
	if (q >= 0) {
		if (ip_addrs(resp, (unsigned)q, &rs, &rd, &rp) < 0)
			return umpa_why_(why, whylen, "quoted ip header cut short");
		if (rs != qs || rd != qd || rp != qp)
			return umpa_why_(why, whylen, "the ICMP error quotes another packet");
		return 1;
	}
	if (rs != qd && (qd >> 28) != 0xe && qd != 0xffffffffU)
		return umpa_why_(why, whylen, "ip.src is not the request's ip.dst");
	if (rp != qp)
		return umpa_why_(why, whylen, "ip.proto differs");
	return 1;
}

const struct umpa_proto umpa_proto_ip = {
    .name = "ip",
    .aliases = "ipv4,ip4,IP",
    .title = "Internet Protocol Version 4",
    .fields = ip_fields,
    .nfields = F_COUNT,
    .hdr_len = IP_HDR,
    .pflags = UMPA_PF_NET,
    .dissect = ip_dissect,
    .finish = ip_finish,
    .set_var = ip_set_var,
    .details = ip_details,
    .summary = ip_summary,
    .line_tag = "IP ",
    .hashret = ip_hashret,
    .answers = ip_answers,
};
