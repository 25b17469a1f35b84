# tests/soak/lib.sh — helpers of the soak tests, on top of tests/vm/lib.sh (sourced here).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   vm_init; daemon_start ...
#   ... first cycle ...; soak_settle; soak_sample FIRST
#   ... more cycles ...;  soak_settle; soak_sample LAST
#   soak_compare FIRST LAST "N cycles"      # fds and threads equal, RSS within the tolerance
#
# A sample is the daemon's open fds (/proc/PID/fd), its RSS (VmRSS) and threads (Threads) once
# no client is connected. fds and threads must be equal. RSS may grow by IOMED_SOAK_RSS_KB
# (default 256 kB) and no more. The first cycle already made every thread, table and port
# buffer the daemon keeps, so a daemon that leaks nothing stays within a few pages: glibc keeps
# freed blocks in each thread's arena and splits them differently as message sizes vary
# (measured +44 kB over 12 cycles for a build without sanitizers, 0 kB under ASan), and
# touched pages of the loopback port's ring stay resident. A leak of one page per cycle is
# 400 kB over 100 cycles; one per DMA map or message far more. Under ASan the quarantine is
# turned off for the soak (below): it holds freed blocks back and made RSS climb by 800 kB in
# the first cycles with nothing leaked. Use-after-free is what the quarantine catches; the
# unit, integration, VM and fuzz runs keep it. Leaks are still reported by LeakSanitizer when
# the daemon exits (daemon_stop fails on any report). The sanitizer runtime's own cost per
# thread is allowed for (soak_compare).
# shellcheck shell=bash

# shellcheck source=../vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"

SOAK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOAK_RSS_KB=${IOMED_SOAK_RSS_KB:-256}
# The RSS figures must show the daemon, not ASan's quarantine of freed blocks.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
[[ $ASAN_OPTIONS == *quarantine_size_mb* ]] ||
	ASAN_OPTIONS+=:quarantine_size_mb=0:thread_local_quarantine_size_kb=0
export ASAN_OPTIONS

# soak_daemon_start: the daemon every soak test uses, info-level log: a testdev on $TD and a
# virtio-net on a loopback port (the guest's frames come back to it) on $VN
soak_daemon_start() {
	TD=$VM_WORK/td0.sock
	VN=$VM_WORK/vn0.sock
	IOMED_LOG_LEVEL=${IOMED_LOG_LEVEL:-info} daemon_start --device "testdev,socket=$TD,id=td0" \
		--device "virtio-net,socket=$VN,id=vn0,net=loopback"
}

# soak_guest_image: $INITRD, the guest of tests/soak/guest_soak.sh with the virtio_net driver
soak_guest_image() {
	INITRD=$VM_WORK/initrd.img
	vm_initramfs "$INITRD" "$SOAK_DIR/guest_soak.sh" -m virtio_net
}

soak_fds() { ls "/proc/$DAEMON_PID/fd" 2>/dev/null | wc -l; }
soak_status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null; }

# what the daemon's fds are, counted by kind (socket, eventfd, memfd, ...)
soak_fd_kinds() {
	local f
	for f in "/proc/$DAEMON_PID/fd"/*; do readlink "$f"; done 2>/dev/null |
		sed -E 's/:\[[0-9]+\]$//; s/ \(deleted\)$//' | sort | uniq -c | sort -rn | head -n 12
}

# soak_settle [TIMEOUT_S]: wait until the daemon has ended every session it started (as many
# "client disconnected" as "client connected" log lines, three looks 50 ms apart) and its fd
# count is steady. Fails (returns 1) at the timeout.
soak_settle() {
	local limit=${1:-20} i c d f prev=-1 stable=0
	for ((i = 0; i < limit * 20; i++)); do
		daemon_alive || return 1
		c=$(grep -ac 'client connected' "$DAEMON_LOG")
		d=$(grep -ac 'client disconnected' "$DAEMON_LOG")
		f=$(soak_fds)
		if [ "$c" = "$d" ] && [ "$f" = "$prev" ]; then
			stable=$((stable + 1))
			[ $stable -ge 2 ] && return 0
		else
			stable=0
		fi
		prev=$f
		sleep 0.05
	done
	vm_log "daemon did not settle: $c sessions started, $d ended, $f fds"
	return 1
}

# soak_sample NAME: NAME_fds, NAME_rss (kB), NAME_threads; printed
soak_sample() {
	local n=$1
	printf -v "${n}_fds" '%s' "$(soak_fds)"
	printf -v "${n}_rss" '%s' "$(soak_status VmRSS)"
	printf -v "${n}_threads" '%s' "$(soak_status Threads)"
	local f=${n}_fds r=${n}_rss t=${n}_threads
	vm_log "sample $n: ${!f} fds, ${!t} threads, VmRSS ${!r} kB"
}

# soak_compare FIRST LAST WHAT [STARTED]: one PASS/FAIL each for fds, threads and RSS, and the
# figures line. STARTED: threads the daemon started (and joined) between the samples. The
# sanitizer runtime keeps about 190 bytes for every thread a process ever ran (its thread
# registry; a plain build stays flat): under ASan each adds 256 bytes to the tolerance.
soak_compare() {
	local a=$1 b=$2 what=$3 started=${4:-0} v tol=$SOAK_RSS_KB
	local af=${a}_fds bf=${b}_fds at=${a}_threads bt=${b}_threads ar=${a}_rss br=${b}_rss
	local grow=$((${!br} - ${!ar}))
	grep -q libasan "/proc/$DAEMON_PID/maps" 2>/dev/null && tol=$((tol + (started + 3) / 4))
	echo "FIGURES $VM_NAME: $what: fds ${!af} -> ${!bf}, threads ${!at} -> ${!bt}," \
		"VmRSS ${!ar} -> ${!br} kB (${grow} kB, tolerance ${tol} kB)"
	for v in fds threads; do
		local x=${a}_$v y=${b}_$v
		if [ "${!x}" = "${!y}" ]; then vm_pass "$v-steady"; else
			vm_fail "$v-steady" "${!x} after the first cycle, ${!y} at the end"
			[ $v = fds ] && soak_fd_kinds >&2
		fi
	done
	if [ $grow -le "$tol" ]; then vm_pass rss-steady; else
		vm_fail rss-steady "VmRSS grew by $grow kB (tolerance $tol kB)"
	fi
}
