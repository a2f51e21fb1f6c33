#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's pcap trace, read back with tshark (TAP).

usage: test_trace.py SIPRING

For each filter (all, call-id:X, ip:ADDR) a daemon traces to a file in its
temporary directory while OPTIONS go over UDP and TCP; the daemon is stopped
(it flushes on exit), then
  tshark -r FILE -Y sip -T fields -e sip.Method -e sip.Status-Code -e sip.Call-ID
must open the file and list each traced request and its 200, and nothing the
filter excludes. Skipped when tshark is not installed.
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
h.require_binary(SIPRING)
t = h.Tap()
TSHARK = shutil.which("tshark")


def traced(d, desc, pcap):
    """[(method, status, call-id)] that tshark finds in pcap; None if it fails."""
    if not t.ok(os.path.exists(pcap), "%s: the trace file exists" % desc, pcap):
        return None
    p = d.port
    r = h.run([TSHARK, "-n", "-r", pcap, "-d", "udp.port==%d,sip" % p,
               "-d", "tcp.port==%d,sip" % p, "-Y", "sip", "-T", "fields",
               "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID"], timeout=120)
    err = r.stderr.decode("utf-8", "replace")
    # As root tshark warns that it runs as root; anything else on stderr is a complaint.
    complaints = [x for x in err.splitlines() if x.strip() and "root" not in x.lower()]
    t.ok(r.returncode == 0 and not complaints, "%s: tshark reads the trace" % desc,
         "exit %d\n%s" % (r.returncode, err))
    rows = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        f = (line.split("\t") + ["", "", ""])[:3]
        rows.append((f[0], f[1], f[2]))
    return rows


def send_options(d, call_id, transport="UDP", src="127.0.0.1", cseq=1):
    if transport == "UDP":
        u = h.Udp(src)
        m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), src, u.port, call_id=call_id,
                  cseq=cseq)
        r = u.ask(m, d.sip_addr)
        u.close()
    else:
        c = h.Tcp(d.sip_addr)
        m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), src, c.local[1],
                  transport="TCP", call_id=call_id, cseq=cseq)
        r = c.ask(m)
        c.close()
    return r is not None and r.status == 200


def has_pair(rows, cid, n=1):
    reqs = sum(1 for m, s, c in rows if c == cid and m == "OPTIONS")
    resps = sum(1 for m, s, c in rows if c == cid and s == "200")
    return reqs >= n and resps >= n


def trace_daemon(name, filt):
    d = h.Daemon(SIPRING, name)
    pcap = os.path.join(d.dir, "trace.pcap")
    d.extra = {"trace": {"file": pcap, "filter": filt}}
    ok, why = d.start()
    if not t.ok(ok, "%s: sipring starts with trace.filter %s" % (name, filt), why):
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        d.stopped = True
        return None, pcap
    return d, pcap


def case_all():
    d, pcap = trace_daemon("trace all", "all")
    if not d:
        return
    cids = [("UDP", h.new_callid()) for _ in range(3)] + [("TCP", h.new_callid())
                                                          for _ in range(2)]
    sent = [send_options(d, cid, tr) for tr, cid in cids]
    t.eq(sent, [True] * len(cids), "trace all: 3 UDP and 2 TCP OPTIONS answered")
    d.stop(t)
    rows = traced(d, "trace all", pcap)
    if rows is None:
        return
    for tr, cid in cids:
        t.ok(has_pair(rows, cid), "trace all: the %s OPTIONS and its 200 are in the trace" % tr,
             "rows for it: %r\nfirst rows: %r" % ([x for x in rows if x[2] == cid], rows[:10]))


def case_callid():
    d, pcap = trace_daemon("trace call-id", "call-id:traced-dialog@itest")
    if not d:
        return
    x = "traced-dialog@itest"
    sent = [send_options(d, x, "UDP", cseq=1), send_options(d, "other-1@itest", "UDP"),
            send_options(d, x, "TCP", cseq=2), send_options(d, "other-2@itest", "TCP")]
    t.eq(sent, [True] * 4, "trace call-id: OPTIONS answered")
    d.stop(t)
    rows = traced(d, "trace call-id", pcap)
    if rows is None:
        return
    t.ok(has_pair(rows, x, 2), "trace call-id: the dialog's 2 requests and 2 answers are there",
         rows)
    t.eq(sorted(set(c for _, _, c in rows)), [x], "trace call-id: only that Call-ID is traced")


def case_ip():
    d, pcap = trace_daemon("trace ip", "ip:127.0.0.2")
    if not d:
        return
    a, b = h.new_callid(), h.new_callid()
    sent = [send_options(d, a, "UDP", src="127.0.0.2"), send_options(d, b, "UDP")]
    t.eq(sent, [True, True], "trace ip: OPTIONS from 127.0.0.2 and 127.0.0.1 answered")
    d.stop(t)
    rows = traced(d, "trace ip", pcap)
    if rows is None:
        return
    t.ok(has_pair(rows, a), "trace ip: the exchange with 127.0.0.2 is there", rows)
    t.eq(sorted(set(c for _, _, c in rows)), [a], "trace ip: only the exchange with 127.0.0.2")


def main():
    if not TSHARK:
        print("1..0 # SKIP tshark is not installed")
        sys.exit(0)  # TAP skip-all: meson reads the plan; 77 would be an ERROR under TAP
    t.case("all", case_all)
    t.case("call-id", case_callid)
    t.case("ip", case_ip)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
