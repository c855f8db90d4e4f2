/* ipv6.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_ipv6 = {
	.name = "ipv6",
	.title = "ipv6 (stub)",
};
