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
      libedit-dev bash-completion)
PKGS+=(python3-cryptography) # tests/oracle/tls13_coalesce.py encrypts TLS records
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
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
echo "deps: done"
