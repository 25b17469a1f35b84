#!/usr/bin/env bash
# test_virtio_net.sh — iomed's virtio-net under a stock Linux guest (virtio_net driver), QEMU 11.1
# (vfio-user-pci), the daemon's TAP port inside a network namespace this test creates:
#   1. basic:   driver binds, MAC from --device, link up, 10 pings to the host with no loss, the RX
#               filter (200 frames to a foreign MAC dropped, delivered once the guest turns promisc
#               on), TCP of IOMED_VNET_MB MiB (default 64) each way with matching md5, driver
#               unbind/rebind + ping
#   2. reboot:  the guest reboots; the second boot's driver finds the device reset and pings
#   3. restart: QEMU is killed (-9) while the guest pings, a fresh QEMU attaches and pings
#   4. mq:      a second device (queues=2, mtu=9000, its own tap on 10.66.1.0/24), 2 vCPUs: both
#               queue pairs enabled by the driver and used, MTU 9000 from the device, jumbo ping
# Every address lives in the namespace (host side 10.66.0.1 on the tap, guest 10.66.0.2); the
# namespace and every process we started go away at the end. Needs root (ip netns).
#   tests/vm/test_virtio_net.sh   (env knobs: tests/vm/lib.sh, IOMED_VNET_MB)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

. "$VM_LIB_DIR/net_lib.sh"

MB=${IOMED_VNET_MB:-64}
MAC=52:54:00:12:34:56
net_init ivn
TAP1=${TAP}q

SOCK=$VM_WORK/vn0.sock
SOCK1=$VM_WORK/vn1.sock
MAC1=52:54:00:12:34:57
daemon_start --device "virtio-net,socket=$SOCK,id=vn0,net=tap:$TAP,mac=$MAC" \
	--device "virtio-net,socket=$SOCK1,id=vn1,net=tap:$TAP1,mac=$MAC1,queues=2,mtu=9000"
net_addr "$TAP" 10.66.0
net_addr "$TAP1" 10.66.1 9000

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_virtio_net.sh" -m virtio_net

# 1. basic
host_bg rx recv 10.66.0.1 5001 "$VM_WORK/host-rx"
vm_start basic "$INITRD" --mem 768M --vfio-user "vn0=$SOCK" \
	--append "iomed.mode=basic iomed.mb=$MB iomed.mac=$MAC iomed.filter=1"
BASIC=(find-device link-up mac ping filter-drops filter-promisc unbind rebind rebind-ping)
for port in 5004 5005; do
	if vm_wait_marker basic "IOMED-TEST: INFO FLOOD $port" $((VM_TIMEOUT * 2)); then
		"${IN_NS[@]}" python3 "$HOSTPY" flood "$TAP" 52:54:00:de:ad:01 200 10.66.0.2 "$port" \
			>"$VM_WORK/flood-$port" 2>&1 || vm_log "flood failed: $(cat "$VM_WORK/flood-$port")"
	fi
done
if [ "$MB" -gt 0 ]; then
	BASIC+=(tcp-tx tcp-rx)
	net_tcp_send basic 10.66.0.2 5002 "$MB"
fi
vm_wait $((VM_TIMEOUT * 5)) || vm_log "guest basic: QEMU exit status $?"
vm_check basic "${BASIC[@]}" || true
[ "$MB" -gt 0 ] && net_md5_check basic "$VM_WORK/host-rx"
daemon_check basic

# 2. reboot: the host's boot counter tells the guest which boot it is
host_bg counter counter 10.66.0.1 5003
vm_boot reboot "$INITRD" --reboot --vfio-user "vn0=$SOCK" --append "iomed.mode=reboot" || true
vm_check reboot find-device link-up boot1-ping boot2-ping || true
daemon_check reboot

# 3. restart: kill -9 QEMU mid-traffic, then a fresh QEMU on the same daemon
vm_start hold "$INITRD" --vfio-user "vn0=$SOCK" --append "iomed.mode=hold"
if vm_wait_marker hold 'IOMED-TEST: INFO HOLD' "$VM_TIMEOUT"; then
	sleep 1
	kill -KILL "$QEMU_PID"
	wait "$QEMU_PID" 2>/dev/null || true
	if grep -aq 'IOMED-TEST: PASS ping' "$VM_WORK/hold.serial"; then vm_pass hold/ping; else vm_fail hold/ping "no PASS ping before the kill"; vm_show_serial hold 30; fi
else
	vm_fail hold/marker "guest never printed IOMED-TEST: INFO HOLD"
	vm_show_serial hold 40
	vm_kill "$QEMU_PID"
fi
sleep 0.5
daemon_check after-kill
vm_boot restart "$INITRD" --vfio-user "vn0=$SOCK" --append "iomed.mode=basic iomed.mac=$MAC" || true
vm_check restart find-device link-up mac ping unbind rebind rebind-ping || true
daemon_check restart

# 4. mq + jumbo frames on the second device
vm_boot mq "$INITRD" --vfio-user "vn1=$SOCK1" \
	--append "iomed.mode=mq iomed.net=10.66.1 iomed.mac=$MAC1" -- -smp 2 || true
vm_check mq find-device link-up ping mtu mq-pairs mq-traffic jumbo-ping || true
grep -ao 'INFO input irqs.*' "$VM_WORK/mq.serial" | tr -d '\r' | sed 's/^/  /' >&2 || true
daemon_check end
daemon_stop

vm_finish
