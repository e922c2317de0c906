"""One screen after a run: where each branch's results are and what its claims came to.

``python -m vanishing_saliency.runsummary [RUN_FOLDER]`` (``make smoke`` and ``make reproduce`` end with it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

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
            verdicts = pd.read_csv(claims, sep="\t").verdict.value_counts()
            out.append("    claims: " + ", ".join(f"{n} {v}" for v, n in verdicts.items()))
    out += [f"  logs (one per job): {run / 'logs'}",
            "  the report (every table and figure with its caption): snakemake --report report.html "
            "(same --configfile, in this folder)"]
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    run = Path(argv[0] if argv else ".")
    if not (run / "results").is_dir():
        sys.stderr.write(f"{run}: no results/ folder (nothing has run there yet)\n")
        return 1
    print("\n".join(lines(run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
