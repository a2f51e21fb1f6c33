#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring over TCP, with raw sockets (TAP).

usage: test_tcp.py SIPRING

Responses come back on the connection the request came on (whatever the Via
says); two requests in one segment get two responses in order; one request
split over three segments gets one; a CRLFCRLF ping gets a CRLF pong (RFC 5626
§4.4.1); a Content-Length above sip.max_message_size gets 513; a connection idle
for longer than tcp.idle_timeout is closed; connections beyond
tcp.max_connections are closed at once and counted.
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
h.require_binary(SIPRING)
t = h.Tap()

CONF = {"sip": {"max_message_size": 2048, "supported": ["timer"]},
        "tcp": {"idle_timeout": "5s"}}
IDLE_DEADLINE = 90.0  # generous: the idle timeout is 5 s


def connect(d, nodelay=False):
    return h.Tcp(d.sip_addr, nodelay=nodelay)


def options(d, c, **kw):
    return h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), c.local[0], c.local[1],
                 transport="TCP", **kw)


def expect(desc, m, r, status, echo=True):
    if not t.ok(r is not None, "%s: answered" % desc, "no answer within %ss" % h.ANSWER_DEADLINE):
        return False
    good = t.eq(r.status, status, "%s: %d" % (desc, status), r)
    if echo:
        p = h.echo_problems(m, r)
        t.ok(not p, "%s: Via, From, To (+tag), Call-ID, CSeq copied, Content-Length" % desc,
             "\n".join(p) + "\n%r" % r)
    return good


def case_options(d):
    c = connect(d)
    m = options(d, c)
    r = c.ask(m)
    if expect("OPTIONS over TCP", m, r, 200):
        t.eq(r.get("server"), "sipring", "OPTIONS over TCP: Server: sipring")
    answered = 0
    for _ in range(20):
        m = options(d, c)
        r = c.ask(m)
        answered += r is not None and r.status == 200 and r.get("call-id") == m.call_id
    t.eq(answered, 20, "20 more OPTIONS on the same connection, one after the other")
    c.close()


def case_same_connection(d):
    # The Via names another host and no rport: a TCP answer still goes on the connection.
    c = connect(d)
    m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.2", 9, transport="TCP",
              rport=False)
    r = c.ask(m)
    expect("Via sent-by elsewhere, no rport: answered on the connection", m, r, 200)
    c.close()


def case_two_in_one_segment(d):
    c = connect(d)
    a, b = options(d, c), options(d, c)
    c.send(a.bytes() + b.bytes())
    r1 = c.read_msg()
    r2 = c.read_msg()
    t.eq([getattr(r1, "status", None), getattr(r2, "status", None)], [200, 200],
         "two requests in one segment: two 200s")
    t.eq([r1 and r1.get("call-id"), r2 and r2.get("call-id")], [a.call_id, b.call_id],
         "two requests in one segment: answered in order")
    c.close()


def case_split(d):
    # Three segments: inside the start line, inside the body; then the CRLFCRLF itself split.
    for desc, cut in (("start line / body", lambda n, hdr: (10, n - 4)),
                      ("header end CRLF|CRLF", lambda n, hdr: (hdr - 2, hdr + 1))):
        c = connect(d, nodelay=True)
        m = options(d, c)
        m.add("Content-Type", "text/plain")
        m.body = b"0123456789"
        raw = m.bytes()
        hdr_end = raw.index(b"\r\n\r\n") + 2
        i, j = cut(len(raw), hdr_end)
        for part in (raw[:i], raw[i:j], raw[j:]):
            c.send(part)
            time.sleep(0.1)  # a pause between segments, not a wait for the daemon
        r = c.read_msg()
        if expect("one request in three segments (%s)" % desc, m, r, 200, echo=False):
            t.eq(r.get("call-id"), m.call_id, "three segments (%s): Call-ID" % desc)
        # No second answer for the same request: the next one is answered first.
        m2 = options(d, c)
        r2 = c.ask(m2)
        t.ok(r2 is not None and r2.get("call-id") == m2.call_id,
             "three segments (%s): exactly one answer" % desc, r2)
        c.close()


def case_keepalive(d):
    c = connect(d)
    c.send(b"\r\n\r\n")
    pong = c.read_exact(2)
    t.eq(pong, b"\r\n", "CRLFCRLF ping: CRLF pong")
    m = options(d, c)
    r = c.ask(m)
    expect("OPTIONS after a keep-alive on the same connection", m, r, 200, echo=False)
    c.close()


def case_too_large(d):
    c = connect(d)
    m = options(d, c)
    m.content_length = False
    m.add("Content-Type", "text/plain")
    m.add("Content-Length", "100000")
    c.send(m.bytes())  # the head only: the daemon must not wait for 100000 octets
    desc = "Content-Length: 100000 (max_message_size 2048)"
    try:
        r = c.read_msg()
        why = "no answer within %ss" % h.ANSWER_DEADLINE
    except h.Eof:
        r = None
        why = "sipring closed the connection without a response (octets received: %r)" % c.buf
    if t.ok(r is not None, "%s: answered" % desc, why) and \
            t.eq(r.status, 513, "%s: 513" % desc, r):
        t.eq(r.get("call-id"), m.call_id, "513 over TCP: Call-ID copied")
    c.close()


def case_idle(d):
    c = connect(d)
    m = options(d, c)
    r = c.ask(m)
    expect("idle: OPTIONS first", m, r, 200, echo=False)
    t.ok(c.closed_by_peer(IDLE_DEADLINE), "idle connection closed after tcp.idle_timeout (5s)",
         "still open after %ds" % IDLE_DEADLINE)
    c.close()
    ms = d.metrics()
    t.ok(ms is not None, "idle: /metrics still answers")


def case_alive(d):
    c = connect(d)
    m = options(d, c)
    expect("still serving after everything above", m, c.ask(m), 200, echo=False)
    c.close()


def case_max_connections():
    d = h.start_or_bail(t, SIPRING, "tcp max_connections", listen=("tcp",),
                        conf={"tcp": {"max_connections": 2}})
    if not d:
        return
    try:
        before = d.metrics()
        a, b = connect(d), connect(d)
        for name, c in (("first", a), ("second", b)):
            m = options(d, c)
            expect("max_connections 2: %s connection" % name, m, c.ask(m), 200, echo=False)
        x = connect(d)
        try:
            x.send(options(d, x))
        except OSError:
            pass
        try:
            r = x.read_msg()
            closed = False
        except h.Eof:
            r, closed = None, True
        t.ok(closed and r is None, "max_connections 2: a third connection is closed at once",
             "answer on the third: %r (closed: %s)" % (r, closed))
        x.close()
        for name, c in (("first", a), ("second", b)):
            m = options(d, c)
            expect("max_connections 2: %s connection still served" % name, m, c.ask(m), 200,
                   echo=False)
        refused = lambda ms: {n: v for (n, ls), v in ms.items() if "refused" in n}  # noqa: E731
        after = h.wait_for(lambda: (lambda ms: ms if sum(refused(ms).values()) >
                                    sum(refused(before).values()) else None)(d.metrics()))
        t.ok(after is not None, "max_connections 2: the refused connection is counted in /metrics",
             "series with 'refused': %r" % refused(d.metrics()))
        if after:
            t.diag("refused counted as %r" % refused(after))
        # Once one closes, a new connection is served (the daemon sees the close).
        a.close()

        def fresh():
            try:
                c = connect(d)
                m = options(d, c)
                r = c.ask(m, timeout=2.0)
                c.close()
                return r is not None and r.status == 200
            except (OSError, h.Eof):
                return False
        t.ok(h.wait_for(fresh, timeout=30.0, interval=0.2),
             "max_connections 2: after a close, a new connection is served")
        b.close()
    finally:
        d.stop(t)


def main():
    d = h.start_or_bail(t, SIPRING, "tcp", conf=CONF)
    if d:
        try:
            for name, fn in (("options", case_options), ("same connection", case_same_connection),
                             ("two in one segment", case_two_in_one_segment),
                             ("split", case_split), ("keepalive", case_keepalive),
                             ("too large", case_too_large), ("idle", case_idle),
                             ("alive", case_alive)):
                if d.proc.poll() is not None:
                    t.ok(False, "%s: sipring still running" % name, d.log_tail())
                    break
                t.case(name, fn, d)
        finally:
            d.stop(t)
    t.case("max connections", case_max_connections)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
