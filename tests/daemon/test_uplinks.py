#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's uplinks: outbound registration to upstream
carriers, and unregister on a graceful stop (TAP).

usage: test_uplinks.py SIPRING [SCENARIO_DIR [SIPRINGCTL]]

The node keys (uplinks.file, .expire, .retry_delay, .privacy, .send_unregister,
.auth_retry, their VOS3000 aliases SS_SIP_USER_AGENT_*) and the uplinks file
(`uplinks:` list of maps) are written per daemon; peers are real registrars:

  config        --check-config: the keys' ranges, the aliases' ranges, alias
                and native key together refused.
  sipring       a second sipring as the registrar (digest, accounts file,
                max_expires 1800): the uplink registers, the API of both sides
                agree (Call-ID, CSeq, contact, expiry granted 1800); SIGTERM of
                the first removes the binding on the second.
  kamailio 401  Kamailio (tests/daemon/kamailio/registrar.cfg, www_challenge,
                MD5): UDP, TCP, expire 7200 (granted 3600), auth_user and
                contact_user, send_unregister false on one uplink, one disabled;
                bindings in `kamcmd ul.dump`; a request to a registered contact
                counted (sipring_uplink_requests_total); SIGTERM: every binding
                but the send_unregister-false one removed.
  kamailio 407  Kamailio with proxy_challenge and SHA-256, the node configured
                with the VOS3000 aliases (SEND_UNREGISTER Off, EXPIRE 600,
                RETRY_DELAY 30): per-uplink send_unregister true overrides, an
                outbound proxy; after SIGTERM only the true ones are gone.
  sipp          SIPp UAS scenarios (sipp/uplink_*.xml) and a silent UDP port,
                retry_delay 2 s, auth_retry 2, Timer F 2 s: the REGISTER as sent
                (Request-URI, To, From, Contact, Expires, Call-ID, CSeq; domain,
                host, contact_user, expire overrides; outbound proxy); 423 ->
                at once with Min-Expires; 403 -> no retry for a long while; 500,
                no answer, 401 for ever -> retried, never a storm (REGISTERs
                counted against the window the test watched); a grant of 30 s
                -> expires_granted 30 and a refresh well before it runs out;
                SIGTERM -> Expires: 0 on the same Call-ID with the next CSeq.
  reload, manual
                Kamailio: an uplink removed from the file + SIGHUP unregisters
                (its binding goes, the others keep theirs and their Call-ID), one
                added registers; POST /api/v1/uplinks/<name>/unregister and
                /register (202), `sipringctl uplinks`, `uplinks NAME`, `uplinks
                unregister|register NAME`; unknown names 404 / exit 1.
  stopping      a registrar that never answers the unregister: while the daemon
                waits (runtime.stop_deadline 8 s) new OPTIONS and INVITEs get
                503; it exits at the deadline.
  many          200 uplinks, 200 Kamailio users: all registered, then SIGTERM:
                every binding removed in Kamailio before the daemon exits
                (runtime.stop_deadline 10 s).

The daemon acts on its own timers: what the API, Kamailio or SIPp show is
polled for (wait_for) with generous deadlines. Counts are bounded from above by
the window the test watched (a slow machine makes fewer attempts, never more);
nothing asserts that something happened fast. Peers that are not installed
(kamailio, kamcmd, sipp) skip their cases.
"""
import json
import math
import os
import re
import shutil
import signal
import socket
import sys
import threading
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
DEADLINE = 60.0  # for what the daemon does by itself (register, retry, refresh)
R = 2  # uplinks.retry_delay (s) of the SIPp daemon
AUTH_RETRY = 2  # uplinks.auth_retry of the SIPp daemon
JITTER = 0.8  # a retry comes no earlier than 80 % of retry_delay
HAVE_KAMAILIO = h.Kamailio.available()
HAVE_SIPP = bool(shutil.which("sipp"))


# ---------------------------------------------------------------- daemons

class UplinkDaemon(h.Daemon):
    """A daemon with an uplinks file in its directory (uplinks.file), and raw
    top-level lines (VOS3000 aliases) appended to its configuration."""

    def __init__(self, name, uplinks, conf=None, raw=""):
        super().__init__(SIPRING, name, conf=conf)
        self.raw = raw
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

    def write_config(self, conf=None):
        if conf is None:
            return super().write_config(h.yaml_dump(self.config()) + "\n" + self.raw)
        return super().write_config(conf)


def start(name, uplinks, conf=None, raw=""):
    d = UplinkDaemon(name, uplinks, conf=conf, raw=raw)
    ok, why = d.start()
    if not t.ok(ok, "%s: sipring starts and becomes ready" % name,
                "%s\n-- uplinks file:\n%s" % (why, read(d.uplinks_path))):
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.stopped = True
        return None
    return d


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return "(none)"


def start_kamailio(users, mode="401", algorithm=None):
    k = h.Kamailio(users, mode=mode, algorithm=algorithm)
    ok, why = k.start()
    if not t.ok(ok, "Kamailio (%s%s) starts and answers" % (
            mode, ", " + algorithm if algorithm else ""), why):
        k.stop()
        return None
    return k


def start_sipp(scenario):
    s = h.Sipp(os.path.join(SCEN, scenario))
    ok, why = s.start()
    if not t.ok(ok, "SIPp UAS %s starts" % scenario, why):
        s.stop()
        return None
    return s


# ---------------------------------------------------------------- the API

def api_list(d):
    s, body = h.http_get(d.url + "/api/v1/uplinks")
    if s != 200:
        return None
    try:
        return json.loads(body).get("uplinks")
    except ValueError:
        return None


def api_one(d, name):
    s, body = h.http_get(d.url + "/api/v1/uplinks/" + urllib.parse.quote(name, safe=""))
    if s != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def api_status(d, name):
    return h.http_get(d.url + "/api/v1/uplinks/" + urllib.parse.quote(name, safe=""))[0]


def post(d, name, action):
    return h.http_request("POST", d.url + "/api/v1/uplinks/%s/%s" % (
        urllib.parse.quote(name, safe=""), action), body=b"")


def wait_uplink(d, name, pred, timeout=DEADLINE):
    """Poll GET /api/v1/uplinks/<name> until pred(object) holds; the last object."""
    last = [None]

    def f():
        if not d.alive():
            return True
        last[0] = api_one(d, name)
        return last[0] is not None and pred(last[0])
    h.wait_for(f, timeout, 0.1)
    return last[0]


def state_is(*states):
    return lambda u: u.get("state") in states


def wait_states(d, names, states=("registered",), timeout=DEADLINE):
    """Poll the list until every name is in one of states; {name: object}."""
    last = [{}]

    def f():
        if not d.alive():
            return True
        ups = api_list(d) or []
        last[0] = {u.get("name"): u for u in ups}
        return all((last[0].get(n) or {}).get("state") in states for n in names)
    h.wait_for(f, timeout, 0.1)
    return last[0]


def states_diag(d, objs=None):
    objs = objs if objs is not None else {u.get("name"): u for u in (api_list(d) or [])}
    return "\n".join("%s: %s" % (n, json.dumps(u, sort_keys=True))
                     for n, u in sorted(objs.items())) + "\n-- sipring log:\n" + d.log_tail(15)


def metrics(d):
    try:
        return d.metrics()
    except Exception:  # noqa: BLE001 - an absent endpoint shows as empty
        return {}


def metric_lines(d, prefix="sipring_uplink"):
    return "\n".join(x for x in d.metrics_text().splitlines() if x.startswith(prefix))


def uri_of(v):
    """The URI of a name-addr or addr-spec header value: '<sip:a@b>;tag=x' -> 'sip:a@b'."""
    if v is None:
        return None
    v = v.strip()
    if "<" in v:
        return v[v.find("<") + 1:v.find(">")]
    return v.split(";")[0]


def contact_ok(uri, user, host, port):
    """uri is sip:user@host:port, with parameters or not."""
    base = "sip:%s@%s:%d" % (user, host, port)
    return uri is not None and (uri == base or uri.startswith(base + ";"))


def cseq_num(m):
    v = m.get("cseq") or ""
    return int(v.split()[0]) if v.split() and v.split()[0].isdigit() else None


def show(m):
    if m is None:
        return "(none)"
    if hasattr(m, "msg"):
        m = m.msg
    return m.raw.decode("utf-8", "replace") if hasattr(m, "raw") else repr(m)


# ---------------------------------------------------------------- config

def check_config(conf, raw=""):
    d = h.tmpdir("sipring-uplink-conf-")
    path = os.path.join(d, "sipring.yaml")
    with open(path, "w") as f:
        f.write(h.yaml_dump(conf) + "\n" + raw)
    r = h.run([SIPRING, "--check-config", "-c", path], timeout=60)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def case_config():
    d = h.tmpdir("sipring-uplink-conf-")
    upf = os.path.join(d, "uplinks.yaml")
    with open(upf, "w") as f:
        f.write(h.yaml_dump({"uplinks": [{"name": "c1", "registrar": HOST, "user": "c1",
                                          "password": "x"}]}) + "\n")
    port = h.free_port()
    base = {"sip": {"listen": ["udp:127.0.0.1:%d" % port]}, "http": {"listen": "off"}}

    def conf(**kw):
        u = {"file": upf}
        u.update(kw)
        return h.deep_merge(base, {"uplinks": u})
    good = [dict(), dict(expire="auto"), dict(expire=20), dict(expire=7200),
            dict(retry_delay=1), dict(retry_delay=3600), dict(auth_retry=1),
            dict(auth_retry=10), dict(privacy="ignore"), dict(privacy="id"),
            dict(privacy="none"), dict(send_unregister=False)]
    for kw in good:
        rc, out = check_config(conf(**kw))
        t.eq(rc, 0, "--check-config: uplinks %s accepted" % (kw or "file only"), out)
    bad = [("expire", 19), ("expire", 7201), ("expire", "never"), ("retry_delay", 0),
           ("retry_delay", 3601), ("auth_retry", 0), ("auth_retry", 11),
           ("privacy", "all"), ("send_unregister", "maybe")]
    for k, v in bad:
        rc, out = check_config(conf(**{k: v}))
        t.ok(rc == 1 and "uplinks.%s" % k in out,
             "--check-config: uplinks.%s: %r refused, naming the key" % (k, v), out)
    aliases_ok = ["SS_SIP_USER_AGENT_EXPIRE: 600", "SS_SIP_USER_AGENT_RETRY_DELAY: 30",
                  "SS_SIP_USER_AGENT_RETRY_DELAY: 600", "SS_SIP_USER_AGENT_SEND_UNREGISTER: Off",
                  "SS_SIP_USER_AGENT_SEND_UNREGISTER: On"]
    for raw in aliases_ok:
        rc, out = check_config(conf(), raw + "\n")
        t.eq(rc, 0, "--check-config: %s accepted" % raw, out)
    for raw in ("SS_SIP_USER_AGENT_RETRY_DELAY: 29", "SS_SIP_USER_AGENT_RETRY_DELAY: 601",
                "SS_SIP_USER_AGENT_EXPIRE: 10"):
        rc, out = check_config(conf(), raw + "\n")
        t.ok(rc == 1 and raw.split(":")[0] in out,
             "--check-config: %s refused, naming the alias" % raw, out)
    rc, out = check_config(conf(retry_delay=60), "SS_SIP_USER_AGENT_RETRY_DELAY: 60\n")
    t.ok(rc == 1 and "SS_SIP_USER_AGENT_RETRY_DELAY" in out and "retry_delay" in out,
         "--check-config: the alias and uplinks.retry_delay together refused", out)


# ---------------------------------------------------------------- (a) sipring upstream

def write_accounts(entries):
    d = h.tmpdir("sipring-uplink-accounts-")
    path = os.path.join(d, "accounts.yaml")
    with open(path, "w") as f:
        f.write("accounts:\n")
        for user, domain, pw in entries:
            f.write('  - user: "%s"\n    domain: "%s"\n    password: "%s"\n' % (user, domain, pw))
    return path


def registrar_bindings(b, aor):
    """The upstream sipring's bindings of aor: [binding], [] when none, None on error."""
    s, body = h.http_get(b.url + "/api/v1/registrations/" + urllib.parse.quote(aor, safe=""))
    if s == 404:
        return []
    if s != 200:
        return None
    try:
        return json.loads(body).get("bindings", [])
    except ValueError:
        return None


def case_upstream(a, b):
    u = wait_uplink(a, "to-b", state_is("registered", "failed"))
    if not t.eq((u or {}).get("state"), "registered",
                "sipring upstream: the uplink registers", states_diag(a)):
        t.diag("-- upstream log:\n" + b.log_tail(15))
        return None
    aor = "up-a@" + HOST
    last = [None]

    def bound():
        last[0] = registrar_bindings(b, aor)
        return last[0]
    h.wait_for(bound)
    bs = last[0] or []
    t.ok(len(bs) == 1 and contact_ok(uri_of(bs[0].get("contact")), "up-a", HOST, a.port),
         "sipring upstream: one binding of %s, contact sip:up-a@127.0.0.1:<the daemon's "
         "port>" % aor, json.dumps(bs, indent=1))
    if bs:
        t.eq((bs[0].get("call_id"), bs[0].get("cseq")), (u.get("call_id"), u.get("cseq")),
             "sipring upstream: the registrar's Call-ID and CSeq are the uplink's")
        t.ok(0 < (bs[0].get("expires_in") or 0) <= 1800,
             "sipring upstream: the binding expires within the 1800 s granted", bs[0])
    want = {"name": "to-b", "registrar": "%s:%d" % (HOST, b.port), "transport": "udp",
            "expires_asked": 3600, "expires_granted": 1800, "last_status": 200,
            "failures": 0, "send_unregister": True, "enabled": True}
    t.eq({k: u.get(k) for k in want}, want, "sipring upstream: the API's fields", u)
    t.ok(aor in (u.get("aor") or ""), "sipring upstream: aor names %s" % aor, u)
    t.ok(contact_ok(uri_of(u.get("contact")), "up-a", HOST, a.port),
         "sipring upstream: contact is sip:up-a@127.0.0.1:<port>", u)
    t.ok(0 < (u.get("expires_in") or 0) <= 1800 and
         0 < (u.get("next_action_in") or 0) < (u.get("expires_in") or 0) + 1,
         "sipring upstream: expires_in within the grant, the refresh due before the expiry", u)
    ups = api_list(a)
    t.eq([x.get("name") for x in ups or []], ["to-b"], "GET /api/v1/uplinks: the one uplink",
         ups)
    t.eq(api_status(a, "nope"), 404, "GET /api/v1/uplinks/<unknown>: 404")
    ms = metrics(a)
    t.eq(h.metric(ms, "sipring_uplinks", state="registered"), 1.0,
         'sipring_uplinks{state="registered"} 1', metric_lines(a))
    t.ok(h.metric(ms, "sipring_uplink_registers_total", result="ok") >= 1,
         'sipring_uplink_registers_total{result="ok"} counts the registration',
         metric_lines(a))
    return u


def run_upstream():
    acc = write_accounts([("up-a", HOST, "pw-up-a")])
    b = h.start_or_bail(t, SIPRING, "upstream registrar", conf={
        "registrar": {"authenticate": True, "min_expires": 60, "default_expires": 1800,
                      "max_expires": 1800},
        "accounts": {"file": acc}})
    if not b:
        return
    a = None
    try:
        a = start("uplink to sipring", [{"name": "to-b", "registrar": HOST, "port": b.port,
                                         "user": "up-a", "password": "pw-up-a"}],
                  conf={"uplinks": {"retry_delay": 5}})
        if not a:
            return
        u = t.case("upstream", case_upstream, a, b)
        a.stop(t)
        if u:
            left = h.wait_for(lambda: registrar_bindings(b, "up-a@" + HOST) == [])
            t.ok(left, "sipring upstream: after SIGTERM of the uplink's node the binding is "
                 "gone", "%r\n-- upstream log:\n%s" % (registrar_bindings(
                     b, "up-a@" + HOST), b.log_tail(15)))
    finally:
        if a:
            a.stop(t)
        b.stop(t)


# ---------------------------------------------------------------- Kamailio

def kam_addrs(k, aor):
    bs = k.bindings(aor)
    return None if bs is None else [a for a, _ in bs]


def wait_kam(k, aor, pred, timeout=h.ANSWER_DEADLINE):
    last = [None]

    def f():
        last[0] = k.bindings(aor)
        return last[0] is not None and pred(last[0])
    h.wait_for(f, timeout, 0.1)
    return last[0]


def kam_one(user, host, port):
    """pred: exactly one binding, sip:user@host:port[;params]."""
    return lambda bs: len(bs) == 1 and contact_ok(bs[0][0], user, host, port)


def kam_diag(k, aor):
    return "bindings of %s: %r\n-- kamailio log:\n%s" % (aor, k.bindings(aor), k.log_tail(12))


K_USERS = {("k%d" % i): "pw-k%d" % i for i in range(1, 7)}
K_USERS.update({("r%d" % i): "pw-r%d:x" % i for i in range(1, 5)})  # ':' escaped in db_text
G_USERS = {("g%03d" % i): "pw-g%03d" % i for i in range(200)}


def k_uplinks(k):
    base = {"registrar": HOST, "port": k.port}
    return [
        dict(base, name="k-udp", user="k1", password="pw-k1"),
        dict(base, name="k-tcp", user="k2", password="pw-k2", transport="tcp"),
        dict(base, name="k-keep", user="k3", password="pw-k3", send_unregister=False),
        dict(base, name="k-long", user="k4", password="pw-k4", expire=7200),
        dict(base, name="k-auth", user="k5-aor", auth_user="k5", password="pw-k5",
             contact_user="k5-contact"),
        dict(base, name="k-off", user="k6", password="pw-k6", enabled=False),
    ]


def case_kamailio_401(d, k):
    live = ["k-udp", "k-tcp", "k-keep", "k-long", "k-auth"]
    objs = wait_states(d, live, ("registered", "failed"))
    if not t.ok(all((objs.get(n) or {}).get("state") == "registered" for n in live),
                "kamailio 401: UDP, TCP, expire 7200, auth_user, send_unregister false: all "
                "registered", states_diag(d, objs) + "\n-- kamailio log:\n" + k.log_tail(10)):
        return
    off = api_one(d, "k-off")
    t.eq((off or {}).get("state"), "disabled", "kamailio 401: enabled false: state disabled",
         off)
    for name, user, aor in (("k-udp", "k1", "k1"), ("k-tcp", "k2", "k2"),
                            ("k-keep", "k3", "k3"), ("k-long", "k4", "k4"),
                            ("k-auth", "k5-contact", "k5-aor")):
        bs = wait_kam(k, aor + "@" + HOST, kam_one(user, HOST, d.port))
        t.ok(bs is not None and kam_one(user, HOST, d.port)(bs),
             "kamailio 401: %s bound in Kamailio as sip:%s@127.0.0.1:<port>" % (name, user),
             kam_diag(k, aor + "@" + HOST))
    t.eq(k.bindings("k6@" + HOST), [], "kamailio 401: the disabled uplink is not bound")
    t.ok(not any("sip:k6@" in line for _, line in k.requests()),
         "kamailio 401: the disabled uplink sent no REGISTER")
    dump = k.dump() or {}
    k1 = (dump.get("k1@" + HOST) or [{}])[0]
    u = objs.get("k-udp") or {}
    t.eq((k1.get("call_id"), k1.get("cseq")), (u.get("call_id"), u.get("cseq")),
         "kamailio 401: Kamailio's Call-ID and CSeq of k1 are the API's", u)
    t.ok(isinstance(k1.get("expires"), int) and 0 < k1["expires"] <= 3600,
         "kamailio 401: the binding expires within 3600 s", k1)
    lg = objs.get("k-long") or {}
    t.eq((lg.get("expires_asked"), lg.get("expires_granted")), (7200, 3600),
         "kamailio 401: expire 7200 asked, 3600 granted (Kamailio's max)", lg)
    tc = objs.get("k-tcp") or {}
    t.eq((tc.get("transport"), tc.get("registrar")), ("tcp", "%s:%d" % (HOST, k.port)),
         "kamailio 401: the TCP uplink: transport tcp, registrar ip:port", tc)
    t.eq((objs.get("k-keep") or {}).get("send_unregister"), False,
         "kamailio 401: send_unregister false shown for k-keep")
    ms = metrics(d)
    t.eq((h.metric(ms, "sipring_uplinks", state="registered"),
          h.metric(ms, "sipring_uplinks", state="disabled")), (5.0, 1.0),
         'sipring_uplinks{state="registered"} 5, {state="disabled"} 1', metric_lines(d))
    t.ok(h.metric(ms, "sipring_uplink_registers_total", result="ok") >= 5,
         'sipring_uplink_registers_total{result="ok"} >= 5', metric_lines(d))


def case_request_to_contact(d):
    """(h) A request from the registrar's address (127.0.0.1) to the contact of a
    registered uplink (Request-URI user = contact_user) is recognised."""
    before = h.metric_sum(metrics(d), "sipring_uplink_requests_total")
    u = h.Udp(HOST)
    try:
        # First one to a user that is no uplink's contact (not counted), then
        # k1's: one worker handles them in order, so once the second is counted
        # the first would have been.
        other = u.ask(h.Msg("OPTIONS", "sip:nobody@%s:%d" % (HOST, d.port), HOST, u.port),
                      d.sip_addr)
        r = u.ask(h.Msg("OPTIONS", "sip:k1@%s:%d" % (HOST, d.port), HOST, u.port),
                  d.sip_addr)
    finally:
        u.close()
    got = h.wait_for(lambda: h.metric_sum(metrics(d), "sipring_uplink_requests_total") > before)
    after = h.metric_sum(metrics(d), "sipring_uplink_requests_total")
    t.ok(got and after == before + 1,
         "an OPTIONS to k1's contact from 127.0.0.1 counts in sipring_uplink_requests_total, "
         "one to sip:nobody@ does not", "before %s, after %s\n%s\n-- answers:\n%s\n%s" % (
             before, after, metric_lines(d), show(other), show(r)))
    t.ok(r is not None, "the OPTIONS to the uplink's contact is answered", show(r))


def after_stop_401(k):
    for aor in ("k1", "k2", "k4", "k5-aor"):
        bs = wait_kam(k, aor + "@" + HOST, lambda bs: bs == [], timeout=5)
        t.eq(bs, [], "kamailio 401: after SIGTERM %s@127.0.0.1 is unregistered" % aor,
             kam_diag(k, aor + "@" + HOST))
    t.ok(any("expires=0" in line and "<sip:k1@" in line for _, line in k.requests()),
         "kamailio 401: Kamailio saw k1's REGISTER with Expires: 0")
    bs = k.bindings("k3@" + HOST)
    t.eq(len(bs or []), 1, "kamailio 401: send_unregister false (per uplink): k3 still bound",
         kam_diag(k, "k3@" + HOST))


def run_kamailio_401(k):
    d = start("kamailio 401", k_uplinks(k), conf={
        "uplinks": {"retry_delay": 5, "send_unregister": True, "expire": "auto"}})
    if not d:
        return
    try:
        t.case("kamailio 401", case_kamailio_401, d, k)
        t.case("request to contact", case_request_to_contact, d)
    finally:
        d.stop(t)
    t.case("kamailio 401 after stop", after_stop_401, k)


P_USERS = {("p%d" % i): "pw-p%d" % i for i in range(1, 5)}


def case_kamailio_407(d, k):
    names = ["p-on", "p-off", "p-proxy", "p-tcp"]
    objs = wait_states(d, names, ("registered", "failed"))
    if not t.ok(all((objs.get(n) or {}).get("state") == "registered" for n in names),
                "kamailio 407 (SHA-256, aliases): all four registered",
                states_diag(d, objs) + "\n-- kamailio log:\n" + k.log_tail(10)):
        return
    for name, user in (("p-on", "p1"), ("p-off", "p2"), ("p-proxy", "p3"), ("p-tcp", "p4")):
        aor = user + "@" + HOST
        bs = wait_kam(k, aor, kam_one(user, HOST, d.port))
        t.ok(bs is not None and kam_one(user, HOST, d.port)(bs),
             "kamailio 407: %s bound in Kamailio" % name, kam_diag(k, aor))
        if bs:
            t.ok(isinstance(bs[0][1], int) and 0 < bs[0][1] <= 600,
                 "kamailio 407: %s: SS_SIP_USER_AGENT_EXPIRE 600 asked (expiry <= 600)" % name,
                 bs)
    on, off = objs.get("p-on") or {}, objs.get("p-off") or {}
    t.eq((on.get("expires_asked"), on.get("expires_granted")), (600, 600),
         "kamailio 407: expires asked and granted 600 (the alias)", on)
    t.eq((on.get("send_unregister"), off.get("send_unregister")), (True, False),
         "kamailio 407: SS_SIP_USER_AGENT_SEND_UNREGISTER Off, overridden by the uplink")
    px = objs.get("p-proxy") or {}
    t.eq(px.get("registrar"), "%s:%d" % (HOST, k.port),
         "kamailio 407: through the outbound proxy: registrar is the proxy's ip:port", px)


def after_stop_407(k):
    for user, gone in (("p1", True), ("p4", True), ("p2", False), ("p3", False)):
        aor = user + "@" + HOST
        if gone:
            bs = wait_kam(k, aor, lambda bs: bs == [], timeout=5)
            t.eq(bs, [], "kamailio 407: send_unregister true on the uplink: %s gone after "
                 "SIGTERM" % aor, kam_diag(k, aor))
        else:
            bs = k.bindings(aor)
            t.eq(len(bs or []), 1, "kamailio 407: SEND_UNREGISTER Off: %s still bound after "
                 "SIGTERM" % aor, kam_diag(k, aor))


def run_kamailio_407():
    k = start_kamailio(P_USERS, mode="407", algorithm="SHA-256")
    if not k:
        return
    try:
        base = {"registrar": HOST, "port": k.port}
        ups = [dict(base, name="p-on", user="p1", password="pw-p1", send_unregister=True),
               dict(base, name="p-off", user="p2", password="pw-p2"),
               # the registrar (TEST-NET-1) is never asked: everything goes to the proxy
               {"name": "p-proxy", "registrar": "192.0.2.1", "domain": HOST, "proxy": HOST,
                "proxy_port": k.port, "user": "p3", "password": "pw-p3"},
               dict(base, name="p-tcp", user="p4", password="pw-p4", transport="tcp",
                    send_unregister=True)]
        d = start("kamailio 407", ups, raw="SS_SIP_USER_AGENT_SEND_UNREGISTER: Off\n"
                  "SS_SIP_USER_AGENT_EXPIRE: 600\nSS_SIP_USER_AGENT_RETRY_DELAY: 30\n")
        if not d:
            return
        try:
            t.case("kamailio 407", case_kamailio_407, d, k)
        finally:
            d.stop(t)
        t.case("kamailio 407 after stop", after_stop_407, k)
    finally:
        k.stop()


# ---------------------------------------------------------------- (d) SIPp

def by_call(s, call_id):
    """The REGISTER transactions SIPp received on call_id, in order."""
    return [m for m in s.transactions() if m.msg.get("call-id") == call_id]


def first_of(s, pred, timeout=DEADLINE):
    """The first REGISTER SIPp received for which pred(Parsed) holds (polled)."""
    last = [None]

    def f():
        for m in s.transactions():
            if pred(m.msg):
                last[0] = m
                return True
        return False
    h.wait_for(f, timeout, 0.1)
    return last[0]


def to_user(user):
    return lambda m: (uri_of(m.get("to")) or "").startswith("sip:%s@" % user)


def check_register(m, desc, ruri_host, to, frm, contact, expires, d):
    """The fields of one REGISTER as SIPp received it."""
    if not t.ok(m is not None, "%s: a REGISTER arrived" % desc):
        return
    p = m.msg
    start_ok = re.match(r"^REGISTER sip:%s(:\d+)? SIP/2\.0$" % re.escape(ruri_host), p.start)
    t.ok(start_ok, "%s: Request-URI sip:%s" % (desc, ruri_host), show(p))
    t.eq(uri_of(p.get("to")), to, "%s: To <%s>" % (desc, to), show(p))
    t.ok(uri_of(p.get("from")) == frm and ";tag=" in (p.get("from") or ""),
         "%s: From <%s> with a tag" % (desc, frm), show(p))
    cs = p.all("contact")
    t.ok(len(cs) == 1 and contact_ok(uri_of(cs[0]), contact[0], contact[1], d.port),
         "%s: Contact <sip:%s@%s:<the daemon's port>>" % (desc, contact[0], contact[1]),
         show(p))
    t.eq(p.get("expires"), str(expires), "%s: Expires: %s" % (desc, expires), show(p))
    vias = p.vias()
    t.ok(len(vias) == 1 and vias[0].startswith("SIP/2.0/UDP ") and
         (h.via_params(vias[0])[1].get("branch") or "").startswith("z9hG4bK"),
         "%s: one Via, UDP, an RFC 3261 branch" % desc, show(p))
    t.ok(re.match(r"^\d+ REGISTER$", p.get("cseq") or "") and p.get("call-id") and
         p.get("max-forwards"), "%s: CSeq n REGISTER, a Call-ID, Max-Forwards" % desc, show(p))


def s_uplinks(ok, s423, s403, s500, s401, lower, sink):
    def up(name, port, user, **kw):
        return dict({"name": name, "registrar": HOST, "port": port, "user": user,
                     "password": "pw-" + user}, **kw)
    return [
        up("s-ok", ok.port, "okuser"),
        up("s-over", ok.port, "acct7", domain="carrier.example", host="198.51.100.7",
           contact_user="trunk7", auth_user="auth7", expire=300, privacy="id",
           request_uri="domain"),
        {"name": "s-proxy", "registrar": "192.0.2.1", "proxy": HOST, "proxy_port": ok.port,
         "user": "viaproxy", "password": "x"},
        up("s-423", s423.port, "u423", expire=60),
        up("s-403", s403.port, "u403"),
        up("s-500", s500.port, "u500"),
        up("s-401", s401.port, "u401", password="wrong"),
        up("s-lower", lower.port, "ulower"),
        up("s-silent", sink.port, "usilent"),
    ]


def storm_bound(window, per_attempt=1):
    """The most REGISTERs a window (s) may hold: the first attempt, one per
    80 % of retry_delay after it, one more for an attempt under way; each attempt
    per_attempt REGISTERs."""
    return (2 + int(math.floor(window / (JITTER * R)))) * per_attempt


def case_sipp_format(d, sp):
    ok = sp["ok"]
    objs = wait_states(d, ["s-ok", "s-over", "s-proxy"], ("registered", "failed"))
    t.ok(all((objs.get(n) or {}).get("state") == "registered"
             for n in ("s-ok", "s-over", "s-proxy")),
         "sipp: s-ok, s-over, s-proxy registered (200 from uplink_ok.xml)", states_diag(d, objs))
    m = first_of(ok, to_user("okuser"))
    check_register(m, "s-ok", HOST, "sip:okuser@127.0.0.1", "sip:okuser@127.0.0.1",
                   ("okuser", HOST), 3600, d)
    u = objs.get("s-ok") or {}
    if m:
        t.eq((u.get("call_id"), u.get("cseq")), (m.msg.get("call-id"), cseq_num(m.msg)),
             "s-ok: the API's call_id and cseq are the REGISTER's", u)
        t.eq((u.get("expires_asked"), u.get("expires_granted"), u.get("last_status")),
             (3600, 3600, 200), "s-ok: expire auto asks 3600; 3600 granted; last_status 200",
             u)
        t.ok(m.msg.get("authorization") is None, "s-ok: no credentials unless challenged",
             show(m))
    m = first_of(ok, to_user("acct7"))
    check_register(m, "s-over (domain, request_uri: domain, host, contact_user, expire 300)",
                   "carrier.example",
                   "sip:acct7@carrier.example", "sip:acct7@198.51.100.7",
                   ("trunk7", "198.51.100.7"), 300, d)
    m = first_of(ok, to_user("viaproxy"))
    check_register(m, "s-proxy (registrar 192.0.2.1 through the proxy)", "192.0.2.1",
                   "sip:viaproxy@192.0.2.1", "sip:viaproxy@192.0.2.1",
                   ("viaproxy", HOST), 3600, d)
    px = objs.get("s-proxy") or {}
    t.eq(px.get("registrar"), "%s:%d" % (HOST, ok.port),
         "s-proxy: registrar is the proxy's ip:port", px)


def case_sipp_403(d, sp):
    s = sp["403"]
    u = wait_uplink(d, "s-403", lambda u: u.get("last_status") == 403)
    t.ok(u is not None and u.get("state") == "failed" and u.get("last_status") == 403 and
         (u.get("failures") or 0) >= 1,
         "s-403: 403 -> state failed, last_status 403, failures >= 1", states_diag(d))
    if not u:
        return
    t.ok((u.get("next_action_in") or 0) > 3 * R,
         "s-403: the next attempt is far off (10 x retry_delay, not retry_delay)", u)
    # The 403 came at least the time the poll took ago; 10 x R x 80 % = 16 s.
    end = time.monotonic() + 8
    h.wait_for(lambda: s.count() > 1 or time.monotonic() >= end, 12, 0.2)
    t.eq(s.count(), 1, "s-403: no other REGISTER for the 8 s watched after the 403",
         "\n".join(show(m) for m in s.transactions()[:3]))
    ms = metrics(d)
    t.ok(h.metric(ms, "sipring_uplink_registers_total", result="rejected") >= 1,
         'sipring_uplink_registers_total{result="rejected"} counts the 403', metric_lines(d))


def retried(d, name, s, want, status, t0, per_attempt=1, metric_result=None):
    """An uplink that fails: failed state, retried (want REGISTERs seen), never more
    than the window allows."""
    got = h.wait_for(lambda: s.count() >= want, DEADLINE, 0.1)
    n = s.count()
    window = time.monotonic() - t0
    t.ok(got, "%s: retried after retry_delay (%d REGISTERs seen)" % (name, n),
         states_diag(d))
    t.ok(n <= storm_bound(window, per_attempt),
         "%s: no storm: %d REGISTERs in the %.1f s watched (at most %d)" % (
             name, n, window, storm_bound(window, per_attempt)))
    u = wait_uplink(d, name, lambda u: u.get("state") == "failed" and
                    (status is None or u.get("last_status") == status), timeout=DEADLINE)
    t.ok(u is not None and u.get("state") == "failed" and (u.get("failures") or 0) >= 1,
         "%s: state failed, failures counted%s" % (
             name, (", last_status %d" % status) if status else ""), u)
    if metric_result:
        ms = metrics(d)
        v = sum(h.metric(ms, "sipring_uplink_registers_total", result=r)
                for r in metric_result)
        t.ok(v >= 1, "sipring_uplink_registers_total{result=%s} counts %s" % (
            "|".join(metric_result), name), metric_lines(d))


def case_sipp_retries(d, sp, t0):
    retried(d, "s-500", sp["500"], 3, 500, t0, metric_result=("error", "rejected"))
    retried(d, "s-silent", sp["sink"], 2, None, t0, metric_result=("timeout",))
    s = sp["401"]
    retried(d, "s-401", s, AUTH_RETRY + 2, 401, t0, per_attempt=AUTH_RETRY + 1,
            metric_result=("auth_failed",))
    regs = s.transactions()
    with_creds = [m for m in regs if m.msg.get("authorization")]
    t.ok(with_creds and all(h.auth_params(m.msg.get("authorization"))[1].get("username") ==
                            "u401" for m in with_creds),
         "s-401: the challenges are answered with credentials (username u401)",
         show(regs[1] if len(regs) > 1 else None))


def case_sipp_423(d, sp):
    s = sp["423"]
    u = wait_uplink(d, "s-423", state_is("registered"))
    t.eq((u or {}).get("state"), "registered", "s-423: registered after the 423",
         states_diag(d))
    regs = s.transactions()
    t.ok(len(regs) >= 2 and regs[0].msg.get("expires") == "60" and
         regs[1].msg.get("expires") == "120",
         "s-423: Expires 60, 423 Min-Expires 120, then Expires 120",
         "\n".join(show(m) for m in regs[:3]))
    if len(regs) >= 2:
        a, b = regs[0].msg, regs[1].msg
        t.ok(a.get("call-id") == b.get("call-id") and cseq_num(b) == cseq_num(a) + 1,
             "s-423: the retry on the same Call-ID, CSeq + 1", show(a) + show(b))
    t.eq((u or {}).get("expires_granted"), 120, "s-423: expires_granted 120", u)
    brief = [m for m in regs[1:] if m.msg.get("expires") not in ("0", None) and
             m.msg.get("expires").isdigit() and int(m.msg.get("expires")) < 120]
    t.eq(len(brief), 0, "s-423: no REGISTER after the 423 asks less than Min-Expires",
         "\n".join(show(m) for m in brief[:3]))


def case_sipp_lower(d, sp):
    s = sp["lower"]
    u = wait_uplink(d, "s-lower", lambda u: u.get("expires_granted") == 30)
    t.ok(u is not None and u.get("state") == "registered" and u.get("expires_granted") == 30,
         "s-lower: 3600 asked, 30 granted: registered, expires_granted 30", u)
    t.ok(u is not None and 0 < (u.get("next_action_in") or 0) < 30 and
         0 < (u.get("expires_in") or 0) <= 30,
         "s-lower: expires_in <= 30, the refresh due before it", u)
    got = h.wait_for(lambda: s.count() >= 2, DEADLINE, 0.2)
    regs = s.transactions()
    t.ok(got, "s-lower: a refresh REGISTER comes", "\n".join(show(m) for m in regs))
    if len(regs) >= 2:
        a, b = regs[0], regs[1]
        t.ok(b.time - a.time < 30,
             "s-lower: the refresh came before the 30 s granted ran out (%.1f s, by SIPp's "
             "clock)" % (b.time - a.time))
        t.ok(b.msg.get("call-id") == a.msg.get("call-id") and
             cseq_num(b.msg) == cseq_num(a.msg) + 1,
             "s-lower: the refresh on the same Call-ID, CSeq + 1", show(a) + show(b))
        e = b.msg.get("expires")
        t.ok(e is not None and e.isdigit() and int(e) >= 30,
             "s-lower: the refresh asks no less than was granted (Expires %s)" % e, show(b))


def after_stop_sipp(sp, calls):
    """SIGTERM: an unregister for each registered uplink, same Call-ID, next CSeq."""
    for name, key in (("s-ok", "ok"), ("s-over", "ok"), ("s-proxy", "ok"), ("s-423", "423"),
                      ("s-lower", "lower")):
        s = sp[key]
        cid = calls.get(name)
        regs = by_call(s, cid) if cid else []
        last = regs[-1].msg if regs else None
        ok = (len(regs) >= 2 and last.get("expires") == "0" and
              cseq_num(last) == max(cseq_num(m.msg) for m in regs[:-1]) + 1)
        t.ok(ok, "%s: on SIGTERM Expires: 0 on the same Call-ID with the next CSeq" % name,
             "Call-ID %s\n%s" % (cid, "\n".join(show(m) for m in regs[-2:])))
        if last is not None and last.get("expires") == "0":
            ct = last.all("contact")
            t.ok(len(ct) == 1 and ct[0] != "*",
                 "%s: the unregister names the uplink's Contact" % name, show(last))


def run_sipp():
    if not HAVE_SIPP:
        t.skip("SIPp uplink scenarios", "sipp (sip-tester) is not installed")
        return
    sp = {}
    sink = None
    d = None
    try:
        for key, scen in (("ok", "uplink_ok.xml"), ("423", "uplink_423.xml"),
                          ("403", "uplink_403.xml"), ("500", "uplink_500.xml"),
                          ("401", "uplink_401loop.xml"), ("lower", "uplink_lower.xml")):
            sp[key] = start_sipp(scen)
            if not sp[key]:
                return
        sink = h.UdpSink(HOST)
        sp["sink"] = sink
        t0 = time.monotonic()
        d = start("sipp", s_uplinks(sp["ok"], sp["423"], sp["403"], sp["500"], sp["401"],
                                    sp["lower"], sink),
                  conf={"uplinks": {"retry_delay": R, "auth_retry": AUTH_RETRY},
                        "sip": {"timers": {"timer_f": 2000}},
                        "runtime": {"stop_deadline": 10000}})
        if not d:
            return
        t.case("sipp 403", case_sipp_403, d, sp)
        t.case("sipp format", case_sipp_format, d, sp)
        t.case("sipp 423", case_sipp_423, d, sp)
        t.case("sipp retries", case_sipp_retries, d, sp, t0)
        t.case("sipp lower", case_sipp_lower, d, sp)
        objs = wait_states(d, ["s-ok", "s-over", "s-proxy", "s-423", "s-lower"])
        calls = {n: (u or {}).get("call_id") for n, u in objs.items()}
        ms = metrics(d)
        t.ok(h.metric(ms, "sipring_uplinks", state="registered") == 5 and
             h.metric(ms, "sipring_uplinks", state="failed") +
             h.metric(ms, "sipring_uplinks", state="registering") == 4,
             'sipring_uplinks: 5 registered, the 4 failing ones failed or registering',
             metric_lines(d))
        d.stop(t)
        t.case("sipp after stop", after_stop_sipp, sp, calls)
    finally:
        if d:
            d.stop(t)
        for s in sp.values():
            if s is not None and s is not sink:
                s.stop()
        if sink:
            sink.close()


# ---------------------------------------------------------------- (e) reload, (f) manual

def r_uplink(k, i):
    return {"name": "r%d" % i, "registrar": HOST, "port": k.port, "user": "r%d" % i,
            "password": "pw-r%d:x" % i}


def ctl(*args):
    out = h.run([CTL] + list(args), timeout=60)
    return out.returncode, out.stdout.decode("utf-8", "replace"), \
        out.stderr.decode("utf-8", "replace")


def case_reload(d, k):
    objs = wait_states(d, ["r1", "r2", "r3"], ("registered", "failed"))
    if not t.ok(all((objs.get(n) or {}).get("state") == "registered" for n in
                    ("r1", "r2", "r3")), "reload: r1, r2, r3 registered", states_diag(d, objs)):
        return
    for n in ("r1", "r2", "r3"):
        bs = wait_kam(k, n + "@" + HOST, kam_one(n, HOST, d.port))
        t.ok(bs and kam_one(n, HOST, d.port)(bs), "reload: %s bound in Kamailio" % n,
             kam_diag(k, n + "@" + HOST))
    before = {n: (objs[n].get("call_id"), objs[n].get("cseq")) for n in ("r1", "r3")}
    reloads = h.metric(metrics(d), "sipring_config_reloads_total", result="ok")
    unreg = h.metric(metrics(d), "sipring_uplink_unregisters_total", result="ok")
    d.write_uplinks([r_uplink(k, 1), r_uplink(k, 3), r_uplink(k, 4)])
    d.send_signal(signal.SIGHUP)
    t.ok(h.wait_for(lambda: h.metric(metrics(d), "sipring_config_reloads_total",
                                     result="ok") > reloads),
         "reload: SIGHUP reloaded (sipring_config_reloads_total{result=\"ok\"})",
         d.log_tail(10))
    bs = wait_kam(k, "r2@" + HOST, lambda bs: bs == [], timeout=DEADLINE)
    t.eq(bs, [], "reload: r2, removed from the file, unregistered in Kamailio",
         kam_diag(k, "r2@" + HOST))
    t.ok(h.wait_for(lambda: api_status(d, "r2") == 404),
         "reload: GET /api/v1/uplinks/r2 is 404 once it is gone", api_one(d, "r2"))
    u4 = wait_uplink(d, "r4", state_is("registered"))
    t.eq((u4 or {}).get("state"), "registered", "reload: r4, added to the file, registers",
         states_diag(d))
    bs = wait_kam(k, "r4@" + HOST, kam_one("r4", HOST, d.port))
    t.ok(bs and kam_one("r4", HOST, d.port)(bs), "reload: r4 bound in Kamailio",
         kam_diag(k, "r4@" + HOST))
    for n in ("r1", "r3"):
        u = api_one(d, n) or {}
        bs = k.bindings(n + "@" + HOST)
        t.ok(u.get("state") == "registered" and u.get("call_id") == before[n][0] and
             bs and kam_one(n, HOST, d.port)(bs),
             "reload: %s, unchanged in the file, stays registered on its Call-ID" % n,
             "before %r\nnow %r\n%s" % (before[n], u, kam_diag(k, n + "@" + HOST)))
    t.ok(h.wait_for(lambda: h.metric(metrics(d), "sipring_uplink_unregisters_total",
                                     result="ok") > unreg),
         'reload: sipring_uplink_unregisters_total{result="ok"} counts r2', metric_lines(d))


def case_manual(d, k):
    u = wait_uplink(d, "r1", state_is("registered"))
    if not t.eq((u or {}).get("state"), "registered", "manual: r1 registered", u):
        return
    cid, cseq = u.get("call_id"), u.get("cseq") or 0
    s, body = post(d, "r1", "unregister")
    t.eq(s, 202, "POST /api/v1/uplinks/r1/unregister: 202", body)
    u = wait_uplink(d, "r1", state_is("unregistered"))
    t.ok(u is not None and u.get("state") == "unregistered" and u.get("expires_in") == 0,
         "manual: r1 unregistered, expires_in 0", u)
    bs = wait_kam(k, "r1@" + HOST, lambda bs: bs == [])
    t.eq(bs, [], "manual: r1's binding removed in Kamailio", kam_diag(k, "r1@" + HOST))
    s, body = post(d, "r1", "register")
    t.eq(s, 202, "POST /api/v1/uplinks/r1/register: 202", body)
    u = wait_uplink(d, "r1", state_is("registered"))
    t.eq((u or {}).get("state"), "registered", "manual: r1 registered again", u)
    bs = wait_kam(k, "r1@" + HOST, kam_one("r1", HOST, d.port))
    t.ok(bs and kam_one("r1", HOST, d.port)(bs), "manual: r1 bound again in Kamailio",
         kam_diag(k, "r1@" + HOST))
    t.ok(u is not None and u.get("call_id") == cid and (u.get("cseq") or 0) > cseq,
         "manual: the same Call-ID, a higher CSeq (RFC 3261 10.2.4)",
         "before %s %s, now %r" % (cid, cseq, u))
    t.eq(post(d, "nope", "register")[0], 404, "POST /api/v1/uplinks/<unknown>/register: 404")
    t.eq(post(d, "nope", "unregister")[0], 404,
         "POST /api/v1/uplinks/<unknown>/unregister: 404")
    t.eq(api_status(d, "nope"), 404, "GET /api/v1/uplinks/<unknown>: 404")


def case_ctl(d, k):
    if not CTL or not os.access(CTL, os.X_OK):
        t.skip("sipringctl uplinks", "sipringctl not built")
        return
    hr = h.run([CTL, "--help"], timeout=60)
    if b"uplinks" not in hr.stdout + hr.stderr:
        t.skip("sipringctl uplinks", "sipringctl has no uplinks command yet")
        return
    wait_states(d, ["r1", "r3", "r4"])
    rc, out, err = ctl("uplinks", "--url", d.url)
    t.ok(rc == 0 and all(n in out for n in ("r1", "r3", "r4")) and "registered" in out,
         "sipringctl uplinks --url: exit 0, lists r1, r3, r4 and their state", out + err)
    rc, out, err = ctl("uplinks", "r3", "--url", d.url)
    t.ok(rc == 0 and "r3" in out and "r4" not in out,
         "sipringctl uplinks r3: that uplink", out + err)
    rc, out, err = ctl("uplinks", "nope", "--url", d.url)
    t.eq(rc, 1, "sipringctl uplinks <unknown>: exit 1", out + err)
    rc, out, err = ctl("uplinks", "unregister", "r3", "--url", d.url)
    t.eq(rc, 0, "sipringctl uplinks unregister r3: exit 0", out + err)
    bs = wait_kam(k, "r3@" + HOST, lambda bs: bs == [])
    t.eq(bs, [], "sipringctl uplinks unregister r3: the binding is gone",
         kam_diag(k, "r3@" + HOST))
    u = wait_uplink(d, "r3", state_is("unregistered"))
    t.eq((u or {}).get("state"), "unregistered", "sipringctl uplinks unregister r3: state "
         "unregistered", u)
    rc, out, err = ctl("uplinks", "register", "r3", "--url", d.url)
    t.eq(rc, 0, "sipringctl uplinks register r3: exit 0", out + err)
    bs = wait_kam(k, "r3@" + HOST, kam_one("r3", HOST, d.port))
    t.ok(bs and kam_one("r3", HOST, d.port)(bs), "sipringctl uplinks register r3: bound again",
         kam_diag(k, "r3@" + HOST))
    rc, out, err = ctl("uplinks", "register", "nope", "--url", d.url)
    t.eq(rc, 1, "sipringctl uplinks register <unknown>: exit 1", out + err)


def after_stop_reload(k):
    for n in ("r1", "r3", "r4"):
        bs = wait_kam(k, n + "@" + HOST, lambda bs: bs == [], timeout=5)
        t.eq(bs, [], "reload/manual: after SIGTERM %s is unregistered" % n,
             kam_diag(k, n + "@" + HOST))


def run_reload(k):
    d = start("reload", [r_uplink(k, 1), r_uplink(k, 2), r_uplink(k, 3)],
              conf={"uplinks": {"retry_delay": 5}})
    if not d:
        return
    try:
        t.case("reload", case_reload, d, k)
        t.case("manual", case_manual, d, k)
        t.case("sipringctl", case_ctl, d, k)
    finally:
        d.stop(t)
    t.case("reload after stop", after_stop_reload, k)


# ---------------------------------------------------------------- stopping: 503

class SilentUnregistrar:
    """A UDP registrar stub: 200 (Contact echoed with ;expires=) to a REGISTER with
    Expires > 0; nothing to an unregister (Expires: 0), which it only records."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.unregisters = []
        self.registers = 0
        self.closing = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.closing:
            try:
                data, addr = self.sock.recvfrom(70000)
            except (socket.timeout, OSError):
                continue
            m = h.Parsed(data)
            if m.is_response or m.method != "REGISTER":
                continue
            if (m.get("expires") or "").strip() == "0":
                self.unregisters.append(m)
                continue
            self.registers += 1
            lines = ["SIP/2.0 200 OK"]
            for name in ("via", "from", "to", "call-id", "cseq"):
                for v in m.all(name):
                    lines.append("%s: %s" % (name.title(), v + (
                        ";tag=stub" if name == "to" and ";tag=" not in v else "")))
            for c in m.all("contact"):
                lines.append("Contact: <%s>;expires=%s" % (uri_of(c), m.get("expires") or 3600))
            lines.append("Content-Length: 0")
            try:
                self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), addr)
            except OSError:
                pass

    def close(self):
        self.closing = True
        self.thread.join(timeout=5)
        self.sock.close()


def case_stopping(d, stub):
    u = wait_uplink(d, "stub", state_is("registered", "failed"))
    if not t.eq((u or {}).get("state"), "registered", "stopping: registered at the stub",
                states_diag(d)):
        return
    d.send_signal(signal.SIGTERM)
    d.sigterm_sent = True
    got = h.wait_for(lambda: stub.unregisters or not d.alive(), 30, 0.05)
    t.ok(got and stub.unregisters, "stopping: SIGTERM sends the unregister")
    seen = {}

    def probe(method):
        if not d.alive():
            return True
        c = h.Udp(HOST)
        try:
            m = h.Msg(method, "sip:someone@%s:%d" % (HOST, d.port), HOST, c.port)
            if method == "INVITE":
                m.add("Contact", "<sip:caller@%s:%d>" % (HOST, c.port))
            r = c.ask(m, d.sip_addr, timeout=1.0)
        finally:
            c.close()
        seen[method] = r
        return r is not None and r.status == 503
    t.ok(h.wait_for(lambda: probe("OPTIONS"), 30, 0.05) and d.alive(),
         "stopping: while the unregister is unanswered, an OPTIONS gets 503",
         show(seen.get("OPTIONS")) + "\nalive: %s" % d.alive())
    t.ok(h.wait_for(lambda: probe("INVITE"), 30, 0.05) and d.alive(),
         "stopping: and an INVITE gets 503", show(seen.get("INVITE")))
    # The daemon gives up at runtime.stop_deadline; d.stop() checks the exit.


def run_stopping():
    stub = SilentUnregistrar()
    d = None
    try:
        d = start("stopping", [{"name": "stub", "registrar": HOST, "port": stub.port,
                                "user": "stub", "password": "x"}],
                  conf={"runtime": {"stop_deadline": 8000}})
        if d:
            t.case("stopping", case_stopping, d, stub)
            if getattr(d, "sigterm_sent", False):
                # SIGTERM was sent: no second one (it could cut the stop short)
                exited = d.wait_exit(d.stop_deadline_s() + h.STOP_MARGIN)
                if not exited:
                    d.proc.kill()
                    d.proc.wait()
                d.stopped = True
                d.check_exit(t, exited)
    finally:
        if d:
            d.stop(t)
        stub.close()


# ---------------------------------------------------------------- (g) many

def case_many(d, k, names):
    objs = wait_states(d, names, ("registered",), timeout=180)
    n = sum(1 for x in names if (objs.get(x) or {}).get("state") == "registered")
    if not t.eq(n, len(names), "many: all %d uplinks registered" % len(names),
                "\n".join("%s: %s" % (x, json.dumps(objs.get(x))) for x in names
                          if (objs.get(x) or {}).get("state") != "registered")[:3000]):
        return False
    last = [None]

    def bound():
        dump = k.dump() or {}
        last[0] = [a for a in G_USERS if any(
            contact_ok(c.get("address"), a, HOST, d.port) for c in dump.get(a + "@" + HOST, []))]
        return len(last[0]) == len(G_USERS)
    h.wait_for(bound, DEADLINE, 0.5)
    t.eq(len(last[0] or []), len(G_USERS), "many: Kamailio holds the %d bindings" %
         len(G_USERS))
    ms = metrics(d)
    t.eq(h.metric(ms, "sipring_uplinks", state="registered"), float(len(names)),
         'many: sipring_uplinks{state="registered"} %d' % len(names), metric_lines(d))
    return n == len(names)


def run_many(k):
    ups = [{"name": "g-%s" % u, "registrar": HOST, "port": k.port, "user": u, "password": p}
           for u, p in sorted(G_USERS.items())]
    d = start("many", ups, conf={"runtime": {"stop_deadline": 10000},
                                 "uplinks": {"retry_delay": 5}})
    if not d:
        return
    ok = False
    try:
        ok = t.case("many", case_many, d, k, [u["name"] for u in ups])
    finally:
        d.stop(t)  # exit 0 within stop_deadline + margin
    if ok:
        dump = k.dump()
        left = sorted(a for a in (dump or {}) if a.split("@")[0] in G_USERS and dump[a])
        t.ok(dump is not None and not left,
             "many: every binding removed in Kamailio before the daemon exited "
             "(%d left)" % len(left), ", ".join(left[:20]) + "\n" + k.log_tail(5))


# ---------------------------------------------------------------- main

def main():
    t.case("config", case_config)
    run_upstream()
    if HAVE_KAMAILIO:
        users = dict(K_USERS)
        users.update(G_USERS)
        k = start_kamailio(users)
        if k:
            try:
                run_kamailio_401(k)
                run_reload(k)
                run_many(k)
            finally:
                k.stop()
        run_kamailio_407()
    else:
        t.skip("Kamailio uplink cases", "kamailio or kamcmd is not installed")
    run_sipp()
    run_stopping()
    sys.exit(t.done())


if __name__ == "__main__":
    main()
