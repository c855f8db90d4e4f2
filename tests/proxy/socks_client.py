#!/usr/bin/env python3
"""socks_client.py - a raw SOCKS5 client for tests/proxy/socks.sh: sends exactly the bytes given and prints
what came back, so the proxy's reply codes (RFC 1928 section 6) are checked byte for byte.

  socks_client.py HOST PORT connect ATYP ADDR DPORT   greeting (no auth), then CONNECT; prints "rep N"
  socks_client.py HOST PORT raw HEX-GREETING HEX-REQUEST
                                                      sends the greeting, reads the method answer, sends
                                                      the request; prints "method M", then "rep N" or
                                                      "closed" (the proxy closed without a reply)
  socks_client.py HOST PORT socks4 HEX-REQUEST        sends a SOCKS4 request; prints "socks4 CD" (90
                                                      granted, 91 rejected) or "closed"
  socks_client.py HOST PORT batch                     one of the above per stdin line (its words after
                                                      PORT), one connection each; the answers of each
                                                      on one line
ATYP: 1 (IPv4), 3 (name), 4 (IPv6).  Every wait is bounded (10 s).
"""
import ipaddress
import socket
import struct
import sys


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            return b
        b += d
    return b


def request(atyp, addr, port):
    if atyp == 1:
        a = ipaddress.IPv4Address(addr).packed
    elif atyp == 4:
        a = ipaddress.IPv6Address(addr).packed
    else:
        a = bytes([len(addr)]) + addr.encode()
    return bytes([5, 1, 0, atyp]) + a + struct.pack(">H", port)


def talk(host, port, greeting, req):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(greeting)
    m = recv_exact(s, 2)
    if len(m) < 2:
        print("closed")
        return
    print("method %d" % m[1])
    if m[1] == 0xFF:
        return
    s.sendall(req)
    r = recv_exact(s, 4)
    if len(r) < 4:
        print("closed")
        return
    rest = {1: 6, 4: 18}.get(r[3], 0)
    recv_exact(s, rest)
    print("rep %d" % r[1])
    # after a failure the proxy closes: read to the end (bounded by the timeout)
    if r[1] != 0:
        print("eof" if recv_exact(s, 1) == b"" else "more")


def one(host, port, a):
    if a[0] == "connect":
        talk(host, port, b"\x05\x01\x00", request(int(a[1]), a[2], int(a[3])))
    elif a[0] == "socks4":
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(bytes.fromhex(a[1]))
        r = recv_exact(s, 8)
        print("socks4 %d" % r[1] if len(r) == 8 and r[0] == 0 else "closed")
    elif a[0] == "raw":
        talk(host, port, bytes.fromhex(a[1]), bytes.fromhex(a[2]))
    else:
        sys.exit("usage: see the docstring")


def main():
    global print
    a = sys.argv[1:]
    host, port = a[0], int(a[1])
    if a[2] != "batch":
        one(host, port, a[2:])
        return
    out = []
    print = out.append  # the answers of one case on one line
    for line in sys.stdin:
        if line.strip():
            out.clear()
            try:
                one(host, port, line.split())
            except OSError as e:
                out.append("error %s" % e)
            sys.stdout.write(" ".join(out) + "\n")


if __name__ == "__main__":
    main()
