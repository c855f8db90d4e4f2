/* test_run.c - the template runtime (templates/umpa_run.h) on the virtual clock.
 *
 * Each test writes a template and an input capture into a private directory,
 * runs the template offline, and checks what it did through the counters,
 * the log lines and the output capture read back with the capture reader.
 * Expected values come from the inputs (the request's sequence number plus
 * one, the hour count of the input's span), not from a previous run.
 */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_lua.h"
#include "umpa_run.h"

static char dir[] = "/tmp/umpa-run-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
	static char buf[64][512];
	static int k;

	k = (k + 1) % 64; /* each test uses fewer: pointers stay valid through a test */
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Packets of @n expressions at t0 + i * step seconds into pcapng @name. */
struct wctx {
	struct umpa_capw *w;
	int64_t ts;
};

static int put_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct wctx *c = arg;

	p->ts_sec = c->ts / UMPA_NS_PER_SEC;
	p->ts_nsec = (uint32_t)(c->ts % UMPA_NS_PER_SEC);
	return umpa_capw_write(c->w, p, e);
}

static void write_input(const char *name, const char *const *exprs, size_t n, int64_t t0, double step)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);
	struct wctx c = {.w = umpa_capw_open(path(name), UMPA_CAP_PCAPNG, 1, &e)};

	assert_non_null(L);
	assert_non_null(c.w);
	for (size_t i = 0; i < n; i++) {
		c.ts = t0 * UMPA_NS_PER_SEC + (int64_t)((double)i * step * 1e9);
		if (umpa_lua_build(L, exprs[i], "input", 1, put_pkt, &c, &e) != 1)
			fail_msg("%s: %s", exprs[i], e.msg);
	}
	assert_int_equal(umpa_capw_close(c.w, &e), 0);
	umpa_lua_close(L);
}

/* Log lines kept for checks. */
struct logs {
	char lines[64][256];
	int n;
};

static void keep_log(void *arg, enum umpa_run_level lvl, int64_t ts, const char *line)
{
	struct logs *l = arg;

	(void)ts;
	if (l->n < 64)
		snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s%s",
			 lvl == UMPA_RUN_ERROR    ? "E "
			 : lvl == UMPA_RUN_RESULT ? "R "
						  : "",
			 line);
}

static struct umpa_run *load(struct umpa_run_opts *o, struct logs *lg)
{
	struct umpa_err e = {0};
	struct umpa_run *r = umpa_run_new(o, &e);

	if (!r)
		fail_msg("umpa_run_new: %s", e.msg);
	if (lg)
		assert_int_equal(umpa_run_add_log(r, keep_log, lg, &e), 0);
	return r;
}

/* ---- parameters ---- */

static const char params_lua[] = "-- params: every type\n"
				 "params{\n"
				 "  s = {type='string', default='x', help='a string'},\n"
				 "  n = {type='int', default=5},\n"
				 "  f = {type='number', default=0.5},\n"
				 "  b = {type='bool', default=false},\n"
				 "  a = {type='ipv4', default='10.0.0.1'},\n"
				 "  a6 = {type='ipv6'},\n"
				 "  m = {type='mac', default='02:00:00:00:00:01'},\n"
				 "  l = {type='list', default='1, 2,3'},\n"
				 "}\n"
				 "assert(param.n == 7 and math.type(param.n) == 'integer')\n"
				 "assert(param.f == 0.5 and param.b == true and param.a6 == nil)\n"
				 "assert(#param.l == 3 and param.l[2] == '2')\n"
				 "function on_param(name, value)\n"
				 "  count('changed.' .. name)\n"
				 "  if name == 'n' then count('n.value', value) end\n"
				 "end\n";

static void hook(void *arg, const char *name, const char *value)
{
	snprintf(arg, 64, "%s=%s", name, value);
}

static void test_params(void **state)
{
	const char *sets[] = {"n=7", "b=yes"};
	struct umpa_run_opts o = {.tmpl = path("params.lua"), .sets = sets, .nsets = 2};
	struct umpa_err e = {0};
	struct umpa_run_param p;
	struct umpa_sbuf b = {0};
	char hooked[64] = "";
	struct umpa_run *r;

	(void)state;
	write_text("params.lua", params_lua);
	r = load(&o, NULL);
	assert_int_equal(umpa_run_param_count(r), 8);
	assert_int_equal(umpa_run_param_get(r, 0, &p), 0); /* sorted by name */
	assert_string_equal(p.name, "a");
	assert_string_equal(p.type, "ipv4");
	assert_string_equal(p.value, "10.0.0.1");
	assert_int_equal(umpa_run_param_get(r, 8, &p), -UMPA_ERANGE);

	/* typed changes at run time: the template's on_param, then the hook */
	umpa_run_on_param(r, hook, hooked);
	assert_int_equal(umpa_run_param_set(r, "n", "42", &e), 0);
	assert_string_equal(hooked, "n=42");
	assert_int_equal(umpa_run_counter(r, "changed.n"), 1);
	assert_int_equal(umpa_run_counter(r, "n.value"), 42);
	assert_int_equal(umpa_run_param_set(r, "a", "10.0.0", &e), -UMPA_EINVAL);
	assert_string_equal(e.msg, "parameter 'a': '10.0.0' is not an IPv4 address");
	assert_int_equal(umpa_run_param_set(r, "m", "02:00:00:00:00", &e), -UMPA_EINVAL);
	assert_int_equal(umpa_run_param_set(r, "n", "4x", &e), -UMPA_EINVAL);
	assert_int_equal(umpa_run_param_set(r, "zz", "1", &e), -UMPA_ENOENT);
	assert_non_null(strstr(e.msg, "unknown parameter 'zz' (parameters: a, a6, b, f, l, m, n, s)"));
	assert_int_equal(umpa_run_counter(r, "changed.a"), 0); /* refused changes notify nobody */

	/* the same checks without a change (a PATCH checks every entry first) */
	assert_int_equal(umpa_run_param_check(r, "n", "43", &e), 0);
	assert_int_equal(umpa_run_param_check(r, "a", "10.0.0", &e), -UMPA_EINVAL);
	assert_string_equal(e.msg, "parameter 'a': '10.0.0' is not an IPv4 address");
	assert_int_equal(umpa_run_param_check(r, "zz", "1", &e), -UMPA_ENOENT);
	assert_non_null(strstr(e.msg, "unknown parameter 'zz' (parameters: a, a6, b, f, l, m, n, s)"));
	assert_int_equal(umpa_run_counter(r, "changed.n"), 1); /* on_param not called */
	assert_int_equal(umpa_run_counter(r, "n.value"), 42);
	assert_string_equal(hooked, "n=42");

	assert_int_equal(umpa_run_params_json(r, &b), 0);
	assert_non_null(strstr(b.s, "\"n\":{\"type\":\"int\",\"value\":\"42\",\"default\":\"5\",\"help\":\"\"}"));
	assert_non_null(
	    strstr(b.s, "\"s\":{\"type\":\"string\",\"value\":\"x\",\"default\":\"x\",\"help\":\"a string\"}"));
	umpa_sbuf_reset(&b);
	assert_int_equal(umpa_run_counters_json(r, &b), 0);
	assert_non_null(strstr(b.s, "\"changed.n\":1"));
	umpa_sbuf_free(&b);
	umpa_run_free(r);

	/* load-time errors: unknown, mistyped, bad default */
	{
		const char *bad[] = {"n=7", "b=1", "nn=1"};
		o.sets = bad;
		o.nsets = 3;
		assert_null(umpa_run_new(&o, &e));
		assert_non_null(strstr(e.msg, "--set nn=1:"));
		assert_non_null(strstr(e.msg, "no parameter 'nn'"));
	}
	{
		const char *bad[] = {"n=7", "b=maybe"};
		o.sets = bad;
		o.nsets = 2;
		assert_null(umpa_run_new(&o, &e));
		assert_string_equal(e.msg, "--set b=maybe: parameter 'b' wants true or false");
	}
	write_text("baddef.lua", "-- bad default\n\nparams{x={type='int', default='ten'}}\n");
	o = (struct umpa_run_opts){.tmpl = path("baddef.lua")};
	assert_null(umpa_run_new(&o, &e));
	assert_non_null(strstr(e.msg, "baddef.lua:3: params: 'x': default 'ten' is not an integer"));
}

/* ---- timers on the virtual clock ---- */

static void test_timers(void **state)
{
	const char *in[] = {"ether{}/ip{src='10.0.0.9', dst='10.0.0.1'}/udp{sport=9, dport=7}",
			    "ether{}/ip{src='10.0.0.9', dst='10.0.0.1'}/udp{sport=9, dport=7}"};
	struct umpa_run_opts o = {.tmpl = path("timers.lua"), .offline = path("timers.pcapng")};
	struct umpa_err e = {0};
	struct logs lg = {0};
	struct umpa_run *r;

	(void)state;
	/* a day of input: 86400 s between its two packets */
	write_input("timers.pcapng", in, 2, 1700000000, 86400);
	write_text("timers.lua", "-- timers\n"
				 "local t0 = now()\n"
				 "every(3600, function() count('hourly') end)\n"
				 "local m = every(60, function() count('minutely'); if counter('minutely') == 10 then "
				 "cancel(m_id) end end)\n"
				 "m_id = m\n"
				 "after(2.5, function() log('after', now() - t0) end)\n"
				 "after(1, function() log('first') end)\n"
				 "at(t0 + 2, function() log('at', now() - t0) end)\n"
				 "local x = after(5, function() log('never') end)\n"
				 "assert(cancel(x) == true and cancel(x) == false)\n");
	r = load(&o, &lg);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "hourly"), 24);
	assert_int_equal(umpa_run_counter(r, "minutely"), 10);
	assert_int_equal(umpa_run_counter(r, "rx"), 2);
	assert_int_equal(lg.n, 3);
	assert_string_equal(lg.lines[0], "first");
	assert_string_equal(lg.lines[1], "at 2.0");
	assert_string_equal(lg.lines[2], "after 2.5");
	umpa_run_free(r);

	/* --duration past the input: timers run on to start + duration */
	memset(&lg, 0, sizeof(lg));
	r = load(&o, &lg);
	assert_int_equal(umpa_run_run(r, 2 * 86400 * UMPA_NS_PER_SEC, &e), 0);
	assert_int_equal(umpa_run_counter(r, "hourly"), 48);
	umpa_run_free(r);
}

/* ---- rules, reply, expect, the output and its comments ---- */

struct frame {
	struct umpa_pkt p;
};

/* Read back every packet of @name (dissected). */
static size_t read_frames(const char *name, struct frame *f, size_t max)
{
	struct umpa_err e = {0};
	struct umpa_capr *rd = umpa_capr_open(path(name), &e);
	struct umpa_pkt p;
	size_t n = 0;

	assert_non_null(rd);
	umpa_pkt_init(&p);
	while (n < max && umpa_capr_next(rd, &p, &e) > 0) {
		umpa_pkt_init(&f[n].p);
		assert_int_equal(umpa_pkt_copy_from(&f[n].p, p.data, p.len, &e), 0);
		f[n].p.linktype = p.linktype;
		umpa_dissect(&f[n].p);
		n++;
	}
	umpa_capr_close(rd);
	return n;
}

static void free_frames(struct frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		umpa_pkt_release(&f[i].p);
}

static const char tcp_lua[] =
    "-- tcp: SYN -> SYN/ACK, a probe with expect\n"
    "on('tcp', {['tcp.flags'] = 'S', ['tcp.dstport'] = {22, 80}}, function(p)\n"
    "  send(reply(p, tcp{flags='SA', seq=1000}))\n"
    "end)\n"
    "after(0.5, function()\n"
    "  expect{send = ether{dst='02:00:00:00:00:09'}/ip{src='10.0.0.1', dst='10.0.0.9'}/"
    "icmp{id=99, seq=1},\n"
    "    timeout = 1, retries = 0,\n"
    "    on = {{'icmp.type==0', function(a, rtt) count('answered'); log('rtt', rtt) end}},\n"
    "    on_timeout = function(q) count('lost') end}\n"
    "  expect{send = ether{}/ip{src='10.0.0.1', dst='10.0.0.8'}/icmp{id=98, seq=1},\n"
    "    timeout = 1, retries = 2, on_timeout = function(q) count('lost'); log('lost', q.icmp.id) "
    "end}\n"
    "end)\n"
    "after(3.9, function() expect{send = ether{}/ip{src='10.0.0.1', dst='10.0.0.7'}/icmp{id=97, seq=1}, timeout = "
    "10} end)\n";

static void test_rules_expect_output(void **state)
{
	const char *in[] = {
	    "ether{src='02:00:00:00:00:09', dst='02:00:00:00:00:01'}/ip{src='10.0.0.9', dst='10.0.0.1'}/"
	    "tcp{sport=40000, dport=22, flags='S', seq=777}",
	    "ether{src='02:00:00:00:00:09', dst='02:00:00:00:00:01'}/ip{src='10.0.0.9', dst='10.0.0.1'}/"
	    "tcp{sport=40001, dport=23, flags='S', seq=1}",
	    "ether{src='02:00:00:00:00:09', dst='02:00:00:00:00:01'}/ip{src='10.0.0.9', dst='10.0.0.1'}/"
	    "icmp{type='echo-reply', id=99, seq=1}",
	    "ether{src='02:00:00:00:00:09', dst='02:00:00:00:00:01'}/ip{src='10.0.0.9', dst='10.0.0.1'}/"
	    "udp{sport=1, dport=2}",
	};
	struct umpa_run_opts o = {.tmpl = path("tcp.lua"), .offline = path("tcp.pcapng"), .out = path("out1.pcapng")};
	struct umpa_err e = {0};
	struct logs lg = {0};
	struct frame f[16];
	struct umpa_run *r;
	uint64_t rxb, txb, inb, outb;
	size_t n;
	int li;

	(void)state;
	/* packets at t0, t0+0.25, t0+0.75 (the answer, 0.25 s after the probe), t0+4 */
	{
		static const double ts[] = {0, 0.25, 0.75, 4};
		struct umpa_lua *L = umpa_lua_open(&e);
		struct wctx c = {.w = umpa_capw_open(path("tcp.pcapng"), UMPA_CAP_PCAPNG, 1, &e)};
		assert_non_null(L);
		assert_non_null(c.w);
		for (int i = 0; i < 4; i++) {
			c.ts = 1700000000 * UMPA_NS_PER_SEC + (int64_t)(ts[i] * 1e9);
			assert_int_equal(umpa_lua_build(L, in[i], "input", 1, put_pkt, &c, &e), 1);
		}
		assert_int_equal(umpa_capw_close(c.w, &e), 0);
		umpa_lua_close(L);
	}
	write_text("tcp.lua", tcp_lua);
	r = load(&o, &lg);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "rule.1.in"), 1); /* port 23 is not in the list */
	assert_int_equal(umpa_run_counter(r, "rule.1.out"), 1);
	assert_int_equal(umpa_run_counter(r, "answered"), 1);
	assert_int_equal(umpa_run_counter(r, "lost"), 1);
	assert_int_equal(umpa_run_counter(r, "timeouts"), 1);
	assert_int_equal(umpa_run_counter(r, "rx"), 4);
	assert_int_equal(umpa_run_counter(r, "tx"),
			 1 + 1 + 3 + 1); /* SYN/ACK, probe, 3 tries, a probe never answered */
	assert_int_equal(umpa_run_counter(r, "host.10.0.0.1.tx"), 6);
	assert_int_equal(umpa_run_counter(r, "host.10.0.0.1.rx"), 3); /* counted once the host has sent */
	rxb = umpa_run_counter(r, "rx.bytes");
	txb = umpa_run_counter(r, "tx.bytes");
	inb = umpa_run_counter(r, "rule.1.in_bytes");
	outb = umpa_run_counter(r, "rule.1.out_bytes");
	umpa_run_free(r);
	assert_string_equal(lg.lines[0], "rtt 0.25");

	n = read_frames("out1.pcapng", f, 16);
	assert_int_equal(n, 4 + 6);
	/* 1 SYN, 2 SYN/ACK, 3 SYN to 23, 4 probe, 5 probe 2, 6 answer, 7 try 2, 8 try 3, 9 probe 3, 10 udp */
	/* bytes: received frames 1, 3, 6, 10; sent 2, 4, 5, 7, 8, 9; rule 1 took frame 1 and sent frame 2 */
	assert_int_equal(rxb, f[0].p.len + f[2].p.len + f[5].p.len + f[9].p.len);
	assert_int_equal(txb, f[1].p.len + f[3].p.len + f[4].p.len + f[6].p.len + f[7].p.len + f[8].p.len);
	assert_int_equal(inb, f[0].p.len);
	assert_int_equal(outb, f[1].p.len);
	assert_true(rxb > 0 && txb > 0);
	li = umpa_pkt_find(&f[1].p, &umpa_proto_tcp, 0);
	assert_true(li >= 0);
	assert_int_equal(unit_get(&f[1].p, &umpa_proto_tcp, "sport"), 22);
	assert_int_equal(unit_get(&f[1].p, &umpa_proto_tcp, "dport"), 40000);
	assert_int_equal(unit_get(&f[1].p, &umpa_proto_tcp, "ack"), 778);
	assert_int_equal(unit_get(&f[1].p, &umpa_proto_tcp, "seq"), 1000);
	assert_int_equal(unit_get(&f[1].p, &umpa_proto_tcp, "flags"), 0x12);
	/* the comments, in frame order (libpcap does not hand comments back: read the blocks' bytes) */
	{
		static const char *const want[] = {
		    "reply to frame 1 (rule 1)",
		    "exchange 1: request",
		    "exchange 2: request",
		    "answer to frame 4 (exchange 1, rtt 250.000 ms)",
		    "exchange 2: try 2 after timeout (first sent as frame 5)",
		    "exchange 2: try 3 after timeout (first sent as frame 5)",
		    /* the final timeout (at 3.5 s) marks the next frame; the exchange the input's end cut short, a note
		     */
		    "exchange 2: no answer to frame 5 after 3 tries (timed out); exchange 3: request",
		    "exchange 3: no answer to frame 9 before the end of the run (1 try)",
		};
		static char bytes[65536];
		FILE *ff = fopen(path("out1.pcapng"), "rb");
		size_t nb, at = 0;
		assert_non_null(ff);
		nb = fread(bytes, 1, sizeof(bytes), ff);
		fclose(ff);
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			const char *hit = memmem(bytes + at, nb - at, want[k], strlen(want[k]));
			if (!hit)
				fail_msg("comment '%s' missing or out of order", want[k]);
			at = (size_t)(hit - bytes) + strlen(want[k]);
		}
	}
	free_frames(f, n);

	/* the same input again: the same bytes */
	o.out = path("out2.pcapng");
	r = load(&o, NULL);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	umpa_run_free(r);
	{
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", path("out1.pcapng"), path("out2.pcapng"));
		assert_int_equal(system(cmd), 0);
	}
}

/* reply(): a spec kept by the template and passed to every reply is not
 * changed by it (each answer goes to its own requester); a UDP and an ICMP
 * echo answer swap addresses and ports, echo id, sequence and data; errors
 * name the script line. */
static void test_reply(void **state)
{
	const char *in[] = {
	    "ether{src='02:00:00:00:00:0a', dst='02:00:00:00:00:01'}/ip{src='10.0.0.10', dst='10.0.0.1'}/"
	    "udp{sport=1000, dport=7}/'one'",
	    "ether{src='02:00:00:00:00:0b', dst='02:00:00:00:00:01'}/ip{src='10.0.0.11', dst='10.0.0.1'}/"
	    "udp{sport=1001, dport=7}/'two'",
	    "ether{src='02:00:00:00:00:0c', dst='02:00:00:00:00:01'}/ip{src='10.0.0.12', dst='10.0.0.1', ttl=9}/"
	    "icmp{type='echo-request', id=77, seq=5}/'ping data'",
	};
	struct umpa_run_opts o = {
	    .tmpl = path("reply.lua"), .offline = path("reply.pcapng"), .out = path("reply-out.pcapng")};
	struct umpa_err e = {0};
	struct logs lg = {0};
	struct frame f[16];
	struct umpa_run *r;
	size_t n;
	int li;

	(void)state;
	write_input("reply.pcapng", in, 3, 1700000000, 1);
	write_text("reply.lua",
		   "-- reply\n"
		   "local E = ether{src = '02:00:00:00:00:01'}\n"
		   "on('udp', function(p)\n"
		   "  send(reply(p, E, udp{}, p.udp._payload))\n"
		   "  if E.dst ~= nil then count('mutated') end\n"
		   "end)\n"
		   "on('icmp', function(p) send(reply(p, E, ip{ttl = 33}, icmp{type = 'echo-reply'})) end)\n"
		   "on('ip', function(p) if counter('rx') == 3 then reply(p, 5) end end)\n");
	r = load(&o, &lg);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "mutated"), 0);
	assert_int_equal(umpa_run_counter(r, "errors"), 1);
	assert_true(lg.n >= 1);
	if (!strstr(lg.lines[lg.n - 1], "reply.lua:8: reply: layers and payload strings only"))
		fail_msg("log: %s", lg.lines[lg.n - 1]);
	umpa_run_free(r);
	n = read_frames("reply-out.pcapng", f, 16);
	assert_int_equal(n, 6);
	for (int k = 0; k < 2; k++) { /* frames 2 and 4: each to its own requester */
		const struct umpa_pkt *q = &f[2 * k + 1].p;
		li = umpa_pkt_find(q, &umpa_proto_eth, 0);
		assert_true(li >= 0);
		assert_int_equal(q->data[q->l[li].off + 5], 0x0a + k); /* eth.dst: the requester's MAC */
		assert_int_equal(unit_get(q, &umpa_proto_udp, "sport"), 7);
		assert_int_equal(unit_get(q, &umpa_proto_udp, "dport"), 1000 + k);
		li = umpa_pkt_find(q, &umpa_proto_ip, 0);
		assert_true(li >= 0);
		assert_int_equal(q->data[q->l[li].off + 19], 10 + k); /* ip.dst 10.0.0.10 / .11 */
		assert_memory_equal(q->data + q->len - 3, k ? "two" : "one", 3);
	}
	assert_int_equal(unit_get(&f[5].p, &umpa_proto_icmp, "type"), 0);
	assert_int_equal(unit_get(&f[5].p, &umpa_proto_icmp, "id"), 77);
	assert_int_equal(unit_get(&f[5].p, &umpa_proto_icmp, "seq"), 5);
	assert_int_equal(unit_get(&f[5].p, &umpa_proto_ip, "ttl"), 33);
	li = umpa_pkt_find(&f[5].p, &umpa_proto_ip, 0);
	assert_true(li >= 0);
	assert_int_equal(f[5].p.data[f[5].p.l[li].off + 19], 12);
	assert_memory_equal(f[5].p.data + f[5].p.len - 9, "ping data", 9);
	free_frames(f, n);
}

/* ---- failing callbacks, strict, stop ---- */

static void test_failures(void **state)
{
	const char *in[] = {"ether{}/ip{}/udp{}", "ether{}/ip{}/udp{}", "ether{}/ip{}/udp{}"};
	struct umpa_run_opts o = {.tmpl = path("fail.lua"), .offline = path("fail.pcapng")};
	struct umpa_err e = {0};
	struct logs lg = {0};
	struct umpa_run *r;

	(void)state;
	write_input("fail.pcapng", in, 3, 1700000000, 1);
	write_text("fail.lua", "-- fail\n"
			       "on('udp', function(p)\n"
			       "  count('seen')\n"
			       "  if counter('seen') == 2 then while true do end end\n"
			       "  local t = nil; return t.x\n"
			       "end)\n");
	o.instr_limit = 1000000;
	r = load(&o, &lg);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "seen"), 3);
	assert_int_equal(umpa_run_counter(r, "errors"), 3);
	assert_int_equal(lg.n, 3);
	assert_non_null(strstr(lg.lines[0], "E "));
	assert_non_null(strstr(lg.lines[0], "fail.lua:5:"));
	assert_non_null(strstr(lg.lines[1], "fail.lua:4: instruction limit"));
	umpa_run_free(r);

	o.strict = 1;
	r = load(&o, NULL);
	assert_true(umpa_run_run(r, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "fail.lua:5:"));
	assert_int_equal(umpa_run_counter(r, "seen"), 1);
	umpa_run_free(r);

	/* stop() ends the run: the third packet is not handled */
	write_text("stop.lua", "-- stop\non('udp', function(p) if count('seen') == 2 then stop() end end)\n");
	o = (struct umpa_run_opts){.tmpl = path("stop.lua"), .offline = path("fail.pcapng")};
	r = load(&o, NULL);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "seen"), 2);
	umpa_run_free(r);

	/* timers too fast to run for a week, negative delays */
	write_text("fast.lua", "-- fast\n\nevery(0.0001, function() end)\n");
	o = (struct umpa_run_opts){.tmpl = path("fast.lua"), .offline = path("fail.pcapng")};
	assert_null(umpa_run_new(&o, &e));
	assert_non_null(strstr(e.msg, "fast.lua:3: every: 0.0001 seconds: the period is at least 0.001"));
	write_text("neg.lua", "-- neg\nafter(-1, function() end)\n");
	o.tmpl = path("neg.lua");
	assert_null(umpa_run_new(&o, &e));
	assert_non_null(strstr(e.msg, "neg.lua:2: after: -1.0 seconds: give 0 to 1e9"));

	/* load-only runs cannot send */
	write_text("send.lua", "-- send\n\nsend(ether{}/ip{})\n");
	o = (struct umpa_run_opts){.tmpl = path("send.lua")};
	assert_null(umpa_run_new(&o, &e));
	assert_non_null(strstr(e.msg, "send.lua:3: send: the template was only loaded"));
}

/* ---- files ---- */

static void test_files(void **state)
{
	const char *rd[] = {NULL}, *wr[] = {NULL};
	struct umpa_run_opts o = {
	    .tmpl = path("files.lua"), .allow_read = rd, .nallow_read = 1, .allow_write = wr, .nallow_write = 1};
	struct umpa_err e = {0};
	struct umpa_run *r;
	char buf[64] = "";
	FILE *f;

	(void)state;
	assert_int_equal(mkdir(path("in"), 0755), 0);
	assert_int_equal(mkdir(path("out"), 0755), 0);
	write_text("in/data.txt", "hello");
	write_text("secret.txt", "no");
	assert_int_equal(symlink(path("secret.txt"), path("in/link")), 0);
	assert_int_equal(symlink(path("secret.txt"), path("out/wlink")), 0);
	rd[0] = path("in");
	wr[0] = path("out");
	write_text("files.lua",
		   "-- files\n"
		   "local d = ...\n"
		   "assert(file.read(IN .. '/data.txt') == 'hello')\n"
		   "local function fails(f, ...) local ok, err = pcall(f, ...); assert(not ok); return err end\n"
		   "assert(fails(file.read, IN .. '/../secret.txt'):find('outside the %-%-allow%-read'))\n"
		   "assert(fails(file.read, IN .. '/link'):find('outside'))\n"
		   "assert(fails(file.read, OUT .. '/x'))\n"
		   "assert(file.write(OUT .. '/new.txt', 'abc') == 3)\n"
		   "assert(file.append(OUT .. '/new.txt', 'def') == 3)\n"
		   "assert(fails(file.write, OUT .. '/../escape.txt', 'x'):find('outside'))\n"
		   "assert(fails(file.write, OUT .. '/wlink', 'x'):find('outside'))\n"
		   "assert(fails(file.write, OUT .. '/nodir/x', 'x'):find('no such directory'))\n"
		   "count('ok')\n");
	/* the template learns the directories through globals set by a wrapper */
	{
		char text[2048];
		snprintf(text, sizeof(text), "-- files wrapper\nIN = '%s'\nOUT = '%s'\n", path("in"), path("out"));
		f = fopen(path("files.lua"), "r");
		assert_non_null(f);
		size_t n = strlen(text);
		n += fread(text + n, 1, sizeof(text) - n - 1, f);
		text[n] = 0;
		fclose(f);
		write_text("files.lua", text);
	}
	r = umpa_run_new(&o, &e);
	if (!r)
		fail_msg("%s", e.msg);
	assert_int_equal(umpa_run_counter(r, "ok"), 1);
	umpa_run_free(r);
	f = fopen(path("out/new.txt"), "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "abcdef");
	f = fopen(path("secret.txt"), "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "no");
	assert_int_equal(access(path("escape.txt"), F_OK), -1);

	/* no --allow-read: nothing is readable */
	o.nallow_read = 0;
	o.nallow_write = 0;
	write_text("nofile.lua", "-- nofile\n\nfile.read('/etc/passwd')\n");
	o.tmpl = path("nofile.lua");
	assert_null(umpa_run_new(&o, &e));
	assert_non_null(strstr(e.msg, "nofile.lua:3: file.read: '/etc/passwd': no directory is readable"));
}

/* ---- finding and listing ---- */

static void list_cb(void *arg, const char *name, const char *p, const char *summary)
{
	char *out = arg;

	(void)p;
	snprintf(out + strlen(out), 512 - strlen(out), "%s|%s;", name, summary);
}

static void test_find_list(void **state)
{
	struct umpa_err e = {0};
	char out[512] = "", p[512], search[1200];

	(void)state;
	assert_int_equal(mkdir(path("t1"), 0755), 0);
	assert_int_equal(mkdir(path("t2"), 0755), 0);
	write_text("t1/zeta.lua", "-- zeta: the last one\n");
	write_text("t1/alpha.lua", "-- alpha: the first one\n");
	write_text("t2/alpha.lua", "-- alpha: shadowed\n");
	write_text("t2/beta.lua", "no header\n");
	write_text("t2/notes.txt", "-- not a template\n");
	snprintf(search, sizeof(search), "%s:%s", path("t1"), path("t2"));
	assert_int_equal(umpa_run_list(search, list_cb, out, &e), 3);
	assert_string_equal(out, "alpha|the first one;beta|;zeta|the last one;");
	assert_int_equal(umpa_run_find("beta", search, p, sizeof(p), &e), 0);
	assert_string_equal(p, path("t2/beta.lua"));
	assert_int_equal(umpa_run_find("gamma", search, p, sizeof(p), &e), -UMPA_ENOENT);
	assert_non_null(strstr(e.msg, "template 'gamma': not found in"));
	assert_int_equal(umpa_run_find(path("t1/zeta.lua"), search, p, sizeof(p), &e), 0);
	assert_int_equal(umpa_run_find("./nope.lua", search, p, sizeof(p), &e), -UMPA_ENOENT);
}

/* ---- many hosts: prefixes, per-host counters, report(), iface(), params_only ---- */

/* @n ARP who-has packets for the addresses of @prefix into pcapng @name, 1 ms apart. */
static void write_whohas(const char *name, const char *prefix, long n)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);
	struct wctx c = {.w = umpa_capw_open(path(name), UMPA_CAP_PCAPNG, 1, &e), .ts = 1700000000 * UMPA_NS_PER_SEC};
	char expr[256];

	assert_non_null(L);
	assert_non_null(c.w);
	snprintf(expr, sizeof(expr),
		 "ether{src='02:aa:00:00:00:01', dst='ff:ff:ff:ff:ff:ff'}/arp{op=1, hwsrc='02:aa:00:00:00:01', "
		 "psrc='10.98.0.1', pdst='%s'}",
		 prefix);
	assert_int_equal(umpa_lua_build(L, expr, "input", (unsigned long)n, put_pkt, &c, &e), n);
	assert_int_equal(umpa_capw_close(c.w, &e), 0);
	umpa_lua_close(L);
}

static const char hosts_lua[] =
    "-- hosts: answers ARP for a prefix\n"
    "params{net = {type='ipv4net', default='10.99.0.0/16'}}\n"
    "assert(type(param.net) == 'string')\n"
    "assert(iface() == nil)\n"
    "on('arp', {['arp.opcode'] = 'request', ['arp.dst.proto_ipv4'] = param.net}, function(p)\n"
    "  local a, b, c, d = p.arp.pdst:match('(%d+)%.(%d+)%.(%d+)%.(%d+)')\n"
    "  send(reply(p, arp{hwsrc = string.format('02:00:%02x:%02x:%02x:%02x', a, b, c, d)}))\n"
    "end)\n"
    "on('arp', {['arp.dst.proto_ipv4'] = '10.99.0.0/31'}, function(p) report('low', p.arp.pdst) end)\n";

static void test_hosts(void **state)
{
	struct umpa_run_opts o = {.tmpl = path("hosts.lua"), .offline = path("who.pcapng")};
	struct umpa_err e = {0};
	struct logs lg = {0};
	struct umpa_sbuf b = {0};
	struct umpa_run *r;
	const char *sets[1];
	size_t n = 0;

	(void)state;
	write_text("hosts.lua", hosts_lua);
	write_whohas("who.pcapng", "10.99.0.0/19", 8192);
	r = load(&o, &lg);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	/* the prefix predicate took all 8,192; counters for the first 4,096 hosts only */
	assert_int_equal(umpa_run_counter(r, "tx"), 8192);
	assert_int_equal(umpa_run_counter(r, "host.10.99.0.0.tx"), 1);
	assert_int_equal(umpa_run_counter(r, "host.10.99.15.255.tx"), 1);
	assert_int_equal(umpa_run_counter(r, "host.10.99.16.0.tx"), 0);
	assert_int_equal(umpa_run_counter(r, "hosts.untracked.tx"), 4096);
	assert_int_equal(umpa_run_counters_json(r, &b), 0);
	for (const char *q = b.s; (q = strstr(q, "\"host.")); q++)
		n++;
	assert_int_equal(n, 4096);
	umpa_sbuf_free(&b);
	/* report(): result lines, in order */
	assert_int_equal(lg.n, 2);
	assert_string_equal(lg.lines[0], "R low 10.99.0.0");
	assert_string_equal(lg.lines[1], "R low 10.99.0.1");
	umpa_run_free(r);

	/* a narrower prefix takes only its addresses */
	sets[0] = "net=10.99.8.0/22";
	o.sets = sets;
	o.nsets = 1;
	r = load(&o, NULL);
	assert_int_equal(umpa_run_run(r, 0, &e), 0);
	assert_int_equal(umpa_run_counter(r, "tx"), 1024);
	assert_int_equal(umpa_run_counter(r, "host.10.99.8.0.tx"), 1);
	assert_int_equal(umpa_run_counter(r, "host.10.99.7.255.tx"), 0);
	umpa_run_free(r);

	/* ipv4net values */
	sets[0] = "net=10.99.0.0/33";
	assert_null(umpa_run_new(&o, &e));
	assert_string_equal(
	    e.msg, "--set net=10.99.0.0/33: parameter 'net' wants an IPv4 address or prefix (A.B.C.D or A.B.C.D/N)");
	sets[0] = "net=10.99.0/16";
	assert_null(umpa_run_new(&o, &e));
	sets[0] = "net=10.99.0.7";
	r = load(&o, NULL);
	umpa_run_free(r);

	/* params_only: a template that requires a parameter still lists it */
	write_text("req.lua", "-- req\nparams{target = {type='ipv4net', help='required'}}\n"
			      "if not param.target then error('target: give one') end\n"
			      "on('arp', function() end)\n");
	o = (struct umpa_run_opts){.tmpl = path("req.lua")};
	assert_null(umpa_run_new(&o, &e));
	assert_non_null(strstr(e.msg, "req.lua:3: target: give one"));
	o.params_only = 1;
	r = load(&o, NULL);
	assert_int_equal(umpa_run_param_count(r), 1);
	assert_int_equal(umpa_run_counters_json(r, &b), 0);
	assert_null(strstr(b.s, "rule.1")); /* nothing after params{} ran */
	umpa_sbuf_free(&b);
	umpa_run_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_timers),
	    cmocka_unit_test(test_rules_expect_output),
	    cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_find_list),
	    cmocka_unit_test(test_hosts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
