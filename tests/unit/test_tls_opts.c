/* test_tls_opts.c - the TLS option table (sched/umpa_tls_opts.h): every entry
 * complete, every key read the same from the command line's text and from a
 * tls{} table, every bad value named by its key, ranges the same on both
 * front ends, and the curve / key type names users type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umpa_lua.h"
#include "umpa_lua_tls.h"
#include "lua_internal.h"
#include "umpa_tls.h"
#include "umpa_tls_opts.h"
#include "unit.h"

/* One good value per key: as the command line gives it (NULL: a flag) and as a Lua expression (NULL: the key
 * names a file, which tls{} refuses); and a bad value (NULL: none known before the pump runs). */
static const struct sample {
	const char *key, *cli, *lua, *bad;
} samples[] = {
    {"version", "1.2:1.3", "'1.2:1.3'", NULL},
    {"min_version", "1.2", "1.2", NULL},
    {"max_version", "TLSv1.3", "'TLSv1.3'", NULL},
    {"client_version", "1.3", "1.3", NULL},
    {"server_version", "1.2:", "'1.2:'", NULL},
    {"ciphers", "AES128-SHA", "'AES128-SHA'", NULL},
    {"client_ciphers", "AES256-SHA", "'AES256-SHA'", NULL},
    {"server_ciphers", "ECDHE-RSA-AES128-GCM-SHA256", "'ECDHE-RSA-AES128-GCM-SHA256'", NULL},
    {"ciphersuites", "TLS_AES_128_GCM_SHA256", "'TLS_AES_128_GCM_SHA256'", NULL},
    {"client_ciphersuites", "TLS_AES_256_GCM_SHA384", "'TLS_AES_256_GCM_SHA384'", NULL},
    {"server_ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "'TLS_CHACHA20_POLY1305_SHA256'", NULL},
    {"groups", "X25519", "'X25519'", NULL},
    {"client_groups", "P-256", "'P-256'", NULL},
    {"server_groups", "P-384:X25519", "'P-384:X25519'", NULL},
    {"sigalgs", "ECDSA+SHA256", "'ECDSA+SHA256'", NULL},
    {"client_sigalgs", "rsa_pss_rsae_sha256", "'rsa_pss_rsae_sha256'", NULL},
    {"server_sigalgs", "ed25519", "'ed25519'", NULL},
    {"security_level", "3", "3", "6"},
    {"key_type", "p384", "'P-384'", "rsa:16384"},
    {"client_key_type", "ed25519", "'ED25519'", "dsa"},
    {"cert", "/x/c.pem", NULL, NULL},
    {"key", "/x/c.key", NULL, NULL},
    {"ca", "/x/ca.pem", NULL, NULL},
    {"client_cert", NULL, "true", NULL},
    {"client_key", "/x/cc.key", NULL, NULL},
    {"client_ca", "/x/cca.pem", NULL, NULL},
    {"verify", NULL, "true", "maybe"},
    {"sni", "a.test", "'a.test'", NULL},
    {"alpn", "h2,http/1.1", "'h2,http/1.1'", NULL},
    {"server_alpn", "h2", "'h2'", NULL},
    {"resume", "ticket", "'TICKET'", "sometimes"},
    {"early_data", "hi\\x21", "'hi!'", "\\xZZ"},
    {"psk", "00112233:bob", "'00112233:bob'", "zz"},
    {"key_update", "3", "3", "1001"},
    {"server_key_update", "2", "2.0", "1001"},
    {"renegotiate", "1", "1", "101"},
    {"server_renegotiate", "2", "'2'", "101"},
    {"max_record", "1024", "1024", "100"},
    {"send_client", "GET\\r\\n", "'GET\\r\\n'", NULL},
    {"send_server", "x\\0y", "'x\\0y'", NULL},
    {"close", "reset", "'rst'", "slam"},
    {"label", "L1", "'L1'", NULL},
    {"count", "7", "7", "0"},
    {"client", "[fd00::5]:1234", "'[fd00::5]:1234'", "10.0.0.1:99999"},
    {"server", "10.1.1.1:8443", "'10.1.1.1:8443'", "nowhere"},
    {"ipv6", NULL, "true", "maybe"},
    {"mss", "1000", "1000", "10"},
    {"segment", "random", "'random'", "0"},
    {"reorder", "0.25", "0.25", "1.5"},
    {"dup", "0.5", "0.5", "-0.5"},
    {"loss", "0.1", "0.1", "1"},
    {"overlap", NULL, "true", "maybe"},
    {"seed", "18446744073709551615", "'18446744073709551615'", "18446744073709551616"},
    {"rtt", "0.05", "0.05", "61"},
    {"time", "1600000000.25", "1600000000.25", "1e12"},
};

static const struct sample *sample_of(const char *key)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (!strcmp(samples[i].key, key))
			return &samples[i];
	return NULL;
}

/* Every entry is complete and named consistently; every key has a sample here. */
static void test_table_complete(void **state)
{
	size_t n = umpa_tls_optdefs_count();

	(void)state;
	assert_true(n >= 50 && n < UMPA_TLS_OPTS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct umpa_tls_optdef *d = &umpa_tls_optdefs[i];
		char cli[64];
		size_t k;

		assert_non_null(d->key);
		assert_non_null(d->help);
		assert_true(strlen(d->help) > 10);
		assert_non_null(d->cli);
		for (k = 0; d->key[k] && k + 1 < sizeof(cli); k++)
			cli[k] = d->key[k] == '_' ? '-' : d->key[k];
		cli[k] = 0;
		assert_string_equal(d->cli, cli); /* Lua key = long option with '_' for '-' */
		assert_ptr_equal(umpa_tls_opt_find(d->key), d);
		assert_ptr_equal(umpa_tls_opt_find_cli(d->cli), d);
		assert_true(d->type == UMPA_TLS_OT_BOOL || d->arg != NULL);
		assert_true(d->nat >= 1 && d->nat <= 4);
		if (d->type == UMPA_TLS_OT_INT)
			assert_true(d->ilo >= 0 && (uint64_t)d->ilo <= d->ihi && d->width >= 1);
		if (d->type == UMPA_TLS_OT_NUM)
			assert_true(d->dlo < d->dhi);
		if (d->type == UMPA_TLS_OT_CUSTOM)
			assert_non_null(d->parse);
		if (d->flags & UMPA_TLS_OPT_SIDED)
			assert_true(!strncmp(d->key, "client_", 7) || !strncmp(d->key, "server_", 7));
		assert_true(d->flags & (UMPA_TLS_OPT_CLIENT | UMPA_TLS_OPT_SERVER | UMPA_TLS_OPT_PUMP));
		if (!sample_of(d->key))
			fail_msg("no sample for key '%s': add one to test_tls_opts.c", d->key);
	}
	assert_null(umpa_tls_optdefs[n].key);
	assert_null(umpa_tls_opt_find("verison"));
}

/* A front end selects its keys by flags: what a live client (tls --connect) would take, what a sandbox
 * refuses, what only the pump (both ends in one process) means. */
static void test_selection_flags(void **state)
{
	static const char *const pump[] = {"segment", "reorder", "dup",   "loss",  "overlap", "seed",
					   "rtt",     "time",    "count", "label", "mss",     "ipv6"};
	static const char *const files[] = {"cert", "key", "ca", "client_cert", "client_key", "client_ca"};
	static const char *const client[] = {
	    "version", "min_version", "client_version", "ciphers",    "ciphersuites", "groups", "sigalgs", "sni",
	    "alpn",    "psk",         "resume",         "early_data", "key_update",   "verify", "ca"};
	static const char *const not_client[] = {"server_version", "server_ciphers", "key_type", "cert",
						 "send_server",    "server_alpn",    "segment",  "time"};
	char sel[2048] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(pump) / sizeof(pump[0]); i++)
		assert_true(umpa_tls_opt_find(pump[i])->flags & UMPA_TLS_OPT_PUMP);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_true(umpa_tls_opt_find(files[i])->flags & UMPA_TLS_OPT_FILE);
	/* the keys a live client takes: client-side, not pump-only */
	for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; d->key; d++)
		if ((d->flags & UMPA_TLS_OPT_CLIENT) && !(d->flags & UMPA_TLS_OPT_PUMP)) {
			strcat(sel, " ");
			strcat(sel, d->key);
			strcat(sel, " ");
		}
	for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++) {
		char k[64];
		snprintf(k, sizeof(k), " %s ", client[i]);
		unit_assert_contains(sel, k);
	}
	for (size_t i = 0; i < sizeof(not_client) / sizeof(not_client[0]); i++) {
		char k[64];
		snprintf(k, sizeof(k), " %s ", not_client[i]);
		unit_assert_lacks(sel, k);
	}
}

static int streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int memeq(const void *a, size_t al, const void *b, size_t bl)
{
	return al == bl && (al == 0 || (a && b && !memcmp(a, b, al)));
}

/* The same options, strings and data compared by content. */
static void assert_conf_equal(const struct umpa_tls_conf *x, const struct umpa_tls_conf *y, const char *key)
{
	const struct umpa_tls_opts *a = &x->o, *b = &y->o;
	int ok = 1;

	for (int s = 0; s < 2; s++) {
		const struct umpa_tls_side *p = &a->side[s], *q = &b->side[s];
		ok &= streq(p->min_version, q->min_version) && streq(p->max_version, q->max_version) &&
		      streq(p->ciphers, q->ciphers) && streq(p->ciphersuites, q->ciphersuites) &&
		      streq(p->groups, q->groups) && streq(p->sigalgs, q->sigalgs) &&
		      streq(p->cert_file, q->cert_file) && streq(p->key_file, q->key_file) &&
		      streq(p->ca_file, q->ca_file) && streq(p->key_type, q->key_type) && streq(p->alpn, q->alpn) &&
		      memeq(p->data, p->data_len, q->data, q->data_len) && p->security_level == q->security_level &&
		      p->max_record == q->max_record && p->key_updates == q->key_updates &&
		      p->renegotiations == q->renegotiations;
	}
	ok &= streq(a->sni, b->sni) && a->client_cert == b->client_cert && a->verify == b->verify &&
	      a->resume == b->resume && memeq(a->early_data, a->early_len, b->early_data, b->early_len) &&
	      a->close == b->close && !memcmp(&a->tcp, &b->tcp, sizeof(a->tcp)) && streq(a->label, b->label) &&
	      memeq(a->psk, a->psk_len, b->psk, b->psk_len) && streq(a->psk_identity, b->psk_identity) &&
	      x->count == y->count;
	if (!ok)
		fail_msg("key '%s': the command line and tls{} give different options", key);
}

/* Every key: its value from the command line's text and from tls{} lands the same, and differs from the
 * defaults (so the value did land). */
struct got {
	struct umpa_tls_conf *want, *dflt;
	const char *key;
	int called;
};

static void compare_cb(const struct umpa_tls_conf *c, void *arg)
{
	struct got *g = arg;

	g->called = 1;
	assert_conf_equal(c, g->want, g->key);
}

static void test_cli_and_lua_agree(void **state)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);
	struct umpa_tls_conf dflt;

	(void)state;
	assert_non_null(L);
	umpa_tls_conf_init(&dflt, &e);
	assert_int_equal(umpa_tls_conf_finish(&dflt, &e), 0);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		const struct umpa_tls_optdef *d = umpa_tls_opt_find(s->key);
		struct umpa_tls_conf cli;
		struct got g = {&cli, &dflt, s->key, 0};
		char chunk[256];

		assert_non_null(d);
		umpa_tls_conf_init(&cli, &e);
		if (s->cli)
			assert_int_equal(umpa_tls_opt_set(d, &cli, s->cli, strlen(s->cli),
							  UMPA_TLS_SET_BORROW | UMPA_TLS_SET_ESCAPES, &e),
					 0);
		else
			assert_int_equal(umpa_tls_opt_set_bool(d, &cli, 1, &e), 0);
		if (umpa_tls_conf_finish(&cli, &e) < 0)
			fail_msg("%s: %s", s->key, e.msg);
		if (!memcmp(&cli.o.tcp, &dflt.o.tcp, sizeof(cli.o.tcp)) && cli.count == dflt.count &&
		    !memcmp(&cli.o.side, &dflt.o.side, sizeof(cli.o.side)) && cli.o.sni == dflt.o.sni &&
		    cli.o.resume == dflt.o.resume && cli.o.close == dflt.o.close && cli.o.label == dflt.o.label &&
		    cli.o.psk == dflt.o.psk && cli.o.client_cert == dflt.o.client_cert &&
		    cli.o.verify == dflt.o.verify && cli.o.early_len == dflt.o.early_len)
			fail_msg("%s=%s changed nothing", s->key, s->cli ? s->cli : "(flag)");
		if (s->lua) {
			snprintf(chunk, sizeof(chunk), "return {%s=%s}", s->key, s->lua);
			if (umpa_lua_tls_read_(L, chunk, compare_cb, &g, &e) < 0)
				fail_msg("%s: %s", chunk, e.msg);
			assert_true(g.called);
		} else {
			/* a file: the sandbox refuses it */
			snprintf(chunk, sizeof(chunk), "return {%s='/etc/passwd'}", s->key);
			assert_int_equal(umpa_lua_tls_read_(L, chunk, compare_cb, &g, &e), -1);
			unit_assert_contains(e.msg, "sandbox");
		}
		umpa_tls_conf_free(&cli);
	}
	umpa_lua_close(L);
}

/* Every bad value: one message that starts with the key, on both front ends. */
static void test_bad_values_name_the_key(void **state)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);

	(void)state;
	assert_non_null(L);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		const struct umpa_tls_optdef *d = umpa_tls_opt_find(s->key);
		struct umpa_tls_conf c;
		char want[80], chunk[256];
		const char *rest = NULL;

		if (!s->bad)
			continue;
		umpa_tls_conf_init(&c, &e);
		umpa_err_clear(&e);
		assert_true(umpa_tls_opt_set(d, &c, s->bad, strlen(s->bad), UMPA_TLS_SET_BORROW | UMPA_TLS_SET_ESCAPES,
					     &e) < 0);
		snprintf(want, sizeof(want), "%s: ", s->key);
		if (strncmp(e.msg, want, strlen(want)))
			fail_msg("%s=%s: '%s' does not start with the key", s->key, s->bad, e.msg);
		assert_ptr_equal(umpa_tls_opt_from_msg(e.msg, &c, &rest), d);
		assert_non_null(rest);
		assert_null(strchr(e.msg, '\n'));
		umpa_tls_conf_free(&c);
		if (d->type == UMPA_TLS_OT_DATA)
			continue; /* tls{} takes data as it is: no escapes to get wrong */
		/* tls{}: the same value as a string */
		snprintf(chunk, sizeof(chunk), "return {%s=[[%s]]}", s->key, s->bad);
		assert_int_equal(umpa_lua_tls_read_(L, chunk, NULL, NULL, &e), -1);
		snprintf(want, sizeof(want), "tls{%s=...}: ", s->key);
		unit_assert_contains(e.msg, want);
	}
	umpa_lua_close(L);
}

/* Numbers: out of range on either side of every numeric entry, inf, nan, negative: refused naming the range,
 * from text and from Lua numbers alike. */
static void test_ranges(void **state)
{
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);
	int checked = 0;

	(void)state;
	assert_non_null(L);
	for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; d->key; d++) {
		char range[160], vals[4][48], lua[4][48];
		struct umpa_num_spec spec;
		int nv = 0;

		if (!umpa_tls_opt_num_spec(d, &spec))
			continue;
		umpa_num_range_text(&spec, range, sizeof(range));
		if (d->type == UMPA_TLS_OT_INT || d->type == UMPA_TLS_OT_CUSTOM) {
			if (d->ihi < UINT64_MAX) {
				snprintf(vals[nv], sizeof(vals[nv]), "%llu", (unsigned long long)d->ihi + 1);
				snprintf(lua[nv], sizeof(lua[nv]), "%llu", (unsigned long long)d->ihi + 1);
				nv++;
			}
			if (d->ilo > 0) {
				snprintf(vals[nv], sizeof(vals[nv]), "%lld", (long long)d->ilo - 1);
				snprintf(lua[nv], sizeof(lua[nv]), "%lld", (long long)d->ilo - 1);
				nv++;
			}
			snprintf(vals[nv], sizeof(vals[nv]), "-1");
			snprintf(lua[nv], sizeof(lua[nv]), "-1");
			nv++;
		} else {
			snprintf(vals[nv], sizeof(vals[nv]), "%.10g", d->dhi * 2 + 1);
			snprintf(lua[nv], sizeof(lua[nv]), "%.10g", d->dhi * 2 + 1);
			nv++;
			snprintf(vals[nv], sizeof(vals[nv]), "inf");
			snprintf(lua[nv], sizeof(lua[nv]), "1/0");
			nv++;
			snprintf(vals[nv], sizeof(vals[nv]), "nan");
			snprintf(lua[nv], sizeof(lua[nv]), "0/0");
			nv++;
			snprintf(vals[nv], sizeof(vals[nv]), "-1");
			snprintf(lua[nv], sizeof(lua[nv]), "-1");
			nv++;
		}
		for (int i = 0; i < nv; i++) {
			struct umpa_tls_conf c;
			char chunk[320], want[160];
			umpa_tls_conf_init(&c, &e);
			assert_true(umpa_tls_opt_set(d, &c, vals[i], strlen(vals[i]), UMPA_TLS_SET_BORROW, &e) < 0);
			snprintf(want, sizeof(want), "%s: '%s' is ", d->key, vals[i]);
			if (strncmp(e.msg, want, strlen(want)) || !strstr(e.msg, range))
				fail_msg("%s=%s: got '%s', want '%s... (%s'", d->key, vals[i], e.msg, want, range);
			assert_int_equal(e.code,
					 strcmp(vals[i], "inf") && strcmp(vals[i], "nan") ? UMPA_ERANGE : UMPA_EINVAL);
			umpa_tls_conf_free(&c);
			snprintf(chunk, sizeof(chunk), "return {%s=%s}", d->key, lua[i]);
			assert_int_equal(umpa_lua_tls_read_(L, chunk, NULL, NULL, &e), -1);
			snprintf(want, sizeof(want), "tls{%s=...}: ", d->key);
			unit_assert_contains(e.msg, want);
			unit_assert_contains(e.msg, range);
			checked++;
		}
	}
	assert_true(checked >= 40);
	/* the bounds themselves are in */
	{
		struct umpa_tls_conf c;
		umpa_tls_conf_init(&c, &e);
		assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("key_update"), &c, "1000", 4, 0, &e), 0);
		assert_int_equal(c.o.side[0].key_updates, 1000);
		assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("time"), &c, "4000000000", 10, 0, &e), 0);
		assert_int_equal(c.o.tcp.start_sec, 4000000000LL);
		/* times are exact: no binary rounding of the nanoseconds */
		assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("time"), &c, "1600000000.123456789", 20, 0, &e), 0);
		assert_int_equal(c.o.tcp.start_sec, 1600000000LL);
		assert_int_equal(c.o.tcp.start_nsec, 123456789);
		assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("seed"), &c, "0x10", 4, 0, &e), 0);
		assert_int_equal(c.o.tcp.seed, 16);
		assert_true(umpa_tls_opt_set(umpa_tls_opt_find("seed"), &c, "010x", 4, 0, &e) < 0);
		assert_true(umpa_tls_opt_set(umpa_tls_opt_find("loss"), &c, "0.999", 5, 0, &e) == 0);
		assert_true(umpa_tls_opt_set(umpa_tls_opt_find("loss"), &c, "1", 1, 0, &e) < 0);
		assert_string_equal(e.msg, "loss: '1' is out of range (a probability: 0 to 1, 1 excluded)");
		umpa_tls_conf_free(&c);
	}
	/* a template's own cap on conversations per call */
	assert_int_equal(umpa_lua_tls_read_(L, "return {count=10001}", NULL, NULL, &e), -1);
	unit_assert_contains(e.msg, "tls{count=...}: '10001' is more than a template runs in one call (1..10000)");
	umpa_lua_close(L);
}

static int drop(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	(void)arg;
	(void)p;
	(void)comment;
	(void)e;
	return 0;
}

/* The curve and key type names users type: parsed to one canonical form, and the pump's certificate has the
 * key asked for. */
static void test_key_type_aliases(void **state)
{
	static const struct {
		const char *name, *canon, *report;
		int bits;
	} k[] = {
	    {"p256", "ec:P-256", "EC P-256", 256},
	    {"P-256", "ec:P-256", "EC P-256", 256},
	    {"secp256r1", "ec:P-256", "EC P-256", 256},
	    {"prime256v1", "ec:P-256", "EC P-256", 256},
	    {"p384", "ec:P-384", "EC P-384", 384},
	    {"P-384", "ec:P-384", "EC P-384", 384},
	    {"secp384r1", "ec:P-384", "EC P-384", 384},
	    {"p521", "ec:P-521", "EC P-521", 521},
	    {"P-521", "ec:P-521", "EC P-521", 521},
	    {"secp521r1", "ec:P-521", "EC P-521", 521},
	    {"ec:P-384", "ec:P-384", "EC P-384", 384},
	    {"EC:secp384r1", "ec:P-384", "EC P-384", 384},
	    {"ecdsa:prime256v1", "ec:P-256", "EC P-256", 256},
	    {"ec", "ec:P-256", "EC P-256", 256},
	    {"rsa", "rsa:2048", "RSA", 2048},
	    {"RSA:3072", "rsa:3072", "RSA", 3072},
	    {"rsa:1024", "rsa:1024", "RSA", 1024},
	    {"ed25519", "ed25519", "ED25519", 256},
	    {"Ed448", "ed448", "ED448", 456},
	};
	static const struct {
		const char *name, *msg;
	} bad[] = {
	    {"rsa:16384", "key_type: '16384' is out of range (bits of an RSA key: 512 to 8192)"},
	    {"rsa:256", "key_type: '256' is out of range (bits of an RSA key: 512 to 8192)"},
	    {"rsa:big", "key_type: 'big' is not a number (bits of an RSA key: 512 to 8192)"},
	    {"ec:P-999", "key_type: unknown curve 'P-999'"},
	    {"p999", "key_type: unknown key type 'p999'"},
	    {"dsa", "key_type: unknown key type 'dsa'"},
	};
	struct umpa_err e = {0};
	struct umpa_lua *L = umpa_lua_open(&e);

	(void)state;
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		char canon[32];
		struct umpa_tls_opts o;
		struct umpa_tls *t;
		struct umpa_tls_report r;
		struct umpa_tls_conf c;
		char chunk[128];
		struct got g = {&c, NULL, "key_type", 0};

		assert_int_equal(umpa_tls_keytype_parse(k[i].name, 0, canon, sizeof(canon), &e), 0);
		assert_string_equal(canon, k[i].canon);
		/* the option table keeps the canonical form; tls{} reads the same */
		umpa_tls_conf_init(&c, &e);
		assert_int_equal(
		    umpa_tls_opt_set(umpa_tls_opt_find("key_type"), &c, k[i].name, strlen(k[i].name), 0, &e), 0);
		assert_string_equal(c.o.side[UMPA_TCPS_SERVER].key_type, k[i].canon);
		umpa_tls_conf_finish(&c, &e);
		snprintf(chunk, sizeof(chunk), "return {key_type='%s'}", k[i].name);
		assert_int_equal(umpa_lua_tls_read_(L, chunk, compare_cb, &g, &e), 0);
		umpa_tls_conf_free(&c);
		/* the API takes the alias too: the server's certificate carries that key */
		umpa_tls_opts_init(&o);
		o.side[UMPA_TCPS_SERVER].key_type = k[i].name;
		o.side[UMPA_TCPS_CLIENT].min_version = "1.3";
		o.side[0].security_level = o.side[1].security_level = 0; /* RSA-1024 */
		t = umpa_tls_new(&o, &e);
		if (!t)
			fail_msg("%s: %s", k[i].name, e.msg);
		assert_int_equal(umpa_tls_run(t, drop, NULL, &r, 1, &e), 1);
		assert_int_equal(r.handshake_ok, 1);
		assert_string_equal(r.server_chain[0].key_type, k[i].report);
		assert_int_equal(r.server_chain[0].key_bits, k[i].bits);
		umpa_tls_free(t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct umpa_tls_opts o;
		struct umpa_tls_conf c;
		char chunk[128];

		assert_true(umpa_tls_keytype_parse(bad[i].name, 0, NULL, 0, &e) < 0);
		unit_assert_contains(e.msg, bad[i].msg);
		umpa_tls_opts_init(&o);
		o.side[UMPA_TCPS_SERVER].key_type = bad[i].name;
		assert_null(umpa_tls_new(&o, &e));
		unit_assert_contains(e.msg, bad[i].msg);
		umpa_tls_conf_init(&c, &e);
		assert_true(umpa_tls_opt_set(umpa_tls_opt_find("client_key_type"), &c, bad[i].name, strlen(bad[i].name),
					     0, &e) < 0);
		assert_true(!strncmp(e.msg, "client_key_type: ", 17));
		umpa_tls_conf_free(&c);
		snprintf(chunk, sizeof(chunk), "return {key_type='%s'}", bad[i].name);
		assert_int_equal(umpa_lua_tls_read_(L, chunk, NULL, NULL, &e), -1);
		unit_assert_contains(e.msg, "tls{key_type=...}: ");
		unit_assert_contains(e.msg, bad[i].msg + strlen("key_type: "));
	}
	umpa_lua_close(L);
}

/* An error of the pump names the option the user gave: min_version for a version clash, the one-side key when
 * the sides differ; one-side keys win over both-side keys whatever the order. */
static void test_blame_and_order(void **state)
{
	struct umpa_err e = {0};
	struct umpa_tls_conf c;
	struct umpa_lua *L = umpa_lua_open(&e);
	const char *rest;

	(void)state;
	umpa_tls_conf_init(&c, &e);
	assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("min_version"), &c, "1.3", 3, 0, &e), 0);
	assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("max_version"), &c, "1.2", 3, 0, &e), 0);
	assert_null(umpa_tls_new(&c.o, &e));
	assert_string_equal(umpa_tls_opt_from_msg(e.msg, &c, &rest)->key, "min_version");
	assert_string_equal(rest, "minimum TLSv1.3 is above maximum TLSv1.2");
	assert_string_equal(umpa_tls_opt_from_msg(e.msg, NULL, NULL)->key, "version");
	assert_null(umpa_tls_opt_from_msg("tls: out of memory", &c, NULL));
	umpa_tls_conf_free(&c);

	umpa_tls_conf_init(&c, &e);
	assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("server_ciphers"), &c, "FOO", 3, 0, &e), 0);
	assert_int_equal(umpa_tls_opt_set(umpa_tls_opt_find("version"), &c, "1.2", 3, 0, &e), 0);
	assert_null(umpa_tls_new(&c.o, &e));
	assert_string_equal(e.msg, "server_ciphers: no cipher matches 'FOO'");
	umpa_tls_conf_free(&c);

	/* tls{}: the one-side key wins whichever comes first in the table */
	{
		struct umpa_tls_conf want;
		struct got g = {&want, NULL, "alpn", 0};
		umpa_tls_conf_init(&want, &e);
		want.o.side[0].alpn = "x";
		want.o.side[1].alpn = "h2";
		umpa_tls_conf_finish(&want, &e);
		assert_int_equal(umpa_lua_tls_read_(L, "return {server_alpn='h2', alpn='x'}", compare_cb, &g, &e), 0);
		assert_int_equal(umpa_lua_tls_read_(L, "return {alpn='x', server_alpn='h2'}", compare_cb, &g, &e), 0);
	}
	/* mixed address families */
	assert_int_equal(umpa_lua_tls_read_(L, "return {client='10.0.0.1', server='[fd00::1]:443'}", NULL, NULL, &e),
			 -1);
	unit_assert_contains(e.msg, "tls{server=...}: client and server must both be IPv4 or both IPv6");
	umpa_lua_close(L);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_complete),
	    cmocka_unit_test(test_selection_flags),
	    cmocka_unit_test(test_cli_and_lua_agree),
	    cmocka_unit_test(test_bad_values_name_the_key),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_key_type_aliases),
	    cmocka_unit_test(test_blame_and_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
