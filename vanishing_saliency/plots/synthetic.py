"""Figures of the synthetic-box branch: moving-box curves (paper Fig. 5), saliency after every
epoch, partial input-cell attention against its window, and saliency heat-maps (Fig. 3)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ..labels import LABELS
from ..metrics import minmax_scale
from . import colorbar


def moving_box_figure(summary):
    """WJac and AUROC against box start (paper Fig. 5): one line per model (mean ± sd over seeds), a hollow marker
    where the model did not learn at that start (not every run above its label-permutation null: the gate the
    claims read), its untrained floor dotted (mean ± sd over as many untrained runs), the noise map dashed.
    ``summary``: moving-box cells with ``box_start`` (and ``learned``)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    trained = summary[summary.kind == "trained"]
    for k, model in enumerate(dict.fromkeys(trained.model)):
        color = colors[k % len(colors)]
        for kind, style in (("trained", "-"), ("untrained", ":")):
            part = summary[(summary.model == model) & (summary.kind == kind)].sort_values("box_start")
            if part.empty:
                continue
            for ax, col in zip(axes, ("wjac", "auroc"), strict=True):
                name = LABELS.get(model, model) + (" (untrained)" if kind == "untrained" else "")
                ax.errorbar(
                    part.box_start,
                    part[col],
                    yerr=part[f"{col}_sd"],
                    ls=style,
                    capsize=3,
                    color=color,
                    label=name,
                    alpha=1.0 if kind == "trained" else 0.6,
                )
                if kind == "trained":
                    ok = part.learned.fillna(False).astype(bool) if "learned" in part else np.ones(len(part), bool)
                    ax.plot(part.box_start[ok], part[col][ok], "o", ms=5, color=color)
                    ax.plot(part.box_start[~ok], part[col][~ok], "o", ms=5, mfc="white", color=color)
    noise = summary[summary.kind == "noise"].sort_values("box_start")
    for ax, col in zip(axes, ("wjac", "auroc"), strict=True):
        ax.plot(noise.box_start, noise[col], "k--", lw=1, label="noise map |N(0,1)|")
        ax.set_xlabel("box start (time step)")
        ax.set_xticks(sorted(noise.box_start.unique()))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("weighted Jaccard")
    axes[1].set_ylabel("AUROC (0.5 = no knowledge)")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(4, len(names)), frameon=False)
    fig.suptitle(
        "Saliency quality as the box moves later in time\n(gradient saliency; dotted: untrained; hollow: the model did "
        "not learn at that start)"
    )
    fig.tight_layout(rect=(0, 0.08 + 0.05 * ((len(names) - 1) // 4), 1, 1))
    return fig


def partial_window_figure(runs, noise_auroc: float, n_time: int):
    """Gradient AUROC (left) and test accuracy (right) of partial input-cell attention against its window K: one
    dot per training run (hollow: the run is at chance), the mean over runs joined; the noise map's AUROC dashed.
    ``runs``: one row per (window, run) with ``window``, ``auroc``, ``test_accuracy``, ``at_chance``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    windows = sorted(runs.window.unique())
    means = runs.groupby("window").mean(numeric_only=True).loc[windows]
    for ax, col in zip(axes, ("auroc", "test_accuracy"), strict=True):
        ax.plot(windows, means[col], "-", color="C0", label="mean over runs")
        chance = runs.at_chance.astype(bool)
        ax.plot(runs.window[~chance], runs[col][~chance], "o", color="C0", ms=5, label="a training run")
        if chance.any():
            ax.plot(runs.window[chance], runs[col][chance], "o", mfc="none", color="C0", ms=5, label="a run at chance")
        ax.set_xscale("log")
        ax.set_xticks(windows)
        ax.set_xticklabels([str(w) for w in windows])
        ax.minorticks_off()
        ax.set_xlabel("window K (steps each step attends to)")
        ax.grid(alpha=0.3)
    axes[0].axhline(noise_auroc, color="k", ls="--", lw=1, label="noise map |N(0,1)|")
    axes[0].set_ylabel("AUROC against the box (0.5 = no knowledge)")
    axes[1].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8)
    dataset = runs.dataset.iloc[0]
    fig.suptitle(
        f"{dataset}: partial input-cell attention, gradient saliency against the window K\n"
        f"(K = 1: a plain LSTM; K >= {n_time} steps: full input-cell attention)"
    )
    fig.tight_layout()
    return fig


def epoch_curve_figure(curve):
    """WJac, AUROC and test accuracy after every training epoch, one line per model; the epoch the
    first_best rule keeps is circled."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for model, g in curve.groupby("model", sort=False):
        g = g.sort_values("epoch")
        for ax, col in zip(axes, ("wjac", "auroc", "test_accuracy"), strict=True):
            (line,) = ax.plot(g.epoch, g[col], marker="o", ms=3, label=LABELS.get(model, model))
            kept = g[g.kept_by_first_best.astype(bool)]
            ax.plot(kept.epoch, kept[col], "o", mfc="none", ms=10, color=line.get_color())
    for ax, name in zip(axes, ("weighted Jaccard", "AUROC against the box", "test accuracy"), strict=True):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch (0 = initial weights)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[1].axhline(0.5, color="grey", lw=0.8, ls=":")
    axes[0].legend()
    dataset = curve.dataset.iloc[0]
    fig.suptitle(f"{dataset}: gradient saliency quality through training (circle: the epoch first_best keeps)")
    fig.tight_layout()
    return fig


def saliency_heatmaps(examples: list[dict], dataset: str, sample: int = 0):
    """One example test sample: input, ground-truth box, then each model's min-max scaled |saliency|.

    ``examples``: one dict per model as written by the saliency step (keys x, mask, saliency, y,
    architecture, method); the same sample index is shown for every model.
    """

    first = examples[0]
    panels = [
        (f"input (class {int(first['y'][sample])})", first["x"][sample], "RdBu_r"),
        ("ground truth", first["mask"][sample].astype(float), "Greys"),
    ]
    for ex in examples:
        panels.append(
            (
                LABELS.get(str(ex["architecture"]), str(ex["architecture"])),
                minmax_scale(ex["saliency"][sample : sample + 1])[0],
                "viridis",
            )
        )
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), sharex=True, sharey=True, squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    quantity = {"RdBu_r": "input value (z)", "Greys": "in the box (1) or not (0)", "viridis": "scaled |saliency|"}
    for ax, (title, img, cmap) in zip(axes.flat, panels, strict=False):  # the grid may have spare axes
        # time runs along x as in the paper's figures
        kw = {"vmin": 0, "vmax": 1} if cmap != "RdBu_r" else {"vmin": -3, "vmax": 3}
        im = ax.imshow(np.asarray(img).T, aspect="auto", origin="lower", cmap=cmap, interpolation="nearest", **kw)
        ax.set_title(title)
        colorbar(fig, im, ax, quantity[cmap], fraction=0.05, pad=0.02)
    for ax in axes[-1]:
        ax.set_xlabel("time")
    for ax in axes[:, 0]:
        ax.set_ylabel("feature")
    fig.suptitle(f"{dataset}: saliency ({first['method']}) of one test sample")
    fig.tight_layout()
    return fig
