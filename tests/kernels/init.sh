#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the test VM's initramfs (busybox sh, PID 1), built by
# tests/kernels/build-initramfs.sh. It only makes the host's root usable
# and hands over to tests/kernels/guest.sh:
#
#   1. load the modules the kernel needs for that (virtio PCI, 9p) and
#      those the tests need (wireguard, veth, bridge, sch_ingress,
#      cls_bpf): Debian builds them as modules, and once we chroot into
#      the host's root there is no modprobe that knows this kernel's
#      modules (the host's /lib/modules has its own kernel's);
#   2. mount the host's root (9p, read-only) with writable tmpfs on /run
#      and /tmp, the results directory (9p, writable), and proc, sys,
#      devtmpfs, bpffs inside it;
#   3. chroot there and run the guest script; print its exit status on
#      the console between markers, and power off. A panic or a hang is
#      the host's to handle (qemu -no-reboot, its timeout).
#
# Parameters come on the kernel command line: cgk.script=PATH (the guest
# script, a path in the host's root), cgk.repo=DIR (the repository),
# cgk.build=DIR (its build directory), cgk.steps=A,B (the guest's steps
# to run; all when absent), cgk.scale_n=A:B (the peer counts of the
# "scale" step, colon-separated).

/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "cgk-init: $*" >/dev/console; }
# Power off whatever happens: nothing else would end the VM.
halt_now() {
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

script='' repo='' build='' steps='' scale_n=''
# Words, not lines: the command line is one line of words.
# shellcheck disable=SC2013
for arg in $(cat /proc/cmdline); do
	case $arg in
	cgk.script=*) script=${arg#cgk.script=} ;;
	cgk.repo=*) repo=${arg#cgk.repo=} ;;
	cgk.build=*) build=${arg#cgk.build=} ;;
	cgk.steps=*) steps=${arg#cgk.steps=} ;;
	cgk.scale_n=*) scale_n=$(echo "${arg#cgk.scale_n=}" | tr ':' ' ') ;;
	esac
done

# The modules build-initramfs.sh put here, listed in /modules in order;
# busybox modprobe resolves their dependencies from the modules.dep the
# builder generated.
# shellcheck disable=SC2013 # one line of words
for m in $(cat /modules); do
	modprobe "$m" || say "modprobe $m failed"
done

R=/newroot
mkdir -p $R
# msize: 9p moves data in messages of at most this size; the default
# (8 KiB) makes loading binaries and BPF objects slow. cache=loose: the
# root is read-only, so the guest may cache it freely.
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose \
	hostroot $R; then
	say "cannot mount the host's root over 9p"
	halt_now
fi
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/shm $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t bpf bpf $R/sys/fs/bpf
# A checkout under /tmp or /run, hidden by the tmpfs above, comes over
# 9p of its own (run.sh shares it as "repo"), at the same path.
case $repo/ in
/tmp/* | /run/*)
	mkdir -p "$R$repo"
	if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose \
		repo "$R$repo"; then
		say "cannot mount the checkout $repo over 9p"
		halt_now
	fi
	;;
esac
mkdir -p $R/run/cgk-results
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results \
	$R/run/cgk-results; then
	say "cannot mount the results directory over 9p"
	halt_now
fi

say "running $script"
echo "=== cgk-guest-begin" >/dev/console
chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb CGK_REPO="$repo" CGK_BUILD="$build" CGK_STEPS="$steps" CGK_RESULTS=/run/cgk-results \
	${scale_n:+CGK_SCALE_N="$scale_n"} \
	/bin/bash "$script" </dev/null >/dev/console 2>&1
rc=$?
echo "=== cgk-guest-end $rc" >/dev/console
halt_now
