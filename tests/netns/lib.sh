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
