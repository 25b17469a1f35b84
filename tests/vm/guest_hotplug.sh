#!/bin/sh
# guest_hotplug.sh — /init of the hot-plug VM test (busybox sh in the guest). Not a test by itself:
# tests/vm/test_hotplug.sh boots it with no iomed device and plugs one in while we wait: a virtio-net
# NIC (1af4:1041) appears, the driver binds, the link comes up with the MAC the host chose
# (iomed.mac), pings to the host (10.66.2.1) are answered; then the host unplugs it and we watch it go.
. /etc/iomed-guest.sh
guest_setup

net=10.66.2
HOST=$net.1
NET_GLOB='virtio*/net/*'

marker "INFO READY"
i=0
while ! D=$(find_pci 0x1af4 0x1041); do
	i=$((i + 1))
	[ $i -gt 3000 ] && { fail plug "no 1af4:1041 appeared within 300 s"; guest_done; }
	sleep 0.1
done
pass plug
if up; then pass link; else fail link "no interface or no carrier on ${D##*/}"; guest_done; fi
want=$(cmdline_get iomed.mac none)
got=$(cat /sys/class/net/$IF/address)
if [ "$got" = "$want" ]; then pass mac; else fail mac "got $got want $want"; fi
ping_check ping 5
marker "INFO PINGED"
# The driver lets the interface go first, while the device is still there: watch for that without
# sleeping, so it is reported even if QEMU goes away right after the eject.
while [ -e "/sys/class/net/$IF" ]; do :; done
pass unplug-iface
i=0
while [ -e "$D" ]; do
	i=$((i + 1))
	[ $i -gt 3000 ] && { fail unplug "${D##*/} still there after 300 s"; guest_done; }
	sleep 0.1
done
pass unplug
# QEMU finalizes the device (and sends DEVICE_DELETED, or hits the 11.1.3 abort test_hotplug.sh
# describes) shortly after we let it go; powering off first would end QEMU before either.
sleep 10
guest_done
