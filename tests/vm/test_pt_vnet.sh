#!/usr/bin/env bash
# test_pt_vnet.sh — a NIC through passthrough to an upstream vfio-user server, under a real guest:
#   QEMU 11.1 guest (virtio_net driver) -> iomed "middle" (passthrough,upstream=)
#     -> iomed "upstream" (virtio-net on a tap in a network namespace this test creates)
# The guest pings the host (10.66.2.1 on the tap) and sends IOMED_PT_MB MiB (default 8) over TCP,
# checked by md5, between two quiet points at which this script reads both daemons' counters
# (tests/vm/guest_virtio_net.sh, iomed.mode=count). Whatever the upstream traps (virtio notify
# writes: kicks) the middle daemon forwards once; DMA (the rings, the packets) and interrupts cost
# it nothing: both daemons' deltas must be equal and hold nothing but region accesses. The kick,
# packet and interrupt counts are logged. Needs root (ip netns).
#   tests/vm/test_pt_vnet.sh   (env knobs: tests/vm/lib.sh, IOMED_PT_MB)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

MB=${IOMED_PT_MB:-8}
MAC=52:54:00:12:34:66
TAP=iptv$$
TAP=${TAP:0:13}
vm_netns iomed-ptvn
# no IPv6 autoconfiguration traffic in the quiet times
"${IN_NS[@]}" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1 || true
vm_iomed_in_ns
UP_SOCK=$VM_WORK/up.sock
PT_SOCK=$VM_WORK/pt0.sock
DAEMON_NAME=upstream daemon_start --device "virtio-net,socket=$UP_SOCK,id=vn0,net=tap:$TAP,mac=$MAC"
UP_PID=$DAEMON_PID UP_LOG=$DAEMON_LOG
daemon_save UPSTREAM
IOMED=$VM_IOMED_BIN
DAEMON_NAME=middle daemon_start --device "passthrough,socket=$PT_SOCK,upstream=$UP_SOCK,id=pt0"
MID_PID=$DAEMON_PID MID_LOG=$DAEMON_LOG
"${IN_NS[@]}" ip addr add 10.66.2.1/24 dev "$TAP" || vm_die "cannot address $TAP in $NS"
"${IN_NS[@]}" ip link set "$TAP" up

"${IN_NS[@]}" python3 "$VM_LIB_DIR/vnet_host.py" recv 10.66.2.1 5001 "$VM_WORK/host-rx" \
	>"$VM_WORK/recv.out" 2>&1 &
VM_PIDS+=("$!")

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_virtio_net.sh" -m virtio_net
vm_start count "$INITRD" --vfio-user "pt0=$PT_SOCK" \
	--append "iomed.mode=count iomed.mb=$MB iomed.mac=$MAC iomed.net=10.66.2"
counted=0
if vm_wait_marker count 'IOMED-TEST: INFO COUNT-START' $((VM_TIMEOUT * 2)); then
	mid0=$(daemon_stats "$MID_PID" "$MID_LOG" pt0)
	up0=$(daemon_stats "$UP_PID" "$UP_LOG" vn0)
	if vm_wait_marker count 'IOMED-TEST: INFO COUNT-END' $((VM_TIMEOUT * 4)); then
		mid1=$(daemon_stats "$MID_PID" "$MID_LOG" pt0)
		up1=$(daemon_stats "$UP_PID" "$UP_LOG" vn0)
		counted=1
	fi
fi
vm_wait $((VM_TIMEOUT * 2)) || vm_log "guest count: QEMU exit status $?"
vm_check count find-device link-up ping tcp-tx count-ping || true

want=$(grep -ao 'INFO TX-MD5 [0-9a-f]*' "$VM_WORK/count.serial" | awk '{ print $3 }' || true)
got=$(cut -d' ' -f1 "$VM_WORK/host-rx" 2>/dev/null || true)
if [ -n "$want" ] && [ "$want" = "$got" ]; then vm_pass count/tcp-tx-md5; else
	vm_fail count/tcp-tx-md5 "guest sent $want, host got ${got:-nothing}"; fi

if [ $counted = 1 ]; then
	dmid=$(stats_delta "$mid0" "$mid1")
	dup=$(stats_delta "$up0" "$up1")
	guest=$(grep -ao 'INFO COUNT-END .*' "$VM_WORK/count.serial" | tr -d '\r' | sed 's/INFO COUNT-END //')
	vm_log "$MB MiB TCP + 50 pings, guest: $guest; middle: ${dmid:-nothing}| upstream: ${dup:-nothing}"
	if [ "$dmid" = "$dup" ]; then vm_pass count/forwarded-once; else
		vm_fail count/forwarded-once "middle '$dmid' != upstream '$dup'"; fi
	if [ -z "$(echo "$dmid" | tr ' ' '\n' | grep -vE '^(REGION_WRITE|REGION_READ)=|^$')" ]; then
		vm_pass count/region-accesses-only
	else
		vm_fail count/region-accesses-only "middle handled '$dmid'"
	fi
else
	vm_fail count/handshake "the guest never reached COUNT-START/COUNT-END"
fi
daemon_check end
daemon_stop
daemon_use UPSTREAM
daemon_check upstream-end
daemon_stop

vm_finish
