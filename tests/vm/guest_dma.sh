#!/bin/sh
# guest_dma.sh — /init of the DMA VM test (busybox sh in the guest). Not a test by itself:
# tests/vm/test_dma.sh builds /bin/dmatest and boots this.
. /etc/iomed-guest.sh
guest_setup

D=$(find_pci 0x1234 0x11ed) || { fail find-device "no 1234:11ed"; guest_done; }
pass find-device
echo 1 >"$D/enable"
info "device $D, huge pages: $(cat /proc/sys/vm/nr_hugepages)"
dmatest "$D" || info "dmatest exit status $?"
guest_done
