/* udprelay.c - the UDP datagram relay of umpa_udprelay.h. */
#include "umpa_udprelay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umpa_proxy.h"

#define DGRAM_MAX 65536
#define BURST 64 /* datagrams read per wake-up, so one busy socket does not starve the loop */

struct udp_sess {
	struct umpa_udprelay *r;
	int fd; /* connected to the target; -1: free */
	uint32_t gen;
	struct sockaddr_storage peer;
	socklen_t plen;
	int64_t last_ns;
	struct umpa_fdsrc *src;
	void *state;                /* the hooks' */
	int opened;                 /* hooks->open succeeded */
	struct umpa_impair *own[2]; /* its own impairment per direction (session_cfg), or NULL */
	/* for umpa_udprelay_sessions: who, since when, how much per direction */
	struct umpa_proxy_conn_info ci;
	int64_t started_ns;
	uint64_t bytes_in[2], bytes_out[2];
};

/* A datagram a module delayed (UMPA_PROXY_OUT delay_ns): it goes to its direction's impairment when the
 * timer fires.  Only such datagrams allocate (a module asked for the wait). */
struct udp_held {
	struct udp_held *prev, *next;
	struct umpa_udprelay *r;
	struct umpa_timer *t;
	int dir;
	size_t len;
	uint8_t d[]; /* [u32 session][u32 generation][datagram] */
};

struct umpa_udprelay {
	struct umpa_loop *loop;
	struct umpa_udprelay_opts o;
	int lfd;
	struct umpa_fdsrc *lsrc;
	struct sockaddr_storage target;
	socklen_t tlen;
	struct udp_sess *sess;
	struct umpa_impair *imp[2];
	struct umpa_timer *sweep;
	struct umpa_udprelay_stats st;
	struct umpa_proxy_hooks hooks; /* .data NULL: none */
	int has_hooks;
	struct umpa_impair_stats gone[2]; /* counters of the own impairments freed */
	uint64_t next_id;
	struct sockaddr_storage bound;
	struct udp_held *held;      /* datagrams a module delayed, waiting */
	uint8_t buf[8 + DGRAM_MAX]; /* [u32 session][u32 generation][datagram] */
};

void umpa_udprelay_opts_init(struct umpa_udprelay_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->idle_ns = 60000000000LL;
	o->max_sessions = 1024;
}

static void stats_add(struct umpa_impair_stats *a, const struct umpa_impair_stats *b)
{
	a->in += b->in;
	a->forwarded += b->forwarded;
	a->bytes += b->bytes;
	a->dropped += b->dropped;
	a->delayed += b->delayed;
	a->duplicated += b->duplicated;
	a->corrupted += b->corrupted;
	a->reordered += b->reordered;
	a->rate_queued += b->rate_queued;
	a->rate_dropped += b->rate_dropped;
	a->out_errors += b->out_errors;
	a->queued += b->queued;
}

static void own_drop(struct udp_sess *s, int dir)
{
	struct umpa_udprelay *r = s->r;
	if (!s->own[dir])
		return;
	stats_add(&r->gone[dir], umpa_impair_stats(s->own[dir]));
	r->gone[dir].queued = 0;
	s->own[dir] = umpa_impair_free(s->own[dir]);
	if (!s->own[dir ^ 1])
		r->st.own--;
}

static void sess_end(struct udp_sess *s)
{
	own_drop(s, 0);
	own_drop(s, 1);
	if (s->opened && s->r->hooks.close)
		s->r->hooks.close(s->r->hooks.arg, s->state);
	s->opened = 0;
	s->state = NULL;
	umpa_loop_remove_fd(s->src);
	s->src = NULL;
	close(s->fd);
	s->fd = -1;
	s->gen++;
	s->r->st.active--;
}

/* What leaves an impairment: the prefix names the session. */
static int out_cb(struct umpa_udprelay *r, int dir, const uint8_t *f, size_t len, struct umpa_err *e)
{
	uint32_t idx, gen;
	struct udp_sess *s;
	ssize_t n;
	if (len < 8)
		return 0;
	memcpy(&idx, f, 4);
	memcpy(&gen, f + 4, 4);
	if (idx >= r->o.max_sessions)
		return 0;
	s = &r->sess[idx];
	if (s->fd < 0 || s->gen != gen)
		return 0; /* the session ended meanwhile */
	if (dir == 0)
		n = send(s->fd, f + 8, len - 8, MSG_DONTWAIT);
	else
		n = sendto(r->lfd, f + 8, len - 8, MSG_DONTWAIT, (struct sockaddr *)&s->peer, s->plen);
	if (n < 0) {
		r->st.send_errors[dir]++;
		return umpa_err_set(e, UMPA_EIO, "udp send: %s", strerror(errno));
	}
	r->st.dgrams_out[dir]++;
	r->st.bytes_out[dir] += len - 8;
	s->bytes_out[dir] += len - 8;
	return 0;
}

static int out_c2s(void *arg, const uint8_t *f, size_t len, struct umpa_err *e)
{
	return out_cb(arg, 0, f, len, e);
}

static int out_s2c(void *arg, const uint8_t *f, size_t len, struct umpa_err *e)
{
	return out_cb(arg, 1, f, len, e);
}

/* A delayed datagram's time came: into its direction's impairment (the session's own, or the shared one),
 * unless its session ended meanwhile. */
static void held_due(struct umpa_loop *loop, void *arg)
{
	struct udp_held *h = arg;
	struct umpa_udprelay *r = h->r;
	struct umpa_err e = {0, ""};
	uint32_t idx, gen;
	(void)loop;
	memcpy(&idx, h->d, 4);
	memcpy(&gen, h->d + 4, 4);
	if (idx < r->o.max_sessions && r->sess[idx].fd >= 0 && r->sess[idx].gen == gen) {
		struct udp_sess *s = &r->sess[idx];
		umpa_impair_input(s->own[h->dir] ? s->own[h->dir] : r->imp[h->dir], h->d, h->len, &e);
	}
	if (h->prev)
		h->prev->next = h->next;
	else
		r->held = h->next;
	if (h->next)
		h->next->prev = h->prev;
	free(h);
}

/* Hold datagram @p d (@p len bytes with its prefix) of direction @p dir for @p delay_ns.  Returns 0, or -1 when
 * out of memory (the caller sends it at once). */
static int held_add(struct umpa_udprelay *r, int dir, const uint8_t *d, size_t len, int64_t delay_ns)
{
	struct umpa_err e = {0, ""};
	struct udp_held *h = malloc(sizeof(*h) + len);
	if (!h)
		return -1;
	h->r = r;
	h->dir = dir;
	h->len = len;
	memcpy(h->d, d, len);
	if (!(h->t = umpa_after(r->loop, delay_ns, held_due, h, &e))) {
		free(h);
		return -1;
	}
	h->prev = NULL;
	h->next = r->held;
	if (r->held)
		r->held->prev = h;
	r->held = h;
	r->st.hook_delayed[dir]++;
	return 0;
}

static void input(struct umpa_udprelay *r, int dir, struct udp_sess *s, size_t n)
{
	uint32_t idx = (uint32_t)(s - r->sess);
	struct umpa_err e = {0, ""};
	struct umpa_impair *m = s->own[dir] ? s->own[dir] : r->imp[dir];
	memcpy(r->buf, &idx, 4);
	memcpy(r->buf + 4, &s->gen, 4);
	r->st.dgrams_in[dir]++;
	r->st.bytes_in[dir] += n;
	s->bytes_in[dir] += n;
	s->last_ns = umpa_loop_now_ns(r->loop);
	if (r->has_hooks && s->opened) {
		struct umpa_proxy_out o = umpa_proxy_out_forward(r->buf + 8, n, s->last_ns);
		size_t one, off = 0;
		const size_t *lens = NULL;
		unsigned np = 0;
		if (r->hooks.data(r->hooks.arg, s->state, (enum umpa_proxy_dir)dir, r->buf + 8, n, &o, &e) < 0) {
			r->st.hook_errors[dir]++;
			return;
		}
		if (o.action == UMPA_PROXY_RESET || !o.len) {
			r->st.hook_dropped[dir]++;
			return;
		}
		one = o.len;
		if (r->hooks.parts)
			np = r->hooks.parts(r->hooks.arg, s->state, &lens);
		if (np <= 1) {
			np = 1;
			lens = &one;
		}
		for (unsigned i = 0; i < np; off += lens[i++]) {
			if (lens[i] > DGRAM_MAX)
				continue;
			if ((const uint8_t *)o.data + off != r->buf + 8)
				memmove(r->buf + 8, (const uint8_t *)o.data + off, lens[i]);
			/* a module's delay holds the datagram (then the impairment: its own delay adds up) */
			if (o.delay_ns <= 0 || held_add(r, dir, r->buf, lens[i] + 8, o.delay_ns) < 0)
				umpa_impair_input(m, r->buf, lens[i] + 8, &e);
		}
		return;
	}
	umpa_impair_input(m, r->buf, n + 8, &e);
}

static int out_c2s(void *arg, const uint8_t *f, size_t len, struct umpa_err *e);
static int out_s2c(void *arg, const uint8_t *f, size_t len, struct umpa_err *e);

/* Give session @p s its own impairments, or take them back, as session_cfg says now. */
static void sess_cfg(struct udp_sess *s)
{
	struct umpa_udprelay *r = s->r;
	struct umpa_err e = {0, ""};
	if (!r->o.session_cfg || !s->opened)
		return;
	for (int dir = 0; dir < 2; dir++) {
		struct umpa_impair_cfg c;
		if (!r->o.session_cfg(r->hooks.arg, s->state, dir, &c)) {
			own_drop(s, dir);
			continue;
		}
		if (!s->own[dir]) {
			if (!(s->own[dir] = umpa_impair_new(r->loop, dir ? out_s2c : out_c2s, r, &e)))
				continue; /* out of memory: the shared one serves */
			umpa_impair_seed(s->own[dir],
					 (uint64_t)umpa_loop_wall_ns(r->loop) ^ (r->next_id << 1 | (uint64_t)dir));
			if (!s->own[dir ^ 1])
				r->st.own++;
		}
		umpa_impair_set(s->own[dir], &c, &e);
	}
}

/* A new session's conn_info and the hooks' open.  0, or -1: refused. */
static int sess_open(struct udp_sess *s)
{
	struct umpa_udprelay *r = s->r;
	struct umpa_proxy_conn_info *ci = &s->ci;
	struct umpa_err e = {0, ""};
	const struct sockaddr_storage *a[3] = {&s->peer, &r->target, &r->bound};
	char *txt[3] = {ci->src, ci->dst, ci->local};
	uint16_t *port[3] = {&ci->sport, &ci->dport, &ci->lport};
	memset(ci, 0, sizeof(*ci));
	ci->id = ++r->next_id;
	s->started_ns = umpa_loop_wall_ns(r->loop);
	memset(s->bytes_in, 0, sizeof(s->bytes_in));
	memset(s->bytes_out, 0, sizeof(s->bytes_out));
	for (int i = 0; i < 3; i++) {
		if (a[i]->ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a[i];
			inet_ntop(AF_INET6, &s6->sin6_addr, txt[i], sizeof(ci->src));
			*port[i] = ntohs(s6->sin6_port);
		} else {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)a[i];
			inet_ntop(AF_INET, &s4->sin_addr, txt[i], sizeof(ci->src));
			*port[i] = ntohs(s4->sin_port);
		}
	}
	s->state = NULL;
	if (!r->has_hooks)
		return 0;
	if (r->hooks.open && r->hooks.open(r->hooks.arg, ci, &s->state, &e) < 0)
		return -1;
	s->opened = 1;
	sess_cfg(s);
	return 0;
}

static void sess_cb(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	struct udp_sess *s = arg;
	struct umpa_udprelay *r = s->r;
	(void)loop;
	(void)what;
	for (int i = 0; i < BURST && s->fd == fd; i++) {
		ssize_t n = recv(fd, r->buf + 8, DGRAM_MAX, MSG_DONTWAIT);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error (ECONNREFUSED): the next datagram tries again */
		input(r, 1, s, (size_t)n);
	}
}

static struct udp_sess *sess_find(struct umpa_udprelay *r, const struct sockaddr_storage *a, socklen_t al)
{
	struct udp_sess *free_s = NULL;
	struct umpa_err e = {0, ""};
	for (unsigned i = 0; i < r->o.max_sessions; i++) {
		struct udp_sess *s = &r->sess[i];
		if (s->fd < 0) {
			if (!free_s)
				free_s = s;
		} else if (s->plen == al && !memcmp(&s->peer, a, al)) {
			return s;
		}
	}
	if (!free_s)
		return NULL;
	free_s->fd = socket(r->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (free_s->fd < 0)
		return NULL;
	if (connect(free_s->fd, (struct sockaddr *)&r->target, r->tlen) < 0 ||
	    !(free_s->src = umpa_loop_add_fd(r->loop, free_s->fd, UMPA_FD_READ, sess_cb, free_s, &e))) {
		close(free_s->fd);
		free_s->fd = -1;
		return NULL;
	}
	memcpy(&free_s->peer, a, al);
	free_s->plen = al;
	r->st.sessions++;
	r->st.active++;
	if (sess_open(free_s) < 0) {
		sess_end(free_s);
		return NULL;
	}
	return free_s;
}

static void listen_cb(struct umpa_loop *loop, int fd, unsigned what, void *arg)
{
	struct umpa_udprelay *r = arg;
	(void)loop;
	(void)what;
	for (int i = 0; i < BURST; i++) {
		struct sockaddr_storage a;
		socklen_t al = sizeof(a);
		struct udp_sess *s;
		ssize_t n = recvfrom(fd, r->buf + 8, DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&a, &al);
		if (n < 0)
			return;
		if (!(s = sess_find(r, &a, al))) {
			r->st.refused++;
			continue;
		}
		input(r, 0, s, (size_t)n);
	}
}

static void sweep_cb(struct umpa_loop *loop, void *arg)
{
	struct umpa_udprelay *r = arg;
	int64_t now = umpa_loop_now_ns(loop);
	for (unsigned i = 0; i < r->o.max_sessions; i++)
		if (r->sess[i].fd >= 0 && now - r->sess[i].last_ns > r->o.idle_ns)
			sess_end(&r->sess[i]);
}

struct umpa_udprelay *umpa_udprelay_new(struct umpa_loop *loop, const struct umpa_udprelay_opts *o, struct umpa_err *e)
{
	struct umpa_udprelay *r;
	struct sockaddr_storage la;
	socklen_t ll;
	if (!umpa_loop_event_base(loop)) {
		umpa_err_set(e, UMPA_EINVAL, "udp relay: needs a live loop");
		return NULL;
	}
	if (!o->listen || !o->target || !o->max_sessions || o->max_sessions > 65536 || o->idle_ns <= 0) {
		umpa_err_set(e, UMPA_EINVAL,
			     "udp relay: listen, target, 1 to 65536 sessions and an idle time are needed");
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r))) || !(r->sess = calloc(o->max_sessions, sizeof(*r->sess)))) {
		free(r);
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->o = *o;
	r->lfd = -1;
	for (unsigned i = 0; i < o->max_sessions; i++) {
		r->sess[i].fd = -1;
		r->sess[i].r = r;
	}
	if (umpa_proxy_resolve(o->target, "upstream", 0, &r->target, &r->tlen, e) < 0 ||
	    umpa_proxy_resolve(o->listen, "listen", 1, &la, &ll, e) < 0)
		return umpa_udprelay_free(r);
	r->lfd = socket(la.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&la, ll) < 0) {
		umpa_err_set(e, UMPA_EIO, "listen %s: %s", o->listen, strerror(errno));
		return umpa_udprelay_free(r);
	}
	{
		socklen_t bl = sizeof(r->bound);
		if (getsockname(r->lfd, (struct sockaddr *)&r->bound, &bl) < 0)
			r->bound = la;
	}
	if (o->hooks && o->hooks->data) {
		r->hooks = *o->hooks;
		r->has_hooks = 1;
	}
	r->o.hooks = NULL; /* copied */
	{
		int sz = 4 << 20;
		setsockopt(r->lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (!(r->imp[0] = umpa_impair_new(loop, out_c2s, r, e)) ||
	    !(r->imp[1] = umpa_impair_new(loop, out_s2c, r, e)) ||
	    !(r->lsrc = umpa_loop_add_fd(loop, r->lfd, UMPA_FD_READ, listen_cb, r, e)) ||
	    !(r->sweep = umpa_every(loop, 1000000000LL, sweep_cb, r, e)))
		return umpa_udprelay_free(r);
	umpa_impair_seed(r->imp[0], (uint64_t)umpa_loop_wall_ns(loop));
	umpa_impair_seed(r->imp[1], (uint64_t)umpa_loop_wall_ns(loop) ^ 0x9e3779b97f4a7c15ULL);
	return r;
}

int umpa_udprelay_set(struct umpa_udprelay *r, int dir, const struct umpa_impair_cfg *c, struct umpa_err *e)
{
	return umpa_impair_set(r->imp[dir ? 1 : 0], c, e);
}

const char *umpa_udprelay_bound(const struct umpa_udprelay *r, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[64];
	if (getsockname(r->lfd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, n, "?");
		return buf;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, n, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, n, "%s:%u", a, ntohs(s4->sin_port));
	}
	return buf;
}

void umpa_udprelay_stats(const struct umpa_udprelay *r, struct umpa_udprelay_stats *st)
{
	*st = r->st;
}

const struct umpa_impair_stats *umpa_udprelay_impair_stats(const struct umpa_udprelay *r, int dir)
{
	return umpa_impair_stats(r->imp[dir ? 1 : 0]);
}

void umpa_udprelay_impair_total(const struct umpa_udprelay *r, int dir, struct umpa_impair_stats *st)
{
	dir = dir ? 1 : 0;
	*st = r->gone[dir];
	stats_add(st, umpa_impair_stats(r->imp[dir]));
	for (unsigned i = 0; i < r->o.max_sessions; i++)
		if (r->sess[i].fd >= 0 && r->sess[i].own[dir])
			stats_add(st, umpa_impair_stats(r->sess[i].own[dir]));
}

void umpa_udprelay_refresh(struct umpa_udprelay *r)
{
	for (unsigned i = 0; i < r->o.max_sessions; i++)
		if (r->sess[i].fd >= 0)
			sess_cfg(&r->sess[i]);
}

size_t umpa_udprelay_sessions(const struct umpa_udprelay *r, umpa_proxy_conn_cb cb, void *arg)
{
	size_t n = 0;
	for (unsigned i = 0; i < r->o.max_sessions; i++) {
		const struct udp_sess *s = &r->sess[i];
		struct umpa_proxy_conn_stats cs;
		if (s->fd < 0)
			continue;
		n++;
		if (!cb)
			continue;
		memset(&cs, 0, sizeof(cs));
		cs.ci = &s->ci;
		memcpy(cs.bytes_in, s->bytes_in, sizeof(cs.bytes_in));
		memcpy(cs.bytes_out, s->bytes_out, sizeof(cs.bytes_out));
		cs.started_ns = s->started_ns;
		cs.connected = 1;
		cs.sni = "";
		cb(arg, &cs);
	}
	return n;
}

struct umpa_udprelay *umpa_udprelay_free(struct umpa_udprelay *r)
{
	if (!r)
		return NULL;
	for (unsigned i = 0; r->sess && i < r->o.max_sessions; i++)
		if (r->sess[i].fd >= 0)
			sess_end(&r->sess[i]);
	umpa_timer_cancel(r->sweep);
	while (r->held) { /* delayed datagrams not due yet: dropped with the relay */
		struct udp_held *h = r->held;
		r->held = h->next;
		umpa_timer_cancel(h->t);
		free(h);
	}
	umpa_loop_remove_fd(r->lsrc);
	umpa_impair_free(r->imp[0]);
	umpa_impair_free(r->imp[1]);
	if (r->lfd >= 0)
		close(r->lfd);
	free(r->sess);
	free(r);
	return NULL;
}
