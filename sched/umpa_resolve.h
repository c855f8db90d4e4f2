/* umpa_resolve.h - next hops and link-layer addresses for packets umpa sends.
 *
 * Before a frame goes out at layer 2, its Ethernet destination must be the
 * MAC of the next hop: the destination itself when it is on the link, else
 * the gateway the kernel's routing table names (netlink RTM_GETROUTE).  The
 * MAC comes from, in order: the resolver's cache, the kernel's neighbour
 * table (umpa_neigh_lookup), and the wire — an ARP who-has (IPv4) or a
 * neighbour solicitation to the solicited-node multicast address (IPv6),
 * sent and matched through the expect engine.  Multicast and broadcast
 * destinations map to their MACs without asking.
 */
#ifndef UMPA_RESOLVE_H
#define UMPA_RESOLVE_H

#include <stdint.h>

#include "umpa_error.h"
#include "umpa_expect.h"
#include "umpa_live.h"
#include "umpa_packet.h"
#include "umpa_sched.h"

/** A route, as the kernel would use it for a destination. */
struct umpa_route {
	int family;                   /**< AF_INET or AF_INET6 */
	unsigned oif;                 /**< outgoing interface index */
	char ifname[UMPA_IFNAME_MAX]; /**< its name */
	int has_gateway;              /**< 1 when the destination is off-link */
	uint8_t gateway[16];          /**< the next hop when has_gateway */
	int has_prefsrc;              /**< 1 when the kernel names a source address */
	uint8_t prefsrc[16];          /**< that source address */
};

/**
 * Ask the kernel (rtnetlink RTM_GETROUTE) how it would route to @p dst (4 or
 * 16 bytes by @p family).  Returns 0 with @p out filled, -UMPA_ENOENT with
 * "no route to ADDR" when there is none (unreachable, prohibited), or
 * another negative error.  Never sends on the network.
 */
int umpa_route_get(int family, const uint8_t *dst, struct umpa_route *out, struct umpa_err *e);

/** A resolver (opaque): a cache, an interface, and a way to ask the wire. */
struct umpa_resolver;

/**
 * Create a resolver for interface @p ifname.  With @p loop and @p ex given,
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
 * @p mac set, -UMPA_ENOENT "10.0.0.9: no answer to ARP who-has (3 tries)",
 * or another negative error.
 */
int umpa_resolve(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e);

/**
 * Fill what the user left unset in built packet @p p (its `set` masks say
 * what the user set): the Ethernet source (the interface's MAC), the IPv4 /
 * IPv6 source (the route's preferred source or the interface's address),
 * the ARP sender addresses, and the Ethernet destination (the next hop's MAC, resolved as above; for
 * ARP the broadcast address; multicast and broadcast mapped).  Then finish
 * again (checksums).  A packet that starts with IPv4 or IPv6 (sent at layer
 * 3) gets only its source address.  Another link layer, or one whose
 * fields are all set, is left alone.  Returns 0 or a negative error ("no
 * route to 10.1.2.3", "10.77.0.9: no answer to ARP who-has (3 tries)").
 */
int umpa_resolve_dst(struct umpa_resolver *r, struct umpa_pkt *p, struct umpa_err *e);

/**
 * One-shot, for tools without an engine of their own (`umpa send`): the MAC
 * of the next hop towards @p dst on @p ifname — the route's gateway when
 * the destination is off-link, else @p dst — by a temporary resolver (which
 * opens its own loop, capture and injector only if the kernel's neighbour
 * table does not know it).  Returns 0, -UMPA_ENOENT when nothing answered
 * or there is no route, or another negative error.
 */
int umpa_resolve_nexthop(const char *ifname, int family, const uint8_t *dst, uint8_t mac[6], struct umpa_err *e);

#endif
