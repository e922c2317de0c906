"""What every attribution method shares: its options, the :class:`Attribution` class (Captum's call shape, the checks
of inputs, lengths and targets), the explained output, the passes under a memory cap and the per-sample seeds.

A method subclasses :class:`Attribution`, names itself (``name``) and computes its maps from one :class:`Call`
(``Attribution.attribute`` checks the inputs, finds the targets, masks the padding steps and restores the model)::

    class TimesInput(Attribution):
        name = "times_input"

        def _maps(self, call):
            out = []
            for sl in call.passes():  # the samples, as many per pass as the memory cap holds
                x = call.x[sl]
                out.append(x * call.gradients(x, call.target[sl], call.lengths[sl]))
                call.bar.update(sl.stop - sl.start)
            return torch.cat(out)
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..models import length_mask


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
    """A model whose forward takes ``x`` alone, called as ``forward(x, lengths)``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, lengths):
        return self.model(x)


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


def _slices(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, max(1, size))]


def _gradient_pass(forward, x, y, lengths) -> torch.Tensor:
    """d f_y / d x of one pass: the samples are independent (eval mode, no batch statistics), so the gradient of the
    summed target outputs is each sample's own."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(forward(x, lengths).gather(1, y[:, None]).sum(), x)
    return grad


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


@dataclass(frozen=True)
class Seeds:
    """A call's seed and each of its samples' index in its dataset (``attribute(..., seed, indices)``): sample ``i``
    of the call draws from its own generator, ``(seed, indices[i], stream)``, so its map depends neither on the pass
    it shares nor on where it sits in the call.

    Parameters
    ----------
    seed : int
        The call's seed (the methods that seed once use it alone).
    indices : numpy.ndarray of int, shape (n,)
        Each sample's index in its dataset.
    """

    seed: int
    indices: np.ndarray

    def rng(self, i: int, stream: int) -> np.random.Generator:
        """Sample ``i``'s generator of one stream of draws.

        Parameters
        ----------
        i : int
            The sample's place in the call.
        stream : int
            Which of the sample's draws (one number per method, so two methods' draws are independent).

        Returns
        -------
        numpy.random.Generator
            Seeded by ``(seed, indices[i], stream)``.
        """
        return np.random.default_rng([int(self.seed), int(self.indices[i]), stream])


@dataclass(frozen=True)
class Call:
    """One ``attribute`` call as a method computes its maps: the checked tensors, the explained output and how many
    inputs one pass may hold.

    Parameters
    ----------
    forward : nn.Module
        The explained output, ``forward(x, lengths)`` -> (batch, outputs): a :class:`ProbabilityModel` or the model's
        own logits (:attr:`logits`).
    x : torch.Tensor, shape (n, time, features)
        The inputs, on the model's device and in its dtype.
    target : torch.Tensor of int64, shape (n,)
        Each input's explained output.
    lengths : torch.Tensor of int64, shape (n,)
        True sequence lengths.
    cap : int
        Inputs per forward + backward pass.
    options : SaliencyOptions
        The call's settings.
    seeds : Seeds
        The call's seed and the samples' indices.
    baselines : torch.Tensor, array-like, float or None
        The reference or baseline pool, as given.
    bar : tqdm
        Progress bar of the samples done (``bar.update(k)`` after ``k`` samples).
    """

    forward: nn.Module
    x: torch.Tensor
    target: torch.Tensor
    lengths: torch.Tensor
    cap: int
    options: SaliencyOptions
    seeds: Seeds
    baselines: Any
    bar: Any

    @property
    def logits(self) -> nn.Module:
        """The model's own output as ``logits(x, lengths)`` (Dynamask's objective), whichever output is explained."""
        return self.forward.model if isinstance(self.forward, ProbabilityModel) else self.forward

    def passes(self, per_sample: int = 1) -> list[slice]:
        """The samples in groups that share passes: ``per_sample`` inputs each (noisy copies, steps) within ``cap``.

        Parameters
        ----------
        per_sample : int, default 1
            Inputs a method expands each sample into.

        Returns
        -------
        list of slice
            Consecutive slices of the samples, each of at most ``max(1, cap // per_sample)``.
        """
        return _slices(len(self.x), max(1, self.cap // per_sample))

    def gradients(self, x: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``d forward_target / d x`` of any number of inputs, in passes of at most ``cap``.

        Parameters
        ----------
        x : torch.Tensor, shape (k, time, features)
            Inputs (the call's samples, or copies of them).
        target : torch.Tensor of int64, shape (k,)
            Each input's explained output.
        lengths : torch.Tensor of int64, shape (k,)
            Each input's length.

        Returns
        -------
        torch.Tensor, shape (k, time, features)
            The gradients (signed).
        """
        return torch.cat(
            [_gradient_pass(self.forward, x[sl], target[sl], lengths[sl]) for sl in _slices(len(x), self.cap)]
        )

    def reference(self) -> torch.Tensor:
        """The baseline broadcast to the inputs' shape: a tensor broadcastable to ``x``, a float, or 0.

        Returns
        -------
        torch.Tensor, shape (n, time, features)
            The reference each input is compared with (a broadcast view).
        """
        given = self.baselines
        if given is None or isinstance(given, (int, float)):
            ref = torch.full((1, 1, 1), float(given or 0.0), dtype=self.x.dtype, device=self.x.device)
        else:
            ref = _tensor(given, self.x)
        return torch.broadcast_to(ref, self.x.shape)


def _tensor(values, like: torch.Tensor) -> torch.Tensor:
    """``values`` (a tensor or array-like) as a tensor of ``like``'s dtype on its device."""
    given = values.detach().cpu().numpy() if torch.is_tensor(values) else np.asarray(values)
    return torch.as_tensor(given, dtype=like.dtype, device=like.device)


_CONSTRUCTOR_DOC = """Parameters
----------
model : nn.Module
    A logits model, called as ``model(x, lengths)`` with ``x`` of shape (batch, time, features), or ``model(x)``.
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
    """One attribution method in Captum's call shape: ``Method(model, output=...).attribute(inputs, baselines,
    target, additional_forward_args, **options)``, torch in, torch out.

    Subclasses name the method (``name``, one of ``labels.SALIENCY_METHODS``) and compute its maps from a
    :class:`Call` (``_maps``).  Every method runs in as few passes as the memory cap allows; the model is put in eval
    mode (and left in it) and its parameters' ``requires_grad`` flags are restored.  (Its Parameters and Raises
    sections, the same for every method, are added below.)
    """

    name = ""
    takes_baselines = False
    has_convergence_delta = False  # Captum's completeness gap (Integrated Gradients, DeepLift)
    default_output = "logit"  # the model's own output, as Captum explains it
    # Captum's names of this method's options -> the SaliencyOptions fields they set
    captum_options: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs):
        # every method is built the same way: its docstring gets the constructor's Parameters and Raises
        super().__init_subclass__(**kwargs)
        if cls.__doc__ and "Parameters\n" not in cls.__doc__:
            cls.__doc__ = inspect.cleandoc(cls.__doc__) + "\n\n" + _CONSTRUCTOR_DOC

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
        if return_convergence_delta and not self.has_convergence_delta:
            raise TypeError(f"{type(self).__name__}: return_convergence_delta is Integrated Gradients' and DeepLift's")
        opts = replace(self.options, **options)
        x, lt = _input_tensors(self.model, inputs, lengths)
        where = np.arange(len(x)) if indices is None else np.asarray(indices)
        if where.shape != (len(x),) or where.dtype.kind not in "iu":
            raise ValueError(f"indices has shape {where.shape} ({where.dtype}); expected one int per input ({len(x)},)")
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
            call = Call(forward, x, y, lt, cap, opts, Seeds(int(seed), where), baselines, bar)
            maps = (self._maps(call) * length_mask(lt, x.shape[1]).unsqueeze(-1)).detach()
            if return_convergence_delta:
                delta = _convergence_delta(call, maps)
        out = (maps,) if as_tuple else maps
        return (out, delta) if return_convergence_delta else out

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

    def _maps(self, call: Call) -> torch.Tensor:
        """The maps of ``call.x`` (``call.bar.update`` after each pass's samples)."""
        raise NotImplementedError


Attribution.__doc__ = inspect.cleandoc(Attribution.__doc__) + "\n\n" + _CONSTRUCTOR_DOC


def _convergence_delta(call: Call, maps: torch.Tensor) -> torch.Tensor:
    """Captum's convergence delta of Integrated Gradients and DeepLift: each map's sum less ``f(x) - f(baseline)``
    of its target (the completeness gap; 0 for exact attributions)."""
    x, y, lengths, base = call.x, call.target, call.lengths, call.reference()

    def target_output(z):
        with torch.no_grad():
            return torch.cat(
                [call.forward(z[sl], lengths[sl]).gather(1, y[sl, None])[:, 0] for sl in _slices(len(z), call.cap)]
            )

    return maps.sum((1, 2)) - (target_output(x) - target_output(base))
