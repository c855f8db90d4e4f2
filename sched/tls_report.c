/* tls_report.c - the TLS pump's report as text (the shape openssl s_client
 * users know: certificate chain with s:/i:/a:/v: lines, "Verify return code")
 * and as JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "umpa_sbuf.h"
#include "umpa_tls.h"

/* Bounded appender: counts what the whole text needs, writes what fits. */
struct out_ {
	char *buf;
	size_t n, len;
};

static void put_(struct out_ *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_(struct out_ *o, const char *fmt, ...)
{
	va_list ap;
	int r;
	char *dst = o->len < o->n ? o->buf + o->len : NULL;
	size_t room = o->len < o->n ? o->n - o->len : 0;

	va_start(ap, fmt);
	r = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->len += (size_t)r;
}

/* A JSON string literal for @p s. */
static void put_json_str_(struct out_ *o, const char *s)
{
	put_(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			put_(o, "\\%c", ch);
		else if (ch < 0x20)
			put_(o, "\\u%04x", ch);
		else
			put_(o, "%c", ch);
	}
	put_(o, "\"");
}

static void out_init_(struct out_ *o, char *buf, size_t n)
{
	o->buf = buf;
	o->n = n;
	o->len = 0;
	if (n)
		buf[0] = 0;
}

static size_t out_end_(struct out_ *o)
{
	if (o->n && o->len >= o->n)
		o->buf[o->n - 1] = 0;
	return o->len;
}

/*
 * @p s made safe for a terminal (umpa_sbuf_put_safe) in @p sb, which the
 * next call reuses: names, SNI, ALPN and errors come from certificates,
 * peers and users, and must not forge the report's lines.
 */
static const char *safe_(struct umpa_sbuf *sb, const char *s)
{
	umpa_sbuf_reset(sb);
	umpa_sbuf_put_safe(sb, s, strlen(s));
	return sb->s && !sb->oom ? sb->s : "(out of memory)";
}

static void chain_text_(struct out_ *o, struct umpa_sbuf *sb, const char *title, const struct umpa_tls_cert *ch,
			size_t n)
{
	put_(o, "%s\n", title);
	for (size_t i = 0; i < n; i++) {
		put_(o, " %zu s:%s\n", i, safe_(sb, ch[i].subject));
		put_(o, "   i:%s\n", safe_(sb, ch[i].issuer));
		put_(o, "   a:PKEY: %s, %d (bit)\n", safe_(sb, ch[i].key_type), ch[i].key_bits);
		put_(o, "   v:NotBefore: %s;", safe_(sb, ch[i].not_before));
		put_(o, " NotAfter: %s\n", safe_(sb, ch[i].not_after));
		if (ch[i].san[0])
			put_(o, "   n:SAN: %s\n", safe_(sb, ch[i].san));
	}
}

size_t umpa_tls_report_text(const struct umpa_tls_report *r, char *buf, size_t n)
{
	struct out_ o;
	struct umpa_sbuf sb = {0};
	const char *dash = "---";

	out_init_(&o, buf, n);
	put_(&o, "Conversation: client port %u -> server port %u, %llu packet%s\n", r->port[0], r->port[1],
	     (unsigned long long)r->packets, r->packets == 1 ? "" : "s");
	if (r->handshake_ok && r->error[0])
		put_(&o, "Handshake: ok, then an error: %s\n", safe_(&sb, r->error));
	else if (r->handshake_ok)
		put_(&o, "Handshake: ok\n");
	else
		put_(&o, "Handshake: FAILED: %s\n", r->error[0] ? safe_(&sb, r->error) : "unknown reason");
	if (r->alert[0])
		put_(&o, "Alert: %s\n", safe_(&sb, r->alert));
	put_(&o, "%s\n", dash);
	if (r->n_server_chain)
		chain_text_(&o, &sb, "Server certificate chain", r->server_chain, r->n_server_chain);
	else
		put_(&o, "No server certificate\n");
	if (r->n_client_chain)
		chain_text_(&o, &sb, "Client certificate chain", r->client_chain, r->n_client_chain);
	put_(&o, "%s\n", dash);
	put_(&o, "%s, Cipher is %s\n", r->resumed ? "Reused" : "New", r->cipher[0] ? r->cipher : "(NONE)");
	put_(&o, "Protocol: %s\n", r->version[0] ? r->version : "(none)");
	if (r->cipher_iana[0])
		put_(&o, "Cipher suite: %s\n", r->cipher_iana);
	if (r->group[0])
		put_(&o, "Negotiated group: %s\n", r->group);
	if (r->sigalg[0])
		put_(&o, "Peer signature algorithm: %s\n", r->sigalg);
	put_(&o, "Server name (SNI): %s\n", r->sni[0] ? safe_(&sb, r->sni) : "(none)");
	put_(&o, "ALPN protocol: %s\n", r->alpn[0] ? safe_(&sb, r->alpn) : "(none)");
	put_(&o, "Resumed: %s\n", r->resumed ? "yes" : "no");
	if (r->psk[0])
		put_(&o, "PSK: %s\n", safe_(&sb, r->psk));
	if (r->early_data >= 0)
		put_(&o, "Early data: %s\n", r->early_data ? "accepted" : "rejected");
	if (r->key_updates)
		put_(&o, "Key updates: %d\n", r->key_updates);
	if (r->renegotiations)
		put_(&o, "Renegotiations: %d\n", r->renegotiations);
	put_(&o, "Verify return code: %d (%s)\n", r->verify_result,
	     r->verify_reason[0] ? safe_(&sb, r->verify_reason) : "ok");
	if (r->n_client_chain)
		put_(&o, "Client verify return code: %d\n", r->client_verify_result);
	put_(&o, "Application data: client sent %llu, server sent %llu bytes\n", (unsigned long long)r->app_bytes[0],
	     (unsigned long long)r->app_bytes[1]);
	put_(&o, "TLS bytes: client %llu, server %llu\n", (unsigned long long)r->tls_bytes[0],
	     (unsigned long long)r->tls_bytes[1]);
	put_(&o, "%s\n", dash);
	umpa_sbuf_free(&sb);
	return out_end_(&o);
}

static void chain_json_(struct out_ *o, const struct umpa_tls_cert *ch, size_t n)
{
	put_(o, "[");
	for (size_t i = 0; i < n; i++) {
		put_(o, "%s{\"subject\":", i ? "," : "");
		put_json_str_(o, ch[i].subject);
		put_(o, ",\"issuer\":");
		put_json_str_(o, ch[i].issuer);
		put_(o, ",\"not_before\":");
		put_json_str_(o, ch[i].not_before);
		put_(o, ",\"not_after\":");
		put_json_str_(o, ch[i].not_after);
		put_(o, ",\"key_type\":");
		put_json_str_(o, ch[i].key_type);
		put_(o, ",\"key_bits\":%d,\"san\":", ch[i].key_bits);
		put_json_str_(o, ch[i].san);
		put_(o, "}");
	}
	put_(o, "]");
}

size_t umpa_tls_report_json(const struct umpa_tls_report *r, char *buf, size_t n)
{
	struct out_ o;
	static const char *const early[] = {"none", "rejected", "accepted"};
	const struct {
		const char *k, *v;
	} strs[] = {
	    {"error", r->error},
	    {"alert", r->alert},
	    {"version", r->version},
	    {"cipher", r->cipher},
	    {"cipher_iana", r->cipher_iana},
	    {"group", r->group},
	    {"sigalg", r->sigalg},
	    {"alpn", r->alpn},
	    {"sni", r->sni},
	    {"verify_reason", r->verify_reason},
	};

	out_init_(&o, buf, n);
	put_(&o, "{\"handshake_ok\":%s", r->handshake_ok ? "true" : "false");
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		put_(&o, ",\"%s\":", strs[i].k);
		put_json_str_(&o, strs[i].v);
	}
	put_(&o, ",\"psk\":\"%s\"", r->psk[0] ? r->psk : "none");
	put_(&o, ",\"resumed\":%s,\"early_data\":\"%s\"", r->resumed ? "true" : "false",
	     early[r->early_data < 0 ? 0
		   : r->early_data   ? 2
				     : 1]);
	put_(&o, ",\"verify_result\":%d,\"client_verify_result\":%d", r->verify_result, r->client_verify_result);
	put_(&o, ",\"server_chain\":");
	chain_json_(&o, r->server_chain, r->n_server_chain);
	put_(&o, ",\"client_chain\":");
	chain_json_(&o, r->client_chain, r->n_client_chain);
	put_(&o, ",\"app_bytes\":{\"client\":%llu,\"server\":%llu}", (unsigned long long)r->app_bytes[0],
	     (unsigned long long)r->app_bytes[1]);
	put_(&o, ",\"tls_bytes\":{\"client\":%llu,\"server\":%llu}", (unsigned long long)r->tls_bytes[0],
	     (unsigned long long)r->tls_bytes[1]);
	put_(&o, ",\"packets\":%llu,\"key_updates\":%d,\"renegotiations\":%d", (unsigned long long)r->packets,
	     r->key_updates, r->renegotiations);
	put_(&o, ",\"client_port\":%u,\"server_port\":%u}", r->port[0], r->port[1]);
	return out_end_(&o);
}
