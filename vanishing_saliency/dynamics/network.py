"""The trained network as a whole: the LSTM's input, the recurrence with cells zeroed
(single-cell ablation), and the statistics that relate cell metrics to ablation impact."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .cells import check_lstm


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
            h = masked_hidden_states(model.rnn, xin, keep[m0 : m0 + masks_per_pass])
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
    from scipy import stats  # lazy (vanishing_saliency.LAZY_IMPORTS)

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
