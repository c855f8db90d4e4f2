/* umpa_sbuf.h - a growable text buffer for rendering packets, and growing arrays.
 *
 * Renderers append into an sbuf that the caller keeps and reuses, so printing
 * a million packets allocates only when a line is longer than any before it.
 * After an allocation failure the buffer stays valid and `oom` is set.
 * umpa_array_grow is the one way arrays kept across calls grow (by doubling).
 */
#ifndef UMPA_SBUF_H
#define UMPA_SBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "umpa_error.h"

/** A growable, NUL-terminated text buffer. */
struct umpa_sbuf {
	char *s;    /**< text (NUL-terminated when cap > 0) */
	size_t len; /**< bytes used, excluding the NUL */
	size_t cap; /**< bytes allocated */
	int oom;    /**< set once an allocation failed */
};

/** Make room for @p n more bytes. Returns 0, or -1 on allocation failure. */
int umpa_sbuf_grow(struct umpa_sbuf *b, size_t n);

/**
 * Make room for @p need elements of @p elem bytes in the array whose pointer
 * is at @p arrp (a `T **`, passed as void *), of capacity *@p cap elements:
 * the capacity doubles from 64 until it holds @p need, and the array is
 * reallocated (it may move; on failure it stays as it was).  Returns 0, or
 * -UMPA_ENOMEM with @p e set ("out of memory").
 */
int umpa_array_grow(void *arrp, size_t *cap, size_t need, size_t elem, struct umpa_err *e);

/** Release the buffer's memory; it may be reused afterwards. */
void umpa_sbuf_free(struct umpa_sbuf *b);

/** Empty the buffer, keeping its memory. */
static inline void umpa_sbuf_reset(struct umpa_sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = 0;
}

/** Append @p n bytes. */
static inline void umpa_sbuf_put(struct umpa_sbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n && umpa_sbuf_grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

/** Append a NUL-terminated string. */
static inline void umpa_sbuf_puts(struct umpa_sbuf *b, const char *s)
{
	umpa_sbuf_put(b, s, strlen(s));
}

/** Append one character. */
static inline void umpa_sbuf_putc(struct umpa_sbuf *b, char c)
{
	if (b->cap - b->len <= 1 && umpa_sbuf_grow(b, 1) < 0)
		return;
	b->s[b->len++] = c;
	b->s[b->len] = 0;
}

/** Append printf-formatted text. */
void umpa_sbuf_printf(struct umpa_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Append an unsigned decimal number (fast path, no printf). */
void umpa_sbuf_put_u64(struct umpa_sbuf *b, uint64_t v);

/** Append @p v as 0x-prefixed lowercase hex with at least @p digits digits. */
void umpa_sbuf_put_hex(struct umpa_sbuf *b, uint64_t v, unsigned digits);

/** Append a dotted-quad IPv4 address from 4 network-order bytes. */
void umpa_sbuf_put_ipv4(struct umpa_sbuf *b, const uint8_t a[4]);

/** Append an IPv6 address (RFC 5952 text) from 16 bytes. */
void umpa_sbuf_put_ipv6(struct umpa_sbuf *b, const uint8_t a[16]);

/** Append a MAC address aa:bb:cc:dd:ee:ff from 6 bytes. */
void umpa_sbuf_put_mac(struct umpa_sbuf *b, const uint8_t a[6]);

/** Append bytes as lowercase hex pairs separated by @p sep (0 for none). */
void umpa_sbuf_put_hexbytes(struct umpa_sbuf *b, const uint8_t *p, size_t n, char sep);

/**
 * Append @p s (length @p n) as a JSON string literal, quotes included.
 * Well-formed UTF-8 of printable code points is kept as it is; controls,
 * text-moving marks and bytes that are not UTF-8 are escaped (a stray byte
 * 0xNN as \u00NN).
 */
void umpa_sbuf_put_json_str(struct umpa_sbuf *b, const char *s, size_t n);

/**
 * Append @p s (length @p n), untrusted text, so that it is safe to show on
 * a terminal: it can neither move the cursor, clear or retitle the screen,
 * nor forge a line.  Control characters are escaped ("\x1b", "\n", "\r",
 * "\t", "\x00"), so are C1 controls ("\u009b"), bytes that are not
 * well-formed UTF-8 ("\xff") and the Unicode marks, separators and bidi
 * overrides that reorder or hide text ("\u202e").  Printable ASCII and
 * other UTF-8 pass unchanged; a backslash stays a backslash.  The text
 * counterpart of umpa_sbuf_put_json_str(), for every place umpa prints text
 * it did not write: error messages, names and payloads from packets.
 */
void umpa_sbuf_put_safe(struct umpa_sbuf *b, const char *s, size_t n);

/**
 * Escape, in place, what umpa_sbuf_put_safe() escapes in the bytes of @p b
 * from offset @p from on (text a protocol's summary wrote, say).  Copies
 * nothing when that text is safe already.  Returns 0, or -1 on allocation
 * failure (the unsafe rest is dropped, `oom` set).
 */
int umpa_sbuf_make_safe(struct umpa_sbuf *b, size_t from);

#endif
