/* umpa_proxy.h - a TCP relay on libevent bufferevents (`umpa proxy`).
 *
 * A proxy listens on one or more ADDR:PORT, and for each accepted client
 * opens a connection to one target HOST:PORT, to the connection's original
 * destination (transparent), or to what the client asks for (SOCKS5),
 * optionally from a source address, then relays bytes both ways on the caller's live loop
 * (umpa_loop_event_base).  Per connection and direction:
 * - backpressure: at most `hiwat` bytes wait in the receiving side's input
 *   (a read watermark) and reading stops while the other side's output
 *   holds `hiwat` bytes or more; it resumes when that output drained to
 *   half of it.  Nothing buffers without bound.
 * - half-close: an end of stream from one side is passed on as a shutdown
 *   (SHUT_WR) of the other once everything before it was written; the other
 *   direction goes on.  The connection ends when both directions ended, or
 *   at the first error of either socket.
 * - a client that vanishes (reset, error) or an upstream that refuses or
 *   does not answer within the connect timeout ends only that connection.
 * - hooks (struct umpa_proxy_hooks, optional) see every chunk of each
 *   direction and return what to forward: the same bytes, other bytes,
 *   nothing (drop), a delay before forwarding, or a reset of both sockets.
 *   A hook that fails closes only its connection and is counted
 *   (errors); the proxy reports it through the log callback.
 * The library never prints: notes and errors go to opts.log.
 */
#ifndef UMPA_PROXY_H
#define UMPA_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "umpa_error.h"
#include "umpa_sched.h"

/** Most listening addresses of one proxy. */
#define UMPA_PROXY_MAX_LISTEN 16

/** A direction of a proxied connection. */
enum umpa_proxy_dir {
	UMPA_PROXY_C2S = 0, /**< client to server (what the client sends) */
	UMPA_PROXY_S2C = 1, /**< server to client */
};

/** What a hook wants done with a chunk. */
enum umpa_proxy_action {
	UMPA_PROXY_FORWARD = 0, /**< forward out.data (out.len bytes; 0: nothing, a drop) */
	UMPA_PROXY_RESET = 1,   /**< reset both sockets (RST) and end the connection */
	/** forward out.data (the server's yes to STARTTLS, STLS, AUTH TLS), then upgrade both legs to TLS
	 * (mitm only): the upstream leg first (a TLS client on the same socket), then the client's (a leaf
	 * from the CA, or a static certificate); the bytes after it are TLS.  Without mitm: a plain forward. */
	UMPA_PROXY_STARTTLS = 2,
	UMPA_PROXY_CLOSE = 3, /**< forward out.data, then end the connection in order: reading stops both
				 ways, what is buffered is written, both sockets get a shutdown and close */
	/** hold the chunk (module inspect): out.data is forwarded after out.delay_ns (default 10 s) unless
	 * umpa_proxy_release with out.hold_token brings other bytes first; meanwhile the direction waits as
	 * behind a delay */
	UMPA_PROXY_HOLD = 4,
};

/** A hook's answer for one chunk. */
struct umpa_proxy_out {
	const void *data; /**< bytes to forward (owned by the hook, valid until its next call) */
	size_t len;       /**< their length */
	enum umpa_proxy_action action;
	int64_t delay_ns;   /**< wait this long before forwarding (0: at once); meanwhile reading goes on up to
			       the buffer bound, and the next call comes after the delay */
	size_t consumed;    /**< input bytes this answer used (0: all n); the rest comes back in the next call */
	int64_t arrived_ns; /**< in: when the oldest of these bytes was read (loop clock; 0: unknown) */

	uint64_t hold_token; /**< UMPA_PROXY_HOLD: what umpa_proxy_release must name */
};

/**
 * The answer every caller of umpa_proxy_hooks.data fills in before the call: forward @p len bytes at
 * @p data as they are (no delay, all consumed, no hold); @p arrived_ns when the oldest of them was read (loop
 * clock; 0: unknown).  A hook changes only what it decides.
 */
static inline struct umpa_proxy_out umpa_proxy_out_forward(const void *data, size_t len, int64_t arrived_ns)
{
	struct umpa_proxy_out o = {.data = data, .len = len, .action = UMPA_PROXY_FORWARD, .arrived_ns = arrived_ns};
	return o;
}

/** Most pieces one hook answer may have (umpa_proxy_hooks.parts). */
#define UMPA_PROXY_MAX_PARTS 64

/** Who a connection is between (addresses as text). */
struct umpa_proxy_conn_info {
	uint64_t id;       /**< channel number, from 1 in order of acceptance */
	unsigned listener; /**< index of the listening address that accepted it */
	char src[64];      /**< client address */
	uint16_t sport;    /**< client port */
	char dst[64];      /**< target address (numeric) */
	uint16_t dport;    /**< target port */
	char local[64];    /**< the proxy's listening address */
	uint16_t lport;    /**< the proxy's listening port */
	char host[256];    /**< the name the client asked for (a SOCKS5 domain name; "" when none) */
};

/** Hooks over the relayed bytes (all optional but data). */
struct umpa_proxy_hooks {
	void *arg;
	/** A new connection (before the upstream is connected): set *state.  Negative: refuse it (counted). */
	int (*open)(void *arg, const struct umpa_proxy_conn_info *ci, void **state, struct umpa_err *e);
	/** A chunk of direction @p dir: fill @p out.  Negative: the connection closes (counted in errors). */
	int (*data)(void *arg, void *state, enum umpa_proxy_dir dir, const uint8_t *in, size_t n,
		    struct umpa_proxy_out *out, struct umpa_err *e);
	/** Direction @p dir ended (its end of stream); @p state as open set it. */
	void (*eof)(void *arg, void *state, enum umpa_proxy_dir dir);
	/** mitm: the connection is TLS; @p sni is the ClientHello's server name ("" when none). */
	void (*tls)(void *arg, void *state, const char *sni);
	/** The connection is gone: free @p state. */
	void (*close)(void *arg, void *state);
	/** Optional: nanoseconds to wait before passing direction @p dir's end of stream on (0: at once). */
	int64_t (*eof_delay)(void *arg, void *state, enum umpa_proxy_dir dir);
	/** Optional: nonzero when direction @p dir needs no look now: what is buffered moves unhooked. */
	int (*pass)(void *arg, void *state, enum umpa_proxy_dir dir);
	/** Optional: @p n bytes of direction @p dir moved unhooked (pass) at once: counters only. */
	void (*tally)(void *arg, void *state, enum umpa_proxy_dir dir, size_t n);
	/** Optional, right after open: 1 with "HOST:PORT" ("[v6]:PORT"; a name is resolved on the loop) in
	 * @p hostport (@p n bytes) to send this connection there instead (module redirect), 0 to keep its
	 * destination. */
	int (*target)(void *arg, void *state, char *hostport, size_t n);
	/** Optional: direction @p dir ended and all its bytes went through data: what the hook still holds
	 * (a partial message of a framing helper) into @p out (out->len 0: nothing); it is written before the
	 * end of stream is passed on.  Negative: the connection closes (counted in errors). */
	int (*flush)(void *arg, void *state, enum umpa_proxy_dir dir, struct umpa_proxy_out *out, struct umpa_err *e);

	/** Optional: the pieces of the answer data just gave (a Lua module's table of strings): their
	 * number (0 or 1: one piece), *lens their lengths, summing to out.len, valid until the next data
	 * call.  A UDP relay sends each piece as a datagram of its own; the TCP proxy does not ask (the
	 * bytes go out in a row). */
	unsigned (*parts)(void *arg, void *state, const size_t **lens);
};

/** Log levels of opts.log. */
enum umpa_proxy_level {
	UMPA_PROXY_NOTE = 0, /**< a connection opened or closed (only with opts.verbose) */
	UMPA_PROXY_WARN = 1, /**< one connection failed: upstream refused, a hook failed */
};

struct umpa_proxy_ca;
struct umpa_tls_opts;

/** A certificate served for some names instead of a generated leaf (mitm.statics). */
struct umpa_proxy_static {
	const char *pattern;   /**< host name ("www.example.test"), "*.example.test" (any subdomain) or "*" */
	const char *cert_file; /**< PEM: the certificate, then its chain */
	const char *key_file;  /**< PEM key (NULL: in cert_file) */
};

/**
 * TLS man-in-the-middle (opts.mitm).  Each new connection's first bytes are
 * peeked (MSG_PEEK, nothing consumed): a TLS handshake record makes it a
 * TLS connection, anything else is relayed as is, and so is a client that
 * sends nothing within opts.peek_timeout_ns (a server that speaks first).
 * TLS and plaintext share a port.  A plaintext connection may still become
 * TLS by STARTTLS (a hook's UMPA_PROXY_STARTTLS: module sslupgrade).  For TLS the proxy first
 * connects to the target with the client's SNI, completes that handshake
 * (verifying the server when verify is set), then answers the client with a
 * leaf certificate from @c ca copying the real server's CN and SANs.  Hooks
 * see the plaintext.  An end of stream is passed on as close_notify and a
 * shutdown.  keylog receives every secret of both legs (SSLKEYLOGFILE lines).
 */
struct umpa_proxy_mitm {
	struct umpa_proxy_ca *ca;                    /**< the CA (umpa_proxy_ca.h) */
	int verify;                                  /**< verify the server's certificate and name */
	const char *verify_ca;                       /**< PEM file of trusted CAs for that (NULL: the system's) */
	void (*keylog)(void *arg, const char *line); /**< NULL: none */
	void *keylog_arg;
	/** The upstream leg's TLS options: the client side of the one option table (umpa_tls_ctx_apply):
	 * versions, ciphers, groups, sigalgs, ALPN, client_cert/client_key (a client certificate towards the
	 * upstream).  NULL: OpenSSL's defaults. */
	const struct umpa_tls_opts *up_opts;
	/** The client leg's: the server side of the table (versions, ciphers, groups ...).  NULL: defaults. */
	const struct umpa_tls_opts *cl_opts;
	const struct umpa_proxy_static *statics; /**< certificates per name (first match wins), loaded at start */
	unsigned nstatics;
	const char *const *passthrough; /**< SNI patterns (as statics') relayed as they are: no interception */
	unsigned npassthrough;
	/** Optional: told each intercepted ClientHello's server name before the upstream connects, so a leaf
	 * kept elsewhere can be put in the CA's cache (umpa_proxy_ca_add_leaf) before it is needed (the redis
	 * control API: umpa_proxy_redis_sni).  A return of 1 makes connection @p id wait until
	 * umpa_proxy_proceed names it; 0: on at once. */
	int (*sni_seen)(void *arg, const char *sni, uint64_t id);
	void *sni_arg;
};

/**
 * Does host name @p host match @p pattern: equal ignoring case, "*.SUFFIX"
 * for any name ending in ".SUFFIX", "*" for any name (also none)?
 */
int umpa_proxy_host_match(const char *pattern, const char *host);

struct sockaddr;

/**
 * Sees what crosses the sockets of both legs of every connection, as it is
 * on the wire (TLS records, not plaintext): for captures (-w).  Leg 0 is
 * client <-> proxy, leg 1 proxy <-> target.  A leg's sender 0 is the side
 * that connected (the client on leg 0, the proxy on leg 1), 1 the other.
 * All optional but leg.
 */
struct umpa_proxy_tap {
	void *arg;
	/** Leg @p leg's TCP connection is up between @p cli (connected) and @p srv; *@p state is the connection's. */
	void (*leg)(void *arg, const struct umpa_proxy_conn_info *ci, void **state, int leg, const struct sockaddr *cli,
		    const struct sockaddr *srv);
	/** @p n bytes @p sender sent on @p leg. */
	void (*bytes)(void *arg, void *state, int leg, int sender, const void *d, size_t n);
	/** @p sender shut its side of @p leg down (FIN). */
	void (*fin)(void *arg, void *state, int leg, int sender);
	/** The connection is gone (@p orderly: both legs ended with FINs); free @p state. */
	void (*close)(void *arg, void *state, int orderly);
};

/** Where a proxy's connections go (opts.dest). */
enum umpa_proxy_dest {
	UMPA_PROXY_DEST_TARGET = 0, /**< to opts.target */
	/** transparent: to each connection's original destination, from conntrack (SO_ORIGINAL_DST,
	 * IP6T_SO_ORIGINAL_DST: iptables/nft REDIRECT), or with opts.tproxy the accepted socket's own address
	 * (TPROXY).  A connection made to the proxy itself is refused (counted in rejected). */
	UMPA_PROXY_DEST_ORIGINAL = 1,
	/** SOCKS5 (RFC 1928): each client names its destination (IPv4, IPv6, a name resolved on the loop) in
	 * a CONNECT request; the reply carries the connect's outcome (refused, unreachable ...).  A malformed
	 * request gets its error reply and ends only its connection (counted in rejected). */
	UMPA_PROXY_DEST_SOCKS5 = 2,
};

/** How a proxy runs.  Fill with umpa_proxy_opts_init(). */
struct umpa_proxy_opts {
	const char *listen[UMPA_PROXY_MAX_LISTEN]; /**< "ADDR:PORT" ("[v6]:PORT"; port 0: any free port) */
	unsigned nlisten;
	const char *target;         /**< "HOST:PORT" (resolved once, at umpa_proxy_new) */
	const char *source;         /**< address to connect from (NULL: the kernel's choice) */
	size_t hiwat;               /**< per-direction buffer bound in bytes (default 262144) */
	int64_t connect_timeout_ns; /**< upstream connect timeout (default 10 s) */
	unsigned max_conns;         /**< most connections at once; more are refused at accept (default 10000) */
	int64_t peek_timeout_ns;    /**< mitm: a client silent this long is plaintext with a server that speaks first
				       (SMTP, IMAP, POP3, FTP; default 0.3 s); its first bytes decide otherwise */
	int verbose;                /**< log every connection's open and close */
	const struct umpa_proxy_mitm *mitm; /**< TLS man-in-the-middle (NULL: plain relay) */
	const struct umpa_proxy_tap *tap;   /**< wire tap of both legs (NULL: none) */
	enum umpa_proxy_dest dest;          /**< where connections go (default: target) */
	int tproxy;                         /**< dest ORIGINAL: listeners are IP_TRANSPARENT (TPROXY rules) */
	/** each upstream socket is IP_TRANSPARENT and bound to its client's address (port: the kernel's), so
	 * the server sees the client (mitmproxy's spoof_source_address).  Needs CAP_NET_ADMIN and the server's
	 * answers routed to this host (TPROXY's policy routing: a socket match marks them, an ip rule delivers
	 * them locally).  Not with source. */
	int spoof_source;
	const char *socks_user;   /**< dest SOCKS5: demand RFC 1929 username/password (NULL: none) */
	const char *socks_pass;   /**< its password */
	int64_t socks_timeout_ns; /**< dest SOCKS5: a client this slow to negotiate fails (10 s) */
	/** Optional: asked for each new connection once its destination is known, before the hooks' open:
	 * a return of 1 makes it wait (its client's bytes stay in the socket) until umpa_proxy_proceed names
	 * @p id (the redis control API fetching the rules in force, umpa_proxy_redis_gate); 0: on at once. */
	int (*gate)(void *arg, uint64_t id);
	void *gate_arg;
	/** Receives notes and per-connection failures (NULL: dropped). */
	void (*log)(void *arg, enum umpa_proxy_level lvl, uint64_t id, const char *msg);
	void *log_arg;
};

/** Counters (umpa_proxy_stats). */
struct umpa_proxy_stats {
	uint64_t accepted;     /**< connections accepted */
	uint64_t active;       /**< open now */
	uint64_t completed;    /**< ended with both directions closed in order */
	uint64_t refused;      /**< upstream connect failed or timed out */
	uint64_t aborted;      /**< ended by a socket error (a client or server that vanished) */
	uint64_t resets;       /**< ended by a hook's reset */
	uint64_t errors;       /**< ended because a hook failed (or refused it at open) */
	uint64_t over_limit;   /**< refused at accept: max_conns reached */
	uint64_t tls;          /**< connections intercepted as TLS (mitm) */
	uint64_t tls_failed;   /**< of those, ended by a failed handshake (either leg) */
	uint64_t passthrough;  /**< TLS connections relayed without interception (mitm.passthrough) */
	uint64_t starttls;     /**< plaintext connections upgraded to TLS (UMPA_PROXY_STARTTLS) */
	uint64_t rejected;     /**< ended before relaying: a bad SOCKS5 negotiation, no original destination */
	uint64_t bytes_in[2];  /**< [dir] bytes read from the sender */
	uint64_t bytes_out[2]; /**< [dir] bytes handed to the receiver */
};

struct umpa_proxy;

/** Defaults into @p o. */
void umpa_proxy_opts_init(struct umpa_proxy_opts *o);

/**
 * Start a proxy on live loop @p loop: bind every listener, resolve the
 * target.  @p hooks may be NULL (a plain relay); it is copied.  Returns NULL
 * with @p e set ("listen 127.0.0.1:99999: bad port", "target: ...: Name or
 * service not known", "listen 127.0.0.1:80: Address already in use").
 */
struct umpa_proxy *umpa_proxy_new(struct umpa_loop *loop, const struct umpa_proxy_opts *o,
				  const struct umpa_proxy_hooks *hooks, struct umpa_err *e);

/** The address listener @p i is bound to as "ADDR:PORT" ("[v6]:PORT"), in @p buf (@p n bytes). */
const char *umpa_proxy_bound(const struct umpa_proxy *p, unsigned i, char *buf, size_t n);

/**
 * End connection @p id (as umpa_proxy_conn_info.id) from outside the data
 * path, e.g. a hook's timer: with @p reset both sockets get an RST at once
 * (counted in resets), otherwise the connection ends in order as after
 * UMPA_PROXY_CLOSE.  Returns 0, or -UMPA_ENOENT when no such connection is
 * open.
 */
int umpa_proxy_kill(struct umpa_proxy *p, uint64_t id, int reset);

/**
 * Let connection @p id, held by opts.gate or mitm.sni_seen, go on: the
 * hooks' open and the upstream connect, or the upstream's TLS.  Returns 0, or -UMPA_ENOENT when no such connection
 * waits (it ended meanwhile).
 */
int umpa_proxy_proceed(struct umpa_proxy *p, uint64_t id);

/**
 * End the hold (UMPA_PROXY_HOLD, token @p token) of direction @p dir of
 * connection @p id: forward @p data (@p n bytes, copied; 0: nothing) instead
 * of the held chunk, now.  Returns 0, or -UMPA_ENOENT when that connection
 * holds no such chunk (it timed out and went on, or the connection ended).
 */
int umpa_proxy_release(struct umpa_proxy *p, uint64_t id, enum umpa_proxy_dir dir, uint64_t token, const void *data,
		       size_t n);

/**
 * The server name (SNI) of a TLS ClientHello at the start of @p b (@p n
 * bytes, a record header first) into @p out (@p outn bytes); "" when there
 * is none or the bytes are not a ClientHello.
 */
void umpa_proxy_clienthello_sni(const uint8_t *b, size_t n, char *out, size_t outn);

/**
 * Open connections that are closing: one direction has ended (its sender's
 * end of stream was read), the other not yet.  A stop lets them finish for
 * a moment (umpa_proxy_stop_accepting, then the loop until none is left or
 * a grace time passed), so one whose client just went is counted as done,
 * not as open at stop.
 */
size_t umpa_proxy_closing(const struct umpa_proxy *p);

/** Stop accepting new connections (the listeners stay bound); the open ones go on. */
void umpa_proxy_stop_accepting(struct umpa_proxy *p);

/** The counters so far. */
void umpa_proxy_stats(const struct umpa_proxy *p, struct umpa_proxy_stats *st);

/** One open connection as umpa_proxy_conns shows it (valid during the callback). */
struct umpa_proxy_conn_stats {
	const struct umpa_proxy_conn_info *ci; /**< who and where */
	uint64_t bytes_in[2];                  /**< [dir] bytes read from the sender */
	uint64_t bytes_out[2];                 /**< [dir] bytes handed to the receiver */
	int64_t started_ns;                    /**< wall clock at accept */
	int connected;                         /**< the upstream is connected */
	int tls;                               /**< intercepted as TLS (mitm) */
	const char *sni;                       /**< its SNI ("" when none) */
};

/** Called by umpa_proxy_conns for each open connection. */
typedef void (*umpa_proxy_conn_cb)(void *arg, const struct umpa_proxy_conn_stats *s);

/** Call @p cb for each open connection, newest first (@p cb may be NULL).  Returns their number. */
size_t umpa_proxy_conns(const struct umpa_proxy *p, umpa_proxy_conn_cb cb, void *arg);

/**
 * Stop accepting and close every connection (in order, without waiting for
 * buffered bytes).  Frees @p p (NULL is fine).  Returns NULL.
 */
struct umpa_proxy *umpa_proxy_free(struct umpa_proxy *p);

/**
 * Parse "ADDR:PORT", "[ADDR]:PORT" or "HOST:PORT" into @p host (@p n bytes)
 * and @p port.  Returns 0 or -UMPA_EINVAL with @p e set ("WHAT: ...").
 */
int umpa_proxy_split_hostport(const char *s, const char *what, char *host, size_t n, uint16_t *port,
			      struct umpa_err *e);

/**
 * Resolve "ADDR:PORT" / "HOST:PORT" (@p passive: a numeric address to bind)
 * into @p ss and @p len, as the proxy does its listeners and target.
 * Returns 0 or -UMPA_EINVAL with @p e set ("WHAT: 'host': Name or service
 * not known").
 */
int umpa_proxy_resolve(const char *s, const char *what, int passive, struct sockaddr_storage *ss, socklen_t *len,
		       struct umpa_err *e);

#endif
