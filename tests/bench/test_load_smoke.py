#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Smoke test of sipring-load against sipring-echo and small UDP peers written
here, reporting TAP. It checks what the load generator counts (answered, lost,
duplicates, unexpected, retransmissions), never how fast anything is: the
machines running it are shared and noisy.

usage: test_load_smoke.py SIPRING_LOAD SIPRING_ECHO
"""
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
