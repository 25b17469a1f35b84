#!/bin/sh
# guest_pt_l2.sh — /init of the L2 guest of tests/vm/test_pt_vfio.sh (busybox sh). Not a test by
# itself: the L1 guest runs QEMU with an igb VF attached as vfio-user-pci through iomed's kernel VFIO
# passthrough, and relays these markers with an "l2-" prefix. The stock igbvf driver must bind the
# VF, get its MAC address from the PF (L1's igb driver, over the VF mailbox: BAR0 mapped into this
# guest, the mailbox interrupt on MSI-X), bring the link up and ping the PF's network (QEMU's user
# network, gateway 10.0.2.2).
. /etc/iomed-guest.sh
guest_setup

D=$(find_pci 0x8086 0x10ca) || { fail vf-found "no 8086:10ca"; guest_done; }
pass vf-found
drv=$(basename "$(readlink "$D/driver" 2>/dev/null)" 2>/dev/null)
if [ "$drv" = igbvf ]; then pass igbvf-bound; else fail igbvf-bound "driver '${drv:-none}'"; guest_done; fi
IF=""
for n in "$D"/net/*; do [ -e "$n" ] && IF=${n##*/}; done
[ -n "$IF" ] || { fail igbvf-netdev "no interface"; guest_done; }
mac=$(cat "/sys/class/net/$IF/address")
info "interface $IF mac $mac irqs: $(grep -c "$IF" /proc/interrupts) vectors"
case $mac in 00:00:00:00:00:00 | "") fail igbvf-mac "no MAC address from the PF" ;; *) pass igbvf-mac ;; esac
ip link set "$IF" up
ip addr add 10.0.2.15/24 dev "$IF"
i=0
while [ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
if [ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" = 1 ]; then pass igbvf-link; else fail igbvf-link "no carrier"; fi
out=$(ping -c 3 -W 5 10.0.2.2 2>&1)
if echo "$out" | grep -q " 3 packets received"; then pass igbvf-ping; else
	fail igbvf-ping "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
info "igbvf interrupts: $(grep "$IF" /proc/interrupts | awk '{ n += $2 } END { print n + 0 }')"
guest_done
