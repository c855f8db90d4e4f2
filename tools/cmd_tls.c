/* cmd_tls.c - `umpa tls`: whole TLS conversations into a capture file, no network.
 *
 * The pump (sched/umpa_tls.h) runs an OpenSSL client and server in this
 * process; this file maps the command line onto its options, writes the
 * packets (pcap, or pcapng with a Decryption Secrets Block holding each
 * conversation's keys before its packets), the key log (mode 0600) and the
 * report (s_client-like text, or --json).
 *
 * Output format: pcapng when --pcapng is given or FILE ends in ".pcapng",
 * else pcap (whose readers need --keylog to decrypt).
 *
 * Several conversations (-n N): sequential, one after the other, or with
 * --interleave all at once, their packets merged in time order.  With
 * --resume, conversation 1 is a full handshake and every later one resumes
 * the session of the one before (-n defaults to 2 then; with --interleave
 * they all resume the first, and a ticket offered with 0-RTT is single use:
 * OpenSSL's anti-replay sends the later ones to a full handshake, which the
 * report shows).  Conversation i uses
 * TCP seed SEED+i and client port PORT+i (PORT from --client, or derived
 * from the seed), so every conversation is its own TCP stream.
 *
 * Exit status: 0 when every handshake succeeded, 1 when one failed (it is
 * still written and reported) or on an I/O error, 2 for a bad command line,
 * including values OpenSSL refuses before anything runs (unknown cipher,
 * versions that cannot meet, unreadable certificate or key).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_protos.h"
#include "umpa_tls.h"
#include "umpa_sbuf.h"
#include "umpa_tool.h"

static const char tls_usage[] =
    "usage: umpa tls [OPTIONS] -w FILE\n"
    "       umpa tls --sweep [OPTIONS] -w FILE   (every version x cipher suite OpenSSL negotiates)\n"
    "\n"
    "Whole TLS conversations (an OpenSSL client and server in this process, no network) written as\n"
    "TCP/IP packets, with a report of what was negotiated.\n"
    "Output:\n"
    "  -w FILE                capture file ('-': standard output; the report then goes to stderr)\n"
    "  --pcapng | --pcap      format (default: pcapng if FILE ends in .pcapng, else pcap); pcapng carries\n"
    "                         the keys in a Decryption Secrets Block and TLS message names as comments\n"
    "  --keylog FILE          also write the keys in SSLKEYLOGFILE format (mode 0600)\n"
    "  -n, --count N          conversations (default 1, or 2 with --resume)\n"
    "  --interleave           run the conversations at once, packets merged in time order\n"
    "  --json                 the report as JSON;  -q, --quiet: no report;  -v: full report for each\n"
    "  --label TEXT           prefix every packet comment with [TEXT]\n"
    "Versions and algorithms (both sides; --client-X / --server-X for one side):\n"
    "  --version [MIN:]MAX    1.0, 1.1, 1.2, 1.3 (or TLSv1.2 ...): '1.2' is exactly 1.2, '1.0:1.3' a range\n"
    "  --min-version V, --max-version V\n"
    "  --ciphers LIST         TLS <= 1.2 cipher list (OpenSSL syntax)\n"
    "  --ciphersuites LIST    TLS 1.3 suites, e.g. TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256\n"
    "  --groups LIST          key exchange groups, e.g. X25519:P-256:ffdhe2048\n"
    "  --sigalgs LIST         signature algorithms, e.g. ECDSA+SHA256:rsa_pss_rsae_sha256\n"
    "  --security-level N     OpenSSL security level 0-5 (TLS 1.0/1.1 need 0)\n"
    "Certificates (generated on the fly unless given: a CA and a leaf it signs, SAN = --sni):\n"
    "  --key-type T           rsa (2048), rsa:BITS, ec:P-256, ec:P-384, ec:P-521, ed25519, ed448\n"
    "  --cert FILE --key FILE server certificate chain and key (PEM; --key defaults to --cert)\n"
    "  --ca FILE              CAs the client trusts (default: the generated CA, or the last\n"
    "                         certificate of --cert)\n"
    "  --client-cert[=FILE]   mutual authentication: the server asks, the client sends a generated\n"
    "                         certificate (or FILE, with --client-key FILE); --client-key-type T;\n"
    "                         --client-ca FILE: what the server trusts\n"
    "  --verify               a failed verification of the server aborts the handshake (default:\n"
    "                         verified and reported, like openssl s_client)\n"
    "Handshake and records:\n"
    "  --sni NAME             server name; --alpn LIST (client offers, comma-separated);\n"
    "                         --server-alpn LIST (server prefers; default: --alpn)\n"
    "  --resume id|ticket|psk every conversation after the first resumes the previous session\n"
    "                         (id: session id, TLS <= 1.2; ticket: RFC 5077 or TLS 1.3 ticket;\n"
    "                         psk: TLS 1.3 stateful PSK)\n"
    "  --early-data DATA|@F   0-RTT data on resumed TLS 1.3 conversations (implies --resume ticket)\n"
    "  --psk HEX[:IDENTITY]   external pre-shared key (1-64 bytes; identity default umpa): TLS <= 1.2\n"
    "                         PSK suites (--ciphers PSK, DHE-PSK, ECDHE-PSK, RSA-PSK) and TLS 1.3\n"
    "                         external PSK with (EC)DHE; the report says psk external when used\n"
    "  --key-update N         TLS 1.3 KeyUpdates the client sends; --server-key-update N\n"
    "  --renegotiate N        TLS <= 1.2 renegotiations the client starts; --server-renegotiate N\n"
    "  --max-record N         largest record plaintext, 512-16384 (512/1024/2048/4096: the client\n"
    "                         also asks for max_fragment_length)\n"
    "  --send-client DATA|@F  application data from the client (default: a small HTTP GET);\n"
    "  --send-server DATA|@F  from the server (default: a small HTTP response).  DATA takes \\n \\r\n"
    "                         \\t \\\\ \\xHH escapes; @F reads file F\n"
    "  --close notify|fin|reset  the ending (default notify: close_notify both ways, then FIN)\n"
    "TCP:\n"
    "  --client ADDR[:PORT], --server ADDR[:PORT]   ([V6]:PORT; default 10.0.0.1, 10.0.0.2:443)\n"
    "  --ipv6                 fd00::1 and fd00::2\n"
    "  --mss N                MSS both ends announce;  --segment random|1|N: hostile segmentation\n"
    "  --reorder P, --dup P, --loss P   probability (0-1) per data segment;  --overlap:\n"
    "                         retransmissions overlap the original segments\n"
    "  --seed N               TCP randomness (ISNs, ports, IP ids); TLS bytes differ on every run\n"
    "  --rtt S                round-trip time in seconds (default 0.02);  --time T: first packet\n"
    "Exit status: 0 every handshake succeeded, 1 a handshake failed (written and reported) or I/O\n"
    "error, 2 bad command line (including what OpenSSL refuses before running).\n";

enum {
	O_PCAPNG = 256,
	O_PCAP,
	O_KEYLOG,
	O_INTERLEAVE,
	O_JSON,
	O_LABEL,
	O_SWEEP,
	O_VERSION,
	O_MINV,
	O_MAXV,
	O_CVER,
	O_SVER,
	O_CIPHERS,
	O_CCIPHERS,
	O_SCIPHERS,
	O_SUITES,
	O_CSUITES,
	O_SSUITES,
	O_GROUPS,
	O_CGROUPS,
	O_SGROUPS,
	O_SIGALGS,
	O_CSIGALGS,
	O_SSIGALGS,
	O_SECLEVEL,
	O_KEYTYPE,
	O_CERT,
	O_KEY,
	O_CA,
	O_CCERT,
	O_CKEY,
	O_CKEYTYPE,
	O_CCA,
	O_VERIFY,
	O_SNI,
	O_ALPN,
	O_SALPN,
	O_RESUME,
	O_EARLY,
	O_KU,
	O_SKU,
	O_RENEG,
	O_SRENEG,
	O_MAXREC,
	O_PSK,
	O_SENDC,
	O_SENDS,
	O_CLOSE,
	O_CLIENT,
	O_SERVER,
	O_IPV6,
	O_MSS,
	O_SEGMENT,
	O_REORDER,
	O_DUP,
	O_LOSS,
	O_OVERLAP,
	O_SEED,
	O_RTT,
	O_TIME,
};

static const struct option tls_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"count", required_argument, NULL, 'n'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"pcapng", no_argument, NULL, O_PCAPNG},
    {"pcap", no_argument, NULL, O_PCAP},
    {"keylog", required_argument, NULL, O_KEYLOG},
    {"interleave", no_argument, NULL, O_INTERLEAVE},
    {"json", no_argument, NULL, O_JSON},
    {"label", required_argument, NULL, O_LABEL},
    {"sweep", no_argument, NULL, O_SWEEP},
    {"version", required_argument, NULL, O_VERSION},
    {"min-version", required_argument, NULL, O_MINV},
    {"max-version", required_argument, NULL, O_MAXV},
    {"client-version", required_argument, NULL, O_CVER},
    {"server-version", required_argument, NULL, O_SVER},
    {"ciphers", required_argument, NULL, O_CIPHERS},
    {"client-ciphers", required_argument, NULL, O_CCIPHERS},
    {"server-ciphers", required_argument, NULL, O_SCIPHERS},
    {"ciphersuites", required_argument, NULL, O_SUITES},
    {"client-ciphersuites", required_argument, NULL, O_CSUITES},
    {"server-ciphersuites", required_argument, NULL, O_SSUITES},
    {"groups", required_argument, NULL, O_GROUPS},
    {"client-groups", required_argument, NULL, O_CGROUPS},
    {"server-groups", required_argument, NULL, O_SGROUPS},
    {"sigalgs", required_argument, NULL, O_SIGALGS},
    {"client-sigalgs", required_argument, NULL, O_CSIGALGS},
    {"server-sigalgs", required_argument, NULL, O_SSIGALGS},
    {"security-level", required_argument, NULL, O_SECLEVEL},
    {"key-type", required_argument, NULL, O_KEYTYPE},
    {"cert", required_argument, NULL, O_CERT},
    {"key", required_argument, NULL, O_KEY},
    {"ca", required_argument, NULL, O_CA},
    {"client-cert", optional_argument, NULL, O_CCERT},
    {"client-key", required_argument, NULL, O_CKEY},
    {"client-key-type", required_argument, NULL, O_CKEYTYPE},
    {"client-ca", required_argument, NULL, O_CCA},
    {"verify", no_argument, NULL, O_VERIFY},
    {"sni", required_argument, NULL, O_SNI},
    {"alpn", required_argument, NULL, O_ALPN},
    {"server-alpn", required_argument, NULL, O_SALPN},
    {"resume", required_argument, NULL, O_RESUME},
    {"early-data", required_argument, NULL, O_EARLY},
    {"key-update", required_argument, NULL, O_KU},
    {"server-key-update", required_argument, NULL, O_SKU},
    {"renegotiate", required_argument, NULL, O_RENEG},
    {"server-renegotiate", required_argument, NULL, O_SRENEG},
    {"max-record", required_argument, NULL, O_MAXREC},
    {"psk", required_argument, NULL, O_PSK},
    {"send-client", required_argument, NULL, O_SENDC},
    {"send-server", required_argument, NULL, O_SENDS},
    {"close", required_argument, NULL, O_CLOSE},
    {"client", required_argument, NULL, O_CLIENT},
    {"server", required_argument, NULL, O_SERVER},
    {"ipv6", no_argument, NULL, O_IPV6},
    {"mss", required_argument, NULL, O_MSS},
    {"segment", required_argument, NULL, O_SEGMENT},
    {"reorder", required_argument, NULL, O_REORDER},
    {"dup", required_argument, NULL, O_DUP},
    {"loss", required_argument, NULL, O_LOSS},
    {"overlap", no_argument, NULL, O_OVERLAP},
    {"seed", required_argument, NULL, O_SEED},
    {"rtt", required_argument, NULL, O_RTT},
    {"time", required_argument, NULL, O_TIME},
    {NULL, 0, NULL, 0},
};

/* ---- option values ---- */

/* Buffers the options point into, freed at the end. */
struct bufs_ {
	void *p[16];
	int n;
};

static void *keep_(struct bufs_ *b, void *p)
{
	if (p && b->n < (int)(sizeof(b->p) / sizeof(b->p[0])))
		b->p[b->n++] = p;
	return p;
}

/* DATA with \n \r \t \\ \0 \xHH escapes, or @FILE's bytes.  Returns 0, or -1 after printing why. */
static int data_arg_(const char *opt, const char *arg, struct bufs_ *b, const void **data, size_t *len)
{
	uint8_t *out;
	size_t n = 0;

	if (arg[0] == '@') {
		FILE *f = fopen(arg + 1, "rb");
		size_t cap = 65536, r;
		if (!f) {
			tool_err("%s: %s: %s", opt, arg + 1, strerror(errno));
			return -1;
		}
		out = malloc(cap);
		while (out && (r = fread(out + n, 1, cap - n, f)) > 0) {
			n += r;
			if (n == cap) {
				uint8_t *np = cap < ((size_t)1 << 30) ? realloc(out, cap * 2) : NULL;
				if (!np) {
					free(out);
					out = NULL;
					break;
				}
				out = np;
				cap *= 2;
			}
		}
		if (!out || ferror(f)) {
			tool_err("%s: %s: %s", opt, arg + 1, out ? strerror(errno) : "too large");
			fclose(f);
			free(out);
			return -1;
		}
		fclose(f);
		*data = keep_(b, out);
		*len = n;
		return 0;
	}
	out = malloc(strlen(arg) + 1);
	if (!out) {
		tool_err("%s: out of memory", opt);
		return -1;
	}
	for (const char *p = arg; *p; p++) {
		if (*p != '\\' || !p[1]) {
			out[n++] = (uint8_t)*p;
			continue;
		}
		switch (*++p) {
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case '0':
			out[n++] = 0;
			break;
		case 'x': {
			unsigned v;
			if (sscanf(p + 1, "%2x", &v) != 1 || !((p[1] >= '0' && p[1] <= '9') || (p[1] | 32) >= 'a')) {
				tool_err("%s: bad escape '\\x%.2s'", opt, p + 1);
				free(out);
				return -1;
			}
			out[n++] = (uint8_t)v;
			p += (p[2] && ((p[2] >= '0' && p[2] <= '9') || ((p[2] | 32) >= 'a' && (p[2] | 32) <= 'f'))) ? 2
														    : 1;
			break;
		}
		default:
			out[n++] = (uint8_t)*p;
			break;
		}
	}
	*data = keep_(b, out);
	*len = n;
	return 0;
}

/* "[MIN:]MAX" (or "MIN:", ":MAX") into one side's versions. */
static void version_arg_(const char *arg, struct bufs_ *b, struct umpa_tls_side *sd)
{
	const char *colon = strchr(arg, ':');

	if (!colon) {
		sd->min_version = sd->max_version = arg;
		return;
	}
	{
		char *lo = keep_(b, strndup(arg, (size_t)(colon - arg)));
		sd->min_version = lo && *lo ? lo : NULL;
		sd->max_version = colon[1] ? colon + 1 : NULL;
	}
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT", ":PORT", "V6" into side @p s of @p t.  Returns 1 if IPv6, 0 if IPv4, -1 bad. */
static int endpoint_arg_(const char *opt, const char *arg, struct umpa_tcps_opts *t, int s)
{
	char host[64] = "";
	const char *port = NULL;
	int v6 = -1;

	if (arg[0] == '[') {
		const char *e = strchr(arg, ']');
		if (!e || (size_t)(e - arg - 1) >= sizeof(host) || (e[1] && e[1] != ':'))
			goto bad;
		memcpy(host, arg + 1, (size_t)(e - arg - 1));
		port = e[1] ? e + 2 : NULL;
	} else if (strchr(arg, ':') && strchr(arg, ':') != strrchr(arg, ':')) {
		snprintf(host, sizeof(host), "%s", arg); /* bare IPv6 address */
	} else {
		const char *c = strchr(arg, ':');
		size_t hl = c ? (size_t)(c - arg) : strlen(arg);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, arg, hl);
		host[hl] = 0;
		port = c ? c + 1 : NULL;
	}
	if (host[0]) {
		if (inet_pton(AF_INET, host, t->addr[s]) == 1)
			v6 = 0;
		else if (inet_pton(AF_INET6, host, t->addr[s]) == 1)
			v6 = 1;
		else
			goto bad;
	}
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535)
			goto bad;
		t->port[s] = (uint16_t)p;
	}
	return v6;
bad:
	tool_err("%s: '%s' is not ADDR, ADDR:PORT, [IPV6]:PORT or :PORT", opt, arg);
	exit(UMPA_EXIT_USAGE);
}

/* The bounds tls{} gives these (templates/lua_tls.c), on the command line too. */
static const struct umpa_num_spec tls_key_updates = {"key updates", 0, 1000, UMPA_NUM_INT};
static const struct umpa_num_spec tls_renegotiations = {"renegotiations", 0, 100, UMPA_NUM_INT};

static double prob_arg_(const char *opt, const char *arg)
{
	return tool_real(UMPA_NUM_RANGE("a probability", 0, 1, 0), opt, arg);
}

/* ---- packets out ---- */

/* A packet held until its conversation's keys are known. */
struct held_ {
	size_t off, coff; /* bytes and comment (coff == SIZE_MAX: none) in the arena */
	uint32_t len;
	int64_t sec;
	uint32_t nsec;
	size_t seq; /* arrival order: the tie-break of the time sort */
};

struct out_ {
	struct umpa_capw *w;
	int pcapng, buffer;
	uint8_t *arena;
	size_t alen, acap;
	struct held_ *h;
	size_t nh, hcap;
	uint64_t packets;
};

static int arena_add_(struct out_ *o, const void *p, size_t n, size_t *off)
{
	if (o->alen + n > o->acap) {
		size_t cap = o->acap ? o->acap : 1 << 20;
		uint8_t *np;
		while (cap < o->alen + n)
			cap *= 2;
		np = realloc(o->arena, cap);
		if (!np)
			return -1;
		o->arena = np;
		o->acap = cap;
	}
	memcpy(o->arena + o->alen, p, n);
	*off = o->alen;
	o->alen += n;
	return 0;
}

static int emit_(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct out_ *o = arg;
	struct held_ *h;

	o->packets++;
	if (!o->buffer)
		return umpa_capw_write(o->w, p, e);
	if (o->nh == o->hcap) {
		size_t cap = o->hcap ? o->hcap * 2 : 1024;
		struct held_ *nh = realloc(o->h, cap * sizeof(*nh));
		if (!nh)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory holding packets");
		o->h = nh;
		o->hcap = cap;
	}
	h = &o->h[o->nh];
	h->len = p->len;
	h->sec = p->ts_sec;
	h->nsec = p->ts_nsec;
	h->seq = o->nh;
	h->coff = SIZE_MAX;
	if (arena_add_(o, p->data, p->len, &h->off) < 0 ||
	    (comment && arena_add_(o, comment, strlen(comment) + 1, &h->coff) < 0))
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory holding packets");
	o->nh++;
	return 0;
}

static int held_cmp_(const void *a, const void *b)
{
	const struct held_ *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->nsec != y->nsec)
		return x->nsec < y->nsec ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Write what is held: a secrets block with @p keys first (pcapng), then the packets (time-sorted if @p sort). */
static int flush_(struct out_ *o, const char *keys, size_t klen, int sort, struct umpa_err *e)
{
	struct umpa_pkt p;

	if (o->pcapng && klen && umpa_capw_secrets(o->w, UMPA_SECRETS_TLS_KEYLOG, keys, (uint32_t)klen, e) < 0)
		return -e->code;
	if (sort)
		qsort(o->h, o->nh, sizeof(*o->h), held_cmp_);
	umpa_pkt_init(&p);
	for (size_t i = 0; i < o->nh; i++) {
		const struct held_ *h = &o->h[i];
		umpa_pkt_attach(&p, o->arena + h->off, h->len, h->len, UMPA_LINKTYPE_ETHERNET);
		p.ts_sec = h->sec;
		p.ts_nsec = h->nsec;
		p.comment = h->coff == SIZE_MAX ? NULL : (const char *)o->arena + h->coff;
		if (umpa_capw_write(o->w, &p, e) < 0)
			return -e->code;
	}
	o->nh = 0;
	o->alen = 0;
	return 0;
}

/* ---- reports ---- */

struct rep_ {
	FILE *f;
	int json, quiet, verbose, count, nout;
	char *buf;
	size_t cap;
};

/* --psk HEX[:IDENTITY] into @p key (64 bytes) and @p o. Returns 0, or -1 after a message. */
static int psk_arg_(const char *arg, unsigned char *key, struct umpa_tls_opts *o)
{
	const char *colon = strchr(arg, ':');
	size_t hl = colon ? (size_t)(colon - arg) : strlen(arg), n = 0;

	if (hl == 0 || hl % 2 || hl / 2 > 64) {
		tool_err("--psk: want 2 to 128 hex digits (1 to 64 bytes)[:IDENTITY], got '%s'", arg);
		return -1;
	}
	for (size_t i = 0; i < hl; i += 2) {
		unsigned v = 0;
		for (size_t j = 0; j < 2; j++) {
			char ch = arg[i + j];
			int d = ch >= '0' && ch <= '9'   ? ch - '0'
				: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
				: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
							 : -1;
			if (d < 0) {
				tool_err("--psk: '%c' is not a hex digit", ch);
				return -1;
			}
			v = v * 16 + (unsigned)d;
		}
		key[n++] = (unsigned char)v;
	}
	o->psk = key;
	o->psk_len = n;
	if (colon) {
		if (!colon[1]) {
			tool_err("--psk: empty identity after ':'");
			return -1;
		}
		o->psk_identity = colon + 1;
	}
	return 0;
}

static void report_(struct rep_ *r, int i, const struct umpa_tls_report *t)
{
	size_t need;

	if (r->quiet)
		return;
	if (!r->json && r->count > 1 && !r->verbose) {
		fprintf(r->f, "conversation %d: %s %s %s %s%s%s\n", i + 1, t->handshake_ok ? "ok" : "FAILED",
			t->version[0] ? t->version : "-", t->cipher[0] ? t->cipher : "-", t->group[0] ? t->group : "-",
			t->resumed  ? " resumed"
			: t->psk[0] ? " psk"
				    : "",
			t->early_data == 1   ? " early-data"
			: t->early_data == 0 ? " early-data-rejected"
					     : "");
		if (!t->handshake_ok) { /* errors quote files, peers and certificates: escaped */
			struct umpa_sbuf sb = {0};
			umpa_sbuf_put_safe(&sb, t->error, strlen(t->error));
			if (t->alert[0]) {
				umpa_sbuf_puts(&sb, "; alert ");
				umpa_sbuf_put_safe(&sb, t->alert, strlen(t->alert));
			}
			fprintf(r->f, "  %s\n", sb.s && !sb.oom ? sb.s : "(out of memory)");
			umpa_sbuf_free(&sb);
		}
		return;
	}
	for (;;) {
		need = r->json ? umpa_tls_report_json(t, r->buf, r->cap) : umpa_tls_report_text(t, r->buf, r->cap);
		if (need < r->cap)
			break;
		free(r->buf);
		r->cap = need + 1;
		r->buf = malloc(r->cap);
		if (!r->buf) {
			r->cap = 0;
			return;
		}
	}
	if (r->json)
		fprintf(r->f, "%s%s", r->nout ? ",\n  " : "{\"conversations\": [\n  ", r->buf);
	else
		fprintf(r->f, "%s=== conversation %d\n%s", r->nout ? "\n" : "", i + 1, r->buf);
	r->nout++;
}

/* A client port for conversation @p i: from --client, else spread from the seed over 32768-60999. */
static uint16_t client_port_(uint16_t given, uint64_t seed, int i)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	if (given)
		return (uint16_t)(1024 + ((unsigned)given - 1024 + (unsigned)i) % (65536 - 1024));
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint16_t)(32768 + (z + (uint64_t)i) % 28232);
}

/* Open the key log file: created or truncated, mode 0600 whatever it was before. */
static FILE *keylog_open_(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0 || fchmod(fd, 0600) < 0) {
		tool_err("--keylog: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		tool_err("--keylog: %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/* Run the conversations.  Returns the exit code. */
static int run_(struct umpa_tls *t, const struct umpa_tls_opts *o, int count, int interleave, struct out_ *out,
		FILE *kf, struct rep_ *rep, int *nfailed)
{
	struct umpa_err e = {0};
	struct umpa_tls_conv **cv = calloc((size_t)count, sizeof(*cv));
	struct umpa_tcps_opts tcp = o->tcp;
	int64_t next_ns = tcp.start_sec * 1000000000LL + tcp.start_nsec;
	int resume = o->resume != UMPA_TLS_RESUME_NONE, rc = UMPA_EXIT_OK, first_par;
	const char *kl;
	size_t klen;

	if (!cv) {
		tool_err("out of memory");
		return UMPA_EXIT_ERROR;
	}
	/* With --resume and --interleave the first conversation runs alone: the others resume it. */
	first_par = interleave ? (resume ? 1 : 0) : count;
	for (int i = 0; i < count; i++) {
		int r;
		tcp.seed = o->tcp.seed + (uint64_t)i;
		tcp.port[UMPA_TCPS_CLIENT] = client_port_(o->tcp.port[UMPA_TCPS_CLIENT], o->tcp.seed, i);
		tcp.start_sec = next_ns / 1000000000LL;
		tcp.start_nsec = next_ns % 1000000000LL;
		cv[i] = umpa_tls_conv_new(t, &tcp, resume && i > 0, emit_, out, &e);
		if (!cv[i]) {
			tool_err("conversation %d: %s", i + 1, e.msg);
			rc = UMPA_EXIT_ERROR;
			break;
		}
		if (i >= first_par) {
			next_ns += 1000000; /* interleaved: 1 ms apart */
			continue;
		}
		while ((r = umpa_tls_conv_step(cv[i], &e)) > 0)
			;
		if (r < 0) {
			tool_err("conversation %d: %s", i + 1, e.msg);
			rc = UMPA_EXIT_ERROR;
			break;
		}
		next_ns = umpa_tls_conv_now_ns(cv[i]) + 1000000;
		kl = umpa_tls_conv_keylog(cv[i], &klen);
		if (kf && klen && fwrite(kl, 1, klen, kf) != klen) {
			tool_err("--keylog: %s", strerror(errno));
			rc = UMPA_EXIT_ERROR;
			break;
		}
		if (out->buffer && flush_(out, kl, klen, 0, &e) < 0) {
			tool_err("%s", e.msg);
			rc = UMPA_EXIT_ERROR;
			break;
		}
		if (!umpa_tls_conv_report(cv[i])->handshake_ok)
			(*nfailed)++;
		report_(rep, i, umpa_tls_conv_report(cv[i]));
		cv[i] = umpa_tls_conv_free(cv[i]);
	}
	if (rc == UMPA_EXIT_OK && first_par < count) {
		/* interleaved: one flight of each in turn until all are done, then one sort by time */
		int live = 1;
		while (live && rc == UMPA_EXIT_OK) {
			live = 0;
			for (int i = first_par; i < count; i++) {
				int r = umpa_tls_conv_step(cv[i], &e);
				if (r < 0) {
					tool_err("conversation %d: %s", i + 1, e.msg);
					rc = UMPA_EXIT_ERROR;
					break;
				}
				live |= r;
			}
		}
		if (rc == UMPA_EXIT_OK) {
			/* one secrets block with the keys of every interleaved conversation, then the packets */
			char *all = NULL;
			size_t alen = 0;
			for (int i = first_par; i < count && rc == UMPA_EXIT_OK; i++) {
				const char *k = umpa_tls_conv_keylog(cv[i], &klen);
				char *na = realloc(all, alen + klen + 1);
				if (!na) {
					tool_err("out of memory");
					rc = UMPA_EXIT_ERROR;
					break;
				}
				all = na;
				memcpy(all + alen, k, klen);
				alen += klen;
			}
			if (rc == UMPA_EXIT_OK && kf && alen && fwrite(all, 1, alen, kf) != alen) {
				tool_err("--keylog: %s", strerror(errno));
				rc = UMPA_EXIT_ERROR;
			}
			if (rc == UMPA_EXIT_OK && flush_(out, all, alen, 1, &e) < 0) {
				tool_err("%s", e.msg);
				rc = UMPA_EXIT_ERROR;
			}
			free(all);
			for (int i = first_par; i < count && rc == UMPA_EXIT_OK; i++) {
				if (!umpa_tls_conv_report(cv[i])->handshake_ok)
					(*nfailed)++;
				report_(rep, i, umpa_tls_conv_report(cv[i]));
			}
		}
	}
	for (int i = 0; i < count; i++)
		umpa_tls_conv_free(cv[i]);
	free(cv);
	return rc;
}

int cmd_tls(int argc, char **argv)
{
	struct umpa_tls_opts o;
	unsigned char pskkey[64];
	struct umpa_tls_side *cs, *ss;
	struct bufs_ bufs = {0};
	struct umpa_err e = {0};
	struct umpa_tls *t = NULL;
	struct out_ out = {0};
	struct rep_ rep = {0};
	const char *wpath = NULL, *keylog = NULL, *ver_opt = "--version", *salpn = NULL, *time_text = NULL;
	int fmt = -1, count = 0, interleave = 0, sweep = 0, c, v6 = -1, nfailed = 0, rc;
	FILE *kf = NULL;
	static const char def_req[] = "GET / HTTP/1.1\r\nHost: umpa.test\r\nUser-Agent: umpa\r\n\r\n";
	static const char def_resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n"
				       "hello, umpa\n";

	umpa_tls_opts_init(&o);
	cs = &o.side[UMPA_TCPS_CLIENT];
	ss = &o.side[UMPA_TCPS_SERVER];
	cs->data = def_req;
	cs->data_len = sizeof(def_req) - 1;
	ss->data = def_resp;
	ss->data_len = sizeof(def_resp) - 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hw:n:qv", tls_longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(tls_usage, stdout);
			return UMPA_EXIT_OK;
		case 'w':
			wpath = optarg;
			break;
		case 'n':
			count = (int)tool_u64(UMPA_NUM_RANGE("conversations", 1, 10000000, UMPA_NUM_INT), "-n", optarg);
			break;
		case 'q':
			rep.quiet = 1;
			break;
		case 'v':
			rep.verbose = 1;
			break;
		case O_PCAPNG:
			fmt = UMPA_CAP_PCAPNG;
			break;
		case O_PCAP:
			fmt = UMPA_CAP_PCAP;
			break;
		case O_KEYLOG:
			keylog = optarg;
			break;
		case O_INTERLEAVE:
			interleave = 1;
			break;
		case O_JSON:
			rep.json = 1;
			break;
		case O_LABEL:
			o.label = optarg;
			break;
		case O_SWEEP:
			sweep = 1;
			break;
		case O_VERSION:
			version_arg_(optarg, &bufs, cs);
			version_arg_(optarg, &bufs, ss);
			ver_opt = "--version";
			break;
		case O_MINV:
			cs->min_version = ss->min_version = optarg;
			ver_opt = "--min-version/--max-version";
			break;
		case O_MAXV:
			cs->max_version = ss->max_version = optarg;
			ver_opt = "--min-version/--max-version";
			break;
		case O_CVER:
			version_arg_(optarg, &bufs, cs);
			ver_opt = "--client-version";
			break;
		case O_SVER:
			version_arg_(optarg, &bufs, ss);
			ver_opt = "--server-version";
			break;
		case O_CIPHERS:
			cs->ciphers = ss->ciphers = optarg;
			break;
		case O_CCIPHERS:
			cs->ciphers = optarg;
			break;
		case O_SCIPHERS:
			ss->ciphers = optarg;
			break;
		case O_SUITES:
			cs->ciphersuites = ss->ciphersuites = optarg;
			break;
		case O_CSUITES:
			cs->ciphersuites = optarg;
			break;
		case O_SSUITES:
			ss->ciphersuites = optarg;
			break;
		case O_GROUPS:
			cs->groups = ss->groups = optarg;
			break;
		case O_CGROUPS:
			cs->groups = optarg;
			break;
		case O_SGROUPS:
			ss->groups = optarg;
			break;
		case O_SIGALGS:
			cs->sigalgs = ss->sigalgs = optarg;
			break;
		case O_CSIGALGS:
			cs->sigalgs = optarg;
			break;
		case O_SSIGALGS:
			ss->sigalgs = optarg;
			break;
		case O_SECLEVEL: {
			cs->security_level = ss->security_level =
			    (int)tool_u64(UMPA_NUM_RANGE("a level", 0, 5, UMPA_NUM_INT), "--security-level", optarg);
			break;
		}
		case O_KEYTYPE:
			ss->key_type = optarg;
			break;
		case O_CERT:
			ss->cert_file = optarg;
			break;
		case O_KEY:
			ss->key_file = optarg;
			break;
		case O_CA:
			cs->ca_file = optarg;
			break;
		case O_CCERT:
			o.client_cert = 1;
			cs->cert_file = optarg;
			break;
		case O_CKEY:
			cs->key_file = optarg;
			break;
		case O_CKEYTYPE:
			cs->key_type = optarg;
			break;
		case O_CCA:
			ss->ca_file = optarg;
			break;
		case O_VERIFY:
			o.verify = 1;
			break;
		case O_SNI:
			o.sni = optarg;
			break;
		case O_ALPN:
			cs->alpn = optarg;
			break;
		case O_SALPN:
			salpn = optarg;
			break;
		case O_RESUME:
			if (!strcmp(optarg, "id"))
				o.resume = UMPA_TLS_RESUME_ID;
			else if (!strcmp(optarg, "ticket"))
				o.resume = UMPA_TLS_RESUME_TICKET;
			else if (!strcmp(optarg, "psk"))
				o.resume = UMPA_TLS_RESUME_PSK;
			else if (!strcmp(optarg, "none"))
				o.resume = UMPA_TLS_RESUME_NONE;
			else {
				tool_err("--resume: '%s' is not id, ticket, psk or none", optarg);
				goto usage_fail;
			}
			break;
		case O_PSK:
			if (psk_arg_(optarg, pskkey, &o) < 0)
				goto usage_fail;
			break;
		case O_EARLY:
			if (data_arg_("--early-data", optarg, &bufs, &o.early_data, &o.early_len) < 0)
				goto usage_fail;
			break;
		case O_KU:
			cs->key_updates = (int)tool_u64(&tls_key_updates, "--key-update", optarg);
			break;
		case O_SKU:
			ss->key_updates = (int)tool_u64(&tls_key_updates, "--server-key-update", optarg);
			break;
		case O_RENEG:
			cs->renegotiations = (int)tool_u64(&tls_renegotiations, "--renegotiate", optarg);
			break;
		case O_SRENEG:
			ss->renegotiations = (int)tool_u64(&tls_renegotiations, "--server-renegotiate", optarg);
			break;
		case O_MAXREC:
			cs->max_record = ss->max_record = (size_t)tool_u64(
			    UMPA_NUM_RANGE("bytes", 512, 16384, UMPA_NUM_INT | UMPA_NUM_OFF), "--max-record", optarg);
			break;
		case O_SENDC:
			if (data_arg_("--send-client", optarg, &bufs, &cs->data, &cs->data_len) < 0)
				goto usage_fail;
			break;
		case O_SENDS:
			if (data_arg_("--send-server", optarg, &bufs, &ss->data, &ss->data_len) < 0)
				goto usage_fail;
			break;
		case O_CLOSE:
			if (!strcmp(optarg, "notify"))
				o.close = UMPA_TLS_CLOSE_NOTIFY;
			else if (!strcmp(optarg, "fin"))
				o.close = UMPA_TLS_CLOSE_FIN;
			else if (!strcmp(optarg, "reset") || !strcmp(optarg, "rst"))
				o.close = UMPA_TLS_CLOSE_ABORT;
			else {
				tool_err("--close: '%s' is not notify, fin or reset", optarg);
				goto usage_fail;
			}
			break;
		case O_CLIENT:
		case O_SERVER: {
			int r = endpoint_arg_(c == O_CLIENT ? "--client" : "--server", optarg, &o.tcp,
					      c == O_CLIENT ? UMPA_TCPS_CLIENT : UMPA_TCPS_SERVER);
			if (r >= 0) {
				if (v6 >= 0 && r != v6) {
					tool_err("%s: '%s': --client and --server must both be IPv4 or both IPv6",
						 c == O_CLIENT ? "--client" : "--server", optarg);
					goto usage_fail;
				}
				v6 = r;
			}
			break;
		}
		case O_IPV6:
			o.tcp.ipv6 = 1;
			break;
		case O_MSS: {
			o.tcp.mss[0] = o.tcp.mss[1] =
			    (uint16_t)tool_u64(UMPA_NUM_RANGE("bytes", 64, 65535, UMPA_NUM_INT), "--mss", optarg);
			break;
		}
		case O_SEGMENT:
			if (!strcmp(optarg, "random")) {
				o.tcp.seg_random = 1;
			} else {
				o.tcp.seg_max = (uint32_t)tool_u64(
				    UMPA_NUM_RANGE("bytes (or random)", 1, 65535, UMPA_NUM_INT), "--segment", optarg);
			}
			break;
		case O_REORDER:
			o.tcp.reorder = prob_arg_("--reorder", optarg);
			break;
		case O_DUP:
			o.tcp.dup = prob_arg_("--dup", optarg);
			break;
		case O_LOSS:
			o.tcp.loss = prob_arg_("--loss", optarg);
			break;
		case O_OVERLAP:
			o.tcp.overlap = 1;
			break;
		case O_SEED:
			o.tcp.seed = tool_u64(&umpa_num_seed, "--seed", optarg);
			break;
		case O_RTT: {
			int64_t ns = tool_ns(UMPA_NUM_RANGE("seconds", 0, 60, 0), "--rtt", optarg);
			o.tcp.rtt_us = (uint32_t)((ns + 500) / 1000);
			break;
		}
		case O_TIME:
			time_text = optarg; /* its range depends on the format */
			break;
		default:
			fputs(tls_usage, stderr);
			goto usage_fail;
		}
	}
	if (optind < argc) {
		tool_err("tls: unexpected argument '%s' (options only; see --help)", argv[optind]);
		goto usage_fail;
	}
	if (!wpath) {
		tool_err("tls: -w FILE is required (see --help)");
		goto usage_fail;
	}
	if (v6 == 1)
		o.tcp.ipv6 = 1;
	else if (v6 == 0 && o.tcp.ipv6) {
		tool_err("--ipv6: --client/--server gave IPv4 addresses");
		goto usage_fail;
	}
	ss->alpn = salpn ? salpn : cs->alpn;
	if (o.tcp.loss > 0 && o.tcp.loss >= 1) {
		tool_err("--loss: 1 would lose every segment forever");
		goto usage_fail;
	}
	if (fmt < 0) {
		size_t l = strlen(wpath);
		fmt = l >= 7 && !strcmp(wpath + l - 7, ".pcapng") ? UMPA_CAP_PCAPNG : UMPA_CAP_PCAP;
	}
	if (time_text) { /* pcap holds 32-bit seconds; the conversations count int64 nanoseconds */
		int64_t sec;
		uint32_t nsec;
		struct umpa_err te = {0};
		if (umpa_num_time(fmt == UMPA_CAP_PCAPNG ? &umpa_num_epoch : &umpa_num_epoch_pcap, "--time", time_text,
				  &sec, &nsec, &te) < 0) {
			tool_err("%s", te.msg);
			goto usage_fail;
		}
		o.tcp.start_sec = sec;
		o.tcp.start_nsec = nsec;
	}
	if (!strcmp(wpath, "-") || (rep.json && !strcmp(wpath, "/dev/stdout")))
		rep.f = stderr;
	else
		rep.f = stdout;
	if (sweep) {
		rc = tls_sweep(&o, wpath, fmt == UMPA_CAP_PCAPNG, keylog, rep.json);
		goto done;
	}
	if (o.early_len && o.resume == UMPA_TLS_RESUME_NONE)
		o.resume = UMPA_TLS_RESUME_TICKET;
	if (!count)
		count = o.resume != UMPA_TLS_RESUME_NONE ? 2 : 1;
	rep.count = count;
	t = umpa_tls_new(&o, &e);
	if (!t) {
		if (!strncmp(e.msg, "--version:", 10) && strcmp(ver_opt, "--version"))
			tool_err("%s:%s", ver_opt, e.msg + 10); /* the option the user typed */
		else
			tool_err("%s", e.msg);
		rc = e.code == UMPA_ENOMEM ? UMPA_EXIT_ERROR : UMPA_EXIT_USAGE;
		goto done;
	}
	if (keylog && !(kf = keylog_open_(keylog))) {
		rc = UMPA_EXIT_ERROR;
		goto done;
	}
	out.w = umpa_capw_open(wpath, (enum umpa_capfmt)fmt, UMPA_LINKTYPE_ETHERNET, &e);
	if (!out.w) {
		tool_err("-w: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
		goto done;
	}
	out.pcapng = fmt == UMPA_CAP_PCAPNG;
	out.buffer = out.pcapng || interleave; /* keys before packets, or a merge by time */
	rc = run_(t, &o, count, interleave, &out, kf, &rep, &nfailed);
	if (umpa_capw_close(out.w, &e) < 0 && rc == UMPA_EXIT_OK) {
		tool_err("-w: %s", e.msg);
		rc = UMPA_EXIT_ERROR;
	}
	if (kf && fclose(kf) != 0 && rc == UMPA_EXIT_OK) {
		tool_err("--keylog: %s: %s", keylog, strerror(errno));
		rc = UMPA_EXIT_ERROR;
	}
	kf = NULL;
	if (!rep.quiet) {
		if (rep.json)
			fprintf(rep.f, "%s],\n \"ok\": %d, \"failed\": %d, \"packets\": %llu}\n",
				rep.nout ? "\n" : "{\"conversations\": [", count - nfailed, nfailed,
				(unsigned long long)out.packets);
		else
			fprintf(rep.f, "%stls: %d conversation%s, %d ok, %d failed, %llu packets -> %s\n",
				rep.nout ? "\n" : "", count, count == 1 ? "" : "s", count - nfailed, nfailed,
				(unsigned long long)out.packets, wpath);
	}
	if (rc == UMPA_EXIT_OK && nfailed)
		rc = UMPA_EXIT_ERROR;
done:
	if (kf)
		fclose(kf);
	umpa_tls_free(t);
	free(out.arena);
	free(out.h);
	free(rep.buf);
	for (int i = 0; i < bufs.n; i++)
		free(bufs.p[i]);
	return rc;
usage_fail:
	for (int i = 0; i < bufs.n; i++)
		free(bufs.p[i]);
	return UMPA_EXIT_USAGE;
}
