/* bench_lua.c - how fast the Lua binding builds packets: printed, never failed.
 *
 * Not a test (benchmarks are not tests: nothing fails for being slow).  Built by
 * `make check` so it keeps compiling; run it by hand from the build directory:
 *
 *   ./tests/bench/bench_lua [N]      N packets per expression (default 1000000)
 *
 * Exit status: 0, or 1 when an expression fails to build or builds a count
 * other than the one expected (that is a bug, not slowness).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "umpa_lua.h"

/* The build callback: count the packet, keep nothing. */
static int count_pkt(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	(void)p;
	(void)e;
	(*(unsigned long *)arg)++;
	return 0;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Time @p reps builds of @p expr into count_pkt and print the rate; 0, or -1 on a failed build. */
static int bench(struct umpa_lua *L, const char *expr, int reps, unsigned long want)
{
	struct umpa_err e = {0};
	struct timespec a, b, ca, cb;
	unsigned long count = 0;
	double s, cpu;

	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (int i = 0; i < reps; i++) {
		if (umpa_lua_build(L, expr, "bench", 0, count_pkt, &count, &e) < 0) {
			fprintf(stderr, "bench_lua: %s: %s\n", expr, e.msg);
			return -1;
		}
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (count != want) {
		fprintf(stderr, "bench_lua: %s: built %lu packets, expected %lu\n", expr, count, want);
		return -1;
	}
	s = secs(&a, &b);
	cpu = secs(&ca, &cb);
	printf("%lu packets of %s%s: %.3f s (%.3f s CPU), %.2f Mpkt/s (%.2f per CPU second)\n", count, expr,
	       reps > 1 ? " (one build each)" : "", s, cpu, (double)count / s / 1e6, (double)count / cpu / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	struct umpa_err e = {0};
	struct umpa_lua *L;
	unsigned long n = 1000000;
	char expr[3][256];
	int rc = 0;

	if (argc > 2 || (argc == 2 && ((n = strtoul(argv[1], NULL, 10)) < 1000 || n > 100000000))) {
		fprintf(stderr, "usage: bench_lua [N]   (N packets per expression, 1000..100000000)\n");
		return 2;
	}
	L = umpa_lua_open(&e);
	if (!L) {
		fprintf(stderr, "bench_lua: umpa_lua_open: %s\n", e.msg);
		return 1;
	}
	/* sport x dport counts to n: 1000 source ports times n/1000 destination ports */
	snprintf(expr[0], sizeof(expr[0]), "ip{}/udp{sport=range(1,1000), dport=range(1,%lu)}", n / 1000);
	snprintf(expr[1], sizeof(expr[1]),
		 "ether{}/ip{dst='10.0.0.2'}/tcp{sport=range(1,1000), dport=range(1,%lu), flags='S'}", n / 1000);
	snprintf(expr[2], sizeof(expr[2]),
		 "(function() local s = ip{}/udp{} local t = {} for i = 1, %lu do t[i] = s end return t end)()",
		 n / 1000 * 1000);
	if (bench(L, expr[0], 1, n / 1000 * 1000) < 0 || bench(L, expr[1], 1, n / 1000 * 1000) < 0 ||
	    bench(L, expr[2], 1, n / 1000 * 1000) < 0 || bench(L, "ip{}/udp{}", (int)(n / 10), n / 10) < 0)
		rc = 1;
	umpa_lua_close(L);
	return rc;
}
