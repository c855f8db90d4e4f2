/* tcp_internal.h - what the TCP endpoint pair (tcpstream.c) and the one-sided
 * endpoint (tcpend.c) share: segment building, the receiver's interval set
 * and SACK blocks, the RNG.  Not installed. */
#ifndef UMPA_TCP_INTERNAL_H
#define UMPA_TCP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"

#define UMPA_TH_FIN_ 0x01u
#define UMPA_TH_SYN_ 0x02u
#define UMPA_TH_RST_ 0x04u
#define UMPA_TH_PSH_ 0x08u
#define UMPA_TH_ACK_ 0x10u

/** Most SACK blocks in one segment (4 without timestamps, 3 with). */
#define UMPA_TCP_MAX_SACK_ 4

/** splitmix64 (public domain, Sebastiano Vigna): the next number of the generator with state @p s. */
uint64_t umpa_tcp_rng_next_(uint64_t *s);

/**
 * Make room for @p need elements of @p size in *@p buf (a pointer to the
 * array pointer; capacity *@p cap, doubled from 64).  Returns 0 or
 * UMPA_ENOMEM with @p e set.
 */
int umpa_tcp_grow_(void *buf, size_t *cap, size_t need, size_t size, struct umpa_err *e);

/**
 * The window field for a receive window of @p rwnd bytes: unscaled (at most
 * 65535) in a SYN or when window scaling is off (@p scaled 0), otherwise
 * shifted right by @p shift (RFC 7323).
 */
uint32_t umpa_tcp_win_field_(uint32_t rwnd, int scaled, int shift, int syn);

/** An interval [l, r) of stream offsets, with the time it was last extended (a counter). */
struct umpa_tcp_ivl_ {
	uint64_t l, r;
	uint64_t stamp;
};

/** A sorted set of disjoint intervals: data a receiver holds out of order, or what a sender knows was SACKed. */
struct umpa_tcp_ivls_ {
	struct umpa_tcp_ivl_ *v;
	size_t n, cap;
	uint64_t stamp;
};

/** Merge [@p l, @p r) into @p s (the merged interval gets the newest stamp).  Returns 0 or UMPA_ENOMEM. */
int umpa_tcp_ivls_add_(struct umpa_tcp_ivls_ *s, uint64_t l, uint64_t r, struct umpa_err *e);

/** Drop what lies below @p nxt; if an interval starts at or below @p nxt, return its end (the new next), else @p nxt.
 */
uint64_t umpa_tcp_ivls_advance_(struct umpa_tcp_ivls_ *s, uint64_t nxt);

/** Does @p s hold all of [@p l, @p r)? */
int umpa_tcp_ivls_covers_(const struct umpa_tcp_ivls_ *s, uint64_t l, uint64_t r);

/** Free @p s's array and empty it. */
void umpa_tcp_ivls_free_(struct umpa_tcp_ivls_ *s);

/**
 * The SACK blocks a receiver holding @p s sends: a D-SACK [@p dl, @p dr)
 * first when dr > dl, then the held intervals, most recently extended first
 * (RFC 2018), at most @p max in all, into @p out.  Returns their number.
 */
uint32_t umpa_tcp_sack_blocks_(const struct umpa_tcp_ivls_ *s, uint64_t dl, uint64_t dr, uint32_t max,
			       uint64_t out[][2]);

/** Addresses and the protocol fields a segment builder needs (umpa_tcp_wire_init_). */
struct umpa_tcp_wire_ {
	int ipv6;
	uint8_t addr[2][16]; /* [side]; IPv4 in the first 4 bytes */
	uint8_t mac[2][6];
	uint16_t port[2];
	const struct umpa_field *f_eth_src, *f_eth_dst, *f_ip_src, *f_ip_dst, *f_ip_id, *f_ip_df;
	const struct umpa_field *f_sport, *f_dport, *f_seq, *f_ack, *f_flags, *f_win, *f_opts;
};

/** Look up the fields of @p w for IPv4 or IPv6 (w->ipv6).  Returns 0 or UMPA_ENOSYS. */
int umpa_tcp_wire_init_(struct umpa_tcp_wire_ *w, struct umpa_err *e);

/** One segment to build. */
struct umpa_tcp_segout_ {
	unsigned flags;            /* UMPA_TH_* */
	uint32_t seq, ack;         /* ack is written only with ACK set */
	uint32_t win;              /* the window field as sent */
	uint16_t ip_id;            /* IPv4 identification (DF is always set) */
	uint16_t mss;              /* SYN: MSS option */
	int sackok;                /* SYN: SACK permitted */
	int ts;                    /* timestamp option present */
	uint32_t tsval, tsecr;     /* its values */
	int wscale;                /* SYN: window scale shift, -1 none */
	const uint64_t (*sack)[2]; /* SACK blocks, sequence numbers (low 32 bits used) */
	uint32_t nsack;
	const uint8_t *data;
	uint32_t n;
};

/**
 * Build into @p p (released first) Ethernet / IPv4 or IPv6 / TCP / payload
 * from side @p s of @p w to the other side, as @p g says, and finish it.
 * Option layout: SYN "mss, sackok, ts, nop, wscale" (NOPs to align when
 * some are off, as Linux does); other segments "nop nop ts" then "nop nop
 * sack".  A RST carries no option.  Returns 0 or a negative error.
 */
int umpa_tcp_build_(struct umpa_pkt *p, const struct umpa_tcp_wire_ *w, int s, const struct umpa_tcp_segout_ *g,
		    struct umpa_err *e);

/** What a received segment says, read from its TCP header through the cursor (umpa_tcp_parse_). */
struct umpa_tcp_segin_ {
	uint32_t seq, ack, win;
	unsigned flags;
	const uint8_t *data;
	uint32_t n;
	int has_mss, has_ws, has_sackok, has_ts;
	uint32_t mss, ws, tsval, tsecr;
	uint32_t nsack;
	uint32_t sack[UMPA_TCP_MAX_SACK_][2];
};

/** Parse TCP layer @p li of @p p into @p g.  Returns 0, or -1 when the header does not hold together. */
int umpa_tcp_parse_(const struct umpa_pkt *p, unsigned li, struct umpa_tcp_segin_ *g);

#endif
