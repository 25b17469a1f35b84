#!/usr/bin/env bash
# test_iavf.sh — iomed's emulated Intel AVF VF (8086:1889) under a stock Linux guest (the iavf
# driver), QEMU 11.1 (vfio-user-pci), the daemon's TAP ports inside a network namespace:
#   1. basic:  probe and virtchnl bring-up, MAC from --device, link up, checksum/TSO offloads on,
#              10 pings to the host, pings over VLAN 100 (filter, insertion, stripping), TCP of
#              IOMED_IAVF_MB MiB (default 32) each way with matching md5 and no TCP checksum
#              errors, VSI statistics (GET_STATS) counting both, unbind (RESET_VF) / rebind + ping
#   2. reset:  TCP host -> guest; mid-transfer the daemon resets the VF (SIGUSR1): the driver sees
#              the reset, brings the VF up again, the transfer completes with a matching md5
#   3. reboot: the guest reboots; the second boot's driver finds the VF reset and pings
#   4. mq:     a second device with queues=4 and 4 vCPUs: four queue pairs; UDP flows from the host
#              land on at least 3 Rx queues (RSS), TCP connections use at least 2 Tx queues
# Every address lives in the namespace (10.66.0-2.0/24, host .1, guest .2); the
# namespace and every process we started go away at the end. Needs root (ip netns).
#   tests/vm/test_iavf.sh   (env knobs: tests/vm/lib.sh, IOMED_IAVF_MB)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init
. "$VM_LIB_DIR/net_lib.sh"

MB=${IOMED_IAVF_MB:-32}
RESET_MB=${IOMED_IAVF_RESET_MB:-128}
MAC=52:54:00:12:34:56
MAC1=52:54:00:12:34:57
net_init iav
TAP1=${TAP}q
SOCK=$VM_WORK/vf0.sock
SOCK1=$VM_WORK/vf1.sock

cc -static -O2 -Wall -Wextra -Werror -o "$VM_WORK/ethstats" "$VM_LIB_DIR/guest/ethstats.c" ||
	vm_die "cannot build the guest helper (cc -static)"
INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_iavf.sh" -m iavf -m 8021q -f "$VM_WORK/ethstats:/bin/ethstats"

daemon_start --device "iavf,socket=$SOCK,id=vf0,net=tap:$TAP,mac=$MAC" \
	--device "iavf,socket=$SOCK1,id=vf1,net=tap:$TAP1,mac=$MAC1,queues=4"
net_addr "$TAP" 10.66.0
net_addr "$TAP1" 10.66.1

# 1. basic (VLAN 100 answered from raw frames: the host kernel may have no VLAN support)
host_bg rx recv 10.66.0.1 5001 "$VM_WORK/host-rx"
host_bg vlan vlan "$TAP" 100 10.66.2.1 $((VM_TIMEOUT * 5))
vm_start basic "$INITRD" --mem 768M --vfio-user "vf0=$SOCK" \
	--append "iomed.mode=basic iomed.mb=$MB iomed.mac=$MAC"
BASIC=(find-device link-up driver mac offloads ping vlan-ping unbind rebind rebind-ping)
if [ "$MB" -gt 0 ]; then
	BASIC+=(tcp-tx tcp-rx no-csum-errors vsi-stats)
	net_tcp_send basic 10.66.0.2 5002 "$MB"
fi
vm_wait $((VM_TIMEOUT * 5)) || vm_log "guest basic: QEMU exit status $?"
vm_check basic "${BASIC[@]}" || true
vm_kill "$vlan_PID"
vm_log "VLAN 100 responder: $(tail -n 1 "$VM_WORK/vlan.out")"
[ "$MB" -gt 0 ] && net_md5_check basic "$VM_WORK/host-rx"
daemon_check basic

# 2. reset: SIGUSR1 once the transfer runs (the guest prints LISTEN one second before it waits)
vm_start reset "$INITRD" --mem 768M --vfio-user "vf0=$SOCK" --append "iomed.mode=reset"
if vm_wait_marker reset 'IOMED-TEST: INFO LISTEN 5002' $((VM_TIMEOUT * 2)); then
	"${IN_NS[@]}" python3 "$HOSTPY" send 10.66.0.2 5002 "$RESET_MB" >"$VM_WORK/reset-host-tx" 2>&1 &
	sender=$!
	VM_PIDS+=("$sender")
	sleep 1
	resets=$(grep -c 'VF reset (requested by the daemon)' "$DAEMON_LOG" || true)
	if kill -0 "$sender" 2>/dev/null; then vm_pass reset/mid-transfer; else
		vm_fail reset/mid-transfer "the transfer was over before the reset"; fi
	kill -USR1 "$DAEMON_PID"
	wait "$sender" || vm_log "host send failed: $(cat "$VM_WORK/reset-host-tx")"
	if [ "$(grep -c 'VF reset (requested by the daemon)' "$DAEMON_LOG")" -gt "$resets" ]; then
		vm_pass reset/daemon-reset; else vm_fail reset/daemon-reset "no reset in the daemon log"; fi
fi
vm_wait $((VM_TIMEOUT * 4)) || vm_log "guest reset: QEMU exit status $?"
vm_check reset find-device link-up driver ping reset-rx reset-seen reset-link reset-ping || true
net_md5_check reset /dev/null
daemon_check reset

# 3. reboot: the host's boot counter tells the guest which boot it is
host_bg counter counter 10.66.0.1 5003
vm_boot reboot "$INITRD" --reboot --vfio-user "vf0=$SOCK" --append "iomed.mode=reboot" || true
vm_check reboot find-device link-up driver boot1-ping boot2-ping || true
daemon_check reboot

# 4. mq: UDP flows for RSS once the guest is ready, TCP connections back for the Tx queues
host_bg conns counter 10.66.1.1 5004
vm_start mq "$INITRD" --vfio-user "vf1=$SOCK1" \
	--append "iomed.mode=mq iomed.net=10.66.1 iomed.mac=$MAC1" -- -smp 4
if vm_wait_marker mq 'IOMED-TEST: INFO UDP-READY' $((VM_TIMEOUT * 2)); then
	"${IN_NS[@]}" python3 "$HOSTPY" udp 10.66.1.2 9999 32 20 >"$VM_WORK/udp.out" 2>&1 ||
		vm_log "host udp failed: $(cat "$VM_WORK/udp.out")"
fi
vm_wait $((VM_TIMEOUT * 3)) || vm_log "guest mq: QEMU exit status $?"
vm_check mq find-device link-up driver mq-queues ping rx-spread tx-spread || true
grep -ao 'INFO [rt]x-spread.*' "$VM_WORK/mq.serial" | tr -d '\r' | sed 's/^/  /' >&2 || true
daemon_check end
daemon_stop

vm_finish
