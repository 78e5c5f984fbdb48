#!/usr/bin/env python3
"""Run the end-to-end tests (tests/e2e/test_*.py) and print one line per test
and a closing "e2e: N passed, M failed" line for scripts/run-tests.sh."""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--filter", default="", help="only files whose name contains this")
    ap.add_argument("names", nargs="*", help="test ids (module.Class.test)")
    args = ap.parse_args()
    loader = unittest.TestLoader()
    if args.names:
        suite = loader.loadTestsFromNames(args.names)
    else:
        suite = unittest.TestSuite()
        for fn in sorted(os.listdir(HERE)):
            if fn.startswith("test_") and fn.endswith(".py") and args.filter in fn:
                suite.addTests(loader.loadTestsFromName(fn[:-3]))
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=Result)
    res = runner.run(suite)
    bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    ok = res.testsRun - bad - len(res.skipped)
    print("e2e: %d passed, %d failed, %d skipped" % (ok, bad, len(res.skipped)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
