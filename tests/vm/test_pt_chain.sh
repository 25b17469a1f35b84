#!/usr/bin/env bash
# test_pt_chain.sh — passthrough to an upstream vfio-user server, under a real guest:
#   QEMU 11.1 guest -> iomed "middle" (passthrough,upstream=) -> iomed "upstream" (testdev)
#   1. basic: the testdev guest checks (registers, shared-memory BAR, trapped page, config space)
#      pass through the chain (tests/vm/guest_testdev.sh)
#   2. msix:  the guest's vfio-pci drives MSI-X and IOMMU-translated DMA through the chain
#      (tests/vm/guest/vfiotest.c), then a counted phase: ROUNDS doorbell stores into BAR2's mapped
#      pages and ROUNDS MSI-X interrupts, bracketed by two handshakes in which this script reads
#      both daemons' message counters (SIGUSR2) and answers through the device's shared memory.
#      Both daemons must have handled exactly the 2 x ROUNDS trapped register writes (IRQ_RAISE,
#      IRQ_ACK) and nothing else: a mapped doorbell and an interrupt's delivery cost 0 messages.
#   tests/vm/test_pt_chain.sh   (env knobs: tests/vm/lib.sh; IOMED_PT_ROUNDS, default 200)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

ROUNDS=${IOMED_PT_ROUNDS:-200}
cc -static -O2 -Wall -Wextra -Werror -o "$VM_WORK/vfiotest" -I"$VM_LIB_DIR/guest" \
	"$VM_LIB_DIR/guest/vfiotest.c" || vm_die "cannot build the guest helper (cc -static)"

UP_SOCK=$VM_WORK/up.sock
PT_SOCK=$VM_WORK/pt0.sock
DAEMON_NAME=upstream daemon_start --device "testdev,socket=$UP_SOCK,id=td0"
UP_PID=$DAEMON_PID UP_LOG=$DAEMON_LOG
daemon_save UPSTREAM
DAEMON_NAME=middle daemon_start --device "passthrough,socket=$PT_SOCK,upstream=$UP_SOCK,id=pt0"
MID_PID=$DAEMON_PID MID_LOG=$DAEMON_LOG

eventfds() { find /proc/"$1"/fd -lname 'anon_inode:\[eventfd\]' 2>/dev/null | wc -l; }

# go N: let the guest on, by writing its token into the upstream testdev's shared memory (BAR2)
go() {
	local f shm=""
	for f in /proc/"$UP_PID"/fd/*; do
		case $(readlink "$f" 2>/dev/null) in *memfd:iomed-testdev-shm*) shm=$f ;; esac
	done
	[ -n "$shm" ] || { vm_log "no testdev memfd in the upstream daemon"; return 1; }
	python3 -c 'import os, struct, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, struct.pack("<I", 0x60d00000 + int(sys.argv[2])), 0xff0)' "$shm" "$1"
}

INITRD_TD=$VM_WORK/initrd-td.img
vm_initramfs "$INITRD_TD" "$VM_LIB_DIR/guest_testdev.sh"
INITRD_MSIX=$VM_WORK/initrd-msix.img
vm_initramfs "$INITRD_MSIX" "$VM_LIB_DIR/guest_msix.sh" -f "$VM_WORK/vfiotest:/bin/vfiotest" \
	-m vfio -m vfio_iommu_type1 -m vfio_pci

# 1. basic
vm_boot basic "$INITRD_TD" --vfio-user "pt0=$PT_SOCK" --append "iomed.mode=basic" || true
vm_check basic find-device enable id class subsystem revision irq-pin bar0-size bar1-size bar2-size \
	liveness-reset liveness liveness-zero scratch0 scratch7 unknown-reg \
	shm-initial shm-initial-hi shm-peek-off shm-guest-store shm-daemon-store \
	trap-read trap-write trap-peek trap-count msix-cap msix-vectors msix-table msix-pba pcie-cap || true
daemon_check basic

# 2. MSI-X, DMA and the counted phase
vm_start msix "$INITRD_MSIX" --vfio-user "pt0=$PT_SOCK" \
	--append "intel_iommu=on iommu=pt iomed.rounds=$ROUNDS" \
	-- -machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on
counted=0
if vm_wait_marker msix 'IOMED-TEST: INFO COUNT-START' "$VM_TIMEOUT"; then
	mid0=$(daemon_stats "$MID_PID" "$MID_LOG" pt0)
	up0=$(daemon_stats "$UP_PID" "$UP_LOG" td0)
	# the guest's MSI-X eventfds are held by the upstream; the middle has only its own stop eventfd
	emid=$(eventfds "$MID_PID")
	eup=$(eventfds "$UP_PID")
	go 1
	if vm_wait_marker msix 'IOMED-TEST: INFO COUNT-END' "$VM_TIMEOUT"; then
		mid1=$(daemon_stats "$MID_PID" "$MID_LOG" pt0)
		up1=$(daemon_stats "$UP_PID" "$UP_LOG" td0)
		go 2
		counted=1
	fi
fi
vm_wait "$VM_TIMEOUT" || vm_log "guest msix: QEMU exit status $?"
vm_check msix find-device bind-vfio-pci vfio-open vfio-id msix-count msix-enable \
	msix-vector-0 msix-vector-1 msix-vector-2 msix-vector-3 msix-vector-4 msix-vector-5 \
	msix-vector-6 msix-vector-7 msix-irq-status-clear msix-burst \
	iommu-map iommu-dma-status iommu-dma-data iommu-dma-msix iommu-dma-unmapped-iova iommu-unmap \
	iommu-dma-after-unmap count-interrupts count-doorbell msix-disable || true

if [ $counted = 1 ]; then
	want="REGION_WRITE=+$((2 * ROUNDS)) "
	dmid=$(stats_delta "$mid0" "$mid1")
	dup=$(stats_delta "$up0" "$up1")
	vm_log "$ROUNDS mapped doorbells + $ROUNDS interrupts (2 trapped writes each): middle $dmid| upstream $dup"
	if [ "$dmid" = "$want" ]; then vm_pass count/middle-messages; else
		vm_fail count/middle-messages "middle daemon handled '$dmid', expected '$want'"; fi
	if [ "$dup" = "$want" ]; then vm_pass count/upstream-messages; else
		vm_fail count/upstream-messages "upstream daemon handled '$dup', expected '$want'"; fi
	if [ "$emid" -eq 1 ] && [ "$eup" -ge 9 ]; then vm_pass count/eventfds-upstream; else
		vm_fail count/eventfds-upstream "eventfds open: middle $emid (want 1), upstream $eup (want >= 9)"; fi
else
	vm_fail count/handshake "the guest never reached COUNT-START/COUNT-END"
fi
daemon_check end
daemon_stop
daemon_use UPSTREAM
daemon_check upstream-end
daemon_stop

vm_finish
