#!/usr/bin/env bash
# soak_reboot.sh — one QEMU 11.1 run whose guest reboots itself IOMED_SOAK_REBOOTS times (default
# 20 boots) against one daemon serving a testdev and a virtio-net (loopback port). Every boot
# loads the virtio_net driver, checks testdev's ID register, the link and 20 frames through the
# datapath (tests/soak/guest_soak.sh, mode reboot), then reboots: QEMU resets both devices and
# the driver brings virtio-net up again. The daemon is sampled at the same point of the first
# and the last boot (drivers up, datapath running): fds and threads equal, RSS within the
# tolerance (tests/soak/lib.sh). Usage: tests/soak/soak_reboot.sh   (env knobs: tests/vm/lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vm_init

BOOTS=${IOMED_SOAK_REBOOTS:-20}
soak_daemon_start
soak_guest_image

t0=$(date +%s)
vm_start reboot "$INITRD" --reboot --vfio-user "td0=$TD" --vfio-user "vn0=$VN" \
	--append "iomed.mode=reboot iomed.boots=$BOOTS iomed.nonce=$((RANDOM % 30000 + 1))"
for b in 1 "$BOOTS"; do
	if vm_wait_marker reboot "IOMED-TEST: INFO SAMPLE $b\\b" $((VM_TIMEOUT * BOOTS)); then
		soak_sample "boot$b"
	else
		vm_fail "sample-boot$b" "the guest never reached boot $b"
	fi
done
vm_wait $((VM_TIMEOUT * 2)) || vm_log "QEMU exit status $?"
vm_log "$(grep -ac 'IOMED-TEST: INFO BOOT' "$VM_WORK/reboot.serial") boots in $(($(date +%s) - t0)) s"
checks=()
for ((b = 1; b <= BOOTS; b++)); do checks+=("b$b-td-id" "b$b-vn-driver" "b$b-vn-carrier" "b$b-vn-traffic"); done
vm_check reboot "${checks[@]}" || true
last=boot${BOOTS}_fds
if [ -n "${boot1_fds:-}" ] && [ -n "${!last:-}" ]; then
	soak_compare boot1 "boot$BOOTS" "$BOOTS guest boots" $((2 * BOOTS))
fi
soak_settle || vm_fail settle "the daemon did not end the session"
daemon_check end
daemon_stop
vm_finish
