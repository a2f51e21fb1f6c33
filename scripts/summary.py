#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Prints "N passed, N failed, N skipped" over the individual TAP subtests of a
# meson test log, so that one line sums up the whole run.
import json, sys, re
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get('stdout', '') or t.get('stdo', '') or ''
    subs = 0
    for l in out.splitlines():
        m = re.match(r'^(not ok|ok)\b(.*)$', l)
        if not m:
            continue
        subs += 1
        if m.group(1) == 'not ok':
            failed += 1
        elif '# SKIP' in m.group(2).upper():
            skipped += 1
        else:
            passed += 1
    if subs == 0:
        r = t.get('result')
        if r == 'OK':
            passed += 1
        elif r == 'SKIP':
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
