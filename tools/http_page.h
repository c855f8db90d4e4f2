/* http_page.h - the live page of the HTTP control plane: static files from umpa's data directory.
 *
 * GET / (index.html), /page.js and /page.css come from the page directory:
 * $UMPA_PAGE_DIR when set, else the installed one ($(pkgdatadir)/page) when
 * it holds index.html, else the source tree's tools/page (a build that was
 * not installed).  GET /chart.js is Debian's Chart.js (libjs-chart.js):
 * $UMPA_CHARTJS when set, else the file configure found (--with-chartjs).
 * Nothing else is served: no path from the request ever reaches the file
 * system.  The page needs no build step and no network beyond the umpa
 * processes it follows.
 */
#ifndef UMPA_HTTP_PAGE_H
#define UMPA_HTTP_PAGE_H

struct evhttp_request;

/**
 * Reply with the page file @p path names, if it names one ("/", "/index.html",
 * "/page.js", "/page.css", "/chart.js").  A method other than GET or HEAD
 * gets 405; a file that cannot be read, 404 with a JSON error naming it.
 * Returns 1 when @p path is a page path (a reply was sent), 0 otherwise.
 */
int http_page_serve(struct evhttp_request *req, const char *path);

#endif
