/* ntp.c - Network Time Protocol (RFC 5905; control messages RFC 9327; ntpd's private mode 7).
 *
 * Packet (after UDP port 123): LI (2 bits), version (3), mode (3), then by
 * the mode:
 *   - 1..5 (symmetric, client, server, broadcast): stratum, poll, precision,
 *     root delay and root dispersion (16.16 fixed point), reference id, and
 *     the reference, origin, receive and transmit timestamps (64-bit NTP
 *     times: seconds since 1900 and a binary fraction); 48 bytes, then an
 *     optional key id and MAC (4 + 16 or 4 + 20 bytes);
 *   - 6 (control): R/E/M bits and opcode, sequence, status, association id,
 *     offset and count (12 bytes), then count bytes of data;
 *   - 7 (ntpd private): R and M bits in the first byte's top (where LI is),
 *     auth bit and sequence, implementation, request code, error, number of
 *     items and item size (8 bytes), then the items.
 * The fields of one mode are shown (and settable) in its messages only.
 *
 * Building: ntp{} is (after finish) Scapy's NTPHeader() but for its timestamps: version 4,
 * mode 3 (client), stratum 2, poll 10, reference id 127.0.0.1, every
 * timestamp 0 (set them as 64-bit numbers: ref, orig, recv, sent).  Setting
 * mode 6 or 7 gives the 12- or 8-byte header of that mode.
 *
 * Dissecting: a header shorter than its mode's is truncated.  Data after a
 * control header and the items of mode 7 are the payload.
 *
 * Summary (tcpdump -nn): "NTPv4, Client, length 48".
 *
 * Names: Wireshark's ntp.*: the timestamps are shown as Wireshark shows them
 * ("Aug  2, 2023 21:20:00.500000000 UTC", "NULL" for 0; era 1 for times
 * whose top bit is clear, as Wireshark does), the 64-bit numbers are the
 * hidden fields ref, orig, recv and sent.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto_common.h"
#include "umpa_protos.h"

enum { NTP_HLEN = 48, NTP_CTRL_HLEN = 12, NTP_PRIV_HLEN = 8, MODE_CTRL = 6, MODE_PRIV = 7 };

static const uint8_t ntp_refid_def[4] = {127, 0, 0, 1};

static const struct umpa_vname mode_names[] = {
    {0, "reserved"},  {1, "symmetric-active"}, {2, "symmetric-passive"}, {3, "client"}, {4, "server"},
    {5, "broadcast"}, {6, "control"},          {7, "private"},           {0, NULL},
};

/* tcpdump's names of the modes (print-ntp.c). */
static const char *const tcpdump_modes[8] = {"Unspecified", "Symmetric Active", "Symmetric Passive", "Client",
					     "Server",      "Broadcast",        "Control Message",   "Reserved"};

/* Field indexes: the order of ntp_fields. */
enum {
	F_FLAGS,
	F_LI,
	F_PR,
	F_PMORE,
	F_VN,
	F_MODE,
	/* modes 1..5 */
	F_STRATUM,
	F_POLL,
	F_PREC,
	F_DELAY,
	F_DISP,
	F_REFID,
	F_REF,
	F_ORG,
	F_REC,
	F_XMT,
	/* mode 6 */
	F_CFLAGS2,
	F_CR,
	F_CERR,
	F_CMORE,
	F_COP,
	F_CSEQ,
	F_CSTATUS,
	F_CASSOC,
	F_COFF,
	F_CCOUNT,
	/* mode 7 */
	F_PAUTHSEQ,
	F_PAUTH,
	F_PSEQ,
	F_PIMPL,
	F_PREQ,
	F_PERR,
	F_PNITEMS,
	F_PRSV,
	F_PISIZE,
	F_COUNT
};

#define NTP_TS_FIELD(idx, nm, wsname, al, off, hlp)                                                                    \
	[idx] = {.name = nm,                                                                                           \
		 .ws = wsname,                                                                                         \
		 .aliases = al,                                                                                        \
		 .bitoff = off,                                                                                        \
		 .bits = 64,                                                                                           \
		 .type = UMPA_FT_UINT,                                                                                 \
		 .flags = UMPA_F_HIDDEN | UMPA_F_HEX,                                                                  \
		 .help = hlp " (64-bit NTP time: seconds since 1900 << 32 | fraction; shown as a date)"}

static const struct umpa_field ntp_fields[] = {
    [F_FLAGS] = {.name = "flags",
		 .ws = "ntp.flags",
		 .bitoff = 0,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .flags = UMPA_F_HEX,
		 .def = 0x23,
		 .help = "LI, version and mode in one byte (0x23: version 4, client)"},
    [F_LI] = {.name = "flags.li",
	      .ws = "ntp.flags.li",
	      .aliases = "li,leap",
	      .bitoff = 0,
	      .bits = 2,
	      .type = UMPA_FT_UINT,
	      .help = "leap indicator: 0 none, 1 +1 s, 2 -1 s, 3 unsynchronised (not in mode 7)"},
    [F_PR] = {.name = "priv.flags.r",
	      .ws = "ntp.priv.flags.r",
	      .bitoff = 0,
	      .bits = 1,
	      .type = UMPA_FT_UINT,
	      .help = "mode 7: response bit"},
    [F_PMORE] = {.name = "priv.flags.more",
		 .ws = "ntp.priv.flags.more",
		 .bitoff = 1,
		 .bits = 1,
		 .type = UMPA_FT_UINT,
		 .help = "mode 7: more bit"},
    [F_VN] = {.name = "flags.vn",
	      .ws = "ntp.flags.vn",
	      .aliases = "vn,version",
	      .bitoff = 2,
	      .bits = 3,
	      .type = UMPA_FT_UINT,
	      .def = 4,
	      .help = "version number"},
    [F_MODE] = {.name = "flags.mode",
		.ws = "ntp.flags.mode",
		.aliases = "mode",
		.bitoff = 5,
		.bits = 3,
		.type = UMPA_FT_ENUM,
		.def = 3,
		.names = mode_names,
		.help = "mode: 1 symmetric-active, 2 symmetric-passive, 3 client, 4 server, 5 broadcast, 6 control, "
			"7 private"},
    [F_STRATUM] = {.name = "stratum",
		   .ws = "ntp.stratum",
		   .bitoff = 8,
		   .bits = 8,
		   .type = UMPA_FT_UINT,
		   .def = 2,
		   .help = "stratum (0 unspecified or kiss-o'-death, 1 primary)"},
    [F_POLL] = {.name = "ppoll",
		.ws = "ntp.ppoll",
		.aliases = "poll",
		.bitoff = 16,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.def = 10,
		.help = "poll interval, log2 seconds"},
    [F_PREC] = {.name = "precision",
		.ws = "ntp.precision",
		.bitoff = 24,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.help = "precision, log2 seconds, two's complement (236 is -20)"},
    [F_DELAY] = {.name = "rootdelay",
		 .ws = "ntp.rootdelay",
		 .aliases = "delay",
		 .bitoff = 32,
		 .bits = 32,
		 .type = UMPA_FT_UINT,
		 .help = "root delay, 16.16 fixed-point seconds"},
    [F_DISP] = {.name = "rootdispersion",
		.ws = "ntp.rootdispersion",
		.aliases = "dispersion",
		.bitoff = 64,
		.bits = 32,
		.type = UMPA_FT_UINT,
		.help = "root dispersion, 16.16 fixed-point seconds"},
    [F_REFID] = {.name = "refid",
		 .ws = "ntp.refid",
		 .aliases = "id,ref_id",
		 .bitoff = 96,
		 .bits = 32,
		 .type = UMPA_FT_BYTES,
		 .defp = ntp_refid_def,
		 .help = "reference id: an IPv4 address, or 4 ASCII letters at stratum 1 (hex bytes)"},
    NTP_TS_FIELD(F_REF, "reftime", "ntp.reftime", "ref", 128, "reference timestamp"),
    NTP_TS_FIELD(F_ORG, "org", "ntp.org", "orig", 192, "origin timestamp"),
    NTP_TS_FIELD(F_REC, "rec", "ntp.rec", "recv", 256, "receive timestamp"),
    NTP_TS_FIELD(F_XMT, "xmt", "ntp.xmt", "sent", 320, "transmit timestamp"),
    [F_CFLAGS2] = {.name = "ctrl.flags2",
		   .ws = "ntp.ctrl.flags2",
		   .bitoff = 8,
		   .bits = 8,
		   .type = UMPA_FT_UINT,
		   .flags = UMPA_F_HEX,
		   .help = "mode 6: R, E, M bits and opcode"},
    [F_CR] = {.name = "ctrl.flags2.r",
	      .ws = "ntp.ctrl.flags2.r",
	      .aliases = "response",
	      .bitoff = 8,
	      .bits = 1,
	      .type = UMPA_FT_UINT,
	      .help = "mode 6: response bit"},
    [F_CERR] = {.name = "ctrl.flags2.error",
		.ws = "ntp.ctrl.flags2.error",
		.bitoff = 9,
		.bits = 1,
		.type = UMPA_FT_UINT,
		.help = "mode 6: error bit"},
    [F_CMORE] = {.name = "ctrl.flags2.more",
		 .ws = "ntp.ctrl.flags2.more",
		 .aliases = "more",
		 .bitoff = 10,
		 .bits = 1,
		 .type = UMPA_FT_UINT,
		 .help = "mode 6: more bit"},
    [F_COP] = {.name = "ctrl.flags2.opcode",
	       .ws = "ntp.ctrl.flags2.opcode",
	       .aliases = "opcode",
	       .bitoff = 11,
	       .bits = 5,
	       .type = UMPA_FT_UINT,
	       .help = "mode 6: opcode (1 read status, 2 read variables, ...)"},
    [F_CSEQ] = {.name = "ctrl.sequence",
		.ws = "ntp.ctrl.sequence",
		.aliases = "sequence",
		.bitoff = 16,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.help = "mode 6: sequence"},
    [F_CSTATUS] = {.name = "ctrl.status",
		   .ws = "ntp.ctrl.status",
		   .aliases = "status",
		   .bitoff = 32,
		   .bits = 16,
		   .type = UMPA_FT_UINT,
		   .flags = UMPA_F_HEX,
		   .help = "mode 6: status"},
    [F_CASSOC] = {.name = "ctrl.associd",
		  .ws = "ntp.ctrl.associd",
		  .aliases = "associd",
		  .bitoff = 48,
		  .bits = 16,
		  .type = UMPA_FT_UINT,
		  .help = "mode 6: association id"},
    [F_COFF] = {.name = "ctrl.offset",
		.ws = "ntp.ctrl.offset",
		.aliases = "offset",
		.bitoff = 64,
		.bits = 16,
		.type = UMPA_FT_UINT,
		.help = "mode 6: offset of the data"},
    [F_CCOUNT] = {.name = "ctrl.count",
		  .ws = "ntp.ctrl.count",
		  .aliases = "count",
		  .bitoff = 80,
		  .bits = 16,
		  .type = UMPA_FT_UINT,
		  .flags = UMPA_F_AUTO,
		  .help = "mode 6: bytes of data (automatic)"},
    [F_PAUTHSEQ] = {.name = "priv.auth_seq",
		    .ws = "ntp.priv.auth_seq",
		    .bitoff = 8,
		    .bits = 8,
		    .type = UMPA_FT_UINT,
		    .help = "mode 7: auth bit and sequence"},
    [F_PAUTH] = {.name = "priv.auth",
		 .ws = "ntp.priv.auth",
		 .aliases = "auth",
		 .bitoff = 8,
		 .bits = 1,
		 .type = UMPA_FT_UINT,
		 .help = "mode 7: authenticated"},
    [F_PSEQ] = {.name = "priv.seq",
		.ws = "ntp.priv.seq",
		.aliases = "seq",
		.bitoff = 9,
		.bits = 7,
		.type = UMPA_FT_UINT,
		.help = "mode 7: sequence"},
    [F_PIMPL] = {.name = "priv.impl",
		 .ws = "ntp.priv.impl",
		 .aliases = "impl",
		 .bitoff = 16,
		 .bits = 8,
		 .type = UMPA_FT_UINT,
		 .help = "mode 7: implementation (3 xntpd)"},
    [F_PREQ] = {.name = "priv.reqcode",
		.ws = "ntp.priv.reqcode",
		.aliases = "reqcode",
		.bitoff = 24,
		.bits = 8,
		.type = UMPA_FT_UINT,
		.help = "mode 7: request code (42 monlist)"},
    [F_PERR] = {.name = "priv.err",
		.ws = "ntp.priv.err",
		.aliases = "err",
		.bitoff = 32,
		.bits = 4,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_HEX,
		.help = "mode 7: error"},
    [F_PNITEMS] = {.name = "priv.numitems",
		   .ws = "ntp.priv.numitems",
		   .aliases = "numitems",
		   .bitoff = 36,
		   .bits = 12,
		   .type = UMPA_FT_UINT,
		   .help = "mode 7: number of items"},
    [F_PRSV] = {.name = "priv.reserved",
		.ws = "ntp.priv.reserved",
		.bitoff = 48,
		.bits = 4,
		.type = UMPA_FT_UINT,
		.flags = UMPA_F_HEX,
		.help = "mode 7: reserved"},
    [F_PISIZE] = {.name = "priv.itemsize",
		  .ws = "ntp.priv.itemsize",
		  .aliases = "itemsize",
		  .bitoff = 52,
		  .bits = 12,
		  .type = UMPA_FT_UINT,
		  .help = "mode 7: item size"},
};
UMPA_FIELDS_CHECK(ntp_fields, F_COUNT);

static unsigned ntp_mode(const struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint8_t b = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &b);
	return b & 7;
}

static unsigned mode_hlen(unsigned mode)
{
	return mode == MODE_CTRL ? NTP_CTRL_HLEN : mode == MODE_PRIV ? NTP_PRIV_HLEN : NTP_HLEN;
}

static long ntp_locate(const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	unsigned mode = ntp_mode(p, li), i = (unsigned)(f - ntp_fields);
	int in = f->bitoff + f->bits <= 8u * p->l[li].hlen; /* a built header grows to its mode's length */

	if (i == F_LI)
		return mode == MODE_PRIV ? -1 : (long)f->bitoff;
	if (i == F_PR || i == F_PMORE || (i >= F_PAUTHSEQ && i <= F_PISIZE))
		return mode == MODE_PRIV && in ? (long)f->bitoff : -1;
	if (i >= F_CFLAGS2 && i <= F_CCOUNT)
		return mode == MODE_CTRL && in ? (long)f->bitoff : -1;
	if (i >= F_STRATUM && i <= F_XMT)
		return mode == MODE_CTRL || mode == MODE_PRIV || !in ? -1 : (long)f->bitoff;
	return f->bitoff;
}

/* Building: make the header its mode's length (@e set on failure); a grown version 1..5 header gets the
 * default reference id. */
static int ntp_fit(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	unsigned mode = ntp_mode(p, li), want = mode_hlen(mode), have = p->l[li].hlen;
	int rc;

	if (have == want)
		return 0;
	if (have > want)
		return umpa_pkt_splice(p, li, want, have - want, NULL, 0, e);
	if ((rc = umpa_pkt_splice(p, li, have, 0, NULL, want - have, e)) < 0)
		return rc;
	if (want == NTP_HLEN && have <= 12 && !umpa_field_is_set(p, li, &ntp_fields[F_REFID]))
		memcpy(p->data + p->l[li].off + 12, ntp_refid_def, 4);
	return 0;
}

/* Building: a field of mode 6 or 7 makes the message that mode, unless the mode was set otherwise; the header
 * grows to the mode's length. */
static int ntp_place(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	unsigned i = (unsigned)(f - ntp_fields), want = 0;
	int rc;

	if (i >= F_CFLAGS2 && i <= F_CCOUNT)
		want = MODE_CTRL;
	else if (i == F_PR || i == F_PMORE || (i >= F_PAUTHSEQ && i <= F_PISIZE))
		want = MODE_PRIV;
	if (want && !umpa_field_is_set(p, li, &ntp_fields[F_MODE]))
		umpa_field_auto_u64(p, li, &ntp_fields[F_MODE], want);
	if ((rc = ntp_fit(p, li, e)) < 0)
		return rc;
	if (ntp_locate(p, li, f) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "%s is not in an ntp message of mode %u", f->ws, ntp_mode(p, li));
	return 0;
}

static const struct umpa_proto *ntp_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	unsigned mode = ntp_mode(p, li);
	unsigned want = mode_hlen(mode);
	if (l->len < want) {
		l->hlen = l->len;
		umpa_layer_short(p, li, "header cut short");
		return NULL;
	}
	l->hlen = want;
	if (want == NTP_HLEN && (l->len == NTP_HLEN + 20 || l->len == NTP_HLEN + 24))
		l->hlen = l->len; /* key id and MAC */
	return NULL;
}

static int ntp_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l;
	int rc;

	/* the header of the mode as set: 48 bytes (version 1..5), 12 (mode 6) or 8 (mode 7) */
	if ((rc = ntp_fit(p, li, e)) < 0)
		return rc;
	l = &p->l[li];
	if (ntp_mode(p, li) == MODE_CTRL)
		umpa_field_auto_u64(p, li, &ntp_fields[F_CCOUNT], l->len - NTP_CTRL_HLEN);
	return 0;
}

/* Wireshark's text of the NTP time at @at of @c into @out. */
static void ntp_time_text(struct umpa_cur *c, size_t at, char *out, size_t size)
{
	static const char *const mon[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	uint32_t sec = 0, frac = 0;
	int64_t unix_s;
	time_t t;
	struct tm tm;

	umpa_cur_be32_at(c, at, &sec);
	umpa_cur_be32_at(c, at + 4, &frac);
	if (sec == 0 && frac == 0) {
		snprintf(out, size, "NULL");
		return;
	}
	/* era 0 (1968-2036) when the top bit is set, else era 1 (2036-2104) */
	unix_s = (sec & 0x80000000u) ? (int64_t)sec - 2208988800LL : (int64_t)sec + 4294967296LL - 2208988800LL;
	t = (time_t)unix_s;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, size, "?");
		return;
	}
	snprintf(out, size, "%s %2d, %d %02d:%02d:%02d.%09u UTC", mon[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(((uint64_t)frac * 1000000000u) >> 32));
}

static void ntp_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *d;
	char buf[64];
	static const char *const keys[4] = {"ntp.reftime", "ntp.org", "ntp.rec", "ntp.xmt"};

	if (ntp_mode(p, li) == MODE_CTRL || ntp_mode(p, li) == MODE_PRIV || l->hlen < NTP_HLEN)
		return;
	umpa_layer_cur(p, li, &c);
	for (unsigned i = 0; i < 4; i++) {
		ntp_time_text(&c, 16 + 8 * i, buf, sizeof buf);
		umpa_emit_str(em, keys[i], buf);
	}
	if (l->hlen > NTP_HLEN && umpa_cur_ptr_at(&c, NTP_HLEN, l->hlen - NTP_HLEN, &d) == 0) {
		umpa_emit_bytes(em, "ntp.keyid", d, 4);
		umpa_emit_bytes(em, "ntp.mac", d + 4, l->hlen - NTP_HLEN - 4);
	}
}

static void ntp_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	uint8_t b;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &b) < 0) {
		umpa_sbuf_puts(out, "NTP");
		return;
	}
	umpa_sbuf_printf(out, "NTPv%u, %s, length %u", (b >> 3) & 7, tcpdump_modes[b & 7], p->l[li].len);
}

const struct umpa_proto umpa_proto_ntp = {
    .name = "ntp",
    .aliases = "NTP,NTPHeader",
    .title = "Network Time Protocol",
    .fields = ntp_fields,
    .nfields = F_COUNT,
    .hdr_len = NTP_PRIV_HLEN, /* the shortest (mode 7); finish makes a built header its mode's length */
    .dissect = ntp_dissect,
    .finish = ntp_finish,
    .details = ntp_details,
    .summary = ntp_summary,
    .locate = ntp_locate,
    .place = ntp_place,
};
