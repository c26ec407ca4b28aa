# Kill-and-resume steps shared by the real-run lanes tests (sourced after tests/lib/common.sh, once the test has
# set kachi and base and defined `lanes`: its `kachi lanes` command with the test's arguments). The killed run
# lives in $base/cut, its journal text in $base/cut.txt, the resumed one's in $base/resumed.txt.

# lanes_kill_until EVENT WHAT CHECK...: kills a run right after EVENT (--test_exit_after_event: rank 0 exits), checks
# that its journal is incomplete and ends at that event, and runs CHECK with the journal text's path appended. The
# awaited event's index depends on timing, so while CHECK fails a new run is killed 3, 6, 9, ... events later (up
# to 7 times; a loaded box shifts it further). Sets exit_at to the event of the kill that passed; fails naming WHAT.
lanes_kill_until() {
  exit_at=$1
  local what=$2 attempt rc
  shift 2
  for attempt in 1 2 3 4 5 6 7 8; do
    rm -rf "$base/cut"
    lanes --dir "$base/cut" --test_exit_after_event "$exit_at" >"$base/cut.log" 2>&1
    rc=$?
    [ $rc -ne 0 ] || fail "the run with the exit hook exited 0"
    "$kachi" lanes --journal "$base/cut" >"$base/cut.txt" || fail "no journal after the kill"
    grep -q '^complete 0$' "$base/cut.txt" || fail "the killed run's journal says complete"
    [ "$(grep -cE '^event [0-9]+ at ' "$base/cut.txt")" -eq $((exit_at + 1)) ] \
      || fail "the killed run's journal does not end at event $exit_at"
    "$@" "$base/cut.txt" && return 0
    echo "killed after event $exit_at before $what (timing); killing $((3 * attempt)) events later"
    exit_at=$((exit_at + 3 * attempt))
  done
  fail "$what did not happen in the killed runs up to event $exit_at"
}

# lanes_resume_keeps_prefix: continues the killed run with --resume and checks that it resumed after event $exit_at,
# completed, and kept the killed session's events as they were.
lanes_resume_keeps_prefix() {
  local rc
  lanes --dir "$base/cut" --resume >"$base/resume.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || { cat "$base/resume.log"; fail "kachi lanes --resume exited $rc"; }
  grep -q "resumed after event $exit_at " "$base/resume.log" || fail "the resume did not continue after event $exit_at"
  "$kachi" lanes --journal "$base/cut" >"$base/resumed.txt" || fail "kachi lanes --journal failed (resumed)"
  grep -q '^complete 1$' "$base/resumed.txt" || fail "the resumed journal is not complete"
  diff <(grep -E "^event ([0-9]+) " "$base/cut.txt") \
       <(awk -v k="$exit_at" '$1 == "event" && $2 <= k' "$base/resumed.txt") >/dev/null \
    || fail "the resume rewrote the first session's events"
}
