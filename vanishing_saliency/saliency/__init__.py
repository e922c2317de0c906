"""Saliency maps: the paper's |d p_true / d x|, Captum's attributions, temporal saliency rescaling and perturbation
masks, one class per method in Captum's call shape (``REGISTRY`` by name, :func:`method` builds one)::

    explainer = saliency.Gradient(model, output="probability")        # default "logit": the model's output
    maps = explainer.attribute(x, target=y, lengths=lengths)          # torch in, torch out: (n, time, features)
    maps = explainer.attribute(x, target="predicted", lengths=lengths)  # or one class index for every input
    ig = saliency.IntegratedGradients(model).attribute(x, baselines, target=1, n_steps=50)  # Captum's call

``model`` is a logits model called as ``model(x, lengths)`` or ``model(x)``; ``target`` is each input's class (its
label), one class index, ``"predicted"``, or None for a one-output model; the explained output is the model's own
(the logit, as in Captum) or the target's softmax probability (the paper's).  :class:`CaptumAttribution` puts any
other Captum method in the same shape; :func:`attribute` is the numpy form the workflow's steps use.  Metrics take
absolute values.

The package:

- :mod:`.base`: the options (:class:`SaliencyOptions`), the :class:`Attribution` class every method subclasses (the
  checks of inputs, lengths and targets, the explained output), one :class:`~.base.Call` that a method computes its
  maps from, the passes under the memory cap and the per-sample seeds;
- :mod:`.gradients`: ``gradient``, ``smoothgrad``, ``gradient_shap``, ``tsr`` (temporal saliency rescaling);
- :mod:`.captum_methods`: ``integrated_gradients``, ``deeplift``, ``input_x_gradient``, ``occlusion``,
  ``occlusion_features`` and :class:`CaptumAttribution`;
- :mod:`.masks`: ``dynamask`` (fitted here) and time-interpret's ``extremal_mask`` and ``tint_dynamask``.

Batching: every method runs as few forward/backward passes as a memory cap allows (``max_batch_mb``, config
``saliency.max_batch_mb``): the samples, and the steps, noisy copies, baselines or occluded copies a method expands
each sample into, share passes of up to :func:`samples_per_pass` inputs.  The cap never changes a number beyond
floating-point order: SmoothGrad and GradientShap draw each sample's noise from a generator of its own (the seed and
the sample's index), not from the batch.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ..labels import SALIENCY_METHODS as METHODS
from .base import Attribution, ProbabilityModel, SaliencyOptions, samples_per_pass
from .captum_methods import (
    CaptumAttribution,
    DeepLift,
    FeatureOcclusion,
    InputXGradient,
    IntegratedGradients,
    Occlusion,
)
from .gradients import Gradient, GradientShap, SmoothGrad, TemporalSaliencyRescaling
from .masks import Dynamask, ExtremalMask, TintDynaMask, top_entries

__all__ = [
    "METHODS",
    "REGISTRY",
    "Attribution",
    "CaptumAttribution",
    "DeepLift",
    "Dynamask",
    "ExtremalMask",
    "FeatureOcclusion",
    "Gradient",
    "GradientShap",
    "InputXGradient",
    "IntegratedGradients",
    "Occlusion",
    "ProbabilityModel",
    "SaliencyOptions",
    "SmoothGrad",
    "TemporalSaliencyRescaling",
    "TintDynaMask",
    "attribute",
    "method",
    "samples_per_pass",
    "top_entries",
]


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
