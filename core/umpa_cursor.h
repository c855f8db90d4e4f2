/* umpa_cursor.h - the one bounds-checked cursor over untrusted bytes.
 *
 * Every read of captured bytes in umpa goes through these functions.  A cursor
 * is a window [p, p+len) and a position.  Reads that would cross the end of the
 * window fail (return -1 and set the sticky `err` flag) and never touch memory
 * outside it.  The checks compare lengths, not pointers, so they cannot
 * overflow and the compiler cannot drop them.
 */
#ifndef UMPA_CURSOR_H
#define UMPA_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** A window over untrusted bytes plus a read position. */
struct umpa_cur {
	const uint8_t *p; /**< first byte of the window */
	size_t len;       /**< window length in bytes */
	size_t pos;       /**< next sequential read offset */
	int err;          /**< set to 1 once any read failed */
};

/** Start a cursor over [p, p+len). */
static inline void umpa_cur_init(struct umpa_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
	c->pos = 0;
	c->err = 0;
}

/** True when @p n bytes at offset @p off lie inside the window. */
static inline bool umpa_cur_has(const struct umpa_cur *c, size_t off, size_t n)
{
	return off <= c->len && n <= c->len - off;
}

/** Bytes left after the read position. */
static inline size_t umpa_cur_left(const struct umpa_cur *c)
{
	return c->pos <= c->len ? c->len - c->pos : 0;
}

/** Read one byte at @p off.  Returns 0, or -1 when out of the window. */
static inline int umpa_cur_u8_at(struct umpa_cur *c, size_t off, uint8_t *v)
{
	if (!umpa_cur_has(c, off, 1)) {
		c->err = 1;
		return -1;
	}
	*v = c->p[off];
	return 0;
}

/** Read a big-endian 16-bit value at @p off.  Returns 0 or -1. */
static inline int umpa_cur_be16_at(struct umpa_cur *c, size_t off, uint16_t *v)
{
	if (!umpa_cur_has(c, off, 2)) {
		c->err = 1;
		return -1;
	}
	*v = (uint16_t)((c->p[off] << 8) | c->p[off + 1]);
	return 0;
}

/** Read a big-endian 32-bit value at @p off.  Returns 0 or -1. */
static inline int umpa_cur_be32_at(struct umpa_cur *c, size_t off, uint32_t *v)
{
	if (!umpa_cur_has(c, off, 4)) {
		c->err = 1;
		return -1;
	}
	*v = ((uint32_t)c->p[off] << 24) | ((uint32_t)c->p[off + 1] << 16) | ((uint32_t)c->p[off + 2] << 8) |
	     c->p[off + 3];
	return 0;
}

/** Read a little-endian 16-bit value at @p off.  Returns 0 or -1. */
static inline int umpa_cur_le16_at(struct umpa_cur *c, size_t off, uint16_t *v)
{
	if (!umpa_cur_has(c, off, 2)) {
		c->err = 1;
		return -1;
	}
	*v = (uint16_t)(c->p[off] | (c->p[off + 1] << 8));
	return 0;
}

/** Read a little-endian 32-bit value at @p off.  Returns 0 or -1. */
static inline int umpa_cur_le32_at(struct umpa_cur *c, size_t off, uint32_t *v)
{
	if (!umpa_cur_has(c, off, 4)) {
		c->err = 1;
		return -1;
	}
	*v = c->p[off] | ((uint32_t)c->p[off + 1] << 8) | ((uint32_t)c->p[off + 2] << 16) |
	     ((uint32_t)c->p[off + 3] << 24);
	return 0;
}

/*
 * Host-order reads: for the kernel's own structures (rtnetlink messages and
 * attributes, packet-socket headers), which are in the byte order of the
 * machine, not the network's.  Unaligned offsets are fine (memcpy).
 */

/** Read a host-order 16-bit value at @p off.  Returns 0 or -1. */
static inline int umpa_cur_h16_at(struct umpa_cur *c, size_t off, uint16_t *v)
{
	if (!umpa_cur_has(c, off, 2)) {
		c->err = 1;
		return -1;
	}
	memcpy(v, c->p + off, 2);
	return 0;
}

/** Read a host-order 32-bit value at @p off.  Returns 0 or -1. */
static inline int umpa_cur_h32_at(struct umpa_cur *c, size_t off, uint32_t *v)
{
	if (!umpa_cur_has(c, off, 4)) {
		c->err = 1;
		return -1;
	}
	memcpy(v, c->p + off, 4);
	return 0;
}

/** Read a host-order signed 32-bit value at @p off (netlink error codes).  Returns 0 or -1. */
static inline int umpa_cur_hs32_at(struct umpa_cur *c, size_t off, int32_t *v)
{
	if (!umpa_cur_has(c, off, 4)) {
		c->err = 1;
		return -1;
	}
	memcpy(v, c->p + off, 4);
	return 0;
}

/** Point @p out at @p n bytes at @p off (no copy).  Returns 0 or -1. */
static inline int umpa_cur_ptr_at(struct umpa_cur *c, size_t off, size_t n, const uint8_t **out)
{
	if (!umpa_cur_has(c, off, n)) {
		c->err = 1;
		return -1;
	}
	*out = c->p + off;
	return 0;
}

/**
 * Read an unsigned big-endian bit field of @p bits (1..64) bits starting
 * @p bitoff bits into the window.  Returns 0 or -1.
 */
int umpa_cur_bits_at(struct umpa_cur *c, size_t bitoff, unsigned bits, uint64_t *v);

/** Sequential reads: advance the position on success. */
static inline int umpa_cur_u8(struct umpa_cur *c, uint8_t *v)
{
	if (umpa_cur_u8_at(c, c->pos, v) < 0)
		return -1;
	c->pos += 1;
	return 0;
}

/** Sequential big-endian 16-bit read. */
static inline int umpa_cur_be16(struct umpa_cur *c, uint16_t *v)
{
	if (umpa_cur_be16_at(c, c->pos, v) < 0)
		return -1;
	c->pos += 2;
	return 0;
}

/** Sequential big-endian 32-bit read. */
static inline int umpa_cur_be32(struct umpa_cur *c, uint32_t *v)
{
	if (umpa_cur_be32_at(c, c->pos, v) < 0)
		return -1;
	c->pos += 4;
	return 0;
}

/** Sequential borrow of @p n bytes. */
static inline int umpa_cur_ptr(struct umpa_cur *c, size_t n, const uint8_t **out)
{
	if (umpa_cur_ptr_at(c, c->pos, n, out) < 0)
		return -1;
	c->pos += n;
	return 0;
}

/** Skip @p n bytes.  Returns 0 or -1 (position unchanged on failure). */
static inline int umpa_cur_skip(struct umpa_cur *c, size_t n)
{
	if (!umpa_cur_has(c, c->pos, n)) {
		c->err = 1;
		return -1;
	}
	c->pos += n;
	return 0;
}

/** A sub-cursor over [off, off+n) of @p c.  Returns 0 or -1. */
static inline int umpa_cur_sub(const struct umpa_cur *c, size_t off, size_t n, struct umpa_cur *sub)
{
	if (!umpa_cur_has(c, off, n))
		return -1;
	umpa_cur_init(sub, c->p + off, n);
	return 0;
}

/** Read a big-endian 24-bit value at @p off (TLS handshake lengths).  Returns 0 or -1. */
static inline int umpa_cur_be24_at(struct umpa_cur *c, size_t off, uint32_t *v)
{
	if (!umpa_cur_has(c, off, 3)) {
		c->err = 1;
		return -1;
	}
	*v = ((uint32_t)c->p[off] << 16) | ((uint32_t)c->p[off + 1] << 8) | c->p[off + 2];
	return 0;
}

/** Sequential big-endian 24-bit read. */
static inline int umpa_cur_be24(struct umpa_cur *c, uint32_t *v)
{
	if (umpa_cur_be24_at(c, c->pos, v) < 0)
		return -1;
	c->pos += 3;
	return 0;
}

/** Copy @p n bytes at @p off into @p out.  Returns 0 or -1 (nothing copied). */
static inline int umpa_cur_copy_at(struct umpa_cur *c, size_t off, size_t n, void *out)
{
	if (!umpa_cur_has(c, off, n)) {
		c->err = 1;
		return -1;
	}
	if (n)
		memcpy(out, c->p + off, n);
	return 0;
}

#endif
