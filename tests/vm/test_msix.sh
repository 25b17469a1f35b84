#!/usr/bin/env bash
# test_msix.sh — MSI-X and IOMMU-translated DMA from testdev to a real guest driver stack.
# The VM gets an emulated Intel IOMMU (intel-iommu, caching mode, interrupt remapping); the guest
# binds testdev to its own vfio-pci and a small static program (built here from the C source below)
# uses legacy VFIO (container + group, type1 IOMMU) to:
#   - wire all 8 MSI-X vectors to eventfds and raise each through IRQ_RAISE: exactly that eventfd
#     fires (the daemon -> QEMU eventfd -> guest vIRQ -> vfio-pci -> eventfd chain)
#   - map a buffer at an IOVA that differs from its guest-physical address (VFIO_IOMMU_MAP_DMA, which
#     QEMU forwards to the daemon as DMA_MAP of that IOVA), DMA between two IOVAs with completion on
#     MSI-X vector 6, then unmap it (DMA_UNMAP) and see the same DMA fail with EFAULT
#   tests/vm/test_msix.sh   (env knobs: tests/vm/lib.sh; needs a C compiler with static libc)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

cc -static -O2 -Wall -Wextra -Werror -o "$VM_WORK/vfiotest" -I"$VM_LIB_DIR/guest" "$VM_LIB_DIR/guest/vfiotest.c" || vm_die "cannot build the guest helper (cc -static)"

SOCK=$VM_WORK/td0.sock
daemon_start --device "testdev,socket=$SOCK,id=td0"

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_msix.sh" -f "$VM_WORK/vfiotest:/bin/vfiotest" \
	-m vfio -m vfio_iommu_type1 -m vfio_pci

vm_boot msix "$INITRD" --vfio-user "td0=$SOCK" --append "intel_iommu=on iommu=pt" \
	-- -machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on || true
vm_check msix find-device bind-vfio-pci vfio-open vfio-id msix-count msix-enable \
	msix-vector-0 msix-vector-1 msix-vector-2 msix-vector-3 msix-vector-4 msix-vector-5 \
	msix-vector-6 msix-vector-7 msix-irq-status-clear msix-burst \
	iommu-map iommu-dma-status iommu-dma-data iommu-dma-msix iommu-dma-unmapped-iova iommu-unmap \
	iommu-dma-after-unmap msix-disable || true
daemon_check end
daemon_stop

vm_finish
