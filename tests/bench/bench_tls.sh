#!/usr/bin/env bash
# bench_tls.sh - TLS conversations per second: umpa tls against Python's ssl
# MemoryBIO pump (tests/bench/tls_py.py) and a bare C loop of the same OpenSSL
# handshakes writing nothing (tests/bench/tls_bare.c, the physical limit).
# The job: full handshake, 1 KB each way, close_notify both ways, TCP teardown;
# TLS 1.2 and 1.3 x RSA-2048 and ECDSA P-256; umpa and Python write a pcap.
# Benchmarks are not tests: nothing fails for being slow.  About 40-60 s.
#   UMPA=path/to/umpa  N (conversations per run, default 300)  REPS (best of, default 2)
#
# Fairness: Python and the bare loop make their key and certificate before
# their clock starts and time only the conversations; umpa gets a key and
# certificate made beforehand by openssl req (--cert/--key), and its rate is
# (N - 1) / (t(N) - t(1)): the difference of a run of N and a run of 1
# conversation removes start-up and file loading.
# One core (taskset -c 0): conversations per CPU-second of the process
# (Python's time.process_time, the bare loop's CLOCK_PROCESS_CPUTIME_ID,
# umpa's user+system time from bash's time), which other work on a shared
# machine disturbs far less than wall time.  All cores: one process per core
# at once (umpa as well), wall time: rates added (Python, bare) or
# cores x (N-1) over the difference of wall times (umpa).
set -euo pipefail
cd "$(dirname "$0")/../.."
UMPA=${UMPA:-build/umpa}
N=${N:-300}
REPS=${REPS:-2}
CORES=$(nproc)
T=$(mktemp -d /tmp/umpa-bench-tls.XXXXXX)
trap 'rm -rf "$T"' EXIT

cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -o "$T/tls_bare" tests/bench/tls_bare.c $(pkg-config --cflags --libs openssl)
head -c 1024 /dev/zero | tr '\0' 'x' >"$T/1k"
# umpa's server key and certificate, made once like the others' (its own generation is slow and uneven)
openssl req -x509 -nodes -days 30 -subj /CN=bench.test -newkey rsa:2048 \
	-keyout "$T/rsa:2048.key" -out "$T/rsa:2048.crt" 2>/dev/null
openssl req -x509 -nodes -days 30 -subj /CN=bench.test -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-keyout "$T/ec:P-256.key" -out "$T/ec:P-256.crt" 2>/dev/null

have_umpa=1
if ! "$UMPA" tls --help >/dev/null 2>&1; then
	have_umpa=0
	echo "note: '$UMPA tls' is not available: only the Python and bare figures"
fi

now() { date +%s.%N; }
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# umpa_run CPUSET N VERSION KEY OUT: one umpa tls run of N conversations; its CPU seconds into OUT.cpu
umpa_run() {
	local TIMEFORMAT='%3U %3S' # bash's own timer: CPU milliseconds (/usr/bin/time has 10 ms)
	{ time taskset -c "$1" "$UMPA" tls -n "$2" --version "$3" --cert "$T/$4.crt" --key "$T/$4.key" \
		--send-client @"$T/1k" --send-server @"$T/1k" -w "$5" >/dev/null; } 2>"$5.cpu"
}
cpu_of() { awk '{ printf "%.3f", $1 + $2 }' "$1.cpu"; }
# umpa_cpu_rate VERSION KEY: conversations per CPU-second on core 0, from the N and 1 runs
umpa_cpu_rate() {
	umpa_run 0 1 "$1" "$2" "$T/u1.pcap"
	umpa_run 0 "$N" "$1" "$2" "$T/u.0.pcap"
	awk -v n="$N" -v a="$(cpu_of "$T/u1.pcap")" -v b="$(cpu_of "$T/u.0.pcap")" \
		'BEGIN { if (b > a) printf "%.1f", (n - 1) / (b - a); else print 0 }'
}
# umpa_wall_rate VERSION KEY CPUSETS...: one process per cpuset at once, wall-clock rate from the N and 1 runs
umpa_wall_rate() {
	local v=$1 k=$2 t0 t1 t2 i; shift 2
	t0=$(now)
	i=0; for c in "$@"; do umpa_run "$c" 1 "$v" "$k" "$T/u1.$i.pcap" & i=$((i + 1)); done; wait
	t1=$(now)
	i=0; for c in "$@"; do umpa_run "$c" "$N" "$v" "$k" "$T/u.$i.pcap" & i=$((i + 1)); done; wait
	t2=$(now)
	awk -v p="$#" -v n="$N" -v a="$t0" -v b="$t1" -v c="$t1" -v d="$t2" \
		'BEGIN { printf "%.1f", p * (n - 1) / ((d - c) - (b - a)) }'
}
# sum_rate CMD...: run CMD on each core at once, add the printed wall-clock rates
sum_rate() {
	local i
	for ((i = 0; i < CORES; i++)); do taskset -c "$i" "$@" "$T/p.$i.pcap" >"$T/r.$i" & done; wait
	cat "$T"/r.* | awk '{ s += $1 } END { printf "%.1f", s }'; rm -f "$T"/r.*
}

echo "machine: $CORES cores, $(uname -r), $(openssl version), $(date -u +%F); N=$N conversations, best of $REPS"
echo "one core: conversations per CPU-second (process CPU time: the machine may be shared)"
printf '%-22s %10s %10s %10s %10s %10s\n' "job (one core)" "umpa" "python" "bare" "umpa/py" "bare/umpa"
declare -A U1 P1 B1
for v in 1.2 1.3; do
	for k in rsa:2048 ec:P-256; do
		us=() ps=() bs=()
		for ((r = 0; r < REPS; r++)); do
			[ $have_umpa = 1 ] && us+=("$(umpa_cpu_rate "$v" "$k")")
			ps+=("$(taskset -c 0 /usr/bin/python3 tests/bench/tls_py.py "$N" "$v" "$k" "$T/py.pcap" | cut -d' ' -f2)")
			bs+=("$(taskset -c 0 "$T/tls_bare" "$N" "$v" "$k" | cut -d' ' -f2)")
		done
		u=0; [ $have_umpa = 1 ] && u=$(best "${us[@]}")
		p=$(best "${ps[@]}"); b=$(best "${bs[@]}")
		U1[$v$k]=$u; P1[$v$k]=$p; B1[$v$k]=$b
		printf '%-22s %10s %10s %10s %9sx %9sx\n' "TLS $v $k" "$u" "$p" "$b" "$(ratio "$u" "$p")" "$(ratio "$b" "$u")"
	done
done

echo
echo "all cores: conversations per second of wall time, one process per core"
printf '%-22s %10s %10s %10s %10s %10s\n' "job ($CORES cores)" "umpa" "python" "bare" "umpa/py" "bare/umpa"
cpus=(); for ((i = 0; i < CORES; i++)); do cpus+=("$i"); done
for v in 1.2 1.3; do
	for k in rsa:2048 ec:P-256; do
		u=0; [ $have_umpa = 1 ] && u=$(umpa_wall_rate "$v" "$k" "${cpus[@]}")
		p=$(sum_rate /usr/bin/python3 tests/bench/tls_py.py "$N" "$v" "$k")
		# tls_bare takes no output file: a wrapper drops the last argument
		b=$(sum_rate sh -c '"$0" "$1" "$2" "$3"' "$T/tls_bare" "$N" "$v" "$k")
		printf '%-22s %10s %10s %10s %9sx %9sx\n' "TLS $v $k" "$u" "$p" "$b" "$(ratio "$u" "$p")" "$(ratio "$b" "$u")"
	done
done
echo
echo "goals: umpa/py >= 1.5x on one core; bare/umpa <= 1.25x (umpa within 1.25x of the bare loop)"
if [ $have_umpa = 1 ]; then
	tshark -r "$T/u.0.pcap" -Y '_ws.malformed || _ws.expert.severity>=error' 2>/dev/null | head -n 3 |
		sed 's/^/tshark warns on umpa capture: /' || true
fi
