/* ipv6_hop.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_ipv6_hop = {
	.name = "ipv6_hop",
	.title = "ipv6.hopopts (stub)",
};
