/* ipv6_route.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_ipv6_route = {
	.name = "ipv6_route",
	.title = "ipv6.routing (stub)",
};
