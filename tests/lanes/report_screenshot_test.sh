#!/usr/bin/env bash
# The lanes report renders: `kachi lanes --simulate --lanes_report` writes the page, headless Chromium screenshots
# it, and the screenshot shows drawn curves (left) and a drawn card timeline (right); a blank page's screenshot
# must fail the same check. Installs chromium when missing (as root, with apt-get); exits 77 (skipped) when it
# cannot. Usage: report_screenshot_test.sh KACHI_BINARY SOURCE_DIR
set -u
kachi=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

find_chromium() { command -v chromium || command -v chromium-browser || true; }
browser=$(find_chromium)
if [[ -z $browser && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "chromium missing: installing it"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >"$work/apt.log" 2>&1 ||
    { apt-get update >>"$work/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >>"$work/apt.log" 2>&1; }
  browser=$(find_chromium)
fi
if [[ -z $browser ]]; then
  echo "SKIP: chromium is not installed and could not be installed (scripts/setup.sh installs it)"
  exit 77
fi

screenshot() {  # screenshot HTML PNG
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$2" --window-size=1200,900 \
    "file://$1" >"$work/chromium.log" 2>&1
  [[ -s $2 ]] || { echo "FAIL: chromium wrote no screenshot of $1:"; cat "$work/chromium.log"; exit 1; }
}

"$kachi" lanes --simulate "$source_dir/configs/lanes_lr_sweep.pbtxt" --lanes_report "$work/report.html" \
  >"$work/kachi.log" 2>&1 ||
  { echo "FAIL: kachi lanes --simulate --lanes_report failed:"; cat "$work/kachi.log"; exit 1; }
grep -q "^# report: $work/report.html" "$work/kachi.log" || { echo "FAIL: kachi did not name the report"; exit 1; }
"$kachi" lanes "$source_dir/configs/lanes_lr_sweep.pbtxt" --lanes_report "$work/real.html" >"$work/real.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--lanes_report goes with --simulate" "$work/real.log" ||
  { echo "FAIL: --lanes_report without --simulate exited $rc; expected 2 and why:"; cat "$work/real.log"; exit 1; }
svgs=$(grep -o "<svg" "$work/report.html" | wc -l)
[[ $svgs -eq 2 ]] || { echo "FAIL: expected 2 <svg> charts in the report, found $svgs"; exit 1; }

screenshot "$work/report.html" "$work/report.png"
python3 "$source_dir/tests/lanes/screenshot_check.py" "$work/report.png" ||
  { echo "FAIL: the report looks blank"; exit 1; }

echo '<!DOCTYPE html><html><body><h1>nothing drawn</h1></body></html>' >"$work/blank.html"
screenshot "$work/blank.html" "$work/blank.png"
if python3 "$source_dir/tests/lanes/screenshot_check.py" "$work/blank.png" >"$work/blank.log"; then
  echo "FAIL: the screenshot check passed a blank page:"; cat "$work/blank.log"; exit 1
fi
echo "the lanes report renders with curves and a card timeline"
