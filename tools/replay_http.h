/* replay_http.h - `umpa replay --http`: a live replay's counters and pace on the HTTP control plane.
 *
 * Served on the replay's own loop (tools/http_ctl.h, started by http_cli):
 *   GET /stats, "stats" events: {"tx": packets sent, "tx.bytes", "rx": packets
 *     received that belonged to the replay, "exchanges" (settled), "matched",
 *     "differing", "missing", "unexpected", "unsent", "gaveup", "sent_only"
 *     (nothing expected, nothing came), "flows", "flows_failed", "total"
 *     (packets to send, every --loop round), "rate.pps" (sent per second over
 *     the last second or so), "round" (1-based; --learn-noise rounds first)}
 *   GET /conns, "conns" events: the flows as the page's connections:
 *     {"total": flows, "list": [{"id", "client": the flow's name, "target":
 *     "N exchanges, F failed", "age": 0, "exchanges", "failed"}]} (the first 200)
 *   GET/PATCH /params: "multiplier" (number: the recorded gaps divided by it,
 *     changed at once: umpa_replay_set_multiplier) on original timing, "pps"
 *     with --pps, "mbps" with --mbps (umpa_replay_set_rate), and "paused"
 *     (bool: umpa_replay_pause) with every pace, --topspeed included.  A
 *     change goes to every page as a "param" event.
 *   POST /pause, POST /resume: "paused" as verbs ({"paused": bool}; 409 with
 *     no run or a paced one that sent everything; 405 for another method).
 * The page (GET /) follows it as it follows umpa run.
 */
#ifndef UMPA_REPLAY_HTTP_H
#define UMPA_REPLAY_HTTP_H

#include "http_cli.h"
#include "umpa_error.h"

struct umpa_loop;
struct umpa_replay_cap;
struct umpa_replay_run;

struct replay_http;

/**
 * Start serving on @p loop's event_base as @p hc says, titled @p title,
 * about capture @p cap (borrowed) with @p total packets to send.  NULL with
 * @p e set (UMPA_EINVAL: a bad --http address or --http-allow prefix).
 */
struct replay_http *replay_http_new(struct umpa_loop *loop, const struct http_cli *hc, const char *title,
				    const struct umpa_replay_cap *cap, uint64_t total, struct umpa_err *e);

/**
 * Follow run @p run from now (each --learn-noise round, then the replay;
 * NULL: none).  A multiplier changed over the API carries over to the next
 * run.
 */
void replay_http_attach(struct replay_http *h, struct umpa_replay_run *run);

/** Stop serving and free (before the loop).  NULL is fine.  Returns NULL. */
struct replay_http *replay_http_free(struct replay_http *h);

#endif
