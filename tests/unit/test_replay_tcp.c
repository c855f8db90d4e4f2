/* test_replay_tcp.c - stateful TCP replay (sched/umpa_replay_tcp.h) against the userland TCP endpoint as the live peer.
 *
 * A recording is made on a virtual loop: clients (umpa_tcpe) talk to
 * servers (umpa_tcpe) over a 1 ms link, every frame is kept with its time.
 * The client side is then replayed against fresh servers with other seeds
 * (other ISNs, timestamps, IP ids): what the engine sends must be accepted
 * by a real TCP implementation, and the checks must say what changed.
 */
#include "umpa_capfile.h"
#include "umpa_replay.h"
#include "umpa_replay_audit.h"
#include "umpa_replay_tcp.h"
#include "umpa_replay_tmpl.h"
#include "umpa_run.h"
#include "umpa_sched.h"
#include "umpa_tcpend.h"
#include "unit.h"

#define MAXF 16
#define REQ_LEN 3000
#define RESP_LEN 5000

struct rec {
	uint8_t *b[4096];
	uint32_t n[4096];
	int64_t ts[4096];
	int from_client[4096];
	size_t count;
};

struct net;

struct srv {
	struct net *nt;
	struct umpa_tcpe *ep;
	size_t got;
	int flip; /* answer with one byte changed */
};

struct cli {
	struct net *nt;
	struct umpa_tcpe *ep;
	size_t got;
};

struct net {
	struct umpa_loop *loop;
	struct rec *rec; /* recording, or NULL */
	struct srv s[MAXF];
	struct cli c[MAXF];
	size_t nf;
	struct umpa_rtcp *rt;  /* replaying, or NULL */
	int drop_srv;          /* drop this many frames the server sends (loss) */
	int silent;            /* the server hears nothing */
	int echo;              /* the servers send back what they get (the recording for the template test) */
	struct umpa_run *tmpl; /* replaying against a template in driven mode, or NULL */
	unsigned srv_frames;
	struct flight *air;
};

struct flight {
	struct flight *prev, *next; /* in flight: freed with the net when its timer never ran */
	struct net *nt;
	int to_server;
	uint32_t n;
	uint8_t b[];
};

static uint8_t req_byte(size_t i)
{
	return (uint8_t)('a' + i % 26);
}

static uint8_t resp_byte(size_t i)
{
	return (uint8_t)('A' + (i * 7) % 26);
}

static void arrive(struct umpa_loop *l, void *arg)
{
	struct flight *f = arg;
	struct net *nt = f->nt;
	struct umpa_pkt p;
	struct umpa_err e = {0};

	(void)l;
	if (f->prev)
		f->prev->next = f->next;
	else
		nt->air = f->next;
	if (f->next)
		f->next->prev = f->prev;
	umpa_pkt_init(&p);
	assert_int_equal(umpa_pkt_copy_from(&p, f->b, f->n, NULL), 0);
	p.linktype = UMPA_LINKTYPE_ETHERNET;
	umpa_dissect(&p);
	if (f->to_server && nt->tmpl) {
		int64_t now = umpa_loop_wall_ns(nt->loop);
		p.ts_sec = now / 1000000000;
		p.ts_nsec = (uint32_t)(now % 1000000000);
		assert_int_equal(umpa_run_feed(nt->tmpl, 0, &p, &e), 0);
	} else if (f->to_server) {
		if (!nt->silent)
			for (size_t i = 0; i < nt->nf; i++)
				if (umpa_tcpe_input(nt->s[i].ep, &p, &e) == 1)
					break;
	} else if (nt->rt) {
		assert_int_equal(umpa_rtcp_input(nt->rt, &p, &e), 1);
	} else {
		for (size_t i = 0; i < nt->nf; i++)
			if (umpa_tcpe_input(nt->c[i].ep, &p, &e) == 1)
				break;
	}
	umpa_pkt_release(&p);
	free(f);
}

static int wire(struct net *nt, int to_server, const struct umpa_pkt *p)
{
	struct flight *f;

	if (nt->rec) {
		struct rec *r = nt->rec;
		assert_true(r->count < 4096);
		r->b[r->count] = malloc(p->len);
		memcpy(r->b[r->count], p->data, p->len);
		r->n[r->count] = p->len;
		r->ts[r->count] = umpa_loop_wall_ns(nt->loop);
		r->from_client[r->count] = to_server;
		r->count++;
	}
	if (!to_server) {
		nt->srv_frames++;
		if (nt->drop_srv > 0) {
			nt->drop_srv--;
			return 0;
		}
	}
	f = malloc(sizeof(*f) + p->len);
	assert_non_null(f);
	f->nt = nt;
	f->to_server = to_server;
	f->n = p->len;
	memcpy(f->b, p->data, p->len);
	f->prev = NULL;
	f->next = nt->air;
	if (nt->air)
		nt->air->prev = f;
	nt->air = f;
	assert_non_null(umpa_after(nt->loop, 1000000, arrive, f, NULL));
	return 0;
}

static int srv_emit(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct srv *s = arg;
	(void)e;
	return wire(s->nt, 0, p);
}

static int cli_emit(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct cli *c = arg;
	(void)e;
	return wire(c->nt, 1, p);
}

static int rt_send(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	(void)e;
	return wire(arg, 1, p);
}

static void srv_data(void *arg, const uint8_t *d, size_t n)
{
	struct srv *s = arg;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(d[i], req_byte(s->got + i));
	s->got += n;
	if (s->nt->echo) {
		assert_int_equal(umpa_tcpe_write(s->ep, d, n, NULL), (int64_t)n);
		return;
	}
	if (s->got == REQ_LEN) {
		uint8_t b[RESP_LEN];
		for (size_t i = 0; i < RESP_LEN; i++)
			b[i] = resp_byte(i);
		if (s->flip)
			b[1234] ^= 0x20;
		assert_int_equal(umpa_tcpe_write(s->ep, b, RESP_LEN, NULL), RESP_LEN);
	}
}

static void srv_event(void *arg, enum umpa_tcpe_event ev)
{
	struct srv *s = arg;

	if (ev == UMPA_TCPE_EOF)
		assert_int_equal(umpa_tcpe_shutdown(s->ep, NULL), 0);
}

static void cli_data(void *arg, const uint8_t *d, size_t n)
{
	struct cli *c = arg;

	c->got += n;
	(void)d;
	if (c->got == (c->nt->echo ? REQ_LEN : RESP_LEN))
		assert_int_equal(umpa_tcpe_shutdown(c->ep, NULL), 0);
}

static void opts(struct umpa_tcpe_opts *o, size_t i, int server, uint64_t seed)
{
	umpa_tcpe_opts_init(o);
	o->seed = seed;
	o->timewait_us = 1000;
	uint8_t ca[4] = {10, 0, 0, 1}, sa[4] = {10, 0, 0, 2};
	uint8_t cm[6] = {2, 0, 0, 0, 0, 1}, sm[6] = {2, 0, 0, 0, 0, 2};
	memcpy(o->addr[0], server ? sa : ca, 4);
	memcpy(o->addr[1], server ? ca : sa, 4);
	memcpy(o->mac[0], server ? sm : cm, 6);
	memcpy(o->mac[1], server ? cm : sm, 6);
	o->port[0] = server ? (uint16_t)(8000 + i) : (uint16_t)(40000 + i);
	o->port[1] = server ? 0 : (uint16_t)(8000 + i);
}

/* Fresh servers on ports 8000.. (listening unless @p closed), seeds from @p seed. */
static void servers(struct net *nt, size_t nf, uint64_t seed, int closed)
{
	struct umpa_tcpe_opts o;

	nt->nf = nf;
	for (size_t i = 0; i < nf; i++) {
		struct umpa_tcpe_cbs cb = {.emit = srv_emit, .data = srv_data, .event = srv_event, .arg = &nt->s[i]};
		nt->s[i].nt = nt;
		opts(&o, i, 1, seed + i);
		assert_non_null(nt->s[i].ep = umpa_tcpe_new(nt->loop, &o, &cb, NULL));
		if (!closed)
			assert_int_equal(umpa_tcpe_listen(nt->s[i].ep, NULL), 0);
	}
}

static void air_free(struct net *nt)
{
	while (nt->air) {
		struct flight *f = nt->air;
		nt->air = f->next;
		free(f);
	}
}

static void net_free(struct net *nt)
{
	air_free(nt);
	for (size_t i = 0; i < nt->nf; i++) {
		umpa_tcpe_free(nt->s[i].ep);
		umpa_tcpe_free(nt->c[i].ep);
	}
	nt->rt = umpa_rtcp_free(nt->rt);
	nt->loop = umpa_loop_free(nt->loop);
}

/* Record @p nf interleaved connections (with echo servers when @p echo), clients from ports @p cport, @p cport + 1...
 */
static void record_mode(struct rec *r, size_t nf, int echo, uint16_t cport)
{
	struct net nt = {0};
	struct umpa_tcpe_opts o;

	memset(r, 0, sizeof(*r));
	nt.rec = r;
	nt.echo = echo;
	assert_non_null(nt.loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, NULL));
	assert_int_equal(umpa_loop_set_now(nt.loop, 1700000000ll * 1000000000ll, NULL), 0);
	servers(&nt, nf, 100, 0);
	for (size_t i = 0; i < nf; i++) {
		uint8_t b[REQ_LEN];
		struct umpa_tcpe_cbs cb = {.emit = cli_emit, .data = cli_data, .arg = &nt.c[i]};
		nt.c[i].nt = &nt;
		opts(&o, i, 0, 200 + i);
		o.port[0] = (uint16_t)(cport + i);
		assert_non_null(nt.c[i].ep = umpa_tcpe_new(nt.loop, &o, &cb, NULL));
		for (size_t k = 0; k < REQ_LEN; k++)
			b[k] = req_byte(k);
		assert_int_equal(umpa_tcpe_connect(nt.c[i].ep, NULL), 0);
		assert_int_equal(umpa_tcpe_write(nt.c[i].ep, b, REQ_LEN, NULL), REQ_LEN);
	}
	assert_int_equal(umpa_loop_run(nt.loop, NULL), 0);
	for (size_t i = 0; i < nf; i++) {
		assert_int_equal(nt.c[i].got, echo ? REQ_LEN : RESP_LEN);
		assert_int_equal(nt.s[i].got, REQ_LEN);
	}
	net_free(&nt);
}

static void record(struct rec *r, size_t nf)
{
	record_mode(r, nf, 0, 40000);
}

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->b[i]);
}

struct tally {
	unsigned v[4];
	char first_diff[4][160];
	size_t n;
};

static void tally_cb(void *arg, const struct umpa_rtcp_check *c)
{
	struct tally *t = arg;

	t->v[c->verdict]++;
	t->n++;
	if (!t->first_diff[c->verdict][0])
		snprintf(t->first_diff[c->verdict], sizeof(t->first_diff[0]), "%s %s -> %s: %s", c->flow_name,
			 c->recorded, c->live, c->diff);
	if (c->verdict == UMPA_RTCP_MATCH) {
		assert_true(c->rec_rtt_ns >= 0);
		assert_true(c->live_rtt_ns >= 0);
	}
}

/* File @p r's frames into a new engine on @p nt (the client side ours), play every flow to its end (10 s at most),
 * tally the checks into @p t and describe flow 0 in @p fl0. */
static void play(struct net *nt, const struct rec *r, size_t nf, struct tally *t, struct umpa_rtcp_flow *fl0)
{
	struct umpa_rtcp_opts ro = {.timeout_ns = 50000000, .retries = 3};
	struct umpa_err e = {0};

	assert_non_null(nt->rt = umpa_rtcp_new(nt->loop, &ro, rt_send, nt, &e));
	for (size_t i = 0; i < r->count; i++) {
		struct umpa_pkt p;
		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, r->b[i], r->n[i]);
		p.ts_sec = r->ts[i] / 1000000000;
		p.ts_nsec = (uint32_t)(r->ts[i] % 1000000000);
		assert_int_equal(umpa_rtcp_add(nt->rt, &p, i + 1, r->from_client[i], &e), 1);
		umpa_pkt_release(&p);
	}
	assert_int_equal(umpa_rtcp_nflows(nt->rt), nf);
	assert_int_equal(umpa_rtcp_start(nt->rt, &e), 0);
	assert_true(umpa_loop_run_until(nt->loop, (int (*)(void *))umpa_rtcp_done, nt->rt,
					umpa_loop_now_ns(nt->loop) + 10000000000ll, &e) >= 0);
	assert_true(umpa_rtcp_done(nt->rt));
	memset(t, 0, sizeof(*t));
	umpa_rtcp_results(nt->rt, tally_cb, t);
	assert_int_equal(umpa_rtcp_flow_info(nt->rt, 0, fl0), 0);
	fl0->flow_name = NULL;
	fl0->gave_up = fl0->gave_up ? "yes" : NULL;
}

/* Replay @p r's client side with servers as configured by @p setup; tally the checks. */
static void replay(const struct rec *r, size_t nf, struct tally *t, void (*setup)(struct net *), int64_t *took_ns,
		   struct umpa_rtcp_flow *fl0)
{
	struct net nt = {0};
	int64_t t0;

	assert_non_null(nt.loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, NULL));
	assert_int_equal(umpa_loop_set_now(nt.loop, 1800000000ll * 1000000000ll, NULL), 0);
	t0 = umpa_loop_now_ns(nt.loop);
	servers(&nt, nf, 900, 0);
	if (setup)
		setup(&nt);
	play(&nt, r, nf, t, fl0);
	*took_ns = umpa_loop_now_ns(nt.loop) - t0;
	net_free(&nt);
}

/*
 * One case: record @p nf connections, replay their client side against fresh
 * servers set up by @p setup (NULL: as recorded), tally the checks into @p t
 * and flow 0 into @p fl.  Returns the virtual time the replay took.
 */
static int64_t rec_replay(size_t nf, void (*setup)(struct net *), struct tally *t, struct umpa_rtcp_flow *fl)
{
	static struct rec r;
	int64_t took;

	record(&r, nf);
	replay(&r, nf, t, setup, &took, fl);
	rec_free(&r);
	return took;
}

/* One connection, data both ways: replayed against a fresh server (other ISN) everything matches. */
static void test_match(void **st)
{
	struct tally t;
	struct umpa_rtcp_flow fl;
	int64_t took;

	(void)st;
	took = rec_replay(1, NULL, &t, &fl);
	if (t.v[UMPA_RTCP_DIFFER] || t.v[UMPA_RTCP_MISSING] || t.v[UMPA_RTCP_UNEXPECTED])
		fail_msg("differ %u missing %u unexpected %u: %s | %s | %s", t.v[1], t.v[2], t.v[3], t.first_diff[1],
			 t.first_diff[2], t.first_diff[3]);
	/* SYN+ACK, the response's data segments, FIN */
	assert_true(t.v[UMPA_RTCP_MATCH] >= 3);
	assert_null(fl.gave_up);
	assert_int_equal(fl.retransmits, 0);
	assert_true(took < 1000000000ll);
}

static void flip(struct net *nt)
{
	nt->s[0].flip = 1;
}

/* The server answers with one byte changed: exactly one data exchange differs, naming the byte. */
static void test_payload_differs(void **st)
{
	struct tally t;
	struct umpa_rtcp_flow fl;

	(void)st;
	rec_replay(1, flip, &t, &fl);
	assert_int_equal(t.v[UMPA_RTCP_DIFFER], 1);
	assert_int_equal(t.v[UMPA_RTCP_MISSING], 0);
	assert_non_null(strstr(t.first_diff[UMPA_RTCP_DIFFER], "tcp.payload[1235] 0x47 -> 0x67"));
}

/* Server @p i closed: it answers everything with a RST, as a kernel does for a closed port. */
static void closed_srv(struct net *nt, size_t i)
{
	struct umpa_tcpe_opts o;
	struct umpa_tcpe_cbs cb = {.emit = srv_emit, .arg = &nt->s[i]};

	nt->s[i].ep = umpa_tcpe_free(nt->s[i].ep);
	opts(&o, i, 1, 5);
	o.port[1] = (uint16_t)(40000 + i);
	memcpy(o.addr[1], (uint8_t[4]){10, 0, 0, 1}, 4);
	assert_non_null(nt->s[i].ep = umpa_tcpe_new(nt->loop, &o, &cb, NULL));
}

static void close_port(struct net *nt)
{
	closed_srv(nt, 0);
}

/* The port is closed: the SYN's answer is a RST (named), the rest is missing, the flow gave up. */
static void test_closed_port(void **st)
{
	struct tally t;
	struct umpa_rtcp_flow fl;

	(void)st;
	rec_replay(1, close_port, &t, &fl);
	assert_int_equal(t.v[UMPA_RTCP_DIFFER], 1);
	assert_int_equal(t.v[UMPA_RTCP_MATCH], 0);
	assert_true(t.v[UMPA_RTCP_MISSING] >= 2);
	assert_non_null(strstr(t.first_diff[UMPA_RTCP_DIFFER], "SA -> RA: tcp.flags SA -> RA"));
	assert_non_null(fl.gave_up);
}

static void lossy(struct net *nt)
{
	nt->drop_srv = 1; /* the SYN+ACK is lost: our SYN goes again */
}

/* A lost answer: the engine retransmits on its own timeout and the flow still matches. */
static void test_retransmit(void **st)
{
	struct tally t;
	struct umpa_rtcp_flow fl;

	(void)st;
	rec_replay(1, lossy, &t, &fl);
	assert_int_equal(t.v[UMPA_RTCP_DIFFER] + t.v[UMPA_RTCP_MISSING], 0);
	assert_true(fl.retransmits >= 1);
	assert_null(fl.gave_up);
}

static void silent(struct net *nt)
{
	nt->silent = 1;
}

/* A silent peer: the SYN is sent 1 + retries times, then the flow gives up and the run ends. */
static void test_give_up(void **st)
{
	struct tally t;
	struct umpa_rtcp_flow fl;
	int64_t took;

	(void)st;
	took = rec_replay(1, silent, &t, &fl);
	assert_int_equal(t.v[UMPA_RTCP_MATCH], 0);
	assert_int_equal(t.v[UMPA_RTCP_MISSING], t.n);
	assert_int_equal(fl.retransmits, 3);
	assert_non_null(fl.gave_up);
	/* 4 waits of 50 ms */
	assert_true(took >= 200000000ll && took < 300000000ll);
}

static void one_closed(struct net *nt)
{
	closed_srv(nt, 3);
}

/* Ten interleaved flows at once: all match; with one port closed, only that flow fails and the others match. */
static void test_ten_flows(void **st)
{
	struct tally t;
	struct umpa_rtcp_flow fl;

	(void)st;
	rec_replay(10, NULL, &t, &fl);
	if (t.v[UMPA_RTCP_DIFFER] || t.v[UMPA_RTCP_MISSING] || t.v[UMPA_RTCP_UNEXPECTED])
		fail_msg("differ %u missing %u: %s | %s", t.v[1], t.v[2], t.first_diff[1], t.first_diff[2]);
	assert_true(t.v[UMPA_RTCP_MATCH] >= 30);
	{
		unsigned all = t.v[UMPA_RTCP_MATCH];
		rec_replay(10, one_closed, &t, &fl);
		assert_int_equal(t.v[UMPA_RTCP_DIFFER], 1);
		assert_non_null(strstr(t.first_diff[UMPA_RTCP_DIFFER], ":40003 > 10.0.0.2:8003"));
		assert_int_equal(t.v[UMPA_RTCP_MATCH] + t.v[UMPA_RTCP_MISSING] + 1, all);
		assert_true(t.v[UMPA_RTCP_MATCH] >= all * 8 / 10);
	}
}

static void tmpl_out(void *arg, unsigned ifidx, const struct umpa_pkt *p)
{
	(void)ifidx;
	wire(arg, 0, p);
}

/* Replay @p r's client side against the shipped host template with @p tcp_set, in driven mode. */
static void replay_tmpl(const struct rec *r, const char *tcp_set, struct tally *t, struct umpa_rtcp_flow *fl)
{
	struct net nt = {0};
	struct umpa_run_opts o = {0};
	struct umpa_err e = {0};
	const char *src = getenv("top_srcdir");
	char search[1024];
	const char *sets[3] = {tcp_set, "ip=10.0.0.2", "mac=02:00:00:00:00:02"};

	snprintf(search, sizeof(search), "%s/templates", src ? src : "..");
	o.tmpl = "host";
	o.search = search;
	o.sets = sets;
	o.nsets = 3;
	o.driven_out = tmpl_out;
	o.driven_arg = &nt;
	o.driven_start_ns = 1800000000ll * 1000000000ll;
	nt.tmpl = umpa_run_new(&o, &e);
	if (!nt.tmpl)
		fail_msg("host template: %s", e.msg);
	nt.loop = umpa_run_loop(nt.tmpl);
	play(&nt, r, 1, t, fl);
	nt.rt = umpa_rtcp_free(nt.rt);
	nt.loop = NULL;
	umpa_run_free(nt.tmpl);
	air_free(&nt);
}

/* The same recording checked offline against the host template: echo matches, a closed port is named. */
static void test_template(void **st)
{
	static struct rec r;
	struct tally t;
	struct umpa_rtcp_flow fl;

	(void)st;
	record_mode(&r, 1, 1, 40000);
	replay_tmpl(&r, "tcp=8000:echo", &t, &fl);
	if (t.v[UMPA_RTCP_DIFFER] || t.v[UMPA_RTCP_MISSING] || t.v[UMPA_RTCP_UNEXPECTED])
		fail_msg("differ %u missing %u unexpected %u: %s | %s | %s", t.v[1], t.v[2], t.v[3], t.first_diff[1],
			 t.first_diff[2], t.first_diff[3]);
	assert_true(t.v[UMPA_RTCP_MATCH] >= 3);
	assert_null(fl.gave_up);
	replay_tmpl(&r, "tcp=8000:closed", &t, &fl);
	assert_int_equal(t.v[UMPA_RTCP_DIFFER], 1);
	assert_non_null(strstr(t.first_diff[UMPA_RTCP_DIFFER], "tcp.flags SA -> RA"));
	assert_non_null(fl.gave_up);
	rec_free(&r);
}

/* Write @p r to a pcap, leaving out frame @p skip (1-based; 0: none). */
static void rec_write(const struct rec *r, const char *path, size_t skip)
{
	struct umpa_capw *w = umpa_capw_open(path, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, NULL);

	assert_non_null(w);
	for (size_t i = 0; i < r->count; i++) {
		struct umpa_pkt p;
		if (i + 1 == skip)
			continue;
		umpa_pkt_init(&p);
		umpa_pkt_attach(&p, r->b[i], r->n[i], r->n[i], UMPA_LINKTYPE_ETHERNET);
		p.ts_sec = r->ts[i] / 1000000000;
		p.ts_nsec = (uint32_t)(r->ts[i] % 1000000000);
		assert_int_equal(umpa_capw_write(w, &p, NULL), 0);
	}
	assert_int_equal(umpa_capw_close(w, NULL), 0);
}

struct atally {
	unsigned v[UMPA_RV_COUNT];
	uint32_t missing_exch;
	int64_t syn_rtt;
	const struct umpa_replay_cap *cap;
};

static void audit_cb(void *arg, const struct umpa_replay_result *res)
{
	struct atally *t = arg;

	t->v[res->verdict]++;
	if (res->verdict == UMPA_RV_MISSING)
		t->missing_exch = res->exch;
	if (res->exch == 0 && res->verdict == UMPA_RV_MATCHED)
		t->syn_rtt = res->rec_rtt_ns;
}

/* Audit the pcap at @p path. */
static void audit_file(const char *path, struct atally *t)
{
	struct umpa_capr *rd = umpa_capr_open(path, NULL);
	struct umpa_replay_load_opts lo = {.vlan = -1};
	struct umpa_replay_cap *cap;
	struct umpa_err e = {0};

	assert_non_null(rd);
	cap = umpa_replay_cap_load(rd, &lo, &e);
	if (!cap)
		fail_msg("load %s: %s", path, e.msg);
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	assert_true(umpa_replay_audit(cap, NULL, audit_cb, t, &e) >= 0);
	umpa_replay_cap_free(cap);
	umpa_capr_close(rd);
}

/* --audit: the recording is answered throughout (the SYN's RTT = the time stamp difference, 1 ms of link);
 * without the SYN+ACK exactly the SYN is unanswered. */
static void test_audit(void **st)
{
	static struct rec r;
	struct atally t;
	char path[512];
	size_t synack = 0;

	(void)st;
	record(&r, 1);
	snprintf(path, sizeof(path), "%s/test_replay_tcp_audit.pcap", unit_tmpdir());
	rec_write(&r, path, 0);
	audit_file(path, &t);
	assert_true(t.v[UMPA_RV_MATCHED] >= 3);
	assert_int_equal(t.v[UMPA_RV_MISSING] + t.v[UMPA_RV_DIFFERING] + t.v[UMPA_RV_UNEXPECTED], 0);
	assert_int_equal(t.syn_rtt, 1000000); /* the link's 1 ms each way: the SYN+ACK left at once */
	for (size_t i = 0; i < r.count && !synack; i++)
		if (!r.from_client[i])
			synack = i + 1;
	rec_write(&r, path, synack);
	audit_file(path, &t);
	assert_int_equal(t.v[UMPA_RV_MISSING], 1);
	assert_int_equal(t.missing_exch, 0); /* the SYN */
	assert_int_equal(t.v[UMPA_RV_DIFFERING] + t.v[UMPA_RV_UNEXPECTED], 0);
	unit_discard(path);
	rec_free(&r);
}

/* ---- the whole run (sched/umpa_replay.h) with the TCP driver, against the host template ---- */

/* One echo connection from client port @p cport recorded into the pcap @p name in the test directory (its path in
 * @p path). */
static void rec_pcap(const char *name, uint16_t cport, char *path, size_t n)
{
	static struct rec r;

	record_mode(&r, 1, 1, cport);
	snprintf(path, n, "%s/%s", unit_tmpdir(), name);
	rec_write(&r, path, 0);
	rec_free(&r);
}

struct runobs {
	struct umpa_replay_io dev; /* the template's own I/O */
	uint16_t syn_port[16];     /* source ports of the SYNs sent */
	unsigned nsyn;
	unsigned v[4][UMPA_RV_COUNT]; /* verdicts per round */
	char note[160];               /* the first gave-up note */
};

static int obs_send(void *arg, unsigned ifidx, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	struct runobs *o = arg;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = pkts[i]->data;
		/* Ethernet, IPv4 without options, TCP: a SYN without ACK */
		if (pkts[i]->len >= 54 && b[23] == 6 && (b[47] & 0x12) == 0x02 && o->nsyn < 16)
			o->syn_port[o->nsyn++] = (uint16_t)(b[34] << 8 | b[35]);
	}
	return o->dev.send(o->dev.arg, ifidx, pkts, n, e);
}

static void obs_result(void *arg, const struct umpa_replay_result *res)
{
	struct runobs *o = arg;

	if (res->iter < 4)
		o->v[res->iter][res->verdict]++;
	if (res->verdict == UMPA_RV_GAVEUP && !o->note[0])
		snprintf(o->note, sizeof(o->note), "%s", res->note);
}

/*
 * Replay the pcap at @p path (the client side) with timing @p t against the
 * host template (@p tcp_set, 10.0.0.2, its MAC) on the virtual clock, the way
 * `umpa replay --template host` does; observe into @p o.  Returns the run's
 * length in virtual ns.
 */
static int64_t run_host(const char *path, const char *tcp_set, const struct umpa_replay_timing *t, struct runobs *o)
{
	struct umpa_capr *rd = umpa_capr_open(path, NULL);
	struct umpa_replay_load_opts lo = {.vlan = -1};
	struct umpa_replay_cap *cap;
	struct umpa_replay_checker *ck;
	struct umpa_replay_tmpl *dev;
	struct umpa_replay_run *run;
	struct umpa_replay_io io;
	struct umpa_replay_summary sum;
	struct umpa_run_opts ro = {0};
	struct umpa_err e = {0};
	const char *src = getenv("top_srcdir");
	const char *sets[3] = {tcp_set, "ip=10.0.0.2", "mac=02:00:00:00:00:02"};
	char search[1024];

	memset(o, 0, sizeof(*o));
	snprintf(search, sizeof(search), "%s/templates", src ? src : "..");
	assert_non_null(rd);
	assert_non_null(cap = umpa_replay_cap_load(rd, &lo, &e));
	umpa_capr_close(rd);
	assert_non_null(ck = umpa_replay_checker_new(&e));
	/* the template's TCP is not the recorded endpoint's: other window and options in its SYN+ACK */
	assert_int_equal(umpa_replay_checker_set(ck, "tcp.window_size_value,tcp.options", 1, &e), 0);
	ro.tmpl = "host";
	ro.search = search;
	ro.sets = sets;
	ro.nsets = 3;
	dev = umpa_replay_tmpl_new(&ro, cap->first_ts_ns, cap->linktype, 1, &o->dev, &e);
	if (!dev)
		fail_msg("host template: %s", e.msg);
	io = o->dev;
	io.send = obs_send;
	io.arg = o;
	assert_non_null(run = umpa_replay_run_new(umpa_replay_tmpl_loop(dev), cap, ck, t, &io, &e));
	assert_int_equal(umpa_replay_add_driver(run, &umpa_replay_driver_tcp, &e), 0);
	umpa_replay_tmpl_attach(dev, run);
	umpa_replay_on_result(run, obs_result, o);
	if (umpa_replay_run_go(run, &e) < 0)
		fail_msg("run: %s", e.msg);
	umpa_replay_run_summary(run, &sum);
	umpa_replay_run_free(run);
	umpa_replay_tmpl_free(dev);
	umpa_replay_checker_free(ck);
	umpa_replay_cap_free(cap);
	return sum.run_ns;
}

/* --loop 3 replays the TCP flow three times: three connections, from the recorded port and then two new ones (as
 * umpa_replay_tcp_port says), each one's exchanges checked and reported with its round. */
static void test_loop_connections(void **st)
{
	struct runobs o;
	struct umpa_replay_timing t = {.loops = 3, .timeout_ns = 50000000};
	char path[512];

	(void)st;
	rec_pcap("test_replay_tcp_loop.pcap", 40000, path, sizeof(path));
	run_host(path, "tcp=8000:echo", &t, &o);
	assert_int_equal(o.nsyn, 3);
	assert_int_equal(o.syn_port[0], 40000);
	assert_true(o.syn_port[1] != 40000 && o.syn_port[2] != 40000 && o.syn_port[1] != o.syn_port[2]);
	assert_true(o.syn_port[1] >= 1024 && o.syn_port[1] < 32768);
	for (unsigned i = 0; i < 3; i++) {
		unsigned bad = o.v[i][UMPA_RV_DIFFERING] + o.v[i][UMPA_RV_MISSING] + o.v[i][UMPA_RV_UNEXPECTED] +
			       o.v[i][UMPA_RV_GAVEUP];
		if (bad || o.v[i][UMPA_RV_MATCHED] < 3)
			fail_msg("round %u: %u matched, %u failed (%s)", i, o.v[i][UMPA_RV_MATCHED], bad, o.note);
	}
	assert_int_equal(o.v[3][UMPA_RV_MATCHED], 0);
	/* the template is closed: every round's SYN is answered with a RST, three flows fail */
	run_host(path, "tcp=8000:closed", &t, &o);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(o.v[i][UMPA_RV_DIFFERING], 1);
	unit_discard(path);
}

/* A client on a privileged port (under 1024, as rsh's) gets a new privileged port for each later round, never the
 * recorded one (whose TIME-WAIT the peer may still hold): every round a connection of its own, all matched. */
static void test_loop_reserved_port(void **st)
{
	struct runobs o;
	struct umpa_replay_timing t = {.loops = 3, .timeout_ns = 50000000};
	char path[512];

	(void)st;
	rec_pcap("test_replay_tcp_resv.pcap", 1022, path, sizeof(path));
	run_host(path, "tcp=8000:echo", &t, &o);
	assert_int_equal(o.nsyn, 3);
	assert_int_equal(o.syn_port[0], 1022);
	for (unsigned i = 1; i < 3; i++) {
		assert_true(o.syn_port[i] >= 512 && o.syn_port[i] < 1024);
		assert_true(o.syn_port[i] != 1022);
	}
	assert_true(o.syn_port[1] != o.syn_port[2]);
	for (unsigned i = 0; i < 3; i++) {
		unsigned bad = o.v[i][UMPA_RV_DIFFERING] + o.v[i][UMPA_RV_MISSING] + o.v[i][UMPA_RV_UNEXPECTED] +
			       o.v[i][UMPA_RV_GAVEUP];
		if (bad || o.v[i][UMPA_RV_MATCHED] < 3)
			fail_msg("round %u: %u matched, %u failed (%s)", i, o.v[i][UMPA_RV_MATCHED], bad, o.note);
	}
	unit_discard(path);
}

/* The TCP driver waits --timeout and retransmits --retries times: a silent peer (the port filtered) gets the SYN
 * 1 + 2 times, 100 ms apart, and the flow gives up after 0.3 s, saying so (the default: 4 s). */
static void test_timeout_retries(void **st)
{
	struct runobs o;
	struct umpa_replay_timing t = {.timeout_ns = 100000000, .retries = 2};
	char path[512];
	int64_t took;

	(void)st;
	rec_pcap("test_replay_tcp_timeout.pcap", 40000, path, sizeof(path));
	took = run_host(path, "tcp=8000:filtered", &t, &o);
	assert_int_equal(o.nsyn, 3);
	assert_int_equal(o.v[0][UMPA_RV_MATCHED], 0);
	assert_true(o.v[0][UMPA_RV_GAVEUP] >= 1);
	if (!strstr(o.note, "gave up after 0.3 s"))
		fail_msg("note: %s", o.note);
	assert_true(took >= 300000000 && took < 400000000);
	unit_discard(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_payload_differs),
	    cmocka_unit_test(test_closed_port),
	    cmocka_unit_test(test_retransmit),
	    cmocka_unit_test(test_give_up),
	    cmocka_unit_test(test_ten_flows),
	    cmocka_unit_test(test_template),
	    cmocka_unit_test(test_audit),
	    cmocka_unit_test(test_loop_connections),
	    cmocka_unit_test(test_loop_reserved_port),
	    cmocka_unit_test(test_timeout_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
