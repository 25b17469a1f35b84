#!/bin/sh
# guest_pt_vfio.sh — /init of the kernel VFIO passthrough test, in the L1 guest (busybox sh). Not a
# test by itself: tests/vm/test_pt_vfio.sh boots it with an emulated Intel IOMMU and these devices:
#   00:05.0 edu        bound to vfio-pci here: the passthrough target
#   00:06.0 edu        left without a driver
#   00:07.0 root port  bound to pcieport
#   behind it a PCIe-to-PCI bridge with an edu (bound to vfio-pci) and an e1000 (bound to e1000),
#   which share one IOMMU group
#   an igb behind a second root port: its driver enables 2 SR-IOV VFs, the first one bound to
#   vfio-pci here
# iomed (/bin/iomed) serves the target, a testdev, and four passthrough devices that must fail with
# a clear error; /bin/pt_edu then drives the target through iomed with the in-tree client.
. /etc/iomed-guest.sh
guest_setup

TARGET=0000:00:05.0 UNBOUND=0000:00:06.0 PORT=0000:00:07.0 ABSENT=0000:00:1e.7
GROUPED=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] || continue
	case ${d##*/} in 0000:00:*) ;; *) GROUPED=${d##*/} ;; esac
done
info "grouped edu: ${GROUPED:-none}; groups: target $(basename "$(readlink /sys/bus/pci/devices/$TARGET/iommu_group)") grouped $(basename "$(readlink /sys/bus/pci/devices/$GROUPED/iommu_group 2>/dev/null)" 2>/dev/null)"

bind_vfio() {
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null || true
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)")" = vfio-pci ]
}
if bind_vfio $TARGET; then pass bind-vfio-pci; else
	fail bind-vfio-pci "$(dmesg | grep -iE 'vfio|DMAR' | tail -n 3 | tr '\n' ' ')"
	guest_done
fi
[ -n "$GROUPED" ] && bind_vfio "$GROUPED" || fail bind-grouped "cannot bind $GROUPED to vfio-pci"
info "port driver: $(basename "$(readlink /sys/bus/pci/devices/$PORT/driver 2>/dev/null)" 2>/dev/null)"

# SR-IOV: the PF's interface up (its driver sets up MSI-X then), two VFs, the first for vfio-pci
VF=""
if PF=$(find_pci 0x8086 0x10c9); then
	for n in "$PF"/net/*; do ip link set "${n##*/}" up; done
	echo 2 >"$PF/sriov_numvfs" || fail sriov "cannot enable VFs on ${PF##*/}"
	VFD=$(find_pci 0x8086 0x10ca) && VF=${VFD##*/}
fi
if [ -n "$VF" ] && bind_vfio "$VF"; then pass bind-vf; else fail bind-vf "no igb VF bound to vfio-pci"; fi

mkdir -p /run/iomed
iomed --device "passthrough,host=$TARGET,socket=/run/iomed/pt0.sock,id=pt0" \
	--device "testdev,socket=/run/iomed/td.sock,id=td" \
	--device "passthrough,host=$UNBOUND,socket=/run/iomed/e1.sock,id=unbound" \
	--device "passthrough,host=$PORT,socket=/run/iomed/e2.sock,id=port" \
	--device "passthrough,host=$GROUPED,socket=/run/iomed/e3.sock,id=grouped" \
	--device "passthrough,host=$ABSENT,socket=/run/iomed/e4.sock,id=absent" \
	--device "passthrough,host=$VF,socket=/run/iomed/vf.sock,id=vf" \
	--log-level debug >/tmp/iomed.log 2>&1 &
PID=$!
i=0
while [ ! -S /run/iomed/pt0.sock ] && [ $i -lt 300 ] && kill -0 $PID 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if [ -S /run/iomed/pt0.sock ]; then pass iomed-listening; else
	fail iomed-listening "no socket after 30 s"
	sed 's/^/iomed| /' /tmp/iomed.log
	guest_done
fi

# log_has NAME TEXT: the iomed log holds TEXT
log_has() {
	if grep -qF "$2" /tmp/iomed.log; then pass "$1"; else fail "$1" "no '$2' in the iomed log"; fi
}
log_has err-unbound "device unbound (passthrough): PCI device $UNBOUND has no driver; bind it to vfio-pci"
log_has err-other-driver "device port (passthrough): PCI device $PORT is bound to pcieport, not vfio-pci"
log_has err-group "also holds"
log_has err-group-peer "(e1000)"
log_has err-absent "device absent (passthrough): no PCI device $ABSENT"
log_has serving-three "serving 3 devices"
grep -F "also holds" /tmp/iomed.log | sed 's/.*: IOMMU/INFO IOMMU/; s/^/IOMED-TEST: /'

pt_edu /run/iomed/pt0.sock $PID /run/iomed/td.sock /run/iomed/vf.sock || info "pt_edu exit status $?"

# L2 (when the host packed it): QEMU from the host's test bed (9p) runs a guest whose stock igbvf
# driver gets the VF through iomed; its markers come back prefixed "l2-"
run_l2() {
	S=/mnt/qemu
	mkdir -p $S
	mount -t 9p -o trans=virtio,version=9p2000.L,ro qemu $S || { fail l2-qemu "no 9p share"; return; }
	L=$S/usr/lib/x86_64-linux-gnu
	ld=$L/ld-linux-x86-64.so.2
	[ -e "$ld" ] || ld=$S/lib64/ld-linux-x86-64.so.2
	vf_stats before
	QEMU_MODULE_DIR=$L/qemu timeout 600 "$ld" --library-path "$L:$S/lib/x86_64-linux-gnu" \
		"$S/usr/bin/qemu-system-x86_64" -L "$S/usr/share/qemu" -L "$S/usr/share/seabios" \
		-machine q35,accel=tcg -m 256M \
		-object memory-backend-memfd,id=mem,size=256M,share=on -machine memory-backend=mem \
		-kernel /l2/vmlinuz -initrd /l2/initrd.img -append "console=ttyS0 panic=-1 quiet" \
		-display none -serial file:/tmp/l2.serial -monitor none -nic none -no-reboot \
		-device '{"driver":"vfio-user-pci","id":"vf0","socket":{"type":"unix","path":"/run/iomed/vf.sock"}}' \
		>/tmp/l2.qemu 2>&1
	check_eq l2-qemu $? 0
	tr -d '\r' </tmp/l2.serial | grep -a 'IOMED-TEST: ' |
		sed -e 's/IOMED-TEST: PASS /IOMED-TEST: PASS l2-/' -e 's/IOMED-TEST: FAIL /IOMED-TEST: FAIL l2-/' \
			-e 's/IOMED-TEST: INFO /IOMED-TEST: INFO l2: /' -e 's/IOMED-TEST: DONE/IOMED-TEST: INFO l2: done/'
	grep -a . /tmp/l2.qemu | head -n 5 | sed 's/^/IOMED-TEST: INFO l2 qemu: /'
	vf_stats after
}
# vf_stats WHEN: the VF device's message counters, from a SIGUSR2 dump of iomed's
vf_stats() {
	n=$(grep -c 'device vf stats:' /tmp/iomed.log)
	kill -USR2 $PID
	i=0
	while [ "$(grep -c 'device vf stats:' /tmp/iomed.log)" = "$n" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep 'device vf stats:' /tmp/iomed.log | tail -n 1 | sed "s/.*stats: /IOMED-TEST: INFO l2-stats-$1 /"
}
[ -e /l2/vmlinuz ] && run_l2

kill -TERM $PID
wait $PID
rc=$?
check_eq iomed-exit $rc 0
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' /tmp/iomed.log; then
	fail iomed-sanitizer "report in the iomed log"
else
	pass iomed-sanitizer
fi
[ "$FAILS" -eq 0 ] || sed 's/^/iomed| /' /tmp/iomed.log | tail -n 60
guest_done
