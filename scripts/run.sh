#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds sipring and runs the daemon in the foreground on its embedded default,
# examples/sipring.yaml: SIP on 127.0.0.1:5060 (UDP and TCP), management on
# http://127.0.0.1:8080, CDR spool under var/; no Redis or other service.
# Another configuration: scripts/run.sh path/to/sipring.yaml. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
[ -d build ] || meson setup build --buildtype=release -Dtests=disabled
ninja -C build
exec build/sipring -c "${1:-examples/sipring.yaml}"
