#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What tracing costs (docs/performance.md, "Traces and packet capture"):
#   1. trace_bench (in process, CPU 0) from a release build with the hooks compiled out
#      (build-release-nohooks, -Dtrace_hooks=false) and one with them built in (build-release):
#      the hooked operations with the hooks absent, off and on;
#   2. region_bench (placement "same", bench/run.sh) against a testdev daemon from each build,
#      hooks absent / off / on (trace=FILE), ROUNDS times in turn so drift hits all three.
#
#   bench/trace.sh [trace_bench options]      ROUNDS=3 by default
set -euo pipefail

cd "$(dirname "$0")/.."
for tree in build-release:true build-release-nohooks:false; do
	dir=${tree%%:*}
	[ -d "$dir" ] || meson setup "$dir" --buildtype=release "-Dtrace_hooks=${tree#*:}" >/dev/null
	ninja -C "$dir" iomed bench/region_bench bench/trace_bench >/dev/null
done
tmp=$(mktemp -d /tmp/iomed-trace-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs," \
	"kernel $(uname -r)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')," \
	"tree $(git describe --always --dirty 2>/dev/null || echo '?')"
echo
taskset -c 0 build-release-nohooks/bench/trace_bench --dir "$tmp" "$@"
echo
taskset -c 0 build-release/bench/trace_bench --dir "$tmp" "$@" 2>/dev/null
echo
echo "region_bench, placement same: median latency (us) of 5 runs x 20000 ops, ratio to the peer"
for round in $(seq "${ROUNDS:-3}"); do
	for variant in absent off on; do
		case $variant in
		absent) build=build-release-nohooks; opts= ;;
		off) build=build-release; opts= ;;
		on) build=build-release; opts=",trace=$tmp/td0.trc" ;;
		esac
		BUILD=$build DEVICE_OPTS=$opts PLACEMENTS=same bench/run.sh --runs 5 |
			awk -v r="$round" -v v="$variant" -F'|' '
				/REGION_READ 4 B / { read = $3; ratio = $7 }
				/posted/ { posted = $3 }
				END { gsub(/ /, "", read); gsub(/ /, "", ratio); gsub(/ /, "", posted)
				      printf "round %s  hooks %-6s  REGION_READ %s us (x%s peer)  posted write %s us\n",
					     r, v, read, ratio, posted }'
	done
done
