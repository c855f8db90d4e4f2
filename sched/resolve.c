/* resolve.c - the address policy: next hops (the kernel's routes) and MACs (cache, kernel, ARP / ND).
 *
 * RFC 826 (ARP) and RFC 4861 section 7 (neighbour solicitation to the
 * solicited-node multicast address ff02::1:ffXX:XXXX, answered by an
 * advertisement with the target link-layer address option).  The wire
 * requests go through the expect engine, so they are matched exactly as any
 * other exchange (arp.c and icmpv6.c answers hooks).
 *
 * The cache keeps answers and silences alike (a host that did not answer is
 * not asked again by this resolver), 256 of them, replaced round-robin.  Up
 * to 64 wire requests may be in flight (umpa_resolve_prefetch); every public
 * function returns only once none is, so no exchange of ours outlives a call
 * in the caller's engine.  A packet's needs are worked out once (plan_) and
 * serve both the prefetch and the fill.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "umpa_protos.h"
#include "umpa_resolve.h"

static const char *addr_text_(int family, const uint8_t *a, char *buf, size_t n)
{
	if (!inet_ntop(family, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

/* ------------------------------------------------------------------ */
/* The resolver                                                        */
/* ------------------------------------------------------------------ */

#define CACHE_MAX_ 256

/* Most wire requests in flight at once (umpa_resolve_prefetch waits when they are all out). */
#define ASK_MAX_ 64

/* One answer: a MAC, or (ok 0) the wire's silence, which is not asked again. */
struct cache_ent_ {
	int family;
	int ok;
	uint8_t addr[16];
	uint8_t mac[6];
};

/* One wire request in flight (ARP who-has or neighbour solicitation). */
struct ask_ {
	struct umpa_resolver *r;
	int used;
	int family;
	uint8_t addr[16];
};

struct umpa_resolver {
	struct umpa_iface ifc;
	int has_ifc; /* 0: a layer-3 resolver with no interface of its own */
	int layer3;  /* the packets go out from their IP header */
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
	/* wire requests in flight: every public call waits until none is */
	struct ask_ asks[ASK_MAX_];
	unsigned inflight;
};

struct umpa_resolver *umpa_resolver_new(const char *ifname, struct umpa_loop *loop, struct umpa_expect *ex,
					struct umpa_err *e)
{
	struct umpa_resolver *r;

	if ((!ifname || !*ifname) && loop) {
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
	if (ifname && *ifname) {
		if (umpa_iface_get(ifname, &r->ifc, e) < 0) {
			free(r);
			return NULL;
		}
		r->has_ifc = 1;
	} else {
		r->layer3 = 1; /* no interface: only the kernel can send these */
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

void umpa_resolver_set_layer3(struct umpa_resolver *r, int on)
{
	r->layer3 = on || !r->has_ifc;
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

/* The cached answer for @p addr: 1 (MAC in @p mac), -1 (known silent), 0 (not asked yet). */
static int cache_find_(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6])
{
	size_t alen = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < r->ncache; i++)
		if (r->cache[i].family == family && memcmp(r->cache[i].addr, addr, alen) == 0) {
			if (!r->cache[i].ok)
				return -1;
			memcpy(mac, r->cache[i].mac, 6);
			return 1;
		}
	return 0;
}

/* Remember @p addr's MAC, or (@p mac NULL) that nothing answered for it. */
static void cache_put_(struct umpa_resolver *r, int family, const uint8_t *addr, const uint8_t *mac)
{
	struct cache_ent_ *c = NULL;
	size_t alen = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < r->ncache && !c; i++)
		if (r->cache[i].family == family && memcmp(r->cache[i].addr, addr, alen) == 0)
			c = &r->cache[i];
	if (c)
		;
	else if (r->ncache < CACHE_MAX_)
		c = &r->cache[r->ncache++];
	else
		c = &r->cache[r->next++ % CACHE_MAX_];
	memset(c, 0, sizeof(*c));
	c->family = family;
	memcpy(c->addr, addr, family == AF_INET ? 4 : 16);
	c->ok = mac != NULL;
	if (mac)
		memcpy(c->mac, mac, 6);
}

/* Does @p a's prefix hold @p d? */
static int in_prefix_(const struct umpa_iface_addr *a, const uint8_t *d)
{
	size_t alen = a->family == AF_INET ? 4 : 16;
	unsigned bits = a->prefix, k;

	for (k = 0; k < alen && bits >= 8; k++, bits -= 8)
		if (a->addr[k] != d[k])
			return 0;
	return k == alen || bits == 0 || ((a->addr[k] ^ d[k]) >> (8 - bits)) == 0;
}

/*
 * The interface's address of @p family to speak from towards @p near (NULL:
 * anyone), scored as RFC 6724 would: one whose prefix holds @p near first;
 * for IPv6 a link-local one towards link-scope destinations (fe80::/10,
 * ff02::/16), else a global one before a link-local one; the first listed
 * on a tie.
 */
static const uint8_t *iface_addr_(const struct umpa_iface *ifc, int family, const uint8_t *near)
{
	const uint8_t *best = NULL;
	int score = -1;
	int link_scope = family == AF_INET6 && near &&
			 ((near[0] == 0xfe && (near[1] & 0xc0) == 0x80) || (near[0] == 0xff && (near[1] & 0x0f) == 2));

	for (size_t i = 0; i < ifc->naddrs; i++) {
		const struct umpa_iface_addr *a = &ifc->addrs[i];
		int ll = family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80, s;
		if (a->family != family)
			continue;
		if (near && a->prefix && in_prefix_(a, near))
			s = 4;
		else if (family == AF_INET)
			s = 1;
		else
			s = ll == link_scope ? 3 : ll ? 1 : 2;
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

/* An answer came: cache the MAC it carries. */
static void ask_reply_(void *arg, const struct umpa_exchange *x)
{
	struct ask_ *a = arg;
	struct umpa_resolver *r = a->r;
	uint8_t mac[6];

	if (answer_mac_(x->answer, mac) == 0) {
		cache_put_(r, a->family, a->addr, mac);
		found_(r, a->family, a->addr, mac, a->family == AF_INET ? "ARP who-has" : "neighbour solicitation");
	} else {
		cache_put_(r, a->family, a->addr, NULL);
	}
	a->used = 0;
	r->inflight--;
}

/* Every try timed out: cache the silence (the host is not asked again). */
static void ask_timeout_(void *arg, const struct umpa_exchange *x)
{
	struct ask_ *a = arg;

	(void)x;
	cache_put_(a->r, a->family, a->addr, NULL);
	a->used = 0;
	a->r->inflight--;
}

static int asks_done_(void *arg)
{
	return ((struct umpa_resolver *)arg)->inflight == 0;
}

/* Run the loop until every wire request settled. */
static int asks_wait_(struct umpa_resolver *r, struct umpa_err *e)
{
	int rc;

	if (r->inflight == 0)
		return 0;
	rc = umpa_loop_run_until(r->loop, asks_done_, r, UMPA_NEVER, e);
	if (rc < 0)
		return rc;
	if (r->inflight)
		return umpa_err_set(e, UMPA_EIO, "resolve: interrupted while asking the wire");
	return 0;
}

/* The reason nothing answered for @p addr. */
static int silent_(struct umpa_resolver *r, int family, const uint8_t *addr, struct umpa_err *e)
{
	char txt[64];

	addr_text_(family, addr, txt, sizeof(txt));
	return umpa_err_set(e, UMPA_ENOENT, "%s: no answer to %s (%u tries; no neighbour entry for %s on %s)", txt,
			    family == AF_INET ? "ARP who-has" : "neighbour solicitation", r->retries + 1, txt,
			    r->ifc.name);
}

/*
 * Look @p addr up without waiting: the cache (1 with @p mac, or 2: known
 * silent), the kernel's table (1), else put an ARP who-has / neighbour
 * solicitation in flight (0: asked, wait then look again).  Waits first
 * when ASK_MAX_ requests are already out.  Returns a negative error when
 * the resolver failed.
 */
static int lookup_or_ask_(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
	struct umpa_expect_opts o = {0};
	struct umpa_pkt p;
	struct ask_ *a = NULL;
	size_t alen = family == AF_INET ? 4 : 16;
	int rc;

	if ((rc = cache_find_(r, family, addr, mac)) != 0) {
		if (rc < 0)
			return 2;
		found_(r, family, addr, mac, "cache");
		return 1;
	}
	for (unsigned i = 0; i < ASK_MAX_; i++)
		if (r->asks[i].used && r->asks[i].family == family && memcmp(r->asks[i].addr, addr, alen) == 0)
			return 0; /* already asked */
	if (umpa_neigh_lookup(r->ifc.name, family, addr, mac, NULL) == 0) {
		cache_put_(r, family, addr, mac);
		found_(r, family, addr, mac, "kernel neighbour table");
		return 1;
	}
	if ((rc = open_own_(r, e)) < 0)
		return rc;
	if (r->inflight == ASK_MAX_ && (rc = asks_wait_(r, e)) < 0)
		return rc;
	for (unsigned i = 0; i < ASK_MAX_ && !a; i++)
		if (!r->asks[i].used)
			a = &r->asks[i];
	if (!a)
		return umpa_err_set(e, UMPA_EIO, "resolve: no free request slot");
	umpa_pkt_init(&p);
	if ((rc = build_ask_(r, family, addr, &p, e)) < 0)
		goto out;
	a->r = r;
	a->family = family;
	memset(a->addr, 0, sizeof(a->addr));
	memcpy(a->addr, addr, alen);
	o.timeout_ns = r->timeout_ns;
	o.retries = r->retries;
	o.on_reply = ask_reply_;
	o.reply_arg = a;
	o.on_timeout = ask_timeout_;
	o.timeout_arg = a;
	{
		int64_t id = umpa_expect_add(r->ex, &p, &o, e);
		if (id < 0) {
			rc = (int)id;
			goto out;
		}
	}
	a->used = 1;
	r->inflight++;
	rc = 0;
out:
	umpa_pkt_release(&p);
	return rc;
}

int umpa_resolve(struct umpa_resolver *r, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
	int rc;

	if (family != AF_INET && family != AF_INET6)
		return umpa_err_set(e, UMPA_EINVAL, "resolve: family must be AF_INET or AF_INET6");
	if (!r->has_ifc)
		return umpa_err_set(e, UMPA_EINVAL, "resolve: a MAC needs an interface (-i)");
	rc = lookup_or_ask_(r, family, addr, mac, e);
	if (rc < 0)
		return rc;
	if (rc == 0) { /* asked: wait for the answer, then it is in the cache either way */
		if ((rc = asks_wait_(r, e)) < 0)
			return rc;
		rc = cache_find_(r, family, addr, mac) > 0 ? 1 : 2;
	}
	return rc == 1 ? 0 : silent_(r, family, addr, e);
}

/* ------------------------------------------------------------------ */
/* Filling a packet                                                    */
/* ------------------------------------------------------------------ */

static int field_is_set_(const struct umpa_pkt *p, unsigned li, const char *name)
{
	const struct umpa_field *f = umpa_proto_field(p->l[li].proto, name);

	return f ? umpa_field_is_set(p, li, f) : 1;
}

/*
 * Group MACs, no question asked: IPv4 multicast 01:00:5e + the low 23 bits,
 * the limited broadcast and a directed broadcast of one of the interface's
 * subnets ff:ff:ff:ff:ff:ff, IPv6 multicast 33:33 + the low 32 bits.
 */
static int group_mac_(const struct umpa_resolver *r, int family, const uint8_t *d, uint8_t mac[6])
{
	static const uint8_t bcast[4] = {255, 255, 255, 255};

	if (family == AF_INET6) {
		if (d[0] != 0xff)
			return 0;
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, d + 12, 4);
		return 1;
	}
	if ((d[0] >> 4) == 0xe) {
		uint8_t m[6] = {0x01, 0x00, 0x5e, (uint8_t)(d[1] & 0x7f), d[2], d[3]};
		memcpy(mac, m, 6);
		return 1;
	}
	if (memcmp(d, bcast, 4) == 0)
		goto bcast;
	for (size_t i = 0; i < r->ifc.naddrs; i++) {
		const struct umpa_iface_addr *a = &r->ifc.addrs[i];
		uint32_t ad, dd, host;
		if (a->family != AF_INET || a->prefix >= 31)
			continue;
		memcpy(&ad, a->addr, 4);
		memcpy(&dd, d, 4);
		host = a->prefix ? htonl(~0u >> a->prefix) : ~0u;
		if ((ad & ~host) == (dd & ~host) && (dd & host) == host)
			goto bcast;
	}
	return 0;
bcast:
	memset(mac, 0xff, 6);
	return 1;
}

static int all_zero_(const uint8_t *b, size_t n)
{
	while (n--)
		if (*b++)
			return 0;
	return 1;
}

/* The route towards @p d (the last one asked is kept: a scan sends many packets to one host). */
static int route_(struct umpa_resolver *r, int family, const uint8_t *d, size_t n, struct umpa_route *rt,
		  struct umpa_err *e)
{
	int rc;

	if (r->last_family == family && memcmp(r->last_dst, d, n) == 0) {
		*rt = r->last_rt;
		return 0;
	}
	if ((rc = umpa_route_get(family, d, rt, e)) < 0)
		return rc;
	r->last_family = family;
	memcpy(r->last_dst, d, n);
	r->last_rt = *rt;
	return 0;
}

/* The source address for a packet towards @p d along @p rt, or NULL. */
static const uint8_t *source_(struct umpa_resolver *r, int family, const uint8_t *d, const struct umpa_route *rt,
			      int onlink_here, struct umpa_iface *scratch)
{
	if (rt->has_prefsrc && !onlink_here)
		return rt->prefsrc;
	if (r->has_ifc)
		return iface_addr_(&r->ifc, family, d);
	/* a layer-3 resolver with no interface: the address of the one the route leaves by */
	if (rt->ifname[0] && umpa_iface_get(rt->ifname, scratch, NULL) == 0)
		return iface_addr_(scratch, family, d);
	return NULL;
}

/* What one packet needs, worked out without touching it. */
struct plan_ {
	int eth;    /* a frame whose link layer is ours to fill */
	int l3;     /* its IPv4 / IPv6 / ARP layer, -1 none */
	int arp;    /* that layer is ARP (or there is none): the frame is broadcast */
	int family; /* of the IP layer */
	uint8_t d[16];
	uint32_t n;
	int need_src, need_mac;
	int group;       /* a multicast / broadcast destination on a frame: mac is its group MAC */
	int onlink_here; /* the source is the interface's address, not the route's */
	struct umpa_route rt;
	uint8_t mac[6];     /* the group MAC when group */
	const uint8_t *hop; /* the next hop to resolve when need_mac && !group (into rt or d) */
};

/*
 * Work out what @p p needs (see umpa_resolve_dst).  Returns 1 when there is
 * nothing for the resolver (another link layer, empty), 0 with @p pl set,
 * or a negative error (-UMPA_ENOENT: this packet cannot be addressed).
 */
static int plan_(struct umpa_resolver *r, const struct umpa_pkt *p, struct plan_ *pl, struct umpa_err *e)
{
	const uint8_t *dst;
	unsigned li;
	char txt[64];
	int rc;

	memset(pl, 0, sizeof(*pl));
	pl->l3 = -1;
	if (p->nlayers == 0)
		return 1;
	if (r->layer3 || p->l[0].proto == &umpa_proto_ip || p->l[0].proto == &umpa_proto_ipv6) {
		for (li = 0; li < p->nlayers && pl->l3 < 0; li++)
			if (p->l[li].proto == &umpa_proto_ip || p->l[li].proto == &umpa_proto_ipv6)
				pl->l3 = (int)li;
		if (pl->l3 < 0)
			return umpa_err_set(e, UMPA_EINVAL, "no IPv4 or IPv6 layer to send at layer 3");
	} else {
		if (p->l[0].proto != &umpa_proto_eth)
			return 1;
		if (!r->has_ifc)
			return umpa_err_set(e, UMPA_EINVAL, "resolve: an Ethernet frame needs an interface (-i)");
		pl->eth = 1;
		for (li = 1; li < p->nlayers && pl->l3 < 0; li++)
			if (p->l[li].proto == &umpa_proto_ip || p->l[li].proto == &umpa_proto_ipv6 ||
			    p->l[li].proto == &umpa_proto_arp)
				pl->l3 = (int)li;
		if (pl->l3 < 0 || p->l[pl->l3].proto == &umpa_proto_arp) {
			pl->arp = 1;
			return 0;
		}
	}
	li = (unsigned)pl->l3;
	pl->family = p->l[li].proto == &umpa_proto_ip ? AF_INET : AF_INET6;
	if (umpa_field_get_bytes(p, li, umpa_proto_field(p->l[li].proto, "dst"), &dst, &pl->n) < 0 ||
	    pl->n != (pl->family == AF_INET ? 4u : 16u))
		return umpa_err_set(e, UMPA_EINVAL, "packet has no %s destination", p->l[li].proto->name);
	memcpy(pl->d, dst, pl->n);
	pl->need_src = !field_is_set_(p, li, "src");
	pl->need_mac = pl->eth && !field_is_set_(p, 0, "dst");
	if (pl->need_mac && all_zero_(pl->d, pl->n))
		return umpa_err_set(e, UMPA_ENOENT, "the destination address is unset (%s)",
				    addr_text_(pl->family, pl->d, txt, sizeof(txt)));
	if (pl->eth)
		pl->group = group_mac_(r, pl->family, pl->d, pl->mac);
	/*
	 * The routing table only when something needs it; at layer 3 the kernel
	 * will.  A multicast or broadcast frame stays on the interface chosen:
	 * its source is that interface's address, routed or not.
	 */
	if (!pl->eth || (!pl->group && (pl->need_src || pl->need_mac))) {
		if ((rc = route_(r, pl->family, pl->d, pl->n, &pl->rt, e)) < 0)
			return rc;
		/* the route leaves by another interface: the user chose this one, the destination is on it */
		pl->onlink_here = pl->eth && pl->rt.oif != r->ifc.index;
	} else if (pl->group)
		pl->onlink_here = 1;
	if (pl->need_mac && !pl->group)
		pl->hop = pl->rt.has_gateway && !pl->onlink_here ? pl->rt.gateway : pl->d;
	return 0;
}

int umpa_resolve_prefetch(struct umpa_resolver *r, const struct umpa_pkt *pkts, size_t n, struct umpa_err *e)
{
	struct plan_ pl;
	struct umpa_err skip;
	uint8_t mac[6];
	int rc;

	for (size_t i = 0; i < n; i++) {
		umpa_err_clear(&skip);
		rc = plan_(r, &pkts[i], &pl, &skip);
		if (rc == -UMPA_ENOENT)
			continue; /* umpa_resolve_dst will say why */
		if (rc < 0)
			return umpa_err_set(e, skip.code, "%s", skip.msg);
		if (rc == 0 && pl.hop && (rc = lookup_or_ask_(r, pl.family, pl.hop, mac, e)) < 0)
			return rc;
	}
	return asks_wait_(r, e);
}

int umpa_resolve_dst(struct umpa_resolver *r, struct umpa_pkt *p, struct umpa_err *e)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct plan_ pl;
	struct umpa_iface scratch;
	const uint8_t *src;
	uint8_t mac[6];
	char txt[64];
	unsigned li;
	int rc, changed = 0;

	if ((rc = plan_(r, p, &pl, e)) != 0)
		return rc > 0 ? 0 : rc;
	if (pl.eth && !field_is_set_(p, 0, "src") && r->ifc.has_mac) {
		if ((rc = set_bytes_(p, 0, "src", r->ifc.mac, 6, e)) < 0)
			return rc;
		changed = 1;
	}
	if (pl.arp) {
		if (pl.l3 >= 0) { /* the sender: this interface */
			const uint8_t *a4 = iface_addr_(&r->ifc, AF_INET, NULL);
			li = (unsigned)pl.l3;
			if (!field_is_set_(p, li, "hwsrc") && r->ifc.has_mac) {
				if ((rc = set_bytes_(p, li, "hwsrc", r->ifc.mac, 6, e)) < 0)
					return rc;
				changed = 1;
			}
			if (!field_is_set_(p, li, "psrc") && a4) {
				if ((rc = set_bytes_(p, li, "psrc", a4, 4, e)) < 0)
					return rc;
				changed = 1;
			}
		}
		if (!field_is_set_(p, 0, "dst")) {
			if ((rc = set_bytes_(p, 0, "dst", bcast, 6, e)) < 0)
				return rc;
			changed = 1;
		}
		return changed ? umpa_pkt_finish(p, e) : 0;
	}
	li = (unsigned)pl.l3;
	if (pl.need_src) {
		src = source_(r, pl.family, pl.d, &pl.rt, pl.onlink_here, &scratch);
		if (!src)
			return umpa_err_set(e, UMPA_ENOENT, "%s has no %s address to send from",
					    r->has_ifc        ? r->ifc.name
					    : pl.rt.ifname[0] ? pl.rt.ifname
							      : "the interface",
					    pl.family == AF_INET ? "IPv4" : "IPv6");
		if ((rc = set_bytes_(p, li, "src", src, pl.n, e)) < 0)
			return rc;
		changed = 1;
	}
	if (pl.need_mac) {
		if (pl.group) {
			memcpy(mac, pl.mac, 6);
		} else if ((rc = umpa_resolve(r, pl.family, pl.hop, mac, e)) < 0) {
			if (pl.hop != pl.d)
				umpa_err_prefix(e, "gateway for %s: ", addr_text_(pl.family, pl.d, txt, sizeof(txt)));
			return rc;
		}
		if ((rc = set_bytes_(p, 0, "dst", mac, 6, e)) < 0)
			return rc;
		changed = 1;
	}
	return changed ? umpa_pkt_finish(p, e) : 0;
}
