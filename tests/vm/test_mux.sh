#!/usr/bin/env bash
# test_mux.sh — three guests on one DPDK port of the daemon (net_tap PMD, no hugepages), each
# with iomed's virtio-net and a stock Linux virtio_net driver, QEMU 11.1 (vfio-user-pci):
#   - probe frames from the host side: each guest gets exactly its own unicast and the
#     broadcasts; a promiscuous guest (c) gets every one of them
#   - ARP and ping host <-> guests and guest <-> guest (frames stay inside the daemon)
#   - TCP a -> b -> c -> a with md5 checks (a and b leave checksums and segmentation to the
#     offloads, c sends them done: virtio_net csum=0 gso=0), a -> host and host -> b over the
#     port (the tap PMD's side: the host kernel checks every checksum; iomed segments for it)
#   - c takes a's MAC address: none of its frames gets anywhere (dropped and counted), the
#     others receive nothing; with its own address back it pings again
#   - steering: software here when the host kernel lacks the tap PMD's rte_flow needs
#     (tests/integration/test_dpdk.sh covers both modes at port level)
# Every address lives in a network namespace this test creates. Needs root (ip netns).
#   tests/vm/test_mux.sh   (env knobs: tests/vm/lib.sh, IOMED_MUX_MB)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

MB=${IOMED_MUX_MB:-2}
HOSTPY=$VM_LIB_DIR/vnet_host.py
MACS=(52:54:00:67:00:11 52:54:00:67:00:12 52:54:00:67:00:13)

vm_netns iomed-mux
"${IN_NS[@]}" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true
cc -static -O2 -Wall -Wextra -Werror -o "$VM_WORK/pktcount" "$VM_LIB_DIR/guest/pktcount.c" ||
	vm_die "cannot build the guest helper (cc -static)"
vm_iomed_in_ns

devs=()
for i in 0 1 2; do
	devs+=(--device "virtio-net,socket=$VM_WORK/g$i.sock,id=g$i,net=dpdk:net_tap0,mac=${MACS[$i]}")
done
daemon_start --dpdk "--no-huge -m 256 --no-pci --vdev net_tap0,iface=mux0" "${devs[@]}"
"${IN_NS[@]}" ip addr add 10.67.0.1/24 dev mux0 || vm_die "cannot address mux0 in $VM_NS"
"${IN_NS[@]}" ip link set mux0 up

host_bg() { # host_bg NAME ARGS...: a helper in the namespace, killed at the end
	local name=$1
	shift
	"${IN_NS[@]}" "$@" >"$VM_WORK/$name.out" 2>&1 &
	VM_PIDS+=("$!")
}
host_bg barrier python3 "$VM_LIB_DIR/mux_host.py" barrier 10.67.0.1 5000 3 mux0 "${MACS[@]}"
host_bg hostrx python3 "$HOSTPY" recv 10.67.0.1 5001 "$VM_WORK/host-rx"

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_mux.sh" -m virtio_net -f "$VM_WORK/pktcount:/bin/pktcount"

# a: own 3; b: own 4; c (promiscuous): own 5 and the 3 + 4 + 1 others; everyone 2 broadcasts
common="iomed.peers=11,12,13 iomed.mb=$MB"
roles=(
	"iomed.role=a iomed.me=11 iomed.next=12 iomed.mac=${MACS[0]} iomed.expect=3,2,0 iomed.watch=${MACS[0]}"
	"iomed.role=b iomed.me=12 iomed.next=13 iomed.mac=${MACS[1]} iomed.expect=4,2,0 iomed.watch=${MACS[0]}"
	"iomed.role=c iomed.me=13 iomed.next=11 iomed.mac=${MACS[2]} iomed.expect=5,2,8 iomed.promisc=1 iomed.nooffload=1 iomed.steal=${MACS[0]}"
)
QPIDS=()
for i in 0 1 2; do
	vm_start "g$i" "$INITRD" --mem 384M --vfio-user "g$i=$VM_WORK/g$i.sock" --append "$common ${roles[$i]}"
	QPIDS+=("$QEMU_PID")
done
LIMIT=$((VM_TIMEOUT * 10))
QEMU_PID=${QPIDS[1]}
if vm_wait_marker g1 'IOMED-TEST: INFO LISTEN 5002' "$LIMIT"; then
	"${IN_NS[@]}" python3 "$HOSTPY" send 10.67.0.12 5002 "$MB" >"$VM_WORK/host-tx" 2>&1 ||
		vm_log "host send failed: $(cat "$VM_WORK/host-tx")"
fi
for i in 0 1 2; do
	QEMU_PID=${QPIDS[$i]}
	vm_wait "$LIMIT" || vm_log "guest g$i: QEMU exit status $?"
done

CHECKS=(find-device link-up probe-frames ping-host tcp-to-next tcp-from-prev)
vm_check g0 "${CHECKS[@]}" ping-10.67.0.12 ping-10.67.0.13 tcp-to-host spoof-nothing-leaked || true
vm_check g1 "${CHECKS[@]}" ping-10.67.0.11 ping-10.67.0.13 tcp-from-host spoof-nothing-leaked || true
vm_check g2 "${CHECKS[@]}" ping-10.67.0.11 ping-10.67.0.12 spoof-host spoof-10.67.0.11 spoof-10.67.0.12 spoof-restored || true

md5_of() { grep -ao "INFO $2 [0-9a-f]*" "$VM_WORK/$1.serial" | awk '{ print $3 }' || true; }
same() { # same NAME A B
	if [ -n "$2" ] && [ "$2" = "$3" ]; then vm_pass "$1"; else vm_fail "$1" "sent '$2', received '$3'"; fi
}
same tcp-a-to-b "$(md5_of g0 TX-MD5)" "$(md5_of g1 RX-MD5)"
same tcp-b-to-c "$(md5_of g1 TX-MD5)" "$(md5_of g2 RX-MD5)"
same tcp-c-to-a "$(md5_of g2 TX-MD5)" "$(md5_of g0 RX-MD5)"
same tcp-a-to-host "$(md5_of g0 TX-MD5)" "$(cut -d' ' -f1 "$VM_WORK/host-rx" 2>/dev/null)"
same tcp-host-to-b "$(cut -d' ' -f1 "$VM_WORK/host-tx" 2>/dev/null)" "$(md5_of g1 HRX-MD5)"
grep -a 'INFO probe frames' "$VM_WORK"/g?.serial | tr -d '\r' | sed 's/^/  /' >&2 || true
daemon_check end
daemon_stop

# the port's own account: software steering, frames member to member, spoofed frames dropped
stats=$(grep -a 'dpdk net_tap0: steering' "$DAEMON_LOG" | tail -n 1)
echo "  $stats" >&2
num() { echo "$stats" | sed -n "s/.*$1 \([0-9]*\).*/\1/p"; }
if [ "$(num spoofed)" -gt 0 ] 2>/dev/null; then vm_pass port-spoofed-counted; else vm_fail port-spoofed-counted "$stats"; fi
if [ "$(num 'member to member')" -gt 0 ] 2>/dev/null; then vm_pass port-member-to-member; else vm_fail port-member-to-member "$stats"; fi
if [ "$(num 'software segmentation')" -gt 0 ] 2>/dev/null; then vm_pass port-software-gso; else vm_fail port-software-gso "$stats"; fi
vm_finish
