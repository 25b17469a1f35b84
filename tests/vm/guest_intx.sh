#!/bin/sh
# guest_intx.sh — /init of the INTx VM test (busybox sh in the guest). Not a test by itself:
# tests/vm/test_intx.sh boots it. uio_pci_generic is the guest driver: its handler checks the
# Interrupt Status bit in config space, masks INTx with the command register's Interrupt Disable bit
# and counts the event (/sys/class/uio/uioN/event); user space unmasks by clearing that bit again.
. /etc/iomed-guest.sh
guest_setup

IRQ_RAISE=0x08 IRQ_STATUS=0x0c IRQ_ACK=0x10

D=$(find_pci 0x1234 0x11ed) || { fail find-device "no 1234:11ed"; guest_done; }
pass find-device
BDF=${D##*/}

echo "1234 11ed" >/sys/bus/pci/drivers/uio_pci_generic/new_id 2>/tmp/err || true
U=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	for u in "$D"/uio/uio*; do [ -d "$u" ] && U=${u##*/}; done
	[ -n "$U" ] && break
	sleep 0.2
done
if [ -n "$U" ]; then
	pass bind
else
	fail bind "uio_pci_generic did not bind $BDF: $(cat /tmp/err) $(dmesg | grep -i uio | tail -n 3 | tr '\n' ' ')"
	guest_done
fi
info "uio device $U, irq $(cat "$D/irq"), command=$(printf '0x%04x' "$(cfg16 "$D" 4)")"
B0=$(bar_addr "$D" 0)
r0() { rd32 $((B0 + $1)); }
w0() { wr32 $((B0 + $1)) "$2"; }
events() { cat "/sys/class/uio/$U/event"; }
irq_count() { # this device's line in /proc/interrupts, summed over CPUs
	awk '/uio_pci_generic/ { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break; print s; exit }' /proc/interrupts
}
unmask() { # like the UIO howto: clear Interrupt Disable (command bit 10 = bit 2 of byte 5) via sysfs
	b=$(($(cfg8 "$D" 5) & ~0x04))
	printf "\\$(printf %03o "$b")" | dd of="$D/config" bs=1 seek=5 count=1 conv=notrunc 2>/tmp/unmask.err ||
		info "unmask failed: $(cat /tmp/unmask.err)"
}
wait_events() { # wait_events N: until the event count reaches N (3 s)
	for i in $(seq 30); do
		[ "$(events)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

check_eq intx-disable-clear $(($(cfg16 "$D" 4) & 0x400)) 0
check_eq status-idle "$(r0 $IRQ_STATUS)" 0
e0=$(events)
i0=$(irq_count)
info "before: events=$e0 /proc/interrupts=$i0"

# round 1: raise vector 0; MSI-X is off, so the device asserts INTx
w0 $IRQ_RAISE 0
if wait_events $((e0 + 1)); then pass intx-delivered; else fail intx-delivered "uio event count stayed at $(events)"; fi
check_eq irq-status "$(r0 $IRQ_STATUS)" 1
# the handler saw Interrupt Status and set Interrupt Disable
check_eq intx-masked $(($(cfg16 "$D" 4) & 0x400)) 0x400
w0 $IRQ_ACK 1
check_eq irq-ack "$(r0 $IRQ_STATUS)" 0
check_eq status-bit-clear $(($(cfg16 "$D" 6) & 0x08)) 0
unmask
check_eq intx-unmasked $(($(cfg16 "$D" 4) & 0x400)) 0
sleep 0.3
e1=$(events)
check_eq no-spurious "$e1" $((e0 + 1))

# round 2: the line works again after the unmask
w0 $IRQ_RAISE 3
if wait_events $((e1 + 1)); then pass intx-again; else fail intx-again "uio event count stayed at $(events)"; fi
check_eq irq-status-3 "$(r0 $IRQ_STATUS)" 8
w0 $IRQ_ACK 8
unmask
i1=$(irq_count)
info "after: events=$(events) /proc/interrupts=$i1"
if [ -n "$i0" ] && [ -n "$i1" ] && [ "$i1" -ge $((i0 + 2)) ]; then pass proc-interrupts; else fail proc-interrupts "count $i0 -> $i1"; fi
guest_done
