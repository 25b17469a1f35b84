# guest_lib.sh — sourced by guest init scripts inside the test VM (busybox sh), installed in the
# initramfs as /etc/iomed-guest.sh by tests/vm/lib.sh. Not a test itself.
#
# Marker lines on the serial console, parsed by the host (tests/vm/lib.sh vm_check):
#   IOMED-TEST: PASS <name>
#   IOMED-TEST: FAIL <name> <detail>
#   IOMED-TEST: INFO <text>
#   IOMED-TEST: DONE
# shellcheck shell=sh

FAILS=0

guest_setup() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
	mkdir -p /tmp /run
	# keep kernel messages off the console so marker lines stay whole
	echo 1 >/proc/sys/kernel/printk 2>/dev/null || true
	[ -s /etc/modules ] && load-modules
	return 0
}

# kernel command line parameter: cmdline_get iomed.mode default
cmdline_get() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1"=*) echo "${w#*=}"; return 0 ;; esac
	done
	echo "${2:-}"
}

marker() { echo "IOMED-TEST: $*"; }
pass() { marker "PASS $1"; }
fail() { n=$1; shift; marker "FAIL $n $*"; FAILS=$((FAILS + 1)); }
info() { marker "INFO $*"; }

# check NAME ACTUAL EXPECTED: numeric compare (hex or decimal)
check_eq() {
	if [ "$(($2))" -eq "$(($3))" ]; then
		pass "$1"
	else
		fail "$1" "got $(hex "$2") want $(hex "$3")"
	fi
}
check_ne() {
	if [ "$(($2))" -ne "$(($3))" ]; then pass "$1"; else fail "$1" "got $(hex "$2"), must differ"; fi
}

hex() { printf '0x%08x' "$(($1))"; }

# guest_done: final marker, then power off (QEMU exits)
guest_done() {
	marker "DONE fails=$FAILS"
	sync
	poweroff -f
	sleep 10
}

# find_pci VENDOR DEVICE -> sysfs folder of the first matching function (empty if none)
find_pci() {
	for d in /sys/bus/pci/devices/*; do
		[ -r "$d/vendor" ] || continue
		if [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# bar_addr SYSFSDIR N -> start address of BAR N (from the resource file), e.g. 0xfe000000
bar_addr() {
	sed -n "$(($2 + 1))p" "$1/resource" | cut -d' ' -f1
}
bar_size() {
	line=$(sed -n "$(($2 + 1))p" "$1/resource")
	s=$(echo "$line" | cut -d' ' -f1)
	e=$(echo "$line" | cut -d' ' -f2)
	[ "$((s))" -eq 0 ] && { echo 0; return; }
	echo $((e - s + 1))
}

# 32-bit MMIO through /dev/mem (busybox devmem)
rd32() { printf '0x%08x' "$(devmem "$(printf '0x%x' $(($1)))" 32)"; }
wr32() { devmem "$(printf '0x%x' $(($1)))" 32 "$(printf '0x%x' $(($2)))"; }

# config space byte / word through sysfs
cfg8() { od -An -tu1 -j "$(($2))" -N 1 "$1/config" | tr -d ' \n'; }
cfg16() { od -An -tu2 -j "$(($2))" -N 2 "$1/config" | tr -d ' \n'; }

# cap_find SYSFSDIR CAPID -> offset of the capability in the standard list (empty if absent)
cap_find() {
	status=$(cfg16 "$1" 0x06)
	[ $((status & 0x10)) -ne 0 ] || return 1
	p=$(($(cfg8 "$1" 0x34) & 0xfc))
	hops=0
	while [ "$p" -ne 0 ] && [ "$hops" -lt 48 ]; do
		[ "$(cfg8 "$1" "$p")" -eq "$(($2))" ] && { echo "$p"; return 0; }
		p=$(($(cfg8 "$1" $((p + 1))) & 0xfc))
		hops=$((hops + 1))
	done
	return 1
}

# cap_list SYSFSDIR -> "0x40:0x01 0x50:0x11 ..." (offset:id) along the chain
cap_list() {
	p=$(($(cfg8 "$1" 0x34) & 0xfc))
	hops=0 out=""
	while [ "$p" -ne 0 ] && [ "$hops" -lt 48 ]; do
		out="$out $(printf '0x%02x:0x%02x' "$p" "$(cfg8 "$1" "$p")")"
		p=$(($(cfg8 "$1" $((p + 1))) & 0xfc))
		hops=$((hops + 1))
	done
	echo "${out# }"
}

# ---------------------------------------------------------------------------------------------
# network tests (the host end is $HOST)

# net_guest VENDOR DEVICE GLOB: the iomed.* parameters of a network test (mode, mb, mac, net and
# HOST=$net.1), the device as $D and $BDF (PASS find-device, or the end); GLOB is where the
# device's interface appears under $D
net_guest() {
	mode=$(cmdline_get iomed.mode basic)
	mb=$(cmdline_get iomed.mb 0)
	mac=$(cmdline_get iomed.mac 52:54:00:12:34:56)
	net=$(cmdline_get iomed.net 10.66.0)
	HOST=$net.1
	D=$(find_pci "$1" "$2") || { fail find-device "no $1:$2"; guest_done; }
	pass find-device
	BDF=${D##*/}
	NET_GLOB=$3
}

# iface: the device's interface (fails while no driver is bound)
iface() {
	for n in "$D"/$NET_GLOB; do [ -e "$n" ] && { basename "$n"; return 0; }; done
	return 1
}

# up: wait for the interface, give it $net.2/24, wait for carrier (10 s each); sets $IF
up() {
	i=0
	while ! IF=$(iface); do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
	done
	ip link set "$IF" up && ip addr add "$net.2/24" dev "$IF" 2>/dev/null
	i=0
	while [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" != 1 ]; do
		i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
	done
	return 0
}

# ping_check NAME COUNT [ADDR]: every echo to ADDR (default $HOST) answered
ping_check() {
	out=$(ping -c "$2" -W 3 "${3:-$HOST}" 2>&1)
	if echo "$out" | grep -q " $2 packets received"; then
		pass "$1"
		info "$1: $(echo "$out" | tail -n 1)"
	else
		fail "$1" "$(echo "$out" | tail -n 2 | tr '\n' ' ')"
	fi
}

# tcp_tx MIB: send MIB MiB of random data to the host's port 5001 (it reports the md5);
# prints INFO TX-MD5 for the host to compare
tcp_tx() {
	dd if=/dev/urandom of=/tmp/tx bs=1M count="$1" 2>/dev/null
	info "TX-MD5 $(md5sum </tmp/tx | cut -d' ' -f1)"
	t0=$(date +%s)
	if nc "$HOST" 5001 </tmp/tx; then pass tcp-tx; else fail tcp-tx "nc exit status $?"; fi
	info "tcp-tx: $1 MiB in $(($(date +%s) - t0)) s"
	rm -f /tmp/tx
}

# tcp_rx NAME PORT: listen on PORT (INFO LISTEN PORT tells the host to connect and send),
# print INFO RX-MD5 of what arrived
tcp_rx() {
	nc -l -p "$2" >/tmp/rx &
	ncpid=$!
	sleep 1
	info "LISTEN $2"
	t0=$(date +%s)
	if wait $ncpid; then pass "$1"; else fail "$1" "nc exit status $?"; fi
	info "$1: $(wc -c </tmp/rx) bytes in $(($(date +%s) - t0)) s"
	info "RX-MD5 $(md5sum </tmp/rx | cut -d' ' -f1) $(wc -c </tmp/rx)"
	rm -f /tmp/rx
}

# reboot_twice: the host's boot counter (port 5003) says which boot this is: ping, reboot on the
# first; ping on the second (the driver finds the device reset by the reboot)
reboot_twice() {
	boot=$(echo boot | nc "$HOST" 5003)
	info "boot $boot"
	if [ "$boot" = 1 ]; then
		ping_check boot1-ping 3
		sync
		reboot -f
		sleep 10
	fi
	ping_check boot2-ping 5
}
