#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# virtio-net datapath, frames per second, side by side with its peer in the same run:
#   iomed:  bench/vnet_bench (a poll-mode virtio-net driver over the in-tree vfio-user client)
#           -> iomed's virtio-net -> its loopback port -> back to the driver
#   DPDK:   testpmd with net_virtio_user (io forwarding, started with tx_first) -> vhost-user ->
#           testpmd with net_vhost (macswap) -> back: the standard vhost-user loopback
# One CPU for each side: the driver / virtio_user testpmd on CPU 0, the daemon / vhost testpmd on
# CPU 1. Every run measures each frame size on both, alternating which goes first; the table gives
# medians over runs and the median of the per-run ratios. See docs/performance.md.
#
#   bench/net.sh [--runs N] [--seconds S] [--sizes "64 1518"] [--bursts N] [--virtio-args A]
#                [--no-dpdk]
#
#   --runs N      runs (default 5)
#   --seconds S   measured seconds per size, side and run (default 3; 1 s of warm-up before)
#   --sizes LIST  Ethernet frame sizes in bytes (default "64 1518")
#   --bursts N    bursts of 32 frames DPDK's virtio_user side injects (tx_first N; default 8)
#   --virtio-args A  more net_virtio_user devargs, e.g. mrg_rxbuf=0,vectorized=1 (default none)
#   --no-dpdk     iomed only (no peer, no ratio)
# Needs dpdk-testpmd and the vhost/virtio_user PMDs: scripts/setup.sh --bench.
. "$(dirname "$0")/lib.sh"

RUNS=5 SECONDS_PER=3 SIZES="64 1518" BURSTS=8 DPDK=1 VIRTIO_ARGS=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--seconds) SECONDS_PER=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--bursts) BURSTS=$2; shift 2 ;;
	--virtio-args) VIRTIO_ARGS=$2; shift 2 ;;
	--no-dpdk) DPDK=0; shift ;;
	-h | --help) sed -n '3,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) bench_die "unknown option $1 (--help)" ;;
	esac
done
CMD="bench/net.sh --runs $RUNS --seconds $SECONDS_PER --sizes \"$SIZES\" --bursts $BURSTS"
[ -z "$VIRTIO_ARGS" ] || CMD="$CMD --virtio-args $VIRTIO_ARGS"
[ $DPDK = 1 ] || CMD="$CMD --no-dpdk"

bench_init
if [ $DPDK = 1 ] && ! command -v dpdk-testpmd >/dev/null; then
	bench_die "dpdk-testpmd not found: scripts/setup.sh --bench (or --no-dpdk)"
fi
bench_build iomed bench/vnet_bench

DRV_CPU=0 DEV_CPU=1
[ "$(nproc)" -ge 2 ] || DEV_CPU=0

# ---- iomed: one daemon for the whole benchmark, a fresh driver per measurement
VSOCK=$BENCH_DIR/vn0.sock
bench_daemon_start "$DEV_CPU" "$VSOCK" \
	--device "virtio-net,socket=$VSOCK,id=vn0,net=loopback,mac=52:54:00:00:00:01"

# cpu_ticks PID...: user + system clock ticks of the processes, all threads
cpu_ticks() {
	local pid t=0
	for pid in "$@"; do
		t=$((t + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
	done
	echo $t
}

run_iomed() { # SIZE: Mpps in MPPS, million frames per CPU-second (both sides) in PER_CPU
	local out
	out=$("$BENCH_BUILD/bench/vnet_bench" --socket "$VSOCK" --size "$1" --seconds "$SECONDS_PER" \
		--warmup 1 --cpu "$DRV_CPU" --device-pid "$DAEMON_PID" 2>&1) ||
		{ echo "$out" >&2; bench_die "vnet_bench failed"; }
	echo "$out" | grep '^vnet_bench:' >>"$BENCH_DIR/iomed.runs"
	read -r MPPS PER_CPU < <(echo "$out" | sed -n 's/^RESULT //p' | tr ' =' '\n\n' | awk '
		NR % 2 { k = $0; next } { v[k] = $0 }
		END { printf "%s %.4f\n", v["mpps"], v["mpps"] * v["secs"] / (v["cpu_driver"] + v["cpu_device"]) }')
}

# ---- DPDK: a vhost testpmd and a virtio_user testpmd per measurement
TESTPMD_COMMON=(--no-huge -m 256 --no-pci --log-level=user1,notice)
TESTPMD_PORT=(--nb-cores=1 --rxq=1 --txq=1 --rxd=256 --txd=256 --burst=32 --total-num-mbufs=8192)

# dpdk_once SIZE: one vhost-user loopback measurement; Mpps in MPPS, empty when no traffic
dpdk_once() {
	local size=$1 sock=$BENCH_DIR/vhost.sock vh vu fifo=$BENCH_DIR/vu.in fd i pps t0 t1
	local vhlog=$BENCH_DIR/vhost.out vulog=$BENCH_DIR/virtio.out
	rm -f "$sock" "$fifo"
	MPPS=""
	dpdk-testpmd --lcores "0@$DEV_CPU,1@$DEV_CPU" "${TESTPMD_COMMON[@]}" --file-prefix "iomed-vh$$" \
		--vdev "net_vhost0,iface=$sock,queues=1" -- "${TESTPMD_PORT[@]}" \
		--forward-mode=macswap --auto-start --stats-period 3600 >"$vhlog" 2>&1 &
	vh=$!
	BENCH_PIDS+=("$vh")
	for i in $(seq 300); do
		[ -S "$sock" ] && break
		kill -0 "$vh" 2>/dev/null || { cat "$vhlog" >&2; bench_die "vhost testpmd died"; }
		sleep 0.05
	done
	[ -S "$sock" ] || bench_die "vhost testpmd socket never appeared"
	mkfifo "$fifo"
	dpdk-testpmd --lcores "0@$DRV_CPU,1@$DRV_CPU" "${TESTPMD_COMMON[@]}" --file-prefix "iomed-vu$$" \
		--vdev "net_virtio_user0,path=$sock,queues=1,queue_size=256${VIRTIO_ARGS:+,$VIRTIO_ARGS}" \
		-- -i "${TESTPMD_PORT[@]}" \
		--forward-mode=io --txpkts="$size" <"$fifo" >"$vulog" 2>&1 &
	vu=$!
	BENCH_PIDS+=("$vu")
	exec {fd}>"$fifo"
	bench_testpmd_link_wait "$fd" "$vulog" "$vu"
	echo "start tx_first $BURSTS" >&"$fd"
	sleep 1
	echo "show port stats 0" >&"$fd"
	t0=$(cpu_ticks "$vu" "$vh")
	sleep "$SECONDS_PER"
	echo "show port stats 0" >&"$fd"
	t1=$(cpu_ticks "$vu" "$vh")
	echo "stop" >&"$fd"
	echo "quit" >&"$fd"
	exec {fd}>&-
	bench_reap "$vu" 20
	bench_kill "$vh" INT
	pps=$(grep -a 'Rx-pps:' "$vulog" | tail -n 1 | awk '{ print $2 }')
	[ -n "$pps" ] && [ "$pps" != 0 ] || return 0
	grep -a -A2 'Forward statistics for port 0' "$vulog" | tr -s ' ' | sed 's/^ //' \
		>>"$BENCH_DIR/dpdk.runs"
	read -r MPPS PER_CPU < <(awk -v p="$pps" -v s="$SECONDS_PER" -v c=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.4f %.4f\n", p / 1e6, p / 1e6 * s / (c / hz) }')
}

run_dpdk() { # SIZE: as run_iomed; a run without traffic is tried once more
	dpdk_once "$1"
	[ -n "$MPPS" ] || dpdk_once "$1"
	if [ -z "$MPPS" ]; then
		tail -n 30 "$BENCH_DIR/virtio.out" >&2
		bench_die "no traffic through the vhost-user loopback"
	fi
}

bench_machine
echo "command: $CMD"
echo "placement: driver side on CPU $DRV_CPU, device side on CPU $DEV_CPU"
: >"$BENCH_DIR/results"
for ((r = 1; r <= RUNS; r++)); do
	for size in $SIZES; do
		md="-" cd="-"
		if [ $DPDK = 1 ] && [ $((r % 2)) = 0 ]; then
			run_dpdk "$size"; md=$MPPS cd=$PER_CPU
			run_iomed "$size"; mi=$MPPS ci=$PER_CPU
		else
			run_iomed "$size"; mi=$MPPS ci=$PER_CPU
			if [ $DPDK = 1 ]; then run_dpdk "$size"; md=$MPPS cd=$PER_CPU; fi
		fi
		echo "run $r/$RUNS, $size B: iomed $mi Mpps ($ci per CPU-s), DPDK vhost-user $md Mpps ($cd per CPU-s)" >&2
		echo "$size $mi $md $ci $cd" >>"$BENCH_DIR/results"
	done
done
bench_daemon_stop

echo
awk -v sizes="$SIZES" -v runs="$RUNS" "$BENCH_AWK_MEDIAN"'
{ n[$1]++; i[$1, n[$1]] = $2; d[$1, n[$1]] = $3; ci[$1, n[$1]] = $4; cd[$1, n[$1]] = $5 }
END {
	printf "| frame | iomed native driver Mpps | Gbit/s | DPDK vhost-user loopback Mpps | Gbit/s | iomed / DPDK (min-max) | per CPU-s: iomed / DPDK (ratio) | runs |\n"
	printf "|------:|------:|------:|------:|------:|:------|:------|-----:|\n"
	k = split(sizes, s, " ")
	for (x = 1; x <= k; x++) {
		z = s[x]; m = n[z]; lo = 1e9; hi = 0; peer = d[z, 1] != "-"
		for (r = 1; r <= m; r++) {
			a[r] = i[z, r] + 0; b[r] = d[z, r] + 0; e[r] = ci[z, r] + 0; f[r] = cd[z, r] + 0
			if (peer) {
				q[r] = i[z, r] / d[z, r]; if (q[r] < lo) lo = q[r]; if (q[r] > hi) hi = q[r]
				w[r] = ci[z, r] / cd[z, r]
			}
		}
		mi = median(a, m); mc = median(e, m)
		if (peer) {
			md = median(b, m); mq = median(q, m); mdc = median(f, m); mw = median(w, m)
			printf "| %d B | %.2f | %.2f | %.2f | %.2f | %.2f (%.2f-%.2f) | %.2f / %.2f (%.2f) | %d |\n", z, mi, mi * z * 8 / 1000, md, md * z * 8 / 1000, mq, lo, hi, mc, mdc, mw, m
		} else {
			printf "| %d B | %.2f | %.2f | - | - | - | %.2f / - | %d |\n", z, mi, mi * z * 8 / 1000, mc, m
		}
	}
}' "$BENCH_DIR/results"
echo
echo "Mpps: frames that made the round trip driver -> device -> port -> device -> driver, per second,"
echo "counted by the driver side (vnet_bench; testpmd's Rx-pps of the virtio_user port)."
echo "Gbit/s: Mpps x frame bytes x 8 (no virtio header, preamble or FCS). Per CPU-s: million frames"
echo "per CPU-second used by both sides together (driver + device processes, all threads) over the"
echo "same time: what each side got done with the CPU it was given."
if [ "${BENCH_VERBOSE:-0}" = 1 ]; then
	cat "$BENCH_DIR/iomed.runs"
	[ ! -f "$BENCH_DIR/dpdk.runs" ] || cat "$BENCH_DIR/dpdk.runs"
fi
