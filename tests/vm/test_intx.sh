#!/usr/bin/env bash
# test_intx.sh — legacy INTx from testdev to a real guest driver (uio_pci_generic): IRQ_RAISE with
# MSI-X disabled asserts INTx, the guest's handler sees the Interrupt Status bit and masks with
# Interrupt Disable, IRQ_ACK deasserts, unmask re-arms, a second interrupt arrives.
#   tests/vm/test_intx.sh   (env knobs: tests/vm/lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

SOCK=$VM_WORK/td0.sock
daemon_start --device "testdev,socket=$SOCK,id=td0"

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_intx.sh" -m uio_pci_generic

vm_boot intx "$INITRD" --vfio-user "td0=$SOCK" || true
vm_check intx find-device bind intx-disable-clear status-idle intx-delivered irq-status intx-masked \
	irq-ack status-bit-clear intx-unmasked no-spurious intx-again irq-status-3 proc-interrupts || true
daemon_check end
daemon_stop

vm_finish
