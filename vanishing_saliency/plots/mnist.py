"""Figures of the MNIST branch: example digits with each model's saliency (paper Fig. 6) and the
temporal saliency profile."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..labels import LABELS
from ..metrics import minmax_scale
from . import MIN_FONT_PT, colorbar


def mnist_examples_figure(images, digits, maps: dict):
    """Each chosen test image (row) with every model's |saliency| beside it; image rows = time steps,
    drawn top to bottom as read.  maps: model -> (saliency (n, 28, 28), correct (n,))."""

    models = list(maps)
    n = len(images)
    fig, axes = plt.subplots(n, 1 + len(models), figsize=(2.3 * (1 + len(models)) + 0.8, 2.0 * n), squeeze=False)
    im = None
    for i in range(n):
        axes[i, 0].imshow(images[i], cmap="gray_r", vmin=0, vmax=255)
        axes[i, 0].set_ylabel(f"digit {int(digits[i])}\nrow (time) →")
        for j, m in enumerate(models):
            sal, correct = maps[m]
            im = axes[i, j + 1].imshow(minmax_scale(sal[i : i + 1])[0], cmap="hot", vmin=0, vmax=1)
            if not correct[i]:
                axes[i, j + 1].text(1, 3, "misclassified", color="cyan", fontsize=MIN_FONT_PT)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([0, 27])
    axes[0, 0].set_title("image")
    for j, m in enumerate(models):
        axes[0, j + 1].set_title(LABELS.get(m, m))
    fig.suptitle("MNIST read row by row (time runs top to bottom)")
    fig.tight_layout()
    if im is not None:
        colorbar(fig, im, axes[:, 1:], "scaled |saliency|", fraction=0.03, pad=0.02)
    return fig


def mnist_profile_figure(profile):
    """Mean share of saliency mass per row (time step), one panel per digit, one line per model."""
    digits = sorted(set(profile.digit))
    fig, axes = plt.subplots(1, len(digits), figsize=(3.6 * len(digits), 3.4), sharey=True, squeeze=False)
    for ax, d in zip(axes[0], digits, strict=True):
        for m in dict.fromkeys(profile.model):
            g = profile[(profile.model == m) & (profile.digit == d)].sort_values("row")
            ax.plot(g.row, g.share, marker="o", ms=2.5, label=LABELS.get(m, m))
        ax.axhline(1 / 28, color="grey", lw=0.8, ls=":", label="uniform")
        ax.set_title(f"digit {d}")
        ax.set_xlabel("time step (image row)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("share of saliency mass")
    axes[0, 0].legend()
    fig.suptitle(
        "Temporal saliency profile: mean share of |saliency| per row (time step), correctly classified test images"
    )
    fig.tight_layout()
    return fig
