#!/usr/bin/python3
"""
The integration tests: run QEMU with libcflow.so on guests whose control flow is known and
check the profiles. Usage: run.py BUILDDIR [NAME-SUBSTRING...]

Prints one line per test (PASS/FAIL/SKIP with the reason) and ends with a summary line
'integration: N passed, M failed, K skipped'. The runner and what the tests share are in
harness.py; the tests, one file per feature, in test_*.py beside it.
"""
import sys

import harness

if __name__ == "__main__":
    sys.exit(harness.main())
