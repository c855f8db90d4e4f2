/* proxy_http.c - the proxy's counters as a source of the HTTP control plane (see proxy_http.h). */
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "proxy_http.h"
#include "umpa_proxy.h"
#include "umpa_proxy_lua.h"
#include "umpa_sched.h"
#include "umpa_udprelay.h"

/* proxy --udp: the relay's counters, with the tiles' names (bytes per direction, dropped, duplicated, delayed) */
static int udp_stats_json(const struct umpa_udprelay *u, struct umpa_sbuf *b)
{
	struct umpa_udprelay_stats st;
	struct umpa_impair_stats im[2];

	umpa_udprelay_stats(u, &st);
	umpa_udprelay_impair_total(u, 0, &im[0]);
	umpa_udprelay_impair_total(u, 1, &im[1]);
	umpa_sbuf_printf(
	    b,
	    "{\"sessions.made\":%llu,\"sessions.active\":%llu,\"sessions.refused\":%llu,"
	    "\"c2s.dgrams_in\":%llu,\"c2s.dgrams_out\":%llu,\"s2c.dgrams_in\":%llu,\"s2c.dgrams_out\":%llu,"
	    "\"c2s.bytes_in\":%llu,\"c2s.bytes_out\":%llu,\"s2c.bytes_in\":%llu,\"s2c.bytes_out\":%llu,"
	    "\"c2s.dropped\":%llu,\"s2c.dropped\":%llu,\"c2s.modules_dropped\":%llu,"
	    "\"s2c.modules_dropped\":%llu}",
	    (unsigned long long)st.sessions, (unsigned long long)st.active, (unsigned long long)st.refused,
	    (unsigned long long)st.dgrams_in[0], (unsigned long long)st.dgrams_out[0],
	    (unsigned long long)st.dgrams_in[1], (unsigned long long)st.dgrams_out[1],
	    (unsigned long long)st.bytes_in[0], (unsigned long long)st.bytes_out[0], (unsigned long long)st.bytes_in[1],
	    (unsigned long long)st.bytes_out[1], (unsigned long long)im[0].dropped, (unsigned long long)im[1].dropped,
	    (unsigned long long)st.hook_dropped[0], (unsigned long long)st.hook_dropped[1]);
	return b->oom ? -UMPA_ENOMEM : 0;
}

static int proxy_stats_json(void *arg, struct umpa_sbuf *b)
{
	struct proxy_http_src *ps = arg;
	struct umpa_proxy_stats st;

	if (!ps->p)
		return ps->u ? udp_stats_json(ps->u, b) : (umpa_sbuf_puts(b, "{}"), 0);
	umpa_proxy_stats(ps->p, &st);
	umpa_sbuf_printf(
	    b,
	    "{\"conns.accepted\":%llu,\"conns.active\":%llu,\"conns.completed\":%llu,"
	    "\"conns.refused\":%llu,\"conns.aborted\":%llu,\"conns.resets\":%llu,\"conns.errors\":%llu,"
	    "\"conns.over_limit\":%llu,\"tls.intercepted\":%llu,\"tls.failed\":%llu,"
	    "\"c2s.bytes_in\":%llu,\"c2s.bytes_out\":%llu,\"s2c.bytes_in\":%llu,\"s2c.bytes_out\":%llu}",
	    (unsigned long long)st.accepted, (unsigned long long)st.active, (unsigned long long)st.completed,
	    (unsigned long long)st.refused, (unsigned long long)st.aborted, (unsigned long long)st.resets,
	    (unsigned long long)st.errors, (unsigned long long)st.over_limit, (unsigned long long)st.tls,
	    (unsigned long long)st.tls_failed, (unsigned long long)st.bytes_in[UMPA_PROXY_C2S],
	    (unsigned long long)st.bytes_out[UMPA_PROXY_C2S], (unsigned long long)st.bytes_in[UMPA_PROXY_S2C],
	    (unsigned long long)st.bytes_out[UMPA_PROXY_S2C]);
	return b->oom ? -UMPA_ENOMEM : 0;
}

#define CONNS_MAX_LISTED 200 /* per event: the newest; "total" tells how many are open */

struct conns_ctx {
	struct umpa_sbuf *b;
	int64_t now;
	size_t n;
};

static void conn_json(void *arg, const struct umpa_proxy_conn_stats *s)
{
	struct conns_ctx *x = arg;
	char a[96];
	int64_t age = x->now - s->started_ns;

	if (x->n++ >= CONNS_MAX_LISTED)
		return;
	if (x->n > 1)
		umpa_sbuf_putc(x->b, ',');
	umpa_sbuf_printf(x->b, "{\"id\":%llu,\"client\":", (unsigned long long)s->ci->id);
	snprintf(a, sizeof(a), strchr(s->ci->src, ':') ? "[%s]:%u" : "%s:%u", s->ci->src, s->ci->sport);
	umpa_sbuf_put_json_str(x->b, a, strlen(a));
	umpa_sbuf_puts(x->b, ",\"target\":");
	snprintf(a, sizeof(a), strchr(s->ci->dst, ':') ? "[%s]:%u" : "%s:%u", s->ci->dst, s->ci->dport);
	umpa_sbuf_put_json_str(x->b, a, strlen(a));
	umpa_sbuf_printf(
	    x->b,
	    ",\"age\":%.3f,\"connected\":%s,\"tls\":%s,\"c2s.bytes_in\":%llu,\"c2s.bytes_out\":%llu,"
	    "\"s2c.bytes_in\":%llu,\"s2c.bytes_out\":%llu,\"sni\":",
	    age > 0 ? (double)age / 1e9 : 0.0, s->connected ? "true" : "false", s->tls ? "true" : "false",
	    (unsigned long long)s->bytes_in[UMPA_PROXY_C2S], (unsigned long long)s->bytes_out[UMPA_PROXY_C2S],
	    (unsigned long long)s->bytes_in[UMPA_PROXY_S2C], (unsigned long long)s->bytes_out[UMPA_PROXY_S2C]);
	umpa_sbuf_put_json_str(x->b, s->sni ? s->sni : "", s->sni ? strlen(s->sni) : 0);
	umpa_sbuf_putc(x->b, '}');
}

/* {"total": N, "list": [{"id", "client", "target", "age", "connected", "tls", bytes per direction, "sni"}]} */
static int proxy_conns_json(void *arg, struct umpa_sbuf *b)
{
	struct proxy_http_src *ps = arg;
	struct conns_ctx x = {b, umpa_loop_wall_ns(ps->loop), 0};

	umpa_sbuf_puts(b, "{\"list\":[");
	if (ps->p)
		umpa_proxy_conns(ps->p, conn_json, &x);
	else if (ps->u) /* proxy --udp: a session (client address and port) is the connection */
		umpa_udprelay_sessions(ps->u, conn_json, &x);
	umpa_sbuf_printf(b, "],\"total\":%zu}", x.n);
	return b->oom ? -UMPA_ENOMEM : 0;
}

/* GET /rules: the rules in force; PUT /rules: new ones. */
static void rules_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct proxy_http_src *ps = arg;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct umpa_sbuf b = {0};
	struct umpa_err e = {0, ""};
	(void)path;
	if (m == EVHTTP_REQ_PUT) {
		if (umpa_proxy_mods_rules_text(ps->mods, body, len, "PUT /rules", &e) < 0) {
			http_ctl_error(req, 400, "%s", e.msg);
			return;
		}
	} else if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, PUT");
		http_ctl_error(req, 405, "/rules: GET or PUT");
		return;
	}
	if (umpa_proxy_rules_json(umpa_proxy_mods_rules(ps->mods), &b) < 0) {
		umpa_sbuf_free(&b);
		http_ctl_error(req, 500, "out of memory");
		return;
	}
	http_ctl_reply(req, 200, b.s, b.len);
	umpa_sbuf_free(&b);
}

struct http_ctl *proxy_http_open(struct proxy_http_src *ps, const struct http_ctl_opts *o, struct umpa_err *e)
{
	const struct http_ctl_source src = {.arg = ps, .stats_json = proxy_stats_json};
	struct http_ctl *c = http_ctl_new(umpa_loop_event_base(ps->loop), o, &src, e);

	if (c)
		http_ctl_set_conns(c, proxy_conns_json, ps);
	if (c && ps->mods && http_ctl_route(c, "/rules", rules_route, ps, e) < 0)
		c = http_ctl_free(c);
	return c;
}
