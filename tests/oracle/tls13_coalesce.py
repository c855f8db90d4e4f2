#!/usr/bin/env python3
"""tls13_coalesce.py CERT.der OUT.pcap OUT.keylog

Write a TLS 1.3 conversation whose encrypted handshake records are framed as no
OpenSSL or GnuTLS peer frames them (both send one message per record), but as
BoringSSL and others may: the server's EncryptedExtensions, Certificate (CERT.der),
CertificateVerify and Finished are one byte stream cut into records at chosen
places -- a record that ends one message and starts the next (coalesced), a
5-byte record inside the Certificate, a record that ends two bytes into a
message header (the header split across records) -- then HTTP/1.1 both ways.
Records are really encrypted (AES-128-GCM, keys from HKDF-Expand-Label of
secrets written to OUT.keylog), so tshark decrypts the capture as umpa must.
The handshake is not a real one (no key exchange, CertificateVerify and
Finished are random bytes): decoders do not check them.  Needs scapy and
cryptography (python3-scapy, python3-cryptography).
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.all import IP, TCP, Ether, wrpcap  # noqa: E402


def expand_label(secret, label, length):
    """HKDF-Expand-Label(secret, label, "", length) with SHA-256 (RFC 8446 7.1); length <= 32."""
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


class Dir:
    """One direction's record protection: AES-128-GCM under a traffic secret."""

    def __init__(self, secret):
        self.aead = AESGCM(expand_label(secret, b"key", 16))
        self.iv = expand_label(secret, b"iv", 12)
        self.seq = 0

    def record(self, inner_type, content):
        plain = content + bytes([inner_type])
        hdr = struct.pack(">BHH", 23, 0x0303, len(plain) + 16)
        nonce = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
        self.seq += 1
        return hdr + self.aead.encrypt(nonce, plain, hdr)


def plain(ct, body):
    return struct.pack(">BHH", ct, 0x0303, len(body)) + body


def hs(t, body):
    return bytes([t]) + len(body).to_bytes(3, "big") + body


def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body


def main():
    cert, out_pcap, out_log = sys.argv[1:4]
    der = open(cert, "rb").read()
    crandom, srandom, sid = bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96))
    sec = {k: hashlib.sha256(k.encode()).digest() for k in ("chts", "shts", "cats", "sats")}

    ch = hs(1, b"\x03\x03" + crandom + bytes([32]) + sid + b"\x00\x02\x13\x01" + b"\x01\x00" + (lambda e: struct.pack(">H", len(e)) + e)(
        ext(43, b"\x02\x03\x04") + ext(10, b"\x00\x02\x00\x1d") + ext(13, b"\x00\x02\x08\x04")
        + ext(51, b"\x00\x24\x00\x1d\x00\x20" + bytes(32))))
    sh = hs(2, b"\x03\x03" + srandom + bytes([32]) + sid + b"\x13\x01\x00" + (lambda e: struct.pack(">H", len(e)) + e)(
        ext(43, b"\x03\x04") + ext(51, b"\x00\x1d\x00\x20" + bytes(range(1, 33)))))
    ee = hs(8, b"\x00\x00")
    certmsg = hs(11, b"\x00" + (lambda l: len(l).to_bytes(3, "big") + l)(len(der).to_bytes(3, "big") + der + b"\x00\x00"))
    cv = hs(15, b"\x08\x04\x01\x00" + os.urandom(256))
    fin = hs(20, os.urandom(32))
    flight = ee + certmsg + cv + fin
    # cut points: EE whole + 100 bytes of the Certificate; 5 bytes; up to 2 bytes into the CertificateVerify
    # header; the rest of the CertificateVerify and the Finished (two messages end in one record)
    a = len(ee) + 100
    b = a + 5
    c = len(ee) + len(certmsg) + 2
    pieces = [flight[:a], flight[a:b], flight[b:c], flight[c:]]

    s_hs, c_hs, s_app, c_app = Dir(sec["shts"]), Dir(sec["chts"]), Dir(sec["sats"]), Dir(sec["cats"])
    server1 = plain(22, sh) + plain(20, b"\x01") + b"".join(s_hs.record(22, p) for p in pieces)
    client2 = plain(20, b"\x01") + c_hs.record(22, hs(20, os.urandom(32)))
    req = b"GET /coalesced HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: umpa-test\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nServer: umpa\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    client3 = c_app.record(23, req)
    server3 = s_app.record(23, resp)

    cli, srv, cport, sport = "10.0.0.1", "10.0.0.2", 40000, 443
    cseq, sseq, t = 1000, 5000, 1700000000.0
    pkts = []

    def seg(frm_client, flags, data=b""):
        nonlocal cseq, sseq, t
        t += 0.001
        if frm_client:
            p = Ether() / IP(src=cli, dst=srv) / TCP(sport=cport, dport=sport, flags=flags, seq=cseq, ack=sseq) / data
            cseq += len(data) + (1 if "S" in flags or "F" in flags else 0)
        else:
            p = Ether() / IP(src=srv, dst=cli) / TCP(sport=sport, dport=cport, flags=flags, seq=sseq, ack=cseq) / data
            sseq += len(data) + (1 if "S" in flags or "F" in flags else 0)
        p.time = t
        pkts.append(p)

    seg(True, "S")
    seg(False, "SA")
    seg(True, "A")
    seg(True, "PA", plain(22, ch))
    for i in range(0, len(server1), 1200):  # records across segments too
        seg(False, "PA", server1[i : i + 1200])
    seg(True, "PA", client2)
    seg(True, "PA", client3)
    seg(False, "PA", server3)
    seg(True, "FA")
    seg(False, "FA")
    seg(True, "A")
    wrpcap(out_pcap, pkts)
    with open(out_log, "w") as f:
        for label, k in (("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "chts"), ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "shts"),
                         ("CLIENT_TRAFFIC_SECRET_0", "cats"), ("SERVER_TRAFFIC_SECRET_0", "sats")):
            f.write("%s %s %s\n" % (label, crandom.hex(), sec[k].hex()))


if __name__ == "__main__":
    main()
