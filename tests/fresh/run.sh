#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make test-fresh`: a plain `make` on a fresh Debian 12 builds cellgate,
# installing what it lacks itself (scripts/deps.sh). A minimal bookworm
# (debootstrap --variant=minbase, cached as build/fresh/minbase.tar after
# the first run) gets only `make`, as a user who types `make` has, and a
# copy of the tracked files; then `make` runs in it as root and must leave
# a build/cellgate that runs. The chroot shares the host's network (for
# apt) and lives in its own mount namespace, so nothing stays mounted.
# One to two minutes once the base system is cached (the first run adds the
# debootstrap); it downloads the build packages (~300 MB) every time.
#
# Exit status: 0 passed, 1 failed, 77 skipped (not root, no debootstrap,
# no Debian archive), with the reason on the last line.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
out=$build/fresh
mirror=${CGF_MIRROR:-http://deb.debian.org/debian}

skip() {
	echo "SKIP: $*"
	exit 77
}
log() { echo "=== fresh: $*"; }
fail() {
	echo "not ok - $*"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null ||
	skip "debootstrap is not installed (scripts/deps.sh fresh installs it)"

mkdir -p "$out"
if [ ! -s "$out/minbase.tar" ]; then
	log "debootstrap --variant=minbase bookworm (once; cached in $out/minbase.tar)"
	rm -rf "$out/base"
	debootstrap --variant=minbase bookworm "$out/base" "$mirror" \
		>"$out/debootstrap.log" 2>&1 ||
		{ tail -5 "$out/debootstrap.log"; skip "debootstrap failed (no Debian archive?)"; }
	tar -C "$out/base" -cf "$out/minbase.tar.tmp" . && mv "$out/minbase.tar.tmp" "$out/minbase.tar"
	rm -rf "$out/base"
fi

root=$out/root
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$out/minbase.tar" || fail "unpacking the minimal system"
# The host's archive list (main, updates, security) and name servers.
if [ -d /etc/apt/sources.list.d ] && ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
	cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
	: >"$root/etc/apt/sources.list"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
mkdir -p "$root/src"
(cd "$repo" && git ls-files -z | tar --null -T - -cf -) | tar -C "$root/src" -xf - ||
	fail "copying the tracked files"

log "in the chroot: apt-get install make, then make"
start=$(date +%s)
unshare --mount --propagation private -- sh -c '
	root=$1
	mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
	mount -t sysfs sysfs "$root/sys" || exit 1
	# A clean environment: nothing of the make that runs this (MAKEFLAGS,
	# CELLGATE_DEPS_DONE) may leak into the fresh one.
	exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		chroot "$root" /bin/sh -c "
		export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
		apt-get update -qq && apt-get install -y -qq --no-install-recommends make >/dev/null ||
			exit 77
		cd /src && make -j2 && ./build/cellgate --help >/dev/null
	"' sh "$root" >"$out/make.log" 2>&1
rc=$?
took=$(($(date +%s) - start))
tail -5 "$out/make.log"
[ $rc = 77 ] && skip "apt-get in the chroot cannot reach the Debian archive"
[ $rc = 0 ] || fail "make on a fresh Debian 12 (exit $rc, ${took}s; log: $out/make.log)"
grep -q '^deps.sh: installing:' "$out/make.log" ||
	fail "make did not install the build packages through scripts/deps.sh"
echo "ok - make on a fresh Debian 12 installed its packages and built build/cellgate (${took}s)"
rm -rf "$root"
