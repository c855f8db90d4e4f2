/* http_page.c - the live page's static files (see http_page.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http_ctl.h"
#include "http_page.h"

#ifndef UMPA_PAGEDIR
#define UMPA_PAGEDIR "/usr/share/umpa/page"
#endif
#ifndef UMPA_SRC_PAGEDIR
#define UMPA_SRC_PAGEDIR ""
#endif
#ifndef UMPA_CHARTJS
#define UMPA_CHARTJS "/usr/share/javascript/chart.js/chart.min.js"
#endif

#define PAGE_MAX_FILE (8 * 1024 * 1024) /* Chart.js is 200 kB minified, 550 kB not */

/* The page's files: request path, file name (NULL: Chart.js), content type. */
static const struct page_file {
	const char *path;
	const char *name;
	const char *type;
} page_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/page.js", "page.js", "text/javascript; charset=utf-8"},
    {"/page.css", "page.css", "text/css; charset=utf-8"},
    {"/chart.js", NULL, "text/javascript; charset=utf-8"},
    {NULL, NULL, NULL},
};

static int has_index(const char *dir)
{
	char p[4096];
	struct stat st;

	if (!dir || !*dir || (size_t)snprintf(p, sizeof(p), "%s/index.html", dir) >= sizeof(p))
		return 0;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The page directory: $UMPA_PAGE_DIR, the installed one, the source tree's. */
static const char *page_dir(void)
{
	const char *env = getenv("UMPA_PAGE_DIR");

	if (env && *env)
		return env;
	if (has_index(UMPA_PAGEDIR) || !*UMPA_SRC_PAGEDIR)
		return UMPA_PAGEDIR;
	return UMPA_SRC_PAGEDIR;
}

int http_page_serve(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const struct page_file *f;
	const char *env = getenv("UMPA_CHARTJS");
	char file[4096];
	struct evbuffer *b;
	struct stat st;
	int fd, n;

	for (f = page_files; f->path && strcmp(f->path, path); f++)
		;
	if (!f->path)
		return 0;
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET, HEAD");
		http_ctl_error(req, 405, "%s: method not allowed (allowed: GET, HEAD)", path);
		return 1;
	}
	if (f->name)
		n = snprintf(file, sizeof(file), "%s/%s", page_dir(), f->name);
	else
		n = snprintf(file, sizeof(file), "%s", env && *env ? env : UMPA_CHARTJS);
	if (n < 0 || (size_t)n >= sizeof(file)) {
		http_ctl_error(req, 500, "%s: file name too long", path);
		return 1;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		http_ctl_error(req, 404, "%s: %s: %s%s", path, file, strerror(errno),
			       f->name ? " (set UMPA_PAGE_DIR or install umpa)"
				       : " (install libjs-chart.js or set UMPA_CHARTJS)");
		return 1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PAGE_MAX_FILE) {
		close(fd);
		http_ctl_error(req, 404, "%s: %s: not a regular file of at most %d bytes", path, file, PAGE_MAX_FILE);
		return 1;
	}
	if (!(b = evbuffer_new())) {
		close(fd);
		http_ctl_error(req, 500, "out of memory");
		return 1;
	}
	evhttp_add_header(h, "Content-Type", f->type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* the page talks to this and other umpa processes (connect-src http:), loads nothing else */
	evhttp_add_header(
	    h, "Content-Security-Policy",
	    "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; "
	    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
	evhttp_add_header(h, "X-Frame-Options", "DENY"); /* no slider under a clickjacker's page */
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (st.st_size > 0 && evbuffer_add_file(b, fd, 0, st.st_size) < 0) { /* takes fd */
		evbuffer_free(b);
		http_ctl_error(req, 500, "%s: %s: cannot read", path, file);
		return 1;
	}
	if (st.st_size == 0)
		close(fd);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	return 1;
}
