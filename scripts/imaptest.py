#!/usr/bin/env python3
"""Run Dovecot's imaptest scripted suite against a fresh letterbox instance,
one test group at a time, and print pass/fail per group plus the totals of
failed base-protocol and extension commands as imaptest counts them.

imaptest is not part of this repository (build it outside; see the README,
"IMAP conformance").  Point at it with:

    IMAPTEST=/path/to/imaptest/src/imaptest  (binary)
    IMAPTEST_TESTS=/path/to/imaptest/src/tests  (the scripted groups)
    LD_LIBRARY_PATH=/usr/lib/dovecot  (imaptest links libdovecot)

    scripts/imaptest.py [--build build] [--host H --port P --user U --pass PW]
                        [--verbose] [group ...]

Without --port a fresh instance is made (user t@example.com) and stopped at
the end; with --port the suite runs against that server (e.g. Dovecot for the
reference figure).  Groups default to every file in IMAPTEST_TESTS that is not
a .mbox.  A group skipped for a capability the server lacks counts as
skipped, not failed.  Exit status: 0 when no group failed.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

TOTAL_RE = re.compile(r"^(base protocol|extensions): (\d+)/(\d+) individual commands failed",
                      re.M)
GROUPS_RE = re.compile(r"^(\d+) test groups: (\d+) failed, (\d+) skipped", re.M)


def needed_caps(args, group):
    """The group's "capabilities:" header line (what a skip was missing)."""
    with open(os.path.join(args.tests, group), errors="replace") as f:
        for line in f:
            if not line.strip():
                break
            if line.lower().startswith("capabilities:"):
                return line.split(":", 1)[1].strip()
    return ""


def run_group(args, group):
    """(status, base_failed, base_total, ext_failed, ext_total, output) of one group."""
    cmd = [args.imaptest, "host=" + args.host, "port=%d" % args.port, "user=" + args.user,
           "pass=" + args.password, "test=" + os.path.join(args.tests, group)]
    env = dict(os.environ)
    env.setdefault("LD_LIBRARY_PATH", "/usr/lib/dovecot")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env,
                           errors="replace")
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or "")
        return ("TIMEOUT", 0, 0, 0, 0, out)
    counts = {k: (int(f), int(t)) for k, f, t in TOTAL_RE.findall(out)}
    bf, bt = counts.get("base protocol", (0, 0))
    ef, et = counts.get("extensions", (0, 0))
    g = GROUPS_RE.search(out)
    if g is None:
        status = "ERROR"
    elif int(g.group(3)) > 0 or (bt + et == 0 and int(g.group(2)) == 0):
        # imaptest 2.3 counts a group skipped for a missing capability as
        # passed, with no commands run
        status = "SKIP"
    elif int(g.group(2)) > 0 or bf or ef:
        status = "FAIL"
    else:
        status = "pass"
    return (status, bf, bt, ef, et, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--imaptest", default=os.environ.get("IMAPTEST", "imaptest"))
    ap.add_argument("--tests", default=os.environ.get("IMAPTEST_TESTS"))
    ap.add_argument("--build", default="build")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--user", default="t@example.com")
    ap.add_argument("--pass", dest="password", default="pw")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per group")
    ap.add_argument("--verbose", action="store_true", help="print imaptest's output of failures")
    ap.add_argument("groups", nargs="*")
    args = ap.parse_args()
    if not args.tests:
        args.tests = os.path.join(os.path.dirname(args.imaptest), "tests")
    # Subdirectories (tests/broken) hold groups imaptest itself does not run
    # when given the directory: 71 groups, as Dovecot's figure counts them.
    groups = args.groups or sorted(
        f for f in os.listdir(args.tests)
        if not f.endswith(".mbox") and not f.startswith(".")
        and os.path.isfile(os.path.join(args.tests, f)))

    inst = None
    if args.port is None:
        os.environ.setdefault("LETTERBOX_BIN", os.path.join(ROOT, args.build, "letterbox"))
        import lbtest
        inst = lbtest.Instance()
        for cmd, stdin in ((("domain", "add", args.user.rsplit("@", 1)[1]), None),
                           (("user", "add", args.user), args.password + "\n"),
                           # imaptest logs in over plain 143 on loopback
                           (("config", "set", "disable_plaintext_auth", "no"), None),
                           (("config", "set", "auth_failure_delay", "0"), None),
                           # the groups open up to 5 sessions at once, many groups in a row
                           (("config", "set", "imap_client_connection_count_limit", "100"),
                            None)):
            r = inst.cli(*cmd, stdin=stdin)
            if r.rc != 0:
                sys.exit("letterbox %s: %r" % (" ".join(cmd), r))
        inst.start(wait_for=("imap",))
        args.port = inst.port("imap")

    totals = [0, 0, 0, 0]
    failed, skipped = [], []
    try:
        for g in groups:
            status, bf, bt, ef, et, out = run_group(args, g)
            for i, v in enumerate((bf, bt, ef, et)):
                totals[i] += v
            caps = needed_caps(args, g)
            print("%-30s %-7s base %d/%d ext %d/%d%s" % (
                g, status, bf, bt, ef, et, "  (needs %s)" % caps if caps else ""), flush=True)
            if status == "SKIP":
                skipped.append(g)
            elif status != "pass":
                failed.append(g)
                if args.verbose:
                    print(out.rstrip()[-6000:], flush=True)
    finally:
        if inst is not None:
            rc = inst.stop()
            inst.cleanup()
            if rc != 0:
                print("letterbox exited %r" % rc)
    print("%d test groups: %d failed, %d skipped for missing capabilities" % (
        len(groups), len(failed), len(skipped)))
    print("failed: %s" % " ".join(failed))
    print("skipped: %s" % " ".join(skipped))
    print("base protocol: %d/%d individual commands failed" % (totals[0], totals[1]))
    print("extensions: %d/%d individual commands failed" % (totals[2], totals[3]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
