/* umpa_inet.h - helpers shared by the protocols above IP (pseudo-header sums). */
#ifndef UMPA_INET_H
#define UMPA_INET_H

#include <stdint.h>

#include "umpa_packet.h"

/**
 * The index of the nearest IPv4 or IPv6 layer before @p li, or -1.
 * Extension headers are skipped over.
 */
int umpa_inet_l3(const struct umpa_pkt *p, unsigned li);

/**
 * Running ones'-complement sum of the IPv4/IPv6 pseudo-header for an
 * upper-layer PDU of @p len bytes with protocol @p proto, using the
 * addresses of the nearest IP layer before @p li.  Returns 0, or -1 when
 * there is no IP layer (or its address bytes are not present).
 */
int umpa_inet_pseudo_sum(const struct umpa_pkt *p, unsigned li, uint8_t proto, uint32_t len, uint32_t *sum);

/**
 * True when the checksum field at @p csum_off of layer @p li holds exactly
 * the folded pseudo-header sum @p pseudo (not complemented): what Linux
 * writes for checksum offload (CHECKSUM_PARTIAL: ~tcp_v4_check(len, s, d, 0)),
 * leaving the NIC to add the segment and complement - unless the segment's
 * own checksum happens to verify.
 */
int umpa_inet_partial_csum(const struct umpa_pkt *p, unsigned li, uint32_t pseudo, uint32_t csum_off);

/**
 * The Internet checksum of layer @p li's whole window with the checksum
 * field at byte @p csum_off treated as zero, plus the pseudo-header for
 * @p proto when @p pseudo is true.  Sets *ok = 0 when the pseudo-header is
 * needed but unavailable.
 */
uint16_t umpa_inet_csum(const struct umpa_pkt *p, unsigned li, uint32_t csum_off, int pseudo, uint8_t proto, int *ok);

/**
 * True when layer @p li is the start of a fragmented upper-layer PDU: the
 * nearest IPv4 layer before it has MF set, or an IPv6 fragment header on the
 * way down has M set.  Its length fields then run past the window and its
 * checksum cannot be verified.  (Later fragments carry raw data.)
 */
int umpa_inet_fragment(const struct umpa_pkt *p, unsigned li);

#endif
