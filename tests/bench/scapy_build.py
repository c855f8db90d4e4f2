#!/usr/bin/python3
"""Scapy side of the build benchmark: N Ether/IP/UDP/payload packets, one field
changing per packet, written to a pcap.  Prints packets per second."""
import sys
import time

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

n = int(sys.argv[1])
out = sys.argv[2]
t0 = time.perf_counter()
pkts = [Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1 + i % 65535, dport=53) / Raw(b"payload!")
        for i in range(n)]
wrpcap(out, pkts)
dt = time.perf_counter() - t0
print(f"{n / dt:.0f}")
