#!/usr/bin/env python3
"""imaptest_sum.py SERVER CLIENTS SECS < imaptest output: one JSON line with
the commands done (the sum of imaptest's "Totals:" counters), commands per
second and the error lines imaptest printed (its state checking)."""
import json, re, sys

name, clients, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
lines = sys.stdin.read().splitlines()
ops, names, errors = None, [], [l for l in lines if re.search(r"\bError\b|Error:", l)]
for i, l in enumerate(lines):
    if l.startswith("Totals:") and i + 1 < len(lines):
        names = lines[i + 1].split()
        # then the probability lines ("100%  50% ..."), then the counts
        for c in lines[i + 2:]:
            if c.split() and all(x.isdigit() for x in c.split()):
                ops = sum(int(x) for x in c.split())
                break
res = {"server": name, "kind": "stress", "clients": clients, "secs": secs,
       "ops": ops, "ops_s": round(ops / secs, 1) if ops is not None else None,
       "errors": len(errors), "first_errors": errors[:3], "counters": names}
print(json.dumps(res))
