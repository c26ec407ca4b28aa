#!/usr/bin/env bash
# `kachi bench scaling` on 2 emulated hosts x 2 ranks (bench/scaling/cluster_scaling.sh, network namespaces from
# scripts/cluster.sh under the name ks, subnet 10.213.0; torn down on exit): the 4-rank points span 2 hosts, the
# link across hosts is fitted from its own all-reduce sweep, the 4-rank calibration probe (compute and link) spans
# both hosts, the held-out error is printed, and the page is written.
# Exits 77 (skipped) with the reason when namespaces are refused. Usage: KACHI SOURCE_DIR
set -u
kachi=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
KACHI_BUILD_DIR=$(dirname "$kachi") bash "$source_dir/bench/scaling/cluster_scaling.sh" "$work/out"
rc=$?
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || { echo "FAIL: the scaling benchmark on 2 emulated hosts exited $rc"; exit 1; }
out=$work/out/scaling.txt
grep -q "^# 4 ranks on 2 host(s), 2 per host" "$out" || { echo "FAIL: the job does not span 2 hosts of 2 ranks"; exit 1; }
grep -Eq "^weak +dp +4 +4 +1 +2 " "$out" || { echo "FAIL: no weak dp 4 row on 2 hosts"; exit 1; }
grep -q "^# alpha-beta across hosts: alpha" "$out" || { echo "FAIL: no link fitted across hosts"; exit 1; }
grep -q "^# calibration 4 rank(s): alone at once.*all-reduce link on these ranks: alpha" "$out" ||
  { echo "FAIL: no calibration probe of the 4 ranks across the 2 hosts"; exit 1; }
grep -q "^# held-out prediction error (points with more than 2 ranks): median" "$out" ||
  { echo "FAIL: no held-out prediction error"; exit 1; }
grep -c "<svg" "$work/out/scaling.html" | grep -qx 3 || { echo "FAIL: the page lacks its 3 charts"; exit 1; }
python3 "$source_dir/tests/bench/scaling_trace_check.py" "$work/out/trace.json" 4 || exit 1
echo "kachi bench scaling runs across 2 emulated hosts"
