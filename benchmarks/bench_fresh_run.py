"""The whole default run from a fresh clone, as a newcomer starts it: `make reproduce`.

Usage: python -m benchmarks.bench_fresh_run [--into DIR] [--cores all] [--keep]

Clones this checkout's HEAD into a fresh folder (a temporary one unless ``--into``), then times
``make venv`` (the virtual environment and every package) and ``make reproduce`` (the
default config, every branch) separately.  Then, from the run's benchmark files and
Snakemake's log, per branch: jobs, the sum of their wall times and CPU times, and the span
from the branch's first job start to its last job end.  Prints the commit, the date and the
machine.  Target: the default run in <= 30 minutes on 2 cores.  Run it with nothing else on
the machine.
"""

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.memory_table import collect

ROOT = Path(__file__).resolve().parents[1]

TARGET_MIN = 30.0


def timed(cmd, cwd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True)
    return time.perf_counter() - t0


def job_spans(run_dir: Path) -> pd.DataFrame:
    """(rule, start, end) of every finished job, from the newest Snakemake log."""
    log = sorted((run_dir / ".snakemake" / "log").glob("*.snakemake.log"))[-1].read_text()
    stamp = r"\[(\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4})\]"
    starts, rows = {}, []
    for when, body in re.findall(stamp + r"\n(.*?)(?=\n\[|\Z)", log, re.S):
        t = dt.datetime.strptime(" ".join(when.split()), "%a %b %d %H:%M:%S %Y")
        rule, jobid = re.search(r"^(?:local)?rule (\w+):", body, re.M), re.search(r"jobid: (\d+)", body)
        if rule and jobid:
            starts[jobid.group(1)] = (rule.group(1), t)
        for done in re.findall(r"Finished jobid: (\d+)", body):
            if done in starts:
                rows.append({"rule": starts[done][0], "start": starts[done][1], "end": t})
    return pd.DataFrame(rows)


def branch_table(run_dir: Path) -> pd.DataFrame:
    jobs = collect(run_dir)
    jobs["branch"] = jobs.rule.str.split("_").str[0]
    cpu = []
    for f in jobs.file:
        bench = pd.read_csv(run_dir / f, sep="\t")
        cpu.append(float(pd.to_numeric(bench["cpu_time"], errors="coerce").max()))
    jobs["cpu_s"] = cpu
    table = jobs.groupby("branch").agg(jobs=("file", "size"), wall_min=("s", "sum"), cpu_min=("cpu_s", "sum"))
    table[["wall_min", "cpu_min"]] /= 60
    spans = job_spans(run_dir)
    if len(spans):
        spans["branch"] = spans.rule.str.split("_").str[0]
        first = spans.start.min()
        g = spans.groupby("branch")
        table["starts_min"] = (g.start.min() - first).dt.total_seconds() / 60
        table["ends_min"] = (g.end.max() - first).dt.total_seconds() / 60
    return table.round(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--into", type=Path, help="clone here (must not exist) and keep it")
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    tmp = None if args.into else tempfile.TemporaryDirectory(prefix="fresh-run-")
    clone = args.into or Path(tmp.name) / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    started = dt.datetime.now(dt.UTC)
    install = timed(["make", "venv"], clone)
    run = timed(["make", "reproduce", f"CORES={args.cores}"], clone)
    print(
        f"\nfresh clone of {commit.strip()[:12]} on {started:%Y-%m-%d %H:%M} UTC, {platform.processor() or 'cpu'} "
        f"x {os.cpu_count()} logical CPUs, cores={args.cores}"
    )
    print(f"  make venv:      {install / 60:6.1f} min")
    print(
        f"  make reproduce: {run / 60:6.1f} min   (target <= {TARGET_MIN:.0f} min: "
        f"{'met' if run / 60 <= TARGET_MIN else 'NOT met'})"
    )
    print("\nper branch (job wall and CPU summed over the branch's jobs; start/end: minutes into the run):")
    print(branch_table(clone).to_string())
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
