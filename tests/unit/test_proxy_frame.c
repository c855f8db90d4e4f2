/* test_proxy_frame.c - the proxy modules' framing helpers (proxy.lines, proxy.length_prefixed, proxy.http in
 * templates/proxy/prelude.lua) and sslupgrade fed one byte at a time through the hooks umpa_proxy runs, the
 * module redirect's target hook, and the SOCKS5 codec (sched/umpa_socks.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_proxy_lua.h"
#include "umpa_socks.h"
#include "unit.h"

/* A module host with module @p src (named "m") on the chain of @p dir, the connection opened. */
struct fx {
	struct umpa_proxy_mods *m;
	struct umpa_proxy_hooks h;
	void *state;
	char out[65536];
	size_t n;
	enum umpa_proxy_action last; /* the action of the last chunk */
};

static void fx_open(struct fx *f, const char *src, const char *chain, int dir)
{
	struct umpa_err e = {0, ""};
	struct umpa_proxy_conn_info ci;
	memset(f, 0, sizeof(*f));
	memset(&ci, 0, sizeof(ci));
	ci.id = 1;
	snprintf(ci.src, sizeof(ci.src), "10.0.0.1");
	ci.sport = 40000;
	snprintf(ci.dst, sizeof(ci.dst), "10.0.0.2");
	ci.dport = 80;
	f->m = umpa_proxy_mods_new(NULL, NULL, &e);
	assert_non_null(f->m);
	if (src && umpa_proxy_mods_load(f->m, "m", src, strlen(src), "m.lua", &e) < 0)
		fail_msg("load: %s", e.msg);
	if (umpa_proxy_mods_chain(f->m, dir, chain, &e) < 0)
		fail_msg("chain: %s", e.msg);
	umpa_proxy_mods_hooks(f->m, &f->h);
	assert_int_equal(f->h.open(f->h.arg, &ci, &f->state, &e), 0);
}

/* Feed @p s one byte at a time in direction @p dir; what comes out is appended to f->out.  Returns the hook's
 * result (negative: failed, @p e set). */
static int fx_bytes(struct fx *f, int dir, const char *s, size_t len, struct umpa_err *e)
{
	for (size_t i = 0; i < len; i++) {
		struct umpa_proxy_out o = umpa_proxy_out_forward(s + i, 1, 0);
		int rc = f->h.data(f->h.arg, f->state, (enum umpa_proxy_dir)dir, (const uint8_t *)s + i, 1, &o, e);
		if (rc < 0)
			return rc;
		f->last = o.action;
		assert_true(f->n + o.len <= sizeof(f->out));
		if (o.len)
			memcpy(f->out + f->n, o.data, o.len);
		f->n += o.len;
	}
	return 0;
}

static void fx_end(struct fx *f, int dir)
{
	struct umpa_err e = {0, ""};
	struct umpa_proxy_out o = umpa_proxy_out_forward(NULL, 0, 0);
	assert_int_equal(f->h.flush(f->h.arg, f->state, (enum umpa_proxy_dir)dir, &o, &e), 0);
	if (o.len)
		memcpy(f->out + f->n, o.data, o.len);
	f->n += o.len;
	f->out[f->n] = 0;
}

static void fx_close(struct fx *f)
{
	f->h.close(f->h.arg, f->state);
	umpa_proxy_mods_free(f->m);
}

static const char lines_mod[] = "return {new = function(opts, incoming)\n"
				"  return proxy.lines(function(line, eol)\n"
				"    if line == 'drop' then return nil end\n"
				"    return '<' .. line:upper() .. '>'\n"
				"  end)\n"
				"end}\n";

static void test_lines(void **st)
{
	struct fx f;
	struct umpa_err e = {0, ""};
	static const char in[] = "hello\r\ndrop\nworld\nno end";
	(void)st;
	fx_open(&f, lines_mod, "m", UMPA_PROXY_C2S);
	assert_int_equal(fx_bytes(&f, 0, in, sizeof(in) - 1, &e), 0);
	f.out[f.n] = 0;
	assert_string_equal(f.out, "<HELLO>\r\n<WORLD>\n"); /* each line whole, "drop" dropped, the tail held */
	fx_end(&f, 0);
	assert_string_equal(f.out, "<HELLO>\r\n<WORLD>\n<NO END>");
	fx_close(&f);
}

/* bodies "ping" become "PONG!!" (longer): the length field follows */
static const char len_mod[] = "return {options = {size = '', endian = '', offset = '', incl = ''},\n"
			      "new = function(opts, incoming)\n"
			      "  return proxy.length_prefixed(function(body, head)\n"
			      "    if body == 'ping' then return 'PONG!!' end\n"
			      "    if body == 'x' then return nil end\n"
			      "    return body\n"
			      "  end, {size = opts.size, endian = opts.endian, offset = opts.offset,\n"
			      "        includes_header = opts.incl == '1', max = 64})\n"
			      "end}\n";

static void test_length_prefixed(void **st)
{
	struct fx f;
	struct umpa_err e = {0, ""};
	/* 2-byte big-endian lengths: "ping", "x" (dropped), "hello" */
	static const char in[] = "\x00\x04ping\x00\x01x\x00\x05hello\x00\x09par";
	static const char want[] = "\x00\x06PONG!!\x00\x05hello";
	(void)st;
	fx_open(&f, len_mod, "m:size=2", UMPA_PROXY_C2S);
	assert_int_equal(fx_bytes(&f, 0, in, sizeof(in) - 1, &e), 0);
	assert_int_equal(f.n, sizeof(want) - 1);
	assert_memory_equal(f.out, want, sizeof(want) - 1);
	fx_end(&f, 0); /* the partial message at the end goes out as it is */
	assert_int_equal(f.n, sizeof(want) - 1 + 5);
	assert_memory_equal(f.out + sizeof(want) - 1, "\x00\x09par", 5);
	fx_close(&f);

	/* a type byte, then a 4-byte little-endian length that counts the header (5 bytes) too */
	{
		static const char in2[] = "T\x09\x00\x00\x00pingU\x06\x00\x00\x00z";
		static const char want2[] = "T\x0b\x00\x00\x00PONG!!U\x06\x00\x00\x00z";
		fx_open(&f, len_mod, "m:size=4:endian=little:offset=1:incl=1", UMPA_PROXY_S2C);
		assert_int_equal(fx_bytes(&f, 1, in2, sizeof(in2) - 1, &e), 0);
		assert_int_equal(f.n, sizeof(want2) - 1);
		assert_memory_equal(f.out, want2, sizeof(want2) - 1);
		fx_close(&f);
	}
	/* a length over max fails the module: one clear message */
	fx_open(&f, len_mod, "m:size=2", UMPA_PROXY_C2S);
	assert_true(fx_bytes(&f, 0, "\x01\x00", 2, &e) < 0);
	unit_assert_contains(e.msg, "a message of 258 bytes (max 64)");
	fx_close(&f);
}

/* the body in upper case; the Server header renamed */
static const char http_mod[] = "return {new = function(opts, incoming)\n"
			       "  return proxy.http(function(head, body)\n"
			       "    return head:gsub('Server: x', 'Server: UMPA'), body:upper() .. '!'\n"
			       "  end)\n"
			       "end}\n";

static void test_http(void **st)
{
	struct fx f;
	struct umpa_err e = {0, ""};
	static const char req[] = "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
				  "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
				  "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello"
				   "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
				   "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the end";
	static const char resp_want[] = "HTTP/1.1 200 OK\r\nServer: UMPA\r\nContent-Length: 6\r\n\r\nHELLO!"
					"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!"
					"HTTP/1.0 200 OK\r\nServer: UMPA\r\n\r\nUNTIL THE END!";
	(void)st;
	fx_open(&f, http_mod, "m", -1);
	assert_int_equal(fx_bytes(&f, 0, req, sizeof(req) - 1, &e), 0);
	f.out[f.n] = 0;
	/* a body added to requests without one: the module's choice; their length follows */
	assert_string_equal(f.out, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nABCDE!"
				   "HEAD /b HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n!"
				   "GET /c HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n!");
	f.n = 0;
	/* responses: one with a length, the answer to HEAD (no body although a length), one until the end */
	assert_int_equal(fx_bytes(&f, 1, resp, sizeof(resp) - 1, &e), 0);
	f.out[f.n] = 0;
	assert_string_equal(f.out, "HTTP/1.1 200 OK\r\nServer: UMPA\r\nContent-Length: 6\r\n\r\nHELLO!"
				   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!");
	fx_end(&f, 1);
	assert_string_equal(f.out, resp_want);
	fx_close(&f);
}

/* sslupgrade: the command and the server's yes recognised a byte at a time; the yes is forwarded whole */
static void test_sslupgrade_split(void **st)
{
	struct fx f;
	struct umpa_err e = {0, ""};
	static const char cmd[] = "a1 CAPABILITY\r\na2 STARTTLS\r\n", yes[] = "a2 OK Begin TLS\r\n";
	(void)st;
	fx_open(&f, NULL, "sslupgrade", -1);
	assert_int_equal(fx_bytes(&f, 0, cmd, sizeof(cmd) - 1, &e), 0);
	assert_int_equal(f.n, sizeof(cmd) - 1);
	assert_int_equal(f.last, UMPA_PROXY_FORWARD);
	f.n = 0;
	assert_int_equal(fx_bytes(&f, 1, yes, sizeof(yes) - 2, &e), 0); /* all but the last byte: not yet */
	assert_int_equal(f.last, UMPA_PROXY_FORWARD);
	assert_int_equal(fx_bytes(&f, 1, yes + sizeof(yes) - 2, 1, &e), 0);
	assert_int_equal(f.last, UMPA_PROXY_STARTTLS);
	assert_int_equal(f.n, sizeof(yes) - 1);
	assert_memory_equal(f.out, yes, sizeof(yes) - 1);
	fx_close(&f);
	/* a refusal does not upgrade */
	fx_open(&f, NULL, "sslupgrade", -1);
	assert_int_equal(fx_bytes(&f, 0, "STLS\r\n", 6, &e), 0);
	assert_int_equal(fx_bytes(&f, 1, "-ERR no\r\n", 9, &e), 0);
	assert_int_equal(f.last, UMPA_PROXY_FORWARD);
	fx_close(&f);
}

static void test_redirect_target(void **st)
{
	struct fx f;
	char hp[300];
	(void)st;
	fx_open(&f, NULL, "redirect:host=fd00\\:\\:9:port=8443", UMPA_PROXY_C2S);
	assert_int_equal(f.h.target(f.h.arg, f.state, hp, sizeof(hp)), 1);
	assert_string_equal(hp, "[fd00::9]:8443");
	fx_close(&f);
	fx_open(&f, NULL, "redirect:port=81", -1); /* the host stays the destination's */
	assert_int_equal(f.h.target(f.h.arg, f.state, hp, sizeof(hp)), 1);
	assert_string_equal(hp, "10.0.0.2:81");
	fx_close(&f);
	fx_open(&f, NULL, "hexdump", -1); /* no redirect: no target */
	assert_int_equal(f.h.target(f.h.arg, f.state, hp, sizeof(hp)), 0);
	fx_close(&f);
	{
		struct umpa_err e = {0, ""};
		struct umpa_proxy_mods *m = umpa_proxy_mods_new(NULL, NULL, &e);
		assert_true(umpa_proxy_mods_chain(m, -1, "redirect:port=70000", &e) < 0);
		unit_assert_contains(e.msg, "port: '70000' is not 1 to 65535");
		umpa_proxy_mods_free(m);
	}
}

/* SOCKS4 and 4a: the request (partial, an address, a name, too long, unprintable), the reply. */
static void test_socks4_codec(void **st)
{
	struct umpa_socks5_req r;
	uint8_t out[8], big[600];
	struct sockaddr_in s4;
	(void)st;
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x00\x50\x0a\x00", 6, &r), 0);
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x00\x50\x0a\x00\x00\x02us", 10, &r), 0);
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x00\x50\x0a\x00\x00\x02us\x00xx", 13, &r), 11);
	assert_int_equal(r.ver, 4);
	assert_int_equal(r.cmd, 1);
	assert_int_equal(r.atyp, 1);
	assert_string_equal(r.host, "10.0.0.2");
	assert_int_equal(r.port, 80);
	assert_int_equal(ntohs(((struct sockaddr_in *)&r.addr)->sin_port), 80);
	/* 4a: 0.0.0.1 and a name after the user id */
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x01\xbb\x00\x00\x00\x01\x00hos", 12, &r), 0);
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x01\xbb\x00\x00\x00\x01\x00host\x00", 14, &r),
			 14);
	assert_int_equal(r.atyp, 3);
	assert_string_equal(r.host, "host");
	assert_int_equal(r.port, 443);
	assert_int_equal(r.alen, 0);
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x01\xbb\x00\x00\x00\x01\x00\x00", 10, &r), -1);
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x04\x01\x01\xbb\x00\x00\x00\x01\x00h st\x00", 14, &r),
			 -1);
	assert_int_equal(umpa_socks4_request((const uint8_t *)"\x05\x01", 2, &r), -1);
	/* a user id of 256 bytes and more: malformed */
	memset(big, 'u', sizeof(big));
	memcpy(big, "\x04\x01\x00\x50\x0a\x00\x00\x02", 8);
	assert_int_equal(umpa_socks4_request(big, sizeof(big), &r), -1);
	big[8 + 255] = 0;
	assert_int_equal(umpa_socks4_request(big, sizeof(big), &r), 8 + 256);
	/* replies: granted with the bound address, rejected with zeros */
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(1080);
	inet_pton(AF_INET, "10.0.0.1", &s4.sin_addr);
	assert_int_equal(umpa_socks4_reply(out, UMPA_SOCKS5_OK, (struct sockaddr *)&s4), 8);
	assert_memory_equal(out, "\x00\x5a\x04\x38\x0a\x00\x00\x01", 8);
	assert_int_equal(umpa_socks4_reply(out, UMPA_SOCKS5_REFUSED, NULL), 8);
	assert_memory_equal(out, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
}

static void test_socks5_codec(void **st)
{
	unsigned methods;
	struct umpa_socks5_req r;
	uint8_t rep, out[32];
	char user[256], pass[256];
	struct sockaddr_in6 s6;
	(void)st;
	/* greeting: partial, whole, not version 5 */
	assert_int_equal(umpa_socks5_greeting((const uint8_t *)"\x05\x02\x00", 3, &methods), 0);
	assert_int_equal(umpa_socks5_greeting((const uint8_t *)"\x05\x02\x00\x02xx", 6, &methods), 4);
	assert_int_equal(methods, 1u << 0 | 1u << 2);
	assert_int_equal(umpa_socks5_greeting((const uint8_t *)"\x04\x01", 2, &methods), -1);
	assert_int_equal(methods, 4);
	/* RFC 1929 */
	assert_int_equal(umpa_socks5_userpass((const uint8_t *)"\x01\x02us\x03pa", 7, user, pass), 0);
	assert_int_equal(umpa_socks5_userpass((const uint8_t *)"\x01\x02us\x03pas", 8, user, pass), 8);
	assert_string_equal(user, "us");
	assert_string_equal(pass, "pas");
	assert_int_equal(umpa_socks5_userpass((const uint8_t *)"\x05\x02us\x03pas", 8, user, pass), -1);
	/* requests: IPv4, IPv6, a name, partial, bad */
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x01\x0a\x00\x00\x02\x00\x50", 10, &r, &rep),
			 10);
	assert_int_equal(r.cmd, 1);
	assert_string_equal(r.host, "10.0.0.2");
	assert_int_equal(r.port, 80);
	assert_int_equal(ntohs(((struct sockaddr_in *)&r.addr)->sin_port), 80);
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x01\x0a\x00\x00\x02\x00", 9, &r, &rep), 0);
	{
		uint8_t b[22] = {5, 1, 0, 4, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0x01, 0xbb};
		assert_int_equal(umpa_socks5_request(b, sizeof(b), &r, &rep), 22);
		assert_string_equal(r.host, "fd00::9");
		assert_int_equal(r.port, 443);
		assert_int_equal(r.alen, sizeof(struct sockaddr_in6));
	}
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x03\x04host\x01\xbb", 11, &r, &rep), 11);
	assert_string_equal(r.host, "host");
	assert_int_equal(r.alen, 0);
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x03\x04ho", 7, &r, &rep), 0);
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x03\x04h\x00st\x01\xbb", 11, &r, &rep), -1);
	assert_int_equal(rep, UMPA_SOCKS5_FAIL);
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x03\x00\x01\xbb", 7, &r, &rep), -1);
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x05\x01\x00\x09\x01\x02\x03\x04\x00\x50", 10, &r, &rep),
			 -1);
	assert_int_equal(rep, UMPA_SOCKS5_ATYP_UNSUPP);
	assert_int_equal(umpa_socks5_request((const uint8_t *)"\x04\x01\x00\x01", 4, &r, &rep), -1);
	assert_int_equal(rep, UMPA_SOCKS5_FAIL);
	/* replies */
	assert_int_equal(umpa_socks5_reply(out, UMPA_SOCKS5_REFUSED, NULL), 10);
	assert_memory_equal(out, "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(1080);
	inet_pton(AF_INET6, "fd00::1", &s6.sin6_addr);
	assert_int_equal(umpa_socks5_reply(out, UMPA_SOCKS5_OK, (struct sockaddr *)&s6), 22);
	assert_int_equal(out[3], 4);
	assert_int_equal(out[4], 0xfd);
	assert_int_equal(out[20] << 8 | out[21], 1080);
	assert_int_equal(umpa_socks5_rep_for_errno(ECONNREFUSED), UMPA_SOCKS5_REFUSED);
	assert_int_equal(umpa_socks5_rep_for_errno(ENETUNREACH), UMPA_SOCKS5_NET_UNREACH);
	assert_int_equal(umpa_socks5_rep_for_errno(EHOSTUNREACH), UMPA_SOCKS5_HOST_UNREACH);
	assert_int_equal(umpa_socks5_rep_for_errno(ETIMEDOUT), UMPA_SOCKS5_TTL_EXPIRED);
	assert_string_equal(umpa_socks5_rep_name(UMPA_SOCKS5_CMD_UNSUPP), "command not supported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_length_prefixed),
	    cmocka_unit_test(test_http),
	    cmocka_unit_test(test_redirect_target),
	    cmocka_unit_test(test_socks5_codec),
	    cmocka_unit_test(test_socks4_codec),
	    cmocka_unit_test(test_sslupgrade_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
