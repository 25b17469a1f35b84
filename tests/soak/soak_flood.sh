#!/usr/bin/env bash
# soak_flood.sh — the in-tree client floods one daemon (a testdev and a virtio-net on a loopback
# port) with DMA maps and eventfds, cut messages with fds, too many fds and bad reconnects
# (tests/soak/soak_flood.c), IOMED_SOAK_FLOODS cycles (default 100). The daemon is sampled after
# the first cycle and at the end: fds and threads equal, RSS within the tolerance
# (tests/soak/lib.sh). No QEMU, no guest. Usage: SOAK_FLOOD=build/tests/soak/soak_flood
# tests/soak/soak_flood.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/iomed-soak.XXXXXX")
trap vm_cleanup EXIT
set -uo pipefail

CYCLES=${IOMED_SOAK_FLOODS:-100}
FLOOD=${SOAK_FLOOD:-$VM_SRC/build/tests/soak/soak_flood}
[ -x "$FLOOD" ] || vm_die "no $FLOOD (SOAK_FLOOD=path)"
soak_daemon_start

t0=$(date +%s)
flood() { # flood N: N cycles, then the daemon must settle
	if "$FLOOD" "$1" "testdev:$TD" "virtio-net:$VN"; then vm_pass "flood-$1"; else
		vm_fail "flood-$1" "client status $?"
		daemon_log_tail 20
	fi
	soak_settle || vm_fail "settle-$1" "the daemon did not end the sessions"
}
flood 1
soak_sample first
[ "$CYCLES" -gt 1 ] && flood $((CYCLES - 1))
soak_sample last
vm_log "$CYCLES cycles in $(($(date +%s) - t0)) s"
soak_compare first last "$CYCLES flood cycles" $((CYCLES - 1)) # a datapath thread each
daemon_check end
daemon_stop
vm_finish
