/* umpa_impair.h - a link impairment in the manner of Linux netem, in userland.
 *
 * One impairment is one direction of a link: frames go in with
 * umpa_impair_input and come out through a callback, later, fewer, more,
 * changed or out of order, as the configuration says.  The vocabulary and
 * the order of decisions are netem's (tc-netem(8), net/sched/sch_netem.c):
 *
 *   1. duplication and loss: a frame is counted once, plus one when it is
 *      duplicated, minus one when it is lost (Bernoulli with correlation,
 *      or the Gilbert-Elliott model when ge_p > 0); nothing left: dropped;
 *   2. corruption: one random bit flipped (past the 14-byte Ethernet header,
 *      so a corrupted frame still reaches its host and fails a checksum
 *      there instead of vanishing; netem may also hit the MAC header);
 *   3. queue limit: with @c limit frames waiting, the frame is dropped;
 *   4. reordering: with gap G and probability P, once G-1 frames have been
 *      delayed, the next one goes out at once with probability P (ahead of
 *      the delayed ones);
 *   5. delay: delay + jitter drawn from a distribution (uniform, normal,
 *      pareto, paretonormal; correlated like netem's); jitter larger than
 *      the gaps between frames reorders them, as netem's tfifo does;
 *   6. rate: the frame leaves after the frames queued before it, once its
 *      len * 8 / rate serialisation time has passed (netem's rate, with the
 *      delay absorbed by the wait in the queue).
 *
 * Time is the loop's (sched/umpa_sched.h): live, or virtual for offline
 * runs and tests, where the same seed gives the same decisions and times.
 * A frame waiting is copied once into a buffer reused from a free list (no
 * allocation per frame once the queue has reached its working size).
 *
 * Library code: nothing prints or exits.  Single-threaded, on the loop's
 * thread.
 */
#ifndef UMPA_IMPAIR_H
#define UMPA_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_sched.h"

/** Delay distributions (netem's tables, computed instead of read). */
enum umpa_impair_dist {
	UMPA_DIST_UNIFORM = 0, /**< delay +- jitter, flat (netem's default) */
	UMPA_DIST_NORMAL = 1,  /**< mean delay, standard deviation jitter */
	UMPA_DIST_PARETO = 2,  /**< Pareto (shape 3) scaled to mean delay, deviation jitter; tail cut at 8 deviations */
	UMPA_DIST_PARETONORMAL = 3, /**< 3/4 normal + 1/4 Pareto, scaled to deviation jitter */
};

/** One direction's configuration; umpa_impair_cfg_init gives the no-impairment defaults. */
struct umpa_impair_cfg {
	double delay;               /**< seconds added to every frame (0) */
	double jitter;              /**< seconds, spread of the delay (0) */
	double delay_corr;          /**< 0..1, correlation of successive delays (0) */
	enum umpa_impair_dist dist; /**< shape of the jitter (uniform) */
	double loss;                /**< 0..1, Bernoulli loss probability (0) */
	double loss_corr;           /**< 0..1, correlation with the previous draw (0) */
	double ge_p;                /**< Gilbert-Elliott: good -> bad probability; > 0 selects the model (0) */
	double ge_r;                /**< bad -> good probability (< 0: 1 - ge_p, as tc) */
	double ge_1h;               /**< loss probability in the bad state (1) */
	double ge_1k;               /**< loss probability in the good state (0) */
	double dup;                 /**< 0..1, duplication probability (0) */
	double dup_corr;            /**< 0..1 (0) */
	double corrupt;             /**< 0..1, probability of one flipped bit (0) */
	double corrupt_corr;        /**< 0..1 (0) */
	double reorder;             /**< 0..1, probability that a due frame goes out at once (0) */
	double reorder_corr;        /**< 0..1 (0) */
	unsigned gap;               /**< reorder every gap-th frame at most (0: 1 when reorder > 0, as tc) */
	double rate;                /**< bits per second (0: no limit) */
	unsigned limit;             /**< frames waiting at most (1000, netem's default) */
};

/** Counters of one direction. */
struct umpa_impair_stats {
	uint64_t in;           /**< frames given to umpa_impair_input */
	uint64_t forwarded;    /**< frames handed to the output callback (duplicates included) */
	uint64_t bytes;        /**< bytes of those */
	uint64_t dropped;      /**< lost (loss model) */
	uint64_t delayed;      /**< queued with a delay > 0 */
	uint64_t duplicated;   /**< extra copies made */
	uint64_t corrupted;    /**< frames with a flipped bit */
	uint64_t reordered;    /**< sent at once ahead of delayed frames (reorder) */
	uint64_t rate_queued;  /**< frames held back behind earlier ones by the rate */
	uint64_t rate_dropped; /**< dropped because @c limit frames were waiting */
	uint64_t out_errors;   /**< frames the output callback refused */
	uint64_t queued;       /**< frames waiting now */
};

/** An impairment (one direction; opaque). */
struct umpa_impair;

/**
 * Called for every frame that leaves: @p frame (@p len bytes) is valid
 * during the call only.  Return 0, or a negative error (counted in
 * out_errors; the impairment goes on).
 */
typedef int (*umpa_impair_out_cb)(void *arg, const uint8_t *frame, size_t len, struct umpa_err *e);

/** Fill @p c with the defaults (no impairment, limit 1000, uniform). */
void umpa_impair_cfg_init(struct umpa_impair_cfg *c);

/**
 * Check @p c: probabilities and correlations in [0, 1], delay, jitter and
 * rate finite and >= 0, limit >= 1.  Returns 0 or -UMPA_EINVAL naming the
 * field ("loss: 1.5 is not a probability (0 to 1)").
 */
int umpa_impair_cfg_check(const struct umpa_impair_cfg *c, struct umpa_err *e);

/**
 * Parse a distribution name ("uniform", "normal", "pareto",
 * "paretonormal") into @p d.  Returns 0 or -UMPA_EINVAL naming the choices.
 */
int umpa_impair_dist_parse(const char *name, enum umpa_impair_dist *d, struct umpa_err *e);

/**
 * Create an impairment on @p loop sending what leaves to @p out (@p arg).
 * It starts with the defaults and seed 1.  Returns it or NULL with @p e set.
 */
struct umpa_impair *umpa_impair_new(struct umpa_loop *loop, umpa_impair_out_cb out, void *arg, struct umpa_err *e);

/**
 * Replace the configuration (checked first: a bad one changes nothing).
 * Frames already waiting keep their departure times.  Returns 0 or
 * -UMPA_EINVAL.
 */
int umpa_impair_set(struct umpa_impair *m, const struct umpa_impair_cfg *c, struct umpa_err *e);

/** The configuration in use. */
const struct umpa_impair_cfg *umpa_impair_get(const struct umpa_impair *m);

/**
 * Restart the random stream from @p seed (the same seed and the same input
 * at the same times give the same output), and the correlation and
 * Gilbert-Elliott state with it.
 */
void umpa_impair_seed(struct umpa_impair *m, uint64_t seed);

/**
 * One frame in (@p len bytes, copied when it has to wait or change).  It
 * may leave through the callback before this returns (no delay, nothing
 * queued).  Returns 0, or -UMPA_ENOMEM (the frame is dropped).
 */
int umpa_impair_input(struct umpa_impair *m, const uint8_t *frame, size_t len, struct umpa_err *e);

/** The live counters (valid until umpa_impair_free; they change as frames pass). */
const struct umpa_impair_stats *umpa_impair_stats(const struct umpa_impair *m);

/**
 * When the last waiting frame is due to leave (loop ns), or -1 when none
 * waits: an offline driver advances its clock to it to let every frame out.
 */
int64_t umpa_impair_last_due(const struct umpa_impair *m);

/** Drop every waiting frame (not counted as lost) and free everything.  NULL is fine.  Returns NULL. */
struct umpa_impair *umpa_impair_free(struct umpa_impair *m);

#endif
