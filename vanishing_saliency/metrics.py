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
    """Scale ``|maps|`` per sample (first axis) to [0, 1]; a constant map becomes 0.

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        One map per sample (e.g. ``(n, time, features)``).

    Returns
    -------
    numpy.ndarray of float64, same shape as ``maps``
        ``(|R| - min) / (max - min)`` of each sample's map.
    """
    a = np.abs(np.asarray(maps, dtype=np.float64))
    flat = a.reshape(len(a), -1)
    lo = flat.min(1, keepdims=True)
    span = flat.max(1, keepdims=True) - lo
    scaled = np.divide(flat - lo, span, out=np.zeros_like(flat), where=span > 0)
    return scaled.reshape(a.shape)


def weighted_jaccard(ref: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """sum(min(ref, s)) / sum(max(ref, s)) per sample (higher is better).

    Parameters
    ----------
    ref : array-like, shape (n, ...)
        Ground-truth masks (binary).
    scaled : array-like, same shape as ``ref``
        Maps scaled to [0, 1] (:func:`minmax_scale`).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        The weighted Jaccard index of each sample; 1 where ``ref`` and ``scaled`` are both all zero.
    """
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    s = np.asarray(scaled, dtype=np.float64).reshape(len(scaled), -1)
    num = np.minimum(ref, s).sum(1)
    den = np.maximum(ref, s).sum(1)
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)


def euclidean(ref: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """||ref - s||_2 / ||ref||_2 per sample (lower is better).

    Parameters
    ----------
    ref : array-like, shape (n, ...)
        Ground-truth masks (binary).
    scaled : array-like, same shape as ``ref``
        Maps scaled to [0, 1] (:func:`minmax_scale`).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        The relative Euclidean distance of each sample (inf or NaN where ``ref`` is all zero).
    """
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    s = np.asarray(scaled, dtype=np.float64).reshape(len(scaled), -1)
    return np.linalg.norm(ref - s, axis=1) / np.linalg.norm(ref, axis=1)


def saliency_scores(maps: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample ``wjac`` and ``euc`` of saliency maps against boolean masks (the paper's metrics).

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        Saliency maps (min-max scaled here, in absolute value).
    masks : array-like of bool, same shape as ``maps``
        Ground-truth masks.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"wjac": (n,), "euc": (n,)}``, float64.
    """
    s = minmax_scale(maps)
    return {"wjac": weighted_jaccard(masks, s), "euc": euclidean(masks, s)}


def _abs_rows(maps) -> np.ndarray:
    return np.abs(np.asarray(maps, np.float64)).reshape(len(maps), -1)


def _descending(a: np.ndarray) -> np.ndarray:
    """Per row, the indices that sort it from the highest value down.  Tied entries may come in any order:
    every score here counts whole groups of equal values, so none depends on it (and numpy's unstable
    argsort is 2.5x faster than its stable one on these maps)."""
    return np.argsort(-a, axis=1)


def auroc(maps: np.ndarray, masks: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Per-sample AUROC of ``|maps|`` against boolean ``masks`` (Mann-Whitney U / (n_pos n_neg)).

    ``2 U`` is twice the rank sum of the box entries (average ranks for ties) less ``n_pos (n_pos + 1)``, an
    exact integer: the value scipy's average ranks give, without scipy.stats, whose import alone took 2.8 s of every
    saliency job.  Ties are rare in gradient maps, so only the entries of tie groups are gathered to correct their
    ranks.
    NaN for a sample whose mask is all true or all false, or whose map is not finite.

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        Saliency maps (ranked in absolute value).
    masks : array-like of bool, same shape as ``maps``
        Ground-truth masks.
    order : numpy.ndarray of int, shape (n, entries), optional
        :func:`_descending` of ``|maps|`` flattened per sample, if known (computed otherwise).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        The AUROC of each sample, in [0, 1], or NaN (see above).
    """
    a = _abs_rows(maps)
    m = np.asarray(masks, bool).reshape(len(masks), -1)
    order = _descending(a) if order is None else order
    n, k = a.shape
    v = np.take_along_axis(a, order, 1)  # from the highest down
    pos = np.take_along_axis(m, order, 1)
    # 2 U = 2 (rank sum of the box entries) - n_pos (n_pos + 1), ranks ascending from 1; an entry at place q from the
    # top ranks k - q, and an entry of a tie group spanning places first..last ranks their mean, (2k - first - last) / 2
    twice_u = 2 * np.where(pos, k - np.arange(k), 0).sum(1)
    same_as_next = v[:, 1:] == v[:, :-1]
    if same_as_next.any():  # the box entries of tie groups: from 2 (k - q) to 2k - first - last
        tied = np.zeros(v.shape, bool)
        tied[:, :-1] |= same_as_next
        tied[:, 1:] |= same_as_next
        rows, places = np.nonzero(tied)
        starts = np.r_[True, ~same_as_next[rows[1:], places[1:] - 1] | (rows[1:] != rows[:-1])]
        group = np.cumsum(starts) - 1
        first = places[starts][group]
        last = places[np.r_[np.flatnonzero(starts)[1:] - 1, len(places) - 1]][group]
        boxed = pos[rows, places]
        np.add.at(twice_u, rows[boxed], (2 * places - first - last)[boxed])
    n_pos = m.sum(1)
    twice_u -= n_pos * (n_pos + 1)
    denom = (n_pos * (k - n_pos)).astype(np.float64)
    ok = (denom > 0) & np.isfinite(a).all(1)
    return np.divide(twice_u / 2.0, denom, out=np.full(n, np.nan), where=ok)


def _threshold_curves(scores: np.ndarray, truth: np.ndarray, order: np.ndarray | None = None):
    """Distinct thresholds (descending) with the true positives and selected counts of ``scores >= t``.

    ``order`` sorts ``scores`` from the highest down (any monotone transform's order will do: the counts
    at the end of each group of equal scores do not depend on the order within it)."""
    order = np.argsort(-scores, kind="stable") if order is None else order
    s, t = scores[order], truth[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each distinct value
    tp = np.cumsum(t)[last]
    return s[last], tp, last + 1


def average_precision(maps: np.ndarray, masks: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Per-sample average precision of ``|maps|`` against boolean ``masks`` (NaN for an empty mask).

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        Saliency maps (ranked in absolute value).
    masks : array-like of bool, same shape as ``maps``
        Ground-truth masks.
    order : numpy.ndarray of int, shape (n, entries), optional
        :func:`_descending` of ``|maps|`` flattened per sample, if known (computed otherwise).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        The average precision of each sample, or NaN where its mask is empty.
    """
    a = _abs_rows(maps)
    m = np.asarray(masks, bool).reshape(len(masks), -1)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        n_true = m[i].sum()
        if n_true == 0:
            continue
        _, tp, selected = _threshold_curves(a[i], m[i], None if order is None else order[i])
        recall = tp / n_true
        out[i] = float(np.sum(np.diff(np.r_[0.0, recall]) * tp / selected))
    return out


def area_under_precision_recall(
    maps: np.ndarray, masks: np.ndarray, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample (AUP, AUR): areas under precision and recall as functions of the threshold on the
    min-max scaled map (see the module docstring).

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        Saliency maps (min-max scaled here, in absolute value).
    masks : array-like of bool, same shape as ``maps``
        Ground-truth masks.
    order : numpy.ndarray of int, shape (n, entries), optional
        :func:`_descending` of ``|maps|`` flattened per sample (min-max scaling keeps it), if known.

    Returns
    -------
    aup, aur : numpy.ndarray of float64, shape (n,)
        The area under the precision and under the recall curve of each sample (AUR NaN where the mask is empty).
    """
    s = minmax_scale(maps).reshape(len(maps), -1)
    m = np.asarray(masks, bool).reshape(len(masks), -1)
    aup, aur = np.zeros(len(s)), np.zeros(len(s))
    for i in range(len(s)):
        n_true = m[i].sum()
        values, tp, selected = _threshold_curves(s[i], m[i], None if order is None else order[i])
        keep = values > 0  # thresholds in (0, 1]; 0 selects everything
        values, tp, selected = values[keep][::-1], tp[keep][::-1], selected[keep][::-1]
        widths = np.diff(np.r_[0.0, values])  # tau in (v_{k-1}, v_k] selects {s >= v_k}
        aup[i] = float(np.sum(widths * tp / selected))
        aur[i] = float(np.sum(widths * tp / n_true)) if n_true else np.nan
    return aup, aur


# the literature's batch-pooled AUP / AUR (pooled_aup_aur), named apart from METRICS: one value per set of maps
POOLED_METRICS = ("aup_pooled", "aur_pooled")
TINT_EPS = 1e-5  # time-interpret's normalisation: (a - min) / (max - min + 1e-5) per sample


def pooled_aup_aur(maps: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """AUP and AUR as the time-series interpretability literature computes them (Dynamask, ExtremalMask and the
    ``time-interpret`` library's ``aup`` / ``aur``), named apart from this package's per-sample ``aup`` / ``aur``.

    Each map is scaled as ``(a - min) / (max - min + 1e-5)`` (its own min and max, in the maps' precision: float32
    or float64, as tint does), the batch is pooled into one ranking, and precision and recall at every distinct
    score (as threshold, ascending; ``score >= threshold`` selected) are integrated over the threshold by the
    trapezoid rule: the areas under precision and under recall as functions of the threshold, as time-interpret
    0.3.0's ``tint.metrics.white_box.aup`` / ``aur`` compute them with ``sklearn.metrics.auc(thresholds,
    precision[:-1])`` from ``precision_recall_curve`` (0 when the scores take a single value).
    ``tests/test_metrics.py`` compares the two, and scikit-learn's, to 1e-9.

    Parameters
    ----------
    maps : numpy.ndarray, shape (n, ...)
        Saliency maps, one per sample (any trailing shape).
    masks : numpy.ndarray of bool, shape (n, ...)
        The true salient entries, the same shape.

    Returns
    -------
    aup : float
        Area under precision against the threshold (nan when ``masks`` has no true entry).
    aur : float
        Area under recall against the threshold (nan when ``masks`` has no true entry).
    """
    a = np.asarray(maps)
    # in the maps' own precision, as tint computes (float32 maps: float32 scaling, the same thresholds as tint's)
    a = a.reshape(len(a), -1).astype(a.dtype if a.dtype in (np.float32, np.float64) else np.float64, copy=False)
    truth = np.asarray(masks, bool).reshape(-1)
    if a.shape[0] * a.shape[1] != truth.size:
        raise ValueError(f"maps {np.shape(maps)} and masks {np.shape(masks)} differ in shape")
    if not truth.any():
        return float("nan"), float("nan")
    low = a.min(1, keepdims=True)
    scaled = ((a - low) / (a.max(1, keepdims=True) - low + a.dtype.type(TINT_EPS))).reshape(-1)
    # every distinct score is a threshold; "score >= threshold" selects from its first place in the sorted scores
    # on.  The scores are >= 0, whose bits sort as they do: one sort of (bits << 1 | truth) keys orders the scores
    # and carries each entry's truth along (no argsort of the whole set)
    unsigned = np.uint32 if scaled.dtype == np.float32 else np.uint64  # the sign bit is 0: the shift keeps every bit
    key = (scaled.view(unsigned) << unsigned(1)) | truth
    key.sort()
    ordered = (key >> unsigned(1)).view(scaled.dtype)
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    if first.sum() < 2:
        return 0.0, 0.0
    starts = np.flatnonzero(first)
    selected = (len(ordered) - starts).astype(np.float64)
    hits = (key & unsigned(1)).view(np.int32 if unsigned is np.uint32 else np.int64)
    at_or_above = np.cumsum(hits[::-1])[::-1]  # true entries at or above each place
    n_hits = int(at_or_above[0])
    tp = at_or_above[starts].astype(np.float64)
    thresholds = ordered[starts].astype(np.float64)
    return float(np.trapezoid(tp / selected, thresholds)), float(np.trapezoid(tp / n_hits, thresholds))


def pooled_scores(maps: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """:data:`POOLED_METRICS` of a set of maps: :func:`pooled_aup_aur` of their absolute values.

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        Saliency maps (signed maps are taken in absolute value, as every metric here takes them).
    masks : array-like of bool, same shape as ``maps``
        Ground-truth masks.

    Returns
    -------
    dict of str to float
        ``aup_pooled`` and ``aur_pooled``.
    """
    return dict(zip(POOLED_METRICS, pooled_aup_aur(np.abs(np.asarray(maps)), masks), strict=True))


def all_scores(maps: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS`, per sample.

    Parameters
    ----------
    maps : array-like, shape (n, ...)
        Saliency maps.
    masks : array-like of bool, same shape as ``maps``
        Ground-truth masks.

    Returns
    -------
    dict of str to numpy.ndarray
        Metric name (the names of :data:`METRICS`, in that order) -> float64 scores, shape ``(n,)``.
    """
    out = saliency_scores(maps, masks)
    order = _descending(_abs_rows(maps))  # one sort of every map serves the three ranked scores
    out["auroc"] = auroc(maps, masks, order)
    out["ap"] = average_precision(maps, masks, order)
    out["aup"], out["aur"] = area_under_precision_recall(maps, masks, order)
    return out


def noise_maps(shape, seed: int) -> np.ndarray:
    """|N(0, 1)| maps: the floor every table row is read against (a map with no knowledge).

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the maps (e.g. ``(n, time, features)``).
    seed : int
        Seed of the generator (``numpy.random.default_rng``).

    Returns
    -------
    numpy.ndarray of float64, shape ``shape``
        Absolute values of standard normal draws.
    """
    return np.abs(np.random.default_rng(seed).standard_normal(shape))
