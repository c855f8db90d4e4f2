/* ipv6_dst.c - IPv6 Destination Options header (RFC 8200 s4.6; TLV options s4.2).
 *
 * The same layout as the hop-by-hop header: next header, length in 8-octet
 * units not counting the first 8, TLV options.  Everything but the field
 * names is shared with ipv6_hop.c (see there for the options spec: pad1,
 * padn=N, ra=V, jumbo=N, N=hex; padded to 8 bytes).
 */
#include "ipv6_opts.h"

/* Field indexes: the order of dst_fields. */
enum { F_NXT, F_LEN, F_OPTIONS, F_COUNT };

static const struct umpa_field dst_fields[] = {
    [F_NXT] = UMPA_IPV6_NXT_FIELD_("ipv6.dstopts.nxt", 0),
    [F_LEN] = UMPA_IPV6_EXT_LEN_FIELD_("ipv6.dstopts.len"),
    [F_OPTIONS] = UMPA_IPV6_OPTS_FIELD_("options: pad1, padn=N, ra=V, jumbo=N, N=hex; padded to 8 bytes"),
};
UMPA_FIELDS_CHECK(dst_fields, F_COUNT);

const struct umpa_proto umpa_proto_ipv6_dst = {
    .name = "ipv6_dst",
    .aliases = "ipv6.dstopts,dstopts,IPv6ExtHdrDestOpt",
    .title = "Destination Options for IPv6",
    .fields = dst_fields,
    .nfields = F_COUNT,
    .pflags = UMPA_PF_NETEXT,
    .hdr_len = 8,
    .dissect = umpa_ipv6_opts_dissect_,
    .finish = umpa_ipv6_opts_finish_,
    .set_var = umpa_ipv6_opts_set_var_,
    .details = umpa_ipv6_opts_details_,
    .summary = umpa_ipv6_opts_summary_, /* "DSTOPT " */
};
