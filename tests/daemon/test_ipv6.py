#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring on [::1], over UDP and TCP (TAP).

usage: test_ipv6.py SIPRING

Skipped (TAP "1..0 # SKIP") when the machine has no ::1.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
h.require_binary(SIPRING)
t = h.Tap()


def expect(desc, m, r, status):
    if not t.ok(r is not None, "%s: answered" % desc, "no answer within %ss" % h.ANSWER_DEADLINE):
        return False
    good = t.eq(r.status, status, "%s: %d" % (desc, status), r)
    p = h.echo_problems(m, r)
    t.ok(not p, "%s: Via, From, To (+tag), Call-ID, CSeq copied, Content-Length" % desc,
         "\n".join(p) + "\n%r" % r)
    return good


def case_udp(d):
    u = h.Udp("::1")
    m = h.Msg("OPTIONS", "sip:[::1]:%d" % d.port, "::1", u.port)
    r = u.ask(m, d.sip_addr)
    if expect("OPTIONS over UDP on [::1]", m, r, 200):
        t.eq(h.via_params(r.vias()[0])[1].get("rport"), str(u.port),
             "UDP on [::1]: rport=<source port>", r.vias()[0])
    m = h.Msg("OPTIONS", "sip:bob@example.com", "::1", u.port, max_forwards=0)
    expect("UDP on [::1]: someone else, Max-Forwards 0", m, u.ask(m, d.sip_addr), 483)
    u.close()

    # No rport: to the sent-by port of [::1].
    u, target = h.Udp("::1"), h.Udp("::1")
    m = h.Msg("OPTIONS", "sip:[::1]", "::1", target.port, rport=False)
    u.send(m.bytes(), d.sip_addr)
    expect("UDP on [::1], no rport: answered at the sent-by port", m, target.recv_msg(), 200)
    u.close()
    target.close()


def case_tcp(d):
    c = h.Tcp(d.sip_addr)
    m = h.Msg("OPTIONS", "sip:[::1]:%d" % d.port, "::1", c.local[1], transport="TCP")
    expect("OPTIONS over TCP on [::1]", m, c.ask(m), 200)
    c.send(b"\r\n\r\n")
    t.eq(c.read_exact(2), b"\r\n", "TCP on [::1]: CRLFCRLF ping, CRLF pong")
    c.close()


def main():
    if not h.have_ipv6():
        print("1..0 # SKIP no ::1 on this machine")
        sys.exit(0)  # TAP skip-all: meson reads the plan; 77 would be an ERROR under TAP
    d = h.start_or_bail(t, SIPRING, "ipv6", host="::1")
    if d:
        try:
            t.case("udp", case_udp, d)
            t.case("tcp", case_tcp, d)
        finally:
            d.stop(t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
