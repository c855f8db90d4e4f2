/* replay_http.c - the counters, flows and pace of `umpa replay --http` (replay_http.h). */
#include "replay_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "umpa_replay.h"
#include "umpa_sched.h"

#define REPLAY_HTTP_FLOWS 200 /* flows listed in /conns */

struct replay_http {
	struct http_ctl *ctl;
	struct umpa_loop *loop;
	const struct umpa_replay_cap *cap;
	struct umpa_replay_run *run;
	uint64_t total;
	unsigned round;
	double mult, rate;   /* set over the API (0: never): carried to the next run */
	double mult0, rate0; /* the command line's (the parameters' defaults) */
	/* the send rate: a sample at least half a second old */
	int64_t rate_ns;
	uint64_t rate_sent;
	double pps;
};

static int stats_json(void *arg, struct umpa_sbuf *b)
{
	struct replay_http *h = arg;
	struct umpa_replay_summary s;
	int64_t now = umpa_loop_now_ns(h->loop);
	memset(&s, 0, sizeof(s));
	if (h->run)
		umpa_replay_run_summary(h->run, &s);
	if (!h->rate_ns || s.sent < h->rate_sent) {
		h->rate_ns = now;
		h->rate_sent = s.sent;
	} else if (now - h->rate_ns >= UMPA_NS_PER_SEC / 2) {
		h->pps = (double)(s.sent - h->rate_sent) * 1e9 / (double)(now - h->rate_ns);
		h->rate_ns = now;
		h->rate_sent = s.sent;
	}
	umpa_sbuf_printf(
	    b,
	    "{\"tx\":%llu,\"tx.bytes\":%llu,\"rx\":%llu,\"exchanges\":%llu,\"matched\":%llu,"
	    "\"differing\":%llu,\"missing\":%llu,\"unexpected\":%llu,\"unsent\":%llu,\"gaveup\":%llu,"
	    "\"sent_only\":%llu,\"flows\":%u,\"flows_failed\":%u,\"total\":%llu,\"rate.pps\":%.1f,"
	    "\"round\":%u}",
	    (unsigned long long)s.sent, (unsigned long long)s.sent_bytes, (unsigned long long)s.received,
	    (unsigned long long)s.exchanges, (unsigned long long)s.verdicts[UMPA_RV_MATCHED],
	    (unsigned long long)s.verdicts[UMPA_RV_DIFFERING], (unsigned long long)s.verdicts[UMPA_RV_MISSING],
	    (unsigned long long)s.verdicts[UMPA_RV_UNEXPECTED], (unsigned long long)s.verdicts[UMPA_RV_UNSENT],
	    (unsigned long long)s.verdicts[UMPA_RV_GAVEUP], (unsigned long long)s.verdicts[UMPA_RV_SENT],
	    h->cap->nflows, s.flows_failed, (unsigned long long)h->total, h->pps, h->round);
	return b->oom ? -UMPA_ENOMEM : 0;
}

static int conns_json(void *arg, struct umpa_sbuf *b)
{
	struct replay_http *h = arg;
	struct umpa_replay_report *rep = h->run ? umpa_replay_run_report(h->run) : NULL;
	umpa_sbuf_printf(b, "{\"total\":%u,\"list\":[", h->cap->nflows);
	for (uint32_t f = 0; f < h->cap->nflows && f < REPLAY_HTTP_FLOWS; f++) {
		uint32_t n = 0, bad = 0;
		const char *name = h->cap->flows[f].name;
		if (rep)
			umpa_replay_report_flow(rep, f, &n, &bad);
		umpa_sbuf_printf(b, "%s{\"id\":%u,\"client\":", f ? "," : "", f + 1);
		umpa_sbuf_put_json_str(b, name, strlen(name));
		umpa_sbuf_printf(b,
				 ",\"target\":\"%u exchange%s, %u failed\",\"age\":0,\"exchanges\":%u,\"failed\":%u}",
				 n, n == 1 ? "" : "s", bad, n, bad);
	}
	umpa_sbuf_puts(b, "]}");
	return b->oom ? -UMPA_ENOMEM : 0;
}

/* What can change: "multiplier" and "paused" (original timing), "pps" or "mbps" and "paused" (paced by them),
 * "paused" (--topspeed); none without a run. */
enum rh_mode { RH_NONE, RH_TIMING, RH_PPS, RH_MBPS, RH_TOP };

static enum rh_mode mode_of(const struct replay_http *h)
{
	double pps, mbps;
	if (!h->run)
		return RH_NONE;
	if (!umpa_replay_run_paced(h->run))
		return RH_TIMING;
	umpa_replay_rate_now(h->run, &pps, &mbps);
	return pps > 0 ? RH_PPS : mbps > 0 ? RH_MBPS : RH_TOP;
}

#define RH_PAUSED_HELP "nothing is sent while paused; answers are still checked"

static int params_json(void *arg, struct umpa_sbuf *b)
{
	struct replay_http *h = arg;
	double pps = 0, mbps = 0;
	enum rh_mode m = mode_of(h);
	if (h->run)
		umpa_replay_rate_now(h->run, &pps, &mbps);
	if (m == RH_TIMING)
		umpa_sbuf_printf(
		    b,
		    "{\"multiplier\":{\"type\":\"number\",\"value\":\"%g\",\"default\":\"%g\","
		    "\"min\":\"0.1\",\"max\":\"10\",\"help\":\"speed factor on the recorded gaps (2: twice "
		    "as fast), at once\"},\"paused\":{\"type\":\"bool\",\"value\":\"%s\",\"default\":"
		    "\"false\",\"help\":\"" RH_PAUSED_HELP "\"}}",
		    umpa_replay_multiplier(h->run), h->mult0, umpa_replay_paused(h->run) ? "true" : "false");
	else if (m == RH_PPS || m == RH_MBPS)
		umpa_sbuf_printf(b,
				 "{\"%s\":{\"type\":\"number\",\"value\":\"%g\",\"default\":\"%g\",\"min\":\"0\","
				 "\"max\":\"%g\",\"help\":\"%s, at once\"},\"paused\":{\"type\":\"bool\",\"value\":"
				 "\"%s\",\"default\":\"false\",\"help\":\"" RH_PAUSED_HELP "\"}}",
				 m == RH_PPS ? "pps" : "mbps", m == RH_PPS ? pps : mbps, h->rate0, h->rate0 * 10,
				 m == RH_PPS ? "packets per second" : "megabits per second",
				 umpa_replay_paused(h->run) ? "true" : "false");
	else if (m == RH_TOP)
		umpa_sbuf_printf(b,
				 "{\"paused\":{\"type\":\"bool\",\"value\":\"%s\",\"default\":\"false\",\"help\":"
				 "\"" RH_PAUSED_HELP "\"}}",
				 umpa_replay_paused(h->run) ? "true" : "false");
	else
		umpa_sbuf_puts(b, "{}");
	return b->oom ? -UMPA_ENOMEM : 0;
}

/* "true"/"false"/"1"/"0" into *on.  0 or -1. */
static int parse_bool(const char *v, int *on)
{
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*on = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*on = 0;
	else
		return -1;
	return 0;
}

/* A number in (0, max] from @p v.  0 or -1. */
static int parse_pos(const char *v, double max, double *out)
{
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !(x > 0 && x <= max))
		return -1;
	*out = x;
	return 0;
}

static int param_check(void *arg, const char *name, const char *value, struct umpa_err *e)
{
	struct replay_http *h = arg;
	enum rh_mode m = mode_of(h);
	const char *names = m == RH_TIMING ? "multiplier, paused"
			    : m == RH_PPS  ? "pps, paused"
			    : m == RH_MBPS ? "mbps, paused"
			    : m == RH_TOP  ? "paused"
					   : NULL;
	double x;
	int on;
	if (!names)
		return umpa_err_set(e, UMPA_ENOENT, "unknown parameter '%s' (no replay is running)", name);
	if (!strcmp(name, "paused")) {
		if (parse_bool(value, &on) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "parameter 'paused': '%s' is not true or false", value);
		return 0;
	}
	if ((m == RH_TIMING && !strcmp(name, "multiplier")) || (m == RH_PPS && !strcmp(name, "pps")) ||
	    (m == RH_MBPS && !strcmp(name, "mbps"))) {
		double max = m == RH_PPS ? 1e9 : 1e6;
		if (parse_pos(value, max, &x) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "parameter '%s': '%s' is not a number above 0, at most %g",
					    name, value, max);
		return 0;
	}
	return umpa_err_set(e, UMPA_ENOENT, "unknown parameter '%s' (this replay has: %s)", name, names);
}

static void param_event(struct replay_http *h, const char *name, const char *value)
{
	struct umpa_sbuf b = {0};
	umpa_sbuf_puts(&b, "{\"name\":");
	umpa_sbuf_put_json_str(&b, name, strlen(name));
	umpa_sbuf_puts(&b, ",\"value\":");
	umpa_sbuf_put_json_str(&b, value, strlen(value));
	umpa_sbuf_putc(&b, '}');
	if (b.s && !b.oom)
		http_ctl_event(h->ctl, "param", b.s);
	umpa_sbuf_free(&b);
}

static int param_set(void *arg, const char *name, const char *value, struct umpa_err *e)
{
	struct replay_http *h = arg;
	char txt[32];
	double x = 0;
	if (param_check(arg, name, value, e) < 0)
		return -UMPA_EINVAL;
	if (!strcmp(name, "paused")) {
		int on = 0;
		parse_bool(value, &on);
		if (umpa_replay_pause(h->run, on, e) < 0)
			return -UMPA_EINVAL;
		param_event(h, name, on ? "true" : "false");
		return 0;
	}
	parse_pos(value, 1e9, &x);
	if (!strcmp(name, "multiplier")) {
		if (umpa_replay_set_multiplier(h->run, x, e) < 0)
			return -UMPA_EINVAL;
		h->mult = x;
	} else {
		if (umpa_replay_set_rate(h->run, !strcmp(name, "pps") ? x : 0, !strcmp(name, "mbps") ? x : 0, e) < 0)
			return -UMPA_EINVAL;
		h->rate = x;
	}
	snprintf(txt, sizeof(txt), "%g", x);
	param_event(h, name, txt);
	return 0;
}

/* POST /pause, POST /resume: the "paused" parameter as a verb (curl -X POST .../pause); answers {"paused": bool} */
static void pause_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct replay_http *h = arg;
	struct umpa_err e = {0, ""};
	int on = !strcmp(path, "/pause");
	char out[32];

	(void)body;
	(void)len;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		http_ctl_error(req, 405, "%s: method not allowed (allowed: POST)", path);
		return;
	}
	if (!h->run) {
		http_ctl_error(req, 409, "%s: no replay is running", path);
		return;
	}
	if (umpa_replay_pause(h->run, on, &e) < 0) {
		http_ctl_error(req, 409, "%s: %s", path, e.msg);
		return;
	}
	param_event(h, "paused", on ? "true" : "false");
	snprintf(out, sizeof(out), "{\"paused\":%s}", on ? "true" : "false");
	http_ctl_reply(req, 200, out, strlen(out));
}

struct replay_http *replay_http_new(struct umpa_loop *loop, const struct http_cli *hc, const char *title,
				    const struct umpa_replay_cap *cap, uint64_t total, struct umpa_err *e)
{
	struct replay_http *h = calloc(1, sizeof(*h));
	struct http_ctl_source src = {0};
	if (!h) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->cap = cap;
	h->total = total;
	src = (struct http_ctl_source){h, stats_json, params_json, param_check, param_set};
	if (!(h->ctl = http_cli_start(hc, umpa_loop_event_base(loop), title, &src, e))) {
		free(h);
		return NULL;
	}
	http_ctl_set_conns(h->ctl, conns_json, h);
	if (http_ctl_route(h->ctl, "/pause", pause_route, h, e) < 0 ||
	    http_ctl_route(h->ctl, "/resume", pause_route, h, e) < 0) {
		replay_http_free(h);
		return NULL;
	}
	return h;
}

void replay_http_attach(struct replay_http *h, struct umpa_replay_run *run)
{
	struct umpa_err e = {0, ""};
	if (!h)
		return;
	h->run = run;
	h->rate_ns = 0;
	if (!run)
		return;
	if (!h->round++) {
		double pps, mbps;
		umpa_replay_rate_now(run, &pps, &mbps);
		h->mult0 = umpa_replay_multiplier(run);
		h->rate0 = pps > 0 ? pps : mbps;
	}
	/* what was set over the API goes on in the next round */
	if (h->mult > 0)
		umpa_replay_set_multiplier(run, h->mult, &e);
	if (h->rate > 0) {
		double pps, mbps;
		umpa_replay_rate_now(run, &pps, &mbps);
		umpa_replay_set_rate(run, pps > 0 ? h->rate : 0, pps > 0 ? 0 : h->rate, &e);
	}
	if (mode_of(h) != RH_NONE)
		param_event(h, "paused", "false");
}

struct replay_http *replay_http_free(struct replay_http *h)
{
	if (!h)
		return NULL;
	http_ctl_free(h->ctl);
	free(h);
	return NULL;
}
