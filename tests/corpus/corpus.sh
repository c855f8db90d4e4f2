#!/usr/bin/env bash
# corpus.sh - `umpa show` over every capture file of the corpus: no crash, no
# sanitizer report, clean errors, valid JSON.
#
# For each file F of ${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
# (pcap and pcapng, many of them with deliberately malformed packets) it runs,
# each under `timeout 10`:
#     umpa show F        umpa show --json F        umpa show -v F
# and a file passes when every run
#   - exits 0 with nothing on stderr, or exits 1 with exactly one line on
#     stderr that starts with "umpa: " and names F (a broken file);
#   - was not killed (timeout, signal: exit >= 124) and left no
#     AddressSanitizer / LeakSanitizer / UBSan ("runtime error:") report;
#   - (--json) printed only lines that parse as JSON objects;
# and the one-line form printed exactly one line per JSON object (one per
# packet: no summary may break its line), and all forms agree on the exit status.
# Files run in parallel (xargs -P$(nproc)), in batches: one python3 per batch
# checks the outputs.  Prints a summary and the failures; exit 1 on any failure,
# 77 (skip) when the corpus directory is missing.
#
# Environment: UMPA (the umpa binary; default $top_builddir/umpa), top_srcdir,
# top_builddir, UMPA_CORPUS, UMPA_CORPUS_MODES (default "line json tree"; e.g.
# "line json" leaves out -v), UMPA_CORPUS_JOBS (default nproc),
# UMPA_CORPUS_TIMEOUT (seconds per run, default 10), UMPA_CORPUS_VERBOSE=1
# (also list the files that end in a clean error, with the message).
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
MODES=${UMPA_CORPUS_MODES:-line json tree}
JOBS=${UMPA_CORPUS_JOBS:-$(nproc 2>/dev/null || echo 2)}
TMO=${UMPA_CORPUS_TIMEOUT:-10}

if [ ! -d "$CORPUS" ]; then
	echo "corpus: no corpus directory at $CORPUS: skipped"
	exit 77
fi
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
if [ ! -x "$UMPA" ]; then
	echo "corpus: FAILED: no umpa binary at $UMPA"
	exit 1
fi
# the real interpreter, not a version-manager shim (one runs per batch)
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	{ echo "corpus: python3 missing (it checks the JSON): skipped"; exit 77; }

# A libtool wrapper script costs a shell per run: run the real binary when it works.
if head -c 4096 "$UMPA" 2>/dev/null | grep -q 'libtool'; then
	"$UMPA" --version >/dev/null 2>&1 # lets the wrapper relink .libs/lt-umpa if it wants to
	d=$(cd "$(dirname "$UMPA")/.libs" 2>/dev/null && pwd)
	for real in "$d/lt-$(basename "$UMPA")" "$d/$(basename "$UMPA")"; do
		if [ -n "$d" ] && [ -x "$real" ] &&
			LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$real" --version >/dev/null 2>&1; then
			export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
			UMPA=$real
			break
		fi
	done
fi

. "$(dirname "$0")/../tmpdir.sh"
WORK=$(umpa_tmpdir corpus) || exit 1
trap 'umpa_tmpdir_done "$WORK"' EXIT
mkdir -p "$WORK/out" "$WORK/res"
export UMPA MODES TMO WORK PY

# The output checks of one batch: JSON parses, one line per packet.  Input lines:
# FILE \t LINE-OUTPUT \t JSON-OUTPUT (either may be "-").  Prints OUTFAIL lines.
cat >"$WORK/check.py" <<'PYEOF'
import json, os, sys
def no_constant(name):  # NaN and Infinity are not JSON, whatever Python accepts
    raise ValueError(f"{name} is not JSON")
for entry in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    name, line_out, json_out = entry.rstrip("\n").split("\t")
    why, n_json, n_line = [], None, None
    if json_out != "-":
        n_json = 0
        with open(json_out, "rb") as f:
            for no, line in enumerate(f, 1):
                n_json = no
                if why:
                    continue
                try:
                    if not isinstance(json.loads(line, parse_constant=no_constant), dict):
                        raise ValueError("not a JSON object")
                except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                    why.append(f"json: line {no} does not parse: {e}: {line[:160]!r}")
        os.unlink(json_out)
    if line_out != "-":
        with open(line_out, "rb") as f:
            n_line = sum(1 for _ in f)
        os.unlink(line_out)
    if n_json is not None and n_line is not None and n_json != n_line:
        why.append(f"the one-line output has {n_line} lines for {n_json} JSON objects (a summary broke its line?)")
    if why:
        print(f"OUTFAIL\t{name}\t{'; '.join(why)}")
PYEOF

# check_batch FILE...: every mode on each file; one result line per file in
# $WORK/res/PID: ok|error|FAIL \t FILE \t why.  Only builtins around the umpa
# runs: creating processes is what costs here.
check_batch() {
	local f m i=0 rc o err etxt verdict rcs first why lo jo
	local res=$WORK/res/$BASHPID list=$WORK/out/$BASHPID.list
	err=$WORK/out/$BASHPID.err
	: >"$list"
	for f in "$@"; do
		i=$((i + 1))
		verdict=ok
		why=
		rcs=
		lo=-
		jo=-
		o=$WORK/out/$BASHPID.$i
		for m in $MODES; do
			case $m in
			line) timeout -k 5 "$TMO" "$UMPA" show "$f" >"$o.line" 2>"$err"; rc=$?; lo=$o.line ;;
			json) timeout -k 5 "$TMO" "$UMPA" show --json "$f" >"$o.json" 2>"$err"; rc=$?; jo=$o.json ;;
			tree) timeout -k 5 "$TMO" "$UMPA" show -v "$f" >/dev/null 2>"$err"; rc=$? ;;
			*) echo "corpus: unknown mode '$m'" >&2; return 1 ;;
			esac
			rcs="$rcs $rc"
			etxt=
			IFS= read -r -d '' etxt <"$err"
			if [[ $etxt == *"ERROR: AddressSanitizer"* || $etxt == *"LeakSanitizer"* || $etxt == *"runtime error:"* ]]; then
				verdict=FAIL
				etxt=${etxt#*ERROR: }
				why="$why; $m: sanitizer (exit $rc): ${etxt:0:300}"
			elif [ "$rc" -ge 124 ]; then
				verdict=FAIL
				if [ "$rc" -eq 124 ]; then why="$why; $m: timed out after ${TMO}s"
				else why="$why; $m: killed (exit $rc)"; fi
			elif [ "$rc" -eq 0 ]; then
				if [ -n "$etxt" ]; then
					verdict=FAIL
					why="$why; $m: exit 0 but stderr: ${etxt:0:200}"
				fi
			elif [ "$rc" -eq 1 ]; then
				etxt=${etxt%$'\n'}
				if [[ $etxt != "umpa: "* || $etxt == *$'\n'* || $etxt != *"$f"* ]]; then
					verdict=FAIL
					why="$why; $m: exit 1 but stderr is not one 'umpa: ...' line naming the file: ${etxt:0:300}"
				elif [ "$verdict" = ok ]; then
					verdict=error
					why="; $etxt"
				fi
			else
				verdict=FAIL
				why="$why; $m: exit $rc: ${etxt:0:200}"
			fi
		done
		first=${rcs# }
		first=${first%% *}
		for rc in $rcs; do
			if [ "$rc" != "$first" ]; then
				verdict=FAIL
				why="$why; the modes disagree on the exit status ($MODES:$rcs)"
				break
			fi
		done
		why=${why#; }
		printf '%s\t%s\t%s\n' "$verdict" "$f" "${why//[$'\t\n']/ }" >>"$res"
		printf '%s\t%s\t%s\n' "$f" "$lo" "$jo" >>"$list"
	done
	"$PY" "$WORK/check.py" "$list" >>"$res" || printf 'OUTFAIL\t%s\tthe output checker failed\n' "$*" >>"$res"
	rm -f "$err" "$list"
}
export -f check_batch

t0=$SECONDS
find "$CORPUS" -maxdepth 1 -type f -print0 | sort -z |
	xargs -0 -n 24 -P "$JOBS" bash -c 'check_batch "$@"' _
t_run=$((SECONDS - t0))

files=$(find "$CORPUS" -maxdepth 1 -type f | wc -l)
cat "$WORK"/res/* 2>/dev/null | awk -F'\t' -v files="$files" -v verbose="${UMPA_CORPUS_VERBOSE:-0}" '
	$1 == "ok" || $1 == "error" || $1 == "FAIL" { seen++; if (!($2 in state) || state[$2] != "FAIL") state[$2] = $1 }
	$1 == "FAIL" || $1 == "OUTFAIL" { state[$2] = "FAIL"; fail[$2] = fail[$2] (fail[$2] == "" ? "" : "; ") $3 }
	$1 == "error" { msg[$2] = $3 }
	END {
		for (f in state) n[state[f]]++
		printf "corpus: %d ok, %d ending in a clean error, %d failed\n", n["ok"], n["error"], n["FAIL"]
		if (seen != files) {
			printf "corpus: FAILED: only %d of %d files have a result (a worker died?)\n", seen, files
			n["FAIL"]++
		}
		if (verbose && n["error"]) {
			print "files ending in a clean error:"
			for (f in state) if (state[f] == "error") printf "  %s\n", msg[f] | "sort"
			close("sort")
		}
		if (n["FAIL"]) {
			print "failures:"
			for (f in fail) printf "  %s: %s\n", f, fail[f] | "sort"
			close("sort")
		}
		exit n["FAIL"] ? 1 : 0
	}' >"$WORK/summary"
rc=$?
echo "corpus: umpa show ($MODES) on $files files of $CORPUS: ${t_run}s, $JOBS jobs"
cat "$WORK/summary"
exit "$rc"
