"""Peak memory and wall time of every rule, from the Snakemake `benchmark:` files of a finished run.

Usage: python -m benchmarks.memory_table [RUN_DIR] [--limit-mb 4096] [--configfile FILE]

Every rule writes ``logs/benchmark/...tsv`` (Snakemake measures the job's whole process tree:
``max_rss`` in MB, wall ``s``).  This script maps each file back to its rule through the jobs
Snakemake plans for the run's config (a dry run of every job, ``--configfile``, default the
workflow's own) and prints one markdown row per rule, grouped by branch:
jobs, the largest peak RSS of any job, median and largest wall time.  Exits non-zero when a
job's peak RSS is above ``--limit-mb`` (default 4096 MB, the target for the default config).
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from vanishing_saliency.tables import markdown_table

ROOT = Path(__file__).resolve().parents[1]


def job_blocks(listing: str):
    """(rule, text) of every job in a ``snakemake -n`` job listing; the jobs of a group job are listed indented
    under it."""
    for block in re.split(r"\n(?=[ \t]*(?:local)?rule \w+:)", listing):
        rule = re.match(r"\s*(?:local)?rule (\w+):", block)
        if rule:
            yield rule.group(1), block


def planned_jobs(run_dir: Path, configfile: Path | None = None) -> pd.DataFrame:
    """Every job of the run's workflow as Snakemake plans it from scratch (``snakemake -n --forceall``): rule,
    benchmark file, and the ``mem_mb`` / ``runtime`` (minutes) it would ask a cluster for."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "-n",
        "--forceall",
        "--nolock",
        "--cores",
        "2",
        "--directory",
        str(run_dir),
    ]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"dry run failed:\n{res.stderr[-3000:]}")
    rows = []
    for rule, block in job_blocks(res.stdout + res.stderr):
        bench = re.search(r"^\s+benchmark: (\S+)$", block, re.M)
        if not bench:
            continue
        res_line = re.search(r"^\s+resources: (.*)$", block, re.M)
        resources = dict(kv.split("=", 1) for kv in res_line.group(1).split(", ")) if res_line else {}
        rows.append(
            {
                "rule": rule,
                "file": bench.group(1),
                "mem_mb": float(resources.get("mem_mb", "nan")),
                "runtime_min": float(resources.get("runtime", "nan")),
            }
        )
    return pd.DataFrame(rows)


def collect(run_dir: Path, configfile: Path | None = None) -> pd.DataFrame:
    """Every benchmark file of the run with its rule (from the planned jobs), wall time and peak RSS."""
    planned = planned_jobs(run_dir, configfile).set_index("file")
    rows = []
    for path in sorted((run_dir / "logs" / "benchmark").rglob("*.tsv")):
        rel = str(path.relative_to(run_dir))
        bench = pd.read_csv(path, sep="\t")
        job = planned.loc[rel] if rel in planned.index else None
        rows.append(
            {
                "rule": "?" if job is None else job["rule"],
                "file": rel,
                "s": float(bench["s"].max()),
                "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").max()),
                "mem_mb": float("nan") if job is None else job["mem_mb"],
                "runtime_min": float("nan") if job is None else job["runtime_min"],
            }
        )
    return pd.DataFrame(rows)


def summarize(jobs: pd.DataFrame) -> pd.DataFrame:
    table = (
        jobs.groupby("rule")
        .agg(
            jobs=("file", "size"),
            peak_rss_mb=("max_rss_mb", "max"),
            median_s=("s", "median"),
            max_s=("s", "max"),
            total_s=("s", "sum"),
        )
        .reset_index()
    )
    table.insert(0, "branch", table.rule.str.split("_").str[0])
    return table.sort_values(["branch", "peak_rss_mb"], ascending=[True, False])


def to_markdown(table: pd.DataFrame) -> str:
    return "\n".join(
        markdown_table(
            ["branch", "rule", "jobs", "peak RSS (MB)", "median wall (s)", "max wall (s)"],
            (
                [r.branch, f"`{r.rule}`", r.jobs, f"{r.peak_rss_mb:.0f}", f"{r.median_s:.1f}", f"{r.max_s:.1f}"]
                for r in table.itertuples()
            ),
            align="llrrrr",
        )
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", type=Path, default=ROOT)
    ap.add_argument("--limit-mb", type=float, default=4096)
    ap.add_argument("--configfile", type=Path, help="the run's config (default: the workflow's config.yaml)")
    args = ap.parse_args()
    jobs = collect(args.run_dir, args.configfile)
    if jobs.empty:
        sys.exit(f"no benchmark files under {args.run_dir / 'logs' / 'benchmark'}: run the workflow first")
    table = summarize(jobs)
    print(to_markdown(table))
    worst = jobs.loc[jobs.max_rss_mb.idxmax()]
    print(
        f"\n{len(jobs)} jobs; largest peak RSS {worst.max_rss_mb:.0f} MB ({worst.file}); "
        f"sum of job wall times {jobs.s.sum() / 60:.1f} min"
    )
    unknown = jobs[jobs.rule == "?"]
    if len(unknown):
        sys.exit(f"benchmark files of no job the config plans (an older run's?): {', '.join(unknown.file)}")
    if worst.max_rss_mb > args.limit_mb:
        sys.exit(f"{worst.file}: peak RSS {worst.max_rss_mb:.0f} MB is above the {args.limit_mb:.0f} MB limit")


if __name__ == "__main__":
    main()
