/* http.c - HTTP/1.1 requests and responses (RFC 9112: message syntax, framing by Content-Length and chunked
 * transfer coding; RFC 9110 for the fields).
 *
 * One layer is one HTTP message: the start line, the header fields, the empty
 * line and the body, all in the layer's header (l->hlen), as tls.c keeps a
 * record's content, so that pipelined messages in one stream are consecutive
 * http layers.  The body's length comes from Content-Length or from the
 * chunked coding (RFC 9112 6.3); a response without either runs to the end of
 * the data.  A message whose header or body is not all there is, over TCP,
 * a piece of a stream (protocols/tcp_reasm.c reassembles it and shows it in
 * the frame that completes it: "[HTTP segment of a reassembled PDU]"), else
 * truncated or invalid.
 *
 * Fields carry Wireshark's names: http.request.method, http.request.uri,
 * http.request.version, http.response.version, http.response.code,
 * http.response.phrase, every header line as http.request.line /
 * http.response.line, the usual headers under their own names (http.host,
 * http.user_agent, http.content_type, http.content_length, http.server,
 * http.transfer_encoding, ...), and the body as http.file_data (text, with
 * bytes that are not printable shown as '.').  The one-line form reads like
 * tshark's Info column: "HTTP GET /index.html HTTP/1.1", "HTTP HTTP/1.1 200 OK".
 *
 * The protocol is found by content (a request line with a known method, or a
 * status line), on any TCP port and inside decrypted TLS; tcp.c asks
 * umpa_http_looks_like.  Building: the message is a payload string
 * (tcp{}/"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); the table lists the fields for
 * `umpa fields` and filters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto_common.h"
#include "reasm_internal.h"
#include "umpa_protos.h"
#include "umpa_render.h"

enum {
	HTTP_MAX_HEADER = 65536, /* a header block longer than this is not waited for (evhttp's cap is similar) */
	HTTP_MAX_LINE = 8192,
};

/* l->aux bits */
enum {
	HTTP_A_RESPONSE = 1 << 0,
	HTTP_A_PARTIAL = 1 << 1, /* continues in later segments */
	HTTP_A_CONT = 1 << 2,    /* not a message start: a continuation of a body */
};

enum { F_METHOD, F_URI, F_REQVER, F_RESPVER, F_CODE, F_PHRASE, F_HOST, F_CLEN, F_CTYPE, F_TE, F_DATA, F_COUNT };

#define HTTP_VAR(idx, n, w, h) [idx] = {.name = n, .ws = w, .bitoff = 0, .bits = 0, .type = UMPA_FT_VAR, .help = h}

static const struct umpa_field http_fields[] = {
    HTTP_VAR(F_METHOD, "method", "http.request.method", "request method (GET, POST, ...)"),
    HTTP_VAR(F_URI, "uri", "http.request.uri", "request target"),
    HTTP_VAR(F_REQVER, "request_version", "http.request.version", "request version (HTTP/1.1)"),
    HTTP_VAR(F_RESPVER, "response_version", "http.response.version", "response version (HTTP/1.1)"),
    HTTP_VAR(F_CODE, "code", "http.response.code", "response status code"),
    HTTP_VAR(F_PHRASE, "phrase", "http.response.phrase", "response reason phrase"),
    HTTP_VAR(F_HOST, "host", "http.host", "Host header"),
    HTTP_VAR(F_CLEN, "content_length", "http.content_length", "Content-Length header, as a number"),
    HTTP_VAR(F_CTYPE, "content_type", "http.content_type", "Content-Type header"),
    HTTP_VAR(F_TE, "transfer_encoding", "http.transfer_encoding", "Transfer-Encoding header"),
    HTTP_VAR(F_DATA, "file_data", "http.file_data", "the body (after any transfer coding is undone)"),
};
UMPA_FIELDS_CHECK(http_fields, F_COUNT);

extern const struct umpa_proto umpa_proto_http;

/* Request methods (RFC 9110 9, RFC 5789 PATCH, WebDAV's common ones). */
static const char *const methods[] = {"GET",     "POST",  "HEAD",  "PUT",      "DELETE",    "OPTIONS",
				      "CONNECT", "TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL",
				      "COPY",    "MOVE",  "LOCK",  "UNLOCK",   NULL};

/* Headers with their own Wireshark field (lower-case name, field). */
static const struct {
	const char *h;
	const char *ws;
} known[] = {
    {"host", "http.host"},
    {"user-agent", "http.user_agent"},
    {"accept", "http.accept"},
    {"accept-encoding", "http.accept_encoding"},
    {"accept-language", "http.accept_language"},
    {"content-type", "http.content_type"},
    {"content-length", "http.content_length_header"},
    {"content-encoding", "http.content_encoding"},
    {"transfer-encoding", "http.transfer_encoding"},
    {"connection", "http.connection"},
    {"server", "http.server"},
    {"date", "http.date"},
    {"location", "http.location"},
    {"referer", "http.referer"},
    {"cookie", "http.cookie"},
    {"set-cookie", "http.set_cookie"},
    {"cache-control", "http.cache_control"},
    {"last-modified", "http.last_modified"},
    {"authorization", "http.authorization"},
    {"upgrade", "http.upgrade"},
};

/* Does [b, b+n) start with a request line's method and a space, or "HTTP/1."? */
int umpa_http_looks_like(struct umpa_cur *c)
{
	char w[12];
	size_t n = umpa_cur_left(c) < sizeof(w) ? umpa_cur_left(c) : sizeof(w);

	if (umpa_cur_copy_at(c, c->pos, n, w) < 0 || n < 8)
		return 0;
	if (memcmp(w, "HTTP/1.", 7) == 0)
		return 1;
	for (unsigned i = 0; methods[i]; i++) {
		size_t ml = strlen(methods[i]);
		if (ml < n && memcmp(w, methods[i], ml) == 0 && w[ml] == ' ')
			return 1;
	}
	return 0;
}

const struct umpa_proto *umpa_app_proto_(const uint8_t *b, size_t n)
{
	struct umpa_cur c;

	umpa_cur_init(&c, b, n);
	return umpa_http_looks_like(&c) ? &umpa_proto_http : &umpa_proto_raw;
}

/* The end of the line starting at @p pos: the offset of its '\n' (a CR before it is not part of the line),
 * or -1 when there is none within @p max bytes. */
static long line_end(struct umpa_cur *c, size_t pos, size_t max)
{
	const uint8_t *b;
	size_t n = umpa_cur_has(c, pos, 0) ? c->len - pos : 0;
	const uint8_t *nl;

	if (n > max)
		n = max;
	if (n == 0 || umpa_cur_ptr_at(c, pos, n, &b) < 0)
		return -1;
	nl = memchr(b, '\n', n);
	return nl ? (long)(pos + (size_t)(nl - b)) : -1;
}

/* Length of the line [pos, e) without a trailing CR. */
static size_t line_len(struct umpa_cur *c, size_t pos, size_t e)
{
	uint8_t ch;

	if (e > pos && umpa_cur_u8_at(c, e - 1, &ch) == 0 && ch == '\r')
		return e - 1 - pos;
	return e - pos;
}

/** What the header block says. */
struct head {
	size_t hend;   /* bytes of start line + headers + empty line */
	int have_clen; /* Content-Length present and a number */
	uint64_t clen;
	int chunked;
	int response;
	unsigned code;
	const char *bad; /* a header that lies */
};

/* Case-insensitive: does the header line [s, s+n) have name @p name? Sets *v to the value start. */
static int header_is(const char *s, size_t n, const char *name, size_t *v)
{
	size_t nl = strlen(name), i;

	if (n <= nl || strncasecmp(s, name, nl) != 0 || s[nl] != ':')
		return 0;
	for (i = nl + 1; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	*v = i;
	return 1;
}

/* Walk the header block (every line through the cursor).  Returns 1 complete, 0 incomplete, -1 not HTTP. */
static int head_scan(struct umpa_cur *c, struct head *h)
{
	size_t pos = 0;
	char line[HTTP_MAX_LINE];
	int first = 1;

	memset(h, 0, sizeof(*h));
	for (;;) {
		long e = line_end(c, pos, HTTP_MAX_LINE);
		size_t n, v;
		if (e < 0)
			return c->len - pos >= HTTP_MAX_LINE ? -1 : 0;
		n = line_len(c, pos, (size_t)e);
		if (umpa_cur_copy_at(c, pos, n, line) < 0)
			return -1;
		line[n] = 0;
		pos = (size_t)e + 1;
		if (first) {
			first = 0;
			if (n >= 7 && memcmp(line, "HTTP/1.", 7) == 0) {
				h->response = 1;
				if (n < 12 || line[8] != ' ')
					h->bad = "http status line malformed";
				else
					h->code = (unsigned)(line[9] - '0') * 100 + (unsigned)(line[10] - '0') * 10 +
						  (unsigned)(line[11] - '0');
			}
			continue;
		}
		if (n == 0) {
			h->hend = pos;
			return 1;
		}
		if (pos > HTTP_MAX_HEADER)
			return -1;
		if (header_is(line, n, "content-length", &v)) {
			char *end;
			unsigned long long cl = strtoull(line + v, &end, 10);
			if (end == line + v || *end || line[v] == '-')
				h->bad = "http Content-Length is not a number";
			else if (h->have_clen && cl != h->clen)
				h->bad = "http Content-Length given twice, differently";
			else
				h->have_clen = 1, h->clen = cl;
		} else if (header_is(line, n, "transfer-encoding", &v)) {
			if (strcasestr(line + v, "chunked"))
				h->chunked = 1;
		}
	}
}

/* Length of a chunked body starting at @p pos (RFC 9112 7.1): 1 with *end set, 0 incomplete, -1 invalid. */
static int chunked_end(struct umpa_cur *c, size_t pos, size_t *end)
{
	char line[64];

	for (unsigned guard = 0; guard < 1000000; guard++) {
		long e = line_end(c, pos, 4096);
		uint64_t sz = 0;
		size_t n, i;
		if (e < 0)
			return c->len - pos >= 4096 ? -1 : 0;
		n = line_len(c, pos, (size_t)e);
		if (n == 0 || umpa_cur_copy_at(c, pos, n < sizeof(line) - 1 ? n : sizeof(line) - 1, line) < 0)
			return -1;
		line[n < sizeof(line) - 1 ? n : sizeof(line) - 1] = 0;
		for (i = 0; line[i] && line[i] != ';' && line[i] != ' '; i++) {
			int d = (line[i] >= '0' && line[i] <= '9')   ? line[i] - '0'
				: (line[i] >= 'a' && line[i] <= 'f') ? line[i] - 'a' + 10
				: (line[i] >= 'A' && line[i] <= 'F') ? line[i] - 'A' + 10
								     : -1;
			if (d < 0 || sz >> 56)
				return -1;
			sz = sz << 4 | (uint64_t)d;
		}
		if (i == 0)
			return -1;
		pos = (size_t)e + 1;
		if (sz == 0) { /* trailers, then the empty line */
			for (;;) {
				e = line_end(c, pos, 4096);
				if (e < 0)
					return c->len - pos >= 4096 ? -1 : 0;
				n = line_len(c, pos, (size_t)e);
				pos = (size_t)e + 1;
				if (n == 0) {
					*end = pos;
					return 1;
				}
			}
		}
		if (sz > c->len || pos + sz + 1 > c->len)
			return 0;
		pos += (size_t)sz;
		e = line_end(c, pos, 2);
		if (e < 0)
			return c->len - pos >= 2 ? -1 : 0;
		pos = (size_t)e + 1;
	}
	return -1;
}

/* True when layer li is a piece of a stream: on TCP (directly or after other http layers), or with nothing
 * under it (reassembled or decrypted stream bytes). */
static int on_stream(const struct umpa_pkt *p, unsigned li)
{
	while (li > 0 && p->l[li - 1].proto == &umpa_proto_http)
		li--;
	return li == 0 || p->l[li - 1].proto == &umpa_proto_tcp;
}

/* Where the message at the start of @p c ends (RFC 9112 6.3).  Returns 1 with *end set, 0 when it is not all
 * there, -1 when it is not HTTP or lies (*why), 2 when it runs to the end of the data (a response without a
 * length: *end = c->len).  *h receives what the header says. */
static int message_end(struct umpa_cur *c, struct head *h, size_t *end, const char **why)
{
	int r;

	*why = NULL;
	memset(h, 0, sizeof(*h));
	if (!umpa_http_looks_like(c)) {
		*why = "not an HTTP message";
		return -1;
	}
	r = head_scan(c, h);
	if (r < 0) {
		*why = "http header line too long or header block over 64 KiB";
		return -1;
	}
	if (r == 0)
		return 0;
	if (h->bad) {
		*why = h->bad;
		return -1;
	}
	if (h->chunked) {
		int k = chunked_end(c, h->hend, end);
		if (k < 0)
			*why = "http chunked body malformed";
		return k;
	}
	if (h->have_clen) {
		if (h->clen > c->len || h->hend + h->clen > c->len)
			return 0;
		*end = h->hend + (size_t)h->clen;
		return 1;
	}
	if (!h->response || h->code / 100 == 1 || h->code == 204 || h->code == 304) {
		*end = h->hend; /* requests without a length and bodiless responses end at the header */
		return 1;
	}
	*end = c->len; /* a response body read to the end of the connection */
	return 2;
}

size_t umpa_http_complete_(const uint8_t *b, size_t n, int *bad)
{
	size_t k = 0;

	*bad = 0;
	while (k < n) {
		struct umpa_cur c;
		struct head h;
		size_t end = 0;
		const char *why;
		int r;
		umpa_cur_init(&c, b + k, n - k);
		r = message_end(&c, &h, &end, &why);
		if (r < 0) {
			*bad = 1;
			return k;
		}
		if (r == 0)
			return k;
		k += end;
	}
	return k;
}

static const struct umpa_proto *http_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	struct head h;
	size_t end = 0;
	const char *why;
	int r;

	umpa_layer_cur(p, li, &c);
	if (!umpa_http_looks_like(&c)) {
		l->aux |= HTTP_A_CONT;
		l->hlen = l->len;
		return NULL;
	}
	r = message_end(&c, &h, &end, &why);
	if (h.response)
		l->aux |= HTTP_A_RESPONSE;
	if (r < 0) {
		l->flags |= UMPA_L_INVALID;
		l->why = why;
		l->hlen = l->len;
		return NULL;
	}
	if (r == 0) {
		l->hlen = l->len;
		if (l->off + l->len >= p->len && p->len < p->wirelen)
			umpa_layer_short(p, li, "http message not captured whole");
		else if (on_stream(p, li))
			l->aux |= HTTP_A_PARTIAL;
		else
			umpa_layer_short(p, li, "http message longer than the data");
		return NULL;
	}
	l->hlen = (uint32_t)end;
	if (l->len > end) {
		struct umpa_cur rest;
		umpa_cur_init(&rest, p->data + l->off + end, l->len - end);
		if (umpa_http_looks_like(&rest))
			return &umpa_proto_http;
	}
	return NULL;
}

/* A printable copy of [pos, pos+n) into buf (cap bytes): other bytes as '.', but line ends kept when @p nl. */
static const char *text_nl(struct umpa_cur *c, size_t pos, size_t n, char *buf, size_t cap, int nl)
{
	size_t k = 0;
	uint8_t b;

	for (size_t i = 0; i < n && k + 1 < cap && umpa_cur_u8_at(c, pos + i, &b) == 0; i++)
		buf[k++] = (b >= 0x20 && b < 0x7f) || b == '\t' || (nl && (b == '\r' || b == '\n')) ? (char)b : '.';
	buf[k] = 0;
	return buf;
}

static const char *text_of(struct umpa_cur *c, size_t pos, size_t n, char *buf, size_t cap)
{
	return text_nl(c, pos, n, buf, cap, 0);
}

static void http_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	char line[HTTP_MAX_LINE], *sp1, *sp2;
	size_t pos = 0, n, v;
	long e;
	int resp = (l->aux & HTTP_A_RESPONSE) != 0;
	struct head h;

	umpa_layer_cur(p, li, &c);
	if (l->aux & HTTP_A_CONT) {
		umpa_emit_str(em, "http.file_data", text_nl(&c, 0, c.len, line, sizeof(line), 1));
		return;
	}
	if (l->aux & HTTP_A_PARTIAL)
		return; /* "[HTTP segment of a reassembled PDU]": shown whole where it ends */
	e = line_end(&c, 0, HTTP_MAX_LINE);
	if (e < 0)
		return;
	n = line_len(&c, 0, (size_t)e);
	text_of(&c, 0, n, line, sizeof(line));
	umpa_emit_open(em, resp ? "http.response" : "http.request", line);
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (sp1)
		*sp1 = 0;
	if (sp2)
		*sp2 = 0;
	if (resp) {
		umpa_emit_str(em, "http.response.version", line);
		if (sp1) {
			umpa_emit_u64(em, "http.response.code", strtoul(sp1 + 1, NULL, 10), NULL);
			umpa_emit_str(em, "http.response.phrase", sp2 ? sp2 + 1 : "");
		}
	} else {
		umpa_emit_str(em, "http.request.method", line);
		if (sp1)
			umpa_emit_str(em, "http.request.uri", sp1 + 1);
		if (sp2)
			umpa_emit_str(em, "http.request.version", sp2 + 1);
	}
	umpa_emit_close(em);
	pos = (size_t)e + 1;
	while ((e = line_end(&c, pos, HTTP_MAX_LINE)) >= 0) {
		n = line_len(&c, pos, (size_t)e);
		if (n == 0) {
			pos = (size_t)e + 1;
			break;
		}
		/* Wireshark's http.request.line / http.response.line keep the line's end ("...\r\n") */
		text_nl(&c, pos, (size_t)e + 1 - pos, line, sizeof(line), 1);
		pos = (size_t)e + 1;
		umpa_emit_str(em, resp ? "http.response.line" : "http.request.line", line);
		line[n] = 0; /* the header alone, for its value */
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (header_is(line, n, known[k].h, &v)) {
				umpa_emit_str(em, known[k].ws, line + v);
				if (k == 6) {
					char *endp;
					unsigned long long cl = strtoull(line + v, &endp, 10);
					if (endp != line + v && !*endp)
						umpa_emit_u64(em, "http.content_length", cl, NULL);
				}
			}
	}
	if (head_scan(&c, &h) == 1 && l->hlen > h.hend) {
		/* the body as text (as Wireshark's http.file_data shows it), up to 8 KiB */
		size_t bl = l->hlen - h.hend;
		umpa_emit_str(em, "http.file_data", text_nl(&c, h.hend, bl, line, sizeof(line), 1));
	}
}

/* As tcpdump prints HTTP after a TCP header: ": HTTP: GET /x HTTP/1.1", ": HTTP: HTTP/1.1 200 OK", and ": HTTP"
 * alone for body bytes; a second message in the same data: ", GET /y HTTP/1.1". */
static void http_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	char line[256];
	long e;

	if (li > 0 && p->l[li - 1].proto == &umpa_proto_http)
		umpa_sbuf_puts(out, ", ");
	else
		umpa_sbuf_puts(out, li > 0 ? ": HTTP" : " HTTP");
	if (l->aux & HTTP_A_CONT)
		return;
	if (!(li > 0 && p->l[li - 1].proto == &umpa_proto_http))
		umpa_sbuf_puts(out, ": ");
	if (l->aux & HTTP_A_PARTIAL) {
		umpa_sbuf_puts(out, "[HTTP segment of a reassembled PDU]");
		return;
	}
	umpa_layer_cur(p, li, &c);
	e = line_end(&c, 0, HTTP_MAX_LINE);
	umpa_sbuf_puts(out, text_of(&c, 0, e < 0 ? 0 : line_len(&c, 0, (size_t)e), line, sizeof(line)));
}

static int http_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
			struct umpa_err *e)
{
	(void)p;
	(void)li;
	(void)spec;
	return umpa_err_set(e, UMPA_EINVAL,
			    "http: %s is shown, not set: build the message as a payload string "
			    "(tcp{dport=80}/\"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\")",
			    f ? f->ws : "?");
}

const struct umpa_proto umpa_proto_http = {
    .name = "http",
    .title = "Hypertext Transfer Protocol",
    .fields = http_fields,
    .nfields = F_COUNT,
    .hdr_len = 0,
    .dissect = http_dissect,
    .set_var = http_set_var,
    .details = http_details,
    .summary = http_summary,
};

int umpa_http_partial_(const struct umpa_pkt *p, unsigned li)
{
	return p->l[li].proto == &umpa_proto_http && (p->l[li].aux & HTTP_A_PARTIAL) != 0;
}
