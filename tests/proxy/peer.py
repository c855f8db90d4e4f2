#!/usr/bin/env python3
"""peer.py - loopback peers for tests/proxy/*.sh (every wait bounded).

  peer.py echo PORTFILE SECONDS          echo server on 127.0.0.1:0 (port written to PORTFILE), stops after SECONDS
  peer.py load PORT N BYTES              N concurrent clients: each sends BYTES random bytes, half-closes,
                                         reads the echo to EOF; prints "ok N" when every SHA-256 matches
  peer.py vanish PORT                    connect, send, read a little, then reset (SO_LINGER 0)
  peer.py push PORTFILE SECONDS MB       server: writes MB MiB to each client as fast as the client takes them
  peer.py stall PORT SECONDS             client: connects and reads nothing for SECONDS, then reads all, prints bytes
  peer.py smtp|imap|pop3|ftp PORTFILE SECONDS CERT KEY
                                         a server with STARTTLS: its protocol's plaintext greeting and upgrade,
                                         as `openssl s_client -starttls PROTO` expects it, then every line inside
                                         TLS answered "<prefix> secure <line>" until QUIT/LOGOUT ("<prefix> bye"),
                                         one client after the other, for SECONDS:
  SMTP (RFC 3207): "220" greeting; EHLO -> "250-umpa.test" "250 STARTTLS"; "STARTTLS" -> "220 2.0.0 Ready to
        start TLS" (anything else: "502 no", hung up); inside TLS "250 secure hello CMD", QUIT -> "221 bye".
  IMAP (RFC 3501 / 9051): "* OK" greeting; "TAG CAPABILITY" -> "* CAPABILITY IMAP4rev1 STARTTLS" + "TAG OK";
        "TAG STARTTLS" -> "TAG OK Begin TLS negotiation now"; inside TLS "TAG CMD" -> "TAG OK secure CMD".
  POP3 (RFC 2595): "+OK" greeting; "CAPA" -> "+OK" + "STLS" + "."; "STLS" -> "+OK Begin TLS"; inside TLS
        "+OK secure CMD".
  FTP (RFC 4217): "220" greeting; "FEAT" -> "211-Features" " AUTH TLS" "211 End"; "AUTH TLS" -> "234 AUTH TLS
        OK"; inside TLS "200 secure CMD".
"""
import asyncio
import hashlib
import os
import socket
import ssl
import struct
import sys
import time


def publish(portfile, port):
    """Write the port a server listens on to PORTFILE, whole at once (the test polls for the file)."""
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(portfile + ".tmp", portfile)


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
    publish(portfile, srv.sockets[0].getsockname()[1])
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
    publish(portfile, srv.sockets[0].getsockname()[1])
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


# ---- servers with STARTTLS (openssl s_server speaks none of them): one dialog a protocol ----

def line(s):
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise EOFError
        b += c
    return b


def imap(c):
    c.sendall(b"* OK umpa.test IMAP4rev1 ready\r\n")
    while True:
        tag, _, cmd = line(c).strip().partition(b" ")
        if cmd.upper() == b"CAPABILITY":
            c.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" + tag + b" OK CAPABILITY done\r\n")
        elif cmd.upper() == b"STARTTLS":
            c.sendall(tag + b" OK Begin TLS negotiation now\r\n")
            return lambda l: (l.partition(b" ")[0] + b" " + (b"OK bye" if b"LOGOUT" in l.upper() else b"OK secure "
                                                                 + l.partition(b" ")[2]), b"LOGOUT" in l.upper())
        else:
            c.sendall(tag + b" BAD first STARTTLS\r\n")


def untagged(greeting, capa, caps, upgrade, ready, refuse, ok, bye):
    """The dialog of a protocol without tags (POP3, FTP): GREETING; CAPA -> CAPS; a command of UPGRADE ->
    READY, then inside TLS QUIT -> BYE and any other line -> OK + " secure " + the line; else REFUSE."""

    def dialog(c):
        c.sendall(greeting)
        while True:
            cmd = line(c).strip().upper()
            if cmd == capa:
                c.sendall(caps)
            elif cmd in upgrade:
                c.sendall(ready)
                return lambda l: ((bye if l.upper() == b"QUIT" else ok + b" secure " + l), l.upper() == b"QUIT")
            else:
                c.sendall(refuse)

    return dialog


pop3 = untagged(b"+OK umpa.test POP3 ready\r\n", b"CAPA", b"+OK Capability list follows\r\nUSER\r\nSTLS\r\n.\r\n",
                (b"STLS",), b"+OK Begin TLS negotiation\r\n", b"-ERR first STLS\r\n", b"+OK", b"+OK bye")
ftp = untagged(b"220 umpa.test FTP ready\r\n", b"FEAT", b"211-Features:\r\n AUTH TLS\r\n211 End\r\n",
               (b"AUTH TLS", b"AUTH SSL"), b"234 AUTH TLS OK\r\n", b"530 first AUTH TLS\r\n", b"200", b"221 bye")


def smtp(c):
    c.sendall(b"220 umpa.test ESMTP\r\n")
    line(c)
    c.sendall(b"250-umpa.test\r\n250 STARTTLS\r\n")
    if line(c).strip().upper() != b"STARTTLS":
        c.sendall(b"502 no\r\n")
        return None
    c.sendall(b"220 2.0.0 Ready to start TLS\r\n")
    return lambda l: ((b"221 bye" if l.upper().startswith(b"QUIT") else b"250 secure hello " + l),
                      l.upper().startswith(b"QUIT"))


def starttls_server(proto, portfile, seconds, cert, key):
    """PROTO's plaintext greeting and upgrade (a dialog above: it returns how to answer a line inside
    TLS, or None to hang up), then TLS, one client after the other, for SECONDS."""
    plain = {"smtp": smtp, "imap": imap, "pop3": pop3, "ftp": ftp}[proto]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    publish(portfile, srv.getsockname()[1])
    end = time.time() + seconds
    while time.time() < end:
        srv.settimeout(max(0.1, end - time.time()))
        try:
            c, _ = srv.accept()
        except socket.timeout:
            break
        c.settimeout(10)
        try:
            answer = plain(c)
            if answer is None:
                continue
            t = ctx.wrap_socket(c, server_side=True)
            while True:
                text, last = answer(line(t).strip())
                t.sendall(text + b"\r\n")
                if last:
                    break
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
    elif a[0] in ("smtp", "imap", "pop3", "ftp"):
        starttls_server(a[0], a[1], float(a[2]), a[3], a[4])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
