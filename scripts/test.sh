#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds sipring and runs every test: formatting, the unit and conformance tests
# under ASan + UBSan, the benchmark smoke run, and each libFuzzer target for
# FUZZ_SECONDS (default 60). Installs what it needs (scripts/deps.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

fuzz_seconds=${FUZZ_SECONDS:-60}
status=0

echo "== format (clang-format --dry-run --Werror)"
if ! git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror; then
	echo "format: FAILED (run: git ls-files '*.c' '*.h' | xargs clang-format -i)"
	status=1
fi

echo "== unit and conformance tests (ASan + UBSan)"
[ -d build-test ] || meson setup build-test -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbench=true -Dtests=enabled
ninja -C build-test
meson test -C build-test --print-errorlogs || status=1

echo "== libFuzzer targets, ${fuzz_seconds}s each"
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=disabled \
	-Dbuildtype=debugoptimized
ninja -C build-fuzz
for t in build-fuzz/tests/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus/"${name#fuzz_}"/* "$corpus"/ 2>/dev/null || true
	if "$t" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -dict=tests/fuzz/sip.dict "$corpus" >"build-fuzz/$name.log" 2>&1; then
		echo "fuzz $name: ok ($(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "build-fuzz/$name.log" || true))"
	else
		echo "fuzz $name: FAILED, see build-fuzz/$name.log"
		tail -40 "build-fuzz/$name.log"
		status=1
	fi
	rm -rf "$corpus"
done

python3 scripts/summary.py build-test/meson-logs/testlog.json || status=1
exit $status
