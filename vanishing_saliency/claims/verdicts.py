"""Verdicts on the paper's claims, computed from per-sample scores with intervals (SPEC section 10).

A verdict is one of ``reproduced``, ``not reproduced`` or ``not testable`` (a model the claim
is about is not above chance, so its saliency means nothing), always with the value, what it
was compared with, the interval and the reason.  Nothing here is written by hand: every verdict
follows from the numbers passed in, and a map or model with no knowledge fails every claim.

Per-sample scores come as ``(seeds, samples)`` arrays; a model's score of a sample is its mean
over seeds, and every interval is a percentile bootstrap over test samples.
"""

from __future__ import annotations

import numpy as np

from ..metrics import HIGHER_IS_BETTER, bootstrap_mean_ci

REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "not reproduced", "not testable"

# Paper Table 1 (SPEC section 5): WJac / Euc / accuracy % per model and dataset.
PAPER_TABLE1 = {
    "lstm": {"earlier": (.000, 1.006, 53.4), "middle": (.000, 1.003, 98.6), "latter": (.019, .985, 100),
             "mixed": (.000, 1.003, 49.1), "three_earlier": (.000, 1.003, 52.2), "three_middle": (.000, 1.004, 51.8)},
    "bilstm": {"earlier": (.000, 1.004, 50.7), "middle": (.000, 1.003, 53.2), "latter": (.013, .990, 100),
               "mixed": (.000, 1.002, 51.5), "three_earlier": (.000, 1.003, 51.3), "three_middle": (.000, 1.003, 51.3)},
    "lstm_selfattn": {"earlier": (.048, .973, 100), "middle": (.048, .963, 100), "latter": (.045, .973, 100),
                      "mixed": (.060, .953, 100), "three_earlier": (.025, .985, 100), "three_middle": (.075, .939, 99.9)},
    "inputcell_lstm": {"earlier": (.103, .914, 100), "middle": (.124, .891, 100), "latter": (.110, .903, 100),
                       "mixed": (.104, .912, 77.6), "three_earlier": (.108, .903, 100),
                       "three_middle": (.106, .905, 100)},
}


def combine(verdicts) -> str:
    """One verdict from several: any failure fails; otherwise any untestable part makes it untestable."""
    verdicts = list(verdicts)
    if not verdicts:
        return NOT_TESTABLE
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if NOT_TESTABLE in verdicts:
        return NOT_TESTABLE
    return REPRODUCED


def _better(metric: str, diff_ci: tuple) -> bool:
    """The interval of (a - b) shows a better than b on ``metric``."""
    _, lo, hi = diff_ci
    return lo > 0 if HIGHER_IS_BETTER[metric] else hi < 0


def highest_on_every_dataset(scores: dict, at_chance: dict, target: str, metric: str, seed: int,
                             n_boot: int = 2000, level: float = 0.95) -> list[dict]:
    """Claim 3: ``target`` scores better than every other model on every dataset.

    scores: (dataset, model) -> (seeds, samples) per-sample ``metric``; at_chance: (dataset, model) ->
    True when any of the model's seeds is not above chance.  Per dataset: reproduced when the
    interval of (target - other) shows target better than each other model; not testable when
    the target is at chance."""
    rows = []
    for dataset in dict.fromkeys(d for d, _ in scores):
        mine = np.asarray(scores[(dataset, target)]).mean(0)
        others = [m for d, m in scores if d == dataset and m != target]
        row = {"dataset": dataset, "metric": metric, "value": float(np.nanmean(mine))}
        comparisons = {}
        for other in others:
            theirs = np.asarray(scores[(dataset, other)]).mean(0)
            comparisons[other] = bootstrap_mean_ci(mine - theirs, seed, n_boot, level)
        worst = min(comparisons, key=lambda o: comparisons[o][1] if HIGHER_IS_BETTER[metric] else -comparisons[o][2])
        row.update(closest=worst, closest_value=float(np.nanmean(np.asarray(scores[(dataset, worst)]).mean(0))),
                   diff=comparisons[worst][0], lo=comparisons[worst][1], hi=comparisons[worst][2])
        if at_chance[(dataset, target)]:
            row.update(verdict=NOT_TESTABLE, reason=f"{target} is not above chance on {dataset}")
        elif all(_better(metric, c) for c in comparisons.values()):
            row.update(verdict=REPRODUCED, reason=f"better than every other model (closest: {worst})")
        else:
            row.update(verdict=NOT_REPRODUCED, reason=f"not better than {worst} (interval of the difference "
                                                      f"[{comparisons[worst][1]:+.3f}, {comparisons[worst][2]:+.3f}])")
        rows.append(row)
    return rows


def near_zero(scores: dict, models, threshold: float, seed: int, n_boot: int = 2000, level: float = 0.95) -> list[dict]:
    """Claim 3, first half: each of ``models`` scores (per-sample mean) near zero on every dataset:
    reproduced when the upper bound of the interval of its mean is below ``threshold``."""
    rows = []
    for (dataset, model), s in scores.items():
        if model not in models:
            continue
        mean, lo, hi = bootstrap_mean_ci(np.asarray(s).mean(0), seed, n_boot, level)
        rows.append({"dataset": dataset, "model": model, "value": mean, "lo": lo, "hi": hi,
                     "verdict": REPRODUCED if hi < threshold else NOT_REPRODUCED,
                     "reason": f"upper bound {hi:.4f} {'<' if hi < threshold else '>='} {threshold}"})
    return rows


def above_floor(values, floor, metric: str, seed: int, n_boot: int = 2000, level: float = 0.95) -> tuple:
    """(interval of values - floor, whether it shows values better than the floor), paired by sample."""
    ci = bootstrap_mean_ci(np.asarray(values) - np.asarray(floor), seed, n_boot, level)
    return ci, _better(metric, ci)


def change_across_positions(scores_by_position: dict, seed: int, n_boot: int = 2000, level: float = 0.95) -> tuple:
    """Claim 4: the change of a model's mean score from the first to the last box position along the
    least-squares line through the per-position means, with its bootstrap interval.

    scores_by_position: box start -> (seeds, samples) per-sample scores.  Returns (change, lo, hi)."""
    starts = np.array(sorted(scores_by_position), float)
    per_sample = [np.asarray(scores_by_position[s]).mean(0) for s in sorted(scores_by_position)]
    span = starts[-1] - starts[0]

    def change(samples):
        means = np.array([np.nanmean(v) for v in samples])
        return np.polyfit(starts, means, 1)[0] * span

    rng = np.random.default_rng(seed)
    boots = [change([v[rng.integers(0, len(v), len(v))] for v in per_sample]) for _ in range(n_boot)]
    alpha = (1 - level) / 2
    return float(change(per_sample)), float(np.quantile(boots, alpha)), float(np.quantile(boots, 1 - alpha))


def rises(change: tuple, metric: str, at_chance: bool) -> tuple[str, str]:
    """Claim 4 for the LSTM: its score improves as the box moves later."""
    value, lo, hi = change
    if at_chance:
        return NOT_TESTABLE, "the model is not above chance at some box position"
    better = lo > 0 if HIGHER_IS_BETTER[metric] else hi < 0
    return ((REPRODUCED, "the interval of the change shows an improvement") if better else
            (NOT_REPRODUCED, f"the interval of the change [{lo:+.3f}, {hi:+.3f}] does not show an improvement"))


def flat(change: tuple, tolerance: float, at_chance: bool) -> tuple[str, str]:
    """Claim 4 for input-cell attention: the interval of the change lies within +- tolerance."""
    value, lo, hi = change
    if at_chance:
        return NOT_TESTABLE, "the model is not above chance at some box position"
    inside = -tolerance <= lo and hi <= tolerance
    return ((REPRODUCED, f"the interval [{lo:+.3f}, {hi:+.3f}] lies within ±{tolerance}") if inside else
            (NOT_REPRODUCED, f"the interval [{lo:+.3f}, {hi:+.3f}] leaves ±{tolerance}"))


def t_greater(values, value0: float = 0.0, level: float = 0.95) -> dict:
    """One-sided one-sample t-test (statsmodels) that the mean of ``values`` exceeds ``value0``: the mean,
    the two-sided interval of the mean at ``level``, the p-value and the number of units."""
    from statsmodels.stats.weightstats import DescrStatsW

    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return {"mean": float(v.mean()) if len(v) else np.nan, "lo": np.nan, "hi": np.nan, "p": np.nan, "n": len(v)}
    d = DescrStatsW(v)
    if np.ptp(v) == 0:  # no spread: the mean is exact
        p = 0.0 if v[0] > value0 else 1.0
        return {"mean": float(v[0]), "lo": float(v[0]), "hi": float(v[0]), "p": p, "n": len(v)}
    _, p, _ = d.ttest_mean(value=value0, alternative="larger")
    lo, hi = d.tconfint_mean(alpha=1 - level)
    return {"mean": float(d.mean), "lo": float(lo), "hi": float(hi), "p": float(p), "n": len(v)}
