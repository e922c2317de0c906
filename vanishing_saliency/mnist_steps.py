"""The MNIST branch steps (paper Fig. 6, supplement Fig. 11), one function per rule.

Training reuses :func:`vanishing_saliency.experiments.train_step` (the prepared
file has the same layout as a synthetic dataset: ``x_train``, ``y_train``,
``lengths_train``, ... and ``mask_test`` = the digit's ink, pixels > 0.5).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from .io import load_json, save_figure, save_npz, save_table, save_text
from .metrics import saliency_scores
from .models import LABELS
from .mnist import load_digits, normalise, temporal_profile
from .saliency import attribute
from .training import load_model, predict_logits

log = logging.getLogger("vanishing_saliency")


def prepare_step(out_path, source: str, idx_folder, check: bool, digits, max_train, max_test, ink_threshold: float,
                 seed: int) -> None:
    d = load_digits(source, idx_folder, check, digits, max_train, max_test, seed)
    tr_img, y_tr, te_img, y_te, idx_te = (d["train_images"], d["train_labels"], d["test_images"],
                                          d["test_labels"], d["test_index"])
    save_npz(out_path, x_train=normalise(tr_img), y_train=y_tr, lengths_train=np.full(len(y_tr), 28),
             x_test=normalise(te_img), y_test=y_te, lengths_test=np.full(len(y_te), 28),
             mask_test=te_img / 255.0 > ink_threshold, pattern_test=np.asarray(digits)[y_te], images_test=te_img,
             mnist_index_test=idx_te, digits=np.asarray(digits), seed=np.int64(seed))
    log.info("MNIST digits %s: %d train / %d test images", digits, len(y_tr), len(y_te))


def saliency_step(data_path, model_path, maps_path, metrics_path, method: str, saliency_cfg: dict, seed: int,
                  threads: int = 1) -> pd.DataFrame:
    torch.set_num_threads(int(threads))
    model, meta = load_model(model_path)
    with np.load(data_path) as f:
        x, y, lengths, ink, digit = f["x_test"], f["y_test"], f["lengths_test"], f["mask_test"], f["pattern_test"]
    maps = np.abs(attribute(method, model, x, y, lengths, batch_size=saliency_cfg["batch_size"],
                            options=saliency_cfg, seed=seed))
    pred = predict_logits(model, x, lengths).argmax(1).numpy()
    scores = saliency_scores(maps, ink)
    profile = temporal_profile(maps)
    table = pd.DataFrame({"sample": np.arange(len(y)), "digit": digit, "correct": (pred == y).astype(int),
                          "wjac": scores["wjac"], "euc": scores["euc"]})
    for r in range(profile.shape[1]):
        table[f"row_{r:02d}"] = profile[:, r]
    save_table(metrics_path, table)
    save_npz(maps_path, saliency=maps.astype(np.float32), pred=pred, y=y, architecture=meta["architecture"],
             method=method)
    log.info("%s / %s: accuracy %.4f, WJac vs ink %.4f, Euc %.4f", meta["architecture"], method,
             table.correct.mean(), table.wjac.mean(), table.euc.mean())
    return table


def table_step(records, out_tsv, out_md, last_rows: int = 7) -> pd.DataFrame:
    """records: [(model, method, metrics tsv, model sidecar json)]."""
    rows = []
    for model, method, path, sidecar in records:
        t = pd.read_csv(path, sep="\t")
        ok = t[t.correct == 1]
        prof = ok[[c for c in t.columns if c.startswith("row_")]].to_numpy()
        meta = load_json(sidecar)
        rows.append({"model": model, "label": LABELS.get(model, model), "method": method,
                     "test_accuracy": t.correct.mean(), "n_test": len(t), "epochs": meta["epochs_run"],
                     f"last_{last_rows}_rows_fraction": prof[:, -last_rows:].sum(1).mean(),
                     "first_half_fraction": prof[:, : prof.shape[1] // 2].sum(1).mean(),
                     "wjac_vs_ink": ok.wjac.mean(), "euc_vs_ink": ok.euc.mean()})
    table = pd.DataFrame(rows)
    save_table(out_tsv, table)
    uniform = last_rows / 28
    lines = ["# MNIST digits read row by row: accuracy and where the saliency lies", "",
             f"Saliency measured on correctly classified test images. Last {last_rows} rows: share of the "
             f"saliency mass in the last {last_rows} of 28 rows (uniform = {uniform:.3f}). WJac / Euc: weighted "
             "Jaccard (higher is better) and Euclidean distance (lower is better) of the min-max scaled "
             "saliency against the digit's ink (pixels > 0.5), a rough ground truth.", "",
             f"| model | method | test accuracy % | last {last_rows} rows | first 14 rows | WJac vs ink | Euc vs ink |",
             "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.label} | {r.method} | {100 * r.test_accuracy:.2f} | "
                     f"{getattr(r, f'last_{last_rows}_rows_fraction'):.3f} | {r.first_half_fraction:.3f} | "
                     f"{r.wjac_vs_ink:.3f} | {r.euc_vs_ink:.3f} |")
    save_text(out_md, "\n".join(lines) + "\n")
    return table


def pick_examples(digits_of_samples, per_digit: int, seed: int) -> np.ndarray:
    """A fixed, seeded choice of ``per_digit`` test images of each digit."""
    rng = np.random.default_rng(seed)
    return np.concatenate([np.sort(rng.choice(np.flatnonzero(digits_of_samples == d), per_digit, replace=False))
                           for d in np.unique(digits_of_samples)])


def figures_step(data_path, maps_paths, models, metrics_paths, per_digit: int, seed: int, examples_png,
                 examples_pdf, profile_png, profile_pdf, profile_tsv) -> None:
    from .plots import mnist_examples_figure, mnist_profile_figure

    with np.load(data_path) as f:
        images, digit = f["images_test"], f["pattern_test"]
    chosen = pick_examples(digit, per_digit, seed)
    maps = {}
    for m, p in zip(models, maps_paths):
        with np.load(p) as f:
            maps[m] = (f["saliency"][chosen], f["pred"][chosen] == f["y"][chosen])
    save_figure(mnist_examples_figure(images[chosen], digit[chosen], maps), examples_png, examples_pdf)
    rows = []
    for m, p in zip(models, metrics_paths):
        t = pd.read_csv(p, sep="\t")
        t = t[t.correct == 1]
        cols = [c for c in t.columns if c.startswith("row_")]
        for d, g in t.groupby("digit"):
            rows += [{"model": m, "digit": int(d), "row": i, "share": float(v)}
                     for i, v in enumerate(g[cols].mean().to_numpy())]
    profile = pd.DataFrame(rows)
    save_table(profile_tsv, profile)
    save_figure(mnist_profile_figure(profile), profile_png, profile_pdf)
