#!/bin/sh
# SPDX-License-Identifier: MIT
# Install everything cellgate needs to build, test and run its demo.
# Debian 12 (bookworm) main only; idempotent: installs only what is missing.
set -eu

PACKAGES="
clang llvm libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
libjson-c-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev
libmicrohttpd-dev libcurl4-openssl-dev libqrencode-dev check pkg-config
wireguard-tools wireguard-go iproute2 iptables curl procps socat libssl-dev
iputils-ping jq ethtool openssl prometheus
clang-format make gcc
libclang-rt-14-dev
qemu-system-x86
iperf3 gnuplot-nox ipset nftables
"
# The last line is for `make bench` only (tests/bench/): traffic, plots and
# the ipset/nftables competitors.

# The contract check (tests/contract: redocly, json-schema-faker, ajv,
# pinned by its package-lock.json) needs node and npm: Debian's, unless a
# node with npm is already there.
command -v npm >/dev/null || PACKAGES="$PACKAGES nodejs npm"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

# npm ci, again only when package-lock.json changed since the last one.
contract_modules() {
	local dir lock
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
