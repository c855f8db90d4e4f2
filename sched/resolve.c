/* resolve.c - next hops (rtnetlink routes) and MACs (cache, kernel, ARP / ND).
 *
 * RFC 826 (ARP) and RFC 4861 section 7 (neighbour solicitation to the
 * solicited-node multicast address ff02::1:ffXX:XXXX, answered by an
 * advertisement with the target link-layer address option).  The wire
 * requests go through the expect engine, so they are matched exactly as any
 * other exchange (arp.c and icmpv6.c answers hooks).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#endif

#include "umpa_protos.h"
#include "umpa_resolve.h"

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

static const char *addr_text_(int family, const uint8_t *a, char *buf, size_t n)
{
	if (!inet_ntop(family, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

#ifdef __linux__
static uint32_t h32_(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return v;
}

static uint16_t h16_(const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, 2);
	return v;
}

/* Read the attributes of one RTM_NEWROUTE message body @p m into @p out. */
static void route_attrs_(struct umpa_cur *m, int family, struct umpa_route *out)
{
	size_t alen = family == AF_INET ? 4 : 16, off = NLMSG_ALIGN(sizeof(struct rtmsg));
	const uint8_t *b;

	while (umpa_cur_ptr_at(m, off, 4, &b) == 0) {
		uint16_t len = h16_(b), type = h16_(b + 2);
		const uint8_t *v;
		if (len < 4 || umpa_cur_ptr_at(m, off + 4, len - 4u, &v) < 0)
			break;
		if (type == RTA_OIF && len - 4u >= 4)
			out->oif = h32_(v);
		else if (type == RTA_GATEWAY && len - 4u >= alen) {
			memcpy(out->gateway, v, alen);
			out->has_gateway = 1;
		} else if (type == RTA_PREFSRC && len - 4u >= alen) {
			memcpy(out->prefsrc, v, alen);
			out->has_prefsrc = 1;
		}
		off += RTA_ALIGN(len);
	}
}
#endif

int umpa_route_get(int family, const uint8_t *dst, struct umpa_route *out, struct umpa_err *e)
{
#ifdef __linux__
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	size_t alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	struct rtattr *rta;
	uint8_t buf[8192];
	char txt[64];
	int fd, rc = 0, got = 0;
	struct timeval tv = {.tv_sec = 2};

	if (!alen)
		return umpa_err_set(e, UMPA_EINVAL, "route lookup: family must be AF_INET or AF_INET6");
	memset(out, 0, sizeof(*out));
	out->family = family;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return umpa_err_set(e, UMPA_EIO, "route lookup: netlink socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = seq;
	req.rt.rtm_family = (unsigned char)family;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), dst, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = umpa_err_set(e, UMPA_EIO, "route lookup: netlink request: %s", strerror(errno));
		goto out;
	}
	for (int reads = 0; !got && reads < 64; reads++) {
		struct umpa_cur c;
		size_t off = 0;
		const uint8_t *h;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = umpa_err_set(e, UMPA_EIO, "route lookup: netlink reply: %s",
					  n < 0 ? strerror(errno) : "closed");
			goto out;
		}
		umpa_cur_init(&c, buf, (size_t)n);
		while (umpa_cur_ptr_at(&c, off, sizeof(struct nlmsghdr), &h) == 0) {
			uint32_t len = h32_(h), mseq = h32_(h + 8);
			uint16_t type = h16_(h + 4);
			struct umpa_cur m;
			if (len < sizeof(struct nlmsghdr) ||
			    umpa_cur_sub(&c, off + NLMSG_HDRLEN, len - NLMSG_HDRLEN, &m) < 0)
				break;
			if (mseq == seq && type == NLMSG_ERROR) {
				const uint8_t *ev;
				int32_t err = 0;
				if (umpa_cur_ptr_at(&m, 0, 4, &ev) == 0)
					memcpy(&err, ev, 4);
				if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EACCES || err == -EINVAL ||
				    err == -ESRCH)
					rc = umpa_err_set(e, UMPA_ENOENT, "no route to %s",
							  addr_text_(family, dst, txt, sizeof(txt)));
				else
					rc = umpa_err_set(e, UMPA_EIO, "route lookup for %s: %s",
							  addr_text_(family, dst, txt, sizeof(txt)), strerror(-err));
				goto out;
			}
			if (mseq == seq && type == RTM_NEWROUTE) {
				const uint8_t *rt;
				if (umpa_cur_ptr_at(&m, 0, sizeof(struct rtmsg), &rt) == 0) {
					struct rtmsg r;
					memcpy(&r, rt, sizeof(r));
					if (r.rtm_type == RTN_UNREACHABLE || r.rtm_type == RTN_PROHIBIT ||
					    r.rtm_type == RTN_BLACKHOLE) {
						rc = umpa_err_set(e, UMPA_ENOENT, "no route to %s",
								  addr_text_(family, dst, txt, sizeof(txt)));
						goto out;
					}
				}
				route_attrs_(&m, family, out);
				got = 1;
				break;
			}
			off += NLMSG_ALIGN(len);
		}
	}
	if (!got) {
		rc = umpa_err_set(e, UMPA_ENOENT, "no route to %s", addr_text_(family, dst, txt, sizeof(txt)));
		goto out;
	}
	if (!out->oif || !if_indextoname(out->oif, out->ifname))
		out->ifname[0] = 0;
out:
	close(fd);
	return rc;
#else
	(void)family;
	(void)dst;
	(void)out;
	return umpa_err_set(e, UMPA_ENOSYS, "route lookup is implemented for Linux only");
#endif
}

/* ------------------------------------------------------------------ */
/* The resolver                                                        */
/* ------------------------------------------------------------------ */

#define CACHE_MAX_ 256

struct cache_ent_ {
	int family;
	uint8_t addr[16];
	uint8_t mac[6];
};

struct umpa_resolver {
	struct umpa_iface ifc;
	struct umpa_loop *loop;
	struct umpa_expect *ex;
	/* opened by us when the caller gave no engine */
	int own;
	struct umpa_cap *cap;
	struct umpa_inj *inj;
	struct umpa_fdsrc *src;
	struct cache_ent_ cache[CACHE_MAX_];
	unsigned ncache, next; /* next: round-robin replacement */
	int64_t timeout_ns;
	unsigned retries;
	/* the last route asked for (a scan sends many packets to one host) */
	int last_family;
	uint8_t last_dst[16];
	struct umpa_route last_rt;
	void (*found_cb)(void *, int, const uint8_t *, const uint8_t *, const char *);
	void *found_arg;
};

/* the state of one wire request */
struct ask_ {
	int done, ok;
	uint8_t mac[6];
};

struct umpa_resolver *umpa_resolver_new(const char *ifname, struct umpa_loop *loop, struct umpa_expect *ex,
					struct umpa_err *e)
{
	struct umpa_resolver *r;

	if (!ifname || !*ifname) {
		umpa_err_set(e, UMPA_EINVAL, "resolve: which interface?");
		return NULL;
	}
	if ((!loop) != (!ex)) {
		umpa_err_set(e, UMPA_EINVAL, "resolve: give both a loop and an engine, or neither");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	if (umpa_iface_get(ifname, &r->ifc, e) < 0) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->ex = ex;
	r->timeout_ns = UMPA_NS_PER_SEC;
	r->retries = 2;
	return r;
}

struct umpa_resolver *umpa_resolver_free(struct umpa_resolver *r)
{
	if (!r)
		return NULL;
	if (r->own) {
		umpa_loop_remove_fd(r->src);
		umpa_expect_free(r->ex);
		umpa_loop_free(r->loop);
		umpa_cap_close(r->cap);
		umpa_inj_close(r->inj);
	}
	free(r);
	return NULL;
}

void umpa_resolver_set_patience(struct umpa_resolver *r, int64_t timeout_ns, unsigned retries)
{
	r->timeout_ns = timeout_ns > 0 ? timeout_ns : UMPA_NS_PER_SEC;
	r->retries = retries;
}

void umpa_resolver_on_found(struct umpa_resolver *r,
			    void (*cb)(void *arg, int family, const uint8_t *addr, const uint8_t mac[6],
				       const char *how),
			    void *arg)
{
	r->found_cb = cb;
	r->found_arg = arg;
}

static void found_(struct umpa_resolver *r, int family, const uint8_t *addr, const uint8_t mac[6], const char *how)
{
	if (r->found_cb)
		r->found_cb(r->found_arg, family, addr, mac, how);
}

const struct umpa_iface *umpa_resolver_iface(const struct umpa_resolver *r)
{
	return &r->ifc;
}

static int own_send_(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	return umpa_inj_send(((struct umpa_resolver *)arg)->inj, p, e);
}

static void own_pkt_(struct umpa_pkt *p, void *arg)
{
	umpa_expect_input(((struct umpa_resolver *)arg)->ex, p);
}

static void own_readable_(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	struct umpa_resolver *r = arg;
	struct umpa_err e = {0};

	(void)fd;
	(void)what;
	if (umpa_cap_dispatch(r->cap, -1, own_pkt_, r, &e) < 0)
		umpa_loop_fail(loop, &e);
}

/* Open our own loop, capture, injector and engine (once). */
static int open_own_(struct umpa_resolver *r, struct umpa_err *e)
{
	struct umpa_cap_opts co;
	struct umpa_err own = {0};

	if (!e)
		e = &own; /* the caller does not want the text; the code still comes from it */
	if (r->ex)
		return 0;
	r->own = 1;
	umpa_cap_opts_init(&co);
	co.filter = "arp or icmp6";
	co.dir = UMPA_DIR_IN;
	if (!(r->loop = umpa_loop_new(UMPA_CLOCK_LIVE, e)) || !(r->cap = umpa_cap_open(r->ifc.name, &co, e)) ||
	    !(r->inj = umpa_inj_open(r->ifc.name, 2, e)) || !(r->ex = umpa_expect_new(r->loop, own_send_, r, e)) ||
	    !(r->src = umpa_loop_add_fd(r->loop, umpa_cap_fd(r->cap), UMPA_FD_READ, own_readable_, r, e)))
		return -e->code;
	return 0;
}

static int cache_find_(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6])
{
	size_t alen = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < r->ncache; i++)
		if (r->cache[i].family == family && memcmp(r->cache[i].addr, addr, alen) == 0) {
			memcpy(mac, r->cache[i].mac, 6);
			return 1;
		}
	return 0;
}

static void cache_put_(struct umpa_resolver *r, int family, const uint8_t *addr, const uint8_t mac[6])
{
	struct cache_ent_ *c;

	if (r->ncache < CACHE_MAX_)
		c = &r->cache[r->ncache++];
	else
		c = &r->cache[r->next++ % CACHE_MAX_];
	memset(c, 0, sizeof(*c));
	c->family = family;
	memcpy(c->addr, addr, family == AF_INET ? 4 : 16);
	memcpy(c->mac, mac, 6);
}

/* The interface's address of @p family to speak from (for IPv6: one in @p near's /64 if any, else global, else
 * link-local). */
static const uint8_t *iface_addr_(const struct umpa_iface *ifc, int family, const uint8_t *near)
{
	const uint8_t *best = NULL;
	int score = -1;

	for (size_t i = 0; i < ifc->naddrs; i++) {
		const struct umpa_iface_addr *a = &ifc->addrs[i];
		int s;
		if (a->family != family)
			continue;
		if (family == AF_INET)
			return a->addr;
		s = near && memcmp(a->addr, near, 8) == 0                 ? 3
		    : (a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80) ? 1
									  : 2;
		if (s > score) {
			score = s;
			best = a->addr;
		}
	}
	return best;
}

static int set_bytes_(struct umpa_pkt *p, unsigned li, const char *name, const uint8_t *b, uint32_t n,
		      struct umpa_err *e)
{
	const struct umpa_field *f = umpa_proto_field(p->l[li].proto, name);

	if (!f)
		return umpa_err_set(e, UMPA_ENOENT, "%s: no field '%s'", p->l[li].proto->name, name);
	return umpa_field_set_bytes(p, li, f, b, n, e);
}

static int set_str_(struct umpa_pkt *p, unsigned li, const char *name, const char *v, struct umpa_err *e)
{
	const struct umpa_field *f = umpa_proto_field(p->l[li].proto, name);

	if (!f)
		return umpa_err_set(e, UMPA_ENOENT, "%s: no field '%s'", p->l[li].proto->name, name);
	return umpa_field_set_str(p, li, f, v, e);
}

/* Build the ARP who-has or the neighbour solicitation for @p addr. */
static int build_ask_(struct umpa_resolver *r, int family, const uint8_t *addr, struct umpa_pkt *p, struct umpa_err *e)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t *src = iface_addr_(&r->ifc, family, addr);
	char txt[64], spec[64];
	int rc;

	if (!r->ifc.has_mac)
		return umpa_err_set(e, UMPA_EINVAL, "%s has no MAC address to resolve from", r->ifc.name);
	if (!src)
		return umpa_err_set(e, UMPA_ENOENT, "%s has no %s address to resolve from", r->ifc.name,
				    family == AF_INET ? "IPv4" : "IPv6");
	if ((rc = umpa_pkt_push(p, &umpa_proto_eth, e)) < 0)
		return rc;
	if ((rc = set_bytes_(p, 0, "src", r->ifc.mac, 6, e)) < 0)
		return rc;
	if (family == AF_INET) {
		if ((rc = umpa_pkt_push(p, &umpa_proto_arp, e)) < 0 ||
		    (rc = set_bytes_(p, 0, "dst", bcast, 6, e)) < 0 || (rc = set_str_(p, 1, "opcode", "1", e)) < 0 ||
		    (rc = set_bytes_(p, 1, "hwsrc", r->ifc.mac, 6, e)) < 0 ||
		    (rc = set_bytes_(p, 1, "psrc", src, 4, e)) < 0 || (rc = set_bytes_(p, 1, "pdst", addr, 4, e)) < 0)
			return rc;
	} else {
		uint8_t sn[16] = {0xff, 0x02, [11] = 1, [12] = 0xff};
		uint8_t mac[6] = {0x33, 0x33, 0xff, addr[13], addr[14], addr[15]};
		memcpy(sn + 13, addr + 13, 3);
		snprintf(spec, sizeof(spec), "slla=%02x:%02x:%02x:%02x:%02x:%02x", r->ifc.mac[0], r->ifc.mac[1],
			 r->ifc.mac[2], r->ifc.mac[3], r->ifc.mac[4], r->ifc.mac[5]);
		if ((rc = set_bytes_(p, 0, "dst", mac, 6, e)) < 0 || (rc = umpa_pkt_push(p, &umpa_proto_ipv6, e)) < 0 ||
		    (rc = set_bytes_(p, 1, "src", src, 16, e)) < 0 || (rc = set_bytes_(p, 1, "dst", sn, 16, e)) < 0 ||
		    (rc = set_str_(p, 1, "hlim", "255", e)) < 0 || (rc = umpa_pkt_push(p, &umpa_proto_icmpv6, e)) < 0 ||
		    (rc = set_str_(p, 2, "type", "135", e)) < 0 ||
		    (rc = set_str_(p, 2, "tgt", addr_text_(AF_INET6, addr, txt, sizeof(txt)), e)) < 0 ||
		    (rc = set_str_(p, 2, "options", spec, e)) < 0)
			return rc;
	}
	return umpa_pkt_finish(p, e);
}

/* The MAC an answer carries: ARP sender hardware address, or the NA's target link-layer address option. */
static int answer_mac_(const struct umpa_pkt *a, uint8_t mac[6])
{
	int li = umpa_pkt_find(a, &umpa_proto_arp, 0);
	struct umpa_cur c;
	const uint8_t *b;

	if (li >= 0) {
		const struct umpa_field *f = umpa_proto_field(&umpa_proto_arp, "hwsrc");
		uint32_t n;
		if (!f || umpa_field_get_bytes(a, (unsigned)li, f, &b, &n) < 0 || n != 6)
			return -1;
		memcpy(mac, b, 6);
		return 0;
	}
	li = umpa_pkt_find(a, &umpa_proto_icmpv6, 0);
	if (li < 0)
		return -1;
	umpa_layer_cur(a, (unsigned)li, &c);
	for (size_t off = 24; umpa_cur_has(&c, off, 2);) {
		uint8_t type = 0, len = 0;
		if (umpa_cur_u8_at(&c, off, &type) < 0 || umpa_cur_u8_at(&c, off + 1, &len) < 0 || len == 0)
			break;
		if (type == 2 && len == 1 && umpa_cur_ptr_at(&c, off + 2, 6, &b) == 0) {
			memcpy(mac, b, 6);
			return 0;
		}
		off += (size_t)len * 8;
	}
	/* no option: the link-layer source of the frame is the advertiser's */
	if (a->nlayers && a->l[0].proto == &umpa_proto_eth) {
		umpa_layer_cur(a, 0, &c);
		if (umpa_cur_ptr_at(&c, 6, 6, &b) == 0) {
			memcpy(mac, b, 6);
			return 0;
		}
	}
	return -1;
}

static void ask_reply_(void *arg, const struct umpa_exchange *x)
{
	struct ask_ *a = arg;

	a->done = 1;
	a->ok = answer_mac_(x->answer, a->mac) == 0;
}

static void ask_timeout_(void *arg, const struct umpa_exchange *x)
{
	(void)x;
	((struct ask_ *)arg)->done = 1;
}

static int ask_done_(void *arg)
{
	return ((struct ask_ *)arg)->done;
}

int umpa_resolve(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
	struct ask_ a = {0};
	struct umpa_expect_opts o = {0};
	struct umpa_pkt p;
	char txt[64];
	int rc;

	if (family != AF_INET && family != AF_INET6)
		return umpa_err_set(e, UMPA_EINVAL, "resolve: family must be AF_INET or AF_INET6");
	if (cache_find_(r, family, addr, mac)) {
		found_(r, family, addr, mac, "cache");
		return 0;
	}
	if (umpa_neigh_lookup(r->ifc.name, family, addr, mac, NULL) == 0) {
		cache_put_(r, family, addr, mac);
		found_(r, family, addr, mac, "kernel neighbour table");
		return 0;
	}
	if ((rc = open_own_(r, e)) < 0)
		return rc;
	umpa_pkt_init(&p);
	if ((rc = build_ask_(r, family, addr, &p, e)) < 0)
		goto out;
	o.timeout_ns = r->timeout_ns;
	o.retries = r->retries;
	o.on_reply = ask_reply_;
	o.reply_arg = &a;
	o.on_timeout = ask_timeout_;
	o.timeout_arg = &a;
	{
		int64_t id = umpa_expect_add(r->ex, &p, &o, e);
		if (id < 0) {
			rc = (int)id;
			goto out;
		}
	}
	rc = umpa_loop_run_until(r->loop, ask_done_, &a, UMPA_NEVER, e);
	if (rc < 0)
		goto out;
	if (!a.ok) {
		rc = umpa_err_set(e, UMPA_ENOENT, "%s: no answer to %s (%u tries)",
				  addr_text_(family, addr, txt, sizeof(txt)),
				  family == AF_INET ? "ARP who-has" : "neighbour solicitation", r->retries + 1);
		goto out;
	}
	memcpy(mac, a.mac, 6);
	cache_put_(r, family, addr, mac);
	found_(r, family, addr, mac, family == AF_INET ? "ARP who-has" : "neighbour solicitation");
	rc = 0;
out:
	umpa_pkt_release(&p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Filling a packet                                                    */
/* ------------------------------------------------------------------ */

static int field_is_set_(const struct umpa_pkt *p, unsigned li, const char *name)
{
	const struct umpa_field *f = umpa_proto_field(p->l[li].proto, name);

	return f ? umpa_field_is_set(p, li, f) : 1;
}

int umpa_resolve_dst(struct umpa_resolver *r, struct umpa_pkt *p, struct umpa_err *e)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	int l3, family, rc, changed = 0, eth = 1;
	unsigned li;
	const uint8_t *dst, *src;
	uint32_t n;
	struct umpa_route rt;
	uint8_t mac[6];

	if (p->nlayers == 0)
		return 0;
	if (p->l[0].proto == &umpa_proto_ip || p->l[0].proto == &umpa_proto_ipv6) {
		l3 = 0; /* sent at layer 3: only the source address */
		eth = 0;
		goto addr;
	}
	if (p->l[0].proto != &umpa_proto_eth)
		return 0;
	if (!field_is_set_(p, 0, "src") && r->ifc.has_mac) {
		if ((rc = set_bytes_(p, 0, "src", r->ifc.mac, 6, e)) < 0)
			return rc;
		changed = 1;
	}
	l3 = -1;
	for (li = 1; li < p->nlayers; li++)
		if (p->l[li].proto == &umpa_proto_ip || p->l[li].proto == &umpa_proto_ipv6 ||
		    p->l[li].proto == &umpa_proto_arp) {
			l3 = (int)li;
			break;
		}
	if (l3 >= 0 && p->l[l3].proto == &umpa_proto_arp) { /* the sender: this interface */
		const uint8_t *a4 = iface_addr_(&r->ifc, AF_INET, NULL);
		if (!field_is_set_(p, (unsigned)l3, "hwsrc") && r->ifc.has_mac) {
			if ((rc = set_bytes_(p, (unsigned)l3, "hwsrc", r->ifc.mac, 6, e)) < 0)
				return rc;
			changed = 1;
		}
		if (!field_is_set_(p, (unsigned)l3, "psrc") && a4) {
			if ((rc = set_bytes_(p, (unsigned)l3, "psrc", a4, 4, e)) < 0)
				return rc;
			changed = 1;
		}
	}
	if (l3 < 0 || p->l[l3].proto == &umpa_proto_arp) {
		if (!field_is_set_(p, 0, "dst")) {
			if ((rc = set_bytes_(p, 0, "dst", bcast, 6, e)) < 0)
				return rc;
			changed = 1;
		}
		goto done;
	}
addr:
	li = (unsigned)l3;
	family = p->l[li].proto == &umpa_proto_ip ? AF_INET : AF_INET6;
	if (umpa_field_get_bytes(p, li, umpa_proto_field(p->l[li].proto, "dst"), &dst, &n) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "packet has no %s destination", p->l[li].proto->name);
	{
		uint8_t d[16];
		memcpy(d, dst, n);
		if (r->last_family == family && memcmp(r->last_dst, d, n) == 0) {
			rt = r->last_rt;
		} else {
			if ((rc = umpa_route_get(family, d, &rt, e)) < 0)
				return rc;
			r->last_family = family;
			memcpy(r->last_dst, d, n);
			r->last_rt = rt;
		}
		if (!field_is_set_(p, li, "src")) {
			src = rt.has_prefsrc ? rt.prefsrc : iface_addr_(&r->ifc, family, d);
			if (!src)
				return umpa_err_set(e, UMPA_ENOENT, "%s has no %s address to send from", r->ifc.name,
						    family == AF_INET ? "IPv4" : "IPv6");
			if ((rc = set_bytes_(p, li, "src", src, n, e)) < 0)
				return rc;
			changed = 1;
		}
		if (eth && !field_is_set_(p, 0, "dst")) {
			if (family == AF_INET && (d[0] >> 4) == 0xe) {
				uint8_t m[6] = {0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]};
				memcpy(mac, m, 6);
			} else if (family == AF_INET && memcmp(d, bcast, 4) == 0) {
				memcpy(mac, bcast, 6);
			} else if (family == AF_INET6 && d[0] == 0xff) {
				uint8_t m[6] = {0x33, 0x33, d[12], d[13], d[14], d[15]};
				memcpy(mac, m, 6);
			} else if ((rc = umpa_resolve(r, family, rt.has_gateway ? rt.gateway : d, mac, e)) < 0) {
				return rc;
			}
			if ((rc = set_bytes_(p, 0, "dst", mac, 6, e)) < 0)
				return rc;
			changed = 1;
		}
	}
done:
	return changed ? umpa_pkt_finish(p, e) : 0;
}

int umpa_resolve_nexthop(const char *ifname, int family, const uint8_t *dst, uint8_t mac[6], struct umpa_err *e)
{
	struct umpa_route rt;
	struct umpa_resolver *r;
	struct umpa_err own = {0};
	int rc;

	if (!e)
		e = &own;
	if ((rc = umpa_route_get(family, dst, &rt, e)) < 0)
		return rc;
	if (!(r = umpa_resolver_new(ifname, NULL, NULL, e)))
		return -e->code;
	umpa_resolver_set_patience(r, UMPA_NS_PER_SEC / 2, 2);
	rc = umpa_resolve(r, family, rt.has_gateway ? rt.gateway : dst, mac, e);
	umpa_resolver_free(r);
	return rc;
}
