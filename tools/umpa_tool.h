/* umpa_tool.h - shared bits of the umpa program's subcommands. */
#ifndef UMPA_TOOL_H
#define UMPA_TOOL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "umpa_lua.h"
#include "umpa_num.h"

/* Exit codes (documented in umpa(1) and --help). */
#define UMPA_EXIT_OK 0    /* success */
#define UMPA_EXIT_ERROR 1 /* the work failed: bad input data, I/O, expression error */
#define UMPA_EXIT_USAGE 2 /* bad command line */

/**
 * Print "umpa: MESSAGE" on stderr, one line: control characters and other
 * text that could move the cursor or forge a line are escaped
 * (umpa_sbuf_put_safe), since messages carry script errors, file names and
 * names from packets.
 */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print an informational "umpa: MESSAGE" on stderr, escaped as tool_err() does. */
void tool_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Checked numbers for options (core/umpa_num.h): each parses @p val within
 * @p spec, or prints one line naming @p opt and the range and exits with
 * UMPA_EXIT_USAGE.
 */

/** --max of build, send and sr: packets one expression may expand to, 1 to 1e9. */
extern const struct umpa_num_spec tool_max;

struct umpa_rate_stats;
/**
 * The rate report of send and replay on stdout: "rate: requested ..., achieved
 * ... (N%)" (or "unpaced") and "gaps: mean, jitter, max late".
 */
void tool_rate_report(const struct umpa_rate_stats *st);

/** A real number (rates, fractions). */
double tool_real(const struct umpa_num_spec *spec, const char *opt, const char *val);

/** A whole number (counts, sizes, seeds). */
uint64_t tool_u64(const struct umpa_num_spec *spec, const char *opt, const char *val);

/** Seconds of a duration as nanoseconds, parsed exactly. */
int64_t tool_ns(const struct umpa_num_spec *spec, const char *opt, const char *val);

/** Seconds of a timestamp as whole seconds and nanoseconds, parsed exactly. */
void tool_time(const struct umpa_num_spec *spec, const char *opt, const char *val, int64_t *sec, uint32_t *nsec);

/**
 * Read the whole file @p path (at most 16 MiB) into a NUL-terminated buffer
 * the caller frees; its length in @p len.  NULL with @p e set on failure.
 */
char *tool_read_file(const char *path, size_t *len, struct umpa_err *e);

/**
 * Build packets with @p L: the Lua file @p script first (NULL: none), then
 * each of the @p nexprs expressions (named "expression N" in errors), each
 * at most @p max packets, handing every packet to @p cb with @p arg.
 * Returns 0, or -1 with @p e set.
 */
int tool_build_exprs(struct umpa_lua *L, const char *script, char **exprs, int nexprs, unsigned long max,
		     umpa_lua_pkt_cb cb, void *arg, struct umpa_err *e);

/** Most distinct reasons a tool_unsent tells one by one. */
#define TOOL_UNSENT_MAX 16

/**
 * Packets a command could not send (their addresses could not be resolved),
 * counted by reason, so that send and sr report them alike: one stderr line
 * per reason with the first packet's number and the count.  Zero it to start.
 */
struct tool_unsent {
	struct {
		char why[sizeof(((struct umpa_err *)0)->msg)];
		unsigned long first, count;
	} r[TOOL_UNSENT_MAX];
	size_t n;            /**< reasons in r */
	unsigned long total; /**< packets not sent */
	unsigned long other; /**< of those, with a reason beyond the first TOOL_UNSENT_MAX */
};

/** Count packet @p no (1-based) as not sent for reason @p why. */
void tool_unsent_note(struct tool_unsent *u, unsigned long no, const char *why);

/**
 * Print one line per reason: "CMD: NOUN 2 not sent: WHY" or "CMD: 5 NOUNs not
 * sent (NOUN 2 the first): WHY".
 */
void tool_unsent_report(const struct tool_unsent *u, const char *cmd, const char *noun);

/** "s" unless @p n is 1: "wrote 1 packet", "wrote 2 packets" (every count umpa prints). */
static inline const char *tool_s(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/** The built-in example (templates/example.lua), embedded at build time. */
extern const char umpa_example_lua[];

struct umpa_pkt;
struct umpa_render_opts;
struct umpa_sbuf;

/** How a subcommand prints packets: one line, a field tree (-v), JSON (--json). */
enum tool_fmt { TOOL_FMT_LINE = 0, TOOL_FMT_TREE = 1, TOOL_FMT_JSON = 2 };

/** Append dissected packet @p p to @p out in format @p fmt (a tree is followed by a blank line). */
void tool_render(enum tool_fmt fmt, const struct umpa_pkt *p, const struct umpa_render_opts *ro, struct umpa_sbuf *out);

/** The short options tool_dump_opt takes (tcpdump's): -n -t -x -X -S -e. */
#define TOOL_DUMP_OPTS "ntxXSe"

/** tcpdump's output options, shared by show and sniff. */
struct tool_dump {
	int tcount; /**< how many -t: the time stamp form (enum umpa_ts_mode) */
	int xcount; /**< how many -x/-X: 1 from the network header, 2 with the link header */
	int ascii;  /**< -X: hex and ASCII */
	int abs;    /**< -S: absolute TCP sequence numbers */
	int eflag;  /**< -e: the link-level header on each line */
	int verify; /**< --verify-checksums: partial (offloaded) and live checksums verified too */
};

/** Take getopt's @p c when it is one of TOOL_DUMP_OPTS (-n is accepted and ignored). Returns 1 if taken. */
int tool_dump_opt(int c, struct tool_dump *d);

/** Apply @p d to @p ro (time form, relative-sequence table); prints the error. Returns an exit code. */
int tool_dump_setup(const struct tool_dump *d, struct umpa_render_opts *ro, const char *cmd);

/** After packet @p p was rendered: its hex dump (-x/-X), and the reference time of -ttt/-ttttt. */
void tool_dump_after(const struct tool_dump *d, const struct umpa_pkt *p, struct umpa_render_opts *ro,
		     struct umpa_sbuf *out);

/** Free what tool_dump_setup allocated in @p ro. */
void tool_dump_free(struct umpa_render_opts *ro);

/** argv[from..argc) joined with spaces (a BPF expression given as words), malloc'd; NULL when out of memory. */
char *tool_join_args(int argc, char **argv, int from);

/** `umpa show --stats KIND` (tools/show_stats.c): tshark's -z conv / io,phs / io,stat. */
enum show_stats_kind { SHOW_STATS_CONV = 0, SHOW_STATS_PROTO = 1, SHOW_STATS_IO = 2 };
struct show_stats;
/** New statistics of @p kind; @p interval (seconds) for SHOW_STATS_IO. NULL when out of memory. */
struct show_stats *show_stats_new(enum show_stats_kind kind, double interval);
/** Count dissected packet @p p. */
void show_stats_add(struct show_stats *s, const struct umpa_pkt *p);
/** Print the tables to @p f. Returns -1 if memory ran out while counting (the tables are incomplete). */
int show_stats_print(struct show_stats *s, FILE *f);
/** Free (NULL is fine). */
void show_stats_free(struct show_stats *s);

int cmd_build(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_sr(int argc, char **argv);
int cmd_tls(int argc, char **argv);
int cmd_ifaces(int argc, char **argv);
int cmd_sniff(int argc, char **argv);

/** `umpa fields [PROTO]`: what can be built, from the protocol tables (tools/cmd_fields.c). */
int cmd_fields(int argc, char **argv);

/** `umpa shell`: the interactive Lua prompt (tools/cmd_shell.c). */
int cmd_shell(int argc, char **argv);

/** `umpa run`: run a Lua template live or offline (tools/cmd_run.c). */
int cmd_run(int argc, char **argv);

/** `umpa proxy`: a TCP relay with Lua modules (tools/cmd_proxy.c). */
int cmd_proxy(int argc, char **argv);

/** `umpa replay`: replay a capture and check the answers (tools/cmd_replay.c). */
int cmd_replay(int argc, char **argv);

struct umpa_tls_opts;
/**
 * `umpa tls --sweep` (tools/tls_sweep.c): one conversation per TLS version x
 * cipher suite the linked OpenSSL can negotiate (narrowed by the versions and
 * cipher lists in @p base), at security level 0, into @p out (pcapng with a
 * secrets block per conversation when @p pcapng), keys also to @p keylog
 * (NULL: none); prints one line per combination and a summary, or JSON when
 * @p json.  @p base gives the TCP and other settings.  Returns an exit code.
 */
int tls_sweep(const struct umpa_tls_opts *base, const char *out, int pcapng, const char *keylog, int json);

#endif
