#!/usr/bin/env python3
"""Prints "N passed, N failed, N skipped" over meson testlog.json files.

Usage: test-summary.py TESTLOG.json...   (missing files are skipped)

Every Check test case counts (from "Checks: N, Failures: N, Errors: N");
a Check program that crashed or timed out outside a case counts as one
more failure; any other test counts as one.
"""
import json
import os
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    for line in open(path):
        t = json.loads(line)
        res = t.get("result")
        out = t.get("stdout") or ""
        m = re.search(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", out)
        if res == "SKIP":
            skipped += 1
        elif m:
            n, f, e = map(int, m.groups())
            failed += f + e
            passed += n - f - e
            if res != "OK" and f + e == 0:
                failed += 1          # crashed or timed out outside a check
        elif res == "OK":
            passed += 1
        else:
            failed += 1
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
