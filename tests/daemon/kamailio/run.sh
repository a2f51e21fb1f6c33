#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the test registrar (registrar.cfg) by hand, in the foreground, logging to
# stderr; Ctrl-C stops it. The tests start it through harness.Kamailio instead.
#
#   tests/daemon/kamailio/run.sh DIR PORT [401|407] [USER:PASSWORD ...]
#
# DIR (created) gets db/subscriber, db/version and the ctl socket; the
# registrar listens on 127.0.0.1:PORT, UDP and TCP. Extra -A defines go in
# KAMAILIO_DEFINES, e.g. KAMAILIO_DEFINES='ALGORITHM="SHA-256"'.
# Then, from another shell:
#   kamcmd -s unix:DIR/ctl ul.dump
#   kamcmd -s unix:DIR/ctl ul.lookup location USER@127.0.0.1
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 DIR PORT [401|407] [USER:PASSWORD ...]" >&2
	exit 2
fi
dir=$(mkdir -p "$1" && cd "$1" && pwd)
port=$2
shift 2
mode=401
case "${1:-}" in
401|407) mode=$1; shift ;;
esac
cfg=$(cd "$(dirname "$0")" && pwd)/registrar.cfg
mkdir -p "$dir/db"
echo 'username(str) password(str)' > "$dir/db/subscriber"
for up in "$@"; do
	# db_text: the first ':' separates the columns; a ':' in the password is escaped
	user=${up%%:*}
	pw=$(printf '%s' "${up#*:}" | sed 's/\\/\\\\/g; s/:/\\:/g')
	printf '%s:%s\n' "$user" "$pw" >> "$dir/db/subscriber"
done
printf 'table_name(str) table_version(int)\nsubscriber:7\n' > "$dir/db/version"
set -- -f "$cfg" -DD -E -Y "$dir" -w "$dir" -m 64 -M 8 \
	-A "SIP_PORT=$port" -A "CTL_SOCK=\"unix:$dir/ctl\"" -A "DBURL=\"text://$dir/db\""
if [ "$mode" = 407 ]; then
	set -- "$@" -A WITH_407
fi
if [ -n "${KAMAILIO_DEFINES:-}" ]; then
	set -- "$@" -A "$KAMAILIO_DEFINES"
fi
exec kamailio "$@"
