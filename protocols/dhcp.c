/* dhcp.c - BOOTP and DHCP (RFC 951, RFC 2131; options: RFC 2132 and later).
 *
 * Header (236 bytes after UDP port 67 or 68): op, htype, hlen, hops, xid,
 * secs, flags (broadcast bit 0x8000), ciaddr, yiaddr, siaddr, giaddr, chaddr
 * (16 bytes), sname (64), file (128); then the magic cookie 99.130.83.99
 * and the options: code, length, value; 0 pad and 255 end have no length.
 *
 * Building: dhcp{} is a BOOTREQUEST from Ethernet (htype 1, hlen 6) with the
 * magic cookie and no options (Scapy's BOOTP()/DHCP() start); the options
 * are a spec, one item per option, in order, NAME=VALUE or CODE=VALUE:
 *   message_type=offer (or dhcp=2), server_id=10.0.0.1, lease_time=3600,
 *   subnet_mask=255.255.255.0, router=10.0.0.1, dns=10.0.0.1:10.0.0.2,
 *   domain_name=example.com, param_req_list=1:3:6:15, client_id=01:02:00:00:00:00:01,
 *   61=0102000000000001 (a number: hex bytes), pad, end
 * Value forms follow the option (addresses joined by ':', numbers, text,
 * hex bytes for the rest); names are Wireshark's dhcp.option.* names
 * (domain_name_server, ip_address_lease_time, dhcp_server_id...) or the
 * short ones above.  An "end" is appended unless the spec has one.  From Lua
 * the options may be a list: options={"message_type=offer",
 * {type="router", value="10.0.0.1"}, {type=6, value={"10.0.0.1","10.0.0.2"}}}.
 * Nothing is automatic in the options: what the spec says goes on the wire
 * (a DHCP server template fills in its own); sname and file are set as hex
 * bytes.
 *
 * Dissecting: the header and cookie make the fixed header (a frame whose
 * cookie is not DHCP's is plain BOOTP: the vendor area is left as bytes);
 * each option is one "dhcp.option" group with Wireshark's dhcp.option.type,
 * dhcp.option.length, dhcp.option.value and the decoded value under its
 * Wireshark name (dhcp.option.subnet_mask, dhcp.option.dhcp,
 * dhcp.option.request_list_item, ...).  An option whose length runs past
 * the bytes marks the layer invalid and ends the walk.  End is shown as
 * dhcp.option.end, the bytes after it as dhcp.option.padding.
 *
 * Summary (tcpdump -nn): "BOOTP/DHCP, Request from 02:00:00:00:00:01, length
 * 300" / "BOOTP/DHCP, Reply, length 300".
 *
 * Names: Wireshark's dhcp.* (dhcp.type is op, dhcp.id the xid, dhcp.ip.your
 * yiaddr...); Scapy's BOOTP names are aliases (op, htype, hlen, xid, ciaddr,
 * yiaddr, siaddr, giaddr, chaddr, sname, file).
 */
#include <arpa/inet.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_near.h"
#include "umpa_protos.h"

enum {
	DHCP_FIXED = 236,
	DHCP_HLEN = 240,
	DHCP_COOKIE = 0x63825363,
	DHCP_OPTS_MAX = 1200, /* bytes of options a spec may build */
	OPT_PAD = 0,
	OPT_END = 255
};

static const uint8_t dhcp_cookie[4] = {99, 130, 83, 99};

static const struct umpa_vname op_names[] = {{1, "boot-request"}, {2, "boot-reply"}, {0, NULL}};

static const struct umpa_vname msgtype_names[] = {
    {1, "discover"}, {2, "offer"},  {3, "request"},    {4, "decline"},     {5, "ack"}, {6, "nak"},
    {7, "release"},  {8, "inform"}, {9, "forcerenew"}, {10, "leasequery"}, {0, NULL},
};

/* Field indexes: the order of dhcp_fields. */
enum {
	F_OP,
	F_HTYPE,
	F_HLEN,
	F_HOPS,
	F_XID,
	F_SECS,
	F_FLAGS,
	F_BC,
	F_FRSV,
	F_CIADDR,
	F_YIADDR,
	F_SIADDR,
	F_GIADDR,
	F_MAC,
	F_PADDING,
	F_CHADDR,
	F_SNAME,
	F_FILE,
	F_COOKIE,
	F_OPTIONS,
	F_COUNT
};

static const struct umpa_field dhcp_fields[] = {
    [F_OP] = {.name = "type",
	      .ws = "dhcp.type",
	      .aliases = "op",
	      .bitoff = 0,
	      .bits = 8,
	      .type = UMPA_FT_ENUM,
	      .def = 1,
	      .names = op_names,
	      .help = "message op: 1 boot-request, 2 boot-reply"},
    [F_HTYPE] = {.name = "hw.type",
		 .ws = "dhcp.hw.type",
		 .aliases = "htype",
		 .bitoff = 8,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX,
		 .def = 1,
		 .help = "hardware address type (ARP's: 1 Ethernet)"},
    [F_HLEN] = {.name = "hw.len",
		.ws = "dhcp.hw.len",
		.aliases = "hlen",
		.bitoff = 16,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.def = 6,
		.help = "hardware address length"},
    [F_HOPS] = {.name = "hops", .ws = "dhcp.hops", .bitoff = 24, .bits = 8, .type = UMPA_FT_UINT, .help = "relay hops"},
    [F_XID] = {.name = "id",
	       .ws = "dhcp.id",
	       .aliases = "xid",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_HEX,
	       .help = "transaction id"},
    [F_SECS] = {.name = "secs",
		.ws = "dhcp.secs",
		.bitoff = 64,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.help = "seconds since the client began"},
    [F_FLAGS] = {.name = "flags",
		 .ws = "dhcp.flags",
		 .bitoff = 80,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX,
		 .help = "flags: 0x8000 broadcast"},
    [F_BC] = {.name = "flags.bc",
	      .ws = "dhcp.flags.bc",
	      .aliases = "broadcast",
	      .bitoff = 80,
	      .bits = 1,
	      .type = UMPA_FT_BOOL,
	      .help = "broadcast flag"},
    [F_FRSV] = {.name = "flags.reserved",
		.ws = "dhcp.flags.reserved",
		.bitoff = 81,
		.bits = 15,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_HEX,
		.help = "reserved flag bits"},
    [F_CIADDR] = {.name = "ip.client",
		  .ws = "dhcp.ip.client",
		  .aliases = "ciaddr",
		  .bitoff = 96,
		  .bits = 32,
		  .type = UMPA_FT_IPV4,
		  .help = "client address (a client that has one)"},
    [F_YIADDR] = {.name = "ip.your",
		  .ws = "dhcp.ip.your",
		  .aliases = "yiaddr",
		  .bitoff = 128,
		  .bits = 32,
		  .type = UMPA_FT_IPV4,
		  .help = "your address: what the server offers or assigns"},
    [F_SIADDR] = {.name = "ip.server",
		  .ws = "dhcp.ip.server",
		  .aliases = "siaddr",
		  .bitoff = 160,
		  .bits = 32,
		  .type = UMPA_FT_IPV4,
		  .help = "next server address"},
    [F_GIADDR] = {.name = "ip.relay",
		  .ws = "dhcp.ip.relay",
		  .aliases = "giaddr",
		  .bitoff = 192,
		  .bits = 32,
		  .type = UMPA_FT_IPV4,
		  .help = "relay agent address"},
    [F_MAC] = {.name = "hw.mac_addr",
	       .ws = "dhcp.hw.mac_addr",
	       .aliases = "mac,chaddr_mac",
	       .bitoff = 224,
	       .bits = 48,
	       .type = UMPA_FT_MAC,
	       .help = "client hardware address (Ethernet: htype 1, hlen 6)"},
    [F_PADDING] = {.name = "hw.addr_padding",
		   .ws = "dhcp.hw.addr_padding",
		   .bitoff = 272,
		   .bits = 80,
		   .type = UMPA_FT_BYTES,
		   .help = "the 10 bytes of chaddr after an Ethernet address"},
    [F_CHADDR] = {.name = "chaddr",
		  .ws = "dhcp.hw.addr",
		  .bitoff = 224,
		  .bits = 128,
		  .type = UMPA_FT_BYTES,
		  .flags = UMPA_F_HIDDEN,
		  .help = "the whole 16-byte client hardware address field"},
    [F_SNAME] = {.name = "server",
		 .ws = "dhcp.server",
		 .aliases = "sname",
		 .bitoff = 352,
		 .bits = 512,
		 .type = UMPA_FT_BYTES,
		 .flags = UMPA_F_HIDDEN,
		 .help = "server host name (64 bytes, hex; shown as text)"},
    [F_FILE] = {.name = "file",
		.ws = "dhcp.file",
		.bitoff = 864,
		.bits = 1024,
		.type = UMPA_FT_BYTES,
		.flags = UMPA_F_HIDDEN,
		.help = "boot file name (128 bytes, hex; shown as text)"},
    [F_COOKIE] = {.name = "cookie",
		  .ws = "dhcp.cookie",
		  .aliases = "magic",
		  .bitoff = 1888,
		  .bits = 32,
		  .type = UMPA_FT_IPV4,
		  .defp = dhcp_cookie,
		  .help = "magic cookie 99.130.83.99 (DHCP)"},
    [F_OPTIONS] = {.name = "options",
		   .ws = "dhcp.option",
		   .aliases = "opts",
		   .bitoff = 1920,
		   .type = UMPA_FT_VAR,
		   .help = "options: NAME=VALUE,... (message_type=offer,server_id=10.0.0.1,lease_time=3600,...)"},
};
UMPA_FIELDS_CHECK(dhcp_fields, F_COUNT);

/* ---------------------------------------------------------------- the options */

/** How an option's value is read and written. */
enum okind { OK_BYTES, OK_IPV4, OK_U8, OK_U16, OK_U32, OK_S32, OK_STR, OK_BOOL, OK_MSGTYPE, OK_REQLIST };

/** One known option: code, Wireshark's name after "dhcp.option.", extra names, value kind. */
struct dopt {
	uint8_t code;
	uint8_t kind;
	const char *ws;
	const char *alias;
};

static const struct dopt dopts[] = {
    {1, OK_IPV4, "subnet_mask", "netmask"},
    {2, OK_S32, "time_offset", NULL},
    {3, OK_IPV4, "router", "gateway"},
    {4, OK_IPV4, "time_server", NULL},
    {5, OK_IPV4, "name_server", NULL},
    {6, OK_IPV4, "domain_name_server", "dns"},
    {7, OK_IPV4, "log_server", NULL},
    {9, OK_IPV4, "lpr_server", NULL},
    {12, OK_STR, "hostname", "host_name"},
    {13, OK_U16, "boot_file_size", NULL},
    {15, OK_STR, "domain_name", "domain"},
    {16, OK_IPV4, "swap_server", NULL},
    {17, OK_STR, "root_path", NULL},
    {19, OK_BOOL, "ip_forwarding", NULL},
    {23, OK_U8, "default_ip_ttl", NULL},
    {26, OK_U16, "interface_mtu", "mtu"},
    {28, OK_IPV4, "broadcast_address", "broadcast"},
    {35, OK_U32, "arp_cache_timeout", NULL},
    {37, OK_U8, "tcp_default_ttl", NULL},
    {40, OK_STR, "nis_domain", NULL},
    {41, OK_IPV4, "nis_server", NULL},
    {42, OK_IPV4, "ntp_server", "ntp"},
    {44, OK_IPV4, "netbios_over_tcpip_name_server", "netbios_name_server"},
    {46, OK_U8, "netbios_over_tcpip_node_type", NULL},
    {50, OK_IPV4, "requested_ip_address", "requested_addr"},
    {51, OK_U32, "ip_address_lease_time", "lease_time"},
    {52, OK_U8, "option_overload", NULL},
    {53, OK_MSGTYPE, "dhcp", "message_type"},
    {54, OK_IPV4, "dhcp_server_id", "server_id"},
    {55, OK_REQLIST, "request_list_item", "param_req_list"},
    {56, OK_STR, "message", NULL},
    {57, OK_U16, "dhcp_max_message_size", "max_dhcp_size"},
    {58, OK_U32, "renewal_time_value", "renewal_time"},
    {59, OK_U32, "rebinding_time_value", "rebinding_time"},
    {60, OK_STR, "vendor_class_id", "vendor_class"},
    {61, OK_BYTES, "client_id", "client_identifier"},
    {66, OK_STR, "tftp_server_name", "tftp_server"},
    {67, OK_STR, "bootfile_name", "bootfile"},
    {69, OK_IPV4, "smtp_server", NULL},
    {70, OK_IPV4, "pop3_server", NULL},
    {118, OK_IPV4, "subnet_selection_option", NULL},
    {150, OK_IPV4, "tftp_server_address", NULL},
};

static const struct dopt *dopt_by_code(unsigned code)
{
	for (size_t i = 0; i < sizeof dopts / sizeof dopts[0]; i++)
		if (dopts[i].code == code)
			return &dopts[i];
	return NULL;
}

static const struct dopt *dopt_by_name(struct umpa_span name)
{
	for (size_t i = 0; i < sizeof dopts / sizeof dopts[0]; i++)
		if (umpa_span_is(name, dopts[i].ws) || (dopts[i].alias && umpa_span_is(name, dopts[i].alias)))
			return &dopts[i];
	return NULL;
}

/* The option name nearest to unknown @p name ("did you mean"), in @p buf, or NULL. */
static const char *dopt_near(struct umpa_span name, char *buf, size_t size)
{
	char want[UMPA_NEAR_MAX + 1];
	struct umpa_near n;

	if (umpa_span_cstr(name, want, sizeof want) < 0)
		return NULL;
	umpa_near_init(&n, want);
	umpa_near_str(&n, "pad");
	umpa_near_str(&n, "end");
	for (size_t i = 0; i < sizeof dopts / sizeof dopts[0]; i++) {
		umpa_near_str(&n, dopts[i].ws);
		umpa_near_str(&n, dopts[i].alias);
	}
	return umpa_near_best(&n, buf, size);
}

/* Append the value @v of an option of kind @kind to @b (at most @max bytes).  Returns the length or -1. */
static long dopt_value(unsigned kind, struct umpa_span v, uint8_t *b, size_t max)
{
	struct umpa_span part;
	uint64_t n;
	size_t len = 0;
	char tmp[64];

	switch (kind) {
	case OK_IPV4:
		while (umpa_spec_part(&v, &part)) {
			if (len + 4 > max || umpa_span_cstr(part, tmp, sizeof tmp) < 0 ||
			    inet_pton(AF_INET, tmp, b + len) != 1)
				return -1;
			len += 4;
		}
		return len ? (long)len : -1;
	case OK_U8:
	case OK_BOOL:
		return umpa_spec_num(v, 0xff, &n) < 0 || max < 1 ? -1 : (b[0] = (uint8_t)n, 1);
	case OK_U16:
		if (umpa_spec_num(v, 0xffff, &n) < 0 || max < 2)
			return -1;
		b[0] = (uint8_t)(n >> 8);
		b[1] = (uint8_t)n;
		return 2;
	case OK_U32:
	case OK_S32:
		if (umpa_spec_num(v, 0xffffffffu, &n) < 0 || max < 4)
			return -1;
		for (int i = 0; i < 4; i++)
			b[i] = (uint8_t)(n >> (24 - 8 * i));
		return 4;
	case OK_MSGTYPE:
		if (max < 1)
			return -1;
		if (umpa_span_cstr(v, tmp, sizeof tmp) == 0 && umpa_vname_value(msgtype_names, tmp, &n) == 0) {
			b[0] = (uint8_t)n;
			return 1;
		}
		return umpa_spec_num(v, 0xff, &n) < 0 ? -1 : (b[0] = (uint8_t)n, 1);
	case OK_REQLIST:
		while (umpa_spec_part(&v, &part)) {
			const struct dopt *d = dopt_by_name(part);
			if (len + 1 > max)
				return -1;
			if (d)
				n = d->code;
			else if (umpa_spec_num(part, 0xff, &n) < 0)
				return -1;
			b[len++] = (uint8_t)n;
		}
		return (long)len;
	case OK_STR:
		if (v.n > max)
			return -1;
		memcpy(b, v.s, v.n);
		return (long)v.n;
	default:
		return umpa_spec_hex(v, b, max);
	}
}

static int dhcp_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	uint8_t b[DHCP_OPTS_MAX];
	size_t n = 0;
	int ended = 0;
	struct umpa_span s = umpa_span_of(spec), ks, vs;
	int hasval;

	(void)f;
	if (p->l[li].hlen < DHCP_HLEN)
		return umpa_err_set(e, UMPA_EINVAL, "dhcp: header too short for options");
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		const struct dopt *d = dopt_by_name(ks);
		uint64_t code;
		long vl;

		if (umpa_span_is(ks, "pad") || umpa_span_is(ks, "end")) {
			if (n + 1 > sizeof b)
				goto toolong;
			b[n++] = umpa_span_is(ks, "pad") ? OPT_PAD : OPT_END;
			ended |= b[n - 1] == OPT_END;
			continue;
		}
		size_t room = sizeof b - n - 2 > 255 ? 255 : sizeof b - n - 2;

		if (d)
			code = d->code;
		else if (umpa_spec_num(ks, 254, &code) < 0 || code == 0) {
			char near[UMPA_NEAR_MAX + 1];
			const char *best = dopt_near(ks, near, sizeof near);
			return umpa_err_set(e, UMPA_EINVAL,
					    "dhcp.option: unknown option '%.*s' (" UMPA_NEAR_FMT
					    "a Wireshark dhcp.option.* name, or a code 1..254 with hex bytes)",
					    (int)ks.n, ks.s, UMPA_NEAR_ARGS(best));
		}
		if (!hasval)
			return umpa_err_set(e, UMPA_EINVAL, "dhcp.option: '%.*s' needs a value (%.*s=...)", (int)ks.n,
					    ks.s, (int)ks.n, ks.s);
		if (n + 2 > sizeof b)
			goto toolong;
		/* an option named takes its own value form, one given by number hex bytes */
		vl = dopt_value(d ? d->kind : OK_BYTES, vs, b + n + 2, room);
		if (vl < 0)
			return umpa_err_set(e, UMPA_EINVAL, "dhcp.option: bad value '%.*s' for %.*s", (int)vs.n, vs.s,
					    (int)ks.n, ks.s);
		b[n] = (uint8_t)code;
		b[n + 1] = (uint8_t)vl;
		n += 2 + (size_t)vl;
	}
	if (!ended) {
		if (n + 1 > sizeof b)
			goto toolong;
		b[n++] = OPT_END;
	}
	return umpa_pkt_splice(p, li, DHCP_HLEN, p->l[li].hlen - DHCP_HLEN, b, (uint32_t)n, e);
toolong:
	return umpa_err_set(e, UMPA_ERANGE, "dhcp.option: more than %d bytes of options", DHCP_OPTS_MAX);
}

/* ---------------------------------------------------------------- dissecting */

/* The end of the options (after End, or the last whole option) from @at in @c; -1 when one runs past. */
static long dhcp_opts_end(struct umpa_cur *c, size_t at)
{
	while (at < c->len) {
		uint8_t code, len;
		if (umpa_cur_u8_at(c, at, &code) < 0)
			return -1;
		if (code == OPT_END)
			return (long)(at + 1);
		if (code == OPT_PAD) {
			at++;
			continue;
		}
		if (umpa_cur_u8_at(c, at + 1, &len) < 0 || !umpa_cur_has(c, at + 2, len))
			return -1;
		at += 2u + len;
	}
	return (long)at;
}

/* The MAC view of chaddr (hw.mac_addr and its padding) exists when hlen is 6 and htype 1 (Ethernet) or 6 (IEEE
 * 802), as in Wireshark;
 * otherwise the details show dhcp.hw.addr. */
static long dhcp_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	struct umpa_cur c;
	uint8_t htype = 0, hlen = 0;

	if (f != &dhcp_fields[F_MAC] && f != &dhcp_fields[F_PADDING])
		return f->bitoff;
	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 1, &htype);
	umpa_cur_u8_at(&c, 2, &hlen);
	return (htype == 1 || htype == 6) && hlen == 6 ? (long)f->bitoff : -1;
}

static const struct umpa_proto *dhcp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint32_t cookie;
	long end;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be32_at(&c, DHCP_FIXED, &cookie) < 0 || cookie != DHCP_COOKIE) {
		l->hlen =
		    DHCP_HLEN; /* plain BOOTP: the vendor area stays in the header, shown as the cookie and bytes */
		return NULL;
	}
	end = dhcp_opts_end(&c, DHCP_HLEN);
	if (end < 0) {
		l->hlen = l->len;
		umpa_layer_short(p, li, "option past the end");
		return NULL;
	}
	l->hlen = l->len; /* options, end and padding: the whole message */
	return NULL;
}

/* Emit the text of @n bytes at @at of @c up to its first NUL (at most 255 bytes shown). */
static void emit_text(struct umpa_emit *em, const char *key, struct umpa_cur *c, size_t at, size_t n)
{
	umpa_emit_text_(em, key, c, at, n, 255);
}

/* Emit the value of option @d (@len bytes at @at of @c) under its Wireshark name. */
static void emit_value(struct umpa_emit *em, const struct dopt *d, struct umpa_cur *c, size_t at, unsigned len)
{
	char key[80];
	const uint8_t *a;
	uint8_t b;
	uint16_t v16;
	uint32_t v32;

	snprintf(key, sizeof key, "dhcp.option.%s", d->ws);
	switch (d->kind) {
	case OK_IPV4:
		for (unsigned i = 0; i + 4 <= len && umpa_cur_ptr_at(c, at + i, 4, &a) == 0; i += 4)
			umpa_emit_ipv4(em, key, a);
		return;
	case OK_U8:
	case OK_BOOL:
	case OK_MSGTYPE:
		if (len != 1 || umpa_cur_u8_at(c, at, &b) < 0)
			return;
		if (d->kind == OK_BOOL)
			umpa_emit_bool(em, key, b != 0);
		else
			umpa_emit_u64(em, key, b, d->kind == OK_MSGTYPE ? umpa_vname_find(msgtype_names, b) : NULL);
		return;
	case OK_REQLIST:
		for (unsigned i = 0; i < len && umpa_cur_u8_at(c, at + i, &b) == 0; i++)
			umpa_emit_u64(em, key, b, NULL);
		return;
	case OK_U16:
		if (len == 2 && umpa_cur_be16_at(c, at, &v16) == 0)
			umpa_emit_u64(em, key, v16, NULL);
		return;
	case OK_U32:
		if (len == 4 && umpa_cur_be32_at(c, at, &v32) == 0)
			umpa_emit_u64(em, key, v32, NULL);
		return;
	case OK_S32:
		if (len == 4 && umpa_cur_be32_at(c, at, &v32) == 0) {
			char t[16];
			snprintf(t, sizeof t, "%d", (int32_t)v32);
			em->field(em, key, t, UMPA_V_NUM, NULL);
		}
		return;
	case OK_STR:
		emit_text(em, key, c, at, len);
		return;
	default:
		return; /* the value's bytes are shown as dhcp.option.value */
	}
}

static void dhcp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *d;
	uint32_t cookie;
	size_t at = DHCP_HLEN;

	umpa_layer_cur(p, li, &c);
	/* no MAC view: the whole chaddr field, as Wireshark shows it */
	if (dhcp_locate(p, li, &dhcp_fields[F_MAC]) < 0 && umpa_cur_ptr_at(&c, 28, 16, &d) == 0)
		umpa_emit_bytes(em, "dhcp.hw.addr", d, 16);
	emit_text(em, "dhcp.server", &c, 44, 64);
	emit_text(em, "dhcp.file", &c, 108, 128);
	if (umpa_cur_be32_at(&c, DHCP_FIXED, &cookie) < 0 || cookie != DHCP_COOKIE)
		return;
	while (at < l->hlen) {
		uint8_t code, len;
		const struct dopt *o;
		if (umpa_cur_u8_at(&c, at, &code) < 0)
			break;
		if (code == OPT_END) {
			umpa_emit_open(em, "dhcp.option", NULL);
			umpa_emit_u64(em, "dhcp.option.end", OPT_END, NULL);
			umpa_emit_close(em);
			at++;
			if (at < l->hlen && umpa_cur_ptr_at(&c, at, l->hlen - at, &d) == 0)
				umpa_emit_bytes(em, "dhcp.option.padding", d, l->hlen - at);
			return;
		}
		if (code == OPT_PAD) {
			size_t k = at;
			uint8_t b = 0;
			while (k < l->hlen && umpa_cur_u8_at(&c, k, &b) == 0 && b == OPT_PAD)
				k++;
			if (umpa_cur_ptr_at(&c, at, k - at, &d) == 0)
				umpa_emit_bytes(em, "dhcp.option.padding", d, k - at);
			at = k;
			continue;
		}
		if (umpa_cur_u8_at(&c, at + 1, &len) < 0 || umpa_cur_ptr_at(&c, at + 2, len, &d) < 0)
			break;
		o = dopt_by_code(code);
		umpa_emit_open(em, "dhcp.option", NULL);
		umpa_emit_u64(em, "dhcp.option.type", code, o ? o->ws : NULL);
		umpa_emit_u64(em, "dhcp.option.length", len, NULL);
		if (len)
			umpa_emit_bytes(em, "dhcp.option.value", d, len);
		if (o)
			emit_value(em, o, &c, at + 2, len);
		umpa_emit_close(em);
		at += 2u + len;
	}
}

static void dhcp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t op, htype, hlen;
	const uint8_t *mac;

	umpa_layer_cur(p, li, &c);
	umpa_sbuf_puts(out, "BOOTP/DHCP, ");
	if (umpa_cur_u8_at(&c, 0, &op) < 0 || umpa_cur_u8_at(&c, 1, &htype) < 0 || umpa_cur_u8_at(&c, 2, &hlen) < 0)
		return;
	if (op == 1) {
		umpa_sbuf_puts(out, "Request");
		if (htype == 1 && hlen == 6 && umpa_cur_ptr_at(&c, 28, 6, &mac) == 0) {
			umpa_sbuf_puts(out, " from ");
			umpa_sbuf_put_mac(out, mac);
		}
	} else if (op == 2) {
		umpa_sbuf_puts(out, "Reply");
	} else {
		umpa_sbuf_printf(out, "op-#%u", op);
	}
	umpa_sbuf_printf(out, ", length %u", p->l[li].len);
}

const struct umpa_proto umpa_proto_dhcp = {
    .name = "dhcp",
    .aliases = "bootp",
    .title = "Dynamic Host Configuration Protocol",
    .fields = dhcp_fields,
    .nfields = F_COUNT,
    .hdr_len = DHCP_HLEN,
    .dissect = dhcp_dissect,
    .set_var = dhcp_set_var,
    .details = dhcp_details,
    .summary = dhcp_summary,
    .locate = dhcp_locate,
};
