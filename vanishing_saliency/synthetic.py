"""Synthetic box datasets (Ismail et al. 2019, section 4 of SPEC).

Every sample is ``n_time x n_features`` of N(0, 1) noise; inside its box the
values are N(+1, 1) for class 1 and N(-1, 1) for class 0.  A dataset is a list
of *patterns* (alternatives); each pattern is a list of rectangles
``{"time": [start, end), "features": [start, end)}``.  A sample draws one
pattern uniformly (one pattern: every sample has the same box; the Mixed set
has seven).
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError


def pattern_mask(pattern, n_time: int, n_features: int) -> np.ndarray:
    """Boolean ``(n_time, n_features)`` mask of one pattern's rectangles.

    Parameters
    ----------
    pattern : list of dict
        Rectangles ``{"time": [start, end), "features": [start, end)}`` (half-open index ranges).
    n_time, n_features : int
        Shape of one sample.

    Returns
    -------
    numpy.ndarray of bool, shape (n_time, n_features)
        True inside any of the rectangles.
    """
    mask = np.zeros((n_time, n_features), dtype=bool)
    for box in pattern:
        t0, t1 = box["time"]
        f0, f1 = box["features"]
        mask[t0:t1, f0:f1] = True
    return mask


def check_patterns(name: str, patterns, n_time: int, n_features: int) -> None:
    """Raise ConfigError naming the key when a box is empty or leaves the sample.

    Parameters
    ----------
    name : str
        The dataset's name under ``synthetic.datasets`` (for the key in the message).
    patterns : list of list of dict
        The dataset's patterns, each a list of rectangles (see :func:`pattern_mask`).
    n_time, n_features : int
        Shape of one sample (``synthetic.n_time`` and ``synthetic.n_features``).

    Raises
    ------
    ConfigError
        If a box's ``time`` or ``features`` range is not ``0 <= start < end <= limit``; its ``key`` is
        ``synthetic.datasets.<name>.patterns[i][j].<axis>``.
    """
    for i, pattern in enumerate(patterns):
        for j, box in enumerate(pattern):
            key = f"synthetic.datasets.{name}.patterns[{i}][{j}]"
            for axis, limit in (("time", n_time), ("features", n_features)):
                start, end = box[axis]
                if not 0 <= start < end <= limit:
                    size = "n_time" if axis == "time" else "n_features"
                    raise ConfigError(
                        f"{key}.{axis} = [{start}, {end}) is outside the sequence: expected "
                        f"0 <= start < end <= synthetic.{size} = {limit}",
                        key=f"{key}.{axis}",
                    )


def generate_split(patterns, n_samples: int, n_time: int, n_features: int, rng: np.random.Generator):
    """Draw one split: returns x (n, T, N) float32, y (n,), mask (n, T, N) bool, pattern index (n,).

    Parameters
    ----------
    patterns : list of list of dict
        The alternatives each sample draws one of, uniformly (see :func:`pattern_mask`).
    n_samples : int
        ``n``, the number of samples.
    n_time, n_features : int
        ``T`` and ``N``, the shape of one sample.
    rng : numpy.random.Generator
        Source of every draw (labels' order, patterns, noise).

    Returns
    -------
    x : numpy.ndarray of float32, shape (n, T, N)
        N(0, 1) noise, shifted by +1 (class 1) or -1 (class 0) inside the sample's box.
    y : numpy.ndarray of int64, shape (n,)
        Classes 0 and 1, alternating before a shuffle (as balanced as ``n`` allows).
    mask : numpy.ndarray of bool, shape (n, T, N)
        Each sample's box.
    pattern : numpy.ndarray of int64, shape (n,)
        Index of each sample's pattern in ``patterns``.
    """
    labels = np.arange(n_samples) % 2
    rng.shuffle(labels)
    which = rng.integers(0, len(patterns), size=n_samples)
    masks = np.stack([pattern_mask(p, n_time, n_features) for p in patterns])
    mask = masks[which]
    x = rng.standard_normal((n_samples, n_time, n_features))
    shift = np.where(labels == 1, 1.0, -1.0)[:, None, None]
    x = np.where(mask, x + shift, x)
    return x.astype(np.float32), labels.astype(np.int64), mask, which.astype(np.int64)


def generate_dataset(
    patterns, *, n_time: int, n_features: int, n_train: int, n_test: int, seed: int, standardize: bool = True
) -> dict:
    """Train and test splits as a dict of arrays, ready for ``np.savez``.

    With ``standardize`` every (time, feature) entry is z-scored with the
    training split's mean and standard deviation, as the original study did.

    Parameters
    ----------
    patterns : list of list of dict
        The alternatives each sample draws one of (see :func:`generate_split`).
    n_time, n_features : int
        Shape of one sample.
    n_train, n_test : int
        Samples in the training and the test split.
    seed : int
        Seed of the generator both splits are drawn from (training split first).
    standardize : bool, default True
        Z-score every entry with the training split's statistics (a zero standard deviation counts as 1).

    Returns
    -------
    dict of str to numpy.ndarray
        ``x_train``, ``x_test`` (float32, ``(n, n_time, n_features)``); ``y_*`` and ``pattern_*`` (int64,
        ``(n,)``); ``mask_*`` (bool, ``(n, n_time, n_features)``); ``lengths_*`` (int64, ``(n,)``, all
        ``n_time``); ``feature_mean`` and ``feature_std`` (float32, ``(n_time, n_features)``; 0 and 1 without
        ``standardize``).
    """
    rng = np.random.default_rng(seed)
    x_tr, y_tr, m_tr, p_tr = generate_split(patterns, n_train, n_time, n_features, rng)
    x_te, y_te, m_te, p_te = generate_split(patterns, n_test, n_time, n_features, rng)
    mean = np.zeros((n_time, n_features), np.float32)
    std = np.ones((n_time, n_features), np.float32)
    if standardize:
        mean = x_tr.mean(0)
        std = x_tr.std(0)
        std[std == 0] = 1.0
        x_tr = (x_tr - mean) / std
        x_te = (x_te - mean) / std
    return {
        "x_train": x_tr.astype(np.float32),
        "y_train": y_tr,
        "mask_train": m_tr,
        "pattern_train": p_tr,
        "lengths_train": np.full(n_train, n_time, np.int64),
        "x_test": x_te.astype(np.float32),
        "y_test": y_te,
        "mask_test": m_te,
        "pattern_test": p_te,
        "lengths_test": np.full(n_test, n_time, np.int64),
        "feature_mean": mean,
        "feature_std": std,
    }


def dataset_settings(config: dict, name: str) -> dict:
    """Merge a dataset's own sizes over the synthetic defaults.

    Parameters
    ----------
    config : dict
        The workflow configuration (its ``synthetic`` section is read).
    name : str
        A dataset under ``synthetic.datasets``.

    Returns
    -------
    dict
        ``patterns``, ``n_time``, ``n_features``, ``n_train``, ``n_test`` (the dataset's own where it sets them) and
        ``standardize``: the keyword arguments of :func:`generate_dataset` but ``seed``.

    Raises
    ------
    ConfigError
        If ``name`` is not defined under ``synthetic.datasets``.
    """
    syn = config["synthetic"]
    if name not in syn["datasets"]:
        raise ConfigError(
            f"synthetic dataset {name!r} is used but not defined under synthetic.datasets "
            f"(defined: {', '.join(sorted(syn['datasets']))})"
        )
    ds = syn["datasets"][name]
    return {
        "patterns": ds["patterns"],
        "n_time": syn["n_time"],
        "n_features": syn["n_features"],
        "n_train": ds.get("n_train", syn["n_train"]),
        "n_test": ds.get("n_test", syn["n_test"]),
        "standardize": syn["standardize"],
    }
