"""Steps of ``rules/dynamics.smk`` (SPEC section 8): prepare, train, audit, table, capacity.

Audited networks are any trained single-layer LSTM of the workflow (synthetic, MNIST, HCP)
plus the sequential-MNIST LSTMs trained here at several hidden sizes (capacity analysis).
Every test set is read with :func:`vanishing_saliency.data.load_split`, so the audit is the
same code for all of them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ..data import load_split, load_splits, subsample
from ..dynamics import (
    CELL_METRICS,
    DynamicsError,
    ProbeSettings,
    ablation_errors,
    characterize,
    impact_correlations,
    one_cell_systems,
    power_law_slope,
)
from ..io import load_json, save_figure, save_json, save_npz, save_table, save_text
from ..mnist import load_digits, sequences
from ..models import REGISTRY
from ..tables.dynamics import capacity_markdown, capacity_table, network_markdown, network_table
from ..training import load_model
from ..workflow import Job
from .common import train_and_save

log = logging.getLogger("vanishing_saliency")


def probe_settings(cfg: dict) -> ProbeSettings:
    """The drive and metric settings of config ``dynamics.probe``."""
    return ProbeSettings(
        direction=cfg["input_direction"],
        feature=int(cfg["feature"]),
        step_amplitudes=tuple(cfg["step"]["amplitudes"]),
        step_steps=int(cfg["step"]["steps"]),
        sine_amplitudes=tuple(cfg["sine"]["amplitudes"]),
        sine_frequencies=tuple(cfg["sine"]["frequencies"]),
        sine_steps=int(cfg["sine"]["steps"]),
        sine_transient=int(cfg["sine"]["transient"]),
        settle_band=float(cfg["settle_band"]),
        settle_hold=float(cfg["settle_hold"]),
        abs_tol=float(cfg["abs_tol"]),
        final_window=int(cfg["final_window"]),
    )


def prepare(job: Job) -> None:
    """The audit's own task: MNIST digits as row or pixel sequences, in the split-array layout."""
    p, t = job.params, job.params.task
    d = load_digits(p.source, p.idx_folder, p.verify, t["digits"], t["max_train"], t["max_test"], p.seed)
    y_tr, y_te = d["train_labels"], d["test_labels"]
    x_tr = sequences(d["train_images"], t["sequence"], t["downsample"])
    x_te = sequences(d["test_images"], t["sequence"], t["downsample"])
    save_npz(
        job.output[0],
        x_train=x_tr,
        y_train=y_tr,
        lengths_train=np.full(len(y_tr), x_tr.shape[1]),
        x_test=x_te,
        y_test=y_te,
        lengths_test=np.full(len(y_te), x_te.shape[1]),
        digits=np.asarray(t["digits"]),
        seed=np.int64(p.seed),
    )
    log.info(
        "sequential MNIST (%s): %d train / %d test sequences of %d steps x %d features",
        t["sequence"],
        len(y_tr),
        len(y_te),
        x_tr.shape[1],
        x_tr.shape[2],
    )


def train(job: Job) -> dict:
    """One sequential-MNIST LSTM of the capacity series."""
    p, name = job.params, f"seqmnist_h{job.wildcards.hidden}"
    return train_and_save(
        load_splits(job.input[0]),
        job.output.model,
        "lstm",
        p.models,
        p.training,
        p.seed,
        job.threads,
        name,
        {"dataset": name},
    )


def audit(job: Job) -> pd.DataFrame:
    """Response metrics of every cell, single-cell ablation, heat-map and ablation figures for one network.

    ``input.split`` is the subject split of an HCP network's samples (empty for the other layouts)."""
    from ..plots.dynamics import dynamics_ablation_figure, dynamics_heatmap_figure

    i, o, cfg, network = job.input, job.output, job.params.dynamics, job.wildcards.network
    torch.set_num_threads(int(job.threads))
    model, meta = load_model(i.model)
    if REGISTRY[meta["architecture"]].cell != "lstm":
        raise DynamicsError(
            f"{i.model}: {meta['architecture']} is not a single-layer unidirectional LSTM "
            "(the audit isolates LSTM cells); remove it from dynamics.audit"
        )
    probe = probe_settings(cfg["probe"])
    records, primary = characterize(one_cell_systems(model.rnn, probe.direction, probe.feature), probe)
    n_cells = model.rnn.hidden_size

    test = subsample(
        load_split(i.data, "test", i.split[0] if i.split else None), cfg["ablation"]["max_test"], job.params.seed
    )
    errors = ablation_errors(model, test["x"], test["y"], test["lengths"], cfg["ablation"]["batch_size"])
    impact = errors[1:] - errors[0]
    cells = pd.DataFrame(
        {
            "network": network,
            "cell": np.arange(n_cells),
            **{m: primary[m] for m in CELL_METRICS},
            "settled": primary["settled"].astype(int),
            "ablation_error": errors[1:],
            "error_change": impact,
        }
    )
    save_table(o.cells, cells)
    inputs = ("probe", "amplitude_in", "frequency_in")
    probes = pd.concat(
        [
            pd.DataFrame(
                {
                    "network": network,
                    "cell": np.arange(n_cells),
                    "probe": r["probe"],
                    "amplitude_in": r["amplitude_in"],
                    "frequency_in": r["frequency_in"],
                    **{k: np.asarray(v, np.float64) for k, v in r.items() if k not in inputs},
                }
            )
            for r in records
        ],
        ignore_index=True,
    )
    save_table(o.probes, probes)
    rho = impact_correlations(primary, impact, ("delta", "amplitude", "settling_time"))
    summary = {
        "network": network,
        "model": str(i.model),
        "architecture": meta["architecture"],
        "n_cells": n_cells,
        "n_test": int(len(test["y"])),
        "test_error": float(errors[0]),
        "spearman_delta_vs_impact": rho["delta"][0],
        "spearman_delta_p": rho["delta"][1],
        "spearman_amplitude_vs_impact": rho["amplitude"][0],
        "spearman_amplitude_p": rho["amplitude"][1],
        "spearman_settling_vs_impact": rho["settling_time"][0],
        "spearman_settling_p": rho["settling_time"][1],
        "settled_fraction": float(primary["settled"].mean()),
        "probe": cfg["probe"],
    }
    save_json(o.summary, summary)

    # hidden states of the intact network for one test sequence, cells sorted by settling time
    k = min(int(cfg["heatmap_sample"]), len(test["y"]) - 1)
    with torch.no_grad():
        dtype = next(model.parameters()).dtype
        x = torch.as_tensor(test["x"][k : k + 1], dtype=dtype)
        lengths = torch.as_tensor(test["lengths"][k : k + 1])
        h = model.hidden_states(x, lengths)[0, : int(lengths[0])].numpy().T
    order = np.argsort(primary["settling_time"], kind="stable")
    save_figure(
        dynamics_heatmap_figure(h[order], primary["settling_time"][order], network, int(test["y"][k])),
        o.heatmap_png,
        o.heatmap_pdf,
    )
    save_figure(
        dynamics_ablation_figure(cells, network, errors[0], int(cfg["ablation"]["moving_average"]), rho),
        o.ablation_png,
        o.ablation_pdf,
    )
    log.info(
        "%s: %d cells, test error %.4f; settled %d/%d; Spearman |delta| vs impact %.3f, amplitude %.3f",
        network,
        n_cells,
        errors[0],
        int(primary["settled"].sum()),
        n_cells,
        rho["delta"][0],
        rho["amplitude"][0],
    )
    return cells


def table(job: Job) -> pd.DataFrame:
    """Their Table 1 (metric mean and sd per network, with the ablation correlations) and the sorted
    distributions of every metric."""
    from ..plots.dynamics import dynamics_distribution_figure

    cells = [pd.read_csv(p, sep="\t") for p in job.input.cells]
    t = network_table(cells, [load_json(p) for p in job.input.summaries])
    save_table(job.output.tsv, t)
    save_text(job.output.md, network_markdown(t))
    save_figure(dynamics_distribution_figure(pd.concat(cells, ignore_index=True)), job.output.png, job.output.pdf)
    return t


def capacity(job: Job) -> pd.DataFrame:
    """Each metric's mean and sd against hidden size, and the power-law slope of amplitude on N."""
    from ..plots.dynamics import dynamics_capacity_figure

    cells = [pd.read_csv(p, sep="\t") for p in job.input.cells]
    t = capacity_table(job.params.sizes, cells, power_law_slope)
    save_table(job.output.tsv, t)
    save_text(job.output.md, capacity_markdown(t))
    save_figure(dynamics_capacity_figure(t, float(t.amplitude_slope_loglog.iloc[0])), job.output.png, job.output.pdf)
    return t
