"""Paper Table 1 / Table 2 and the moving-box table from the per-sample metric files."""

from __future__ import annotations

import pandas as pd

from ..metrics import at_chance
from ..models import LABELS


def summarise(runs, paths) -> pd.DataFrame:
    """One row per (dataset, model, method); ``runs`` = [(dataset, model, method)], ``paths`` the
    matching per-sample metric TSVs (same order)."""
    rows = []
    for (dataset, model, method), path in zip(runs, paths, strict=True):
        t = pd.read_csv(path, sep="\t")
        acc = float(t.correct.mean())
        rows.append({"dataset": dataset, "model": model, "label": LABELS.get(model, model), "method": method,
                     "wjac": t.wjac.mean(), "wjac_sd": t.wjac.std(ddof=1), "euc": t.euc.mean(),
                     "euc_sd": t.euc.std(ddof=1), "accuracy": acc, "n_test": len(t),
                     "at_chance": at_chance(acc, len(t))})
    return pd.DataFrame(rows)


def markdown(summary: pd.DataFrame, title: str) -> str:
    """Paper layout: rows = models, columns = datasets, cells WJac / Euc / accuracy %."""
    out = [f"# {title}", "",
           "Cells: weighted Jaccard (higher is better) / Euclidean distance (lower is better) / "
           "test accuracy %. † marks a model not significantly above chance (one-sided binomial "
           "test, p > 0.05): its saliency is meaningless.", ""]
    datasets = list(dict.fromkeys(summary.dataset))
    for method in dict.fromkeys(summary.method):
        part = summary[summary.method == method]
        out += [f"## Saliency method: {method}", "",
                "| model | " + " | ".join(datasets) + " |",
                "|---|" + "---|" * len(datasets)]
        for model in dict.fromkeys(part.model):
            cells = []
            for d in datasets:
                r = part[(part.model == model) & (part.dataset == d)]
                if r.empty:
                    cells.append("")
                    continue
                r = r.iloc[0]
                flag = " †" if r.at_chance else ""
                cells.append(f"{r.wjac:.3f} / {r.euc:.3f} / {100 * r.accuracy:.1f}{flag}")
            out.append(f"| {LABELS.get(model, model)} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def moving_box(runs, paths, starts: dict) -> pd.DataFrame:
    """The moving-box summary: :func:`summarise` with each dataset's box start (``starts``: dataset -> step)."""
    summary = summarise(runs, paths)
    summary.insert(1, "box_start", summary.dataset.map(starts))
    return summary
