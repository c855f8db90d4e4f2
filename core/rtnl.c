/* rtnl.c - routes, neighbours, links and addresses from the kernel over rtnetlink (rtnetlink(7)).
 *
 * One request per socket: a dump (NLM_F_DUMP) or one question (RTM_GETROUTE
 * for a destination).  rtnl_talk_ sends it and walks the replies; every
 * header, every message body and every attribute is read through the
 * cursor's host-order getters (netlink is in the machine's byte order), so a
 * message whose length lies ends the walk instead of reading past it.  The
 * per-type parsers turn a message body into the plain structs of
 * umpa_rtnl.h.  The kernel sizes each dump datagram to what the reader
 * takes (up to 32 KiB); the buffer is 64 KiB, and a datagram that still does
 * not fit (MSG_TRUNC) is an error, not a silent cut.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#endif

#include "umpa_cursor.h"
#include "umpa_rtnl.h"

#ifdef __linux__

/* Most datagrams one request may read: far beyond any real table, a bound all the same. */
#define RTNL_MAX_READS_ 65536
#define RTNL_BUF_ 65536

/* A message body (after the nlmsghdr) of type @p type: 0 to go on, 1 to stop, < 0 an error. */
typedef int (*rtnl_msg_fn_)(void *arg, uint16_t type, struct umpa_cur *body, struct umpa_err *e);

static const char *rtnl_addr_text_(int family, const uint8_t *a, char *buf, size_t n)
{
	if (!inet_ntop(family, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

/*
 * Send @p req (@p len bytes, its nlmsg_seq already @p seq) and hand each
 * reply message with our sequence number to @p fn until NLMSG_DONE (a dump),
 * the first message when @p one (a question), or @p fn stops.  An
 * NLMSG_ERROR with a non-zero code returns -UMPA_EIO with the kernel's text
 * and its errno in *@p kerr (when not NULL).
 */
static int rtnl_talk_(const void *req, size_t len, uint32_t seq, int one, rtnl_msg_fn_ fn, void *arg, int *kerr,
		      struct umpa_err *e)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = 2};
	uint8_t *buf;
	int fd, rc = 0, done = 0;

	if (kerr)
		*kerr = 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return umpa_err_set(e, UMPA_EIO, "rtnetlink: socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	buf = malloc(RTNL_BUF_);
	if (!buf) {
		close(fd);
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	}
	if (sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = umpa_err_set(e, UMPA_EIO, "rtnetlink: request: %s", strerror(errno));
		goto out;
	}
	for (int reads = 0; !done && reads < RTNL_MAX_READS_; reads++) {
		struct umpa_cur c;
		size_t off = 0;
		ssize_t n = recv(fd, buf, RTNL_BUF_, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = umpa_err_set(e, UMPA_EIO, "rtnetlink: reply: %s",
					  n < 0 ? (errno == EAGAIN ? "no answer within 2 s" : strerror(errno))
						: "socket closed");
			goto out;
		}
		if ((size_t)n > RTNL_BUF_) {
			rc = umpa_err_set(e, UMPA_EIO, "rtnetlink: a reply of %zd bytes does not fit in %d", n,
					  RTNL_BUF_);
			goto out;
		}
		umpa_cur_init(&c, buf, (size_t)n);
		while (!done && umpa_cur_has(&c, off, NLMSG_HDRLEN)) {
			uint32_t mlen, mseq;
			uint16_t type;
			struct umpa_cur m;
			if (umpa_cur_h32_at(&c, off + offsetof(struct nlmsghdr, nlmsg_len), &mlen) < 0 ||
			    umpa_cur_h16_at(&c, off + offsetof(struct nlmsghdr, nlmsg_type), &type) < 0 ||
			    umpa_cur_h32_at(&c, off + offsetof(struct nlmsghdr, nlmsg_seq), &mseq) < 0 ||
			    mlen < NLMSG_HDRLEN || umpa_cur_sub(&c, off + NLMSG_HDRLEN, mlen - NLMSG_HDRLEN, &m) < 0)
				break; /* a length that lies: the rest of this datagram is not read */
			off += NLMSG_ALIGN(mlen);
			if (mseq != seq)
				continue;
			if (type == NLMSG_DONE) {
				done = 1;
			} else if (type == NLMSG_ERROR) {
				int32_t err = 0;
				if (umpa_cur_hs32_at(&m, 0, &err) < 0) {
					rc = umpa_err_set(e, UMPA_EIO, "rtnetlink: short error message");
					goto out;
				}
				if (err == 0) { /* an acknowledgement */
					done = 1;
					continue;
				}
				if (kerr)
					*kerr = -err;
				rc = umpa_err_set(e, UMPA_EIO, "rtnetlink: %s", strerror(-err));
				goto out;
			} else if (type >= RTM_BASE) {
				int r = fn(arg, type, &m, e);
				if (r < 0) {
					rc = r;
					goto out;
				}
				if (r > 0 || one)
					done = 1;
			}
		}
	}
	if (!done)
		rc = umpa_err_set(e, UMPA_EIO, "rtnetlink: the reply never ended");
out:
	free(buf);
	close(fd);
	return rc;
}

/* A sequence number for one request. */
static uint32_t rtnl_seq_(void)
{
	static const uint32_t mix = 2654435761u;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() * mix);
}

/*
 * The attributes of a message body from @p off on: tb[type] is a sub-cursor
 * over each one's payload (tb[type].p == NULL when absent); types at or above
 * @p max are skipped.  Stops at the first attribute whose length lies.
 */
static void rtnl_attrs_(const struct umpa_cur *m, size_t off, struct umpa_cur *tb, unsigned max)
{
	struct umpa_cur w = *m;

	for (unsigned i = 0; i < max; i++)
		umpa_cur_init(&tb[i], NULL, 0);
	while (umpa_cur_has(&w, off, sizeof(struct rtattr))) {
		uint16_t alen, type;
		if (umpa_cur_h16_at(&w, off, &alen) < 0 || umpa_cur_h16_at(&w, off + 2, &type) < 0 ||
		    alen < sizeof(struct rtattr) || !umpa_cur_has(&w, off, alen))
			break;
		type &= NLA_TYPE_MASK;
		if (type < max)
			umpa_cur_sub(&w, off + sizeof(struct rtattr), alen - sizeof(struct rtattr), &tb[type]);
		off += RTA_ALIGN(alen);
	}
}

/* Copy attribute @p a when it holds exactly @p n bytes.  Returns 1 when copied. */
static int rtnl_copy_(struct umpa_cur *a, void *dst, size_t n)
{
	const uint8_t *b;

	if (!a->p || a->len != n || umpa_cur_ptr_at(a, 0, n, &b) < 0)
		return 0;
	memcpy(dst, b, n);
	return 1;
}

/* Copy a variable-length attribute of at most @p cap bytes; its length, 0 when absent or too long. */
static size_t rtnl_copy_var_(struct umpa_cur *a, uint8_t *dst, size_t cap)
{
	const uint8_t *b;

	if (!a->p || a->len > cap || umpa_cur_ptr_at(a, 0, a->len, &b) < 0)
		return 0;
	memcpy(dst, b, a->len);
	return a->len;
}

/* A NUL-terminated string attribute into @p dst (@p cap bytes, always terminated). */
static void rtnl_copy_str_(struct umpa_cur *a, char *dst, size_t cap)
{
	size_t i = 0;

	for (; a->p && i + 1 < cap && i < a->len; i++) {
		uint8_t ch;
		if (umpa_cur_u8_at(a, i, &ch) < 0 || ch == 0)
			break;
		dst[i] = (char)ch;
	}
	dst[i] = 0;
}

static uint32_t rtnl_u32_(struct umpa_cur *a, uint32_t dflt)
{
	uint32_t v;

	return a->p && a->len >= 4 && umpa_cur_h32_at(a, 0, &v) == 0 ? v : dflt;
}

static size_t rtnl_alen_(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* A dump's user callback, by the type of what it gets. */
struct rtnl_walk_ {
	union {
		umpa_rtnl_route_cb route;
		umpa_rtnl_neigh_cb neigh;
		umpa_rtnl_link_cb link;
		umpa_rtnl_addr_cb addr;
	} cb;
	void *arg;
};

/*
 * Dump table @p type (RTM_GETROUTE ...) for @p family: the request is the
 * nlmsghdr and a zeroed family header of @p hdrlen bytes whose first byte is
 * the family (rtmsg, ndmsg, ifinfomsg and ifaddrmsg all start so).
 */
static int rtnl_dump_(uint16_t type, int family, size_t hdrlen, rtnl_msg_fn_ fn, struct rtnl_walk_ *w,
		      struct umpa_err *e)
{
	struct {
		struct nlmsghdr nh;
		uint8_t body[NLMSG_ALIGN(sizeof(struct ifinfomsg))]; /* the largest of the four */
	} req;

	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = NLMSG_LENGTH(hdrlen);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = rtnl_seq_();
	req.body[0] = (uint8_t)family;
	return rtnl_talk_(&req, req.nh.nlmsg_len, req.nh.nlmsg_seq, 0, fn, w, NULL, e);
}

/* ---- routes ---- */

/* One RTM_NEWROUTE body into @p r.  Returns 0, or -1 when it is not a route of an IP family. */
static int rtnl_route_parse_(struct umpa_cur *m, struct umpa_route *r)
{
	struct umpa_cur tb[RTA_MAX + 1];
	uint8_t fam, dlen, table, proto, scope, type;
	size_t alen;

	memset(r, 0, sizeof *r);
	if (umpa_cur_u8_at(m, offsetof(struct rtmsg, rtm_family), &fam) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct rtmsg, rtm_dst_len), &dlen) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct rtmsg, rtm_table), &table) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct rtmsg, rtm_protocol), &proto) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct rtmsg, rtm_scope), &scope) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct rtmsg, rtm_type), &type) < 0)
		return -1;
	alen = rtnl_alen_(fam);
	if (!alen)
		return -1;
	r->family = fam;
	r->dst_len = dlen;
	r->protocol = proto;
	r->scope = scope;
	r->type = type;
	rtnl_attrs_(m, NLMSG_ALIGN(sizeof(struct rtmsg)), tb, RTA_MAX + 1);
	r->table = rtnl_u32_(&tb[RTA_TABLE], table);
	r->priority = rtnl_u32_(&tb[RTA_PRIORITY], 0);
	r->oif = rtnl_u32_(&tb[RTA_OIF], 0);
	rtnl_copy_(&tb[RTA_DST], r->dst, alen);
	r->has_gateway = rtnl_copy_(&tb[RTA_GATEWAY], r->gateway, alen);
	r->has_prefsrc = rtnl_copy_(&tb[RTA_PREFSRC], r->prefsrc, alen);
	if (!r->oif || !if_indextoname(r->oif, r->ifname))
		r->ifname[0] = 0;
	return 0;
}

static int rtnl_route_msg_(void *arg, uint16_t type, struct umpa_cur *body, struct umpa_err *e)
{
	struct rtnl_walk_ *w = arg;
	struct umpa_route r;

	(void)e;
	if (type != RTM_NEWROUTE || rtnl_route_parse_(body, &r) < 0)
		return 0;
	return w->cb.route(w->arg, &r);
}

int umpa_rtnl_routes(int family, umpa_rtnl_route_cb cb, void *arg, struct umpa_err *e)
{
	struct rtnl_walk_ w = {.cb.route = cb, .arg = arg};

	return rtnl_dump_(RTM_GETROUTE, family, sizeof(struct rtmsg), rtnl_route_msg_, &w, e);
}

struct rtnl_route_ask_ {
	struct umpa_route *out;
	int got;
};

static int rtnl_route_one_(void *arg, uint16_t type, struct umpa_cur *body, struct umpa_err *e)
{
	struct rtnl_route_ask_ *q = arg;
	struct umpa_route r;

	(void)e;
	if (type != RTM_NEWROUTE || rtnl_route_parse_(body, &r) < 0 || r.family != q->out->family)
		return 0;
	memcpy(r.dst, q->out->dst, sizeof r.dst); /* the address asked for, not the kernel's echo of it */
	r.dst_len = q->out->dst_len;
	*q->out = r;
	q->got = 1;
	return 1;
}

/* The kernel's reason, in words, for a destination it cannot route. */
static const char *rtnl_noroute_(int err, unsigned type)
{
	if (err == ENETUNREACH)
		return "network unreachable";
	if (err == EHOSTUNREACH || type == RTN_UNREACHABLE)
		return "host unreachable";
	if (err == EACCES || err == EPERM || type == RTN_PROHIBIT)
		return "prohibited";
	if (type == RTN_BLACKHOLE)
		return "blackhole route";
	if (err == EINVAL) /* what the kernel answers for a blackhole route */
		return "blackhole route or invalid destination";
	return "no route";
}

int umpa_route_get(int family, const uint8_t *dst, struct umpa_route *out, struct umpa_err *e)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	size_t alen = rtnl_alen_(family);
	struct rtattr *rta;
	char txt[INET6_ADDRSTRLEN];
	struct rtnl_route_ask_ q = {out, 0};
	int rc, kerr = 0;

	if (!alen)
		return umpa_err_set(e, UMPA_EINVAL, "route lookup: family must be AF_INET or AF_INET6");
	memset(out, 0, sizeof *out);
	out->family = family;
	memcpy(out->dst, dst, alen);
	out->dst_len = (unsigned)alen * 8;
	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = rtnl_seq_();
	req.rt.rtm_family = (unsigned char)family;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), dst, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	rc = rtnl_talk_(&req, req.nh.nlmsg_len, req.nh.nlmsg_seq, 1, rtnl_route_one_, &q, &kerr, e);
	rtnl_addr_text_(family, dst, txt, sizeof txt);
	if (rc < 0 && kerr && kerr != ENOMEM && kerr != ENOBUFS)
		return umpa_err_set(e, UMPA_ENOENT, "no route to %s (%s)", txt, rtnl_noroute_(kerr, 0));
	if (rc < 0)
		return umpa_err_prefix(e, "route lookup for %s: ", txt);
	if (!q.got)
		return umpa_err_set(e, UMPA_ENOENT, "no route to %s (the kernel gave none)", txt);
	if (out->type == RTN_UNREACHABLE || out->type == RTN_PROHIBIT || out->type == RTN_BLACKHOLE)
		return umpa_err_set(e, UMPA_ENOENT, "no route to %s (%s)", txt, rtnl_noroute_(0, out->type));
	return 0;
}

/* ---- neighbours ---- */

static int rtnl_neigh_msg_(void *arg, uint16_t type, struct umpa_cur *m, struct umpa_err *e)
{
	struct rtnl_walk_ *w = arg;
	struct umpa_cur tb[NDA_MAX + 1];
	struct umpa_neigh n;
	uint8_t fam;
	uint32_t idx;
	size_t alen;

	(void)e;
	memset(&n, 0, sizeof n);
	if (type != RTM_NEWNEIGH || umpa_cur_u8_at(m, offsetof(struct ndmsg, ndm_family), &fam) < 0 ||
	    umpa_cur_h32_at(m, offsetof(struct ndmsg, ndm_ifindex), &idx) < 0 ||
	    umpa_cur_h16_at(m, offsetof(struct ndmsg, ndm_state), &n.state) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct ndmsg, ndm_flags), &n.flags) < 0)
		return 0;
	alen = rtnl_alen_(fam);
	if (!alen)
		return 0;
	n.family = fam;
	n.ifindex = idx;
	rtnl_attrs_(m, NLMSG_ALIGN(sizeof(struct ndmsg)), tb, NDA_MAX + 1);
	if (!rtnl_copy_(&tb[NDA_DST], n.addr, alen))
		return 0;
	n.lladdr_len = rtnl_copy_var_(&tb[NDA_LLADDR], n.lladdr, sizeof n.lladdr);
	return w->cb.neigh(w->arg, &n);
}

int umpa_rtnl_neighs(int family, umpa_rtnl_neigh_cb cb, void *arg, struct umpa_err *e)
{
	struct rtnl_walk_ w = {.cb.neigh = cb, .arg = arg};

	return rtnl_dump_(RTM_GETNEIGH, family, sizeof(struct ndmsg), rtnl_neigh_msg_, &w, e);
}

/* ---- links ---- */

static int rtnl_link_msg_(void *arg, uint16_t type, struct umpa_cur *m, struct umpa_err *e)
{
	struct rtnl_walk_ *w = arg;
	struct umpa_cur tb[IFLA_MAX + 1];
	struct umpa_link l;
	uint16_t hw;
	uint32_t idx, flags;

	(void)e;
	memset(&l, 0, sizeof l);
	if (type != RTM_NEWLINK || umpa_cur_h16_at(m, offsetof(struct ifinfomsg, ifi_type), &hw) < 0 ||
	    umpa_cur_h32_at(m, offsetof(struct ifinfomsg, ifi_index), &idx) < 0 ||
	    umpa_cur_h32_at(m, offsetof(struct ifinfomsg, ifi_flags), &flags) < 0)
		return 0;
	l.index = idx;
	l.type = hw;
	l.flags = flags;
	rtnl_attrs_(m, NLMSG_ALIGN(sizeof(struct ifinfomsg)), tb, IFLA_MAX + 1);
	rtnl_copy_str_(&tb[IFLA_IFNAME], l.name, sizeof l.name);
	l.mtu = rtnl_u32_(&tb[IFLA_MTU], 0);
	l.addr_len = rtnl_copy_var_(&tb[IFLA_ADDRESS], l.addr, sizeof l.addr);
	l.brd_len = rtnl_copy_var_(&tb[IFLA_BROADCAST], l.brd, sizeof l.brd);
	return w->cb.link(w->arg, &l);
}

int umpa_rtnl_links(umpa_rtnl_link_cb cb, void *arg, struct umpa_err *e)
{
	struct rtnl_walk_ w = {.cb.link = cb, .arg = arg};

	return rtnl_dump_(RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), rtnl_link_msg_, &w, e);
}

/* ---- addresses ---- */

static int rtnl_addr_msg_(void *arg, uint16_t type, struct umpa_cur *m, struct umpa_err *e)
{
	struct rtnl_walk_ *w = arg;
	struct umpa_cur tb[IFA_MAX + 1];
	struct umpa_ifaddr a;
	uint8_t fam, plen, flags, scope;
	uint32_t idx;
	uint8_t address[16];
	int has_address, has_local;
	size_t alen;

	(void)e;
	memset(&a, 0, sizeof a);
	if (type != RTM_NEWADDR || umpa_cur_u8_at(m, offsetof(struct ifaddrmsg, ifa_family), &fam) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct ifaddrmsg, ifa_prefixlen), &plen) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct ifaddrmsg, ifa_flags), &flags) < 0 ||
	    umpa_cur_u8_at(m, offsetof(struct ifaddrmsg, ifa_scope), &scope) < 0 ||
	    umpa_cur_h32_at(m, offsetof(struct ifaddrmsg, ifa_index), &idx) < 0)
		return 0;
	alen = rtnl_alen_(fam);
	if (!alen)
		return 0;
	a.family = fam;
	a.prefix = plen;
	a.scope = scope;
	a.ifindex = idx;
	rtnl_attrs_(m, NLMSG_ALIGN(sizeof(struct ifaddrmsg)), tb, IFA_MAX + 1);
	a.flags = rtnl_u32_(&tb[IFA_FLAGS], flags);
	has_address = rtnl_copy_(&tb[IFA_ADDRESS], address, alen);
	has_local = rtnl_copy_(&tb[IFA_LOCAL], a.addr, alen);
	if (!has_local && !has_address)
		return 0;
	if (!has_local)
		memcpy(a.addr, address, alen);
	else if (has_address && memcmp(address, a.addr, alen) != 0) {
		a.has_peer = 1;
		memcpy(a.peer, address, alen);
	}
	rtnl_copy_str_(&tb[IFA_LABEL], a.label, sizeof a.label);
	return w->cb.addr(w->arg, &a);
}

int umpa_rtnl_addrs(int family, umpa_rtnl_addr_cb cb, void *arg, struct umpa_err *e)
{
	struct rtnl_walk_ w = {.cb.addr = cb, .arg = arg};

	return rtnl_dump_(RTM_GETADDR, family, sizeof(struct ifaddrmsg), rtnl_addr_msg_, &w, e);
}

/* ---- the neighbour lookup of umpa_live.h, on top of the dump ---- */

struct rtnl_neigh_find_ {
	int family;
	unsigned ifindex;
	const uint8_t *addr;
	uint8_t *mac;
	int found;
};

static int rtnl_neigh_find_(void *arg, const struct umpa_neigh *n)
{
	struct rtnl_neigh_find_ *f = arg;
	const uint16_t usable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

	if (n->family != f->family || (f->ifindex && n->ifindex != f->ifindex) || !(n->state & usable) ||
	    n->lladdr_len != 6 || memcmp(n->addr, f->addr, rtnl_alen_(f->family)) != 0)
		return 0;
	memcpy(f->mac, n->lladdr, 6);
	f->found = 1;
	return 1;
}

int umpa_neigh_lookup(const char *ifname, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
	struct rtnl_neigh_find_ f = {.family = family, .addr = addr, .mac = mac};
	int rc;

	if (!rtnl_alen_(family))
		return umpa_err_set(e, UMPA_EINVAL, "neighbour lookup: family must be AF_INET or AF_INET6");
	if (ifname && *ifname) {
		f.ifindex = if_nametoindex(ifname);
		if (!f.ifindex)
			return umpa_err_set(e, UMPA_ENOENT, "no interface '%s'", ifname);
	}
	rc = umpa_rtnl_neighs(family, rtnl_neigh_find_, &f, e);
	if (rc < 0)
		return umpa_err_prefix(e, "neighbour lookup: ");
	if (!f.found)
		return umpa_err_set(e, UMPA_ENOENT, "no neighbour entry for that address%s%s", ifname ? " on " : "",
				    ifname ? ifname : "");
	return 0;
}

#else /* not Linux */

int umpa_rtnl_routes(int family, umpa_rtnl_route_cb cb, void *arg, struct umpa_err *e)
{
	(void)family, (void)cb, (void)arg;
	return umpa_err_set(e, UMPA_ENOSYS, "rtnetlink is Linux only");
}

int umpa_rtnl_neighs(int family, umpa_rtnl_neigh_cb cb, void *arg, struct umpa_err *e)
{
	(void)family, (void)cb, (void)arg;
	return umpa_err_set(e, UMPA_ENOSYS, "rtnetlink is Linux only");
}

int umpa_rtnl_links(umpa_rtnl_link_cb cb, void *arg, struct umpa_err *e)
{
	(void)cb, (void)arg;
	return umpa_err_set(e, UMPA_ENOSYS, "rtnetlink is Linux only");
}

int umpa_rtnl_addrs(int family, umpa_rtnl_addr_cb cb, void *arg, struct umpa_err *e)
{
	(void)family, (void)cb, (void)arg;
	return umpa_err_set(e, UMPA_ENOSYS, "rtnetlink is Linux only");
}

int umpa_route_get(int family, const uint8_t *dst, struct umpa_route *out, struct umpa_err *e)
{
	(void)family, (void)dst, (void)out;
	return umpa_err_set(e, UMPA_ENOSYS, "route lookup is implemented for Linux only");
}

int umpa_neigh_lookup(const char *ifname, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
	(void)ifname, (void)family, (void)addr, (void)mac;
	return umpa_err_set(e, UMPA_ENOSYS, "neighbour lookup is implemented for Linux only");
}

#endif
