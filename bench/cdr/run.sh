#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CDR export benchmark, as docs/redis.md reports it:
#   1. a release build in build-bench (bench/cdr/bench_cdr only), unless
#      BENCH_CDR names a bench_cdr already built;
#   2. a private redis-server: a free loopback port, a temporary directory, no
#      persistence; stopped and removed on exit, whatever happens;
#   3. bench_cdr on it with --flushall, N CDRs (default 1000000) and the
#      arguments given (e.g. --batch 512 --inflight 64 --producers 2 --mode export).
# Exit status 77 when redis-server is not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v redis-server >/dev/null; then
	echo "bench/cdr: redis-server is not installed: skipped"
	exit 77
fi
if [ -n "${BENCH_CDR:-}" ]; then
	bench=$BENCH_CDR
else
	build=build-bench
	if [ -d "$build" ]; then
		meson configure "$build" -Dbuildtype=release -Dbench=true -Dtests=disabled >/dev/null
	else
		meson setup "$build" --buildtype=release -Dbench=true -Dtests=disabled >/dev/null
	fi
	ninja -C "$build" bench/cdr/bench_cdr >/dev/null
	bench=$build/bench/cdr/bench_cdr
fi

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no \
	--daemonize no >"$tmp/redis.log" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
	if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
		break
	fi
	sleep 0.02
done

echo "== $(uname -m), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(redis-server --version | cut -d' ' -f1-3)"
TMPDIR=$tmp "$bench" --redis-port "$port" --flushall --n "${N:-1000000}" "$@"
