#!/usr/bin/env bash
# Installs every build and test dependency of iomed from Debian packages.
# Idempotent: quiet, and no apt-get run at all, when everything is there.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --bench  also what the benchmarks need (bench/net.sh, bench/vm_net.sh)
set -euo pipefail

PACKAGES=(
	# build
	gcc libc6-dev meson ninja-build pkg-config libjson-c-dev libseccomp-dev
	# unit tests (and their sanitizer runtime)
	libcmocka-dev libasan8 libubsan1
	# test bed: private apt fetch of QEMU and the guest kernel, busybox initramfs
	debian-archive-keyring ca-certificates busybox-static cpio gzip xz-utils zstd kmod
	# tests and benchmarks (tcpdump reads the packet captures back)
	iproute2 procps util-linux python3 tcpdump
	# packet ports: DPDK 22.11 (EAL, ethdev, rte_flow; its PMDs, tap and af_packet among them, and
	# their plugins), libxdp and libbpf for AF_XDP (libxdp1 ships the redirect program)
	libdpdk-dev libxdp-dev libbpf-dev
	# tests: a veth's checksum offload off for AF_XDP
	ethtool
)
# Benchmarks only: DPDK's testpmd (in dpdk-dev) with its vhost and virtio_user PMDs, iperf3.
BENCH_PACKAGES=(dpdk-dev librte-net-vhost23 librte-net-virtio23 librte-mempool-ring23 iperf3)
[ "${1:-}" != --bench ] || PACKAGES+=("${BENCH_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
