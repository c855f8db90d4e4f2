/* umpa_toxics.h - Toxiproxy's toxics over umpa_proxy's hooks (and UDP impairments).
 *
 * A toxic set belongs to one proxy.  Each toxic has Toxiproxy 2.x's name,
 * type, stream ("upstream": client to server, "downstream": server to
 * client), toxicity (the probability that it applies to a connection,
 * drawn once per connection and toxic) and attributes, and two umpa
 * extensions:
 *  - a schedule: active from @c start ms after the toxic was made, for
 *    @c duration ms (0: for ever), and within that, when @c on is set,
 *    flapping: @c on ms active, @c off ms not;
 *  - a match: only connections whose client address lies in a CIDR prefix,
 *    whose TLS ClientHello names an SNI, or whose first HTTP request names
 *    a Host (all that are given must hold; SNI and Host are known from the
 *    client's first bytes, and a toxic with one waits for them).
 *
 * Types and attributes (Toxiproxy's units: ms, KB/s with K = 1000, bytes):
 *   latency      latency, jitter            each new chunk waits latency +- jitter
 *   bandwidth    rate                       at most rate KB/s (slices of 100 ms)
 *   slow_close   delay                      the end of stream waits delay
 *   timeout      timeout                    no data passes; closed after timeout (0: never)
 *   reset_peer   timeout                    at the first data, after timeout: RST
 *   slicer       average_size, size_variation, delay (us)   chunks cut small, delay between
 *   limit_data   bytes                      the connection ends after that many bytes
 *   packet_loss  loss_rate, correlation     a chunk (TCP) or datagram (UDP) is dropped with
 *                probability loss_rate, plus correlation after a drop (Toxiproxy #739)
 *   duplicate    probability, correlation   UDP only: a datagram is sent twice
 *   reorder      probability, gap           UDP only: netem's reorder (with a latency toxic)
 *   lua          chain (text)               hooks of their own (a Lua module chain, made by the
 *                caller) see and change each new chunk (TCP) or datagram (UDP) first; a chunk
 *                they changed is not cut by bandwidth or slicer afterwards (their delays still add)
 * On a UDP proxy the toxics of a stream add up into one netem-like
 * impairment (umpa_impair.h): latency to delay and jitter, packet_loss to
 * loss (toxicity scales the probability), bandwidth to a rate.  A UDP
 * session (one client address and port) is a connection: a toxic with a
 * client match goes into the impairments of the sessions it matches only
 * (they get impairments of their own: umpa_toxics_session_cfg), the others
 * share one.  SNI and Host matches are for TCP (a datagram carries no
 * ClientHello or HTTP request; DTLS and QUIC are not parsed).  Lua toxics
 * on UDP (umpa_toxics_udp_hooks) run per datagram before the impairment:
 * the module's bytes are the datagram, "" drops it, a table of strings
 * sends each as a datagram of its own ({data, data} duplicates it); a delay
 * or "reset" from a module means nothing to a datagram (reset drops it).
 * Toxicity of a lua toxic is drawn once per session.
 *
 * Library code: nothing prints.  Single-threaded, on the loop's thread.
 */
#ifndef UMPA_TOXICS_H
#define UMPA_TOXICS_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_impair.h"
#include "umpa_proxy.h"
#include "umpa_sched.h"

/** Most attributes of a toxic type. */
#define UMPA_TOXIC_MAX_ATTRS 4
/** Most toxics on one proxy. */
#define UMPA_TOXICS_MAX 64

/** Toxic types. */
enum umpa_toxic_type {
	UMPA_TOXIC_LATENCY,
	UMPA_TOXIC_BANDWIDTH,
	UMPA_TOXIC_SLOW_CLOSE,
	UMPA_TOXIC_TIMEOUT,
	UMPA_TOXIC_RESET_PEER,
	UMPA_TOXIC_SLICER,
	UMPA_TOXIC_LIMIT_DATA,
	UMPA_TOXIC_PACKET_LOSS,
	UMPA_TOXIC_DUPLICATE,
	UMPA_TOXIC_REORDER,
	UMPA_TOXIC_HOOKS, /**< "lua": other hooks (a Lua module chain) run as a toxic; umpa_toxics_add_hooks */
	UMPA_TOXIC_NTYPES
};

/** One attribute of a type: its name, range and default. */
struct umpa_toxic_attr {
	const char *name;
	double min, max, def;
	int real; /**< a fraction (JSON number) rather than an integer */
};

/** A type's description. */
struct umpa_toxic_kind {
	const char *name;
	int tcp, udp; /**< usable on TCP / UDP proxies */
	unsigned nattrs;
	struct umpa_toxic_attr attrs[UMPA_TOXIC_MAX_ATTRS];
};

/** The description of @p t (NULL when out of range). */
const struct umpa_toxic_kind *umpa_toxic_kind(enum umpa_toxic_type t);

/** Look a type up by name.  Returns 0 or -UMPA_ENOENT. */
int umpa_toxic_type_parse(const char *name, enum umpa_toxic_type *t);

/** A toxic's definition (what the API shows and sets). */
struct umpa_toxic_def {
	char name[128];
	enum umpa_toxic_type type;
	enum umpa_proxy_dir dir; /**< C2S: "upstream", S2C: "downstream" */
	double toxicity;         /**< 0..1 */
	double attr[UMPA_TOXIC_MAX_ATTRS];
	int has_schedule;
	int64_t start_ms, duration_ms, on_ms, off_ms; /**< the schedule (when has_schedule) */
	char match_client[64];                        /**< "ADDR/BITS" or "ADDR" ("" none) */
	char match_sni[256];                          /**< "" none */
	char match_host[256];                         /**< "" none */
	char text[256]; /**< lua: the chain, as given (shown back; the hooks do the work) */
};

/** Defaults for a toxic of type @p t: toxicity 1, the type's attribute defaults, no schedule or match. */
void umpa_toxic_def_init(struct umpa_toxic_def *d, enum umpa_toxic_type t);

/**
 * Set attribute @p name of @p d to @p v, checked against the type's range.
 * Returns 0, -UMPA_ENOENT ("latency has no attribute 'x' (latency, jitter)")
 * or -UMPA_ERANGE.
 */
int umpa_toxic_def_attr(struct umpa_toxic_def *d, const char *name, double v, struct umpa_err *e);

/** Check a whole definition (match prefix syntax, schedule ranges).  0 or -UMPA_EINVAL. */
int umpa_toxic_def_check(const struct umpa_toxic_def *d, struct umpa_err *e);

/** A proxy's toxics (opaque). */
struct umpa_toxics;

/** A new empty set on @p loop; @p seed 0 draws one.  NULL with @p e set. */
struct umpa_toxics *umpa_toxics_new(struct umpa_loop *loop, uint64_t seed, struct umpa_err *e);

/** The hooks to give umpa_proxy_new (their arg is @p t). */
void umpa_toxics_hooks(struct umpa_toxics *t, struct umpa_proxy_hooks *h);

/** The proxy those hooks run in (for closing connections from timers); NULL when it stopped. */
void umpa_toxics_attach(struct umpa_toxics *t, struct umpa_proxy *p);

/**
 * Add a toxic (its name must be new).  Returns 0, -UMPA_ERANGE
 * (UMPA_TOXICS_MAX) or -UMPA_EINVAL (a name in use; umpa_toxic_def_check).
 */
int umpa_toxics_add(struct umpa_toxics *t, const struct umpa_toxic_def *d, struct umpa_err *e);

/**
 * Add a toxic of type UMPA_TOXIC_HOOKS running @p h (copied; h->data is
 * required) on the connections it applies to: h->open when it first
 * applies to one (with that connection's umpa_proxy_conn_info), h->data on
 * each new chunk of its stream, h->eof, h->close when the connection or
 * the toxic goes.  Whatever @p h needs must live until the toxic is removed
 * or the set freed.  Returns as umpa_toxics_add.
 */
int umpa_toxics_add_hooks(struct umpa_toxics *t, const struct umpa_toxic_def *d, const struct umpa_proxy_hooks *h,
			  struct umpa_err *e);

/** Replace toxic @p name's definition (same name and stream).  0, -UMPA_ENOENT or -UMPA_EINVAL. */
int umpa_toxics_update(struct umpa_toxics *t, const char *name, const struct umpa_toxic_def *d, struct umpa_err *e);

/** Remove toxic @p name (its timers in open connections stop).  0 or -UMPA_ENOENT. */
int umpa_toxics_remove(struct umpa_toxics *t, const char *name);

/** Remove every toxic. */
void umpa_toxics_clear(struct umpa_toxics *t);

/** Toxic number @p i (in creation order), or NULL past the end. */
const struct umpa_toxic_def *umpa_toxics_get(const struct umpa_toxics *t, size_t i);

/** Toxic @p name, or NULL. */
const struct umpa_toxic_def *umpa_toxics_find(const struct umpa_toxics *t, const char *name);

/** Does any toxic have a schedule (then a UDP impairment is recomputed as time passes)? */
int umpa_toxics_scheduled(const struct umpa_toxics *t);

/**
 * The shared UDP impairment of direction @p dir now: the active toxics of
 * that stream without a client match added up into @p cfg (from
 * umpa_impair_cfg_init).
 */
void umpa_toxics_impair_cfg(struct umpa_toxics *t, enum umpa_proxy_dir dir, struct umpa_impair_cfg *cfg);

/**
 * The hooks to give a UDP relay (umpa_udprelay_opts.hooks; their arg is
 * @p t): a session per client address, the lua toxics run on each datagram.
 */
void umpa_toxics_udp_hooks(struct umpa_toxics *t, struct umpa_proxy_hooks *h);

/**
 * A UDP session's own impairment (umpa_udprelay_opts.session_cfg): @p arg
 * the set, @p state what the udp hooks' open made.  When toxics of
 * direction @p dir (0 client to server, 1 back) with a client match hold for
 * the session: 1, @p cfg the toxics on now without a match plus those.  0
 * when none does (the session uses the shared impairment).
 */
int umpa_toxics_session_cfg(void *arg, void *state, int dir, struct umpa_impair_cfg *cfg);

/** Free @p t (after the proxy that used its hooks).  NULL is fine.  Returns NULL. */
struct umpa_toxics *umpa_toxics_free(struct umpa_toxics *t);

#endif
