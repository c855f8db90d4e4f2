/* cursor.c - bit-field reads through the bounds-checked cursor. */
#include "umpa_cursor.h"

int umpa_cur_bits_at(struct umpa_cur *c, size_t bitoff, unsigned bits, uint64_t *v)
{
	size_t first = bitoff / 8, last, nbytes;
	unsigned shift;
	uint64_t acc = 0;

	if (bits == 0 || bits > 64) {
		c->err = 1;
		return -1;
	}
	last = (bitoff + bits - 1) / 8;
	nbytes = last - first + 1;
	if (!umpa_cur_has(c, first, nbytes)) {
		c->err = 1;
		return -1;
	}
	if ((bitoff & 7) == 0 && (bits & 7) == 0) { /* byte-aligned: the common case */
		for (size_t i = 0; i < nbytes; i++)
			acc = acc << 8 | c->p[first + i];
		*v = acc;
		return 0;
	}
	/* up to 9 bytes: accumulate the high part separately to avoid losing bits */
	shift = (unsigned)(8 * nbytes - (bitoff & 7) - bits); /* bits to drop at the right */
	{
		unsigned __int128 w = 0;
		for (size_t i = 0; i < nbytes; i++)
			w = w << 8 | c->p[first + i];
		w >>= shift;
		if (bits < 64)
			w &= (((unsigned __int128)1) << bits) - 1;
		acc = (uint64_t)w;
	}
	*v = acc;
	return 0;
}
