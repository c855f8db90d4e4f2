/* dns.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_dns = {
	.name = "dns",
	.title = "dns (stub)",
};
