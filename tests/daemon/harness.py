# SPDX-License-Identifier: MIT
"""Shared pieces of the daemon's black-box tests (tests/daemon/test_*.py).

Each test script drives the built `sipring` with real peers (raw sockets, SIPp,
an HTTP client, tshark) and reports over TAP:

  Tap       numbered "ok"/"not ok" lines, diagnostics as "# ..." lines, the plan
            at the end; a case that raises is reported as failed, the script
            goes on with the next.
  Daemon    one sipring child: a temporary directory as its cwd, a config file
            written there from a dict (free ports chosen by binding port 0),
            stderr collected in a file, readiness waited for by polling
            (GET /api/v1/status, and the ready log line or an answered OPTIONS),
            stopped with SIGTERM and checked: exit status 0 within the stop
            deadline plus a margin, no sanitizer report in its log.
  Msg       a SIP message built header by header (to break it on purpose), and
            parse() for what comes back.
  Udp, Tcp  client sockets that send bytes and read framed messages.
  digest_authorization()
            an Authorization value answering a WWW-Authenticate (RFC 7616:
            MD5, SHA-256, qop=auth or none); auth_params() splits one.
  RedisServer, Resp
            a redis-server child on a free port (no persistence; a password
            when asked), and a small RESP client for checking what the daemon
            wrote.
  Kamailio  a Kamailio 5.6 registrar child (kamailio/registrar.cfg) on a free
            port, UDP and TCP, digest (401, or 407 on REGISTER) against users
            given as a dict, usrloc in memory; bindings(aor) and dump() read
            `kamcmd ul.lookup` / `ul.dump` on its ctl socket.
  Sipp      SIPp as a UAS on a free port running a looping scenario
            (sipp/uplink_*.xml); its message log parsed: requests(),
            transactions() (retransmissions folded), count().
  UdpSink   a UDP port that reads, counts and never answers.
  UdpRegistrar
            a UDP registrar stub: 200 to every REGISTER (the Contact echoed
            with ;expires=), every request kept; registers(user), count(user).
  DnsServer tests/storage/dns_server.py as a child (an authoritative DNS
            server on a free port of 127.0.0.1, run by a python3 that has
            dnslib: dnslib_python()); set_zone() rewrites its zone (rename),
            queries() reads its query log.
  free_port_on(hosts)
            one port free on several loopback addresses (127.0.0.1, 127.0.0.2).

yaml_dump() writes nested maps, lists of scalars and lists of maps.

Temporary directories (config, log, traces, SIPp files) are removed at exit,
unless SIPRING_KEEP_TMP is set in the environment.

Nothing here sleeps to wait for the daemon: every wait is a poll with a generous
deadline (the daemon runs under ASan on two shared, noisy cores), and nothing
asserts on time. Every child is killed on the way out (atexit, PR_SET_PDEATHSIG).
"""
import atexit
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import uuid

# Deadlines: generous, since everything runs under ASan on loaded machines.
START_DEADLINE = 60.0  # until the daemon is ready
ANSWER_DEADLINE = 10.0  # for one expected answer
STOP_MARGIN = 30.0  # added to runtime.stop_deadline for the exit
POLL = 0.02

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "AddressSanitizer:", "ThreadSanitizer", "UndefinedBehaviorSanitizer")

_children = []
_tmpdirs = []
_libc = ctypes.CDLL(None)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _cleanup():
    for p in _children:
        if p.poll() is None:
            p.kill()
            p.wait()
    if not os.environ.get("SIPRING_KEEP_TMP"):
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def spawn(argv, **kw):
    """Popen a child that dies with us and is killed at exit."""
    p = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
    _children.append(p)
    return p


def run(argv, timeout=120, **kw):
    """subprocess.run with our child rules; returns CompletedProcess (bytes)."""
    return subprocess.run(argv, preexec_fn=_die_with_parent, capture_output=True,
                          timeout=timeout, **kw)


def tmpdir(prefix="sipring-itest-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def wait_for(fn, timeout=ANSWER_DEADLINE, interval=POLL):
    """Poll fn() until it returns a true value (returned) or the deadline (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- TAP

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, desc))
        if not cond:
            self.failed += 1
            if diag is not None:
                self.diag(diag)
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, desc, diag=None):
        d = "got:  %r\nwant: %r" % (got, want)
        if diag:
            d += "\n" + str(diag)
        return self.ok(got == want, desc, d)

    def skip(self, desc, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, reason))
        sys.stdout.flush()

    @staticmethod
    def diag(text):
        for line in str(text).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def case(self, name, fn, *args):
        """Run one case; an exception is a failed test with its traceback."""
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - reported, the script goes on
            self.ok(False, "%s: raised" % name, traceback.format_exc())
            return None

    def done(self):
        print("1..%d" % self.n)
        sys.stdout.flush()
        return 1 if self.failed else 0


# ---------------------------------------------------------------- ports

def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1", both=True):
    """A port free (at this instant) for UDP and TCP on host."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.bind((host, 0))
        port = t.getsockname()[1]
        if not both:
            t.close()
            return port
        u = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port on %s" % host)


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


# ---------------------------------------------------------------- YAML

def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def yaml_dump(d, indent=0):
    out = []
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict):
            out.append("%s%s:" % (pad, k))
            out.append(yaml_dump(v, indent + 1))
        elif isinstance(v, (list, tuple)):
            if not v:
                out.append("%s%s: []" % (pad, k))
            else:
                out.append("%s%s:" % (pad, k))
                for item in v:
                    if isinstance(item, dict):  # a list of maps: "- k: v", then "  k: v"
                        lines = yaml_dump(item, indent + 2).split("\n") if item else []
                        if not lines:
                            out.append("%s  - {}" % pad)
                            continue
                        out.append("%s  - %s" % (pad, lines[0].lstrip()))
                        out += lines[1:]
                    else:
                        out.append("%s  - %s" % (pad, _yaml_scalar(item)))
        else:
            out.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    return "\n".join(x for x in out if x != "")


def deep_merge(a, b):
    r = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(r.get(k), dict):
            r[k] = deep_merge(r[k], v)
        else:
            r[k] = v
    return r


# ---------------------------------------------------------------- SIP messages

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type", "e": "content-encoding",
           "k": "supported", "s": "subject", "o": "event", "r": "refer-to",
           "b": "referred-by", "u": "allow-events", "x": "session-expires",
           "a": "accept-contact", "d": "request-disposition", "j": "reject-contact",
           "y": "identity", "n": "identity-info"}


def new_branch():
    return "z9hG4bK" + uuid.uuid4().hex[:16]


def new_callid():
    return uuid.uuid4().hex + "@itest"


class Msg:
    """A request built line by line. headers: [name, value] pairs in order."""

    def __init__(self, method, ruri, via_host, via_port, transport="UDP", rport=True,
                 max_forwards=70, call_id=None, cseq=1, to_tag=None, version="SIP/2.0"):
        self.start = "%s %s %s" % (method, ruri, version)
        self.method = method
        self.branch = new_branch()
        self.call_id = call_id or new_callid()
        self.from_tag = uuid.uuid4().hex[:10]
        via = "SIP/2.0/%s %s;branch=%s%s" % (transport, hostport(via_host, via_port)
                                             if via_port else via_host,
                                             self.branch, ";rport" if rport else "")
        to = "<%s>" % ruri if ruri.startswith(("sip:", "sips:")) else "<sip:itest@example.com>"
        if to_tag:
            to += ";tag=" + to_tag
        self.headers = [
            ["Via", via],
            ["Max-Forwards", str(max_forwards)] if max_forwards is not None else None,
            ["From", "<sip:itest@%s>;tag=%s" % (hostport(via_host, via_port)
                                                 if via_port else via_host, self.from_tag)],
            ["To", to],
            ["Call-ID", self.call_id],
            ["CSeq", "%d %s" % (cseq, method)],
            ["User-Agent", "sipring-itest"],
        ]
        self.headers = [h for h in self.headers if h]
        self.body = b""
        self.content_length = True  # append Content-Length (the body's) in bytes()

    def get(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def remove(self, name):
        self.headers = [h for h in self.headers if h[0].lower() != name.lower()]
        return self

    def set(self, name, value):
        for h in self.headers:
            if h[0].lower() == name.lower():
                h[1] = value
                return self
        self.headers.append([name, value])
        return self

    def add(self, name, value, index=None):
        if index is None:
            self.headers.append([name, value])
        else:
            self.headers.insert(index, [name, value])
        return self

    def bytes(self):
        lines = [self.start] + ["%s: %s" % (n, v) for n, v in self.headers]
        if self.content_length:
            lines.append("Content-Length: %d" % len(self.body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


class Parsed:
    """A received SIP message: start line, headers with lower-case long names."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.headers = []  # [(lower long name, value)]
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:  # folded
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            name = COMPACT.get(name, name)
            self.headers.append((name, value.strip()))
        parts = self.start.split(" ", 2)
        self.is_response = parts[0].startswith("SIP/")
        self.status = int(parts[1]) if self.is_response and parts[1].isdigit() else None
        self.reason = parts[2] if self.is_response and len(parts) > 2 else None
        self.method = None if self.is_response else parts[0]

    def get(self, name):
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def tokens(self, name):
        """The comma-separated values of every `name` header, lower-cased."""
        out = []
        for v in self.all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def vias(self):
        """Every Via value, comma lists split, in order."""
        out = []
        for v in self.all("via"):
            out += [t.strip() for t in v.split(",") if t.strip()]
        return out

    def __repr__(self):
        return "<%s>" % self.raw.decode("utf-8", "replace")


def parse(raw):
    return Parsed(raw) if raw is not None else None


def via_params(via):
    """'SIP/2.0/UDP h:p;branch=x;rport=5' -> ('h:p', {'branch': 'x', 'rport': '5'})."""
    sent_by, *params = [x.strip() for x in via.split(";")]
    d = {}
    for p in params:
        k, eq, v = p.partition("=")
        d[k.lower()] = v if eq else None
    return sent_by.split(None, 1)[-1], d


def via_problems(req, resp, top_via_changed=True):
    """How the response's Vias differ from the request's (received= and rport=
    may be added to the top one): a list of complaints."""
    p = []
    rv = [t.strip() for n, v in req.headers if n.lower() in ("via", "v")
          for t in v.split(",")]
    sv = resp.vias()
    if len(sv) != len(rv):
        p.append("Via count %d, request had %d" % (len(sv), len(rv)))
    else:
        for i, (a, b) in enumerate(zip(rv, sv)):
            if i == 0 and top_via_changed:
                # received/rport may be added; the rest must stay.
                sa, pa = via_params(a)
                sb, pb = via_params(b)
                if sa != sb or pa.get("branch") != pb.get("branch"):
                    p.append("top Via %r, request had %r" % (b, a))
            elif a != b:
                p.append("Via %d %r, request had %r" % (i, b, a))
    return p


def echo_problems(req, resp, top_via_changed=True):
    """What a response fails to copy from its request (RFC 3261 §8.2.6.2): a list."""
    p = via_problems(req, resp, top_via_changed)
    for name in ("From", "Call-ID", "CSeq"):
        if req.get(name) is not None and resp.get(name) != req.get(name):
            p.append("%s %r, request had %r" % (name, resp.get(name), req.get(name)))
    rto, sto = req.get("To"), resp.get("to")
    if rto is not None:
        if ";tag=" in rto.lower():
            if sto != rto:
                p.append("To %r, request had %r" % (sto, rto))
        elif not sto or not sto.startswith(rto) or ";tag=" not in sto.lower():
            p.append("To %r: want the request's %r plus a tag" % (sto, rto))
    cl = resp.get("content-length")
    if cl is None:
        p.append("no Content-Length")
    elif not cl.isdigit() or int(cl) != len(resp.body):
        p.append("Content-Length %r for a body of %d octets" % (cl, len(resp.body)))
    return p


# ---------------------------------------------------------------- sockets

class Udp:
    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(self.family, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]

    def send(self, data, dest):
        self.sock.sendto(data, dest)

    def recv(self, timeout=ANSWER_DEADLINE):
        """One datagram (bytes, addr), or (None, None) at the deadline."""
        self.sock.settimeout(timeout)
        try:
            data, addr = self.sock.recvfrom(70000)
            return data, addr
        except socket.timeout:
            return None, None
        except ConnectionRefusedError:  # ICMP from an earlier send: not an answer
            return self.recv(timeout)

    def recv_msg(self, timeout=ANSWER_DEADLINE):
        return parse(self.recv(timeout)[0])

    def ask(self, msg, dest, timeout=ANSWER_DEADLINE):
        """Send msg (Msg or bytes), return the first final response (skips 1xx)."""
        self.send(msg.bytes() if isinstance(msg, Msg) else msg, dest)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r = self.recv_msg(left)
            if r is None or not r.is_response or r.status is None or r.status >= 200:
                return r

    def close(self):
        self.sock.close()


class Eof(Exception):
    pass


class Tcp:
    def __init__(self, dest, nodelay=False, timeout=ANSWER_DEADLINE):
        fam = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.sock.connect(dest)
        self.local = self.sock.getsockname()
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.bytes() if isinstance(data, Msg) else data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Eof()
        self.buf += chunk

    def read_exact(self, n, timeout=ANSWER_DEADLINE):
        """n octets, or None at the deadline; Eof when the peer closed."""
        deadline = time.monotonic() + timeout
        try:
            while len(self.buf) < n:
                self._fill(deadline)
        except socket.timeout:
            return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_msg(self, timeout=ANSWER_DEADLINE):
        """The next message framed by Content-Length; None at the deadline; Eof."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                # A CRLF keep-alive between messages is skipped here.
                while self.buf.startswith(b"\r\n"):
                    self.buf = self.buf[2:]
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = Parsed(self.buf[:end + 4])
                    cl = head.get("content-length")
                    n = end + 4 + (int(cl) if cl and cl.isdigit() else 0)
                    if len(self.buf) >= n:
                        raw, self.buf = self.buf[:n], self.buf[n:]
                        return Parsed(raw)
                self._fill(deadline)
        except socket.timeout:
            return None

    def ask(self, msg, timeout=ANSWER_DEADLINE):
        self.send(msg)
        deadline = time.monotonic() + timeout
        while True:
            r = self.read_msg(max(0.0, deadline - time.monotonic()))
            if r is None or not r.is_response or r.status is None or r.status >= 200:
                return r

    def closed_by_peer(self, timeout):
        """True when the peer closes (EOF or reset) before the deadline."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except Eof:
            return True
        except socket.timeout:
            return False
        except OSError as e:
            return e.errno in (errno.ECONNRESET, errno.EPIPE)

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- HTTP

def http_get(url, timeout=5.0):
    """(status, body str) or (None, error text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def http_request(method, url, body=None, timeout=5.0):
    """(status, body str) or (None, error text), for any method; body: a dict
    (sent as JSON) or bytes."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(url, data=data, method=method)
    if isinstance(body, dict):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


_METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text -> {(name, ((label, value), ...sorted)): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC.match(line)
        if not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


def metric(ms, name, **labels):
    """The value of one series (0 when absent)."""
    return ms.get((name, tuple(sorted(labels.items()))), 0.0)


def metric_sum(ms, name, **labels):
    """Sum over every series of name whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in ms.items() if n == name and want <= set(ls))


# ---------------------------------------------------------------- the daemon

class Daemon:
    """One sipring child on free ports.

    listen: transports among "udp", "tcp"; host: "127.0.0.1" or "::1" (both
    transports share one port); conf: merged over the defaults; http: the
    management endpoint on a free port (readiness is polled there).
    probe: whether readiness may also be proven with an OPTIONS (which the
    daemon counts); without it the `msg="ready"` log line is required.
    """

    def __init__(self, binary, name, conf=None, listen=("udp", "tcp"), host="127.0.0.1",
                 http=True, probe=True):
        self.binary = os.path.abspath(binary)
        self.name = name
        self.dir = tmpdir("sipring-%s-" % re.sub(r"[^a-z0-9]+", "-", name.lower()))
        self.conf_path = os.path.join(self.dir, "sipring.yaml")
        self.log_path = os.path.join(self.dir, "sipring.log")
        self.host = host
        self.transports = listen
        self.http = http
        self.probe = probe
        self.extra = conf or {}
        self.proc = None
        self.port = None
        self.http_port = None
        self.stopped = False

    # -- configuration
    def config(self):
        c = {
            "node": {"workers": 1},
            "sip": {"listen": ["%s:%s" % (t, hostport(self.host, self.port))
                               for t in self.transports]},
            "http": {"listen": ("127.0.0.1:%d" % self.http_port) if self.http else "off"},
        }
        return deep_merge(c, self.extra)

    def write_config(self, conf=None):
        """Write conf (default: self.config()) as the daemon's file, atomically."""
        text = conf if isinstance(conf, str) else yaml_dump(conf or self.config()) + "\n"
        tmp = self.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf_path)
        return text

    @property
    def sip_addr(self):
        return (self.host, self.port)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    # -- start
    def start(self):
        """Start and wait until ready; returns (True, "") or (False, why)."""
        why = ""
        for attempt in range(3):
            self.port = free_port(self.host)
            self.http_port = free_port("127.0.0.1", both=False) if self.http else None
            self.write_config()
            log = open(self.log_path, "ab")
            self.proc = spawn([self.binary, "-c", self.conf_path], cwd=self.dir,
                              stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            ok, why = self.wait_ready()
            if ok:
                return True, ""
            text = self.log()
            if self.proc.poll() is not None and ("in use" in text or "EADDRINUSE" in text):
                continue  # a port was taken between our probe and its bind: again
            break
        return False, why

    def _probe_options(self):
        t = "udp" if "udp" in self.transports else "tcp"
        m = Msg("OPTIONS", "sip:%s" % hostport(self.host, self.port), self.host, 9,
                transport=t.upper())
        try:
            if t == "udp":
                u = Udp(self.host)
                try:
                    r = u.ask(m, self.sip_addr, timeout=0.5)
                finally:
                    u.close()
            else:
                c = Tcp(self.sip_addr, timeout=0.5)
                try:
                    r = c.ask(m, timeout=0.5)
                finally:
                    c.close()
        except (OSError, Eof):
            return False
        return r is not None and r.status == 200

    def wait_ready(self, deadline=START_DEADLINE):
        end = time.monotonic() + deadline
        http_ok = not self.http
        logged = False
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False, "sipring exited with status %s before it was ready:\n%s" % (
                    self.proc.returncode, self.log_tail())
            if not http_ok:
                st, _ = http_get(self.url + "/api/v1/status", timeout=1.0)
                http_ok = st == 200
            if not logged:
                logged = 'msg="ready"' in self.log() or 'msg=ready' in self.log()
            if http_ok and (logged or (self.probe and self._probe_options())):
                return True, ""
            time.sleep(0.05)
        return False, "sipring not ready after %ds (status answered: %s, ready logged: %s):\n%s" % (
            deadline, http_ok, logged, self.log_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- management
    def metrics(self):
        st, body = http_get(self.url + "/metrics")
        if st != 200:
            raise RuntimeError("GET /metrics: %s %s" % (st, body[:200]))
        return parse_metrics(body)

    def metrics_text(self):
        return http_get(self.url + "/metrics")[1]

    def status(self):
        st, body = http_get(self.url + "/api/v1/status")
        if st != 200:
            raise RuntimeError("GET /api/v1/status: %s %s" % (st, body[:200]))
        return json.loads(body)

    # -- stop
    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop_deadline_s(self):
        v = (self.extra.get("runtime") or {}).get("stop_deadline", 5000)
        if isinstance(v, str):
            m = re.match(r"^(\d+)(ms|s)?$", v)
            v = int(m.group(1)) * (1 if m.group(2) == "ms" else 1000) if m else 5000
        return v / 1000.0

    def sanitizer_report(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                return text[max(0, i - 200):i + 3000]
        return None

    def stop(self, tap, sig=signal.SIGTERM):
        """SIGTERM, wait, report 'exited 0, no sanitizer report' as one test."""
        if self.stopped or self.proc is None:
            return
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        exited = self.wait_exit(self.stop_deadline_s() + STOP_MARGIN)
        if not exited:
            self.proc.kill()
            self.proc.wait()
        self.check_exit(tap, exited)

    def check_exit(self, tap, exited=True):
        rep = self.sanitizer_report()
        rc = self.proc.returncode
        tap.ok(exited and rc == 0 and rep is None,
               "%s: sipring stopped cleanly (exit 0, no sanitizer report)" % self.name,
               "exited in time: %s, exit status: %s\n%s" % (
                   exited, rc, rep if rep else self.log_tail()))


def start_or_bail(tap, binary, name, **kw):
    """Start a daemon; on failure report it and return None."""
    d = Daemon(binary, name, **kw)
    ok, why = d.start()
    if not tap.ok(ok, "%s: sipring starts and becomes ready" % name, why):
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.stopped = True
        return None
    return d


def require_binary(path):
    """Skip the whole script (TAP "1..0 # SKIP") when the daemon was not built."""
    if not path or not os.access(path, os.X_OK):
        print("1..0 # SKIP sipring is not built (%s)" % path)
        sys.exit(0)  # TAP skip-all: meson reads the plan; 77 would be an ERROR under TAP


# ---------------------------------------------------------------- digest (RFC 7616, RFC 8760)

_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def auth_params(value):
    """'Digest realm="x", nonce="y", stale=true' -> ('digest', {'realm': 'x', ...}):
    the scheme lower-cased, parameter names lower-cased, quoted values unquoted."""
    scheme, _, rest = value.strip().partition(" ")
    d = {}
    pos = 0
    while pos < len(rest):
        m = _AUTH_PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        d[m.group(1).lower()] = v
        pos = m.end()
    return scheme.lower(), d


def digest_hash(algorithm, text):
    alg = (algorithm or "MD5").upper()
    h = hashlib.sha256() if alg == "SHA-256" else hashlib.md5()
    h.update(text.encode())
    return h.hexdigest()


def digest_response(algorithm, user, realm, password, method, uri, nonce, nc=None,
                    cnonce=None, qop=None):
    """The digest response: KD(HA1, nonce:nc:cnonce:qop:HA2), or KD(HA1, nonce:HA2)
    without qop (RFC 2069 form)."""
    ha1 = digest_hash(algorithm, "%s:%s:%s" % (user, realm, password))
    ha2 = digest_hash(algorithm, "%s:%s" % (method, uri))
    if qop:
        return digest_hash(algorithm, "%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    return digest_hash(algorithm, "%s:%s:%s" % (ha1, nonce, ha2))


def digest_authorization(challenge, user, password, method, uri, nc=1, cnonce=None,
                         username=None, response=None):
    """An Authorization value answering one WWW-Authenticate value (challenge).
    username: what the header claims (default user, whose password is used);
    response: a response to send instead of the right one."""
    _, p = auth_params(challenge)
    alg = p.get("algorithm", "MD5")
    realm, nonce = p.get("realm", ""), p.get("nonce", "")
    qop = "auth" if "auth" in [q.strip() for q in p.get("qop", "").split(",")] else None
    cnonce = cnonce or uuid.uuid4().hex[:16]
    ncs = "%08x" % nc
    resp = response or digest_response(alg, user, realm, password, method, uri, nonce,
                                       ncs, cnonce, qop)
    v = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s' % (
        username if username is not None else user, realm, nonce, uri, resp, alg)
    if qop:
        v += ', qop=%s, nc=%s, cnonce="%s"' % (qop, ncs, cnonce)
    if "opaque" in p:
        v += ', opaque="%s"' % p["opaque"]
    return v


# ---------------------------------------------------------------- Redis

class RedisError(Exception):
    pass


class Resp:
    """A blocking RESP2 client over TCP: cmd("HGETALL", key) -> the reply
    (bytes, int, list, None); an error reply raises RedisError."""

    def __init__(self, host, port, timeout=ANSWER_DEADLINE):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Eof()
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Eof()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RedisError("bad reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def close(self):
        self.sock.close()


class RedisServer:
    """A redis-server child on a free loopback port, in a temporary directory,
    without persistence (--save "", --appendonly no): a restart comes back empty."""

    def __init__(self, binary=None, password=None):
        self.binary = binary or shutil.which("redis-server")
        self.dir = tmpdir("sipring-redis-")
        self.password = password  # --requirepass: cmd() and ping() send AUTH first
        self.port = None
        self.proc = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "redis.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self, port=None):
        """Start (on port, or a free one) and wait for PING; (True, "") or (False, why)."""
        for _ in range(3):
            self.port = port or free_port(both=False)
            self.proc = spawn([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", self.dir,
                               "--daemonize", "no", "--logfile", "redis.log"] +
                              (["--requirepass", self.password] if self.password else []),
                              cwd=self.dir, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if wait_for(self.ping, START_DEADLINE, 0.05):
                return True, ""
            if self.proc.poll() is None:
                break
            if port:  # a fixed port that is taken: no other choice
                break
        return False, "redis-server not answering on port %s:\n%s" % (
            self.port, "\n".join(self.log().splitlines()[-20:]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ping(self):
        if not self.alive():
            return False
        try:
            c = Resp("127.0.0.1", self.port, timeout=1.0)
            try:
                if self.password:
                    c.cmd("AUTH", self.password)
                return c.cmd("PING") == b"PONG"
            finally:
                c.close()
        except (OSError, Eof, RedisError):
            return False

    def cmd(self, *args):
        c = Resp("127.0.0.1", self.port)
        try:
            if self.password:
                c.cmd("AUTH", self.password)
            return c.cmd(*args)
        finally:
            c.close()

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- Kamailio

KAMAILIO_CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kamailio",
                            "registrar.cfg")


def parse_kamcmd_contacts(text):
    """kamcmd ul.dump / ul.lookup output -> {aor: [{"address", "expires", "call_id",
    "cseq", "socket", ...}]}: a flat scan (each `AoR:` starts an AOR, each
    `Address:` one of its contacts; the fields that follow belong to it).
    expires is an int (seconds left) when kamcmd prints a number, else its text."""
    out = {}
    aor = None
    cur = None
    for line in text.splitlines():
        line = line.strip()
        key, sep, val = line.partition(": ")
        if not sep:
            continue
        val = val.strip()
        if key == "AoR":
            aor = val
            out.setdefault(aor, [])
            cur = None
        elif key == "Address" and aor is not None:
            cur = {"address": val}
            out[aor].append(cur)
        elif cur is not None and key in ("Expires", "Call-ID", "CSeq", "Socket", "Received",
                                          "User-Agent", "Path", "Q", "Tcpconn-Id"):
            k = key.lower().replace("-", "_")
            if key in ("Expires", "CSeq", "Tcpconn-Id") and re.match(r"^-?\d+$", val):
                val = int(val)
            cur[k] = val
    return out


class Kamailio:
    """A Kamailio 5.6 registrar child (tests/daemon/kamailio/registrar.cfg) on a
    free loopback port (UDP and TCP), in a temporary directory:

      users     {user: password}: written as the db_text table `subscriber`
                that auth_db reads (at start: give every user before start())
      mode      "401" (www_challenge/www_authorize) or "407"
                (proxy_challenge/proxy_authorize on REGISTER)
      algorithm "MD5" (default) or "SHA-256": the challenges' algorithm
      defines   more -A arguments ("NAME" or "NAME=value")

    Bindings are in memory (usrloc, AOR = user@domain); kamcmd talks to the ctl
    socket in the directory. The log (stderr, -E) is kamailio.log there: one
    line per request received ("request REGISTER ... expires=... ").
    """

    def __init__(self, users, mode="401", algorithm=None, defines=(), binary=None,
                 cfg=KAMAILIO_CFG, host="127.0.0.1", min_expires=10):
        self.binary = binary or shutil.which("kamailio") or (
            "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)
        self.kamcmd_bin = shutil.which("kamcmd") or (
            "/usr/sbin/kamcmd" if os.access("/usr/sbin/kamcmd", os.X_OK) else None)
        self.users = dict(users)
        self.mode = str(mode)
        self.algorithm = algorithm
        self.defines = list(defines)
        self.cfg = cfg
        self.host = host
        self.min_expires = min_expires
        self.dir = tmpdir("sipring-kamailio-")
        self.db = os.path.join(self.dir, "db")
        self.ctl = os.path.join(self.dir, "ctl")
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.port = None
        self.proc = None

    @staticmethod
    def available():
        """Whether kamailio and kamcmd are installed."""
        k = shutil.which("kamailio") or os.access("/usr/sbin/kamailio", os.X_OK)
        c = shutil.which("kamcmd") or os.access("/usr/sbin/kamcmd", os.X_OK)
        return bool(k and c)

    @property
    def addr(self):
        return (self.host, self.port)

    def write_users(self):
        os.makedirs(self.db, exist_ok=True)
        with open(os.path.join(self.db, "subscriber"), "w") as f:
            f.write("username(str) password(str)\n")
            for u, p in self.users.items():
                # db_text: ':' separates columns; '\' escapes ':' and '\'
                f.write("%s:%s\n" % (u.replace("\\", "\\\\").replace(":", "\\:"),
                                     p.replace("\\", "\\\\").replace(":", "\\:")))
        with open(os.path.join(self.db, "version"), "w") as f:
            f.write("table_name(str) table_version(int)\nsubscriber:7\n")

    def argv(self):
        a = [self.binary, "-f", self.cfg, "-DD", "-E", "-Y", self.dir, "-w", self.dir,
             "-m", "64", "-M", "8",
             "-A", "SIP_PORT=%d" % self.port, "-A", "LISTEN_IP=%s" % self.host,
             "-A", 'CTL_SOCK="unix:%s"' % self.ctl, "-A", 'DBURL="text://%s"' % self.db,
             "-A", "MIN_EXPIRES=%d" % self.min_expires]
        if self.mode == "407":
            a += ["-A", "WITH_407"]
        if self.algorithm:
            a += ["-A", 'ALGORITHM="%s"' % self.algorithm]
        for d in self.defines:
            a += ["-A", d]
        return a

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log().splitlines()[-n:])

    def start(self):
        """Start and wait until kamcmd answers and an OPTIONS gets its 200;
        (True, "") or (False, why)."""
        if not self.binary or not self.kamcmd_bin:
            return False, "kamailio or kamcmd is not installed"
        self.write_users()
        why = ""
        for _ in range(3):
            self.port = free_port(self.host)
            if os.path.exists(self.ctl):
                os.unlink(self.ctl)
            log = open(self.log_path, "ab")
            # Its own process group: the children outlive a SIGKILL of the main
            # process (the PDEATHSIG), so every kill goes to the group.
            self.proc = spawn(self.argv(), cwd=self.dir, stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log, start_new_session=True)
            log.close()
            atexit.register(self._kill_group, self.proc)
            if wait_for(self.ready, START_DEADLINE, 0.05) and self.alive():
                return True, ""
            why = "kamailio not ready on port %d (exit status %s):\n%s" % (
                self.port, self.proc.poll(), self.log_tail())
            alive = self.proc.poll() is None
            self._kill_group(self.proc)
            if alive:
                break
            if "in use" not in self.log() and "bind" not in self.log():
                break
        return False, why

    def ready(self):
        if not self.alive():
            return True  # wait_for ends; start() sees the exit
        rc, out = self.kamcmd("core.version", timeout=5)
        if rc != 0 or "kamailio" not in out:
            return False
        m = Msg("OPTIONS", "sip:%s" % hostport(self.host, self.port), self.host, 9)
        u = Udp(self.host)
        try:
            r = u.ask(m, self.addr, timeout=0.5)
        except OSError:
            r = None
        finally:
            u.close()
        return r is not None and r.status == 200

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kamcmd(self, *args, timeout=30):
        """(exit status, stdout + stderr) of kamcmd -s unix:CTL args."""
        try:
            r = run([self.kamcmd_bin, "-s", "unix:" + self.ctl] + [str(a) for a in args],
                    timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "kamcmd timed out"
        return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")

    def dump(self):
        """Every binding: {aor: [contact dict]} (parse_kamcmd_contacts); None when
        kamcmd fails."""
        rc, out = self.kamcmd("ul.dump")
        if rc != 0 or out.startswith("error"):
            return None
        return parse_kamcmd_contacts(out)

    def bindings(self, aor):
        """The contacts of aor (user@domain) as [(address, expires)], [] when the
        AOR has none; None when kamcmd fails otherwise."""
        rc, out = self.kamcmd("ul.lookup", "location", aor)
        if rc != 0:
            return None
        if "not found" in out.lower():
            return []
        if out.startswith("error"):
            return None
        cs = parse_kamcmd_contacts(out).get(aor, [])
        return [(c["address"], c.get("expires")) for c in cs]

    def requests(self, method="REGISTER"):
        """The request lines that the config logged, as [(method, text of the line)]."""
        out = []
        for line in self.log().splitlines():
            m = re.search(r"request (\S+) (.*)$", line)
            if m and (method is None or m.group(1) == method):
                out.append((m.group(1), m.group(2)))
        return out

    @staticmethod
    def _kill_group(proc):
        """SIGKILL to the process group of proc (its session leader), reaped."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout=30):
        """SIGTERM (Kamailio stops its children), then whatever is left is killed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group(self.proc)


# ---------------------------------------------------------------- SIPp as a UAS

_SIPP_SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d[ \t]\d\d:\d\d:\d\d(?:\.\d+)?)\s*$", re.M)
_SIPP_DIR = re.compile(r"^(UDP|TCP|TLS|SCTP) message (received|sent)")


class SippMsg:
    """One message of SIPp's message log: when (epoch seconds, SIPp's clock),
    direction ("received"/"sent"), transport, and the message (Parsed)."""

    def __init__(self, when, direction, transport, msg):
        self.time = when
        self.direction = direction
        self.transport = transport
        self.msg = msg

    def __repr__(self):
        return "<%s %s %.3f %s>" % (self.transport, self.direction, self.time, self.msg.start)


def parse_sipp_messages(text):
    """SIPp's -trace_msg log -> [SippMsg] in order."""
    out = []
    parts = _SIPP_SEP.split(text)
    # parts: [before, stamp1, block1, stamp2, block2, ...]
    for i in range(1, len(parts) - 1, 2):
        stamp, block = parts[i], parts[i + 1]
        block = block.lstrip("\r\n")
        first, _, rest = block.partition("\n")
        m = _SIPP_DIR.match(first)
        if not m:
            continue
        rest = rest.lstrip("\r\n")
        if not rest.strip():
            continue
        raw = rest.rstrip("\r\n").replace("\r\n", "\n").replace("\n", "\r\n")
        head, sep, body = raw.partition("\r\n\r\n")
        raw = head + "\r\n\r\n" + body
        try:
            when = time.mktime(time.strptime(stamp.split(".")[0].replace("\t", " "),
                                             "%Y-%m-%d %H:%M:%S"))
            if "." in stamp:
                when += float("0." + stamp.split(".")[1])
        except ValueError:
            when = 0.0
        out.append(SippMsg(when, m.group(2), m.group(1).lower(), Parsed(raw.encode())))
    return out


class Sipp:
    """SIPp as a server (UAS) on a free loopback port, running one scenario (the
    looping tests/daemon/sipp/uplink_*.xml) until stop(); every message in and
    out is in its message log (-trace_msg), which SIPp writes as it goes:
    messages() parses it, requests() the requests received, transactions() them
    with retransmissions folded (one per Via branch)."""

    def __init__(self, scenario, transport="udp", host="127.0.0.1", binary=None,
                 extra=()):
        self.binary = binary or shutil.which("sipp")
        self.scenario = os.path.abspath(scenario)
        self.transport = transport
        self.host = host
        self.extra = list(extra)
        self.dir = tmpdir("sipring-sipp-uas-")
        self.msg_path = os.path.join(self.dir, "messages.log")
        self.err_path = os.path.join(self.dir, "errors.log")
        self.out_path = os.path.join(self.dir, "sipp.out")
        self.port = None
        self.proc = None

    @property
    def addr(self):
        return (self.host, self.port)

    def _bound(self):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        if self.transport == "tcp":
            try:
                c = socket.create_connection(self.addr, timeout=0.5)
                c.close()
                return True
            except OSError:
                return False
        # A UDP socket bound to the port (not a bind of ours: that could race SIPp's).
        want = ":%04X " % self.port
        for table in ("/proc/net/udp6", "/proc/net/udp") if fam == socket.AF_INET6 else \
                ("/proc/net/udp",):
            try:
                with open(table) as f:
                    next(f, None)
                    for line in f:
                        cols = line.split()
                        if len(cols) > 1 and (cols[1] + " ").endswith(want):
                            return True
            except OSError:
                pass
        return False

    def start(self):
        """(True, "") once SIPp holds its port, or (False, why)."""
        if not self.binary:
            return False, "sipp is not installed"
        why = ""
        for _ in range(3):
            self.port = free_port(self.host)
            argv = [self.binary, "-sf", self.scenario, "-i", self.host, "-p", str(self.port),
                    "-bind_local", "-t", "t1" if self.transport == "tcp" else "u1",
                    "-nostdin", "-trace_msg", "-message_file", self.msg_path,
                    "-trace_err", "-error_file", self.err_path,
                    "-max_socket", "100"] + self.extra
            out = open(self.out_path, "ab")
            self.proc = spawn(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=out)
            out.close()
            if wait_for(lambda: not self.alive() or self._bound(), START_DEADLINE, 0.05) \
                    and self.alive():
                return True, ""
            why = "sipp (%s) did not come up on %s: exit status %s\n%s" % (
                " ".join(argv), hostport(*self.addr), self.proc.poll(), self.tail())
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                break
        return False, why

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, n=20):
        return "-- sipp output:\n%s\n-- errors:\n%s" % (
            "\n".join(self._read(self.out_path).splitlines()[-n:]),
            "\n".join(self._read(self.err_path).splitlines()[-n:]))

    def messages(self):
        return parse_sipp_messages(self._read(self.msg_path))

    def requests(self, method="REGISTER"):
        """[SippMsg] of the requests received (retransmissions included)."""
        return [m for m in self.messages() if m.direction == "received" and
                not m.msg.is_response and (method is None or m.msg.method == method)]

    def transactions(self, method="REGISTER"):
        """The requests received, a retransmission (the same top Via branch) counted
        once: [SippMsg] of each first copy, in order."""
        seen = set()
        out = []
        for m in self.requests(method):
            vias = m.msg.vias()
            key = via_params(vias[0])[1].get("branch") if vias else None
            key = key or (m.msg.get("call-id"), m.msg.get("cseq"))
            if key in seen:
                continue
            seen.add(key)
            out.append(m)
        return out

    def count(self, method="REGISTER"):
        return len(self.transactions(method))

    def responses(self):
        return [m for m in self.messages() if m.direction == "sent" and m.msg.is_response]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _UdpPeer:
    """A bound UDP socket read by a thread, each datagram handed to
    self._datagram(data, peer); what it keeps is under self.lock."""

    def __init__(self, host="127.0.0.1", port=0):
        import threading
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.got = []
        self.lock = threading.Lock()
        self.closing = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return (self.host, self.port)

    def _loop(self):
        while not self.closing:
            try:
                data, peer = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                if self.closing:
                    return
                continue
            self._datagram(data, peer)

    def _datagram(self, data, peer):
        raise NotImplementedError

    @staticmethod
    def fold(pairs):
        """[(time, Parsed)] with retransmissions dropped: one per top Via branch."""
        seen = set()
        out = []
        for when, m in pairs:
            vias = m.vias()
            key = via_params(vias[0])[1].get("branch") if vias else None
            if key in seen:
                continue
            seen.add(key)
            out.append((when, m))
        return out

    def close(self):
        self.closing = True
        self.thread.join(timeout=5)
        self.sock.close()


class UdpSink(_UdpPeer):
    """A bound UDP socket that never answers: a thread reads and keeps every
    datagram as (monotonic time, Parsed). count() folds retransmissions (one
    per top Via branch)."""

    def _datagram(self, data, peer):
        with self.lock:
            self.got.append((time.monotonic(), Parsed(data)))

    def messages(self):
        with self.lock:
            return list(self.got)

    def transactions(self, method="REGISTER"):
        return self.fold([(when, m) for when, m in self.messages()
                          if not m.is_response and (not method or m.method == method)])

    def count(self, method="REGISTER"):
        return len(self.transactions(method))


# ---------------------------------------------------------------- DNS

DNS_SERVER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "storage", "dns_server.py")


def dnslib_python():
    """An interpreter that has python3-dnslib ($SIPRING_PYTHON, /usr/bin/python3,
    python3 on PATH, this one), or None: what tests/storage/dns_server.py needs."""
    seen = []
    for p in (os.environ.get("SIPRING_PYTHON"), "/usr/bin/python3", shutil.which("python3"),
              sys.executable):
        if not p or p in seen or not os.access(p, os.X_OK):
            continue
        seen.append(p)
        try:
            r = run([p, "-c", "import dnslib"], timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return p
    return None


class DnsServer:
    """tests/storage/dns_server.py as a child: an authoritative DNS server on a
    free port of 127.0.0.1 (UDP and TCP), its zone a JSON file in a temporary
    directory that it reads again on every query; set_zone() rewrites it (a
    temporary file renamed over it). queries() reads its query log:
    [(name without the final dot, type, proto, mode)]."""

    def __init__(self, python=None):
        self.python = python or dnslib_python()
        self.dir = tmpdir("sipring-dns-")
        self.zone_path = os.path.join(self.dir, "zone.json")
        self.log_path = os.path.join(self.dir, "queries.log")
        self.err_path = os.path.join(self.dir, "stderr.log")
        self.port = None
        self.proc = None
        self.zone = {"mode": "answer", "names": {}, "records": []}

    @property
    def server(self):
        """The dns.servers item: "127.0.0.1:PORT"."""
        return "127.0.0.1:%d" % self.port

    def set_zone(self, records=None, mode=None, names=None):
        """Change what is given (records: zone-file lines; mode: for all names;
        names: {name: mode}) and write the file atomically."""
        if records is not None:
            self.zone["records"] = list(records)
        if mode is not None:
            self.zone["mode"] = mode
        if names is not None:
            self.zone["names"] = dict(names)
        tmp = self.zone_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.zone, f)
        os.replace(tmp, self.zone_path)

    def start(self):
        """(True, "") once it printed its port, or (False, why)."""
        if not self.python:
            return False, "no python3 with dnslib (python3-dnslib)"
        self.set_zone()
        err = open(self.err_path, "ab")
        self.proc = spawn([self.python, DNS_SERVER, "--zone", self.zone_path, "--log",
                           self.log_path, "--exit-on-eof"], cwd=self.dir,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        err.close()
        import select
        line = b""
        end = time.monotonic() + START_DEADLINE
        while b"\n" not in line and time.monotonic() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 64)
                if not chunk:
                    break
                line += chunk
        if line.strip().isdigit():
            self.port = int(line.strip())
            return True, ""
        self.stop()
        return False, "dns_server.py did not start (exit status %s): %r\n%s" % (
            self.proc.poll(), line, self.stderr())

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def queries(self, name=None, qtype=None):
        out = []
        try:
            with open(self.log_path) as f:
                for line in f:
                    p = line.split()
                    if len(p) < 4:
                        continue
                    q = (p[0].rstrip(".").lower(), p[1], p[2], p[3])
                    if (name is None or q[0] == name.lower().rstrip(".")) and \
                            (qtype is None or q[1] == qtype):
                        out.append(q)
        except OSError:
            pass
        return out

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # --exit-on-eof
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.proc.stdin, self.proc.stdout):
            try:
                s.close()
            except (OSError, AttributeError):
                pass


def free_port_on(hosts, both=False):
    """One port free (at this instant) for UDP (and TCP when both) on every host of
    hosts (e.g. 127.0.0.1 and 127.0.0.2: Linux answers on all of 127.0.0.0/8)."""
    for _ in range(100):
        port = free_port(hosts[0], both)
        socks = []
        try:
            for host in hosts:
                for kind in ((socket.SOCK_DGRAM, socket.SOCK_STREAM) if both
                             else (socket.SOCK_DGRAM,)):
                    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((host, port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return port
    raise RuntimeError("no port free on all of %s" % ", ".join(hosts))


def closed_udp_port(host="127.0.0.1"):
    """A UDP port with nothing bound (at this instant): a datagram to it draws an
    ICMP port unreachable."""
    return free_port(host, both=False)


class UdpRegistrar(_UdpPeer):
    """A UDP registrar stub on host:port: every REGISTER answered 200 with each
    Contact echoed with ;expires= (grant, or the request's Expires, or 3600);
    Expires: 0 answered 200 too. Every request kept as (monotonic time, Parsed,
    peer); registers(user) those whose To names user."""

    def __init__(self, host="127.0.0.1", port=0, grant=None):
        self.grant = grant
        super().__init__(host, port)

    def _datagram(self, data, peer):
        m = Parsed(data)
        if m.is_response:
            return
        with self.lock:
            self.got.append((time.monotonic(), m, peer))
        if m.method != "REGISTER":
            return
        exp = (m.get("expires") or "").strip()
        grant = 0 if exp == "0" else (self.grant or (int(exp) if exp.isdigit() else 3600))
        lines = ["SIP/2.0 200 OK"]
        for name in ("via", "from", "to", "call-id", "cseq"):
            for v in m.all(name):
                lines.append("%s: %s" % (name.title(), v + (
                    ";tag=stub" if name == "to" and ";tag=" not in v else "")))
        for c in m.all("contact"):
            if c.strip() == "*":
                continue
            uri = c[c.find("<") + 1:c.find(">")] if "<" in c else c.split(";")[0]
            lines.append("Contact: <%s>;expires=%d" % (uri.strip(), grant))
        lines.append("Content-Length: 0")
        try:
            self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), peer)
        except OSError:
            pass

    def requests(self):
        with self.lock:
            return list(self.got)

    def registers(self, user=None):
        """[(time, Parsed)] of the REGISTERs received (retransmissions folded) whose
        To URI is sip:user@..."""
        def to_user(m):
            to = m.get("to") or ""
            uri = to[to.find("<") + 1:to.find(">")] if "<" in to else to.split(";")[0]
            return user is None or uri.strip().startswith("sip:%s@" % user)
        return self.fold([(when, m) for when, m, _ in self.requests()
                          if m.method == "REGISTER" and to_user(m)])

    def count(self, user=None):
        return len(self.registers(user))

