#!/usr/bin/python3
"""Fuzz what a logged-in client can send sshchatd (tests/stress/ssh-fuzz.sh).

    ssh-fuzz.py fuzz --port P --seed S --client C [--seconds T] [--conn K]
        [--trace FILE] [--server-log FILE]
    ssh-fuzz.py bystander --port P --seconds T [--user U --password PW]
        [--stop FILE] [--limit SECS]
    ssh-fuzz.py plan --seed S --client C --conn K
    ssh-fuzz.py case NAME --port P --pid DAEMON_PID --server-log FILE
    ssh-fuzz.py cases

fuzz: one client, connection after connection until T seconds passed (or
only connection K).  Each connection logs in with the right password of
one of the test accounts (tests/users.csv, never the admin erin), then
sends well-framed SSH traffic drawn from a random plan (a polite one,
70%, sends nothing out of place; a rude one also sends what libssh
treats as a protocol error, which ends the connection): channel requests
(pty-req with absurd sizes, terminal names and modes, env, shell, exec
with long, binary and UTF-8 junk commands, subsystem, window-change
storms, signal, break, x11-req, auth-agent-req, unknown names,
want_reply either way, some with truncated or padded payloads), channel
data (typed command lines, keys, escape sequences, bracketed paste,
invalid UTF-8, huge lines, Ctrl-C, Ctrl-D, extended data), more channel
opens (session, direct-tcpip, x11, unknown kinds, odd window and packet
sizes), global requests (tcpip-forward, keepalive@openssh.com, ...),
transport messages (ignore, debug, unimplemented, rekey, a second
USERAUTH_REQUEST, unknown message numbers), channel EOF and CLOSE at odd
times, and an end: a polite close, logout, DISCONNECT, a reset, a
half-close, or a client that goes silent.  Before its end a connection
that is still up sends keepalive@openssh.com with want_reply and waits
(10 s) for every global request it sent to be answered, and after its
end the daemon must end the session within 5 s (server.log says
"disconnecting"; --server-log): a session that stopped answering, or
that outlives its connection, is a hang.  The trace names a hang that
looks like a bug the fuzzer found before (BUGS, below).

The plan of connection K of client C under seed S depends on nothing
else (random.Random("S/C/K")), so one connection is replayed with
--seed S --client C --conn K (--only N,M,... runs only those steps, to
cut it down), and `plan` prints it without connecting.
Every action goes to the trace file, one line each, flushed, with the
time as server.log writes it.  The last line printed is a summary:

    client C seed S: conns N actions N logins N auth-failed N
        hangs N errors N (SECS s)

exit status 1 when a hang was seen or the daemon stopped taking
connections.

bystander: one interactive session (erin) that alternates `msg bob` and
`say` with a token every ~0.7 s and waits for the daemon's answer; it
fails (exit 1) when one takes longer than --limit seconds or the
session ends.  It stops when the file --stop names exists, or after T
seconds, logs out and prints "bystander: N answers, max MS ms, p50 MS ms".

case NAME: what the fuzzer found, done on purpose (BUGS); exit status 2
when the bug is there, 0 when not.  cases: one line per case, "NAME
fixed|open case|replay SEED:CLIENT:CONN" (OPEN: reported, not fixed
yet; a replay is a fuzz connection that tests/stress/ssh-fuzz.sh runs
against fresh daemons).
"""
import argparse
import logging
import os
import random
import re
import socket
import struct
import sys
import threading
import time

import paramiko
from paramiko.common import (
    MSG_REQUEST_FAILURE,
    MSG_REQUEST_SUCCESS,
    MSG_CHANNEL_FAILURE,
    MSG_CHANNEL_SUCCESS,
    cMSG_CHANNEL_CLOSE,
    cMSG_CHANNEL_DATA,
    cMSG_CHANNEL_EOF,
    cMSG_CHANNEL_EXTENDED_DATA,
    cMSG_CHANNEL_OPEN,
    cMSG_CHANNEL_REQUEST,
    cMSG_CHANNEL_WINDOW_ADJUST,
    cMSG_DEBUG,
    cMSG_DISCONNECT,
    cMSG_GLOBAL_REQUEST,
    cMSG_IGNORE,
    cMSG_SERVICE_REQUEST,
    cMSG_UNIMPLEMENTED,
    cMSG_USERAUTH_REQUEST,
)
from paramiko.message import Message

USERS = [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw"),
         ("dave", "dave-pw"), ("frank", "frank-pw"),
         ("olduser", "olduser-pw")]
NAMES = [u for u, _ in USERS] + ["erin", "nosuchuser", ""]

# --- random material ----------------------------------------------------

ABSURD = [0, 1, 2, 3, 79, 80, 81, 255, 256, 1000, 9999, 10000, 10001,
          32767, 32768, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1]

KEYS = [b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F",
        b"\x1b[1~", b"\x1b[4~", b"\x1bOH", b"\x1bOF", b"\x1b[2~",
        b"\x1b[3~", b"\x1b[5~", b"\x1b[6~", b"\x1bOP", b"\x1b[15~",
        b"\x1b[1;5C", b"\x1b[1;3D", b"\t", b"\t\t", b"\x7f", b"\x08",
        b"\x01", b"\x05", b"\x0b", b"\x15", b"\x17", b"\x19", b"\x12",
        b"\x13", b"\x14", b"\x0c", b"\x1b.", b"\x1bb", b"\x1bf", b"\x1bd",
        b"\x1b\x7f", b"\x18\x18", b"\x18(", b"\x18)", b"\x18e", b"\x1f",
        b"\x16", b"\x1b#", b"\x1b*", b"\x1b?", b"\x1b=", b"\x1b\t",
        b"\x07", b"\x00", b"\x11", b"\x1a", b"\x1c", b"\x03", b"\x04",
        b"\r", b"\n", b"\r\n", b"\x1b[M !!", b"\x1b[<0;10;10M",
        b"\x1b[I", b"\x1b[O", b"\x1b[12;40R", b"\x1b[?1;2c",
        b"\x1b[200~", b"\x1b[201~", b"\x1b", b"\x1b[", b"\x1bO",
        b"\x1b\x1b", b"\x1bu", b"\x1bl", b"\x1bc", b"\x1bt", b"\x1by",
        b"\x1b<", b"\x1b>", b"\x1b_", b"\x1b-", b"\x1b\x12", b"\x1b\x19",
        b"\x18\x15", b"\x18\x0f", b"\x18\x05", b"\x18\x16", b"\x18*"]

COMMANDS = ["msg", "reply", "say", "me", "history", "who", "whois", "users",
            "away", "back", "ignore", "unignore", "set", "help", "logout",
            "passwd", "broadcast", "kick", "useradd", "userdel", "lock",
            "unlock", "reload", "stats", "log", "shutdown", "r", "m", "w",
            "/msg", "HELP", "msg\tbob", "exit", "quit"]

SET_WORDS = ["timestamps", "bell", "notices", "color", "colour", "on", "off",
             "yes", "no", "width", "1", "0", "-1", "99999999999", "all"]

CHAN_REQUESTS = ["pty-req", "env", "shell", "exec", "subsystem",
                 "window-change", "signal", "break", "x11-req",
                 "auth-agent-req@openssh.com", "xon-xoff", "exit-status",
                 "exit-signal", "keepalive@openssh.com", "eow@openssh.com",
                 "simple@putty.projects.tartarus.org",
                 "winadj@putty.projects.tartarus.org"]

GLOBAL_REQUESTS = ["tcpip-forward", "cancel-tcpip-forward",
                   "streamlocal-forward@openssh.com",
                   "cancel-streamlocal-forward@openssh.com",
                   "keepalive@openssh.com", "no-more-sessions@openssh.com",
                   "hostkeys-00@openssh.com", "hostkeys-prove-00@openssh.com"]

CHANNEL_KINDS = ["session", "direct-tcpip", "forwarded-tcpip", "x11",
                 "auth-agent@openssh.com", "direct-streamlocal@openssh.com",
                 "forwarded-streamlocal@openssh.com"]

SIGNALS = ["INT", "TERM", "KILL", "HUP", "QUIT", "STOP", "CONT", "WINCH",
           "SIGINT", "9", "", "ABRT", "USR1", "PIPE"]

SPECIAL_CP = [0x202E, 0x202D, 0x2066, 0x2067, 0x2068, 0x2069, 0x200B,
              0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF, 0x0600, 0x0605,
              0x13430, 0x13438, 0x0301, 0x0336, 0x1F600, 0x1F469, 0x4E2D,
              0xFF21, 0x00AD, 0x061C, 0x115F, 0x3164, 0xFFFD, 0xE000,
              0x10FFFF, 0x85, 0x9B, 0x9D]

BAD_UTF8 = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf",
            b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\xaf",
            b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
            b"\xfc\x84\x80\x80\x80\x80", b"\xfe", b"\xff", b"\xc3",
            b"\xe2\x82", b"\xf0\x9f\x98", b"\xc2\x9b", b"\xc2\x85"]


def log_len(rng, top):
    """A length spread over the orders of magnitude up to top."""
    return min(top, int(2 ** rng.uniform(0, top.bit_length())))


def utf8_junk(rng, n):
    out = []
    size = 0
    while size < n:
        r = rng.random()
        if r < 0.3:
            b = rng.choice(SPECIAL_CP)
            b = chr(b).encode("utf-8", "surrogatepass")
        elif r < 0.55:
            b = rng.choice(BAD_UTF8)
        elif r < 0.8:
            cp = rng.choice([rng.randrange(0x80, 0x800),
                             rng.randrange(0x800, 0x10000),
                             rng.randrange(0x10000, 0x110000)])
            b = chr(cp).encode("utf-8", "surrogatepass")
        else:
            b = bytes([rng.randrange(0x20, 0x7f)])
        out.append(b)
        size += len(b)
    return b"".join(out)


def escape_seq(rng):
    r = rng.random()
    nums = [str(rng.choice(ABSURD + [rng.randrange(100),
                                     rng.randrange(10**12)]))
            for _ in range(rng.randrange(0, 6))]
    if r < 0.35:
        priv = rng.choice(["", "?", ">", "=", "<", "!"])
        return ("\x1b[" + priv + ";".join(nums)).encode() + \
            bytes([rng.randrange(0x40, 0x7f)])
    if r < 0.55:
        term = rng.choice([b"\x07", b"\x1b\\", b"", b"\x9c"])
        return b"\x1b]" + rng.choice([b"0", b"2", b"52", b"8", b"1337",
                                      b"4", b"10", b"777"]) + b";" + \
            junk(rng, rng.randrange(0, 300)) + term
    if r < 0.65:
        return b"\x1b" + rng.choice([b"P", b"X", b"^", b"_"]) + \
            junk(rng, rng.randrange(0, 100)) + rng.choice([b"\x1b\\", b""])
    if r < 0.75:
        return bytes([rng.randrange(0x80, 0xa0)]) + \
            ";".join(nums).encode() + bytes([rng.randrange(0x40, 0x7f)])
    if r < 0.85:
        return b"\x1b" + bytes([rng.randrange(0x20, 0x7f)])
    return b"\x1b[" + (";" * rng.randrange(1, 2000)).encode() + b"m"


def junk(rng, n):
    r = rng.random()
    if r < 0.4:
        return bytes(rng.randrange(256) for _ in range(n))
    if r < 0.6:
        return bytes(rng.randrange(0x20) for _ in range(n))
    if r < 0.8:
        return utf8_junk(rng, n)[:max(n, 1)]
    return bytes(rng.randrange(0x20, 0x7f) for _ in range(n))


def rand_string(rng, top=70000):
    """A string for a request field: sometimes sane, mostly not."""
    r = rng.random()
    if r < 0.08:
        return b""
    if r < 0.2:
        return rng.choice([b"xterm", b"xterm-256color", b"dumb", b"vt100",
                           b"screen", b"linux", b"tmux-256color", b"sftp",
                           b"NO_COLOR", b"LANG", b"C.UTF-8", b"TERM"])
    if r < 0.3:
        return rng.choice([b"../../../../etc/passwd", b"/dev/tty",
                           b"%s%s%s%n%n", b"$(id)", b"`id`", b"a\x00b",
                           b"\x00", b"-", b"--", b" ", b"\t\t", b"\r\n",
                           b"xterm\x1b]0;owned\x07", b"x" * 256])
    if r < 0.45:
        return utf8_junk(rng, log_len(rng, 2000))
    if r < 0.6:
        return junk(rng, log_len(rng, 2000))
    if r < 0.75:
        return command_line(rng).encode("utf-8", "surrogateescape")
    if r < 0.9:
        return bytes([rng.randrange(0x20, 0x7f)]) * log_len(rng, top)
    return junk(rng, log_len(rng, top))


def arg_word(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(NAMES)
    if r < 0.5:
        return rng.choice(SET_WORDS)
    if r < 0.6:
        return str(rng.choice(ABSURD + [-1, -2**31, 10**30]))
    if r < 0.8:
        return "".join(chr(rng.randrange(0x21, 0x7f))
                       for _ in range(rng.randrange(1, 20)))
    return utf8_junk(rng, rng.randrange(1, 40)).decode("utf-8",
                                                        "surrogateescape")


SANE = ["msg bob hello", "msg alice,carol hi there", "say hello room",
        "me waves", "history", "history 5", "who", "whois bob", "users",
        "away brb", "back", "set", "set timestamps on", "set bell off",
        "ignore dave", "unignore dave", "reply thanks", "help", "help msg",
        "msg erin ping", "msg nosuchuser hi"]


def command_line(rng):
    r = rng.random()
    if r < 0.3:
        return rng.choice(SANE)
    words = [rng.choice(COMMANDS)] if r < 0.9 else [arg_word(rng)]
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 5, 12])):
        words.append(arg_word(rng))
    if rng.random() < 0.1:
        words.append("x" * log_len(rng, 20000))
    sep = rng.choice([" ", " ", " ", "  ", "\t", " \x00 "])
    return sep.join(words)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def sstr(b):
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return u32(len(b)) + b


def boolean(v):
    return b"\x01" if v else b"\x00"


def size(rng):
    return rng.choice(ABSURD) if rng.random() < 0.5 else rng.randrange(1, 400)


def tty_modes(rng):
    r = rng.random()
    if r < 0.2:
        return b""
    if r < 0.35:
        return junk(rng, log_len(rng, 3000))
    out = []
    for _ in range(rng.randrange(0, 60)):
        op = rng.choice([rng.randrange(1, 160), 3, 4, 8, 50, 51, 53, 70, 72,
                         90, 91, 128, 129, rng.randrange(160, 256)])
        out.append(bytes([op]) + u32(rng.choice(ABSURD)))
    if rng.random() < 0.8:
        out.append(b"\x00")
    return b"".join(out)


def chan_request_payload(rng, name):
    """The type-specific fields of a channel request."""
    if name == "pty-req":
        return sstr(rand_string(rng)) + u32(size(rng)) + u32(size(rng)) + \
            u32(size(rng)) + u32(size(rng)) + sstr(tty_modes(rng))
    if name == "env":
        n = rng.choice([b"NO_COLOR", b"LANG", b"LC_ALL", b"TERM",
                        b"LD_PRELOAD", b"PATH", b"HOME",
                        rand_string(rng, 5000)])
        return sstr(n) + sstr(rand_string(rng, 20000))
    if name == "exec":
        return sstr(rand_string(rng, 200000))
    if name == "subsystem":
        return sstr(rng.choice([b"sftp", b"netconf", rand_string(rng)]))
    if name == "window-change":
        return u32(size(rng)) + u32(size(rng)) + u32(size(rng)) + \
            u32(size(rng))
    if name == "signal":
        return sstr(rng.choice(SIGNALS + [rand_string(rng, 300)]))
    if name == "break":
        return u32(rng.choice(ABSURD))
    if name == "x11-req":
        return boolean(rng.random() < 0.5) + \
            sstr(rng.choice([b"MIT-MAGIC-COOKIE-1", rand_string(rng)])) + \
            sstr(rng.choice([b"0123456789abcdef0123456789abcdef",
                             rand_string(rng)])) + u32(rng.choice(ABSURD))
    if name in ("xon-xoff",):
        return boolean(rng.random() < 0.5)
    if name == "exit-status":
        return u32(rng.choice(ABSURD))
    if name == "exit-signal":
        return sstr(rng.choice(SIGNALS)) + boolean(rng.random() < 0.5) + \
            sstr(rand_string(rng, 300)) + sstr(b"")
    if name in ("shell", "auth-agent-req@openssh.com", "eow@openssh.com",
                "keepalive@openssh.com",
                "simple@putty.projects.tartarus.org",
                "winadj@putty.projects.tartarus.org"):
        return b""
    return junk(rng, log_len(rng, 3000))


def malform(rng, payload, rude=True):
    """Sometimes truncate the fields, or add bytes after them."""
    r = rng.random() if rude else 1
    if r < 0.05 and payload:
        return payload[:rng.randrange(len(payload))], "truncated"
    if r < 0.08:
        return payload + junk(rng, rng.randrange(1, 64)), "padded"
    return payload, ""


def global_payload(rng, name):
    if name in ("tcpip-forward", "cancel-tcpip-forward"):
        return sstr(rng.choice([b"", b"localhost", b"127.0.0.1", b"0.0.0.0",
                                b"::", b"*", rand_string(rng, 3000)])) + \
            u32(rng.choice([0, 22, 1023, 2222, 8080] + ABSURD))
    if name.startswith(("streamlocal", "cancel-streamlocal")):
        return sstr(rng.choice([b"/tmp/sshchat-fuzz.sock", b"/",
                                rand_string(rng, 3000)]))
    if name.startswith("hostkeys"):
        return b"".join(sstr(rand_string(rng, 2000))
                        for _ in range(rng.randrange(0, 4)))
    if name in ("keepalive@openssh.com", "no-more-sessions@openssh.com"):
        return b""
    return junk(rng, log_len(rng, 2000))


def open_payload(rng, kind, port):
    if kind in ("direct-tcpip", "forwarded-tcpip"):
        return sstr(rng.choice([b"127.0.0.1", b"localhost", b"::1",
                                rand_string(rng, 2000)])) + \
            u32(rng.choice([port, 22, 25, 80, 0] + ABSURD)) + \
            sstr(rng.choice([b"127.0.0.1", rand_string(rng, 300)])) + \
            u32(rng.choice(ABSURD))
    if kind == "x11":
        return sstr(rng.choice([b"127.0.0.1", rand_string(rng, 300)])) + \
            u32(rng.choice(ABSURD))
    if kind.startswith(("direct-streamlocal", "forwarded-streamlocal")):
        return sstr(rand_string(rng, 300)) + sstr(b"") + u32(0)
    if kind == "session" or kind == "auth-agent@openssh.com":
        return b""
    return junk(rng, log_len(rng, 500))


# --- the plan -------------------------------------------------------------

# Actions after the channel's start request, with their weights.
BODY = [("type", 20), ("keys", 10), ("escape", 6), ("paste", 5),
        ("junk", 6), ("utf8", 4), ("hugeline", 2), ("ctrl", 6),
        ("split", 3), ("stderr", 2), ("numarg", 2), ("winch", 6),
        ("winch-storm", 2), ("request", 14), ("wrong-channel", 0.5),
        ("global", 4), ("open", 3), ("ignore", 2), ("debug", 1),
        ("unimplemented", 1), ("rekey", 1), ("winadj", 1),
        ("service", 0.5), ("reauth", 1), ("rawmsg", 1), ("eof", 1),
        ("close", 0.6), ("sleep", 6), ("pause", 1), ("overrun", 0.15)]
SETUP = [("pty", 6), ("env", 3), ("winch", 2), ("request", 2), ("global", 1),
         ("type", 1), ("open", 0.5), ("sleep", 1)]
STARTS = [("shell", 55), ("exec", 20), ("subsystem", 4), ("none", 6),
          ("shell+exec", 4), ("exec+shell", 3), ("shell-twice", 3),
          ("eof-first", 2), ("close-first", 2), ("second-session", 1)]
ENDS = [("close", 30), ("logout", 15), ("ctrl-d", 10), ("disconnect", 10),
        ("abrupt", 12), ("rst", 8), ("halfclose", 5), ("silent", 5),
        ("eof-wait", 5)]


# What a polite plan leaves out: messages out of place, which libssh
# answers by giving up on the connection (SSH_FATAL), so that the rest of
# the plan would not reach the session.
RUDE = {"wrong-channel", "reauth", "rawmsg", "service", "overrun",
        "forged-success"}


def pick(rng, table):
    total = sum(w for _, w in table)
    x = rng.uniform(0, total)
    for name, w in table:
        x -= w
        if x <= 0:
            return name
    return table[-1][0]


def make_plan(seed, client, conn):
    """Connection conn of client under seed: everything it will do."""
    rng = random.Random("%d/%d/%d" % (seed, client, conn))
    user, password = USERS[rng.randrange(len(USERS))]
    plan = {"user": user, "password": password,
            "window": None, "maxpacket": None, "drain": True,
            "preauth": [], "setup": [], "body": []}
    if rng.random() < 0.15:
        plan["window"] = rng.choice([0, 1, 100, 1024, 32768, 2**31,
                                     2**32 - 1])
    if rng.random() < 0.1:
        plan["maxpacket"] = rng.choice([0, 1, 16, 64, 256, 2**31,
                                        2**32 - 1])
    plan["drain"] = rng.random() > 0.1
    plan["rude"] = rng.random() < 0.3
    body = BODY if plan["rude"] else [(n, w) for n, w in BODY
                                      if n not in RUDE]
    if plan["rude"] and rng.random() < 0.2:
        plan["preauth"] = [(pick(rng, [("rawmsg", 3), ("open", 2),
                                       ("global", 1), ("service", 1),
                                       ("forged-success", 2)]),
                            rng.getrandbits(48))
                           for _ in range(rng.randrange(1, 4))]
    # Most sessions ask for a terminal, like ssh does.
    if rng.random() < 0.6:
        plan["setup"].append(("pty-sane", rng.getrandbits(48)))
    plan["setup"] += [(pick(rng, SETUP), rng.getrandbits(48))
                      for _ in range(rng.choice([0, 0, 1, 2, 3, 6]))]
    plan["start"] = (pick(rng, STARTS), rng.getrandbits(48))
    plan["body"] = [(pick(rng, body), rng.getrandbits(48))
                    for _ in range(rng.choice([3, 8, 15, 25, 40, 60]))]
    plan["end"] = pick(rng, ENDS)
    return plan


def short(v, n=60):
    if isinstance(v, (bytes, bytearray)):
        if len(v) > n:
            return "%r...(%d bytes)" % (bytes(v[:n]), len(v))
        return repr(bytes(v))
    s = str(v)
    if not (s.isascii() and s.isprintable()):
        s = ascii(s)
    return s if len(s) <= n * 2 else s[:n * 2] + "..."


# --- what it found -------------------------------------------------------

# Each bug the fuzzer found has a case that does it on purpose
# (ssh-fuzz.py case NAME, below), run by tests/stress/ssh-fuzz.sh after
# the fuzz: a fixed one that comes back fails the test; one in OPEN
# (reported, not fixed yet) is reported and does not.
BUGS = {
    "preshell-fatal":
        "a packet libssh refuses (SSH_FATAL: USERAUTH_REQUEST after login, "
        "channel data before it, a malformed request...) before the shell "
        "started: the session thread did not notice, kept the connection "
        "until LoginGraceTime and libssh buffered all the client sent (up "
        "to 256 MiB a connection, before authentication too); fixed in "
        "ea8098d",
    "preshell-disconnect":
        "a client that sends DISCONNECT after login and before its shell: "
        "the session thread did not notice the closed connection and held "
        "the session (and its MaxSessions place) until LoginGraceTime; "
        "fixed in ea8098d",
    "refusal-log-flood":
        "each refused request wrote a server.log line (env, subsystem, "
        "x11-req and unknown channel requests, tcpip-forward and other "
        "global requests, channel opens other than one session): a "
        "logged-in client wrote 50,000 lines (10 MB) in 3 s, before its "
        "shell or after it; nothing bounded a connection's lines; fixed in "
        "bce9f2b (ten a connection, then a count)",
}
# A crash that needs the timing of a whole fuzz connection is a replay:
# tests/stress/ssh-fuzz.sh runs that connection (SEED, CLIENT, CONN)
# against fresh daemons, each after a warm-up login and with the
# bystander, up to three times, and looks for the crash.
BUGS["drop-channel-reentry"] = (
    "a session channel closed before its shell is dropped with "
    "ssh_channel_close(), whose blocking flush reads and handles what "
    "comes meanwhile: a CHANNEL_OPEN among it calls channel_open_cb(), "
    "which drops the same channel again (drop_channel() is entered "
    "twice) and takes a new one; the outer call then goes on with a "
    "freed channel: SEGV in ssh_channel_close() <- drop_channel() <- "
    "sess_handshake(), every session dropped; any logged-in user; fixed "
    "in ae69275")
REPLAYS = {"drop-channel-reentry": (3508874952, 0, 25)}
OPEN = set()


def session_log(path, local_port):
    """server.log's lines of the daemon's last connection from local_port."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except (OSError, TypeError):
        return []
    sid = None
    pat = re.compile(r" \[(\d+)\] connection from 127\.0\.0\.1:%d$" %
                     local_port)
    for line in lines:
        m = pat.search(line)
        if m:
            sid = m.group(1)
    if sid is None:
        return []
    tag = " [%s] " % sid
    return [line for line in lines if tag in line]


def looks_like(server_log, local_port, closed=False):
    """Which bug of BUGS a hang looks like, from the daemon's log."""
    lines = session_log(server_log, local_port)
    started = any(" shell for " in x or " exec for " in x for x in lines)
    fatal = any(" ssh1 " in x and "SSH_MSG_DISCONNECT" not in x
                for x in lines)
    if not lines or started:
        return None
    if fatal:
        return "preshell-fatal"
    if closed:
        return "preshell-disconnect"
    return None


# --- the client -------------------------------------------------------------

class FuzzTransport(paramiko.Transport):
    """A transport that counts the answers to its global requests, keeps a
    channel open when a request is refused, and lets a plan pick window
    and packet sizes paramiko would otherwise clamp."""

    raw_sizes = False

    def _count_global(self, m):
        with self.answers_cv:
            self.answers += 1
            self.answers_cv.notify_all()

    def _on_success(self, m):
        self._count_global(m)
        paramiko.Transport._parse_request_success(self, m)

    def _on_failure(self, m):
        self._count_global(m)
        paramiko.Transport._parse_request_failure(self, m)

    _handler_table = dict(paramiko.Transport._handler_table)
    _handler_table[MSG_REQUEST_SUCCESS] = _on_success
    _handler_table[MSG_REQUEST_FAILURE] = _on_failure

    def _sanitize_window_size(self, window_size):
        if self.raw_sizes and window_size is not None:
            return window_size
        return paramiko.Transport._sanitize_window_size(self, window_size)

    def _sanitize_packet_size(self, max_packet_size):
        if self.raw_sizes and max_packet_size is not None:
            return max_packet_size
        return paramiko.Transport._sanitize_packet_size(self,
                                                        max_packet_size)


def _chan_answer(chan, m):
    chan.event_ready = True
    chan.event.set()


# paramiko closes a channel when a request on it is refused; the fuzzer
# goes on sending on it.
paramiko.Transport._channel_handler_table = dict(
    paramiko.Transport._channel_handler_table)
paramiko.Transport._channel_handler_table[MSG_CHANNEL_FAILURE] = _chan_answer
paramiko.Transport._channel_handler_table[MSG_CHANNEL_SUCCESS] = _chan_answer


class Dead(Exception):
    """The connection is gone: the rest of the plan is skipped."""


class Conn:
    def __init__(self, args, client, conn, trace):
        self.args = args
        self.client = client
        self.conn = conn
        self.trace = trace
        self.plan = make_plan(args.seed, client, conn)
        self.t = None
        self.sock = None
        self.chan = None
        self.expected = 0
        self.rx = 0
        self.rx_tail = b""
        self.stop = False
        self.actions = 0
        self.hung = False
        self.hint = None
        self.local_port = 0
        self.shell_sent = False     # a shell or exec request went out
        self.closed_early = False   # we closed the channel before that
        self.authed = False
        self.next_raw_chan = 1000

    def masked(self, bug):
        """Whether to leave out what brings out an open bug: in timed
        runs only, so that make check-stress stays green; a replay
        (--conn) does everything its plan says."""
        return bug in OPEN and self.args.conn is None

    def log(self, what):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        self.trace.write("%s.%03dZ c%d k%d %s\n" % (
            stamp, int(now * 1000) % 1000, self.client, self.conn, what))
        self.trace.flush()

    def alive(self):
        return self.t is not None and self.t.is_active()

    def send(self, m):
        if not self.alive():
            raise Dead()
        try:
            self.t._send_user_message(m)
        except (OSError, EOFError, paramiko.SSHException) as e:
            raise Dead() from e

    def msg(self, *parts):
        m = Message()
        for p in parts:
            if isinstance(p, int):
                m.add_byte(bytes([p]))
            else:
                m.add_bytes(p)
        return m

    def rchan(self):
        return self.chan.remote_chanid if self.chan is not None else 0

    # -- channel data ------------------------------------------------------

    def data(self, b, secs=4.0):
        """Channel data within the window; gives up after secs."""
        if self.chan is None:
            return "no channel"
        end = time.monotonic() + secs
        sent = 0
        while sent < len(b) and time.monotonic() < end:
            if not self.alive():
                raise Dead()
            try:
                n = self.chan.send(b[sent:sent + 32768])
            except socket.timeout:
                continue
            except (OSError, EOFError, paramiko.SSHException):
                raise Dead()
            if n == 0:
                return "sent %d of %d (channel closed)" % (sent, len(b))
            sent += n
        return "sent %d of %d" % (sent, len(b))

    def drain(self):
        while not self.stop:
            c = self.chan
            if c is None or not self.plan["drain"]:
                time.sleep(0.1)
                continue
            try:
                d = c.recv(65536)
                if c.recv_stderr_ready():
                    d += c.recv_stderr(65536)
            except socket.timeout:
                continue
            except Exception:
                time.sleep(0.1)
                continue
            if not d:
                if c.closed or c.eof_received:
                    time.sleep(0.1)
                continue
            self.rx += len(d)
            self.rx_tail = (self.rx_tail + d)[-2000:]

    # -- the pieces of a plan ----------------------------------------------

    def chan_request(self, rng, name=None, want=None, chanid=None):
        if name is None:
            name = rng.choice(CHAN_REQUESTS) if rng.random() < 0.85 else \
                rand_string(rng, 300)
        if isinstance(name, str):
            name = name.encode()
        if want is None:
            want = rng.random() < 0.5
        payload, how = malform(rng, chan_request_payload(
            rng, name.decode("latin-1")), self.plan["rude"])
        cid = self.rchan() if chanid is None else chanid
        if name in (b"shell", b"exec"):
            self.shell_sent = True
        self.send(self.msg(cMSG_CHANNEL_REQUEST, u32(cid), sstr(name),
                           boolean(want), payload))
        return "%s want=%d %s%s" % (short(name, 30), want, short(payload),
                                    " " + how if how else "")

    def global_request(self, rng):
        name = rng.choice(GLOBAL_REQUESTS) if rng.random() < 0.85 else \
            rand_string(rng, 300).decode("latin-1")
        want = rng.random() < 0.6
        payload, how = malform(rng, global_payload(rng, name),
                               self.plan["rude"])
        if want and not how:
            # Only a well-formed request is sure to be answered.
            self.expected += 1
        elif how:
            want = False
        self.send(self.msg(cMSG_GLOBAL_REQUEST, sstr(name.encode("latin-1")),
                           boolean(want), payload))
        return "%s want=%d %s%s" % (short(name, 30), want, short(payload),
                                    " " + how if how else "")

    def open_channel(self, rng):
        kind = rng.choice(CHANNEL_KINDS) if rng.random() < 0.8 else \
            rand_string(rng, 300).decode("latin-1")
        win = rng.choice([0, 1, 2**21, 2**32 - 1])
        pkt = rng.choice([0, 1, 32768, 2**32 - 1])
        if not self.plan["rude"]:
            # libssh gives up on a connection that offers a packet size
            # below its minimum.
            pkt = rng.choice([32768, 2**32 - 1])
        if kind == "session" and self.closed_early and \
                self.masked("drop-channel-reentry"):
            return "left out: a session open after we closed the channel " \
                "before its shell (drop-channel-reentry is open)"
        payload, how = malform(rng, open_payload(rng, kind, self.args.port),
                               self.plan["rude"])
        cid = self.next_raw_chan
        self.next_raw_chan += 1
        self.send(self.msg(cMSG_CHANNEL_OPEN, sstr(kind.encode("latin-1")),
                           u32(cid), u32(win), u32(pkt), payload))
        return "%s id=%d win=%d pkt=%d %s%s" % (
            short(kind, 30), cid, win, pkt, short(payload),
            " " + how if how else "")

    def raw_msg(self, rng):
        # Not KEX (20-49) or DISCONNECT: the transport's own business.
        t = rng.choice([2, 3, 4, 5, 6, 7, 50, 51, 52, 53, 60, 61, 66, 80, 81,
                        82, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100,
                        rng.randrange(101, 256)])
        body = junk(rng, log_len(rng, 200))
        if 91 <= t <= 100 and rng.random() < 0.7:
            body = u32(self.rchan()) + body
        self.send(self.msg(t, body))
        return "type=%d %s" % (t, short(body))

    def reauth(self, rng):
        r = rng.random()
        if r < 0.4:
            user, pw = USERS[rng.randrange(len(USERS))]
        elif r < 0.6:
            user, pw = rng.choice(NAMES), "wrong-" + str(rng.randrange(99))
        else:
            user, pw = rand_string(rng, 300), rand_string(rng, 300)
        method = rng.choice([b"password", b"password", b"none",
                             b"publickey", b"keyboard-interactive"])
        body = sstr(user) + sstr(b"ssh-connection") + sstr(method)
        if method == b"password":
            body += boolean(False) + sstr(pw)
        self.send(self.msg(cMSG_USERAUTH_REQUEST, body))
        return "user=%s method=%s" % (short(user, 30), method.decode())

    def do(self, name, sub):
        """Run one action; returns what the trace says of it."""
        rng = random.Random(sub)
        ch = self.rchan()
        if name == "pty-sane":
            return self._pty_sane(rng)
        if name == "pty":
            return self.chan_request(rng, "pty-req")
        if name == "env":
            return self.chan_request(rng, "env")
        if name == "request":
            return self.chan_request(rng)
        if name == "wrong-channel":
            cid = rng.choice([ch + 1, ch + 1000, 2**32 - 1,
                              self.chan.chanid if self.chan else 7])
            return "chan=%d " % cid + self.chan_request(rng, chanid=cid)
        if name == "winch":
            return self.chan_request(rng, "window-change", False)
        if name == "winch-storm":
            n = rng.randrange(10, 400)
            for _ in range(n):
                self.send(self.msg(cMSG_CHANNEL_REQUEST, u32(ch),
                                   sstr(b"window-change"),
                                   boolean(rng.random() < 0.05),
                                   chan_request_payload(rng,
                                                        "window-change")))
            return "%d window-changes" % n
        if name == "type":
            line = command_line(rng).encode("utf-8", "surrogateescape")
            line += rng.choice([b"\r", b"\r", b"\n", b"\r\n", b""])
            return short(line) + " " + self.data(line)
        if name == "keys":
            b = b"".join(rng.choice(KEYS) + (bytes([rng.randrange(0x20, 0x7f)])
                                             if rng.random() < 0.3 else b"")
                         for _ in range(rng.randrange(1, 40)))
            return short(b) + " " + self.data(b)
        if name == "escape":
            b = b"".join(escape_seq(rng) for _ in range(rng.randrange(1, 10)))
            return short(b) + " " + self.data(b)
        if name == "paste":
            body = b"\r".join(command_line(rng).encode("utf-8",
                                                       "surrogateescape")
                              for _ in range(rng.randrange(1, 6)))
            b = b"\x1b[200~" + body + rng.choice([b"\x1b[201~", b""]) + \
                rng.choice([b"", b"\r"])
            return short(b) + " " + self.data(b)
        if name == "junk":
            b = junk(rng, log_len(rng, 8192))
            return short(b) + " " + self.data(b)
        if name == "utf8":
            b = utf8_junk(rng, log_len(rng, 4096)) + \
                rng.choice([b"", b"\r"])
            return short(b) + " " + self.data(b)
        if name == "hugeline":
            n = log_len(rng, 1 << 20)
            b = rng.choice([b"x", b"\xe4\xb8\xad", b"\x1b", b"\t", b"a "]) * n
            b += rng.choice([b"\r", b"", b"\x03", b"\x15"])
            return "%d bytes %s" % (len(b), self.data(b, 6.0))
        if name == "ctrl":
            b = rng.choice([b"\x03", b"\x04", b"\x03\x03\x03", b"\x04\x04",
                            b"\x1a", b"\x1c", b"\x11", b"\x13", b"\x0f",
                            b"\x00", b"\x03\r", b"\x04\r"])
            return short(b) + " " + self.data(b)
        if name == "split":
            line = command_line(rng).encode("utf-8", "surrogateescape") + b"\r"
            line = line[:2000]
            for i in range(len(line)):
                r = self.data(line[i:i + 1], 1.0)
                if not r.startswith("sent 1"):
                    return "byte by byte: " + r
            return "byte by byte: " + short(line)
        if name == "stderr":
            b = junk(rng, rng.randrange(1, 2000))
            code = rng.choice([1, 1, 0, 2, 2**32 - 1])
            if self.chan is not None:
                # Within the window, as the daemon counts it with data.
                with self.chan.lock:
                    b = b[:max(0, self.chan.out_window_size)]
                    self.chan.out_window_size -= len(b)
            self.send(self.msg(cMSG_CHANNEL_EXTENDED_DATA, u32(ch), u32(code),
                               sstr(b)))
            return "code=%d %s" % (code, short(b))
        if name == "numarg":
            b = b"\x1b" + str(rng.choice([2, 99, 1000, 65536, 999999,
                                          1000000, 10**8])).encode() + \
                rng.choice([b"x", b"\x7f", b"\x1b[D", b"\x15", b"\x19",
                            b"\t", b"\x14", b"\x1b."])
            return short(b) + " " + self.data(b)
        if name == "global":
            return self.global_request(rng)
        if name == "open":
            return self.open_channel(rng)
        if name == "ignore":
            b = junk(rng, log_len(rng, 60000))
            self.send(self.msg(cMSG_IGNORE, sstr(b)))
            return "%d bytes" % len(b)
        if name == "debug":
            self.send(self.msg(cMSG_DEBUG, boolean(rng.random() < 0.5),
                               sstr(rand_string(rng, 3000)), sstr(b"")))
            return ""
        if name == "unimplemented":
            self.send(self.msg(cMSG_UNIMPLEMENTED,
                               u32(rng.choice(ABSURD))))
            return ""
        if name == "rekey":
            if not self.alive():
                raise Dead()
            if not self.t.in_kex:
                self.t._send_kex_init()
                return "kexinit sent"
            return "already in kex"
        if name == "winadj":
            n = rng.choice(ABSURD)
            self.send(self.msg(cMSG_CHANNEL_WINDOW_ADJUST, u32(ch), u32(n)))
            return "+%d" % n
        if name == "service":
            s = rng.choice([b"ssh-userauth", b"ssh-connection",
                            rand_string(rng, 300)])
            self.send(self.msg(cMSG_SERVICE_REQUEST, sstr(s)))
            return short(s)
        if name == "forged-success":
            self.send(self.msg(52))
            return "USERAUTH_SUCCESS from the client"
        if name == "reauth":
            return self.reauth(rng)
        if name == "rawmsg":
            return self.raw_msg(rng)
        if name == "eof":
            self.send(self.msg(cMSG_CHANNEL_EOF, u32(ch)))
            return ""
        if name == "close":
            self.closed_early = self.closed_early or not self.shell_sent
            self.send(self.msg(cMSG_CHANNEL_CLOSE, u32(ch)))
            return ""
        if name == "sleep":
            d = rng.choice([0, 0.01, 0.05, 0.1, 0.3])
            time.sleep(d)
            return "%.2f s" % d
        if name == "pause":
            d = rng.uniform(1, 3)
            time.sleep(d)
            return "%.2f s" % d
        if name == "overrun":
            # Data past the window granted: the daemon cuts the client off.
            b = b"o" * (1 << 16)
            n = rng.randrange(4, 80)
            for _ in range(n):
                self.send(self.msg(cMSG_CHANNEL_DATA, u32(ch), sstr(b)))
            return "%d KiB past the window" % (n * 64)
        return "unknown action"

    def _pty_sane(self, rng):
        term = rng.choice(["xterm", "xterm-256color", "vt100", "dumb",
                           "screen", "linux"])
        cols, rows = rng.choice([(80, 24), (200, 50), (40, 10), (132, 43)])
        self.send(self.msg(cMSG_CHANNEL_REQUEST, u32(self.rchan()),
                           sstr(b"pty-req"), boolean(True), sstr(term),
                           u32(cols), u32(rows), u32(0), u32(0), sstr(b"")))
        return "pty-req %s %dx%d" % (term, cols, rows)

    def start(self, name, sub):
        rng = random.Random(sub)
        ch = self.rchan()

        def req(kind, payload=b""):
            if kind in (b"shell", b"exec"):
                self.shell_sent = True
            self.send(self.msg(cMSG_CHANNEL_REQUEST, u32(ch), sstr(kind),
                               boolean(True), payload))

        def exec_cmd():
            c = command_line(rng) if rng.random() < 0.6 else \
                rand_string(rng, 200000)
            if isinstance(c, str):
                c = c.encode("utf-8", "surrogateescape")
            req(b"exec", sstr(c))
            return short(c)

        if name == "shell":
            req(b"shell")
            return ""
        if name == "exec":
            return exec_cmd()
        if name == "subsystem":
            req(b"subsystem", sstr(rng.choice([b"sftp", rand_string(rng)])))
            return ""
        if name == "shell+exec":
            req(b"shell")
            return exec_cmd()
        if name == "exec+shell":
            r = exec_cmd()
            req(b"shell")
            return r
        if name == "shell-twice":
            req(b"shell")
            req(b"shell")
            return ""
        if name == "eof-first":
            self.send(self.msg(cMSG_CHANNEL_EOF, u32(ch)))
            req(b"shell")
            return ""
        if name == "close-first":
            self.closed_early = True
            self.send(self.msg(cMSG_CHANNEL_CLOSE, u32(ch)))
            req(b"shell")
            return ""
        if name == "second-session":
            req(b"shell")
            try:
                self.t.open_session(timeout=5)
                return "second session opened"
            except (paramiko.SSHException, EOFError, OSError) as e:
                return "second session refused: %s" % short(str(e), 30)
        return ""

    def ping(self):
        """Every global request answered, keepalive included, in 10 s."""
        if not self.alive():
            return "gone"
        self.expected += 1
        try:
            self.send(self.msg(cMSG_GLOBAL_REQUEST,
                               sstr(b"keepalive@openssh.com"), boolean(True)))
        except Dead:
            return "gone"
        end = time.monotonic() + 10
        with self.t.answers_cv:
            while self.t.answers < self.expected and self.alive() and \
                    time.monotonic() < end:
                self.t.answers_cv.wait(0.2)
            if self.t.answers >= self.expected:
                return "answered %d" % self.t.answers
        if not self.alive():
            return "gone"
        self.hung = True
        self.hint = looks_like(self.args.server_log, self.local_port)
        return "HANG: %d of %d global requests answered in 10 s%s" % (
            self.t.answers, self.expected,
            " (like %s)" % self.hint if self.hint else "")

    def end(self, name):
        if not self.alive():
            return "already gone"
        if name == "logout":
            self.data(b"\x15logout\r", 2)
        elif name == "ctrl-d":
            self.data(b"\x15\x04", 2)
        elif name == "eof-wait":
            self.send(self.msg(cMSG_CHANNEL_EOF, u32(self.rchan())))
        elif name == "disconnect":
            self.send(self.msg(cMSG_DISCONNECT, u32(11),
                               sstr(b"fuzz says bye"), sstr(b"")))
        elif name == "abrupt":
            self.sock.shutdown(socket.SHUT_RDWR)
        elif name == "rst":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
            self.sock.close()
        elif name == "halfclose":
            self.sock.shutdown(socket.SHUT_WR)
        elif name == "silent":
            self.plan["drain"] = False
            time.sleep(3)
            return "silent 3 s"
        if name in ("logout", "ctrl-d", "eof-wait", "halfclose"):
            end = time.monotonic() + 3
            while self.alive() and time.monotonic() < end:
                time.sleep(0.05)
            return "server closed" if not self.alive() else "still open"
        return ""

    def run(self, deadline):
        p = self.plan
        self.log("plan user=%s window=%s maxpacket=%s drain=%d rude=%d "
                 "preauth=%d setup=%d start=%s body=%d end=%s" % (
                     p["user"], p["window"], p["maxpacket"], p["drain"],
                     p["rude"],
                     len(p["preauth"]), len(p["setup"]), p["start"][0],
                     len(p["body"]), p["end"]))
        try:
            self.sock = socket.create_connection(("127.0.0.1",
                                                  self.args.port),
                                                 timeout=10)
        except OSError as e:
            self.log("connect: %s" % e)
            return "connect-failed"
        self.local_port = self.sock.getsockname()[1]
        self.log("connected from port %d" % self.local_port)
        t = self.t = FuzzTransport(self.sock)
        t.auth_timeout = 10
        # paramiko holds every message while a key exchange is on: not
        # for its default 30 s when the daemon ended the connection in
        # the middle of one.
        t.clear_to_send_timeout = 10
        t.answers = 0
        t.answers_cv = threading.Condition()
        t.raw_sizes = p["window"] is not None or p["maxpacket"] is not None
        drainer = None
        result = "ok"
        try:
            t.start_client(timeout=15)
            for i, (name, sub) in enumerate(p["preauth"]):
                self.log("#pre%d %s %s" % (i, name, self.do(name, sub)))
            try:
                t.auth_password(p["user"], p["password"])
            except paramiko.AuthenticationException as e:
                self.log("auth refused: %s" % e)
                return "auth-failed"
            except UnicodeDecodeError as e:
                # After a SERVICE_REQUEST for a junk name paramiko may
                # fail to decode what comes back: a client error.
                self.log("auth: paramiko cannot read the answer: %s" % e)
                return "auth-failed"
            self.authed = True
            try:
                self.chan = t.open_channel("session",
                                           window_size=p["window"],
                                           max_packet_size=p["maxpacket"],
                                           timeout=10)
                self.chan.settimeout(0.5)
            except (paramiko.SSHException, EOFError, OSError) as e:
                self.log("session channel refused: %s" % e)
            drainer = threading.Thread(target=self.drain, daemon=True)
            drainer.start()
            steps = [("setup", n, s) for n, s in p["setup"]] + \
                [("start", p["start"][0], p["start"][1])] + \
                [("body", n, s) for n, s in p["body"]]
            for i, (phase, name, sub) in enumerate(steps):
                if time.monotonic() > deadline:
                    self.log("out of time")
                    break
                if self.args.only is not None and i not in self.args.only:
                    continue
                if phase == "start":
                    r = self.start(name, sub)
                else:
                    r = self.do(name, sub)
                self.actions += 1
                self.log("#%d %s %s %s" % (i, phase, name, r))
            self.log("ping: %s" % self.ping())
            self.log("end %s: %s" % (p["end"], self.end(p["end"])))
        except Dead:
            self.log("connection closed by the server (rx %d bytes, last "
                     "%s)" % (self.rx, short(self.rx_tail[-120:], 120)))
            result = "closed"
        except (paramiko.SSHException, EOFError, OSError) as e:
            self.log("ended: %s: %s" % (type(e).__name__, e))
            result = "closed"
        finally:
            self.stop = True
            try:
                t.close()
            except Exception:
                pass
            try:
                self.sock.close()
            except OSError:
                pass
            if drainer is not None:
                drainer.join(2)
        if not self.hung and self.args.server_log:
            self.check_ended()
        return "hang" if self.hung else result

    def check_ended(self):
        """The connection is closed: the daemon must end its session in 5 s
        (server.log: "disconnecting"), or it is a hang too."""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            lines = session_log(self.args.server_log, self.local_port)
            if not lines or any(" disconnecting " in x for x in lines):
                return
            time.sleep(0.05)
        self.hung = True
        self.hint = looks_like(self.args.server_log, self.local_port,
                               closed=True)
        self.log("HANG: the session is still there 5 s after the client "
                 "closed the connection%s" % (
                     " (like %s)" % self.hint if self.hint else ""))


def run_fuzz(args):
    logging.getLogger("paramiko").setLevel(logging.CRITICAL + 1)
    trace = open(args.trace, "a") if args.trace else sys.stdout
    start = time.monotonic()
    deadline = start + args.seconds
    counts = {"conns": 0, "actions": 0, "logins": 0, "auth-failed": 0,
              "hangs": 0, "errors": 0, "connect-failed": 0}
    conns = [args.conn] if args.conn is not None else None
    k = 0
    while True:
        if conns is not None:
            if not conns:
                break
            k = conns.pop(0)
        elif time.monotonic() >= deadline:
            break
        c = Conn(args, args.client, k, trace)
        try:
            r = c.run(deadline + 10 if conns is not None else deadline)
        except Exception as e:  # a fuzzer bug, not the daemon's
            c.log("fuzzer error: %s: %s" % (type(e).__name__, e))
            counts["errors"] += 1
            r = "error"
        counts["conns"] += 1
        counts["actions"] += c.actions
        counts["logins"] += c.authed
        if r == "auth-failed":
            counts["auth-failed"] += 1
        if r == "hang":
            counts["hangs"] += 1
            print("HANG%s: seed %d client %d conn %d (replay: --seed %d "
                  "--client %d --conn %d)" % (
                      " (like %s)" % c.hint if c.hint else "",
                      args.seed, args.client, k, args.seed, args.client, k),
                  flush=True)
        if r == "connect-failed":
            counts["connect-failed"] += 1
            if counts["connect-failed"] >= 3:
                print("cannot connect to the daemon (conn %d)" % k,
                      flush=True)
                break
            time.sleep(0.5)
        else:
            counts["connect-failed"] = 0
        k += 1
    print("client %d seed %d: conns %d actions %d logins %d auth-failed %d "
          "hangs %d errors %d (%.0f s)" % (
              args.client, args.seed, counts["conns"], counts["actions"],
              counts["logins"], counts["auth-failed"], counts["hangs"],
              counts["errors"], time.monotonic() - start),
          flush=True)
    return 1 if counts["hangs"] or counts["connect-failed"] >= 3 else 0


def print_plan(args):
    p = make_plan(args.seed, args.client, args.conn)
    print("user %s window %s maxpacket %s drain %s rude %s end %s" % (
        p["user"], p["window"], p["maxpacket"], p["drain"], p["rude"],
        p["end"]))
    for phase in ("preauth", "setup"):
        for name, sub in p[phase]:
            print("%s %s (sub-seed %d)" % (phase, name, sub))
    print("start %s (sub-seed %d)" % p["start"])
    for name, sub in p["body"]:
        print("body %s (sub-seed %d)" % (name, sub))
    return 0


# --- what it found, on purpose -------------------------------------------

def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def case_preshell_fatal(args):
    """One packet libssh refuses, then raw bytes: does the daemon close the
    connection, or keep it and buffer what comes?  Before and after login.
    """
    reproduced = False
    mib = args.mib
    for phase in ("before login", "after login"):
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        t = paramiko.Transport(sock)
        t.start_client(timeout=15)
        if phase == "after login":
            t.auth_password("bob", "bob-pw")
            bad = Message()
            bad.add_byte(cMSG_USERAUTH_REQUEST)
            bad.add_string("bob")
            bad.add_string("ssh-connection")
            bad.add_string("none")
            what = "USERAUTH_REQUEST after login"
        else:
            bad = Message()
            bad.add_byte(cMSG_CHANNEL_DATA)
            bad.add_int(0)
            bad.add_string(b"x")
            what = "CHANNEL_DATA before login"
        base = peak = rss_kb(args.pid)
        t._send_user_message(bad)
        time.sleep(0.5)
        chunk = b"z" * 65536
        sent = 0
        try:
            # paramiko closes the socket once the daemon did.
            sock.settimeout(5)
            while sent < mib << 20:
                sock.sendall(chunk)
                sent += len(chunk)
                if sent % (4 << 20) == 0:
                    peak = max(peak, rss_kb(args.pid))
        except OSError:
            pass
        time.sleep(1)
        peak = max(peak, rss_kb(args.pid))
        still_open = t.is_active()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
        t.close()
        sock.close()
        grew = peak - base
        held = still_open and sent >= mib << 20 and grew > (mib << 10) // 2
        reproduced = reproduced or held
        print("case preshell-fatal, %s: %s, then %d MiB: %s; daemon RSS "
              "%d -> %d kB" % (phase, what, sent >> 20,
                               "connection kept, bytes buffered" if held
                               else "closed or not buffered", base, peak),
              flush=True)
    return 2 if reproduced else 0


def case_preshell_disconnect(args):
    """Log in, open the session channel, say DISCONNECT: how long until the
    daemon ends the session (server.log: "disconnecting")?"""
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    local_port = sock.getsockname()[1]
    t = paramiko.Transport(sock)
    t.start_client(timeout=15)
    t.auth_password("bob", "bob-pw")
    chan = t.open_session(timeout=10)    # kept: paramiko closes it if not
    # Not in the same read as the channel open: the session thread must
    # be back in its wait.
    time.sleep(0.3)
    m = Message()
    m.add_byte(cMSG_DISCONNECT)
    m.add_int(11)
    m.add_string("bye")
    m.add_string("")
    t._send_user_message(m)
    t0 = time.monotonic()
    time.sleep(0.2)
    t.close()
    sock.close()
    del chan
    while time.monotonic() - t0 < 5:
        if any(" disconnecting " in x or " closed before login" in x
               for x in session_log(args.server_log, local_port)):
            print("case preshell-disconnect: the session ended %.1f s after "
                  "the client's DISCONNECT" % (time.monotonic() - t0),
                  flush=True)
            return 0
        time.sleep(0.1)
    print("case preshell-disconnect: the session is still there 5 s after "
          "the client's DISCONNECT (it stays until LoginGraceTime)",
          flush=True)
    return 2


def case_refusal_log_flood(args):
    """Many refused requests of each kind from one logged-in connection:
    how many server.log lines do they make?"""
    n = args.count
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    local_port = sock.getsockname()[1]
    t = paramiko.Transport(sock)
    t.start_client(timeout=15)
    t.auth_password("bob", "bob-pw")
    chan = t.open_session(timeout=10)
    chan.get_pty()
    chan.invoke_shell()
    time.sleep(0.5)
    kinds = []

    def chan_req(i, name, payload):
        m = Message()
        m.add_byte(cMSG_CHANNEL_REQUEST)
        m.add_int(chan.remote_chanid)
        m.add_string(name)
        m.add_boolean(False)
        m.add_bytes(payload)
        return m

    def env(i):
        return chan_req(i, "env", sstr(b"FOO%d" % i) + sstr(b"x"))

    def subsystem(i):
        return chan_req(i, "subsystem", sstr(b"sftp"))

    def unknown(i):
        return chan_req(i, "no-such-request@example.com", b"")

    def forward(i):
        m = Message()
        m.add_byte(cMSG_GLOBAL_REQUEST)
        m.add_string("tcpip-forward")
        m.add_boolean(False)
        m.add_string("127.0.0.1")
        m.add_int(10000 + i % 50000)
        return m

    def direct(i):
        m = Message()
        m.add_byte(cMSG_CHANNEL_OPEN)
        m.add_string("direct-tcpip")
        m.add_int(5000 + i)
        m.add_int(2**21)
        m.add_int(32768)
        m.add_bytes(sstr(b"127.0.0.1") + u32(22) + sstr(b"127.0.0.1") +
                    u32(4242))
        return m

    total = 0
    for name, make in (("env", env), ("subsystem", subsystem),
                       ("unknown channel request", unknown),
                       ("tcpip-forward", forward), ("direct-tcpip", direct)):
        before = len(session_log(args.server_log, local_port))
        try:
            for i in range(n):
                t._send_user_message(make(i))
        except (OSError, EOFError, paramiko.SSHException):
            pass
        time.sleep(1)
        got = len(session_log(args.server_log, local_port)) - before
        total += got
        kinds.append("%s %d" % (name, got))
        if not t.is_active():
            kinds.append("(the daemon closed the connection)")
            break
    t.close()
    sock.close()
    del chan
    flood = total > n // 2
    print("case refusal-log-flood: %d refused requests of each kind made "
          "%d server.log lines (%s)%s" % (
              n, total, ", ".join(kinds),
              ": a line each" if flood else ""), flush=True)
    return 2 if flood else 0


CASES = {"preshell-fatal": case_preshell_fatal,
         "preshell-disconnect": case_preshell_disconnect,
         "refusal-log-flood": case_refusal_log_flood}


# --- the bystander -------------------------------------------------------

def run_bystander(args):
    logging.getLogger("paramiko").setLevel(logging.CRITICAL + 1)
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=30)
    t.auth_password(args.user, args.password)
    chan = t.open_session(timeout=30)
    chan.set_environment_variable("NO_COLOR", "1")
    chan.get_pty(term="xterm", width=500, height=50)
    chan.invoke_shell()
    chan.settimeout(0.2)
    buf = [b""]

    def wait_for(token, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if token in buf[0]:
                i = buf[0].index(token) + len(token)
                buf[0] = buf[0][i:]
                return True
            try:
                d = chan.recv(65536)
            except socket.timeout:
                continue
            if not d:
                print("bystander: the session ended: %r" % buf[0][-300:],
                      flush=True)
                return False
            buf[0] = (buf[0] + d)[-200000:]
        print("bystander: no %r within %d s; last output %r" % (
            token, secs, buf[0][-300:]), flush=True)
        return False

    prompt = ("%s> " % args.user).encode()
    if not wait_for(prompt, 60):
        return 1
    print("bystander: logged in", flush=True)
    lat = []
    n = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end and not os.path.exists(args.stop or
                                                          "/nonexistent"):
        n += 1
        token = "bystander-%d-%d" % (os.getpid(), n)
        if n % 2:
            line = "msg bob " + token
            want = token.encode()
            ack = b"] " + want      # "[to bob] ..." or "[to bob, queued] ..."
        else:
            line = "say " + token
            ack = ("<%s> %s" % (args.user, token)).encode()
        t0 = time.monotonic()
        chan.sendall((line + "\r").encode())
        if not wait_for(ack, args.limit):
            return 1
        lat.append(time.monotonic() - t0)
        time.sleep(0.7)
    chan.sendall(b"logout\r")
    if not wait_for(("Goodbye, %s." % args.user).encode(), args.limit):
        return 1
    t.close()
    lat.sort()
    print("bystander: %d answers, max %d ms, p50 %d ms" % (
        len(lat), lat[-1] * 1000 if lat else 0,
        lat[len(lat) // 2] * 1000 if lat else 0), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["fuzz", "bystander", "plan", "case",
                                     "cases"])
    ap.add_argument("case", nargs="?", choices=sorted(CASES))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--client", type=int, default=0)
    ap.add_argument("--conn", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--trace", default=None)
    ap.add_argument("--user", default="erin")
    ap.add_argument("--password", default="erin-pw")
    ap.add_argument("--limit", type=float, default=15)
    ap.add_argument("--stop", default=None)
    ap.add_argument("--server-log", default=None)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--only", default=None,
                    help="with --conn: run only these steps (#N in the "
                    "trace, comma-separated), to cut a replay down")
    args = ap.parse_args()
    if args.only is not None:
        args.only = {int(x) for x in args.only.split(",") if x != ""}
    # paramiko's own complaints (refused opens, the daemon's
    # disconnects) are the point here, not news.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL + 1)
    if args.mode == "fuzz":
        return run_fuzz(args)
    if args.mode == "cases":
        for name in sorted(BUGS):
            print(name, "open" if name in OPEN else "fixed",
                  "replay %d:%d:%d" % REPLAYS[name] if name in REPLAYS
                  else "case")
        return 0
    if args.mode == "case":
        if args.case is None:
            ap.error("case needs a name: " + ", ".join(sorted(CASES)))
        return CASES[args.case](args)
    if args.mode == "plan":
        if args.conn is None:
            ap.error("plan needs --conn")
        return print_plan(args)
    return run_bystander(args)


if __name__ == "__main__":
    sys.exit(main())
