/* umpa_rtnl.h - the kernel's tables over rtnetlink: routes, neighbours, links, addresses.
 *
 * The one place umpa talks rtnetlink (Linux, rtnetlink(7)).  Each dump sends
 * one request (RTM_GETROUTE, RTM_GETNEIGH, RTM_GETLINK, RTM_GETADDR with
 * NLM_F_DUMP) on a fresh socket, reads until NLMSG_DONE, and hands every
 * entry to a callback as plain data.  The replies are the kernel's bytes and
 * are read through the bounds-checked cursor (host-order getters), like any
 * received packet: a short or lying message ends the walk, never a read past
 * its end.  umpa_route_get asks the kernel how it would route one
 * destination (RTM_GETROUTE with RTA_DST, as `ip route get`).
 *
 * Nothing here sends on the network; resolving a MAC on the wire is the
 * resolver's job (sched/umpa_resolve.h), on top of these tables.  Other
 * platforms get -UMPA_ENOSYS.
 */
#ifndef UMPA_RTNL_H
#define UMPA_RTNL_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_live.h"

/** A route: a dump entry, or the answer of umpa_route_get for one destination. */
struct umpa_route {
	int family;                   /**< AF_INET or AF_INET6 */
	uint8_t dst[16];              /**< destination prefix (dumps; the address asked for with umpa_route_get) */
	unsigned dst_len;             /**< its length in bits (0: default route) */
	unsigned table;               /**< routing table (RTA_TABLE, else rtm_table): 254 main, 255 local */
	unsigned type;                /**< RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_UNREACHABLE ... */
	unsigned protocol;            /**< RTPROT_KERNEL, RTPROT_BOOT, RTPROT_STATIC ... */
	unsigned scope;               /**< RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST */
	uint32_t priority;            /**< metric (RTA_PRIORITY), 0 when absent */
	unsigned oif;                 /**< outgoing interface index, 0 when none */
	char ifname[UMPA_IFNAME_MAX]; /**< its name, "" when none or gone */
	int has_gateway;              /**< 1 when the destination is off-link */
	uint8_t gateway[16];          /**< the next hop when has_gateway */
	int has_prefsrc;              /**< 1 when the kernel names a source address */
	uint8_t prefsrc[16];          /**< that source address */
};

/** A neighbour table entry. */
struct umpa_neigh {
	int family;         /**< AF_INET or AF_INET6 */
	unsigned ifindex;   /**< interface index */
	uint16_t state;     /**< NUD_ bits (REACHABLE, STALE, PERMANENT, FAILED ...) */
	uint8_t flags;      /**< NTF_ bits (ROUTER, PROXY ...) */
	uint8_t addr[16];   /**< the neighbour's address (4 or 16 bytes) */
	size_t lladdr_len;  /**< bytes in lladdr, 0 when the kernel has none (INCOMPLETE, FAILED) */
	uint8_t lladdr[32]; /**< its link-layer address */
};

/** A link (network interface) as the kernel describes it. */
struct umpa_link {
	unsigned index;             /**< interface index */
	char name[UMPA_IFNAME_MAX]; /**< IFLA_IFNAME */
	unsigned flags;             /**< IFF_ bits (UP, BROADCAST, LOOPBACK, LOWER_UP ...) */
	unsigned type;              /**< ARPHRD_ hardware type */
	unsigned mtu;               /**< IFLA_MTU, 0 when absent */
	size_t addr_len;            /**< bytes in addr, 0 when the link has none */
	uint8_t addr[32];           /**< IFLA_ADDRESS (the MAC on Ethernet) */
	size_t brd_len;             /**< bytes in brd */
	uint8_t brd[32];            /**< IFLA_BROADCAST */
};

/** An interface address. */
struct umpa_ifaddr {
	int family;                  /**< AF_INET or AF_INET6 */
	unsigned ifindex;            /**< interface index */
	unsigned prefix;             /**< prefix length in bits */
	unsigned scope;              /**< RT_SCOPE_ value (host, link, universe) */
	unsigned flags;              /**< IFA_F_ bits (IFA_FLAGS when present) */
	uint8_t addr[16];            /**< the local address (IFA_LOCAL, else IFA_ADDRESS) */
	int has_peer;                /**< 1 when IFA_ADDRESS differs from IFA_LOCAL (point-to-point) */
	uint8_t peer[16];            /**< that peer address */
	char label[UMPA_IFNAME_MAX]; /**< IFA_LABEL (IPv4), "" when absent */
};

/*
 * A dump callback: return 0 to go on, 1 to stop (the rest of the dump is
 * read and dropped), or a negative error that the dump returns as is.
 */
/** Called for each route of a dump. */
typedef int (*umpa_rtnl_route_cb)(void *arg, const struct umpa_route *r);
/** Called for each neighbour of a dump. */
typedef int (*umpa_rtnl_neigh_cb)(void *arg, const struct umpa_neigh *n);
/** Called for each link of a dump. */
typedef int (*umpa_rtnl_link_cb)(void *arg, const struct umpa_link *l);
/** Called for each address of a dump. */
typedef int (*umpa_rtnl_addr_cb)(void *arg, const struct umpa_ifaddr *a);

/**
 * Every route of @p family (AF_INET, AF_INET6, or AF_UNSPEC for both), of
 * every table, to @p cb.  Returns 0, a callback's negative value, or a
 * negative error ("rtnetlink: ...").
 */
int umpa_rtnl_routes(int family, umpa_rtnl_route_cb cb, void *arg, struct umpa_err *e);

/** Every neighbour table entry of @p family (AF_UNSPEC: both), in any state, to @p cb. Returns as umpa_rtnl_routes. */
int umpa_rtnl_neighs(int family, umpa_rtnl_neigh_cb cb, void *arg, struct umpa_err *e);

/** Every link to @p cb. Returns as umpa_rtnl_routes. */
int umpa_rtnl_links(umpa_rtnl_link_cb cb, void *arg, struct umpa_err *e);

/** Every interface address of @p family (AF_UNSPEC: both) to @p cb. Returns as umpa_rtnl_routes. */
int umpa_rtnl_addrs(int family, umpa_rtnl_addr_cb cb, void *arg, struct umpa_err *e);

/**
 * Ask the kernel (RTM_GETROUTE with RTA_DST) how it would route to @p dst (4
 * or 16 bytes by @p family), as `ip route get` does.  Returns 0 with @p out
 * filled (oif, ifname, gateway when off-link, the preferred source address),
 * -UMPA_ENOENT with "no route to ADDR (network unreachable)" when the kernel
 * has none (unreachable, prohibited, blackhole), or another negative error.
 */
int umpa_route_get(int family, const uint8_t *dst, struct umpa_route *out, struct umpa_err *e);

#endif
