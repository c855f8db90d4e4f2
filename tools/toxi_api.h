/* toxi_api.h - the Toxiproxy 2.x compatible API of `umpa proxy --api` (on the HTTP control plane).
 *
 * Routes (JSON shapes as Toxiproxy's api.go): GET/POST /proxies, POST
 * /populate, GET/POST/PATCH/DELETE /proxies/{name}, GET/POST
 * /proxies/{name}/toxics, GET/POST/PATCH/DELETE /proxies/{name}/toxics/{toxic},
 * POST /reset, GET /version, GET /metrics (Prometheus text).  Errors are
 * {"error": "...", "status": N}.  Proxies are TCP (umpa_proxy with the
 * toxics of sched/umpa_toxics.h as hooks) or, with "protocol": "udp",
 * datagram relays (sched/umpa_udprelay.h) whose toxics become a netem-like
 * impairment.
 */
#ifndef UMPA_TOXI_API_H
#define UMPA_TOXI_API_H

#include "http_ctl.h"
#include "umpa_error.h"
#include "umpa_sched.h"

/** The API's state: the proxies it made. */
struct toxi_api;

/** Serve the API on @p ctl (its routes are added) for proxies on @p loop.  NULL with @p e set. */
struct toxi_api *toxi_api_new(struct umpa_loop *loop, struct http_ctl *ctl, struct umpa_err *e);

/**
 * Module files (--module-file) that every "lua" toxic's Lua host loads
 * before its chain; @p files must outlive @p a.
 */
void toxi_api_modules(struct toxi_api *a, const char *const *files, size_t n);

/**
 * Load a Toxiproxy config file (a JSON array of proxies, as POST /populate)
 * at @p path.  Returns the number of proxies, or negative with @p e set
 * naming the file and the problem.
 */
int toxi_api_config(struct toxi_api *a, const char *path, struct umpa_err *e);

/**
 * The proxies' counters as one JSON object {"proxies": {NAME: {...}}} appended to @p b
 * (the control plane's /stats and /events).  0 or -UMPA_ENOMEM.
 */
int toxi_api_stats_json(struct toxi_api *a, struct umpa_sbuf *b);

/** Stop every proxy and free @p a (NULL is fine).  Returns NULL. */
struct toxi_api *toxi_api_free(struct toxi_api *a);

#endif
