#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sipring's registrations written behind to a real Redis, and read back (TAP).

usage: test_registrar_redis.py SIPRING

A redis-server child (harness.RedisServer: a free port, a temporary directory,
no persistence, so that a restarted Redis comes back empty, which is what the
resynchronisation must repair) and sipring with redis.host/port, the registrar
without digest (authenticate: false; digest has its own script,
test_registrar.py). Checked with a RESP client:

  after a 200      `sipring:loc:<aor>` is a hash with a field per binding, the
                   value a CSV line (contact, expires ms, Call-ID, CSeq, ...,
                   transport, ..., User-Agent), PTTL about the binding's expiry;
                   a refresh moves the expiry; removing one contact removes its
                   field; the last one (Expires 0, *, DELETE of the API) the key.
  sipring restart  SIGTERM, a new sipring on the same Redis: the bindings are
                   loaded (log, API) and served (a query REGISTER lists them).
  Redis down       SIGKILL of redis-server: sipring keeps answering REGISTERs;
                   redis-server started again (empty) on the same port: every
                   binding of the table is written again, removals made while
                   it was down are not.
  Redis absent     sipring started while nothing listens on the port: it starts
                   and serves; once Redis is up the bindings are written (with
                   redis.prefix honoured).
  accounts         an account HSET under sipring:acct:<user>@<domain> before
                   start authenticates (digest 200), a wrong password is 401;
                   one added later works after SIGHUP (the forced refresh).
  two nodes        two sipring daemons with digest on one Redis, retry 4:
                   two wrong passwords on each (401: below retry on each) ->
                   within a sync round the user is suspended on both (listed,
                   403 with the right password), the count being shared;
                   DELETE of the API on one node removes the Redis keys.

Every wait is a poll with a generous deadline; skipped when redis-server is
not installed.
"""
import csv
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
h.require_binary(SIPRING)
t = h.Tap()
HOST = "127.0.0.1"
REDIS_DEADLINE = 60.0  # a write behind, a reconnection (backoff up to 5 s), a resync


# ---------------------------------------------------------------- a UA (no digest)

class Ua:
    def __init__(self, d, user):
        self.d = d
        self.user = user
        self.sock = h.Udp(HOST)
        self.port = self.sock.port
        self.call_id = h.new_callid()
        self.cseq = 0
        self.contact = "<sip:%s@%s:%d>" % (user, HOST, self.port)
        self.aor = "%s@%s" % (user, HOST)

    def register(self, contacts=None, expires=None, d=None):
        d = d or self.d
        self.cseq += 1
        m = h.Msg("REGISTER", "sip:%s" % h.hostport(*d.sip_addr), HOST, self.port,
                  call_id=self.call_id, cseq=self.cseq)
        m.set("From", "<sip:%s>;tag=%s" % (self.aor, self.call_id[:8]))
        m.set("To", "<sip:%s>" % self.aor)
        for c in [self.contact] if contacts is None else contacts:
            m.add("Contact", c)
        if expires is not None:
            m.add("Expires", str(expires))
        r = self.sock.ask(m, d.sip_addr) if d.alive() else None
        return m, r

    def close(self):
        self.sock.close()


def contacts(r):
    return r.all("contact") if r is not None else []


def st(r):
    return r.status if r is not None else None


def show(*rs):
    return "\n".join(x.raw.decode("utf-8", "replace") if hasattr(x, "raw") else
                     (x.bytes().decode("utf-8", "replace") if isinstance(x, h.Msg) else repr(x))
                     for x in rs)


def api_contacts(d, aor):
    s, body = h.http_get(d.url + "/api/v1/registrations")
    if s != 200:
        return None
    for reg in json.loads(body).get("registrations", []):
        if reg.get("aor") == aor:
            return sorted(b.get("contact") for b in reg.get("bindings", []))
    return []


def api_aors(d):
    s, body = h.http_get(d.url + "/api/v1/registrations")
    return sorted(r["aor"] for r in json.loads(body).get("registrations", [])) if s == 200 \
        else None


# ---------------------------------------------------------------- Redis

def key(aor, prefix="sipring:"):
    return prefix + "loc:" + aor


def hgetall(r, k):
    """The hash at k as {field: value} (str), or None when Redis cannot be asked."""
    try:
        v = r.cmd("HGETALL", k)
    except (OSError, h.Eof, h.RedisError):
        return None
    return {v[i].decode("utf-8", "replace"): v[i + 1].decode("utf-8", "replace")
            for i in range(0, len(v), 2)}


def rcmd(r, *args):
    try:
        return r.cmd(*args)
    except (OSError, h.Eof, h.RedisError):
        return None


def loc_keys(r, prefix="sipring:"):
    """Every key under <prefix>loc:, by SCAN."""
    out, cur = set(), b"0"
    while True:
        v = rcmd(r, "SCAN", cur, "MATCH", prefix + "loc:*", "COUNT", "1000")
        if v is None:
            return None
        cur = v[0]
        out |= {k.decode() for k in v[1]}
        if cur == b"0":
            return out


def uri_of(c):
    return c[1:c.index(">")] if c.startswith("<") else c


def wait_hash(r, k, pred, timeout=REDIS_DEADLINE):
    """Poll HGETALL k until pred(hash) holds; returns the last hash seen."""
    last = [None]

    def f():
        last[0] = hgetall(r, k)
        return last[0] is not None and pred(last[0])
    h.wait_for(f, timeout, 0.05)
    return last[0]


# ---------------------------------------------------------------- cases

def case_write(d, r):
    u = Ua(d, "r1")
    now_ms = time.time() * 1000
    m, resp = u.register(expires=600)
    t.eq(contacts(resp), [u.contact + ";expires=600"], "REGISTER r1: 200", show(m, resp))
    hh = wait_hash(r, key(u.aor), lambda x: len(x) == 1)
    t.eq(len(hh or {}), 1, "%s: a hash with one field (one binding)" % key(u.aor), repr(hh))
    if not hh:
        u.close()
        return None
    field, value = next(iter(hh.items()))
    t.ok(uri_of(u.contact) in field, "the field names the binding (its contact URI)",
         repr(field))
    cols = next(csv.reader([value]))
    t.ok(len(cols) >= 13, "the value is a CSV line of at least 13 columns", repr(value))
    if len(cols) >= 13:
        t.ok(uri_of(u.contact) in cols[0], "column 1: the contact", repr(cols))
        exp = int(cols[1]) if cols[1].isdigit() else 0
        t.ok(now_ms + 480000 < exp <= time.time() * 1000 + 601000,
             "column 2: the expiry in ms since the epoch, about now + 600 s", repr(cols))
        t.eq((cols[2], cols[3], cols[6], cols[12]),
             (u.call_id, str(u.cseq), "udp", "sipring-itest"), "columns 3, 4, 7, 13: Call-ID, CSeq, transport, User-Agent", repr(cols))
    pttl = rcmd(r, "PTTL", key(u.aor))
    t.ok(isinstance(pttl, int) and 480000 < pttl <= 600000,
         "PTTL of the key: about the binding's 600 s", repr(pttl))
    # refresh moves the expiry
    m, resp = u.register(expires=1200)
    t.eq(contacts(resp), [u.contact + ";expires=1200"], "refresh r1 (Expires 1200): 200",
         show(m, resp))
    ok = h.wait_for(lambda: (rcmd(r, "PTTL", key(u.aor)) or 0) > 600000, REDIS_DEADLINE)
    t.ok(ok, "after the refresh the key's PTTL is about 1200 s",
         repr(rcmd(r, "PTTL", key(u.aor))))
    hh = hgetall(r, key(u.aor)) or {}
    t.eq(len(hh), 1, "the refresh kept one field", repr(hh))
    return u


def case_fields(d, r):
    u = Ua(d, "r2")
    try:
        c2 = "<sip:r2-b@%s:%d>" % (HOST, u.port)
        m, resp = u.register(contacts=[u.contact, c2], expires=600)
        t.eq(len(contacts(resp)), 2, "REGISTER r2 with two contacts: 200 listing both",
             show(m, resp))
        hh = wait_hash(r, key(u.aor), lambda x: len(x) == 2)
        t.eq(len(hh or {}), 2, "%s: two fields" % key(u.aor), repr(hh))
        m, resp = u.register(contacts=[c2 + ";expires=0"])
        hh = wait_hash(r, key(u.aor), lambda x: len(x) == 1)
        t.ok(hh is not None and len(hh) == 1 and uri_of(u.contact) in next(iter(hh)),
             "one contact unregistered: its field is gone, the other stays", repr(hh))
        m, resp = u.register(contacts=["*"], expires=0)
        t.eq(st(resp), 200, "r2: Contact: * Expires: 0: 200", show(m, resp))
        ok = h.wait_for(lambda: rcmd(r, "EXISTS", key(u.aor)) == 0, REDIS_DEADLINE)
        t.ok(ok, "every binding removed: the key is deleted", repr(hgetall(r, key(u.aor))))
    finally:
        u.close()
    u = Ua(d, "r7")
    try:
        m, resp = u.register(expires=600)
        wait_hash(r, key(u.aor), lambda x: len(x) == 1)
        m, resp = u.register(expires=0)
        ok = h.wait_for(lambda: rcmd(r, "EXISTS", key(u.aor)) == 0, REDIS_DEADLINE)
        t.ok(ok, "r7 registered then unregistered (Expires: 0): no key",
             repr(hgetall(r, key(u.aor))))
    finally:
        u.close()
    u = Ua(d, "r8")
    try:
        m, resp = u.register(expires=600)
        wait_hash(r, key(u.aor), lambda x: len(x) == 1)
        s, body = h.http_request("DELETE", d.url + "/api/v1/registrations/" +
                                 urllib.parse.quote(u.aor, safe=""))
        t.eq(s, 200, "DELETE /api/v1/registrations/r8@...: 200", body)
        ok = h.wait_for(lambda: rcmd(r, "EXISTS", key(u.aor)) == 0, REDIS_DEADLINE)
        t.ok(ok, "after the API's DELETE the key is deleted", repr(hgetall(r, key(u.aor))))
    finally:
        u.close()


def redis_conf(r, prefix="sipring:"):
    return {"registrar": {"authenticate": False},
            "redis": {"host": HOST, "port": r.port, "prefix": prefix}}


def case_restart(d1, r, u1):
    """SIGTERM sipring, start another on the same Redis: the bindings are back."""
    d1.stop(t)
    d2 = h.start_or_bail(t, SIPRING, "redis restarted sipring", conf=redis_conf(r))
    if not d2:
        return None
    m = re.search(r'msg="registrations loaded from Redis" bindings=(\d+)', d2.log())
    t.ok(m and int(m.group(1)) >= 1, "the new sipring logs the bindings it loaded",
         d2.log_tail(10))
    got = api_contacts(d2, u1.aor)
    t.eq(got, [u1.contact], "the new sipring's API lists r1's binding")
    m_, resp = u1.register(contacts=[], d=d2)
    cs = contacts(resp)
    t.ok(st(resp) == 200 and len(cs) == 1 and cs[0].startswith(u1.contact + ";expires=") and
         0 < int(cs[0].rsplit("=", 1)[1]) <= 1200,
         "a query REGISTER to the new sipring: 200 listing r1's binding (expires <= 1200)",
         show(m_, resp))
    return d2


def case_outage(d, r, u1):
    """Redis killed while sipring runs; REGISTERs go on; Redis back (empty): the
    whole table is written again."""
    port = r.port
    r.kill(signal.SIGKILL)
    t.ok(not r.alive(), "redis-server killed (SIGKILL)")
    users = [Ua(d, "r%d" % i) for i in range(3, 7)]
    try:
        ok = True
        for u in users:
            m, resp = u.register(expires=900)
            ok = ok and contacts(resp) == [u.contact + ";expires=900"]
        t.ok(ok, "while Redis is down: REGISTERs of r3..r6 answered 200")
        m, resp = users[-1].register(expires=0)
        t.eq(st(resp), 200, "while Redis is down: r6 unregisters (200)", show(m, resp))
        m, resp = u1.register(expires=1800, d=d)
        t.eq(contacts(resp), [u1.contact + ";expires=1800"],
             "while Redis is down: r1 refreshed (1800 s)", show(m, resp))
        t.ok(d.alive(), "sipring is still running without Redis", d.log_tail(10))
        aors = api_aors(d) or []
        ok, why = r.start(port=port)
        if not t.ok(ok, "redis-server started again, empty, on the same port", why):
            return
        want = {key(a) for a in aors}
        last = [None]

        def synced():
            last[0] = loc_keys(r)
            return last[0] == want
        t.ok(h.wait_for(synced, REDIS_DEADLINE, 0.1),
             "Redis back (empty): every AOR of the table is written again (%d keys)" % len(want),
             "want: %s\ngot:  %s\n%s" % (sorted(want), sorted(last[0] or []), d.log_tail(10)))
        t.ok(key("r6@" + HOST) not in (last[0] or set()),
             "the AOR unregistered while Redis was down is not written")
        pttl = rcmd(r, "PTTL", key(u1.aor))
        t.ok(isinstance(pttl, int) and 1200000 < pttl <= 1800000,
             "r1's key carries the refresh made while Redis was down (PTTL about 1800 s)",
             repr(pttl))
        hh = hgetall(r, key("r3@" + HOST)) or {}
        t.eq(len(hh), 1, "r3 (registered while Redis was down) has its field", repr(hh))
        t.ok(re.search(r"level=(warning|error) mod=location", d.log()) is not None,
             "the Redis outage is logged (a warning of mod=location)", d.log_tail(10))
        m, resp = users[0].register(expires=0)
        ok = h.wait_for(lambda: rcmd(r, "EXISTS", key(users[0].aor)) == 0, REDIS_DEADLINE)
        t.ok(ok, "after the resync an unregister deletes its key again",
             repr(hgetall(r, key(users[0].aor))))
    finally:
        for u in users:
            u.close()


def case_absent(r):
    """sipring started while nothing listens on the Redis port."""
    port = r.port
    r.kill(signal.SIGKILL)
    d = h.start_or_bail(t, SIPRING, "redis absent at start",
                        conf=redis_conf(r, prefix="it:"))
    if not d:
        return
    try:
        t.ok("cannot load registrations from Redis" in d.log(),
             "sipring started without Redis says so", d.log_tail(10))
        u = Ua(d, "a1")
        try:
            m, resp = u.register(expires=600)
            t.eq(contacts(resp), [u.contact + ";expires=600"], "without Redis: 200",
                 show(m, resp))
            ok, why = r.start(port=port)
            if not t.ok(ok, "redis-server started", why):
                return
            hh = wait_hash(r, key(u.aor, "it:"), lambda x: len(x) == 1)
            t.eq(len(hh or {}), 1, "once Redis is up, the binding is written under "
                 "redis.prefix (it:loc:a1@...)", "%r\n%s" % (hh, d.log_tail(10)))
            t.eq(rcmd(r, "EXISTS", key(u.aor)), 0, "nothing under the default prefix")
        finally:
            u.close()
    finally:
        d.stop(t)


def auth_register(d, ua_sock, user, password, cseq=1):
    """REGISTER, 401, REGISTER with credentials: the final answer (or the first
    answer when it is not a 401)."""
    port = ua_sock.port

    def build(n):
        m = h.Msg("REGISTER", "sip:%s" % h.hostport(*d.sip_addr), HOST, port,
                  call_id="acct-%s-%d" % (user, port), cseq=n)
        m.set("From", "<sip:%s@%s>;tag=t%d" % (user, HOST, port))
        m.set("To", "<sip:%s@%s>" % (user, HOST))
        m.add("Contact", "<sip:%s@%s:%d>" % (user, HOST, port))
        m.add("Expires", "600")
        return m
    r1 = ua_sock.ask(build(cseq), d.sip_addr)
    if r1 is None or r1.status != 401:
        return r1
    www = [v for v in r1.all("www-authenticate") if "MD5" in v][0]
    m = build(cseq + 1)
    m.add("Authorization", h.digest_authorization(www, user, password, "REGISTER",
                                                  m.start.split()[1]))
    return ua_sock.ask(m, d.sip_addr)


def auth_conf(r, extra=None):
    c = {"registrar": {"authenticate": True},
         "auth": {"algorithms": ["MD5"]},
         "redis": {"host": HOST, "port": r.port}}
    return h.deep_merge(c, extra or {})


def case_accounts(r):
    """Accounts read from Redis: at start, and after SIGHUP."""
    rcmd(r, "HSET", "sipring:acct:3001@" + HOST, "password", "pw3001")
    d = h.start_or_bail(t, SIPRING, "redis accounts", conf=auth_conf(r))
    if not d:
        return
    u = h.Udp(HOST)
    try:
        t.ok(re.search(r'msg="accounts read from Redis" accounts=1', d.log()),
             "the daemon logs the account it read from Redis", d.log_tail(10))
        resp = auth_register(d, u, "3001", "pw3001")
        t.eq(st(resp), 200, "an account from Redis: digest REGISTER 200", resp)
        resp = auth_register(d, u, "3001", "wrong", cseq=10)
        t.eq(st(resp), 401, "the same with a wrong password: 401", resp)
        rcmd(r, "HSET", "sipring:acct:3002@" + HOST, "password", "pw3002")
        d.proc.send_signal(signal.SIGHUP)
        ok = h.wait_for(lambda: d.log().count('msg="accounts read from Redis"') >= 2,
                        timeout=REDIS_DEADLINE)
        t.ok(ok, "SIGHUP reads the accounts in Redis again", d.log_tail(10))
        resp = auth_register(d, u, "3002", "pw3002", cseq=20)
        t.eq(st(resp), 200, "an account added to Redis, after SIGHUP: 200", resp)
    finally:
        u.close()
        d.stop(t)


def case_two_nodes(r):
    """Failures of one user on two nodes add up in Redis."""
    rcmd(r, "HSET", "sipring:acct:4001@" + HOST, "password", "pw4001")
    conf = auth_conf(r, {"registrar": {"suspend": {"retry": 4, "time": 60}}})
    a = h.start_or_bail(t, SIPRING, "node a", conf=conf)
    b = h.start_or_bail(t, SIPRING, "node b", conf=conf) if a else None
    if not b:
        if a:
            a.stop(t)
        return
    u = h.Udp(HOST)
    try:
        got = [st(auth_register(a, u, "4001", "bad", cseq=10 * i)) for i in range(2)]
        time.sleep(1.5)  # a sync round (500 ms) of node a
        got += [st(auth_register(b, u, "4001", "bad", cseq=100 + 10 * i)) for i in range(2)]
        t.eq(got, [401, 401, 401, 401],
             "2 failures on node a, 2 on node b: each node alone is below retry 4", got)

        def listed(d):
            code, body = h.http_request("GET", d.url + "/api/v1/suspensions")
            return code == 200 and ('"4001@%s"' % HOST) in body
        t.ok(h.wait_for(lambda: listed(a) and listed(b), timeout=REDIS_DEADLINE),
             "their sum reaches retry: both nodes list the user as suspended")
        resp = auth_register(a, u, "4001", "pw4001", cseq=1000)
        t.eq(st(resp), 403, "node a refuses the user (403), even with the right password",
             resp)
        resp = auth_register(b, u, "4001", "pw4001", cseq=2000)
        t.eq(st(resp), 403, "node b too", resp)
        t.ok(len(rcmd(r, "KEYS", "sipring:suspended:*") or []) >= 1,
             "the suspension is in Redis (sipring:suspended:<key>)")
        code, _ = h.http_request("DELETE", b.url + "/api/v1/suspensions/4001@" + HOST)
        t.eq(code, 200, "DELETE /api/v1/suspensions/<key> on node b")
        t.eq(rcmd(r, "KEYS", "sipring:suspended:4001*") or [], [],
             "the cluster's copy is removed from Redis")
    finally:
        u.close()
        a.stop(t)
        b.stop(t)


def main():
    if not shutil.which("redis-server"):
        print("1..0 # SKIP redis-server is not installed")
        sys.exit(0)  # TAP skip-all: meson reads the plan; 77 would be an ERROR under TAP
    r = h.RedisServer()
    ok, why = r.start()
    if not t.ok(ok, "redis-server starts", why):
        sys.exit(t.done())
    d = h.start_or_bail(t, SIPRING, "redis", conf=redis_conf(r))
    if d:
        d2 = None
        u1 = None
        try:
            m = re.search(r'msg="registrations loaded from Redis" bindings=(\d+)', d.log())
            t.ok(m and m.group(1) == "0", "sipring on an empty Redis loads 0 bindings",
                 d.log_tail(10))
            u1 = t.case("write", case_write, d, r)
            t.case("fields", case_fields, d, r)
            if u1:
                d2 = t.case("restart", case_restart, d, r, u1)
                if d2:
                    t.case("outage", case_outage, d2, r, u1)
        finally:
            if u1:
                u1.close()
            d.stop(t)
            if d2:
                d2.stop(t)
    t.case("absent", case_absent, r)
    r.kill(signal.SIGTERM)
    r2 = h.RedisServer()
    ok, why = r2.start()
    if t.ok(ok, "a second redis-server starts", why):
        t.case("accounts", case_accounts, r2)
        t.case("two nodes", case_two_nodes, r2)
        r2.kill(signal.SIGTERM)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
