/* umpa_replay_fwd.h - the forwarding check of `umpa replay -i A -i B`: both sides sent through a device, each packet
 * checked where it comes out.
 *
 * With two interfaces the capture is played from both ends (the client side
 * of each flow out of interface 0, the server side out of interface 1,
 * umpa_replay_sides.both) through a device between them: a bridge, a
 * router, a firewall, or a template (flaky-link).  Every packet sent is one
 * exchange whose expected answer is itself, arriving on the other
 * interface: it is matched among the flow's packets in flight the other way
 * (the same bytes from the network layer on, TTL / hop limit and the IPv4
 * header checksum aside, else the first one the checker finds equal, else
 * the oldest one), and compared field by field with what was sent
 * (umpa_replay_compare: the run's checker and its ignore lists; the link
 * layer is the device's to change, a router's new MAC addresses for one:
 * the tool ignores "eth" unless told --check eth).  A router's TTL shows as
 * ip.ttl 64 -> 63 unless ignored.  Verdicts: matched, differing (with the
 * fields), missing (not out of the other interface within the timeout:
 * dropped), unexpected (a packet of the flow came out where nothing was in
 * flight: duplicated, or made by the device); the live latency is the time
 * through the device.
 */
#ifndef UMPA_REPLAY_FWD_H
#define UMPA_REPLAY_FWD_H

#include "umpa_replay.h"

/** The forwarding driver: claims every flow of a capture loaded with sides.both. */
extern const struct umpa_replay_driver umpa_replay_driver_fwd;

#endif
