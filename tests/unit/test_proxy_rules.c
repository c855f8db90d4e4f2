/* test_proxy_rules.c - the proxy's ordered rules (sched/umpa_proxy_rules.h) and the module chains they choose
 * per connection (templates/umpa_proxy_lua.h, through its hooks as the proxy calls them). */
#include <regex.h>

#include "umpa_proxy_lua.h"
#include "umpa_proxy_rules.h"
#include "unit.h"

static struct umpa_proxy_rules *parse(const char *json, struct umpa_err *e)
{
	return umpa_proxy_rules_parse(json, strlen(json), "r.json", e);
}

static void ports(void **state)
{
	struct umpa_proxy_ports p;
	struct umpa_err e = {0, ""};
	(void)state;
	assert_int_equal(umpa_proxy_ports_parse("80", &p, &e), 0);
	assert_true(umpa_proxy_ports_match(&p, 80));
	assert_false(umpa_proxy_ports_match(&p, 81));
	assert_int_equal(umpa_proxy_ports_parse("1-4,6, 8000 - 8080", &p, &e), 0);
	assert_int_equal(p.n, 3);
	/* inclusive both ends (tcpproxy's Python range() left the upper end out) */
	assert_true(umpa_proxy_ports_match(&p, 1));
	assert_true(umpa_proxy_ports_match(&p, 4));
	assert_false(umpa_proxy_ports_match(&p, 5));
	assert_true(umpa_proxy_ports_match(&p, 6));
	assert_true(umpa_proxy_ports_match(&p, 8080));
	assert_false(umpa_proxy_ports_match(&p, 8081));
	assert_int_equal(umpa_proxy_ports_parse("0-65535", &p, &e), 0);
	assert_true(umpa_proxy_ports_match(&p, 0) && umpa_proxy_ports_match(&p, 65535));
	const char *bad[] = {"", "x", "70000", "5-4", "1,", ",1", "1-", "-1", "1;2", "80 81", "1-2-3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = 0;
		assert_int_equal(umpa_proxy_ports_parse(bad[i], &p, &e), -UMPA_EINVAL);
		assert_non_null(strstr(e.msg, "is not a port list (a-b,c)"));
	}
}

static void errors(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
	    {"[{\"rules\": [\"log\"]", "r.json:1:"},
	    {"{\"rules\": []}", "r.json: not a JSON list of rules"},
	    {"[3]", "r.json: rule 1: not an object"},
	    {"[{\"rules\": []}, {\"dstport\": \"99999\", \"rules\": []}]",
	     "r.json: rule 2: dstport: '99999' is not a port list (a-b,c)"},
	    {"[{\"srcport\": 70000, \"rules\": []}]", "r.json: rule 1: srcport: 70000 is not a port (0 to 65535)"},
	    {"[{\"dst\": \"a(\", \"rules\": []}]", "r.json: rule 1: dst: 'a(': bad regular expression"},
	    {"[{\"hostname\": 3, \"rules\": []}]", "r.json: rule 1: hostname: not a string"},
	    {"[{\"c2s\": 1, \"rules\": []}]", "r.json: rule 1: c2s: not true or false"},
	    {"[{\"dstport\": 80}]", "r.json: rule 1: no \"rules\""},
	    {"[{\"rules\": \"log\"}]", "r.json: rule 1: rules: not a list of modules"},
	    {"[{\"rules\": [\"\"]}]", "r.json: rule 1: rules[0]: not a module name"},
	    {"[{\"port\": 80, \"rules\": []}]", "r.json: rule 1: unknown key 'port'"},
	    {"[{\"rules\": [], \"rules\": []}]", "r.json:1:"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct umpa_err e = {0, ""};
		struct umpa_proxy_rules *r = parse(cases[i].json, &e);
		if (r || !strstr(e.msg, cases[i].msg))
			fail_msg("'%s': got '%s', want '%s'", cases[i].json, r ? "(parsed)" : e.msg, cases[i].msg);
		assert_null(strchr(e.msg, '\n'));
	}
}

static void match(void **state)
{
	struct umpa_err e = {0, ""};
	struct umpa_proxy_rules *r =
	    parse("[{\"src\": \"127\\\\.0\\\\.0\\\\.\", \"dst\": \"10\\\\.1\\\\.\", \"dstport\": "
		  "\"80,8000-8080\", \"srcport\": 40000, \"rules\": [\"log\"]},"
		  "{\"hostname\": \"^www\\\\.(a|b)\\\\.test$\", \"c2s\": false, \"rules\": []},"
		  "{\"rules\": [], \"hostname\": null, \"dstport\": null, \"c2s\": null}]",
		  &e);
	const struct umpa_proxy_rule *x;
	struct umpa_sbuf b = {0};
	(void)state;
	assert_non_null(r);
	assert_int_equal(umpa_proxy_rules_count(r), 3);
	x = umpa_proxy_rules_get(r, 1);
	assert_false(x->c2s);
	assert_true(x->s2c);
	assert_int_equal(umpa_proxy_rules_get(r, 0)->nmods, 1);
	assert_string_equal(umpa_proxy_rules_get(r, 0)->mods[0], "log");
	assert_null(umpa_proxy_rules_get(r, 3));
	assert_true(umpa_proxy_rules_match(r, 0, "127.0.0.1", 40000, "10.1.2.3", 8080));
	assert_false(umpa_proxy_rules_match(r, 0, "127.0.0.1", 40001, "10.1.2.3", 8080));
	assert_false(umpa_proxy_rules_match(r, 0, "127.0.0.1", 40000, "10.1.2.3", 81));
	/* anchored at the start, as Python's re.match: "x10.1." is not dst "10\.1\." */
	assert_false(umpa_proxy_rules_match(r, 0, "127.0.0.1", 40000, "110.1.2.3", 80));
	assert_false(umpa_proxy_rules_match(r, 0, "1127.0.0.1", 40000, "10.1.2.3", 80));
	assert_true(umpa_proxy_rules_match(r, 2, "::1", 1, "::1", 2));
	/* hostname: only a known hostname that matches */
	assert_true(umpa_proxy_rules_host(r, 0, NULL));
	assert_false(umpa_proxy_rules_host(r, 1, NULL));
	assert_false(umpa_proxy_rules_host(r, 1, ""));
	assert_true(umpa_proxy_rules_host(r, 1, "www.b.test"));
	assert_false(umpa_proxy_rules_host(r, 1, "www.c.test"));
	assert_false(umpa_proxy_rules_host(r, 1, "www.a.test.evil"));
	/* the JSON of the set parses back to the same JSON */
	assert_int_equal(umpa_proxy_rules_json(r, &b), 0);
	{
		struct umpa_proxy_rules *r2 = umpa_proxy_rules_parse(b.s, b.len, "again", &e);
		struct umpa_sbuf b2 = {0};
		assert_non_null(r2);
		assert_int_equal(umpa_proxy_rules_json(r2, &b2), 0);
		assert_string_equal(b.s, b2.s);
		assert_non_null(strstr(b.s, "\"dstport\":\"80,8000-8080\""));
		assert_non_null(strstr(b.s, "\"hostname\":null"));
		umpa_sbuf_free(&b2);
		umpa_proxy_rules_unref(r2);
	}
	umpa_sbuf_free(&b);
	/* references: a second holder keeps the set alive */
	assert_ptr_equal(umpa_proxy_rules_ref(r), r);
	assert_null(umpa_proxy_rules_unref(r));
	assert_int_equal(umpa_proxy_rules_count(r), 3);
	umpa_proxy_rules_unref(r);
}

/* A connection through the module host's hooks: what comes out of @p in in direction @p dir. */
static void run(struct umpa_proxy_mods *m, uint16_t dport, int dir, const char *first, const char *in, char *out,
		size_t n)
{
	struct umpa_proxy_hooks h;
	struct umpa_proxy_conn_info ci = {.id = 1, .sport = 40000, .dport = dport};
	struct umpa_err e = {0, ""};
	void *st = NULL;
	struct umpa_proxy_out o;
	snprintf(ci.src, sizeof(ci.src), "127.0.0.1");
	snprintf(ci.dst, sizeof(ci.dst), "127.0.0.2");
	umpa_proxy_mods_hooks(m, &h);
	assert_int_equal(h.open(h.arg, &ci, &st, &e), 0);
	if (first) { /* the client's request: peek_httphost finds the hostname */
		o = umpa_proxy_out_forward(first, strlen(first), 0);
		assert_int_equal(h.data(h.arg, st, UMPA_PROXY_C2S, (const uint8_t *)first, strlen(first), &o, &e), 0);
	}
	o = umpa_proxy_out_forward(in, strlen(in), 0);
	assert_int_equal(h.data(h.arg, st, (enum umpa_proxy_dir)dir, (const uint8_t *)in, strlen(in), &o, &e), 0);
	snprintf(out, n, "%.*s", (int)o.len, (const char *)o.data);
	h.close(h.arg, st);
}

static void chains(void **state)
{
	struct umpa_err e = {0, ""};
	struct umpa_proxy_mods *m = umpa_proxy_mods_new(NULL, NULL, &e);
	char out[256];
	const char *rules = "[{\"dstport\": \"80\", \"c2s\": false, \"rules\": [\"replace:search=a:replace=b\"]},"
			    "{\"dstport\": \"80-81\", \"rules\": [\"replace:search=b:replace=c\", \"peek_httphost\"]},"
			    "{\"hostname\": \"^h\\\\.test$\", \"rules\": [\"replace:search=x:replace=HOST\"]}]";
	(void)state;
	assert_non_null(m);
	/* an unknown module or option: the set is refused, one line naming rule and module */
	const char *bad1 = "[{\"rules\": [\"log\", \"nosuch\"]}]", *bad2 = "[{\"rules\": [\"replace:nope=1\"]}]";
	assert_true(umpa_proxy_mods_rules_text(m, bad1, strlen(bad1), "r.json", &e) < 0);
	assert_string_equal(e.msg, "r.json: rule 1: module 'nosuch' does not exist (umpa proxy --list-modules)");
	assert_true(umpa_proxy_mods_rules_text(m, bad2, strlen(bad2), "r.json", &e) < 0);
	assert_non_null(strstr(e.msg, "r.json: rule 1: module 'replace': unknown option 'nope'"));
	assert_null(umpa_proxy_mods_rules(m));
	assert_int_equal(umpa_proxy_mods_rules_text(m, rules, strlen(rules), "r.json", &e), 0);
	assert_int_equal(umpa_proxy_rules_count(umpa_proxy_mods_rules(m)), 3);
	/* port 80, s2c: rule 1 (a->b) then rule 2 (b->c), in order */
	run(m, 80, UMPA_PROXY_S2C, NULL, "aaxb", out, sizeof(out));
	assert_string_equal(out, "ccxc");
	/* port 80, c2s: rule 1 is s2c only */
	run(m, 80, UMPA_PROXY_C2S, NULL, "aaxb", out, sizeof(out));
	assert_string_equal(out, "aaxc");
	/* port 81: rule 2 only; port 82: nothing (the hostname rule waits for a hostname) */
	run(m, 81, UMPA_PROXY_S2C, NULL, "aaxb", out, sizeof(out));
	assert_string_equal(out, "aaxc");
	run(m, 82, UMPA_PROXY_S2C, NULL, "aaxb", out, sizeof(out));
	assert_string_equal(out, "aaxb");
	/* the hostname from peek_httphost (rule 2) selects rule 3's module */
	run(m, 80, UMPA_PROXY_S2C, "GET / HTTP/1.1\r\nHost: h.test\r\n\r\n", "x", out, sizeof(out));
	assert_string_equal(out, "HOST");
	run(m, 80, UMPA_PROXY_S2C, "GET / HTTP/1.1\r\nHost: g.test\r\n\r\n", "x", out, sizeof(out));
	assert_string_equal(out, "x");
	/* no rules again */
	assert_int_equal(umpa_proxy_mods_set_rules(m, NULL, &e), 0);
	run(m, 80, UMPA_PROXY_S2C, NULL, "aaxb", out, sizeof(out));
	assert_string_equal(out, "aaxb");
	umpa_proxy_mods_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ports),
	    cmocka_unit_test(errors),
	    cmocka_unit_test(match),
	    cmocka_unit_test(chains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
