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
#include <sys/stat.h>
#include <unistd.h>

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

/** Field @p name (short name, Wireshark name or alias) of @p pr; fails the test if there is none. */
static inline const struct umpa_field *unit_field(const struct umpa_proto *pr, const char *name)
{
	const struct umpa_field *f = umpa_proto_field(pr, name);

	if (!f)
		fail_msg("no field %s in %s", name, pr->name);
	return f;
}

/** Value of integer field @p name of layer @p li; fails the test if absent. */
static inline uint64_t unit_get_at(const struct umpa_pkt *p, unsigned li, const char *name)
{
	uint64_t v = 0;

	assert_true(li < p->nlayers);
	assert_int_equal(umpa_field_get_u64(p, li, unit_field(p->l[li].proto, name), &v), 0);
	return v;
}

/** Field @p name of layer @p li as text (caller frees); fails the test on error. */
static inline char *unit_format(const struct umpa_pkt *p, unsigned li, const char *name)
{
	struct umpa_sbuf b = {0};

	assert_int_equal(umpa_field_format(p, li, unit_field(p->l[li].proto, name), &b), 0);
	assert_non_null(b.s);
	return b.s;
}

/** The JSON rendering of @p p (caller frees). */
static inline char *unit_json(const struct umpa_pkt *p)
{
	struct umpa_sbuf b = {0};
	struct umpa_render_opts o = {.number = 1};

	umpa_render_json(p, &o, &b);
	assert_non_null(b.s);
	return b.s;
}

/** The tree (-v) rendering of @p p (caller frees). */
static inline char *unit_tree(const struct umpa_pkt *p)
{
	struct umpa_sbuf b = {0};
	struct umpa_render_opts o = {.number = 1};

	umpa_render_tree(p, &o, &b);
	assert_non_null(b.s);
	return b.s;
}

/** The one-line summary of @p p without the time stamp and the newline (caller frees). */
static inline char *unit_line(const struct umpa_pkt *p)
{
	struct umpa_sbuf b = {0};
	struct umpa_render_opts o = {.number = 1};
	char *s;

	umpa_render_line(p, &o, &b);
	assert_non_null(b.s);
	s = strchr(b.s, ' ');
	assert_non_null(s);
	memmove(b.s, s + 1, strlen(s + 1) + 1);
	if (b.s[0] && b.s[strlen(b.s) - 1] == '\n')
		b.s[strlen(b.s) - 1] = 0;
	return b.s;
}

/** Fail unless @p needle occurs in @p hay. */
static inline void unit_assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not found in:\n%s", needle, hay);
}

/** Fail if @p needle occurs in @p hay. */
static inline void unit_assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("'%s' unexpectedly found in:\n%s", needle, hay);
}

/** The one-line summary of @p p (without time stamp and newline) must be exactly @p want. */
static inline void unit_assert_line(const struct umpa_pkt *p, const char *want)
{
	char *s = unit_line(p);

	if (strcmp(s, want) != 0)
		fail_msg("summary\n got: '%s'\nwant: '%s'", s, want);
	free(s);
}

/** The one-line summary of @p p must contain @p needle. */
static inline void unit_assert_line_has(const struct umpa_pkt *p, const char *needle)
{
	char *s = unit_line(p);

	unit_assert_contains(s, needle);
	free(s);
}

/** The tree rendering of @p p must contain @p needle. */
static inline void unit_assert_tree_has(const struct umpa_pkt *p, const char *needle)
{
	char *s = unit_tree(p);

	unit_assert_contains(s, needle);
	free(s);
}

/** The JSON rendering of @p p must contain @p needle. */
static inline void unit_assert_json_has(const struct umpa_pkt *p, const char *needle)
{
	char *s = unit_json(p);

	unit_assert_contains(s, needle);
	free(s);
}

/** The JSON rendering of @p p must not contain @p needle. */
static inline void unit_assert_json_lacks(const struct umpa_pkt *p, const char *needle)
{
	char *s = unit_json(p);

	unit_assert_lacks(s, needle);
	free(s);
}

/** Dissect hex text (as unit_hex reads it) as a capture of @p linktype; returns the layer count. */
static inline unsigned unit_dissect_hex(struct umpa_pkt *p, int linktype, const char *hex)
{
	uint8_t b[4096];
	size_t n = unit_hex(hex, b, sizeof(b));

	return unit_dissect(p, linktype, b, n);
}

/** Append a raw payload layer holding @p n bytes of @p b; fails the test on error. */
static inline void unit_push_payload(struct umpa_pkt *p, const void *b, size_t n)
{
	struct umpa_err e = {0};

	if (umpa_pkt_push_bytes(p, &umpa_proto_raw, b, (uint32_t)n, &e) < 0)
		fail_msg("payload: %s", e.msg);
}

/** Start @p p as @p l3{src,dst}/@p l4{} (an IP layer and what it carries), not yet finished. */
static inline void unit_build_ip(struct umpa_pkt *p, const struct umpa_proto *l3, const char *src, const char *dst,
				 const struct umpa_proto *l4)
{
	umpa_pkt_init(p);
	unit_push(p, l3);
	unit_push(p, l4);
	unit_set(p, 0, "src", src);
	unit_set(p, 0, "dst", dst);
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

/** unit_truncate_all() on the bytes of hex text. */
static inline void unit_truncate_hex(int linktype, const char *hex)
{
	uint8_t b[4096];
	size_t n = unit_hex(hex, b, sizeof(b));

	unit_truncate_all(linktype, b, n);
}

/* ---- tshark ---- */

/** True when tshark can be run (tests that need it skip otherwise). */
static inline int unit_have_tshark(void)
{
	return system("tshark -v >/dev/null 2>&1") == 0;
}

/** Write @p v to @p f little-endian; fails the test on error. */
static inline void unit_put_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	assert_int_equal(fwrite(b, 1, 4, f), 4);
}

/**
 * Write the @p n packets to a classic pcap file (little-endian, version
 * 2.4, snap length 65535) of @p linktype at @p path; packet i is stamped
 * i seconds.
 */
static inline void unit_write_pcap(const char *path, int linktype, const struct umpa_pkt *pk, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	unit_put_le32(f, 0xa1b2c3d4);
	unit_put_le32(f, 0x00040002); /* version 2.4 */
	unit_put_le32(f, 0);
	unit_put_le32(f, 0);
	unit_put_le32(f, 65535);
	unit_put_le32(f, (uint32_t)linktype);
	for (size_t i = 0; i < n; i++) {
		unit_put_le32(f, (uint32_t)i);
		unit_put_le32(f, 0);
		unit_put_le32(f, pk[i].len);
		unit_put_le32(f, pk[i].len);
		assert_int_equal(fwrite(pk[i].data, 1, pk[i].len, f), pk[i].len);
	}
	assert_int_equal(fclose(f), 0);
}

/**
 * Run "tshark -r @p path -V @p opts" and check what it prints: @p frames
 * frames, and no line that says Malformed, Bad checksum, [incorrect ...] or
 * Expert Info (Warning/Error) (such lines are printed to stderr).  Returns
 * how many lines contain @p needle (0 when it is NULL).
 */
static inline int unit_tshark_check(const char *path, const char *opts, int frames, const char *needle)
{
	char cmd[512], line[1024];
	int bad = 0, seen = 0, hits = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "tshark -r %s -V %s 2>&1", path, opts);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Frame ", 6))
			seen++;
		if (needle && strstr(line, needle))
			hits++;
		if (strstr(line, "Malformed") || strstr(line, "Bad checksum") || strstr(line, "[incorrect") ||
		    strstr(line, "Expert Info (Warning") || strstr(line, "Expert Info (Error")) {
			fprintf(stderr, "tshark, frame %d: %s", seen, line);
			bad++;
		}
	}
	pclose(f);
	assert_int_equal(seen, frames);
	assert_int_equal(bad, 0);
	return hits;
}

/*
 * UMPA_KEEP: the one switch that keeps test artefacts (captures, key logs) to look at, the same in
 * the unit tests and the scripts (README, Tests).  Unset, empty or 0: artefacts are written under
 * $TMPDIR (default /tmp) and removed.  A directory: they are written there and kept.  Anything else
 * (1): they are written under $TMPDIR and kept, and each kept path is printed.
 */

/** True when UMPA_KEEP asks to keep test artefacts. */
static inline int unit_keep(void)
{
	const char *k = getenv("UMPA_KEEP");

	return k && *k && strcmp(k, "0") != 0;
}

/** The directory test artefacts go to: $UMPA_KEEP when it names a directory, else $TMPDIR or /tmp. */
static inline const char *unit_tmpdir(void)
{
	const char *k = getenv("UMPA_KEEP"), *t = getenv("TMPDIR");
	struct stat st;

	if (unit_keep() && stat(k, &st) == 0 && S_ISDIR(st.st_mode))
		return k;
	return t && *t ? t : "/tmp";
}

/** Remove the artefact @p path, or, under UMPA_KEEP, keep it and say where it is. */
static inline void unit_discard(const char *path)
{
	if (unit_keep())
		fprintf(stderr, "# kept %s\n", path);
	else
		unlink(path);
}

/**
 * Write the @p n packets @p pk to a temporary pcap of @p linktype, release them, and check the file with
 * unit_tshark_check (@p opts, @p needle; one frame a packet); the file is then discarded (unit_discard).
 * Returns unit_tshark_check's count of @p needle.
 */
static inline int unit_tshark_pkts(int linktype, struct umpa_pkt *pk, unsigned n, const char *opts, const char *needle)
{
	char path[256];
	int fd, hits;

	snprintf(path, sizeof(path), "%s/umpa-tshark-XXXXXX", unit_tmpdir());
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unit_write_pcap(path, linktype, pk, n);
	for (unsigned i = 0; i < n; i++)
		umpa_pkt_release(&pk[i]);
	hits = unit_tshark_check(path, opts, (int)n, needle);
	unit_discard(path);
	return hits;
}

#endif
