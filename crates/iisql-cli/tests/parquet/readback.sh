#!/usr/bin/env bash
# `iisql convert` read back by an independent reader: DuckDB, installed here into a local virtual
# environment. Converts the bundled sample in checkpointed steps while one log grows, once in
# full, and checks with DuckDB that both hold every row of the logs, value for value, with the
# types intact. Usage: readback.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

echo "== DuckDB in a virtual environment"
python3 -m venv "$out/venv"
"$out/venv/bin/pip" install -q --disable-pip-version-check "duckdb==1.4.*" >"$out/pip.log" 2>&1 \
  || { cat "$out/pip.log" >&2; exit 1; }

cargo build -q -p iisql-cli
iisql="$PWD/target/debug/iisql"

echo "== convert in steps with --checkpoint while a log grows, and once in full"
mkdir -p "$out/in"
cp -r data/sample/CAS01 data/sample/CAS02 "$out/in/"
grow="$out/in/CAS01/W3SVC1/u_ex251104.log"
full_copy="$out/u_ex251104.log.full"
mv "$grow" "$full_copy"
head -c 150000 "$full_copy" >"$grow"
"$iisql" convert "$out/in" --to "$out/inc" --checkpoint "$out/cp.json" -q
head -c 350000 "$full_copy" >"$grow"
"$iisql" convert "$out/in" --to "$out/inc" --checkpoint "$out/cp.json" -q
cp "$full_copy" "$grow"
"$iisql" convert "$out/in" --to "$out/inc" --checkpoint "$out/cp.json" -q
"$iisql" convert "$out/in" --to "$out/full" --partition-by date,s_sitename -q

echo "== the logs as iisql reads them"
cols="log_filename, log_row, CAST(timestamp AS BIGINT) AS ts_ms, cs_method, cs_uri_stem, cs_uri_query, sc_status, sc_substatus, sc_win32_status, time_taken, cs_user_agent"
"$iisql" "$out/in" -q --format csv -o "$out/logs.csv" \
  -c "SELECT $cols FROM logs ORDER BY log_filename, log_row"

"$out/venv/bin/python" - "$out" <<'PY'
import csv, sys
import duckdb

out = sys.argv[1]
def rows(sql):
    return [tuple("" if v is None else str(v) for v in r) for r in duckdb.sql(sql).fetchall()]
with open(f"{out}/logs.csv", newline="") as f:
    r = csv.reader(f)
    next(r)
    want = [tuple(x) for x in r]
cols = ("log_filename, log_row, epoch_ms(timestamp) AS ts_ms, cs_method, cs_uri_stem, cs_uri_query, "
        "sc_status, sc_substatus, sc_win32_status, time_taken, cs_user_agent")
failed = False
for name in ("inc", "full"):
    src = f"read_parquet('{out}/{name}/**/*.parquet', hive_partitioning = true)"
    got = rows(f"SELECT {cols} FROM {src} ORDER BY log_filename, log_row")
    types = dict(rows(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {src})"))
    ok = got == want
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(got)} rows read back by DuckDB, {len(want)} in the logs, value for value")
    failed |= not ok
    for col, t in (("timestamp", "TIMESTAMP WITH TIME ZONE"), ("sc_status", "INTEGER"),
                   ("time_taken", "BIGINT"), ("date", "DATE")):
        good = types.get(col) == t
        print(f"{'ok  ' if good else 'FAIL'} {name}: {col} is {types.get(col)}")
        failed |= not good
sys.exit(1 if failed else 0)
PY
echo "parquet read-back checks passed; files in $out"
