/* umpa_num.h - checked numbers: every time, rate, count and size a user gives.
 *
 * One place turns text from the command line (or a number from a Lua table)
 * into a value its use can hold.  A number is checked against a range the
 * caller gives, or a named preset below; inf, nan, hex floats, trailing junk,
 * empty text, overflow and values outside the range are refused with one line
 * that names the option and the range:
 *
 *     --rate: 'inf' is out of range (packets per second: 0 for none, or 0.00000001 to 1000000000)
 *     --time: '12x' is not a number (seconds since 1970: 0 to 4294967295)
 *
 * Accepted text: an optional sign, decimal digits with an optional fraction
 * and an optional exponent ("1.5", ".5", "2e3", "+7").  Whole-number specs
 * (UMPA_NUM_INT) take decimal digits or 0x hex ("0x10"), not fractions or
 * exponents; leading zeros are decimal, never octal.  Times and durations
 * are parsed exactly in decimal (no binary rounding): "0.1" is 100000000 ns;
 * digits past the ninth fractional one are dropped.
 *
 * The echoed text is cut to 40 bytes; it is not escaped here (tools escape
 * every message they print, see umpa_sbuf_put_safe()).
 */
#ifndef UMPA_NUM_H
#define UMPA_NUM_H

#include <stdint.h>

#include "umpa_error.h"

/** Flags of a struct umpa_num_spec. */
enum {
	UMPA_NUM_INT = 1, /**< whole numbers only */
	UMPA_NUM_OFF = 2, /**< 0 is also accepted (meaning none/off) even when below min */
};

/** What a number may be: its unit (for messages), its inclusive range, flags. */
struct umpa_num_spec {
	const char *unit; /**< what it counts, e.g. "seconds", "packets per second" */
	double min, max;  /**< inclusive bounds */
	unsigned flags;   /**< UMPA_NUM_INT, UMPA_NUM_OFF */
};

/** A spec written in place: UMPA_NUM_RANGE("packets", 1, 1000000, UMPA_NUM_INT). */
#define UMPA_NUM_RANGE(unit, min, max, flags) (&(const struct umpa_num_spec){(unit), (min), (max), (flags)})

/*
 * Named presets.  The longest duration is 1e8 s (over 3 years): times 1e9 it
 * fits an int64 of nanoseconds with room to add, and a rate's gap (1 / rate)
 * is never longer, so the slowest rate is 1e-8 per second.
 */

/** Seconds of a duration, timeout or interval: 0 to 1e8, nanosecond resolution. */
extern const struct umpa_num_spec umpa_num_seconds;
/** Packets per second: 0 for none, or 1e-8 to 1e9. */
extern const struct umpa_num_spec umpa_num_pps;
/** Bits per second: 0 for none, or 1 to 1e12. */
extern const struct umpa_num_spec umpa_num_bps;
/** A fraction or probability: 0 to 1. */
extern const struct umpa_num_spec umpa_num_fraction;
/** A count of packets or rounds: whole, 0 to 1e12. */
extern const struct umpa_num_spec umpa_num_count;
/** A size in bytes: whole, 0 to 4294967295. */
extern const struct umpa_num_spec umpa_num_bytes;
/** A random seed: whole, 0 to 2^64 - 1. */
extern const struct umpa_num_spec umpa_num_seed;
/**
 * A timestamp, seconds since 1970: 0 to 9e9 (year 2255).  As an int64 of
 * nanoseconds it leaves 7 years to what a run adds to it (2^63 ns is 2262).
 */
extern const struct umpa_num_spec umpa_num_epoch;
/** A timestamp a pcap file holds (32-bit unsigned seconds): 0 to 4294967295 (year 2106). */
extern const struct umpa_num_spec umpa_num_epoch_pcap;
/** A timestamp a pcapng file of nanosecond resolution holds (64-bit ns): 0 to 18446744072 (year 2554). */
extern const struct umpa_num_spec umpa_num_epoch_pcapng;

/**
 * Parse @p text as a real number within @p s.  @p opt names the option in
 * messages ("--rate", "tls{time}").  Returns 0 with *@p v set, or -1 with
 * @p e set (UMPA_EINVAL: not a number; UMPA_ERANGE: outside the range).
 */
int umpa_num_real(const struct umpa_num_spec *s, const char *opt, const char *text, double *v, struct umpa_err *e);

/**
 * Parse @p text as a whole number within @p s (UMPA_NUM_INT is implied):
 * decimal digits or 0x hex.  Returns 0 with *@p v set, or -1 with @p e set.
 */
int umpa_num_u64(const struct umpa_num_spec *s, const char *opt, const char *text, uint64_t *v, struct umpa_err *e);

/**
 * Parse @p text exactly as seconds within @p s into whole seconds *@p sec
 * and nanoseconds *@p nsec (0..999999999).  For timestamps ("1700000000.5")
 * and anything else that must not lose digits to binary rounding.  The
 * bounds of @p s must lie within 0 and 2^63 - 1.  Returns 0, or -1 with
 * @p e set.
 */
int umpa_num_time(const struct umpa_num_spec *s, const char *opt, const char *text, int64_t *sec, uint32_t *nsec,
		  struct umpa_err *e);

/**
 * Parse @p text exactly as seconds within @p s into nanoseconds *@p ns (the
 * same rules as umpa_num_time()); the max of @p s must be below 2^63 / 1e9
 * (umpa_num_epoch's at most).  Returns 0, or -1 with @p e set.
 */
int umpa_num_ns(const struct umpa_num_spec *s, const char *opt, const char *text, int64_t *ns, struct umpa_err *e);

/**
 * Check a number that is already one (a Lua number, a computed value)
 * against @p s: finite, within the range, whole if UMPA_NUM_INT.  Returns 0,
 * or -1 with @p e set naming @p opt, the value and the range.
 */
int umpa_num_check(const struct umpa_num_spec *s, const char *opt, double v, struct umpa_err *e);

/**
 * umpa_num_check() for a whole number given as an int64 (a Lua integer),
 * compared exactly.  Returns 0, or -1 with @p e set.
 */
int umpa_num_check_i64(const struct umpa_num_spec *s, const char *opt, int64_t v, struct umpa_err *e);

/**
 * Split checked seconds @p v (umpa_num_check() passed, bounds as for
 * umpa_num_time()) into whole seconds and nanoseconds, rounded to the
 * nearest nanosecond (bounds of @p s as for umpa_num_time()).  Returns 0,
 * or -1 with @p e set when @p v is not within @p s.
 */
int umpa_num_check_time(const struct umpa_num_spec *s, const char *opt, double v, int64_t *sec, uint32_t *nsec,
			struct umpa_err *e);

/**
 * Write @p s's range as text ("packets per second: 0 for none, or 0.00000001 to
 * 1000000000") into @p buf of @p cap bytes (always NUL-terminated).
 * Returns @p buf.
 */
const char *umpa_num_range_text(const struct umpa_num_spec *s, char *buf, unsigned cap);

#endif
