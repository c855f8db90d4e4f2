/* umpa_persona.h - host personalities: how a simulated host's packets look.
 *
 * A personality is what an OS fingerprinter (nmap -O, p0f) reads from a
 * host's packets: initial TTL, DF, IP ID sequence, TCP windows, the kinds,
 * order and values of TCP options, timestamps ticking from an uptime, and
 * what a closed port answers (the RST's seq/ack/flags/window; an ICMP port
 * unreachable quoting so many bytes, or silence).
 *
 * One description serves the shipped personalities and nmap's database:
 * a personality is written in the syntax of an nmap-os-db `Fingerprint`
 * entry (SEQ, OPS, WIN, ECN, T1-T7, U1, IE lines; the shipped `linux`,
 * `windows`, `freebsd` and `embedded` are such entries copied from or
 * modelled on real ones, tuned so p0f names them), parsed by one bounded
 * parser into struct umpa_persona.
 *
 * The engine (struct umpa_persona_set) binds personalities to source
 * addresses or prefixes and shapes every packet sent from them: a field
 * the sender set explicitly (a set bit of its layer, umpa_packet.h) is kept
 * as set; only the fields left to defaults and finish are shaped, and the
 * packet is finished again afterwards (lengths, checksums).  A packet
 * dissected from the wire has every field set, so a bridged packet passes
 * untouched.  Per host (per source address, created on its first packet) it
 * keeps the IP ID sequence; timestamps are uptime * hz + elapsed on the
 * caller's clock (live or virtual: offline runs stay deterministic).
 *
 * Library code: nothing here prints or exits.  Single-threaded.
 */
#ifndef UMPA_PERSONA_H
#define UMPA_PERSONA_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"
#include "umpa_tcpend.h"

/** Where Debian's nmap installs its OS database ($UMPA_NMAP_OS_DB overrides). */
#define UMPA_NMAP_OS_DB "/usr/share/nmap/nmap-os-db"

/** Longest option layout (nmap O syntax, e.g. "M5B4ST11NW7"). */
#define UMPA_PERSONA_OPTS 48

/** IP ID sequences (nmap's TI/CI/II classes). */
enum umpa_persona_ipid {
	UMPA_IPID_INC = 0, /**< "I": +1 per packet, per host */
	UMPA_IPID_ZERO,    /**< "Z": always 0 */
	UMPA_IPID_RAND,    /**< "RD": random */
	UMPA_IPID_RANDINC, /**< "RI": random positive increments (over 1000) */
	UMPA_IPID_BROKEN,  /**< "BI": +256 per packet (an incrementing counter in host byte order) */
	UMPA_IPID_FIXED,   /**< a hex value: always that */
};

/** How one kind of RST looks (nmap T4-T7). */
struct umpa_persona_rst {
	uint8_t send;   /**< 0: no answer at all */
	uint8_t df;     /**< DF set */
	uint8_t ttl;    /**< initial TTL */
	char seq;       /**< 'Z' zero, 'A' the probe's ack, 'B' its ack + 1 ("A+"), 'O' other */
	char ack;       /**< 'Z' zero, 'S' the probe's seq, 'T' seq + length ("S+"), 'O' other */
	uint16_t flags; /**< TCP flag bits (RST, ACK ...) */
	uint16_t win;   /**< window */
};

/** A personality (value type: copy it freely). */
struct umpa_persona {
	char name[256];         /**< "linux", or the nmap entry's name */
	uint8_t ttl;            /**< initial TTL (hop limit) of TCP and UDP (nmap T1) */
	uint8_t ttl_icmp;       /**< of ICMP echo replies (IE) */
	uint8_t df_tcp;         /**< DF on TCP segments (T1) */
	uint8_t df_udp;         /**< DF on UDP datagrams */
	char dfi;               /**< echo reply DF: 'N' never, 'Y' always, 'S' as the request, 'O' opposite */
	char icmp_code;         /**< echo reply code: 'Z' zero, 'S' as the request */
	uint8_t ipid_tcp;       /**< enum umpa_persona_ipid of TCP and UDP (TI) */
	uint8_t ipid_closed;    /**< of closed-port RSTs (CI) */
	uint8_t ipid_icmp;      /**< of ICMP (II) */
	uint16_t ipid_fixed;    /**< the value of UMPA_IPID_FIXED */
	uint32_t ts_hz;         /**< timestamp ticks per second (0: TSval 0) */
	uint8_t ts_per_conn;    /**< a random offset per connection (Linux 4.10+, FreeBSD: nmap's TS above 20 hex) */
	uint16_t win_synack[6]; /**< SYN/ACK window answering nmap's probes 1-6 (W1-W6); [0] for any SYN */
	char opts_synack[6][UMPA_PERSONA_OPTS]; /**< SYN/ACK options answering probes 1-6 (O1-O6); [0] for any SYN */
	uint16_t win_nots;                      /**< SYN/ACK window to a SYN without timestamps (ECN W) */
	char opts_nots[UMPA_PERSONA_OPTS];      /**< and its options (ECN O; "" = O1 without timestamps) */
	uint16_t win_syn;                       /**< window of a SYN the host sends */
	char opts_syn[UMPA_PERSONA_OPTS];       /**< its options */
	uint16_t win;                           /**< window of every other segment (wire value) */
	uint16_t win_round; /**< not 0: SYN/ACK windows are this rounded down to a multiple of its MSS (less 12
			     *   with timestamps) and later segments announce that rounded up to the scale
			     *   (Linux's; UMPA(WR=hex)) */
	struct umpa_persona_rst rst_syn;     /**< answer to a SYN at a closed port (T5) */
	struct umpa_persona_rst rst_ack;     /**< to a segment with ACK at a closed port (T6) */
	struct umpa_persona_rst rst_other;   /**< to anything else (FIN/PSH/URG, null: T7) */
	struct umpa_persona_rst open_null;   /**< to a segment without flags at an open port (nmap T2) */
	struct umpa_persona_rst open_synfin; /**< to SYN+FIN (with PSH, URG) at an open port (T3; flags with SYN:
					      *   a SYN/ACK, its options the SYN/ACKs') */
	struct umpa_persona_rst open_ack;    /**< to an ACK of no connection at an open port (T4; default T6's) */
	uint8_t udp_unreach;                 /**< closed UDP port: 1 ICMP port unreachable, 0 silence (U1) */
	uint8_t unreach_df;                  /**< its DF */
	uint8_t unreach_ttl;                 /**< its TTL */
	uint16_t unreach_ipl;                /**< its whole IP length at most (U1 IPL): quotes IPL - 28 bytes */
	uint32_t unreach_un;                 /**< its unused field (U1 UN) */
};

/**
 * Fill @p out with personality @p spec: a shipped name ("linux", "windows",
 * "freebsd", "embedded"), or "nmap:NAME" read from the nmap OS database
 * (@p db, NULL: $UMPA_NMAP_OS_DB, then UMPA_NMAP_OS_DB) by exact name
 * (case-insensitive; the first of equal names) or a substring naming one
 * entry.  Returns 0, or a negative error with one line in @p e ("unknown
 * personality 'x' (linux, linux6, windows, freebsd, embedded, nmap:NAME)",
 * "nmap-os-db: 'Linux' matches 412 entries (Linux 2.6.32, ...)", "FILE:LINE:
 * ...").
 */
int umpa_persona_get(const char *spec, const char *db, struct umpa_persona *out, struct umpa_err *e);

/**
 * Parse nmap-os-db text @p text (@p len bytes, named @p file in errors) and
 * fill @p out with entry @p name (matched as umpa_persona_get says).  Every
 * line is checked (at most 1024 bytes; a known line kind; TEST(K=V%...)
 * with sane names and values); a bad one fails as "FILE:LINE: what".
 * Returns 0 or a negative error.
 */
int umpa_persona_nmap_parse(const char *text, size_t len, const char *file, const char *name, struct umpa_persona *out,
			    struct umpa_err *e);

/**
 * Check an option layout in nmap's O syntax ("M5B4ST11NW7": M hex MSS,
 * W hex window shift, T two digits (TSval, TSecr non-zero), S SACK
 * permitted, N NOP, L EOL).  Returns 0 or -UMPA_EINVAL naming the bad
 * position.
 */
int umpa_persona_opts_check(const char *o, struct umpa_err *e);

/* ---- the engine ---- */

/** Personalities bound to addresses, and per-host state (opaque). */
struct umpa_persona_set;

/** A new, empty set (NULL when out of memory). */
struct umpa_persona_set *umpa_persona_set_new(void);

/** Free a set (NULL is fine).  Returns NULL. */
struct umpa_persona_set *umpa_persona_set_free(struct umpa_persona_set *s);

/**
 * Bind @p p to the source prefix @p addr/@p plen (@p af AF_INET or
 * AF_INET6, address in network order), with an uptime of @p uptime_ns at
 * @p now_ns on the caller's clock.  A prefix bound again is replaced (its
 * hosts keep their IP ID counters); the longest bound prefix wins.
 * @p p NULL removes the binding.  At most 1,048,576 addresses and prefixes
 * are bound (-UMPA_ERANGE past that); hosts (source addresses that sent)
 * keep their own IP ID sequence up to 262,144 of them, the ones beyond share
 * one.  Returns 0 or a negative error.
 */
int umpa_persona_bind(struct umpa_persona_set *s, int af, const uint8_t *addr, unsigned plen,
		      const struct umpa_persona *p, int64_t uptime_ns, int64_t now_ns, struct umpa_err *e);

/** Number of bindings (0: shaping is a no-op). */
size_t umpa_persona_count(const struct umpa_persona_set *s);

/**
 * The personality bound to address @p addr (@p af), or NULL (valid until
 * the next umpa_persona_bind).  For code that builds its own segments (a
 * TCP endpoint announcing the personality's MSS, window scale and
 * timestamps: umpa_persona_tcpe_opts).  A full-length address is found in
 * O(1) (a hash of the bound /32s and /128s), then the shorter prefixes are
 * searched; equal personalities bound to many addresses share one copy.
 */
const struct umpa_persona *umpa_persona_find(const struct umpa_persona_set *s, int af, const uint8_t *addr);

/**
 * Shape packet @p p (built, owned) sent at @p now_ns: when its IPv4/IPv6
 * source is bound, the fields not set explicitly take the personality's
 * values (TTL/hop limit, DF, IP ID, TCP window and options with TSval from
 * the uptime), and the packet is finished again.  @p req is the packet
 * being answered, or NULL: a SYN/ACK's options follow what that SYN offered
 * (no window scale, SACK or timestamps it did not offer; nmap's six probes
 * get their own answers), TSecr echoes its TSval, an echo reply's DF and
 * code follow it (DFI, CD).  Returns 1 shaped, 0 untouched, negative on
 * error.
 */
int umpa_persona_shape(struct umpa_persona_set *s, struct umpa_pkt *p, const struct umpa_pkt *req, int64_t now_ns,
		       struct umpa_err *e);

/**
 * Fill a TCP endpoint's settings (sched/umpa_tcpend.h: mss, wscale, sackok,
 * timestamps, rwnd) from personality @p p's SYN/ACK layout (O1) and
 * windows, so the segments an endpoint makes agree with the personality
 * (and shaping can lay its options out in the personality's order without
 * changing what was negotiated).  Other settings are left as they are.
 */
void umpa_persona_tcpe_opts(const struct umpa_persona *p, struct umpa_tcpe_opts *o);

/**
 * For code that builds complete segments itself (a TCP endpoint) and wants
 * them shaped: mark as automatic, in @p p, the fields a personality owns
 * that such code sets: IPv4 TTL, ID and DF, the IPv6 hop limit, TCP
 * options (their values stay: shaping lays them out in the personality's
 * order, dropping kinds it lacks) and a SYN's window.  Then send @p p
 * through umpa_persona_shape (the template runtime's send path does).
 */
void umpa_persona_unset_shaped(const struct umpa_persona_set *s, struct umpa_pkt *p);

/**
 * Build into @p out (initialised; released first) what the host that
 * received @p req (a dissected TCP or UDP packet to a closed port, its
 * destination the simulated host) answers: a RST with the personality's
 * seq/ack/flags/window/DF/TTL (RFC 9293's when the address has no
 * personality), or an ICMP (ICMPv6) port unreachable quoting the request
 * as far as the personality's IPL allows (RFC 1812's 576 bytes; 1280 for
 * IPv6, RFC 4443).  Addresses (Ethernet too), ports and the quote come from
 * @p req; fields left unset are shaped when the answer is sent.  Returns 1
 * built, 0 silence (the personality drops it, a RST is never answered,
 * another protocol), negative on error.
 */
/**
 * What the host that received @p req (a dissected TCP segment to an open
 * port that belongs to no connection) answers when it is one of nmap's
 * open-port probes: no flags (T2), SYN with FIN (T3), an ACK (T4).  Builds
 * the answer into @p out as umpa_persona_closed does, with the
 * personality's T2/T3/T4 rule (a SYN/ACK when the rule says so, its window
 * and options left to the shaping).  Returns 1 built, 0 silence (the
 * personality does not answer it), -1 when @p req is none of these or its
 * address has no personality (the caller's stack handles it), or another
 * negative error.
 */
int umpa_persona_open_probe(struct umpa_persona_set *s, const struct umpa_pkt *req, struct umpa_pkt *out,
			    struct umpa_err *e);

int umpa_persona_closed(struct umpa_persona_set *s, const struct umpa_pkt *req, struct umpa_pkt *out,
			struct umpa_err *e);

#endif
