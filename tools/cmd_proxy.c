/* cmd_proxy.c - `umpa proxy`: a TCP relay with Lua modules (sched/umpa_proxy.h, templates/umpa_proxy_lua.h). */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy_http.h"
#include "umpa_proxy.h"
#include "umpa_proxy_ca.h"
#include "umpa_proxy_lua.h"
#include "umpa_sched.h"
#include "umpa_tool.h"

static const char proxy_usage[] =
    "usage: umpa proxy -l ADDR:PORT [-l ...] -t HOST:PORT [options]\n"
    "\n"
    "Relay TCP connections from each listening address to the target, through\n"
    "Lua modules that see (and may change, drop, delay or reset) the bytes.\n"
    "\n"
    "  -l, --listen ADDR:PORT   listen here (repeatable, up to 16; [v6]:PORT; port 0: any free)\n"
    "  -t, --target HOST:PORT   connect each client to this address\n"
    "  -s, --source ADDR        connect to the target from this address\n"
    "  -m, --modules CHAIN      modules for both directions: 'mod:key=value:key=value,mod2'\n"
    "      --c2s CHAIN          modules for client-to-server bytes only (after -m's)\n"
    "      --s2c CHAIN          modules for server-to-client bytes only (after -m's)\n"
    "      --module-file FILE   load a module from a Lua file (named after the file, without .lua)\n"
    "      --list-modules       list the built-in modules\n"
    "      --help-module NAME   describe a module and its options\n"
    "      --duration S         stop after S seconds (default: until SIGINT/SIGTERM)\n"
    "      --buffer BYTES       per-direction buffer bound (default 262144)\n"
    "      --max-conns N        most connections at once (default 10000)\n"
    "      --connect-timeout S  upstream connect timeout (default 10)\n"
    "      --tls-mitm           intercept TLS (found by its ClientHello): a leaf per host from the CA\n"
    "      --ca-dir DIR         the CA: DIR/ca.crt and DIR/ca.key, made on first use (key mode 0600)\n"
    "      --keylog FILE        append both legs' TLS secrets (SSLKEYLOGFILE format; made mode 0600)\n"
    "      --upstream-verify    verify the server's certificate and name (default: not verified)\n"
    "      --upstream-ca FILE   trusted CAs (PEM) for --upstream-verify (default: the system's)\n"
    "      --http ADDR:PORT     serve the counters and the live page (GET /, /stats, /events)\n"
    "      --http-allow CIDR    also serve clients from CIDR (repeatable; default loopback only)\n"
    "      --http-token TOKEN   changes over --http need 'Authorization: Bearer TOKEN'\n"
    "  -v, --verbose            log every connection's open and close\n"
    "  -h, --help               this help\n"
    "\n"
    "Module output goes to stdout, notes and the final summary to stderr.\n"
    "A module that fails closes its connection (counted as 'errors'); the others go on.\n"
    "Exit status: 0 success, 1 the work failed, 2 bad command line.\n";

enum {
	O_C2S = 256,
	O_S2C,
	O_MODFILE,
	O_LIST,
	O_HELPMOD,
	O_DURATION,
	O_BUFFER,
	O_MAXCONNS,
	O_CTIMEOUT,
	O_MITM,
	O_CADIR,
	O_KEYLOG,
	O_UPVERIFY,
	O_UPCA,
	O_HTTP,
	O_HTTP_ALLOW,
	O_HTTP_TOKEN
};

static const struct option lopts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"target", required_argument, NULL, 't'},
    {"source", required_argument, NULL, 's'},
    {"modules", required_argument, NULL, 'm'},
    {"c2s", required_argument, NULL, O_C2S},
    {"s2c", required_argument, NULL, O_S2C},
    {"module-file", required_argument, NULL, O_MODFILE},
    {"list-modules", no_argument, NULL, O_LIST},
    {"help-module", required_argument, NULL, O_HELPMOD},
    {"duration", required_argument, NULL, O_DURATION},
    {"buffer", required_argument, NULL, O_BUFFER},
    {"max-conns", required_argument, NULL, O_MAXCONNS},
    {"connect-timeout", required_argument, NULL, O_CTIMEOUT},
    {"tls-mitm", no_argument, NULL, O_MITM},
    {"ca-dir", required_argument, NULL, O_CADIR},
    {"keylog", required_argument, NULL, O_KEYLOG},
    {"upstream-verify", no_argument, NULL, O_UPVERIFY},
    {"upstream-ca", required_argument, NULL, O_UPCA},
    {"http", required_argument, NULL, O_HTTP},
    {"http-allow", required_argument, NULL, O_HTTP_ALLOW},
    {"http-token", required_argument, NULL, O_HTTP_TOKEN},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct umpa_num_spec buffer_spec = {"bytes", 1024, 67108864, UMPA_NUM_INT};
static const struct umpa_num_spec conns_spec = {"connections", 1, 1000000, UMPA_NUM_INT};

static void mod_log(void *arg, const char *text)
{
	(void)arg;
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

static void proxy_log(void *arg, enum umpa_proxy_level lvl, uint64_t id, const char *msg)
{
	(void)arg;
	(void)lvl;
	if (id)
		tool_note("proxy: [%llu] %s", (unsigned long long)id, msg);
	else
		tool_note("proxy: %s", msg);
}

static void keylog_line(void *arg, const char *line)
{
	FILE *f = arg;
	fprintf(f, "%s\n", line);
	fflush(f);
}

static void list_cb(void *arg, const char *name, const char *help)
{
	(void)arg;
	printf("%-14s %s\n", name, help);
}

static void stop_cb(struct umpa_loop *loop, void *arg)
{
	(void)arg;
	umpa_loop_break(loop);
}

static void tick_cb(struct umpa_loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
}

/* Module chains and files in command-line order. */
struct chain_arg {
	int dir; /* -1 both, 0 c2s, 1 s2c, 2 a module file */
	const char *text;
};

int cmd_proxy(int argc, char **argv)
{
	struct umpa_proxy_opts o;
	struct umpa_proxy_hooks hooks;
	struct umpa_proxy_mods *mods = NULL;
	struct umpa_proxy *p = NULL;
	struct umpa_loop *loop = NULL;
	struct umpa_err e = {0, ""};
	struct chain_arg *chains = calloc((size_t)argc + 1, sizeof(*chains));
	unsigned nchains = 0, i;
	const char *helpmod = NULL;
	int64_t duration = 0;
	int list = 0, c, rc = UMPA_EXIT_OK, mitm_on = 0, created = 0;
	struct umpa_proxy_mitm mitm = {0};
	const char *cadir = NULL, *keylog = NULL;
	FILE *klf = NULL;
	const char **hallow = calloc((size_t)argc + 1, sizeof(char *));
	struct http_ctl_opts hopts = {.allow = hallow, .title = "proxy"};
	struct http_ctl *http = NULL;
	struct proxy_http_src hsrc = {0};

	if (!chains || !hallow) {
		tool_err("proxy: out of memory");
		return UMPA_EXIT_ERROR;
	}
	umpa_proxy_opts_init(&o);
	o.log = proxy_log;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:t:s:m:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (o.nlisten >= UMPA_PROXY_MAX_LISTEN) {
				tool_err("proxy: -l: at most %d listening addresses", UMPA_PROXY_MAX_LISTEN);
				rc = UMPA_EXIT_USAGE;
				goto out;
			}
			o.listen[o.nlisten++] = optarg;
			break;
		case 't':
			o.target = optarg;
			break;
		case 's':
			o.source = optarg;
			break;
		case 'm':
			chains[nchains++] = (struct chain_arg){-1, optarg};
			break;
		case O_C2S:
			chains[nchains++] = (struct chain_arg){UMPA_PROXY_C2S, optarg};
			break;
		case O_S2C:
			chains[nchains++] = (struct chain_arg){UMPA_PROXY_S2C, optarg};
			break;
		case O_MODFILE:
			chains[nchains++] = (struct chain_arg){2, optarg};
			break;
		case O_LIST:
			list = 1;
			break;
		case O_HELPMOD:
			helpmod = optarg;
			break;
		case O_DURATION:
			duration = tool_ns(&umpa_num_seconds, "--duration", optarg);
			break;
		case O_BUFFER:
			o.hiwat = (size_t)tool_u64(&buffer_spec, "--buffer", optarg);
			break;
		case O_MAXCONNS:
			o.max_conns = (unsigned)tool_u64(&conns_spec, "--max-conns", optarg);
			break;
		case O_CTIMEOUT:
			o.connect_timeout_ns = tool_ns(&umpa_num_seconds, "--connect-timeout", optarg);
			break;
		case O_MITM:
			mitm_on = 1;
			break;
		case O_CADIR:
			cadir = optarg;
			break;
		case O_KEYLOG:
			keylog = optarg;
			break;
		case O_UPVERIFY:
			mitm.verify = 1;
			break;
		case O_UPCA:
			mitm.verify_ca = optarg;
			break;
		case O_HTTP:
			hopts.listen = optarg;
			break;
		case O_HTTP_ALLOW:
			hallow[hopts.nallow++] = optarg;
			break;
		case O_HTTP_TOKEN:
			hopts.token = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			fputs(proxy_usage, stdout);
			goto out;
		case ':':
			tool_err("proxy: option '%s' needs a value (try 'umpa proxy --help')", argv[optind - 1]);
			rc = UMPA_EXIT_USAGE;
			goto out;
		default:
			tool_err("proxy: unknown option '%s' (try 'umpa proxy --help')", argv[optind - 1]);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		tool_err("proxy: unexpected argument '%s' (try 'umpa proxy --help')", argv[optind]);
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!(mods = umpa_proxy_mods_new(mod_log, NULL, &e))) {
		tool_err("proxy: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
		goto out;
	}
	if (list) {
		if (umpa_proxy_mods_list(mods, list_cb, NULL, &e) < 0) {
			tool_err("proxy: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
		}
		goto out;
	}
	if (helpmod) {
		char buf[8192];
		if (umpa_proxy_mods_help(mods, helpmod, buf, sizeof(buf), &e) < 0) {
			tool_err("proxy: --help-module: %s", e.msg);
			rc = UMPA_EXIT_USAGE;
		} else {
			printf("%s: %s", helpmod, buf);
		}
		goto out;
	}
	for (i = 0; i < nchains; i++) {
		if (chains[i].dir == 2) {
			char name[256];
			const char *base = strrchr(chains[i].text, '/');
			size_t len, nl;
			char *src = tool_read_file(chains[i].text, &len, &e);
			base = base ? base + 1 : chains[i].text;
			nl = strlen(base);
			if (nl > 4 && !strcmp(base + nl - 4, ".lua"))
				nl -= 4;
			snprintf(name, sizeof(name), "%.*s", (int)nl, base);
			if (!src || umpa_proxy_mods_load(mods, name, src, len, chains[i].text, &e) < 0) {
				tool_err("proxy: --module-file: %s", e.msg);
				free(src);
				rc = UMPA_EXIT_USAGE;
				goto out;
			}
			free(src);
		} else if (umpa_proxy_mods_chain(mods, chains[i].dir, chains[i].text, &e) < 0) {
			tool_err("proxy: %s: %s", chains[i].dir < 0 ? "-m" : chains[i].dir ? "--s2c" : "--c2s", e.msg);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
	}
	if (!o.nlisten || !o.target) {
		tool_err("proxy: %s is required (try 'umpa proxy --help')",
			 !o.nlisten ? "-l ADDR:PORT" : "-t HOST:PORT");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!hopts.listen && (hopts.nallow || hopts.token)) {
		tool_err("proxy: --http-allow and --http-token go with --http ADDR:PORT");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!mitm_on && (cadir || keylog || mitm.verify || mitm.verify_ca)) {
		tool_err("proxy: %s needs --tls-mitm", cadir ? "--ca-dir" : keylog ? "--keylog" : "--upstream-verify");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (mitm_on) {
		if (!cadir) {
			tool_err("proxy: --tls-mitm needs --ca-dir DIR");
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
		if (!(mitm.ca = umpa_proxy_ca_open(cadir, &created, &e))) {
			tool_err("proxy: --ca-dir: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
			goto out;
		}
		tool_note("proxy: CA %s %s", umpa_proxy_ca_cert_path(mitm.ca), created ? "made" : "loaded");
		if (keylog) {
			int fd = open(keylog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			if (fd < 0 || !(klf = fdopen(fd, "a"))) {
				tool_err("proxy: --keylog: %s: cannot open", keylog);
				if (fd >= 0)
					close(fd);
				rc = UMPA_EXIT_ERROR;
				goto out;
			}
			mitm.keylog = keylog_line;
			mitm.keylog_arg = klf;
		}
		o.mitm = &mitm;
	}
	if (!(loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e))) {
		tool_err("proxy: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
		goto out;
	}
	umpa_proxy_mods_hooks(mods, &hooks);
	if (!(p = umpa_proxy_new(
		  loop, &o, umpa_proxy_mods_count(mods, 0) || umpa_proxy_mods_count(mods, 1) ? &hooks : NULL, &e))) {
		tool_err("proxy: %s", e.msg);
		rc = e.code == UMPA_EINVAL || e.code == UMPA_ERANGE ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
		goto out;
	}
	for (i = 0; i < o.nlisten; i++) {
		char b[96];
		tool_note("proxy: listening on %s -> %s", umpa_proxy_bound(p, i, b, sizeof(b)), o.target);
	}
	if (hopts.listen) {
		hsrc = (struct proxy_http_src){p, loop};
		if (!(http = proxy_http_open(&hsrc, &hopts, &e))) {
			tool_err("proxy: %s", e.msg);
			rc = e.code == UMPA_EINVAL || e.code == UMPA_ERANGE ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
			goto out;
		}
		tool_note("http: listening on %s", http_ctl_bound(http));
	}
	if (umpa_loop_break_on_signal(loop, SIGINT, &e) < 0 || umpa_loop_break_on_signal(loop, SIGTERM, &e) < 0 ||
	    !(duration > 0 ? umpa_after(loop, duration, stop_cb, NULL, &e)
			   : umpa_every(loop, 3600000000000LL, tick_cb, NULL, &e)) ||
	    umpa_loop_run(loop, &e) < 0) {
		tool_err("proxy: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
	}
	{
		struct umpa_proxy_stats st;
		umpa_proxy_stats(p, &st);
		tool_note("proxy: %llu connections: %llu done, %llu aborted, %llu refused, %llu reset, %llu errors, "
			  "%llu over limit, %llu open at stop; bytes c2s %llu in %llu out, s2c %llu in %llu out; "
			  "tls %llu (%llu failed, %lu certificates made)",
			  (unsigned long long)st.accepted, (unsigned long long)st.completed,
			  (unsigned long long)st.aborted, (unsigned long long)st.refused, (unsigned long long)st.resets,
			  (unsigned long long)st.errors, (unsigned long long)st.over_limit,
			  (unsigned long long)st.active, (unsigned long long)st.bytes_in[0],
			  (unsigned long long)st.bytes_out[0], (unsigned long long)st.bytes_in[1],
			  (unsigned long long)st.bytes_out[1], (unsigned long long)st.tls,
			  (unsigned long long)st.tls_failed, mitm.ca ? umpa_proxy_ca_made(mitm.ca) : 0UL);
	}
out:
	http = http_ctl_free(http); /* before the loop: it owns the event_base */
	umpa_proxy_free(p);
	umpa_loop_free(loop);
	umpa_proxy_mods_free(mods);
	umpa_proxy_ca_free(mitm.ca);
	if (klf)
		fclose(klf);
	free(chains);
	free(hallow);
	return rc;
}
