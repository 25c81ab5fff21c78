#!/usr/bin/env python3
"""The scan benchmark of issue 4: five questions over a generated IIS corpus, answered by iisql
and by peers (DuckDB and Polars, each plain and honouring #Fields changes; `wc -l` as the floor).
Whole-process wall time (median of N runs, the tools taking turns), peak RSS from /usr/bin/time,
and every answer compared with iisql's (for Q5, each Parquet file read back). Run it through benches/bench.sh, which builds iisql and installs the peers."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

BASE15 = ["date", "time", "s_ip", "cs_method", "cs_uri_stem", "cs_uri_query", "s_port",
          "cs_username", "c_ip", "cs_user_agent", "cs_referer", "sc_status", "sc_substatus",
          "sc_win32_status", "time_taken"]

QUESTIONS = {
    "Q1": "count the request rows",
    "Q2": "ActiveSync rows by status, substatus",
    "Q3": "top 20 (User, DeviceId, DeviceType) of ActiveSync 401/403",
    "Q4": "hourly count of 403.7",
    "Q5": "convert everything to one zstd Parquet file",
}

IISQL_SQL = {
    "Q1": "SELECT count(*) AS n FROM logs",
    "Q2": "SELECT sc_status, sc_substatus, count(*) AS n FROM logs "
          "WHERE starts_with(lower(cs_uri_stem), '/microsoft-server-activesync') "
          "GROUP BY 1, 2 ORDER BY n DESC, 1, 2",
    "Q3": "SELECT regexp_match(cs_uri_query, 'User=([^&]*)')[1] AS u, "
          "regexp_match(cs_uri_query, 'DeviceId=([^&]*)')[1] AS d, "
          "regexp_match(cs_uri_query, 'DeviceType=([^&]*)')[1] AS t, count(*) AS n FROM logs "
          "WHERE starts_with(lower(cs_uri_stem), '/microsoft-server-activesync') "
          "AND sc_status IN (401, 403) GROUP BY 1, 2, 3 ORDER BY n DESC, u, d, t LIMIT 20",
    "Q4": "SELECT to_char(date_trunc('hour', timestamp), '%Y-%m-%d %H') AS h, count(*) AS n FROM logs "
          "WHERE sc_status = 403 AND sc_substatus = 7 GROUP BY 1 ORDER BY 1",
}

# Every column of the union of the corpus' layouts: what "convert everything" writes.
ALL_FIELDS = ["date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port",
              "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "cs-host", "sc-status",
              "sc-substatus", "sc-win32-status", "sc-bytes", "cs-bytes", "time-taken",
              "X-Forwarded-For"]
INTS = {"s_port": "INTEGER", "sc_status": "INTEGER", "sc_substatus": "INTEGER",
        "sc_win32_status": "BIGINT", "sc_bytes": "BIGINT", "cs_bytes": "BIGINT", "time_taken": "BIGINT"}


def snake(w3c):
    return w3c.replace("(", "_").replace(")", "").replace("-", "_").lower().strip("_")


HONOUR_COLUMNS = ",\n         ".join(
    f"f[list_position(names, '{w}')] AS {snake(w)}" for w in ALL_FIELDS)

# --- DuckDB ---------------------------------------------------------------------------------

DUCK_PLAIN_REL = """read_csv('{glob}', columns={columns}, delim=' ', header=false, comment='#',
    quote='', escape='', null_padding=true, strict_mode=false, auto_detect=false)"""

DUCK_HONOUR_REL = """(
  WITH files AS (SELECT filename, string_split(content, chr(10)) AS ls FROM read_text('{glob}')),
  raw AS (
    SELECT filename, rtrim(unnest(ls), chr(13)) AS line, generate_subscripts(ls, 1) AS n FROM files
  ),
  marked AS (
    SELECT *, sum(CASE WHEN line LIKE '#Fields:%' THEN 1 ELSE 0 END)
              OVER (PARTITION BY filename ORDER BY n) AS layout
    FROM raw
  ),
  layouts AS (
    SELECT filename, layout, string_split(trim(substr(line, 10)), ' ') AS names
    FROM marked WHERE line LIKE '#Fields:%'
  ),
  data AS (
    SELECT string_split(m.line, ' ') AS f, l.names
    FROM marked m JOIN layouts l USING (filename, layout)
    WHERE m.line NOT LIKE '#%' AND length(m.line) > 0
  )
  SELECT {honour_columns}
  FROM data
)"""

DUCK_Q = {
    "Q1": "SELECT count(*) FROM {rel}",
    "Q2": "SELECT sc_status, sc_substatus, count(*) AS n FROM {rel} "
          "WHERE starts_with(lower(cs_uri_stem), '/microsoft-server-activesync') "
          "GROUP BY 1, 2 ORDER BY n DESC, 1, 2",
    "Q3": "SELECT nullif(regexp_extract(cs_uri_query, 'User=([^&]*)', 1), '') AS u, "
          "nullif(regexp_extract(cs_uri_query, 'DeviceId=([^&]*)', 1), '') AS d, "
          "nullif(regexp_extract(cs_uri_query, 'DeviceType=([^&]*)', 1), '') AS t, count(*) AS n "
          "FROM {rel} WHERE starts_with(lower(cs_uri_stem), '/microsoft-server-activesync') "
          "AND sc_status IN ('401', '403') GROUP BY 1, 2, 3 ORDER BY n DESC, u, d, t LIMIT 20",
    "Q4": "SELECT date || ' ' || substr(time, 1, 2) AS h, count(*) AS n FROM {rel} "
          "WHERE sc_status = '403' AND sc_substatus = '7' GROUP BY 1 ORDER BY 1",
    "Q5": "COPY (SELECT CAST(date || ' ' || time AS TIMESTAMP) AS timestamp, {typed} FROM {rel}) "
          "TO '{out}' (FORMAT parquet, COMPRESSION zstd)",
}


def duck_script(mode, q, glob, out):
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in BASE15) + "}"
    rel = (DUCK_PLAIN_REL.format(glob=glob, columns=columns) if mode == "plain"
           else DUCK_HONOUR_REL.format(glob=glob, honour_columns=HONOUR_COLUMNS))
    cols = BASE15 if mode == "plain" else [snake(w) for w in ALL_FIELDS]
    typed = ", ".join(f"TRY_CAST(trim({c}) AS {INTS[c]}) AS {c}" if c in INTS else c
                      for c in cols if c not in ("date", "time"))
    sql = DUCK_Q[q].format(rel=rel, out=out, typed=typed)
    return textwrap.dedent(f"""
        import duckdb, json, sys
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        r = con.sql({sql!r})
        rows = [] if r is None else r.fetchall()
        print(json.dumps([[None if v is None else str(v) for v in row] for row in rows]))
    """)


# --- Polars ---------------------------------------------------------------------------------

POLARS_COMMON = textwrap.dedent("""
    import glob, json, polars as pl
    files = sorted(glob.glob({glob!r}, recursive=True))

    def plain():
        return pl.scan_csv(files, separator=' ', has_header=False, comment_prefix='#',
                           truncate_ragged_lines=True, schema={{c: pl.Utf8 for c in {names}}},
                           missing_columns='insert',
                           quote_char=None)

    def honour():
        frames = []
        for f in files:
            df = pl.read_csv(f, has_header=False, separator='\\x01', quote_char=None,
                             new_columns=['line'], infer_schema=False)
            df = df.with_columns(pl.col('line').str.strip_chars_end('\\r'))
            is_fields = pl.col('line').str.starts_with('#Fields:')
            df = df.with_columns(is_fields.cast(pl.Int32).cum_sum().alias('layout'))
            layouts = df.filter(is_fields)
            data = df.filter(~pl.col('line').str.starts_with('#') & (pl.col('line').str.len_chars() > 0))
            for lid, line in zip(layouts['layout'], layouts['line']):
                names = [n.replace('(', '_').replace(')', '').replace('-', '_').lower()
                         for n in line[len('#Fields:'):].split()]
                sub = data.filter(pl.col('layout') == lid)
                split = sub['line'].str.split_exact(' ', len(names) - 1).struct.rename_fields(names)
                part = split.struct.unnest()
                keep = {keep}
                part = part.select([pl.col(c) if c in part.columns else pl.lit(None, pl.Utf8).alias(c) for c in keep])
                frames.append(part)
        return pl.concat(frames).lazy()
""")

POLARS_Q = {
    "Q1": "r = rel.select(pl.len()).collect().rows()",
    "Q2": "r = (rel.filter(pl.col('cs_uri_stem').str.to_lowercase().str.starts_with('/microsoft-server-activesync'))"
          ".group_by(['sc_status', 'sc_substatus']).agg(pl.len().alias('n'))"
          ".sort(['n', 'sc_status', 'sc_substatus'], descending=[True, False, False]).collect().rows())",
    "Q3": "r = (rel.filter(pl.col('cs_uri_stem').str.to_lowercase().str.starts_with('/microsoft-server-activesync')"
          " & pl.col('sc_status').is_in(['401', '403']))"
          ".select(pl.col('cs_uri_query').str.extract(r'User=([^&]*)', 1).alias('u'),"
          " pl.col('cs_uri_query').str.extract(r'DeviceId=([^&]*)', 1).alias('d'),"
          " pl.col('cs_uri_query').str.extract(r'DeviceType=([^&]*)', 1).alias('t'))"
          ".group_by(['u', 'd', 't']).agg(pl.len().alias('n'))"
          ".sort(['n', 'u', 'd', 't'], descending=[True, False, False, False], nulls_last=True).head(20).collect().rows())",
    "Q4": "r = (rel.filter((pl.col('sc_status') == '403') & (pl.col('sc_substatus') == '7'))"
          ".select((pl.col('date') + ' ' + pl.col('time').str.slice(0, 2)).alias('h'))"
          ".group_by('h').agg(pl.len().alias('n')).sort('h').collect().rows())",
    "Q5": "(rel.select((pl.col('date') + ' ' + pl.col('time')).str.to_datetime('%Y-%m-%d %H:%M:%S').alias('timestamp'),"
          " *[pl.col(c).cast(pl.Int64 if t == 'BIGINT' else pl.Int32, strict=False) if c in {ints!r} else pl.col(c)"
          " for c, t in [(c, {ints!r}.get(c)) for c in rel.collect_schema().names() if c not in ('date', 'time')]])"
          ".sink_parquet({out!r}, compression='zstd')); r = []",
}


def polars_script(mode, q, glob, out):
    body = POLARS_COMMON.format(glob=glob, names=BASE15, keep=[snake(w) for w in ALL_FIELDS])
    body += f"rel = {'plain' if mode == 'plain' else 'honour'}()\n"
    body += POLARS_Q[q].format(out=out, ints=INTS) + "\n"
    body += "print(json.dumps([[None if v is None else str(v) for v in row] for row in r]))\n"
    return body


# --- running --------------------------------------------------------------------------------

def run_once(cmd):
    """Runs cmd once; returns (seconds, peak RSS MB, stdout), or (None, None, last stderr line)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd,
                           capture_output=True, text=True)
        t1 = time.perf_counter()
        if p.returncode != 0:
            return None, None, p.stderr.strip().splitlines()[-1:] or ["failed"]
        return t1 - t0, int(tf.read().strip().splitlines()[-1]) // 1024, p.stdout


def timed(cmds, runs, outputs=None):
    """Runs every command of `cmds` `runs` times, interleaved (round r runs each command once,
    in turn), so that a noisy moment of the machine falls on every tool alike. The file a
    command writes (`outputs[i]`) is removed before each of its runs, so every tool writes a
    new file (replacing one makes ext4 write it to disk at once, on the tool's time). Returns,
    per command, (median seconds, max peak RSS MB, last stdout), or (None, None, error) for
    one that failed."""
    times = [[] for _ in cmds]
    rss = [0 for _ in cmds]
    outs = ["" for _ in cmds]
    failed = [None for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            if failed[i] is not None:
                continue
            if outputs and outputs[i] and os.path.exists(outputs[i]):
                os.remove(outputs[i])
            t, r, out = run_once(cmd)
            if t is None:
                failed[i] = out
                continue
            times[i].append(t)
            rss[i] = max(rss[i], r)
            outs[i] = out
    return [(None, None, failed[i]) if failed[i] is not None
            else (statistics.median(times[i]), rss[i], outs[i]) for i in range(len(cmds))]


def settle(files):
    """Puts the corpus in the page cache as a reader finds logs written earlier: each file is
    written back, dropped from the page cache, then read once. Pages the generator has just
    written stay cached in small pages; pages read from disk come in large folios, which every
    tool then reads faster (iisql counting 1 GiB: 0.30 s before, 0.26 s after; DuckDB 0.75 s
    and 0.71 s)."""
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            while os.read(fd, 1 << 20):
                pass
        finally:
            os.close(fd)


def iisql_answer(stdout):
    lines = stdout.strip().splitlines()[1:]
    rows = []
    for line in lines:
        rows.append([None if v == "" else v for v in line.split(",")])
    return rows


def norm(rows):
    return [[None if v in (None, "", "None") else str(v) for v in r] for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--iisql", default="target/release/iisql")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--questions", default="Q1,Q2,Q3,Q4,Q5")
    ap.add_argument("--keep-cache", action="store_true",
                    help="time the corpus as the page cache holds it (by default it is settled first: see settle)")
    ap.add_argument("--modes", default="plain,honour",
                    help="peer modes to run (plain: DuckDB's and Polars' CSV readers; honour: with #Fields changes)")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    glob = corpus + "/**/*.log"
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs if f.endswith(".log"))
    size = sum(os.path.getsize(f) for f in files)
    tmp = tempfile.mkdtemp(prefix="iisql-bench-")
    if not args.keep_cache:
        settle(files)
    print(f"corpus {corpus}: {len(files)} files, {size / 2**30:.2f} GiB; {args.runs} runs each, interleaved, medians")
    results = []
    for q in args.questions.split(","):
        tools = []
        out = os.path.join(tmp, f"{q}-iisql.parquet")
        if q == "Q5":
            icmd = [args.iisql, "-q", corpus, "-c", "SELECT * FROM logs", "-o", out]
        else:
            icmd = [args.iisql, "-q", "--format", "csv", corpus, "-c", IISQL_SQL[q]]
        names, cmds, pouts = ["iisql"], [icmd], {}
        outputs = [out if q == "Q5" else None]
        if q == "Q1":
            names.append("wc -l (floor)")
            cmds.append(["wc", "-l"] + files)
            outputs.append(None)
        for peer, script in (("duckdb", duck_script), ("polars", polars_script)):
            for mode in args.modes.split(","):
                pout = os.path.join(tmp, f"{q}-{peer}-{mode}.parquet")
                names.append(f"{peer} {mode}")
                pouts[f"{peer} {mode}"] = pout
                cmds.append([args.python, "-c", script(mode, q, glob, pout)])
                outputs.append(pout if q == "Q5" else None)
        timings = timed(cmds, args.runs, outputs)
        t, rss, stdout = timings[0]
        if t is None:
            sys.exit(f"iisql failed on {q}: {' '.join(stdout)}")
        ref = norm(iisql_answer(stdout)) if q != "Q5" else None
        sums = expected_sums(args.iisql, corpus) if q == "Q5" else None
        tools.append(("iisql", t, rss, "reference"))
        for name, (t2, rss2, so) in zip(names[1:], timings[1:]):
            if t2 is None:
                tools.append((name, None, None, "error: " + " ".join(so)[:60]))
            elif name.startswith("wc"):
                tools.append((name, t2, rss2, "n/a"))
            elif q == "Q5":
                tools.append((name, t2, rss2,
                              verify_parquet(args.python, pouts[name], sums, exact_types=False)))
            else:
                try:
                    got = norm(json.loads(so))
                    verdict = "correct" if got == ref else "WRONG"
                except Exception as e:  # noqa: BLE001
                    verdict = f"unreadable ({e})"
                tools.append((name, t2, rss2, verdict))
        if q == "Q5":
            check = verify_parquet(args.python, out, sums)
            tools[0] = ("iisql", t, rss, check)
        peers = [x for x in tools[1:] if x[1] is not None and not x[0].startswith("wc")]
        fastest = min((x[1] for x in peers), default=None)
        right = [x[1] for x in peers if x[3] in ("correct", "same rows and sums")]
        fastest_right = min(right, default=None)
        print(f"\n{q}: {QUESTIONS[q]}")
        print(f"  {'tool':16} {'median s':>9} {'MB/s':>8} {'RSS MB':>7} {'vs fastest peer':>16}"
              f" {'vs fastest correct':>19}  answer")
        for name, tt, rr, verdict in tools:
            if tt is None:
                print(f"  {name:16} {'-':>9} {'-':>8} {'-':>7} {'-':>16} {'-':>19}  {verdict}")
                continue
            ratio = f"{tt / fastest:.2f}x" if fastest else "-"
            ratio_right = f"{tt / fastest_right:.2f}x" if fastest_right else "-"
            print(f"  {name:16} {tt:9.3f} {size / tt / 1e6:8.0f} {rr:7d} {ratio:>16} {ratio_right:>19}"
                  f"  {verdict}")
        results.append((q, tools))
    return results


def expected_sums(iisql, corpus):
    """iisql's own rows, sum(time_taken) and sum(sc_win32_status), as strings."""
    return subprocess.run([iisql, "-q", "--format", "csv", corpus, "-c",
                           "SELECT count(*), sum(time_taken), sum(sc_win32_status) FROM logs"],
                          capture_output=True, text=True).stdout.strip().splitlines()[1].split(",")


def verify_parquet(python, path, expected, exact_types=True):
    """A Parquet file read back by pyarrow: its rows and value sums equal iisql's (`expected`),
    and with `exact_types` the timestamp is in milliseconds and sc_status an int32."""
    code = textwrap.dedent(f"""
        import pyarrow.parquet as pq, pyarrow.compute as pc, json
        t = pq.read_table({path!r})
        print(json.dumps([t.num_rows, pc.sum(t['time_taken']).as_py(), pc.sum(t['sc_win32_status']).as_py(),
                          str(t.schema.field('timestamp').type), str(t.schema.field('sc_status').type)]))
    """)
    p = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if p.returncode != 0:
        return "unreadable parquet"
    rows, tt, w32, tstype, stype = json.loads(p.stdout)
    same = [str(rows), str(tt), str(w32)] == expected
    if exact_types:
        ok = same and tstype.startswith("timestamp[ms") and stype == "int32"
        return "reads back value-exact" if ok else f"MISMATCH {rows},{tt},{w32} vs {expected}"
    # A peer's file: the same rows and sums, whatever integer and time types it chose.
    return "same rows and sums" if same else f"WRONG: {rows} rows, sum(time_taken) {tt}"


if __name__ == "__main__":
    main()
