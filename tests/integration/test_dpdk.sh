#!/bin/sh
# SPDX-License-Identifier: MIT
# The DPDK port and its mux against virtual PMDs (no hugepages), in a network namespace of its
# own: every interface and address lives there and goes away on exit. Needs root (exit 77:
# skipped otherwise). $DPDK_PROBE: dpdk_probe; $DPDK_RETRY: dpdk_retry; $IOMED: the daemon, for the
# start-up errors.
set -eu

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, taps)"
command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
PROBE=${DPDK_PROBE:?DPDK_PROBE must name the dpdk_probe binary}
RETRY=${DPDK_RETRY:?DPDK_RETRY must name the dpdk_retry binary}
IOMED=${IOMED:?IOMED must name the daemon}

NS="iomed-dpdk-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
EAL="--no-huge -m 256 --no-pci"
TMP=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$NS" || skip "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
fails=0

run() { # run NAME CMD...: the probe's lines, a failure counted
	echo "== $1"
	shift
	if ! in_ns "$@"; then fails=$((fails + 1)); fi
}

# net_tap: the kernel's side of the tap is the wire. Its rte_flow needs the kernel's multiq
# qdisc, flower classifier and skbedit action; without them the port steers in software.
if in_ns sh -c 'ip link add dummy0 type dummy && tc qdisc add dev dummy0 root handle 1: multiq' 2>/dev/null; then
	tap_mode=expect-hw
else
	tap_mode=expect-sw
fi
in_ns ip link del dummy0 2>/dev/null || true
run "net_tap, steering $tap_mode" "$PROBE" "$EAL --vdev net_tap0,iface=dtap0" dpdk:net_tap0 dtap0 "$tap_mode"
run "net_tap, steer=sw" "$PROBE" "$EAL --vdev net_tap1,iface=dtap1" dpdk:net_tap1:steer=sw dtap1 expect-sw
# queues=: that many queue pairs, every Rx queue polled in software (the kernel picks the tap queue)
run "net_tap, queues=2, steer=sw" "$PROBE" "$EAL --vdev net_tap2,iface=dtap2" dpdk:net_tap2:queues=2:steer=sw dtap2 expect-sw

# net_af_packet on a veth pair: no offloads at all, so checksums and TSO are done in software
in_ns ip link add dveth0 type veth peer name dveth1
in_ns ip link set dveth0 up
in_ns ip link set dveth1 up
run "net_af_packet on a veth" "$PROBE" "$EAL --vdev net_af_packet0,iface=dveth0" dpdk:net_af_packet0 dveth1 expect-sw

# a port whose start fails (a bond without members) can be opened again once it can start
run "a failed start, then a retry" "$RETRY"

# start-up errors: clear, nothing served; exit status 2 for a bad command line, 3 for a device the
# configuration gets wrong, 1 when the only
# device's port is missing (a device whose backend is missing is not served, the others are)
expect_error() { # expect_error NAME STATUS PATTERN ARGS...
	name=$1 want=$2 pattern=$3
	shift 3
	status=0
	in_ns "$IOMED" "$@" >"$TMP/out" 2>&1 || status=$?
	if [ $status -eq "$want" ] && grep -q -- "$pattern" "$TMP/out"; then
		echo "ok:   $name"
	else
		echo "FAIL: $name: exit status $status, output:"
		grep -v '^  ' "$TMP/out" | tail -n 5
		fails=$((fails + 1))
	fi
}
echo "== start-up errors"
expect_error bad-eal-argument 2 "EAL initialization failed" --dpdk "$EAL --no-such-option" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0"
expect_error missing-port 1 "no such DPDK port (ports: net_tap0)" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap7"
expect_error bad-steer 3 "steer= takes auto, hw or sw" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0:steer=maybe"
expect_error bad-queues 3 "queues= takes 1 to 16" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0:queues=0"
expect_error bad-option 3 "options after the port are steer= and queues=" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0:steer=sw:rss=1"
expect_error too-many-queues 3 "queues=8: the port has 4 queue pair(s)" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0:queues=8"
expect_error same-mac 3 "another device on the port has this address" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0,mac=52:54:00:00:00:01" \
	--device "virtio-net,socket=$TMP/b.sock,net=dpdk:net_tap0,mac=52:54:00:00:00:01"
expect_error with-isolate 2 "not with --isolate" --isolate \
	--device "virtio-net,socket=$TMP/a.sock,net=dpdk:net_tap0"
[ -e "$TMP/a.sock" ] && { echo "FAIL: a socket was left behind"; fails=$((fails + 1)); }
# a device on a missing port is not served; the one on the good port is
echo "== a missing port leaves the other devices served"
ip netns exec "$NS" "$IOMED" --dpdk "$EAL --vdev net_tap0,iface=dtap9" \
	--device "virtio-net,socket=$TMP/a.sock,id=good,net=dpdk:net_tap0" \
	--device "virtio-net,socket=$TMP/b.sock,id=bad,net=dpdk:net_tap7" >"$TMP/out" 2>&1 &
pid=$!
i=0
while [ ! -S "$TMP/a.sock" ] && [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if [ -S "$TMP/a.sock" ] && [ ! -e "$TMP/b.sock" ] && grep -q "device bad (virtio-net): .*not served" "$TMP/out"; then
	echo "ok:   good-device-served"
else
	echo "FAIL: good-device-served"; grep -v '^  ' "$TMP/out" | tail -n 5; fails=$((fails + 1))
fi
kill -TERM $pid 2>/dev/null; wait $pid || { echo "FAIL: daemon exit status $?"; fails=$((fails + 1)); }

[ $fails -eq 0 ] && echo "PASS" || echo "FAIL: $fails part(s) failed"
[ $fails -eq 0 ]
