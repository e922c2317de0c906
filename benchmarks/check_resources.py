"""Honest cluster requests: each rule's mem_mb and runtime against what its jobs really used.

Usage: python -m benchmarks.check_resources [RUN_DIR] [--configfile FILE] [--low 1.2] [--high 3.0] [--suggest]

A Slurm job gets ``--mem`` from a rule's ``resources.mem_mb`` and ``--time`` from
``resources.runtime`` (minutes).  Too little and the job is killed; too much and it waits longer
in the queue and blocks others.  From the benchmark files of a finished run (``logs/benchmark/``:
peak RSS of the job's process tree and wall time) and the requests of the same jobs as Snakemake
plans them (a dry run of every job), this prints per rule the request, the measured peak and
their ratio, and fails unless every ratio lies in [``--low``, ``--high``] (1.2-3x).

Two floors are allowed above the ratio: a runtime of 1 minute (Slurm's ``--time`` granularity)
for rules whose longest job took under 50 s, and the 256 MB below which no Python job here
starts.  The run should be the default config's on the machine the requests were set on
(`make reproduce`, then `make bench`); on another config, pass it with ``--configfile``.

``--suggest`` prints, for the rules out of bounds, a ``set-resources:`` block for a Slurm profile: memory at
twice the measured peak, runtime at the most whole minutes within 3x the longest job (wall time moves more
between machines than memory does: the same default run took 52.7 min on one 2-core machine and 25.7 min
on another), Slurm's floors kept.  That is how to calibrate the cluster requests to a config or a cluster
of your own from one measured run (the rules' own requests were set the same way).
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from benchmarks.memory_table import ROOT, collect
from vanishing_saliency.tables import markdown_table

RUNTIME_FLOOR_MIN = 1.0
MEM_FLOOR_MB = 256.0


def check(jobs, low: float, high: float):
    """Per rule: request, peak, ratio and verdict, for memory and runtime."""
    rows = []
    for rule, g in jobs.groupby("rule"):
        peak_mb, req_mb = g.max_rss_mb.max(), g.mem_mb.max()
        peak_min, req_min = g.s.max() / 60, g.runtime_min.max()
        mem_ratio, run_ratio = req_mb / peak_mb, req_min / peak_min
        mem_ok = low <= mem_ratio <= high or (req_mb <= MEM_FLOOR_MB and mem_ratio >= low)
        run_ok = low <= run_ratio <= high or (req_min <= RUNTIME_FLOOR_MIN and run_ratio >= low)
        rows.append((rule, len(g), req_mb, peak_mb, mem_ratio, mem_ok, req_min, peak_min * 60, run_ratio, run_ok))
    return rows


def suggested(peak_mb: float, longest_s: float) -> tuple[int, int]:
    """(mem_mb, runtime in minutes): memory at twice the measured peak in steps of 100 MB (at least the
    256 MB floor); runtime at the most whole minutes within 3x the longest job (at least Slurm's 1 minute),
    so a node slower than the measuring machine still finishes in time."""
    mem = max(MEM_FLOOR_MB, 100 * math.ceil(2 * peak_mb / 100))
    runtime = max(RUNTIME_FLOOR_MIN, math.floor(3 * longest_s / 60))
    return int(mem), int(runtime)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", type=Path, default=ROOT)
    ap.add_argument("--configfile", type=Path)
    ap.add_argument("--low", type=float, default=1.2)
    ap.add_argument("--high", type=float, default=3.0)
    ap.add_argument("--suggest", action="store_true", help="print set-resources for the rules out of bounds")
    args = ap.parse_args()
    jobs = collect(args.run_dir, args.configfile)
    if jobs.empty:
        sys.exit(f"no benchmark files under {args.run_dir / 'logs' / 'benchmark'}: run the workflow first")
    unknown = jobs[jobs.rule == "?"]
    if len(unknown):
        sys.exit(f"benchmark files of no job the config plans (an older run's?): {', '.join(unknown.file[:5])}")
    rows = check(jobs, args.low, args.high)
    print(f"requests vs measured peaks ({len(jobs)} jobs; ok: {args.low:g}-{args.high:g}x, or at the floor)")
    header = ["rule", "jobs", "mem_mb", "peak RSS (MB)", "ratio", "runtime (min)", "longest job (s)", "ratio"]
    cells = [
        [
            f"`{rule}`",
            n,
            f"{req_mb:.0f}",
            f"{peak_mb:.0f}",
            f"{mr:.2f}{'' if mok else ' ✗'}",
            f"{req_min:g}",
            f"{peak_s:.0f}",
            f"{rr:.2f}{'' if rok else ' ✗'}",
        ]
        for rule, n, req_mb, peak_mb, mr, mok, req_min, peak_s, rr, rok in rows
    ]
    print("\n".join(markdown_table(header, cells, align="lrrrrrrr")))
    bad = [r[0] for r in rows if not (r[5] and r[9])]
    mem = np.array([r[4] for r in rows])
    run = np.array([r[8] for r in rows])
    print(
        f"\nmemory ratios {mem.min():.2f}-{mem.max():.2f}x, runtime ratios {run.min():.2f}-{run.max():.2f}x; "
        f"{len(rows) - len(bad)} of {len(rows)} rules within bounds"
    )
    if args.suggest and bad:
        print("\n# for the profile's config.yaml: memory at twice this run's peaks, runtime within 3x its longest jobs")
        print("set-resources:")
        for rule, _, _, peak_mb, _, _, _, peak_s, _, _ in rows:
            if rule in bad:
                mem, runtime = suggested(peak_mb, peak_s)
                print(f"  {rule}:\n    mem_mb: {mem}\n    runtime: {runtime}")
    if bad:
        sys.exit(f"requests out of bounds: {', '.join(bad)}")


if __name__ == "__main__":
    main()
