#!/usr/bin/python3
"""Half-open connections that hold pre-authentication slots (for
limit-half-open.exp).

Keeps PER connections open from each of NSRC source addresses
127.0.0.FIRST, 127.0.0.FIRST+1, ...: a third say nothing, a third send
8 bytes of an identification line and stall, a third send a whole
identification line and stall before the key exchange.  A connection
the server closes is opened again 50 ms later.  It prints "held N" the
first time all N connections got the server's identification line
(they are opened 5 ms apart, so as not to overflow the listen backlog),
then keeps them up until SECS seconds have passed or stdin is closed,
and prints one last line:

    held N most M reopened R closed C

usage: half-open.py PORT FIRST NSRC PER SECS
"""
import os
import select
import socket
import sys
import time

SENDS = [b"", b"SSH-2.0-", b"SSH-2.0-stalled_client\r\n"]


class Conn:
    def __init__(self, src, kind):
        self.src = src
        self.kind = kind
        self.sock = None
        self.held = False
        self.got = b""
        self.retry_at = 0.0


def open_conn(c, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((c.src, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    c.sock, c.held, c.got, c.sent = s, False, b"", False
    c.opened = time.monotonic()


def main():
    port, first, nsrc, per = (int(a) for a in sys.argv[1:5])
    secs = float(sys.argv[5])
    conns = [Conn("127.0.0.%d" % (first + i), (i * per + j) % 3)
             for i in range(nsrc) for j in range(per)]
    total = len(conns)
    most = reopened = closed = 0
    announced = False
    start = time.monotonic()
    for c in conns:
        open_conn(c, port)
        time.sleep(0.005)
    stdin_open = True
    while time.monotonic() - start < secs:
        now = time.monotonic()
        for c in conns:
            if c.sock is None and now >= c.retry_at:
                open_conn(c, port)
                reopened += 1
        socks = {c.sock.fileno(): c for c in conns if c.sock is not None}
        rl = list(socks)
        wl = [fd for fd, c in socks.items() if not c.sent]
        if stdin_open:
            rl.append(0)
        r, w, _ = select.select(rl, wl, [], 0.05)
        if 0 in r:
            if os.read(0, 4096) == b"":
                stdin_open = False
                break
        for fd in w:
            c = socks[fd]
            try:
                if SENDS[c.kind]:
                    c.sock.send(SENDS[c.kind])
                c.sent = True
            except OSError:
                pass
        for fd in r:
            if fd == 0:
                continue
            c = socks[fd]
            try:
                data = c.sock.recv(4096)
            except OSError:
                data = b""
            if data:
                c.got += data
                if not c.held and b"\n" in c.got and \
                        c.got.startswith(b"SSH-"):
                    c.held = True
                continue
            c.sock.close()
            c.sock, c.held = None, False
            c.retry_at = time.monotonic() + 0.05
            closed += 1
        held = sum(1 for c in conns if c.held)
        most = max(most, held)
        if not announced and held == total:
            print("held %d" % held, flush=True)
            announced = True
    held = sum(1 for c in conns if c.held)
    print("held %d most %d reopened %d closed %d" % (held, most, reopened,
                                                     closed), flush=True)


if __name__ == "__main__":
    main()
