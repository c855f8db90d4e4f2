/* test_spec.c - the one spec tokenizer (core/umpa_spec.h): items, lists,
 * numbers and hex bytes, and the specs of protocols that read through it. */
#include "unit.h"
#include "umpa_spec.h"

static struct umpa_span sp(const char *s)
{
	return umpa_span_of(s);
}

static void test_items(void **state)
{
	struct umpa_span s = sp(" mss = 1460 ,, nop,sack=1-2:3-4 , raw=,"), k, v;
	int hv;

	(void)state;
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 1);
	assert_true(umpa_span_is(k, "MSS"));
	assert_int_equal(hv, 1);
	assert_int_equal(v.n, 4);
	assert_memory_equal(v.s, "1460", 4);
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 1); /* the empty item is skipped */
	assert_true(umpa_span_is(k, "nop"));
	assert_int_equal(hv, 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 1);
	assert_true(umpa_span_is(k, "sack"));
	assert_int_equal(umpa_spec_nparts(v), 2);
	{
		struct umpa_span part, l, r;
		assert_int_equal(umpa_spec_part(&v, &part), 1);
		assert_int_equal(umpa_span_cut(part, "-", &l, &r), 1);
		assert_int_equal(l.n, 1);
		assert_int_equal(r.n, 1);
		assert_int_equal(umpa_spec_part(&v, &part), 1);
		assert_memory_equal(part.s, "3-4", 3);
		assert_int_equal(umpa_spec_part(&v, &part), 0);
	}
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 1);
	assert_true(umpa_span_is(k, "raw"));
	assert_int_equal(hv, 1); /* "raw=" has a value, an empty one */
	assert_int_equal(v.n, 0);
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 0);
	assert_int_equal(umpa_spec_nparts(sp("")), 0);
	assert_int_equal(umpa_spec_nparts(sp("a")), 1);
	/* a backslash keeps the next character from separating, and stays in the text */
	s = sp("a\\,b=c\\:d:e,f");
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 1);
	assert_int_equal(k.n, 4);
	assert_memory_equal(k.s, "a\\,b", 4);
	assert_int_equal(umpa_spec_nparts(v), 2);
	assert_memory_equal(v.s, "c\\:d:e", 6);
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 1);
	assert_true(umpa_span_is(k, "f"));
	assert_int_equal(umpa_spec_item(&s, &k, &v, &hv), 0);
}

static void test_numbers(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(umpa_spec_num(sp("1460"), 0xffff, &v), 0);
	assert_int_equal(v, 1460);
	assert_int_equal(umpa_spec_num(sp(" 0xFFff "), 0xffff, &v), 0);
	assert_int_equal(v, 0xffff);
	assert_int_equal(umpa_spec_num(sp("010"), 255, &v), 0); /* decimal, not octal */
	assert_int_equal(v, 10);
	assert_int_equal(umpa_spec_num(sp("18446744073709551615"), UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(umpa_spec_num(sp("18446744073709551616"), UINT64_MAX, &v), -1); /* overflow */
	assert_int_equal(umpa_spec_num(sp("65536"), 0xffff, &v), -1);
	assert_int_equal(umpa_spec_num(sp("-1"), 0xffff, &v), -1);
	assert_int_equal(umpa_spec_num(sp("+1"), 0xffff, &v), -1);
	assert_int_equal(umpa_spec_num(sp("0x"), 0xffff, &v), -1);
	assert_int_equal(umpa_spec_num(sp("12a"), 0xffff, &v), -1);
	assert_int_equal(umpa_spec_num(sp(""), 0xffff, &v), -1);
	assert_int_equal(umpa_spec_num(sp("1 2"), 0xffff, &v), -1);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void test_hex(void **state)
{
	uint8_t b[8];

	(void)state;
	assert_int_equal(umpa_spec_hex(sp("0xdeadBEEF"), b, sizeof b), 4);
	assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
	/* every separator, between bytes */
	assert_int_equal(umpa_spec_hex(sp("01:02-03.04 05"), b, sizeof b), 5);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05", 5);
	assert_int_equal(umpa_spec_hex(sp("0102"), NULL, 0 + 2), 2); /* count only */
	assert_int_equal(umpa_spec_hex(sp(""), b, sizeof b), 0);
	assert_int_equal(umpa_spec_hex(sp("d:e"), b, sizeof b), UMPA_SPEC_ODD); /* a separator inside a byte */
	assert_int_equal(umpa_spec_hex(sp("abc"), b, sizeof b), UMPA_SPEC_ODD);
	assert_int_equal(umpa_spec_hex(sp("zz"), b, sizeof b), UMPA_SPEC_NOTHEX);
	assert_int_equal(umpa_spec_hex(sp("01,02"), b, sizeof b), UMPA_SPEC_NOTHEX);
	assert_int_equal(umpa_spec_hex(sp("010203"), b, 2), UMPA_SPEC_LONG);
}

/* The protocols read their specs through the tokenizer: the same option
 * written with any separator, in hex or decimal, builds the same bytes in IP,
 * TCP and IPv6 hop-by-hop options alike. */
static void build_opts(struct umpa_pkt *p, const struct umpa_proto *outer, const struct umpa_proto *pr,
		       const char *spec)
{
	umpa_pkt_init(p);
	if (outer)
		unit_push(p, outer);
	unit_push(p, pr);
	unit_set(p, outer ? 1 : 0, "options", spec);
	unit_finish(p);
}

static void test_protocols_agree(void **state)
{
	static const struct {
		const struct umpa_proto *outer, *pr;
		const char *a, *b;
	} cases[] = {
	    {NULL, &umpa_proto_ip, "0x44=00:01.02-03", "68=0x00010203"},
	    {NULL, &umpa_proto_ip, "raw=0x01:01:01:00", "raw = 01 01 01 00"},
	    {&umpa_proto_ip, &umpa_proto_tcp, "0x1e=00:01.02-03", "30=00010203"},
	    {&umpa_proto_ip, &umpa_proto_tcp, "mss=0x5b4,ts=1:0x2", " mss = 1460 , ts=0x1:2"},
	    {&umpa_proto_ipv6, &umpa_proto_ipv6_hop, "0x1e=00:01.02-03:04:05:06:07", "30=0x0001020304050607"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct umpa_pkt a, b;
		build_opts(&a, cases[i].outer, cases[i].pr, cases[i].a);
		build_opts(&b, cases[i].outer, cases[i].pr, cases[i].b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			fail_msg("%s: '%s' and '%s' built different bytes", cases[i].pr->name, cases[i].a, cases[i].b);
		assert_true(a.l[cases[i].outer ? 1 : 0].hlen > cases[i].pr->hdr_len); /* the options are there */
		umpa_pkt_release(&a);
		umpa_pkt_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_items),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_protocols_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
