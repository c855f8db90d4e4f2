/* sll2.c - Linux "cooked" capture header v2, LINKTYPE_LINUX_SLL2 276
 * (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
 *
 * Header (20 bytes, network order): protocol (Ethernet type), reserved
 * (must be zero), interface index, ARPHRD_ address type, packet type (1
 * byte), address length (1 byte), 8 bytes of address.
 *
 * As in sll.c the address is shown by its length (sll.src.eth,
 * sll.src.ipv4 or sll.src.other, then sll.unused), so the table's address
 * fields are hidden and the details hook emits them.  Wireshark shows no
 * field for the reserved bytes: sll.reserved is hidden too (it can be set,
 * to build a header that lies).
 *
 * Building: Scapy's CookedLinuxV2 defaults (protocol 0x0800, interface 0,
 * hatype 512 PPP, packet type 0 "host", no address).  sll.etype is
 * automatic from the next layer; setting "src" makes hatype (1) and halen
 * (6) automatic too unless they are set.
 *
 * Summary: tcpdump always prints the interface and direction for v2; we
 * print the index ("ifindex 3 In "), since the capturing host's interface
 * names are not known here.  When no known protocol follows, the address
 * and type follow, as tcpdump's sll2_print(): "ifindex 3 Out
 * 00:11:22:33:44:55 ethertype Unknown (0x88b5), length 24".
 */
#include "proto_common.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum {
	SLL2_HLEN = 20,
	SLL2_IFINDEX_OFF = 4,
	SLL2_PKTTYPE_OFF = 10,
	SLL2_HALEN_OFF = 11,
	SLL2_ADDR_OFF = 12,
	SLL2_ADDR_LEN = 8,
	SLL2_MAX_LTYPE = 1536,
	ARPHRD_ETHER = 1,
	ARPHRD_NETLINK = 824,
};

/* Field indexes: the order of sll2_fields. */
enum { F_ETYPE, F_RESERVED, F_IFINDEX, F_HATYPE, F_PKTTYPE, F_HALEN, F_SRC, F_ADDR, F_COUNT };

static const struct umpa_field sll2_fields[] = {
    [F_ETYPE] = {.name = "etype",
		 .ws = "sll.etype",
		 .aliases = "proto,protocol,type",
		 .bitoff = 0,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_AUTO | UMPA_F_HEX,
		 .def = 0x0800,
		 .names = umpa_ethertype_names,
		 .help = "Ethernet type of the payload (automatic from the next layer)"},
    [F_RESERVED] = {.name = "reserved",
		    .ws = "sll.reserved",
		    .bitoff = 16,
		    .bits = 16,
		    .type = UMPA_FT_UINT,
		    .flags = UMPA_F_HIDDEN | UMPA_F_HEX,
		    .help = "reserved, must be zero (Wireshark does not show it)"},
    [F_IFINDEX] = {.name = "ifindex",
		   .ws = "sll.ifindex",
		   .bitoff = 32,
		   .bits = 32,
		   .type = UMPA_FT_UINT,
		   .help = "index of the capturing interface"},
    [F_HATYPE] = UMPA_SLL_HATYPE_FIELD_(64),
    [F_PKTTYPE] = UMPA_SLL_PKTTYPE_FIELD_(80, 8),
    [F_HALEN] = UMPA_SLL_HALEN_FIELD_(88, 8),
    [F_SRC] = UMPA_SLL_SRC_FIELD_(96),
    [F_ADDR] = UMPA_SLL_ADDR_FIELD_(96),
};
UMPA_FIELDS_CHECK(sll2_fields, F_COUNT);

static const struct umpa_proto *sll2_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint16_t proto, hatype;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &proto) < 0 || umpa_cur_be16_at(&c, 8, &hatype) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	p->l[li].hlen = SLL2_HLEN;
	if (hatype == ARPHRD_NETLINK || proto <= SLL2_MAX_LTYPE)
		return NULL;
	return umpa_proto_bound(UMPA_BIND_ETHERTYPE, proto);
}

static int sll2_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_auto_next_(p, li, &sll2_fields[F_ETYPE], UMPA_BIND_ETHERTYPE);
	if (umpa_field_is_set(p, li, &sll2_fields[F_SRC])) {
		umpa_field_auto_u64(p, li, &sll2_fields[F_HATYPE], ARPHRD_ETHER);
		umpa_field_auto_u64(p, li, &sll2_fields[F_HALEN], 6);
	}
	return 0;
}

static void sll2_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct umpa_cur c;
	const uint8_t *a;
	uint8_t halen;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, SLL2_HALEN_OFF, &halen) < 0 || umpa_cur_ptr_at(&c, SLL2_ADDR_OFF, SLL2_ADDR_LEN, &a) < 0)
		return;
	umpa_sll_emit_addr_(em, a, halen);
}

/* "ifindex N DIR", then when nothing decoded follows or with -e (@p eflag)
 * the address and protocol, as tcpdump's sll2_print(); ": " before what follows. */
static void sll2_line(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out, int eflag)
{
	int decoded = li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW);
	struct umpa_cur c;
	const uint8_t *a;
	uint16_t proto;
	uint32_t ifindex;
	uint8_t pkttype, halen;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &proto) < 0 || umpa_cur_be32_at(&c, SLL2_IFINDEX_OFF, &ifindex) < 0 ||
	    umpa_cur_u8_at(&c, SLL2_PKTTYPE_OFF, &pkttype) < 0 || umpa_cur_u8_at(&c, SLL2_HALEN_OFF, &halen) < 0 ||
	    umpa_cur_ptr_at(&c, SLL2_ADDR_OFF, SLL2_ADDR_LEN, &a) < 0)
		return;
	umpa_sbuf_puts(out, "ifindex ");
	umpa_sbuf_put_u64(out, ifindex);
	umpa_sbuf_putc(out, ' ');
	umpa_sll_put_dir_(out, pkttype);
	if (decoded && !eflag)
		return; /* the next protocol speaks for itself */
	if (halen == 6) {
		umpa_sbuf_put_mac(out, a);
		umpa_sbuf_putc(out, ' ');
	}
	umpa_put_ethertype_(out, proto); /* unnamed when <= SLL2_MAX_LTYPE */
	umpa_put_link_length_(p, li, out);
	if (decoded)
		umpa_sbuf_puts(out, ": ");
}

static void sll2_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	sll2_line(p, li, out, 0);
}

static void sll2_summary_ctx(const struct umpa_pkt *p, unsigned li, const struct umpa_render_opts *o,
			     struct umpa_sbuf *out)
{
	sll2_line(p, li, out, o->link_hdr);
}

const struct umpa_proto umpa_proto_sll2 = {
    .name = "sll2",
    .aliases = "cooked2,linux_sll2",
    .title = "Linux cooked capture v2",
    .fields = sll2_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_LINK,
    .hdr_len = SLL2_HLEN,
    .dissect = sll2_dissect,
    .finish = sll2_finish,
    .details = sll2_details,
    .summary = sll2_summary,
    .summary_ctx = sll2_summary_ctx,
    /* no hashret/answers: a capture header carries nothing a reply shares with its request */
};
