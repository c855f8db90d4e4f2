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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
