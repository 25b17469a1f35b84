#!/bin/sh
# SPDX-License-Identifier: MIT
# The TAP port against the real kernel, in a network namespace of its own:
# every address lives there, the namespace goes away on exit. Needs root
# and /dev/net/tun (exit 77: skipped otherwise). $TAP_PROBE: tap_probe.
set -eu

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, taps)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
PROBE=${TAP_PROBE:?TAP_PROBE must name the tap_probe binary}

NS="iomed-tap-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
TAP_IP=10.77.0.1
PROBE_IP=10.77.0.2

cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$NS" || skip "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
# no IPv6 chatter (router solicitations, MLD) on the taps
in_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true

echo "== a tap the port creates (multi-queue), address added once it exists"
OUT=$(in_ns "$PROBE" iomedt0 "$TAP_IP" "$PROBE_IP" "ip addr add $TAP_IP/24 dev iomedt0") ||
	{ echo "$OUT"; exit 1; }
echo "$OUT"
echo "$OUT" | grep -q "multi-queue tap" || { echo "FAIL: the new tap is not multi-queue"; exit 1; }
if in_ns ip link show iomedt0 >/dev/null 2>&1; then
	echo "FAIL: iomedt0 outlived its port"; exit 1
fi
echo "ok: the tap went away with the port"

echo "== an existing single-queue tap, down, with its address already set"
in_ns ip tuntap add dev iomedt1 mode tap
in_ns ip addr add "$TAP_IP/24" dev iomedt1
in_ns ip link show iomedt1 | grep -q '[<,]UP[,>]' && { echo "FAIL: iomedt1 up before the test"; exit 1; }
OUT=$(in_ns "$PROBE" iomedt1 "$TAP_IP" "$PROBE_IP") || { echo "$OUT"; exit 1; }
echo "$OUT"
echo "$OUT" | grep -q "single-queue tap" || { echo "FAIL: iomedt1 should be single-queue"; exit 1; }

echo "== errors"
in_ns "$PROBE" --open-fails tap:lo
in_ns "$PROBE" --open-fails tap:0123456789abcdef

echo "PASS: tap port"
