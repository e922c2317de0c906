"""Figures: the moving-box curves (paper Fig. 5) and saliency heat-maps (Fig. 3)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .models import LABELS  # noqa: E402


def moving_box_figure(summary, starts: dict):
    """WJac and Euc against box start, one line per model.  ``starts``: dataset -> start step."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for model in dict.fromkeys(summary.model):
        part = summary[summary.model == model].copy()
        part["start"] = part.dataset.map(starts)
        part = part.sort_values("start")
        for ax, col in zip(axes, ("wjac", "euc")):
            ax.plot(part.start, part[col], marker="o", label=LABELS.get(model, model))
    axes[0].set_ylabel("weighted Jaccard (higher is better)")
    axes[1].set_ylabel("Euclidean distance (lower is better)")
    for ax in axes:
        ax.set_xlabel("box start (time step)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Saliency quality as the box moves later in time")
    fig.tight_layout()
    return fig


def saliency_heatmaps(examples: list[dict], dataset: str, sample: int = 0):
    """One example test sample: input, ground-truth box, then each model's min-max scaled |saliency|.

    ``examples``: one dict per model as written by the saliency step (keys x, mask, saliency, y,
    architecture, method); the same sample index is shown for every model.
    """
    from .metrics import minmax_scale

    first = examples[0]
    panels = [("input (class %d)" % int(first["y"][sample]), first["x"][sample], "RdBu_r"),
              ("ground truth", first["mask"][sample].astype(float), "Greys")]
    for ex in examples:
        panels.append((LABELS.get(str(ex["architecture"]), str(ex["architecture"])),
                       minmax_scale(ex["saliency"][sample:sample + 1])[0], "viridis"))
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.7 * nrows), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (title, img, cmap) in zip(axes.flat, panels):
        # time runs along x as in the paper's figures
        kw = {"vmin": 0, "vmax": 1} if cmap != "RdBu_r" else {"vmin": -3, "vmax": 3}
        ax.imshow(np.asarray(img).T, aspect="auto", origin="lower", cmap=cmap, interpolation="nearest", **kw)
        ax.set_title(title, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time")
    for ax in axes[:, 0]:
        ax.set_ylabel("feature")
    fig.suptitle(f"{dataset}: saliency ({first['method']}) of one test sample", fontsize=10)
    fig.tight_layout()
    return fig
