#!/usr/bin/env bash
# test_trace.sh — a trace and a packet capture of a real guest driver: iomed's virtio-net started
# with trace=PATH and pcap=PATH, a stock Linux guest (virtio_net) binds it, pings the host 10 times
# (and 5 more after an unbind/rebind), powers off. Then:
#   - iomed-trace decodes the whole trace (exit status 0, END record, nothing lost) and
#     tests/vm/trace_check.py finds the bring-up in it: config reads of the vendor/device ID before
#     any BAR access, the virtio status handshake 0 -> 1 -> 3 -> 0xb -> 0xf on the common config,
#     queues enabled before DRIVER_OK, guest RAM mapped, MSI-X set up and interrupts delivered;
#   - tcpdump -r reads the pcap and shows the echo requests and replies of the pings.
# One boot serves both. Every address lives in a network namespace this test creates (host side
# 10.66.0.1 on the tap, guest 10.66.0.2); it and every process we started go away at the end.
# Needs root (ip netns).   tests/vm/test_trace.sh   (env knobs: tests/vm/lib.sh; IOMED_TRACE)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init
. "$VM_LIB_DIR/net_lib.sh"

MAC=52:54:00:12:34:58
DECODER=${IOMED_TRACE:-$(dirname "$IOMED")/iomed-trace}

[ -x "$DECODER" ] || vm_die "iomed-trace not found at $DECODER (set IOMED_TRACE)"
command -v tcpdump >/dev/null || vm_die "tcpdump is missing (scripts/setup.sh installs it)"
net_init itr

SOCK=$VM_WORK/vn0.sock
TRACE=$VM_WORK/vn0.trc
PCAP=$VM_WORK/vn0.pcap
daemon_start --device "virtio-net,socket=$SOCK,id=vn0,net=tap:$TAP,mac=$MAC,trace=$TRACE,pcap=$PCAP"
net_addr "$TAP" 10.66.0

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_virtio_net.sh" -m virtio_net
vm_boot guest "$INITRD" --vfio-user "vn0=$SOCK" --append "iomed.mode=basic iomed.mb=0 iomed.mac=$MAC" || true
vm_check guest find-device link-up mac ping unbind rebind rebind-ping || true
daemon_check
# the trace and the capture are written out (END record) when the daemon stops
daemon_stop

# the trace
rc=0
"$DECODER" --json "$TRACE" >"$VM_WORK/trace.json" 2>"$VM_WORK/trace.err" || rc=$?
if [ $rc = 0 ] && [ ! -s "$VM_WORK/trace.err" ]; then
	vm_pass trace-decodes
else
	vm_fail trace-decodes "iomed-trace exit status $rc: $(head -c 300 "$VM_WORK/trace.err")"
fi
vm_log "trace: $(stat -c %s "$TRACE") bytes, $(($(wc -l <"$VM_WORK/trace.json") - 1)) records"
while read -r verdict name detail; do
	case $verdict in
	PASS) vm_pass "trace/$name" ;;
	FAIL) vm_fail "trace/$name" "$detail" ;;
	*) vm_log "trace_check: $verdict $name $detail" ;;
	esac
done < <(python3 "$VM_LIB_DIR/trace_check.py" "$VM_WORK/trace.json" 2>&1 || echo "FAIL check-script exit status $?")
if [ "$VM_FAILED" -gt 0 ]; then
	"$DECODER" "$TRACE" 2>&1 | head -n 80 | sed 's/^/  trace| /' >&2 || true
fi

# the capture
rc=0
tcpdump -r "$PCAP" -n -tt icmp >"$VM_WORK/pcap.txt" 2>"$VM_WORK/pcap.err" || rc=$?
req=$(grep -c '10.66.0.2 > 10.66.0.1: ICMP echo request' "$VM_WORK/pcap.txt" || true)
rep=$(grep -c '10.66.0.1 > 10.66.0.2: ICMP echo reply' "$VM_WORK/pcap.txt" || true)
vm_log "pcap: $(stat -c %s "$PCAP") bytes; tcpdump: $(tr '\n' ' ' <"$VM_WORK/pcap.err")"
if [ $rc = 0 ]; then vm_pass pcap-reads; else vm_fail pcap-reads "tcpdump -r exit status $rc: $(cat "$VM_WORK/pcap.err")"; fi
if [ "$req" -ge 15 ]; then vm_pass pcap/echo-requests; else vm_fail pcap/echo-requests "$req of 15 guest echo requests"; fi
if [ "$rep" -ge 15 ]; then vm_pass pcap/echo-replies; else vm_fail pcap/echo-replies "$rep of 15 host echo replies"; fi
if [ "$req" -lt 15 ] || [ "$rep" -lt 15 ]; then sed 's/^/  pcap| /' "$VM_WORK/pcap.txt" | head -n 40 >&2; fi

vm_finish
