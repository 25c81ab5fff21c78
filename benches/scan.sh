#!/usr/bin/env bash
# Times iisql's scan over a generated corpus (release build). A tool, not a test.
#   benches/scan.sh [SIZE]      SIZE defaults to 1GiB; the corpus is kept in benches/corpus/
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1GiB}"
corpus="benches/corpus/$size"
cargo build --release -q -p iisql-cli
bin=target/release/iisql
if [ ! -d "$corpus" ]; then
  "$bin" generate --out "$corpus" --size "$size" --days 12 --servers 2 --seed 42 --scenarios sample --no-backend
fi
bytes=$(du -sb "$corpus" | cut -f1)
echo "corpus: $corpus, $bytes bytes, $(find "$corpus" -name '*.log' | wc -l) files"
run() {
  local label="$1"; shift
  local times=()
  for _ in 1 2 3 4 5; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  local rss
  rss=$( { /usr/bin/time -f '%M' "$@" > /dev/null; } 2>&1 | tail -1 )
  printf '%-28s median %6.3f s  %8.0f MB/s  peak RSS %6d MB\n' "$label" "$median" \
    "$(echo "$bytes / $median / 1000000" | bc -l)" "$((rss / 1024))"
}
run "wc -l" wc -l $(find "$corpus" -name '*.log')
run "iisql count(*)" "$bin" -q "$corpus" -c "SELECT count(*) FROM logs"
run "iisql status breakdown" "$bin" -q "$corpus" -c "SELECT sc_status, sc_substatus, count(*) FROM logs WHERE lower(cs_uri_stem) LIKE '/microsoft-server-activesync%' GROUP BY 1, 2 ORDER BY 3 DESC"
