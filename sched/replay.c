/* replay.c - umpa replay: the capture model, the checker, the run and the report.
 *
 * See sched/umpa_replay.h for the three models.  Skeleton: the entry points
 * exist so that drivers (sched/replay_tcp.c) and the tool build against
 * them; each is filled in by the commits that follow.
 */
#include <stdlib.h>
#include <string.h>

#include "umpa_replay.h"

static const char *const verdict_names[UMPA_RV_COUNT] = {"matched", "differing", "missing", "unexpected",
							 "unsent",  "gaveup",    "sent"};

const char *umpa_replay_verdict_name(enum umpa_replay_verdict v)
{
	return (unsigned)v < UMPA_RV_COUNT ? verdict_names[v] : "?";
}

int umpa_replay_failed(const struct umpa_replay_result *res)
{
	return res->verdict != UMPA_RV_MATCHED && res->verdict != UMPA_RV_SENT;
}
