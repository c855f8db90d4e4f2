/* sr_views.h - what `umpa sr` prints after the exchanges: a traceroute view,
 * a port table, in text or as JSON members of the final summary object. */
#ifndef UMPA_SR_VIEWS_H
#define UMPA_SR_VIEWS_H
#include <stddef.h>
#include <stdint.h>

#include "umpa_packet.h"
#include "umpa_sbuf.h"

/** How a request ended. */
enum sr_outcome { SR_PENDING = 0, SR_ANSWERED, SR_LOST, SR_UNSENT };

/** What the answer was, as far as the views care. */
enum sr_kind {
	SR_K_NONE = 0,      /**< no answer */
	SR_K_SYNACK,        /**< TCP with SYN and ACK */
	SR_K_RST,           /**< TCP with RST */
	SR_K_TCP,           /**< other TCP */
	SR_K_UDP,           /**< a UDP datagram */
	SR_K_PORT_UNREACH,  /**< ICMP port unreachable (3/3), ICMPv6 port unreachable (1/4) */
	SR_K_UNREACH,       /**< any other ICMP / ICMPv6 destination unreachable */
	SR_K_TIME_EXCEEDED, /**< ICMP time exceeded (11), ICMPv6 hop limit exceeded (3) */
	SR_K_OTHER,         /**< anything else (an echo reply, an ARP reply ...) */
};

/** One request and its outcome: fixed size, one array for a run. */
struct sr_rec {
	int64_t rtt_ns;     /**< the exchange's RTT; -1 when unanswered */
	uint8_t dst[16];    /**< the request's IP / IPv6 destination */
	uint8_t hop[16];    /**< the answer's IP / IPv6 source */
	uint8_t family;     /**< 4 or 6 (the request's first IP layer); 0 none */
	uint8_t hop_family; /**< 4 or 6 when the answer has an IP layer, else 0 */
	uint8_t ttl;        /**< the request's TTL / hop limit */
	uint8_t probe;      /**< 6: a TCP SYN probe (SYN without ACK), 17: a UDP probe, 0: neither */
	uint8_t outcome;    /**< enum sr_outcome */
	uint8_t kind;       /**< enum sr_kind */
	uint16_t dport;     /**< the probe's destination port */
};

/** Fill the request half of @p r from dissected request @p p (outcome pending). */
void sr_rec_request(struct sr_rec *r, const struct umpa_pkt *p);

/** Record that @p r was answered by dissected packet @p a after @p rtt_ns. */
void sr_rec_answer(struct sr_rec *r, const struct umpa_pkt *a, int64_t rtt_ns);

/**
 * Append the views that apply to the @p n records to @p out: a traceroute
 * view per destination when the TTL varies among its requests, a port table
 * per host for TCP SYN and UDP probes.  Text when @p json is 0; otherwise
 * JSON members ("traceroute":[...],"ports":[...]) each preceded by a comma,
 * to go inside the summary object (nothing when no view applies).
 */
void sr_views(const struct sr_rec *r, size_t n, int json, struct umpa_sbuf *out);

#endif
