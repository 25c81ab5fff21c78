#!/usr/bin/env bash
# The HTML diagnosis report in a real browser: renders `iisql diagnose --html` of the bundled
# sample in headless Chromium (Debian's package, installed when missing), to a PNG, a PDF and a
# DOM dump, and checks them (check_report.py). Usage: report.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

echo "== iisql diagnose --html (bundled sample)"
set +e
cargo run -q -p iisql-cli -- diagnose data/sample -q --html "$out/report.html" >"$out/report.txt"
rc=$?
set -e
# 1 means findings (the sample has them); anything else is a failure.
if [ "$rc" != 1 ]; then
  echo "iisql diagnose exited with $rc" >&2
  exit 1
fi

# Without the background-networking flags Chromium tries to reach Google, which this
# machine's closed network refuses.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --hide-scrollbars --user-data-dir="$out/profile")
url="file://$out/report.html"
echo "== chromium: screenshot, PDF, DOM"
chromium "${flags[@]}" --window-size=1280,2400 --screenshot="$out/report.png" "$url" 2>"$out/chromium.log"
chromium "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out/report.pdf" "$url" 2>>"$out/chromium.log"
chromium "${flags[@]}" --dump-dom "$url" >"$out/dom.html" 2>>"$out/chromium.log"
python3 "$here/check_report.py" "$out"
