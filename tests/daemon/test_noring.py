#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sipring where io_uring is forbidden (seccomp, as a container policy does):
it must exit 1 at start with a sentence that says why, not crash (TAP).

usage: test_noring.py SIPRING NORING
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
NORING = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
h.require_binary(SIPRING)
t = h.Tap()
DIR = h.tmpdir("sipring-noring-")


def main():
    port = h.free_port()
    conf = os.path.join(DIR, "sipring.yaml")
    with open(conf, "w") as f:
        f.write('sip:\n  listen: ["udp:127.0.0.1:%d"]\nhttp:\n  listen: "off"\n' % port)
    for errno_name, words in (("ENOSYS", "seccomp"), ("EPERM", "EPERM")):
        p = subprocess.run([NORING, errno_name, SIPRING, "-c", conf], cwd=DIR,
                           capture_output=True, text=True, timeout=60)
        t.eq(p.returncode, 1, "io_uring_setup %s: sipring exits 1" % errno_name, p.stderr)
        first = p.stderr.splitlines()[0] if p.stderr else ""
        t.ok(first.startswith("sipring: ") and "io_uring" in first and words in first,
             "io_uring_setup %s: the first line says why: %r" % (errno_name, first))
        t.ok("Sanitizer" not in p.stderr, "io_uring_setup %s: no sanitizer report" % errno_name,
             p.stderr[-2000:])
    sys.exit(t.done())


if __name__ == "__main__":
    main()
