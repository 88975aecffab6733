#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layers of ctl/ (ctl/README.md) as its includes show them: each
# folder includes only what its README's "May call" allows, so no arrow
# runs back up and the CLI reads pins through the read-only face alone.
# Prints each include that breaks a rule; exit 1 if any does.
set -u
cd "$(dirname "$0")/.." || exit 2

# folder -> what it may include besides its own files: folders ("common/")
# or single headers ("state/config.h"). bpf/lib/abi.h, the ABI the
# programs and the controller share, is allowed everywhere.
declare -A allow=(
	[ctl/common]=""
	[ctl/state]="common/"
	[ctl/wg]="common/ state/config.h"
	[ctl/dataplane]="common/ state/ skeletons"
	[ctl/cells]="common/ state/ wg/route.h"
	[ctl/daemon]="common/ state/ wg/ dataplane/ cells/"
	[ctl/cli]="common/ state/config.h dataplane/pins_ro.h dataplane/mapread.h dataplane/mapview.h"
	[api]="common/ state/ wg/ dataplane/ cells/ daemon/"
)

# Where a quoted include resolves: ctl/<folder>/<name>, api/, bpf/lib/,
# a skeleton built from bpf/, or version.h, which the Makefile writes
# (allowed everywhere).
where() {
	local name=$1 f
	case "$name" in
	*.skel.h) echo skeletons; return ;;
	version.h) echo generated; return ;;
	esac
	for f in ctl/*/"$name" api/"$name" bpf/lib/"$name"; do
		[ -e "$f" ] && { echo "${f#ctl/}"; return; }
	done
	echo "?$name"
}

bad=0 n=0
for dir in "${!allow[@]}"; do
	self=${dir#ctl/}/
	for file in "$dir"/*.[ch]; do
		while IFS= read -r name; do
			n=$((n + 1))
			to=$(where "$name")
			case "$to" in bpf/lib/abi.h | generated) continue ;; esac
			case "$to" in "$self"*) continue ;; esac
			ok=0
			for rule in ${allow[$dir]}; do
				case "$rule" in
				*/) case "$to" in "$rule"*) ok=1 ;; esac ;;
				*) [ "$to" = "$rule" ] && ok=1 ;;
				esac
			done
			if [ $ok = 0 ]; then
				echo "layers: $file includes $name ($to): not allowed for $dir/"
				bad=$((bad + 1))
			fi
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
	done
done
if [ $bad -gt 0 ]; then
	echo "layers: $bad include(s) break ctl/README.md's order"
	exit 1
fi
echo "layers: $n includes checked, each within its folder's \"May call\""
