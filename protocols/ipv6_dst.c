/* ipv6_dst.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_ipv6_dst = {
	.name = "ipv6_dst",
	.title = "ipv6.dstopts (stub)",
};
