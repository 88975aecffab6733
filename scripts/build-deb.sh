#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Debian package (debian/) into OUT_DIR, then check it with
# lintian (errors fail; warnings and info are printed).
#
# It builds in OUT_DIR/src, a copy of the files git knows (tracked and not
# ignored, so uncommitted edits count), never in the tree: the build and
# dpkg-buildpackage's outputs, which it writes to the parent directory,
# stay under OUT_DIR. From a tarball, run `dpkg-buildpackage -b` instead.
set -eu

out=${1:?usage: build-deb.sh OUT_DIR}
top=$(git rev-parse --show-toplevel)

rm -rf "$out"
mkdir -p "$out/src"
out=$(cd "$out" && pwd)
(cd "$top" && git ls-files -z -co --exclude-standard |
	tar --null -T - --ignore-failed-read -cf -) | tar -xf - -C "$out/src"

(cd "$out/src" && dpkg-buildpackage -b -us -uc -J"$(nproc)")

deb=$(ls "$out"/cellgate_*.deb)
echo "build-deb: built $deb"
lintian --fail-on error --display-info --suppress-tags-from-file /dev/null \
	"$deb"
echo "build-deb: lintian: no errors"
