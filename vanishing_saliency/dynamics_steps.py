"""The cell-dynamics audit steps (SPEC section 8), one function per rule.

Audited networks are any trained single-layer LSTM of the workflow (synthetic,
MNIST, HCP) plus the sequential-MNIST LSTMs trained here at several hidden
sizes (capacity analysis).  Every test set is read through
:func:`load_test_set`, so the audit is the same code for all of them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from .dynamics import (CELL_METRICS, DynamicsError, ProbeSettings, ablation_errors, characterize,
                       impact_correlations, one_cell_systems, power_law_slope)
from .io import load_json, save_figure, save_json, save_npz, save_table, save_text
from .mnist import load_digits, normalise
from .models import REGISTRY
from .training import load_model

log = logging.getLogger("vanishing_saliency")

# Sequential MNIST 128-cell networks, Table 1 of the response-characterization paper (mean, sd):
# their definitions and pixel-by-pixel input; ours are documented in ``dynamics``.
REFERENCE_SEQ_MNIST_128 = {"settling_time": (6.96, 4.08), "delta": (-0.04, 0.58), "amplitude": (0.73, 0.30),
                           "correlation": (0.17, 0.08), "response_frequency": (9.83, 0.46)}
TABLE_METRICS = ("settling_time", "delta", "amplitude", "correlation", "pearson", "response_frequency")


def sequences(images: np.ndarray, mode: str, downsample: int = 1) -> np.ndarray:
    """Normalised MNIST images as sequences: ``rows`` (28 steps x 28 features) or ``pixels``
    (the image average-pooled by ``downsample``, then read pixel by pixel: (28/k)^2 steps x 1 feature)."""
    x = normalise(images)
    if mode == "rows":
        return x
    if mode != "pixels":
        raise DynamicsError(f"unknown dynamics.task.sequence {mode!r} (rows | pixels)")
    k = int(downsample)
    if k < 1 or 28 % k:
        raise DynamicsError(f"dynamics.task.downsample {k} must divide 28 (1, 2, 4, 7, 14)")
    n = 28 // k
    pooled = x.reshape(len(x), n, k, n, k).mean((2, 4))
    return pooled.reshape(len(x), n * n, 1).astype(np.float32)


def prepare_step(out_path, source: str, idx_folder, check: bool, digits, sequence: str, downsample: int,
                 max_train, max_test, seed: int) -> None:
    """The audit's own task: MNIST digits as row or pixel sequences, synthetic-dataset layout."""
    d = load_digits(source, idx_folder, check, digits, max_train, max_test, seed)
    y_tr, y_te = d["train_labels"], d["test_labels"]
    x_tr, x_te = sequences(d["train_images"], sequence, downsample), sequences(d["test_images"], sequence, downsample)
    save_npz(out_path, x_train=x_tr, y_train=y_tr, lengths_train=np.full(len(y_tr), x_tr.shape[1]),
             x_test=x_te, y_test=y_te, lengths_test=np.full(len(y_te), x_te.shape[1]), digits=np.asarray(digits),
             seed=np.int64(seed))
    log.info("sequential MNIST (%s): %d train / %d test sequences of %d steps x %d features", sequence, len(y_tr),
             len(y_te), x_tr.shape[1], x_tr.shape[2])


def load_test_set(kind: str, data_path, split_path=None, max_samples=None, seed: int = 0) -> dict:
    """Test ``x, y, lengths`` of a dataset file: ``npz`` (synthetic layout) or ``hcp`` (samples + split)."""
    if kind == "npz":
        with np.load(data_path) as f:
            test = {"x": f["x_test"], "y": f["y_test"], "lengths": f["lengths_test"]}
    elif kind == "hcp":
        from .hcp.experiments import load_samples

        test = {k: v for k, v in load_samples(data_path, split_path)["test"].items() if k in ("x", "y", "lengths")}
    else:
        raise DynamicsError(f"unknown test-set kind {kind!r} (npz | hcp)")
    if max_samples is not None and max_samples < len(test["y"]):
        keep = np.sort(np.random.default_rng(seed).choice(len(test["y"]), int(max_samples), replace=False))
        test = {k: v[keep] for k, v in test.items()}
    return test


def audit_step(network: str, model_path, data_path, kind: str, split_path, dyn_cfg: dict, seed: int,
               out_cells, out_probes, out_json, heatmap_png, heatmap_pdf, ablation_png, ablation_pdf,
               threads: int = 1) -> pd.DataFrame:
    """Response metrics of every cell, single-cell ablation, heat-map and ablation figures for one network."""
    from .plots import dynamics_ablation_figure, dynamics_heatmap_figure

    torch.set_num_threads(int(threads))
    model, meta = load_model(model_path)
    arch = REGISTRY[meta["architecture"]]
    if arch.cell != "lstm":
        raise DynamicsError(f"{model_path}: {meta['architecture']} is not a single-layer unidirectional LSTM "
                            "(the audit isolates LSTM cells); remove it from dynamics.audit")
    probe = ProbeSettings.from_config(dyn_cfg["probe"])
    records, primary = characterize(one_cell_systems(model.rnn, probe.direction, probe.feature), probe)
    n_cells = model.rnn.hidden_size

    test = load_test_set(kind, data_path, split_path, dyn_cfg["ablation"]["max_test"], seed)
    errors = ablation_errors(model, test["x"], test["y"], test["lengths"], dyn_cfg["ablation"]["batch_size"])
    impact = errors[1:] - errors[0]
    cells = pd.DataFrame({"network": network, "cell": np.arange(n_cells),
                          **{m: primary[m] for m in CELL_METRICS}, "settled": primary["settled"].astype(int),
                          "ablation_error": errors[1:], "error_change": impact})
    save_table(out_cells, cells)
    probes = pd.concat([pd.DataFrame({"network": network, "cell": np.arange(n_cells), "probe": r["probe"],
                                      "amplitude_in": r["amplitude_in"], "frequency_in": r["frequency_in"],
                                      **{k: np.asarray(v, np.float64) for k, v in r.items()
                                         if k not in ("probe", "amplitude_in", "frequency_in")}})
                        for r in records], ignore_index=True)
    save_table(out_probes, probes)
    rho = impact_correlations(primary, impact, ("delta", "amplitude", "settling_time"))
    summary = {"network": network, "model": str(model_path), "architecture": meta["architecture"],
               "n_cells": n_cells, "n_test": int(len(test["y"])), "test_error": float(errors[0]),
               "spearman_delta_vs_impact": rho["delta"][0], "spearman_delta_p": rho["delta"][1],
               "spearman_amplitude_vs_impact": rho["amplitude"][0], "spearman_amplitude_p": rho["amplitude"][1],
               "spearman_settling_vs_impact": rho["settling_time"][0], "spearman_settling_p": rho["settling_time"][1],
               "settled_fraction": float(primary["settled"].mean()), "probe": dyn_cfg["probe"]}
    save_json(out_json, summary)

    # hidden states of the intact network for one test sequence, cells sorted by settling time
    i = min(int(dyn_cfg["heatmap_sample"]), len(test["y"]) - 1)
    with torch.no_grad():
        dtype = next(model.parameters()).dtype
        x = torch.as_tensor(test["x"][i:i + 1], dtype=dtype)
        lengths = torch.as_tensor(test["lengths"][i:i + 1])
        h = model.hidden_states(x, lengths)[0, : int(lengths[0])].numpy().T
    order = np.argsort(primary["settling_time"], kind="stable")
    save_figure(dynamics_heatmap_figure(h[order], primary["settling_time"][order], network, int(test["y"][i])),
                heatmap_png, heatmap_pdf)
    save_figure(dynamics_ablation_figure(cells, network, errors[0], int(dyn_cfg["ablation"]["moving_average"]),
                                         rho), ablation_png, ablation_pdf)
    log.info("%s: %d cells, test error %.4f; settled %d/%d; Spearman |delta| vs impact %.3f, amplitude %.3f",
             network, n_cells, errors[0], int(primary["settled"].sum()), n_cells, rho["delta"][0],
             rho["amplitude"][0])
    return cells


def metric_stats(cells: pd.DataFrame) -> dict:
    """``<metric>_mean`` and ``<metric>_sd`` over a network's cells (NaN cells skipped, population sd)."""
    out = {}
    for m in TABLE_METRICS:
        out[f"{m}_mean"], out[f"{m}_sd"] = cells[m].mean(), cells[m].std(ddof=0)
    return out


def _mean_sd(row, metric: str) -> str:
    mean, sd = row[f"{metric}_mean"], row[f"{metric}_sd"]
    return "n/a" if not np.isfinite(mean) else f"{mean:.3f} ± {sd:.3f}"


def _num(value) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"


def read_cells(cells_tsvs) -> list[pd.DataFrame]:
    return [pd.read_csv(p, sep="\t") for p in cells_tsvs]


def table_step(cells: list[pd.DataFrame], jsons, out_tsv, out_md) -> pd.DataFrame:
    """Their Table 1: mean and standard deviation of each metric per network, with the ablation correlations.

    ``cells``: each network's cells table (:func:`read_cells`), in the order of ``jsons``."""
    rows = []
    for frame, jpath in zip(cells, jsons):
        info = load_json(jpath)
        rows.append({"network": info["network"], "architecture": info["architecture"], "n_cells": info["n_cells"],
                     "test_error": info["test_error"], "settled_fraction": info["settled_fraction"],
                     **metric_stats(frame),
                     "spearman_delta_vs_impact": info["spearman_delta_vs_impact"],
                     "spearman_amplitude_vs_impact": info["spearman_amplitude_vs_impact"]})
    table = pd.DataFrame(rows)
    save_table(out_tsv, table)
    lines = ["# Response characterization of LSTM cells (mean ± sd over cells)", "",
             "Step and sine responses of every hidden cell isolated as a one-cell system (definitions in "
             "`vanishing_saliency.dynamics`; settling time in steps, frequency in cycles per step). "
             "ρ: Spearman correlation of |delta response| and of sine amplitude with the change in test error "
             "when the cell is ablated (n/a: no cell changes the error).", "",
             "| network | cells | test error % | settling time | delta | amplitude | correlation | pearson | "
             "frequency | settled | ρ(abs. delta, impact) | ρ(amplitude, impact) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['n_cells']} | {100 * r['test_error']:.2f} | "
                     + " | ".join(_mean_sd(r, m) for m in TABLE_METRICS)
                     + f" | {100 * r['settled_fraction']:.0f} % | {_num(r['spearman_delta_vs_impact'])} | "
                     f"{_num(r['spearman_amplitude_vs_impact'])} |")
    ref = REFERENCE_SEQ_MNIST_128
    lines += ["", "Reference (their Table 1, sequential MNIST pixel by pixel, 128 cells, their definitions): "
              + ", ".join(f"{k.replace('_', ' ')} {m:.2f} ± {s:.2f}" for k, (m, s) in ref.items()) + "."]
    save_text(out_md, "\n".join(lines) + "\n")
    return table


def distributions_step(cells: list[pd.DataFrame], png, pdf) -> None:
    from .plots import dynamics_distribution_figure

    save_figure(dynamics_distribution_figure(pd.concat(cells, ignore_index=True)), png, pdf)


def capacity_step(sizes, cells_tsvs, out_tsv, out_md, png, pdf) -> pd.DataFrame:
    """Each metric's mean and sd against hidden size, and the power-law slope of amplitude on N."""
    from .plots import dynamics_capacity_figure

    rows = []
    for n, path in zip(sizes, cells_tsvs):
        cells = pd.read_csv(path, sep="\t")
        rows.append({"hidden": int(n), "test_error": float(cells.ablation_error.iloc[0] - cells.error_change.iloc[0]),
                     **metric_stats(cells), "mean_abs_error_change": cells.error_change.abs().mean()})
    table = pd.DataFrame(rows).sort_values("hidden")
    slope = power_law_slope(table.hidden, table.amplitude_mean)
    table["amplitude_slope_loglog"] = slope
    save_table(out_tsv, table)
    lines = ["# Capacity: cell metrics against hidden size (sequential MNIST)", "",
             f"Power-law fit of the mean sine amplitude on hidden size N: amplitude ~ N^{slope:.2f} "
             f"(1/N would be N^-1.00).", "",
             "| hidden | test error % | settling time | delta | amplitude | correlation | frequency | "
             "mean abs. ablation impact % |", "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.hidden} | {100 * r.test_error:.2f} | {r.settling_time_mean:.2f} ± {r.settling_time_sd:.2f}"
                     f" | {r.delta_mean:.3f} ± {r.delta_sd:.3f} | {r.amplitude_mean:.3f} ± {r.amplitude_sd:.3f} | "
                     f"{r.correlation_mean:.3f} ± {r.correlation_sd:.3f} | "
                     f"{r.response_frequency_mean:.3f} ± {r.response_frequency_sd:.3f} | "
                     f"{100 * r.mean_abs_error_change:.3f} |")
    save_text(out_md, "\n".join(lines) + "\n")
    save_figure(dynamics_capacity_figure(table, slope), png, pdf)
    return table
