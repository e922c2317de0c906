"""Reading a split of any branch's dataset file: ``x``, ``y``, ``lengths`` and the branch's extras.

Two layouts, one reader:

- *split arrays* (synthetic boxes, MNIST, sequential MNIST): one ``.npz`` with
  ``x_<split>``, ``y_<split>``, ``lengths_<split>`` and optional extras named
  ``<key>_<split>`` (``mask_test``, ``pattern_test``, ...); splits ``train`` and
  ``test`` (the validation set is carved from ``train`` by the training);
- *HCP samples*: ``data``, ``labels``, ``lengths`` and per-sample arrays of one
  experiment, grouped into ``train`` / ``val`` / ``test`` by a subject split table
  (``subject``, ``set`` columns).

Every split is a dict of arrays with at least ``x``, ``y`` and ``lengths``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import DataError

CORE = ("x", "y", "lengths")
# HCP per-sample arrays carried into each split, under these names
_HCP_FIELDS = {
    "data": "x",
    "labels": "y",
    "lengths": "lengths",
    "on_mask": "on_mask",
    "subjects": "subjects",
    "runs": "runs",
    "block_start_frame": "block_start_frame",
}


def load_splits(path, split_table=None, splits=("train", "test")) -> dict:
    """``{split: {name: array}}`` for the requested splits, plus ``n_classes`` and ``label_names``.

    ``split_table`` (a subject split TSV) selects the HCP-samples layout; without it the file
    holds split arrays.  ``n_classes``: the number of label names (HCP), else 1 + the largest
    training label (``None`` when ``train`` is not loaded).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` dataset file.
    split_table : str or os.PathLike, optional
        A tab-separated subject split with columns ``subject`` and ``set`` (the split name of each subject); given,
        the file is read as HCP samples.
    splits : iterable of str, default ("train", "test")
        The splits to load.

    Returns
    -------
    dict
        One entry per requested split: a dict of arrays with one row per sample.  Split arrays: every array
        ``<key>_<split>`` of the file under ``<key>`` (at least ``x``, ``y``, ``lengths``).  HCP samples: ``x``,
        ``y``, ``lengths``, ``on_mask``, ``subjects``, ``runs``, ``block_start_frame`` and ``index`` (the samples'
        positions in the file).  Besides them ``n_classes`` (int or None) and ``label_names`` (list of str for HCP
        samples, else None), and for HCP samples ``experiment`` (str).

    Raises
    ------
    DataError
        Split arrays: if the file lacks ``x_<split>``, ``y_<split>`` or ``lengths_<split>`` of a requested split
        (with a hint when it holds HCP samples and ``split_table`` was not given), or these three differ in length.
        HCP samples: if a subject of the file is not in ``split_table``, or a requested split has no samples.
    """
    if split_table is not None:
        return _hcp_splits(path, split_table, splits)
    out = {}
    with np.load(path) as f:
        for split in splits:
            missing = [k for k in CORE if f"{k}_{split}" not in f.files]
            if missing and "subjects" in f.files and "label_names" in f.files:  # the workflow's HCP samples
                raise DataError(
                    f"{path}: HCP samples (subjects, label_names): give the subject split with --split-table "
                    "(results/hcp/split.tsv), which says which subjects are the split's"
                )
            if missing:
                raise DataError(
                    f"{path}: no {', '.join(f'{k}_{split}' for k in missing)} "
                    f"(expected the arrays x_{split}, y_{split}, lengths_{split})"
                )
            suffix = f"_{split}"
            out[split] = {k[: -len(suffix)]: f[k] for k in f.files if k.endswith(suffix)}
            sizes = {f"{k}_{split}": len(out[split][k]) for k in CORE}
            if len(set(sizes.values())) > 1:
                raise DataError(
                    f"{path}: {', '.join(f'{k} has {n}' for k, n in sizes.items())} rows; expected one row per sample "
                    "in each"
                )
    out["n_classes"] = int(out["train"]["y"].max()) + 1 if "train" in out else None
    out["label_names"] = None
    return out


def _hcp_splits(path, split_table, splits) -> dict:
    split = pd.read_csv(split_table, sep="\t", dtype=str)
    sets = dict(zip(split.subject, split.set, strict=True))
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    missing = sorted(set(data["subjects"]) - set(sets))
    if missing:
        raise DataError(
            f"{path}: subjects {', '.join(missing[:5])} are not in the split {split_table}; "
            "re-run hcp_split (delete the split file)"
        )
    which = np.array([sets[s] for s in data["subjects"]])
    out = {"label_names": [str(x) for x in data["label_names"]], "experiment": str(data["experiment"])}
    out["n_classes"] = len(out["label_names"])
    for name in splits:
        idx = np.flatnonzero(which == name)
        if len(idx) == 0:
            raise DataError(f"{path}: no samples from {name} subjects (split {split_table})")
        out[name] = {new: data[old][idx] for old, new in _HCP_FIELDS.items()}
        out[name]["index"] = idx
    return out


def load_split(path, split: str, split_table=None) -> dict:
    """One split (see :func:`load_splits`).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` dataset file.
    split : str
        The split to load (``"train"``, ``"val"``, ``"test"``, ...).
    split_table : str or os.PathLike, optional
        A subject split TSV; given, the file is read as HCP samples.

    Returns
    -------
    dict of str to numpy.ndarray
        The split's arrays, with one row per sample (at least ``x``, ``y`` and ``lengths``).

    Raises
    ------
    DataError
        As :func:`load_splits`.
    """
    return load_splits(path, split_table, (split,))[split]


def subsample(split: dict, n: int | None, seed: int) -> dict:
    """A seeded subset of ``n`` samples of a split, in their original order (all when ``n`` is None).

    Parameters
    ----------
    split : dict of str to numpy.ndarray
        A split (:func:`load_split`); every value must be an array with one row per sample (as many as ``y``).
    n : int or None
        How many samples to keep, drawn without replacement; None, or at least the split's size, keeps all.
    seed : int
        Seed of the draw (``numpy.random.default_rng``).

    Returns
    -------
    dict of str to numpy.ndarray
        ``split`` itself (not a copy) when every sample is kept; else a new dict with the same keys, each array
        restricted to the kept rows.
    """
    size = len(split["y"])
    if n is None or n >= size:
        return split
    keep = np.sort(np.random.default_rng(seed).choice(size, int(n), replace=False))
    return {k: v[keep] for k, v in split.items()}


def chance_level(y) -> float:
    """Accuracy of always answering the most frequent class.

    Parameters
    ----------
    y : array-like of int, shape (n,)
        Class labels (non-negative); ``n`` must be at least 1.

    Returns
    -------
    float
        The most frequent label's share of the samples.
    """
    return float(np.bincount(np.asarray(y)).max() / len(y))
