#!/usr/bin/env python3
"""starttls_peer.py - IMAP, POP3 and FTP servers with STARTTLS for tests/proxy/starttls.sh (openssl s_server
speaks none of them).  Each does its protocol's plaintext greeting and upgrade, as `openssl s_client -starttls
PROTO` expects it, then answers every line inside TLS with "<prefix> secure <line>" until the client says
LOGOUT/QUIT ("<prefix> bye"), one client after the other, for SECONDS.

  starttls_peer.py imap|pop3|ftp PORTFILE SECONDS CERT KEY

  IMAP (RFC 3501 / 9051): "* OK" greeting; "TAG CAPABILITY" -> "* CAPABILITY IMAP4rev1 STARTTLS" + "TAG OK";
        "TAG STARTTLS" -> "TAG OK Begin TLS negotiation now"; inside TLS "TAG CMD" -> "TAG OK secure CMD".
  POP3 (RFC 2595): "+OK" greeting; "CAPA" -> "+OK" + "STLS" + "."; "STLS" -> "+OK Begin TLS"; inside TLS
        "+OK secure CMD".
  FTP (RFC 4217): "220" greeting; "FEAT" -> "211-Features" " AUTH TLS" "211 End"; "AUTH TLS" -> "234 AUTH TLS
        OK"; inside TLS "200 secure CMD".
"""
import os
import socket
import ssl
import sys
import time


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


def pop3(c):
    c.sendall(b"+OK umpa.test POP3 ready\r\n")
    while True:
        cmd = line(c).strip().upper()
        if cmd == b"CAPA":
            c.sendall(b"+OK Capability list follows\r\nUSER\r\nSTLS\r\n.\r\n")
        elif cmd == b"STLS":
            c.sendall(b"+OK Begin TLS negotiation\r\n")
            return lambda l: ((b"+OK bye" if l.upper() == b"QUIT" else b"+OK secure " + l), l.upper() == b"QUIT")
        else:
            c.sendall(b"-ERR first STLS\r\n")


def ftp(c):
    c.sendall(b"220 umpa.test FTP ready\r\n")
    while True:
        cmd = line(c).strip().upper()
        if cmd == b"FEAT":
            c.sendall(b"211-Features:\r\n AUTH TLS\r\n211 End\r\n")
        elif cmd in (b"AUTH TLS", b"AUTH SSL"):
            c.sendall(b"234 AUTH TLS OK\r\n")
            return lambda l: ((b"221 bye" if l.upper() == b"QUIT" else b"200 secure " + l), l.upper() == b"QUIT")
        else:
            c.sendall(b"530 first AUTH TLS\r\n")


def main():
    proto, portfile, seconds, cert, key = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
    plain = {"imap": imap, "pop3": pop3, "ftp": ftp}[proto]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
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


if __name__ == "__main__":
    main()
