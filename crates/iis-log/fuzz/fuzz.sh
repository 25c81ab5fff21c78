#!/usr/bin/env bash
# Runs the fuzz targets for SECONDS each (default 60), seeded from ../shared/data/real-iis when
# it is beside the checkout. Crashes land in fuzz/artifacts/<target>/ and must become
# regression tests. Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable Rust through
# RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
real="../../../../shared/data/real-iis"
for target in decoder directives range; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  if [ -d "$real" ] && [ -z "$(ls -A "$corpus")" ]; then
    { find "$real" -name '*.log' -size -64k | head -200 | while read -r f; do
      cp "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
    done; } || true
  fi
  RUSTC_BOOTSTRAP=1 cargo fuzz run --release "$target" "$corpus" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 2>&1 | tail -20
done
