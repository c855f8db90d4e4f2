/* run_internal.h - internal: between the template runtime's files (templates/run.c, templates/run_tcp.c).
 *
 * Not installed, not exported (names end with an underscore).  run.c owns the
 * run (its Lua state, loop, I/O, counters, output file); run_tcp.c adds the
 * TCP endpoints and live TLS sessions a template serves (tcp.listen,
 * tls.serve) on top of it.
 */
#ifndef UMPA_RUN_INTERNAL_H
#define UMPA_RUN_INTERNAL_H

#include <limits.h>
#include <stdio.h>

#include "umpa_capfile.h"
#include "umpa_expect.h"
#include "umpa_live.h"
#include "persona_lua.h"
#include "umpa_lua.h"
#include "umpa_persona.h"
#include "umpa_run.h"

struct lua_State;
struct rt_tcp;

/** Most interfaces one run opens. */
#define RUN_MAX_IFACES 16
/** Most log sinks. */
#define RUN_MAX_SINKS 4

struct rt_bridge;

struct rt_iface {
	struct umpa_run *r;
	char name[64];
	struct umpa_cap *cap;
	struct umpa_inj *inj;
	struct umpa_fdsrc *src;
	unsigned mtu;         /* the link's MTU (0: unknown) */
	struct rt_bridge *br; /* frames from here go to this bridge, not to the rules */
	int br_dir;           /* which of its directions (0: ab, 1: ba) */
};

/* One direction of a bridge: the impairment and where its frames leave. */
struct rt_bdir {
	struct rt_bridge *b;
	int dir;
	struct umpa_impair *m;
	uint64_t too_big;   /* frames longer than the outgoing link carries */
	uint64_t repaired;  /* frames whose offloads were done here (checksum, segmentation) */
	uint64_t segmented; /* segments cut from TCP frames over the MTU */
};

/* bridge(a, b): frames from interface a leave on b through dir[0] ("ab"),
 * from b on a through dir[1] ("ba"). */
struct rt_bridge {
	struct umpa_run *r;
	size_t ifx[2];
	int repair; /* do what the sender's offloads left undone (br:repair) */
	struct rt_bdir dir[2];
	struct rt_bridge *next;
};

struct rt_counter {
	char *name;
	uint64_t v;
	const uint64_t *src; /* kept elsewhere (a bridge's counters), or NULL */
};

static inline uint64_t ctr_val(const struct rt_counter *c)
{
	return c->src ? *c->src : c->v;
}

struct rt_param {
	char *name, *type, *value, *def, *help;
	int has_min, has_max; /* declared range (int and number parameters) */
	double min, max;
};

struct rt_rule {
	struct umpa_run *r;
	int id;        /* 1-based, as the template sees it */
	char what[24]; /* "rule ID", for its callback's errors */
	int ref;       /* the Lua function */
	size_t in;     /* counter indices */
	size_t out;
	size_t in_bytes, out_bytes; /* rule.N.in_bytes, rule.N.out_bytes (frame bytes) */
};

struct rt_timer {
	struct umpa_run *r;
	struct umpa_timer *t;
	int ref;
	int every;
	lua_Integer id;
	struct rt_timer *next;
};

struct rt_exch {
	struct umpa_run *r;
	uint64_t no;                /* exchange number (1-based) */
	uint64_t req_frame;         /* frame of its first transmission */
	unsigned tries;             /* transmissions written */
	int ref_reply, ref_timeout; /* Lua functions or LUA_NOREF */
	int ref_on[UMPA_EXPECT_MAX_OUTCOMES];
	struct umpa_pred *pred[UMPA_EXPECT_MAX_OUTCOMES];
	unsigned non;
	uint64_t rhash; /* the request's bytes, to know its retransmissions */
	uint32_t rlen;
	struct rt_exch *next, *prev; /* pending list (freed with the run) */
};

/** Slots of the cache from a host's address to its counter (count_host). */
#define RUN_HOSTC 64

/* One slot: the counter index of host @addr's rx or tx counter. */
struct rt_hostc {
	int fam; /* AF_INET, AF_INET6; 0: empty */
	int tx;
	size_t idx;
	uint8_t addr[16];
};

struct rt_sink {
	umpa_run_log_fn fn;
	void *arg;
};

struct umpa_run {
	char path[PATH_MAX];
	char *allow_r[16], *allow_w[16]; /* realpaths */
	size_t nallow_r, nallow_w;
	char **sets; /* copies of "k=v" */
	size_t nsets;
	unsigned char *set_used;
	int strict;
	int offline;
	int params_only; /* stop at params{} (opts.params_only) */

	struct umpa_lua *U;
	lua_State *L;
	struct umpa_loop *loop;
	struct umpa_expect *ex;
	struct umpa_capw *w;
	struct umpa_capr *rd;
	int linktype;
	int64_t start_ns;
	void (*driven_out)(void *arg, unsigned ifidx,
			   const struct umpa_pkt *p); /* driven mode: where sent packets go */
	void *driven_arg;
	unsigned driven_nifs; /* driven mode: virtual interfaces */
	int stopped;
	int64_t busy_ns;        /* busy-poll the captures this long after a packet (0: sleep at once) */
	int64_t busy_off_until; /* the CPU was contended: no busy-poll before this (monotonic ns) */

	struct rt_iface ifs[RUN_MAX_IFACES];
	size_t nifs;
	struct rt_bridge *bridges; /* bridge() objects, freed with the run */
	struct umpa_pkt fix;       /* a bridged frame being repaired (its buffer reused) */
	struct umpa_pkt txq;       /* what send() transmits (its buffer reused; see send_one) */
	int txq_busy;              /* txq in use (a send inside a send takes its own) */
	uint8_t *seg;              /* one segment being cut */
	size_t seg_cap;

	struct rt_counter *ctr;
	size_t nctr, capctr;
	size_t *hash; /* open addressing: index + 1, 0 empty */
	size_t hcap;
	size_t c_rx, c_tx, c_match, c_timeout, c_err; /* fixed counters */
	size_t c_rx_bytes, c_tx_bytes;                /* rx.bytes, tx.bytes: frame bytes in and out */
	size_t nhosts;                                /* hosts with host.ADDR counters */
	struct rt_hostc hostc[RUN_HOSTC];             /* recent hosts' counters (count_host) */

	struct rt_param *par;
	size_t npar, cappar;
	int params_declared;

	struct rt_rule **rules;
	size_t nrules, caprules;
	struct rt_timer *timers;
	lua_Integer next_timer;
	struct rt_exch *exch;
	uint64_t nexch;

	/* what is being handled now */
	struct rt_rule *cur_rule;
	struct umpa_pkt *pend; /* received packet not written yet */
	const char *pend_comment;
	char pend_buf[160];
	uint64_t cur_frame;            /* frame number of the packet being handled (0: none) */
	uint64_t frames;               /* frames written so far */
	struct rt_exch *cur_exch;      /* exchange whose request is being sent */
	const struct rt_iface *cur_if; /* interface the packet being handled came in on (NULL offline) */

	/* personalities: bound to source addresses, applied in xmit */
	const struct umpa_pkt *cur_pkt;   /* the packet being handled (what a reply answers), or NULL */
	struct umpa_persona_set *persona; /* the bindings */
	struct umpa_persona_lua plua;     /* personality() and personality_closed() work on it */

	struct rt_sink sinks[RUN_MAX_SINKS];
	size_t nsinks;
	umpa_run_param_hook phook;
	void *phook_arg;

	struct rt_tcp *tcp;    /* listeners and connections (run_tcp.c), NULL until tcp.listen */
	FILE *keylog;          /* --keylog, or NULL */
	struct umpa_sbuf keys; /* key log lines not yet in a secrets block of the output */
	size_t tls_keys_done;  /* bytes of the state's tls{} key collector already written */
	int include_depth;     /* include() nesting */
	char search[8192];     /* where names are looked up (include) */

	struct umpa_err fail; /* first strict failure */
	int failed;
	struct umpa_sbuf sb;
	struct umpa_sbuf tnotes; /* final timeouts not yet marked in the output ("; " between) */
	struct umpa_sbuf cmt;    /* a frame's comment with those notes */
};

/** The run of Lua state @p L. */
struct umpa_run *umpa_run_get_(struct lua_State *L);

/** Send finished packet @p p on interface @p ifidx (offline: to the output only), counted and commented. */
int umpa_run_xmit_(struct umpa_run *r, struct umpa_pkt *p, size_t ifidx, struct umpa_err *e);

/** A callback failed: count, log, stop under --strict. */
void umpa_run_cb_failed_(struct umpa_run *r, const struct umpa_err *e);

/** Call the Lua function under @p nargs arguments with a fresh budget; failures counted.  Returns 0 or -1. */
int umpa_run_call_(struct umpa_run *r, int nargs, const char *what);

/** Add @p n to counter @p name (created at 0). */
void umpa_run_count_(struct umpa_run *r, const char *name, uint64_t n);

/** Log a line. */
void umpa_run_log_(struct umpa_run *r, enum umpa_run_level lvl, const char *line);

/** A TLS key log line (no newline): to --keylog and, before the next packet, to the output's secrets block. */
void umpa_run_keylog_(struct umpa_run *r, const char *line);

/** Is @p path (after realpath) under an --allow-read directory (the rule of file.read)?  1 or 0. */
int umpa_run_readable_(const struct umpa_run *r, const char *path);

/** Define tcp.listen, tcp.connect and tls.serve in the run's state (run_tcp.c). */
void umpa_run_tcp_open_(struct lua_State *L);

/** A received, dissected packet for the run's TCP endpoints (run_tcp.c); @p ifidx where it came in. */
void umpa_run_tcp_input_(struct umpa_run *r, const struct umpa_pkt *p, size_t ifidx);

/** Free every endpoint and listener (before the Lua state closes). */
void umpa_run_tcp_free_(struct umpa_run *r);

#endif
