"""The methods Captum computes, in this package's shape: Integrated Gradients, DeepLift, InputXGradient, occlusion
of a time step or of a feature, and :class:`CaptumAttribution` for any other Captum method.

Captum enlarges the batch internally (baselines, steps, occlusion windows); our models size everything from
``x.size(0)`` and Captum expands ``lengths`` (passed as an additional forward argument) alongside, so every method
works with variable lengths.  The samples of a call and their expansion share passes within the memory cap.
DeepLift cannot see inside a fused ``torch.nn.LSTM``: through the recurrence it degrades to gradient x delta.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import length_mask
from .base import Attribution, Call, _input_tensors, _inputs_only, _lengths_of, _slices, _targets


class _CaptumMethod(Attribution):
    """A method Captum computes: ``_captum`` on each group of samples (``_samples_per_call`` of them) against the
    reference (``baselines``, default 0)."""

    def _samples_per_call(self, call: Call) -> int:
        return call.cap

    def _captum(self, call: Call, x, target, lengths, reference) -> torch.Tensor:
        raise NotImplementedError

    def _maps(self, call: Call) -> torch.Tensor:
        reference = call.reference()
        out = []
        for sl in _slices(len(call.x), self._samples_per_call(call)):
            maps = self._captum(call, call.x[sl], call.target[sl], call.lengths[sl], reference[sl].contiguous())
            out.append(maps.detach())
            call.bar.update(sl.stop - sl.start)
        return torch.cat(out)


class IntegratedGradients(_CaptumMethod):
    """Captum's ``IntegratedGradients`` from the baseline (default 0) in ``ig_steps`` steps."""

    name = "integrated_gradients"
    takes_baselines = True
    has_convergence_delta = True
    captum_options = {"n_steps": "ig_steps"}

    def _samples_per_call(self, call: Call) -> int:
        return max(1, call.cap // int(call.options.ig_steps))  # each sample is ig_steps inputs

    def _captum(self, call, x, target, lengths, reference):
        import captum.attr

        return captum.attr.IntegratedGradients(call.forward).attribute(
            x,
            baselines=reference,
            target=target,
            additional_forward_args=(lengths,),
            n_steps=call.options.ig_steps,
            internal_batch_size=call.cap,
        )


class DeepLift(_CaptumMethod):
    """Captum's ``DeepLift`` from the baseline (default 0); through a fused LSTM it degrades to gradient x delta."""

    name = "deeplift"
    takes_baselines = True
    has_convergence_delta = True

    def _samples_per_call(self, call: Call) -> int:
        # Captum's DeepLift rule for the softmax subtracts a mean over the whole batch, so a sample's map would
        # depend on the samples it shares a call with: one sample per call
        return 1

    def _captum(self, call, x, target, lengths, reference):
        import captum.attr

        return captum.attr.DeepLift(call.forward).attribute(
            x, baselines=reference, target=target, additional_forward_args=(lengths,)
        )


class InputXGradient(_CaptumMethod):
    """Captum's ``InputXGradient``: ``x * d f_y / d x``."""

    name = "input_x_gradient"

    def _captum(self, call, x, target, lengths, reference):
        import captum.attr

        return captum.attr.InputXGradient(call.forward).attribute(x, target=target, additional_forward_args=(lengths,))


class Occlusion(_CaptumMethod):
    """Captum's ``Occlusion`` of one whole time step at a time, replaced by the baseline (default 0)."""

    name = "occlusion"
    takes_baselines = True

    def _window(self, n_time: int, n_features: int) -> tuple[tuple[int, int], int]:
        """The occluded window's shape (one step: all its features) and how many windows an input has."""
        return (1, n_features), n_time

    def _captum(self, call, x, target, lengths, reference):
        import captum.attr

        window, n_windows = self._window(*call.x.shape[1:])
        per_eval = max(1, min(n_windows, call.cap // min(len(call.x), call.cap)))  # occluded copies per pass
        return captum.attr.Occlusion(call.forward).attribute(
            x,
            sliding_window_shapes=window,
            strides=window,
            baselines=reference,
            target=target,
            additional_forward_args=(lengths,),
            perturbations_per_eval=per_eval,
        )


class FeatureOcclusion(Occlusion):
    """Captum's ``Occlusion`` of one feature over all time steps at a time (its score spread over its steps)."""

    name = "occlusion_features"

    def _window(self, n_time: int, n_features: int) -> tuple[tuple[int, int], int]:
        return (n_time, 1), n_features


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
