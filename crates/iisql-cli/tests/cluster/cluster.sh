#!/usr/bin/env bash
# iisql on a real (multi-process) DataFusion Ballista cluster on loopback: builds iisql with the
# `cluster` feature and the iisql-scheduler and iisql-executor binaries, starts one scheduler and
# two executors, then checks that `iisql --cluster` answers SQL, a saved query, Log Parser SQL
# and `diagnose` over the bundled sample exactly as local runs do, and times them.
# Usage: cluster.sh [OUT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

echo "== iisql --features cluster, iisql-scheduler, iisql-executor"
cargo build -q -p iisql-cli --features cluster -p iisql-distributed --features iisql-distributed/ballista --bins
bin="$PWD/target/debug"
iisql="$bin/iisql"
sample="$PWD/data/sample"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sched_port="$(port)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$bin/iisql-scheduler" --bind-host 127.0.0.1 --bind-port "$sched_port" >"$out/scheduler.log" 2>&1 &
pids+=($!)
for i in 1 2; do
  "$bin/iisql-executor" --bind-host 127.0.0.1 --external-host 127.0.0.1 \
    --bind-port "$(port)" --bind-grpc-port "$(port)" --bind-health-port "$(port)" \
    --scheduler-host 127.0.0.1 --scheduler-port "$sched_port" \
    --vcores 2 --work-dir "$out/executor$i" >"$out/executor$i.log" 2>&1 &
  pids+=($!)
  mkdir -p "$out/executor$i"
done
cluster="df://127.0.0.1:$sched_port"

# Wait until both executors have registered (the scheduler logs each one).
for _ in $(seq 150); do
  n="$(grep -c -i "registered executor\|register executor\|executor registered" "$out/scheduler.log" || true)"
  [ "$n" -ge 2 ] && break
  sleep 0.2
done

fail=0
# What only the client of a local run knows: the files it read and the lines it rejected
# (a cluster's executors count those in their own logs, and the report says so).
normalize() { # name, file
  case "$1" in
    diagnose) python3 - "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d.pop("files"); d.pop("rejected_lines")
print(json.dumps(d, indent=1, sort_keys=True))
PY
    ;;
    diagnose-text) sed -e '1s/ from [0-9,]* files;/ read on the cluster;/' "$2" ;;
    *) cat "$2" ;;
  esac
}
check() { # name, got-file, want-file
  local name="${1%% *}"
  normalize "$name" "$2" >"$2.norm"
  normalize "$name" "$3" >"$3.norm"
  if [ "$name" == diagnose ] && ! grep -q '"files": null' "$2"; then
    echo "FAIL $1: the cluster's report claims a file count"; fail=1; return
  fi
  if cmp -s "$2.norm" "$3.norm"; then echo "ok   $1"; else echo "FAIL $1"; diff "$3.norm" "$2.norm" | head -20; fail=1; fi
}
# Runs iisql locally and on the cluster; the word CLUSTER among the arguments becomes
# `--cluster URL` on the cluster and nothing locally (a subcommand takes it after its name).
run_both() { # name, arguments...
  local name="$1"; shift
  local local_args=() cluster_args=() a
  for a in "$@"; do
    if [ "$a" == CLUSTER ]; then cluster_args+=(--cluster "$cluster"); else local_args+=("$a"); cluster_args+=("$a"); fi
  done
  local code_local=0 code_cluster=0 t0 t1
  "$iisql" "${local_args[@]}" >"$out/$name.local" 2>"$out/$name.local.err" || code_local=$?
  t0="$(date +%s.%N)"
  "$iisql" "${cluster_args[@]}" >"$out/$name.cluster" 2>"$out/$name.cluster.err" || code_cluster=$?
  t1="$(date +%s.%N)"
  if [ ! -s "$out/$name.local" ]; then echo "FAIL $name: no local output"; cat "$out/$name.local.err"; fail=1; return; fi
  if [ "$code_local" != "$code_cluster" ]; then
    echo "FAIL $name: exit $code_cluster on the cluster, $code_local locally"; cat "$out/$name.cluster.err"; fail=1; return
  fi
  check "$name ($(python3 -c "print(f'{$t1 - $t0:.2f}')") s on the cluster, exit $code_cluster)" "$out/$name.cluster" "$out/$name.local"
}

q1="SELECT sc_status, sc_substatus, count(*) AS n, sum(sc_bytes) AS bytes FROM logs GROUP BY 1, 2 ORDER BY 1, 2"
q2="SELECT user, device_type, count(*) AS n FROM activesync WHERE sc_status = 403 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
q3="SELECT iis_status_text(sc_status, sc_substatus) AS what, count(*) AS n FROM logs GROUP BY 1 ORDER BY 2 DESC, 1"
run_both sql-status CLUSTER "$sample" -q --format csv -c "$q1"
run_both sql-activesync CLUSTER "$sample" -q --format csv -c "$q2"
run_both sql-functions CLUSTER "$sample" -q --format csv -c "$q3"
run_both url-table CLUSTER -q --format csv -c "SELECT count(*) AS n, max(log_row) AS last FROM '$sample/CAS01/W3SVC1/u_ex251103.log'"
run_both logparser CLUSTER "$sample" -q --format csv --dialect logparser \
  -c "SELECT TOP 5 cs-uri-stem, COUNT(*) AS Hits FROM logs GROUP BY cs-uri-stem ORDER BY Hits DESC, cs-uri-stem"
run_both saved-query run cba_cert_missing CLUSTER "$sample" -q --format csv
run_both diagnose diagnose CLUSTER "$sample" -q --format json
run_both diagnose-text diagnose CLUSTER "$sample" -q

# A checkpointed run on the cluster reads only the lines added since the last one.
grow="$out/grow"
mkdir -p "$grow"
head -n 500 "$sample/CAS01/W3SVC1/u_ex251103.log" >"$grow/u_ex251103.log"
count="SELECT count(*) AS n FROM logs"
first="$("$iisql" --cluster "$cluster" "$grow" -q --format csv --checkpoint "$out/grow.checkpoint" -c "$count" | tail -1)"
tail -n +501 "$sample/CAS01/W3SVC1/u_ex251103.log" >>"$grow/u_ex251103.log"
second="$("$iisql" --cluster "$cluster" "$grow" -q --format csv --checkpoint "$out/grow.checkpoint" -c "$count" | tail -1)"
whole="$("$iisql" "$sample/CAS01/W3SVC1/u_ex251103.log" -q --format csv -c "$count" | tail -1)"
if [ "$((first + second))" == "$whole" ] && [ "$second" -gt 0 ]; then
  echo "ok   checkpoint on the cluster ($first + $second rows = $whole)"
else
  echo "FAIL checkpoint on the cluster: $first + $second rows, the file has $whole"; fail=1
fi

# Conversion on the cluster: the executors write the Parquet (here on the one disk they share);
# it holds the rows and values of a local conversion.
summary="SELECT count(*) AS n, sum(sc_status) AS s, sum(sc_bytes) AS b, count(DISTINCT cs_uri_stem) AS u, min(timestamp) AS t0, max(timestamp) AS t1, max(\"date\") AS d FROM"
t0="$(date +%s.%N)"
"$iisql" convert "$sample" --to "$out/pq-cluster" --cluster "$cluster" -q
t1="$(date +%s.%N)"
"$iisql" convert "$sample" --to "$out/pq-local" -q
"$iisql" -q --format csv -c "$summary '$out/pq-cluster/'" >"$out/pq-cluster.csv"
"$iisql" -q --format csv -c "$summary '$out/pq-local/'" >"$out/pq-local.csv"
"$iisql" "$sample" -q --format csv -c "$summary logs" >"$out/pq-logs.csv"
if cmp -s "$out/pq-cluster.csv" "$out/pq-local.csv" && cmp -s "$out/pq-cluster.csv" "$out/pq-logs.csv" \
   && [ -n "$(find "$out/pq-cluster" -path '*date=2025-11-03*' -name '*.parquet')" ]; then
  echo "ok   convert on the cluster ($(python3 -c "print(f'{$t1 - $t0:.2f}')") s): $(tail -1 "$out/pq-cluster.csv")"
else
  echo "FAIL convert on the cluster"; cat "$out/pq-cluster.csv" "$out/pq-local.csv"; fail=1
fi

# A line the executors cannot parse is counted and written to an executor's log, with its file
# and line number.
bad="$out/bad"
mkdir -p "$bad"
{ head -n 40 "$sample/CAS01/W3SVC1/u_ex251103.log"; echo "2025-11-03 10:00:00 only three fields"; tail -n 5 "$sample/CAS01/W3SVC1/u_ex251103.log"; } >"$bad/u_ex251103.log"
bad_line="$(grep -n "only three fields" "$bad/u_ex251103.log" | cut -d: -f1)"
rows="$("$iisql" --cluster "$cluster" "$bad" -q --format csv -c "$count" | tail -1)"
local_rows="$("$iisql" "$bad" -q --format csv -c "$count" | tail -1)"
sleep 0.5
if [ "$rows" == "$local_rows" ] && grep -q "rejected: $bad/u_ex251103.log:$bad_line:" "$out"/executor*.log; then
  echo "ok   a rejected line on the cluster is in an executor's log ($bad/u_ex251103.log:$bad_line)"
else
  echo "FAIL rejected line on the cluster: $rows rows (locally $local_rows), executor logs:"; { grep -h "rejected" "$out"/executor*.log || true; } | head -5; fail=1
fi
if "$iisql" --cluster "$cluster" "$bad" -q --strict -c "$count" >/dev/null 2>"$out/strict.err"; then
  echo "FAIL --strict on the cluster accepted a bad line"; fail=1
elif grep -q "u_ex251103.log:$bad_line" "$out/strict.err"; then
  echo "ok   --strict on the cluster fails naming the line"
else
  echo "FAIL --strict on the cluster: $(cat "$out/strict.err")"; fail=1
fi

if [ "$fail" != 0 ]; then
  echo "logs in $out" >&2
  tail -20 "$out/scheduler.log" "$out/executor1.log" >&2 || true
  exit 1
fi
echo "all cluster checks passed"
