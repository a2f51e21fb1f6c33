#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Registrar benchmark: REGISTER with digest authentication over UDP on
# loopback, completed registrations per second (REGISTER -> 401, REGISTER with
# Authorization -> 200, distinct users), for
#   kamailio  Kamailio (Debian) as in shared/anchors/kamailio with -A WITH_AUTH:
#             registrar + usrloc in memory (db_mode=0), auth with a fixed secret
#             and per-user passwords in an htable loaded from db_text (no SQL
#             server), -x fm -m 4096 -M 16 (bench/registrar/kamailio-registrar.cfg)
#   sipring   build-bench/sipring with registrar.authenticate, the accounts file,
#             auth.algorithms [MD5] (Kamailio offers MD5 only: the same work)
# both driven by the same load generator, sipring-load --scenario register-auth,
# with the same number of workers, in the same run.
#
# Usage: bench/registrar/run.sh [kamailio] [sipring]     (default: both)
#
# Users u100000 .. u100000+USERS-1; the password of user n is "pw" and 8 hex
# digits of (n-100000)*2654435761 mod 2^32 (sipring-load's rule, and the
# anchor's gen_users.sh). They are written into LOG_DIR/gen/: db/subscriber
# (db_text, for Kamailio's htable) and accounts.yaml (sipring). sipring-load
# registers them in turn: each REGISTER refreshes the user's one binding
# (Expires 3600, the same Call-ID and Contact, CSeq rising) once all have
# registered once. A fresh server is started for every run (no bindings).
#
# For each target and mode:
#   max           sipring-load --rate 0: WINDOW registrations outstanding per
#                 thread, as fast as they complete, for MAX_S seconds (in mode
#                 pin1 sipring-load polls its ring, --busy, on its own core).
#   zero failure  (after the max of every target) an ascending search over
#                 fractions (STEPS) of the max figure, TRIAL_S-second runs at
#                 --rate R --retransmit, stopping at the first that fails; then a
#                 CONFIRM_S-second run at the best rate that passed (stepping down
#                 if it fails). A run passes when no registration failed (every
#                 chain got 401 then 200: sipring-load exits 0) or was lost,
#                 retransmissions are at most RETRANS_PCT % of the requests,
#                 completed/s >= 95% of R, and the median registration took at
#                 most P50_MS: a server that falls behind builds a queue that
#                 grows through the run, and its completions in the grace after
#                 the sending still count in completed/s (a 10 s run at 104% of
#                 what the server does passes the 95% rule with a p50 of 400 ms).
# Server CPU is utime+stime of its processes over the run: % of one core, and
# microseconds per completed registration (2 requests, 2 answers).
#
# Modes (MODES, default "pin1"):
#   pin1  the server on CPU 0 with 1 worker / 1 child, sipring-load on CPU 1
#         with 1 thread: each side a core of its own, the figure is one core of
#         server (the anchor found Kamailio fastest with 1 child or pinned).
#   n2    2 workers / 2 children, 2 sipring-load threads, nothing pinned.
#
# Environment (defaults in brackets):
#   PORT [5076]        kamailio on PORT, sipring on PORT+1 (UDP, 127.0.0.1)
#   MODES [pin1]       "pin1 n2" for both
#   USERS [10000]      distinct users
#   MAX_S [5] TRIAL_S [3] CONFIRM_S [10] CONFIRM_TRIES [4]
#   STEPS ["0.5 0.6 0.7 0.8 0.85 0.9 0.95 1.0 1.1 1.2"]   fractions of the max figure
#   RETRANS_PCT [0.1] P50_MS [50] WINDOW [64] SOCKETS [4]
#   SCENARIO [register-auth]   register: no authentication (Kamailio without
#                      WITH_AUTH, sipring registrar.authenticate false)
#   LOAD_ARGS [""]     more sipring-load options for every run
#   RT [0]             1: servers and sipring-load SCHED_FIFO (chrt -f 1), for a
#                      busy machine (see bench/daemon/run.sh and docs/benchmarks.md)
#   BUILD_DIR [build-bench]  SIPRING [BUILD_DIR/sipring]
#   INSTALL [1]        apt-get what is missing;  BUILD [1]  (re)build BUILD_DIR
#   LOG_DIR [BUILD_DIR/bench-registrar]  generated users, per-run logs and JSON
# Output: progress on stderr; on stdout one line per figure,
#   registrar mode=pin1 target=kamailio max_per_s=... / zero_failure_per_s=...
# and a table per mode with the ratio sipring/kamailio.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
HERE="$ROOT/bench/registrar"

PORT="${PORT:-5076}"
MODES="${MODES:-pin1}"
USERS="${USERS:-10000}"
MAX_S="${MAX_S:-5}"
TRIAL_S="${TRIAL_S:-3}"
CONFIRM_S="${CONFIRM_S:-10}"
CONFIRM_TRIES="${CONFIRM_TRIES:-4}"
STEPS="${STEPS:-0.5 0.6 0.7 0.8 0.85 0.9 0.95 1.0 1.1 1.2}"
RETRANS_PCT="${RETRANS_PCT:-0.1}"
P50_MS="${P50_MS:-50}"
WINDOW="${WINDOW:-64}"
SOCKETS="${SOCKETS:-4}"
SCENARIO="${SCENARIO:-register-auth}"
INSTALL="${INSTALL:-1}"
RT="${RT:-0}"
PRIO=""
[[ "$RT" == 1 ]] && PRIO="chrt -f 1"
BUILD="${BUILD:-1}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
SIPRING="${SIPRING:-$BUILD_DIR/sipring}"
LOG_DIR="${LOG_DIR:-$BUILD_DIR/bench-registrar}"
LOAD="$BUILD_DIR/bench/load/sipring-load"
GEN="$LOG_DIR/gen"
CLK_TCK="$(getconf CLK_TCK)"
case "$SCENARIO" in
register-auth) AUTH=1 ;;
register) AUTH=0 ;;
*) echo "SCENARIO is register-auth or register" >&2; exit 2 ;;
esac

SPID="" # the server under test
log() { echo "[$(date +%T)] $*" >&2; }

cleanup() {
	if [[ -n "$SPID" ]] && kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
	fi
	SPID=""
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- setup
install_pkgs() {
	local -A need=([kamailio]=kamailio [kamcmd]=kamailio [meson]=meson [ninja]=ninja-build
		[gcc]=gcc [pkg-config]=pkg-config [ss]=iproute2 [taskset]=util-linux
		[/usr/bin/time]=time)
	local b pkgs=()
	for b in "${!need[@]}"; do
		command -v "$b" >/dev/null 2>&1 || pkgs+=("${need[$b]}")
	done
	local p
	for p in liburing-dev libssl-dev libyaml-dev; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			pkgs+=("$p")
	done
	[[ ${#pkgs[@]} == 0 ]] && return 0
	[[ "$INSTALL" == 1 ]] || { echo "missing packages: ${pkgs[*]} (INSTALL=0)" >&2; exit 1; }
	log "installing: ${pkgs[*]}"
	local sudo=""
	[[ "$(id -u)" -ne 0 ]] && sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
}

build() {
	[[ "$BUILD" == 1 ]] || return 0
	scripts/deps.sh run
	[[ -d "$BUILD_DIR" ]] || meson setup "$BUILD_DIR" --buildtype=release -Dtests=disabled >&2
	ninja -C "$BUILD_DIR" bench/load/sipring-load >&2
	# the daemon is built when the tree has it; a failure there only skips it
	if [[ -f core/main.c ]] && ! ninja -C "$BUILD_DIR" sipring >"$LOG_DIR/build-sipring.log" 2>&1; then
		log "building sipring failed (see $LOG_DIR/build-sipring.log): it is skipped"
	fi
}

check_ports() {
	local p
	for p in "$PORT" $((PORT + 1)); do
		if [[ -n "$(ss -Hlun "sport = :$p" 2>/dev/null)" ]]; then
			echo "UDP port $p is already in use (set PORT=...):" >&2
			ss -lunp "sport = :$p" >&2
			exit 1
		fi
	done
}

# the users, in Kamailio's db_text table and sipring's accounts file
gen_users() {
	mkdir -p "$GEN/db"
	awk -v n="$USERS" -v db="$GEN/db/subscriber" -v acc="$GEN/accounts.yaml" 'BEGIN {
		print "username(str) password(str)" > db
		print "# written by bench/registrar/run.sh: the users of sipring-load --users " n > acc
		print "accounts:" > acc
		for (i = 0; i < n; i++) {
			u = sprintf("u%06d", 100000 + i)
			p = sprintf("pw%08x", (i * 2654435761) % 4294967296)
			print u ":" p > db
			printf "  - user: \"%s\"\n    domain: \"127.0.0.1\"\n    password: \"%s\"\n", u, p > acc
		}
	}'
	printf 'table_name(str) table_version(int)\nsubscriber:7\n' >"$GEN/db/version"
}

# ---------------------------------------------------------------- servers
set_mode() {
	case "$1" in
	pin1)
		SRV_N=1; SRV_PIN="taskset -c 0 $PRIO"; LOAD_PIN="taskset -c 1 $PRIO"; LOAD_T=1
		MAX_EXTRA=(--busy)
		MODE_TEXT="server on CPU 0 (1 worker / 1 child), sipring-load on CPU 1 (1 thread x $SOCKETS sockets)"
		;;
	n2)
		SRV_N=2; SRV_PIN="$PRIO"; LOAD_PIN="$PRIO"; LOAD_T=2
		MAX_EXTRA=()
		MODE_TEXT="server 2 workers / 2 children, sipring-load 2 threads x $SOCKETS sockets, not pinned"
		;;
	*) echo "unknown mode $1 (pin1 | n2)" >&2; exit 2 ;;
	esac
}

target_port() {
	case "$1" in kamailio) echo "$PORT" ;; sipring) echo $((PORT + 1)) ;; esac
}

# answers a request (any final answer: OPTIONS gets a 405 from the Kamailio
# config) within ~5 s? Registers nobody.
wait_ready() { # port
	local i
	for i in $(seq 1 50); do
		if "$LOAD" --count 1 --grace 100 --json "127.0.0.1:$1" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

sipring_conf() { # dir port
	local authn=false
	[[ "$AUTH" == 1 ]] && authn=true
	cat >"$1/sipring.yaml" <<-EOF
		# written by bench/registrar/run.sh
		node:
		  workers: $SRV_N
		  pin_workers: false
		log:
		  level: warning
		sip:
		  listen: ["udp:127.0.0.1:$2"]
		  domains: ["127.0.0.1"]
		registrar:
		  enabled: true
		  authenticate: $authn
		  max_contacts: 10
		  replace: true
		auth:
		  realm: "127.0.0.1"
		  algorithms: ["MD5"]
		accounts:
		  file: $GEN/accounts.yaml
		http:
		  listen: "off"
		cdr:
		  spool_dir: $1/spool
	EOF
}

start_server() { # target name
	local target="$1" name="$2" port
	port=$(target_port "$target")
	case "$target" in
	sipring)
		local dir="$LOG_DIR/sipring-$SRV_N"
		mkdir -p "$dir/spool"
		sipring_conf "$dir" "$port"
		(cd "$dir" && exec $SRV_PIN "$SIPRING" -c sipring.yaml) \
			>"$LOG_DIR/$name.server.log" 2>&1 &
		;;
	kamailio)
		local auth=()
		[[ "$AUTH" == 1 ]] && auth=(-A WITH_AUTH)
		mkdir -p "$LOG_DIR/kamailio-run"
		rm -f "$LOG_DIR/kamailio-run/ctl"
		$SRV_PIN kamailio -f "$HERE/kamailio-registrar.cfg" -DD -E -x fm -m 4096 -M 16 \
			-Y "$LOG_DIR/kamailio-run" -A "SIP_PORT=$port" -A "CHILDREN=$SRV_N" \
			-A "DBURL=\"text://$GEN/db\"" -A "CTL_SOCK=\"unix:$LOG_DIR/kamailio-run/ctl\"" \
			"${auth[@]}" >"$LOG_DIR/$name.server.log" 2>&1 &
		;;
	esac
	SPID=$!
	if ! wait_ready "$port"; then
		log "$target did not answer on 127.0.0.1:$port, see $LOG_DIR/$name.server.log"
		tail -5 "$LOG_DIR/$name.server.log" >&2 || true
		cleanup
		return 1
	fi
}

server_pids() { echo "$SPID"; ps -o pid= --ppid "$SPID" 2>/dev/null | tr -d ' ' || true; }

cpu_ticks() { # pids...: "utime stime" summed over them, all threads
	local u=0 s=0 p line
	for p in "$@"; do
		line="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
		line="${line##*) }"
		# shellcheck disable=SC2086
		set -- $line
		u=$((u + ${12}))
		s=$((s + ${13}))
	done
	echo "$u $s"
}

# drops counted on the server's sockets (bound to 127.0.0.1:$1): the last column of /proc/net/udp
sock_drops() {
	local hex
	hex=$(printf '0100007F:%04X' "$1")
	awk -v a="$hex" '$2 == a { d += $NF } END { print d + 0 }' /proc/net/udp
}

jget() { # key json-file: a number or string field of the JSON result line
	grep -o "\"$1\":[^,}]*" "$2" | head -1 | cut -d: -f2 | tr -d '"'
}

# ---------------------------------------------------------------- one run
# one_run target tag args... -> R_* globals
one_run() {
	local target="$1" tag="$2"; shift 2
	local name="$MODE.$target.$tag" port
	port=$(target_port "$target")
	R_OK=0; R_PASS=0
	start_server "$target" "$name" || return 1
	local -a pids; mapfile -t pids < <(server_pids)
	local s0 s1 rc=0 w0 w1 u0 k0 u1 k1
	s0=$(sock_drops "$port")
	read -r u0 k0 <<<"$(cpu_ticks "${pids[@]}")"
	w0=$(date +%s.%N)
	# shellcheck disable=SC2086
	$LOAD_PIN /usr/bin/time -f "%U %S" -o "$LOG_DIR/$name.time" \
		"$LOAD" --scenario "$SCENARIO" --users "$USERS" --threads "$LOAD_T" \
		--sockets "$SOCKETS" --json ${LOAD_ARGS:-} "$@" \
		"127.0.0.1:$port" >"$LOG_DIR/$name.json" 2>"$LOG_DIR/$name.txt" || rc=$?
	read -r u1 k1 <<<"$(cpu_ticks "${pids[@]}")"
	w1=$(date +%s.%N)
	s1=$(sock_drops "$port")
	R_SDROPS=$((s1 - s0))
	R_BOUND="-"
	if [[ "$target" == kamailio ]]; then
		# contacts bound at the end: min(USERS, completed) when all is well
		R_BOUND=$(kamcmd -s "$LOG_DIR/kamailio-run/ctl" stats.get_statistics usrloc: 2>/dev/null |
			awk '$1 == "usrloc:location_contacts" { print $3 }') || true
		[[ -n "$R_BOUND" ]] || R_BOUND="?"
	fi
	cleanup
	sleep 0.5
	local f="$LOG_DIR/$name.json"
	if [[ ! -s "$f" ]]; then
		log "$name: sipring-load failed (rc=$rc), see $LOG_DIR/$name.txt"
		return 0
	fi
	R_OK=1; R_RC=$rc
	R_SENT=$(jget sent "$f"); R_DONE=$(jget completed "$f"); R_FAILED=$(jget failed "$f")
	R_LOST=$(jget lost "$f"); R_CHAL=$(jget challenges "$f")
	R_RETX=$(jget retransmissions "$f"); R_RATE=$(jget completed_per_s "$f")
	R_P50=$(jget p50 "$f"); R_P99=$(jget p99 "$f"); R_P999=$(jget p99_9 "$f")
	R_CODES=$(grep -o '"codes":{[^}]*}' "$f" | cut -d: -f2- | tr -d '"{}')
	R_RATE=${R_RATE%.*}
	local wall
	wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')
	# % of one core over the whole sipring-load run (sending and grace)
	local du=$((u1 - u0)) dk=$((k1 - k0))
	R_CPU=$(awk -v d=$((du + dk)) -v hz="$CLK_TCK" -v w="$wall" \
		'BEGIN { if (w > 0) printf "%.0f", 100 * d / hz / w; else print 0 }')
	# per completed registration: all, and user / kernel (on loopback a send also
	# runs the receiving socket's softirq: some of the peer's kernel work)
	R_US=$(awk -v d=$((du + dk)) -v hz="$CLK_TCK" -v n="$R_DONE" \
		'BEGIN { if (n > 0) printf "%.1f", 1e6 * d / hz / n; else print 0 }')
	R_UUS=$(awk -v d="$du" -v hz="$CLK_TCK" -v n="$R_DONE" \
		'BEGIN { if (n > 0) printf "%.1f", 1e6 * d / hz / n; else print 0 }')
	R_KUS=$(awk -v d="$dk" -v hz="$CLK_TCK" -v n="$R_DONE" \
		'BEGIN { if (n > 0) printf "%.1f", 1e6 * d / hz / n; else print 0 }')
	local lu ls
	read -r lu ls < <(tail -n 1 "$LOG_DIR/$name.time" 2>/dev/null) || { lu=0; ls=0; }
	R_LCPU=$(awk -v u="${lu:-0}" -v s="${ls:-0}" -v w="$wall" \
		'BEGIN { if (w > 0) printf "%.0f", 100 * (u + s) / w; else print 0 }' 2>/dev/null || echo 0)
	R_LUS=$(awk -v u="${lu:-0}" -v s="${ls:-0}" -v n="$R_DONE" \
		'BEGIN { if (n > 0) printf "%.1f", 1e6 * (u + s) / n; else print 0 }' 2>/dev/null || echo 0)
	log "$name: chains=$R_SENT completed=$R_DONE failed=$R_FAILED lost=$R_LOST challenges=$R_CHAL retrans=$R_RETX codes={$R_CODES} completed/s=$R_RATE p50=${R_P50}us p99=${R_P99}us server_cpu=${R_CPU}% (${R_US}us/reg: user ${R_UUS} sys ${R_KUS}) load_cpu=${R_LCPU}% (${R_LUS}us/reg) drops at the server=$R_SDROPS bound=$R_BOUND"
}

# zero-failure verdict of the last run at rate $1
judge() {
	R_PASS=0
	[[ "$R_OK" == 1 && "$R_RC" == 0 && "$R_LOST" == 0 && "$R_FAILED" == 0 ]] || return 0
	awk -v x="$R_RETX" -v n="$((R_SENT + R_CHAL))" -v p="$RETRANS_PCT" \
		'BEGIN { exit !(x <= n * p / 100) }' || return 0
	awk -v a="$R_RATE" -v r="$1" 'BEGIN { exit !(a >= 0.95 * r) }' || return 0
	awk -v p="$R_P50" -v m="$P50_MS" 'BEGIN { exit !(p <= 1000 * m) }' || return 0
	R_PASS=1
}

round_rate() { awk -v m="$1" -v f="$2" 'BEGIN { r = int(m * f / 500 + 0.5) * 500; if (r < 500) r = 500; print r }'; }

# does the target answer REGISTER as the scenario wants (401 then 200)?
probe() { # target
	local name="$MODE.$1.probe"
	one_run "$1" probe --count 20 --window 1 --grace 1000 || return 1
	if [[ "$R_OK" != 1 || "$R_RC" != 0 ]]; then
		log "$1 does not answer $SCENARIO as expected (codes: {$R_CODES}, challenges $R_CHAL, failed $R_FAILED, lost $R_LOST), see $LOG_DIR/$name.txt"
		return 1
	fi
}

# ---------------------------------------------------------------- one target
measure_max() { # target
	local target="$1" key="$MODE.$1"
	if [[ "$target" == sipring && ! -x "$SIPRING" ]]; then
		log "sipring skipped: $SIPRING does not exist (yet)"
		RES_MAX[$key]="skipped"; RES_ZF[$key]="skipped"
		echo "registrar mode=$MODE target=sipring status=SKIPPED reason=no_binary"
		return
	fi
	if ! probe "$target"; then
		RES_MAX[$key]="failed"; RES_ZF[$key]="failed"
		echo "registrar mode=$MODE target=$target status=FAILED reason=does_not_answer_$SCENARIO codes={$R_CODES}"
		return
	fi
	if ! one_run "$target" max --rate 0 --window "$WINDOW" --duration "$MAX_S" "${MAX_EXTRA[@]}" ||
		[[ "$R_OK" != 1 ]]; then
		RES_MAX[$key]="failed"; RES_ZF[$key]="failed"
		echo "registrar mode=$MODE target=$target status=FAILED reason=max_run"
		return
	fi
	local max=$R_RATE
	RES_MAX[$key]="$max"; RES_MAXLINE[$key]="$R_FAILED $R_LOST $R_P50 $R_P99 $R_CPU $R_US $R_UUS $R_LCPU"
	echo "registrar mode=$MODE target=$target max_per_s=$max failed=$R_FAILED lost=$R_LOST p50_us=$R_P50 p99_us=$R_P99 p999_us=$R_P999 server_cpu_pct=$R_CPU server_us_per_reg=$R_US server_user_us_per_reg=$R_UUS server_sys_us_per_reg=$R_KUS load_cpu_pct=$R_LCPU load_us_per_reg=$R_LUS"
}

measure_zero_failure() { # target: an ascending search at fractions of its max, then confirmation
	local target="$1" key="$MODE.$1" max
	max=${RES_MAX[$key]:-0}
	[[ "$max" =~ ^[0-9]+$ ]] || return 0
	if [[ "$max" -lt 500 ]]; then
		RES_ZF[$key]="0"
		return
	fi
	local -a passed=()
	local f r
	for f in $STEPS; do
		r=$(round_rate "$max" "$f")
		[[ ${#passed[@]} -gt 0 && "$r" -le "${passed[-1]}" ]] && continue
		one_run "$target" "trial-r$r" --rate "$r" --retransmit --duration "$TRIAL_S" || break
		judge "$r"
		[[ "$R_PASS" == 1 ]] || break
		passed+=("$r")
	done
	if [[ ${#passed[@]} == 0 ]]; then # below half the max: walk down
		for f in 0.4 0.3 0.2 0.1; do
			r=$(round_rate "$max" "$f")
			one_run "$target" "trial-r$r" --rate "$r" --retransmit --duration "$TRIAL_S" || break
			judge "$r"
			if [[ "$R_PASS" == 1 ]]; then passed+=("$r"); break; fi
		done
	fi
	local i ok=0
	for ((i = ${#passed[@]} - 1; i >= 0 && i >= ${#passed[@]} - CONFIRM_TRIES; i--)); do
		r=${passed[$i]}
		one_run "$target" "confirm-r$r" --rate "$r" --retransmit --duration "$CONFIRM_S" || break
		judge "$r"
		if [[ "$R_PASS" == 1 ]]; then ok=1; break; fi
	done
	if [[ "$ok" == 1 ]]; then
		RES_ZF[$key]="$R_RATE"; RES_ZFLINE[$key]="$r $R_RETX $R_P50 $R_P99 $R_CPU $R_US $R_UUS $R_LCPU"
		echo "registrar mode=$MODE target=$target zero_failure_per_s=$R_RATE target_rate=$r duration_s=$CONFIRM_S failed=0 lost=0 retrans=$R_RETX p50_us=$R_P50 p99_us=$R_P99 p999_us=$R_P999 server_cpu_pct=$R_CPU server_us_per_reg=$R_US server_user_us_per_reg=$R_UUS server_sys_us_per_reg=$R_KUS load_cpu_pct=$R_LCPU load_us_per_reg=$R_LUS status=ok"
	else
		RES_ZF[$key]="not confirmed"
		echo "registrar mode=$MODE target=$target zero_failure_per_s=0 status=NOT_CONFIRMED"
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

table() { # mode
	local m="$1" t
	printf '\n== mode %s: %s; %s, %s users\n' "$m" "$MODE_TEXT" "$SCENARIO" "$USERS"
	printf '(load average before/after the runs: %s / %s; RT=%s)\n' \
		"$LOADAVG0" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RT"
	printf '%-9s %8s %5s %8s %8s %5s %6s %6s %5s | %9s %7s %7s %8s %5s %6s %6s %5s\n' target \
		"max/s" fail "p50 us" "p99 us" "cpu%" "us/reg" "user" "load%" "0-fail/s" "at rate" \
		retrans "p99 us" "cpu%" "us/reg" "user" "load%"
	for t in "${TARGETS[@]}"; do
		local k="$m.$t" a=() b=()
		read -r -a a <<<"${RES_MAXLINE[$k]:-- - - - - - - -}"
		read -r -a b <<<"${RES_ZFLINE[$k]:-- - - - - - - -}"
		printf '%-9s %8s %5s %8s %8s %5s %6s %6s %5s | %9s %7s %7s %8s %5s %6s %6s %5s\n' "$t" \
			"${RES_MAX[$k]:--}" "$((${a[0]/-/0} + ${a[1]/-/0}))" "${a[2]}" "${a[3]}" "${a[4]}" \
			"${a[5]}" "${a[6]}" "${a[7]}" "${RES_ZF[$k]:--}" "${b[0]}" "${b[1]}" "${b[3]}" \
			"${b[4]}" "${b[5]}" "${b[6]}" "${b[7]}"
	done
	printf 'sipring/kamailio: zero failure %s, max %s   (goal >= 3 at zero failure)\n' \
		"$(ratio "${RES_ZF[$m.sipring]:-}" "${RES_ZF[$m.kamailio]:-}")" \
		"$(ratio "${RES_MAX[$m.sipring]:-}" "${RES_MAX[$m.kamailio]:-}")"
	local kt st ku su
	read -r _ _ _ _ _ kt ku _ <<<"${RES_MAXLINE[$m.kamailio]:-- - - - - - - -}"
	read -r _ _ _ _ _ st su _ <<<"${RES_MAXLINE[$m.sipring]:-- - - - - - - -}"
	printf 'kamailio/sipring CPU per registration at max: %s (user space only: %s)\n' \
		"$(ratio "$kt" "$st")" "$(ratio "$ku" "$su")"
}

# ---------------------------------------------------------------- main
TARGETS=("$@")
[[ ${#TARGETS[@]} == 0 ]] && TARGETS=(kamailio sipring)
for t in "${TARGETS[@]}"; do
	case "$t" in sipring | kamailio) ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
done
install_pkgs
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/*.json "$LOG_DIR"/*.txt "$LOG_DIR"/*.log "$LOG_DIR"/*.time
build
check_ports
gen_users
declare -A RES_MAX RES_ZF RES_MAXLINE RES_ZFLINE
LOADAVG0="$(cut -d' ' -f1-3 /proc/loadavg)"
log "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))  kernel: $(uname -r)  kamailio: $(kamailio -v 2>/dev/null | head -1 | sed 's/^version: //')"
[[ "$RT" == 1 ]] && log "RT=1: servers and sipring-load run SCHED_FIFO (chrt -f 1)"
log "load: sipring-load --scenario $SCENARIO --users $USERS --sockets $SOCKETS --window $WINDOW; max ${MAX_S}s, trials ${TRIAL_S}s at fractions ($STEPS) of max, confirmation ${CONFIRM_S}s"
for MODE in $MODES; do
	set_mode "$MODE"
	log "mode $MODE: $MODE_TEXT"
	for t in "${TARGETS[@]}"; do
		measure_max "$t"
	done
	for t in "${TARGETS[@]}"; do
		measure_zero_failure "$t"
	done
done
for MODE in $MODES; do
	set_mode "$MODE"
	table "$MODE"
done
rm -rf "$LOG_DIR/kamailio-run"
