/* tcp.c - Transmission Control Protocol (RFC 9293; window scale and timestamps RFC 7323, SACK RFC 2018).
 *
 * Header: ports, sequence and acknowledgement numbers, data offset, 12 flag
 * bits (3 reserved, AE (AccECN, formerly NS of RFC 3540), CWR, ECE, URG, ACK,
 * PSH, RST, SYN, FIN), window, checksum, urgent pointer, then options up to
 * the data offset.
 *
 * Field names follow Wireshark, with two notes for comparing with tshark:
 *  - tcp.seq / tcp.ack are the raw wire values.  tshark shows relative
 *    numbers under those names by default; run it with
 *    `-o tcp.relative_sequence_numbers:FALSE` (or compare with
 *    tcp.seq_raw / tcp.ack_raw, which are always raw).
 *  - tcp.hdr_len is in bytes, as Wireshark's (the field's scale: the wire
 *    holds 32-bit words); Scapy's dataofs, a hidden view of the same bits,
 *    is the wire value.
 *
 * Options (the VAR field "options", Wireshark tcp.options) are written from a
 * text spec: items separated by ',', each one of
 *     mss=N           maximum segment size (kind 2)
 *     wscale=N        window scale shift (kind 3)
 *     sackok          SACK permitted (kind 4)
 *     sack=L-R:L-R    SACK blocks, 1 to 4 (kind 5)
 *     ts=VAL:ECR      timestamps (kind 8; ECR may be omitted: 0)
 *     nop             no-operation (kind 1)
 *     eol             end of option list (kind 0)
 *     N=hex           any kind N with these data bytes ("N" alone: no data;
 *                     N = 0 or 1 are single bytes and take no data)
 * e.g. "mss=1460,sackok,ts=100:0,nop,wscale=7".  Numbers are decimal or 0x
 * hex.  The list is padded to a multiple of 4 bytes with zeros (EOL), as
 * Scapy does (tshark reads them as EOL options, no warning); at most 40
 * bytes.  An empty spec removes the options.
 *
 * Dissecting: a data offset below 5 is invalid; one beyond the window is a
 * short layer.  Options are walked with bounds checks: one whose length is
 * below 2 or runs past the data offset flags the layer INVALID ("tcp option
 * overruns header") and parsing stops there; EOL ends the list (the rest is
 * padding).  The payload goes to the protocol bound to the destination,
 * then the source port (DNS over TCP only with at least 14 bytes: its 2-byte
 * length prefix plus a DNS header; the DNS dissector handles the prefix).
 *
 * Matching (Scapy's TCP.answers): ports swapped; a SYN without ACK answers
 * nothing; a SYN+ACK answers only a SYN; nothing answers a RST; the reply's
 * ack must lie between the request's seq and seq + its length (SYN and FIN
 * count 1), and the reply's seq within 2 of the request's ack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "umpa_inet.h"
#include "umpa_near.h"
#include "proto_common.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum { TCP_HLEN = 20, TCP_CSUM_OFF = 16, TCP_PROTO = 6, TCP_MAXOPT = 40 };

#define TH_FIN 0x001u
#define TH_SYN 0x002u
#define TH_RST 0x004u
#define TH_PUSH 0x008u
#define TH_ACK 0x010u
#define TH_URG 0x020u
#define TH_ECE 0x040u
#define TH_CWR 0x080u
#define TH_AE 0x100u

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WSCALE = 3,
	OPT_SACKOK = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
};

static const struct umpa_vname tcp_flag_names[] = {
    {TH_FIN, "fin"}, {TH_SYN, "syn"}, {TH_RST, "reset"}, {TH_PUSH, "push"}, {TH_ACK, "ack"},
    {TH_URG, "urg"}, {TH_ECE, "ece"}, {TH_CWR, "cwr"},   {TH_AE, "ae"},     {0, NULL},
};

/* Field indexes: the order of tcp_fields. */
enum {
	F_SPORT,
	F_DPORT,
	F_SEQ,
	F_ACK,
	F_HLEN,
	F_FLAGS,
	F_RES,
	F_AE,
	F_CWR,
	F_ECE,
	F_URG,
	F_ACKF,
	F_PUSH,
	F_RESET,
	F_SYN,
	F_FIN,
	F_WIN,
	F_CSUM,
	F_URP,
	F_OPTS,
	F_DATAOFS,
	F_COUNT
};

static const struct umpa_field tcp_fields[] = {
    [F_SPORT] = {.name = "srcport",
		 .ws = "tcp.srcport",
		 .aliases = "sport",
		 .bitoff = 0,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .def = 20,
		 .help = "source port"},
    [F_DPORT] = {.name = "dstport",
		 .ws = "tcp.dstport",
		 .aliases = "dport",
		 .bitoff = 16,
		 .bits = 16,
		 .type = UMPA_FT_UINT,
		 .def = 80,
		 .help = "destination port"},
    [F_SEQ] = {.name = "seq",
	       .ws = "tcp.seq",
	       .bitoff = 32,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .help = "sequence number (raw; tshark: -o tcp.relative_sequence_numbers:FALSE or tcp.seq_raw)"},
    [F_ACK] = {.name = "ack",
	       .ws = "tcp.ack",
	       .bitoff = 64,
	       .bits = 32,
	       .type = UMPA_FT_UINT,
	       .help = "acknowledgement number (raw; tshark: tcp.ack_raw)"},
    [F_HLEN] = {.name = "hdr_len",
		.ws = "tcp.hdr_len",
		.bitoff = 96,
		.bits = 4,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO,
		.scale = 4,
		.def = TCP_HLEN,
		.help = "header length in bytes, a multiple of 4 (automatic; as Wireshark; dataofs: in words)"},
    [F_FLAGS] = {.name = "flags",
		 .ws = "tcp.flags",
		 .bitoff = 100,
		 .bits = 12,
		 .type = UMPA_FT_FLAGS,
		 .flags = UMPA_F_HEX,
		 .def = TH_SYN,
		 .names = tcp_flag_names,
		 .letters = "FSRPAUECN",
		 .help = "flags: letters FSRPAUECN (N = AE) or names fin|syn|reset|push|ack|urg|ece|cwr|ae"},
    [F_RES] = {.name = "flags.res",
	       .ws = "tcp.flags.res",
	       .aliases = "reserved",
	       .bitoff = 100,
	       .bits = 3,
	       .type = UMPA_FT_UINT,
	       .help = "reserved bits"},
    [F_AE] = {.name = "flags.ae",
	      .ws = "tcp.flags.ae",
	      .bitoff = 103,
	      .bits = 1,
	      .type = UMPA_FT_BOOL,
	      .help = "Accurate ECN (formerly NS)"},
    [F_CWR] = {.name = "flags.cwr",
	       .ws = "tcp.flags.cwr",
	       .bitoff = 104,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "congestion window reduced"},
    [F_ECE] = {.name = "flags.ece",
	       .ws = "tcp.flags.ece",
	       .bitoff = 105,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "ECN-echo"},
    [F_URG] = {.name = "flags.urg",
	       .ws = "tcp.flags.urg",
	       .bitoff = 106,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "urgent pointer is significant"},
    [F_ACKF] = {.name = "flags.ack",
		.ws = "tcp.flags.ack",
		.bitoff = 107,
		.bits = 1,
		.type = UMPA_FT_BOOL,
		.help = "acknowledgement number is significant"},
    [F_PUSH] =
	{.name = "flags.push", .ws = "tcp.flags.push", .bitoff = 108, .bits = 1, .type = UMPA_FT_BOOL, .help = "push"},
    [F_RESET] = {.name = "flags.reset",
		 .ws = "tcp.flags.reset",
		 .bitoff = 109,
		 .bits = 1,
		 .type = UMPA_FT_BOOL,
		 .help = "reset the connection"},
    [F_SYN] = {.name = "flags.syn",
	       .ws = "tcp.flags.syn",
	       .bitoff = 110,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .def = 1,
	       .help = "synchronise sequence numbers"},
    [F_FIN] = {.name = "flags.fin",
	       .ws = "tcp.flags.fin",
	       .bitoff = 111,
	       .bits = 1,
	       .type = UMPA_FT_BOOL,
	       .help = "no more data from sender"},
    [F_WIN] = {.name = "window_size_value",
	       .ws = "tcp.window_size_value",
	       .aliases = "window,win",
	       .bitoff = 112,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .def = 8192,
	       .help = "window (unscaled, as on the wire)"},
    [F_CSUM] = {.name = "checksum",
		.ws = "tcp.checksum",
		.aliases = "chksum",
		.bitoff = 128,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_AUTO | UMPA_F_HEX,
		.help = "checksum over the IP pseudo-header and the segment (automatic)"},
    [F_URP] = {.name = "urgent_pointer",
	       .ws = "tcp.urgent_pointer",
	       .aliases = "urgptr",
	       .bitoff = 144,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .help = "urgent pointer"},
    [F_OPTS] = {.name = "options",
		.ws = "tcp.options",
		.bitoff = 160,
		.bits = 0,
		.type = UMPA_FT_VAR,
		.help = "options: mss=N,wscale=N,sackok,sack=L-R:L-R,ts=VAL:ECR,nop,eol,KIND=hex (padded to 4 bytes)"},
    /* Scapy's view of the same bits, in 32-bit words as on the wire (hidden: tcp.hdr_len shows them) */
    [F_DATAOFS] = {.name = "dataofs",
		   .ws = "tcp.dataofs",
		   .bitoff = 96,
		   .bits = 4,
		   .type = UMPA_FT_UINT,
		   .flags = UMPA_F_AUTO | UMPA_F_HIDDEN,
		   .def = TCP_HLEN / 4,
		   .help = "data offset in 32-bit words, as on the wire (Scapy's dataofs; automatic)"},
};
UMPA_FIELDS_CHECK(tcp_fields, F_COUNT);

/* ---- reading options ---- */

/** What walking the options found. */
enum topt_res {
	TOPT_OK = 1,   /* *o holds an option */
	TOPT_END = 0,  /* no more options (end of header, or EOL) */
	TOPT_BAD = -1, /* an option lies: length < 2 or past the data offset */
	TOPT_CUT = -2, /* the bytes of the next option were not captured */
};

/** One option. */
struct topt {
	uint8_t kind;
	uint8_t len;      /* wire length (1 for EOL and NOP) */
	const uint8_t *d; /* data after kind and length */
	uint32_t dlen;
	struct umpa_cur dc; /* a cursor over d: every read of the data goes through it */
	uint8_t b0;         /* the data's first byte, 16 and 32 bits, and 32 bits at 4, read */
	uint16_t w0;        /* through dc by topt_next (0 where the data is shorter) */
	uint32_t v0, v4;
};

/** An option walker over [20, present) of the layer, with the header claiming [20, declared). */
struct topt_it {
	struct umpa_cur c; /* the layer's window */
	uint32_t pos;
	uint32_t present;  /* end of the option bytes we may read */
	uint32_t declared; /* end of the header as the data offset says */
	int eol;
};

/* Start walking layer li's options.  Returns 0, or -1 when the fixed header is not there. */
static int topt_begin(const struct umpa_pkt *p, unsigned li, struct topt_it *it)
{
	const struct umpa_layer *l = &p->l[li];
	uint8_t b;

	umpa_layer_cur(p, li, &it->c);
	if (umpa_cur_u8_at(&it->c, 12, &b) < 0 || l->len < TCP_HLEN)
		return -1;
	it->pos = TCP_HLEN;
	it->declared = (b >> 4) * 4u;
	if (it->declared < TCP_HLEN)
		it->declared = TCP_HLEN;
	it->present = l->hlen < l->len ? l->hlen : l->len;
	if (it->present > it->declared)
		it->present = it->declared;
	if (it->present < TCP_HLEN)
		it->present = TCP_HLEN;
	it->eol = 0;
	return 0;
}

/* The next option, or why there is none. */
static int topt_next(struct topt_it *it, struct topt *o)
{
	uint8_t kind, len;

	if (it->eol || it->pos >= it->present)
		return TOPT_END;
	if (umpa_cur_u8_at(&it->c, it->pos, &kind) < 0)
		return TOPT_CUT;
	memset(o, 0, sizeof *o);
	o->kind = kind;
	if (kind == OPT_EOL || kind == OPT_NOP) {
		o->len = 1;
		it->pos++;
		if (kind == OPT_EOL)
			it->eol = 1; /* what follows is padding */
		return TOPT_OK;
	}
	if (it->pos + 1 >= it->present)
		return it->pos + 1 >= it->declared ? TOPT_BAD : TOPT_CUT;
	if (umpa_cur_u8_at(&it->c, it->pos + 1, &len) < 0)
		return TOPT_CUT;
	if (len < 2)
		return TOPT_BAD;
	if (it->pos + len > it->present)
		return it->pos + len > it->declared ? TOPT_BAD : TOPT_CUT;
	if (umpa_cur_ptr_at(&it->c, it->pos + 2, len - 2u, &o->d) < 0 ||
	    umpa_cur_sub(&it->c, it->pos + 2, len - 2u, &o->dc) < 0)
		return TOPT_CUT;
	o->len = len;
	o->dlen = len - 2u;
	umpa_cur_u8_at(&o->dc, 0, &o->b0);
	umpa_cur_be16_at(&o->dc, 0, &o->w0);
	umpa_cur_be32_at(&o->dc, 0, &o->v0);
	umpa_cur_be32_at(&o->dc, 4, &o->v4);
	it->pos += len;
	return TOPT_OK;
}

/* The 32-bit sequence number at @p off of a SACK option's data (0 when short). */
static uint32_t sack_edge(const struct topt *o, uint32_t off)
{
	struct umpa_cur c = o->dc;
	uint32_t v = 0;

	umpa_cur_be32_at(&c, off, &v);
	return v;
}

/* True when a known option has a length its kind does not allow. */
static int topt_badlen(const struct topt *o)
{
	switch (o->kind) {
	case OPT_MSS:
		return o->len != 4;
	case OPT_WSCALE:
		return o->len != 3;
	case OPT_SACKOK:
		return o->len != 2;
	case OPT_SACK:
		return o->dlen == 0 || o->dlen % 8 != 0;
	case OPT_TS:
		return o->len != 10;
	default:
		return 0;
	}
}

/* ---- dissect ---- */

static void tcp_verify(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	uint32_t sum;

	if (umpa_inet_pseudo_sum(p, li, TCP_PROTO, l->len, &sum) < 0)
		return;
	if (umpa_inet_partial_csum(p, li, sum, TCP_CSUM_OFF))
		l->flags |= UMPA_L_CSUM_PARTIAL; /* left for the NIC: not verifiable, not bad */
	else if (umpa_csum_fold(umpa_csum_add(sum, p->data + l->off, l->len)) != 0)
		l->flags |= UMPA_L_BADSUM;
}

static const struct umpa_proto *tcp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	struct topt_it it;
	struct topt o;
	uint16_t sport, dport;
	uint8_t b;
	uint32_t hlen, pay;
	const struct umpa_proto *next;
	int r;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &sport) < 0 || umpa_cur_be16_at(&c, 2, &dport) < 0 ||
	    umpa_cur_u8_at(&c, 12, &b) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	hlen = (b >> 4) * 4u;
	if (hlen < TCP_HLEN) {
		l->hlen = TCP_HLEN;
		l->flags |= UMPA_L_INVALID;
		l->why = "tcp data offset < 5";
		return NULL;
	}
	l->hlen = hlen;
	if (hlen > l->len) {
		/* the driver clips hlen to the window; quoted headers are often cut */
		if (!(l->flags & UMPA_L_QUOTED))
			umpa_layer_short(p, li, "tcp header longer than the bytes present");
	}

	if (topt_begin(p, li, &it) == 0) {
		while ((r = topt_next(&it, &o)) == TOPT_OK) {
			if (topt_badlen(&o) && !(l->flags & UMPA_L_INVALID)) {
				l->flags |= UMPA_L_INVALID;
				l->why = "tcp option length wrong for its kind";
			}
		}
		if (r == TOPT_BAD) {
			l->flags |= UMPA_L_INVALID;
			l->why = "tcp option overruns header";
		}
	}
	if (hlen > l->len)
		return NULL;

	/* verify only a segment that is all there (not cut, quoted or fragmented) */
	if (!(l->flags & (UMPA_L_TRUNCATED | UMPA_L_QUOTED)) && !(l->off + l->len == p->len && p->wirelen > p->len) &&
	    !umpa_inet_fragment(p, li))
		tcp_verify(p, li);

	pay = l->len - hlen;
	next = umpa_proto_bound(UMPA_BIND_TCPPORT, dport);
	if (!next)
		next = umpa_proto_bound(UMPA_BIND_TCPPORT, sport);
	if (!next && pay >= 5) { /* TLS on another port: a plausible record header (tls.c) */
		struct umpa_cur pc;
		umpa_cur_init(&pc, p->data + l->off + hlen, pay);
		if (umpa_tls_looks_like(&pc))
			next = &umpa_proto_tls;
	}
	if (!next && pay >= 8) { /* HTTP/1.x on any port: a request or status line (http.c) */
		struct umpa_cur pc;
		umpa_cur_init(&pc, p->data + l->off + hlen, pay);
		if (umpa_http_looks_like(&pc))
			next = &umpa_proto_http;
	}
	/* DNS over TCP (RFC 1035 s4.2.2) carries a 2-byte length before the DNS
	 * header: hand it over only when both can be there (the DNS dissector
	 * handles the prefix), otherwise show raw bytes. */
	if (next == &umpa_proto_dns && pay < 14)
		next = NULL;
	if (next == &umpa_proto_tls && pay < 5)
		next = NULL; /* less than a record header: a piece of a stream (tcp_reasm.c follows it) */
	if (!next && pay > 0 && (l->flags & UMPA_L_INVALID))
		next = &umpa_proto_raw; /* the data offset is sound: keep the payload */
	return next;
}

/* ---- build ---- */

static int tcp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint16_t ck;
	int ok;

	(void)e;
	if (l->hlen >= TCP_HLEN && l->hlen <= 60 && !umpa_field_is_set(p, li, &tcp_fields[F_DATAOFS]))
		umpa_field_auto_u64(p, li, &tcp_fields[F_HLEN], l->hlen);
	if (umpa_field_is_set(p, li, &tcp_fields[F_CSUM]))
		return 0;
	ck = umpa_inet_csum(p, li, TCP_CSUM_OFF, 1, TCP_PROTO, &ok);
	if (ok)
		umpa_field_auto_u64(p, li, &tcp_fields[F_CSUM], ck);
	return 0; /* no IP below: leave the checksum as it is, as Scapy does */
}

#define OPT_SYNTAX "mss=N, wscale=N, sackok, sack=L-R:L-R, ts=VAL:ECR, nop, eol or KIND=hex"
/* the option names of the spec, for "did you mean" */
#define OPT_NAMES "mss,wscale,ws,sackok,sack_perm,sack,ts,timestamp,nop,eol"

/* Encode one spec item into buf at *n (room up to TCP_MAXOPT).  Returns 0 or an error. */
static int opt_encode(struct umpa_span name, struct umpa_span val, int hasval, uint8_t *buf, size_t *n,
		      struct umpa_err *e)
{
	struct umpa_span part, rest;
	uint8_t o[TCP_MAXOPT];
	size_t k = 0;
	uint64_t v, w;
	/* the whole item, for the error message */
	struct umpa_span item = {name.s, hasval ? (size_t)(val.s + val.n - name.s) : name.n};
	if (umpa_span_is(name, "nop") && !hasval) {
		o[k++] = OPT_NOP;
	} else if (umpa_span_is(name, "eol") && !hasval) {
		o[k++] = OPT_EOL;
	} else if ((umpa_span_is(name, "sackok") || umpa_span_is(name, "sack_perm")) && !hasval) {
		o[k++] = OPT_SACKOK;
		o[k++] = 2;
	} else if (umpa_span_is(name, "mss") && hasval) {
		if (umpa_spec_num(val, 0xffff, &v) < 0)
			goto bad;
		o[k++] = OPT_MSS;
		o[k++] = 4;
		umpa_put_be16_(o + k, (uint32_t)v);
		k += 2;
	} else if ((umpa_span_is(name, "wscale") || umpa_span_is(name, "ws")) && hasval) {
		if (umpa_spec_num(val, 0xff, &v) < 0)
			goto bad;
		o[k++] = OPT_WSCALE;
		o[k++] = 3;
		o[k++] = (uint8_t)v;
	} else if ((umpa_span_is(name, "ts") || umpa_span_is(name, "timestamp")) && hasval) {
		size_t parts = umpa_spec_nparts(val);
		rest = val;
		w = 0;
		if (parts < 1 || parts > 2 || !umpa_spec_part(&rest, &part) ||
		    umpa_spec_num(part, 0xffffffffu, &v) < 0 ||
		    (umpa_spec_part(&rest, &part) && umpa_spec_num(part, 0xffffffffu, &w) < 0))
			goto bad;
		o[k++] = OPT_TS;
		o[k++] = 10;
		umpa_put_be32_(o + k, (uint32_t)v);
		umpa_put_be32_(o + k + 4, (uint32_t)w);
		k += 8;
	} else if (umpa_span_is(name, "sack") && hasval) {
		o[k++] = OPT_SACK;
		o[k++] = 2;
		rest = val;
		if (val.n == 0)
			goto bad;
		while (umpa_spec_part(&rest, &part)) {
			struct umpa_span l, r;
			if (!umpa_span_cut(part, "-", &l, &r) || umpa_spec_num(l, 0xffffffffu, &v) < 0 ||
			    umpa_spec_num(r, 0xffffffffu, &w) < 0)
				goto bad;
			if (k + 8 > TCP_MAXOPT)
				return umpa_err_set(e, UMPA_ERANGE, "tcp options: too many SACK blocks (at most 4)");
			umpa_put_be32_(o + k, (uint32_t)v);
			umpa_put_be32_(o + k + 4, (uint32_t)w);
			k += 8;
		}
		o[1] = (uint8_t)k;
	} else if (umpa_spec_num(name, 0xff, &v) == 0) {
		/* KIND or KIND=hexbytes */
		o[k++] = (uint8_t)v;
		if (v == OPT_EOL || v == OPT_NOP) {
			if (hasval && val.n)
				goto bad;
		} else {
			long dn = umpa_spec_hex(val, o + 2, TCP_MAXOPT - 2);
			if (dn == UMPA_SPEC_LONG)
				return umpa_err_set(e, UMPA_ERANGE, "tcp options: more than %d bytes", TCP_MAXOPT);
			if (dn < 0)
				goto bad;
			k += 1 + (size_t)dn;
			o[1] = (uint8_t)k;
		}
	} else {
		goto bad;
	}
	if (*n + k > TCP_MAXOPT)
		return umpa_err_set(e, UMPA_ERANGE, "tcp options: more than %d bytes", TCP_MAXOPT);
	memcpy(buf + *n, o, k);
	*n += k;
	return 0;
bad : {
	char near[UMPA_NEAR_MAX + 1];
	const char *best =
	    umpa_spec_num(name, 0xff, &v) == 0 ? NULL : umpa_near_in(name.s, name.n, OPT_NAMES, near, sizeof near);
	return umpa_err_set(e, UMPA_EINVAL, "tcp options: bad item '%.*s' (" UMPA_NEAR_FMT "expected " OPT_SYNTAX ")",
			    (int)item.n, item.s, UMPA_NEAR_ARGS(best));
}
}

static int tcp_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
		       struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	uint8_t buf[TCP_MAXOPT];
	size_t n = 0;
	struct umpa_span rest = umpa_span_of(spec), key, val;
	int r, hasval;

	if (f != &tcp_fields[F_OPTS])
		return umpa_err_set(e, UMPA_EINVAL, "tcp: %s is not a variable field", f ? f->name : "?");
	if (l->hlen < TCP_HLEN)
		return umpa_err_set(e, UMPA_EINVAL, "tcp: header incomplete, cannot set options");
	while (umpa_spec_item(&rest, &key, &val, &hasval))
		if ((r = opt_encode(key, val, hasval, buf, &n, e)) < 0)
			return r;
	while (n % 4) {
		if (n >= TCP_MAXOPT)
			return umpa_err_set(e, UMPA_ERANGE, "tcp options: more than %d bytes", TCP_MAXOPT);
		buf[n++] = 0; /* EOL, then zero padding */
	}
	r = umpa_pkt_splice(p, li, TCP_HLEN, l->hlen - TCP_HLEN, buf, (uint32_t)n, e);
	if (r < 0)
		return r;
	if (!umpa_field_is_set(p, li, &tcp_fields[F_DATAOFS]))
		umpa_field_auto_u64(p, li, &tcp_fields[F_HLEN], p->l[li].hlen);
	return 0;
}

/* ---- show ---- */

/** Wireshark's name and keys for an option kind. */
struct topt_desc {
	uint8_t kind;
	const char *key;   /* the option's tree item */
	const char *title; /* "TCP Option - <title>" */
	const char *kname; /* tcp.option_kind value name */
	const char *dkey;  /* data bytes key, NULL: tcp.options.unknown.payload */
	const char *tdump; /* tcpdump's name */
};

static const struct topt_desc topt_descs[] = {
    {0, "tcp.options.eol", "End of Option List (EOL)", "End of Option List", NULL, "eol"},
    {1, "tcp.options.nop", "No-Operation (NOP)", "No-Operation", NULL, "nop"},
    {2, "tcp.options.mss", "Maximum segment size", "Maximum Segment Size", NULL, "mss"},
    {3, "tcp.options.wscale", "Window scale", "Window Scale", NULL, "wscale"},
    {4, "tcp.options.sack_perm", "SACK permitted", "SACK Permitted", NULL, "sackOK"},
    {5, "tcp.options.sack", "SACK", "SACK", NULL, "sack"},
    {6, "tcp.options.echo", "Echo", "Echo", NULL, "echo"},
    {7, "tcp.options.echoreply", "Echo reply", "Echo Reply", NULL, "echoreply"},
    {8, "tcp.options.timestamp", "Timestamps", "Time Stamp Option", NULL, "TS"},
    {11, "tcp.options.cc", "CC", "CC", NULL, "cc"},
    {12, "tcp.options.ccnew", "CC.NEW", "CC.NEW", NULL, "ccnew"},
    {13, "tcp.options.ccecho", "CC.ECHO", "CC.ECHO", NULL, "ccecho"},
    {19, "tcp.options.md5", "TCP MD5 signature", "MD5 Signature Option", "tcp.options.md5.digest", "md5"},
    {27, "tcp.options.qs", "Quick-Start", "Quick-Start Response", NULL, "qs"},
    {28, "tcp.options.user_to", "User Timeout", "User Timeout", NULL, "uto"},
    {29, "tcp.options.ao", "TCP AO", "TCP Authentication Option", NULL, "tcp-ao"},
    {34, "tcp.options.tfo", "TCP Fast Open", "TCP Fast Open Cookie", "tcp.options.tfo.cookie", "tfo"},
    {253, "tcp.options.experimental", "Experimental", "RFC3692-style Experiment 1", "tcp.options.experimental.data",
     "exp"},
    {254, "tcp.options.experimental", "Experimental", "RFC3692-style Experiment 2", "tcp.options.experimental.data",
     "exp"},
};

static const struct topt_desc *topt_desc(uint8_t kind)
{
	for (size_t i = 0; i < sizeof(topt_descs) / sizeof(topt_descs[0]); i++)
		if (topt_descs[i].kind == kind)
			return &topt_descs[i];
	return NULL;
}

/* One option as Wireshark shows it. */
static void topt_details(const struct topt *o, struct umpa_emit *em)
{
	const struct topt_desc *dsc = topt_desc(o->kind);
	char label[160];
	int bad = topt_badlen(o);

	if (!bad && o->kind == OPT_MSS)
		snprintf(label, sizeof(label), "TCP Option - Maximum segment size: %u bytes", o->w0);
	else if (!bad && o->kind == OPT_WSCALE)
		snprintf(label, sizeof(label), "TCP Option - Window scale: %u (multiply by %u)", o->b0,
			 o->b0 <= 14 ? 1u << o->b0 : 1u << 14);
	else if (!bad && o->kind == OPT_TS)
		snprintf(label, sizeof(label), "TCP Option - Timestamps: TSval %u, TSecr %u", o->v0, o->v4);
	else if (dsc)
		snprintf(label, sizeof(label), "TCP Option - %s", dsc->title);
	else
		snprintf(label, sizeof(label), "TCP Option - Unknown");
	umpa_emit_open(em, dsc ? dsc->key : "tcp.options.unknown", label);
	umpa_emit_u64(em, "tcp.option_kind", o->kind, dsc ? dsc->kname : "Unknown");
	if (o->len > 1)
		umpa_emit_u64(em, "tcp.option_len", o->len, NULL);
	if (bad) {
		umpa_emit_str(em, "tcp.option.len.invalid", "Invalid length for option");
		if (o->dlen)
			umpa_emit_bytes(em, "tcp.options.unknown.payload", o->d, o->dlen);
		umpa_emit_close(em);
		return;
	}
	switch (o->kind) {
	case OPT_MSS:
		umpa_emit_u64(em, "tcp.options.mss_val", o->w0, NULL);
		break;
	case OPT_WSCALE:
		umpa_emit_u64(em, "tcp.options.wscale.shift", o->b0, NULL);
		umpa_emit_u64(em, "tcp.options.wscale.multiplier", o->b0 <= 14 ? 1u << o->b0 : 1u << 14, NULL);
		break;
	case OPT_SACK:
		for (uint32_t i = 0; i + 8 <= o->dlen; i += 8) {
			umpa_emit_u64(em, "tcp.options.sack_le", sack_edge(o, i), NULL);
			umpa_emit_u64(em, "tcp.options.sack_re", sack_edge(o, i + 4), NULL);
		}
		umpa_emit_u64(em, "tcp.options.sack.count", o->dlen / 8, NULL);
		break;
	case OPT_TS:
		umpa_emit_u64(em, "tcp.options.timestamp.tsval", o->v0, NULL);
		umpa_emit_u64(em, "tcp.options.timestamp.tsecr", o->v4, NULL);
		break;
	case OPT_EOL:
	case OPT_NOP:
	case OPT_SACKOK:
		break;
	case 28: /* user timeout (RFC 5482): granularity bit, 15-bit value */
		if (o->dlen == 2) {
			umpa_emit_bool(em, "tcp.options.user_to_granularity", o->b0 >> 7);
			umpa_emit_u64(em, "tcp.options.user_to_val", o->w0 & 0x7fffu, NULL);
		} else if (o->dlen) {
			umpa_emit_bytes(em, "tcp.options.unknown.payload", o->d, o->dlen);
		}
		break;
	case 253:
	case 254: /* experiments (RFC 6994): a 16-bit experiment identifier, then data */
		if (o->dlen >= 2)
			umpa_emit_hex(em, "tcp.options.experimental.exid", o->w0, 4);
		if (o->dlen > 2)
			umpa_emit_bytes(em, "tcp.options.experimental.data", o->d + 2, o->dlen - 2);
		else if (o->dlen == 1)
			umpa_emit_bytes(em, "tcp.options.experimental.data", o->d, o->dlen);
		break;
	default:
		if (o->dlen)
			umpa_emit_bytes(em, dsc && dsc->dkey ? dsc->dkey : "tcp.options.unknown.payload", o->d,
					o->dlen);
		break;
	}
	umpa_emit_close(em);
}

static void tcp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct topt_it it;
	struct topt o;
	char label[64];
	int r;

	if (topt_begin(p, li, &it) < 0)
		return;
	if (it.present > TCP_HLEN) {
		const uint8_t *ob;
		/* as tshark -T json: the bytes as "tcp.options", then one group per option */
		if (umpa_cur_ptr_at(&it.c, TCP_HLEN, it.present - TCP_HLEN, &ob) == 0)
			umpa_emit_bytes(em, "tcp.options", ob, it.present - TCP_HLEN);
		snprintf(label, sizeof(label), "Options: (%u bytes)", it.declared - TCP_HLEN);
		umpa_emit_open(em, "tcp.options_tree", label);
		while ((r = topt_next(&it, &o)) == TOPT_OK)
			topt_details(&o, em);
		/* EOL padding: Wireshark shows each zero as one more EOL */
		while (it.eol && it.pos < it.present) {
			uint8_t b;
			if (umpa_cur_u8_at(&it.c, it.pos, &b) < 0)
				break;
			if (b != OPT_EOL)
				break;
			memset(&o, 0, sizeof o);
			o.kind = b;
			o.len = 1;
			topt_details(&o, em);
			it.pos++;
		}
		if (r == TOPT_BAD)
			umpa_emit_str(em, "tcp.option.len.invalid", "tcp option overruns header");
		umpa_emit_close(em);
	}
	if (l->hlen <= l->len)
		umpa_emit_u64(em, "tcp.len", l->len - l->hlen, NULL);
}

/* tcpdump's text for one option (print-tcp.c). */
/* @p sackbase: subtracted from SACK edges (relative numbers, as the ack's). */
static void topt_summary(const struct topt *o, uint32_t sackbase, struct umpa_sbuf *out)
{
	const struct topt_desc *dsc = topt_desc(o->kind);

	if (dsc) {
		umpa_sbuf_puts(out, dsc->tdump);
	} else {
		umpa_sbuf_puts(out, "unknown-");
		umpa_sbuf_put_u64(out, o->kind);
	}
	if (topt_badlen(o)) {
		umpa_sbuf_puts(out, " [bad opt]");
		return;
	}
	switch (o->kind) {
	case OPT_MSS:
		umpa_sbuf_putc(out, ' ');
		umpa_sbuf_put_u64(out, o->w0);
		break;
	case OPT_WSCALE:
		umpa_sbuf_putc(out, ' ');
		umpa_sbuf_put_u64(out, o->b0);
		break;
	case OPT_SACK:
		umpa_sbuf_putc(out, ' ');
		umpa_sbuf_put_u64(out, o->dlen / 8);
		umpa_sbuf_putc(out, ' ');
		for (uint32_t i = 0; i + 8 <= o->dlen; i += 8) {
			umpa_sbuf_putc(out, '{');
			umpa_sbuf_put_u64(out, (uint32_t)(sack_edge(o, i) - sackbase));
			umpa_sbuf_putc(out, ':');
			umpa_sbuf_put_u64(out, (uint32_t)(sack_edge(o, i + 4) - sackbase));
			umpa_sbuf_putc(out, '}');
		}
		break;
	case OPT_TS:
		umpa_sbuf_puts(out, " val ");
		umpa_sbuf_put_u64(out, o->v0);
		umpa_sbuf_puts(out, " ecr ");
		umpa_sbuf_put_u64(out, o->v4);
		break;
	case OPT_EOL:
	case OPT_NOP:
	case OPT_SACKOK:
		break;
	default:
		if (o->dlen) {
			umpa_sbuf_puts(out, " 0x");
			umpa_sbuf_put_hexbytes(out, o->d, o->dlen, 0);
		}
		break;
	}
}

/* ---- relative sequence numbers (tcpdump's tcp_seq_hash) ---- */

#define RELSEQ_SLOTS 4096u

struct relseq_slot_ {
	uint8_t key[36]; /* lower address, higher address, ports in that order */
	uint8_t used;
	uint32_t seq, ack; /* bases of the direction from the lower address */
};

void *umpa_relseq_new(void)
{
	return calloc(RELSEQ_SLOTS, sizeof(struct relseq_slot_));
}

void umpa_relseq_free(void *t)
{
	free(t);
}

/* Rewrite *seq and *ack relative to the flow's bases (tcpdump's rules); needs the IP layer before li. */
static void relseq_apply_(void *tab, const struct umpa_pkt *p, unsigned li, uint16_t sport, uint16_t dport,
			  uint16_t flags, uint32_t *seq, uint32_t *ack, uint32_t *ackbase)
{
	struct relseq_slot_ *t = tab, *sl;
	uint8_t src[16] = {0}, dst[16] = {0}, key[36] = {0};
	struct umpa_cur c;
	unsigned alen, aoff;
	int cmp, rev;
	uint32_t h = 2166136261u;

	if (!tab || li == 0 || !(flags & TH_ACK))
		return;
	if (p->l[li - 1].proto == &umpa_proto_ip)
		alen = 4, aoff = 12;
	else if (p->l[li - 1].proto == &umpa_proto_ipv6)
		alen = 16, aoff = 8;
	else
		return;
	umpa_layer_cur(p, li - 1, &c);
	if (umpa_cur_copy_at(&c, aoff, alen, src) < 0 || umpa_cur_copy_at(&c, aoff + alen, alen, dst) < 0)
		return;
	cmp = memcmp(src, dst, alen);
	rev = cmp > 0 || (cmp == 0 && sport > dport);
	memcpy(key, rev ? dst : src, 16);
	memcpy(key + 16, rev ? src : dst, 16);
	key[32] = (uint8_t)((rev ? dport : sport) >> 8);
	key[33] = (uint8_t)(rev ? dport : sport);
	key[34] = (uint8_t)((rev ? sport : dport) >> 8);
	key[35] = (uint8_t)(rev ? sport : dport);
	for (unsigned i = 0; i < sizeof key; i++)
		h = (h ^ key[i]) * 16777619u;
	sl = &t[h % RELSEQ_SLOTS];
	if (!sl->used || memcmp(sl->key, key, sizeof key) != 0 || (flags & TH_SYN)) {
		memcpy(sl->key, key, sizeof key);
		sl->used = 1;
		if (rev)
			sl->ack = *seq, sl->seq = *ack - 1;
		else
			sl->seq = *seq, sl->ack = *ack - 1;
	} else if (rev) {
		*seq -= sl->ack, *ack -= sl->seq;
	} else {
		*seq -= sl->seq, *ack -= sl->ack;
	}
	*ackbase = rev ? sl->seq : sl->ack;
}

static void tcp_summary_(const struct umpa_pkt *p, unsigned li, void *relseq, struct umpa_sbuf *out);

/* tcpdump -nn: "Flags [S.], seq 1, ack 2, win 8192, options [mss 1460], length 0".
 * Sequence numbers are absolute here (tcpdump -S: a single packet has nothing
 * to be relative to); with the renderer's relseq table (tcp_summary_ctx) they
 * are relative to the connection's first, as tcpdump prints them.  A protocol
 * that follows (DNS) appends its own text, separator included, as tcpdump
 * prints "length 58 17177+ A? ...". */
static void tcp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	tcp_summary_(p, li, NULL, out);
}

static void tcp_summary_ctx(const struct umpa_pkt *p, unsigned li, const struct umpa_render_opts *o,
			    struct umpa_sbuf *out)
{
	tcp_summary_(p, li, o->relseq, out);
}

static void tcp_summary_(const struct umpa_pkt *p, unsigned li, void *relseq, struct umpa_sbuf *out)
{
	static const char fl[] = "FSRP.UEWe";
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	struct topt_it it;
	struct topt o;
	uint32_t seq, ack, pay, sackbase = 0;
	uint16_t offfl, win, urp, flags;
	int r;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be32_at(&c, 4, &seq) < 0 || umpa_cur_be32_at(&c, 8, &ack) < 0 ||
	    umpa_cur_be16_at(&c, 12, &offfl) < 0 || umpa_cur_be16_at(&c, 14, &win) < 0 ||
	    umpa_cur_be16_at(&c, 18, &urp) < 0) {
		umpa_sbuf_puts(out, "[|tcp]");
		return;
	}
	flags = offfl & 0x0fff;
	if (relseq) {
		uint16_t sport, dport;
		if (umpa_cur_be16_at(&c, 0, &sport) == 0 && umpa_cur_be16_at(&c, 2, &dport) == 0)
			relseq_apply_(relseq, p, li, sport, dport, flags, &seq, &ack, &sackbase);
	}
	pay = l->hlen <= l->len ? l->len - l->hlen : 0;
	umpa_sbuf_puts(out, "Flags [");
	if (!(flags & 0x1ff))
		umpa_sbuf_puts(out, "none");
	for (unsigned i = 0; i < 9; i++)
		if (flags & (1u << i))
			umpa_sbuf_putc(out, fl[i]);
	umpa_sbuf_putc(out, ']');
	if (pay > 0 || (flags & (TH_SYN | TH_FIN | TH_RST))) {
		umpa_sbuf_puts(out, ", seq ");
		umpa_sbuf_put_u64(out, seq);
		if (pay > 0) {
			umpa_sbuf_putc(out, ':');
			umpa_sbuf_put_u64(out, (uint32_t)(seq + pay));
		}
	}
	if (flags & TH_ACK) {
		umpa_sbuf_puts(out, ", ack ");
		umpa_sbuf_put_u64(out, ack);
	}
	umpa_sbuf_puts(out, ", win ");
	umpa_sbuf_put_u64(out, win);
	if (flags & TH_URG) {
		umpa_sbuf_puts(out, ", urg ");
		umpa_sbuf_put_u64(out, urp);
	}
	if (topt_begin(p, li, &it) == 0 && it.present > TCP_HLEN) {
		int first = 1;
		umpa_sbuf_puts(out, ", options [");
		while ((r = topt_next(&it, &o)) == TOPT_OK) {
			if (!first)
				umpa_sbuf_putc(out, ',');
			first = 0;
			topt_summary(&o, sackbase, out);
		}
		if (r == TOPT_BAD)
			umpa_sbuf_puts(out, first ? "[bad opt]" : ",[bad opt]");
		else if (r == TOPT_CUT)
			umpa_sbuf_puts(out, "[|tcp]");
		umpa_sbuf_putc(out, ']');
	}
	umpa_sbuf_puts(out, ", length ");
	umpa_sbuf_put_u64(out, pay);
}

/* ---- matching ---- */

/** The fixed fields answers() compares. */
struct tcp_hdr {
	uint16_t sport, dport, flags;
	uint32_t seq, ack, pay;
};

static int tcp_read(const struct umpa_pkt *p, unsigned li, struct tcp_hdr *h)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint16_t offfl;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &h->sport) < 0 || umpa_cur_be16_at(&c, 2, &h->dport) < 0 ||
	    umpa_cur_be32_at(&c, 4, &h->seq) < 0 || umpa_cur_be32_at(&c, 8, &h->ack) < 0 ||
	    umpa_cur_be16_at(&c, 12, &offfl) < 0)
		return -1;
	h->flags = offfl & 0x0fff;
	h->pay = l->hlen <= l->len ? l->len - l->hlen : 0;
	return 0;
}

#define WHY(...)                                                                                                       \
	do {                                                                                                           \
		if (why && whylen)                                                                                     \
			snprintf(why, whylen, __VA_ARGS__);                                                            \
		return 0;                                                                                              \
	} while (0)

/* Scapy's TCP.answers, with sequence arithmetic modulo 2^32 and a reason on failure. */
static int tcp_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
		       size_t whylen)
{
	struct tcp_hdr r, q;
	uint32_t want;
	int32_t d;

	if (tcp_read(resp, rli, &r) < 0 || tcp_read(req, qli, &q) < 0)
		WHY("tcp header missing");
	if (q.flags & TH_RST)
		WHY("tcp request is a RST");
	if ((r.flags & TH_SYN) && !(r.flags & TH_ACK))
		WHY("tcp SYN without ACK answers nothing");
	if ((r.flags & TH_SYN) && !(q.flags & TH_SYN))
		WHY("tcp SYN+ACK answers only a SYN");
	if (!umpa_ports_swapped_("tcp", r.sport, r.dport, q.sport, q.dport, why, whylen))
		return 0;
	if (!((q.flags & TH_SYN) && !(q.flags & TH_ACK))) {
		d = (int32_t)(r.seq - q.ack);
		if (d > 2 || d < -2)
			WHY("tcp.seq off by %d", d);
	}
	if ((r.flags & TH_RST) && !(r.flags & TH_ACK))
		return 1; /* its ack carries nothing */
	want = q.seq + q.pay + ((q.flags & TH_SYN) ? 1u : 0u) + ((q.flags & TH_FIN) ? 1u : 0u);
	if ((uint32_t)(r.ack - q.seq) > want - q.seq) {
		d = (int32_t)(r.ack - want);
		WHY("tcp.ack off by %d", d);
	}
	return 1;
}

const struct umpa_proto umpa_proto_tcp = {
    .name = "tcp",
    .aliases = "TCP",
    .title = "Transmission Control Protocol",
    .fields = tcp_fields,
    .nfields = F_COUNT,
    .hdr_len = TCP_HLEN,
    .pflags = UMPA_PF_PORTS | UMPA_PF_OFFLOAD,
    .dissect = tcp_dissect,
    .finish = tcp_finish,
    .set_var = tcp_set_var,
    .details = tcp_details,
    .summary = tcp_summary,
    .summary_ctx = tcp_summary_ctx,
    .hashret = umpa_ports_hashret_,
    .answers = tcp_answers,
};
