#!/usr/bin/env bash
# soak_restart.sh — QEMU 11.1 killed (SIGKILL) and started again IOMED_SOAK_RESTARTS times
# (default 100) against one daemon serving a testdev and a virtio-net (loopback port).
# Cycle 1 and every IOMED_SOAK_GUEST_EVERY-th (default 25) boot the guest until both drivers are
# up and traffic flows (tests/soak/guest_soak.sh, mode hold), then kill it mid-traffic. The others
# kill QEMU at a point that rotates through: both sessions accepted (negotiation under way), the
# guest RAM DMA-mapped, the IRQ eventfds handed over, and a random moment in the first second
# (firmware and kernel probing the devices). After each kill the daemon must end both sessions
# and keep serving; after cycle 1 and at the end its fds, threads and RSS are sampled and must
# match (tests/soak/lib.sh). Usage: tests/soak/soak_restart.sh   (env knobs: tests/vm/lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

CYCLES=${IOMED_SOAK_RESTARTS:-100}
GUEST_EVERY=${IOMED_SOAK_GUEST_EVERY:-25}
soak_daemon_start
soak_guest_image
DEVS=(--vfio-user "td0=$TD" --vfio-user "vn0=$VN")

connected() { grep -ac 'client connected' "$DAEMON_LOG"; }
ram_mapped() { grep -aq 'memory-backend-memfd' "/proc/$DAEMON_PID/maps" 2>/dev/null; }
eventfds() { ls -l "/proc/$DAEMON_PID/fd" 2>/dev/null | grep -c 'eventfd'; }

# wait_for WHAT CMD...: poll CMD every 20 ms for up to 10 s (QEMU gone: give up)
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 500; i++)); do
		"$@" && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.02
	done
	vm_log "cycle $cycle: QEMU never reached '$what'"
	return 1
}

kill_qemu() {
	kill -KILL "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
}

# a guest with both drivers up; killed mid-traffic
guest_cycle() {
	local name=c$cycle
	vm_start "$name" "$INITRD" "${DEVS[@]}" --append "iomed.mode=hold"
	if vm_wait_marker "$name" 'IOMED-TEST: INFO DRIVER-UP' "$VM_TIMEOUT"; then
		sleep 0.$((RANDOM % 10))
		kill_qemu
		vm_check_passed "$name" td-id vn-driver vn-carrier vn-traffic
	else
		kill_qemu
		vm_fail "$name/driver-up" "no INFO DRIVER-UP"
		vm_show_serial "$name" 30
	fi
	rm -f "$VM_WORK/$name".*
}

# vm_check_passed NAME CHECK...: PASS lines present and no FAIL line (no DONE: it was killed)
vm_check_passed() {
	local name=$1 c ok=1
	shift
	for c in "$@"; do
		grep -aqE "IOMED-TEST: PASS $c\s*\$" "$VM_WORK/$name.serial" || ok=0
	done
	grep -aq 'IOMED-TEST: FAIL' "$VM_WORK/$name.serial" && ok=0
	if [ $ok = 1 ]; then GUEST_OK=$((GUEST_OK + 1)); else
		vm_fail "$name/checks" "missing PASS or a FAIL line"
		vm_show_serial "$name" 30
	fi
}

quick_cycle() {
	local stage=$1 c0 e0
	c0=$(connected)
	e0=$(eventfds)
	vm_start "c$cycle" "$INITRD" "${DEVS[@]}" --append "iomed.mode=hold"
	case $stage in
	0) wait_for "both sessions" eval '[ $(($(connected) - c0)) -ge 2 ]' ;;
	1) wait_for "guest RAM mapped" ram_mapped ;;
	2) wait_for "IRQ eventfds" eval '[ $(eventfds) -gt $e0 ]' ;;
	3) sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", r % 100 / 100 }')" ;;
	esac
	if [ $? = 0 ]; then STAGES[$stage]=$((${STAGES[$stage]:-0} + 1)); else MISSED=$((MISSED + 1)); fi
	kill_qemu
	rm -f "$VM_WORK/c$cycle".*
}

GUEST_OK=0
GUESTS=0
STAGES=()
MISSED=0
t0=$(date +%s)
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
	if [ $cycle = 1 ] || [ $((cycle % GUEST_EVERY)) = 0 ]; then
		GUESTS=$((GUESTS + 1))
		guest_cycle
	else
		quick_cycle $((cycle % 4))
	fi
	if ! soak_settle; then
		vm_fail "cycle-$cycle" "daemon did not end the sessions"
		daemon_log_tail 20
		break
	fi
	[ $cycle = 1 ] && soak_sample first
	[ $((cycle % ${IOMED_SOAK_LOG_EVERY:-10})) = 0 ] && vm_log "cycle $cycle/$CYCLES: $(soak_fds) fds, VmRSS $(soak_status VmRSS) kB"
done
soak_sample last
vm_log "$CYCLES cycles in $(($(date +%s) - t0)) s: $GUESTS with the guest's drivers up ($GUEST_OK checked)," \
	"kills after connect ${STAGES[0]:-0}, after DMA map ${STAGES[1]:-0}, after IRQs ${STAGES[2]:-0}," \
	"at random ${STAGES[3]:-0}, $MISSED before their point"
[ "$GUEST_OK" = "$GUESTS" ] && vm_pass guest-cycles
# QEMU that never gets that far makes cheap cycles that prove nothing
if [ $((MISSED * 10)) -le "$CYCLES" ]; then vm_pass kill-points; else
	vm_fail kill-points "$MISSED cycles never reached their kill point"; fi
soak_compare first last "$CYCLES QEMU kills ($GUESTS with drivers up)" $((2 * GUESTS))
daemon_check end
daemon_stop
vm_finish
