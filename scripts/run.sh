#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds sipring and runs its main job. Until the daemon exists that is the
# parser: `sipringctl parse` on the example INVITE, printed as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
[ -d build ] || meson setup build --buildtype=release -Dtests=disabled
ninja -C build
exec build/cli/sipringctl parse "${1:-examples/invite.sip}"
