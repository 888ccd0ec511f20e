#!/usr/bin/python3
"""Clients that test the daemon's admission (for limit-admission.exp).

usage:
  admission.py race PORT USER PASSWORD N
      N connections log in, then all ask for a shell at the same moment;
      prints "shells K refused R other O".
  admission.py idle PORT USER PASSWORD N
      N connections log in and open no channel; prints "ready N" once
      all are in, then holds them until a line on stdin (or 60 s) and
      prints "closed".
  admission.py methods PORT USER PASSWORD N
      on one connection, up to N "none" requests, then on another up to
      N publickey requests; prints "none K publickey M": how many each
      connection got answered before the daemon closed it.
  admission.py refusals PORT USER PASSWORD
      on one connection: an sftp subsystem request, a direct-tcpip
      channel, a tcpip-forward global request, an env request, then an
      exec of "who"; prints "subsystem X forward X remote X env X exec
      STATUS" (X: refused or accepted).
  admission.py exec PORT USER PASSWORD COMMAND
      runs COMMAND as an exec request (it may be empty); prints
      "status S secs T stderr TEXT".
"""
import socket
import sys
import threading
import time

import paramiko


def login(port, user, password):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    t.auth_password(user, password)
    return t


def race(port, user, password, n):
    transports = [login(port, user, password) for _ in range(n)]
    barrier = threading.Barrier(n)
    results = [None] * n

    def ask(i):
        t = transports[i]
        barrier.wait(timeout=20)
        try:
            chan = t.open_session(timeout=10)
            chan.set_combine_stderr(True)  # the refusal is on stderr
            chan.get_pty(term="dumb", width=200, height=24)
            chan.invoke_shell()
            chan.settimeout(10)
            seen = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if b"> " in seen:
                    results[i] = "shell"
                    return
                if b"Too many sessions" in seen or b"server is full" in seen:
                    results[i] = "refused"
                    return
                data = chan.recv(4096)
                if not data:
                    break
                seen += data
            results[i] = ("refused" if b"Too many sessions" in seen
                          else "other")
        except Exception:
            results[i] = "other"

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    print("shells %d refused %d other %d" % (results.count("shell"),
          results.count("refused"),
          n - results.count("shell") - results.count("refused")),
          flush=True)
    for t in transports:
        t.close()


def idle(port, user, password, n):
    transports = [login(port, user, password) for _ in range(n)]
    print("ready %d" % len(transports), flush=True)
    ready = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), ready.set()),
                     daemon=True).start()
    ready.wait(60)
    for t in transports:
        t.close()
    print("closed", flush=True)


def run_exec(port, user, password, command):
    t = login(port, user, password)
    chan = t.open_session(timeout=10)
    start = time.monotonic()
    chan.exec_command(command)
    chan.settimeout(15)
    err = b""
    try:
        while True:
            data = chan.recv_stderr(4096)
            if not data:
                break
            err += data
    except socket.timeout:
        pass
    status = chan.recv_exit_status() if chan.exit_status_ready() else -1
    print("status %d secs %.1f stderr %s" % (
        status, time.monotonic() - start,
        err.decode("utf-8", "replace").strip()), flush=True)
    t.close()


def methods(port, user, n):
    counts = []
    for method in ("none", "publickey"):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        t = paramiko.Transport(sock)
        t.start_client(timeout=10)
        key = paramiko.ECDSAKey.generate()
        answered = 0
        for _ in range(n):
            try:
                if method == "none":
                    t.auth_none(user)
                else:
                    t.auth_publickey(user, key)
            except paramiko.BadAuthenticationType:
                answered += 1
                continue
            except paramiko.AuthenticationException:
                answered += 1
                continue
            except Exception:
                break
            if not t.is_active():
                break
        counts.append(answered)
        t.close()
    print("none %d publickey %d" % tuple(counts), flush=True)


def refusals(port, user, password):
    t = login(port, user, password)
    out = []
    chan = t.open_session(timeout=10)
    try:
        chan.invoke_subsystem("sftp")
        out.append("subsystem accepted")
    except paramiko.SSHException:
        out.append("subsystem refused")
    chan.close()
    try:
        c = t.open_channel("direct-tcpip", ("127.0.0.1", 22),
                           ("127.0.0.1", 5555), timeout=10)
        c.close()
        out.append("forward accepted")
    except paramiko.ChannelException:
        out.append("forward refused")
    except paramiko.SSHException:
        out.append("forward refused")
    got = t.global_request("tcpip-forward", ("127.0.0.1", 0), wait=True)
    out.append("remote " + ("refused" if got is None else "accepted"))
    chan = t.open_session(timeout=10)
    try:
        chan.set_environment_variable("EVIL_VAR", "x")
        out.append("env sent")
    except paramiko.SSHException:
        out.append("env refused")
    chan.exec_command("who")
    chan.settimeout(10)
    data = b""
    while True:
        d = chan.recv(4096)
        if not d:
            break
        data += d
    out.append("exec %d" % chan.recv_exit_status())
    print(" ".join(out), flush=True)
    t.close()


def main():
    mode, port, user, password = sys.argv[1:5]
    port = int(port)
    if mode == "race":
        race(port, user, password, int(sys.argv[5]))
    elif mode == "refusals":
        refusals(port, user, password)
    elif mode == "methods":
        methods(port, user, int(sys.argv[5]))
    elif mode == "idle":
        idle(port, user, password, int(sys.argv[5]))
    else:
        run_exec(port, user, password, sys.argv[5])


main()
