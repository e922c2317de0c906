"""One LSTM cell as its own system: isolation, step and sine drives, response metrics.

Definitions and every threshold are documented in :mod:`vanishing_saliency.dynamics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal
from torch import nn

from ..errors import ConfigError, DynamicsError

GATES = ("input", "forget", "cell", "output")  # torch.nn.LSTM's row-block order i, f, g, o
DIRECTIONS = ("ones", "feature", "own")
CELL_METRICS = (
    "initial",
    "final",
    "delta",
    "settling_time",
    "amplitude",
    "response_frequency",
    "correlation",
    "pearson",
)


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
        raise DynamicsError(
            f"{where}the cell-dynamics audit needs a single-layer, unidirectional torch.nn.LSTM "
            f"without projection; got {rnn}"
        )


def input_directions(w_ih: np.ndarray, kind: str = "ones", feature: int = 0) -> np.ndarray:
    """``(H, F)`` drive direction per cell from ``w_ih: (4H, F)``."""
    n_hidden, n_features = w_ih.shape[0] // 4, w_ih.shape[1]
    if kind == "ones":
        return np.ones((n_hidden, n_features))
    if kind == "feature":
        if not 0 <= feature < n_features:
            raise ConfigError(f"dynamics.feature {feature} is outside the network's {n_features} input features")
        d = np.zeros((n_hidden, n_features))
        d[:, feature] = 1.0
        return d
    if kind == "own":
        rows = w_ih[2 * n_hidden : 3 * n_hidden]  # candidate (cell) gate
        norm = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, norm, out=np.zeros_like(rows), where=norm > 0)
    raise ConfigError(f"unknown dynamics.input_direction {kind!r}; known: {', '.join(DIRECTIONS)}")


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
    a = np.stack([(w_ih[k * n : (k + 1) * n] * d).sum(1) for k in range(4)])
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
        s = drive[:, t : t + 1]
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


def step_metrics(
    h: np.ndarray, change: int, band: float = 0.9, abs_tol: float = 1e-3, final_window: int = 5, hold: float = 0.25
) -> dict:
    """Step-response metrics of ``h: (H, T)`` whose input changed at step ``change``."""
    if not 0 < band < 1:
        raise ConfigError(f"dynamics.settle_band must be in (0, 1), got {band}")
    post = h[:, change:]
    if post.shape[1] <= final_window:
        raise ConfigError(
            f"step of {h.shape[1]} steps leaves {post.shape[1]} after the change, "
            f"not more than final_window {final_window}"
        )
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
        raise ConfigError(f"sine window of {h.shape[1]} steps minus transient {transient} is too short")
    amplitude = (y.max(1) - y.min(1)) / 2
    freqs, psd = signal.periodogram(y, fs=1.0, detrend="constant", axis=1)
    response = freqs[1 + np.argmax(psd[:, 1:], axis=1)]
    response = np.where(amplitude > abs_tol, response, np.nan)
    xc, yc = xs - xs.mean(), y - y.mean(1, keepdims=True)
    correlation = (yc * xc).sum(1)
    denom = np.sqrt((yc**2).sum(1) * (xc**2).sum())
    pearson = np.divide(correlation, denom, out=np.full_like(correlation, np.nan), where=denom > 1e-12)
    return {"amplitude": amplitude, "response_frequency": response, "correlation": correlation, "pearson": pearson}


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
    for k, (a, (_, change)) in enumerate(zip(probe.step_amplitudes, steps, strict=True)):
        m = step_metrics(h_step[k], change, probe.settle_band, probe.abs_tol, probe.final_window, probe.settle_hold)
        records.append({"probe": "step", "amplitude_in": a, "frequency_in": np.nan, **m})
    combos = [(a, f) for a in probe.sine_amplitudes for f in probe.sine_frequencies]
    drives = np.stack([sine_drive(a, f, probe.sine_steps) for a, f in combos])
    h_sine = simulate(cells, drives)
    for k, (a, f) in enumerate(combos):
        m = sine_metrics(h_sine[k], drives[k], probe.sine_transient, probe.abs_tol)
        records.append({"probe": "sine", "amplitude_in": a, "frequency_in": f, **m})
    inputs = ("probe", "amplitude_in", "frequency_in")
    primary = {
        **{k: v for k, v in records[0].items() if k not in inputs},
        **{k: v for k, v in records[len(steps)].items() if k not in inputs},
    }
    return records, primary
