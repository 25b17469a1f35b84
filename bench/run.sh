#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build a release tree, start an iomed daemon serving one testdev and run
# region_bench against it, once per CPU placement, printing one table each.
#
#   bench/run.sh [region_bench options]     e.g. bench/run.sh --runs 7 --ops 50000
#
# BUILD (default build-release) is the build tree; DEVICE_OPTS is appended to the testdev's
# --device spec (e.g. ",trace=/tmp/td0.trc").
#
# PLACEMENTS (default "same cross"; "same" on one CPU):
#   same   client, daemon and the peer's echo thread all on CPU 0
#   cross  client on CPU 0, daemon and echo thread on CPU 1
#   free   nothing pinned (the ratio is then unreliable: the echo thread and
#          the daemon may land on different CPUs)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${BUILD:-build-release}
[ -d "$build" ] || meson setup "$build" --buildtype=release
ninja -C "$build" iomed bench/region_bench

if [ "$(nproc)" -ge 2 ]; then
	placements=${PLACEMENTS:-same cross}
else
	placements=${PLACEMENTS:-same}
fi

dir=$(mktemp -d /tmp/iomed-bench.XXXXXX)
pid=
stop_daemon() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" || true
		pid=
	fi
}
trap 'stop_daemon; rm -rf "$dir"' EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs," \
	"kernel $(uname -r)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')," \
	"tree $(git describe --always --dirty 2>/dev/null || echo '?')"

for p in $placements; do
	case $p in
	same)  pin=(taskset -c 0); cpus=(--client-cpu 0 --server-cpu 0) ;;
	cross) pin=(taskset -c 1); cpus=(--client-cpu 0 --server-cpu 1) ;;
	free)  pin=(); cpus=() ;;
	*) echo "run.sh: unknown placement '$p'" >&2; exit 2 ;;
	esac
	sock=$dir/td0.sock
	"${pin[@]}" "$build/iomed" --device "testdev,socket=$sock,id=td0${DEVICE_OPTS:-}" \
		2>"$dir/iomed-$p.log" &
	pid=$!
	for _ in $(seq 200); do
		[ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$dir/iomed-$p.log" >&2; exit 1; }
		sleep 0.05
	done
	echo
	echo "== placement: $p"
	"$build/bench/region_bench" --socket "$sock" "${cpus[@]}" "$@"
	stop_daemon
done
