#!/usr/bin/env bash
# test_pt_vfio.sh — iomed's kernel VFIO passthrough (passthrough,host=) on real VFIO: a TCG guest
# (L1) with an emulated Intel IOMMU and QEMU's edu device, its kernel booted with intel_iommu=on,
# edu bound to vfio-pci there. iomed and the in-tree client (tests/vm/guest/pt_edu.c, built by
# meson) run inside L1 from the initramfs, with their shared libraries; the guest init
# (tests/vm/guest_pt_vfio.sh) checks:
#   - identity and liveness through the BAR iomed hands over mmappable (the VFIO device fd), and by
#     message; config space
#   - DMA from and to client memory through the IOMMU map iomed made, blocked once unmapped, and a
#     map of memory the client does not have refused
#   - MSI and INTx (masked until the client's unmask eventfd) delivered on the client's eventfds,
#     iomed holding none of them; reset (edu has none: ENOTTY, bus mastering off); a second session
#   - an igb SR-IOV VF (made by the igb driver in L1): FLR reset, mapped BAR0, its 3 MSI-X vectors
#     raised through its own cause-set register and delivered on the client's eventfds
#   - an L2 guest (QEMU from the test bed over 9p, inside L1) whose stock igbvf driver gets the VF as
#     vfio-user-pci from iomed: driver bound, MAC from the PF, link, ping (IOMED_PT_L2=0 skips it)
#   - clear errors for a device without a driver, one bound to another driver, one whose IOMMU group
#     holds a device bound to a host driver, and an address with no device, while the daemon serves
#     the target and a testdev, and stops cleanly
# With IOMED_VM_ISOLATE=1 iomed runs with --isolate in L1: every device in its sandboxed process,
# the passthrough ones allowed their VFIO calls on their own fds only; none of them may die.
#   tests/vm/test_pt_vfio.sh   (env knobs: tests/vm/lib.sh; IOMED_PT_EDU: the pt_edu binary,
#   default build/tests/vm/pt_edu)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

PT_EDU=${IOMED_PT_EDU:-$VM_SRC/build/tests/vm/pt_edu}
[ -x "$PT_EDU" ] || vm_die "no pt_edu binary at $PT_EDU (ninja -C build)"
[ -x "$IOMED" ] || vm_die "no iomed binary at $IOMED"

INITRD=$VM_WORK/initrd.img
mapfile -t BINS < <(vm_with_libs "$IOMED:/bin/iomed" "$PT_EDU:/bin/pt_edu")
L2_FILES=() L2_QEMU=() L2_CHECKS=()
if [ "${IOMED_PT_L2:-1}" = 1 ]; then
	vm_initramfs "$VM_WORK/l2.img" "$VM_LIB_DIR/guest_pt_l2.sh" -m igbvf
	L2_FILES=(-f "$IOMED_KERNEL:/l2/vmlinuz" -f "$VM_WORK/l2.img:/l2/initrd.img" -m 9p -m 9pnet_virtio)
	L2_QEMU=(-virtfs "local,path=$IOMED_QEMU_SYSROOT,mount_tag=qemu,security_model=none,readonly=on")
	L2_CHECKS=(l2-qemu l2-vf-found l2-igbvf-bound l2-igbvf-mac l2-igbvf-link l2-igbvf-ping)
fi
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_pt_vfio.sh" "${BINS[@]}" "${L2_FILES[@]}" \
	-m vfio -m vfio_iommu_type1 -m vfio_pci -m e1000 -m igb

VM_TIMEOUT=$((VM_TIMEOUT + ${#L2_CHECKS[@]} * 100))
ISO_APPEND="" ISO_CHECKS=()
if [ "${IOMED_VM_ISOLATE:-0}" = 1 ]; then
	ISO_APPEND=" iomed.isolate=1"
	ISO_CHECKS=(device-processes)
fi
# -cpu max: iomed links DPDK, built for x86-64 with SSE4.2 (-march=corei7), which TCG's default
# CPU model lacks.
vm_boot l1 "$INITRD" --mem 1536M --append "intel_iommu=on iommu=pt$ISO_APPEND" -- -cpu max \
	-machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on \
	-device edu,addr=5 -device edu,addr=6 \
	-device pcie-root-port,id=rp1,chassis=1,slot=1,addr=7 \
	-device pcie-pci-bridge,id=pb,bus=rp1 -device edu,bus=pb,addr=1 \
	-device e1000,bus=pb,addr=2 \
	-netdev user,id=n0,restrict=on -device pcie-root-port,id=rp2,chassis=2,slot=2,addr=8 \
	-device igb,netdev=n0,bus=rp2 "${L2_QEMU[@]}" || true
vm_check l1 bind-vfio-pci iomed-listening err-unbound err-other-driver err-group err-group-peer \
	bind-vf err-absent serving-three connect bar0-vfio-fd mmap-id mmap-liveness msg-id config-ids \
	msi-iomed-eventfds dma-map-outside dma-map dma-to-device dma-to-ram dma-roundtrip dma-msi \
	dma-irq-status dma-unmap dma-blocked-after-unmap msi msi-status intx intx-masked intx-unmask \
	intx-iomed-eventfds reset-unsupported reset-bus-master-off reset-still-alive reconnect \
	reconnect-id testdev-served vf-connect bar0-vfio-fd vf-reset-flag vf-config-ids vf-status \
	vf-msix-count vf-msix-iomed-eventfds vf-msix-vector-0 vf-msix-vector-1 vf-msix-vector-2 \
	vf-reset vf-after-reset "${L2_CHECKS[@]}" "${ISO_CHECKS[@]}" iomed-exit iomed-sanitizer || true

if [ ${#L2_CHECKS[@]} -gt 0 ]; then
	before=$(grep -ao 'INFO l2-stats-before .*' "$VM_WORK/l1.serial" | tr -d '\r' | cut -d' ' -f3-)
	after=$(grep -ao 'INFO l2-stats-after .*' "$VM_WORK/l1.serial" | tr -d '\r' | cut -d' ' -f3-)
	irqs=$(grep -ao 'INFO l2: igbvf interrupts: [0-9]*' "$VM_WORK/l1.serial" | awk '{ print $NF }')
	vm_log "L2 session (boot, igbvf, link, ping; ${irqs:-?} VF interrupts): iomed handled $(stats_delta "$before" "$after")"
fi
vm_finish
