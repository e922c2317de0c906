"""Saliency maps: the paper's |d p_true / d x| (batched), Captum attributions, temporal saliency
rescaling and a Dynamask-style perturbation mask.

All methods share one call shape: ``attribute(method, model, x, y, lengths)``
returns an array ``(n, time, features)``.  Metrics take absolute values.

Captum enlarges the batch internally (baselines, noise samples, occlusion
windows); our models size everything from ``x.size(0)`` and Captum expands
``lengths`` (passed as an additional forward argument) alongside, so every
method works with variable lengths.  DeepLift cannot see inside a fused
``torch.nn.LSTM``: through the recurrence it degrades to gradient x delta.

Methods beyond Captum's:

- ``occlusion`` replaces one time step (all features) by 0 at a time; ``occlusion_features``
  one feature over all time steps (its score is spread over the feature's steps).
- ``tsr``, temporal saliency rescaling (Ismail et al. 2020): each step's relevance is how
  much the gradient map changes (L1) when that step is set to 0; steps above the
  ``tsr_quantile`` (0.55) of the relevances keep ``relevance(t) x relevance(feature)``, where a
  feature's relevance is the change when it is set to 0 at all the kept steps at once (the
  paper masks one (step, feature) entry at a time, T x N gradient passes per sample; this
  costs T + N); other steps get 0.
- ``dynamask``: a perturbation mask in the spirit of Dynamask (Crabbe & van der Schaar 2021)
  with their fade-to-reference perturbation, ``x' = m x + (1 - m) r`` with ``r = 0`` (the mean
  of standardised data; fading to each feature's temporal mean, their other operator, leaks
  the class of a box into every step): per sample, a mask ``m`` in [0, 1]^(T x N) is optimised
  (Adam) to keep the true class (cross-entropy) while keeping the fraction ``dynamask_area``
  of entries (their area penalty on the sorted mask, its weight growing over the steps as in
  their schedule) and varying smoothly in time; the map is ``m``.
- ``gradient_shap`` draws its baselines from ``baselines`` (e.g. training samples) when given,
  else uses an all-zero baseline.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .errors import ConfigError
from .labels import SALIENCY_METHODS as METHODS
from .models import length_mask

DEFAULTS = {"ig_steps": 32, "smoothgrad_samples": 10, "smoothgrad_stdev": 0.2, "gradient_shap_samples": 10,
            "gradient_shap_stdev": 0.1, "tsr_quantile": 0.55, "dynamask_area": 0.2, "dynamask_steps": 100,
            "dynamask_lr": 0.1, "dynamask_area_weight": 1.0, "dynamask_smooth_weight": 0.05}


class ProbabilityModel(nn.Module):
    """Wraps a logits model so its output is the class probabilities (an ``nn.Softmax`` module,
    so DeepLift can apply its rule to it)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, lengths):
        return self.softmax(self.model(x, lengths))


def _as_tensors(model, x, y, lengths):
    dtype = next(model.parameters()).dtype
    return (torch.as_tensor(np.asarray(x), dtype=dtype), torch.as_tensor(np.asarray(y), dtype=torch.long),
            torch.as_tensor(np.asarray(lengths), dtype=torch.long))


def gradient_saliency(model: nn.Module, x, y, lengths, batch_size: int = 300) -> np.ndarray:
    """|d p_y / d x| for every sample, one backward per batch.

    The samples of a batch are independent (eval mode, no batch statistics), so
    the gradient of the summed true-class probabilities is each sample's own
    gradient.
    """
    model.eval()
    prob = ProbabilityModel(model)
    x, y, lengths = _as_tensors(model, x, y, lengths)
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].clone().requires_grad_(True)
        p = prob(xb, lengths[i:i + batch_size])
        picked = p.gather(1, y[i:i + batch_size, None]).sum()
        (grad,) = torch.autograd.grad(picked, xb)
        out.append(grad.abs().detach())
    return torch.cat(out).cpu().numpy()


def gradient_saliency_per_sample(model: nn.Module, x, y, lengths) -> np.ndarray:
    """The slow way (one forward/backward per sample); kept for the benchmark."""
    model.eval()
    prob = ProbabilityModel(model)
    x, y, lengths = _as_tensors(model, x, y, lengths)
    out = []
    for i in range(len(x)):
        xi = x[i:i + 1].clone().requires_grad_(True)
        p = prob(xi, lengths[i:i + 1])[0, y[i]]
        (grad,) = torch.autograd.grad(p, xi)
        out.append(grad.abs())
    return torch.cat(out).numpy()


def attribute(method: str, model: nn.Module, x, y, lengths, batch_size: int = 100,
              options: dict | None = None, seed: int = 0, baselines=None) -> np.ndarray:
    """Attribution maps ``(n, time, features)`` of the true-class probability by ``method``.

    options: ig_steps, smoothgrad_samples, smoothgrad_stdev, gradient_shap_samples,
    gradient_shap_stdev, tsr_quantile, dynamask_* (see schemas/config.schema.yaml).
    baselines: ``(k, time, features)`` samples GradientShap draws its baselines from.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown saliency method {method!r}; known: {', '.join(METHODS)}")
    opts = {**DEFAULTS, **(options or {})}
    if method == "gradient":
        return gradient_saliency(model, x, y, lengths, batch_size)
    if method == "tsr":
        return temporal_saliency_rescaling(model, x, y, lengths, batch_size, opts["tsr_quantile"])
    if method == "dynamask":
        return dynamask(model, x, y, lengths, batch_size, opts, seed)
    import captum.attr as ca

    model.eval()
    prob = ProbabilityModel(model)
    xt, yt, lt = _as_tensors(model, x, y, lengths)
    with _seeded(seed):
        return _captum_maps(ca, method, prob, xt, yt, lt, batch_size, opts, baselines)


@contextmanager
def _seeded(seed: int):
    """Seed torch's and numpy's global generators (Captum's GradientShap draws its interpolation
    points with ``np.random.uniform``); numpy's previous state comes back afterwards."""
    state = np.random.get_state()
    torch.manual_seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _captum_maps(ca, method, prob, xt, yt, lt, batch_size, opts, baselines) -> np.ndarray:
    out = []
    for i in range(0, len(xt), batch_size):
        xb, yb, lb = xt[i:i + batch_size], yt[i:i + batch_size], lt[i:i + batch_size]
        base = torch.zeros_like(xb)
        if method == "integrated_gradients":
            a = ca.IntegratedGradients(prob).attribute(xb, baselines=base, target=yb,
                                                       additional_forward_args=(lb,), n_steps=opts["ig_steps"])
        elif method == "deeplift":
            a = ca.DeepLift(prob).attribute(xb, baselines=base, target=yb, additional_forward_args=(lb,))
        elif method == "gradient_shap":
            pool = (torch.stack([base[0], base[0]]) if baselines is None
                    else torch.as_tensor(np.asarray(baselines), dtype=xb.dtype))
            a = ca.GradientShap(prob).attribute(xb, baselines=pool, target=yb,
                                                additional_forward_args=(lb,),
                                                n_samples=opts["gradient_shap_samples"],
                                                stdevs=opts["gradient_shap_stdev"])
        elif method == "input_x_gradient":
            a = ca.InputXGradient(prob).attribute(xb, target=yb, additional_forward_args=(lb,))
        elif method == "smoothgrad":
            a = ca.NoiseTunnel(ca.Saliency(prob)).attribute(
                xb, nt_type="smoothgrad", nt_samples=opts["smoothgrad_samples"],
                stdevs=opts["smoothgrad_stdev"], target=yb, additional_forward_args=(lb,), abs=True)
        elif method == "occlusion_features":  # one feature over every time step
            n_time = xb.shape[1]
            a = ca.Occlusion(prob).attribute(xb, sliding_window_shapes=(n_time, 1), strides=(n_time, 1),
                                             baselines=0.0, target=yb, additional_forward_args=(lb,),
                                             perturbations_per_eval=16)
        else:  # occlusion of whole time steps
            n_feat = xb.shape[2]
            a = ca.Occlusion(prob).attribute(xb, sliding_window_shapes=(1, n_feat), strides=(1, n_feat),
                                             baselines=0.0, target=yb, additional_forward_args=(lb,),
                                             perturbations_per_eval=16)
        out.append(a.detach() * length_mask(lb, xb.shape[1]).unsqueeze(-1))
    return torch.cat(out).cpu().numpy()


def _gradient_maps(prob, x, y, lengths):
    """|d p_y / d x| of one batch of tensors (the model in eval mode)."""
    x = x.clone().requires_grad_(True)
    picked = prob(x, lengths).gather(1, y[:, None]).sum()
    (grad,) = torch.autograd.grad(picked, x)
    return grad.abs()


def temporal_saliency_rescaling(model: nn.Module, x, y, lengths, batch_size: int = 100,
                                quantile: float = 0.55) -> np.ndarray:
    """Temporal saliency rescaling of the gradient map (see the module docstring)."""
    model.eval()
    prob = ProbabilityModel(model)
    x, y, lengths = _as_tensors(model, x, y, lengths)
    out = []
    for i in range(0, len(x), batch_size):
        xb, yb, lb = x[i:i + batch_size], y[i:i + batch_size], lengths[i:i + batch_size]
        n, n_time, n_feat = xb.shape
        valid = length_mask(lb, n_time)
        base = _gradient_maps(prob, xb, yb, lb)
        time_rel = torch.zeros(n, n_time, dtype=xb.dtype)
        for t in range(n_time):
            masked = xb.clone()
            masked[:, t] = 0
            time_rel[:, t] = (base - _gradient_maps(prob, masked, yb, lb)).abs().sum((1, 2))
        time_rel = time_rel.masked_fill(~valid, float("nan"))
        cut = torch.nanquantile(time_rel, quantile, dim=1, keepdim=True)
        keep = (time_rel > cut) & valid                                    # (n, T)
        feat_rel = torch.zeros(n, n_feat, dtype=xb.dtype)
        for f in range(n_feat):
            masked = xb.clone()
            masked[:, :, f] = torch.where(keep, torch.zeros_like(masked[:, :, f]), masked[:, :, f])
            feat_rel[:, f] = (base - _gradient_maps(prob, masked, yb, lb)).abs().sum((1, 2))
        out.append(torch.where(keep[:, :, None], torch.nan_to_num(time_rel)[:, :, None] * feat_rel[:, None, :],
                               torch.zeros_like(xb)).detach())
    return torch.cat(out).numpy()


def dynamask(model: nn.Module, x, y, lengths, batch_size: int = 100, options: dict | None = None,
             seed: int = 0) -> np.ndarray:
    """Dynamask-style preservation masks (see the module docstring), ``(n, time, features)`` in [0, 1]."""
    opts = {**DEFAULTS, **(options or {})}
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        x, y, lengths = _as_tensors(model, x, y, lengths)
        out = []
        gen = torch.Generator().manual_seed(seed)
        for i in range(0, len(x), batch_size):
            xb, yb, lb = x[i:i + batch_size], y[i:i + batch_size], lengths[i:i + batch_size]
            out.append(_dynamask_batch(model, xb, yb, lb, opts, gen))
        return torch.cat(out).numpy()
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def _dynamask_batch(model, x, y, lengths, opts, gen):
    n, n_time, n_feat = x.shape
    valid = length_mask(lengths, n_time).unsqueeze(-1).to(x.dtype)          # (n, T, 1)
    n_valid = (valid.sum((1, 2)) * n_feat).clamp(min=1)
    mask = (1.0 - 0.01 * torch.rand(x.shape, generator=gen, dtype=x.dtype)).requires_grad_(True)
    opt = torch.optim.Adam([mask], lr=opts["dynamask_lr"])
    # the target of the area penalty: the sorted mask should be 0 then 1 on the top `area` of valid entries
    ranks = torch.arange(n_time * n_feat, dtype=x.dtype).expand(n, -1)
    n_keep = torch.round(opts["dynamask_area"] * n_valid)[:, None]
    n_pad = (n_time * n_feat - n_valid)[:, None]
    target = (ranks >= n_pad + (n_valid[:, None] - n_keep)).to(x.dtype)   # padding entries sort first (value 0)
    steps = int(opts["dynamask_steps"])
    for step in range(steps):
        m = mask.clamp(0, 1) * valid
        perturbed = m * x                     # fade to the reference 0 (the standardised data's mean)
        loss = nn.functional.cross_entropy(model(perturbed, lengths), y, reduction="sum")
        area = ((torch.sort(m.reshape(n, -1), dim=1).values - target) ** 2).sum(1) / n_valid
        smooth = ((m[:, 1:] - m[:, :-1]).abs() * valid[:, 1:]).sum((1, 2)) / n_valid
        # the area constraint tightens over the run (from 1 % to 100 % of its weight), as in Dynamask,
        # so the entries the prediction needs least leave the mask first
        area_weight = opts["dynamask_area_weight"] * 100.0 ** (step / max(steps - 1, 1) - 1)
        total = loss + area_weight * area.sum() + opts["dynamask_smooth_weight"] * smooth.sum()
        opt.zero_grad()
        total.backward()
        opt.step()
        with torch.no_grad():
            mask.clamp_(0, 1)
    return (mask.detach().clamp(0, 1) * valid)
