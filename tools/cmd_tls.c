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
 * Options: the TLS ones come from the library's option table
 * (sched/umpa_tls_opts.h): their long options (and -n), their --help lines
 * and their parsing are generated from it, as tls{} in Lua reads its keys
 * from it; this file adds only the output options (-w, --pcapng, --keylog,
 * --interleave, --json, -q, -v, --sweep) and DATA's "@FILE".  Options for
 * both sides apply before the --client-X / --server-X forms, whatever the
 * order.  An error about an option prints as "umpa tls: --OPTION: why",
 * naming the option the user typed (umpa_tls_opt_from_msg).
 *
 * Exit status: 0 when every handshake succeeded, 1 when one failed (it is
 * still written and reported) or on an I/O error, 2 for a bad command line,
 * including values out of their range and values OpenSSL refuses before
 * anything runs (unknown cipher, versions that cannot meet, unreadable
 * certificate or key).
 */
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
#include "umpa_sbuf.h"
#include "umpa_tls.h"
#include "umpa_tls_connect.h"
#include "umpa_tls_opts.h"
#include "umpa_tool.h"
#include "umpa_wiretap.h"

/* The text before and after the options of the table. */
static const char tls_usage_head[] =
    "usage: umpa tls [OPTIONS] -w FILE\n"
    "       umpa tls --sweep [OPTIONS] -w FILE   (every version x cipher suite OpenSSL negotiates)\n"
    "       umpa tls --connect HOST:PORT [OPTIONS] [-w FILE.pcapng]   (a live server)\n"
    "\n"
    "Whole TLS conversations (an OpenSSL client and server in this process, no network) written as\n"
    "TCP/IP packets, with a report of what was negotiated.\n"
    "Output:\n"
    "  -w FILE                capture file ('-': standard output; the report then goes to stderr)\n"
    "  --pcapng | --pcap      format (default: pcapng if FILE ends in .pcapng, else pcap); pcapng carries\n"
    "                         the keys in a Decryption Secrets Block and TLS message names as comments\n"
    "  --keylog FILE          also write the keys in SSLKEYLOGFILE format (mode 0600)\n"
    "  --interleave           run the conversations at once, packets merged in time order\n"
    "  --json                 the report as JSON;  -q, --quiet: no report;  -v: full report for each\n"
    "Live server (--connect): a real handshake with HOST:PORT, the client options below apply; the\n"
    "server is verified (system CAs unless --ca) and the chain, result and negotiation reported:\n"
    "  --connect HOST:PORT    connect there ([v6]:PORT); --send-client DATA is sent after the handshake\n"
    "                         and the answer read until the server closes or is quiet for 0.5 s\n"
    "  --reconnect            a second connection offering the first one's session (resumption)\n"
    "  --timeout S            connect, handshake and exchange time limit (default 10)\n"
    "  -w FILE                the conversation as TCP packets in a pcapng with its keys (DSB)\n";

static const char tls_usage_tail[] =
    "DATA takes \\n \\r \\t \\\\ \\0 \\xHH escapes; @F reads file F.  A --client-X / --server-X option\n"
    "wins over the option for both sides, whatever the order.  Numbers out of their range are refused.\n"
    "Exit status: 0 every handshake succeeded, 1 a handshake failed (written and reported) or I/O\n"
    "error, 2 bad command line (including what OpenSSL refuses before running).\n";

static const char *const tls_groups[UMPA_TLS_OG_COUNT] = {
    [UMPA_TLS_OG_RUN] = "Conversations:",
    [UMPA_TLS_OG_ALGO] = "Versions and algorithms:",
    [UMPA_TLS_OG_CERT] = "Certificates (generated on the fly unless given: a CA and a leaf it signs, SAN = --sni):",
    [UMPA_TLS_OG_HANDSHAKE] = "Handshake and records:",
    [UMPA_TLS_OG_TCP] = "TCP:",
};

/* --help: the fixed part, then every option of the table by section, help wrapped at 100 columns. */
static void usage_(FILE *f)
{
	fputs(tls_usage_head, f);
	for (int g = 0; g < UMPA_TLS_OG_COUNT; g++) {
		fprintf(f, "%s\n", tls_groups[g]);
		for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; d->key; d++) {
			char left[64];
			const char *h = d->help;
			int n, col;
			if ((int)d->group != g || !d->cli)
				continue;
			if (d->cli_short)
				n = snprintf(left, sizeof(left), "-%c, --%s", d->cli_short, d->cli);
			else
				n = snprintf(left, sizeof(left), "--%s", d->cli);
			if (d->arg && (size_t)n < sizeof(left))
				n += snprintf(left + n, sizeof(left) - (size_t)n, "%s%s%s",
					      strncmp(d->arg, "[=", 2) ? " " : "", d->arg,
					      d->type == UMPA_TLS_OT_DATA ? "|@F" : "");
			if (n > 22)
				fprintf(f, "  %s\n%25s", left, "");
			else
				fprintf(f, "  %-22s ", left);
			col = 25;
			while (*h) {
				size_t w = strcspn(h, " ");
				if (col > 25 && col + 1 + (int)w > 100) {
					fprintf(f, "\n%25s", "");
					col = 25;
				} else if (col > 25) {
					fputc(' ', f);
					col++;
				}
				fprintf(f, "%.*s", (int)w, h);
				col += (int)w;
				h += w;
				while (*h == ' ')
					h++;
			}
			fputc('\n', f);
		}
	}
	fputs(tls_usage_tail, f);
}

/* Options of the command itself; the table's come after them (O_TABLE + entry index). */
enum {
	O_PCAPNG = 256,
	O_PCAP,
	O_KEYLOG,
	O_INTERLEAVE,
	O_JSON,
	O_SWEEP,
	O_CONNECT,
	O_RECONNECT,
	O_TIMEOUT,
	O_TABLE = 512,
};

static const struct option tls_own_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"pcapng", no_argument, NULL, O_PCAPNG},
    {"pcap", no_argument, NULL, O_PCAP},
    {"keylog", required_argument, NULL, O_KEYLOG},
    {"interleave", no_argument, NULL, O_INTERLEAVE},
    {"json", no_argument, NULL, O_JSON},
    {"sweep", no_argument, NULL, O_SWEEP},
    {"connect", required_argument, NULL, O_CONNECT},
    {"reconnect", no_argument, NULL, O_RECONNECT},
    {"timeout", required_argument, NULL, O_TIMEOUT},
};

#define N_OWN_ (sizeof(tls_own_longopts) / sizeof(tls_own_longopts[0]))

/* getopt's tables: the command's own options, then one per table entry.  @p shortopts has room for 64. */
static void build_opts_(struct option *lo, char *shortopts)
{
	size_t n = N_OWN_, k;

	memcpy(lo, tls_own_longopts, sizeof(tls_own_longopts));
	k = (size_t)sprintf(shortopts, "hw:qv");
	for (const struct umpa_tls_optdef *d = umpa_tls_optdefs; d->key; d++) {
		int has = d->type != UMPA_TLS_OT_BOOL        ? required_argument
			  : (d->flags & UMPA_TLS_OPT_OPTARG) ? optional_argument
							     : no_argument;
		if (!d->cli)
			continue;
		lo[n].name = d->cli;
		lo[n].has_arg = has;
		lo[n].flag = NULL;
		lo[n].val = O_TABLE + (int)(d - umpa_tls_optdefs);
		n++;
		if (d->cli_short && k + 3 < 64) {
			shortopts[k++] = d->cli_short;
			if (has == required_argument)
				shortopts[k++] = ':';
			shortopts[k] = 0;
		}
	}
	memset(&lo[n], 0, sizeof(lo[n]));
}

/* Print an error of the option table or the pump as "umpa tls: --OPTION: why" (the option the user typed). */
static void opt_err_(const struct umpa_tls_conf *c, const struct umpa_err *e)
{
	const char *rest = NULL;
	const struct umpa_tls_optdef *d = umpa_tls_opt_from_msg(e->msg, c, &rest);

	fflush(stdout);
	if (d && d->cli)
		fprintf(stderr, "umpa tls: --%s: %s\n", d->cli, rest);
	else
		fprintf(stderr, "umpa tls: %s\n", strncmp(e->msg, "tls: ", 5) ? e->msg : e->msg + 5);
}

/* Files read for DATA options (@F), freed at the end. */
struct bufs_ {
	char *p[8];
	int n;
};

/*
 * Apply option @p d with value @p arg (NULL: a flag) to @p c.  DATA values
 * take escapes, or @FILE's bytes.  Returns 0, or -1 after printing why.
 */
static int apply_(const struct umpa_tls_optdef *d, const char *arg, struct umpa_tls_conf *c, struct bufs_ *b)
{
	struct umpa_err e = {0};
	int rc;

	if (!arg)
		rc = umpa_tls_opt_set_bool(d, c, 1, &e);
	else if (d->type == UMPA_TLS_OT_DATA && arg[0] == '@') {
		size_t len = 0;
		char *buf = b->n < (int)(sizeof(b->p) / sizeof(b->p[0])) ? tool_read_file(arg + 1, &len, &e) : NULL;
		if (!buf) {
			fflush(stdout);
			fprintf(stderr, "umpa tls: --%s: %s\n", d->cli, e.msg[0] ? e.msg : "too many files");
			return -1;
		}
		b->p[b->n++] = buf;
		rc = umpa_tls_opt_set(d, c, buf, len, UMPA_TLS_SET_BORROW, &e);
	} else
		rc = umpa_tls_opt_set(d, c, arg, strlen(arg), UMPA_TLS_SET_BORROW | UMPA_TLS_SET_ESCAPES, &e);
	if (rc < 0) {
		opt_err_(c, &e);
		return -1;
	}
	return 0;
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

/* --connect: the keys to the --keylog file. */
static void connect_keylog_(void *arg, const char *line)
{
	FILE *f = arg;
	if (f)
		fprintf(f, "%s\n", line);
}

/* `umpa tls --connect`: a live server.  Returns the exit status. */
static int connect_(const struct umpa_tls_conf *conf, struct umpa_tls_connect_opts *co, const char *wpath,
		    const char *keylog, struct rep_ *rep)
{
	struct umpa_tls_report r[2];
	struct umpa_err e = {0};
	FILE *kf = NULL;
	int n, rc = UMPA_EXIT_OK;

	if (keylog && !(kf = keylog_open_(keylog)))
		return UMPA_EXIT_ERROR;
	if (wpath && !(co->cap = umpa_wtap_open(wpath, &e))) {
		tool_err("-w: %s", e.msg);
		if (kf)
			fclose(kf);
		return UMPA_EXIT_ERROR;
	}
	co->keylog = connect_keylog_;
	co->arg = kf;
	n = umpa_tls_connect(&conf->o, co, r, &e);
	if (n < 0) { /* an option's fault (its key starts the message) is a usage error, a peer's is not */
		opt_err_(conf, &e);
		rc = umpa_tls_opt_from_msg(e.msg, conf, NULL) || e.code == UMPA_EINVAL ? UMPA_EXIT_USAGE
										       : UMPA_EXIT_ERROR;
	}
	for (int i = 0; i < n; i++) {
		report_(rep, i, &r[i]);
		if (!r[i].handshake_ok || r[i].alert[0])
			rc = UMPA_EXIT_ERROR;
	}
	if (co->cap) {
		uint64_t np = umpa_wtap_packets(co->cap);
		if (umpa_wtap_close(co->cap, &e) < 0) {
			tool_err("-w: %s", e.msg);
			rc = UMPA_EXIT_ERROR;
		} else if (!rep->quiet && !rep->json) {
			fprintf(rep->f, "%llu packet%s -> %s\n", (unsigned long long)np, tool_s(np), wpath);
		}
	}
	if (n > 0 && rep->json && !rep->quiet)
		fprintf(rep->f, "\n]}\n");
	if (kf && fclose(kf) != 0) {
		tool_err("--keylog: %s: %s", keylog, strerror(errno));
		rc = UMPA_EXIT_ERROR;
	}
	return rc;
}

int cmd_tls(int argc, char **argv)
{
	struct umpa_tls_conf conf;
	struct umpa_tls_opts *op = &conf.o;
	struct umpa_tls_side *cs, *ss;
	struct bufs_ bufs = {0};
	struct umpa_err e = {0};
	struct umpa_tls *t = NULL;
	struct out_ out = {0};
	struct rep_ rep = {0};
	struct option longopts[N_OWN_ + UMPA_TLS_OPTS_MAX + 1];
	char shortopts[64];
	struct given_ {
		const struct umpa_tls_optdef *d;
		const char *arg;
	} *given = NULL;
	const char *wpath = NULL, *keylog = NULL;
	int fmt = -1, count, interleave = 0, sweep = 0, c, nfailed = 0, rc = UMPA_EXIT_USAGE, ngiven = 0;
	FILE *kf = NULL;
	struct umpa_tls_connect_opts co = {0};
	static const char def_req[] = "GET / HTTP/1.1\r\nHost: umpa.test\r\nUser-Agent: umpa\r\n\r\n";
	static const char def_resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n"
				       "hello, umpa\n";

	umpa_tls_conf_init(&conf, &e);
	cs = &op->side[UMPA_TCPS_CLIENT];
	ss = &op->side[UMPA_TCPS_SERVER];
	cs->data = def_req;
	cs->data_len = sizeof(def_req) - 1;
	ss->data = def_resp;
	ss->data_len = sizeof(def_resp) - 1;
	build_opts_(longopts, shortopts);
	given = calloc((size_t)argc + 1, sizeof(*given));
	if (!given) {
		tool_err("out of memory");
		return UMPA_EXIT_ERROR;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c >= O_TABLE && c < O_TABLE + (int)umpa_tls_optdefs_count()) {
			given[ngiven].d = &umpa_tls_optdefs[c - O_TABLE];
			given[ngiven++].arg = optarg;
			continue;
		}
		if (c > 0 && c < 256 && !strchr("hwqv?:", c)) { /* a short option of the table (-n) */
			const struct umpa_tls_optdef *d = umpa_tls_optdefs;
			while (d->key && d->cli_short != c)
				d++;
			if (d->key) {
				given[ngiven].d = d;
				given[ngiven++].arg = optarg;
				continue;
			}
		}
		switch (c) {
		case 'h':
			usage_(stdout);
			rc = UMPA_EXIT_OK;
			goto done;
		case 'w':
			wpath = optarg;
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
		case O_SWEEP:
			sweep = 1;
			break;
		case O_CONNECT:
			co.target = optarg;
			break;
		case O_RECONNECT:
			co.reconnect = 1;
			break;
		case O_TIMEOUT:
			co.timeout_ns = tool_ns(&umpa_num_seconds, "--timeout", optarg);
			break;
		default:
			usage_(stderr);
			goto done;
		}
	}
	/* the table's options: both-sides ones first, then client-X / server-X, which win whatever the order */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < ngiven; i++)
			if (!!(given[i].d->flags & UMPA_TLS_OPT_SIDED) == pass &&
			    apply_(given[i].d, given[i].arg, &conf, &bufs) < 0)
				goto done;
	if (optind < argc) {
		tool_err("tls: unexpected argument '%s' (options only; see --help)", argv[optind]);
		goto done;
	}
	if (co.target) {
		const struct umpa_tls_optdef *sc = umpa_tls_opt_find("send_client");
		for (int i = 0; i < ngiven; i++) {
			const struct umpa_tls_optdef *d = given[i].d;
			if ((d->flags & UMPA_TLS_OPT_PUMP) || !(d->flags & UMPA_TLS_OPT_CLIENT)) {
				tool_err(
				    "tls: --%s: not with --connect (only the client's options apply to a live server)",
				    d->cli);
				goto done;
			}
		}
		if (sweep || interleave || fmt == UMPA_CAP_PCAP) {
			tool_err("tls: %s: not with --connect", sweep        ? "--sweep"
								: interleave ? "--interleave"
									     : "--pcap (a live capture is pcapng)");
			goto done;
		}
		if (!(sc && conf.given[sc - umpa_tls_optdefs])) {
			cs->data = NULL;
			cs->data_len = 0;
		}
		if (umpa_tls_conf_finish(&conf, &e) < 0) {
			opt_err_(&conf, &e);
			goto done;
		}
		rep.f = stdout;
		rep.count = co.reconnect ? 2 : 1;
		rep.verbose = 1;
		rc = connect_(&conf, &co, wpath, keylog, &rep);
		goto done;
	}
	if (!wpath) {
		tool_err("tls: -w FILE is required (see --help)");
		goto done;
	}
	if (umpa_tls_conf_finish(&conf, &e) < 0) {
		opt_err_(&conf, &e);
		goto done;
	}
	count = conf.count;
	if (fmt < 0) {
		size_t l = strlen(wpath);
		fmt = l >= 7 && !strcmp(wpath + l - 7, ".pcapng") ? UMPA_CAP_PCAPNG : UMPA_CAP_PCAP;
	}
	if (!strcmp(wpath, "-") || (rep.json && !strcmp(wpath, "/dev/stdout")))
		rep.f = stderr;
	else
		rep.f = stdout;
	if (sweep) {
		rc = tls_sweep(op, wpath, fmt == UMPA_CAP_PCAPNG, keylog, rep.json);
		goto done;
	}
	rep.count = count;
	t = umpa_tls_new(op, &e);
	if (!t) {
		opt_err_(&conf, &e);
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
	rc = run_(t, op, count, interleave, &out, kf, &rep, &nfailed);
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
			fprintf(rep.f, "%stls: %d conversation%s, %d ok, %d failed, %llu packet%s -> %s\n",
				rep.nout ? "\n" : "", count, count == 1 ? "" : "s", count - nfailed, nfailed,
				(unsigned long long)out.packets, tool_s(out.packets), wpath);
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
	free(given);
	umpa_tls_conf_free(&conf);
	return rc;
}
