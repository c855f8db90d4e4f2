/* loop.c - the event loop: one timer heap, a live (libevent) and a virtual clock.
 *
 * Timers of both clocks live in one binary min-heap keyed by (due, seq), seq
 * being a counter taken each time a timer is armed, so ties run in arming
 * order and a run is deterministic.  Timer records come from a pool that
 * grows in chunks and is never shrunk: arming and cancelling (the expect
 * engine's per-request timeouts) do not call malloc once the pool is warm.
 *
 * The live clock does not give each timer its own libevent event: the loop
 * runs what is due itself, then asks libevent to wait for fds and signals
 * with one evtimer set to the earliest due time (EVLOOP_ONCE).  The base is
 * created with EVENT_BASE_FLAG_PRECISE_TIMER (epoll with timerfd: microsecond
 * waits instead of epoll_wait's millisecond).  Our times come from
 * clock_gettime(CLOCK_MONOTONIC) (a vDSO call, tens of ns), libevent's are
 * relative to the same clock.
 *
 * A live loop sets the calling thread's timer slack to 1 us (Linux
 * PR_SET_TIMERSLACK; the default 50 us would make every wake-up late).
 *
 * With UMPA_LOOP_OWN_TIMER (umpa_loop_new_flags; umpa run uses it) the base
 * is made without the precise timer, whose timerfd libevent re-arms before
 * every epoll_wait (a system call per wake-up: per packet for a responder),
 * and the loop keeps a timerfd of its own, armed at the earliest due time
 * (absolute, CLOCK_MONOTONIC) only when that changes; a wake-up for a packet
 * is then one epoll_wait.  libevent's own timers (evhttp's) tick in
 * milliseconds there; the loop's timers keep their microseconds.
 *
 * The virtual clock never waits: it pops the earliest timer, sets the time
 * to its due time and runs it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/timerfd.h>
#endif

#include "sched_internal.h"
#include "umpa_capfile.h"
#include "umpa_packet.h"
#include "umpa_sched.h"

enum timer_state_ {
	T_FREE_ = 0,
	T_ARMED_,     /* in the heap */
	T_RUNNING_,   /* its callback runs now */
	T_CANCELLED_, /* cancelled while running: released when the callback returns */
};

struct umpa_timer {
	struct umpa_loop *loop;
	int64_t due;
	uint64_t seq;
	int64_t period; /* 0: one-shot */
	umpa_timer_cb cb;
	void *arg;
	size_t hidx; /* position in the heap while ARMED */
	int state;
	struct umpa_timer *next_free;
};

#define TIMER_CHUNK_ 128
struct timer_chunk_ {
	struct timer_chunk_ *next;
	struct umpa_timer t[TIMER_CHUNK_];
};

struct umpa_fdsrc {
	struct umpa_loop *loop;
	struct event *ev;
	umpa_fd_cb cb;
	void *arg;
	int fd;
	struct umpa_fdsrc *prev, *next;
};

struct sighook_ {
	struct umpa_loop *loop;
	struct event *ev;
	umpa_signal_cb cb;
	void *arg;
	struct sighook_ *next;
};

struct umpa_loop {
	enum umpa_clock clock;
	int64_t vnow; /* virtual time */
	uint64_t seq;
	/* heap */
	struct umpa_timer **heap;
	size_t nheap, capheap;
	/* timer pool */
	struct timer_chunk_ *chunks;
	struct umpa_timer *free_timers;
	/* live */
	struct event_base *base;
	struct event *wake;
	int tfd;              /* UMPA_LOOP_OWN_TIMER: the loop's timerfd, or -1 */
	struct event *tfd_ev; /* its read event */
	int64_t tfd_due;      /* what it is armed for (absolute ns), 0: nothing pending */
	struct umpa_fdsrc *fds;
	size_t nfds;
	struct sighook_ *sigs;
	int signalled;
	/* sources (closed by umpa_loop_free) */
	struct umpa_source **srcs;
	size_t nsrcs, capsrcs;
	/* run state */
	int running;
	int brk;
	int failed;
	struct umpa_err ferr;
	int (*done)(void *);
	void *done_arg;
	int done_hit;
};

static int64_t mono_ns_(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * UMPA_NS_PER_SEC + ts.tv_nsec;
}

int64_t umpa_spin_until_(int64_t t_ns)
{
	int64_t now;

	while ((now = mono_ns_()) < t_ns)
		;
	return now;
}

/* ---- heap ---- */

static int before_(const struct umpa_timer *a, const struct umpa_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_place_(struct umpa_loop *l, size_t i, struct umpa_timer *t)
{
	l->heap[i] = t;
	t->hidx = i;
}

static void heap_up_(struct umpa_loop *l, size_t i)
{
	struct umpa_timer *t = l->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before_(t, l->heap[p]))
			break;
		heap_place_(l, i, l->heap[p]);
		i = p;
	}
	heap_place_(l, i, t);
}

static void heap_down_(struct umpa_loop *l, size_t i)
{
	struct umpa_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && before_(l->heap[c + 1], l->heap[c]))
			c++;
		if (!before_(l->heap[c], t))
			break;
		heap_place_(l, i, l->heap[c]);
		i = c;
	}
	heap_place_(l, i, t);
}

static int heap_push_(struct umpa_loop *l, struct umpa_timer *t, struct umpa_err *e)
{
	if (l->nheap == l->capheap) {
		size_t nc = l->capheap ? l->capheap * 2 : 64;
		struct umpa_timer **nh = realloc(l->heap, nc * sizeof(*nh));
		if (!nh)
			return umpa_err_set(e, UMPA_ENOMEM, "timer heap: out of memory");
		l->heap = nh;
		l->capheap = nc;
	}
	t->seq = l->seq++;
	t->state = T_ARMED_;
	l->heap[l->nheap++] = t;
	heap_up_(l, l->nheap - 1);
	return 0;
}

static void heap_remove_(struct umpa_loop *l, struct umpa_timer *t)
{
	size_t i = t->hidx;
	struct umpa_timer *last = l->heap[--l->nheap];

	if (i < l->nheap) {
		heap_place_(l, i, last);
		if (i > 0 && before_(last, l->heap[(i - 1) / 2]))
			heap_up_(l, i);
		else
			heap_down_(l, i);
	}
}

/* ---- timer pool ---- */

static struct umpa_timer *timer_get_(struct umpa_loop *l, struct umpa_err *e)
{
	struct umpa_timer *t;

	if (!l->free_timers) {
		struct timer_chunk_ *c = calloc(1, sizeof(*c));
		if (!c) {
			umpa_err_set(e, UMPA_ENOMEM, "timer: out of memory");
			return NULL;
		}
		c->next = l->chunks;
		l->chunks = c;
		for (size_t i = TIMER_CHUNK_; i-- > 0;) {
			c->t[i].next_free = l->free_timers;
			l->free_timers = &c->t[i];
		}
	}
	t = l->free_timers;
	l->free_timers = t->next_free;
	memset(t, 0, sizeof(*t));
	t->loop = l;
	return t;
}

static void timer_put_(struct umpa_loop *l, struct umpa_timer *t)
{
	t->state = T_FREE_;
	t->cb = NULL;
	t->next_free = l->free_timers;
	l->free_timers = t;
}

/* ---- the loop ---- */

static void wake_cb_(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

#ifdef __linux__
static void tfd_cb_(evutil_socket_t fd, short what, void *arg)
{
	struct umpa_loop *l = arg;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0) { /* EAGAIN: nothing expired (re-armed meanwhile) */
	}
	l->tfd_due = 0; /* fired: the next due time arms it again */
}
#endif

struct umpa_loop *umpa_loop_new(enum umpa_clock clock, struct umpa_err *e)
{
	return umpa_loop_new_flags(clock, 0, e);
}

struct umpa_loop *umpa_loop_new_flags(enum umpa_clock clock, unsigned flags, struct umpa_err *e)
{
	struct umpa_loop *l;

	if (clock != UMPA_CLOCK_LIVE && clock != UMPA_CLOCK_VIRTUAL) {
		umpa_err_set(e, UMPA_EINVAL, "loop: unknown clock %d", (int)clock);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		umpa_err_set(e, UMPA_ENOMEM, "loop: out of memory");
		return NULL;
	}
	l->clock = clock;
	l->tfd = -1;
	if (clock == UMPA_CLOCK_LIVE) {
		struct event_config *cfg = event_config_new();
#ifdef __linux__
		if (flags & UMPA_LOOP_OWN_TIMER)
			l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
#endif
		if (cfg) {
			if (l->tfd < 0) /* (no timerfd of our own: libevent's precise one) */
				event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
			event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
			l->base = event_base_new_with_config(cfg);
			event_config_free(cfg);
		}
		if (l->base)
			l->wake = evtimer_new(l->base, wake_cb_, l);
#ifdef __linux__
		if (l->wake && l->tfd >= 0 &&
		    (!(l->tfd_ev = event_new(l->base, l->tfd, EV_READ | EV_PERSIST, tfd_cb_, l)) ||
		     event_add(l->tfd_ev, NULL) < 0)) {
			umpa_err_set(e, UMPA_EIO, "loop: libevent could not watch the loop's timerfd");
			return umpa_loop_free(l);
		}
#endif
		if (!l->wake) {
			umpa_err_set(e, UMPA_EIO, "loop: libevent could not create an event base");
			return umpa_loop_free(l);
		}
#ifdef PR_SET_TIMERSLACK
		/* Linux lets a sleeping thread's wake-up slip by its timer slack,
		 * 50 us by default: as much as the whole spin margin.  1 us. */
		prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
#endif
	}
	return l;
}

static void break_sig_(struct umpa_loop *l, int signum, void *arg);

/*
 * Free signal hook @p h.  Freeing a libevent signal event puts back the
 * action the signal had before (for SIGINT and SIGTERM: death).  When a
 * signal has already broken @p l through umpa_loop_break_on_signal, the
 * program is shutting down: it still writes its files and counts, and
 * atexit handlers run after that.  A second SIGTERM then (timeout(1) sends
 * one to the command and one to its process group; a second Ctrl-C) must
 * not kill it half-way with status 143, so the signals of break hooks stay
 * ignored from here on.  The signal is blocked while the action changes
 * hands, so none arrives in between.
 */
static void sighook_free_(struct umpa_loop *l, struct sighook_ *h)
{
	int signum = (int)event_get_signal(h->ev);
	int keep = l->signalled && h->cb == break_sig_;
	sigset_t one, old;

	if (keep) {
		sigemptyset(&one);
		sigaddset(&one, signum);
		keep = sigprocmask(SIG_BLOCK, &one, &old) == 0;
	}
	event_free(h->ev);
	if (keep) {
		struct sigaction ign;
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		(void)sigaction(signum, &ign, NULL);
		(void)sigprocmask(SIG_SETMASK, &old, NULL); /* one that came meanwhile is discarded */
	}
	free(h);
}

struct umpa_loop *umpa_loop_free(struct umpa_loop *l)
{
	if (!l)
		return NULL;
	while (l->nsrcs)
		umpa_source_close(l->srcs[l->nsrcs - 1]);
	free(l->srcs);
	while (l->fds)
		umpa_loop_remove_fd(l->fds);
	while (l->sigs) {
		struct sighook_ *s = l->sigs;
		l->sigs = s->next;
		sighook_free_(l, s);
	}
	if (l->wake)
		event_free(l->wake);
	if (l->tfd_ev)
		event_free(l->tfd_ev);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->base)
		event_base_free(l->base);
	while (l->chunks) {
		struct timer_chunk_ *c = l->chunks;
		l->chunks = c->next;
		free(c);
	}
	free(l->heap);
	free(l);
	return NULL;
}

enum umpa_clock umpa_loop_clock(const struct umpa_loop *l)
{
	return l->clock;
}

int64_t umpa_loop_now_ns(struct umpa_loop *l)
{
	return l->clock == UMPA_CLOCK_VIRTUAL ? l->vnow : mono_ns_();
}

int64_t umpa_loop_next_due_ns(const struct umpa_loop *l)
{
	return l->nheap ? l->heap[0]->due : INT64_MAX;
}

int64_t umpa_loop_wall_ns(struct umpa_loop *l)
{
	struct timespec ts;

	if (l->clock == UMPA_CLOCK_VIRTUAL)
		return l->vnow;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * UMPA_NS_PER_SEC + ts.tv_nsec;
}

void umpa_loop_break(struct umpa_loop *l)
{
	l->brk = 1;
	if (l->base)
		event_base_loopbreak(l->base);
}

int umpa_loop_fail(struct umpa_loop *l, const struct umpa_err *err)
{
	if (!l->failed) {
		l->failed = 1;
		if (err && err->code) {
			l->ferr = *err;
		} else {
			umpa_err_set(&l->ferr, UMPA_EIO, "%s", err && err->msg[0] ? err->msg : "a callback failed");
		}
	}
	umpa_loop_break(l);
	return -l->ferr.code;
}

/* After any callback: has run_until's condition come true? */
static int check_done_(struct umpa_loop *l)
{
	if (l->done && !l->done_hit && l->done(l->done_arg)) {
		l->done_hit = 1;
		umpa_loop_break(l);
	}
	return l->done_hit;
}

static int stopping_(const struct umpa_loop *l)
{
	return l->brk || l->failed || l->done_hit;
}

/* Run the earliest timer (the caller checked it is due) at loop time @p now. */
static void run_top_(struct umpa_loop *l)
{
	struct umpa_timer *t = l->heap[0];

	heap_remove_(l, t);
	t->state = T_RUNNING_;
	t->cb(l, t->arg);
	if (t->state == T_RUNNING_ && t->period > 0) {
		int64_t now = umpa_loop_now_ns(l);
		t->due += t->period;
		if (t->due <= now - t->period) /* fell behind: skip missed ticks */
			t->due += ((now - t->due) / t->period) * t->period;
		if (heap_push_(l, t, &l->ferr) < 0) {
			l->failed = 1;
			timer_put_(l, t);
		}
	} else {
		timer_put_(l, t);
	}
	check_done_(l);
}

static int run_end_(struct umpa_loop *l, struct umpa_err *e)
{
	int r = l->done_hit ? 1 : 0;

	l->running = 0;
	l->done = NULL;
	l->done_hit = 0;
	l->brk = 0;
	if (l->failed) {
		l->failed = 0;
		if (e)
			*e = l->ferr;
		return -l->ferr.code;
	}
	return r;
}

static int run_virtual_(struct umpa_loop *l, int64_t deadline)
{
	while (!stopping_(l)) {
		if (l->nheap == 0 || l->heap[0]->due > deadline) {
			if (deadline != UMPA_NEVER && deadline > l->vnow)
				l->vnow = deadline;
			break;
		}
		if (l->heap[0]->due > l->vnow)
			l->vnow = l->heap[0]->due;
		run_top_(l);
	}
	return 0;
}

/* Arm the loop's timerfd for @due (absolute CLOCK_MONOTONIC ns) unless it already is. */
static void arm_tfd_(struct umpa_loop *l, int64_t due)
{
#ifdef __linux__
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (due == l->tfd_due)
		return;
	its.it_value.tv_sec = (time_t)(due / 1000000000);
	its.it_value.tv_nsec = (long)(due % 1000000000);
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		l->tfd_due = due;
#else
	(void)l;
	(void)due;
#endif
}

static int run_live_(struct umpa_loop *l, int64_t deadline, struct umpa_err *e)
{
	while (!stopping_(l)) {
		int64_t now = mono_ns_(), wait;
		unsigned n = 0;

		/* what is due now, boundedly, so fds are polled between */
		while (l->nheap && l->heap[0]->due <= now && n++ < 1024 && !stopping_(l)) {
			run_top_(l);
			if ((n & 63) == 0)
				now = mono_ns_();
		}
		if (stopping_(l))
			break;
		if (l->nheap == 0 && l->nfds == 0)
			break;
		now = mono_ns_();
		if (now >= deadline)
			break;
		wait = -1; /* no timer: wait for fds only */
		if (l->nheap)
			wait = l->heap[0]->due > now ? l->heap[0]->due - now : 0;
		if (deadline != UMPA_NEVER && (wait < 0 || deadline - now < wait))
			wait = deadline - now;
		if (wait > 0 && l->tfd >= 0) {
			arm_tfd_(l, now + wait);
		} else if (wait > 0) {
			struct timeval tv;
			int64_t us = (wait + 999) / 1000; /* never wake early */
			tv.tv_sec = (time_t)(us / 1000000);
			tv.tv_usec = (suseconds_t)(us % 1000000);
			evtimer_add(l->wake, &tv);
		}
		if (event_base_loop(l->base, wait == 0 ? EVLOOP_NONBLOCK : EVLOOP_ONCE) < 0)
			return umpa_err_set(e, UMPA_EIO, "loop: libevent failed");
		if (l->tfd < 0)
			evtimer_del(l->wake);
		check_done_(l);
	}
	return 0;
}

static int run_(struct umpa_loop *l, int (*done)(void *), void *arg, int64_t deadline, struct umpa_err *e)
{
	int r;

	if (l->running)
		return umpa_err_set(e, UMPA_EINVAL, "loop: already running (no nested runs)");
	l->running = 1;
	l->brk = 0;
	l->done = done;
	l->done_arg = arg;
	l->done_hit = 0;
	if (check_done_(l))
		return run_end_(l, e);
	if (l->clock == UMPA_CLOCK_VIRTUAL)
		r = run_virtual_(l, deadline);
	else
		r = run_live_(l, deadline, e);
	if (r < 0) {
		run_end_(l, NULL);
		return r;
	}
	return run_end_(l, e);
}

int umpa_loop_run(struct umpa_loop *l, struct umpa_err *e)
{
	int r = run_(l, NULL, NULL, UMPA_NEVER, e);

	return r < 0 ? r : 0;
}

int umpa_loop_run_until(struct umpa_loop *l, int (*done)(void *arg), void *arg, int64_t deadline_ns, struct umpa_err *e)
{
	return run_(l, done, arg, deadline_ns, e);
}

int umpa_loop_advance_to(struct umpa_loop *l, int64_t ts_ns, struct umpa_err *e)
{
	int r;

	if (l->clock != UMPA_CLOCK_VIRTUAL)
		return umpa_err_set(e, UMPA_ENOSYS, "loop: advance_to needs the virtual clock");
	if (ts_ns < l->vnow)
		ts_ns = l->vnow;
	r = run_(l, NULL, NULL, ts_ns, e);
	if (r >= 0 && l->vnow < ts_ns)
		l->vnow = ts_ns;
	return r < 0 ? r : 0;
}

int umpa_loop_set_now(struct umpa_loop *l, int64_t ts_ns, struct umpa_err *e)
{
	if (l->clock != UMPA_CLOCK_VIRTUAL)
		return umpa_err_set(e, UMPA_ENOSYS, "loop: set_now needs the virtual clock");
	if (l->nheap || l->running)
		return umpa_err_set(e, UMPA_EINVAL, "loop: set_now with timers pending");
	l->vnow = ts_ns;
	return 0;
}

int64_t umpa_loop_replay(struct umpa_loop *l, struct umpa_capr *r, umpa_replay_cb cb, void *arg, struct umpa_err *e)
{
	struct umpa_pkt p;
	int64_t n = 0;
	int rc;

	if (l->clock != UMPA_CLOCK_VIRTUAL)
		return umpa_err_set(e, UMPA_ENOSYS, "loop: replay needs the virtual clock");
	if (!cb)
		return umpa_err_set(e, UMPA_EINVAL, "loop: replay without a callback");
	umpa_pkt_init(&p);
	while ((rc = umpa_capr_next(r, &p, e)) > 0) {
		int64_t ts;
		/* a pcapng timestamp may lie past what int64 nanoseconds count (2262) */
		if (p.ts_sec > (INT64_MAX - 999999999) / 1000000000 || p.ts_sec < -(INT64_MAX / 1000000000)) {
			rc = umpa_err_set(e, UMPA_ERANGE,
					  "replay: packet %lld: timestamp %lld s is outside the virtual clock (years "
					  "1678 to 2262)",
					  (long long)n + 1, (long long)p.ts_sec);
			break;
		}
		ts = p.ts_sec * 1000000000 + (int64_t)p.ts_nsec;
		if (n == 0 && l->nheap == 0 && !l->running && ts > l->vnow)
			l->vnow = ts; /* nothing pending: start at the first packet, not at 1970 */
		if ((rc = umpa_loop_advance_to(l, ts, e)) < 0)
			break;
		if ((rc = cb(arg, &p, e)) < 0)
			break;
		n++;
		if (rc > 0) /* the callback asked to stop here */
			break;
	}
	umpa_pkt_release(&p);
	return rc < 0 ? rc : n;
}

/* ---- timers ---- */

static struct umpa_timer *arm_(struct umpa_loop *l, int64_t due, int64_t period, umpa_timer_cb cb, void *arg,
			       struct umpa_err *e)
{
	struct umpa_timer *t;

	if (!cb) {
		umpa_err_set(e, UMPA_EINVAL, "timer: no callback");
		return NULL;
	}
	t = timer_get_(l, e);
	if (!t)
		return NULL;
	t->due = due;
	t->period = period;
	t->cb = cb;
	t->arg = arg;
	if (heap_push_(l, t, e) < 0) {
		timer_put_(l, t);
		return NULL;
	}
	return t;
}

static int64_t add_sat_(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

struct umpa_timer *umpa_after(struct umpa_loop *l, int64_t delay_ns, umpa_timer_cb cb, void *arg, struct umpa_err *e)
{
	return arm_(l, add_sat_(umpa_loop_now_ns(l), delay_ns > 0 ? delay_ns : 0), 0, cb, arg, e);
}

struct umpa_timer *umpa_every(struct umpa_loop *l, int64_t period_ns, umpa_timer_cb cb, void *arg, struct umpa_err *e)
{
	if (period_ns <= 0) {
		umpa_err_set(e, UMPA_EINVAL, "timer: period must be positive");
		return NULL;
	}
	return arm_(l, add_sat_(umpa_loop_now_ns(l), period_ns), period_ns, cb, arg, e);
}

struct umpa_timer *umpa_at(struct umpa_loop *l, int64_t abs_ns, umpa_timer_cb cb, void *arg, struct umpa_err *e)
{
	return arm_(l, abs_ns, 0, cb, arg, e);
}

void umpa_timer_cancel(struct umpa_timer *t)
{
	if (!t)
		return;
	if (t->state == T_ARMED_) {
		heap_remove_(t->loop, t);
		timer_put_(t->loop, t);
	} else if (t->state == T_RUNNING_) {
		t->state = T_CANCELLED_;
	}
}

int64_t umpa_timer_due_ns(const struct umpa_timer *t)
{
	return t->due;
}

/* ---- fds ---- */

static void fd_cb_(evutil_socket_t fd, short what, void *arg)
{
	struct umpa_fdsrc *s = arg;
	struct umpa_loop *l = s->loop;
	unsigned w = 0;

	if (what & EV_READ)
		w |= UMPA_FD_READ;
	if (what & EV_WRITE)
		w |= UMPA_FD_WRITE;
	s->cb(l, (int)fd, w, s->arg); /* may free s */
	check_done_(l);
}

struct umpa_fdsrc *umpa_loop_add_fd(struct umpa_loop *l, int fd, unsigned what, umpa_fd_cb cb, void *arg,
				    struct umpa_err *e)
{
	struct umpa_fdsrc *s;
	short ev = EV_PERSIST;

	if (l->clock != UMPA_CLOCK_LIVE) {
		umpa_err_set(e, UMPA_ENOSYS, "loop: fd sources need the live clock");
		return NULL;
	}
	if (fd < 0 || !cb || !(what & (UMPA_FD_READ | UMPA_FD_WRITE))) {
		umpa_err_set(e, UMPA_EINVAL, "loop: bad fd source (fd %d)", fd);
		return NULL;
	}
	if (what & UMPA_FD_READ)
		ev |= EV_READ;
	if (what & UMPA_FD_WRITE)
		ev |= EV_WRITE;
	s = calloc(1, sizeof(*s));
	if (!s) {
		umpa_err_set(e, UMPA_ENOMEM, "loop: out of memory");
		return NULL;
	}
	s->loop = l;
	s->cb = cb;
	s->arg = arg;
	s->fd = fd;
	s->ev = event_new(l->base, fd, ev, fd_cb_, s);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		if (s->ev)
			event_free(s->ev);
		free(s);
		umpa_err_set(e, UMPA_EIO, "loop: cannot watch fd %d", fd);
		return NULL;
	}
	s->next = l->fds;
	if (l->fds)
		l->fds->prev = s;
	l->fds = s;
	l->nfds++;
	return s;
}

struct umpa_fdsrc *umpa_loop_remove_fd(struct umpa_fdsrc *s)
{
	struct umpa_loop *l;

	if (!s)
		return NULL;
	l = s->loop;
	/* libevent allows event_free on the event whose callback is running:
	 * nothing reads the event after the callback returns. */
	event_free(s->ev);
	if (s->prev)
		s->prev->next = s->next;
	else
		l->fds = s->next;
	if (s->next)
		s->next->prev = s->prev;
	l->nfds--;
	free(s);
	return NULL;
}

/* ---- signals ---- */

static void sig_cb_(evutil_socket_t sig, short what, void *arg)
{
	struct sighook_ *h = arg;

	(void)what;
	h->cb(h->loop, (int)sig, h->arg);
	check_done_(h->loop);
}

int umpa_loop_on_signal(struct umpa_loop *l, int signum, umpa_signal_cb cb, void *arg, struct umpa_err *e)
{
	struct sighook_ *h;

	if (l->clock != UMPA_CLOCK_LIVE)
		return umpa_err_set(e, UMPA_ENOSYS, "loop: signal hooks need the live clock");
	if (!cb || signum <= 0)
		return umpa_err_set(e, UMPA_EINVAL, "loop: bad signal hook");
	h = calloc(1, sizeof(*h));
	if (!h)
		return umpa_err_set(e, UMPA_ENOMEM, "loop: out of memory");
	h->loop = l;
	h->cb = cb;
	h->arg = arg;
	h->ev = evsignal_new(l->base, signum, sig_cb_, h);
	if (!h->ev || event_add(h->ev, NULL) < 0) {
		if (h->ev)
			event_free(h->ev);
		free(h);
		return umpa_err_set(e, UMPA_EIO, "loop: cannot hook signal %d", signum);
	}
	h->next = l->sigs;
	l->sigs = h;
	return 0;
}

static void break_sig_(struct umpa_loop *l, int signum, void *arg)
{
	(void)arg;
	l->signalled = signum;
	umpa_loop_break(l);
}

int umpa_loop_break_on_signal(struct umpa_loop *l, int signum, struct umpa_err *e)
{
	return umpa_loop_on_signal(l, signum, break_sig_, NULL, e);
}

int umpa_loop_signalled(const struct umpa_loop *l)
{
	return l->signalled;
}

struct event_base *umpa_loop_event_base(struct umpa_loop *l)
{
	return l->clock == UMPA_CLOCK_LIVE ? l->base : NULL;
}

/* ---- sources registry ---- */

int umpa_loop_track_source_(struct umpa_loop *l, struct umpa_source *s, struct umpa_err *e)
{
	if (l->nsrcs == l->capsrcs) {
		size_t nc = l->capsrcs ? l->capsrcs * 2 : 4;
		struct umpa_source **n = realloc(l->srcs, nc * sizeof(*n));
		if (!n)
			return umpa_err_set(e, UMPA_ENOMEM, "loop: out of memory");
		l->srcs = n;
		l->capsrcs = nc;
	}
	l->srcs[l->nsrcs++] = s;
	return 0;
}

void umpa_loop_untrack_source_(struct umpa_loop *l, struct umpa_source *s)
{
	for (size_t i = 0; i < l->nsrcs; i++) {
		if (l->srcs[i] == s) {
			l->srcs[i] = l->srcs[--l->nsrcs];
			return;
		}
	}
}
