#!/usr/bin/python3
"""Python side of the TLS benchmark: the job umpa tls does, with Python's ssl
module and MemoryBIO.

Usage: tls_py.py N VERSION KEYTYPE OUT.pcap [SIZE]
  VERSION 1.2 or 1.3; KEYTYPE rsa:2048 or ec:P-256 (certificate generated with
  `openssl req` in a temporary folder before the clock starts).

Each conversation: a client and a server SSLObject joined by MemoryBIOs, the
full handshake (do_handshake loop moving each flight across), SIZE bytes
(default 1024) from the client, SIZE bytes back, close_notify both ways.  The
bytes become packets of a pcap the simplest honest way: Ethernet/IPv4/TCP
headers packed with struct around each flight cut at a 1460-byte MSS, with
real sequence and acknowledgement numbers, a SYN/SYN-ACK/ACK before and
FIN/FIN-ACK/ACK after (checksums left zero).  Contexts (certificate and key
loading) are made once, as a server would; the client verifies the server's
certificate (trusting it as its own CA), as umpa does; the clock covers the N
conversations and the file.  Prints conversations per second of wall time,
then per second of this process's CPU time (steadier on a shared machine).
"""
import os
import ssl
import struct
import subprocess
import sys
import tempfile
import time

MSS = 1460


def make_cert(tmp, keytype):
    key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    if keytype.startswith("rsa:"):
        newkey = ["-newkey", keytype]
    elif keytype.startswith("ec:"):
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:" + keytype[3:]]
    else:
        sys.exit(f"tls_py.py: unknown key type {keytype!r}")
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=bench.test",
                    "-keyout", key, "-out", crt] + newkey, check=True, capture_output=True)
    return crt, key


class Pcap:
    """Raw pcap records around TCP payloads, Ethernet/IPv4/TCP built with struct."""

    def __init__(self, f):
        self.f = f
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1700000000.0
        self.ipid = 0

    def seg(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        self.ipid = (self.ipid + 1) & 0xFFFF
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                          65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self.ipid, 0x4000, 64, 6, 0,
                         src, dst)
        eth = (b"\x02\x00\x00\x00\x00\x02" if dst[3] == 2 else b"\x02\x00\x00\x00\x00\x01") + \
              (b"\x02\x00\x00\x00\x00\x01" if src[3] == 1 else b"\x02\x00\x00\x00\x00\x02") + b"\x08\x00"
        frame = eth + ip + tcp + payload
        self.t += 0.0001
        sec = int(self.t)
        self.f.write(struct.pack("<IIII", sec, int((self.t - sec) * 1e6), len(frame), len(frame)))
        self.f.write(frame)


CLI, SRV = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"
ACK, PSH, SYN, FIN = 0x10, 0x08, 0x02, 0x01


class Conv:
    """TCP state of one conversation in the capture."""

    def __init__(self, pcap, port):
        self.p = pcap
        self.port = port
        self.seq = [1000, 5000]  # [client, server]
        pcap.seg(CLI, SRV, port, 443, self.seq[0], 0, SYN)
        pcap.seg(SRV, CLI, 443, port, self.seq[1], self.seq[0] + 1, SYN | ACK)
        self.seq = [self.seq[0] + 1, self.seq[1] + 1]
        pcap.seg(CLI, SRV, port, 443, self.seq[0], self.seq[1], ACK)

    def send(self, side, data):
        src, dst = (CLI, SRV) if side == 0 else (SRV, CLI)
        sp, dp = (self.port, 443) if side == 0 else (443, self.port)
        for i in range(0, len(data), MSS):
            chunk = data[i:i + MSS]
            last = i + MSS >= len(data)
            self.p.seg(src, dst, sp, dp, self.seq[side], self.seq[1 - side], ACK | (PSH if last else 0), chunk)
            self.seq[side] += len(chunk)
        self.p.seg(dst, src, dp, sp, self.seq[1 - side], self.seq[side], ACK)

    def close(self):
        self.p.seg(CLI, SRV, self.port, 443, self.seq[0], self.seq[1], FIN | ACK)
        self.seq[0] += 1
        self.p.seg(SRV, CLI, 443, self.port, self.seq[1], self.seq[0], FIN | ACK)
        self.seq[1] += 1
        self.p.seg(CLI, SRV, self.port, 443, self.seq[0], self.seq[1], ACK)


def pump(objs, bios, conv):
    """Move whatever each side wrote to the other; True if anything moved."""
    moved = False
    for side in (0, 1):
        data = bios[side][1].read()
        if data:
            conv.send(side, data)
            bios[1 - side][0].write(data)
            moved = True
    return moved


def step(obj, fn):
    try:
        fn()
        return True
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False


def conversation(cctx, sctx, pcap, port, size):
    bios = [(ssl.MemoryBIO(), ssl.MemoryBIO()), (ssl.MemoryBIO(), ssl.MemoryBIO())]  # (in, out) per side
    cli = cctx.wrap_bio(bios[0][0], bios[0][1], server_side=False, server_hostname="bench.test")
    srv = sctx.wrap_bio(bios[1][0], bios[1][1], server_side=True)
    conv = Conv(pcap, port)
    objs = (cli, srv)
    done = [False, False]
    for _ in range(100):
        for side in (0, 1):
            if not done[side]:
                done[side] = step(objs[side], objs[side].do_handshake)
        moved = pump(objs, bios, conv)
        if all(done) and not moved:
            break
    else:
        raise RuntimeError("handshake did not finish")
    msg = b"C" * size
    cli.write(msg)
    pump(objs, bios, conv)
    got = b""
    while len(got) < size:
        got += srv.read(size - len(got))
    srv.write(b"S" * size)
    pump(objs, bios, conv)
    got = b""
    while len(got) < size:
        got += cli.read(size - len(got))
    # close_notify both ways
    step(cli, cli.unwrap)
    pump(objs, bios, conv)
    step(srv, srv.unwrap)
    pump(objs, bios, conv)
    conv.close()


def main():
    n, version, keytype, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 1024
    ver = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
    with tempfile.TemporaryDirectory() as tmp:
        crt, key = make_cert(tmp, keytype)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(crt, key)
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False  # the certificate has no SAN; the chain is verified
        cctx.load_verify_locations(crt)
        cctx.verify_mode = ssl.CERT_REQUIRED
        for c in (sctx, cctx):
            c.minimum_version = c.maximum_version = ver
        t0, c0 = time.perf_counter(), time.process_time()
        with open(out, "wb") as f:
            pcap = Pcap(f)
            for i in range(n):
                conversation(cctx, sctx, pcap, 32768 + i % 28000, size)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"{n / dt:.1f} {n / dc:.1f}")


if __name__ == "__main__":
    main()
