/* null.c - BSD loopback encapsulation, LINKTYPE_NULL 0 and LINKTYPE_LOOP 108
 * (https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html).
 *
 * Header: a 4-byte address family (AF_INET 2; AF_INET6 is 24, 28 or 30
 * depending on the BSD, 10 on Linux).  LINKTYPE_NULL stores it in the byte
 * order of the host that wrote the capture, LINKTYPE_LOOP in network order.
 *
 * Byte order: LINKTYPE_LOOP is big-endian.  For LINKTYPE_NULL the order is
 * guessed as Wireshark and tcpdump do: a family is a small number, so the
 * order in which the value is below 256 wins (little-endian when neither
 * is).  The layer remembers the order (l->aux = 1: big-endian) so that
 * finish() rewrites the family in the order it was found.
 *
 * The table's field "family" reads the 4 bytes as little-endian (the order
 * every host writing LINKTYPE_NULL today, and Scapy's Loopback, use); it is
 * hidden, and the details hook shows null.family decoded in the guessed
 * order, so a big-endian capture shows the right value.
 *
 * Building: family 2 (AF_INET), automatic from the next layer through the
 * registry's UMPA_BIND_AF bindings (IPv6: 24, the first binding).
 *
 * Summary: nothing when a known protocol follows; otherwise tcpdump's
 * "AF Unknown (99), length 6".
 */
#include "proto_common.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum { NULL_HLEN = 4, NULL_AF_MAX = 256 };

static const struct umpa_vname null_af_names[] = {
    {2, "IPv4"},  {6, "NS"},    {7, "ISO"},   {16, "Appletalk"}, {23, "IPX"},   {24, "IPv6"},
    {28, "IPv6"}, {30, "IPv6"}, {10, "IPv6"}, {2, "inet"},       {24, "inet6"}, {0, NULL},
};

/* Field indexes: the order of null_fields. */
enum { F_FAMILY, F_COUNT };

static const struct umpa_field null_fields[] = {
    [F_FAMILY] = {.name = "family",
		  .ws = "null.family",
		  .aliases = "type,af",
		  .bitoff = 0,
		  .bits = 32,
		  .type = UMPA_FT_ENUM,
		  .flags = UMPA_F_AUTO | UMPA_F_LE | UMPA_F_HIDDEN,
		  .def = 2,
		  .names = null_af_names,
		  .help = "address family, little-endian (automatic: 2 IPv4, 24 IPv6)"},
};
UMPA_FIELDS_CHECK(null_fields, F_COUNT);

static uint32_t bswap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

/* The family in the order the layer was found in (aux). Returns 0 or -1. */
static int null_family(const struct umpa_pkt *p, unsigned li, uint32_t *af)
{
	struct umpa_cur c;

	umpa_layer_cur(p, li, &c);
	if (p->l[li].aux)
		return umpa_cur_be32_at(&c, 0, af);
	return umpa_cur_le32_at(&c, 0, af);
}

static const struct umpa_proto *null_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint32_t le, be;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_le32_at(&c, 0, &le) < 0 || umpa_cur_be32_at(&c, 0, &be) < 0)
		return NULL; /* core checked hdr_len bytes; cannot happen */
	l->hlen = NULL_HLEN;
	if (p->linktype == UMPA_LINKTYPE_LOOP)
		l->aux = 1;
	else
		l->aux = le >= NULL_AF_MAX && be < NULL_AF_MAX;
	return umpa_proto_bound(UMPA_BIND_AF, l->aux ? be : le);
}

static int null_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	uint32_t v;

	(void)e;
	if (umpa_next_bind_(p, li, UMPA_BIND_AF, &v) == 0)
		umpa_field_auto_u64(p, li, &null_fields[F_FAMILY], p->l[li].aux ? bswap32(v) : v);
	return 0;
}

static void null_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	uint32_t af;

	if (null_family(p, li, &af) < 0)
		return;
	umpa_emit_u64(em, "null.family", af, umpa_vname_find(null_af_names, af));
}

static void null_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	uint32_t af;
	const char *name;

	if (li + 1 < p->nlayers && !(p->l[li + 1].proto->pflags & UMPA_PF_RAW))
		return;
	if (null_family(p, li, &af) < 0)
		return;
	name = umpa_vname_find(null_af_names, af);
	umpa_sbuf_puts(out, "AF ");
	umpa_sbuf_puts(out, name ? name : "Unknown");
	umpa_sbuf_puts(out, " (");
	umpa_sbuf_put_u64(out, af);
	umpa_sbuf_putc(out, ')');
	umpa_put_link_length_(p, li, out);
}

const struct umpa_proto umpa_proto_null = {
    .name = "null",
    .aliases = "loopback,loop",
    .title = "Null/Loopback",
    .fields = null_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_LINK,
    .hdr_len = NULL_HLEN,
    .dissect = null_dissect,
    .finish = null_finish,
    .details = null_details,
    .summary = null_summary,
    /* no hashret/answers: a capture header carries nothing a reply shares with its request */
};
