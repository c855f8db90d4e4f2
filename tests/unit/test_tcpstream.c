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

/* Read tshark's "follow,tcp,raw" hex for both directions. */
static void tshark_follow(const char *path, uint8_t *out0, size_t *n0, uint8_t *out1, size_t *n1)
{
	char cmd[512], line[8192];
	FILE *f;
	int body = 0;

	*n0 = *n1 = 0;
	snprintf(cmd, sizeof(cmd), "tshark -r %s -q -z follow,tcp,raw,0 2>/dev/null", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Node 1:", 7)) {
			body = 1;
			continue;
		}
		if (!body || line[0] == '=')
			continue;
		if (line[0] == '\t')
			*n1 += unit_hex(line, out1 + *n1, 8192 - *n1);
		else
			*n0 += unit_hex(line, out0 + *n0, 8192 - *n0);
	}
	assert_int_equal(pclose(f), 0);
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

static void tshark_check(const char *path, size_t frames)
{
	static uint8_t a[8192], b[8192];
	size_t na, nb;

	if (!unit_have_tshark()) {
		fprintf(stderr, "tshark not found: skipping the tshark checks\n");
		return;
	}
	tshark_follow(path, a, &na, b, &nb);
	assert_int_equal(na, sizeof(c2s));
	assert_memory_equal(a, c2s, sizeof(c2s));
	assert_int_equal(nb, sizeof(s2c));
	assert_memory_equal(b, s2c, sizeof(s2c));
	/* a clean stream: no analysis flag (retransmission, out-of-order, lost segment, dup ACK,
	 * window full, ACKed unseen...), nothing malformed, no expert warning or error (the FINs
	 * carry notes: 'This frame initiates the connection closing') */
	assert_int_equal(tshark_count(path, TSHARK_BAD), 0);
	/* and the filter does work: every frame is a TCP frame in stream 0, with the SYN seen */
	assert_int_equal(tshark_count(path, "tcp.stream == 0"), (int)frames);
	assert_int_equal(tshark_count(path, "tcp.flags.syn == 1 && tcp.flags.ack == 0"), 1);
}

static void run_full(struct umpa_tcps_opts *o, const char *tag)
{
	struct coll c;
	char path[128];
	struct umpa_tcps *t;
	uint16_t cport;

	snprintf(path, sizeof(path), "/tmp/umpa-tcps-%d-%s.pcap", (int)getpid(), tag);
	conversation(o, &c, path);
	t = umpa_tcps_new(o, collect, NULL, NULL);
	assert_non_null(t);
	cport = umpa_tcps_port(t, UMPA_TCPS_CLIENT);
	umpa_tcps_free(t);
	assert_true(o->port[0] ? cport == o->port[0] : cport >= 32768 && cport < 61000);
	check_conversation(o, &c, cport);
	tshark_check(path, c.n);
	if (!getenv("KEEP"))
		unlink(path);
	coll_free(&c);
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
	if (!unit_have_tshark()) {
		skip();
	}
	umpa_tcps_opts_init(&o);
	conversation(&o, &c, NULL);
	snprintf(path, sizeof(path), "/tmp/umpa-tcps-%d-damaged.pcap", (int)getpid());
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
	struct umpa_tcps_opts o;
	struct coll c;
	size_t segs = 0;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.seed = 11;
	o.seg_max = 1;
	run_full(&o, "bytes");
	conversation(&o, &c, NULL);
	for (size_t i = 0; i < c.n; i++)
		if (c.pk[i].len == 14 + 20 + 32 + 1)
			segs++;
	assert_int_equal(segs, sizeof(c2s) + sizeof(s2c));
	coll_free(&c);

	umpa_tcps_opts_init(&o);
	o.ipv6 = 1;
	o.seed = 12;
	o.seg_random = 1;
	run_full(&o, "random");
	o.seg_max = 100;
	o.rwnd = 1000;
	o.wscale = 0;
	run_full(&o, "random100");
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
