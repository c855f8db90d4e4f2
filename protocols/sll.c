/* sll.c - Linux "cooked" capture header v1, LINKTYPE_LINUX_SLL 113
 * (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
 *
 * Header (16 bytes, network order): packet type, ARPHRD_ link-layer address
 * type, address length, 8 bytes of address (the first halen used, the rest
 * unused), protocol (an Ethernet type, or a Linux ETH_P_ value <= 1536).
 *
 * The address is shown as Wireshark does, by its length: 6 bytes
 * sll.src.eth, 4 bytes sll.src.ipv4, otherwise sll.src.other; then the
 * unused rest as sll.unused; then the protocol as sll.etype (sll.ltype when
 * it is <= 1536, sll.gretype for ARPHRD_IPGRE).  The table's address and
 * protocol fields are therefore hidden (they can still be read and set:
 * "src" is the address as a MAC, "src.other" all 8 bytes), and the details
 * hook emits them in Wireshark's order.
 *
 * Building: Scapy's CookedLinux defaults (packet type 0 "host", hatype 512
 * PPP, no address, protocol 0x0800).  sll.etype is automatic from the next
 * layer; setting "src" makes hatype (1, Ethernet) and halen (6) automatic
 * too unless they are set.
 *
 * Dissecting: demultiplexes on the protocol as an Ethernet type; a Linux
 * ETH_P_ value (<= 1536) or a netlink capture leaves the payload raw.
 *
 * Summary: nothing when a known protocol follows (tcpdump -nn without -e);
 * otherwise tcpdump's "Out 00:11:22:33:44:55 ethertype Unknown (0x88b5),
 * length 20".
 */
#include "proto_common.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum {
	SLL_HLEN = 16,
	SLL_HALEN_OFF = 4,
	SLL_ADDR_OFF = 6,
	SLL_ADDR_LEN = 8,
	SLL_PROTO_OFF = 14,
	SLL_MAX_LTYPE = 1536,
	ARPHRD_ETHER = 1,
	ARPHRD_IPGRE = 778,
	ARPHRD_NETLINK = 824,
};

/* Value names shared with sll2.c (proto_common.h). */
const struct umpa_vname umpa_sll_pkttype_names_[] = {
    {0, "host"},     {1, "broadcast"}, {2, "multicast"}, {3, "otherhost"},  {4, "outgoing"},
    {5, "loopback"}, {6, "fastroute"}, {0, "unicast"},   {4, "sent-by-us"}, {0, NULL},
};

const struct umpa_vname umpa_sll_hatype_names_[] = {
    {1, "Ethernet"}, {6, "IEEE802"},   {24, "IEEE1394"},    {32, "Infiniband"},
    {512, "PPP"},    {768, "IPIP"},    {769, "IP6IP6"},     {772, "Loopback"},
    {776, "SIT"},    {778, "IPGRE"},   {801, "IEEE802.11"}, {803, "IEEE802.11-radiotap"},
    {823, "IP6GRE"}, {824, "Netlink"}, {65534, "none"},     {0, NULL},
};

/* Field indexes: the order of sll_fields. */
enum { F_PKTTYPE, F_HATYPE, F_HALEN, F_SRC, F_ADDR, F_ETYPE, F_COUNT };

static const struct umpa_field sll_fields[] = {
    [F_PKTTYPE] = UMPA_SLL_PKTTYPE_FIELD_(0, 16),
    [F_HATYPE] = UMPA_SLL_HATYPE_FIELD_(16),
    [F_HALEN] = UMPA_SLL_HALEN_FIELD_(32, 16),
    [F_SRC] = UMPA_SLL_SRC_FIELD_(48),
    [F_ADDR] = UMPA_SLL_ADDR_FIELD_(48),
    [F_ETYPE] = {.name = "etype",
		 .ws = "sll.etype",
		 .aliases = "proto,protocol,type",
		 .bitoff = 112,
		 .bits = 16,
		 .type = UMPA_FT_ENUM,
		 .flags = UMPA_F_AUTO | UMPA_F_HEX | UMPA_F_HIDDEN,
		 .def = 0x0800,
		 .names = umpa_ethertype_names,
		 .help = "Ethernet type of the payload (automatic from the next layer)"},
};
UMPA_FIELDS_CHECK(sll_fields, F_COUNT);

static const struct umpa_proto *sll_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_cur c;
	uint16_t hatype, proto;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 2, &hatype) < 0 || umpa_cur_be16_at(&c, SLL_PROTO_OFF, &proto) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	p->l[li].hlen = SLL_HLEN;
	if (hatype == ARPHRD_NETLINK || proto <= SLL_MAX_LTYPE)
		return NULL;
	return umpa_proto_bound(UMPA_BIND_ETHERTYPE, proto);
}

static int sll_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	(void)e;
	umpa_auto_next_(p, li, &sll_fields[F_ETYPE], UMPA_BIND_ETHERTYPE);
	if (umpa_field_is_set(p, li, &sll_fields[F_SRC])) {
		umpa_field_auto_u64(p, li, &sll_fields[F_HATYPE], ARPHRD_ETHER);
		umpa_field_auto_u64(p, li, &sll_fields[F_HALEN], 6);
	}
	return 0;
}

static void sll_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	struct umpa_cur c;
	const uint8_t *a;
	uint16_t hatype, halen, proto;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 2, &hatype) < 0 || umpa_cur_be16_at(&c, SLL_HALEN_OFF, &halen) < 0 ||
	    umpa_cur_ptr_at(&c, SLL_ADDR_OFF, SLL_ADDR_LEN, &a) < 0 || umpa_cur_be16_at(&c, SLL_PROTO_OFF, &proto) < 0)
		return;
	umpa_sll_emit_addr_(em, a, halen);
	if (proto <= SLL_MAX_LTYPE)
		umpa_emit_hex(em, "sll.ltype", proto, 4);
	else if (hatype == ARPHRD_IPGRE)
		umpa_emit_hex(em, "sll.gretype", proto, 4);
	else
		umpa_emit_hex(em, "sll.etype", proto, 4);
}

/* tcpdump's sll_print(): direction, address when it is 6 bytes, protocol;
 * without -e (@p eflag 0) only when nothing decoded follows, with -e always,
 * then ": " before what follows. */
static void sll_line(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out, int eflag)
{
	struct umpa_cur c;
	const uint8_t *a;
	uint16_t pkttype, halen, proto;
	int decoded = li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW);

	if (decoded && !eflag)
		return;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_be16_at(&c, 0, &pkttype) < 0 || umpa_cur_be16_at(&c, SLL_HALEN_OFF, &halen) < 0 ||
	    umpa_cur_ptr_at(&c, SLL_ADDR_OFF, SLL_ADDR_LEN, &a) < 0 || umpa_cur_be16_at(&c, SLL_PROTO_OFF, &proto) < 0)
		return;
	if (pkttype != 4) /* tcpdump's "%3s ": " In", "  B", "Out" */
		umpa_sbuf_puts(out, pkttype == 0 ? " " : "  ");
	umpa_sll_put_dir_(out, pkttype);
	if (halen == 6) {
		umpa_sbuf_put_mac(out, a);
		umpa_sbuf_putc(out, ' ');
	}
	if (proto == 1)
		umpa_sbuf_puts(out, "802.3");
	else if (proto == 4)
		umpa_sbuf_puts(out, "802.2");
	else
		umpa_put_ethertype_(out, proto); /* unnamed when <= SLL_MAX_LTYPE */
	umpa_put_link_length_(p, li, out);
	if (decoded)
		umpa_sbuf_puts(out, ": ");
}

static void sll_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	sll_line(p, li, out, 0);
}

static void sll_summary_ctx(const struct umpa_pkt *p, unsigned li, const struct umpa_render_opts *o,
			    struct umpa_sbuf *out)
{
	sll_line(p, li, out, o->link_hdr);
}

const struct umpa_proto umpa_proto_sll = {
    .name = "sll",
    .aliases = "cooked,linux_sll,CookedLinux",
    .title = "Linux cooked capture v1",
    .fields = sll_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_LINK,
    .hdr_len = SLL_HLEN,
    .dissect = sll_dissect,
    .finish = sll_finish,
    .details = sll_details,
    .summary = sll_summary,
    .summary_ctx = sll_summary_ctx,
    /* no hashret/answers: a capture header carries nothing a reply shares with its request */
};
