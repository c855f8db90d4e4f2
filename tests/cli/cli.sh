#!/usr/bin/env bash
# cli.sh - the umpa program's command-line behaviour: help, usage errors, exit
# codes, one-line error messages, broken capture files, build -> show round trips.
#
# Each check prints "ok: ..." or "FAILED: ..." (with what was seen); the last line
# counts them; exit 1 when any failed.  Needs python3 (to craft capture files and
# read JSON); tshark, when present, checks pcapng output (else those checks are
# skipped, which fails under CI=true).
# Environment: UMPA (the umpa binary; default $top_builddir/umpa), top_builddir,
# top_srcdir and UMPA_CORPUS (a real capture to cut; default $top_srcdir/../shared/corpus/tcpdump-tests).
set -uo pipefail

top_builddir=${top_builddir:-.}
UMPA=${UMPA:-$top_builddir/umpa}
case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
if [ ! -x "$UMPA" ]; then
	echo "cli: FAILED: no umpa binary at $UMPA"
	exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "cli: python3 missing: skipped"; exit 77; }

. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir cli) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0
FAIL=0
SKIP=0
RC=0

ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
failed() { # NAME WHAT
	FAIL=$((FAIL + 1))
	echo "FAILED: $1: $2"
	echo "    command: umpa ${LAST_ARGS[*]:-}"
	echo "    exit $RC; stdout: $(head -c 300 "$T/out" | tr '\n' '|')"
	echo "    stderr: $(head -c 400 "$T/err" | tr '\n' '|')"
}
skipped() {
	echo "skipped: $1 ($2)"
	if [ "${CI:-}" = true ]; then FAIL=$((FAIL + 1)); else SKIP=$((SKIP + 1)); fi
}

# run ARGS...: run umpa, keep stdout in $T/out, stderr in $T/err, status in $RC
run() {
	LAST_ARGS=("$@")
	timeout -k 5 60 "$UMPA" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
# run_in FILE ARGS...: the same with FILE on standard input
run_in() {
	local in=$1
	shift
	LAST_ARGS=("$@" "<" "$in")
	timeout -k 5 60 "$UMPA" "$@" <"$in" >"$T/out" 2>"$T/err"
	RC=$?
}

# expect NAME RC CHECK...: judge the last run.  RC is a number or "nz" (non-zero,
# not a crash).  CHECKs:
#   oneline        stderr is exactly one line starting "umpa: "
#   err:TEXT       stderr contains TEXT          noerr:TEXT  it does not
#   erre:REGEX     stderr matches the extended regex
#   out:N          stdout has N lines            outhas:TEXT stdout contains TEXT
#   stdout         stdout is not empty           quiet       stderr is empty
expect() {
	local name=$1 want=$2 c n
	shift 2
	if [ "$RC" -ge 124 ]; then failed "$name" "killed or crashed (exit $RC)"; return 1; fi
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/err"; then
		failed "$name" "sanitizer report"; return 1
	fi
	if [ "$want" = nz ]; then
		[ "$RC" -ne 0 ] || { failed "$name" "exit 0, wanted a failure"; return 1; }
	elif [ "$RC" -ne "$want" ]; then
		failed "$name" "exit $RC, wanted $want"; return 1
	fi
	for c in "$@"; do
		case $c in
		oneline)
			n=$(wc -l <"$T/err")
			if [ "$n" -ne 1 ] || ! head -n 1 "$T/err" | grep -q '^umpa: '; then
				failed "$name" "stderr is not one 'umpa: ...' line ($n lines)"; return 1
			fi ;;
		err:*) grep -qF -- "${c#err:}" "$T/err" || { failed "$name" "stderr lacks '${c#err:}'"; return 1; } ;;
		noerr:*) ! grep -qF -- "${c#noerr:}" "$T/err" || { failed "$name" "stderr has '${c#noerr:}'"; return 1; } ;;
		erre:*) grep -qE -- "${c#erre:}" "$T/err" || { failed "$name" "stderr does not match /${c#erre:}/"; return 1; } ;;
		out:*)
			n=$(wc -l <"$T/out")
			[ "$n" -eq "${c#out:}" ] || { failed "$name" "stdout has $n lines, wanted ${c#out:}"; return 1; } ;;
		outhas:*) grep -qF -- "${c#outhas:}" "$T/out" || { failed "$name" "stdout lacks '${c#outhas:}'"; return 1; } ;;
		stdout) [ -s "$T/out" ] || { failed "$name" "nothing on stdout"; return 1; } ;;
		quiet) [ ! -s "$T/err" ] || { failed "$name" "stderr is not empty"; return 1; } ;;
		*) failed "$name" "bad check '$c' in cli.sh"; return 1 ;;
		esac
	done
	ok "$name"
}

# json_get FIELD: print FIELD of every JSON line of $T/out ("layers" prints the layer names)
json_get() {
	python3 -c '
import json, sys
key = sys.argv[1]
for line in open(sys.argv[2]):
    o = json.loads(line)
    if key == "layers":
        print("/".join(l["_layer"] for l in o["layers"]))
    else:
        print(o.get(key))
' "$1" "$T/out" 2>&1
}
# same NAME GOT WANT: compare two strings
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		FAIL=$((FAIL + 1))
		echo "FAILED: $1"
		echo "    got:    $(printf '%s' "$2" | tr '\n' '|' | head -c 400)"
		echo "    wanted: $(printf '%s' "$3" | tr '\n' '|' | head -c 400)"
	fi
}

# ---- crafted capture files ----
python3 - "$T" <<'EOF'
import struct, sys
d = sys.argv[1]

def frame(i):
    eth = bytes.fromhex("02000000000202000000000108 00".replace(" ", ""))
    payload = b"umpa-cli-test-%02d" % i          # 16 bytes
    udp = struct.pack("!HHHH", 1024 + i, 9999, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload), i, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    s = sum(struct.unpack("!10H", ip))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return eth + ip + udp + payload           # 14 + 20 + 8 + 16 = 58 bytes

def record(i, data, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    return struct.pack("<IIII", 1700000000 + i, 250000 * i, caplen, wirelen) + data

hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
recs = [record(i, frame(i)) for i in range(3)]
good = hdr + b"".join(recs)
open(f"{d}/good.pcap", "wb").write(good)
damage = len(hdr) + len(recs[0]) + len(recs[1])     # where the third record starts
open(f"{d}/damage-offset", "w").write(str(damage))
# cut in the middle of the third record's data, and inside its header
open(f"{d}/cut-data.pcap", "wb").write(good[:damage + 16 + 20])
open(f"{d}/cut-hdr.pcap", "wb").write(good[:damage + 9])
# the third record claims 1,000,000 captured bytes (more than any snapshot or umpa's cap)
open(f"{d}/bigcap.pcap", "wb").write(hdr + recs[0] + recs[1] + record(2, frame(2), caplen=1000000, wirelen=1000000))
# not a capture file, a cut file header, an empty file
open(f"{d}/badmagic.pcap", "wb").write(b"this is not a capture file, honestly.\n")
open(f"{d}/shorthdr.pcap", "wb").write(hdr[:10])
open(f"{d}/empty.pcap", "wb").write(b"")
EOF
DAMAGE=$(cat "$T/damage-offset")

# ---- help and version ----
run --help
expect "umpa --help exits 0" 0 stdout quiet outhas:build outhas:show
run --version
expect "umpa --version exits 0" 0 stdout quiet outhas:umpa
run build --help
expect "umpa build --help exits 0" 0 stdout quiet outhas:-w
run show --help
expect "umpa show --help exits 0" 0 stdout quiet outhas:--json

# ---- usage errors: exit 2, one line ----
run
expect "umpa with no command exits 2" 2
run frobnicate
expect "unknown command exits 2 with one line" 2 oneline err:frobnicate
run --frobnicate
expect "unknown top-level option exits 2 with one line" 2 oneline err:--frobnicate
run show --frobnicate "$T/good.pcap"
expect "show: unknown flag exits 2 with one line" 2 oneline err:--frobnicate
run build --frobnicate 'ip{}' -w "$T/x.pcap"
expect "build: unknown flag exits 2 with one line" 2 oneline err:--frobnicate
run build 'ip{}/udp{}'
expect "build: missing -w exits 2 with one line" 2 oneline err:-w
run build -w "$T/x.pcap"
expect "build: nothing to build exits 2 with one line" 2 oneline
run show
expect "show: missing file argument exits 2 with one line" 2 oneline
run show "$T/good.pcap" "$T/good.pcap"
expect "show: two files exit 2 with one line" 2 oneline
run show -c
expect "show: -c without a value exits 2 with one line" 2 oneline
run show -c lots "$T/good.pcap"
expect "show: -c with a bad number exits 2 with one line" 2 oneline err:lots
run build 'ip{}' -w "$T/x.pcap" --interval soon
expect "build: --interval with a bad number exits 2 with one line" 2 oneline err:soon

# ---- show: good and broken files ----
run show "$T/good.pcap"
expect "show: a good pcap prints one line per packet" 0 out:3 quiet
run show --json "$T/good.pcap"
expect "show --json: one object per packet" 0 out:3 quiet &&
	same "show --json: layers of a crafted UDP frame" "$(json_get layers | sort -u | sed 's,/raw$,/data,')" "eth/ip/udp/data"
run show -v "$T/good.pcap"
expect "show -v: a tree" 0 stdout quiet outhas:ip.ttl
run show -c 2 "$T/good.pcap"
expect "show -c 2 stops after 2 packets" 0 out:2
run_in "$T/good.pcap" show -
expect "show - reads standard input" 0 out:3 quiet
run show --stats "$T/good.pcap"
expect "show --stats counts packets on stderr" 0 out:3 "err:3 packets"
run show "$T/nonexistent.pcap"
expect "show: nonexistent file -> exit 1, one line naming it" 1 oneline "err:$T/nonexistent.pcap"
run show "$T/badmagic.pcap"
expect "show: bad magic -> exit 1, one line naming the file" 1 oneline "err:$T/badmagic.pcap" out:0
run show "$T/shorthdr.pcap"
expect "show: cut file header -> exit 1, one line naming the file" 1 oneline "err:$T/shorthdr.pcap" out:0
run show "$T/empty.pcap"
expect "show: empty file -> exit 1, one line naming the file" 1 oneline "err:$T/empty.pcap" out:0
run show "$T/cut-data.pcap"
expect "show: record cut in its data -> exit 1, file and offset named, 2 packets shown" 1 oneline \
	"err:$T/cut-data.pcap" "err:offset $DAMAGE" out:2
run show "$T/cut-hdr.pcap"
expect "show: record cut in its header -> exit 1, file and offset named, 2 packets shown" 1 oneline \
	"err:$T/cut-hdr.pcap" "err:offset $DAMAGE" out:2
run show --json "$T/cut-data.pcap"
expect "show --json: record cut -> the 2 packets before it" 1 oneline out:2
run show "$T/bigcap.pcap"
expect "show: record caplen 1000000 -> exit 1, file and offset named, 2 packets shown" 1 oneline \
	"err:$T/bigcap.pcap" "err:offset $DAMAGE" out:2
run_in "$T/cut-data.pcap" show -
expect "show -: a cut stream -> exit 1, one line, 2 packets shown" 1 oneline "err:offset $DAMAGE" out:2
# a real capture from the corpus (when there is one), cut 10 bytes into its third record's data
CORPUS=${UMPA_CORPUS:-${top_srcdir:-.}/../shared/corpus/tcpdump-tests}
if [ -d "$CORPUS" ] && real=$(python3 - "$CORPUS" "$T/real-cut.pcap" <<'PYEOF'
import os, struct, sys
for name in sorted(os.listdir(sys.argv[1])):
    data = open(os.path.join(sys.argv[1], name), "rb").read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        continue
    end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off, starts = 24, []
    while off + 16 <= len(data) and len(starts) < 3:
        caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        if caplen < 20 or off + 16 + caplen > len(data):
            break
        starts.append(off)
        off += 16 + caplen
    if len(starts) == 3:
        open(sys.argv[2], "wb").write(data[:starts[2] + 16 + 10])
        print(name, starts[2])
        break
PYEOF
) && [ -n "$real" ]; then
	run show "$T/real-cut.pcap"
	expect "show: ${real% *} cut in its third record -> exit 1, offset ${real#* }, 2 packets shown" 1 oneline \
		"err:$T/real-cut.pcap" "err:offset ${real#* }" out:2
else
	skipped "show: a real capture cut mid-record" "no corpus at $CORPUS"
fi
run show -f "udp port 9999" "$T/good.pcap"
expect "show -f BPF: matching packets" 0 out:3 quiet
run show -f 'tcp' "$T/good.pcap"
expect "show -f BPF: no match prints nothing" 0 out:0 quiet
run show -f 'udp and and (' "$T/good.pcap"
expect "show -f: a bad BPF filter fails with one line" nz oneline err:filter out:0

# ---- build: errors ----
run build 'ip{' -w "$T/x.pcap"
expect "build: syntax error names 'expression 1:1'" 1 oneline "err:expression 1:1"
run build 'ip{}/udp{}' 'ip{ttl=}' -w "$T/x.pcap"
expect "build: syntax error in the 2nd expression names 'expression 2:1'" 1 oneline "err:expression 2:1"
run build 'ip{tll=7}' -w "$T/x.pcap"
expect "build: unknown field is named and the valid fields listed" 1 oneline err:tll err:ttl err:dst
run build 'ip{ttl=300}' -w "$T/x.pcap"
expect "build: a value too wide for its field fails with one line" 1 oneline err:ttl
run build 'nosuchproto{}' -w "$T/x.pcap"
expect "build: unknown protocol fails with one line" 1 oneline err:nosuchproto
printf 'local a = ip{}\nlocal b = udp{}\nreturn a/b/tcp{nosuchfield=1}\n' >"$T/bad.lua"
run build -f "$T/bad.lua" -w "$T/x.pcap"
expect "build -f: an error names the file and line" 1 oneline "err:bad.lua:3" err:nosuchfield
printf 'return ip{}/udp{}\nreturn\n' >"$T/syntax.lua"
run build -f "$T/syntax.lua" -w "$T/x.pcap"
expect "build -f: a syntax error names the file and line" 1 oneline "err:syntax.lua:2"
run build -f "$T/no-such-script.lua" -w "$T/x.pcap"
expect "build -f: missing script fails with one line naming it" 1 oneline "err:no-such-script.lua"
run build 'ip{}/udp{}' -w "$T/no/such/dir/x.pcap"
expect "build: unwritable output fails with one line naming it" 1 oneline "err:$T/no/such/dir/x.pcap"
run build 'ip{}/udp{dport=range(1,100)}' --max 10 -w "$T/x.pcap"
expect "build --max: an expansion over the cap fails" 1 oneline
run build 'ether{}/ip{}/udp{}' 'ip{}/udp{}' -w "$T/x.pcap"
expect "build: two link types in one file fail with one line" 1 oneline err:link

# ---- build -> show round trips ----
# roundtrip NAME PACKETS BUILD-ARGS...: build, then show (line and JSON) must give PACKETS packets
roundtrip() {
	local name=$1 n=$2
	shift 2
	run build "$@" -w "$T/rt.pcap"
	local w="wrote $n packets"
	[ "$n" = 1 ] && w="wrote 1 packet" # singular
	expect "build $name: exit 0, '$w'" 0 oneline "err:$w" || return 1
	run show "$T/rt.pcap"
	expect "show $name: $n lines" 0 out:"$n" quiet || return 1
	run show --json "$T/rt.pcap"
	expect "show --json $name: $n objects" 0 out:"$n" quiet
}
roundtrip "ether/ip/tcp" 1 'ether{}/ip{}/tcp{}' &&
	same "ether/ip/tcp: layers" "$(json_get layers)" "eth/ip/tcp"
roundtrip "ip/udp/payload" 1 'ip{dst="10.1.2.3"}/udp{sport=4321,dport=9}/"hello"' &&
	same "ip/udp/payload: layers" "$(json_get layers | sed 's,/raw$,/data,')" "ip/udp/data"
roundtrip "a list of 3 ports" 3 'ether{}/ip{}/tcp{dport={22,80,443}}'
roundtrip "2 lists: 2 x 3 combinations" 6 'ether{}/ip{ttl={1,2}}/udp{dport={7,9,13}}'
roundtrip "range(1,10)" 10 'ether{}/ip{}/udp{dport=range(1,10)}'
roundtrip "range(0,20,5)" 5 'ether{}/ip{}/udp{dport=range(0,20,5)}'
roundtrip "two expressions" 2 'ether{}/ip{}/udp{}' 'ether{}/ip{}/tcp{}'
roundtrip "-c 4 repeats 3 packets" 12 -c 4 'ether{}/ip{}/tcp{dport={22,80,443}}'
roundtrip "an IPv6 packet" 1 'ether{}/ipv6{}/udp{}' &&
	same "ipv6: layers" "$(json_get layers)" "eth/ipv6/udp"
roundtrip "the built-in example" "$("$UMPA" build --example -w "$T/ex.pcap" 2>&1 | sed -n 's/.*wrote \([0-9]*\) packets\{0,1\} .*/\1/p')" --example

# timestamps: --time and --interval, pcap (microseconds) and pcapng (nanoseconds)
run build --time 1700000000.5 --interval 0.25 'ether{}/ip{}/udp{dport={1,2,3}}' -w "$T/ts.pcap"
expect "build --time/--interval (pcap)" 0 && {
	run show --json "$T/ts.pcap"
	same "pcap: frame.time_epoch follows --time/--interval" "$(json_get frame.time_epoch | tr '\n' ' ')" \
		"1700000000.500000000 1700000000.750000000 1700000001.000000000 "
}
run build --pcapng --time 1700000000.000000001 --interval 0.000000002 -c 2 'ether{}/ip{}/udp{}' -w "$T/ts.pcapng"
expect "build --pcapng --time/--interval" 0 && {
	run show --json "$T/ts.pcapng"
	same "pcapng: nanosecond frame.time_epoch" "$(json_get frame.time_epoch | tr '\n' ' ')" \
		"1700000000.000000001 1700000000.000000003 "
}
run build --interval 1 'ether{}/ip{}/udp{}' 'ether{}/ip{}/tcp{}' -w "$T/now.pcap"
expect "build without --time (now)" 0 && {
	run show --json "$T/now.pcap"
	got=$(json_get frame.time_epoch | python3 -c '
import sys, time
t = [float(x) for x in sys.stdin]
print("ok" if len(t) == 2 and abs(t[0] - time.time()) < 600 and abs(t[1] - t[0] - 1) < 1e-6 else t)')
	same "build without --time: now, then now + 1 s" "$got" ok
}

# standard output and input
LAST_ARGS=(build 'ether{}/ip{}/udp{dport={1,2}}' -w - "|" umpa show -)
"$UMPA" build 'ether{}/ip{}/udp{dport={1,2}}' -w - 2>"$T/err" | "$UMPA" show - >"$T/out" 2>>"$T/err"
RC=$?
expect "build -w - | show -: a pipe" 0 out:2 quiet

# pcapng with a comment, read by tshark
run build --pcapng --comment 'hello from umpa' 'ether{}/ip{}/tcp{dport={22,80}}' -w "$T/c.pcapng"
if expect "build --pcapng --comment" 0 oneline "err:wrote 2 packets"; then
	if command -v tshark >/dev/null 2>&1; then
		got=$(tshark -r "$T/c.pcapng" -T fields -e frame.comment 2>"$T/tshark.err")
		same "tshark reads the pcapng and shows --comment on every packet" "$got" \
			"$(printf 'hello from umpa\nhello from umpa')"
		got=$(tshark -r "$T/rt.pcap" -T fields -e frame.number 2>>"$T/tshark.err" | wc -l)
		same "tshark reads the pcap written last" "$got" "$("$UMPA" show "$T/rt.pcap" | wc -l)"
	else
		skipped "tshark reads pcapng comments" "no tshark"
	fi
	# a pcapng cut in the middle of its last block: the packets before it are shown
	sz=$(wc -c <"$T/c.pcapng")
	head -c $((sz - 7)) "$T/c.pcapng" >"$T/c-cut.pcapng"
	run show "$T/c-cut.pcapng"
	expect "show: a pcapng cut in its last block -> exit 1, one line, 1 packet shown" 1 oneline \
		"err:$T/c-cut.pcapng" err:offset out:1
fi

# ---- umpa run: listing, a template's parameters, usage errors ----
export UMPA_TEMPLATE_PATH=${top_srcdir:-.}/templates
run run --list
expect "run --list: the shipped templates with their header lines" 0 quiet \
	"outhas:icmp-host        a host that answers ARP and ping" "outhas:arp-responder    answers ARP requests"
run run icmp-host --help
expect "run icmp-host --help: its parameters, types and defaults" 0 quiet out:5 \
	"outhas:ip6            ipv6" "outhas:(default 10.0.0.1)"
run run --help
expect "run --help: usage" 0 quiet "outhas:usage: umpa run TEMPLATE"
run run
expect "run without a template: exit 2, one line" 2 oneline "err:which template?"
run run icmp-host
expect "run without -i or --offline: exit 2, one line" 2 oneline "err:give -i IF (live) or --offline FILE"
run run icmp-host -i lo --offline x.pcap
expect "run with -i and --offline: exit 2, one line" 2 oneline "err:not both"
run run icmp-host --bogus
expect "run --bogus: exit 2, one line" 2 oneline "err:unknown option '--bogus'"
run run icmp-host --offline x.pcap --duration soon
expect "run --duration soon: exit 2, one line" 2 oneline "err:--duration"
run run icmp-host --offline x.pcap --busy-poll soon
expect "run --busy-poll soon: exit 2, one line" 2 oneline "err:--busy-poll 'soon': microseconds"
run run icmp-host --offline x.pcap --busy-poll 2000000
expect "run --busy-poll 2000000: exit 2, one line" 2 oneline "err:--busy-poll '2000000': microseconds"
printf -- '-- broken\nparams{ip={type="ipv4", default="10.0.0.1"}\n' >"$T/broken.lua"
run run "$T/broken.lua" --help
expect "run BROKEN --help: the syntax error, file:line, exit 1" 1 oneline "err:broken.lua:"
run run icmp-host --offline x.pcap --allow-read "$T/nodir"
expect "run --allow-read of a missing directory: exit 1, one line" 1 oneline "err:--allow-read $T/nodir"

"$UMPA" build --pcapng -w "$T/ping.pcapng" \
	'ether{dst="02:00:0a:00:00:01"}/ip{src="10.0.0.9", dst="10.0.0.1"}/icmp{type="echo-request"}' 2>/dev/null
run run icmp-host --offline "$T/ping.pcapng" -w /dev/full
expect "run -w /dev/full: the write error, exit 1, one line" 1 oneline "err:/dev/full" "outhas:echo.replies"

echo "cli: $PASS passed, $FAIL failed${SKIP:+, $SKIP skipped}"
[ "$FAIL" -eq 0 ]
