#!/usr/bin/env python3
"""memwatch.py OUT PID... - sample the summed RSS of the process trees under
the PIDs every 50 ms until SIGTERM, then write "base_kb peak_kb
base_anon_kb peak_anon_kb" to OUT.  base is the first sample: peak - base
is the memory one benchmark session made the server take (letterbox: its
one process; Dovecot: the imap process the session forked, which the tree
walk picks up).  The anon pair leaves out mapped files (both servers map
their index and cache files: page cache, shared, counted in RSS)."""
import os, signal, sys, time

out, roots = sys.argv[1], [int(p) for p in sys.argv[2:]]
stop = False


def term(*_):
    global stop
    stop = True


def tree_rss():
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            children.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
        except (OSError, ValueError):
            pass
    todo, seen, kb, anon = list(roots), set(), 0, 0
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        kb += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
        except OSError:
            pass
    return kb, anon


signal.signal(signal.SIGTERM, term)
base, base_anon = peak, peak_anon = tree_rss()
deadline = time.time() + 3600		# bounded, whatever happens to the caller
while not stop and time.time() < deadline:
    kb, anon = tree_rss()
    peak, peak_anon = max(peak, kb), max(peak_anon, anon)
    time.sleep(0.05)
with open(out, "w") as f:
    f.write(f"{base} {peak} {base_anon} {peak_anon}\n")
