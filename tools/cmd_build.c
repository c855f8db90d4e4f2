/* cmd_build.c - `umpa build`: packet expressions into a capture file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "umpa_capfile.h"
#include "umpa_lua.h"
#include "umpa_lua_tls.h"
#include "umpa_protos.h"
#include "umpa_tool.h"

static const char build_usage[] =
    "usage: umpa build EXPR... -w FILE [--pcapng] [-c N] [--time T] [--interval S] [--comment TEXT]\n"
    "       umpa build -f SCRIPT.lua -w FILE ...      (the script returns what to build)\n"
    "       umpa build --example -w FILE ...          (one packet of every protocol)\n"
    "\n"
    "Each EXPR is a packet expression in Lua, e.g.\n"
    "  'ether{}/ip{dst=\"10.0.0.2\", ttl=7}/tcp{dport={22,80,443}, flags=\"S\"}/\"GET /\"'\n"
    "Lists and range(a,b) in a field expand into one packet per combination.\n"
    "Automatic fields (lengths, checksums, protocol numbers) are computed unless set.\n"
    "  -w FILE        output capture file ('-' for standard output)\n"
    "  --pcapng       write pcapng (nanosecond timestamps, comments) instead of pcap\n"
    "  -c N           write the whole set of packets N times (default 1; N times the set at most --max)\n"
    "  --time T       timestamp of the first packet, seconds since the epoch (default: now);\n"
    "                 given, it restamps every packet, tls{} ones included (which keep their own\n"
    "                 timestamps otherwise, later packets following them).  pcap holds 0 to\n"
    "                 4294967295 (2106), pcapng 0 to 18446744072 (2554)\n"
    "  --interval S   seconds between packets, 0 to 100000000 (default 0.000001)\n"
    "  --comment TEXT pcapng comment on every packet (replacing tls{} packets' own comments)\n"
    "  --fragment N   cut each packet into IP fragments of N payload bytes (8 to 65535, rounded\n"
    "                 down to a multiple of 8), as Scapy's fragment(); IPv6 packets need a fragment header\n"
    "                 (ipv6{}/ipv6_frag{}/...); fragment(EXPR, N) does the same in Lua\n"
    "  --max N        refuse expressions that expand to more than N packets, and -c N sets of more\n"
    "                 (1 to 1000000000, default 1000000)\n"
    "Exit status: 0 ok, 1 expression or I/O error, 2 usage.\n";

struct build_ctx {
	const char *out;
	enum umpa_capfmt fmt;
	struct umpa_capw *w;
	int linktype;
	int64_t ts_sec;
	uint32_t ts_nsec;
	uint64_t step_ns;
	const char *comment;
	uint32_t frag; /* --fragment N: payload bytes per IP fragment, 0 for none */
	int restamp;   /* --time given: every packet gets the builder's timestamps */
	unsigned long n;
	/* packets of one round, kept when -c N > 1 so rounds do not re-run Lua */
	struct umpa_pkt *keep;
	size_t nkeep, capkeep;
	int keeping;
	/* keys of tls{} conversations: each new part goes into a secrets block before the next packet */
	const struct umpa_lua_tls_keys *keys;
	size_t keys_done;
};

static void advance(struct build_ctx *b)
{
	uint64_t ns = b->ts_nsec + b->step_ns;

	b->ts_sec += (int64_t)(ns / 1000000000u);
	b->ts_nsec = (uint32_t)(ns % 1000000000u);
}

static int write_pkt(struct build_ctx *b, struct umpa_pkt *p, struct umpa_err *e)
{
	int lt;

	if (p->nlayers == 0)
		return umpa_err_set(e, UMPA_EINVAL, "packet %lu is empty", b->n + 1);
	lt = umpa_linktype_for_proto(p->l[0].proto);
	if (lt < 0)
		lt = UMPA_LINKTYPE_ETHERNET;
	if (!b->w) {
		b->linktype = lt;
		b->w = umpa_capw_open(b->out, b->fmt, lt, e);
		if (!b->w)
			return -e->code;
	} else if (lt != b->linktype) {
		return umpa_err_set(e, UMPA_EINVAL,
				    "packet %lu starts with %s, but the file's first packet set link type %d: "
				    "one link type per file",
				    b->n + 1, p->l[0].proto->name, b->linktype);
	}
	if (b->keys && b->keys->len > b->keys_done) {
		if (b->fmt == UMPA_CAP_PCAPNG &&
		    umpa_capw_secrets(b->w, UMPA_SECRETS_TLS_KEYLOG, b->keys->text + b->keys_done,
				      (uint32_t)(b->keys->len - b->keys_done), e) < 0)
			return -e->code;
		if (b->fmt != UMPA_CAP_PCAPNG && b->keys_done == 0)
			tool_err("build: the TLS keys of tls{} are not in a pcap file (use --pcapng)");
		b->keys_done = b->keys->len;
	}
	/* a packet with its own timestamp (tls{}, one read from a capture) keeps it unless --time was given;
	 * the next packet without one follows it by --interval; --comment replaces its own comment */
	if (b->restamp || (p->ts_sec == 0 && p->ts_nsec == 0)) {
		p->ts_sec = b->ts_sec;
		p->ts_nsec = b->ts_nsec;
	} else {
		b->ts_sec = p->ts_sec;
		b->ts_nsec = p->ts_nsec;
	}
	advance(b);
	b->n++;
	if (b->comment) {
		const char *own = p->comment; /* kept packets own theirs: put back after the write */
		int rc;
		p->comment = b->comment;
		rc = umpa_capw_write(b->w, p, e);
		p->comment = own;
		return rc;
	}
	return umpa_capw_write(b->w, p, e);
}

static int keep_and_write(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct build_ctx *b = arg;

	if (b->keeping) {
		if (b->nkeep == b->capkeep) {
			size_t cap = b->capkeep ? b->capkeep * 2 : 64;
			struct umpa_pkt *k;
			if (cap > 65536) {
				b->keeping = 0; /* too many to keep: later rounds rebuild */
				goto write;
			}
			k = realloc(b->keep, cap * sizeof(*k));
			if (!k)
				return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
			b->keep = k;
			b->capkeep = cap;
		}
		umpa_pkt_init(&b->keep[b->nkeep]);
		if (umpa_pkt_dup(&b->keep[b->nkeep], p, e) < 0)
			return -e->code;
		if (p->comment && !(b->keep[b->nkeep].comment = strdup(p->comment))) /* Lua owns p's */
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		b->nkeep++;
	}
write:
	return write_pkt(b, p, e);
}

static int on_packet(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct build_ctx *b = arg;
	long n;

	if (!b->frag)
		return keep_and_write(arg, p, e);
	if ((n = umpa_pkt_fragment(p, b->frag, keep_and_write, b, e)) < 0) {
		if (!strncmp(e->msg, "fragment", 8))
			umpa_err_prefix(e, "packet %lu: ", b->n + 1);
		return (int)n;
	}
	return 0;
}

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pcapng", no_argument, NULL, 'n'},
	    {"time", required_argument, NULL, 't'},
	    {"interval", required_argument, NULL, 'i'},
	    {"comment", required_argument, NULL, 'm'},
	    {"example", no_argument, NULL, 'x'},
	    {"max", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {"fragment", required_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	struct build_ctx b = {.fmt = UMPA_CAP_PCAP, .step_ns = 1000};
	unsigned long rounds = 1, max = 1000000;
	const char *script = NULL, *time_text = NULL, *rounds_text = NULL;
	int example = 0, c, rc = UMPA_EXIT_OK;
	struct umpa_err e = {0};
	struct umpa_lua *L;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "w:c:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			b.out = optarg;
			break;
		case 'c':
			rounds_text = optarg; /* its range depends on --max */
			break;
		case 'f':
			script = optarg;
			break;
		case 'n':
			b.fmt = UMPA_CAP_PCAPNG;
			break;
		case 't':
			time_text = optarg; /* its range depends on the format */
			b.restamp = 1;
			break;
		case 'i':
			b.step_ns = (uint64_t)tool_ns(&umpa_num_seconds, "--interval", optarg);
			break;
		case 'm':
			b.comment = optarg;
			break;
		case 'x':
			example = 1;
			break;
		case 'F':
			b.frag = (uint32_t)tool_u64(UMPA_NUM_RANGE("fragment bytes", 8, 65535, UMPA_NUM_INT),
						    "--fragment", optarg);
			break;
		case 'M':
			max = (unsigned long)tool_u64(&tool_max, "--max", optarg);
			break;
		case 'h':
			fputs(build_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("build: unknown or incomplete option '%s' (try 'umpa build --help')",
				 argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (!b.out) {
		tool_err("build: where to? give -w FILE (try 'umpa build --help')");
		return UMPA_EXIT_USAGE;
	}
	if (optind == argc && !script && !example) {
		tool_err("build: nothing to build: give EXPR, -f SCRIPT or --example");
		return UMPA_EXIT_USAGE;
	}
	if (rounds_text)
		rounds = (unsigned long)tool_u64(UMPA_NUM_RANGE("rounds up to --max", 0, (double)max, UMPA_NUM_INT),
						 "-c", rounds_text);
	if (rounds == 0)
		rounds = 1;
	if (time_text) {
		tool_time(b.fmt == UMPA_CAP_PCAPNG ? &umpa_num_epoch_pcapng : &umpa_num_epoch_pcap, "--time", time_text,
			  &b.ts_sec, &b.ts_nsec);
	} else {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		b.ts_sec = now.tv_sec;
		b.ts_nsec = (uint32_t)now.tv_nsec;
	}
	L = umpa_lua_open(&e);
	if (!L) {
		tool_err("%s", e.msg);
		return UMPA_EXIT_ERROR;
	}
	b.keys = umpa_lua_tls_keys(L);
	b.keeping = rounds > 1;
	for (unsigned long round = 0; round < rounds && rc == UMPA_EXIT_OK; round++) {
		/* -c N writes the set N times: the whole run is held to --max too */
		if (round == 1 && b.n > max / rounds) {
			umpa_err_set(&e, UMPA_ERANGE, "build: -c %lu times %lu packets is more than --max %lu", rounds,
				     b.n, max);
			rc = UMPA_EXIT_USAGE;
			break;
		}
		if (round > 0 && b.keeping) {
			for (size_t i = 0; i < b.nkeep; i++)
				if (write_pkt(&b, &b.keep[i], &e) < 0) {
					rc = UMPA_EXIT_ERROR;
					break;
				}
			continue;
		}
		if (round == 1)
			b.keeping = 0;
		if (example && umpa_lua_build_chunk(L, umpa_example_lua, strlen(umpa_example_lua), "example.lua", max,
						    on_packet, &b, &e) < 0) {
			rc = UMPA_EXIT_ERROR;
			break;
		}
		if (tool_build_exprs(L, script, argv + optind, argc - optind, max, on_packet, &b, &e) < 0) {
			rc = UMPA_EXIT_ERROR;
			break;
		}
	}
	if (rc == UMPA_EXIT_OK && !b.w) {
		tool_err("build: the expressions produced no packets");
		rc = UMPA_EXIT_ERROR;
	} else if (rc != UMPA_EXIT_OK) {
		tool_err("%s", e.msg);
	}
	if (b.w && umpa_capw_close(b.w, &e) < 0 && rc == UMPA_EXIT_OK) {
		tool_err("%s", e.msg);
		rc = UMPA_EXIT_ERROR;
	}
	for (size_t i = 0; i < b.nkeep; i++) {
		free((char *)b.keep[i].comment);
		umpa_pkt_release(&b.keep[i]);
	}
	free(b.keep);
	umpa_lua_close(L);
	if (rc == UMPA_EXIT_OK && strcmp(b.out, "-") != 0)
		tool_note("wrote %lu packet%s to %s", b.n, tool_s(b.n), b.out);
	return rc;
}
