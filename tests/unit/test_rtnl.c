/* test_rtnl.c - the kernel's tables (core/umpa_rtnl.h) against iproute2, and the address policy on top of them
 * (sched/umpa_resolve.h), in a private network namespace.
 *
 * The test process unshares its network namespace and builds a small world
 * with ip(8): a veth pair with MACs, MTUs and addresses (one with a peer),
 * routes through gateways with metrics and sources, unreachable / prohibit /
 * blackhole routes, and neighbours in several states, 300 of them so that a
 * dump spans several datagrams.  Each dump (links, addresses, routes of the
 * main table, neighbours) is printed one line per entry and compared with
 * the same lines made from `ip -j` (iproute2's JSON, turned into lines by a
 * small Python script): the kernel's own tool is the oracle.  umpa_route_get
 * is compared with `ip -j route get` and its refusals are checked by
 * reason.  The resolver then fills packets in that world: next hops through
 * gateways from the neighbour table, group MACs with no route, a frame whose
 * addresses are all set left alone, per-packet refusals with their reason,
 * a layer-3 resolver with no interface, and a silent host asked once (the
 * second ask answers from the cache of failures at once).  Needs root (CAP_SYS_ADMIN for unshare); exits 77 (skip)
 * otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "umpa_lua.h"
#include "umpa_resolve.h"
#include "umpa_rtnl.h"
#include "unit.h"

static char pyfile[] = "/tmp/umpa-test-rtnl-XXXXXX";

/* iproute2's JSON into the lines the dumps print below, sorted. */
static const char py[] =
    "import json, sys\n"
    "kind = sys.argv[1]\n"
    "out = []\n"
    "for x in json.load(sys.stdin):\n"
    "    if kind == 'link':\n"
    "        if x.get('link_type') in ('ether', 'loopback'):\n"
    "            out.append('%d %s mtu=%d addr=%s brd=%s up=%d' % (x['ifindex'], x['ifname'], x.get('mtu', 0),\n"
    "                       x.get('address', ''), x.get('broadcast', ''), 'UP' in x.get('flags', [])))\n"
    "    elif kind == 'addr':\n"
    "        for a in x.get('addr_info', []):\n"
    "            out.append('%d %s %s/%d peer=%s scope=%s' % (x['ifindex'], a['family'], a['local'],\n"
    "                       a['prefixlen'], a.get('address', ''), a.get('scope', '')))\n"
    "    elif kind == 'route':\n"
    "        out.append('%s %s gw=%s dev=%s src=%s metric=%d' % (x.get('type', 'unicast'), x['dst'],\n"
    "                   x.get('gateway', ''), x.get('dev', ''), x.get('prefsrc', ''), x.get('metric', 0)))\n"
    "    elif kind == 'neigh':\n"
    "        out.append('%s dev=%s ll=%s %s' % (x['dst'], x.get('dev', ''), x.get('lladdr', ''),\n"
    "                   ','.join(x.get('state', []))))\n"
    "    elif kind == 'get':\n"
    "        out.append('dev=%s gw=%s src=%s' % (x.get('dev', ''), x.get('gateway', ''), x.get('prefsrc', '')))\n"
    "print('\\n'.join(sorted(out)))\n";

static int sh(const char *cmd)
{
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Lines, sorted and joined, to compare with the oracle's. */
struct lines {
	char *l[4096];
	size_t n;
};

static void add(struct lines *ls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct lines *ls, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	assert_true(ls->n < 4096);
	ls->l[ls->n] = strdup(buf);
	assert_non_null(ls->l[ls->n]);
	ls->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines sorted as Python's sorted() does for ASCII, joined with newlines (malloc'd); frees them. */
static char *joined(struct lines *ls)
{
	size_t len = 1;
	char *s;

	qsort(ls->l, ls->n, sizeof ls->l[0], cmp_str);
	for (size_t i = 0; i < ls->n; i++)
		len += strlen(ls->l[i]) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < ls->n; i++) {
		strcat(s, ls->l[i]);
		if (i + 1 < ls->n)
			strcat(s, "\n");
		free(ls->l[i]);
	}
	ls->n = 0;
	return s;
}

/* What `ip -j ARGS | python3 py KIND` prints, without the last newline (malloc'd). */
static char *oracle(const char *ipargs, const char *kind)
{
	char cmd[512], *out;
	size_t n = 0, cap = 1 << 20;
	FILE *f;

	snprintf(cmd, sizeof cmd, "ip -j %s | python3 %s %s", ipargs, pyfile, kind);
	f = popen(cmd, "r");
	assert_non_null(f);
	out = calloc(1, cap);
	assert_non_null(out);
	n = fread(out, 1, cap - 1, f);
	assert_int_equal(pclose(f), 0);
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	return out;
}

static void same(const char *what, char *mine, char *theirs)
{
	if (strcmp(mine, theirs) != 0)
		fail_msg("%s differ\n--- umpa ---\n%s\n--- ip -j ---\n%s", what, mine, theirs);
	free(mine);
	free(theirs);
}

static const char *ntop(int family, const uint8_t *a, char *buf)
{
	return inet_ntop(family, a, buf, INET6_ADDRSTRLEN);
}

static const char *hw(const uint8_t *b, size_t n, char *buf)
{
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		sprintf(buf + 3 * i, i + 1 < n ? "%02x:" : "%02x", b[i]);
	return buf;
}

static const char *ifname(unsigned idx, char *buf)
{
	if (!idx || !if_indextoname(idx, buf))
		buf[0] = 0;
	return buf;
}

/* ---- links ---- */

static int on_link(void *arg, const struct umpa_link *l)
{
	char a[128], b[128];

	if (l->type != ARPHRD_ETHER && l->type != ARPHRD_LOOPBACK)
		return 0;
	add(arg, "%u %s mtu=%u addr=%s brd=%s up=%d", l->index, l->name, l->mtu, hw(l->addr, l->addr_len, a),
	    hw(l->brd, l->brd_len, b), (l->flags & IFF_UP) != 0);
	return 0;
}

static void test_links(void **state)
{
	static struct lines ls;
	struct umpa_err e = {0};

	(void)state;
	assert_int_equal(umpa_rtnl_links(on_link, &ls, &e), 0);
	assert_true(ls.n >= 3); /* lo, u0, u1 */
	same("links", joined(&ls), oracle("link show", "link"));
}

/* ---- addresses ---- */

static int on_addr(void *arg, const struct umpa_ifaddr *a)
{
	static const char *const scopes[256] = {[RT_SCOPE_UNIVERSE] = "global",
						[RT_SCOPE_SITE] = "site",
						[RT_SCOPE_LINK] = "link",
						[RT_SCOPE_HOST] = "host"};
	char t[INET6_ADDRSTRLEN], pe[INET6_ADDRSTRLEN];

	add(arg, "%u %s %s/%u peer=%s scope=%s", a->ifindex, a->family == AF_INET ? "inet" : "inet6",
	    ntop(a->family, a->addr, t), a->prefix, a->has_peer ? ntop(a->family, a->peer, pe) : "",
	    scopes[a->scope & 0xff] ? scopes[a->scope & 0xff] : "?");
	return 0;
}

static void test_addrs(void **state)
{
	static struct lines ls;
	struct umpa_err e = {0};

	(void)state;
	assert_int_equal(umpa_rtnl_addrs(AF_UNSPEC, on_addr, &ls, &e), 0);
	assert_true(ls.n >= 5);
	same("addresses", joined(&ls), oracle("addr show", "addr"));
	/* one family only */
	assert_int_equal(umpa_rtnl_addrs(AF_INET, on_addr, &ls, &e), 0);
	same("IPv4 addresses", joined(&ls), oracle("-4 addr show", "addr"));
}

/* ---- routes ---- */

static int on_route(void *arg, const struct umpa_route *r)
{
	static const char *const types[] = {
	    [RTN_UNICAST] = "unicast",         [RTN_LOCAL] = "local",         [RTN_BROADCAST] = "broadcast",
	    [RTN_ANYCAST] = "anycast",         [RTN_MULTICAST] = "multicast", [RTN_BLACKHOLE] = "blackhole",
	    [RTN_UNREACHABLE] = "unreachable", [RTN_PROHIBIT] = "prohibit"};
	char d[64], g[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];
	unsigned full = r->family == AF_INET ? 32 : 128;

	if (r->table != RT_TABLE_MAIN)
		return 0;
	if (r->dst_len == 0)
		snprintf(d, sizeof d, "default");
	else if (r->dst_len == full)
		ntop(r->family, r->dst, d);
	else {
		ntop(r->family, r->dst, d);
		snprintf(d + strlen(d), sizeof d - strlen(d), "/%u", r->dst_len);
	}
	add(arg, "%s %s gw=%s dev=%s src=%s metric=%u", r->type < 9 && types[r->type] ? types[r->type] : "?", d,
	    r->has_gateway ? ntop(r->family, r->gateway, g) : "", r->ifname,
	    r->has_prefsrc ? ntop(r->family, r->prefsrc, s) : "", r->priority);
	return 0;
}

static int stop_at_first(void *arg, const struct umpa_route *r)
{
	(void)r;
	(*(int *)arg)++;
	return 1;
}

static int refuse(void *arg, const struct umpa_route *r)
{
	(void)arg;
	(void)r;
	return -UMPA_ERANGE;
}

static void test_routes(void **state)
{
	static struct lines ls;
	struct umpa_err e = {0};
	int seen = 0;

	(void)state;
	assert_int_equal(umpa_rtnl_routes(AF_INET, on_route, &ls, &e), 0);
	assert_true(ls.n >= 6);
	same("IPv4 routes (main table)", joined(&ls), oracle("-4 route show table main", "route"));
	assert_int_equal(umpa_rtnl_routes(AF_INET6, on_route, &ls, &e), 0);
	assert_true(ls.n >= 3);
	same("IPv6 routes (main table)", joined(&ls), oracle("-6 route show table main", "route"));
	/* a callback stops the walk, or fails it with its own error */
	assert_int_equal(umpa_rtnl_routes(AF_UNSPEC, stop_at_first, &seen, &e), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(umpa_rtnl_routes(AF_INET, refuse, NULL, &e), -UMPA_ERANGE);
}

/* ---- one destination ---- */

static void route_get_like_ip(const char *dst)
{
	struct umpa_route r;
	struct umpa_err e = {0};
	struct lines ls = {.n = 0};
	uint8_t a[16];
	int family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	char g[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN], args[128];

	assert_int_equal(inet_pton(family, dst, a), 1);
	if (umpa_route_get(family, a, &r, &e) < 0)
		fail_msg("route get %s: %s", dst, e.msg);
	assert_int_equal(r.family, family);
	assert_memory_equal(r.dst, a, family == AF_INET ? 4 : 16);
	add(&ls, "dev=%s gw=%s src=%s", r.ifname, r.has_gateway ? ntop(family, r.gateway, g) : "",
	    r.has_prefsrc ? ntop(family, r.prefsrc, s) : "");
	snprintf(args, sizeof args, "route get %s", dst);
	same(dst, joined(&ls), oracle(args, "get"));
}

static void no_route(const char *dst, const char *why)
{
	struct umpa_route r;
	struct umpa_err e = {0};
	uint8_t a[16];
	int family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	char want[256];

	assert_int_equal(inet_pton(family, dst, a), 1);
	assert_int_equal(umpa_route_get(family, a, &r, &e), -UMPA_ENOENT);
	snprintf(want, sizeof want, "no route to %s (%s)", dst, why);
	assert_string_equal(e.msg, want);
}

static void test_route_get(void **state)
{
	struct umpa_route r;
	struct umpa_err e = {0};
	uint8_t a[4] = {10, 78, 0, 2};

	(void)state;
	route_get_like_ip("10.78.0.2");     /* on-link */
	route_get_like_ip("10.78.5.9");     /* through a gateway, metric 7 */
	route_get_like_ip("10.78.6.9");     /* through another, with a source named */
	route_get_like_ip("10.78.9.2");     /* the peer of a point-to-point address */
	route_get_like_ip("fd00:78::2");    /* IPv6 on-link */
	route_get_like_ip("fd00:99::1234"); /* IPv6 through a gateway */
	no_route("192.0.2.1", "network unreachable");
	no_route("10.99.1.5", "host unreachable");
	no_route("10.99.2.5", "prohibited");
	no_route("10.99.3.5", "blackhole route or invalid destination");
	no_route("2001:db8::1", "network unreachable");
	assert_int_equal(umpa_route_get(AF_INET, a, &r, &e), 0);
	assert_string_equal(r.ifname, "u0");
	assert_false(r.has_gateway);
	assert_int_equal(umpa_route_get(17, a, &r, &e), -UMPA_EINVAL);
}

/* ---- neighbours ---- */

static int on_neigh(void *arg, const struct umpa_neigh *n)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {{NUD_INCOMPLETE, "INCOMPLETE"}, {NUD_REACHABLE, "REACHABLE"}, {NUD_STALE, "STALE"},
		     {NUD_DELAY, "DELAY"},           {NUD_PROBE, "PROBE"},         {NUD_FAILED, "FAILED"},
		     {NUD_NOARP, "NOARP"},           {NUD_PERMANENT, "PERMANENT"}};
	char t[INET6_ADDRSTRLEN], d[IF_NAMESIZE], l[128], st[128] = "";

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (n->state & names[i].bit)
			snprintf(st + strlen(st), sizeof st - strlen(st), "%s%s", st[0] ? "," : "", names[i].name);
	if (!n->state)
		snprintf(st, sizeof st, "NONE");
	add(arg, "%s dev=%s ll=%s %s", ntop(n->family, n->addr, t), ifname(n->ifindex, d),
	    hw(n->lladdr, n->lladdr_len, l), st);
	return 0;
}

/* Free what @p ls holds. */
static void joined_free(struct lines *ls)
{
	free(joined(ls));
}

/*
 * The neighbour table of family @p af compared with `ip -j IPARGS`.  The kernel adds entries of its
 * own while the interfaces settle (the IPv6 all-routers group after a router solicitation), so a
 * table that changed between the two dumps is dumped again: up to 20 times, 50 ms apart.
 */
static void same_neighs(int af, const char *what, const char *ipargs)
{
	static struct lines ls;
	struct umpa_err e = {0};
	char *mine, *theirs;

	for (int i = 0;; i++) {
		assert_int_equal(umpa_rtnl_neighs(af, on_neigh, &ls, &e), 0);
		mine = joined(&ls);
		theirs = oracle(ipargs, "neigh");
		if (strcmp(mine, theirs) == 0 || i == 19)
			break;
		free(mine);
		free(theirs);
		usleep(50000);
	}
	same(what, mine, theirs);
}

static void test_neighs(void **state)
{
	static struct lines ls;
	struct umpa_err e = {0};
	uint8_t mac[6];
	static const uint8_t a300[4] = {10, 78, 2, 44}, m300[6] = {2, 0, 0, 0, 2, 44};

	(void)state;
	assert_int_equal(umpa_rtnl_neighs(AF_UNSPEC, on_neigh, &ls, &e), 0);
	assert_true(ls.n >= 300); /* several datagrams */
	joined_free(&ls);
	same_neighs(AF_UNSPEC, "neighbours", "neigh show nud all");
	same_neighs(AF_INET6, "IPv6 neighbours", "-6 neigh show nud all");
	/* the lookup of umpa_live.h on top of the dump: the last of 300 entries is found */
	assert_int_equal(umpa_neigh_lookup("u0", AF_INET, a300, mac, &e), 0);
	assert_memory_equal(mac, m300, 6);
}

/* ---- the address policy ---- */

static int keep_one(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	return umpa_pkt_dup(arg, p, e);
}

/* Build @p expr into @p p (one packet), fill it with @p r; the resolver's result. */
static int fill(struct umpa_resolver *r, const char *expr, struct umpa_pkt *p, struct umpa_err *e)
{
	struct umpa_lua *L = umpa_lua_open(e);

	assert_non_null(L);
	umpa_pkt_release(p);
	if (umpa_lua_build(L, expr, "test", 1, keep_one, p, e) != 1)
		fail_msg("%s: %s", expr, e->msg);
	umpa_lua_close(L);
	return umpa_resolve_dst(r, p, e);
}

/* Field @p name of the first layer @p proto as text. */
static const char *field(const struct umpa_pkt *p, const char *proto, const char *name)
{
	static struct umpa_sbuf b;
	const struct umpa_proto *pr = umpa_proto_find(proto);
	int li = pr ? umpa_pkt_find(p, pr, 0) : -1;

	assert_true(li >= 0);
	umpa_sbuf_reset(&b);
	assert_int_equal(umpa_field_format(p, (unsigned)li, umpa_proto_field(pr, name), &b), 0);
	return b.s;
}

static void test_resolve(void **state)
{
	struct umpa_err e = {0};
	struct umpa_pkt p;
	struct umpa_resolver *r, *r3;
	struct timespec t0, t1;
	double ms;
	int rc;

	(void)state;
	umpa_pkt_init(&p);
	r = umpa_resolver_new("u0", NULL, NULL, &e);
	assert_non_null(r);
	/* off-link: the gateway's MAC (a permanent neighbour), the route's source, the interface's MAC */
	assert_int_equal(fill(r, "ether{}/ip{dst='10.78.5.9'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "eth", "dst"), "02:00:00:00:00:02");
	assert_string_equal(field(&p, "eth", "src"), "02:00:00:00:00:10");
	assert_string_equal(field(&p, "ip", "src"), "10.78.0.1");
	assert_int_equal(fill(r, "ether{}/ip{dst='10.78.6.9'}/udp{dport=9}", &p, &e), 0); /* another gateway */
	assert_string_equal(field(&p, "eth", "dst"), "02:00:00:00:00:03");
	assert_int_equal(fill(r, "ether{}/ipv6{dst='fd00:99::5'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "eth", "dst"), "02:00:00:00:00:04");
	assert_string_equal(field(&p, "ipv6", "src"), "fd00:78::1");
	/* group MACs, no route asked (there is no route to 224.1.2.3 here) */
	assert_int_equal(fill(r, "ether{}/ip{dst='224.1.2.3'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "eth", "dst"), "01:00:5e:01:02:03");
	assert_string_equal(field(&p, "ip", "src"), "10.78.0.1");
	assert_int_equal(fill(r, "ether{}/ip{dst='10.78.0.255'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "eth", "dst"), "ff:ff:ff:ff:ff:ff");
	assert_int_equal(fill(r, "ether{}/ipv6{dst='ff02::1:ff00:2'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "eth", "dst"), "33:33:ff:00:00:02");
	assert_true(strncmp(field(&p, "ipv6", "src"), "fe80::", 6) == 0); /* link scope: link-local source */
	/* ARP: broadcast, the sender is this interface */
	assert_int_equal(fill(r, "ether{}/arp{pdst='10.78.0.2'}", &p, &e), 0);
	assert_string_equal(field(&p, "eth", "dst"), "ff:ff:ff:ff:ff:ff");
	assert_string_equal(field(&p, "arp", "hwsrc"), "02:00:00:00:00:10");
	assert_string_equal(field(&p, "arp", "psrc"), "10.78.0.1");
	/* every address set: sent as set, routed or not */
	assert_int_equal(
	    fill(r, "ether{src='02:00:00:00:00:77', dst='02:00:00:00:00:99'}/ip{src='1.2.3.4', dst='192.0.2.1'}/udp{}",
		 &p, &e),
	    0);
	assert_string_equal(field(&p, "eth", "dst"), "02:00:00:00:00:99");
	assert_string_equal(field(&p, "ip", "src"), "1.2.3.4");
	/* per-packet refusals, with the reason */
	assert_int_equal(fill(r, "ether{}/ip{dst='192.0.2.1'}/udp{}", &p, &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "no route to 192.0.2.1 (network unreachable)");
	assert_int_equal(fill(r, "ether{}/ip{dst='10.99.2.7'}/udp{}", &p, &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "no route to 10.99.2.7 (prohibited)");
	assert_int_equal(fill(r, "ether{}/ip{dst='0.0.0.0'}/udp{}", &p, &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "the destination address is unset (0.0.0.0)");
	/* a silent on-link host (nobody owns 10.78.0.50): asked on the wire, then known silent */
	umpa_resolver_set_patience(r, 50 * 1000 * 1000, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fill(r, "ether{}/ip{dst='10.78.0.50'}/udp{}", &p, &e), -UMPA_ENOENT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(e.msg,
			    "10.78.0.50: no answer to ARP who-has (2 tries; no neighbour entry for 10.78.0.50 on u0)");
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 90); /* two tries of 50 ms */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fill(r, "ether{}/ip{dst='10.78.0.50'}/tcp{}", &p, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(rc, -UMPA_ENOENT);
	assert_true(strstr(e.msg, "10.78.0.50: no answer to ARP who-has") != NULL);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 40); /* from the cache of failures, not the wire */
	/* through a silent gateway: the reason names the destination and the gateway */
	assert_int_equal(system("ip route add 10.78.7.0/24 via 10.78.0.51"), 0);
	assert_int_equal(fill(r, "ether{}/ip{dst='10.78.7.1'}/udp{}", &p, &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "gateway for 10.78.7.1: 10.78.0.51: no answer to ARP who-has (2 tries; no neighbour "
				   "entry for 10.78.0.51 on u0)");
	umpa_resolver_free(r);

	/* layer 3, no interface: the route's source, nothing else; no route is a refusal */
	r3 = umpa_resolver_new(NULL, NULL, NULL, &e);
	assert_non_null(r3);
	assert_int_equal(fill(r3, "ip{dst='10.78.6.9'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "ip", "src"), "10.78.0.1");
	assert_int_equal(fill(r3, "ipv6{dst='fd00:99::5'}/udp{dport=9}", &p, &e), 0);
	assert_string_equal(field(&p, "ipv6", "src"), "fd00:78::1");
	assert_int_equal(fill(r3, "ip{dst='192.0.2.1'}/udp{}", &p, &e), -UMPA_ENOENT);
	assert_int_equal(fill(r3, "ether{}/ip{dst='10.78.6.9'}/udp{}", &p, &e), 0); /* layer 3: the IP source only */
	assert_string_equal(field(&p, "ip", "src"), "10.78.0.1");
	assert_string_equal(field(&p, "eth", "dst"), "ff:ff:ff:ff:ff:ff"); /* ether{}'s defaults, untouched */
	assert_string_equal(field(&p, "eth", "src"), "00:00:00:00:00:00");
	umpa_resolver_free(r3);
	assert_null(umpa_resolver_new("nope0", NULL, NULL, &e));
	assert_string_equal(e.msg, "no interface 'nope0'");
	umpa_pkt_release(&p);
}

static int setup_world(void)
{
	int fd;

	if (sh("ip link set lo up && ip link add u0 type veth peer name u1 && "
	       "ip link set u0 address 02:00:00:00:00:10 mtu 1400 && ip link set u1 mtu 1450 && "
	       "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && "
	       "ip addr add 10.78.0.1/24 dev u0 && ip addr add fd00:78::1/64 dev u0 nodad && "
	       "ip addr add 10.78.9.1 peer 10.78.9.2 dev u1 && "
	       "ip link set u0 up && ip link set u1 up && "
	       "ip route add 10.78.5.0/24 via 10.78.0.2 metric 7 && "
	       "ip route add 10.78.6.0/24 via 10.78.0.3 src 10.78.0.1 && "
	       "ip route add unreachable 10.99.1.0/24 && ip route add prohibit 10.99.2.0/24 && "
	       "ip route add blackhole 10.99.3.0/24 && "
	       "ip -6 route add fd00:99::/64 via fd00:78::2 metric 33 && "
	       "ip neigh add 10.78.0.2 lladdr 02:00:00:00:00:02 dev u0 nud permanent && "
	       "ip neigh add 10.78.0.3 lladdr 02:00:00:00:00:03 dev u0 nud stale && "
	       "ip -6 neigh add fd00:78::2 lladdr 02:00:00:00:00:04 dev u0 nud permanent && "
	       "(ip neigh replace 10.78.0.9 dev u0 nud incomplete 2>/dev/null || "
	       " ip neigh replace 10.78.0.9 dev u0 nud failed) && "
	       "for i in $(seq 1 150); do printf 'neigh add 10.78.1.%d lladdr 02:00:00:00:01:%02x dev u0 nud "
	       "permanent\\n"
	       "neigh add 10.78.2.%d lladdr 02:00:00:00:02:%02x dev u0 nud permanent\\n' $i $i $i $i; done | "
	       "ip -batch -") != 0)
		return -1;
	fd = mkstemp(pyfile);
	if (fd < 0 || write(fd, py, sizeof py - 1) != (ssize_t)(sizeof py - 1))
		return -1;
	close(fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_links),     cmocka_unit_test(test_addrs),  cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_route_get), cmocka_unit_test(test_neighs), cmocka_unit_test(test_resolve),
	};
	int rc;

	if (getuid() != 0) {
		printf("SKIP: test_rtnl needs root (a private network namespace)\n");
		return 77;
	}
	if (sh("command -v ip >/dev/null && command -v python3 >/dev/null") != 0) {
		printf("SKIP: test_rtnl needs ip (iproute2) and python3\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("SKIP: cannot unshare a network namespace: %s\n", strerror(errno));
		return 77;
	}
	if (setup_world() != 0) {
		printf("FAIL: cannot set up the namespace\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(pyfile);
	return rc;
}
