/* umpa.c - the umpa program: dispatch to one subcommand per file. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "umpa_cursor.h"
#include "umpa_lua.h"
#include "umpa_near.h"
#include "umpa_protos.h"
#include "umpa_render.h"
#include "umpa_sbuf.h"
#include "umpa_sched.h"
#include "umpa_tool.h"

static const char usage[] =
    "usage: umpa COMMAND [OPTIONS] ...\n"
    "\n"
    "Commands:\n"
    "  build EXPR... -w FILE   build packets from expressions into a capture file\n"
    "  show FILE               dissect a capture file (one line, -v tree, --json)\n"
    "  send EXPR... -i IFACE   send packets on an interface (-c N, --rate PPS, --l3)\n"
    "  sr EXPR... -i IFACE     send requests, match their answers (--timeout S, --retry N, --json)\n"
    "  tls -w FILE             TLS conversations (OpenSSL client and server, no network) into a capture\n"
    "  ifaces [--json]         list interfaces: index, flags, MTU, MAC, addresses\n"
    "  sniff -i IFACE          capture live packets: print them, -w write them to a file\n"
    "  run TEMPLATE            run a Lua template live (-i) or offline (--offline FILE)\n"
    "  fields [PROTO]          protocols and fields: types, defaults, automatic fields, value names (--json)\n"
    "  shell                   interactive Lua: constructors, show(), send(), sr(), sniff(), history\n"
    "  proxy -l ADDR:PORT -t HOST:PORT   relay TCP through Lua modules (-m hexdump,replace:...)\n"
    "  replay FILE -i IFACE    replay a capture at a device and check its answers field by field\n"
    "\n"
    "Packet expressions are Lua: ether{}/ip{dst=\"10.0.0.2\", ttl=7}/tcp{dport={22,80}}/\"data\"\n"
    "'umpa help COMMAND' (or 'umpa COMMAND --help') describes a command.  Options: --help, --version.\n"
    "\n"
    "Exit status: 0 success, 1 the work failed (bad input data, I/O, expression error),\n"
    "2 bad command line.\n";

/*
 * "umpa: MESSAGE\n" on stderr, the message escaped (umpa_sbuf_put_safe): it
 * carries text umpa did not write - a script's error, a file name, a name
 * from a packet - and must not move the cursor or forge a line.
 */
static void tool_vmsg(const char *fmt, va_list ap)
{
	char small[1024], *text = small;
	struct umpa_sbuf out = {0};
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small) && (text = malloc((size_t)n + 1)) != NULL)
		vsnprintf(text, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	if (!text) {
		text = small; /* cut, rather than nothing */
		n = (int)strlen(small);
	}
	if (n < 0)
		n = 0;
	umpa_sbuf_puts(&out, "umpa: ");
	umpa_sbuf_put_safe(&out, text, (size_t)n);
	umpa_sbuf_putc(&out, '\n');
	fflush(stdout);
	if (!out.oom)
		fwrite(out.s, 1, out.len, stderr);
	else
		fputs("umpa: out of memory\n", stderr);
	umpa_sbuf_free(&out);
	if (text != small)
		free(text);
}

void tool_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmsg(fmt, ap);
	va_end(ap);
}

void tool_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vmsg(fmt, ap);
	va_end(ap);
}

void tool_rate_report(const struct umpa_rate_stats *st)
{
	if (st->req_pps > 0 || st->req_bps > 0) {
		printf("rate: requested");
		if (st->req_pps > 0)
			printf(" %.6g pps", st->req_pps);
		if (st->req_bps > 0)
			printf(" %.6g bps", st->req_bps);
		printf(", achieved %.6g pps %.6g bps", st->pps, st->bps);
		if (st->req_pps > 0)
			printf(" (%.1f%%)", 100.0 * st->pps / st->req_pps);
		else
			printf(" (%.1f%%)", 100.0 * st->bps / st->req_bps);
		printf("\n");
	} else {
		printf("rate: unpaced, achieved %.6g pps %.6g bps (first to last send)\n", st->pps, st->bps);
	}
	printf("gaps: mean %.3f us, jitter (stddev) %.3f us, max late %.3f us\n", st->gap_mean_ns / 1e3,
	       st->gap_stddev_ns / 1e3, (double)st->max_late_ns / 1e3);
}

const struct umpa_num_spec tool_max = {"packets", 1, 1e9, UMPA_NUM_INT};

double tool_real(const struct umpa_num_spec *spec, const char *opt, const char *val)
{
	struct umpa_err e = {0};
	double v;

	if (umpa_num_real(spec, opt, val, &v, &e) < 0) {
		tool_err("%s", e.msg);
		exit(UMPA_EXIT_USAGE);
	}
	return v;
}

uint64_t tool_u64(const struct umpa_num_spec *spec, const char *opt, const char *val)
{
	struct umpa_err e = {0};
	uint64_t v;

	if (umpa_num_u64(spec, opt, val, &v, &e) < 0) {
		tool_err("%s", e.msg);
		exit(UMPA_EXIT_USAGE);
	}
	return v;
}

int64_t tool_ns(const struct umpa_num_spec *spec, const char *opt, const char *val)
{
	struct umpa_err e = {0};
	int64_t v;

	if (umpa_num_ns(spec, opt, val, &v, &e) < 0) {
		tool_err("%s", e.msg);
		exit(UMPA_EXIT_USAGE);
	}
	return v;
}

void tool_time(const struct umpa_num_spec *spec, const char *opt, const char *val, int64_t *sec, uint32_t *nsec)
{
	struct umpa_err e = {0};

	if (umpa_num_time(spec, opt, val, sec, nsec, &e) < 0) {
		tool_err("%s", e.msg);
		exit(UMPA_EXIT_USAGE);
	}
}

/* tcpdump's -x / -X: bytes from @p off of @p p, 16 a line: "\t0x0000:  4500 0054 ...  E..T". */
static void tool_hex_(const struct umpa_pkt *p, unsigned off, int ascii, struct umpa_sbuf *out)
{
	struct umpa_cur c;
	const uint8_t *d;
	size_t n;
	char buf[16];

	umpa_cur_init(&c, p->data, p->len);
	if (off > p->len || umpa_cur_ptr_at(&c, off, p->len - off, &d) < 0)
		return;
	n = p->len - off;
	for (size_t i = 0; i < n; i += 16) {
		size_t k = n - i < 16 ? n - i : 16, col = 0;
		snprintf(buf, sizeof buf, "\t0x%04zx:  ", i);
		umpa_sbuf_puts(out, buf);
		for (size_t j = 0; j < k; j++) {
			snprintf(buf, sizeof buf, "%02x", d[i + j]);
			umpa_sbuf_puts(out, buf);
			col += 2;
			if (j % 2 == 1 && j + 1 < 16) {
				umpa_sbuf_putc(out, ' ');
				col++;
			}
		}
		if (ascii) {
			for (; col < 39; col++)
				umpa_sbuf_putc(out, ' ');
			umpa_sbuf_puts(out, "  ");
			for (size_t j = 0; j < k; j++)
				umpa_sbuf_putc(out, d[i + j] > 0x20 && d[i + j] < 0x7f ? (char)d[i + j] : '.');
		} else if (out->len && out->s[out->len - 1] == ' ')
			out->len--, out->s[out->len] = 0;
		umpa_sbuf_putc(out, '\n');
	}
}

/* Offset of the network header: after the link layers (tcpdump -x leaves them out). */
static unsigned tool_net_off_(const struct umpa_pkt *p)
{
	static const char *const link[] = {"eth", "vlan", "sll", "sll2", "null"};
	unsigned i = 0;

	for (; i < p->nlayers; i++) {
		unsigned k = 0;
		while (k < sizeof link / sizeof link[0] && strcmp(p->l[i].proto->name, link[k]) != 0)
			k++;
		if (k == sizeof link / sizeof link[0])
			break;
	}
	return i < p->nlayers ? p->l[i].off : p->len;
}

int tool_dump_opt(int c, struct tool_dump *d)
{
	switch (c) {
	case 'n':
		return 1;
	case 't':
		d->tcount++;
		return 1;
	case 'x':
		d->xcount++;
		return 1;
	case 'X':
		d->xcount++;
		d->ascii = 1;
		return 1;
	case 'S':
		d->abs = 1;
		return 1;
	case 'e':
		d->eflag = 1;
		return 1;
	default:
		return 0;
	}
}

int tool_dump_setup(const struct tool_dump *d, struct umpa_render_opts *ro, const char *cmd)
{
	static const int modes[] = {UMPA_TS_TIME,  UMPA_TS_NONE, UMPA_TS_EPOCH,
				    UMPA_TS_DELTA, UMPA_TS_DATE, UMPA_TS_SINCE_FIRST};

	if (d->tcount > 5) {
		tool_err("%s: at most -ttttt (got %d t's)", cmd, d->tcount);
		return UMPA_EXIT_USAGE;
	}
	ro->ts_mode = modes[d->tcount];
	ro->link_hdr = d->eflag;
	if (!d->abs && !(ro->relseq = umpa_relseq_new())) {
		tool_err("%s: out of memory", cmd);
		return UMPA_EXIT_ERROR;
	}
	return UMPA_EXIT_OK;
}

void tool_dump_after(const struct tool_dump *d, const struct umpa_pkt *p, struct umpa_render_opts *ro,
		     struct umpa_sbuf *out)
{
	if (d->xcount)
		tool_hex_(p, d->xcount > 1 ? 0 : tool_net_off_(p), d->ascii, out);
	if (ro->ts_mode == UMPA_TS_DELTA || !ro->ts_ref_set) {
		ro->ts_ref_set = 1;
		ro->ts_ref_sec = p->ts_sec;
		ro->ts_ref_nsec = p->ts_nsec;
	}
}

void tool_dump_free(struct umpa_render_opts *ro)
{
	umpa_relseq_free(ro->relseq);
	ro->relseq = NULL;
}

char *tool_join_args(int argc, char **argv, int from)
{
	size_t len = 1, at = 0;
	char *s;

	for (int i = from; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (!(s = malloc(len)))
		return NULL;
	for (int i = from; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (i > from)
			s[at++] = ' ';
		memcpy(s + at, argv[i], n);
		at += n;
	}
	s[at] = 0;
	return s;
}

void tool_render(enum tool_fmt fmt, const struct umpa_pkt *p, const struct umpa_render_opts *ro, struct umpa_sbuf *out)
{
	if (fmt == TOOL_FMT_LINE)
		umpa_render_line(p, ro, out);
	else if (fmt == TOOL_FMT_TREE) {
		umpa_render_tree(p, ro, out);
		umpa_sbuf_putc(out, '\n');
	} else
		umpa_render_json(p, ro, out);
}

char *tool_read_file(const char *path, size_t *len, struct umpa_err *e)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		umpa_err_set(e, UMPA_EIO, "%s: cannot open: %m", path);
		return NULL;
	}
	for (;;) {
		if (n + 4096 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			if (cap > (16u << 20) || !(nb = realloc(buf, cap))) {
				umpa_err_set(e, UMPA_ERANGE, "%s: too large or out of memory", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		umpa_err_set(e, UMPA_EIO, "%s: read error", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

int tool_build_exprs(struct umpa_lua *L, const char *script, char **exprs, int nexprs, unsigned long max,
		     umpa_lua_pkt_cb cb, void *arg, struct umpa_err *e)
{
	if (script) {
		size_t len;
		char *text = tool_read_file(script, &len, e);
		long got = text ? umpa_lua_build_chunk(L, text, len, script, max, cb, arg, e) : -1;
		free(text);
		if (got < 0)
			return -1;
	}
	for (int i = 0; i < nexprs; i++) {
		char where[32];
		snprintf(where, sizeof(where), "expression %d", i + 1);
		if (umpa_lua_build(L, exprs[i], where, max, cb, arg, e) < 0)
			return -1;
	}
	return 0;
}

void tool_unsent_note(struct tool_unsent *u, unsigned long no, const char *why)
{
	size_t i;

	u->total++;
	for (i = 0; i < u->n && strcmp(u->r[i].why, why) != 0; i++)
		;
	if (i < u->n) {
		u->r[i].count++;
	} else if (u->n < TOOL_UNSENT_MAX) {
		snprintf(u->r[i].why, sizeof u->r[i].why, "%s", why);
		u->r[i].first = no;
		u->r[i].count = 1;
		u->n++;
	} else {
		u->other++;
	}
}

void tool_unsent_report(const struct tool_unsent *u, const char *cmd, const char *noun)
{
	for (size_t i = 0; i < u->n; i++) {
		if (u->r[i].count == 1)
			tool_err("%s: %s %lu not sent: %s", cmd, noun, u->r[i].first, u->r[i].why);
		else
			tool_err("%s: %lu %ss not sent (%s %lu the first): %s", cmd, u->r[i].count, noun, noun,
				 u->r[i].first, u->r[i].why);
	}
	if (u->other)
		tool_err("%s: %lu more %s%s not sent, for other reasons", cmd, u->other, noun, tool_s(u->other));
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return UMPA_EXIT_USAGE;
	}
	if (!strcmp(cmd, "help") && argc > 2) { /* "umpa help CMD" is "umpa CMD --help" */
		char *hargv[] = {argv[0], argv[2], "--help", NULL};
		return main(3, hargv);
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return UMPA_EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("umpa %s\n", PACKAGE_VERSION);
		return UMPA_EXIT_OK;
	}
	if (!strcmp(cmd, "build"))
		return cmd_build(argc - 1, argv + 1);
	if (!strcmp(cmd, "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(cmd, "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(cmd, "sr"))
		return cmd_sr(argc - 1, argv + 1);
	if (!strcmp(cmd, "tls"))
		return cmd_tls(argc - 1, argv + 1);
	if (!strcmp(cmd, "ifaces"))
		return cmd_ifaces(argc - 1, argv + 1);
	if (!strcmp(cmd, "sniff"))
		return cmd_sniff(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "proxy"))
		return cmd_proxy(argc - 1, argv + 1);
	if (!strcmp(cmd, "fields"))
		return cmd_fields(argc - 1, argv + 1);
	if (!strcmp(cmd, "shell"))
		return cmd_shell(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	{
		static const char *const known[] = {"build", "show",   "send",  "sr",   "tls",   "ifaces", "sniff",
						    "run",   "fields", "shell", "help", "proxy", "replay"};
		char near[UMPA_NEAR_MAX + 1];
		struct umpa_near n;

		umpa_near_init(&n, cmd);
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			umpa_near_str(&n, known[i]);
		if (umpa_near_best(&n, near, sizeof near)) {
			tool_err("unknown command '%s': did you mean '%s'? (try 'umpa --help')", cmd, near);
			return UMPA_EXIT_USAGE;
		}
	}
	tool_err("unknown command '%s' (try 'umpa --help')", cmd);
	return UMPA_EXIT_USAGE;
}
