"""Peak memory and wall time of every rule, from the Snakemake `benchmark:` files of a finished run.

Usage: python benchmarks/memory_table.py [RUN_DIR] [--limit-mb 4096]

Every rule writes ``logs/benchmark/...tsv`` (Snakemake measures the job's whole process tree:
``max_rss`` in MB, wall ``s``).  This script maps each file back to its rule through the
rules' ``benchmark:`` patterns and prints one markdown row per rule, grouped by branch:
jobs, the largest peak RSS of any job, median and largest wall time.  Exits non-zero when a
job's peak RSS is above ``--limit-mb`` (default 4096 MB, the target for the default config).
"""

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def benchmark_patterns() -> dict[str, re.Pattern]:
    """rule -> regex of its benchmark path, from rules/*.smk."""
    out = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            m = re.search(r'benchmark:\s*\n\s*"([^"]+)"', block)
            if m:
                parts = re.split(r"(\{[^}]+\})", m.group(1))
                out[name] = re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")
    return out


def rule_of(rel_path: str, patterns) -> str | None:
    """The matching rule with the most literal characters (``{table}.tsv`` loses to ``moving_box.tsv``)."""
    hits = [(len(p.pattern.replace("[^/]+", "")), name) for name, p in patterns.items() if p.match(rel_path)]
    return max(hits)[1] if hits else None


def collect(run_dir: Path) -> pd.DataFrame:
    patterns = benchmark_patterns()
    rows = []
    for path in sorted((run_dir / "logs" / "benchmark").rglob("*.tsv")):
        rel = str(path.relative_to(run_dir))
        bench = pd.read_csv(path, sep="\t")
        rows.append({"rule": rule_of(rel, patterns) or "?", "file": rel, "s": float(bench["s"].max()),
                     "max_rss_mb": float(pd.to_numeric(bench["max_rss"], errors="coerce").max())})
    return pd.DataFrame(rows)


def summarize(jobs: pd.DataFrame) -> pd.DataFrame:
    table = (jobs.groupby("rule")
             .agg(jobs=("file", "size"), peak_rss_mb=("max_rss_mb", "max"), median_s=("s", "median"),
                  max_s=("s", "max"), total_s=("s", "sum"))
             .reset_index())
    table.insert(0, "branch", table.rule.str.split("_").str[0])
    return table.sort_values(["branch", "peak_rss_mb"], ascending=[True, False])


def to_markdown(table: pd.DataFrame) -> str:
    lines = ["| branch | rule | jobs | peak RSS (MB) | median wall (s) | max wall (s) |",
             "|---|---|---:|---:|---:|---:|"]
    for r in table.itertuples():
        lines.append(f"| {r.branch} | `{r.rule}` | {r.jobs} | {r.peak_rss_mb:.0f} | {r.median_s:.1f} | {r.max_s:.1f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", type=Path, default=ROOT)
    ap.add_argument("--limit-mb", type=float, default=4096)
    args = ap.parse_args()
    jobs = collect(args.run_dir)
    if jobs.empty:
        sys.exit(f"no benchmark files under {args.run_dir / 'logs' / 'benchmark'}: run the workflow first")
    table = summarize(jobs)
    print(to_markdown(table))
    worst = jobs.loc[jobs.max_rss_mb.idxmax()]
    print(f"\n{len(jobs)} jobs; largest peak RSS {worst.max_rss_mb:.0f} MB ({worst.file}); "
          f"sum of job wall times {jobs.s.sum() / 60:.1f} min")
    unknown = jobs[jobs.rule == "?"]
    if len(unknown):
        sys.exit(f"benchmark files matching no rule: {', '.join(unknown.file)}")
    if worst.max_rss_mb > args.limit_mb:
        sys.exit(f"{worst.file}: peak RSS {worst.max_rss_mb:.0f} MB is above the {args.limit_mb:.0f} MB limit")


if __name__ == "__main__":
    main()
