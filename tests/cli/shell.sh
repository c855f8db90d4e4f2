#!/usr/bin/env bash
# shell.sh - `umpa shell`: the interactive Lua prompt.
#
#   - a script piped in: constructors in both spellings, expression values printed,
#     multi-line statements, show(p) = `umpa show -v` of the same packet, the sandbox
#     kept (no io, no os), an error in a line is one line naming the input line and
#     the shell goes on, exit 1 when a line failed (0 when none did);
#   - sr(), send() and sniff() run the subcommands: ICMP echo to the loopback kernel
#     (sr with l3=true), a UDP datagram sent and sniffed on lo (root);
#   - on a terminal (script(1) gives one): the prompt, line editing (a backspace),
#     the history (an up arrow recalls the last line) and $HOME/.umpa_history.
# Environment: UMPA, top_srcdir.  Traffic only on loopback.
set -uo pipefail
UMPA=${UMPA:-./umpa}
srcdir=${top_srcdir:-$(dirname "$0")/../..}
. "$srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir shell) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ -z "${2:-}" ] || echo "    $2"; }
skip() { if [ "${CI:-}" = true ]; then bad "$1" "skipped under CI=true: $2"; else echo "skipped: $1 ($2)"; fi; }
has() { grep -qF -- "$2" "$1"; }

# 1. a script piped in
cat >"$T/script.lua" <<'EOF'
p = IP(dst="10.0.0.1", ttl=5)/TCP(dport=80, flags="S")
q = ip{dst="10.0.0.1", ttl=5}/tcp{dport=80, flags="S"}
#packets(p)[1] == #packets(q)[1], packets(p)[1]:bytes() == packets(q)[1]:bytes()
40 + 2
function twice(x)
  return 2 * x
end
twice(21)
nosuch()
print("after the error", io, os)
show(p)
t = {}
for i = 1, 3 do t[#t + 1] = i * i end
print(table.concat(t, ","))
IP(tll=1)
print("end")
EOF
timeout 30 "$UMPA" shell <"$T/script.lua" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && ok "piped script with failing lines: exit 1" || bad "piped script: exit $rc, wanted 1" "$(cat "$T/err")"
[ "$(sed -n 1p "$T/out")" = "$(printf 'true\ttrue')" ] && ok "Scapy and native spellings build the same packet" || bad "spellings" "$(head -3 "$T/out")"
has "$T/out" "42" && ok "an expression's value is printed" || bad "expression value" "$(cat "$T/out")"
[ "$(grep -c '^42$' "$T/out")" -eq 2 ] && ok "a multi-line function definition, then called" || bad "multi-line" "$(cat "$T/out")"
[ "$(wc -l <"$T/err")" -eq 2 ] && ok "two failing lines: two lines on stderr" || bad "stderr lines" "$(cat "$T/err")"
grep -qx "umpa: stdin:9: attempt to call a nil value (global 'nosuch')" "$T/err" && ok "error names the input line (stdin:9)" || bad "error line" "$(cat "$T/err")"
grep -q "^umpa: stdin:15: .*unknown field 'tll' (did you mean 'ttl'?" "$T/err" && ok "unknown field: line 15, did you mean 'ttl'" || bad "did you mean in shell" "$(cat "$T/err")"
grep -qx "$(printf 'after the error\tnil\tnil')" "$T/out" && ok "the shell goes on after an error; io and os stay out of the sandbox" || bad "after error" "$(cat "$T/out")"
has "$T/out" "1,4,9" && has "$T/out" "end" && ok "statements over several entries, to the end of the input" || bad "statements" "$(cat "$T/out")"
# show(p) prints what umpa show -v prints for the same packet
"$UMPA" build -w "$T/p.pcap" 'IP(dst="10.0.0.1", ttl=5)/TCP(dport=80, flags="S")' 2>/dev/null
"$UMPA" show -v "$T/p.pcap" | sed 1d | grep -v '^$' >"$T/tree.want"
sed -n '/^Frame 1/,/^$/p' "$T/out" | sed 1d | grep -v '^$' >"$T/tree.got"
[ -s "$T/tree.want" ] && cmp -s "$T/tree.want" "$T/tree.got" && ok "show(p) = umpa show -v ($(wc -l <"$T/tree.want") lines)" ||
	bad "show(p) = umpa show -v" "$(diff "$T/tree.want" "$T/tree.got" | head -5)"
printf 'ls(IP)\nls("tcp")\nls(print)\n' | timeout 30 "$UMPA" shell >"$T/out" 2>"$T/err"
{ "$UMPA" fields IP; "$UMPA" fields tcp; } >"$T/ls.want"
cmp -s "$T/out" "$T/ls.want" && grep -q "unknown protocol 'print'" "$T/err" && ok "ls(IP), ls(\"tcp\") = umpa fields; ls(print) is an error" ||
	bad "ls()" "$(diff "$T/out" "$T/ls.want" | head -5) $(cat "$T/err")"
printf 'x = 1\nprint(x + 1)\n' | timeout 30 "$UMPA" shell >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(cat "$T/out")" = 2 ] && [ ! -s "$T/err" ] && ok "a clean script: exit 0, only its output" || bad "clean script" "rc $rc $(cat "$T/out" "$T/err")"
printf 'function f()\n  return 1\n' | timeout 30 "$UMPA" shell >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "^umpa: stdin:2: .*'end' expected" "$T/err" && ok "input ending inside a function: one error, exit 1" || bad "unfinished" "rc $rc $(cat "$T/err")"
timeout 10 "$UMPA" shell extra </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && ok "shell ARG: usage error (exit 2)" || bad "shell ARG"
timeout 10 "$UMPA" shell --help >"$T/out" 2>&1
[ $? -eq 0 ] && has "$T/out" "sr(v [, opts])" && ok "shell --help" || bad "shell --help"

# 2. sr, send and sniff on the loopback interface (root: raw sockets and capture)
if [ "$(id -u)" -ne 0 ]; then
	skip "sr/send/sniff from the shell" "needs root"
else
	cat >"$T/sr.lua" <<'EOF'
ok, rc = sr(IP(dst="127.0.0.1")/ICMP(id=4242, seq=[1, 2]), l3=true, timeout=2)
print("sr returned", ok, rc)
print("bad option", sr(IP(dst="127.0.0.1")/ICMP(), {timeout="soon"}))
EOF
	timeout 30 "$UMPA" shell <"$T/sr.lua" >"$T/out" 2>"$T/err"
	grep -q "answered 2, lost 0" "$T/out" && ok "sr(): the loopback kernel answers both echo requests" || bad "sr()" "$(cat "$T/out" "$T/err" | head -c 600)"
	grep -qx "$(printf 'sr returned\ttrue\t0')" "$T/out" && ok "sr() returns true, 0" || bad "sr() result" "$(cat "$T/out")"
	grep -qx "$(printf 'bad option\tfalse\t2')" "$T/out" && ok "sr() with a bad option: false, 2, and the shell goes on" || bad "sr() bad option" "$(cat "$T/out")"
	# sniff in one shell, send from another
	port=$((40000 + $$ % 20000))
	printf 'print(sniff{iface="lo", count=1, filter="udp port %s", timeout=10})\n' "$port" |
		timeout 30 "$UMPA" shell >"$T/sniff.out" 2>"$T/sniff.err" &
	spid=$!
	for _ in $(seq 100); do has "$T/sniff.err" "sniffing on lo" && break; sleep 0.1; done
	printf 'print(send(IP(dst="127.0.0.1")/UDP(sport=%s, dport=%s)/"hello", l3=true))\n' "$port" "$port" |
		timeout 30 "$UMPA" shell >"$T/send.out" 2>"$T/send.err"
	wait $spid
	has "$T/send.out" "sent 1 packet" && grep -qx "$(printf 'true\t0')" "$T/send.out" && ok "send(): 1 packet, returns true" ||
		bad "send()" "$(cat "$T/send.out" "$T/send.err")"
	grep -q "127.0.0.1.$port > 127.0.0.1.$port" "$T/sniff.out" && grep -qx "$(printf 'true\t0')" "$T/sniff.out" &&
		ok "sniff(): captured the datagram send() sent" || bad "sniff()" "$(cat "$T/sniff.out" "$T/sniff.err")"
fi

# 3. on a terminal: prompt, editing, history
if ! command -v script >/dev/null 2>&1; then
	skip "the shell on a terminal" "script(1) missing (util-linux)"
else
	mkdir -p "$T/home"
	# a backspace (\177) turns "5" into "6"; ESC [ A recalls the previous line
	(printf 'y = 5\1776\n'; printf 'print(y * 7)\n'; printf '\033[A\n'; printf 'exit()\n') |
		HOME="$T/home" TERM=xterm timeout 30 script -qec "$UMPA shell" /dev/null >"$T/tty.out" 2>&1
	tr -d '\r' <"$T/tty.out" >"$T/tty.txt"
	has "$T/tty.txt" "umpa> " && ok "terminal: the prompt" || bad "prompt" "$(head -c 300 "$T/tty.txt")"
	[ "$(grep -c '^42$' "$T/tty.txt")" -eq 2 ] && ok "terminal: line editing (backspace) and the up arrow recalling the last line" ||
		bad "editing/history recall" "$(cat -A "$T/tty.txt" | head -c 600)"
	if [ -f "$T/home/.umpa_history" ] && grep -q 'print(y' "$T/home/.umpa_history" && grep -q 'y.*=.*6' "$T/home/.umpa_history"; then
		ok "terminal: the history is kept in \$HOME/.umpa_history"
	else
		bad "history file" "$(cat "$T/home/.umpa_history" 2>&1)"
	fi
	# the next session reads it: the up arrow brings back the last line of the previous one
	# up: "y = 3", then the previous session's "exit()", then its "print(y * 7)"
	(printf 'y = 3\n'; printf '\033[A\033[A\033[A\n'; printf 'exit()\n') |
		HOME="$T/home" TERM=xterm timeout 30 script -qec "$UMPA shell" /dev/null >"$T/tty2.out" 2>&1
	tr -d '\r' <"$T/tty2.out" | grep -qx '21' && ok "terminal: a new session recalls the previous session's lines" ||
		bad "history across sessions" "$(cat -A "$T/tty2.out" | head -c 600)"
fi

echo "shell: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
