#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what cellgate needs, by group: build (make, make install), test
# (make test and its levels), bench (make bench), fresh (make test-fresh),
# deb (make deb, make test-deb).
#   scripts/deps.sh [GROUP...]     no group: all of them
# Debian 12 (bookworm) main only; idempotent: installs only what is
# missing, and says nothing (one dpkg-query, well under a second) when
# nothing is. The Makefile runs it before every target that needs
# packages, with the groups that target needs.
set -eu

BUILD="
clang llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
libjson-c-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev
libmicrohttpd-dev libcurl4-openssl-dev libqrencode-dev pkg-config
libssl-dev clang-format make gcc
"
TEST="
check libclang-rt-14-dev xdp-tools wireguard-tools wireguard-go iproute2
iptables curl procps socat iputils-ping jq ethtool openssl prometheus
util-linux libcap2-bin systemd qemu-system-x86
"
# tests/bench/: traffic, plots, the ipset/nftables competitors, perf for
# the CPU profile.
BENCH="iperf3 gnuplot-nox ipset nftables linux-perf"
# make deb, make test-deb: packaging tools, man-db for the man page check.
DEB="debhelper dpkg-dev fakeroot lintian man-db"
# tests/fresh/: a minimal Debian chroot.
FRESH="debootstrap"

[ $# -gt 0 ] || set -- build test bench fresh deb
PACKAGES=""
want_contract=""
for g in "$@"; do
	case $g in
	build) PACKAGES="$PACKAGES $BUILD" ;;
	test) PACKAGES="$PACKAGES $TEST" want_contract=1 ;;
	bench) PACKAGES="$PACKAGES $BENCH" ;;
	fresh) PACKAGES="$PACKAGES $FRESH" ;;
	deb) PACKAGES="$PACKAGES $DEB" ;;
	*) echo "deps.sh: unknown group '$g' (build, test, bench, fresh, deb)" >&2; exit 2 ;;
	esac
done

# The contract check (tests/contract: redocly, json-schema-faker, ajv,
# pinned by its package-lock.json) needs node and npm: Debian's, unless a
# node with npm is already there.
if [ -n "$want_contract" ] && ! command -v npm >/dev/null; then
	PACKAGES="$PACKAGES nodejs npm"
fi

# One dpkg-query for all: the installed ones among PACKAGES.
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $PACKAGES 2>/dev/null |
	awk '$1 == "ii" {printf "%s ", $2}')"
missing=""
for p in $PACKAGES; do
	case $installed in
	*" $p "*) ;;
	*) case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac ;;
	esac
done

# npm ci (test group), again only when package-lock.json changed since
# the last one.
contract_modules() {
	local dir lock
	[ -n "$want_contract" ] || return 0
	dir="$(dirname "$0")/../tests/contract"
	lock="$dir/node_modules/.package-lock.json"
	[ -f "$lock" ] && [ ! "$dir/package-lock.json" -nt "$lock" ] && return 0
	echo "deps.sh: npm ci in tests/contract"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

if [ -z "$missing" ]; then
	contract_modules
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
contract_modules
