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


def mnist_examples_figure(images, digits, maps: dict):
    """Each chosen test image (row) with every model's |saliency| beside it; image rows = time steps,
    drawn top to bottom as read.  maps: model -> (saliency (n, 28, 28), correct (n,))."""
    from .metrics import minmax_scale

    models = list(maps)
    n = len(images)
    fig, axes = plt.subplots(n, 1 + len(models), figsize=(1.9 * (1 + len(models)), 1.9 * n), squeeze=False)
    for i in range(n):
        axes[i, 0].imshow(images[i], cmap="gray_r", vmin=0, vmax=255)
        axes[i, 0].set_ylabel(f"digit {int(digits[i])}\ntime (row) →", fontsize=7)
        for j, m in enumerate(models):
            sal, correct = maps[m]
            axes[i, j + 1].imshow(minmax_scale(sal[i:i + 1])[0], cmap="hot", vmin=0, vmax=1)
            if not correct[i]:
                axes[i, j + 1].text(1, 3, "misclassified", color="cyan", fontsize=6)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([0, 27])
            ax.tick_params(labelsize=6)
    axes[0, 0].set_title("image", fontsize=8)
    for j, m in enumerate(models):
        axes[0, j + 1].set_title(LABELS.get(m, m), fontsize=8)
    fig.suptitle("MNIST read row by row (time runs top to bottom): min-max scaled |saliency|", fontsize=9)
    fig.tight_layout()
    return fig


def mnist_profile_figure(profile):
    """Mean share of saliency mass per row (time step), one panel per digit, one line per model."""
    digits = sorted(set(profile.digit))
    fig, axes = plt.subplots(1, len(digits), figsize=(3.6 * len(digits), 3.4), sharey=True, squeeze=False)
    for ax, d in zip(axes[0], digits):
        for m in dict.fromkeys(profile.model):
            g = profile[(profile.model == m) & (profile.digit == d)].sort_values("row")
            ax.plot(g.row, g.share, marker="o", ms=2.5, label=LABELS.get(m, m))
        ax.axhline(1 / 28, color="grey", lw=0.8, ls=":", label="uniform")
        ax.set_title(f"digit {d}", fontsize=9)
        ax.set_xlabel("time step (image row)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("share of saliency mass")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Temporal saliency profile: mean share of |saliency| per row (time step), "
                 "correctly classified test images", fontsize=9)
    fig.tight_layout()
    return fig
