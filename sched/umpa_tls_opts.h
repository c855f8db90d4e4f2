/* umpa_tls_opts.h - the TLS options as one table: `umpa tls`, tls{} in Lua and
 * the --help text all walk it.
 *
 * Each entry (struct umpa_tls_optdef) names an option once: its table key
 * ("max_record", what Lua's tls{} takes), its command-line spelling
 * ("max-record"), its type, where it lands in struct umpa_tls_conf
 * (offsetof), its range when it is a number, its value names when it is a
 * choice, its parser when neither is enough, and its help line.  A front end
 * walks umpa_tls_optdefs[] (ending with a NULL key) and selects the entries
 * it serves by their flags: a pump writing captures takes them all; a live
 * client (`tls --connect`) takes UMPA_TLS_OPT_CLIENT ones and skips
 * UMPA_TLS_OPT_PUMP ones; a sandboxed front end refuses UMPA_TLS_OPT_FILE.
 *
 * Values arrive as text (the command line, or a Lua string or number the
 * binding formats exactly) and go through umpa_tls_opt_set(), so a value
 * means the same whichever front end gave it.  Every number goes through
 * core's checked parser (umpa_num.h) with the entry's range as its spec
 * (umpa_tls_opt_num_spec); a value out of range, inf, nan or a negative one
 * fails with "KEY: 'V' is out of range (UNIT: LO to HI)".
 *
 * Errors name the table key: "ciphers: no cipher matches 'FOO'".  Errors of
 * umpa_tls_new() use the same keys, so one function
 * (umpa_tls_opt_from_msg) finds the entry an error is about and the front
 * end spells it its way: the CLI prints "umpa tls: --ciphers: ...", Lua
 * raises "FILE:LINE: tls{ciphers=...}: ...".
 *
 * Order: an option for both sides ("ciphers") and its one-side forms
 * ("client_ciphers", flag UMPA_TLS_OPT_SIDED) may both be given; the one-side
 * form wins whatever the order: front ends apply the entries without
 * UMPA_TLS_OPT_SIDED first.
 */
#ifndef UMPA_TLS_OPTS_H
#define UMPA_TLS_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_num.h"
#include "umpa_tls.h"

/** Most conversations one run may ask for (count / -n). */
#define UMPA_TLS_MAX_COUNT 10000000
/** Bounds of a generated RSA key (key_type "rsa:BITS").  512 keeps weak-key captures possible (security_level
 * 0).  8192 is the largest size in common use; its cost is already high: a pump generates two keys (the CA's
 * and the leaf's, of the same type), and `umpa tls --key-type rsa:8192` took 99 s on a busy 2-core machine
 * (rsa:4096: 9.4 s).  Larger keys come from PEM files (cert/key). */
#define UMPA_TLS_RSA_MIN_BITS 512
#define UMPA_TLS_RSA_MAX_BITS 8192
/** Latest first-packet time (seconds since the epoch): pcap holds 32-bit seconds (to 2106); this leaves years
 * for the conversations that follow. */
#define UMPA_TLS_MAX_TIME 4000000000.0

/** Room for the entries of umpa_tls_optdefs (checked at compile time). */
#define UMPA_TLS_OPTS_MAX 96

/** What a run is made of: the pump's options plus what a front end runs them with. */
struct umpa_tls_conf {
	struct umpa_tls_opts o; /**< the pump's options */
	int count;              /**< conversations (0: not given: 1, or 2 with resume) */
	int family[2];          /**< [side] address family a client/server option gave: -1 none, 0 IPv4, 1 IPv6 */
	unsigned char psk[64];  /**< the external PSK's bytes (o.psk points here) */
	char **owned;           /**< strings and data the parsers made (copies, escape-decoded data) */
	size_t nowned, capowned;
	unsigned given[UMPA_TLS_OPTS_MAX]; /**< [entry index] when each entry was first given (0: never) */
	unsigned ngiven;                   /**< options given so far */
};

/** Type of an option's value. */
enum umpa_tls_otype {
	UMPA_TLS_OT_STR = 0, /**< text kept as is (const char *) */
	UMPA_TLS_OT_DATA,    /**< bytes (const void * and size_t), \n \r \t \\ \0 \xHH escapes on request */
	UMPA_TLS_OT_BOOL,    /**< on/off (int): a flag on the command line, true/false in Lua */
	UMPA_TLS_OT_INT,     /**< integer in [ilo, ihi] */
	UMPA_TLS_OT_NUM,     /**< real number in [dlo, dhi] */
	UMPA_TLS_OT_ENUM,    /**< one of names[] (int) */
	UMPA_TLS_OT_CUSTOM,  /**< parsed by the entry's parse function */
};

/** Flags of an entry: which front ends and which side it concerns. */
enum umpa_tls_oflag {
	UMPA_TLS_OPT_CLIENT = 1 << 0,  /**< sets something of the client (a live client front end uses it) */
	UMPA_TLS_OPT_SERVER = 1 << 1,  /**< sets something of the server */
	UMPA_TLS_OPT_PUMP = 1 << 2,    /**< only meaningful when umpa plays both ends (TCP shaping, times, counts) */
	UMPA_TLS_OPT_FILE = 1 << 3,    /**< the value names a file the library opens (sandboxes refuse it) */
	UMPA_TLS_OPT_SIDED = 1 << 4,   /**< a client_/server_ form of a both-sides option: applied after those */
	UMPA_TLS_OPT_OPTARG = 1 << 5,  /**< a BOOL that may carry a value on the command line (--client-cert[=FILE]) */
	UMPA_TLS_OPT_HI_OPEN = 1 << 6, /**< NUM: the upper bound is excluded */
	UMPA_TLS_OPT_TIME = 1 << 7,    /**< NUM: seconds parsed exactly into int64 seconds at[0], nanoseconds at[1] */
};

/** Flags of umpa_tls_opt_set(). */
enum umpa_tls_setflag {
	UMPA_TLS_SET_BORROW = 1 << 0,  /**< keep pointers into the value (it outlives the conf) instead of copying */
	UMPA_TLS_SET_ESCAPES = 1 << 1, /**< DATA: decode \n \r \t \\ \0 \xHH */
};

/** One value name of an ENUM entry. */
struct umpa_tls_optname {
	const char *name;
	int value;
};

struct umpa_tls_optdef;

/** A CUSTOM entry's parser: @p v (@p len bytes, NUL-terminated) into @p c.  Returns 0 or -code with @p e set. */
typedef int (*umpa_tls_optparse_fn)(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
				    unsigned flags, struct umpa_err *e);

/** Help sections, in --help order. */
enum umpa_tls_ogroup {
	UMPA_TLS_OG_RUN = 0,   /**< conversations */
	UMPA_TLS_OG_ALGO,      /**< versions and algorithms */
	UMPA_TLS_OG_CERT,      /**< certificates */
	UMPA_TLS_OG_HANDSHAKE, /**< handshake and records */
	UMPA_TLS_OG_TCP,       /**< TCP */
	UMPA_TLS_OG_COUNT,     /**< how many sections there are */
};

/** One option. */
struct umpa_tls_optdef {
	const char *key; /**< table key ("max_record"): Lua's tls{} key, the name errors use */
	const char *cli; /**< long option ("max-record"); NULL: none */
	char cli_short;  /**< short option ('n') or 0 */
	enum umpa_tls_otype type;
	unsigned flags;             /**< enum umpa_tls_oflag */
	enum umpa_tls_ogroup group; /**< help section */
	size_t at[4];               /**< offsets in struct umpa_tls_conf where the value lands */
	unsigned char nat;          /**< how many of at[] are used */
	unsigned char width;        /**< INT: bytes of each field (1, 2, 4, 8), ENUM: sizeof(int) */
	size_t aux_at;              /**< DATA: offset of the size_t length (for at[0]); OPTARG BOOL: where the
				       value's text lands (const char *) */
	int64_t ilo;                /**< INT range */
	uint64_t ihi;
	double dlo, dhi;                                  /**< NUM range */
	const char *unit;                                 /**< INT, NUM: what the number counts, for range messages */
	const struct umpa_tls_optname *names;             /**< ENUM names ({NULL, 0} ends) */
	umpa_tls_optparse_fn parse;                       /**< CUSTOM parser */
	void (*store)(struct umpa_tls_conf *c, double v); /**< NUM: converts and stores (NULL: a double at at[]) */
	const char *arg;                                  /**< the value in help ("N", "LIST"); NULL for a BOOL */
	const char *help;                                 /**< one line of help */
};

/** Every option, ending with an entry whose key is NULL. */
extern const struct umpa_tls_optdef umpa_tls_optdefs[];

/** Number of entries of umpa_tls_optdefs (without the end). */
size_t umpa_tls_optdefs_count(void);

/**
 * The range of numeric option @p d (INT, NUM, and CUSTOM ones that take a
 * number, such as segment) as a spec of core/umpa_num.h into @p out.
 * Returns 1, or 0 when @p d takes no number.
 */
int umpa_tls_opt_num_spec(const struct umpa_tls_optdef *d, struct umpa_num_spec *out);

/** The entry whose key is @p key (NULL: none). */
const struct umpa_tls_optdef *umpa_tls_opt_find(const char *key);

/** The entry whose command-line spelling is @p cli (without "--"; NULL: none). */
const struct umpa_tls_optdef *umpa_tls_opt_find_cli(const char *cli);

/** Fill @p c with defaults (umpa_tls_opts_init for c->o).  Returns 0 or -UMPA_ENOMEM. */
int umpa_tls_conf_init(struct umpa_tls_conf *c, struct umpa_err *e);

/** Free what @p c owns (the pointers of c->o into it become invalid). */
void umpa_tls_conf_free(struct umpa_tls_conf *c);

/**
 * Parse value @p v (@p len bytes; NUL-terminated) of option @p d into @p c.
 * A BOOL takes "1"/"0"/"true"/"false"/"yes"/"no"/"on"/"off"
 * (umpa_tls_opt_set_bool is the direct form); an OPTARG BOOL with any other
 * value sets the flag and the value (--client-cert=FILE).  Without
 * UMPA_TLS_SET_BORROW kept text and data are copied into @p c.  Returns 0
 * or -code with @p e set to "KEY: why" (UMPA_EINVAL, UMPA_ERANGE for a
 * number out of its range, UMPA_ENOMEM).
 */
int umpa_tls_opt_set(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, const char *v, size_t len,
		     unsigned flags, struct umpa_err *e);

/** Set BOOL option @p d to @p on.  Returns 0, or -UMPA_EINVAL if @p d is no BOOL. */
int umpa_tls_opt_set_bool(const struct umpa_tls_optdef *d, struct umpa_tls_conf *c, int on, struct umpa_err *e);

/**
 * After the options: what follows from several of them (early data implies
 * resume=ticket, the default count, the address family of client/server and
 * ipv6).  Returns 0 or -code with @p e set ("KEY: why").
 */
int umpa_tls_conf_finish(struct umpa_tls_conf *c, struct umpa_err *e);

/**
 * The option an error message of this library is about: @p msg starts with
 * "KEY: " (umpa_tls_opt_set, umpa_tls_conf_finish, umpa_tls_new).  When @p c
 * is given and the user did not give KEY itself but another option that
 * writes the same fields (min_version for version), that one is returned:
 * the option the user typed.  *@p rest (may be NULL) receives the text after
 * "KEY: ".  Returns NULL when the message names no option.
 */
const struct umpa_tls_optdef *umpa_tls_opt_from_msg(const char *msg, const struct umpa_tls_conf *c, const char **rest);

/**
 * Parse a key type: "rsa" (2048 bits), "rsa:BITS" (UMPA_TLS_RSA_MIN_BITS..
 * UMPA_TLS_RSA_MAX_BITS), a curve for ECDSA - "ec:CURVE", "ecdsa:CURVE" or
 * the curve alone, CURVE one of p256 P-256 secp256r1 prime256v1, p384 P-384
 * secp384r1, p521 P-521 secp521r1 (any case) - "ec" (P-256), "ed25519",
 * "ed448"; with @p dsa_ok also "dsa" / "dsa:BITS" (2048, 1024..3072).  Writes
 * the canonical form ("rsa:3072", "ec:P-384", "ed25519") into @p canon
 * (@p n bytes; may be NULL).  Returns 0 or -code with @p e set
 * ("key_type: ..."; a size out of range: UMPA_ERANGE, "key_type: '16384' is
 * out of range (bits of an RSA key: 512 to 8192)").
 */
int umpa_tls_keytype_parse(const char *s, int dsa_ok, char *canon, size_t n, struct umpa_err *e);

/**
 * Generate a key of @p key_type (umpa_tls_keytype_parse names, "dsa"
 * accepted) and a self-signed server certificate named @p cn (CN and SAN),
 * valid from a day ago for a year, and write them as PEM: the certificate to
 * @p cert_path, the key to @p key_path (mode 0600).  Returns 0 or -code with
 * @p e set.
 */
int umpa_tls_cert_write_pem(const char *key_type, const char *cn, const char *cert_path, const char *key_path,
			    struct umpa_err *e);

#endif
