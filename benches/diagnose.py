#!/usr/bin/env python3
"""The diagnosis benchmark (issue 22): `iisql diagnose` over generated Exchange front-end logs
and over the Parquet lake `iisql convert` makes of them, against a plain `SELECT count(*)` over
the same logs timed in the same run, at each size asked for; and `convert` against `-o
x.parquet`. Release build; standard library only.

    benches/diagnose.py [--sizes 1GiB,4GiB] [--runs 3]

IISQL_BIN=path/to/iisql measures that binary instead of building target/release/iisql (to
compare two builds in one session).

Every command runs `--runs` times, interleaved (round r runs each once), and is reported as its
median wall time and its largest peak RSS (GNU time's %M). Corpora are kept in benches/corpus/
(the ones bench.sh uses), lakes and outputs in benches/out/.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("IISQL_BIN") or os.path.join(ROOT, "target", "release", "iisql")


def run_once(cmd, ok_codes=(0,)):
    """Runs cmd once; returns (seconds, peak RSS MB), or (None, the error's last line) when it
    exits with a code not in ok_codes."""
    with tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t1 = time.perf_counter()
        if p.returncode not in ok_codes:
            lines = [line for line in p.stderr.strip().splitlines()
                     if not line.startswith("Command exited")]
            return None, (lines[-1] if lines else f"exit {p.returncode}")[:300]
        return t1 - t0, int(tf.read().strip().splitlines()[-1]) // 1024


def timed(cmds, runs):
    """Each (label, cmd, ok_codes, output to remove first) `runs` times, interleaved; returns
    {label: (median s, max RSS MB)}, or {label: (None, error)} for one that failed (it is not
    run again)."""
    times = {c[0]: [] for c in cmds}
    rss = {c[0]: 0 for c in cmds}
    failed = {}
    for _ in range(runs):
        for label, cmd, ok, output in cmds:
            if label in failed or cmd is None:
                continue
            if output and os.path.exists(output):
                if os.path.isdir(output):
                    shutil.rmtree(output)
                else:
                    os.remove(output)
            t, r = run_once(cmd, ok)
            if t is None:
                failed[label] = r
                continue
            times[label].append(t)
            rss[label] = max(rss[label], r)
    out = {k: (statistics.median(v), rss[k]) for k, v in times.items() if v}
    out.update({k: (None, e) for k, e in failed.items()})
    return out


def corpus(size):
    path = os.path.join(ROOT, "benches", "corpus", size)
    if not os.path.isdir(path):
        # As bench.sh: 12 days x 2 front ends, the sample's failures injected.
        subprocess.run([BIN, "generate", "--out", path, "--size", size, "--days", "12",
                        "--servers", "2", "--seed", "42", "--scenarios", "sample",
                        "--no-backend"], check=True)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1GiB,4GiB")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if not os.environ.get("IISQL_BIN"):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "iisql-cli"], cwd=ROOT,
                       check=True)
    out = os.path.join(ROOT, "benches", "out")
    os.makedirs(out, exist_ok=True)
    print(f"runs: {a.runs} (medians), machine: {os.cpu_count()} cores")
    print(f"{'size':>6}  {'command':<34} {'median s':>9} {'x count':>8} {'peak RSS MB':>12}")
    for size in a.sizes.split(","):
        logs = corpus(size)
        lake = os.path.join(out, f"lake-{size}")
        if not os.path.isdir(lake):
            t, err = run_once([BIN, "convert", logs, "--to", lake, "-q"])
            if t is None:
                shutil.rmtree(lake, ignore_errors=True)
                print(f"{size:>6}  the lake could not be written: convert failed: {err}")
        converted = os.path.join(out, f"convert-{size}")
        parquet = os.path.join(out, f"o-{size}.parquet")
        cmds = [
            ("SELECT count(*) (yardstick)",
             [BIN, logs, "-q", "-c", "SELECT count(*) FROM logs"], (0,), None),
            ("diagnose LOGS", [BIN, "diagnose", logs, "-q", "--format", "json"], (0, 1), None),
            ("diagnose LAKE", [BIN, "diagnose", lake, "-q", "--format", "json"]
             if os.path.isdir(lake) else None, (0, 1), None),
            ("-o x.parquet",
             [BIN, logs, "-q", "-c", "SELECT * FROM logs", "-o", parquet], (0,), parquet),
            ("convert", [BIN, "convert", logs, "--to", converted, "-q"], (0,), converted),
        ]
        results = timed(cmds, a.runs)
        base = results[cmds[0][0]][0]
        for label, cmd, _, _ in cmds:
            if label not in results:
                print(f"{size:>6}  {label:<34} not run (no lake)")
                continue
            t, r = results[label]
            if t is None:
                print(f"{size:>6}  {label:<34} FAILED: {r}")
            else:
                print(f"{size:>6}  {label:<34} {t:9.3f} {t / base:7.1f}x {r:12d}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
