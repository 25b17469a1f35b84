#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build a release tree, start an iomed daemon serving one testdev and run
# region_bench against it, once per CPU placement, printing one table each.
#
#   bench/run.sh [region_bench options]     e.g. bench/run.sh --runs 7 --ops 50000
#
# PLACEMENTS (default "same cross"; "same" on one CPU):
#   same   client, daemon and the peer's echo thread all on CPU 0
#   cross  client on CPU 0, daemon and echo thread on CPU 1
#   free   nothing pinned (the ratio is then unreliable: the echo thread and
#          the daemon may land on different CPUs)
. "$(dirname "$0")/lib.sh"
bench_init
bench_build iomed bench/region_bench

if [ "$(nproc)" -ge 2 ]; then
	placements=${PLACEMENTS:-same cross}
else
	placements=${PLACEMENTS:-same}
fi

bench_machine
for p in $placements; do
	case $p in
	same)  cpu=0; cpus=(--client-cpu 0 --server-cpu 0) ;;
	cross) cpu=1; cpus=(--client-cpu 0 --server-cpu 1) ;;
	free)  cpu=-; cpus=() ;;
	*) bench_die "unknown placement '$p'" ;;
	esac
	sock=$BENCH_DIR/td0.sock
	bench_daemon_start "$cpu" "$sock" --device "testdev,socket=$sock,id=td0"
	echo
	echo "== placement: $p"
	"$BENCH_BUILD/bench/region_bench" --socket "$sock" "${cpus[@]}" "$@"
	bench_daemon_stop
done
