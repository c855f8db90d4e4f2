/* fuzz_dissect.c - libFuzzer target: every dissector and renderer over arbitrary frames.
 *
 * Input: byte 0 picks the link type (low 3 bits: ETHERNET, RAW, LINUX_SLL,
 * LINUX_SLL2, NULL, LOOP, IPV4, IPV6), bit 6 says the frame was cut by the
 * capture (its wire length is longer); the rest is the frame.  The frame is
 * borrowed read-only (libFuzzer hands it over in an exactly-sized heap block,
 * so any read past the end is an AddressSanitizer report), dissected, then
 * rendered as a line, a tree and JSON, and every layer's hashret/answers
 * hooks run against the packet itself.  The output is checked as `umpa show`
 * needs it: the summary is one line, no control character from the packet
 * reaches the text forms, the JSON is one line that a strict parser accepts.  When bit 7 of byte 0 is set the packet
 * is also copied, its "set" masks cleared and finished (lengths, checksums and
 * protocol numbers recomputed over whatever the dissectors found), then
 * dissected and rendered again.
 *
 * Built and run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "umpa_packet.h"
#include "umpa_protos.h"
#include "umpa_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[8] = {
    UMPA_LINKTYPE_ETHERNET, UMPA_LINKTYPE_RAW,  UMPA_LINKTYPE_LINUX_SLL, UMPA_LINKTYPE_LINUX_SLL2,
    UMPA_LINKTYPE_NULL,     UMPA_LINKTYPE_LOOP, UMPA_LINKTYPE_IPV4,      UMPA_LINKTYPE_IPV6,
};

/* Reused across inputs, as umpa show reuses its buffer. */
static struct umpa_sbuf out;
static struct umpa_pkt pkt, copy;

/* ---- output checks: what `umpa show` prints must stay well-formed whatever the bytes ---- */

static void bad_output(const char *what, const char *s, size_t n, size_t at)
{
	fprintf(stderr, "fuzz_dissect: %s at byte %zu of:\n%.*s\n", what, at, (int)(n > 4000 ? 4000 : n), s);
	__builtin_trap();
}

/* No control characters from packet bytes may reach a terminal (tabs only where @p tab). */
static void check_text(const char *what, const char *s, size_t n, int tab)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && !(tab && c == '\t')) || c == 0x7f)
			bad_output(what, s, n, i);
	}
}

/* A strict JSON parser (RFC 8259) over [s, e): returns the end of one value or NULL. */
static const char *j_value(const char *s, const char *e, int depth);

static const char *j_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	return s;
}

static const char *j_string(const char *s, const char *e)
{
	if (s >= e || *s++ != '"')
		return NULL;
	while (s < e) {
		unsigned char c = (unsigned char)*s++;
		if (c == '"')
			return s;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (s >= e)
				return NULL;
			c = (unsigned char)*s++;
			if (c == 'u') {
				for (int k = 0; k < 4; k++, s++)
					if (s >= e || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
							(*s >= 'A' && *s <= 'F')))
						return NULL;
			} else if (!strchr("\"\\/bfnrt", c) || !c) {
				return NULL;
			}
		} else if (c >= 0x80) { /* UTF-8: a lead byte and its continuation bytes */
			int more = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c <= 0xdf ? 1 : -1;
			if (more < 0 || c > 0xf4)
				return NULL;
			for (int k = 0; k < more; k++, s++)
				if (s >= e || ((unsigned char)*s & 0xc0) != 0x80)
					return NULL;
		}
	}
	return NULL;
}

static const char *j_digits(const char *s, const char *e)
{
	const char *b = s;
	while (s < e && *s >= '0' && *s <= '9')
		s++;
	return s > b ? s : NULL;
}

static const char *j_number(const char *s, const char *e)
{
	if (s < e && *s == '-')
		s++;
	if (s < e && *s == '0')
		s++;
	else if (!(s = j_digits(s, e)))
		return NULL;
	if (s < e && *s == '.' && !(s = j_digits(s + 1, e)))
		return NULL;
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < e && (*s == '+' || *s == '-'))
			s++;
		if (!(s = j_digits(s, e)))
			return NULL;
	}
	return s;
}

static const char *j_value(const char *s, const char *e, int depth)
{
	if (depth > 256 || (s = j_ws(s, e)) >= e)
		return NULL;
	if (*s == '{' || *s == '[') {
		char close = *s == '{' ? '}' : ']';
		s = j_ws(s + 1, e);
		if (s < e && *s == close)
			return s + 1;
		for (;;) {
			if (close == '}') {
				if (!(s = j_string(j_ws(s, e), e)) || (s = j_ws(s, e)) >= e || *s++ != ':')
					return NULL;
			}
			if (!(s = j_value(s, e, depth + 1)) || (s = j_ws(s, e)) >= e)
				return NULL;
			if (*s == close)
				return s + 1;
			if (*s++ != ',')
				return NULL;
		}
	}
	if (*s == '"')
		return j_string(s, e);
	if (*s == '-' || (*s >= '0' && *s <= '9'))
		return j_number(s, e);
	for (const char *const *w = (const char *const[]){"true", "false", "null", NULL}; *w; w++)
		if ((size_t)(e - s) >= strlen(*w) && !memcmp(s, *w, strlen(*w)))
			return s + strlen(*w);
	return NULL;
}

/* One JSON object on one line, ending in a newline. */
static void check_json(const char *s, size_t n)
{
	const char *end;

	if (n == 0 || s[n - 1] != '\n' || memchr(s, '\n', n - 1))
		bad_output("JSON is not one line", s, n, 0);
	if (s[0] != '{' || !(end = j_value(s, s + n - 1, 0)) || end != s + n - 1)
		bad_output("JSON does not parse", s, n, end ? (size_t)(end - s) : 0);
}

static void render_all(const struct umpa_pkt *p, uint64_t n)
{
	struct umpa_render_opts ro = {.number = n, .ts_nsec = (int)(n & 1)};
	size_t a, b;

	umpa_sbuf_reset(&out);
	umpa_render_line(p, &ro, &out);
	a = out.len;
	umpa_render_tree(p, &ro, &out);
	b = out.len;
	umpa_render_json(p, &ro, &out);
	if (out.oom)
		return;
	/* the text must be NUL-terminated where the sbuf says it ends */
	if (!out.s || strlen(out.s) != out.len)
		bad_output("NUL inside the output", out.s ? out.s : "", out.s ? strlen(out.s) : 0, 0);
	/* one line per packet */
	if (a == 0 || out.s[a - 1] != '\n' || memchr(out.s, '\n', a - 1))
		bad_output("the summary is not one line", out.s, a, 0);
	check_text("control character in the summary", out.s, a, 0);
	check_text("control character in the tree", out.s + a, b - a, 1);
	check_json(out.s + b, out.len - b);
	if (out.cap > (1u << 24)) /* never keep a huge buffer between inputs */
		umpa_sbuf_free(&out);
}

static void match_hooks(const struct umpa_pkt *p)
{
	char why[128];

	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr->hashret)
			(void)pr->hashret(p, i);
		if (pr->answers) {
			why[0] = 0;
			(void)pr->answers(p, i, p, i, why, sizeof(why));
			if (memchr(why, 0, sizeof(why)) == NULL)
				__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct umpa_err e = {0};
	int lt;

	if (size < 1 || size - 1 > UMPA_MAX_PKT)
		return 0;
	lt = linktypes[data[0] & 7];
	/* bit 6: the frame was longer on the wire (capture cut it: TRUNCATED, not INVALID) */
	umpa_pkt_attach(&pkt, data + 1, (uint32_t)(size - 1), (uint32_t)(size - 1) + (data[0] & 0x40 ? 1000 : 0), lt);
	pkt.ts_sec = 1700000000 + (int64_t)size;
	pkt.ts_nsec = 123456789;
	if (umpa_dissect(&pkt) > UMPA_MAX_LAYERS)
		__builtin_trap();
	for (unsigned i = 0; i < pkt.nlayers; i++) {
		const struct umpa_layer *l = &pkt.l[i];
		/* the driver's contract: every window and header inside the bytes */
		if (l->off > pkt.len || l->len > pkt.len - l->off || l->hlen > l->len)
			__builtin_trap();
	}
	render_all(&pkt, 1);
	match_hooks(&pkt);

	if (data[0] & 0x80) {
		if (umpa_pkt_dup(&copy, &pkt, &e) == 0) {
			for (unsigned i = 0; i < copy.nlayers; i++)
				copy.l[i].set = 0;
			(void)umpa_pkt_finish(&copy, &e);
			render_all(&copy, 2);
			umpa_dissect(&copy);
			render_all(&copy, 3);
			match_hooks(&copy);
		}
		umpa_pkt_clear(&copy);
	}
	return 0;
}
