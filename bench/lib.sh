# bench/lib.sh — shared by the benchmark scripts (bench/run.sh, bench/net.sh): a release build,
# the machine line, a work folder and an iomed daemon pinned with taskset. Source it (bash).
# shellcheck shell=bash

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# BUILD picks another release tree (absolute, or relative to the source tree).
case ${BUILD:-build-release} in
/*) BENCH_BUILD=$BUILD ;;
*) BENCH_BUILD=$BENCH_SRC/${BUILD:-build-release} ;;
esac
BENCH_DIR=""
BENCH_PIDS=()   # processes we started, stopped by PID at exit
# awk: median(a, n) of a[1..n] (sorts a); put it in front of a program: awk "$BENCH_AWK_MEDIAN"'...'
BENCH_AWK_MEDIAN='function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
'
DAEMON_PID=""

bench_die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# bench_init: work folder and the cleanup trap
bench_init() {
	set -euo pipefail
	BENCH_DIR=$(mktemp -d /tmp/iomed-bench.XXXXXX)
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${BENCH_PIDS[@]}"; do bench_kill "$pid"; done
	[ -n "$BENCH_DIR" ] && rm -rf "$BENCH_DIR"
	exit $rc
}

# bench_kill PID [SIGNAL]: signal (TERM), wait up to 5 s, then KILL; reaps it
bench_kill() {
	local pid=$1 sig=${2:-TERM} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill "-$sig" "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# bench_reap PID SECONDS: wait for PID to exit by itself, then kill it
bench_reap() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.1
	done
	bench_kill "$pid"
}

# bench_build TARGET...: release tree in build-release/ (set up if missing), targets built
bench_build() {
	[ -d "$BENCH_BUILD" ] || meson setup "$BENCH_BUILD" --buildtype=release >/dev/null
	ninja -C "$BENCH_BUILD" -j2 "$@" >/dev/null || bench_die "build failed (ninja -C $BENCH_BUILD $*)"
}

# bench_machine: what ran where, for the results
bench_machine() {
	echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs," \
		"kernel $(uname -r)"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')," \
		"tree $(git -C "$BENCH_SRC" describe --always --dirty 2>/dev/null || echo '?')"
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; other tenants included)"
}

# bench_daemon_start CPU|- SOCKET ARGS...: build-release/iomed ARGS pinned to CPU (- for none),
# log in $BENCH_DIR; waits for SOCKET (10 s)
bench_daemon_start() {
	local cpu=$1 sock=$2 pin=() i
	shift 2
	[ "$cpu" = - ] || pin=(taskset -c "$cpu")
	"${pin[@]}" "$BENCH_BUILD/iomed" "$@" >>"$BENCH_DIR/iomed.log" 2>&1 &
	DAEMON_PID=$!
	BENCH_PIDS+=("$DAEMON_PID")
	for i in $(seq 200); do
		[ -S "$sock" ] && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$BENCH_DIR/iomed.log" >&2; bench_die "iomed did not start"; }
		sleep 0.05
	done
	bench_die "iomed socket $sock did not appear"
}

# bench_testpmd_link_wait FD LOG PID: ask an interactive testpmd (commands on FD, output in LOG)
# about port 0 until its link is up (10 s) or PID is gone: the first frames go out only then
bench_testpmd_link_wait() {
	local i
	for i in $(seq 100); do
		echo "show port info 0" >&"$1"
		sleep 0.1
		grep -aq 'Link status: up' "$2" && return 0
		kill -0 "$3" 2>/dev/null || return 0
	done
}

bench_daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	bench_kill "$DAEMON_PID"
	DAEMON_PID=""
}
