"""The gradient methods computed here: the paper's gradient, SmoothGrad, GradientShap (expected gradients) and
temporal saliency rescaling.

- ``gradient``: ``|d f_y / d x|`` (Captum's ``Saliency``), one backward per pass.
- ``smoothgrad`` and ``gradient_shap`` are Captum's NoiseTunnel over Saliency and GradientShap, with each sample's
  draws from a generator of its own (the call's seed and the sample's index), so a sample's map does not depend on
  the batch it is in.  ``gradient_shap`` draws its baselines from ``baselines`` (e.g. training samples) when given,
  else uses an all-zero baseline.
- ``tsr``, temporal saliency rescaling (Ismail et al. 2020): each step's relevance is how much the gradient map
  changes (L1) when that step is set to 0; steps above the ``tsr_quantile`` (0.55) of the relevances keep
  ``relevance(t) x relevance(feature)``, where a feature's relevance is the change when it is set to 0 at all the
  kept steps at once (the paper masks one (step, feature) entry at a time, T x N gradient passes per sample; this
  costs T + N); other steps get 0.
"""

from __future__ import annotations

import numpy as np
import torch

from ..models import length_mask
from .base import Attribution, Call, _slices, _tensor


class Gradient(Attribution):
    """The paper's saliency, ``|d f_y / d x|`` (Captum's ``Saliency`` with ``abs=True``), one backward per pass."""

    name = "gradient"
    captum_options = {"abs": "gradient_abs"}

    def _maps(self, call: Call) -> torch.Tensor:
        out = []
        for sl in call.passes():
            grad = call.gradients(call.x[sl], call.target[sl], call.lengths[sl])
            out.append(grad.abs_() if call.options.gradient_abs else grad)
            call.bar.update(sl.stop - sl.start)
        return torch.cat(out)


def _np_dtype(x: torch.Tensor):
    return np.float32 if x.dtype == torch.float32 else np.float64


class SmoothGrad(Attribution):
    """Mean ``|d f_y / d x|`` over ``smoothgrad_samples`` noisy copies, N(0, ``smoothgrad_stdev``) noise (Captum's
    ``NoiseTunnel`` over ``Saliency``), each sample's noise from a generator of its own."""

    name = "smoothgrad"
    captum_options = {"nt_samples": "smoothgrad_samples", "stdevs": "smoothgrad_stdev"}

    def _maps(self, call: Call) -> torch.Tensor:
        x, opts = call.x, call.options
        k, sd = int(opts.smoothgrad_samples), float(opts.smoothgrad_stdev)
        shape = x.shape[1:]
        out = []
        for sl in call.passes(k):
            draws = [call.seeds.rng(i, 0) for i in range(sl.start, sl.stop)]
            noise = np.stack([g.standard_normal((k, *shape), dtype=_np_dtype(x)) for g in draws])
            noisy = (x[sl, None] + sd * torch.as_tensor(noise, dtype=x.dtype, device=x.device)).reshape(-1, *shape)
            grads = call.gradients(noisy, call.target[sl].repeat_interleave(k), call.lengths[sl].repeat_interleave(k))
            out.append(grads.abs_().reshape(-1, k, *shape).mean(1))
            call.bar.update(sl.stop - sl.start)
        return torch.cat(out)


class GradientShap(Attribution):
    """Expected gradients (Captum's ``GradientShap``): per sample, ``gradient_shap_samples`` draws of a baseline b
    (from the pool ``baselines``, default one all-zero input), a point a ~ U(0, 1) and input noise
    e ~ N(0, ``gradient_shap_stdev``); the map is the mean of d f_y / d z at z = b + a (x + e - b), times
    (x + e - b)."""

    name = "gradient_shap"
    takes_baselines = True
    captum_options = {"n_samples": "gradient_shap_samples", "stdevs": "gradient_shap_stdev"}

    def _maps(self, call: Call) -> torch.Tensor:
        x, opts = call.x, call.options
        k, sd = int(opts.gradient_shap_samples), float(opts.gradient_shap_stdev)
        shape = x.shape[1:]
        pool = (
            torch.zeros((1, *shape), dtype=x.dtype, device=x.device)
            if call.baselines is None
            else _tensor(call.baselines, x)
        )
        out = []
        for sl in call.passes(k):
            draws = [call.seeds.rng(i, 1) for i in range(sl.start, sl.stop)]
            idx = torch.as_tensor(np.stack([g.integers(0, len(pool), k) for g in draws]), device=x.device)  # (b, k)
            alpha = torch.as_tensor(np.stack([g.random(k) for g in draws]), dtype=x.dtype, device=x.device)  # (b, k)
            noise = torch.as_tensor(
                np.stack([g.standard_normal((k, *shape), dtype=_np_dtype(x)) for g in draws]), device=x.device
            )
            delta = x[sl, None] + sd * noise - pool[idx]  # (b, k, T, N)
            points = (pool[idx] + alpha[..., None, None] * delta).reshape(-1, *shape)
            grads = call.gradients(points, call.target[sl].repeat_interleave(k), call.lengths[sl].repeat_interleave(k))
            out.append((grads.reshape(delta.shape) * delta).mean(1))
            call.bar.update(sl.stop - sl.start)
        return torch.cat(out)


class TemporalSaliencyRescaling(Attribution):
    """Temporal saliency rescaling of the gradient map (Ismail et al. 2020; the module docstring)."""

    name = "tsr"

    def _maps(self, call: Call) -> torch.Tensor:
        out = []
        for sl in call.passes():
            xb, yb, lb = call.x[sl], call.target[sl], call.lengths[sl]
            n, n_time, n_feat = xb.shape
            valid = length_mask(lb, n_time)
            base = call.gradients(xb, yb, lb).abs_()

            def one_step(steps, n_time=n_time, device=xb.device):  # copy j: step steps[j] of every sample
                hit = torch.zeros(len(steps), 1, n_time, 1, dtype=torch.bool, device=device)
                hit[torch.arange(len(steps)), 0, list(steps)] = True
                return hit

            time_rel = _masked_relevance(call, xb, yb, lb, base, n_time, one_step)  # (n, T)
            time_rel = time_rel.masked_fill(~valid, float("nan"))
            cut = torch.nanquantile(time_rel, call.options.tsr_quantile, dim=1, keepdim=True)
            keep = (time_rel > cut) & valid  # (n, T)

            def one_feature(features, n_feat=n_feat, keep=keep):  # copy j: feature features[j] at the kept steps
                hit = torch.zeros(len(features), 1, 1, n_feat, dtype=torch.bool, device=keep.device)
                hit[torch.arange(len(features)), 0, 0, list(features)] = True
                return hit & keep[None, :, :, None]

            feat_rel = _masked_relevance(call, xb, yb, lb, base, n_feat, one_feature)  # (n, N)
            out.append(
                torch.where(
                    keep[:, :, None],
                    torch.nan_to_num(time_rel)[:, :, None] * feat_rel[:, None, :],
                    torch.zeros_like(xb),
                )
            )
            call.bar.update(n)
        return torch.cat(out)


def _masked_relevance(call: Call, x, y, lengths, base, n_masks, mask_of) -> torch.Tensor:
    """For each of ``n_masks`` masks: how much the gradient map changes (L1) when the masked entries
    of ``x`` are set to 0; ``(n, n_masks)``.  ``mask_of(range)`` gives those masks as booleans
    ``(k, n, T, N)``; the masked copies share passes of up to ``call.cap`` inputs."""
    n = len(x)
    rel = torch.zeros(n, n_masks, dtype=x.dtype, device=x.device)
    for sl in _slices(n_masks, max(1, call.cap // n)):
        copies = torch.where(
            mask_of(range(sl.start, sl.stop)), torch.zeros((), dtype=x.dtype, device=x.device), x.unsqueeze(0)
        )
        k = copies.shape[0]
        grads = call.gradients(copies.reshape(-1, *x.shape[1:]), y.repeat(k), lengths.repeat(k)).abs_()
        rel[:, sl] = (base.unsqueeze(0) - grads.reshape(copies.shape)).abs().sum((2, 3)).T
    return rel
