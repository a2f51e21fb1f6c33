#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of the CDR pipeline, with processes really killed.

Drives tests/storage/cdr_tool (argv[1]) against private redis-server children
(on free loopback ports, in temporary directories, with an append-only file so
that a killed server restarts with what it acknowledged). Each case ends with
`cdr_tool verify`: every counter of every dimension and the stream length
equal what the generated CDRs must give, so nothing was lost or counted twice.

  1. the producing process is SIGKILLed after spooling (Redis up): a new
     process on the same spool replays;
  2. redis-server is SIGKILLed in the middle of the flush and restarted;
  3. Redis is down while the producer spools, the producer is SIGKILLed,
     Redis comes up, a new process replays;
  4. the replaying process is itself SIGKILLed halfway, and replayed again.

Exit status 77 (skip) only when redis-server is not installed. Every child is
killed on the way out (atexit, and PR_SET_PDEATHSIG should this script die).
Waits are bounded polls with generous deadlines; nothing asserts on time.
"""
import atexit
import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOOL = sys.argv[1]
DEADLINE = 180
children = []
tmp = tempfile.mkdtemp(prefix="sipring-kill-")


def cleanup():
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

libc = ctypes.CDLL(None)


def die_with_parent():
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(argv, **kw):
    p = subprocess.Popen(argv, preexec_fn=die_with_parent, **kw)
    children.append(p)
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def command(port, *args):
    """One command to Redis; returns the decoded first reply line, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            req = "*%d\r\n" % len(args) + "".join(
                "$%d\r\n%s\r\n" % (len(a), a) for a in args)
            s.sendall(req.encode())
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    return None
                buf += chunk
            return buf.decode().strip()
    except OSError:
        return None


class Redis:
    def __init__(self, name):
        self.bin = shutil.which("redis-server") or next(
            (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server")
             if os.access(p, os.X_OK)), None)
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = spawn([self.bin, "--port", str(self.port), "--bind", "127.0.0.1",
                           "--dir", self.dir, "--save", "", "--daemonize", "no",
                           "--appendonly", "yes", "--appendfsync", "no"],
                          stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("redis-server exited, see %s/redis.log" % self.dir)
            if command(self.port, "PING") == "+PONG":
                return
            time.sleep(0.02)
        sys.exit("redis-server did not answer PING")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def xlen(self):
        r = command(self.port, "XLEN", "sipring:cdr")
        return int(r[1:]) if r and r.startswith(":") else -1


def tool(*args, timeout=DEADLINE):
    """Run cdr_tool; returns its status and its stdout (and its stderr when it failed)."""
    r = subprocess.run([TOOL] + [str(a) for a in args], preexec_fn=die_with_parent,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = r.stdout.decode()
    if r.returncode != 0:
        out += r.stderr.decode()
    return r.returncode, out


def wait_line(p, prefix):
    """The first stdout line of p starting with prefix (bounded wait)."""
    deadline = time.time() + DEADLINE
    buf = b""
    while time.time() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode().splitlines():
                if line.startswith(prefix):
                    return line
    sys.exit("no '%s' from the producer (got %r)" % (prefix, buf))


failures = []


def check(name, cond, detail=""):
    print("%s %s %s" % ("ok" if cond else "FAILED", name, detail))
    if not cond:
        failures.append(name)


def verify(name, redis, specs):
    args = ["verify", "--redis-port", redis.port]
    for seed, n in specs:
        args += ["--seed", seed, "--n", n]
    rc, out = tool(*args)
    check(name, rc == 0, out.strip())


def case_producer_killed():
    redis = Redis("r1")
    redis.start()
    spool = os.path.join(tmp, "s1")
    n = 20000
    # The ack file is never written: the replay sends everything again.
    p = spawn([TOOL, "produce", "--spool", spool, "--redis-port", str(redis.port),
               "--seed", "1", "--n", str(n), "--hold", "--ack-interval-ms", "3600000"],
              stdout=subprocess.PIPE)
    wait_line(p, "spooled")
    p.kill()
    p.wait()
    check("1 producer killed by SIGKILL", p.returncode == -signal.SIGKILL)
    rc, out = tool("replay", "--spool", spool, "--redis-port", redis.port)
    check("1 replay", rc == 0, out.strip().splitlines()[-1] if out else "")
    verify("1 exact after the replay", redis, [(1, n)])
    redis.kill()


def case_redis_killed():
    redis = Redis("r2")
    redis.start()
    spool = os.path.join(tmp, "s2")
    n = 60000
    p = spawn([TOOL, "produce", "--spool", spool, "--redis-port", str(redis.port),
               "--seed", "2", "--n", str(n), "--rate", "15000"], stdout=subprocess.PIPE)
    deadline = time.time() + DEADLINE
    at_kill = -1
    while time.time() < deadline:
        at_kill = redis.xlen()
        if at_kill >= n // 10:
            break
        time.sleep(0.01)
    redis.kill()
    check("2 redis killed in the middle of the flush", 0 < at_kill < n,
          "(XLEN %d of %d at the kill)" % (at_kill, n))
    time.sleep(0.5)
    redis.start()
    out = p.communicate(timeout=DEADLINE)[0].decode()
    check("2 producer finished", p.returncode == 0, out.strip().splitlines()[-1] if out else "")
    verify("2 exact after the restart", redis, [(2, n)])
    redis.kill()


def case_both_down():
    redis = Redis("r3")  # not started yet: the port is known, nobody listens
    spool = os.path.join(tmp, "s3")
    n = 15000
    p = spawn([TOOL, "produce", "--spool", spool, "--redis-port", str(redis.port),
               "--seed", "3", "--n", str(n), "--hold"], stdout=subprocess.PIPE)
    wait_line(p, "spooled")
    p.kill()
    p.wait()
    redis.start()
    rc, out = tool("replay", "--spool", spool, "--redis-port", redis.port)
    check("3 replay after Redis came up", rc == 0, out.strip().splitlines()[-1] if out else "")
    verify("3 exact", redis, [(3, n)])
    redis.kill()


def case_replay_killed():
    redis = Redis("r4")
    spool = os.path.join(tmp, "s4")
    n = 150000
    rc, out = tool("produce", "--spool", spool, "--seed", "4", "--n", n)  # no Redis: spool only
    check("4 spooled without Redis", rc == 0, out.strip().splitlines()[-1] if out else "")
    redis.start()
    p = spawn([TOOL, "replay", "--spool", spool, "--redis-port", str(redis.port)],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + DEADLINE
    at_kill = -1
    while time.time() < deadline and p.poll() is None:
        at_kill = redis.xlen()
        if at_kill >= n // 4:
            break
        time.sleep(0.005)
    p.kill()
    p.wait()
    check("4 replay killed halfway", 0 < at_kill < n, "(XLEN %d of %d)" % (at_kill, n))
    rc, out = tool("replay", "--spool", spool, "--redis-port", redis.port)
    check("4 second replay", rc == 0, out.strip().splitlines()[-1] if out else "")
    verify("4 exact", redis, [(4, n)])
    redis.kill()


def main():
    if not (shutil.which("redis-server") or any(
            os.access(p, os.X_OK) for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server"))):
        print("1..0 # SKIP redis-server is not installed")
        sys.exit(77)
    case_producer_killed()
    case_redis_killed()
    case_both_down()
    case_replay_killed()
    if failures:
        sys.exit("failed: " + ", ".join(failures))
    print("all cases passed")


if __name__ == "__main__":
    main()
