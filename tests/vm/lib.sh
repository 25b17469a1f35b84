# tests/vm/lib.sh — host-side helpers for the VM tests (real QEMU 11.1 + a Debian guest kernel).
# Source it from a test script (bash):
#
#   . "$(dirname "$0")/lib.sh"
#   vm_init                                   # test bed, work dir, cleanup trap
#   daemon_start --device testdev,socket=$VM_WORK/td0.sock,id=td0
#   vm_initramfs "$VM_WORK/initrd" guest.sh    # guest.sh runs as /init, with /etc/iomed-guest.sh
#   vm_boot boot1 "$VM_WORK/initrd" --vfio-user td0=$VM_WORK/td0.sock --append "iomed.mode=basic"
#   vm_check boot1 id liveness ...             # PASS for each name, no FAIL, DONE seen
#   daemon_check                               # the daemon is still alive (no sanitizer report)
#   daemon_stop                                # SIGTERM: clean exit, sockets removed
#   vm_finish                                  # summary line and exit status
#
# Environment knobs:
#   IOMED           the daemon binary (default: build/iomed in the source tree)
#   IOMED_VM_ACCEL  tcg (default), kvm, or auto (probe KVM once with a plain guest, fall back to tcg)
#   IOMED_VM_TIMEOUT  hard limit for one guest run in seconds (default 90)
#   IOMED_VM_KEEP=1 keep the work folder (serial logs, daemon log) after the test
#   IOMED_VM_VERBOSE=1  print every serial log, not only failing ones
#   IOMED_VM_ISOLATE=1  run the daemon with --isolate (one sandboxed process per device); a device
#                   process that dies is then a FAIL of daemon_check
#   IOMED_VM_USER   with IOMED_VM_ISOLATE=1: the device processes' user (--user), e.g. 65534
# shellcheck shell=bash

VM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_LIB_DIR=$VM_SRC/tests/vm
IOMED=${IOMED:-$VM_SRC/build/iomed}
VM_TIMEOUT=${IOMED_VM_TIMEOUT:-90}
VM_WORK=""
VM_NS=""           # the test's network namespace (vm_netns), deleted at exit
VM_PIDS=()         # every process we started (daemons, QEMUs), killed by PID at exit
DAEMON_PID=""
DAEMON_LOG=""
DAEMON_SOCKS=()
QEMU_PID=""
VM_FAILED=0
VM_PASSED=0
VM_NAME=${VM_NAME:-$(basename "${0%.sh}")}

vm_log() { echo "[$VM_NAME] $*" >&2; }
vm_die() {
	vm_log "ERROR: $*"
	exit 1
}

# ---------------------------------------------------------------------------------------------
# setup / teardown
vm_init() {
	set -euo pipefail
	trap vm_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/iomed-vm.XXXXXX")
	vm_testbed
}

vm_testbed() { # fetch (once, cached) and load the test bed paths
	local envs
	envs=$("$VM_SRC/scripts/testbed.sh" env) || vm_die "test bed not available (scripts/testbed.sh fetch)"
	eval "$envs"
	export IOMED_QEMU_SYSROOT IOMED_KERNEL IOMED_MODULES_DIR IOMED_KERNEL_VERSION
}

vm_kill() { # vm_kill PID: TERM, then KILL after 3 s; reaps it if it is our child
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie child answers kill -0: reap it
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then break; fi
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

vm_cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${VM_PIDS[@]}"; do vm_kill "$pid"; done
	# after the processes: a namespace goes only once nothing runs in it
	if [ -n "$VM_NS" ]; then ip netns del "$VM_NS" 2>/dev/null || true; fi
	if [ -n "$VM_WORK" ] && [ -d "$VM_WORK" ]; then
		if [ "${IOMED_VM_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ "${IOMED_VM_KEEP:-0}" = fail ]; }; then
			vm_log "work folder kept: $VM_WORK"
		else
			rm -rf "$VM_WORK"
		fi
	fi
	exit $rc
}

# vm_netns PREFIX: a network namespace of this run's own, PREFIX-PID-RANDOM in VM_NS (loopback up,
# deleted by vm_cleanup once every process we started is gone), IN_NS=(ip netns exec $VM_NS).
# vm_iomed_in_ns: daemon_start runs $IOMED inside it from then on (its taps are born there); the
# binary itself stays in VM_IOMED_BIN. Needs root.
vm_netns() {
	[ "$(id -u)" = 0 ] || vm_die "needs root for ip netns"
	VM_NS=$1-$$-$RANDOM
	ip netns add "$VM_NS" || vm_die "cannot create network namespace $VM_NS"
	IN_NS=(ip netns exec "$VM_NS")
	"${IN_NS[@]}" ip link set lo up
}

vm_iomed_in_ns() {
	VM_IOMED_BIN=${VM_IOMED_BIN:-$IOMED}
	IOMED=$VM_WORK/iomed-in-ns
	printf '#!/bin/sh\nexec ip netns exec %q %q "$@"\n' "$VM_NS" "$VM_IOMED_BIN" >"$IOMED"
	chmod +x "$IOMED"
}

# ---------------------------------------------------------------------------------------------
# the daemon
# daemon_start ARGS...: start $IOMED ARGS (plus --log-level debug unless IOMED_LOG_LEVEL is set),
# wait for every socket=PATH named in ARGS to appear (10 s), record the PID. Its log is
# $VM_WORK/${DAEMON_NAME:-iomed}.log (a test with two daemons names them).
daemon_start() {
	[ -x "$IOMED" ] || vm_die "daemon binary $IOMED not found (meson setup build && ninja -C build)"
	local a s socks=() rc
	for a in "$@"; do
		case $a in *socket=*)
			s=${a#*socket=}
			s=${s%%,*}
			socks+=("$s")
			;;
		esac
	done
	DAEMON_LOG=$VM_WORK/${DAEMON_NAME:-iomed}.log
	local level=${IOMED_LOG_LEVEL:-debug} isolate=()
	if [ "${IOMED_VM_ISOLATE:-0}" = 1 ]; then
		isolate=(--isolate)
		[ -z "${IOMED_VM_USER:-}" ] || isolate+=(--user "$IOMED_VM_USER")
	fi
	"$IOMED" "${isolate[@]}" "$@" --log-level "$level" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	DAEMON_SOCKS=("${socks[@]}")
	VM_PIDS+=("$DAEMON_PID")
	local i ok
	for i in $(seq 100); do
		ok=1
		for s in "${socks[@]}"; do [ -S "$s" ] || ok=0; done
		[ $ok = 1 ] && break
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID" 2>/dev/null && rc=0 || rc=$?
			vm_log "daemon exited early (status $rc); its log:"
			tail -n 40 "$DAEMON_LOG" | sed 's/^/  iomed| /' >&2
			vm_die "daemon did not start"
		fi
		sleep 0.1
	done
	[ $ok = 1 ] || {
		tail -n 40 "$DAEMON_LOG" | sed 's/^/  iomed| /' >&2
		vm_die "daemon socket(s) ${socks[*]} did not appear within 10 s"
	}
	vm_log "daemon started (pid $DAEMON_PID): $(basename "$IOMED") ${isolate[*]} $*"
}

daemon_alive() {
	[ -n "$DAEMON_PID" ] || return 1
	kill -0 "$DAEMON_PID" 2>/dev/null || return 1
	[ "$(ps -o stat= -p "$DAEMON_PID" 2>/dev/null | cut -c1)" != Z ]
}

# daemon_check [WHEN]: records a PASS/FAIL for the daemon still running (and with --isolate, for
# every device process having lived through it)
daemon_check() {
	local when=${1:-}
	daemon_sanitizer_check "$when" || true
	daemon_devices_check "$when" || true
	if daemon_alive; then
		vm_pass "daemon-alive${when:+-$when}"
	else
		local rc=0
		wait "$DAEMON_PID" 2>/dev/null || rc=$?
		vm_fail "daemon-alive${when:+-$when}" "daemon (pid $DAEMON_PID) is gone, exit status $rc"
		daemon_log_tail
	fi
}

# daemon_sanitizer_check [WHEN]: FAIL when the daemon log holds an ASan/UBSan/LSan report
daemon_sanitizer_check() {
	local when=${1:-}
	[ -n "$DAEMON_LOG" ] && [ -f "$DAEMON_LOG" ] || return 0
	if grep -aqE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$DAEMON_LOG"; then
		vm_fail "daemon-sanitizer${when:+-$when}" "sanitizer report in the daemon log"
		grep -aE -A 12 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$DAEMON_LOG" | head -n 40 | sed 's/^/  iomed| /' >&2
		return 1
	fi
	return 0
}

# daemon_stop: SIGTERM, the daemon must exit 0 within 10 s, remove its sockets and leave no
# sanitizer report (leaks are reported at exit under ASan)
daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	local pid=$DAEMON_PID rc=0 i s
	if ! daemon_alive; then
		vm_fail daemon-stop "daemon already gone"
		return 0
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]; then
		vm_fail daemon-stop "still running 10 s after SIGTERM"
		vm_kill "$pid"
	else
		wait "$pid" 2>/dev/null || rc=$?
		if [ $rc -eq 0 ]; then vm_pass daemon-stop; else vm_fail daemon-stop "exit status $rc after SIGTERM"; daemon_log_tail; fi
	fi
	DAEMON_PID=""
	local left=()
	for s in "${DAEMON_SOCKS[@]}"; do [ -e "$s" ] && left+=("$s"); done
	if [ ${#left[@]} -eq 0 ]; then vm_pass daemon-sockets-removed; else vm_fail daemon-sockets-removed "left behind: ${left[*]}"; fi
	if daemon_sanitizer_check stop; then vm_pass daemon-no-sanitizer-report; fi
}

# daemon_devices_check [WHEN]: with --isolate, FAIL when the supervisor reported a device process
# that died (each report counted once)
DAEMON_DEATHS_SEEN=0
daemon_devices_check() {
	local when=${1:-} deaths
	[ "${IOMED_VM_ISOLATE:-0}" = 1 ] && [ -n "$DAEMON_LOG" ] && [ -f "$DAEMON_LOG" ] || return 0
	deaths=$(grep -acE 'iomed error: device .* \(pid [0-9]+\) (killed by signal|exited with status)' "$DAEMON_LOG" || true)
	if [ "$deaths" -gt "$DAEMON_DEATHS_SEEN" ]; then
		vm_fail "device-processes${when:+-$when}" "a device process died"
		grep -aE 'forbidden system call|iomed error: device .* \(pid [0-9]+\) (killed by signal|exited with status)' "$DAEMON_LOG" | tail -n 5 | sed 's/^/  iomed| /' >&2
		DAEMON_DEATHS_SEEN=$deaths
		return 1
	fi
	vm_pass "device-processes${when:+-$when}"
}

# daemon_stats PID LOG ID: device ID's message counters from a fresh SIGUSR2 dump of the daemon PID
# logging to LOG, as one line "sessions=N errors=N bad=N CMD=N ..."
daemon_stats() {
	local pid=$1 log=$2 id=$3 n i
	n=$(grep -ac "device $id stats:" "$log" || true)
	kill -USR2 "$pid"
	for i in $(seq 100); do
		[ "$(grep -ac "device $id stats:" "$log" || true)" -gt "$n" ] && break
		sleep 0.05
	done
	grep -a "device $id stats:" "$log" | tail -n 1 | sed 's/.*stats: //'
}

# stats_delta BEFORE AFTER: "CMD=+N " for every counter of two daemon_stats lines that moved
stats_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); A[kv[1]] = kv[2] }
		n = split(b, y, " "); for (i = 1; i <= n; i++) { split(y[i], kv, "="); d = kv[2] - A[kv[1]]
			if (d && kv[1] != "sessions") printf "%s=+%d ", kv[1], d }
	}'
}

# Tests with two daemons: daemon_save NAME keeps the current one (PID, log, sockets) in the array
# NAME; daemon_use NAME makes it the current one again, for daemon_check, daemon_stop, ...
daemon_save() { eval "$1=(\"\$DAEMON_PID\" \"\$DAEMON_LOG\" \"\${DAEMON_SOCKS[@]}\")"; }
daemon_use() {
	local -n d=$1
	DAEMON_PID=${d[0]} DAEMON_LOG=${d[1]}
	DAEMON_SOCKS=("${d[@]:2}")
}

daemon_log_tail() {
	[ -n "$DAEMON_LOG" ] && [ -f "$DAEMON_LOG" ] || return 0
	echo "---- daemon log (last ${1:-30} lines) ----" >&2
	tail -n "${1:-30}" "$DAEMON_LOG" | sed 's/^/  iomed| /' >&2
}

# ---------------------------------------------------------------------------------------------
# guest images
# vm_initramfs OUT GUEST_SCRIPT [mkinitramfs args: -m MODULE, -f SRC:DEST ...]
vm_initramfs() {
	local out=$1 guest=$2
	shift 2
	"$VM_SRC/scripts/mkinitramfs.sh" -M "$IOMED_MODULES_DIR" -i "$guest" \
		-f "$VM_LIB_DIR/guest_lib.sh:/etc/iomed-guest.sh" "$@" -o "$out" ||
		vm_die "mkinitramfs failed for $guest"
}

# vm_with_libs BIN:DEST...: mkinitramfs arguments (one a line: -f, SRC:DEST) for each dynamically
# linked BIN at DEST and every shared library they load (the loader too), at the paths the loader
# looks for them. Use: mapfile -t args < <(vm_with_libs "$IOMED:/bin/iomed")
vm_with_libs() {
	local spec lib
	for spec in "$@"; do printf -- '-f\n%s\n' "$spec"; done
	for spec in "$@"; do ldd "${spec%%:*}"; done |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
		while read -r lib; do printf -- '-f\n%s:%s\n' "$lib" "$lib"; done
}

# ---------------------------------------------------------------------------------------------
# QEMU
VM_ACCEL_CHOSEN=""
vm_accel() {
	if [ -n "$VM_ACCEL_CHOSEN" ]; then echo "$VM_ACCEL_CHOSEN"; return; fi
	case ${IOMED_VM_ACCEL:-tcg} in
	tcg | kvm) VM_ACCEL_CHOSEN=${IOMED_VM_ACCEL:-tcg} ;;
	auto)
		VM_ACCEL_CHOSEN=tcg
		if [ -w /dev/kvm ]; then
			local g=$VM_WORK/kvmprobe.sh img=$VM_WORK/kvmprobe.img log=$VM_WORK/kvmprobe.serial
			printf '#!/bin/sh\necho IOMED-TEST: DONE\npoweroff -f\n' >"$g"
			"$VM_SRC/scripts/mkinitramfs.sh" -i "$g" -o "$img" >/dev/null
			timeout -s KILL 20 "$VM_SRC/scripts/qemu" -machine q35,accel=kvm -m 256M -nic none \
				-kernel "$IOMED_KERNEL" -initrd "$img" -append "console=ttyS0 panic=-1 quiet no_timer_check" \
				-display none -serial "file:$log" -monitor none -no-reboot >/dev/null 2>&1 || true
			grep -aq 'IOMED-TEST: DONE' "$log" 2>/dev/null && VM_ACCEL_CHOSEN=kvm
		fi
		;;
	*) vm_die "IOMED_VM_ACCEL must be tcg, kvm or auto" ;;
	esac
	echo "$VM_ACCEL_CHOSEN"
}

# vm_start NAME INITRD [options]: start QEMU in the background; sets QEMU_PID, serial log
# $VM_WORK/NAME.serial, QEMU's own output in $VM_WORK/NAME.qemu.
#   --vfio-user ID=SOCKETPATH   attach a vfio-user-pci device (repeatable)
#   --append "ARGS"             more kernel command line
#   --reboot                    let the guest reboot (no -no-reboot)
#   --mem SIZE                  guest RAM (default 512M)
#   --                          the rest goes to QEMU as is
vm_start() {
	local name=$1 initrd=$2
	shift 2
	local append="" reboot=0 mem=512M extra=() devs=() a
	while [ $# -gt 0 ]; do
		case $1 in
		--vfio-user)
			a=$2
			devs+=(-device "{\"driver\":\"vfio-user-pci\",\"id\":\"${a%%=*}\",\"socket\":{\"type\":\"unix\",\"path\":\"${a#*=}\"}}")
			shift 2
			;;
		--append) append="$append $2"; shift 2 ;;
		--reboot) reboot=1; shift ;;
		--mem) mem=$2; shift 2 ;;
		--) shift; extra+=("$@"); break ;;
		*) vm_die "vm_start: unknown option $1" ;;
		esac
	done
	local accel
	accel=$(vm_accel)
	local serial=$VM_WORK/$name.serial qlog=$VM_WORK/$name.qemu
	: >"$serial"
	local args=(
		-machine "q35,accel=$accel" -m "$mem"
		-object "memory-backend-memfd,id=mem,size=$mem,share=on" -machine memory-backend=mem
		-kernel "$IOMED_KERNEL" -initrd "$initrd"
		# no_timer_check: a loaded TCG host can miss the kernel's IO-APIC timer check, which
		# panics behind an emulated IOMMU's interrupt remapping
		-append "console=ttyS0 panic=-1 quiet no_timer_check${append}"
		-nographic -serial "file:$serial" -monitor none -nic none
	)
	[ $reboot = 1 ] || args+=(-no-reboot)
	# raw arguments first: an IOMMU (-device intel-iommu) must precede the devices behind it
	args+=("${extra[@]}" "${devs[@]}")
	printf '%q ' "$VM_SRC/scripts/qemu" "${args[@]}" >"$VM_WORK/$name.cmdline"
	"$VM_SRC/scripts/qemu" "${args[@]}" </dev/null >"$qlog" 2>&1 &
	QEMU_PID=$!
	VM_PIDS+=("$QEMU_PID")
	VM_START_TIME=$(date +%s.%N)
}

# vm_wait [TIMEOUT]: wait for the QEMU started last to exit; kills it at the timeout.
# Returns its exit status (124 for a timeout).
vm_wait() {
	local limit=${1:-$VM_TIMEOUT} pid=$QEMU_PID i rc=0
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		vm_kill "$pid"
		vm_log "QEMU (pid $pid) still running after ${limit} s: killed"
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# vm_wait_marker NAME REGEX [TIMEOUT]: wait until the serial log of NAME has a line matching REGEX
# (grep -E); fails if QEMU exits first or at the timeout.
vm_wait_marker() {
	local name=$1 re=$2 limit=${3:-$VM_TIMEOUT} i
	for ((i = 0; i < limit * 10; i++)); do
		grep -aEq "$re" "$VM_WORK/$name.serial" 2>/dev/null && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || { grep -aEq "$re" "$VM_WORK/$name.serial" && return 0; return 1; }
		sleep 0.1
	done
	return 1
}

# vm_boot NAME INITRD [vm_start options]: run a guest to the end (hard timeout). Records a FAIL
# "NAME-qemu" when QEMU fails or times out; returns QEMU's status.
vm_boot() {
	local name=$1 rc=0
	vm_start "$@"
	vm_wait "$VM_TIMEOUT" || rc=$?
	local t
	t=$(awk -v s="$VM_START_TIME" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	if [ $rc -eq 0 ]; then
		vm_log "guest $name finished in ${t} s"
	else
		vm_log "guest $name: QEMU exit status $rc after ${t} s"
	fi
	return $rc
}

# vm_check NAME EXPECTED...: every EXPECTED check has a PASS line, no FAIL line, DONE seen.
# Adds one PASS/FAIL per expected name (prefixed NAME/) to the totals; prints logs on failure.
vm_check() {
	local name=$1
	shift
	local serial=$VM_WORK/$name.serial bad=0 e line
	if [ "${IOMED_VM_VERBOSE:-0}" = 1 ]; then vm_show_serial "$name" 200; fi
	for e in "$@"; do
		if grep -aqE "IOMED-TEST: PASS ${e}[[:space:]]*\$" "$serial"; then
			vm_pass "$name/$e"
		else
			line=$(grep -a "IOMED-TEST: FAIL $e " "$serial" | head -n1 | sed "s/.*IOMED-TEST: FAIL [^ ]* //" || true)
			vm_fail "$name/$e" "${line:-no PASS line}"
			bad=1
		fi
	done
	# FAIL lines for checks the host did not list
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		e=${line%% *}
		printf '%s\n' "$@" | grep -qxF "$e" && continue
		vm_fail "$name/$e" "${line#* }"
		bad=1
	done < <(grep -a 'IOMED-TEST: FAIL ' "$serial" | sed 's/.*IOMED-TEST: FAIL //' || true)
	if grep -aq 'IOMED-TEST: DONE' "$serial"; then
		vm_pass "$name/done"
	else
		vm_fail "$name/done" "guest never printed IOMED-TEST: DONE"
		bad=1
	fi
	if [ $bad = 1 ]; then
		vm_show_serial "$name" 60
		vm_show_qemu "$name"
		daemon_log_tail 40
	fi
	return $bad
}

vm_show_qemu() { # QEMU's own messages (not its register dumps)
	local q=$VM_WORK/$1.qemu
	[ -s "$q" ] || return 0
	echo "---- QEMU output ($1) ----" >&2
	{ grep -av -E '^([A-Z0-9]{2,6} ?=|[A-Z]{2,3}[0-9]*=|Code=)' "$q" || true; } | head -n 20 | sed 's/^/  qemu| /' >&2
}

vm_show_serial() {
	echo "---- serial log $1 (last ${2:-60} lines) ----" >&2
	tail -n "${2:-60}" "$VM_WORK/$1.serial" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/^/  guest| /' >&2
}

# ---------------------------------------------------------------------------------------------
# results
vm_pass() {
	VM_PASSED=$((VM_PASSED + 1))
	echo "ok   $1"
}
vm_fail() {
	VM_FAILED=$((VM_FAILED + 1))
	echo "FAIL $1${2:+: $2}"
}

# vm_finish: closing line ("N passed, N failed") and exit status
vm_finish() {
	echo "$VM_NAME: $VM_PASSED passed, $VM_FAILED failed"
	[ $VM_FAILED -eq 0 ] && [ $VM_PASSED -gt 0 ]
	exit $?
}
