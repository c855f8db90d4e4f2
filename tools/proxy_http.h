/* proxy_http.h - `umpa proxy --http`: the proxy's counters on the HTTP control plane (tools/http_ctl.h). */
#ifndef UMPA_PROXY_HTTP_H
#define UMPA_PROXY_HTTP_H

#include "http_ctl.h"

struct umpa_loop;
struct umpa_proxy;

/**
 * Serve @p p's counters (GET /stats, the "stats" events of /events and the
 * live page) on @p loop, as @p o says (--http, --http-allow, --http-token).
 * The counters, flat for the page to chart: conns.accepted, conns.active,
 * conns.completed, conns.refused, conns.aborted, conns.resets, conns.errors,
 * conns.over_limit, tls.intercepted, tls.failed, c2s.bytes_in, c2s.bytes_out,
 * s2c.bytes_in, s2c.bytes_out.  The proxy has no parameters here (/params is
 * 404).  Returns the control plane (free it with http_ctl_free before the
 * loop), or NULL with @p e set.
 */
struct http_ctl *proxy_http_open(struct umpa_loop *loop, struct umpa_proxy *p, const struct http_ctl_opts *o,
				 struct umpa_err *e);

#endif
