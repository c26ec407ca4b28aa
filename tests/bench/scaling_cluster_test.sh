#!/usr/bin/env bash
# `kachi bench scaling` on 2 emulated hosts x 2 ranks (bench/scaling/cluster_scaling.sh, network namespaces from
# scripts/cluster.sh under the name ks, subnet 10.213.0; torn down on exit): the 4-rank points span 2 hosts, the
# link across hosts is fitted from its own all-reduce sweep, the 4-rank calibration probe (compute and link) spans
# both hosts, the held-out error is printed, and the page is written.
# Exits 77 (skipped) with the reason when namespaces are refused. Usage: KACHI SOURCE_DIR
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$1
source_dir=$2
kachi_temp_base kachi_scaling_cluster
KACHI_BUILD_DIR=$(dirname "$kachi") bash "$source_dir/bench/scaling/cluster_scaling.sh" "$base/out"
rc=$?
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || fail "the scaling benchmark on 2 emulated hosts exited $rc"
out=$base/out/scaling.txt
grep -q "^# 4 ranks on 2 host(s), 2 per host" "$out" || fail "the job does not span 2 hosts of 2 ranks"
grep -Eq "^weak +dp +4 +4 +1 +2 " "$out" || fail "no weak dp 4 row on 2 hosts"
grep -q "^# alpha-beta across hosts: alpha" "$out" || fail "no link fitted across hosts"
grep -q "^# calibration 4 rank(s): alone at once.*all-reduce link on these ranks: alpha" "$out" ||
  fail "no calibration probe of the 4 ranks across the 2 hosts"
grep -q "^# held-out prediction error (points with more than 2 ranks): median" "$out" ||
  fail "no held-out prediction error"
grep -c "<svg" "$base/out/scaling.html" | grep -qx 3 || fail "the page lacks its 3 charts"
python3 "$source_dir/tests/bench/scaling_trace_check.py" "$base/out/trace.json" 4 || exit 1
echo "kachi bench scaling runs across 2 emulated hosts"
