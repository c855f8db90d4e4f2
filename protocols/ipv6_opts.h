/* ipv6_opts.h - internal: pieces shared by the IPv6 protocol files (RFC 8200).
 *
 * Not installed.  ipv6.c defines the next-header names and the helpers every
 * extension header uses (the upper layer, the automatic next header);
 * ipv6_hop.c defines the code shared by the two TLV-option headers
 * (hop-by-hop and destination options, RFC 8200 s4.2, 4.3, 4.6).  Names end
 * with an underscore: they are library-internal.
 *
 * The option headers' field tables must start with nxt, len, options (VAR),
 * in that order: the shared hooks find them by index.
 */
#ifndef UMPA_IPV6_OPTS_H
#define UMPA_IPV6_OPTS_H

#include "umpa_protos.h"
#include "umpa_render.h"
#include "umpa_spec.h"

/** IPv6 Next Header / IPv4 protocol names, {0, NULL}-terminated (ipv6.c). */
extern const struct umpa_vname umpa_ipv6_nxt_names_[];

/**
 * The Next Header field of IPv6 or of an extension header, as a field-table
 * entry: Wireshark name @p ws_, at bit @p bitoff_ of the header; automatic
 * from the next layer, 59 (No Next Header) by default.
 */
#define UMPA_IPV6_NXT_FIELD_(ws_, bitoff_)                                                                             \
	{                                                                                                              \
		.name = "nxt", .ws = ws_, .aliases = "nh", .bitoff = bitoff_, .bits = 8, .type = UMPA_FT_ENUM,         \
		.flags = UMPA_F_AUTO, .def = 59, .names = umpa_ipv6_nxt_names_,                                        \
		.help = "next header (automatic from the next layer; 59 = none)"                                       \
	}

/**
 * The Hdr Ext Len field of an extension header (the second byte: the length
 * in 8-octet units, not counting the first 8), as a field-table entry with
 * Wireshark name @p ws_; automatic.
 */
#define UMPA_IPV6_EXT_LEN_FIELD_(ws_)                                                                                  \
	{                                                                                                              \
		.name = "len", .ws = ws_, .bitoff = 8, .bits = 8, .type = UMPA_FT_UINT, .flags = UMPA_F_AUTO,          \
		.help = "header length in 8-octet units, not counting the first 8 (automatic)"                         \
	}

/** The options field of the hop-by-hop and destination options headers; @p help_ says what they take. */
#define UMPA_IPV6_OPTS_FIELD_(help_)                                                                                   \
	{                                                                                                              \
		.name = "options", .ws = "ipv6.opt", .aliases = "opt,opts", .bitoff = 16, .bits = 0,                   \
		.type = UMPA_FT_VAR, .help = help_                                                                     \
	}

/** True when @p pr is an IPv6 extension header (its description is flagged UMPA_PF_NETEXT). */
static inline int umpa_ipv6_is_ext_(const struct umpa_proto *pr)
{
	return (pr->pflags & UMPA_PF_NETEXT) != 0;
}

/**
 * The index of the first layer after @p li that is not an IPv6 extension
 * header, or -1 when there is none.
 */
int umpa_ipv6_upper_(const struct umpa_pkt *p, unsigned li);

/**
 * The Next Header value for what follows layer @p li: the IPPROTO binding
 * of layer li+1, or 59 (No Next Header) when nothing or nothing bound
 * follows.  Used by the finish hooks of IPv6 and every extension header.
 */
uint32_t umpa_ipv6_auto_nxt_(const struct umpa_pkt *p, unsigned li);

/**
 * Finish the summary of layer @p li (IPv6 or an extension header) whose next
 * header is @p nxt when no known protocol follows: "no next header" (59) or
 * "ip-proto-N, length L".  Prints nothing otherwise.
 */
void umpa_ipv6_tail_(const struct umpa_pkt *p, unsigned li, unsigned nxt, struct umpa_sbuf *out);

/** Hop-by-hop / destination options: the dissect hook (fields nxt, len, options). */
const struct umpa_proto *umpa_ipv6_opts_dissect_(struct umpa_pkt *p, unsigned li);

/** Hop-by-hop / destination options: the finish hook (nxt, len, default padding). */
int umpa_ipv6_opts_finish_(struct umpa_pkt *p, unsigned li, struct umpa_err *e);

/** Hop-by-hop / destination options: set the "options" VAR field from its spec. */
int umpa_ipv6_opts_set_var_(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			    struct umpa_err *e);

/** Hop-by-hop / destination options: the summary ("HBH " / "DSTOPT ", as tcpdump -nn). */
void umpa_ipv6_opts_summary_(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out);

/** Hop-by-hop / destination options: emit the options (ipv6.opt.*). */
void umpa_ipv6_opts_details_(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em);

#endif
