/* cmd_run.c - `umpa run`: run a Lua template live on interfaces or offline on a capture.
 *
 * The runtime is templates/umpa_run.h; this file parses the command line,
 * prints log lines on stderr and the counters on exit (and on SIGUSR1), and
 * maps errors to exit codes: 2 for a command line that cannot work (an
 * unknown option, template or parameter, a --set value of the wrong type),
 * 1 for a template that fails (syntax error, bad field, a failing callback
 * under --strict) or I/O.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_cli.h"
#include "http_ctl.h"
#include "umpa_run.h"
#include "umpa_sched.h"
#include "umpa_tool.h"

static const char run_usage[] = "usage: umpa run TEMPLATE [-i IF ...] [--offline IN] [-w OUT] [--set KEY=VALUE ...]\n"
				"                [--duration S] [--strict] [--json] [--http ADDR:PORT]\n"
				"                [--http-allow CIDR ...] [--http-token TOKEN]\n"
				"                [--allow-read DIR] [--allow-write DIR] [--keylog FILE]\n"
				"       umpa run --list                 the shipped templates, a line each\n"
				"       umpa run TEMPLATE --help        the template's parameters\n"
				"\n"
				"Run a Lua template (a path, or a name found in $UMPA_TEMPLATE_PATH or the\n"
				"installed templates directory) that answers, sends and counts packets.\n"
				"  -i IF            run live on IF (repeat for more interfaces)\n"
				"  --offline IN     run on the virtual clock: IN's packets arrive at their\n"
				"                   timestamps; what the template sends goes to -w only\n"
				"  -w OUT           write everything received and sent to OUT (pcapng), with\n"
				"                   comments linking replies to requests\n"
				"  --set KEY=VALUE  set a template parameter (checked against its type)\n"
				"  --duration S     stop after S seconds (on the virtual clock offline)\n"
				"  --strict         a failing callback stops the run (exit 1)\n"
				"  --json           print the counters as one JSON object on exit\n"
				"  --http ADDR:PORT serve the control API on a live run: GET / (the live page),\n"
				"                   GET /stats, GET and PATCH /params, GET /events (Server-Sent\n"
				"                   Events); loopback only; port 0 picks one (printed: 'http:\n"
				"                   listening on A:P')\n"
				"  --http-allow CIDR  also listen on / serve clients from CIDR (repeatable)\n"
				"  --http-token TOKEN changes (PATCH) need 'Authorization: Bearer TOKEN'\n"
				"  --allow-read DIR, --allow-write DIR\n"
				"                   directories the template's file.read / file.write may use\n"
				"  --keylog FILE    append the TLS secrets of tls.serve sessions (SSLKEYLOGFILE);\n"
				"                   -w files carry them anyway (a Decryption Secrets Block)\n"
				"  --busy-poll US   live: after a packet keep polling the captures for US\n"
				"                   microseconds of quiet before sleeping (default 0: never; 200\n"
				"                   answers a ping flood without wakeups);\n"
				"                   lower latency for a CPU kept busy while packets flow\n"
				"Counters go to standard output on exit and on SIGUSR1; log lines to standard\n"
				"error.  SIGINT/SIGTERM stop a live run.\n"
				"Exit status: 0 ok, 1 the template or I/O failed, 2 usage (unknown option,\n"
				"template or parameter, a value of the wrong type).\n";

#ifndef UMPA_SRC_TEMPLATEDIR
#define UMPA_SRC_TEMPLATEDIR ""
#endif

/* Where names are looked up: $UMPA_TEMPLATE_PATH, else the installed
 * directory, then the source tree's templates/ (a build tree's umpa finds the
 * shipped templates without installing). */
static const char *run_search(void)
{
	static char buf[8192];
	const char *env = getenv("UMPA_TEMPLATE_PATH");

	if (env && *env)
		return env;
	snprintf(buf, sizeof(buf), "%s%s%s", UMPA_TEMPLATEDIR, *UMPA_SRC_TEMPLATEDIR ? ":" : "", UMPA_SRC_TEMPLATEDIR);
	return buf;
}

struct run_tool {
	struct umpa_run *r;
	struct http_ctl *http;
	int json;
};

/* ---- the control API's view of the run (tools/http_ctl.h) ---- */

static int src_stats(void *arg, struct umpa_sbuf *b)
{
	return umpa_run_counters_json(arg, b);
}

static int src_params(void *arg, struct umpa_sbuf *b)
{
	return umpa_run_params_json(arg, b);
}

static int src_check(void *arg, const char *name, const char *value, struct umpa_err *e)
{
	return umpa_run_param_check(arg, name, value, e);
}

static int src_set(void *arg, const char *name, const char *value, struct umpa_err *e)
{
	return umpa_run_param_set(arg, name, value, e);
}

/*
 * Log lines to the event streams: {"ts": seconds, "level": "info"|"error", "line": "..."}.
 * @arg is the run_tool: the control plane is freed before the run (whose
 * loop owns its event_base), and a line logged after that (a __gc at
 * lua_close) finds t->http NULL.
 */
static void http_log(void *arg, enum umpa_run_level lvl, int64_t ts_ns, const char *line)
{
	struct run_tool *t = arg;
	struct umpa_sbuf b = {0};

	if (!t->http)
		return;

	umpa_sbuf_printf(&b, "{\"ts\":%lld.%06lld,\"level\":\"%s\",\"line\":", (long long)(ts_ns / UMPA_NS_PER_SEC),
			 (long long)(ts_ns % UMPA_NS_PER_SEC / 1000),
			 lvl == UMPA_RUN_ERROR    ? "error"
			 : lvl == UMPA_RUN_RESULT ? "result"
						  : "info");
	umpa_sbuf_put_json_str(&b, line, strlen(line));
	umpa_sbuf_putc(&b, '}');
	if (b.s)
		http_ctl_event(t->http, "log", b.s);
	umpa_sbuf_free(&b);
}

/* A parameter changed: {"name": "...", "value": "..."} to the event streams. */
static void http_param(void *arg, const char *name, const char *value)
{
	struct run_tool *t = arg;
	struct umpa_sbuf b = {0};

	if (!t->http)
		return;

	umpa_sbuf_puts(&b, "{\"name\":");
	umpa_sbuf_put_json_str(&b, name, strlen(name));
	umpa_sbuf_puts(&b, ",\"value\":");
	umpa_sbuf_put_json_str(&b, value, strlen(value));
	umpa_sbuf_putc(&b, '}');
	if (b.s)
		http_ctl_event(t->http, "param", b.s);
	umpa_sbuf_free(&b);
}

/* Log lines to stderr with their time; report() lines (the template's result) to stdout as they
 * are.  Both are the template's text: control characters are escaped (umpa_sbuf_put_safe). */
static void log_line(void *arg, enum umpa_run_level lvl, int64_t ts_ns, const char *line)
{
	struct umpa_sbuf b = {0};

	(void)arg;
	umpa_sbuf_put_safe(&b, line, strlen(line));
	if (lvl == UMPA_RUN_RESULT) {
		printf("%s\n", b.s ? b.s : "");
		fflush(stdout);
	} else {
		fprintf(stderr, "[%lld.%06lld] %s%s\n", (long long)(ts_ns / UMPA_NS_PER_SEC),
			(long long)(ts_ns % UMPA_NS_PER_SEC / 1000), lvl == UMPA_RUN_ERROR ? "error: " : "",
			b.s ? b.s : "");
	}
	umpa_sbuf_free(&b);
}

static void print_counter(void *arg, const char *name, uint64_t v)
{
	(void)arg;
	printf("%-32s %llu\n", name, (unsigned long long)v);
}

static void print_counters(struct run_tool *t)
{
	if (t->json) {
		struct umpa_sbuf b = {0};
		umpa_run_counters_json(t->r, &b);
		printf("%.*s\n", (int)b.len, b.s ? b.s : "{}");
		umpa_sbuf_free(&b);
	} else {
		umpa_run_counters(t->r, print_counter, NULL);
	}
	fflush(stdout);
}

static void on_usr1(struct umpa_loop *loop, int signum, void *arg)
{
	(void)loop;
	(void)signum;
	print_counters(arg);
}

static void list_one(void *arg, const char *name, const char *path, const char *summary)
{
	(void)arg;
	(void)path;
	printf("%-16s %s\n", name, summary);
}

/* Print the parameters of a loaded template. */
static void print_params(struct umpa_run *r, const char *tmpl)
{
	size_t n = umpa_run_param_count(r);

	printf("umpa run %s: parameters (--set NAME=VALUE)\n", tmpl);
	for (size_t i = 0; i < n; i++) {
		struct umpa_run_param p;
		umpa_run_param_get(r, i, &p);
		printf("  %-14s %-7s %s%s%s%s\n", p.name, p.type, p.help, *p.def ? " (default " : "", p.def,
		       *p.def ? ")" : "");
	}
	if (!n)
		printf("  (none)\n");
}

int cmd_run(int argc, char **argv)
{
	enum {
		O_OFFLINE = 256,
		O_SET,
		O_DURATION,
		O_STRICT,
		O_JSON,
		O_AREAD,
		O_AWRITE,
		O_LIST,
		O_HELP,
		O_KEYLOG,
		O_BUSY
	};
	static const struct option lopts[] = {{"offline", required_argument, NULL, O_OFFLINE},
					      {"set", required_argument, NULL, O_SET},
					      {"duration", required_argument, NULL, O_DURATION},
					      {"strict", no_argument, NULL, O_STRICT},
					      {"json", no_argument, NULL, O_JSON},
					      HTTP_CLI_LOPTS,
					      {"allow-read", required_argument, NULL, O_AREAD},
					      {"allow-write", required_argument, NULL, O_AWRITE},
					      {"list", no_argument, NULL, O_LIST},
					      {"help", no_argument, NULL, O_HELP},
					      {"keylog", required_argument, NULL, O_KEYLOG},
					      {"busy-poll", required_argument, NULL, O_BUSY},
					      {NULL, 0, NULL, 0}};
	const char **ifaces = calloc((size_t)argc + 1, sizeof(char *));
	const char **sets = calloc((size_t)argc + 1, sizeof(char *));
	const char **aread = calloc((size_t)argc + 1, sizeof(char *));
	const char **awrite = calloc((size_t)argc + 1, sizeof(char *));
	struct http_cli hc = {0};
	struct umpa_run_opts o = {0};
	struct run_tool t = {0};
	struct umpa_err e = {0};
	int64_t duration = 0;
	int list = 0, help = 0, c, rc = UMPA_EXIT_OK;
	char path[4096];

	if (!ifaces || !sets || !aread || !awrite) {
		tool_err("run: out of memory");
		rc = UMPA_EXIT_ERROR;
		goto out;
	}
	o.search = run_search();
	o.ifaces = ifaces;
	o.sets = sets;
	o.allow_read = aread;
	o.allow_write = awrite;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":i:w:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifaces[o.nifaces++] = optarg;
			break;
		case 'w':
			o.out = optarg;
			break;
		case O_OFFLINE:
			o.offline = optarg;
			break;
		case O_SET:
			sets[o.nsets++] = optarg;
			break;
		case O_DURATION:
			duration = tool_ns(&umpa_num_seconds, "--duration", optarg);
			break;
		case O_STRICT:
			o.strict = 1;
			break;
		case O_JSON:
			t.json = 1;
			break;
		case O_AREAD:
			aread[o.nallow_read++] = optarg;
			break;
		case O_AWRITE:
			awrite[o.nallow_write++] = optarg;
			break;
		case O_LIST:
			list = 1;
			break;
		case O_KEYLOG:
			o.keylog = optarg;
			break;
		case O_BUSY: {
			char *end;
			long us = strtol(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || us > 1000000) {
				tool_err("run: --busy-poll '%s': microseconds, 0 to 1000000", optarg);
				rc = UMPA_EXIT_USAGE;
				goto out;
			}
			o.busy_poll_us = us;
			break;
		}
		case 'h':
		case O_HELP:
			help = 1;
			break;
		case ':':
			tool_err("run: option '%s' needs a value (try 'umpa run --help')", argv[optind - 1]);
			rc = UMPA_EXIT_USAGE;
			goto out;
		default:
			if (http_cli_opt(&hc, c, optarg))
				break;
			tool_err("run: unknown option '%s' (try 'umpa run --help')", argv[optind - 1]);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc && !o.tmpl)
		o.tmpl = argv[optind++];
	if (optind < argc) {
		tool_err("run: unexpected argument '%s' (try 'umpa run --help')", argv[optind]);
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (list) {
		if (umpa_run_list(run_search(), list_one, NULL, &e) < 0) {
			tool_err("run: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
		}
		goto out;
	}
	if (!o.tmpl) {
		if (help) {
			fputs(run_usage, stdout);
			goto out;
		}
		tool_err("run: which template? (try 'umpa run --list')");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (umpa_run_find(o.tmpl, o.search, path, sizeof(path), &e) < 0) {
		tool_err("run: %s", e.msg);
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (help) { /* load only: its parameters */
		struct umpa_run_opts ho = {.tmpl = o.tmpl, .search = o.search, .params_only = 1};
		struct umpa_run *r = umpa_run_new(&ho, &e);
		if (!r) {
			tool_err("run: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
			goto out;
		}
		print_params(r, o.tmpl);
		umpa_run_free(r);
		goto out;
	}
	if (!o.nifaces && !o.offline) {
		tool_err("run: give -i IF (live) or --offline FILE");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (o.nifaces && o.offline) {
		tool_err("run: give -i or --offline, not both");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (hc.listen && o.offline) {
		tool_err("run: --http serves a live run (-i); an offline run is over before a client could ask");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (http_cli_check(&hc, "run") < 0) {
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!(t.r = umpa_run_new(&o, &e))) {
		tool_err("run: %s", e.msg);
		rc = !strncmp(e.msg, "--set ", 6) ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
		goto out;
	}
	umpa_run_add_log(t.r, log_line, NULL, NULL);
	if (hc.listen) { /* the control API: evhttp on the run's own loop */
		const struct http_ctl_source src = {t.r, src_stats, src_params, src_check, src_set};
		char title[256];
		snprintf(title, sizeof(title), "run %s", o.tmpl);
		if (!(t.http = http_cli_start(&hc, umpa_loop_event_base(umpa_run_loop(t.r)), title, &src, &e)) ||
		    umpa_run_add_log(t.r, http_log, &t, &e) < 0) {
			tool_err("run: %s", e.msg);
			rc = e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
			goto out;
		}
		umpa_run_on_param(t.r, http_param, &t);
	}
	if (!o.offline) {
		struct umpa_loop *loop = umpa_run_loop(t.r);
		if (umpa_loop_break_on_signal(loop, SIGINT, &e) < 0 ||
		    umpa_loop_break_on_signal(loop, SIGTERM, &e) < 0 ||
		    umpa_loop_on_signal(loop, SIGUSR1, on_usr1, &t, &e) < 0) {
			tool_err("run: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
			goto out;
		}
	}
	if (umpa_run_run(t.r, duration, &e) < 0) {
		tool_err("run: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
	}
	print_counters(&t);
out:
	t.http = http_ctl_free(t.http); /* before the run: its loop owns the event_base */
	umpa_run_free(t.r);
	free(ifaces);
	free(sets);
	free(aread);
	free(awrite);
	return rc;
}
