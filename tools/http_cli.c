/* http_cli.c - the --http options of the long-running commands (http_cli.h). */
#include "http_cli.h"

#include <stdlib.h>

#include "umpa_tool.h"

int http_cli_opt(struct http_cli *h, int c, const char *arg)
{
	switch (c) {
	case HTTP_CLI_O_HTTP:
		h->listen = arg;
		return 1;
	case HTTP_CLI_O_ALLOW:
		if (h->nallow == HTTP_CLI_MAX_ALLOW) {
			tool_err("--http-allow: at most %d prefixes", HTTP_CLI_MAX_ALLOW);
			exit(UMPA_EXIT_USAGE);
		}
		h->allow[h->nallow++] = arg;
		return 1;
	case HTTP_CLI_O_TOKEN:
		h->token = arg;
		return 1;
	default:
		return 0;
	}
}

int http_cli_check(const struct http_cli *h, const char *cmd)
{
	if (!h->listen && (h->nallow || h->token)) {
		tool_err("%s: --http-allow and --http-token go with --http ADDR:PORT", cmd);
		return -1;
	}
	return 0;
}

struct http_ctl_opts http_cli_opts(const struct http_cli *h, const char *title)
{
	struct http_ctl_opts o = {
	    .listen = h->listen, .allow = h->allow, .nallow = h->nallow, .token = h->token, .title = title};
	return o;
}

struct http_ctl *http_cli_start(const struct http_cli *h, struct event_base *base, const char *title,
				const struct http_ctl_source *src, struct umpa_err *e)
{
	struct http_ctl_opts o = http_cli_opts(h, title);
	struct http_ctl *c = http_ctl_new(base, &o, src, e);
	if (c)
		tool_note("http: listening on %s", http_ctl_bound(c));
	return c;
}
