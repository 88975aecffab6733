#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The command line without a controller (make test-unit): every command's
# --help exits 0 with its usage and does nothing, global options work
# after the command, run and detach honour --config, options a command
# does not take are usage errors (2), and --version prints the version
# the build was given.
#
# usage: tests/check-cli.sh BUILD/cellgate VERSION
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 CELLGATE VERSION" >&2
	exit 2
fi
CG=$1
VERSION=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cellgate-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
# A config that does not exist: a command that acted would have to read
# it, and fail (2 for the client, 1 for run and detach), naming it.
NOCFG=$TMP/no-such-config.json
pass=0
fail=0

ok() { pass=$((pass + 1)); }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	printf '#   exit %s\n#   stdout: %s\n#   stderr: %s\n' "$RC" "$OUT" "$ERR"
}
# run ARGS...: sets OUT, ERR and RC.
run() {
	OUT=$("$CG" "$@" 2>"$TMP/stderr")
	RC=$?
	ERR=$(cat "$TMP/stderr")
}
# expect RC ERE DESCRIPTION ARGS...: exit RC, and ERE matches stdout+stderr.
expect() {
	want=$1 re=$2 what=$3
	shift 3
	run "$@"
	if [ "$RC" = "$want" ] && printf '%s\n%s\n' "$OUT" "$ERR" | grep -Eq -- "$re"; then
		ok
	else
		not_ok "$what"
	fi
}
# help_ok CMD ARGS...: the usage of CMD on stdout, exit 0, nothing on
# stderr (no config was read, no request sent, nothing started).
help_ok() {
	cmd=$1
	shift
	run "$@"
	if [ "$RC" = 0 ] && [ -z "$ERR" ] &&
		printf '%s\n' "$OUT" | grep -q "^Usage: cellgate $cmd\( \|$\)"; then
		ok
	else
		not_ok "$* prints the usage of '$cmd' and does nothing"
	fi
}

# Every command that `cellgate --help` lists: its words up to the first
# argument ("peer add", "cell invite list", "run").
run --help
[ "$RC" = 0 ] || not_ok "--help exits 0"
commands=$(printf '%s\n' "$OUT" | sed -n 's/^  \([a-z][a-z ]*[a-z]\)\( [^a-z].*\)\{0,1\}$/\1/p')
n=$(printf '%s\n' "$commands" | grep -c .)
if [ "$n" -lt 25 ]; then
	RC=- OUT=$commands ERR=
	not_ok "--help lists every command (found $n)"
fi
for c in $(printf '%s\n' "$commands" | tr ' ' '+'); do
	c=$(printf '%s' "$c" | tr '+' ' ')
	# shellcheck disable=SC2086 # c is the command's words
	{
		help_ok "$c" --config "$NOCFG" $c --help
		help_ok "$c" --config "$NOCFG" $c -h
		help_ok "$c" $c --config "$NOCFG" --help
		help_ok "$c" $c --json --help --config "$NOCFG"
	}
done
for g in peer service forward cell token; do
	run --config "$NOCFG" "$g" --help
	if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -q "^  cellgate $g "; then ok; else
		not_ok "$g --help lists the $g commands"
	fi
done

# Positive controls: without --help, run and detach act on the --config
# given after the command (they used the default before).
expect 1 "$NOCFG" "run --config FILE reads FILE" run --config "$NOCFG"
expect 1 "$NOCFG" "detach --config FILE reads FILE" detach --config "$NOCFG"
expect 1 "$NOCFG" "run -c FILE reads FILE" run -c "$NOCFG"
expect 1 "$NOCFG" "--config FILE run reads FILE" --config "$NOCFG" run
expect 2 "$NOCFG" "peer list --config FILE reads FILE" peer list --config "$NOCFG"
expect 2 "$NOCFG" "cell invite list --config FILE reads FILE" cell invite list --config "$NOCFG"

# What a command does not take: exit 2 and a usage line, nothing done.
expect 2 "^Usage: cellgate run \[--config FILE\]$" "run --bogus is refused" run --bogus --config "$NOCFG"
expect 2 "unknown option '--bogus'" "... naming the option" run --bogus
expect 2 "^Usage: cellgate detach " "detach with an argument is refused" detach wg0
expect 2 "needs a value" "run --config without FILE is refused" run --config
expect 2 "^Usage: cellgate version " "version with an argument is refused" version 2
expect 2 "unknown command 'peer --json'" "options go after the subcommand" peer --json list
expect 2 "unknown command 'frob'" "an unknown command" frob

# The version the build was given (make VERSION=...).
v=$(printf '%s' "$VERSION" | sed 's/[.+]/\\&/g')
expect 0 "^cellgate $v$" "--version" --version
expect 0 "^cellgate $v$" "-V" -V
expect 0 "^cellgate $v$" "version" version
expect 0 "^\{\"version\":\"$v\"\}$" "version --json" version --json
expect 0 "^\{\"version\":\"$v\"\}$" "--json version" --json version
expect 0 "^cellgate $v$" "version after --config" --config "$NOCFG" version

echo "cli checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
