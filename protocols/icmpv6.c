/* icmpv6.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_icmpv6 = {
	.name = "icmpv6",
	.title = "icmpv6 (stub)",
};
