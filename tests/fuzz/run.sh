#!/usr/bin/env bash
# run.sh - build umpa's libFuzzer targets under ASan+UBSan and run each for a while.
#
#   tests/fuzz/run.sh                 build, seed, fuzz every target
#   tests/fuzz/run.sh TARGET FILE...  build, then run TARGET (dissect|capfile|fields|reasm) once on each FILE
#                                     (reproduce a crash; no fuzzing)
#
# Targets (tests/fuzz/fuzz_*.c): fuzz_dissect (byte 0 picks a link type, the rest
# is a frame: dissect, render and check the output, match hooks, finish),
# fuzz_capfile (the input is a capture file: read, dissect and render every
# packet) and fuzz_fields (build a packet from field texts and option specs,
# finish it, dissect its bytes again; seeded with the specs documented in the
# protocol files, and a dictionary of their words) and fuzz_reasm (the input is
# a sequence of TCP segments - flow, sequence delta, flags, payload - fed to
# the TCP reassembler as `umpa show` feeds it; seeded with TLS records split
# in order, out of order, duplicated, overlapping and across the wrap).
#
# They are compiled with `clang -fsanitize=fuzzer,address,undefined` straight
# from core/*.c and protocols/*.c (not the Lua templates), so no configure is
# needed.  Seeds come from the capture-file corpus (${UMPA_CORPUS}): for
# fuzz_capfile the files themselves (cut to 16 KiB) and their first 64 bytes;
# for fuzz_dissect the first distinct frames of each file, prefixed with the
# link-type byte (a small libpcap helper extracts them).  libFuzzer's own
# corpus is kept between runs under ${UMPA_FUZZ_DIR}, so later runs go deeper.
#
# Environment:
#   UMPA_FUZZ_SECONDS  seconds per target (default 60; the targets run in parallel,
#                      so the run takes about that long on 2+ cores)
#   UMPA_FUZZ_DIR      work directory (default ${TMPDIR:-/tmp}/umpa-fuzz-$UID)
#   UMPA_CORPUS        capture files to seed from (default ../shared/corpus/tcpdump-tests)
#   CLANG              compiler (default clang)
# Exit status: 0 no crash, 1 a crash, leak, timeout or build failure (the
# crashing input's path is printed), 77 no clang with libFuzzer here.
set -uo pipefail
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SECS=${UMPA_FUZZ_SECONDS:-60}
CORPUS=${UMPA_CORPUS:-$(cd "$SRC/.." && pwd)/shared/corpus/tcpdump-tests}
WORK=${UMPA_FUZZ_DIR:-${TMPDIR:-/tmp}/umpa-fuzz-$(id -u)}
CLANG=${CLANG:-clang}
TARGETS=(dissect capfile fields reasm)

command -v "$CLANG" >/dev/null 2>&1 || { echo "fuzz: $CLANG not found: skipped" >&2; exit 77; }
PCAP_CFLAGS=$(pkg-config --cflags libpcap 2>/dev/null)
PCAP_LIBS=$(pkg-config --libs libpcap 2>/dev/null || echo -lpcap)
# the library's other dependencies: OpenSSL (protocols/tls.c reads certificates), libnet (core/live_inj.c)
PCAP_LIBS="$PCAP_LIBS $(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto) $(libnet-config --libs 2>/dev/null || echo -lnet)"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter $SAN
	-I$SRC/core -I$SRC/protocols $PCAP_CFLAGS"
mkdir -p "$WORK/obj" "$WORK/crashes" || exit 1
BUILD_LOG=$WORK/build.log
: >"$BUILD_LOG"

# Does this clang have libFuzzer at all?
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$WORK/probe.c"
if ! "$CLANG" -fsanitize=fuzzer "$WORK/probe.c" -o "$WORK/probe" >>"$BUILD_LOG" 2>&1; then
	echo "fuzz: $CLANG cannot build libFuzzer targets (libclang-rt-dev missing?): skipped" >&2
	exit 77
fi

# ---- build: library objects once (rebuilt when a source or any header is newer) ----
newest_h=$(ls -t "$SRC"/core/*.h "$SRC"/protocols/*.h | head -n 1)
objs=()
todo=()
for c in "$SRC"/core/*.c "$SRC"/protocols/*.c; do
	o=$WORK/obj/$(basename "$(dirname "$c")")_$(basename "${c%.c}").o
	objs+=("$o")
	if ! [ "$o" -nt "$c" ] || ! [ "$o" -nt "$newest_h" ] || ! [ "$o" -nt "$0" ]; then
		todo+=("$c:$o")
	fi
done
compile_one() { # SRC:OBJ
	# shellcheck disable=SC2086
	"$CLANG" $CFLAGS -fsanitize=fuzzer-no-link -c "${1%%:*}" -o "${1##*:}"
}
export -f compile_one
export CLANG CFLAGS
t0=$SECONDS
if [ ${#todo[@]} -gt 0 ] &&
	! printf '%s\n' "${todo[@]}" | xargs -P"$(nproc)" -I{} bash -c 'compile_one "$1"' _ {} >>"$BUILD_LOG" 2>&1; then
	echo "fuzz: FAILED to build the library sources:" >&2
	grep -E 'error|Error' "$BUILD_LOG" | head -n 20 >&2
	exit 1
fi
for t in "${TARGETS[@]}"; do
	# shellcheck disable=SC2086
	if ! "$CLANG" $CFLAGS -fsanitize=fuzzer "$HERE/fuzz_$t.c" "${objs[@]}" $PCAP_LIBS -o "$WORK/fuzz_$t" \
		>>"$BUILD_LOG" 2>&1; then
		echo "fuzz: FAILED to build fuzz_$t:" >&2
		grep -E 'error|Error' "$BUILD_LOG" | head -n 20 >&2
		exit 1
	fi
done
echo "fuzz: built ${TARGETS[*]/#/fuzz_} in $WORK ($((SECONDS - t0)) s)"

# ---- reproduce mode: run.sh TARGET FILE... ----
if [ $# -gt 0 ]; then
	t=${1#fuzz_}
	shift
	[ -x "$WORK/fuzz_$t" ] || { echo "fuzz: no target '$t' (targets: ${TARGETS[*]})" >&2; exit 2; }
	exec "$WORK/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "$@"
fi

# ---- seeds ----
seed_d=$WORK/seed-dissect
seed_c=$WORK/seed-capfile
rm -rf "$seed_d" "$seed_c"
seed_f=$WORK/seed-fields
seed_r=$WORK/seed-reasm
rm -rf "$seed_f" "$seed_r"
mkdir -p "$seed_d" "$seed_c" "$seed_f" "$seed_r" "$WORK/corpus-dissect" "$WORK/corpus-capfile" "$WORK/corpus-fields" \
	"$WORK/corpus-reasm"
# fuzz_reasm writes its own seeds too (segment sequences of TLS records)
UMPA_FUZZ_REASM_SEEDS=$seed_r "$WORK/fuzz_reasm" >/dev/null 2>>"$BUILD_LOG" || {
	echo "fuzz: FAILED: fuzz_reasm could not write its seeds" >&2
	exit 1
}
# fuzz_fields writes its own seeds (it knows the registry's indexes): every field of
# every protocol in its usual stack set from typical texts and the documented option
# specs; plus a dictionary of the specs' words
nfields=$(UMPA_FUZZ_FIELDS_SEEDS=$seed_f "$WORK/fuzz_fields" 2>>"$BUILD_LOG") || {
	echo "fuzz: FAILED: fuzz_fields could not write its seeds" >&2
	exit 1
}
printf '"%s"\n' mss sackok ts nop wscale eol sack rr lsrr ssrr ra raw padn pad1 jumbo slla tlla prefix mtu \
	A AAAA MX CNAME OPT IN 'do' cookie nsid ecs padding version ext_rcode '=' ':' ',' '/' '.' '\\' 0x ff:ff '::' \
	echo-request '|' message_type server_id lease_time router subnet_mask dns end offer discover >"$WORK/fields.dict"
if [ -d "$CORPUS" ]; then
	# a tiny libpcap program (libpcap reads pcap and pcapng and maps DLT values)
	cat >"$WORK/seeds.c" <<'EOF'
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
/* seeds DDIR CDIR FILE...: each file's first 16 distinct frames as fuzz_dissect inputs in DDIR;
 * the file cut to 16 KiB and its first 64 bytes as fuzz_capfile inputs in CDIR */
static const int dlts[8] = {1, 12, 113, 276, 0, 108, 228, 229}; /* the order of fuzz_dissect.c */
static void cut(const char *from, const char *dir, const char *base, const char *suffix, size_t max)
{
	static char buf[16384];
	char path[4096];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;
	if (!in)
		return;
	n = fread(buf, 1, max < sizeof(buf) ? max : sizeof(buf), in);
	fclose(in);
	snprintf(path, sizeof(path), "%s/%s%s", dir, base, suffix);
	if ((out = fopen(path, "wb"))) {
		fwrite(buf, 1, n, out);
		fclose(out);
	}
}
int main(int argc, char **argv)
{
	unsigned long total = 0;
	for (int i = 3; i < argc; i++) {
		char eb[PCAP_ERRBUF_SIZE];
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		pcap_t *pc = pcap_open_offline(argv[i], eb);
		struct pcap_pkthdr *h;
		const u_char *d;
		int sel = -1, n = 0, k = 0;
		unsigned seen[16];
		cut(argv[i], argv[2], base, "", 16384);
		cut(argv[i], argv[2], base, ".64", 64);
		if (!pc)
			continue;
		for (int j = 0; j < 8; j++)
			if (pcap_datalink(pc) == dlts[j] || (j == 1 && pcap_datalink(pc) == 14))
				sel = j;
		while (sel >= 0 && n < 16 && k++ < 4096 && pcap_next_ex(pc, &h, &d) == 1) {
			unsigned hash = 2166136261u, dup = 0;
			char path[4096];
			FILE *f;
			for (unsigned b = 0; b < h->caplen; b++)
				hash = (hash ^ d[b]) * 16777619u;
			for (int s = 0; s < n; s++)
				dup |= seen[s] == hash;
			if (dup || h->caplen > 65536)
				continue;
			seen[n++] = hash;
			snprintf(path, sizeof(path), "%s/%s-%d", argv[1], base, n);
			if (!(f = fopen(path, "wb")))
				return 1;
			fputc(sel | (h->caplen < h->len ? 0x40 : 0) | (n & 1 ? 0x80 : 0), f);
			fwrite(d, 1, h->caplen, f);
			fclose(f);
			total++;
		}
		pcap_close(pc);
	}
	printf("%lu\n", total);
	return 0;
}
EOF
	# shellcheck disable=SC2086
	if ! "$CLANG" -O1 $PCAP_CFLAGS "$WORK/seeds.c" $PCAP_LIBS -o "$WORK/seeds" >>"$BUILD_LOG" 2>&1; then
		echo "fuzz: FAILED to build the seed helper" >&2
		exit 1
	fi
	nframes=$(find "$CORPUS" -maxdepth 1 -type f -print0 | xargs -0 "$WORK/seeds" "$seed_d" "$seed_c" |
		awk '{s += $1} END {print s + 0}')
	nfiles=$(find "$CORPUS" -maxdepth 1 -type f | wc -l)
	echo "fuzz: seeds: $nframes frames, $nfiles capture files (+ their first 64 bytes) from $CORPUS, $nfields field texts"
else
	echo "fuzz: no corpus at $CORPUS: fuzzing from libFuzzer's own corpus only"
	printf '\001' >"$seed_d/empty-eth"
	printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\001\000\000\000' >"$seed_c/hdr"
fi

# ---- fuzz: the targets in parallel, one core each ----
run_target() { # NAME MAXLEN [OPTION...]: fuzz, leave the exit status in $WORK/fuzz_NAME.rc
	local t=$1 max=$2
	shift 2
	"$WORK/fuzz_$t" "$WORK/corpus-$t" "$WORK/seed-$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 \
		-max_len="$max" -print_final_stats=1 -artifact_prefix="$WORK/crashes/$t-" "$@" >"$WORK/fuzz_$t.log" 2>&1
	echo $? >"$WORK/fuzz_$t.rc"
}
t0=$SECONDS
rm -f "$WORK"/fuzz_*.rc
if [ "$(nproc)" -ge 2 ]; then
	run_target dissect 8192 &
	run_target capfile 32768 &
	run_target fields 1024 -dict="$WORK/fields.dict" &
	run_target reasm 65536 &
	wait
else
	run_target dissect 8192
	run_target capfile 32768
	run_target fields 1024 -dict="$WORK/fields.dict"
	run_target reasm 65536
fi
rc=0
for t in "${TARGETS[@]}"; do
	st=$(cat "$WORK/fuzz_$t.rc" 2>/dev/null || echo 1)
	log=$WORK/fuzz_$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
	if [ "$st" -eq 0 ]; then
		echo "ok: fuzz_$t: ${execs:-?} runs, ${cov:-cov: ?}, no crash"
	else
		rc=1
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "FAILED: fuzz_$t (exit $st): crash input: ${art:-none written, see $log}"
		grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log" | sed 's/^/  /'
		grep -E '^ +#[0-9]+ ' "$log" | head -n 12
		echo "  log: $log"
		[ -n "$art" ] && echo "  reproduce: bash $0 $t $art"
	fi
done
echo "fuzz: ${SECS} s per target, $((SECONDS - t0)) s in all"
exit "$rc"
