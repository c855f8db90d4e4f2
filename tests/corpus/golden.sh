#!/usr/bin/env bash
# golden.sh - `umpa show` and `umpa show --json` over the corpus files listed in
# tests/corpus/golden/TESTLIST must print exactly the golden outputs kept there
# (NAME.line, NAME.json.gz), which were compared field by field with tshark when
# they were made.  A changed output fails, with the first differing line; if the
# change is intended, regenerate with
#     UMPA=build/umpa python3 tests/corpus/golden.py make
# and review the diff (tests/corpus/golden.py says how the comparison works, and
# tests/corpus/explained.txt lists the disagreements with tshark that are explained).
# Environment: UMPA (default $top_builddir/umpa), top_srcdir, top_builddir,
# UMPA_CORPUS (default $top_srcdir/../shared/corpus/tcpdump-tests).
# Exit status: 0 unchanged, 1 changed, 77 no corpus or no python3.
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
CORPUS=${UMPA_CORPUS:-$top_srcdir/../shared/corpus/tcpdump-tests}
command -v python3 >/dev/null 2>&1 || { echo "golden: python3 missing: skipped"; exit 77; }
exec python3 "$top_srcdir/tests/corpus/golden.py" check --umpa "$UMPA" --corpus "$CORPUS"
