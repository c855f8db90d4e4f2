/* sll2.c - STUB: to be replaced by the real protocol. */
#include "umpa_protos.h"

const struct umpa_proto umpa_proto_sll2 = {
	.name = "sll2",
	.title = "sll2 (stub)",
};
