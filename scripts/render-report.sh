#!/usr/bin/env bash
# Renders a run's report.html to a PNG with headless Chromium, to check it the way a person sees it.
#
#   scripts/render-report.sh staging/demo/runs/<run-id>/report.html [out.png] [width] [height]
#
# Needs the `chromium` package (Debian/Ubuntu: apt-get update && apt-get install -y chromium).
# The report is self-contained, so Chromium runs with networking effectively unused; as root it
# needs --no-sandbox. Default size 1200×2600 (the report's main column is 1100 px wide).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 <report.html> [out.png] [width] [height]" >&2
  exit 2
fi
report="$1"
[ -f "$report" ] || { echo "render-report: $report does not exist (run \`chartmogul-etl report\` first)" >&2; exit 2; }
out="${2:-${report%.html}.png}"
width="${3:-1200}"
height="${4:-2600}"
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [ -z "$browser" ]; then
  echo "render-report: Chromium not found; install it with: apt-get update && apt-get install -y chromium" >&2
  exit 2
fi
abs="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
profile="$(mktemp -d /tmp/render-report.XXXXXX)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size="$width,$height" --screenshot="$out" "file://$abs" >/dev/null 2>"$profile/err.log" || {
  cat "$profile/err.log" >&2; echo "render-report: Chromium failed" >&2; exit 1; }
[ -s "$out" ] || { cat "$profile/err.log" >&2; echo "render-report: no screenshot written" >&2; exit 1; }
echo "$out"
