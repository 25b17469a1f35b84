#!/usr/bin/env bash
# testbed.sh — the real-QEMU test bed, built from Debian packages without a chroot.
#
#   scripts/testbed.sh fetch     download + unpack QEMU 11.1 (trixie-backports) and the trixie
#                                kernel into the cache, once; a no-op when already there
#   scripts/testbed.sh refresh   like fetch, but re-reads the package lists first and builds new
#                                sysroots if any package version changed
#   scripts/testbed.sh env       print shell assignments (eval them) for the cached test bed
#   scripts/testbed.sh clean     remove the cache
#
# Cache: ${IOMED_CACHE:-$HOME/.cache/iomed}/testbed
#   apt/                 private APT state (sources, lists, downloaded .debs, empty dpkg status)
#   qemu/<key>/          sysroot: every .deb of qemu-system-x86 and its dependencies, dpkg -x'ed
#   kernel/<key>/        linux-image-<ver>-amd64 dpkg -x'ed (boot/vmlinuz-*, lib/modules/<kver>)
#   testbed.env          the chosen sysroots (written last, atomically)
# <key> is made of the package versions, so a new upload gives a new folder; sysroots are unpacked
# into a temporary folder and renamed into place, so an interrupted run leaves nothing half made.
#
# Host tools: apt-get, dpkg (dpkg -x), flock, sha256sum; a Debian archive keyring that knows trixie.
set -euo pipefail

CACHE_ROOT=${IOMED_CACHE:-$HOME/.cache/iomed}
TB=$CACHE_ROOT/testbed
APTDIR=$TB/apt
ENVFILE=$TB/testbed.env
MIRROR=${IOMED_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=${IOMED_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
QEMU_PKG=qemu-system-x86
KERNEL_META=linux-image-amd64

log() { [ -n "${TESTBED_QUIET:-}" ] || echo "testbed: $*" >&2; }
die() { echo "testbed: error: $*" >&2; exit 1; }

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

# ---------------------------------------------------------------------------------------------
# private APT
apt_setup() {
	mkdir -p "$APTDIR"/{lists/partial,archives/partial,etc/sources.list.d,etc/preferences.d,log,dl}
	[ -r "$KEYRING" ] || die "keyring $KEYRING not found (install debian-archive-keyring)"
	local st=$APTDIR/status
	[ -e "$st" ] || : >"$st"
	cat >"$APTDIR/etc/sources.list.tmp" <<-EOF
	deb [signed-by=$KEYRING] $MIRROR trixie main
	deb [signed-by=$KEYRING] $MIRROR trixie-backports main
	EOF
	mv -f "$APTDIR/etc/sources.list.tmp" "$APTDIR/etc/sources.list"
	local sandbox=""
	[ "$(id -u)" = 0 ] && sandbox='APT::Sandbox::User "root";'
	cat >"$APTDIR/apt.conf.tmp" <<-EOF
	Dir::State "$APTDIR";
	Dir::State::lists "$APTDIR/lists/";
	Dir::State::status "$st";
	Dir::State::extended_states "$APTDIR/extended_states";
	Dir::Cache "$APTDIR";
	Dir::Cache::archives "$APTDIR/archives/";
	Dir::Cache::pkgcache "";
	Dir::Cache::srcpkgcache "";
	Dir::Etc::sourcelist "$APTDIR/etc/sources.list";
	Dir::Etc::sourceparts "$APTDIR/etc/sources.list.d";
	Dir::Etc::preferences "$APTDIR/etc/preferences";
	Dir::Etc::preferencesparts "$APTDIR/etc/preferences.d";
	Dir::Log "$APTDIR/log";
	APT::Architecture "amd64";
	APT::Architectures { "amd64"; };
	Acquire::Languages "none";
	Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
	Acquire::Check-Valid-Until "false";
	Acquire::Retries "3";
	APT::Get::Assume-Yes "true";
	Debug::NoLocking "true";
	$sandbox
	EOF
	mv -f "$APTDIR/apt.conf.tmp" "$APTDIR/apt.conf"
	export APT_CONFIG=$APTDIR/apt.conf
	export DEBIAN_FRONTEND=noninteractive
}

apt_quiet() { # run an apt command, show its output only when it fails
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -ne 0 ]; then
		printf '%s\n' "$out" >&2
		die "failed ($rc): $*"
	fi
}

apt_update() {
	log "reading package lists for trixie + trixie-backports from $MIRROR"
	apt_quiet apt-get -q update
	date +%s >"$APTDIR/updated"
}

# "pkg version arch" lines for what `apt-get install $@` would install into an empty system
apt_plan() {
	apt-get -s -q install "$@" 2>/dev/null |
		sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) \(.*\) \[\([a-z0-9]*\)\]).*$/\1 \2 \4/p' | LC_ALL=C sort
}

deb_name() { # pkg version arch -> the file name apt gives the .deb in archives/
	local v=${2//:/%3a}
	printf '%s_%s_%s.deb' "$1" "$v" "$3"
}

# unpack_set DEST PLANFILE [HOOK]: download every package of the plan, dpkg -x into DEST
# (atomically); HOOK runs on the temporary folder before it is renamed into place
unpack_set() {
	local dest=$1 plan=$2 hook=${3:-} tmp pkg ver arch f
	local -a want=()
	while read -r pkg ver arch; do want+=("$pkg=$ver"); done <"$plan"
	[ ${#want[@]} -gt 0 ] || die "empty package plan for $dest"
	log "downloading ${#want[@]} packages for $(basename "$(dirname "$dest")")"
	# apt-get download fetches exactly these versions, dependencies are already in the plan;
	# start from an empty folder so an earlier interrupted download cannot be picked up
	find "$APTDIR/dl" -mindepth 1 -delete
	(cd "$APTDIR/dl" && apt_quiet apt-get -q download "${want[@]}")
	tmp=$(mktemp -d "$dest.tmp.XXXXXX")
	TMPDIRS+=("$tmp")
	while read -r pkg ver arch; do
		f=$APTDIR/dl/$(deb_name "$pkg" "$ver" "$arch")
		[ -f "$f" ] || die "missing $f after download"
		dpkg -x "$f" "$tmp"
	done <"$plan"
	cp "$plan" "$tmp/.iomed-packages"
	[ -z "$hook" ] || "$hook" "$tmp"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	# downloaded .debs are not needed any more once unpacked
	while read -r pkg ver arch; do rm -f "$APTDIR/dl/$(deb_name "$pkg" "$ver" "$arch")"; done <"$plan"
}

plan_key() { # a folder name from the versions: <main package version>-<hash of the whole plan>
	local main=$1 plan=$2 v
	v=$(awk -v p="$main" '$1 == p { print $2 }' "$plan")
	[ -n "$v" ] || die "$main not in plan"
	printf '%s-%s' "${v//[:~+]/_}" "$(sha256sum <"$plan" | cut -c1-12)"
}

build_qemu() {
	local plan=$APTDIR/plan-qemu key
	apt_plan --no-install-recommends -t trixie-backports "$QEMU_PKG" >"$plan.new"
	[ -s "$plan.new" ] || die "apt cannot resolve $QEMU_PKG from trixie-backports"
	mv "$plan.new" "$plan"
	key=$(plan_key "$QEMU_PKG" "$plan")
	QEMU_SYSROOT=$TB/qemu/$key
	mkdir -p "$TB/qemu"
	if [ ! -x "$QEMU_SYSROOT/usr/bin/qemu-system-x86_64" ]; then
		unpack_set "$QEMU_SYSROOT" "$plan"
	fi
	[ -x "$QEMU_SYSROOT/usr/bin/qemu-system-x86_64" ] || die "no qemu-system-x86_64 in $QEMU_SYSROOT"
}

build_kernel() {
	local plan=$APTDIR/plan-kernel key
	# only the versioned image package: linux-image-amd64 -> linux-image-6.12.x-amd64; none of its
	# dependencies (kmod, initramfs-tools, ...) are needed to boot it with our own initramfs
	apt_plan --no-install-recommends "$KERNEL_META" | grep -E '^linux-image-[0-9]' >"$plan.new" ||
		die "apt cannot resolve $KERNEL_META from trixie"
	mv "$plan.new" "$plan"
	key=$(awk '{ print $1 "_" $2 }' "$plan" | head -n1)
	key=${key//[:~+]/_}
	KERNEL_ROOT=$TB/kernel/$key
	mkdir -p "$TB/kernel"
	local have_dep=0
	compgen -G "$KERNEL_ROOT/usr/lib/modules/*/modules.dep" >/dev/null && have_dep=1
	compgen -G "$KERNEL_ROOT/lib/modules/*/modules.dep" >/dev/null && have_dep=1
	if [ $have_dep = 0 ] || ! compgen -G "$KERNEL_ROOT/boot/vmlinuz-*" >/dev/null; then
		unpack_set "$KERNEL_ROOT" "$plan" kernel_depmod
	fi
}

# Debian's image package does not ship modules.dep (its postinst runs depmod): make it here.
kernel_depmod() {
	local root=$1 moddir kver d
	moddir=""
	for d in "$root"/usr/lib/modules/* "$root"/lib/modules/*; do
		[ -d "$d/kernel" ] && moddir=$d && break
	done
	[ -n "$moddir" ] || die "no modules folder in the kernel package"
	kver=${moddir##*/}
	local depmod
	depmod=$(command -v depmod || true)
	for d in /usr/sbin/depmod /sbin/depmod; do
		[ -n "$depmod" ] || { [ -x "$d" ] && depmod=$d; } || true
	done
	[ -z "${IOMED_TESTBED_NO_DEPMOD:-}" ] || depmod=""
	if [ -n "$depmod" ]; then
		# depmod wants <base>/lib/modules/<kver>
		local base=$root
		if [ ! -d "$root/lib/modules/$kver" ]; then
			base=$(mktemp -d "$root/.depmod.XXXXXX")
			mkdir -p "$base/lib/modules"
			ln -s "$moddir" "$base/lib/modules/$kver"
		fi
		"$depmod" -b "$base" "$kver" || die "depmod failed"
		[ "$base" = "$root" ] || rm -rf "$base"
	else
		# no kmod on the host: direct dependencies read from each module's .modinfo
		log "no depmod (kmod) on the host: scanning $(find "$moddir" -name '*.ko*' | wc -l) modules"
		local -A path=()
		local f rel name deps out
		while IFS= read -r rel; do
			name=${rel##*/}; name=${name%%.ko*}; name=${name//-/_}
			path[$name]=$rel
		done < <(cd "$moddir" && find kernel -name '*.ko*' | LC_ALL=C sort)
		out=$moddir/modules.dep.tmp
		: >"$out"
		for name in "${!path[@]}"; do
			rel=${path[$name]}
			f=$moddir/$rel
			case $f in
			*.ko.xz) deps=$(xz -dc "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1) ;;
			*.ko.zst) deps=$(zstd -dcq "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1) ;;
			*.ko.gz) deps=$(gzip -dc "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1) ;;
			*) deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -n1) ;;
			esac
			printf '%s:' "$rel" >>"$out"
			for d in ${deps//,/ }; do
				d=${d//-/_}
				[ -n "${path[$d]:-}" ] && printf ' %s' "${path[$d]}" >>"$out"
			done
			printf '\n' >>"$out"
		done
		mv "$out" "$moddir/modules.dep"
	fi
	[ -s "$moddir/modules.dep" ] || die "no modules.dep made"
}

write_env() {
	local kernel moddir kver tmp k d
	kernel=""
	for k in "$KERNEL_ROOT"/boot/vmlinuz-*; do [ -f "$k" ] && kernel=$k && break; done
	[ -n "$kernel" ] || die "no vmlinuz in $KERNEL_ROOT"
	kver=${kernel##*/vmlinuz-}
	moddir=""
	for d in "$KERNEL_ROOT/lib/modules/$kver" "$KERNEL_ROOT/usr/lib/modules/$kver"; do
		[ -d "$d" ] && moddir=$d && break
	done
	[ -n "$moddir" ] || die "no modules folder for $kver in $KERNEL_ROOT"
	tmp=$(mktemp "$ENVFILE.XXXXXX")
	{
		printf 'IOMED_QEMU_SYSROOT=%q\n' "$QEMU_SYSROOT"
		printf 'IOMED_QEMU_VERSION=%q\n' "$(awk -v p="$QEMU_PKG" '$1 == p { print $2 }' "$QEMU_SYSROOT/.iomed-packages")"
		printf 'IOMED_KERNEL=%q\n' "$kernel"
		printf 'IOMED_KERNEL_VERSION=%q\n' "$kver"
		printf 'IOMED_MODULES_DIR=%q\n' "$moddir"
	} >"$tmp"
	mv -f "$tmp" "$ENVFILE"
}

prune_old() { # drop sysroots that testbed.env no longer names
	local d
	for d in "$TB"/qemu/* "$TB"/kernel/*; do
		[ -d "$d" ] || continue
		[ "$d" = "$QEMU_SYSROOT" ] || [ "$d" = "$KERNEL_ROOT" ] && continue
		log "removing old $d"
		rm -rf "$d"
	done
}

env_ok() { # is the recorded test bed complete?
	[ -f "$ENVFILE" ] || return 1
	(
		# shellcheck disable=SC1090
		. "$ENVFILE"
		[ -x "$IOMED_QEMU_SYSROOT/usr/bin/qemu-system-x86_64" ] &&
			[ -e "$IOMED_QEMU_SYSROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] &&
			[ -f "$IOMED_KERNEL" ] && [ -f "$IOMED_MODULES_DIR/modules.dep" ]
	)
}

do_fetch() { # $1 = 1 to force re-reading the package lists
	local force=${1:-0}
	if [ "$force" = 0 ] && env_ok; then return 0; fi
	mkdir -p "$TB"
	exec 9>"$TB/.lock"
	flock 9
	# another process may have finished while we waited for the lock
	if [ "$force" = 0 ] && env_ok; then return 0; fi
	if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then die "needs apt-get and dpkg"; fi
	apt_setup
	# something has to be built: read the lists again when forced, never read, or a week old
	# (the archive drops superseded versions, so old lists can name files that are gone)
	local stamp=0
	[ -f "$APTDIR/updated" ] && stamp=$(cat "$APTDIR/updated")
	if [ "$force" = 1 ] || [ $(($(date +%s) - stamp)) -gt 604800 ]; then
		apt_update
	fi
	build_qemu
	build_kernel
	write_env
	[ "$force" = 1 ] && prune_old
	log "ready: $(grep -E '^IOMED_(QEMU_VERSION|KERNEL_VERSION)=' "$ENVFILE" | tr '\n' ' ')"
	exec 9>&-
}

TMPDIRS=()
cleanup() { local t; for t in "${TMPDIRS[@]}"; do [ -e "$t" ] && rm -rf "$t"; done; return 0; }
trap cleanup EXIT

cmd=${1:-fetch}
case "$cmd" in
fetch) do_fetch 0 ;;
refresh | update) do_fetch 1 ;;
env)
	do_fetch 0
	cat "$ENVFILE"
	;;
clean) rm -rf "$TB" ;;
-h | --help | help) usage 0 ;;
*)
	echo "unknown command: $cmd" >&2
	usage 2
	;;
esac
