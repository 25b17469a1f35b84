#!/usr/bin/env bash
# test_hotplug.sh — devices added and removed while a guest runs, through iomed's control socket and
# QEMU 11.1's QMP. The daemon starts with no device at all; each round (two, on one daemon, the second
# re-using the first's id and socket) boots a guest with an empty PCIe root port, then:
#   1. iomedctl add virtio-net,... (a TAP port inside this test's network namespace)
#   2. QMP device_add vfio-user-pci on the root port with the new socket: the guest's virtio_net
#      driver probes the hot-plugged NIC, the link comes up with our MAC, pings to the host answer
#   3. iomedctl stats: the guest's traffic shows in the device's queue and interrupt counters
#   4. QMP device_del: the guest's driver lets the NIC go, QEMU deletes the device (DEVICE_DELETED)
#      and closes its vfio-user connection; the daemon sees its client leave
#   5. iomedctl remove: the device and its socket are gone; the daemon serves on
# QEMU 11.1.3 (trixie-backports) aborts while it frees a hot-unplugged vfio-user-pci that has MSI-X
# (vfio_user_msix_teardown removes the PBA region from a BAR already torn down: "Assertion
# `subregion->container == mr' failed"), after the guest has let the device go and before it sends
# DEVICE_DELETED. The test recognises exactly that abort, reports it, and checks everything else; any
# other QEMU failure fails the test, and a QEMU without the defect must send DEVICE_DELETED.
# Needs root (ip netns). Every address lives in the namespace (host 10.66.2.1, guest 10.66.2.2).
#   tests/vm/test_hotplug.sh   (env knobs: tests/vm/lib.sh; IOMEDCTL, default next to $IOMED)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

TAP=ihp$$
TAP=${TAP:0:13}
IOMEDCTL=${IOMEDCTL:-$(dirname "$IOMED")/iomedctl}
QMPPY=$VM_LIB_DIR/qmp.py
CTL=$VM_WORK/ctl.sock
QMP=$VM_WORK/qmp.sock

[ -x "$IOMEDCTL" ] || vm_die "iomedctl not found at $IOMEDCTL"
vm_netns iomed-hp
vm_iomed_in_ns

ctl() { "$IOMEDCTL" -s "$CTL" "$@"; }
qmp() { python3 "$QMPPY" "$QMP" "$@"; }

# stat_of ID PYEXPR: evaluate PYEXPR over device_stats's result r
stat_of() {
	ctl --json stats "$1" | python3 -c "import json, sys; r = json.load(sys.stdin)['result']; print($2)"
}

# check NAME COMMAND...: PASS when COMMAND succeeds
check() {
	local name=$1
	shift
	if "$@"; then vm_pass "$name"; else vm_fail "$name" "$*"; fi
}

daemon_start --control "$CTL"
for _ in $(seq 100); do [ -S "$CTL" ] && break; sleep 0.1; done
[ -S "$CTL" ] || vm_die "control socket $CTL did not appear"
check no-devices-at-start test "$(ctl list)" = "no devices"

INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_hotplug.sh" -m virtio_net
QEMU_UNPLUG_ABORT="memory_region_del_subregion: Assertion \`subregion->container == mr' failed"

# guest_pass NAME CHECK: the guest NAME printed PASS CHECK
guest_pass() {
	if grep -aqE "IOMED-TEST: PASS $2[[:space:]]*\$" "$VM_WORK/$1.serial"; then vm_pass "$1/$2"; else
		vm_fail "$1/$2" "$(grep -a "IOMED-TEST: FAIL $2 " "$VM_WORK/$1.serial" | head -n1 || echo no PASS line)"
	fi
}

# round R: boot a guest, plug device hp in, check it works, unplug it, remove it
round() {
	local r=$1 name=hp$1 id=hp sock=$VM_WORK/hp.sock mac=52:54:00:12:35:0$1 out dev rc=0
	vm_start "$name" "$INITRD" --append "iomed.mac=$mac" -- \
		-device pcie-root-port,id=rp1,chassis=1,slot=1 -qmp "unix:$QMP,server=on,wait=off"
	vm_wait_marker "$name" 'IOMED-TEST: INFO READY' "$VM_TIMEOUT" || {
		vm_show_serial "$name" 40
		vm_fail "$name/ready" "guest never got ready"
		return
	}
	# 1. the device, on a tap the daemon creates in the namespace
	if ! out=$(ctl add "virtio-net,id=$id,socket=$sock,net=tap:$TAP,mac=$mac" 2>&1); then
		vm_fail "$name/rpc-add" "$out"
		return
	fi
	vm_pass "$name/rpc-add"
	"${IN_NS[@]}" ip addr add 10.66.2.1/24 dev "$TAP"
	"${IN_NS[@]}" ip link set "$TAP" up
	check "$name/listed" grep -q "^$id .*virtio-net" <(ctl list)

	# 2. QEMU plugs it in, the guest's driver takes it
	dev="{\"driver\":\"vfio-user-pci\",\"id\":\"$id\",\"bus\":\"rp1\",\"socket\":{\"type\":\"unix\",\"path\":\"$sock\"}}"
	if ! out=$(qmp device_add "$dev" 2>&1); then
		vm_fail "$name/qmp-device-add" "$out"
		return
	fi
	vm_pass "$name/qmp-device-add"
	vm_wait_marker "$name" 'IOMED-TEST: INFO PINGED' $((VM_TIMEOUT * 3)) ||
		vm_fail "$name/guest-pinged" "no INFO PINGED"
	for c in plug link mac ping; do guest_pass "$name" $c; done
	check "$name/client-connected" test "$(stat_of "$id" "r['vfio_user']['connected']")" = True

	# 3. the guest's traffic in the counters: its 5 pings out on tx0, the replies in on rx0
	check "$name/stats-tx" test "$(stat_of "$id" "r['device']['queues'][1]['packets'] >= 5")" = True
	check "$name/stats-rx" test "$(stat_of "$id" "r['device']['queues'][0]['packets'] >= 5")" = True
	check "$name/stats-msix" test "$(stat_of "$id" "r['vfio_user']['interrupts']['msix'] > 0")" = True
	ctl stats "$id" | sed 's/^/  /' >&2

	# 4. QEMU unplugs it: the guest lets it go, QEMU deletes it
	qmp device_del "{\"id\":\"$id\"}" --event DEVICE_DELETED --device "$id" --timeout 120 \
		>"$VM_WORK/$name.del" 2>&1 || rc=$?
	vm_wait_marker "$name" 'IOMED-TEST: PASS unplug-iface' 30 || true
	guest_pass "$name" unplug-iface
	if [ $rc = 0 ]; then
		vm_pass "$name/device-deleted"
		vm_wait "$VM_TIMEOUT" || true
		vm_check "$name" plug link mac ping unplug-iface unplug || true
	else
		vm_wait 10 || true
		if grep -aqF "$QEMU_UNPLUG_ABORT" "$VM_WORK/$name.qemu"; then
			vm_log "$name: QEMU aborted freeing the unplugged vfio-user-pci (the QEMU 11.1.3 defect" \
				"this test's header describes); no DEVICE_DELETED"
		else
			vm_fail "$name/device-deleted" "$(tail -n 3 "$VM_WORK/$name.del" | tr '\n' ' ')"
			vm_show_qemu "$name"
		fi
	fi
	for _ in $(seq 50); do
		[ "$(stat_of "$id" "r['vfio_user']['connected']")" = False ] && break
		sleep 0.1
	done
	check "$name/client-gone" test "$(stat_of "$id" "r['vfio_user']['connected']")" = False

	# 5. the daemon lets the device go
	if out=$(ctl remove "$id" 2>&1) && [ "$out" = "removed $id" ]; then vm_pass "$name/rpc-remove"; else
		vm_fail "$name/rpc-remove" "$out"
	fi
	check "$name/socket-removed" test ! -e "$sock"
	check "$name/unlisted" test "$(ctl list)" = "no devices"
	check "$name/tap-removed" test -z "$("${IN_NS[@]}" ip -o link show "$TAP" 2>/dev/null)"
	daemon_check "$name"
}

for r in 1 2; do round $r; done
daemon_stop
vm_finish
