#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of sipring's command line and configuration file (TAP).

usage: test_config.py SIPRING [EXAMPLE_YAML]

  sipring --version
  sipring --check-config -c FILE   "FILE: configuration ok", exit 0; or one line
                                   "FILE:LINE: KEY: reason" on stderr, exit 1
  sipring -c FILE                  logs logfmt on stderr, msg="ready" once up;
                                   a broken file: a non-zero exit and the error
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SIPRING = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
EXAMPLE = sys.argv[2] if len(sys.argv) > 2 else None
h.require_binary(SIPRING)
t = h.Tap()
DIR = h.tmpdir("sipring-config-")


def full_conf():
    p = h.free_port()
    return {
        "node": {"workers": 2},
        "log": {"level": "info"},
        "sip": {
            "listen": ["udp:127.0.0.1:%d" % p, "tcp:127.0.0.1:%d" % p, "udp:[::1]:%d" % p],
            "domains": ["sipring.test", "example.org"],
            "supported": ["timer", "path", "100rel"],
            "max_message_size": 4096,
            "server_header": "",
        },
        "tcp": {"max_connections": 100, "idle_timeout": "5s"},
        "runtime": {"stop_deadline": "500ms"},
        "trace": {"file": os.path.join(DIR, "t.pcap"), "filter": "call-id:abc@x"},
        "http": {"listen": "127.0.0.1:%d" % h.free_port(both=False)},
        "cdr": {"spool_dir": os.path.join(DIR, "spool")},
    }


def write(name, text):
    path = os.path.join(DIR, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check(path):
    r = h.run([SIPRING, "--check-config", "-c", path], timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def line_of(text, prefix):
    return [i for i, s in enumerate(text.splitlines(), 1) if s.strip().startswith(prefix)]


def case_version():
    r = h.run([SIPRING, "--version"], timeout=30)
    out = r.stdout.decode("utf-8", "replace")
    t.eq(r.returncode, 0, "--version: exit 0", r.stderr.decode())
    t.ok(re.search(r"sipring.*\d+\.\d+", out), "--version: 'sipring' and a version on stdout",
         out)


def case_check_ok():
    text = h.yaml_dump(full_conf()) + "\n"
    path = write("full.yaml", text)
    rc, out, err = check(path)
    t.eq((rc, out.strip()), (0, "%s: configuration ok" % path),
         "--check-config on a file with every key of the spec: ok, exit 0", text + err)
    path = write("empty-ish.yaml", "node:\n  workers: 1\n")
    rc, out, err = check(path)
    t.eq((rc, out.strip()), (0, "%s: configuration ok" % path),
         "--check-config on a file of one key: ok (defaults for the rest)", err)
    path = write("durations.yaml", "tcp:\n  idle_timeout: 30\nruntime:\n  stop_deadline: 5s\n")
    rc, out, err = check(path)
    t.eq(rc, 0, "--check-config: durations without suffix and with 's'", out + err)
    if EXAMPLE and os.path.exists(EXAMPLE):
        rc, out, err = check(EXAMPLE)
        t.eq((rc, out.strip()), (0, "%s: configuration ok" % EXAMPLE),
             "--check-config examples/sipring.yaml", err)
    else:
        t.skip("--check-config examples/sipring.yaml", "examples/sipring.yaml not there yet")


BAD = [
    # (description, key, leaf path to replace, value)
    ("sip.max_message_size out of range", "sip.max_message_size", ("sip", "max_message_size"),
     70000),
    ("tcp.idle_timeout below 5s", "tcp.idle_timeout", ("tcp", "idle_timeout"), "2s"),
    ("runtime.stop_deadline not a duration", "runtime.stop_deadline",
     ("runtime", "stop_deadline"), "soon"),
    ("trace.filter unknown", "trace.filter", ("trace", "filter"), "port:5060"),
    ("node.workers 0..256", "node.workers", ("node", "workers"), 1000),
    ("http.listen bad port", "http.listen", ("http", "listen"), "127.0.0.1:notaport"),
    ("an unknown key", "sip.suported", ("sip", "suported"), ["timer"]),
    ("sip.listen bad port", "sip.listen", ("sip", "listen"), ["udp:127.0.0.1:99999"]),
    ("sip.listen bad transport", "sip.listen", ("sip", "listen"), ["sctp:127.0.0.1:5060"]),
]


def case_check_bad():
    for i, (desc, key, (sect, leaf), value) in enumerate(BAD):
        conf = full_conf()
        conf[sect][leaf] = value
        text = h.yaml_dump(conf) + "\n"
        path = write("bad%d.yaml" % i, text)
        rc, out, err = check(path)
        lines = line_of(text, leaf + ":")
        if isinstance(value, list):  # the list's key or its (only) item
            lines += [lines[0] + 1]
        errl = err.strip().splitlines()
        t.eq(rc, 1, "--check-config, %s: exit 1" % desc, out + err)
        got = errl[0] if errl else ""
        m = re.match(r"^(.*):(\d+): ([a-z_.]+): (.+)$", got)
        t.ok(len(errl) == 1 and m and m.group(1) == path and int(m.group(2)) in lines
             and m.group(3) == key,
             "--check-config, %s: one line '%s:%s: %s: reason'" % (desc, os.path.basename(path),
                                                                 "|".join(map(str, lines)), key),
             "stderr: %r" % err)
        t.eq(out, "", "--check-config, %s: nothing on stdout" % desc)
    rc, out, err = check(os.path.join(DIR, "missing.yaml"))
    t.ok(rc == 1 and "missing.yaml" in err, "--check-config on a missing file: exit 1, named",
         "exit %d, stderr %r" % (rc, err))


def case_run():
    d = h.start_or_bail(t, SIPRING, "config run", probe=False)
    if not d:
        return
    log = d.log()
    ready = [x for x in log.splitlines() if 'msg="ready"' in x or "msg=ready" in x]
    t.ok(ready, 'logs msg="ready"', d.log_tail())
    bad = [x for x in log.splitlines()
           if x.strip() and not re.match(r'^ts=\S+ level=\w+ mod=\S+ msg=("[^"]*"|\S+)', x)]
    t.ok(not bad, "every log line is logfmt: ts=... level=... mod=... msg=...", "\n".join(bad[:5]))
    d.stop(t)

    # A broken file at start: no daemon, the error on stderr.
    text = h.yaml_dump(h.deep_merge(d.config(), {"sip": {"max_message_size": 70000}})) + "\n"
    path = write("bad-start.yaml", text)
    r = h.run([SIPRING, "-c", path], timeout=60, cwd=DIR)
    err = r.stderr.decode("utf-8", "replace")
    t.ok(r.returncode != 0 and "%s:%d: sip.max_message_size" % (
        path, line_of(text, "max_message_size:")[0]) in err,
         "sipring -c on a broken file: non-zero exit, the error with file:line: key",
         "exit %d, stderr %r" % (r.returncode, err[-2000:]))


def main():
    t.case("version", case_version)
    t.case("check ok", case_check_ok)
    t.case("check bad", case_check_bad)
    t.case("run", case_run)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
