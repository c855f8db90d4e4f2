/* arp.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_arp = {
	.name = "arp",
	.title = "arp (stub)",
};
