/* proxy_http.h - `umpa proxy --http`: the proxy's counters on the HTTP control plane (tools/http_ctl.h). */
#ifndef UMPA_PROXY_HTTP_H
#define UMPA_PROXY_HTTP_H

#include "http_ctl.h"

struct umpa_loop;
struct umpa_proxy;
struct umpa_proxy_mods;
struct umpa_udprelay;

/** What the control plane reads (the caller's storage, alive as long as the control plane). */
struct proxy_http_src {
	struct umpa_proxy *p;    /**< the proxy (NULL: --udp) */
	struct umpa_loop *loop;  /**< its loop (the event_base, the clock of connection ages) */
	struct umpa_udprelay *u; /**< --udp: the relay, whose counters are served instead (sessions.*, c2s.dgrams_in,
				    c2s.bytes_in ... s2c.bytes_out, c2s.dropped, s2c.dropped, *.modules_dropped) */

	struct umpa_proxy_mods *mods; /**< its module host: GET and PUT /rules (NULL: no /rules) */
};

/**
 * Serve the counters of @p ps->p (GET /stats, the "stats" events of /events
 * and the live page) and its open connections (GET /conns, "conns" events:
 * {"total": N, "list": [{"id", "client", "target", "age" (s), "connected",
 * "tls", "c2s.bytes_in", "c2s.bytes_out", "s2c.bytes_in", "s2c.bytes_out",
 * "sni"}]}, the newest 200) on its loop, as @p o says (--http, --http-allow,
 * --http-token).
 * The counters, flat for the page to chart: conns.accepted, conns.active,
 * conns.completed, conns.refused, conns.aborted, conns.resets, conns.errors,
 * conns.over_limit, tls.intercepted, tls.failed, c2s.bytes_in, c2s.bytes_out,
 * s2c.bytes_in, s2c.bytes_out.  The proxy has no parameters here (/params is
 * 404).  GET /rules: the rules in force as a JSON list (umpa_proxy_rules.h,
 * every key present); PUT /rules with such a list checks it (every module
 * and option) and puts it in force for the connections opened from then on
 * (200 and the list, or 400 {"error": "PUT /rules: rule 1: module 'x' does
 * not exist ..."}).  Returns the control plane (free it with http_ctl_free before the
 * loop), or NULL with @p e set.
 */
struct http_ctl *proxy_http_open(struct proxy_http_src *ps, const struct http_ctl_opts *o, struct umpa_err *e);

#endif
