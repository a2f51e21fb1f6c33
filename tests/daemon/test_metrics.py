#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's management endpoint and of `sipringctl status` (TAP).

usage: test_metrics.py SIPRING SIPRINGCTL

The daemon is waited for through GET /api/v1/status and its msg="ready" line
only (no OPTIONS probe), so that its counters hold exactly what the test sent:
after N OPTIONS, sipring_requests_received_total{method="OPTIONS"} and
sipring_responses_sent_total{code="200"} are N. The counters are snapshots that
may lag a few increments: they are polled until they reach N, then must equal N.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
CTL = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
h.require_binary(SIPRING)
t = h.Tap()

N_UDP, N_TCP = 25, 5


def exact(d, name, want, **labels):
    """The counter once it reached want (or at the deadline)."""
    h.wait_for(lambda: h.metric(d.metrics(), name, **labels) >= want)
    return h.metric(d.metrics(), name, **labels)


def case_counters(d):
    u = h.Udp()
    ok = 0
    for _ in range(N_UDP):
        m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", u.port)
        r = u.ask(m, d.sip_addr)
        ok += r is not None and r.status == 200
    u.close()
    c = h.Tcp(d.sip_addr)
    for _ in range(N_TCP):
        m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", c.local[1],
                  transport="TCP")
        r = c.ask(m)
        ok += r is not None and r.status == 200
    c.close()
    n = N_UDP + N_TCP
    t.eq(ok, n, "%d OPTIONS (UDP and TCP) answered 200" % n)
    text = d.metrics_text()
    t.ok("# TYPE sipring_requests_received_total counter" in text,
         "/metrics: Prometheus text with # TYPE lines", text[:1500])
    t.eq(exact(d, "sipring_requests_received_total", n, method="OPTIONS"), float(n),
         'sipring_requests_received_total{method="OPTIONS"} == %d' % n,
         "\n".join(x for x in d.metrics_text().splitlines() if "requests_received" in x))
    t.eq(exact(d, "sipring_responses_sent_total", n, code="200"), float(n),
         'sipring_responses_sent_total{code="200"} == %d' % n,
         "\n".join(x for x in d.metrics_text().splitlines() if "responses_sent" in x))
    ms = d.metrics()
    util = [v for (name, ls), v in ms.items()
            if name == "sipring_worker_loop_utilisation" and ("worker", "0") in ls]
    t.ok(len(util) == 1 and 0.0 <= util[0] <= 1.0,
         'sipring_worker_loop_utilisation{worker="0"} is one value in 0..1',
         "\n".join(x for x in text.splitlines() if "utilisation" in x))


def case_status(d):
    st = d.status()
    for key, typ in (("version", str), ("uptime_seconds", (int, float)), ("workers", list),
                     ("node", (str, dict)), ("state", str)):
        t.ok(isinstance(st.get(key), typ), "/api/v1/status: %s (%s)" % (
            key, typ.__name__ if isinstance(typ, type) else "/".join(x.__name__ for x in typ)),
             json.dumps(st, indent=1)[:2000])
    t.eq(len(st.get("workers") or []), 1, "/api/v1/status: one worker (node.workers: 1)")
    r = h.run([SIPRING, "--version"], timeout=30)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    t.eq(r.returncode, 0, "sipring --version: exit 0", out)
    t.ok(st.get("version") and st["version"] in out,
         "sipring --version prints the version /api/v1/status reports",
         "--version: %r, status: %r" % (out, st.get("version")))
    return st


def case_ctl(d, st):
    if not CTL or not os.access(CTL, os.X_OK):
        t.skip("sipringctl status", "sipringctl not built")
        return
    r = h.run([CTL, "status", "--url", d.url], timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    t.eq(r.returncode, 0, "sipringctl status --url: exit 0", out + r.stderr.decode())
    t.ok(st and st.get("version") and st["version"] in out,
         "sipringctl status: shows the version", out)
    r = h.run([CTL, "status", "--url", d.url, "--json"], timeout=60)
    try:
        js = json.loads(r.stdout.decode("utf-8"))
    except ValueError as e:
        js = None
        err = e
    t.eq(r.returncode, 0, "sipringctl status --json: exit 0", r.stderr.decode())
    t.ok(isinstance(js, dict) and js.get("version") == (st or {}).get("version")
         and "workers" in js, "sipringctl status --json: the status as JSON",
         r.stdout.decode("utf-8", "replace")[:2000] if js is None else js)
    if js is None:
        t.diag("JSON error: %s" % err)
    # Nobody listening there: an error, not a hang.
    r = h.run([CTL, "status", "--url", "http://127.0.0.1:%d" % h.free_port(both=False)],
              timeout=60)
    t.ok(r.returncode != 0, "sipringctl status with nobody at --url: non-zero exit",
         r.stdout.decode() + r.stderr.decode())


def main():
    d = h.start_or_bail(t, SIPRING, "metrics", probe=False)
    if d:
        try:
            t.case("counters", case_counters, d)
            st = t.case("status", case_status, d)
            t.case("sipringctl", case_ctl, d, st)
        finally:
            d.stop(t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
