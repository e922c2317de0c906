"""Saliency maps: the paper's |d p_true / d x| (batched) and Captum attributions.

All methods share one call shape: ``attribute(method, model, x, y, lengths)``
returns an array ``(n, time, features)``.  Metrics take absolute values.

Captum enlarges the batch internally (baselines, noise samples, occlusion
windows); our models size everything from ``x.size(0)`` and Captum expands
``lengths`` (passed as an additional forward argument) alongside, so every
method works with variable lengths.  DeepLift cannot see inside a fused
``torch.nn.LSTM``: through the recurrence it degrades to gradient x delta.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

METHODS = ("gradient", "integrated_gradients", "deeplift", "gradient_shap",
           "input_x_gradient", "smoothgrad", "occlusion")


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
              options: dict | None = None, seed: int = 0) -> np.ndarray:
    """Attribution maps ``(n, time, features)`` of the true-class probability by ``method``.

    options: ig_steps, smoothgrad_samples, smoothgrad_stdev, gradient_shap_samples,
    gradient_shap_stdev (see schemas/config.schema.yaml).
    """
    if method not in METHODS:
        raise ValueError(f"unknown saliency method {method!r}; known: {', '.join(METHODS)}")
    if method == "gradient":
        return gradient_saliency(model, x, y, lengths, batch_size)
    import captum.attr as ca

    opts = {"ig_steps": 32, "smoothgrad_samples": 10, "smoothgrad_stdev": 0.2,
            "gradient_shap_samples": 10, "gradient_shap_stdev": 0.1, **(options or {})}
    model.eval()
    prob = ProbabilityModel(model)
    xt, yt, lt = _as_tensors(model, x, y, lengths)
    torch.manual_seed(seed)
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
            a = ca.GradientShap(prob).attribute(xb, baselines=torch.stack([base[0], base[0]]), target=yb,
                                                additional_forward_args=(lb,),
                                                n_samples=opts["gradient_shap_samples"],
                                                stdevs=opts["gradient_shap_stdev"])
        elif method == "input_x_gradient":
            a = ca.InputXGradient(prob).attribute(xb, target=yb, additional_forward_args=(lb,))
        elif method == "smoothgrad":
            a = ca.NoiseTunnel(ca.Saliency(prob)).attribute(
                xb, nt_type="smoothgrad", nt_samples=opts["smoothgrad_samples"],
                stdevs=opts["smoothgrad_stdev"], target=yb, additional_forward_args=(lb,), abs=True)
        else:  # occlusion of whole time steps
            n_feat = xb.shape[2]
            a = ca.Occlusion(prob).attribute(xb, sliding_window_shapes=(1, n_feat), strides=(1, n_feat),
                                             baselines=0.0, target=yb, additional_forward_args=(lb,),
                                             perturbations_per_eval=16)
        out.append(a.detach())
    return torch.cat(out).cpu().numpy()
