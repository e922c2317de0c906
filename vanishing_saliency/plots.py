"""Figures of the synthetic, MNIST and cell-dynamics branches: moving-box curves (paper Fig. 5), saliency
heat-maps (Fig. 3), MNIST examples (Fig. 6) and temporal profile, cell heat-maps, ablation, distributions
and capacity.  The HCP figures are in :mod:`vanishing_saliency.hcp.figures`."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figstyle import MIN_FONT_PT, colorbar  # noqa: F401 (sets the style before pyplot draws)
from .labels import LABELS  # noqa: E402


def moving_box_figure(summary):
    """WJac and AUROC against box start (paper Fig. 5): one line per model (mean ± sd over seeds), its
    untrained floor dotted (mean ± sd over as many untrained runs), the noise map dashed.  ``summary``:
    moving-box cells with ``box_start``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    trained = summary[summary.kind == "trained"]
    for k, model in enumerate(dict.fromkeys(trained.model)):
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
                    marker="o" if kind == "trained" else None,
                    ms=4,
                    capsize=3,
                    color=colors[k % len(colors)],
                    label=name,
                    alpha=1.0 if kind == "trained" else 0.6,
                )
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
    fig.suptitle("Saliency quality as the box moves later in time (gradient saliency; dotted: untrained)")
    fig.tight_layout(rect=(0, 0.08 + 0.05 * ((len(names) - 1) // 4), 1, 1))
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
    from .metrics import minmax_scale

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
    for ax, (title, img, cmap) in zip(axes.flat, panels, strict=True):
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


def mnist_examples_figure(images, digits, maps: dict):
    """Each chosen test image (row) with every model's |saliency| beside it; image rows = time steps,
    drawn top to bottom as read.  maps: model -> (saliency (n, 28, 28), correct (n,))."""
    from .metrics import minmax_scale

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


# ---- cell dynamics (response characterization) ------------------------------------
DYNAMICS_PANELS = (
    ("settling_time", "settling time (steps)"),
    ("delta", "delta response"),
    ("amplitude", "sine amplitude"),
    ("correlation", "input-output correlation"),
    ("response_frequency", "response frequency (cycles/step)"),
)


def dynamics_heatmap_figure(h, settling, network: str, label: int):
    """Hidden states ``h: (cells, time)`` of one input sequence, rows already sorted by settling time."""
    n_cells, n_time = h.shape
    fig, ax = plt.subplots(figsize=(7, min(1.5 + 0.08 * n_cells, 9) if n_cells > 8 else 2.6))
    lim = max(float(np.abs(h).max()), 1e-6)
    im = ax.imshow(h, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_xlabel("time step")
    ax.set_ylabel("cell (sorted by settling time)")
    if n_cells <= 16:
        ax.set_yticks(range(n_cells), [f"{s:.0f}" for s in settling])
        ax.set_ylabel("cell, labelled by settling time (steps)")
    colorbar(fig, im, ax, "hidden state h")
    ax.set_title(f"{network}: hidden states for one test sequence (class {label})")
    fig.tight_layout()
    return fig


def dynamics_ablation_figure(cells, network: str, base_error: float, window: int, rho: dict):
    """Change in test error when each cell is ablated, against the cell's rank by each metric."""
    from .dynamics import moving_average

    panels = (("delta", "|delta response|"), ("amplitude", "sine amplitude"), ("settling_time", "settling time"))
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.3), sharey=True)
    for ax, (col, name) in zip(axes, panels, strict=True):
        order = np.argsort(np.abs(cells[col].to_numpy()), kind="stable")
        change = 100 * cells.error_change.to_numpy()[order]
        ax.scatter(np.arange(len(order)), change, s=8, alpha=0.6, label="one cell")
        ax.plot(
            np.arange(len(order)),
            moving_average(change, window),
            color="C3",
            label=f"moving average ({min(window, len(order))})",
        )
        title = f"cells ranked by {name}"
        if col in rho and np.isfinite(rho[col][0]):
            title += f"\nSpearman ρ = {rho[col][0]:.2f}"
        ax.set_title(title)
        ax.set_xlabel("rank (smallest first)")
        ax.axhline(0, color="grey", lw=0.6)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("change in test error (points %)")
    axes[0].legend()
    fig.suptitle(f"{network}: single-cell ablation (intact test error {100 * base_error:.2f} %)")
    fig.tight_layout()
    return fig


def dynamics_distribution_figure(cells):
    """Per metric, each network's cell values sorted (their Fig. 2-3)."""
    fig, axes = plt.subplots(1, len(DYNAMICS_PANELS), figsize=(15, 3.4))
    for network, part in cells.groupby("network", sort=False):
        for ax, (col, _) in zip(axes, DYNAMICS_PANELS, strict=True):
            v = np.sort(part[col].to_numpy(np.float64))
            v = v[np.isfinite(v)]
            if len(v):
                ax.plot(np.linspace(0, 1, len(v)), v, marker="." if len(v) < 20 else None, label=network)
    for ax, (_, name) in zip(axes, DYNAMICS_PANELS, strict=True):
        ax.set_title(name)
        ax.set_xlabel("cell quantile (sorted)")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("Distribution of cell response metrics per network")
    fig.tight_layout()
    return fig


def dynamics_capacity_figure(table, slope: float):
    """Each metric's mean (± sd) against hidden size; amplitude on log-log axes with a 1/N guide."""
    fig, axes = plt.subplots(1, len(DYNAMICS_PANELS), figsize=(15, 3.4))
    n = table.hidden.to_numpy(np.float64)
    for ax, (col, name) in zip(axes, DYNAMICS_PANELS, strict=True):
        ax.errorbar(n, table[f"{col}_mean"], yerr=table[f"{col}_sd"], marker="o", capsize=3)
        ax.set_title(name)
        ax.set_xlabel("hidden size N")
        ax.grid(alpha=0.3)
        if col == "amplitude":
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_xticks(n, [str(int(v)) for v in n])
            ref = table.amplitude_mean.to_numpy()[0] * n[0] / n
            ax.plot(n, ref, ls=":", color="grey", label="1/N")
            ax.set_title(f"{name} (fit N^{slope:.2f})")
            ax.legend()
    fig.suptitle("Capacity: cell metrics against hidden size (sequential MNIST)")
    fig.tight_layout()
    return fig
