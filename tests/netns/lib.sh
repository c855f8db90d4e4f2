# lib.sh - shared helpers for the network-namespace tests (source it from bash).
#
# Every test builds its own pair of namespaces joined by a veth pair and runs
# umpa inside one of them; the Linux kernel in the other is the peer.  Nothing
# is sent outside these namespaces.  Names carry the test name and the PID, so
# tests may run in parallel; an EXIT trap removes everything.
#
#   . "$top_srcdir/tests/netns/lib.sh"
#   netns_require_root            # exit 77 (skip) with a reason when not root
#   netns_pair mytest             # sets NS_A NS_B IF_A IF_B MAC_A MAC_B
#                                 # A: 10.77.0.1/24 fd00:77::1/64   B: 10.77.0.2/24 fd00:77::2/64
#   in_a umpa sr ...              # run a command in namespace A (in_b: in B)
#   check "what" cmd...           # one check: prints ok/FAIL, counts
#   finish                        # prints "N passed, N failed"; exit status

NS_PASS=0
NS_FAIL=0
NS_CREATED=()

# netns_paths: what a test needs from make check's environment: top_srcdir and top_builddir (default .)
# and UMPA (default the build tree's umpa), made absolute, and the source tree's templates for umpa run.
#   . "${top_srcdir:-.}/tests/netns/lib.sh"
#   netns_paths
netns_paths() {
	top_srcdir=${top_srcdir:-.}
	top_builddir=${top_builddir:-.}
	UMPA=${UMPA:-$top_builddir/umpa}
	case $UMPA in /*) ;; *) UMPA=$(pwd)/$UMPA ;; esac
	case $top_srcdir in /*) ;; *) top_srcdir=$(pwd)/$top_srcdir ;; esac
	case $top_builddir in /*) ;; *) top_builddir=$(pwd)/$top_builddir ;; esac
	export UMPA_TEMPLATE_PATH=$top_srcdir/templates
}

netns_need_tools() { # netns_need_tools CMD...: skip (exit 77) naming the first command missing
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			echo "SKIP: $t is missing (tests/deps.sh installs it)"
			exit 77
		fi
	done
}

netns_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root (network namespaces, raw sockets)"
		exit 77
	fi
	if ! command -v ip >/dev/null; then
		echo "SKIP: iproute2's ip is missing"
		exit 77
	fi
}

netns_cleanup() {
	local ns
	for ns in "${NS_CREATED[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	NS_CREATED=()
}

# netns_pair TAG: two namespaces and a veth pair between them, addresses up,
# IPv6 duplicate address detection off (addresses usable at once).
netns_pair() {
	local tag=$1
	NS_A="umpa-$tag-$$-a"
	NS_B="umpa-$tag-$$-b"
	IF_A=veth-a
	IF_B=veth-b
	ip netns add "$NS_A" || return 1
	NS_CREATED+=("$NS_A")
	ip netns add "$NS_B" || return 1
	NS_CREATED+=("$NS_B")
	trap netns_cleanup EXIT
	ip -n "$NS_A" link add "$IF_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_A" addr add 10.77.0.1/24 dev "$IF_A"
	ip -n "$NS_B" addr add 10.77.0.2/24 dev "$IF_B"
	ip -n "$NS_A" addr add fd00:77::1/64 dev "$IF_A" nodad
	ip -n "$NS_B" addr add fd00:77::2/64 dev "$IF_B" nodad
	ip -n "$NS_A" link set "$IF_A" up
	ip -n "$NS_B" link set "$IF_B" up
	MAC_A=$(ip -n "$NS_A" -br link show "$IF_A" | awk '{print $3}')
	MAC_B=$(ip -n "$NS_B" -br link show "$IF_B" | awk '{print $3}')
	IP_A=10.77.0.1
	IP_B=10.77.0.2
	IP6_A=fd00:77::1
	IP6_B=fd00:77::2
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

check() {
	local what=$1
	shift
	if "$@"; then
		NS_PASS=$((NS_PASS + 1))
		echo "ok: $what"
	else
		NS_FAIL=$((NS_FAIL + 1))
		echo "FAIL: $what"
	fi
}

finish() {
	echo "$NS_PASS passed, $NS_FAIL failed"
	[ "$NS_FAIL" -eq 0 ]
}

# netns_link3 TAG: three namespaces in a row for a link in the middle:
#   NS_A (veth-a 10.78.0.1/24) -- (veth-ma) NS_M (veth-mc) -- (veth-c 10.78.0.2/24) NS_C
# NS_M has no addresses: a bridge (umpa run flaky-link -i veth-ma -i veth-mc)
# joins the two sides.  Offloads are off on every veth so frames are never
# larger than the MTU (a userland bridge forwards frames, not GSO bursts) and
# carry their checksums (a veth hands a packet socket TCP and UDP segments
# whose checksum the kernel left to the "hardware": forwarded as captured,
# the far kernel would drop them).
netns_link3() {
	local tag=$1 ns
	NS_A="umpa-$tag-$$-a"
	NS_M="umpa-$tag-$$-m"
	NS_C="umpa-$tag-$$-c"
	for ns in "$NS_A" "$NS_M" "$NS_C"; do
		ip netns add "$ns" || return 1
		NS_CREATED+=("$ns")
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	trap netns_cleanup EXIT
	ip -n "$NS_A" link add veth-a type veth peer name veth-ma netns "$NS_M" || return 1
	ip -n "$NS_C" link add veth-c type veth peer name veth-mc netns "$NS_M" || return 1
	ip -n "$NS_A" addr add 10.78.0.1/24 dev veth-a
	ip -n "$NS_C" addr add 10.78.0.2/24 dev veth-c
	for ns in "$NS_A:veth-a" "$NS_M:veth-ma" "$NS_M:veth-mc" "$NS_C:veth-c"; do
		if command -v ethtool >/dev/null; then
			ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tx off tso off gso off gro off >/dev/null 2>&1
		fi
		ip -n "${ns%%:*}" link set "${ns#*:}" up
	done
	IP_A=10.78.0.1
	IP_C=10.78.0.2
}

in_m() { ip netns exec "$NS_M" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

# netns_http_addr FILE: waits (bounded: 10 s) for umpa's "http: listening on ADDR" line in FILE (its
# stderr); sets ADDR; fails when the line never came.
netns_http_addr() {
	local i
	ADDR=
	for i in $(seq 200); do
		ADDR=$(sed -n 's/.*http: listening on \(.*\)$/\1/p' "$1")
		[ -n "$ADDR" ] && return 0
		sleep 0.05
	done
	return 1
}

# netns_record_pings FILE N: tcpdump in A records ICMP into FILE (its stderr in FILE.err) while A's
# kernel pings B's N times, 20 ms apart: the input of the replay tests.
netns_record_pings() {
	local tp i
	ip netns exec "$NS_A" timeout 20 tcpdump -Z root --immediate-mode -i "$IF_A" -w "$1" -U icmp >/dev/null \
		2>"$1.err" &
	tp=$!
	for i in $(seq 100); do
		grep -q listening "$1.err" && break
		sleep 0.05
	done
	in_a ping -n -c "$2" -i 0.02 "$IP_B" >/dev/null
	sleep 0.2
	kill "$tp"
	wait "$tp" 2>/dev/null
}

# The page tests in headless Chromium (tests/netns/*_browser.py on browser.py).  Chromium starts
# before what the page is to watch: on a loaded machine its start alone has taken 37 s.
#   netns_browser_need NAME        # skip (77) without chromium, chromedriver, python3-selenium;
#                                  # sets PY and OUT ($top_builddir/test-output/NAME, emptied)
#   netns_browser_start NS SCRIPT ARGS...   # SCRIPT GOFILE ARGS... in NS, in the background, output
#                                  # in $T/browser.txt; returns once Chromium is up (bounded: 120 s)
#   ... start what the page watches ...
#   netns_browser_go [TEXT]        # the page goes on (SCRIPT reads TEXT: a URL, say)
#   netns_browser_wait             # prints SCRIPT's lines indented; BR: its exit status (failed checks)
netns_browser_need() {
	netns_need_tools chromium chromedriver
	PY=/usr/bin/python3 # Debian's, with python3-selenium
	if ! "$PY" -c 'import selenium' 2>/dev/null; then
		echo "SKIP: python3-selenium is missing (tests/deps.sh installs it)"
		exit 77
	fi
	OUT=$top_builddir/test-output/$1
	rm -rf "$OUT"
	mkdir -p "$OUT"
}

netns_browser_start() {
	local ns=$1 script=$2 i
	shift 2
	rm -f "$T/browser.go"
	ip netns exec "$ns" env HOME="$T" PYTHONDONTWRITEBYTECODE=1 timeout 240 "$PY" "$script" "$T/browser.go" "$@" >"$T/browser.txt" 2>&1 &
	BROWSER=$!
	for i in $(seq 1200); do
		grep -q "Chromium up after" "$T/browser.txt" && return 0
		kill -0 "$BROWSER" 2>/dev/null || break
		sleep 0.1
	done
	echo "  Chromium did not come up: $(tail -1 "$T/browser.txt")"
	return 1
}

netns_browser_go() {
	printf '%s\n' "${1:-go}" >"$T/browser.go.tmp" && mv "$T/browser.go.tmp" "$T/browser.go"
}

netns_browser_wait() {
	wait "$BROWSER"
	BR=$?
	sed 's/^/  /' "$T/browser.txt"
}
