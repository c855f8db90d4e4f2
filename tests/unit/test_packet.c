/* test_packet.c - packets, fields, splice and finish, against a test protocol of its own. */
#include "unit.h"

static const struct umpa_vname kinds[] = {{1, "hello"}, {2, "bye-bye"}, {0, NULL}};
static const struct umpa_vname tflags[] = {{1, "fin"}, {2, "syn"}, {16, "ack"}, {0, NULL}};
static const uint8_t defmac[6] = {2, 0, 0, 0, 0, 1};

static int t_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e);
static int t_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec, struct umpa_err *e);

/* A made-up protocol: 4-bit version, 4-bit hlen (words), 8-bit kind, 16-bit length,
 * 16-bit checksum, 8-bit flags, 8-bit pad, a MAC, an IPv4, an IPv6, 2 bytes, options. */
static const struct umpa_field tfields[] = {
    {.name = "version", .ws = "t.version", .bitoff = 0, .bits = 4, .type = UMPA_FT_UINT, .def = 3},
    {.name = "hlen", .ws = "t.hlen", .bitoff = 4, .bits = 4, .type = UMPA_FT_UINT, .flags = UMPA_F_AUTO},
    {.name = "kind",
     .ws = "t.kind",
     .aliases = "k,type",
     .bitoff = 8,
     .bits = 8,
     .type = UMPA_FT_ENUM,
     .def = 1,
     .names = kinds},
    {.name = "len", .ws = "t.len", .bitoff = 16, .bits = 16, .type = UMPA_FT_UINT, .flags = UMPA_F_AUTO},
    {.name = "checksum",
     .ws = "t.checksum",
     .bitoff = 32,
     .bits = 16,
     .type = UMPA_FT_UINT,
     .flags = UMPA_F_AUTO | UMPA_F_HEX},
    {.name = "flags",
     .ws = "t.flags",
     .bitoff = 48,
     .bits = 8,
     .type = UMPA_FT_FLAGS,
     .names = tflags,
     .letters = "FS??A"},
    {.name = "mac", .ws = "t.mac", .bitoff = 64, .bits = 48, .type = UMPA_FT_MAC, .defp = defmac},
    {.name = "v4", .ws = "t.v4", .bitoff = 112, .bits = 32, .type = UMPA_FT_IPV4},
    {.name = "v6", .ws = "t.v6", .bitoff = 144, .bits = 128, .type = UMPA_FT_IPV6},
    {.name = "two", .ws = "t.two", .bitoff = 272, .bits = 16, .type = UMPA_FT_BYTES},
    {.name = "options", .ws = "t.options", .type = UMPA_FT_VAR},
};

static const struct umpa_proto tproto = {
    .name = "t",
    .aliases = "test",
    .title = "Test protocol",
    .fields = tfields,
    .nfields = sizeof(tfields) / sizeof(tfields[0]),
    .hdr_len = 36,
    .finish = t_finish,
    .set_var = t_set_var,
};

static int t_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	(void)e;
	umpa_field_auto_u64(p, li, &tfields[1], l->hlen / 4);
	umpa_field_auto_u64(p, li, &tfields[3], l->len);
	if (!umpa_field_is_set(p, li, &tfields[4])) {
		uint32_t s;
		p->data[l->off + 4] = p->data[l->off + 5] = 0;
		s = umpa_csum_add(0, p->data + l->off, l->hlen);
		umpa_field_auto_u64(p, li, &tfields[4], umpa_csum_fold(s));
	}
	return 0;
}

/* options: a count of 4-byte words filled with 0xaa */
static int t_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec, struct umpa_err *e)
{
	uint8_t buf[64];
	int words = atoi(spec);
	uint32_t cur = p->l[li].hlen - tproto.hdr_len;
	(void)f;
	if (words < 0 || words > 16)
		return umpa_err_set(e, UMPA_ERANGE, "t.options: 0..16 words");
	memset(buf, 0xaa, sizeof(buf));
	return umpa_pkt_splice(p, li, tproto.hdr_len, cur, buf, (uint32_t)words * 4, e);
}

static void test_defaults_and_types(void **state)
{
	struct umpa_pkt p;
	struct umpa_err e = {0};
	struct umpa_sbuf b = {0};
	const uint8_t *bytes;
	uint32_t n;
	uint64_t v;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &tproto);
	assert_int_equal(p.len, 36);
	assert_int_equal(unit_get(&p, &tproto, "version"), 3);
	assert_int_equal(unit_get(&p, &tproto, "kind"), 1);
	assert_int_equal(umpa_field_get_bytes(&p, 0, &tfields[6], &bytes, &n), 0);
	assert_memory_equal(bytes, defmac, 6);
	assert_int_equal(p.l[0].set, 0); /* defaults are not "set" */

	unit_set(&p, 0, "type", "bye_bye"); /* alias, value name with - and _ alike */
	assert_int_equal(unit_get(&p, &tproto, "t.kind"), 2);
	unit_set(&p, 0, "kind", "0x10");
	assert_int_equal(unit_get(&p, &tproto, "kind"), 16);
	assert_true(umpa_field_set_str(&p, 0, &tfields[2], "nope", &e) < 0);
	assert_non_null(strstr(e.msg, "hello, bye-bye"));
	unit_set(&p, 0, "flags", "SA");
	assert_int_equal(unit_get(&p, &tproto, "flags"), 18);
	unit_set(&p, 0, "flags", "syn|fin");
	assert_int_equal(unit_get(&p, &tproto, "flags"), 3);
	assert_true(umpa_field_set_str(&p, 0, &tfields[5], "SX", &e) < 0);
	unit_set(&p, 0, "mac", "de:ad:be:ef:00:01");
	unit_set(&p, 0, "v4", "10.1.2.3");
	unit_set(&p, 0, "v6", "2001:db8::7");
	unit_set(&p, 0, "two", "beef");
	assert_true(umpa_field_set_str(&p, 0, &tfields[9], "beefee", &e) < 0); /* 3 bytes for a 2-byte field */
	assert_true(umpa_field_set_str(&p, 0, &tfields[7], "10.1.2", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, &tfields[0], "16", &e) < 0); /* 4 bits */
	assert_int_equal(e.code, UMPA_ERANGE);
	assert_true(umpa_field_set_str(&p, 0, &tfields[0], "-1", &e) < 0);
	assert_true(umpa_field_set_str(&p, 0, &tfields[0], "3x", &e) < 0);
	unit_set(&p, 0, "version", "15");
	assert_int_equal(unit_get(&p, &tproto, "version"), 15);
	assert_int_equal(unit_get(&p, &tproto, "hlen"), 0); /* neighbours untouched by a 4-bit write */
	assert_int_equal(umpa_field_format(&p, 0, &tfields[6], &b), 0);
	umpa_sbuf_putc(&b, ' ');
	umpa_field_format(&p, 0, &tfields[7], &b);
	umpa_sbuf_putc(&b, ' ');
	umpa_field_format(&p, 0, &tfields[8], &b);
	umpa_sbuf_putc(&b, ' ');
	umpa_field_format(&p, 0, &tfields[9], &b);
	assert_string_equal(b.s, "de:ad:be:ef:00:01 10.1.2.3 2001:db8::7 be:ef");
	assert_int_equal(umpa_field_get_u64(&p, 0, &tfields[6], &v), -1); /* wrong type */
	umpa_sbuf_free(&b);
	umpa_pkt_release(&p);
}

static void test_finish_and_overrides(void **state)
{
	struct umpa_pkt p;
	uint32_t s;

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &tproto);
	unit_push(&p, &tproto);
	assert_int_equal(p.l[0].len, 72);
	assert_int_equal(p.l[1].off, 36);
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &tproto, "len"), 72);
	assert_int_equal(unit_get(&p, &tproto, "hlen"), 9);
	s = umpa_csum_add(0, p.data, 36); /* a header with its checksum sums to 0xffff */
	assert_int_equal(umpa_csum_fold(s), 0);

	/* the user lies: length and checksum stay as set */
	unit_set(&p, 0, "len", "5");
	unit_set(&p, 0, "checksum", "0xdead");
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &tproto, "len"), 5);
	assert_int_equal(unit_get(&p, &tproto, "checksum"), 0xdead);
	/* unsetting gives the field back to finish */
	umpa_field_unset(&p, 0, &tfields[3]);
	umpa_field_unset(&p, 0, &tfields[4]);
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &tproto, "len"), 72);
	assert_int_equal(umpa_csum_fold(umpa_csum_add(0, p.data, 36)), 0);
	umpa_pkt_release(&p);
}

static void test_splice(void **state)
{
	struct umpa_pkt p;
	struct umpa_err e = {0};
	static const char pay[] = "payload";

	(void)state;
	umpa_pkt_init(&p);
	unit_push(&p, &tproto);
	unit_push(&p, &tproto);
	assert_true(umpa_pkt_push_bytes(&p, &umpa_proto_raw, pay, 7, &e) >= 0);
	assert_int_equal(p.len, 79);
	unit_set(&p, 0, "options", "2"); /* 8 bytes into the first header */
	assert_int_equal(p.len, 87);
	assert_int_equal(p.l[0].hlen, 44);
	assert_int_equal(p.l[0].len, 87);
	assert_int_equal(p.l[1].off, 44);
	assert_int_equal(p.l[1].len, 43);
	assert_int_equal(p.l[2].off, 80);
	assert_memory_equal(p.data + 80, pay, 7);
	unit_set(&p, 1, "options", "1"); /* the inner header grows: the outer window follows */
	assert_int_equal(p.l[0].len, 91);
	assert_int_equal(p.l[1].len, 47);
	assert_int_equal(p.l[2].off, 84);
	unit_set(&p, 0, "options", "0"); /* and shrinks */
	assert_int_equal(p.l[0].hlen, 36);
	assert_int_equal(p.l[1].off, 36);
	assert_int_equal(p.l[2].off, 76);
	assert_memory_equal(p.data + 76, pay, 7);
	unit_finish(&p);
	assert_int_equal(unit_get(&p, &tproto, "hlen"), 9);
	assert_true(umpa_field_set_str(&p, 0, &tfields[10], "17", &e) < 0);
	assert_non_null(strstr(e.msg, "0..16"));
	umpa_pkt_release(&p);
}

static void test_readonly_and_dup(void **state)
{
	struct umpa_pkt p, q;
	struct umpa_err e = {0};
	static const uint8_t bytes[36] = {0x39};

	(void)state;
	umpa_pkt_init(&p);
	umpa_pkt_attach(&p, bytes, sizeof(bytes), 100, 1);
	assert_int_equal(p.wirelen, 100);
	p.nlayers = 1;
	p.l[0] = (struct umpa_layer){.proto = &tproto, .off = 0, .len = 36, .hlen = 36, .set = ~0ull};
	assert_int_equal(unit_get(&p, &tproto, "version"), 3);
	assert_int_equal(unit_get(&p, &tproto, "hlen"), 9);
	assert_true(umpa_field_set_u64(&p, 0, &tfields[0], 1, &e) < 0); /* borrowed bytes are read-only */
	assert_true(umpa_pkt_push(&p, &tproto, &e) < 0);
	umpa_pkt_init(&q);
	assert_int_equal(umpa_pkt_dup(&q, &p, &e), 0);
	assert_int_equal(q.nlayers, 1);
	assert_int_equal(umpa_field_set_u64(&q, 0, &tfields[0], 1, &e), 0); /* a copy is writable */
	assert_int_equal(bytes[0], 0x39);
	umpa_pkt_release(&q);
	umpa_pkt_release(&p);
}

static void test_short_layers(void **state)
{
	struct umpa_pkt p;
	static const uint8_t bytes[10] = {0};

	(void)state;
	umpa_pkt_init(&p);
	umpa_pkt_attach(&p, bytes, 10, 60, 1); /* capture cut at 10 of 60 */
	p.nlayers = 1;
	p.l[0] = (struct umpa_layer){.proto = &tproto, .off = 0, .len = 10};
	umpa_layer_short(&p, 0, "cut");
	assert_true(p.l[0].flags & UMPA_L_TRUNCATED);
	umpa_pkt_attach(&p, bytes, 10, 10, 1); /* all captured: a header claiming more lies */
	p.nlayers = 1;
	p.l[0] = (struct umpa_layer){.proto = &tproto, .off = 0, .len = 10};
	umpa_layer_short(&p, 0, "lies");
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	assert_false(p.l[0].flags & UMPA_L_TRUNCATED);
	umpa_pkt_release(&p);
}

static void test_checksum(void **state)
{
	/* RFC 1071 example: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d */
	static const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[] = {0x01, 0x02, 0x03};

	(void)state;
	assert_int_equal(umpa_csum_fold(umpa_csum_add(0, d, sizeof(d))), 0x220d);
	assert_int_equal(umpa_csum_fold(umpa_csum_add(umpa_csum_add(0, d, 4), d + 4, 4)), 0x220d);
	assert_int_equal(umpa_csum_fold(umpa_csum_add(0, odd, 3)), (uint16_t) ~(0x0102 + 0x0300));
}

/* RFC 1624 updates (umpa_csum_delta / umpa_csum_adjust, what send --inc uses) against a full recomputation. */
static void test_checksum_incremental(void **state)
{
	/* RFC 1624 section 4: HC 0xdd2f, a word going from 0x5555 to 0x3285, eqn. 3 gives 0x0000 */
	static const uint8_t m0[2] = {0x55, 0x55}, m1[2] = {0x32, 0x85};
	uint8_t d[40], old[16];
	uint32_t seed = 12345;

	(void)state;
	assert_int_equal(umpa_csum_adjust(0xdd2f, umpa_csum_delta(0, m0, m1, 2)), 0x0000);
	for (int it = 0; it < 20000; it++) {
		uint16_t hc, want, got;
		uint32_t wb, n;
		for (size_t i = 0; i < sizeof(d); i++) {
			seed = seed * 1103515245u + 12345u;
			d[i] = (uint8_t)(seed >> 16);
		}
		if (it % 7 == 0)
			memset(d, 0xff, 20); /* sums near the ones'-complement wrap */
		d[38] = d[39] = 0;
		hc = umpa_csum_fold(umpa_csum_add(0, d, sizeof(d)));
		d[38] = (uint8_t)(hc >> 8);
		d[39] = (uint8_t)hc;
		wb = 2 * (seed % 16); /* a field of 1..8 words inside the first 38 bytes */
		n = 2 * (1 + (seed >> 8) % 8);
		if (wb + n > 38)
			n = 38 - wb;
		memcpy(old, d + wb, n);
		for (uint32_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			d[wb + i] = (uint8_t)(seed >> 16);
		}
		got = umpa_csum_adjust(hc, umpa_csum_delta(0, old, d + wb, n));
		d[38] = d[39] = 0;
		want = umpa_csum_fold(umpa_csum_add(0, d, sizeof(d)));
		/* equal, but for zero's two spellings, which the caller leaves to finish */
		if (got != want && !((got == 0 || got == 0xffff) && (want == 0 || want == 0xffff)))
			fail_msg("iteration %d: incremental 0x%04x, recomputed 0x%04x", it, got, want);
		d[38] = (uint8_t)(got >> 8);
		d[39] = (uint8_t)got;
	}
}

/* A message longer than umpa_err's buffer is cut between words, never inside one. */
static void test_err_cut_between_words(void **state)
{
	struct umpa_err e;
	char list[2000] = "", w[32];
	size_t n;

	(void)state;
	for (int i = 0; strlen(list) < sizeof(list) - 40; i++) {
		snprintf(w, sizeof(w), "%soption_%d", i ? ", " : "", i);
		strcat(list, w);
	}
	umpa_err_set(&e, UMPA_EINVAL, "unknown option 'x' (options: %s)", list);
	n = strlen(e.msg);
	assert_true(n < sizeof(e.msg));
	assert_string_equal(e.msg + n - 4, " ...");
	/* the last word before " ..." is a whole one: "option_N" as written */
	{
		const char *last = strrchr(e.msg, ',');
		char word[24], w2[32];
		assert_non_null(last);
		assert_int_equal(sscanf(last + 2, "%23[a-z_0-9]", word), 1);
		assert_true(strstr(list, word) != NULL);
		snprintf(w2, sizeof(w2), "%s, ", word);
		assert_true(strstr(list, w2) != NULL); /* followed in the full text by ", ": not cut */
	}
	/* a prefix on a full message is cut the same way */
	umpa_err_prefix(&e, "file.pcap: ");
	n = strlen(e.msg);
	assert_true(strncmp(e.msg, "file.pcap: unknown option", 25) == 0);
	assert_string_equal(e.msg + n - 4, " ...");
	/* a short message is left alone */
	umpa_err_set(&e, UMPA_EINVAL, "short %s", "one");
	assert_string_equal(e.msg, "short one");
}

/* umpa_array_grow: capacity doubles from 64 to hold what is asked, the contents stay, nothing happens when
 * there is room, and a size that cannot be allocated is an error with a message, the array untouched. */
static void test_array_grow(void **state)
{
	struct umpa_err e = {0};
	uint32_t *v = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(umpa_array_grow(&v, &cap, 1, sizeof(*v), &e), 0);
	assert_non_null(v);
	assert_int_equal(cap, 64);
	for (uint32_t i = 0; i < 64; i++)
		v[i] = i * 7;
	before = v;
	assert_int_equal(umpa_array_grow(&v, &cap, 64, sizeof(*v), &e), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(umpa_array_grow(&v, &cap, 300, sizeof(*v), &e), 0);
	assert_int_equal(cap, 512);
	for (uint32_t i = 0; i < 64; i++)
		assert_int_equal(v[i], i * 7);
	before = v;
	assert_int_equal(umpa_array_grow(&v, &cap, SIZE_MAX / 2, sizeof(*v), &e), -UMPA_ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 512);
	assert_non_null(strstr(e.msg, "out of memory"));
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_types),
	    cmocka_unit_test(test_finish_and_overrides),
	    cmocka_unit_test(test_splice),
	    cmocka_unit_test(test_readonly_and_dup),
	    cmocka_unit_test(test_short_layers),
	    cmocka_unit_test(test_checksum),
	    cmocka_unit_test(test_checksum_incremental),
	    cmocka_unit_test(test_err_cut_between_words),
	    cmocka_unit_test(test_array_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
