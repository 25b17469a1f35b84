#!/bin/sh
# guest_virtio_net.sh — /init of the virtio-net VM test (busybox sh in the guest). Not a test by
# itself: tests/vm/test_virtio_net.sh boots it. The host side is 10.66.0.1 on iomed's tap (inside
# the test's network namespace); we are 10.66.0.2. Kernel command line:
#   iomed.mode=basic   driver binds, MAC, link, ping, TCP both ways (iomed.mb=N MiB), unbind/rebind;
#                      with iomed.filter=1 also the RX filter (frames to a foreign MAC reach the
#                      driver only in promiscuous mode)
#   iomed.mode=reboot  ping, then reboot; the second boot (told by the host's boot counter) pings
#   iomed.mode=hold    ping, then keep pinging until the host kills QEMU
#   iomed.mode=mq      (2 vCPUs, a device with queues=2, mtu=9000 on 10.66.1.0/24) the driver
#                      enables both pairs, pings from each CPU land on both queue pairs, jumbo ping
#   iomed.mode=count   (tests/vm/test_pt_vnet.sh) between COUNT-START and COUNT-END, each followed
#                      by 3 quiet seconds for the host to read counters: TCP of iomed.mb MiB to the
#                      host and 50 pings; then the packet and interrupt counts
. /etc/iomed-guest.sh
guest_setup

net_guest 0x1af4 0x1041 'virtio*/net/*'
filter=$(cmdline_get iomed.filter 0)

# filter_check NAME PORT on|off: the host sends 200 frames to a foreign MAC, then connects to PORT;
# they must reach the driver (rx_packets) in promiscuous mode only. A few frames of other traffic
# (the host's IPv6 multicast, the TCP connect) may arrive meanwhile.
filter_check() {
	ip link set "$IF" promisc "$3"
	sleep 1 # the driver programs the device from a work item
	r0=$(cat /sys/class/net/$IF/statistics/rx_packets)
	nc -l -p "$2" >/dev/null &
	ncpid=$!
	sleep 0.5
	info "FLOOD $2"
	wait $ncpid
	d=$(($(cat /sys/class/net/$IF/statistics/rx_packets) - r0))
	info "$1: promisc $3, $d frames reached the driver"
	if [ "$3" = on ] && [ $d -ge 200 ]; then pass "$1"
	elif [ "$3" = off ] && [ $d -lt 100 ]; then pass "$1"
	else fail "$1" "promisc $3: $d frames reached the driver"; fi
	ip link set "$IF" promisc off
}


# the counted mode wants no traffic of its own making (IPv6 autoconfiguration) in the quiet times
[ "$mode" = count ] && echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
if up; then pass link-up; else fail link-up "no interface or no carrier on $BDF"; guest_done; fi
info "device $BDF iface $IF features $(cat "$D"/virtio*/features 2>/dev/null)"

case $mode in
basic)
	got=$(cat /sys/class/net/$IF/address)
	if [ "$got" = "$mac" ]; then pass mac; else fail mac "got $got want $mac"; fi
	ping_check ping 10
	if [ "$filter" = 1 ]; then
		filter_check filter-drops 5004 off
		filter_check filter-promisc 5005 on
	fi
	if [ "$mb" -gt 0 ]; then
		tcp_tx "$mb"  # guest -> host: the host listens on 5001
		tcp_rx tcp-rx 5002  # host -> guest
	fi
	# driver unbind/rebind: the device is reset and set up again
	echo "$BDF" >/sys/bus/pci/drivers/virtio-pci/unbind
	if iface >/dev/null; then fail unbind "interface still there"; else pass unbind; fi
	echo "$BDF" >/sys/bus/pci/drivers/virtio-pci/bind
	if up; then pass rebind; else fail rebind "no interface or carrier after bind"; fi
	ping_check rebind-ping 5
	;;
reboot)
	reboot_twice
	;;
mq)
	ping_check ping 3
	mtu=$(cat /sys/class/net/$IF/mtu)
	if [ "$mtu" = 9000 ]; then pass mtu; else fail mtu "mtu $mtu, want 9000 from the device"; fi
	irqs() { grep -E "virtio[0-9]+-$1" /proc/interrupts | awk '{ print $2 + $3 }' | tr '\n' ' '; }
	nin=$(grep -cE 'virtio[0-9]+-input' /proc/interrupts)
	if [ "$nin" = 2 ]; then pass mq-pairs; else fail mq-pairs "$nin input vectors"; fi
	taskset 1 ping -c 20 -i 0.05 -W 3 $HOST >/dev/null 2>&1
	taskset 2 ping -c 20 -i 0.05 -W 3 $HOST >/dev/null 2>&1
	taskset 1 ping -c 20 -i 0.05 -W 3 $HOST >/dev/null 2>&1
	taskset 2 ping -c 20 -i 0.05 -W 3 $HOST >/dev/null 2>&1
	info "input irqs: $(irqs input) output irqs: $(irqs output)"
	both=1
	for c in $(irqs input); do [ "$c" -gt 0 ] || both=0; done
	if [ $both = 1 ]; then pass mq-traffic; else fail mq-traffic "input irqs $(irqs input)"; fi
	out=$(ping -c 3 -s 8900 -W 3 $HOST 2>&1)
	if echo "$out" | grep -q " 3 packets received"; then pass jumbo-ping; else fail jumbo-ping "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
	;;
count)
	ping_check ping 3
	dd if=/dev/urandom of=/tmp/tx bs=1M count="$mb" 2>/dev/null
	info "TX-MD5 $(md5sum </tmp/tx | cut -d' ' -f1)"
	# packets and interrupts of the device, as the guest counts them
	stats() {
		echo "$(cat /sys/class/net/$IF/statistics/tx_packets) $(cat /sys/class/net/$IF/statistics/rx_packets)" \
			"$(grep -E 'virtio[0-9]+-(input|output)' /proc/interrupts | awk '{ n += $2 } END { print n + 0 }')"
	}
	set -- $(stats)
	tx0=$1 rx0=$2 irq0=$3
	info "COUNT-START"
	sleep 3
	if nc $HOST 5001 </tmp/tx; then pass tcp-tx; else fail tcp-tx "nc exit status $?"; fi
	out=$(ping -c 50 -i 0.02 -W 3 $HOST 2>&1)
	if echo "$out" | grep -q " 50 packets received"; then pass count-ping; else
		fail count-ping "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
	set -- $(stats)
	info "COUNT-END tx_packets=$(($1 - tx0)) rx_packets=$(($2 - rx0)) irqs=$(($3 - irq0))"
	sleep 3
	;;
hold)
	ping_check ping 3
	marker "INFO HOLD"
	while :; do ping -c 1 -W 1 $HOST >/dev/null 2>&1; done
	;;
esac
guest_done
