/* umpa_proxy_redis.h - the proxy's redis control API (tcpproxy "mallory revisited"), on hiredis's libevent adapter.
 *
 * With a redis at HOST:PORT the proxy, on its own loop (never blocking it):
 * - sets `modules` (every module name, by spaces), `default_modules`
 *   ("peek_sni,peek_httphost,peek_ssl") and `module:NAME:help` when it connects;
 * - reads `rules` (JSON, umpa_proxy_rules.h) and `debugging` (0/1) in one
 *   MGET for each new connection before its modules are chosen
 *   (umpa_proxy_redis_gate), and every 250 ms: a changed `rules` is checked
 *   and put in force (a bad one is reported once and the rules in force
 *   stay);
 * - counts every connection: HINCRBY of `stats:summary:bytes|packets` (field
 *   src:dst:dstport:hostname:tags) and `stats:connections:bytes|packets`
 *   (field src:srcport:dst:dstport:hostname:tags), `stats:connections:status`
 *   "O" then "C" at its end; batched: once a second and at each end, never a
 *   command per chunk;
 * - carries the modules debug (PUBLISH debug:CHANNEL) and inspect (PUBLISH
 *   inspect:CHANNEL, then the reply on inspected:CHANNEL, PSUBSCRIBEd on a
 *   second connection, releases the held chunk with its possibly edited
 *   base64 data; matched by seq and c2s/s2c when the reply has them; the
 *   reply may also come on inspected:SRC:SRCPORT:DST:DSTPORT, the channel
 *   tcpproxy's own inspect module and command-line client use);
 * - keeps the man-in-the-middle CA in `ca:cert` / `ca:key` and each leaf in
 *   `HOST:cert` / `HOST:key`, read back at start (umpa_proxy_redis_ca).
 * A redis that cannot be reached or goes away: the proxy goes on, one line
 * goes to the log, and both connections are tried again with a backoff
 * (0.25 s doubling to 30 s); a line says when it is back.
 */
#ifndef UMPA_PROXY_REDIS_H
#define UMPA_PROXY_REDIS_H

#include <stdint.h>

#include "umpa_error.h"

struct umpa_loop;
struct umpa_proxy;
struct umpa_proxy_mods;
struct umpa_proxy_ca;

struct umpa_proxy_redis;

/** Receives the control API's notes (unreachable, back, rules changed).  One line each. */
typedef void (*umpa_proxy_redis_log_fn)(void *arg, const char *msg);

/**
 * Parse "redis://HOST:PORT" (PORT default 6379; "redis://HOST:PORT/DB" selects DB) into @p host
 * (@p n bytes), @p port and @p db.  Returns 0 or -UMPA_EINVAL with @p e set.
 */
int umpa_proxy_redis_url(const char *url, char *host, size_t n, int *port, int *db, struct umpa_err *e);

/**
 * Start the control API of @p url on @p loop for module host @p m (its bus
 * is set).  Connecting happens on the loop: an unreachable redis is not an
 * error here.  Returns NULL with @p e set for a bad URL.
 */
struct umpa_proxy_redis *umpa_proxy_redis_new(struct umpa_loop *loop, struct umpa_proxy_mods *m, const char *url,
					      umpa_proxy_redis_log_fn log, void *arg, struct umpa_err *e);

/** The proxy whose chunks inspect holds (umpa_proxy_release).  After umpa_proxy_new. */
void umpa_proxy_redis_set_proxy(struct umpa_proxy_redis *r, struct umpa_proxy *p);

/**
 * The proxy's opts.gate (arg: @p r, umpa_proxy_redis_set_proxy done): a new
 * connection waits for one MGET rules debugging sent after it arrived, so
 * a SET of `rules` answered before the client connected is in force for it
 * (redis answers in order), then goes on (umpa_proxy_proceed); after 0.5 s
 * without an answer, or at once while redis is down, it goes on with the
 * rules in force.  Returns 1 (wait) or 0 (go on now).
 */
int umpa_proxy_redis_gate(void *arg, uint64_t id);

/**
 * The man-in-the-middle CA from the keys `ca:cert` and `ca:key` (PEM), at
 * start, with one blocking exchange (2 s at most) before the loop runs:
 * when both are there they are loaded (*@p from_redis = 1); otherwise @p
 * fallback (may be NULL: a new CA is made in memory) is used and stored
 * there with SET NX, as tcpproxy does (a key the UI set wins), now or as
 * soon as redis is reachable.  Returns the CA (the caller frees it; NULL
 * with @p e set when the keys do not hold a CA).  *@p note gets a line to
 * tell ("redis: CA from ca:cert", "redis 127.0.0.1:1: Connection refused:
 * the CA goes there once it is reachable").  In the same exchange the
 * leaves stored in HOST:cert and HOST:key (SCAN MATCH *:cert; by an
 * earlier run, another proxy sharing the redis, or a UI) are read into the
 * CA's cache when they are this CA's, valid now and carry a matching key:
 * they are served as they are, not made again; those that are not are
 * deleted.  Each leaf made from then on goes to HOST:cert and HOST:key
 * (MSETNX: a leaf another proxy stored first stays).
 */
struct umpa_proxy_ca *umpa_proxy_redis_ca(struct umpa_proxy_redis *r, struct umpa_proxy_ca *fallback, int *from_redis,
					  char *note, size_t nn, struct umpa_err *e);

/**
 * The proxy's mitm.sni_seen (arg: @p r, after umpa_proxy_redis_ca): a
 * server name with no leaf in the CA's cache is looked up in HOST:cert and
 * HOST:key (one MGET) before connection @p id connects upstream (at most
 * 0.5 s; once per name), so a leaf another proxy on the same redis made
 * meanwhile is served rather than a new one made.  A stored leaf that does
 * not load with this CA is deleted.  Returns 1 (the connection waits for
 * umpa_proxy_proceed) or 0 (cached already, or redis down: on at once).
 */
int umpa_proxy_redis_sni(void *arg, const char *sni, uint64_t id);

/** Stop (the last batch of counts is sent when connected) and free @p r.  NULL is fine.  Returns NULL. */
struct umpa_proxy_redis *umpa_proxy_redis_free(struct umpa_proxy_redis *r);

#endif
