#!/usr/bin/env bash
# The `dist` profile against `release`: the binary's size (release stripped for the
# comparison) and the speed of a count scan and of `diagnose` over the 1 GiB corpus, both
# binaries run interleaved, median of RUNS (default 3). A tool, not a test.
#   benches/dist.sh [RUNS]      builds both profiles first (dist takes long on 2 cores);
#                               SKIP_BUILD=1 measures the binaries as they are
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
corpus="benches/corpus/1GiB"
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -q -p iisql-cli
  cargo build --profile dist -q -p iisql-cli
fi
release=target/release/iisql
dist=target/dist/iisql
if [ ! -d "$corpus" ]; then
  "$release" generate --out "$corpus" --size 1GiB --days 12 --servers 2 --seed 42 --scenarios sample --no-backend
fi
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$release"
mb() { echo "scale=1; $(stat -c %s "$1") / 1000000" | bc; }
echo "size: release $(mb "$release") MB, release stripped $(mb "$stripped") MB, dist $(mb "$dist") MB"
# One run: wall seconds and peak RSS (MB) of "$@"; diagnose exits 1 when it finds something.
once() {
  local t0 t1 f
  f=$(mktemp)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$f" "$@" > /dev/null 2>&1 || true
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(( $(tail -1 "$f") / 1024 ))"
  rm -f "$f"
}
declare -A times rsss
for _ in $(seq "$runs"); do
  for bin in release dist; do
    exe=${!bin}
    read -r t r < <(once "$exe" -q "$corpus" -c "SELECT count(*) FROM logs")
    times[$bin-count]+="$t "; rsss[$bin-count]=$r
    read -r t r < <(once "$exe" diagnose -q "$corpus")
    times[$bin-diagnose]+="$t "; rsss[$bin-diagnose]=$r
  done
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for job in count diagnose; do
  r=$(median "${times[release-$job]}"); d=$(median "${times[dist-$job]}")
  printf '%-9s release %7.3f s %5d MB   dist %7.3f s %5d MB   dist/release %.2f\n' "$job" \
    "$r" "${rsss[release-$job]}" "$d" "${rsss[dist-$job]}" "$(echo "$d / $r" | bc -l)"
done
