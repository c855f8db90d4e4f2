/* proxy_internal.h - what sched/proxy.c shares with proxy_dest.c and proxy_socks.c; not installed.
 * Internal names end with an underscore. */
#ifndef UMPA_PROXY_INTERNAL_H
#define UMPA_PROXY_INTERNAL_H

#include <event2/event.h>
#include <stdint.h>
#include <sys/socket.h>

#include "umpa_error.h"
#include "umpa_socks.h"

struct evdns_base;

/**
 * The original destination of accepted socket @p fd (transparent mode) into
 * @p ss / @p len.  iptables/nft REDIRECT: SO_ORIGINAL_DST (IPv4) or
 * IP6T_SO_ORIGINAL_DST (IPv6) from conntrack; @p tproxy (TPROXY: the
 * listener is IP_TRANSPARENT): the socket's own local address.  A
 * connection made to the proxy itself (not redirected: the original
 * destination is the proxy's own address and port) is refused, since
 * relaying it would connect the proxy to itself.  Returns 0, or a negative
 * code with @p e set ("transparent: not redirected: ...").
 */
int proxy_original_dst_(int fd, int tproxy, struct sockaddr_storage *ss, socklen_t *len, struct umpa_err *e);

/**
 * A socket for a TPROXY listener: IP_TRANSPARENT / IPV6_TRANSPARENT (needs CAP_NET_ADMIN) set before it is
 * bound to @p sa, so the kernel hands it connections to any address.  Not listening yet.  Returns it, or -1
 * with @p e set ("listen WHAT: Operation not permitted (--tproxy needs CAP_NET_ADMIN)").
 */
int proxy_transparent_socket_(const struct sockaddr *sa, socklen_t len, const char *what, struct umpa_err *e);

/**
 * Bind upstream socket @p fd (of @p family, not connected yet) to the client's address @p client (port 0:
 * the kernel picks one; an IPv4-mapped IPv6 address serves an AF_INET socket), IP_TRANSPARENT /
 * IPV6_TRANSPARENT first so the address need not be local (opts.spoof_source; CAP_NET_ADMIN, and the
 * server's answers routed back to this host: TPROXY's policy routing).  Returns 0, or a negative code with
 * @p e set ("--spoof-source: Operation not permitted (needs CAP_NET_ADMIN)", "... of the other family").
 */
int proxy_spoof_bind_(int fd, int family, const struct sockaddr *client, socklen_t len, struct umpa_err *e);

/** A name being resolved on the loop (proxy_resolve_). */
struct proxy_resolve_;

/**
 * Called once with the first address of @p host (@p sa, port set), or with
 * @p sa NULL and @p why ("Name or service not known").
 */
typedef void (*proxy_resolve_cb_)(void *arg, const struct sockaddr *sa, socklen_t len, const char *why);

/**
 * Resolve @p host (a name or a numeric address) for TCP port @p port on
 * @p base without blocking the loop: the hosts file, then the name servers
 * of /etc/resolv.conf (libevent's evdns; *@p dns is made on first use and
 * freed by the caller with evdns_base_free).  @p family: AF_INET, AF_INET6
 * or AF_UNSPEC.  Names under ".invalid" fail at once (RFC 6761).  @p cb runs
 * later, from the loop, never inside this call.  Returns the request (cancel
 * it with proxy_resolve_cancel_ before its callback), or NULL with @p e set.
 */
struct proxy_resolve_ *proxy_resolve_(struct event_base *base, struct evdns_base **dns, const char *host, uint16_t port,
				      int family, proxy_resolve_cb_ cb, void *arg, struct umpa_err *e);

/** Drop request @p r: its callback will not run.  NULL is fine. */
void proxy_resolve_cancel_(struct proxy_resolve_ *r);

/** A SOCKS5 negotiation with one client (proxy_socks_new_). */
struct proxy_socks_;

/** What a SOCKS5 negotiation tells its connection. */
struct proxy_socks_ops_ {
	/** A CONNECT request was read (and nothing after it): connect, then proxy_socks_reply_. */
	void (*request)(void *arg, const struct umpa_socks5_req *r);
	/** The negotiation failed (@p why; a reply was sent when one was due): end the connection. */
	void (*fail)(void *arg, const char *why);
	/** Bytes of the negotiation as they crossed the client's socket (@p sender 0: the client). */
	void (*wire)(void *arg, int sender, const void *d, size_t n);
};

/**
 * Negotiate SOCKS5 on client socket @p fd (not owned; non-blocking): the
 * greeting, the method (username/password when @p user is set, else none),
 * the request; a client silent for @p timeout_ns fails.  Reads exactly the
 * negotiation's bytes (what the client sends after its request stays in the
 * socket for the relay).  Returns NULL when out of memory.
 */
struct proxy_socks_ *proxy_socks_new_(struct event_base *base, int fd, const char *user, const char *pass,
				      int64_t timeout_ns, const struct proxy_socks_ops_ *ops, void *arg);

/**
 * Send the reply with code @p rep (UMPA_SOCKS5_OK with @p bnd the upstream
 * socket's local address).  After a failure code the client's side is shut
 * down gently (its unread bytes drained so the close sends no reset).
 * Returns 0, or -1 when the reply could not be written.
 */
int proxy_socks_reply_(struct proxy_socks_ *s, uint8_t rep, const struct sockaddr *bnd);

/** End the negotiation (the socket stays open).  NULL is fine. */
void proxy_socks_free_(struct proxy_socks_ *s);

#endif
