"""One screen after a run: where each branch's results are and what its claims came to.

``python -m vanishing_saliency.runsummary [RUN_FOLDER]`` (``make smoke`` and ``make reproduce`` end with it);
with ``--claims``, every claim's verdict line per scope from the branches' ``summary.tsv`` as Markdown
tables (the README's verdict tables are pasted from it).
"""

from __future__ import annotations

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


def lines(run: Path) -> list[str]:
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
        "  the report (every table and figure with its caption): snakemake --report report.html "
        "(same --configfile, in this folder)",
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
    argv = sys.argv[1:] if argv is None else argv
    claims = "--claims" in argv
    argv = [a for a in argv if a != "--claims"]
    run = Path(argv[0] if argv else ".")
    if not (run / "results").is_dir():
        sys.stderr.write(f"{run}: no results/ folder (nothing has run there yet)\n")
        return 1
    print("\n".join(claim_lines(run) if claims else lines(run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
