/* umpa_protos.h - the protocol registry and the dissector driver.
 *
 * Adding a protocol is adding one file in protocols/ and one line in
 * registry.c (and, when it is demultiplexed, its bindings there).
 */
#ifndef UMPA_PROTOS_H
#define UMPA_PROTOS_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_packet.h"
#include "umpa_proto.h"

/* LINKTYPE_ values (pcap file link types). */
#define UMPA_LINKTYPE_NULL 0
#define UMPA_LINKTYPE_ETHERNET 1
#define UMPA_LINKTYPE_RAW 101
#define UMPA_LINKTYPE_LOOP 108
#define UMPA_LINKTYPE_LINUX_SLL 113
#define UMPA_LINKTYPE_IPV4 228
#define UMPA_LINKTYPE_IPV6 229
#define UMPA_LINKTYPE_LINUX_SLL2 276

extern const struct umpa_proto umpa_proto_raw;  /* "raw" (aliases data, payload): payload bytes */
extern const struct umpa_proto umpa_proto_eth;  /* Ethernet II */
extern const struct umpa_proto umpa_proto_vlan; /* 802.1Q */
extern const struct umpa_proto umpa_proto_sll;  /* Linux cooked v1 */
extern const struct umpa_proto umpa_proto_sll2; /* Linux cooked v2 */
extern const struct umpa_proto umpa_proto_null; /* BSD loopback */
extern const struct umpa_proto umpa_proto_arp;
extern const struct umpa_proto umpa_proto_ip;
extern const struct umpa_proto umpa_proto_ipv6;
extern const struct umpa_proto umpa_proto_ipv6_hop;   /* hop-by-hop options */
extern const struct umpa_proto umpa_proto_ipv6_route; /* routing header */
extern const struct umpa_proto umpa_proto_ipv6_frag;  /* fragment header */
extern const struct umpa_proto umpa_proto_ipv6_dst;   /* destination options */
extern const struct umpa_proto umpa_proto_icmp;
extern const struct umpa_proto umpa_proto_icmpv6;
extern const struct umpa_proto umpa_proto_udp;
extern const struct umpa_proto umpa_proto_tcp;

/**
 * Per-flow state for relative TCP sequence and acknowledgement numbers in
 * the one-line form, as tcpdump keeps it (without -S): the first packet with
 * ACK set of a connection (or a new SYN) records both directions' bases and is
 * printed absolute; later ones are printed relative.  A fixed table (no
 * allocation per packet): a flow that collides with another replaces it.
 * Put it in umpa_render_opts.relseq.  NULL on out of memory.
 */
void *umpa_relseq_new(void);
/** Free a table from umpa_relseq_new (NULL is fine). */
void umpa_relseq_free(void *t);
extern const struct umpa_proto umpa_proto_dns;
extern const struct umpa_proto umpa_proto_tls;        /* one TLS record (protocols/tls.c) */
extern const struct umpa_proto umpa_proto_vxlan;      /* VXLAN (UDP 4789) */
extern const struct umpa_proto umpa_proto_gre;        /* GRE (IP protocol 47) */
extern const struct umpa_proto umpa_proto_erspan;     /* ERSPAN types I-III (GRE 0x88be, 0x22eb) */
extern const struct umpa_proto umpa_proto_mpls;       /* one MPLS label stack entry */
extern const struct umpa_proto umpa_proto_geneve;     /* GENEVE (UDP 6081) */
extern const struct umpa_proto umpa_proto_ieee8021ad; /* 802.1ad service tag (0x88a8) */
extern const struct umpa_proto umpa_proto_dhcp;       /* BOOTP/DHCP (UDP 67, 68) */
extern const struct umpa_proto umpa_proto_igmp;       /* IGMP v1-v3 (IP protocol 2) */
extern const struct umpa_proto umpa_proto_sctp;       /* SCTP, common header and chunks (IP protocol 132) */
extern const struct umpa_proto umpa_proto_dhcpv6;     /* DHCPv6 (UDP 546, 547) */
extern const struct umpa_proto umpa_proto_ntp;        /* NTP (UDP 123) */
extern const struct umpa_proto umpa_proto_lldp;       /* LLDP (Ethernet type 0x88cc) */

extern const struct umpa_proto umpa_proto_http; /* HTTP/1.1 messages (protocols/http.c) */

/**
 * True when the bytes under @p c (from its position) start like an HTTP/1.x
 * message: a known request method and a space, or "HTTP/1.".  How TCP finds
 * HTTP on any port (protocols/http.c).
 */
int umpa_http_looks_like(struct umpa_cur *c);

/** RFC 8446's identifier of TLS alert description @p desc ("close_notify", "handshake_failure"), or NULL. */
const char *umpa_tls_alert_name(unsigned desc);

/**
 * Ethernet type names shared by eth.type, vlan.etype, sll.etype and
 * arp.proto.type (defined in eth.c): tcpdump's names first (what summaries
 * print), then extra spellings accepted when parsing ("ip", "vlan").
 */
extern const struct umpa_vname umpa_ethertype_names[];

/**
 * True when the bytes under @p c start like a TLS record header (content type
 * 20-24, version 3.x, a length from 1 to 2^14+2048): the heuristic TCP uses
 * for TLS on ports not bound to it (protocols/tls.c).
 */
int umpa_tls_looks_like(struct umpa_cur *c);

/** Called once per fragment by umpa_pkt_fragment; the packet is reused after: copy what you keep. Negative stops. */
typedef int (*umpa_frag_cb)(void *arg, struct umpa_pkt *frag, struct umpa_err *e);

/**
 * Fragment finished packet @p p as Scapy's fragment() / fragment6(): the
 * payload of its first IPv4 header, or what follows the fragment header of
 * an IPv6 packet (it must have one), in pieces of @p size bytes (8..65535,
 * rounded down to a multiple of 8; the last piece takes what is left when
 * that is at most @p size, as Scapy does), each behind a copy of the headers before
 * it, with offset and more-fragments flag set and lengths and checksums
 * computed (protocols/fragment.c).  A payload that fits gives @p p itself.
 * Hands each fragment to @p cb.  Returns the number of fragments or a
 * negative error with @p e set (a callback's error is returned as is).
 */
long umpa_pkt_fragment(const struct umpa_pkt *p, uint32_t size, umpa_frag_cb cb, void *arg, struct umpa_err *e);

/** All registered protocols; *n receives the count. */
const struct umpa_proto *const *umpa_protos(size_t *n);

/** Find a protocol by name or alias; NULL if none. */
const struct umpa_proto *umpa_proto_find(const char *name);

/**
 * The protocol name or alias nearest to @p name (a typo: "ipv5" -> "ipv6";
 * core/umpa_near.h says how near), copied into @p buf of @p size bytes;
 * NULL when none is near.
 */
const char *umpa_proto_near(const char *name, char *buf, size_t size);

/** The protocol bound to (@p kind, @p val), or NULL. */
const struct umpa_proto *umpa_proto_bound(enum umpa_bind_kind kind, uint32_t val);

/** The value @p proto is bound to under @p kind. Returns 0, or -1 if unbound. */
int umpa_proto_bind_value(enum umpa_bind_kind kind, const struct umpa_proto *proto, uint32_t *val);

/**
 * The protocol of the first layer for @p linktype; NULL when umpa does not
 * know the link type (the whole frame is then raw data).
 */
const struct umpa_proto *umpa_proto_for_linktype(int linktype);

/** The link type a packet whose first layer is @p proto is written with (-1 if none). */
int umpa_linktype_for_proto(const struct umpa_proto *proto);

/**
 * Make @p p (built, owned, finished) fit a device of @p linktype: a packet
 * that starts at IPv4, IPv6 or ARP gets an Ethernet header in front when the
 * device is Ethernet (addresses left to the caller's resolution: they are
 * unset), and is re-finished (the Ethernet type is filled; what the user set
 * in the other layers stays as set).  A packet that already starts with the
 * device's link layer is left alone.  Returns 1 when a header was added, 0
 * when none was needed, or -UMPA_EINVAL (with @p e naming both layers) when
 * the packet cannot go on such a device.
 */
int umpa_pkt_fit_link(struct umpa_pkt *p, int linktype, struct umpa_err *e);

/**
 * Dissect @p p from its linktype: fill the layer index.  Never fails:
 * unknown or damaged parts become raw layers flagged as such.  Every layer's
 * `set` mask is all ones (a captured field counts as set; unset it to have
 * finish recompute it).  Returns the number of layers.
 */
unsigned umpa_dissect(struct umpa_pkt *p);

/**
 * Index only the outermost layer of @p p (from its linktype): what the
 * injector needs to find the network header of a raw IP packet, at the cost
 * of one header.  Returns the number of layers (0 or 1).
 */
unsigned umpa_dissect_outer(struct umpa_pkt *p);

/**
 * Dissect @p p starting with @p proto at byte @p off, window @p len, from
 * layer index @p li on (used for packets quoted inside ICMP errors).
 */
unsigned umpa_dissect_from(struct umpa_pkt *p, unsigned li, const struct umpa_proto *proto, uint32_t off, uint32_t len);

#endif
