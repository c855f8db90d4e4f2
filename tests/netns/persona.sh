#!/usr/bin/env bash
# persona.sh - host personalities against real fingerprinters: p0f, tshark, nmap -O.
#
# Namespace A runs tests/netns/persona.lua (SYN/ACK on port 80 through
# reply(), personality_closed() elsewhere) for 10.77.0.50 with
# --set personality=linux, then windows.  In namespace B, p0f (-i, -o log)
# watches while the kernel's curl connects to port 80, ping pings, and bash's
# /dev/tcp and /dev/udp poke a closed TCP and UDP port: p0f must name the OS
# family (Linux / Windows) from the SYN/ACK.  tshark reads umpa's capture and
# checks every packet the host sent: TTL, DF, IP ID sequence, window, option
# kinds and order, TSval from the uptime, the RST's seq/ack/flags, the port
# unreachable's quote.  p0f -r reads what freebsd answers offline.  nmap -O runs once (linux) and its verdict is printed,
# not checked (honeyd-style answers to its probes are in the engine, but its
# guess depends on more than this small template answers).  Then nmap -O
# against the host template (tcp.listen) with freebsd and embedded: its
# fingerprint's T2/T3/T4 lines are the personality's, its guesses name
# FreeBSD and lwIP.
# Needs root; skips (77) otherwise.  Every wait is bounded.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools tshark p0f curl ping timeout

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir persona) || exit 1
chmod 755 "$T"
cleanup() {
	netns_cleanup
	[ -n "${KEEP:-}" ] || umpa_tmpdir_done "$T"
}
trap cleanup EXIT

netns_pair persona || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
H=10.77.0.50
UPTIME=1000 # TSval (1000 Hz) starts at 1,000,000

# wait_for FILE PATTERN SECONDS: bounded poll
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Every frame of a run's capture as one line of tab-separated fields (one tshark per run: each
# call costs a good part of a second); a field with several occurrences (an ICMP error's quote,
# the option kinds) joins them with commas.
COLS="src dst ttl df id iplen tflags seq ack win kinds mss ws tsval tsecr itype icode tsport tdport udport"
TFIELDS="ip.src ip.dst ip.ttl ip.flags.df ip.id ip.len tcp.flags tcp.seq tcp.ack tcp.window_size_value
tcp.option_kind tcp.options.mss_val tcp.options.wscale.shift tcp.options.timestamp.tsval
tcp.options.timestamp.tsecr icmp.type icmp.code tcp.srcport tcp.dstport udp.dstport"
dump() {
	local args=() f
	for f in $TFIELDS; do args+=(-e "$f"); done
	tshark -r "$T/$1.pcapng" -o tcp.relative_sequence_numbers:FALSE -T fields -E occurrence=a -E aggregator=, \
		"${args[@]}" >"$T/$1.tsv" 2>/dev/null
}

# q NAME CONDITION FIELD: FIELD of every frame of run NAME matching the awk CONDITION over
# F["name"] (names of COLS; the outer header's value; kinds: all, comma-joined); H is the host.
q() {
	awk -F'\t' -v cols="$COLS" -v want="$3" -v H=$H '
		BEGIN { n = split(cols, C, " ") }
		{
			for (i = 1; i <= n; i++) {
				v = $i
				if (C[i] != "kinds") sub(/,.*/, "", v)
				F[C[i]] = v
			}
			if ('"$2"') print F[want]
		}' "$T/$1.tsv"
}

# all_are NAME CONDITION FIELD VALUE: every host packet matching CONDITION has FIELD == VALUE (and there is one)
all_are() {
	local out
	out=$(q "$1" "F[\"src\"] == H && ($2)" "$3")
	[ -n "$out" ] && [ -z "$(printf '%s\n' "$out" | grep -vx -- "$4")" ]
}

# all NAME COND FIELD VALUE [COND FIELD VALUE]...: all_are for each triple
all() {
	local n=$1
	shift
	while [ $# -ge 3 ]; do
		all_are "$n" "$1" "$2" "$3" || return 1
		shift 3
	done
}

# ids NAME CONDITION: the IP IDs (decimal) of the host's packets matching CONDITION, in order
ids() { q "$1" "F[\"src\"] == H && ($2)" id | while read -r x; do printf '%d\n' "$x"; done; }

# steps_of_one: each ID is the previous + 1 (mod 65536), at least two
steps_of_one() {
	awk 'NR > 1 && ($1 - prev + 65536) % 65536 != 1 { bad = 1 } { prev = $1; n++ } END { exit bad || n < 2 }'
}

# client NAME CONDITION FIELD: the first FIELD of the client's packets matching CONDITION
client() { q "$1" "F[\"dst\"] == H && ($2)" "$3" | head -1; }

# run_one NAME: the host with personality NAME, the clients, p0f
run_one() {
	local n=$1
	ip netns exec "$NS_B" timeout 30 p0f -i "$IF_B" -o "$T/p0f-$n.log" 'tcp' >"$T/p0f-$n.out" 2>&1 &
	P0F=$!
	ip netns exec "$NS_A" timeout 30 "$UMPA" run "$top_srcdir/tests/netns/persona.lua" -i "$IF_A" \
		--set ip=$H --set personality="${n/nmap/linux}" --set uptime=$UPTIME -w "$T/$n.pcapng" --json \
		>"$T/$n.json" 2>"$T/$n.err" &
	UP=$!
	wait_for "$T/p0f-$n.out" "Entered main event loop" 10 || echo "p0f did not start: $(tail -1 "$T/p0f-$n.out")"
	sleep 0.3 # umpa's capture opens before its template's rules; a moment for both
	check "$n: ping -c 3 $H" in_b timeout 10 ping -n -c 3 -i 0.2 -W 2 $H >"$T/ping-$n.txt"
	in_b timeout 5 curl -s -m 1 http://$H/ >/dev/null 2>&1
	in_b timeout 3 bash -c "exec 3<>/dev/tcp/$H/81" 2>/dev/null
	in_b timeout 3 bash -c "echo probe >/dev/udp/$H/9" 2>/dev/null
	if [ "$n" = nmap ] && command -v nmap >/dev/null; then
		local s=$(date +%s%N)
		in_b timeout 60 nmap -n -Pn -O --max-os-tries 1 -p 80,81 $H >"$T/nmap.txt" 2>&1
		echo "nmap -O against linux ($((($(date +%s%N) - s) / 1000000)) ms):"
		grep -E "Running|OS details|Aggressive|No exact|Too many|TCP/IP fingerprint|OS:SCAN" "$T/nmap.txt" | head -5 |
			sed 's/^/  /'
	fi
	wait_for "$T/p0f-$n.log" 'mod=syn+ack' 5
	kill -INT $UP 2>/dev/null
	wait $UP
	check "$n: umpa run exits 0" [ $? -eq 0 ]
	kill -INT $P0F 2>/dev/null
	wait $P0F 2>/dev/null
	check "$n: no errors counted" grep -q '"errors":0' "$T/$n.json"
	dump "$n"
	check "$n: tshark reads the capture, no malformed frames" \
		sh -c "[ -s '$T/$n.pcapng' ] && [ -z \"\$(tshark -r '$T/$n.pcapng' -Y _ws.malformed 2>/dev/null)\" ]"
	echo "p0f ($n): $(grep -m1 'mod=syn+ack' "$T/p0f-$n.log" | tr '|' '\n' | grep -E '^(os|raw_sig)=' | tr '\n' ' ')"
}

# ---- linux ----
run_one linux
SA='F["tflags"] == "0x0012"'
RST='F["tflags"] == "0x0014"'
SYN80='F["tflags"] == "0x0002" && F["tdport"] == 80'
SYN81='F["tflags"] == "0x0002" && F["tdport"] == 81'
check "p0f names Linux from the SYN/ACK" grep -q 'mod=syn+ack.*|os=Linux' "$T/p0f-linux.log"
check "linux: every IPv4 packet has TTL 64" all_are linux 1 ttl 64
check "linux: SYN/ACK window 14480 (10 x (MSS-12))" all_are linux "$SA" win 14480
check "linux: SYN/ACK options MSS,SACKOK,TS,NOP,WS (kinds 2,4,8,1,3)" all_are linux "$SA" kinds "2,4,8,1,3"
check "linux: SYN/ACK MSS 1460, window scale 7" all linux "$SA" mss 1460 "$SA" ws 7
check "linux: SYN/ACK DF, IP ID 0 (TI=Z)" all linux "$SA" df 1 "$SA" id 0x0000
tsok() {
	local v
	v=$(q linux "F[\"src\"] == H && $SA" tsval | head -1)
	echo "linux SYN/ACK TSval: $v (uptime $UPTIME s at 1000 Hz)"
	[ -n "$v" ] && [ "$v" -ge $((UPTIME * 1000)) ] && [ "$v" -lt $((UPTIME * 1000 + 60000)) ]
}
check "linux: TSval = uptime x 1000 Hz + elapsed" tsok
tsecr() {
	local v
	v=$(client linux "$SYN80" tsval)
	[ -n "$v" ] && all_are linux "$SA" tsecr "$v"
}
check "linux: TSecr echoes the client's TSval" tsecr
check "linux: RST to the closed port: RST+ACK, seq 0, window 0, DF, ID 0 (CI=Z)" \
	all linux "$RST" seq 0 "$RST" win 0 "$RST" df 1 "$RST" id 0x0000
rstack() {
	local s
	s=$(client "$1" "$SYN81" seq)
	[ -n "$s" ] && all_are "$1" "$RST" ack $((s + 1))
}
check "linux: the RST acknowledges the SYN (ack = seq + 1)" rstack linux
check "linux: echo replies without DF" all_are linux 'F["itype"] == 0' df 0
inc() { ids "$1" "$2" | steps_of_one; }
check "linux: echo replies' IP IDs increment by 1 (II=I)" inc linux 'F["itype"] == 0'
quote_all() {
	local want
	want=$(client "$1" 'F["udport"] == 9' iplen)
	[ -n "$want" ] && all_are "$1" 'F["itype"] == 3' iplen $((want + 28))
}
check "linux: port unreachable (code 3), no DF" all linux 'F["itype"] == 3' icode 3 'F["itype"] == 3' df 0
check "linux: port unreachable quotes the whole datagram (IPL 0x164)" quote_all linux

# ---- windows ----
run_one windows
check "p0f names Windows from the SYN/ACK" grep -q 'mod=syn+ack.*|os=Windows' "$T/p0f-windows.log"
check "windows: every IPv4 packet has TTL 128" all_are windows 1 ttl 128
check "windows: SYN/ACK window 8192, window scale 8" all windows "$SA" win 8192 "$SA" ws 8
check "windows: SYN/ACK options MSS,NOP,WS,NOP,NOP,SACKOK (no timestamps)" all_are windows "$SA" kinds "2,1,3,1,1,4"
check "windows: SYN/ACK and RST with DF" all windows "$SA" df 1 "$RST" df 1
check "windows: RST+ACK, seq 0, window 0" all windows "$RST" seq 0 "$RST" win 0
check "windows: the RST acknowledges the SYN (ack = seq + 1)" rstack windows
check "windows: one IP ID counter for everything sent (+1 per packet: TCP, ICMP, RST)" inc windows 1
check "windows: echo replies without DF, TTL 128" all windows 'F["itype"] == 0' df 0 'F["itype"] == 0' ttl 128

# ---- offline: p0f -r on what freebsd answers to a recorded SYN ----
"$UMPA" build -w "$T/syn.pcap" 'ether{}/ip{src="10.77.0.2", dst="10.77.0.50", flags="DF"}/tcp{sport=40000, dport=80,
	flags="S", seq=5, window=64240, options="mss=1460,sackok,ts=123:0,nop,wscale=7"}' >/dev/null 2>&1
"$UMPA" run "$top_srcdir/tests/netns/persona.lua" --offline "$T/syn.pcap" --set ip=$H --set personality=freebsd \
	-w "$T/freebsd.pcapng" >/dev/null 2>&1
tshark -r "$T/freebsd.pcapng" -F pcap -w "$T/freebsd.pcap" 2>/dev/null
p0f -r "$T/freebsd.pcap" -o "$T/p0f-freebsd.log" >/dev/null 2>&1
echo "p0f (freebsd, offline): $(grep -m1 'mod=syn+ack' "$T/p0f-freebsd.log" | tr '|' '\n' | grep -E '^(os|raw_sig)=' | tr '\n' ' ')"
check "p0f names FreeBSD from the SYN/ACK (offline run)" grep -q 'mod=syn+ack.*|os=FreeBSD' "$T/p0f-freebsd.log"

# ---- the host template: its own TCP endpoint (tcp.listen) answers port 80 in the personality ----
# host_one NAME: `umpa run host --set personality=NAME`, p0f and curl in namespace B
host_one() {
	local n=$1
	ip netns exec "$NS_B" timeout 30 p0f -i "$IF_B" -o "$T/p0f-host-$n.log" 'tcp' >"$T/p0f-host-$n.out" 2>&1 &
	P0F=$!
	ip netns exec "$NS_A" timeout 30 "$UMPA" run host -i "$IF_A" --set ip=$H --set tcp=80:http \
		--set personality=$n --set uptime=$UPTIME -w "$T/host-$n.pcapng" --json >"$T/host-$n.json" \
		2>"$T/host-$n.err" &
	UP=$!
	wait_for "$T/p0f-host-$n.out" "Entered main event loop" 10 || echo "p0f did not start: $(tail -1 "$T/p0f-host-$n.out")"
	sleep 0.3
	for _ in $(seq 50); do # the host answers (10 s at most)
		in_b ping -n -c 1 -W 0.2 $H >/dev/null 2>&1 && break
		sleep 0.1
	done
	check "host $n: curl http://$H/ answers the page" in_b timeout 10 curl -sS -m 5 -o /dev/null http://$H/
	wait_for "$T/p0f-host-$n.log" 'mod=syn+ack' 5
	kill -INT $UP 2>/dev/null
	wait $UP
	check "host $n: umpa run host exits 0" [ $? -eq 0 ]
	kill -INT $P0F 2>/dev/null
	wait $P0F 2>/dev/null
	check "host $n: no errors counted" grep -q '"errors":0' "$T/host-$n.json"
	dump "host-$n"
	echo "p0f (host $n): $(grep -m1 'mod=syn+ack' "$T/p0f-host-$n.log" | tr '|' '\n' | grep -E '^(os|raw_sig)=' | tr '\n' ' ')"
}
SA80='F["tflags"] == "0x0012" && F["tsport"] == 80'
host_one linux
check "host linux: p0f names Linux from host's SYN/ACK on port 80" grep -q 'mod=syn+ack.*|os=Linux' "$T/p0f-host-linux.log"
check "host linux: SYN/ACK window 14480, MSS 1460, window scale 7" \
	all host-linux "$SA80" win 14480 "$SA80" mss 1460 "$SA80" ws 7
check "host linux: SYN/ACK options MSS,SACKOK,TS,NOP,WS (kinds 2,4,8,1,3)" all_are host-linux "$SA80" kinds "2,4,8,1,3"
host_one windows
check "host windows: p0f names Windows from host's SYN/ACK on port 80" grep -q 'mod=syn+ack.*|os=Windows' "$T/p0f-host-windows.log"
check "host windows: SYN/ACK window 8192, window scale 8, TTL 128" \
	all host-windows "$SA80" win 8192 "$SA80" ws 8 "$SA80" ttl 128
check "host windows: SYN/ACK options MSS,NOP,WS,NOP,NOP,SACKOK (kinds 2,1,3,1,1,4)" \
	all_are host-windows "$SA80" kinds "2,1,3,1,1,4"

# ---- nmap -O, once, reported (its probes get the SYN/ACKs of nmap's W1-W6/O1-O6 and ECN lines) ----
run_one nmap

# ---- nmap -O against host (tcp.listen): the open port's answers to T2 (no flags), T3 (SYN+FIN+PSH+URG)
# and T4 (ACK) are the personality's: freebsd is silent to T2/T3, embedded (lwIP-like) answers T3 with a
# SYN/ACK and T4 with RST+ACK window 2048; nmap's fingerprint shows those lines, its guesses name the family
nmap_host() { # NAME
	local n=$1 s
	ip netns exec "$NS_A" timeout 60 "$UMPA" run host -i "$IF_A" --set ip=$H --set tcp=80:http \
		--set personality=$n --json >"$T/nmap-$n.json" 2>"$T/nmap-$n.err" &
	UP=$!
	for _ in $(seq 50); do # the host answers (10 s at most)
		in_b ping -n -c 1 -W 0.2 $H >/dev/null 2>&1 && break
		sleep 0.1
	done
	s=$(date +%s%N)
	in_b timeout 60 nmap -n -Pn -O --osscan-guess --max-os-tries 1 -p 80,81 $H >"$T/nmap-$n.txt" 2>&1
	echo "nmap -O against host $n ($((($(date +%s%N) - s) / 1000000)) ms): $(grep -m1 -E 'OS details|Aggressive' "$T/nmap-$n.txt" | cut -c1-200)"
	kill -INT $UP 2>/dev/null
	wait $UP
	grep '^OS:' "$T/nmap-$n.txt" | sed 's/^OS://' | tr -d '\n' | tr ')' '\n' >"$T/nmap-$n.fp"
	check "host $n: umpa run host exits 0, no errors counted" grep -q '"errors":0' "$T/nmap-$n.json"
}
if command -v nmap >/dev/null; then
	nmap_host freebsd
	check "host freebsd: nmap's fingerprint: no answer to T2 and T3" \
		sh -c "grep -qx 'T2(R=N' '$T/nmap-freebsd.fp' && grep -qx 'T3(R=N' '$T/nmap-freebsd.fp'"
	check "host freebsd: nmap's fingerprint: T4 a RST, seq = the ACK's ack, window 0" \
		grep -q '^T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%' "$T/nmap-freebsd.fp"
	check "host freebsd: nmap's guesses name FreeBSD" grep -q 'Aggressive OS guesses: FreeBSD' "$T/nmap-freebsd.txt"
	nmap_host embedded
	check "host embedded: nmap's fingerprint: T3 answered with a SYN/ACK (window 2048, MSS only)" \
		grep -q '^T3(R=Y%DF=N%T=FF%W=800%S=O%A=S+%F=AS%O=M5B4%' "$T/nmap-embedded.fp"
	check "host embedded: nmap's fingerprint: T2 unanswered, T4 a RST+ACK with window 2048" \
		sh -c "grep -qx 'T2(R=N' '$T/nmap-embedded.fp' && grep -q '^T4(R=Y%DF=N%T=FF%W=800%S=A%A=S%F=AR%' '$T/nmap-embedded.fp'"
	check "host embedded: nmap's guesses include lwIP" grep -q 'Aggressive OS guesses: .*lwIP' "$T/nmap-embedded.txt"
fi

finish
