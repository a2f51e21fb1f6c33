#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Daemon benchmark: OPTIONS answered per second over UDP on loopback, by
#   echo      sipring-echo, the raw io_uring echo server: this machine's ceiling
#   sipring   build-bench/sipring answering OPTIONS
#   kamailio  Kamailio (Debian) with sl_send_reply("200","OK"), tuned like the
#             anchor in shared/anchors/kamailio (-x fm, 4 MiB buffers, no DNS/TCP)
# all driven by the same load generator, sipring-load, in the same run.
#
# Usage: bench/daemon/run.sh [echo] [sipring] [kamailio]     (default: all three)
#
# For each target and mode:
#   max        sipring-load --rate 0: a window of requests outstanding, as fast
#              as answers come back (MAX_S seconds). In mode pin1 sipring-load
#              polls its ring (--busy) on its own core: asleep, it would have to
#              be woken for every answer, and on a VM that wake-up (an IPI) is
#              paid by the server's send and would count as the server's CPU.
#   zero loss  (after the max figure of every target) an ascending search over
#              fractions (STEPS) of the max figure, with TRIAL_S-second runs at
#              --rate R --retransmit, stopping at the first
#              that fails; then a CONFIRM_S-second run at the best rate that passed
#              (stepping down if it fails). A run passes when nothing is lost
#              (every request got its final answer, retransmissions allowed, as the
#              anchor's "pass"), retransmissions are at most RETRANS_PCT % of the
#              requests (0.1: the anchor's "clean"), every answer is a 200, and
#              answered/s >= 95% of R.
# A fresh server is started for every run. Server CPU is utime+stime of its
# processes over the run (% of one core, and microseconds per answered request).
#
# Modes (MODES, default "pin1"):
#   pin1  the server on CPU 0 with 1 worker / 1 child / 1 thread, sipring-load on
#         CPU 1 with 1 thread: on 2 cores each side gets a core of its own, and
#         the figure is what one core of server does (the anchor found Kamailio
#         fastest so: children=1 or pinned).
#   n2    2 workers / 2 children / 2 threads for the server and 2 sipring-load
#         threads, nothing pinned: everything shares both cores.
#
# Environment (defaults in brackets):
#   PORT [5072]       echo on PORT, sipring on PORT+1, kamailio on PORT+2 (UDP)
#   MODES [pin1]      "pin1 n2" for both
#   MAX_S [5] TRIAL_S [3] CONFIRM_S [10] CONFIRM_TRIES [4]
#   STEPS ["0.5 0.6 0.7 0.8 0.85 0.9 0.95 1.0 1.1"]   fractions of the max figure
#   RETRANS_PCT [0.1] WINDOW [64] SOCKETS [4]
#   LOAD_ARGS [""]    more sipring-load options for every run (e.g. --busy)
#   RT [0]            1: run the server and sipring-load SCHED_FIFO (chrt -f 1). On a
#                     machine where other jobs keep the CPUs busy, a waking server or
#                     load generator otherwise waits for their time slices (ms), and
#                     the figures measure the other jobs, not the servers. The kernel's
#                     RT throttling (95%) still leaves the others 5% during max runs,
#                     but it also stops a 100%-busy RT task for 50 ms a second, and
#                     softirq work deferred to ksoftirqd waits behind RT tasks: use it
#                     only on a busy machine (docs/benchmarks.md).
#   SIPRING [build-bench/sipring]   the daemon binary
#   INSTALL [1]       apt-get what is missing;  BUILD [1]  (re)build build-bench
#   LOG_DIR [build-bench/bench-daemon]  per-run logs and JSON results
# Output: progress on stderr; on stdout one line per figure,
#   daemon mode=pin1 target=kamailio max_per_s=... zero_loss_per_s=... ...
# and a table per mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
HERE="$ROOT/bench/daemon"

PORT="${PORT:-5072}"
MODES="${MODES:-pin1}"
MAX_S="${MAX_S:-5}"
TRIAL_S="${TRIAL_S:-3}"
CONFIRM_S="${CONFIRM_S:-10}"
CONFIRM_TRIES="${CONFIRM_TRIES:-4}"
STEPS="${STEPS:-0.5 0.6 0.7 0.8 0.85 0.9 0.95 1.0 1.1}"
RETRANS_PCT="${RETRANS_PCT:-0.1}"
WINDOW="${WINDOW:-64}"
SOCKETS="${SOCKETS:-4}"
INSTALL="${INSTALL:-1}"
RT="${RT:-0}"
PRIO=""
[[ "$RT" == 1 ]] && PRIO="chrt -f 1"
BUILD="${BUILD:-1}"
BUILD_DIR="$ROOT/build-bench"
SIPRING="${SIPRING:-$BUILD_DIR/sipring}"
LOG_DIR="${LOG_DIR:-$BUILD_DIR/bench-daemon}"
LOAD="$BUILD_DIR/bench/load/sipring-load"
ECHO_BIN="$BUILD_DIR/bench/load/sipring-echo"
CLK_TCK="$(getconf CLK_TCK)"

SPID=""     # the server under test
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
	local -A need=([kamailio]=kamailio [meson]=meson [ninja]=ninja-build [gcc]=gcc
		[pkg-config]=pkg-config [ss]=iproute2 [taskset]=util-linux [/usr/bin/time]=time)
	local b pkgs=()
	for b in "${!need[@]}"; do
		command -v "$b" >/dev/null 2>&1 || pkgs+=("${need[$b]}")
	done
	dpkg-query -W -f='${Status}' liburing-dev 2>/dev/null | grep -q 'install ok installed' ||
		pkgs+=(liburing-dev)
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
	ninja -C "$BUILD_DIR" bench/load/sipring-load bench/load/sipring-echo >&2
	# the daemon is built when the tree has it; a failure there only skips it
	if [[ -f core/main.c ]] && ! ninja -C "$BUILD_DIR" sipring >"$LOG_DIR/build-sipring.log" 2>&1; then
		log "building sipring failed (see $LOG_DIR/build-sipring.log): it is skipped"
	fi
}

check_ports() {
	local p
	for p in "$PORT" $((PORT + 1)) $((PORT + 2)); do
		if [[ -n "$(ss -Hlun "sport = :$p" 2>/dev/null)" ]]; then
			echo "UDP port $p is already in use (set PORT=...):" >&2
			ss -lunp "sport = :$p" >&2
			exit 1
		fi
	done
}

# ---------------------------------------------------------------- servers
# mode -> SRV_N (workers/children/threads), SRV_PIN / LOAD_PIN (taskset prefixes), LOAD_T
set_mode() {
	case "$1" in
	pin1)
		SRV_N=1; SRV_PIN="taskset -c 0 $PRIO"; LOAD_PIN="taskset -c 1 $PRIO"; LOAD_T=1
		MAX_EXTRA=(--busy)
		MODE_TEXT="server on CPU 0 (1 worker / 1 child / 1 thread), sipring-load on CPU 1 (1 thread x $SOCKETS sockets)"
		;;
	n2)
		SRV_N=2; SRV_PIN="$PRIO"; LOAD_PIN="$PRIO"; LOAD_T=2
		MAX_EXTRA=()
		MODE_TEXT="server 2 workers / 2 children / 2 threads, sipring-load 2 threads x $SOCKETS sockets, not pinned"
		;;
	*) echo "unknown mode $1 (pin1 | n2)" >&2; exit 2 ;;
	esac
}

target_port() {
	case "$1" in echo) echo "$PORT" ;; sipring) echo $((PORT + 1)) ;; kamailio) echo $((PORT + 2)) ;; esac
}

# answers an OPTIONS (or, for echo, echoes it) within ~5 s?
wait_ready() { # target port
	local extra=() i
	[[ "$1" == echo ]] && extra=(--echo)
	for i in $(seq 1 50); do
		if "$LOAD" "${extra[@]}" --count 1 --grace 100 --json "127.0.0.1:$2" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start_server() { # target name
	local target="$1" name="$2" port
	port=$(target_port "$target")
	case "$target" in
	echo)
		$SRV_PIN "$ECHO_BIN" --port "$port" --threads "$SRV_N" >"$LOG_DIR/$name.server.log" 2>&1 &
		;;
	sipring)
		mkdir -p "$LOG_DIR/sipring-$SRV_N/spool"
		cat >"$LOG_DIR/sipring-$SRV_N/sipring.yaml" <<-EOF
			# written by bench/daemon/run.sh
			node:
			  workers: $SRV_N
			  pin_workers: false
			log:
			  level: warning
			sip:
			  listen: ["udp:127.0.0.1:$port"]
			http:
			  listen: "off"
			cdr:
			  spool_dir: $LOG_DIR/sipring-$SRV_N/spool
		EOF
		(cd "$LOG_DIR/sipring-$SRV_N" && exec $SRV_PIN "$SIPRING" -c sipring.yaml) \
			>"$LOG_DIR/$name.server.log" 2>&1 &
		;;
	kamailio)
		mkdir -p "$LOG_DIR/kamailio-run"
		$SRV_PIN kamailio -f "$HERE/kamailio-options.cfg" -DD -E -x fm -m 512 -M 16 \
			-Y "$LOG_DIR/kamailio-run" -A "SIP_PORT=$port" -A "CHILDREN=$SRV_N" \
			>"$LOG_DIR/$name.server.log" 2>&1 &
		;;
	esac
	SPID=$!
	if ! wait_ready "$target" "$port"; then
		log "$target did not answer on 127.0.0.1:$port, see $LOG_DIR/$name.server.log"
		tail -5 "$LOG_DIR/$name.server.log" >&2 || true
		cleanup
		return 1
	fi
}

server_pids() { echo "$SPID"; ps -o pid= --ppid "$SPID" 2>/dev/null | tr -d ' ' || true; }

cpu_ticks() { # pids...: utime+stime of each, all threads
	local t=0 p line
	for p in "$@"; do
		line="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
		line="${line##*) }"
		# shellcheck disable=SC2086
		set -- $line
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}

# datagrams the kernel dropped: "UDP receive-buffer overflows, per-CPU backlog drops"
udp_drops() {
	local rcvbuf backlog=0 line f
	rcvbuf=$(awk '/^Udp:/ { n++; if (n == 2) print $6 }' /proc/net/snmp)
	while read -r line; do
		read -r -a f <<<"$line"
		backlog=$((backlog + 16#${f[1]}))
	done </proc/net/softnet_stat
	echo "$rcvbuf $backlog"
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
# one_run target tag args... -> R_* globals (R_PASS=1 when the zero-loss test passes)
one_run() {
	local target="$1" tag="$2"; shift 2
	local name="$MODE.$target.$tag" port extra=()
	port=$(target_port "$target")
	[[ "$target" == echo ]] && extra=(--echo)
	R_OK=0; R_PASS=0
	start_server "$target" "$name" || return 1
	local -a pids; mapfile -t pids < <(server_pids)
	local t0 t1 s0 s1 rc=0
	local -a d0 d1
	read -r -a d0 <<<"$(udp_drops)"
	s0=$(sock_drops "$port")
	t0=$(cpu_ticks "${pids[@]}")
	local w0 w1
	w0=$(date +%s.%N)
	# shellcheck disable=SC2086
	$LOAD_PIN /usr/bin/time -f "%U %S" -o "$LOG_DIR/$name.time" \
		"$LOAD" "${extra[@]}" --threads "$LOAD_T" --sockets "$SOCKETS" --json ${LOAD_ARGS:-} "$@" \
		"127.0.0.1:$port" >"$LOG_DIR/$name.json" 2>"$LOG_DIR/$name.txt" || rc=$?
	t1=$(cpu_ticks "${pids[@]}")
	w1=$(date +%s.%N)
	read -r -a d1 <<<"$(udp_drops)"
	s1=$(sock_drops "$port")
	R_DROPS=$((d1[0] - d0[0])); R_BDROPS=$((d1[1] - d0[1])); R_SDROPS=$((s1 - s0))
	cleanup
	sleep 0.5
	local f="$LOG_DIR/$name.json"
	if [[ ! -s "$f" ]]; then
		log "$name: sipring-load failed (rc=$rc), see $LOG_DIR/$name.txt"
		return 0
	fi
	R_OK=1; R_RC=$rc
	R_SENT=$(jget sent "$f"); R_ANS=$(jget answered "$f"); R_LOST=$(jget lost "$f")
	R_RETX=$(jget retransmissions "$f"); R_RATE=$(jget answered_per_s "$f")
	R_WIN=$(jget send_window_s "$f"); R_200=$(jget 200 "$f"); R_ECHOED=$(jget echo "$f")
	R_UNEXP=$(jget unexpected "$f")
	R_P50=$(jget p50 "$f"); R_P99=$(jget p99 "$f"); R_P999=$(jget p99_9 "$f")
	R_RATE=${R_RATE%.*}
	# % of one core over the whole sipring-load run (sending and grace)
	R_CPU=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
		'BEGIN { if (w > 0) printf "%.0f", 100 * d / hz / w; else print 0 }')
	R_US=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$R_ANS" \
		'BEGIN { if (n > 0) printf "%.1f", 1e6 * d / hz / n; else print 0 }')
	local lu ls
	read -r lu ls < <(tail -n 1 "$LOG_DIR/$name.time" 2>/dev/null) || { lu=0; ls=0; }
	R_LCPU=$(awk -v u="${lu:-0}" -v s="${ls:-0}" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
		'BEGIN { if (w > 0) printf "%.0f", 100 * (u + s) / w; else print 0 }' 2>/dev/null || echo 0)
	local good=${R_200:-0}
	[[ "$target" == echo ]] && good=${R_ECHOED:-0}
	R_NOTE=""
	[[ "$good" == "$R_ANS" ]] || R_NOTE="non-200 answers"
	log "$name: sent=$R_SENT answered=$R_ANS lost=$R_LOST retrans=$R_RETX unexpected=$R_UNEXP answered/s=$R_RATE p50=${R_P50}us p99=${R_P99}us server_cpu=${R_CPU}% (${R_US}us/op) load_cpu=${R_LCPU}% drops: rcvbuf=$R_DROPS (at the server $R_SDROPS) backlog=$R_BDROPS $R_NOTE"
}

# zero-loss verdict of the last run at rate $1
judge() {
	R_PASS=0
	[[ "$R_OK" == 1 && "$R_RC" == 0 && "$R_LOST" == 0 && -z "$R_NOTE" ]] || return 0
	awk -v x="$R_RETX" -v n="$R_SENT" -v p="$RETRANS_PCT" 'BEGIN { exit !(x <= n * p / 100) }' || return 0
	awk -v a="$R_RATE" -v r="$1" 'BEGIN { exit !(a >= 0.95 * r) }' || return 0
	R_PASS=1
}

round_rate() { awk -v m="$1" -v f="$2" 'BEGIN { r = int(m * f / 1000 + 0.5) * 1000; if (r < 1000) r = 1000; print r }'; }

# ---------------------------------------------------------------- one target
# the max figure of every target first, back to back (the machine drifts over
# minutes), then the zero-loss search of each
measure_max() { # target
	local target="$1" key="$MODE.$1"
	if [[ "$target" == sipring && ! -x "$SIPRING" ]]; then
		log "sipring skipped: $SIPRING does not exist (yet)"
		RES_MAX[$key]="skipped"; RES_ZL[$key]="skipped"
		echo "daemon mode=$MODE target=sipring status=SKIPPED reason=no_binary"
		return
	fi
	if ! one_run "$target" max --rate 0 --window "$WINDOW" --duration "$MAX_S" "${MAX_EXTRA[@]}"; then
		RES_MAX[$key]="failed"; RES_ZL[$key]="failed"
		echo "daemon mode=$MODE target=$target status=FAILED reason=does_not_answer"
		return
	fi
	local max=$R_RATE
	RES_MAX[$key]="$max"; RES_MAXLINE[$key]="$R_LOST $R_P50 $R_P99 $R_CPU $R_US"
	echo "daemon mode=$MODE target=$target max_per_s=$max lost=$R_LOST p50_us=$R_P50 p99_us=$R_P99 p999_us=$R_P999 server_cpu_pct=$R_CPU server_us_per_op=$R_US load_cpu_pct=$R_LCPU"
}

measure_zero_loss() { # target: an ascending search at fractions of its max, then confirmation
	local target="$1" key="$MODE.$1" max
	max=${RES_MAX[$key]:-0}
	[[ "$max" =~ ^[0-9]+$ ]] || return 0
	if [[ "$max" -lt 1000 ]]; then
		RES_ZL[$key]="0"
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
		RES_ZL[$key]="$R_RATE"; RES_ZLLINE[$key]="$r $R_RETX $R_P50 $R_P99 $R_CPU $R_US"
		echo "daemon mode=$MODE target=$target zero_loss_per_s=$R_RATE target_rate=$r duration_s=$CONFIRM_S lost=0 retrans=$R_RETX p50_us=$R_P50 p99_us=$R_P99 p999_us=$R_P999 server_cpu_pct=$R_CPU server_us_per_op=$R_US load_cpu_pct=$R_LCPU status=ok"
	else
		RES_ZL[$key]="not confirmed"
		echo "daemon mode=$MODE target=$target zero_loss_per_s=0 status=NOT_CONFIRMED"
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

table() { # mode
	local m="$1" t
	printf '\n== mode %s: %s\n' "$m" "$MODE_TEXT"
	printf '(load average before/after the runs: %s / %s; RT=%s)\n' \
		"$LOADAVG0" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RT"
	printf '%-9s %10s %6s %8s %8s %7s %8s | %12s %9s %7s %8s %7s %8s\n' target "max/s" lost "p50 us" "p99 us" "cpu %" "us/op" \
		"zero-loss/s" "at rate" retrans "p99 us" "cpu %" "us/op"
	for t in "${TARGETS[@]}"; do
		local k="$m.$t" a=() b=()
		read -r -a a <<<"${RES_MAXLINE[$k]:-- - - - -}"
		read -r -a b <<<"${RES_ZLLINE[$k]:-- - - - - -}"
		printf '%-9s %10s %6s %8s %8s %7s %8s | %12s %9s %7s %8s %7s %8s\n' "$t" "${RES_MAX[$k]:--}" \
			"${a[0]}" "${a[1]}" "${a[2]}" "${a[3]}" "${a[4]}" "${RES_ZL[$k]:--}" "${b[0]}" "${b[1]}" \
			"${b[3]}" "${b[4]}" "${b[5]}"
	done
	printf 'sipring/echo:     max %s, zero loss %s   (goal >= 0.7)\n' \
		"$(ratio "${RES_MAX[$m.sipring]:-}" "${RES_MAX[$m.echo]:-}")" \
		"$(ratio "${RES_ZL[$m.sipring]:-}" "${RES_ZL[$m.echo]:-}")"
	printf 'sipring/kamailio: zero loss %s, max %s   (goal >= 3 at zero loss)\n' \
		"$(ratio "${RES_ZL[$m.sipring]:-}" "${RES_ZL[$m.kamailio]:-}")" \
		"$(ratio "${RES_MAX[$m.sipring]:-}" "${RES_MAX[$m.kamailio]:-}")"
}

# ---------------------------------------------------------------- main
TARGETS=("$@")
[[ ${#TARGETS[@]} == 0 ]] && TARGETS=(echo sipring kamailio)
for t in "${TARGETS[@]}"; do
	case "$t" in echo | sipring | kamailio) ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
done
install_pkgs
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/*.json "$LOG_DIR"/*.txt "$LOG_DIR"/*.log
build
check_ports
declare -A RES_MAX RES_ZL RES_MAXLINE RES_ZLLINE
LOADAVG0="$(cut -d' ' -f1-3 /proc/loadavg)"
log "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))  kernel: $(uname -r)  kamailio: $(kamailio -v 2>/dev/null | head -1 | sed 's/^version: //')"
[[ "$RT" == 1 ]] && log "RT=1: servers and sipring-load run SCHED_FIFO (chrt -f 1)"
log "load: sipring-load --sockets $SOCKETS --window $WINDOW; max ${MAX_S}s, trials ${TRIAL_S}s at fractions ($STEPS) of max, confirmation ${CONFIRM_S}s"
for MODE in $MODES; do
	set_mode "$MODE"
	log "mode $MODE: $MODE_TEXT"
	for t in "${TARGETS[@]}"; do
		measure_max "$t"
	done
	for t in "${TARGETS[@]}"; do
		measure_zero_loss "$t"
	done
done
for MODE in $MODES; do
	set_mode "$MODE"
	table "$MODE"
done
rm -rf "$LOG_DIR/kamailio-run"
