/* umpa_sched.h - the scheduler: one API, a live and a virtual clock.
 *
 * A loop owns timers (after, every, at), file-descriptor sources (live clock
 * only: a capture handle's selectable fd, pcap_dispatch in the callback),
 * signal hooks (live clock only) and paced packet sources (source -> sink at
 * a rate, with jitter, with a rate-accuracy report).
 *
 * Time is int64_t nanoseconds on the loop's clock:
 *  - UMPA_CLOCK_LIVE: CLOCK_MONOTONIC.  Waiting is done by libevent (an
 *    event_base with EVENT_BASE_FLAG_PRECISE_TIMER, so epoll waits with
 *    timerfd precision); fds and signals are libevent events.
 *  - UMPA_CLOCK_VIRTUAL: starts at 0 (or umpa_loop_set_now()) and jumps from
 *    event to event; nothing waits, so a week of virtual time with a timer
 *    per second runs in well under a second.  The offline driver feeds the
 *    packets of a capture file with umpa_loop_advance_to(ts).
 *
 * Both clocks keep timers in the same binary heap ordered by (due time,
 * insertion number): callbacks run in due-time order and ties run in the
 * order the timers were armed (an `every` timer counts as armed again each
 * time it fires).  A callback that is due runs once its time is reached,
 * never before; on the live clock it may run late (lateness is measured for
 * packet sources).
 *
 * Nothing here blocks except umpa_loop_run / umpa_loop_run_until.  The loop
 * is single-threaded; no function may be called from another thread.
 * Callbacks may arm and cancel timers, add and remove fds and sources, and
 * call umpa_loop_break / umpa_loop_fail.
 */
#ifndef UMPA_SCHED_H
#define UMPA_SCHED_H

#include <stdint.h>

#include "umpa_error.h"

/** Which clock a loop runs on. */
enum umpa_clock {
	UMPA_CLOCK_LIVE = 0,    /**< real time, libevent, fds and signals */
	UMPA_CLOCK_VIRTUAL = 1, /**< discrete-event time, driven by the caller */
};

/** A deadline that never comes (umpa_loop_run_until). */
#define UMPA_NEVER INT64_MAX
/** Nanoseconds per second, for readable arithmetic. */
#define UMPA_NS_PER_SEC 1000000000LL

/** An event loop (opaque). */
struct umpa_loop;
/** A timer armed with umpa_after / umpa_every / umpa_at (opaque, owned by the loop). */
struct umpa_timer;
/** A file-descriptor source (opaque, owned by the loop). */
struct umpa_fdsrc;
/** A paced packet source (opaque, owned by the loop). */
struct umpa_source;

/** A timer callback: runs on @p loop with the @p arg given when it was armed. */
typedef void (*umpa_timer_cb)(struct umpa_loop *loop, void *arg);

/* ---- the loop ---- */

/**
 * Create a loop on @p clock.  Returns the loop (free with umpa_loop_free),
 * or NULL with @p e set (no memory, libevent failure).
 */
struct umpa_loop *umpa_loop_new(enum umpa_clock clock, struct umpa_err *e);

/** umpa_loop_new_flags: the loop's timers wake it through a timerfd of its own, re-armed only when
 * the earliest due time changes (no system call per wake-up for libevent's); libevent's own timers
 * on umpa_loop_event_base are then precise to the millisecond only.  Linux; elsewhere ignored. */
#define UMPA_LOOP_OWN_TIMER 1u

/**
 * Create a loop on @p clock as umpa_loop_new does, with @p flags
 * (UMPA_LOOP_OWN_TIMER or 0).  Returns the loop, or NULL with @p e set.
 */
struct umpa_loop *umpa_loop_new_flags(enum umpa_clock clock, unsigned flags, struct umpa_err *e);

/**
 * Free @p loop and everything it owns: pending timers (their callbacks do
 * not run), fd sources (the fds are not closed), signal hooks, packet
 * sources.  NULL is accepted.  Returns NULL.
 */
struct umpa_loop *umpa_loop_free(struct umpa_loop *loop);

/** The loop's clock. */
enum umpa_clock umpa_loop_clock(const struct umpa_loop *loop);

/**
 * The current time in nanoseconds on the loop's clock: CLOCK_MONOTONIC for
 * a live loop (read now), the virtual time for a virtual loop.
 */
int64_t umpa_loop_now_ns(struct umpa_loop *loop);

/**
 * When the earliest timer of @p loop is due, on the loop's clock
 * (umpa_loop_now_ns); INT64_MAX when none is set.  For a callback that
 * polls on its own for a while (busy-polling a capture) and must give the
 * loop back before a timer is late.
 */
int64_t umpa_loop_next_due_ns(const struct umpa_loop *loop);

/**
 * Wall-clock time in nanoseconds since the epoch, for timestamps: the
 * real-time clock on a live loop, the virtual time on a virtual loop (which
 * the offline driver keeps equal to capture timestamps).
 */
int64_t umpa_loop_wall_ns(struct umpa_loop *loop);

/**
 * Run until nothing is left that can make progress (no timers, no fd
 * sources, no active packet sources), until umpa_loop_break, or until a
 * callback calls umpa_loop_fail.  On a virtual loop this runs every timer
 * (an `every` timer keeps it running forever: break or cancel it).
 * Returns 0, or the negative error recorded by umpa_loop_fail (copied into
 * @p e), or a negative error of the loop itself.
 */
int umpa_loop_run(struct umpa_loop *loop, struct umpa_err *e);

/**
 * Run until done(@p arg) returns non-zero (checked before waiting and after
 * every callback), until the loop time reaches @p deadline_ns (absolute, on
 * the loop's clock; UMPA_NEVER for none), until umpa_loop_break, or until
 * nothing is left to run.  This is the blocking "send and wait".  On a
 * virtual loop with nothing due before the deadline, time jumps to the
 * deadline.  Returns 1 when done() said so, 0 for any other stop, or a
 * negative error as umpa_loop_run.
 */
int umpa_loop_run_until(struct umpa_loop *loop, int (*done)(void *arg), void *arg, int64_t deadline_ns,
			struct umpa_err *e);

/**
 * Virtual clock only: run, in order, every timer due at or before @p ts_ns,
 * then set the time to @p ts_ns.  A @p ts_ns earlier than now (capture files
 * are not always in order) runs what is due now and leaves the time as it
 * is.  Returns 0, the error of a callback's umpa_loop_fail, or UMPA_ENOSYS
 * on a live loop.
 */
int umpa_loop_advance_to(struct umpa_loop *loop, int64_t ts_ns, struct umpa_err *e);

struct umpa_capr;
struct umpa_pkt;

/**
 * A packet of a replayed capture file: @p p (borrowed bytes and no layers
 * yet, valid until the callback returns; dissect it in place if need be).
 * The loop's time is the packet's timestamp.  Return 0 to go on, 1 to stop
 * after this packet, or a negative error (with @p e set) to stop.
 */
typedef int (*umpa_replay_cb)(void *arg, struct umpa_pkt *p, struct umpa_err *e);

/**
 * Virtual clock only: drive the clock from a capture file.  For each packet
 * of @p r in file order: advance the clock to the packet's timestamp
 * (umpa_loop_advance_to: every timer due at or before it runs first, in
 * order; a packet older than the clock is handed over at the current time),
 * then hand the packet to @p cb.  A loop with nothing pending jumps straight
 * to the first packet's timestamp.  Nothing waits: a week of capture runs as
 * fast as the packets can be read.  After the last packet the clock stays at
 * its timestamp; timers due later have not run (umpa_loop_advance_to or
 * umpa_expect_wait settle them).  @p r stays the caller's (not closed).
 * Returns the number of packets handed to @p cb, or a negative error: the
 * file's (a bad record), a timer callback's umpa_loop_fail, the callback's,
 * UMPA_ENOSYS on a live loop.
 */
int64_t umpa_loop_replay(struct umpa_loop *loop, struct umpa_capr *r, umpa_replay_cb cb, void *arg, struct umpa_err *e);

/**
 * Virtual clock only: set the time of a loop with no pending timers or
 * sources (to start at a capture file's first timestamp without running a
 * timer for every second since 1970).  Returns 0, UMPA_EINVAL if anything is
 * pending, UMPA_ENOSYS on a live loop.
 */
int umpa_loop_set_now(struct umpa_loop *loop, int64_t ts_ns, struct umpa_err *e);

/** Make umpa_loop_run / run_until return after the current callback. */
void umpa_loop_break(struct umpa_loop *loop);

/**
 * Stop the loop with an error: copies @p err (NULL: a generic error) and
 * breaks; umpa_loop_run returns -err->code with the message.  For callbacks,
 * which return nothing.  The first failure wins.  Returns -err->code.
 */
int umpa_loop_fail(struct umpa_loop *loop, const struct umpa_err *err);

/* ---- timers ---- */

/**
 * Call @p cb(loop, @p arg) once, @p delay_ns from now (negative counts as 0).
 * Returns the timer, owned by the loop: it stays valid until its callback
 * has returned or until umpa_timer_cancel, whichever comes first (clear your
 * copy of the pointer in the callback).  NULL with @p e set on no memory.
 */
struct umpa_timer *umpa_after(struct umpa_loop *loop, int64_t delay_ns, umpa_timer_cb cb, void *arg,
			      struct umpa_err *e);

/**
 * Call @p cb every @p period_ns (> 0), first at now + period.  Due times are
 * now + k * period (no drift; a late callback does not push the next one).
 * If the loop falls more than a period behind, missed ticks are skipped,
 * not run in a burst.  Valid until umpa_timer_cancel (also from its own
 * callback) or the loop is freed.  NULL with @p e set on a bad period.
 */
struct umpa_timer *umpa_every(struct umpa_loop *loop, int64_t period_ns, umpa_timer_cb cb, void *arg,
			      struct umpa_err *e);

/**
 * Call @p cb once at absolute time @p abs_ns on the loop's clock (in the
 * past: as soon as possible).  Ownership as umpa_after.
 */
struct umpa_timer *umpa_at(struct umpa_loop *loop, int64_t abs_ns, umpa_timer_cb cb, void *arg, struct umpa_err *e);

/**
 * Cancel @p t: its callback will not run (again).  Safe from inside its own
 * callback and from other callbacks.  The handle is invalid afterwards.
 * NULL is accepted.
 */
void umpa_timer_cancel(struct umpa_timer *t);

/** When @p t is due next (loop clock, ns). */
int64_t umpa_timer_due_ns(const struct umpa_timer *t);

/* ---- file descriptors and signals (live clock) ---- */

/** What an fd source waits for, and what happened. */
enum umpa_fd_what {
	UMPA_FD_READ = 1,  /**< readable (a capture handle has packets) */
	UMPA_FD_WRITE = 2, /**< writable */
};

/** An fd callback: @p what says which of the requested conditions hold. */
typedef void (*umpa_fd_cb)(struct umpa_loop *loop, int fd, unsigned what, void *arg);

/**
 * Watch @p fd (not owned: never closed by the loop) for @p what
 * (UMPA_FD_READ and/or UMPA_FD_WRITE) until removed; @p cb runs each time
 * the condition holds (level-triggered).  An fd source keeps
 * umpa_loop_run running.  Returns the source, or NULL with @p e set
 * (UMPA_ENOSYS on a virtual loop, no memory, libevent refused the fd).
 */
struct umpa_fdsrc *umpa_loop_add_fd(struct umpa_loop *loop, int fd, unsigned what, umpa_fd_cb cb, void *arg,
				    struct umpa_err *e);

/**
 * Stop watching and free the source.  Safe from inside its own callback.
 * NULL is accepted.  Returns NULL.
 */
struct umpa_fdsrc *umpa_loop_remove_fd(struct umpa_fdsrc *s);

/** A signal callback, run from the loop (not in signal context). */
typedef void (*umpa_signal_cb)(struct umpa_loop *loop, int signum, void *arg);

/**
 * Live clock: run @p cb from the loop when @p signum arrives, until the loop
 * is freed.  A signal hook does not keep the loop running.  For a tool:
 * SIGINT and SIGTERM with a callback that calls umpa_loop_break, or
 * umpa_loop_break_on_signal.  Returns 0 or a negative error (UMPA_ENOSYS on
 * a virtual loop).
 */
int umpa_loop_on_signal(struct umpa_loop *loop, int signum, umpa_signal_cb cb, void *arg, struct umpa_err *e);

/**
 * Live clock: break the loop when @p signum arrives (SIGINT for Ctrl-C).
 * umpa_loop_signalled() tells afterwards which signal it was.  Once such a
 * signal has broken the loop, umpa_loop_free leaves the break signals
 * ignored (rather than back at their default action), so that a repeated
 * signal during shutdown (timeout(1) sends two) cannot kill the program
 * while it writes its files.  Returns 0 or a negative error.
 */
int umpa_loop_break_on_signal(struct umpa_loop *loop, int signum, struct umpa_err *e);

struct event_base;

/**
 * The libevent event_base of a live loop, for hosts that put their own
 * libevent users on the same loop (a control plane's evhttp).  NULL on a
 * virtual loop.
 */
struct event_base *umpa_loop_event_base(struct umpa_loop *loop);

/** The last signal that broke the loop through umpa_loop_break_on_signal, or 0. */
int umpa_loop_signalled(const struct umpa_loop *loop);

/* ---- rates and packet sources ---- */

/**
 * A pace.  pps and bps are limits (0: none); with both, each packet waits
 * for the larger of the two gaps.  bps counts the bits of the frame bytes
 * handed to the sink (no preamble, FCS or inter-frame gap).  jitter (0..1)
 * makes each gap gap * (1 + jitter * u), u uniform in [-1, 1] from a
 * splitmix64 generator seeded with @c seed: the mean rate is kept and the
 * same seed gives the same gaps.  Due times follow the schedule, not the
 * actual send times, so a late packet does not slow the rest down.
 */
struct umpa_rate {
	double pps;     /**< packets per second, 0 = no limit, else 1e-8..1e9 (umpa_num_pps) */
	double bps;     /**< bits per second, 0 = no limit, else 1..1e12 (umpa_num_bps) */
	double jitter;  /**< fraction of the gap, 0..1 */
	uint64_t seed;  /**< jitter RNG seed */
	unsigned batch; /**< most frames per sink call, 1..UMPA_BATCH_MAX (0: UMPA_BATCH_MAX) */
};

/**
 * Most frames a sink gets in one call.  256 frames per TX-ring flush costs
 * a quarter of the system calls of 64 (measured ~5% more frames per
 * CPU-second on a veth pair); each source reserves this many UMPA_FRAME_CAP
 * buffers of address space, touched only as far as frames are written.
 */
#define UMPA_BATCH_MAX 256

/**
 * One frame on its way from a source to a sink.  The loop owns @c buf
 * (@c cap bytes, at least UMPA_FRAME_CAP); the source either writes its
 * bytes there and sets data = buf, or points @c data at bytes of its own
 * that stay valid until the sink call carrying the frame returns (e.g. a
 * pre-built packet).
 */
struct umpa_frame {
	const uint8_t *data; /**< the frame's bytes */
	uint32_t len;        /**< their number */
	int64_t due_ns;      /**< scheduled time (loop clock), set by the loop */
	uint8_t *buf;        /**< loop-owned scratch space for the source */
	uint32_t cap;        /**< bytes of buf */
};

/** Size of each frame's scratch buffer. */
#define UMPA_FRAME_CAP 65536

/**
 * Produce the next frame into @p f.  Return 1 when a frame was produced, 0
 * at the end (no frame), or a negative error with @p e set (the loop stops
 * with it).
 */
typedef int (*umpa_source_cb)(void *arg, struct umpa_frame *f, struct umpa_err *e);

/**
 * Consume @p n (>= 1) frames, in order.  Return how many were taken (0..n;
 * the rest are offered again soon, e.g. after a full TX ring) or a negative
 * error with @p e set (the loop stops with it).
 */
typedef int (*umpa_sink_cb)(void *arg, const struct umpa_frame *f, unsigned n, struct umpa_err *e);

/**
 * Rate accuracy of a source.  elapsed_ns runs from the first frame handed
 * to the sink to the last; the achieved rates are measured over it
 * ((packets - 1) / elapsed, and the bits of every frame but the last), so a
 * perfect schedule shows exactly the requested rate.  Gaps are between
 * consecutive frames' send instants (the clock read before each sink call:
 * frames of one batch share it); lateness is that instant minus the due time.
 */
struct umpa_rate_stats {
	uint64_t packets;     /**< frames taken by the sink */
	uint64_t bytes;       /**< their bytes */
	int64_t elapsed_ns;   /**< first send to last send */
	double req_pps;       /**< requested pps (0: no limit) */
	double req_bps;       /**< requested bps (0: no limit) */
	double pps;           /**< achieved packets per second (0 with fewer than 2 packets) */
	double bps;           /**< achieved bits per second */
	double gap_mean_ns;   /**< mean inter-frame gap */
	double gap_stddev_ns; /**< its standard deviation (the gap jitter) */
	int64_t max_late_ns;  /**< worst lateness against the schedule */
	int64_t first_ns;     /**< loop time of the first send */
	int64_t last_ns;      /**< loop time of the last send */
};

/**
 * Drive @p src_cb -> @p sink_cb at @p rate (NULL: as fast as possible),
 * starting now.  On the live clock, frames whose due time has come go to
 * the sink in batches of up to rate->batch (rates above the timer
 * resolution send in bursts computed from the elapsed time, a token bucket;
 * the last UMPA_SPIN_NS before a due time are spun, not slept, so gaps are
 * accurate to microseconds); unpaced sources send full batches and return
 * to the loop between groups of batches so fds still run.  On the virtual
 * clock each frame is handed over at exactly its due time.  The source
 * keeps the loop running until it ends (src_cb returns 0), is stopped, or
 * fails.  Returns the source (owned by the loop; its stats stay readable
 * after it ends, until umpa_source_close or umpa_loop_free), or NULL with
 * @p e set.
 */
struct umpa_source *umpa_loop_source(struct umpa_loop *loop, umpa_source_cb src_cb, void *src_arg,
				     const struct umpa_rate *rate, umpa_sink_cb sink_cb, void *sink_arg,
				     struct umpa_err *e);

/** The live clock spins instead of sleeping for the last this many ns before a due time. */
#define UMPA_SPIN_NS 50000

/**
 * Stop @p s now (no more frames; frames not yet taken are dropped).  Safe
 * from inside @p s's own source or sink callback (a sink that stops it still
 * has the frames it returned as taken counted).  Stats stay readable.
 */
void umpa_source_stop(struct umpa_source *s);

/** True when @p s has ended (source said so, stopped, or failed). */
int umpa_source_done(const struct umpa_source *s);

/** Fill @p st with @p s's rate accuracy so far. */
void umpa_source_stats(const struct umpa_source *s, struct umpa_rate_stats *st);

/**
 * Change a paced source's rate while it runs (a control plane): @p pps and
 * @p bps as struct umpa_rate has them, one of them > 0.  The frames after
 * the next follow the new gaps; the next is due no later than one new gap
 * from now.  Returns 0 or -UMPA_EINVAL (out of range; an unpaced source).
 */
int umpa_source_set_rate(struct umpa_source *s, double pps, double bps, struct umpa_err *e);

/**
 * Pause (@p on 1) or resume (0) @p s while it runs (a control plane): while
 * paused no frame is produced or handed to the sink (frames already
 * produced wait); on resume a paced source's schedule moves by the time it
 * was paused, so it goes on at its rate with no burst to catch up.  The rate
 * report counts the pause as one long gap.  Returns 0 (also when it already
 * was as asked) or -UMPA_EINVAL when @p s has ended.
 */
int umpa_source_pause(struct umpa_source *s, int on, struct umpa_err *e);

/**
 * Stop @p s if running and free it.  Not from inside @p s's own source or
 * sink callback (use umpa_source_stop there).  NULL is accepted.  Returns NULL.
 */
struct umpa_source *umpa_source_close(struct umpa_source *s);

#endif
