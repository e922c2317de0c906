"""Response characterization of LSTM cells (SPEC section 8), single-cell ablation and capacity.

The one-cell system
-------------------
Cell ``u`` of a trained single-layer ``torch.nn.LSTM`` is isolated with its own
rows of the input weights for each gate, its self-recurrent weights
``W_hh[gate u, u]`` and its biases ``b_ih + b_hh``; every other cell's hidden
state is held at 0.  The input is a scalar drive ``s_t`` along a direction
``d_u`` in the LSTM's input space (``x_t = s_t d_u``), so each gate sees
``a_gate,u * s_t`` with ``a_gate,u = W_ih[gate u] . d_u``.  Directions
(``input_direction``):

- ``ones``: every input feature equals the drive (``d = 1``, not normalised, so
  ``A`` is the value each feature takes, as in ``x_t = A 1[t > T/2]``);
- ``feature``: only feature ``feature`` is driven (``d = e_k``);
- ``own``: the cell's own candidate-gate input-weight row, unit norm, so ``A`` is
  the length of the input vector along the direction the cell is most tuned to.

All cells of a network and all probes (amplitudes, frequencies) run in one
batched float64 simulation from a zero state.  For models with input-cell
attention the drive enters the LSTM after the attention (the LSTM's own input
space).

Metrics (every threshold is a parameter)
----------------------------------------
Step, ``s_t = A 1[t >= T/2]`` over ``T`` steps (the change at ``c = T/2``):

- ``initial``: ``h`` at step ``c - 1`` (the zero-input steady state);
- ``final``: mean of ``h`` over the last ``final_window`` steps;
- ``delta`` = final - initial;
- ``settling_time``: steps after the change until ``h`` stays within
  ``(1 - band) |delta|`` (``band`` 0.9 by default, at least ``abs_tol``) of the
  final value to the end.  A cell must then hold the band for at least the
  last ``hold`` fraction of the post-step window (default a quarter, and at
  least ``final_window`` steps); otherwise it never settled (a ramp or a slow
  drift only reaches its own final value at the end): ``settled`` is False and
  its settling time is the whole post-step window ``T - c`` (censored).

Sine, ``s_t = A sin(2 pi f t)`` (``f`` in cycles per step) over ``T`` steps, the
first ``transient`` steps discarded:

- ``amplitude``: half the peak-to-peak of the remaining output;
- ``response_frequency``: argmax of the periodogram (mean removed, DC excluded),
  in cycles per step; NaN for a flat output (amplitude <= ``abs_tol``);
- ``correlation``: sum over t of ``(x_t - mean x)(y_t - mean y)``, SPEC's
  unnormalised definition (it grows with the window length), and ``pearson``,
  the same normalised to [-1, 1].

Ablation: cell ``u``'s hidden output is zeroed at every step *inside* the
recurrence, so neither the other cells (through ``W_hh[:, u]``) nor the readout
see it; the change in test error is measured against the intact network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import signal, stats
from torch import nn

GATES = ("input", "forget", "cell", "output")  # torch.nn.LSTM's row-block order i, f, g, o
DIRECTIONS = ("ones", "feature", "own")
CELL_METRICS = ("initial", "final", "delta", "settling_time", "amplitude", "response_frequency", "correlation",
                "pearson")


class DynamicsError(ValueError):
    """A network or setting the cell-dynamics audit cannot handle."""


@dataclass
class OneCellSystems:
    """The H isolated cells of one LSTM: per-gate input gain ``a``, self weight ``w`` and bias ``b``, each (4, H)."""

    a: np.ndarray
    w: np.ndarray
    b: np.ndarray

    @property
    def n_cells(self) -> int:
        return self.a.shape[1]


def check_lstm(rnn: nn.Module, where: str = "") -> None:
    if not isinstance(rnn, nn.LSTM) or rnn.num_layers != 1 or rnn.bidirectional or rnn.proj_size:
        raise DynamicsError(f"{where}the cell-dynamics audit needs a single-layer, unidirectional torch.nn.LSTM "
                            f"without projection; got {rnn}")


def input_directions(w_ih: np.ndarray, kind: str = "ones", feature: int = 0) -> np.ndarray:
    """``(H, F)`` drive direction per cell from ``w_ih: (4H, F)``."""
    n_hidden, n_features = w_ih.shape[0] // 4, w_ih.shape[1]
    if kind == "ones":
        return np.ones((n_hidden, n_features))
    if kind == "feature":
        if not 0 <= feature < n_features:
            raise DynamicsError(f"dynamics.feature {feature} is outside the network's {n_features} input features")
        d = np.zeros((n_hidden, n_features))
        d[:, feature] = 1.0
        return d
    if kind == "own":
        rows = w_ih[2 * n_hidden:3 * n_hidden]  # candidate (cell) gate
        norm = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, norm, out=np.zeros_like(rows), where=norm > 0)
    raise DynamicsError(f"unknown dynamics.input_direction {kind!r}; known: {', '.join(DIRECTIONS)}")


def one_cell_systems(rnn: nn.LSTM, direction: str = "ones", feature: int = 0) -> OneCellSystems:
    """Isolate every cell of ``rnn`` along the chosen input direction."""
    check_lstm(rnn)
    w_ih = rnn.weight_ih_l0.detach().double().numpy()
    w_hh = rnn.weight_hh_l0.detach().double().numpy()
    n = rnn.hidden_size
    bias = np.zeros(4 * n)
    if rnn.bias:
        bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double().numpy()
    d = input_directions(w_ih, direction, feature)
    cells = np.arange(n)
    a = np.stack([(w_ih[k * n:(k + 1) * n] * d).sum(1) for k in range(4)])
    w = np.stack([w_hh[k * n + cells, cells] for k in range(4)])
    return OneCellSystems(a=a, w=w, b=bias.reshape(4, n))


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def simulate(cells: OneCellSystems, drive: np.ndarray) -> np.ndarray:
    """Hidden output ``(S, H, T)`` of every isolated cell for each drive ``(S, T)``, from a zero state."""
    drive = np.atleast_2d(np.asarray(drive, np.float64))
    n_drives, n_time = drive.shape
    h = np.zeros((n_drives, cells.n_cells))
    c = np.zeros_like(h)
    out = np.empty((n_drives, cells.n_cells, n_time))
    a, w, b = cells.a, cells.w, cells.b
    for t in range(n_time):
        s = drive[:, t:t + 1]
        z = a[:, None, :] * s[None] + w[:, None, :] * h[None] + b[:, None, :]
        i, f, g, o = _sigmoid(z[0]), _sigmoid(z[1]), np.tanh(z[2]), _sigmoid(z[3])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[:, :, t] = h
    return out


def step_drive(amplitude: float, n_steps: int) -> tuple[np.ndarray, int]:
    change = n_steps // 2
    x = np.zeros(n_steps)
    x[change:] = amplitude
    return x, change


def sine_drive(amplitude: float, frequency: float, n_steps: int) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(n_steps))


def step_metrics(h: np.ndarray, change: int, band: float = 0.9, abs_tol: float = 1e-3,
                 final_window: int = 5, hold: float = 0.25) -> dict:
    """Step-response metrics of ``h: (H, T)`` whose input changed at step ``change``."""
    if not 0 < band < 1:
        raise DynamicsError(f"dynamics.settle_band must be in (0, 1), got {band}")
    post = h[:, change:]
    if post.shape[1] <= final_window:
        raise DynamicsError(f"step of {h.shape[1]} steps leaves {post.shape[1]} after the change, "
                            f"not more than final_window {final_window}")
    initial = h[:, change - 1]
    final = post[:, -final_window:].mean(1)
    delta = final - initial
    tol = np.maximum((1.0 - band) * np.abs(delta), abs_tol)
    outside = np.abs(post - final[:, None]) > tol[:, None]
    any_out = outside.any(1)
    last_out = np.where(any_out, post.shape[1] - 1 - np.argmax(outside[:, ::-1], axis=1), -1)
    settling = (last_out + 1).astype(np.float64)
    hold_steps = max(final_window, int(np.ceil(hold * post.shape[1])))
    settled = last_out < post.shape[1] - hold_steps
    settling[~settled] = post.shape[1]
    return {"initial": initial, "final": final, "delta": delta, "settling_time": settling, "settled": settled}


def sine_metrics(h: np.ndarray, x: np.ndarray, transient: int, abs_tol: float = 1e-3) -> dict:
    """Sine-response metrics of ``h: (H, T)`` driven by ``x: (T,)``, after ``transient`` steps."""
    y, xs = h[:, transient:], x[transient:]
    if y.shape[1] < 8:
        raise DynamicsError(f"sine window of {h.shape[1]} steps minus transient {transient} is too short")
    amplitude = (y.max(1) - y.min(1)) / 2
    freqs, psd = signal.periodogram(y, fs=1.0, detrend="constant", axis=1)
    response = freqs[1 + np.argmax(psd[:, 1:], axis=1)]
    response = np.where(amplitude > abs_tol, response, np.nan)
    xc, yc = xs - xs.mean(), y - y.mean(1, keepdims=True)
    correlation = (yc * xc).sum(1)
    denom = np.sqrt((yc ** 2).sum(1) * (xc ** 2).sum())
    pearson = np.divide(correlation, denom, out=np.full_like(correlation, np.nan), where=denom > 1e-12)
    return {"amplitude": amplitude, "response_frequency": response, "correlation": correlation,
            "pearson": pearson}


@dataclass
class ProbeSettings:
    """Drive and metric settings (config ``dynamics.probe``)."""

    direction: str = "ones"
    feature: int = 0
    step_amplitudes: tuple = (1.0,)
    step_steps: int = 100
    sine_amplitudes: tuple = (1.0,)
    sine_frequencies: tuple = (0.05,)
    sine_steps: int = 200
    sine_transient: int = 100
    settle_band: float = 0.9
    settle_hold: float = 0.25
    abs_tol: float = 1e-3
    final_window: int = 5

    @classmethod
    def from_config(cls, cfg: dict) -> "ProbeSettings":
        return cls(direction=cfg["input_direction"], feature=int(cfg["feature"]),
                   step_amplitudes=tuple(cfg["step"]["amplitudes"]), step_steps=int(cfg["step"]["steps"]),
                   sine_amplitudes=tuple(cfg["sine"]["amplitudes"]),
                   sine_frequencies=tuple(cfg["sine"]["frequencies"]), sine_steps=int(cfg["sine"]["steps"]),
                   sine_transient=int(cfg["sine"]["transient"]), settle_band=float(cfg["settle_band"]),
                   settle_hold=float(cfg["settle_hold"]),
                   abs_tol=float(cfg["abs_tol"]), final_window=int(cfg["final_window"]))


def characterize(cells: OneCellSystems, probe: ProbeSettings):
    """Every probe on every cell, in two batched simulations.

    Returns ``(probes, primary)``: a list of per-probe records (dicts of
    per-cell arrays plus ``probe``, ``amplitude_in``, ``frequency_in``) and the
    per-cell metrics of the primary probes (first step amplitude, first sine
    amplitude and frequency) merged into one dict.
    """
    steps = [step_drive(a, probe.step_steps) for a in probe.step_amplitudes]
    h_step = simulate(cells, np.stack([s for s, _ in steps]))
    records = []
    for k, (a, (_, change)) in enumerate(zip(probe.step_amplitudes, steps)):
        m = step_metrics(h_step[k], change, probe.settle_band, probe.abs_tol, probe.final_window, probe.settle_hold)
        records.append({"probe": "step", "amplitude_in": a, "frequency_in": np.nan, **m})
    combos = [(a, f) for a in probe.sine_amplitudes for f in probe.sine_frequencies]
    drives = np.stack([sine_drive(a, f, probe.sine_steps) for a, f in combos])
    h_sine = simulate(cells, drives)
    for k, (a, f) in enumerate(combos):
        m = sine_metrics(h_sine[k], drives[k], probe.sine_transient, probe.abs_tol)
        records.append({"probe": "sine", "amplitude_in": a, "frequency_in": f, **m})
    inputs = ("probe", "amplitude_in", "frequency_in")
    primary = {**{k: v for k, v in records[0].items() if k not in inputs},
               **{k: v for k, v in records[len(steps)].items() if k not in inputs}}
    return records, primary


# ---- the trained network: masked recurrence and single-cell ablation ---------------


def lstm_input(model, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """What the model's LSTM reads: the input itself, or the input-cell attention mix."""
    return model.attention(x, lengths) if getattr(model, "attention", None) is not None else x


def masked_hidden_states(rnn: nn.LSTM, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Hidden outputs ``(M, B, T, H)`` of ``rnn`` on ``x: (B, T, F)`` with cells zeroed per mask.

    ``keep: (M, H)`` is 1 for a cell that runs and 0 for a cell whose hidden
    output is forced to 0 at every step (so no other cell and no readout sees it).
    """
    check_lstm(rnn)
    n_masks, (batch, n_time, _) = keep.shape[0], x.shape
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    bias = rnn.bias_ih_l0 + rnn.bias_hh_l0 if rnn.bias else torch.zeros(w_ih.shape[0], dtype=x.dtype)
    xin = torch.einsum("btf,gf->btg", x, w_ih) + bias  # shared by every mask
    keep = keep.to(x.dtype)[:, None, :]
    h = torch.zeros(n_masks, batch, rnn.hidden_size, dtype=x.dtype)
    c = torch.zeros_like(h)
    out = torch.empty(n_masks, batch, n_time, rnn.hidden_size, dtype=x.dtype)
    for t in range(n_time):
        z = xin[None, :, t] + h @ w_hh.T
        i, f, g, o = z.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c) * keep
        out[:, :, t] = h
    return out


@torch.no_grad()
def ablation_errors(model, x, y, lengths, batch_size: int = 512, masks_per_pass: int = 16) -> np.ndarray:
    """Test error of the intact model (index 0) and with each cell ablated (index 1 + u), shape (H + 1,)."""
    model.eval()
    check_lstm(model.rnn, "ablation: ")
    dtype = next(model.parameters()).dtype
    n_hidden = model.rnn.hidden_size
    keep = torch.ones(n_hidden + 1, n_hidden, dtype=dtype)
    keep[1:] -= torch.eye(n_hidden, dtype=dtype)
    x = torch.as_tensor(np.asarray(x), dtype=dtype)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
    wrong = torch.zeros(n_hidden + 1, dtype=torch.float64)
    for start in range(0, len(y), batch_size):
        sl = slice(start, start + batch_size)
        xin = lstm_input(model, x[sl], lengths[sl])
        for m0 in range(0, n_hidden + 1, masks_per_pass):
            h = masked_hidden_states(model.rnn, xin, keep[m0:m0 + masks_per_pass])
            for j in range(h.shape[0]):
                pred = model.readout(h[j], lengths[sl]).argmax(1)
                wrong[m0 + j] += (pred != y[sl]).sum()
    return (wrong / len(y)).numpy()


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average with the window shrunk at the ends (same length as ``values``)."""
    values = np.asarray(values, np.float64)
    window = max(1, min(int(window), len(values)))
    kernel = np.ones(window)
    num = np.convolve(values, kernel, mode="same")
    den = np.convolve(np.ones_like(values), kernel, mode="same")
    return num / den


def impact_correlations(metrics: dict, impact: np.ndarray, names=("delta", "amplitude")) -> dict:
    """Spearman correlation between |metric| and ablation impact (change in error), per metric."""
    out = {}
    for name in names:
        v = np.abs(np.asarray(metrics[name], np.float64))
        ok = np.isfinite(v) & np.isfinite(impact)
        if ok.sum() < 3 or np.ptp(v[ok]) == 0 or np.ptp(impact[ok]) == 0:
            out[name] = (np.nan, np.nan)
        else:
            r = stats.spearmanr(v[ok], impact[ok])
            out[name] = (float(r.statistic), float(r.pvalue))
    return out


def power_law_slope(sizes, values) -> float:
    """Least-squares slope of log(value) against log(size): -1 means value ~ 1/N."""
    sizes, values = np.asarray(sizes, np.float64), np.asarray(values, np.float64)
    ok = (sizes > 0) & (values > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes[ok]), np.log(values[ok]), 1)[0])
