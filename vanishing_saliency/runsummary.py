"""One screen after a run: where each branch's results are and what its claims came to.

``python -m vanishing_saliency.runsummary [RUN_FOLDER] [--report COMMAND]`` (``make smoke`` and ``make reproduce``
end with it, naming the ``make report`` line that bundles that run's report); with ``--claims``, every claim's
verdict line per scope from the branches' ``summary.tsv`` as Markdown tables (the README's verdict tables are pasted
from it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .tables.claims import compact_markdown

BRANCHES = {
    "synthetic": ("Synthetic boxes (paper Tables 1-2, Figs. 3, 5)", ["table1.md", "method_table.md", "summary.md"]),
    "hcp": ("HCP task fMRI (paper section 5.3)", ["summary.md", "qc.tsv", "qc/strategies.md"]),
    "mnist": ("MNIST row by row (paper Fig. 6)", ["table.md"]),
    "dynamics": ("LSTM cell dynamics (response characterization)", ["table1.md", "capacity.md"]),
}


def lines(run: Path, report: str = "make report") -> list[str]:
    out = [f"Results of the run in {run.resolve()}:"]
    for branch, (title, files) in BRANCHES.items():
        folder = run / "results" / branch
        if not folder.is_dir():
            continue
        n_fig = len(list(folder.rglob("*.png")))
        out.append(f"  {title}: results/{branch}/ ({n_fig} figures)")
        for f in files:
            if (folder / f).exists():
                out.append(f"    {f}")
        claims = folder / "summary.tsv"
        if claims.exists():
            table = pd.read_csv(claims, sep="\t")
            verdicts = table[table.scope == "all"].verdict.value_counts()  # one line per claim
            out.append("    claims: " + ", ".join(f"{n} {v}" for v, n in verdicts.items()))
    out += [
        f"  logs (one per job): {run / 'logs'}",
        f"  the report (every table and figure with its caption, into {run / 'results' / 'report.zip'}): {report}",
    ]
    return out


def claim_lines(run: Path) -> list[str]:
    """Each branch's verdict lines (scope by scope) as a Markdown table."""

    out = []
    for branch in BRANCHES:
        path = run / "results" / branch / "summary.tsv"
        if path.exists():
            out += [f"### {branch}", "", compact_markdown(pd.read_csv(path, sep="\t")), ""]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default=".", type=Path, help="the run's folder (default: this one)")
    ap.add_argument("--claims", action="store_true", help="every claim's verdict lines, as Markdown tables")
    ap.add_argument("--report", default="make report", help="the command that bundles this run's report")
    args = ap.parse_args(argv)
    if not (args.run / "results").is_dir():
        sys.stderr.write(f"{args.run}: no results/ folder (nothing has run there yet)\n")
        return 1
    print("\n".join(claim_lines(args.run) if args.claims else lines(args.run, args.report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
