/* test_cursor.c - the bounds-checked cursor and the text buffer. */
#include <arpa/inet.h>

#include "unit.h"

static void test_bounds(void **state)
{
	static const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
	struct umpa_cur c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	const uint8_t *ptr;

	(void)state;
	umpa_cur_init(&c, b, sizeof(b));
	assert_int_equal(umpa_cur_be16_at(&c, 0, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(umpa_cur_be32_at(&c, 1, &u32), 0);
	assert_int_equal(u32, 0x3456789a);
	assert_int_equal(umpa_cur_le16_at(&c, 3, &u16), 0);
	assert_int_equal(u16, 0x9a78);
	assert_int_equal(c.err, 0);
	assert_int_equal(umpa_cur_be32_at(&c, 2, &u32), -1); /* one byte short */
	assert_int_equal(c.err, 1);
	assert_int_equal(umpa_cur_u8_at(&c, 5, &u8), -1);
	assert_int_equal(umpa_cur_u8_at(&c, SIZE_MAX, &u8), -1); /* no overflow */
	assert_int_equal(umpa_cur_ptr_at(&c, 1, SIZE_MAX, &ptr), -1);
	assert_int_equal(umpa_cur_ptr_at(&c, 5, 0, &ptr), 0); /* empty read at the end is fine */
}

static void test_sequential(void **state)
{
	static const uint8_t b[] = {1, 0, 2, 0, 0, 0, 3};
	struct umpa_cur c, sub;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	(void)state;
	umpa_cur_init(&c, b, sizeof(b));
	assert_int_equal(umpa_cur_u8(&c, &u8), 0);
	assert_int_equal(umpa_cur_be16(&c, &u16), 0);
	assert_int_equal(u16, 2);
	assert_int_equal(umpa_cur_be32(&c, &u32), 0);
	assert_int_equal(u32, 3);
	assert_int_equal(umpa_cur_left(&c), 0);
	assert_int_equal(umpa_cur_u8(&c, &u8), -1);
	assert_int_equal(c.pos, 7); /* a failed read does not move */
	assert_int_equal(umpa_cur_skip(&c, 1), -1);
	assert_int_equal(umpa_cur_sub(&c, 1, 2, &sub), 0);
	assert_int_equal(umpa_cur_be16_at(&sub, 0, &u16), 0);
	assert_int_equal(u16, 2);
	assert_int_equal(umpa_cur_u8_at(&sub, 2, &u8), -1); /* the sub-window is bounded */
	assert_int_equal(umpa_cur_sub(&c, 6, 2, &sub), -1);
}

static void test_be24_and_copy(void **state)
{
	static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05};
	uint8_t out[4] = {0xee, 0xee, 0xee, 0xee};
	struct umpa_cur c;
	uint32_t u32;

	(void)state;
	umpa_cur_init(&c, b, sizeof(b));
	assert_int_equal(umpa_cur_be24_at(&c, 2, &u32), 0);
	assert_int_equal(u32, 0x030405);
	assert_int_equal(umpa_cur_be24_at(&c, 3, &u32), -1); /* one byte short */
	assert_int_equal(c.err, 1);
	c.err = 0;
	assert_int_equal(umpa_cur_be24(&c, &u32), 0);
	assert_int_equal(u32, 0x010203);
	assert_int_equal(c.pos, 3);
	assert_int_equal(umpa_cur_be24(&c, &u32), -1);
	assert_int_equal(c.pos, 3); /* a failed read does not move */
	assert_int_equal(umpa_cur_copy_at(&c, 1, 4, out), 0);
	assert_memory_equal(out, b + 1, 4);
	memset(out, 0xee, sizeof out);
	assert_int_equal(umpa_cur_copy_at(&c, 2, 4, out), -1); /* nothing copied when short */
	assert_int_equal(out[0], 0xee);
	assert_int_equal(umpa_cur_copy_at(&c, SIZE_MAX, 1, out), -1);
}

/* Host-order reads (netlink): what memcpy of a native value wrote comes back, at any alignment, bounded. */
static void test_host_order(void **state)
{
	uint8_t b[11];
	const uint16_t v16 = 0xbeef;
	const uint32_t v32 = 0x11223344;
	const int32_t s32 = -22; /* -EINVAL, as an NLMSG_ERROR carries it */
	struct umpa_cur c;
	uint16_t u16;
	uint32_t u32;
	int32_t i32;

	(void)state;
	memset(b, 0xaa, sizeof(b));
	memcpy(b + 1, &v32, 4); /* unaligned */
	memcpy(b + 5, &v16, 2);
	memcpy(b + 7, &s32, 4);
	umpa_cur_init(&c, b, sizeof(b));
	assert_int_equal(umpa_cur_h32_at(&c, 1, &u32), 0);
	assert_int_equal(u32, v32);
	assert_int_equal(umpa_cur_h16_at(&c, 5, &u16), 0);
	assert_int_equal(u16, v16);
	assert_int_equal(umpa_cur_hs32_at(&c, 7, &i32), 0);
	assert_int_equal(i32, -22);
	/* host order is not network order on a little-endian machine, and equal on a big-endian one */
	assert_int_equal(umpa_cur_be32_at(&c, 1, &u32), 0);
	assert_int_equal(u32 == v32, htonl(1) == 1);
	assert_int_equal(c.err, 0);
	/* bounds: one byte short, past the end, offsets that would overflow */
	u32 = 7;
	assert_int_equal(umpa_cur_h32_at(&c, 8, &u32), -1);
	assert_int_equal(u32, 7); /* untouched */
	assert_int_equal(c.err, 1);
	assert_int_equal(umpa_cur_h16_at(&c, 10, &u16), -1);
	assert_int_equal(umpa_cur_h16_at(&c, SIZE_MAX, &u16), -1);
	assert_int_equal(umpa_cur_hs32_at(&c, SIZE_MAX - 1, &i32), -1);
	assert_int_equal(umpa_cur_h32_at(&c, 7, &u32), 0); /* exactly at the end is fine */
	/* an empty cursor reads nothing */
	umpa_cur_init(&c, NULL, 4);
	assert_int_equal(umpa_cur_h16_at(&c, 0, &u16), -1);
}

static void test_bits(void **state)
{
	static const uint8_t b[] = {0x45, 0x00, 0xab, 0xcd, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80};
	struct umpa_cur c;
	uint64_t v;

	(void)state;
	umpa_cur_init(&c, b, sizeof(b));
	assert_int_equal(umpa_cur_bits_at(&c, 0, 4, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(umpa_cur_bits_at(&c, 4, 4, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(umpa_cur_bits_at(&c, 16, 16, &v), 0);
	assert_int_equal(v, 0xabcd);
	assert_int_equal(umpa_cur_bits_at(&c, 20, 8, &v), 0);
	assert_int_equal(v, 0xbc);
	assert_int_equal(umpa_cur_bits_at(&c, 17, 3, &v), 0);
	assert_int_equal(v, 0x2);                              /* 0xab = 1010 1011: bits 1..3 = 010 */
	assert_int_equal(umpa_cur_bits_at(&c, 12, 64, &v), 0); /* spans nine bytes */
	assert_int_equal(v, 0x0abcdffffffffff8ull);
	assert_int_equal(umpa_cur_bits_at(&c, 73, 8, &v), -1); /* past the end */
	assert_int_equal(umpa_cur_bits_at(&c, 0, 0, &v), -1);
	assert_int_equal(umpa_cur_bits_at(&c, 0, 65, &v), -1);
}

static void test_sbuf(void **state)
{
	struct umpa_sbuf b = {0};
	static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t v6b[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2};
	static const uint8_t v6c[16] = {0};
	static const uint8_t v6d[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
	static const uint8_t v6e[16] = {0x20, 0x01, 0xd, 0xb8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
	static const uint8_t v4[4] = {192, 168, 0, 255};
	static const uint8_t mac[6] = {0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc};

	(void)state;
	umpa_sbuf_put_ipv6(&b, v6a);
	assert_string_equal(b.s, "2001:db8::1");
	umpa_sbuf_reset(&b);
	umpa_sbuf_put_ipv6(&b, v6b);
	assert_string_equal(b.s, "fe80::1:0:0:2"); /* RFC 5952: the longest run is compressed */
	umpa_sbuf_reset(&b);
	umpa_sbuf_put_ipv6(&b, v6c);
	assert_string_equal(b.s, "::");
	umpa_sbuf_reset(&b);
	umpa_sbuf_put_ipv6(&b, v6d);
	assert_string_equal(b.s, "::ffff:10.0.0.1");
	umpa_sbuf_reset(&b);
	umpa_sbuf_put_ipv6(&b, v6e);
	assert_string_equal(b.s, "2001:db8:1:0:1::1");
	umpa_sbuf_reset(&b);
	umpa_sbuf_put_ipv4(&b, v4);
	umpa_sbuf_putc(&b, ' ');
	umpa_sbuf_put_mac(&b, mac);
	umpa_sbuf_putc(&b, ' ');
	umpa_sbuf_put_u64(&b, 18446744073709551615ull);
	umpa_sbuf_putc(&b, ' ');
	umpa_sbuf_put_hex(&b, 0x1c46, 4);
	umpa_sbuf_putc(&b, ' ');
	umpa_sbuf_put_hex(&b, 2, 3);
	assert_string_equal(b.s, "192.168.0.255 00:1b:21:aa:bb:cc 18446744073709551615 0x1c46 0x002");
	umpa_sbuf_reset(&b);
	umpa_sbuf_put_json_str(&b, "a\"b\\\n\x01\xff", 7);
	assert_string_equal(b.s, "\"a\\\"b\\\\\\u000a\\u0001\\u00ff\"");
	umpa_sbuf_reset(&b);
	for (int i = 0; i < 10000; i++)
		umpa_sbuf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.s));
	assert_false(b.oom);
	umpa_sbuf_free(&b);
}

/* Terminal-safe text: each case is (input, its length, what a terminal gets). */
static void test_sbuf_safe(void **state)
{
	static const struct {
		const char *in;
		size_t n; /* 0: strlen(in) */
		const char *out;
	} cases[] = {
	    {"plain text, 100% \\ ok", 0, "plain text, 100% \\ ok"},
	    {"\x1b[2J\x1b]0;pwn\x07\r\nfake: ok", 0, "\\x1b[2J\\x1b]0;pwn\\x07\\r\\nfake: ok"},
	    {"a\0b", 3, "a\\x00b"},
	    {"tab\there\x7f", 0, "tab\\there\\x7f"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}, /* é € 😀 */
	    {"\302\23331m", 0, "\\u009b31m"},                    /* C1 CSI in UTF-8 */
	    {"\23331m", 0, "\\x9b31m"},                          /* raw 8-bit CSI */
	    {"\342\200\256evil", 0, "\\u202eevil"},              /* right-to-left override */
	    {"\xe2\x81\xa6x\xe2\x80\xa8", 0, "\\u2066x\\u2028"}, /* isolate, line separator */
	    {"\xc0\xaf", 0, "\\xc0\\xaf"},                       /* overlong '/' */
	    {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},              /* a surrogate */
	    {"\xe2\x82", 0, "\\xe2\\x82"},                       /* cut short */
	    {"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"},     /* past U+10FFFF */
	    {"\xc2\xa0", 0, "\xc2\xa0"},                         /* NBSP is text */
	};
	struct umpa_sbuf b = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);
		umpa_sbuf_reset(&b);
		umpa_sbuf_put_safe(&b, cases[i].in, n);
		if (strcmp(b.s, cases[i].out) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, b.s, cases[i].out);
		/* the same text escaped in place, after a prefix that stays */
		umpa_sbuf_reset(&b);
		umpa_sbuf_puts(&b, "\n> ");
		umpa_sbuf_put(&b, cases[i].in, n);
		assert_int_equal(umpa_sbuf_make_safe(&b, 3), 0);
		assert_memory_equal(b.s, "\n> ", 3);
		assert_string_equal(b.s + 3, cases[i].out);
		assert_int_equal(b.len, 3 + strlen(cases[i].out));
	}
	/* every byte value at every place of a word-scanned run: only 0x20..0x7e pass */
	for (unsigned v = 0; v < 256; v++)
		for (size_t pos = 0; pos < 18; pos++) {
			static const char a18[] = "aaaaaaaaaaaaaaaaaa";
			char in[18], want[48];
			memcpy(in, a18, sizeof(in));
			in[pos] = (char)v;
			if (v >= 0x20 && v < 0x7f)
				snprintf(want, sizeof(want), "%.*s%c%.*s", (int)pos, a18, v, (int)(17 - pos), a18);
			else if (v == '\n' || v == '\r' || v == '\t')
				snprintf(want, sizeof(want), "%.*s\\%c%.*s", (int)pos, a18,
					 v == '\n'   ? 'n'
					 : v == '\r' ? 'r'
						     : 't',
					 (int)(17 - pos), a18);
			else
				snprintf(want, sizeof(want), "%.*s\\x%02x%.*s", (int)pos, a18, v, (int)(17 - pos), a18);
			umpa_sbuf_reset(&b);
			umpa_sbuf_put_safe(&b, in, sizeof(in));
			if (strcmp(b.s, want) != 0)
				fail_msg("byte 0x%02x at %zu: got '%s', want '%s'", v, pos, b.s, want);
		}
	/* a long unsafe tail (past the in-place escape's stack buffer) */
	umpa_sbuf_reset(&b);
	for (int i = 0; i < 1000; i++)
		umpa_sbuf_puts(&b, "\x1b");
	assert_int_equal(umpa_sbuf_make_safe(&b, 0), 0);
	assert_int_equal(b.len, 4000);
	assert_null(memchr(b.s, 0x1b, b.len));
	umpa_sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds),     cmocka_unit_test(test_sequential), cmocka_unit_test(test_be24_and_copy),
	    cmocka_unit_test(test_host_order), cmocka_unit_test(test_bits),       cmocka_unit_test(test_sbuf),
	    cmocka_unit_test(test_sbuf_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
