/* test_tcpend.c - the one-sided TCP endpoint: two of them through a lossy, reordering link of loop timers. */
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_sched.h"
#include "umpa_tcpend.h"
#include "unit.h"

/* A link: what one side emits reaches the other after a delay with jitter (so it reorders), or is lost. */
struct side {
	struct link *lk;
	int i;
	struct umpa_tcpe *ep;
	uint8_t *got; /* bytes received */
	size_t ngot, capgot;
	int ev[8];       /* events seen, by kind */
	int64_t ev_t[8]; /* when last */
};

struct link {
	struct umpa_loop *loop;
	struct side s[2];
	double loss, dup;
	int64_t delay, jitter;
	uint64_t rng;
	uint64_t sent, lost, dups;
	int down; /* drop everything */
	int ipv6;
	uint32_t mss;        /* what both sides announce */
	struct umpa_capw *w; /* the capture point, at the sender */
	int64_t syn_t[32];   /* when side 0 sent SYNs */
	int nsyn;
};

struct flight {
	struct link *lk;
	int to;
	uint32_t n;
	uint8_t b[];
};

static uint64_t rnd(struct link *lk)
{
	uint64_t z = (lk->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double u01(struct link *lk)
{
	return (double)(rnd(lk) >> 11) * 0x1.0p-53;
}

static void arrive(struct umpa_loop *l, void *arg)
{
	struct flight *f = arg;
	struct umpa_pkt p;
	struct umpa_err e = {0};
	int rc;

	(void)l;
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, f->b, f->n, NULL), 0);
	p.linktype = UMPA_LINKTYPE_ETHERNET;
	umpa_dissect(&p);
	rc = umpa_tcpe_input(f->lk->s[f->to].ep, &p, &e);
	if (rc != 1)
		fail_msg("input to side %d: %d %s", f->to, rc, e.msg);
	umpa_pkt_release(&p);
	free(f);
}

static void send_copy(struct link *lk, int to, const struct umpa_pkt *p, int64_t extra)
{
	struct flight *f = malloc(sizeof(*f) + p->len);
	int64_t d = lk->delay + extra + (lk->jitter ? (int64_t)(rnd(lk) % (uint64_t)lk->jitter) : 0);

	assert_non_null(f);
	f->lk = lk;
	f->to = to;
	f->n = p->len;
	memcpy(f->b, p->data, p->len);
	assert_non_null(umpa_after(lk->loop, d, arrive, f, NULL));
}

static int link_emit(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct side *s = arg;
	struct link *lk = s->lk;
	struct umpa_pkt q;

	/* every segment is well-formed TCP with a good checksum */
	umpa_pkt_init(&q);
	assert_int_equal(umpa_pkt_copy_from(&q, p->data, p->len, NULL), 0);
	q.linktype = UMPA_LINKTYPE_ETHERNET;
	umpa_dissect(&q);
	assert_true(umpa_pkt_find(&q, &umpa_proto_tcp, 0) >= 0);
	/* and fits the link: payload and options within the MSS both sides announced (RFC 6691) */
	assert_true(p->len <= 14u + (lk->ipv6 ? 40u : 20u) + 20u + lk->mss);
	for (unsigned k = 0; k < q.nlayers; k++)
		assert_int_equal(q.l[k].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED | UMPA_L_BADSUM), 0);
	if (getenv("UMPA_TRACE"))
		fprintf(stderr, "%.6f %d->%d flags %03llx seq %llu ack %llu len %u %s\n",
			(double)(umpa_loop_now_ns(lk->loop) % (1000 * UMPA_NS_PER_SEC)) / 1e9, s->i, !s->i,
			(unsigned long long)unit_get(&q, &umpa_proto_tcp, "flags"),
			(unsigned long long)unit_get(&q, &umpa_proto_tcp, "seq"),
			(unsigned long long)unit_get(&q, &umpa_proto_tcp, "ack"), p->len,
			umpa_tcpe_state_name(umpa_tcpe_state(s->ep)));
	if (s->i == 0 && (unit_get(&q, &umpa_proto_tcp, "flags") & 0x12) == 0x02 && lk->nsyn < 32)
		lk->syn_t[lk->nsyn++] = umpa_loop_now_ns(lk->loop);
	umpa_pkt_release(&q);
	if (lk->w && umpa_capw_write(lk->w, p, e) < 0)
		return -1;
	lk->sent++;
	if (lk->down || u01(lk) < lk->loss) {
		lk->lost++;
		return 0;
	}
	send_copy(lk, !s->i, p, 0);
	if (lk->dup > 0 && u01(lk) < lk->dup) {
		lk->dups++;
		send_copy(lk, !s->i, p, 1000);
	}
	return 0;
}

static void on_data(void *arg, const uint8_t *d, size_t n)
{
	struct side *s = arg;

	if (s->ngot + n > s->capgot) {
		s->capgot = (s->ngot + n) * 2;
		s->got = realloc(s->got, s->capgot);
		assert_non_null(s->got);
	}
	memcpy(s->got + s->ngot, d, n);
	s->ngot += n;
}

static void on_event(void *arg, enum umpa_tcpe_event ev)
{
	struct side *s = arg;

	assert_true(ev > 0 && ev < 8);
	s->ev[ev]++;
	s->ev_t[ev] = umpa_loop_now_ns(s->lk->loop);
}

static void link_init(struct link *lk, const struct umpa_tcpe_opts *base, uint64_t seed)
{
	struct umpa_err e = {0};

	memset(lk, 0, sizeof(*lk));
	lk->loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	assert_non_null(lk->loop);
	assert_int_equal(umpa_loop_set_now(lk->loop, 1700000000LL * UMPA_NS_PER_SEC, &e), 0);
	lk->delay = 10000000; /* 10 ms one way */
	lk->ipv6 = base->ipv6;
	lk->mss = base->mss ? base->mss : base->ipv6 ? 1440 : 1460;
	lk->rng = seed;
	for (int i = 0; i < 2; i++) {
		struct umpa_tcpe_opts o = *base;
		struct umpa_tcpe_cbs cb = {link_emit, on_data, on_event, &lk->s[i]};
		int alen = o.ipv6 ? 16 : 4;

		lk->s[i].lk = lk;
		lk->s[i].i = i;
		memset(o.addr, 0, sizeof(o.addr));
		o.addr[0][0] = o.ipv6 ? 0xfd : 10;
		o.addr[0][alen - 1] = (uint8_t)(i + 1);
		o.addr[1][0] = o.ipv6 ? 0xfd : 10;
		o.addr[1][alen - 1] = (uint8_t)(2 - i);
		o.port[0] = i ? 80 : 40001;
		o.port[1] = i ? 0 : 80;
		o.mac[0][0] = o.mac[1][0] = 2;
		o.mac[0][5] = (uint8_t)(i + 1);
		o.mac[1][5] = (uint8_t)(2 - i);
		o.seed = seed * 2 + (uint64_t)i;
		if (i)
			memset(o.addr[1], 0, sizeof(o.addr[1])); /* the server listens for anyone */
		lk->s[i].ep = umpa_tcpe_new(lk->loop, &o, &cb, &e);
		if (!lk->s[i].ep)
			fail_msg("tcpe_new: %s", e.msg);
	}
}

static void link_free(struct link *lk)
{
	for (int i = 0; i < 2; i++) {
		umpa_tcpe_free(lk->s[i].ep);
		free(lk->s[i].got);
	}
	umpa_loop_free(lk->loop); /* frees flights still in the air? no: their timers are dropped */
}

static int both_closed(void *arg)
{
	struct link *lk = arg;

	return umpa_tcpe_state(lk->s[0].ep) == UMPA_TCPE_ST_CLOSED &&
	       umpa_tcpe_state(lk->s[1].ep) == UMPA_TCPE_ST_CLOSED;
}

static uint8_t *pattern(size_t n, unsigned salt)
{
	uint8_t *b = malloc(n);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 2654435761u) >> 13 ^ salt ^ (i >> 9));
	return b;
}

/* Both sides connect, write @p n bytes, shut down; everything arrives intact and both close. */
static void exchange(struct link *lk, size_t n, int64_t limit_s)
{
	struct umpa_err e = {0};
	uint8_t *d[2] = {pattern(n, 0x5a), pattern(n, 0xa5)};
	int r;

	assert_int_equal(umpa_tcpe_listen(lk->s[1].ep, &e), 0);
	assert_int_equal(umpa_tcpe_connect(lk->s[0].ep, &e), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(umpa_tcpe_write(lk->s[i].ep, d[i], n, &e), (int64_t)n);
		assert_int_equal(umpa_tcpe_shutdown(lk->s[i].ep, &e), 0);
		assert_int_equal(umpa_tcpe_write(lk->s[i].ep, "x", 1, &e), -UMPA_EINVAL);
	}
	r = umpa_loop_run_until(lk->loop, both_closed, lk, 1700000000LL * UMPA_NS_PER_SEC + limit_s * UMPA_NS_PER_SEC,
				&e);
	if (r != 1)
		fail_msg("not closed in %llds: %s / %s, got %zu and %zu of %zu", (long long)limit_s,
			 umpa_tcpe_state_name(umpa_tcpe_state(lk->s[0].ep)),
			 umpa_tcpe_state_name(umpa_tcpe_state(lk->s[1].ep)), lk->s[0].ngot, lk->s[1].ngot, n);
	for (int i = 0; i < 2; i++) {
		if (getenv("UMPA_TRACE"))
			printf("side %d events: conn %d eof %d sent %d closed %d reset %d timeout %d\n", i,
			       lk->s[i].ev[1], lk->s[i].ev[2], lk->s[i].ev[3], lk->s[i].ev[4], lk->s[i].ev[5],
			       lk->s[i].ev[6]);
		assert_int_equal(lk->s[i].ngot, n);
		assert_memory_equal(lk->s[i].got, d[!i], n);
		assert_int_equal(lk->s[i].ev[UMPA_TCPE_CONNECTED], 1);
		assert_int_equal(lk->s[i].ev[UMPA_TCPE_EOF], 1);
		assert_int_equal(lk->s[i].ev[UMPA_TCPE_SENT], 1);
		assert_int_equal(lk->s[i].ev[UMPA_TCPE_CLOSED], 1);
		assert_int_equal(lk->s[i].ev[UMPA_TCPE_RESET] + lk->s[i].ev[UMPA_TCPE_TIMEOUT], 0);
		assert_int_equal(umpa_tcpe_unacked(lk->s[i].ep), 0);
	}
	free(d[0]);
	free(d[1]);
}

/*
 * tshark's own reassembly of the capture (follow,tcp,raw: node 0's bytes
 * unindented, node 1's after a tab) gives back @p a (client to server, @p n
 * bytes) and @p b (server to client): every sequence number, retransmission
 * and SACK-guided repair the endpoints put on the wire adds up.
 */
static void tshark_follow(const char *path, const uint8_t *a, const uint8_t *b, size_t n)
{
	char cmd[300], line[4096];
	uint8_t *got[2] = {malloc(n + 1), malloc(n + 1)};
	size_t k[2] = {0, 0};
	FILE *f;

	assert_true(got[0] && got[1]);
	snprintf(cmd, sizeof(cmd), "tshark -r %s -q -z follow,tcp,raw,0 2>/dev/null", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		int dir = line[0] == '\t';
		const char *h = line + dir;
		size_t hl = strspn(h, "0123456789abcdef");

		if (hl < 2 || (h[hl] != '\n' && h[hl] != 0) || hl % 2)
			continue; /* a header line */
		for (size_t i = 0; i + 1 < hl && k[dir] < n + 1; i += 2) {
			unsigned v;
			sscanf(h + i, "%2x", &v);
			got[dir][k[dir]++] = (uint8_t)v;
		}
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(k[0], n);
	assert_int_equal(k[1], n);
	assert_memory_equal(got[0], a, n);
	assert_memory_equal(got[1], b, n);
	free(got[0]);
	free(got[1]);
}

/* 1 MB each way through 10% loss both ways (SYNs, ACKs and FINs too), with reordering and copies. */
static void test_lossy_megabyte(void **state)
{
	struct umpa_tcpe_opts o;
	struct link lk;
	struct umpa_tcpe_stats st[2];
	char path[128];
	struct umpa_err e = {0};

	(void)state;
	umpa_tcpe_opts_init(&o);
	link_init(&lk, &o, 7);
	lk.loss = 0.10;
	lk.dup = 0.01;
	lk.jitter = 3000000; /* up to 3 ms: segments of one flight overtake each other */
	snprintf(path, sizeof(path), "%s/umpa-tcpend-%d.pcap", unit_tmpdir(), (int)getpid());
	lk.w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e);
	assert_non_null(lk.w);
	exchange(&lk, 1 << 20, 3600);
	assert_int_equal(umpa_capw_close(lk.w, &e), 0);
	if (unit_have_tshark()) {
		uint8_t *a = pattern(1 << 20, 0x5a), *b = pattern(1 << 20, 0xa5);
		tshark_follow(path, a, b, 1 << 20);
		free(a);
		free(b);
	}
	for (int i = 0; i < 2; i++) {
		umpa_tcpe_stats(lk.s[i].ep, &st[i]);
		/* the machinery was exercised: losses were repaired both by fast retransmit and by timeout */
		assert_true(st[i].retransmits > 50);
		assert_true(st[i].fast_retransmits > 5);
		assert_true(st[i].rto_expiries > 0);
		assert_true(st[i].ooo_segs_in > 50);
		assert_true(st[i].dup_acks_in > 50);
		assert_int_equal(st[i].bytes_in, 1 << 20);
		assert_true(st[i].srtt_us >= 20000 && st[i].srtt_us < 40000);
		assert_int_equal(st[i].bad_in, 0);
		if (unit_keep())
			printf(
			    "side %d: out %llu in %llu retx %llu rto %llu fast %llu ooo %llu dupack %llu srtt %u us\n",
			    i, (unsigned long long)st[i].segs_out, (unsigned long long)st[i].segs_in,
			    (unsigned long long)st[i].retransmits, (unsigned long long)st[i].rto_expiries,
			    (unsigned long long)st[i].fast_retransmits, (unsigned long long)st[i].ooo_segs_in,
			    (unsigned long long)st[i].dup_acks_in, st[i].srtt_us);
	}
	assert_true(lk.lost > 100);
	if (unit_keep())
		printf("link: %llu sent, %llu lost, %llu copies; %.1f s virtual\n", (unsigned long long)lk.sent,
		       (unsigned long long)lk.lost, (unsigned long long)lk.dups,
		       (double)(umpa_loop_now_ns(lk.loop) - 1700000000LL * UMPA_NS_PER_SEC) / 1e9);
	unit_discard(path);
	link_free(&lk);
}

static void set_none(struct umpa_tcpe_opts *o)
{
	(void)o;
}
static void set_plain(struct umpa_tcpe_opts *o)
{
	o->timestamps = 0;
	o->sackok = 0;
	o->wscale = -1;
	o->rwnd = 65535;
}
static void set_ipv6(struct umpa_tcpe_opts *o)
{
	o->ipv6 = 1;
	o->mss = 1200;
	o->wscale = 3;
	o->rwnd = 300000;
}
static void set_small(struct umpa_tcpe_opts *o)
{
	o->mss = 536;
	o->rwnd = 8192;
	o->wscale = 0;
	o->sndbuf = 100000;
}

/* Option combinations, clean and lossy (without SACK the recovery is NewReno's). */
static void test_options(void **state)
{
	static void (*const set[])(struct umpa_tcpe_opts *) = {set_none, set_plain, set_ipv6, set_small};

	(void)state;
	for (size_t k = 0; k < sizeof(set) / sizeof(set[0]); k++) {
		for (int lossy = 0; lossy < 2; lossy++) {
			struct umpa_tcpe_opts o;
			struct umpa_tcpe_stats st;
			struct link lk;

			umpa_tcpe_opts_init(&o);
			set[k](&o);
			link_init(&lk, &o, 100 + k);
			if (lossy) {
				lk.loss = 0.1;
				lk.jitter = 2000000;
			}
			exchange(&lk, 100000, 3600);
			umpa_tcpe_stats(lk.s[0].ep, &st);
			if (!lossy) {
				assert_int_equal(st.retransmits, 0);
				assert_int_equal(st.rto_expiries, 0);
			}
			link_free(&lk);
		}
	}
}

/* Many seeds, heavier loss, copies and reordering: every run delivers everything and closes. */
static void test_seeds(void **state)
{
	int n = getenv("UMPA_TCPE_SEEDS") ? atoi(getenv("UMPA_TCPE_SEEDS")) : 40;

	(void)state;
	for (int k = 0; k < n; k++) {
		struct umpa_tcpe_opts o;
		struct link lk;

		umpa_tcpe_opts_init(&o);
		if (k % 3 == 1)
			o.sackok = 0;
		if (k % 4 == 2)
			o.timestamps = 0;
		link_init(&lk, &o, 1000 + (uint64_t)k);
		lk.loss = 0.05 + 0.2 * (k % 5) / 4.0; /* 5% to 25% */
		lk.dup = 0.02;
		lk.jitter = 5000000;
		exchange(&lk, 30000 + 7919 * (size_t)(k % 100), 7200);
		link_free(&lk);
	}
}

/* Abort sends a RST the peer reports; a SYN to a closed endpoint is answered with a RST. */
static void test_reset(void **state)
{
	struct umpa_tcpe_opts o;
	struct link lk;
	struct umpa_err e = {0};

	(void)state;
	umpa_tcpe_opts_init(&o);
	link_init(&lk, &o, 3);
	assert_int_equal(umpa_tcpe_listen(lk.s[1].ep, &e), 0);
	assert_int_equal(umpa_tcpe_listen(lk.s[1].ep, &e), -UMPA_EINVAL);
	assert_int_equal(umpa_tcpe_connect(lk.s[0].ep, &e), 0);
	assert_int_equal(umpa_tcpe_write(lk.s[0].ep, "hello", 5, &e), 5);
	assert_int_equal(umpa_loop_advance_to(lk.loop, umpa_loop_now_ns(lk.loop) + UMPA_NS_PER_SEC, &e), 0);
	assert_int_equal(umpa_tcpe_state(lk.s[0].ep), UMPA_TCPE_ST_ESTABLISHED);
	assert_int_equal(umpa_tcpe_state(lk.s[1].ep), UMPA_TCPE_ST_ESTABLISHED);
	assert_int_equal(lk.s[1].ngot, 5);
	assert_int_equal(umpa_tcpe_abort(lk.s[1].ep, &e), 0);
	assert_int_equal(umpa_tcpe_state(lk.s[1].ep), UMPA_TCPE_ST_CLOSED);
	assert_int_equal(umpa_loop_advance_to(lk.loop, umpa_loop_now_ns(lk.loop) + UMPA_NS_PER_SEC, &e), 0);
	assert_int_equal(lk.s[0].ev[UMPA_TCPE_RESET], 1);
	assert_int_equal(umpa_tcpe_state(lk.s[0].ep), UMPA_TCPE_ST_CLOSED);
	link_free(&lk);

	/* nobody listens: the closed endpoint answers the SYN with RST+ACK */
	link_init(&lk, &o, 4);
	assert_int_equal(umpa_tcpe_connect(lk.s[0].ep, &e), 0);
	assert_int_equal(umpa_loop_advance_to(lk.loop, umpa_loop_now_ns(lk.loop) + UMPA_NS_PER_SEC, &e), 0);
	assert_int_equal(lk.s[0].ev[UMPA_TCPE_RESET], 1);
	assert_int_equal(lk.s[0].ev[UMPA_TCPE_CONNECTED], 0);
	link_free(&lk);
}

/* A dead link: the SYN goes again after 1, 2, 4, ... s (RFC 6298 backoff) and the endpoint gives up. */
static void test_timeout(void **state)
{
	struct umpa_tcpe_opts o;
	struct link lk;
	struct umpa_err e = {0};

	(void)state;
	umpa_tcpe_opts_init(&o);
	o.max_retries = 5;
	link_init(&lk, &o, 5);
	lk.down = 1;
	assert_int_equal(umpa_tcpe_connect(lk.s[0].ep, &e), 0);
	assert_int_equal(umpa_loop_run(lk.loop, &e), 0); /* ends when nothing is left */
	assert_int_equal(lk.s[0].ev[UMPA_TCPE_TIMEOUT], 1);
	assert_int_equal(lk.nsyn, 6);
	for (int i = 1; i < lk.nsyn; i++)
		assert_int_equal(lk.syn_t[i] - lk.syn_t[i - 1], (int64_t)UMPA_NS_PER_SEC << (i - 1));
	assert_int_equal(lk.s[0].ev_t[UMPA_TCPE_TIMEOUT] - lk.syn_t[5], 32 * UMPA_NS_PER_SEC);
	link_free(&lk);
}

/* Half-close: the client's FIN first, the server goes on sending, then closes; TIME-WAIT on the client. */
static void test_half_close(void **state)
{
	struct umpa_tcpe_opts o;
	struct link lk;
	struct umpa_err e = {0};
	uint8_t *d = pattern(200000, 1);
	int64_t t0;

	(void)state;
	umpa_tcpe_opts_init(&o);
	link_init(&lk, &o, 6);
	lk.loss = 0.05;
	assert_int_equal(umpa_tcpe_listen(lk.s[1].ep, &e), 0);
	assert_int_equal(umpa_tcpe_connect(lk.s[0].ep, &e), 0);
	assert_int_equal(umpa_tcpe_write(lk.s[0].ep, "GET", 3, &e), 3);
	assert_int_equal(umpa_tcpe_shutdown(lk.s[0].ep, &e), 0);
	assert_int_equal(umpa_tcpe_shutdown(lk.s[0].ep, &e), -UMPA_EINVAL);
	t0 = umpa_loop_now_ns(lk.loop);
	assert_int_equal(umpa_loop_advance_to(lk.loop, t0 + 10 * UMPA_NS_PER_SEC, &e), 0);
	assert_int_equal(umpa_tcpe_state(lk.s[0].ep), UMPA_TCPE_ST_FIN_WAIT_2);
	assert_int_equal(umpa_tcpe_state(lk.s[1].ep), UMPA_TCPE_ST_CLOSE_WAIT);
	assert_int_equal(lk.s[1].ev[UMPA_TCPE_EOF], 1);
	assert_int_equal(lk.s[1].ngot, 3);
	assert_int_equal(umpa_tcpe_write(lk.s[1].ep, d, 200000, &e), 200000);
	assert_int_equal(umpa_tcpe_shutdown(lk.s[1].ep, &e), 0);
	assert_int_equal(umpa_loop_run_until(lk.loop, both_closed, &lk, t0 + 3600 * UMPA_NS_PER_SEC, &e), 1);
	assert_int_equal(lk.s[0].ngot, 200000);
	assert_memory_equal(lk.s[0].got, d, 200000);
	/* the server closed on the last ACK, the client after TIME-WAIT */
	assert_true(lk.s[0].ev_t[UMPA_TCPE_CLOSED] - lk.s[0].ev_t[UMPA_TCPE_EOF] >= 60 * UMPA_NS_PER_SEC);
	assert_true(lk.s[1].ev_t[UMPA_TCPE_CLOSED] < lk.s[0].ev_t[UMPA_TCPE_CLOSED]);
	free(d);
	link_free(&lk);
}

/* Bad options are refused with a message. */
static void test_bad_options(void **state)
{
	struct umpa_tcpe_opts o;
	struct umpa_err e = {0};
	struct umpa_loop *l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct umpa_tcpe_cbs cb = {link_emit, NULL, NULL, NULL};

	(void)state;
	umpa_tcpe_opts_init(&o);
	assert_null(umpa_tcpe_new(l, &o, &cb, &e)); /* no local port */
	assert_non_null(strstr(e.msg, "local port"));
	o.port[0] = 1;
	o.wscale = 15;
	assert_null(umpa_tcpe_new(l, &o, &cb, &e));
	assert_non_null(strstr(e.msg, "window scale"));
	o.wscale = 0;
	o.rwnd = 70000;
	assert_null(umpa_tcpe_new(l, &o, &cb, &e));
	assert_non_null(strstr(e.msg, "window 70000"));
	umpa_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lossy_megabyte), cmocka_unit_test(test_options), cmocka_unit_test(test_seeds),
	    cmocka_unit_test(test_reset),          cmocka_unit_test(test_timeout), cmocka_unit_test(test_half_close),
	    cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
