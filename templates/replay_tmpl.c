/* replay_tmpl.c - a template in place of the device for `umpa replay --template` (see umpa_replay_tmpl.h).
 *
 * Frames cross the virtual link as copies held in timers (one small
 * allocation each way per frame: this is the offline check of a device
 * model, not a hot path; the live replay never comes here).
 */
#include <stdlib.h>
#include <string.h>

#include "umpa_protos.h"
#include "umpa_replay.h"
#include "umpa_replay_tmpl.h"
#include "umpa_run.h"
#include "umpa_sched.h"

struct umpa_replay_tmpl {
	struct umpa_run *r;
	struct umpa_replay_run *run;
	int linktype;
	unsigned nifs;
	struct flight_ *inflight; /* not yet delivered: freed with the device */
};

struct flight_ {
	struct umpa_replay_tmpl *t;
	struct umpa_timer *tm;
	struct flight_ *prev, *next;
	int to_device;
	unsigned ifidx; /* the virtual interface it crosses */
	uint32_t n;
	uint8_t b[];
};

static void unlink_(struct flight_ *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		f->t->inflight = f->next;
	if (f->next)
		f->next->prev = f->prev;
}

static void arrive_(struct umpa_loop *loop, void *arg)
{
	struct flight_ *f = arg;
	struct umpa_replay_tmpl *t = f->t;
	struct umpa_pkt p;
	struct umpa_err e = {0};

	unlink_(f);
	umpa_pkt_init(&p);
	umpa_pkt_attach(&p, f->b, f->n, f->n, t->linktype);
	umpa_dissect(&p);
	if (f->to_device) {
		int64_t now = umpa_loop_wall_ns(loop);
		p.ts_sec = now / 1000000000;
		p.ts_nsec = (uint32_t)(now % 1000000000);
		if (umpa_run_feed(t->r, f->ifidx, &p, &e) < 0)
			umpa_loop_fail(loop, &e);
	} else if (t->run) {
		umpa_replay_run_input(t->run, &p, f->ifidx);
	}
	free(f);
}

static int cross_(struct umpa_replay_tmpl *t, const struct umpa_pkt *p, int to_device, unsigned ifidx,
		  struct umpa_err *e)
{
	struct flight_ *f = malloc(sizeof(*f) + p->len);

	if (!f)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	f->t = t;
	f->to_device = to_device;
	f->ifidx = ifidx;
	f->n = p->len;
	memcpy(f->b, p->data, p->len);
	if (!(f->tm = umpa_after(umpa_run_loop(t->r), UMPA_REPLAY_TMPL_DELAY_NS, arrive_, f, e))) {
		free(f);
		return -UMPA_ENOMEM;
	}
	f->prev = NULL;
	f->next = t->inflight;
	if (t->inflight)
		t->inflight->prev = f;
	t->inflight = f;
	return 0;
}

/* What the template sends goes back to the replay. */
static void out_(void *arg, unsigned ifidx, const struct umpa_pkt *p)
{
	struct umpa_replay_tmpl *t = arg;
	struct umpa_err e = {0};

	if (cross_(t, p, 0, ifidx, &e) < 0)
		umpa_loop_fail(umpa_run_loop(t->r), &e);
}

/* What the replay sends goes to the template. */
static int send_(void *arg, unsigned ifidx, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	struct umpa_replay_tmpl *t = arg;

	for (unsigned i = 0; i < n; i++)
		if (cross_(t, pkts[i], 1, ifidx < t->nifs ? ifidx : 0, e) < 0)
			return i ? (int)i : -UMPA_ENOMEM;
	return (int)n;
}

struct umpa_replay_tmpl *umpa_replay_tmpl_new(const struct umpa_run_opts *o, int64_t start_ns, int linktype,
					      unsigned nifs, struct umpa_replay_io *io, struct umpa_err *e)
{
	struct umpa_replay_tmpl *t = calloc(1, sizeof(*t));
	struct umpa_run_opts ro = *o;

	if (!t) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	t->linktype = linktype ? linktype : UMPA_LINKTYPE_ETHERNET;
	t->nifs = nifs == 2 ? 2 : 1;
	ro.ifaces = NULL;
	ro.nifaces = 0;
	ro.offline = NULL;
	ro.driven_out = out_;
	ro.driven_arg = t;
	ro.driven_start_ns = start_ns;
	ro.driven_linktype = t->linktype;
	ro.driven_nifs = t->nifs;
	if (!(t->r = umpa_run_new(&ro, e))) {
		free(t);
		return NULL;
	}
	memset(io, 0, sizeof(*io));
	io->send = send_;
	io->arg = t;
	io->nifs = t->nifs;
	return t;
}

struct umpa_loop *umpa_replay_tmpl_loop(struct umpa_replay_tmpl *t)
{
	return umpa_run_loop(t->r);
}

void umpa_replay_tmpl_attach(struct umpa_replay_tmpl *t, struct umpa_replay_run *run)
{
	t->run = run;
}

struct umpa_run *umpa_replay_tmpl_run(struct umpa_replay_tmpl *t)
{
	return t->r;
}

struct umpa_replay_tmpl *umpa_replay_tmpl_free(struct umpa_replay_tmpl *t)
{
	if (!t)
		return NULL;
	while (t->inflight) {
		struct flight_ *f = t->inflight;
		unlink_(f);
		umpa_timer_cancel(f->tm);
		free(f);
	}
	umpa_run_free(t->r);
	free(t);
	return NULL;
}
