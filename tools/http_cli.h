/* http_cli.h - the --http, --http-allow and --http-token options of run, proxy and replay.
 *
 * One place parses them and starts the control plane (tools/http_ctl.h), so
 * the three commands take the same options with the same checks and errors:
 *
 *     static const struct option lopts[] = { ..., HTTP_CLI_LOPTS, {NULL, 0, NULL, 0} };
 *     struct http_cli hc = {0};                      // nothing to free
 *     ...  default: if (http_cli_opt(&hc, c, optarg)) break; ...
 *     if (http_cli_check(&hc, "replay") < 0) exit 2  // --http-allow / --http-token alone
 *     ctl = http_cli_start(&hc, base, "replay x.pcap", &src, &e);
 */
#ifndef UMPA_HTTP_CLI_H
#define UMPA_HTTP_CLI_H

#include <stddef.h>

#include "http_ctl.h"

/** getopt_long codes of the three options (above every command's own enum). */
enum { HTTP_CLI_O_HTTP = 0x4800, HTTP_CLI_O_ALLOW, HTTP_CLI_O_TOKEN };

/** The three entries of a struct option table. */
#define HTTP_CLI_LOPTS                                                                                                 \
	{"http", required_argument, NULL, HTTP_CLI_O_HTTP}, {"http-allow", required_argument, NULL, HTTP_CLI_O_ALLOW}, \
	{                                                                                                              \
		"http-token", required_argument, NULL, HTTP_CLI_O_TOKEN                                                \
	}

/** Most --http-allow prefixes. */
#define HTTP_CLI_MAX_ALLOW 32

/** What the command line said ({0}: nothing yet). */
struct http_cli {
	const char *listen;                    /**< --http ADDR:PORT, or NULL */
	const char *allow[HTTP_CLI_MAX_ALLOW]; /**< --http-allow CIDR, each */
	size_t nallow;                         /**< their number */
	const char *token;                     /**< --http-token, or NULL */
};

/**
 * Take option @p c with @p arg if it is one of the three: 1 when it was, 0
 * when not.  More than HTTP_CLI_MAX_ALLOW --http-allow: one line, exit 2
 * (as the checked numbers of umpa_tool.h do).
 */
int http_cli_opt(struct http_cli *h, int c, const char *arg);

/**
 * --http-allow or --http-token without --http is a usage error: prints
 * "CMD: --http-allow and --http-token go with --http ADDR:PORT" and
 * returns -1; 0 when the options agree.
 */
int http_cli_check(const struct http_cli *h, const char *cmd);

/** The options as http_ctl_new takes them, with @p title (what this process is). */
struct http_ctl_opts http_cli_opts(const struct http_cli *h, const char *title);

/**
 * Start the control plane of @p h on @p base serving @p src (see
 * http_ctl_new) and print "http: listening on ADDR:PORT" on stderr.  NULL
 * with @p e set (UMPA_EINVAL: a bad address or prefix, a usage error).
 */
struct http_ctl *http_cli_start(const struct http_cli *h, struct event_base *base, const char *title,
				const struct http_ctl_source *src, struct umpa_err *e);

#endif
