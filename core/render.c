/* render.c - one-line summaries, field trees and JSON from the layer index.
 *
 * The renderers know no protocol: they walk each layer's field table, then
 * let the protocol's `details` hook add options and records through the same
 * emitter, and its `summary` hook write its part of the one-line form.
 * Output is appended to a caller-owned buffer; nothing is allocated per
 * packet once the buffers have grown.
 */
#include <stdio.h>
#include <string.h>

#include "umpa_render.h"

/* ---- emitter helpers (used by details hooks) ---- */

void umpa_emit_str(struct umpa_emit *em, const char *key, const char *val)
{
	em->field(em, key, val, UMPA_V_STR, NULL);
}

void umpa_emit_u64(struct umpa_emit *em, const char *key, uint64_t v, const char *vname)
{
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_put_u64(&em->tmp, v);
	em->field(em, key, em->tmp.s ? em->tmp.s : "", UMPA_V_NUM, vname);
}

void umpa_emit_hex(struct umpa_emit *em, const char *key, uint64_t v, unsigned digits)
{
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_put_hex(&em->tmp, v, digits);
	em->field(em, key, em->tmp.s ? em->tmp.s : "", UMPA_V_STR, NULL);
}

void umpa_emit_bool(struct umpa_emit *em, const char *key, int v)
{
	em->field(em, key, v ? "true" : "false", UMPA_V_BOOL, NULL);
}

void umpa_emit_bytes(struct umpa_emit *em, const char *key, const uint8_t *b, size_t n)
{
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_put_hexbytes(&em->tmp, b, n, ':');
	em->field(em, key, em->tmp.s ? em->tmp.s : "", UMPA_V_STR, NULL);
}

void umpa_emit_ipv4(struct umpa_emit *em, const char *key, const uint8_t a[4])
{
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_put_ipv4(&em->tmp, a);
	em->field(em, key, em->tmp.s, UMPA_V_STR, NULL);
}

void umpa_emit_ipv6(struct umpa_emit *em, const char *key, const uint8_t a[16])
{
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_put_ipv6(&em->tmp, a);
	em->field(em, key, em->tmp.s, UMPA_V_STR, NULL);
}

void umpa_emit_mac(struct umpa_emit *em, const char *key, const uint8_t a[6])
{
	umpa_sbuf_reset(&em->tmp);
	umpa_sbuf_put_mac(&em->tmp, a);
	em->field(em, key, em->tmp.s, UMPA_V_STR, NULL);
}

void umpa_emit_open(struct umpa_emit *em, const char *key, const char *label)
{
	em->open(em, key, label);
}

void umpa_emit_close(struct umpa_emit *em)
{
	em->close(em);
}

/* Names of the set bits of a FLAGS value, joined by ", " into em->tmp after the number. */
static void flag_names(struct umpa_sbuf *b, const struct umpa_field *f, uint64_t v)
{
	int first = 1;

	for (const struct umpa_vname *t = f->names; t && t->name; t++)
		if (t->v && (v & t->v) == t->v) {
			umpa_sbuf_puts(b, first ? "" : ", ");
			umpa_sbuf_puts(b, t->name);
			first = 0;
		}
}

void umpa_emit_field(struct umpa_emit *em, const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	uint64_t v;
	const char *key = f->ws ? f->ws : f->name;

	if (f->type == UMPA_FT_VAR || (f->flags & UMPA_F_HIDDEN))
		return;
	{
		long off = umpa_field_bitoff(p, li, f);
		if (off < 0 || (uint64_t)off + f->bits > 8ull * p->l[li].hlen)
			return; /* not part of this header as present */
	}
	switch (f->type) {
	case UMPA_FT_UINT:
	case UMPA_FT_ENUM:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return;
		if (f->flags & UMPA_F_HEX) {
			umpa_emit_hex(em, key, v, (f->bits + 3) / 4);
			return;
		}
		umpa_emit_u64(em, key, v, f->type == UMPA_FT_ENUM ? umpa_vname_find(f->names, v) : NULL);
		return;
	case UMPA_FT_FLAGS:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return;
		umpa_sbuf_reset(&em->tmp);
		umpa_sbuf_reset(&em->tmp2);
		umpa_sbuf_put_hex(&em->tmp, v, (f->bits + 3) / 4);
		flag_names(&em->tmp2, f, v);
		em->field(em, key, em->tmp.s, UMPA_V_STR, em->tmp2.len ? em->tmp2.s : NULL);
		return;
	case UMPA_FT_BOOL:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return;
		umpa_emit_bool(em, key, (int)v);
		return;
	default:
		umpa_sbuf_reset(&em->tmp);
		if (umpa_field_format(p, li, f, &em->tmp) < 0)
			return;
		em->field(em, key, em->tmp.s ? em->tmp.s : "", UMPA_V_STR, NULL);
		return;
	}
}

/* ---- time ---- */

/* "HH:MM:SS.frac" for @p s seconds (any number of hours: a delta may pass a day). */
static void put_hms(int64_t s, uint32_t frac, int digits, struct umpa_sbuf *b)
{
	char t[16];
	int64_t h = s / 3600;

	if (h < 10)
		umpa_sbuf_putc(b, '0');
	umpa_sbuf_put_u64(b, (uint64_t)h);
	t[0] = ':';
	t[1] = (char)('0' + s % 3600 / 600);
	t[2] = (char)('0' + s % 600 / 60);
	t[3] = ':';
	t[4] = (char)('0' + s % 60 / 10);
	t[5] = (char)('0' + s % 10);
	t[6] = '.';
	for (int i = digits; i > 0; i--) {
		t[6 + i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	umpa_sbuf_put(b, t, (size_t)(7 + digits));
}

void umpa_render_time(const struct umpa_pkt *p, int nsec, struct umpa_sbuf *b)
{
	int64_t s = p->ts_sec % 86400;

	if (s < 0)
		s += 86400;
	put_hms(s, nsec ? p->ts_nsec : p->ts_nsec / 1000, nsec ? 9 : 6, b);
}

/* The time stamp of the one-line form in mode o->ts_mode, followed by a space (none for -t). */
static void render_stamp(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b)
{
	int nsec = o && o->ts_nsec, digits = nsec ? 9 : 6;
	uint32_t div = nsec ? 1 : 1000;
	int64_t s, days, y, m, d, era;
	uint64_t doe, yoe, doy, mp;
	char frac[12];

	switch (o ? o->ts_mode : UMPA_TS_TIME) {
	case UMPA_TS_NONE:
		return;
	case UMPA_TS_EPOCH:
		if (p->ts_sec < 0)
			umpa_sbuf_putc(b, '-');
		umpa_sbuf_put_u64(b, p->ts_sec < 0 ? (uint64_t)-p->ts_sec : (uint64_t)p->ts_sec);
		snprintf(frac, sizeof frac, ".%0*u", digits, (unsigned)(p->ts_nsec / div));
		umpa_sbuf_puts(b, frac);
		break;
	case UMPA_TS_DELTA:
	case UMPA_TS_SINCE_FIRST: {
		int64_t ns = 0;
		if (o->ts_ref_set)
			ns = (p->ts_sec - o->ts_ref_sec) * 1000000000 + (int64_t)p->ts_nsec - (int64_t)o->ts_ref_nsec;
		umpa_sbuf_putc(b, ' '); /* tcpdump leaves room for a sign */
		if (ns < 0) {
			b->len--;
			umpa_sbuf_putc(b, '-');
			ns = -ns;
		}
		put_hms(ns / 1000000000, (uint32_t)(ns % 1000000000) / div, digits, b);
		break;
	}
	case UMPA_TS_DATE:
		/* civil date from days since 1970-01-01 (Howard Hinnant's algorithm) */
		s = p->ts_sec % 86400;
		days = p->ts_sec / 86400;
		if (s < 0) {
			s += 86400;
			days--;
		}
		days += 719468;
		era = (days >= 0 ? days : days - 146096) / 146097;
		doe = (uint64_t)(days - era * 146097);
		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		y = (int64_t)yoe + era * 400;
		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		mp = (5 * doy + 2) / 153;
		d = (int64_t)(doy - (153 * mp + 2) / 5 + 1);
		m = (int64_t)(mp < 10 ? mp + 3 : mp - 9);
		y += m <= 2;
		snprintf(frac, sizeof frac, "%04d-", (int)y);
		umpa_sbuf_puts(b, frac);
		snprintf(frac, sizeof frac, "%02d-%02d ", (int)m, (int)d);
		umpa_sbuf_puts(b, frac);
		put_hms(s, p->ts_nsec / div, digits, b);
		break;
	default:
		umpa_render_time(p, nsec, b);
		break;
	}
	umpa_sbuf_putc(b, ' ');
}

/* Why a layer's checksum was not verified (UMPA_L_CSUM_PARTIAL or UMPA_L_CSUM_UNVERIFIED). */
static const char *csum_why(const struct umpa_layer *l)
{
	return (l->flags & UMPA_L_CSUM_PARTIAL) ? "partial, left for the NIC (checksum offload)"
						: "live capture (checksum offload; --verify-checksums checks)";
}

/* " [WHAT layer: why]" */
static void put_mark(const struct umpa_layer *l, const char *what, struct umpa_sbuf *b)
{
	umpa_sbuf_puts(b, " [");
	umpa_sbuf_puts(b, what);
	umpa_sbuf_putc(b, ' ');
	umpa_sbuf_puts(b, l->proto->name);
	if (l->why) {
		umpa_sbuf_puts(b, ": ");
		umpa_sbuf_puts(b, l->why);
	}
	umpa_sbuf_putc(b, ']');
}

static void put_marks(const struct umpa_layer *l, struct umpa_sbuf *b)
{
	if (l->flags & UMPA_L_TRUNCATED)
		put_mark(l, "truncated", b);
	if (l->flags & UMPA_L_INVALID)
		put_mark(l, "invalid", b);
	if (l->flags & UMPA_L_BADSUM) {
		umpa_sbuf_puts(b, " [bad ");
		umpa_sbuf_puts(b, l->proto->name);
		umpa_sbuf_puts(b, " checksum]");
	}
}

void umpa_render_line(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b)
{
	size_t start;

	render_stamp(p, o, b);
	start = b->len;
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		size_t at = b->len, tl;
		if (l->proto->summary_ctx && o)
			l->proto->summary_ctx(p, i, o, b);
		else if (l->proto->summary)
			l->proto->summary(p, i, b);
		/* -e: the link header named the protocol, so its own tag goes, as in tcpdump -e */
		if (o && o->link_hdr && i > 0 && (p->l[i - 1].proto->pflags & UMPA_PF_LINK) && l->proto->line_tag &&
		    b->len - at >= (tl = strlen(l->proto->line_tag)) && !memcmp(b->s + at, l->proto->line_tag, tl)) {
			memmove(b->s + at, b->s + at + tl, b->len - at - tl + 1);
			b->len -= tl;
		}
	}
	if (b->len == start) { /* nobody said anything: name the layers */
		for (unsigned i = 0; i < p->nlayers; i++) {
			if (i)
				umpa_sbuf_putc(b, '/');
			umpa_sbuf_puts(b, p->l[i].proto->name);
		}
		if (p->nlayers == 0)
			umpa_sbuf_puts(b, "empty");
		umpa_sbuf_puts(b, ", length ");
		umpa_sbuf_put_u64(b, p->wirelen);
	}
	for (unsigned i = 0; i < p->nlayers; i++)
		if (p->l[i].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID | UMPA_L_BADSUM))
			put_marks(&p->l[i], b);
	if (p->comment) { /* pcapng packet comment (newlines are escaped below, as all wire text) */
		umpa_sbuf_puts(b, " [comment: ");
		umpa_sbuf_puts(b, p->comment);
		umpa_sbuf_putc(b, ']');
	}
	/* summaries quote the wire (names, payload text): whatever a hook let through, the line stays one line */
	umpa_sbuf_make_safe(b, start);
	umpa_sbuf_putc(b, '\n');
}

/* ---- tree ---- */

static void tree_indent(struct umpa_emit *em)
{
	for (int i = 0; i < em->depth; i++)
		umpa_sbuf_puts(em->out, "    ");
}

static void tree_open(struct umpa_emit *em, const char *key, const char *label)
{
	tree_indent(em);
	if (!label)
		label = key;
	umpa_sbuf_put_safe(em->out, label, strlen(label)); /* labels may quote the wire */
	umpa_sbuf_putc(em->out, '\n');
	em->depth++;
}

static void tree_close(struct umpa_emit *em)
{
	if (em->depth > 1)
		em->depth--;
}

static void tree_field(struct umpa_emit *em, const char *key, const char *val, int kind, const char *vname)
{
	tree_indent(em);
	umpa_sbuf_puts(em->out, key);
	umpa_sbuf_puts(em->out, ": ");
	umpa_sbuf_put_safe(em->out, val, strlen(val)); /* names and text from the wire */
	if (vname) {
		umpa_sbuf_puts(em->out, " (");
		umpa_sbuf_puts(em->out, vname);
		umpa_sbuf_putc(em->out, ')');
	}
	umpa_sbuf_putc(em->out, '\n');
}

/* Borrow the caller's scratch buffers, if any. */
static void scratch_take(struct umpa_emit *em, const struct umpa_render_opts *o)
{
	if (o && o->scratch) {
		em->tmp = o->scratch[0];
		em->tmp2 = o->scratch[1];
	}
	if (o && o->json_scratch)
		em->arena = *o->json_scratch;
}

/* Give the scratch buffers back (they may have grown), or free them. */
static void scratch_give(struct umpa_emit *em, const struct umpa_render_opts *o)
{
	if (o && o->scratch) {
		o->scratch[0] = em->tmp;
		o->scratch[1] = em->tmp2;
	} else {
		umpa_sbuf_free(&em->tmp);
		umpa_sbuf_free(&em->tmp2);
	}
	if (o && o->json_scratch)
		*o->json_scratch = em->arena;
	else
		umpa_sbuf_free(&em->arena);
}

void umpa_render_tree(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b)
{
	struct umpa_emit em = {.open = tree_open, .close = tree_close, .field = tree_field, .out = b};

	scratch_take(&em, o);

	umpa_sbuf_puts(b, "Frame ");
	umpa_sbuf_put_u64(b, o ? o->number : 0);
	umpa_sbuf_puts(b, ": ");
	umpa_sbuf_put_u64(b, p->wirelen);
	umpa_sbuf_puts(b, " bytes on wire, ");
	umpa_sbuf_put_u64(b, p->len);
	umpa_sbuf_puts(b, " captured, ");
	umpa_render_time(p, o && o->ts_nsec, b);
	umpa_sbuf_putc(b, '\n');
	if (p->comment) { /* as Wireshark's "Packet comments" tree, above the layers */
		em.depth = 0;
		tree_open(&em, "frame.comment", "Packet comments");
		umpa_emit_str(&em, "frame.comment", p->comment);
	}
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		umpa_sbuf_puts(b, l->proto->title ? l->proto->title : l->proto->name);
		umpa_sbuf_puts(b, " (");
		umpa_sbuf_puts(b, l->proto->name);
		umpa_sbuf_puts(b, "), ");
		umpa_sbuf_put_u64(b, l->hlen);
		umpa_sbuf_puts(b, l->hlen == 1 ? " byte" : " bytes");
		if (l->flags & UMPA_L_QUOTED)
			umpa_sbuf_puts(b, " [quoted]");
		put_marks(l, b);
		if (l->flags & (UMPA_L_CSUM_PARTIAL | UMPA_L_CSUM_UNVERIFIED)) { /* as tshark's "[unverified]" */
			umpa_sbuf_puts(b, " [");
			umpa_sbuf_puts(b, l->proto->name);
			umpa_sbuf_puts(b, " checksum unverified: ");
			umpa_sbuf_puts(b, csum_why(l));
			umpa_sbuf_putc(b, ']');
		}
		umpa_sbuf_putc(b, '\n');
		em.depth = 1;
		for (unsigned k = 0; k < l->proto->nfields; k++)
			umpa_emit_field(&em, p, i, &l->proto->fields[k]);
		if (l->proto->details)
			l->proto->details(p, i, &em);
	}
	scratch_give(&em, o);
}

/* ---- JSON ----
 *
 * Keys never carry values: a group (an option, a record) is keyed by its
 * stable name (em->open's key, never its label), and a key that occurs more
 * than once in one object (two DNS answers, SACK edges, NOP options) becomes
 * one array of its values, in order, at the place of its first occurrence -
 * tshark's -T json --no-duplicate-keys.  So `jq '.layers[2]["tcp.options_tree"]
 * ["tcp.options.sack_le"][0]'` addresses what it names.  The hooks' events of
 * one layer are recorded in an arena (a reused buffer), then written out
 * object by object, merging repeated keys.
 *
 * An arena record: one type byte (J_OPEN, J_CLOSE, J_FIELD), for fields one
 * kind byte and one has-vname byte, then NUL-terminated key, value and vname.
 * Writing marks records done by setting J_DONE on their type byte.
 */

enum { J_OPEN = 1, J_CLOSE = 2, J_FIELD = 3, J_DONE = 0x80 };

static void json_open(struct umpa_emit *em, const char *key, const char *label)
{
	(void)label; /* labels carry values ("Maximum segment size: 1460 bytes"): never keys */
	umpa_sbuf_putc(&em->arena, J_OPEN);
	umpa_sbuf_put(&em->arena, key, strlen(key) + 1);
	em->depth++;
}

static void json_close(struct umpa_emit *em)
{
	if (em->depth > 1) {
		umpa_sbuf_putc(&em->arena, J_CLOSE);
		em->depth--;
	}
}

static void json_field(struct umpa_emit *em, const char *key, const char *val, int kind, const char *vname)
{
	umpa_sbuf_putc(&em->arena, J_FIELD);
	umpa_sbuf_putc(&em->arena, (char)kind);
	umpa_sbuf_putc(&em->arena, vname ? 1 : 0);
	umpa_sbuf_put(&em->arena, key, strlen(key) + 1);
	umpa_sbuf_put(&em->arena, val, strlen(val) + 1);
	if (vname)
		umpa_sbuf_put(&em->arena, vname, strlen(vname) + 1);
}

/* A record of the arena, parsed. */
struct jrec {
	int type; /* J_OPEN, J_CLOSE or J_FIELD (J_DONE stripped) */
	int kind;
	const char *key, *val, *vname;
	size_t next; /* offset of the next record */
};

static size_t jstr(const struct umpa_sbuf *a, size_t at)
{
	const char *z = memchr(a->s + at, 0, a->len - at);
	return z ? (size_t)(z - a->s) + 1 : a->len;
}

static void jread(const struct umpa_sbuf *a, size_t at, struct jrec *r)
{
	size_t k;

	r->type = (uint8_t)a->s[at] & ~J_DONE;
	r->key = r->val = r->vname = NULL;
	if (r->type == J_CLOSE) {
		r->next = at + 1;
		return;
	}
	if (r->type == J_OPEN) {
		r->key = a->s + at + 1;
		r->next = jstr(a, at + 1);
		return;
	}
	r->kind = a->s[at + 1];
	r->key = a->s + at + 3;
	k = jstr(a, at + 3);
	r->val = a->s + k;
	r->next = jstr(a, k);
	if (a->s[at + 2]) {
		r->vname = a->s + r->next;
		r->next = jstr(a, r->next);
	}
}

/* Offset just past the sibling at @p at (a field, or a group with what it holds); @p end bounds the object. */
static size_t jskip(const struct umpa_sbuf *a, size_t at, size_t end)
{
	struct jrec r;
	int depth = 0;

	do {
		jread(a, at, &r);
		depth += r.type == J_OPEN ? 1 : r.type == J_CLOSE ? -1 : 0;
		at = r.next;
	} while (depth > 0 && at < end);
	return at;
}

static void jobject(struct umpa_sbuf *a, size_t at, size_t end, int first, struct umpa_sbuf *out);

/* The value of the sibling at @p at: a field's value, or a group's object. */
static void jvalue(struct umpa_sbuf *a, size_t at, size_t end, struct umpa_sbuf *out)
{
	struct jrec r;

	jread(a, at, &r);
	if (r.type == J_FIELD) {
		if (r.kind == UMPA_V_NUM || r.kind == UMPA_V_BOOL)
			umpa_sbuf_puts(out, r.val);
		else
			umpa_sbuf_put_json_str(out, r.val, strlen(r.val));
		return;
	}
	umpa_sbuf_putc(out, '{');
	jobject(a, r.next, jskip(a, at, end) - 1, 1, out); /* up to the group's J_CLOSE */
	umpa_sbuf_putc(out, '}');
}

/* Write the members of the object recorded in [@p at, @p end), merging repeated keys into arrays. */
static void jobject(struct umpa_sbuf *a, size_t at, size_t end, int first, struct umpa_sbuf *out)
{
	for (size_t i = at; i < end; i = jskip(a, i, end)) {
		struct jrec r, q;
		size_t n = 0, nv = 0;

		if ((uint8_t)a->s[i] & J_DONE)
			continue;
		jread(a, i, &r);
		if (r.type == J_CLOSE) /* an unmatched close: nothing to write */
			continue;
		for (size_t j = i; j < end; j = jskip(a, j, end)) {
			jread(a, j, &q);
			if (q.type != J_CLOSE && !((uint8_t)a->s[j] & J_DONE) && !strcmp(q.key, r.key)) {
				n++;
				nv += q.vname != NULL;
			}
		}
		if (!first)
			umpa_sbuf_putc(out, ',');
		first = 0;
		umpa_sbuf_put_json_str(out, r.key, strlen(r.key));
		umpa_sbuf_putc(out, ':');
		if (n > 1)
			umpa_sbuf_putc(out, '[');
		for (size_t j = i, k = 0; j < end; j = jskip(a, j, end)) {
			jread(a, j, &q);
			if (q.type == J_CLOSE || ((uint8_t)a->s[j] & J_DONE) || strcmp(q.key, r.key))
				continue;
			if (k++)
				umpa_sbuf_putc(out, ',');
			jvalue(a, j, end, out);
		}
		if (n > 1)
			umpa_sbuf_putc(out, ']');
		if (nv) { /* the values' names as a sibling key: "icmp.type_name" (null where one has none) */
			umpa_sbuf_puts(out, ",\"");
			umpa_sbuf_puts(out, r.key);
			umpa_sbuf_puts(out, "_name\":");
			if (n > 1)
				umpa_sbuf_putc(out, '[');
			for (size_t j = i, k = 0; j < end; j = jskip(a, j, end)) {
				jread(a, j, &q);
				if (q.type == J_CLOSE || ((uint8_t)a->s[j] & J_DONE) || strcmp(q.key, r.key))
					continue;
				if (k++)
					umpa_sbuf_putc(out, ',');
				if (q.vname)
					umpa_sbuf_put_json_str(out, q.vname, strlen(q.vname));
				else
					umpa_sbuf_puts(out, "null");
			}
			if (n > 1)
				umpa_sbuf_putc(out, ']');
		}
		for (size_t j = i; j < end; j = jskip(a, j, end)) {
			jread(a, j, &q);
			if (q.type != J_CLOSE && !strcmp(q.key, r.key))
				a->s[j] = (char)((uint8_t)a->s[j] | J_DONE);
		}
	}
}

static void json_flag(struct umpa_sbuf *b, const char *name, const char *why)
{
	umpa_sbuf_puts(b, ",\"_");
	umpa_sbuf_puts(b, name);
	umpa_sbuf_puts(b, "\":");
	umpa_sbuf_put_json_str(b, why ? why : name, strlen(why ? why : name));
}

void umpa_render_json(const struct umpa_pkt *p, const struct umpa_render_opts *o, struct umpa_sbuf *b)
{
	struct umpa_emit em = {.open = json_open, .close = json_close, .field = json_field, .out = b};
	char ts[40];
	int n;

	scratch_take(&em, o);
	umpa_sbuf_puts(b, "{\"frame.number\":");
	umpa_sbuf_put_u64(b, o ? o->number : 0);
	n = snprintf(ts, sizeof(ts), "%lld.%09u", (long long)p->ts_sec, p->ts_nsec);
	umpa_sbuf_puts(b, ",\"frame.time_epoch\":\"");
	umpa_sbuf_put(b, ts, (size_t)n);
	umpa_sbuf_puts(b, "\",\"frame.len\":");
	umpa_sbuf_put_u64(b, p->wirelen);
	umpa_sbuf_puts(b, ",\"frame.cap_len\":");
	umpa_sbuf_put_u64(b, p->len);
	if (p->comment) {
		umpa_sbuf_puts(b, ",\"frame.comment\":");
		umpa_sbuf_put_json_str(b, p->comment, strlen(p->comment));
	}
	umpa_sbuf_puts(b, ",\"layers\":[");
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		if (i)
			umpa_sbuf_putc(b, ',');
		umpa_sbuf_puts(b, "{\"_layer\":\"");
		umpa_sbuf_puts(b, l->proto->name);
		umpa_sbuf_puts(b, "\",\"_offset\":");
		umpa_sbuf_put_u64(b, l->off);
		umpa_sbuf_puts(b, ",\"_hlen\":");
		umpa_sbuf_put_u64(b, l->hlen);
		if (l->flags & UMPA_L_TRUNCATED)
			json_flag(b, "truncated", l->why);
		if (l->flags & UMPA_L_INVALID)
			json_flag(b, "invalid", l->why);
		if (l->flags & UMPA_L_BADSUM)
			json_flag(b, "bad_checksum", "checksum does not verify");
		if (l->flags & (UMPA_L_CSUM_PARTIAL | UMPA_L_CSUM_UNVERIFIED))
			json_flag(b, "checksum_unverified", csum_why(l));
		if (l->flags & UMPA_L_QUOTED)
			umpa_sbuf_puts(b, ",\"_quoted\":true");
		em.depth = 1;
		umpa_sbuf_reset(&em.arena);
		em.arena.oom = 0;
		for (unsigned k = 0; k < l->proto->nfields; k++)
			umpa_emit_field(&em, p, i, &l->proto->fields[k]);
		if (l->proto->details)
			l->proto->details(p, i, &em);
		if (em.arena.oom)
			b->oom = 1; /* a record may be cut: write none */
		else if (em.arena.len)
			jobject(&em.arena, 0, em.arena.len, 0, b);
		umpa_sbuf_putc(b, '}');
	}
	umpa_sbuf_puts(b, "]}\n");
	scratch_give(&em, o);
}
