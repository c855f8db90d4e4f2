/* umpa_error.h - error reporting for libumpa.
 *
 * Library code never prints and never exits.  A function that can fail takes
 * a `struct umpa_err *` (which may be NULL) and returns a negative code; the
 * message says what failed and where, ready for a tool to print as one line.
 */
#ifndef UMPA_ERROR_H
#define UMPA_ERROR_H

#include <stddef.h>

/** Error codes returned (negated) by libumpa functions. */
enum umpa_errcode {
	UMPA_OK = 0,
	UMPA_EINVAL = 1,  /**< bad argument or value */
	UMPA_ENOMEM = 2,  /**< out of memory */
	UMPA_ERANGE = 3,  /**< value out of range / too large */
	UMPA_EIO = 4,     /**< system or file I/O error */
	UMPA_ENOENT = 5,  /**< unknown name (field, protocol, file) */
	UMPA_EFORMAT = 6, /**< malformed input data */
	UMPA_ETRUNC = 7,  /**< input ends early */
	UMPA_ENOSYS = 8,  /**< not supported here */
	UMPA_EPERM = 9,   /**< permission denied */
};

/** An error: its code and a one-line message. */
struct umpa_err {
	int code;
	char msg[512];
};

/**
 * Record an error.  @p e may be NULL (the message is then dropped).
 * Returns -code so that `return umpa_err_set(e, UMPA_EINVAL, "...")` works.
 */
int umpa_err_set(struct umpa_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Prefix an existing message with more context ("file.pcap: " ...). Returns -e->code. */
int umpa_err_prefix(struct umpa_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Reset @p e to "no error". */
void umpa_err_clear(struct umpa_err *e);

#endif
