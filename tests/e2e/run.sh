#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every end-to-end test (tests/e2e/test_*.sh). Exit code 77 from a test
# means skipped: reported with its reason, not counted as passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
failed=0 skipped=0 passed=0
for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	echo "=== e2e: $name"
	start=$(date +%s)
	bash "$t"
	rc=$?
	took=$(($(date +%s) - start))
	case $rc in
	0) passed=$((passed + 1)); echo "=== e2e: $name passed (${took}s)" ;;
	77) skipped=$((skipped + 1)); echo "=== e2e: $name SKIPPED" ;;
	*) failed=$((failed + 1)); echo "=== e2e: $name FAILED (exit $rc, ${took}s)" ;;
	esac
done
echo "=== e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
