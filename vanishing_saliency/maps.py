"""Saliency-map files: the maps of a set of samples, one per sample, with what scoring them needs.

A maps file is one compressed ``.npz`` (:func:`save_maps`, :func:`load_maps`):

- ``saliency`` (n, time, features), float32: the maps as the method gives them (signed where it is);
- ``y`` (n,): each sample's label; ``lengths`` (n,): its true length (padding steps hold 0; a file without it,
  such as the MNIST branch's, is read as full length);
- optional per-sample fields: ``target`` (the explained class), ``pred`` (the model's prediction), ``index``
  (the sample's place in its split), ``mask`` (the ground-truth salient entries: (n, time, features), or
  (n, time) for every feature of a step), and any other array of length n (the HCP branch keeps ``on_mask``,
  ``subjects``, ``runs``, ...);
- optional strings: ``architecture``, ``method``, ``output``, ``run``, ``dataset``.

:func:`score_maps` scores such a file the way the workflow's tables do: every per-sample metric of
:data:`~vanishing_saliency.metrics.METRICS` and the pooled ones of
:data:`~vanishing_saliency.metrics.POOLED_METRICS`, each beside a noise map's on the same masks (the floor a map
without knowledge reaches) and, when given, beside another file's maps (e.g. the same architecture untrained).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .data import chance_level
from .errors import DataError
from .io import save_npz
from .metrics import HIGHER_IS_BETTER, METRICS, POOLED_METRICS, all_scores, noise_maps, pooled_scores
from .stats import at_chance

REQUIRED = ("saliency", "y")
META = ("architecture", "method", "output", "run", "dataset")


def save_maps(path, saliency, y, lengths, **fields) -> None:
    """Write a maps file (module docstring), compressed, atomically.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` to write.
    saliency : array-like, shape (n, time, features)
        The maps (stored as float32).
    y, lengths : array-like of int, shape (n,)
        Labels and true lengths.
    **fields
        Optional per-sample arrays (``target``, ``pred``, ``index``, ``mask``, ...) and strings (``method``, ...).

    Raises
    ------
    ValueError
        If a per-sample field does not have one entry per map.
    """
    saliency = np.asarray(saliency, np.float32)
    arrays = {"saliency": saliency, "y": np.asarray(y), "lengths": np.asarray(lengths), **fields}
    for name, value in arrays.items():
        if np.ndim(value) > 0 and len(value) != len(saliency):
            raise ValueError(f"{path}: {name} has {len(value)} entries for {len(saliency)} maps")
    save_npz(path, **arrays)


def load_maps(path) -> dict:
    """Read a maps file; strings come back as ``str``.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save_maps` (or any ``.npz`` with its required fields).

    Returns
    -------
    dict
        Field name -> array (or ``str``); ``lengths`` is filled in (full length) when the file has none.

    Raises
    ------
    DataError
        Naming the file, when it is missing, unreadable or lacks ``saliency`` or ``y``, or when the maps are not
        (n, time, features).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such maps file")
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in f.files}
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz maps file ({err})") from err
    missing = [k for k in REQUIRED if k not in out]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)} (a maps file holds saliency, y and lengths)")
    if out["saliency"].ndim != 3:
        raise DataError(f"{path}: saliency has shape {out['saliency'].shape}; expected (n, time, features)")
    out.setdefault("lengths", np.full(len(out["saliency"]), out["saliency"].shape[1]))
    return {k: (str(v) if v.ndim == 0 and v.dtype.kind == "U" else v) for k, v in out.items()}


def truth_mask(maps: dict, field: str = "mask", path="maps") -> np.ndarray:
    """The ground-truth mask of a maps file as (n, time, features) booleans: a (n, time) mask covers every
    feature of its steps.

    Parameters
    ----------
    maps : dict
        From :func:`load_maps`.
    field : str, default "mask"
        The field holding the truth (the HCP branch's time mask is ``on_mask``).
    path : str or Path
        Named in errors.

    Returns
    -------
    numpy.ndarray of bool, shape (n, time, features)

    Raises
    ------
    DataError
        If the field is missing or its shape fits neither form.
    """
    shape = maps["saliency"].shape
    if field not in maps:
        have = ", ".join(k for k in maps if k != "saliency" and np.ndim(maps[k]) >= 2) or "none"
        raise DataError(f"{path}: no ground-truth field {field!r} to score against (mask-like fields: {have})")
    mask = np.asarray(maps[field], bool)
    if mask.shape == shape[:2]:
        mask = np.broadcast_to(mask[:, :, None], shape)
    if mask.shape != shape:
        raise DataError(f"{path}: {field} has shape {mask.shape}; expected {shape} or {shape[:2]}")
    return mask


def _valid(maps: dict) -> np.ndarray:
    t = maps["saliency"].shape[1]
    return np.arange(t)[None, :] < np.asarray(maps["lengths"])[:, None]


def score_maps(maps: dict, mask: np.ndarray, seed: int = 0, floors: dict | None = None) -> tuple:
    """Every metric of a set of maps, beside a noise map's and any other maps' on the same masks.

    Padding steps are left out of every score (their maps and masks are set to 0 / False).

    Parameters
    ----------
    maps : dict
        A maps file's fields (:func:`load_maps`).
    mask : numpy.ndarray of bool, shape (n, time, features)
        The ground truth (:func:`truth_mask`).
    seed : int, default 0
        Seed of the noise map (:func:`~vanishing_saliency.metrics.noise_maps`).
    floors : dict of str to numpy.ndarray, optional
        More floors by name, each maps of the same shape (e.g. ``{"untrained": ...}``).

    Returns
    -------
    per_sample : pandas.DataFrame
        One row per sample: ``sample`` (its ``index`` when the file has one), ``label`` and every metric of the maps
        (``<metric>``) and of each floor (``<metric>_<floor>``, with ``noise`` first).
    summary : pandas.DataFrame
        One row per metric (per-sample ones: the mean; pooled ones: their one value): ``metric``, ``kind``
        (per-sample | pooled), ``higher_is_better``, ``maps`` and one column per floor.
    """
    saliency = np.asarray(maps["saliency"], np.float64)
    valid = _valid(maps)[:, :, None]
    truth = mask & valid
    sources = {"maps": saliency * valid, "noise": noise_maps(saliency.shape, seed) * valid}
    for name, other in (floors or {}).items():
        if np.shape(other) != saliency.shape:
            raise DataError(f"floor {name}: maps of shape {np.shape(other)}; expected {saliency.shape}")
        sources[name] = np.asarray(other, np.float64) * valid
    index = maps.get("index", np.arange(len(saliency)))
    per_sample = pd.DataFrame({"sample": index, "label": maps["y"]})
    rows = {m: {"metric": m, "kind": "per-sample", "higher_is_better": HIGHER_IS_BETTER[m]} for m in METRICS}
    rows.update({m: {"metric": m, "kind": "pooled", "higher_is_better": True} for m in POOLED_METRICS})
    for name, values in sources.items():
        scores = all_scores(values, truth)
        pooled = pooled_scores(values, truth)
        for m in METRICS:
            per_sample[m if name == "maps" else f"{m}_{name}"] = scores[m]
            rows[m][name] = float(np.nanmean(scores[m]))
        for m in POOLED_METRICS:
            rows[m][name] = pooled[m]
    return per_sample, pd.DataFrame(list(rows.values()))


def accuracy_line(maps: dict) -> str | None:
    """``accuracy 0.950 (chance 0.500)`` and whether it is at chance, from ``pred`` and ``y``; None without
    ``pred``.

    Parameters
    ----------
    maps : dict
        A maps file's fields.

    Returns
    -------
    str or None
    """
    if "pred" not in maps:
        return None
    y = np.asarray(maps["y"])
    acc = float(np.mean(np.asarray(maps["pred"]) == y))
    n_classes = max(2, int(y.max()) + 1)
    verdict = (
        "at chance: the maps explain a model without knowledge (not testable)"
        if at_chance(acc, len(y), n_classes)
        else "above chance"
    )
    return f"accuracy {acc:.3f} on {len(y)} samples (chance {chance_level(y):.3f}): {verdict}"
