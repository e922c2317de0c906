"""The MNIST table: accuracy, where the saliency lies in time, and WJac / Euc against the ink."""

from __future__ import annotations

import pandas as pd

from ..labels import LABELS
from . import markdown_table


def mnist_table(runs, metrics_paths, sidecars, last_rows: int = 7) -> pd.DataFrame:
    """One row per (model, method); ``runs`` = [(model, method)], with the matching per-sample
    metric TSVs and model sidecars (dicts), same order.  Saliency columns use correct samples only."""
    rows = []
    for (model, method), path, meta in zip(runs, metrics_paths, sidecars, strict=True):
        t = pd.read_csv(path, sep="\t")
        ok = t[t.correct == 1]
        prof = ok[[c for c in t.columns if c.startswith("row_")]].to_numpy()
        rows.append(
            {
                "model": model,
                "label": LABELS.get(model, model),
                "method": method,
                "test_accuracy": t.correct.mean(),
                "n_test": len(t),
                "epochs": meta["epochs_run"],
                f"last_{last_rows}_rows_fraction": prof[:, -last_rows:].sum(1).mean(),
                "first_half_fraction": prof[:, : prof.shape[1] // 2].sum(1).mean(),
                "wjac_vs_ink": ok.wjac.mean(),
                "euc_vs_ink": ok.euc.mean(),
            }
        )
    return pd.DataFrame(rows)


def mnist_markdown(table: pd.DataFrame, last_rows: int = 7) -> str:
    uniform = last_rows / 28
    lines = [
        "# MNIST digits read row by row: accuracy and where the saliency lies",
        "",
        f"Saliency measured on correctly classified test images. Last {last_rows} rows: share of the "
        f"saliency mass in the last {last_rows} of 28 rows (uniform = {uniform:.3f}). WJac / Euc: weighted "
        "Jaccard (higher is better) and Euclidean distance (lower is better) of the min-max scaled "
        "saliency against the digit's ink (pixels > 0.5), a rough ground truth.",
        "",
    ]
    lines += markdown_table(
        ["model", "method", "test accuracy %", f"last {last_rows} rows", "first 14 rows", "WJac vs ink", "Euc vs ink"],
        (
            [
                r.label,
                r.method,
                f"{100 * r.test_accuracy:.2f}",
                f"{getattr(r, f'last_{last_rows}_rows_fraction'):.3f}",
                f"{r.first_half_fraction:.3f}",
                f"{r.wjac_vs_ink:.3f}",
                f"{r.euc_vs_ink:.3f}",
            ]
            for r in table.itertuples()
        ),
    )
    return "\n".join(lines) + "\n"


def temporal_profile_table(models, metrics_paths) -> pd.DataFrame:
    """Mean share of saliency mass per row (time step), per model and digit, correct samples only."""
    rows = []
    for m, p in zip(models, metrics_paths, strict=True):
        t = pd.read_csv(p, sep="\t")
        t = t[t.correct == 1]
        cols = [c for c in t.columns if c.startswith("row_")]
        for d, g in t.groupby("digit"):
            rows += [
                {"model": m, "digit": int(d), "row": i, "share": float(v)}
                for i, v in enumerate(g[cols].mean().to_numpy())
            ]
    return pd.DataFrame(rows)
