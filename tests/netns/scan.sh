#!/usr/bin/env bash
# scan.sh - the ping-sweep and syn-scan templates against a real kernel, nmap as the oracle.
#
# Namespace B has 10.77.0.2 and 10.77.0.5; 10.77.0.9 answers ARP but drops
# ICMP (iptables); the other addresses of 10.77.0.0/28 do not exist.  On B:
# port 22 listens on every address and 80 only on 10.77.0.5 (socat), 25 is
# dropped (iptables DROP), 26 rejected with ICMP port unreachable, 23 and 24
# are closed (the kernel answers RST).  From namespace A:
#  - `umpa run ping-sweep --set targets=10.77.0.0/28` prints every address
#    with the state we built (up with an RTT, up by ARP only, down) and exits;
#  - `umpa run syn-scan --set targets=10.77.0.0/29 --set ports=22-26,80`
#    prints each port's state, the same as the ground truth and as
#    `nmap -sS` says for the same hosts and ports; hosts that do not exist
#    are down.  A scan from an address no kernel owns (the template answers
#    ARP for it) gives the same table.
# Needs root; skips (77) otherwise.  Bounded: every run has a timeout.
set -uo pipefail

. "${top_srcdir:-.}/tests/netns/lib.sh"
netns_paths
netns_require_root
netns_need_tools socat iptables nmap timeout

. "$top_srcdir/tests/tmpdir.sh"
T=$(umpa_tmpdir scan) || exit 1
cleanup() {
	netns_cleanup
	umpa_tmpdir_done "$T"
}
trap cleanup EXIT

# ---- parameters: listed by --help though one is required; bad ones: one line each ----
one_line() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q -- "$2" "$1"; }
for t in ping-sweep syn-scan; do
	"$UMPA" run $t --help >"$T/help.txt" 2>&1
	check "$t --help lists its parameters, the required 'targets' too (exit $?)" \
		sh -c "grep -Eq '^  targets +ipv4net' '$T/help.txt' && grep -Eq '^  timeout +number' '$T/help.txt'"
done
"$UMPA" build -w "$T/one.pcap" 'ether{}/ip{dst="10.77.0.2"}/udp{dport=9}' >/dev/null 2>&1
"$UMPA" run syn-scan --offline "$T/one.pcap" >/dev/null 2>"$T/e1"
rc=$?
check "syn-scan without targets: exit 1 (rc $rc), one line naming the parameter" \
	sh -c "[ $rc -eq 1 ] && [ \$(wc -l <'$T/e1') -eq 1 ] && grep -q 'syn-scan.lua:[0-9]*: targets: give' '$T/e1'"
"$UMPA" run syn-scan --offline "$T/one.pcap" --set targets=10.77.0.2 --set ports=22,99999 >/dev/null 2>"$T/e2"
check "syn-scan with a bad port: one line naming it" one_line "$T/e2" "ports: '99999' is not a port"
"$UMPA" run ping-sweep --offline "$T/one.pcap" --set targets=10.0.0.0/8 >/dev/null 2>"$T/e3"
check "ping-sweep over 65536 addresses: one line" one_line "$T/e3" "targets: 10.0.0.0/8 has more than 65536 addresses"

netns_pair scan || {
	echo "FAIL: cannot create the namespace pair"
	exit 1
}
trap cleanup EXIT
ip -n "$NS_B" addr add 10.77.0.5/24 dev "$IF_B"
ip -n "$NS_B" addr add 10.77.0.9/24 dev "$IF_B"
in_b iptables -A INPUT -d 10.77.0.9 -p icmp -j DROP
in_b iptables -A INPUT -p tcp --dport 25 -j DROP
in_b iptables -A INPUT -p tcp --dport 26 -j REJECT --reject-with icmp-port-unreachable
in_b timeout 60 socat TCP-LISTEN:22,fork,reuseaddr /dev/null &
in_b timeout 60 socat TCP-LISTEN:80,bind=10.77.0.5,fork,reuseaddr /dev/null &
for _ in $(seq 50); do # both listening (bounded: 5 s)
	[ "$(in_b ss -Hltn | grep -c -E ':(22|80) ')" -eq 2 ] && break
	sleep 0.1
done

# row FILE HOST [PORT]: the table's state for HOST (and PORT)
row() { awk -v h="$2" -v p="${3:--}" '$1 == h && (p == "-" || $2 == p) { print $3 }' "$1"; }

# ---- ping-sweep ----
in_a timeout 30 "$UMPA" run ping-sweep -i "$IF_A" --set targets=10.77.0.0/28 --set timeout=1 --set retries=1 \
	--set rate=200 >"$T/sweep.txt" 2>"$T/sweep.err"
rc=$?
cat "$T/sweep.txt"
check "ping-sweep exits 0 by itself when done (rc $rc)" [ $rc -eq 0 ]
check "ping-sweep: 14 addresses in the table (.1 to .14)" \
	[ "$(grep -c '^10\.77\.0\.' "$T/sweep.txt")" -eq 14 ]
sweep_right() {
	local n want got
	for n in $(seq 1 14); do
		case $n in
		1) want="up this interface" ;;
		2 | 5) want="up echo reply" ;;
		9) want="up ARP only (no echo reply)" ;;
		*) want="down no ARP reply" ;;
		esac
		got=$(awk -v h="10.77.0.$n" '$1 == h { $1 = ""; $3 = ""; sub(/^ +/, ""); gsub(/  +/, " "); print }' "$T/sweep.txt")
		[ "$got" = "$want" ] || {
			echo "10.77.0.$n: '$got', want '$want'"
			return 1
		}
	done
}
check "ping-sweep: every address has the state we built" sweep_right
check "ping-sweep: echo RTTs are numbers" \
	sh -c "awk '\$1 == \"10.77.0.2\" || \$1 == \"10.77.0.5\" { if (\$3 !~ /^[0-9]+\\.[0-9]+\$/) exit 1 }' '$T/sweep.txt'"
check "ping-sweep: summary line" grep -q '^4 of 14 hosts up$' "$T/sweep.txt"
check "ping-sweep: counters up 4, down 10" sh -c "grep -Eq '^up +4$' '$T/sweep.txt' && grep -Eq '^down +10$' '$T/sweep.txt'"

# ---- syn-scan ----
PORTS=22-26,80
in_a timeout 30 "$UMPA" run syn-scan -i "$IF_A" --set targets=10.77.0.0/29 --set ports=$PORTS --set timeout=1 \
	>"$T/syn.txt" 2>"$T/syn.err"
rc=$?
cat "$T/syn.txt"
check "syn-scan exits 0 by itself when done (rc $rc)" [ $rc -eq 0 ]
syn_right() { # FILE: the table matches what B was built with
	local h p want got
	for h in 10.77.0.2 10.77.0.5; do
		for p in 22 23 24 25 26 80; do
			case $p in
			22) want=open ;;
			80) [ $h = 10.77.0.5 ] && want=open || want=closed ;;
			25 | 26) want=filtered ;;
			*) want=closed ;;
			esac
			got=$(row "$1" $h $p)
			[ "$got" = "$want" ] || {
				echo "$h:$p: '$got', want '$want'"
				return 1
			}
		done
	done
	for h in 10.77.0.3 10.77.0.4 10.77.0.6; do
		[ "$(row "$1" $h)" = down ] || {
			echo "$h: '$(row "$1" $h)', want down"
			return 1
		}
	done
}
check "syn-scan: open, closed, filtered and down as built" syn_right "$T/syn.txt"
check "syn-scan: filtered by DROP is 'no response', by REJECT an ICMP unreachable" \
	sh -c "grep -Eq '^10\\.77\\.0\\.2 +25 +filtered +- +no response' '$T/syn.txt' && grep -Eq '^10\\.77\\.0\\.2 +26 +filtered +[0-9.]+ +icmp unreachable code 3' '$T/syn.txt'"
check "syn-scan: summary 3 open, 5 closed, 4 filtered, 3 hosts down" \
	grep -q '^3 open, 5 closed, 4 filtered; 3 hosts down$' "$T/syn.txt"

# nmap -sS on the same hosts and ports: the same states
in_a timeout 60 nmap -n -Pn -sS -p $PORTS --max-retries 1 --host-timeout 30s -oG "$T/nmap.gnmap" 10.77.0.2 10.77.0.5 \
	>/dev/null 2>&1
nmap_agrees() {
	local h p state ours n=0
	while read -r h p state; do
		ours=$(row "$T/syn.txt" "$h" "$p")
		[ "$ours" = "$state" ] || {
			echo "nmap says $h:$p $state, umpa $ours"
			return 1
		}
		n=$((n + 1))
	done < <(awk '/Ports:/ { h = $2; sub(/.*Ports: /, ""); n = split($0, a, ", ");
		for (i = 1; i <= n; i++) { split(a[i], f, "/"); print h, f[1], f[2] } }' "$T/nmap.gnmap")
	[ $n -eq 12 ]
}
check "nmap -sS agrees on all 12 ports" nmap_agrees

# from an address no kernel owns: the template answers ARP for it; the same table
in_a timeout 30 "$UMPA" run syn-scan -i "$IF_A" --set targets=10.77.0.0/29 --set ports=$PORTS --set timeout=1 \
	--set src=10.77.0.77 --set mac=02:00:0a:4d:00:4d >"$T/syn2.txt" 2>"$T/syn2.err"
rc=$?
check "syn-scan from a simulated address: exit $rc, the same states" syn_right "$T/syn2.txt"

finish
