/* umpa_near.h - "did you mean ...": the nearest known name to a mistyped one.
 *
 * One helper for every place that rejects a name (a protocol, a field, a
 * value name, a flag name, a command): feed it the known names one by one,
 * then ask for the nearest.  Distance is the optimal string alignment
 * distance (Levenshtein plus adjacent transpositions, "dprot" -> "dport" is 1),
 * comparing case-insensitively with '-' and '_' alike (umpa_vname_value's
 * rule).  A name is offered only when it is close enough to be a typo: at most
 * 1 edit for names of up to 4 characters, 2 up to 10, 3 beyond; or when the
 * typed name is a prefix of it or differs only in case.  Ties go to the first
 * name offered.  No allocation.
 */
#ifndef UMPA_NEAR_H
#define UMPA_NEAR_H

#include <stddef.h>

/** Longest name compared (longer names are never offered). */
#define UMPA_NEAR_MAX 64

/** The search state: zero it with umpa_near_init. */
struct umpa_near {
	const char *want; /**< the name that was not found */
	const char *best; /**< nearest name so far (not NUL-terminated when from a list: see len) */
	size_t len;       /**< its length */
	unsigned dist;    /**< its distance; above the limit when there is none */
};

/** Start a search for names near @p want. */
void umpa_near_init(struct umpa_near *n, const char *want);

/** Offer the name [@p cand, @p cand + @p len). */
void umpa_near_try(struct umpa_near *n, const char *cand, size_t len);

/** Offer NUL-terminated @p cand (NULL is ignored). */
void umpa_near_str(struct umpa_near *n, const char *cand);

/** Offer every name of the comma-separated list @p list (NULL is ignored). */
void umpa_near_list(struct umpa_near *n, const char *list);

/**
 * The nearest name as a NUL-terminated string in @p buf (@p size bytes), or
 * NULL when no name offered was near enough.
 */
const char *umpa_near_best(const struct umpa_near *n, char *buf, size_t size);

/**
 * The one call of a parser that rejects a word of its text (an option or
 * record name inside a spec such as "msss=1460"): the name of the
 * comma-separated @p list nearest to [@p want, @p want + @p n) (not
 * NUL-terminated), in @p buf (@p size bytes).  NULL when none is near enough,
 * or when the word is one of the names (compared as above: case and '-'/'_'
 * folded), since the mistake is then elsewhere (its value).
 */
const char *umpa_near_in(const char *want, size_t n, const char *list, char *buf, size_t size);

/** printf pieces for a suggestion @p best (NULL: none) at the start of a parenthesis: "did you mean 'mss'? ". */
#define UMPA_NEAR_FMT "%s%s%s"
#define UMPA_NEAR_ARGS(best) (best) ? "did you mean '" : "", (best) ? (best) : "", (best) ? "'? " : ""

#endif
