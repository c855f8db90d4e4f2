/* umpa_spec.h - the one tokenizer for the text specs of variable fields.
 *
 * Every spec a protocol parses from text (IP, IPv6 and TCP options, ICMPv6
 * options, DNS records, TLS handshake lists, raw hex payloads) is split and
 * read here, so they all accept the same separators and number forms.
 *
 * Grammar (ABNF; blanks = SP / HTAB):
 *
 *   spec    = item *( "," item )         ; blanks around items are ignored and
 *                                        ; empty items ("a,,b", a trailing ",") skipped
 *                                        ; a "\" before any character keeps it from
 *                                        ; separating ("a\,b" is one item); the "\" stays
 *                                        ; in the text for the protocol to unescape (DNS)
 *   item    = key [ "=" value ]          ; key and value trimmed of blanks
 *   value   = part *( ":" part )         ; a list (umpa_spec_part walks it)
 *   number  = 1*DIGIT / "0x" 1*HEXDIG    ; decimal, or hex after 0x / 0X; no sign,
 *                                        ; blanks around it ignored, at most a caller's max
 *                                        ; (a leading 0 is decimal, not octal: "010" is 10)
 *   hex     = [ "0x" ] *( byte / sep )   ; byte = 2HEXDIG; sep = ":" / "-" / "." / SP;
 *                                        ; a separator never splits a byte ("d:e" is bad)
 *
 * The functions take spans (pointer and length), never NUL-terminated copies,
 * and do not allocate.
 */
#ifndef UMPA_SPEC_H
#define UMPA_SPEC_H

#include <stddef.h>
#include <stdint.h>

/** A piece of text: [s, s+n), not NUL-terminated. */
struct umpa_span {
	const char *s;
	size_t n;
};

/** The span of NUL-terminated @p s (an empty span for NULL). */
struct umpa_span umpa_span_of(const char *s);

/** @p a without the blanks (space, tab) at both ends. */
struct umpa_span umpa_span_trim(struct umpa_span a);

/**
 * Copy @p a into @p buf as a NUL-terminated string (for inet_pton and error
 * messages).  Returns 0, or -1 when it does not fit in @p size bytes.
 */
int umpa_span_cstr(struct umpa_span a, char *buf, size_t size);

/** True when @p a is @p word, ignoring case. */
int umpa_span_is(struct umpa_span a, const char *word);

/**
 * Split @p a at the first of the characters @p seps that no "\" escapes: the
 * text before in *@p head, after in *@p tail (empty when there is none).
 * Returns 1 when a separator was found, 0 when *@p head is all of @p a.
 */
int umpa_span_cut(struct umpa_span a, const char *seps, struct umpa_span *head, struct umpa_span *tail);

/**
 * Take the next non-empty ","-separated item of the spec at *@p s into
 * *@p item (trimmed); *@p s moves past it.  Returns 1, or 0 at the end.
 */
int umpa_spec_next(struct umpa_span *s, struct umpa_span *item);

/**
 * Read the next item of the spec at *@p s (what is left of the spec),
 * split at its first "=": its key in *@p key, its value in *@p val (empty) and whether it had "=" in
 * *@p hasval; *@p s moves past the item and its ",".  Returns 1 when an item
 * was read, 0 at the end of the spec.
 */
int umpa_spec_item(struct umpa_span *s, struct umpa_span *key, struct umpa_span *val, int *hasval);

/**
 * Take the next ":"-separated part of the list *@p list into *@p part
 * (trimmed); *@p list keeps the rest.  Returns 1, or 0 when the list is used up.
 */
int umpa_spec_part(struct umpa_span *list, struct umpa_span *part);

/** The number of parts umpa_spec_part takes from @p list (1 for text without ":", 0 for empty). */
size_t umpa_spec_nparts(struct umpa_span list);

/** The value of hex digit @p ch (either case), or -1. */
int umpa_spec_hexval(int ch);

/** Read a number (see the grammar) of at most @p max into *@p v.  Returns 0 or -1. */
int umpa_spec_num(struct umpa_span a, uint64_t max, uint64_t *v);

/** What umpa_spec_hex found wrong (negative returns). */
enum umpa_spec_hex_err {
	UMPA_SPEC_NOTHEX = -1, /**< a character that is neither a hex digit nor a separator */
	UMPA_SPEC_ODD = -2,    /**< an odd number of hex digits (or a separator inside a byte) */
	UMPA_SPEC_LONG = -3,   /**< more than @p max bytes */
};

/**
 * Decode hex bytes (see the grammar) into @p out, at most @p max of them
 * (@p out may be NULL to count only).  Returns the number of bytes, or a
 * negative enum umpa_spec_hex_err.
 */
long umpa_spec_hex(struct umpa_span a, uint8_t *out, size_t max);

#endif
