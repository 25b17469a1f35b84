# tests/vm/net_lib.sh — host side of the network VM tests (virtio-net, iavf), sourced after
# lib.sh and vm_init: a network namespace this test owns, the daemon started inside it (so its
# taps are born there), helpers in vnet_host.py, and the TCP checks.
#
#   net_init PREFIX         creates namespace NS (deleted at exit), sets IN_NS=(ip netns exec NS)
#                           and TAP (a short tap name unique to the run); later daemon_start
#                           calls run the daemon in the namespace
#   net_addr TAP NET [MTU]  host address NET.1/24 on TAP (inside the namespace), link up
#   host_bg NAME ARGS...    vnet_host.py ARGS in the namespace, output in $VM_WORK/NAME.out,
#                           PID in NAME_PID; killed at the end
#   net_tcp_send RUN ADDR PORT MIB   when guest RUN prints "INFO LISTEN PORT", send MIB MiB
#                           from the host (output in $VM_WORK/RUN-host-tx)
#   net_md5_check RUN RX_FILE        compare the guest's TX-MD5 with what the host got (RX_FILE)
#                           and the host's send ($VM_WORK/RUN-host-tx) with the guest's RX-MD5
# shellcheck shell=bash

HOSTPY=$VM_LIB_DIR/vnet_host.py

net_init() {
	vm_netns "iomed-$1"
	NS=$VM_NS
	TAP=$1$$
	TAP=${TAP:0:12}
	# the daemon runs in the namespace, so its tap is born there
	vm_iomed_in_ns
}

net_addr() {
	"${IN_NS[@]}" ip addr add "$2.1/24" dev "$1" || vm_die "cannot address $1 in $NS"
	"${IN_NS[@]}" ip link set "$1" mtu "${3:-1500}" up
}

host_bg() {
	local name=$1
	shift
	"${IN_NS[@]}" python3 "$HOSTPY" "$@" >"$VM_WORK/$name.out" 2>&1 &
	VM_PIDS+=("$!")
	eval "${name}_PID=$!"
}

net_tcp_send() {
	local run=$1 addr=$2 port=$3 mb=$4
	if vm_wait_marker "$run" "IOMED-TEST: INFO LISTEN $port" $((VM_TIMEOUT * 4)); then
		"${IN_NS[@]}" python3 "$HOSTPY" send "$addr" "$port" "$mb" >"$VM_WORK/$run-host-tx" 2>&1 ||
			vm_log "host send failed: $(cat "$VM_WORK/$run-host-tx")"
	fi
}

net_md5_check() {
	local run=$1 rx=$2 want got serial=$VM_WORK/$1.serial
	if grep -aq 'INFO TX-MD5' "$serial"; then
		want=$(grep -ao 'INFO TX-MD5 [0-9a-f]*' "$serial" | awk '{ print $3 }' || true)
		got=$(cut -d' ' -f1 "$rx" 2>/dev/null || true)
		if [ -n "$want" ] && [ "$want" = "$got" ]; then vm_pass "$run/tcp-tx-md5"; else
			vm_fail "$run/tcp-tx-md5" "guest sent $want, host got ${got:-nothing} ($(cat "$rx" 2>/dev/null))"; fi
	fi
	want=$(cut -d' ' -f1 "$VM_WORK/$run-host-tx" 2>/dev/null || true)
	got=$(grep -ao 'INFO RX-MD5 [0-9a-f]*' "$serial" | awk '{ print $3 }' || true)
	if [ -n "$want" ] && [ "$want" = "$got" ]; then vm_pass "$run/tcp-rx-md5"; else
		vm_fail "$run/tcp-rx-md5" "host sent ${want:-nothing}, guest got ${got:-nothing}"; fi
	grep -ao 'INFO tcp-[a-z]*: .*' "$serial" | tr -d '\r' | sed 's/^/  /' >&2 || true
}
