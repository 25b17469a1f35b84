#!/usr/bin/env bash
# test_dma.sh — testdev's DMA engine driven from inside a real guest, on real guest RAM.
# A small static program in the guest (built here from the C source below) maps BAR0 through
# sysfs (resource0), takes buffers whose guest-physical addresses it reads from /proc/self/pagemap
# (no IOMMU in the VM: bus address = guest-physical address), and checks: a page copy, a copy at
# odd offsets that leaves the bytes around it alone, a 1 MiB copy inside a 2 MiB huge page, EPERM
# without bus mastering, EFAULT for unmapped source/destination, EINVAL for too long / zero length,
# and the completion interrupt bit. The daemon translates every address through its DMA table
# (QEMU's DMA_MAP of the memfd guest RAM).
#   tests/vm/test_dma.sh   (env knobs: tests/vm/lib.sh; needs a C compiler with static libc)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

cc -static -O2 -Wall -Wextra -Werror -o "$VM_WORK/dmatest" -I"$VM_LIB_DIR/guest" "$VM_LIB_DIR/guest/dmatest.c" || vm_die "cannot build the guest helper (cc -static)"

SOCK=$VM_WORK/td0.sock
daemon_start --device "testdev,socket=$SOCK,id=td0"

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_dma.sh" -f "$VM_WORK/dmatest:/bin/dmatest"

vm_boot dma "$INITRD" --vfio-user "td0=$SOCK" --append "hugepages=2" || true
vm_check dma find-device bar0-mmap-id dma-no-master dma-page-status dma-page-data dma-offset-status \
	dma-offset-data dma-efault-src dma-efault-dst dma-efault-wrap dma-too-long dma-zero-len \
	dma-errors-no-write dma-irq-status dma-irq-bit dma-irq-ack dma-1m-status dma-1m-data || true
daemon_check end
daemon_stop

vm_finish
