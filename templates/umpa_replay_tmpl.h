/* umpa_replay_tmpl.h - a template in place of the device for `umpa replay --template` (offline, deterministic).
 *
 * The template (templates/umpa_run.h, driven mode) runs on the virtual
 * clock; what the replay sends reaches it after a fixed link delay, what it
 * sends back reaches the replay after the same delay.  Nothing touches a
 * network or reads a clock, so the same capture and template give the same
 * report every time, without root.
 */
#ifndef UMPA_REPLAY_TMPL_H
#define UMPA_REPLAY_TMPL_H

#include <stdint.h>

#include "umpa_error.h"

struct umpa_loop;
struct umpa_replay_io;
struct umpa_replay_run;
struct umpa_run;
struct umpa_run_opts;

/** A template playing the device (opaque). */
struct umpa_replay_tmpl;

/** The one-way delay of the virtual link between the replay and the template (100 µs). */
#define UMPA_REPLAY_TMPL_DELAY_NS 100000

/**
 * Load the template of @p o (its tmpl, search, sets, limits; interfaces,
 * offline input and the driven fields are set here) as a driven run whose
 * clock starts at @p start_ns, exchanging frames of link type @p linktype
 * over @p nifs virtual interfaces (1, or 2: the replay's two sides, which
 * a template's bridge() joins: flaky-link as the link between them).
 * Fill @p io with the I/O a umpa_replay_run uses to reach it.  Returns the
 * device or NULL with @p e set (the template's errors: file:line, an
 * unknown --set name).
 */
struct umpa_replay_tmpl *umpa_replay_tmpl_new(const struct umpa_run_opts *o, int64_t start_ns, int linktype,
					      unsigned nifs, struct umpa_replay_io *io, struct umpa_err *e);

/** The virtual loop to give umpa_replay_run_new. */
struct umpa_loop *umpa_replay_tmpl_loop(struct umpa_replay_tmpl *t);

/** The run the template's answers go to (umpa_replay_run_input); set once the run exists. */
void umpa_replay_tmpl_attach(struct umpa_replay_tmpl *t, struct umpa_replay_run *run);

/** The template's run (its counters, for a report line). */
struct umpa_run *umpa_replay_tmpl_run(struct umpa_replay_tmpl *t);

/** Free @p t (frames in flight are dropped).  NULL is fine.  Returns NULL. */
struct umpa_replay_tmpl *umpa_replay_tmpl_free(struct umpa_replay_tmpl *t);

#endif
