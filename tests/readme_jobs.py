"""The README's job counts, generated: each is Snakemake's dry run of the config named beside it.

A count in README.md is written ``377 jobs<!-- snakemake -n: config.yaml -->`` (the comment does not show on a
rendered page); ``tests/test_readme.py`` fails when a count is not the dry run's total, and

    .venv/bin/python tests/readme_jobs.py --update

rewrites every count from a dry run of its config in an empty folder (a few seconds each).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COUNT = re.compile(r"(?P<count>\d[\d,]*) jobs<!-- snakemake -n: (?P<config>\S+) -->")


def dry_run_jobs(config: str) -> int:
    """The number of jobs ``snakemake -n`` plans for ``config`` (relative to the checkout) in an empty folder."""
    with tempfile.TemporaryDirectory() as folder:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-n",
                "--cores",
                "1",
                "--configfile",
                str(ROOT / config),
                "--directory",
                folder,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    totals = re.findall(r"^total\s+(\d+)\s*$", run.stdout + run.stderr, re.M)
    if run.returncode != 0 or not totals:
        raise RuntimeError(f"snakemake -n --configfile {config} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return int(totals[-1])


def stated_counts(text: str) -> list[tuple[str, int]]:
    """Every (config, count) the README states, in order."""
    return [(m["config"], int(m["count"].replace(",", ""))) for m in COUNT.finditer(text)]


def updated(text: str, counts: dict[str, int]) -> str:
    """``text`` with every stated count replaced by ``counts[config]`` (thousands with commas)."""
    return COUNT.sub(lambda m: f"{counts[m['config']]:,} jobs<!-- snakemake -n: {m['config']} -->", text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="rewrite README.md's counts (default: only print them)")
    args = ap.parse_args()
    text = README.read_text()
    counts = {config: dry_run_jobs(config) for config in dict(stated_counts(text))}
    for config, stated in stated_counts(text):
        print(f"{config}: README {stated}, dry run {counts[config]}")
    if args.update:
        README.write_text(updated(text, counts))


if __name__ == "__main__":
    main()
