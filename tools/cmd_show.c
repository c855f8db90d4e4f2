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

static const char show_usage[] = "usage: umpa show FILE [-v | --json] [-c N] [-f BPF] [--nsec] [--stats]\n"
				 "\n"
				 "Dissect every packet of FILE (pcap or pcapng; '-' reads standard input).\n"
				 "  (default)    one line per packet, like tcpdump -nn (UTC time of day)\n"
				 "  -v           a field tree per packet, fields named as in Wireshark\n"
				 "  --json       one JSON object per line, keyed by Wireshark field names\n"
				 "  -c N         stop after N packets\n"
				 "  -f BPF       only packets matching the BPF filter expression\n"
				 "  --nsec       nanosecond timestamps in the one-line and tree forms\n"
				 "  --stats      at the end, print packet, truncated and invalid counts on stderr\n"
				 "  --no-reassembly  show each TCP segment alone (TLS records split across\n"
				 "               segments are otherwise shown reassembled, in the last frame)\n"
				 "Truncated (not captured) and invalid (a field that lies) layers are marked.\n"
				 "A broken file ends with a one-line error naming the byte offset; the packets\n"
				 "before it are shown.  Exit status: 0 ok, 1 unreadable or broken file, 2 usage.\n";

int cmd_show(int argc, char **argv)
{
	enum tool_fmt mode = TOOL_FMT_LINE;
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"nsec", no_argument, NULL, 'n'},
	    {"stats", no_argument, NULL, 's'},
	    {"no-reassembly", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long limit = 0;
	const char *bpf = NULL;
	int nsec = 0, stats = 0, noreasm = 0, c, rc = UMPA_EXIT_OK;
	struct umpa_reasm *reasm = NULL;
	struct umpa_err e = {0};
	struct umpa_capr *r;
	struct umpa_pkt p;
	struct umpa_sbuf out = {0};
	struct umpa_sbuf scratch[2] = {{0}, {0}};
	struct umpa_render_opts ro = {.scratch = scratch};
	uint64_t n = 0, ntrunc = 0, ninval = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vc:f:h", opts, NULL)) != -1) {
		switch (c) {
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
		case 'n':
			nsec = 1;
			break;
		case 's':
			stats = 1;
			break;
		case 'R':
			noreasm = 1;
			break;
		case 'h':
			fputs(show_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("show: unknown or incomplete option '%s' (try 'umpa show --help')", argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		tool_err(optind >= argc ? "show: which file? (try 'umpa show --help')"
					: "show: one file at a time (got '%s' too)",
			 optind < argc - 1 ? argv[optind + 1] : "");
		return UMPA_EXIT_USAGE;
	}
	r = umpa_capr_open(argv[optind], &e);
	if (!r) {
		tool_err("%s", e.msg);
		return UMPA_EXIT_ERROR;
	}
	if (bpf && umpa_capr_filter(r, bpf, &e) < 0) {
		tool_err("%s", e.msg);
		umpa_capr_close(r);
		return UMPA_EXIT_USAGE;
	}
	ro.ts_nsec = nsec;
	if (!noreasm && !(reasm = umpa_reasm_open(NULL, &e))) {
		tool_err("show: %s", e.msg);
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
		umpa_dissect(&p);
		ro.number = n;
		umpa_reasm_show(reasm, &p, n, (enum umpa_reasm_fmt)mode, &ro, &out);
		for (unsigned i = 0; i < p.nlayers; i++) { /* after reassembly dropped the layers it replaced */
			ntrunc += (p.l[i].flags & UMPA_L_TRUNCATED) != 0;
			ninval += (p.l[i].flags & UMPA_L_INVALID) != 0;
		}
		if (out.len >= 1 << 16) {
			fwrite(out.s, 1, out.len, stdout);
			umpa_sbuf_reset(&out);
		}
	}
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
	if (stats) {
		struct umpa_reasm_stats rs;
		fprintf(stderr, "%llu packets, %llu truncated layers, %llu invalid layers\n", (unsigned long long)n,
			(unsigned long long)ntrunc, (unsigned long long)ninval);
		umpa_reasm_get_stats(reasm, &rs);
		if (rs.flows)
			fprintf(stderr,
				"reassembly: %llu flows (%llu evicted), %llu records reassembled, %llu segments held "
				"out of order, %llu duplicates, %llu bytes dropped\n",
				(unsigned long long)rs.flows, (unsigned long long)rs.evicted,
				(unsigned long long)rs.reassembled, (unsigned long long)rs.held,
				(unsigned long long)rs.duplicates, (unsigned long long)rs.dropped);
	}
	umpa_reasm_close(reasm);
	umpa_sbuf_free(&out);
	umpa_sbuf_free(&scratch[0]);
	umpa_sbuf_free(&scratch[1]);
	umpa_pkt_release(&p);
	umpa_capr_close(r);
	return rc;
}
