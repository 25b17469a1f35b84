#!/usr/bin/env bash
# mkinitramfs.sh — a busybox-static initramfs (cpio newc, gzip) for test guests.
#
#   scripts/mkinitramfs.sh -i INIT [-m MODULE]... [-f SRC:DEST]... [-o OUT] [-M MODULES_DIR]
#
#   -i INIT         the guest's /init (a shell script; it runs under busybox sh)
#   -m MODULE       a kernel module to include (name as modprobe knows it; '-' and '_' are the same);
#                   its dependencies come from MODULES_DIR/modules.dep and are included too. Built-in
#                   modules (modules.builtin) are skipped. Repeatable.
#   -f SRC:DEST     an extra file copied to DEST inside the initramfs (mode kept). Repeatable.
#   -o OUT          where to write the image; without it the cached image's path is printed
#   -M DIR          the kernel's modules folder (default: IOMED_MODULES_DIR from scripts/testbed.sh env)
#
# Inside the image: /bin/busybox with every applet linked, /init, /lib/modules/<name>.ko (plain,
# decompressed from .ko.xz/.ko.zst/.ko.gz) and /etc/modules, the modules in load order (dependencies
# first), one name a line. /sbin/load-modules insmods them in that order.
#
# Images are cached by a hash of everything that goes in, under ${IOMED_CACHE:-~/.cache/iomed}/initramfs.
# Host tools: busybox (static: busybox-static), cpio, gzip, xz, zstd, sha256sum.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "mkinitramfs: error: $*" >&2; exit 1; }
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

INIT="" OUT="" MODDIR=${IOMED_MODULES_DIR:-}
MODS=() FILES=()
while getopts "i:m:f:o:M:h" opt; do
	case $opt in
	i) INIT=$OPTARG ;;
	m) MODS+=("$OPTARG") ;;
	f) FILES+=("$OPTARG") ;;
	o) OUT=$OPTARG ;;
	M) MODDIR=$OPTARG ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "unexpected arguments: $*"
[ -n "$INIT" ] || die "-i INIT is required"
[ -f "$INIT" ] || die "init script $INIT not found"

BUSYBOX=${IOMED_BUSYBOX:-}
if [ -z "$BUSYBOX" ]; then
	for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && BUSYBOX=$b && break; done
fi
[ -n "$BUSYBOX" ] || die "no busybox (install busybox-static)"
if command -v file >/dev/null && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
	die "$BUSYBOX is not statically linked (install busybox-static)"
fi

# ---------------------------------------------------------------------------------------------
# modules: resolve names to files and order them dependencies first (awk: one pass, no forks)
declare -A DEP_PATH=()
ORDER=()
if [ ${#MODS[@]} -gt 0 ]; then
	if [ -z "$MODDIR" ]; then
		eval "$(TESTBED_QUIET=1 "$here/testbed.sh" env)"
		MODDIR=$IOMED_MODULES_DIR
	fi
	[ -f "$MODDIR/modules.dep" ] || die "no modules.dep in $MODDIR"
	builtin=$MODDIR/modules.builtin
	[ -f "$builtin" ] || builtin=/dev/null
	resolved=$(awk -v want="${MODS[*]}" '
		function norm(p,   n) { n = p; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n); return n }
		function visit(n,   i, k, d) {
			if (state[n] == 2) return
			if (state[n] == 1) { print "ERROR dependency loop at " n; exit 1 }
			state[n] = 1
			k = split(deps[n], d, " ")
			# depmod lists dependencies so that the last one is loaded first
			for (i = k; i >= 1; i--) visit(d[i])
			state[n] = 2
			print n, path[n]
		}
		FILENAME ~ /modules\.dep$/ {
			i = index($0, ":"); rel = substr($0, 1, i - 1); n = norm(rel)
			path[n] = rel; rest = substr($0, i + 1); l = ""
			k = split(rest, d, " ")
			for (j = 1; j <= k; j++) l = l " " norm(d[j])
			deps[n] = l
			next
		}
		{ builtin[norm($0)] = 1 }
		END {
			k = split(want, w, " ")
			for (i = 1; i <= k; i++) {
				n = norm(w[i])
				if (n in path) visit(n)
				else if (!(n in builtin)) { print "ERROR module " w[i] " not found"; exit 1 }
			}
		}' "$MODDIR/modules.dep" "$builtin")
	case $resolved in *ERROR*) die "$(grep ERROR <<<"$resolved") (in $MODDIR)" ;; esac
	while read -r n rel; do
		[ -n "$n" ] || continue
		DEP_PATH[$n]=$rel
		ORDER+=("$n")
	done <<<"$resolved"
fi

# ---------------------------------------------------------------------------------------------
# cache key: everything that goes in
key=$(
	{
		sha256sum "$0" "$BUSYBOX" "$INIT" | cut -d' ' -f1
		for n in "${ORDER[@]}"; do
			printf 'mod %s %s\n' "$n" "$(stat -c '%s %Y' "$MODDIR/${DEP_PATH[$n]}")"
		done
		for spec in "${FILES[@]}"; do
			src=${spec%%:*}
			[ -f "$src" ] || die "extra file $src not found"
			printf 'file %s %s %s\n' "${spec#*:}" "$(stat -c '%a' "$src")" "$(sha256sum <"$src" | cut -d' ' -f1)"
		done
		printf 'moddir %s\n' "$MODDIR"
	} | sha256sum | cut -c1-24
)
CACHE=${IOMED_CACHE:-$HOME/.cache/iomed}/initramfs
mkdir -p "$CACHE"
IMG=$CACHE/$key.cpio.gz

if [ ! -s "$IMG" ]; then
	stage=$(mktemp -d)
	part=""
	trap 'rm -rf "$stage"; [ -z "$part" ] || rm -f "$part"' EXIT
	r=$stage/root
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,lib/modules}
	cp "$BUSYBOX" "$r/bin/busybox"
	chmod 755 "$r/bin/busybox"
	while read -r applet; do
		[ -n "$applet" ] || continue
		case $applet in bin/busybox) continue ;; esac
		mkdir -p "$r/$(dirname "$applet")"
		[ -e "$r/$applet" ] || ln -s /bin/busybox "$r/$applet"
	done < <("$BUSYBOX" --list-full)
	[ -e "$r/bin/sh" ] || ln -s busybox "$r/bin/sh"
	install -m 755 "$INIT" "$r/init"
	: >"$r/etc/modules"
	for n in "${ORDER[@]}"; do
		src=$MODDIR/${DEP_PATH[$n]}
		dst=$r/lib/modules/$n.ko
		case $src in
		*.ko.xz) xz -dc "$src" >"$dst" ;;
		*.ko.zst) zstd -dcq "$src" >"$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$dst" ;;
		*.ko) cp "$src" "$dst" ;;
		*) die "unknown module file type: $src" ;;
		esac
		echo "$n" >>"$r/etc/modules"
	done
	cat >"$r/sbin/load-modules" <<-'EOF'
	#!/bin/sh
	# insmod every module of /etc/modules, in order (dependencies come first)
	rc=0
	while read -r m; do
		[ -n "$m" ] || continue
		insmod "/lib/modules/$m.ko" || { echo "load-modules: insmod $m failed" >&2; rc=1; }
	done </etc/modules
	exit $rc
	EOF
	chmod 755 "$r/sbin/load-modules"
	for spec in "${FILES[@]}"; do
		src=${spec%%:*}
		dst=$r/${spec#*:}
		mkdir -p "$(dirname "$dst")"
		cp -p "$src" "$dst"
	done
	# the kernel's built-in initramfs normally has /dev/console already; add it when we can
	mknod -m 600 "$r/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$r/dev/null" c 1 3 2>/dev/null || true
	part=$(mktemp "$IMG.XXXXXX")
	(cd "$r" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -n -6) >"$part"
	mv -f "$part" "$IMG"
	part=""
	# keep the cache small: forget images not used for a week
	find "$CACHE" -maxdepth 1 -name '*.cpio.gz' -mtime +7 -delete 2>/dev/null || true
else
	touch "$IMG"
fi

if [ -n "$OUT" ]; then
	cp -f "$IMG" "$OUT"
else
	printf '%s\n' "$IMG"
fi
