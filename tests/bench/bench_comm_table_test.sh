#!/bin/sh
# Runs the comm benchmark at 2 ranks for sizes 1 KiB, 4 KiB and 16 KiB (MPI backend, fp32 and int32) and checks the
# table's shape, not its timings: a header, one section per (collective, dtype) in order, each with the column line,
# one row per size with 10 fields (size as requested, count = size / 4, numeric times and bandwidths, a positive
# ratio, check ok) and a summary line. Usage: bench_comm_table_test.sh MPIRUN KACHI_BENCH_COMM
set -u
mpirun=$1
bench=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "$mpirun" -np 2 "$bench" --backend=mpi --min_bytes=1024 --max_bytes=16384 --step_factor=4 --warmup_iters=1 \
    --iters=2 --repeats=3 --dtypes=fp32,int32 >"$out" 2>&1; then
  echo "FAIL: the benchmark exited non-zero:"; cat "$out"; exit 1
fi
cat "$out"
awk '
  function fail(why) { print "FAIL: " why " (line " NR ": " $0 ")"; bad = 1; exit 1 }
  BEGIN { want_sizes = "1024 4096 16384"; nsections = 0 }
  /^# kachi bench comm: backend mpi, 2 ranks/ { header = 1; next }
  /^# [a-z_]+ (fp32|int32)  \(busbw/ { section = $2 " " $3; sections[++nsections] = section; rows = 0; next }
  /^#  *size\(B\)/ { if (NF != 11) fail("column line with " NF " fields"); columns++; next }
  /^# [a-z_]+ (fp32|int32): average kachi busbw/ {
    if (rows != 3) fail(section " has " rows " rows, expected 3"); summaries++; next }
  /^#/ { next }
  NF == 0 { next }
  {
    if (NF != 10) fail("row with " NF " fields, expected 10")
    split(want_sizes, sizes, " ")
    rows++
    if ($1 != sizes[rows]) fail("size " $1 ", expected " sizes[rows])
    if ($2 != $1 / 4) fail("count " $2 " for " $1 " bytes of a 4-byte type")
    for (f = 5; f <= 9; f++) if ($f !~ /^[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$/) fail("field " f " is not a number")
    if ($5 <= 0 || $8 <= 0 || $9 <= 0) fail("non-positive time or ratio")
    if ($10 != "ok") fail("check is " $10)
  }
  END {
    if (bad) exit 1
    if (!header) { print "FAIL: no header line"; exit 1 }
    expected = "all_reduce fp32|all_reduce int32|reduce_scatter fp32|reduce_scatter int32|all_gather fp32|all_gather int32|broadcast fp32|broadcast int32"
    got = ""
    for (i = 1; i <= nsections; i++) got = got (i > 1 ? "|" : "") sections[i]
    if (got != expected) { print "FAIL: sections " got ", expected " expected; exit 1 }
    if (columns != 8 || summaries != 8) { print "FAIL: " columns " column lines and " summaries " summaries, expected 8"; exit 1 }
    print "PASS: 8 sections of 3 rows"
  }' "$out"
