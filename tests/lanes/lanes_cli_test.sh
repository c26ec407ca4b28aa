#!/usr/bin/env bash
# `kachi lanes` end to end: the default simulation beside its baselines, an example file with every decision
# printed, --set edits, and the errors for a run without a lanes file or --simulate and for an unknown field.
# Usage: lanes_cli_test.sh KACHI_BINARY SOURCE_DIR
set -u
kachi=$1
source_dir=$2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_in() {  # expect_in WHAT TEXT PATTERN
  grep -qE -- "$3" <<<"$2" || fail "$1: expected /$3/ in output:"$'\n'"$2"
}

out=$("$kachi" lanes --simulate 2>&1); rc=$?
[ $rc -eq 0 ] || fail "default simulation exited $rc"
expect_in "default" "$out" "^kachi +[0-9]+:syn"
expect_in "default" "$out" "^equal-split "
expect_in "default" "$out" "^sh-no-widen "
expect_in "default" "$out" "^kachi: equal split / kachi GPU-hours = [0-9.]+ .*the same as equal split's"
echo "$out" | grep -E "^(kachi|sh-no|equal)"

out=$("$kachi" lanes --simulate "$source_dir/configs/lanes_lr_sweep.pbtxt" --set simulator.print_decisions=true 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "lr sweep simulation exited $rc"
for kind in start promote pause widen finish; do
  expect_in "lr sweep decisions" "$out" "^t=[0-9.]+s $kind +lane [0-9]+ \(lr="
done
expect_in "lr sweep header" "$out" "8 lanes, synthetic curves"

out=$("$kachi" --set simulator.synthetic_lanes=12 lanes --simulate --set pool.cards=4 2>&1); rc=$?
[ $rc -eq 0 ] || fail "--set before and after the subcommand exited $rc"
expect_in "--set" "$out" "12 synthetic lanes, synthetic curves \(seed 1\) on 4 cards"

out=$("$kachi" lanes 2>&1); rc=$?
[ $rc -eq 2 ] || fail "kachi lanes without a file or --simulate exited $rc; expected 2"
expect_in "no file" "$out" "a lanes file is needed"

out=$("$kachi" lanes --simulate --set pool.cardz=3 2>&1); rc=$?
[ $rc -eq 2 ] || fail "unknown field exited $rc; expected 2"
expect_in "unknown field" "$out" "cardz"

out=$("$kachi" --help 2>&1)
expect_in "help" "$out" "^  lanes +lanes competing for the card pool"

if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all kachi lanes CLI checks passed"
