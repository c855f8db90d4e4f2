/* fragment.c - IP fragmentation as Scapy's fragment() and fragment6() do it.
 *
 * IPv4 (RFC 791): the payload of the packet's first IPv4 header is cut into
 * pieces of the asked size N rounded down to a multiple of 8, the last piece
 * taking what is left when that is at most N (Scapy's rule, so the
 * fragments are byte for byte Scapy's); each
 * fragment is a copy of every header up to and including that IPv4 header
 * (options too: Scapy copies them all, whatever their copy bit) with the
 * fragment offset and the more-fragments flag set, its total length and
 * checksum computed again and its protocol number kept.
 *
 * IPv6 (RFC 8200 section 4.5): the packet must carry a fragment header
 * (ipv6{}/ipv6_frag{}/...: which headers come before it is the builder's
 * choice, as in Scapy); what follows it is cut the same way, and each
 * fragment repeats the headers up to and including the fragment header with
 * its offset and M flag set, its next header and identification kept and
 * the payload length computed again.
 *
 * A packet that already is a fragment keeps its place: offsets start at its
 * own and the last piece keeps its more-fragments flag.  One packet is
 * reused for every fragment: no allocation per fragment.
 */
#include <string.h>

#include "umpa_protos.h"

/* The first IPv4 or IPv6 layer of @p; -1 if none. */
static int first_ip(const struct umpa_pkt *p)
{
	for (unsigned i = 0; i < p->nlayers; i++)
		if (p->l[i].proto == &umpa_proto_ip || p->l[i].proto == &umpa_proto_ipv6)
			return (int)i;
	return -1;
}

static const struct umpa_field *field(const struct umpa_proto *pr, const char *name)
{
	return umpa_proto_field(pr, name); /* names of our own tables: never NULL */
}

long umpa_pkt_fragment(const struct umpa_pkt *p, uint32_t size, umpa_frag_cb cb, void *arg, struct umpa_err *e)
{
	const struct umpa_proto *pr;
	const struct umpa_field *f_off, *f_more, *f_next, *f_len, *f_csum = NULL;
	struct umpa_pkt q;
	uint64_t base = 0, more = 0, next = 0;
	uint32_t start, end, o;
	int ipi = first_ip(p), li;
	long count = 0;
	int rc = 0;

	uint32_t fs = size - size % 8; /* every piece but the last */

	if (size < 8 || size > 65535)
		return umpa_err_set(e, UMPA_ERANGE, "fragment size %u: from 8 to 65535 bytes", size);
	if (ipi < 0)
		return umpa_err_set(e, UMPA_EINVAL, "fragment: the packet has no IPv4 or IPv6 header");
	if (p->l[ipi].proto == &umpa_proto_ip) {
		li = ipi;
		pr = &umpa_proto_ip;
		f_off = field(pr, "frag_offset");
		f_more = field(pr, "flags.mf");
		f_next = field(pr, "proto");
		f_len = field(pr, "len");
		f_csum = field(pr, "checksum");
	} else {
		li = umpa_pkt_find(p, &umpa_proto_ipv6_frag, (unsigned)ipi + 1);
		if (li < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "fragment: an IPv6 packet needs a fragment header to be fragmented "
					    "(ipv6{...}/ipv6_frag{}/...)");
		pr = &umpa_proto_ipv6_frag;
		f_off = field(pr, "offset");
		f_more = field(pr, "more");
		f_next = field(pr, "nxt");
		f_len = field(&umpa_proto_ipv6, "plen");
	}
	start = p->l[li].off + p->l[li].hlen;
	end = p->l[ipi].off + p->l[ipi].len;
	if (end > p->len)
		end = p->len;
	if (start > end)
		return umpa_err_set(e, UMPA_EINVAL, "fragment: the %s header is cut short", pr->name);
	if (umpa_field_get_u64(p, (unsigned)li, f_off, &base) < 0 ||
	    umpa_field_get_u64(p, (unsigned)li, f_more, &more) < 0 ||
	    umpa_field_get_u64(p, (unsigned)li, f_next, &next) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "fragment: cannot read the %s header", pr->name);
	base *= 8;
	if (end - start <= size) { /* fits: the packet as it is */
		umpa_pkt_init(&q);
		if ((rc = umpa_pkt_dup(&q, p, e)) == 0)
			rc = cb(arg, &q, e);
		umpa_pkt_release(&q);
		return rc < 0 ? rc : 1;
	}
	if (base + (end - start) > 8 * 8191 + 7)
		return umpa_err_set(e, UMPA_ERANGE, "fragment: offsets past 65535 bytes");
	umpa_pkt_init(&q);
	for (o = start; o < end && rc >= 0;) {
		uint32_t k = end - o <= size ? end - o : fs; /* the last piece: what is left, up to size */
		umpa_pkt_clear(&q);
		if ((rc = umpa_pkt_copy_from(&q, p->data, start, e)) < 0)
			break;
		q.linktype = p->linktype;
		q.ts_sec = p->ts_sec;
		q.ts_nsec = p->ts_nsec;
		q.nlayers = (unsigned)li + 1;
		for (int i = 0; i <= li; i++) {
			q.l[i] = p->l[i];
			q.l[i].len = start - q.l[i].off;
			q.l[i].flags = 0;
			q.l[i].why = NULL;
		}
		if ((rc = umpa_pkt_push_bytes(&q, &umpa_proto_raw, p->data + o, k, e)) < 0)
			break;
		if ((rc = umpa_field_set_u64(&q, (unsigned)li, f_off, (base + (o - start)) / 8, e)) < 0 ||
		    (rc = umpa_field_set_u64(&q, (unsigned)li, f_more, o + k < end ? 1 : more, e)) < 0 ||
		    (rc = umpa_field_set_u64(&q, (unsigned)li, f_next, next, e)) < 0)
			break;
		umpa_field_unset(&q, (unsigned)ipi, f_len);
		if (f_csum)
			umpa_field_unset(&q, (unsigned)ipi, f_csum);
		if ((rc = umpa_pkt_finish(&q, e)) < 0 || (rc = cb(arg, &q, e)) < 0)
			break;
		count++;
		o += k;
	}
	umpa_pkt_release(&q);
	return rc < 0 ? rc : count;
}
