#!/bin/sh
# guest_mux.sh — /init of the guests of tests/vm/test_mux.sh (busybox sh). Not a test by itself.
# Three guests share one DPDK port of the daemon; the host (10.67.0.1, the port's kernel tap, in
# the test's namespace) runs a barrier on port 5000 that keeps the guests in step. Kernel command
# line: iomed.role=a|b|c, iomed.me=N (we are 10.67.0.N), iomed.next=N (TCP to that guest),
# iomed.peers=N,N,N, iomed.mac=OUR-MAC, iomed.expect=OWN,BROADCAST,OTHER (probe frames from the
# host), iomed.promisc=1, iomed.nooffload=1 (virtio_net csum=0 gso=0: no Tx offloads),
# iomed.steal=MAC (spoof that address), iomed.watch=MAC (count frames from it meanwhile),
# iomed.mb=N (MiB per TCP transfer).
. /etc/iomed-guest.sh
guest_setup

role=$(cmdline_get iomed.role a)
me=$(cmdline_get iomed.me 11)
next=$(cmdline_get iomed.next 12)
peers=$(cmdline_get iomed.peers "11 12 13" | tr , ' ')
mac=$(cmdline_get iomed.mac)
expect=$(cmdline_get iomed.expect "0 2 0" | tr , ' ')
promisc=$(cmdline_get iomed.promisc 0)
steal=$(cmdline_get iomed.steal)
watch=$(cmdline_get iomed.watch)
mb=$(cmdline_get iomed.mb 2)
HOST=10.67.0.1

if [ "$(cmdline_get iomed.nooffload 0)" = 1 ]; then
	# we send complete checksums and no GSO frames (the features stay negotiated)
	rmmod virtio_net && insmod /lib/modules/virtio_net.ko csum=0 gso=0 ||
		fail nooffload "cannot reload virtio_net"
fi
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null

D=$(find_pci 0x1af4 0x1041) || { fail find-device "no 1af4:1041"; guest_done; }
pass find-device
i=0
while ! IF=$(basename "$D"/virtio*/net/* 2>/dev/null) || [ ! -e "/sys/class/net/$IF" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { fail link-up "no interface"; guest_done; }; sleep 0.1
done
ip link set "$IF" up && ip addr add "10.67.0.$me/24" dev "$IF"
i=0
while [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" != 1 ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { fail link-up "no carrier"; guest_done; }; sleep 0.1
done
pass link-up
info "iface $IF features $(cat "$D"/virtio*/features)"

# barrier PHASE: wait until every guest got here (the host answers "go")
barrier() {
	r=$(echo "$1" | nc -w 600 $HOST 5000 2>&1)
	[ "$r" = go ] || fail "barrier-$1" "host said '$r'"
}

ping_ok() { ping -c "${3:-3}" -W 3 "$2" >/tmp/ping 2>&1 && pass "$1" || fail "$1" "$(tail -n 2 /tmp/ping | tr '\n' ' ')"; }

# 1. the host's probe frames: exactly our own unicast and the broadcasts (everything, promiscuous)
barrier up
mode=""
[ "$promisc" = 1 ] && mode=promisc
pktcount "$IF" 120 $mode >/tmp/count 2>&1 &
cpid=$!
i=0
while ! grep -q READY /tmp/count && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
barrier count
wait $cpid
got=$(tail -n 1 /tmp/count)
info "probe frames: $got"
set -- $expect
if [ "$got" = "own $1 broadcast $2 other $3 end 1" ]; then pass probe-frames; else
	fail probe-frames "got '$got', want own $1 broadcast $2 other $3"; fi

# 2. ARP and ping: the host, then every other guest (inside the daemon)
ping_ok ping-host $HOST
for p in $peers; do [ "$p" = "$me" ] || ping_ok "ping-10.67.0.$p" "10.67.0.$p"; done

# 3. TCP around the ring of guests (and a to the host, the host to b), md5 checked by the host
dd if=/dev/urandom of=/tmp/tx bs=1M count="$mb" 2>/dev/null
info "TX-MD5 $(md5sum </tmp/tx | cut -d' ' -f1)"
# a listener's stdin never ends (a FIFO we also hold open for writing): busybox nc shuts its
# sending half when its stdin ends, and the sender then stops before it has sent everything
mkfifo /tmp/hold
nc -l -p 5100 <>/tmp/hold >/tmp/rx &
lpid=$!
if [ "$role" = b ]; then
	nc -l -p 5002 <>/tmp/hold >/tmp/hrx &
	hpid=$!
fi
sleep 1
barrier tcp
[ "$role" = b ] && info "LISTEN 5002"
if nc -w 300 "10.67.0.$next" 5100 </tmp/tx; then pass tcp-to-next; else fail tcp-to-next "nc exit status $?"; fi
if wait $lpid; then pass tcp-from-prev; else fail tcp-from-prev "nc exit status $?"; fi
info "RX-MD5 $(md5sum </tmp/rx | cut -d' ' -f1) $(wc -c </tmp/rx)"
if [ "$role" = a ]; then
	if nc -w 300 $HOST 5001 </tmp/tx; then pass tcp-to-host; else fail tcp-to-host "nc exit status $?"; fi
fi
if [ "$role" = b ]; then
	if wait $hpid; then pass tcp-from-host; else fail tcp-from-host "nc exit status $?"; fi
	info "HRX-MD5 $(md5sum </tmp/hrx | cut -d' ' -f1) $(wc -c </tmp/hrx)"
fi
rm -f /tmp/tx /tmp/rx /tmp/hrx
barrier tcp-done

# 4. a guest takes another's MAC address: nothing it sends gets anywhere, nothing comes back
if [ -z "$steal" ]; then
	pktcount "$IF" 600 "src=$watch" >/tmp/spoofcount 2>&1 &
	spid=$!
fi
barrier spoof
if [ -n "$steal" ]; then
	ip link set "$IF" address "$steal"
	ip neigh flush all
	if ping -c 3 -W 2 $HOST >/dev/null 2>&1; then fail spoof-host "ping answered with a stolen MAC"; else pass spoof-host; fi
	for p in $peers; do
		[ "$p" = "$me" ] && continue
		if ping -c 2 -W 2 "10.67.0.$p" >/dev/null 2>&1; then fail "spoof-10.67.0.$p" "answered"; else pass "spoof-10.67.0.$p"; fi
	done
	ip link set "$IF" address "$mac"
	ip neigh flush all
	ping_ok spoof-restored $HOST
fi
barrier spoof-done
if [ -z "$steal" ]; then
	kill $spid
	wait $spid
	# the spoofer's frames (ARP requests, broadcast) were dropped at the daemon
	got=$(tail -n 1 /tmp/spoofcount)
	if [ "$got" = "from 0" ]; then pass spoof-nothing-leaked; else
		fail spoof-nothing-leaked "frames from the stolen address $watch: $got"; fi
fi
barrier done
guest_done
