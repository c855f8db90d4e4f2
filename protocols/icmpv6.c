/* icmpv6.c - Internet Control Message Protocol for IPv6 (RFC 4443; neighbour discovery RFC 4861; MLD RFC 2710).
 *
 * Header: type, code, checksum, then a body that depends on the type:
 *   1 dest-unreach, 3 time-exceeded: 4 unused bytes, then the quoted packet;
 *   2 packet-too-big: MTU;  4 param-problem: pointer (then the quoted packet);
 *   128/129 echo: identifier, sequence number, then data;
 *   130-132 MLDv1: maximum response delay, reserved, multicast address;
 *   133 rs: reserved;  134 ra: cur hop limit, flags M/O/H/Prf/P, router
 *   lifetime, reachable time, retrans timer;  135 ns: reserved, target;
 *   136 na: flags R/S/O, target;  137 redirect: reserved, target,
 *   destination;  the neighbour discovery messages (133-137) end with
 *   options.
 * Every body field is in the table (with Wireshark's names, hidden: they
 * overlap), so `icmpv6{type=ns, tgt=fe80::1}` and p.icmpv6.tgt work; the
 * `details` hook shows only those of the message's type.
 *
 * Header length: 8 bytes for echo (the data follows as a raw layer) and for
 * errors (the quoted packet follows); for every other type the whole
 * message (neighbour discovery options, MLDv2 records, unknown bodies are
 * part of it).  A fresh layer is Scapy's ICMPv6EchoRequest() (8
 * bytes).  finish grows a fresh layer (options not set) to the body its type
 * needs, with Scapy's defaults (na: R and O set; ra: Prf high, router
 * lifetime 1800), and computes the checksum over the IPv6 pseudo-header
 * (next header 58, length = the ICMPv6 layer's window) unless it was set.
 *
 * Neighbour discovery options (the VAR field "options", Wireshark
 * icmpv6.opt) are written from a text spec: items separated by ',', each
 *     slla=MAC        source link-layer address (type 1)
 *     tlla=MAC        target link-layer address (type 2)
 *     prefix=ADDR/LEN[:FLAGS:VALID:PREFERRED]
 *                     prefix information (type 3); FLAGS defaults to 0xc0
 *                     (on-link, autonomous), lifetimes to 0xffffffff
 *     mtu=N           MTU (type 5)
 *     N=hex           any type N with these data bytes, zero-padded to a
 *                     multiple of 8 (length computed)
 *     raw=hex         bytes written as they are (to write a lying option)
 * e.g. "slla=00:11:22:33:44:55,mtu=1500".  Lengths are in 8-octet units.
 * Setting options first grows the body to what the type needs (so set the
 * type before the options).  An empty spec removes the options.
 *
 * Dissecting: a message shorter than its type's body is a short layer
 * (truncated or invalid; normal inside a quotation).  Options are walked
 * with bounds checks: one with length 0 is INVALID and ends the walk (it
 * would loop forever otherwise); one that runs past the message is short.
 * The checksum is verified when the whole message is there (not quoted) and
 * the result recorded as UMPA_L_BADSUM.  Errors (types 1-4) set
 * UMPA_L_QUOTES and hand the rest to IPv6: the quoted packet follows as
 * layers marked UMPA_L_QUOTED.
 *
 * Summary (tcpdump -nn): "ICMP6, echo request, id 1, seq 2, length 64",
 * "ICMP6, neighbor solicitation, who has fe80::1, length 32", ...  An error
 * names what it quotes; the quoted packet's own summary follows after "; "
 * (printed by the quoted IPv6 layer, as ip.c does for IPv4).
 *
 * Matching (Scapy): an echo reply answers the request with the same id and
 * sequence number; an NA answers the NS for its target; an RA answers an RS;
 * an MLD report answers a query; an error answers the packet it quotes.
 * hashret: id and sequence for echo, the target for ns/na, a constant for
 * rs/ra, and for an error the hash of the quoted packet.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "icmp_ext.h"
#include "ipv6_opts.h"
#include "umpa_near.h"
#include "proto_common.h"
#include "umpa_inet.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum {
	ICMP6_HLEN = 8,
	ICMP6_PROTO = 58,
	ICMP6_CSUM_OFF = 2,
	T_UNREACH = 1,
	T_TOOBIG = 2,
	T_TIMEX = 3,
	T_PARAM = 4,
	T_ECHO_REQ = 128,
	T_ECHO_REP = 129,
	T_MLD_QUERY = 130,
	T_MLD_REPORT = 131,
	T_MLD_DONE = 132,
	T_RS = 133,
	T_RA = 134,
	T_NS = 135,
	T_NA = 136,
	T_REDIRECT = 137,
	T_MLD2_REPORT = 143,
	OPT_SLLA = 1,
	OPT_TLLA = 2,
	OPT_PREFIX = 3,
	OPT_REDIR = 4,
	OPT_MTU = 5,
	OPT_NONCE = 14,
	OPTS_MAX = 4096,
};

static const struct umpa_vname icmpv6_type_names[] = {
    {1, "dest-unreach"},
    {2, "packet-too-big"},
    {3, "time-exceeded"},
    {4, "param-problem"},
    {128, "echo-request"},
    {129, "echo-reply"},
    {130, "mld-query"},
    {131, "mld-report"},
    {132, "mld-done"},
    {133, "rs"},
    {134, "ra"},
    {135, "ns"},
    {136, "na"},
    {137, "redirect"},
    {138, "router-renumbering"},
    {139, "ni-query"},
    {140, "ni-reply"},
    {141, "ind-solicit"},
    {142, "ind-advert"},
    {143, "mld2-report"},
    {144, "haad-request"},
    {145, "haad-reply"},
    {146, "mpd-solicit"},
    {147, "mpd-advert"},
    {151, "mrd-advert"},
    {152, "mrd-solicit"},
    {153, "mrd-term"},
    {155, "rpl"},
    {160, "ext-echo-request"},
    {161, "ext-echo-reply"},
    /* more spellings accepted when parsing */
    {1, "destination-unreachable"},
    {1, "unreach"},
    {2, "too-big"},
    {4, "parameter-problem"},
    {133, "router-solicitation"},
    {134, "router-advertisement"},
    {135, "neighbor-solicitation"},
    {136, "neighbor-advertisement"},
    {0, NULL},
};

/* tcpdump's words for each type (print-icmp6.c). */
static const struct umpa_vname icmpv6_type_text[] = {
    {1, "destination unreachable"},
    {2, "packet too big"},
    {3, "time exceeded"},
    {4, "parameter problem"},
    {128, "echo request"},
    {129, "echo reply"},
    {130, "multicast listener query"},
    {131, "multicast listener report"},
    {132, "multicast listener done"},
    {133, "router solicitation"},
    {134, "router advertisement"},
    {135, "neighbor solicitation"},
    {136, "neighbor advertisement"},
    {137, "redirect"},
    {138, "router renumbering"},
    {139, "who-are-you request"},
    {140, "who-are-you reply"},
    {141, "inverse neighbor solicitation"},
    {142, "inverse neighbor advertisement"},
    {143, "multicast listener report v2"},
    {144, "ha discovery request"},
    {145, "ha discovery reply"},
    {146, "mobile router solicitation"},
    {147, "mobile router advertisement"},
    {155, "RPL"},
    {160, "extended echo request"},
    {161, "extended echo reply"},
    {0, NULL},
};

static const struct umpa_vname prf_names[] = {
    {0, "Medium"}, {1, "High"}, {2, "Reserved"}, {3, "Low"}, {0, NULL},
};

static const struct umpa_vname opt_names[] = {
    {1, "Source link-layer address"},
    {2, "Target link-layer address"},
    {3, "Prefix information"},
    {4, "Redirected header"},
    {5, "MTU"},
    {6, "NBMA Shortcut Limit Option"},
    {7, "Advertisement Interval"},
    {8, "Home Agent Information"},
    {14, "Nonce"},
    {24, "Route Information"},
    {25, "Recursive DNS Server"},
    {31, "DNS Search List Option"},
    {38, "PREF64 Option"},
    {0, NULL},
};

#define HID UMPA_F_HIDDEN

/* Field indexes: the order of icmpv6_fields. */
enum {
	F_TYPE,
	F_CODE,
	F_CSUM,
	F_ID,
	F_SEQ,
	F_MTU,
	F_PTR,
	F_RES,
	F_CHLIM,
	F_RAFLAG,
	F_RA_M,
	F_RA_O,
	F_RA_H,
	F_RA_PRF,
	F_RA_P,
	F_RLIFE,
	F_REACH,
	F_RETRANS,
	F_NS_TGT,
	F_NAFLAG,
	F_NA_R,
	F_NA_S,
	F_NA_O,
	F_NA_TGT,
	F_RD_TGT,
	F_RD_DST,
	F_MLD_MRD,
	F_MLD_ADDR,
	F_OPTIONS,
	/* MLDv2 (RFC 9777): a query's tail and its sources, a report's records */
	F_MLD_S,
	F_MLD_QRV,
	F_MLD_QQI,
	F_MLD_NSRC,
	F_MLD_SRC,
	F_MLDR_NREC,
	F_MLDR_REC,
	F_COUNT
};

static const struct umpa_field icmpv6_fields[] = {
    [F_TYPE] = {.name = "type",
		.ws = "icmpv6.type",
		.bitoff = 0,
		.bits = 8,
		.type = UMPA_FT_ENUM,
		.def = T_ECHO_REQ,
		.names = icmpv6_type_names,
		.help = "message type (echo-request, ns, na, rs, ra, dest-unreach...)"},
    [F_CODE] = {.name = "code",
		.ws = "icmpv6.code",
		.bitoff = 8,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.help = "message code (meaning depends on the type)"},
    [F_CSUM] = {.name = "checksum",
		.ws = "icmpv6.checksum",
		.aliases = "chksum,cksum",
		.bitoff = 16,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.help = "checksum over the IPv6 pseudo-header and the message (automatic)"},
    [F_ID] = {.name = "echo.identifier",
	      .ws = "icmpv6.echo.identifier",
	      .aliases = "id",
	      .bitoff = 32,
	      .bits = 16,
	      .type = UMPA_FT_UINT,
	      .flags = UMPA_F_HEX | HID,
	      .help = "echo: identifier"},
    [F_SEQ] = {.name = "echo.sequence_number",
	       .ws = "icmpv6.echo.sequence_number",
	       .aliases = "seq",
	       .bitoff = 48,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .flags = HID,
	       .help = "echo: sequence number"},
    [F_MTU] = {.name = "mtu",
	       .ws = "icmpv6.mtu",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .flags = HID,
	       .help = "packet-too-big: MTU of the next hop"},
    [F_PTR] = {.name = "pointer",
	       .ws = "icmpv6.pointer",
	       .aliases = "ptr",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .flags = HID,
	       .help = "param-problem: offset of the error in the quoted packet"},
    [F_RES] = {.name = "reserved",
	       .ws = "icmpv6.reserved",
	       .aliases = "res,unused",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_BYTES,
	       .flags = HID,
	       .help = "unused/reserved bytes (errors, rs, ns, redirect)"},
    [F_CHLIM] = {.name = "nd.ra.cur_hop_limit",
		 .ws = "icmpv6.nd.ra.cur_hop_limit",
		 .aliases = "chlim",
		 .bitoff = 32,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .flags = HID,
		 .help = "ra: hop limit hosts should use"},
    [F_RAFLAG] = {.name = "nd.ra.flag",
		  .ws = "icmpv6.nd.ra.flag",
		  .bitoff = 40,
		  .bits = 8,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_HEX | HID,
		  .help = "ra: flags (M 0x80, O 0x40, H 0x20, Prf 0x18, P 0x04)"},
    [F_RA_M] = {.name = "nd.ra.flag.m",
		.ws = "icmpv6.nd.ra.flag.m",
		.aliases = "managed",
		.bitoff = 40,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "ra: managed address configuration"},
    [F_RA_O] = {.name = "nd.ra.flag.o",
		.ws = "icmpv6.nd.ra.flag.o",
		.aliases = "other",
		.bitoff = 41,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "ra: other configuration"},
    [F_RA_H] = {.name = "nd.ra.flag.h",
		.ws = "icmpv6.nd.ra.flag.h",
		.aliases = "home_agent",
		.bitoff = 42,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "ra: home agent"},
    [F_RA_PRF] = {.name = "nd.ra.flag.prf",
		  .ws = "icmpv6.nd.ra.flag.prf",
		  .aliases = "prf",
		  .bitoff = 43,
		  .bits = 2,
		  .type = UMPA_FT_ENUM,
		  .flags = HID,
		  .names = prf_names,
		  .help = "ra: default router preference"},
    [F_RA_P] = {.name = "nd.ra.flag.p",
		.ws = "icmpv6.nd.ra.flag.p",
		.aliases = "proxy",
		.bitoff = 45,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "ra: proxy"},
    [F_RLIFE] = {.name = "nd.ra.router_lifetime",
		 .ws = "icmpv6.nd.ra.router_lifetime",
		 .aliases = "routerlifetime",
		 .bitoff = 48,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .flags = HID,
		 .help = "ra: router lifetime (s)"},
    [F_REACH] = {.name = "nd.ra.reachable_time",
		 .ws = "icmpv6.nd.ra.reachable_time",
		 .aliases = "reachabletime",
		 .bitoff = 64,
		 .bits = 32,
		 .type = UMPA_FT_UINT,
		 .flags = HID,
		 .help = "ra: reachable time (ms)"},
    [F_RETRANS] = {.name = "nd.ra.retrans_timer",
		   .ws = "icmpv6.nd.ra.retrans_timer",
		   .aliases = "retranstimer",
		   .bitoff = 96,
		   .bits = 32,
		   .type = UMPA_FT_UINT,
		   .flags = HID,
		   .help = "ra: retransmission timer (ms)"},
    [F_NS_TGT] = {.name = "nd.ns.target_address",
		  .ws = "icmpv6.nd.ns.target_address",
		  .aliases = "tgt,target",
		  .bitoff = 64,
		  .bits = 128,
		  .type = UMPA_FT_IPV6,
		  .flags = HID,
		  .help = "ns: target address"},
    [F_NAFLAG] = {.name = "nd.na.flag",
		  .ws = "icmpv6.nd.na.flag",
		  .bitoff = 32,
		  .bits = 32,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_HEX | HID,
		  .help = "na: flags (R 0x80000000, S 0x40000000, O 0x20000000)"},
    [F_NA_R] = {.name = "nd.na.flag.r",
		.ws = "icmpv6.nd.na.flag.r",
		.aliases = "router",
		.bitoff = 32,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "na: sender is a router"},
    [F_NA_S] = {.name = "nd.na.flag.s",
		.ws = "icmpv6.nd.na.flag.s",
		.aliases = "solicited",
		.bitoff = 33,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "na: solicited"},
    [F_NA_O] = {.name = "nd.na.flag.o",
		.ws = "icmpv6.nd.na.flag.o",
		.aliases = "override",
		.bitoff = 34,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.flags = HID,
		.help = "na: override"},
    [F_NA_TGT] = {.name = "nd.na.target_address",
		  .ws = "icmpv6.nd.na.target_address",
		  .bitoff = 64,
		  .bits = 128,
		  .type = UMPA_FT_IPV6,
		  .flags = HID,
		  .help = "na: target address"},
    [F_RD_TGT] = {.name = "nd.rd.target_address",
		  .ws = "icmpv6.nd.rd.target_address",
		  .bitoff = 64,
		  .bits = 128,
		  .type = UMPA_FT_IPV6,
		  .flags = HID,
		  .help = "redirect: better first hop"},
    [F_RD_DST] = {.name = "rd.na.destination_address",
		  .ws = "icmpv6.rd.na.destination_address",
		  .aliases = "dst",
		  .bitoff = 192,
		  .bits = 128,
		  .type = UMPA_FT_IPV6,
		  .flags = HID,
		  .help = "redirect: destination"},
    [F_MLD_MRD] = {.name = "mld.maximum_response_delay",
		   .ws = "icmpv6.mld.maximum_response_delay",
		   .aliases = "mrd",
		   .bitoff = 32,
		   .bits = 16,
		   .type = UMPA_FT_UINT,
		   .flags = HID,
		   .help = "mld: maximum response delay (ms)"},
    [F_MLD_ADDR] = {.name = "mld.multicast_address",
		    .ws = "icmpv6.mld.multicast_address",
		    .aliases = "mladdr",
		    .bitoff = 64,
		    .bits = 128,
		    .type = UMPA_FT_IPV6,
		    .flags = HID,
		    .help = "mld: multicast address"},
    [F_OPTIONS] = {.name = "options",
		   .ws = "icmpv6.opt",
		   .aliases = "opt,opts",
		   .bitoff = 0,
		   .bits = 0,
		   .type = UMPA_FT_VAR,
		   .help =
		       "neighbour discovery options: slla=MAC, tlla=MAC, prefix=ADDR/LEN[:FLAGS:VALID:PREF], mtu=N, "
		       "N=hex, raw=hex"},
    [F_MLD_S] = {.name = "mld.flag.s",
		 .ws = "icmpv6.mld.flag.s",
		 .aliases = "s,suppress",
		 .bitoff = 196,
		 .bits = 1,
		 .type = UMPA_FT_BOOL,
		 .flags = HID,
		 .help = "mldv2 query: suppress router-side processing (makes the query version 2)"},
    [F_MLD_QRV] = {.name = "mld.flag.qrv",
		   .ws = "icmpv6.mld.flag.qrv",
		   .aliases = "qrv",
		   .bitoff = 197,
		   .bits = 3,
		   .type = UMPA_FT_UINT,
		   .flags = HID,
		   .help = "mldv2 query: querier's robustness variable (makes the query version 2)"},
    [F_MLD_QQI] = {.name = "mld.qqi",
		   .ws = "icmpv6.mld.qqi",
		   .aliases = "qqic",
		   .bitoff = 200,
		   .bits = 8,
		   .type = UMPA_FT_UINT,
		   .flags = HID,
		   .help = "mldv2 query: querier's query interval code (makes the query version 2)"},
    [F_MLD_NSRC] = {.name = "mld.nb_sources",
		    .ws = "icmpv6.mld.nb_sources",
		    .bitoff = 208,
		    .bits = 16,
		    .type = UMPA_FT_UINT,
		    .flags = HID | UMPA_F_AUTO,
		    .help = "mldv2 query: number of sources (automatic)"},
    [F_MLD_SRC] = {.name = "mld.source_address",
		   .ws = "icmpv6.mld.source_address",
		   .aliases = "sources",
		   .bitoff = 224,
		   .type = UMPA_FT_VAR,
		   .help = "mldv2 query: source addresses ADDR/ADDR/... (makes the query version 2)"},
    [F_MLDR_NREC] = {.name = "mldr.nb_mcast_records",
		     .ws = "icmpv6.mldr.nb_mcast_records",
		     .bitoff = 48,
		     .bits = 16,
		     .type = UMPA_FT_UINT,
		     .flags = HID | UMPA_F_AUTO,
		     .help = "mldv2 report: number of multicast address records (automatic)"},
    [F_MLDR_REC] = {.name = "mldr.mar",
		    .ws = "icmpv6.mldr.mar",
		    .aliases = "records",
		    .bitoff = 64,
		    .type = UMPA_FT_VAR,
		    .help = "mldv2 report: MODE/GROUP[/SOURCE...],... (MODE is_in, is_ex, to_in, to_ex, allow, "
			    "block or 1..6; makes the message type 143)"},
};
UMPA_FIELDS_CHECK(icmpv6_fields, F_COUNT);

static int is_nd(unsigned t)
{
	return t >= T_RS && t <= T_REDIRECT;
}

static int is_error(unsigned t)
{
	return t >= T_UNREACH && t <= T_PARAM;
}

/* Bytes of the fixed body of a message of type @t (header included). */
static uint32_t body_len(unsigned t)
{
	switch (t) {
	case T_MLD_QUERY:
	case T_MLD_REPORT:
	case T_MLD_DONE:
	case T_NS:
	case T_NA:
		return 24;
	case T_RA:
		return 16;
	case T_REDIRECT:
		return 40;
	default:
		return ICMP6_HLEN;
	}
}

/* ---- dissecting ---- */

static void icmpv6_verify(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	uint32_t sum;

	if (l->flags & (UMPA_L_TRUNCATED | UMPA_L_QUOTED) || (l->off + l->len == p->len && p->wirelen > p->len))
		return; /* not all there */
	if (umpa_inet_pseudo_sum(p, li, ICMP6_PROTO, l->len, &sum) < 0)
		return;
	sum = umpa_csum_add(sum, p->data + l->off, l->len);
	if (umpa_csum_fold(sum) != 0)
		l->flags |= UMPA_L_BADSUM;
}

static const struct umpa_proto *icmpv6_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint8_t type;
	uint32_t body;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &type) < 0)
		return NULL;
	body = body_len(type);
	if (body > l->len) {
		if (l->flags & UMPA_L_QUOTED) {
			l->hlen = l->len; /* a quotation may be cut anywhere */
		} else {
			l->hlen = body;
			umpa_layer_short(p, li, "message shorter than its type's body");
		}
		return NULL;
	}
	l->hlen = body;
	if (type == T_ECHO_REQ || type == T_ECHO_REP || is_error(type)) {
		/* data or the quoted packet follow as layers of their own */
	} else if (!is_nd(type)) {
		l->hlen = l->len; /* MLD records, unknown bodies: all part of the message */
	} else {
		uint32_t off = body;
		while (off < l->len) {
			uint8_t n;
			if (umpa_cur_u8_at(&c, off + 1, &n) < 0) {
				if (!(l->flags & UMPA_L_QUOTED))
					umpa_layer_short(p, li, "option cut short");
				break;
			}
			if (n == 0) {
				l->flags |= UMPA_L_INVALID;
				l->why = "option with length 0";
				break;
			}
			if ((uint32_t)n * 8 > l->len - off) {
				if (!(l->flags & UMPA_L_QUOTED))
					umpa_layer_short(p, li, "option runs past the message");
				break;
			}
			off += (uint32_t)n * 8;
		}
		l->hlen = l->len; /* the options are the rest of the message */
	}
	icmpv6_verify(p, li);
	if (is_error(type) && l->len > ICMP6_HLEN) {
		l->flags |= UMPA_L_QUOTES;
		/* RFC 4884: an extension structure after the quoted packet (its length in 64-bit words at byte
		 * 4 of a destination unreachable or time exceeded message); the quotation stops before it */
		if ((type == T_UNREACH || type == T_TIMEX) && !(l->flags & UMPA_L_QUOTED)) {
			uint8_t words = 0;
			uint32_t ext;
			umpa_cur_u8_at(&c, 4, &words);
			ext = umpa_icmp_ext_at_(&c, ICMP6_HLEN, 8u * words, l->len, 0);
			if (ext) {
				l->aux = ext;
				l->plen = ext - ICMP6_HLEN;
			}
		}
		return &umpa_proto_ipv6;
	}
	return NULL;
}

/* ---- building ---- */

static unsigned get_type(const struct umpa_pkt *p, unsigned li)
{
	uint64_t t = 0;

	umpa_field_get_u64(p, li, &icmpv6_fields[F_TYPE], &t);
	return (unsigned)t;
}

/* Grow the header of layer @li to the body of type @t, with Scapy's
 * defaults in the new bytes.  Nothing happens when it is long enough. */
static int grow_body(struct umpa_pkt *p, unsigned li, unsigned t, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint32_t body = body_len(t), old = l->hlen;
	uint8_t *h;
	int rc;

	if (old >= body)
		return 0;
	if ((rc = umpa_pkt_splice(p, li, old, 0, NULL, body - old, e)) < 0)
		return rc;
	h = p->data + p->l[li].off;
	/* bytes 4-7 exist in every message: Scapy's values only when the user
	 * wrote nothing there (no body field overlapping them is set) */
	if (old != ICMP6_HLEN || h[4] | h[5] | h[6] | h[7])
		return 0;
	for (unsigned i = F_ID; i < F_OPTIONS; i++) {
		const struct umpa_field *f = &icmpv6_fields[i];
		if (f->bitoff < 64 && umpa_field_is_set(p, li, f))
			return 0;
	}
	if (t == T_NA) {
		h[4] = 0xa0; /* R and O */
	} else if (t == T_RA) {
		h[5] = 0x08;      /* Prf high */
		h[6] = 1800 >> 8; /* router lifetime 1800 s */
		h[7] = 1800 & 0xff;
	}
	return 0;
}

static void mld2_counts(struct umpa_pkt *p, unsigned li);

static int icmpv6_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	uint16_t ck;
	int ok, rc;

	if (!umpa_field_is_set(p, li, &icmpv6_fields[F_OPTIONS]) && (rc = grow_body(p, li, get_type(p, li), e)) < 0)
		return rc;
	mld2_counts(p, li);
	if (umpa_field_is_set(p, li, &icmpv6_fields[F_CSUM]))
		return 0;
	ck = umpa_inet_csum(p, li, ICMP6_CSUM_OFF, 1, ICMP6_PROTO, &ok);
	if (ok)
		umpa_field_auto_u64(p, li, &icmpv6_fields[F_CSUM], ck);
	return 0;
}

/* Append an option of type @t with @dn data bytes, zero-padded to a multiple of 8. */
static int put_opt(uint8_t *b, size_t *n, uint8_t t, const uint8_t *d, size_t dn)
{
	size_t total = (2 + dn + 7) / 8 * 8;

	if (total / 8 > 255 || *n + total > OPTS_MAX)
		return -1;
	b[*n] = t;
	b[*n + 1] = (uint8_t)(total / 8);
	memset(b + *n + 2, 0, total - 2);
	if (dn)
		memcpy(b + *n + 2, d, dn);
	*n += total;
	return 0;
}

/* prefix=ADDR/LEN[:FLAGS:VALID:PREFERRED] into the 30 data bytes of option 3. */
static int parse_prefix(const char *val, uint8_t d[30])
{
	char addr[64];
	struct umpa_span head, list, part;
	uint64_t v[4] = {0, 0xc0, 0xffffffffu, 0xffffffffu};
	const uint64_t max[4] = {128, 255, 0xffffffffu, 0xffffffffu};
	int i;

	if (!umpa_span_cut(umpa_span_of(val), "/", &head, &list) || list.n == 0 ||
	    umpa_span_cstr(head, addr, sizeof(addr)) < 0)
		return -1;
	memset(d, 0, 30);
	if (inet_pton(AF_INET6, addr, d + 14) != 1)
		return -1;
	for (i = 0; umpa_spec_part(&list, &part); i++)
		if (i >= 4 || umpa_spec_num(part, max[i], &v[i]) < 0)
			return -1; /* more parts than four, or not a number */
	d[0] = (uint8_t)v[0];
	d[1] = (uint8_t)v[1];
	umpa_put_be32_(d + 2, (uint32_t)v[2]);
	umpa_put_be32_(d + 6, (uint32_t)v[3]);
	return 0;
}

/* ---- MLDv2 ---- */

enum { MLD2_QLEN = 28, MLD2_MAX_SOURCES = 64 };

static const struct umpa_vname mld_rec_names[] = {
    {1, "is_in"}, {2, "is_ex"}, {3, "to_in"}, {4, "to_ex"}, {5, "allow"}, {6, "block"}, {0, NULL},
};

/* The MLDv2 fields are where the message is one: a query of 28 bytes or more, a type 143 report. */
static long icmpv6_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	struct umpa_cur c;
	uint8_t t = 0;

	umpa_layer_cur(p, li, &c); /* not get_type: reading a field asks this hook */
	umpa_cur_u8_at(&c, 0, &t);

	switch (f - icmpv6_fields) {
	case F_MLD_S:
	case F_MLD_QRV:
	case F_MLD_QQI:
	case F_MLD_NSRC:
	case F_MLD_SRC:
		return t == T_MLD_QUERY && p->l[li].hlen >= MLD2_QLEN ? (long)f->bitoff : -1;
	case F_MLDR_NREC:
	case F_MLDR_REC:
		return t == T_MLD2_REPORT ? (long)f->bitoff : -1;
	}
	return f->bitoff;
}

/* Building: an MLDv2 query field makes the query 28 bytes (a version 2 query); a type 130 message only. */
static int mld2_query_room(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	int rc;

	if (get_type(p, li) != T_MLD_QUERY && !umpa_field_is_set(p, li, &icmpv6_fields[F_TYPE]))
		umpa_field_auto_u64(p, li, &icmpv6_fields[F_TYPE], T_MLD_QUERY); /* they make a query */
	if (get_type(p, li) != T_MLD_QUERY)
		return umpa_err_set(e, UMPA_EINVAL, "icmpv6: MLDv2 query fields belong to type 130 (mld-query)");
	if ((rc = grow_body(p, li, T_MLD_QUERY, e)) < 0)
		return rc;
	if (p->l[li].hlen < MLD2_QLEN)
		return umpa_pkt_splice(p, li, p->l[li].hlen, 0, NULL, MLD2_QLEN - p->l[li].hlen, e);
	return 0;
}

static int icmpv6_place(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	if (f == &icmpv6_fields[F_MLDR_NREC])
		return umpa_err_set(e, UMPA_EINVAL, "%s belongs to type 143 (mld2-report)", f->ws);
	return mld2_query_room(p, li, e);
}

/* Parse an IPv6 address from @a into @out: 0 or -1. */
static int span_ipv6(struct umpa_span a, uint8_t out[16])
{
	char tmp[64];

	return umpa_span_cstr(umpa_span_trim(a), tmp, sizeof tmp) == 0 && inet_pton(AF_INET6, tmp, out) == 1 ? 0 : -1;
}

/* sources="ADDR/ADDR..." of an MLDv2 query, records="MODE/GROUP[/SOURCE...],..." of an MLDv2 report. */
static int mld2_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	uint8_t b[OPTS_MAX];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), item, head, rest;
	int rc;

	if (f == &icmpv6_fields[F_MLD_SRC]) {
		if ((rc = mld2_query_room(p, li, e)) < 0)
			return rc;
		rest = umpa_span_trim(s);
		while (rest.n) {
			int more = umpa_span_cut(rest, "/,", &head, &rest);
			if (n + 16 > MLD2_MAX_SOURCES * 16 || span_ipv6(head, b + n) < 0)
				return umpa_err_set(e, UMPA_EINVAL,
						    "icmpv6.mld.source_address: '%.*s' is not an IPv6 address (or more "
						    "than %d)",
						    (int)head.n, head.s, MLD2_MAX_SOURCES);
			n += 16;
			if (!more)
				break;
		}
		return umpa_pkt_splice(p, li, MLD2_QLEN, p->l[li].hlen - MLD2_QLEN, b, (uint32_t)n, e);
	}
	if (get_type(p, li) != T_MLD2_REPORT && !umpa_field_is_set(p, li, &icmpv6_fields[F_TYPE]))
		umpa_field_auto_u64(p, li, &icmpv6_fields[F_TYPE], T_MLD2_REPORT); /* records make a report */
	if (get_type(p, li) != T_MLD2_REPORT)
		return umpa_err_set(e, UMPA_EINVAL, "icmpv6.mldr.mar: records belong to type 143 (mld2-report)");
	while (umpa_spec_next(&s, &item)) {
		char tmp[32];
		uint64_t mode;
		size_t rec = n;
		unsigned ns = 0;
		int more = umpa_span_cut(item, "/", &head, &rest);

		if (n + 20 > sizeof b || umpa_span_cstr(umpa_span_trim(head), tmp, sizeof tmp) < 0 ||
		    (umpa_vname_value(mld_rec_names, tmp, &mode) < 0 && umpa_spec_num(head, 255, &mode) < 0))
			return umpa_err_set(e, UMPA_EINVAL, "icmpv6.mldr.mar: want MODE/GROUP[/SOURCE...], not '%.*s'",
					    (int)item.n, item.s);
		b[n] = (uint8_t)mode;
		b[n + 1] = 0;
		n += 4;
		if (!more)
			return umpa_err_set(e, UMPA_EINVAL, "icmpv6.mldr.mar: '%.*s' has no group address", (int)item.n,
					    item.s);
		more = umpa_span_cut(rest, "/", &head, &rest);
		if (span_ipv6(head, b + n) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "icmpv6.mldr.mar: '%.*s' is not an IPv6 address",
					    (int)head.n, head.s);
		n += 16;
		while (more) {
			more = umpa_span_cut(rest, "/", &head, &rest);
			if (n + 16 > sizeof b || span_ipv6(head, b + n) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "icmpv6.mldr.mar: '%.*s' is not an IPv6 address",
						    (int)head.n, head.s);
			n += 16;
			ns++;
		}
		b[rec + 2] = (uint8_t)(ns >> 8);
		b[rec + 3] = (uint8_t)ns;
	}
	return umpa_pkt_splice(p, li, ICMP6_HLEN, p->l[li].hlen - ICMP6_HLEN, b, (uint32_t)n, e);
}

/* finish: the MLDv2 counts. */
static void mld2_counts(struct umpa_pkt *p, unsigned li)
{
	const struct umpa_layer *l = &p->l[li];
	unsigned t = get_type(p, li), recs = 0;
	struct umpa_cur c;

	if (t == T_MLD_QUERY && l->hlen >= MLD2_QLEN)
		umpa_field_auto_u64(p, li, &icmpv6_fields[F_MLD_NSRC], (l->hlen - MLD2_QLEN) / 16);
	if (t != T_MLD2_REPORT)
		return;
	umpa_layer_cur(p, li, &c);
	for (size_t at = ICMP6_HLEN; at + 20 <= l->hlen; recs++) {
		uint8_t aux = 0;
		uint16_t ns = 0;
		umpa_cur_u8_at(&c, at + 1, &aux);
		umpa_cur_be16_at(&c, at + 2, &ns);
		at += 20u + 16u * ns + 4u * aux;
	}
	umpa_field_auto_u64(p, li, &icmpv6_fields[F_MLDR_NREC], recs);
}

static int nd_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
		      struct umpa_err *e);

static int icmpv6_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			  struct umpa_err *e)
{
	if (f == &icmpv6_fields[F_MLD_SRC] || f == &icmpv6_fields[F_MLDR_REC])
		return mld2_set_var(p, li, f, spec, e);
	return nd_set_var(p, li, f, spec, e);
}

/* Neighbour discovery options (the "options" field). */
static int nd_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec, struct umpa_err *e)
{
	unsigned t = get_type(p, li);
	uint8_t b[OPTS_MAX];
	char item[32], vbuf[OPTS_MAX * 2 + 32];
	size_t n = 0;
	struct umpa_span s = umpa_span_of(spec), ks, vs;
	uint32_t body;
	int rc, hasval;

	(void)f;
	if (!is_nd(t))
		return umpa_err_set(e, UMPA_EINVAL,
				    "icmpv6.opt: options belong to neighbour discovery messages (types 133-137; "
				    "this is type %u): set the type first",
				    t);
	while (umpa_spec_item(&s, &ks, &vs, &hasval)) {
		char *val = hasval ? vbuf : NULL;
		uint8_t d[OPTS_MAX];
		long dn = 0;
		uint64_t v;

		if (umpa_span_cstr(ks, item, sizeof(item)) < 0 || umpa_span_cstr(vs, vbuf, sizeof(vbuf)) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "icmpv6.opt: item too long in '%s'", spec);
		if (!strcmp(item, "slla") || !strcmp(item, "tlla")) {
			if (!val || (dn = umpa_spec_hex(umpa_span_of(val), d, 255 * 8 - 2)) <= 0)
				return umpa_err_set(e, UMPA_EINVAL, "icmpv6.opt: %s=%s: want a MAC address", item,
						    val ? val : "");
			rc = put_opt(b, &n, item[0] == 's' ? OPT_SLLA : OPT_TLLA, d, (size_t)dn);
		} else if (!strcmp(item, "mtu")) {
			if (!val || umpa_spec_num(umpa_span_of(val), 0xffffffffu, &v) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "icmpv6.opt: mtu=%s: want 0..4294967295",
						    val ? val : "");
			memset(d, 0, 2);
			umpa_put_be32_(d + 2, (uint32_t)v);
			rc = put_opt(b, &n, OPT_MTU, d, 6);
		} else if (!strcmp(item, "prefix")) {
			if (!val || parse_prefix(val, d) < 0)
				return umpa_err_set(e, UMPA_EINVAL,
						    "icmpv6.opt: prefix=%s: want ADDR/LEN[:FLAGS:VALID:PREFERRED]",
						    val ? val : "");
			rc = put_opt(b, &n, OPT_PREFIX, d, 30);
		} else if (!strcmp(item, "raw")) {
			if (!val || (dn = umpa_spec_hex(umpa_span_of(val), b + n, OPTS_MAX - n)) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "icmpv6.opt: raw=%s: want hex bytes",
						    val ? val : "");
			n += (size_t)dn;
			rc = 0;
		} else if (umpa_spec_num(umpa_span_of(item), 255, &v) == 0) {
			if (val && (dn = umpa_spec_hex(umpa_span_of(val), d, 255 * 8 - 2)) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "icmpv6.opt: %s=%s: want hex data", item, val);
			rc = put_opt(b, &n, (uint8_t)v, d, (size_t)dn);
		} else {
			char near[UMPA_NEAR_MAX + 1];
			const char *best =
			    umpa_near_in(item, strlen(item), "slla,tlla,mtu,prefix,raw", near, sizeof near);
			return umpa_err_set(e, UMPA_EINVAL,
					    "icmpv6.opt: unknown item '%s' (" UMPA_NEAR_FMT
					    "slla=MAC, tlla=MAC, prefix=ADDR/LEN, mtu=N, N=hex, raw=hex)",
					    item, UMPA_NEAR_ARGS(best));
		}
		if (rc < 0)
			return umpa_err_set(e, UMPA_ERANGE, "icmpv6.opt: options longer than %d bytes", OPTS_MAX);
	}
	if ((rc = grow_body(p, li, t, e)) < 0)
		return rc;
	body = body_len(t);
	return umpa_pkt_splice(p, li, body, p->l[li].hlen - body, b, (uint32_t)n, e);
}

/* ---- showing ---- */

/* One option: @p o spans it (type, length, data). */
static void emit_opt(struct umpa_emit *em, struct umpa_cur *o)
{
	uint8_t type = 0, len8 = 0, mac[6];
	const char *nm;
	char label[96];
	const uint8_t *d = NULL;
	uint32_t dn = (uint32_t)o->len - 2;

	umpa_cur_u8_at(o, 0, &type);
	umpa_cur_u8_at(o, 1, &len8);
	umpa_cur_ptr_at(o, 2, dn, &d);
	nm = umpa_vname_find(opt_names, type);
	if ((type == OPT_SLLA || type == OPT_TLLA) && umpa_cur_copy_at(o, 2, 6, mac) == 0)
		snprintf(label, sizeof(label), "ICMPv6 Option (%s : %02x:%02x:%02x:%02x:%02x:%02x)", nm, mac[0], mac[1],
			 mac[2], mac[3], mac[4], mac[5]);
	else if (nm)
		snprintf(label, sizeof(label), "ICMPv6 Option (%s)", nm);
	else
		snprintf(label, sizeof(label), "ICMPv6 Option (Unknown %u)", type);
	umpa_emit_open(em, "icmpv6.opt", label);
	umpa_emit_u64(em, "icmpv6.opt.type", type, nm);
	umpa_emit_u64(em, "icmpv6.opt.length", len8, NULL);
	switch (type) {
	case OPT_SLLA:
	case OPT_TLLA: {
		const char *k2 = type == OPT_SLLA ? "icmpv6.opt.src_linkaddr" : "icmpv6.opt.target_linkaddr";
		uint8_t pad = 0;
		uint32_t an = dn >= 6 && (dn < 8 || (umpa_cur_u8_at(o, 8, &pad) == 0 && pad == 0))
				  ? 6
				  : dn; /* Ethernet: 6 bytes, then padding */
		if (an == 6) {
			umpa_emit_mac(em, "icmpv6.opt.linkaddr", d);
			umpa_emit_mac(em, k2, d);
		} else {
			umpa_emit_bytes(em, "icmpv6.opt.linkaddr", d, an);
			umpa_emit_bytes(em, k2, d, an);
		}
		break;
	}
	case OPT_PREFIX: {
		uint8_t plen, flag;
		uint32_t valid, pref;
		if (dn < 30 || umpa_cur_u8_at(o, 2, &plen) < 0 || umpa_cur_u8_at(o, 3, &flag) < 0 ||
		    umpa_cur_be32_at(o, 4, &valid) < 0 || umpa_cur_be32_at(o, 8, &pref) < 0)
			goto raw;
		umpa_emit_u64(em, "icmpv6.opt.prefix.length", plen, NULL);
		umpa_emit_hex(em, "icmpv6.opt.prefix.flag", flag, 2);
		umpa_emit_bool(em, "icmpv6.opt.prefix.flag.l", flag >> 7 & 1);
		umpa_emit_bool(em, "icmpv6.opt.prefix.flag.a", flag >> 6 & 1);
		umpa_emit_bool(em, "icmpv6.opt.prefix.flag.r", flag >> 5 & 1);
		umpa_emit_u64(em, "icmpv6.opt.prefix.valid_lifetime", valid, NULL);
		umpa_emit_u64(em, "icmpv6.opt.prefix.preferred_lifetime", pref, NULL);
		umpa_emit_ipv6(em, "icmpv6.opt.prefix", d + 14);
		break;
	}
	case OPT_MTU: {
		uint32_t mtu;
		if (dn < 6 || umpa_cur_be32_at(o, 4, &mtu) < 0)
			goto raw;
		umpa_emit_u64(em, "icmpv6.opt.mtu", mtu, NULL);
		break;
	}
	case OPT_NONCE:
		umpa_emit_bytes(em, "icmpv6.nonce", d, dn);
		break;
	default:
	raw:
		if (dn)
			umpa_emit_bytes(em, "icmpv6.unknown_data", d, dn);
		break;
	}
	umpa_emit_close(em);
}

static void emit_ipv6_at(struct umpa_emit *em, struct umpa_cur *c, uint32_t off, const char *key)
{
	const uint8_t *a;

	if (umpa_cur_ptr_at(c, off, 16, &a) == 0)
		umpa_emit_ipv6(em, key, a);
}

static void icmpv6_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *a;
	uint8_t type, v8;
	uint16_t v16;
	uint32_t v32;

	umpa_layer_cur(p, li, &c);
	if ((type = 0, umpa_cur_u8_at(&c, 0, &type)) == 0 && is_error(type) && l->aux && l->aux < c.len) {
		struct umpa_cur x = c; /* the extension structure after the quoted packet (RFC 4884) */
		umpa_icmp_ext_emit_(em, &x, l->aux, (uint32_t)x.len);
	}
	if (l->hlen < c.len)
		c.len = l->hlen; /* the body as dissected; what follows is another layer */
	if (umpa_cur_u8_at(&c, 0, &type) < 0)
		return;
	switch (type) {
	case T_UNREACH:
	case T_TIMEX:
		if (umpa_cur_u8_at(&c, 4, &v8) == 0 && v8 && umpa_cur_ptr_at(&c, 5, 3, &a) == 0) {
			/* RFC 4884: the quoted packet's length in 64-bit words */
			umpa_emit_u64(em, "icmpv6.length", v8, NULL);
			umpa_emit_bytes(em, "icmpv6.reserved", a, 3);
			break;
		}
		/* fall through */
	case T_RS:
		if (umpa_cur_ptr_at(&c, 4, 4, &a) == 0)
			umpa_emit_bytes(em, "icmpv6.reserved", a, 4);
		break;
	case T_TOOBIG:
		if (umpa_cur_be32_at(&c, 4, &v32) == 0)
			umpa_emit_u64(em, "icmpv6.mtu", v32, NULL);
		break;
	case T_PARAM:
		if (umpa_cur_be32_at(&c, 4, &v32) == 0)
			umpa_emit_u64(em, "icmpv6.pointer", v32, NULL);
		break;
	case T_ECHO_REQ:
	case T_ECHO_REP:
		if (umpa_cur_be16_at(&c, 4, &v16) == 0)
			umpa_emit_hex(em, "icmpv6.echo.identifier", v16, 4);
		if (umpa_cur_be16_at(&c, 6, &v16) == 0)
			umpa_emit_u64(em, "icmpv6.echo.sequence_number", v16, NULL);
		break;
	case T_MLD_QUERY:
	case T_MLD_REPORT:
	case T_MLD_DONE:
		/* an MLDv2 query (28 bytes or more) has a maximum response code, as Wireshark names it */
		if (umpa_cur_be16_at(&c, 4, &v16) == 0)
			umpa_emit_u64(em,
				      type == T_MLD_QUERY && p->l[li].len >= 28 ? "icmpv6.mld.maximum_response_code"
										: "icmpv6.mld.maximum_response_delay",
				      v16, NULL);
		emit_ipv6_at(em, &c, 8, "icmpv6.mld.multicast_address");
		if (type == T_MLD_QUERY && umpa_cur_u8_at(&c, 24, &v8) == 0) { /* MLDv2 (RFC 9777) */
			umpa_emit_hex(em, "icmpv6.mld.flag", v8, 2);
			umpa_emit_bool(em, "icmpv6.mld.flag.s", v8 >> 3 & 1);
			umpa_emit_u64(em, "icmpv6.mld.flag.qrv", v8 & 7, NULL);
			umpa_emit_u64(em, "icmpv6.mld.flag.reserved", v8 >> 4, NULL);
			if (umpa_cur_u8_at(&c, 25, &v8) == 0)
				umpa_emit_u64(em, "icmpv6.mld.qqi", v8, NULL);
			if (umpa_cur_be16_at(&c, 26, &v16) == 0) {
				umpa_emit_u64(em, "icmpv6.mld.nb_sources", v16, NULL);
				for (uint32_t i = 0; i < v16 && umpa_cur_ptr_at(&c, 28 + 16 * i, 16, &a) == 0; i++)
					umpa_emit_ipv6(em, "icmpv6.mld.source_address", a);
			}
		}
		break;
	case T_MLD2_REPORT:
		if (umpa_cur_be16_at(&c, 6, &v16) == 0) {
			uint32_t off = 8;
			umpa_emit_u64(em, "icmpv6.mldr.nb_mcast_records", v16, NULL);
			for (uint32_t r = 0; r < v16; r++) {
				uint8_t rtype, aux;
				uint16_t ns;
				if (umpa_cur_u8_at(&c, off, &rtype) < 0 || umpa_cur_u8_at(&c, off + 1, &aux) < 0 ||
				    umpa_cur_be16_at(&c, off + 2, &ns) < 0 || umpa_cur_ptr_at(&c, off + 4, 16, &a) < 0)
					break;
				umpa_emit_open(em, "icmpv6.mldr.mar", "Multicast Address Record");
				umpa_emit_u64(em, "icmpv6.mldr.mar.record_type", rtype, NULL);
				umpa_emit_u64(em, "icmpv6.mldr.mar.aux_data_len", aux, NULL);
				umpa_emit_u64(em, "icmpv6.mldr.mar.nb_sources", ns, NULL);
				umpa_emit_ipv6(em, "icmpv6.mldr.mar.multicast_address", a);
				off += 20;
				for (uint32_t i = 0; i < ns && umpa_cur_ptr_at(&c, off, 16, &a) == 0; i++, off += 16)
					umpa_emit_ipv6(em, "icmpv6.mldr.mar.source_address", a);
				umpa_emit_close(em);
				off += 4u * aux;
			}
		}
		break;
	case T_RA:
		if (umpa_cur_u8_at(&c, 4, &v8) == 0)
			umpa_emit_u64(em, "icmpv6.nd.ra.cur_hop_limit", v8, NULL);
		if (umpa_cur_u8_at(&c, 5, &v8) == 0) {
			umpa_emit_hex(em, "icmpv6.nd.ra.flag", v8, 2);
			umpa_emit_bool(em, "icmpv6.nd.ra.flag.m", v8 >> 7 & 1);
			umpa_emit_bool(em, "icmpv6.nd.ra.flag.o", v8 >> 6 & 1);
			umpa_emit_bool(em, "icmpv6.nd.ra.flag.h", v8 >> 5 & 1);
			umpa_emit_u64(em, "icmpv6.nd.ra.flag.prf", v8 >> 3 & 3,
				      umpa_vname_find(prf_names, v8 >> 3 & 3));
			umpa_emit_bool(em, "icmpv6.nd.ra.flag.p", v8 >> 2 & 1);
		}
		if (umpa_cur_be16_at(&c, 6, &v16) == 0)
			umpa_emit_u64(em, "icmpv6.nd.ra.router_lifetime", v16, NULL);
		if (umpa_cur_be32_at(&c, 8, &v32) == 0)
			umpa_emit_u64(em, "icmpv6.nd.ra.reachable_time", v32, NULL);
		if (umpa_cur_be32_at(&c, 12, &v32) == 0)
			umpa_emit_u64(em, "icmpv6.nd.ra.retrans_timer", v32, NULL);
		break;
	case T_NS:
		if (umpa_cur_ptr_at(&c, 4, 4, &a) == 0)
			umpa_emit_bytes(em, "icmpv6.reserved", a, 4);
		emit_ipv6_at(em, &c, 8, "icmpv6.nd.ns.target_address");
		break;
	case T_NA:
		if (umpa_cur_be32_at(&c, 4, &v32) == 0) {
			umpa_emit_hex(em, "icmpv6.nd.na.flag", v32, 8);
			umpa_emit_bool(em, "icmpv6.nd.na.flag.r", v32 >> 31 & 1);
			umpa_emit_bool(em, "icmpv6.nd.na.flag.s", v32 >> 30 & 1);
			umpa_emit_bool(em, "icmpv6.nd.na.flag.o", v32 >> 29 & 1);
		}
		emit_ipv6_at(em, &c, 8, "icmpv6.nd.na.target_address");
		break;
	case T_REDIRECT:
		if (umpa_cur_ptr_at(&c, 4, 4, &a) == 0)
			umpa_emit_bytes(em, "icmpv6.reserved", a, 4);
		emit_ipv6_at(em, &c, 8, "icmpv6.nd.rd.target_address");
		emit_ipv6_at(em, &c, 24, "icmpv6.rd.na.destination_address");
		break;
	default:
		if (c.len > 4 && umpa_cur_ptr_at(&c, 4, c.len - 4, &a) == 0)
			umpa_emit_bytes(em, "icmpv6.data", a, c.len - 4);
		break;
	}
	if (is_nd(type)) {
		uint32_t off = body_len(type);
		uint8_t n8;
		while (umpa_cur_u8_at(&c, off + 1, &n8) == 0) {
			uint32_t n = (uint32_t)n8 * 8;
			if (n == 0) {
				umpa_emit_str(em, "icmpv6.invalid_option_length", "option with length 0");
				break;
			}
			struct umpa_cur oc;
			if (umpa_cur_sub(&c, off, n, &oc) < 0) {
				umpa_emit_str(em, "icmpv6.invalid_option_length", "option runs past the message");
				break;
			}
			emit_opt(em, &oc);
			off += n;
		}
	}
}

/* The address at byte @off of the quoted IPv6 layer after the error @li. */
static const uint8_t *quoted_addr(const struct umpa_pkt *p, unsigned li, uint32_t off)
{
	struct umpa_cur c;
	const uint8_t *a;

	if (li + 1 >= p->nlayers || p->l[li + 1].proto != &umpa_proto_ipv6)
		return NULL;
	umpa_layer_cur(p, li + 1, &c);
	if (umpa_cur_ptr_at(&c, off, 16, &a) < 0)
		return NULL;
	return a;
}

/* tcpdump's words for the error @type/@code (print-icmp6.c). */
static void error_text(const struct umpa_pkt *p, unsigned li, unsigned type, unsigned code, uint32_t arg,
		       struct umpa_sbuf *out)
{
	const uint8_t *src = quoted_addr(p, li, 8), *dst = quoted_addr(p, li, 24);

	switch (type) {
	case T_UNREACH:
		switch (code) {
		case 0:
			umpa_sbuf_puts(out, ", unreachable route");
			break;
		case 1:
			umpa_sbuf_puts(out, ", unreachable prohibited");
			break;
		case 2:
			umpa_sbuf_puts(out, ", beyond scope");
			break;
		case 3:
			umpa_sbuf_puts(out, ", unreachable address");
			break;
		case 4: {
			int ui = li + 1 < p->nlayers ? umpa_ipv6_upper_(p, li + 1) : -1;
			uint64_t dport;
			umpa_sbuf_puts(out, ", unreachable port");
			if (dst) {
				umpa_sbuf_puts(out, ", ");
				umpa_sbuf_put_ipv6(out, dst);
			}
			if (ui >= 0 && p->l[ui].proto->pflags & UMPA_PF_PORTS && p->l[ui].proto->nfields >= 2 &&
			    umpa_field_get_u64(p, (unsigned)ui, &p->l[ui].proto->fields[1], &dport) == 0) {
				umpa_sbuf_putc(out, ' ');
				umpa_sbuf_puts(out, p->l[ui].proto->name);
				umpa_sbuf_puts(out, " port ");
				umpa_sbuf_put_u64(out, dport);
			}
			return;
		}
		default:
			umpa_sbuf_puts(out, ", unknown unreach code (");
			umpa_sbuf_put_u64(out, code);
			umpa_sbuf_putc(out, ')');
			return;
		}
		if (dst) {
			umpa_sbuf_putc(out, ' ');
			umpa_sbuf_put_ipv6(out, dst);
		}
		if (code == 2 && src) {
			umpa_sbuf_puts(out, ", source address ");
			umpa_sbuf_put_ipv6(out, src);
		}
		return;
	case T_TOOBIG:
		umpa_sbuf_puts(out, ", mtu ");
		umpa_sbuf_put_u64(out, arg);
		return;
	case T_TIMEX:
		if (code == 0) {
			umpa_sbuf_puts(out, " in-transit");
			if (dst) {
				umpa_sbuf_puts(out, " for ");
				umpa_sbuf_put_ipv6(out, dst);
			}
		} else if (code == 1) {
			umpa_sbuf_puts(out, " in-transit (reassembly)");
		} else {
			umpa_sbuf_puts(out, ", unknown code (");
			umpa_sbuf_put_u64(out, code);
			umpa_sbuf_putc(out, ')');
		}
		return;
	case T_PARAM: {
		static const char *const what[] = {", erroneous - octet ", ", next header - octet ",
						   ", option - octet ", ", incomplete header chain - octet "};
		if (code < 4) {
			umpa_sbuf_puts(out, what[code]);
		} else {
			umpa_sbuf_puts(out, ", code-#");
			umpa_sbuf_put_u64(out, code);
			umpa_sbuf_puts(out, " - octet ");
		}
		umpa_sbuf_put_u64(out, arg);
		return;
	}
	default:
		return;
	}
}

static void icmpv6_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint8_t type, code;
	uint16_t v16;
	uint32_t v32 = 0;
	const uint8_t *a;
	const char *text;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &type) < 0 || umpa_cur_u8_at(&c, 1, &code) < 0) {
		umpa_sbuf_puts(out, "ICMP6 [|icmp6]");
		return;
	}
	if (l->len < ICMP6_HLEN && !(l->flags & UMPA_L_TRUNCATED)) {
		umpa_sbuf_puts(out, "ICMP6, length ");
		umpa_sbuf_put_u64(out, l->len);
		umpa_sbuf_puts(out, " (invalid)");
		return;
	}
	umpa_sbuf_puts(out, "ICMP6, ");
	text = umpa_vname_find(icmpv6_type_text, type);
	if (text) {
		umpa_sbuf_puts(out, text);
	} else {
		umpa_sbuf_puts(out, "unknown icmp6 type (");
		umpa_sbuf_put_u64(out, type);
		umpa_sbuf_putc(out, ')');
	}
	switch (type) {
	case T_ECHO_REQ:
	case T_ECHO_REP:
		if (umpa_cur_be16_at(&c, 4, &v16) == 0) {
			umpa_sbuf_puts(out, ", id ");
			umpa_sbuf_put_u64(out, v16);
		}
		if (umpa_cur_be16_at(&c, 6, &v16) == 0) {
			umpa_sbuf_puts(out, ", seq ");
			umpa_sbuf_put_u64(out, v16);
		}
		break;
	case T_NS:
		if (umpa_cur_ptr_at(&c, 8, 16, &a) == 0) {
			umpa_sbuf_puts(out, ", who has ");
			umpa_sbuf_put_ipv6(out, a);
		}
		break;
	case T_NA:
		if (umpa_cur_ptr_at(&c, 8, 16, &a) == 0) {
			umpa_sbuf_puts(out, ", tgt is ");
			umpa_sbuf_put_ipv6(out, a);
		}
		break;
	case T_REDIRECT:
		if (umpa_cur_ptr_at(&c, 24, 16, &a) == 0) {
			umpa_sbuf_puts(out, ", ");
			umpa_sbuf_put_ipv6(out, a);
			if (umpa_cur_ptr_at(&c, 8, 16, &a) == 0) {
				umpa_sbuf_puts(out, " to ");
				umpa_sbuf_put_ipv6(out, a);
			}
		}
		break;
	case T_MLD_QUERY:
	case T_MLD_REPORT:
	case T_MLD_DONE:
		if (type == T_MLD_QUERY && p->l[li].len >= 28 && umpa_cur_ptr_at(&c, 8, 16, &a) == 0 &&
		    umpa_cur_be16_at(&c, 26, &v16) == 0) {
			/* tcpdump's MLDv2 query (RFC 9777): version, group and the number of sources */
			umpa_sbuf_puts(out, " v2 [gaddr ");
			umpa_sbuf_put_ipv6(out, a);
			if (v16 && 28u + 16u * v16 > p->l[li].len)
				umpa_sbuf_puts(out, " [invalid number of sources]");
			else if (v16)
				umpa_sbuf_printf(out, ", %u source(s)", v16);
			umpa_sbuf_putc(out, ']');
		} else if (umpa_cur_ptr_at(&c, 8, 16, &a) == 0) {
			umpa_sbuf_puts(out, " [gaddr ");
			umpa_sbuf_put_ipv6(out, a);
			umpa_sbuf_putc(out, ']');
		}
		break;
	case T_MLD2_REPORT:
		if (umpa_cur_be16_at(&c, 6, &v16) == 0) {
			umpa_sbuf_puts(out, ", ");
			umpa_sbuf_put_u64(out, v16);
			umpa_sbuf_puts(out, " group record(s)");
		}
		break;
	default:
		if (is_error(type)) {
			umpa_cur_be32_at(&c, 4, &v32);
			error_text(p, li, type, code, v32, out);
		}
		break;
	}
	umpa_sbuf_puts(out, ", length ");
	umpa_sbuf_put_u64(out, l->len);
}

/* ---- matching ---- */

static uint32_t icmpv6_hashret(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t type;
	uint32_t v;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &type) < 0)
		return 0;
	switch (type) {
	case T_ECHO_REQ:
	case T_ECHO_REP:
		return umpa_cur_be32_at(&c, 4, &v) == 0 ? v : 0;
	case T_NS:
	case T_NA: {
		uint32_t w[4];
		if (umpa_cur_be32_at(&c, 8, &w[0]) < 0 || umpa_cur_be32_at(&c, 12, &w[1]) < 0 ||
		    umpa_cur_be32_at(&c, 16, &w[2]) < 0 || umpa_cur_be32_at(&c, 20, &w[3]) < 0)
			return T_NS;
		return w[0] ^ w[1] ^ w[2] ^ w[3];
	}
	case T_RS:
	case T_RA:
		return T_RS;
	case T_MLD_QUERY:
	case T_MLD_REPORT:
	case T_MLD2_REPORT:
		return T_MLD_QUERY;
	default:
		if (is_error(type) && li + 1 < p->nlayers && p->l[li + 1].proto == &umpa_proto_ipv6 &&
		    umpa_proto_ipv6.hashret)
			return umpa_proto_ipv6.hashret(p, li + 1);
		return type;
	}
}

static int icmpv6_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli,
			  char *why, size_t whylen)
{
	struct umpa_cur rc, qc;
	uint8_t rt, qt;
	const uint8_t *ra, *qa;
	uint32_t rv, qv;

	umpa_layer_cur(resp, rli, &rc);
	umpa_layer_cur(req, qli, &qc);
	if (umpa_cur_u8_at(&rc, 0, &rt) < 0)
		return umpa_why_(why, whylen, "icmpv6 header missing");
	if (is_error(rt)) {
		/* the quoted copy of the request's layer must start like it */
		const struct umpa_proto *want = req->l[qli].proto;
		for (unsigned i = rli + 1; i < resp->nlayers; i++) {
			uint32_t n;
			if (resp->l[i].proto != want)
				continue;
			n = resp->l[i].len < req->l[qli].len ? resp->l[i].len : req->l[qli].len;
			if (n > 8)
				n = 8;
			if (n == 0 || memcmp(resp->data + resp->l[i].off, req->data + req->l[qli].off, n) != 0)
				return umpa_why_(why, whylen, "icmpv6 error quotes another packet");
			return 1;
		}
		return umpa_why_(why, whylen, "icmpv6 error does not quote that protocol");
	}
	if (req->l[qli].proto != &umpa_proto_icmpv6 || umpa_cur_u8_at(&qc, 0, &qt) < 0)
		return umpa_why_(why, whylen, "request is not icmpv6");
	switch (rt) {
	case T_ECHO_REP:
		if (qt != T_ECHO_REQ)
			return umpa_why_(why, whylen, "icmpv6 echo reply to a non-echo request");
		if (umpa_cur_be32_at(&rc, 4, &rv) < 0 || umpa_cur_be32_at(&qc, 4, &qv) < 0 || rv != qv)
			return umpa_why_(why, whylen, "icmpv6 echo id/seq differ");
		return 1;
	case T_NA:
		if (qt != T_NS)
			return umpa_why_(why, whylen, "icmpv6 na to a non-ns request");
		if (umpa_cur_ptr_at(&rc, 8, 16, &ra) < 0 || umpa_cur_ptr_at(&qc, 8, 16, &qa) < 0 ||
		    memcmp(ra, qa, 16) != 0)
			return umpa_why_(why, whylen, "icmpv6 na for another target");
		return 1;
	case T_RA:
		return qt == T_RS ? 1 : umpa_why_(why, whylen, "icmpv6 ra to a non-rs request");
	case T_MLD_REPORT:
	case T_MLD2_REPORT:
		return qt == T_MLD_QUERY ? 1 : umpa_why_(why, whylen, "icmpv6 mld report to a non-query");
	default:
		return umpa_why_(why, whylen, "icmpv6 type is not a reply");
	}
}

const struct umpa_proto umpa_proto_icmpv6 = {
    .name = "icmpv6",
    .aliases = "icmp6,ICMPv6",
    .title = "Internet Control Message Protocol v6",
    .fields = icmpv6_fields,
    .nfields = F_COUNT,
    .hdr_len = ICMP6_HLEN,
    .dissect = icmpv6_dissect,
    .finish = icmpv6_finish,
    .set_var = icmpv6_set_var,
    .details = icmpv6_details,
    .locate = icmpv6_locate,
    .place = icmpv6_place,
    .summary = icmpv6_summary,
    .hashret = icmpv6_hashret,
    .answers = icmpv6_answers,
};
