#!/usr/bin/env python3
"""mitm_data.py - the TLS peers of tests/proxy/mitm_data.sh (every wait bounded).

  mitm_data.py server CERT KEY PORTFILE SECONDS   TLS echo server on 127.0.0.1:0 (port written to PORTFILE):
                                                  echoes each connection's bytes, closes at its end; stops
                                                  after SECONDS
  mitm_data.py client PORT CAFILE HOST N MB PAUSE N concurrent TLS clients through PORT, verifying the proxy's
                                                  leaf for HOST with CAFILE: each sends MB MiB of random bytes
                                                  while it reads the echo, stops reading for PAUSE seconds once
                                                  a quarter came back (the proxy's writes to it meet a full
                                                  socket), reads all MB MiB back, closes; prints "ok N BYTES"
                                                  when every SHA-256 of the echo matches what was sent
"""
import asyncio
import hashlib
import os
import ssl
import sys


async def server(cert, key, portfile, seconds):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    async def handle(r, w):
        try:
            while True:
                d = await r.read(1 << 16)
                if not d:
                    break
                w.write(d)
                await w.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    await asyncio.sleep(seconds)
    srv.close()


async def one_client(port, cafile, host, nbytes, pause):
    ctx = ssl.create_default_context(cafile=cafile)
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=host)
    sent = hashlib.sha256()

    async def send():
        left = nbytes
        while left:
            d = os.urandom(min(left, 1 << 16))
            sent.update(d)
            w.write(d)
            await w.drain()
            left -= len(d)

    got = hashlib.sha256()
    n = 0
    paused = False
    task = asyncio.ensure_future(send())
    while n < nbytes:
        d = await r.read(1 << 16)
        if not d:
            break
        got.update(d)
        n += len(d)
        if not paused and n >= nbytes // 4:
            paused = True
            await asyncio.sleep(pause)
    await task
    w.close()
    await w.wait_closed()
    return n == nbytes and got.digest() == sent.digest(), n


async def client(port, cafile, host, n, mb, pause):
    res = await asyncio.wait_for(
        asyncio.gather(*(one_client(port, cafile, host, mb << 20, pause) for _ in range(n))), 120
    )
    good = [x for x in res if x[0]]
    if len(good) == n:
        print("ok %d %d" % (n, sum(x[1] for x in res)))
    else:
        print("bad: %d of %d echoes match; bytes %s" % (len(good), n, [x[1] for x in res]))


def main():
    a = sys.argv[1:]
    if a and a[0] == "server" and len(a) == 5:
        asyncio.run(server(a[1], a[2], a[3], float(a[4])))
    elif a and a[0] == "client" and len(a) == 7:
        asyncio.run(client(int(a[1]), a[2], a[3], int(a[4]), int(a[5]), float(a[6])))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
