/* umpa_resolve.h - the one address policy for packets umpa sends (send, sr, and what comes later).
 *
 * Before a frame goes out at layer 2, its Ethernet destination must be the
 * MAC of the next hop: the destination itself when it is on the link, else
 * the gateway the kernel's routing table names (umpa_route_get, core/
 * umpa_rtnl.h).  The MAC comes from, in order: the resolver's cache, the
 * kernel's neighbour table (umpa_neigh_lookup), and the wire — an ARP
 * who-has (IPv4) or a neighbour solicitation to the solicited-node multicast
 * address (IPv6), sent and matched through the expect engine.  Multicast and
 * broadcast destinations (also an interface subnet's directed broadcast) map
 * to their MACs without asking.  The source addresses are the interface's
 * MAC and the route's preferred source (else the interface's address).
 *
 * A destination that cannot be resolved (no route, nobody answers, no
 * address to send from) is a per-packet outcome: umpa_resolve_dst returns
 * -UMPA_ENOENT with the reason, and the caller reports that packet and goes
 * on with the others.  The answer is cached, so a dead host is asked once
 * per resolver, not once per packet.  Any other error means the resolver
 * itself failed (netlink, capture, memory) and the run should stop.
 */
#ifndef UMPA_RESOLVE_H
#define UMPA_RESOLVE_H

#include <stdint.h>

#include "umpa_error.h"
#include "umpa_expect.h"
#include "umpa_live.h"
#include "umpa_packet.h"
#include "umpa_rtnl.h"
#include "umpa_sched.h"

/** A resolver (opaque): a cache, an interface, and a way to ask the wire. */
struct umpa_resolver;

/**
 * Create a resolver for interface @p ifname (NULL only for a layer-3
 * resolver, see umpa_resolver_set_layer3).  With @p loop and @p ex given,
 * requests go through that engine (the caller's capture must feed it with
 * umpa_expect_input, and arp / icmp6 must pass its filter).  With both NULL
 * the resolver opens, on first need, its own live loop, a capture on
 * @p ifname (filter "arp or icmp6", incoming only) and a layer-2 injector,
 * and closes them with the resolver.  Returns the resolver or NULL with
 * @p e set ("no interface 'foo'").
 */
struct umpa_resolver *umpa_resolver_new(const char *ifname, struct umpa_loop *loop, struct umpa_expect *ex,
					struct umpa_err *e);

/** Free @p r and what it opened (NULL is fine). Returns NULL. */
struct umpa_resolver *umpa_resolver_free(struct umpa_resolver *r);

/**
 * Layer-3 mode (@p on 1): the packets go out from their IPv4 / IPv6 header
 * through the kernel, which routes and resolves the link layer.  Only the
 * IP source is filled (the route's preferred source), and a destination the
 * kernel has no route to is refused (-UMPA_ENOENT) before anything is sent.
 */
void umpa_resolver_set_layer3(struct umpa_resolver *r, int on);

/** Per-request patience on the wire: @p timeout_ns per try, @p retries extra tries (defaults 1 s, 2). */
void umpa_resolver_set_patience(struct umpa_resolver *r, int64_t timeout_ns, unsigned retries);

/**
 * Tell @p cb(@p arg, family, addr, mac, how) each time a MAC is found, @p how
 * naming where from: "cache", "kernel neighbour table", "ARP who-has",
 * "neighbour solicitation" (for a tool's verbose mode).  NULL turns it off.
 */
void umpa_resolver_on_found(struct umpa_resolver *r,
			    void (*cb)(void *arg, int family, const uint8_t *addr, const uint8_t mac[6],
				       const char *how),
			    void *arg);

/** The interface the resolver works on (name, MAC, addresses). */
const struct umpa_iface *umpa_resolver_iface(const struct umpa_resolver *r);

/**
 * The MAC of on-link neighbour @p addr (4 or 16 bytes by @p family): cache,
 * kernel neighbour table, then ARP / neighbour solicitation on the wire
 * (blocking: runs the loop until answered or timed out).  Returns 0 with
 * @p mac set, -UMPA_ENOENT "10.0.0.9: no answer to ARP who-has (3 tries;
 * no neighbour entry for 10.0.0.9 on eth0)" (also from the cache of
 * failures: a silent host is asked once), or another negative error.
 */
int umpa_resolve(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e);

/**
 * Fill what the user left unset in built packet @p p (its `set` masks say
 * what the user set): the Ethernet source (the interface's MAC), the IPv4 /
 * IPv6 source (the route's preferred source when the route leaves through
 * this interface, else the interface's address), the ARP sender addresses,
 * and the Ethernet destination (the next hop's MAC, resolved as above; for
 * ARP the broadcast address; multicast and broadcast mapped).  The routing
 * table is asked only when something needs it: a frame whose addresses are
 * all set goes out as set, routed or not.  A destination whose route leaves
 * through another interface is taken as on-link on this one (the user chose
 * the interface).  Then finish again (checksums).  A packet that starts
 * with IPv4 or IPv6, or any packet in layer-3 mode, gets only its source
 * address (and needs a route).  Another link layer is left alone.
 *
 * Returns 0; -UMPA_ENOENT when this packet cannot be addressed ("no route to
 * 10.1.2.3 (network unreachable)", "10.77.0.9: no answer to ARP who-has (3
 * tries; ...)", "gateway for 10.78.0.9: 10.77.0.1: no answer ...", "veth0
 * has no IPv4 address to send from", "the destination address is unset"): a
 * per-packet outcome, report it and go on; or another negative error (the
 * resolver failed: stop).
 */
int umpa_resolve_dst(struct umpa_resolver *r, struct umpa_pkt *p, struct umpa_err *e);

/**
 * Ask ahead for a whole set: the next hop of every packet of @p pkts[0..n)
 * that the cache and the kernel's table do not know is asked on the wire at
 * once (up to 64 requests in flight), and the loop runs until all settled.
 * umpa_resolve_dst on each packet afterwards finds its answer in the cache,
 * so N silent hosts cost one timeout, not N.  Packets that cannot be
 * addressed are skipped here (umpa_resolve_dst says why).  The packets are
 * not changed.  The cache keeps the last 256 answers: give at most that many
 * next hops at a time (sr prefetches 128 packets at a time), or the first
 * answers are asked again one by one.  Returns 0 or a negative error (the
 * resolver failed).
 */
int umpa_resolve_prefetch(struct umpa_resolver *r, const struct umpa_pkt *pkts, size_t n, struct umpa_err *e);

#endif
