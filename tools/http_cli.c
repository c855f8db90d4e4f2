/* http_cli.c - the --http options of the long-running commands (http_cli.h). */
#include "http_cli.h"

#include <stdlib.h>

#include "umpa_tool.h"

int http_cli_init(struct http_cli *h, int argc)
{
	h->listen = NULL;
	h->token = NULL;
	h->nallow = 0;
	h->allow = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof(*h->allow));
	return h->allow ? 0 : -1;
}

int http_cli_opt(struct http_cli *h, int c, const char *arg)
{
	switch (c) {
	case HTTP_CLI_O_HTTP:
		h->listen = arg;
		return 1;
	case HTTP_CLI_O_ALLOW:
		h->allow[h->nallow++] = arg; /* at most argc of them: allow has argc + 1 slots */
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

void http_cli_free(struct http_cli *h)
{
	free(h->allow);
	h->allow = NULL;
}
