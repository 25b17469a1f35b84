#!/bin/sh
# guest_soak.sh — /init of the soak tests' guest (busybox sh). Not a test by itself:
# tests/soak/soak_restart.sh and soak_reboot.sh boot it against one daemon serving a testdev and
# a virtio-net on a loopback port (frames the guest sends come back to it). Each boot checks
# both devices: testdev's ID register; virtio-net's driver, carrier, and 20 pings to a made-up
# neighbour that all come back through the loopback (rx counter). Kernel command line:
#   iomed.mode=hold    the checks, then INFO DRIVER-UP, then traffic and MMIO until QEMU is killed
#   iomed.mode=reboot  the checks under names b<boot>-..., then reboot; testdev's STICKY register
#                      (kept across device resets) counts boots, tagged with iomed.nonce; after
#                      iomed.boots boots: DONE and power off. The first and the last boot print
#                      INFO SAMPLE and pause a second for the host to sample the daemon.
. /etc/iomed-guest.sh
guest_setup

mode=$(cmdline_get iomed.mode hold)
nonce=$(cmdline_get iomed.nonce 1)
boots=$(cmdline_get iomed.boots 1)
ID=0x00 SCRATCH0=0x20 STICKY=0x60
PEER=10.77.0.1

TD=$(find_pci 0x1234 0x11ed) || { fail find-testdev "no 1234:11ed"; guest_done; }
VN=$(find_pci 0x1af4 0x1041) || { fail find-virtio-net "no 1af4:1041"; guest_done; }
echo 1 >"$TD/enable"
B0=$(bar_addr "$TD" 0)

# The boot number: 1, or one more than STICKY remembers under our nonce.
boot=1
st=$(rd32 $((B0 + STICKY)))
[ $((st >> 16)) -eq $((nonce)) ] && boot=$(((st & 0xffff) + 1))
wr32 $((B0 + STICKY)) $(((nonce << 16) | boot))
p=""
[ "$mode" = reboot ] && p=b$boot-
info "BOOT $boot at $(cut -d' ' -f1 /proc/uptime) s"

check_eq "${p}td-id" "$(rd32 $((B0 + ID)))" 0x010011ed

IF=""
i=0
while [ -z "$IF" ] && [ $i -lt 100 ]; do
	for n in "$VN"/virtio*/net/*; do [ -e "$n" ] && IF=$(basename "$n"); done
	i=$((i + 1))
	[ -n "$IF" ] || sleep 0.1
done
[ -n "$IF" ] || { fail "${p}vn-driver" "no interface on ${VN##*/}"; guest_done; }
pass "${p}vn-driver"
ip link set "$IF" up
ip addr add 10.77.0.2/24 dev "$IF"
arp -i "$IF" -s $PEER 52:54:00:77:00:01
i=0
while [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
check_eq "${p}vn-carrier" "$(cat /sys/class/net/$IF/carrier 2>/dev/null || echo 0)" 1

# Echo requests to the neighbour come back with the MACs swapped: counted, then dropped.
S=/sys/class/net/$IF/statistics
rx0=$(cat $S/rx_packets)
ping -c 20 -i 0.01 $PEER >/dev/null 2>&1 &
ping_pid=$!
i=0
while [ $(($(cat $S/rx_packets) - rx0)) -lt 20 ] && [ $i -lt 40 ]; do
	i=$((i + 1))
	sleep 0.05
done
kill $ping_pid 2>/dev/null
wait $ping_pid 2>/dev/null
rx=$(($(cat $S/rx_packets) - rx0))
if [ $rx -ge 20 ]; then pass "${p}vn-traffic"; else fail "${p}vn-traffic" "$rx of 20 frames came back"; fi

case $mode in
reboot)
	# the host samples the daemon at the same point of the first and the last boot
	if [ "$boot" = 1 ] || [ "$boot" = "$boots" ]; then
		marker "INFO SAMPLE $boot"
		sleep 1
	fi
	if [ "$boot" -lt "$boots" ]; then
		sync
		reboot -f
		sleep 10
	fi
	wr32 $((B0 + STICKY)) 0
	;;
hold)
	marker "INFO DRIVER-UP"
	i=0
	while :; do
		i=$((i + 1))
		wr32 $((B0 + SCRATCH0)) $i
		ping -c 5 -i 0.02 -w 1 $PEER >/dev/null 2>&1
	done
	;;
esac
guest_done
