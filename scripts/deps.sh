#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages sipring needs, only those missing.
#   scripts/deps.sh run    what building and running needs
#   scripts/deps.sh test   that, plus what the tests, fuzzers and benchmarks need
set -euo pipefail

run_pkgs=(gcc pkg-config meson ninja-build libcjson-dev libhiredis-dev liburing-dev
	  libmicrohttpd-dev libyaml-dev libssl-dev libc-ares-dev)
test_pkgs=(libcriterion-dev clang libclang-rt-14-dev clang-format valgrind
	   libosip2-dev libsofia-sip-ua-dev python3 redis-server redis-tools
	   sip-tester kamailio tshark python3-dnslib)

want=("${run_pkgs[@]}")
[ "${1:-run}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
