#!/usr/bin/env bash
# The scan benchmark (issue 4): builds iisql (release), installs the peers (DuckDB, Polars,
# pyarrow) into benches/.venv, generates the corpus, and prints the comparison table.
#   benches/bench.sh [SIZE] [RUNS]     SIZE defaults to 1GiB, RUNS to 5
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1GiB}"
runs="${2:-5}"
cargo build --release -q -p iisql-cli
if [ ! -x benches/.venv/bin/python ]; then
  python3 -m venv benches/.venv
  benches/.venv/bin/pip install -q duckdb polars pyarrow
fi
corpus="benches/corpus/$size"
if [ ! -d "$corpus" ]; then
  # ~24 daily files (12 days x 2 front ends), 1 in 5 widening #Fields mid-file, the sample's
  # failures injected so the 401/403 questions have answers.
  target/release/iisql generate --out "$corpus" --size "$size" --days 12 --servers 2 --seed 42 \
    --scenarios sample --no-backend
fi
benches/.venv/bin/python benches/bench.py "$corpus" --runs "$runs" --python benches/.venv/bin/python
