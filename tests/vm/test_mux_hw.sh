#!/usr/bin/env bash
# test_mux_hw.sh — the DPDK port's hardware steering (rte_flow: destination MAC -> the device's
# own Rx queue, the rest to queue 0) with the tap PMD, whose rules need the kernel's multiq qdisc,
# flower classifier and skbedit action. A host kernel without them (the project machines) leaves
# the port to software classification, so the port-level probe of
# tests/integration/test_dpdk.sh runs inside a guest whose Debian kernel has them: the probe, its
# DPDK libraries and the PMD plugins it needs go into the initramfs.
#   tests/vm/test_mux_hw.sh   (env: DPDK_PROBE, the probe binary; knobs: tests/vm/lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

PROBE=${DPDK_PROBE:-$VM_SRC/build/tests/integration/dpdk_probe}
[ -x "$PROBE" ] || vm_die "dpdk_probe not found at $PROBE (ninja -C build)"
PMDS=$(dirname "$(ls /usr/lib/*/dpdk/pmds-*/librte_net_tap.so.* 2>/dev/null | head -n1)")
[ -d "$PMDS" ] || vm_die "DPDK's PMD folder not found (libdpdk-dev, librte-net-tap23)"

# the probe and the plugins EAL loads from its PMD folder, each with every library it needs
files=("$PROBE:/bin/dpdk_probe")
plugins=()
# (not bus_vdev: the tap PMD links it, and a second copy in the folder would be a second bus)
for p in net_tap mempool_ring; do
	f=$PMDS/librte_${p}.so
	[ -e "$f" ] || vm_die "no $p plugin in $PMDS"
	plugins+=("$f")
	files+=("$f:$f") # EAL loads *.so and *.so.ABI from its PMD folder
done
for lib in $(ldd "$PROBE" "${plugins[@]}" | awk '/=> \// { print $3 } /^\t\/[^ ]*ld-linux/ { print $1 }' | sort -u); do
	files+=("$lib:$lib")
done
args=()
for f in "${files[@]}"; do args+=(-f "$f"); done
INITRD=$VM_WORK/initrd.img
vm_initramfs "$INITRD" "$VM_LIB_DIR/guest_mux_hw.sh" -m tun -m sch_multiq -m sch_ingress \
	-m cls_flower -m act_skbedit -m act_gact -m act_mirred "${args[@]}"

# DPDK is built for SSE4.2 and up: TCG's "max" CPU has it
vm_boot hw "$INITRD" --mem 1G -- -cpu max || true
vm_check hw open-extra mac-owned-elsewhere mac-multicast-refused wire-a wire-b \
	wire-c steering-hw-queues steering-hw-direct wire-c-promisc a-to-b a-to-b-only-b \
	a-to-b-not-on-wire spoof-dropped spoof-nowhere tso-wire-segments tso-to-b-kept \
	tso-to-c-segmented csum-wire csum-to-c-completed probe-exit || true
grep -a 'INFO .*steering' "$VM_WORK/hw.serial" | tr -d '\r' | sed 's/^/  /' >&2 || true
vm_finish
