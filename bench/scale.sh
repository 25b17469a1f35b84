#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Several devices on one port, frames per second in total and each device's share, side by side
# with DPDK's vhost-user multi-queue loopback in the same run:
#   iomed:  bench/vnet_bench driving N virtio-net devices (one thread, all in turn) -> iomed, the
#           N devices on one dpdk: port (net_memif0, memif server, queues=N, software
#           classification by destination MAC) -> memif -> the far end of the wire, which
#           vnet_bench serves in the same loop (--wire: every frame back with its MACs swapped,
#           out of the queue it came in on) -> iomed -> each frame to its device by its MAC
#   DPDK:   testpmd with net_virtio_user, N queues (io forwarding, tx_first) -> vhost-user ->
#           testpmd with net_vhost, N queues (macswap) -> back
# One CPU for each side, one busy process on each: the driver (and the wire) / the virtio_user
# testpmd on CPU 0, the daemon / the vhost testpmd on CPU 1. iomed runs one datapath thread
# per device, so its N threads share CPU 1; testpmd forwards every queue from one thread. Every
# run measures each device count on both, alternating which goes first; the table gives
# medians over runs.
#
#   bench/scale.sh [--runs N] [--seconds S] [--devices "1 2 4 8"] [--size B] [--no-dpdk]
#
#   --runs N       runs (default 3)
#   --seconds S    measured seconds per count, side and run (default 3; 1 s of warm-up before)
#   --devices LIST device (queue) counts, 1 to 8 (default "1 2 4 8")
#   --size B       Ethernet frame bytes (default 64)
#   --no-dpdk      iomed only (no peer, no ratio)
# Needs dpdk-testpmd with the vhost and virtio_user PMDs (scripts/setup.sh --bench) and the memif PMD.
. "$(dirname "$0")/lib.sh"

RUNS=3 SECONDS_PER=3 COUNTS="1 2 4 8" SIZE=64 DPDK=1
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--seconds) SECONDS_PER=$2; shift 2 ;;
	--devices) COUNTS=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--no-dpdk) DPDK=0; shift ;;
	-h | --help) sed -n '3,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) bench_die "unknown option $1 (--help)" ;;
	esac
done
for n in $COUNTS; do
	case $n in [1-8]) ;; *) bench_die "--devices: $n is not 1 to 8" ;; esac
done
CMD="bench/scale.sh --runs $RUNS --seconds $SECONDS_PER --devices \"$COUNTS\" --size $SIZE"
[ $DPDK = 1 ] || CMD="$CMD --no-dpdk"

bench_init
[ $DPDK = 0 ] || command -v dpdk-testpmd >/dev/null || bench_die "dpdk-testpmd not found: scripts/setup.sh --bench (or --no-dpdk)"
bench_build iomed bench/vnet_bench

DRV_CPU=0 DEV_CPU=1
[ "$(nproc)" -ge 2 ] || DEV_CPU=0
TESTPMD_COMMON=(--no-huge -m 256 --no-pci --log-level=user1,notice)

# testpmd_start LOG LCORE_CPU "VDEV..." N FWD [ARGS...]: testpmd in the background, pid in TPMD_PID;
# its input is $TPMD_IN (the commands FIFO of an interactive one) or nothing
testpmd_start() {
	local log=$1 cpu=$2 n=$4 fwd=$5 v vdevs=()
	for v in $3; do vdevs+=(--vdev "$v"); done
	shift 5
	dpdk-testpmd --lcores "0@$cpu,1@$cpu" "${TESTPMD_COMMON[@]}" --file-prefix "iomed-sc$$-$RANDOM" \
		"${vdevs[@]}" -- --nb-cores=1 --rxq="$n" --txq="$n" --rxd=256 --txd=256 --burst=32 \
		--total-num-mbufs=$((8192 + n * 1024)) --forward-mode="$fwd" "$@" <"${TPMD_IN:-/dev/null}" >"$log" 2>&1 &
	TPMD_PID=$!
	BENCH_PIDS+=("$TPMD_PID")
}

wait_until() { # COMMAND PID LOG WHAT: until COMMAND succeeds (15 s), while PID lives
	local i
	for i in $(seq 300); do
		eval "$1" && return 0
		kill -0 "$2" 2>/dev/null || { tail -n 20 "$3" >&2; bench_die "$4 died"; }
		sleep 0.05
	done
	bench_die "$4 did not start"
}

# run_iomed N: total Mpps in MPPS, fairness in FAIR, slowest and fastest device in LO HI
run_iomed() {
	local n=$1 args=() socks=() i out
	rm -f "$BENCH_DIR"/vn*.sock
	for ((i = 0; i < n; i++)); do
		args+=(--device "virtio-net,socket=$BENCH_DIR/vn$i.sock,id=vn$i,mac=52:54:00:00:01:0$i,net=dpdk:net_memif0:queues=$n")
		socks+=(--socket "$BENCH_DIR/vn$i.sock")
	done
	bench_daemon_start "$DEV_CPU" "$BENCH_DIR/vn$((n - 1)).sock" \
		--dpdk "--no-huge -m 256 --no-pci --vdev net_memif0,role=server,socket=$MEMIF" "${args[@]}"
	out=$("$BENCH_BUILD/bench/vnet_bench" "${socks[@]}" --size "$SIZE" --seconds "$SECONDS_PER" \
		--warmup 1 --cpu "$DRV_CPU" --device-pid "$DAEMON_PID" \
		--wire "net_memif0,role=client,socket=$MEMIF" 2>&1) ||
		{ echo "$out" >&2; tail -n 20 "$BENCH_DIR/iomed.log" >&2; bench_die "vnet_bench failed"; }
	bench_daemon_stop
	echo "$out" | grep -v '^RESULT' | sed "s/^/$n devices: /" >>"$BENCH_DIR/iomed.runs"
	read -r MPPS FAIR LO HI LOST < <(echo "$out" | sed -n 's/^RESULT //p' | tr ' =' '\n\n' | awk '
		NR % 2 { k = $0; next } { v[k] = $0 }
		END { print v["mpps"], v["fairness"], v["min"], v["max"], v["lost"] }')
}

# xstats_rx LOG K: "q0 q1 ..." per-queue Rx packets (rx_qN_good_packets) of the K-th
# "show port xstats 0" in LOG (read once testpmd is gone: its output is buffered)
xstats_rx() {
	awk -v k="$2" '/NIC extended statistics for port 0/ { if (++b > k) exit; delete v }
		/^ *rx_q[0-9]+_good_packets:/ { q = $1; sub(/^rx_q/, "", q); sub(/_good_packets:$/, "", q); v[q] = $2 }
		END { for (i = 0; i in v; i++) printf "%s%s", i ? " " : "", v[i]; print "" }' "$1"
}

# run_dpdk N: as run_iomed, per queue instead of per device, for DPDK's vhost-user loopback
run_dpdk() {
	local n=$1 sock=$BENCH_DIR/vhost.sock vh vu fifo=$BENCH_DIR/vu.in fd i a b
	rm -f "$sock" "$fifo"
	MPPS=""
	testpmd_start "$BENCH_DIR/vhost.out" "$DEV_CPU" "net_vhost0,iface=$sock,queues=$n" "$n" \
		macswap --auto-start --stats-period 3600
	vh=$TPMD_PID
	wait_until "[ -S '$sock' ]" "$vh" "$BENCH_DIR/vhost.out" "vhost testpmd"
	mkfifo "$fifo"
	TPMD_IN=$fifo testpmd_start "$BENCH_DIR/virtio.out" "$DRV_CPU" \
		"net_virtio_user0,path=$sock,queues=$n,queue_size=256" "$n" io -i
	vu=$TPMD_PID
	exec {fd}>"$fifo"
	bench_testpmd_link_wait "$fd" "$BENCH_DIR/virtio.out" "$vu"
	echo "start tx_first 8" >&"$fd"
	sleep 1
	echo "show port xstats 0" >&"$fd"
	sleep "$SECONDS_PER"
	echo "show port xstats 0" >&"$fd"
	echo "stop" >&"$fd"
	echo "quit" >&"$fd"
	exec {fd}>&-
	bench_reap "$vu" 20
	bench_kill "$vh" INT
	a=$(xstats_rx "$BENCH_DIR/virtio.out" 1)
	b=$(xstats_rx "$BENCH_DIR/virtio.out" 2)
	read -r MPPS FAIR LO HI < <(awk -v a="$a" -v b="$b" -v s="$SECONDS_PER" -v n="$n" 'BEGIN {
		split(a, x, " "); split(b, y, " "); lo = 1e18
		for (i = 1; i <= n; i++) {
			d = (y[i] - x[i]) / s / 1e6; t += d; sq += d * d
			if (d < lo) lo = d; if (d > hi) hi = d
		}
		printf "%.4f %.4f %.4f %.4f\n", t, (sq > 0 ? t * t / (n * sq) : 0), lo, hi }')
	echo "$n queues: xstats rx per queue $a -> $b" >>"$BENCH_DIR/dpdk.runs"
	awk -v m="$MPPS" 'BEGIN { exit !(m > 0) }' || {
		tail -n 30 "$BENCH_DIR/virtio.out" >&2
		bench_die "no traffic through the vhost-user loopback with $n queues"
	}
}

MEMIF=$BENCH_DIR/memif.sock
bench_machine
echo "command: $CMD"
echo "placement: driver side on CPU $DRV_CPU, device side on CPU $DEV_CPU"
: >"$BENCH_DIR/results"
for ((r = 1; r <= RUNS; r++)); do
	for n in $COUNTS; do
		# the order rotates from run to run
		# which goes first alternates from run to run
		sides="iomed dpdk"
		[ $DPDK = 1 ] || sides=iomed
		[ $DPDK = 0 ] || [ $((r % 2)) = 1 ] || sides="dpdk iomed"
		peer="- - - -"
		for side in $sides; do
			case $side in
			iomed) run_iomed "$n"; mine="$MPPS $FAIR $LO $HI" lost=$LOST ;;
			dpdk) run_dpdk "$n"; peer="$MPPS $FAIR $LO $HI" ;;
			esac
		done
		echo "run $r/$RUNS, $n devices (Mpps fairness min max): iomed $mine (lost $lost)," \
			"DPDK vhost-user loopback $peer" >&2
		echo "$n $mine $peer" >>"$BENCH_DIR/results"
	done
done

echo
awk -v counts="$COUNTS" "$BENCH_AWK_MEDIAN"'
{ c = $1; k = ++n[c]; for (f = 2; f <= 9; f++) v[c, f, k] = $f }
function med(c, f,   r, a) { for (r = 1; r <= n[c]; r++) a[r] = v[c, f, r] + 0; return median(a, n[c]) }
function cell(c, f) {
	if (v[c, f, 1] == "-") return "-"
	return sprintf("%.3f (%.3f-%.3f) %.2f", med(c, f), med(c, f + 2), med(c, f + 3), med(c, f + 1))
}
function ratio(c, f,   r, q) {
	if (v[c, f, 1] == "-") return "-"
	for (r = 1; r <= n[c]; r++) q[r] = v[c, 2, r] / v[c, f, r]
	return sprintf("%.2f", median(q, n[c]))
}
END {
	printf "| devices | iomed, N devices on one dpdk: port | DPDK vhost-user loopback, N queues | iomed / DPDK | runs |\n"
	printf "|------:|:------|:------|------:|-----:|\n"
	k = split(counts, s, " ")
	for (x = 1; x <= k; x++) {
		c = s[x]
		printf "| %d | %s | %s | %s | %d |\n", c, cell(c, 2), cell(c, 6), ratio(c, 6), n[c]
	}
}' "$BENCH_DIR/results"
echo
echo "Mpps: $SIZE-byte frames that made the round trip, per second, all devices (queues) together,"
echo "counted by the driver side (vnet_bench; testpmd's per-queue Rx xstats of the virtio_user port)."
echo "Cells: total Mpps (the slowest and the fastest device or queue) fairness, medians over runs."
echo "Fairness: Jain's index over the devices (queues), 1 when all got the same, 1/N when one got all."
if [ "${BENCH_VERBOSE:-0}" = 1 ]; then
	cat "$BENCH_DIR/iomed.runs"
	[ ! -f "$BENCH_DIR/dpdk.runs" ] || cat "$BENCH_DIR/dpdk.runs"
fi
