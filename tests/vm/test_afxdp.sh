#!/usr/bin/env bash
# test_afxdp.sh — iomed's virtio-net on the AF_XDP port under a stock Linux guest (virtio_net
# driver), QEMU 11.1 (vfio-user-pci): the daemon binds an XDP socket to one end of a veth pair
# in a network namespace this test creates; the host side is 10.66.0.1 on the other end. The
# guest (10.66.0.2) binds, pings, sends and receives TCP (IOMED_AFXDP_MB MiB, md5 checked: its
# TSO frames are segmented in software, checksums completed), unbinds and rebinds its driver.
#   tests/vm/test_afxdp.sh   (env knobs: tests/vm/lib.sh, IOMED_AFXDP_MB)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

MB=${IOMED_AFXDP_MB:-8}
MAC=52:54:00:12:35:66
HOSTPY=$VM_LIB_DIR/vnet_host.py

vm_netns iomed-xdp
"${IN_NS[@]}" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true
"${IN_NS[@]}" ip link add xv0 type veth peer name xv1
"${IN_NS[@]}" ip addr add 10.66.0.1/24 dev xv1
"${IN_NS[@]}" ip link set xv0 up
"${IN_NS[@]}" ip link set xv1 up
# AF_XDP hands over frames as they are and carries no checksum state: the kernel on the other
# end must send its checksums complete (a veth leaves them partial otherwise, as for a NIC with
# checksum offload)
"${IN_NS[@]}" ethtool -K xv1 tx off >/dev/null || vm_die "ethtool -K xv1 tx off failed"
vm_iomed_in_ns
SOCK=$VM_WORK/x0.sock
daemon_start --device "virtio-net,socket=$SOCK,id=x0,net=afxdp:xv0,mac=$MAC"

"${IN_NS[@]}" python3 "$HOSTPY" recv 10.66.0.1 5001 "$VM_WORK/host-rx" >"$VM_WORK/rx.out" 2>&1 &
VM_PIDS+=("$!")
INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_virtio_net.sh" -m virtio_net
vm_start basic "$INITRD" --mem 768M --vfio-user "x0=$SOCK" \
	--append "iomed.mode=basic iomed.mb=$MB iomed.mac=$MAC"
if vm_wait_marker basic 'IOMED-TEST: INFO LISTEN 5002' $((VM_TIMEOUT * 4)); then
	"${IN_NS[@]}" python3 "$HOSTPY" send 10.66.0.2 5002 "$MB" >"$VM_WORK/host-tx" 2>&1 ||
		vm_log "host send failed: $(cat "$VM_WORK/host-tx")"
fi
vm_wait $((VM_TIMEOUT * 5)) || vm_log "guest basic: QEMU exit status $?"
vm_check basic find-device link-up mac ping tcp-tx tcp-rx unbind rebind rebind-ping || true
want=$(grep -ao 'INFO TX-MD5 [0-9a-f]*' "$VM_WORK/basic.serial" | awk '{ print $3 }' || true)
got=$(cut -d' ' -f1 "$VM_WORK/host-rx" 2>/dev/null || true)
if [ -n "$want" ] && [ "$want" = "$got" ]; then vm_pass basic/tcp-tx-md5; else
	vm_fail basic/tcp-tx-md5 "guest sent $want, host got ${got:-nothing}"; fi
want=$(cut -d' ' -f1 "$VM_WORK/host-tx" 2>/dev/null || true)
got=$(grep -ao 'INFO RX-MD5 [0-9a-f]*' "$VM_WORK/basic.serial" | awk '{ print $3 }' || true)
if [ -n "$want" ] && [ "$want" = "$got" ]; then vm_pass basic/tcp-rx-md5; else
	vm_fail basic/tcp-rx-md5 "host sent ${want:-nothing}, guest got ${got:-nothing}"; fi
daemon_check end
daemon_stop
vm_finish
