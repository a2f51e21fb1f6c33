#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring over UDP, with raw sockets (TAP).

usage: test_udp.py SIPRING

One daemon (one worker, so that what one socket sends is handled in order)
answers: OPTIONS to each of its names (200 with Allow, Accept, Supported),
requests for someone else (404, 483), malformed requests (400 naming the
problem, 416, 505, 513), Require (420 with Unsupported), the other methods
(ACK absorbed, CANCEL 481, INVITE 501, REGISTER without an address of record
404; tests/daemon/test_registrar.py tests the registrar), and routes the answers by
RFC 3581 rport / RFC 3261 §18.2.2. Unanswerable input (garbage, no parseable
Via) gets no answer, is counted in /metrics, and the daemon goes on serving.
A second daemon has no Server header; a third runs two workers (SO_REUSEPORT)
and answers OPTIONS from many source ports.

"No answer" is checked without sleeping: the same socket then sends a good
OPTIONS, and the first datagram that comes back must be that one's 200.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
h.require_binary(SIPRING)
t = h.Tap()

SUPPORTED = ["timer", "path"]
CONF = {
    "sip": {
        "supported": SUPPORTED,
        "domains": ["sipring.test"],
        "advertised_host": "sbc.sipring.test",
        "max_message_size": 2048,
    },
}


def client():
    return h.Udp("127.0.0.1")


def options(d, u, ruri=None, **kw):
    return h.Msg("OPTIONS", ruri or "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", u.port,
                 **kw)


def ask(d, m, u=None):
    """Send m from a new (or the given) socket; return (request, response)."""
    own = u is None
    u = u or client()
    if callable(m):
        m = m(u)
    # A dead daemon answers nothing: do not wait out every deadline.
    r = u.ask(m, d.sip_addr) if d.alive() else None
    if own:
        u.close()
    return m, r


def expect(desc, m, r, status, echo=True, reason_has=None):
    if not t.ok(r is not None, "%s: answered" % desc, "no answer within %ss" % h.ANSWER_DEADLINE):
        return False
    good = t.eq(r.status, status, "%s: %d" % (desc, status), r)
    if echo:
        p = h.echo_problems(m, r)
        t.ok(not p, "%s: Via, From, To (+tag), Call-ID, CSeq copied, Content-Length" % desc,
             "\n".join(p) + "\n%r" % r)
    if reason_has:
        t.ok(r.reason and r.reason.lower() != "bad request"
             and re.search(r"\b%s\b" % re.escape(reason_has), r.reason, re.I),
             "%s: reason phrase names the problem (%s)" % (desc, reason_has),
             "reason phrase: %r" % r.reason)
    return good


# ---------------------------------------------------------------- cases

def case_options(d):
    m, r = ask(d, lambda u: options(d, u))
    if not expect("OPTIONS to the listen address", m, r, 200):
        return
    t.eq(r.get("server"), "sipring", "OPTIONS 200: Server: sipring")
    allow = r.tokens("allow")
    t.ok("options" in allow, "OPTIONS 200: Allow lists OPTIONS", r.get("allow"))
    t.ok(bool(r.get("accept")), "OPTIONS 200: Accept present", r)
    t.eq(sorted(r.tokens("supported")), sorted(SUPPORTED),
         "OPTIONS 200: Supported lists sip.supported", r)


def case_options_names(d):
    for name, ruri in (("localhost", "sip:localhost"),
                       ("a user at the listen address", "sip:alice@127.0.0.1:%d" % d.port),
                       ("a sip.domains entry", "sip:sipring.test"),
                       ("sip.advertised_host", "sip:sbc.sipring.test"),
                       ("the listen address without port", "sip:127.0.0.1")):
        m, r = ask(d, lambda u, ruri=ruri: options(d, u, ruri))
        expect("OPTIONS to %s" % name, m, r, 200, echo=False)


def case_max_forwards(d):
    m, r = ask(d, lambda u: options(d, u, max_forwards=0))
    expect("OPTIONS to sipring with Max-Forwards: 0", m, r, 200)
    m, r = ask(d, lambda u: options(d, u, "sip:bob@example.com", max_forwards=0))
    expect("OPTIONS for someone else, Max-Forwards: 0", m, r, 483)
    m, r = ask(d, lambda u: options(d, u, "sip:bob@example.com", max_forwards=70))
    expect("OPTIONS for someone else, Max-Forwards: 70", m, r, 404)
    m, r = ask(d, lambda u: h.Msg("INFO", "sip:bob@example.com", "127.0.0.1", u.port,
                                  max_forwards=0))
    expect("INFO for someone else, Max-Forwards: 0", m, r, 483)


def case_malformed_400(d):
    def missing(name):
        return lambda u: options(d, u).remove(name)
    cases = [
        ("missing CSeq", missing("CSeq"), "CSeq"),
        ("CSeq: abc OPTIONS", lambda u: options(d, u).set("CSeq", "abc OPTIONS"), "CSeq"),
        ("CSeq method not the request's", lambda u: options(d, u).set("CSeq", "1 INVITE"),
         "CSeq"),
        ("missing Call-ID", missing("Call-ID"), "Call-ID"),
        ("two From", lambda u: options(d, u).add("From", "<sip:eve@example.com>;tag=2"),
         "From"),
        ("missing To", missing("To"), "To"),
    ]
    for desc, build, word in cases:
        m, r = ask(d, build)
        if expect("400 for %s" % desc, m, r, 400, echo=False, reason_has=word) and r:
            p = h.via_problems(m, r)
            t.ok(not p, "400 for %s: Via copied" % desc, "\n".join(p))


def case_unanswerable(d):
    u = client()
    groups = [
        ("garbage", [b"\x00\x01\x02garbage\xff\r\n\r\n",
                     b"hello world, this is not SIP\r\n\r\n"]),
        ("requests without a parseable Via", [
            options(d, u).remove("Via").bytes(),
            options(d, u).set("Via", "garbage;;;").bytes(),
            options(d, u).set("Via", "SIP/2.0/UDP").bytes()]),
    ]
    for desc, junk in groups:
        before = d.metrics()
        for j in junk:
            u.send(j, d.sip_addr)
        m = options(d, u)
        u.send(m.bytes(), d.sip_addr)
        r = u.recv_msg()
        t.ok(r is not None and r.get("call-id") == m.call_id and r.status == 200,
             "%s: no answer, the next OPTIONS is answered" % desc,
             "first datagram back: %r" % r)
        k = len(junk)
        base_drop = h.metric(before, "sipring_drops_total", reason="parse")
        base_err = h.metric(before, "sipring_parse_errors_total")
        h.wait_for(lambda: h.metric(d.metrics(), "sipring_drops_total", reason="parse")
                   >= base_drop + k)
        after = d.metrics()
        t.eq(h.metric(after, "sipring_drops_total", reason="parse") - base_drop, float(k),
             '%s: sipring_drops_total{reason="parse"} grows by %d' % (desc, k),
             "before %s; drops now: %r" % (base_drop, {ls: v for (n, ls), v in after.items()
                                                     if n == "sipring_drops_total"}))
        t.eq(h.metric(after, "sipring_parse_errors_total") - base_err, float(k),
             "%s: sipring_parse_errors_total grows by %d" % (desc, k),
             "before %s" % base_err)
    u.close()


def case_too_large(d):
    def padded(u, size):
        m = options(d, u)
        base = len(m.bytes()) + len("X-Pad: \r\n")
        m.add("X-Pad", "p" * (size - base))
        assert len(m.bytes()) == size
        return m
    m, r = ask(d, lambda u: padded(u, 4000))
    expect("a 4000-octet datagram (max_message_size 2048)", m, r, 513, echo=False)
    if r:
        t.eq(r.get("call-id"), m.call_id, "513: Call-ID copied")
    m, r = ask(d, lambda u: padded(u, 60000))
    expect("a 60000-octet datagram (max_message_size 2048)", m, r, 513, echo=False)
    m, r = ask(d, lambda u: padded(u, 2000))
    expect("a 2000-octet datagram (max_message_size 2048)", m, r, 200)


def case_scheme(d):
    m, r = ask(d, lambda u: options(d, u, "http://127.0.0.1/"))
    expect("Request-URI http:", m, r, 416)


def case_require(d):
    m, r = ask(d, lambda u: options(d, u).add("Require", "foo"))
    if expect("Require: foo", m, r, 420):
        t.eq(r.tokens("unsupported"), ["foo"], "Require: foo: Unsupported: foo", r)
    m, r = ask(d, lambda u: options(d, u).add("Require", "timer"))
    expect("Require: timer (in sip.supported)", m, r, 200)
    m, r = ask(d, lambda u: options(d, u).add("Require", "timer, foo"))
    if expect("Require: timer, foo", m, r, 420):
        un = r.tokens("unsupported")
        t.ok("foo" in un and "timer" not in un, "Require: timer, foo: Unsupported lists foo only",
             r)


def case_version(d):
    m, r = ask(d, lambda u: options(d, u, version="SIP/3.0"))
    expect("SIP/3.0", m, r, 505)


def case_methods(d):
    u = client()
    a = h.Msg("ACK", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", u.port, to_tag="x1")
    u.send(a.bytes(), d.sip_addr)
    m = options(d, u)
    u.send(m.bytes(), d.sip_addr)
    r = u.recv_msg()
    t.ok(r is not None and r.get("call-id") == m.call_id,
         "ACK absorbed (no answer; the next OPTIONS is answered first)", r)
    u.close()
    m, r = ask(d, lambda u: h.Msg("CANCEL", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1",
                                  u.port))
    expect("CANCEL for no transaction", m, r, 481)
    m, r = ask(d, lambda u: h.Msg("REGISTER", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1",
                                  u.port).add("Contact", "<sip:a@127.0.0.1:%d>" % u.port))
    expect("REGISTER whose To has no user (no address of record): 404", m, r, 404)
    u = client()
    inv = h.Msg("INVITE", "sip:bob@%s" % h.hostport(*d.sip_addr), "127.0.0.1", u.port)
    inv.add("Contact", "<sip:a@127.0.0.1:%d>" % u.port)
    m, r = ask(d, inv, u)
    expect("INVITE", m, r, 501)
    if r is not None and r.status and r.status >= 300:
        # ACK the non-2xx final (RFC 3261 §17.1.1.3) so that its retransmissions stop.
        ack = h.Msg("ACK", inv.start.split()[1], "127.0.0.1", u.port, call_id=inv.call_id)
        ack.branch = inv.branch
        ack.set("Via", inv.get("Via")).set("From", inv.get("From")).set("To", r.get("to"))
        u.send(ack.bytes(), d.sip_addr)
    u.close()


def case_compact_and_vias(d):
    def compact(u):
        m = options(d, u)
        m.headers = [[{"Via": "v", "From": "f", "To": "t", "Call-ID": "i"}.get(n, n), v]
                     for n, v in m.headers]
        return m
    m, r = ask(d, compact)
    if expect("compact header names", m, r, 200, echo=False) and r:
        t.eq((r.get("call-id"), r.get("from")), (m.get("i"), m.get("f")),
             "compact header names: Call-ID and From copied")
        t.eq(len(r.vias()), 1, "compact header names: one Via")

    def two_vias(u):
        m = options(d, u)
        m.add("Via", "SIP/2.0/UDP proxy1.example.com:5070;branch=z9hG4bKp1", 1)
        m.add("Via", "SIP/2.0/TCP proxy2.example.com;branch=z9hG4bKp2;received=192.0.2.9, "
              "SIP/2.0/UDP uac.example.com;branch=z9hG4bKp3", 2)
        return m
    m, r = ask(d, two_vias)
    if expect("three Via lines (one a list): sent back to the top one", m, r, 200, echo=False):
        want = [v.strip() for x in m.all("Via") for v in x.split(",")]
        got = r.vias()
        t.eq(got[1:], want[1:], "four Vias: all but the top copied unchanged, in order")
        t.eq(h.via_params(got[0])[1].get("branch"), m.branch, "four Vias: top branch kept")


def case_rport(d):
    # (a) rport, sent-by 127.0.0.2:9: answer to the source, received= and rport=.
    u = client()
    m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.2", 9, rport=True)
    r = u.ask(m, d.sip_addr)
    if expect("rport, sent-by another IP: answered at the source", m, r, 200):
        _, p = h.via_params(r.vias()[0])
        t.eq(p.get("rport"), str(u.port), "rport: rport=<source port>", r.vias()[0])
        t.eq(p.get("received"), "127.0.0.1", "rport: received=<source IP>", r.vias()[0])
    u.close()

    # (b) rport, sent-by 127.0.0.1:<port of another socket>: still the source.
    u, other = client(), client()
    m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", other.port)
    r = u.ask(m, d.sip_addr)
    if expect("rport, sent-by another port: answered at the source port", m, r, 200):
        t.eq(h.via_params(r.vias()[0])[1].get("rport"), str(u.port),
             "rport, sent-by another port: rport=<source port>")
    u.close()
    other.close()

    # (c) no rport: to the sent-by port (RFC 3261 §18.2.2), nothing at the source.
    u, target = client(), client()
    m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", target.port,
              rport=False)
    u.send(m.bytes(), d.sip_addr)
    r = target.recv_msg()
    if expect("no rport: answered at the Via sent-by port", m, r, 200):
        _, p = h.via_params(r.vias()[0])
        t.ok("rport" not in p, "no rport: no rport= added", r.vias()[0])
    m2 = options(d, u)
    u.send(m2.bytes(), d.sip_addr)
    r2 = u.recv_msg()
    t.ok(r2 is not None and r2.get("call-id") == m2.call_id,
         "no rport: nothing sent to the source port", "first datagram at the source: %r" % r2)
    u.close()
    target.close()

    # (d) no rport, sent-by 127.0.0.2:<port>: received=127.0.0.1, sent to received:port.
    u, target = client(), client()
    m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.2", target.port,
              rport=False)
    u.send(m.bytes(), d.sip_addr)
    r = target.recv_msg()
    if expect("no rport, sent-by another IP: answered at received:sent-by port", m, r, 200):
        t.eq(h.via_params(r.vias()[0])[1].get("received"), "127.0.0.1",
             "no rport, sent-by another IP: received=<source IP>", r.vias()[0])
    u.close()
    target.close()


def case_alive(d):
    m, r = ask(d, lambda u: options(d, u))
    expect("still serving after everything above", m, r, 200, echo=False)


def case_no_server_header():
    d = h.start_or_bail(t, SIPRING, "server_header empty", listen=("udp",),
                        conf={"sip": {"server_header": ""}})
    if not d:
        return
    try:
        m, r = ask(d, lambda u: options(d, u))
        if expect("OPTIONS with sip.server_header \"\"", m, r, 200):
            t.eq(r.all("server"), [], "sip.server_header \"\": no Server header", r)
    finally:
        d.stop(t)


def case_two_workers():
    d = h.start_or_bail(t, SIPRING, "two workers", listen=("udp",), conf={"node": {"workers": 2}})
    if not d:
        return
    try:
        n = 100
        socks = [client() for _ in range(n)]
        sent = {}
        for u in socks:
            m = options(d, u)
            sent[u.port] = m.call_id
            u.send(m.bytes(), d.sip_addr)
        answered = 0
        missing = []
        for u in socks:
            r = u.recv_msg()
            if r is not None and r.status == 200 and r.get("call-id") == sent[u.port]:
                answered += 1
            else:
                missing.append((u.port, r))
            u.close()
        t.eq(answered, n, "two workers: OPTIONS from %d source ports all answered" % n,
             "unanswered: %r" % missing[:5])
        # Responses whose branch names a worker (sipring's own format,
        # z9hG4bKsr<worker>.): the one that lands on the other worker is
        # handed over through the ring; with no transaction, both drop it.
        before = d.metrics()
        nresp = 0
        for i in range(60):
            u = client()
            owner = i % 2
            resp = ("SIP/2.0 200 OK\r\n"
                    "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKsr%d.ho%d\r\n"
                    "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
                    "Call-ID: ho-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                    % (d.sip_addr[0], d.sip_addr[1], owner, i, i))
            u.send(resp.encode(), d.sip_addr)
            nresp += 1
            u.close()
        want = h.metric_sum(before, "sipring_drops_total", reason="response") + nresp
        h.wait_for(lambda: h.metric_sum(d.metrics(), "sipring_drops_total",
                                        reason="response") >= want)
        ms = d.metrics()
        out = h.metric_sum(ms, "sipring_handover_total", direction="out")
        inn = h.metric_sum(ms, "sipring_handover_total", direction="in")
        t.eq(h.metric_sum(ms, "sipring_drops_total", reason="response"), want,
             "two workers: %d responses for no transaction dropped" % nresp)
        t.ok(out > 0 and out == inn,
             "two workers: responses on the wrong worker handed over (out %s, in %s)"
             % (out, inn))
        for w in ("0", "1"):
            t.ok(any(n_ == "sipring_worker_loop_utilisation" and ("worker", w) in ls
                     for (n_, ls) in ms),
                 "two workers: sipring_worker_loop_utilisation{worker=\"%s\"}" % w)
    finally:
        d.stop(t)


def main():
    d = h.start_or_bail(t, SIPRING, "udp", conf=CONF)
    if d:
        try:
            for name, fn in (("options", case_options), ("names", case_options_names),
                             ("max-forwards", case_max_forwards),
                             ("malformed", case_malformed_400),
                             ("unanswerable", case_unanswerable),
                             ("too large", case_too_large), ("scheme", case_scheme),
                             ("require", case_require), ("version", case_version),
                             ("methods", case_methods),
                             ("compact and vias", case_compact_and_vias),
                             ("rport", case_rport), ("alive", case_alive)):
                if d.proc.poll() is not None:
                    t.ok(False, "%s: sipring still running" % name, d.log_tail())
                    break
                t.case(name, fn, d)
        finally:
            d.stop(t)
    t.case("server header", case_no_server_header)
    t.case("two workers", case_two_workers)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
