#!/usr/bin/python3
"""Password guessing hidden behind one's own login (for
auth-guess-then-login.exp).

From source address SRC, for SECS seconds: connect, make GUESSES wrong
password attempts for TARGET, then log in as USER with its password on
the same connection, close, and do it again at once.  A connection
refused before the SSH banner (a penalized source) is retried after
50 ms.  Every step is bounded (5 s).  Last it prints one line:

    guesses N logins N refused N errors N secs S

usage: guess-then-login.py PORT SRC SECS TARGET GUESSES USER PASSWORD
"""
import socket
import sys
import time

import paramiko


def attempt(port, src, target, guesses, user, password, counts):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                    source_address=(src, 0))
    t = paramiko.Transport(sock)
    t.banner_timeout = 5
    t.auth_timeout = 5
    try:
        try:
            t.start_client(timeout=5)
        except (paramiko.SSHException, EOFError, OSError):
            counts["refused"] += 1
            return
        for i in range(guesses):
            try:
                t.auth_password(target, "wrong-guess-%d" % i)
            except paramiko.AuthenticationException:
                counts["guesses"] += 1
        t.auth_password(user, password)
        if t.is_authenticated():
            counts["logins"] += 1
    finally:
        t.close()
        sock.close()


def main():
    port, src, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    target, guesses = sys.argv[4], int(sys.argv[5])
    user, password = sys.argv[6], sys.argv[7]
    counts = {"guesses": 0, "logins": 0, "refused": 0, "errors": 0}
    start = time.monotonic()
    while time.monotonic() - start < secs:
        try:
            attempt(port, src, target, guesses, user, password, counts)
        except (paramiko.SSHException, EOFError, OSError):
            counts["errors"] += 1
            time.sleep(0.05)
        if counts["refused"] + counts["errors"] > 0:
            time.sleep(0.05)
    print("guesses %d logins %d refused %d errors %d secs %.1f" % (
        counts["guesses"], counts["logins"], counts["refused"],
        counts["errors"], time.monotonic() - start), flush=True)


if __name__ == "__main__":
    main()
