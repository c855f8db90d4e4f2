/* cmd_show.c - `umpa show`: dissect a capture file like tcpdump -nn, as a tree, or as JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_capfile.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"
#include "umpa_render.h"
#include "umpa_tool.h"

static const char show_usage[] = "usage: umpa show [-r] FILE [OPTIONS] [BPF FILTER...]\n"
				 "\n"
				 "Dissect every packet of FILE (pcap or pcapng; '-' reads standard input).\n"
				 "Options may come anywhere; words after the file are a BPF filter, as\n"
				 "tcpdump takes them ('umpa show x.pcap udp port 53').\n"
				 "  -r FILE      the file (as tcpdump -r); without -r the first word is the file\n"
				 "  -n           accepted (umpa never resolves names)\n"
				 "  -t, -tt, -ttt, -tttt, -ttttt  time stamps as tcpdump: none, epoch seconds,\n"
				 "               since the previous packet, date and time, since the first\n"
				 "  -x, -X       also the packet (from the network header) in hex / hex+ASCII,\n"
				 "               as tcpdump -x / -X; -xx, -XX include the link header\n"
				 "  -S           absolute TCP sequence numbers (default: relative to the\n"
				 "               flow's first, as tcpdump)\n"
				 "  -e           the link-level header on each line, as tcpdump -e (Ethernet,\n"
				 "               802.1Q tags, Linux cooked v1 and v2)\n"
				 "  (default)    one line per packet, like tcpdump -nn (UTC time of day)\n"
				 "  -v           a field tree per packet, fields named as in Wireshark\n"
				 "  --json       one JSON object per line, keyed by Wireshark field names\n"
				 "  -c N         stop after N packets\n"
				 "  -w OUT       write the packets (those the filter keeps) to OUT instead of\n"
				 "               printing them, as tcpdump -r IN -w OUT ('-': standard output)\n"
				 "  --pcapng     -w writes pcapng (keeps packet comments) instead of pcap\n"
				 "  -f BPF       only packets matching the BPF filter expression\n"
				 "  --nsec       nanosecond timestamps in the one-line and tree forms\n"
				 "  --stats      at the end, print packet, truncated and invalid counts on stderr\n"
				 "  --stats conv      print conversations (IP pairs, TCP and UDP 5-tuples: frames,\n"
				 "               bytes each way, start, duration) instead of the packets, as\n"
				 "               tshark -q -z conv,ip -z conv,tcp -z conv,udp\n"
				 "  --stats proto     the protocol hierarchy (tshark -q -z io,phs)\n"
				 "  --stats io[,S]    frames and bytes per S-second interval (default 1; tshark\n"
				 "               -q -z io,stat,S)\n"
				 "  --verify-checksums  a TCP or UDP checksum holding the partial sum that\n"
				 "               Linux leaves for the NIC (checksum offload: outgoing packets\n"
				 "               captured on the sender) is bad too; by default it is\n"
				 "               \"unverified\" (every other wrong checksum is marked bad)\n"
				 "  --no-reassembly  show each TCP segment alone (TLS records split across\n"
				 "               segments are otherwise shown reassembled, in the last frame)\n"
				 "  --keylog FILE  TLS secrets (SSLKEYLOGFILE format) to decrypt TLS 1.2 and 1.3\n"
				 "               records with; the secrets of a pcapng file's Decryption Secrets\n"
				 "               Blocks are used too.  Decrypted records follow their frame\n"
				 "               (HTTP/1.1 dissected); one that does not decrypt says why\n"
				 "Truncated (not captured) and invalid (a field that lies) layers are marked.\n"
				 "A broken file ends with a one-line error naming the byte offset; the packets\n"
				 "before it are shown.  Exit status: 0 ok, 1 unreadable or broken file, 2 usage.\n";

/* "conv", "proto", "io" or "io,SECONDS". */
static int show_stats_kind_(const char *a, enum show_stats_kind *k, double *iv)
{
	char *end;

	if (!strcmp(a, "conv"))
		*k = SHOW_STATS_CONV;
	else if (!strcmp(a, "proto"))
		*k = SHOW_STATS_PROTO;
	else if (!strcmp(a, "io"))
		*k = SHOW_STATS_IO, *iv = 1;
	else if (!strncmp(a, "io,", 3)) {
		*k = SHOW_STATS_IO;
		*iv = strtod(a + 3, &end);
		if (*end || !(*iv >= 1e-6 && *iv <= 1e9))
			return -1;
	} else
		return -1;
	return 0;
}

int cmd_show(int argc, char **argv)
{
	enum tool_fmt mode = TOOL_FMT_LINE;
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},        {"nsec", no_argument, NULL, 'N'},
	    {"stats", optional_argument, NULL, 's'}, {"no-reassembly", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},        {"verify-checksums", no_argument, NULL, 'V'},
	    {"pcapng", no_argument, NULL, 'P'},      {"keylog", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long limit = 0;
	const char *bpf = NULL;
	int nsec = 0, stats = 0, noreasm = 0, c, rc = UMPA_EXIT_OK;
	struct tool_dump dump = {0};
	enum show_stats_kind skind = SHOW_STATS_CONV;
	double sint = 1;
	struct show_stats *sst = NULL;
	char statsarg[64]; /* "--stats=KIND" made of "--stats KIND" */
	const char *file = NULL, *wpath = NULL;
	enum umpa_capfmt wfmt = UMPA_CAP_PCAP;
	struct umpa_capw *w = NULL;
	const char *keylog = NULL;
	size_t dsb_taken = 0; /* key log text of the file's secrets blocks already given to reasm */
	char *bpfbuf = NULL;
	struct umpa_reasm *reasm = NULL;
	struct umpa_err e = {0};
	struct umpa_capr *r;
	struct umpa_pkt p;
	struct umpa_sbuf out = {0};
	struct umpa_sbuf scratch[2] = {{0}, {0}}, jscratch = {0};
	struct umpa_render_opts ro = {.scratch = scratch, .json_scratch = &jscratch};
	uint64_t n = 0, ntrunc = 0, ninval = 0;

	/* "--stats KIND" as two words (tshark's -z habit): make it "--stats=KIND" */
	for (int i = 1; i + 1 < argc; i++) {
		enum show_stats_kind k;
		double iv;
		if (!strcmp(argv[i], "--stats") && show_stats_kind_(argv[i + 1], &k, &iv) == 0) {
			snprintf(statsarg, sizeof statsarg, "--stats=%s", argv[i + 1]);
			argv[i] = statsarg;
			memmove(&argv[i + 1], &argv[i + 2], (size_t)(argc - i - 2) * sizeof *argv);
			argc--;
			break;
		}
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vc:f:hr:w:" TOOL_DUMP_OPTS, opts, NULL)) != -1) {
		if (tool_dump_opt(c, &dump))
			continue;
		switch (c) {
		case 'r':
			if (file) {
				tool_err("show: one file at a time (got '%s' too)", optarg);
				return UMPA_EXIT_USAGE;
			}
			file = optarg;
			break;
		case 'v':
			mode = TOOL_FMT_TREE;
			break;
		case 'j':
			mode = TOOL_FMT_JSON;
			break;
		case 'c':
			limit = (unsigned long)tool_u64(&umpa_num_count, "-c", optarg);
			break;
		case 'f':
			bpf = optarg;
			break;
		case 'N':
			nsec = 1;
			break;
		case 's':
			stats = 1;
			if (optarg && show_stats_kind_(optarg, &skind, &sint) < 0) {
				tool_err("show: --stats takes conv, proto or io[,SECONDS], not '%s'", optarg);
				return UMPA_EXIT_USAGE;
			}
			if (optarg)
				stats = 2;
			break;
		case 'R':
			noreasm = 1;
			break;
		case 'V':
			dump.verify = 1;
			break;
		case 'w':
			wpath = optarg;
			break;
		case 'P':
			wfmt = UMPA_CAP_PCAPNG;
			break;
		case 'K':
			keylog = optarg;
			break;
		case 'h':
			fputs(show_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("show: unknown or incomplete option '%s' (try 'umpa show --help')", argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (!file && optind < argc)
		file = argv[optind++];
	if (!file) {
		tool_err("show: which file? (try 'umpa show --help')");
		return UMPA_EXIT_USAGE;
	}
	if (optind < argc) { /* the rest is a BPF expression, as tcpdump's */
		if (bpf) {
			tool_err("show: a filter both in -f and after the file ('%s')", argv[optind]);
			return UMPA_EXIT_USAGE;
		}
		if (!(bpf = bpfbuf = tool_join_args(argc, argv, optind))) {
			tool_err("show: out of memory");
			return UMPA_EXIT_ERROR;
		}
	}
	if (wpath && stats == 2) {
		tool_err("show: -w writes packets; --stats %s prints tables: one or the other",
			 skind == SHOW_STATS_CONV    ? "conv"
			 : skind == SHOW_STATS_PROTO ? "proto"
						     : "io");
		free(bpfbuf);
		return UMPA_EXIT_USAGE;
	}
	if ((c = tool_dump_setup(&dump, &ro, "show")) != UMPA_EXIT_OK) {
		free(bpfbuf);
		return c;
	}
	r = umpa_capr_open(file, &e);
	if (!r) {
		tool_err("%s", e.msg);
		tool_dump_free(&ro);
		free(bpfbuf);
		return UMPA_EXIT_ERROR;
	}
	if (bpf && umpa_capr_filter(r, bpf, &e) < 0) {
		tool_err("%s", e.msg);
		umpa_capr_close(r);
		tool_dump_free(&ro);
		free(bpfbuf);
		return UMPA_EXIT_USAGE;
	}
	free(bpfbuf);
	if (wpath && !(w = umpa_capw_open(wpath, wfmt, umpa_capr_linktype(r), &e))) {
		tool_err("%s", e.msg);
		umpa_capr_close(r);
		tool_dump_free(&ro);
		return UMPA_EXIT_ERROR;
	}
	ro.ts_nsec = nsec;
	if (!noreasm && !(reasm = umpa_reasm_open(NULL, &e))) {
		tool_err("show: %s", e.msg);
		umpa_capr_close(r);
		return UMPA_EXIT_ERROR;
	}
	if (keylog && noreasm) {
		tool_err("show: --keylog needs reassembly (drop --no-reassembly)");
		umpa_capr_close(r);
		tool_dump_free(&ro);
		return UMPA_EXIT_USAGE;
	}
	if (keylog) {
		size_t klen = 0;
		char *text = tool_read_file(keylog, &klen, &e);
		int k = text ? umpa_reasm_keylog(reasm, text, klen, &e) : -1;
		free(text);
		if (k <= 0) {
			if (k == 0)
				tool_err("show: --keylog %s: no TLS secret in the file", keylog);
			else
				tool_err("show: --keylog %s: %s", keylog, e.msg);
			umpa_reasm_close(reasm);
			umpa_capr_close(r);
			tool_dump_free(&ro);
			return UMPA_EXIT_USAGE;
		}
	}
	if (stats == 2 && !(sst = show_stats_new(skind, sint))) {
		tool_err("show: out of memory");
		umpa_reasm_close(reasm);
		tool_dump_free(&ro);
		umpa_capr_close(r);
		return UMPA_EXIT_ERROR;
	}
	umpa_pkt_init(&p);
	for (;;) {
		int got;
		if (limit && n >= limit)
			break;
		got = umpa_capr_next(r, &p, &e);
		if (got == 0)
			break;
		if (got < 0) {
			rc = UMPA_EXIT_ERROR;
			break;
		}
		n++;
		if (reasm) { /* secrets of the Decryption Secrets Blocks read so far */
			size_t kn = 0;
			const char *kt = umpa_capr_tls_keylog(r, &kn);
			if (kn > dsb_taken) {
				umpa_reasm_keylog(reasm, kt + dsb_taken, kn - dsb_taken, &e);
				dsb_taken = kn;
			}
		}
		if (w) { /* -w: the packets (those the filter kept), as tcpdump -r IN -w OUT */
			if (umpa_capw_write(w, &p, &e) < 0) {
				rc = UMPA_EXIT_ERROR;
				break;
			}
			continue;
		}
		umpa_dissect(&p);
		if (dump.verify)
			umpa_pkt_csum_policy(&p, UMPA_CSUM_STRICT);
		ro.number = umpa_capr_number(r); /* the file's numbering, also under a filter */
		if (sst) {
			show_stats_add(sst, &p);
			continue;
		}
		umpa_reasm_show(reasm, &p, ro.number, (enum umpa_reasm_fmt)mode, &ro, &out);
		tool_dump_after(&dump, &p, &ro, &out);
		for (unsigned i = 0; i < p.nlayers; i++) { /* after reassembly dropped the layers it replaced */
			ntrunc += (p.l[i].flags & UMPA_L_TRUNCATED) != 0;
			ninval += (p.l[i].flags & UMPA_L_INVALID) != 0;
		}
		if (out.len >= 1 << 16) {
			fwrite(out.s, 1, out.len, stdout);
			umpa_sbuf_reset(&out);
		}
	}
	if (sst && show_stats_print(sst, stdout) < 0 && rc == UMPA_EXIT_OK) {
		tool_err("show: out of memory: the statistics are incomplete");
		rc = UMPA_EXIT_ERROR;
	}
	if (w && umpa_capw_close(w, &e) < 0 && rc == UMPA_EXIT_OK)
		rc = UMPA_EXIT_ERROR; /* e.msg says what */
	if (out.len)
		fwrite(out.s, 1, out.len, stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		tool_err("show: cannot write output");
		rc = UMPA_EXIT_ERROR;
	}
	if (out.oom && rc == UMPA_EXIT_OK) {
		tool_err("show: out of memory");
		rc = UMPA_EXIT_ERROR;
	}
	if (rc == UMPA_EXIT_ERROR && e.msg[0])
		tool_err("%s", e.msg);
	if (stats == 1) {
		struct umpa_reasm_stats rs;
		fprintf(stderr, "%llu packet%s, %llu truncated layer%s, %llu invalid layer%s\n", (unsigned long long)n,
			tool_s(n), (unsigned long long)ntrunc, tool_s(ntrunc), (unsigned long long)ninval,
			tool_s(ninval));
		umpa_reasm_get_stats(reasm, &rs);
		if (rs.flows)
			fprintf(
			    stderr,
			    "reassembly: %llu flow%s (%llu evicted), %llu record%s reassembled, %llu segment%s held "
			    "out of order, %llu duplicate%s, %llu byte%s dropped\n",
			    (unsigned long long)rs.flows, tool_s(rs.flows), (unsigned long long)rs.evicted,
			    (unsigned long long)rs.reassembled, tool_s(rs.reassembled), (unsigned long long)rs.held,
			    tool_s(rs.held), (unsigned long long)rs.duplicates, tool_s(rs.duplicates),
			    (unsigned long long)rs.dropped, tool_s(rs.dropped));
	}
	show_stats_free(sst);
	umpa_reasm_close(reasm);
	tool_dump_free(&ro);
	umpa_sbuf_free(&out);
	umpa_sbuf_free(&scratch[0]);
	umpa_sbuf_free(&scratch[1]);
	umpa_sbuf_free(&jscratch);
	umpa_pkt_release(&p);
	umpa_capr_close(r);
	return rc;
}
