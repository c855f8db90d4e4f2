/* lua.c - the Lua 5.4 binding: sandboxed packet expressions and templates.
 *
 * The language (what a CLI expression and a template see)
 * --------------------------------------------------------
 * Constructors: one global per protocol name and alias that is a Lua
 * identifier (ether, eth, ip, ipv6, udp, tcp, ...; names with dots are
 * skipped; a name never replaces an existing global).  `ip{dst="10.0.0.2",
 * ttl=7}` returns a layer spec; field keys are short names, Wireshark names
 * or aliases (["ip.ttl"]=7 works too).  An unknown key fails at once:
 * "ip: unknown field 'tll' (fields: version, hdr_len, ...)".
 *
 * Values:
 *   - an integer (a float with an integer value is accepted, 1.5 is not);
 *     negative only for signed or 64-bit fields (two's complement); for an
 *     address field an integer is its big-endian value (dst=0x0a000001);
 *   - a string: parsed by the field (names "echo-request", flag letters
 *     "SA", addresses, hex bytes, a VAR field's spec "mss=1460,nop");
 *   - a boolean: true is 1, false 0;
 *   - a list {a, b, ...}: one packet per element (elements may be ranges;
 *     nested lists flatten);
 *   - range(a, b[, step]): a..b inclusive (like Scapy's (a, b) tuples);
 *     step defaults to 1 (or -1 when b < a); an empty range builds nothing;
 *   - for a VAR field (options, records) a list of strings is ONE value, its
 *     items joined by ',' (options={"mss=1460", "nop"} = "mss=1460,nop");
 *     to try several VAR values use alt{...}: options=alt{"mss=1460",
 *     {"mss=536", "nop"}} builds two packets.  alt{...} works for every
 *     field and means the same as a list there;
 *   - a prefix for an IPv4 or IPv6 address field: dst="10.0.0.0/28" or
 *     dst="fd00::/126" is one packet per address, in ascending order,
 *     network and broadcast addresses included, host bits of the address
 *     cleared (as Scapy's Net); in a list it adds its addresses.  A /8
 *     counts 16,777,216 packets against the cap below;
 *   - nil: the field is absent (keeps its default or automatic value).
 *
 * Fields are set in table order, so a sub-field (ip.flags.df) set together
 * with the field that contains it (ip.flags) wins; fields that vary are set
 * after the fixed ones.
 *
 * Specs read and write their fields before building (spec.ttl = 5; reading
 * gives what was set, nil for defaults).  `/` stacks specs into a stack
 * (copies: changing a spec later does not change a stack made from it); a
 * string on either side is a raw payload layer.  stack[i] is its i-th layer
 * spec (live: stack[2].dport = 22 changes the stack), stack.ip the first ip
 * layer, #stack the layer count.
 *
 * Expansion: the cartesian product of every list and range, as Scapy
 * iterates: the outermost layer varies slowest and, inside one layer, the
 * field later in the protocol's table varies slowest.  The total is capped
 * (the caller's max; 1,000,000 by default): "expression expands to more than
 * N packets" fails before anything is built.
 *
 * Packets: packets(v) builds v (a spec, stack, packet, string or a nested
 * array of those) into an array of packet objects.  p.ip is the first ip
 * layer (nil when absent), p[2] the second layer, p[-1] the last; p.ip.ttl
 * reads (integers for numbers, booleans for BOOL fields, text for
 * addresses and bytes, nil for VAR fields and absent bytes) and
 * p.ip.ttl = 5 writes in place.  A written packet is finished again before
 * its bytes are used (#p, p:bytes(), p:show(), p:json(), p:tree(), building
 * it, tostring): automatic fields the user never set are recomputed, fields
 * the user set are kept.  p.ip.chksum = nil forgets that the field was set
 * (an automatic field is then recomputed, any other goes back to its
 * default).  p:copy() duplicates a packet.
 *
 * Sandbox: base (without dofile, loadfile, print, warn; load accepts only
 * text chunks of at most 4 MiB; setmetatable refuses __gc; pcall and xpcall
 * do not catch a limit), string (without string.dump; its pattern functions
 * bounded), table, math and utf8.  No io,
 * os, package, require, debug or coroutine.  Memory is capped (256 MiB by
 * default), counting everything a script makes: Lua's objects and what the
 * binding's objects hold outside Lua (a packet's bytes, build plans, the
 * tls{} key log; charged before they are allocated, given back by __gc).
 * Past it an allocation fails with "memory limit (256 MiB) exceeded" (Lua's
 * own, caught by pcall: "not enough memory"; a memory error may be caught,
 * unlike the limits below); a packet object holds about 1.7 KB plus its
 * bytes.  Nothing outside Lua is made while lua_close runs finalizers (what
 * they made would never be finalized).  So are, per call from the host, VM
 * instructions (1e9 by default:
 * "instruction limit reached"), CPU time (5 s) and wall-clock time (10 s:
 * "time limit exceeded (5 s CPU)"), so a script can neither exhaust the
 * machine nor hang.  "Time" below says how the limits reach finalizers
 * (refused), xpcall handlers, __close, metamethods and C functions (the
 * pattern matcher of lua_strpat.c, table.move, the TLS pump of tls{}).  The
 * budget restarts at each umpa_lua_* entry point, umpa_lua_pcall and
 * umpa_lua_set_limits();
 * once it runs out every instruction fails and pcall re-raises, so the
 * error cannot be swallowed.  The count hook makes tight arithmetic loops
 * about twice as slow; code that mostly calls constructors and reads
 * fields does not notice.  Nothing prints and nothing exits.
 *
 * Speed: building compiles a stack once (layers pushed with their constant
 * fields into a base packet, every varying value parsed in advance), then
 * each packet is a copy of the base, a few field writes and finish, in one
 * reused umpa_pkt: no Lua and no allocation per packet.  An array holding
 * the same stack many times compiles it once; umpa_lua_build keeps the last
 * 256 expressions compiled.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_internal.h"
#include "umpa_lua.h"
#include "umpa_near.h"
#include "umpa_sbuf.h"
#include "umpa_lua_tls.h"
#include "umpa_protos.h"
#include "umpa_render.h"

/** Default memory cap of a state, in bytes. */
#define LUA_MEM_DEFAULT ((size_t)256 << 20)
/** Default VM instruction budget per call from the host. */
#define LUA_INSTR_DEFAULT 1000000000ull
/** The count hook runs every this many instructions. */
#define HOOK_EVERY 1000
/** Default CPU seconds per call from the host. */
#define LUA_CPU_DEFAULT 5.0
/** Default wall-clock seconds per call from the host. */
#define LUA_WALL_DEFAULT 10.0
/** The timer interrupts a running script this often (ns) so the hook looks at the clocks. */
#define TICK_NS 10000000L
/** The count hook also reads the clocks every this many of its calls (when no tick came). */
#define POLL_EVERY 64
/** Largest chunk load() compiles (bytes of source). */
#define LOAD_MAX (4 << 20)
/** Default expansion cap. */
#define MAX_DEFAULT 1000000ul
/** Deepest nesting of arrays of things to build, and of lists in values. */
#define MAX_DEPTH 32

#define MT_SPEC "umpa.spec"
#define MT_STACK "umpa.stack"
#define MT_RANGE "umpa.range"
#define MT_ALT "umpa.alt"
#define MT_PKT "umpa.packet"
#define MT_LAYER "umpa.layer"
#define MT_PLAN "umpa.plan"
#define MT_NET "umpa.net"

/* ---- reply()'s compiled answers (see "reply: the fast path" below) ---- */

/** Arguments after p a compiled reply takes (layer specs). */
#define RPLAN_ARGS 6
/** Fields of an answer taken from the packet answered. */
#define RPLAN_HOLES 12
/** Compiled replies kept per state (an ARP and an echo answer, v4 and v6...). */
#define RPLAN_SLOTS 4
/** Stack positions of reply()'s work the recorder maps to answer layers. */
#define RREC_POS 64
/** Keys met once that reply() remembers (a key met again within these is compiled). */
#define RMISS 8

enum { RH_COPY, RH_TCPACK };

/* One field of the answer filled from the packet answered: layer @li's field
 * @f from p's layer @pli field @g (RH_COPY), or TCP's ack from p's layer
 * @pli (seq + payload + SYN + FIN, RH_TCPACK). */
struct rhole {
	uint8_t kind;
	uint8_t li, pli;
	const struct umpa_field *f, *g;
};

/* What decides reply()'s answer apart from the packet's field values: the
 * packet's layers, which echo request is echoed (layer + 1, 0: none) and
 * whether it carries data, and the specs given (by identity and stamp). */
struct rkey {
	unsigned nl;
	const struct umpa_proto *pl[UMPA_MAX_LAYERS];
	int echo, paynz, nargs;
	const void *arg[RPLAN_ARGS];
	uint64_t stamp[RPLAN_ARGS];
};

/* What reply() did on its slow path, recorded to compile it. */
struct rrec {
	int on, bad;
	unsigned n;
	struct rhole h[RPLAN_HOLES];
	int sidx[RPLAN_HOLES]; /* the stack index of the spec each hole was written into */
	int pos[RREC_POS];     /* stack index -> layer of the answer, or -1 */
	int echo_li;           /* p's layer whose payload ends the answer, or -1 */
};

struct plan;

/* A compiled reply (a userdata: uservalue 1 the plan holding its base,
 * uservalue 2 the array of the specs of its key, kept alive so no other
 * spec can take their addresses). */
struct rplan {
	struct rkey k;
	struct plan *P; /* P->base: the answer's layers and constant fields */
	struct rhole h[RPLAN_HOLES];
	unsigned nh;
	int echo_li;
};

struct umpa_lua {
	lua_State *L;
	size_t mem;                          /* bytes Lua holds, and bytes held outside it for the script */
	size_t mem_cap;                      /* most bytes the script may hold */
	size_t sb_charged;                   /* bytes of sb charged to mem */
	int mem_refused;                     /* l_alloc refused the last growth: the next is Lua's retry */
	unsigned long long evals;            /* calls from the host so far (umpa_lua_eval_) */
	int closing;                         /* lua_close runs: nothing new may need a finalizer */
	unsigned long long instr_cap;        /* VM instructions per host call */
	unsigned long long hooks;            /* count-hook calls since the budget restarted */
	unsigned long long charged;          /* instructions charged by C functions (umpa_lua_charge_) */
	struct umpa_lua_deadline time;       /* time limits */
	double cpu_used;                     /* CPU seconds of finished calls from the host */
	struct timespec wall0;               /* when the running call from the host started */
	struct timespec cpu0;                /* the thread's CPU clock then (estimated, see cpu_spent) */
	int cpu0_known;                      /* cpu0 was taken */
	struct timespec cpu_ref;             /* the thread's CPU clock, read at most TICK_NS of wall before wall0 */
	struct timespec cpu_ref_wall;        /* when (CLOCK_MONOTONIC) cpu_ref was read; 0: never */
	int sched_fd;                        /* /proc/thread-self/schedstat, or -1 (run_wait) */
	int64_t wait_ref;                    /* its run-queue wait (ns) when cpu_ref was read; -1: unknown */
	timer_t timer;                       /* ticks while calls run (see "Time") */
	pthread_t timer_thread;              /* the thread it signals */
	int have_timer;                      /* 1: made; -1: cannot be had */
	volatile sig_atomic_t armed;         /* the timer is ticking */
	volatile sig_atomic_t running;       /* a call from the host runs */
	volatile sig_atomic_t tick;          /* the timer ticked since the hook last looked */
	int tripped;                         /* a limit was hit: every instruction re-raises it */
	int code;                            /* umpa_errcode hint for the error being raised, or 0 */
	int depth;                           /* entry points running (they nest through callbacks) */
	int plan_busy;                       /* the shared plan is in use by a build */
	int nchunks;                         /* expressions in the cache */
	struct umpa_pkt scratch;             /* for validating and pre-parsing values */
	const struct umpa_proto *scratch_pr; /* scratch holds one reusable layer of this */
	struct umpa_sbuf sb;                 /* for rendering */
	struct {                             /* reply()'s field lookups (names are literals: compared by address) */
		const struct umpa_proto *pr;
		const char *name;
		const struct umpa_field *f;
	} rfields[48];
	unsigned nrfields;
	uint64_t wgen;                   /* the last spec stamp handed out (lspec.stamp) */
	struct rrec rrec;                /* reply()'s recorder */
	struct rplan *rp[RPLAN_SLOTS];   /* the compiled replies (held by the registry's cache) */
	unsigned rp_next;                /* the slot the next compiled reply takes */
	uint64_t rmiss[RMISS];           /* hashes of the last reply keys met and not compiled */
	unsigned rmiss_next;             /* the entry the next miss takes */
	unsigned long npending;          /* lazy reply stacks made since the last flush */
	const void *mts[10];             /* the metatable of each enum utype (utype compares addresses) */
	unsigned long rcompiled, rbuilt; /* replies compiled, answers built from them (umpa_lua_reply_stats_) */
};

/* A layer spec: a protocol; its uservalue 1 is the field table (index+1 -> value). */
struct lspec {
	const struct umpa_proto *proto;
	uint64_t set;    /* bit i: field i has a value */
	uint64_t varies; /* bit i: that value is a list or a range */
	uint64_t stamp;  /* changes with every write (a compiled reply keyed on it is stale then) */
};

/* Record in the masks what was stored for field @fi (the value at @idx). */
static void spec_mark(lua_State *L, struct lspec *s, unsigned fi, int idx);
/* Make the layers of the stack at @idx when it is a lazy one (reply()'s fast path). */
static void stack_ready(lua_State *L, int idx);
/* Before a spec or a packet is written: make the layers of every lazy stack
 * made since the last flush, while what they answer is as it was. */
static void reply_flush(lua_State *L);

/* A stack: its uservalue 1 is the array of layer specs and payload strings.
 * A lazy one (made by reply()'s fast path) has none yet: uservalue 2 is its
 * compiled reply, 3.. reply()'s arguments (p first); stack_ready makes the
 * layers when something other than a build looks at it. */
struct lstack {
	int lazy;
	int nargs;        /* lazy: the arguments in uservalues 3.. */
	struct rplan *rp; /* lazy: its compiled reply */
};

/* range(a, b, step): n values a, a+step, ... */
struct lrange {
	int64_t a, b, step;
	uint64_t n;
};

/* An address prefix (dst="10.0.0.0/28", as Scapy's Net): its n addresses
 * base, base+1, ... in ascending order, network and broadcast included. */
struct lnet {
	uint8_t base[16]; /* the prefix, host bits cleared */
	uint8_t alen;     /* 4 (IPv4) or 16 (IPv6) */
	uint8_t plen;     /* prefix length */
	uint64_t n;       /* addresses (UINT64_MAX: 2^64 or more) */
};

/* A built packet. */
struct lpkt {
	struct umpa_pkt p;
	int dirty;      /* a field was written: finish again before use */
	size_t charged; /* bytes of p.data charged to the memory cap */
};

/* A view of one layer of a packet; uservalue 1 is the packet. */
struct llayer {
	unsigned li;
};

/* ---- compiled stacks ---- */

enum { CV_U64, CV_BYTES, CV_STR };

/* One pre-parsed value. */
struct cval {
	uint8_t kind;
	uint32_t n;    /* CV_BYTES: length */
	uint64_t u;    /* CV_U64: value; CV_BYTES: offset in plan->bytes */
	const char *s; /* CV_STR: the VAR spec (a Lua string kept alive by the spec) */
};

/* One varying field. */
struct pvar {
	unsigned li;
	const struct umpa_field *f;
	int is_range;
	int64_t start, step; /* is_range */
	int is_net;          /* the addresses of a prefix: start = base + cur */
	uint8_t net[16];     /* is_net: the prefix, and its length in bytes */
	uint8_t alen;
	size_t first; /* !is_range: first value in plan->vals */
	uint64_t n;   /* how many values */
	uint64_t cur; /* odometer digit */
};

/* What one build call reuses for every stack it builds (a userdata, so a Lua
 * error anywhere leaks nothing). */
struct plan {
	struct umpa_pkt base; /* layers pushed, constant fields set */
	struct umpa_pkt pkt;  /* the packet handed to the callback, reused */
	struct pvar *vars;
	size_t nvars, capvars;
	struct cval *vals;
	size_t nvals, capvals;
	uint8_t *bytes;
	size_t nbytes, capbytes;
	const void *key; /* the object compiled last (its layers are in base), or NULL */
	uint64_t total;  /* how many packets it builds */
	size_t charged;  /* bytes of the arrays and packets above charged to the memory cap */
};

/* One build: where the packets go. */
struct bctx {
	struct umpa_lua *U;
	unsigned long max;
	unsigned long count;
	umpa_lua_pkt_cb cb;
	void *arg;
	struct umpa_err *e;
	int cb_rc;          /* the callback's error, if it stopped the build */
	const char *prefix; /* "expression 1: " for errors of the build phase */
	struct plan *plan;
	const void *count_key; /* the spec or stack counted last, and its count */
	uint64_t count_val;
};

/* Registry keys (their addresses): the protocol-name table, and per protocol
 * (keyed by the proto pointer) its field-name table. */
static const char protos_key;
/* Registry key of the table metatable -> enum utype. */
static const char types_key;
/* Registry keys of the shared build plan and of the compiled-expression cache. */
static const char plan_key, chunks_key;
/* Registry keys of reply()'s compiled answers (an array of RPLAN_SLOTS) and of
 * the lazy stacks made since the last flush (a weak-keyed set). */
static const char rcache_key, pending_key;
/** Expressions whose compiled chunk is kept (then the cache starts over). */
#define CHUNK_CACHE 256

/* What one of our objects is (by its metatable). */
enum utype { T_NONE, T_SPEC, T_STACK, T_RANGE, T_ALT, T_PKT, T_LAYER, T_PLAN, T_NET, T_NTYPES };
_Static_assert(T_NTYPES <= 10, "struct umpa_lua.mts holds every type");

static struct umpa_lua *get_U(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

/* The type of our object at @idx, or T_NONE: one lookup of its metatable. */
static enum utype utype(lua_State *L, int idx)
{
	struct umpa_lua *U;
	const void *mt;
	lua_Integer t;

	if (!lua_getmetatable(L, idx))
		return T_NONE;
	U = get_U(L);
	mt = lua_topointer(L, -1);
	for (unsigned i = 0; i < T_NTYPES; i++)
		if (U->mts[i] == mt) { /* the metatables live as long as the state: their addresses do */
			lua_pop(L, 1);
			return (enum utype)i;
		}
	lua_rawgetp(L, LUA_REGISTRYINDEX, &types_key);
	lua_insert(L, -2);
	lua_rawget(L, -2);
	t = lua_tointeger(L, -1);
	lua_pop(L, 2);
	return (enum utype)t;
}

/* The userdata at @idx when it is of type @t, else NULL. */
static void *uget(lua_State *L, int idx, enum utype t)
{
	int ty = lua_type(L, idx);

	if (ty != LUA_TUSERDATA)
		return NULL;
	return utype(L, idx) == t ? lua_touserdata(L, idx) : NULL;
}

/* ---- memory, instruction and time limits ---- */

/* What a full collection forced by the cap must leave free for the script to go on (see l_alloc). */
#define MEM_SLACK(U) ((U)->mem_cap / 16)
/* Memory outside Lua comes back only in finalizers, which Lua's emergency collection (the one
 * it runs when l_alloc refuses) does not call: outside memory may fill the cap but for this
 * reserve, kept for Lua's own allocations, and the collection a charge forces calls them. */
#define MEM_RESERVE(U) ((U)->mem_cap / 16)

/* Room for @n more bytes under the cap? (U->mem may be over it after the cap was lowered) */
static int mem_fits(const struct umpa_lua *U, size_t n)
{
	return U->mem <= U->mem_cap && n <= U->mem_cap - U->mem;
}

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct umpa_lua *U = ud;
	void *n;

	if (!ptr)
		osize = 0; /* then osize only tells the kind of object */
	if (nsize == 0) {
		free(ptr);
		U->mem -= osize;
		return NULL;
	}
	if (nsize > osize) {
		/* refused: Lua runs a full (emergency) collection, asks once more, then raises
		 * "not enough memory".  The second time, the collection must have left some
		 * slack, or a script living at its cap would run a full collection of the
		 * whole heap every few allocations, for minutes, before it finally fails. */
		size_t more = nsize - osize;
		if (U->mem_refused) {
			U->mem_refused = 0;
			if (!mem_fits(U, more + MEM_SLACK(U)))
				return NULL;
		} else if (!mem_fits(U, more)) {
			U->mem_refused = 1;
			return NULL;
		}
	}
	n = realloc(ptr, nsize);
	if (n)
		U->mem = U->mem - osize + nsize;
	return n;
}

/* Raise the memory-limit error (code ENOMEM). */
static int mem_error(lua_State *L, struct umpa_lua *U)
{
	U->code = UMPA_ENOMEM;
	if (U->closing)
		return luaL_error(L, "memory outside Lua cannot be allocated while the state closes (in a finalizer)");
	return luaL_error(L, "memory limit (%d MiB) exceeded", (int)(U->mem_cap >> 20));
}

/* May @n more bytes outside Lua be charged?  Runs a full collection when they do not fit at
 * first (garbage packets give their bytes back in their finalizers; a no-op inside a
 * finalizer, where Lua refuses to collect); after it, a slack must be left, as in l_alloc. */
static int charge_fits(lua_State *L, struct umpa_lua *U, size_t n)
{
	if (U->closing || n > SIZE_MAX / 4)
		return 0;
	if (mem_fits(U, n + MEM_RESERVE(U)))
		return 1;
	lua_gc(L, LUA_GCCOLLECT);
	if (mem_fits(U, n + MEM_RESERVE(U) + MEM_SLACK(U)))
		return 1;
	/* a packet keeps its bytes in its own object, which has a finalizer: the collection
	 * that finalizes it frees it only in the next one */
	lua_gc(L, LUA_GCCOLLECT);
	return mem_fits(U, n + MEM_RESERVE(U) + MEM_SLACK(U));
}

/* Count @n bytes outside Lua (they fit), and tell the collector, which paces itself by Lua's
 * own allocations, about them. */
static void charge_now(lua_State *L, struct umpa_lua *U, size_t n)
{
	U->mem += n;
	if (n >= 1024)
		lua_gc(L, LUA_GCSTEP, (int)(n >> 10 < 65536 ? n >> 10 : 65536));
}

void umpa_lua_mem_charge_(lua_State *L, size_t n)
{
	struct umpa_lua *U = get_U(L);

	if (U->closing)
		mem_error(L, U);
	if (n == 0)
		return;
	if (!charge_fits(L, U, n))
		mem_error(L, U);
	charge_now(L, U, n);
}

void umpa_lua_mem_release_(lua_State *L, size_t n)
{
	struct umpa_lua *U = get_U(L);

	U->mem = n < U->mem ? U->mem - n : 0;
}

void umpa_lua_mem_account_(lua_State *L, size_t *charged, size_t now)
{
	if (now > *charged)
		umpa_lua_mem_charge_(L, now - *charged);
	else
		umpa_lua_mem_release_(L, *charged - now);
	*charged = now;
}

int umpa_lua_closing_(lua_State *L)
{
	return get_U(L)->closing;
}

unsigned long long umpa_lua_eval_(lua_State *L)
{
	return get_U(L)->evals;
}

/*
 * Time.  Every call from the host (an expression's evaluation, a chunk, a
 * template's callback through umpa_lua_pcall) gets a budget of VM
 * instructions, CPU seconds and wall-clock seconds (umpa_lua_set_deadline;
 * optionally also CPU seconds over the state's life).  What enforces it, and
 * why each piece is needed:
 *
 *   - the count hook runs every HOOK_EVERY instructions, counts them, and
 *     reads the clocks every POLL_EVERY calls (CLOCK_MONOTONIC, from the
 *     vDSO; the thread's CPU clock is a system call and is read only when
 *     a CPU limit may be near: cpu_spent);
 *   - a POSIX timer (CLOCK_MONOTONIC, every TICK_NS, signalled to the
 *     thread running the script, while calls run; it stops itself at the
 *     first tick that finds no call running, so a busy template does not
 *     pay two system calls per callback) sets U->tick and
 *     re-arms the hook to fire at the very next instruction (lua_sethook is
 *     safe in a signal handler: Lua's own lua.c does this for ^C).  Without
 *     it, 1000 instructions that each take 50 ms (concatenating 100 MB
 *     strings, collectgarbage() on a full heap, utf8.len of a long string)
 *     would pass 50 s between two looks at the clock;
 *   - C functions that loop without running instructions charge their work
 *     through umpa_lua_charge_(), which counts it as instructions and reads
 *     the clocks after a tick: the pattern functions (lua_strpat.c: Lua's
 *     matcher with a step counter; "a*" chains, ".-" chains and %b() are
 *     exponential or quadratic) and table.move (2^62 elements move no
 *     memory).  Every other C function of the sandbox does work bounded by
 *     the memory cap (a copy, a sort, one garbage collection: at most a
 *     second or two), and the next instruction after it sees the tick;
 *   - Lua runs some code with hooks off, where neither the hook nor the
 *     timer can stop it, and a script could put an endless loop there:
 *     finalizers (__gc: GCTM sets allowhook = 0) and the message handler of
 *     xpcall when the error came from a hook (the hook runs with hooks off
 *     and the handler runs inside luaG_errormsg).  So setmetatable refuses a
 *     metatable with __gc (a table is marked for finalization only when its
 *     metatable has __gc at that moment, so adding it later does nothing),
 *     and xpcall calls its handler after the stack unwound, as an ordinary
 *     call under the hook (the only difference a script could see is where
 *     a traceback would start, and there is no debug library).  __close
 *     handlers and every other metamethod run with hooks on;
 *   - once a limit is hit the state "trips": its message is kept, every
 *     following instruction and every charge raises it again, and pcall and
 *     xpcall re-raise it instead of returning false, so no script code runs
 *     after a limit and the host sees the first message.  The next call from
 *     the host starts a new budget.
 *
 * When the timer cannot be had (no signal number free because the host
 * handles it, timer_create failing) the hook's polling remains, and only
 * long single instructions can overrun.  The tick signal is TICK_SIGNAL;
 * umpa_lua_open installs its handler unless the host already handles that
 * signal (the handler finds its state through the timer's sigev_value, so
 * no global state is kept).
 */

#define TICK_SIGNAL (SIGRTMIN + 4)
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid /* glibc before 2.41 has no name for it */
#endif

static const char trip_key; /* registry: the message of the limit that was hit */

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Nanoseconds the running thread has waited on a run queue (ready, but
 * another task had the CPU) since it started, from the scheduler's
 * statistics; -1 when they cannot be read.  One pread of a descriptor kept
 * open (the file names the thread that opened it: the thread that runs the
 * calls, as the timer). */
static int64_t run_wait(struct umpa_lua *U)
{
	char buf[96];
	ssize_t n;
	unsigned long long run, wait;

	if (U->sched_fd < 0 || (n = pread(U->sched_fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu", &run, &wait) != 2 || wait > INT64_MAX)
		return -1;
	return (int64_t)wait;
}

/* Seconds of CPU the running call has used, given @wall seconds since it
 * started.  Reading the thread's CPU clock is a system call (2-10 us in a
 * VM), too dear for every call of a busy template, so it is read when a call
 * starts only if the last reading (cpu_ref) is older than a tick, and the
 * call's own first reading waits until it has run for a tick.  The CPU clock
 * at the call's start then lies between two bounds, and the larger one is
 * taken: the reading before the call (cpu_ref: at most a tick of wall time,
 * so at most 10 ms of CPU, before the start) and the clock now less the wall
 * time (all of the call's wall time spent on the CPU).  The first bound is
 * what keeps a call that waited for the CPU on a loaded machine (0.3 s of
 * CPU in 5 s of wall) from being charged its waiting.  Later the clock is
 * read only when @wall says a CPU limit could have been passed (CPU time
 * never exceeds it). */
static double cpu_spent(struct umpa_lua *U, double wall, int need)
{
	struct timespec now;

	if (!U->cpu0_known) {
		if (wall < TICK_NS / 1e9 || clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) < 0)
			return wall;
		U->cpu0 = now;
		U->cpu0.tv_sec -= (time_t)wall;
		U->cpu0.tv_nsec -= (long)((wall - (double)(time_t)wall) * 1e9);
		if (U->cpu0.tv_nsec < 0) {
			U->cpu0.tv_nsec += 1000000000L;
			U->cpu0.tv_sec--;
		}
		if ((U->cpu_ref_wall.tv_sec || U->cpu_ref_wall.tv_nsec) && ts_diff(&U->cpu0, &U->cpu_ref) > 0)
			U->cpu0 = U->cpu_ref;
		U->cpu0_known = 1;
		return ts_diff(&U->cpu0, &now);
	}
	if (!need || clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) < 0)
		return wall;
	return ts_diff(&U->cpu0, &now);
}

/* Write into @buf which time limit the running call has passed; 0 when none. */
static int time_passed(struct umpa_lua *U, char *buf, size_t n)
{
	struct timespec now;
	double wall, cpu;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 0;
	wall = ts_diff(&U->wall0, &now);
	if (U->time.wall > 0 && wall >= U->time.wall) {
		/* The wall-clock limit is for a call that blocks; time the thread
		 * spent ready to run while other tasks had the CPU (a loaded
		 * machine) is not the call's doing and does not count.  The wait
		 * is measured from cpu_ref's reading, at most a tick before the
		 * call started (so at most a tick too much is forgiven). */
		int64_t w = U->wait_ref >= 0 ? run_wait(U) : -1;
		double waited = w >= U->wait_ref ? (double)(w - U->wait_ref) / 1e9 : 0;
		if (wall - waited >= U->time.wall) {
			snprintf(buf, n, "time limit exceeded (%g s wall clock)", U->time.wall);
			return 1;
		}
	}
	cpu = cpu_spent(U, wall,
			(U->time.cpu > 0 && wall >= U->time.cpu) ||
			    (U->time.total > 0 && U->cpu_used + wall >= U->time.total));
	if (U->time.cpu > 0 && cpu >= U->time.cpu) {
		snprintf(buf, n, "time limit exceeded (%g s CPU)", U->time.cpu);
		return 1;
	}
	if (U->time.total > 0 && U->cpu_used + cpu >= U->time.total) {
		snprintf(buf, n, "time limit exceeded (%g s CPU in total)", U->time.total);
		return 1;
	}
	return 0;
}

/* Raise again the message of the limit that was hit. */
static int rethrow(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &trip_key) != LUA_TSTRING) {
		lua_pop(L, 1);
		lua_pushliteral(L, "limit exceeded");
	}
	return lua_error(L);
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* A limit was hit: keep its message (@what, at the script position @level,
 * "in @fn" when a C function was running), make every following instruction
 * fail with it, and raise it. */
static int trip(lua_State *L, struct umpa_lua *U, const char *what, int level, const char *fn)
{
	U->tripped = 1;
	U->code = UMPA_ERANGE;
	lua_sethook(U->L, count_hook, LUA_MASKCOUNT, 1);
	luaL_where(L, level);
	if (fn)
		lua_pushfstring(L, "%s in %s", what, fn);
	else
		lua_pushstring(L, what);
	lua_concat(L, 2);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &trip_key);
	return lua_error(L);
}

/* Check the instruction budget (and the clocks when @clocks): raise when passed. */
static void check_limits(lua_State *L, struct umpa_lua *U, int clocks, int level, const char *fn)
{
	char what[96];

	if (U->hooks * HOOK_EVERY + U->charged >= U->instr_cap) {
		snprintf(what, sizeof(what), "instruction limit reached (%llu Lua instructions)", U->instr_cap);
		trip(L, U, what, level, fn);
	}
	if (clocks && time_passed(U, what, sizeof(what)))
		trip(L, U, what, level, fn);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	struct umpa_lua *U = get_U(L);
	int forced = lua_gethookcount(L) != HOOK_EVERY;

	(void)ar;
	if (U->tripped) {
		rethrow(L);
		return;
	}
	if (forced) /* by the timer (or a charge): not HOOK_EVERY instructions */
		lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	else
		U->hooks++;
	if (U->tick)
		forced = 1;
	U->tick = 0;
	check_limits(L, U, forced || U->hooks % POLL_EVERY == 0, 0, NULL);
}

void umpa_lua_charge_(lua_State *L, unsigned long steps, const char *fn)
{
	struct umpa_lua *U = get_U(L);
	int tick = U->tick;

	if (U->tripped)
		rethrow(L);
	U->charged += steps;
	U->tick = 0;
	check_limits(L, U, tick, 1, fn);
}

int umpa_lua_budget_spent_(lua_State *L, unsigned long steps)
{
	struct umpa_lua *U = get_U(L);
	char what[96];

	U->charged += steps;
	if (U->tripped || U->hooks * HOOK_EVERY + U->charged >= U->instr_cap)
		return 1;
	if (!U->tick)
		return 0;
	if (!time_passed(U, what, sizeof(what))) {
		U->tick = 0;
		return 0;
	}
	return 1; /* tick stays set: the caller's umpa_lua_charge_ raises it */
}

/* The timer's signal: look at the clocks at the next instruction; stop
 * ticking once no call runs (timer_settime is async-signal-safe). */
static void on_tick(int sig, siginfo_t *si, void *uctx)
{
	static const struct itimerspec off;
	struct umpa_lua *U;

	(void)sig;
	(void)uctx;
	if (!si || si->si_code != SI_TIMER || !(U = si->si_value.sival_ptr))
		return;
	if (!U->running) {
		int saved = errno; /* the interrupted code's */
		U->armed = 0;
		timer_settime(U->timer, 0, &off, NULL);
		errno = saved;
		return;
	}
	U->tick = 1;
	lua_sethook(U->L, count_hook, LUA_MASKCOUNT, 1);
}

/* Handle TICK_SIGNAL with on_tick unless the host handles it.  Returns 0 when ours. */
static int tick_handler(void)
{
	struct sigaction sa, old;

	if (sigaction(TICK_SIGNAL, NULL, &old) < 0)
		return -1;
	if (old.sa_flags & SA_SIGINFO)
		return old.sa_sigaction == on_tick ? 0 : -1;
	if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_tick;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(TICK_SIGNAL, &sa, NULL);
}

/* Make the timer, signalling the calling thread.  A state is meant to run on
 * one thread: the timer is made for the first that runs a call, and calls
 * from another thread get no ticks (the hook's polling remains). */
static int timer_make(struct umpa_lua *U)
{
	struct sigevent sev;

	if (tick_handler() < 0)
		return -1;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = TICK_SIGNAL;
	sev.sigev_value.sival_ptr = U;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &U->timer) < 0)
		return -1;
	U->timer_thread = pthread_self();
	return 1;
}

/* A call from the host starts: the timer ticks from now on.  Costs nothing
 * when it still ticks from the last call (it stops itself at the first tick
 * that finds no call running). */
static void ticks_start(struct umpa_lua *U)
{
	static const struct itimerspec on = {{0, TICK_NS}, {0, TICK_NS}};

	U->running = 1; /* before looking at armed: on_tick may run between the two */
	if (U->armed)
		return;
	if (!U->have_timer)
		U->have_timer = timer_make(U);
	if (U->have_timer < 0 || !pthread_equal(U->timer_thread, pthread_self()))
		return;
	U->armed = 1;
	timer_settime(U->timer, 0, &on, NULL);
}

/* Delete the timer, and a tick of it still pending (the thread blocks the
 * signal), which would otherwise reach a freed state. */
static void timer_free(struct umpa_lua *U)
{
	sigset_t pend, one;
	struct timespec zero = {0, 0};

	U->running = 0;
	if (U->have_timer <= 0)
		return;
	timer_delete(U->timer);
	if (pthread_equal(U->timer_thread, pthread_self()) && sigpending(&pend) == 0 &&
	    sigismember(&pend, TICK_SIGNAL) == 1) {
		sigemptyset(&one);
		sigaddset(&one, TICK_SIGNAL);
		while (sigtimedwait(&one, NULL, &zero) == TICK_SIGNAL)
			;
	}
	U->have_timer = 0;
}

/* Restart the budget (each call from the host gets a full one). */
static void budget_restart(struct umpa_lua *U)
{
	U->hooks = 0;
	U->charged = 0;
	U->code = 0;
	U->evals++; /* per-evaluation budgets (tls{} work) restart too */
	U->tripped = 0;
	U->tick = 0;
	U->cpu0_known = 0;
	clock_gettime(CLOCK_MONOTONIC, &U->wall0);
	/* a reading of the CPU clock at most a tick old (see cpu_spent) */
	if (!(U->cpu_ref_wall.tv_sec || U->cpu_ref_wall.tv_nsec) ||
	    ts_diff(&U->cpu_ref_wall, &U->wall0) >= TICK_NS / 1e9) {
		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &U->cpu_ref) == 0)
			U->cpu_ref_wall = U->wall0;
		U->wait_ref = run_wait(U);
	}
	lua_sethook(U->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

/* A call from the host ends: count its CPU time. */
static void budget_end(struct umpa_lua *U)
{
	struct timespec now;

	U->running = 0;
	if (U->time.total > 0 && clock_gettime(CLOCK_MONOTONIC, &now) == 0)
		U->cpu_used += cpu_spent(U, ts_diff(&U->wall0, &now), 1);
}

/* ---- what the sandbox changes in the standard library (see "Time") ---- */

/* pcall that cannot catch a limit. */
static int safe_pcall(lua_State *L)
{
	int st;

	luaL_checkany(L, 1);
	st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	if (get_U(L)->tripped)
		return rethrow(L);
	luaL_checkstack(L, 1, "too many results");
	lua_pushboolean(L, st == LUA_OK);
	lua_insert(L, 1);
	return lua_gettop(L);
}

/* xpcall(f, h, ...): f under pcall, then h(error) as an ordinary call under
 * the hook (see "Time"); a limit is re-raised and h is not called. */
static int safe_xpcall(lua_State *L)
{
	int n = lua_gettop(L), st;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 1); /* f h f args... */
	st = lua_pcall(L, n - 2, LUA_MULTRET, 0);
	if (get_U(L)->tripped)
		return rethrow(L);
	if (st == LUA_OK) {
		luaL_checkstack(L, 1, "too many results");
		lua_pushboolean(L, 1);
		lua_replace(L, 2);
		return lua_gettop(L) - 1;
	}
	if (st != LUA_ERRMEM) { /* Lua calls no handler for memory errors either */
		lua_pushvalue(L, 2);
		lua_insert(L, -2);
		lua_pcall(L, 1, 1, 0);
		if (get_U(L)->tripped)
			return rethrow(L);
	}
	lua_pushboolean(L, 0);
	lua_insert(L, -2);
	return 2;
}

/* setmetatable refusing __gc: finalizers run with hooks off. */
static int safe_setmetatable(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc is not allowed in the sandbox (a finalizer runs where "
					     "no time limit can stop it)");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* What table.move accepts as a table: a table, or a value with metamethod @field. */
static void move_checktab(lua_State *L, int arg, const char *field)
{
	if (lua_type(L, arg) == LUA_TTABLE)
		return;
	if (luaL_getmetafield(L, arg, field) == LUA_TNIL)
		luaL_typeerror(L, arg, "table");
	lua_pop(L, 1);
}

/* table.move as Lua 5.4's, charging each element moved. */
static int safe_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2);
	lua_Integer e = luaL_checkinteger(L, 3);
	lua_Integer t = luaL_checkinteger(L, 4);
	int tt = !lua_isnoneornil(L, 5) ? 5 : 1; /* destination table */

	move_checktab(L, 1, "__index");
	move_checktab(L, tt, "__newindex");
	if (e >= f) {
		lua_Integer n, i;
		luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
		n = e - f + 1;
		luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
		if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
			for (i = 0; i < n; i++) {
				if ((i & 4095) == 4095)
					umpa_lua_charge_(L, 4096, "table.move");
				lua_geti(L, 1, f + i);
				lua_seti(L, tt, t + i);
			}
		} else {
			for (i = n - 1; i >= 0; i--) {
				if ((i & 4095) == 0)
					umpa_lua_charge_(L, 4096, "table.move");
				lua_geti(L, 1, f + i);
				lua_seti(L, tt, t + i);
			}
		}
	}
	lua_pushvalue(L, tt);
	return 1;
}

/* Put the bounded functions in place of the standard ones. */
static void sandbox_stdlib(lua_State *L)
{
	lua_pushcfunction(L, safe_pcall);
	lua_setglobal(L, "pcall");
	lua_pushcfunction(L, safe_xpcall);
	lua_setglobal(L, "xpcall");
	lua_getglobal(L, "setmetatable");
	lua_pushcclosure(L, safe_setmetatable, 1);
	lua_setglobal(L, "setmetatable");
	lua_getglobal(L, LUA_TABLIBNAME);
	lua_pushcfunction(L, safe_move);
	lua_setfield(L, -2, "move");
	lua_pop(L, 1);
	umpa_lua_strpat_open_(L);
}

/* ---- small helpers ---- */

/* The field's display name ("ip.ttl") into @buf. */
static const char *fname(const struct umpa_proto *pr, const struct umpa_field *f, char *buf, size_t n)
{
	if (f->ws)
		return f->ws;
	snprintf(buf, n, "%s.%s", pr->name, f->name);
	return buf;
}

/* Make sure @e's message names the field. */
static void err_name_field(const struct umpa_proto *pr, const struct umpa_field *f, struct umpa_err *e)
{
	char buf[128];
	const char *nm = fname(pr, f, buf, sizeof(buf));
	size_t k = strlen(nm);

	if (strncmp(e->msg, nm, k) != 0 || (e->msg[k] != ':' && e->msg[k] != ' '))
		umpa_err_prefix(e, "%s: ", nm);
}

static int is_int_type(const struct umpa_field *f)
{
	return f->type < UMPA_FT_MAC;
}

/* Byte fields that an integer can fill (big-endian): addresses up to 64 bits. */
static int int_fills_bytes(const struct umpa_field *f)
{
	return f->type >= UMPA_FT_MAC && f->type <= UMPA_FT_BYTES && f->bits && f->bits <= 64 && !(f->bits & 7);
}

/* Raise "proto: unknown field 'k' (fields: ...)" at the caller's position. */
static int err_unknown_field(lua_State *L, const struct umpa_proto *pr, const char *key)
{
	struct umpa_lua *U = get_U(L);

	umpa_sbuf_reset(&U->sb);
	umpa_proto_list_fields(pr, &U->sb);
	U->code = UMPA_ENOENT;
	{
		char near[UMPA_NEAR_MAX + 1];
		const char *best = umpa_proto_field_near(pr, key, near, sizeof near);
		return luaL_error(L, "%s: unknown field '%s' (%s%s%sfields: %s)", pr->name, key,
				  best ? "did you mean '" : "", best ? best : "", best ? "'? " : "",
				  U->sb.s ? U->sb.s : "none");
	}
}

/* Resolve a field key (a string) of @pr or raise. */
static const struct umpa_field *check_field(lua_State *L, const struct umpa_proto *pr, int kidx)
{
	const struct umpa_field *f;
	const char *k;

	kidx = lua_absindex(L, kidx); /* a relative index would move with the pushes below */
	if (lua_type(L, kidx) != LUA_TSTRING)
		return luaL_error(L, "%s: field names are strings, not %s", pr->name, luaL_typename(L, kidx)),
		       (const struct umpa_field *)NULL;
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, pr) == LUA_TTABLE) { /* name -> index, built at open */
		lua_pushvalue(L, kidx);
		if (lua_rawget(L, -2) == LUA_TNUMBER) {
			f = &pr->fields[lua_tointeger(L, -1)];
			lua_pop(L, 2);
			return f;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	k = lua_tostring(L, kidx);
	f = umpa_proto_field(pr, k);
	if (!f)
		err_unknown_field(L, pr, k);
	return f;
}

/* The protocol named by the string at @kidx (name or alias), or NULL. */
static const struct umpa_proto *find_proto(lua_State *L, int kidx)
{
	const struct umpa_proto *pr;

	kidx = lua_absindex(L, kidx);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &protos_key);
	lua_pushvalue(L, kidx);
	lua_rawget(L, -2);
	pr = lua_touserdata(L, -1);
	lua_pop(L, 2);
	return pr ? pr : umpa_proto_find(lua_tostring(L, kidx));
}

/* Index the names of @pr's fields (short, Wireshark, aliases; the first
 * field of a name wins, names before aliases, as umpa_proto_field). */
static void index_fields(lua_State *L, const struct umpa_proto *pr)
{
	lua_createtable(L, 0, (int)pr->nfields * 3);
	for (unsigned i = pr->nfields; i-- > 0;) {
		const char *a = pr->fields[i].aliases;
		while (a && *a) {
			const char *end = strchr(a, ',');
			size_t n = end ? (size_t)(end - a) : strlen(a);
			lua_pushlstring(L, a, n);
			lua_pushinteger(L, (lua_Integer)i);
			lua_rawset(L, -3);
			a = end ? end + 1 : NULL;
		}
	}
	for (unsigned i = pr->nfields; i-- > 0;) {
		lua_pushinteger(L, (lua_Integer)i);
		lua_setfield(L, -2, pr->fields[i].name);
		if (pr->fields[i].ws) {
			lua_pushinteger(L, (lua_Integer)i);
			lua_setfield(L, -2, pr->fields[i].ws);
		}
	}
	lua_rawsetp(L, LUA_REGISTRYINDEX, pr);
}

/* Convert an integer for field @f: two's complement for signed and 64-bit fields. */
static int int_for_field(const struct umpa_proto *pr, const struct umpa_field *f, lua_Integer i, uint64_t *v,
			 struct umpa_err *e)
{
	char buf[128];

	if (i < 0) {
		if (!(f->flags & UMPA_F_SIGNED) && f->bits < 64)
			return umpa_err_set(e, UMPA_ERANGE, "%s: %lld is negative", fname(pr, f, buf, sizeof(buf)),
					    (long long)i);
		*v = (uint64_t)i;
		if (f->bits < 64) {
			if (i < -((int64_t)1 << (f->bits - 1)))
				return umpa_err_set(e, UMPA_ERANGE, "%s: %lld does not fit in %u signed bits",
						    fname(pr, f, buf, sizeof(buf)), (long long)i, f->bits);
			*v &= ((uint64_t)1 << f->bits) - 1;
		}
		return 0;
	}
	*v = (uint64_t)i;
	return 0;
}

/* Write integer @v into field @f (a number field, or a byte field it fills). */
static int set_int(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, uint64_t v, struct umpa_err *e)
{
	uint8_t b[8];
	unsigned n;

	if (is_int_type(f))
		return umpa_field_set_u64(p, li, f, v, e);
	n = f->bits / 8;
	if (n < 8 && v >> (8 * n)) {
		char buf[128];
		return umpa_err_set(e, UMPA_ERANGE, "%s: %" PRIu64 " does not fit in %u bytes",
				    fname(p->l[li].proto, f, buf, sizeof(buf)), v, n);
	}
	for (unsigned i = n; i-- > 0; v >>= 8)
		b[i] = (uint8_t)v;
	return umpa_field_set_bytes(p, li, f, b, n, e);
}

/*
 * Set field @f of layer @li from the scalar Lua value at @idx (integer,
 * boolean or string).  Returns 0 or a negative error naming the field.
 */
static int set_from_lua(lua_State *L, int idx, struct umpa_pkt *p, unsigned li, const struct umpa_field *f,
			struct umpa_err *e)
{
	const struct umpa_proto *pr = p->l[li].proto;
	char buf[128];
	int rc, ok;

	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		if (!is_int_type(f))
			return umpa_err_set(e, UMPA_EINVAL, "%s: a boolean needs a number field",
					    fname(pr, f, buf, sizeof(buf)));
		rc = umpa_field_set_u64(p, li, f, (uint64_t)lua_toboolean(L, idx), e);
		break;
	case LUA_TNUMBER: {
		lua_Integer i = lua_tointegerx(L, idx, &ok);
		uint64_t v = 0;
		if (!ok)
			return umpa_err_set(e, UMPA_EINVAL, "%s: %.14g is not an integer",
					    fname(pr, f, buf, sizeof(buf)), (double)lua_tonumber(L, idx));
		if (!is_int_type(f) && !int_fills_bytes(f))
			return umpa_err_set(e, UMPA_EINVAL, "%s: needs text, not a number",
					    fname(pr, f, buf, sizeof(buf)));
		if ((rc = int_for_field(pr, f, i, &v, e)) < 0)
			return rc;
		rc = set_int(p, li, f, v, e);
		break;
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		if (strlen(s) != n)
			return umpa_err_set(e, UMPA_EINVAL, "%s: the text holds a NUL byte",
					    fname(pr, f, buf, sizeof(buf)));
		rc = umpa_field_set_str(p, li, f, s, e);
		break;
	}
	default:
		return umpa_err_set(e, UMPA_EINVAL, "%s: cannot be set from a %s", fname(pr, f, buf, sizeof(buf)),
				    luaL_typename(L, idx));
	}
	if (rc < 0)
		err_name_field(pr, f, e);
	return rc;
}

/* Give the scratch packet one layer of @pr for setting @f: a fresh one for a
 * VAR field (it changes the layer's size), else the last one when it is of
 * @pr (setting a field does not depend on the others). */
static void scratch_layer(lua_State *L, struct umpa_lua *U, const struct umpa_proto *pr, const struct umpa_field *f)
{
	struct umpa_err e = {0};

	if (U->scratch_pr == pr && f->type != UMPA_FT_VAR)
		return;
	U->scratch_pr = NULL;
	umpa_pkt_clear(&U->scratch);
	if (umpa_pkt_push(&U->scratch, pr, &e) < 0)
		luaL_error(L, "%s: %s", pr->name, e.msg);
	if (f->type != UMPA_FT_VAR)
		U->scratch_pr = pr;
}

/* ---- ranges and alternatives ---- */

static int64_t check_i64(lua_State *L, int arg)
{
	int ok;
	lua_Integer i = lua_tointegerx(L, arg, &ok);

	if (!ok || lua_type(L, arg) != LUA_TNUMBER)
		luaL_argerror(L, arg, "integer expected");
	return (int64_t)i;
}

/* range(a, b[, step]): a..b inclusive. */
static int l_range(lua_State *L)
{
	int64_t a = check_i64(L, 1), b = check_i64(L, 2);
	int64_t step = lua_isnoneornil(L, 3) ? (b < a ? -1 : 1) : check_i64(L, 3);
	struct lrange *r;

	if (step == 0)
		return luaL_error(L, "range: the step is 0");
	r = lua_newuserdatauv(L, sizeof(*r), 0);
	r->a = a;
	r->b = b;
	r->step = step;
	if (step > 0 && a <= b)
		r->n = ((uint64_t)b - (uint64_t)a) / (uint64_t)step + 1;
	else if (step < 0 && a >= b)
		r->n = ((uint64_t)a - (uint64_t)b) / (0 - (uint64_t)step) + 1;
	else
		r->n = 0;
	luaL_setmetatable(L, MT_RANGE);
	return 1;
}

static int range_len(lua_State *L)
{
	struct lrange *r = luaL_checkudata(L, 1, MT_RANGE);

	lua_pushinteger(L, (lua_Integer)r->n);
	return 1;
}

static int range_index(lua_State *L)
{
	struct lrange *r = luaL_checkudata(L, 1, MT_RANGE);
	int ok;
	lua_Integer i = lua_tointegerx(L, 2, &ok);

	if (!ok || i < 1 || (uint64_t)i > r->n)
		return 0;
	lua_pushinteger(L, (lua_Integer)((uint64_t)r->a + (uint64_t)(i - 1) * (uint64_t)r->step));
	return 1;
}

static int range_tostring(lua_State *L)
{
	struct lrange *r = luaL_checkudata(L, 1, MT_RANGE);

	lua_pushfstring(L, "range(%I, %I, %I)", (lua_Integer)r->a, (lua_Integer)r->b, (lua_Integer)r->step);
	return 1;
}

/* ---- address prefixes (CIDR) ---- */

/* Address @k of prefix @nt into @out (nt->alen bytes): base + k, big-endian. */
static void net_addr(const uint8_t *base, unsigned alen, uint64_t k, uint8_t *out)
{
	memcpy(out, base, alen);
	for (unsigned i = alen; i-- > 0 && k;) {
		unsigned sum = out[i] + (unsigned)(k & 0xff);
		out[i] = (uint8_t)sum;
		k = (k >> 8) + (sum >> 8);
	}
}

/*
 * A string with a '/' for an IPv4 or IPv6 field is a prefix, as Scapy's
 * Net("10.0.0.0/28") is: one packet per address.  When the value at @idx is
 * one, push its lnet and return 1; return 0 for any other value; raise
 * "ip.dst: '10.0.0.0/33': the prefix length must be 0 to 32" on a bad one.
 * Host bits set in the address are cleared (10.0.0.5/30 is 10.0.0.4-7).
 */
static int push_net(lua_State *L, int idx, const struct umpa_proto *pr, const struct umpa_field *f)
{
	const char *s, *slash;
	char addr[INET6_ADDRSTRLEN], buf[128];
	struct lnet *nt;
	unsigned alen, plen = 0;
	uint8_t a[16];
	size_t len;

	if ((f->type != UMPA_FT_IPV4 && f->type != UMPA_FT_IPV6) || lua_type(L, idx) != LUA_TSTRING)
		return 0;
	s = lua_tolstring(L, idx, &len);
	if (!(slash = strchr(s, '/')))
		return 0;
	alen = f->type == UMPA_FT_IPV4 ? 4 : 16;
	if ((size_t)(slash - s) >= sizeof(addr))
		return luaL_error(L, "%s: '%s': not an %s prefix", fname(pr, f, buf, sizeof(buf)), s,
				  alen == 4 ? "IPv4" : "IPv6");
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	if (inet_pton(alen == 4 ? AF_INET : AF_INET6, addr, a) != 1)
		return luaL_error(L, "%s: '%s': '%s' is not an %s address", fname(pr, f, buf, sizeof(buf)), s, addr,
				  alen == 4 ? "IPv4" : "IPv6");
	if (!slash[1] || strlen(slash + 1) > 3 || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    (plen = (unsigned)atoi(slash + 1)) > alen * 8)
		return luaL_error(L, "%s: '%s': the prefix length must be 0 to %d", fname(pr, f, buf, sizeof(buf)), s,
				  (int)alen * 8);
	nt = lua_newuserdatauv(L, sizeof(*nt), 0);
	memset(nt, 0, sizeof(*nt));
	for (unsigned i = 0; i < alen; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;
		nt->base[i] = (uint8_t)(a[i] & (uint8_t)(0xff00u >> keep));
	}
	nt->alen = (uint8_t)alen;
	nt->plen = (uint8_t)plen;
	nt->n = alen * 8 - plen >= 64 ? UINT64_MAX : (uint64_t)1 << (alen * 8 - plen);
	luaL_setmetatable(L, MT_NET);
	return 1;
}

static int net_len(lua_State *L)
{
	struct lnet *nt = luaL_checkudata(L, 1, MT_NET);

	lua_pushinteger(L, nt->n > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)nt->n);
	return 1;
}

static int net_tostring(lua_State *L)
{
	struct lnet *nt = luaL_checkudata(L, 1, MT_NET);
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(nt->alen == 4 ? AF_INET : AF_INET6, nt->base, a, sizeof(a)))
		a[0] = 0;
	lua_pushfstring(L, "%s/%d", a, (int)nt->plen);
	return 1;
}

/* alt{a, b, ...} or alt(a, b, ...): explicit alternatives (for VAR fields). */
static int l_alt(lua_State *L)
{
	int n = lua_gettop(L);

	lua_newtable(L);
	if (n == 1 && lua_type(L, 1) == LUA_TTABLE && utype(L, 1) != T_ALT) {
		lua_Integer k = (lua_Integer)lua_rawlen(L, 1);
		for (lua_Integer i = 1; i <= k; i++) {
			lua_rawgeti(L, 1, i);
			lua_rawseti(L, -2, i);
		}
	} else {
		for (int i = 1; i <= n; i++) {
			lua_pushvalue(L, i);
			lua_rawseti(L, -2, i);
		}
	}
	luaL_setmetatable(L, MT_ALT);
	return 1;
}

static int is_alt(lua_State *L, int idx)
{
	return lua_type(L, idx) == LUA_TTABLE && utype(L, idx) == T_ALT;
}

/* ---- values of spec fields ---- */

/* Push the spec text of item table {type=T, value=V} at @idx ("T=V"; V a string, number or list joined by ':';
 * no value: "T"), for VAR fields given as a list of records (dhcp options).  No luaL_Buffer here: the caller's is
 * open. */
static void push_typed_item(lua_State *L, int idx, const char *fn, lua_Integer i)
{
	int t;

	idx = lua_absindex(L, idx);
	lua_getfield(L, idx, "type");
	if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
		luaL_error(L, "%s: item %I: a table item needs type= (a name or a number) and value=", fn, i);
	luaL_tolstring(L, -1, NULL);
	lua_replace(L, -2);
	lua_getfield(L, idx, "value");
	t = lua_type(L, -1);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (t == LUA_TTABLE) {
		int v = lua_absindex(L, -1), pieces = 0;
		lua_Integer n = (lua_Integer)lua_rawlen(L, v);
		for (lua_Integer k = 1; k <= n; k++) {
			if (k > 1) {
				lua_pushliteral(L, ":");
				pieces++;
			}
			lua_rawgeti(L, v, k);
			if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
				luaL_error(L, "%s: item %I: value %I is a %s, not a string or number", fn, i, k,
					   luaL_typename(L, -1));
			luaL_tolstring(L, -1, NULL);
			lua_replace(L, -2);
			pieces++;
		}
		lua_concat(L, pieces);
		lua_replace(L, v);
	} else if (t == LUA_TSTRING || t == LUA_TNUMBER) {
		luaL_tolstring(L, -1, NULL);
		lua_replace(L, -2);
	} else {
		luaL_error(L, "%s: item %I: value is a %s", fn, i, luaL_typename(L, -1));
	}
	lua_pushliteral(L, "=");
	lua_insert(L, -2);
	lua_concat(L, 3);
}

/* Raise on a key of item table @idx other than type= and value= (a mistyped one: "did you mean"). */
static void check_item_keys(lua_State *L, int idx, const char *fn, lua_Integer i)
{
	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			size_t kn;
			const char *k = lua_tolstring(L, -1, &kn);
			char near[UMPA_NEAR_MAX + 1];
			const char *best;
			if (!strcmp(k, "type") || !strcmp(k, "value"))
				continue;
			best = umpa_near_in(k, kn, "type,value", near, sizeof near);
			luaL_error(L,
				   "%s: item %I: unknown key '%s' (" UMPA_NEAR_FMT
				   "an item is {type=NAME, value=V} or Scapy's {NAME, VALUE})",
				   fn, i, k, UMPA_NEAR_ARGS(best));
		}
	}
}

/* Join the items of the plain table at @idx with ',' (a VAR field's items); pushes the result.  An item is a
 * string or number, or a table {type=..., value=...} (push_typed_item). */
static void join_var_items(lua_State *L, int idx, const struct umpa_proto *pr, const struct umpa_field *f)
{
	luaL_Buffer b;
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	char buf[128];

	idx = lua_absindex(L, idx);
	luaL_buffinit(L, &b);
	for (lua_Integer i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ',');
		lua_rawgeti(L, idx, i);
		if (lua_type(L, -1) == LUA_TTABLE && !is_alt(L, -1)) {
			int typed = lua_getfield(L, -1, "type") != LUA_TNIL;
			int pair = lua_rawgeti(L, -2, 1) != LUA_TNIL;
			lua_pop(L, 2);
			if (typed || !pair) /* a misspelt type= or value= */
				check_item_keys(L, -1, fname(pr, f, buf, sizeof(buf)), i);
			if (typed) { /* {type=..., value=...} */
				push_typed_item(L, -1, fname(pr, f, buf, sizeof(buf)), i);
				lua_replace(L, -2);
			} else { /* {"MSS", 1460}: Scapy's option pairs */
				umpa_lua_option_item_(L, -1);
				lua_remove(L, -2);
			}
		} else if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
			luaL_error(L, "%s: item %I is a %s; a VAR field takes strings (alt{...} for alternatives)",
				   fname(pr, f, buf, sizeof(buf)), i, luaL_typename(L, -1));
		}
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
}

/* Check a scalar value by setting it on a scratch layer; raise on error. */
static void validate_scalar(lua_State *L, int idx, const struct umpa_proto *pr, const struct umpa_field *f)
{
	struct umpa_lua *U = get_U(L);
	struct umpa_err e = {0};

	/* A VAR field's spec may depend on other fields of its layer (ICMPv6
	 * options follow the type), so it is checked when the packet is built,
	 * on the real layer, with the other fields set in table order. */
	if (f->type == UMPA_FT_VAR)
		return;
	scratch_layer(L, U, pr, f);
	if (set_from_lua(L, idx, &U->scratch, 0, f, &e) < 0)
		luaL_error(L, "%s", e.msg);
}

static void validate_range(lua_State *L, const struct lrange *r, const struct umpa_proto *pr,
			   const struct umpa_field *f)
{
	char buf[128];

	if (!is_int_type(f) && !int_fills_bytes(f))
		luaL_error(L, "%s: a range needs a number field", fname(pr, f, buf, sizeof(buf)));
	if (r->n == 0)
		return;
	lua_pushinteger(L, (lua_Integer)r->a);
	validate_scalar(L, -1, pr, f);
	lua_pushinteger(L, (lua_Integer)((uint64_t)r->a + (r->n - 1) * (uint64_t)r->step));
	validate_scalar(L, -1, pr, f);
	lua_pop(L, 2);
}

/* A prefix given to field @f must be of its family. */
static void validate_net(lua_State *L, const struct lnet *nt, const struct umpa_proto *pr, const struct umpa_field *f)
{
	char buf[128];

	if ((f->type == UMPA_FT_IPV4 && nt->alen == 4) || (f->type == UMPA_FT_IPV6 && nt->alen == 16))
		return;
	luaL_error(L, "%s: an %s prefix does not fit", fname(pr, f, buf, sizeof(buf)), nt->alen == 4 ? "IPv4" : "IPv6");
}

/* Append the alternatives of the list at @idx, flattened, to the table at @out. */
static void flatten_list(lua_State *L, int idx, int out, const struct umpa_proto *pr, const struct umpa_field *f,
			 int depth)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	char buf[128];

	if (depth > MAX_DEPTH)
		luaL_error(L, "%s: lists nested too deep", fname(pr, f, buf, sizeof(buf)));
	idx = lua_absindex(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		struct lrange *r;
		lua_rawgeti(L, idx, i);
		if ((r = uget(L, -1, T_RANGE))) {
			validate_range(L, r, pr, f);
		} else if (push_net(L, -1, pr, f)) {
			lua_replace(L, -2); /* a prefix: its addresses are alternatives */
		} else if (uget(L, -1, T_NET)) {
			validate_net(L, lua_touserdata(L, -1), pr, f);
		} else if (lua_type(L, -1) == LUA_TTABLE) {
			if (f->type == UMPA_FT_VAR && !is_alt(L, -1)) {
				join_var_items(L, -1, pr, f); /* one value: its items */
				lua_replace(L, -2);
				validate_scalar(L, -1, pr, f);
			} else {
				flatten_list(L, -1, out, pr, f, depth + 1);
				lua_pop(L, 1);
				continue;
			}
		} else {
			validate_scalar(L, -1, pr, f);
		}
		lua_rawseti(L, out, (lua_Integer)lua_rawlen(L, out) + 1);
	}
}

/*
 * Normalise the value at @idx for field @f and push it: a scalar (checked), a
 * range, or a fresh plain table of alternatives (flattened, each checked).
 * A plain table for a VAR field becomes one joined string.
 */
static void push_field_value(lua_State *L, int idx, const struct umpa_proto *pr, const struct umpa_field *f)
{
	struct lrange *r;
	char buf[128];

	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		if (push_net(L, idx, pr, f))
			return;
		/* fall through */
	case LUA_TNUMBER:
	case LUA_TBOOLEAN:
		validate_scalar(L, idx, pr, f);
		lua_pushvalue(L, idx);
		return;
	case LUA_TTABLE:
		if (f->type == UMPA_FT_VAR && !is_alt(L, idx)) {
			join_var_items(L, idx, pr, f);
			validate_scalar(L, -1, pr, f);
			return;
		}
		lua_newtable(L);
		flatten_list(L, idx, lua_gettop(L), pr, f, 0);
		return;
	case LUA_TUSERDATA:
		if ((r = uget(L, idx, T_RANGE))) {
			validate_range(L, r, pr, f);
			lua_pushvalue(L, idx);
			return;
		}
		if (uget(L, idx, T_NET)) { /* read back from a spec */
			validate_net(L, lua_touserdata(L, idx), pr, f);
			lua_pushvalue(L, idx);
			return;
		}
		break;
	default:
		break;
	}
	luaL_error(L, "%s: cannot be set from a %s", fname(pr, f, buf, sizeof(buf)), luaL_typename(L, idx));
}

/* How many alternatives the normalised value at @idx holds (saturating). */
static uint64_t value_count(lua_State *L, int idx)
{
	struct lrange *r;
	struct lnet *nt;
	uint64_t n = 0;

	if ((r = uget(L, idx, T_RANGE)))
		return r->n;
	if ((nt = uget(L, idx, T_NET)))
		return nt->n;
	if (lua_type(L, idx) != LUA_TTABLE)
		return 1;
	idx = lua_absindex(L, idx);
	for (lua_Integer i = 1, k = (lua_Integer)lua_rawlen(L, idx); i <= k; i++) {
		uint64_t c;
		lua_rawgeti(L, idx, i);
		c = (r = uget(L, -1, T_RANGE)) ? r->n : (nt = uget(L, -1, T_NET)) ? nt->n : 1;
		lua_pop(L, 1);
		n = n + c < n ? UINT64_MAX : n + c;
	}
	return n;
}

static int varies(lua_State *L, int idx)
{
	int t = lua_type(L, idx);

	return t == LUA_TTABLE || (t == LUA_TUSERDATA && (utype(L, idx) == T_RANGE || utype(L, idx) == T_NET));
}

/* ---- layer specs ---- */

static void spec_mark(lua_State *L, struct lspec *s, unsigned fi, int idx)
{
	uint64_t bit = (uint64_t)1 << fi;

	s->stamp = ++get_U(L)->wgen;
	s->set &= ~bit;
	s->varies &= ~bit;
	if (lua_isnil(L, idx))
		return;
	s->set |= bit;
	if (varies(L, idx))
		s->varies |= bit;
}

/* Push a new spec of @pr with an empty field table. */
static struct lspec *new_spec(lua_State *L, const struct umpa_proto *pr)
{
	struct lspec *s = lua_newuserdatauv(L, sizeof(*s), 1);

	s->proto = pr;
	s->set = s->varies = 0;
	s->stamp = ++get_U(L)->wgen;
	lua_newtable(L);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, MT_SPEC);
	return s;
}

/* The constructor: ip{...}; upvalue 1 is the protocol. */
static int l_construct(lua_State *L)
{
	const struct umpa_proto *pr = lua_touserdata(L, lua_upvalueindex(1));
	struct lspec *s;
	int ft;

	if (lua_type(L, 1) == LUA_TSTRING && (pr->pflags & UMPA_PF_RAW) && pr->nfields > 0) {
		lua_createtable(L, 0, 1); /* Raw("bytes"), as Scapy: the payload itself */
		lua_pushvalue(L, 1);
		lua_setfield(L, -2, pr->fields[0].name);
		lua_replace(L, 1);
	}
	if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TTABLE)
		return luaL_error(L, "%s: takes a table of fields: %s{field=value, ...}", pr->name, pr->name);
	s = new_spec(L, pr);
	lua_getiuservalue(L, -1, 1);
	ft = lua_gettop(L);
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			const struct umpa_field *f = check_field(L, pr, -2);
			push_field_value(L, -1, pr, f);
			spec_mark(L, s, umpa_field_index(pr, f), -1);
			lua_rawseti(L, ft, (lua_Integer)umpa_field_index(pr, f) + 1);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	return 1;
}

/* Metamethods get their own object first: lua_touserdata is enough (the
 * metatables are protected by __metatable). */
static int spec_index(lua_State *L)
{
	struct lspec *s = lua_touserdata(L, 1);
	const struct umpa_field *f;

	if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "_name") == 0) {
		lua_pushstring(L, s->proto->name);
		return 1;
	}
	f = check_field(L, s->proto, 2);
	lua_getiuservalue(L, 1, 1);
	lua_rawgeti(L, -1, (lua_Integer)umpa_field_index(s->proto, f) + 1);
	if (lua_type(L, -1) == LUA_TTABLE) { /* a copy, as alternatives */
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		lua_createtable(L, (int)(n < 1 << 20 ? n : 0), 0);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -2, i);
			lua_rawseti(L, -2, i);
		}
		luaL_setmetatable(L, MT_ALT);
	}
	return 1;
}

static int spec_newindex(lua_State *L)
{
	struct lspec *s = lua_touserdata(L, 1);
	const struct umpa_field *f = check_field(L, s->proto, 2);

	reply_flush(L);
	lua_getiuservalue(L, 1, 1);
	if (lua_isnil(L, 3))
		lua_pushnil(L);
	else
		push_field_value(L, 3, s->proto, f);
	spec_mark(L, s, umpa_field_index(s->proto, f), -1);
	lua_rawseti(L, -2, (lua_Integer)umpa_field_index(s->proto, f) + 1);
	return 0;
}

/* Append "proto{f=v, ...}" for the spec at @idx to the buffer. */
static void spec_describe(lua_State *L, int idx, luaL_Buffer *b)
{
	struct lspec *s = lua_touserdata(L, idx);
	int first = 1;

	lua_getiuservalue(L, idx, 1);
	luaL_addstring(b, s->proto->name);
	luaL_addchar(b, '{');
	for (unsigned i = 0; i < s->proto->nfields; i++) {
		if (lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (!first)
			luaL_addstring(b, ", ");
		first = 0;
		luaL_addstring(b, s->proto->fields[i].name);
		luaL_addchar(b, '=');
		if (lua_type(L, -1) == LUA_TSTRING) {
			luaL_addchar(b, '"');
			luaL_addvalue(b);
			luaL_addchar(b, '"');
		} else if (lua_type(L, -1) == LUA_TTABLE) {
			lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
			luaL_addchar(b, '{');
			for (lua_Integer k = 1; k <= n; k++) {
				if (k > 1)
					luaL_addchar(b, ',');
				if (k > 8) {
					luaL_addstring(b, "...");
					break;
				}
				lua_rawgeti(L, -1, k);
				luaL_tolstring(L, -1, NULL);
				lua_remove(L, -2);
				luaL_addvalue(b);
			}
			luaL_addchar(b, '}');
			lua_pop(L, 1);
		} else {
			luaL_tolstring(L, -1, NULL);
			lua_remove(L, -2);
			luaL_addvalue(b);
		}
	}
	luaL_addchar(b, '}');
	lua_pop(L, 1);
}

static int spec_tostring(lua_State *L)
{
	luaL_Buffer b;

	luaL_checkudata(L, 1, MT_SPEC);
	luaL_buffinit(L, &b);
	spec_describe(L, 1, &b);
	luaL_pushresult(&b);
	return 1;
}

/* Push a copy of the spec at @idx (its own field table; values are immutable). */
static void copy_spec(lua_State *L, int idx)
{
	struct lspec *s = lua_touserdata(L, idx), *d;
	int src;

	idx = lua_absindex(L, idx);
	d = new_spec(L, s->proto);
	d->set = s->set;
	d->varies = s->varies;
	lua_getiuservalue(L, idx, 1);
	src = lua_gettop(L);
	lua_getiuservalue(L, -2, 1);
	lua_pushnil(L);
	while (lua_next(L, src)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	lua_pop(L, 2);
}

/* ---- stacks ---- */

/* Append the layers of operand @idx to the array at @out (copying specs). */
static void stack_append(lua_State *L, int idx, int out)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, out);

	if (lua_type(L, idx) == LUA_TSTRING) {
		lua_pushvalue(L, idx);
		lua_rawseti(L, out, ++n);
	} else if (uget(L, idx, T_SPEC)) {
		copy_spec(L, idx);
		lua_rawseti(L, out, ++n);
	} else if (uget(L, idx, T_STACK)) {
		lua_Integer k;
		stack_ready(L, idx);
		lua_getiuservalue(L, idx, 1);
		k = (lua_Integer)lua_rawlen(L, -1);
		for (lua_Integer i = 1; i <= k; i++) {
			if (lua_rawgeti(L, -1, i) == LUA_TSTRING)
				lua_rawseti(L, out, ++n);
			else {
				copy_spec(L, -1);
				lua_rawseti(L, out, ++n);
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 1);
	} else if (uget(L, idx, T_PKT)) {
		luaL_error(L, "cannot stack a built packet: stack layer specs (ip{...}/udp{...}) or strings");
	} else {
		luaL_error(L, "cannot stack a %s: use layer specs (ip{...}) and strings", luaL_typename(L, idx));
	}
	if (n > UMPA_MAX_LAYERS)
		luaL_error(L, "too many layers (at most %d)", UMPA_MAX_LAYERS);
}

/* a / b: a new stack with a's layers then b's. */
static int l_div(lua_State *L)
{
	struct lstack *st = lua_newuserdatauv(L, sizeof(struct lstack), 1);

	st->lazy = 0;
	lua_newtable(L);
	stack_append(L, 1, lua_gettop(L));
	stack_append(L, 2, lua_gettop(L));
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, MT_STACK);
	return 1;
}

static int stack_index(lua_State *L)
{
	lua_Integer n;

	luaL_checkudata(L, 1, MT_STACK);
	stack_ready(L, 1);
	lua_getiuservalue(L, 1, 1);
	n = (lua_Integer)lua_rawlen(L, -1);
	if (lua_type(L, 2) == LUA_TNUMBER) {
		int ok;
		lua_Integer i = lua_tointegerx(L, 2, &ok);
		if (!ok)
			return 0;
		if (i < 0)
			i += n + 1;
		if (i < 1 || i > n)
			return 0;
		lua_rawgeti(L, -1, i);
		return 1;
	}
	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *k = lua_tostring(L, 2);
		if (!find_proto(L, 2))
			return luaL_error(L, "no protocol '%s'", k);
		for (lua_Integer i = 1; i <= n; i++) {
			struct lspec *s;
			lua_rawgeti(L, -1, i);
			s = uget(L, -1, T_SPEC);
			if (s && umpa_proto_is_named(s->proto, k))
				return 1;
			lua_pop(L, 1);
		}
	}
	return 0;
}

static int stack_len(lua_State *L)
{
	luaL_checkudata(L, 1, MT_STACK);
	stack_ready(L, 1);
	lua_getiuservalue(L, 1, 1);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
	return 1;
}

static int stack_tostring(lua_State *L)
{
	luaL_Buffer b;
	lua_Integer n;

	luaL_checkudata(L, 1, MT_STACK);
	stack_ready(L, 1);
	lua_getiuservalue(L, 1, 1);
	n = (lua_Integer)lua_rawlen(L, -1);
	luaL_buffinit(L, &b);
	for (lua_Integer i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '/');
		if (lua_rawgeti(L, 2, i) == LUA_TSTRING) {
			luaL_addchar(&b, '"');
			luaL_addvalue(&b);
			luaL_addchar(&b, '"');
		} else {
			spec_describe(L, lua_gettop(L), &b);
			lua_pop(L, 1);
		}
	}
	luaL_pushresult(&b);
	return 1;
}

/* ---- packets ---- */

/* Charge what @lp's bytes hold now (they grow when a field is written).  Over
 * the cap the bytes are freed at once (the object is then an empty packet)
 * and the memory-limit error is raised. */
static void pkt_account(lua_State *L, struct lpkt *lp)
{
	size_t now = lp->p.owned ? lp->p.cap : 0;
	struct umpa_lua *U = get_U(L);

	if (now <= lp->charged) {
		umpa_lua_mem_account_(L, &lp->charged, now);
		return;
	}
	if (charge_fits(L, U, now - lp->charged)) { /* (lp is on the stack: a collection keeps it) */
		charge_now(L, U, now - lp->charged);
		lp->charged = now;
		return;
	}
	umpa_pkt_release(&lp->p);
	umpa_lua_mem_release_(L, lp->charged);
	lp->charged = 0;
	mem_error(L, U);
}

/*
 * Push a new packet object holding a copy of @src, its timestamp and its
 * comment.  The bytes are kept in the object itself, after its struct (one
 * allocation of Lua's, counted by its allocator, for every packet a rule is
 * handed): not owned in umpa_pkt's sense, so a write that makes the packet
 * grow moves them to an owned buffer (core's reserve), which __gc frees and
 * pkt_account charges.  Only the layers in use are copied.
 */
static struct lpkt *push_pkt_copy(lua_State *L, const struct umpa_pkt *src)
{
	struct umpa_lua *U = get_U(L);
	struct lpkt *lp;
	struct umpa_pkt *p;

	/* the cap's error here, naming the script's line (Lua's allocator would refuse it without),
	 * and none while the state closes, as for every object that needs a finalizer */
	if (!charge_fits(L, U, sizeof(*lp) + src->len))
		mem_error(L, U);
	/* uservalues: 1 its layer views, 2 its comment (a Lua string: the packet owns it, p.comment points in it) */
	lp = lua_newuserdatauv(L, sizeof(*lp) + src->len, 2);
	p = &lp->p;
	memset(p, 0, offsetof(struct umpa_pkt, l));
	lp->dirty = 0;
	lp->charged = 0;
	luaL_setmetatable(L, MT_PKT); /* __gc frees what a write may allocate and gives back its charge */
	p->data = (uint8_t *)(lp + 1);
	if (src->len)
		memcpy(p->data, src->data, src->len);
	p->len = src->len;
	p->wirelen = src->wirelen;
	p->linktype = src->linktype;
	p->ts_sec = src->ts_sec;
	p->ts_nsec = src->ts_nsec;
	p->nlayers = src->nlayers <= UMPA_MAX_LAYERS ? src->nlayers : UMPA_MAX_LAYERS;
	memcpy(p->l, src->l, sizeof(p->l[0]) * p->nlayers);
	if (src->comment) {
		lua_pushstring(L, src->comment);
		lp->p.comment = lua_tostring(L, -1);
		lua_setiuservalue(L, -2, 2);
	}
	return lp;
}

/* Finish a written packet again before its bytes are used. */
static struct umpa_pkt *pkt_ready(lua_State *L, struct lpkt *lp)
{
	struct umpa_err e = {0};

	if (lp->dirty) {
		if (umpa_pkt_finish(&lp->p, &e) < 0)
			luaL_error(L, "%s", e.msg);
		lp->dirty = 0;
		pkt_account(L, lp);
	}
	return &lp->p;
}

static int pkt_gc(lua_State *L)
{
	struct lpkt *lp = lua_touserdata(L, 1);

	if (lp->p.owned)
		free(lp->p.data);
	memset(&lp->p, 0, offsetof(struct umpa_pkt, l)); /* no layers: its views see it freed */
	umpa_lua_mem_release_(L, lp->charged);
	lp->charged = 0;
	return 0;
}

static int pkt_len(lua_State *L)
{
	struct lpkt *lp = lua_touserdata(L, 1);

	lua_pushinteger(L, pkt_ready(L, lp)->len);
	return 1;
}

static int pkt_bytes(lua_State *L)
{
	struct lpkt *lp = luaL_checkudata(L, 1, MT_PKT);
	struct umpa_pkt *p = pkt_ready(L, lp);

	lua_pushlstring(L, (const char *)p->data, p->len);
	return 1;
}

/* Render with @fn into the state's buffer; push it without its final newline. */
static int pkt_render(lua_State *L,
		      void (*fn)(const struct umpa_pkt *, const struct umpa_render_opts *, struct umpa_sbuf *))
{
	struct lpkt *lp = luaL_checkudata(L, 1, MT_PKT);
	struct umpa_lua *U = get_U(L);
	struct umpa_render_opts o = {.number = 1};
	struct umpa_pkt *p = pkt_ready(L, lp);
	size_t n;

	umpa_sbuf_reset(&U->sb);
	U->sb.oom = 0;
	fn(p, &o, &U->sb);
	if (U->sb.oom)
		return luaL_error(L, "out of memory rendering a packet");
	umpa_lua_mem_account_(L, &U->sb_charged, U->sb.cap); /* the buffer is kept for the next rendering */
	n = U->sb.len;
	if (n && U->sb.s[n - 1] == '\n')
		n--;
	lua_pushlstring(L, U->sb.s ? U->sb.s : "", n);
	return 1;
}

static int pkt_show(lua_State *L)
{
	return pkt_render(L, umpa_render_line);
}

static int pkt_json(lua_State *L)
{
	return pkt_render(L, umpa_render_json);
}

static int pkt_tree(lua_State *L)
{
	return pkt_render(L, umpa_render_tree);
}

static int pkt_copy(lua_State *L)
{
	struct lpkt *lp = luaL_checkudata(L, 1, MT_PKT);

	push_pkt_copy(L, pkt_ready(L, lp));
	return 1;
}

/* Push the view of layer @li of the packet at index 1 (made once, then
 * kept in the packet's uservalue). */
static void push_layer(lua_State *L, unsigned li)
{
	struct llayer *ll;

	if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_createtable(L, (int)li + 1, 0);
		lua_pushvalue(L, -1);
		lua_setiuservalue(L, 1, 1);
	}
	if (lua_rawgeti(L, -1, (lua_Integer)li + 1) == LUA_TUSERDATA) {
		lua_remove(L, -2);
		return;
	}
	lua_pop(L, 1);
	ll = lua_newuserdatauv(L, sizeof(*ll), 1);
	ll->li = li;
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, MT_LAYER);
	lua_pushvalue(L, -1);
	lua_rawseti(L, -3, (lua_Integer)li + 1);
	lua_remove(L, -2);
}

static int pkt_index(lua_State *L)
{
	struct lpkt *lp = lua_touserdata(L, 1);
	const struct umpa_proto *pr;
	const char *k;
	int li;

	if (lua_type(L, 2) == LUA_TNUMBER) {
		int ok;
		lua_Integer i = lua_tointegerx(L, 2, &ok);
		if (!ok)
			return 0;
		if (i < 0)
			i += (lua_Integer)lp->p.nlayers + 1;
		if (i < 1 || i > (lua_Integer)lp->p.nlayers)
			return 0;
		push_layer(L, (unsigned)(i - 1));
		return 1;
	}
	if (lua_type(L, 2) != LUA_TSTRING)
		return 0;
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) /* a method */
		return 1;
	k = lua_tostring(L, 2);
	if (!(pr = find_proto(L, 2)))
		return luaL_error(L, "a packet has no method or protocol '%s'", k);
	if ((li = umpa_pkt_find(&lp->p, pr, 0)) < 0)
		return 0;
	push_layer(L, (unsigned)li);
	return 1;
}

static int pkt_newindex(lua_State *L)
{
	return luaL_error(L, "set fields through a layer: p.ip.ttl = 64");
}

static int pkt_tostring(lua_State *L)
{
	return pkt_show(L);
}

/* The packet and layer index of the layer view at 1 (the packet is pushed at index 4). */
static struct lpkt *layer_pkt(lua_State *L, unsigned *li)
{
	struct llayer *ll = lua_touserdata(L, 1);
	struct lpkt *lp;

	lua_settop(L, 3);
	lua_getiuservalue(L, 1, 1); /* the packet, at 4: kept alive while we work */
	lp = lua_touserdata(L, 4);
	*li = ll->li;
	if (ll->li >= lp->p.nlayers) /* its bytes were freed: by its __gc (a finalizer reached it) or the memory cap */
		luaL_error(L, "layer %d of a packet whose bytes were freed", (int)ll->li + 1);
	return lp;
}

/* Push field @f of layer @li of @p as a script reads it (p.ip.ttl): an
 * integer, a boolean or text; returns 0 (nothing pushed) when it cannot be
 * read (past the captured bytes, a VAR field). */
static int push_pkt_field(lua_State *L, const struct umpa_pkt *p, unsigned li, const struct umpa_field *f)
{
	uint64_t v;

	switch (f->type) {
	case UMPA_FT_UINT:
	case UMPA_FT_ENUM:
	case UMPA_FT_FLAGS:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return 0;
		if ((f->flags & UMPA_F_SIGNED) && f->bits < 64 && (v >> (f->bits - 1)) & 1)
			v |= ~(((uint64_t)1 << f->bits) - 1);
		lua_pushinteger(L, (lua_Integer)v);
		return 1;
	case UMPA_FT_BOOL:
		if (umpa_field_get_u64(p, li, f, &v) < 0)
			return 0;
		lua_pushboolean(L, v != 0);
		return 1;
	case UMPA_FT_VAR:
		return 0;
	default: {
		struct umpa_lua *U = get_U(L);
		umpa_sbuf_reset(&U->sb);
		if (umpa_field_format(p, li, f, &U->sb) < 0)
			return 0;
		lua_pushlstring(L, U->sb.s ? U->sb.s : "", U->sb.len);
		return 1;
	}
	}
}

/* The bytes layer @li of @p carries after its header, within its window (p.udp._payload). */
static const uint8_t *layer_payload(const struct umpa_pkt *p, unsigned li, size_t *n)
{
	const struct umpa_layer *ly = &p->l[li];

	*n = 0;
	if (ly->hlen >= ly->len || ly->off + ly->len > p->len)
		return p->data;
	*n = ly->len - ly->hlen;
	return p->data + ly->off + ly->hlen;
}

static int layer_index(lua_State *L)
{
	unsigned li;
	struct lpkt *lp = layer_pkt(L, &li);
	const struct umpa_proto *pr = lp->p.l[li].proto;
	const struct umpa_field *f;

	if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "_name") == 0) {
		lua_pushstring(L, pr->name);
		return 1;
	}
	if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "_payload") == 0) {
		/* what the layer carries: the bytes after its header, within its window */
		size_t n;
		const uint8_t *d = layer_payload(pkt_ready(L, lp), li, &n);
		lua_pushlstring(L, (const char *)d, n);
		return 1;
	}
	f = check_field(L, pr, 2);
	return push_pkt_field(L, pkt_ready(L, lp), li, f);
}

/* Forget that @f was set: automatic fields are recomputed by finish, others
 * go back to their default. */
static int layer_unset(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, struct umpa_err *e)
{
	static const uint8_t zeros[64];
	int rc = 0;

	if (!(f->flags & UMPA_F_AUTO)) {
		if (is_int_type(f)) {
			umpa_field_unset(p, li, f);
			umpa_field_auto_u64(p, li, f, f->def);
		} else if (f->type == UMPA_FT_VAR) {
			rc = umpa_field_set_str(p, li, f, "", e);
		} else if (f->bits / 8 <= sizeof(zeros)) {
			rc = umpa_field_set_bytes(p, li, f, f->defp ? f->defp : zeros, f->bits / 8, e);
		}
	}
	umpa_field_unset(p, li, f);
	return rc;
}

static int layer_newindex(lua_State *L)
{
	unsigned li;
	struct lpkt *lp = layer_pkt(L, &li);
	const struct umpa_proto *pr = lp->p.l[li].proto;
	const struct umpa_field *f = check_field(L, pr, 2);
	struct umpa_err e = {0};
	int rc;

	reply_flush(L);
	if (lua_isnil(L, 3)) {
		rc = layer_unset(&lp->p, li, f, &e);
	} else {
		if (lua_type(L, 3) == LUA_TTABLE && f->type == UMPA_FT_VAR && !is_alt(L, 3)) {
			join_var_items(L, 3, pr, f);
			lua_replace(L, 3);
		}
		rc = set_from_lua(L, 3, &lp->p, li, f, &e);
	}
	lp->dirty = 1;
	pkt_account(L, lp);
	if (rc < 0) {
		err_name_field(pr, f, &e);
		return luaL_error(L, "%s", e.msg);
	}
	return 0;
}

static int layer_tostring(lua_State *L)
{
	unsigned li;
	struct lpkt *lp = layer_pkt(L, &li);

	lua_pushfstring(L, "%s layer %d", lp->p.l[li].proto->name, (int)li + 1);
	return 1;
}

/* ---- building ---- */

/* ---- reply(p, layer...) ---- */

/* Field @name (a string literal) of @pr, as umpa_proto_field finds it, kept
 * in the state after the first lookup (reply runs for every answer). */
static const struct umpa_field *reply_field(lua_State *L, const struct umpa_proto *pr, const char *name)
{
	struct umpa_lua *U = get_U(L);
	const struct umpa_field *f;

	for (unsigned i = 0; i < U->nrfields; i++)
		if (U->rfields[i].pr == pr && U->rfields[i].name == name)
			return U->rfields[i].f;
	f = umpa_proto_field(pr, name);
	if (U->nrfields < sizeof(U->rfields) / sizeof(U->rfields[0])) {
		U->rfields[U->nrfields].pr = pr;
		U->rfields[U->nrfields].name = name;
		U->rfields[U->nrfields++].f = f;
	}
	return f;
}

/* Is field @name of the spec at @sidx unset?  (The spec's field table is at @ft.) */
static int reply_unset(lua_State *L, int ft, const struct umpa_field *f, const struct umpa_proto *pr)
{
	int nil = lua_rawgeti(L, ft, (lua_Integer)umpa_field_index(pr, f) + 1) == LUA_TNIL;

	lua_pop(L, 1);
	return nil;
}

/* Set field @f of the spec at @sidx (field table at @ft) to the value on top
 * of the stack (popped), checked as spec.f = v checks it. */
static void reply_put(lua_State *L, int sidx, int ft, const struct umpa_field *f)
{
	struct lspec *s = lua_touserdata(L, sidx);

	push_field_value(L, -1, s->proto, f);
	spec_mark(L, s, umpa_field_index(s->proto, f), -1);
	lua_rawseti(L, ft, (lua_Integer)umpa_field_index(s->proto, f) + 1);
	lua_pop(L, 1);
}

/* The recorder (while it is on): field @f of the spec at @sidx was set from
 * p's layer @li (field @g), as @kind says. */
static void reply_rec(lua_State *L, int sidx, const struct umpa_field *f, int li, const struct umpa_field *g, int kind)
{
	struct rrec *r = &get_U(L)->rrec;

	if (!r->on)
		return;
	if (r->n >= RPLAN_HOLES || li < 0 || li > 255 || sidx < 0 || sidx >= RREC_POS) {
		r->bad = 1;
		return;
	}
	r->h[r->n] = (struct rhole){.kind = (uint8_t)kind, .pli = (uint8_t)li, .f = f, .g = g};
	r->sidx[r->n++] = sidx;
}

/* The spec at @sidx: when its field @name is unset, set it to field @from of
 * layer @li of @p (when that can be read). */
static void reply_from(lua_State *L, int sidx, const char *name, const struct umpa_pkt *p, int li, const char *from)
{
	struct lspec *s = lua_touserdata(L, sidx);
	const struct umpa_field *f = reply_field(L, s->proto, name);
	const struct umpa_field *g = reply_field(L, p->l[li].proto, from);

	lua_getiuservalue(L, sidx, 1);
	if (f && g && reply_unset(L, lua_gettop(L), f, s->proto) && push_pkt_field(L, p, (unsigned)li, g)) {
		if (f->type == g->type && f->bits == g->bits) { /* read from a field of its own kind: valid as it is */
			spec_mark(L, s, umpa_field_index(s->proto, f), -1);
			lua_rawseti(L, -2, (lua_Integer)umpa_field_index(s->proto, f) + 1);
			reply_rec(L, sidx, f, li, g, RH_COPY);
		} else {
			reply_put(L, sidx, lua_gettop(L) - 1, f);
			get_U(L)->rrec.bad = 1; /* converted: not compiled */
		}
	}
	lua_pop(L, 1);
}

/* The spec at @sidx: when its field @name is unset, set it to the integer @v
 * (or to the value name @text when not NULL).  Returns the field when it was set, else NULL. */
static const struct umpa_field *reply_int(lua_State *L, int sidx, const char *name, lua_Integer v, const char *text)
{
	struct lspec *s = lua_touserdata(L, sidx);
	const struct umpa_field *f = reply_field(L, s->proto, name), *done = NULL;

	lua_getiuservalue(L, sidx, 1);
	if (f && reply_unset(L, lua_gettop(L), f, s->proto)) {
		if (text)
			lua_pushstring(L, text);
		else
			lua_pushinteger(L, v);
		reply_put(L, sidx, lua_gettop(L) - 1, f);
		done = f;
	}
	lua_pop(L, 1);
	return done;
}

/* Field @name of the spec at @sidx pushed (nil when unset). */
static void reply_get(lua_State *L, int sidx, const char *name)
{
	struct lspec *s = lua_touserdata(L, sidx);
	const struct umpa_field *f = reply_field(L, s->proto, name);

	lua_getiuservalue(L, sidx, 1);
	if (f)
		lua_rawgeti(L, -1, (lua_Integer)umpa_field_index(s->proto, f) + 1);
	else
		lua_pushnil(L);
	lua_remove(L, -2);
}

/* The given spec of @pr among the arguments (the last one; already a copy),
 * else a new one: its stack index. */
static int reply_spec(lua_State *L, const int *given, int k, const struct umpa_proto *pr)
{
	if (given[k])
		return given[k];
	new_spec(L, pr);
	return lua_gettop(L);
}

/* Integer field @name of layer @li of @p, or @def. */
static lua_Integer reply_pkt_int(lua_State *L, const struct umpa_pkt *p, int li, const char *name, lua_Integer def)
{
	const struct umpa_field *f = reply_field(L, p->l[li].proto, name);
	uint64_t v;

	return f && umpa_field_get_u64(p, (unsigned)li, f, &v) == 0 ? (lua_Integer)v : def;
}

/*
 * reply(p, layer...) -> a stack answering packet p: ether/arp/ip/ipv6 with
 * addresses swapped from p (an ARP request becomes a reply), UDP/TCP ports
 * swapped, TCP seq = p's ack and ack = p's seq + its length, ICMP and ICMPv6
 * echo id, sequence and data echoed.  The given layers replace the ones of the
 * same protocol (a field they set stays as set); payload strings go on top.
 * Written in C on the spec objects: it runs for every answer a responder
 * sends, and in Lua it cost more than everything else of a ping answer.
 * This is the slow path, which makes the specs; l_reply (below) skips it for
 * an answer it has compiled, and while the recorder is on, this notes which
 * fields came from p, for the compiler.
 */
static int reply_slow(lua_State *L)
{
	static const struct umpa_proto *const lower[] = {&umpa_proto_eth, &umpa_proto_arp, &umpa_proto_ip,
							 &umpa_proto_ipv6};
	struct lpkt *lp = uget(L, 1, T_PKT);
	const struct umpa_pkt *p;
	int nargs = lua_gettop(L), given[4] = {0, 0, 0, 0}, out, n = 0, payload = 0, echoed = 0, a = 0;
	int li_eth, li_arp, li_ip, li_ip6, src_from_p = 0;
	struct rrec *rec = &get_U(L)->rrec;

	if (!lp)
		return luaL_error(L, "reply: the first argument is the packet to answer (a rule's p)");
	p = pkt_ready(L, lp);
	for (int i = 2; i <= nargs; i++) {
		struct lspec *sp;
		if (lua_type(L, i) == LUA_TSTRING) {
			payload = 1;
		} else if ((sp = uget(L, i, T_SPEC))) {
			for (int k = 0; k < 4; k++)
				if (sp->proto == lower[k])
					given[k] = i;
			copy_spec(L, i); /* the caller's spec stays as it was: its copy is filled in */
			lua_replace(L, i);
		} else if (!uget(L, i, T_STACK)) {
			return luaL_error(L, "reply: layers and payload strings only");
		}
	}
	li_eth = umpa_pkt_find(p, &umpa_proto_eth, 0);
	li_arp = umpa_pkt_find(p, &umpa_proto_arp, 0);
	li_ip = umpa_pkt_find(p, &umpa_proto_ip, 0);
	li_ip6 = li_ip < 0 ? umpa_pkt_find(p, &umpa_proto_ipv6, 0) : -1;
	((struct lstack *)lua_newuserdatauv(L, sizeof(struct lstack), 1))->lazy = 0;
	lua_newtable(L);
	out = lua_gettop(L);
	for (int i = 0; i < RREC_POS; i++)
		rec->pos[i] = -1;
#define REPLY_PUSH(idx, mine)                                                                                          \
	do {                                                                                                           \
		if ((idx) < RREC_POS)                                                                                  \
			rec->pos[idx] = n;                                                                             \
		else                                                                                                   \
			rec->bad = 1;                                                                                  \
		if (mine) {                                                                                            \
			lua_pushvalue(L, idx);                                                                         \
			lua_rawseti(L, out, (lua_Integer)lua_rawlen(L, out) + 1);                                      \
		} else {                                                                                               \
			stack_append(L, idx, out);                                                                     \
		}                                                                                                      \
		n++;                                                                                                   \
	} while (0)
	if (li_arp >= 0) {
		a = reply_spec(L, given, 1, &umpa_proto_arp);
		reply_int(L, a, "op", 0, "reply");
		reply_from(L, a, "psrc", p, li_arp, "pdst");
		reply_from(L, a, "pdst", p, li_arp, "psrc");
		reply_from(L, a, "hwdst", p, li_arp, "hwsrc");
		if (li_eth < 0)
			REPLY_PUSH(a, 1); /* else after ether, below */
	}
	if (li_eth >= 0) {
		int e = reply_spec(L, given, 0, &umpa_proto_eth), ft;
		const struct umpa_field *src = reply_field(L, &umpa_proto_eth, "src");
		lua_getiuservalue(L, e, 1);
		ft = lua_gettop(L);
		if (reply_unset(L, ft, src, &umpa_proto_eth)) {
			if (a)
				reply_get(L, a, "hwsrc");
			else
				lua_pushnil(L);
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				if (!push_pkt_field(L, p, (unsigned)li_eth, reply_field(L, &umpa_proto_eth, "dst")))
					lua_pushnil(L);
				else
					src_from_p = 1;
			}
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
			} else {
				reply_put(L, e, ft, src);
				if (src_from_p)
					reply_rec(L, e, src, li_eth, reply_field(L, &umpa_proto_eth, "dst"), RH_COPY);
			}
		}
		lua_pop(L, 1);
		reply_from(L, e, "dst", p, li_eth, "src");
		if (a) { /* the ARP sender's hardware address: the frame's source */
			reply_get(L, a, "hwsrc");
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				reply_get(L, e, "src");
				if (lua_isnil(L, -1)) {
					lua_pop(L, 1);
				} else {
					lua_getiuservalue(L, a, 1);
					lua_insert(L, -2);
					reply_put(L, a, lua_gettop(L) - 1, reply_field(L, &umpa_proto_arp, "hwsrc"));
					lua_pop(L, 1);
					if (src_from_p)
						reply_rec(L, a, reply_field(L, &umpa_proto_arp, "hwsrc"), li_eth,
							  reply_field(L, &umpa_proto_eth, "dst"), RH_COPY);
				}
			} else {
				lua_pop(L, 1);
			}
		}
		REPLY_PUSH(e, 1);
		if (a)
			REPLY_PUSH(a, 1);
	}
	if (li_ip >= 0 || li_ip6 >= 0) {
		int v6 = li_ip < 0, li = v6 ? li_ip6 : li_ip;
		int x = reply_spec(L, given, v6 ? 3 : 2, v6 ? &umpa_proto_ipv6 : &umpa_proto_ip);
		reply_from(L, x, "src", p, li, "dst");
		reply_from(L, x, "dst", p, li, "src");
		REPLY_PUSH(x, 1);
	}
	for (int i = 2; i <= nargs; i++) {
		struct lspec *u = uget(L, i, T_SPEC);
		int k, li;
		if (u) {
			for (k = 0; k < 4 && u->proto != lower[k]; k++)
				;
			if (k < 4)
				continue; /* a lower layer: placed above */
			if ((u->proto == &umpa_proto_udp || u->proto == &umpa_proto_tcp) &&
			    (li = umpa_pkt_find(p, u->proto, 0)) >= 0) {
				reply_from(L, i, "sport", p, li, "dport");
				reply_from(L, i, "dport", p, li, "sport");
				if (u->proto == &umpa_proto_tcp) {
					lua_Integer fl = reply_pkt_int(L, p, li, "flags", 0);
					size_t len;
					(void)layer_payload(p, (unsigned)li, &len);
					const struct umpa_field *ack;
					reply_from(L, i, "seq", p, li, "ack");
					ack = reply_int(L, i, "ack",
							(reply_pkt_int(L, p, li, "seq", 0) + (lua_Integer)len +
							 ((fl & 2) ? 1 : 0) + ((fl & 1) ? 1 : 0)) %
							    4294967296,
							NULL);
					if (ack)
						reply_rec(L, i, ack, li, NULL, RH_TCPACK);
				}
			} else if ((u->proto == &umpa_proto_icmp || u->proto == &umpa_proto_icmpv6) &&
				   (li = umpa_pkt_find(p, u->proto, 0)) >= 0 &&
				   reply_pkt_int(L, p, li, "type", -1) == (u->proto == &umpa_proto_icmp ? 8 : 128)) {
				reply_from(L, i, "id", p, li, "id");
				reply_from(L, i, "seq", p, li, "seq");
				echoed = li + 1;
			}
		}
		REPLY_PUSH(i, u != NULL); /* a spec: a copy already; a stack's layers: copied */
	}
	if (echoed && !payload) {
		size_t len;
		const uint8_t *d = layer_payload(p, (unsigned)(echoed - 1), &len);
		if (len) {
			lua_pushlstring(L, (const char *)d, len);
			REPLY_PUSH(lua_gettop(L), 1);
			lua_pop(L, 1);
			rec->echo_li = echoed - 1;
		}
	}
#undef REPLY_PUSH
	if (n == 0)
		return luaL_error(L, "reply: nothing to answer with");
	if (n == 1) { /* one layer: itself, as a / b would not have made a stack */
		lua_rawgeti(L, out, 1);
		return 1;
	}
	lua_pushvalue(L, out);
	lua_setiuservalue(L, out - 1, 1);
	lua_pushvalue(L, out - 1);
	luaL_setmetatable(L, MT_STACK);
	return 1;
}

static int l_reply(lua_State *L);

void umpa_lua_push_reply_(lua_State *L)
{
	lua_pushcfunction(L, l_reply);
}

static int plan_gc(lua_State *L)
{
	struct plan *P = luaL_checkudata(L, 1, MT_PLAN);

	umpa_pkt_release(&P->base);
	umpa_pkt_release(&P->pkt);
	free(P->vars);
	free(P->vals);
	free(P->bytes);
	umpa_lua_mem_release_(L, P->charged);
	P->charged = 0;
	P->vars = NULL;
	P->vals = NULL;
	P->bytes = NULL;
	P->capvars = P->capvals = P->capbytes = 0;
	return 0;
}

/* Grow an array of plan @P to hold @more more elements, charging the bytes first; raise on failure. */
static void *grow(lua_State *L, struct plan *P, void *arr, size_t *cap, size_t n, size_t more, size_t elem)
{
	void *a;
	size_t c;

	if (n + more <= *cap)
		return arr;
	c = *cap ? *cap : 16;
	while (c < n + more) {
		if (c > SIZE_MAX / 2 / elem)
			return luaL_error(L, "a packet expression too large to compile"), NULL;
		c *= 2;
	}
	umpa_lua_mem_charge_(L, (c - *cap) * elem);
	P->charged += (c - *cap) * elem;
	if (!(a = realloc(arr, c * elem))) {
		get_U(L)->code = UMPA_ENOMEM;
		luaL_error(L, "out of memory compiling a packet expression");
	}
	*cap = c;
	return a;
}

/* Charge what the packets of plan @P hold now (its arrays are charged as they grow). */
static void plan_account(lua_State *L, struct plan *P)
{
	size_t now = P->capvars * sizeof(*P->vars) + P->capvals * sizeof(*P->vals) + P->capbytes +
		     (P->base.owned ? P->base.cap : 0) + (P->pkt.owned ? P->pkt.cap : 0);

	umpa_lua_mem_account_(L, &P->charged, now);
}

/* Raise a build-phase error: "<prefix><msg>". */
static int build_error(lua_State *L, struct bctx *c, const struct umpa_err *e)
{
	if (e->code)
		c->U->code = e->code;
	return luaL_error(L, "%s%s", c->prefix, e->msg);
}

/* Pre-parse every alternative of the varying value at the top for field @f of layer @li. */
static void compile_var(lua_State *L, struct bctx *c, unsigned li, const struct umpa_field *f)
{
	struct plan *P = c->plan;
	struct umpa_lua *U = c->U;
	const struct umpa_proto *pr = P->base.l[li].proto;
	struct lrange *r;
	struct lnet *nt;
	struct pvar *v;
	struct umpa_err e = {0};
	int t = lua_gettop(L);

	P->vars = grow(L, P, P->vars, &P->capvars, P->nvars, 1, sizeof(*P->vars));
	v = &P->vars[P->nvars];
	*v = (struct pvar){.li = li, .f = f, .first = P->nvals};
	if ((r = uget(L, t, T_RANGE))) {
		v->is_range = 1;
		v->start = r->a;
		v->step = r->step;
		v->n = r->n;
		P->nvars++;
		return;
	}
	if ((nt = uget(L, t, T_NET))) {
		v->is_net = 1;
		memcpy(v->net, nt->base, sizeof(v->net));
		v->alen = nt->alen;
		v->n = nt->n;
		P->nvars++;
		return;
	}
	v->n = value_count(L, t);
	if (v->n > c->max) { /* a list in a stack that builds nothing (another field's empty range) */
		c->U->code = UMPA_ERANGE;
		luaL_error(L, "%sexpression expands to more than %I packets", c->prefix, (lua_Integer)c->max);
	}
	P->vals = grow(L, P, P->vals, &P->capvals, P->nvals, v->n, sizeof(*P->vals));
	for (lua_Integer i = 1, k = (lua_Integer)lua_rawlen(L, t); i <= k; i++) {
		uint64_t nel = 1;
		lua_rawgeti(L, t, i);
		if ((r = uget(L, -1, T_RANGE)))
			nel = r->n;
		if ((nt = uget(L, -1, T_NET))) { /* a prefix in a list: its addresses, as bytes */
			P->bytes = grow(L, P, P->bytes, &P->capbytes, P->nbytes, nt->n * nt->alen, 1);
			for (uint64_t j = 0; j < nt->n; j++) {
				struct cval *cv = &P->vals[P->nvals++];
				net_addr(nt->base, nt->alen, j, P->bytes + P->nbytes);
				*cv = (struct cval){.kind = CV_BYTES, .u = P->nbytes, .n = nt->alen};
				P->nbytes += nt->alen;
			}
			lua_pop(L, 1);
			continue;
		}
		for (uint64_t j = 0; j < nel; j++) {
			struct cval *cv = &P->vals[P->nvals];
			if (r) {
				lua_pushinteger(L, (lua_Integer)((uint64_t)r->a + j * (uint64_t)r->step));
			} else {
				lua_pushvalue(L, -1);
			}
			if (f->type == UMPA_FT_VAR) {
				/* applied (and so checked) per packet from the text, on the real layer */
				cv->kind = CV_STR;
				cv->s = lua_tostring(L, -2); /* the element itself, kept alive by the spec */
			} else if (scratch_layer(L, U, pr, f), set_from_lua(L, -1, &U->scratch, 0, f, &e) < 0) {
				build_error(L, c, &e);
			} else if (is_int_type(f)) {
				cv->kind = CV_U64;
				umpa_field_get_u64(&U->scratch, 0, f, &cv->u);
			} else {
				const uint8_t *b;
				uint32_t n;
				if (umpa_field_get_bytes(&U->scratch, 0, f, &b, &n) < 0)
					luaL_error(L, "%s%s.%s: cannot read back", c->prefix, pr->name, f->name);
				P->bytes = grow(L, P, P->bytes, &P->capbytes, P->nbytes, n, 1);
				memcpy(P->bytes + P->nbytes, b, n);
				cv->kind = CV_BYTES;
				cv->u = P->nbytes;
				cv->n = n;
				P->nbytes += n;
			}
			lua_pop(L, 1);
			P->nvals++;
		}
		lua_pop(L, 1);
	}
	P->nvars++;
}

/* Apply varying field @v's current value to the packet. */
static int apply_var(struct plan *P, const struct pvar *v, struct umpa_err *e)
{
	const struct cval *cv;

	if (v->is_range) {
		uint64_t x = (uint64_t)v->start + v->cur * (uint64_t)v->step;
		if (v->f->bits < 64 && is_int_type(v->f))
			x &= ((uint64_t)1 << v->f->bits) - 1; /* negative ends of signed fields */
		return set_int(&P->pkt, v->li, v->f, x, e);
	}
	if (v->is_net) {
		uint8_t a[16];
		net_addr(v->net, v->alen, v->cur, a);
		return umpa_field_set_bytes(&P->pkt, v->li, v->f, a, v->alen, e);
	}
	cv = &P->vals[v->first + v->cur];
	switch (cv->kind) {
	case CV_U64:
		return umpa_field_set_u64(&P->pkt, v->li, v->f, cv->u, e);
	case CV_BYTES:
		return umpa_field_set_bytes(&P->pkt, v->li, v->f, P->bytes + cv->u, cv->n, e);
	default:
		return umpa_field_set_str(&P->pkt, v->li, v->f, cv->s, e);
	}
}

/* Hand one finished packet to the callback. */
static void emit(lua_State *L, struct bctx *c, struct umpa_pkt *p)
{
	int rc = c->cb(c->arg, p, c->e);

	c->count++;
	if (rc < 0) {
		c->cb_rc = rc;
		if (c->e && c->e->code)
			c->U->code = c->e->code;
		luaL_error(L, "%s%s", c->prefix, c->e && c->e->msg[0] ? c->e->msg : "stopped");
	}
}

/* Compile the layer list at @items (specs and strings) into the plan. */
static void compile_layers(lua_State *L, struct bctx *c, int items)
{
	struct plan *P = c->plan;
	struct umpa_pkt *base = &P->base;
	lua_Integer n = (lua_Integer)lua_rawlen(L, items);
	struct umpa_err e = {0};
	uint64_t total = 1;

	P->key = NULL;
	P->nvars = P->nvals = P->nbytes = 0;
	umpa_pkt_clear(base);
	for (lua_Integer i = 1; i <= n; i++) {
		int rc;
		if (lua_rawgeti(L, items, i) == LUA_TSTRING) {
			size_t k;
			const char *s = lua_tolstring(L, -1, &k);
			if (k > UMPA_MAX_PKT) {
				e.code = UMPA_ERANGE;
				snprintf(e.msg, sizeof(e.msg), "a %zu-byte payload is larger than %u bytes", k,
					 UMPA_MAX_PKT);
				build_error(L, c, &e);
			}
			rc = umpa_pkt_push_bytes(base, &umpa_proto_raw, s, (uint32_t)k, &e);
		} else {
			struct lspec *s = lua_touserdata(L, -1);
			rc = umpa_pkt_push(base, s->proto, &e);
		}
		if (rc < 0)
			build_error(L, c, &e);
		lua_pop(L, 1);
	}
	/* constant fields into the base, in table order; varying ones compiled,
	 * the outer layer's (and, inside a layer, the later field's) slowest */
	for (lua_Integer i = 1; i <= n; i++) {
		unsigned li = (unsigned)(i - 1);
		const struct umpa_proto *pr;
		struct lspec *s;
		uint64_t fixed;
		int ft;
		if (lua_rawgeti(L, items, i) == LUA_TSTRING) {
			lua_pop(L, 1);
			continue;
		}
		s = lua_touserdata(L, -1);
		pr = s->proto;
		fixed = s->set & ~s->varies;
		lua_getiuservalue(L, -1, 1);
		ft = lua_gettop(L);
		for (unsigned fi = 0; fixed && fi < pr->nfields; fi++) {
			if (!((fixed >> fi) & 1))
				continue;
			lua_rawgeti(L, ft, (lua_Integer)fi + 1);
			if (set_from_lua(L, -1, base, li, &pr->fields[fi], &e) < 0)
				build_error(L, c, &e);
			lua_pop(L, 1);
		}
		for (unsigned fi = pr->nfields; s->varies && fi-- > 0;) {
			if (!((s->varies >> fi) & 1))
				continue;
			lua_rawgeti(L, ft, (lua_Integer)fi + 1);
			compile_var(L, c, li, &pr->fields[fi]);
			total *= P->vars[P->nvars - 1].n;
			lua_pop(L, 1);
		}
		lua_pop(L, 2);
	}
	if (base->nlayers)
		base->linktype = umpa_linktype_for_proto(base->l[0].proto);
	P->total = total;
	plan_account(L, P);
}

static void run_plan(lua_State *L, struct bctx *c);

/*
 * Build every packet of the layer list at @items.  @key identifies the
 * object the list comes from: when it is the one compiled last (an array
 * holding the same stack many times), the plan is reused as it is.
 */
static void build_layers(lua_State *L, struct bctx *c, int items, const void *key)
{
	if (!key || key != c->plan->key) {
		compile_layers(L, c, items);
		c->plan->key = key;
	}
	run_plan(L, c);
}

/* Build every packet of the compiled plan. */
static void run_plan(lua_State *L, struct bctx *c)
{
	struct plan *P = c->plan;
	struct umpa_pkt *base = &P->base;
	struct umpa_err e = {0};

	for (size_t k = 0; k < P->nvars; k++)
		P->vars[k].cur = 0;

	/* the loop: copy the base, set the varying fields, finish, hand over */
	for (uint64_t k = 0; k < P->total; k++) {
		size_t vi;
		if (umpa_pkt_dup(&P->pkt, base, &e) < 0)
			build_error(L, c, &e);
		for (vi = 0; vi < P->nvars; vi++)
			if (apply_var(P, &P->vars[vi], &e) < 0) {
				err_name_field(P->pkt.l[P->vars[vi].li].proto, P->vars[vi].f, &e);
				build_error(L, c, &e);
			}
		if (umpa_pkt_finish(&P->pkt, &e) < 0)
			build_error(L, c, &e);
		plan_account(L, P); /* the reused packet may have grown (a few adds when it has not) */
		emit(L, c, &P->pkt);
		for (vi = P->nvars; vi-- > 0;) { /* the odometer: the last digit turns fastest */
			if (++P->vars[vi].cur < P->vars[vi].n)
				break;
			P->vars[vi].cur = 0;
		}
	}
}

/* Push a new, empty plan. */
static struct plan *new_plan(lua_State *L)
{
	struct plan *P = lua_newuserdatauv(L, sizeof(*P), 0);

	memset(P, 0, sizeof(*P));
	umpa_pkt_init(&P->base);
	umpa_pkt_init(&P->pkt);
	luaL_setmetatable(L, MT_PLAN);
	return P;
}

/* Multiply saturating at UINT64_MAX. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

/* How many packets the value at @idx builds (saturating); raises on what cannot be built. */
static uint64_t count_value(lua_State *L, struct bctx *c, int idx, int depth)
{
	uint64_t total = 0;

	idx = lua_absindex(L, idx);
	if (depth > MAX_DEPTH)
		luaL_error(L, "%sarrays nested too deep", c->prefix);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		return 1;
	case LUA_TTABLE:
		for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, idx); i <= n; i++) {
			uint64_t k;
			lua_rawgeti(L, idx, i);
			k = count_value(L, c, -1, depth + 1);
			lua_pop(L, 1);
			total = total + k < total ? UINT64_MAX : total + k;
		}
		return total;
	case LUA_TUSERDATA:
		if (lua_touserdata(L, idx) == c->count_key)
			return c->count_val; /* the same stack again (an array of it) */
		switch (utype(L, idx)) {
		case T_PKT:
			return 1;
		case T_SPEC:
		case T_STACK: {
			int one = utype(L, idx) == T_SPEC;
			lua_Integer n;
			if (!one && ((struct lstack *)lua_touserdata(L, idx))->lazy)
				return 1; /* reply()'s answer: one packet, its specs hold no lists */
			total = 1;
			if (one) {
				lua_createtable(L, 1, 0);
				lua_pushvalue(L, idx);
				lua_rawseti(L, -2, 1);
			} else {
				lua_getiuservalue(L, idx, 1);
			}
			n = (lua_Integer)lua_rawlen(L, -1);
			for (lua_Integer i = 1; i <= n; i++) {
				struct lspec *s;
				if (lua_rawgeti(L, -1, i) == LUA_TUSERDATA && (s = lua_touserdata(L, -1)) &&
				    s->varies) {
					lua_getiuservalue(L, -1, 1);
					for (unsigned fi = 0; fi < s->proto->nfields; fi++) {
						if (!((s->varies >> fi) & 1))
							continue;
						lua_rawgeti(L, -1, (lua_Integer)fi + 1);
						total = mul_sat(total, value_count(L, -1));
						lua_pop(L, 1);
					}
					lua_pop(L, 1);
				}
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
			c->count_key = lua_touserdata(L, idx);
			c->count_val = total;
			return total;
		}
		default:
			break;
		}
		break;
	default:
		break;
	}
	return luaL_error(L, "%scannot build a %s: want layers (ip{}/udp{}), a string, a packet or an array of them",
			  c->prefix, luaL_typename(L, idx)),
	       (uint64_t)0;
}

/* Build reply()'s lazy stack at @idx (the fast path, below). */
static int reply_build(lua_State *L, struct bctx *c, int idx);

/* Build the value at @idx (counted and checked beforehand). */
static void build_value(lua_State *L, struct bctx *c, int idx, int depth)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		lua_createtable(L, 1, 0);
		lua_pushvalue(L, idx);
		lua_rawseti(L, -2, 1);
		build_layers(L, c, lua_gettop(L), lua_topointer(L, idx));
		lua_pop(L, 1);
		return;
	case LUA_TTABLE:
		for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, idx); i <= n; i++) {
			lua_rawgeti(L, idx, i);
			build_value(L, c, -1, depth + 1);
			lua_pop(L, 1);
		}
		return;
	default:
		break;
	}
	if (lua_touserdata(L, idx) && lua_touserdata(L, idx) == c->plan->key) { /* compiled just before */
		run_plan(L, c);
	} else if (utype(L, idx) == T_PKT) {
		emit(L, c, pkt_ready(L, lua_touserdata(L, idx)));
	} else if (utype(L, idx) == T_SPEC) {
		lua_createtable(L, 1, 0);
		lua_pushvalue(L, idx);
		lua_rawseti(L, -2, 1);
		build_layers(L, c, lua_gettop(L), lua_touserdata(L, idx));
		lua_pop(L, 1);
	} else {
		if (((struct lstack *)lua_touserdata(L, idx))->lazy && reply_build(L, c, idx))
			return;
		stack_ready(L, idx);
		lua_getiuservalue(L, idx, 1);
		build_layers(L, c, lua_gettop(L), lua_touserdata(L, idx));
		lua_pop(L, 1);
	}
}

/* Count, check the cap, then build the values at [first, last].  Needs
 * c->prefix, c->max, c->cb set. */
static void build_values(lua_State *L, struct bctx *c, int first, int last)
{
	struct plan *P;
	uint64_t total = 0;
	int shared;

	for (int i = first; i <= last; i++) {
		uint64_t k;
		if (lua_isnil(L, i))
			luaL_error(L, "%snothing to build (the value is nil)", c->prefix);
		k = count_value(L, c, i, 0);
		total = total + k < total ? UINT64_MAX : total + k;
	}
	if (total > c->max) {
		c->U->code = UMPA_ERANGE;
		if (total <= (uint64_t)LUA_MAXINTEGER)
			luaL_error(L, "%sexpression expands to more than %I packets (%I)", c->prefix,
				   (lua_Integer)c->max, (lua_Integer)total);
		luaL_error(L, "%sexpression expands to more than %I packets", c->prefix, (lua_Integer)c->max);
	}
	if (c->U->closing) /* the plans' finalizers have run or will not: nothing may grow them */
		luaL_error(L, "%scannot build while the state closes (in a finalizer)", c->prefix);
	if ((shared = !c->U->plan_busy)) { /* the state's plan, when no other build uses it */
		lua_rawgetp(L, LUA_REGISTRYINDEX, &plan_key);
		P = lua_touserdata(L, -1);
		c->U->plan_busy = 1;
	} else {
		P = new_plan(L);
	}
	P->key = NULL; /* objects of earlier builds may be gone */
	c->plan = P;
	for (int i = first; i <= last; i++)
		build_value(L, c, i, 0);
	if (shared)
		c->U->plan_busy = 0; /* (after an error it stays busy until the outermost entry returns) */
	lua_pop(L, 1);
}

/* ---- reply: the fast path ----
 *
 * A responder answers every packet with the same specs (icmp-host's
 * ether{src = mac}, ip{ttl = 64}, icmp{type = "echo-reply"}, made once), and
 * its answers differ only in the fields reply() copies from the packet.  So
 * the second time reply() meets the same key (struct rkey: the packet's
 * layers, the same specs unchanged, the same echo decision) it compiles what
 * its slow path made: the answer's layers with their constant fields into a
 * base packet, and the fields the recorder saw taken from p as holes.  From
 * then on reply() makes no spec: it returns a lazy stack holding its
 * arguments, and building that stack (send, expect) copies the base, fills
 * the holes from p's bytes, appends the echoed data and finishes: the same
 * bytes and set-marks as building the slow path's stack.
 *
 * A lazy stack is an ordinary stack to the script: anything but a build
 * (indexing it, #, tostring, /, another reply) makes its layers first
 * (stack_ready: the slow path on the same arguments).  The arguments are
 * unchanged then: a write to any spec or packet first makes the layers of
 * every lazy stack made since the last write (reply_flush), so a stack keeps
 * what p and the specs were when reply() was called, as the slow path's
 * copies do.
 */

/* Does reply(p, ...) with the arguments on the stack have a key (only specs
 * holding no lists after p, at most RPLAN_ARGS)?  Fills @k. */
static int reply_key(lua_State *L, const struct umpa_pkt *p, struct rkey *k)
{
	int nargs = lua_gettop(L);

	if (nargs - 1 > RPLAN_ARGS)
		return 0;
	k->nargs = nargs - 1;
	k->echo = k->paynz = 0;
	for (int i = 2; i <= nargs; i++) {
		struct lspec *sp = lua_type(L, i) == LUA_TUSERDATA ? uget(L, i, T_SPEC) : NULL;
		int li;
		if (!sp || sp->varies)
			return 0;
		k->arg[i - 2] = sp;
		k->stamp[i - 2] = sp->stamp;
		/* the slow path's echo decision: the last echo layer given whose request p is */
		if ((sp->proto == &umpa_proto_icmp || sp->proto == &umpa_proto_icmpv6) &&
		    (li = umpa_pkt_find(p, sp->proto, 0)) >= 0 &&
		    reply_pkt_int(L, p, li, "type", -1) == (sp->proto == &umpa_proto_icmp ? 8 : 128))
			k->echo = li + 1;
	}
	if (k->echo) {
		size_t len;
		(void)layer_payload(p, (unsigned)(k->echo - 1), &len);
		k->paynz = len > 0;
	}
	k->nl = p->nlayers;
	for (unsigned i = 0; i < p->nlayers; i++)
		k->pl[i] = p->l[i].proto;
	return 1;
}

static int rkey_eq(const struct rkey *a, const struct rkey *b)
{
	if (a->nl != b->nl || a->nargs != b->nargs || a->echo != b->echo || a->paynz != b->paynz)
		return 0;
	for (int i = 0; i < a->nargs; i++)
		if (a->arg[i] != b->arg[i] || a->stamp[i] != b->stamp[i])
			return 0;
	for (unsigned i = 0; i < a->nl; i++)
		if (a->pl[i] != b->pl[i])
			return 0;
	return 1;
}

static uint64_t rkey_hash(const struct rkey *k)
{
	uint64_t h = 1469598103934665603ull;
#define RK_MIX(v)                                                                                                      \
	do {                                                                                                           \
		h ^= (uint64_t)(v);                                                                                    \
		h *= 1099511628211ull;                                                                                 \
	} while (0)
	RK_MIX(k->nl);
	RK_MIX(k->nargs);
	RK_MIX(k->echo);
	RK_MIX(k->paynz);
	for (int i = 0; i < k->nargs; i++) {
		RK_MIX((uintptr_t)k->arg[i]);
		RK_MIX(k->stamp[i]);
	}
	for (unsigned i = 0; i < k->nl; i++)
		RK_MIX((uintptr_t)k->pl[i]);
#undef RK_MIX
	return h ? h : 1;
}

/* Do bits [a, a + n) and [b, b + m) meet? */
static int bits_meet(unsigned a, unsigned n, unsigned b, unsigned m)
{
	return a < b + m && b < a + n;
}

/* Compile what the recorder saw (protected: lua_pcall; nothing is kept on
 * an error).  1: the key (light userdata), 2: the array of reply()'s specs,
 * 3: the slow path's stack. */
static int reply_compile(lua_State *L)
{
	struct umpa_lua *U = get_U(L);
	const struct rkey *k = lua_touserdata(L, 1);
	const struct rrec *r = &U->rrec;
	struct bctx c = {.U = U, .max = 1, .prefix = ""};
	struct rplan *rp;
	struct umpa_pkt *b;
	lua_Integer n;
	int items, rpi;

	lua_getiuservalue(L, 3, 1);
	items = lua_gettop(L);
	n = (lua_Integer)lua_rawlen(L, items);
	if (r->echo_li >= 0) { /* the echoed data: appended per answer, not part of the base */
		lua_createtable(L, (int)n, 0);
		for (lua_Integer i = 1; i < n; i++) {
			lua_rawgeti(L, items, i);
			lua_rawseti(L, -2, i);
		}
		items = lua_gettop(L);
		n--;
	}
	rp = lua_newuserdatauv(L, sizeof(*rp), 2);
	memset(rp, 0, sizeof(*rp));
	rpi = lua_gettop(L);
	c.plan = new_plan(L);
	lua_setiuservalue(L, rpi, 1);
	compile_layers(L, &c, items);
	b = &c.plan->base;
	if (c.plan->nvars || c.plan->total != 1 || b->nlayers != (unsigned)n)
		return 0;
	for (unsigned i = 0; i < r->n; i++) {
		struct rhole h = r->h[i];
		int li = r->sidx[i] < RREC_POS ? r->pos[r->sidx[i]] : -1;
		const struct umpa_proto *pr;
		if (li < 0 || (unsigned)li >= b->nlayers || !umpa_field_is_set(b, (unsigned)li, h.f))
			return 0;
		h.li = (uint8_t)li;
		pr = b->l[li].proto;
		/* the slow path sets a layer's fields in table order: a hole written after
		 * the others must not share bits with another field set */
		for (unsigned fi = 0; fi < pr->nfields; fi++) {
			const struct umpa_field *o = &pr->fields[fi];
			int hole = 0;
			if (o == h.f || !((b->l[li].set >> fi) & 1))
				continue;
			for (unsigned j = 0; j < r->n; j++)
				hole |= r->h[j].f == o && r->pos[r->sidx[j]] == li;
			if (!hole && bits_meet(o->bitoff, o->bits ? o->bits : 1u << 15, h.f->bitoff,
					       h.f->bits ? h.f->bits : 1u << 15))
				return 0;
		}
		rp->h[rp->nh++] = h;
	}
	rp->k = *k;
	rp->P = c.plan;
	rp->echo_li = r->echo_li;
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, rpi, 2);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &rcache_key);
	lua_pushvalue(L, rpi);
	lua_rawseti(L, -2, (lua_Integer)U->rp_next + 1);
	U->rp[U->rp_next] = rp;
	U->rp_next = (U->rp_next + 1) % RPLAN_SLOTS;
	U->rcompiled++;
	return 0;
}

/* Build the lazy stack at @idx into the build's packet and hand it over;
 * 0 when a field cannot be read from p (the slow path then decides). */
static int reply_build(lua_State *L, struct bctx *c, int idx)
{
	struct lstack *st = lua_touserdata(L, idx);
	const struct rplan *rp = st->rp;
	struct umpa_pkt *out = &c->plan->pkt;
	const struct umpa_pkt *p;
	struct umpa_err e = {0};

	lua_getiuservalue(L, idx, 3); /* p: the stack at @idx keeps it */
	p = &((struct lpkt *)lua_touserdata(L, -1))->p;
	lua_pop(L, 1);
	if (umpa_pkt_dup(out, &rp->P->base, &e) < 0)
		return 0;
	if (rp->echo_li >= 0) {
		size_t len;
		const uint8_t *d = layer_payload(p, (unsigned)rp->echo_li, &len);
		if (!len || umpa_pkt_push_bytes(out, &umpa_proto_raw, d, (uint32_t)len, &e) < 0)
			return 0;
	}
	for (unsigned i = 0; i < rp->nh; i++) {
		const struct rhole *h = &rp->h[i];
		uint64_t v;
		if (h->kind == RH_TCPACK) {
			lua_Integer fl = reply_pkt_int(L, p, h->pli, "flags", 0);
			size_t len;
			(void)layer_payload(p, h->pli, &len);
			v = (uint64_t)(reply_pkt_int(L, p, h->pli, "seq", 0) + (lua_Integer)len + ((fl & 2) ? 1 : 0) +
				       ((fl & 1) ? 1 : 0)) %
			    4294967296u;
			if (umpa_field_set_u64(out, h->li, h->f, v, &e) < 0)
				return 0;
		} else if (h->f->type == UMPA_FT_UINT || h->f->type == UMPA_FT_ENUM || h->f->type == UMPA_FT_FLAGS ||
			   h->f->type == UMPA_FT_BOOL) {
			if (umpa_field_get_u64(p, h->pli, h->g, &v) < 0)
				return 0;
			if (h->f->type == UMPA_FT_BOOL)
				v = v != 0;
			if (umpa_field_set_u64(out, h->li, h->f, v, &e) < 0)
				return 0;
		} else {
			const uint8_t *bytes;
			uint32_t n;
			if (h->f->type == UMPA_FT_VAR || umpa_field_get_bytes(p, h->pli, h->g, &bytes, &n) < 0 ||
			    umpa_field_set_bytes(out, h->li, h->f, bytes, n, &e) < 0)
				return 0;
		}
	}
	if (umpa_pkt_finish(out, &e) < 0)
		return 0;
	plan_account(L, c->plan);
	get_U(L)->rbuilt++;
	emit(L, c, out);
	return 1;
}

void umpa_lua_reply_stats_(lua_State *L, unsigned long *compiled, unsigned long *built)
{
	*compiled = get_U(L)->rcompiled;
	*built = get_U(L)->rbuilt;
}

static void stack_ready(lua_State *L, int idx)
{
	struct lstack *st = lua_touserdata(L, idx);

	if (!st->lazy)
		return;
	idx = lua_absindex(L, idx);
	get_U(L)->rrec.on = 0;
	lua_pushcfunction(L, reply_slow);
	for (int i = 1; i <= st->nargs; i++)
		lua_getiuservalue(L, idx, 2 + i);
	lua_call(L, st->nargs, 1);
	if (uget(L, -1, T_STACK)) {
		lua_getiuservalue(L, -1, 1);
	} else { /* one layer (not compiled so, but the stack holds it all the same) */
		lua_createtable(L, 1, 0);
		lua_pushvalue(L, -2);
		lua_rawseti(L, -2, 1);
	}
	lua_setiuservalue(L, idx, 1);
	lua_pop(L, 1);
	st->lazy = 0;
	for (int i = 0; i <= st->nargs; i++) { /* what it answered need not be kept any more */
		lua_pushnil(L);
		lua_setiuservalue(L, idx, 2 + i);
	}
}

/* Push a new, empty set of lazy stacks (weak keys) and make it the registry's. */
static void new_pending(lua_State *L)
{
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &pending_key);
}

static void reply_flush(lua_State *L)
{
	struct umpa_lua *U = get_U(L);
	int t;

	if (!U->npending)
		return;
	U->npending = 0;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &pending_key);
	t = lua_gettop(L);
	new_pending(L);
	lua_pop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		stack_ready(L, -1);
	}
	lua_pop(L, 1);
}

/* reply(p, layer...): the compiled answer when there is one, else the slow path (which compiles it
 * the second time it meets the same key). */
static int l_reply(lua_State *L)
{
	struct umpa_lua *U = get_U(L);
	struct lpkt *lp = lua_type(L, 1) == LUA_TUSERDATA ? uget(L, 1, T_PKT) : NULL;
	struct rkey k;
	uint64_t h;
	int nargs = lua_gettop(L);
	unsigned i;

	U->rrec.on = 0;
	if (!lp || U->closing || !reply_key(L, pkt_ready(L, lp), &k))
		return reply_slow(L);
	for (i = 0; i < RPLAN_SLOTS; i++) {
		struct lstack *st;
		if (!U->rp[i] || !rkey_eq(&U->rp[i]->k, &k))
			continue;
		st = lua_newuserdatauv(L, sizeof(*st), 2 + nargs);
		st->lazy = 1;
		st->nargs = nargs;
		st->rp = U->rp[i];
		lua_rawgetp(L, LUA_REGISTRYINDEX, &rcache_key);
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		lua_setiuservalue(L, -3, 2);
		lua_pop(L, 1);
		for (int a = 1; a <= nargs; a++) {
			lua_pushvalue(L, a);
			lua_setiuservalue(L, -2, 2 + a);
		}
		luaL_setmetatable(L, MT_STACK);
		lua_rawgetp(L, LUA_REGISTRYINDEX, &pending_key);
		lua_pushvalue(L, -2);
		lua_pushboolean(L, 1);
		lua_rawset(L, -3);
		lua_pop(L, 1);
		U->npending++;
		return 1;
	}
	h = rkey_hash(&k);
	for (i = 0; i < RMISS && U->rmiss[i] != h; i++)
		;
	if (i == RMISS) { /* met once: a spec made per call never compiles */
		U->rmiss[U->rmiss_next] = h;
		U->rmiss_next = (U->rmiss_next + 1) % RMISS;
		return reply_slow(L);
	}
	U->rmiss[i] = 0;
	lua_createtable(L, nargs - 1, 0); /* the specs, kept by the compiled reply */
	for (int a = 2; a <= nargs; a++) {
		lua_pushvalue(L, a);
		lua_rawseti(L, -2, a - 1);
	}
	lua_pushcfunction(L, reply_slow);
	for (int a = 1; a <= nargs; a++)
		lua_pushvalue(L, a);
	U->rrec.on = 1;
	U->rrec.bad = 0;
	U->rrec.n = 0;
	U->rrec.echo_li = -1;
	lua_call(L, nargs, 1);
	U->rrec.on = 0;
	if (!U->rrec.bad && uget(L, -1, T_STACK)) {
		lua_pushcfunction(L, reply_compile);
		lua_pushlightuserdata(L, &k);
		lua_pushvalue(L, -4);
		lua_pushvalue(L, -4);
		if (lua_pcall(L, 3, 0, 0) != LUA_OK)
			lua_pop(L, 1); /* not compiled: the slow path stays */
	}
	return 1;
}

/* Collects packets into the Lua array at the top of the stack. */
struct collect {
	lua_State *L;
	int t;
	lua_Integer n;
};

static int collect_cb(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct collect *k = arg;

	(void)e;
	push_pkt_copy(k->L, p);
	lua_rawseti(k->L, k->t, ++k->n);
	return 0;
}

long umpa_lua_build_value(struct lua_State *L, int idx, unsigned long max, umpa_lua_pkt_cb cb, void *arg)
{
	struct umpa_err e = {0};
	struct bctx c = {.U = get_U(L), .max = max ? max : MAX_DEFAULT, .cb = cb, .arg = arg, .e = &e};
	int top;

	idx = lua_absindex(L, idx);
	/* no prefix: the errors are raised inside the host's C function, and
	 * luaL_error already names its caller's position */
	lua_pushliteral(L, "");
	top = lua_gettop(L);
	c.prefix = lua_tostring(L, -1);
	build_values(L, &c, idx, idx);
	lua_settop(L, top - 1);
	return (long)c.count;
}

/* packets(v, ...): an array of packet objects built from the arguments. */
static int l_packets(lua_State *L)
{
	struct collect k = {.L = L};
	int n = lua_gettop(L);

	if (n == 0)
		return luaL_error(L, "packets: nothing to build");
	lua_newtable(L);
	k.t = lua_gettop(L);
	lua_createtable(L, n, 0); /* the arguments as one array */
	for (int i = 1; i <= n; i++) {
		lua_pushvalue(L, i);
		lua_rawseti(L, -2, i);
	}
	umpa_lua_build_value(L, -1, 0, collect_cb, &k);
	lua_pop(L, 1);
	return 1;
}

/* What fragment()'s callback needs: the Lua state and the result array. */
struct fragk {
	lua_State *L;
	int t;
	lua_Integer n;
	int failed; /* a Lua error is on the stack */
};

/* Copy the fragment (upvalue-less: argument 1 is the packet) into the array at 2. */
static int frag_push(lua_State *L)
{
	struct umpa_pkt *p = lua_touserdata(L, 1);

	push_pkt_copy(L, p);
	lua_rawseti(L, 2, (lua_Integer)lua_rawlen(L, 2) + 1);
	return 0;
}

/* umpa_pkt_fragment's callback: copies in a protected call, so a memory
 * error does not jump over the C frames (their packet would leak). */
static int frag_cb(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	struct fragk *k = arg;

	lua_pushcfunction(k->L, frag_push);
	lua_pushlightuserdata(k->L, p);
	lua_pushvalue(k->L, k->t);
	if (lua_pcall(k->L, 2, 0, 0) != LUA_OK) {
		k->failed = 1;
		return umpa_err_set(e, UMPA_ENOMEM, "fragment: cannot keep the fragment");
	}
	k->n++;
	return 0;
}

/*
 * fragment(v, size): v built (a spec, stack, packet or an array of those),
 * each packet cut into IPv4 fragments (IPv6: after its fragment header) of
 * size bytes rounded down to a multiple of 8, as Scapy's fragment(); returns
 * one array of packet objects (protocols/fragment.c).
 */
static int l_fragment(lua_State *L)
{
	struct collect all = {.L = L};
	struct fragk k = {.L = L};
	lua_Integer size = luaL_checkinteger(L, 2);

	if (size < 8 || size > 65535)
		return luaL_error(L, "fragment: size %d: from 8 to 65535 bytes", (int)size);
	lua_settop(L, 2);
	lua_newtable(L); /* 3: the packets */
	all.t = 3;
	umpa_lua_build_value(L, 1, 0, collect_cb, &all);
	lua_newtable(L); /* 4: the fragments */
	k.t = 4;
	for (lua_Integer i = 1; i <= all.n; i++) {
		struct umpa_err e = {0};
		struct lpkt *lp;
		lua_rawgeti(L, 3, i);
		lp = lua_touserdata(L, -1);
		if (umpa_pkt_fragment(pkt_ready(L, lp), (uint32_t)size, frag_cb, &k, &e) < 0) {
			if (k.failed)
				return lua_error(L);
			return luaL_error(L, "%s", e.msg);
		}
		lua_pop(L, 1);
	}
	return 1;
}

/*
 * dissect(bytes [, first]): a packet object from wire bytes (Scapy's
 * Ether(b"...")), dissected from the link type of protocol @first (a name,
 * alias or Scapy name; default "eth": Ethernet; "ip" reads IPv4 or IPv6 by
 * the version).  Its fields count as set, so building it sends the bytes as
 * they are, checksums included.
 */
static int l_dissect(lua_State *L)
{
	size_t n;
	const char *b = luaL_checklstring(L, 1, &n);
	const char *name = luaL_optstring(L, 2, "eth");
	const struct umpa_proto *pr = umpa_proto_find(name);
	int lt = pr ? umpa_linktype_for_proto(pr) : -1;
	struct lpkt *lp;

	if (!pr) {
		char near[UMPA_NEAR_MAX + 1];
		const char *best = umpa_proto_near(name, near, sizeof near);
		return luaL_error(L, "dissect: unknown protocol '%s'%s%s%s", name, best ? ": did you mean '" : "",
				  best ? best : "", best ? "'?" : "");
	}
	if (lt < 0)
		return luaL_error(L, "dissect: %s is not the first layer of a capture (eth, ip, ipv6, sll, ...)",
				  pr->name);
	if (n > UMPA_MAX_PKT)
		return luaL_error(L, "dissect: %zu bytes: at most %u", n, (unsigned)UMPA_MAX_PKT);
	{
		struct umpa_pkt tmp;
		umpa_pkt_init(&tmp);
		umpa_pkt_attach(&tmp, (const uint8_t *)b, (uint32_t)n, (uint32_t)n, lt);
		lp = push_pkt_copy(L, &tmp); /* the copy owns its bytes (tmp borrowed the string's): dissect it */
		umpa_dissect(&lp->p);
	}
	return 1;
}

/* ---- the state ---- */

/* What load returns when it cannot: nil and @msg (NULL: the chunk is too large). */
static int load_fail(lua_State *L, const char *msg)
{
	lua_pushnil(L);
	if (msg)
		lua_pushstring(L, msg);
	else
		lua_pushfstring(L, "chunk larger than the sandbox compiles (%d MiB)", LOAD_MAX >> 20);
	return 2;
}

/* load(chunk [, name [, mode [, env]]]) for the sandbox: text only, at most
 * LOAD_MAX bytes (compiling runs in C where no hook reaches: 60 MB take
 * seconds).  A reader function is called here, under the hook, and its
 * pieces joined, so both forms meet the same limit. */
static int safe_load(lua_State *L)
{
	size_t len = 0;

	lua_settop(L, 4);
	if (lua_type(L, 1) == LUA_TFUNCTION) {
		luaL_Buffer b;
		luaL_buffinit(L, &b); /* at index 5 or above: the reader stays at 1 */
		for (;;) {
			size_t n;
			int st;
			lua_pushvalue(L, 1);
			st = lua_pcall(L, 0, 1, 0);
			if (get_U(L)->tripped)
				return rethrow(L);
			if (st != LUA_OK)
				return load_fail(L, lua_tostring(L, -1));
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				break;
			}
			if (lua_type(L, -1) != LUA_TSTRING)
				return load_fail(L, "reader function must return a string");
			lua_tolstring(L, -1, &n);
			if (n == 0) {
				lua_pop(L, 1);
				break;
			}
			if (n > LOAD_MAX - len)
				return load_fail(L, NULL);
			len += n;
			luaL_addvalue(&b);
		}
		luaL_pushresult(&b);
		lua_replace(L, 1);
		if (lua_isnil(L, 2)) {
			lua_pushliteral(L, "=(load)");
			lua_replace(L, 2);
		}
	} else if (lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) > LOAD_MAX) {
		return load_fail(L, NULL);
	}
	lua_settop(L, 4);
	lua_pushstring(L, "t"); /* text only: precompiled chunks can crash the VM */
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 4, LUA_MULTRET);
	return lua_gettop(L);
}

static int is_identifier(const char *s)
{
	static const char *const reserved[] = {"and",      "break",  "do",   "else", "elseif", "end",  "false", "for",
					       "function", "goto",   "if",   "in",   "local",  "nil",  "not",   "or",
					       "repeat",   "return", "then", "true", "until",  "while"};

	if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	for (const char *q = s; *q; q++)
		if (!(*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
			return 0;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(s, reserved[i]) == 0)
			return 0;
	return 1;
}

/* Define global @name as @pr's constructor unless the name is taken or not an identifier. */
static void def_constructor(lua_State *L, const struct umpa_proto *pr, const char *name, size_t n)
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return;
	memcpy(buf, name, n);
	buf[n] = 0;
	if (!is_identifier(buf))
		return;
	if (lua_getglobal(L, buf) != LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	lua_pushlightuserdata(L, (void *)(uintptr_t)pr);
	lua_pushcclosure(L, l_construct, 1);
	lua_setglobal(L, buf);
}

/* Make @name (@n bytes) a name of @pr, in the table at the top and as a
 * constructor, unless an earlier protocol has it (umpa_proto_find's order). */
static void name_proto(lua_State *L, const struct umpa_proto *pr, const char *name, size_t n)
{
	lua_pushlstring(L, name, n);
	if (lua_rawget(L, -2) == LUA_TNIL) {
		lua_pushlstring(L, name, n);
		lua_pushlightuserdata(L, (void *)(uintptr_t)pr);
		lua_rawset(L, -4);
	}
	lua_pop(L, 1);
	def_constructor(L, pr, name, n);
}

/* Create a protected metatable @name with @fns. */
void umpa_lua_new_mt_(lua_State *L, const char *name, const luaL_Reg *fns)
{
	luaL_newmetatable(L, name);
	if (fns)
		luaL_setfuncs(L, fns, 0);
	lua_pushstring(L, name);
	lua_setfield(L, -2, "__metatable");
}

static void new_mt(lua_State *L, const char *name, const luaL_Reg *fns)
{
	umpa_lua_new_mt_(L, name, fns);
}

static int open_state(lua_State *L)
{
	static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
					{LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
					{LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
	static const char *const drop[] = {"dofile", "loadfile", "print", "warn", "require"};
	static const luaL_Reg spec_mt[] = {{"__index", spec_index},
					   {"__newindex", spec_newindex},
					   {"__div", l_div},
					   {"__tostring", spec_tostring},
					   {NULL, NULL}};
	static const luaL_Reg stack_mt[] = {{"__index", stack_index},
					    {"__len", stack_len},
					    {"__div", l_div},
					    {"__tostring", stack_tostring},
					    {NULL, NULL}};
	static const luaL_Reg range_mt[] = {
	    {"__len", range_len}, {"__index", range_index}, {"__tostring", range_tostring}, {NULL, NULL}};
	static const luaL_Reg pkt_mt[] = {{"__len", pkt_len},
					  {"__gc", pkt_gc},
					  {"__newindex", pkt_newindex},
					  {"__tostring", pkt_tostring},
					  {NULL, NULL}};
	static const luaL_Reg pkt_methods[] = {{"bytes", pkt_bytes}, {"show", pkt_show}, {"json", pkt_json},
					       {"tree", pkt_tree},   {"copy", pkt_copy}, {NULL, NULL}};
	static const luaL_Reg layer_mt[] = {
	    {"__index", layer_index}, {"__newindex", layer_newindex}, {"__tostring", layer_tostring}, {NULL, NULL}};
	static const luaL_Reg plan_mt[] = {{"__gc", plan_gc}, {NULL, NULL}};
	static const luaL_Reg net_mt[] = {{"__len", net_len}, {"__tostring", net_tostring}, {NULL, NULL}};
	const struct umpa_proto *const *protos;
	size_t np;

	for (const luaL_Reg *l = libs; l->name; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		lua_pushnil(L);
		lua_setglobal(L, drop[i]);
	}
	lua_getglobal(L, "load");
	lua_pushcclosure(L, safe_load, 1);
	lua_setglobal(L, "load");
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	sandbox_stdlib(L);

	new_mt(L, MT_SPEC, spec_mt);
	new_mt(L, MT_STACK, stack_mt);
	new_mt(L, MT_RANGE, range_mt);
	new_mt(L, MT_LAYER, layer_mt);
	new_mt(L, MT_PLAN, plan_mt);
	new_mt(L, MT_ALT, (const luaL_Reg[]){{NULL, NULL}});
	new_mt(L, MT_PKT, pkt_mt);
	luaL_newlib(L, pkt_methods);
	lua_pushcclosure(L, pkt_index, 1);
	lua_setfield(L, -2, "__index");
	new_mt(L, MT_NET, net_mt);
	lua_createtable(L, 0, 8); /* metatable -> type; the 8 metatables are below it, in this order */
	{
		static const enum utype types[] = {T_SPEC, T_STACK, T_RANGE, T_LAYER, T_PLAN, T_ALT, T_PKT, T_NET};
		for (int i = 0; i < 8; i++) {
			lua_pushvalue(L, -9 + i);
			get_U(L)->mts[types[i]] = lua_topointer(L, -1);
			lua_pushinteger(L, types[i]);
			lua_rawset(L, -3);
		}
	}
	lua_rawsetp(L, LUA_REGISTRYINDEX, &types_key);
	lua_pop(L, 8);
	new_plan(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &plan_key);
	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &chunks_key);
	lua_createtable(L, RPLAN_SLOTS, 0);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &rcache_key);
	new_pending(L);
	lua_pop(L, 1);

	lua_register(L, "range", l_range);
	lua_register(L, "alt", l_alt);
	lua_register(L, "packets", l_packets);
	lua_register(L, "fragment", l_fragment);
	lua_register(L, "dissect", l_dissect);
	umpa_lua_tls_open_(L); /* tls{...}: templates/lua_tls.c */

	protos = umpa_protos(&np);
	lua_newtable(L); /* every name and alias -> protocol */
	for (size_t i = 0; i < np; i++) {
		const struct umpa_proto *pr = protos[i];
		const char *a = pr->aliases;
		index_fields(L, pr);
		name_proto(L, pr, pr->name, strlen(pr->name));
		while (a && *a) {
			const char *end = strchr(a, ',');
			size_t n = end ? (size_t)(end - a) : strlen(a);
			name_proto(L, pr, a, n);
			a = end ? end + 1 : NULL;
		}
	}
	lua_rawsetp(L, LUA_REGISTRYINDEX, &protos_key);
	umpa_lua_scapy_open_(L); /* DNSQR, ICMPv6EchoRequest ...: templates/lua_scapy.c */
	return 0;
}

/*
 * For Lua's "attempt to call a nil value (global 'IPP')" (a mistyped
 * constructor or function): the global name nearest to the one used, in
 * @buf; NULL when the message names no global or none is near.
 */
static const char *near_global(lua_State *L, const char *msg, char *buf, size_t size)
{
	static const char call[] = "attempt to call a nil value (global '";
	const char *at = strstr(msg, call), *end;
	char want[UMPA_NEAR_MAX + 1];
	struct umpa_near n;
	const char *best;

	if (!at)
		return NULL; /* only a call: a nil global indexed or added to may be meant to be nil */
	at += sizeof call - 1;
	if (!(end = strchr(at, '\'')) || (size_t)(end - at) >= sizeof want || !lua_checkstack(L, 4))
		return NULL;
	memcpy(want, at, (size_t)(end - at));
	want[end - at] = 0;
	umpa_near_init(&n, want);
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TFUNCTION)
			umpa_near_str(&n, lua_tostring(L, -2));
		lua_pop(L, 1);
	}
	best = umpa_near_best(&n, buf, size); /* copied before the names can be collected */
	lua_pop(L, 1);
	return best;
}

/* Turn the error at the top of the stack (status @st) into @e. */
static int take_error(struct umpa_lua *U, int st, const char *name, struct umpa_err *e)
{
	lua_State *L = U->L;
	int code = U->tripped ? UMPA_ERANGE : U->code ? U->code : UMPA_EINVAL;
	size_t len = 0;
	const char *msg;

	if (U->tripped && st != LUA_ERRMEM) { /* the limit's own message, whatever unwinding made of it */
		lua_pop(L, 1);
		if (lua_rawgetp(L, LUA_REGISTRYINDEX, &trip_key) != LUA_TSTRING) {
			lua_pop(L, 1);
			lua_pushliteral(L, "limit exceeded");
		}
	}
	msg = lua_tolstring(L, -1, &len);

	if (st == LUA_ERRMEM) {
		umpa_err_set(e, UMPA_ENOMEM, "%s: memory limit (%zu MiB) exceeded", name, U->mem_cap >> 20);
	} else if (msg) {
		/* a script's text, NUL bytes and escapes included: escaped whole, not cut at a NUL */
		struct umpa_sbuf sb = {0};
		char near[UMPA_NEAR_MAX + 1];
		const char *best = U->tripped ? NULL : near_global(L, msg, near, sizeof near);
		umpa_sbuf_put_safe(&sb, msg, len < sizeof(e->msg) ? len : sizeof(e->msg));
		if (best) {
			umpa_sbuf_puts(&sb, "; did you mean '");
			umpa_sbuf_puts(&sb, best);
			umpa_sbuf_puts(&sb, "'?");
		}
		umpa_err_set(e, code, "%s", sb.s && !sb.oom ? sb.s : "(out of memory)");
		umpa_sbuf_free(&sb);
	} else {
		umpa_err_set(e, code, "%s: error object is a %s value", name, luaL_typename(L, -1));
	}
	lua_pop(L, 1);
	U->code = 0;
	return -(e ? e->code : code);
}

struct umpa_lua *umpa_lua_open(struct umpa_err *e)
{
	struct umpa_lua *U = calloc(1, sizeof(*U));
	int st;

	if (!U) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory for a Lua state");
		return NULL;
	}
	U->mem_cap = LUA_MEM_DEFAULT;
	U->instr_cap = LUA_INSTR_DEFAULT;
	U->time.cpu = LUA_CPU_DEFAULT;
	U->time.wall = LUA_WALL_DEFAULT;
	U->sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	U->wait_ref = -1;
	umpa_pkt_init(&U->scratch);
	if (!(U->L = lua_newstate(l_alloc, U))) {
		if (U->sched_fd >= 0)
			close(U->sched_fd);
		free(U);
		umpa_err_set(e, UMPA_ENOMEM, "out of memory for a Lua state");
		return NULL;
	}
	lua_pushcfunction(U->L, open_state);
	if ((st = lua_pcall(U->L, 0, 0, 0)) != LUA_OK) {
		take_error(U, st, "lua", e);
		return umpa_lua_close(U);
	}
	budget_restart(U);
	return U;
}

struct umpa_lua *umpa_lua_close(struct umpa_lua *U)
{
	if (!U)
		return NULL;
	U->closing = 1; /* objects made by finalizers now get no finalizer of their own: refuse outside memory */
	timer_free(U);
	if (U->L)
		lua_close(U->L);
	umpa_pkt_release(&U->scratch);
	umpa_sbuf_free(&U->sb);
	if (U->sched_fd >= 0)
		close(U->sched_fd);
	free(U);
	return NULL;
}

struct lua_State *umpa_lua_state(struct umpa_lua *U)
{
	return U->L;
}

void umpa_lua_set_limits(struct umpa_lua *U, size_t mem, unsigned long long instructions)
{
	if (mem)
		U->mem_cap = mem;
	if (instructions)
		U->instr_cap = instructions;
	budget_restart(U);
	ticks_start(U);
}

int umpa_lua_set_deadline(struct umpa_lua *U, const struct umpa_lua_deadline *d, struct umpa_err *e)
{
	const double v[] = {d->cpu, d->wall, d->total};

	for (int i = 0; i < 3; i++)
		if (!(v[i] >= 0 && v[i] <= 1e9)) { /* also refuses NaN */
			umpa_err_set(e, UMPA_EINVAL, "time limit %g s is out of range (0 to 1e9 s; 0: none)", v[i]);
			return -UMPA_EINVAL;
		}
	U->time = *d;
	return 0;
}

int umpa_lua_pcall(struct umpa_lua *U, int nargs, int nresults, const char *name, struct umpa_err *e)
{
	int st;

	if (U->depth == 0) {
		budget_restart(U);
		ticks_start(U);
	}
	U->depth++;
	st = lua_pcall(U->L, nargs, nresults, 0);
	if (--U->depth == 0) {
		U->plan_busy = 0;
		budget_end(U);
	}
	if (st != LUA_OK)
		return take_error(U, st, name ? name : "callback", e);
	return 0;
}

/* What the protected entry points get. */
struct entry {
	struct bctx c;
	const char *chunk;
	size_t len;
	const char *name;
	int build;             /* build what the chunk returns */
	int expr;              /* the chunk is an expression: prefix "return " */
	struct umpa_sbuf *out; /* umpa_lua_eval: the values, as text; NULL otherwise */
	int incomplete;        /* umpa_lua_eval: the text ends inside a statement */
};

/* Is the syntax error at the top of the stack "... near <eof>" (more lines would complete the text)? */
static int at_eof(lua_State *L)
{
	size_t n;
	const char *m = lua_tolstring(L, -1, &n);
	return m && n >= 5 && strcmp(m + n - 5, "<eof>") == 0;
}

/* umpa_lua_eval's protected part: en->chunk as an expression, else as statements; the values into en->out. */
static int eval_run(lua_State *L)
{
	struct entry *en = lua_touserdata(L, 1);
	size_t n;
	const char *s;
	int st, base;

	lua_settop(L, 0);
	lua_pushfstring(L, "=%s", en->name); /* 1 */
	lua_pushliteral(L, "return ");
	umpa_lua_push_source_(L, en->chunk, en->len);
	lua_concat(L, 2); /* 2 */
	s = lua_tolstring(L, 2, &n);
	if ((st = luaL_loadbufferx(L, s, n, lua_tostring(L, 1), "t")) != LUA_OK) {
		if (st != LUA_ERRSYNTAX)
			return lua_error(L);
		lua_pop(L, 1);
		if ((st = luaL_loadbufferx(L, s + 7, n - 7, lua_tostring(L, 1), "t")) != LUA_OK) {
			if (st == LUA_ERRSYNTAX && at_eof(L)) {
				en->incomplete = 1;
				return 0;
			}
			return lua_error(L);
		}
	}
	base = lua_gettop(L);
	lua_call(L, 0, LUA_MULTRET);
	for (int i = base; i <= lua_gettop(L); i++) {
		size_t k;
		const char *t = luaL_tolstring(L, i, &k);
		if (i > base)
			umpa_sbuf_putc(en->out, '\t');
		umpa_sbuf_put(en->out, t, k);
		lua_pop(L, 1);
	}
	if (lua_gettop(L) >= base)
		umpa_sbuf_putc(en->out, '\n');
	return 0;
}

static int entry_run(lua_State *L)
{
	struct entry *en = lua_touserdata(L, 1);
	int base, st;

	lua_settop(L, 0);
	/* "@name": a name longer than Lua's 60 characters for positions keeps its end
	 * (".../hostile/a-long-name.lua:3:"); "=name" would cut the file name off */
	lua_pushfstring(L, "@%s", en->name);
	if (en->expr) {
		lua_pushliteral(L, "return ");
		umpa_lua_push_source_(L, en->chunk, en->len);
		lua_concat(L, 2);
	} else {
		umpa_lua_push_source_(L, en->chunk, en->len);
	}
	if (en->expr) { /* expressions are often built again: keep them compiled */
		struct umpa_lua *U = get_U(L);
		lua_rawgetp(L, LUA_REGISTRYINDEX, &chunks_key);
		lua_pushvalue(L, 1);
		lua_pushliteral(L, "\n");
		lua_pushvalue(L, 2);
		lua_concat(L, 3);
		lua_pushvalue(L, -1);
		if (lua_rawget(L, -3) == LUA_TFUNCTION) {
			lua_replace(L, 3);
			lua_settop(L, 3);
		} else {
			size_t n;
			const char *s = lua_tolstring(L, 2, &n);
			lua_pop(L, 1);
			if ((st = luaL_loadbufferx(L, s, n, lua_tostring(L, 1), "t")) != LUA_OK) {
				/* not an expression: maybe statements ("local s = ip{} return s/udp{}");
				 * when they do not compile either, the expression's error is the one */
				if (st != LUA_ERRSYNTAX)
					return lua_error(L);
				/* the same text without "return " */
				if (luaL_loadbufferx(L, s + 7, n - 7, lua_tostring(L, 1), "t") != LUA_OK) {
					lua_pop(L, 1);
					return lua_error(L);
				}
				lua_remove(L, -2);
			}
			if (++U->nchunks > CHUNK_CACHE) { /* start over */
				lua_newtable(L);
				lua_rawsetp(L, LUA_REGISTRYINDEX, &chunks_key);
				U->nchunks = 0;
			} else {
				lua_pushvalue(L, -2);
				lua_pushvalue(L, -2);
				lua_rawset(L, -5);
			}
			lua_replace(L, 3);
			lua_settop(L, 3);
		}
	} else {
		size_t n;
		const char *s = lua_tolstring(L, 2, &n);
		if ((st = luaL_loadbufferx(L, s, n, lua_tostring(L, 1), "t")) != LUA_OK)
			return lua_error(L);
	}
	lua_pushfstring(L, "%s: ", en->name); /* 4: the prefix of build errors */
	lua_insert(L, 3);
	base = lua_gettop(L);
	lua_call(L, 0, en->build ? LUA_MULTRET : 0);
	if (!en->build)
		return 0;
	en->c.prefix = lua_tostring(L, 3);
	if (lua_gettop(L) < base)
		luaL_error(L, "%s: nothing to build (the chunk returned no value)", en->name);
	build_values(L, &en->c, base, lua_gettop(L));
	return 0;
}

/* Run @en in protected mode; returns the packet count or a negative error. */
static long entry(struct umpa_lua *U, struct entry *en, struct umpa_err *e)
{
	lua_State *L = U->L;
	int top = lua_gettop(L), st;

	if (U->depth == 0) { /* a nested call (from a host callback) spends its caller's budget */
		budget_restart(U);
		ticks_start(U);
	}
	lua_pushcfunction(L, en->out ? eval_run : entry_run);
	lua_pushlightuserdata(L, en);
	U->depth++;
	st = lua_pcall(L, 1, 0, 0);
	if (--U->depth == 0) {
		U->plan_busy = 0;
		budget_end(U);
	}
	if (st != LUA_OK) {
		long rc;
		if (en->c.cb_rc < 0) {
			lua_settop(L, top);
			U->code = 0;
			return en->c.cb_rc;
		}
		rc = take_error(U, st, en->name, e);
		lua_settop(L, top);
		return rc;
	}
	lua_settop(L, top);
	return (long)en->c.count;
}

long umpa_lua_build(struct umpa_lua *L, const char *expr, const char *where, unsigned long max, umpa_lua_pkt_cb cb,
		    void *arg, struct umpa_err *e)
{
	struct entry en = {
	    .chunk = expr, .len = strlen(expr), .name = where ? where : "expression", .build = 1, .expr = 1};

	en.c = (struct bctx){.U = L, .max = max ? max : MAX_DEFAULT, .cb = cb, .arg = arg, .e = e};
	return entry(L, &en, e);
}

long umpa_lua_build_chunk(struct umpa_lua *L, const char *chunk, size_t len, const char *name, unsigned long max,
			  umpa_lua_pkt_cb cb, void *arg, struct umpa_err *e)
{
	struct entry en = {.chunk = chunk, .len = len, .name = name ? name : "chunk", .build = 1};

	en.c = (struct bctx){.U = L, .max = max ? max : MAX_DEFAULT, .cb = cb, .arg = arg, .e = e};
	return entry(L, &en, e);
}

int umpa_lua_run(struct umpa_lua *L, const char *chunk, size_t len, const char *name, struct umpa_err *e)
{
	struct entry en = {.chunk = chunk, .len = len, .name = name ? name : "chunk"};
	long rc;

	en.c = (struct bctx){.U = L, .e = e};
	rc = entry(L, &en, e);
	return rc < 0 ? (int)rc : 0;
}

int umpa_lua_eval(struct umpa_lua *L, const char *text, size_t len, const char *name, struct umpa_sbuf *out,
		  struct umpa_err *e)
{
	struct entry en = {.chunk = text, .len = len, .name = name ? name : "stdin", .out = out};
	long rc;

	en.c = (struct bctx){.U = L, .e = e};
	rc = entry(L, &en, e);
	if (rc < 0)
		return (int)rc;
	return en.incomplete ? UMPA_LUA_INCOMPLETE : 0;
}

static int push_pkt_run(lua_State *L)
{
	push_pkt_copy(L, lua_touserdata(L, 1));
	return 1;
}

int umpa_lua_push_pkt(struct umpa_lua *L, const struct umpa_pkt *p, struct umpa_err *e)
{
	int st;

	lua_pushcfunction(L->L, push_pkt_run);
	lua_pushlightuserdata(L->L, (void *)(uintptr_t)p);
	if ((st = lua_pcall(L->L, 1, 1, 0)) != LUA_OK)
		return take_error(L, st, "packet", e);
	return 0;
}
