#!/bin/sh
# guest_msix.sh — /init of the MSI-X / IOMMU VM test (busybox sh in the guest). Not a test by
# itself: tests/vm/test_msix.sh builds /bin/vfiotest and boots this with an emulated Intel IOMMU;
# iomed.rounds=N adds vfiotest's counted phase (tests/vm/test_pt_chain.sh).
. /etc/iomed-guest.sh
guest_setup

D=$(find_pci 0x1234 0x11ed) || { fail find-device "no 1234:11ed"; guest_done; }
pass find-device
BDF=${D##*/}
info "device $BDF, IOMMU group $(basename "$(readlink "$D/iommu_group" 2>/dev/null)" 2>/dev/null)"
echo vfio-pci >"$D/driver_override"
echo "$BDF" >/sys/bus/pci/drivers_probe 2>/dev/null || true
if [ "$(basename "$(readlink "$D/driver" 2>/dev/null)")" = vfio-pci ]; then
	pass bind-vfio-pci
else
	fail bind-vfio-pci "driver is '$(basename "$(readlink "$D/driver" 2>/dev/null)")': $(dmesg | grep -iE 'vfio|DMAR' | tail -n 3 | tr '\n' ' ')"
	guest_done
fi
# shellcheck disable=SC2046 # no round count: no second argument
vfiotest "$BDF" $(cmdline_get iomed.rounds "") || info "vfiotest exit status $?"
info "interrupts: $(grep -i vfio /proc/interrupts | awk '{ printf "%s%s ", $1, $2 }')"
guest_done
