#!/bin/sh
# guest_iavf.sh — /init of the iavf VM test (busybox sh in the guest). Not a test by itself:
# tests/vm/test_iavf.sh boots it. The host side is $net.1 on iomed's tap (inside the test's
# network namespace); we are $net.2. /bin/ethstats is `ethtool -S` / `ethtool -k`. Kernel command
# line:
#   iomed.mode=basic   driver binds, MAC, link, offloads on, ping, ping over VLAN 100 (the host
#                      has it on 10.66.2.0/24), TCP both ways (iomed.mb=N MiB), VSI statistics,
#                      unbind/rebind (RESET_VF on remove, a new bring-up on probe)
#   iomed.mode=reset   TCP host -> guest during which the host has the daemon reset the VF:
#                      the driver sees the reset, comes back, the transfer completes
#   iomed.mode=reboot  ping, then reboot; the second boot (told by the host's boot counter) pings
#   iomed.mode=mq      (4 vCPUs, queues=4) four queue pairs; UDP flows from the host spread over
#                      the Rx queues by RSS, TCP connections over the Tx queues (per-queue counters)
. /etc/iomed-guest.sh
guest_setup

net_guest 0x8086 0x1889 'net/*'

# queue_stats DIR: the packets counters of every DIR (rx or tx) queue, space separated
queue_stats() {
	ethstats "$IF" | awk -v d="$1" '$1 ~ "^" d "-[0-9]+\\.packets$" { printf "%s ", $2 }'
}

# spread NAME DIR BEFORE MIN_QUEUES MIN_EACH: at least MIN_QUEUES queues counted MIN_EACH packets
spread() {
	after=$(queue_stats "$2")
	n=0 i=0 deltas=""
	for a in $after; do
		i=$((i + 1))
		b=$(echo "$3" | cut -d' ' -f$i)
		d=$((a - ${b:-0}))
		deltas="$deltas $d"
		[ $d -ge "$5" ] && n=$((n + 1))
	done
	info "$1: per-queue packets$deltas"
	if [ $n -ge "$4" ]; then pass "$1"; else fail "$1" "$n queues with $5+ packets:$deltas"; fi
}

if up; then pass link-up; else fail link-up "no interface or no carrier on $BDF"; guest_done; fi
drv=$(basename "$(readlink "$D/driver")")
if [ "$drv" = iavf ]; then pass driver; else fail driver "bound to ${drv:-nothing}"; fi

case $mode in
basic)
	got=$(cat /sys/class/net/$IF/address)
	if [ "$got" = "$mac" ]; then pass mac; else fail mac "got $got want $mac"; fi
	k=$(ethstats -k "$IF" | tr '\n' ' ')
	info "offloads: $k"
	case $k in
	*"rx-checksum 1 tx-checksum 1 tso 1"*) pass offloads ;;
	*) fail offloads "$k" ;;
	esac
	ping_check ping 10
	# VLAN 100: a filter (ADD_VLAN), Tx insertion from the descriptor, Rx stripping into it
	ip link add link "$IF" name vl100 type vlan id 100 && ip addr add "${net%.*}.2.2/24" dev vl100 &&
		ip link set vl100 up
	ping_check vlan-ping 3 "${net%.*}.2.1"
	if [ "$mb" -gt 0 ]; then
		tcp_tx "$mb"
		tcp_rx tcp-rx 5002
		bad=$(awk '/^Tcp:/ { n++ } n == 2 && /^Tcp:/ { print $NF; exit }' /proc/net/snmp)
		if [ "${bad:-1}" = 0 ]; then pass no-csum-errors; else fail no-csum-errors "TCP InCsumErrors $bad"; fi
		# the driver's counters come from GET_STATS (every 2 s): both transfers must show
		min=$((mb * 1048576)) i=0
		while [ "$(cat /sys/class/net/$IF/statistics/rx_bytes)" -lt $min ] && [ $i -lt 30 ]; do
			i=$((i + 1)); sleep 0.2
		done
		rxb=$(cat /sys/class/net/$IF/statistics/rx_bytes) txb=$(cat /sys/class/net/$IF/statistics/tx_bytes)
		if [ "$rxb" -ge $min ] && [ "$txb" -ge $min ]; then pass vsi-stats; else
			fail vsi-stats "rx_bytes $rxb tx_bytes $txb, want $min each"; fi
	fi
	echo "$BDF" >/sys/bus/pci/drivers/iavf/unbind
	if iface >/dev/null; then fail unbind "interface still there"; else pass unbind; fi
	echo "$BDF" >/sys/bus/pci/drivers/iavf/bind
	if up; then pass rebind; else fail rebind "no interface or carrier after bind"; fi
	ping_check rebind-ping 5
	;;
reset)
	ping_check ping 3
	tcp_rx reset-rx 5002
	i=0
	while ! dmesg | grep -q "Hardware reset detected" && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.2; done
	if dmesg | grep -q "Hardware reset detected"; then pass reset-seen; else
		fail reset-seen "the driver never saw a reset: $(dmesg | grep -i reset | tail -n 3 | tr '\n' ' ')"; fi
	if up; then pass reset-link; else fail reset-link "no carrier after the reset"; fi
	ping_check reset-ping 5
	;;
reboot)
	reboot_twice
	;;
mq)
	nq=$(ls -d /sys/class/net/$IF/queues/rx-* | wc -l)
	if [ "$nq" = 4 ]; then pass mq-queues; else fail mq-queues "$nq Rx queues, want 4"; fi
	ping_check ping 3
	rx0=$(queue_stats rx)
	info "UDP-READY"
	# the host sends 32 flows x 20 datagrams; wait for most of them
	i=0
	while [ $i -lt 150 ]; do
		t=0
		for c in $(queue_stats rx); do t=$((t + c)); done
		b=0
		for c in $rx0; do b=$((b + c)); done
		[ $((t - b)) -ge 600 ] && break
		i=$((i + 1)); sleep 0.2
	done
	spread rx-spread rx "$rx0" 3 20
	tx0=$(queue_stats tx)
	for p in $(seq 40001 40016); do echo x | nc -p "$p" $HOST 5004 >/dev/null 2>&1; done
	spread tx-spread tx "$tx0" 2 3
	;;
esac
guest_done
