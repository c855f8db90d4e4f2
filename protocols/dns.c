/* dns.c - Domain Name System messages (RFC 1035; AAAA RFC 3596; EDNS0 OPT RFC 6891).
 *
 * The whole DNS message is the layer's header: the fixed 12-byte header is
 * described by the field table (Wireshark names dns.id, dns.flags.*,
 * dns.count.*; Scapy aliases id, qr, opcode, aa, tc, rd, ra, z, ad, cd, rcode,
 * qdcount, ancount, nscount, arcount) and the four sections follow it inside
 * the same header, so l->hlen is the message length.
 *
 * Building: the sections are VAR fields set from text, always laid out in
 * wire order qd, an, ns, ar whatever order they are set in; setting a section
 * again replaces it.  The counts are automatic (what was built; a count the
 * user set, even a lying one, is kept).  Names are written uncompressed.
 * Spec syntax (items separated by ','; '\' escapes the next character, and
 * "\ddd" is a decimal byte inside names and TXT text):
 *
 *   qd (alias qname):  name[:type[:class]]          "example.com:A,example.org:AAAA"
 *                      type/class by name (A, MX, TYPE99; IN, CH, CLASS9) or number;
 *                      defaults A and IN.
 *   an, ns, ar:        name:type:ttl:rdata          class IN
 *                      name:type:class:ttl:rdata    class by NAME only (IN, CH, HS,
 *                                                   NONE, ANY, CLASSnnn): a bare number
 *                                                   in third place is always the TTL.
 *                      rdata is always the LAST part and takes the rest of the item,
 *                      ':' included (so AAAA text needs no escaping):
 *                        A 192.0.2.1 | AAAA 2001:db8::1 | NS/CNAME/PTR/DNAME a name |
 *                        MX pref/name ("10/mail.example.com"; ':' works too) |
 *                        SRV prio/weight/port/target | SOA mname/rname/serial/refresh/
 *                        retry/expire/minimum | TXT/SPF text (split into 255-byte
 *                        strings) or "s1" "s2" | HINFO cpu/os | any other type: hex.
 *                        "0x<hex>" gives raw rdata for any type (e.g. a lying A).
 *                      EDNS0: name:OPT[:udpsize[:opt...]] (udpsize default 4096);
 *                        opt: do, version=N, ext_rcode=N, z=N (the 16 flag bits),
 *                        nsid[=hex], cookie=hex, padding=N (N zero bytes),
 *                        ecs=addr/prefix (escape the ':' of an IPv6 address as "\:"),
 *                        N=hex (option code N).   ".:OPT:1232:do:cookie=0102030405060708"
 *   Scapy builds a default question www.example.com; umpa builds none: dns{} is a
 *   bare header with rd=1.  dns{qd="example.com"} is a query for A/IN.
 *
 * Dissecting reads only through umpa_cur and allocates nothing: counts are
 * never trusted for sizes.  Names are decompressed with loop protection (a
 * pointer must point strictly before where the name, or the previous jump,
 * started; at most 64 jumps, 255 bytes, 127 labels): violations flag the
 * layer INVALID ("dns name loop", "dns name too long", "dns bad label type").
 * Sections running past the message are TRUNCATED when the capture cut them,
 * INVALID (counts lie) otherwise.
 *
 * DNS over TCP (RFC 1035 4.2.2): when the layer below is TCP (or a previous
 * DNS-over-TCP message), the first two bytes are the message length
 * (dns.length).  The dissector moves the layer past them (l->off += 2), so the
 * table's offsets stay right, bounds the message by the prefix and dissects a
 * following message in the same segment as another dns layer.  Whether a
 * layer was prefixed is seen from the layout (it starts 2 bytes after the
 * header below it), so l->aux stays free.  Built DNS layers never carry the
 * prefix: build DNS over UDP, or for TCP push a 2-byte raw layer holding the
 * length between tcp and dns.  Editing a dissected TCP message does not update
 * its prefix.
 *
 * Editing a captured (compressed) message replaces one section; compression
 * pointers of the later sections that pointed past it are moved along, those
 * that pointed into the replaced bytes cannot be saved.
 *
 * l->aux: 0, or the entry counts built by set_var (8 bits per section, qd in
 * the low byte, so at most 255 entries per section), so the section
 * boundaries stay known when a count field lies.  When 0, the boundaries come
 * from the header's counts (captured messages, fresh layers).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "umpa_protos.h"
#include "umpa_near.h"
#include "umpa_render.h"
#include "umpa_spec.h"

#define DNS_HDR 12
#define DNS_NAME_MAX 255   /* wire bytes of a name, RFC 1035 2.3.4 */
#define DNS_LABELS_MAX 127 /* labels in a name */
#define DNS_JUMPS_MAX 64   /* compression pointers followed in one name */
#define DNS_TEXT_MAX 1152  /* a name as text: 253 bytes escaped as \ddd, plus dots */
#define DNS_SECT_MAX 255   /* entries per section set_var keeps track of (aux) */

/* Name reading errors. */
enum { DNS_ESHORT = -1, DNS_ELOOP = -2, DNS_ELONG = -3, DNS_ELABEL = -4, DNS_ERDATA = -5 };

enum {
	T_A = 1,
	T_NS = 2,
	T_MD = 3,
	T_MF = 4,
	T_CNAME = 5,
	T_SOA = 6,
	T_MB = 7,
	T_MG = 8,
	T_MR = 9,
	T_NULL = 10,
	T_PTR = 12,
	T_HINFO = 13,
	T_MX = 15,
	T_TXT = 16,
	T_AAAA = 28,
	T_SRV = 33,
	T_DNAME = 39,
	T_OPT = 41,
	T_SPF = 99,
	T_URI = 256,
};

/*
 * rdata layouts: what the rdata of each known record type holds, piece by
 * piece.  Building from text (enc_rdata), checking captured rdata
 * (dns_check_rdata), moving compression pointers after an edit
 * (dns_fix_pointers), the field tree and JSON (emit_rdata) and the tcpdump
 * line (td_rr) all walk this one table; a type not in it is hex bytes.
 */
enum rd_kind {
	RD_U16 = 1, /* a 16-bit number */
	RD_U32,     /* a 32-bit number */
	RD_NAME,    /* a domain name (compressed in captures, written uncompressed) */
	RD_IPV4,    /* an IPv4 address: the whole rdata */
	RD_IPV6,    /* an IPv6 address: the whole rdata */
	RD_CSTR,    /* one <character-string>; the last such piece takes every string to the end */
	RD_STRS,    /* <character-string>s to the end (text split into 255-byte strings) */
	RD_OPTS,    /* EDNS0 options to the end (OPT) */
	RD_BYTES,   /* the rest, as bytes */
};

/* One piece of an rdata layout and the Wireshark fields that show it. */
struct rd_piece {
	uint8_t kind;     /* enum rd_kind */
	const char *key;  /* the field */
	const char *lkey; /* CSTR, STRS: the length field */
};

enum {
	RDF_IN = 1 << 0,      /* the check holds in class IN only (A: other classes use other formats) */
	RDF_NOCHECK = 1 << 1, /* captured rdata is not checked against the layout */
	RDF_TDONLY = 1 << 2,  /* only tcpdump's line reads the layout: built from hex, shown as bytes */
};

enum { RD_MAXP = 7 };

struct rd_layout {
	uint16_t type;
	const char *name;   /* for messages: "MX" */
	const char *syntax; /* building: the '/'-separated parts ("preference/name") */
	const char *td;     /* tcpdump -nn after the type: a digit prints that piece, anything else is
			       literal; NULL prints nothing */
	uint8_t minparts;   /* building: parts needed (more are an error; missing numbers are 0) */
	uint8_t flags;      /* RDF_* */
	uint8_t np;         /* pieces */
	struct rd_piece pieces[RD_MAXP];
};

#define RD_NAMEONLY(t, n, k, td)                                                                                       \
	{                                                                                                              \
		t, n, "name", td, 1, 0, 1,                                                                             \
		{                                                                                                      \
			{                                                                                              \
				RD_NAME, k, NULL                                                                       \
			}                                                                                              \
		}                                                                                                      \
	}

static const struct rd_layout rd_layouts[] = {
    {T_A, "A", "address", " 0", 1, RDF_IN, 1, {{RD_IPV4, "dns.a", NULL}}},
    {T_AAAA, "AAAA", "address", " 0", 1, 0, 1, {{RD_IPV6, "dns.aaaa", NULL}}},
    RD_NAMEONLY(T_NS, "NS", "dns.ns", " 0"),
    RD_NAMEONLY(T_CNAME, "CNAME", "dns.cname", " 0"),
    RD_NAMEONLY(T_PTR, "PTR", "dns.ptr.domain_name", " 0"),
    RD_NAMEONLY(T_DNAME, "DNAME", "dns.dname", " 0"),
    RD_NAMEONLY(T_MD, "MD", "dns.md", NULL),
    RD_NAMEONLY(T_MF, "MF", "dns.mf", NULL),
    RD_NAMEONLY(T_MB, "MB", "dns.mb", NULL),
    RD_NAMEONLY(T_MG, "MG", "dns.mg", NULL),
    RD_NAMEONLY(T_MR, "MR", "dns.mr", NULL),
    {T_MX,
     "MX",
     "preference/name",
     " 1 0",
     2,
     0,
     2,
     {{RD_U16, "dns.mx.preference", NULL}, {RD_NAME, "dns.mx.mail_exchange", NULL}}},
    {T_SRV,
     "SRV",
     "priority/weight/port/target",
     " 3:2 0 1",
     4,
     0,
     4,
     {{RD_U16, "dns.srv.priority", NULL},
      {RD_U16, "dns.srv.weight", NULL},
      {RD_U16, "dns.srv.port", NULL},
      {RD_NAME, "dns.srv.target", NULL}}},
    {T_SOA,
     "SOA",
     "mname/rname/serial/refresh/retry/expire/minimum",
     NULL,
     2,
     0,
     7,
     {{RD_NAME, "dns.soa.mname", NULL},
      {RD_NAME, "dns.soa.rname", NULL},
      {RD_U32, "dns.soa.serial_number", NULL},
      {RD_U32, "dns.soa.refresh_interval", NULL},
      {RD_U32, "dns.soa.retry_interval", NULL},
      {RD_U32, "dns.soa.expire_limit", NULL},
      {RD_U32, "dns.soa.minimum_ttl", NULL}}},
    {T_TXT, "TXT", "text", "0", 1, 0, 1, {{RD_STRS, "dns.txt", "dns.txt.length"}}},
    {T_SPF, "SPF", "text", NULL, 1, 0, 1, {{RD_STRS, "dns.spf", "dns.spf.length"}}},
    {T_HINFO,
     "HINFO",
     "cpu/os",
     NULL,
     1,
     RDF_NOCHECK,
     2,
     {{RD_CSTR, "dns.hinfo.cpu", "dns.hinfo.cpu_length"}, {RD_CSTR, "dns.hinfo.os", "dns.hinfo.os_length"}}},
    {T_NULL, "NULL", "hex", NULL, 1, 0, 1, {{RD_BYTES, "dns.null", NULL}}},
    {T_OPT, "OPT", NULL, NULL, 0, 0, 1, {{RD_OPTS, NULL, NULL}}},
    {T_URI, /* RFC 7553: tcpdump prints it */
     "URI",
     NULL,
     " 0 1 2",
     0,
     RDF_NOCHECK | RDF_TDONLY,
     3,
     {{RD_U16, NULL, NULL}, {RD_U16, NULL, NULL}, {RD_BYTES, NULL, NULL}}},
};

/* The layout of record type @p type, or NULL (hex bytes). */
static const struct rd_layout *rd_layout(uint16_t type)
{
	for (size_t i = 0; i < sizeof(rd_layouts) / sizeof(rd_layouts[0]); i++)
		if (rd_layouts[i].type == type)
			return &rd_layouts[i];
	return NULL;
}

/* Field indexes (the order of dns_fields). */
enum {
	F_ID,
	F_FLAGS,
	F_QR,
	F_OPCODE,
	F_AA,
	F_TC,
	F_RD,
	F_RA,
	F_Z,
	F_AD,
	F_CD,
	F_RCODE,
	F_QDCOUNT,
	F_ANCOUNT,
	F_NSCOUNT,
	F_ARCOUNT,
	F_QD,
	F_AN,
	F_NS,
	F_AR,
	F_COUNT
};

static const struct umpa_vname dns_opcodes[] = {
    {0, "QUERY"}, {1, "IQUERY"}, {2, "STATUS"}, {4, "NOTIFY"}, {5, "UPDATE"}, {6, "DSO"}, {0, NULL},
};

static const struct umpa_vname dns_rcodes[] = {
    {0, "NoError"},  {1, "FormErr"},    {2, "ServFail"}, {3, "NXDomain"}, {4, "NotImp"},
    {5, "Refused"},  {6, "YXDomain"},   {7, "YXRRSet"},  {8, "NXRRSet"},  {9, "NotAuth"},
    {10, "NotZone"}, {11, "DSOTYPENI"}, {0, NULL},
};

static const struct umpa_vname dns_flag_names[] = {
    {0x8000, "qr"}, {0x0400, "aa"}, {0x0200, "tc"}, {0x0100, "rd"}, {0x0080, "ra"},
    {0x0040, "z"},  {0x0020, "ad"}, {0x0010, "cd"}, {0, NULL},
};

static const struct umpa_vname dns_types[] = {
    {1, "A"},         {2, "NS"},       {3, "MD"},          {4, "MF"},     {5, "CNAME"},     {6, "SOA"},
    {7, "MB"},        {8, "MG"},       {9, "MR"},          {10, "NULL"},  {11, "WKS"},      {12, "PTR"},
    {13, "HINFO"},    {14, "MINFO"},   {15, "MX"},         {16, "TXT"},   {17, "RP"},       {18, "AFSDB"},
    {19, "X25"},      {20, "ISDN"},    {21, "RT"},         {22, "NSAP"},  {23, "NSAP_PTR"}, {24, "SIG"},
    {25, "KEY"},      {26, "PX"},      {27, "GPOS"},       {28, "AAAA"},  {29, "LOC"},      {30, "NXT"},
    {31, "EID"},      {32, "NIMLOC"},  {33, "SRV"},        {34, "ATMA"},  {35, "NAPTR"},    {36, "KX"},
    {37, "CERT"},     {38, "A6"},      {39, "DNAME"},      {40, "SINK"},  {41, "OPT"},      {42, "APL"},
    {43, "DS"},       {44, "SSHFP"},   {45, "IPSECKEY"},   {46, "RRSIG"}, {47, "NSEC"},     {48, "DNSKEY"},
    {49, "DHCID"},    {50, "NSEC3"},   {51, "NSEC3PARAM"}, {52, "TLSA"},  {53, "SMIMEA"},   {55, "HIP"},
    {59, "CDS"},      {60, "CDNSKEY"}, {61, "OPENPGPKEY"}, {62, "CSYNC"}, {63, "ZONEMD"},   {64, "SVCB"},
    {65, "HTTPS"},    {99, "SPF"},     {100, "UINFO"},     {101, "UID"},  {102, "GID"},     {103, "UNSPEC"},
    {104, "UNSPECA"}, {249, "TKEY"},   {250, "TSIG"},      {251, "IXFR"}, {252, "AXFR"},    {253, "MAILB"},
    {254, "MAILA"},   {255, "ANY"},    {256, "URI"},       {257, "CAA"},  {32768, "TA"},    {32769, "DLV"},
    {0, NULL},
};

/* Classes: the first name of a value is the one shown (Wireshark's). */
static const struct umpa_vname dns_classes[] = {
    {1, "IN"}, {2, "CS"}, {3, "CH"}, {3, "CHAOS"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"}, {0, NULL},
};

static const struct umpa_vname dns_opt_codes[] = {
    {3, "NSID"},     {8, "CSUBNET"},
    {10, "COOKIE"},  {11, "EDNS_TCP_KEEPALIVE"},
    {12, "PADDING"}, {15, "EXTENDED_DNS_ERROR"},
    {0, NULL},
};

/* ------------------------------------------------------------------------ */
/* Reading messages                                                          */

/* Text styles for names and strings. */
enum { TXT_STR = 0, TXT_NAME = 1, TXT_TCPDUMP = 2 };

/*
 * Append one byte of a label or string to txt[*tl]: escaped as in master
 * files (TXT_STR, TXT_NAME: "\ddd", "\." in labels), or as tcpdump's
 * fn_print_char does it ("M-" for 8-bit, "^" for control characters).
 */
static void txt_put(char *txt, size_t txtsz, size_t *tl, uint8_t ch, int style)
{
	if (*tl + 5 > txtsz)
		return;
	if (style == TXT_TCPDUMP) {
		if (ch & 0x80) {
			ch &= 0x7f;
			txt[(*tl)++] = 'M';
			txt[(*tl)++] = '-';
		}
		if (ch < 0x20 || ch == 0x7f) {
			ch ^= 0x40;
			txt[(*tl)++] = '^';
		}
		txt[(*tl)++] = (char)ch;
	} else if (ch < 0x20 || ch > 0x7e) {
		txt[(*tl)++] = '\\';
		txt[(*tl)++] = (char)('0' + ch / 100);
		txt[(*tl)++] = (char)('0' + ch / 10 % 10);
		txt[(*tl)++] = (char)('0' + ch % 10);
	} else {
		if ((style == TXT_NAME && ch == '.') || ch == '\\')
			txt[(*tl)++] = '\\';
		txt[(*tl)++] = (char)ch;
	}
	txt[*tl] = 0;
}

/* Append @p n wire bytes at @p off of @p c to @p txt as txt_put does.  Returns 0 or -1 (short). */
static int txt_put_cur(char *txt, size_t txtsz, size_t *tl, struct umpa_cur *c, size_t off, size_t n, int style)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t ch;
		if (umpa_cur_u8_at(c, off + i, &ch) < 0)
			return -1;
		txt_put(txt, txtsz, tl, ch, style);
	}
	return 0;
}

/*
 * Read the name at @off of the message cursor @c, following compression
 * pointers.  *end receives the offset just after the name's inline part.  When
 * @txt is not NULL the name is written there as text, labels joined by '.',
 * without a trailing dot ("" for the root).  *nlab (optional) receives the
 * label count and *wire (optional) the uncompressed length; @style is a
 * TXT_* text style.  Returns 0 or a
 * DNS_E* code.  Terminates on any input: every pointer must point strictly
 * before the place the name (or the previous jump) started.
 */
static int dns_name(struct umpa_cur *c, size_t off, size_t *end, char *txt, size_t txtsz, unsigned *nlab,
		    unsigned *wire, int style)
{
	size_t pos = off, lim = off, tl = 0;
	unsigned jumps = 0, labels = 0, wl = 1;
	int jumped = 0;

	if (txt && txtsz)
		txt[0] = 0;
	for (;;) {
		uint8_t b, b2;

		if (umpa_cur_u8_at(c, pos, &b) < 0)
			return DNS_ESHORT;
		if ((b & 0xc0) == 0xc0) {
			size_t t;
			if (umpa_cur_u8_at(c, pos + 1, &b2) < 0)
				return DNS_ESHORT;
			if (!jumped) {
				*end = pos + 2;
				jumped = 1;
			}
			t = (size_t)(b & 0x3f) << 8 | b2;
			if (t >= lim || ++jumps > DNS_JUMPS_MAX)
				return DNS_ELOOP;
			lim = pos = t;
			continue;
		}
		if (b & 0xc0)
			return DNS_ELABEL; /* 0x40 extended / 0x80 reserved label types */
		if (b == 0) {
			if (!jumped)
				*end = pos + 1;
			break;
		}
		labels++;
		wl += 1u + b;
		if (labels > DNS_LABELS_MAX || wl > DNS_NAME_MAX)
			return DNS_ELONG;
		if (!umpa_cur_has(c, pos + 1, b))
			return DNS_ESHORT;
		if (txt) {
			if (tl && tl + 2 < txtsz) {
				txt[tl++] = '.';
				txt[tl] = 0;
			}
			txt_put_cur(txt, txtsz, &tl, c, pos + 1, b, style);
		}
		pos += 1u + b;
	}
	if (nlab)
		*nlab = labels;
	if (wire)
		*wire = wl;
	return 0;
}

/* One question or resource record, as found by dns_next. */
struct dns_rr {
	unsigned sect; /* 0 qd, 1 an, 2 ns, 3 ar */
	size_t off;    /* where the entry (its owner name) starts */
	uint16_t type, klass, rdlen;
	uint32_t ttl;
	size_t rdata; /* offset of the rdata (questions: of the end) */
	size_t end;   /* offset after the entry */
};

/* A walk over the entries of a message. */
struct dns_it {
	struct umpa_cur *c;
	size_t pos;
	unsigned sect;
	uint32_t left[4];
};

static void dns_it_init(struct dns_it *it, struct umpa_cur *c, const uint32_t counts[4])
{
	it->c = c;
	it->pos = DNS_HDR;
	it->sect = 0;
	memcpy(it->left, counts, sizeof(it->left));
}

/* The next entry: 1 when *rr was filled, 0 at the end of the counts, or a DNS_E* code. */
static int dns_next(struct dns_it *it, struct dns_rr *rr)
{
	size_t e;
	int r;

	while (it->sect < 4 && it->left[it->sect] == 0)
		it->sect++;
	if (it->sect >= 4)
		return 0;
	memset(rr, 0, sizeof(*rr));
	rr->sect = it->sect;
	rr->off = it->pos;
	if ((r = dns_name(it->c, it->pos, &e, NULL, 0, NULL, NULL, TXT_NAME)) < 0)
		return r;
	if (umpa_cur_be16_at(it->c, e, &rr->type) < 0 || umpa_cur_be16_at(it->c, e + 2, &rr->klass) < 0)
		return DNS_ESHORT;
	if (it->sect == 0) {
		rr->rdata = rr->end = e + 4;
	} else {
		if (umpa_cur_be32_at(it->c, e + 4, &rr->ttl) < 0 || umpa_cur_be16_at(it->c, e + 8, &rr->rdlen) < 0)
			return DNS_ESHORT;
		rr->rdata = e + 10;
		if (!umpa_cur_has(it->c, rr->rdata, rr->rdlen))
			return DNS_ESHORT;
		rr->end = rr->rdata + rr->rdlen;
	}
	it->pos = rr->end;
	it->left[it->sect]--;
	return 1;
}

/* The header's four counts. */
static void dns_hdr_counts(struct umpa_cur *c, uint32_t cnt[4])
{
	for (unsigned s = 0; s < 4; s++) {
		uint16_t v = 0;
		umpa_cur_be16_at(c, 4 + 2 * s, &v);
		cnt[s] = v;
	}
}

/* A cursor over layer li's message (its header). */
static void dns_msg_cur(const struct umpa_pkt *p, unsigned li, struct umpa_cur *c)
{
	const struct umpa_layer *l = &p->l[li];
	uint32_t n = l->hlen <= l->len ? l->hlen : l->len;

	umpa_cur_init(c, p->data + l->off, n);
}

/* Does layer li (dissected) carry a 2-byte TCP length prefix just before it? */
static int dns_prefixed(const struct umpa_pkt *p, unsigned li)
{
	const struct umpa_layer *l, *pl;

	for (;;) {
		if (li == 0)
			return 0;
		l = &p->l[li];
		pl = &p->l[li - 1];
		if (l->off != pl->off + pl->hlen + 2)
			return 0;
		if (pl->proto == &umpa_proto_tcp)
			return 1;
		if (pl->proto != &umpa_proto_dns)
			return 0;
		li--; /* another message of the same segment: prefixed if that one was */
	}
}

/*
 * Byte ranges of the sections of layer li's message: section s spans
 * [b[s], b[s+1]) (offsets in the layer).  The entry counts come from l->aux
 * (what set_var built) or, when it is 0, from the header.  An entry that
 * does not parse ends the walk: its section keeps the rest of the message and
 * the later ones are empty at its end.  cnt[] receives the entries found.
 */
static void dns_sections(const struct umpa_pkt *p, unsigned li, size_t b[5], uint32_t cnt[4])
{
	struct umpa_cur c;
	struct dns_it it;
	struct dns_rr rr;
	uint32_t want[4];
	uint32_t aux = p->l[li].aux;
	unsigned s;
	int r;

	dns_msg_cur(p, li, &c);
	if (aux)
		for (s = 0; s < 4; s++)
			want[s] = aux >> (8 * s) & 0xff;
	else
		dns_hdr_counts(&c, want);
	memset(cnt, 0, 4 * sizeof(cnt[0]));
	for (s = 0; s < 5; s++)
		b[s] = c.len < DNS_HDR ? c.len : DNS_HDR;
	if (c.len < DNS_HDR)
		return;
	dns_it_init(&it, &c, want);
	while ((r = dns_next(&it, &rr)) > 0) {
		cnt[rr.sect]++;
		for (s = rr.sect + 1; s < 5; s++)
			b[s] = rr.end;
	}
	if (r < 0) {
		for (s = it.sect + 1; s < 5; s++)
			b[s] = c.len;
	}
}

/* ------------------------------------------------------------------------ */
/* Dissecting                                                                */

static void dns_flag_invalid(struct umpa_pkt *p, unsigned li, const char *why)
{
	struct umpa_layer *l = &p->l[li];

	if (l->flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID))
		return;
	l->flags |= UMPA_L_INVALID;
	l->why = why;
}

/* Flag layer li for a reading error @r. */
static void dns_flag_err(struct umpa_pkt *p, unsigned li, int r)
{
	switch (r) {
	case DNS_ESHORT:
		if (!(p->l[li].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)))
			umpa_layer_short(p, li, "dns records run past the message");
		break;
	case DNS_ELOOP:
		dns_flag_invalid(p, li, "dns name loop");
		break;
	case DNS_ELONG:
		dns_flag_invalid(p, li, "dns name too long");
		break;
	case DNS_ELABEL:
		dns_flag_invalid(p, li, "dns bad label type");
		break;
	default:
		dns_flag_invalid(p, li, "dns rdata does not match its length");
		break;
	}
}

/* A name inside rdata [rdata, rdend): must be valid and end inside the rdata. */
static int dns_rdata_name(struct umpa_cur *c, size_t at, size_t rdend, size_t *next)
{
	size_t e;
	int r;

	if (at >= rdend)
		return DNS_ERDATA;
	if ((r = dns_name(c, at, &e, NULL, 0, NULL, NULL, TXT_NAME)) < 0)
		return r == DNS_ESHORT ? DNS_ERDATA : r; /* the rdata is all there: the name overran it */
	if (e > rdend)
		return DNS_ERDATA;
	if (next)
		*next = e;
	return 0;
}

/* Check that the rdata of a known type holds what its layout says. Returns 0 or a DNS_E* code. */
static int dns_check_rdata(struct umpa_cur *c, const struct dns_rr *rr)
{
	const struct rd_layout *lay = rd_layout(rr->type);
	size_t end = rr->rdata + rr->rdlen, n = rr->rdata;
	int r;

	if (rr->sect == 0 || rr->rdlen == 0)
		return 0; /* empty rdata: dynamic update deletions (RFC 2136) */
	if (!lay || lay->flags & RDF_NOCHECK || (lay->flags & RDF_IN && rr->klass != 1))
		return 0;
	for (unsigned i = 0; i < lay->np; i++) {
		switch (lay->pieces[i].kind) {
		case RD_U16:
			n += 2;
			break;
		case RD_U32:
		case RD_IPV4:
			n += 4;
			break;
		case RD_IPV6:
			n += 16;
			break;
		case RD_NAME:
			if ((r = dns_rdata_name(c, n, end, &n)) < 0)
				return r;
			break;
		case RD_CSTR:
		case RD_STRS:
			while (n < end) {
				uint8_t sl = 0;
				umpa_cur_u8_at(c, n, &sl);
				n += 1u + sl;
			}
			break;
		case RD_OPTS:
			while (n < end) {
				uint16_t ol = 0;
				if (n + 4 > end)
					return DNS_ERDATA;
				umpa_cur_be16_at(c, n + 2, &ol);
				n += 4u + ol;
			}
			break;
		default: /* RD_BYTES */
			n = end;
			break;
		}
	}
	return n == end ? 0 : DNS_ERDATA;
}

static const struct umpa_proto *dns_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	struct dns_it it;
	struct dns_rr rr;
	uint32_t cnt[4];
	int tcp = 0, r;

	if (li > 0 && (p->l[li - 1].proto == &umpa_proto_tcp ||
		       (p->l[li - 1].proto == &umpa_proto_dns && dns_prefixed(p, li - 1)))) {
		uint16_t mlen = 0;
		umpa_layer_cur(p, li, &c);
		umpa_cur_be16_at(&c, 0, &mlen); /* the driver checked hdr_len bytes are there */
		tcp = 1;
		l->off += 2;
		l->len -= 2;
		if (mlen < DNS_HDR) {
			l->hlen = mlen < l->len ? mlen : l->len;
			dns_flag_invalid(p, li, "dns tcp length shorter than a dns header");
			return NULL;
		}
		if (mlen <= l->len) {
			l->hlen = mlen;
		} else {
			l->hlen = l->len;
			if (l->off + l->len >= p->len && p->len < p->wirelen) {
				umpa_layer_short(p, li, "dns message not captured");
			} else {
				l->flags |= UMPA_L_TRUNCATED;
				l->why = "dns message continues in the next tcp segment";
			}
		}
		if (l->hlen < DNS_HDR)
			return NULL;
	} else {
		l->hlen = l->len;
	}
	dns_msg_cur(p, li, &c);
	dns_hdr_counts(&c, cnt);
	dns_it_init(&it, &c, cnt);
	while ((r = dns_next(&it, &rr)) > 0) {
		int e;
		/* validate the owner name fully (dns_next did), then the rdata */
		if ((e = dns_check_rdata(&c, &rr)) < 0) {
			dns_flag_err(p, li, e);
			break;
		}
	}
	if (r < 0)
		dns_flag_err(p, li, r);
	if (tcp && l->len - l->hlen >= 2 && !(l->flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)))
		return &umpa_proto_dns; /* another message in the same segment */
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Building                                                                  */

/* A writer that only counts when p is NULL (the measuring pass). */
struct dns_w {
	uint8_t *p;
	size_t n, cap;
};

static void w_put(struct dns_w *w, const void *b, size_t n)
{
	if (w->p && n <= w->cap - w->n && n)
		memcpy(w->p + w->n, b, n);
	w->n += n;
}

static void w_u8(struct dns_w *w, unsigned v)
{
	uint8_t b = (uint8_t)v;
	w_put(w, &b, 1);
}

static void w_be16(struct dns_w *w, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	w_put(w, b, 2);
}

static void w_be32(struct dns_w *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	w_put(w, b, 4);
}

/* Overwrite a 16-bit value written earlier at @at. */
static void w_patch16(struct dns_w *w, size_t at, unsigned v)
{
	if (w->p && at + 2 <= w->cap) {
		w->p[at] = (uint8_t)(v >> 8);
		w->p[at + 1] = (uint8_t)v;
	}
}

/* Trim blanks around [*s, *s + *n). */
static void dns_trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Copy a part into buf with escapes removed. Returns 0, or -1 if it does not fit. */
static int dns_copy(const char *s, size_t n, char *buf, size_t bsz)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		if (k + 1 >= bsz)
			return -1;
		buf[k++] = s[i];
	}
	buf[k] = 0;
	return 0;
}

/* One escaped character of [s, end) at *i: "\ddd" or "\x" or a plain byte. */
static uint8_t dns_unescape(const char *s, size_t n, size_t *i)
{
	uint8_t ch = (uint8_t)s[*i];

	if (ch == '\\' && *i + 1 < n) {
		if (*i + 3 < n && isdigit((unsigned char)s[*i + 1]) && isdigit((unsigned char)s[*i + 2]) &&
		    isdigit((unsigned char)s[*i + 3])) {
			unsigned v = (unsigned)(s[*i + 1] - '0') * 100 + (unsigned)(s[*i + 2] - '0') * 10 +
				     (unsigned)(s[*i + 3] - '0');
			*i += 4;
			return (uint8_t)v;
		}
		ch = (uint8_t)s[*i + 1];
		*i += 2;
		return ch;
	}
	(*i)++;
	return ch;
}

/* Write a name from text ("example.com", "example.com.", "." for the root) uncompressed. */
static int enc_name(struct dns_w *w, const char *s, size_t n, struct umpa_err *e)
{
	uint8_t lab[64];
	size_t ll = 0, i = 0, wire = 1;

	dns_trim(&s, &n);
	if (n == 1 && s[0] == '.')
		n = 0;
	while (i < n) {
		if (s[i] == '.') {
			if (ll == 0)
				return umpa_err_set(e, UMPA_EINVAL, "dns name '%.*s': empty label", (int)n, s);
			w_u8(w, (unsigned)ll);
			w_put(w, lab, ll);
			wire += 1 + ll;
			ll = 0;
			i++;
			continue;
		}
		if (ll == 63)
			return umpa_err_set(e, UMPA_EINVAL, "dns name '%.*s': label longer than 63 bytes", (int)n, s);
		lab[ll++] = dns_unescape(s, n, &i);
	}
	if (ll) {
		w_u8(w, (unsigned)ll);
		w_put(w, lab, ll);
		wire += 1 + ll;
	}
	w_u8(w, 0);
	if (wire > DNS_NAME_MAX)
		return umpa_err_set(e, UMPA_EINVAL, "dns name '%.*s' longer than 255 bytes", (int)n, s);
	return 0;
}

/* A type by name (A, NSAP-PTR), TYPEnnn or number. */
static int dns_parse_type(const char *s, size_t n, uint16_t *t, struct umpa_err *e)
{
	char buf[32];
	uint64_t v;

	dns_trim(&s, &n);
	if (umpa_spec_num((struct umpa_span){s, n}, 0xffff, &v) == 0 ||
	    (n > 4 && !strncasecmp(s, "TYPE", 4) && umpa_spec_num((struct umpa_span){s + 4, n - 4}, 0xffff, &v) == 0) ||
	    (dns_copy(s, n, buf, sizeof(buf)) == 0 && umpa_vname_value(dns_types, buf, &v) == 0)) {
		*t = (uint16_t)v;
		return 0;
	}
	{
		char near[UMPA_NEAR_MAX + 1];
		const char *best =
		    dns_copy(s, n, buf, sizeof(buf)) == 0 ? umpa_vname_near(dns_types, buf, near, sizeof near) : NULL;
		return umpa_err_set(e, UMPA_EINVAL,
				    "dns: unknown type '%.*s' (" UMPA_NEAR_FMT "A, AAAA, MX, TYPE99 or a number)",
				    (int)n, s, UMPA_NEAR_ARGS(best));
	}
}

/* A class by name or CLASSnnn (and by number when @numeric). Returns 0 or -1 (no message). */
static int dns_parse_class(const char *s, size_t n, int numeric, uint16_t *k)
{
	char buf[32];
	uint64_t v;

	dns_trim(&s, &n);
	if ((numeric && umpa_spec_num((struct umpa_span){s, n}, 0xffff, &v) == 0) ||
	    (n > 5 && !strncasecmp(s, "CLASS", 5) &&
	     umpa_spec_num((struct umpa_span){s + 5, n - 5}, 0xffff, &v) == 0) ||
	    (dns_copy(s, n, buf, sizeof(buf)) == 0 && umpa_vname_value(dns_classes, buf, &v) == 0)) {
		*k = (uint16_t)v;
		return 0;
	}
	return -1;
}

/* Hex bytes (the spec grammar of umpa_spec.h: separators ':', '-', '.', ' ', a leading 0x). */
static int enc_hex(struct dns_w *w, const char *s, size_t n, struct umpa_err *e)
{
	struct umpa_span a = {s, n};
	long k = umpa_spec_hex(a, NULL, SIZE_MAX);

	a = umpa_span_trim(a);
	if (k == UMPA_SPEC_ODD)
		return umpa_err_set(e, UMPA_EINVAL, "dns: odd number of hex digits in '%.*s'", (int)a.n, a.s);
	if (k < 0)
		return umpa_err_set(e, UMPA_EINVAL, "dns: '%.*s' is not hex bytes", (int)a.n, a.s);
	if (w->p && w->n <= w->cap && (size_t)k <= w->cap - w->n)
		umpa_spec_hex(a, w->p + w->n, (size_t)k);
	w->n += (size_t)k;
	return 0;
}

/* A <character-string> (at most 255 bytes) from escaped text. */
static int enc_cstr(struct dns_w *w, const char *s, size_t n, struct umpa_err *e)
{
	uint8_t buf[255];
	size_t k = 0, i = 0;

	while (i < n) {
		if (k == sizeof(buf))
			return umpa_err_set(e, UMPA_EINVAL, "dns: string longer than 255 bytes");
		buf[k++] = dns_unescape(s, n, &i);
	}
	w_u8(w, (unsigned)k);
	w_put(w, buf, k);
	return 0;
}

/* TXT rdata: "s1" "s2" ... or plain text cut into 255-byte strings. */
static int enc_txt(struct dns_w *w, const char *s, size_t n, struct umpa_err *e)
{
	uint8_t buf[255];
	size_t i = 0, k = 0;
	int rc;

	if (n && s[0] == '"') {
		while (i < n) {
			size_t st;
			while (i < n && isspace((unsigned char)s[i]))
				i++;
			if (i == n)
				break;
			if (s[i] != '"')
				return umpa_err_set(e, UMPA_EINVAL, "dns TXT: expected '\"' in '%.*s'", (int)n, s);
			st = ++i;
			while (i < n && s[i] != '"')
				i += s[i] == '\\' && i + 1 < n ? 2 : 1;
			if (i == n)
				return umpa_err_set(e, UMPA_EINVAL, "dns TXT: unterminated string in '%.*s'", (int)n,
						    s);
			if ((rc = enc_cstr(w, s + st, i - st, e)) < 0)
				return rc;
			i++;
		}
		return 0;
	}
	do { /* at least one string, possibly empty */
		k = 0;
		while (i < n && k < sizeof(buf))
			buf[k++] = dns_unescape(s, n, &i);
		w_u8(w, (unsigned)k);
		w_put(w, buf, k);
	} while (i < n);
	return 0;
}

/* Split rdata into up to @max parts at '/' or ':' (the last part takes the rest); returns how many. */
static unsigned dns_fields_of(const char *s, size_t n, const char **ps, size_t *pl, unsigned max)
{
	struct umpa_span rest = {s, n}, part;
	unsigned k = 0;
	int more = 1;

	while (more && k < max) {
		if (k + 1 < max) {
			more = umpa_span_cut(rest, "/:", &part, &rest);
		} else {
			part = rest;
			more = 0;
		}
		ps[k] = part.s;
		pl[k++] = part.n;
	}
	return k;
}

/* EDNS0 option list and OPT pseudo-RR: name:OPT[:udpsize[:opt...]]. */
static int enc_opt(struct dns_w *w, struct umpa_span name, const struct umpa_span *after, struct umpa_err *e)
{
	uint64_t udp = 4096, v;
	uint32_t ttl = 0;
	size_t at;
	struct umpa_span rest = after ? *after : name, part, key, value;
	int rc, more = after != NULL;

	if ((rc = enc_name(w, name.s, name.n, e)) < 0)
		return rc;
	if (more) {
		more = umpa_span_cut(rest, ":", &part, &rest);
		part = umpa_span_trim(part);
		if (part.n && umpa_spec_num(part, 0xffff, &udp) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "dns OPT: bad UDP payload size '%.*s'", (int)part.n,
					    part.s);
	}
	w_be16(w, T_OPT);
	w_be16(w, (unsigned)udp);
	/* the TTL carries ext_rcode, version and the DO/Z flags; patched below */
	at = w->n;
	w_be32(w, 0);
	w_be16(w, 0);
	while (more) {
		const char *ps, *val;
		size_t vl, kl;
		int eq;
		more = umpa_span_cut(rest, ":", &part, &rest);
		part = umpa_span_trim(part);
		if (part.n == 0)
			continue;
		eq = umpa_span_cut(part, "=", &key, &value);
		ps = key.s;
		kl = key.n;
		val = value.s;
		vl = value.n;
		if (kl == 2 && !strncasecmp(ps, "do", 2)) {
			ttl |= 0x8000;
		} else if (kl == 7 && !strncasecmp(ps, "version", 7) && eq &&
			   umpa_spec_num((struct umpa_span){val, vl}, 255, &v) == 0) {
			ttl = (ttl & 0xff00ffffu) | (uint32_t)v << 16;
		} else if (((kl == 9 && !strncasecmp(ps, "ext_rcode", 9)) ||
			    (kl == 5 && !strncasecmp(ps, "rcode", 5))) &&
			   eq && umpa_spec_num((struct umpa_span){val, vl}, 255, &v) == 0) {
			ttl = (ttl & 0x00ffffffu) | (uint32_t)v << 24;
		} else if (kl == 1 && (ps[0] == 'z' || ps[0] == 'Z') && eq &&
			   umpa_spec_num((struct umpa_span){val, vl}, 0xffff, &v) == 0) {
			ttl = (ttl & 0xffff0000u) | (uint32_t)v;
		} else if (kl == 4 && !strncasecmp(ps, "nsid", 4)) {
			size_t ol;
			w_be16(w, 3);
			ol = w->n;
			w_be16(w, 0);
			if (eq && (rc = enc_hex(w, val, vl, e)) < 0)
				return rc;
			w_patch16(w, ol, (unsigned)(w->n - ol - 2));
		} else if (kl == 6 && !strncasecmp(ps, "cookie", 6) && eq) {
			size_t ol;
			w_be16(w, 10);
			ol = w->n;
			w_be16(w, 0);
			if ((rc = enc_hex(w, val, vl, e)) < 0)
				return rc;
			w_patch16(w, ol, (unsigned)(w->n - ol - 2));
		} else if (kl == 7 && !strncasecmp(ps, "padding", 7) && eq &&
			   umpa_spec_num((struct umpa_span){val, vl}, 0xffff, &v) == 0) {
			w_be16(w, 12);
			w_be16(w, (unsigned)v);
			for (uint64_t i = 0; i < v; i++)
				w_u8(w, 0);
		} else if (kl == 3 && !strncasecmp(ps, "ecs", 3) && eq) {
			uint8_t a[16];
			char ab[64];
			const char *slash = memchr(val, '/', vl);
			uint64_t plen = 0, scope = 0;
			int fam;
			size_t al = slash ? (size_t)(slash - val) : vl;
			if (dns_copy(val, al, ab, sizeof(ab)) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "dns OPT: bad ecs '%.*s'", (int)vl, val);
			fam = inet_pton(AF_INET, ab, a) == 1 ? 1 : inet_pton(AF_INET6, ab, a) == 1 ? 2 : 0;
			if (!fam)
				return umpa_err_set(e, UMPA_EINVAL, "dns OPT: bad ecs address '%s'", ab);
			plen = fam == 1 ? 32 : 128;
			if (slash) {
				const char *s2 = slash + 1, *sl2;
				size_t l2 = vl - al - 1;
				sl2 = memchr(s2, '/', l2);
				if (sl2 && umpa_spec_num((struct umpa_span){sl2 + 1, l2 - (size_t)(sl2 + 1 - s2)}, 255,
							 &scope) < 0)
					return umpa_err_set(e, UMPA_EINVAL, "dns OPT: bad ecs scope");
				if (umpa_spec_num((struct umpa_span){s2, sl2 ? (size_t)(sl2 - s2) : l2},
						  fam == 1 ? 32 : 128, &plen) < 0)
					return umpa_err_set(e, UMPA_EINVAL, "dns OPT: bad ecs prefix length");
			}
			w_be16(w, 8);
			w_be16(w, (unsigned)(4 + (plen + 7) / 8));
			w_be16(w, (unsigned)fam);
			w_u8(w, (unsigned)plen);
			w_u8(w, (unsigned)scope);
			w_put(w, a, (size_t)(plen + 7) / 8);
		} else if (eq && umpa_spec_num((struct umpa_span){ps, kl}, 0xffff, &v) == 0) {
			size_t ol;
			w_be16(w, (unsigned)v);
			ol = w->n;
			w_be16(w, 0);
			if ((rc = enc_hex(w, val, vl, e)) < 0)
				return rc;
			w_patch16(w, ol, (unsigned)(w->n - ol - 2));
		} else {
			return umpa_err_set(e, UMPA_EINVAL,
					    "dns OPT: bad option '%.*s' (do, version=N, ext_rcode=N, z=N, nsid, "
					    "cookie=hex, padding=N, ecs=addr/len, N=hex)",
					    (int)part.n, part.s);
		}
	}
	if (w->n - at - 6 > 0xffff)
		return umpa_err_set(e, UMPA_ERANGE, "dns OPT: options longer than 65535 bytes");
	if (w->p && at + 6 <= w->cap) {
		w->p[at] = (uint8_t)(ttl >> 24);
		w->p[at + 1] = (uint8_t)(ttl >> 16);
		w->p[at + 2] = (uint8_t)(ttl >> 8);
		w->p[at + 3] = (uint8_t)ttl;
	}
	w_patch16(w, at + 4, (unsigned)(w->n - at - 6));
	return 0;
}

/* One piece of rdata from its text part [s, s+n) (NULL: the part was not given). */
static int enc_piece(struct dns_w *w, const struct rd_layout *lay, const struct rd_piece *pc, const char *s, size_t n,
		     struct umpa_err *e)
{
	char buf[64];
	uint8_t a[16];
	uint64_t v = 0;

	switch (pc->kind) {
	case RD_U16:
	case RD_U32:
		if (s && umpa_spec_num((struct umpa_span){s, n}, pc->kind == RD_U16 ? 0xffff : 0xffffffffu, &v) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "dns %s: bad number '%.*s' (want %s)", lay->name, (int)n, s,
					    lay->syntax);
		if (pc->kind == RD_U16)
			w_be16(w, (unsigned)v);
		else
			w_be32(w, (uint32_t)v);
		return 0;
	case RD_IPV4:
	case RD_IPV6: {
		int v6 = pc->kind == RD_IPV6;
		if (dns_copy(s, n, buf, sizeof(buf)) < 0 || inet_pton(v6 ? AF_INET6 : AF_INET, buf, a) != 1)
			return umpa_err_set(e, UMPA_EINVAL, "dns %s: '%.*s' is not an %s address", lay->name, (int)n, s,
					    v6 ? "IPv6" : "IPv4");
		w_put(w, a, v6 ? 16 : 4);
		return 0;
	}
	case RD_NAME:
		return enc_name(w, s, n, e);
	case RD_CSTR:
		return enc_cstr(w, s ? s : "", s ? n : 0, e);
	case RD_STRS:
		return enc_txt(w, s, n, e);
	default: /* RD_BYTES */
		return enc_hex(w, s, n, e);
	}
}

/* rdata of @type from text: the parts its layout names, separated by '/' (or ':'); other types take hex. */
static int enc_rdata(struct dns_w *w, uint16_t type, const char *s, size_t n, struct umpa_err *e)
{
	const struct rd_layout *lay = rd_layout(type);
	const char *ps[RD_MAXP];
	size_t pl[RD_MAXP];
	unsigned k;
	int rc;

	dns_trim(&s, &n);
	if (!lay || lay->flags & RDF_TDONLY ||
	    (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && lay->pieces[0].kind != RD_STRS))
		return enc_hex(w, s, n, e); /* "0x...": raw rdata for any type (a lying A) */
	if (n == 0 && lay->pieces[0].kind != RD_STRS)
		return 0;
	if (lay->np == 1)
		return enc_piece(w, lay, &lay->pieces[0], s, n, e);
	k = dns_fields_of(s, n, ps, pl, lay->np);
	if (k < lay->minparts)
		return umpa_err_set(e, UMPA_EINVAL, "dns %s: want %s, not '%.*s'", lay->name, lay->syntax, (int)n, s);
	for (unsigned i = 0; i < lay->np; i++)
		if ((rc = enc_piece(w, lay, &lay->pieces[i], i < k ? ps[i] : NULL, i < k ? pl[i] : 0, e)) < 0)
			return rc;
	return 0;
}

/* One section entry from its text [s, s+n): a question (sect 0) or a record. */
static int enc_item(struct dns_w *w, unsigned sect, const char *s, size_t n, struct umpa_err *e)
{
	struct umpa_span rest = {s, n}, name, tp = {s, 0}, p3 = {s, 0}, p4 = {s, 0}, after;
	size_t rdl;
	uint16_t type = T_A, klass = 1;
	uint64_t ttl = 0;
	int rc, more, more2;

	more = umpa_span_cut(rest, ":", &name, &rest);
	if (more)
		more = umpa_span_cut(rest, ":", &tp, &rest);
	if (tp.n && (rc = dns_parse_type(tp.s, tp.n, &type, e)) < 0)
		return rc;
	if (sect == 0) {
		if (more) {
			if (umpa_span_cut(rest, ":", &p3, &rest))
				return umpa_err_set(e, UMPA_EINVAL, "dns question '%.*s': want name[:type[:class]]",
						    (int)n, s);
			if (dns_parse_class(p3.s, p3.n, 1, &klass) < 0) {
				char want[32], near[UMPA_NEAR_MAX + 1];
				const char *best = dns_copy(p3.s, p3.n, want, sizeof want) == 0
						       ? umpa_vname_near(dns_classes, want, near, sizeof near)
						       : NULL;
				return umpa_err_set(e, UMPA_EINVAL,
						    "dns: unknown class '%.*s' (" UMPA_NEAR_FMT
						    "IN, CH, HS, ANY, CLASS3 or a number)",
						    (int)p3.n, p3.s, UMPA_NEAR_ARGS(best));
			}
		}
		if ((rc = enc_name(w, name.s, name.n, e)) < 0)
			return rc;
		w_be16(w, type);
		w_be16(w, klass);
		return 0;
	}
	if (tp.n == 0)
		return umpa_err_set(e, UMPA_EINVAL, "dns record '%.*s': want name:type:ttl:rdata", (int)n, s);
	if (type == T_OPT)
		return enc_opt(w, name, more ? &rest : NULL, e);
	if (more) {
		more2 = umpa_span_cut(rest, ":", &p3, &after);
		if (dns_parse_class(p3.s, p3.n, 0, &klass) == 0) {
			rest = after;
			more = more2;
			if (more)
				more = umpa_span_cut(rest, ":", &p4, &rest);
			if (p4.n && umpa_spec_num(p4, 0xffffffffu, &ttl) < 0)
				return umpa_err_set(e, UMPA_EINVAL, "dns record '%.*s': bad ttl '%.*s'", (int)n, s,
						    (int)p4.n, p4.s);
		} else {
			rest = after;
			more = more2;
			if (p3.n && umpa_spec_num(p3, 0xffffffffu, &ttl) < 0)
				return umpa_err_set(e, UMPA_EINVAL,
						    "dns record '%.*s': '%.*s' is neither a class nor a ttl", (int)n, s,
						    (int)p3.n, p3.s);
		}
	}
	if ((rc = enc_name(w, name.s, name.n, e)) < 0)
		return rc;
	w_be16(w, type);
	w_be16(w, klass);
	w_be32(w, (uint32_t)ttl);
	rdl = w->n;
	w_be16(w, 0);
	if (more && (rc = enc_rdata(w, type, rest.s, rest.n, e)) < 0)
		return rc;
	if (w->n - rdl - 2 > 0xffff)
		return umpa_err_set(e, UMPA_ERANGE, "dns record '%.*s': rdata longer than 65535 bytes", (int)n, s);
	w_patch16(w, rdl, (unsigned)(w->n - rdl - 2));
	return 0;
}

/* Encode every item of @spec into @w; *count receives how many. */
static int enc_section(struct dns_w *w, unsigned sect, const char *spec, uint32_t *count, struct umpa_err *e)
{
	struct umpa_span s = umpa_span_of(spec), item;
	int rc;

	*count = 0;
	while (umpa_spec_next(&s, &item)) {
		if ((rc = enc_item(w, sect, item.s, item.n, e)) < 0)
			return rc;
		++*count;
	}
	return 0;
}

/*
 * After a section was replaced, compression pointers in the later sections
 * that pointed past the old section must follow the bytes that moved.  @m is
 * the message (@len bytes, ours to write), the later entries start at @from;
 * pointers at or beyond @old_end move by @delta.  Pointers into the replaced
 * bytes themselves cannot be saved and are left as they are.
 */
static void dns_fix_pointers(uint8_t *m, size_t len, size_t from, const uint32_t cnt[4], unsigned sect, size_t old_end,
			     int64_t delta)
{
	struct umpa_cur c;
	size_t pos = from;

	umpa_cur_init(&c, m, len);
	for (unsigned s = sect + 1; s < 4; s++) {
		for (uint32_t i = 0; i < cnt[s]; i++) {
			size_t names[3], nn = 0, at, rd;
			uint16_t type, rdlen;
			const struct rd_layout *lay;
			names[nn++] = pos;
			/* skip the owner name to find the fixed part */
			for (at = pos;;) {
				uint8_t b;
				if (umpa_cur_u8_at(&c, at, &b) < 0)
					return;
				if ((b & 0xc0) == 0xc0) {
					at += 2;
					break;
				}
				if (b & 0xc0)
					return;
				at += 1u + b;
				if (b == 0)
					break;
			}
			if (umpa_cur_be16_at(&c, at, &type) < 0 || umpa_cur_be16_at(&c, at + 8, &rdlen) < 0)
				return;
			rd = at + 10;
			lay = rd_layout(type);
			/* the names of the rdata, where its layout puts them */
			for (unsigned pi = 0, q = 0; lay && !(lay->flags & RDF_TDONLY) && pi < lay->np && nn < 3;
			     pi++) {
				uint8_t kind = lay->pieces[pi].kind, b;
				if (kind == RD_U16 || kind == RD_U32) {
					q += kind == RD_U16 ? 2 : 4;
					continue;
				}
				if (kind != RD_NAME)
					break;
				names[nn++] = rd + q;
				for (;;) { /* past this name to the next piece */
					if (q >= rdlen || umpa_cur_u8_at(&c, rd + q, &b) < 0) {
						pi = lay->np;
						break;
					}
					if ((b & 0xc0) == 0xc0 || b == 0) {
						q += (b & 0xc0) ? 2 : 1;
						break;
					}
					q += 1u + b;
				}
			}
			for (size_t k = 0; k < nn; k++) {
				size_t q = names[k];
				while (q < rd + rdlen || k == 0) {
					uint8_t b, b2;
					size_t t;
					if (umpa_cur_u8_at(&c, q, &b) < 0 || b == 0 ||
					    ((b & 0xc0) && (b & 0xc0) != 0xc0))
						break;
					if ((b & 0xc0) != 0xc0) {
						q += 1u + b;
						continue;
					}
					if (umpa_cur_u8_at(&c, q + 1, &b2) < 0)
						break;
					t = (size_t)(b & 0x3f) << 8 | b2;
					if (t >= old_end && (int64_t)t + delta >= 0 && (int64_t)t + delta <= 0x3fff) {
						t = (size_t)((int64_t)t + delta);
						m[q] = (uint8_t)(0xc0 | t >> 8);
						m[q + 1] = (uint8_t)t;
					}
					break;
				}
			}
			pos = rd + rdlen;
		}
	}
}

static int dns_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
		       struct umpa_err *e)
{
	const struct umpa_field *fields = p->l[li].proto->fields;
	unsigned sect = (unsigned)(f - fields) - F_QD;
	struct dns_w w = {0};
	size_t b[5];
	uint32_t cnt[4], n;
	int rc;

	if (sect > 3)
		return umpa_err_set(e, UMPA_EINVAL, "dns: %s is not a section", f->name);
	if (p->l[li].hlen < DNS_HDR)
		return umpa_err_set(e, UMPA_EINVAL, "dns: header cut short");
	dns_sections(p, li, b, cnt);
	if ((rc = enc_section(&w, sect, spec, &n, e)) < 0) /* measure (and check) first */
		return rc;
	cnt[sect] = n;
	for (unsigned s = 0; s < 4; s++)
		if (cnt[s] > DNS_SECT_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "dns: at most %d entries per section", DNS_SECT_MAX);
	if (p->l[li].hlen - (b[sect + 1] - b[sect]) + w.n > 0xffff)
		return umpa_err_set(e, UMPA_ERANGE, "dns message longer than 65535 bytes");
	if ((rc = umpa_pkt_splice(p, li, (uint32_t)b[sect], (uint32_t)(b[sect + 1] - b[sect]), NULL, (uint32_t)w.n,
				  e)) < 0)
		return rc;
	w.p = p->data + p->l[li].off + b[sect];
	w.cap = w.n;
	w.n = 0;
	if ((rc = enc_section(&w, sect, spec, &n, e)) < 0)
		return rc;
	dns_fix_pointers(p->data + p->l[li].off, p->l[li].hlen, b[sect] + w.n, cnt, sect, b[sect + 1],
			 (int64_t)w.n - (int64_t)(b[sect + 1] - b[sect]));
	p->l[li].aux = cnt[0] | cnt[1] << 8 | cnt[2] << 16 | cnt[3] << 24;
	for (unsigned s = 0; s < 4; s++)
		umpa_field_auto_u64(p, li, &fields[F_QDCOUNT + s], cnt[s]);
	return 0;
}

static int dns_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	const struct umpa_field *fields = p->l[li].proto->fields;
	size_t b[5];
	uint32_t cnt[4];

	(void)e;
	if (p->l[li].hlen < DNS_HDR)
		return 0;
	dns_sections(p, li, b, cnt);
	for (unsigned s = 0; s < 4; s++)
		umpa_field_auto_u64(p, li, &fields[F_QDCOUNT + s], cnt[s]);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Showing                                                                   */

static const char *const dns_sect_names[4] = {"Queries", "Answers", "Authoritative nameservers", "Additional records"};

/* A bounded text builder over a caller's buffer. */
struct dns_txt {
	char *s;
	size_t n, cap;
};

static void tx_puts(struct dns_txt *t, const char *s)
{
	size_t k = strlen(s);

	if (k > t->cap - 1 - t->n)
		k = t->cap - 1 - t->n;
	memcpy(t->s + t->n, s, k);
	t->n += k;
	t->s[t->n] = 0;
}

static void tx_u64(struct dns_txt *t, uint64_t v)
{
	char b[24];
	int i = sizeof(b) - 1;

	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	tx_puts(t, b + i);
}

static const char *dns_type_name(uint16_t t)
{
	return umpa_vname_find(dns_types, t);
}

static void tx_type(struct dns_txt *t, uint16_t type)
{
	const char *n = dns_type_name(type);

	if (n) {
		tx_puts(t, n);
	} else {
		tx_puts(t, "TYPE");
		tx_u64(t, type);
	}
}

static void tx_class(struct dns_txt *t, uint16_t k)
{
	const char *n = umpa_vname_find(dns_classes, k);

	if (n) {
		tx_puts(t, n);
	} else {
		tx_puts(t, "CLASS");
		tx_u64(t, k);
	}
}

/* Emit the name at @off under @key; returns 0 or a DNS_E* code. */
static int emit_name(struct umpa_emit *em, struct umpa_cur *c, size_t off, const char *key, char *txt, unsigned *nlab,
		     unsigned *wire)
{
	size_t e;
	int r = dns_name(c, off, &e, txt, DNS_TEXT_MAX, nlab, wire, TXT_NAME);

	if (r < 0)
		return r;
	umpa_emit_str(em, key, txt[0] ? txt : "<Root>");
	return 0;
}

/* Emit the <character-string>s of [off, end) under @klen / @key. */
static void emit_strings(struct umpa_emit *em, struct umpa_cur *c, size_t off, size_t end, const char *klen,
			 const char *key)
{
	char txt[4 * 255 + 8];

	while (off < end) {
		uint8_t sl;
		size_t tl = 0;
		txt[0] = 0;
		if (umpa_cur_u8_at(c, off, &sl) < 0 || off + 1 + sl > end ||
		    txt_put_cur(txt, sizeof(txt), &tl, c, off + 1, sl, TXT_STR) < 0)
			return;
		umpa_emit_u64(em, klen, sl, NULL);
		umpa_emit_str(em, key, txt);
		off += 1u + sl;
	}
}

/* EDNS0 options of an OPT record's rdata. */
static void emit_opts(struct umpa_emit *em, struct umpa_cur *c, size_t off, size_t end)
{
	while (off + 4 <= end) {
		uint16_t code, ol;
		const uint8_t *d;
		const char *cn;
		char label[64];
		struct dns_txt lt = {label, 0, sizeof(label)};
		if (umpa_cur_be16_at(c, off, &code) < 0 || umpa_cur_be16_at(c, off + 2, &ol) < 0 ||
		    off + 4 + ol > end || umpa_cur_ptr_at(c, off + 4, ol, &d) < 0)
			return;
		cn = umpa_vname_find(dns_opt_codes, code);
		label[0] = 0;
		tx_puts(&lt, "Option: ");
		if (cn) {
			tx_puts(&lt, cn);
		} else {
			tx_puts(&lt, "Unknown (");
			tx_u64(&lt, code);
			tx_puts(&lt, ")");
		}
		umpa_emit_open(em, "dns.opt", label);
		umpa_emit_u64(em, "dns.opt.code", code, cn);
		umpa_emit_u64(em, "dns.opt.len", ol, NULL);
		if (code == 10 && ol >= 8) {
			umpa_emit_bytes(em, "dns.opt.cookie.client", d, 8);
			if (ol > 8)
				umpa_emit_bytes(em, "dns.opt.cookie.server", d + 8, ol - 8u);
		} else if (code == 12) {
			umpa_emit_bytes(em, "dns.opt.padding", d, ol);
		} else if (code == 8 && ol >= 4) {
			uint16_t fam = 0;
			uint8_t mask = 0, scope = 0, a[16] = {0};
			size_t al = ol - 4u;
			umpa_cur_be16_at(c, off + 4, &fam);
			umpa_cur_u8_at(c, off + 6, &mask);
			umpa_cur_u8_at(c, off + 7, &scope);
			umpa_emit_u64(em, "dns.opt.client.family", fam, NULL);
			umpa_emit_u64(em, "dns.opt.client.netmask", mask, NULL);
			umpa_emit_u64(em, "dns.opt.client.scope", scope, NULL);
			if (fam == 1 && al <= 4 && umpa_cur_copy_at(c, off + 8, al, a) == 0) {
				umpa_emit_ipv4(em, "dns.opt.client.addr4", a);
			} else if (fam == 2 && al <= 16 && umpa_cur_copy_at(c, off + 8, al, a) == 0) {
				umpa_emit_ipv6(em, "dns.opt.client.addr6", a);
			} else {
				umpa_emit_bytes(em, "dns.opt.client.addr", d + 4, al);
			}
		} else if (ol) {
			umpa_emit_bytes(em, "dns.opt.data", d, ol);
		}
		umpa_emit_close(em);
		off += 4u + ol;
	}
}

/* The pieces of an rdata that fits its layout, from @p n to @p end, under the layout's fields. */
static void emit_pieces(struct umpa_emit *em, struct umpa_cur *c, const struct rd_layout *lay, size_t n, size_t end,
			char *txt)
{
	const uint8_t *d;
	uint16_t v16;
	uint32_t v32;

	for (unsigned i = 0; i < lay->np; i++) {
		const struct rd_piece *pc = &lay->pieces[i];
		switch (pc->kind) {
		case RD_U16:
			if (n + 2 > end || umpa_cur_be16_at(c, n, &v16) < 0)
				return;
			umpa_emit_u64(em, pc->key, v16, NULL);
			n += 2;
			break;
		case RD_U32:
			if (n + 4 > end || umpa_cur_be32_at(c, n, &v32) < 0)
				return;
			umpa_emit_u64(em, pc->key, v32, NULL);
			n += 4;
			break;
		case RD_IPV4:
		case RD_IPV6:
			if (umpa_cur_ptr_at(c, n, pc->kind == RD_IPV4 ? 4 : 16, &d) < 0)
				return;
			if (pc->kind == RD_IPV4)
				umpa_emit_ipv4(em, pc->key, d);
			else
				umpa_emit_ipv6(em, pc->key, d);
			return;
		case RD_NAME:
			if (emit_name(em, c, n, pc->key, txt, NULL, NULL) < 0 || i + 1 == lay->np ||
			    dns_name(c, n, &n, txt, DNS_TEXT_MAX, NULL, NULL, TXT_NAME) < 0)
				return;
			break;
		case RD_CSTR: {
			/* one string; the last CSTR piece takes all that is left */
			uint8_t cl = 0;
			size_t stop = end;
			umpa_cur_u8_at(c, n, &cl);
			if (i + 1 < lay->np && n + 1 + cl <= end)
				stop = n + 1 + cl;
			emit_strings(em, c, n, stop, pc->lkey, pc->key);
			if ((n = stop) >= end)
				return;
			break;
		}
		case RD_STRS:
			emit_strings(em, c, n, end, pc->lkey, pc->key);
			return;
		default: /* RD_BYTES */
			if (end > n && umpa_cur_ptr_at(c, n, end - n, &d) == 0)
				umpa_emit_bytes(em, pc->key, d, end - n);
			return;
		}
	}
}

/* The rdata fields of one record: its layout's pieces when the rdata fits the layout (exactly, when
 * every piece has a fixed size; else the fixed bytes before the first other piece and one more), else
 * the bytes as dns.data. */
static void emit_rdata(struct umpa_emit *em, struct umpa_cur *c, const struct dns_rr *rr, char *txt)
{
	const struct rd_layout *lay = rd_layout(rr->type);
	const uint8_t *d;
	size_t fixed = 0;
	int var = 0;

	if (rr->rdlen == 0 || umpa_cur_ptr_at(c, rr->rdata, rr->rdlen, &d) < 0)
		return;
	if (lay && !(lay->flags & RDF_TDONLY) && lay->pieces[0].kind != RD_OPTS) {
		for (unsigned i = 0; i < lay->np && !var; i++) {
			uint8_t kind = lay->pieces[i].kind;
			if (kind == RD_U16)
				fixed += 2;
			else if (kind == RD_U32 || kind == RD_IPV4)
				fixed += 4;
			else if (kind == RD_IPV6)
				fixed += 16;
			else
				var = 1;
		}
		if (var ? rr->rdlen >= fixed + 1 : rr->rdlen == fixed) {
			emit_pieces(em, c, lay, rr->rdata, rr->rdata + rr->rdlen, txt);
			return;
		}
	}
	umpa_emit_bytes(em, "dns.data", d, rr->rdlen);
}

static void dns_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct umpa_cur c;
	struct dns_it it;
	struct dns_rr rr;
	uint32_t cnt[4];
	unsigned open_sect = 4;
	char name[DNS_TEXT_MAX], txt[DNS_TEXT_MAX], label[DNS_TEXT_MAX + 96];

	if (dns_prefixed(p, li)) {
		struct umpa_cur all;
		uint16_t tl;
		umpa_cur_init(&all, p->data, p->len);
		if (umpa_cur_be16_at(&all, p->l[li].off - 2, &tl) == 0)
			umpa_emit_u64(em, "dns.length", tl, NULL);
	}
	dns_msg_cur(p, li, &c);
	if (c.len < DNS_HDR)
		return;
	dns_hdr_counts(&c, cnt);
	dns_it_init(&it, &c, cnt);
	while (dns_next(&it, &rr) > 0) {
		struct dns_txt lt = {label, 0, sizeof(label)};
		unsigned nlab = 0, wire = 0;
		size_t e;
		const uint8_t *d;

		if (dns_name(&c, rr.off, &e, name, sizeof(name), &nlab, &wire, TXT_NAME) < 0)
			break;
		if (rr.sect != open_sect) {
			if (open_sect < 4)
				umpa_emit_close(em);
			umpa_emit_open(em, dns_sect_names[rr.sect], dns_sect_names[rr.sect]);
			open_sect = rr.sect;
		}
		label[0] = 0;
		tx_puts(&lt, name[0] ? name : "<Root>");
		tx_puts(&lt, ": type ");
		tx_type(&lt, rr.type);
		if (rr.type != T_OPT || rr.sect == 0) {
			tx_puts(&lt, ", class ");
			tx_class(&lt, rr.klass);
		}
		if (rr.sect > 0 && rr.type == T_A && rr.rdlen == 4 && umpa_cur_ptr_at(&c, rr.rdata, 4, &d) == 0) {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, d, a, sizeof(a));
			tx_puts(&lt, ", addr ");
			tx_puts(&lt, a);
		} else if (rr.sect > 0 && rr.type == T_AAAA && rr.rdlen == 16 &&
			   umpa_cur_ptr_at(&c, rr.rdata, 16, &d) == 0) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, d, a, sizeof(a));
			tx_puts(&lt, ", addr ");
			tx_puts(&lt, a);
		} else if (rr.sect > 0 && (rr.type == T_CNAME || rr.type == T_NS || rr.type == T_PTR) &&
			   dns_name(&c, rr.rdata, &e, txt, sizeof(txt), NULL, NULL, TXT_NAME) == 0) {
			tx_puts(&lt, rr.type == T_CNAME ? ", cname " : rr.type == T_NS ? ", ns " : " ");
			tx_puts(&lt, txt[0] ? txt : "<Root>");
		}
		if (rr.sect == 0) {
			umpa_emit_open(em, "dns.qry", label);
			umpa_emit_str(em, "dns.qry.name", name[0] ? name : "<Root>");
			umpa_emit_u64(em, "dns.qry.name.len", name[0] ? strlen(name) : 6, NULL);
			umpa_emit_u64(em, "dns.count.labels", nlab, NULL);
			umpa_emit_u64(em, "dns.qry.type", rr.type, dns_type_name(rr.type));
			umpa_emit_u64(em, "dns.qry.class", rr.klass, umpa_vname_find(dns_classes, rr.klass));
			umpa_emit_close(em);
			continue;
		}
		umpa_emit_open(em, "dns.resp", label);
		umpa_emit_str(em, "dns.resp.name", name[0] ? name : "<Root>");
		umpa_emit_u64(em, "dns.resp.type", rr.type, dns_type_name(rr.type));
		if (rr.type == T_OPT) {
			umpa_emit_u64(em, "dns.rr.udp_payload_size", rr.klass, NULL);
			umpa_emit_hex(em, "dns.resp.ext_rcode", rr.ttl >> 24, 2);
			umpa_emit_u64(em, "dns.resp.edns0_version", rr.ttl >> 16 & 0xff, NULL);
			umpa_emit_hex(em, "dns.resp.z", rr.ttl & 0xffff, 4);
			umpa_emit_bool(em, "dns.resp.z.do", (rr.ttl & 0x8000) != 0);
			umpa_emit_u64(em, "dns.resp.len", rr.rdlen, NULL);
			emit_opts(em, &c, rr.rdata, rr.rdata + rr.rdlen);
		} else {
			umpa_emit_u64(em, "dns.resp.class", rr.klass, umpa_vname_find(dns_classes, rr.klass));
			umpa_emit_u64(em, "dns.resp.ttl", rr.ttl, NULL);
			umpa_emit_u64(em, "dns.resp.len", rr.rdlen, NULL);
			emit_rdata(em, &c, &rr, txt);
		}
		umpa_emit_close(em);
	}
	if (open_sect < 4)
		umpa_emit_close(em);
}

/* ---- the tcpdump -nn summary (print-domain.c) ---- */

static const char *const td_ops[16] = {"",         " inv_q",    " stat",     " op3",     " notify",  " update",
				       " op6",     " op7",      " op8",      " updateA", " updateD", " updateDA",
				       " updateM", " updateMA", " zoneInit", " zoneRef"};

static const char *const td_rcodes[24] = {"",          " FormErr", " ServFail", " NXDomain", " NotImp",  " Refused",
					  " YXDomain", " YXRRSet", " NXRRSet",  " NotAuth",  " NotZone", " Resp11",
					  " Resp12",   " Resp13",  " Resp14",   " NoChange", " BadVers", "Resp17",
					  " Resp18",   " Resp19",  " Resp20",   "Resp21",    " Resp22",  " BadCookie"};

/* Types tcpdump 4.99 names; others print as Type%u. */
static int td_knows_type(uint16_t t)
{
	return (t >= 1 && t <= 48) || (t >= 99 && t <= 104) || (t >= 249 && t <= 256);
}

static void td_type(struct umpa_sbuf *out, uint16_t t)
{
	const char *n = td_knows_type(t) ? dns_type_name(t) : NULL;

	if (n) {
		umpa_sbuf_puts(out, n);
	} else {
		umpa_sbuf_puts(out, "Type");
		umpa_sbuf_put_u64(out, t);
	}
}

static void td_class(struct umpa_sbuf *out, uint16_t k)
{
	umpa_sbuf_putc(out, ' ');
	switch (k) {
	case 3:
		umpa_sbuf_puts(out, "CHAOS");
		return;
	case 4:
		umpa_sbuf_puts(out, "HS");
		return;
	case 255:
		umpa_sbuf_puts(out, "ANY");
		return;
	}
	umpa_sbuf_puts(out, "(Class ");
	umpa_sbuf_put_u64(out, k);
	umpa_sbuf_putc(out, ')');
}

/* A name as tcpdump prints it: every label followed by '.'. Returns 0 or -1. */
static int td_name(struct umpa_sbuf *out, struct umpa_cur *c, size_t off)
{
	char txt[DNS_TEXT_MAX];
	size_t e;

	if (dns_name(c, off, &e, txt, sizeof(txt), NULL, NULL, TXT_TCPDUMP) < 0)
		return -1;
	umpa_sbuf_puts(out, txt);
	umpa_sbuf_putc(out, '.');
	return 0;
}

/* The rdata of @p rr as its layout's tcpdump format says.  The numbers and addresses are read
 * first: nothing is printed for a record cut short before them.  Returns 0 or -1 (truncated). */
static int td_rdata(struct umpa_sbuf *out, struct umpa_cur *c, const struct rd_layout *lay, const struct dns_rr *rr)
{
	size_t off[RD_MAXP], n = rr->rdata, end = rr->rdata + rr->rdlen;
	uint32_t val[RD_MAXP] = {0};
	const uint8_t *d;

	for (unsigned i = 0; i < lay->np; i++) {
		uint16_t v16;
		off[i] = n;
		switch (lay->pieces[i].kind) {
		case RD_U16:
			if (umpa_cur_be16_at(c, n, &v16) < 0)
				return -1;
			val[i] = v16;
			n += 2;
			break;
		case RD_U32:
			if (umpa_cur_be32_at(c, n, &val[i]) < 0)
				return -1;
			n += 4;
			break;
		case RD_IPV4:
		case RD_IPV6:
			if (!umpa_cur_has(c, n, lay->pieces[i].kind == RD_IPV4 ? 4 : 16))
				return -1;
			break;
		case RD_NAME:
			if (i + 1 < lay->np && dns_name(c, n, &n, NULL, 0, NULL, NULL, TXT_TCPDUMP) < 0)
				return -1;
			break;
		case RD_BYTES:
			if (n > end || !umpa_cur_has(c, n, end - n))
				return -1;
			break;
		default:
			break;
		}
	}
	for (const char *f = lay->td; *f; f++) {
		unsigned i = (unsigned)(*f - '0');
		if (*f < '0' || *f > '9' || i >= lay->np) {
			umpa_sbuf_putc(out, *f);
			continue;
		}
		switch (lay->pieces[i].kind) {
		case RD_U16:
		case RD_U32:
			umpa_sbuf_put_u64(out, val[i]);
			break;
		case RD_IPV4:
			if (umpa_cur_ptr_at(c, off[i], 4, &d) == 0)
				umpa_sbuf_put_ipv4(out, d);
			break;
		case RD_IPV6:
			if (umpa_cur_ptr_at(c, off[i], 16, &d) == 0)
				umpa_sbuf_put_ipv6(out, d);
			break;
		case RD_NAME:
			if (td_name(out, c, off[i]) < 0)
				return -1;
			break;
		case RD_CSTR:
		case RD_STRS:
			for (size_t q = off[i]; q < end;) {
				uint8_t sl;
				char txt[4 * 255 + 8];
				size_t tl = 0;
				txt[0] = 0;
				if (umpa_cur_u8_at(c, q, &sl) < 0 ||
				    txt_put_cur(txt, sizeof(txt), &tl, c, q + 1, sl, TXT_TCPDUMP) < 0)
					return -1;
				umpa_sbuf_puts(out, " \"");
				umpa_sbuf_puts(out, txt);
				umpa_sbuf_putc(out, '"');
				q += 1u + sl;
			}
			break;
		case RD_BYTES:
			for (size_t q = off[i]; q < end; q++) {
				char t[8];
				size_t tl = 0;
				t[0] = 0;
				txt_put_cur(t, sizeof(t), &tl, c, q, 1, TXT_TCPDUMP);
				umpa_sbuf_puts(out, t);
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

/* One answer as ns_rprint prints it without -v. Returns 0 or -1 (truncated). */
static int td_rr(struct umpa_sbuf *out, struct umpa_cur *c, const struct dns_rr *rr)
{
	const struct rd_layout *lay = rd_layout(rr->type);

	if (rr->klass != 1 && rr->type != T_OPT)
		td_class(out, rr->klass);
	umpa_sbuf_putc(out, ' ');
	td_type(out, rr->type);
	if (rr->type == T_OPT) { /* the pseudo-record's class and TTL, not its rdata */
		umpa_sbuf_puts(out, " UDPsize=");
		umpa_sbuf_put_u64(out, rr->klass);
		if (rr->ttl & 0x8000)
			umpa_sbuf_puts(out, " DO");
		return 0;
	}
	return lay && lay->td ? td_rdata(out, c, lay, rr) : 0;
}

static void dns_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	struct dns_it it;
	struct dns_rr rr;
	uint32_t cnt[4];
	uint16_t id, fl;
	unsigned rcode, opcode;
	int r;

	if (out->len && out->s[out->len - 1] != ' ')
		umpa_sbuf_putc(out, ' ');
	dns_msg_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &id) < 0 || umpa_cur_be16_at(&c, 2, &fl) < 0 || c.len < DNS_HDR) {
		umpa_sbuf_puts(out, "domain [length ");
		umpa_sbuf_put_u64(out, c.len);
		umpa_sbuf_puts(out, " < 12]");
		return;
	}
	dns_hdr_counts(&c, cnt);
	opcode = fl >> 11 & 0xf;
	rcode = fl & 0xf;
	umpa_sbuf_put_u64(out, id);
	umpa_sbuf_puts(out, td_ops[opcode]);
	if (fl & 0x8000) {
		/* the extended rcode lives in an OPT record of the additional section */
		dns_it_init(&it, &c, cnt);
		while (dns_next(&it, &rr) > 0)
			if (rr.sect == 3 && rr.type == T_OPT) {
				rcode |= (rr.ttl >> 24) << 4;
				break;
			}
		if (rcode < 24) {
			umpa_sbuf_puts(out, td_rcodes[rcode]);
		} else {
			umpa_sbuf_puts(out, " Resp");
			umpa_sbuf_put_u64(out, rcode & 0xfff);
		}
		umpa_sbuf_puts(out, fl & 0x0400 ? "*" : "");
		umpa_sbuf_puts(out, fl & 0x0080 ? "" : "-");
		umpa_sbuf_puts(out, fl & 0x0200 ? "|" : "");
		umpa_sbuf_puts(out, fl & 0x0020 ? "$" : "");
		if (cnt[0] != 1) {
			umpa_sbuf_puts(out, " [");
			umpa_sbuf_put_u64(out, cnt[0]);
			umpa_sbuf_puts(out, "q]");
		}
		/* tcpdump separates the (unprinted) questions with commas */
		dns_it_init(&it, &c, cnt);
		it.left[1] = it.left[2] = it.left[3] = 0;
		while ((r = dns_next(&it, &rr)) > 0)
			if (rr.off != DNS_HDR)
				umpa_sbuf_putc(out, ',');
		if (r < 0) {
			umpa_sbuf_puts(out, " [|domain]");
			return;
		}
		umpa_sbuf_putc(out, ' ');
		umpa_sbuf_put_u64(out, cnt[1]);
		umpa_sbuf_putc(out, '/');
		umpa_sbuf_put_u64(out, cnt[2]);
		umpa_sbuf_putc(out, '/');
		umpa_sbuf_put_u64(out, cnt[3]);
		dns_it_init(&it, &c, cnt);
		it.left[2] = it.left[3] = 0;
		while ((r = dns_next(&it, &rr)) > 0) {
			if (rr.sect != 1)
				continue;
			if (it.left[1] + 1 < cnt[1])
				umpa_sbuf_putc(out, ',');
			if (td_rr(out, &c, &rr) < 0) {
				r = -1;
				break;
			}
		}
	} else {
		uint16_t b2 = fl;
		umpa_sbuf_puts(out, fl & 0x0100 ? "+" : "");
		umpa_sbuf_puts(out, fl & 0x0010 ? "%" : "");
		if (b2 & 0x6cf) {
			umpa_sbuf_puts(out, " [b2&3=");
			umpa_sbuf_put_hex(out, b2, 1);
			umpa_sbuf_putc(out, ']');
		}
		if (opcode == 1) {
			if (cnt[0]) {
				umpa_sbuf_puts(out, " [");
				umpa_sbuf_put_u64(out, cnt[0]);
				umpa_sbuf_puts(out, "q]");
			}
			if (cnt[1] != 1) {
				umpa_sbuf_puts(out, " [");
				umpa_sbuf_put_u64(out, cnt[1]);
				umpa_sbuf_puts(out, "a]");
			}
		} else {
			if (cnt[1]) {
				umpa_sbuf_puts(out, " [");
				umpa_sbuf_put_u64(out, cnt[1]);
				umpa_sbuf_puts(out, "a]");
			}
			if (cnt[0] != 1) {
				umpa_sbuf_puts(out, " [");
				umpa_sbuf_put_u64(out, cnt[0]);
				umpa_sbuf_puts(out, "q]");
			}
		}
		if (cnt[2]) {
			umpa_sbuf_puts(out, " [");
			umpa_sbuf_put_u64(out, cnt[2]);
			umpa_sbuf_puts(out, "n]");
		}
		if (cnt[3]) {
			umpa_sbuf_puts(out, " [");
			umpa_sbuf_put_u64(out, cnt[3]);
			umpa_sbuf_puts(out, "au]");
		}
		dns_it_init(&it, &c, cnt);
		it.left[1] = it.left[2] = it.left[3] = 0;
		while ((r = dns_next(&it, &rr)) > 0) {
			umpa_sbuf_putc(out, ' ');
			td_type(out, rr.type);
			if (rr.klass != 1)
				td_class(out, rr.klass);
			umpa_sbuf_puts(out, "? ");
			if (td_name(out, &c, rr.off) < 0) {
				r = -1;
				break;
			}
		}
	}
	if (r < 0) {
		umpa_sbuf_puts(out, " [|domain]");
		return;
	}
	umpa_sbuf_puts(out, " (");
	umpa_sbuf_put_u64(out, c.len);
	umpa_sbuf_putc(out, ')');
}

/* ------------------------------------------------------------------------ */
/* Matching                                                                  */

static int dns_hdr(const struct umpa_pkt *p, unsigned li, uint16_t *id, uint16_t *fl)
{
	struct umpa_cur c;

	dns_msg_cur(p, li, &c);
	return umpa_cur_be16_at(&c, 0, id) < 0 || umpa_cur_be16_at(&c, 2, fl) < 0 ? -1 : 0;
}

static uint32_t dns_hashret(const struct umpa_pkt *p, unsigned li)
{
	uint16_t id = 0, fl;

	dns_hdr(p, li, &id, &fl);
	return 0x9e3779b1u * ((uint32_t)id + 0x35u);
}

/* The first question as text, type and class; -1 when there is none. */
static int dns_first_q(const struct umpa_pkt *p, unsigned li, char *txt, uint16_t *type, uint16_t *klass)
{
	struct umpa_cur c;
	struct dns_it it;
	struct dns_rr rr;
	uint32_t cnt[4];
	size_t e;

	dns_msg_cur(p, li, &c);
	if (c.len < DNS_HDR)
		return -1;
	dns_hdr_counts(&c, cnt);
	cnt[1] = cnt[2] = cnt[3] = 0;
	dns_it_init(&it, &c, cnt);
	if (dns_next(&it, &rr) <= 0 || dns_name(&c, rr.off, &e, txt, DNS_TEXT_MAX, NULL, NULL, TXT_NAME) < 0)
		return -1;
	*type = rr.type;
	*klass = rr.klass;
	return 0;
}

static void dns_why(char *why, size_t whylen, const char *s)
{
	if (why && whylen) {
		strncpy(why, s, whylen - 1);
		why[whylen - 1] = 0;
	}
}

static int dns_answers(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req, unsigned qli, char *why,
		       size_t whylen)
{
	uint16_t rid, rfl, qid, qfl, rt, rk, qt, qk;
	char rn[DNS_TEXT_MAX], qn[DNS_TEXT_MAX];
	int rq, qq;

	if (dns_hdr(resp, rli, &rid, &rfl) < 0 || dns_hdr(req, qli, &qid, &qfl) < 0) {
		dns_why(why, whylen, "dns header missing");
		return 0;
	}
	if (!(rfl & 0x8000) || (qfl & 0x8000)) {
		dns_why(why, whylen, "dns.flags.response: not a response to a query");
		return 0;
	}
	if (rid != qid) {
		dns_why(why, whylen, "dns.id differs");
		return 0;
	}
	rq = dns_first_q(resp, rli, rn, &rt, &rk);
	qq = dns_first_q(req, qli, qn, &qt, &qk);
	if (rq == 0 && qq == 0 && (rt != qt || rk != qk || strcasecmp(rn, qn) != 0)) {
		dns_why(why, whylen, "dns question differs");
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------------ */

static const struct umpa_field dns_fields[] = {
    [F_ID] = {"id", "dns.id", NULL, 0, 16, UMPA_FT_UINT, UMPA_F_HEX, 0, NULL, NULL, NULL, "Transaction ID"},
    [F_FLAGS] = {"flags", "dns.flags", NULL, 16, 16, UMPA_FT_FLAGS, UMPA_F_HEX, 0x0100, NULL, dns_flag_names, NULL,
		 "Flags (the whole 16-bit word; names qr|aa|tc|rd|ra|z|ad|cd)"},
    [F_QR] = {"flags.response", "dns.flags.response", "qr", 16, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL,
	      "Response (QR): 0 query, 1 response"},
    [F_OPCODE] = {"flags.opcode", "dns.flags.opcode", "opcode", 17, 4, UMPA_FT_ENUM, 0, 0, NULL, dns_opcodes, NULL,
		  "Opcode"},
    [F_AA] = {"flags.authoritative", "dns.flags.authoritative", "aa", 21, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL,
	      "Authoritative answer"},
    [F_TC] = {"flags.truncated", "dns.flags.truncated", "tc", 22, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL, "Truncated"},
    [F_RD] = {"flags.recdesired", "dns.flags.recdesired", "rd", 23, 1, UMPA_FT_BOOL, 0, 1, NULL, NULL, NULL,
	      "Recursion desired"},
    [F_RA] = {"flags.recavail", "dns.flags.recavail", "ra", 24, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL,
	      "Recursion available"},
    [F_Z] = {"flags.z", "dns.flags.z", "z", 25, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL, "Z (reserved)"},
    [F_AD] = {"flags.authenticated", "dns.flags.authenticated", "ad", 26, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL,
	      "Answer authenticated (AD)"},
    [F_CD] = {"flags.checkdisable", "dns.flags.checkdisable", "cd", 27, 1, UMPA_FT_BOOL, 0, 0, NULL, NULL, NULL,
	      "Checking disabled (CD)"},
    [F_RCODE] = {"flags.rcode", "dns.flags.rcode", "rcode", 28, 4, UMPA_FT_ENUM, 0, 0, NULL, dns_rcodes, NULL,
		 "Reply code"},
    [F_QDCOUNT] = {"count.queries", "dns.count.queries", "qdcount", 32, 16, UMPA_FT_UINT, UMPA_F_AUTO, 0, NULL, NULL,
		   NULL, "Questions (auto: entries built in qd)"},
    [F_ANCOUNT] = {"count.answers", "dns.count.answers", "ancount", 48, 16, UMPA_FT_UINT, UMPA_F_AUTO, 0, NULL, NULL,
		   NULL, "Answer RRs (auto)"},
    [F_NSCOUNT] = {"count.auth_rr", "dns.count.auth_rr", "nscount", 64, 16, UMPA_FT_UINT, UMPA_F_AUTO, 0, NULL, NULL,
		   NULL, "Authority RRs (auto)"},
    [F_ARCOUNT] = {"count.add_rr", "dns.count.add_rr", "arcount", 80, 16, UMPA_FT_UINT, UMPA_F_AUTO, 0, NULL, NULL,
		   NULL, "Additional RRs (auto)"},
    [F_QD] = {"qd", "dns.qry", "qname,question,questions", 96, 0, UMPA_FT_VAR, 0, 0, NULL, NULL, NULL,
	      "Questions: name[:type[:class]],... e.g. \"example.com:A,example.org:AAAA\""},
    [F_AN] = {"an", "dns.answers", "answers", 96, 0, UMPA_FT_VAR, 0, 0, NULL, NULL, NULL,
	      "Answers: name:type[:class]:ttl:rdata,... (rdata last: \"a.com:AAAA:60:2001:db8::1\", "
	      "MX \"10/mx.a.com\", OPT \".:OPT:1232:do\")"},
    [F_NS] = {"ns", "dns.authority", "authority", 96, 0, UMPA_FT_VAR, 0, 0, NULL, NULL, NULL,
	      "Authority records, same syntax as an"},
    [F_AR] = {"ar", "dns.additional", "additional", 96, 0, UMPA_FT_VAR, 0, 0, NULL, NULL, NULL,
	      "Additional records, same syntax as an (EDNS0: \".:OPT:4096[:do][:cookie=hex]...\")"},
};
UMPA_FIELDS_CHECK(dns_fields, F_COUNT);

const struct umpa_proto umpa_proto_dns = {
    .name = "dns",
    .aliases = "domain,DNS",
    .title = "Domain Name System",
    .fields = dns_fields,
    .nfields = F_COUNT,
    .hdr_len = DNS_HDR,
    .dissect = dns_dissect,
    .finish = dns_finish,
    .set_var = dns_set_var,
    .details = dns_details,
    .summary = dns_summary,
    .hashret = dns_hashret,
    .answers = dns_answers,
};
