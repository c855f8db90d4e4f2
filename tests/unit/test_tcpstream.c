/* test_tcpstream.c - the userland TCP endpoint pair: handshake, data, teardown, checked by umpa and tshark. */
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_tcpstream.h"
#include "unit.h"

/* Every packet the stream emitted, and optionally a capture file. */
struct coll {
	struct umpa_pkt *pk;
	size_t n, cap;
	struct umpa_capw *w;
	int fail_after; /* > 0: the callback fails on that packet */
};

static int collect(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct coll *c = arg;

	assert_ptr_equal(comment, p->comment);
	if (c->fail_after && (int)c->n + 1 == c->fail_after)
		return umpa_err_set(e, UMPA_EIO, "stop here");
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->pk = realloc(c->pk, c->cap * sizeof(*c->pk));
		assert_non_null(c->pk);
	}
	umpa_pkt_init(&c->pk[c->n]);
	assert_int_equal(umpa_pkt_dup(&c->pk[c->n], p, NULL), 0);
	c->n++;
	if (c->w && umpa_capw_write(c->w, p, e) < 0)
		return -1;
	return 0;
}

static void coll_free(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		umpa_pkt_release(&c->pk[i]);
	free(c->pk);
	memset(c, 0, sizeof(*c));
}

static uint8_t c2s[5000], s2c[300];

static void fill_data(void)
{
	for (size_t i = 0; i < sizeof(c2s); i++)
		c2s[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(s2c); i++)
		s2c[i] = (uint8_t)(255 - i);
}

static struct umpa_tcps_stats last_stats; /* of the last conversation() */

/* Handshake, 5000 bytes client->server, 300 bytes back, close by the client; into @p c (and @p path if not NULL). */
static void conversation(const struct umpa_tcps_opts *o, struct coll *c, const char *path)
{
	struct umpa_err e = {0};
	struct umpa_tcps *t;

	fill_data();
	memset(c, 0, sizeof(*c));
	if (path) {
		c->w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
		if (!c->w)
			fail_msg("capw: %s", e.msg);
	}
	t = umpa_tcps_new(o, collect, c, &e);
	if (!t)
		fail_msg("new: %s", e.msg);
	if (umpa_tcps_connect(t, &e) < 0 || umpa_tcps_send(t, UMPA_TCPS_CLIENT, c2s, sizeof(c2s), "request", &e) < 0 ||
	    umpa_tcps_send(t, UMPA_TCPS_SERVER, s2c, sizeof(s2c), "response", &e) < 0 ||
	    umpa_tcps_close(t, UMPA_TCPS_CLIENT, &e) < 0)
		fail_msg("conversation: %s", e.msg);
	umpa_tcps_stats(t, &last_stats);
	umpa_tcps_free(t);
	if (path) {
		assert_int_equal(umpa_capw_close(c->w, &e), 0);
		c->w = NULL;
	}
}

/* Find TCP option @p kind in layer @p li; returns its data or NULL. */
static const uint8_t *tcp_opt(const struct umpa_pkt *p, unsigned li, uint8_t kind, uint8_t *len)
{
	const uint8_t *h = p->data + p->l[li].off;
	uint32_t i = 20, hl = p->l[li].hlen;

	while (i < hl) {
		if (h[i] == 0)
			break;
		if (h[i] == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < hl && h[i + 1] >= 2 && i + h[i + 1] <= hl);
		if (h[i] == kind) {
			*len = h[i + 1];
			return h + i + 2;
		}
		i += h[i + 1];
	}
	return NULL;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int all_zero_addr(const uint8_t *a)
{
	for (int i = 0; i < 16; i++)
		if (a[i])
			return 0;
	return 1;
}

/* Dissect every packet of @p c and check it is the clean conversation built from @p o. */
static void check_conversation(const struct umpa_tcps_opts *o, const struct coll *c, uint16_t cport)
{
	const struct umpa_proto *l3 = o->ipv6 ? &umpa_proto_ipv6 : &umpa_proto_ip;
	uint32_t alen = o->ipv6 ? 16 : 4;
	uint8_t addr[2][16] = {{0}}, rcvd[2][5000];
	uint32_t nxt[2] = {0}, lastack[2] = {0}, got[2] = {0}, lastts[2] = {0}, ipid[2] = {0};
	int have_id[2] = {0}, fins = 0, nvar = 0;
	uint32_t nseg[2] = {0}, nack[2] = {0};
	static uint8_t sizes[1449];
	int64_t lastt = 0;
	int ts = o->timestamps, ws = o->wscale;
	uint32_t seg[2], rwnd = o->rwnd ? o->rwnd : (ws >= 0 ? 131072u : 65535u);
	uint32_t mss[2] = {o->mss[0], o->mss[1]};

	for (int s = 0; s < 2; s++)
		if (!mss[s])
			mss[s] = o->ipv6 ? 1440 : 1460;
	seg[0] = mss[1] - (ts ? 12u : 0u);
	seg[1] = mss[0] - (ts ? 12u : 0u);
	for (int s = 0; s < 2; s++)
		if (o->seg_max && o->seg_max < seg[s])
			seg[s] = o->seg_max;
	for (int s = 0; s < 2; s++) {
		if (!all_zero_addr(o->addr[s]))
			memcpy(addr[s], o->addr[s], 16);
		else if (o->ipv6)
			addr[s][0] = 0xfd, addr[s][15] = (uint8_t)(s + 1);
		else
			addr[s][0] = 10, addr[s][3] = (uint8_t)(s + 1);
	}
	assert_true(c->n >= 9);
	memset(sizes, 0, sizeof(sizes));
	for (size_t i = 0; i < c->n; i++) {
		struct umpa_pkt p;
		const uint8_t *b;
		uint32_t bn, seq, ack, flags, plen, win, dir;
		int l3i, l4i;
		uint8_t olen = 0;
		const uint8_t *tso;
		int64_t tns = c->pk[i].ts_sec * 1000000000 + c->pk[i].ts_nsec;

		assert_true(tns >= lastt);
		lastt = tns;
		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c->pk[i].data, c->pk[i].len);
		assert_true(p.len - 14 <= 1500); /* fits a 1500-byte MTU with the default MSS */
		l3i = umpa_pkt_find(&p, l3, 0);
		l4i = umpa_pkt_find(&p, &umpa_proto_tcp, 0);
		assert_true(l3i == 1 && l4i == 2);
		/* Ethernet, IP, TCP are sound (the payload is not TLS although the port is 443) */
		for (unsigned k = 0; k < 3; k++)
			assert_int_equal(p.l[k].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED | UMPA_L_BADSUM), 0);
		dir = unit_get_at(&p, 2, "srcport") == cport ? 0 : 1;
		assert_int_equal(unit_get_at(&p, 2, "srcport"), dir ? 443 : cport);
		assert_int_equal(unit_get_at(&p, 2, "dstport"), dir ? cport : 443);
		assert_int_equal(umpa_field_get_bytes(&p, 1, unit_field(l3, "src"), &b, &bn), 0);
		assert_int_equal(bn, alen);
		assert_memory_equal(b, addr[dir], alen);
		assert_int_equal(umpa_field_get_bytes(&p, 1, unit_field(l3, "dst"), &b, &bn), 0);
		assert_memory_equal(b, addr[!dir], alen);
		assert_int_equal(umpa_field_get_bytes(&p, 0, unit_field(&umpa_proto_eth, "src"), &b, &bn), 0);
		assert_int_equal(b[5], dir + 1);
		if (!o->ipv6) {
			uint32_t id = (uint32_t)unit_get_at(&p, 1, "id");
			if (have_id[dir])
				assert_int_equal(id, (ipid[dir] + 1) & 0xffff);
			ipid[dir] = id;
			have_id[dir] = 1;
			assert_int_equal(unit_get_at(&p, 1, "flags.df"), 1);
		}
		seq = (uint32_t)unit_get_at(&p, 2, "seq");
		ack = (uint32_t)unit_get_at(&p, 2, "ack");
		flags = (uint32_t)unit_get_at(&p, 2, "flags");
		win = (uint32_t)unit_get_at(&p, 2, "window_size_value");
		plen = p.l[2].len - p.l[2].hlen;
		if (i == 0) {
			assert_int_equal(flags, 0x002);
			nxt[0] = seq;
		} else if (i == 1) {
			assert_int_equal(flags, 0x012);
			nxt[1] = seq;
		} else {
			assert_true(flags & 0x010);
			assert_int_equal(flags & 0x006, 0);
		}
		/* sequence continuity: nothing lost, repeated or reordered */
		assert_int_equal(seq, nxt[dir]);
		nxt[dir] += plen + (flags & 0x002 ? 1u : 0u) + (flags & 0x001 ? 1u : 0u);
		if (flags & 0x010) {
			/* acknowledges only what the peer sent, never going back */
			assert_true((int32_t)(ack - lastack[dir]) >= 0 || !lastack[dir]);
			assert_true((int32_t)(nxt[!dir] - ack) >= 0);
			lastack[dir] = ack;
		}
		/* at least one ACK per two full segments: the receiver is never more than 2 behind */
		if (plen) {
			assert_true(got[dir] + plen <= sizeof(rcvd[dir]));
			memcpy(rcvd[dir] + got[dir], p.data + p.l[2].off + p.l[2].hlen, plen);
			got[dir] += plen;
			assert_true(plen <= seg[dir]);
			/* every segment is full but the last of a send */
			if (!(flags & 0x008) && !o->seg_random)
				assert_int_equal(plen, seg[dir]);
			nseg[dir]++;
			sizes[plen < 1448 ? plen : 1448] = 1;
			assert_true(nxt[dir] - lastack[!dir] <= rwnd);
		}
		if (flags & 0x001)
			fins++;
		if (!plen && flags == 0x010)
			nack[dir]++;
		/* the window: unscaled in SYNs, scaled afterwards */
		if (flags & 0x002)
			assert_int_equal(win, rwnd > 65535 ? 65535 : rwnd);
		else
			assert_int_equal(win, ws >= 0 ? rwnd >> ws : rwnd);
		/* options */
		if (flags & 0x002) {
			const uint8_t *m = tcp_opt(&p, 2, 2, &olen);
			assert_non_null(m);
			assert_int_equal(m[0] << 8 | m[1], mss[dir]);
			assert_int_equal(tcp_opt(&p, 2, 4, &olen) != NULL, o->sackok != 0);
			m = tcp_opt(&p, 2, 3, &olen);
			assert_int_equal(m != NULL, ws >= 0);
			if (m)
				assert_int_equal(m[0], ws);
		}
		tso = tcp_opt(&p, 2, 8, &olen);
		assert_int_equal(tso != NULL, ts != 0);
		if (tso) {
			uint32_t val = be32(tso), ecr = be32(tso + 4);
			assert_int_equal(olen, 10);
			if (i >= 1)
				assert_int_equal(ecr, lastts[!dir]);
			else
				assert_int_equal(ecr, 0);
			if (i >= 2)
				assert_true(val - lastts[dir] < 1000);
			lastts[dir] = val;
		}
		umpa_pkt_release(&p);
	}
	/* the timestamp clock ran: the conversation took several round trips */
	assert_int_equal(fins, 2);
	/* at least one ACK per two data segments */
	assert_true(nack[1] * 2 >= nseg[0]);
	assert_true(nack[0] * 2 >= nseg[1]);
	for (int k = 0; k <= 1448; k++)
		nvar += sizes[k];
	/* random segmentation gives many sizes */
	if (o->seg_random)
		assert_true(nvar > 3);
	assert_int_equal(got[0], sizeof(c2s));
	assert_int_equal(got[1], sizeof(s2c));
	assert_memory_equal(rcvd[0], c2s, sizeof(c2s));
	assert_memory_equal(rcvd[1], s2c, sizeof(s2c));
	/* everything acknowledged at the end */
	assert_int_equal(lastack[0], nxt[1]);
	assert_int_equal(lastack[1], nxt[0]);
}

/* Frames of a clean stream match none of these: analysis flags, malformed, expert warnings and errors. */
#define TSHARK_BAD "tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= warning"

/* tshark is there (asked once). */
static int have_tshark(void)
{
	static int have = -1;

	if (have < 0)
		have = unit_have_tshark();
	return have;
}

/* Lines tshark prints for packets matching @p filter. */
static int tshark_count(const char *path, const char *filter)
{
	char cmd[512], line[1024];
	FILE *f;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "tshark -r %s -Y '%s' 2>/dev/null", path, filter);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		fprintf(stderr, "tshark: %s", line);
		n++;
	}
	assert_int_equal(pclose(f), 0);
	return n;
}

static void tshark_check(const char *path, size_t n, const size_t *frames);

/*
 * Clean conversations from options @p os[0..n-1], one after the other into
 * one capture (from the second on with their own client port and start
 * time): each checked by check_conversation(), then all by one tshark pass.
 */
static void run_full_n(const struct umpa_tcps_opts *os, size_t n, const char *tag)
{
	size_t frames[4];
	struct umpa_capw *w;
	struct umpa_err e = {0};
	char path[128];

	assert_true(n <= 4);
	snprintf(path, sizeof(path), "%s/umpa-tcps-%d-%s.pcap", unit_tmpdir(), (int)getpid(), tag);
	w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		struct umpa_tcps_opts o = os[i];
		struct umpa_tcps *t;
		struct coll c;
		uint16_t cport;

		if (i) {
			o.port[0] = (uint16_t)(40000 + i);
			o.start_sec += 1000 * (int64_t)i;
		}
		conversation(&o, &c, NULL);
		t = umpa_tcps_new(&o, collect, NULL, NULL);
		assert_non_null(t);
		cport = umpa_tcps_port(t, UMPA_TCPS_CLIENT);
		umpa_tcps_free(t);
		assert_true(o.port[0] ? cport == o.port[0] : cport >= 32768 && cport < 61000);
		check_conversation(&o, &c, cport);
		for (size_t k = 0; k < c.n; k++)
			assert_int_equal(umpa_capw_write(w, &c.pk[k], &e), 0);
		frames[i] = c.n;
		coll_free(&c);
	}
	assert_int_equal(umpa_capw_close(w, &e), 0);
	tshark_check(path, n, frames);
	unit_discard(path);
}

static void run_full(const struct umpa_tcps_opts *o, const char *tag)
{
	run_full_n(o, 1, tag);
}

static void test_ipv4(void **state)
{
	struct umpa_tcps_opts o;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.seed = 42;
	run_full(&o, "v4");
}

static void test_ipv6(void **state)
{
	struct umpa_tcps_opts o;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.ipv6 = 1;
	o.seed = 43;
	o.per_flight_delay_us = 1500;
	run_full(&o, "v6");
}

/* Asymmetric MSS, no timestamps, no SACK, no window scale, fixed addresses and ports. */
static void test_plain_options(void **state)
{
	struct umpa_tcps_opts o;
	const uint8_t a0[4] = {192, 0, 2, 10}, a1[4] = {198, 51, 100, 20};

	(void)state;
	umpa_tcps_opts_init(&o);
	o.seed = 7;
	o.mss[0] = 1400;
	o.mss[1] = 536;
	o.timestamps = 0;
	o.sackok = 0;
	o.wscale = -1;
	o.port[0] = 50000;
	memcpy(o.addr[0], a0, 4);
	memcpy(o.addr[1], a1, 4);
	run_full(&o, "plain");
}

/* Small receive window (flights limited by it), small MSS, IPv6, timestamps without SACK. */
static void test_small_window(void **state)
{
	struct umpa_tcps_opts o;
	struct coll c;
	size_t segs = 0;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.ipv6 = 1;
	o.seed = 9;
	o.mss[1] = 500;
	o.sackok = 0;
	o.wscale = 2;
	o.rwnd = 2000;
	run_full(&o, "small");
	conversation(&o, &c, NULL);
	for (size_t i = 0; i < c.n; i++)
		if (c.pk[i].len > 100)
			segs++;
	/* 5000 bytes at 488 per segment (11) and 300 back (1) */
	assert_int_equal(segs, 12);
	coll_free(&c);
}

/* The tshark check is not blind: a repeated or a missing data segment is flagged. */
static void test_tshark_catches_damage(void **state)
{
	struct umpa_tcps_opts o;
	struct coll c;
	struct umpa_err e = {0};
	char path[128];

	(void)state;
	if (!have_tshark()) {
		skip();
	}
	umpa_tcps_opts_init(&o);
	conversation(&o, &c, NULL);
	snprintf(path, sizeof(path), "%s/umpa-tcps-%d-damaged.pcap", unit_tmpdir(), (int)getpid());
	for (int mode = 0; mode < 2; mode++) {
		struct umpa_capw *w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);

		assert_non_null(w);
		for (size_t i = 0; i < c.n; i++) {
			/* packet 4 is the second data segment: mode 0 sends it twice, mode 1 drops it */
			if (i == 4 && mode == 1)
				continue;
			assert_int_equal(umpa_capw_write(w, &c.pk[i], &e), 0);
			if (i == 4 && mode == 0)
				assert_int_equal(umpa_capw_write(w, &c.pk[i], &e), 0);
		}
		assert_int_equal(umpa_capw_close(w, &e), 0);
		assert_true(tshark_count(path, TSHARK_BAD) > 0);
	}
	unlink(path);
	coll_free(&c);
}

/* Hostile segmentation: byte by byte (IPv4), then random sizes (IPv6); still a clean stream. */
static void test_hostile_segmentation(void **state)
{
	struct umpa_tcps_opts o[3];
	struct coll c;
	size_t segs = 0;

	(void)state;
	umpa_tcps_opts_init(&o[0]);
	o[0].seed = 11;
	o[0].seg_max = 1;
	conversation(&o[0], &c, NULL);
	for (size_t i = 0; i < c.n; i++)
		if (c.pk[i].len == 14 + 20 + 32 + 1)
			segs++;
	assert_int_equal(segs, sizeof(c2s) + sizeof(s2c));
	coll_free(&c);

	umpa_tcps_opts_init(&o[1]);
	o[1].ipv6 = 1;
	o[1].seed = 12;
	o[1].seg_random = 1;
	o[2] = o[1];
	o[2].seg_max = 100;
	o[2].rwnd = 1000;
	o[2].wscale = 0;
	run_full_n(o, 3, "hostile-seg");
}

/* Same seed, same bytes and times; another seed, other ISNs and port. */
static void test_determinism(void **state)
{
	struct umpa_tcps_opts o;
	struct coll a, b, d;
	struct umpa_tcps *t1, *t2;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.seed = 1234;
	conversation(&o, &a, NULL);
	conversation(&o, &b, NULL);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(a.pk[i].len, b.pk[i].len);
		assert_memory_equal(a.pk[i].data, b.pk[i].data, a.pk[i].len);
		assert_true(a.pk[i].ts_sec == b.pk[i].ts_sec && a.pk[i].ts_nsec == b.pk[i].ts_nsec);
	}
	o.seed = 1235;
	conversation(&o, &d, NULL);
	assert_int_equal(a.n, d.n);
	assert_memory_not_equal(a.pk[0].data + 14 + 20 + 4, d.pk[0].data + 14 + 20 + 4, 4); /* client ISN */
	assert_memory_not_equal(a.pk[1].data + 14 + 20 + 4, d.pk[1].data + 14 + 20 + 4, 4); /* server ISN */
	t1 = umpa_tcps_new(&o, collect, NULL, NULL);
	o.seed = 1234;
	t2 = umpa_tcps_new(&o, collect, NULL, NULL);
	assert_true(umpa_tcps_isn(t1, UMPA_TCPS_CLIENT) != umpa_tcps_isn(t2, UMPA_TCPS_CLIENT));
	assert_true(umpa_tcps_isn(t1, UMPA_TCPS_SERVER) != umpa_tcps_isn(t2, UMPA_TCPS_SERVER));
	assert_int_equal(umpa_tcps_isn(t2, UMPA_TCPS_CLIENT), be32(a.pk[0].data + 14 + 20 + 4));
	/* first packet at the start time */
	assert_int_equal(a.pk[0].ts_sec, 1700000000);
	assert_int_equal(a.pk[0].ts_nsec, 0);
	umpa_tcps_free(t1);
	umpa_tcps_free(t2);
	coll_free(&a);
	coll_free(&b);
	coll_free(&d);
}

/* Timing: answers rtt/2 later, the per-flight delay before a send, TSval at 1 kHz. */
static void test_timing(void **state)
{
	struct umpa_tcps_opts o;
	struct coll c = {0};
	struct umpa_tcps *t;
	struct umpa_err e = {0};
	struct umpa_pkt p;
	uint8_t olen;
	const uint8_t *ts0, *ts3;
	int64_t t0, t1, t3;
	uint32_t val0;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.rtt_us = 40000;
	o.per_flight_delay_us = 5000;
	o.start_sec = 1000;
	o.start_nsec = 500;
	t = umpa_tcps_new(&o, collect, &c, &e);
	assert_non_null(t);
	assert_int_equal(umpa_tcps_connect(t, &e), 0);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, "hello", 5, "hi", &e), 0);
	assert_int_equal(c.n, 5);
	t0 = c.pk[0].ts_sec * 1000000000 + c.pk[0].ts_nsec;
	t1 = c.pk[1].ts_sec * 1000000000 + c.pk[1].ts_nsec;
	t3 = c.pk[3].ts_sec * 1000000000 + c.pk[3].ts_nsec;
	assert_true(t0 == 1000 * 1000000000ll + 500);
	assert_true(t1 - t0 == 20000000);
	assert_true(t3 - t0 == 40000000 + 5000000);
	assert_string_equal(c.pk[3].comment, "hi");
	assert_null(c.pk[4].comment);
	unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c.pk[0].data, c.pk[0].len);
	ts0 = tcp_opt(&p, 2, 8, &olen);
	assert_non_null(ts0);
	val0 = be32(ts0);
	umpa_pkt_release(&p);
	unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c.pk[3].data, c.pk[3].len);
	ts3 = tcp_opt(&p, 2, 8, &olen);
	assert_non_null(ts3);
	assert_int_equal(be32(ts3) - val0, 45);
	umpa_pkt_release(&p);
	umpa_tcps_free(t);
	coll_free(&c);
}

/* RST, and the errors: bad options, operations in the wrong state, a failing callback. */
static void test_reset_and_errors(void **state)
{
	struct umpa_tcps_opts o;
	struct coll c = {0};
	struct umpa_tcps *t;
	struct umpa_err e = {0};
	struct umpa_pkt p;
	uint32_t nxt;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.wscale = 15;
	assert_null(umpa_tcps_new(&o, collect, &c, &e));
	assert_int_equal(e.code, UMPA_EINVAL);
	o.wscale = 0;
	o.rwnd = 70000;
	assert_null(umpa_tcps_new(&o, collect, &c, &e));
	umpa_tcps_opts_init(&o);
	o.mss[1] = 10;
	assert_null(umpa_tcps_new(&o, collect, &c, &e));
	assert_null(umpa_tcps_new(NULL, NULL, NULL, &e));

	t = umpa_tcps_new(NULL, collect, &c, &e);
	assert_non_null(t);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, "x", 1, NULL, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_close(t, UMPA_TCPS_CLIENT, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_connect(t, &e), 0);
	assert_int_equal(umpa_tcps_connect(t, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_SERVER, "abc", 3, NULL, &e), 0);
	nxt = umpa_tcps_snd_nxt(t, UMPA_TCPS_SERVER);
	assert_int_equal(nxt, umpa_tcps_isn(t, UMPA_TCPS_SERVER) + 4);
	assert_int_equal(umpa_tcps_reset(t, UMPA_TCPS_SERVER, &e), 0);
	assert_int_equal(c.n, 6);
	unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c.pk[5].data, c.pk[5].len);
	assert_int_equal(unit_get_at(&p, 2, "flags"), 0x014);
	assert_int_equal(unit_get_at(&p, 2, "seq"), nxt);
	assert_int_equal(unit_get_at(&p, 2, "ack"), umpa_tcps_snd_nxt(t, UMPA_TCPS_CLIENT));
	assert_int_equal(unit_get_at(&p, 2, "window_size_value"), 0);
	umpa_pkt_release(&p);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, "x", 1, NULL, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_reset(t, UMPA_TCPS_CLIENT, &e), -UMPA_EINVAL);
	umpa_tcps_free(t);
	coll_free(&c);

	/* a callback error stops the operation and comes back */
	c.fail_after = 2;
	t = umpa_tcps_new(NULL, collect, &c, &e);
	assert_int_equal(umpa_tcps_connect(t, &e), -UMPA_EIO);
	assert_string_equal(e.msg, "stop here");
	assert_int_equal(c.n, 1);
	umpa_tcps_free(t);
	coll_free(&c);
	umpa_tcps_free(NULL);
}

/* ---- hostile modes ---- */

/* What tshark's TCP analysis says about a capture (frames with each flag). */
struct tsa {
	int frames, ooo, retx, fast, spur, dupack, sack, lostseg, acklost, malformed, wupd, ka, kaack, dsack;
	int syn;   /* SYNs without ACK */
	int other; /* analysis flags other than all the above */
	int warn;  /* expert warnings or errors on frames that are not out-of-order, after a gap or a D-SACK */
};

/* What tshark reassembled of one stream ("follow,tcp,raw"): [0] client to server, [1] back. */
struct flw {
	uint8_t d[2][8192];
	size_t n[2];
};

/*
 * One tshark pass over @p path (the TLS dissector off: the payload is not
 * TLS) holding TCP streams 0 to @p ns - 1: the analysis of every frame into
 * a[tcp.stream], and "follow,tcp,raw" of each stream into fo[stream].
 */
static void tshark_analysis(const char *path, size_t ns, struct tsa *a, struct flw *fo)
{
	static const char *const fields[] = {"tcp.analysis.out_of_order",
					     "tcp.analysis.retransmission",
					     "tcp.analysis.fast_retransmission",
					     "tcp.analysis.spurious_retransmission",
					     "tcp.analysis.duplicate_ack",
					     "tcp.options.sack.count",
					     "tcp.analysis.lost_segment",
					     "tcp.analysis.ack_lost_segment",
					     "_ws.malformed",
					     "tcp.analysis.window_update",
					     "tcp.analysis.keep_alive",
					     "tcp.analysis.keep_alive_ack",
					     "tcp.analysis.flags",
					     "_ws.expert.severity",
					     "tcp.options.sack.dsack",
					     "tcp.stream",
					     "tcp.flags"};
	enum { NF = sizeof(fields) / sizeof(fields[0]) };
	char cmd[4096], line[8192];
	size_t k, st = 0, blocks = 0;
	int stage = 0; /* 0: frames, 1: follow header, 2: follow data */
	FILE *f;

	memset(a, 0, ns * sizeof(*a));
	memset(fo, 0, ns * sizeof(*fo));
	k = (size_t)snprintf(cmd, sizeof(cmd), "tshark -r %s --disable-protocol tls -T fields -E separator=/t", path);
	for (int i = 0; i < NF; i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " -e %s", fields[i]);
	for (size_t i = 0; i < ns; i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " -z follow,tcp,raw,%zu", i);
	snprintf(cmd + k, sizeof(cmd) - k, " 2>/dev/null");
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *v[NF] = {0};
		char *p = line;
		int has[NF] = {0}, known = 0;
		long sev = 0;
		struct tsa *t;

		if (line[0] == '=') {
			stage = stage == 0 || stage == 2 ? 1 : stage;
			continue;
		}
		if (stage == 1 && !strncmp(line, "Filter: tcp.stream eq ", 22)) {
			st = (size_t)strtoul(line + 22, NULL, 10);
			assert_true(st < ns);
			continue;
		}
		if (stage == 1 && !strncmp(line, "Node 1:", 7)) {
			stage = 2;
			blocks++;
			continue;
		}
		if (stage == 2) {
			int dir = line[0] == '\t';
			fo[st].n[dir] += unit_hex(line, fo[st].d[dir] + fo[st].n[dir], 8192 - fo[st].n[dir]);
			continue;
		}
		if (stage || line[0] == '\n') /* a blank line before the follow blocks */
			continue;
		line[strcspn(line, "\n")] = 0;
		for (int i = 0; i < NF; i++) {
			char *tab = strchr(p, '\t');
			v[i] = p;
			has[i] = *p && *p != '\t';
			if (!tab)
				break;
			*tab = 0;
			p = tab + 1;
		}
		assert_true(has[15]);
		k = (size_t)strtoul(v[15], NULL, 10);
		assert_true(k < ns);
		t = &a[k];
		t->frames++;
		t->ooo += has[0];
		t->retx += has[1];
		t->fast += has[2];
		t->spur += has[3];
		t->dupack += has[4];
		t->sack += has[5];
		t->lostseg += has[6];
		t->acklost += has[7];
		t->malformed += has[8];
		t->wupd += has[9];
		t->ka += has[10];
		t->kaack += has[11];
		t->dsack += has[14];
		t->syn += has[16] && strtol(v[16], NULL, 16) == 0x002;
		for (int i = 0; i < 12; i++)
			if (i != 5 && has[i])
				known = 1;
		if (has[12] && !known) {
			fprintf(stderr, "tshark: stream %zu frame %d has an unexpected analysis flag\n", k, t->frames);
			t->other++;
		}
		if (has[13])
			for (const char *q = v[13]; *q; q++)
				if (q == v[13] || q[-1] == ',')
					sev = strtol(q, NULL, 10) > sev ? strtol(q, NULL, 10) : sev;
		if (sev >= 0x600000 && !has[0] && !has[6] && !has[14]) {
			fprintf(stderr, "tshark: stream %zu frame %d has an expert warning\n", k, t->frames);
			t->warn++;
		}
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(blocks, ns);
}

/* Clean conversations in @p path, TCP streams 0 to @p n - 1 of frames[i] frames: the data, and nothing tshark would
 * flag. */
static void tshark_check(const char *path, size_t n, const size_t *frames)
{
	struct flw *fo = calloc(n, sizeof(*fo));
	struct tsa *ta = calloc(n, sizeof(*ta));

	assert_true(fo && ta);
	if (!have_tshark()) {
		fprintf(stderr, "tshark not found: skipping the tshark checks\n");
		n = 0;
	} else {
		tshark_analysis(path, n, ta, fo);
	}
	for (size_t i = 0; i < n; i++) {
		const struct tsa *t = &ta[i];

		assert_int_equal(fo[i].n[0], sizeof(c2s));
		assert_memory_equal(fo[i].d[0], c2s, sizeof(c2s));
		assert_int_equal(fo[i].n[1], sizeof(s2c));
		assert_memory_equal(fo[i].d[1], s2c, sizeof(s2c));
		/* a clean stream: no analysis flag (retransmission, out-of-order, lost segment, dup ACK,
		 * window full, ACKed unseen...), nothing malformed, no expert warning or error (the FINs
		 * carry notes: 'This frame initiates the connection closing') */
		assert_int_equal(t->ooo + t->retx + t->fast + t->spur + t->dupack + t->lostseg + t->acklost + t->wupd +
				     t->ka + t->kaack,
				 0);
		assert_int_equal(t->sack + t->dsack + t->malformed + t->other + t->warn, 0);
		/* and the parsing does work: every frame is in its TCP stream, with the SYN seen */
		assert_int_equal(t->frames, (int)frames[i]);
		assert_int_equal(t->syn, 1);
	}
	free(fo);
	free(ta);
}

/* Data segment ranges of one direction, to find retransmissions cut differently. */
struct ranges {
	uint32_t (*r)[2];
	size_t n, cap;
};

/*
 * Our own look at a hostile conversation: sound Ethernet/IP/TCP, times
 * never going back, TSval never going back per direction, overlapping
 * segments agree on their bytes, and each direction holds all its data.
 * Returns the number of data segments that overlap data already seen
 * without repeating an earlier segment's range (overlapping retransmissions).
 */
static size_t check_hostile(const struct umpa_tcps_opts *o, const struct coll *c)
{
	const uint8_t *want[2] = {c2s, s2c};
	static uint8_t rcvd[2][5000], have[2][5000];
	size_t need[2] = {sizeof(c2s), sizeof(s2c)}, odd = 0;
	uint32_t isn[2] = {0}, lastts[2] = {0};
	struct ranges rg[2] = {{0}};
	int64_t lastt = 0;

	memset(have, 0, sizeof(have));
	for (size_t i = 0; i < c->n; i++) {
		struct umpa_pkt p;
		uint32_t seq, flags, plen, dir, off;
		int64_t tns = c->pk[i].ts_sec * 1000000000 + c->pk[i].ts_nsec;
		const uint8_t *tso, *pl;
		uint8_t olen;
		int seen = 0, same = 0;

		assert_true(tns >= lastt);
		lastt = tns;
		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c->pk[i].data, c->pk[i].len);
		assert_true(umpa_pkt_find(&p, &umpa_proto_tcp, 0) == 2);
		for (unsigned k = 0; k < 3; k++)
			assert_int_equal(p.l[k].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED | UMPA_L_BADSUM), 0);
		dir = unit_get_at(&p, 2, "dstport") == 443 ? 0 : 1;
		seq = (uint32_t)unit_get_at(&p, 2, "seq");
		flags = (uint32_t)unit_get_at(&p, 2, "flags");
		plen = p.l[2].len - p.l[2].hlen;
		pl = p.data + p.l[2].off + p.l[2].hlen;
		if (flags & 0x002)
			isn[dir] = seq;
		tso = tcp_opt(&p, 2, 8, &olen);
		assert_int_equal(tso != NULL, o->timestamps != 0);
		if (tso) {
			if (lastts[dir])
				assert_true(be32(tso) - lastts[dir] < 0x80000000u);
			lastts[dir] = be32(tso);
		}
		/* SACK blocks only when SACK was permitted */
		if (!o->sackok)
			assert_null(tcp_opt(&p, 2, 5, &olen));
		if (plen) {
			off = seq - isn[dir] - 1;
			assert_true(off + plen <= need[dir]);
			for (uint32_t k = 0; k < plen; k++) {
				if (have[dir][off + k]) {
					assert_int_equal(rcvd[dir][off + k], pl[k]);
					seen = 1;
				}
				rcvd[dir][off + k] = pl[k];
				have[dir][off + k] = 1;
			}
			for (size_t k = 0; seen && !same && k < rg[dir].n; k++)
				if (rg[dir].r[k][0] == off && rg[dir].r[k][1] == plen)
					same = 1;
			if (seen && !same)
				odd++;
			if (rg[dir].n == rg[dir].cap) {
				rg[dir].cap = rg[dir].cap ? rg[dir].cap * 2 : 256;
				rg[dir].r = realloc(rg[dir].r, rg[dir].cap * sizeof(*rg[dir].r));
				assert_non_null(rg[dir].r);
			}
			rg[dir].r[rg[dir].n][0] = off;
			rg[dir].r[rg[dir].n++][1] = plen;
		}
		umpa_pkt_release(&p);
	}
	for (int d = 0; d < 2; d++) {
		for (size_t k = 0; k < need[d]; k++)
			assert_true(have[d][k]);
		assert_memory_equal(rcvd[d], want[d], need[d]);
		free(rg[d].r);
	}
	return odd;
}

/* One hostile conversation of a batch: its options, then what the stream did. */
struct hcase {
	struct umpa_tcps_opts o;
	const char *tag;
	struct umpa_tcps_stats st;
	size_t odd; /* overlapping retransmissions cut differently (check_hostile) */
};

/* tshark's view @p t / @p fo of one hostile conversation of @p frames frames agrees with the stream's counters @p st.
 */
static void check_tsa(const char *tag, const struct umpa_tcps_stats *st, const struct tsa *t, const struct flw *fo,
		      size_t frames)
{
	fprintf(stderr,
		"%s: tshark: %d frames, out-of-order %d, retransmission %d (fast %d), keep-alive %d, dup ACK %d, "
		"keep-alive ACK %d, SACK %d (D-SACK %d), previous segment not captured %d, window update %d\n",
		tag, t->frames, t->ooo, t->retx, t->fast, t->ka, t->dupack, t->kaack, t->sack, t->dsack, t->lostseg,
		t->wupd);
	assert_int_equal(fo->n[0], sizeof(c2s));
	assert_memory_equal(fo->d[0], c2s, sizeof(c2s));
	assert_int_equal(fo->n[1], sizeof(s2c));
	assert_memory_equal(fo->d[1], s2c, sizeof(s2c));
	assert_int_equal(t->frames, (int)frames);
	assert_int_equal(t->syn, 1);
	/* each swap: the early segment follows a gap, the late one is out of order */
	assert_int_equal(t->ooo, (int)st->reordered);
	assert_int_equal(t->lostseg, (int)st->reordered);
	/* copies and retransmissions; a 1-byte one right below the highest sequence number looks like
	 * a keep-alive to tshark, and the ACK answering it like a keep-alive ACK */
	assert_int_equal(t->retx + t->ka, (int)(st->retransmitted + st->duplicated));
	assert_int_equal(t->dupack + t->kaack, (int)st->dup_acks);
	assert_true(t->fast <= (int)st->fast_retransmits);
	if (!t->ka)
		assert_int_equal(t->fast, (int)st->fast_retransmits);
	assert_int_equal(t->sack, (int)st->sack_acks);
	assert_int_equal(t->dsack, (int)st->dsack_acks);
	assert_int_equal(t->wupd, (int)st->window_updates);
	/* never: spurious retransmissions, ACKs of unseen data, malformed frames, other flags or warnings */
	assert_int_equal(t->spur, 0);
	assert_int_equal(t->acklost, 0);
	assert_int_equal(t->malformed, 0);
	assert_int_equal(t->other, 0);
	assert_int_equal(t->warn, 0);
}

/*
 * Conversations with the hostile options of @p cs[0..n-1], one after the
 * other into one capture (own client port and start time each): our own
 * checks, then tshark's reassembly (exactly the data) and analysis of each
 * stream, whose counts must agree with what the stream says it did.
 */
static void run_hostile(struct hcase *cs, size_t n)
{
	struct flw *fo = calloc(n, sizeof(*fo));
	struct tsa *ta = calloc(n, sizeof(*ta));
	size_t *frames = calloc(n, sizeof(*frames));
	struct umpa_capw *w;
	struct umpa_err e = {0};
	char path[128];

	assert_true(fo && ta && frames);
	snprintf(path, sizeof(path), "%s/umpa-tcps-%d-%s.pcap", unit_tmpdir(), (int)getpid(), cs[0].tag);
	w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		struct umpa_tcps_stats *st = &cs[i].st;
		struct coll c;

		cs[i].o.port[0] = (uint16_t)(40000 + i);
		cs[i].o.start_sec = 1700000000 + 1000 * (int64_t)i;
		conversation(&cs[i].o, &c, NULL);
		*st = last_stats;
		cs[i].odd = check_hostile(&cs[i].o, &c);
		for (size_t k = 0; k < c.n; k++)
			assert_int_equal(umpa_capw_write(w, &c.pk[k], &e), 0);
		frames[i] = c.n;
		fprintf(
		    stderr,
		    "%s: %zu packets, %llu data segments, reordered %llu, copies %llu, lost %llu, retransmitted %llu "
		    "(fast %llu, timeout %llu), dup ACKs %llu, SACK ACKs %llu (D-SACK %llu), window updates %llu, odd "
		    "ranges %zu\n",
		    cs[i].tag, c.n, (unsigned long long)st->data_segments, (unsigned long long)st->reordered,
		    (unsigned long long)st->duplicated, (unsigned long long)st->lost,
		    (unsigned long long)st->retransmitted, (unsigned long long)st->fast_retransmits,
		    (unsigned long long)st->timeouts, (unsigned long long)st->dup_acks,
		    (unsigned long long)st->sack_acks, (unsigned long long)st->dsack_acks,
		    (unsigned long long)st->window_updates, cs[i].odd);
		/* every lost segment is retransmitted (perhaps in other pieces), and only then */
		assert_true(st->retransmitted >= (st->lost ? 1u : 0u));
		assert_int_equal(st->lost ? st->fast_retransmits + st->timeouts > 0 : st->retransmitted == 0, 1);
		coll_free(&c);
	}
	assert_int_equal(umpa_capw_close(w, &e), 0);
	if (!have_tshark()) {
		fprintf(stderr, "tshark not found: skipping the tshark checks\n");
		n = 0;
	} else {
		tshark_analysis(path, n, ta, fo);
	}
	for (size_t i = 0; i < n; i++)
		check_tsa(cs[i].tag, &cs[i].st, &ta[i], &fo[i], frames[i]);
	unit_discard(path);
	free(fo);
	free(ta);
	free(frames);
}

/* A case from the defaults with @p seed. */
static struct hcase hcase(const char *tag, uint64_t seed)
{
	struct hcase h;

	memset(&h, 0, sizeof(h));
	umpa_tcps_opts_init(&h.o);
	h.o.seed = seed;
	h.tag = tag;
	return h;
}

/* Loss after the capture point: dup ACKs with SACK, fast retransmit or RTO, the cumulative ACK jumps. */
static void test_loss(void **state)
{
	struct hcase c[3] = {hcase("loss", 21), hcase("loss-nosack", 22), hcase("loss-v6", 23)};

	(void)state;
	/* fixed-size segments: the retransmissions repeat the lost ranges exactly */
	c[0].o.seg_max = 200;
	c[0].o.loss = 0.15;
	/* without SACK: no SACK block anywhere, recovery still complete */
	c[1].o = c[0].o;
	c[1].o.seed = 22;
	c[1].o.sackok = 0;
	/* IPv6, full-size segments, no timestamps */
	c[2].o.ipv6 = 1;
	c[2].o.timestamps = 0;
	c[2].o.loss = 0.3;
	run_hostile(c, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(c[i].st.lost > 0);
		assert_int_equal(c[i].odd, 0);
		assert_int_equal(c[i].st.retransmitted, c[i].st.lost);
		assert_int_equal(c[i].st.reordered + c[i].st.duplicated + c[i].st.dsack_acks, 0);
	}
	assert_true(c[0].st.sack_acks > 0 && c[0].st.dup_acks >= 3);
	assert_int_equal(c[1].st.sack_acks, 0);
	/* both ways of recovering happened */
	assert_true(c[0].st.fast_retransmits + c[1].st.fast_retransmits + c[2].st.fast_retransmits > 0);
	assert_true(c[0].st.timeouts + c[1].st.timeouts + c[2].st.timeouts > 0);
}

/* Duplicates: tshark sees retransmissions; the receiver answers each copy at once with a D-SACK.
 * Reordering: out-of-order segments, immediate ACKs with SACK blocks, no retransmission. */
static void test_dup_reorder(void **state)
{
	struct hcase c[3] = {hcase("dup", 31), hcase("reorder", 41), hcase("reorder-v6", 42)};

	(void)state;
	c[0].o.seg_max = 150;
	c[0].o.dup = 0.2;
	c[1].o.seg_max = 100;
	c[1].o.reorder = 0.25;
	c[2].o = c[1].o;
	c[2].o.seed = 42;
	c[2].o.ipv6 = 1;
	c[2].o.sackok = 0;
	run_hostile(c, 3);
	assert_true(c[0].st.duplicated > 0 && c[0].st.dup_acks > 0);
	assert_int_equal(c[0].st.sack_acks, c[0].st.duplicated); /* one D-SACK per copy, nothing else out of order */
	assert_int_equal(c[0].st.dsack_acks, c[0].st.duplicated);
	assert_int_equal(c[0].st.lost + c[0].st.reordered + c[0].st.retransmitted, 0);
	for (int i = 1; i < 3; i++) {
		assert_true(c[i].st.reordered > 0);
		assert_int_equal(c[i].st.lost + c[i].st.duplicated + c[i].st.retransmitted, 0);
	}
	assert_int_equal(c[1].st.sack_acks, c[1].st.reordered); /* one ACK with SACK per swap */
	assert_int_equal(c[2].st.sack_acks, 0);
}

/* Overlapping retransmissions: other ranges than the lost segments, the same bytes. */
static void test_overlap(void **state)
{
	struct hcase c[2] = {hcase("overlap", 51), hcase("overlap-v6", 52)};

	(void)state;
	c[0].o.seg_max = 300;
	c[0].o.loss = 0.2;
	c[0].o.overlap = 1;
	c[1].o = c[0].o;
	c[1].o.seed = 52;
	c[1].o.ipv6 = 1;
	c[1].o.seg_random = 1;
	c[1].o.seg_max = 0;
	run_hostile(c, 2);
	for (int i = 0; i < 2; i++)
		assert_true(c[i].st.lost > 0 && c[i].odd > 0);
}

/* Everything at once, with byte-by-byte and random segmentation, IPv4 and IPv6, with and without options. */
static void test_hostile_combined(void **state)
{
	struct hcase c[4] = {hcase("all-random", 61), hcase("all-random-v6", 62), hcase("all-bytes", 63),
			     hcase("all-bytes-v6", 64)};

	(void)state;
	c[0].o.loss = c[0].o.dup = c[0].o.reorder = 0.1;
	c[0].o.overlap = 1;
	c[0].o.seg_random = 1;
	c[0].o.seg_max = 300;
	c[1].o = c[0].o;
	c[1].o.seed = 62;
	c[1].o.ipv6 = 1;
	c[1].o.timestamps = 0;
	c[1].o.seg_max = 40;
	c[2].o.loss = c[2].o.dup = c[2].o.reorder = 0.05;
	c[2].o.seg_max = 1;
	c[3].o = c[2].o;
	c[3].o.seed = 64;
	c[3].o.ipv6 = 1;
	c[3].o.sackok = 0;
	c[3].o.wscale = -1;
	c[3].o.overlap = 1;
	run_hostile(c, 4);
	for (int i = 0; i < 4; i++)
		assert_true(c[i].st.lost && c[i].st.duplicated && c[i].st.reordered);
}

/* Same seed, same bytes in the hostile modes too; another seed, another capture. */
static void test_hostile_determinism(void **state)
{
	struct umpa_tcps_opts o;
	struct coll a, b, d;
	int differ = 0;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.seed = 71;
	o.loss = 0.1;
	o.dup = 0.1;
	o.reorder = 0.1;
	o.overlap = 1;
	o.seg_random = 1;
	o.seg_max = 300;
	conversation(&o, &a, NULL);
	conversation(&o, &b, NULL);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(a.pk[i].len, b.pk[i].len);
		assert_memory_equal(a.pk[i].data, b.pk[i].data, a.pk[i].len);
		assert_true(a.pk[i].ts_sec == b.pk[i].ts_sec && a.pk[i].ts_nsec == b.pk[i].ts_nsec);
	}
	o.seed = 72;
	conversation(&o, &d, NULL);
	for (size_t i = 3; i < a.n && i < d.n; i++)
		if (a.pk[i].len != d.pk[i].len)
			differ = 1;
	assert_true(differ || a.n != d.n);
	coll_free(&a);
	coll_free(&b);
	coll_free(&d);
}

/* Half-close: the client's FIN, then the server still sends, then the server closes. */
static void test_half_close(void **state)
{
	struct umpa_tcps_opts o;
	struct coll c = {0};
	struct umpa_tcps *t;
	struct umpa_err e = {0};
	char path[128];
	uint32_t cfin, snxt;
	size_t first;

	(void)state;
	fill_data();
	snprintf(path, sizeof(path), "%s/umpa-tcps-%d-half.pcap", unit_tmpdir(), (int)getpid());
	c.w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(c.w);
	umpa_tcps_opts_init(&o);
	o.seed = 81;
	t = umpa_tcps_new(&o, collect, &c, &e);
	assert_non_null(t);
	assert_int_equal(umpa_tcps_shutdown(t, UMPA_TCPS_CLIENT, &e), -UMPA_EINVAL); /* not connected */
	assert_int_equal(umpa_tcps_connect(t, &e), 0);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, c2s, sizeof(c2s), "request", &e), 0);
	cfin = umpa_tcps_snd_nxt(t, UMPA_TCPS_CLIENT);
	first = c.n;
	assert_int_equal(umpa_tcps_shutdown(t, UMPA_TCPS_CLIENT, &e), 0);
	assert_int_equal(c.n, first + 2);
	assert_int_equal(umpa_tcps_snd_nxt(t, UMPA_TCPS_CLIENT), cfin + 1);
	/* the client may not send or shut down again; the server still sends */
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, "x", 1, NULL, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_shutdown(t, UMPA_TCPS_CLIENT, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_SERVER, s2c, sizeof(s2c), "response", &e), 0);
	snxt = umpa_tcps_snd_nxt(t, UMPA_TCPS_SERVER);
	assert_int_equal(umpa_tcps_close(t, UMPA_TCPS_SERVER, &e), 0);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_SERVER, "x", 1, NULL, &e), -UMPA_EINVAL);
	umpa_tcps_free(t);
	assert_int_equal(umpa_capw_close(c.w, &e), 0);
	c.w = NULL;
	/* FIN+ACK from the client, the server's ACK of it, the server's data acknowledging the FIN, the
	 * client's ACK, the server's FIN+ACK, the client's last ACK */
	{
		static const struct {
			int dir;
			uint32_t flags;
		} want[] = {{0, 0x011}, {1, 0x010}, {1, 0x018}, {0, 0x010}, {1, 0x011}, {0, 0x010}};
		assert_int_equal(c.n, first + 6);
		for (size_t i = 0; i < 6; i++) {
			struct umpa_pkt p;

			unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c.pk[first + i].data, c.pk[first + i].len);
			assert_int_equal(unit_get_at(&p, 2, "dstport") == 443 ? 0 : 1, want[i].dir);
			assert_int_equal(unit_get_at(&p, 2, "flags"), want[i].flags);
			if (want[i].dir == 1)
				assert_int_equal(unit_get_at(&p, 2, "ack"), cfin + 1);
			if (i == 4)
				assert_int_equal(unit_get_at(&p, 2, "seq"), snxt);
			if (i == 5)
				assert_int_equal(unit_get_at(&p, 2, "ack"), snxt + 1);
			umpa_pkt_release(&p);
		}
	}
	tshark_check(path, 1, &c.n);
	unit_discard(path);
	coll_free(&c);
}

/* The server shuts down first, the client still sends (through a lossy, reordering network) and closes;
 * a shutdown after the peer's is a close. */
static void test_half_close_hostile(void **state)
{
	struct umpa_tcps_opts o;
	struct coll c = {0};
	struct umpa_tcps *t;
	struct umpa_err e = {0};
	struct umpa_tcps_stats st;
	static struct flw fo;
	struct tsa ta;
	char path[128];
	size_t n0;

	(void)state;
	fill_data();
	snprintf(path, sizeof(path), "%s/umpa-tcps-%d-half2.pcap", unit_tmpdir(), (int)getpid());
	c.w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(c.w);
	umpa_tcps_opts_init(&o);
	o.seed = 85;
	o.seg_max = 100;
	o.loss = o.reorder = o.dup = 0.1;
	o.overlap = 1;
	t = umpa_tcps_new(&o, collect, &c, &e);
	assert_non_null(t);
	assert_int_equal(umpa_tcps_connect(t, &e), 0);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_SERVER, s2c, sizeof(s2c), NULL, &e), 0);
	assert_int_equal(umpa_tcps_shutdown(t, UMPA_TCPS_SERVER, &e), 0);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, c2s, sizeof(c2s), NULL, &e), 0);
	n0 = c.n;
	/* the server has sent its FIN: this shutdown completes the close */
	assert_int_equal(umpa_tcps_shutdown(t, UMPA_TCPS_CLIENT, &e), 0);
	assert_int_equal(c.n, n0 + 2);
	assert_int_equal(umpa_tcps_close(t, UMPA_TCPS_CLIENT, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, "x", 1, NULL, &e), -UMPA_EINVAL);
	umpa_tcps_stats(t, &st);
	umpa_tcps_free(t);
	assert_int_equal(umpa_capw_close(c.w, &e), 0);
	c.w = NULL;
	assert_true(st.lost && st.reordered && st.duplicated);
	for (size_t i = n0; i < c.n; i++) {
		struct umpa_pkt p;

		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c.pk[i].data, c.pk[i].len);
		assert_int_equal(unit_get_at(&p, 2, "dstport") == 443 ? 0 : 1, i == n0 ? 0 : 1);
		assert_int_equal(unit_get_at(&p, 2, "flags"), i == n0 ? 0x011 : 0x010);
		umpa_pkt_release(&p);
	}
	if (have_tshark()) {
		tshark_analysis(path, 1, &ta, &fo);
		check_tsa("half-close-hostile", &st, &ta, &fo, c.n);
	}
	unit_discard(path);
	coll_free(&c);
}

/* Labels: each segment's comment names the labels that start inside it, also byte by byte and when lossy. */
static void test_labels(void **state)
{
	static const struct umpa_tcps_label lab[] = {
	    {0, "ClientHello"}, {100, "Certificate"}, {1447, "KeyExchange"}, {1448, "Finished"}, {4999, "Last"}};
	/* 5000 bytes: segments at 0, 1448, 2896, 4344 */
	static const char *const want[] = {"ClientHello; Certificate; KeyExchange", "Finished", NULL, "Last"};
	struct umpa_tcps_opts o;
	struct coll c = {0};
	struct umpa_tcps *t;
	struct umpa_err e = {0};
	size_t seen = 0;

	(void)state;
	fill_data();
	for (int mode = 0; mode < 3; mode++) {
		umpa_tcps_opts_init(&o);
		o.seed = 91;
		if (mode == 1)
			o.seg_max = 1;
		if (mode == 2)
			o.loss = o.dup = o.reorder = 0.3, o.overlap = 1;
		memset(&c, 0, sizeof(c));
		t = umpa_tcps_new(&o, collect, &c, &e);
		assert_non_null(t);
		assert_int_equal(umpa_tcps_connect(t, &e), 0);
		assert_int_equal(umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, c2s, sizeof(c2s), lab, 5, &e), 0);
		seen = 0;
		for (size_t i = 3; i < c.n; i++) {
			struct umpa_pkt p;
			uint32_t off, plen;

			unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c.pk[i].data, c.pk[i].len);
			plen = p.l[2].len - p.l[2].hlen;
			off = (uint32_t)unit_get_at(&p, 2, "seq") - umpa_tcps_isn(t, UMPA_TCPS_CLIENT) - 1;
			umpa_pkt_release(&p);
			if (!plen) {
				assert_null(c.pk[i].comment);
				continue;
			}
			if (mode == 0) {
				/* 1448-byte segments */
				assert_int_equal(off % 1448, 0);
				if (want[off / 1448])
					assert_string_equal(c.pk[i].comment, want[off / 1448]);
				else
					assert_null(c.pk[i].comment);
			} else if (c.pk[i].comment) {
				/* a labelled segment holds its labels' offsets, and a label is used once */
				for (const char *q = c.pk[i].comment; *q;) {
					size_t k;
					for (k = 0; k < 5; k++)
						if (!strncmp(q, lab[k].text, strlen(lab[k].text)))
							break;
					assert_true(k < 5);
					assert_true(lab[k].offset >= off && lab[k].offset < off + plen);
					assert_int_equal(seen & (1u << k), 0);
					seen |= 1u << k;
					q += strlen(lab[k].text);
					if (*q)
						q += 2;
				}
			}
		}
		if (mode)
			assert_int_equal(seen, 0x1f);
		/* labels must be sorted and inside the data */
		{
			const struct umpa_tcps_label bad1[] = {{5, "b"}, {4, "a"}}, bad2[] = {{3, "x"}};
			assert_int_equal(umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, "abcdef", 6, bad1, 2, &e),
					 -UMPA_EINVAL);
			assert_int_equal(umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, "abc", 3, bad2, 1, &e),
					 -UMPA_EINVAL);
			assert_int_equal(umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, "abc", 3, NULL, 1, &e),
					 -UMPA_EINVAL);
		}
		{
			/* a label without text is no comment, and no error */
			const struct umpa_tcps_label nul[] = {{0, NULL}}, two[] = {{0, NULL}, {1, "b"}};
			size_t before = c.n;

			assert_int_equal(umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, "abc", 3, nul, 1, &e), 0);
			assert_null(c.pk[before].comment);
			before = c.n;
			assert_int_equal(umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, "abc", 3, two, 2, &e), 0);
			if (mode == 1) { /* one byte per segment */
				assert_null(c.pk[before].comment);
				assert_string_equal(c.pk[before + 1].comment, "b");
			} else {
				assert_string_equal(c.pk[before].comment, "; b");
			}
		}
		umpa_tcps_free(t);
		coll_free(&c);
	}
}

/* Bad hostile options. */
static void test_hostile_options(void **state)
{
	struct umpa_tcps_opts o;
	struct umpa_err e = {0};

	(void)state;
	umpa_tcps_opts_init(&o);
	assert_true(o.loss == 0 && o.dup == 0 && o.reorder == 0 && o.overlap == 0);
	o.loss = 1.5;
	assert_null(umpa_tcps_new(&o, collect, NULL, &e));
	assert_int_equal(e.code, UMPA_EINVAL);
	o.loss = 0;
	o.dup = -0.1;
	assert_null(umpa_tcps_new(&o, collect, NULL, &e));
	o.dup = 0;
	o.reorder = 0.0 / 0.0;
	assert_null(umpa_tcps_new(&o, collect, NULL, &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_plain_options),
	    cmocka_unit_test(test_small_window),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_timing),
	    cmocka_unit_test(test_reset_and_errors),
	    cmocka_unit_test(test_tshark_catches_damage),
	    cmocka_unit_test(test_hostile_segmentation),
	    cmocka_unit_test(test_hostile_options),
	    cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_dup_reorder),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_hostile_combined),
	    cmocka_unit_test(test_hostile_determinism),
	    cmocka_unit_test(test_half_close),
	    cmocka_unit_test(test_half_close_hostile),
	    cmocka_unit_test(test_labels),
	};

	if (getenv("TEST")) /* e.g. TEST=test_loss: one test only */
		cmocka_set_test_filter(getenv("TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
