# tmpdir.sh - sourced by the test scripts: their work directory, and UMPA_KEEP.
#
# UMPA_KEEP is the one switch that keeps test artefacts (captures, key logs, outputs),
# the same in the unit tests (tests/unit/unit.h) and the scripts:
#   unset, empty or 0   the directory is made under $TMPDIR (default /tmp) and removed
#   a directory         the directory is made inside it and kept
#   anything else (1)   the directory is made under $TMPDIR and kept
# A kept directory is named on stdout when the script ends.
#
#   T=$(umpa_tmpdir cli) || exit 1      # a new directory umpa-cli.XXXXXX
#   trap 'umpa_tmpdir_done "$T"' EXIT   # removes it, or says where it was kept

umpa_keep() {
	[ -n "${UMPA_KEEP:-}" ] && [ "$UMPA_KEEP" != 0 ]
}

umpa_tmpdir() { # NAME: make and print a new work directory
	local base=${TMPDIR:-/tmp}
	if umpa_keep && [ -d "$UMPA_KEEP" ]; then base=$UMPA_KEEP; fi
	mktemp -d "$base/umpa-$1.XXXXXX"
}

umpa_tmpdir_done() { # DIR: remove it, or (UMPA_KEEP) say where it is
	[ -n "${1:-}" ] || return 0
	if umpa_keep; then echo "kept $1"; else rm -rf "$1"; fi
}
