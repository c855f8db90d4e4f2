/* umpa_live.h - live I/O: interfaces, capture, injection, neighbours, privileges.
 *
 * The parts of umpa that touch a real network.  Interfaces come from
 * libpcap (pcap_findalldevs) and the kernel (getifaddrs, ioctl), never from a
 * hard-coded list.  Capture is one libpcap handle per interface, opened
 * non-blocking with a selectable descriptor so an event loop (libevent)
 * drives it; the callback gets packets attached to libpcap's buffer with no
 * copy.  Injection goes through libnet (the portable path: link layer, raw
 * IPv4, raw IPv6) and, for bulk sending on Linux, an AF_PACKET socket with a
 * memory-mapped TX ring.  The neighbour table is read from the kernel over
 * rtnetlink.  Privileges are dropped once every handle is open.
 *
 * Every handle is opaque: open returns it (NULL with the error set), close
 * frees it and returns NULL.  Nothing here prints or exits.
 */
#ifndef UMPA_LIVE_H
#define UMPA_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"

/* ------------------------------------------------------------------ */
/* Interfaces                                                          */
/* ------------------------------------------------------------------ */

/** Interface flags (struct umpa_iface.flags). */
enum umpa_iface_flag {
	UMPA_IF_UP = 1 << 0,          /**< administratively up */
	UMPA_IF_RUNNING = 1 << 1,     /**< operationally up (carrier) */
	UMPA_IF_LOOPBACK = 1 << 2,    /**< a loopback device */
	UMPA_IF_PROMISC = 1 << 3,     /**< promiscuous mode is on */
	UMPA_IF_BROADCAST = 1 << 4,   /**< supports broadcast */
	UMPA_IF_MULTICAST = 1 << 5,   /**< supports multicast */
	UMPA_IF_POINTOPOINT = 1 << 6, /**< point-to-point link */
	UMPA_IF_WIRELESS = 1 << 7,    /**< a wireless device (libpcap's view) */
};

/** Longest interface name kept (Linux IFNAMSIZ is 16 with the NUL). */
#define UMPA_IFNAME_MAX 64
/** Most addresses kept per interface; more are counted in naddrs_dropped. */
#define UMPA_IFACE_MAXADDR 16

/** One address of an interface. */
struct umpa_iface_addr {
	int family;        /**< AF_INET or AF_INET6 */
	uint8_t addr[16];  /**< 4 (IPv4) or 16 (IPv6) bytes, network order */
	unsigned prefix;   /**< prefix length in bits */
	uint32_t scope_id; /**< IPv6 scope (link-local), else 0 */
};

/** An interface, as libpcap and the kernel describe it.  Plain data: no pointers to free. */
struct umpa_iface {
	char name[UMPA_IFNAME_MAX];
	unsigned index;     /**< kernel interface index (if_nametoindex), 0 if none */
	unsigned flags;     /**< enum umpa_iface_flag */
	unsigned mtu;       /**< bytes, 0 when unknown */
	uint8_t mac[6];     /**< link-layer address when has_mac */
	int has_mac;        /**< 1 when the link has a 6-byte hardware address */
	int linktype;       /**< LINKTYPE_ value a capture on it is expected to give, -1 unknown */
	size_t naddrs;      /**< entries used in addrs */
	size_t naddrs_more; /**< addresses that did not fit in addrs */
	struct umpa_iface_addr addrs[UMPA_IFACE_MAXADDR];
	char description[128]; /**< libpcap's description, or "" */
};

/**
 * List every interface libpcap can capture on (plus those the kernel
 * reports with addresses), with index, flags, MTU, MAC, link type and
 * addresses.  On success *@p list is a malloc'd array of *@p n entries the
 * caller frees with umpa_ifaces_free.  Returns 0 or a negative error.
 */
int umpa_ifaces(struct umpa_iface **list, size_t *n, struct umpa_err *e);

/** Free a list returned by umpa_ifaces (NULL is fine). Returns NULL. */
struct umpa_iface *umpa_ifaces_free(struct umpa_iface *list);

/**
 * Describe one interface by name into @p out.  Returns 0, or -UMPA_ENOENT
 * with "no interface 'NAME'" when the kernel does not know it.
 */
int umpa_iface_get(const char *name, struct umpa_iface *out, struct umpa_err *e);

/** Append the flag names of @p flags ("UP,RUNNING,LOOPBACK") to @p buf (size @p n, always terminated). */
void umpa_iface_flags_str(unsigned flags, char *buf, size_t n);

/* ------------------------------------------------------------------ */
/* Capture                                                             */
/* ------------------------------------------------------------------ */

/** Which frames a capture sees. */
enum umpa_cap_dir {
	UMPA_DIR_INOUT = 0, /**< both directions (libpcap's default) */
	UMPA_DIR_IN = 1,    /**< only frames received: umpa does not hear its own */
	UMPA_DIR_OUT = 2,   /**< only frames sent */
};

/** Capture options; umpa_cap_opts_init sets the defaults shown. */
struct umpa_cap_opts {
	int snaplen;           /**< bytes kept per packet (262144) */
	int bufsize;           /**< kernel buffer bytes (0: libpcap's default, 2 MiB on Linux) */
	int promisc;           /**< promiscuous mode (0) */
	const char *filter;    /**< BPF expression or NULL (borrowed during open only) */
	enum umpa_cap_dir dir; /**< direction (UMPA_DIR_INOUT) */
	int nsec;              /**< ask for nanosecond timestamps (1); falls back to micro */
	/** deliver each packet at once, no batching delay (1).  On Linux libpcap then
	 * uses TPACKET_V2, whose fixed slots are sized for the largest packet (64 KiB
	 * when the device has offloads): a 2 MiB buffer holds only 32 packets.  For
	 * bulk capture turn it off (TPACKET_V3 packs packets into blocks, handed over
	 * every timeout_ms), raise bufsize, or lower snaplen (a slot is sized for the
	 * smaller of snaplen and the largest packet). */
	int immediate;
	int timeout_ms; /**< buffer timeout when not immediate (100) */
};

/** Fill @p o with the defaults. */
void umpa_cap_opts_init(struct umpa_cap_opts *o);

/** A live capture handle. */
struct umpa_cap;

/** Capture statistics (pcap_stats). */
struct umpa_cap_stats {
	uint64_t received;  /**< packets the kernel passed to the filter (ps_recv) */
	uint64_t dropped;   /**< dropped because the buffer was full (ps_drop) */
	uint64_t ifdropped; /**< dropped by the interface or driver (ps_ifdrop) */
	uint64_t delivered; /**< packets handed to callbacks by umpa_cap_dispatch */
};

/**
 * Open a capture on @p ifname with options @p o (NULL: defaults): pcap_create,
 * snap length, buffer size, promiscuous mode, immediate mode, nanosecond
 * timestamps where the platform has them, pcap_activate, non-blocking,
 * direction, then the BPF filter.  Errors name what failed: "no interface
 * 'foo'", "eth0: permission denied (capturing needs root or CAP_NET_RAW)", "bad filter
 * 'xyz': <libpcap's text>".  Returns the handle or NULL with @p e set.
 */
struct umpa_cap *umpa_cap_open(const char *ifname, const struct umpa_cap_opts *o, struct umpa_err *e);

/** A descriptor that becomes readable when packets wait (for select/poll/libevent), or -1. */
int umpa_cap_fd(const struct umpa_cap *c);

/** LINKTYPE_ value of the packets this capture delivers. */
int umpa_cap_linktype(const struct umpa_cap *c);

/** 1 when timestamps have nanosecond precision, 0 for microseconds. */
int umpa_cap_nsec(const struct umpa_cap *c);

/** The interface name the capture was opened on. */
const char *umpa_cap_ifname(const struct umpa_cap *c);

/**
 * Replace the BPF filter (NULL or "": everything).  Returns 0, or a negative
 * error "bad filter 'xyz': ..." and the old filter stays.
 */
int umpa_cap_setfilter(struct umpa_cap *c, const char *filter, struct umpa_err *e);

/**
 * Called once per captured packet.  @p p is ATTACHED read-only to libpcap's
 * buffer (valid only during the call; umpa_pkt_dup it to keep it) with
 * len, wirelen, linktype, ts_sec and ts_nsec set and no layers: call
 * umpa_dissect(p) to index it.  The callback may dissect p in place.
 */
typedef void (*umpa_cap_cb)(struct umpa_pkt *p, void *arg);

/**
 * Deliver the packets waiting now, at most @p max (<= 0: all that are
 * buffered), without blocking.  Returns the number delivered (0 when none
 * waited), or a negative error.  Safe to call from an event callback.
 */
int umpa_cap_dispatch(struct umpa_cap *c, int max, umpa_cap_cb cb, void *arg, struct umpa_err *e);

/** Make a running umpa_cap_dispatch return after the current packet (from inside a callback). */
void umpa_cap_breakloop(struct umpa_cap *c);

/** Read the counters into @p st. Returns 0 or a negative error. */
int umpa_cap_stats(struct umpa_cap *c, struct umpa_cap_stats *st, struct umpa_err *e);

/** Close the capture. NULL is fine. Returns NULL. */
struct umpa_cap *umpa_cap_close(struct umpa_cap *c);

/* ------------------------------------------------------------------ */
/* Injection                                                           */
/* ------------------------------------------------------------------ */

/** An injection handle. */
struct umpa_inj;

/** Injection counters. */
struct umpa_inj_stats {
	uint64_t sent;   /**< packets the kernel accepted */
	uint64_t bytes;  /**< bytes of those packets (as handed to the kernel) */
	uint64_t errors; /**< packets that failed */
};

/**
 * Open an injector on @p ifname.
 *
 * @p layer 2: frames go out as built (libnet LIBNET_LINK_ADV, and for
 *   umpa_inj_send_batch an AF_PACKET socket with a PACKET_TX_RING of 512
 *   slots sized to the link's MTU (1 MiB at MTU 1500, at most 4 MiB), set
 *   up here so that privileges can be dropped right after open; without
 *   it, batches go through libnet).
 * @p layer 3: packets go out from their first ip/ipv6 layer on through raw
 *   sockets (libnet LIBNET_RAW4_ADV / LIBNET_RAW6_ADV, both opened here so
 *   privileges can be dropped right after; IPv6 is retried at the first
 *   IPv6 packet if it could not be opened);
 *   the kernel routes them and resolves the link layer.  @p ifname may be
 *   NULL at layer 3 (any interface the route picks).
 *
 * Returns the handle or NULL with @p e set ("no interface 'foo'",
 * "permission denied", ...).
 */
struct umpa_inj *umpa_inj_open(const char *ifname, int layer, struct umpa_err *e);

/**
 * Send one packet.  Layer 2: @p p's bytes as they are (its linktype must
 * be Ethernet).  Layer 3: from the first IPv4/IPv6 layer on (@p p must be
 * dissected or built so the layer index is there; a packet with no layers
 * whose linktype is RAW is sent whole).  Returns 0 or a negative error.
 */
int umpa_inj_send(struct umpa_inj *j, const struct umpa_pkt *p, struct umpa_err *e);

/**
 * Send @p n packets as fast as the kernel takes them, in order.  On Linux
 * layer 2 uses the TX ring (one system call for up to 512 frames) and layer 3
 * sendmmsg on the raw sockets (up to 64 packets of one IP version per call);
 * elsewhere, and for a frame larger than a ring slot, one by one.  Returns how many went out (may be fewer
 * than @p n when the kernel refuses one: @p e says why), or a negative error
 * when none did.  The TX ring path returns once the kernel has the frames:
 * they are counted in umpa_inj_stats as they leave (umpa_inj_flush waits);
 * it returns a negative error when the kernel refused a frame of this or an
 * earlier batch (counted in errors; batches then go through libnet).
 */
int umpa_inj_send_batch(struct umpa_inj *j, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e);

/**
 * Wait until every frame queued in the TX ring has left (layer 2 batches
 * return as soon as the kernel has the frames, before they leave) and count
 * them: after it the counters are exact.  No-op for the other paths.
 * Returns 0, or a negative error (@p e set) when the kernel refused a
 * frame (counted in errors) or the frames did not leave within a second.
 */
int umpa_inj_flush(struct umpa_inj *j, struct umpa_err *e);

/** Copy the counters into @p st (exact for the TX ring after umpa_inj_flush). */
void umpa_inj_stats(const struct umpa_inj *j, struct umpa_inj_stats *st);

/**
 * Opt in (@p on 1) or out (0) of PACKET_QDISC_BYPASS (Linux 3.14) on the TX
 * ring: its frames go straight to the driver, as trafgen sends by default.
 * Caveat: frames sent so are not seen by packet sockets on this host
 * (tcpdump, umpa sniff, tshark on the same interface) and skip the link's
 * queueing discipline (tc shaping, filters, the driver's backpressure through
 * the qdisc).  Only the TX ring is concerned: single packets and frames
 * larger than a slot still go through libnet and the qdisc.
 * Returns 0, -UMPA_ENOSYS when there is no TX ring (layer 3, not Linux, the
 * ring could not be set up) or the kernel lacks the option.
 */
int umpa_inj_qdisc_bypass(struct umpa_inj *j, int on, struct umpa_err *e);

/** The path in use for batches: "tx-ring", "tx-ring, qdisc bypassed", "sendmmsg" or "libnet" (static text). */
const char *umpa_inj_backend(const struct umpa_inj *j);

/** Close the injector (flushes the TX ring). NULL is fine. Returns NULL. */
struct umpa_inj *umpa_inj_close(struct umpa_inj *j);

/* ------------------------------------------------------------------ */
/* Neighbours                                                          */
/* ------------------------------------------------------------------ */

/**
 * Look @p addr (4 bytes for AF_INET, 16 for AF_INET6) up in the kernel's
 * neighbour table (rtnetlink RTM_GETNEIGH) for interface @p ifname (NULL:
 * any).  Only usable entries count (REACHABLE, STALE, DELAY, PROBE,
 * PERMANENT, NOARP).  Returns 0 with @p mac filled, -UMPA_ENOENT when the
 * kernel has no usable entry, or another negative error.  Never sends.
 */
int umpa_neigh_lookup(const char *ifname, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e);

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

/**
 * Become @p user for good: initgroups (supplementary groups), setgid,
 * setuid, then check that getuid/geteuid/getgid are the user's and that
 * setuid(0) now fails, then prctl(PR_SET_NO_NEW_PRIVS).  Call it once every
 * handle is open.  Returns 0, -UMPA_ENOENT "no user 'x'", or -UMPA_EPERM.
 */
int umpa_drop_privileges(const char *user, struct umpa_err *e);

#endif
