#!/usr/bin/env bash
# completion.sh - the bash completion (tools/completion/umpa): sourced in bash, its
# function called as bash calls it (COMP_WORDS, COMP_CWORD), for commands, options per
# command, protocol names, templates, interfaces, files and option values; and
# `make install` puts it in the bash-completion directory.
# Environment: UMPA, top_srcdir, top_builddir.
set -uo pipefail
UMPA=${UMPA:-./umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
srcdir=${top_srcdir:-$(dirname "$0")/../..}
builddir=${top_builddir:-.}
COMPLETION=$srcdir/tools/completion/umpa
. "$srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir completion) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -z "${2:-}" ] || echo "    $2"; }

# complete WORD...: what the completion offers for the last word (the words after umpa), one a line
complete_words() {
	UMPA="$UMPA" COMPLETION="$COMPLETION" bash -c '
		source "$COMPLETION" || exit 3
		COMP_WORDS=("$UMPA" "$@")
		COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
		_umpa
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
# expect NAME WANT WORD...: every word of WANT is offered
expect() {
	local name=$1 want=$2 w got
	shift 2
	got=$(complete_words "$@")
	for w in $want; do
		if ! grep -qxF -- "$w" <<<"$got"; then
			bad "$name: '$w' offered for [$*]" "offered: $(tr '\n' ' ' <<<"$got")"
			return
		fi
	done
	ok "$name"
}

bash -c 'source "$1" && complete -p umpa' _ "$COMPLETION" >"$T/spec" 2>&1
grep -q -- "-F _umpa umpa" "$T/spec" && ok "sourcing it registers _umpa for umpa" || bad "complete -p umpa" "$(cat "$T/spec")"

# commands: every one offered is a real command (its --help exits 0), and none is missing
cmds=$(complete_words "")
for c in build show send sr tls ifaces sniff run fields shell help; do
	grep -qxF "$c" <<<"$cmds" || bad "command $c offered" "$(tr '\n' ' ' <<<"$cmds")"
done
n=0
for c in $cmds; do
	case $c in -*) continue ;; esac
	timeout 20 "$UMPA" "$c" --help >/dev/null 2>&1 || [ "$c" = help ] || bad "offered command '$c' is real" "umpa $c --help failed"
	n=$((n + 1))
done
[ $n -ge 11 ] && ok "$n commands offered, each a real one" || bad "commands" "$cmds"
expect "a prefix of a command" "fields" fi
expect "help COMMAND" "show send sr sniff shell" help s

# options per command, from the command's own --help
expect "build options" "--fragment" build --fr
expect "show options" "--stats --json -r" show -
expect "sr options" "--timeout --retry --l3 --ordered" sr --
expect "sniff options" "--direction --snaplen" sniff --
expect "fields options" "--json --list" fields --
expect "shell options" "--no-history" shell --
got=$(complete_words build --)
grep -qxF -- "--timeout" <<<"$got" && bad "build does not offer sr's --timeout" || ok "options are the command's own (build has no --timeout)"

# protocol names, templates, interfaces, option values, files, expressions
expect "fields PROTO" "ip ipv6 ipv6_frag ipv6_hop" fields ip
got=$(complete_words fields "")
[ "$got" = "$("$UMPA" fields --list)" ] && ok "fields: every protocol of 'umpa fields --list'" || bad "fields: all protocols" "$got"
expect "run TEMPLATE" "icmp-host" run ic
expect "-i IFACE" "lo" sr -i l
expect "--direction" "in inout" sniff --direction i
expect "--stats" "conv" show --stats c
mkdir -p "$T/caps" && : >"$T/caps/one.pcap" && : >"$T/caps/two.pcapng"
expect "show FILE" "$T/caps/one.pcap $T/caps/two.pcapng" show "$T/caps/"
expect "-w FILE" "$T/caps/one.pcap" build -w "$T/caps/o"
expect "expression: PROTO{" "udp{" build ud
got=$(complete_words show -f "")
[ -z "$got" ] && ok "show -f takes a filter: no file names offered" || bad "show -f" "$got"

# make install puts it where bash-completion looks
if [ -f "$builddir/Makefile" ]; then
	if make -s -C "$builddir" install-dist_bashcompletionDATA DESTDIR="$T/inst" >"$T/inst.log" 2>&1; then
		f=$(find "$T/inst" -path '*/bash-completion/completions/umpa' -type f)
		if [ -n "$f" ] && cmp -s "$f" "$COMPLETION"; then
			ok "make install: ${f#"$T/inst"}"
		else
			bad "make install puts bash-completion/completions/umpa" "$(find "$T/inst" -type f)"
		fi
	else
		bad "make install-dist_bashcompletionDATA" "$(tail -5 "$T/inst.log")"
	fi
else
	bad "no Makefile in $builddir to install from"
fi

echo "completion: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
