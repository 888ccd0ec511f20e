#!/usr/bin/python3
"""A client that ignores the SSH channel window (for limit-window-flood.exp).

Logs in with paramiko, opens a shell on a pty, waits for the prompt,
prints "ready" and waits for a line on stdin.  Then it sends
SSH_MSG_CHANNEL_DATA packets of 32 KiB straight to the transport,
never looking at the window the server granted, until the server
closes the connection, MAX_MIB are sent, or SECS seconds pass; while it
sends, it samples the daemon's VmRSS.  Last it prints one line:

    sent BYTES closed yes|no peak_rss_kb KB base_rss_kb KB

usage: window-flood.py PORT USER PASSWORD DAEMON_PID MAX_MIB SECS
"""
import socket
import sys
import time

import paramiko
from paramiko.common import cMSG_CHANNEL_DATA
from paramiko.message import Message


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def main():
    port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    pid, max_mib, secs = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    t.auth_password(user, password)
    chan = t.open_session(timeout=10)
    chan.get_pty(term="xterm", width=80, height=24)
    chan.invoke_shell()
    chan.settimeout(10)
    seen = b""
    deadline = time.monotonic() + 10
    while b"> " not in seen and time.monotonic() < deadline:
        seen += chan.recv(4096)
    if b"> " not in seen:
        print("no prompt: %r" % seen[-200:], flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.readline()

    chunk = b"a" * 32768
    sent, closed = 0, False
    base = peak = rss_kb(pid)
    end = time.monotonic() + secs
    while sent < max_mib * 1024 * 1024 and time.monotonic() < end:
        if not t.is_active():
            closed = True
            break
        m = Message()
        m.add_byte(cMSG_CHANNEL_DATA)
        m.add_int(chan.remote_chanid)
        m.add_string(chunk)
        try:
            t._send_message(m)
        except (OSError, EOFError, paramiko.SSHException):
            closed = True
            break
        sent += len(chunk)
        if sent % (1024 * 1024) == 0:
            peak = max(peak, rss_kb(pid))
    if not closed:
        # Sent everything: give the server a moment to close on us.
        stop = time.monotonic() + 3
        while t.is_active() and time.monotonic() < stop:
            peak = max(peak, rss_kb(pid))
            time.sleep(0.05)
        closed = not t.is_active()
    peak = max(peak, rss_kb(pid))
    print("sent %d closed %s peak_rss_kb %d base_rss_kb %d" %
          (sent, "yes" if closed else "no", peak, base), flush=True)
    t.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
