"""What Snakemake's job rate limiter costs a local run, and so whether switching it off (there is no public switch:
an ``onstart`` handler would set the private ``workflow.scheduler.job_rate_limiter``) would earn that reach.

Usage: python -m benchmarks.bench_scheduler [--jobs 364] [--cores 2] [--job-seconds 2] [--reps 1]

A generated workflow of ``--jobs`` independent jobs (each sleeps ``--job-seconds``, and each has a params function,
as most rules here do) runs with ``--cores``, once with Snakemake's default limiter (``--max-jobs-per-timespan
100/1s``) and once with it switched off by such a handler, interleaved ``--reps`` times.  Printed per
setting: wall time and the CPU time of Snakemake's own process (the jobs sleep, so the rest is scheduling), and the
difference: the time a run of that many jobs gains.  The default run has 364 jobs (README, "Run time").

2026-12-06 (commit adef28a, 364 jobs of 2 s, 2 cores): 379.9 s with the limiter, 379.0 s without (0.8 s of wall;
36 s of the scheduler's CPU).  These jobs sleep and their params are cheap, so the scheduler's extra selections cost
little here; in the real default run they re-evaluate heavier params and inputs while the jobs need both cores:
python -m benchmarks.bench_fresh_run measured it there (benchmarks/README.md), and the Snakefile keeps its switch.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vanishing_saliency.tables import markdown_table

SNAKEFILE = """
N = int(config["jobs"])

onstart:
    if config["limiter_off"] and workflow.local_exec and getattr(workflow, "scheduler", None) is not None:
        workflow.scheduler.job_rate_limiter = None

rule all:
    input: expand("out/{i}.txt", i=range(N))

rule one:
    output: "out/{i}.txt"
    params: doubled=lambda wc: 2 * int(wc.i)
    shell: "sleep %s; echo {params.doubled} > {output}"
"""


def run_once(folder: Path, snakefile: str, jobs: int, cores: int, off: bool) -> tuple[float, float]:
    """(wall s, CPU s of the Snakemake process and its sleep/echo children) of one fresh run."""
    work = folder / ("off" if off else "on")
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    (work / "Snakefile").write_text(snakefile)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            str(cores),
            "--quiet",
            "all",
            "--config",
            f"jobs={jobs}",
            f"limiter_off={int(off)}",
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=364)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--job-seconds", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    snakefile = SNAKEFILE % args.job_seconds
    floor = args.jobs * args.job_seconds / args.cores
    results = {"limiter on (Snakemake's default)": [], "limiter off (an onstart handler)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            for label, off in zip(results, (False, True), strict=True):
                results[label].append(run_once(Path(tmp), snakefile, args.jobs, args.cores, off))
    print(f"{args.jobs} jobs of {args.job_seconds:g} s on {args.cores} cores (floor {floor:.0f} s), {args.reps} rep(s)")
    medians = {
        label: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for label, runs in results.items()
    }
    rows = [[label, f"{w:.1f}", f"{w - floor:.1f}", f"{c:.1f}"] for label, (w, c) in medians.items()]
    header = ["setting", "wall (s)", "over the floor (s)", "CPU of Snakemake and its jobs (s)"]
    print("\n".join(markdown_table(header, rows, align="lrrr")))
    (on_wall, on_cpu), (off_wall, off_cpu) = medians.values()
    print(
        f"switching the limiter off saves {on_wall - off_wall:.1f} s of wall ({(on_wall - off_wall) / 60:.2f} min) "
        f"and {on_cpu - off_cpu:.1f} s of CPU; wall ratio on/off {on_wall / off_wall:.3f}"
    )


if __name__ == "__main__":
    main()
