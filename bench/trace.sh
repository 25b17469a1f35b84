#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What tracing costs (docs/performance.md, "Traces and packet capture"):
#   1. trace_bench (in process, CPU 0) from a release build with the hooks compiled out
#      (build-release-nohooks, -Dtrace_hooks=false) and one with them built in (build-release),
#      alternately ROUNDS times: the hooked operations with the hooks absent, off and on; the
#      table gives the median over the rounds of each round's median;
#   2. region_bench (placement "same", bench/run.sh) against a testdev daemon from each build,
#      hooks absent / off / on (trace=FILE), ROUNDS times in turn so drift hits all three.
#
#   bench/trace.sh [trace_bench options]      ROUNDS=3 by default
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
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
for round in $(seq "$rounds"); do
	taskset -c 0 build-release-nohooks/bench/trace_bench --dir "$tmp" "$@"
	taskset -c 0 build-release/bench/trace_bench --dir "$tmp" "$@" 2>/dev/null
done >"$tmp/trace_bench.txt"
head -n 1 "$tmp/trace_bench.txt"
python3 - "$tmp/trace_bench.txt" "$rounds" <<'PY'
import statistics, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    f = [x.strip() for x in line.split("|")]
    if len(f) < 8 or f[1] in ("op", "") or f[1].startswith("-"):
        continue
    if f[1] not in order:
        order.append(f[1])
    rows.setdefault((f[1], f[2]), []).append(float(f[3]))
    rows.setdefault((f[1], f[2] + "-min"), []).append(float(f[4]))
    if f[2] == "on":
        rows.setdefault((f[1], "lost"), []).append(float(f[6].rstrip(" %")))
print(f"ns/op: median over {sys.argv[2]} rounds of each round's median run (fastest run of all)\n")
print("| op               |         absent |            off |             on | lost (on) |")
print("|------------------|---------------:|---------------:|---------------:|----------:|")
for op in order:
    m = {k: statistics.median(rows[(op, k)]) for k in ("absent", "off", "on", "lost")}
    f = {k: min(rows[(op, k + "-min")]) for k in ("absent", "off", "on")}
    cells = " | ".join(f"{m[k]:6.1f} ({f[k]:5.1f})" for k in ("absent", "off", "on"))
    print(f"| {op:<16} | {cells} | {m['lost']:7.1f} % |")
PY
echo
echo "region_bench, placement same: median latency (us) of 5 runs x 20000 ops, ratio to the peer"
for round in $(seq "$rounds"); do
	for variant in absent off on; do
		case $variant in
		absent) build="build-release-nohooks"; opts="" ;;
		off) build="build-release"; opts="" ;;
		on) build="build-release"; opts=",trace=$tmp/td0.trc" ;;
		esac
		BUILD=$build DEVICE_OPTS=$opts PLACEMENTS=same bench/run.sh --runs 5 |
			awk -v r="$round" -v v="$variant" -F'|' '
				/^\| REGION_READ 4 B / { read = $3; ratio = $7 }
				/^\| REGION_WRITE 4 B posted/ { posted = $3 }
				END { gsub(/ /, "", read); gsub(/ /, "", ratio); gsub(/ /, "", posted)
				      printf "round %s  hooks %-6s  REGION_READ %s us (x%s peer)  posted write %s us\n",
					     r, v, read, ratio, posted }'
	done
done
