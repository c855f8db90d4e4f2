/* umpa_run.h - the template runtime behind `umpa run`.
 *
 * A run is one template (a Lua script in the umpa_lua sandbox) on one loop:
 *  - live (opts.ifaces): the live clock, one capture handle and one injector
 *    per interface, received packets dispatched from the loop;
 *  - offline (opts.offline): the virtual clock driven by a capture file
 *    (umpa_loop_replay): its packets arrive at their timestamps, what the
 *    template sends goes only to the output file; the same input gives a
 *    byte-identical output and a week of timers passes in seconds;
 *  - neither: the template is loaded (parameters declared, rules made) but
 *    nothing runs; for `umpa run T --help` and the tests.
 *
 * The Lua API a template sees (templates/README.md has the guide):
 *
 *     params{ip={type="ipv4", default="10.0.0.1", help="address to answer for"}}
 *     on("icmp", {["ip.dst"]=param.ip, ["icmp.type"]="echo-request"}, function(p)
 *       send(reply(p, icmp{type="echo-reply"}))
 *     end)
 *     every(60, function() log("alive; answered", counter("rule.1.out")) end)
 *     function on_param(name, value) log("now", name, "=", value) end
 *
 *   params{NAME={type=, default=, help=}, ...}  declare parameters: types
 *       string, int, number, bool, ipv4, ipv6, mac, list (comma separated),
 *       ipv4net (an address or a prefix "10.99.0.0/16": a range a template claims);
 *       values from --set override defaults, checked by type; a --set of a
 *       name no template declared is an error naming it.  Read as param.NAME.
 *       An int or number parameter may declare min= and max=: values outside
 *       are refused wherever they come from (default, --set, PATCH /params).
 *   on([bpf,] [fields,] fn)  a persistent rule: BPF text and/or a table of
 *       field predicates ({["ip.dst"]="10.0.0.5"}, a list value = any of) or
 *       a predicate string ("ip.ttl<5"); fn(p, iface) gets the packet object
 *       and the name of the interface it came in on (nil offline).
 *       Returns the rule number; each rule counts rule.N.in (matches) and
 *       rule.N.out (packets sent from its callback).
 *   expect{send=pkt, on={{fields, fn}, ...}, timeout=s, retries=n,
 *       on_reply=fn, on_timeout=fn}   an exchange on sched/umpa_expect.h.
 *   after(s, fn), every(s, fn) -> timer with :cancel(); at(t, fn) absolute.
 *   send(pkt [, iface])  build and send (a layer stack, packet, list) on
 *       iface (name or number; default: where the packet being handled came
 *       in, else the first interface).
 *   reply(p, layer...)   a stack answering p: ether/ip/ipv6 swapped from p,
 *       UDP/TCP ports swapped, ICMP id/seq echoed, TCP ack = seq + len;
 *       the given layers replace the ones of the same protocol.
 *   log(...), count(name [, n]), counter(name), now(), stop().
 *   fail(msg)            stop the run as failed: umpa_run_run returns msg.
 *   mode()               "live", "offline" or "load" (no I/O: --help).
 *   bridge(a, b) -> br   frames from interface a leave on b and back, in C,
 *       through a sched/umpa_impair.h impairment per direction (a frame on
 *       a bridged interface goes to no rule); br:set("ab"|"ba"|"both",
 *       {delay=, loss=, rate=, ...}), br:seed(n), br:repair(on) (cut TCP
 *       frames over the MTU, finish checksums: a veth sender's offloads);
 *       counters ab.* and ba.*.
 *       Offline the input goes a -> b and what leaves is written to -w.
 *   report(...)  a line of the template's result (a scan's table): the
 *       log sinks get it at level UMPA_RUN_RESULT (umpa run: stdout).
 *   iface([n | name]) -> {name=, mac=, ip=, prefix=, ip6=}: a live run's
 *       interface as the kernel has it (default the first); nil offline.
 *   file.read(path), file.write(path, data), file.append(path, data): only
 *       under --allow-read / --allow-write directories (checked after realpath).
 *   on_param(name, value): a global function, called after a parameter
 *       changed at run time (umpa_run_param_set).
 *   personality(addr_or_cidr, name_or_table [, {uptime=s}]) binds a host
 *       personality to source addresses: everything sent from them is
 *       shaped (templates/umpa_persona.h); personality_closed(p) -> the
 *       RST / ICMP unreachable (or nil: silence) the host p was sent to
 *       gives at a closed port.
 *
 * Every callback runs with the sandbox's per-call limits.  A callback that
 * fails (error, limit) is counted ("errors"), logged with its file:line, and
 * the run goes on; with opts.strict the run stops and umpa_run_run returns
 * the error.
 *
 * Library code: nothing here prints or exits; log lines go to the log sink.
 * Single-threaded: every function is called from the loop's thread (a
 * control plane runs its evhttp on umpa_run_loop()'s event base).
 */
#ifndef UMPA_RUN_H
#define UMPA_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_sbuf.h"
#include "umpa_sched.h"

/** A running (or loaded) template (opaque). */
struct umpa_run;

/** How to run a template (zero it, then fill what you need). */
struct umpa_run_opts {
	const char *tmpl;          /**< path ("x.lua", "./x") or shipped name ("icmp-host") */
	const char *search;        /**< ':'-separated dirs for names (NULL: UMPA_TEMPLATE_PATH, then the install dir) */
	const char *const *ifaces; /**< live interfaces (-i), or NULL */
	size_t nifaces;            /**< their number */
	const char *offline;       /**< capture file to replay on the virtual clock, or NULL */
	const char *out;           /**< pcapng of everything sent and received (-w), or NULL */
	const char *const *sets;   /**< "key=value" parameter settings (--set), or NULL */
	size_t nsets;              /**< their number */
	const char *const *allow_read;  /**< directories file.read may read under */
	size_t nallow_read;             /**< their number */
	const char *const *allow_write; /**< directories file.write/append may write under */
	size_t nallow_write;            /**< their number */
	int strict;                     /**< a failing callback stops the run with its error */
	size_t mem_limit;               /**< Lua memory cap in bytes (0: the sandbox default) */
	unsigned long long instr_limit; /**< VM instructions per callback (0: the sandbox default) */
	const char *keylog;             /**< append the TLS keys of tls.serve sessions here (SSLKEYLOGFILE), or NULL */
	int params_only;                /**< stop the template at params{}: its parameters declared, nothing after
					 *   runs, so a template that checks its values (a required one) still
					 *   lists them (`umpa run T --help`) */
	/**
	 * Driven offline mode (`umpa replay --template`): no interface and no
	 * input file; the virtual clock starts at @c driven_start_ns, packets
	 * come in through umpa_run_feed and every packet the template sends
	 * goes to @c driven_out with the virtual interface it leaves by (after
	 * -w, if any).  The caller runs the loop.  With @c driven_nifs 2,
	 * bridge(1, 2) joins the two virtual interfaces: what is fed on one
	 * leaves the other through the impairment (flaky-link as the device).
	 */
	void (*driven_out)(void *arg, unsigned ifidx, const struct umpa_pkt *p);
	void *driven_arg;        /**< for driven_out */
	unsigned driven_nifs;    /**< virtual interfaces of a driven run (0: 1) */
	int64_t driven_start_ns; /**< the clock's start (a capture's first time stamp) */
	int driven_linktype;     /**< link type of what is fed and sent (0: Ethernet) */
	/**
	 * Live: after a packet, keep looking at the captures (busy-poll) for
	 * this many microseconds of quiet before sleeping, so that a packet
	 * following soon is handled without a wakeup (0 or negative: never,
	 * sleep at once: the default; 200 suits a ping flood).  Off by
	 * default: two runs spinning on a loaded 2-CPU machine delayed ARP
	 * answers by seconds (tests/netns/hosts.sh run twice at once).
	 */
	long busy_poll_us;
};

/**
 * Resolve a template name: @p tmpl containing a '/' or ending in ".lua" is a
 * path; otherwise NAME.lua is looked up in @p search (':'-separated; NULL:
 * $UMPA_TEMPLATE_PATH, then UMPA_TEMPLATEDIR).  Writes the path into @p out
 * (@p n bytes).  Returns 0 or -UMPA_ENOENT ("template 'x': not found in
 * DIRS").
 */
int umpa_run_find(const char *tmpl, const char *search, char *out, size_t n, struct umpa_err *e);

/** One shipped template as umpa_run_list sees it. */
typedef void (*umpa_run_list_cb)(void *arg, const char *name, const char *path, const char *summary);

/**
 * List the templates in @p search (as umpa_run_find; a name found in two
 * dirs is listed once, the first), sorted by name, with the one-line summary
 * from each file's header comment ("-- NAME: SUMMARY" on its first line).
 * Returns the number listed or a negative error.
 */
int umpa_run_list(const char *search, umpa_run_list_cb cb, void *arg, struct umpa_err *e);

/**
 * Create a run: resolve and load the template in a fresh sandbox, open the
 * interfaces or the offline input and the output file, run the template's
 * top level (it declares parameters and rules; --set values are applied and
 * type-checked when it calls params{}; unknown names fail after it).
 * Returns the run, or NULL with @p e set to one line naming file:line, the
 * parameter or the interface.
 */
struct umpa_run *umpa_run_new(const struct umpa_run_opts *o, struct umpa_err *e);

/**
 * Run until @p duration_ns has passed on the run's clock (<= 0: no limit),
 * until umpa_run_stop, until the template calls stop(), or (offline) until
 * the input ends (timers then run up to the last packet's time, or to start
 * + duration when that is given and later).  Then the output file is flushed
 * and closed (packets sent afterwards are not written).  Returns 0, or a
 * negative error: I/O (the output's included), a failing callback under
 * opts.strict, the loop's.
 */
int umpa_run_run(struct umpa_run *r, int64_t duration_ns, struct umpa_err *e);

/**
 * Driven mode (umpa_run_opts.driven_out): packet @p p (dissected here if
 * it has no layers) arrives now, at the loop's time, on virtual interface
 * @p ifidx (0-based): the template's rules, exchanges and TCP services see
 * it as a received packet, or its bridge() takes it when that interface is
 * bridged.  Returns 0, or -UMPA_EINVAL when the run is not driven or has
 * no such interface.
 */
int umpa_run_feed(struct umpa_run *r, unsigned ifidx, struct umpa_pkt *p, struct umpa_err *e);

/** Stop the run after the current callback (from a callback or signal hook). */
void umpa_run_stop(struct umpa_run *r);

/** Flush and close the output, free everything.  NULL is fine.  Returns NULL. */
struct umpa_run *umpa_run_free(struct umpa_run *r);

/**
 * The run's loop: a control plane adds its timers and, on a live loop, its
 * evhttp on umpa_loop_event_base(umpa_run_loop(r)); a tool adds signal hooks.
 */
struct umpa_loop *umpa_run_loop(struct umpa_run *r);

/**
 * The run's personalities (templates/umpa_persona.h): what the template
 * bound with personality(); every packet the run sends is shaped by them.
 * For code that builds its own segments (a TCP endpoint announcing the
 * personality's MSS, window scale and timestamps: umpa_persona_find).
 */
struct umpa_persona_set *umpa_run_personas(struct umpa_run *r);

/** The resolved path of the template file. */
const char *umpa_run_path(const struct umpa_run *r);

/* ---- counters ---- */

/**
 * One counter.  Names: "rx", "tx" (packets received/sent), "rx.bytes",
 * "tx.bytes" (their frame bytes), "rule.N.in", "rule.N.out" (packets a rule
 * matched, and sent from its callback), "rule.N.in_bytes", "rule.N.out_bytes",
 * "matches", "timeouts", "errors", "host.ADDR.rx"/".tx" (per
 * simulated host: per source address the template sends from), and every
 * name a template gave count().
 */
typedef void (*umpa_run_counter_cb)(void *arg, const char *name, uint64_t value);

/** Call @p cb for each counter in a stable order (first use). Returns their number. */
size_t umpa_run_counters(const struct umpa_run *r, umpa_run_counter_cb cb, void *arg);

/** Value of counter @p name (0 when it does not exist). */
uint64_t umpa_run_counter(const struct umpa_run *r, const char *name);

/**
 * Append the counters as one JSON object ({"rx":3,"tx":3,...}) to @p b.
 * Returns 0 or -UMPA_ENOMEM.
 */
int umpa_run_counters_json(const struct umpa_run *r, struct umpa_sbuf *b);

/* ---- parameters ---- */

/** One declared parameter (strings valid until the next change of it or umpa_run_free). */
struct umpa_run_param {
	const char *name;
	const char *type;  /**< "string", "int", "number", "bool", "ipv4", "ipv6", "mac", "list", "ipv4net" */
	const char *value; /**< current value as text */
	const char *def;   /**< default as text ("" when none) */
	const char *help;  /**< one line ("" when none) */
};

/** Number of declared parameters. */
size_t umpa_run_param_count(const struct umpa_run *r);

/** Fill @p out with parameter @p i (declaration order). Returns 0 or -UMPA_ERANGE. */
int umpa_run_param_get(const struct umpa_run *r, size_t i, struct umpa_run_param *out);

/**
 * Would umpa_run_param_set(@p name, @p value) succeed?  The same checks
 * (the name is declared, the text is of its type and in its declared range;
 * not the template's own on_param), nothing changed: a
 * caller with several changes checks them all before applying any.
 * Returns 0, -UMPA_ENOENT or -UMPA_EINVAL with the setter's messages.
 */
int umpa_run_param_check(const struct umpa_run *r, const char *name, const char *value, struct umpa_err *e);

/**
 * Change parameter @p name to @p value (text, checked as its type and its
 * declared range; JSON callers pass numbers and booleans as their text).
 * Then the template's on_param(name, value) runs: when it raises an error
 * the template refuses the value, the old value is restored (and on_param
 * told of it again) and -UMPA_EINVAL returned with "parameter 'loss': '2'
 * refused: MESSAGE".  On success the on_param hook runs.  Returns 0,
 * -UMPA_ENOENT ("unknown parameter 'x'") or -UMPA_EINVAL ("parameter
 * 'ip': '10.0.0' is not an ipv4 address", "parameter 'loss': '2' is not
 * at most 1").
 */
int umpa_run_param_set(struct umpa_run *r, const char *name, const char *value, struct umpa_err *e);

/**
 * Append the parameters as one JSON object to @p b:
 * {"ip":{"type":"ipv4","value":"10.0.0.1","default":"10.0.0.1","help":"..."},...}.
 * Returns 0 or -UMPA_ENOMEM.
 */
int umpa_run_params_json(const struct umpa_run *r, struct umpa_sbuf *b);

/** Called after a parameter changed (after the template's on_param). */
typedef void (*umpa_run_param_hook)(void *arg, const char *name, const char *value);

/** Set the parameter-change hook (one; NULL removes it). */
void umpa_run_on_param(struct umpa_run *r, umpa_run_param_hook cb, void *arg);

/* ---- log ---- */

/** Log levels. */
enum umpa_run_level {
	UMPA_RUN_INFO = 0,   /**< log() from the template */
	UMPA_RUN_ERROR = 1,  /**< a failing callback (file:line: message) */
	UMPA_RUN_RESULT = 2, /**< report() from the template: a line of its result */
};

/**
 * A log line (no newline) at wall time @p ts_ns (virtual time offline).
 * Without a sink, lines are dropped.
 */
typedef void (*umpa_run_log_fn)(void *arg, enum umpa_run_level lvl, int64_t ts_ns, const char *line);

/**
 * Add a log sink (up to 4: the tool's stderr and a control plane's event
 * stream).  Returns 0 or -UMPA_ERANGE when full.
 */
int umpa_run_add_log(struct umpa_run *r, umpa_run_log_fn fn, void *arg, struct umpa_err *e);

#endif
