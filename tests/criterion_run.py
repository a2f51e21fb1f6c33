#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a Criterion test executable and fail it when LeakSanitizer reports a leak.

Criterion runs each test in a child process; LeakSanitizer checks that child at
its exit, after the test's result was sent, and Criterion reports the failed
exit only as a warning ("crashed during its setup or teardown"): a leak would
pass. This wrapper passes the TAP on stdout through unchanged, copies stderr,
and exits 1 when stderr holds a LeakSanitizer report (else the executable's
own status), so that meson counts the suite as failed.

usage: criterion_run.py EXECUTABLE [ARGS...]
"""
import subprocess
import sys


def main():
    p = subprocess.Popen(sys.argv[1:], stderr=subprocess.PIPE)
    _, err = p.communicate()
    sys.stderr.buffer.write(err)
    if b"ERROR: LeakSanitizer" in err:
        sys.stderr.write("criterion_run: LeakSanitizer found leaks (see above)\n")
        return 1
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
