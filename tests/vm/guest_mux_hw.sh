#!/bin/sh
# guest_mux_hw.sh — /init of tests/vm/test_mux_hw.sh (busybox sh): runs the port-level DPDK probe
# (tests/integration/dpdk_probe.c) inside the guest, whose kernel has what the tap PMD's rte_flow
# needs (multiq qdisc, flower classifier, skbedit action): hardware steering, rule per MAC.
# Every "ok:" line of the probe becomes a PASS marker, every "FAIL:" line a FAIL marker.
. /etc/iomed-guest.sh
guest_setup
ip link set lo up
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
mkdir -p /var/run
# EAL refuses plugin folders under a world-writable directory (the initramfs root is one)
chmod go-w /
find /usr -type d -exec chmod go-w {} +

/bin/dpdk_probe "--no-huge -m 256 --no-pci --log-level=pmd.net.tap:info --vdev net_tap0,iface=dtap0" dpdk:net_tap0 dtap0 expect-hw \
	>/tmp/probe.out 2>&1
status=$?
while IFS= read -r line; do
	case $line in
	"ok:   "*) pass "${line#ok:   }" ;;
	"FAIL: "*) n=${line#FAIL: }; fail "${n%%:*}" "${n#*: }" ;;
	*"iomed info: dpdk net_tap0: port"* | *"steering"*) info "$line" ;;
	esac
done </tmp/probe.out
[ $status = 0 ] && pass probe-exit || { fail probe-exit "status $status"; grep -v "^ok" /tmp/probe.out | tail -n 40; }
guest_done
