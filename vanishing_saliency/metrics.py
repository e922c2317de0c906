"""Saliency quality against a known ground-truth mask (SPEC sections 5 and 10), per sample.

Every metric scores one sample's map over all its time x feature entries against the
binary mask ``ref`` of the same shape; tables average over samples.

- The paper's two: ``s`` = min-max scaling of ``|R|`` to [0, 1];
  weighted Jaccard ``wjac = sum(min(ref, s)) / sum(max(ref, s))`` (higher is better) and
  ``euc = ||ref - s||_2 / ||ref||_2`` (lower is better).  Neither is calibrated: a map
  of pure noise scores ``wjac`` ~0.12-0.15 on the paper's boxes (SPEC section 10).
- Calibrated ones, on ``|R|`` (any monotone scaling gives the same value):
  ``auroc``, the probability that a random box entry outranks a random entry outside the
  box (ties count half): 1 = perfect, 0.5 = no knowledge, 0 = inverted;
  ``ap``, average precision: ``sum_k (R_k - R_{k-1}) P_k`` over the distinct thresholds
  from the highest down (the precision-recall area; a map with no knowledge scores the
  box's share of the entries);
  ``aup`` and ``aur``, the area under the precision and under the recall curve as
  functions of the threshold on the min-max scaled map, as in Crabbe & van der Schaar
  (2021, Dynamask) and Enguehard (2023, ExtremalMask): ``aup = int_0^1 P(tau) dtau``,
  ``aur = int_0^1 R(tau) dtau`` with ``P`` and ``R`` the precision and recall of the
  entries ``s >= tau`` (exact integrals of the step curves; a threshold that selects
  nothing has precision 0).  A perfect binary map scores 1 / 1; a uniform-noise map
  about the box share / 0.5; a constant map 0 / 0.
"""

from __future__ import annotations

import numpy as np

METRICS = ("wjac", "euc", "auroc", "ap", "aup", "aur")
HIGHER_IS_BETTER = {"wjac": True, "euc": False, "auroc": True, "ap": True, "aup": True, "aur": True}


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
    """Per-sample ``wjac`` and ``euc`` of saliency maps against boolean masks (the paper's metrics)."""
    s = minmax_scale(maps)
    return {"wjac": weighted_jaccard(masks, s), "euc": euclidean(masks, s)}


def auroc(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per-sample AUROC of ``|maps|`` against boolean ``masks`` (Mann-Whitney U / (n_pos n_neg)).

    NaN for a sample whose mask is all true or all false."""
    from scipy import stats  # lazy: scipy.stats costs ~0.5 s of every job's start-up
    a = np.abs(np.asarray(maps, np.float64)).reshape(len(maps), -1)
    m = np.asarray(masks, bool).reshape(len(masks), -1)
    ranks = stats.rankdata(a, axis=1)                       # average ranks: ties count half
    n_pos = m.sum(1)
    n_neg = m.shape[1] - n_pos
    u = (ranks * m).sum(1) - n_pos * (n_pos + 1) / 2.0
    denom = (n_pos * n_neg).astype(np.float64)
    return np.divide(u, denom, out=np.full(len(a), np.nan), where=denom > 0)


def _threshold_curves(scores: np.ndarray, truth: np.ndarray):
    """Distinct thresholds (descending) with the true positives and selected counts of ``scores >= t``."""
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], truth[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]   # last index of each distinct value
    tp = np.cumsum(t)[last]
    return s[last], tp, last + 1


def average_precision(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per-sample average precision of ``|maps|`` against boolean ``masks`` (NaN for an empty mask)."""
    a = np.abs(np.asarray(maps, np.float64)).reshape(len(maps), -1)
    m = np.asarray(masks, bool).reshape(len(masks), -1)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        n_true = m[i].sum()
        if n_true == 0:
            continue
        _, tp, selected = _threshold_curves(a[i], m[i])
        recall = tp / n_true
        out[i] = float(np.sum(np.diff(np.r_[0.0, recall]) * tp / selected))
    return out


def area_under_precision_recall(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample (AUP, AUR): areas under precision and recall as functions of the threshold on the
    min-max scaled map (see the module docstring)."""
    s = minmax_scale(maps).reshape(len(maps), -1)
    m = np.asarray(masks, bool).reshape(len(masks), -1)
    aup, aur = np.zeros(len(s)), np.zeros(len(s))
    for i in range(len(s)):
        n_true = m[i].sum()
        values, tp, selected = _threshold_curves(s[i], m[i])
        keep = values > 0                                  # thresholds in (0, 1]; 0 selects everything
        values, tp, selected = values[keep][::-1], tp[keep][::-1], selected[keep][::-1]
        widths = np.diff(np.r_[0.0, values])               # tau in (v_{k-1}, v_k] selects {s >= v_k}
        aup[i] = float(np.sum(widths * tp / selected))
        aur[i] = float(np.sum(widths * tp / n_true)) if n_true else np.nan
    return aup, aur


def all_scores(maps: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS`, per sample."""
    out = saliency_scores(maps, masks)
    out["auroc"] = auroc(maps, masks)
    out["ap"] = average_precision(maps, masks)
    out["aup"], out["aur"] = area_under_precision_recall(maps, masks)
    return out


def noise_maps(shape, seed: int) -> np.ndarray:
    """|N(0, 1)| maps: the floor every table row is read against (a map with no knowledge)."""
    return np.abs(np.random.default_rng(seed).standard_normal(shape))


def bootstrap_mean_ci(values: np.ndarray, seed: int, n_boot: int = 2000, level: float = 0.95) -> tuple:
    """(mean, low, high): percentile bootstrap interval of the mean over the first axis (NaNs dropped)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)
    alpha = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def at_chance(accuracy: float, n: int, n_classes: int = 2, alpha: float = 0.05) -> bool:
    """True when ``accuracy`` on ``n`` samples is not significantly above chance
    (one-sided binomial test against 1/n_classes)."""
    from scipy.stats import binomtest

    k = int(round(accuracy * n))
    return bool(binomtest(k, n, 1.0 / n_classes, alternative="greater").pvalue > alpha)
