"""Scale: the workflow's DAG for a paper-sized raw HCP cohort, built by a Snakemake dry run.

Usage: python -m benchmarks.bench_dag [--subjects 1000] [--keep DIR]

Writes a fake raw HCP tree of empty files (the real layout: dense time series, motion
regressors and EV files of every run of every task), points the default config at it
(``hcp.source: raw``) and times ``snakemake -n`` in a fresh directory (the whole
workflow: every branch of config.yaml) twice: quiet (``-q``: building the DAG, what every run waits
for before its first job) and with the job listing, from which it checks that no job reads raw files
of more than one subject.  Target: the DAG of 1,000 subjects in <= 15 s.

Where Debian's Slurm client tools are installed without a reachable controller (this machine after
tests/test_slurm.py), every Snakemake start waits ~9 s in the Slurm executor plugin's import-time probe
(`scontrol show config`); that is not the DAG, so unless SLURM_CONF is set the dry runs get a slurm.conf
whose controller refuses at once, as the tests do (the plugin then takes its defaults in milliseconds).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from benchmarks.memory_table import job_blocks
from vanishing_saliency.hcp.io import raw_files

ROOT = Path(__file__).resolve().parents[1]


def write_tree(root: Path, subjects, tasks, directions, suffix) -> int:
    n = 0
    for s in subjects:
        for p in raw_files(root, s, tasks, directions, suffix):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()
            n += 1
    return n


def jobs_reading_raw(dry_run_text: str, root: Path) -> dict[str, list[set]]:
    """rule -> [subjects whose raw files one job reads], from the `snakemake -n` job listing (the jobs of a
    group job are listed indented under it)."""
    out = {}
    for rule, block in job_blocks(dry_run_text):
        inp = re.search(r"^\s+input: (.*)$", block, re.M)
        if not inp:
            continue
        subjects = {Path(f).relative_to(root).parts[0] for f in inp.group(1).split(", ") if f.startswith(str(root))}
        if subjects:
            out.setdefault(rule, []).append(subjects)
    return out


TARGET_S = 15.0


def dry_run(n_subjects: int, workdir: Path):
    """(seconds of the quiet dry run, seconds of the listing one, job counts per rule, raw readers) on a fresh
    fake cohort."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    hcp = cfg["hcp"]
    tree = workdir / "hcp_tree"
    subjects = [str(100000 + i) for i in range(n_subjects)]
    t = time.perf_counter()
    n_files = write_tree(tree, subjects, hcp["tasks"], hcp["directions"], hcp["dtseries_suffix"])
    print(f"fake tree: {n_subjects} subjects, {n_files} empty files in {time.perf_counter() - t:.1f} s")
    hcp.update(source="raw", root=str(tree))
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    run_dir = workdir / "run"
    run_dir.mkdir()
    env = dict(os.environ)
    if "SLURM_CONF" not in env:
        stub = workdir / "no-slurm.conf"
        stub.write_text("ClusterName=none\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=1\nMessageTimeout=1\n")
        env["SLURM_CONF"] = str(stub)
    seconds = []
    for quiet in (["-q"], []):
        t = time.perf_counter()
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(ROOT / "Snakefile"),
                "-n",
                *quiet,
                "--cores",
                "2",
                "--configfile",
                str(config),
            ],
            cwd=run_dir,
            capture_output=True,
            text=True,
            env=env,
        )
        seconds.append(time.perf_counter() - t)
        if res.returncode != 0:
            sys.exit(f"dry run failed:\n{res.stderr[-3000:]}")
    text = res.stdout + res.stderr
    counts = Counter(rule for rule, _ in job_blocks(text))
    return seconds[0], seconds[1], counts, jobs_reading_raw(text, tree)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="build the tree and run here instead of a temporary folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        quiet, listing, counts, readers = dry_run(args.subjects, work)
    print(
        f"DAG of the whole default workflow, {args.subjects} raw subjects, {sum(counts.values())} jobs: "
        f"{quiet:.1f} s (snakemake -n -q; target <= {TARGET_S:.0f} s: {'met' if quiet <= TARGET_S else 'NOT met'}), "
        f"{listing:.1f} s with the job listing"
    )
    for rule in ("hcp_check", "hcp_preprocess"):
        print(f"  {rule}: {counts.get(rule, 0)} jobs")
    widest = max((len(s) for jobs in readers.values() for s in jobs), default=0)
    print(f"rules reading raw files: {', '.join(sorted(readers))}; most subjects' raw files in one job: {widest}")
    if widest != 1 or set(readers) != {"hcp_check"}:
        sys.exit("a job reads raw files of more than one subject (or a rule other than hcp_check declares them)")


if __name__ == "__main__":
    main()
