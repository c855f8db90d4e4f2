/* http_ctl.c - the HTTP control plane (stats, parameters, Server-Sent Events) on evhttp.
 *
 * See http_ctl.h for the routes and the rules.  Notes on libevent 2.1's evhttp
 * that shape this file:
 *  - a body over evhttp's own cap gets libevent's HTML 413 before any
 *    callback runs, so evhttp's cap is a hard ceiling (1 MiB) and the
 *    documented cap (opts.max_body) is checked here, with a JSON 413;
 *  - methods evhttp does not allow get a 501 from it, so every method it
 *    knows is allowed and this file answers 405 with an Allow header;
 *  - an event stream is a reply started and never ended.  When its client
 *    goes away, evhttp detaches the request (req->evcon = NULL) and frees the
 *    connection, calling the close callback: there the request is ended,
 *    which frees it.  A client whose unsent output passes 1 MiB (it stopped
 *    reading) is dropped the same way from our side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "http_ctl.h"
#include "http_page.h"

#define CTL_MAX_BODY_DEFAULT (64 * 1024)
#define CTL_MAX_BODY_HARD (1024 * 1024) /* evhttp's own cap (its HTML 413 above it) */
#define CTL_MAX_CLIENTS 64              /* event streams at once */
#define CTL_MAX_BACKLOG (1024 * 1024)   /* unsent bytes before a stream is dropped */
#define CTL_MAX_ROUTES 16
#define CTL_MAX_ALLOW 32
#define CTL_TIMEOUT_S 30 /* read/write timeout of ordinary requests */

struct ctl_prefix {
	int family;
	unsigned char addr[16];
	unsigned bits;
};

struct ctl_client {
	struct http_ctl *c;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct ctl_client *next;
};

struct ctl_route {
	char *path;
	http_ctl_handler fn;
	void *arg;
	int lax; /* any Content-Type (http_ctl_route_lax) */
};

struct http_ctl {
	struct event_base *base;
	struct evhttp *http;
	struct event *tick; /* stats to event streams every second */
	struct http_ctl_source src;
	struct ctl_prefix allow[CTL_MAX_ALLOW];
	size_t nallow;
	char *token;
	char *title;
	http_ctl_json_fn conns_json; /* http_ctl_set_conns */
	void *conns_arg;
	size_t max_body;
	char bound[64];
	struct ctl_client *clients;
	size_t nclients;
	struct ctl_route routes[CTL_MAX_ROUTES];
	size_t nroutes;
};

/* ---- addresses ---- */

/* Parse "A.B.C.D/N" or "V6/N" (no /N: a single address). */
static int prefix_parse(const char *s, struct ctl_prefix *p)
{
	char buf[64], *slash, *end;
	unsigned long bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -1;
	bits = p->family == AF_INET ? 32 : 128;
	if (slash) {
		unsigned long max = bits;
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || !slash[1] || *end || bits > max)
			return -1;
	}
	p->bits = (unsigned)bits;
	return 0;
}

/* Does @addr (4 or 16 bytes of @family) lie inside @p? */
static int prefix_has(const struct ctl_prefix *p, int family, const unsigned char *addr)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (family != p->family || memcmp(addr, p->addr, full))
		return 0;
	return !rest || !((addr[full] ^ p->addr[full]) & (0xff00 >> rest));
}

/* Normalise a socket address to (family, bytes); v4-mapped IPv6 becomes IPv4. */
static int sa_addr(const struct sockaddr *sa, int *family, unsigned char out[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*family = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (!memcmp(a, mapped, 12)) {
			memcpy(out, a + 12, 4);
			*family = AF_INET;
		} else {
			memcpy(out, a, 16);
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

static int is_loopback(int family, const unsigned char *a)
{
	static const unsigned char one6[16] = {[15] = 1};
	return family == AF_INET ? a[0] == 127 : !memcmp(a, one6, 16);
}

static int is_unspecified(int family, const unsigned char *a)
{
	static const unsigned char zero[16];
	return !memcmp(a, zero, family == AF_INET ? 4 : 16);
}

/* Loopback, or inside one of the allowed prefixes. */
static int allowed(const struct http_ctl *c, int family, const unsigned char *a)
{
	if (is_loopback(family, a))
		return 1;
	for (size_t i = 0; i < c->nallow; i++)
		if (prefix_has(&c->allow[i], family, a))
			return 1;
	return 0;
}

/* ---- replies ---- */

void http_ctl_reply(struct evhttp_request *req, int status, const char *json, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b) {
		evbuffer_add(b, json, len);
		evbuffer_add(b, "\n", 1);
	}
	evhttp_send_reply(req, status, NULL, b);
	if (b)
		evbuffer_free(b);
}

void http_ctl_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
	struct umpa_sbuf msg = {0}, out = {0};
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && umpa_sbuf_grow(&msg, (size_t)n + 1) == 0) {
		va_start(ap, fmt);
		vsnprintf(msg.s, (size_t)n + 1, fmt, ap);
		va_end(ap);
		msg.len = (size_t)n;
	}
	umpa_sbuf_puts(&out, "{\"error\":");
	umpa_sbuf_put_json_str(&out, msg.s ? msg.s : "out of memory", msg.s ? msg.len : 13);
	umpa_sbuf_printf(&out, ",\"status\":%d}", status);
	http_ctl_reply(req, status, out.s ? out.s : "{}", out.s ? out.len : 2);
	umpa_sbuf_free(&msg);
	umpa_sbuf_free(&out);
}

static void reply_sbuf(struct evhttp_request *req, int rc, struct umpa_sbuf *b)
{
	if (rc < 0 || !b->s)
		http_ctl_error(req, 500, "out of memory");
	else
		http_ctl_reply(req, 200, b->s, b->len);
}

static void method_not_allowed(struct evhttp_request *req, const char *allow, const char *path)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	http_ctl_error(req, 405, "%s: method not allowed (allowed: %s)", path, allow);
}

/* ---- event streams ---- */

static void client_unlink(struct http_ctl *c, struct ctl_client *cl)
{
	for (struct ctl_client **pp = &c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			c->nclients--;
			return;
		}
}

/* evhttp freed the client's connection: the request was detached; ending it frees it. */
static void client_closed(struct evhttp_connection *evcon, void *arg)
{
	struct ctl_client *cl = arg;

	(void)evcon;
	client_unlink(cl->c, cl);
	evhttp_send_reply_end(cl->req);
	free(cl);
}

/* Drop a client from our side (stalled, or the control plane closing). */
static void client_drop(struct ctl_client *cl)
{
	client_unlink(cl->c, cl);
	evhttp_connection_set_closecb(cl->evcon, NULL, NULL);
	evhttp_connection_free(cl->evcon); /* frees the request with it */
	free(cl);
}

static void client_send(struct ctl_client *cl, const char *event, const char *data)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(cl->evcon);
	struct evbuffer *b;

	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > CTL_MAX_BACKLOG) {
		client_drop(cl);
		return;
	}
	if (!(b = evbuffer_new()))
		return;
	evbuffer_add_printf(b, "event: %s\ndata: %s\n\n", event, data);
	evhttp_send_reply_chunk(cl->req, b);
	evbuffer_free(b);
}

void http_ctl_event(struct http_ctl *c, const char *event, const char *data)
{
	struct ctl_client *cl, *next;

	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		client_send(cl, event, data);
	}
}

static void send_conns(struct http_ctl *c, struct ctl_client *only)
{
	struct umpa_sbuf b = {0};

	if (!c->conns_json || c->conns_json(c->conns_arg, &b) < 0 || !b.s) {
		umpa_sbuf_free(&b);
		return;
	}
	if (only)
		client_send(only, "conns", b.s);
	else
		http_ctl_event(c, "conns", b.s);
	umpa_sbuf_free(&b);
}

static void send_stats(struct http_ctl *c, struct ctl_client *only)
{
	struct umpa_sbuf b = {0};

	if (!c->src.stats_json || c->src.stats_json(c->src.arg, &b) < 0 || !b.s) {
		umpa_sbuf_free(&b);
		return;
	}
	if (only)
		client_send(only, "stats", b.s);
	else
		http_ctl_event(c, "stats", b.s);
	umpa_sbuf_free(&b);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct http_ctl *c = arg;

	(void)fd;
	(void)what;
	if (c->clients) {
		send_stats(c, NULL);
		send_conns(c, NULL);
	}
}

/* The first event of a stream: who this is ({"title", "pid", "bound", "params"}), so one page can name several. */
static void send_hello(struct http_ctl *c, struct ctl_client *cl)
{
	struct umpa_sbuf b = {0};
	const char *t = c->title ? c->title : "umpa";

	umpa_sbuf_puts(&b, "{\"title\":");
	umpa_sbuf_put_json_str(&b, t, strlen(t));
	umpa_sbuf_printf(&b, ",\"pid\":%ld,\"bound\":", (long)getpid());
	umpa_sbuf_put_json_str(&b, c->bound, strlen(c->bound));
	umpa_sbuf_printf(&b, ",\"params\":%s}", c->src.params_json ? "true" : "false");
	if (b.s && !b.oom)
		client_send(cl, "hello", b.s);
	umpa_sbuf_free(&b);
}

static void events_open(struct http_ctl *c, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct ctl_client *cl;

	if (c->nclients >= CTL_MAX_CLIENTS) {
		http_ctl_error(req, 503, "/events: %d streams already open", CTL_MAX_CLIENTS);
		return;
	}
	if (!evcon || !(cl = calloc(1, sizeof(*cl)))) {
		http_ctl_error(req, 500, "out of memory");
		return;
	}
	*cl = (struct ctl_client){c, req, evcon, c->clients};
	c->clients = cl;
	c->nclients++;
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	if (bev) /* a stream is quiet on the read side for as long as it lives */
		bufferevent_set_timeouts(bev, NULL, NULL);
	evhttp_connection_set_closecb(evcon, client_closed, cl);
	send_hello(c, cl);
	send_stats(c, cl);
	send_conns(c, cl);
}

/* ---- parameters ---- */

/* The text a JSON value stands for as a parameter value; NULL for null, arrays, objects. */
static char *json_text(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v)) { /* the shortest text that reads back the same: 0.2, not 0.20000000000000001 */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, json_real_value(v));
			if (strtod(buf, NULL) == json_real_value(v))
				break;
		}
	} else if (json_is_boolean(v))
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
	else
		return NULL;
	return strdup(buf);
}

static const char *json_kind(const json_t *v)
{
	return json_is_null(v) ? "null" : json_is_array(v) ? "an array" : "an object";
}

/* Put back the first @n entries of the patch @obj to their values in @before
 * (GET /params' object), so a refused patch leaves nothing changed. */
static void patch_undo(struct http_ctl *c, json_t *obj, size_t n, json_t *before)
{
	const char *name;
	json_t *v;
	size_t i = 0;

	json_object_foreach(obj, name, v)
	{
		json_t *was = json_object_get(json_object_get(before, name), "value");
		struct umpa_err e = {0};
		if (i++ >= n)
			break;
		if (json_is_string(was))
			(void)c->src.param_set(c->src.arg, name, json_string_value(was), &e);
	}
}

static void params_patch(struct http_ctl *c, struct evhttp_request *req, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *obj, *v;
	const char *name;
	json_t *before = NULL;
	char **vals = NULL;
	size_t n, i = 0;
	struct umpa_err e = {0};
	struct umpa_sbuf b = {0};

	if (!c->src.param_check || !c->src.param_set) {
		http_ctl_error(req, 404, "/params: this command has no parameters");
		return;
	}
	if (!len) {
		http_ctl_error(req, 400, "PATCH /params: empty body (want a JSON object of name: value)");
		return;
	}
	if (!(obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr))) {
		http_ctl_error(req, 400, "PATCH /params: malformed JSON at line %d column %d: %s", jerr.line,
			       jerr.column, jerr.text);
		return;
	}
	if (!json_is_object(obj)) {
		http_ctl_error(req, 400, "PATCH /params: want a JSON object of name: value");
		goto out;
	}
	n = json_object_size(obj);
	if (n && !(vals = calloc(n, sizeof(*vals)))) {
		http_ctl_error(req, 500, "out of memory");
		goto out;
	}
	/* every entry first: a patch applies whole or not at all */
	json_object_foreach(obj, name, v)
	{
		if (!(vals[i] = json_text(v))) {
			if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
				http_ctl_error(req, 500, "out of memory");
			else
				http_ctl_error(req, 400,
					       "parameter '%s': %s is not a value (want a string, number or boolean)",
					       name, json_kind(v));
			goto out;
		}
		if (c->src.param_check(c->src.arg, name, vals[i], &e) < 0) {
			http_ctl_error(req, 400, "%s", e.msg);
			goto out;
		}
		i++;
	}
	/* the values before, to put back when the source refuses one (its own check: 400) */
	if (c->src.params_json &&
	    (c->src.params_json(c->src.arg, &b) < 0 || !(before = json_loadb(b.s, b.len, 0, NULL)))) {
		http_ctl_error(req, 500, "out of memory");
		goto out;
	}
	umpa_sbuf_reset(&b);
	i = 0;
	json_object_foreach(obj, name, v)
	{
		if (c->src.param_set(c->src.arg, name, vals[i], &e) < 0) {
			patch_undo(c, obj, i, before);
			http_ctl_error(req, e.code == UMPA_EINVAL ? 400 : 500, "%s", e.msg);
			goto out;
		}
		i++;
	}
	if (c->src.params_json)
		reply_sbuf(req, c->src.params_json(c->src.arg, &b), &b);
	else
		http_ctl_reply(req, 200, "{}", 2);
out:
	for (size_t k = 0; vals && k < n; k++)
		free(vals[k]);
	free(vals);
	umpa_sbuf_free(&b);
	json_decref(before);
	json_decref(obj);
}

/* ---- browsers: Host, Origin, preflight ---- */

/* The host of "HOST", "HOST:PORT" or "[V6]:PORT" into @out; -1 when malformed. */
static int host_part(const char *s, char *out, size_t n)
{
	const char *end;

	if (*s == '[') {
		if (!(end = strchr(++s, ']')))
			return -1;
	} else if (!(end = strchr(s, ':')) || strchr(end + 1, ':')) {
		end = s + strlen(s); /* no port, or a bare IPv6 address */
	}
	if (end == s || (size_t)(end - s) >= n || memchr(s, '/', (size_t)(end - s)))
		return -1;
	memcpy(out, s, (size_t)(end - s));
	out[end - s] = 0;
	return 0;
}

/*
 * A browser's Origin this API answers: http(s)://HOST[:PORT] with HOST
 * "localhost", a loopback address or one inside --http-allow - a page served
 * by an umpa process the user runs - or this server's own origin (the Host
 * header, when it is a numeric address: a page this process served, opened
 * by its address).  A page from anywhere else (a web site that guesses the
 * port) gets 403: it could otherwise change a running command from the
 * user's browser.
 */
static int origin_ok(const struct http_ctl *c, const char *o, const char *hosthdr)
{
	char host[128];
	struct ctl_prefix p;
	const char *rest = !strncasecmp(o, "http://", 7) ? o + 7 : !strncasecmp(o, "https://", 8) ? o + 8 : NULL;

	if (!rest || host_part(rest, host, sizeof(host)) < 0)
		return 0;
	if (!strcasecmp(host, "localhost"))
		return 1;
	if (prefix_parse(host, &p) < 0) /* a name: never (DNS rebinding) */
		return 0;
	return allowed(c, p.family, p.addr) || (hosthdr && !strcasecmp(rest, hosthdr));
}

/*
 * The Host header names this server by a numeric address or "localhost".  A
 * name is refused while the API is loopback-only: a page of evil.example whose
 * name now resolves to 127.0.0.1 (DNS rebinding) is same-origin with us and
 * sends no Origin on a GET.  With --http-allow the user opened the API to a
 * network and may use its names.
 */
static int host_ok(const struct http_ctl *c, const char *h)
{
	char host[256];
	struct ctl_prefix p;

	if (!h || c->nallow)
		return 1;
	if (host_part(h, host, sizeof(host)) < 0)
		return 0;
	return !strcasecmp(host, "localhost") || prefix_parse(host, &p) == 0;
}

/* A CORS preflight (or a plain OPTIONS): what a page from an allowed origin may send. */
static void preflight(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *pna = evhttp_find_header(in, "Access-Control-Request-Private-Network");

	evhttp_add_header(h, "Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
	evhttp_add_header(h, "Access-Control-Allow-Headers", "Content-Type, Authorization");
	evhttp_add_header(h, "Access-Control-Max-Age", "600");
	if (pna && !strcasecmp(pna, "true")) /* Chrome: a page of a private address to loopback */
		evhttp_add_header(h, "Access-Control-Allow-Private-Network", "true");
	evhttp_send_reply(req, 204, "No Content", NULL);
}

/* ---- dispatch ---- */

static int is_change(enum evhttp_cmd_type m)
{
	return m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD;
}

static int token_ok(const struct http_ctl *c, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	size_t n = strlen(c->token);
	unsigned char diff = 0;

	if (!h || strncasecmp(h, "Bearer ", 7))
		return 0;
	h += 7;
	if (strlen(h) != n)
		return 0;
	for (size_t i = 0; i < n; i++) /* no early exit: the time does not tell the prefix */
		diff |= (unsigned char)(h[i] ^ c->token[i]);
	return !diff;
}

static int json_body(struct evhttp_request *req)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t n = strlen("application/json");

	return ct && !strncasecmp(ct, "application/json", n) && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct http_ctl *c = arg;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *peer = evcon ? evhttp_connection_get_addr(evcon) : NULL;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	unsigned char a[16];
	char *body = NULL;
	const char *origin;
	int family;
	struct ctl_route *route = NULL;

	if (!peer || sa_addr(peer, &family, a) < 0 || !allowed(c, family, a)) {
		http_ctl_error(req, 403, "this address may not use the control API (see --http-allow)");
		return;
	}
	if (!path || !*path)
		path = "/";
	if (!host_ok(c, evhttp_find_header(evhttp_request_get_input_headers(req), "Host"))) {
		http_ctl_error(req, 403, "Host: not an address of this server (use its numeric address or localhost)");
		return;
	}
	if ((origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin"))) {
		if (!origin_ok(c, origin, evhttp_find_header(evhttp_request_get_input_headers(req), "Host"))) {
			http_ctl_error(req, 403,
				       "a page from another origin may not use the control API (only pages from "
				       "loopback or --http-allow addresses)");
			return;
		}
		evhttp_add_header(evhttp_request_get_output_headers(req), "Access-Control-Allow-Origin", origin);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Vary", "Origin");
	}
	if (m == EVHTTP_REQ_OPTIONS) { /* before the token: a preflight carries none */
		preflight(req);
		return;
	}
	if (c->token && is_change(m) && !token_ok(c, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
		http_ctl_error(req, 401, "%s: a change needs 'Authorization: Bearer TOKEN' (--http-token)", path);
		return;
	}
	if (len > c->max_body) {
		http_ctl_error(req, 413, "%s: body of %zu bytes is over the limit of %zu", path, len, c->max_body);
		return;
	}
	for (size_t i = 0; i < c->nroutes; i++) {
		const char *rp = c->routes[i].path;
		size_t rn = strlen(rp);
		if (rp[rn - 1] == '/' ? !strncmp(path, rp, rn) : !strcmp(path, rp)) {
			route = &c->routes[i];
			break;
		}
	}
	if (len && !json_body(req) && !(route && route->lax)) {
		http_ctl_error(req, 415, "%s: the body must be application/json", path);
		return;
	}
	if (!(body = malloc(len + 1))) {
		http_ctl_error(req, 500, "out of memory");
		return;
	}
	evbuffer_copyout(in, body, len);
	body[len] = 0;

	if (route) {
		route->fn(route->arg, req, path, body, len);
		goto out;
	}
	if (!strcmp(path, "/stats")) {
		struct umpa_sbuf b = {0};
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
			method_not_allowed(req, "GET, HEAD", path);
		else if (!c->src.stats_json)
			http_ctl_error(req, 404, "/stats: this command keeps no counters");
		else
			reply_sbuf(req, c->src.stats_json(c->src.arg, &b), &b);
		umpa_sbuf_free(&b);
	} else if (!strcmp(path, "/params")) {
		struct umpa_sbuf b = {0};
		if (m == EVHTTP_REQ_PATCH)
			params_patch(c, req, body, len);
		else if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
			method_not_allowed(req, "GET, HEAD, PATCH", path);
		else if (!c->src.params_json)
			http_ctl_error(req, 404, "/params: this command has no parameters");
		else
			reply_sbuf(req, c->src.params_json(c->src.arg, &b), &b);
		umpa_sbuf_free(&b);
	} else if (!strcmp(path, "/conns")) {
		struct umpa_sbuf b = {0};
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
			method_not_allowed(req, "GET, HEAD", path);
		else if (!c->conns_json)
			http_ctl_error(req, 404, "/conns: this command lists no connections");
		else
			reply_sbuf(req, c->conns_json(c->conns_arg, &b), &b);
		umpa_sbuf_free(&b);
	} else if (!strcmp(path, "/events")) {
		if (m != EVHTTP_REQ_GET)
			method_not_allowed(req, "GET", path);
		else
			events_open(c, req);
	} else if (!http_page_serve(req, path)) {
		http_ctl_error(req, 404, "%s: no such resource (try /, /stats, /params, /events)", path);
	}
out:
	free(body);
}

/* ---- setup ---- */

/* Split "ADDR:PORT" / "[V6]:PORT" into @host (numeric) and @port. */
static int listen_parse(const char *s, char *host, size_t hn, unsigned *port)
{
	const char *colon, *h = s, *he;
	char *end;
	unsigned long p;

	if (*s == '[') {
		h = s + 1;
		if (!(he = strchr(h, ']')) || he[1] != ':')
			return -1;
		colon = he + 1;
	} else {
		if (!(colon = strrchr(s, ':')) || memchr(s, ':', (size_t)(colon - s)))
			return -1;
		he = colon;
	}
	if ((size_t)(he - h) >= hn || he == h)
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = 0;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || !colon[1] || *end || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

struct http_ctl *http_ctl_new(struct event_base *base, const struct http_ctl_opts *o, const struct http_ctl_source *src,
			      struct umpa_err *e)
{
	struct http_ctl *c;
	struct evhttp_bound_socket *sock;
	struct ctl_prefix bind;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64], ab[INET6_ADDRSTRLEN];
	unsigned port;
	struct timeval tv = {1, 0};

	if (!base) {
		umpa_err_set(e, UMPA_EINVAL, "--http: needs a live loop");
		return NULL;
	}
	if (listen_parse(o->listen, host, sizeof(host), &port) < 0 || prefix_parse(host, &bind) < 0 ||
	    strchr(host, '/')) {
		umpa_err_set(e, UMPA_EINVAL, "--http %s: want ADDR:PORT or [ADDR6]:PORT with a numeric address",
			     o->listen);
		return NULL;
	}
	if (o->nallow > CTL_MAX_ALLOW) {
		umpa_err_set(e, UMPA_ERANGE, "--http-allow: at most %d prefixes", CTL_MAX_ALLOW);
		return NULL;
	}
	if (o->token && !*o->token) {
		umpa_err_set(e, UMPA_EINVAL, "--http-token: empty token");
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	c->base = base;
	if (src)
		c->src = *src;
	c->max_body = o->max_body ? o->max_body : CTL_MAX_BODY_DEFAULT;
	if (c->max_body > CTL_MAX_BODY_HARD)
		c->max_body = CTL_MAX_BODY_HARD;
	for (size_t i = 0; i < o->nallow; i++, c->nallow++)
		if (prefix_parse(o->allow[i], &c->allow[i]) < 0) {
			umpa_err_set(e, UMPA_EINVAL, "--http-allow %s: want a prefix such as 10.0.0.0/8 or fd00::/8",
				     o->allow[i]);
			return http_ctl_free(c);
		}
	if (!allowed(c, bind.family, bind.addr) && !(c->nallow && is_unspecified(bind.family, bind.addr))) {
		umpa_err_set(e, UMPA_EINVAL,
			     "--http %s: not a loopback address (the control API changes a running command: "
			     "add --http-allow CIDR to serve beyond loopback)",
			     o->listen);
		return http_ctl_free(c);
	}
	if ((o->token && !(c->token = strdup(o->token))) || (o->title && !(c->title = strdup(o->title)))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return http_ctl_free(c);
	}
	if (!(c->http = evhttp_new(base)) || !(c->tick = event_new(base, -1, EV_PERSIST, on_tick, c))) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return http_ctl_free(c);
	}
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(c->http, CTL_MAX_BODY_HARD);
	evhttp_set_max_headers_size(c->http, 16 * 1024);
	evhttp_set_timeout(c->http, CTL_TIMEOUT_S);
	evhttp_set_gencb(c->http, on_request, c);
	if (!(sock = evhttp_bind_socket_with_handle(c->http, host, (ev_uint16_t)port))) {
		umpa_err_set(e, UMPA_EIO, "--http %s: cannot listen: %s", o->listen, strerror(errno));
		return http_ctl_free(c);
	}
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) < 0) {
		umpa_err_set(e, UMPA_EIO, "--http %s: %s", o->listen, strerror(errno));
		return http_ctl_free(c);
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ab, sizeof(ab));
		snprintf(c->bound, sizeof(c->bound), "[%s]:%u", ab, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, ab, sizeof(ab));
		snprintf(c->bound, sizeof(c->bound), "%s:%u", ab, ntohs(s4->sin_port));
	}
	event_add(c->tick, &tv);
	return c;
}

void http_ctl_set_conns(struct http_ctl *c, http_ctl_json_fn fn, void *arg)
{
	c->conns_json = fn;
	c->conns_arg = arg;
}

const char *http_ctl_bound(const struct http_ctl *c)
{
	return c->bound;
}

int http_ctl_route(struct http_ctl *c, const char *path, http_ctl_handler fn, void *arg, struct umpa_err *e)
{
	if (c->nroutes >= CTL_MAX_ROUTES)
		return umpa_err_set(e, UMPA_ERANGE, "http: at most %d routes", CTL_MAX_ROUTES);
	if (!path || *path != '/')
		return umpa_err_set(e, UMPA_EINVAL, "http: a route starts with '/'");
	if (!(c->routes[c->nroutes].path = strdup(path)))
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	c->routes[c->nroutes].fn = fn;
	c->routes[c->nroutes++].arg = arg;
	return 0;
}

int http_ctl_route_lax(struct http_ctl *c, const char *path, http_ctl_handler fn, void *arg, struct umpa_err *e)
{
	if (http_ctl_route(c, path, fn, arg, e) < 0)
		return -e->code;
	c->routes[c->nroutes - 1].lax = 1;
	return 0;
}

struct http_ctl *http_ctl_free(struct http_ctl *c)
{
	if (!c)
		return NULL;
	while (c->clients)
		client_drop(c->clients);
	if (c->tick)
		event_free(c->tick);
	if (c->http)
		evhttp_free(c->http);
	for (size_t i = 0; i < c->nroutes; i++)
		free(c->routes[i].path);
	free(c->token);
	free(c->title);
	free(c);
	return NULL;
}
