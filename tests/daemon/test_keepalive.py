#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Registered contacts kept reachable (TAP).

usage: test_keepalive.py SIPRING

One daemon, the registrar without digest, registrar.keepalive every 5 s with
2 failures, Timer F 2 s (so that an unanswered OPTIONS fails in 2 s), TCP idle
timeout 5 s:

  UDP, answering   a UA that answers the keepalive OPTIONS (sent to the source
                   address its REGISTER came from, with a Via of ours and a
                   sipring branch) keeps its binding over several rounds;
  UDP, silent      a UA that stops answering loses its binding after 2
                   unanswered keepalives (metric, API, log line);
  TCP, registered  a TCP connection that registered a contact (expires 60) is
                   not closed by the 5 s idle timeout, and gets the keepalive
                   OPTIONS on that connection;
  TCP, idle        a connection that only sent OPTIONS is closed at the idle
                   timeout.
Waits are polls with generous deadlines (no timing assertion beyond "within
a deadline several times the configured period").
"""
import json
import os
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
h.require_binary(SIPRING)
t = h.Tap()
HOST = "127.0.0.1"
DEADLINE = 60.0


def register(d, sock, user, port, transport="UDP", expires=600):
    m = h.Msg("REGISTER", "sip:%s" % h.hostport(*d.sip_addr), HOST, port,
              transport=transport)
    m.set("From", "<sip:%s@%s>;tag=k%d" % (user, HOST, port))
    m.set("To", "<sip:%s@%s>" % (user, HOST))
    m.add("Contact", "<sip:%s@%s:%d%s>" % (user, HOST, port,
                                           ";transport=tcp" if transport == "TCP" else ""))
    m.add("Expires", str(expires))
    if transport == "TCP":
        return m, sock.ask(m)
    return m, sock.ask(m, d.sip_addr)


def bindings(d, aor):
    try:
        with urllib.request.urlopen(d.url + "/api/v1/registrations/" + aor, timeout=5) as r:
            return len(json.load(r)["bindings"])
    except Exception:
        return 0


def answer(req):
    """A 200 for request req (a Parsed), as bytes."""
    lines = ["SIP/2.0 200 OK"]
    for name in ("via", "from", "to", "call-id", "cseq"):
        for v in req.all(name):
            lines.append("%s: %s" % (name.title(), v))
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def udp_case(d, user, answering, rounds):
    """Returns (OPTIONS received, whether the binding is still there)."""
    u = h.Udp(HOST)
    try:
        m, r = register(d, u, user, u.port)
        t.eq(r.status if r else None, 200, "%s: REGISTER over UDP 200" % user, r)
        got = []
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and len(got) < rounds:
            msg = u.recv_msg(timeout=1.0)
            if msg is None or msg.is_response or msg.method != "OPTIONS":
                if not answering and bindings(d, user + "@" + HOST) == 0:
                    break
                continue
            got.append(msg)
            if answering:
                u.send(answer(msg), d.sip_addr)
        if not answering:
            h.wait_for(lambda: bindings(d, user + "@" + HOST) == 0, timeout=DEADLINE)
        return got, bindings(d, user + "@" + HOST)
    finally:
        u.close()


def main():
    d = h.start_or_bail(t, SIPRING, "keepalive", conf={
        "registrar": {"authenticate": False,
                      "keepalive": {"interval": 5, "failures": 2}},
        "sip": {"timers": {"timer_f": "2s"}},
        "tcp": {"idle_timeout": 5},
    })
    if not d:
        sys.exit(t.done())
    try:
        got, n = udp_case(d, "ka1", True, 3)
        t.ok(len(got) >= 3, "an answering UA gets a keepalive OPTIONS each round (3 seen)",
             len(got))
        if got:
            o = got[0]
            t.ok(o.start.startswith("OPTIONS sip:ka1@%s:" % HOST),
                 "the OPTIONS targets the registered contact", o.start)
            via = o.get("via") or ""
            t.ok("branch=z9hG4bKsr" in via and "rport" in via,
                 "its Via has a sipring branch and rport", via)
        t.eq(n, 1, "the answering UA keeps its binding")

        got, n = udp_case(d, "ka2", False, 10)
        t.ok(len(got) >= 1, "a silent UA is sent keepalives", len(got))
        t.eq(n, 0, "a silent UA loses its binding after 2 unanswered keepalives")
        ms = d.metrics()
        t.ok(h.metric_sum(ms, "sipring_location_keepalive_removed_total") >= 1,
             "sipring_location_keepalive_removed_total counts it")
        t.ok("binding removed: no answer to keepalive" in d.log(), "and it is logged",
             d.log_tail(5))

        # TCP: a registered connection outlives the idle timeout.
        c = h.Tcp(d.sip_addr)
        try:
            port = c.sock.getsockname()[1]
            m, r = register(d, c, "kt1", port, transport="TCP", expires=60)
            t.eq(r.status if r else None, 200, "REGISTER over TCP 200", r)
            o = c.read_msg(timeout=DEADLINE)
            t.ok(o is not None and not o.is_response and o.method == "OPTIONS",
                 "the keepalive OPTIONS comes on the registered connection", o)
            if o is not None and not o.is_response:
                c.send(answer(o))
            t.ok(not c.closed_by_peer(8.0),
                 "the registered connection stays open past tcp.idle_timeout (5 s)")
        finally:
            c.close()
        c = h.Tcp(d.sip_addr)
        try:
            m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), HOST,
                      c.sock.getsockname()[1], transport="TCP")
            r = c.ask(m)
            t.eq(r.status if r else None, 200, "OPTIONS over a second connection 200", r)
            t.ok(c.closed_by_peer(DEADLINE),
                 "a connection without a binding is closed at the idle timeout")
        finally:
            c.close()
    finally:
        d.stop(t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
