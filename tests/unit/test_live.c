/* test_live.c - live I/O (core/umpa_live.h) against the real kernel, in a private network namespace.
 *
 * The test process unshares its network namespace (so nothing it sends can
 * leave), makes a veth pair u0 <-> u1 with addresses and permanent neighbour
 * entries (ip(8) from iproute2), then: interfaces against what it set,
 * injection on u0 (libnet single frames, the TX ring in batches, raw IPv4 and
 * IPv6 where the kernel routes and resolves) captured on u1 byte for byte,
 * direction filtering, the kernel's neighbour table over rtnetlink, capture
 * and injection errors, and dropping privileges for good.  Needs root
 * (CAP_SYS_ADMIN for unshare, CAP_NET_RAW); exits 77 (skip) otherwise.
 */
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umpa_live.h"
#include "umpa_lua.h"
#include "unit.h"

#define MAC_U0 "02:00:00:00:00:10"
static const uint8_t mac_u0[6] = {2, 0, 0, 0, 0, 0x10};
static const uint8_t mac_n4[6] = {2, 0, 0, 0, 0, 2}; /* neighbour 10.78.0.2 */
static const uint8_t mac_n6[6] = {2, 0, 0, 0, 0, 3}; /* neighbour fd00:78::2 */

static int sh(const char *cmd)
{
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Packets built by Lua, kept (owned copies); build() appends. */
struct pkts {
	struct umpa_pkt p[2048];
	unsigned n;
};

static int keep(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct pkts *k = arg;
	if (k->n >= 2048)
		return umpa_err_set(e, UMPA_ERANGE, "too many");
	umpa_pkt_init(&k->p[k->n]);
	if (umpa_pkt_dup(&k->p[k->n], p, e) < 0)
		return -1;
	k->n++;
	return 0;
}

static void build(struct pkts *k, const char *expr)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);

	assert_non_null(L);
	if (umpa_lua_build(L, expr, "test", 0, keep, k, &e) < 0)
		fail_msg("%s: %s", expr, e.msg);
	umpa_lua_close(L);
}

static void release(struct pkts *k)
{
	for (unsigned i = 0; i < k->n; i++)
		umpa_pkt_release(&k->p[i]);
	k->n = 0;
}

/* What a capture collected: owned copies. */
struct got {
	struct umpa_pkt p[2048];
	unsigned n;
	int bad_meta;
};

static void collect(struct umpa_pkt *p, void *arg)
{
	struct got *g = arg;
	if (!p->ro || p->nlayers != 0 || p->ts_sec <= 0 || p->ts_nsec >= 1000000000u || p->wirelen < p->len)
		g->bad_meta++;
	if (g->n < 2048) {
		umpa_pkt_init(&g->p[g->n]);
		assert_int_equal(umpa_pkt_dup(&g->p[g->n], p, NULL), 0);
		g->p[g->n].linktype = p->linktype;
	}
	g->n++;
}

/* Poll and dispatch until @p want packets came or @p ms passed. */
static void drain(struct umpa_cap *c, struct got *g, unsigned want, int ms)
{
	struct pollfd pfd = {.fd = umpa_cap_fd(c), .events = POLLIN};
	struct umpa_err e = {0};

	for (int waited = 0; g->n < want && waited < ms; waited += 20) {
		if (poll(&pfd, 1, 20) < 0)
			break;
		if (umpa_cap_dispatch(c, 0, collect, g, &e) < 0)
			fail_msg("dispatch: %s", e.msg);
	}
	/* and anything that came on top */
	if (umpa_cap_dispatch(c, 0, collect, g, &e) < 0)
		fail_msg("dispatch: %s", e.msg);
}

static void got_free(struct got *g)
{
	for (unsigned i = 0; i < g->n && i < 2048; i++)
		umpa_pkt_release(&g->p[i]);
	g->n = 0;
}

/*
 * A capture on @p ifname.  Immediate mode makes libpcap use TPACKET_V2, whose
 * slots are sized for the largest packet (64 KiB with offloads on a veth): an
 * 8 MiB buffer then holds only 128 frames.  Bursts are captured in
 * TPACKET_V3 mode (immediate off, 20 ms block timeout), which packs them.
 */
static struct umpa_cap *cap_on_(const char *ifname, const char *filter, enum umpa_cap_dir dir, int immediate)
{
	struct umpa_cap_opts o;
	struct umpa_err e = {0};
	struct umpa_cap *c;

	umpa_cap_opts_init(&o);
	o.filter = filter;
	o.dir = dir;
	o.bufsize = 8 << 20;
	o.immediate = immediate;
	o.timeout_ms = 20;
	c = umpa_cap_open(ifname, &o, &e);
	if (!c)
		fail_msg("cap_open %s: %s", ifname, e.msg);
	return c;
}

static struct umpa_cap *cap_on(const char *ifname, const char *filter, enum umpa_cap_dir dir)
{
	return cap_on_(ifname, filter, dir, 1);
}

static int setup(void **state)
{
	(void)state;
	return 0;
}

/* ---- interfaces ---- */

static void test_iface(void **state)
{
	struct umpa_iface it, *list;
	struct umpa_err e = {0};
	size_t n;
	int seen4 = 0, seen6 = 0, found = 0;

	(void)state;
	assert_int_equal(umpa_iface_get("u0", &it, &e), 0);
	assert_string_equal(it.name, "u0");
	assert_int_equal(it.index, if_nametoindex("u0"));
	assert_true(it.has_mac);
	assert_memory_equal(it.mac, mac_u0, 6);
	assert_int_equal(it.mtu, 1450);
	assert_int_equal(it.linktype, 1);
	assert_true(it.flags & UMPA_IF_UP);
	assert_false(it.flags & UMPA_IF_LOOPBACK);
	for (size_t i = 0; i < it.naddrs; i++) {
		static const uint8_t a4[4] = {10, 78, 0, 1};
		static const uint8_t a6[16] = {0xfd, 0, 0, 0x78, [15] = 1};
		if (it.addrs[i].family == AF_INET && !memcmp(it.addrs[i].addr, a4, 4) && it.addrs[i].prefix == 24)
			seen4 = 1;
		if (it.addrs[i].family == AF_INET6 && !memcmp(it.addrs[i].addr, a6, 16) && it.addrs[i].prefix == 64)
			seen6 = 1;
	}
	assert_true(seen4);
	assert_true(seen6);

	assert_int_equal(umpa_iface_get("lo", &it, &e), 0);
	assert_true(it.flags & UMPA_IF_LOOPBACK);
	assert_false(it.has_mac);

	assert_int_equal(umpa_iface_get("nope0", &it, &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "no interface 'nope0'");

	assert_int_equal(umpa_ifaces(&list, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		found += !strcmp(list[i].name, "u0") || !strcmp(list[i].name, "u1") || !strcmp(list[i].name, "lo");
	assert_int_equal(found, 3);
	assert_null(umpa_ifaces_free(list));
}

/* ---- injection, captured on the other end ---- */

static void test_inject_l2(void **state)
{
	struct pkts *k = calloc(1, sizeof *k);
	struct got *g = calloc(1, sizeof *g);
	struct umpa_err e = {0};
	struct umpa_inj_stats st;
	struct umpa_cap_stats cs;
	struct umpa_cap *c = cap_on("u1", "ether proto 0x88b5", UMPA_DIR_INOUT);
	struct umpa_inj *j = umpa_inj_open("u0", 2, &e);

	(void)state;
	assert_non_null(j);
	assert_int_equal(umpa_cap_linktype(c), 1);
	assert_true(umpa_cap_nsec(c));
	build(k, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b5}/\"one\"");
	build(k, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b5}/\"two\"");
	build(k, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b5}/\"three\"");
	assert_int_equal(k->n, 3);
	for (unsigned i = 0; i < k->n; i++)
		if (umpa_inj_send(j, &k->p[i], &e) < 0)
			fail_msg("send: %s", e.msg);
	drain(c, g, 3, 2000);
	assert_int_equal(g->n, 3);
	assert_int_equal(g->bad_meta, 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(g->p[i].len, k->p[i].len);
		assert_memory_equal(g->p[i].data, k->p[i].data, k->p[i].len);
		assert_int_equal(g->p[i].linktype, 1);
	}
	umpa_inj_stats(j, &st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.bytes, k->p[0].len + k->p[1].len + k->p[2].len);
	assert_int_equal(umpa_cap_stats(c, &cs, &e), 0);
	assert_int_equal(cs.delivered, 3);
	assert_int_equal(cs.dropped, 0);

	/* a frame that is not Ethernet is refused at layer 2, and counted */
	k->p[0].linktype = 101;
	assert_int_equal(umpa_inj_send(j, &k->p[0], &e), -UMPA_EINVAL);
	umpa_inj_stats(j, &st);
	assert_int_equal(st.errors, 1);

	got_free(g);
	release(k);
	assert_null(umpa_inj_close(j));
	assert_null(umpa_cap_close(c));
	free(k);
	free(g);
}

static void test_inject_batch_ring(void **state)
{
	enum { N = 1500 };
	struct pkts *k = calloc(1, sizeof *k);
	struct got *g = calloc(1, sizeof *g);
	struct umpa_err e = {0};
	struct umpa_inj_stats st;
	struct umpa_cap_stats cs;
	struct umpa_pkt *v[N];
	struct umpa_cap *c = cap_on_("u1", "ether proto 0x88b6", UMPA_DIR_INOUT, 0);
	struct umpa_inj *j = umpa_inj_open("u0", 2, &e);
	int sent;
	unsigned inorder = 0;

	(void)state;
	assert_non_null(j);
	/* 1500 frames, each carrying its number (4 bytes, big-endian) at offset 14 */
	build(k, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b6}/\"\\0\\0\\0\\0padding-to-60-bytes-"
		 "------------------------\"");
	assert_int_equal(k->n, 1);
	for (unsigned i = 1; i < N; i++) {
		keep(k, &k->p[0], &e);
	}
	assert_int_equal(k->n, N);
	for (unsigned i = 0; i < N; i++) {
		uint8_t *d = k->p[i].data + 14;
		d[0] = (uint8_t)(i >> 24);
		d[1] = (uint8_t)(i >> 16);
		d[2] = (uint8_t)(i >> 8);
		d[3] = (uint8_t)i;
		v[i] = &k->p[i];
	}
	/* in three batches, the first small, so the ring wraps */
	sent = umpa_inj_send_batch(j, v, 10, &e);
	assert_int_equal(sent, 10);
	assert_string_equal(umpa_inj_backend(j), "tx-ring");
	drain(c, g, 10, 2000);
	sent = umpa_inj_send_batch(j, v + 10, 990, &e);
	assert_int_equal(sent, 990);
	drain(c, g, 1000, 2000);
	sent = umpa_inj_send_batch(j, v + 1000, N - 1000, &e);
	assert_int_equal(sent, N - 1000);
	drain(c, g, N, 3000);
	assert_int_equal(g->n, N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(g->p[i].len, k->p[i].len);
		if (!memcmp(g->p[i].data, k->p[i].data, k->p[i].len))
			inorder++;
	}
	assert_int_equal(inorder, N);
	assert_int_equal(umpa_inj_flush(j, &e), 0); /* the ring's slots are counted as they come back */
	umpa_inj_stats(j, &st);
	assert_int_equal(st.sent, N);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.bytes, (uint64_t)N * k->p[0].len);
	assert_int_equal(umpa_cap_stats(c, &cs, &e), 0);
	assert_int_equal(cs.dropped, 0);
	assert_int_equal(cs.delivered, N);

	/* 5000 frames in one batch: the ring (2048 slots) fills and is waited on
	 * twice; every frame is counted once it has left, none lost */
	{
		enum { M = 5000 };
		struct umpa_pkt **mv = calloc(M, sizeof *mv);
		struct umpa_cap_stats cs0;
		uint64_t sent0 = st.sent;
		assert_non_null(mv);
		for (unsigned i = 0; i < M; i++)
			mv[i] = &k->p[i % N];
		assert_int_equal(umpa_cap_stats(c, &cs0, &e), 0);
		got_free(g);
		assert_int_equal(umpa_inj_send_batch(j, mv, M, &e), M);
		assert_int_equal(umpa_inj_flush(j, &e), 0);
		umpa_inj_stats(j, &st);
		assert_int_equal(st.sent - sent0, M);
		assert_int_equal(st.errors, 0);
		drain(c, g, M, 3000);
		assert_int_equal(umpa_cap_stats(c, &cs, &e), 0);
		print_message("      5000-frame batch: sent %llu, capture saw %u (delivered +%llu, dropped +%llu)\n",
			      (unsigned long long)(st.sent - sent0), g->n,
			      (unsigned long long)(cs.delivered - cs0.delivered),
			      (unsigned long long)(cs.dropped - cs0.dropped));
		assert_int_equal(cs.delivered - cs0.delivered + cs.dropped - cs0.dropped, M);
		got_free(g);
		free(mv);
	}

	/* a frame longer than a ring slot still goes out (through libnet) */
	{
		struct pkts *big = calloc(1, sizeof *big);
		struct umpa_pkt *bv[2];
		build(big, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b6}/string.rep(\"x\", 1436)");
		assert_int_equal(big->n, 1);
		keep(big, &k->p[0], &e);
		bv[0] = &big->p[0];
		bv[1] = &big->p[1];
		got_free(g);
		assert_int_equal(umpa_inj_send_batch(j, bv, 2, &e), 2);
		drain(c, g, 2, 2000);
		assert_int_equal(g->n, 2);
		assert_int_equal(g->p[0].len, 1450);
		assert_int_equal(g->p[1].len, k->p[0].len);
		release(big);
		free(big);
	}
	got_free(g);
	release(k);
	umpa_inj_close(j);
	umpa_cap_close(c);
	free(k);
	free(g);
}

static void test_inject_l3(void **state)
{
	struct pkts *k = calloc(1, sizeof *k);
	struct got *g = calloc(1, sizeof *g);
	struct umpa_err e = {0};
	struct umpa_cap *c = cap_on_("u1", "udp port 7777", UMPA_DIR_INOUT, 0);
	struct umpa_inj *j = umpa_inj_open("u0", 3, &e);
	struct umpa_inj_stats st;

	(void)state;
	assert_non_null(j);
	/* with an Ethernet header (skipped: the kernel makes its own), and without */
	build(k, "ether{dst=\"02:00:00:00:00:99\"}/ip{src=\"10.78.0.1\", dst=\"10.78.0.2\", id=4242}/udp{sport=1234, "
		 "dport=7777}/\"over ipv4\"");
	build(k, "ip{src=\"10.78.0.1\", dst=\"10.78.0.2\", id=4243}/udp{sport=1234, dport=7777}/\"raw ipv4\"");
	build(k, "ipv6{src=\"fd00:78::1\", dst=\"fd00:78::2\"}/udp{sport=1234, dport=7777}/\"over ipv6\"");
	assert_int_equal(k->n, 3);
	for (unsigned i = 0; i < k->n; i++)
		if (umpa_inj_send(j, &k->p[i], &e) < 0)
			fail_msg("send %u: %s", i, e.msg);
	drain(c, g, 3, 2000);
	assert_int_equal(g->n, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct umpa_pkt *q = &g->p[i];
		const struct umpa_pkt *s = &k->p[i];
		uint32_t l3 = i == 0 ? 14 : 0; /* where the IP header starts in what was sent */
		/* the kernel resolved the next hop from its neighbour table */
		assert_memory_equal(q->data, i == 2 ? mac_n6 : mac_n4, 6);
		assert_memory_equal(q->data + 6, mac_u0, 6);
		assert_int_equal(q->len - 14, s->len - l3);
		/* the IP packet arrived as built (IPv4: the kernel may only fill what was 0) */
		assert_memory_equal(q->data + 14, s->data + l3, s->len - l3);
	}
	umpa_inj_stats(j, &st);
	assert_int_equal(st.sent, 3);

	/* in bulk (sendmmsg): 150 packets, IPv4 and IPv6 runs interleaved, in order */
	release(k);
	got_free(g);
	{
		struct umpa_pkt *v[150];
		build(k, "ip{src=\"10.78.0.1\", dst=\"10.78.0.2\", id=range(1,50)}/udp{sport=1234, dport=7777}/\"v4\"");
		build(
		    k,
		    "ipv6{src=\"fd00:78::1\", dst=\"fd00:78::2\", fl=range(1,50)}/udp{sport=1234, dport=7777}/\"v6\"");
		build(k,
		      "ether{}/ip{src=\"10.78.0.1\", dst=\"10.78.0.2\", id=range(51,100)}/udp{sport=1234, dport=7777}");
		assert_int_equal(k->n, 150);
		for (unsigned i = 0; i < 150; i++)
			v[i] = &k->p[i];
		assert_int_equal(umpa_inj_send_batch(j, v, 150, &e), 150);
		assert_string_equal(umpa_inj_backend(j), "sendmmsg");
		drain(c, g, 150, 3000);
		assert_int_equal(g->n, 150);
		for (unsigned i = 0; i < 150; i++) {
			uint32_t l3 = i >= 100 ? 14 : 0;
			assert_int_equal(g->p[i].len - 14, k->p[i].len - l3);
			assert_memory_equal(g->p[i].data + 14, k->p[i].data + l3, k->p[i].len - l3);
		}
		umpa_inj_stats(j, &st);
		assert_int_equal(st.sent, 3 + 150);
		assert_int_equal(st.errors, 0);
	}

	/* no IP header: refused; in a batch, counted and skipped, the others go */
	release(k);
	build(k, "ether{}/arp{}");
	assert_int_equal(umpa_inj_send(j, &k->p[0], &e), -UMPA_EINVAL);
	assert_non_null(strstr(e.msg, "no IPv4 or IPv6 header"));
	build(k, "ip{src=\"10.78.0.1\", dst=\"10.78.0.2\"}/udp{sport=1234, dport=7777}/\"after arp\"");
	{
		struct umpa_pkt *v[3] = {&k->p[1], &k->p[0], &k->p[1]};
		umpa_inj_stats(j, &st);
		uint64_t err0 = st.errors;
		e.msg[0] = '\0';
		assert_int_equal(umpa_inj_send_batch(j, v, 3, &e), 2);
		assert_non_null(strstr(e.msg, "no IPv4 or IPv6 header"));
		umpa_inj_stats(j, &st);
		assert_int_equal(st.errors, err0 + 1);
	}

	got_free(g);
	release(k);
	umpa_inj_close(j);
	umpa_cap_close(c);
	free(k);
	free(g);
}

/* A capture with --direction in does not hear the frames sent on its own interface. */
static void test_direction(void **state)
{
	struct pkts *k = calloc(1, sizeof *k);
	struct got *gin = calloc(1, sizeof *gin), *gout = calloc(1, sizeof *gout), *gall = calloc(1, sizeof *gall);
	struct umpa_err e = {0};
	struct umpa_cap *cin = cap_on("u0", "ether proto 0x88b7", UMPA_DIR_IN);
	struct umpa_cap *cout = cap_on("u0", "ether proto 0x88b7", UMPA_DIR_OUT);
	struct umpa_cap *call = cap_on("u0", "ether proto 0x88b7", UMPA_DIR_INOUT);
	struct umpa_inj *j = umpa_inj_open("u0", 2, &e);

	(void)state;
	build(k, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b7}/\"a\"");
	build(k, "ether{dst=\"02:00:00:00:00:99\", src=\"" MAC_U0 "\", type=0x88b7}/\"b\"");
	for (unsigned i = 0; i < k->n; i++)
		assert_int_equal(umpa_inj_send(j, &k->p[i], &e), 0);
	drain(cout, gout, 2, 2000);
	drain(call, gall, 2, 2000);
	drain(cin, gin, 1, 300);
	assert_int_equal(gout->n, 2);
	assert_int_equal(gall->n, 2);
	assert_int_equal(gin->n, 0);
	got_free(gin);
	got_free(gout);
	got_free(gall);
	release(k);
	umpa_inj_close(j);
	umpa_cap_close(cin);
	umpa_cap_close(cout);
	umpa_cap_close(call);
	free(k);
	free(gin);
	free(gout);
	free(gall);
}

/* ---- errors ---- */

static void test_cap_errors(void **state)
{
	struct umpa_err e = {0};
	struct umpa_cap_opts o;
	struct umpa_cap *c;

	(void)state;
	assert_null(umpa_cap_open("nope0", NULL, &e));
	assert_string_equal(e.msg, "no interface 'nope0'");
	assert_int_equal(e.code, UMPA_ENOENT);
	umpa_cap_opts_init(&o);
	o.filter = "tcp port";
	assert_null(umpa_cap_open("u1", &o, &e));
	assert_int_equal(e.code, UMPA_EINVAL);
	assert_true(strncmp(e.msg, "bad filter 'tcp port': ", 23) == 0);
	/* a bad filter on an open handle leaves the old one */
	c = cap_on("u1", "udp", UMPA_DIR_INOUT);
	assert_int_equal(umpa_cap_setfilter(c, "ip and and", &e), -UMPA_EINVAL);
	assert_int_equal(umpa_cap_setfilter(c, NULL, &e), 0);
	umpa_cap_close(c);
	assert_null(umpa_inj_open("nope0", 2, &e));
	assert_string_equal(e.msg, "no interface 'nope0'");
	assert_null(umpa_inj_open("u0", 4, &e));
	assert_int_equal(e.code, UMPA_EINVAL);
	assert_null(umpa_cap_close(NULL));
	assert_null(umpa_inj_close(NULL));
}

/* As nobody (in a child), opening a capture or an injector fails with "permission denied". */
static void test_no_permission(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct umpa_err e = {0};
		int bad = 0;
		if (umpa_drop_privileges("nobody", &e) < 0)
			_exit(10);
		if (umpa_cap_open("u1", NULL, &e) || e.code != UMPA_EPERM || !strstr(e.msg, "u1: permission denied"))
			bad |= 1;
		if (umpa_inj_open("u0", 2, &e) || e.code != UMPA_EPERM || !strstr(e.msg, "permission denied"))
			bad |= 2;
		if (umpa_inj_open("u0", 3, &e) || e.code != UMPA_EPERM)
			bad |= 4;
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- neighbours ---- */

static void test_neigh(void **state)
{
	static const uint8_t a4[4] = {10, 78, 0, 2}, a4x[4] = {10, 78, 0, 77};
	static const uint8_t a6[16] = {0xfd, 0, 0, 0x78, [15] = 2};
	struct umpa_err e = {0};
	uint8_t mac[6];

	(void)state;
	memset(mac, 0, 6);
	assert_int_equal(umpa_neigh_lookup("u0", AF_INET, a4, mac, &e), 0);
	assert_memory_equal(mac, mac_n4, 6);
	memset(mac, 0, 6);
	assert_int_equal(umpa_neigh_lookup(NULL, AF_INET, a4, mac, &e), 0);
	assert_memory_equal(mac, mac_n4, 6);
	memset(mac, 0, 6);
	assert_int_equal(umpa_neigh_lookup("u0", AF_INET6, a6, mac, &e), 0);
	assert_memory_equal(mac, mac_n6, 6);
	assert_int_equal(umpa_neigh_lookup("u0", AF_INET, a4x, mac, &e), -UMPA_ENOENT);
	assert_int_equal(umpa_neigh_lookup("u1", AF_INET, a4, mac, &e), -UMPA_ENOENT);
	assert_int_equal(umpa_neigh_lookup("nope0", AF_INET, a4, mac, &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "no interface 'nope0'");
	/* a table of 250+ entries comes in several netlink messages: the last one is found */
	assert_int_equal(
	    sh("for i in $(seq 1 250); do printf 'neigh add 10.78.1.%d lladdr 02:00:00:00:01:%02x dev u0 nud "
	       "permanent\\n' $i $i; done | ip -batch -"),
	    0);
	{
		static const uint8_t a250[4] = {10, 78, 1, 250}, m250[6] = {2, 0, 0, 0, 1, 250};
		memset(mac, 0, 6);
		assert_int_equal(umpa_neigh_lookup("u0", AF_INET, a250, mac, &e), 0);
		assert_memory_equal(mac, m250, 6);
	}
	/* a failed entry (incomplete: nobody answered) is not usable */
	assert_int_equal(sh("ip neigh replace 10.78.0.9 dev u0 nud incomplete 2>/dev/null || "
			    "ip neigh replace 10.78.0.9 dev u0 nud failed"),
			 0);
	{
		static const uint8_t a9[4] = {10, 78, 0, 9};
		assert_int_equal(umpa_neigh_lookup("u0", AF_INET, a9, mac, &e), -UMPA_ENOENT);
	}
}

/* ---- privileges ---- */

static void test_drop_privileges(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	struct umpa_err e = {0};
	pid_t pid;
	int st;

	(void)state;
	assert_non_null(pw);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t groups[64];
		int ng, bad = 0;
		if (umpa_drop_privileges("nobody", &e) < 0)
			_exit(100);
		if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid)
			bad |= 1;
		errno = 0;
		if (setuid(0) != -1 || errno != EPERM) /* the proof: root cannot be regained */
			bad |= 2;
		if (seteuid(0) != -1 || setgid(0) != -1)
			bad |= 4;
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			bad |= 8;
		ng = getgroups(64, groups);
		for (int i = 0; i < ng; i++)
			if (groups[i] == 0)
				bad |= 16; /* root's group 0 is gone */
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(umpa_drop_privileges("no-such-user-umpa", &e), -UMPA_ENOENT);
	assert_string_equal(e.msg, "no user 'no-such-user-umpa'");
	assert_int_equal(getuid(), 0); /* the failed call changed nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iface),
	    cmocka_unit_test(test_inject_l2),
	    cmocka_unit_test(test_inject_batch_ring),
	    cmocka_unit_test(test_inject_l3),
	    cmocka_unit_test(test_direction),
	    cmocka_unit_test(test_cap_errors),
	    cmocka_unit_test(test_no_permission),
	    cmocka_unit_test(test_neigh),
	    cmocka_unit_test(test_drop_privileges),
	};

	if (getuid() != 0) {
		printf("SKIP: test_live needs root (a private network namespace, raw sockets)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("SKIP: cannot unshare a network namespace: %s\n", strerror(errno));
		return 77;
	}
	if (sh("ip link set lo up && ip link add u0 type veth peer name u1 && "
	       "ip link set u0 address " MAC_U0 " mtu 1450 && ip link set u1 mtu 1450 && "
	       "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && "
	       "ip addr add 10.78.0.1/24 dev u0 && ip addr add fd00:78::1/64 dev u0 nodad && "
	       "ip link set u0 up && ip link set u1 up && "
	       "ip neigh add 10.78.0.2 lladdr 02:00:00:00:00:02 dev u0 nud permanent && "
	       "ip -6 neigh add fd00:78::2 lladdr 02:00:00:00:00:03 dev u0 nud permanent") != 0) {
		printf("FAIL: cannot set up the veth pair in the private namespace\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
