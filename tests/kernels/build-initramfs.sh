#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# build-initramfs.sh OUT_DIR: Debian's stock kernel (the package
# linux-image-amd64 depends on, 6.1 on bookworm) and a busybox initramfs
# that boots it with the host's root over 9p, for tests/kernels/run.sh.
#
# Everything comes from Debian's archive through apt, at test time:
# `apt-get download` fetches the .debs (nothing is installed on the host:
# the host's /boot and /lib/modules stay as they are), `dpkg-deb -x`
# unpacks them into a scratch directory. busybox-static provides the
# initramfs's tools, including the depmod and modprobe that resolve the
# modules' dependencies, so the host needs no kmod.
#
# Kept in OUT_DIR/<package>/ (so a new kernel upload gets a new
# directory): the kernel image and the few modules the VM needs, a few MB
# instead of the package's 470. The initramfs is rebuilt every time from
# them and tests/kernels/init.sh (a second).
#
# Prints the kernel image's path and the initramfs's, one a line.
# Exit status 77: cannot build here (no apt-get, or the archive cannot be
# reached): the caller reports the test as skipped.
set -euo pipefail

out=${1:?usage: $0 OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The modules the VM needs, loaded by init.sh in this order: its own
# devices (virtio PCI, the 9p file system, virtio-rng so that getrandom()
# does not wait for entropy under emulation), then the tests' (kernel
# WireGuard, veth, bridge, and tc's clsact and cls_bpf). Their
# dependencies (crypto for wireguard, stp and llc for bridge, ...) are
# found by depmod.
MODULES="virtio_pci virtio-rng 9pnet_virtio 9p wireguard veth bridge sch_ingress cls_bpf"

note() { echo "build-initramfs: $*" >&2; }
skip() {
	note "SKIP: $*"
	exit 77
}

if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
	skip "needs apt-get and dpkg-deb (a Debian host)"
fi

# The exact package behind the linux-image-amd64 metapackage.
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# fetch PKG DIR: download PKG and unpack it into DIR. apt's sandbox user
# cannot write into our directories; downloading as root is what we want.
fetch() {
	local pkg=$1 dir=$2
	rm -rf "$dir" && mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) &&
		dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
}

# The package index may be missing, or name a version the archive no
# longer has: update it once, then look the package up again.
pkg=$(kernel_package)
keep=$out/$pkg
scratch=$out/scratch
if [ -z "$pkg" ] || [ "$(cat "$keep/.modules" 2>/dev/null)" != "$MODULES" ]; then
	if [ -z "$pkg" ] || ! fetch "$pkg" "$scratch/kernel"; then
		note "updating the package index"
		apt-get update -qq >&2 || skip "apt-get update failed (no archive?)"
		pkg=$(kernel_package)
		[ -n "$pkg" ] || skip "the archive has no linux-image-amd64"
		keep=$out/$pkg
		fetch "$pkg" "$scratch/kernel" || skip "cannot download $pkg"
	fi
	note "fetched $pkg from Debian's archive"
	fetch busybox-static "$scratch/busybox" || skip "cannot download busybox-static"
	kroot=$scratch/kernel/root
	kver=$(ls "$kroot/lib/modules")
	[ "$(echo "$kver" | wc -w)" = 1 ] || { note "expected one module tree in $pkg, got: $kver"; exit 1; }
	busybox=$scratch/busybox/root/bin/busybox
	# The package has no modules.dep (its postinst runs depmod): make one,
	# then keep each wanted module and what modules.dep says it needs (a
	# line: the module, a colon, its dependencies, relative paths).
	"$busybox" depmod -b "$kroot" "$kver"
	rm -rf "$keep" && mkdir -p "$keep/lib/modules/$kver"
	for m in $MODULES; do
		line=$(grep -E "(^|/)${m}\.ko(\.[a-z]+)?:" "$kroot/lib/modules/$kver/modules.dep") ||
			{ note "module $m is not in $pkg"; exit 1; }
		for f in $(echo "$line" | tr -d ':'); do
			mkdir -p "$keep/lib/modules/$kver/$(dirname "$f")"
			cp "$kroot/lib/modules/$kver/$f" "$keep/lib/modules/$kver/$f"
		done
	done
	"$busybox" depmod -b "$keep" "$kver"
	cp "$kroot/boot/vmlinuz-$kver" "$keep/vmlinuz"
	cp "$busybox" "$keep/busybox"
	echo "$MODULES" >"$keep/.modules"
	rm -rf "$scratch"
fi
kver=$(ls "$keep/lib/modules")

# ---- the initramfs -----------------------------------------------------------------
ird=$out/initramfs.d
rm -rf "$ird"
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib}
cp "$keep/busybox" "$ird/bin/busybox"
ln -s busybox "$ird/bin/sh"
cp -r "$keep/lib/modules" "$ird/lib/"
install -m 0755 "$here/init.sh" "$ird/init"
echo "$MODULES" >"$ird/modules" # what init.sh loads
initrd=$out/initramfs-$kver.cpio.gz
# newc is the format the kernel unpacks; busybox's cpio, so the host
# needs no cpio package.
(cd "$ird" && find . | LC_ALL=C sort | "$keep/busybox" cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$initrd.tmp"
mv "$initrd.tmp" "$initrd"
note "$pkg ($kver): $(du -h "$initrd" | cut -f1) initramfs, $(find "$ird/lib/modules" -name '*.ko*' | wc -l) modules"
echo "$keep/vmlinuz"
echo "$initrd"
