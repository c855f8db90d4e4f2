#!/usr/bin/env python3
"""frame_client.py - a client for tests/proxy/proxy_more.sh that splits what it sends: every byte in a
segment of its own (TCP_NODELAY, a short pause between bytes), then a half-close; it reads the answer to the
end and writes it to OUTFILE.

  frame_client.py PORT INFILE OUTFILE [PAUSE-SECONDS]     (default pause 0.002; 20 s at most)
"""
import socket
import sys
import time


def main():
    port, infile, outfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.002
    data = open(infile, "rb").read()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(pause)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    open(outfile, "wb").write(got)


if __name__ == "__main__":
    main()
