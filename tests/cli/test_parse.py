#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box test of `sipringctl parse`: runs the built binary on the messages
under tests/cli/data/ (and a few made here) and checks its JSON, its stderr and
its exit status. Reports over TAP.

usage: test_parse.py SIPRINGCTL DATA_DIR [EXAMPLE_INVITE]
"""
import json
import os
import subprocess
import sys
import tempfile

CTL = sys.argv[1]
DATA = sys.argv[2]
EXAMPLE = sys.argv[3] if len(sys.argv) > 3 else None

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, desc))
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines():
                    print("# " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got:  %r\nwant: %r" % (got, want))

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


t = Tap()


class Run:
    def __init__(self, args, stdin=None):
        p = subprocess.run([CTL] + args, input=stdin, capture_output=True, timeout=60)
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr.decode("utf-8", "replace")
        self.json = None
        self.json_error = None
        try:
            # Strict: the output must be valid UTF-8 JSON whatever the input held.
            self.json = json.loads(self.out.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self.json_error = e
        clean = not any(s in self.err for s in ("AddressSanitizer", "runtime error:",
                                                "LeakSanitizer"))
        t.ok(clean, "%s: no sanitizer report" % " ".join(args), self.err)


def parse(name, *opts):
    r = Run(["parse"] + list(opts) + [os.path.join(DATA, name)])
    t.ok(r.json is not None, "parse %s: stdout is JSON" % name, r.json_error)
    return r


def hdr(msg, hid, nth=0):
    """The nth header object of an id ("via"), or {} (a failed check follows)."""
    found = [h for h in (msg or {}).get("headers", []) if h.get("id") == hid]
    return found[nth] if len(found) > nth else {}


def hdr_named(msg, name):
    found = [h for h in (msg or {}).get("headers", []) if h.get("name") == name]
    return found[0] if found else {}


def dig(obj, *path):
    """obj[path[0]][path[1]]..., or None when a step is missing."""
    for p in path:
        try:
            obj = obj[p]
        except (KeyError, IndexError, TypeError):
            return None
    return obj


# ---- INVITE: start line, Via list, addresses, URIs, option tags, timers ----
r = parse("invite.sip")
m = r.json or {}
t.eq(r.rc, EXIT_OK, "invite: exit 0")
t.eq(r.err, "", "invite: nothing on stderr")
t.eq(m.get("type"), "request", "invite: type")
t.eq(m.get("method"), "INVITE", "invite: method")
t.eq(m.get("version"), "SIP/2.0", "invite: version")
ruri = m.get("request_uri") or {}
t.eq(ruri.get("raw"), "sip:bob@biloxi.example.com:5070;transport=tcp", "invite: ruri raw")
t.eq((ruri.get("scheme"), ruri.get("user"), ruri.get("host"), ruri.get("port")),
     ("sip", "bob", "biloxi.example.com", 5070), "invite: ruri scheme/user/host/port")
t.eq(ruri.get("transport"), "tcp", "invite: ruri transport param")
t.ok("error" not in ruri, "invite: ruri has no error", ruri.get("error"))
t.eq(len(m.get("headers", [])), 19, "invite: 19 headers")
t.eq([h.get("name") for h in m.get("headers", [])][:3], ["Via", "Via", "Max-Forwards"],
     "invite: headers in message order")

via0 = dig(hdr(m, "via", 0), "parsed", 0) or {}
t.eq((via0.get("transport"), via0.get("host"), via0.get("host_type"), via0.get("port")),
     ("TCP", "2001:db8::10", "ipv6", 5061), "invite: Via 1 IPv6 sent-by without brackets")
t.eq(via0.get("branch"), "z9hG4bKnashds8", "invite: Via 1 branch")
t.eq(via0.get("received"), "2001:db8::9", "invite: Via 1 received")
vias = dig(hdr(m, "via", 1), "parsed") or []
t.eq(len(vias), 2, "invite: Via 2 holds two via-parms")
t.eq([v.get("branch") for v in vias], ["z9hG4bK776asdhds", "z9hG4bKfirst"],
     "invite: Via 2 branches")
t.eq((dig(vias, 0, "has_rport"), dig(vias, 0, "rport")), (True, 5066), "invite: Via rport=5066")
t.eq((dig(vias, 1, "host"), dig(vias, 1, "host_type"), dig(vias, 1, "port")),
     ("192.0.2.1", "ipv4", 5060), "invite: Via IPv4 sent-by")
t.eq(dig(vias, 0, "proto"), "SIP", "invite: Via protocol name")
t.eq(dig(vias, 0, "version"), "2.0", "invite: Via protocol version")

t.eq(dig(hdr(m, "max-forwards"), "parsed", "value"), 69, "invite: Max-Forwards 69")
routes = dig(hdr(m, "route"), "parsed") or []
t.eq([dig(x, "uri", "host") for x in routes], ["p1.example.com", "p2.example.com"],
     "invite: Route list hosts")
t.eq([dig(x, "uri", "lr") for x in routes], [True, True], "invite: Route ;lr")
t.eq(dig(routes, 1, "uri", "port"), 5080, "invite: Route 2 port")

to = dig(hdr(m, "to"), "parsed") or {}
t.eq((to.get("display"), dig(to, "uri", "raw"), to.get("tag")),
     ("Bob", "sip:bob@biloxi.example.com", None), "invite: To token display, uri, no tag")
fr = dig(hdr(m, "from"), "parsed") or {}
t.eq((fr.get("display"), fr.get("quoted"), fr.get("tag")), ("Alice Liddell", True, "1928301774"),
     "invite: From quoted display and tag")
t.eq((dig(fr, "uri", "user"), dig(fr, "uri", "host")), ("alice", "atlanta.example.com"),
     "invite: From URI parsed")
t.eq(dig(hdr(m, "call-id"), "parsed", "id"), "a84b4c76e66710@pc33.atlanta.example.com",
     "invite: Call-ID")
t.eq(dig(hdr(m, "cseq"), "parsed"), {"seq": 314159, "method": "INVITE"}, "invite: CSeq")
ct = dig(hdr(m, "contact"), "parsed") or []
t.eq((len(ct), dig(ct, 0, "uri", "transport")), (1, "tcp"), "invite: Contact with transport")
t.eq(dig(hdr(m, "require"), "parsed"), ["100rel"], "invite: Require tokens")
t.eq(dig(hdr(m, "supported"), "parsed"), ["timer", "replaces"], "invite: Supported tokens")
t.eq((dig(hdr(m, "session-expires"), "parsed", "delta"),
      dig(hdr(m, "session-expires"), "parsed", "refresher")), (1800, "uac"),
     "invite: Session-Expires delta and refresher")
t.eq(dig(hdr(m, "min-se"), "parsed", "delta"), 90, "invite: Min-SE")
pai = dig(hdr(m, "p-asserted-identity"), "parsed") or []
t.eq([dig(x, "uri", "scheme") for x in pai], ["sip", "tel"], "invite: PAI sip and tel URIs")
t.eq(dig(pai, 1, "uri", "user"), "+15551234567", "invite: PAI tel number")
t.eq(sorted(dig(hdr(m, "privacy"), "parsed", "values") or []), ["critical", "id"],
     "invite: Privacy values")
subj = hdr(m, "subject")
t.eq((subj.get("folded"), subj.get("value")), (True, "a folded\r\n subject line"),
     "invite: folded Subject kept verbatim")
t.ok("parsed" not in subj and "error" not in subj, "invite: Subject has no typed parse")
xc = hdr_named(m, "X-Custom")
t.eq((xc.get("id", "missing"), xc.get("value")), (None, "anything at all"),
     "invite: unknown header has id null and its value")
ctype = dig(hdr(m, "content-type"), "parsed") or {}
t.eq((ctype.get("type"), ctype.get("subtype")), ("application", "sdp"), "invite: Content-Type")
t.ok("charset" in (ctype.get("params") or ""), "invite: Content-Type params", ctype)
t.eq(dig(hdr(m, "content-length"), "parsed", "value"), 138, "invite: Content-Length typed")
t.eq((m.get("body_length"), m.get("content_length")), (138, 138), "invite: body length")
errs = [h.get("name") for h in m.get("headers", []) if "error" in h]
t.eq(errs, [], "invite: no header failed its typed parse")

# ---- REGISTER with Digest credentials and an outbound Contact ----
r = parse("register_auth.sip")
m = r.json or {}
t.eq(r.rc, EXIT_OK, "register: exit 0")
t.eq((m.get("method"), dig(m, "request_uri", "host")), ("REGISTER", "registrar.example.com"),
     "register: method and ruri host")
c = dig(hdr(m, "contact"), "parsed", 0) or {}
t.eq((c.get("expires"), c.get("q"), c.get("reg_id")), (3600, 0.7, 1),
     "register: Contact expires, q, reg-id")
t.eq(c.get("instance"), "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>",
     "register: Contact +sip.instance without quotes")
t.eq((dig(c, "uri", "port"), dig(c, "uri", "transport")), (5061, "tls"),
     "register: Contact URI port and transport")
a = dig(hdr(m, "authorization"), "parsed") or {}
t.eq((a.get("scheme"), a.get("is_digest")), ("Digest", True), "register: Authorization scheme")
t.eq((a.get("username"), a.get("realm"), a.get("uri")),
     ("alice", "example.com", "sip:registrar.example.com"),
     "register: Authorization username, realm, uri unquoted")
t.eq((a.get("nonce"), a.get("response")),
     ("dcd98b7102dd2f0e8b11d0f600bfb0c093", "6629fae49393a05397450978507c4ef1"),
     "register: Authorization nonce and response")
t.eq((a.get("algorithm"), a.get("qop"), a.get("nc"), a.get("cnonce")),
     ("MD5", "auth", "00000001", "0a4f113b"), "register: Authorization algorithm, qop, nc, cnonce")
t.eq(a.get("opaque"), "5ccc069c403ebaf9f0171e9517f40e41", "register: Authorization opaque")
t.eq(dig(hdr(m, "expires"), "parsed", "value"), 3600, "register: Expires")
t.eq(dig(hdr(m, "supported"), "parsed"), ["path", "outbound", "gruu"],
     "register: Supported tokens")
t.eq(dig(hdr(m, "path"), "parsed", 0, "uri", "host"), "edge.example.com", "register: Path")
t.eq(dig(hdr(m, "from"), "parsed", "tag"), "a73kszlfl", "register: From tag (addr-spec in <>)")
t.eq(dig(hdr(m, "cseq"), "parsed"), {"seq": 2, "method": "REGISTER"}, "register: CSeq")
t.eq((m.get("body_length"), m.get("content_length")), (0, 0), "register: no body")

# ---- a response with a challenge ----
r = parse("response_401.sip")
m = r.json or {}
t.eq(r.rc, EXIT_OK, "401: exit 0")
t.eq((m.get("type"), m.get("status"), m.get("reason")), ("response", 401, "Unauthorized"),
     "401: status line")
t.ok("method" not in m and "request_uri" not in m, "401: no request fields")
w = dig(hdr(m, "www-authenticate"), "parsed") or {}
t.eq((w.get("scheme"), w.get("realm"), w.get("qop"), w.get("algorithm"), w.get("stale")),
     ("Digest", "example.com", "auth,auth-int", "SHA-256", "FALSE"),
     "401: WWW-Authenticate fields")
v = dig(hdr(m, "via"), "parsed", 0) or {}
t.eq((v.get("received"), v.get("rport")), ("198.51.100.7", 40123), "401: Via received and rport")
t.eq(dig(hdr(m, "to"), "parsed", "tag"), "37GkEhwl6", "401: To tag")
t.eq(dig(hdr(m, "min-expires"), "parsed", "value"), 60, "401: Min-Expires")
t.eq(dig(hdr(m, "allow"), "parsed"), ["INVITE", "ACK", "CANCEL", "BYE", "REGISTER"],
     "401: Allow methods")
t.eq(dig(hdr(m, "unsupported"), "parsed"), ["foo"], "401: Unsupported")

# ---- compact header names, bare-LF line ends ----
r = parse("compact.sip")
m = r.json or {}
t.eq(r.rc, EXIT_OK, "compact: exit 0")
names = [(h.get("name"), h.get("id")) for h in m.get("headers", [])]
t.eq(names, [("v", "via"), ("f", "from"), ("t", "to"), ("i", "call-id"), ("CSeq", "cseq"),
             ("m", "contact"), ("k", "supported"), ("x", "session-expires"),
             ("c", "content-type"), ("l", "content-length")],
     "compact: compact names mapped to their ids")
t.eq(dig(hdr(m, "via"), "parsed", 0, "branch"), "z9hG4bK776asdhds", "compact: v: parsed")
t.eq((dig(hdr(m, "from"), "parsed", "display"), dig(hdr(m, "from"), "parsed", "tag")),
     ("Alice", "1928301774"), "compact: f: display and tag")
t.eq(dig(hdr(m, "contact"), "parsed", 0, "uri", "host"), "pc33.atlanta.example.com",
     "compact: m: parsed")
t.eq(dig(hdr(m, "session-expires"), "parsed", "refresher"), "uas", "compact: x: refresher")
t.eq((m.get("body_length"), m.get("content_length")), (4, 4), "compact: l: 4 frames the body")

# ---- a malformed message ----
raw = open(os.path.join(DATA, "malformed.sip"), "rb").read()
bad_line = raw.index(b"Max-Forwards 70")
r = parse("malformed.sip")
e = dig(r.json, "error") or {}
t.eq(r.rc, EXIT_FAIL, "malformed: exit 1")
t.eq(e.get("code"), "EBADMSG", "malformed: JSON error code")
t.ok(isinstance(e.get("offset"), int)
     and bad_line <= e["offset"] <= bad_line + len("Max-Forwards 70"),
     "malformed: offset inside the bad line", e)
t.ok(bool(e.get("reason")), "malformed: a reason", e)
first = r.err.splitlines()[0] if r.err else ""
t.eq(first, "sipringctl: parse error EBADMSG at offset %s: %s" % (e.get("offset"), e.get("reason")),
     "malformed: stderr line")
t.ok("headers" not in (r.json or {}), "malformed: no headers in the output")

# ---- headers whose typed parse fails: reported per header, exit 0 ----
r = parse("bad_typed.sip")
m = r.json or {}
t.eq(r.rc, EXIT_OK, "bad_typed: the message parsed, exit 0")
t.eq(dig(m, "request_uri", "raw"), "sip:carol@", "bad_typed: ruri raw kept")
t.eq(dig(m, "request_uri", "error", "code"), "EBADMSG", "bad_typed: ruri without host is an error")
mf = hdr(m, "max-forwards")
t.eq((dig(mf, "error", "code"), "parsed" in mf), ("ERANGE", False),
     "bad_typed: Max-Forwards 300 is ERANGE, no parsed")
cs = hdr(m, "cseq")
t.eq((dig(cs, "error", "code"), "parsed" in cs), ("EBADMSG", False), "bad_typed: CSeq abc")
t.ok(isinstance(dig(cs, "error", "offset"), int) and bool(dig(cs, "error", "reason")),
     "bad_typed: CSeq error has offset and reason", cs)
value_at = open(os.path.join(DATA, "bad_typed.sip"), "rb").read().index(b"abc OPTIONS")
t.eq(dig(cs, "error", "message_offset"), value_at + (dig(cs, "error", "offset") or 0),
     "bad_typed: CSeq message_offset = value start + offset")
t.eq(dig(hdr(m, "from"), "error", "code"), "EBADMSG", "bad_typed: From unterminated quote")
t.ok("error" in hdr(m, "contact"), "bad_typed: Contact q=2 fails", hdr(m, "contact"))
t.eq(dig(hdr(m, "route"), "error", "code"), "EBADMSG", "bad_typed: Route ;;,;,, fails")
to = hdr(m, "to")
t.eq(dig(to, "parsed", "uri", "error", "code"), "EBADMSG",
     "bad_typed: To parses, its bad IPv6 URI carries the error")
t.eq(dig(hdr(m, "call-id"), "parsed", "id"), "a84b4c76e66710",
     "bad_typed: other headers still parsed")
t.eq(dig(hdr(m, "via"), "parsed", 0, "branch"), "z9hG4bKbad1", "bad_typed: Via still parsed")

# ---- stdin, octets that are not UTF-8, NUL ----
msg = (b"MESSAGE sip:bob@example.com SIP/2.0\r\n"
       b"Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKbin\r\n"
       b"Subject: a\x00b\xffc \xc3\xa9 \xed\xa0\x80 \"q\\\x7f\r\n"
       b"X-Ctl: \x01\t\x1f\r\n"
       b"Content-Length: 3\r\n\r\nab\x00")
r = Run(["parse", "-"], stdin=msg)
m = r.json or {}
t.ok(r.json is not None, "binary: stdout is strict UTF-8 JSON", r.json_error)
t.eq(r.rc, EXIT_OK, "binary: exit 0")
t.eq(hdr(m, "subject").get("value"), "a\x00b\u00ffc \u00e9 \u00ed\u00a0\u0080 \"q\\\x7f",
     "binary: NUL, invalid octets and surrogates escaped as \\u00XX, UTF-8 kept")
t.ok(b"\\u0000" in r.out and b"\\u00ff" in r.out, "binary: escapes visible in the text")
t.eq(hdr_named(m, "X-Ctl").get("value"), "\x01\t\x1f", "binary: control octets")
t.eq((hdr(m, "subject").get("invalid_utf8"), "invalid_utf8" in hdr_named(m, "X-Ctl")),
     (True, False), "binary: invalid_utf8 flags only the header with invalid octets")
t.eq(m.get("body_length"), 3, "binary: body with NUL counted")
r = Run(["parse"], stdin=msg)
t.eq((r.rc, dig(r.json, "method")), (EXIT_OK, "MESSAGE"), "stdin without FILE argument")

# ---- datagram vs stream ----
two = (b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
       b"Content-Length: 0\r\n\r\n")
r = Run(["parse", "--stream", "-"], stdin=two + two)
t.eq((r.rc, dig(r.json, "message_length"), dig(r.json, "trailing_octets")),
     (EXIT_OK, len(two), len(two)), "stream: first message framed, rest counted")
nocl = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n"
r = Run(["parse", "--stream"], stdin=nocl)
t.eq((r.rc, dig(r.json, "error", "code")), (EXIT_FAIL, "EBADMSG"),
     "stream: no Content-Length is malformed")
r = Run(["parse", "--stream", "--datagram"], stdin=nocl + b"body")
t.eq((r.rc, dig(r.json, "content_length"), dig(r.json, "body_length")), (EXIT_OK, None, 4),
     "datagram: no Content-Length, body is the rest")
r = Run(["parse", "--stream"], stdin=two[:-10])
t.eq((r.rc, dig(r.json, "error", "code")), (EXIT_FAIL, "EAGAIN"),
     "stream: truncated message is an error")
r = Run(["parse"], stdin=two.replace(b"Length: 0", b"Length: 9"))
t.eq((r.rc, dig(r.json, "error", "code")), (EXIT_FAIL, "EBADMSG"),
     "datagram: Content-Length past the end")
r = Run(["parse"], stdin=b"")
t.eq((r.rc, dig(r.json, "error", "code")), (EXIT_FAIL, "EBADMSG"), "empty input is malformed")
r = Run(["parse"], stdin=two + b"x" * 65536)
t.eq((r.rc, dig(r.json, "error", "code")), (EXIT_FAIL, "EMSGSIZE"), "input over 64 KiB")
t.ok(r.err.startswith("sipringctl: parse error EMSGSIZE at offset 65536: "),
     "input over 64 KiB: stderr", r.err)
head = two.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: %05d\r\n\r\n")
body = 65536 - len(head % 0)
big = head % body + b"y" * body
r = Run(["parse"], stdin=big)
t.eq((r.rc, len(big), dig(r.json, "message_length")), (EXIT_OK, 65536, 65536),
     "exactly 64 KiB parses")

# ---- usage ----
r = Run([])
t.eq((r.rc, r.out), (EXIT_USAGE, b""), "no command: exit 2, nothing on stdout")
t.ok("usage:" in r.err, "no command: usage on stderr", r.err)
r = Run(["frobnicate"])
t.eq(r.rc, EXIT_USAGE, "unknown command: exit 2")
t.ok("unknown command 'frobnicate'" in r.err and "usage:" in r.err,
     "unknown command: named, usage", r.err)
r = Run(["--help"])
t.eq(r.rc, EXIT_OK, "--help: exit 0")
t.ok(b"parse" in r.out and b"usage:" in r.out, "--help: lists parse", r.out)
r = Run(["help", "parse"])
t.eq((r.rc, b"--stream" in r.out), (EXIT_OK, True), "help parse")
r = Run(["parse", "--help"])
t.eq(r.rc, EXIT_OK, "parse --help: exit 0")
t.ok(b"--stream" in r.out and b"exit status" in r.out, "parse --help: options and exit codes")
r = Run(["parse", "--bogus"])
t.eq(r.rc, EXIT_USAGE, "parse --bogus: exit 2")
t.ok("unknown option '--bogus'" in r.err, "parse --bogus: named", r.err)
r = Run(["parse", os.path.join(DATA, "invite.sip"), os.path.join(DATA, "compact.sip")])
t.eq(r.rc, EXIT_USAGE, "parse with two files: exit 2")
missing = os.path.join(DATA, "no-such-file.sip")
r = Run(["parse", missing])
t.eq((r.rc, r.out), (EXIT_USAGE, b""), "missing file: exit 2, nothing on stdout")
t.ok(("cannot open '%s'" % missing) in r.err and "No such file" in r.err,
     "missing file: clear message", r.err)
with tempfile.TemporaryDirectory() as d:
    r = Run(["parse", d])
    t.eq(r.rc, EXIT_USAGE, "a directory: exit 2")
    dash = os.path.join(d, "-odd")
    with open(dash, "wb") as f:
        f.write(two)
    r = Run(["parse", "--", dash])
    t.eq((r.rc, dig(r.json, "method")), (EXIT_OK, "OPTIONS"), "-- ends the options")

# ---- the example scripts/run.sh prints ----
if EXAMPLE:
    r = Run(["parse", EXAMPLE])
    m = r.json or {}
    t.eq((r.rc, m.get("method"), m.get("body_length")), (EXIT_OK, "INVITE", 249),
         "examples/invite.sip parses")
    errs = [h.get("name") for h in m.get("headers", []) if "error" in h]
    t.eq(errs, [], "examples/invite.sip: every typed parse succeeds")

sys.exit(t.done())
