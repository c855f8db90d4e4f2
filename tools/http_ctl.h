/* http_ctl.h - the HTTP control plane of umpa's long-running commands.
 *
 * One small HTTP server (libevent's evhttp) on the command's own event_base,
 * so every handler runs on the loop's thread between packets and needs no
 * locks.  It serves what a source gives it - counters and parameters, kept by
 * the library - and knows nothing of templates, proxies or replays:
 *
 *   GET   /stats    the counters, one JSON object
 *   GET   /params   the parameters, one JSON object
 *   PATCH /params   a JSON object {"name": value, ...}; every entry is checked
 *                   (source->param_check) before any is applied (param_set),
 *                   so a patch changes everything or nothing; a value the
 *                   source refuses while applying it (param_set returns
 *                   -UMPA_EINVAL: a template's on_param raised) answers 400
 *                   and the entries applied before it are put back
 *   GET   /         the live page (tools/http_page.h: index.html, page.js,
 *                   page.css, chart.js), which follows this and other umpa
 *                   processes over the routes below
 *   GET   /conns    the connections (http_ctl_set_conns), one JSON object
 *   GET   /events   Server-Sent Events: "hello" ({"title", "pid", "bound",
 *                   "params": whether /params exists})
 *                   first, then "stats" (the counters) on connect and
 *                   every second, "log" lines and "param" changes as they
 *                   happen; any number of clients; one that goes away is
 *                   dropped, the run goes on
 *
 * More routes (the Toxiproxy API, the page) are added with http_ctl_route.
 * Errors are JSON: {"error": "one line", "status": N} with 400 (malformed),
 * 401 (token), 403 (client address), 404, 405 (with Allow), 413 (body over
 * the cap), 415 (a body that is not application/json).
 *
 * Safety: the listening address must be loopback unless it lies inside an
 * --http-allow prefix; a client is served only from loopback or an allowed
 * prefix.  With a token, every request that changes something (any method
 * but GET and HEAD) needs "Authorization: Bearer TOKEN".  Bodies are capped
 * (opts.max_body, default 64 KiB; libevent itself refuses a body above 1 MiB
 * with its own 413 page, before it is read).
 *
 * Browsers: a request with an Origin header is served only when that origin
 * is http(s)://HOST[:PORT] with HOST localhost, loopback or inside an
 * --http-allow prefix (a page of another umpa process), or this server's own
 * origin opened by a numeric address; it gets Access-Control-Allow-Origin.
 * Any other origin (a name among them) gets 403, so a web site the
 * user visits cannot drive the API.  While the API is loopback-only the Host
 * header must be a numeric address or localhost (403 otherwise: DNS
 * rebinding).  OPTIONS answers a CORS preflight (204) without the token.
 * Reads (GET, HEAD: the page, /stats, /params, /events) need no token: an
 * EventSource cannot send one, and who may read is already the address rule.
 */
#ifndef UMPA_HTTP_CTL_H
#define UMPA_HTTP_CTL_H

#include <stddef.h>

#include "umpa_error.h"
#include "umpa_sbuf.h"

struct event_base;
struct evhttp_request;

/** A control plane (opaque). */
struct http_ctl;

/** Where to listen and whom to serve. */
struct http_ctl_opts {
	const char *listen;       /**< "ADDR:PORT" or "[V6ADDR]:PORT"; PORT 0 picks a free one */
	const char *const *allow; /**< CIDR prefixes (--http-allow) besides loopback, or NULL */
	size_t nallow;            /**< their number */
	const char *token;        /**< bearer token required for changes, or NULL */
	size_t max_body;          /**< request body cap in bytes (0: 64 KiB) */
	const char *title;        /**< what this process is ("run flaky-link"), told to pages; NULL: "umpa" */
};

/** What the control plane serves (the command's counters and parameters). */
struct http_ctl_source {
	void *arg; /**< first argument of every callback */
	/** Append the counters as one JSON object to @p b. Returns 0 or negative. */
	int (*stats_json)(void *arg, struct umpa_sbuf *b);
	/** Append the parameters as one JSON object to @p b. Returns 0 or negative. */
	int (*params_json)(void *arg, struct umpa_sbuf *b);
	/** Would @p name = @p value (text) be accepted?  0, -UMPA_ENOENT or -UMPA_EINVAL with @p e set. */
	int (*param_check)(void *arg, const char *name, const char *value, struct umpa_err *e);
	/** Apply @p name = @p value (already checked). Returns 0 or negative with @p e set. */
	int (*param_set)(void *arg, const char *name, const char *value, struct umpa_err *e);
};

/**
 * Parse the options and listen on @p base.  A source callback left NULL
 * makes its route answer 404.  Returns the control plane, or NULL with @p e
 * set: "--http ADDR: ..." for a bad or non-loopback address (UMPA_EINVAL),
 * "--http-allow X: ..." for a bad prefix, or the bind error (UMPA_EIO).
 */
struct http_ctl *http_ctl_new(struct event_base *base, const struct http_ctl_opts *o, const struct http_ctl_source *src,
			      struct umpa_err *e);

/** Appends one JSON text to @p b; returns 0 or negative. */
typedef int (*http_ctl_json_fn)(void *arg, struct umpa_sbuf *b);

/**
 * Serve the current connections (or simulated peers): @p fn appends one JSON
 * object {"total": N, "list": [{...}, ...]}, served as GET /conns and as a
 * "conns" event with every "stats" event.  (A setter, not a field of
 * http_ctl_source: sources written before it stay as they are.)
 */
void http_ctl_set_conns(struct http_ctl *c, http_ctl_json_fn fn, void *arg);

/** The bound address as "ADDR:PORT" ("[ADDR]:PORT" for IPv6), the real port when 0 was asked. */
const char *http_ctl_bound(const struct http_ctl *c);

/**
 * Send one Server-Sent Event to every /events client: "event: EVENT" and
 * "data: DATA" (@p data is one line of JSON, no newline).
 */
void http_ctl_event(struct http_ctl *c, const char *event, const char *data);

/**
 * A handler of an added route.  @p body is the request body (NUL-terminated,
 * already capped and, when not empty, checked to be application/json), @p
 * len its length.  Reply with http_ctl_reply or http_ctl_error.
 */
typedef void (*http_ctl_handler)(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len);

/**
 * Serve @p path (exact, or every path under it when it ends in '/') with
 * @p fn; access control, the token and the body cap apply first.  Returns 0
 * or -UMPA_ENOMEM / -UMPA_ERANGE (at most 16 routes).
 */
int http_ctl_route(struct http_ctl *c, const char *path, http_ctl_handler fn, void *arg, struct umpa_err *e);

/**
 * As http_ctl_route, but a body of any Content-Type is taken (Toxiproxy's
 * clients and its documented curl lines send none); the handler parses it.
 */
int http_ctl_route_lax(struct http_ctl *c, const char *path, http_ctl_handler fn, void *arg, struct umpa_err *e);

/** Reply @p status with @p json (one JSON text) as application/json. */
void http_ctl_reply(struct evhttp_request *req, int status, const char *json, size_t len);

/** Reply {"error": MSG, "status": STATUS} (MSG from printf-style @p fmt). */
void http_ctl_error(struct evhttp_request *req, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Close every event stream and the listener, free everything.  NULL is fine.  Returns NULL. */
struct http_ctl *http_ctl_free(struct http_ctl *c);

#endif
