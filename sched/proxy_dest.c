/* proxy_dest.c - where a proxied connection goes when no fixed target says it: the original destination of a
 * redirected connection (transparent mode) and names resolved on the loop (SOCKS5 names, module redirect). */
#include "proxy_internal.h"

#include <errno.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h, which does not build on its own in C11 */
#endif

/* Same address and port? */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return 0;
}

int proxy_original_dst_(int fd, int tproxy, struct sockaddr_storage *ss, socklen_t *len, struct umpa_err *e)
{
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &ll) < 0)
		return umpa_err_set(e, UMPA_EIO, "transparent: getsockname: %s", strerror(errno));
	if (tproxy) { /* TPROXY: the socket was accepted on the address the client wanted */
		memcpy(ss, &local, sizeof(local));
		*len = ll;
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	*len = sizeof(*ss);
	if (local.ss_family == AF_INET6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, len)
					: getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ss, len)) {
		return umpa_err_set(e, UMPA_ENOENT,
				    "transparent: no original destination (%s; the connection was not redirected by "
				    "iptables/nft REDIRECT, or conntrack is off)",
				    strerror(errno));
	}
	if (same_addr(ss, &local))
		return umpa_err_set(e, UMPA_EINVAL,
				    "transparent: not redirected: the client connected to the proxy itself (relaying "
				    "it would loop)");
	return 0;
}

int proxy_transparent_socket_(const struct sockaddr *sa, socklen_t len, const char *what, struct umpa_err *e)
{
	int one = 1, v6 = sa->sa_family == AF_INET6, err;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) == 0 &&
	    bind(fd, sa, len) == 0)
		return fd;
	err = errno;
	if (fd >= 0)
		close(fd);
	umpa_err_set(e, UMPA_EIO, "listen %s: %s%s", what, strerror(err),
		     err == EPERM ? " (--tproxy needs CAP_NET_ADMIN)" : "");
	return -1;
}

int proxy_spoof_bind_(int fd, int family, const struct sockaddr *client, socklen_t len, struct umpa_err *e)
{
	int one = 1, v6 = client->sa_family == AF_INET6, err;
	struct sockaddr_storage ss;
	if (len > sizeof(ss))
		return umpa_err_set(e, UMPA_EINVAL, "--spoof-source: bad client address");
	memcpy(&ss, client, len);
	if (v6 && family == AF_INET && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
		/* a dual-stack listener's IPv4 client (::ffff:a.b.c.d) to an IPv4 destination */
		struct sockaddr_in s4;
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		memcpy(&s4.sin_addr, ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr + 12, 4);
		memcpy(&ss, &s4, sizeof(s4));
		len = sizeof(s4);
		v6 = 0;
	}
	if (ss.ss_family != family)
		return umpa_err_set(e, UMPA_EINVAL, "--spoof-source: the client's address is of the other family");
	if (v6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)&ss)->sin_port = 0;
	if (setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) == 0 &&
	    bind(fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	err = errno;
	return umpa_err_set(e, UMPA_EIO, "--spoof-source: %s%s", strerror(err),
			    err == EPERM ? " (needs CAP_NET_ADMIN)" : "");
}

/* ---- names resolved on the loop ---- */

struct proxy_resolve_ {
	struct evdns_getaddrinfo_request *req;
	struct event *later; /* delivers an answer found at once (hosts file, a number, .invalid) from the loop */
	proxy_resolve_cb_ cb;
	void *arg;
	int done;
	struct sockaddr_storage ss;
	socklen_t len;
	char why[160];
};

static void deliver(struct proxy_resolve_ *r)
{
	proxy_resolve_cb_ cb = r->cb;
	void *arg = r->arg;
	struct sockaddr_storage ss = r->ss;
	socklen_t len = r->len;
	char why[160];
	snprintf(why, sizeof(why), "%s", r->why);
	proxy_resolve_cancel_(r);
	cb(arg, len ? (struct sockaddr *)&ss : NULL, len, why);
}

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver(arg);
}

static void dns_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct proxy_resolve_ *r = arg;
	if (err == EVUTIL_EAI_CANCEL) {
		if (res)
			evutil_freeaddrinfo(res);
		return; /* proxy_resolve_cancel_ freed r */
	}
	r->req = NULL;
	r->done = 1;
	if (err || !res) {
		snprintf(r->why, sizeof(r->why), "%s", err ? evutil_gai_strerror(err) : "no address");
	} else {
		memcpy(&r->ss, res->ai_addr, res->ai_addrlen);
		r->len = (socklen_t)res->ai_addrlen;
	}
	if (res)
		evutil_freeaddrinfo(res);
	if (!r->later) /* answered from the loop: deliver now (else proxy_resolve_ schedules it) */
		deliver(r);
}

struct proxy_resolve_ *proxy_resolve_(struct event_base *base, struct evdns_base **dns, const char *host, uint16_t port,
				      int family, proxy_resolve_cb_ cb, void *arg, struct umpa_err *e)
{
	struct proxy_resolve_ *r = calloc(1, sizeof(*r));
	struct evutil_addrinfo hints;
	char ps[8];
	size_t hl = strlen(host);
	static const struct timeval now = {0, 0};
	if (!r) {
		umpa_err_set(e, UMPA_ENOMEM, "resolve: out of memory");
		return NULL;
	}
	r->cb = cb;
	r->arg = arg;
	if (!(r->later = evtimer_new(base, later_cb, r))) {
		free(r);
		umpa_err_set(e, UMPA_ENOMEM, "resolve: out of memory");
		return NULL;
	}
	if ((hl >= 8 && !strcasecmp(host + hl - 8, ".invalid")) || !strcasecmp(host, "invalid")) {
		snprintf(r->why, sizeof(r->why), "a name under .invalid never resolves (RFC 6761)");
		r->done = 1;
	} else {
		if (!*dns &&
		    !(*dns =
			  evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE)) &&
		    !(*dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE))) {
			proxy_resolve_cancel_(r);
			umpa_err_set(e, UMPA_ENOMEM, "resolve: no DNS resolver");
			return NULL;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = family;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_protocol = IPPROTO_TCP;
		hints.ai_flags = EVUTIL_AI_NUMERICSERV;
		snprintf(ps, sizeof(ps), "%u", port);
		/* r->later is set: an answer found inside this call waits for the loop */
		r->req = evdns_getaddrinfo(*dns, host, ps, &hints, dns_cb, r);
	}
	if (r->done)
		evtimer_add(r->later, &now);
	else
		r->later = (event_free(r->later), NULL);
	return r;
}

void proxy_resolve_cancel_(struct proxy_resolve_ *r)
{
	if (!r)
		return;
	if (r->later)
		event_free(r->later);
	if (r->req)
		evdns_getaddrinfo_cancel(r->req); /* dns_cb runs with EVUTIL_EAI_CANCEL and touches nothing */
	free(r);
}
