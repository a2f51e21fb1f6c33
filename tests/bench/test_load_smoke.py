#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Smoke test of sipring-load against sipring-echo and small UDP peers written
here (among them a digest registrar checked with hashlib), reporting TAP. It checks what the load generator counts (answered, lost,
duplicates, unexpected, retransmissions), never how fast anything is: the
machines running it are shared and noisy.

usage: test_load_smoke.py SIPRING_LOAD SIPRING_ECHO
"""
import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
import time

LOAD, ECHO = sys.argv[1], sys.argv[2]
results = []


def ok(cond, name, diag=""):
    results.append((bool(cond), name, diag))
    return cond


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_load(*args, timeout=120):
    p = subprocess.run([LOAD, "--json", *args], capture_output=True, text=True,
                       timeout=timeout)
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else None
    except json.JSONDecodeError:
        res = None
    return p.returncode, res, p.stderr


class Peer(threading.Thread):
    """A UDP peer on 127.0.0.1: answer(request_text) -> list of datagrams to send back."""

    def __init__(self, answer):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.stop = threading.Event()
        self.received = 0

    def run(self):
        while not self.stop.is_set():
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.received += 1
            for out in self.answer(data.decode("latin-1")):
                self.sock.sendto(out.encode("latin-1"), src)

    def close(self):
        self.stop.set()
        self.join()
        self.sock.close()


def header(req, name):
    m = re.search(r"^" + name + r":[ \t]*(.*?)\r$", req, re.M | re.I)
    return m.group(1) if m else ""


def response(req, code, reason, via=None):
    return ("SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=peer\r\nCall-ID: %s\r\n"
            "CSeq: %s\r\nContent-Length: 0\r\n\r\n" %
            (code, reason, via or header(req, "Via"), header(req, "From"),
             header(req, "To"), header(req, "Call-ID"), header(req, "CSeq")))


FIELDS = ["target", "scenario", "method", "threads", "sockets", "rate", "window",
          "sent", "retransmissions", "send_errors", "answered", "codes", "provisional",
          "lost", "duplicates", "unexpected", "send_window_s", "elapsed_s",
          "offered_per_s", "answered_per_s", "latency_us"]


def test_echo():
    port = free_port()
    echo = subprocess.Popen([ECHO, "--port", str(port), "--threads", "2"],
                            stderr=subprocess.PIPE, text=True)
    line = echo.stderr.readline()
    if echo.poll() == 77 or "io_uring" in line and "ready" not in line:
        echo.wait()
        return "io_uring is not usable here: " + line.strip()
    try:
        ok("ready" in line, "sipring-echo says it is ready", line.strip())
        rc, res, err = run_load("--echo", "--count", "2000", "--threads", "2",
                                "127.0.0.1:%d" % port)
        ok(rc == 0, "echo: exit status 0", "rc=%d %s" % (rc, err[-500:]))
        ok(res is not None, "echo: one JSON line on stdout")
        res = res or {}
        missing = [f for f in FIELDS if f not in res]
        ok(not missing, "echo: the JSON has every field", "missing %s" % missing)
        lat = res.get("latency_us", {})
        ok(all(k in lat for k in ("p50", "p90", "p99", "p99_9", "max")),
           "echo: latency percentiles p50 p90 p99 p99.9 max", str(lat))
        ok(res.get("sent") == 2000, "echo: 2000 sent", str(res.get("sent")))
        ok(res.get("answered") == 2000, "echo: every request answered",
           str(res.get("answered")))
        ok(res.get("codes", {}).get("echo") == 2000, "echo: counted as echoed",
           str(res.get("codes")))
        ok(res.get("lost") == 0 and res.get("unexpected") == 0,
           "echo: 0 lost, 0 unexpected", "lost=%s unexpected=%s" %
           (res.get("lost"), res.get("unexpected")))
        # a rate, a duration and retransmission on: still every one answered
        rc, res, err = run_load("--echo", "--rate", "2000", "--duration", "0.5",
                                "--retransmit", "127.0.0.1:%d" % port)
        res = res or {}
        ok(rc == 0 and res.get("lost") == 0 and res.get("answered") == res.get("sent")
           and res.get("sent", 0) > 0, "echo: --rate --duration --retransmit, 0 lost",
           "rc=%d %s" % (rc, json.dumps(res)[:300]))
    finally:
        echo.terminate()
        _, err = echo.communicate(timeout=10)
        ok(echo.returncode == 0, "sipring-echo stops cleanly on SIGTERM",
           "rc=%s %s" % (echo.returncode, err[-300:]))
    return None


def test_nothing_listening():
    port = free_port()
    rc, res, err = run_load("--count", "10", "--grace", "200", "127.0.0.1:%d" % port)
    res = res or {}
    ok(rc == 1, "no server: exit status 1", "rc=%d %s" % (rc, err[-300:]))
    ok(res.get("lost") == 10 and res.get("answered") == 0, "no server: lost == 10",
       json.dumps(res)[:300])


def test_wrong_branch():
    peer = Peer(lambda req: [response(req, 200, "OK",
                                      via="SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-bogus")])
    peer.start()
    try:
        rc, res, err = run_load("--count", "10", "--grace", "300", "127.0.0.1:%d" % peer.port)
    finally:
        peer.close()
    res = res or {}
    ok(rc == 1, "wrong branch: exit status 1 (all lost)", "rc=%d" % rc)
    ok(res.get("unexpected") == 10 and res.get("answered") == 0,
       "wrong branch: counted unexpected, not answered", json.dumps(res)[:300])


def test_provisional_and_duplicates():
    # 100, 200, then the 200 again: answered once, a provisional, a duplicate
    peer = Peer(lambda req: [response(req, 100, "Trying"), response(req, 200, "OK"),
                             response(req, 200, "OK")])
    peer.start()
    try:
        rc, res, err = run_load("--count", "50", "--window", "8", "--grace", "500",
                                "127.0.0.1:%d" % peer.port)
    finally:
        peer.close()
    res = res or {}
    ok(rc == 0, "100+200+200: exit status 0", "rc=%d %s" % (rc, err[-300:]))
    ok(res.get("answered") == 50 and res.get("codes", {}).get("200") == 50,
       "100+200+200: 50 answered with 200", json.dumps(res)[:300])
    ok(res.get("provisional") == 50, "100+200+200: 50 provisional")
    # the last duplicates may come after the run has ended: at most 50, at least some
    ok(0 < res.get("duplicates", 0) <= 50, "100+200+200: second 200s are duplicates",
       str(res.get("duplicates")))
    ok(res.get("unexpected") == 0, "100+200+200: nothing unexpected")


def test_retransmit():
    seen = set()

    def second_copy_only(req):
        branch = re.search(r"branch=([^;\r]+)", req).group(1)
        if branch in seen:
            return [response(req, 200, "OK")]
        seen.add(branch)
        return []

    peer = Peer(second_copy_only)
    peer.start()
    try:
        rc, res, err = run_load("--count", "20", "--retransmit", "--t1", "50", "--grace",
                                "3000", "127.0.0.1:%d" % peer.port)
    finally:
        peer.close()
    res = res or {}
    ok(rc == 0 and res.get("answered") == 20 and res.get("lost") == 0,
       "first copies dropped: --retransmit gets all 20 answered",
       "rc=%d %s" % (rc, json.dumps(res)[:300]))
    ok(res.get("retransmissions", 0) >= 20, "first copies dropped: >= 20 retransmissions",
       str(res.get("retransmissions")))


def user_password(user):
    """The rule of load_user_password() and shared/anchors/kamailio/gen_users.sh."""
    return "pw%08x" % (((int(user[1:]) - 100000) * 2654435761) % 2**32)


class Registrar:
    """Answers REGISTER: 401 (MD5 or SHA-256, qop=auth) without credentials, 200
    with right ones, 403 with wrong ones; records what each user sent."""

    def __init__(self, algorithms=("MD5",), auth=True):
        self.algorithms, self.auth = algorithms, auth
        self.bad = []
        self.used = set()  # the algorithms the credentials named
        self.users = {}  # user -> [(call-id, cseq, contact, authorized)]
        self.lock = threading.Lock()

    def digest(self, alg, user, realm, nonce, uri, nc, cnonce, qop):
        h = (lambda x: hashlib.md5(x.encode()).hexdigest()) if alg == "MD5" else \
            (lambda x: hashlib.sha256(x.encode()).hexdigest())
        ha1 = h("%s:%s:%s" % (user, realm, user_password(user)))
        ha2 = h("REGISTER:" + uri)
        return h(":".join((ha1, nonce, nc, cnonce, qop, ha2)))

    def __call__(self, req):
        user = re.search(r"^To: <sip:([^@]+)@", req, re.M).group(1)
        cseq = int(header(req, "CSeq").split()[0])
        auth = header(req, "Authorization")
        with self.lock:
            self.users.setdefault(user, []).append(
                (header(req, "Call-ID"), cseq, header(req, "Contact"), bool(auth)))
        if not self.auth:
            return [response(req, 200, "OK")]
        if not auth:
            hdrs = "".join('WWW-Authenticate: Digest realm="test", nonce="n%d", '
                           'algorithm=%s, qop="auth"\r\n' % (cseq, a)
                           for a in self.algorithms)
            return [response(req, 401, "Unauthorized").replace("Content-Length", hdrs +
                                                                "Content-Length")]
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', auth[len("Digest "):]))
        with self.lock:
            self.used.add(p.get("algorithm", "MD5"))
        want = self.digest(p.get("algorithm", "MD5"), user, p["realm"], p["nonce"], p["uri"],
                           p["nc"], p["cnonce"], p["qop"])
        if p["username"] != user or p["response"] != want:
            with self.lock:
                self.bad.append(auth)
            return [response(req, 403, "Forbidden")]
        return [response(req, 200, "OK")]


def test_register_auth():
    for algs in (("MD5",), ("MD5", "SHA-256")):
        reg = Registrar(algs)
        peer = Peer(reg)
        peer.start()
        try:
            rc, res, err = run_load("--scenario", "register-auth", "--users", "50", "--count",
                                    "200", "--window", "8", "--threads", "2", "--grace", "500",
                                    "127.0.0.1:%d" % peer.port)
        finally:
            peer.close()
        res = res or {}
        name = "register-auth (%s)" % ", ".join(algs)
        ok(rc == 0, name + ": exit status 0", "rc=%d %s" % (rc, err[-500:]))
        ok(res.get("completed") == 200 and res.get("failed") == 0 and res.get("lost") == 0
           and res.get("challenges") == 200 and res.get("codes") == {"200": 200},
           name + ": 200 registrations, each 401 then 200", json.dumps(res)[:400])
        ok(not reg.bad, name + ": every digest right", str(reg.bad[:2]))
        ok(len(reg.users) == 50 and all(len(v) == 8 for v in reg.users.values()),
           name + ": 50 distinct users, 4 registrations each", str(len(reg.users)))
        # per user: one Call-ID and one Contact, CSeq rising, credentials every other
        good = True
        for user, seen in reg.users.items():
            good &= len({c for c, _, _, _ in seen}) == 1
            good &= len({ct for _, _, ct, _ in seen}) == 1 and user in seen[0][2]
            cseqs = [c for _, c, _, _ in seen]
            good &= cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs)
            good &= [a for _, _, _, a in seen] == [False, True] * 4
        ok(good, name + ": per user one Call-ID and Contact, CSeq rising")
        want = {"SHA-256"} if "SHA-256" in algs else {"MD5"}
        ok(reg.used == want, name + ": credentials with %s" % want.pop(), str(reg.used))


def test_register_failures():
    # credentials refused (the registrar knows other passwords): failed, exit 1
    reg = Registrar()
    reg.digest = lambda *a: "0" * 32
    peer = Peer(reg)
    peer.start()
    try:
        rc, res, err = run_load("--scenario", "register-auth", "--users", "10", "--count",
                                "20", "--grace", "300", "127.0.0.1:%d" % peer.port)
    finally:
        peer.close()
    res = res or {}
    ok(rc == 1 and res.get("failed") == 20 and res.get("completed") == 0 and
       res.get("codes") == {"403": 20}, "register-auth, 403: 20 failed, exit status 1",
       "rc=%d %s" % (rc, json.dumps(res)[:300]))
    # register-auth against a registrar that does not challenge: a 200 alone fails
    peer = Peer(Registrar(auth=False))
    peer.start()
    try:
        rc, res, err = run_load("--scenario", "register-auth", "--users", "10", "--count",
                                "20", "--grace", "300", "127.0.0.1:%d" % peer.port)
        rc2, res2, err2 = run_load("--scenario", "register", "--users", "10", "--count",
                                   "20", "--grace", "300", "127.0.0.1:%d" % peer.port)
    finally:
        peer.close()
    res, res2 = res or {}, res2 or {}
    ok(rc == 1 and res.get("failed") == 20, "register-auth, 200 without 401: failed",
       "rc=%d %s" % (rc, json.dumps(res)[:300]))
    ok(rc2 == 0 and res2.get("completed") == 20 and res2.get("failed") == 0,
       "register without auth: 20 completed", "rc=%d %s" % (rc2, json.dumps(res2)[:300]))


def test_usage():
    p = subprocess.run([LOAD, "--rate", "fast", "127.0.0.1:5060"], capture_output=True)
    ok(p.returncode == 2, "a bad option value: exit status 2", str(p.returncode))
    p = subprocess.run([LOAD], capture_output=True)
    ok(p.returncode == 2, "no target: exit status 2", str(p.returncode))


def main():
    skip = test_echo()
    if skip:
        print("1..0 # SKIP " + skip)
        return 0
    test_nothing_listening()
    test_wrong_branch()
    test_provisional_and_duplicates()
    test_retransmit()
    test_register_auth()
    test_register_failures()
    test_usage()
    print("1..%d" % len(results))
    for i, (good, name, diag) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if good else "not ok", i, name))
        if not good and diag:
            for line in str(diag).splitlines():
                print("# " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
