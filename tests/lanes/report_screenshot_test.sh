#!/usr/bin/env bash
# The lanes report renders: `kachi lanes --simulate --lanes_report` writes the page, headless Chromium screenshots
# it, and the screenshot shows drawn curves (left) and a drawn card timeline (right); a blank page's screenshot
# must fail the same check. Installs chromium when missing (as root, with apt-get); exits 77 (skipped) when it
# cannot. Usage: report_screenshot_test.sh KACHI_BINARY SOURCE_DIR
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
kachi=$1
source_dir=$2
kachi_temp_base kachi_report_screenshot

kachi_chromium
if [[ -z $browser ]]; then
  echo "SKIP: chromium is not installed and could not be installed (scripts/setup.sh installs it)"
  exit 77
fi

"$kachi" lanes --simulate "$source_dir/configs/lanes_lr_sweep.pbtxt" --lanes_report "$base/report.html" \
  >"$base/kachi.log" 2>&1 ||
  { echo "FAIL: kachi lanes --simulate --lanes_report failed:"; cat "$base/kachi.log"; exit 1; }
grep -q "^# report: $base/report.html" "$base/kachi.log" || { echo "FAIL: kachi did not name the report"; exit 1; }
"$kachi" lanes "$source_dir/configs/lanes_lr_sweep.pbtxt" --lanes_report "$base/real.html" >"$base/real.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--lanes_report goes with --simulate" "$base/real.log" ||
  { echo "FAIL: --lanes_report without --simulate exited $rc; expected 2 and why:"; cat "$base/real.log"; exit 1; }
svgs=$(grep -o "<svg" "$base/report.html" | wc -l)
[[ $svgs -eq 2 ]] || { echo "FAIL: expected 2 <svg> charts in the report, found $svgs"; exit 1; }

kachi_page_draws "$source_dir" "$base/report.html"
echo "the lanes report renders with curves and a card timeline"
