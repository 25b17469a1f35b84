#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A real guest (Linux 6.12, QEMU 11.1 under TCG) with four NICs, each on its own tap in a network
# namespace this script creates, measured in the same boot, round after round:
#   1  iomed virtio-net (vfio-user-pci, net=tap:..., the guest's virtio_net driver)
#   2  QEMU's own -device virtio-net-pci on -netdev tap,vhost=off
#   3  QEMU's own -device e1000 on -netdev tap
#   4  iomed iavf (an emulated E810 VF, vfio-user-pci, net=tap:..., the guest's iavf driver)
# Per round and NIC: ping RTT (guest -> host, 20 pings), TCP guest->host and host->guest (iperf3,
# the host side an iperf3 server in the namespace). The table gives medians over rounds and the
# median of the per-round ratios against QEMU's virtio-net. See docs/performance.md.
#
#   bench/vm_net.sh [--rounds N] [--seconds S] [--iomed-opts OPTS]
#     --rounds N        rounds (default 3)
#     --seconds S       iperf3 time per direction (default 10)
#     --iomed-opts OPTS more options for iomed's --device virtio-net and iavf (e.g. poll-us=200)
#     --nics LIST       which NICs to measure, e.g. 1,2 (default 1,2,3,4)
#     --tests LIST      which measurements, of ping,tx,rx (default all three)
#     --perf FILE       a system-wide profile (perf record -g, cpu-clock) of the first measurement,
#                       from 2 s after it starts, for half its time
# Needs root (ip netns) and iperf3 (scripts/setup.sh --bench).
#
# Knobs of tests/vm/lib.sh apply (IOMED_VM_KEEP=1 keeps the serial log). IOMED defaults to the
# release build (build-release/iomed, built here).
set -euo pipefail
ROUNDS=3 SECS=10 XOPTS="" NICS=1,2,3,4 TESTS=ping,tx,rx PERF=""
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--iomed-opts) XOPTS=$2; shift 2 ;;
	--nics) NICS=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	--perf) PERF=$(realpath -m "$2"); shift 2 ;;
	--in-ns) IN_NS=$2; shift 2 ;;
	-h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "vm_net.sh: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
done

# The whole benchmark runs inside a namespace of its own: taps, addresses, daemon, QEMU, iperf3.
if [ -z "${IN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "vm_net.sh: needs root (ip netns)" >&2; exit 1; }
	command -v iperf3 >/dev/null || { echo "vm_net.sh: no iperf3: scripts/setup.sh --bench" >&2; exit 1; }
	NS=iomed-vmnet-$$-$RANDOM
	ip netns add "$NS"
	rc=0
	ip netns exec "$NS" "$0" --rounds "$ROUNDS" --seconds "$SECS" --iomed-opts "$XOPTS" \
		--nics "$NICS" --tests "$TESTS" ${PERF:+--perf "$PERF"} --in-ns "$NS" || rc=$?
	ip netns del "$NS" 2>/dev/null || true
	exit $rc
fi

. "$(dirname "$0")/lib.sh"
bench_build iomed
export IOMED=${IOMED:-$BENCH_BUILD/iomed} IOMED_LOG_LEVEL=${IOMED_LOG_LEVEL:-info}
VM_NAME=vm_net
. "$BENCH_SRC/tests/vm/lib.sh"
vm_init
VM_TIMEOUT=$((300 + ROUNDS * 4 * (2 * SECS + 10) * 2))

ip link set lo up
TAP=ivb$$
TAP=${TAP:0:12}
SOCK=$VM_WORK/vn0.sock SOCK4=$VM_WORK/vf0.sock
daemon_start --device "virtio-net,socket=$SOCK,id=vn0,net=tap:${TAP}1,mac=52:54:00:67:01:02${XOPTS:+,$XOPTS}" \
	--device "iavf,socket=$SOCK4,id=vf0,net=tap:${TAP}4,mac=52:54:00:67:04:02${XOPTS:+,$XOPTS}"
ip tuntap add dev "${TAP}2" mode tap
ip tuntap add dev "${TAP}3" mode tap
for n in 1 2 3 4; do
	ip addr add "10.67.$n.1/24" dev "$TAP$n"
	ip link set "$TAP$n" up
done
iperf3 -s >"$VM_WORK/iperf3.log" 2>&1 &
VM_PIDS+=("$!")

# iperf3 and the libraries it loads, at the same paths in the guest
files=(-f "$(command -v iperf3):/bin/iperf3")
while read -r lib; do
	files+=(-f "$lib:$lib")
done < <(ldd "$(command -v iperf3)" | grep -o '/[^ ]*' | sort -u)
INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$BENCH_SRC/bench/vm_net_guest.sh" -m virtio_net -m e1000 -m iavf "${files[@]}"

bench_machine
echo "command: bench/vm_net.sh --rounds $ROUNDS --seconds $SECS --nics $NICS --tests $TESTS${XOPTS:+ --iomed-opts $XOPTS}"
echo "guest: Linux $IOMED_KERNEL_VERSION, QEMU $("$VM_SRC/scripts/qemu" --version | head -n1 | awk '{ print $4 }'), $(vm_accel), 1 vCPU, 1 GiB"
vm_start bench "$INITRD" --mem 1G --vfio-user "vn0=$SOCK" --vfio-user "vf0=$SOCK4" \
	--append "iomed.rounds=$ROUNDS iomed.secs=$SECS iomed.nics=$NICS iomed.tests=$TESTS" -- \
	-netdev "tap,id=n2,ifname=${TAP}2,script=no,downscript=no,vhost=off" \
	-device "virtio-net-pci,netdev=n2,mac=52:54:00:67:02:02" \
	-netdev "tap,id=n3,ifname=${TAP}3,script=no,downscript=no" \
	-device "e1000,netdev=n3,mac=52:54:00:67:03:02"
if [ -n "$PERF" ]; then
	(vm_wait_marker bench 'INFO PHASE' "$VM_TIMEOUT" && sleep 2 &&
		perf record -q -e cpu-clock -a -g -o "$PERF" -- sleep $((SECS / 2)) >/dev/null 2>&1) &
	VM_PIDS+=("$!")
fi
vm_wait "$VM_TIMEOUT" || vm_log "QEMU exit status $?"
vm_check bench nic1-up nic2-up nic3-up nic4-up >/dev/null || { vm_show_serial bench 40; exit 1; }
daemon_check >/dev/null
daemon_stop >/dev/null

echo
grep -ao 'INFO RESULT .*' "$VM_WORK/bench.serial" | tr -d '\r' | sed 's/^INFO RESULT //' | awk "$BENCH_AWK_MEDIAN"'
function val(s) { sub(/^[a-z_]*=/, "", s); return s }
{ r = val($1); n = val($2); v[n, r, 3] = val($3); v[n, r, 1] = val($4); v[n, r, 2] = val($5); if (r > R) R = r }
END {
	name[1] = "iomed virtio-net (vfio-user)"; name[2] = "QEMU virtio-net-pci (tap, vhost=off)"; name[3] = "QEMU e1000 (tap)"
	name[4] = "iomed iavf (vfio-user)"
	printf "| NIC | guest->host Mbit/s | host->guest Mbit/s | ping RTT ms | x QEMU virtio-net: tx / rx / RTT | rounds |\n"
	printf "|-----|------:|------:|------:|:------|-----:|\n"
	for (n = 1; n <= 4; n++) {
		for (m = 1; m <= 3; m++) {
			k = 0; kk = 0
			for (r = 1; r <= R; r++) {
				if (v[n, r, m] == "" || v[n, r, m] == "nan") continue
				a[++k] = v[n, r, m] + 0
				if (v[2, r, m] != "" && v[2, r, m] != "nan" && v[2, r, m] > 0) b[++kk] = v[n, r, m] / v[2, r, m]
			}
			med[m] = k ? sprintf("%.1f", median(a, k)) : "n/a"
			if (m == 3 && k) med[m] = sprintf("%.2f", median(a, k))
			rat[m] = kk ? sprintf("%.2f", median(b, kk)) : "n/a"
		}
		printf "| %s | %s | %s | %s | %s / %s / %s | %d |\n", name[n], med[1], med[2], med[3], rat[1], rat[2], rat[3], R
	}
}'
echo
echo "Mbit/s: iperf3's receiver figure (TCP payload), $SECS s per direction; RTT: average of 20 pings"
echo "guest -> host. Ratios: median over rounds of NIC / QEMU virtio-net in the same round (for RTT"
echo "lower is better)."
[ "${BENCH_VERBOSE:-0}" = 1 ] && grep -ao 'INFO RESULT .*' "$VM_WORK/bench.serial" | tr -d '\r'
vm_finish >/dev/null
