#!/usr/bin/env bash
# demo.sh — iomed end to end, in about a minute on a fresh machine (seconds once cached):
# installs what is missing, builds the daemon, fetches QEMU 11.1 + a Debian guest kernel, starts
# iomed serving a testdev, boots a Linux guest under QEMU with that device attached over vfio-user
# and shows, from inside the guest, the device working. Cleans up after itself.
#   scripts/demo.sh              (IOMED=path/to/iomed to use another binary; build/ by default)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ -t 1 ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi

step "host: dependencies (scripts/setup.sh)"
if [ -x scripts/setup.sh ]; then scripts/setup.sh; fi
echo "ok"

if [ -z "${IOMED:-}" ]; then
	step "host: building iomed (build/)"
	[ -f build/build.ninja ] || meson setup build >/dev/null
	ninja -C build >/dev/null
	export IOMED=$top/build/iomed
	echo "ok: $IOMED"
fi

step "host: test bed (QEMU 11.1 from trixie-backports, Debian trixie kernel; cached in ${IOMED_CACHE:-$HOME/.cache/iomed})"
scripts/testbed.sh fetch
eval "$(TESTBED_QUIET=1 scripts/testbed.sh env)"
scripts/qemu --version | head -n1
echo "guest kernel: $IOMED_KERNEL_VERSION"

# shellcheck disable=SC2034 # read by tests/vm/lib.sh
VM_NAME=demo
# shellcheck source=/dev/null
. tests/vm/lib.sh
vm_init

step "host: starting the daemon"
SOCK=$VM_WORK/td0.sock
IOMED_LOG_LEVEL=${IOMED_LOG_LEVEL:-info} daemon_start --device "testdev,socket=$SOCK,id=td0"

# the guest's /init: everything it prints lands in the transcript
cat >"$VM_WORK/guest_demo.sh" <<'GUEST'
#!/bin/sh
. /etc/iomed-guest.sh
guest_setup
echo
echo "guest: Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
echo
echo "guest: PCI functions (from /sys/bus/pci/devices)"
for d in /sys/bus/pci/devices/*; do
	c=$(cat "$d/class")
	printf '  %s  class %s  %s:%s' "${d##*/}" "${c#0x}" "$(sed 's/^0x//' "$d/vendor")" "$(sed 's/^0x//' "$d/device")"
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11ed ] && printf '   <- iomed testdev (vfio-user)'
	echo
done
D=$(find_pci 0x1234 0x11ed) || { fail demo "no iomed testdev (1234:11ed) in the guest"; guest_done; }
echo 1 >"$D/enable"
echo
echo "guest: testdev ${D##*/}: subsystem $(sed 's/^0x//' "$D/subsystem_vendor"):$(sed 's/^0x//' "$D/subsystem_device"), revision $(printf '%02x' "$(cfg8 "$D" 8)"), interrupt pin $(cfg8 "$D" 0x3d)"
for i in 0 1 2; do
	echo "  BAR$i at $(bar_addr "$D" $i), $(($(bar_size "$D" $i) / 1024)) KiB"
done
echo "  capabilities (offset:id): $(cap_list "$D")"
B0=$(bar_addr "$D" 0)
B2=$(bar_addr "$D" 2)
ok=1
expect() { # expect WHAT ACTUAL WANT
	if [ "$(($2))" -eq "$(($3))" ]; then
		printf '  %-50s %s  ok\n' "$1" "$(hex "$2")"
	else
		printf '  %-50s %s  WRONG (want %s)\n' "$1" "$(hex "$2")" "$(hex "$3")"
		ok=0
	fi
}
echo
echo "guest: BAR0 registers (every access is a vfio-user message to the daemon)"
expect "ID" "$(rd32 $((B0 + 0x00)))" 0x010011ed
wr32 $((B0 + 0x04)) 0x12345678
expect "LIVENESS after writing 0x12345678" "$(rd32 $((B0 + 0x04)))" 0xedcba987
wr32 $((B0 + 0x20)) 0xcafef00d
expect "SCRATCH0 after writing 0xcafef00d" "$(rd32 $((B0 + 0x20)))" 0xcafef00d
echo "  RESET_COUNT                                        $(rd32 $((B0 + 0x14)))"
echo
echo "guest: BAR2 shared memory (mapped straight into the guest: no exits)"
expect "BAR2+0x0010 (daemon filled it with 0x5a000000+i)" "$(rd32 $((B2 + 0x10)))" 0x5a000004
wr32 $((B2 + 0x100)) 0x600dcafe
wr32 $((B0 + 0x18)) 0x100
expect "guest wrote BAR2+0x100, daemon reads it back" "$(rd32 $((B0 + 0x1c)))" 0x600dcafe
wr32 $((B0 + 0x18)) 0x104
wr32 $((B0 + 0x1c)) 0x1badd00d
expect "daemon wrote BAR2+0x104, guest reads it" "$(rd32 $((B2 + 0x104)))" 0x1badd00d
t0=$(rd32 $((B0 + 0x64)))
expect "BAR2+0x2000 (the trapped page)" "$(rd32 $((B2 + 0x2000)))" 0x5a000800
expect "TRAP_COUNT went up by one" "$(rd32 $((B0 + 0x64)))" $((t0 + 1))
echo
if [ $ok = 1 ]; then pass demo; else fail demo "a register read back wrong"; fi
guest_done
GUEST
INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_WORK/guest_demo.sh"

step "QEMU 11.1 (TCG) + Linux guest, testdev attached as vfio-user-pci (socket $SOCK)"
vm_start demo "$INITRD" --vfio-user "td0=$SOCK"
# live transcript: the guest's console without firmware noise and marker lines
tail -n +1 -f "$VM_WORK/demo.serial" --pid="$QEMU_PID" 2>/dev/null |
	sed -u 's/\r//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
	grep -a --line-buffered -vE '^(SeaBIOS|Booting from|IOMED-TEST|\[ *[0-9]+\.[0-9]+\] reboot)' | cat -s &
tail_pid=$!
VM_PIDS+=("$tail_pid")
rc=0
vm_wait "$VM_TIMEOUT" || rc=$?
# the transcript ends by itself once QEMU is gone (tail --pid)
for _ in $(seq 30); do kill -0 "$tail_pid" 2>/dev/null || break; sleep 0.1; done
vm_kill "$tail_pid"

step "host: result"
if [ "${IOMED_LOG_LEVEL:-info}" != none ] && [ -s "$DAEMON_LOG" ]; then
	echo "daemon log (last lines):"
	tail -n 8 "$DAEMON_LOG" | sed 's/^/  /'
fi
if [ $rc -ne 0 ]; then echo "QEMU exit status $rc"; tail -n 20 "$VM_WORK/demo.qemu" | sed 's/^/  qemu| /'; fi
if grep -aq 'IOMED-TEST: PASS demo' "$VM_WORK/demo.serial" && grep -aq 'IOMED-TEST: DONE' "$VM_WORK/demo.serial" && daemon_alive; then
	echo
	echo "demo: SUCCESS — a Linux guest under QEMU 11.1 used an iomed device over vfio-user (registers, shared memory, trapped page); the daemon is still serving."
	exit 0
fi
vm_show_serial demo 40
echo "demo: FAILED"
exit 1
