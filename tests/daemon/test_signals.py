#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's signals: graceful stop and reload (TAP).

usage: test_signals.py SIPRING

  SIGTERM, SIGINT   log msg="stopping", exit 0 within runtime.stop_deadline
                    (plus a margin for ASan), also while traffic flows;
  SIGHUP            a changed sip.supported takes effect (420, then 200 for
                    the same Require) while OPTIONS keep flowing over UDP and on
                    an open TCP connection: every one of them is answered;
  SIGHUP, broken    the file does not load: the running configuration stays,
                    the error is logged with file:line: key, and
                    sipring_config_reloads_total{result="error"} grows.
"""
import os
import signal
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
h.require_binary(SIPRING)
t = h.Tap()


def options(d, port, transport="UDP", require=None):
    m = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), "127.0.0.1", port,
              transport=transport)
    if require:
        m.add("Require", require)
    return m


def ask_udp(d, require=None):
    u = h.Udp()
    try:
        m = options(d, u.port, require=require)
        return u.ask(m, d.sip_addr)
    finally:
        u.close()


class Traffic(threading.Thread):
    """OPTIONS one after the other (UDP, or one TCP connection) until stopped."""

    def __init__(self, d, transport):
        super().__init__(daemon=True)
        self.d = d
        self.transport = transport
        self.sent = 0
        self.answered = 0
        self.bad = []
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            if self.transport == "UDP":
                u = h.Udp()
                ask = lambda m: u.ask(m, self.d.sip_addr)  # noqa: E731
                port = u.port
            else:
                c = h.Tcp(self.d.sip_addr)
                ask = c.ask
                port = c.local[1]
            while not self.halt.is_set():
                m = options(self.d, port, self.transport)
                self.sent += 1
                r = ask(m)
                if r is not None and r.status == 200 and r.get("call-id") == m.call_id:
                    self.answered += 1
                else:
                    self.bad.append(r)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)

    def stop(self):
        self.halt.set()
        self.join(h.ANSWER_DEADLINE * 3)


def case_stop(sig, name, traffic):
    d = h.start_or_bail(t, SIPRING, name, conf={"runtime": {"stop_deadline": "2s"}})
    if not d:
        return
    tr = None
    if traffic:
        tr = Traffic(d, "UDP")
        tr.start()
        h.wait_for(lambda: tr.answered >= 10 or tr.error)
    d.stopped = True
    d.send_signal(sig)
    exited = d.wait_exit(2.0 + h.STOP_MARGIN)
    if not exited:
        d.proc.kill()
        d.proc.wait()
    if tr:
        tr.stop()
    t.ok(exited, "%s: exits within runtime.stop_deadline (2s) plus a margin" % name)
    t.eq(d.proc.returncode, 0, "%s: exit status 0" % name, d.log_tail())
    log = d.log()
    t.ok('msg="stopping"' in log or "msg=stopping" in log, "%s: logs msg=\"stopping\"" % name,
         d.log_tail())
    d.check_exit(t, exited)


def case_reload(d):
    r = ask_udp(d, "foo")
    t.eq(r and r.status, 420, "before SIGHUP: Require: foo gets 420", r)
    udp, tcp = Traffic(d, "UDP"), Traffic(d, "TCP")
    udp.start()
    tcp.start()
    h.wait_for(lambda: (udp.answered >= 20 and tcp.answered >= 20) or udp.error or tcp.error)
    conf = d.config()
    conf["sip"]["supported"] = ["timer", "foo"]
    d.write_config(conf)
    d.send_signal(signal.SIGHUP)
    r = h.wait_for(lambda: (lambda r: r if r is not None and r.status == 200 else None)(
        ask_udp(d, "foo")), timeout=30.0, interval=0.1)
    t.ok(r is not None, "after SIGHUP: Require: foo gets 200 (sip.supported reloaded)",
         "last answer: %r\n%s" % (ask_udp(d, "foo"), d.log_tail()))
    mark = (udp.answered, tcp.answered)
    h.wait_for(lambda: (udp.answered >= mark[0] + 20 and tcp.answered >= mark[1] + 20)
               or udp.error or tcp.error)
    udp.stop()
    tcp.stop()
    for name, tr in (("UDP", udp), ("TCP", tcp)):
        t.ok(tr.error is None and tr.sent >= 40 and tr.answered == tr.sent,
             "reload under %s traffic: every OPTIONS answered" % name,
             "sent %d, answered %d, error %s, bad %r" % (tr.sent, tr.answered, tr.error,
                                                           tr.bad[:3]))
    r = ask_udp(d)
    t.ok(r is not None and "foo" in r.tokens("supported"),
         "after SIGHUP: OPTIONS 200 lists the new Supported", r)
    t.ok(d.proc.poll() is None, "after SIGHUP: still running", d.log_tail())


def case_broken_reload(d):
    good = d.config()  # what runs now (sip.supported has foo, from case_reload)
    good["sip"]["supported"] = ["timer", "foo"]
    for key, leaf, bad_value in (("sip.max_message_size", "max_message_size", 70000),
                                 ("sip.suported", "suported", ["timer"])):
        before = d.metrics()
        base = h.metric(before, "sipring_config_reloads_total", result="error")
        conf = h.deep_merge(good, {"sip": {leaf: bad_value}})
        text = d.write_config(conf)
        line = next(i for i, s in enumerate(text.splitlines(), 1)
                    if s.strip().startswith(leaf + ":"))
        log_len = len(d.log())
        d.send_signal(signal.SIGHUP)
        after = h.wait_for(lambda: (lambda ms: ms if h.metric(
            ms, "sipring_config_reloads_total", result="error") > base else None)(d.metrics()),
            timeout=30.0, interval=0.1)
        t.ok(after is not None,
             "broken reload (%s): sipring_config_reloads_total{result=\"error\"} grows" % key,
             "before %s, now %s" % (base, h.metric(d.metrics(), "sipring_config_reloads_total",
                                                   result="error")))
        want = "%s:%d: %s" % (d.conf_path, line, key)
        logged = h.wait_for(lambda: want in d.log()[log_len:], timeout=10.0)
        t.ok(logged, "broken reload (%s): logs %s: ..." % (key, want), d.log()[log_len:][-2000:])
        t.ok(d.proc.poll() is None, "broken reload (%s): still running" % key, d.log_tail())
        r = ask_udp(d, "foo")
        t.eq(r and r.status, 200, "broken reload (%s): the old configuration runs on" % key, r)
    d.write_config(good)


def main():
    t.case("SIGTERM", case_stop, signal.SIGTERM, "SIGTERM", False)
    t.case("SIGINT", case_stop, signal.SIGINT, "SIGINT", False)
    t.case("SIGTERM under traffic", case_stop, signal.SIGTERM, "SIGTERM under traffic", True)
    d = h.start_or_bail(t, SIPRING, "reload", conf={"sip": {"supported": ["timer"]}})
    if d:
        try:
            t.case("reload", case_reload, d)
            t.case("broken reload", case_broken_reload, d)
        finally:
            d.stop(t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
