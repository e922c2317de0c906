"""The cell-dynamics tables: metrics per network (their Table 1) and against hidden size (capacity)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import markdown_table, num

# Sequential MNIST 128-cell networks, Table 1 of the response-characterization paper (mean, sd):
# their definitions and pixel-by-pixel input; ours are documented in ``dynamics``.
REFERENCE_SEQ_MNIST_128 = {
    "settling_time": (6.96, 4.08),
    "delta": (-0.04, 0.58),
    "amplitude": (0.73, 0.30),
    "correlation": (0.17, 0.08),
    "response_frequency": (9.83, 0.46),
}
TABLE_METRICS = ("settling_time", "delta", "amplitude", "correlation", "pearson", "response_frequency")


def metric_stats(cells: pd.DataFrame) -> dict:
    """``<metric>_mean`` and ``<metric>_sd`` over a network's cells (NaN cells skipped, population sd)."""
    out = {}
    for m in TABLE_METRICS:
        out[f"{m}_mean"], out[f"{m}_sd"] = cells[m].mean(), cells[m].std(ddof=0)
    return out


def _mean_sd(row, metric: str) -> str:
    mean, sd = row[f"{metric}_mean"], row[f"{metric}_sd"]
    return "n/a" if not np.isfinite(mean) else f"{mean:.3f} ± {sd:.3f}"


def network_table(cells: list[pd.DataFrame], summaries: list[dict]) -> pd.DataFrame:
    """One row per audited network: ``cells`` (each network's cells table) and its audit summary."""
    rows = []
    for frame, info in zip(cells, summaries, strict=True):
        rows.append(
            {
                "network": info["network"],
                "architecture": info["architecture"],
                "n_cells": info["n_cells"],
                "test_error": info["test_error"],
                "settled_fraction": info["settled_fraction"],
                **metric_stats(frame),
                "spearman_delta_vs_impact": info["spearman_delta_vs_impact"],
                "spearman_amplitude_vs_impact": info["spearman_amplitude_vs_impact"],
            }
        )
    return pd.DataFrame(rows)


def network_markdown(table: pd.DataFrame) -> str:
    lines = [
        "# Response characterization of LSTM cells (mean ± sd over cells)",
        "",
        "Step and sine responses of every hidden cell isolated as a one-cell system (definitions in "
        "`vanishing_saliency.dynamics`; settling time in steps, frequency in cycles per step). "
        "ρ: Spearman correlation of |delta response| and of sine amplitude with the change in test error "
        "when the cell is ablated (n/a: no cell changes the error).",
        "",
    ]
    header = ["network", "cells", "test error %", "settling time", "delta", "amplitude", "correlation", "pearson"]
    header += ["frequency", "settled", "ρ(abs. delta, impact)", "ρ(amplitude, impact)"]
    lines += markdown_table(
        header,
        (
            [
                r["network"],
                r["n_cells"],
                f"{100 * r['test_error']:.2f}",
                *(_mean_sd(r, m) for m in TABLE_METRICS),
                f"{100 * r['settled_fraction']:.0f} %",
                num(r["spearman_delta_vs_impact"]),
                num(r["spearman_amplitude_vs_impact"]),
            ]
            for r in table.to_dict("records")
        ),
    )
    ref = REFERENCE_SEQ_MNIST_128
    lines += [
        "",
        "Reference (their Table 1, sequential MNIST pixel by pixel, 128 cells, their definitions): "
        + ", ".join(f"{k.replace('_', ' ')} {m:.2f} ± {s:.2f}" for k, (m, s) in ref.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def capacity_table(sizes, cells: list[pd.DataFrame], slope_of) -> pd.DataFrame:
    """Each metric's mean and sd against hidden size, with ``slope_of(hidden, amplitude_mean)``."""
    rows = []
    for n, frame in zip(sizes, cells, strict=True):
        rows.append(
            {
                "hidden": int(n),
                "test_error": float(frame.ablation_error.iloc[0] - frame.error_change.iloc[0]),
                **metric_stats(frame),
                "mean_abs_error_change": frame.error_change.abs().mean(),
            }
        )
    table = pd.DataFrame(rows).sort_values("hidden")
    table["amplitude_slope_loglog"] = slope_of(table.hidden, table.amplitude_mean)
    return table


def capacity_markdown(table: pd.DataFrame) -> str:
    slope = float(table.amplitude_slope_loglog.iloc[0])
    lines = [
        "# Capacity: cell metrics against hidden size (sequential MNIST)",
        "",
        f"Power-law fit of the mean sine amplitude on hidden size N: amplitude ~ N^{slope:.2f} (1/N would be N^-1.00).",
        "",
    ]
    header = ["hidden", "test error %", "settling time", "delta", "amplitude", "correlation", "frequency"]
    lines += markdown_table(
        [*header, "mean abs. ablation impact %"],
        (
            [
                r.hidden,
                f"{100 * r.test_error:.2f}",
                f"{r.settling_time_mean:.2f} ± {r.settling_time_sd:.2f}",
                f"{r.delta_mean:.3f} ± {r.delta_sd:.3f}",
                f"{r.amplitude_mean:.3f} ± {r.amplitude_sd:.3f}",
                f"{r.correlation_mean:.3f} ± {r.correlation_sd:.3f}",
                f"{r.response_frequency_mean:.3f} ± {r.response_frequency_sd:.3f}",
                f"{100 * r.mean_abs_error_change:.3f}",
            ]
            for r in table.itertuples()
        ),
    )
    return "\n".join(lines) + "\n"
