#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small authoritative DNS server on 127.0.0.1 for sipring's tests.

Answers over UDP and TCP on one port (a free one unless --port; never 5353),
from a zone held in a JSON file that is read again on every query, so a test
changes the records or the behaviour while the server runs by rewriting the
file (write a temporary file and rename() it over the old one: a half-written
file is ignored and the last good zone kept). When ready it prints its port
alone on a line of stdout.

usage: dns_server.py --zone FILE [--port N] [--log FILE] [--exit-on-eof]

The zone file:

    {
      "mode": "answer",                  # answer | servfail | nxdomain | refused | silent
      "names": {"flaky.test": "silent"}, # a mode per query name (case-insensitive)
      "records": [                       # zone-file lines (dnslib's RR.fromZone)
        "gw.test. 2 IN A 192.0.2.1",
        "gw.test. 2 IN AAAA 2001:db8::1",
        "_sip._udp.gw.test. 2 IN SRV 10 60 5060 a.gw.test.",
        "gw.test. 2 IN NAPTR 10 50 \\"s\\" \\"SIP+D2U\\" \\"\\" _sip._udp.gw.test."
      ]
    }

"records" may also be one string of lines. In mode "answer": the records of
the name and type asked (following CNAMEs), NOERROR with no answer (NODATA)
when the name has records of other types only or names below it (an empty
non-terminal, as _sip._udp.example makes of example), NXDOMAIN else; the
answer is authoritative, negative answers carry an SOA (the zone's, or one with
TTL and minimum 1). "silent" reads the query and never answers (over TCP it
keeps the connection open). Over UDP an answer longer than 512 octets is
truncated (TC), as RFC 1035 says; over TCP it is whole.

--log FILE appends one line per query: "<name> <type> <udp|tcp> <mode>".
--exit-on-eof exits when stdin reaches its end (the parent closed the pipe or
died). Exit status 77 when python3-dnslib is not installed (tests skip).
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import threading

try:
    from dnslib import DNSRecord, RR, QTYPE, RCODE, SOA, DNSLabel
except ImportError:
    sys.stderr.write("dns_server.py: python3-dnslib is not installed\n")
    sys.exit(77)

LOG_LOCK = threading.Lock()
MODES = ("answer", "servfail", "nxdomain", "refused", "silent")


def norm(name):
    name = str(name).lower()
    return name if name.endswith(".") else name + "."


class Zone:
    """The zone file, read again on each query; the last good one on errors."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.mode = "answer"
        self.names = {}
        self.rrs = []
        self.sig = None
        self.load()

    def load(self):
        try:
            st = os.stat(self.path)
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            if sig == self.sig:
                return
            with open(self.path, encoding="utf-8") as f:
                z = json.load(f)
            mode = z.get("mode", "answer")
            if mode not in MODES:
                raise ValueError("mode %r" % mode)
            names = {norm(k): v for k, v in z.get("names", {}).items()}
            for v in names.values():
                if v not in MODES:
                    raise ValueError("mode %r" % v)
            recs = z.get("records", [])
            if isinstance(recs, list):
                recs = "\n".join(recs)
            rrs = RR.fromZone(recs) if recs.strip() else []
        except Exception as e:  # noqa: B902 - anything wrong in the file: keep the last zone
            sys.stderr.write("dns_server.py: zone %s: %s (keeping the last one)\n" % (self.path, e))
            return
        self.sig, self.mode, self.names, self.rrs = sig, mode, names, rrs

    def snapshot(self):
        with self.lock:
            self.load()
            return self.mode, self.names, self.rrs


def soa_for(rrs, qname):
    best = None
    for rr in rrs:
        if rr.rtype == QTYPE.SOA and qname.endswith(norm(rr.rname)):
            if best is None or len(norm(rr.rname)) > len(norm(best.rname)):
                best = rr
    if best:
        return best
    zone = ".".join(qname.split(".")[-2:]) or "."
    return RR(zone, QTYPE.SOA, ttl=1,
              rdata=SOA("ns." + zone, "hostmaster." + zone, (1, 60, 60, 60, 1)))


def answer(zone, data, proto, log):
    """The reply to one query (bytes), or None to stay silent."""
    try:
        q = DNSRecord.parse(data)
    except Exception:  # noqa: B902 - garbage in: no answer
        return None
    mode, names, rrs = zone.snapshot()
    qname = norm(q.q.qname)
    qtype = q.q.qtype
    mode = names.get(qname, mode)
    if log:
        with LOG_LOCK:
            log.write("%s %s %s %s\n" % (qname, QTYPE.get(qtype), proto, mode))
            log.flush()
    if mode == "silent":
        return None
    r = q.reply()  # QR, AA (authoritative), RD copied
    r.header.ra = 0
    if mode == "servfail":
        r.header.rcode = RCODE.SERVFAIL
        r.header.aa = 0
        return r.pack()
    if mode == "refused":
        r.header.rcode = RCODE.REFUSED
        r.header.aa = 0
        return r.pack()
    if mode == "nxdomain":
        r.header.rcode = RCODE.NXDOMAIN
        r.add_auth(soa_for(rrs, qname))
        return r.pack()
    name, seen = qname, set()
    while name not in seen:
        seen.add(name)
        at = [rr for rr in rrs if norm(rr.rname) == name]
        match = [rr for rr in at if qtype == QTYPE.ANY or rr.rtype == qtype]
        if match:
            for rr in match:
                r.add_answer(rr)
            break
        cname = [rr for rr in at if rr.rtype == QTYPE.CNAME]
        if cname and qtype != QTYPE.CNAME:
            r.add_answer(cname[0])
            name = norm(cname[0].rdata.label)
            continue
        if not at and name == qname and not any(norm(rr.rname).endswith("." + name)
                                                for rr in rrs):
            r.header.rcode = RCODE.NXDOMAIN  # not an empty non-terminal either
        r.add_auth(soa_for(rrs, name))
        break
    return r.pack()


def truncate(data, reply):
    """The header and question of reply with TC set (UDP, > 512 octets)."""
    q = DNSRecord.parse(data)
    t = q.reply()
    t.header.tc = 1
    t.header.rcode = DNSRecord.parse(reply).header.rcode
    return t.pack()


def serve_tcp(conn, zone, log):
    conn.settimeout(30)
    try:
        while True:
            hdr = b""
            while len(hdr) < 2:
                chunk = conn.recv(2 - len(hdr))
                if not chunk:
                    return
                hdr += chunk
            (n,) = struct.unpack("!H", hdr)
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    return
                data += chunk
            reply = answer(zone, data, "tcp", log)
            if reply is None:
                continue  # silent: the client times out
            conn.sendall(struct.pack("!H", len(reply)) + reply)
    except OSError:
        return
    finally:
        conn.close()


def bind_pair(port):
    """A UDP and a TCP socket on 127.0.0.1, on port or on a free one (never 5353)."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", port))
        p = u.getsockname()[1]
        if p == 5353 and not port:
            u.close()
            continue
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind(("127.0.0.1", p))
        except OSError:
            u.close()
            t.close()
            if port:
                raise
            continue
        t.listen(16)
        return u, t, p
    raise OSError("no free port for UDP and TCP")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zone", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--exit-on-eof", action="store_true")
    a = ap.parse_args()
    zone = Zone(a.zone)
    log = open(a.log, "a", encoding="utf-8") if a.log else None
    udp, tcp, port = bind_pair(a.port)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    watch = [udp, tcp] + ([sys.stdin] if a.exit_on_eof else [])
    while True:
        ready, _, _ = select.select(watch, [], [])
        if sys.stdin in ready:
            if not sys.stdin.buffer.read1(4096):
                return 0
        if udp in ready:
            try:
                data, peer = udp.recvfrom(65535)
            except OSError:
                data = None
            if data:
                reply = answer(zone, data, "udp", log)
                if reply is not None:
                    if len(reply) > 512:
                        reply = truncate(data, reply)
                    udp.sendto(reply, peer)
        if tcp in ready:
            conn, _ = tcp.accept()
            threading.Thread(target=serve_tcp, args=(conn, zone, log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
