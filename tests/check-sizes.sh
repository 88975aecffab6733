#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sizes the code is held to (issue 14): no source file of ctl/, api/ or
# bpf/ over 800 lines (exit 1 if one is); functions over 80 lines there
# are listed, to be split where that helps the reader (a long table may
# stay). Test files over 800 lines are listed too, without failing.
set -u
cd "$(dirname "$0")/.." || exit 2
FILE_MAX=${FILE_MAX:-800}
FUNC_MAX=${FUNC_MAX:-80}

shopt -s nullglob
src=(ctl/*.c ctl/*/*.[ch] api/*.[ch] bpf/*.c bpf/lib/*.h)
tests=(tests/*/*.[ch])

# Files over FILE_MAX lines, "LINES PATH" a line.
over() {
	wc -l "$@" | awk -v max="$FILE_MAX" '$2 != "total" && $1 > max' | sort -rn
}

# Functions over FUNC_MAX lines. A body opens with "{" alone in column 0
# and closes with "}" (clang-format's style here); it counts from the
# line in column 0 that names the function.
long_functions() {
	awk -v max="$FUNC_MAX" '
	FNR == 1 { named = 0; start = 0 }
	/\(/ && $0 !~ /^[ \t#]/ { named = FNR; name = $0 }
	$0 == "{" { start = named }
	$0 == "}" && start {
		n = FNR - start + 1
		if (n > max) {
			sub(/\(.*/, "", name)
			sub(/.*[ *]/, "", name)
			printf "%5d %s:%d %s\n", n, FILENAME, start, name
		}
		start = 0
	}' "$@" | sort -rn
}

big=$(over "${src[@]}")
fns=$(long_functions "${src[@]}")
tbig=$(over "${tests[@]}")
if [ -n "$big" ]; then
	echo "sizes: source files over $FILE_MAX lines (split them by concern):"
	echo "$big"
fi
if [ -n "$fns" ]; then
	echo "sizes: functions over $FUNC_MAX lines (split where it helps):"
	echo "$fns"
fi
if [ -n "$tbig" ]; then
	echo "sizes: test files over $FILE_MAX lines (allowed):"
	echo "$tbig"
fi
read -r n path < <(wc -l "${src[@]}" | grep -v ' total$' | sort -n | tail -1)
echo "sizes: ${#src[@]} source files, the largest $path ($n lines);" \
	"$(grep -c . <<<"$fns") function(s) over $FUNC_MAX lines"
[ -z "$big" ]
