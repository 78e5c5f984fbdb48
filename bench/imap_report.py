#!/usr/bin/env python3
"""imap_report.py RESULTS.jsonl - the table bench/imap.sh prints: each
figure for letterbox and Dovecot and the ratio letterbox / Dovecot."""
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]


def get(server, kind, pred=lambda r: True):
    for r in rows:
        if r["server"] == server and r["kind"] == kind and pred(r):
            return r
    return None


def line(label, a, b, fmt="%.3f", lower_better=True):
    fa = fmt % a if a is not None else "-"
    fb = fmt % b if b is not None else "-"
    ra = "%.2f" % (a / b) if a is not None and b else "-"
    print("%-44s %12s %12s %8s" % (label, fa, fb, ra))
    if a is not None and b is not None:
        return (label, a <= b if lower_better else a >= b)
    return None


verdict = []
print("%-44s %12s %12s %8s" % ("IMAP (seconds; ratio < 1: letterbox faster)", "letterbox", "dovecot", "ratio"))
keys = [("select_cold", "SELECT cold"),
        ("fetch_meta", "FETCH 1:* (FLAGS SIZE ENVELOPE BODYSTRUCTURE)"),
        ("fetch_body", "FETCH 1:* BODY.PEEK[]"),
        ("search_text", "UID SEARCH TEXT"), ("store_seen", "STORE 1:* +FLAGS (\\Seen)"),
        ("select_warm", "SELECT warm"), ("fetch_meta_warm", "FETCH meta again (warm)")]


def steps_of(server, n):
    """A server's rounds on the N-message mailbox, by round number."""
    return {r.get("round", 1): r for r in rows
            if r["server"] == server and r["kind"] == "steps" and r["n"] == n}


def median(rounds, k):
    v = [r["r"][k] for r in rounds.values() if r["r"].get(k) is not None]
    return statistics.median(v) if v else None


for n in sorted({r["n"] for r in rows if r["kind"] == "steps"}):
    a, b = steps_of("letterbox", n), steps_of("dovecot", n)
    both = sorted(set(a) & set(b))
    print("-- %d-message INBOX: median of %d round(s), order alternating; per-round ratios at the right"
          % (n, max(len(a), len(b))))
    for k, label in keys:
        v = line("  " + label, median(a, k), median(b, k))
        per = ["%.2f" % (a[i]["r"][k] / b[i]["r"][k]) for i in both
               if a[i]["r"].get(k) is not None and b[i]["r"].get(k)]
        if per:
            print("%-44s %34s" % ("", " ".join(per)))
        if v and k != "fetch_meta_warm":
            verdict.append(("%d: %s" % (n, label), v[1]))
    line("  server memory during the session (kB, max)",
         max((r["mem_kb"] for r in a.values()), default=None),
         max((r["mem_kb"] for r in b.values()), default=None), "%d")
    line("  the same without mapped files (kB, max)",
         max((r["anon_kb"] for r in a.values() if "anon_kb" in r), default=None),
         max((r["anon_kb"] for r in b.values() if "anon_kb" in r), default=None), "%d")
for kind, what in (("idle", "plaintext"), ("idle_tls", "implicit TLS"),
                   ("idle_notify", "plaintext, NOTIFY on every folder first"),
                   ("idle_10k", "plaintext, all on the 10k INBOX")):
    for count in sorted({r["r"].get("target") for r in rows if r["kind"] == kind}):
        a = get("letterbox", kind, lambda r: r["r"].get("target") == count)
        b = get("dovecot", kind, lambda r: r["r"].get("target") == count)
        print("-- %d IDLE sessions (LOGIN + SELECT + IDLE, %s), kB per session" % (count, what))
        for k, label in (("established", "sessions established"),
                         ("rss_per_conn_kb", "RSS per session"), ("pss_per_conn_kb", "PSS per session")):
            line("  " + label, a["r"].get(k) if a else None, b["r"].get(k) if b else None, "%.1f",
                 lower_better=(k != "established"))
for n in sorted({r["clients"] for r in rows if r["kind"] == "stress"}):
    a = get("letterbox", "stress", lambda r: r["clients"] == n)
    b = get("dovecot", "stress", lambda r: r["clients"] == n)
    print("-- imaptest stress, %d clients (commands/s; ratio > 1: letterbox faster)" % n)
    v = line("  commands/s", a["ops_s"] if a else None, b["ops_s"] if b else None, "%.1f",
             lower_better=False)
    if v:
        verdict.append(("stress %d clients" % n, v[1]))
    line("  errors", a["errors"] if a else None, b["errors"] if b else None, "%d")
if any(r["kind"] == "offline" for r in rows):
    a, b = get("letterbox", "offline"), get("dovecot", "offline")
    ra, rb = (a or {}).get("r", {}), (b or {}).get("r", {})
    print("-- full offline sync: %s messages in %s folders (LIST, STATUS, SELECT, FLAGS, BODY.PEEK[] of all)"
          % (ra.get("messages", rb.get("messages")), ra.get("folders", rb.get("folders"))))
    print("%-44s %12s %12s" % ("  completed", ra.get("completed", "-"), rb.get("completed", "-")))
    v = line("  seconds", ra.get("secs"), rb.get("secs"), "%.1f")
    if v:
        verdict.append(("offline sync", v[1]))
    line("  server memory during the sync (kB)", a["mem_kb"] if a else None,
         b["mem_kb"] if b else None, "%d")
    line("  probe NOOP round trip p99 (ms)", ra.get("noop_p99_ms"), rb.get("noop_p99_ms"), "%.1f")
    line("  probe NOOP round trip max (ms)", ra.get("noop_max_ms"), rb.get("noop_max_ms"), "%.1f")
    if a:
        print("  letterbox targets (memory <= 64 MB, probe NOOP <= 50 ms): %s" % (
            "MET" if ra.get("completed") and a["mem_kb"] <= 65536 and
            ra.get("noop_max_ms", 1e9) <= 50 else "NOT MET"))
if any(r["server"] == "dovecot" for r in rows):
    bad = [l for l, ok in verdict if not ok]
    print("imap target (each step faster than Dovecot, same run): %s" % ("-" if not verdict else
          "MET" if not bad else "NOT MET: " + ", ".join(bad)))
