/* test_expect.c - the expect engine on the virtual clock with a fake peer.
 *
 * The peer is a send function: it turns each request it sees into the
 * answer a real host would give (echo reply, SYN/ACK, time exceeded quoting
 * the request, ...) and delivers it after a delay on the virtual clock, or
 * drops it.  Every answer is built from the request's bytes, so the tests
 * check matching, not a table of expected results.
 */
#include "unit.h"

#include <time.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_expect.h"
#include "umpa_lua.h"
#include "umpa_sched.h"

/* ---- packets ---- */

static struct umpa_lua *L;

struct pvec {
	struct umpa_pkt *p;
	size_t n, cap;
};

static int keep_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct pvec *v = arg;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->p = realloc(v->p, v->cap * sizeof(*v->p));
		assert_non_null(v->p);
	}
	umpa_pkt_init(&v->p[v->n]);
	return umpa_pkt_dup(&v->p[v->n++], p, e);
}

static void build_all(const char *expr, struct pvec *v)
{
	struct umpa_err e = {0};

	memset(v, 0, sizeof(*v));
	if (umpa_lua_build(L, expr, "test", 0, keep_pkt, v, &e) < 0)
		fail_msg("%s: %s", expr, e.msg);
}

static void pvec_free(struct pvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		umpa_pkt_release(&v->p[i]);
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* Build one packet from @p expr into @p out (owned). */
static void build1(const char *expr, struct umpa_pkt *out)
{
	struct pvec v;

	build_all(expr, &v);
	assert_int_equal(v.n, 1);
	*out = v.p[0];
	free(v.p);
}

/* Re-dissect @p p from its bytes, as a capture would deliver it. */
static void redissect(struct umpa_pkt *p)
{
	if (p->nlayers)
		p->linktype = umpa_linktype_for_proto(p->l[0].proto);
	umpa_dissect(p);
}

/* Unset every checksum and length field so finish computes them again. */
static void unset_auto(struct umpa_pkt *p)
{
	for (unsigned li = 0; li < p->nlayers; li++) {
		const struct umpa_proto *pr = p->l[li].proto;
		for (unsigned i = 0; i < pr->nfields; i++)
			if (pr->fields[i].flags & UMPA_F_AUTO)
				umpa_field_unset(p, li, &pr->fields[i]);
	}
}

static int layer_of(const struct umpa_pkt *p, const struct umpa_proto *pr)
{
	int li = umpa_pkt_find(p, pr, 0);

	assert_true(li >= 0);
	return li;
}

/* Swap two byte fields (addresses) of the first @p pr layer. */
static void swap_bytes(struct umpa_pkt *p, const struct umpa_proto *pr, const char *a, const char *b)
{
	unsigned li = (unsigned)layer_of(p, pr);
	const struct umpa_field *fa = unit_field(pr, a), *fb = unit_field(pr, b);
	const uint8_t *x, *y;
	uint8_t tx[16], ty[16];
	uint32_t nx, ny;

	assert_int_equal(umpa_field_get_bytes(p, li, fa, &x, &nx), 0);
	assert_int_equal(umpa_field_get_bytes(p, li, fb, &y, &ny), 0);
	memcpy(tx, x, nx);
	memcpy(ty, y, ny);
	assert_int_equal(umpa_field_set_bytes(p, li, fa, ty, ny, NULL), 0);
	assert_int_equal(umpa_field_set_bytes(p, li, fb, tx, nx, NULL), 0);
}

static void swap_u16(struct umpa_pkt *p, const struct umpa_proto *pr, const char *a, const char *b)
{
	unsigned li = (unsigned)layer_of(p, pr);
	uint64_t va = unit_get_at(p, li, a), vb = unit_get_at(p, li, b);

	assert_int_equal(umpa_field_set_u64(p, li, unit_field(pr, a), vb, NULL), 0);
	assert_int_equal(umpa_field_set_u64(p, li, unit_field(pr, b), va, NULL), 0);
}

static void setu(struct umpa_pkt *p, const struct umpa_proto *pr, const char *f, uint64_t v)
{
	assert_int_equal(umpa_field_set_u64(p, (unsigned)layer_of(p, pr), unit_field(pr, f), v, NULL), 0);
}

static void swap_link_ip(struct umpa_pkt *r)
{
	if (umpa_pkt_find(r, &umpa_proto_eth, 0) >= 0)
		swap_bytes(r, &umpa_proto_eth, "src", "dst");
	if (umpa_pkt_find(r, &umpa_proto_ip, 0) >= 0)
		swap_bytes(r, &umpa_proto_ip, "src", "dst");
	else
		swap_bytes(r, &umpa_proto_ipv6, "src", "dst");
}

/* ---- replies a host or router would give ---- */

static void echo_reply(const struct umpa_pkt *q, struct umpa_pkt *r)
{
	umpa_pkt_init(r);
	assert_int_equal(umpa_pkt_dup(r, q, NULL), 0);
	swap_link_ip(r);
	if (umpa_pkt_find(r, &umpa_proto_icmp, 0) >= 0)
		setu(r, &umpa_proto_icmp, "type", 0);
	else
		setu(r, &umpa_proto_icmpv6, "type", 129);
	unset_auto(r);
	unit_finish(r);
	redissect(r);
}

/* SYN/ACK (or RST/ACK when @p rst) to a SYN, acknowledging seq + 1 + @p ack_error. */
static void tcp_answer(const struct umpa_pkt *q, struct umpa_pkt *r, int rst, int ack_error)
{
	uint64_t seq = unit_get(q, &umpa_proto_tcp, "seq");

	umpa_pkt_init(r);
	assert_int_equal(umpa_pkt_dup(r, q, NULL), 0);
	swap_link_ip(r);
	swap_u16(r, &umpa_proto_tcp, "srcport", "dstport");
	setu(r, &umpa_proto_tcp, "flags", rst ? 0x14 : 0x12);
	setu(r, &umpa_proto_tcp, "ack", (uint32_t)(seq + 1 + (uint64_t)(int64_t)ack_error));
	setu(r, &umpa_proto_tcp, "seq", rst ? 0 : 777);
	unset_auto(r);
	unit_finish(r);
	redissect(r);
}

/* An ICMP error from @p from (type/code) quoting @p q's IPv4 packet. */
static void icmp_error(const struct umpa_pkt *q, struct umpa_pkt *r, const char *from, unsigned type, unsigned code)
{
	int qi = layer_of(q, &umpa_proto_ip), li;
	const uint8_t *src;
	uint32_t n;
	char buf[64];

	umpa_pkt_init(r);
	li = (int)unit_push(r, &umpa_proto_eth);
	unit_push(r, &umpa_proto_ip);
	unit_push(r, &umpa_proto_icmp);
	assert_int_equal(umpa_pkt_push_bytes(r, &umpa_proto_raw, q->data + q->l[qi].off, q->len - q->l[qi].off, NULL),
			 3);
	(void)li;
	assert_int_equal(umpa_field_get_bytes(q, (unsigned)qi, unit_field(&umpa_proto_ip, "src"), &src, &n), 0);
	snprintf(buf, sizeof(buf), "%u.%u.%u.%u", src[0], src[1], src[2], src[3]);
	unit_set(r, 1, "dst", buf);
	unit_set(r, 1, "src", from);
	setu(r, &umpa_proto_icmp, "type", type);
	setu(r, &umpa_proto_icmp, "code", code);
	unit_finish(r);
	redissect(r);
	assert_true(r->l[2].flags & UMPA_L_QUOTES);
}

/* ---- the fake peer ---- */

enum peer_mode { P_ECHO, P_SYNACK, P_SYNACK_BAD, P_RST, P_TRACE, P_UNREACH, P_SILENT, P_HOLD };

struct peer {
	struct umpa_loop *loop;
	struct umpa_expect *ex;
	int mode;
	int64_t delay;
	unsigned drop_first; /* drop this many transmissions first */
	unsigned seen;
	struct umpa_pkt *q; /* replies waiting for their timer (FIFO) */
	size_t head, n, cap;
	int64_t *send_times;
	size_t nsend;
};

static void deliver_one(struct umpa_loop *loop, void *arg)
{
	struct peer *pe = arg;
	struct umpa_pkt *r = &pe->q[pe->head++];

	(void)loop;
	umpa_expect_input(pe->ex, r);
	umpa_pkt_release(r);
}

static void deliver_all_reversed(struct umpa_loop *loop, void *arg)
{
	struct peer *pe = arg;

	(void)loop;
	for (size_t i = pe->n; i-- > 0;) {
		umpa_expect_input(pe->ex, &pe->q[i]);
		umpa_pkt_release(&pe->q[i]);
	}
	pe->head = pe->n;
}

static int peer_send(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct peer *pe = arg;
	struct umpa_pkt *r;
	uint64_t ttl;

	(void)e;
	pe->seen++;
	if (pe->send_times) {
		pe->send_times[pe->nsend++] = umpa_loop_now_ns(pe->loop);
	}
	if (pe->mode == P_SILENT || pe->seen <= pe->drop_first)
		return 0;
	if (pe->n == pe->cap) {
		pe->cap = pe->cap ? pe->cap * 2 : 64;
		pe->q = realloc(pe->q, pe->cap * sizeof(*pe->q));
		assert_non_null(pe->q);
	}
	r = &pe->q[pe->n++];
	switch (pe->mode) {
	case P_ECHO:
	case P_HOLD:
		echo_reply(p, r);
		break;
	case P_SYNACK:
	case P_SYNACK_BAD:
		tcp_answer(p, r, 0, pe->mode == P_SYNACK_BAD ? 1 : 0);
		break;
	case P_RST:
		tcp_answer(p, r, 1, 0);
		break;
	case P_TRACE: /* a router at ttl 1, the host beyond it */
		ttl = unit_get(p, &umpa_proto_ip, "ttl");
		if (ttl <= 1)
			icmp_error(p, r, "10.9.0.254", 11, 0);
		else
			echo_reply(p, r);
		break;
	case P_UNREACH:
		icmp_error(p, r, "10.9.0.2", 3, 3);
		break;
	}
	if (pe->mode != P_HOLD)
		assert_non_null(umpa_after(pe->loop, pe->delay, deliver_one, pe, NULL));
	return 0;
}

static void peer_init(struct peer *pe, int mode, int64_t delay)
{
	struct umpa_err e = {0};

	memset(pe, 0, sizeof(*pe));
	pe->mode = mode;
	pe->delay = delay;
	pe->loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	assert_non_null(pe->loop);
	pe->ex = umpa_expect_new(pe->loop, peer_send, pe, &e);
	assert_non_null(pe->ex);
}

static void peer_free(struct peer *pe)
{
	for (size_t i = pe->head; i < pe->n; i++)
		umpa_pkt_release(&pe->q[i]);
	free(pe->q);
	free(pe->send_times);
	umpa_expect_free(pe->ex);
	umpa_loop_free(pe->loop);
}

/* ---- what the callbacks saw ---- */

struct seen {
	unsigned replies, timeouts, wrong;
	int64_t last_rtt, last_at, last_sent_ts;
	int last_kernel;
	unsigned last_tries;
	int last_outcome;
	uint64_t order[16];
	unsigned norder;
	struct umpa_loop *loop;
};

static uint64_t icmp_seq_of(const struct umpa_pkt *p)
{
	int li = umpa_pkt_find(p, &umpa_proto_icmp, 0);
	uint64_t v = 0;

	if (li >= 0 && (p->l[li].flags & UMPA_L_QUOTES))
		li = umpa_pkt_find(p, &umpa_proto_icmp, (unsigned)li + 1);
	if (li < 0 || umpa_field_get_u64(p, (unsigned)li, unit_field(&umpa_proto_icmp, "seq"), &v) < 0)
		return UINT64_MAX;
	return v;
}

static void on_reply(void *arg, const struct umpa_exchange *x)
{
	struct seen *s = arg;

	s->replies++;
	s->last_rtt = x->rtt_ns;
	s->last_kernel = x->rtt_kernel;
	s->last_sent_ts = x->sent_ts_ns;
	s->last_tries = x->tries;
	s->last_outcome = x->outcome;
	s->last_at = umpa_loop_now_ns(s->loop);
	/* the answer is the request's own: same echo sequence (also through a quotation) */
	if (umpa_pkt_find(x->request, &umpa_proto_icmp, 0) >= 0 && icmp_seq_of(x->answer) != icmp_seq_of(x->request))
		s->wrong++;
}

static void on_timeout(void *arg, const struct umpa_exchange *x)
{
	struct seen *s = arg;

	assert_null(x->answer);
	assert_int_equal(x->rtt_ns, -1);
	if (s->norder < 16)
		s->order[s->norder++] = (uint64_t)umpa_loop_now_ns(s->loop);
	s->timeouts++;
	s->last_tries = x->tries;
}

static void add_all(struct peer *pe, const char *expr, struct umpa_expect_opts *o)
{
	struct pvec v;
	struct umpa_err e = {0};

	build_all(expr, &v);
	for (size_t i = 0; i < v.n; i++)
		if (umpa_expect_add(pe->ex, &v.p[i], o, &e) < 0)
			fail_msg("add: %s", e.msg);
	pvec_free(&v);
}

static void wait_all(struct peer *pe)
{
	struct umpa_err e = {0};

	assert_int_equal(umpa_expect_wait(pe->ex, UMPA_NEVER, &e), 1);
	assert_int_equal(umpa_expect_pending(pe->ex), 0);
}

#define MS (1000000LL)

/* ---- tests ---- */

static void test_echo_matching(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_expect_opts o = {.timeout_ns = 1000 * MS, .on_reply = on_reply, .on_timeout = on_timeout};
	struct umpa_expect_stats st;

	(void)state;
	peer_init(&pe, P_ECHO, 5 * MS);
	s.loop = pe.loop;
	o.reply_arg = o.timeout_arg = &s;
	add_all(&pe,
		"ether{src=\"02:00:00:00:00:01\", dst=\"02:00:00:00:00:02\"}/ip{src=\"10.9.0.1\", "
		"dst=\"10.9.0.2\"}/icmp{id=77, seq=range(1,100)}/\"payload\"",
		&o);
	wait_all(&pe);
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(s.replies, 100);
	assert_int_equal(s.wrong, 0);
	assert_int_equal(s.timeouts, 0);
	assert_int_equal(st.sent, 100);
	assert_int_equal(st.answered, 100);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.unmatched, 0);
	/* virtual clock: every round trip is exactly the peer's delay */
	assert_int_equal(st.rtt_min_ns, 5 * MS);
	assert_int_equal(st.rtt_max_ns, 5 * MS);
	assert_int_equal(s.last_rtt, 5 * MS);
	peer_free(&pe);
}

static void test_retries(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_expect_opts o = {
	    .timeout_ns = 1000 * MS, .retries = 3, .on_reply = on_reply, .on_timeout = on_timeout};
	struct umpa_expect_stats st;

	(void)state;
	peer_init(&pe, P_ECHO, 7 * MS);
	s.loop = pe.loop;
	o.reply_arg = o.timeout_arg = &s;
	pe.drop_first = 2; /* the first two transmissions are lost */
	pe.send_times = calloc(8, sizeof(int64_t));
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=1, seq=1}", &o);
	wait_all(&pe);
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(s.replies, 1);
	assert_int_equal(s.last_tries, 3);
	assert_int_equal(pe.nsend, 3);
	/* sent at 0, retried at 1 s and 2 s; answered 7 ms after the last try */
	assert_int_equal(pe.send_times[0], 0);
	assert_int_equal(pe.send_times[1], 1000 * MS);
	assert_int_equal(pe.send_times[2], 2000 * MS);
	assert_int_equal(s.last_rtt, 7 * MS);
	assert_int_equal(s.last_at, 2007 * MS);
	assert_int_equal(st.tx, 3);
	assert_int_equal(st.sent, 1);

	/* no answer at all: 1 + 3 tries, then the timeout callback at 4 s */
	pe.mode = P_SILENT;
	pe.nsend = 0;
	{
		int64_t t0 = umpa_loop_now_ns(pe.loop);
		add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=1, seq=2}", &o);
		wait_all(&pe);
		assert_int_equal(s.timeouts, 1);
		assert_int_equal(s.last_tries, 4);
		assert_int_equal(pe.nsend, 4);
		assert_int_equal((int64_t)s.order[0] - t0, 4000 * MS);
	}
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.answered, 1);
	peer_free(&pe);
}

static void test_timeout_order(void **state)
{
	static const int64_t tmo[] = {3000, 1000, 2500, 500, 1000};
	struct peer pe;
	struct seen s = {0};
	struct pvec v;
	struct umpa_err e = {0};

	(void)state;
	peer_init(&pe, P_SILENT, 0);
	s.loop = pe.loop;
	build_all("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=1, seq=range(1,5)}", &v);
	for (size_t i = 0; i < v.n; i++) {
		struct umpa_expect_opts o = {.timeout_ns = tmo[i] * MS, .on_timeout = on_timeout, .timeout_arg = &s};
		assert_true(umpa_expect_add(pe.ex, &v.p[i], &o, &e) > 0);
	}
	pvec_free(&v);
	wait_all(&pe);
	assert_int_equal(s.timeouts, 5);
	/* in deadline order; equal deadlines in the order they were added */
	assert_int_equal(s.order[0], 500 * MS);
	assert_int_equal(s.order[1], 1000 * MS);
	assert_int_equal(s.order[2], 1000 * MS);
	assert_int_equal(s.order[3], 2500 * MS);
	assert_int_equal(s.order[4], 3000 * MS);
	peer_free(&pe);
}

static int is_type(void *arg, const struct umpa_pkt *a)
{
	return unit_get(a, &umpa_proto_icmp, "type") == (uint64_t)(uintptr_t)arg;
}

static unsigned n_exceeded, n_echo;

static void cb_exceeded(void *arg, const struct umpa_exchange *x)
{
	(void)arg;
	assert_true(x->answer->l[2].flags & UMPA_L_QUOTES);
	n_exceeded++;
}

static void cb_echo(void *arg, const struct umpa_exchange *x)
{
	(void)arg;
	(void)x;
	n_echo++;
}

/* Traceroute: the router's time-exceeded (quoting the request) and the host's echo reply, to two outcomes. */
static void test_icmp_error_quoting(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_err e = {0};
	struct umpa_pred *exceeded = umpa_pred_compile("icmp.type == time-exceeded", &e);
	struct umpa_outcome oc[2] = {{.pred = exceeded, .cb = cb_exceeded},
				     {.match = is_type, .match_arg = (void *)(uintptr_t)0, .cb = cb_echo}};
	struct umpa_expect_opts o = {.timeout_ns = 1000 * MS, .outcomes = oc, .noutcomes = 2, .on_timeout = on_timeout};
	struct umpa_expect_stats st;

	(void)state;
	assert_non_null(exceeded);
	peer_init(&pe, P_TRACE, 3 * MS);
	s.loop = pe.loop;
	o.timeout_arg = &s;
	n_exceeded = n_echo = 0;
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.1.2\", ttl={1,2,3}}/icmp{id=9, seq=range(1,4)}", &o);
	wait_all(&pe);
	assert_int_equal(n_exceeded, 4);
	assert_int_equal(n_echo, 8);
	assert_int_equal(s.timeouts, 0);

	/* UDP to a closed port: port unreachable quoting the datagram answers it */
	pe.mode = P_UNREACH;
	o.outcomes = NULL;
	o.noutcomes = 0;
	o.on_reply = on_reply;
	o.reply_arg = &s;
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/udp{sport=40000, dport=range(33434,33443)}/\"x\"",
		&o);
	wait_all(&pe);
	assert_int_equal(s.replies, 10);
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(st.answered, 22);
	assert_int_equal(st.unmatched, 0);
	umpa_pred_free(exceeded);
	peer_free(&pe);
}

static uint64_t settled_ttl[4];
static unsigned nsettled;

static void on_settled_ttl(void *arg, const struct umpa_exchange *x)
{
	(void)arg;
	assert_non_null(x->answer);
	settled_ttl[nsettled++ & 3] = unit_get(x->request, &umpa_proto_ip, "ttl");
}

/* Requests that differ only in TTL (a traceroute with one id/seq): the error goes to the one whose ip.id it quotes. */
static void test_error_picks_quoted_ip_id(void **state)
{
	struct peer pe;
	struct umpa_pkt q2, q1, err, rep;
	struct umpa_expect_opts o = {.timeout_ns = 1000 * MS, .on_reply = on_settled_ttl, .sent_by_caller = 1};

	(void)state;
	peer_init(&pe, P_SILENT, 0);
	nsettled = 0;
	/* the TTL 2 request is the older one: "oldest first" alone would give it the error */
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.1.2\", ttl=2, id=0x1002}/icmp{id=5, seq=1}", &q2);
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.1.2\", ttl=1, id=0x1001}/icmp{id=5, seq=1}", &q1);
	assert_true(umpa_expect_add(pe.ex, &q2, &o, NULL) > 0);
	assert_true(umpa_expect_add(pe.ex, &q1, &o, NULL) > 0);
	redissect(&q1);
	icmp_error(&q1, &err, "10.9.0.254", 11, 0);
	assert_int_equal(umpa_expect_input(pe.ex, &err), 1);
	assert_int_equal(nsettled, 1);
	assert_int_equal(settled_ttl[0], 1);
	redissect(&q2);
	echo_reply(&q2, &rep);
	assert_int_equal(umpa_expect_input(pe.ex, &rep), 1);
	assert_int_equal(settled_ttl[1], 2);
	assert_int_equal(umpa_expect_pending(pe.ex), 0);
	umpa_pkt_release(&q1);
	umpa_pkt_release(&q2);
	umpa_pkt_release(&err);
	umpa_pkt_release(&rep);
	peer_free(&pe);
}

/* An error quoting a datagram to another port must not answer. */
static void test_error_quotes_other(void **state)
{
	struct umpa_pkt q, other, err;
	char why[160] = "";

	(void)state;
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/udp{sport=40000, dport=53}", &q);
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/udp{sport=40000, dport=54}", &other);
	redissect(&q);
	redissect(&other);
	icmp_error(&other, &err, "10.9.0.2", 3, 3);
	assert_int_equal(umpa_match_answers(&err, &q, why, sizeof(why)), 0);
	assert_string_equal(why, "quoted ports differ from the request's");
	assert_int_equal(umpa_match_answers(&err, &other, why, sizeof(why)), 1);
	/* both hash alike at the upper layer: the reason is what tells them apart */
	assert_int_not_equal(umpa_match_hash(&err, 1), 0);
	assert_int_equal(umpa_match_hash(&err, 1), umpa_match_hash(&other, 1));
	umpa_pkt_release(&q);
	umpa_pkt_release(&other);
	umpa_pkt_release(&err);
}

static char last_why[160];
static unsigned n_mismatch;

static void on_mismatch(void *arg, const struct umpa_pkt *p, const struct umpa_pkt *req, const char *why)
{
	(void)arg;
	(void)p;
	(void)req;
	n_mismatch++;
	snprintf(last_why, sizeof(last_why), "%s", why);
}

static void test_why_not_matched(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_expect_opts o = {.timeout_ns = 200 * MS, .on_reply = on_reply, .on_timeout = on_timeout};
	struct umpa_expect_stats st;

	(void)state;
	peer_init(&pe, P_SYNACK_BAD, 2 * MS);
	s.loop = pe.loop;
	o.reply_arg = o.timeout_arg = &s;
	n_mismatch = 0;
	umpa_expect_on_mismatch(pe.ex, on_mismatch, NULL);
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/tcp{sport=40000, dport=80, flags=\"S\", seq=1000}",
		&o);
	wait_all(&pe);
	assert_int_equal(s.replies, 0);
	assert_int_equal(s.timeouts, 1);
	assert_int_equal(n_mismatch, 1);
	assert_string_equal(last_why, "tcp.ack off by 1");
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(st.unmatched, 1);
	assert_int_equal(st.mismatched, 1);

	/* the right acknowledgement matches; a RST/ACK from a closed port too */
	pe.mode = P_SYNACK;
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/tcp{sport=40000, dport=80, flags=\"S\", seq=1000}",
		&o);
	wait_all(&pe);
	assert_int_equal(s.replies, 1);
	pe.mode = P_RST;
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/tcp{sport=40000, dport=range(1,20), flags=\"S\"}",
		&o);
	wait_all(&pe);
	assert_int_equal(s.replies, 21);
	assert_int_equal(n_mismatch, 1);
	peer_free(&pe);
}

/* 10,000 in flight at once, answered all together in reverse order. */
static void test_ten_thousand(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_expect_opts o = {.timeout_ns = 5000 * MS, .on_reply = on_reply, .on_timeout = on_timeout};
	struct umpa_expect_stats st;
	struct umpa_pkt stray;

	(void)state;
	peer_init(&pe, P_HOLD, 0);
	s.loop = pe.loop;
	o.reply_arg = o.timeout_arg = &s;
	add_all(&pe, "ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=range(1,5), seq=range(1,2000)}", &o);
	assert_int_equal(umpa_expect_pending(pe.ex), 10000);
	assert_int_equal(pe.n, 10000);
	assert_non_null(umpa_after(pe.loop, 50 * MS, deliver_all_reversed, &pe, NULL));
	/* a reply nobody asked for, and an echo reply to seq 2001 */
	build1("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\"}/icmp{type=0, id=1, seq=2001}", &stray);
	redissect(&stray);
	assert_int_equal(umpa_expect_input(pe.ex, &stray), 0);
	umpa_pkt_release(&stray);
	wait_all(&pe);
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(s.replies, 10000);
	assert_int_equal(s.wrong, 0);
	assert_int_equal(s.timeouts, 0);
	assert_int_equal(st.answered, 10000);
	assert_int_equal(st.unmatched, 1);
	assert_int_equal(st.rtt_min_ns, 50 * MS);
	peer_free(&pe);
}

/* Our own request heard back is not its answer; an L3 request meets an Ethernet-framed answer. */
static void test_own_and_l3(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_expect_opts o = {.timeout_ns = 100 * MS, .on_reply = on_reply, .on_timeout = on_timeout};
	struct umpa_pkt q, r, framed;
	struct umpa_expect_stats st;

	(void)state;
	peer_init(&pe, P_SILENT, 0);
	s.loop = pe.loop;
	o.reply_arg = o.timeout_arg = &s;
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=3, seq=3}", &q);
	assert_true(umpa_expect_add(pe.ex, &q, &o, NULL) > 0);
	redissect(&q);
	assert_int_equal(umpa_expect_input(pe.ex, &q), 0);
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(st.own, 1);
	echo_reply(&q, &r);
	assert_int_equal(umpa_expect_input(pe.ex, &r), 1);
	assert_int_equal(s.replies, 1);

	/* layer 3 request, answer captured with its Ethernet header */
	umpa_pkt_release(&q);
	build1("ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=4, seq=4}", &q);
	assert_true(umpa_expect_add(pe.ex, &q, &o, NULL) > 0);
	build1("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\"}/icmp{type=\"echo-reply\", id=4, seq=4}", &framed);
	redissect(&framed);
	assert_int_equal(umpa_expect_input(pe.ex, &framed), 1);
	assert_int_equal(s.replies, 2);
	umpa_pkt_release(&q);
	umpa_pkt_release(&r);
	umpa_pkt_release(&framed);
	peer_free(&pe);
}

static void set_ts(struct umpa_pkt *p, int64_t ns)
{
	p->ts_sec = ns / 1000000000;
	p->ts_nsec = (uint32_t)(ns % 1000000000);
}

/*
 * RTTs from capture time stamps: a request heard leaving (umpa_expect_heard,
 * here a layer-3 request heard with its Ethernet header) gives its transmit
 * time; the answer's time stamp minus it is the RTT, however late the loop
 * reads the answer.  Not heard: the loop's clock measures.  Other outgoing
 * packets are nobody's answer and not counted.
 */
static void test_kernel_timestamps(void **state)
{
	struct peer pe;
	struct seen s = {0};
	struct umpa_expect_opts o = {.timeout_ns = 100 * MS, .on_reply = on_reply, .on_timeout = on_timeout};
	struct umpa_pkt q, own, other, r;
	struct umpa_expect_stats st;
	struct umpa_err e = {0};
	const int64_t t0 = 1700000000LL * 1000000000LL;

	(void)state;
	peer_init(&pe, P_SILENT, 0);
	s.loop = pe.loop;
	o.reply_arg = o.timeout_arg = &s;
	build1("ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=5, seq=5}", &q);
	assert_true(umpa_expect_add(pe.ex, &q, &o, NULL) > 0);
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=5, seq=5}", &own);
	redissect(&own);
	set_ts(&own, t0 + 1000);
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/tcp{flags=\"R\"}", &other);
	redissect(&other);
	assert_int_equal(umpa_expect_heard(pe.ex, &other), 0);
	assert_int_equal(umpa_expect_heard(pe.ex, &own), 1);
	umpa_expect_stats(pe.ex, &st);
	assert_int_equal(st.own, 1);
	assert_int_equal(st.received, 0);
	assert_int_equal(st.unmatched, 0);
	assert_int_equal(umpa_loop_advance_to(pe.loop, 5 * MS, &e), 0); /* the loop reads the answer 5 ms late */
	build1("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\"}/icmp{type=\"echo-reply\", id=5, seq=5}", &r);
	redissect(&r);
	set_ts(&r, t0 + 1000 + 777);
	assert_int_equal(umpa_expect_input(pe.ex, &r), 1);
	assert_int_equal(s.replies, 1);
	assert_int_equal(s.last_rtt, 777);
	assert_int_equal(s.last_kernel, 1);
	assert_int_equal(s.last_sent_ts, t0 + 1000);

	/* not heard leaving: the loop's clock (virtual here: 5 ms at the send, 8 ms at the answer) */
	umpa_pkt_release(&q);
	umpa_pkt_release(&r);
	build1("ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=6, seq=6}", &q);
	assert_true(umpa_expect_add(pe.ex, &q, &o, NULL) > 0);
	assert_int_equal(umpa_loop_advance_to(pe.loop, 8 * MS, &e), 0);
	build1("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\"}/icmp{type=\"echo-reply\", id=6, seq=6}", &r);
	redissect(&r);
	set_ts(&r, t0 + 3000);
	assert_int_equal(umpa_expect_input(pe.ex, &r), 1);
	assert_int_equal(s.last_rtt, 3 * MS);
	assert_int_equal(s.last_kernel, 0);
	assert_int_equal(s.last_sent_ts, 5 * MS);

	/* two identical requests: heard in the order they left, each keeps its own stamp */
	umpa_pkt_release(&q);
	umpa_pkt_release(&r);
	umpa_pkt_release(&own);
	build1("ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=7, seq=7}", &q);
	assert_true(umpa_expect_add(pe.ex, &q, &o, NULL) > 0);
	assert_true(umpa_expect_add(pe.ex, &q, &o, NULL) > 0);
	build1("ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}/icmp{id=7, seq=7}", &own);
	redissect(&own);
	set_ts(&own, t0 + 10000);
	assert_int_equal(umpa_expect_heard(pe.ex, &own), 1);
	set_ts(&own, t0 + 20000);
	assert_int_equal(umpa_expect_heard(pe.ex, &own), 1);
	build1("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\"}/icmp{type=\"echo-reply\", id=7, seq=7}", &r);
	redissect(&r);
	set_ts(&r, t0 + 30000);
	assert_int_equal(umpa_expect_input(pe.ex, &r), 1); /* the oldest request takes the first answer */
	assert_int_equal(s.last_rtt, 20000);
	assert_int_equal(umpa_expect_input(pe.ex, &r), 1);
	assert_int_equal(s.last_rtt, 10000);
	assert_int_equal(s.last_kernel, 1);
	umpa_pkt_release(&q);
	umpa_pkt_release(&r);
	umpa_pkt_release(&own);
	umpa_pkt_release(&other);
	peer_free(&pe);
}

/* ARP who-has / is-at, IPv6 NS / NA, ICMPv6 echo, a DNS query and its response. */
static void test_arp_nd_v6(void **state)
{
	static const char *const pairs[][2] = {
	    {"ether{dst=\"ff:ff:ff:ff:ff:ff\"}/arp{op=1, psrc=\"10.9.0.1\", pdst=\"10.9.0.2\"}",
	     "ether{}/arp{op=2, psrc=\"10.9.0.2\", pdst=\"10.9.0.1\", hwsrc=\"02:00:00:00:00:02\"}"},
	    {"ether{}/ipv6{src=\"fd00:9::1\", dst=\"ff02::1:ff00:2\", hlim=255}/icmpv6{type=135, tgt=\"fd00:9::2\"}",
	     "ether{}/ipv6{src=\"fd00:9::2\", dst=\"fd00:9::1\", hlim=255}/icmpv6{type=136, tgt=\"fd00:9::2\"}"},
	    {"ether{}/ipv6{src=\"fd00:9::1\", dst=\"fd00:9::2\"}/icmpv6{type=128, id=5, seq=6}",
	     "ether{}/ipv6{src=\"fd00:9::2\", dst=\"fd00:9::1\"}/icmpv6{type=129, id=5, seq=6}"},
	    {"ether{}/ip{src=\"10.9.0.1\", dst=\"10.9.0.53\"}/udp{sport=5353, dport=53}/dns{id=7, qd=\"example.com\"}",
	     "ether{}/ip{src=\"10.9.0.53\", dst=\"10.9.0.1\"}/udp{sport=53, dport=5353}/dns{id=7, qr=1, "
	     "qd=\"example.com\", "
	     "an=\"example.com:A:60:192.0.2.1\"}"},
	};
	/* near misses: the wrong target, the wrong sequence */
	static const char *const wrong[] = {
	    "ether{}/arp{op=2, psrc=\"10.9.0.3\", pdst=\"10.9.0.1\"}",
	    "ether{}/ipv6{src=\"fd00:9::2\", dst=\"fd00:9::1\", hlim=255}/icmpv6{type=136, tgt=\"fd00:9::3\"}",
	    "ether{}/ipv6{src=\"fd00:9::2\", dst=\"fd00:9::1\"}/icmpv6{type=129, id=5, seq=7}",
	    "ether{}/ip{src=\"10.9.0.53\", dst=\"10.9.0.1\"}/udp{sport=53, dport=5353}/dns{id=8, qr=1, qd=\"a.com\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct umpa_pkt q, r, w;
		char why[160] = "";
		build1(pairs[i][0], &q);
		build1(pairs[i][1], &r);
		build1(wrong[i], &w);
		redissect(&q);
		redissect(&r);
		redissect(&w);
		assert_int_equal(umpa_match_hash(&q, 0), umpa_match_hash(&r, 0));
		if (!umpa_match_answers(&r, &q, why, sizeof(why)))
			fail_msg("pair %zu: %s", i, why);
		assert_int_equal(umpa_match_answers(&w, &q, why, sizeof(why)), 0);
		assert_true(why[0] != 0);
		assert_int_equal(umpa_match_answers(&q, &r, why, sizeof(why)), 0); /* not the other way round */
		umpa_pkt_release(&q);
		umpa_pkt_release(&r);
		umpa_pkt_release(&w);
	}
}

static unsigned n_rule_bpf, n_rule_fields, n_rule_both;

static void rule_bpf(void *arg, const struct umpa_pkt *p)
{
	(void)arg;
	(void)p;
	n_rule_bpf++;
}

static void rule_fields(void *arg, const struct umpa_pkt *p)
{
	(void)arg;
	(void)p;
	n_rule_fields++;
}

static void rule_both(void *arg, const struct umpa_pkt *p)
{
	(void)arg;
	(void)p;
	n_rule_both++;
}

static void test_rules(void **state)
{
	struct peer pe;
	struct umpa_err e = {0};
	struct pvec v;
	int id;

	(void)state;
	peer_init(&pe, P_SILENT, 0);
	n_rule_bpf = n_rule_fields = n_rule_both = 0;
	assert_true(umpa_on(pe.ex, "icmp and src host 10.9.0.2", NULL, rule_bpf, NULL, &e) >= 0);
	assert_true(umpa_on(pe.ex, NULL, "ip.ttl<5 and tcp.flags.syn==1", rule_fields, NULL, &e) >= 0);
	id = umpa_on(pe.ex, "tcp", "not (tcp.dstport == 80 or tcp.dstport == 443) && ip.src == 10.9.0.2", rule_both,
		     NULL, &e);
	assert_true(id >= 0);
	/* 3 ICMP from .2 (ttl 1..3), 2 from .3; TCP from .2 with ttl 3 and 9 to ports 80, 81, 443 */
	build_all("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\", ttl=range(1,3)}/icmp{type=0}", &v);
	for (size_t i = 0; i < v.n; i++)
		umpa_expect_input(pe.ex, &v.p[i]);
	pvec_free(&v);
	build_all("ether{}/ip{src=\"10.9.0.3\", dst=\"10.9.0.1\", ttl=range(1,2)}/icmp{type=0}", &v);
	for (size_t i = 0; i < v.n; i++)
		umpa_expect_input(pe.ex, &v.p[i]);
	pvec_free(&v);
	build_all("ether{}/ip{src=\"10.9.0.2\", dst=\"10.9.0.1\", ttl={3,9}}/tcp{flags={\"S\",\"SA\",\"A\"}, "
		  "dport={80,81,443}}",
		  &v);
	for (size_t i = 0; i < v.n; i++)
		umpa_expect_input(pe.ex, &v.p[i]);
	pvec_free(&v);
	assert_int_equal(n_rule_bpf, 3);
	assert_int_equal(n_rule_fields, 2 * 3); /* ttl 3, flags S or SA, 3 ports */
	assert_int_equal(n_rule_both, 2 * 3);   /* port 81: 2 ttls x 3 flag sets */
	/* the rule also runs on raw IPv4 captures (compiled again for that link type) */
	build_all("ip{src=\"10.9.0.2\", dst=\"10.9.0.1\"}/icmp{type=0}", &v);
	redissect(&v.p[0]);
	assert_int_equal(v.p[0].linktype, UMPA_LINKTYPE_RAW);
	umpa_expect_input(pe.ex, &v.p[0]);
	pvec_free(&v);
	assert_int_equal(n_rule_bpf, 4);
	assert_int_equal(umpa_on_remove(pe.ex, id), 0);
	assert_int_equal(umpa_on_remove(pe.ex, id), -UMPA_ENOENT);

	/* bad input: one clear message each */
	assert_true(umpa_on(pe.ex, "icmp and and", NULL, rule_bpf, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "bad filter 'icmp and and'"));
	assert_true(umpa_on(pe.ex, NULL, "ip.tll < 5", rule_bpf, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "unknown field 'ip.tll'"));
	assert_true(umpa_on(pe.ex, NULL, "ip.src < 10.0.0.1", rule_bpf, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "== or != only"));
	assert_true(umpa_on(pe.ex, NULL, "(ip.ttl == 1", rule_bpf, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "expected ')'"));
	assert_true(umpa_on(pe.ex, NULL, "icmp.type == nonsense", rule_bpf, NULL, &e) < 0);
	peer_free(&pe);
}

static void test_predicates(void **state)
{
	static const struct {
		const char *expr;
		int want;
	} cases[] = {
	    {"ip.ttl == 7", 1},
	    {"ip.ttl<7", 0},
	    {"ip.ttl<=7 && ip.ttl>=7", 1},
	    {"tcp", 1},
	    {"udp", 0},
	    {"not udp", 1},
	    {"tcp.flags.syn", 1},
	    {"tcp.flags.fin", 0},
	    {"tcp.flags == SA", 1},
	    {"tcp.flags == S", 0},
	    {"ip.dst == 10.9.0.2 and tcp.dstport == 443", 1},
	    {"eth.src == 02:00:00:00:00:01", 1},
	    {"ip.dst != 10.9.0.2 or (tcp.srcport > 1000 and !tcp.flags.fin)", 1},
	    {"ip.proto == 6", 1},
	    {"udp.dstport == 53", 0},
	    /* prefixes, as Wireshark writes them */
	    {"ip.dst == 10.9.0.0/16", 1},
	    {"ip.dst == 10.8.0.0/16", 0},
	    {"ip.dst != 10.8.0.0/16", 1},
	    {"ip.dst == 10.9.0.3/31", 1},
	    {"ip.dst == 10.9.0.0/31", 0},
	    {"ip.dst == 10.9.0.2/32", 1},
	    {"ip.dst == 10.9.0.3/32", 0},
	    {"ip.dst == 10.9.0.127/25", 1},
	    {"ip.dst == 10.9.0.128/25", 0},
	    {"ip.dst == 0.0.0.0/0", 1},
	    {"ip.src == 10.9.0.2/32", 0},
	};
	static const char *const bad[] = {"ip.dst == 10.0.0.0/33", "ip.dst == 10.0.0.0/", "ip.dst == 10.0.0.0/x",
					  "ip.dst == 10.0.0.0/-1", "ip.dst == 10.0.0/8",  "ip.ttl == 10/8"};
	struct umpa_pkt p;

	(void)state;
	build1("ether{src=\"02:00:00:00:00:01\"}/ip{dst=\"10.9.0.2\", ttl=7}/tcp{sport=4000, dport=443, flags=\"SA\"}",
	       &p);
	redissect(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct umpa_err e = {0};
		struct umpa_pred *pr = umpa_pred_compile(cases[i].expr, &e);
		if (!pr)
			fail_msg("%s: %s", cases[i].expr, e.msg);
		if (umpa_pred_match(pr, &p) != cases[i].want)
			fail_msg("%s: expected %d", cases[i].expr, cases[i].want);
		umpa_pred_free(pr);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct umpa_err e = {0};
		if (umpa_pred_compile(bad[i], &e))
			fail_msg("%s: compiled", bad[i]);
		if (!strstr(e.msg, bad[i]))
			fail_msg("%s: message '%s' does not name it", bad[i], e.msg);
	}
	umpa_pkt_release(&p);
}

/* ---- replaying a capture file on the virtual clock ---- */

#define T0_ (1700000000LL * 1000000000LL) /* the capture's first timestamp */

static void stamp(struct umpa_pkt *p, int64_t ns)
{
	p->ts_sec = ns / 1000000000;
	p->ts_nsec = (uint32_t)(ns % 1000000000);
}

/* Write @p n packets with timestamps @p ts (ns) to a new pcap file; returns its path (static buffer). */
static const char *write_cap(struct umpa_pkt *const *p, const int64_t *ts, size_t n)
{
	static char path[64];
	struct umpa_err e = {0};
	struct umpa_capw *w;
	int fd;

	snprintf(path, sizeof path, "/tmp/umpa-replay-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	w = umpa_capw_open(path, UMPA_CAP_PCAP, 1, &e);
	if (!w)
		fail_msg("capw: %s", e.msg);
	for (size_t i = 0; i < n; i++) {
		stamp(p[i], ts[i]);
		if (umpa_capw_write(w, p[i], &e) < 0)
			fail_msg("capw: %s", e.msg);
	}
	assert_int_equal(umpa_capw_close(w, &e), 0);
	return path;
}

struct replay {
	struct umpa_loop *loop;
	struct umpa_expect *ex;
	struct umpa_expect_opts o;
	int64_t rtt[200];     /* by echo sequence: -2 unsettled, -1 timed out */
	int64_t settled[200]; /* the virtual time it settled at */
	unsigned requests, answers, ticks;
};

static int replay_no_send(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	(void)arg;
	(void)p;
	return umpa_err_set(e, UMPA_EIO, "replay: nothing may be sent");
}

static void replay_settled(void *arg, const struct umpa_exchange *x)
{
	struct replay *r = arg;
	uint64_t seq = icmp_seq_of(x->request);

	assert_true(seq < 200);
	assert_int_equal(r->rtt[seq], -2); /* settles once */
	r->rtt[seq] = x->answer ? x->rtt_ns : -1;
	r->settled[seq] = umpa_loop_now_ns(r->loop);
	if (x->answer)
		assert_int_equal(icmp_seq_of(x->answer), seq);
}

/* The capture's echo requests are ours (already sent); everything else is received. */
static int replay_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct replay *r = arg;
	int li;
	uint64_t type = 0;

	umpa_dissect(p);
	li = umpa_pkt_find(p, &umpa_proto_icmp, 0);
	assert_true(li >= 0);
	assert_int_equal(umpa_field_get_u64(p, (unsigned)li, unit_field(&umpa_proto_icmp, "type"), &type), 0);
	if (type == 8) {
		r->requests++;
		return umpa_expect_add(r->ex, p, &r->o, e) < 0 ? -e->code : 0;
	}
	r->answers++;
	(void)umpa_expect_input(r->ex, p);
	return 0;
}

static void replay_tick(struct umpa_loop *loop, void *arg)
{
	(void)loop;
	((struct replay *)arg)->ticks++;
}

static void replay_init(struct replay *r)
{
	struct umpa_err e = {0};

	memset(r, 0, sizeof *r);
	for (unsigned i = 0; i < 200; i++)
		r->rtt[i] = -2;
	r->loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	assert_non_null(r->loop);
	r->ex = umpa_expect_new(r->loop, replay_no_send, r, &e);
	assert_non_null(r->ex);
	r->o.timeout_ns = 1000 * MS;
	r->o.sent_by_caller = 1;
	r->o.on_reply = replay_settled;
	r->o.reply_arg = r;
	r->o.on_timeout = replay_settled;
	r->o.timeout_arg = r;
}

#define ECHO_ "ether{src=\"02:00:00:00:00:01\", dst=\"02:00:00:00:00:02\"}/ip{src=\"10.9.0.1\", dst=\"10.9.0.2\"}"

/*
 * Four echo requests and three replies from a capture file: one answered
 * after 1.5 ms, one never, one 2.5 s later (beyond the 1 s timeout), one
 * after 250 ms.  The outcomes and RTTs come from the timestamps alone.
 */
static void test_replay_capture(void **state)
{
	struct pvec q;
	struct umpa_pkt a[4];
	struct umpa_pkt *v[7];
	int64_t ts[7];
	struct replay r;
	struct umpa_expect_stats st;
	struct umpa_err e = {0};
	struct umpa_capr *cr;
	const char *path;

	(void)state;
	build_all(ECHO_ "/icmp{type=\"echo-request\", id=0x77, seq=range(1,4)}/\"replay\"", &q);
	assert_int_equal(q.n, 4);
	for (unsigned i = 0; i < 4; i++)
		echo_reply(&q.p[i], &a[i]);
	/* in timestamp order: q1 a1 q2 q3 q4 a4 a3 */
	v[0] = &q.p[0], ts[0] = T0_;
	v[1] = &a[0], ts[1] = T0_ + 1500000;
	v[2] = &q.p[1], ts[2] = T0_ + 10 * MS;
	v[3] = &q.p[2], ts[3] = T0_ + 20 * MS;
	v[4] = &q.p[3], ts[4] = T0_ + 30 * MS;
	v[5] = &a[3], ts[5] = T0_ + 280 * MS;
	v[6] = &a[2], ts[6] = T0_ + 2520 * MS;
	path = write_cap(v, ts, 7);

	replay_init(&r);
	cr = umpa_capr_open(path, &e);
	assert_non_null(cr);
	assert_int_equal(umpa_loop_replay(r.loop, cr, replay_pkt, &r, &e), 7);
	assert_int_equal(umpa_loop_now_ns(r.loop), ts[6]); /* the clock is the last packet's time */
	umpa_capr_close(cr);
	unlink(path);
	assert_int_equal(umpa_expect_pending(r.ex), 0);
	assert_int_equal(r.requests, 4);
	assert_int_equal(r.answers, 3);
	/* answered: RTT = reply timestamp - request timestamp, to the nanosecond */
	assert_int_equal(r.rtt[1], ts[1] - ts[0]);
	assert_int_equal(r.rtt[1], 1500000);
	assert_int_equal(r.rtt[4], ts[5] - ts[4]);
	assert_int_equal(r.settled[4], ts[5]);
	/* timed out exactly one timeout after the request, on the virtual clock */
	assert_int_equal(r.rtt[2], -1);
	assert_int_equal(r.settled[2], ts[2] + 1000 * MS);
	assert_int_equal(r.rtt[3], -1);
	assert_int_equal(r.settled[3], ts[3] + 1000 * MS);
	umpa_expect_stats(r.ex, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.answered, 2);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.unmatched, 1); /* the late reply answers nothing any more */
	assert_int_equal(st.send_errors, 0);
	assert_int_equal(st.rtt_min_ns, 1500000);
	assert_int_equal(st.rtt_max_ns, 250 * MS);

	/* a longer timeout on the same file: the late reply counts (RTT 2.5 s) */
	umpa_expect_free(r.ex);
	umpa_loop_free(r.loop);
	replay_init(&r);
	r.o.timeout_ns = 3000 * MS;
	path = write_cap(v, ts, 7);
	cr = umpa_capr_open(path, &e);
	assert_non_null(cr);
	assert_int_equal(umpa_loop_replay(r.loop, cr, replay_pkt, &r, &e), 7);
	umpa_capr_close(cr);
	unlink(path);
	assert_int_equal(r.rtt[3], 2500 * MS);
	assert_int_equal(r.rtt[2], -2); /* still waiting at the end of the file */
	assert_int_equal(umpa_expect_wait(r.ex, UMPA_NEVER, &e), 1);
	assert_int_equal(r.rtt[2], -1);
	assert_int_equal(r.settled[2], ts[2] + 3000 * MS);

	umpa_expect_free(r.ex);
	umpa_loop_free(r.loop);
	for (unsigned i = 0; i < 4; i++)
		umpa_pkt_release(&a[i]);
	pvec_free(&q);
}

/*
 * A week of capture: a request every hour (168), each answered 10 ms later
 * except every tenth, and a timer ticking every second of virtual time the
 * whole week.  It replays in well under a second of CPU.
 */
static void test_replay_week(void **state)
{
	enum { NQ = 168 };
	struct pvec q;
	struct umpa_pkt a[NQ];
	struct umpa_pkt *v[2 * NQ];
	int64_t ts[2 * NQ];
	size_t n = 0;
	unsigned missing = 0;
	struct replay r;
	struct umpa_expect_stats st;
	struct umpa_err e = {0};
	struct umpa_capr *cr;
	const char *path;
	struct timespec c0, c1;
	double cpu;

	(void)state;
	build_all(ECHO_ "/icmp{type=\"echo-request\", id=0x78, seq=range(0,167)}", &q);
	assert_int_equal(q.n, NQ);
	for (unsigned i = 0; i < NQ; i++) {
		v[n] = &q.p[i];
		ts[n++] = T0_ + (int64_t)i * 3600 * 1000 * MS;
		umpa_pkt_init(&a[i]);
		if (i % 10 == 0) {
			missing++;
			continue;
		}
		echo_reply(&q.p[i], &a[i]);
		v[n] = &a[i];
		ts[n++] = T0_ + (int64_t)i * 3600 * 1000 * MS + 10 * MS;
	}
	path = write_cap(v, ts, n);

	replay_init(&r);
	assert_int_equal(umpa_loop_set_now(r.loop, T0_, &e), 0);
	assert_non_null(umpa_every(r.loop, 1000 * MS, replay_tick, &r, &e));
	cr = umpa_capr_open(path, &e);
	assert_non_null(cr);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	assert_int_equal(umpa_loop_replay(r.loop, cr, replay_pkt, &r, &e), (int64_t)n);
	assert_int_equal(umpa_expect_wait(r.ex, UMPA_NEVER, &e), 1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	umpa_capr_close(cr);
	unlink(path);
	cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	print_message("      a week of capture (%zu packets, %u one-second ticks) replayed in %.3f s of CPU\n", n,
		      r.ticks, cpu);
	assert_true(cpu < 1.0);
	/* one tick per second of virtual time, up to the last packet's timestamp */
	assert_int_equal(umpa_loop_now_ns(r.loop), ts[n - 1]);
	assert_int_equal(r.ticks, (ts[n - 1] - T0_) / (1000 * MS));
	assert_true(r.ticks >= 167u * 3600u);
	umpa_expect_stats(r.ex, &st);
	assert_int_equal(st.sent, NQ);
	assert_int_equal(st.answered, NQ - missing);
	assert_int_equal(st.lost, missing);
	assert_int_equal(st.rtt_min_ns, 10 * MS);
	assert_int_equal(st.rtt_max_ns, 10 * MS);
	for (unsigned i = 0; i < NQ; i++) {
		assert_int_equal(r.rtt[i], i % 10 == 0 ? -1 : 10 * MS);
		assert_int_equal(r.settled[i], ts[0] + (int64_t)i * 3600 * 1000 * MS + (i % 10 == 0 ? 1000 : 10) * MS);
	}

	umpa_expect_free(r.ex);
	umpa_loop_free(r.loop);
	for (unsigned i = 0; i < NQ; i++)
		umpa_pkt_release(&a[i]);
	pvec_free(&q);
}

static int setup(void **state)
{
	struct umpa_err e = {0};

	(void)state;
	L = umpa_lua_open(&e);
	return L ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	L = umpa_lua_close(L);
	return 0;
}

static int count_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	(void)p;
	(void)e;
	++*(int *)arg;
	return 0;
}

/*
 * A pcapng timestamp past what int64 nanoseconds count (2262; pcapng holds
 * 2554) stops the replay with an error instead of overflowing the clock.
 */
static void test_replay_far_future(void **state)
{
	char path[64];
	struct umpa_err e = {0};
	struct umpa_capw *w;
	struct umpa_capr *cr;
	struct umpa_loop *l;
	struct pvec q;
	int fd, n = 0;

	(void)state;
	build_all(ECHO_ "/icmp{type=\"echo-request\", seq=range(1,2)}", &q);
	snprintf(path, sizeof path, "/tmp/umpa-replay-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	w = umpa_capw_open(path, UMPA_CAP_PCAPNG, 1, &e);
	assert_non_null(w);
	stamp(&q.p[0], T0_);
	q.p[1].ts_sec = 18446744073LL; /* a valid pcapng time, year 2554 */
	q.p[1].ts_nsec = 0;
	assert_int_equal(umpa_capw_write(w, &q.p[0], &e), 0);
	assert_int_equal(umpa_capw_write(w, &q.p[1], &e), 0);
	assert_int_equal(umpa_capw_close(w, &e), 0);
	l = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	assert_non_null(l);
	cr = umpa_capr_open(path, &e);
	assert_non_null(cr);
	assert_int_equal(umpa_loop_replay(l, cr, count_pkt, &n, &e), -UMPA_ERANGE);
	assert_int_equal(n, 1);
	assert_non_null(strstr(e.msg, "packet 2: timestamp 18446744073 s is outside the virtual clock"));
	assert_int_equal(umpa_loop_now_ns(l), T0_);
	umpa_capr_close(cr);
	umpa_loop_free(l);
	unlink(path);
	pvec_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo_matching),      cmocka_unit_test(test_retries),
	    cmocka_unit_test(test_timeout_order),      cmocka_unit_test(test_icmp_error_quoting),
	    cmocka_unit_test(test_error_quotes_other), cmocka_unit_test(test_error_picks_quoted_ip_id),
	    cmocka_unit_test(test_why_not_matched),    cmocka_unit_test(test_ten_thousand),
	    cmocka_unit_test(test_own_and_l3),         cmocka_unit_test(test_kernel_timestamps),
	    cmocka_unit_test(test_arp_nd_v6),          cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_predicates),         cmocka_unit_test(test_replay_capture),
	    cmocka_unit_test(test_replay_far_future),  cmocka_unit_test(test_replay_week),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
