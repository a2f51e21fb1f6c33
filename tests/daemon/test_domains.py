#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's domain table (storage/domains.h) as the daemon
uses it: uplinks whose registrar is a domain name (TAP).

usage: test_domains.py SIPRING [SCENARIO_DIR [SIPRINGCTL]]

A real authoritative DNS server (tests/storage/dns_server.py through
harness.DnsServer: its zone a JSON file rewritten with a rename while it runs)
is the daemon's only resolver (dns.servers); the registrars are UDP stubs
(harness.UdpRegistrar: 200 to every REGISTER) on one port P of 127.0.0.1 and
127.0.0.2 (Linux answers on all of 127.0.0.0/8), and a port that never answers
(harness.UdpSink) on 127.0.0.3:P. The uplinks give the registrar as a name and
the port P (one of them no port: RFC 3263); dns.ttl_floor 1, uplinks.retry_delay
1, sip.timers.timer_f 2000. SCENARIO_DIR is taken for the suite's argument
convention (test_uplinks.py's); no SIPp scenario is needed here.

  pending       late.test, the server silent for it: while the entry is pending
                the uplink waits (registering, no failure); then timeout, the
                uplink failed ("cannot resolve the registrar"); answered and
                POST .../late.test/resolve: ok, the uplink registers.
  name          one.test A 127.0.0.1 (TTL 2): the uplink registers there; GET
                /api/v1/domains shows the host entry ok with 127.0.0.1, its ttl,
                queries > 0; `sipringctl domains [NAME]` lists it; the gauges.
  rfc3263       an uplink without a port: its name is a naptr entry (RFC 3263);
                no NAPTR record, so SRV _sip._udp.srv.test gives tgt.test and
                the port; the uplink registers at 127.0.0.1:P.
  nxdomain      a name the zone lacks: the entry nxdomain, the uplink failed
                with "cannot resolve the registrar"; sipring_dns_failures_total.
  servfail      a name the server answers SERVFAIL for: the entry servfail.
  round robin   rr.test A 127.0.0.3 (nothing answers) and A 127.0.0.1, two
                uplinks on it: round robin sends one of them to 127.0.0.3
                first; both end registered at 127.0.0.1:P.
  manual        manual.test TTL 3600 moved to 127.0.0.2: the entry keeps
                127.0.0.1 until POST /api/v1/domains/<name>/resolve, then shows
                127.0.0.2 at once; back with `sipringctl domains resolve NAME`;
                POST /api/v1/domains/resolve (all); unknown names 404.
  change        one.test moved to 127.0.0.2 (TTL 2): the table follows by
                itself; the next REGISTER goes to 127.0.0.2:P; the uplink's
                "registrar" says so.
  stale         stale.test answered, then the server silent for it: past the
                TTL the entry is stale with the old address; a manual register
                still goes there.
  reload        uplinks removed from the file + SIGHUP: the removed registered
                one unregisters; the names nothing uses any more leave the
                table, the others stay.
  dead server   a second daemon whose dns.servers is a closed UDP port
                (dns.timeout 200 ms, tries 1): the entry timeout or unreachable.
  redis         two daemons on one redis-server (harness.RedisServer), without
                and with redis.password: the first writes
                sipring:domain:host:<name> (the documented fields), the
                sipring:domains index, releases the lock; the second imports
                the entry (node = the first's name, no DNS query of its own).

Every wait is a poll with a generous deadline (ASan, two noisy cores); nothing
asserts that something happened fast. Without a python3 that has dnslib the
script skips (TAP "1..0 # SKIP": exit status 77 is an ERROR under meson's TAP
protocol), and so without 127.0.0.2 and .3 to bind; the redis cases skip without
redis-server.
"""
import json
import os
import re
import shutil
import signal
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
SCEN = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "sipp")
CTL = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else None
h.require_binary(SIPRING)
t = h.Tap()
HOST = "127.0.0.1"
HOST2 = "127.0.0.2"
HOST3 = "127.0.0.3"
PORT = [None]  # P: the registrars' port on 127.0.0.1, .2 and .3
DEADLINE = 60.0  # for what the daemon does by itself (resolve, register, retry, refresh)


# ---------------------------------------------------------------- daemons

class DnsDaemon(h.Daemon):
    """A daemon with an uplinks file in its directory (uplinks.file)."""

    def __init__(self, name, uplinks, conf=None):
        super().__init__(SIPRING, name, conf=conf)
        self.uplinks_path = os.path.join(self.dir, "uplinks.yaml")
        self.write_uplinks(uplinks)
        self.extra = h.deep_merge({"uplinks": {"file": self.uplinks_path}}, self.extra)

    def write_uplinks(self, uplinks):
        text = h.yaml_dump({"uplinks": uplinks}) + "\n"
        tmp = self.uplinks_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.uplinks_path)
        return text


def start(name, uplinks, conf=None):
    d = DnsDaemon(name, uplinks, conf=conf)
    ok, why = d.start()
    if not t.ok(ok, "%s: sipring starts and becomes ready" % name, why):
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.stopped = True
        return None
    return d


def dns_conf(dns, **kw):
    c = {"servers": [dns.server], "timeout": 1000, "tries": 2, "ttl_floor": 1,
         "ttl_ceiling": 3600, "negative_ttl": 30}
    c.update(kw)
    return c


def uplink(name, registrar, port, user):
    return {"name": name, "registrar": registrar, "port": port, "user": user,
            "password": "pw-" + user}


# ---------------------------------------------------------------- the API

def q(name):
    return urllib.parse.quote(name, safe="")


def domains_list(d):
    s, body = h.http_get(d.url + "/api/v1/domains")
    if s != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def domain_entries(d, name):
    """GET /api/v1/domains/<name>: the entries, [] on 404, None on other errors."""
    s, body = h.http_get(d.url + "/api/v1/domains/" + q(name))
    if s == 404:
        return []
    if s != 200:
        return None
    try:
        return json.loads(body).get("domains")
    except ValueError:
        return None


def host_entry(d, name, kind="host"):
    for e in domain_entries(d, name) or []:
        if e.get("kind") == kind:
            return e
    return None


def ip_of(a):
    """'127.0.0.1', '127.0.0.1:5060', '[::1]:5060', '::1' -> the IP."""
    if a.startswith("["):
        return a[1:a.find("]")]
    if a.count(":") == 1:
        return a.split(":")[0]
    return a


def addrs(e):
    """The IPs of an entry (all its targets), in order."""
    return [ip_of(a) for tg in (e or {}).get("targets") or [] for a in tg.get("addresses") or []]


def wait_entry(d, name, pred, timeout=DEADLINE, kind="host"):
    """Poll GET /api/v1/domains/<name> until pred(its entry of kind) holds; the last
    entry."""
    last = [None]

    def f():
        if not d.alive():
            return True
        last[0] = host_entry(d, name, kind)
        return last[0] is not None and pred(last[0])
    h.wait_for(f, timeout, 0.1)
    return last[0]


def api_uplink(d, name):
    s, body = h.http_get(d.url + "/api/v1/uplinks/" + q(name))
    if s != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def wait_uplink(d, name, pred, timeout=DEADLINE):
    last = [None]

    def f():
        if not d.alive():
            return True
        last[0] = api_uplink(d, name)
        return last[0] is not None and pred(last[0])
    h.wait_for(f, timeout, 0.1)
    return last[0]


def post(d, path):
    return h.http_request("POST", d.url + path, body=b"")


def metrics(d):
    try:
        return d.metrics()
    except Exception:  # noqa: BLE001 - an absent endpoint shows as empty
        return {}


def metric_lines(d, prefixes=("sipring_domains", "sipring_dns")):
    try:
        return "\n".join(x for x in d.metrics_text().splitlines() if x.startswith(prefixes))
    except Exception:  # noqa: BLE001
        return "(no metrics)"


def wait_metrics(d, pred, timeout=h.ANSWER_DEADLINE):
    """Poll /metrics until pred(parsed) holds (the domain gauges are counted once a
    second): whether it did."""
    return bool(h.wait_for(lambda: not d.alive() or pred(metrics(d)), timeout, 0.1)) and \
        pred(metrics(d))


def ctl(*args):
    out = h.run([CTL] + list(args), timeout=60)
    return out.returncode, out.stdout.decode("utf-8", "replace"), \
        out.stderr.decode("utf-8", "replace")


def have_ctl():
    if not CTL or not os.access(CTL, os.X_OK):
        return False
    r = h.run([CTL, "--help"], timeout=60)
    return b"domains" in r.stdout + r.stderr


def diag(d, names=(), uplinks=(), dns=None):
    """The entries and uplinks named, the DNS queries seen, the log's tail."""
    out = []
    for n in names:
        out.append("entry %s: %s" % (n, json.dumps(domain_entries(d, n), sort_keys=True)))
    for n in uplinks:
        out.append("uplink %s: %s" % (n, json.dumps(api_uplink(d, n), sort_keys=True)))
    if dns is not None:
        for n in names:
            qs = dns.queries(n)
            out.append("DNS queries for %s: %d, last: %s" % (n, len(qs), qs[-4:]))
    out.append("-- sipring log:\n" + d.log_tail(20))
    return "\n".join(out)


def state_is(*states):
    return lambda u: u.get("state") in states


# ---------------------------------------------------------------- the main daemon's cases

def case_pending(d, dns, a):
    """Until the name resolves the REGISTER waits (not failed); a name that cannot be
    resolved fails the attempt; once it resolves the uplink registers."""
    u = api_uplink(d, "u-late")
    e = host_entry(d, "late.test")
    if e is not None and e.get("status") == "pending" and u is not None:
        t.ok(u.get("state") == "registering" and (u.get("failures") or 0) == 0 and
             u.get("last_reason") in ("", None),
             "late.test (the server silent for it) pending: u-late waits, registering, no "
             "failure yet", "uplink %r\nentry %r" % (u, e))
    else:
        t.skip("late.test pending: u-late waits",
               "the entry was no longer pending when the test looked: %r" % (e,))
    e = wait_entry(d, "late.test", lambda e: e.get("status") not in ("pending",))
    t.ok(e is not None and e.get("status") == "timeout" and addrs(e) == [],
         "late.test: no answer: the entry is timeout, no address",
         diag(d, ["late.test"], dns=dns))
    u = wait_uplink(d, "u-late", lambda u: u.get("state") == "failed")
    t.ok(u is not None and u.get("last_reason") == "cannot resolve the registrar",
         "u-late: then failed, cannot resolve the registrar", u)
    dns.set_zone(names={"sf.test": "servfail"})
    s, body = post(d, "/api/v1/domains/late.test/resolve")
    t.eq(s, 202, "late.test answered now: POST /api/v1/domains/late.test/resolve: 202", body)
    e = wait_entry(d, "late.test", lambda e: e.get("status") == "ok")
    t.ok(e is not None and addrs(e) == [HOST], "late.test: ok, 127.0.0.1",
         diag(d, ["late.test"], dns=dns))
    u = wait_uplink(d, "u-late", state_is("registered"))
    t.ok(u is not None and u.get("state") == "registered" and a.count("late") >= 1,
         "u-late: registered once the name resolves (retried after uplinks.retry_delay)",
         diag(d, ["late.test"], ["u-late"]))


def case_name(d, dns, a):
    """1. A registrar given as a name registers at its A record."""
    e = wait_entry(d, "one.test", lambda e: e.get("status") == "ok")
    t.ok(e is not None and e.get("status") == "ok" and addrs(e) == [HOST],
         "one.test: GET /api/v1/domains/one.test: a host entry, ok, address 127.0.0.1",
         diag(d, ["one.test"], dns=dns))
    if e:
        t.ok(e.get("kind") == "host" and e.get("name") == "one.test" and
             e.get("literal") is False and e.get("node") == "",
             "one.test: kind host, the name, not literal, node \"\" (this node)", e)
        t.ok(isinstance(e.get("ttl"), int) and 1 <= e["ttl"] <= 2 and
             (e.get("queries") or 0) > 0 and (e.get("resolved_at") or 0) > 0 and
             (e.get("expires_at") or 0) >= (e.get("resolved_at") or 0),
             "one.test: ttl 2 (the record's, ttl_floor 1), queries > 0, resolved_at and "
             "expires_at set", e)
    u = wait_uplink(d, "u-one", state_is("registered"))
    t.ok(u is not None and u.get("state") == "registered" and
         u.get("registrar") == "%s:%d" % (HOST, a.port),
         "u-one (registrar one.test): registered, registrar 127.0.0.1:<P>",
         diag(d, ["one.test"], ["u-one"], dns))
    regs = a.registers("one")
    m = regs[0][1] if regs else None
    t.ok(m is not None and re.match(r"^REGISTER sip:127\.0\.0\.1:%d(;[^ ]*)? SIP/2\.0$" % a.port,
                                    m.start) and
         "<sip:one@one.test>" in (m.get("to") or ""),
         "u-one: the REGISTER reached 127.0.0.1:<P>: Request-URI sip:127.0.0.1:<P> (the "
         "address sent to), To <sip:one@one.test> (the name)",
         "\n".join("%s\nTo: %s" % (m.start, m.get("to")) for _, m in regs[:3]))
    lst = domains_list(d)
    names = [(x.get("name"), x.get("kind")) for x in (lst or {}).get("domains") or []]
    t.ok(lst is not None and ("one.test", "host") in names and lst.get("truncated") is False,
         "GET /api/v1/domains: lists one.test (host), truncated false", lst)
    t.eq(names, sorted(names), "GET /api/v1/domains: sorted by name", names)
    t.ok(wait_metrics(d, lambda ms: h.metric(ms, "sipring_domains", status="ok") >= 1 and
                      h.metric(ms, "sipring_dns_queries_total") > 0),
         'sipring_domains{status="ok"} >= 1, sipring_dns_queries_total > 0', metric_lines(d))
    if not have_ctl():
        t.skip("sipringctl domains", "sipringctl not built, or without the domains command")
        return
    rc, out, err = ctl("domains", "--url", d.url)
    t.ok(rc == 0 and "one.test" in out and "ok" in out and HOST in out,
         "sipringctl domains --url: exit 0, lists one.test, ok, 127.0.0.1", out + err)
    rc, out, err = ctl("domains", "one.test", "--url", d.url)
    t.ok(rc == 0 and "one.test" in out and HOST in out and "manual.test" not in out,
         "sipringctl domains one.test: that name", out + err)
    rc, out, err = ctl("domains", "nope.test", "--url", d.url)
    t.eq(rc, 1, "sipringctl domains <unknown>: exit 1", out + err)


def case_rfc3263(d, dns, a):
    """No port: the name goes through RFC 3263 (NAPTR, then SRV _sip._udp, then
    A/AAAA): an SRV record gives the target and the port."""
    e = wait_entry(d, "srv.test", lambda e: e.get("status") == "ok", kind="naptr")
    tg = ((e or {}).get("targets") or [{}])[0]
    t.ok(e is not None and len(e.get("targets") or []) == 1 and tg.get("name") == "tgt.test" and
         tg.get("port") == a.port and tg.get("transport") == "udp" and
         tg.get("addresses") in (["127.0.0.1:%d" % a.port], ["127.0.0.1"]),
         "srv.test (no port in the uplink): a naptr entry, ok; no NAPTR record, so SRV "
         "_sip._udp.srv.test: target tgt.test, port <P>, udp, 127.0.0.1",
         diag(d, ["srv.test"], dns=dns) + "\nqueries: %s" % [
             q for q in dns.queries() if "srv.test" in q[0] or "tgt.test" in q[0]][:10])
    t.ok(host_entry(d, "srv.test") is None, "srv.test: no host entry (not asked by A/AAAA)",
         domain_entries(d, "srv.test"))
    kinds = [q[1] for q in dns.queries() if q[0] in ("srv.test", "_sip._udp.srv.test")]
    t.ok("NAPTR" in kinds and "SRV" in kinds,
         "srv.test: NAPTR asked, then SRV of _sip._udp.srv.test", kinds)
    u = wait_uplink(d, "u-srv", state_is("registered"))
    t.ok(u is not None and u.get("state") == "registered" and
         u.get("registrar") == "%s:%d" % (HOST, a.port) and a.count("srv") >= 1,
         "u-srv: registered at 127.0.0.1:<P>, the SRV record's port",
         diag(d, ["srv.test"], ["u-srv"]))


def case_nxdomain(d, dns):
    """3. A name the zone lacks."""
    e = wait_entry(d, "nx.test", lambda e: e.get("status") not in ("pending",))
    t.ok(e is not None and e.get("status") == "nxdomain" and addrs(e) == [],
         "nx.test: the entry is nxdomain, no address", diag(d, ["nx.test"], dns=dns))
    if e:
        t.ok((e.get("failures") or 0) >= 1 and e.get("ttl") == 30 and
             (e.get("next_refresh_in") or 0) > 0,
             "nx.test: failures counted, negative-cached (ttl = negative_ttl 30, the next "
             "resolution ahead)", e)
    u = wait_uplink(d, "u-nx", lambda u: u.get("state") == "failed")
    t.ok(u is not None and u.get("state") == "failed" and
         u.get("last_reason") == "cannot resolve the registrar",
         'u-nx: state failed, last_reason "cannot resolve the registrar"',
         diag(d, ["nx.test"], ["u-nx"]))
    t.ok(wait_metrics(d, lambda ms: h.metric(ms, "sipring_dns_failures_total") > 0 and
                      h.metric(ms, "sipring_domains", status="nxdomain") >= 1),
         'sipring_dns_failures_total > 0, sipring_domains{status="nxdomain"} >= 1',
         metric_lines(d))


def case_servfail(d, dns):
    """4a. SERVFAIL for a new name."""
    e = wait_entry(d, "sf.test", lambda e: e.get("status") not in ("pending",))
    t.ok(e is not None and e.get("status") == "servfail" and addrs(e) == [],
         "sf.test (SERVFAIL): the entry is servfail, no address",
         diag(d, ["sf.test"], dns=dns))
    if e:
        t.ok("SERVFAIL" in (e.get("error") or "").upper(),
             "sf.test: error names the SERVFAIL", e)
    u = wait_uplink(d, "u-sf", lambda u: u.get("state") == "failed")
    t.ok(u is not None and u.get("last_reason") == "cannot resolve the registrar",
         "u-sf: failed, cannot resolve the registrar", u)


def case_round_robin(d, dns, a, sink):
    """7. Two A records, one dead; two uplinks on the name: round robin sends one
    of them to the dead address first; both end registered at the live one."""
    e = wait_entry(d, "rr.test", lambda e: e.get("status") == "ok")
    t.ok(e is not None and sorted(addrs(e)) == [HOST, HOST3],
         "rr.test: ok with both addresses, 127.0.0.1 and 127.0.0.3",
         diag(d, ["rr.test"], dns=dns))
    for name, user in (("u-rr1", "rr1"), ("u-rr2", "rr2")):
        u = wait_uplink(d, name, lambda u: u.get("state") == "registered",
                        timeout=2 * DEADLINE)
        t.ok(u is not None and u.get("state") == "registered" and
             u.get("registrar") == "%s:%d" % (HOST, a.port) and a.count(user) >= 1,
             "%s: registered at the live address 127.0.0.1:<P>" % name,
             diag(d, ["rr.test"], [name]) + "\nREGISTERs at 127.0.0.3: %d" % sink.count())
    dead = {w: len([m for _, m in sink.transactions()
                    if (m.get("to") or "").find("sip:%s@" % w) >= 0]) for w in ("rr1", "rr2")}
    t.ok(sum(dead.values()) >= 1,
         "round robin: the dead 127.0.0.3 got a REGISTER too (%s), the uplink moved on "
         "after Timer F" % ", ".join("%s: %d" % kv for kv in sorted(dead.items())),
         "at 127.0.0.1: rr1 %d, rr2 %d" % (a.count("rr1"), a.count("rr2")))
    for w, n in sorted(dead.items()):
        if n:
            regs = sorted([(tm, "127.0.0.3") for tm, m in sink.transactions()
                           if "sip:%s@" % w in (m.get("to") or "")] +
                          [(tm, "127.0.0.1") for tm, _ in a.registers(w)])
            t.diag("round robin: %s's REGISTERs went to %s" % (
                w, ", ".join(x for _, x in regs)))


def case_manual(d, dns):
    """6. TTL 3600: a changed record is seen only once asked for."""
    e = wait_entry(d, "manual.test", lambda e: e.get("status") == "ok")
    if not t.ok(e is not None and addrs(e) == [HOST] and e.get("ttl") == 3600,
                "manual.test: ok, 127.0.0.1, ttl 3600", diag(d, ["manual.test"], dns=dns)):
        return
    dns.set_zone(records=records(manual=HOST2))
    before = len(dns.queries("manual.test"))
    e = host_entry(d, "manual.test")
    t.ok(e is not None and addrs(e) == [HOST] and (e.get("next_refresh_in") or 0) > 600,
         "manual.test moved to 127.0.0.2 in the zone: the entry keeps 127.0.0.1, its next "
         "refresh far off", e)
    s, body = post(d, "/api/v1/domains/manual.test/resolve")
    try:
        j = json.loads(body)
    except ValueError:
        j = {}
    t.ok(s == 202 and j.get("name") == "manual.test" and j.get("resolving") == 1,
         "POST /api/v1/domains/manual.test/resolve: 202 {name, resolving: 1}",
         "%s %s" % (s, body))
    e = wait_entry(d, "manual.test", lambda e: addrs(e) == [HOST2], timeout=30)
    t.ok(e is not None and addrs(e) == [HOST2] and e.get("status") == "ok",
         "manual.test: 127.0.0.2 after the resolve (within 30 s, TTL 3600)",
         diag(d, ["manual.test"], dns=dns))
    t.ok(len(dns.queries("manual.test")) > before,
         "manual.test: the resolve asked the DNS server",
         "queries before %d, now %d" % (before, len(dns.queries("manual.test"))))
    if have_ctl():
        dns.set_zone(records=records(manual=HOST))
        rc, out, err = ctl("domains", "resolve", "manual.test", "--url", d.url)
        t.ok(rc == 0 and "resolve" in out, "sipringctl domains resolve manual.test: exit 0",
             out + err)
        e = wait_entry(d, "manual.test", lambda e: addrs(e) == [HOST], timeout=30)
        t.ok(e is not None and addrs(e) == [HOST],
             "manual.test: back to 127.0.0.1 after sipringctl domains resolve",
             diag(d, ["manual.test"], dns=dns))
        rc, out, err = ctl("domains", "resolve", "nope.test", "--url", d.url)
        t.eq(rc, 1, "sipringctl domains resolve <unknown>: exit 1", out + err)
    else:
        t.skip("sipringctl domains resolve", "sipringctl not built, or without domains")
    lst = domains_list(d) or {}
    n = sum(1 for x in lst.get("domains") or [] if not x.get("literal"))
    s, body = post(d, "/api/v1/domains/resolve")
    try:
        j = json.loads(body)
    except ValueError:
        j = {}
    t.ok(s == 202 and j.get("resolving") == n,
         "POST /api/v1/domains/resolve: 202, resolving every entry (%d)" % n,
         "%s %s" % (s, body))
    t.eq(h.http_get(d.url + "/api/v1/domains/nope.test")[0], 404,
         "GET /api/v1/domains/<unknown>: 404")
    t.eq(post(d, "/api/v1/domains/nope.test/resolve")[0], 404,
         "POST /api/v1/domains/<unknown>/resolve: 404")


def case_change(d, dns, a, b):
    """2. one.test (TTL 2) moved to 127.0.0.2: the table follows, the next REGISTER too."""
    u = wait_uplink(d, "u-one", state_is("registered"))
    if not t.ok(u is not None and u.get("registrar") == "%s:%d" % (HOST, a.port),
                "change: u-one registered at 127.0.0.1:<P> first", u):
        return
    dns.set_zone(records=records(one=HOST2))
    e = wait_entry(d, "one.test", lambda e: addrs(e) == [HOST2])
    t.ok(e is not None and addrs(e) == [HOST2] and e.get("status") == "ok",
         "change: one.test shows 127.0.0.2 by itself (its TTL ran out, refreshed)",
         diag(d, ["one.test"], dns=dns))
    before = b.count("one")
    s, body = post(d, "/api/v1/uplinks/u-one/register")
    t.eq(s, 202, "change: POST /api/v1/uplinks/u-one/register: 202", body)
    got = h.wait_for(lambda: b.count("one") > before, DEADLINE, 0.1)
    t.ok(got, "change: the REGISTER reached 127.0.0.2:<P>",
         diag(d, ["one.test"], ["u-one"]) + "\nat 127.0.0.1: %d, at 127.0.0.2: %d" % (
             a.count("one"), b.count("one")))
    u = wait_uplink(d, "u-one", lambda u: u.get("registrar") == "%s:%d" % (HOST2, b.port) and
                    u.get("state") == "registered")
    t.ok(u is not None and u.get("registrar") == "%s:%d" % (HOST2, b.port) and
         u.get("state") == "registered",
         'change: u-one registered, "registrar" 127.0.0.2:<P>', u)


def case_stale(d, dns, a):
    """5. Serve-stale: the server goes silent for the name."""
    u = wait_uplink(d, "u-stale", state_is("registered"))
    e = host_entry(d, "stale.test")
    if not t.ok(u is not None and u.get("state") == "registered" and e is not None and
                e.get("status") == "ok" and addrs(e) == [HOST],
                "stale: u-stale registered, stale.test ok with 127.0.0.1",
                diag(d, ["stale.test"], ["u-stale"], dns)):
        return
    dns.set_zone(names={"sf.test": "servfail", "stale.test": "silent"})
    e = wait_entry(d, "stale.test", lambda e: e.get("status") == "stale")
    t.ok(e is not None and e.get("status") == "stale" and addrs(e) == [HOST],
         "stale: the server silent for stale.test: past the TTL the entry is stale, "
         "still 127.0.0.1", diag(d, ["stale.test"], dns=dns))
    if e:
        t.ok(e.get("fail") == "timeout" and (e.get("stale_until") or 0) > time.time() * 1000,
             'stale: fail "timeout", stale_until ahead', e)
    t.ok(wait_metrics(d, lambda ms: h.metric(ms, "sipring_domains", status="stale") >= 1),
         'sipring_domains{status="stale"} >= 1', metric_lines(d))
    before = a.count("stale")
    cseq = (u or {}).get("cseq") or 0
    s, body = post(d, "/api/v1/uplinks/u-stale/register")
    t.eq(s, 202, "stale: POST /api/v1/uplinks/u-stale/register: 202", body)
    got = h.wait_for(lambda: a.count("stale") > before, DEADLINE, 0.1)
    u = wait_uplink(d, "u-stale", lambda u: u.get("state") == "registered" and
                    (u.get("cseq") or 0) > cseq)
    t.ok(got and u is not None and u.get("registrar") == "%s:%d" % (HOST, a.port),
         "stale: the REGISTER still goes to the stale address 127.0.0.1:<P>, registered",
         diag(d, ["stale.test"], ["u-stale"]))


def case_reload(d, dns, a, ups):
    """9. Uplinks removed + SIGHUP: their names leave the table."""
    u = wait_uplink(d, "u-bye", state_is("registered"))
    if not t.ok(u is not None and u.get("state") == "registered" and
                host_entry(d, "bye.test") is not None,
                "reload: u-bye registered, bye.test in the table", u):
        return
    reloads = h.metric(metrics(d), "sipring_config_reloads_total", result="ok")
    d.write_uplinks([x for x in ups if x["name"] not in ("u-bye", "u-nx")])
    d.send_signal(signal.SIGHUP)
    t.ok(h.wait_for(lambda: h.metric(metrics(d), "sipring_config_reloads_total",
                                     result="ok") > reloads),
         "reload: SIGHUP reloaded", d.log_tail(10))
    unreg = h.wait_for(lambda: any((m.get("expires") or "").strip() == "0"
                                   for _, m in a.registers("bye")), DEADLINE, 0.1)
    t.ok(unreg, "reload: u-bye, removed from the file, sent its unregister (Expires: 0)",
         diag(d, ["bye.test"], ["u-bye"]))
    gone_nx = h.wait_for(lambda: domain_entries(d, "nx.test") == [], 30, 0.1)
    t.ok(gone_nx, "reload: nx.test (its uplink removed, never registered) left the table",
         diag(d, ["nx.test"]))
    gone = h.wait_for(lambda: domain_entries(d, "bye.test") == [], 30, 0.1)
    if not t.ok(gone, "reload: bye.test (its uplink removed after its unregister) left the "
                "table", diag(d, ["bye.test"], dns=dns)):
        t.diag("the unregister of the removed uplink resolves its name again, which adds "
               "it back to the table after the sweep (core/service.c up_resolve -> "
               "domains_add): nothing removes it until the next reload")
    lst = domains_list(d) or {}
    names = sorted(x.get("name") for x in lst.get("domains") or [])
    t.ok("one.test" in names and "manual.test" in names,
         "reload: the names still used stay (one.test, manual.test)", names)


# ---------------------------------------------------------------- zone

def records(one=HOST, manual=HOST, port=None):
    port = port or PORT[0]
    return ["late.test. 60 IN A %s" % HOST,
            "_sip._udp.srv.test. 60 IN SRV 10 60 %d tgt.test." % port,
            "tgt.test. 60 IN A %s" % HOST,
            "one.test. 2 IN A %s" % one,
            "stale.test. 2 IN A %s" % HOST,
            "manual.test. 3600 IN A %s" % manual,
            "rr.test. 60 IN A %s" % HOST3,
            "rr.test. 60 IN A %s" % HOST,
            "bye.test. 60 IN A %s" % HOST,
            "shared.test. 300 IN A %s" % HOST]


def run_main(dns, port):
    a = h.UdpRegistrar(HOST, port)
    b = h.UdpRegistrar(HOST2, port)
    sink = h.UdpSink(HOST3, port)
    d = None
    try:
        ups = [uplink("u-late", "late.test", port, "late"),
               uplink("u-one", "one.test", port, "one"),
               uplink("u-nx", "nx.test", port, "nx"),
               {"name": "u-srv", "registrar": "srv.test", "user": "srv", "password": "pw-srv"},
               uplink("u-sf", "sf.test", port, "sf"),
               uplink("u-rr1", "rr.test", port, "rr1"),
               uplink("u-rr2", "rr.test", port, "rr2"),
               uplink("u-manual", "manual.test", port, "manual"),
               uplink("u-stale", "stale.test", port, "stale"),
               uplink("u-bye", "bye.test", port, "bye")]
        d = start("main", ups, conf={
            "dns": dns_conf(dns),
            "sip": {"timers": {"timer_f": 2000}},
            "uplinks": {"retry_delay": 1},
            "runtime": {"stop_deadline": 10000}})
        if not d:
            return
        t.case("pending", case_pending, d, dns, a)
        t.case("name", case_name, d, dns, a)
        t.case("rfc3263", case_rfc3263, d, dns, a)
        t.case("nxdomain", case_nxdomain, d, dns)
        t.case("servfail", case_servfail, d, dns)
        t.case("round robin", case_round_robin, d, dns, a, sink)
        t.case("manual", case_manual, d, dns)
        t.case("change", case_change, d, dns, a, b)
        t.case("stale", case_stale, d, dns, a)
        t.case("reload", case_reload, d, dns, a, ups)
    finally:
        if d:
            d.stop(t)
        a.close()
        b.close()
        sink.close()


# ---------------------------------------------------------------- 4b. a dead server

def case_dead(d):
    e = wait_entry(d, "dead.test", lambda e: e.get("status") not in ("pending",))
    st = (e or {}).get("status")
    t.ok(st in ("timeout", "unreachable") and addrs(e) == [],
         "dead server: the entry is timeout or unreachable (it is %s), no address" % st,
         diag(d, ["dead.test"]))
    t.diag("dead server (a closed UDP port): status %s, error %r" % (st, (e or {}).get("error")))
    u = wait_uplink(d, "u-dead", lambda u: u.get("state") == "failed")
    t.ok(u is not None and u.get("last_reason") == "cannot resolve the registrar",
         "dead server: u-dead failed, cannot resolve the registrar", u)
    t.ok(wait_metrics(d, lambda ms: h.metric(ms, "sipring_domains",
                                             status=st or "timeout") >= 1),
         'dead server: sipring_domains{status="%s"} >= 1' % st, metric_lines(d))


def run_dead(port):
    closed = h.closed_udp_port()
    d = start("dead dns", [uplink("u-dead", "dead.test", port, "dead")], conf={
        "dns": {"servers": ["127.0.0.1:%d" % closed], "timeout": 200, "tries": 1,
                "ttl_floor": 1},
        "uplinks": {"retry_delay": 1}})
    if not d:
        return
    try:
        t.case("dead server", case_dead, d)
    finally:
        d.stop(t)


# ---------------------------------------------------------------- 8. Redis

HASH_FIELDS = ("name", "kind", "status", "fail", "addresses", "ttl", "resolved_at",
               "checked_at", "expires_at", "stale_until", "next_refresh", "error", "node")
KEY = "sipring:domain:host:shared.test"


def redis_hash(r, key):
    try:
        v = r.cmd("HGETALL", key) or []
    except (OSError, h.Eof, h.RedisError):
        return None
    return {v[i].decode(): v[i + 1].decode() for i in range(0, len(v) - 1, 2)}


def case_redis(what, da, r, dns):
    last = [None]

    def written():
        last[0] = redis_hash(r, KEY)
        return last[0] and last[0].get("status") == "ok"
    h.wait_for(written, DEADLINE, 0.1)
    hh = last[0] or {}
    if not t.ok(hh.get("status") == "ok" and HOST in hh.get("addresses", "") and
                hh.get("node") == "node-a" and hh.get("name") == "shared.test" and
                hh.get("kind") == "host",
                "%s: %s: status ok, addresses with 127.0.0.1, node node-a" % (what, KEY),
                "HGETALL: %r\nsipring_dns_redis_connected %s\n%s" % (
                    hh, h.metric(metrics(da), "sipring_dns_redis_connected"),
                    diag(da, ["shared.test"], dns=dns))):
        return False
    missing = [f for f in HASH_FIELDS if f not in hh]
    t.eq(missing, [], "%s: the hash has every documented field" % what, hh)
    t.ok(hh.get("ttl") == "300" and all(hh.get(f, "").isdigit() and int(hh[f]) > 0 for f in
                                        ("resolved_at", "checked_at", "expires_at",
                                         "next_refresh")) and
         hh.get("addresses", "").startswith("127.0.0.1:0;"),
         "%s: ttl 300; resolved_at, checked_at, expires_at, next_refresh in ms; "
         "addresses 127.0.0.1:0;..." % what, hh)
    try:
        score = r.cmd("ZSCORE", "sipring:domains", "host:shared.test")
    except (OSError, h.Eof, h.RedisError) as ex:
        score = repr(ex)
    t.ok(isinstance(score, bytes) and float(score) > time.time() * 1000,
         "%s: host:shared.test in the sipring:domains index, its score ahead" % what, score)
    t.ok(h.wait_for(lambda: r.cmd("EXISTS", "sipring:domain:lock:host:shared.test") == 0,
                    h.ANSWER_DEADLINE, 0.1),
         "%s: the refresh lock is released once the result is written" % what,
         r.cmd("GET", "sipring:domain:lock:host:shared.test"))
    t.ok(wait_metrics(da, lambda ms: h.metric(ms, "sipring_dns_redis_connected") == 1),
         "%s: sipring_dns_redis_connected 1" % what, metric_lines(da))
    return True


def case_redis_b(what, db, dns, port, queries):
    e = wait_entry(db, "shared.test", lambda e: e.get("status") == "ok")
    after = len(dns.queries("shared.test"))
    t.ok(e is not None and addrs(e) == [HOST],
         "%s: node-b shows shared.test ok with 127.0.0.1" % what,
         diag(db, ["shared.test"], dns=dns))
    node = (e or {}).get("node")
    t.diag("%s: node-b's entry has node %r (%s); DNS queries for shared.test since "
           "node-b started: %d" % (what, node, "imported from node-a" if node == "node-a" else
                                   "resolved by itself" if node == "" else "?",
                                   after - queries))
    t.ok(node == "node-a" and after == queries and (e or {}).get("queries") == 0,
         "%s: node-b imported node-a's result (node \"node-a\", no DNS query of its "
         "own)" % what, "node %r, queries at the server %d -> %d\n%s" % (
             node, queries, after, diag(db, ["shared.test"])))
    u = wait_uplink(db, "u-shared", state_is("registered"))
    t.ok(u is not None and u.get("registrar") == "%s:%d" % (HOST, port),
         "%s: node-b's u-shared registered at 127.0.0.1:<P>" % what, u)


def run_redis(dns, port, password=None):
    what = "redis" + (" (password)" if password else "")
    if not shutil.which("redis-server"):
        t.skip("%s mirror of the domain table" % what, "redis-server is not installed")
        return
    r = h.RedisServer(password=password)
    ok, why = r.start()
    if not t.ok(ok, "%s: redis-server starts" % what, why):
        r.kill()
        return
    a = h.UdpRegistrar(HOST, port)
    da = db = None
    try:
        rc = {"dns": dns_conf(dns), "uplinks": {"retry_delay": 1},
              "redis": dict({"host": HOST, "port": r.port},
                            **({"password": password} if password else {}))}
        da = start("%s node-a" % what, [uplink("u-shared", "shared.test", port, "shared")],
                   conf=h.deep_merge(rc, {"node": {"name": "node-a"}}))
        if not da:
            return
        wrote = t.case(what, case_redis, what, da, r, dns)
        if not wrote:
            return  # the second node only once the first one's result is there
        u = wait_uplink(da, "u-shared", state_is("registered"))
        t.eq((u or {}).get("state"), "registered", "%s: node-a's u-shared registered" % what, u)
        queries = len(dns.queries("shared.test"))
        db = start("%s node-b" % what, [uplink("u-shared", "shared.test", port, "shared")],
                   conf=h.deep_merge(rc, {"node": {"name": "node-b"}}))
        if db:
            t.case(what + " node-b", case_redis_b, what, db, dns, port, queries)
    finally:
        if db:
            db.stop(t)
        if da:
            da.stop(t)
        a.close()
        r.kill()


# ---------------------------------------------------------------- main

def main():
    dns = h.DnsServer()
    if not dns.python:
        print("1..0 # SKIP no python3 with dnslib (python3-dnslib) for tests/storage/"
              "dns_server.py")
        sys.exit(0)  # TAP skip-all: 77 would be an ERROR under meson's TAP protocol
    try:
        port = PORT[0] = h.free_port_on([HOST, HOST2, HOST3])
    except (OSError, RuntimeError) as ex:
        print("1..0 # SKIP cannot bind 127.0.0.2 and 127.0.0.3 (no 127.0.0.0/8 loopback): %s"
              % ex)
        sys.exit(0)
    dns.set_zone(records=records(), names={"sf.test": "servfail", "late.test": "silent"})
    ok, why = dns.start()
    if not t.ok(ok, "dns_server.py starts", why):
        sys.exit(t.done())
    try:
        run_main(dns, port)
        run_dead(port)
        run_redis(dns, port)
        run_redis(dns, port, password="pw-dns")
    finally:
        dns.stop()
    sys.exit(t.done())


if __name__ == "__main__":
    main()
