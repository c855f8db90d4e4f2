/* sched_internal.h - what loop.c and rate.c share; not installed. */
#ifndef UMPA_SCHED_INTERNAL_H
#define UMPA_SCHED_INTERNAL_H

#include "umpa_sched.h"

/** Register @p s with @p loop so umpa_loop_free closes it. Returns 0 or UMPA_ENOMEM. */
int umpa_loop_track_source_(struct umpa_loop *loop, struct umpa_source *s, struct umpa_err *e);

/** Forget @p s (umpa_source_close calls this). */
void umpa_loop_untrack_source_(struct umpa_loop *loop, struct umpa_source *s);

/** Busy-wait on the live clock until CLOCK_MONOTONIC reaches @p t_ns; returns the time read last. */
int64_t umpa_spin_until_(int64_t t_ns);

#endif
