#!/usr/bin/env python3
"""offline_sync.py - a Thunderbird-style full offline sync of one account,
with a probe session measuring what it does to everyone else (issue 15).

The sync session: LOGIN, LIST "" "*", STATUS (MESSAGES UIDNEXT UNSEEN) of
every folder, then per folder SELECT, UID FETCH 1:* (FLAGS) and
UID FETCH 1:* (BODY.PEEK[]), then LOGOUT.  Bodies are read as they stream
and dropped (a 240k-message account is gigabytes; imaplib would hold each
response whole).  Meanwhile a probe session on another account sends a
NOOP every 50 ms and times each round trip.

Env: HOST PORT SYNC_USER PROBE_USER PASS.  Prints one JSON object: folders,
messages, body bytes, seconds, and the probe's NOOP round trips (count,
p50, p99, max in ms).  Exit status 1 when the sync did not complete.
"""
import json
import os
import re
import socket
import sys
import threading
import time

LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


class Conn:
    """One plaintext IMAP session read line by line, literals skipped or kept."""

    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=600)
        self.f = self.s.makefile("rb", buffering=1 << 16)
        self.n = 0
        if not self.f.readline().startswith(b"* OK"):
            raise RuntimeError("no greeting")

    def cmd(self, line, on_line=None, on_literal=None):
        """Send one command; call on_line(bytes) per untagged line (literals
        replaced by their size) and on_literal(size) per literal; return the
        tagged line."""
        self.n += 1
        tag = b"s%d" % self.n
        self.s.sendall(tag + b" " + line.encode() + b"\r\n")
        while True:
            raw = self.f.readline()
            if not raw:
                raise RuntimeError("connection closed during %r" % line)
            whole = raw
            m = LITERAL.search(raw)
            while m is not None:	# a line may carry several literals
                size = int(m.group(1))
                left = size
                while left > 0:
                    chunk = self.f.read(min(left, 1 << 20))
                    if not chunk:
                        raise RuntimeError("closed in a literal")
                    left -= len(chunk)
                if on_literal is not None:
                    on_literal(size)
                raw = self.f.readline()
                whole += raw
                m = LITERAL.search(raw)
            if whole.startswith(tag + b" "):
                if not whole.startswith(tag + b" OK"):
                    raise RuntimeError("%r: %r" % (line, whole[:200]))
                return whole
            if on_line is not None:
                on_line(whole)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, RuntimeError):
            pass
        self.s.close()


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def list_folders(c):
    names = []

    def line(l):
        m = re.match(rb'\* LIST \(([^)]*)\) (NIL|"[^"]*") (.*)\r\n$', l)
        if m is None or b"\\Noselect" in m.group(1) or b"\\NonExistent" in m.group(1):
            return
        n = m.group(3)
        if n.startswith(b'"'):
            n = n[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        names.append(n.decode())
    c.cmd('LIST "" "*"', on_line=line)
    return names


def probe(host, port, user, pw, stop, rtts, errors):
    try:
        p = Conn(host, port)
        p.cmd("LOGIN %s %s" % (quote(user), quote(pw)))
        p.cmd("SELECT INBOX")
        while not stop.is_set():
            t = time.monotonic()
            p.cmd("NOOP")
            rtts.append((time.monotonic() - t) * 1000)
            stop.wait(0.05)
        p.close()
    except (OSError, RuntimeError) as e:
        errors.append("probe: %s" % e)


def main():
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])
    user, probe_user, pw = os.environ["SYNC_USER"], os.environ["PROBE_USER"], os.environ["PASS"]
    stop, rtts, errors = threading.Event(), [], []
    th = threading.Thread(target=probe, args=(host, port, probe_user, pw, stop, rtts, errors))
    th.start()
    t0 = time.monotonic()
    res = {"folders": 0, "messages": 0, "bytes": 0}
    ok = False
    try:
        c = Conn(host, port)
        c.cmd("LOGIN %s %s" % (quote(user), quote(pw)))
        folders = list_folders(c)
        for f in folders:
            c.cmd("STATUS %s (MESSAGES UIDNEXT UNSEEN)" % quote(f))
        for f in folders:
            c.cmd("SELECT %s" % quote(f))
            c.cmd("UID FETCH 1:* (FLAGS)")

            def lit(size):
                res["messages"] += 1
                res["bytes"] += size
            c.cmd("UID FETCH 1:* (BODY.PEEK[])", on_literal=lit)
            res["folders"] += 1
        c.close()
        ok = True
    except (OSError, RuntimeError) as e:
        errors.append("sync: %s" % e)
    res["secs"] = round(time.monotonic() - t0, 2)
    stop.set()
    th.join()
    r = sorted(rtts)
    if r:
        res.update(noops=len(r), noop_p50_ms=round(r[len(r) // 2], 1),
                   noop_p99_ms=round(r[min(len(r) - 1, len(r) * 99 // 100)], 1),
                   noop_max_ms=round(r[-1], 1))
    res["completed"] = ok
    if errors:
        res["errors"] = errors[:3]
    print(json.dumps(res))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
