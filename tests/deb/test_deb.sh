#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package, installed and purged in a throwaway root: a private
# mount (and network) namespace with an overlayfs over / (upper layer on a
# tmpfs), chrooted into. Nothing reaches the host's root, dpkg database or
# network. `make test-deb` builds the .deb (lintian included) first.
#
# Two rounds: as on this machine (no systemd as PID 1: the maintainer
# scripts must call nothing), then with a fake systemd (/run/systemd/system
# and a systemctl that records its calls): installing must neither enable
# nor start the service, removing must stop it.
#
# Usage: tests/deb/test_deb.sh DEB_DIR    (DEB_DIR: make deb's output)
set -u

n_tests=0 n_failed=0
ok() { n_tests=$((n_tests + 1)); echo "ok $n_tests - $*"; }
not_ok() {
	n_tests=$((n_tests + 1)) n_failed=$((n_failed + 1))
	echo "not ok $n_tests - $*"
}
check() { # check DESCRIPTION CMD...: ok if CMD succeeds
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
skip() {
	echo "SKIP: $*"
	exit 77
}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

# ---- outside: preconditions, then the namespace ------------------------------

outside() {
	local dir=${1:?usage: test_deb.sh DEB_DIR} deb tmp rc
	[ "$(id -u)" = 0 ] || skip "needs root (mount namespace, chroot)"
	command -v unshare >/dev/null || skip "no unshare"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		skip "no overlayfs"
	deb=$(ls "$dir"/cellgate_*_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || {
		echo "not ok - no cellgate_*.deb in $dir (run make deb)"
		exit 1
	}
	tmp=$(mktemp -d /tmp/cgdeb.XXXXXX)
	unshare -m -n -- bash "$0" --inside "$tmp" "$(cd "$(dirname "$deb")" &&
		pwd)/$(basename "$deb")"
	rc=$?
	rmdir "$tmp" # its tmpfs went with the namespace
	exit $rc
}

# ---- inside the private mount namespace --------------------------------------

# A fresh overlay root; the old one's tmpfs is unmounted (all its files go).
new_root() {
	umount -R "$tmp" 2>/dev/null
	mount -t tmpfs -o mode=0700 cgdeb "$tmp" || return 1
	mkdir -p "$tmp/upper" "$tmp/work" "$tmp/root" "$tmp/in" || return 1
	mount -t overlay cgdeb \
		-o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" \
		"$tmp/root" || return 1
	root=$tmp/root
	mount --rbind /dev "$root/dev" &&
		mount -t proc proc "$root/proc" &&
		mount -t tmpfs -o mode=0755 cgrun "$root/run" &&
		mount --bind -o ro "$tmp/in" "$root/mnt" || return 1
	cp "$deb" "$tmp/in/" || return 1
	# The man-db trigger reindexes every page: slow, and not ours to test.
	rm -f "$root/var/lib/man-db/auto-update"
}

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	LC_ALL=C.UTF-8 "$@"; }

# Paths of ours the overlay's upper layer holds (what the root gained).
ours_in_upper() {
	# (Whiteouts, char devices, only hide what the host has.)
	(cd "$tmp/upper" && find . -path ./mnt -prune -o ! -type c -print) |
		grep -i cellgate | sort
}

dpkg_do() { # dpkg_do DESCRIPTION ARGS...: ok if dpkg succeeds, else its log
	local d=$1 out
	shift
	if out=$(in_root dpkg "$@" 2>&1); then
		ok "$d"
	else
		not_ok "$d"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

check_installed() {
	local unit want version upstream conffiles mode man out text
	check "the binary is /usr/sbin/cellgate, 0755" \
		test "$(stat -c %a "$root/usr/sbin/cellgate")" = 755
	version=$(in_root dpkg-query -W -f='${Version}' cellgate)
	upstream=${version%-*}
	check "cellgate --version prints the package's upstream version ($upstream)" \
		test "$(in_root cellgate --version)" = "cellgate $upstream"
	check "cellgate version agrees" \
		test "$(in_root cellgate version)" = "cellgate $upstream"

	unit=$root/lib/systemd/system/cellgate.service
	want=$(sed 's|@PREFIX@|/usr|g' "$top/scripts/cellgate.service")
	check "the unit is scripts/cellgate.service with @PREFIX@ = /usr" \
		test "$(cat "$unit" 2>/dev/null)" = "$want"
	check "the unit runs /usr/sbin/cellgate" \
		grep -q '^ExecStart=/usr/sbin/cellgate ' "$unit"
	check "the unit is not enabled" \
		test -z "$(find "$root/etc/systemd" -name cellgate.service 2>/dev/null)"

	conffiles=$(in_root dpkg-query -W -f='${Conffiles}' cellgate)
	check "/etc/cellgate/cellgate.json is a conffile" \
		grep -q '^ /etc/cellgate/cellgate.json ' <<<"$conffiles"
	mode=$(stat -c '%a %U' "$root/etc/cellgate/cellgate.json")
	check "the conffile is 0644 root (it holds no secret)" test "$mode" = "644 root"
	check "the conffile is the example config" \
		cmp -s "$root/etc/cellgate/cellgate.json" \
		"$top/scripts/cellgate.example.json"
	check "the example is in /usr/share/doc/cellgate/examples" \
		test -f "$root/usr/share/doc/cellgate/examples/cellgate.example.json"
	check "README.md stays uncompressed (the unit's Documentation=)" \
		test -f "$root/usr/share/doc/cellgate/README.md"

	man=/usr/share/man/man8/cellgate.8.gz
	check "cellgate(8) is installed gzipped" gzip -t "$root$man"
	out=$(in_root env MANWIDTH=80 man --warnings -l "$man" 2>&1 >/dev/null)
	check "man -l renders cellgate(8) without warnings" test -z "$out"
	text=$(in_root env MANWIDTH=80 man -l "$man" 2>/dev/null)
	check "cellgate(8) has the command reference and exit codes" \
		bash -c 'grep -q "peer add NAME" <<<"$0" &&
			grep -q "forward add ID" <<<"$0" &&
			grep -q "^EXIT STATUS" <<<"$0"' "$text"
	check "cellgate(8) is the page of version $upstream" \
		grep -q "^cellgate $upstream " <<<"$text"
}

# What the controller creates on a real host, for the purge to remove.
fake_daemon_files() {
	in_root sh -c 'umask 077; echo token >/etc/cellgate/api.token &&
		echo key >/etc/cellgate/wg.key && mkdir -p /var/lib/cellgate &&
		echo "{}" >/var/lib/cellgate/state.json'
}

# Round 1: no systemd, as on this machine.
round_plain() {
	local left
	echo "# round 1: no systemd as PID 1 (deb-systemd-invoke is not reached)"
	new_root || { not_ok "overlay root"; return; }
	fake_systemctl
	check "no /run/systemd/system in the root (the scripts' systemd test)" \
		test ! -e "$root/run/systemd/system"
	check "before: nothing of ours in the root" test -z "$(ours_in_upper)"
	dpkg_do "dpkg -i installs the package" -i "/mnt/$(basename "$deb")"
	check_installed
	fake_daemon_files
	check "positive control: the overlay sees our files" \
		test -n "$(ours_in_upper)"
	dpkg_do "dpkg -r removes it" -r cellgate
	check "removal keeps the conffile" test -f "$root/etc/cellgate/cellgate.json"
	check "removal takes the binary" test ! -e "$root/usr/sbin/cellgate"
	dpkg_do "dpkg --purge purges it" --purge cellgate
	left=$(ours_in_upper)
	check "after purge nothing of ours is left (config, token, key, state)" \
		test -z "$left"
	[ -z "$left" ] || printf '%s\n' "$left" | sed 's/^/#   left: /'
	check "dpkg no longer knows the package" \
		bash -c '! chroot "$0" dpkg-query -W cellgate >/dev/null 2>&1' "$root"
	check "no systemctl call in the whole cycle" test ! -s "$root$log"
}

# systemctl in the root records its calls in $root$log: the unit is never
# enabled nor active there.
log=/run/systemctl.calls
fake_systemctl() {
	cat >"$root/usr/bin/systemctl" <<EOF
#!/bin/sh
echo "\$*" >>$log
case " \$* " in
*" is-enabled "*) echo disabled; exit 1 ;;
*" is-active "*) exit 3 ;;
esac
exit 0
EOF
	chmod 0755 "$root/usr/bin/systemctl"
}

show_calls() { printf '%s\n' "$1" | sed 's/^/#   systemctl /'; }

# Round 2: a fake systemd; systemctl records its calls.
round_systemd() {
	local calls
	echo "# round 2: a fake systemd records the maintainer scripts' calls"
	new_root || { not_ok "overlay root"; return; }
	mkdir -p "$root/run/systemd/system"
	# This machine's policy-rc.d (exit 101) makes deb-systemd-invoke
	# refuse every action; a real host has none.
	rm -f "$root/usr/sbin/policy-rc.d"
	fake_systemctl
	dpkg_do "dpkg -i with systemd" -i "/mnt/$(basename "$deb")"
	calls=$(cat "$root$log" 2>/dev/null)
	check "install: systemctl daemon-reload, nothing else" \
		test "$calls" = "--system daemon-reload"
	show_calls "$calls"
	: >"$root$log"
	dpkg_do "dpkg -i again (an upgrade)" -i "/mnt/$(basename "$deb")"
	calls=$(cat "$root$log" 2>/dev/null)
	show_calls "$calls"
	check "upgrade: try-restart (restarts only a running unit)" \
		grep -qx 'try-restart cellgate.service' <<<"$calls"
	check "upgrade: neither start nor enable" \
		bash -c '! grep -Eq "(^| )(start|restart|enable|reenable)( |$)" <<<"$0"' \
		"$calls"
	: >"$root$log"
	dpkg_do "dpkg --purge with systemd" --purge cellgate
	calls=$(cat "$root$log" 2>/dev/null)
	check "removal stops cellgate.service" grep -qx 'stop cellgate.service' \
		<<<"$calls"
	check "removal starts nothing" \
		bash -c '! grep -Eq "(^| )(start|restart|enable)( |$)" <<<"$0"' "$calls"
	show_calls "$calls"
}

inside() {
	tmp=$1 deb=$2
	mount --make-rprivate / || { echo "not ok - private mounts"; exit 1; }
	if ! new_root; then
		umount -R "$tmp" 2>/dev/null
		skip "cannot build an overlay root over / in $tmp"
	fi
	round_plain
	round_systemd
	umount -R "$tmp"
	echo "# $n_tests checks, $n_failed failed"
	[ "$n_failed" = 0 ]
}

if [ "${1:-}" = --inside ]; then
	inside "$2" "$3"
else
	outside "$@"
fi
