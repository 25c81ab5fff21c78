#!/usr/bin/env bash
# Object storage round trips against servers started here on loopback: an S3-compatible server
# (moto, installed into a local virtual environment) and a plain HTTP server. Builds iisql with
# the `cloud` feature, reads the bundled sample from s3:// and http://, converts it to Parquet
# at s3://, and checks the answers against the same logs read from disk. Usage: stores.sh [OUT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

echo "== moto (an S3-compatible server) in a virtual environment"
python3 -m venv "$out/venv"
"$out/venv/bin/pip" install -q --disable-pip-version-check "moto[server]==5.*" >"$out/pip.log" 2>&1 \
  || { cat "$out/pip.log" >&2; exit 1; }

echo "== iisql with --features cloud"
cargo build -q -p iisql-cli --features cloud
iisql="$PWD/target/debug/iisql"

port() { "$out/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_port="$(port)"
http_port="$(port)"
"$out/venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$out/moto.log" 2>&1 &
moto_pid=$!
(cd data/sample && exec python3 -m http.server "$http_port" --bind 127.0.0.1) >"$out/http.log" 2>&1 &
http_pid=$!
trap 'kill $moto_pid $http_pid 2>/dev/null || true' EXIT

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true
for _ in $(seq 50); do
  if "$out/venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$AWS_ENDPOINT_URL')" 2>/dev/null; then break; fi
  sleep 0.2
done

echo "== the sample uploaded to s3://iis/logs/"
"$out/venv/bin/python" - <<'PY'
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="iis")
for root, _, files in os.walk("data/sample"):
    for f in files:
        if f.endswith(".log"):
            path = os.path.join(root, f)
            s3.upload_file(path, "iis", "logs/" + os.path.relpath(path, "data/sample"))
PY

q="SELECT count(*) AS n, sum(sc_status) AS s, count(DISTINCT cs_uri_stem) AS u, min(timestamp) AS t0, max(timestamp) AS t1 FROM logs"
fail=0
check() { # name, got, want
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got $2, want $3"; fail=1; fi
}
local_all="$("$iisql" data/sample -q --format csv -c "$q" | tail -1)"
s3_all="$("$iisql" s3://iis/logs/ -q --format csv -c "$q" | tail -1)"
check "s3:// read like the local folder ($local_all)" "$s3_all" "$local_all"

one="CAS01/W3SVC1/u_ex251103.log"
local_one="$("$iisql" "data/sample/$one" -q --format csv -c "$q" | tail -1)"
http_one="$("$iisql" "http://127.0.0.1:$http_port/$one" -q --format csv -c "$q" | tail -1)"
check "http:// read like the local file" "$http_one" "$local_one"

echo "== convert s3://iis/logs/ -> s3://iis/parquet/, read back"
"$iisql" convert s3://iis/logs/ --to s3://iis/parquet/ -q
"$out/venv/bin/python" - "$out/back" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="iis", Prefix="parquet/").get("Contents", [])]
assert keys, "no Parquet objects written"
for k in keys:
    dest = os.path.join(sys.argv[1], k)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    s3.download_file("iis", k, dest)
print(f"{len(keys)} Parquet objects")
PY
back="$("$iisql" -q --format csv -c "CREATE EXTERNAL TABLE logs STORED AS PARQUET LOCATION '$out/back/parquet/'" -c "$q" | tail -1)"
check "Parquet written to s3:// holds the same rows and values" "$back" "$local_all"
echo "== --checkpoint over s3://: a log uploaded again with more lines is read on, not again"
upload() { # local file, key
  "$out/venv/bin/python" -c "import os, boto3; boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL']).upload_file('$1', 'iis', '$2')"
}
day="data/sample/CAS02/W3SVC1/u_ex251103.log"
head -c 200000 "$day" >"$out/part.log"
upload "$out/part.log" grow/u_ex251103.log
count="SELECT count(*) AS n FROM logs"
n1="$("$iisql" s3://iis/grow/ -q --format csv --checkpoint "$out/s3.checkpoint" -c "$count" | tail -1)"
upload "$day" grow/u_ex251103.log
n2="$("$iisql" s3://iis/grow/ -q --format csv --checkpoint "$out/s3.checkpoint" -c "$count" | tail -1)"
n3="$("$iisql" s3://iis/grow/ -q --format csv --checkpoint "$out/s3.checkpoint" -c "$count" | tail -1)"
whole="$("$iisql" "$day" -q --format csv -c "$count" | tail -1)"
check "checkpointed s3:// runs read each row once ($n1 + $n2 + $n3)" "$((n1 + n2 + n3))" "$whole"
check "the last run found nothing new" "$n3" "0"
echo "== convert --checkpoint into s3:// under kill -9 while a log grows: every row exactly once"
grow="data/sample/CAS01/W3SVC1/u_ex251103.log"
size="$(stat -c %s "$grow")"
killin=(convert s3://iis/killin/ --to s3://iis/killout/ --partition-by none
  --checkpoint "$out/kill.checkpoint" -q)
kills=0
ms=1000 # how long the last whole run took, in milliseconds
for step in 1 2 3 4 5 6; do
  head -c $((size * step / 6)) "$grow" >"$out/kill.log"
  upload "$out/kill.log" killin/u_ex251103.log
  for k in 0 1 2 3; do
    "$iisql" "${killin[@]}" 2>/dev/null &
    pid=$! # iisql itself, not a subshell: the kill must reach the process that writes
    # Most kills near the end of a run (the output complete, the checkpoint not yet saved),
    # one at any moment.
    from=$((k == 0 ? 0 : ms / 2))
    sleep "$(awk -v f="$from" -v ms="$ms" -v r="$RANDOM" 'BEGIN { printf "%.3f", (f + ms * r / 32768) / 1000 }')"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
  done
  t0="$(date +%s%N)"
  "$iisql" "${killin[@]}"
  ms=$((($(date +%s%N) - t0) / 1000000))
done
"$out/venv/bin/python" - "$out/killback" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
for k in [o["Key"] for o in s3.list_objects_v2(Bucket="iis", Prefix="killout/").get("Contents", [])]:
    dest = os.path.join(sys.argv[1], k)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    s3.download_file("iis", k, dest)
PY
once="SELECT count(*) AS n, count(DISTINCT log_row) AS d FROM logs"
got="$("$iisql" -q --format csv -c "CREATE EXTERNAL TABLE logs STORED AS PARQUET LOCATION '$out/killback/killout/'" -c "$once" | tail -1)"
whole="$("$iisql" "$grow" -q --format csv -c "SELECT count(*) AS n FROM logs" | tail -1)"
check "$kills runs killed, then finished: rows and distinct lines in s3://iis/killout/" "$got" "$whole,$whole"
[ "$fail" == 0 ] || exit 1
echo "object store checks passed; files in $out"
