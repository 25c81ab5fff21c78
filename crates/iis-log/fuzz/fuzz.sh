#!/usr/bin/env bash
# Runs the fuzz targets, seeded from ../shared/data/real-iis when it is beside the checkout:
#   fuzz.sh [SECONDS] [TARGET...]        each target for SECONDS of wall time (default 60)
#   fuzz.sh --cpu SECONDS [TARGET...]    each target until its process has used SECONDS of CPU
#                                        (for a loaded machine, or several fuzz.sh at once)
# Crashes land in fuzz/artifacts/<target>/ and must become regression tests; the script goes on
# to the next target after a crash and exits non-zero at the end if any target crashed. Needs
# cargo-fuzz (`cargo install cargo-fuzz`); runs on stable Rust through RUSTC_BOOTSTRAP.
set -uo pipefail
cd "$(dirname "$0")"
cpu=""
if [ "${1:-}" = "--cpu" ]; then
  cpu="${2:?--cpu needs SECONDS}"
  shift 2
  seconds=$((cpu * 100))
else
  seconds="${1:-60}"
  shift || true
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decoder directives range)
real="../../../../shared/data/real-iis"
RUSTC_BOOTSTRAP=1 cargo fuzz build --release "${targets[@]}" || exit 1
bin="target/$(rustc -vV | sed -n 's/^host: //p')/release"
failed=0
for target in "${targets[@]}"; do
  corpus="corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  if [ -d "$real" ] && [ -z "$(ls -A "$corpus")" ]; then
    { find "$real" -name '*.log' -size -64k | head -200 | while read -r f; do
      cp "$f" "$corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
    done; } || true
  fi
  echo "== $target (${cpu:+CPU }${cpu:-$seconds} s)"
  "$bin/$target" "$corpus" -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" \
    -max_len=65536 -print_final_stats=1 > "fuzz-$target.log" 2>&1 &
  pid=$!
  interrupted=0
  if [ -n "$cpu" ]; then
    # libFuzzer stops on SIGINT after printing its final stats (exit code 72).
    while kill -0 "$pid" 2> /dev/null; do
      used=$(ps -o cputimes= -p "$pid" | tr -d ' ')
      if [ -n "$used" ] && [ "$used" -ge "$cpu" ]; then
        interrupted=1
        kill -INT "$pid"
        break
      fi
      sleep 5
    done
  fi
  wait "$pid"
  code=$?
  if [ "$code" -ne 0 ] && ! { [ "$interrupted" = 1 ] && [ "$code" = 72 ]; }; then
    failed=1
    echo "!! $target crashed (exit $code): see fuzz/fuzz-$target.log and fuzz/artifacts/$target/"
  fi
  grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb|Done [0-9]+ runs" "fuzz-$target.log" || tail -5 "fuzz-$target.log"
done
exit $failed
