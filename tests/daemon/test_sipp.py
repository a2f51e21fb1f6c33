#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sipring driven by SIPp (Debian sip-tester), over UDP and TCP (TAP).

usage: test_sipp.py SIPRING SCENARIO_DIR

Scenarios (SCENARIO_DIR, tests/daemon/sipp/):
  options_uac.xml      OPTIONS, expect 200 with Server: sipring and Allow: OPTIONS
  require_420_uac.xml  OPTIONS with Require: foo, expect 420 with Unsupported: foo

Runs, each asserting SIPp's exit status 0 and, from its statistics file,
SuccessfulCall == the calls asked for and FailedCall == 0:
  OPTIONS over UDP (-t u1) and TCP (-t t1), 200 calls at 100 per second;
  Require: foo over UDP, 50 calls;
  OPTIONS with a new UDP socket per call (-t un) against two workers
  (SO_REUSEPORT: many source ports, all answered).
SIPp runs with -nostdin, a global -timeout, -trace_err and -trace_stat into a
temporary directory, bound to a free port. Skipped when sipp is not installed.
"""
import csv
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
SCEN = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "sipp")
h.require_binary(SIPRING)
t = h.Tap()
SIPP = shutil.which("sipp")
SIPP_TIMEOUT = 120  # seconds: SIPp's own global timeout; the calls take ~2 s


def last_stats(path):
    """The last row of SIPp's -trace_stat CSV as a dict, or {}."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def sipp(d, desc, scenario, calls, rate, transport, extra=()):
    work = h.tmpdir("sipring-sipp-")
    stat = os.path.join(work, "stats.csv")
    errf = os.path.join(work, "errors.log")
    out = os.path.join(work, "sipp.out")
    argv = [SIPP, h.hostport(*d.sip_addr), "-sf", os.path.join(SCEN, scenario),
            "-m", str(calls), "-r", str(rate), "-l", "100", "-t", transport,
            "-i", "127.0.0.1", "-p", str(h.free_port()), "-nostdin", "-max_socket", "1000",
            "-timeout", "%ds" % SIPP_TIMEOUT, "-timeout_error",
            "-trace_err", "-error_file", errf,
            "-trace_stat", "-stf", stat, "-fd", "1"] + list(extra)
    with open(out, "wb") as o:
        p = h.spawn(argv, cwd=work, stdin=h.subprocess.DEVNULL, stdout=o, stderr=o)
        try:
            rc = p.wait(timeout=SIPP_TIMEOUT + 60)
        except h.subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
    st = last_stats(stat)

    def tail(path, n=30):
        try:
            with open(path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return "(no %s)" % os.path.basename(path)
    diag = "argv: %s\n-- errors:\n%s\n-- sipp output:\n%s\n-- sipring log:\n%s" % (
        " ".join(argv), tail(errf), tail(out, 15), d.log_tail(15))
    t.eq(rc, 0, "%s: SIPp exit status 0" % desc, diag)
    got = (st.get("SuccessfulCall(C)"), st.get("FailedCall(C)"))
    t.eq(got, (str(calls), "0"), "%s: SIPp counts %d successful calls, none failed" % (desc, calls),
         "stats: %r\n%s" % ({k: v for k, v in st.items() if "Call" in k}, diag))


def main():
    if not SIPP:
        print("1..0 # SKIP sipp (sip-tester) is not installed")
        sys.exit(0)  # TAP skip-all: meson reads the plan; 77 would be an ERROR under TAP
    d = h.start_or_bail(t, SIPRING, "sipp", conf={"sip": {"supported": ["timer"]}})
    if d:
        try:
            t.case("udp", sipp, d, "OPTIONS over UDP", "options_uac.xml", 200, 100, "u1")
            t.case("tcp", sipp, d, "OPTIONS over TCP", "options_uac.xml", 200, 100, "t1")
            t.case("420", sipp, d, "Require: foo over UDP", "require_420_uac.xml", 50, 100, "u1")
            t.case("420 tcp", sipp, d, "Require: foo over TCP", "require_420_uac.xml", 50, 100,
                   "t1")
        finally:
            d.stop(t)
    d = h.start_or_bail(t, SIPRING, "sipp two workers", listen=("udp",),
                        conf={"node": {"workers": 2}})
    if d:
        try:
            t.case("un", sipp, d, "OPTIONS, a UDP socket per call, two workers",
                   "options_uac.xml", 300, 150, "un")
        finally:
            d.stop(t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
