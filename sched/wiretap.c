/* wiretap.c - real sockets' conversations as a pcapng with their TLS keys (umpa_wiretap.h). */
#include "umpa_wiretap.h"

#include <netinet/in.h>
#include <openssl/bio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "umpa_capfile.h"
#include "umpa_proxy.h"
#include "umpa_sbuf.h"
#include "umpa_sched.h"
#include "umpa_tcpstream.h"

/* Round trip of the synthesised conversations: the ACKs follow the data this much later. */
#define WTAP_RTT_US 100
/* A conversation holds at most this many bytes of packets while its handshake runs. */
#define WTAP_HOLD_MAX (8u << 20)
/* The ClientHello's random: record header 5, handshake header 4, version 2, then 32 bytes. */
#define CH_RANDOM_AT 11
#define CH_HEAD (CH_RANDOM_AT + 32)

struct umpa_wtap {
	struct umpa_capw *w;
	struct umpa_sbuf keys;          /* key log lines not written yet */
	struct umpa_wtap_conv *holding; /* conversations holding their packets */
	uint64_t packets;
	uint64_t seed;
	int failed;
	struct umpa_err err;
};

/* Holding: OpenSSL hands out some TLS 1.3 secrets only after the records they protect crossed the socket
 * (a client logs CLIENT_HANDSHAKE_TRAFFIC_SECRET after it read the server's encrypted flight), but tshark
 * needs them when it reads the ServerHello.  So a conversation whose client starts with a ClientHello (or
 * has not sent 43 bytes yet) keeps its packets (struct held_ then the bytes, each) until the key log names
 * its client random with CLIENT_TRAFFIC_SECRET_0 or CLIENT_RANDOM (the handshake's keys are all out), or
 * it ends; then the keys go first. */
struct umpa_wtap_conv {
	struct umpa_wtap *w;
	struct umpa_wtap_conv *prev, *next; /* in w->holding while hold */
	struct umpa_tcps *t;
	int fin[2];
	int closed;
	int hold;
	struct umpa_sbuf held;
	uint8_t head[CH_HEAD]; /* the client's first bytes */
	size_t nhead;
};

/* A held packet's header. */
struct held_ {
	int64_t ts_sec;
	uint32_t ts_nsec;
	uint32_t len;
};

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * UMPA_NS_PER_SEC + ts.tv_nsec;
}

struct umpa_wtap *umpa_wtap_open(const char *path, struct umpa_err *e)
{
	struct umpa_wtap *w = calloc(1, sizeof(*w));
	if (!w) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	if (!(w->w = umpa_capw_open(path, UMPA_CAP_PCAPNG, 1, e))) {
		free(w);
		return NULL;
	}
	w->seed = (uint64_t)real_ns();
	return w;
}

static void wtap_fail(struct umpa_wtap *w, const struct umpa_err *e)
{
	if (!w->failed) {
		w->failed = 1;
		w->err = *e;
	}
}

/* The pending keys as one Decryption Secrets Block. */
static void flush_keys(struct umpa_wtap *w)
{
	struct umpa_err e = {0, ""};
	if (w->failed || !w->keys.len)
		return;
	if (w->keys.oom) {
		umpa_err_set(&e, UMPA_ENOMEM, "key log: out of memory");
		wtap_fail(w, &e);
		return;
	}
	if (umpa_capw_secrets(w->w, UMPA_SECRETS_TLS_KEYLOG, w->keys.s, (uint32_t)w->keys.len, &e) < 0)
		wtap_fail(w, &e);
	umpa_sbuf_reset(&w->keys);
}

static void write_pkt(struct umpa_wtap *w, const struct umpa_pkt *p)
{
	struct umpa_err e = {0, ""};
	flush_keys(w);
	if (w->failed)
		return;
	if (umpa_capw_write(w->w, p, &e) < 0)
		wtap_fail(w, &e);
	else
		w->packets++;
}

/* Stop holding @p c: the keys, then its packets. */
static void release(struct umpa_wtap_conv *c)
{
	struct umpa_wtap *w = c->w;
	size_t off = 0;
	if (!c->hold)
		return;
	c->hold = 0;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->holding = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->held.oom) {
		struct umpa_err e = {0, ""};
		umpa_err_set(&e, UMPA_ENOMEM, "capture: out of memory");
		wtap_fail(w, &e);
	}
	while (!w->failed && off + sizeof(struct held_) <= c->held.len) {
		struct held_ h;
		struct umpa_pkt p;
		memcpy(&h, c->held.s + off, sizeof(h));
		umpa_pkt_init(&p);
		p.data = (uint8_t *)c->held.s + off + sizeof(h);
		p.len = p.wirelen = h.len;
		p.ts_sec = h.ts_sec;
		p.ts_nsec = h.ts_nsec;
		p.linktype = 1;
		write_pkt(w, &p);
		off += sizeof(h) + h.len;
	}
	umpa_sbuf_free(&c->held);
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9'   ? ch - '0'
	       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	       : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
					: -1;
}

void umpa_wtap_secret(struct umpa_wtap *w, const char *line)
{
	size_t n = strlen(line);
	const char *sp = strchr(line, ' ');
	uint8_t rnd[32];
	if (!w || w->failed)
		return;
	umpa_sbuf_put(&w->keys, line, n);
	if (!n || line[n - 1] != '\n')
		umpa_sbuf_putc(&w->keys, '\n');
	/* the last key of a handshake: its conversation may go on */
	if (!sp || (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) && strncmp(line, "CLIENT_RANDOM ", 14)) ||
	    strlen(sp + 1) < 64)
		return;
	for (int i = 0; i < 32; i++) {
		int hi = hexval(sp[1 + 2 * i]), lo = hexval(sp[2 + 2 * i]);
		if (hi < 0 || lo < 0)
			return;
		rnd[i] = (uint8_t)(hi << 4 | lo);
	}
	for (struct umpa_wtap_conv *c = w->holding, *nx; c; c = nx) {
		nx = c->next;
		if (c->nhead == CH_HEAD && !memcmp(c->head + CH_RANDOM_AT, rnd, 32))
			release(c);
	}
}

uint64_t umpa_wtap_packets(const struct umpa_wtap *w)
{
	return w->packets;
}

int umpa_wtap_close(struct umpa_wtap *w, struct umpa_err *e)
{
	struct umpa_err ce = {0, ""};
	int rc = 0;
	if (!w)
		return 0;
	while (w->holding) {
		struct umpa_wtap_conv *c = w->holding;
		release(c);
		c->w = NULL; /* freed later by its owner: nothing more to write */
	}
	flush_keys(w);
	if (umpa_capw_close(w->w, &ce) < 0)
		wtap_fail(w, &ce);
	if (w->failed) {
		*e = w->err;
		rc = -(w->err.code ? w->err.code : UMPA_EIO);
	}
	umpa_sbuf_free(&w->keys);
	free(w);
	return rc;
}

static int emit(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct umpa_wtap_conv *c = arg;
	(void)comment;
	(void)e;
	if (!c->w || c->w->failed)
		return 0; /* recording stopped; the conversation itself goes on */
	if (c->hold && c->held.len + p->len < WTAP_HOLD_MAX) {
		struct held_ h = {p->ts_sec, p->ts_nsec, p->len};
		umpa_sbuf_put(&c->held, (const char *)&h, sizeof(h));
		umpa_sbuf_put(&c->held, (const char *)p->data, p->len);
		return 0;
	}
	release(c);
	write_pkt(c->w, p);
	return 0;
}

static void put_addr(struct umpa_tcps_opts *o, int side, const struct sockaddr *sa)
{
	if (!sa)
		return;
	if (sa->sa_family == AF_INET6 && o->ipv6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(o->addr[side], &s6->sin6_addr, 16);
		o->port[side] = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET && !o->ipv6) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		memcpy(o->addr[side], &s4->sin_addr, 4);
		o->port[side] = ntohs(s4->sin_port);
	}
}

/* Before an event: @p c's clock to now (never back). */
static struct umpa_err *now(struct umpa_wtap_conv *c, struct umpa_err *e)
{
	umpa_loop_advance_to(umpa_tcps_loop(c->t), real_ns(), e);
	return e;
}

/* Hold @p c's packets (again: a STARTTLS upgrade starts a handshake in the middle of a conversation). */
static void hold_start(struct umpa_wtap_conv *c)
{
	struct umpa_wtap *w = c->w;
	c->hold = 1;
	c->nhead = 0;
	c->prev = NULL;
	c->next = w->holding;
	if (w->holding)
		w->holding->prev = c;
	w->holding = c;
}

struct umpa_wtap_conv *umpa_wtap_conv_new(struct umpa_wtap *w, const struct sockaddr *cli, const struct sockaddr *srv)
{
	struct umpa_wtap_conv *c;
	struct umpa_tcps_opts o;
	struct umpa_err e = {0, ""};
	int64_t t = real_ns();
	if (!w || w->failed || !(c = calloc(1, sizeof(*c))))
		return NULL;
	umpa_tcps_opts_init(&o);
	o.ipv6 = cli && cli->sa_family == AF_INET6;
	put_addr(&o, UMPA_TCPS_CLIENT, cli);
	put_addr(&o, UMPA_TCPS_SERVER, srv);
	if (!o.port[UMPA_TCPS_SERVER])
		o.port[UMPA_TCPS_SERVER] = 443;
	o.rtt_us = WTAP_RTT_US;
	o.seed = w->seed++;
	o.start_sec = t / UMPA_NS_PER_SEC;
	o.start_nsec = t % UMPA_NS_PER_SEC;
	c->w = w;
	hold_start(c); /* until the client's first bytes say whether it is TLS */
	if (!(c->t = umpa_tcps_new(&o, emit, c, &e)) || umpa_tcps_connect(c->t, &e) < 0) {
		wtap_fail(w, &e);
		umpa_wtap_conv_free(c);
		return NULL;
	}
	return c;
}

void umpa_wtap_conv_data(struct umpa_wtap_conv *c, int sender, const void *d, size_t n)
{
	struct umpa_err e = {0, ""};
	if (!c || !c->w || c->closed || c->fin[sender ? 1 : 0] || !n || c->w->failed)
		return;
	if (!sender && !c->hold && n >= 2 && ((const uint8_t *)d)[0] == 22 && ((const uint8_t *)d)[1] == 3)
		hold_start(c); /* a handshake record from the client: perhaps a ClientHello after STARTTLS */
	if (!sender && c->hold && c->nhead < CH_HEAD) {
		size_t k = n < CH_HEAD - c->nhead ? n : CH_HEAD - c->nhead;
		memcpy(c->head + c->nhead, d, k);
		c->nhead += k;
		if (c->head[0] != 22 || (c->nhead > 5 && c->head[5] != 1)) /* no TLS handshake, no ClientHello */
			release(c);
	}
	if (umpa_tcps_send(c->t, sender ? UMPA_TCPS_SERVER : UMPA_TCPS_CLIENT, d, n, NULL, now(c, &e)) < 0)
		c->closed = 1;
}

void umpa_wtap_conv_fin(struct umpa_wtap_conv *c, int sender)
{
	struct umpa_err e = {0, ""};
	int s = sender ? 1 : 0;
	if (!c || !c->w || c->closed || c->fin[s])
		return;
	c->fin[s] = 1;
	if (umpa_tcps_shutdown(c->t, s ? UMPA_TCPS_SERVER : UMPA_TCPS_CLIENT, now(c, &e)) < 0 || c->fin[!s])
		c->closed = 1;
	if (c->closed)
		release(c);
}

void umpa_wtap_conv_reset(struct umpa_wtap_conv *c, int sender)
{
	struct umpa_err e = {0, ""};
	if (!c || !c->w || c->closed)
		return;
	c->closed = 1;
	umpa_tcps_reset(c->t, sender ? UMPA_TCPS_SERVER : UMPA_TCPS_CLIENT, now(c, &e));
	release(c);
}

int umpa_wtap_conv_closed(const struct umpa_wtap_conv *c)
{
	return !c || c->closed;
}

void umpa_wtap_conv_free(struct umpa_wtap_conv *c)
{
	if (!c)
		return;
	if (c->w)
		release(c);
	umpa_tcps_free(c->t);
	umpa_sbuf_free(&c->held);
	free(c);
}

/* ---- the tap BIO ---- */

struct tap_ {
	umpa_wtap_bio_cb cb;
	void *arg;
};

static long tap_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret, size_t *processed)
{
	struct tap_ *t = (struct tap_ *)BIO_get_callback_arg(b);
	(void)len;
	(void)argi;
	(void)argl;
	if (!t)
		return ret;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed && *processed)
		t->cb(t->arg, 0, argp, *processed);
	else if (oper == (BIO_CB_WRITE | BIO_CB_RETURN) && ret > 0 && processed && *processed)
		t->cb(t->arg, 1, argp, *processed);
	else if (oper == (BIO_CB_FREE)) {
		BIO_set_callback_arg(b, NULL);
		free(t);
	}
	return ret;
}

void *umpa_wtap_bio(int fd, umpa_wtap_bio_cb cb, void *arg)
{
	BIO *b = BIO_new_socket(fd, BIO_NOCLOSE);
	struct tap_ *t = calloc(1, sizeof(*t));
	if (!b || !t) {
		BIO_free(b);
		free(t);
		return NULL;
	}
	t->cb = cb;
	t->arg = arg;
	BIO_set_callback_ex(b, tap_cb);
	BIO_set_callback_arg(b, (char *)t);
	return b;
}

/* ---- the proxy's tap (umpa_proxy.h) ---- */

struct ptap_ {
	struct umpa_wtap_conv *leg[2];
};

static void ptap_leg(void *arg, const struct umpa_proxy_conn_info *ci, void **state, int leg,
		     const struct sockaddr *cli, const struct sockaddr *srv)
{
	struct ptap_ *st = *state;
	(void)ci;
	if (!st && !(st = *state = calloc(1, sizeof(*st))))
		return;
	if (!st->leg[leg])
		st->leg[leg] = umpa_wtap_conv_new(arg, cli, srv);
}

static void ptap_bytes(void *arg, void *state, int leg, int sender, const void *d, size_t n)
{
	struct ptap_ *st = state;
	(void)arg;
	if (st)
		umpa_wtap_conv_data(st->leg[leg], sender, d, n);
}

static void ptap_fin(void *arg, void *state, int leg, int sender)
{
	struct ptap_ *st = state;
	(void)arg;
	if (st)
		umpa_wtap_conv_fin(st->leg[leg], sender);
}

static void ptap_close(void *arg, void *state, int orderly)
{
	struct ptap_ *st = state;
	(void)arg;
	(void)orderly;
	if (!st)
		return;
	for (int i = 0; i < 2; i++) {
		/* a connection that did not end in order: the proxy's side resets what is left */
		umpa_wtap_conv_reset(st->leg[i], i == 0 ? 1 : 0);
		umpa_wtap_conv_free(st->leg[i]);
	}
	free(st);
}

void umpa_wtap_proxy_tap(struct umpa_wtap *w, struct umpa_proxy_tap *t)
{
	memset(t, 0, sizeof(*t));
	t->arg = w;
	t->leg = ptap_leg;
	t->bytes = ptap_bytes;
	t->fin = ptap_fin;
	t->close = ptap_close;
}
