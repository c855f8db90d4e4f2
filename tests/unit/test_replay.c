/* test_replay.c - umpa replay's models offline: capture, rewriting, checker, report, a run on the virtual clock.
 *
 * A session is built with the Lua binding and written to a pcap: A
 * (10.77.0.1) asks B (10.77.0.2) by ARP, pings it twice (the second ping is
 * never answered), sends UDP to a closed port (answered by an ICMP port
 * unreachable quoting it) and a DNS query (answered); B sends a multicast
 * report of its own.  The tests load it and check what the model makes of
 * it; the run replays it on the virtual clock against a fake device that
 * answers each request with the recorded answer, changed or not.
 */
#include "unit.h"

#include "umpa_capfile.h"
#include "umpa_lua.h"
#include "umpa_replay.h"
#include "umpa_replay_fwd.h"
#include "umpa_replay_tmpl.h"
#include "umpa_run.h"
#include "umpa_sched.h"

#define MA "02:aa:00:00:00:01"
#define MB "02:bb:00:00:00:02"
#define A "10.77.0.1"
#define B "10.77.0.2"

static struct umpa_lua *L;
static char path[512], rawpath[512];

struct wctx {
	struct umpa_capw *w;
	int64_t ts_ns;
};

static int write_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct wctx *w = arg;
	w->ts_ns += 1000000; /* 1 ms apart */
	p->ts_sec = w->ts_ns / 1000000000;
	p->ts_nsec = (uint32_t)(w->ts_ns % 1000000000);
	return umpa_capw_write(w->w, p, e);
}

static void write_cap(const char *file, int linktype, const char *const *exprs, size_t n)
{
	struct umpa_err e = {0};
	struct wctx w = {.ts_ns = 1700000000LL * 1000000000LL};

	w.w = umpa_capw_open(file, UMPA_CAP_PCAP, linktype, &e);
	assert_non_null(w.w);
	for (size_t i = 0; i < n; i++)
		if (umpa_lua_build(L, exprs[i], "test", 0, write_pkt, &w, &e) < 0)
			fail_msg("%s: %s", exprs[i], e.msg);
	assert_int_equal(umpa_capw_close(w.w, &e), 0);
}

static const char *const session[] = {
    "ether{src=\"" MA "\", dst=\"ff:ff:ff:ff:ff:ff\"}/arp{op=1, hwsrc=\"" MA "\", psrc=\"" A "\", pdst=\"" B "\"}",
    "ether{src=\"" MB "\", dst=\"" MA "\"}/arp{op=2, hwsrc=\"" MB "\", psrc=\"" B "\", hwdst=\"" MA "\", pdst=\"" A
    "\"}",
    "ether{src=\"" MA "\", dst=\"" MB "\"}/ip{src=\"" A "\", dst=\"" B "\", id=1}/icmp{id=7, seq=1}/\"ping\"",
    "ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=100}/icmp{type=0, id=7, seq=1}/\"ping\"",
    "ether{src=\"" MA "\", dst=\"" MB "\"}/ip{src=\"" A "\", dst=\"" B "\", id=2}/icmp{id=7, seq=2}/\"ping\"",
    "ether{src=\"" MB "\", dst=\"01:00:5e:00:00:16\"}/ip{src=\"" B "\", dst=\"224.0.0.22\", ttl=1}/igmp{}",
    "ether{src=\"" MA "\", dst=\"" MB "\"}/ip{src=\"" A "\", dst=\"" B "\", id=3}/udp{sport=40000, dport=9999}/\"hi\"",
    "ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=101}/icmp{type=3, code=3}/ip{src=\"" A
    "\", dst=\"" B "\", id=3}/udp{sport=40000, dport=9999}/\"hi\"",
    "ether{src=\"" MA "\", dst=\"" MB "\"}/ip{src=\"" A "\", dst=\"" B "\", id=4}/udp{sport=40001, dport=53}/"
    "dns{id=77, qd=\"www.test\"}",
    "ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=102}/udp{sport=53, dport=40001}/"
    "dns{id=77, qr=1, qd=\"www.test\"}",
};

static int setup(void **state)
{
	struct umpa_err e = {0};
	static const char *const raw[] = {
	    "ip{src=\"" A "\", dst=\"" B "\"}/icmp{id=9, seq=1}",
	    "ip{src=\"" B "\", dst=\"" A "\"}/icmp{type=0, id=9, seq=1}",
	};
	(void)state;
	L = umpa_lua_open(&e);
	assert_non_null(L);
	snprintf(path, sizeof path, "%s/umpa-test-replay-%d.pcap", unit_tmpdir(), (int)getpid());
	snprintf(rawpath, sizeof rawpath, "%s/umpa-test-replay-raw-%d.pcap", unit_tmpdir(), (int)getpid());
	write_cap(path, UMPA_LINKTYPE_ETHERNET, session, sizeof session / sizeof session[0]);
	write_cap(rawpath, UMPA_LINKTYPE_RAW, raw, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	umpa_lua_close(L);
	unit_discard(path);
	unit_discard(rawpath);
	return 0;
}

static struct umpa_replay_cap *load(const char *file, const struct umpa_replay_load_opts *o, struct umpa_err *e)
{
	struct umpa_capr *r = umpa_capr_open(file, e);
	struct umpa_replay_cap *cap;
	assert_non_null(r);
	cap = umpa_replay_cap_load(r, o, e);
	umpa_capr_close(r);
	return cap;
}

static void test_model(void **state)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts o = {.vlan = -1};
	struct umpa_replay_cap *cap = load(path, &o, &e);
	const char *names[] = {"arp 10.77.0.1 > 10.77.0.2", "icmp 10.77.0.1 > 10.77.0.2 id 7",
			       "ip proto 2 10.77.0.2 > 224.0.0.22", "udp 10.77.0.1:40000 > 10.77.0.2:9999",
			       "udp 10.77.0.1:40001 > 10.77.0.2:53"};
	(void)state;
	if (!cap)
		fail_msg("%s", e.msg);
	assert_int_equal(cap->npkts, 10);
	assert_int_equal(cap->nflows, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_string_equal(cap->flows[i].name, names[i]);
	/* A opened four flows, B one: A's packets are sent, B's (its report too) expected */
	assert_int_equal(cap->nsend, 5);
	for (uint32_t i = 0; i < cap->npkts; i++) {
		const uint8_t *src = cap->arena + cap->pkts[i].off + 6;
		assert_int_equal(cap->pkts[i].role, src[1] == 0xaa ? UMPA_ROLE_SEND : UMPA_ROLE_EXPECT);
	}
	assert_int_equal(cap->nexch, 5);
	/* ARP, ping 1, ping 2 (no answer), UDP (the port unreachable), DNS */
	assert_int_equal(cap->exch[0].nans, 1);
	assert_int_equal(cap->exch[0].ans[0], 1);
	assert_int_equal(cap->exch[1].nans, 1);
	assert_int_equal(cap->exch[1].ans[0], 3);
	assert_int_equal(cap->exch[1].rtt_ns, 1000000);
	assert_int_equal(cap->exch[2].nans, 0);
	assert_int_equal(cap->exch[2].rtt_ns, -1);
	assert_int_equal(cap->exch[3].nans, 1);
	assert_int_equal(cap->exch[3].ans[0], 7);
	assert_int_equal(cap->pkts[7].flow, cap->pkts[6].flow); /* the error goes with what it quotes */
	assert_int_equal(cap->exch[4].nans, 1);
	assert_int_equal(cap->nanswers, 4);
	assert_int_equal(cap->norphans, 1); /* B's report */
	umpa_replay_cap_free(cap);

	/* side rules: B's address; a BPF filter; one that selects nothing */
	o.sides.cidrs = "10.77.0.2/32";
	cap = load(path, &o, &e);
	assert_non_null(cap);
	assert_int_equal(cap->nsend, 5); /* B's four answers and its report */
	umpa_replay_cap_free(cap);
	o.sides.cidrs = NULL;
	o.sides.bpf = "icmp[0] == 8";
	cap = load(path, &o, &e);
	assert_non_null(cap);
	assert_int_equal(cap->nsend, 2);
	assert_int_equal(cap->exch[0].nans, 1);
	umpa_replay_cap_free(cap);
	o.sides.bpf = NULL;
	o.sides.cidrs = "10.9.0.0/16";
	assert_null(load(path, &o, &e));
	assert_string_equal(e.msg, "side rule '10.9.0.0/16' selects no packet of the capture");
	o.sides.cidrs = "10.9.0.0/33";
	assert_null(load(path, &o, &e));
	unit_assert_contains(e.msg, "bad prefix length");
}

static void test_reframe(void **state)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts o = {.vlan = -1, .out_linktype = UMPA_LINKTYPE_ETHERNET};
	struct umpa_replay_cap *cap = load(rawpath, &o, &e);
	struct umpa_pkt p;
	(void)state;
	if (!cap)
		fail_msg("%s", e.msg);
	assert_int_equal(cap->linktype, UMPA_LINKTYPE_ETHERNET);
	umpa_pkt_init(&p);
	umpa_replay_cap_pkt(cap, 0, &p);
	assert_ptr_equal(p.l[0].proto, &umpa_proto_eth);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_ip);
	/* placeholder MACs from the addresses: 02:00 + the IPv4 address */
	unit_assert_bytes(&p, "02000a4d000202000a4d000108004500001c00010000400166440a4d00010a4d00020800f7f500090001");
	umpa_pkt_release(&p);
	assert_int_equal(cap->nexch, 1);
	assert_int_equal(cap->exch[0].nans, 1);
	umpa_replay_cap_free(cap);
	/* the same with a VLAN tag */
	o.vlan = 42;
	cap = load(rawpath, &o, &e);
	assert_non_null(cap);
	umpa_pkt_init(&p);
	umpa_replay_cap_pkt(cap, 1, &p);
	assert_ptr_equal(p.l[1].proto, &umpa_proto_vlan);
	assert_int_equal(unit_get(&p, &umpa_proto_vlan, "id"), 42);
	umpa_pkt_release(&p);
	umpa_replay_cap_free(cap);
}

static int any_badsum(const struct umpa_pkt *p)
{
	for (unsigned i = 0; i < p->nlayers; i++)
		if (p->l[i].flags & UMPA_L_BADSUM)
			return 1;
	return 0;
}

static void test_rewrite(void **state)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts o = {.vlan = -1};
	struct umpa_replay_cap *cap = load(path, &o, &e);
	struct umpa_replay_rewrite *rw = umpa_replay_rewrite_new(&e);
	struct umpa_pkt p;
	char *s;
	(void)state;
	assert_non_null(cap);
	assert_int_equal(umpa_replay_rewrite_add(rw, "ip:10.77.0.0/24=10.88.0.0/24", &e), 0);
	assert_int_equal(umpa_replay_rewrite_add(rw, "port:9999=7777", &e), 0);
	assert_int_equal(umpa_replay_rewrite_add(rw, "mac:" MB "=02:cc:00:00:00:03", &e), 0);
	assert_int_equal(umpa_replay_rewrite_add(rw, "ttl:9", &e), 0);
	assert_true(umpa_replay_rewrite_add(rw, "ip:10.0.0.0/8=fd00::/8", &e) < 0);
	assert_string_equal(e.msg, "rewrite 'ip:10.0.0.0/8=fd00::/8': the two sides are of different families");
	assert_true(umpa_replay_rewrite_add(rw, "vlan:3", &e) < 0);
	assert_true(umpa_replay_rewrite_apply(rw, cap, 0, &e) >= 9);
	umpa_pkt_init(&p);
	/* the ARP reply: addresses in its body mapped */
	umpa_replay_cap_pkt(cap, 1, &p);
	s = unit_format(&p, 1, "src.proto_ipv4");
	assert_string_equal(s, "10.88.0.2");
	free(s);
	s = unit_format(&p, 1, "src.hw_mac");
	assert_string_equal(s, "02:cc:00:00:00:03");
	free(s);
	/* the port unreachable: outer and quoted addresses and port, checksums right */
	umpa_replay_cap_pkt(cap, 7, &p);
	s = unit_line(&p);
	unit_assert_contains(s, "10.88.0.2 > 10.88.0.1");
	unit_assert_contains(s, "7777");
	free(s);
	assert_false(any_badsum(&p));
	assert_int_equal(unit_get(&p, &umpa_proto_ip, "ttl"), 64); /* expected packets keep their TTL */
	/* a sent packet: TTL 9, checksums right */
	umpa_replay_cap_pkt(cap, 6, &p);
	assert_int_equal(unit_get(&p, &umpa_proto_ip, "ttl"), 9);
	assert_int_equal(unit_get(&p, &umpa_proto_udp, "dstport"), 7777);
	assert_false(any_badsum(&p));
	umpa_pkt_release(&p);
	umpa_replay_cap_free(cap);
	/* --keep-checksums: the bytes change, the sums do not */
	cap = load(path, &o, &e);
	assert_true(umpa_replay_rewrite_apply(rw, cap, 1, &e) > 0);
	umpa_pkt_init(&p);
	umpa_replay_cap_pkt(cap, 6, &p);
	assert_true(any_badsum(&p));
	umpa_pkt_release(&p);
	umpa_replay_cap_free(cap);
	umpa_replay_rewrite_free(rw);
}

static int keep1(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	return umpa_pkt_dup(arg, p, e);
}

static void pkt(const char *expr, struct umpa_pkt *out)
{
	struct umpa_err e = {0};
	umpa_pkt_init(out);
	if (umpa_lua_build(L, expr, "test", 1, keep1, out, &e) < 0)
		fail_msg("%s: %s", expr, e.msg);
	umpa_dissect(out);
}

static void test_compare(void **state)
{
	struct umpa_err e = {0};
	struct umpa_replay_checker *ck = umpa_replay_checker_new(&e);
	struct umpa_pkt rec, live;
	struct umpa_replay_result res;
	struct umpa_sbuf b = {0};
	(void)state;
	assert_non_null(ck);
	pkt("ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A
	    "\", id=5}/icmp{type=0, id=7, seq=1}/\"ping\"",
	    &rec);
	pkt("ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=6, ttl=33}/icmp{type=0, id=7, "
	    "seq=1}/\"ping\"",
	    &live);
	memset(&res, 0, sizeof res);
	assert_int_equal(umpa_replay_compare(ck, &rec, &live, &res, 0), 1);
	assert_int_equal(res.verdict, UMPA_RV_DIFFERING);
	assert_int_equal(res.ndiffs, 1);
	assert_string_equal(res.diffs[0].field, "ip.ttl");
	assert_string_equal(res.diffs[0].recorded, "64");
	assert_string_equal(res.diffs[0].live, "33");
	/* ip.id and the checksums are ignored by default; --check brings ip.id back */
	assert_int_equal(umpa_replay_checker_set(ck, "ip.ttl", 1, &e), 0);
	assert_int_equal(umpa_replay_compare(ck, &rec, &live, NULL, 0), 0);
	assert_int_equal(umpa_replay_checker_set(ck, "ip.id", 0, &e), 0);
	memset(&res, 0, sizeof res);
	assert_int_equal(umpa_replay_compare(ck, &rec, &live, &res, 0), 1);
	assert_string_equal(res.diffs[0].field, "ip.id");
	/* a whole protocol; unknown names */
	assert_int_equal(umpa_replay_checker_set(ck, "ip", 1, &e), 0);
	assert_int_equal(umpa_replay_compare(ck, &rec, &live, NULL, 0), 0);
	assert_true(umpa_replay_checker_set(ck, "ip.tll", 1, &e) < 0);
	assert_string_equal(e.msg, "'ip.tll': ip has no field 'tll' (see 'umpa fields ip')");
	assert_true(umpa_replay_checker_set(ck, "ipx.ttl", 1, &e) < 0);
	unit_assert_contains(e.msg, "no protocol 'ipx'");
	umpa_replay_checker_free(ck);
	/* a payload that differs, and a layer that is missing */
	ck = umpa_replay_checker_new(&e);
	umpa_pkt_release(&live);
	pkt("ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A
	    "\", id=5}/icmp{type=0, id=7, seq=1}/\"pong\"",
	    &live);
	memset(&res, 0, sizeof res);
	umpa_replay_compare(ck, &rec, &live, &res, 0);
	assert_int_equal(res.ndiffs, 1);
	assert_string_equal(res.diffs[0].field, "data");
	assert_string_equal(res.diffs[0].recorded, "4 bytes 70696e67");
	umpa_pkt_release(&live);
	pkt("ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=5}/icmp{type=0, id=7, seq=1}",
	    &live);
	memset(&res, 0, sizeof res);
	assert_true(umpa_replay_compare(ck, &rec, &live, &res, 0) >= 1);
	assert_string_equal(res.diffs[res.ndiffs - 1].recorded, "raw");
	assert_string_equal(res.diffs[res.ndiffs - 1].live, "(absent)");
	/* --learn-noise: a reference answer, then what differs from it is learned */
	umpa_pkt_release(&live);
	pkt("ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=5, tos=4}/icmp{type=0, id=7, "
	    "seq=1}/\"ping\"",
	    &live);
	assert_int_equal(umpa_replay_checker_keep(ck, 0, 1, &rec, &e), 0);
	assert_int_equal(umpa_replay_checker_learn(ck, 0, &live), 2); /* ip.dsfield and its dscp view */
	umpa_replay_checker_learned(ck, &b);
	unit_assert_contains(b.s, "ip.dsfield");
	assert_int_equal(umpa_replay_compare(ck, &rec, &live, NULL, 0), 0);
	umpa_sbuf_free(&b);
	umpa_pkt_release(&rec);
	umpa_pkt_release(&live);
	umpa_replay_checker_free(ck);
}

/* ---- a run on the virtual clock against a fake device ---- */

struct fake {
	struct umpa_replay_run *run;
	const struct umpa_replay_cap *cap;
	int mode; /* 0 answer as recorded, 1 ttl 33, 2 silent */
	int64_t delay_ns;
	unsigned sent;
};

struct later {
	struct fake *f;
	struct umpa_pkt p;
};

static void deliver(struct umpa_loop *loop, void *arg)
{
	struct later *l = arg;
	(void)loop;
	umpa_replay_run_input(l->f->run, &l->p, 0);
	umpa_pkt_release(&l->p);
	free(l);
}

static int fake_send(void *arg, unsigned ifidx, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	struct fake *f = arg;
	(void)ifidx;
	for (unsigned i = 0; i < n; i++) {
		/* the recorded answers of the request with these bytes */
		for (uint32_t k = 0; k < f->cap->nexch; k++) {
			const struct umpa_replay_pkt *rq = &f->cap->pkts[f->cap->exch[k].req];
			if (rq->len != pkts[i]->len || memcmp(f->cap->arena + rq->off, pkts[i]->data, rq->len))
				continue;
			for (uint32_t a = 0; a < f->cap->exch[k].nans && f->mode != 2; a++) {
				const struct umpa_replay_pkt *ap = &f->cap->pkts[f->cap->exch[k].ans[a]];
				struct later *l = calloc(1, sizeof *l);
				assert_non_null(l);
				l->f = f;
				umpa_pkt_init(&l->p);
				assert_int_equal(umpa_pkt_copy_from(&l->p, f->cap->arena + ap->off, ap->len, e), 0);
				l->p.linktype = UMPA_LINKTYPE_ETHERNET;
				if (f->mode == 1 && l->p.len > 22 && l->p.data[12] == 0x08 && l->p.data[13] == 0)
					l->p.data[22] = 33;
				assert_non_null(umpa_after(umpa_replay_loop(f->run), f->delay_ns, deliver, l, e));
			}
			break;
		}
		f->sent++;
	}
	return (int)n;
}

struct collect {
	struct umpa_sbuf out;
};

static void on_res(void *arg, const struct umpa_replay_result *res)
{
	struct collect *c = arg;
	(void)res;
	(void)c;
}

static void run_once(int mode, struct umpa_replay_summary *sum, struct umpa_sbuf *json, struct umpa_sbuf *junit,
		     const struct umpa_replay_timing *t)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts o = {.vlan = -1};
	struct umpa_replay_cap *cap = load(path, &o, &e);
	struct umpa_replay_checker *ck = umpa_replay_checker_new(&e);
	struct umpa_loop *loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
	struct fake f = {.cap = cap, .mode = mode, .delay_ns = 2000000};
	struct umpa_replay_io io = {.send = fake_send, .arg = &f, .nifs = 1};
	struct collect c = {{0}};
	size_t nf;
	const struct umpa_replay_result *fr;

	assert_non_null(cap);
	assert_non_null(loop);
	f.run = umpa_replay_run_new(loop, cap, ck, t, &io, &e);
	assert_non_null(f.run);
	umpa_replay_on_result(f.run, on_res, &c);
	assert_int_equal(umpa_replay_run_go(f.run, &e), 0);
	umpa_replay_run_summary(f.run, sum);
	fr = umpa_replay_report_failed(umpa_replay_run_report(f.run), &nf);
	for (size_t i = 0; i < nf; i++)
		umpa_replay_format_result(cap, &fr[i], UMPA_REPLAY_JSON, 0, json);
	umpa_replay_format_summary(sum, UMPA_REPLAY_JSON, json);
	umpa_replay_report_junit(umpa_replay_run_report(f.run), "session", junit);
	umpa_replay_run_free(f.run);
	umpa_loop_free(loop);
	umpa_replay_checker_free(ck);
	umpa_replay_cap_free(cap);
}

static void test_run(void **state)
{
	struct umpa_replay_summary sum;
	struct umpa_sbuf json = {0}, junit = {0};
	struct umpa_replay_timing t = {.timeout_ns = 100000000};
	(void)state;

	/* as recorded: every exchange matches but the unanswered ping, now answered by nobody either */
	run_once(0, &sum, &json, &junit, &t);
	assert_int_equal(sum.exchanges, 5);
	assert_int_equal(sum.verdicts[UMPA_RV_MATCHED], 5);
	assert_int_equal(sum.sent, 5);
	assert_int_equal(sum.flows_failed, 0);
	assert_int_equal(sum.rtt_pairs, 4);
	assert_int_equal(sum.live_rtt_sum_ns, 4 * 2000000);
	unit_assert_contains(json.s, "\"matched\":5,\"differing\":0,\"missing\":0,\"unexpected\":0}\n");
	unit_assert_contains(junit.s, "tests=\"4\" failures=\"0\"");
	umpa_sbuf_reset(&json);
	umpa_sbuf_reset(&junit);

	/* the device's IPv4 TTL changed: the ping, the port unreachable and DNS differ, ARP matches */
	run_once(1, &sum, &json, &junit, &t);
	assert_int_equal(sum.verdicts[UMPA_RV_DIFFERING], 3);
	assert_int_equal(sum.verdicts[UMPA_RV_MATCHED], 2);
	unit_assert_contains(json.s,
			     "\"flow\":\"icmp 10.77.0.1 > 10.77.0.2 id 7\",\"verdict\":\"differing\",\"answers\":1,"
			     "\"recorded_rtt_us\":1000.000,\"live_rtt_us\":2000.000,\"differences\":[{\"field\":"
			     "\"ip.ttl\",\"recorded\":\"64\",\"live\":\"33\"}]");
	unit_assert_contains(junit.s, "failures=\"3\"");
	unit_assert_contains(junit.s, "<testcase classname=\"umpa.replay\" name=\"arp 10.77.0.1 &gt; 10.77.0.2\"/>");
	unit_assert_contains(junit.s, "ip.ttl 64 -&gt; 33");
	umpa_sbuf_reset(&json);
	umpa_sbuf_reset(&junit);

	/* a silent device: every expected answer is missing; two rounds at 1000 pps */
	t.pps = 1000;
	t.loops = 2;
	run_once(2, &sum, &json, &junit, &t);
	assert_int_equal(sum.exchanges, 10);
	assert_int_equal(sum.verdicts[UMPA_RV_MISSING], 8);
	assert_int_equal(sum.verdicts[UMPA_RV_MATCHED], 2);
	unit_assert_contains(json.s, "\"verdict\":\"missing\"");
	unit_assert_contains(json.s, "\"note\":\"no answer within 0.1 s\"");
	unit_assert_contains(json.s, "\"iteration\":2");
	umpa_sbuf_free(&json);
	umpa_sbuf_free(&junit);
}

/* ---- both sides through a device: flaky-link as the template between the two (umpa replay --both-sides) ---- */

static const char *const two_sided[] = {
    "ether{src=\"" MA "\", dst=\"" MB "\"}/ip{src=\"" A "\", dst=\"" B "\", id=1}/udp{sport=1000, dport=53}/\"q1\"",
    "ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=2}/udp{sport=53, dport=1000}/\"a1\"",
    "ether{src=\"" MA "\", dst=\"" MB "\"}/ip{src=\"" A "\", dst=\"" B "\", id=3}/icmp{id=9, seq=1}/\"ping\"",
    "ether{src=\"" MB "\", dst=\"" MA "\"}/ip{src=\"" B "\", dst=\"" A "\", id=4}/icmp{type=0, id=9, seq=1}/\"ping\"",
};

struct fwdobs {
	unsigned v[UMPA_RV_COUNT];
	int64_t rtt_min, rtt_max;
	char diff[256];
};

static void fwd_res(void *arg, const struct umpa_replay_result *res)
{
	struct fwdobs *o = arg;
	o->v[res->verdict]++;
	if (res->live_rtt_ns >= 0 && (o->rtt_min < 0 || res->live_rtt_ns < o->rtt_min))
		o->rtt_min = res->live_rtt_ns;
	if (res->live_rtt_ns > o->rtt_max)
		o->rtt_max = res->live_rtt_ns;
	if (res->ndiffs && !o->diff[0])
		snprintf(o->diff, sizeof o->diff, "%s %s -> %s", res->diffs[0].field, res->diffs[0].recorded,
			 res->diffs[0].live);
}

/* Replay both sides of the capture at @p file, @p loops times, through flaky-link with @p sets; checker @p ignore. */
static void run_link(const char *file, const char *const *sets, size_t nsets, uint64_t loops, const char *ignore,
		     struct fwdobs *o)
{
	struct umpa_err e = {0};
	struct umpa_replay_load_opts lo = {.vlan = -1, .sides = {.both = 1}};
	struct umpa_replay_cap *cap = load(file, &lo, &e);
	struct umpa_replay_checker *ck = umpa_replay_checker_new(&e);
	struct umpa_replay_timing t = {.timeout_ns = 100000000, .loops = loops};
	struct umpa_run_opts ro = {.tmpl = "flaky-link", .sets = sets, .nsets = nsets};
	struct umpa_replay_io io;
	struct umpa_replay_tmpl *dev;
	struct umpa_replay_run *run;
	const char *src = getenv("top_srcdir");
	char search[1024];

	memset(o, 0, sizeof *o);
	o->rtt_min = -1;
	snprintf(search, sizeof search, "%s/templates", src ? src : "..");
	ro.search = search;
	assert_non_null(cap);
	assert_non_null(ck);
	assert_int_equal(umpa_replay_checker_set(ck, "eth", 1, &e), 0);
	if (ignore)
		assert_int_equal(umpa_replay_checker_set(ck, ignore, 1, &e), 0);
	dev = umpa_replay_tmpl_new(&ro, cap->first_ts_ns, cap->linktype, 2, &io, &e);
	if (!dev)
		fail_msg("flaky-link: %s", e.msg);
	assert_int_equal(io.nifs, 2);
	assert_non_null(run = umpa_replay_run_new(umpa_replay_tmpl_loop(dev), cap, ck, &t, &io, &e));
	assert_int_equal(umpa_replay_add_driver(run, &umpa_replay_driver_fwd, &e), 0);
	umpa_replay_tmpl_attach(dev, run);
	umpa_replay_on_result(run, fwd_res, o);
	if (umpa_replay_run_go(run, &e) < 0)
		fail_msg("run: %s", e.msg);
	umpa_replay_run_free(run);
	umpa_replay_tmpl_free(dev);
	umpa_replay_checker_free(ck);
	umpa_replay_cap_free(cap);
}

/* Through flaky-link without loss every packet comes out of the other side as sent (each after the two virtual
 * hops and the link's delay); with loss the dropped ones are missing, the rest matched; a corrupting link's
 * frames differ, field by field. */
static void test_through_link(void **state)
{
	char file[512];
	struct fwdobs o;
	const char *delay[] = {"delay=0.002", "seed=1"};
	const char *lossy[] = {"loss=0.5", "seed=7"};
	const char *corrupt[] = {"corrupt=1", "seed=3", "repair=false"};
	(void)state;

	snprintf(file, sizeof file, "%s/replay_two.pcap", unit_tmpdir());
	write_cap(file, UMPA_LINKTYPE_ETHERNET, two_sided, 4);
	run_link(file, delay, 2, 5, NULL, &o);
	assert_int_equal(o.v[UMPA_RV_MATCHED], 20);
	assert_int_equal(o.v[UMPA_RV_MISSING] + o.v[UMPA_RV_DIFFERING] + o.v[UMPA_RV_UNEXPECTED], 0);
	/* 100 us to the template, 2 ms in it, 100 us back */
	assert_int_equal(o.rtt_min, 2200000);
	assert_int_equal(o.rtt_max, 2200000);
	run_link(file, lossy, 2, 5, NULL, &o);
	assert_true(o.v[UMPA_RV_MISSING] >= 3 && o.v[UMPA_RV_MISSING] <= 17);
	assert_int_equal(o.v[UMPA_RV_MATCHED] + o.v[UMPA_RV_MISSING], 20);
	assert_int_equal(o.v[UMPA_RV_DIFFERING] + o.v[UMPA_RV_UNEXPECTED], 0);
	/* a bit flipped in every frame: what still reaches its flow differs, named */
	run_link(file, corrupt, 3, 5, NULL, &o);
	if (o.v[UMPA_RV_DIFFERING] < 5 || !o.diff[0])
		fail_msg("%u differing (%s), %u matched, %u missing", o.v[UMPA_RV_DIFFERING], o.diff,
			 o.v[UMPA_RV_MATCHED], o.v[UMPA_RV_MISSING]);
	unit_discard(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),   cmocka_unit_test(test_reframe), cmocka_unit_test(test_rewrite),
	    cmocka_unit_test(test_compare), cmocka_unit_test(test_run),     cmocka_unit_test(test_through_link),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
