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

Batching: every method runs as few forward/backward passes as a memory cap allows
(``max_batch_mb``, config ``saliency.max_batch_mb``): the samples, and the steps, noisy
copies, baselines or occluded copies a method expands each sample into, share passes of up to
:func:`samples_per_pass` inputs.  The cap never changes a number beyond floating-point order:
the random methods (SmoothGrad, GradientShap, the Dynamask start) draw each sample's noise
from a generator of its own (the seed and the sample's index), not from the batch.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ConfigError
from .labels import SALIENCY_METHODS as METHODS
from .models import length_mask
from .training import adam


@dataclass(frozen=True)
class SaliencyOptions:
    """Settings of the attribution methods: config ``saliency`` (schemas/config.schema.yaml describes each key); the
    workflow builds them from the config (``steps.common.saliency_options``), a library user from these defaults.

    Parameters
    ----------
    max_batch_mb : float
        Memory cap of one forward + backward pass (speed only: the maps do not depend on it).
    ig_steps : int
        Integrated Gradients' steps from the zero baseline.
    smoothgrad_samples, smoothgrad_stdev : int, float
        SmoothGrad's noisy copies per sample and their noise sd (in units of the input's sd).
    gradient_shap_samples, gradient_shap_stdev : int, float
        GradientShap's baseline draws per sample and their noise sd.
    tsr_quantile : float
        Temporal saliency rescaling: steps above this quantile of the step relevances are kept.
    dynamask_area, dynamask_steps, dynamask_lr, dynamask_area_weight, dynamask_smooth_weight : float or int
        Dynamask: the fraction of entries kept, optimisation steps, Adam's learning rate and the weights of the area
        and smoothness penalties.
    """

    max_batch_mb: float = 256
    ig_steps: int = 32
    smoothgrad_samples: int = 10
    smoothgrad_stdev: float = 0.2
    gradient_shap_samples: int = 10
    gradient_shap_stdev: float = 0.1
    tsr_quantile: float = 0.55
    dynamask_area: float = 0.2
    dynamask_steps: int = 100
    dynamask_lr: float = 0.1
    dynamask_area_weight: float = 1.0
    dynamask_smooth_weight: float = 0.05


# Peak memory of one forward + backward pass per input sample, as a multiple of T (N + T)
# values: the models' measured peaks are 6-11 x the T x N input (100 x 100 and 48 x 360,
# float32; the input-cell attention also keeps a T x T weight matrix per sample), so 12 x
# T (N + T) leaves room.
_PASS_VALUES_PER_STEP = 12


def samples_per_pass(n_time: int, n_features: int, itemsize: int, max_mb: float) -> int:
    """How many ``(n_time, n_features)`` inputs one forward + backward pass may hold under ``max_mb``.

    A pass is taken to need ``12 n_time (n_features + n_time)`` values per input (the models' measured peaks with
    room to spare).

    Parameters
    ----------
    n_time, n_features : int
        Shape of one input.
    itemsize : int
        Bytes per value (4 for float32, 8 for float64).
    max_mb : float
        Memory cap of one pass, in MiB (2**20 bytes).

    Returns
    -------
    int
        Inputs per pass, at least 1.
    """
    per_sample = _PASS_VALUES_PER_STEP * n_time * (n_features + n_time) * itemsize
    return max(1, int(max_mb * 2**20 // per_sample))


class ProbabilityModel(nn.Module):
    """Wraps a logits model so its output is the class probabilities (an ``nn.Softmax`` module,
    so DeepLift can apply its rule to it).

    Parameters
    ----------
    model : nn.Module
        A logits model, called as ``model(x, lengths)``.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, lengths):
        """Class probabilities: the softmax of ``model(x, lengths)`` over the classes.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, time, features)
            Input sequences.
        lengths : torch.Tensor of int, shape (batch,)
            True sequence lengths.

        Returns
        -------
        torch.Tensor, shape (batch, n_classes)
            Probabilities; each row sums to 1.
        """
        return self.softmax(self.model(x, lengths))


def _as_tensors(model, x, y, lengths):
    dtype = next(model.parameters()).dtype
    return (
        torch.as_tensor(np.asarray(x), dtype=dtype),
        torch.as_tensor(np.asarray(y), dtype=torch.long),
        torch.as_tensor(np.asarray(lengths), dtype=torch.long),
    )


@contextmanager
def _inputs_only(model: nn.Module):
    """Eval mode and no parameter gradients (a saliency map needs the input's only); the model's
    ``requires_grad`` flags come back afterwards."""
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield ProbabilityModel(model)
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _slices(n: int, size: int):
    return [slice(i, min(n, i + size)) for i in range(0, n, max(1, size))]


def _gradient_pass(prob, x, y, lengths):
    """d p_y / d x and the probabilities of one pass: the samples are independent (eval mode, no
    batch statistics), so the gradient of the summed true-class probabilities is each sample's own."""
    x = x.detach().requires_grad_(True)
    p = prob(x, lengths)
    (grad,) = torch.autograd.grad(p.gather(1, y[:, None]).sum(), x)
    return grad, p.detach()


def _gradients(prob, x, y, lengths, cap: int) -> torch.Tensor:
    """d p_y / d x of any number of rows, in passes of at most ``cap``."""
    return torch.cat([_gradient_pass(prob, x[sl], y[sl], lengths[sl])[0] for sl in _slices(len(x), cap)])


def gradient_saliency(
    model: nn.Module,
    x,
    y,
    lengths,
    max_samples: int | None = None,
    with_predictions: bool = False,
    max_mb: float = SaliencyOptions.max_batch_mb,
):
    """|d p_y / d x| for every sample, one backward per pass of up to ``max_samples`` samples
    (default: as many as ``max_mb`` holds); with ``with_predictions`` also each sample's
    predicted class, from the same forward pass.

    The model is put in eval mode (and left in it); its parameters' ``requires_grad`` flags are restored.

    Parameters
    ----------
    model : nn.Module
        A logits model, called as ``model(x, lengths)``.
    x : array-like, shape (n, time, features)
        Input sequences (converted to the model's parameter dtype).
    y : array-like of int, shape (n,)
        Each sample's true class: ``p_y`` is its probability.
    lengths : array-like of int, shape (n,)
        True sequence lengths.
    max_samples : int, optional
        Samples per pass; default (None): as many as ``max_mb`` holds (:func:`samples_per_pass`).
    with_predictions : bool, default False
        Also return each sample's predicted class.
    max_mb : float, default 256
        Memory cap of one pass in MiB (``SaliencyOptions.max_batch_mb``'s default).

    Returns
    -------
    maps : numpy.ndarray, shape (n, time, features)
        ``|d p_y / d x|``, in the model's dtype.
    predictions : numpy.ndarray of int64, shape (n,)
        The class of highest probability of each sample; returned (as ``(maps, predictions)``) only with
        ``with_predictions``.
    """
    x, y, lengths = _as_tensors(model, x, y, lengths)
    cap = max_samples or samples_per_pass(x.shape[1], x.shape[2], x.element_size(), max_mb)
    maps, pred = [], []
    with _inputs_only(model) as prob:
        for sl in _slices(len(x), cap):
            grad, p = _gradient_pass(prob, x[sl], y[sl], lengths[sl])
            maps.append(grad.abs_())
            pred.append(p.argmax(1))
    maps = torch.cat(maps).numpy()
    return (maps, torch.cat(pred).numpy()) if with_predictions else maps


def gradient_saliency_per_sample(model: nn.Module, x, y, lengths) -> np.ndarray:
    """The slow way (one forward/backward per sample); kept for the benchmark.

    Parameters
    ----------
    model : nn.Module
        A logits model, called as ``model(x, lengths)``.
    x : array-like, shape (n, time, features)
        Input sequences.
    y : array-like of int, shape (n,)
        Each sample's true class.
    lengths : array-like of int, shape (n,)
        True sequence lengths.

    Returns
    -------
    numpy.ndarray, shape (n, time, features)
        ``|d p_y / d x|``, as :func:`gradient_saliency` returns it.
    """
    return gradient_saliency(model, x, y, lengths, max_samples=1)


def attribute(
    method: str,
    model: nn.Module,
    x,
    y,
    lengths,
    options: SaliencyOptions | None = None,
    seed: int = 0,
    baselines=None,
    max_samples: int | None = None,
) -> np.ndarray:
    """Attribution maps ``(n, time, features)`` of the true-class probability by ``method``.

    The model is put in eval mode (and left in it); its parameters' ``requires_grad`` flags are restored.

    Parameters
    ----------
    method : str
        One of ``vanishing_saliency.labels.SALIENCY_METHODS`` (see the module docstring).
    model : nn.Module
        A logits model, called as ``model(x, lengths)``.
    x : array-like, shape (n, time, features)
        Input sequences (converted to the model's parameter dtype).
    y : array-like of int, shape (n,)
        Each sample's true class, whose probability is attributed.
    lengths : array-like of int, shape (n,)
        True sequence lengths.
    options : SaliencyOptions, optional
        The methods' settings (its defaults when None).
    seed : int, default 0
        Seed of the random methods (SmoothGrad's and GradientShap's draws, Dynamask's starting mask).
    baselines : array-like, shape (k, time, features), optional
        Samples GradientShap draws its baselines from (default: an all-zero baseline).
    max_samples : int, optional
        Inputs per pass, instead of what ``max_batch_mb`` holds (tests use it to force several passes).

    Returns
    -------
    numpy.ndarray, shape (n, time, features)
        The maps, in the model's dtype, zero at padding steps; signed for the methods that give signed maps
        (metrics take absolute values).

    Raises
    ------
    ConfigError
        If ``method`` is not a known saliency method.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown saliency method {method!r}; known: {', '.join(METHODS)}")
    opts = options if options is not None else SaliencyOptions()
    xt, yt, lt = _as_tensors(model, x, y, lengths)
    cap = max_samples or samples_per_pass(xt.shape[1], xt.shape[2], xt.element_size(), opts.max_batch_mb)
    with _inputs_only(model) as prob:
        if method == "gradient":
            maps = _gradients(prob, xt, yt, lt, cap).abs_()
        elif method == "tsr":
            maps = _temporal_saliency_rescaling(prob, xt, yt, lt, cap, opts.tsr_quantile)
        elif method == "dynamask":
            maps = _dynamask(model, xt, yt, lt, cap, opts, seed)
        elif method == "smoothgrad":
            maps = _smoothgrad(prob, xt, yt, lt, cap, opts, seed)
        elif method == "gradient_shap":
            maps = _gradient_shap(prob, xt, yt, lt, cap, opts, seed, baselines)
        else:
            maps = _captum_maps(method, prob, xt, yt, lt, cap, opts)
    return (maps * length_mask(lt, xt.shape[1]).unsqueeze(-1)).numpy()


def _sample_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """Sample ``index``'s own generator: its draws do not depend on which pass it shares."""
    return np.random.default_rng([int(seed), int(index), stream])


def _np_dtype(x: torch.Tensor):
    return np.float32 if x.dtype == torch.float32 else np.float64


def _smoothgrad(prob, x, y, lengths, cap, opts, seed) -> torch.Tensor:
    """Mean of |d p_y / d x| over ``smoothgrad_samples`` copies of each sample with N(0, stdev) noise
    (Captum's NoiseTunnel over Saliency, with each sample's noise drawn by its own generator)."""
    k, sd = int(opts.smoothgrad_samples), float(opts.smoothgrad_stdev)
    n, shape = len(x), x.shape[1:]
    out = []
    for sl in _slices(n, max(1, cap // k)):
        noise = np.stack(
            [_sample_rng(seed, i, 0).standard_normal((k, *shape), dtype=_np_dtype(x)) for i in range(sl.start, sl.stop)]
        )
        noisy = (x[sl, None] + sd * torch.as_tensor(noise, dtype=x.dtype)).reshape(-1, *shape)
        grads = _gradients(prob, noisy, y[sl].repeat_interleave(k), lengths[sl].repeat_interleave(k), cap)
        out.append(grads.abs_().reshape(-1, k, *shape).mean(1))
    return torch.cat(out)


def _gradient_shap(prob, x, y, lengths, cap, opts, seed, baselines) -> torch.Tensor:
    """Expected gradients (Captum's GradientShap): per sample, ``gradient_shap_samples`` draws of a
    baseline b (from ``baselines``, or zeros), a point a ~ U(0, 1) and input noise e ~ N(0, stdev);
    the map is the mean of d p_y / d z at z = b + a (x + e - b), times (x + e - b)."""
    k, sd = int(opts.gradient_shap_samples), float(opts.gradient_shap_stdev)
    n, shape = len(x), x.shape[1:]
    pool = (
        torch.zeros((1, *shape), dtype=x.dtype)
        if baselines is None
        else torch.as_tensor(np.asarray(baselines), dtype=x.dtype)
    )
    out = []
    for sl in _slices(n, max(1, cap // k)):
        draws = [_sample_rng(seed, i, 1) for i in range(sl.start, sl.stop)]
        idx = torch.as_tensor(np.stack([g.integers(0, len(pool), k) for g in draws]))  # (b, k)
        alpha = torch.as_tensor(np.stack([g.random(k) for g in draws]), dtype=x.dtype)  # (b, k)
        noise = torch.as_tensor(np.stack([g.standard_normal((k, *shape), dtype=_np_dtype(x)) for g in draws]))
        delta = x[sl, None] + sd * noise - pool[idx]  # (b, k, T, N)
        points = (pool[idx] + alpha[..., None, None] * delta).reshape(-1, *shape)
        grads = _gradients(prob, points, y[sl].repeat_interleave(k), lengths[sl].repeat_interleave(k), cap)
        out.append((grads.reshape(delta.shape) * delta).mean(1))
    return torch.cat(out)


def _captum_maps(method, prob, xt, yt, lt, cap, opts) -> torch.Tensor:
    """Integrated gradients, DeepLift, input x gradient and occlusion, through Captum, with the
    samples of a call and its expansion (steps, baselines, occluded copies) within ``cap``."""
    import captum.attr as ca

    n, n_time, n_feat = xt.shape
    expansion = {"integrated_gradients": int(opts.ig_steps), "input_x_gradient": 1}
    if method in ("occlusion", "occlusion_features"):
        window = (1, n_feat) if method == "occlusion" else (n_time, 1)  # one step, or one feature's steps
        n_windows = n_time if method == "occlusion" else n_feat
        size = min(n, cap)
        per_eval = max(1, min(n_windows, cap // size))
    elif method == "deeplift":
        # Captum's DeepLift rule for the softmax subtracts a mean over the whole batch, so a sample's
        # map would depend on the samples it shares a call with: one sample per call
        size = 1
    else:
        size = max(1, cap // expansion[method])
    out = []
    for sl in _slices(n, size):
        xb, yb, lb = xt[sl], yt[sl], lt[sl]
        base = torch.zeros_like(xb)
        if method == "integrated_gradients":
            a = ca.IntegratedGradients(prob).attribute(
                xb,
                baselines=base,
                target=yb,
                additional_forward_args=(lb,),
                n_steps=opts.ig_steps,
                internal_batch_size=cap,
            )
        elif method == "deeplift":
            a = ca.DeepLift(prob).attribute(xb, baselines=base, target=yb, additional_forward_args=(lb,))
        elif method == "input_x_gradient":
            a = ca.InputXGradient(prob).attribute(xb, target=yb, additional_forward_args=(lb,))
        else:
            a = ca.Occlusion(prob).attribute(
                xb,
                sliding_window_shapes=window,
                strides=window,
                baselines=0.0,
                target=yb,
                additional_forward_args=(lb,),
                perturbations_per_eval=per_eval,
            )
        out.append(a.detach())
    return torch.cat(out)


def _masked_relevance(prob, x, y, lengths, base, n_masks, mask_of, cap) -> torch.Tensor:
    """For each of ``n_masks`` masks: how much the gradient map changes (L1) when the masked entries
    of ``x`` are set to 0; ``(n, n_masks)``.  ``mask_of(range)`` gives those masks as booleans
    ``(k, n, T, N)``; the masked copies share passes of up to ``cap`` inputs."""
    n = len(x)
    rel = torch.zeros(n, n_masks, dtype=x.dtype)
    for sl in _slices(n_masks, max(1, cap // n)):
        copies = torch.where(mask_of(range(sl.start, sl.stop)), torch.zeros((), dtype=x.dtype), x.unsqueeze(0))
        k = copies.shape[0]
        grads = _gradients(prob, copies.reshape(-1, *x.shape[1:]), y.repeat(k), lengths.repeat(k), cap).abs_()
        rel[:, sl] = (base.unsqueeze(0) - grads.reshape(copies.shape)).abs().sum((2, 3)).T
    return rel


def _temporal_saliency_rescaling(prob, x, y, lengths, cap, quantile) -> torch.Tensor:
    """Temporal saliency rescaling of the gradient map (see the module docstring)."""
    out = []
    for sl in _slices(len(x), cap):
        xb, yb, lb = x[sl], y[sl], lengths[sl]
        n, n_time, n_feat = xb.shape
        valid = length_mask(lb, n_time)
        base = _gradients(prob, xb, yb, lb, cap).abs_()

        def one_step(steps, n_time=n_time):  # copy j: step steps[j] of every sample
            hit = torch.zeros(len(steps), 1, n_time, 1, dtype=torch.bool)
            hit[torch.arange(len(steps)), 0, list(steps)] = True
            return hit

        time_rel = _masked_relevance(prob, xb, yb, lb, base, n_time, one_step, cap)  # (n, T)
        time_rel = time_rel.masked_fill(~valid, float("nan"))
        cut = torch.nanquantile(time_rel, quantile, dim=1, keepdim=True)
        keep = (time_rel > cut) & valid  # (n, T)

        def one_feature(features, n_feat=n_feat, keep=keep):  # copy j: feature features[j] at the kept steps
            hit = torch.zeros(len(features), 1, 1, n_feat, dtype=torch.bool)
            hit[torch.arange(len(features)), 0, 0, list(features)] = True
            return hit & keep[None, :, :, None]

        feat_rel = _masked_relevance(prob, xb, yb, lb, base, n_feat, one_feature, cap)  # (n, N)
        out.append(
            torch.where(
                keep[:, :, None], torch.nan_to_num(time_rel)[:, :, None] * feat_rel[:, None, :], torch.zeros_like(xb)
            )
        )
    return torch.cat(out)


def _dynamask(model, x, y, lengths, cap, opts, seed) -> torch.Tensor:
    # every sample's starting mask is drawn at once, so a pass holds any subset of the samples;
    # each mask's loss and Adam update are its own, so passes do not mix samples
    start = 1.0 - 0.01 * torch.rand(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    return torch.cat(
        [_dynamask_batch(model, x[sl], y[sl], lengths[sl], start[sl], opts) for sl in _slices(len(x), cap)]
    )


def top_entries(flat: torch.Tensor, n_keep) -> torch.Tensor:
    """1 on the entries of each row that an ascending ``torch.sort`` of the row puts in its last ``n_keep[i]``
    places, else 0 (``flat``'s dtype).

    Dynamask's area penalty compares the sorted mask with a 0-then-1 target; its gradient reaches each entry as
    ``2 (m - t)`` with ``t`` the target of the place the sort gave it.  Only the top ``n_keep`` set matters, and a
    partition finds it in linear time (``torch.sort`` of a 100 x 10,000 mask took 74 ms, most of a Dynamask step).
    Where equal values straddle the boundary, which of them are "on top" is the sort's tie order: those rows are
    sorted as before, so every entry gets the same target as from the full sort.

    Parameters
    ----------
    flat : torch.Tensor, shape (n, M)
        The values to rank, one row per sample (read detached: no gradient flows back).
    n_keep : array-like of int, shape (n,)
        Entries to mark in each row, in [0, M].

    Returns
    -------
    torch.Tensor, shape (n, M)
        1 on each row's top ``n_keep[i]`` entries, else 0, in ``flat``'s dtype.
    """
    values = flat.detach().numpy()
    n, m = values.shape
    keep = np.asarray(n_keep, dtype=np.int64).reshape(n)
    target = np.zeros((n, m), dtype=values.dtype)
    for k in np.unique(keep[keep > 0]):
        rows = np.flatnonzero(keep == k)
        if k >= m:
            target[rows] = 1
            continue
        part = np.partition(values[rows], (m - k - 1, m - k), axis=1)
        low, high = part[:, m - k - 1], part[:, m - k]  # the largest value outside the top k, the smallest in it
        clear = low < high
        target[rows[clear]] = values[rows[clear]] >= high[clear, None]
        for row in rows[~clear]:  # a tie across the boundary: the sort's own order
            order = torch.sort(flat[row].detach()).indices[m - k :]
            target[row, order.numpy()] = 1
    return torch.from_numpy(target)


def _dynamask_batch(model, x, y, lengths, start, opts):
    n, n_time, n_feat = x.shape
    valid = length_mask(lengths, n_time).unsqueeze(-1).to(x.dtype)  # (n, T, 1)
    n_valid = (valid.sum((1, 2)) * n_feat).clamp(min=1)
    mask = start.clone().requires_grad_(True)
    opt = adam([mask], lr=opts.dynamask_lr)
    # the area penalty: the sorted mask against 0 then 1 on the top `area` of the valid entries (padding entries
    # are 0 and sort first); (sorted - target)^2 summed is the same as each entry against the target of its place
    n_keep = torch.round(opts.dynamask_area * n_valid).long()
    steps = int(opts.dynamask_steps)
    for step in range(steps):
        m = mask.clamp(0, 1) * valid
        perturbed = m * x  # fade to the reference 0 (the standardised data's mean)
        loss = nn.functional.cross_entropy(model(perturbed, lengths), y, reduction="sum")
        flat = m.reshape(n, -1)
        area = ((flat - top_entries(flat, n_keep)) ** 2).sum(1) / n_valid
        smooth = ((m[:, 1:] - m[:, :-1]).abs() * valid[:, 1:]).sum((1, 2)) / n_valid
        # the area constraint tightens over the run (from 1 % to 100 % of its weight), as in Dynamask,
        # so the entries the prediction needs least leave the mask first
        area_weight = opts.dynamask_area_weight * 100.0 ** (step / max(steps - 1, 1) - 1)
        total = loss + area_weight * area.sum() + opts.dynamask_smooth_weight * smooth.sum()
        opt.zero_grad()
        total.backward()
        opt.step()
        with torch.no_grad():
            mask.clamp_(0, 1)
    return mask.detach().clamp(0, 1) * valid
