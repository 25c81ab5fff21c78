#!/usr/bin/env bash
# Runs the fuzz targets for SECONDS each (default 60), seeded from ../shared/data/real-iis when
# it is beside the checkout: `fuzz.sh [SECONDS] [TARGET...]`. Crashes land in
# fuzz/artifacts/<target>/ and must become regression tests; the script goes on to the next
# target after a crash and exits non-zero at the end if any target crashed. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); runs on stable Rust through RUSTC_BOOTSTRAP.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decoder directives range)
real="../../../../shared/data/real-iis"
failed=0
for target in "${targets[@]}"; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  if [ -d "$real" ] && [ -z "$(ls -A "$corpus")" ]; then
    { find "$real" -name '*.log' -size -64k | head -200 | while read -r f; do
      cp "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
    done; } || true
  fi
  echo "== $target ($seconds s)"
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz run --release "$target" "$corpus" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 > "fuzz-$target.log" 2>&1; then
    failed=1
    echo "!! $target crashed: see fuzz/fuzz-$target.log and fuzz/artifacts/$target/"
  fi
  grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb|Done [0-9]+ runs" "fuzz-$target.log" || tail -5 "fuzz-$target.log"
done
exit $failed
