/* dhcpv6.c - Dynamic Host Configuration Protocol for IPv6 (RFC 8415; DNS options RFC 3646).
 *
 * Message (after UDP port 546 or 547): message type, transaction id (24 bits),
 * options; a relay message (relay-forw 12, relay-reply 13) has instead hop
 * count, link address and peer address (34 bytes), then options.  Each
 * option: code (16 bits), length (16 bits), value; IA_NA, IA_TA, IA_PD, IA
 * Address and IA Prefix carry options inside.
 *
 * Building: dhcpv6{} is Scapy's DHCP6_Solicit(): type 1, transaction id 0, no
 * options.  A relay type with hopcount, linkaddr or peeraddr set gets the
 * 34-byte relay header.  The options are a spec, one item per option, in order:
 *   client_id=DUIDHEX, server_id=DUIDHEX, elapsed_time=MS (a multiple of 10:
 *   Wireshark's milliseconds; the wire counts 1/100 s), oro=23:24,
 *   preference=N, rapid_commit, unicast=ADDR, status=CODE[/TEXT],
 *   dns=ADDR[/ADDR...], domains=NAME[/NAME...], interface_id=HEX,
 *   relay_msg=HEX, ia_na=IAID:T1:T2, ia_ta=IAID, ia_pd=IAID:T1:T2,
 *   iaaddr=ADDR/PREFERRED/VALID and iaprefix=PREFIX/LEN/PREFERRED/VALID
 *   (these two go inside the IA option before them), CODE=HEX (any option).
 * Lengths follow from the spec.
 *
 * Dissecting: every option is one "dhcpv6.option" group with Wireshark's
 * dhcpv6.option.type and dhcpv6.option.length and its decoded value; an
 * option past the message marks the layer invalid (or truncated).  A Relay
 * Message option that ends the message holds the relayed message: the next
 * layer (dhcpv6 again), as Wireshark nests it.
 *
 * Summary (tcpdump -nn): "dhcp6 solicit", "dhcp6 relay-fwd".
 *
 * Names: Wireshark's dhcpv6.* (dhcpv6.elapsed_time in milliseconds;
 * dhcpv6.iaid as Wireshark's 8 hex digits).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum {
	D6_HLEN = 4,
	D6_RELAY_HLEN = 34,
	D6_RELAY_FORW = 12,
	D6_RELAY_REPL = 13,
	D6_OPTS_MAX = 2048,
	O_CLIENTID = 1,
	O_SERVERID = 2,
	O_IA_NA = 3,
	O_IA_TA = 4,
	O_IAADDR = 5,
	O_ORO = 6,
	O_PREFERENCE = 7,
	O_ELAPSED = 8,
	O_RELAY_MSG = 9,
	O_UNICAST = 12,
	O_STATUS = 13,
	O_RAPID = 14,
	O_IFACE_ID = 18,
	O_DNS = 23,
	O_DOMAINS = 24,
	O_IA_PD = 25,
	O_IAPREFIX = 26
};

static const struct umpa_vname msgtype_names[] = {
    {1, "solicit"},
    {2, "advertise"},
    {3, "request"},
    {4, "confirm"},
    {5, "renew"},
    {6, "rebind"},
    {7, "reply"},
    {8, "release"},
    {9, "decline"},
    {10, "reconfigure"},
    {11, "inf-req"},
    {12, "relay-fwd"},
    {13, "relay-reply"},
    {14, "leasequery"},
    {15, "leasequery-reply"},
    {11, "information-request"},
    {12, "relay-forw"},
    {13, "relay-repl"},
    {0, NULL},
};

/* Option names: the spec's names (Wireshark's words where it has one). */
static const struct umpa_vname opt_names[] = {
    {O_CLIENTID, "client_id"},
    {O_SERVERID, "server_id"},
    {O_IA_NA, "ia_na"},
    {O_IA_TA, "ia_ta"},
    {O_IAADDR, "iaaddr"},
    {O_ORO, "oro"},
    {O_PREFERENCE, "preference"},
    {O_ELAPSED, "elapsed_time"},
    {O_RELAY_MSG, "relay_msg"},
    {O_UNICAST, "unicast"},
    {O_STATUS, "status"},
    {O_RAPID, "rapid_commit"},
    {O_IFACE_ID, "interface_id"},
    {O_DNS, "dns"},
    {O_DOMAINS, "domains"},
    {O_IA_PD, "ia_pd"},
    {O_IAPREFIX, "iaprefix"},
    {O_ORO, "option_request"},
    {O_DNS, "dns_servers"},
    {O_DOMAINS, "domain_list"},
    {0, NULL},
};

/* Field indexes: the order of dhcpv6_fields. */
enum { F_TYPE, F_XID, F_HOPS, F_LINK, F_PEER, F_OPTIONS, F_COUNT };

static const struct umpa_field dhcpv6_fields[] = {
    [F_TYPE] = {.name = "msgtype",
		.ws = "dhcpv6.msgtype",
		.aliases = "type,msg_type",
		.bitoff = 0,
		.bits = 8,
		.type = UMPA_FT_ENUM,
		.def = 1,
		.names = msgtype_names,
		.help = "message type: 1 solicit, 2 advertise, 3 request, ..., 7 reply, 11 inf-req, 12 relay-fwd, "
			"13 relay-reply"},
    [F_XID] = {.name = "xid",
	       .ws = "dhcpv6.xid",
	       .aliases = "trid",
	       .bitoff = 8,
	       .bits = 24,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX,
	       .help = "transaction id (not in relay messages)"},
    [F_HOPS] = {.name = "hopcount",
		.ws = "dhcpv6.hopcount",
		.bitoff = 8,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.help = "relay messages: hop count"},
    [F_LINK] = {.name = "linkaddr",
		.ws = "dhcpv6.linkaddr",
		.bitoff = 16,
		.bits = 128,
		.type = UMPA_FT_IPV6,
		.help = "relay messages: link address"},
    [F_PEER] = {.name = "peeraddr",
		.ws = "dhcpv6.peeraddr",
		.bitoff = 144,
		.bits = 128,
		.type = UMPA_FT_IPV6,
		.help = "relay messages: peer address"},
    [F_OPTIONS] = {.name = "options",
		   .ws = "dhcpv6.option",
		   .aliases = "opts",
		   .bitoff = 32,
		   .type = UMPA_FT_VAR,
		   .help = "options: client_id=HEX, server_id=HEX, elapsed_time=MS, oro=23:24, ia_na=IAID:T1:T2, "
			   "iaaddr=ADDR/PREF/VALID, ia_pd=IAID:T1:T2, iaprefix=PREFIX/LEN/PREF/VALID, ia_ta=IAID, "
			   "dns=ADDR/ADDR, domains=NAME/NAME, status=CODE/TEXT, preference=N, rapid_commit, "
			   "unicast=ADDR, interface_id=HEX, relay_msg=HEX, CODE=HEX"},
};
UMPA_FIELDS_CHECK(dhcpv6_fields, F_COUNT);

static int is_relay(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t t = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &t);
	return t == D6_RELAY_FORW || t == D6_RELAY_REPL;
}

/* A relay message's 34-byte header is there: dissected as one, or made room for (l->aux). */
static int relay_shaped(const struct umpa_pkt *p, unsigned li)
{
	return is_relay(p, li) && p->l[li].aux == 1;
}

/* Building: make a relay type's header room (30 zero bytes after the first 4) once. */
static int relay_room(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	int rc;

	if (!is_relay(p, li) || p->l[li].aux == 1)
		return 0;
	if ((rc = umpa_pkt_splice(p, li, D6_HLEN, 0, NULL, D6_RELAY_HLEN - D6_HLEN, e)) < 0)
		return rc;
	p->l[li].aux = 1;
	return 0;
}

static long dhcpv6_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	int relay = relay_shaped(p, li);

	switch (f - dhcpv6_fields) {
	case F_XID:
		return is_relay(p, li) ? -1 : (long)f->bitoff;
	case F_HOPS:
	case F_LINK:
	case F_PEER:
		return relay ? (long)f->bitoff : -1;
	case F_OPTIONS:
		return relay ? 8 * D6_RELAY_HLEN : (long)f->bitoff;
	}
	return f->bitoff;
}

/* Building: a relay field makes room for the relay header (the type must be a relay type). */
static int dhcpv6_place(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	if (!is_relay(p, li) && !umpa_field_is_set(p, li, &dhcpv6_fields[F_TYPE]))
		umpa_field_auto_u64(p, li, &dhcpv6_fields[F_TYPE],
				    D6_RELAY_FORW); /* a relay field makes a relay-forw */
	if (!is_relay(p, li))
		return umpa_err_set(e, UMPA_EINVAL, "%s is in relay messages only (msgtype 12 or 13)", f->ws);
	return relay_room(p, li, e);
}

/* ---------------------------------------------------------------- building */

/* Split @v at "/" into at most @max parts; returns the count. */
static size_t slash_parts(struct umpa_span v, struct umpa_span *parts, size_t max)
{
	size_t n = 0;
	struct umpa_span head, tail;

	while (n < max && v.n) {
		int more = umpa_span_cut(v, "/", &head, &tail);
		parts[n++] = umpa_span_trim(head);
		if (!more)
			break;
		v = tail;
	}
	return n;
}

static int put_ipv6(struct umpa_span a, uint8_t *out)
{
	char tmp[64];

	return umpa_span_cstr(a, tmp, sizeof tmp) == 0 && inet_pton(AF_INET6, tmp, out) == 1 ? 0 : -1;
}

/* Write the value of option @code from @v at @b (room @max).  Returns its length or -1. */
static long opt_value(unsigned code, struct umpa_span v, uint8_t *b, size_t max)
{
	struct umpa_span parts[16], part;
	size_t n, len = 0;
	uint64_t x;

	switch (code) {
	case O_ELAPSED:
		if (umpa_spec_num(v, 655350, &x) < 0 || x % 10 || max < 2)
			return -1;
		umpa_put_be16_(b, (uint32_t)(x / 10));
		return 2;
	case O_PREFERENCE:
		return umpa_spec_num(v, 255, &x) < 0 || max < 1 ? -1 : (b[0] = (uint8_t)x, 1);
	case O_ORO:
		while (umpa_spec_part(&v, &part)) {
			if (len + 2 > max || umpa_spec_num(part, 0xffff, &x) < 0)
				return -1;
			umpa_put_be16_(b + len, (uint32_t)x);
			len += 2;
		}
		return (long)len;
	case O_IA_NA:
	case O_IA_PD:
		for (int i = 0; i < 3; i++) {
			if (!umpa_spec_part(&v, &part) || umpa_spec_num(part, 0xffffffffu, &x) < 0 || max < 12)
				return -1;
			umpa_put_be32_(b + 4 * i, (uint32_t)x);
		}
		return umpa_spec_part(&v, &part) ? -1 : 12;
	case O_IA_TA:
		if (umpa_spec_num(v, 0xffffffffu, &x) < 0 || max < 4)
			return -1;
		umpa_put_be32_(b, (uint32_t)x);
		return 4;
	case O_IAADDR:
		n = slash_parts(v, parts, 3);
		if (n != 3 || max < 24 || put_ipv6(parts[0], b) < 0)
			return -1;
		for (int i = 0; i < 2; i++) {
			if (umpa_spec_num(parts[1 + i], 0xffffffffu, &x) < 0)
				return -1;
			umpa_put_be32_(b + 16 + 4 * i, (uint32_t)x);
		}
		return 24;
	case O_IAPREFIX: /* preferred, valid, prefix length, prefix */
		n = slash_parts(v, parts, 4);
		if (n != 4 || max < 25 || put_ipv6(parts[0], b + 9) < 0 || umpa_spec_num(parts[1], 128, &x) < 0)
			return -1;
		b[8] = (uint8_t)x;
		for (int i = 0; i < 2; i++) {
			if (umpa_spec_num(parts[2 + i], 0xffffffffu, &x) < 0)
				return -1;
			umpa_put_be32_(b + 4 * i, (uint32_t)x);
		}
		return 25;
	case O_UNICAST:
		return max < 16 || put_ipv6(v, b) < 0 ? -1 : 16;
	case O_DNS:
		n = slash_parts(v, parts, 16);
		for (size_t i = 0; i < n; i++) {
			if (len + 16 > max || put_ipv6(parts[i], b + len) < 0)
				return -1;
			len += 16;
		}
		return n ? (long)len : -1;
	case O_DOMAINS:
		n = slash_parts(v, parts, 16);
		for (size_t i = 0; i < n; i++) {
			struct umpa_span name = parts[i], label, rest;
			while (name.n) {
				int more = umpa_span_cut(name, ".", &label, &rest);
				if (label.n == 0 || label.n > 63 || len + 1 + label.n + 1 > max)
					return -1;
				b[len++] = (uint8_t)label.n;
				memcpy(b + len, label.s, label.n);
				len += label.n;
				if (!more)
					break;
				name = rest;
			}
			b[len++] = 0;
		}
		return n ? (long)len : -1;
	case O_STATUS: {
		struct umpa_span code_s, text;
		int more = umpa_span_cut(v, "/", &code_s, &text);
		if (umpa_spec_num(code_s, 0xffff, &x) < 0 || max < 2 + text.n)
			return -1;
		umpa_put_be16_(b, (uint32_t)x);
		if (more)
			memcpy(b + 2, text.s, text.n);
		return 2 + (long)(more ? text.n : 0);
	}
	case O_RAPID:
		return v.n ? -1 : 0;
	default:
		return umpa_spec_hex(v, b, max);
	}
}

static int dhcpv6_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			  struct umpa_err *e)
{
	uint8_t b[D6_OPTS_MAX];
	size_t n = 0, ia = (size_t)-1; /* where the last IA option starts */
	struct umpa_span s = umpa_span_of(spec), ks, vs;
	int hasval;
	long at;

	if (relay_room(p, li, e) < 0)
		return -UMPA_ERANGE;
	at = dhcpv6_locate(p, li, f) / 8;
	if ((uint32_t)at > p->l[li].hlen)
		return umpa_err_set(e, UMPA_EINVAL, "dhcpv6.option: header too short for options");
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		uint64_t code;
		long vl;
		char tmp[32];

		if (umpa_span_cstr(ks, tmp, sizeof tmp) < 0 || umpa_vname_value(opt_names, tmp, &code) < 0) {
			if (umpa_spec_num(ks, 0xffff, &code) < 0)
				return umpa_err_set(
				    e, UMPA_EINVAL,
				    "dhcpv6.option: unknown option '%.*s' (see umpa fields dhcpv6, or a "
				    "code with hex bytes)",
				    (int)ks.n, ks.s);
		}
		if (!hasval && code != O_RAPID)
			return umpa_err_set(e, UMPA_EINVAL, "dhcpv6.option: '%.*s' needs a value (%.*s=...)", (int)ks.n,
					    ks.s, (int)ks.n, ks.s);
		if (n + 4 > sizeof b)
			goto toolong;
		vl = opt_value((unsigned)code, vs, b + n + 4, sizeof b - n - 4);
		if (vl < 0)
			return umpa_err_set(e, UMPA_EINVAL, "dhcpv6.option: bad value '%.*s' for %.*s", (int)vs.n, vs.s,
					    (int)ks.n, ks.s);
		umpa_put_be16_(b + n, (uint32_t)code);
		umpa_put_be16_(b + n + 2, (uint32_t)vl);
		if ((code == O_IAADDR || code == O_IAPREFIX) && ia != (size_t)-1) {
			/* inside the IA option before it: that option grows */
			uint32_t l = (uint32_t)b[ia + 2] << 8 | b[ia + 3];
			umpa_put_be16_(b + ia + 2, l + 4u + (uint32_t)vl);
		} else {
			ia = (code == O_IA_NA || code == O_IA_TA || code == O_IA_PD) ? n : (size_t)-1;
		}
		n += 4 + (size_t)vl;
	}
	return umpa_pkt_splice(p, li, (uint32_t)at, p->l[li].hlen - (uint32_t)at, b, (uint32_t)n, e);
toolong:
	return umpa_err_set(e, UMPA_ERANGE, "dhcpv6.option: more than %d bytes of options", D6_OPTS_MAX);
}

static int dhcpv6_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	/* a relay type set on a plain message: the relay header's room */
	return relay_room(p, li, e);
}

/* ---------------------------------------------------------------- dissecting */

/* The option at @at of @c within [.., @end): its code and the length of its value (after the 4-byte header)
 * into *@code and *@len.  Returns 0, or -1 when the header or the value runs past @end. */
static int opt_at(struct umpa_cur *c, size_t at, size_t end, uint16_t *code, uint16_t *len)
{
	return at + 4 <= end && umpa_cur_be16_at(c, at, code) == 0 && umpa_cur_be16_at(c, at + 2, len) == 0 &&
		       at + 4u + *len <= end
		   ? 0
		   : -1;
}

static const struct umpa_proto *dhcpv6_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = is_relay(p, li) ? D6_RELAY_HLEN : D6_HLEN;

	umpa_layer_cur(p, li, &c);
	l->aux = is_relay(p, li);
	if (at > l->len) {
		l->hlen = l->len;
		umpa_layer_short(p, li, "relay header past the end");
		return NULL;
	}
	while (at < l->len) {
		uint16_t code, len;
		if (opt_at(&c, at, l->len, &code, &len) < 0) {
			l->hlen = l->len;
			umpa_layer_short(p, li, "option past the end");
			return NULL;
		}
		if (code == O_RELAY_MSG && at + 4u + len == l->len && len >= D6_HLEN && is_relay(p, li)) {
			l->hlen = (uint32_t)at + 4u; /* the relayed message is the next layer */
			return &umpa_proto_dhcpv6;
		}
		at += 4u + len;
	}
	l->hlen = l->len;
	return NULL;
}

/* A DNS name in wire form (no compression) at [@at, @end) of @c into @out; returns the bytes read or -1. */
static long read_name(struct umpa_cur *c, size_t at, size_t end, char *out, size_t size)
{
	size_t k = at, o = 0;

	while (k < end) {
		uint8_t n;
		if (umpa_cur_u8_at(c, k, &n) < 0 || n > 63)
			return -1;
		k++;
		if (n == 0) {
			if (o == 0 && o + 1 < size)
				out[o++] = '.';
			out[o] = 0;
			return (long)(k - at);
		}
		if (k + n > end || o + n + 2 > size || umpa_cur_copy_at(c, k, n, out + o) < 0)
			return -1;
		o += n;
		out[o++] = '.';
		k += n;
	}
	return -1;
}

static void emit_options(struct umpa_emit *em, struct umpa_cur *c, size_t at, size_t end, int depth);

/* The DUID types with a number after the type and link-layer address or identifier bytes after it (RFC 8415
 * s11.2-11.4): their minimum length (where the bytes start), the number's width and Wireshark's names. */
static const struct duid_kind {
	uint16_t type;
	uint8_t minlen, numlen;
	const char *num, *rest;
} duid_kinds[] = {
    {1, 8, 2, "dhcpv6.duidllt.hwtype", "dhcpv6.duidllt.link_layer_addr"},
    {2, 6, 4, "dhcpv6.duiden.enterprise", "dhcpv6.duiden.identifier"},
    {3, 4, 2, "dhcpv6.duidll.hwtype", "dhcpv6.duidll.link_layer_addr"},
};

static void emit_duid(struct umpa_emit *em, struct umpa_cur *c, size_t at, unsigned len)
{
	const uint8_t *d;
	uint16_t type = 0, v16 = 0;
	uint32_t v32 = 0;

	if (len < 2 || umpa_cur_ptr_at(c, at, len, &d) < 0)
		return;
	umpa_emit_bytes(em, "dhcpv6.duid.bytes", d, len);
	umpa_cur_be16_at(c, at, &type);
	umpa_emit_u64(em, "dhcpv6.duid.type", type, NULL);
	if (type == 4) {
		if (len == 18)
			umpa_emit_bytes(em, "dhcpv6.duiduuid.bytes", d + 2, 16);
		return;
	}
	for (size_t i = 0; i < sizeof duid_kinds / sizeof duid_kinds[0]; i++) {
		const struct duid_kind *k = &duid_kinds[i];
		if (k->type != type)
			continue;
		if (len < k->minlen)
			return;
		if (k->numlen == 2)
			umpa_cur_be16_at(c, at + 2, &v16);
		else
			umpa_cur_be32_at(c, at + 2, &v32);
		umpa_emit_u64(em, k->num, k->numlen == 2 ? v16 : v32, NULL);
		if (len > k->minlen)
			umpa_emit_bytes(em, k->rest, d + k->minlen, len - k->minlen);
		return;
	}
}

static void emit_value(struct umpa_emit *em, struct umpa_cur *c, unsigned code, size_t at, unsigned len, int depth)
{
	const uint8_t *d;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;
	char buf[300];

	switch (code) {
	case O_CLIENTID:
	case O_SERVERID:
		emit_duid(em, c, at, len);
		return;
	case O_IA_NA:
	case O_IA_PD:
		if (len < 12)
			return;
		umpa_cur_be32_at(c, at, &v32);
		snprintf(buf, sizeof buf, "%08x", v32);
		umpa_emit_str(em, "dhcpv6.iaid", buf);
		umpa_cur_be32_at(c, at + 4, &v32);
		umpa_emit_u64(em, "dhcpv6.iaid.t1", v32, NULL);
		umpa_cur_be32_at(c, at + 8, &v32);
		umpa_emit_u64(em, "dhcpv6.iaid.t2", v32, NULL);
		emit_options(em, c, at + 12, at + len, depth + 1);
		return;
	case O_IA_TA:
		if (len < 4)
			return;
		umpa_cur_be32_at(c, at, &v32);
		snprintf(buf, sizeof buf, "%08x", v32);
		umpa_emit_str(em, "dhcpv6.iata", buf);
		emit_options(em, c, at + 4, at + len, depth + 1);
		return;
	case O_IAADDR:
		if (len < 24 || umpa_cur_ptr_at(c, at, 16, &d) < 0)
			return;
		umpa_emit_ipv6(em, "dhcpv6.iaaddr.ip", d);
		umpa_cur_be32_at(c, at + 16, &v32);
		umpa_emit_u64(em, "dhcpv6.iaaddr.pref_lifetime", v32, NULL);
		umpa_cur_be32_at(c, at + 20, &v32);
		umpa_emit_u64(em, "dhcpv6.iaaddr.valid_lifetime", v32, NULL);
		emit_options(em, c, at + 24, at + len, depth + 1);
		return;
	case O_IAPREFIX:
		if (len < 25 || umpa_cur_ptr_at(c, at + 9, 16, &d) < 0)
			return;
		umpa_cur_be32_at(c, at, &v32);
		umpa_emit_u64(em, "dhcpv6.iaprefix.pref_lifetime", v32, NULL);
		umpa_cur_be32_at(c, at + 4, &v32);
		umpa_emit_u64(em, "dhcpv6.iaprefix.valid_lifetime", v32, NULL);
		umpa_cur_u8_at(c, at + 8, &v8);
		umpa_emit_u64(em, "dhcpv6.iaprefix.pref_len", v8, NULL);
		umpa_emit_ipv6(em, "dhcpv6.iaprefix.pref_addr", d);
		emit_options(em, c, at + 25, at + len, depth + 1);
		return;
	case O_ORO:
		for (unsigned i = 0; i + 2 <= len && umpa_cur_be16_at(c, at + i, &v16) == 0; i += 2)
			umpa_emit_u64(em, "dhcpv6.requested_option_code", v16, NULL);
		return;
	case O_PREFERENCE:
		if (len == 1 && umpa_cur_u8_at(c, at, &v8) == 0)
			umpa_emit_u64(em, "dhcpv6.option_preference", v8, NULL);
		return;
	case O_ELAPSED:
		if (len == 2 && umpa_cur_be16_at(c, at, &v16) == 0)
			umpa_emit_u64(em, "dhcpv6.elapsed_time", 10u * v16, NULL);
		return;
	case O_UNICAST:
		if (len == 16 && umpa_cur_ptr_at(c, at, 16, &d) == 0)
			umpa_emit_ipv6(em, "dhcpv6.unicast", d);
		return;
	case O_STATUS:
		if (len < 2 || umpa_cur_be16_at(c, at, &v16) < 0)
			return;
		umpa_emit_u64(em, "dhcpv6.status_code", v16, NULL);
		if (len > 2)
			umpa_emit_text_(em, "dhcpv6.status_msg", c, at + 2, len - 2u, sizeof buf - 1);
		return;
	case O_IFACE_ID:
		if (len && umpa_cur_ptr_at(c, at, len, &d) == 0)
			umpa_emit_bytes(em, "dhcpv6.interface_id", d, len);
		return;
	case O_DNS:
		for (unsigned i = 0; i + 16 <= len && umpa_cur_ptr_at(c, at + i, 16, &d) == 0; i += 16)
			umpa_emit_ipv6(em, "dhcpv6.dns_server", d);
		return;
	case O_DOMAINS:
		for (size_t k = at; k < at + len;) {
			long r = read_name(c, k, at + len, buf, sizeof buf);
			if (r < 0)
				return;
			umpa_emit_str(em, "dhcpv6.search_list_entry", buf);
			k += (size_t)r;
		}
		return;
	}
}

/* Emit the options in [@at, @end) of @c, each one group; IA options nest theirs (at most a few deep). */
static void emit_options(struct umpa_emit *em, struct umpa_cur *c, size_t at, size_t end, int depth)
{
	if (depth > 4)
		return;
	uint16_t code, len;

	while (opt_at(c, at, end, &code, &len) == 0) {
		umpa_emit_open(em, "dhcpv6.option", umpa_vname_find(opt_names, code));
		umpa_emit_u64(em, "dhcpv6.option.type", code, umpa_vname_find(opt_names, code));
		umpa_emit_u64(em, "dhcpv6.option.length", len, NULL);
		emit_value(em, c, code, at + 4, len, depth);
		umpa_emit_close(em);
		at += 4u + len;
	}
}

static void dhcpv6_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	size_t at = is_relay(p, li) ? D6_RELAY_HLEN : D6_HLEN;
	uint16_t code, len;

	umpa_layer_cur(p, li, &c);
	emit_options(em, &c, at, l->hlen, 0);
	/* the Relay Message option whose value is the next layer: its header ends this one */
	if (l->hlen < l->len && l->hlen >= at + 4 && opt_at(&c, l->hlen - 4, l->len, &code, &len) == 0 &&
	    code == O_RELAY_MSG) {
		umpa_emit_open(em, "dhcpv6.option", "relay_msg");
		umpa_emit_u64(em, "dhcpv6.option.type", code, "relay_msg");
		umpa_emit_u64(em, "dhcpv6.option.length", len, NULL);
		umpa_emit_close(em);
	}
}

static void dhcpv6_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t t;
	const char *name;

	if (li > 0 && p->l[li - 1].proto == &umpa_proto_dhcpv6)
		return; /* a relayed message: tcpdump names the relay message only */
	umpa_layer_cur(p, li, &c);
	umpa_sbuf_puts(out, "dhcp6");
	if (umpa_cur_u8_at(&c, 0, &t) < 0)
		return;
	name = umpa_vname_find(msgtype_names, t);
	if (name)
		umpa_sbuf_printf(out, " %s", name);
	else
		umpa_sbuf_printf(out, " msgtype-%u", t);
}

const struct umpa_proto umpa_proto_dhcpv6 = {
    .name = "dhcpv6",
    .aliases = "dhcp6",
    .title = "DHCPv6",
    .fields = dhcpv6_fields,
    .nfields = F_COUNT,
    .hdr_len = D6_HLEN,
    .dissect = dhcpv6_dissect,
    .finish = dhcpv6_finish,
    .set_var = dhcpv6_set_var,
    .details = dhcpv6_details,
    .summary = dhcpv6_summary,
    .locate = dhcpv6_locate,
    .place = dhcpv6_place,
};
