#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's registrar: REGISTER over UDP and TCP, digest,
suspension, the binding rules, the management API, and SIPp (TAP).

usage: test_registrar.py SIPRING [SCENARIO_DIR [SIPRINGCTL]]

Daemons, each on free ports with one worker and a generated accounts file:

  registrar   authenticate on (SHA-256, MD5), min/default/max expires 60/3600/
              3600, max_contacts 3, suspend retry 6 for 8 s (403),
              sip.domains [example.com]:
                401 challenge (one WWW-Authenticate per algorithm, SHA-256
                first, qop="auth", realm = To host), 200 with a Contact per
                binding (;expires=N) and Date, SHA-256 and MD5 credentials,
                refresh, Expires header / ;expires / default, clamping, 423
                with Min-Expires, query, unregister, out-of-order CSeq (500),
                retransmission absorbed (the same 200), wrong password /
                unknown user (401), user mismatch (403), suspension after 6
                failures (403 also for the right password, lifted after the
                time or by DELETE /api/v1/suspensions/<key>), a success resets
                the count, replace (the new contact replaces the others), max
                contacts (403), wildcard (200 with Expires 0, else 400), AOR
                and domain rules (404), contact parameters echoed (a quoted
                value with its quotes), RFC 4475 regaut01 (unknown scheme:
                401), TCP, GET/DELETE /api/v1/registrations, `sipringctl
                registrations` and `suspensions` when built.
  replace off the VOS3000 aliases SS_ENDPOINT_REGISTER_REPLACE: Off, _RETRY: 3,
              _SUSPEND: 4, auth.nonce_expire 10 s:
                403 "Registered From Another Contact" while another contact is
                live, its refresh allowed, the new one allowed once the old is
                unregistered; 3 failures suspend; a nonce reused with a growing
                nc is accepted until it expires, then 401 stale=true; a nonce of
                another node with the right password: stale=true, with a wrong
                one: 401 without stale; RFC 5626: the same +sip.instance/reg-id
                from a new address is the same binding (moved, not refused).
  drop        suspend.action drop, retry 2, 4 s: no answer while suspended.
  no auth     authenticate off, sip.domains [example.com]: RFC 4475 cparam01,
              cparam02, regescrt (from $SIPRING_CONFORMANCE/rfc4475, skipped
              when absent) bound and echoed; read-your-writes: 300 fresh AORs
              each for "register, then query", "register, then Expires 0",
              "register, then *", every second request sent once the 200 of
              the first is in: the query lists the binding, the unregisters
              leave nothing bound.
  sipp / sipp replace off
              SIPp (skipped when not installed; auth.algorithms [MD5, SHA-256]
              because SIPp 3.6 answers the first challenge and knows only MD5):
              reg_auth_uac.xml (401, 200, refresh, query, unregister) for 20
              users (injection file) over UDP, 20 over TCP, reg_wildcard_uac,
              reg_423_uac, reg_suspend_uac (6 wrong passwords, 403, allowed
              again after the suspension), reg_replace_on_uac,
              reg_replace_off_uac.

The service thread applies binding changes after the worker answers: what
the API shows is polled for (wait_for), never expected at once.
"""
import csv
import email.utils
import json
import os
import re
import shutil
import sys
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
SIPP = shutil.which("sipp")
SIPP_TIMEOUT = 180
CONFORMANCE = os.environ.get("SIPRING_CONFORMANCE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "conformance")
RFC4475 = os.path.join(CONFORMANCE, "rfc4475")
HOST = "127.0.0.1"
SUSPEND_S = 8  # the registrar daemon's suspension
SIPP_USERS = 40


def pw(user):
    return "pw-%s" % user


def write_accounts(entries):
    """entries: [(user, domain)]; the password is pw(user). Returns the path."""
    d = h.tmpdir("sipring-accounts-")
    path = os.path.join(d, "accounts.yaml")
    with open(path, "w") as f:
        f.write("accounts:\n")
        for user, domain in entries:
            f.write('  - user: "%s"\n    domain: "%s"\n    password: "%s"\n' % (
                user, domain, pw(user)))
    return path


ACCOUNTS = write_accounts([(str(u), HOST) for u in range(1001, 1040)] +
                          [(str(u), HOST) for u in range(2001, 2001 + SIPP_USERS)] +
                          [("j.user", "example.com"), ("alice", "example.com")])


# ---------------------------------------------------------------- a UA

class Ua:
    """One registering UA: a socket (UDP, or a TCP connection), a Call-ID, a
    CSeq, a contact. register() does what a UA does: a REGISTER, its 401, the
    same REGISTER (CSeq + 1) with credentials."""

    def __init__(self, d, user, domain=HOST, transport="udp", password=None, alg="SHA-256"):
        self.d = d
        self.user = user
        self.domain = domain
        self.password = pw(user) if password is None else password
        self.alg = alg
        self.tcp = transport == "tcp"
        if self.tcp:
            self.conn = h.Tcp(d.sip_addr)
            self.port = self.conn.local[1]
        else:
            self.sock = h.Udp(HOST)
            self.port = self.sock.port
        self.call_id = h.new_callid()
        self.from_tag = h.uuid.uuid4().hex[:10]
        self.cseq = 0
        self.ruri = "sip:%s" % h.hostport(*d.sip_addr)
        self.contact = "<sip:%s@%s:%d>" % (user, HOST, self.port)
        self.last401 = None

    def close(self):
        (self.conn if self.tcp else self.sock).close()

    def build(self, contacts=None, expires=None, cseq=None, call_id=None, to=None, ruri=None,
              extra=()):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        contacts = [self.contact] if contacts is None else contacts
        m = h.Msg("REGISTER", ruri or self.ruri, HOST, self.port,
                  transport="TCP" if self.tcp else "UDP", call_id=call_id or self.call_id,
                  cseq=cseq)
        m.set("From", "<sip:%s@%s>;tag=%s" % (self.user, self.domain, self.from_tag))
        m.set("To", to or "<sip:%s@%s>" % (self.user, self.domain))
        for c in contacts:
            m.add("Contact", c)
        if expires is not None:
            m.add("Expires", str(expires))
        for n, v in extra:
            m.add(n, v)
        return m

    def send(self, m):
        data = m.bytes() if isinstance(m, h.Msg) else m
        if self.tcp:
            self.conn.send(data)
        else:
            self.sock.send(data, self.d.sip_addr)

    def ask(self, m, timeout=h.ANSWER_DEADLINE):
        if not self.d.alive():
            return None
        if self.tcp:
            return self.conn.ask(m, timeout=timeout)
        return self.sock.ask(m, self.d.sip_addr, timeout=timeout)

    def authorize(self, m, challenge, password=None, user=None, username=None, alg=None,
                  nc=1, cnonce=None):
        """Add an Authorization answering challenge (a 401) to m."""
        www = pick(challenge, alg or self.alg)
        m.add("Authorization", h.digest_authorization(
            www, user or self.user, self.password if password is None else password,
            "REGISTER", m.start.split()[1], nc=nc, cnonce=cnonce, username=username))
        return m

    def register(self, contacts=None, expires=None, password=None, user=None, username=None,
                 alg=None, cseq=None, call_id=None, to=None, ruri=None, extra=()):
        """Challenge, then credentials: (the authorised request, its answer); when
        the first answer is not a 401, (None, that answer)."""
        kw = dict(contacts=contacts, expires=expires, cseq=cseq, call_id=call_id, to=to,
                  ruri=ruri, extra=extra)
        ch = self.ask(self.build(**kw))
        self.last401 = ch
        if ch is None or ch.status != 401:
            return None, ch
        m = self.authorize(self.build(**kw), ch, password, user, username, alg)
        return m, self.ask(m)


def pick(r, alg):
    """The WWW-Authenticate value of response r for algorithm alg."""
    for v in r.all("www-authenticate"):
        if h.auth_params(v)[1].get("algorithm", "MD5").upper() == alg.upper():
            return v
    raise AssertionError("no WWW-Authenticate for %s in %r" % (alg, r))


def contacts(r):
    return r.all("contact") if r is not None else []


def expires_of(c):
    m = re.search(r";expires=(\d+)$", c)
    return int(m.group(1)) if m else None


def without_expires(c):
    return re.sub(r";expires=\d+$", "", c)


def uri_part(c):
    """'<uri>;params' -> '<uri>'."""
    return c[:c.find(">") + 1] if c.startswith("<") else c


def st(r):
    return r.status if r is not None else None


def show(*rs):
    return "\n".join(r.raw.decode("utf-8", "replace") if hasattr(r, "raw") else
                     (r.bytes().decode("utf-8", "replace") if isinstance(r, h.Msg) else repr(r))
                     for r in rs)


# ---------------------------------------------------------------- the API

def api_list(d):
    s, body = h.http_get(d.url + "/api/v1/registrations")
    if s != 200:
        return None
    return json.loads(body)


def api_bindings(d, aor):
    js = api_list(d)
    if js is None:
        return None
    for reg in js.get("registrations", []):
        if reg.get("aor") == aor:
            return reg.get("bindings", [])
    return []


def api_contacts(d, aor):
    b = api_bindings(d, aor)
    return None if b is None else sorted(x.get("contact") for x in b)


def wait_contacts(d, aor, want, timeout=h.ANSWER_DEADLINE):
    """Poll the API until aor's contacts are want (a list); returns the last seen."""
    want = sorted(want)
    last = [None]

    def f():
        last[0] = api_contacts(d, aor)
        return last[0] == want
    h.wait_for(f, timeout)
    return last[0]


def aor_path(aor):
    return "/api/v1/registrations/" + urllib.parse.quote(aor, safe="")


# ---------------------------------------------------------------- cases: registrar

def case_challenge(d):
    u = Ua(d, "1001")
    try:
        m = u.build()
        r = u.ask(m)
        t.eq(st(r), 401, "REGISTER without credentials: 401", show(m, r))
        if st(r) != 401:
            return
        t.eq(h.echo_problems(m, r), [], "401: Via, From, To (+tag), Call-ID, CSeq copied")
        www = r.all("www-authenticate")
        ps = [h.auth_params(v) for v in www]
        t.eq([p[1].get("algorithm") for p in ps], ["SHA-256", "MD5"],
             "401: one WWW-Authenticate per algorithm, SHA-256 first, then MD5", show(r))
        t.ok(all(p[0] == "digest" for p in ps), "401: the challenges are Digest", show(r))
        t.ok(all(re.search(r'qop="auth"', v) for v in www) and
             all(p[1].get("qop") == "auth" for p in ps), '401: qop="auth" in each', show(r))
        t.ok(all(p[1].get("realm") == HOST for p in ps),
             "401: realm is the To host (auth.realm empty)", show(r))
        nonces = {p[1].get("nonce") for p in ps}
        t.ok(len(nonces) == 1 and "" not in nonces and None not in nonces,
             "401: one nonce for both challenges", show(r))
        t.ok(all("stale" not in p[1] for p in ps), "401 to a first REGISTER: no stale", show(r))
        r2 = u.ask(m)  # the same bytes again: answered again (stateless)
        t.eq(st(r2), 401, "the same REGISTER again (no credentials): 401 again", show(r2))
        t.eq(api_contacts(d, "1001@" + HOST), [], "no binding after a 401")
    finally:
        u.close()


def check_date(r, desc):
    v = r.get("date") if r is not None else None
    ok = False
    if v:
        try:
            ok = email.utils.parsedate_to_datetime(v) is not None and v.endswith(" GMT") and \
                bool(re.match(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$",
                              v))
        except (TypeError, ValueError):
            ok = False
    t.ok(ok, "%s: Date header in RFC 1123 form" % desc, "Date: %r" % v)


def case_register(d):
    aor = "1001@" + HOST
    u = Ua(d, "1001")
    try:
        m, r = u.register()
        t.eq(st(r), 200, "SHA-256 credentials: 200", show(m, r))
        if st(r) != 200:
            return
        t.eq(h.echo_problems(m, r), [], "200: Via, From, To (+tag), Call-ID, CSeq copied")
        t.eq(contacts(r), [u.contact + ";expires=3600"],
             "200: one Contact, <uri>;expires=default_expires (no Expires given)", show(r))
        check_date(r, "200")
        got = wait_contacts(d, aor, [u.contact])
        t.eq(got, [u.contact], "API lists the binding of %s" % aor)
        b = (api_bindings(d, aor) or [{}])[0]
        t.ok(0 < b.get("expires_in", -1) <= 3600, "API: 0 < expires_in <= 3600", repr(b))
        t.eq((b.get("call_id"), b.get("cseq"), b.get("source"), b.get("user_agent")),
             (u.call_id, u.cseq, "udp:%s:%d" % (HOST, u.port), "sipring-itest"),
             "API: the binding's call_id, cseq, source, user_agent")
        js = api_list(d) or {}
        t.ok(js.get("aors", 0) >= 1 and js.get("bindings", 0) >= 1 and
             js.get("truncated") is False, "API: aors, bindings counts, truncated false",
             repr(js)[:500])
        s, body = h.http_get(d.url + aor_path(aor))
        one = json.loads(body) if s == 200 else {}
        t.ok(s == 200 and one.get("aor") == aor and
             [x.get("contact") for x in one.get("bindings", [])] == [u.contact],
             "GET /api/v1/registrations/<aor>: that AOR", "%s %s" % (s, body))

        # refresh, Expires header
        m, r = u.register(expires=120)
        t.eq(contacts(r), [u.contact + ";expires=120"],
             "refresh with Expires: 120: 200 lists the binding with expires=120", show(m, r))
        t.ok(h.wait_for(lambda: 0 < ((api_bindings(d, aor) or [{}])[0]).get(
            "expires_in", 9999) <= 120), "API: expires_in <= 120 after the refresh",
             repr(api_bindings(d, aor)))
        # ;expires wins over the Expires header
        m, r = u.register(contacts=[u.contact + ";expires=300"], expires=30)
        t.eq(contacts(r), [u.contact + ";expires=300"],
             "Contact ;expires=300 with Expires: 30: the parameter wins (200, expires=300)",
             show(m, r))
        # clamped to max_expires
        m, r = u.register(contacts=[u.contact + ";expires=99999"])
        t.eq(contacts(r), [u.contact + ";expires=3600"],
             "Contact ;expires=99999: clamped to max_expires (3600)", show(m, r))
        # 423
        for desc, kw in (("Contact ;expires=30", dict(contacts=[u.contact + ";expires=30"])),
                         ("Expires: 59", dict(expires=59)),
                         ("Expires: 1", dict(expires=1))):
            m, r = u.register(**kw)
            t.eq((st(r), r.get("min-expires") if r else None), (423, "60"),
                 "%s (below min_expires): 423 with Min-Expires: 60" % desc, show(m, r))
        m, r = u.register(expires=60)
        t.eq(contacts(r), [u.contact + ";expires=60"], "Expires: 60 (= min_expires): 200",
             show(m, r))
        # query
        m, r = u.register(contacts=[])
        cs = contacts(r)
        t.ok(st(r) == 200 and len(cs) == 1 and without_expires(cs[0]) == u.contact and
             0 < (expires_of(cs[0]) or 0) <= 60,
             "REGISTER without Contact (query): 200 listing the binding", show(m, r))
        check_date(r, "query 200")
        # out of order: same Call-ID, CSeq not higher than the binding's
        stored = u.cseq - 2  # the query does not change the binding; the last SET was the 60 s
        s_before = (api_bindings(d, aor) or [{}])[0].get("cseq")
        t.eq(s_before, stored, "API: the binding holds the CSeq of its last REGISTER")
        for desc, cs_ in (("equal", stored), ("lower", stored - 1)):
            m, r = u.register(expires=600, cseq=cs_)
            t.eq(st(r), 500, "same Call-ID, CSeq %s to the binding's: 500" % desc, show(m, r))
        b = (api_bindings(d, aor) or [{}])[0]
        t.eq((b.get("cseq"), b.get("expires_in", 0) <= 60), (stored, True),
             "API: the out-of-order REGISTERs changed nothing", repr(b))
        # another Call-ID may use a lower CSeq (a rebooted UA)
        u2 = Ua(d, "1001")
        try:
            u2.contact = u.contact
            m, r = u2.register(expires=600, cseq=1)
            t.eq(contacts(r), [u.contact + ";expires=600"],
                 "another Call-ID, CSeq 1, the same contact: 200 (a rebooted UA refreshes)",
                 show(m, r))
        finally:
            u2.close()
        # unregister
        m, r = u.register(contacts=[u.contact + ";expires=0"])
        t.ok(st(r) == 200 and contacts(r) == [],
             "Contact ;expires=0: 200 without Contact (binding removed)", show(m, r))
        t.eq(wait_contacts(d, aor, []), [], "API: the AOR is gone after the unregister")
        s, _ = h.http_get(d.url + aor_path(aor))
        t.eq(s, 404, "GET /api/v1/registrations/<aor> of an AOR without bindings: 404")
    finally:
        u.close()


def case_md5(d):
    u = Ua(d, "1002", alg="MD5")
    try:
        m, r = u.register(expires=600)
        t.eq(contacts(r), [u.contact + ";expires=600"], "MD5 credentials: 200", show(m, r))
        m, r = u.register(expires=0)
        t.ok(st(r) == 200 and contacts(r) == [], "Expires: 0 (header): 200, binding removed",
             show(m, r))
        t.eq(wait_contacts(d, "1002@" + HOST, []), [], "API: 1002 unregistered")
    finally:
        u.close()


def case_retransmission(d):
    u = Ua(d, "1003")
    try:
        ch = u.ask(u.build(expires=600))
        m = u.authorize(u.build(expires=600), ch)
        raw = m.bytes()
        r1 = u.ask(raw)
        r2 = u.ask(raw)
        t.eq((st(r1), st(r2)), (200, 200),
             "an authorised REGISTER sent twice (same branch): 200 both times", show(r1, r2))
        t.ok(r1 is not None and r2 is not None and r1.raw == r2.raw,
             "the retransmission gets the same 200 (absorbed by the transaction)",
             show(r1, r2))
        t.eq(wait_contacts(d, "1003@" + HOST, [u.contact]), [u.contact],
             "API: one binding after the retransmission")
        m, r = u.register(expires=0)
        t.eq(st(r), 200, "1003 unregisters", show(m, r))
    finally:
        u.close()


def case_failures(d):
    # wrong password
    u = Ua(d, "1004")
    try:
        m, r = u.register(password="wrong")
        p = [h.auth_params(v)[1] for v in (r.all("www-authenticate") if r else [])]
        t.ok(st(r) == 401 and len(p) == 2 and all("stale" not in x for x in p),
             "wrong password: 401 with a new challenge, no stale", show(m, r))
        t.eq(api_contacts(d, "1004@" + HOST), [], "no binding after a wrong password")
    finally:
        u.close()
    # unknown user: the challenge is the same as for a known one
    u = Ua(d, "1999")
    try:
        m, r = u.register(password="whatever")
        t.eq(st(r), 401, "unknown user (not in the accounts): 401", show(m, r))
    finally:
        u.close()
    # credentials of another user
    u = Ua(d, "1005")
    try:
        m, r = u.register(user="1006", password=pw("1006"))
        t.eq(st(r), 403, "credentials of 1006 (right password) in a REGISTER of 1005: 403",
             show(m, r))
        t.eq(api_contacts(d, "1005@" + HOST), [], "no binding for 1005")
        t.eq(api_contacts(d, "1006@" + HOST), [], "no binding for 1006")
    finally:
        u.close()
    # unsupported algorithm in the credentials
    u = Ua(d, "1007")
    try:
        ch = u.ask(u.build())
        m = u.build()
        www = pick(ch, "MD5").replace("algorithm=MD5", "algorithm=MD5-sess")
        m.add("Authorization", h.digest_authorization(www, "1007", pw("1007"), "REGISTER",
                                                      u.ruri))
        r = u.ask(m)
        t.eq(st(r), 401, "credentials with algorithm=MD5-sess: 401 (never 200)", show(m, r))
    finally:
        u.close()


def wrong(u, n):
    """n REGISTERs with a wrong password; the statuses of their answers."""
    out = []
    for _ in range(n):
        _, r = u.register(password="wrong-" + u.user)
        out.append(st(r))
    return out


def fresh_challenge(d, user="1998"):
    """A 401 from d for a user who is not counted."""
    x = Ua(d, user)
    try:
        return x.ask(x.build())
    finally:
        x.close()


def case_suspend(d):
    aor = "1008@" + HOST
    u = Ua(d, "1008")
    try:
        got = wrong(u, 5)
        t.eq(got, [401] * 5, "1008: 5 wrong passwords: 401 each")
        _, r = u.register(password="wrong")
        t.eq((st(r), r.reason if r else None), (403, "Suspended"),
             "1008: the 6th wrong password (retry 6): 403 Suspended", show(r))
        r = u.ask(u.build())
        t.eq((st(r), r.reason if r else None), (403, "Suspended"),
             "1008 suspended: a REGISTER without credentials: 403 Suspended", show(r))
        m = u.authorize(u.build(), fresh_challenge(d))
        r = u.ask(m)
        t.eq((st(r), r.reason if r else None), (403, "Suspended"),
             "1008 suspended: the right password: 403 Suspended", show(m, r))
        s, body = h.http_get(d.url + "/api/v1/suspensions")
        js = json.loads(body) if s == 200 else {}
        keys = {x.get("key"): x for x in js.get("suspensions", [])}
        x = keys.get(aor, {})
        t.ok(s == 200 and js.get("enabled") is True and x.get("type") == "user" and
             0 < x.get("remaining_s", 0) <= SUSPEND_S,
             "GET /api/v1/suspensions lists %s (type user, remaining_s)" % aor,
             "%s %s" % (s, body))
        v = Ua(d, "1009")
        try:
            m, r = v.register()
            t.eq(st(r), 200, "another user (1009) is not suspended: 200", show(m, r))
            v.register(expires=0)
        finally:
            v.close()

        def allowed():
            _, r = u.register()
            return st(r) == 200
        t.ok(h.wait_for(allowed, SUSPEND_S + 60, 0.5),
             "1008 after the suspension time: the right password gets 200",
             "last: %s\n%s" % (show(u.last401), d.log_tail(10)))
        t.eq(wait_contacts(d, aor, [u.contact]), [u.contact], "API: 1008 bound")
        got = wrong(u, 5)
        t.eq(got, [401] * 5, "1008 after the suspension: counted from 0 again (5 x 401)")
        m, r = u.register(expires=0)
        t.eq(st(r), 200, "1008: the right password again: 200", show(m, r))
        t.ok("suspended after failed authentications" in d.log(),
             "the suspension is logged", d.log_tail(10))
    finally:
        u.close()


def case_reset(d):
    u = Ua(d, "1010")
    try:
        a = wrong(u, 5)
        m, r = u.register()
        b = wrong(u, 5)
        m2, r2 = u.register(expires=0)
        t.eq((a, st(r), b, st(r2)), ([401] * 5, 200, [401] * 5, 200),
             "1010: 5 wrong, right (200: the count is reset), 5 wrong (401, not 403), right",
             show(m, r, m2, r2))
    finally:
        u.close()


def case_lift(d):
    key = "1011@" + HOST
    u = Ua(d, "1011")
    try:
        got = wrong(u, 6)
        t.eq(got, [401] * 5 + [403], "1011: 6 wrong passwords: 5 x 401, then 403")
        s, body = h.http_request("DELETE", d.url + "/api/v1/suspensions/" +
                                 urllib.parse.quote(key, safe=""))
        t.eq(s, 200, "DELETE /api/v1/suspensions/%s: 200" % key, body)
        m, r = u.register(expires=0)
        t.eq(st(r), 200, "1011 after DELETE of its suspension: 200", show(m, r))
        s, body = h.http_request("DELETE", d.url + "/api/v1/suspensions/" +
                                 urllib.parse.quote(key, safe=""))
        t.eq(s, 404, "DELETE of a suspension that is not there: 404", body)
    finally:
        u.close()


def case_replace(d):
    aor = "1012@" + HOST
    x, y = Ua(d, "1012"), Ua(d, "1012")
    try:
        m, r = x.register(expires=600)
        t.eq(contacts(r), [x.contact + ";expires=600"], "replace on: first contact bound",
             show(m, r))
        wait_contacts(d, aor, [x.contact])
        m, r = y.register(expires=600)
        t.eq(contacts(r), [y.contact + ";expires=600"],
             "replace on: another device's contact: 200 lists only the new one", show(m, r))
        t.eq(wait_contacts(d, aor, [y.contact]), [y.contact],
             "API: only the new contact is bound")
        m, r = x.register(contacts=[])
        t.eq([without_expires(c) for c in contacts(r)], [y.contact],
             "query from the first device: lists only the new contact", show(m, r))
        m, r = y.register(expires=600)
        t.eq(contacts(r), [y.contact + ";expires=600"], "replace on: a refresh keeps it",
             show(m, r))
        m, r = y.register(contacts=["*"], expires=0)
        t.ok(st(r) == 200 and contacts(r) == [], "Contact: * with Expires: 0: 200, no Contact",
             show(m, r))
        t.eq(wait_contacts(d, aor, []), [], "API: nothing left for %s" % aor)
    finally:
        x.close()
        y.close()


def case_many(d):
    aor = "1013@" + HOST
    u = Ua(d, "1013")
    try:
        cs = ["<sip:1013-%d@%s:%d>" % (i, HOST, u.port) for i in range(4)]
        m, r = u.register(contacts=cs, expires=600)
        t.eq(st(r), 403, "4 contacts in one REGISTER (max_contacts 3): 403", show(m, r))
        t.eq(api_contacts(d, aor), [], "no binding after the 403")
        m, r = u.register(contacts=[", ".join(cs[:3])], expires=600)
        got = sorted(without_expires(c) for c in contacts(r))
        t.ok(st(r) == 200 and got == sorted(cs[:3]) and
             all(expires_of(c) == 600 for c in contacts(r)),
             "3 contacts in one Contact header: 200 with a Contact per binding", show(m, r))
        t.eq(wait_contacts(d, aor, cs[:3]), sorted(cs[:3]), "API: 3 bindings")
        m, r = u.register(contacts=[cs[3]], expires=600)
        t.eq(sorted(without_expires(c) for c in contacts(r)), [cs[3]],
             "a 4th contact with replace on: 200 and it replaces the 3", show(m, r))
        t.eq(wait_contacts(d, aor, [cs[3]]), [cs[3]], "API: only the 4th")
        m, r = u.register(contacts=cs[:3], expires=600)
        t.eq(wait_contacts(d, aor, cs[:3]), sorted(cs[:3]), "API: 3 again")
        # wildcard
        for desc, kw in (("Expires: 60", dict(contacts=["*"], expires=60)),
                         ("no Expires", dict(contacts=["*"])),
                         ("Expires: 0 and another contact",
                          dict(contacts=["*", cs[0]], expires=0))):
            m, r = u.register(**kw)
            t.eq(st(r), 400, "Contact: * with %s: 400" % desc, show(m, r))
        t.eq(api_contacts(d, aor), sorted(cs[:3]), "API: the 400s removed nothing")
        m, r = u.register(contacts=["*"], expires=0)
        t.ok(st(r) == 200 and contacts(r) == [],
             "Contact: * with Expires: 0: 200, every binding removed", show(m, r))
        check_date(r, "wildcard 200")
        t.eq(wait_contacts(d, aor, []), [], "API: no binding of %s left" % aor)
    finally:
        u.close()


def case_params(d):
    aor = "1014@" + HOST
    u = Ua(d, "1014")
    try:
        c = "<sip:1014@%s:%d;transport=udp>" % (HOST, u.port)
        m, r = u.register(contacts=[c + ";foo=bar;flag;q=0.7;expires=600"])
        cs = contacts(r)
        t.ok(st(r) == 200 and len(cs) == 1 and cs[0].startswith(c + ";foo=bar;flag") and
             cs[0].endswith(";expires=600") and cs[0].count("expires=") == 1,
             "Contact header params other than expires/q echoed (;foo=bar;flag), then "
             ";expires=N", show(m, r))
        t.ok(h.wait_for(lambda: (api_contacts(d, aor) or [""])[0].startswith(c + ";foo=bar;flag")),
             "API: the stored contact keeps its parameters", repr(api_contacts(d, aor)))
        b = (api_bindings(d, aor) or [{}])[0]
        t.ok("expires" not in b.get("contact", "expires"),
             "API: the stored contact has no expires parameter", repr(b))
        # a quoted parameter value (RFC 3261 gen-value = token / host / quoted-string)
        q = "<sip:1014-q@%s:%d>;+sip.x=\"y z\"" % (HOST, u.port)
        m, r = u.register(contacts=[q + ";expires=600"])
        t.eq(contacts(r), [q + ";expires=600"],
             "Contact with a quoted parameter value (+sip.x=\"y z\"): echoed with its quotes",
             show(m, r))
        t.eq(wait_contacts(d, aor, [q]), [q], "API: the quoted parameter stored with its quotes")
        m, r = u.register(contacts=["*"], expires=0)
        t.eq(st(r), 200, "1014 unregisters (*)", show(m, r))
    finally:
        u.close()


INSTANCE = "<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>"


def case_instance(d):
    """RFC 5626: the binding is the (+sip.instance, reg-id) pair: a new contact
    URI with the same pair is the same binding (a refresh, allowed even with
    replace off); the 200 echoes +sip.instance as written."""
    aor = "1019@" + HOST
    x, y = Ua(d, "1019"), Ua(d, "1019")
    try:
        cx = '%s;+sip.instance="%s";reg-id=1' % (x.contact, INSTANCE)
        cy = '%s;+sip.instance="%s";reg-id=1' % (y.contact, INSTANCE)
        m, r = x.register(contacts=[cx], expires=600)
        t.eq(contacts(r), [cx + ";expires=600"],
             "Contact with +sip.instance and reg-id: 200 echoing them as written", show(m, r))
        wait_contacts(d, aor, [cx])
        m, r = y.register(contacts=[cy], expires=600)
        t.eq((st(r), [uri_part(c) for c in contacts(r)]), (200, [y.contact]),
             "the same +sip.instance/reg-id from a new address (replace off): 200 listing "
             "only the new address (the binding moved)", show(m, r))
        last = [None]

        def moved():
            last[0] = api_contacts(d, aor)
            return last[0] is not None and [uri_part(c) for c in last[0]] == [y.contact]
        t.ok(h.wait_for(moved), "API: one binding, at the new address", repr(last[0]))
        b = (api_bindings(d, aor) or [{}])[0]
        t.ok(INSTANCE.strip("<>") in (b.get("instance") or "") and b.get("reg_id") == 1,
             "API: instance and reg_id of the binding", repr(b))
        m, r = y.register(contacts=["*"], expires=0)
        t.eq(st(r), 200, "1019 unregisters (*)", show(m, r))
    finally:
        x.close()
        y.close()


def case_domains(d):
    u = Ua(d, "1015")
    try:
        r = u.ask(u.build(to="<sip:1015@other.example>"))
        t.eq(st(r), 404, "To host not the Request-URI host nor a domain of ours: 404", show(r))
        r = u.ask(u.build(ruri="sip:other.example"))
        t.eq(st(r), 404, "Request-URI of another host: 404", show(r))
        r = u.ask(u.build(to="<sip:%s>" % HOST))
        t.ok(st(r) in (400, 404), "To without a user: 400 or 404", show(r))
        r = u.ask(u.build(ruri="sip:localhost:%d" % d.port, to="<sip:1015@localhost>"))
        t.eq(st(r), 401, "Request-URI localhost, To user@localhost: the registrar (401)",
             show(r))
    finally:
        u.close()
    u = Ua(d, "j.user", domain="example.com")
    try:
        m, r = u.register(expires=600)
        t.eq(contacts(r), [u.contact + ";expires=600"],
             "To j.user@example.com (in sip.domains), Request-URI our address: 200",
             show(u.last401, m, r))
        t.eq(h.auth_params(pick(u.last401, "SHA-256"))[1].get("realm"), "example.com",
             "the challenge's realm is the To host example.com")
        t.eq(wait_contacts(d, "j.user@example.com", [u.contact]), [u.contact],
             "API: AOR j.user@example.com")
        m, r = u.register(expires=0, ruri="sip:example.com")
        t.eq(st(r), 200, "Request-URI sip:example.com (a domain of ours): 200", show(m, r))
        t.eq(wait_contacts(d, "j.user@example.com", []), [], "API: j.user unregistered")
    finally:
        u.close()


def rfc4475(name):
    p = os.path.join(RFC4475, name)
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError:
        return None


def rewrite(raw, transport, port):
    """An RFC 4475 message with its Via pointing at our socket (sent-by, a new
    branch, rport), everything else as written."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = []
    for ln in lines:
        name = ln.split(b":", 1)[0].strip().lower()
        if name in (b"via", b"v"):
            ln = ("Via: SIP/2.0/%s %s:%d;branch=%s;rport" % (transport, HOST, port,
                                                            h.new_branch())).encode()
        out.append(ln)
    return b"\r\n".join(out) + sep + body


def case_regaut01(d):
    raw = rfc4475("regaut01.dat")
    if raw is None:
        t.skip("RFC 4475 regaut01", "no %s" % RFC4475)
        return
    c = h.Tcp(d.sip_addr)
    try:
        r = c.ask(rewrite(raw, "TCP", c.local[1]))
        ok = st(r) == 401 and h.auth_params(pick(r, "SHA-256"))[1].get("realm") == "example.com"
        t.ok(ok, "RFC 4475 regaut01 (Authorization: NoOneKnowsThisScheme) over TCP: 401 "
             "with a Digest challenge for example.com", show(r))
    finally:
        c.close()
    u = h.Udp(HOST)
    try:
        r = u.ask(rewrite(raw, "UDP", u.port), d.sip_addr)
        t.eq(st(r), 401, "RFC 4475 regaut01 over UDP: 401", show(r))
    finally:
        u.close()
    t.eq(api_contacts(d, "j.user@example.com"), [], "regaut01 bound nothing")


def case_tcp(d):
    aor = "1016@" + HOST
    u = Ua(d, "1016", transport="tcp")
    try:
        m, r = u.register(expires=600)
        t.eq(contacts(r), [u.contact + ";expires=600"], "TCP: 401 then 200 on one connection",
             show(u.last401, m, r))
        t.eq(wait_contacts(d, aor, [u.contact]), [u.contact], "TCP: API lists the binding")
        b = (api_bindings(d, aor) or [{}])[0]
        t.eq(b.get("source"), "tcp:%s:%d" % (HOST, u.port), "TCP: API source is tcp:ip:port",
             repr(b))
        m, r = u.register(contacts=[])
        t.eq([without_expires(c) for c in contacts(r)], [u.contact], "TCP: query", show(m, r))
        m, r = u.register(contacts=[u.contact + ";expires=30"])
        t.eq((st(r), r.get("min-expires") if r else None), (423, "60"), "TCP: 423", show(m, r))
        m, r = u.register(expires=0)
        t.ok(st(r) == 200 and contacts(r) == [], "TCP: unregister", show(m, r))
        t.eq(wait_contacts(d, aor, []), [], "TCP: API empty after the unregister")
    finally:
        u.close()


def case_api_delete(d):
    aor = "1017@" + HOST
    u = Ua(d, "1017")
    try:
        c2 = "<sip:1017-b@%s:%d>" % (HOST, u.port)
        m, r = u.register(contacts=[u.contact, c2], expires=600)
        t.eq(wait_contacts(d, aor, [u.contact, c2]), sorted([u.contact, c2]),
             "API: two bindings of %s" % aor, show(m, r))
        s, body = h.http_request("DELETE", d.url + aor_path(aor), {"contact": c2})
        t.eq(s, 200, "DELETE /api/v1/registrations/<aor> {contact}: 200", body)
        t.eq(wait_contacts(d, aor, [u.contact]), [u.contact], "API: the other binding stays")
        s, body = h.http_request("DELETE", d.url + aor_path(aor))
        t.ok(s == 200 and json.loads(body).get("removed") == 1,
             "DELETE /api/v1/registrations/<aor>: 200, removed 1", "%s %s" % (s, body))
        s, _ = h.http_get(d.url + aor_path(aor))
        t.eq(s, 404, "GET of the deleted AOR: 404")
        def empty():
            r = u.register(contacts=[])[1]
            return st(r) == 200 and contacts(r) == []
        ok = h.wait_for(empty)
        t.ok(ok, "a query REGISTER after the DELETE: 200 without Contact")
        s, body = h.http_request("DELETE", d.url + aor_path(aor))
        t.eq(s, 404, "DELETE of an AOR without bindings: 404", body)
    finally:
        u.close()


def ctl(*args):
    out = h.run([CTL] + list(args), timeout=60)
    return out.returncode, out.stdout.decode("utf-8", "replace"), \
        out.stderr.decode("utf-8", "replace")


def case_ctl(d):
    if not CTL or not os.access(CTL, os.X_OK):
        t.skip("sipringctl registrations", "sipringctl not built")
        return
    hr = h.run([CTL, "--help"], timeout=60)
    if b"registrations" not in hr.stdout + hr.stderr:
        t.skip("sipringctl registrations", "sipringctl has no registrations command yet")
        return
    aor = "1018@" + HOST
    u = Ua(d, "1018")
    try:
        c2 = "<sip:1018-b@%s:%d>" % (HOST, u.port)
        m, r = u.register(contacts=[u.contact, c2], expires=600)
        wait_contacts(d, aor, [u.contact, c2])
        rc, out, err = ctl("registrations", "--url", d.url)
        t.ok(rc == 0 and aor in out and uri_part(u.contact).strip("<>") in out,
             "sipringctl registrations --url: exit 0, lists the AOR and its contact",
             out + err)
        rc, out, err = ctl("registrations", "--url", d.url, "--json")
        try:
            js = json.loads(out)
        except ValueError:
            js = None
        t.ok(rc == 0 and js is not None and aor in out,
             "sipringctl registrations --json: JSON naming the AOR", (out + err)[:2000])
        rc, out, err = ctl("registrations", aor, "--url", d.url)
        t.ok(rc == 0 and aor in out and "1018-b@" in out,
             "sipringctl registrations AOR: that AOR's bindings", out + err)
        rc, out, err = ctl("registrations", "delete", aor, c2, "--url", d.url)
        t.eq(rc, 0, "sipringctl registrations delete AOR CONTACT: exit 0", out + err)
        t.eq(wait_contacts(d, aor, [u.contact]), [u.contact],
             "after sipringctl delete AOR CONTACT: the other binding stays")
        rc, out, err = ctl("registrations", "delete", aor, "--url", d.url)
        t.eq(rc, 0, "sipringctl registrations delete AOR: exit 0", out + err)
        t.eq(wait_contacts(d, aor, []), [], "after sipringctl delete AOR: no binding")
        rc, out, err = ctl("registrations", aor, "--url", d.url)
        t.eq(rc, 1, "sipringctl registrations of an AOR without bindings: exit 1", out + err)
    finally:
        u.close()
    hr = h.run([CTL, "--help"], timeout=60)
    if b"suspensions" not in hr.stdout + hr.stderr:
        t.skip("sipringctl suspensions", "sipringctl has no suspensions command yet")
        return
    key = "1020@" + HOST
    u = Ua(d, "1020")
    try:
        got = wrong(u, 6)
        t.eq(got[-1], 403, "1020: 6 wrong passwords: suspended (403)")
        rc, out, err = ctl("suspensions", "--url", d.url)
        t.ok(rc == 0 and key in out, "sipringctl suspensions: lists %s" % key, out + err)
        rc, out, err = ctl("suspensions", "clear", key, "--url", d.url)
        t.eq(rc, 0, "sipringctl suspensions clear KEY: exit 0", out + err)
        m, r = u.register(expires=0)
        t.eq(st(r), 200, "1020 after sipringctl suspensions clear: 200", show(m, r))
        rc, out, err = ctl("suspensions", "clear", key, "--url", d.url)
        t.eq(rc, 1, "sipringctl suspensions clear of a key not suspended: exit 1", out + err)
    finally:
        u.close()


# ---------------------------------------------------------------- cases: replace off

class AliasDaemon(h.Daemon):
    """A daemon whose file also holds raw top-level lines (VOS3000 aliases)."""

    def __init__(self, *a, raw="", **kw):
        super().__init__(*a, **kw)
        self.raw = raw

    def write_config(self, conf=None):
        if conf is None:
            return super().write_config(h.yaml_dump(self.config()) + "\n" + self.raw)
        return super().write_config(conf)


def start_alias(name, conf, raw):
    d = AliasDaemon(SIPRING, name, conf=conf, raw=raw)
    ok, why = d.start()
    if not t.ok(ok, "%s: sipring starts and becomes ready" % name, why):
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.stopped = True
        return None
    return d


def case_replace_off(d):
    aor = "1001@" + HOST
    x, y = Ua(d, "1001"), Ua(d, "1001")
    try:
        m, r = x.register(expires=600)
        t.eq(contacts(r), [x.contact + ";expires=600"], "replace off: the first contact: 200",
             show(m, r))
        wait_contacts(d, aor, [x.contact])
        m, r = y.register(expires=600)
        t.eq((st(r), r.reason if r else None), (403, "Registered From Another Contact"),
             "replace off: another contact while the first is live: 403 "
             "Registered From Another Contact", show(m, r))
        t.eq(api_contacts(d, aor), [x.contact], "replace off: the first binding stays")
        m, r = x.register(expires=900)
        t.eq(contacts(r), [x.contact + ";expires=900"],
             "replace off: a refresh of the live contact: 200", show(m, r))
        m, r = x.register(expires=0)
        t.ok(st(r) == 200 and contacts(r) == [], "replace off: the first unregisters",
             show(m, r))
        wait_contacts(d, aor, [])
        m, r = y.register(expires=600)
        t.eq(contacts(r), [y.contact + ";expires=600"],
             "replace off: the other contact once the first is gone: 200", show(m, r))
        m, r = y.register(contacts=["*"], expires=0)
        t.eq(st(r), 200, "replace off: * unregisters", show(m, r))
    finally:
        x.close()
        y.close()


def case_alias_retry(d):
    u = Ua(d, "1002")
    try:
        got = wrong(u, 3)
        t.eq(got, [401, 401, 403],
             "SS_ENDPOINT_REGISTER_RETRY: 3: the 3rd wrong password gets 403")

        def allowed():
            _, r = u.register(expires=0)
            return st(r) == 200
        t.ok(h.wait_for(allowed, 60, 0.5),
             "SS_ENDPOINT_REGISTER_SUSPEND: 4: allowed again after the suspension",
             show(u.last401))
    finally:
        u.close()


def case_stale_age(d):
    """A nonce reused with nc growing is accepted until nonce_expire (10 s),
    then answered 401 stale=true."""
    u = Ua(d, "1003")
    try:
        ch = u.ask(u.build())
        statuses = []
        last = [None]
        nc = [0]

        def once():
            nc[0] += 1
            m = u.authorize(u.build(expires=600), ch, nc=nc[0])
            r = u.ask(m)
            last[0] = (m, r)
            statuses.append(st(r))
            return st(r) != 200
        h.wait_for(once, 90, 1.0)
        m, r = last[0]
        t.ok(statuses[0] == 200 and all(s == 200 for s in statuses[:-1]),
             "a nonce reused with nc 1, 2, 3...: 200 while fresh", repr(statuses))
        p = [h.auth_params(v)[1] for v in (r.all("www-authenticate") if r else [])]
        t.ok(st(r) == 401 and len(p) == 2 and all(x.get("stale") == "true" for x in p),
             "the same nonce after auth.nonce_expire, right password: 401 stale=true",
             show(m, r))
        m, r = u.register(expires=0)
        t.eq(st(r), 200, "the new nonce: 200", show(m, r))
        _, r = u.register(expires=600)
        m = u.authorize(u.build(expires=0), u.last401, nc=1)  # nc 1 of that nonce again
        r = u.ask(m)
        t.eq(st(r), 401, "a nonce-count used again (replay): 401", show(m, r))
        m, r = u.register(expires=0)
        t.eq(st(r), 200, "1003 unregisters", show(m, r))
    finally:
        u.close()


def case_stale_foreign(d, other):
    """A nonce issued by another node (other secret): stale=true with the right
    password, a plain 401 with a wrong one."""
    u = Ua(d, "1004")
    try:
        ch = fresh_challenge(other)
        m = u.authorize(u.build(expires=600), ch)
        r = u.ask(m)
        p = [h.auth_params(v)[1] for v in (r.all("www-authenticate") if r else [])]
        t.ok(st(r) == 401 and p and all(x.get("stale") == "true" for x in p),
             "another node's nonce, right password: 401 stale=true", show(m, r))
        m = u.authorize(u.build(expires=600), ch, password="wrong")
        r = u.ask(m)
        p = [h.auth_params(v)[1] for v in (r.all("www-authenticate") if r else [])]
        t.ok(st(r) == 401 and p and all("stale" not in x for x in p),
             "another node's nonce, wrong password: 401 without stale", show(m, r))
    finally:
        u.close()


# ---------------------------------------------------------------- cases: drop

def no_answer(u, d, m):
    """Send m; then an OPTIONS on the same socket: True when the first thing
    back is the OPTIONS' 200 (m got no answer)."""
    u.send(m)
    o = h.Msg("OPTIONS", "sip:%s" % h.hostport(*d.sip_addr), HOST, u.port)
    r = u.ask(o)
    return r is not None and r.get("call-id") == o.call_id and r.status == 200, r


def case_drop(d):
    u = Ua(d, "1001")
    try:
        _, r = u.register(password="wrong")
        t.eq(st(r), 401, "action drop: the first wrong password: 401", show(r))
        ch = u.ask(u.build())
        ok, r = no_answer(u, d, u.authorize(u.build(), ch, password="wrong"))
        t.ok(ok, "action drop: the 2nd wrong password (retry 2): no answer", show(r))
        ok, r = no_answer(u, d, u.build())
        t.ok(ok, "action drop: suspended, no credentials: no answer", show(r))
        ok, r = no_answer(u, d, u.authorize(u.build(), fresh_challenge(d)))
        t.ok(ok, "action drop: suspended, the right password: no answer", show(r))

        def allowed():
            _, r = u.register(expires=0)
            return st(r) == 200
        t.ok(h.wait_for(allowed, 60, 0.5), "action drop: allowed again after the time",
             d.log_tail(10))
    finally:
        u.close()


# ---------------------------------------------------------------- cases: no auth (RFC 4475)

def case_rfc4475_bind(d):
    cases = [
        ("cparam01.dat", "watson@example.com",
         "<sip:+19725552222@gw1.example.net>;unknownparam"),
        ("cparam02.dat", "watson@example.com",
         "<sip:+19725552222@gw1.example.net;unknownparam>"),
        ("regescrt.dat", "user@example.com",
         "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>"),
    ]
    for name, aor, want in cases:
        raw = rfc4475(name)
        if raw is None:
            t.skip("RFC 4475 %s" % name, "no %s" % RFC4475)
            continue
        s, _ = h.http_request("DELETE", d.url + aor_path(aor))  # 404 when none: fine
        h.wait_for(lambda: api_contacts(d, aor) == [])
        u = h.Udp(HOST)
        try:
            r = u.ask(rewrite(raw, "UDP", u.port), d.sip_addr)
            t.eq(contacts(r), [want + ";expires=3600"],
                 "RFC 4475 %s: 200 echoing the contact as %s;expires=3600" % (name, want),
                 show(r))
            check_date(r, "RFC 4475 %s" % name)
            t.eq(wait_contacts(d, aor, [want]), [want],
                 "RFC 4475 %s: API lists %s for %s" % (name, want, aor))
        finally:
            u.close()


def case_noauth(d):
    aor = "5000@" + HOST
    u = Ua(d, "5000")
    try:
        m = u.build(expires=600)
        r = u.ask(m)
        t.eq(contacts(r), [u.contact + ";expires=600"],
             "authenticate off: REGISTER without credentials: 200", show(m, r))
        t.eq(wait_contacts(d, aor, [u.contact]), [u.contact], "authenticate off: API binding")
        r2 = u.ask(m)
        t.ok(st(r2) == 200 and r is not None and r2.raw == r.raw,
             "authenticate off: a retransmission gets the same 200", show(r, r2))
        r = u.ask(u.build(contacts=["*"], expires=0))
        t.eq(st(r), 200, "authenticate off: * unregisters", show(r))
    finally:
        u.close()
    u = Ua(d, "5001", transport="tcp")
    try:
        r = u.ask(u.build(expires=600))
        t.eq(contacts(r), [u.contact + ";expires=600"], "authenticate off, TCP: 200", show(r))
        r = u.ask(u.build(expires=0))
        t.eq(st(r), 200, "authenticate off, TCP: unregister", show(r))
    finally:
        u.close()


def case_consistency(d, n=300):
    """A REGISTER is decided on the bindings as they are once the 200s before it
    were sent: a query right after a 200 lists that binding, an unregister
    (Expires 0 or *) right after a 200 removes it. Many fresh AORs, each pair
    back to back on one socket; the second request is sent after the 200 of
    the first was received."""
    u = Ua(d, "c0")
    try:
        miss, left_aors = [], []
        for kind in ("query", "expires0", "star"):
            for i in range(n):
                user = "%s%d" % (kind, i)
                u.user = user
                u.contact = "<sip:%s@%s:%d>" % (user, HOST, u.port)
                u.call_id = h.new_callid()
                r1 = u.ask(u.build(expires=600))
                if kind == "query":
                    r2 = u.ask(u.build(contacts=[]))
                    if st(r1) != 200 or [without_expires(c) for c in contacts(r2)] != [u.contact]:
                        miss.append(show(r1, r2))
                    u.ask(u.build(contacts=["*"], expires=0))
                elif kind == "expires0":
                    u.ask(u.build(expires=0))
                else:
                    u.ask(u.build(contacts=["*"], expires=0))
        t.ok(not miss, "a query right after a 200 lists the new binding (%d AORs)" % n,
             "%d of %d queries missed it; the first:\n%s" % (len(miss), n,
                                                            miss[0] if miss else ""))

        def leftovers():
            js = api_list(d) or {}
            return [r["aor"] for r in js.get("registrations", [])
                    if r["aor"].startswith(("query", "expires0", "star"))]
        h.wait_for(lambda: not leftovers(), 5)
        left = leftovers()
        for kind in ("expires0", "star"):
            mine = [a for a in left if a.startswith(kind)]
            t.ok(not mine, "Contact %s right after the 200 of a registration: the binding is "
                 "removed (%d AORs)" % ("Expires: 0" if kind == "expires0" else "*", n),
                 "%d of %d AORs still bound after the unregister's 200: %s" % (
                     len(mine), n, ", ".join(mine[:10])))
    finally:
        u.close()


# ---------------------------------------------------------------- SIPp

def last_stats(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
    except OSError:
        return "(no %s)" % os.path.basename(path)


def sipp(d, desc, scenario, users, rate, transport, limit=100):
    """Run one scenario, a call per user (injection file: user; right
    [authentication]; wrong [authentication]); check exit 0 and the counts."""
    work = h.tmpdir("sipring-sipp-")
    inf = os.path.join(work, "users.csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n")
        for u in users:
            f.write("%s;[authentication username=%s password=%s];"
                    "[authentication username=%s password=wrong-%s]\n" % (u, u, pw(u), u, u))
    stat = os.path.join(work, "stats.csv")
    errf = os.path.join(work, "errors.log")
    out = os.path.join(work, "sipp.out")
    calls = len(users)
    argv = [SIPP, h.hostport(*d.sip_addr), "-sf", os.path.join(SCEN, scenario),
            "-inf", inf, "-m", str(calls), "-r", str(rate), "-l", str(limit), "-t", transport,
            "-i", HOST, "-p", str(h.free_port()), "-nostdin", "-max_socket", "1000",
            "-timeout", "%ds" % SIPP_TIMEOUT, "-timeout_error",
            "-trace_err", "-error_file", errf,
            "-trace_stat", "-stf", stat, "-fd", "1"]
    with open(out, "wb") as o:
        p = h.spawn(argv, cwd=work, stdin=h.subprocess.DEVNULL, stdout=o, stderr=o)
        try:
            rc = p.wait(timeout=SIPP_TIMEOUT + 60)
        except h.subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
    stt = last_stats(stat)
    diag = "argv: %s\n-- errors:\n%s\n-- sipp output:\n%s\n-- sipring log:\n%s" % (
        " ".join(argv), tail(errf), tail(out, 15), d.log_tail(15))
    t.eq(rc, 0, "SIPp %s: exit status 0" % desc, diag)
    got = (stt.get("SuccessfulCall(C)"), stt.get("FailedCall(C)"))
    t.eq(got, (str(calls), "0"), "SIPp %s: %d successful calls, none failed" % (desc, calls),
         "stats: %r\n%s" % ({k: v for k, v in stt.items() if "Call" in k}, diag))


def sipp_users(a, n):
    return [str(u) for u in range(a, a + n)]


def run_sipp():
    if not SIPP:
        t.skip("SIPp REGISTER scenarios", "sipp (sip-tester) is not installed")
        return
    base = {
        "registrar": {"min_expires": 60, "max_expires": 3600, "default_expires": 3600,
                      "suspend": {"retry": 6, "time": 3}},
        # SIPp 3.6 takes the first WWW-Authenticate and knows MD5 only.
        "auth": {"algorithms": ["MD5", "SHA-256"]},
        "accounts": {"file": ACCOUNTS},
    }
    d = h.start_or_bail(t, SIPRING, "sipp", conf=base)
    if d:
        try:
            t.case("sipp auth udp", sipp, d, "401/200, refresh, query, unregister over UDP",
                   "reg_auth_uac.xml", sipp_users(2001, 20), 20, "u1")
            t.case("sipp auth tcp", sipp, d, "401/200, refresh, query, unregister over TCP",
                   "reg_auth_uac.xml", sipp_users(2021, 20), 20, "t1")
            t.case("sipp wildcard", sipp, d, "wildcard (400 unless Expires 0)",
                   "reg_wildcard_uac.xml", sipp_users(2001, 10), 20, "u1")
            t.case("sipp 423", sipp, d, "423 Min-Expires, then min_expires",
                   "reg_423_uac.xml", sipp_users(2011, 10), 20, "u1")
            t.case("sipp replace on", sipp, d, "replace on: the new contact replaces",
                   "reg_replace_on_uac.xml", sipp_users(2021, 10), 20, "u1")
            t.case("sipp suspend", sipp, d, "6 wrong passwords: 403 for 3 s, then 200",
                   "reg_suspend_uac.xml", sipp_users(2031, 5), 10, "u1")
            t.ok(h.wait_for(lambda: (api_list(d) or {}).get("bindings", -1) == 0),
                 "SIPp: every binding unregistered at the end",
                 repr(api_list(d))[:2000])
        finally:
            d.stop(t)
    d = start_alias("sipp replace off", base,
                    "SS_ENDPOINT_REGISTER_REPLACE: Off\n")
    if d:
        try:
            t.case("sipp replace off", sipp, d,
                   "replace off: 403 while another contact is live",
                   "reg_replace_off_uac.xml", sipp_users(2001, 10), 20, "u1")
        finally:
            d.stop(t)


# ---------------------------------------------------------------- main

def main():
    conf = {
        "sip": {"domains": ["example.com"]},
        "registrar": {"min_expires": 60, "max_expires": 3600, "default_expires": 3600,
                      "max_contacts": 3, "replace": True, "authenticate": True,
                      "suspend": {"retry": 6, "time": SUSPEND_S, "by_ip": False,
                                  "action": "reject"}},
        "auth": {"realm": "", "nonce_expire": 300, "algorithms": ["SHA-256", "MD5"]},
        "accounts": {"file": ACCOUNTS},
    }
    d = h.start_or_bail(t, SIPRING, "registrar", conf=conf)
    b = None
    if d:
        try:
            for name, fn in (("challenge", case_challenge), ("register", case_register),
                             ("md5", case_md5), ("retransmission", case_retransmission),
                             ("failures", case_failures), ("suspend", case_suspend),
                             ("reset", case_reset), ("lift", case_lift),
                             ("replace", case_replace), ("many", case_many),
                             ("params", case_params), ("domains", case_domains),
                             ("regaut01", case_regaut01), ("tcp", case_tcp),
                             ("api delete", case_api_delete), ("ctl", case_ctl)):
                t.case(name, fn, d)
            b = start_alias("replace off", {
                "auth": {"nonce_expire": 10},
                "accounts": {"file": ACCOUNTS},
            }, "SS_ENDPOINT_REGISTER_REPLACE: Off\nSS_ENDPOINT_REGISTER_RETRY: 3\n"
               "SS_ENDPOINT_REGISTER_SUSPEND: 4\n")
            if b:
                t.case("replace off", case_replace_off, b)
                t.case("alias retry", case_alias_retry, b)
                t.case("instance", case_instance, b)
                t.case("stale foreign", case_stale_foreign, b, d)
                t.case("stale age", case_stale_age, b)
        finally:
            d.stop(t)
            if b:
                b.stop(t)
    d = h.start_or_bail(t, SIPRING, "drop", conf={
        "registrar": {"suspend": {"retry": 2, "time": 4, "action": "drop"}},
        "accounts": {"file": ACCOUNTS}})
    if d:
        try:
            t.case("drop", case_drop, d)
        finally:
            d.stop(t)
    d = h.start_or_bail(t, SIPRING, "no auth", conf={
        "sip": {"domains": ["example.com"]},
        "registrar": {"authenticate": False}})
    if d:
        try:
            t.case("rfc4475", case_rfc4475_bind, d)
            t.case("noauth", case_noauth, d)
            t.case("consistency", case_consistency, d)
        finally:
            d.stop(t)
    run_sipp()
    sys.exit(t.done())


if __name__ == "__main__":
    main()
