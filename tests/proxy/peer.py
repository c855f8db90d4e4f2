#!/usr/bin/env python3
"""peer.py - loopback peers for tests/proxy/proxy.sh (every wait bounded).

  peer.py echo PORTFILE SECONDS          echo server on 127.0.0.1:0 (port written to PORTFILE), stops after SECONDS
  peer.py load PORT N BYTES              N concurrent clients: each sends BYTES random bytes, half-closes,
                                         reads the echo to EOF; prints "ok N" when every SHA-256 matches
  peer.py vanish PORT                    connect, send, read a little, then reset (SO_LINGER 0)
  peer.py push PORTFILE SECONDS MB       server: writes MB MiB to each client as fast as the client takes them
  peer.py stall PORT SECONDS             client: connects and reads nothing for SECONDS, then reads all, prints bytes
"""
import asyncio
import hashlib
import os
import socket
import struct
import sys
import time


async def echo_server(portfile, seconds):
    async def handle(r, w):
        try:
            while True:
                d = await r.read(65536)
                if not d:
                    break
                w.write(d)
                await w.drain()
            w.write_eof()
            await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    await asyncio.sleep(seconds)
    srv.close()


async def one_client(port, nbytes, i):
    data = os.urandom(nbytes)
    r, w = await asyncio.open_connection("127.0.0.1", port)

    async def send():
        for k in range(0, len(data), 16384):
            w.write(data[k:k + 16384])
            await w.drain()
        w.write_eof()

    t = asyncio.ensure_future(send())
    h = hashlib.sha256()
    got = 0
    while True:
        d = await r.read(65536)
        if not d:
            break
        h.update(d)
        got += len(d)
    await t
    w.close()
    if h.digest() != hashlib.sha256(data).digest():
        return "connection %d: %d of %d bytes, SHA-256 differs" % (i, got, nbytes)
    return None


async def load(port, n, nbytes):
    res = await asyncio.wait_for(asyncio.gather(*(one_client(port, nbytes, i) for i in range(n)),
                                                return_exceptions=True), 60)
    bad = [r for r in res if r is not None]
    for b in bad[:5]:
        print("FAIL:", b)
    if not bad:
        print("ok", n)
    return 1 if bad else 0


def vanish(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(os.urandom(300000))
    s.recv(1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("vanished")


async def push_server(portfile, seconds, mb):
    blob = os.urandom(1 << 20)

    async def handle(r, w):
        try:
            for _ in range(mb):
                w.write(blob)
                await w.drain()
            w.write_eof()
            await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    await asyncio.sleep(seconds)
    srv.close()


def stall(port, seconds):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    time.sleep(seconds)
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        n += len(d)
    print(n)


def smtp_server(portfile, seconds, cert, key):
    """An SMTP server with STARTTLS (RFC 3207): greeting, EHLO, STARTTLS, TLS, then EHLO and QUIT
    answered inside TLS ("250 secure hello ..."), one client after the other, for SECONDS."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    end = time.time() + seconds

    def line(s):
        b = b""
        while not b.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                raise EOFError
            b += c
        return b

    while time.time() < end:
        srv.settimeout(max(0.1, end - time.time()))
        try:
            c, _ = srv.accept()
        except socket.timeout:
            break
        c.settimeout(10)
        try:
            c.sendall(b"220 umpa.test ESMTP\r\n")
            line(c)
            c.sendall(b"250-umpa.test\r\n250 STARTTLS\r\n")
            if line(c).strip().upper() != b"STARTTLS":
                c.sendall(b"502 no\r\n")
                continue
            c.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            t = ctx.wrap_socket(c, server_side=True)
            while True:
                cmd = line(t).strip()
                if cmd.upper().startswith(b"QUIT"):
                    t.sendall(b"221 bye\r\n")
                    break
                t.sendall(b"250 secure hello " + cmd + b"\r\n")
            t.close()
        except (EOFError, OSError, ssl.SSLError):
            pass
        finally:
            c.close()


def main():
    a = sys.argv[1:]
    if a[0] == "echo":
        asyncio.run(echo_server(a[1], float(a[2])))
    elif a[0] == "load":
        sys.exit(asyncio.run(load(int(a[1]), int(a[2]), int(a[3]))))
    elif a[0] == "vanish":
        vanish(int(a[1]))
    elif a[0] == "push":
        asyncio.run(push_server(a[1], float(a[2]), int(a[3])))
    elif a[0] == "stall":
        stall(int(a[1]), float(a[2]))
    elif a[0] == "smtp":
        smtp_server(a[1], float(a[2]), a[3], a[4])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
