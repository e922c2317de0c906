"""Saliency quality against a known ground-truth mask (SPEC section 5).

Per sample: ``s`` = min-max scaling of ``|R|`` over all time x feature entries
to [0, 1]; ``ref`` = the binary mask.  Then averaged over samples.
"""

from __future__ import annotations

import numpy as np


def minmax_scale(maps: np.ndarray) -> np.ndarray:
    """Scale ``|maps|`` per sample (first axis) to [0, 1]; a constant map becomes 0."""
    a = np.abs(np.asarray(maps, dtype=np.float64))
    flat = a.reshape(len(a), -1)
    lo = flat.min(1, keepdims=True)
    span = flat.max(1, keepdims=True) - lo
    scaled = np.divide(flat - lo, span, out=np.zeros_like(flat), where=span > 0)
    return scaled.reshape(a.shape)


def weighted_jaccard(ref: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """sum(min(ref, s)) / sum(max(ref, s)) per sample (higher is better)."""
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    s = np.asarray(scaled, dtype=np.float64).reshape(len(scaled), -1)
    num = np.minimum(ref, s).sum(1)
    den = np.maximum(ref, s).sum(1)
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)


def euclidean(ref: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """||ref - s||_2 / ||ref||_2 per sample (lower is better)."""
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    s = np.asarray(scaled, dtype=np.float64).reshape(len(scaled), -1)
    return np.linalg.norm(ref - s, axis=1) / np.linalg.norm(ref, axis=1)


def saliency_scores(maps: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample ``wjac`` and ``euc`` of saliency maps against boolean masks."""
    s = minmax_scale(maps)
    return {"wjac": weighted_jaccard(masks, s), "euc": euclidean(masks, s)}


def at_chance(accuracy: float, n: int, n_classes: int = 2, alpha: float = 0.05) -> bool:
    """True when ``accuracy`` on ``n`` samples is not significantly above chance
    (one-sided binomial test against 1/n_classes)."""
    from scipy.stats import binomtest

    k = int(round(accuracy * n))
    return bool(binomtest(k, n, 1.0 / n_classes, alternative="greater").pvalue > alpha)
