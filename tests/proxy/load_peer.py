#!/usr/bin/env python3
"""load_peer.py - the peers of tests/proxy/proxy_load.sh (loopback; every wait bounded).

Both sides draw their bytes from one pool of pseudo-random bytes made from a fixed seed:
connection ID's upload is the pool slice of (ID, 0), its download the slice of (ID, 1).

  load_peer.py serve PORTFILE SECONDS
      upstream on 127.0.0.1:0 (its port written to PORTFILE), stops after SECONDS: reads a 16-byte
      request header (magic, ID, UP, DOWN), hashes the bytes that follow up to the client's end of
      stream, answers their SHA-256 (32 bytes), then the DOWN bytes of the slice (ID, 1), and closes.
  load_peer.py load PORT N UP DOWN VANISH BOOM SECONDS
      N + VANISH + BOOM concurrent clients of PORT, all connected before any sends:
      - N send their UP bytes (the slice (ID, 0)) and half-close; the server's SHA-256 of what it got
        must equal the SHA-256 of what was sent, and the DOWN bytes that follow the slice (ID, 1);
      - VANISH send half their bytes, then reset the connection (SO_LINGER 0);
      - BOOM send the marker a test module fails on; their connection must end without an answer.
      Prints "ok N" (every byte of every normal connection arrived both ways), "vanished V",
      "closed B", "bytes TOTAL" (bytes that crossed the proxy and were checked), "seconds S" and up
      to 5 "FAIL: ..." lines.  Exit status 1 when anything differs.
  load_peer.py refused PORT K
      K clients of PORT (a proxy whose upstream refuses): each must see its connection end
      without a byte; prints "refused K" when all did.
"""
import asyncio
import hashlib
import os
import random
import socket
import struct
import sys
import time

POOL = random.Random(20261207).randbytes(8 << 20)
POOLV = memoryview(POOL)
MAGIC = 0x756D7061  # "umpa"
MARK = b"umpa-load-module-failure-marker-7f3a9c"
CHUNK = 262144


def piece(cid, d, n):
    """The n bytes of connection cid, direction d (0 up, 1 down)."""
    off = ((cid * 2 + d) * 1048573) % (len(POOL) - n)
    return POOLV[off:off + n]


async def serve(portfile, seconds):
    async def handle(r, w):
        try:
            magic, cid, up, down = struct.unpack("!IIII", await r.readexactly(16))
            if magic != MAGIC:
                return
            h = hashlib.sha256()
            while True:
                d = await r.read(CHUNK)
                if not d:
                    break
                h.update(d)
            w.write(h.digest())
            mv = piece(cid, 1, down)
            for k in range(0, down, CHUNK):
                w.write(mv[k:k + CHUNK])
                await w.drain()
            w.write_eof()
            await w.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    await asyncio.sleep(seconds)
    srv.close()


CONNECTED = [0]


async def connect(port, start):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=CHUNK)
    CONNECTED[0] += 1
    await start.wait()  # every client is connected before any sends: all of them are open at once
    return r, w


async def normal(port, cid, up, down, start):
    r, w = await connect(port, start)
    try:
        mv = piece(cid, 0, up)
        w.write(struct.pack("!IIII", MAGIC, cid, up, down))
        for k in range(0, up, CHUNK):
            w.write(mv[k:k + CHUNK])
            await w.drain()
        w.write_eof()
        digest = await r.readexactly(32)
        h = hashlib.sha256()
        got = 0
        while True:
            d = await r.read(CHUNK)
            if not d:
                break
            h.update(d)
            got += len(d)
        if digest != hashlib.sha256(mv).digest():
            return "connection %d: the server's SHA-256 of the %d bytes up differs" % (cid, up)
        if got != down or h.digest() != hashlib.sha256(piece(cid, 1, down)).digest():
            return "connection %d: %d of %d bytes down, SHA-256 %s" % (
                cid, got, down, "equal" if h.digest() == hashlib.sha256(piece(cid, 1, down)).digest() else "differs")
        return None
    except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
        return "connection %d: %s" % (cid, e)
    finally:
        w.close()


async def vanish(port, cid, up, start):
    r, w = await connect(port, start)
    try:
        mv = piece(cid, 0, up)
        w.write(struct.pack("!IIII", MAGIC, cid, up, 0))
        w.write(mv[:up // 2])
        await w.drain()
        await asyncio.sleep(0.05)
    except (ConnectionError, OSError):
        pass
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()
    return "vanished"


async def boom(port, cid, up, start):
    r, w = await connect(port, start)
    try:
        w.write(struct.pack("!IIII", MAGIC, cid, up, 0) + MARK)
        await w.drain()
        d = await asyncio.wait_for(r.read(64), 30)
        return "closed" if d == b"" else "connection %d (module failure): got %r" % (cid, d[:40])
    except (ConnectionError, OSError):
        return "closed"
    except asyncio.TimeoutError:
        return "connection %d (module failure): still open after 30 s" % cid
    finally:
        w.close()


async def load(port, n, up, down, nv, nb, seconds):
    start = asyncio.Event()
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(normal(port, i, up, down, start)) for i in range(n)]
    tasks += [asyncio.ensure_future(vanish(port, n + i, up, start)) for i in range(nv)]
    tasks += [asyncio.ensure_future(boom(port, n + nv + i, up, start)) for i in range(nb)]
    # all connected (each waits for start after its connect; a failed connect ends its task), then go
    for _ in range(int(seconds * 10)):
        if CONNECTED[0] >= len(tasks) or any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.1)
    start.set()
    try:
        res = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), seconds)
    except asyncio.TimeoutError:
        print("FAIL: not done within %s s" % seconds)
        return 1
    dt = time.monotonic() - t0
    bad = [r for r in res[:n] if r is not None]
    bad += [r for r in res[n:n + nv] if r != "vanished"]
    bad += [r for r in res[n + nv:] if r != "closed"]
    for b in bad[:5]:
        print("FAIL:", b)
    if not bad:
        print("ok", n)
        print("vanished", nv)
        print("closed", nb)
    print("bytes", n * (up + down + 16 + 32))
    print("seconds %.2f" % dt)
    return 1 if bad else 0


def refused(port, k):
    n = 0
    for _ in range(k):
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        try:
            s.sendall(b"hello")
            if s.recv(100) == b"":
                n += 1
        except OSError:
            n += 1
        s.close()
    print("refused", n)
    return 0 if n == k else 1


def main():
    a = sys.argv[1:]
    if a[:1] == ["serve"] and len(a) == 3:
        asyncio.run(serve(a[1], float(a[2])))
        return 0
    if a[:1] == ["load"] and len(a) == 8:
        return asyncio.run(load(int(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]), int(a[6]), float(a[7])))
    if a[:1] == ["refused"] and len(a) == 3:
        return refused(int(a[1]), int(a[2]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
