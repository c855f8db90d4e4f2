/* umpa_replay.h - replaying a capture at a device and checking its answers.
 *
 * Three models, used by `umpa replay` live, by its offline template mode
 * (--template) and by its audit mode (--audit):
 *
 *  1. The capture model (struct umpa_replay_cap): every packet of a capture
 *     file, its bytes kept in one arena (no per-packet allocation), each
 *     marked with the flow it belongs to, the side of that flow that sent
 *     it (client: the flow's opener, or server), and whether it is replayed
 *     (SEND: umpa transmits it) or expected (EXPECT: the device's recorded
 *     answer).  Which side is sent is a side rule (by default the hosts
 *     that opened more flows than they were asked in; or address/CIDR,
 *     BPF, the other side).  Packets are grouped into flows (a 5-tuple, ICMP echo id, ARP
 *     and neighbour discovery by the addresses asked for) and into
 *     exchanges: one SEND packet and the EXPECT packets that answer it
 *     (found with the expect engine's hashret/answers hooks, so an ICMP
 *     error quoting a UDP datagram answers that datagram).
 *
 *  2. The result model (struct umpa_replay_result): per exchange, a
 *     verdict (matched, differing, missing, unexpected, unsent, given up),
 *     the field differences (Wireshark name, recorded value, live value),
 *     and the recorded and live latencies.  The checker
 *     (struct umpa_replay_checker) compares a recorded answer with a live
 *     one field by field through the dissector, skipping volatile fields
 *     (defaults: ip.id, checksums, TCP timestamps, TCP sequence and
 *     acknowledgement numbers, IPv6 flow label), with --ignore / --check
 *     lists and fields learned as noise.  The same checker serves live
 *     replay, a template on the virtual clock, and the audit of a capture
 *     (recorded vs recorded).
 *
 *  3. The report (umpa_replay_report_*): human lines, JSON lines (one object
 *     per exchange, then a summary object with matched/differing/missing/
 *     unexpected as the last line) and JUnit XML (one test case per flow).
 *     The library formats into umpa_sbuf buffers; tools/ writes them.
 *
 * Flow drivers (struct umpa_replay_driver) plug in per-flow protocols that
 * are not request/response: the run's own stateless handling (UDP, ICMP,
 * ARP, ND, and anything else: each SEND packet is one exchange, sent on
 * schedule, its answers matched by the expect engine) takes every flow no
 * driver claims; a stateful TCP driver (sched/replay_tcp.c) claims TCP flows,
 * decides when each of their packets may go (waiting for the peer where the
 * recording shows a dependency), rewrites sequence numbers, and reports its
 * exchanges through the same result model.
 *
 * Nothing here prints.  Every read of captured bytes goes through the
 * dissector (bounds-checked cursors).
 */
#ifndef UMPA_REPLAY_H
#define UMPA_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"
#include "umpa_sbuf.h"

struct umpa_capr;
struct umpa_pkt;
struct umpa_loop;
struct umpa_expect;

/* ================================================================== */
/* 1. The capture model                                               */
/* ================================================================== */

/** "No such index" for the uint32_t indices below. */
#define UMPA_REPLAY_NONE UINT32_MAX

/** Which endpoint of its flow sent a packet. */
enum umpa_replay_side {
	UMPA_SIDE_CLIENT = 0, /**< the flow's opener (the SYN's sender, the first packet's sender) */
	UMPA_SIDE_SERVER = 1, /**< the other endpoint */
};

/** What replay does with a packet. */
enum umpa_replay_role {
	UMPA_ROLE_SEND = 0,   /**< transmitted by umpa */
	UMPA_ROLE_EXPECT = 1, /**< the device's recorded packet: expected back */
};

/** What kind of flow a packet belongs to (which driver and which flow key). */
enum umpa_replay_kind {
	UMPA_FLOW_OTHER = 0, /**< anything else (keyed by network addresses, or not at all) */
	UMPA_FLOW_UDP,       /**< UDP: addresses and ports */
	UMPA_FLOW_TCP,       /**< TCP: addresses and ports */
	UMPA_FLOW_ICMP,      /**< ICMP/ICMPv6 queries (echo): addresses and id; errors go with what they quote */
	UMPA_FLOW_ARP,       /**< ARP: the addresses asked for */
	UMPA_FLOW_ND,        /**< IPv6 neighbour discovery: the target address */
};

/** One packet of the capture. */
struct umpa_replay_pkt {
	uint64_t off;       /**< its bytes: cap->arena + off */
	uint32_t len;       /**< captured bytes */
	uint32_t wirelen;   /**< length on the wire */
	int64_t ts_ns;      /**< recorded time stamp (ns since the epoch) */
	uint64_t frame;     /**< the file's frame number (1-based) */
	uint32_t flow;      /**< index into cap->flows */
	uint32_t exch;      /**< SEND: its exchange; EXPECT: the exchange it answers (UMPA_REPLAY_NONE: none) */
	uint8_t side;       /**< enum umpa_replay_side */
	uint8_t role;       /**< enum umpa_replay_role */
	uint8_t ifidx;      /**< interface it goes out of (SEND) or is expected on (EXPECT): 0 or 1 */
	uint8_t unsendable; /**< 1: cannot be sent on the interface (link type, size); counted, skipped */
	uint8_t partial;    /**< 1: a layer carries the partial checksum of offload (finished by the rewriter) */
};

/** One flow: the packets that share a flow key, both directions. */
struct umpa_replay_flow {
	uint8_t kind;          /**< enum umpa_replay_kind */
	uint8_t family;        /**< 4, 6, or 0 (ARP, other) */
	uint8_t proto;         /**< IP protocol number (0 for ARP/other) */
	uint8_t caddr[16];     /**< client address (IPv4 in the first 4 bytes) */
	uint8_t saddr[16];     /**< server address */
	uint16_t cport, sport; /**< ports (UDP/TCP), or the ICMP echo id in cport */
	uint32_t first, last;  /**< first and last packet index */
	uint32_t npkts;        /**< packets */
	uint32_t nsend;        /**< of those, SEND */
	char name[96];         /**< "udp 10.0.0.1:40000 > 10.0.0.2:53" (client first): JUnit test case name */
};

/** One exchange: a SEND packet and the EXPECT packets that answered it when recorded. */
struct umpa_replay_exch {
	uint32_t req;    /**< the SEND packet's index */
	uint32_t flow;   /**< its flow */
	uint32_t ans[4]; /**< the recorded answers' packet indices, in order */
	uint32_t nans;   /**< how many (0: nothing was expected; at most 4 kept) */
	int64_t rtt_ns;  /**< recorded latency: first answer minus request (-1 without one) */
};

/** Most recorded answers one exchange keeps (further ones count as answers of nobody). */
#define UMPA_REPLAY_MAX_ANS 4

/**
 * Which packets umpa sends.  With none set, the hosts that opened more
 * flows than they were asked in send (each flow's opener: the sender of
 * its first packet, for TCP the SYN's sender; a host is its Ethernet source
 * address); on a link without Ethernet addresses, each flow's opener.
 * With @c cidrs, a packet is sent when its
 * source (IPv4/IPv6, ARP sender protocol address) falls in one of them;
 * with @c bpf, when it passes the filter.  @c server_side inverts the
 * default rule (send the other hosts' packets).  @c both sends both sides (two
 * interfaces: client side on interface 0, server side on interface 1;
 * nothing is expected then but the forwarded packets).
 */
struct umpa_replay_sides {
	const char *cidrs; /**< comma-separated "10.0.0.1,10.0.0.0/24,fd00::/64", or NULL */
	const char *bpf;   /**< BPF expression, or NULL */
	int server_side;   /**< default rule: send the other side */
	int both;          /**< send both sides (two interfaces) */
};

/** The capture model.  Fields are read-only for users; built by umpa_replay_cap_load. */
struct umpa_replay_cap {
	int linktype;                 /**< the file's link type (after re-framing: the interface's) */
	uint8_t *arena;               /**< every packet's bytes */
	uint64_t alen;                /**< bytes used */
	struct umpa_replay_pkt *pkts; /**< in file order */
	uint32_t npkts;
	struct umpa_replay_flow *flows; /**< in order of first packet */
	uint32_t nflows;
	struct umpa_replay_exch *exch; /**< in order of their SEND packets */
	uint32_t nexch;
	uint32_t nsend;       /**< SEND packets */
	uint32_t nunsendable; /**< of those, not sendable (and why, once: unsendable_why) */
	char unsendable_why[128];
	uint32_t nanswers; /**< EXPECT packets that answer an exchange */
	uint32_t norphans; /**< EXPECT packets that answer none (kept, not checked) */
	int64_t first_ts_ns, last_ts_ns;
	void *priv; /**< umpa's own (the flow table): not for users */
};

/**
 * The BPF filter of a live capture that keeps only what can answer the
 * frames @p cap sends (sched/replay_filter.c): frames to one of their
 * senders' MAC addresses, or to a group address.  Appends
 * "ether multicast or ether dst 02:... or ..." to @p out and returns 1, or
 * returns 0 (no filter: not Ethernet, more than 16 senders, out of memory).
 */
int umpa_replay_answer_filter(const struct umpa_replay_cap *cap, struct umpa_sbuf *out);

/** Options of umpa_replay_cap_load. */
struct umpa_replay_load_opts {
	struct umpa_replay_sides sides;
	int out_linktype;   /**< re-frame every packet for this link type (0: keep the file's) */
	int vlan;           /**< Ethernet out: -1 keep tags as recorded, -2 strip them, 0..4095 tag with this VLAN id */
	uint32_t max_frame; /**< frames longer than this are unsendable (0: no limit) */
	int no_answers;     /**< send only (--no-check): recorded answers are not looked for (faster to load) */
	uint64_t max_pkts;  /**< refuse files with more (0: 10,000,000) */
};

/**
 * Read the whole capture @p r (pcap or pcapng, any link type umpa dissects)
 * into a new capture model: packets re-framed for o->out_linktype (a raw-IP,
 * Linux cooked or BSD loopback frame gets an Ethernet header: the cooked
 * header's sender address or a placeholder 02:00:ADDR made of the source
 * IP address, and as destination the MAC the capture shows for the
 * destination address, else its placeholder (the tool maps them to the
 * live link); an Ethernet frame sent on a raw-IP device loses its header;
 * what cannot be re-framed, is cut short or empty is marked unsendable),
 * sides decided by o->sides, flows and exchanges found.  Errors: a bad
 * record, a link type umpa does not dissect ("link type 147 (USER0) is not
 * one umpa reads"), no packet, a side rule that selects nothing ("side
 * rule '10.9.0.0/16' selects no packet of the capture"), no memory.
 * Returns the model (free with umpa_replay_cap_free) or NULL with @p e set.
 */
struct umpa_replay_cap *umpa_replay_cap_load(struct umpa_capr *r, const struct umpa_replay_load_opts *o,
					     struct umpa_err *e);

/** Free @p cap (NULL is fine). Returns NULL. */
struct umpa_replay_cap *umpa_replay_cap_free(struct umpa_replay_cap *cap);

/**
 * The flow of @p p (dissected; a live packet, say) in @p cap, by its flow
 * key (either direction; an ICMP error by what it quotes): the flow index,
 * or -1 when the capture has no such flow.
 */
long umpa_replay_flow_of(const struct umpa_replay_cap *cap, const struct umpa_pkt *p);

/**
 * Point @p p at packet @p i of @p cap (borrowed bytes, writable: the
 * rewriter edits them in place) and dissect it.  @p p must be initialised;
 * any owned buffer of it is released first.
 */
void umpa_replay_cap_pkt(const struct umpa_replay_cap *cap, uint32_t i, struct umpa_pkt *p);

/* ---- rewriting ---- */

/** The rewrite rules (--rewrite-*); applied to every packet, sent and expected alike. */
struct umpa_replay_rewrite;

/** An empty rule set. NULL with @p e set when out of memory. */
struct umpa_replay_rewrite *umpa_replay_rewrite_new(struct umpa_err *e);

/** Free (NULL is fine). Returns NULL. */
struct umpa_replay_rewrite *umpa_replay_rewrite_free(struct umpa_replay_rewrite *rw);

/**
 * Add one rule from text: "mac:OLD=NEW" (an Ethernet address, in Ethernet
 * headers and ARP bodies), "ip:OLD/N=NEW/N" (IPv4 or IPv6 prefix map: the
 * host bits are kept; in IP headers, ARP bodies, ND targets and ICMP
 * quotations), "port:OLD=NEW" (UDP/TCP, both directions),
 * "ttl:N" (IPv4 TTL / IPv6 hop limit of sent packets).  VLAN tags are set
 * when loading (umpa_replay_load_opts.vlan).  Returns 0 or a negative error
 * naming the rule ("rewrite 'ip:10.0.0.0/8=fd00::/8': the two sides are of
 * different families").
 */
int umpa_replay_rewrite_add(struct umpa_replay_rewrite *rw, const char *rule, struct umpa_err *e);

/**
 * Apply @p rw to every packet of @p cap in place, then fix checksums
 * (IPv4 header, UDP, TCP, ICMP, ICMPv6, quotations) unless @p keep_csums.
 * Also unless @p keep_csums: a sent TCP or UDP segment whose checksum is the
 * partial sum Linux leaves for checksum offload (captured on its way out) is
 * finished, or the peer would drop it.
 * Returns the number of packets changed, or a negative error.
 */
long umpa_replay_rewrite_apply(const struct umpa_replay_rewrite *rw, struct umpa_replay_cap *cap, int keep_csums,
			       struct umpa_err *e);

/* ================================================================== */
/* 2. The result model and the checker                                */
/* ================================================================== */

/** What became of an exchange. */
enum umpa_replay_verdict {
	UMPA_RV_MATCHED = 0,    /**< every expected answer came and equals the recorded one */
	UMPA_RV_DIFFERING = 1,  /**< an answer came but some fields differ (see diffs) */
	UMPA_RV_MISSING = 2,    /**< an expected answer did not come */
	UMPA_RV_UNEXPECTED = 3, /**< an answer came where none was recorded (or more than recorded) */
	UMPA_RV_UNSENT = 4,     /**< the request could not be sent (link type, size, send error) */
	UMPA_RV_GAVEUP = 5,     /**< a stateful driver gave up on the flow before this exchange */
	UMPA_RV_SENT = 6,       /**< sent, nothing expected, nothing came: not a failure */
};

/** Number of verdicts (array sizes). */
#define UMPA_RV_COUNT 7

/** The verdict's name as printed and in JSON: "matched", "differing"... */
const char *umpa_replay_verdict_name(enum umpa_replay_verdict v);

/** One field difference. */
struct umpa_replay_diff {
	char field[48];    /**< Wireshark name: "ip.ttl" (inside an ICMP quotation too: the inner layer's name) */
	char recorded[64]; /**< recorded value as text ("64"), "(absent)" for a missing layer */
	char live[64];     /**< live value as text ("33") */
};

/** Most differences kept per exchange (more are counted in more_diffs). */
#define UMPA_REPLAY_MAX_DIFFS 8

/** The outcome of one exchange. */
struct umpa_replay_result {
	uint32_t exch;       /**< index into cap->exch (UMPA_REPLAY_NONE: an unexpected packet of nobody) */
	uint32_t iter;       /**< which round of --loop (0-based) */
	uint32_t flow;       /**< its flow */
	uint8_t verdict;     /**< enum umpa_replay_verdict */
	uint8_t ndiffs;      /**< diffs[0..ndiffs) */
	uint16_t more_diffs; /**< differences not kept */
	int64_t rec_rtt_ns;  /**< recorded latency (-1: none) */
	int64_t live_rtt_ns; /**< live latency (-1: none) */
	uint32_t answers;    /**< live answers received */
	struct umpa_replay_diff diffs[UMPA_REPLAY_MAX_DIFFS];
	char note[96]; /**< why, for missing/unsent/gaveup/unexpected ("no answer in 1 s"), or "" */
};

/** The checker: which fields are compared (opaque). */
struct umpa_replay_checker;

/**
 * A checker with the default volatile fields ignored: ip.id, ip.checksum,
 * udp.checksum, tcp.checksum, icmp.checksum, icmpv6.checksum, tcp.seq,
 * tcp.ack, tcp option timestamps (tcp.options), ipv6.flow.  NULL with @p e
 * set when out of memory.
 */
struct umpa_replay_checker *umpa_replay_checker_new(struct umpa_err *e);

/** Free (NULL is fine). Returns NULL. */
struct umpa_replay_checker *umpa_replay_checker_free(struct umpa_replay_checker *ck);

/**
 * Ignore (@p on = 1) or compare again (@p on = 0) the comma-separated
 * fields @p list: Wireshark names ("ip.ttl,tcp.window_size_value"), short
 * names ("ip.ttl" = "ip.ttl"), or a whole protocol ("dns").  An unknown
 * name is an error naming it (with a near name when there is one).
 * Returns 0 or a negative error.
 */
int umpa_replay_checker_set(struct umpa_replay_checker *ck, const char *list, int on, struct umpa_err *e);

/** True when field @p f of protocol @p proto is ignored. */
int umpa_replay_checker_ignored(const struct umpa_replay_checker *ck, const struct umpa_proto *proto,
				const struct umpa_field *f);

/**
 * The fields ignored beyond the defaults, comma-separated, into @p out (what
 * --learn-noise learned, for its report line).
 */
void umpa_replay_checker_learned(const struct umpa_replay_checker *ck, struct umpa_sbuf *out);

/**
 * --learn-noise, first round: keep @p live (the first answer of exchange
 * @p k of @p nexch) as the reference.  Returns 0 or -UMPA_ENOMEM.
 */
int umpa_replay_checker_keep(struct umpa_replay_checker *ck, uint32_t k, uint32_t nexch, const struct umpa_pkt *live,
			     struct umpa_err *e);

/**
 * --learn-noise, later rounds: the fields in which @p live differs from the
 * reference answer of exchange @p k become ignored (and are listed by
 * umpa_replay_checker_learned).  Returns how many differed.
 */
unsigned umpa_replay_checker_learn(struct umpa_replay_checker *ck, uint32_t k, const struct umpa_pkt *live);

/**
 * Compare @p live with @p recorded (both dissected), layer by layer from the
 * first network layer (the link layer only when both have the same one),
 * field by field through the protocols' tables, skipping ignored fields.
 * Raw payload compares as bytes ("data").  A layer one has and the other
 * lacks is a difference ("udp" recorded "present", live "(absent)").
 * Differences are appended to @p res (verdict set to DIFFERING when there
 * is one; left alone otherwise).  With @p learn non-zero, differing fields
 * are added to the checker's ignored set instead (--learn-noise) and
 * nothing is appended.  Returns the number of differences.
 */
unsigned umpa_replay_compare(struct umpa_replay_checker *ck, const struct umpa_pkt *recorded,
			     const struct umpa_pkt *live, struct umpa_replay_result *res, int learn);

/* ================================================================== */
/* Flow drivers and the run                                           */
/* ================================================================== */

/** A replay in progress (opaque): the schedule, the interfaces, the expect engine, the results. */
struct umpa_replay_run;

/**
 * A per-flow driver: how the packets of the flows it claims are sent and
 * checked.  The run calls claim at load for every flow; for each claimed
 * flow, open once before the first packet is due, due when each of the
 * flow's SEND packets is due by the schedule, input for each received
 * packet whose flow key is the flow's, and close at the end.  A driver
 * sends with umpa_replay_transmit and reports with umpa_replay_report_exch.
 */
struct umpa_replay_driver {
	const char *name; /**< "tcp" */
	/** Take flow @p fi of @p cap? Non-zero to claim it. */
	int (*claim)(const struct umpa_replay_cap *cap, uint32_t fi);
	/** Per-flow state for @p fi (NULL with @p e set on failure; may return a shared pointer). */
	void *(*open)(struct umpa_replay_run *run, uint32_t fi, struct umpa_err *e);
	/**
	 * Packet @p pi (SEND, of the flow) is due by the schedule in round
	 * @p iter of --loop (0-based).  Send it now (umpa_replay_transmit) or
	 * later (the driver's own timers on umpa_replay_loop).  Returns 0, 1 to
	 * have the run send it now with its stateless packets (paced, batched;
	 * nothing registered with the expect engine: its answers are the
	 * driver's), or a negative error (stops the run).
	 */
	int (*due)(void *st, uint32_t pi, uint32_t iter, struct umpa_err *e);
	/** A received packet @p p (dissected) of the flow. Returns 1 when it consumed it, else 0. */
	int (*input)(void *st, struct umpa_pkt *p, int ifidx);
	/** True while the flow still has work (keeps the run from ending). */
	int (*busy)(void *st);
	/** The run ends: report every exchange not reported yet (missing / gave up), free @p st. */
	void (*close)(void *st);
	/**
	 * Optional (NULL: never asked).  A TCP SYN @p p of no known flow, offered
	 * to the flows registered with umpa_replay_run_adopter (the peer opens
	 * them and chooses its port for each connection): take it as the opening
	 * of a connection of this flow?  1 when taken (its 4-tuple is then the
	 * flow's: umpa_replay_run_alias), else 0.
	 */
	int (*adopt)(void *st, struct umpa_pkt *p, int ifidx);
};

/* Flows no driver claims are the run's own, stateless: each SEND packet is an
 * exchange, sent when due, its answers matched by the expect engine. */

/** Timing of a live replay. */
struct umpa_replay_timing {
	double multiplier;   /**< speed factor on the recorded gaps (0: 1.0) */
	double pps;          /**< fixed packets per second instead of recorded gaps (0: off) */
	double mbps;         /**< fixed megabits per second instead (0: off) */
	int topspeed;        /**< as fast as possible */
	uint64_t loops;      /**< replay the capture this many times (0: 1) */
	int64_t duration_ns; /**< stop after this long (0: no limit) */
	int64_t timeout_ns;  /**< how long to wait for an answer after its request (0: 1 s) */
	int no_check;        /**< send only: no exchange is registered, nothing reported per exchange */
	int learn; /**< --learn-noise round: 1 the first (its answers kept in the checker as the reference), 2 a later
		      one (fields that differ from the reference become ignored); nothing is reported */
	unsigned retries;   /**< TCP: retransmissions before a flow gives up, each after timeout_ns (0: 3; UINT32_MAX:
			       none) */
	uint32_t conn_base; /**< TCP: connections each flow's client made before this run (--learn-noise rounds):
			       round i of this run is connection conn_base + i, from its own port
			       (umpa_replay_tcp_port) */
};

/** The three report formats. */
enum umpa_replay_fmt {
	UMPA_REPLAY_HUMAN = 0, /**< a line per exchange that is not matched (all with verbose), then a summary */
	UMPA_REPLAY_JSON = 1,  /**< one JSON object per exchange, then the summary object */
};

/** Totals over a run. */
struct umpa_replay_summary {
	uint64_t exchanges;                      /**< exchanges reported */
	uint64_t verdicts[UMPA_RV_COUNT];        /**< by verdict */
	uint64_t sent, sent_bytes;               /**< packets transmitted */
	uint64_t received;                       /**< packets received that belonged to the replay */
	uint64_t unsendable;                     /**< packets that could not be sent */
	uint32_t flows, flows_failed;            /**< flows, and of those with an exchange not matched */
	int64_t rec_rtt_sum_ns, live_rtt_sum_ns; /**< over exchanges with both latencies */
	uint64_t rtt_pairs;                      /**< how many such */
	int64_t elapsed_ns;                      /**< first send to last send */
	int64_t run_ns;                          /**< start of the run to its end (every exchange settled) */
};

/**
 * Format one exchange result @p res of @p cap into @p out as @p fmt (a
 * human line is written only for a verdict other than matched/sent unless
 * @p verbose; JSON always): {"exchange":N,"flow":"udp ...","frame":F,
 * "verdict":"differing","differences":[{"field":"ip.ttl","recorded":"64",
 * "live":"33"}],"recorded_rtt_us":...,"live_rtt_us":...}.
 */
void umpa_replay_format_result(const struct umpa_replay_cap *cap, const struct umpa_replay_result *res,
			       enum umpa_replay_fmt fmt, int verbose, struct umpa_sbuf *out);

/**
 * Format the summary: human lines, or the JSON object (last line of
 * --json): {"summary":true,"exchanges":N,"matched":..,"differing":..,
 * "missing":..,"unexpected":..,"unsent":..,"flows":..,"flows_failed":..}.
 */
void umpa_replay_format_summary(const struct umpa_replay_summary *sum, enum umpa_replay_fmt fmt, struct umpa_sbuf *out);

/**
 * The report writer: collects results (live replay, template, audit alike),
 * keeps the totals, per-flow counts and the failing results (for JUnit).
 */
struct umpa_replay_report;

/** A report over @p cap (borrowed). NULL with @p e set when out of memory. */
struct umpa_replay_report *umpa_replay_report_new(const struct umpa_replay_cap *cap, struct umpa_err *e);

/** Free (NULL is fine). Returns NULL. */
struct umpa_replay_report *umpa_replay_report_free(struct umpa_replay_report *rep);

/** Count result @p res (copied when it failed). Returns 0 or -UMPA_ENOMEM. */
int umpa_replay_report_add(struct umpa_replay_report *rep, const struct umpa_replay_result *res);

/** The totals so far (exchanges, verdicts, flows, latencies; the packet counts are the run's). */
void umpa_replay_report_summary(const struct umpa_replay_report *rep, struct umpa_replay_summary *sum);

/** The failing results kept (at most 100,000), in the order added; *n their number. */
const struct umpa_replay_result *umpa_replay_report_failed(const struct umpa_replay_report *rep, size_t *n);

/**
 * JUnit XML: one <testsuite name=@p suite>, one <testcase> per flow with
 * an exchange (the flow's name), a <failure> for each flow with an exchange
 * not matched, naming each such exchange and its differences.
 */
void umpa_replay_report_junit(const struct umpa_replay_report *rep, const char *suite, struct umpa_sbuf *out);

/**
 * True when @p res makes the run fail (exit 1): differing, missing,
 * unexpected, unsent, gave up.
 */
int umpa_replay_failed(const struct umpa_replay_result *res);

/* ---- the run ---- */

/**
 * How a run moves packets: the live interfaces (tools/cmd_replay.c), or a
 * template on the virtual clock (--template).  send transmits @p n frames
 * out of interface @p ifidx and returns how many it took (0..n; the rest
 * are offered again) or a negative error.  Received packets come back
 * through umpa_replay_run_input.
 */
struct umpa_replay_io {
	int (*send)(void *arg, unsigned ifidx, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e);
	void *arg;
	unsigned nifs; /**< interfaces: 1 or 2 */
};

/**
 * A run of @p cap on @p loop (live or virtual) with @p io, checking with
 * @p ck (borrowed: the three must outlive the run), timed as @p t says.
 * Flows are given to the registered drivers (umpa_replay_add_driver) that
 * claim them, the rest to the stateless driver.  Returns the run or NULL
 * with @p e set.
 */
struct umpa_replay_run *umpa_replay_run_new(struct umpa_loop *loop, const struct umpa_replay_cap *cap,
					    struct umpa_replay_checker *ck, const struct umpa_replay_timing *t,
					    const struct umpa_replay_io *io, struct umpa_err *e);

/**
 * Offer @p d the flows of the run (before umpa_replay_run_go): every flow
 * that @p d->claim takes is driven by @p d.  Drivers added first claim
 * first.  Returns 0 or a negative error.
 */
int umpa_replay_add_driver(struct umpa_replay_run *run, const struct umpa_replay_driver *d, struct umpa_err *e);

/**
 * Run: send on schedule, match and check the answers, until every packet
 * went, every exchange settled (or timed out), the duration ran out, or the
 * loop was broken (a signal).  Returns 0 or a negative error.
 */
int umpa_replay_run_go(struct umpa_replay_run *run, struct umpa_err *e);

/**
 * A received packet @p p (dissected here if it has no layers) from
 * interface @p ifidx: given to its flow's driver, else to the expect
 * engine.  Returns 1 when it belonged to the replay, else 0.
 */
int umpa_replay_run_input(struct umpa_replay_run *run, struct umpa_pkt *p, unsigned ifidx);

/**
 * A progress callback, every @p period_ns of the run: packets sent so far
 * of the total, exchanges settled.  NULL to turn it off.
 */
void umpa_replay_on_progress(struct umpa_replay_run *run, int64_t period_ns,
			     void (*cb)(void *arg, const struct umpa_replay_summary *sofar, uint64_t total_pkts),
			     void *arg);

/**
 * Call @p cb for each exchange result as it settles (to stream --json or
 * human lines).  NULL to turn it off.
 */
void umpa_replay_on_result(struct umpa_replay_run *run, void (*cb)(void *arg, const struct umpa_replay_result *res),
			   void *arg);

/** The run's report (owned by the run). */
struct umpa_replay_report *umpa_replay_run_report(struct umpa_replay_run *run);

/** The totals of the run: the report's, with the packets sent and received. */
void umpa_replay_run_summary(const struct umpa_replay_run *run, struct umpa_replay_summary *sum);

struct umpa_rate_stats;
/** The sending pace: requested vs achieved (as umpa send reports it). */
void umpa_replay_run_rate(const struct umpa_replay_run *run, struct umpa_rate_stats *st);

/** Free @p run (NULL is fine). Returns NULL. */
struct umpa_replay_run *umpa_replay_run_free(struct umpa_replay_run *run);

/* ---- live controls (umpa replay --http) ---- */

/**
 * Change the speed factor of original timing (recorded gaps divided by
 * @p mult) while the run goes: the recorded time reached so far stays,
 * what follows runs at the new speed.  Before umpa_replay_run_go it
 * replaces the timing's multiplier.  Returns 0 or -UMPA_EINVAL (not a
 * factor in (0, 1e6]; a paced run: --pps, --mbps, --topspeed).
 */
int umpa_replay_set_multiplier(struct umpa_replay_run *run, double mult, struct umpa_err *e);

/** True when @p run is paced (--pps, --mbps, --topspeed): no multiplier (a rate for --pps and --mbps instead). */
int umpa_replay_run_paced(const struct umpa_replay_run *run);

/** The speed factor in use. */
double umpa_replay_multiplier(const struct umpa_replay_run *run);

/**
 * Pause (@p on 1) or resume (0) sending: nothing is sent while paused
 * (answers are still taken and exchanges still time out); on resuming, the
 * schedule moves on by the time paused: the recorded timing where it
 * stopped, a paced run (--pps, --mbps: umpa_source_pause) at its rate with
 * no burst to catch up, --topspeed as fast as before.  Returns 0 or
 * -UMPA_EINVAL (a run not started, or a paced one that sent everything).
 */
int umpa_replay_pause(struct umpa_replay_run *run, int on, struct umpa_err *e);

/** True while paused. */
int umpa_replay_paused(const struct umpa_replay_run *run);

/**
 * Change the rate of a replay paced by --pps (@p pps > 0, @p mbps 0) or
 * --mbps (@p mbps > 0, @p pps 0) while it runs (umpa_source_set_rate).
 * Returns 0 or -UMPA_EINVAL (out of range, the other mode, or not such a run).
 */
int umpa_replay_set_rate(struct umpa_replay_run *run, double pps, double mbps, struct umpa_err *e);

/** The requested rate now: packets per second and megabits per second (0: not that mode). */
void umpa_replay_rate_now(const struct umpa_replay_run *run, double *pps, double *mbps);

/** Flow @p fi's exchanges reported so far in @p rep, and of those the failed ones (0 past the end). */
void umpa_replay_report_flow(const struct umpa_replay_report *rep, uint32_t fi, uint32_t *exch, uint32_t *failed);

/* ---- hooks for drivers ---- */

/** The run's loop (live or virtual clock): drivers arm their timers here. */
struct umpa_loop *umpa_replay_loop(struct umpa_replay_run *run);

/** The run's capture model. */
const struct umpa_replay_cap *umpa_replay_capture(struct umpa_replay_run *run);

/** The run's timing (timeout_ns filled in with its default): drivers time their waits with it. */
const struct umpa_replay_timing *umpa_replay_run_timing(const struct umpa_replay_run *run);

/**
 * Live packets with the flow key of @p p belong to flow @p fi from now on:
 * a driver that plays a flow under another 4-tuple than the recorded one
 * (a TCP flow's later connections, from another port) says so with the
 * first frame it sends, so that the answers reach it (umpa_replay_run_input
 * looks these up when the capture has no such flow).  Returns 0 or
 * -UMPA_ENOMEM.
 */
int umpa_replay_run_alias(struct umpa_replay_run *run, const struct umpa_pkt *p, uint32_t fi, struct umpa_err *e);

/**
 * Flow @p fi (claimed by a driver with an adopt hook) is opened by the peer
 * from ports it chooses: a TCP SYN of no known flow is offered to the
 * driver's adopt hook.  From a driver's open.  Returns 0 or -UMPA_ENOMEM.
 */
int umpa_replay_run_adopter(struct umpa_replay_run *run, uint32_t fi, struct umpa_err *e);

/** The run's checker (drivers compare their answers with umpa_replay_compare). */
struct umpa_replay_checker *umpa_replay_run_checker(struct umpa_replay_run *run);

/**
 * Transmit @p p (a frame of the capture's link type, possibly rewritten by
 * the driver) out of interface @p ifidx now.  Returns 0 or a negative error.
 */
int umpa_replay_transmit(struct umpa_replay_run *run, unsigned ifidx, const struct umpa_pkt *p, struct umpa_err *e);

/**
 * Record the result of an exchange (copied).  Drivers call it once per
 * exchange of their flows; it goes to the result callback and the run's
 * report (nothing during a --learn-noise round).  Returns 0 or -UMPA_ENOMEM.
 */
int umpa_replay_report_exch(struct umpa_replay_run *run, const struct umpa_replay_result *res);

#endif
