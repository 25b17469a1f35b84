#!/bin/sh
# SPDX-License-Identifier: MIT
# The AF_XDP port against the kernel, on a veth pair in a network namespace of its own (every
# interface and address lives there and goes away on exit): tap_probe --port acts as a host on
# one end, the kernel answers on the other (ARP, pings with full, offloaded and bad checksums, a
# TSO frame the port segments in software). Then the open errors. Needs root (exit 77: skipped
# otherwise). $TAP_PROBE: tap_probe.
set -eu

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, XDP)"
command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
PROBE=${TAP_PROBE:?TAP_PROBE must name the tap_probe binary}
XPROBE=${AFXDP_PROBE:?AFXDP_PROBE must name the afxdp_probe binary}

NS="iomed-xdp-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
TMPDIR_AFXDP=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMPDIR_AFXDP"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$NS" || skip "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
in_ns ip link set lo up
in_ns ip link add xv0 type veth peer name xv1
in_ns ip addr add 10.79.0.1/24 dev xv1
in_ns ip link set xv0 up
in_ns ip link set xv1 up

echo "== afxdp:xv0 (queue 0), the kernel at 10.79.0.1 on xv1"
in_ns "$PROBE" --port afxdp:xv0 10.79.0.1 10.79.0.2
# The kernel lets go of a closed XDP socket's queue a little later (deferred release): until then
# the queue is busy, which is what the port says. Only that answer is retried, for at most 2 s.
retry_busy() { # retry_busy CMD...: the command's output, its failure fatal
	for try in $(seq 10); do
		if in_ns "$@" >"$TMPDIR_AFXDP/out" 2>&1; then
			cat "$TMPDIR_AFXDP/out"
			return 0
		fi
		if [ "$try" = 10 ] || ! grep -q "has an XDP socket already" "$TMPDIR_AFXDP/out"; then
			cat "$TMPDIR_AFXDP/out"
			exit 1
		fi
		sleep 0.2
	done
}
echo "== afxdp:xv0:queue=0 again, now that the first socket is gone"
retry_busy "$PROBE" --port afxdp:xv0:queue=0 10.79.0.1 10.79.0.3

echo "== Tx frames at their limits: link down and up, GSO frames of 2048 and 4096 segments"
retry_busy "$XPROBE" afxdp:xv0 xv0 xv1

echo "== errors"
in_ns "$PROBE" --open-fails afxdp:nosuchif0 | grep -q "no such interface"
in_ns "$PROBE" --open-fails afxdp:xv0:queue=7 | grep -q "queue=7"
in_ns "$PROBE" --open-fails afxdp:xv0:queue=x | grep -q "queue= takes 0 to 255"
in_ns "$PROBE" --open-fails afxdp:xv0:ring=2 | grep -q "the only option is queue=N"
in_ns "$PROBE" --open-fails afxdp: | grep -q "expected afxdp:IFNAME"
echo "ok: bad specs fail with their reason"
echo PASS
