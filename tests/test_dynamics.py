"""Cell-dynamics audit: one-cell LSTMs with hand-set weights whose answers are known analytically,
the masked recurrence and single-cell ablation, and the audit run by Snakemake on a tiny config."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from report_check import check_report
from torch import nn

from vanishing_saliency.dynamics import (
    DynamicsError,
    ProbeSettings,
    ablation_errors,
    characterize,
    input_directions,
    masked_hidden_states,
    moving_average,
    one_cell_systems,
    power_law_slope,
    simulate,
    sine_metrics,
    step_metrics,
)
from vanishing_saliency.errors import ConfigError
from vanishing_saliency.mnist import sequences
from vanishing_saliency.models import ModelConfig, build_model

ROOT = Path(__file__).resolve().parents[1]
BIG = 40.0  # a gate bias that saturates the sigmoid (sigmoid(40) = 1 - 4e-18)


def one_cell(a_cell=1.0, b_input=BIG, b_forget=-BIG, b_output=BIG, b_cell=0.0, w_self=0.0, n_features=1):
    """A 1-cell LSTM: input gate open, forget gate shut, output open unless told otherwise."""
    rnn = nn.LSTM(n_features, 1, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.zero_()
        rnn.weight_hh_l0.zero_()
        rnn.bias_hh_l0.zero_()
        rnn.weight_ih_l0[2] = a_cell
        rnn.weight_hh_l0[2, 0] = w_self
        rnn.bias_ih_l0.copy_(torch.tensor([b_input, b_forget, b_cell, b_output], dtype=torch.float64))
    return rnn


def probe(**kw):
    return ProbeSettings(
        **{
            "step_amplitudes": (1.0,),
            "step_steps": 100,
            "sine_amplitudes": (1.0,),
            "sine_frequencies": (0.05,),
            "sine_steps": 200,
            "sine_transient": 100,
            **kw,
        }
    )


def test_memoryless_cell_has_closed_form_responses():
    # forget gate shut, input and output open: h_t = tanh(tanh(A s_t)) exactly
    _, m = characterize(one_cell_systems(one_cell()), probe())
    assert m["initial"][0] == pytest.approx(0.0, abs=1e-12)
    assert m["final"][0] == pytest.approx(np.tanh(np.tanh(1.0)), abs=1e-12)
    assert m["delta"][0] == pytest.approx(np.tanh(np.tanh(1.0)), abs=1e-12)
    assert m["settling_time"][0] == 0 and m["settled"][0]
    # sine of period 20 hits its peak at t = 5 + 20k: half peak-to-peak = tanh(tanh(1))
    assert m["amplitude"][0] == pytest.approx(np.tanh(np.tanh(1.0)), abs=1e-12)
    assert m["response_frequency"][0] == pytest.approx(0.05)
    assert m["pearson"][0] > 0.99 and m["correlation"][0] > 0


def test_negative_gain_gives_negative_correlation_and_delta():
    _, m = characterize(one_cell_systems(one_cell(a_cell=-2.0)), probe())
    assert m["delta"][0] < -0.5 and m["pearson"][0] < -0.95 and m["correlation"][0] < 0


def test_forget_bias_sets_the_settling_time():
    # small drive (tanh ~ linear), input gate half open, forget gate f = sigmoid(b): after the step
    # c_k = c* (1 - f^(k+1)), so the cell is outside the 10 % band for ceil(ln 0.1 / ln f) - 1 steps
    for b_forget in (-BIG, 0.0, 1.0, 2.0):
        _, m = characterize(one_cell_systems(one_cell(a_cell=0.02, b_forget=b_forget, b_input=0.0)), probe())
        f = 1 / (1 + np.exp(-b_forget))
        expected = max(np.ceil(np.log(0.1) / np.log(f)) - 1, 0) if f > 1e-12 else 0
        assert m["settled"][0] and abs(m["settling_time"][0] - expected) <= 1, (b_forget, m["settling_time"][0])
    # f = sigmoid(8) = 0.99966: far from settled 50 steps after the step -> censored at the window, not settled
    _, m = characterize(one_cell_systems(one_cell(a_cell=0.02, b_forget=8.0, b_input=0.0)), probe())
    assert not m["settled"][0] and m["settling_time"][0] == 50


def test_output_gate_near_zero_gives_near_zero_responses():
    _, m = characterize(one_cell_systems(one_cell(b_output=-20.0)), probe())
    assert abs(m["delta"][0]) < 1e-8 and m["amplitude"][0] < 1e-8
    assert np.isnan(m["response_frequency"][0])  # flat output: no frequency


def test_settling_time_on_hand_made_traces():
    change, post = 10, np.ones(40)
    h = np.concatenate([np.zeros(change), post])[None].repeat(3, 0)
    h[1, change : change + 7] = np.linspace(0, 0.85, 7)  # enters the 10 % band (>= 0.9) at step 7
    h[2, change:] = 1 + 0.5 * (-1) ** np.arange(40)  # oscillates forever
    m = step_metrics(h, change, band=0.9, abs_tol=1e-3, final_window=5)
    assert list(m["settling_time"][:2]) == [0, 7] and list(m["settled"]) == [True, True, False]
    assert m["settling_time"][2] == 40
    loose = step_metrics(h, change, band=0.5, abs_tol=1e-3, final_window=5)  # 50 % band: 0.5 <= h
    assert loose["settling_time"][1] == 4
    with pytest.raises(ConfigError, match="settle_band"):
        step_metrics(h, change, band=1.5)


def test_sine_metrics_known_answers():
    t = np.arange(400)
    x = 2.0 * np.sin(2 * np.pi * 0.05 * t)  # frequencies whose peaks fall on whole steps
    y = np.stack([0.3 * np.sin(2 * np.pi * 0.05 * t), 0.3 * np.sin(2 * np.pi * 0.25 * t), np.zeros(400)])
    m = sine_metrics(y, x, transient=200)
    assert m["amplitude"][:2] == pytest.approx([0.3, 0.3], abs=1e-3)
    assert m["response_frequency"][:2] == pytest.approx([0.05, 0.25])
    assert m["pearson"][0] == pytest.approx(1.0) and abs(m["pearson"][1]) < 1e-9
    # SPEC's correlation: sum (x - mean x)(y - mean y) = 2 * 0.3 * 200 / 2 over 10 whole periods
    assert m["correlation"][0] == pytest.approx(60.0, rel=1e-9)
    assert np.isnan(m["response_frequency"][2]) and np.isnan(m["pearson"][2])


def test_one_cell_simulation_equals_torch_for_a_diagonal_network():
    torch.manual_seed(0)
    rnn = nn.LSTM(3, 4, batch_first=True).double()
    with torch.no_grad():  # no cross-talk between cells: each cell is then exactly its one-cell system
        keep = torch.zeros_like(rnn.weight_hh_l0)
        for k in range(4):
            keep[k * 4 + torch.arange(4), torch.arange(4)] = 1
        rnn.weight_hh_l0.mul_(keep)
    drive = np.sin(0.3 * np.arange(60))
    for direction in ("ones", "feature", "own"):
        d = input_directions(rnn.weight_ih_l0.detach().numpy(), direction, feature=1)
        h = simulate(one_cell_systems(rnn, direction, feature=1), drive[None])[0]
        for u in range(4):
            out, _ = rnn(torch.tensor(drive[:, None] * d[u][None])[None])
            assert np.allclose(out[0, :, u].detach().numpy(), h[u], atol=1e-12)


def test_input_directions():
    w = np.zeros((8, 3))
    w[4:6] = [[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]]  # candidate rows of 2 cells
    assert (input_directions(w, "ones") == 1).all()
    assert input_directions(w, "feature", 2)[:, 2].tolist() == [1, 1]
    assert np.allclose(input_directions(w, "own"), [[0.6, 0, 0.8], [0, 0, 0]])
    with pytest.raises(ConfigError, match="outside"):
        input_directions(w, "feature", 3)
    with pytest.raises(ConfigError, match="input_direction"):
        input_directions(w, "mean")


def _model(hidden=4, seed=0):
    torch.manual_seed(seed)
    model = build_model("lstm", ModelConfig(n_features=3, n_classes=2, hidden=hidden, dropout=0.0)).double()
    return model.eval()


def test_masked_recurrence_matches_the_model_and_ablation_removes_the_cell():
    model = _model()
    x = torch.randn(5, 12, 3, dtype=torch.float64)
    keep = torch.ones(2, 4, dtype=torch.float64)
    keep[1, 2] = 0
    h = masked_hidden_states(model.rnn, x, keep)
    ref = model.hidden_states(x, torch.full((5,), 12))
    assert torch.allclose(h[0], ref, atol=1e-12)
    assert (h[1, :, :, 2] == 0).all() and not torch.allclose(h[1], h[0])


def test_ablating_a_disconnected_cell_changes_nothing():
    model = _model()
    rng = np.random.default_rng(0)
    x, lengths = rng.standard_normal((200, 10, 3)), np.full(200, 10)
    with torch.no_grad():
        model.rnn.weight_hh_l0[:, 1] = 0  # cell 1 reaches nobody: no recurrent outflow...
        model.classifier.weight[:, 1] = 0  # ...and no readout weight
        y = model(torch.tensor(x)).argmax(1).numpy()  # labels the intact model gets right
        y[:40] = 1 - y[:40]  # and some it gets wrong: error 0.2
    errors = ablation_errors(model, x, y, lengths, batch_size=64, masks_per_pass=2)
    assert errors.shape == (5,) and errors[0] == pytest.approx(0.2)
    assert errors[2] == errors[0]
    with torch.no_grad():
        model.classifier.weight[:, 3] *= 50  # a cell the readout leans on
    y = model(torch.tensor(x)).argmax(1).numpy()
    assert ablation_errors(model, x, y, lengths)[4] > 0.05


def test_ablation_refuses_non_lstm_networks():
    model = build_model("bilstm", ModelConfig(n_features=3, hidden=2)).double()
    with pytest.raises(DynamicsError, match="single-layer, unidirectional"):
        ablation_errors(model, np.zeros((2, 4, 3)), np.zeros(2, int), np.full(2, 4))


def test_helpers_known_answers():
    assert np.allclose(moving_average([0, 3, 6, 9], 3), [1.5, 3, 6, 7.5])
    assert power_law_slope([32, 64, 128], [1 / 32, 1 / 64, 1 / 128]) == pytest.approx(-1.0)
    img = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    assert sequences(img, "rows").shape == (2, 28, 28)
    px = sequences(img, "pixels", 4)
    assert px.shape == (2, 49, 1)
    assert px[0, 0, 0] == pytest.approx(((img[0, :4, :4] / 255.0 - 0.1307) / 0.3081).mean(), abs=1e-6)
    with pytest.raises(ConfigError, match="divide 28"):
        sequences(img, "pixels", 5)


@pytest.mark.workflow
def test_dynamics_audit_end_to_end(tmp_path):
    cfg = yaml.safe_load((ROOT / "tests" / "tiny_config.yaml").read_text())
    cfg["dynamics"]["enabled"] = True
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--cores",
            "2",
            "results/dynamics/table1.md",
            "results/dynamics/capacity.md",
            "--configfile",
            "config.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-4000:]
    out = tmp_path / "results/dynamics"
    sizes = cfg["dynamics"]["task"]["hidden_sizes"]
    networks = [f"seqmnist_h{n}" for n in sizes] + ["synthetic_latter_lstm"]
    table = pd.read_csv(out / "table1.tsv", sep="\t")
    assert list(table.network) == networks
    for n, net in zip(sizes + [cfg["models"]["hidden"]], networks, strict=True):
        cells = pd.read_csv(out / net / "cells.tsv", sep="\t")
        assert len(cells) == n and cells.settling_time.between(0, 50).all()
        assert cells.amplitude.ge(0).all() and cells.ablation_error.between(0, 1).all()
        info = json.loads((out / net / "summary.json").read_text())
        assert info["n_cells"] == n and 0 <= info["test_error"] < 1
        for fig in ("heatmap", "ablation"):
            assert (out / net / "figures" / f"{fig}.png").stat().st_size > 5000
    capacity = pd.read_csv(out / "capacity.tsv", sep="\t")
    assert list(capacity.hidden) == sorted(sizes) and np.isfinite(capacity.amplitude_slope_loglog).all()
    assert "| seqmnist_h" in (out / "table1.md").read_text()
    check_report(
        tmp_path,
        tmp_path / "config.yaml",
        "results/dynamics",
        ["Cell dynamics"],
        ["table1.tsv", "capacity.tsv"],
        ["results/dynamics/table1.md", "results/dynamics/capacity.md"],
    )
