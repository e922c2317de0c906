"""Figures of the cell-dynamics audit: hidden-state heat-maps, single-cell ablation, the metric
distributions per network and the metrics against hidden size."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from . import colorbar

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
    from ..dynamics import moving_average

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
