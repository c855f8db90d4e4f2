#!/usr/bin/env bash
# run.sh - umpa's whole test suite: what CI runs (.ci/run) and what the README names.
#
#  1. install dependencies (tests/deps.sh)
#  2. build with -Wall -Wextra -Werror and run `make check`: unit tests (cmocka),
#     the corpus test, oracle tests (tshark + Scapy), CLI tests
#  3. build again with -fsanitize=address,undefined and run the unit, corpus and
#     hostile-script tests (tests/sandbox/hostile.sh)
#  4. run each libFuzzer target for a short while (tests/fuzz/run.sh)
#  5. `make distcheck`
# Ends with one line "N passed, N failed".  Under CI=true a skipped test counts as failed.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
export UMPA_CORPUS="${UMPA_CORPUS:-$(cd "$SRC/.." && pwd)/shared/corpus/tcpdump-tests}"
PASS=0
FAIL=0
FAILED=()
JOBS=$(nproc)

START=$(date +%s)
note() { printf '\n=== %s  (%ds)\n' "$*" $(($(date +%s) - START)); }
count_log() { # count_log PHASE DIR: add a finished automake test-suite.log's results
  local phase=$1 log=$2/test-suite.log p f s x e
  if [ ! -f "$log" ]; then
    FAIL=$((FAIL + 1)); FAILED+=("$phase: no test-suite.log"); return
  fi
  p=$(sed -n 's/^# PASS: *//p' "$log"); f=$(sed -n 's/^# FAIL: *//p' "$log")
  s=$(sed -n 's/^# SKIP: *//p' "$log"); x=$(sed -n 's/^# XPASS: *//p' "$log")
  e=$(sed -n 's/^# ERROR: *//p' "$log")
  PASS=$((PASS + ${p:-0})); FAIL=$((FAIL + ${f:-0} + ${x:-0} + ${e:-0}))
  if [ "${CI:-}" = true ]; then FAIL=$((FAIL + ${s:-0})); else PASS=$((PASS + 0)); fi
  for t in $(grep -lE '^:test-result: (FAIL|ERROR|XPASS)' "$2"/tests/*/*.trs 2>/dev/null); do FAILED+=("$phase: ${t%.trs}"); done
  if [ "${CI:-}" = true ] && [ "${s:-0}" != 0 ]; then FAILED+=("$phase: $s skipped (a skip is a failure under CI)"); fi
  echo "$phase: ${p:-0} passed, $(( ${f:-0} + ${x:-0} + ${e:-0} )) failed, ${s:-0} skipped"
}
step() { # step NAME CMD...: one pass/fail check
  local name=$1; shift
  if "$@"; then PASS=$((PASS + 1)); echo "ok: $name"; else FAIL=$((FAIL + 1)); FAILED+=("$name"); echo "FAILED: $name"; fi
}

note "dependencies"
step deps bash tests/deps.sh

note "autoreconf"
step autoreconf autoreconf -fi

note "build (-Werror) and make check"
rm -rf build-ci && mkdir build-ci
if (cd build-ci && ../configure -q --enable-werror && make -j"$JOBS" >/dev/null); then
  PASS=$((PASS + 1)); echo "ok: build"
  (cd build-ci && make -j"$JOBS" check >/dev/null 2>&1)
  count_log check build-ci
  for t in build-ci/tests/*/*.log; do
    grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "${t%.log}.trs" 2>/dev/null && { echo "--- $t"; grep -E "^(FAIL|not ok|  *\\()" "$t" | head -n 20; tail -n 40 "$t"; }
  done
else
  FAIL=$((FAIL + 1)); FAILED+=("build -Werror")
fi

note "AddressSanitizer + UBSan: unit, corpus, hostile-script and number/escape tests"
rm -rf build-asan && mkdir build-asan
if (cd build-asan && CC=gcc ../configure -q --enable-werror --enable-sanitizers && make -j"$JOBS" >/dev/null); then
  PASS=$((PASS + 1)); echo "ok: sanitizer build"
  units=$(cd build-asan && make -s -f Makefile -f - print-units <<<'print-units: ; @echo $(UNIT_TESTS)')
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     make -j"$JOBS" check TESTS="$units tests/corpus/corpus.sh tests/sandbox/hostile.sh tests/cli/numbers.sh tests/cli/soak.sh" >/dev/null 2>&1)
  count_log asan build-asan
  for t in build-asan/tests/*/*.log; do
    grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "${t%.log}.trs" 2>/dev/null && { echo "--- $t"; grep -E "^(FAIL|not ok|  *\\()" "$t" | head -n 20; tail -n 40 "$t"; }
  done
else
  FAIL=$((FAIL + 1)); FAILED+=("sanitizer build")
fi

note "fuzzing (libFuzzer, short runs)"
export UMPA_FUZZ_SECONDS="${UMPA_FUZZ_SECONDS:-45}"
if [ -f tests/fuzz/run.sh ]; then
  step fuzz bash tests/fuzz/run.sh
fi

note "make distcheck (packaging, install, uninstall; the unit tests inside)"
# The script tests already ran twice above; inside distcheck every test program is
# built from the tarball (check_PROGRAMS), which proves it complete, and the unit tests
# that need no tshark run (the tshark-heavy ones ran twice above).  Command-line
# variables reach distcheck's inner make.
units=$(cd build-ci && make -s -f Makefile -f - print-units <<<'print-units: ; @echo $(UNIT_TESTS)' |
  tr ' ' '\n' | grep -vE 'tls|tcpstream|live' | tr '\n' ' ')
step distcheck bash -c "cd build-ci && make -j$JOBS distcheck TESTS='$units' >distcheck.log 2>&1 || { tail -n 40 distcheck.log; exit 1; }"

note "done"
if [ ${#FAILED[@]} -gt 0 ]; then
  note "failures"
  printf '  %s\n' "${FAILED[@]}"
fi
echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
