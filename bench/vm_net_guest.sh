#!/bin/sh
# vm_net_guest.sh — /init of the guest of bench/vm_net.sh (busybox sh). Not run by hand.
# The guest has four NICs, told apart by MAC: 52:54:00:67:0N:02 is NIC N (1 iomed virtio-net,
# 2 QEMU virtio-net-pci, 3 QEMU e1000, 4 iomed iavf), addressed 10.67.N.2/24; the host (an iperf3 server) is
# 10.67.N.1 on the tap of NIC N. Each round measures every NIC in turn (rotating which goes first):
# ping RTT, TCP guest->host (iperf3 -c), TCP host->guest (iperf3 -c -R), and prints
#   IOMED-TEST: INFO RESULT round=R nic=N ping_ms=X tx_mbps=Y rx_mbps=Z
# Kernel command line: iomed.rounds=N (default 3), iomed.secs=N (iperf3 -t, default 10),
# iomed.nics="1 2 3 4" and iomed.tests="ping tx rx" (what to measure; skipped ones print nan).
# Before each measurement: IOMED-TEST: INFO PHASE nic=N test=T (the host may start a profile).
. /etc/iomed-guest.sh
guest_setup

rounds=$(cmdline_get iomed.rounds 3)
secs=$(cmdline_get iomed.secs 10)
NICS=$(cmdline_get iomed.nics "1 2 3 4" | tr , ' ')
TESTS=$(cmdline_get iomed.tests "ping tx rx" | tr , ' ')

# iface_of MAC: the interface with that address
iface_of() {
	for a in /sys/class/net/*/address; do
		[ "$(cat "$a")" = "$1" ] && { basename "$(dirname "$a")"; return 0; }
	done
	return 1
}

up() { # up N
	mac=52:54:00:67:0$1:02
	i=0
	while ! IF=$(iface_of $mac); do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
	done
	ip link set "$IF" up && ip addr add "10.67.$1.2/24" dev "$IF" || return 1
	i=0
	while [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" != 1 ]; do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
	done
	# the host's iperf3 server answers once the path works both ways
	ping -c 1 -W 5 "10.67.$1.1" >/dev/null 2>&1
}

for n in 1 2 3 4; do
	if up $n; then pass "nic$n-up"; info "nic$n $IF"; else fail "nic$n-up" "no interface, carrier or ping"; fi
done

wants() { case " $TESTS " in *" $1 "*) info "PHASE nic=$n test=$1"; return 0 ;; esac; return 1; }

# mbps ARGS...: iperf3 client, Mbit/s the receiving side saw (empty on failure)
mbps() {
	iperf3 -f m -t "$secs" "$@" 2>&1 | awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }'
}

r=1
while [ $r -le "$rounds" ]; do
	order=$NICS
	k=1
	while [ $k -lt $r ]; do
		case $order in *" "*) order="${order#* } ${order%% *}" ;; esac
		k=$((k + 1))
	done
	for n in $order; do
		host=10.67.$n.1
		rtt="" tx="" rx=""
		! wants ping || rtt=$(ping -q -c 20 -i 0.2 -W 2 $host 2>&1 | sed -n 's|.*min/avg/max = [^/]*/\([^/]*\)/.*|\1|p')
		! wants tx || tx=$(mbps -c $host)
		! wants rx || rx=$(mbps -c $host -R)
		info "RESULT round=$r nic=$n ping_ms=${rtt:-nan} tx_mbps=${tx:-nan} rx_mbps=${rx:-nan}"
	done
	r=$((r + 1))
done
guest_done
