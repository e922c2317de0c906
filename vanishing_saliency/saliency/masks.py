"""The perturbation masks: a Dynamask-style mask fitted here, and time-interpret's ExtremalMask and DynaMask.

- ``dynamask``: a perturbation mask in the spirit of Dynamask (Crabbe & van der Schaar 2021) with their
  fade-to-reference perturbation, ``x' = m x + (1 - m) r`` with ``r = 0`` (the mean of standardised data; fading to
  each feature's temporal mean, their other operator, leaks the class of a box into every step): per sample, a mask
  ``m`` in [0, 1]^(T x N) is optimised (Adam) to keep the true class (cross-entropy) while keeping the fraction
  ``dynamask_area`` of entries (their area penalty on the sorted mask, its weight growing over the steps as in their
  schedule) and varying smoothly in time; the map is ``m``.  Every sample's starting mask is drawn at once from the
  call's seed (``indices`` do not seed it), so a sample's map can depend on its place in the call.
- ``extremal_mask`` and ``tint_dynamask``: time-interpret's (the ``tint`` extra), fitted with a quiet Lightning
  trainer on the CPU.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..models import length_mask
from ..torch_startup import adam
from .base import Attribution, Call


class Dynamask(Attribution):
    """A Dynamask-style perturbation mask (the module docstring).  Its objective keeps the target class by the
    cross-entropy of the logits, so it takes ``output="probability"`` only."""

    name = "dynamask"
    default_output = "probability"

    def __init__(self, model, output=None, options=None, max_samples=None):
        if (output or "probability") != "probability":
            raise ValueError("dynamask optimises the target's cross-entropy: output='logit' does not apply")
        super().__init__(model, output, options, max_samples)

    def _maps(self, call: Call) -> torch.Tensor:
        x = call.x
        # every sample's starting mask is drawn at once, so a pass holds any subset of the samples;
        # each mask's loss and Adam update are its own, so passes do not mix samples
        generator = torch.Generator().manual_seed(int(call.seeds.seed))
        start = (1.0 - 0.01 * torch.rand(x.shape, generator=generator, dtype=x.dtype)).to(x.device)
        out = []
        for sl in call.passes():
            out.append(_dynamask_batch(call.logits, x[sl], call.target[sl], call.lengths[sl], start[sl], call.options))
            call.bar.update(sl.stop - sl.start)
        return torch.cat(out)


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

    def _maps(self, call: Call) -> torch.Tensor:
        forward, x, y, lengths, opts = call.forward, call.x, call.target, call.lengths, call.options
        attr, models, trainer = _tint(opts.tint_epochs)
        with torch.random.fork_rng(), _quiet_lightning():
            torch.manual_seed(int(call.seeds.seed))
            maps = attr.ExtremalMask(forward).attribute(
                x,
                baselines=call.baselines,
                target=y,
                additional_forward_args=(lengths,),
                trainer=trainer,
                mask_net=models.ExtremalMaskNet(forward_func=forward, lr=opts.tint_lr),
                batch_size=len(x),
            )
        call.bar.update(len(x))
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

    def _maps(self, call: Call) -> torch.Tensor:
        forward, x, lengths, opts = call.forward, call.x, call.lengths, call.options
        attr, models, trainer = _tint(opts.tint_epochs)
        with torch.random.fork_rng(), _quiet_lightning():

            class MaskNet(models.MaskNet):
                def training_step(self, batch, batch_idx):
                    return self.training_step_end(super().training_step(batch, batch_idx))

            torch.manual_seed(int(call.seeds.seed))
            maps = attr.DynaMask(forward).attribute(
                x,
                additional_forward_args=(lengths,),
                trainer=trainer,
                mask_net=MaskNet(forward_func=forward, keep_ratio=float(opts.dynamask_area), lr=opts.tint_lr),
                batch_size=len(x),
            )
        call.bar.update(len(x))
        return maps.detach()


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
