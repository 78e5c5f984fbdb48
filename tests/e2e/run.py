#!/usr/bin/env python3
"""Run the end-to-end tests (tests/e2e/test_*.py) and print one line per test
and a closing "e2e: N passed, M failed" line for scripts/run-tests.sh.

Test files run in parallel worker processes (--jobs, default $E2E_JOBS or
2): the tests mostly wait on daemons and clients, and every instance claims
its own port base (lbtest.free_port_base), so files do not share anything.
Each file's output is printed whole when it ends, longest files started
first."""
import argparse
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SUMMARY = re.compile(r"^e2e: (\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)


def run_names(names):
    """Run test ids in this process; the summary line is the contract."""
    suite = unittest.TestLoader().loadTestsFromNames(names)
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=Result)
    res = runner.run(suite)
    bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    ok = res.testsRun - bad - len(res.skipped)
    print("e2e: %d passed, %d failed, %d skipped" % (ok, bad, len(res.skipped)), flush=True)
    return 1 if bad else 0


def run_files(modules, jobs, timeout):
    """One child per file, at most jobs at once; sums the children's summaries."""
    pending = sorted(modules, key=lambda m: -os.path.getsize(os.path.join(HERE, m + ".py")))
    running = []	# (module, Popen, start time)
    totals = [0, 0, 0]
    while pending or running:
        while pending and len(running) < jobs:
            m = pending.pop(0)
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), m],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, errors="replace")
            running.append((m, p, time.time()))
        # Children print only at the end of a file's run: wait for any one.
        done = None
        while done is None:
            for item in running:
                if item[1].poll() is not None:
                    done = item
                    break
                if time.time() - item[2] > timeout:
                    item[1].kill()
            if done is None:
                time.sleep(0.05)
        running.remove(done)
        m, p, t0 = done
        out = p.stdout.read()
        p.stdout.close()
        got = SUMMARY.findall(out)
        out = SUMMARY.sub("", out).rstrip("\n")
        print("--- %s (%.0f s)" % (m, time.time() - t0))
        print(out, flush=True)
        if got:
            for i in range(3):
                totals[i] += int(got[-1][i])
        else:
            print("%s: runner died (exit %s)" % (m, p.returncode), flush=True)
            totals[1] += 1
    print("e2e: %d passed, %d failed, %d skipped" % tuple(totals), flush=True)
    return 1 if totals[1] else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--filter", default="", help="only files whose name contains this")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("E2E_JOBS", "2")))
    ap.add_argument("--file-timeout", type=int, default=900, help="seconds per file")
    ap.add_argument("names", nargs="*", help="test ids (module.Class.test) run here")
    args = ap.parse_args()
    if args.names:
        return run_names(args.names)
    modules = [fn[:-3] for fn in sorted(os.listdir(HERE))
               if fn.startswith("test_") and fn.endswith(".py") and args.filter in fn]
    return run_files(modules, max(1, args.jobs), args.file_timeout)


if __name__ == "__main__":
    sys.exit(main())
