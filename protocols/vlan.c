/* vlan.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_vlan = {
	.name = "vlan",
	.title = "vlan (stub)",
};
