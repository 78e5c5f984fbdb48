#!/usr/bin/env python3
"""Layer check: the folder-level include graph of src/ must have no cycle,
and src/lib must include no other folder (DESIGN.md "Source layout").

The graph is derived from every `#include "x/y.h"` line in src/*/*.[ch]:
an edge A -> B for a file in src/A/ that includes "B/...", A != B.
Prints the edges with their counts, then "layers: 1 passed, 0 failed" or
"layers: 0 passed, 1 failed" with every cycle and forbidden edge named
(scripts/run-tests.sh adds that line to its totals).  Exit 0 / 1.

Where the SMTP syntax code lives (issue 11 item 3).  The pure SMTP syntax
(src/smtp/parse.c: command lines and ESMTP parameters, data.c: the DATA
decoder, headers.c) stays in src/smtp/ beside the server session, instead
of becoming a small library folder like Dovecot's lib-smtp, because only
the server uses it: the outbound client (src/mta/client.c) parses replies,
not commands, and passes the envelope parameters it sends (ENVID, ORCPT,
NOTIFY) through from the spool as received, so it shares no grammar with
parse.c.  A lib-smtp with one user would be a folder for its own sake.
The order the check enforces keeps that honest: src/smtp/ includes
src/queue/ (txn.c hands a committed message to the queue manager) and
src/queue/ includes src/mta/ (the remote phase), so the day the client
needs a piece of parse.c, an include of "smtp/..." from src/mta/ closes
the circle smtp -> queue -> mta -> smtp and this check fails; that code
then moves to a syntax folder below both (e.g. src/smtpsyn/), not into mta.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"')
LEAF = "lib"		# may include no other folder


def graph(root):
    edges = {}
    for folder in sorted(os.listdir(root)):
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(d, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and m.group(1) != folder:
                        edges.setdefault((folder, m.group(1)), []).append(
                            "src/%s/%s:%d" % (folder, name, lineno))
    return edges


def cycles(nodes, succ):
    """Every strongly connected component with more than one folder (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else ROOT
    edges = graph(root)
    succ, nodes = {}, set()
    for (a, b) in edges:
        succ.setdefault(a, set()).add(b)
        nodes.update((a, b))
    for (a, b), where in sorted(edges.items()):
        print("layers: %-10s -> %-10s %3d" % (a, b, len(where)))
    problems = []
    for (a, b), where in sorted(edges.items()):
        if a == LEAF:
            problems.append("src/%s includes %s/: %s" % (LEAF, b, ", ".join(where)))
    for comp in cycles(nodes, succ):
        inner = ["%s -> %s (%s)" % (a, b, edges[(a, b)][0])
                 for (a, b) in sorted(edges) if a in comp and b in comp]
        problems.append("cycle among %s: %s" % (", ".join(comp), "; ".join(inner)))
    for p in problems:
        print("layers: FAIL " + p)
    if problems:
        print("layers: 0 passed, 1 failed")
        return 1
    print("layers: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
