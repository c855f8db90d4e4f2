/* ipv6_frag.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_ipv6_frag = {
	.name = "ipv6_frag",
	.title = "ipv6.fragment (stub)",
};
