/* replay_modes.h - the parts of `umpa replay` for stateful TCP: the kernel-RST guard and --audit. */
#ifndef UMPA_REPLAY_MODES_H
#define UMPA_REPLAY_MODES_H

#include <stdint.h>

#include "umpa_replay.h"

struct replay_guard;

/**
 * Keep the local kernel from resetting the TCP flows of @p cap that are
 * replayed from a local address (tools/replay_guard.h), each over @p nconn
 * connections (--loop rounds and --learn-noise rounds: from the ports
 * umpa_replay_tcp_port gives), saying how on stderr.  Returns the guard
 * (NULL when none was needed or it could not be installed: then a note
 * says the flows may be reset).
 */
struct replay_guard *replay_tcp_guard(const struct umpa_replay_cap *cap, uint64_t nconn);

/**
 * `umpa replay --audit FILE`: check @p cap's own exchanges (answers late
 * after @p timeout_ns), print them as @p fmt (every one with @p verbose),
 * the summary, and the JUnit file @p junit (NULL: none) named after
 * @p file.  Returns the exit status.
 */
int replay_audit_cmd(const struct umpa_replay_cap *cap, int64_t timeout_ns, enum umpa_replay_fmt fmt, int verbose,
		     const char *junit, const char *file);

/**
 * Write the JUnit XML of @p rep (suite @p suite) to @p path.  Returns 0, or
 * -1 with @p e set ("--junit PATH: cannot write it").
 */
int replay_write_junit(const struct umpa_replay_report *rep, const char *suite, const char *path, struct umpa_err *e);

/** The exit status a replay's totals @p sum give: 0 when every exchange matched (or was only sent), else 1. */
int replay_exit_status(const struct umpa_replay_summary *sum);

#endif
