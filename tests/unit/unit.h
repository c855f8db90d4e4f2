/* unit.h - shared helpers for umpa's cmocka unit tests. */
#ifndef UMPA_UNIT_H
#define UMPA_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umpa_packet.h"
#include "umpa_protos.h"
#include "umpa_render.h"

/** Parse hex text (spaces, colons and newlines ignored) into @p out; returns the byte count. */
static inline size_t unit_hex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;
		char ch = *hex;
		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v = ch - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < max);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

/** Copy @p n bytes into @p p (owned) with @p linktype and dissect them. */
static inline unsigned unit_dissect(struct umpa_pkt *p, int linktype, const uint8_t *b, size_t n)
{
	umpa_pkt_init(p);
	assert_int_equal(umpa_pkt_copy_from(p, b, (uint32_t)n, NULL), 0);
	p->linktype = linktype;
	return umpa_dissect(p);
}

/** Value of integer field @p fname of the first @p proto layer; fails the test if absent. */
static inline uint64_t unit_get(const struct umpa_pkt *p, const struct umpa_proto *proto, const char *fname)
{
	int li = umpa_pkt_find(p, proto, 0);
	const struct umpa_field *f;
	uint64_t v = 0;

	assert_true(li >= 0);
	f = umpa_proto_field(proto, fname);
	assert_non_null(f);
	assert_int_equal(umpa_field_get_u64(p, (unsigned)li, f, &v), 0);
	return v;
}

/** Set field @p fname of layer @p li from text; fails the test on error. */
static inline void unit_set(struct umpa_pkt *p, unsigned li, const char *fname, const char *val)
{
	struct umpa_err e = {0};
	const struct umpa_field *f = umpa_proto_field(p->l[li].proto, fname);

	assert_non_null(f);
	if (umpa_field_set_str(p, li, f, val, &e) < 0)
		fail_msg("set %s=%s: %s", fname, val, e.msg);
}

/** Push a layer of @p proto; fails the test on error; returns its index. */
static inline unsigned unit_push(struct umpa_pkt *p, const struct umpa_proto *proto)
{
	struct umpa_err e = {0};
	int li = umpa_pkt_push(p, proto, &e);

	if (li < 0)
		fail_msg("push %s: %s", proto->name, e.msg);
	return (unsigned)li;
}

/** Finish @p p; fails the test on error. */
static inline void unit_finish(struct umpa_pkt *p)
{
	struct umpa_err e = {0};

	if (umpa_pkt_finish(p, &e) < 0)
		fail_msg("finish: %s", e.msg);
}

/** Assert the packet's bytes equal the hex text. */
static inline void unit_assert_bytes(const struct umpa_pkt *p, const char *hex)
{
	uint8_t want[4096];
	size_t n = unit_hex(hex, want, sizeof(want));

	if (p->len != n || memcmp(p->data, want, n) != 0) {
		fprintf(stderr, "got  (%u): ", p->len);
		for (uint32_t i = 0; i < p->len; i++)
			fprintf(stderr, "%02x", p->data[i]);
		fprintf(stderr, "\nwant (%zu): ", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%02x", want[i]);
		fprintf(stderr, "\n");
		fail();
	}
}

/** Dissect every prefix of @p b (truncation at every byte): no layer may extend past the bytes. */
static inline void unit_truncate_all(int linktype, const uint8_t *b, size_t n)
{
	struct umpa_sbuf sb = {0};
	struct umpa_render_opts o = {.number = 1};

	for (size_t k = 0; k <= n; k++) {
		struct umpa_pkt p;
		umpa_pkt_init(&p);
		assert_int_equal(umpa_pkt_copy_from(&p, b, (uint32_t)k, NULL), 0);
		p.wirelen = (uint32_t)n; /* as if the capture cut it */
		p.linktype = linktype;
		umpa_dissect(&p);
		for (unsigned i = 0; i < p.nlayers; i++) {
			assert_true(p.l[i].off + p.l[i].len <= p.len);
			assert_true(p.l[i].hlen <= p.l[i].len);
		}
		if (k < n && p.nlayers > 0) {
			int flagged = 0;
			for (unsigned i = 0; i < p.nlayers; i++)
				flagged |= p.l[i].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID);
			(void)flagged; /* a cut inside a raw payload is not flagged */
		}
		umpa_sbuf_reset(&sb);
		umpa_render_line(&p, &o, &sb);
		umpa_render_tree(&p, &o, &sb);
		umpa_render_json(&p, &o, &sb);
		umpa_pkt_release(&p);
	}
	umpa_sbuf_free(&sb);
}

#endif
