#!/usr/bin/env python3
"""toxi_peer.py - peers and meters for tests/proxy/toxi.sh (loopback only, every wait bounded).

  serve PORTFILE SECONDS     TCP and UDP servers on 127.0.0.1 (ports written "tcp udp" to PORTFILE):
                             TCP: a first line "send N" gets N bytes then a FIN; anything else is echoed.
                             UDP: every datagram is echoed.  Exits after SECONDS.
  rtt PORT [SRC]             median round trip of 5 one-line echoes through PORT (ms), from address SRC
  pull PORT N [SRC]          ask for N bytes; print "bytes=B end=eof|reset|timeout secs=S chunks=C"
  probe PORT T1 T2 ...       one connection; one echo at each time T (seconds after the start); print the
                             round trips (ms)
  probe-after URL BODY PORT T1 T2 ...   POST BODY to URL (a toxic), then probe with the times counted from
                             its answer (so a slow start of this script does not shift them)
  hello PORT NAME            send a TLS ClientHello naming NAME (SNI) to the echo server; print the ms
                             until it is back
  talk PORT                  send a line to the echo server, read until the end: "bytes=B end=E secs=S"
  udp PORT N [GAP_US] [SRC]  N numbered datagrams (from address SRC); print "sent=N got=G uniq=U rtt_ms=M
                             changed=C" (echoes counted for 0.5 s after the last one; C: echoes that
                             differ from what was sent)
"""
import os
import socket
import statistics
import sys
import threading
import time


def serve(portfile, seconds):
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", 0))
    t.listen(64)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d %d\n" % (t.getsockname()[1], u.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)

    def conn(c):
        c.settimeout(seconds)
        try:
            first = c.recv(65536)
            if first.startswith(b"send "):
                n = int(first.split()[1])
                block = b"x" * 65536
                while n > 0:
                    k = min(n, len(block))
                    c.sendall(block[:k])
                    n -= k
                c.shutdown(socket.SHUT_WR)
                while c.recv(65536):
                    pass
                return
            data = first
            while data:
                c.sendall(data)
                data = c.recv(65536)
        except OSError:
            pass
        finally:
            c.close()

    def tcp():
        while True:
            try:
                c, _ = t.accept()
            except OSError:
                return
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    def udp():
        while True:
            try:
                d, a = u.recvfrom(65536)
                u.sendto(d, a)
            except OSError:
                return

    threading.Thread(target=tcp, daemon=True).start()
    threading.Thread(target=udp, daemon=True).start()
    time.sleep(seconds)


def connect(port, src):
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def rtt(port, src=None):
    s = connect(port, src)
    out = []
    for i in range(5):
        msg = b"ping %d\n" % i
        t0 = time.monotonic()
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(100)
            if not d:
                raise SystemExit("rtt: connection closed")
            got += d
        out.append((time.monotonic() - t0) * 1000)
    s.close()
    print("%.1f" % statistics.median(out))


def pull(port, n, src=None):
    s = connect(port, src)
    t0 = time.monotonic()
    s.sendall(b"send %d\n" % n)
    got = chunks = 0
    end = "eof"
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += len(d)
            chunks += 1
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "timeout"
    print("bytes=%d end=%s secs=%.3f chunks=%d" % (got, end, time.monotonic() - t0, chunks))


def probe(port, times, url=None, body=None):
    s = connect(port, None)
    if url:
        import urllib.request
        req = urllib.request.Request(url, data=body.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
    t0 = time.monotonic()
    out = []
    for i, at in enumerate(times):
        time.sleep(max(0, t0 + at - time.monotonic()))
        msg = b"probe %d\n" % i
        t1 = time.monotonic()
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(100)
            if not d:
                raise SystemExit("probe: connection closed")
            got += d
        out.append("%.1f" % ((time.monotonic() - t1) * 1000))
    print(" ".join(out))


def hello(port, name):
    import ssl
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    ch = out.read()
    s = connect(port, None)
    t0 = time.monotonic()
    s.sendall(ch)
    got = 0
    while got < len(ch):
        d = s.recv(65536)
        if not d:
            raise SystemExit("hello: connection closed")
        got += len(d)
    print("%.1f" % ((time.monotonic() - t0) * 1000))


def talk(port):
    s = connect(port, None)
    s.settimeout(3)
    t0 = time.monotonic()
    s.sendall(b"hello\n")
    got = 0
    end = "eof"
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "timeout"
    print("bytes=%d end=%s secs=%.3f" % (got, end, time.monotonic() - t0))


def udp(port, n, gap_us=200, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    seen = {}
    got = 0
    changed = 0
    rtts = []
    sent_at = {}

    def drain():
        nonlocal got, changed
        while True:
            try:
                d = s.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                return
            got += 1
            k = int(d.split(b" ")[0])
            if d != b"%d %s" % (k, b"u" * 64):
                changed += 1
            if k not in seen:
                seen[k] = 1
                rtts.append((time.monotonic() - sent_at[k]) * 1000)

    for i in range(n):
        sent_at[i] = time.monotonic()
        s.send(b"%d %s" % (i, b"u" * 64))
        drain()
        time.sleep(gap_us / 1e6)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        drain()
        time.sleep(0.005)
    print("sent=%d got=%d uniq=%d rtt_ms=%.1f changed=%d" % (n, got, len(seen), statistics.median(rtts) if rtts else -1, changed))


def main():
    a = sys.argv[1:]
    if a[0] == "serve":
        serve(a[1], float(a[2]))
    elif a[0] == "rtt":
        rtt(int(a[1]), a[2] if len(a) > 2 else None)
    elif a[0] == "pull":
        pull(int(a[1]), int(a[2]), a[3] if len(a) > 3 else None)
    elif a[0] == "probe-after":
        probe(int(a[3]), [float(x) for x in a[4:]], a[1], a[2])
    elif a[0] == "probe":
        probe(int(a[1]), [float(x) for x in a[2:]])
    elif a[0] == "hello":
        hello(int(a[1]), a[2])
    elif a[0] == "talk":
        talk(int(a[1]))
    elif a[0] == "udp":
        udp(int(a[1]), int(a[2]), int(a[3]) if len(a) > 3 else 200, a[4] if len(a) > 4 else None)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
