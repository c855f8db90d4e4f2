/* test_near.c - "did you mean" (core/umpa_near.h) and its users: the nearest
 * protocol, field and value names. */
#include "unit.h"
#include "umpa_near.h"
#include "umpa_protos.h"

static const char *near_of(const char *want, const char *list, char *buf)
{
	struct umpa_near n;

	umpa_near_init(&n, want);
	umpa_near_list(&n, list);
	return umpa_near_best(&n, buf, UMPA_NEAR_MAX + 1);
}

static void test_distance(void **state)
{
	char buf[UMPA_NEAR_MAX + 1];

	(void)state;
	assert_string_equal(near_of("tll", "version,ttl,proto", buf), "ttl");                        /* transposition */
	assert_string_equal(near_of("dprot", "sport,dport", buf), "dport");                          /* transposition */
	assert_string_equal(near_of("echo-reqest", "echo-reply,echo-request", buf), "echo-request"); /* deletion */
	assert_string_equal(near_of("ECHO_REQUEST", "echo-reply,echo-request", buf), "echo-request"); /* case, _ */
	assert_string_equal(near_of("echo", "redirect,echo-request", buf), "echo-request");           /* prefix */
	assert_string_equal(near_of("IPP", "ip6,ip,IP", buf), "IP");    /* ties: nearer in case */
	assert_string_equal(near_of("ipv5", "ipv6,ipv4", buf), "ipv4"); /* ties: byte order */
	assert_null(near_of("zzzzzz", "ip,tcp,udp", buf));              /* far: nothing */
	assert_null(near_of("ttl", "ttl", buf));                        /* itself is no suggestion */
	assert_null(near_of("ab", "xy", buf));                          /* 2 edits of 2 letters */
	assert_null(near_of("", "a,b", buf));
	assert_null(near_of("x", NULL, buf));
	/* longer names allow more edits: 3 beyond 8 letters */
	assert_string_equal(near_of("originat_tmstamp", "originate_timestamp", buf), "originate_timestamp");
	assert_null(near_of("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopq", "abc", buf));
	/* a buffer too small gives nothing rather than a cut name */
	{
		struct umpa_near n;
		char small[3];
		umpa_near_init(&n, "tll");
		umpa_near_str(&n, "ttl");
		assert_null(umpa_near_best(&n, small, sizeof small));
	}
}

static void test_tables(void **state)
{
	char buf[UMPA_NEAR_MAX + 1];
	const struct umpa_field *f = umpa_proto_field(&umpa_proto_icmp, "type");

	(void)state;
	assert_string_equal(umpa_proto_near("tpc", buf, sizeof buf), "tcp");
	assert_string_equal(umpa_proto_near("Ehter", buf, sizeof buf), "Ether"); /* Scapy's names are aliases */
	assert_null(umpa_proto_near("qqqqqq", buf, sizeof buf));
	assert_string_equal(umpa_proto_field_near(&umpa_proto_ip, "tll", buf, sizeof buf), "ttl");
	assert_string_equal(umpa_proto_field_near(&umpa_proto_tcp, "dprot", buf, sizeof buf), "dport");
	assert_string_equal(umpa_proto_field_near(&umpa_proto_ip, "ip.ttk", buf, sizeof buf), "ip.ttl");
	assert_non_null(f);
	assert_string_equal(umpa_vname_near(f->names, "echo-reqest", buf, sizeof buf), "echo-request");
	assert_null(umpa_vname_near(NULL, "x", buf, sizeof buf));
}

/* the parsers of option and record text say "did you mean" for a mistyped name, and only for the name */
static void test_spec_errors(void **state)
{
	static const struct {
		const struct umpa_proto *pr;
		const char *field, *spec, *want;
	} cases[] = {
	    {&umpa_proto_tcp, "options", "mss=1460,wscal=7", "did you mean 'wscale'?"},
	    {&umpa_proto_tcp, "options", "msss=1460", "did you mean 'mss'?"},
	    {&umpa_proto_tcp, "options", "mss=99999", NULL}, /* a bad value of a known name */
	    {&umpa_proto_ip, "options", "lsrrr=1.2.3.4", "did you mean 'lsrr'?"},
	    {&umpa_proto_dns, "qd", "example.com:AAAAA", "did you mean 'AAAA'?"},
	    {&umpa_proto_dns, "qd", "example.com:A:INN", "did you mean 'IN'?"},
	    {&umpa_proto_dns, "an", "example.com:MXX:60:10:mx.example.com", "did you mean 'MX'?"},
	    {&umpa_proto_dhcp, "options", "message-typ=discover", "did you mean 'message_type'?"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct umpa_pkt p;
		struct umpa_err e = {0};
		const struct umpa_field *f = umpa_proto_field(cases[i].pr, cases[i].field);
		umpa_pkt_init(&p);
		assert_non_null(f);
		assert_int_equal(umpa_pkt_push(&p, cases[i].pr, &e), 0);
		assert_true(umpa_field_set_str(&p, 0, f, cases[i].spec, &e) < 0);
		if (cases[i].want)
			unit_assert_contains(e.msg, cases[i].want);
		else
			unit_assert_lacks(e.msg, "did you mean");
		umpa_pkt_release(&p);
	}
}

/* umpa_near_in: a word of a spec (not NUL-terminated) against a parser's names */
static void test_in_text(void **state)
{
	char buf[UMPA_NEAR_MAX + 1];
	const char *spec = "msss=1460,nop";

	(void)state;
	assert_string_equal(umpa_near_in(spec, 4, "mss,wscale,sackok,nop", buf, sizeof buf), "mss");
	assert_string_equal(umpa_near_in("MSSS", 4, "mss,wscale", buf, sizeof buf), "mss"); /* Scapy's case */
	assert_null(umpa_near_in("MSS", 3, "mss,wscale", buf, sizeof buf));      /* known: the value is wrong */
	assert_null(umpa_near_in("sack-ok", 7, "mss,sack_ok", buf, sizeof buf)); /* known: '-' is '_' */
	assert_null(umpa_near_in("zzzzzz", 6, "mss,wscale", buf, sizeof buf));   /* far from all */
	assert_null(umpa_near_in("x", 0, "x", buf, sizeof buf));
	assert_null(umpa_near_in(NULL, 3, "mss", buf, sizeof buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_in_text),
	    cmocka_unit_test(test_spec_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
