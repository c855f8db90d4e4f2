/* cmd_proxy.c - `umpa proxy`: a TCP relay with Lua modules (sched/umpa_proxy.h, templates/umpa_proxy_lua.h). */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_cli.h"
#include "http_ctl.h"
#include "toxi_api.h"
#include "proxy_http.h"
#include "umpa_proxy.h"
#include "umpa_proxy_ca.h"
#include "umpa_udprelay.h"
#include "umpa_proxy_lua.h"
#include "umpa_proxy_redis.h"
#include "umpa_sched.h"
#include "umpa_tls.h"
#include "umpa_tls_opts.h"
#include "umpa_tool.h"
#include "umpa_wiretap.h"

static const char proxy_usage[] =
    "usage: umpa proxy -l ADDR:PORT [-l ...] -t HOST:PORT [options]\n"
    "       umpa proxy -l ADDR:PORT [-l ...] [--tproxy] [options]   (transparent: no -t)\n"
    "       umpa proxy -l ADDR:PORT [-l ...] --socks5 [options]\n"
    "       umpa proxy --api ADDR:PORT [--config FILE] [options]\n"
    "\n"
    "Relay TCP connections from each listening address to the target, through\n"
    "Lua modules that see (and may change, drop, delay or reset) the bytes.\n"
    "\n"
    "  -l, --listen ADDR:PORT   listen here (repeatable, up to 16; [v6]:PORT; port 0: any free)\n"
    "  -t, --target HOST:PORT   connect each client to this address; without -t (and --socks5) the\n"
    "                           proxy is transparent: each connection goes where the client sent it\n"
    "                           (its original destination from iptables/nft REDIRECT: SO_ORIGINAL_DST)\n"
    "      --tproxy             transparent with TPROXY rules: listeners are IP_TRANSPARENT\n"
    "      --spoof-source       connect upstream from the client's own address (IP_TRANSPARENT;\n"
    "                           CAP_NET_ADMIN; the answers routed back here as for TPROXY)\n"
    "      --socks5             a SOCKS server (SOCKS5, RFC 1928 CONNECT: IPv4, IPv6, names; and\n"
    "                           SOCKS4 / SOCKS4a, told by the version byte): each client names its\n"
    "                           destination (--socks: the same)\n"
    "      --socks5-auth USER:PASS  demand this username/password (RFC 1929)\n"
    "  -s, --source ADDR        connect upstream from this address\n"
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
    "      --upstream-tls K=V   a TLS option of the upstream leg (repeatable; the client options of\n"
    "                           'umpa tls', by their table key: version=1.2, ciphers=..., groups=...,\n"
    "                           sigalgs=..., alpn=h2, client_cert=FILE, client_key=FILE ...)\n"
    "      --client-tls K=V     a TLS option of the client leg (the server options: version, ciphers,\n"
    "                           ciphersuites, groups, sigalgs, security_level ...)\n"
    "      --static-cert PAT=CERT[:KEY]  serve this certificate (PEM, chain after it) to clients whose\n"
    "                           SNI matches PAT (name, *.suffix or *) instead of a generated leaf\n"
    "      --passthrough PAT    relay TLS connections whose SNI matches PAT as they are (no MITM)\n"
    "      --peek-timeout S     a client silent this long is plaintext, its server speaks first\n"
    "                           (SMTP, IMAP, POP3, FTP; default 0.3); -m sslupgrade does STARTTLS\n"
    "  -w, --write FILE         write both legs of every connection as TCP into a pcapng, with\n"
    "                           the TLS keys of both legs in Decryption Secrets Blocks\n"
    "      --api ADDR:PORT      serve the Toxiproxy-compatible API here (loopback; port 0: any free);\n"
    "                           with --api, -l and -t are optional: proxies are made over the API\n"
    "      --config FILE        with --api: make the proxies of FILE (Toxiproxy's JSON config) at start\n"
    "      --udp                relay UDP datagrams from -l to -t (one -l; modules see each datagram)\n"
    "      --http ADDR:PORT     serve the counters and the live page (GET /, /stats, /events)\n"
    "      --http-allow CIDR    also serve clients from CIDR (repeatable; default loopback only)\n"
    "      --http-token TOKEN   changes over --http need 'Authorization: Bearer TOKEN'\n"
    "      --rules FILE         ordered rules choosing modules per connection (JSON list of\n"
    "                           {src, dst, srcport, dstport, hostname, c2s, s2c, rules: [modules]}),\n"
    "                           read again at a new connection when the file changed\n"
    "      --redis redis://HOST:PORT  tcpproxy's redis control API: keys rules, debugging, modules,\n"
    "                           stats:* hashes, debug:* and inspect:* channels, ca:cert and ca:key\n"
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
	O_UPTLS,
	O_CLTLS,
	O_STATIC,
	O_PASS,
	O_PEEKTO,
	O_API,
	O_CONFIG,
	O_UDP,
	O_RULES,
	O_REDIS,
	O_SOCKS5,
	O_SOCKS5_AUTH,
	O_TPROXY,
	O_SPOOF
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
    {"write", required_argument, NULL, 'w'},
    {"upstream-tls", required_argument, NULL, O_UPTLS},
    {"client-tls", required_argument, NULL, O_CLTLS},
    {"static-cert", required_argument, NULL, O_STATIC},
    {"passthrough", required_argument, NULL, O_PASS},
    {"peek-timeout", required_argument, NULL, O_PEEKTO},
    {"api", required_argument, NULL, O_API},
    {"config", required_argument, NULL, O_CONFIG},
    {"udp", no_argument, NULL, O_UDP},
    HTTP_CLI_LOPTS,
    {"socks5", no_argument, NULL, O_SOCKS5},
    {"socks", no_argument, NULL, O_SOCKS5},
    {"socks5-auth", required_argument, NULL, O_SOCKS5_AUTH},
    {"tproxy", no_argument, NULL, O_TPROXY},
    {"spoof-source", no_argument, NULL, O_SPOOF},
    {"rules", required_argument, NULL, O_RULES},
    {"redis", required_argument, NULL, O_REDIS},
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

/* Notes of the module host (a rules file that changed) and of the redis control API: stderr. */
static void proxy_note(void *arg, const char *msg)
{
	(void)arg;
	tool_note("proxy: %s", msg);
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

/* Where the key lines go: the --keylog file and/or the -w capture. */
struct keysink {
	FILE *f;
	struct umpa_wtap *w;
};

static void keylog_line(void *arg, const char *line)
{
	struct keysink *k = arg;
	if (k->f) {
		fprintf(k->f, "%s\n", line);
		fflush(k->f);
	}
	umpa_wtap_secret(k->w, line);
}

static void list_cb(void *arg, const char *name, const char *help)
{
	(void)arg;
	printf("%-14s %s\n", name, help);
}

/* At a stop, connections that are closing get this long to finish (umpa_proxy_closing). */
#define STOP_GRACE_NS 1000000000LL

static int drain_done(void *arg)
{
	return umpa_proxy_closing(arg) == 0;
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

/*
 * A leg's TLS option "KEY=VALUE" (KEY: the option table's key or its long option; a flag alone means on)
 * into @p c.  @p side: UMPA_TLS_OPT_CLIENT for the upstream leg, UMPA_TLS_OPT_SERVER for the client leg.
 * Returns 0, or -1 after printing why.
 */
static int leg_opt(const char *what, struct umpa_tls_conf *c, unsigned side, const char *kv)
{
	char key[64];
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	const struct umpa_tls_optdef *d;
	struct umpa_err e = {0, ""};
	if (kl >= sizeof(key)) {
		tool_err("proxy: %s: '%s': no such TLS option", what, kv);
		return -1;
	}
	memcpy(key, kv, kl);
	key[kl] = 0;
	if (!(d = umpa_tls_opt_find(key)) && !(d = umpa_tls_opt_find_cli(key))) {
		tool_err("proxy: %s: '%s': no such TLS option (the keys of 'umpa tls --help')", what, key);
		return -1;
	}
	if ((d->flags & UMPA_TLS_OPT_PUMP) || !(d->flags & side)) {
		tool_err("proxy: %s: '%s' is not an option of the %s", what, key,
			 side == UMPA_TLS_OPT_CLIENT ? "upstream leg (a TLS client)" : "client leg (a TLS server)");
		return -1;
	}
	if (eq ? umpa_tls_opt_set(d, c, eq + 1, strlen(eq + 1), UMPA_TLS_SET_ESCAPES, &e) < 0
	       : umpa_tls_opt_set_bool(d, c, 1, &e) < 0) {
		tool_err("proxy: %s: %s", what, e.msg);
		return -1;
	}
	return 0;
}

/* --api's /stats and /events: the API's proxies (arg: where the API will be). */
static int api_stats(void *arg, struct umpa_sbuf *b)
{
	struct toxi_api **a = arg;
	return *a ? toxi_api_stats_json(*a, b) : -UMPA_EINVAL;
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
	const char *wpath = NULL;
	struct umpa_wtap *wtap = NULL;
	struct umpa_proxy_tap tap;
	struct keysink sink = {NULL, NULL};
	struct umpa_tls_conf upc, clc;
	int up_given = 0, cl_given = 0;
	struct umpa_proxy_static *statics = calloc((size_t)argc + 1, sizeof(*statics));
	const char **passes = calloc((size_t)argc + 1, sizeof(*passes));
	char **owned = calloc((size_t)argc + 1, sizeof(*owned));
	unsigned nstatics = 0, npasses = 0, nowned = 0;
	const char *api = NULL, *config = NULL;
	int udp = 0;
	struct http_ctl *ctl = NULL;
	struct toxi_api *tapi = NULL;
	struct umpa_udprelay *relay = NULL;
	const char **modfiles = calloc((size_t)argc + 1, sizeof(*modfiles));
	size_t nmodfiles = 0;

	struct http_cli hc = {0};
	struct http_ctl *http = NULL;
	struct proxy_http_src hsrc = {0};
	const char *rules_file = NULL, *redis_url = NULL;
	struct umpa_proxy_redis *redis = NULL;

	umpa_tls_conf_init(&upc, &e);
	umpa_tls_conf_init(&clc, &e);
	if (!chains || !statics || !passes || !owned || !modfiles) {
		tool_err("proxy: out of memory");
		rc = UMPA_EXIT_ERROR;
		goto out;
	}
	umpa_proxy_opts_init(&o);
	o.log = proxy_log;
	/* a peer that closes while the relay writes to it is that connection's error, not the process's end */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:t:s:m:w:vh", lopts, NULL)) != -1) {
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
		case 'w':
			wpath = optarg;
			break;
		case O_UPTLS:
		case O_CLTLS:
			if (leg_opt(c == O_UPTLS ? "--upstream-tls" : "--client-tls", c == O_UPTLS ? &upc : &clc,
				    c == O_UPTLS ? UMPA_TLS_OPT_CLIENT : UMPA_TLS_OPT_SERVER, optarg) < 0) {
				rc = UMPA_EXIT_USAGE;
				goto out;
			}
			*(c == O_UPTLS ? &up_given : &cl_given) = 1;
			break;
		case O_STATIC: {
			char *v = strdup(optarg), *eq = v ? strchr(v, '=') : NULL, *colon;
			if (v)
				owned[nowned++] = v;
			if (!eq || eq == v || !eq[1]) {
				tool_err("proxy: --static-cert: '%s' is not PATTERN=CERT[:KEY]", optarg);
				rc = UMPA_EXIT_USAGE;
				goto out;
			}
			*eq = 0;
			colon = strchr(eq + 1, ':');
			if (colon)
				*colon = 0;
			statics[nstatics++] = (struct umpa_proxy_static){v, eq + 1, colon ? colon + 1 : NULL};
			break;
		}
		case O_PASS:
			passes[npasses++] = optarg;
			break;
		case O_PEEKTO:
			o.peek_timeout_ns = tool_ns(&umpa_num_seconds, "--peek-timeout", optarg);
			break;
		case O_API:
			api = optarg;
			break;
		case O_CONFIG:
			config = optarg;
			break;
		case O_UDP:
			udp = 1;
			break;
		case O_SOCKS5:
			o.dest = UMPA_PROXY_DEST_SOCKS5;
			break;
		case O_SOCKS5_AUTH: {
			char *v = strdup(optarg), *colon = v ? strchr(v, ':') : NULL;
			if (v)
				owned[nowned++] = v;
			if (!colon || colon == v || strlen(v) > 510 || colon - v > 255 || strlen(colon + 1) > 255) {
				tool_err("proxy: --socks5-auth: '%s' is not USER:PASS (1 to 255 bytes each)", optarg);
				rc = UMPA_EXIT_USAGE;
				goto out;
			}
			*colon = 0;
			o.socks_user = v;
			o.socks_pass = colon + 1;
			break;
		}
		case O_TPROXY:
			o.tproxy = 1;
			break;
		case O_SPOOF:
			o.spoof_source = 1;
			break;
		case O_RULES:
			rules_file = optarg;
			break;
		case O_REDIS:
			redis_url = optarg;
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
			if (http_cli_opt(&hc, c, optarg))
				break;
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
	umpa_proxy_mods_set_note(mods, proxy_note, NULL);
	if (rules_file && umpa_proxy_mods_rules_file(mods, rules_file, &e) < 0) {
		tool_err("proxy: --rules: %s", e.msg);
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (redis_url) {
		char rh[256];
		int rp, rdb;
		if (umpa_proxy_redis_url(redis_url, rh, sizeof(rh), &rp, &rdb, &e) < 0) {
			tool_err("proxy: --redis: %s", e.msg);
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
	}
	if ((rules_file || redis_url) && (udp || (api && !o.nlisten))) {
		tool_err("proxy: --rules and --redis go with -l and -t (not --udp or --api alone)");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (config && !api) {
		tool_err("proxy: --config needs --api ADDR:PORT");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (udp && (o.nlisten != 1 || mitm_on)) {
		tool_err("proxy: --udp takes one -l and no TLS options");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (o.dest == UMPA_PROXY_DEST_SOCKS5 && (o.target || o.tproxy || udp)) {
		tool_err("proxy: --socks5 takes no %s (each client names its destination)", o.target   ? "-t"
											    : o.tproxy ? "--tproxy"
												       : "--udp");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (o.socks_user && o.dest != UMPA_PROXY_DEST_SOCKS5) {
		tool_err("proxy: --socks5-auth needs --socks5");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (o.spoof_source && (o.source || udp)) {
		tool_err("proxy: --spoof-source takes no %s", udp ? "--udp" : "-s (the source is the client's)");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (o.tproxy && o.target) {
		tool_err("proxy: --tproxy is transparent: it takes no -t");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (api && !o.nlisten && !o.target) {
		/* the proxies come over the API */
	} else if (!o.nlisten || (!o.target && udp)) {
		tool_err("proxy: %s is required (try 'umpa proxy --help')",
			 !o.nlisten ? "-l ADDR:PORT" : "-t HOST:PORT");
		rc = UMPA_EXIT_USAGE;
		goto out;
	} else if (!o.target && o.dest == UMPA_PROXY_DEST_TARGET) {
		o.dest = UMPA_PROXY_DEST_ORIGINAL; /* transparent */
	}
	if (hc.listen && api) {
		tool_err("proxy: --http with --api: the --api port serves the page, /stats and /events itself");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!hc.listen && !api && (hc.nallow || hc.token)) {
		tool_err("proxy: --http-allow and --http-token go with --http or --api ADDR:PORT");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!mitm_on &&
	    (cadir || keylog || mitm.verify || mitm.verify_ca || up_given || cl_given || nstatics || npasses)) {
		tool_err("proxy: %s needs --tls-mitm", cadir                           ? "--ca-dir"
						       : keylog                        ? "--keylog"
						       : mitm.verify || mitm.verify_ca ? "--upstream-verify"
						       : up_given                      ? "--upstream-tls"
						       : cl_given                      ? "--client-tls"
						       : nstatics                      ? "--static-cert"
										       : "--passthrough");
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (!(loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e))) {
		tool_err("proxy: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
		goto out;
	}
	if (redis_url && !(redis = umpa_proxy_redis_new(loop, mods, redis_url, proxy_note, NULL, &e))) {
		tool_err("proxy: --redis: %s", e.msg);
		rc = UMPA_EXIT_USAGE;
		goto out;
	}
	if (wpath) {
		if (!(wtap = umpa_wtap_open(wpath, &e))) {
			tool_err("proxy: -w: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
			goto out;
		}
		umpa_wtap_proxy_tap(wtap, &tap);
		o.tap = &tap;
		sink.w = wtap;
	}
	if (mitm_on) {
		if (!cadir && !redis) {
			tool_err("proxy: --tls-mitm needs --ca-dir DIR (or --redis: the CA in ca:cert, ca:key)");
			rc = UMPA_EXIT_USAGE;
			goto out;
		}
		if (cadir && !(mitm.ca = umpa_proxy_ca_open(cadir, &created, &e))) {
			tool_err("proxy: --ca-dir: %s", e.msg);
			/* a ca.crt / ca.key that does not load is bad input (2), as every certificate file named on
			 * the command line; a directory that cannot be made or written is failed work (1) */
			rc = e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
			goto out;
		}
		if (cadir)
			tool_note("proxy: CA %s %s", umpa_proxy_ca_cert_path(mitm.ca), created ? "made" : "loaded");
		if (redis) {
			char note[600] = "";
			int from_redis = 0;
			struct umpa_proxy_ca *ca =
			    umpa_proxy_redis_ca(redis, mitm.ca, &from_redis, note, sizeof(note), &e);
			if (!ca) {
				tool_err("proxy: --redis: %s", e.msg);
				rc = UMPA_EXIT_ERROR;
				goto out;
			}
			if (ca != mitm.ca)
				umpa_proxy_ca_free(mitm.ca);
			mitm.ca = ca;
			mitm.sni_seen = umpa_proxy_redis_sni; /* leaves other proxies on the redis made meanwhile */
			mitm.sni_arg = redis;
			if (note[0])
				tool_note("proxy: %s", note);
		}
		if (keylog) {
			int fd = open(keylog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			if (fd < 0 || !(klf = fdopen(fd, "a"))) {
				tool_err("proxy: --keylog: %s: cannot open", keylog);
				if (fd >= 0)
					close(fd);
				rc = UMPA_EXIT_ERROR;
				goto out;
			}
			sink.f = klf;
		}
		if (klf || wtap) {
			mitm.keylog = keylog_line;
			mitm.keylog_arg = &sink;
		}
		if (up_given)
			mitm.up_opts = &upc.o;
		if (cl_given)
			mitm.cl_opts = &clc.o;
		mitm.statics = statics;
		mitm.nstatics = nstatics;
		mitm.passthrough = passes;
		mitm.npassthrough = npasses;
		o.mitm = &mitm;
	}
	if (api) {
		struct http_ctl_opts ho = http_cli_opts(&hc, "proxy");
		struct http_ctl_source hs = {&tapi, api_stats, NULL, NULL, NULL};
		ho.listen = api; /* the --api port serves the page too */
		if (!(ctl = http_ctl_new(umpa_loop_event_base(loop), &ho, &hs, &e)) ||
		    !(tapi = toxi_api_new(loop, ctl, &e))) {
			tool_err("proxy: --api %s", !strncmp(e.msg, "--http ", 7) ? e.msg + 7 : e.msg);
			rc = e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
			goto out;
		}
		for (i = 0; i < nchains; i++)
			if (chains[i].dir == 2)
				modfiles[nmodfiles++] = chains[i].text;
		toxi_api_modules(tapi, modfiles, nmodfiles);
		if (config) {
			int n = toxi_api_config(tapi, config, &e);
			if (n < 0) {
				tool_err("proxy: --config %s", e.msg);
				rc = e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
				goto out;
			}
			tool_note("proxy: %d proxies from %s", n, config);
		}
		tool_note("proxy: Toxiproxy API on %s", http_ctl_bound(ctl));
	}
	if (udp) {
		struct umpa_udprelay_opts uo;
		char b[96];
		umpa_udprelay_opts_init(&uo);
		uo.listen = o.listen[0];
		uo.target = o.target;
		umpa_proxy_mods_hooks(mods, &hooks); /* modules per datagram (a session is a connection) */
		if (umpa_proxy_mods_count(mods, 0) || umpa_proxy_mods_count(mods, 1))
			uo.hooks = &hooks;
		if (!(relay = umpa_udprelay_new(loop, &uo, &e))) {
			tool_err("proxy: %s", e.msg);
			rc = e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
			goto out;
		}
		tool_note("proxy: relaying UDP on %s -> %s", umpa_udprelay_bound(relay, b, sizeof(b)), o.target);
	}
	umpa_proxy_mods_hooks(mods, &hooks);
	if (redis) { /* each new connection waits for the rules redis holds (umpa_proxy_redis_gate) */
		o.gate = umpa_proxy_redis_gate;
		o.gate_arg = redis;
	}
	if (o.nlisten && !udp &&
	    !(p = umpa_proxy_new(loop, &o,
				 umpa_proxy_mods_count(mods, 0) || umpa_proxy_mods_count(mods, 1) || rules_file ||
					 redis || hc.listen /* PUT /rules */
				     ? &hooks
				     : NULL,
				 &e))) {
		tool_err("proxy: %s", e.msg);
		rc = e.code == UMPA_EINVAL || e.code == UMPA_ERANGE ? UMPA_EXIT_USAGE : UMPA_EXIT_ERROR;
		goto out;
	}
	if (redis)
		umpa_proxy_redis_set_proxy(redis, p);
	for (i = 0; p && i < o.nlisten; i++) {
		char b[96];
		tool_note("proxy: listening on %s -> %s", umpa_proxy_bound(p, i, b, sizeof(b)),
			  o.target                           ? o.target
			  : o.dest == UMPA_PROXY_DEST_SOCKS5 ? "(SOCKS5: the client's choice)"
							     : "(transparent: the original destination)");
	}
	if (hc.listen) {
		struct http_ctl_opts ho = http_cli_opts(&hc, "proxy");
		hsrc = (struct proxy_http_src){p, loop, relay, mods};
		if (!(http = proxy_http_open(&hsrc, &ho, &e))) {
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
	if (relay) {
		struct umpa_udprelay_stats st;
		umpa_udprelay_stats(relay, &st);
		tool_note("proxy: udp %llu sessions; datagrams c2s %llu in %llu out, s2c %llu in %llu out",
			  (unsigned long long)st.sessions, (unsigned long long)st.dgrams_in[0],
			  (unsigned long long)st.dgrams_out[0], (unsigned long long)st.dgrams_in[1],
			  (unsigned long long)st.dgrams_out[1]);
		if (st.hook_dropped[0] + st.hook_dropped[1] + st.hook_errors[0] + st.hook_errors[1])
			tool_note("proxy: udp modules dropped c2s %llu, s2c %llu; failed c2s %llu, s2c %llu",
				  (unsigned long long)st.hook_dropped[0], (unsigned long long)st.hook_dropped[1],
				  (unsigned long long)st.hook_errors[0], (unsigned long long)st.hook_errors[1]);
		if (st.hook_delayed[0] + st.hook_delayed[1])
			tool_note("proxy: udp modules delayed c2s %llu, s2c %llu datagrams",
				  (unsigned long long)st.hook_delayed[0], (unsigned long long)st.hook_delayed[1]);
	}
	if (p && umpa_proxy_closing(p)) {
		/* connections in their closing exchange (one direction ended) finish, for a second at most: a
		 * client that went just before the stop is counted done, not open */
		umpa_proxy_stop_accepting(p);
		umpa_loop_run_until(loop, drain_done, p, umpa_loop_now_ns(loop) + STOP_GRACE_NS, &e);
	}
	if (p) {
		struct umpa_proxy_stats st;
		umpa_proxy_stats(p, &st);
		tool_note("proxy: %llu connections: %llu done, %llu aborted, %llu refused, %llu reset, %llu errors, "
			  "%llu over limit, %llu open at stop; bytes c2s %llu in %llu out, s2c %llu in %llu out; "
			  "tls %llu (%llu failed, %lu certificates made, %llu passed through, %llu by STARTTLS); %llu "
			  "rejected",
			  (unsigned long long)st.accepted, (unsigned long long)st.completed,
			  (unsigned long long)st.aborted, (unsigned long long)st.refused, (unsigned long long)st.resets,
			  (unsigned long long)st.errors, (unsigned long long)st.over_limit,
			  (unsigned long long)st.active, (unsigned long long)st.bytes_in[0],
			  (unsigned long long)st.bytes_out[0], (unsigned long long)st.bytes_in[1],
			  (unsigned long long)st.bytes_out[1], (unsigned long long)st.tls,
			  (unsigned long long)st.tls_failed, mitm.ca ? umpa_proxy_ca_made(mitm.ca) : 0UL,
			  (unsigned long long)st.passthrough, (unsigned long long)st.starttls,
			  (unsigned long long)st.rejected);
	}
out:
	toxi_api_free(tapi);
	http_ctl_free(ctl);
	umpa_udprelay_free(relay);
	http = http_ctl_free(http); /* before the loop: it owns the event_base */
	umpa_proxy_free(p);
	umpa_proxy_redis_free(redis); /* after the proxy: its last counts; before the loop */
	if (wtap) {
		uint64_t np = umpa_wtap_packets(wtap);
		if (umpa_wtap_close(wtap, &e) < 0) {
			tool_err("proxy: -w: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
		} else {
			tool_note("proxy: %llu packets written to %s", (unsigned long long)np, wpath);
		}
	}
	umpa_loop_free(loop);
	umpa_proxy_mods_free(mods);
	umpa_proxy_ca_free(mitm.ca);
	if (klf)
		fclose(klf);
	free(chains);
	free(statics);
	free(passes);
	for (i = 0; owned && i < nowned; i++)
		free(owned[i]);
	free(owned);
	umpa_tls_conf_free(&upc);
	umpa_tls_conf_free(&clc);
	free(modfiles);
	return rc;
}
