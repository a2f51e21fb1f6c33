#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The parser benchmark, as docs/benchmarks.md reports it:
#   1. a release build in build-bench (bench_parse only),
#   2. bench_parse: sipring, libosip2 and sofia-sip on bench/corpus/, the table,
#   3. callgrind: instructions per INVITE for sipring at each depth, from the
#      difference between N and 2N parses (start-up and corpus loading cancel).
# Arguments go to bench_parse (e.g. --reps 51 --cpu 1). Environment:
#   CALLGRIND_N  parses in the first callgrind run (default 10000)
#   PROFILE=1    also print callgrind_annotate's top functions for each depth
set -euo pipefail
cd "$(dirname "$0")/.."

# Quiet unless it fails.
quiet() {
	local out
	if ! out=$("$@" 2>&1); then
		echo "$out"
		return 1
	fi
}

build=build-bench
if [ -d "$build" ]; then
	quiet meson configure "$build" -Dbuildtype=release -Dbench=true -Dtests=disabled
else
	quiet meson setup "$build" --buildtype=release -Dbench=true -Dtests=disabled
fi
quiet ninja -C "$build" bench/bench_parse
bench=$build/bench/bench_parse

echo "== $(uname -m), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "== $bench $*"
"$bench" "$@"

if ! command -v valgrind >/dev/null; then
	echo "== callgrind: valgrind not installed, skipped"
	exit 0
fi
n=${CALLGRIND_N:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions of one callgrind run of bench_parse --callgrind-invite.
instructions() {
	local depth=$1 count=$2 out=$tmp/callgrind.out.$1.$2
	if ! valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$out" \
		"$bench" --callgrind-invite "$count" --depth "$depth" >"$out.log" 2>&1; then
		echo "callgrind: bench_parse --depth $depth failed:" >&2
		tail -3 "$out.log" >&2
		return 1
	fi
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

echo
echo "== callgrind: sipring, $(wc -c <bench/corpus/invite.sip)-octet INVITE, (Ir(2N) - Ir(N)) / N, N = $n"
for depth in index tags deep; do
	if ! one=$(instructions "$depth" "$n") || ! two=$(instructions "$depth" $((2 * n))); then
		continue
	fi
	case $depth in
	index) label="sr-index (sip_msg_parse)" ;;
	tags) label="sipring (+ top Via, tags, CSeq, Call-ID)" ;;
	deep) label="sr-deep (+ every typed header, URIs)" ;;
	esac
	awk -v l="$label" -v a="$one" -v b="$two" -v n="$n" \
		'BEGIN { printf "  %-40s %8.1f instructions/message\n", l, (b - a) / n }'
	if [ "${PROFILE:-0}" = 1 ]; then
		callgrind_annotate "$tmp/callgrind.out.$depth.$((2 * n))" 2>/dev/null |
			grep -E '^ *[0-9,]+ +\(' | grep -vE 'PROGRAM TOTALS|ld-linux|/elf/' | head -10 |
			sed 's/^/      /'
	fi
done
