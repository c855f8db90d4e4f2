/* replay_filter.c - the capture filter of umpa replay: only frames that can be answers.
 *
 * An answer to a frame umpa replay sent comes back link-layer addressed to
 * that frame's sender (its source MAC, after the MAC map) or to a group
 * (broadcast, multicast: DHCP offers, unsolicited neighbour advertisements).
 * The filter says so in BPF, so the kernel copies nothing else into the
 * capture ring on a busy link (mirrored or shared traffic, the host's own):
 * "ether multicast or ether dst M1 or ether dst M2 ...".  A filter by IP
 * address would lose the ICMP errors of routers on the way and a DHCP
 * offer to an address not yet owned; the link layer has neither problem,
 * and VLAN tags come after the addresses.
 */
#include <stdio.h>
#include <string.h>

#include "umpa_cursor.h"
#include "umpa_protos.h"
#include "umpa_replay.h"

/* more senders than this: no filter (a long BPF program costs more per frame than it saves) */
#define REPLAY_FILTER_MACS 16

int umpa_replay_answer_filter(const struct umpa_replay_cap *cap, struct umpa_sbuf *out)
{
	uint8_t macs[REPLAY_FILTER_MACS][6];
	unsigned n = 0;

	if (cap->linktype != UMPA_LINKTYPE_ETHERNET)
		return 0;
	for (uint32_t i = 0; i < cap->npkts; i++) {
		const struct umpa_replay_pkt *rp = &cap->pkts[i];
		struct umpa_cur c;
		uint8_t src[6];
		unsigned k;
		if (rp->role != UMPA_ROLE_SEND || (rp->unsendable & 1))
			continue;
		umpa_cur_init(&c, cap->arena + rp->off, rp->len);
		if (umpa_cur_copy_at(&c, 6, 6, src) < 0)
			return 0; /* a frame without an Ethernet header: no filter */
		if (src[0] & 1)
			continue; /* a group address sends nothing back to itself */
		for (k = 0; k < n && memcmp(macs[k], src, 6); k++)
			;
		if (k < n)
			continue;
		if (n == REPLAY_FILTER_MACS)
			return 0;
		memcpy(macs[n++], src, 6);
	}
	if (n == 0)
		return 0;
	umpa_sbuf_puts(out, "ether multicast");
	for (unsigned k = 0; k < n; k++) {
		umpa_sbuf_puts(out, " or ether dst ");
		umpa_sbuf_put_mac(out, macs[k]);
	}
	return out->oom ? 0 : 1;
}
