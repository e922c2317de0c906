"""Saliency maps: the paper's |d p_true / d x| (batched), Captum attributions, temporal saliency
rescaling and a Dynamask-style perturbation mask.

One class per method, in Captum's call shape (``REGISTRY`` by name, :func:`method` builds one)::

    explainer = saliency.Gradient(model, output="probability")        # default "logit": the model's output
    maps = explainer.attribute(x, target=y, lengths=lengths)          # torch in, torch out: (n, time, features)
    maps = explainer.attribute(x, target="predicted", lengths=lengths)  # or one class index for every input
    ig = saliency.IntegratedGradients(model).attribute(x, baselines, target=1, n_steps=50)  # Captum's call

``model`` is a logits model called as ``model(x, lengths)`` or ``model(x)``; ``target`` is each input's class (its
label), one class index, ``"predicted"``, or None for a one-output model; the explained output is the model's own
(the logit, as in Captum) or the target's softmax probability (the paper's).  :class:`CaptumAttribution` puts any
other Captum method in the same shape; :func:`attribute` is the numpy form the workflow's steps use.
Metrics take absolute values.

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

import inspect
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

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
        and smoothness penalties.  ``dynamask_area`` is also time-interpret's DynaMask ``keep_ratio``.
    gradient_abs : bool
        Gradient: the absolute gradient (the paper's, Captum's ``Saliency`` default ``abs=True``) or, False, signed.
    tint_epochs, tint_lr : int, float
        time-interpret's ExtremalMask and DynaMask: epochs of their mask fit and its Adam learning rate (tint's
        default 1e-3 needs hundreds of epochs).
    """

    max_batch_mb: float = 256
    gradient_abs: bool = True
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
    tint_epochs: int = 100
    tint_lr: float = 0.1


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


OUTPUTS = ("probability", "logit")


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


def _input_tensors(model, inputs, lengths):
    """``inputs`` in the model's dtype and ``lengths`` as int64 (default: every input full length), detached, checked
    up front: (samples, time, features) with the model's feature count, finite, lengths in [1, time].  ValueError
    with what was given and what is expected."""
    x = torch.as_tensor(inputs.detach() if torch.is_tensor(inputs) else np.asarray(inputs))
    if x.ndim != 3:
        raise ValueError(f"inputs has shape {tuple(x.shape)}; expected (samples, time, features)")
    if len(x) == 0 or x.shape[1] == 0:
        raise ValueError(f"inputs has shape {tuple(x.shape)}: no sample or no time step to explain")
    if not (x.dtype.is_floating_point or x.dtype in (torch.int32, torch.int64, torch.int16, torch.uint8)):
        raise TypeError(f"inputs are {x.dtype}; expected numbers")
    first = next(model.parameters())
    x = x.to(device=first.device, dtype=first.dtype)
    cfg = getattr(model, "cfg", None)
    if getattr(cfg, "n_features", None) is not None and x.shape[2] != cfg.n_features:
        raise ValueError(f"inputs have {x.shape[2]} features per time step; the model takes {cfg.n_features}")
    bad = ~torch.isfinite(x)
    if bad.any():
        rows = torch.nonzero(bad.flatten(1).any(1)).flatten()
        raise ValueError(
            f"inputs hold {int(bad.sum())} NaN or infinite value(s) in {len(rows)} sample(s) (the first: sample "
            f"{int(rows[0])}); their maps would be NaN: clean or drop those samples first"
        )
    if lengths is None:
        return x, torch.full((len(x),), x.shape[1], dtype=torch.long, device=x.device)
    lengths = np.asarray(lengths.detach().cpu() if torch.is_tensor(lengths) else lengths)
    if lengths.shape != (len(x),):
        raise ValueError(f"lengths has shape {lengths.shape}; expected one length per input ({len(x)},)")
    if lengths.dtype.kind == "f" and not np.array_equal(lengths, np.round(lengths)):
        raise ValueError("lengths must be whole numbers of time steps")
    if lengths.dtype.kind not in "iuf":
        raise TypeError(f"lengths are {lengths.dtype}; expected integers")
    if lengths.min() < 1 or lengths.max() > x.shape[1]:
        raise ValueError(
            f"lengths must lie in [1, {x.shape[1]}] (the inputs' time steps); "
            f"got {lengths.min():g} .. {lengths.max():g}"
        )
    return x, torch.as_tensor(lengths.astype(np.int64), device=x.device)


def _lengths_of(additional_forward_args, lengths):
    """The lengths, given as ``lengths=`` or as Captum passes them (``additional_forward_args=(lengths,)`` or the
    tensor itself); ValueError when given both ways."""
    if additional_forward_args is None:
        return lengths
    if lengths is not None:
        raise ValueError("lengths given twice: as lengths= and in additional_forward_args")
    extra = additional_forward_args
    return extra[0] if isinstance(extra, tuple | list) else extra


def _takes_lengths(model: nn.Module) -> bool:
    """Whether ``model``'s forward takes a second argument (the lengths): ``model(x, lengths)`` or ``model(x)``."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class _Logits(nn.Module):
    """Any model as ``forward(x, lengths)``: a model whose forward takes ``x`` alone gets ``x`` alone."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.with_lengths = _takes_lengths(model)

    def forward(self, x, lengths):
        return self.model(x, lengths) if self.with_lengths else self.model(x)


@contextmanager
def _inputs_only(model: nn.Module, output: str = "probability"):
    """Eval mode and no parameter gradients (a saliency map needs the input's only); yields the explained output as
    ``forward(x, lengths)``: ``ProbabilityModel(model)``, or the model's own output (``output="logit"``).  A model
    whose forward takes ``x`` alone is called with it.  The ``requires_grad`` flags come back afterwards."""
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    logits = model if _takes_lengths(model) else _Logits(model)
    try:
        yield ProbabilityModel(logits) if output == "probability" else logits
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


class _NoBar:
    """A progress bar that shows nothing (the internals' default)."""

    def update(self, n: int = 1) -> None:
        pass


_NO_BAR = _NoBar()


def _slices(n: int, size: int):
    return [slice(i, min(n, i + size)) for i in range(0, n, max(1, size))]


def _gradient_pass(forward, x, y, lengths):
    """d f_y / d x and the outputs of one pass: the samples are independent (eval mode, no batch statistics), so
    the gradient of the summed target outputs is each sample's own."""
    x = x.detach().requires_grad_(True)
    p = forward(x, lengths)
    (grad,) = torch.autograd.grad(p.gather(1, y[:, None]).sum(), x)
    return grad, p.detach()


def _gradients(forward, x, y, lengths, cap: int) -> torch.Tensor:
    """d f_y / d x of any number of rows, in passes of at most ``cap``."""
    return torch.cat([_gradient_pass(forward, x[sl], y[sl], lengths[sl])[0] for sl in _slices(len(x), cap)])


def _targets(forward, x, lengths, target, cap: int) -> torch.Tensor:
    """Each sample's explained class: ``target`` as a class index, one index per sample, or ``"predicted"``
    (the class of highest output, from forward passes of up to ``cap`` inputs)."""
    n = len(x)
    if isinstance(target, str):
        if target != "predicted":
            raise ValueError(f"target {target!r}: give a class index, one class per sample, or 'predicted'")
        with torch.no_grad():
            return torch.cat([forward(x[sl], lengths[sl]).argmax(1) for sl in _slices(n, cap)])
    if target is None:  # Captum's: a model with one output needs none
        with torch.no_grad():
            if forward(x[:1], lengths[:1]).reshape(1, -1).shape[1] == 1:
                return torch.zeros(n, dtype=torch.long, device=x.device)
        raise ValueError(
            "target is needed: a class index (int), one class per sample (e.g. the labels), or 'predicted' "
            "(target=None is for a model with one output)"
        )
    given = np.asarray(target.detach().cpu() if torch.is_tensor(target) else target)
    if given.dtype.kind == "f" and not np.array_equal(given, np.round(given)):
        raise ValueError(f"target {target!r}: class indices are whole numbers")
    if given.dtype.kind not in "iuf":
        raise TypeError(f"target {target!r}: expected a class index, one per sample, or 'predicted'")
    t = torch.as_tensor(given.astype(np.int64), device=x.device)
    if t.ndim == 2 and t.shape[1] == 1:  # Captum takes (n, 1) too
        t = t[:, 0]
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"target has shape {tuple(t.shape)}; expected one class per input ({n},) or one int")
    with torch.no_grad():
        n_classes = forward(x[:1], lengths[:1]).shape[1]
    if n and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"target classes must lie in [0, {n_classes}); got {t.min().item()} .. {t.max().item()}")
    return t


_CONSTRUCTOR_DOC = """Parameters
----------
model : nn.Module
    A logits model, called as ``model(x, lengths)`` with ``x`` of shape (batch, time, features).
output : {"logit", "probability"}, optional
    The explained output: the model's own (``"logit"``, Captum's; the default but for Dynamask) or the target
    class's softmax probability (``"probability"``, the paper's, which the workflow passes).
options : SaliencyOptions, optional
    The methods' settings (its defaults when None); ``attribute`` overrides any of them by keyword.
max_samples : int, optional
    Inputs per pass, instead of what ``max_batch_mb`` holds.

Raises
------
ValueError
    If ``output`` is not one the method takes."""


class Attribution:
    """One attribution method in Captum's call shape: ``Method(model, output=...).attribute(inputs, target=...,
    lengths=..., baselines=..., **options)``, torch in, torch out.

    Subclasses name the method (``name``, one of :data:`METHODS`) and compute its maps.  Every method runs in as few
    passes as the memory cap allows (module docstring); the model is put in eval mode (and left in it) and its
    parameters' ``requires_grad`` flags are restored.  (Its Parameters and Raises sections, the same for every
    method, are added below.)
    """

    name = ""
    takes_baselines = False

    def __init_subclass__(cls, **kwargs):
        # every method is built the same way: its docstring gets the constructor's Parameters and Raises
        super().__init_subclass__(**kwargs)
        if cls.__doc__ and "Parameters\n" not in cls.__doc__:
            cls.__doc__ = inspect.cleandoc(cls.__doc__) + "\n\n" + _CONSTRUCTOR_DOC

    default_output = "logit"  # the model's own output, as Captum explains it

    def __init__(
        self,
        model: nn.Module,
        output: str | None = None,
        options: SaliencyOptions | None = None,
        max_samples: int | None = None,
    ):
        output = output or self.default_output
        if output not in OUTPUTS:
            raise ValueError(f"output {output!r}: expected one of {', '.join(OUTPUTS)}")
        self.model = model
        self.output = output
        self.options = options if options is not None else SaliencyOptions()
        self.max_samples = max_samples

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.model).__name__}, output={self.output!r})"

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        *,
        lengths=None,
        seed: int = 0,
        progress: bool = False,
        indices=None,
        return_convergence_delta: bool = False,
        **options,
    ):
        """Attribution maps of each input's ``target`` output, in Captum's call shape.

        Parameters
        ----------
        inputs : torch.Tensor or array-like, shape (n, time, features), or a 1-tuple of one
            Input sequences (moved to the model's device and dtype); a tuple gives a tuple back, as in Captum.
        baselines : torch.Tensor, array-like or float, optional
            Only for the methods that take one: GradientShap's pool of baseline samples ``(k, time, features)``
            (default: an all-zero baseline); Integrated Gradients', DeepLift's and occlusion's reference, a tensor
            broadcastable to ``inputs`` or a float (default 0).
        target : int, array-like of int of shape (n,) or (n, 1), "predicted", or None
            The explained output: one class for every input, each input's own (e.g. its label), or the class the
            model predicts for it; None for a model with one output.
        additional_forward_args : torch.Tensor or tuple, optional
            Captum's way to pass the lengths: ``(lengths,)`` or ``lengths`` (or use ``lengths=``).
        lengths : torch.Tensor or array-like of int, shape (n,), optional
            True sequence lengths (default: every input is full length); padding steps get 0.  A model whose forward
            takes ``x`` alone is called without them.
        seed : int, default 0
            Seed of the random methods (SmoothGrad's and GradientShap's draws, Dynamask's starting mask); each
            sample draws from a generator of its own (the seed and its index, ``indices``).
        progress : bool, default False
            Show a progress bar of the samples done (tqdm, on stderr).
        indices : array-like of int, shape (n,), optional
            Each input's index in its dataset, which seeds its SmoothGrad and GradientShap draws: with them, a
            sample's map is the same alone, in any batch, at any place (default: its place in this call, 0 .. n-1).
        return_convergence_delta : bool, default False
            Integrated Gradients and DeepLift: also return Captum's convergence delta per input, the sum of its map
            less ``f(input) - f(baseline)`` of its target.
        **options
            Any field of :class:`SaliencyOptions` (e.g. ``ig_steps=64``), or Captum's name of it: ``n_steps``
            (``ig_steps``), ``nt_samples`` / ``stdevs`` (SmoothGrad), ``n_samples`` / ``stdevs`` (GradientShap),
            ``internal_batch_size`` (inputs per pass), ``abs`` (Gradient: False gives the signed gradient).

        Returns
        -------
        torch.Tensor, shape (n, time, features), or a tuple
            The maps, detached, on the model's device and in its dtype, zero at padding steps; signed for the
            methods that give signed maps.  A 1-tuple for tuple inputs; ``(maps, delta)`` with
            ``return_convergence_delta``.

        Raises
        ------
        ValueError
            Inputs that are not (samples, time, features), have another feature count than the model, hold NaN or
            infinite values; lengths outside [1, time] or given twice; a target that is missing, not a whole class
            index or out of range; ``indices`` of another length; a baseline given to a method that takes none.
        TypeError
            An option that is neither a field of :class:`SaliencyOptions` nor Captum's name of one this method
            has; several input tensors; inputs, lengths or targets that are not numbers.
        """
        as_tuple = isinstance(inputs, tuple)
        if as_tuple:
            if len(inputs) != 1:
                raise TypeError(f"{type(self).__name__} explains one input tensor; got a tuple of {len(inputs)}")
            inputs = inputs[0]
        lengths = _lengths_of(additional_forward_args, lengths)
        options, max_samples = self._captum_options(options)
        unknown = set(options) - set(SaliencyOptions.__dataclass_fields__)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.attribute got unknown option(s) {', '.join(sorted(unknown))}; "
                f"options are the fields of SaliencyOptions ({', '.join(SaliencyOptions.__dataclass_fields__)}) "
                f"and Captum's names of those this method has ({', '.join(sorted(self.captum_options)) or 'none'}; and "
                "internal_batch_size)"
            )
        if baselines is not None and not self.takes_baselines:
            raise ValueError(f"{type(self).__name__} takes no baselines")
        if return_convergence_delta and self.name not in ("integrated_gradients", "deeplift"):
            raise TypeError(f"{type(self).__name__}: return_convergence_delta is Integrated Gradients' and DeepLift's")
        opts = replace(self.options, **options)
        x, lt = _input_tensors(self.model, inputs, lengths)
        where = np.arange(len(x)) if indices is None else np.asarray(indices)
        if where.shape != (len(x),) or where.dtype.kind not in "iu":
            raise ValueError(f"indices has shape {where.shape} ({where.dtype}); expected one int per input ({len(x)},)")
        seeds = _Seeds(int(seed), where)
        cap = (
            max_samples
            or self.max_samples
            or samples_per_pass(x.shape[1], x.shape[2], x.element_size(), opts.max_batch_mb)
        )
        with (
            _inputs_only(self.model, self.output) as forward,
            tqdm(total=len(x), desc=self.name, unit="sample", disable=not progress, leave=False) as bar,
        ):
            y = _targets(forward, x, lt, target, cap)
            maps = self._maps(forward, x, y, lt, cap, opts, seeds, baselines, bar)
            maps = (maps * length_mask(lt, x.shape[1]).unsqueeze(-1)).detach()
            if return_convergence_delta:
                delta = _convergence_delta(forward, x, y, lt, maps, baselines, cap)
        out = (maps,) if as_tuple else maps
        return (out, delta) if return_convergence_delta else out

    # Captum's names of this method's options -> the SaliencyOptions fields they set
    captum_options: dict[str, str] = {}

    def _captum_options(self, options: dict) -> tuple[dict, int | None]:
        """``options`` with Captum's names translated to ours (a name this method has not stays, to be refused),
        and ``internal_batch_size`` (inputs per pass) apart."""
        out, max_samples = {}, None
        for key, value in options.items():
            if key == "internal_batch_size":
                max_samples = int(value)
            elif key in self.captum_options:
                out[self.captum_options[key]] = value
            else:
                out[key] = value
        return out, max_samples

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar) -> torch.Tensor:
        """The maps of ``x`` (``bar.update`` after each pass's samples)."""
        raise NotImplementedError


Attribution.__doc__ = inspect.cleandoc(Attribution.__doc__) + "\n\n" + _CONSTRUCTOR_DOC


class Gradient(Attribution):
    """The paper's saliency, ``|d f_y / d x|`` (Captum's ``Saliency`` with ``abs=True``), one backward per pass."""

    name = "gradient"
    captum_options = {"abs": "gradient_abs"}

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        out = []
        for sl in _slices(len(x), cap):
            grad = _gradient_pass(forward, x[sl], y[sl], lengths[sl])[0]
            out.append(grad.abs_() if opts.gradient_abs else grad)
            bar.update(sl.stop - sl.start)
        return torch.cat(out)


class _CaptumMethod(Attribution):
    """A method Captum computes (``_captum_maps``, by the method's name)."""

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        return _captum_maps(self.name, forward, x, y, lengths, cap, opts, baselines, bar)


class IntegratedGradients(_CaptumMethod):
    """Captum's ``IntegratedGradients`` from the baseline (default 0) in ``ig_steps`` steps."""

    name = "integrated_gradients"
    takes_baselines = True
    captum_options = {"n_steps": "ig_steps"}


class DeepLift(_CaptumMethod):
    """Captum's ``DeepLift`` from the baseline (default 0); through a fused LSTM it degrades to gradient x delta."""

    name = "deeplift"
    takes_baselines = True


class InputXGradient(_CaptumMethod):
    """Captum's ``InputXGradient``: ``x * d f_y / d x``."""

    name = "input_x_gradient"


class Occlusion(_CaptumMethod):
    """Captum's ``Occlusion`` of one whole time step at a time, replaced by the baseline (default 0)."""

    name = "occlusion"
    takes_baselines = True


class FeatureOcclusion(Occlusion):
    """Captum's ``Occlusion`` of one feature over all time steps at a time (its score spread over its steps)."""

    name = "occlusion_features"


class SmoothGrad(Attribution):
    """Mean ``|d f_y / d x|`` over ``smoothgrad_samples`` noisy copies (Captum's ``NoiseTunnel`` over ``Saliency``),
    each sample's noise from a generator of its own."""

    name = "smoothgrad"
    captum_options = {"nt_samples": "smoothgrad_samples", "stdevs": "smoothgrad_stdev"}

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        return _smoothgrad(forward, x, y, lengths, cap, opts, seed, bar)


class GradientShap(Attribution):
    """Expected gradients (Captum's ``GradientShap``), baselines drawn from a pool (default: one all-zero input)."""

    name = "gradient_shap"
    takes_baselines = True
    captum_options = {"n_samples": "gradient_shap_samples", "stdevs": "gradient_shap_stdev"}

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        return _gradient_shap(forward, x, y, lengths, cap, opts, seed, baselines, bar)


class TemporalSaliencyRescaling(Attribution):
    """Temporal saliency rescaling of the gradient map (Ismail et al. 2020; module docstring)."""

    name = "tsr"

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        return _temporal_saliency_rescaling(forward, x, y, lengths, cap, opts.tsr_quantile, bar)


class Dynamask(Attribution):
    """A Dynamask-style perturbation mask (module docstring).  Its objective keeps the target class by the
    cross-entropy of the logits, so it takes ``output="probability"`` only."""

    name = "dynamask"

    default_output = "probability"

    def __init__(self, model, output=None, options=None, max_samples=None):
        if (output or "probability") != "probability":
            raise ValueError("dynamask optimises the target's cross-entropy: output='logit' does not apply")
        super().__init__(model, output, options, max_samples)

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        return _dynamask(self.model, x, y, lengths, cap, opts, seed, bar)


@contextmanager
def _quiet_lightning():
    """Lightning's start-up lines and warnings (accelerators found, no validation loader, ...) off while a tint mask
    fits; the loggers' levels come back afterwards."""
    import pytorch_lightning  # noqa: F401  (its import sets its loggers' levels: set them after)

    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _tint(epochs: int):
    """time-interpret's ``tint.attr`` and ``tint.attr.models``, and a Lightning trainer of ``epochs`` on the CPU that
    writes nothing (no logs, checkpoints or progress bar)."""
    try:
        import tint.attr
        import tint.attr.models
        from pytorch_lightning import Trainer
    except ImportError as err:
        raise ConfigError(
            "the tint methods (extremal_mask, tint_dynamask) need time-interpret: "
            'pip install "vanishing_saliency[tint]" (make venv installs it)',
            key="saliency.methods",
        ) from err
    with _quiet_lightning():
        trainer = Trainer(
            max_epochs=int(epochs),
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    return tint.attr, tint.attr.models, trainer


class ExtremalMask(Attribution):
    """time-interpret's ``ExtremalMask`` (Enguehard 2023): a mask in [0, 1] per entry, fitted (``tint_epochs``,
    ``tint_lr``) so that the masked input, the rest faded to the baseline (default 0), keeps the target's output,
    while the mask stays small.  Needs the ``tint`` extra.

    Every sample's mask is fitted in one batch: tint's loss is a mean over the batch, so splitting it would change
    the masks (``max_batch_mb`` does not apply).  The fit starts from a constant mask; ``seed`` seeds it all the same.
    """

    name = "extremal_mask"
    takes_baselines = True

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        attr, models, trainer = _tint(opts.tint_epochs)
        with torch.random.fork_rng(), _quiet_lightning():
            torch.manual_seed(int(seed))
            maps = attr.ExtremalMask(forward).attribute(
                x,
                baselines=baselines,
                target=y,
                additional_forward_args=(lengths,),
                trainer=trainer,
                mask_net=models.ExtremalMaskNet(forward_func=forward, lr=opts.tint_lr),
                batch_size=len(x),
            )
        bar.update(len(x))
        return maps.detach()


class TintDynaMask(Attribution):
    """time-interpret's ``DynaMask`` (Crabbe & van der Schaar 2021), as that library ships it: a mask keeping the
    fraction ``dynamask_area`` of the entries, the rest faded to the moving average, fitted (``tint_epochs``,
    ``tint_lr``) to keep the model's whole output vector (mean squared error), so ``target`` chooses nothing here.
    Needs the ``tint`` extra; every sample's mask is fitted in one batch (as :class:`ExtremalMask`).

    tint 0.3.0 adds the mask's size penalty in Lightning's ``training_step_end`` hook, which Lightning 2 no longer
    calls: without it the mask stays near 0.5 everywhere.  The mask network here calls that hook itself.
    """

    name = "tint_dynamask"

    def _maps(self, forward, x, y, lengths, cap, opts, seed, baselines, bar):
        attr, models, trainer = _tint(opts.tint_epochs)
        with torch.random.fork_rng(), _quiet_lightning():

            class MaskNet(models.MaskNet):
                def training_step(self, batch, batch_idx):
                    return self.training_step_end(super().training_step(batch, batch_idx))

            torch.manual_seed(int(seed))
            maps = attr.DynaMask(forward).attribute(
                x,
                additional_forward_args=(lengths,),
                trainer=trainer,
                mask_net=MaskNet(forward_func=forward, keep_ratio=float(opts.dynamask_area), lr=opts.tint_lr),
                batch_size=len(x),
            )
        bar.update(len(x))
        return maps.detach()


class CaptumAttribution(Attribution):
    """Any Captum attribution class in this shape: lengths go to the model as an additional forward argument, the
    output is the probability or the logit, and every keyword of ``attribute`` beyond ours goes to Captum's.

    Parameters
    ----------
    model : nn.Module
        A logits model, called as ``model(x, lengths)`` or ``model(x)``.
    method : callable
        A Captum attribution class taking the forward function first, e.g. ``captum.attr.FeatureAblation``, or any
        callable of the forward function that returns one (``lambda f: NoiseTunnel(Saliency(f))``).
    output : {"logit", "probability"}, optional
        The explained output (default: the model's own, as Captum explains it).

    Examples
    --------
    >>> import captum.attr
    >>> ablation = CaptumAttribution(model, captum.attr.FeatureAblation)  # doctest: +SKIP
    >>> maps = ablation.attribute(x, target="predicted", lengths=lengths, perturbations_per_eval=8)  # doctest: +SKIP
    >>> smooth = CaptumAttribution(model, lambda f: captum.attr.NoiseTunnel(captum.attr.Saliency(f)))  # doctest: +SKIP
    >>> maps = smooth.attribute(x, target=1, nt_type="smoothgrad", nt_samples=10)  # doctest: +SKIP
    """

    takes_baselines = True

    def __init__(self, model: nn.Module, method, output: str | None = None):
        super().__init__(model, output)
        self.method = method
        self.name = getattr(method, "__name__", type(method).__name__)

    def attribute(
        self, inputs, baselines=None, target=None, additional_forward_args=None, *, lengths=None, **kwargs
    ) -> torch.Tensor:
        """Captum's ``method(forward).attribute(inputs, target=..., additional_forward_args=(lengths,), ...)``.

        Parameters
        ----------
        inputs : torch.Tensor or array-like, shape (n, time, features)
            Input sequences.
        baselines : optional
            Passed to Captum when given.
        target : int, array-like of int of shape (n,) or (n, 1), "predicted", or None
            The explained class (as in :meth:`Attribution.attribute`).
        additional_forward_args : torch.Tensor or tuple, optional
            The lengths, as Captum passes them: ``(lengths,)`` or ``lengths``.
        lengths : torch.Tensor or array-like of int, shape (n,), optional
            True sequence lengths (default: full length); padding steps get 0.
        **kwargs
            Captum's own keywords of ``method.attribute`` (``return_convergence_delta``, ``nt_type``, ...).

        Returns
        -------
        torch.Tensor, shape (n, time, features), or (maps, delta)
            Captum's attributions, detached, zero at padding steps; with Captum's delta when it returns one.
        """
        lengths = _lengths_of(additional_forward_args, lengths)
        x, lt = _input_tensors(self.model, inputs, lengths)
        if baselines is not None:
            kwargs["baselines"] = baselines
        with _inputs_only(self.model, self.output) as forward:
            y = _targets(forward, x, lt, target, len(x))
            out = self.method(forward).attribute(x, target=y, additional_forward_args=(lt,), **kwargs)
        maps, delta = out if isinstance(out, tuple) else (out, None)  # return_convergence_delta=True
        maps = (maps * length_mask(lt, x.shape[1]).unsqueeze(-1)).detach()
        return maps if delta is None else (maps, delta.detach())


# every method of labels.SALIENCY_METHODS, by name
REGISTRY: dict[str, type[Attribution]] = {
    cls.name: cls
    for cls in (
        Gradient,
        IntegratedGradients,
        DeepLift,
        GradientShap,
        InputXGradient,
        SmoothGrad,
        Occlusion,
        FeatureOcclusion,
        TemporalSaliencyRescaling,
        Dynamask,
        ExtremalMask,
        TintDynaMask,
    )
}


def method(name: str, model: nn.Module, output: str | None = None, **kwargs) -> Attribution:
    """The attribution method ``name`` (one of :data:`METHODS`) on ``model``.

    Parameters
    ----------
    name : str
        The method's name.
    model : nn.Module
        A logits model, called as ``model(x, lengths)`` or ``model(x)``.
    output : {"logit", "probability"}, optional
        The explained output (default: the method's, the model's own output but for Dynamask's probability).
    **kwargs
        ``options`` and ``max_samples`` of :class:`Attribution`.

    Returns
    -------
    Attribution
        The method object; call its ``attribute``.

    Raises
    ------
    ValueError
        If ``name`` is not a known method.
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown saliency method {name!r}; known: {', '.join(METHODS)}")
    return REGISTRY[name](model, output=output, **kwargs)


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
    method_name: str,
    model: nn.Module,
    x,
    y,
    lengths,
    options: SaliencyOptions | None = None,
    seed: int = 0,
    baselines=None,
    max_samples: int | None = None,
) -> np.ndarray:
    """The numpy form of ``method(method_name, model, output="probability").attribute(x, target=y, lengths=lengths,
    ...)``: maps of each sample's true-class probability (the paper's).

    Parameters
    ----------
    method_name : str
        One of :data:`METHODS` (see the module docstring).
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
        Seed of the random methods.
    baselines : array-like, optional
        The baselines of the methods that take them (:meth:`Attribution.attribute`).
    max_samples : int, optional
        Inputs per pass, instead of what ``max_batch_mb`` holds.

    Returns
    -------
    numpy.ndarray, shape (n, time, features)
        The maps, in the model's dtype, zero at padding steps.

    Raises
    ------
    ValueError
        If ``method_name`` is not a known saliency method.
    """
    explainer = method(method_name, model, output="probability", options=options, max_samples=max_samples)
    return explainer.attribute(x, target=np.asarray(y), lengths=lengths, baselines=baselines, seed=seed).numpy()


def _convergence_delta(forward, x, y, lengths, maps, baselines, cap) -> torch.Tensor:
    """Captum's convergence delta of Integrated Gradients and DeepLift: each map's sum less ``f(x) - f(baseline)``
    of its target (the completeness gap; 0 for exact attributions)."""
    base = torch.zeros_like(x) if baselines is None else torch.as_tensor(baselines, dtype=x.dtype, device=x.device)
    base = base.expand_as(x)

    def target_output(z):
        with torch.no_grad():
            return torch.cat([forward(z[sl], lengths[sl]).gather(1, y[sl, None])[:, 0] for sl in _slices(len(z), cap)])

    return maps.sum((1, 2)) - (target_output(x) - target_output(base))


@dataclass(frozen=True)
class _Seeds:
    """A call's seed and each of its samples' index in its dataset (``attribute(..., seed, indices)``): sample ``i``
    of the call draws from its own generator, ``(seed, indices[i], stream)``, so its map depends neither on the pass
    it shares nor on where it sits in the call.  ``int()`` of it is the call's seed (the methods that seed once)."""

    seed: int
    indices: np.ndarray

    def __int__(self) -> int:
        return int(self.seed)

    def rng(self, i: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([int(self.seed), int(self.indices[i]), stream])


def _np_dtype(x: torch.Tensor):
    return np.float32 if x.dtype == torch.float32 else np.float64


def _smoothgrad(forward, x, y, lengths, cap, opts, seed, bar=_NO_BAR) -> torch.Tensor:
    """Mean of |d p_y / d x| over ``smoothgrad_samples`` copies of each sample with N(0, stdev) noise
    (Captum's NoiseTunnel over Saliency, with each sample's noise drawn by its own generator)."""
    k, sd = int(opts.smoothgrad_samples), float(opts.smoothgrad_stdev)
    n, shape = len(x), x.shape[1:]
    out = []
    for sl in _slices(n, max(1, cap // k)):
        noise = np.stack(
            [seed.rng(i, 0).standard_normal((k, *shape), dtype=_np_dtype(x)) for i in range(sl.start, sl.stop)]
        )
        noisy = (x[sl, None] + sd * torch.as_tensor(noise, dtype=x.dtype, device=x.device)).reshape(-1, *shape)
        grads = _gradients(forward, noisy, y[sl].repeat_interleave(k), lengths[sl].repeat_interleave(k), cap)
        out.append(grads.abs_().reshape(-1, k, *shape).mean(1))
        bar.update(sl.stop - sl.start)
    return torch.cat(out)


def _gradient_shap(forward, x, y, lengths, cap, opts, seed, baselines, bar=_NO_BAR) -> torch.Tensor:
    """Expected gradients (Captum's GradientShap): per sample, ``gradient_shap_samples`` draws of a
    baseline b (from ``baselines``, or zeros), a point a ~ U(0, 1) and input noise e ~ N(0, stdev);
    the map is the mean of d p_y / d z at z = b + a (x + e - b), times (x + e - b)."""
    k, sd = int(opts.gradient_shap_samples), float(opts.gradient_shap_stdev)
    n, shape = len(x), x.shape[1:]
    pool = (
        torch.zeros((1, *shape), dtype=x.dtype, device=x.device)
        if baselines is None
        else torch.as_tensor(
            baselines.detach().cpu().numpy() if torch.is_tensor(baselines) else np.asarray(baselines),
            dtype=x.dtype,
            device=x.device,
        )
    )
    out = []
    for sl in _slices(n, max(1, cap // k)):
        draws = [seed.rng(i, 1) for i in range(sl.start, sl.stop)]
        idx = torch.as_tensor(np.stack([g.integers(0, len(pool), k) for g in draws]), device=x.device)  # (b, k)
        alpha = torch.as_tensor(np.stack([g.random(k) for g in draws]), dtype=x.dtype, device=x.device)  # (b, k)
        noise = torch.as_tensor(
            np.stack([g.standard_normal((k, *shape), dtype=_np_dtype(x)) for g in draws]), device=x.device
        )
        delta = x[sl, None] + sd * noise - pool[idx]  # (b, k, T, N)
        points = (pool[idx] + alpha[..., None, None] * delta).reshape(-1, *shape)
        grads = _gradients(forward, points, y[sl].repeat_interleave(k), lengths[sl].repeat_interleave(k), cap)
        out.append((grads.reshape(delta.shape) * delta).mean(1))
        bar.update(sl.stop - sl.start)
    return torch.cat(out)


def _captum_maps(method, forward, xt, yt, lt, cap, opts, baselines=None, bar=_NO_BAR) -> torch.Tensor:
    """Integrated gradients, DeepLift, input x gradient and occlusion, through Captum, with the
    samples of a call and its expansion (steps, baselines, occluded copies) within ``cap``; ``baselines``: the
    reference (a float, or a tensor broadcastable to ``xt``; default 0)."""
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
    if baselines is None or isinstance(baselines, (int, float)):
        reference = torch.full((1, 1, 1), float(baselines or 0.0), dtype=xt.dtype, device=xt.device)
    else:
        reference = torch.as_tensor(
            baselines.detach().cpu().numpy() if torch.is_tensor(baselines) else np.asarray(baselines),
            dtype=xt.dtype,
            device=xt.device,
        )
    reference = torch.broadcast_to(reference, xt.shape)
    out = []
    for sl in _slices(n, size):
        xb, yb, lb = xt[sl], yt[sl], lt[sl]
        base = reference[sl].contiguous()
        if method == "integrated_gradients":
            a = ca.IntegratedGradients(forward).attribute(
                xb,
                baselines=base,
                target=yb,
                additional_forward_args=(lb,),
                n_steps=opts.ig_steps,
                internal_batch_size=cap,
            )
        elif method == "deeplift":
            a = ca.DeepLift(forward).attribute(xb, baselines=base, target=yb, additional_forward_args=(lb,))
        elif method == "input_x_gradient":
            a = ca.InputXGradient(forward).attribute(xb, target=yb, additional_forward_args=(lb,))
        else:
            a = ca.Occlusion(forward).attribute(
                xb,
                sliding_window_shapes=window,
                strides=window,
                baselines=base,
                target=yb,
                additional_forward_args=(lb,),
                perturbations_per_eval=per_eval,
            )
        out.append(a.detach())
        bar.update(sl.stop - sl.start)
    return torch.cat(out)


def _masked_relevance(forward, x, y, lengths, base, n_masks, mask_of, cap) -> torch.Tensor:
    """For each of ``n_masks`` masks: how much the gradient map changes (L1) when the masked entries
    of ``x`` are set to 0; ``(n, n_masks)``.  ``mask_of(range)`` gives those masks as booleans
    ``(k, n, T, N)``; the masked copies share passes of up to ``cap`` inputs."""
    n = len(x)
    rel = torch.zeros(n, n_masks, dtype=x.dtype, device=x.device)
    for sl in _slices(n_masks, max(1, cap // n)):
        copies = torch.where(
            mask_of(range(sl.start, sl.stop)), torch.zeros((), dtype=x.dtype, device=x.device), x.unsqueeze(0)
        )
        k = copies.shape[0]
        grads = _gradients(forward, copies.reshape(-1, *x.shape[1:]), y.repeat(k), lengths.repeat(k), cap).abs_()
        rel[:, sl] = (base.unsqueeze(0) - grads.reshape(copies.shape)).abs().sum((2, 3)).T
    return rel


def _temporal_saliency_rescaling(forward, x, y, lengths, cap, quantile, bar=_NO_BAR) -> torch.Tensor:
    """Temporal saliency rescaling of the gradient map (see the module docstring)."""
    out = []
    for sl in _slices(len(x), cap):
        xb, yb, lb = x[sl], y[sl], lengths[sl]
        n, n_time, n_feat = xb.shape
        valid = length_mask(lb, n_time)
        base = _gradients(forward, xb, yb, lb, cap).abs_()

        def one_step(steps, n_time=n_time):  # copy j: step steps[j] of every sample
            hit = torch.zeros(len(steps), 1, n_time, 1, dtype=torch.bool, device=x.device)
            hit[torch.arange(len(steps)), 0, list(steps)] = True
            return hit

        time_rel = _masked_relevance(forward, xb, yb, lb, base, n_time, one_step, cap)  # (n, T)
        time_rel = time_rel.masked_fill(~valid, float("nan"))
        cut = torch.nanquantile(time_rel, quantile, dim=1, keepdim=True)
        keep = (time_rel > cut) & valid  # (n, T)

        def one_feature(features, n_feat=n_feat, keep=keep):  # copy j: feature features[j] at the kept steps
            hit = torch.zeros(len(features), 1, 1, n_feat, dtype=torch.bool, device=x.device)
            hit[torch.arange(len(features)), 0, 0, list(features)] = True
            return hit & keep[None, :, :, None]

        feat_rel = _masked_relevance(forward, xb, yb, lb, base, n_feat, one_feature, cap)  # (n, N)
        out.append(
            torch.where(
                keep[:, :, None], torch.nan_to_num(time_rel)[:, :, None] * feat_rel[:, None, :], torch.zeros_like(xb)
            )
        )
        bar.update(n)
    return torch.cat(out)


def _dynamask(model, x, y, lengths, cap, opts, seed, bar=_NO_BAR) -> torch.Tensor:
    # every sample's starting mask is drawn at once, so a pass holds any subset of the samples;
    # each mask's loss and Adam update are its own, so passes do not mix samples
    start = 1.0 - 0.01 * torch.rand(x.shape, generator=torch.Generator().manual_seed(int(seed)), dtype=x.dtype)
    start = start.to(x.device)
    out = []
    for sl in _slices(len(x), cap):
        out.append(_dynamask_batch(model, x[sl], y[sl], lengths[sl], start[sl], opts))
        bar.update(sl.stop - sl.start)
    return torch.cat(out)


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
