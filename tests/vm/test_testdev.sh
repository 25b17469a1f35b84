#!/usr/bin/env bash
# test_testdev.sh — the foundation VM test: real QEMU 11.1 (vfio-user-pci) + a Debian guest kernel
# against one iomed daemon serving testdev.
#   1. basic:   registers, shared-memory BAR (guest and daemon stores), trapped page, config space
#   2. reboot:  a guest reboot resets the device (SCRATCH cleared, RESET_COUNT up, STICKY kept)
#   3. restart: QEMU is killed (-9) mid-run, a fresh QEMU attaches to the same daemon, checks pass
# The daemon must survive all of it.  Usage: tests/vm/test_testdev.sh   (env knobs: tests/vm/lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

SOCK=$VM_WORK/td0.sock
daemon_start --device "testdev,socket=$SOCK,id=td0"

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_testdev.sh"

BASIC=(find-device enable id class subsystem revision irq-pin bar0-size bar1-size bar2-size
	liveness-reset liveness liveness-zero scratch0 scratch7 unknown-reg
	shm-initial shm-initial-hi shm-peek-off shm-guest-store shm-daemon-store
	trap-read trap-write trap-peek trap-count msix-cap msix-vectors msix-table msix-pba pcie-cap)

# 1. basic checks
vm_boot basic "$INITRD" --vfio-user "td0=$SOCK" --append "iomed.mode=basic" || true
vm_check basic "${BASIC[@]}" || true
daemon_check basic

# 2. reboot: the same QEMU runs two boots (no -no-reboot); STICKY tells them apart
nonce=$((RANDOM % 30000 + 1))
vm_boot reboot "$INITRD" --reboot --vfio-user "td0=$SOCK" --append "iomed.mode=reboot iomed.nonce=$nonce" || true
vm_check reboot find-device id sticky-write scratch-before-reset boot1 \
	boot2 reset-count scratch-cleared liveness-reset shm-refilled sticky-clear || true
daemon_check reboot

# 3. restart: kill -9 a QEMU while the guest hammers the device, then boot a fresh one
vm_start hold "$INITRD" --vfio-user "td0=$SOCK" --append "iomed.mode=hold"
if vm_wait_marker hold 'IOMED-TEST: INFO HOLD' "$VM_TIMEOUT"; then
	sleep 1
	kill -KILL "$QEMU_PID"
	wait "$QEMU_PID" 2>/dev/null || true
	if grep -aq 'IOMED-TEST: PASS id' "$VM_WORK/hold.serial"; then vm_pass hold/id; else vm_fail hold/id "no PASS id before the kill"; fi
else
	vm_fail hold/marker "guest never printed IOMED-TEST: INFO HOLD"
	vm_show_serial hold 40
	vm_kill "$QEMU_PID"
fi
sleep 0.5
daemon_check after-kill
vm_boot restart "$INITRD" --vfio-user "td0=$SOCK" --append "iomed.mode=basic" || true
vm_check restart "${BASIC[@]}" || true
daemon_check end
daemon_stop

vm_finish
