#!/bin/sh
# guest_testdev.sh — /init of the testdev VM test (runs in the guest under busybox sh).
# Not a test by itself: tests/vm/test_testdev.sh boots it. Kernel command line:
#   iomed.mode=basic   register, shared-memory, trapped-page and config-space checks
#   iomed.mode=reboot  two boots told apart by the STICKY register (iomed.nonce=N in its top half)
#   iomed.mode=hold    one check, then busy MMIO until the host kills QEMU
. /etc/iomed-guest.sh
guest_setup

mode=$(cmdline_get iomed.mode basic)
nonce=$(cmdline_get iomed.nonce 1)

# BAR0 registers
ID=0x00 LIVENESS=0x04 RESET_COUNT=0x14 SHM_PEEK_OFF=0x18 SHM_PEEK=0x1c
SCRATCH0=0x20 SCRATCH7=0x3c STICKY=0x60 TRAP_COUNT=0x64

D=$(find_pci 0x1234 0x11ed) || {
	fail find-device "no 1234:11ed among: $(cat /sys/bus/pci/devices/*/vendor /sys/bus/pci/devices/*/device 2>/dev/null | tr '\n' ' ')"
	guest_done
}
pass find-device
info "device $D mode=$mode"

if echo 1 >"$D/enable" 2>/tmp/enable.err; then pass enable; else fail enable "$(cat /tmp/enable.err)"; fi
B0=$(bar_addr "$D" 0)
B1=$(bar_addr "$D" 1)
B2=$(bar_addr "$D" 2)
info "BAR0=$B0 BAR1=$B1 BAR2=$B2 command=$(printf '0x%04x' "$(cfg16 "$D" 0x04)")"
[ "$((B0))" -ne 0 ] && [ "$((B2))" -ne 0 ] || { fail bars "BAR0 or BAR2 unassigned"; guest_done; }

r0() { rd32 $((B0 + $1)); }
w0() { wr32 $((B0 + $1)) "$2"; }
r2() { rd32 $((B2 + $1)); }
w2() { wr32 $((B2 + $1)) "$2"; }

check_eq id "$(r0 $ID)" 0x010011ed

case $mode in
hold)
	marker "INFO HOLD"
	i=0
	while :; do
		i=$((i + 1))
		w0 $SCRATCH0 $i
		r0 $ID >/dev/null
		w2 0x200 $i
	done
	;;

reboot)
	st=$(r0 $STICKY)
	if [ $((st >> 16)) -ne $((nonce)) ]; then
		# first boot: leave marks that a device reset must clear, remember the reset count
		rc=$(r0 $RESET_COUNT)
		w0 $SCRATCH0 0xa5a5a5a5
		w0 $LIVENESS 0x0f0f0f0f
		w2 0x10 0x11111111
		w0 $STICKY $(((nonce << 16) | (rc & 0xffff)))
		check_eq sticky-write "$(r0 $STICKY)" $(((nonce << 16) | (rc & 0xffff)))
		check_eq scratch-before-reset "$(r0 $SCRATCH0)" 0xa5a5a5a5
		info "boot 1: RESET_COUNT=$rc, rebooting"
		pass boot1
		sync
		reboot -f
		sleep 10
		fail boot1 "reboot -f returned"
		guest_done
	fi
	rc1=$((st & 0xffff))
	rc2=$(r0 $RESET_COUNT)
	info "boot 2: RESET_COUNT before=$rc1 now=$(($rc2))"
	pass boot2
	if [ $((rc2 & 0xffff)) -gt $rc1 ]; then pass reset-count; else fail reset-count "RESET_COUNT $rc2 not above $rc1"; fi
	check_eq scratch-cleared "$(r0 $SCRATCH0)" 0
	check_eq liveness-reset "$(r0 $LIVENESS)" 0xffffffff
	check_eq shm-refilled "$(r2 0x10)" 0x5a000004
	w0 $STICKY 0
	check_eq sticky-clear "$(r0 $STICKY)" 0
	guest_done
	;;
esac

# ---- basic mode ----------------------------------------------------------------------------
# identity as the guest kernel sees it
check_eq class "$(cat "$D/class")" 0x00ff00
check_eq subsystem "$(($(cat "$D/subsystem_vendor") << 16 | $(cat "$D/subsystem_device")))" 0x12340001
check_eq revision "$(cfg8 "$D" 0x08)" 0x01
check_eq irq-pin "$(cfg8 "$D" 0x3d)" 1
check_eq bar0-size "$(bar_size "$D" 0)" 4096
check_eq bar1-size "$(bar_size "$D" 1)" 4096
check_eq bar2-size "$(bar_size "$D" 2)" 16384

# trapped registers
check_eq liveness-reset "$(r0 $LIVENESS)" 0xffffffff
w0 $LIVENESS 0x12345678
check_eq liveness "$(r0 $LIVENESS)" 0xedcba987
w0 $LIVENESS 0
check_eq liveness-zero "$(r0 $LIVENESS)" 0xffffffff
w0 $SCRATCH0 0xdeadbeef
w0 $SCRATCH7 0x0badf00d
check_eq scratch0 "$(r0 $SCRATCH0)" 0xdeadbeef
check_eq scratch7 "$(r0 $SCRATCH7)" 0x0badf00d
check_eq unknown-reg "$(r0 0x100)" 0
info "RESET_COUNT=$(r0 $RESET_COUNT) STICKY=$(r0 $STICKY)"

# shared memory BAR2: mmapped pages are read and written by the guest without exits
check_eq shm-initial "$(r2 0x10)" 0x5a000004
check_eq shm-initial-hi "$(r2 0x3000)" 0x5a000c00
w2 0x100 0xc0ffee01
w0 $SHM_PEEK_OFF 0x100
check_eq shm-peek-off "$(r0 $SHM_PEEK_OFF)" 0x100
check_eq shm-guest-store "$(r0 $SHM_PEEK)" 0xc0ffee01
# and the other way: the daemon stores, the guest sees it through its mapping
w0 $SHM_PEEK_OFF 0x3ffc
w0 $SHM_PEEK 0x600dcafe
check_eq shm-daemon-store "$(r2 0x3ffc)" 0x600dcafe

# the trapped page [0x2000, 0x3000) is served from the same memory by the daemon
tc0=$(r0 $TRAP_COUNT)
check_eq trap-read "$(r2 0x2000)" 0x5a000800
w2 0x2004 0x7a7a0001
check_eq trap-write "$(r2 0x2004)" 0x7a7a0001
w0 $SHM_PEEK_OFF 0x2004
check_eq trap-peek "$(r0 $SHM_PEEK)" 0x7a7a0001
tc1=$(r0 $TRAP_COUNT)
if [ $((tc1 - tc0)) -ge 3 ]; then pass trap-count; else fail trap-count "TRAP_COUNT $tc0 -> $tc1 after 3 accesses"; fi

# config space through sysfs: capability list with MSI-X (8 vectors, table in BAR1, PBA at 0x800)
info "capabilities: $(cap_list "$D")"
if mx=$(cap_find "$D" 0x11); then
	pass msix-cap
	ctl=$(cfg16 "$D" $((mx + 2)))
	check_eq msix-vectors $(((ctl & 0x7ff) + 1)) 8
	tbl=$(($(od -An -tu4 -j $((mx + 4)) -N 4 "$D/config" | tr -d ' ')))
	pba=$(($(od -An -tu4 -j $((mx + 8)) -N 4 "$D/config" | tr -d ' ')))
	check_eq msix-table "$(hex $tbl)" 0x00000001
	check_eq msix-pba "$(hex $pba)" 0x00000801
else
	fail msix-cap "no capability 0x11 in: $(cap_list "$D")"
fi
if cap_find "$D" 0x10 >/dev/null; then pass pcie-cap; else fail pcie-cap "no capability 0x10"; fi

w0 $STICKY 0
guest_done
