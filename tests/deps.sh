#!/usr/bin/env bash
# deps.sh - install every Debian 12 package umpa needs to build, test and benchmark.
# Idempotent; needs root (or sudo).  Run by tests/setup.sh and tests/run.sh.
set -euo pipefail
PKGS=(build-essential autoconf automake libtool pkg-config
      libpcap-dev libnet1-dev libevent-dev libssl-dev liblua5.4-dev lua5.4 libcmocka-dev libjansson-dev
      clang libclang-rt-14-dev
      tshark python3-scapy tcpdump iproute2 iputils-ping arping socat netcat-openbsd iptables ethtool
      netsniff-ng tcpreplay openssl procps util-linux curl
      nmap p0f udhcpc iperf3 bind9-dnsutils redis-server python3-redis libhiredis-dev haproxy sslsplit mitmproxy
      chromium chromium-driver python3-selenium libjs-chart.js
      nodejs jq
      libedit-dev bash-completion)
PKGS+=(nftables) # umpa replay's kernel-RST guard (tools/replay_guard.c) and tests/netns/replay_tcp.sh
PKGS+=(python3-cryptography) # tests/oracle/tls13_coalesce.py encrypts TLS records; tests/proxy/tls_connect.sh makes an expired certificate
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (Debian's package, unless a nodejs that carries its own is installed) for the Toxiproxy client test
command -v npm >/dev/null || dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed" || missing+=(npm)
# node_deps: Toxiproxy's Node client (tests/proxy/toxi_node.sh) into a project-local, untracked dir
node_deps() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/proxy/node"
  [ -f "$dir/node_modules/toxiproxy-node-client/package.json" ] && return 0
  echo "deps: npm install toxiproxy-node-client into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error toxiproxy-node-client@4.1.0 >/dev/null
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  node_deps
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
node_deps
echo "deps: done"
