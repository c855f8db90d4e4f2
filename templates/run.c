/* run.c - the template runtime behind `umpa run` (templates/umpa_run.h).
 *
 * One run = one sandboxed Lua state (templates/lua.c) + one loop (sched/) +
 * one expect engine (sched/umpa_expect.h: persistent rules and exchanges) +
 * the I/O of its mode:
 *  - live: per interface a capture handle (direction "in": we never hear our
 *    own frames; promiscuous: frames to the MACs a template plays, or to any
 *    host for a bridge) whose fd is a loop source, and a link-layer injector;
 *    an interface joined by bridge() hands its frames to the bridge's
 *    impairment (sched/umpa_impair.h) and out of the other one, in C;
 *  - offline: the input file drives the virtual clock (umpa_loop_replay);
 *    the clock starts at the first packet's timestamp (so a timer armed at
 *    load time does not tick through the years since 1970).
 *
 * Every packet received or sent goes to the output file (pcapng) in the
 * order it happened, numbered from 1 as Wireshark numbers frames.  Comments
 * link them: a packet sent from a rule's callback says "reply to frame K
 * (rule N)", an exchange's answer "answer to frame K (exchange N, rtt T
 * ms)", a retransmission "exchange N: try T after timeout".  A final
 * timeout is logged, counted and marked at the start of the next frame's
 * comment ("exchange N: no answer to frame K after T tries (timed out)");
 * timeouts after the last frame and exchanges the run's end cut short ("no
 * answer to frame K before the end of the run") go into one note at the end
 * of the file (umpa_capw_note).  A received packet is written when the first of
 * these happens: something is sent while handling it, or handling ends, so
 * an answer's comment is known before it is written.
 *
 * The Lua functions a template gets are listed in umpa_run.h; reply() is
 * the binding's (templates/lua.c: in C, on the packet and spec objects).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "umpa_capfile.h"
#include "umpa_cursor.h"
#include "umpa_expect.h"
#include "umpa_impair.h"
#include "umpa_inet.h"
#include "umpa_live.h"
#include "umpa_lua.h"
#include "persona_lua.h"
#include "umpa_lua_tls.h"
#include "umpa_persona.h"
#include "umpa_protos.h"
#include "umpa_run.h"
#include "lua_internal.h"
#include "run_internal.h"

#ifndef UMPA_TEMPLATEDIR
#define UMPA_TEMPLATEDIR "/usr/local/share/umpa/templates"
#endif

/** Largest file file.read returns. */
#define RUN_FILE_MAX (16u << 20)
/** The shortest period of every() (1 ms). */
#define RUN_EVERY_MIN_NS 1000000
/** Most packets one send() may expand to. */
#define RUN_SEND_MAX 100000
/** Most simulated hosts with counters of their own (host.ADDR.tx/.rx); the
 * packets the others send are counted together in hosts.untracked.tx, so a
 * template that answers for a /8 keeps a bounded table. */
#define RUN_MAX_HOSTS 4096
/* Longest busy-poll in one go (busy_poll), and the default idle time it waits for a packet. */
#define RUN_BUSY_SLICE_NS 2000000
/* A sched_yield longer than this: the CPU is contended; busy-poll then rests this long. */
#define RUN_BUSY_CONTENDED_NS 20000
#define RUN_BUSY_BACKOFF_NS 10000000

/* Metatable of expect's request packet while it is built. */
#define MT_REQ "umpa.run.request"

/* Registry key of the run pointer in the Lua state. */
static const char run_key;

/* ------------------------------------------------------------------ */
/* counters                                                            */
/* ------------------------------------------------------------------ */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int ctr_rehash(struct umpa_run *r, size_t ncap)
{
	size_t *h = calloc(ncap, sizeof(*h));

	if (!h)
		return -1;
	for (size_t i = 0; i < r->nctr; i++) {
		size_t j = hash_str(r->ctr[i].name) & (ncap - 1);
		while (h[j])
			j = (j + 1) & (ncap - 1);
		h[j] = i + 1;
	}
	free(r->hash);
	r->hash = h;
	r->hcap = ncap;
	return 0;
}

/* The index of counter @name, created at 0 when @create; (size_t)-1 if none / no memory. */
static size_t ctr_find(struct umpa_run *r, const char *name, int create)
{
	size_t j;

	if (r->hcap) {
		j = hash_str(name) & (r->hcap - 1);
		while (r->hash[j]) {
			if (strcmp(r->ctr[r->hash[j] - 1].name, name) == 0)
				return r->hash[j] - 1;
			j = (j + 1) & (r->hcap - 1);
		}
	}
	if (!create)
		return (size_t)-1;
	if (r->nctr == r->capctr) {
		size_t nc = r->capctr ? r->capctr * 2 : 32;
		struct rt_counter *c = realloc(r->ctr, nc * sizeof(*c));
		if (!c)
			return (size_t)-1;
		r->ctr = c;
		r->capctr = nc;
	}
	if ((r->nctr + 1) * 2 > r->hcap && ctr_rehash(r, r->hcap ? r->hcap * 2 : 64) < 0)
		return (size_t)-1;
	if (!(r->ctr[r->nctr].name = strdup(name)))
		return (size_t)-1;
	r->ctr[r->nctr].v = 0;
	r->ctr[r->nctr].src = NULL;
	j = hash_str(name) & (r->hcap - 1);
	while (r->hash[j])
		j = (j + 1) & (r->hcap - 1);
	r->hash[j] = r->nctr + 1;
	return r->nctr++;
}

static void ctr_add(struct umpa_run *r, size_t i, uint64_t n)
{
	if (i != (size_t)-1)
		r->ctr[i].v += n;
}

size_t umpa_run_counters(const struct umpa_run *r, umpa_run_counter_cb cb, void *arg)
{
	for (size_t i = 0; i < r->nctr; i++)
		cb(arg, r->ctr[i].name, ctr_val(&r->ctr[i]));
	return r->nctr;
}

uint64_t umpa_run_counter(const struct umpa_run *r, const char *name)
{
	size_t i = ctr_find((struct umpa_run *)r, name, 0);

	return i == (size_t)-1 ? 0 : ctr_val(&r->ctr[i]);
}

int umpa_run_counters_json(const struct umpa_run *r, struct umpa_sbuf *b)
{
	umpa_sbuf_putc(b, '{');
	for (size_t i = 0; i < r->nctr; i++) {
		if (i)
			umpa_sbuf_putc(b, ',');
		umpa_sbuf_put_json_str(b, r->ctr[i].name, strlen(r->ctr[i].name));
		umpa_sbuf_putc(b, ':');
		umpa_sbuf_put_u64(b, ctr_val(&r->ctr[i]));
	}
	umpa_sbuf_putc(b, '}');
	return b->oom ? -UMPA_ENOMEM : 0;
}

/* Count a packet for its simulated host: "host.ADDR.tx" for the source of a
 * sent packet; "host.ADDR.rx" for the destination of a received one, only
 * for hosts that have sent (so a /16 of silence creates nothing).  The first
 * RUN_MAX_HOSTS hosts that send get counters; what later ones send is
 * counted in "hosts.untracked.tx" (what they receive is not counted). */
static void count_host(struct umpa_run *r, const struct umpa_pkt *p, int tx)
{
	char a[INET6_ADDRSTRLEN], name[INET6_ADDRSTRLEN + 16];
	const uint8_t *addr;
	struct rt_hostc *hc;
	int li, fam;
	size_t i;

	if ((li = umpa_pkt_find(p, &umpa_proto_ip, 0)) >= 0 && p->l[li].off + 20 <= p->len)
		addr = p->data + p->l[li].off + (tx ? 12 : 16), fam = AF_INET;
	else if ((li = umpa_pkt_find(p, &umpa_proto_ipv6, 0)) >= 0 && p->l[li].off + 40 <= p->len)
		addr = p->data + p->l[li].off + (tx ? 8 : 24), fam = AF_INET6;
	else if ((li = umpa_pkt_find(p, &umpa_proto_arp, 0)) >= 0 && p->l[li].off + 28 <= p->len)
		addr = p->data + p->l[li].off + (tx ? 14 : 24), fam = AF_INET;
	else
		return;
	/* a host's counters, once they exist, are found again without formatting its name */
	hc = &r->hostc[(hash_bytes(addr, fam == AF_INET ? 4 : 16) * 2 + (unsigned)tx) % RUN_HOSTC];
	if (hc->fam == fam && memcmp(hc->addr, addr, fam == AF_INET ? 4 : 16) == 0 && hc->tx == tx) {
		ctr_add(r, hc->idx, 1);
		return;
	}
	inet_ntop(fam, addr, a, sizeof(a));
	snprintf(name, sizeof(name), "host.%s.tx", a);
	if (!tx) {
		if (ctr_find(r, name, 0) == (size_t)-1)
			return; /* silent, or untracked (its rx is not told apart from others' silence) */
		snprintf(name, sizeof(name), "host.%s.rx", a);
	} else if (r->nhosts >= RUN_MAX_HOSTS && ctr_find(r, name, 0) == (size_t)-1) {
		ctr_add(r, ctr_find(r, "hosts.untracked.tx", 1), 1);
		return;
	} else if (ctr_find(r, name, 0) == (size_t)-1) {
		r->nhosts++;
	}
	i = ctr_find(r, name, 1);
	ctr_add(r, i, 1);
	if (i != (size_t)-1) {
		hc->fam = fam;
		hc->tx = tx;
		hc->idx = i;
		memcpy(hc->addr, addr, fam == AF_INET ? 4 : 16);
	}
}

/* ------------------------------------------------------------------ */
/* log                                                                 */
/* ------------------------------------------------------------------ */

static void run_log(struct umpa_run *r, enum umpa_run_level lvl, const char *line)
{
	int64_t ts = r->loop ? umpa_loop_wall_ns(r->loop) : 0;

	for (size_t i = 0; i < r->nsinks; i++)
		r->sinks[i].fn(r->sinks[i].arg, lvl, ts, line);
}

int umpa_run_add_log(struct umpa_run *r, umpa_run_log_fn fn, void *arg, struct umpa_err *e)
{
	if (r->nsinks == RUN_MAX_SINKS)
		return umpa_err_set(e, UMPA_ERANGE, "at most %d log sinks", RUN_MAX_SINKS);
	r->sinks[r->nsinks++] = (struct rt_sink){fn, arg};
	return 0;
}

/* A callback failed: count it, log it, and under --strict stop the run. */
static void cb_failed(struct umpa_run *r, const struct umpa_err *err)
{
	ctr_add(r, r->c_err, 1);
	run_log(r, UMPA_RUN_ERROR, err->msg);
	if (r->strict && !r->failed) {
		r->failed = 1;
		r->fail = *err;
		umpa_loop_fail(r->loop, err);
	}
}

/* Call the function under @nargs arguments on the stack with a fresh budget
 * (the sandbox's per-call limits); on failure count and log it.  Returns 0 or
 * -1. */
static int call_cb(struct umpa_run *r, int nargs, const char *what)
{
	struct umpa_err e = {0};

	/* a fresh budget of instructions, CPU and wall time per callback; a limit
	 * hit inside is the callback's failure, the run goes on (or --strict) */
	if (umpa_lua_pcall(r->U, nargs, 0, what, &e) < 0) {
		cb_failed(r, &e);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* output and sending                                                  */
/* ------------------------------------------------------------------ */

static void stamp(struct umpa_run *r, struct umpa_pkt *p)
{
	int64_t ns = umpa_loop_wall_ns(r->loop);

	p->ts_sec = ns / UMPA_NS_PER_SEC;
	p->ts_nsec = (uint32_t)(ns % UMPA_NS_PER_SEC);
}

/* TLS keys made since the last packet (live sessions' and tls{}'s) into a secrets block, before the packets
 * they decrypt. */
static int flush_keys(struct umpa_run *r, struct umpa_err *e)
{
	const struct umpa_lua_tls_keys *k = r->U ? umpa_lua_tls_keys(r->U) : NULL;
	int rc = 0;

	if (k && k->len > r->tls_keys_done) {
		if (r->w)
			rc = umpa_capw_secrets(r->w, UMPA_SECRETS_TLS_KEYLOG, k->text + r->tls_keys_done,
					       (uint32_t)(k->len - r->tls_keys_done), e);
		r->tls_keys_done = k->len;
	}
	if (r->keys.len) {
		if (r->w && rc >= 0)
			rc = umpa_capw_secrets(r->w, UMPA_SECRETS_TLS_KEYLOG, r->keys.s, (uint32_t)r->keys.len, e);
		umpa_sbuf_reset(&r->keys);
	}
	return rc;
}

/* Write @p with @comment (NULL: none) as the next frame. */
static int out_write(struct umpa_run *r, struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	const char *keep = p->comment;
	int rc = 0;

	r->frames++;
	if (!r->w)
		return 0;
	if (flush_keys(r, e) < 0)
		return -1;
	if (r->tnotes.len) { /* timeouts since the last frame: this frame's comment says so first */
		umpa_sbuf_reset(&r->cmt);
		umpa_sbuf_printf(&r->cmt, "%s%s%s", r->tnotes.s, comment ? "; " : "", comment ? comment : "");
		umpa_sbuf_reset(&r->tnotes);
		if (r->cmt.oom)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		comment = r->cmt.s;
	}
	p->comment = comment;
	rc = umpa_capw_write(r->w, p, e);
	p->comment = keep;
	return rc;
}

/* Write the pending received packet (once). */
static void flush_pending(struct umpa_run *r)
{
	struct umpa_err e = {0};
	struct umpa_pkt *p = r->pend;

	if (!p)
		return;
	r->pend = NULL;
	if (out_write(r, p, r->pend_comment, &e) < 0)
		cb_failed(r, &e);
	r->cur_frame = r->frames;
	r->pend_comment = NULL;
}

/* Transmit one finished packet: inject (live), count, write with its link comment. */
static int xmit(struct umpa_run *r, struct umpa_pkt *p, size_t ifidx, struct umpa_err *e)
{
	char cmt[160];
	const char *c = NULL;

	flush_pending(r);
	/* the personality of the source address shapes what the template left unset */
	if (umpa_persona_count(r->persona) &&
	    umpa_persona_shape(r->persona, p, r->cur_pkt, umpa_loop_wall_ns(r->loop), e) < 0)
		return -1;
	if (!r->offline) {
		if (ifidx >= r->nifs)
			return umpa_err_set(e, UMPA_EINVAL, "send: no interface %zu (the run has %zu)", ifidx + 1,
					    r->nifs);
		if (umpa_pkt_fit_link(p, umpa_cap_linktype(r->ifs[ifidx].cap), e) < 0)
			return -UMPA_EINVAL;
		if (umpa_inj_send(r->ifs[ifidx].inj, p, e) < 0)
			return -1;
	} else if (r->linktype >= 0 && umpa_pkt_fit_link(p, r->linktype, e) < 0) {
		return -UMPA_EINVAL;
	}
	ctr_add(r, r->c_tx, 1);
	ctr_add(r, r->c_tx_bytes, p->len);
	if (r->cur_rule) {
		ctr_add(r, r->cur_rule->out, 1);
		ctr_add(r, r->cur_rule->out_bytes, p->len);
	}
	if (!p->nlayers)
		umpa_dissect(p);
	count_host(r, p, 1);
	if (r->cur_exch && !r->w) {
		r->cur_exch->tries++;
	} else if (!r->w) {
		/* no output file: no comment to write */
	} else if (r->cur_exch) {
		struct rt_exch *x = r->cur_exch;
		if (x->tries++ == 0) {
			snprintf(cmt, sizeof(cmt), "exchange %llu: request", (unsigned long long)x->no);
		} else {
			snprintf(cmt, sizeof(cmt), "exchange %llu: try %u after timeout (first sent as frame %llu)",
				 (unsigned long long)x->no, x->tries, (unsigned long long)x->req_frame);
		}
		c = cmt;
	} else if (r->cur_frame) {
		if (r->cur_rule)
			snprintf(cmt, sizeof(cmt), "reply to frame %llu (rule %d)", (unsigned long long)r->cur_frame,
				 r->cur_rule->id);
		else
			snprintf(cmt, sizeof(cmt), "reply to frame %llu", (unsigned long long)r->cur_frame);
		c = cmt;
	}
	stamp(r, p);
	if (out_write(r, p, c, e) < 0)
		return -1;
	if (r->cur_exch && r->cur_exch->tries == 1)
		r->cur_exch->req_frame = r->frames;
	if (r->driven_out)
		r->driven_out(r->driven_arg, (unsigned)ifidx, p);
	return 0;
}

/* The expect engine's send function. */
static int ex_send(void *arg, const struct umpa_pkt *p, struct umpa_err *e)
{
	struct umpa_run *r = arg;
	struct umpa_pkt q;
	int rc;

	struct rt_exch *x = r->cur_exch;

	if (!x) { /* a retransmission, from the engine's timer */
		uint64_t h = hash_bytes(p->data, p->len);
		for (x = r->exch; x && !(x->rlen == p->len && x->rhash == h); x = x->next)
			;
		r->cur_exch = x;
	}
	umpa_pkt_init(&q);
	if ((rc = umpa_pkt_dup(&q, p, e)) == 0)
		rc = xmit(r, &q, 0, e);
	umpa_pkt_release(&q);
	r->cur_exch = NULL;
	return rc;
}

/* ------------------------------------------------------------------ */
/* receiving                                                           */
/* ------------------------------------------------------------------ */

/* Handle one received packet (live or offline): count, match, write. */
static void rx(struct umpa_run *r, struct umpa_pkt *p, const struct rt_iface *f)
{
	r->cur_if = f;
	r->cur_pkt = p;
	umpa_dissect(p);
	ctr_add(r, r->c_rx, 1);
	ctr_add(r, r->c_rx_bytes, p->len);
	count_host(r, p, 0);
	r->pend = p;
	r->pend_comment = NULL;
	r->cur_frame = r->frames + 1; /* the number it will get */
	if (r->tcp)
		umpa_run_tcp_input_(r, p, f ? (size_t)(f - r->ifs) : 0);
	umpa_expect_input(r->ex, p);
	flush_pending(r);
	r->cur_frame = 0;
	r->cur_if = NULL;
	r->cur_pkt = NULL;
}

static void bridge_rx(struct umpa_run *r, struct umpa_pkt *p, struct rt_bdir *d);

static void cap_pkt(struct umpa_pkt *p, void *arg)
{
	struct rt_iface *f = arg;

	if (f->r->stopped)
		return;
	if (f->br)
		bridge_rx(f->r, p, &f->br->dir[f->br_dir]);
	else
		rx(f->r, p, f);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * UMPA_NS_PER_SEC + ts.tv_nsec;
}

/*
 * Busy-poll: after a packet, look at every capture again (non-blocking)
 * until none has brought one for busy_ns, instead of going back to sleep at
 * once.  A packet that follows within that time (the next ping of a flood,
 * a TCP peer's next segment) is then handled without the wakeup of a
 * sleeping process (on a virtual machine, of a halted virtual CPU: tens of
 * microseconds).  Bounded: at most RUN_BUSY_SLICE_NS per call, and never
 * past the loop's next timer, after which the timers and other sources get
 * their turn (the loop calls back at once if packets are waiting); the CPU
 * is yielded between empty looks, so a task waiting for it runs, and when
 * one did and no packet followed (the yield took long: a loaded machine,
 * where a spinning process waits behind the others and a sleeping one is
 * woken ahead of them) the run sleeps between packets for
 * RUN_BUSY_BACKOFF_NS.
 */
static void busy_poll(struct umpa_run *r, struct umpa_loop *loop)
{
	int64_t now = mono_ns(), idle_end = now + r->busy_ns, slice_end = now + RUN_BUSY_SLICE_NS;
	int waited = 0;

	if (now < r->busy_off_until)
		return;
	while (now < idle_end && now < slice_end && now < umpa_loop_next_due_ns(loop) && !r->stopped && !r->failed) {
		int got = 0;
		for (size_t i = 0; i < r->nifs; i++) {
			struct umpa_err e = {0};
			int n = umpa_cap_dispatch(r->ifs[i].cap, 64, cap_pkt, &r->ifs[i], &e);
			if (n < 0) {
				umpa_err_prefix(&e, "%s: ", r->ifs[i].name);
				umpa_loop_fail(loop, &e);
				return;
			}
			got += n;
		}
		now = mono_ns();
		if (got) {
			idle_end = now + r->busy_ns;
			waited = 0;
		} else if (waited) {
			/* another task had the CPU and brought us nothing: spinning only waits
			 * behind the others (a woken task is scheduled sooner than one that used
			 * its share), so sleep between packets for a while */
			r->busy_off_until = now + RUN_BUSY_BACKOFF_NS;
			return;
		} else {
			int64_t t = now;
			sched_yield();
			now = mono_ns();
			waited = now - t > RUN_BUSY_CONTENDED_NS; /* (the peer itself, when a packet follows) */
		}
	}
}

static void cap_ready(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	struct rt_iface *f = arg;
	struct umpa_err e = {0};

	(void)fd;
	(void)what;
	int n = umpa_cap_dispatch(f->cap, 64, cap_pkt, f, &e);
	if (n < 0) {
		umpa_err_prefix(&e, "%s: ", f->name);
		umpa_loop_fail(loop, &e);
		return;
	}
	if (n > 0 && f->r->busy_ns > 0)
		busy_poll(f->r, loop);
}

/* ------------------------------------------------------------------ */
/* parameters                                                          */
/* ------------------------------------------------------------------ */

static const char *const param_types[] = {"string", "int", "number", "bool",    "ipv4",
					  "ipv6",   "mac", "list",   "ipv4net", NULL};

static int is_true(const char *v)
{
	return !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on");
}

static int is_false(const char *v)
{
	return !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off");
}

/* Check @v as @type; NULL when fine, else what it should be. */
static const char *param_check(const char *type, const char *v)
{
	unsigned char buf[16];
	char *end;

	if (!*v || !strcmp(type, "string") || !strcmp(type, "list"))
		return NULL; /* empty: unset */
	if (!strcmp(type, "int")) {
		errno = 0;
		(void)strtoll(v, &end, 0);
		return errno || *end ? "an integer" : NULL;
	}
	if (!strcmp(type, "number")) {
		double d;
		errno = 0;
		d = strtod(v, &end);
		return errno || *end || !isfinite(d) ? "a finite number" : NULL;
	}
	if (!strcmp(type, "bool"))
		return is_true(v) || is_false(v) ? NULL : "true or false";
	if (!strcmp(type, "ipv4"))
		return inet_pton(AF_INET, v, buf) == 1 ? NULL : "an IPv4 address";
	if (!strcmp(type, "ipv6"))
		return inet_pton(AF_INET6, v, buf) == 1 ? NULL : "an IPv6 address";
	if (!strcmp(type, "ipv4net")) { /* an address or a prefix: 10.99.0.0/16 */
		const char *slash = strchr(v, '/');
		char a[INET_ADDRSTRLEN];
		unsigned long bits = 0;
		if (slash) {
			errno = 0;
			bits = strtoul(slash + 1, &end, 10);
		}
		if ((slash ? (size_t)(slash - v) : strlen(v)) >= sizeof(a) ||
		    (slash && (slash[1] < '0' || slash[1] > '9' || *end || errno || bits > 32)))
			return "an IPv4 address or prefix (A.B.C.D or A.B.C.D/N)";
		snprintf(a, sizeof(a), "%.*s", (int)(slash ? (size_t)(slash - v) : strlen(v)), v);
		return inet_pton(AF_INET, a, buf) == 1 ? NULL : "an IPv4 address or prefix (A.B.C.D or A.B.C.D/N)";
	}
	if (!strcmp(type, "mac")) {
		unsigned m[6];
		int n = 0;
		return sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &n) == 6 &&
			       v[n] == 0 && strlen(v) == 17
			   ? NULL
			   : "a MAC address (aa:bb:cc:dd:ee:ff)";
	}
	return "a known type";
}

/* Check @v against @p's type and declared range: NULL when fine, else the
 * reason, "an integer" / "at most 1" (in @buf for a range). */
static const char *param_fits(const struct rt_param *p, const char *v, char *buf, size_t n)
{
	const char *bad = param_check(p->type, v);
	double d;

	if (bad || !*v || (!p->has_min && !p->has_max))
		return bad;
	d = strtod(v, NULL); /* an int's text too: strtoll accepted it, 0x.. included */
	if (!strcmp(p->type, "int"))
		d = (double)strtoll(v, NULL, 0);
	if (p->has_min && d < p->min) {
		snprintf(buf, n, "at least %.15g", p->min);
		return buf;
	}
	if (p->has_max && d > p->max) {
		snprintf(buf, n, "at most %.15g", p->max);
		return buf;
	}
	return NULL;
}

/* Push @v converted to @type's Lua value (nil for an empty non-string). */
static void param_push(lua_State *L, const char *type, const char *v)
{
	if (!strcmp(type, "string")) {
		lua_pushstring(L, v);
	} else if (!*v) {
		lua_pushnil(L);
	} else if (!strcmp(type, "int")) {
		lua_pushinteger(L, (lua_Integer)strtoll(v, NULL, 0));
	} else if (!strcmp(type, "number")) {
		lua_pushnumber(L, strtod(v, NULL));
	} else if (!strcmp(type, "bool")) {
		lua_pushboolean(L, is_true(v));
	} else if (!strcmp(type, "list")) {
		lua_Integer n = 0;
		const char *s = v;
		lua_newtable(L);
		while (*s) {
			const char *c = strchr(s, ',');
			size_t len = c ? (size_t)(c - s) : strlen(s);
			while (len && *s == ' ')
				s++, len--;
			while (len && s[len - 1] == ' ')
				len--;
			if (len) {
				lua_pushlstring(L, s, len);
				lua_rawseti(L, -2, ++n);
			}
			if (!c)
				break;
			s = c + 1;
		}
	} else {
		lua_pushstring(L, v);
	}
}

static struct rt_param *param_find(const struct umpa_run *r, const char *name)
{
	for (size_t i = 0; i < r->npar; i++)
		if (!strcmp(r->par[i].name, name))
			return &r->par[i];
	return NULL;
}

/* The value --set gave @name (marking it used), or NULL. */
static const char *set_value(struct umpa_run *r, const char *name)
{
	size_t n = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; i < r->nsets; i++)
		if (!strncmp(r->sets[i], name, n) && r->sets[i][n] == '=') {
			v = r->sets[i] + n + 1; /* the last one wins */
			r->set_used[i] = 1;
		}
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Text of the value at @idx for a parameter declaration (string, number, boolean). */
static const char *decl_text(lua_State *L, int idx, const char *name, const char *what)
{
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return "";
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? "true" : "false";
	case LUA_TNUMBER:
	case LUA_TSTRING:
		return lua_tostring(L, idx);
	default:
		luaL_error(L, "params: '%s': %s must be a string, number or boolean", name, what);
		return NULL;
	}
}

static struct umpa_run *get_run(lua_State *L)
{
	struct umpa_run *r;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &run_key);
	r = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return r;
}

/* params{name={type=, default=, help=}, ...} */
static int l_params(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	const char **names;
	size_t n = 0, i;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L, "params: keys are parameter names (strings)");
		if (lua_type(L, -1) != LUA_TTABLE)
			return luaL_error(L, "params: '%s' must be a table {type=, default=, help=}",
					  lua_tostring(L, -2));
		n++;
		lua_pop(L, 1);
	}
	names = lua_newuserdatauv(L, (n ? n : 1) * sizeof(*names), 0); /* freed by the collector */
	i = 0;
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		names[i++] = lua_tostring(L, -2);
		lua_pop(L, 1);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	lua_getglobal(L, "param");
	for (i = 0; i < n; i++) {
		const char *nm = names[i], *type, *def, *help, *v, *bad;
		struct rt_param *pp, range;
		char why[64];
		int t;

		lua_getfield(L, 1, nm);
		t = lua_gettop(L);
		lua_getfield(L, t, "type");
		type = lua_isnil(L, -1) ? "string" : lua_tostring(L, -1);
		if (!type)
			return luaL_error(L, "params: '%s': type must be a string", nm);
		for (int k = 0;; k++) {
			if (!param_types[k])
				return luaL_error(L,
						  "params: '%s': unknown type '%s' (types: string, int, number, bool, "
						  "ipv4, ipv6, mac, list, ipv4net)",
						  nm, type);
			if (!strcmp(param_types[k], type))
				break;
		}
		lua_getfield(L, t, "default");
		def = decl_text(L, -1, nm, "default");
		lua_getfield(L, t, "help");
		help = decl_text(L, -1, nm, "help");
		range = (struct rt_param){0};
		for (int k = 0; k < 2; k++) { /* min=, max=: a range for int and number parameters */
			const char *key = k ? "max" : "min";
			if (lua_getfield(L, t, key) == LUA_TNIL) {
				lua_pop(L, 1);
				continue;
			}
			if (strcmp(type, "int") && strcmp(type, "number"))
				return luaL_error(L, "params: '%s': %s= is for int and number parameters", nm, key);
			if (!lua_isnumber(L, -1) || !isfinite(lua_tonumber(L, -1)))
				return luaL_error(L, "params: '%s': %s must be a finite number", nm, key);
			*(k ? &range.has_max : &range.has_min) = 1;
			*(k ? &range.max : &range.min) = lua_tonumber(L, -1);
			lua_pop(L, 1);
		}
		if (range.has_min && range.has_max && range.min > range.max)
			return luaL_error(L, "params: '%s': min is above max", nm);
		range.type = (char *)type;
		lua_pushnil(L);
		while (lua_next(L, t)) {
			const char *k = lua_tostring(L, -2);
			if (!k || (strcmp(k, "type") && strcmp(k, "default") && strcmp(k, "help") && strcmp(k, "min") &&
				   strcmp(k, "max")))
				return luaL_error(
				    L, "params: '%s': unknown key '%s' (keys: type, default, help, min, max)", nm,
				    k ? k : "?");
			lua_pop(L, 1);
		}
		if ((bad = param_fits(&range, def, why, sizeof(why))))
			return luaL_error(L, "params: '%s': default '%s' is not %s", nm, def, bad);
		if (param_find(r, nm))
			return luaL_error(L, "params: '%s' declared twice", nm);
		v = set_value(r, nm);
		if (v && (bad = param_fits(&range, v, why, sizeof(why)))) {
			lua_pushfstring(L, "--set %s=%s: parameter '%s' wants %s", nm, v, nm, bad);
			return lua_error(L);
		}
		if (!v)
			v = def;
		if (r->npar == r->cappar) {
			size_t nc = r->cappar ? r->cappar * 2 : 16;
			struct rt_param *np = realloc(r->par, nc * sizeof(*np));
			if (!np)
				return luaL_error(L, "params: out of memory");
			r->par = np;
			r->cappar = nc;
		}
		pp = &r->par[r->npar];
		*pp = range;
		pp->name = strdup(nm);
		pp->type = strdup(type);
		pp->value = strdup(v);
		pp->def = strdup(def);
		pp->help = strdup(help);
		r->npar++;
		if (!pp->name || !pp->type || !pp->value || !pp->def || !pp->help)
			return luaL_error(L, "params: out of memory");
		param_push(L, type, v);
		lua_setfield(L, t - 1, nm); /* param[nm] */
		lua_settop(L, t - 1);
	}
	r->params_declared = 1;
	if (r->params_only) /* the rest of the template is not wanted: umpa_run_new ends it here */
		return luaL_error(L, "parameters declared");
	return 0;
}

size_t umpa_run_param_count(const struct umpa_run *r)
{
	return r->npar;
}

int umpa_run_param_get(const struct umpa_run *r, size_t i, struct umpa_run_param *out)
{
	if (i >= r->npar)
		return -UMPA_ERANGE;
	*out = (struct umpa_run_param){r->par[i].name, r->par[i].type, r->par[i].value, r->par[i].def, r->par[i].help};
	return 0;
}

int umpa_run_params_json(const struct umpa_run *r, struct umpa_sbuf *b)
{
	umpa_sbuf_putc(b, '{');
	for (size_t i = 0; i < r->npar; i++) {
		const struct rt_param *p = &r->par[i];
		if (i)
			umpa_sbuf_putc(b, ',');
		umpa_sbuf_put_json_str(b, p->name, strlen(p->name));
		umpa_sbuf_puts(b, ":{\"type\":");
		umpa_sbuf_put_json_str(b, p->type, strlen(p->type));
		umpa_sbuf_puts(b, ",\"value\":");
		umpa_sbuf_put_json_str(b, p->value, strlen(p->value));
		umpa_sbuf_puts(b, ",\"default\":");
		umpa_sbuf_put_json_str(b, p->def, strlen(p->def));
		umpa_sbuf_puts(b, ",\"help\":");
		umpa_sbuf_put_json_str(b, p->help, strlen(p->help));
		umpa_sbuf_putc(b, '}');
	}
	umpa_sbuf_putc(b, '}');
	return b->oom ? -UMPA_ENOMEM : 0;
}

void umpa_run_on_param(struct umpa_run *r, umpa_run_param_hook cb, void *arg)
{
	r->phook = cb;
	r->phook_arg = arg;
}

/* Protected: param[name] = value as its type (arguments: the param struct). */
static int set_param_lua(lua_State *L)
{
	const struct rt_param *p = lua_touserdata(L, 1);

	lua_getglobal(L, "param");
	if (lua_type(L, -1) != LUA_TTABLE)
		return 0;
	param_push(L, p->type, p->value);
	lua_setfield(L, -2, p->name);
	return 0;
}

int umpa_run_param_check(const struct umpa_run *r, const char *name, const char *value, struct umpa_err *e)
{
	const struct rt_param *p = param_find(r, name);
	const char *bad;
	char why[64];

	if (!p) {
		struct umpa_sbuf names = {0};
		int rc;
		for (size_t i = 0; i < r->npar; i++)
			umpa_sbuf_printf(&names, "%s%s", i ? ", " : "", r->par[i].name);
		rc = umpa_err_set(e, UMPA_ENOENT, "unknown parameter '%s' (parameters: %s)", name,
				  r->npar && names.s ? names.s : "none");
		umpa_sbuf_free(&names);
		return rc;
	}
	if ((bad = param_fits(p, value, why, sizeof(why))))
		return umpa_err_set(e, UMPA_EINVAL, "parameter '%s': '%s' is not %s", name, value, bad);
	return 0;
}

/* Give parameter @p the value @v (taking it) in the record and in Lua's param table. */
static int param_store(struct umpa_run *r, struct rt_param *p, char *v, struct umpa_err *e)
{
	free(p->value);
	p->value = v;
	lua_pushcfunction(r->L, set_param_lua);
	lua_pushlightuserdata(r->L, p);
	if (lua_pcall(r->L, 1, 0, 0) != LUA_OK) {
		lua_pop(r->L, 1);
		return umpa_err_set(e, UMPA_ENOMEM, "parameter '%s': out of Lua memory", p->name);
	}
	return 0;
}

/* Tell the template (on_param) that @p changed.  Returns 0, or -1 with @e set
 * when on_param raised an error (the template refuses the value). */
static int param_tell(struct umpa_run *r, const struct rt_param *p, struct umpa_err *e)
{
	if (lua_getglobal(r->L, "on_param") != LUA_TFUNCTION) {
		lua_pop(r->L, 1);
		return 0;
	}
	lua_pushstring(r->L, p->name);
	param_push(r->L, p->type, p->value);
	return umpa_lua_pcall(r->U, 2, 0, "on_param", e) < 0 ? -1 : 0;
}

int umpa_run_param_set(struct umpa_run *r, const char *name, const char *value, struct umpa_err *e)
{
	struct rt_param *p = param_find(r, name);
	struct umpa_err te = {0};
	const char *bad;
	char why[64], *v, *old;

	if (!p) {
		umpa_sbuf_reset(&r->sb);
		for (size_t i = 0; i < r->npar; i++)
			umpa_sbuf_printf(&r->sb, "%s%s", i ? ", " : "", r->par[i].name);
		return umpa_err_set(e, UMPA_ENOENT, "unknown parameter '%s' (parameters: %s)", name,
				    r->npar ? r->sb.s : "none");
	}
	if ((bad = param_fits(p, value, why, sizeof(why))))
		return umpa_err_set(e, UMPA_EINVAL, "parameter '%s': '%s' is not %s", name, value, bad);
	if (!(v = strdup(value)) || !(old = strdup(p->value))) {
		free(v);
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	}
	if (param_store(r, p, v, e) < 0) {
		free(old);
		return -UMPA_ENOMEM;
	}
	if (param_tell(r, p, &te) < 0) {
		/* the template refused the value (its on_param raised an error):
		 * the old value comes back, and the template hears of it again
		 * so its state is what it was; the refusal is the caller's error */
		struct umpa_err re = {0};
		umpa_err_set(e, UMPA_EINVAL, "parameter '%s': '%s' refused: %s", name, value, te.msg);
		if (param_store(r, p, old, &re) < 0 || param_tell(r, p, &re) < 0)
			cb_failed(r, &re);
		return -UMPA_EINVAL;
	}
	free(old);
	if (r->phook)
		r->phook(r->phook_arg, p->name, p->value);
	return 0;
}

/* ------------------------------------------------------------------ */
/* rules                                                               */
/* ------------------------------------------------------------------ */

static void rule_cb(void *arg, const struct umpa_pkt *p)
{
	struct rt_rule *ru = arg;
	struct umpa_run *r = ru->r;
	struct umpa_err e = {0};
	if (r->stopped)
		return;
	ctr_add(r, ru->in, 1);
	ctr_add(r, ru->in_bytes, p->len);
	ctr_add(r, r->c_match, 1);
	lua_rawgeti(r->L, LUA_REGISTRYINDEX, ru->ref);
	if (umpa_lua_push_pkt(r->U, p, &e) < 0) {
		lua_pop(r->L, 1);
		cb_failed(r, &e);
		return;
	}
	if (r->cur_if)
		lua_pushstring(r->L, r->cur_if->name);
	else
		lua_pushnil(r->L);
	r->cur_rule = ru;
	call_cb(r, 2, ru->what);
	r->cur_rule = NULL;
}

/* Append the field predicate for table key/value at -2/-1 to @b. */
static void pred_term(lua_State *L, luaL_Buffer *b, const char *k, int v)
{
	if (lua_type(L, v) == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, v);
		if (n == 0)
			luaL_error(L, "on: field '%s': an empty list matches nothing", k);
		luaL_addchar(b, '(');
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, v, i);
			if (i > 1)
				luaL_addstring(b, " or ");
			luaL_addstring(b, k);
			luaL_addstring(b, "==");
			if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
				luaL_error(L, "on: field '%s': values are strings or numbers", k);
			lua_pushvalue(L, -1);
			lua_insert(L, -3); /* keep the string alive below the buffer's top */
			luaL_addvalue(b);
			lua_pop(L, 1);
		}
		luaL_addchar(b, ')');
		return;
	}
	if (lua_type(L, v) == LUA_TBOOLEAN) {
		luaL_addstring(b, k);
		luaL_addstring(b, lua_toboolean(L, v) ? "!=0" : "==0");
		return;
	}
	if (lua_type(L, v) != LUA_TSTRING && lua_type(L, v) != LUA_TNUMBER)
		luaL_error(L, "on: field '%s': values are strings, numbers, booleans or lists", k);
	luaL_addstring(b, k);
	luaL_addstring(b, "==");
	lua_pushvalue(L, v);
	luaL_addvalue(b);
}

/* on([bpf,] [fields,] fn) */
static int l_on(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	int n = lua_gettop(L), fi = 0;
	const char *bpf = NULL, *fields = NULL;
	struct umpa_err e = {0};
	struct rt_rule *ru;
	char name[48];
	int rc;

	luaL_checktype(L, n, LUA_TFUNCTION);
	for (int i = 1; i < n; i++) {
		if (lua_type(L, i) == LUA_TSTRING && !bpf && !fi)
			bpf = lua_tostring(L, i);
		else if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TTABLE)
			fi = i;
		else if (!lua_isnil(L, i))
			return luaL_error(L, "on: argument %d: a BPF string, a field table or a function", i);
		if (fi && fi != i && !lua_isnil(L, i))
			return luaL_error(L, "on: too many filters");
	}
	if (bpf && !*bpf)
		bpf = NULL;
	if (fi && lua_type(L, fi) == LUA_TSTRING) {
		fields = lua_tostring(L, fi);
	} else if (fi) {
		luaL_Buffer b;
		const char **keys;
		size_t nk = 0, k = 0;
		lua_pushnil(L);
		while (lua_next(L, fi)) {
			if (lua_type(L, -2) != LUA_TSTRING)
				return luaL_error(L, "on: field table keys are field names (\"ip.dst\")");
			nk++;
			lua_pop(L, 1);
		}
		keys = lua_newuserdatauv(L, (nk ? nk : 1) * sizeof(*keys), 0);
		lua_pushnil(L);
		while (lua_next(L, fi)) {
			keys[k++] = lua_tostring(L, -2);
			lua_pop(L, 1);
		}
		qsort(keys, nk, sizeof(*keys), cmp_str); /* the same filter text every run */
		luaL_buffinit(L, &b);
		for (k = 0; k < nk; k++) {
			if (k)
				luaL_addstring(&b, " and ");
			lua_getfield(L, fi, keys[k]);
			lua_insert(L, -2); /* value below the buffer box */
			pred_term(L, &b, keys[k], -2);
		}
		luaL_pushresult(&b);
		fields = nk ? lua_tostring(L, -1) : NULL;
	}
	if (r->nrules == r->caprules) {
		size_t nc = r->caprules ? r->caprules * 2 : 16;
		struct rt_rule **nr = realloc(r->rules, nc * sizeof(*nr));
		if (!nr)
			return luaL_error(L, "on: out of memory");
		r->rules = nr;
		r->caprules = nc;
	}
	if (!(ru = calloc(1, sizeof(*ru))))
		return luaL_error(L, "on: out of memory");
	ru->r = r;
	ru->id = (int)r->nrules + 1;
	snprintf(ru->what, sizeof(ru->what), "rule %d", ru->id);
	lua_pushvalue(L, n);
	ru->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	r->rules[r->nrules++] = ru;
	snprintf(name, sizeof(name), "rule.%d.in", ru->id);
	ru->in = ctr_find(r, name, 1);
	snprintf(name, sizeof(name), "rule.%d.out", ru->id);
	ru->out = ctr_find(r, name, 1);
	snprintf(name, sizeof(name), "rule.%d.in_bytes", ru->id);
	ru->in_bytes = ctr_find(r, name, 1);
	snprintf(name, sizeof(name), "rule.%d.out_bytes", ru->id);
	ru->out_bytes = ctr_find(r, name, 1);
	if ((rc = umpa_on(r->ex, bpf, fields, rule_cb, ru, &e)) < 0)
		return luaL_error(L, "on: %s", e.msg);
	lua_pushinteger(L, ru->id);
	return 1;
}

/* ------------------------------------------------------------------ */
/* timers                                                              */
/* ------------------------------------------------------------------ */

static void timer_unlink(struct umpa_run *r, struct rt_timer *t)
{
	for (struct rt_timer **pp = &r->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	luaL_unref(r->L, LUA_REGISTRYINDEX, t->ref);
	free(t);
}

static void timer_fire(struct umpa_loop *loop, void *arg)
{
	struct rt_timer *t = arg;
	struct umpa_run *r = t->r;
	char what[48];
	int ref = t->ref;

	(void)loop;
	if (r->stopped)
		return;
	snprintf(what, sizeof(what), "timer %lld", (long long)t->id);
	if (!t->every) {
		t->t = NULL;
		t->ref = LUA_NOREF;
		timer_unlink(r, t); /* before the call: it may cancel itself, harmlessly */
		lua_rawgeti(r->L, LUA_REGISTRYINDEX, ref);
		luaL_unref(r->L, LUA_REGISTRYINDEX, ref);
	} else {
		lua_rawgeti(r->L, LUA_REGISTRYINDEX, ref);
	}
	call_cb(r, 0, what);
}

static int64_t secs_ns(lua_State *L, int idx, const char *fn, int zero_ok)
{
	lua_Number s = luaL_checknumber(L, idx);

	if (!(s >= 0) || s > 1e9 || (!zero_ok && s <= 0))
		luaL_error(L, "%s: %f seconds: give %s", fn, (double)s,
			   zero_ok ? "0 to 1e9" : "more than 0, up to 1e9");
	return (int64_t)llround(s * 1e9);
}

static int add_timer(lua_State *L, int kind, const char *fn)
{
	struct umpa_run *r = get_run(L);
	struct umpa_err e = {0};
	struct rt_timer *t;
	int64_t ns = kind == 2 ? 0 : secs_ns(L, 1, fn, kind == 0);

	if (kind == 1 && ns < RUN_EVERY_MIN_NS) /* a week offline at 1 ms is 6e8 calls already */
		return luaL_error(L, "every: %f seconds: the period is at least 0.001", lua_tonumber(L, 1));
	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (kind == 2) {
		lua_Number at = luaL_checknumber(L, 1);
		if (!(at >= 0) || at > 9e9)
			return luaL_error(L, "at: %f: give seconds since the epoch", (double)at);
		ns = (int64_t)llround(at * 1e9);
	}
	if (!(t = calloc(1, sizeof(*t))))
		return luaL_error(L, "%s: out of memory", fn);
	t->r = r;
	t->every = kind == 1;
	t->id = ++r->next_timer;
	lua_pushvalue(L, 2);
	t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	t->next = r->timers;
	r->timers = t;
	if (kind == 0)
		t->t = umpa_after(r->loop, ns, timer_fire, t, &e);
	else if (kind == 1)
		t->t = umpa_every(r->loop, ns, timer_fire, t, &e);
	else /* absolute wall time -> loop time */
		t->t = umpa_after(r->loop, ns - umpa_loop_wall_ns(r->loop), timer_fire, t, &e);
	if (!t->t) {
		timer_unlink(r, t);
		return luaL_error(L, "%s: %s", fn, e.msg);
	}
	lua_pushinteger(L, t->id);
	return 1;
}

static int l_after(lua_State *L)
{
	return add_timer(L, 0, "after");
}

static int l_every(lua_State *L)
{
	return add_timer(L, 1, "every");
}

static int l_at(lua_State *L)
{
	return add_timer(L, 2, "at");
}

/* cancel(id): stop a timer (false when it has already run or does not exist). */
static int l_cancel(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	lua_Integer id = luaL_checkinteger(L, 1);

	for (struct rt_timer *t = r->timers; t; t = t->next)
		if (t->id == id) {
			umpa_timer_cancel(t->t);
			timer_unlink(r, t);
			lua_pushboolean(L, 1);
			return 1;
		}
	lua_pushboolean(L, 0);
	return 1;
}

/* ------------------------------------------------------------------ */
/* send, expect                                                        */
/* ------------------------------------------------------------------ */

struct send_ctx {
	struct umpa_run *r;
	size_t ifidx;
	struct umpa_pkt *keep; /* expect: the one packet */
	unsigned long n;
};

static int send_one(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct send_ctx *c = arg;
	struct umpa_run *r = c->r;
	struct umpa_pkt q, *t = &q;
	int rc;

	/* the run's transmit copy, its buffer kept from packet to packet (no allocation per packet);
	 * a send from inside a send (a driven run's output fed back) gets one of its own */
	if (!r->txq_busy)
		t = &r->txq;
	else
		umpa_pkt_init(&q);
	r->txq_busy++;
	if ((rc = umpa_pkt_dup(t, p, e)) == 0)
		rc = xmit(r, t, c->ifidx, e);
	r->txq_busy--;
	if (t == &q)
		umpa_pkt_release(&q);
	c->n++;
	return rc < 0 ? rc : 0;
}

/* The interface argument at @idx of function @fn: a number (1 = the first -i), a name, or none (0). */
static size_t iface_arg(lua_State *L, struct umpa_run *r, int idx, const char *fn)
{
	if (lua_isnoneornil(L, idx))
		return 0;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Integer i = luaL_checkinteger(L, idx);
		size_t have = r->nifs ? r->nifs : r->driven_nifs ? r->driven_nifs : 1;
		if (i < 1 || (size_t)i > have)
			luaL_error(L, "%s: interface %d: the run has %d", fn, (int)i, (int)have);
		return (size_t)(i - 1);
	}
	{
		const char *nm = luaL_checkstring(L, idx);
		for (size_t i = 0; i < r->nifs; i++)
			if (!strcmp(r->ifs[i].name, nm))
				return i;
		if (r->offline)
			return 0;
		luaL_error(L, "%s: the run has no interface '%s'", fn, nm);
	}
	return 0;
}

/* send(pkt [, iface]) -> packets sent */
static int l_send(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	struct send_ctx c = {.r = r};

	luaL_checkany(L, 1);
	if (!r->loop || (!r->offline && !r->nifs))
		return luaL_error(L, "send: the template was only loaded (no -i or --offline)");
	/* by default a reply leaves where its request came in */
	c.ifidx = lua_isnoneornil(L, 2) && r->cur_if ? (size_t)(r->cur_if - r->ifs) : iface_arg(L, r, 2, "send");
	umpa_lua_build_value(L, 1, RUN_SEND_MAX, send_one, &c);
	lua_pushinteger(L, (lua_Integer)c.n);
	return 1;
}

static void exch_free(struct umpa_run *r, struct rt_exch *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else if (r->exch == x)
		r->exch = x->next;
	if (x->next)
		x->next->prev = x->prev;
	if (r->L) {
		luaL_unref(r->L, LUA_REGISTRYINDEX, x->ref_reply);
		luaL_unref(r->L, LUA_REGISTRYINDEX, x->ref_timeout);
		for (unsigned i = 0; i < x->non; i++)
			luaL_unref(r->L, LUA_REGISTRYINDEX, x->ref_on[i]);
	}
	for (unsigned i = 0; i < x->non; i++)
		umpa_pred_free(x->pred[i]);
	free(x);
}

static void exch_answer(void *arg, const struct umpa_exchange *xc)
{
	struct rt_exch *x = arg;
	struct umpa_run *r = x->r;
	struct umpa_err e = {0};
	int ref = xc->outcome >= 0 && (unsigned)xc->outcome < x->non ? x->ref_on[xc->outcome] : x->ref_reply;

	ctr_add(r, r->c_match, 1);
	if (r->pend) {
		snprintf(r->pend_buf, sizeof(r->pend_buf), "answer to frame %llu (exchange %llu, rtt %.3f ms)",
			 (unsigned long long)x->req_frame, (unsigned long long)x->no, (double)xc->rtt_ns / 1e6);
		r->pend_comment = r->pend_buf;
	}
	if (ref != LUA_NOREF && !r->stopped) {
		lua_rawgeti(r->L, LUA_REGISTRYINDEX, ref);
		if (umpa_lua_push_pkt(r->U, xc->answer, &e) < 0) {
			lua_pop(r->L, 1);
			cb_failed(r, &e);
		} else {
			lua_pushnumber(r->L, (double)xc->rtt_ns / 1e9);
			call_cb(r, 2, "expect reply");
		}
	}
	exch_free(r, x);
}

static void exch_timeout(void *arg, const struct umpa_exchange *xc)
{
	struct rt_exch *x = arg;
	struct umpa_run *r = x->r;
	struct umpa_err e = {0};
	char line[160];

	ctr_add(r, r->c_timeout, 1);
	snprintf(line, sizeof(line), "exchange %llu: no answer to frame %llu after %u tries", (unsigned long long)x->no,
		 (unsigned long long)x->req_frame, xc->tries);
	run_log(r, UMPA_RUN_INFO, line);
	if (r->w) /* marked on the next frame written, or in a note at the end */
		umpa_sbuf_printf(&r->tnotes, "%s%s (timed out)", r->tnotes.len ? "; " : "", line);
	if (x->ref_timeout != LUA_NOREF && !r->stopped) {
		lua_rawgeti(r->L, LUA_REGISTRYINDEX, x->ref_timeout);
		if (umpa_lua_push_pkt(r->U, xc->request, &e) < 0) {
			lua_pop(r->L, 1);
			cb_failed(r, &e);
		} else {
			call_cb(r, 1, "expect timeout");
		}
	}
	exch_free(r, x);
}

static int keep_one(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct send_ctx *c = arg;

	if (c->n++)
		return umpa_err_set(e, UMPA_EINVAL, "expect: send= must be one packet");
	return umpa_pkt_dup(c->keep, p, e);
}

static int opt_ref(lua_State *L, int t, const char *k)
{
	int ty = lua_getfield(L, t, k);

	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		return LUA_NOREF;
	}
	if (ty != LUA_TFUNCTION)
		luaL_error(L, "expect: %s= must be a function", k);
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* expect{send=pkt, on={{fields, fn}, ...}, on_reply=fn, on_timeout=fn, timeout=s, retries=n} -> exchange number */
static int l_expect(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	struct umpa_expect_opts o = {0};
	struct umpa_outcome oc[UMPA_EXPECT_MAX_OUTCOMES];
	struct umpa_err e = {0};
	struct send_ctx c = {.r = r};
	struct umpa_pkt *req;
	struct rt_exch *x;
	int64_t id;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (!r->loop || (!r->offline && !r->nifs))
		return luaL_error(L, "expect: the template was only loaded (no -i or --offline)");
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		const char *k = lua_tostring(L, -2);
		static const char *const ok[] = {"send", "on", "on_reply", "on_timeout", "timeout", "retries", NULL};
		int i;
		for (i = 0; ok[i] && (!k || strcmp(k, ok[i])); i++)
			;
		if (!ok[i])
			return luaL_error(
			    L, "expect: unknown key '%s' (keys: send, on, on_reply, on_timeout, timeout, retries)",
			    k ? k : "?");
		lua_pop(L, 1);
	}
	req = lua_newuserdatauv(L, sizeof(*req), 0);
	umpa_pkt_init(req);
	luaL_setmetatable(L, MT_REQ); /* a Lua error below frees its bytes too */
	lua_getfield(L, 1, "send");
	if (lua_isnil(L, -1))
		return luaL_error(L, "expect: send= is missing");
	/* build into a userdata-held packet; released below (a Lua error leaks only its bytes) */
	c.keep = req;
	umpa_lua_build_value(L, -1, 1, keep_one, &c);
	lua_pop(L, 1);
	if (c.n != 1)
		return luaL_error(L, "expect: send= builds no packet");
	lua_getfield(L, 1, "timeout");
	o.timeout_ns = lua_isnil(L, -1) ? UMPA_NS_PER_SEC : secs_ns(L, -1, "expect: timeout", 0);
	lua_getfield(L, 1, "retries");
	if (!lua_isnil(L, -1)) {
		lua_Integer n = luaL_checkinteger(L, -1);
		if (n < 0 || n > 100) {
			umpa_pkt_release(req);
			return luaL_error(L, "expect: retries=%d: give 0 to 100", (int)n);
		}
		o.retries = (unsigned)n;
	}
	lua_pop(L, 2);
	if (!(x = calloc(1, sizeof(*x)))) {
		umpa_pkt_release(req);
		return luaL_error(L, "expect: out of memory");
	}
	x->r = r;
	x->ref_reply = opt_ref(L, 1, "on_reply");
	x->ref_timeout = opt_ref(L, 1, "on_timeout");
	x->next = r->exch;
	if (r->exch)
		r->exch->prev = x;
	r->exch = x;
	if (lua_getfield(L, 1, "on") == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		if (n > UMPA_EXPECT_MAX_OUTCOMES) {
			umpa_pkt_release(req);
			return luaL_error(L, "expect: at most %d outcomes in on=", UMPA_EXPECT_MAX_OUTCOMES);
		}
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			if (lua_type(L, -1) != LUA_TTABLE || lua_rawgeti(L, -1, 1) != LUA_TSTRING ||
			    lua_rawgeti(L, -2, 2) != LUA_TFUNCTION) {
				umpa_pkt_release(req);
				return luaL_error(L, "expect: on[%d] must be {\"field conditions\", function}", (int)i);
			}
			x->ref_on[x->non] = luaL_ref(L, LUA_REGISTRYINDEX);
			x->pred[x->non] = umpa_pred_compile(lua_tostring(L, -1), &e);
			x->non++;
			if (!x->pred[x->non - 1]) {
				umpa_pkt_release(req);
				return luaL_error(L, "expect: on[%d]: %s", (int)i, e.msg);
			}
			lua_pop(L, 2);
		}
	} else if (!lua_isnil(L, -1)) {
		umpa_pkt_release(req);
		return luaL_error(L, "expect: on= must be a list of {\"field conditions\", function}");
	}
	lua_pop(L, 1);
	for (unsigned i = 0; i < x->non; i++)
		oc[i] = (struct umpa_outcome){.pred = x->pred[i], .cb = exch_answer, .arg = x};
	o.outcomes = oc;
	o.noutcomes = x->non;
	o.on_reply = exch_answer;
	o.reply_arg = x;
	o.on_timeout = exch_timeout;
	o.timeout_arg = x;
	x->no = ++r->nexch;
	x->rlen = req->len;
	x->rhash = hash_bytes(req->data, req->len);
	r->cur_exch = x;
	id = umpa_expect_add(r->ex, req, &o, &e);
	r->cur_exch = NULL;
	umpa_pkt_release(req);
	if (id < 0) {
		exch_free(r, x);
		return luaL_error(L, "expect: %s", e.msg);
	}
	lua_pushinteger(L, (lua_Integer)x->no);
	return 1;
}

/* ------------------------------------------------------------------ */
/* log, counters, time, stop                                           */
/* ------------------------------------------------------------------ */

/* Join the arguments with spaces (as print does) into one line for the
 * log sinks at @lvl: log(...) and report(...). */
static int log_args(lua_State *L, enum umpa_run_level lvl)
{
	struct umpa_run *r = get_run(L);
	int n = lua_gettop(L);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	run_log(r, lvl, lua_tostring(L, -1));
	return 0;
}

static int l_log(lua_State *L)
{
	return log_args(L, UMPA_RUN_INFO);
}

/* count(name [, n]) -> the new value */
static int l_count(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	const char *name = luaL_checkstring(L, 1);
	lua_Integer n = luaL_optinteger(L, 2, 1);
	size_t i;

	if (n < 0)
		return luaL_error(L, "count: '%s': counters only grow (n=%d)", name, (int)n);
	if (!*name || strlen(name) > 200)
		return luaL_error(L, "count: a name of 1 to 200 characters");
	if ((i = ctr_find(r, name, 1)) == (size_t)-1)
		return luaL_error(L, "count: out of memory");
	r->ctr[i].v += (uint64_t)n;
	lua_pushinteger(L, (lua_Integer)ctr_val(&r->ctr[i]));
	return 1;
}

static int l_counter(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)umpa_run_counter(get_run(L), luaL_checkstring(L, 1)));
	return 1;
}

/* now(): seconds since the epoch on the run's clock (capture time offline). */
static int l_now(lua_State *L)
{
	struct umpa_run *r = get_run(L);

	lua_pushnumber(L, r->loop ? (double)umpa_loop_wall_ns(r->loop) / 1e9 : 0.0);
	return 1;
}

/* report(...): a line of the template's result (a scan's table), to the result sink. */
static int l_report(lua_State *L)
{
	return log_args(L, UMPA_RUN_RESULT);
}

/* iface([n | name]) -> {name=, mac=, ip=, prefix=, ip6=} of a live run's interface (default the
 * first), as the kernel has it now; nil offline.  A field the interface lacks is nil. */
static int l_iface(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	struct umpa_iface ifc;
	struct umpa_err e = {0};
	char a[INET6_ADDRSTRLEN];
	int have4 = 0, have6 = 0;
	size_t i;

	if (!r->nifs) {
		lua_pushnil(L);
		return 1;
	}
	i = iface_arg(L, r, 1, "iface");
	if (umpa_iface_get(r->ifs[i].name, &ifc, &e) < 0)
		return luaL_error(L, "iface: %s", e.msg);
	lua_createtable(L, 0, 5);
	lua_pushstring(L, r->ifs[i].name);
	lua_setfield(L, -2, "name");
	if (ifc.has_mac) {
		snprintf(a, sizeof(a), "%02x:%02x:%02x:%02x:%02x:%02x", ifc.mac[0], ifc.mac[1], ifc.mac[2], ifc.mac[3],
			 ifc.mac[4], ifc.mac[5]);
		lua_pushstring(L, a);
		lua_setfield(L, -2, "mac");
	}
	for (size_t k = 0; k < ifc.naddrs && k < UMPA_IFACE_MAXADDR; k++) {
		const struct umpa_iface_addr *ad = &ifc.addrs[k];
		if (ad->family == AF_INET && !have4) {
			inet_ntop(AF_INET, ad->addr, a, sizeof(a));
			lua_pushstring(L, a);
			lua_setfield(L, -2, "ip");
			lua_pushinteger(L, ad->prefix);
			lua_setfield(L, -2, "prefix");
			have4 = 1;
		} else if (ad->family == AF_INET6 && !have6 && !(ad->addr[0] == 0xfe && (ad->addr[1] & 0xc0) == 0x80)) {
			inet_ntop(AF_INET6, ad->addr, a, sizeof(a));
			lua_pushstring(L, a);
			lua_setfield(L, -2, "ip6");
			have6 = 1;
		}
	}
	return 1;
}

static int l_stop(lua_State *L)
{
	umpa_run_stop(get_run(L));
	return 0;
}

/* mode(): "live" (-i), "offline" (--offline) or "load" (neither: --help). */
static int l_mode(lua_State *L)
{
	struct umpa_run *r = get_run(L);

	lua_pushstring(L, r->offline ? "offline" : r->nifs ? "live" : "load");
	return 1;
}

/* fail(msg): end the run as failed (umpa run exits 1 with "msg"), after the
 * current callback: for a template whose job did not get done (a transfer
 * that gave up).  The first failure wins. */
static int l_fail(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	const char *msg = luaL_checkstring(L, 1);

	if (!r->failed) {
		umpa_err_set(&r->fail, UMPA_EIO, "%s", msg);
		r->failed = 1;
	}
	umpa_run_stop(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* bridge(): two interfaces joined through an impairment each way      */
/* ------------------------------------------------------------------ */

/* Metatable of the bridge objects. */
#define MT_BRIDGE "umpa.run.bridge"

static const char *const bdir_name[2] = {"ab", "ba"};

/* A frame leaves direction @arg: on its interface (live) or into -w (offline). */
static int bridge_out(void *arg, const uint8_t *frame, size_t len, struct umpa_err *e)
{
	struct rt_bdir *d = arg;
	struct umpa_run *r = d->b->r;
	struct umpa_pkt q;
	int rc = 0;

	umpa_pkt_init(&q);
	if (!r->offline) {
		const struct rt_iface *f = &r->ifs[d->b->ifx[d->dir == 0 ? 1 : 0]];
		/* a real link carries no frame over its MTU (+ Ethernet and 802.1Q headers) */
		if (f->mtu && len > (size_t)f->mtu + 18) {
			d->too_big++;
			return umpa_err_set(e, UMPA_ERANGE, "%s: a frame of %zu bytes is over the MTU %u", f->name, len,
					    f->mtu);
		}
		umpa_pkt_attach(&q, frame, (uint32_t)len, (uint32_t)len, umpa_cap_linktype(f->cap));
		if ((rc = umpa_inj_send(f->inj, &q, e)) < 0)
			return rc;
	} else {
		umpa_pkt_attach(&q, frame, (uint32_t)len, (uint32_t)len, r->linktype >= 0 ? r->linktype : 1);
	}
	ctr_add(r, r->c_tx, 1);
	ctr_add(r, r->c_tx_bytes, len);
	if (r->w) {
		stamp(r, &q);
		rc = out_write(r, &q, bdir_name[d->dir], e);
	}
	if (rc >= 0 && r->driven_out) /* driven: out of the other virtual interface, to the driver */
		r->driven_out(r->driven_arg, (unsigned)d->b->ifx[d->dir == 0 ? 1 : 0], &q);
	return rc;
}

/* ---- offload repair ---- */

/* The Internet checksum of a TCP or UDP PDU at @pdu (@n bytes, its checksum
 * field at @csum_off already zero) under the IPv4 or IPv6 header at @l3. */
static uint16_t l4_csum(const uint8_t *l3, int v6, uint8_t proto, const uint8_t *pdu, uint32_t n)
{
	uint8_t ph[8] = {0, 0, 0, 0, 0, 0, 0, proto};
	uint32_t s;

	if (v6) {
		s = umpa_csum_add(0, l3 + 8, 32);
		ph[0] = (uint8_t)(n >> 24), ph[1] = (uint8_t)(n >> 16), ph[2] = (uint8_t)(n >> 8), ph[3] = (uint8_t)n;
		s = umpa_csum_add(s, ph, 8);
	} else {
		s = umpa_csum_add(0, l3 + 12, 8);
		ph[4] = 0, ph[5] = proto, ph[6] = (uint8_t)(n >> 8), ph[7] = (uint8_t)n;
		s = umpa_csum_add(s, ph + 4, 4);
	}
	return umpa_csum_fold(umpa_csum_add(s, pdu, n));
}

/* Set the 16-bit word at @at to @v (big-endian). */
static void put16(uint8_t *at, uint16_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

/*
 * What a NIC would have done to a frame a kernel handed to a veth with its
 * offloads on: a TCP segment larger than the outgoing MTU (GSO/TSO) is cut
 * into MSS-sized segments (IPv4 id and total length, IPv6 payload length,
 * TCP sequence numbers and FIN/PSH/CWR as the kernel's segmentation sets
 * them), and a TCP or UDP checksum left unfinished (CHECKSUM_PARTIAL) is
 * computed.  Each resulting frame goes to the impairment.  Returns 1 when
 * it handled the frame, 0 to let it through as captured (nothing to do,
 * not TCP/UDP over IP, not dissectable).
 */
static int bridge_repair(struct umpa_run *r, const struct umpa_pkt *p, struct rt_bdir *d)
{
	struct umpa_pkt *q = &r->fix;
	const struct rt_iface *out = &r->ifs[d->b->ifx[d->dir == 0 ? 1 : 0]];
	struct umpa_err e = {0};
	struct umpa_cur c;
	int li, l3, v6, tcp;
	uint32_t off3, off4, hl4, end, n4, mss, seq = 0, at;
	uint16_t id = 0, have = 0;
	uint8_t *s;

	if (umpa_pkt_copy_from(q, p->data, p->len, &e) < 0)
		return 0;
	q->linktype = p->linktype;
	umpa_dissect(q);
	if ((li = umpa_pkt_find(q, &umpa_proto_tcp, 0)) >= 0)
		tcp = 1;
	else if ((li = umpa_pkt_find(q, &umpa_proto_udp, 0)) >= 0)
		tcp = 0;
	else
		return 0;
	if ((l3 = umpa_inet_l3(q, (unsigned)li)) < 0 || umpa_inet_fragment(q, (unsigned)li))
		return 0;
	v6 = q->l[l3].proto == &umpa_proto_ipv6;
	off3 = q->l[l3].off;
	off4 = q->l[li].off;
	hl4 = q->l[li].hlen;
	end = off4 + q->l[li].len; /* the IP length's end: padding after it is not ours */
	if (end > q->len || hl4 < (tcp ? 20u : 8u) || end < off4 + hl4 || off4 < off3 + (v6 ? 40u : 20u))
		return 0;
	n4 = end - off4;
	umpa_cur_init(&c, q->data, q->len);
	if (umpa_cur_be16_at(&c, off4 + (tcp ? 16 : 6), &have) < 0)
		return 0;
	s = q->data;
	if (!tcp || !out->mtu || end - off3 <= out->mtu) {
		uint16_t want;
		put16(s + off4 + (tcp ? 16 : 6), 0);
		want = l4_csum(s + off3, v6, tcp ? 6 : 17, s + off4, n4);
		if (!tcp && want == 0)
			want = 0xffff;
		if (want == have || (!tcp && have == 0)) /* right, or UDP without a checksum */
			return 0;
		put16(s + off4 + (tcp ? 16 : 6), want);
		d->repaired++;
		umpa_impair_input(d->m, s, end, &e);
		return 1;
	}
	/* TCP over the MTU: segments of mss payload bytes */
	if (out->mtu <= (off4 - off3) + hl4 + 8)
		return 0;
	mss = out->mtu - (off4 - off3) - hl4;
	if (umpa_cur_be32_at(&c, off4 + 4, &seq) < 0 || (!v6 && umpa_cur_be16_at(&c, off3 + 4, &id) < 0))
		return 0;
	if (r->seg_cap < off4 + hl4 + mss) {
		uint8_t *b = realloc(r->seg, off4 + hl4 + mss);
		if (!b)
			return 0;
		r->seg = b;
		r->seg_cap = off4 + hl4 + mss;
	}
	d->repaired++;
	for (at = off4 + hl4; at < end; at += mss) {
		uint32_t chunk = end - at < mss ? end - at : mss, len = off4 + hl4 + chunk,
			 sq = seq + (at - off4 - hl4);
		uint8_t *g = r->seg, flags = s[off4 + 13];
		memcpy(g, s, off4 + hl4);
		memcpy(g + off4 + hl4, s + at, chunk);
		if (v6) {
			put16(g + off3 + 4, (uint16_t)(len - off3 - 40));
		} else {
			put16(g + off3 + 2, (uint16_t)(len - off3));
			put16(g + off3 + 4, (uint16_t)(id + (at - off4 - hl4) / mss));
			put16(g + off3 + 10, 0);
			put16(g + off3 + 10,
			      umpa_csum_fold(umpa_csum_add(0, g + off3, off4 - off3 > 60 ? 20 : off4 - off3)));
		}
		g[off4 + 4] = (uint8_t)(sq >> 24), g[off4 + 5] = (uint8_t)(sq >> 16);
		g[off4 + 6] = (uint8_t)(sq >> 8), g[off4 + 7] = (uint8_t)sq;
		if (at + chunk < end)
			flags &= (uint8_t)~0x09; /* FIN and PSH only on the last */
		if (at > off4 + hl4)
			flags &= (uint8_t)~0x80; /* CWR only on the first */
		g[off4 + 13] = flags;
		put16(g + off4 + 16, 0);
		put16(g + off4 + 16, l4_csum(g + off3, v6, 6, g + off4, len - off4));
		d->segmented++;
		umpa_impair_input(d->m, g, len, &e);
	}
	return 1;
}

/* A frame came in on a bridged interface (or from the offline input: direction ab). */
static void bridge_rx(struct umpa_run *r, struct umpa_pkt *p, struct rt_bdir *d)
{
	struct umpa_err e = {0};

	ctr_add(r, r->c_rx, 1);
	ctr_add(r, r->c_rx_bytes, p->len);
	if (r->w && out_write(r, p, NULL, &e) < 0)
		cb_failed(r, &e);
	if (d->b->repair && bridge_repair(r, p, d))
		return;
	if (umpa_impair_input(d->m, p->data, p->len, &e) < 0)
		cb_failed(r, &e);
}

static struct rt_bridge *check_bridge(lua_State *L)
{
	struct rt_bridge **b = luaL_checkudata(L, 1, MT_BRIDGE);

	return *b;
}

/* A number field of a configuration table, or its default. */
static double cfg_num(lua_State *L, int t, const char *k, double def)
{
	double v = def;

	if (lua_getfield(L, t, k) != LUA_TNIL) {
		int ok;
		v = (double)lua_tonumberx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "bridge:set: '%s' wants a number, not %s", k, luaL_typename(L, -1));
	}
	lua_pop(L, 1);
	return v;
}

/* br:set(dir, {delay=, jitter=, ...}): replace one direction's configuration
 * ("ab", "ba", or "both"); keys not given take their defaults. */
static int l_bridge_set(lua_State *L)
{
	static const char *const keys[] = {"delay",        "jitter",   "delay_corr", "distribution", "loss",
					   "loss_corr",    "ge_p",     "ge_r",       "ge_1h",        "ge_1k",
					   "dup",          "dup_corr", "corrupt",    "corrupt_corr", "reorder",
					   "reorder_corr", "gap",      "rate",       "limit",        NULL};
	struct rt_bridge *b = check_bridge(L);
	const char *dn = luaL_checkstring(L, 2);
	struct umpa_impair_cfg c;
	struct umpa_err e = {0};
	double gap, limit;
	int from, to;

	if (!strcmp(dn, "ab"))
		from = to = 0;
	else if (!strcmp(dn, "ba"))
		from = to = 1;
	else if (!strcmp(dn, "both"))
		from = 0, to = 1;
	else
		return luaL_error(L, "bridge:set: direction '%s': give ab, ba or both", dn);
	luaL_checktype(L, 3, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 3)) {
		size_t i;
		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L, "bridge:set: keys are names");
		for (i = 0; keys[i] && strcmp(keys[i], lua_tostring(L, -2)); i++)
			;
		if (!keys[i])
			return luaL_error(L, "bridge:set: unknown key '%s'", lua_tostring(L, -2));
		lua_pop(L, 1);
	}
	umpa_impair_cfg_init(&c);
	c.delay = cfg_num(L, 3, "delay", c.delay);
	c.jitter = cfg_num(L, 3, "jitter", c.jitter);
	c.delay_corr = cfg_num(L, 3, "delay_corr", c.delay_corr);
	c.loss = cfg_num(L, 3, "loss", c.loss);
	c.loss_corr = cfg_num(L, 3, "loss_corr", c.loss_corr);
	c.ge_p = cfg_num(L, 3, "ge_p", c.ge_p);
	c.ge_r = cfg_num(L, 3, "ge_r", c.ge_r);
	c.ge_1h = cfg_num(L, 3, "ge_1h", c.ge_1h);
	c.ge_1k = cfg_num(L, 3, "ge_1k", c.ge_1k);
	c.dup = cfg_num(L, 3, "dup", c.dup);
	c.dup_corr = cfg_num(L, 3, "dup_corr", c.dup_corr);
	c.corrupt = cfg_num(L, 3, "corrupt", c.corrupt);
	c.corrupt_corr = cfg_num(L, 3, "corrupt_corr", c.corrupt_corr);
	c.reorder = cfg_num(L, 3, "reorder", c.reorder);
	c.reorder_corr = cfg_num(L, 3, "reorder_corr", c.reorder_corr);
	c.rate = cfg_num(L, 3, "rate", c.rate);
	gap = cfg_num(L, 3, "gap", 0);
	limit = cfg_num(L, 3, "limit", c.limit);
	if (!(gap >= 0 && gap <= 1e6) || !(limit >= 0 && limit <= 1e7))
		return luaL_error(L, "bridge:set: gap and limit are counts of frames");
	c.gap = (unsigned)gap;
	c.limit = (unsigned)limit;
	if (lua_getfield(L, 3, "distribution") != LUA_TNIL &&
	    umpa_impair_dist_parse(lua_tostring(L, -1), &c.dist, &e) < 0)
		return luaL_error(L, "bridge:set: %s", e.msg);
	lua_pop(L, 1);
	if (umpa_impair_cfg_check(&c, &e) < 0)
		return luaL_error(L, "bridge:set: %s", e.msg);
	for (int i = from; i <= to; i++)
		umpa_impair_set(b->dir[i].m, &c, &e);
	return 0;
}

/* br:repair(on): do what the senders' offloads left undone (on by default). */
static int l_bridge_repair(lua_State *L)
{
	struct rt_bridge *b = check_bridge(L);

	luaL_checktype(L, 2, LUA_TBOOLEAN);
	b->repair = lua_toboolean(L, 2);
	return 0;
}

/* br:seed(n): restart both directions' random streams (ab from n, ba from n + 1). */
static int l_bridge_seed(lua_State *L)
{
	struct rt_bridge *b = check_bridge(L);
	lua_Integer n = luaL_checkinteger(L, 2);

	umpa_impair_seed(b->dir[0].m, (uint64_t)n);
	umpa_impair_seed(b->dir[1].m, (uint64_t)n + 1);
	return 0;
}

/* Register DIR.NAME as a view of one of the impairment's counters. */
static int bridge_ctr(struct umpa_run *r, int dir, const char *name, const uint64_t *src)
{
	char full[64];
	size_t i;

	snprintf(full, sizeof(full), "%s.%s", bdir_name[dir], name);
	if ((i = ctr_find(r, full, 1)) == (size_t)-1)
		return -1;
	r->ctr[i].src = src;
	return 0;
}

/* bridge(a, b) -> object with :set(dir, cfg) and :seed(n).  a and b are
 * interfaces (numbers or names); their frames then go to the bridge, not to
 * the rules.  Offline, every input frame goes a -> b and what leaves is
 * written to -w; with no I/O (--help) the object only checks settings. */
static int l_bridge(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	struct rt_bridge *b, **ud;
	struct umpa_err e = {0};
	size_t ia = 0, ib = 0;

	if (r->nifs) {
		if (r->nifs < 2)
			return luaL_error(L, "bridge: needs two interfaces (-i A -i B), the run has %d", (int)r->nifs);
		ia = iface_arg(L, r, 1, "bridge");
		ib = iface_arg(L, r, 2, "bridge");
		if (ia == ib)
			return luaL_error(L, "bridge: interface %s with itself", r->ifs[ia].name);
		if (r->ifs[ia].br || r->ifs[ib].br)
			return luaL_error(L, "bridge: %s is already bridged", r->ifs[r->ifs[ia].br ? ia : ib].name);
	} else if (r->driven_out) {
		if (r->driven_nifs < 2)
			return luaL_error(L,
					  "bridge: a link needs two interfaces, the driven run has %d (umpa replay: "
					  "--both-sides)",
					  (int)(r->driven_nifs ? r->driven_nifs : 1));
		if (r->bridges)
			return luaL_error(L, "bridge: driven, one bridge only");
		ia = iface_arg(L, r, 1, "bridge");
		ib = iface_arg(L, r, 2, "bridge");
		if (ia == ib)
			return luaL_error(L, "bridge: interface %d with itself", (int)ia + 1);
	} else if (r->offline && r->bridges) {
		return luaL_error(L, "bridge: offline, one bridge only (the input goes a -> b)");
	}
	if (!(b = calloc(1, sizeof(*b))))
		return luaL_error(L, "bridge: out of memory");
	b->r = r;
	b->repair = 1;
	b->ifx[0] = ia;
	b->ifx[1] = ib;
	b->next = r->bridges;
	r->bridges = b;
	for (int d = 0; d < 2; d++) {
		struct rt_bdir *x = &b->dir[d];
		const struct umpa_impair_stats *st;
		x->b = b;
		x->dir = d;
		if (!(x->m = umpa_impair_new(r->loop, bridge_out, x, &e)))
			return luaL_error(L, "bridge: %s", e.msg);
		st = umpa_impair_stats(x->m);
		if (bridge_ctr(r, d, "forwarded", &st->forwarded) < 0 ||
		    bridge_ctr(r, d, "dropped", &st->dropped) < 0 || bridge_ctr(r, d, "delayed", &st->delayed) < 0 ||
		    bridge_ctr(r, d, "duplicated", &st->duplicated) < 0 ||
		    bridge_ctr(r, d, "corrupted", &st->corrupted) < 0 ||
		    bridge_ctr(r, d, "reordered", &st->reordered) < 0 ||
		    bridge_ctr(r, d, "rate_queued", &st->rate_queued) < 0 ||
		    bridge_ctr(r, d, "rate_dropped", &st->rate_dropped) < 0 ||
		    bridge_ctr(r, d, "queued", &st->queued) < 0 || bridge_ctr(r, d, "bytes", &st->bytes) < 0 ||
		    bridge_ctr(r, d, "too_big", &x->too_big) < 0 ||
		    bridge_ctr(r, d, "out_errors", &st->out_errors) < 0 ||
		    bridge_ctr(r, d, "repaired", &x->repaired) < 0 || bridge_ctr(r, d, "segmented", &x->segmented) < 0)
			return luaL_error(L, "bridge: out of memory");
	}
	umpa_impair_seed(b->dir[1].m, 2);
	if (r->nifs) {
		r->ifs[ia].br = r->ifs[ib].br = b;
		r->ifs[ia].br_dir = 0;
		r->ifs[ib].br_dir = 1;
	}
	ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	*ud = b;
	luaL_setmetatable(L, MT_BRIDGE);
	return 1;
}

static void bridges_free(struct umpa_run *r)
{
	while (r->bridges) {
		struct rt_bridge *b = r->bridges;
		r->bridges = b->next;
		for (int d = 0; d < 2; d++)
			b->dir[d].m = umpa_impair_free(b->dir[d].m);
		free(b);
	}
}

/* ------------------------------------------------------------------ */
/* files, only under the allowed directories                           */
/* ------------------------------------------------------------------ */

static int under(const char *path, char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(dirs[i]);
		if (!strncmp(path, dirs[i], l) && (path[l] == '/' || path[l] == 0 || (l == 1 && dirs[i][0] == '/')))
			return 1;
	}
	return 0;
}

/* The real path of @path for writing: its directory resolved, its last
 * component kept (it may not exist yet). */
static int real_for_write(const char *path, char *out)
{
	char dir[PATH_MAX], rdir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t dl = slash ? (size_t)(slash - path) : 0;

	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || dl >= sizeof(dir))
		return -1;
	if (slash) {
		memcpy(dir, path, dl);
		dir[dl] = 0;
		if (!dl)
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	if (!realpath(dir, rdir))
		return -1;
	if (snprintf(out, PATH_MAX, "%s/%s", strcmp(rdir, "/") ? rdir : "", base) >= PATH_MAX)
		return -1;
	{ /* an existing symlink as the last component: where it points */
		char t[PATH_MAX];
		if (realpath(out, t))
			strcpy(out, t);
	}
	return 0;
}

static int l_file_read(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	const char *path = luaL_checkstring(L, 1);
	char real[PATH_MAX];
	luaL_Buffer b;
	FILE *f;
	size_t n, total = 0;

	if (!r->nallow_r)
		return luaL_error(L, "file.read: '%s': no directory is readable (give --allow-read DIR)", path);
	if (!realpath(path, real))
		return luaL_error(L, "file.read: '%s': %s", path, strerror(errno));
	if (!under(real, r->allow_r, r->nallow_r))
		return luaL_error(L, "file.read: '%s' is outside the --allow-read directories", path);
	if (!(f = fopen(real, "rb")))
		return luaL_error(L, "file.read: '%s': %s", path, strerror(errno));
	luaL_buffinit(L, &b);
	do {
		char *p = luaL_prepbuffer(&b);
		n = fread(p, 1, LUAL_BUFFERSIZE, f);
		luaL_addsize(&b, n);
		total += n;
	} while (n == LUAL_BUFFERSIZE && total <= RUN_FILE_MAX);
	if (ferror(f) || total > RUN_FILE_MAX) {
		int big = total > RUN_FILE_MAX;
		fclose(f);
		return luaL_error(L, "file.read: '%s': %s", path, big ? "larger than 16 MiB" : "read error");
	}
	fclose(f);
	luaL_pushresult(&b);
	return 1;
}

static int file_put(lua_State *L, const char *mode, const char *fn)
{
	struct umpa_run *r = get_run(L);
	const char *path = luaL_checkstring(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	char real[PATH_MAX];
	FILE *f;
	int bad;

	if (!r->nallow_w)
		return luaL_error(L, "%s: '%s': no directory is writable (give --allow-write DIR)", fn, path);
	if (real_for_write(path, real) < 0)
		return luaL_error(L, "%s: '%s': no such directory", fn, path);
	if (!under(real, r->allow_w, r->nallow_w))
		return luaL_error(L, "%s: '%s' is outside the --allow-write directories", fn, path);
	if (!(f = fopen(real, mode)))
		return luaL_error(L, "%s: '%s': %s", fn, path, strerror(errno));
	bad = fwrite(data, 1, n, f) != n;
	bad |= fclose(f) != 0;
	if (bad)
		return luaL_error(L, "%s: '%s': write error", fn, path);
	lua_pushinteger(L, (lua_Integer)n);
	return 1;
}

static int l_file_write(lua_State *L)
{
	return file_put(L, "wb", "file.write");
}

static int l_file_append(lua_State *L)
{
	return file_put(L, "ab", "file.append");
}

/* ------------------------------------------------------------------ */
/* finding and listing templates                                       */
/* ------------------------------------------------------------------ */

static const char *search_path(const char *search)
{
	const char *env;

	if (search)
		return search;
	if ((env = getenv("UMPA_TEMPLATE_PATH")) && *env)
		return env;
	return UMPA_TEMPLATEDIR;
}

static int is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int umpa_run_find(const char *tmpl, const char *search, char *out, size_t n, struct umpa_err *e)
{
	const char *s = search_path(search);
	size_t tl = strlen(tmpl);

	if (!*tmpl)
		return umpa_err_set(e, UMPA_EINVAL, "empty template name");
	if (strchr(tmpl, '/') || (tl > 4 && !strcmp(tmpl + tl - 4, ".lua"))) {
		if (!is_file(tmpl))
			return umpa_err_set(e, UMPA_ENOENT, "template '%s': %s", tmpl,
					    access(tmpl, F_OK) ? strerror(errno) : "not a regular file");
		if (snprintf(out, n, "%s", tmpl) >= (int)n)
			return umpa_err_set(e, UMPA_ERANGE, "template '%s': path too long", tmpl);
		return 0;
	}
	while (*s) {
		const char *c = strchr(s, ':');
		size_t dl = c ? (size_t)(c - s) : strlen(s);
		if (dl && snprintf(out, n, "%.*s/%s.lua", (int)dl, s, tmpl) < (int)n && is_file(out))
			return 0;
		if (!c)
			break;
		s = c + 1;
	}
	return umpa_err_set(e, UMPA_ENOENT, "template '%s': not found in %s (umpa run --list shows them)", tmpl,
			    search_path(search));
}

struct list_ent {
	char name[128];
	char path[PATH_MAX];
	char summary[256];
};

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct list_ent *)a)->name, ((const struct list_ent *)b)->name);
}

/* The summary of a template: its first line "-- NAME: SUMMARY" (or "-- SUMMARY"). */
static void read_summary(const char *path, char *out, size_t n)
{
	char line[512], *s;
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && !strncmp(line, "--", 2)) {
		s = line + 2;
		while (*s == ' ' || *s == '-')
			s++;
		{
			char *colon = strstr(s, ": ");
			if (colon && !memchr(s, ' ', (size_t)(colon - s)))
				s = colon + 2;
		}
		s[strcspn(s, "\r\n")] = 0;
		snprintf(out, n, "%.200s", s);
	}
	fclose(f);
}

int umpa_run_list(const char *search, umpa_run_list_cb cb, void *arg, struct umpa_err *e)
{
	const char *s = search_path(search);
	struct list_ent *v = NULL;
	size_t nv = 0, cap = 0;

	while (*s) {
		const char *c = strchr(s, ':');
		size_t dl = c ? (size_t)(c - s) : strlen(s);
		char dir[PATH_MAX];
		DIR *d;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "%.*s", (int)dl, s);
		if (dl && (d = opendir(dir))) {
			while ((de = readdir(d))) {
				size_t l = strlen(de->d_name);
				struct list_ent *x;
				size_t k;
				if (l <= 4 || l - 4 >= sizeof(x->name) || strcmp(de->d_name + l - 4, ".lua"))
					continue;
				for (k = 0;
				     k < nv && (strlen(v[k].name) != l - 4 || strncmp(v[k].name, de->d_name, l - 4));
				     k++)
					;
				if (k < nv)
					continue; /* found earlier in the path */
				if (nv == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct list_ent *nvv = realloc(v, nc * sizeof(*nvv));
					if (!nvv) {
						closedir(d);
						free(v);
						return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
					}
					v = nvv;
					cap = nc;
				}
				x = &v[nv];
				snprintf(x->name, sizeof(x->name), "%.*s", (int)(l - 4), de->d_name);
				if (snprintf(x->path, sizeof(x->path), "%s/%s", dir, de->d_name) >=
				    (int)sizeof(x->path))
					continue;
				if (!is_file(x->path))
					continue;
				read_summary(x->path, x->summary, sizeof(x->summary));
				nv++;
			}
			closedir(d);
		}
		if (!c)
			break;
		s = c + 1;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_ent);
	for (size_t i = 0; i < nv; i++)
		cb(arg, v[i].name, v[i].path, v[i].summary);
	free(v);
	return (int)nv;
}

/* ------------------------------------------------------------------ */
/* the run                                                             */
/* ------------------------------------------------------------------ */

static int l_include(lua_State *L);

static int req_gc(lua_State *L)
{
	umpa_pkt_release(lua_touserdata(L, 1));
	return 0;
}

/* The run's clock for personalities (ns since the epoch; virtual offline). */
static int64_t run_now(void *arg)
{
	struct umpa_run *r = arg;

	return r->loop ? umpa_loop_wall_ns(r->loop) : 0;
}

struct umpa_persona_set *umpa_run_personas(struct umpa_run *r)
{
	return r->persona;
}

static int open_api(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"params", l_params}, {"on", l_on},         {"expect", l_expect},   {"after", l_after},
	    {"every", l_every},   {"at", l_at},         {"cancel", l_cancel},   {"send", l_send},
	    {"log", l_log},       {"count", l_count},   {"counter", l_counter}, {"now", l_now},
	    {"stop", l_stop},     {"report", l_report}, {"iface", l_iface},     {"include", l_include},
	    {"bridge", l_bridge}, {"fail", l_fail},     {"mode", l_mode},       {NULL, NULL}};
	static const luaL_Reg bridge_fns[] = {
	    {"set", l_bridge_set}, {"seed", l_bridge_seed}, {"repair", l_bridge_repair}, {NULL, NULL}};
	static const luaL_Reg file_fns[] = {
	    {"read", l_file_read}, {"write", l_file_write}, {"append", l_file_append}, {NULL, NULL}};
	static const luaL_Reg req_mt[] = {{"__gc", req_gc}, {NULL, NULL}};

	lua_pushlightuserdata(L, lua_touserdata(L, 1));
	lua_rawsetp(L, LUA_REGISTRYINDEX, &run_key);
	umpa_lua_new_mt_(L, MT_BRIDGE, NULL);
	luaL_newlib(L, bridge_fns);
	lua_setfield(L, -2, "__index");
	umpa_lua_new_mt_(L, MT_REQ, req_mt);
	lua_pop(L, 2);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, fns, 0);
	umpa_persona_lua_open_(L, &((struct umpa_run *)lua_touserdata(L, 1))->plua);
	luaL_newlib(L, file_fns);
	lua_setfield(L, -2, "file");
	lua_newtable(L);
	lua_setfield(L, -2, "param");
	umpa_run_tcp_open_(L);
	return 0;
}

static char *dup_real(const char *dir, const char *opt, struct umpa_err *e)
{
	char real[PATH_MAX], *s;
	struct stat st;

	if (!realpath(dir, real) || stat(real, &st) < 0) {
		umpa_err_set(e, UMPA_ENOENT, "%s %s: %s", opt, dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		umpa_err_set(e, UMPA_EINVAL, "%s %s: not a directory", opt, dir);
		return NULL;
	}
	if (!(s = strdup(real)))
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	return s;
}

/* Offline: the timestamp of the first packet of @path (0 for an empty file). */
static int first_ts(const char *path, int64_t *ts, int *linktype, struct umpa_err *e)
{
	struct umpa_capr *rd = umpa_capr_open(path, e);
	struct umpa_pkt p;
	int rc;

	if (!rd)
		return -1;
	*linktype = umpa_capr_linktype(rd);
	umpa_pkt_init(&p);
	rc = umpa_capr_next(rd, &p, e);
	*ts = rc > 0 ? p.ts_sec * UMPA_NS_PER_SEC + p.ts_nsec : 0;
	umpa_capr_close(rd);
	return rc < 0 ? rc : 0;
}

static int open_io(struct umpa_run *r, const struct umpa_run_opts *o, struct umpa_err *e)
{
	if (o->driven_out && !o->offline) {
		r->linktype = o->driven_linktype ? o->driven_linktype : 1;
		if (umpa_loop_set_now(r->loop, o->driven_start_ns, e) < 0)
			return -1;
		r->start_ns = o->driven_start_ns;
	}
	if (o->offline) {
		int64_t ts;
		if (first_ts(o->offline, &ts, &r->linktype, e) < 0)
			return -1;
		if (umpa_loop_set_now(r->loop, ts, e) < 0)
			return -1;
		r->start_ns = ts;
		if (!(r->rd = umpa_capr_open(o->offline, e)))
			return -1;
	}
	for (size_t i = 0; i < o->nifaces; i++) {
		struct rt_iface *f = &r->ifs[r->nifs];
		struct umpa_cap_opts co;
		if (r->nifs == RUN_MAX_IFACES)
			return umpa_err_set(e, UMPA_ERANGE, "at most %d interfaces", RUN_MAX_IFACES);
		for (size_t k = 0; k < r->nifs; k++)
			if (!strcmp(r->ifs[k].name, o->ifaces[i]))
				return umpa_err_set(e, UMPA_EINVAL, "-i %s given twice", o->ifaces[i]);
		f->r = r;
		snprintf(f->name, sizeof(f->name), "%s", o->ifaces[i]);
		r->nifs++;
		umpa_cap_opts_init(&co);
		co.dir = UMPA_DIR_IN;
		/* frames to the MACs the template plays (or, bridging, to any host) */
		co.promisc = 1;
		if (!(f->cap = umpa_cap_open(o->ifaces[i], &co, e)))
			return -1;
		if (!(f->inj = umpa_inj_open(o->ifaces[i], 2, e)))
			return -1;
		if (!(f->src = umpa_loop_add_fd(r->loop, umpa_cap_fd(f->cap), UMPA_FD_READ, cap_ready, f, e)))
			return -1;
		if (i == 0)
			r->linktype = umpa_cap_linktype(f->cap);
		{
			struct umpa_iface ifc;
			struct umpa_err ie = {0};
			if (umpa_iface_get(o->ifaces[i], &ifc, &ie) == 0)
				f->mtu = ifc.mtu;
		}
	}
	if (o->out && !(r->w = umpa_capw_open(o->out, UMPA_CAP_PCAPNG, r->linktype >= 0 ? r->linktype : 1, e)))
		return -1;
	return 0;
}

struct umpa_run *umpa_run_new(const struct umpa_run_opts *o, struct umpa_err *e)
{
	struct umpa_run *r = calloc(1, sizeof(*r));
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!r) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	r->linktype = -1;
	umpa_pkt_init(&r->fix);
	umpa_pkt_init(&r->txq);
	r->strict = o->strict;
	r->params_only = o->params_only;
	r->offline = o->offline != NULL || o->driven_out != NULL;
	r->driven_out = o->driven_out;
	r->driven_arg = o->driven_arg;
	r->busy_ns = o->busy_poll_us > 0 ? (int64_t)o->busy_poll_us * 1000 : 0;
	r->driven_nifs = o->driven_out ? (o->driven_nifs ? o->driven_nifs : 1) : 0;
	if ((o->offline || o->driven_out) && o->nifaces) {
		umpa_err_set(e, UMPA_EINVAL, "give -i or --offline, not both");
		goto fail;
	}
	if (umpa_run_find(o->tmpl, o->search, r->path, sizeof(r->path), e) < 0)
		goto fail;
	snprintf(r->search, sizeof(r->search), "%s", search_path(o->search));
	if (o->keylog) {
		int fd = open(o->keylog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || !(r->keylog = fdopen(fd, "a"))) {
			umpa_err_set(e, UMPA_EIO, "--keylog %s: %s", o->keylog, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
	}
	if (o->nallow_read > 16 || o->nallow_write > 16) {
		umpa_err_set(e, UMPA_ERANGE, "at most 16 --allow-read and 16 --allow-write directories");
		goto fail;
	}
	for (size_t i = 0; i < o->nallow_read; i++, r->nallow_r++)
		if (!(r->allow_r[i] = dup_real(o->allow_read[i], "--allow-read", e)))
			goto fail;
	for (size_t i = 0; i < o->nallow_write; i++, r->nallow_w++)
		if (!(r->allow_w[i] = dup_real(o->allow_write[i], "--allow-write", e)))
			goto fail;
	if (o->nsets) {
		if (!(r->sets = calloc(o->nsets, sizeof(*r->sets))) || !(r->set_used = calloc(o->nsets, 1))) {
			umpa_err_set(e, UMPA_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < o->nsets; i++, r->nsets++) {
			const char *eq = strchr(o->sets[i], '=');
			if (!eq || eq == o->sets[i]) {
				umpa_err_set(e, UMPA_EINVAL, "--set %s: give KEY=VALUE", o->sets[i]);
				goto fail;
			}
			if (!(r->sets[i] = strdup(o->sets[i]))) {
				umpa_err_set(e, UMPA_ENOMEM, "out of memory");
				goto fail;
			}
		}
	}
	r->c_rx = ctr_find(r, "rx", 1);
	r->c_tx = ctr_find(r, "tx", 1);
	r->c_match = ctr_find(r, "matches", 1);
	r->c_timeout = ctr_find(r, "timeouts", 1);
	r->c_err = ctr_find(r, "errors", 1);
	r->c_rx_bytes = ctr_find(r, "rx.bytes", 1);
	r->c_tx_bytes = ctr_find(r, "tx.bytes", 1);
	if (r->c_err == (size_t)-1 || r->c_tx_bytes == (size_t)-1) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		goto fail;
	}
	if (!(r->loop = umpa_loop_new_flags(r->offline ? UMPA_CLOCK_VIRTUAL : UMPA_CLOCK_LIVE, UMPA_LOOP_OWN_TIMER, e)))
		goto fail;
	if (!(r->ex = umpa_expect_new(r->loop, ex_send, r, e)))
		goto fail;
	if (!(r->U = umpa_lua_open(e)))
		goto fail;
	r->L = umpa_lua_state(r->U);
	umpa_lua_set_limits(r->U, o->mem_limit, o->instr_limit);
	if (!(r->persona = umpa_persona_set_new())) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		goto fail;
	}
	r->plua = (struct umpa_persona_lua){.set = r->persona, .U = r->U, .now = run_now, .arg = r};
	lua_pushcfunction(r->L, open_api);
	lua_pushlightuserdata(r->L, r);
	if (lua_pcall(r->L, 1, 0, 0) != LUA_OK) {
		lua_pop(r->L, 1);
		umpa_err_set(e, UMPA_ENOMEM, "out of memory for the template's state");
		goto fail;
	}
	umpa_lua_push_reply_(r->L); /* reply(p, layer...): templates/lua.c */
	lua_setglobal(r->L, "reply");
	if (open_io(r, o, e) < 0)
		goto fail;
	if (!(f = fopen(r->path, "rb"))) {
		umpa_err_set(e, UMPA_EIO, "%s: %s", r->path, strerror(errno));
		goto fail;
	}
	{
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			char *t = len + n > RUN_FILE_MAX ? NULL : realloc(text, len + n + 1);
			if (!t) {
				fclose(f);
				free(text);
				umpa_err_set(e, UMPA_ERANGE, "%s: too large (16 MiB at most)", r->path);
				goto fail;
			}
			text = t;
			memcpy(text + len, buf, n);
			len += n;
		}
		fclose(f);
	}
	if (umpa_lua_run(r->U, text ? text : "", len, r->path, e) < 0) {
		if (!(r->params_only && r->params_declared)) {
			free(text);
			goto fail;
		}
		*e = (struct umpa_err){0}; /* stopped at params{}, as asked */
	}
	free(text);
	for (size_t i = 0; i < r->nsets; i++)
		if (!r->set_used[i]) {
			size_t kl = (size_t)(strchr(r->sets[i], '=') - r->sets[i]);
			umpa_sbuf_reset(&r->sb);
			for (size_t k = 0; k < r->npar; k++)
				umpa_sbuf_printf(&r->sb, "%s%s", k ? ", " : "", r->par[k].name);
			umpa_err_set(e, UMPA_ENOENT, "--set %s: %s has no parameter '%.*s' (parameters: %s)",
				     r->sets[i], r->path, (int)kl, r->sets[i], r->npar ? r->sb.s : "none");
			goto fail;
		}
	return r;
fail:
	umpa_run_free(r);
	return NULL;
}

static int stopped_p(void *arg)
{
	return ((struct umpa_run *)arg)->stopped;
}

struct replay_ctx {
	struct umpa_run *r;
	int64_t end_ns; /* INT64_MAX: none */
};

static int replay_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct replay_ctx *c = arg;
	struct umpa_run *r = c->r;

	if (r->stopped || r->failed)
		goto stop;
	if (p->ts_sec * UMPA_NS_PER_SEC + p->ts_nsec > c->end_ns)
		return 1;
	if (r->bridges)
		bridge_rx(r, p, &r->bridges->dir[0]);
	else
		rx(r, p, NULL);
stop:
	if (r->failed) {
		*e = r->fail;
		return -(e->code ? e->code : UMPA_EINVAL);
	}
	return r->stopped ? 1 : 0;
}

static int run_loop(struct umpa_run *r, int64_t duration_ns, struct umpa_err *e);

/* Close the output: its write errors are the run's when nothing failed before. */
static int close_out(struct umpa_run *r, int rc, struct umpa_err *e)
{
	struct umpa_err we = {0};

	/* exchanges that never ended (the input or the run ended first) and
	 * timeouts after the last frame: logged, and one note at the end of
	 * the output, so every exchange's end is in the file */
	for (struct rt_exch *x = r->exch; x; x = x->next) {
		char line[160];
		snprintf(line, sizeof(line), "exchange %llu: no answer to frame %llu before the end of the run (%u %s)",
			 (unsigned long long)x->no, (unsigned long long)x->req_frame, x->tries,
			 x->tries == 1 ? "try" : "tries");
		run_log(r, UMPA_RUN_INFO, line);
		if (r->w)
			umpa_sbuf_printf(&r->tnotes, "%s%s", r->tnotes.len ? "; " : "", line);
	}
	if (r->w && r->tnotes.len && !r->tnotes.oom &&
	    umpa_capw_note(r->w, umpa_loop_wall_ns(r->loop), r->tnotes.s, &we) < 0 && rc >= 0) {
		if (e)
			*e = we;
		rc = -(we.code ? we.code : UMPA_EIO);
	}
	umpa_sbuf_reset(&r->tnotes);
	if (r->w && umpa_capw_close(r->w, &we) < 0 && rc >= 0) {
		if (e)
			*e = we;
		rc = -(we.code ? we.code : UMPA_EIO);
	}
	r->w = NULL;
	return rc;
}

int umpa_run_run(struct umpa_run *r, int64_t duration_ns, struct umpa_err *e)
{
	return close_out(r, run_loop(r, duration_ns, e), e);
}

static int run_loop(struct umpa_run *r, int64_t duration_ns, struct umpa_err *e)
{
	int rc;

	if (!r->offline && !r->nifs)
		return umpa_err_set(e, UMPA_EINVAL, "nothing to run on: give -i IF or --offline FILE");
	if (r->driven_out && !r->rd)
		return umpa_err_set(e, UMPA_EINVAL, "a driven run is run by its driver (umpa_run_feed)");
	if (r->offline) {
		struct replay_ctx c = {.r = r, .end_ns = duration_ns > 0 ? r->start_ns + duration_ns : INT64_MAX};
		int64_t n = umpa_loop_replay(r->loop, r->rd, replay_pkt, &c, e);
		if (n < 0)
			return r->failed ? (*e = r->fail, -r->fail.code) : (int)n;
		if (duration_ns > 0 && !r->stopped) {
			rc = umpa_loop_advance_to(r->loop, r->start_ns + duration_ns, e);
			if (rc < 0)
				return rc;
		} else if (!r->stopped && r->bridges) {
			/* without --duration, the frames a bridge still holds leave at their times */
			int64_t last = umpa_impair_last_due(r->bridges->dir[0].m);
			if (last > umpa_loop_now_ns(r->loop) && (rc = umpa_loop_advance_to(r->loop, last, e)) < 0)
				return rc;
		}
	} else {
		int64_t dl = duration_ns > 0 ? umpa_loop_now_ns(r->loop) + duration_ns : UMPA_NEVER;
		rc = umpa_loop_run_until(r->loop, stopped_p, r, dl, e);
		if (rc < 0)
			return rc;
	}
	if (r->failed) {
		*e = r->fail;
		return -(r->fail.code ? r->fail.code : UMPA_EINVAL);
	}
	return 0;
}

int umpa_run_feed(struct umpa_run *r, unsigned ifidx, struct umpa_pkt *p, struct umpa_err *e)
{
	if (!r->driven_out)
		return umpa_err_set(e, UMPA_EINVAL, "umpa_run_feed: the run is not driven");
	if (ifidx >= r->driven_nifs)
		return umpa_err_set(e, UMPA_EINVAL, "umpa_run_feed: no interface %u (the run has %u)", ifidx + 1,
				    r->driven_nifs);
	if (!r->stopped) {
		if (p->ts_sec == 0 && p->ts_nsec == 0) {
			int64_t now = umpa_loop_wall_ns(r->loop);
			p->ts_sec = now / UMPA_NS_PER_SEC;
			p->ts_nsec = (uint32_t)(now % UMPA_NS_PER_SEC);
		}
		if (r->bridges && (ifidx == r->bridges->ifx[0] || ifidx == r->bridges->ifx[1]))
			bridge_rx(r, p, &r->bridges->dir[ifidx == r->bridges->ifx[0] ? 0 : 1]);
		else
			rx(r, p, NULL);
	}
	return 0;
}

void umpa_run_stop(struct umpa_run *r)
{
	r->stopped = 1;
	if (r->loop)
		umpa_loop_break(r->loop);
}

struct umpa_loop *umpa_run_loop(struct umpa_run *r)
{
	return r->loop;
}

const char *umpa_run_path(const struct umpa_run *r)
{
	return r->path;
}

struct umpa_run *umpa_run_free(struct umpa_run *r)
{
	struct umpa_err e = {0};

	if (!r)
		return NULL;
	if (r->tcp)
		umpa_run_tcp_free_(r);
	r->ex = umpa_expect_free(r->ex);
	while (r->exch)
		exch_free(r, r->exch);
	while (r->timers) {
		struct rt_timer *t = r->timers;
		r->timers = t->next;
		free(t);
	}
	for (size_t i = 0; i < r->nrules; i++)
		free(r->rules[i]);
	free(r->rules);
	r->U = umpa_lua_close(r->U);
	r->L = NULL;
	bridges_free(r);
	umpa_pkt_release(&r->fix);
	umpa_pkt_release(&r->txq);
	free(r->seg);
	r->persona = umpa_persona_set_free(r->persona);
	for (size_t i = 0; i < r->nifs; i++) {
		umpa_loop_remove_fd(r->ifs[i].src);
		umpa_cap_close(r->ifs[i].cap);
		umpa_inj_close(r->ifs[i].inj);
	}
	r->loop = umpa_loop_free(r->loop);
	if (r->w)
		umpa_capw_close(r->w, &e);
	umpa_capr_close(r->rd);
	for (size_t i = 0; i < r->nctr; i++)
		free(r->ctr[i].name);
	free(r->ctr);
	free(r->hash);
	for (size_t i = 0; i < r->npar; i++) {
		free(r->par[i].name);
		free(r->par[i].type);
		free(r->par[i].value);
		free(r->par[i].def);
		free(r->par[i].help);
	}
	free(r->par);
	for (size_t i = 0; i < r->nsets; i++)
		free(r->sets[i]);
	free(r->sets);
	free(r->set_used);
	for (size_t i = 0; i < r->nallow_r; i++)
		free(r->allow_r[i]);
	for (size_t i = 0; i < r->nallow_w; i++)
		free(r->allow_w[i]);
	umpa_sbuf_free(&r->sb);
	umpa_sbuf_free(&r->tnotes);
	umpa_sbuf_free(&r->cmt);
	umpa_sbuf_free(&r->keys);
	if (r->keylog)
		fclose(r->keylog);
	free(r);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* include(), and the runtime's internal API (run_internal.h)         */
/* ------------------------------------------------------------------ */

/* include(name): run NAME.lua (a shipped template, or a library under lib/) from the template search path in
 * this state and return what it returns.  Its params{} and rules join the including template's. */
static int l_include(lua_State *L)
{
	struct umpa_run *r = get_run(L);
	const char *name = luaL_checkstring(L, 1), *s = r->search;
	char path[PATH_MAX];

	if (!*name || name[0] == '/' || strstr(name, "..") ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") != strlen(name))
		return luaL_error(L, "include: '%s': give a template name (letters, digits, '-', '_', '/')", name);
	if (r->include_depth >= 8)
		return luaL_error(L, "include: '%s': nested too deep (8 levels)", name);
	while (*s) {
		const char *c = strchr(s, ':');
		size_t dl = c ? (size_t)(c - s) : strlen(s);
		if (dl && snprintf(path, sizeof(path), "%.*s/%s.lua", (int)dl, s, name) < (int)sizeof(path) &&
		    is_file(path)) {
			luaL_Buffer b;
			FILE *f = fopen(path, "rb");
			size_t n, total = 0;
			int st;
			if (!f)
				return luaL_error(L, "include: %s: %s", path, strerror(errno));
			luaL_buffinit(L, &b);
			do {
				char *p = luaL_prepbuffer(&b);
				n = fread(p, 1, LUAL_BUFFERSIZE, f);
				luaL_addsize(&b, n);
				total += n;
			} while (n == LUAL_BUFFERSIZE && total <= RUN_FILE_MAX);
			fclose(f);
			if (total > RUN_FILE_MAX)
				return luaL_error(L, "include: %s: too large (16 MiB at most)", path);
			luaL_pushresult(&b);
			lua_pushfstring(L, "@%s", path);
			st = luaL_loadbufferx(L, lua_tostring(L, -2), lua_rawlen(L, -2), lua_tostring(L, -1), "t");
			if (st != LUA_OK)
				return lua_error(L);
			r->include_depth++;
			st = lua_pcall(L, 0, 1, 0);
			r->include_depth--;
			if (st != LUA_OK)
				return lua_error(L); /* raised again as it was */
			return 1;
		}
		if (!c)
			break;
		s = c + 1;
	}
	return luaL_error(L, "include: '%s': not found in %s", name, r->search);
}

struct umpa_run *umpa_run_get_(lua_State *L)
{
	return get_run(L);
}

int umpa_run_xmit_(struct umpa_run *r, struct umpa_pkt *p, size_t ifidx, struct umpa_err *e)
{
	return xmit(r, p, ifidx, e);
}

void umpa_run_cb_failed_(struct umpa_run *r, const struct umpa_err *e)
{
	cb_failed(r, e);
}

int umpa_run_call_(struct umpa_run *r, int nargs, const char *what)
{
	return call_cb(r, nargs, what);
}

void umpa_run_count_(struct umpa_run *r, const char *name, uint64_t n)
{
	ctr_add(r, ctr_find(r, name, 1), n);
}

void umpa_run_log_(struct umpa_run *r, enum umpa_run_level lvl, const char *line)
{
	run_log(r, lvl, line);
}

void umpa_run_keylog_(struct umpa_run *r, const char *line)
{
	size_t n = strlen(line);

	if (r->keylog) {
		fwrite(line, 1, n, r->keylog);
		fputc('\n', r->keylog);
		fflush(r->keylog);
	}
	if (r->w) {
		umpa_sbuf_put(&r->keys, line, n);
		umpa_sbuf_putc(&r->keys, '\n');
	}
}

int umpa_run_readable_(const struct umpa_run *r, const char *path)
{
	char real[PATH_MAX];

	return realpath(path, real) && under(real, r->allow_r, r->nallow_r);
}
