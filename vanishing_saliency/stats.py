"""Run-level statistics for the verdicts (SPEC section 10): the training run is the replicate.

Every test takes **one value per run** (a run's mean over its test samples, or a per-run
difference), never seed x subject or seed x sample pairs: every subject and sample of a run
shares the run's offset, so they are repeated measures of the run, not independent evidence
about it.  Why per-run means rather than a mixed model (statsmodels MixedLM with run and
subject as random effects): every run is scored on the same test samples, so a run's mean is a
sufficient summary of its effect, the t distribution on run means is exact under normality at
any number of runs, and with the 3 runs of a default claim a mixed model estimates its run
variance on the boundary and its Wald tests are anti-conservative.  Welch's form of the
two-sample test, because trained and control runs spread differently (an untrained model's
runs differ only by their initial weights).  Simulated under a true null (10 subjects, 3 + 3
runs, a run-to-run spread of 0.1-0.67 of the subject spread, control runs up to 3x as
spread), this holds 4-5 % false positives at a nominal 5 % where a paired t-test over
subjects gives 12-47 % (``tests/test_stats.py``).

- :func:`two_sample` (Welch t-test on the run means of two sets of runs), :func:`one_sample`
  (run means, or per-run differences, against a constant), :func:`equivalence` (two one-sided
  tests, TOST, against a margin), :func:`change` / :func:`change_difference` (the change of the
  run means along positions, from an ordinary least-squares line through every run);
- :func:`holm`: Holm's step-down adjustment across the tests one claim combines;
- :func:`permutation_null`: the label-permutation null of accuracy averaged over runs;
- :func:`hierarchical_bootstrap` / :func:`hierarchical_bootstrap_change`: percentile intervals
  that resample runs, then test samples (the synthetic branch's intervals).

Every test is oriented by ``direction`` (+1: the claim says higher, -1: lower) and returns a
:class:`RunTest`: the one-sided p in the claim's direction and the other, the two-sided
interval of the difference, and the smallest difference the design could detect (one-sided
at ``1 - level``, 80 % power).  A side with fewer than 2 runs gives NaN p-values: the caller
says "not testable".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

POWER = 0.8


@dataclass(frozen=True)
class RunTest:
    """One run-level comparison, in the metric's own units.

    ``value`` / ``compared_with``: the mean over the runs of the side under test and of the side
    (or constant) it is compared with; ``diff`` = value - compared_with and its two-sided
    interval ``lo``-``hi`` at the test's level; ``p``: one-sided p-value in the claim's
    direction, ``p_opposite`` in the other; ``mde``: the smallest |diff| detectable at 80 %
    power; ``n`` / ``n_other``: runs on each side (``n_other`` None for a constant)."""

    test: str
    value: float
    compared_with: float
    diff: float
    lo: float
    hi: float
    p: float
    p_opposite: float
    df: float
    mde: float
    n: int
    n_other: int | None = None
    underpowered: bool = False

    @property
    def computable(self) -> bool:
        return bool(np.isfinite(self.p))


def _finite(values) -> np.ndarray:
    v = np.asarray(values, np.float64).ravel()
    return v[np.isfinite(v)]


def _from_t(test, value, compared_with, diff, se, df, direction, level, n, n_other) -> RunTest:
    from scipy import stats

    alpha = 1 - level
    if se == 0:  # no spread: the difference is exact
        signed = direction * diff
        return RunTest(
            test,
            value,
            compared_with,
            diff,
            diff,
            diff,
            0.0 if signed > 0 else 1.0,
            0.0 if signed < 0 else 1.0,
            math.inf,
            0.0,
            n,
            n_other,
        )
    t = direction * diff / se
    half = stats.t.ppf(1 - alpha / 2, df) * se
    mde = (stats.t.ppf(1 - alpha, df) + stats.t.ppf(POWER, df)) * se
    return RunTest(
        test,
        value,
        compared_with,
        diff,
        diff - half,
        diff + half,
        float(stats.t.sf(t, df)),
        float(stats.t.cdf(t, df)),
        float(df),
        float(mde),
        n,
        n_other,
    )


def _not_computable(test, a, b=None, compared_with=np.nan) -> RunTest:
    value = float(np.mean(a)) if len(a) else np.nan
    other = float(np.mean(b)) if b is not None and len(b) else compared_with
    return RunTest(
        test,
        value,
        other,
        value - other,
        np.nan,
        np.nan,
        np.nan,
        np.nan,
        np.nan,
        np.nan,
        len(a),
        None if b is None else len(b),
    )


def two_sample(runs, other_runs, direction: int = 1, level: float = 0.95) -> RunTest:
    """Welch's t-test of the run means ``runs`` against ``other_runs`` (independent runs, e.g. trained
    seeds against untrained or label-permuted runs)."""
    a, b = _finite(runs), _finite(other_runs)
    test = "Welch t-test on run means"
    if len(a) < 2 or len(b) < 2:
        return _not_computable(test, a, b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else math.inf
    return _from_t(
        test, float(a.mean()), float(b.mean()), float(a.mean() - b.mean()), se, df, direction, level, len(a), len(b)
    )


def one_sample(
    runs, value0: float = 0.0, direction: int = 1, level: float = 0.95, test: str = "one-sample t-test on run means"
) -> RunTest:
    """t-test of the run means ``runs`` against the constant ``value0`` (a uniform map's share, the
    paper's threshold); with per-run differences and ``value0 = 0`` it is the paired test of two
    quantities measured on the same run (a map against its own time-shuffled copy)."""
    a = _finite(runs)
    if len(a) < 2:
        return _not_computable(test, a, compared_with=value0)
    se = float(a.std(ddof=1) / math.sqrt(len(a)))
    return _from_t(
        test, float(a.mean()), float(value0), float(a.mean() - value0), se, len(a) - 1, direction, level, len(a), None
    )


def paired(runs, other_runs, direction: int = 1, level: float = 0.95) -> RunTest:
    """Paired t-test of two quantities measured on the same runs (run k of ``runs`` with run k of
    ``other_runs``: a map against its own time-shuffled copy, a model's drop with its own entries
    against a random order): the one-sample test of the per-run differences, reported with both
    sides' means."""
    a, b = np.asarray(runs, np.float64), np.asarray(other_runs, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    r = one_sample(a[keep] - b[keep], 0.0, direction, level, "paired t-test on run means")
    return RunTest(
        r.test,
        float(a[keep].mean()) if keep.any() else np.nan,
        float(b[keep].mean()) if keep.any() else np.nan,
        r.diff,
        r.lo,
        r.hi,
        r.p,
        r.p_opposite,
        r.df,
        r.mde,
        r.n,
        int(keep.sum()),
    )


def equivalence(runs, center: float, margin: float, level: float = 0.95) -> RunTest:
    """Two one-sided tests (TOST) that the mean of the run means lies within ``center +- margin``.

    ``p`` is the larger of the two one-sided p-values (equivalence shown when p <= 1 - level);
    ``lo``-``hi`` is the matching ``1 - 2 (1 - level)`` interval of the difference from ``center``;
    ``underpowered`` when that interval is at least as wide as the margin's range (2 x margin): no
    outcome of this design could show equivalence.  ``p_opposite`` is the one-sided p that the mean
    lies outside the margin on the side of its estimate (a clear departure)."""
    from scipy import stats

    a = _finite(runs)
    test = f"two one-sided t-tests on run means (margin ±{margin:g})"
    if len(a) < 2:
        return _not_computable(test, a, compared_with=center)
    alpha = 1 - level
    diff = float(a.mean() - center)
    se = float(a.std(ddof=1) / math.sqrt(len(a)))
    df = len(a) - 1
    if se == 0:
        inside = abs(diff) < margin
        return RunTest(
            test,
            float(a.mean()),
            center,
            diff,
            diff,
            diff,
            0.0 if inside else 1.0,
            0.0 if not inside else 1.0,
            math.inf,
            0.0,
            len(a),
        )
    p_low = stats.t.sf((diff + margin) / se, df)  # H0: diff <= -margin
    p_high = stats.t.cdf((diff - margin) / se, df)  # H0: diff >= +margin
    half = stats.t.ppf(1 - alpha, df) * se
    beyond = stats.t.sf((abs(diff) - margin) / se, df)  # H1: |diff| > margin on the estimate's side
    mde = (stats.t.ppf(1 - alpha, df) + stats.t.ppf(POWER, df)) * se
    return RunTest(
        test,
        float(a.mean()),
        center,
        diff,
        diff - half,
        diff + half,
        float(max(p_low, p_high)),
        float(beyond),
        float(df),
        float(mde),
        len(a),
        None,
        underpowered=bool(2 * half >= 2 * margin),
    )


def _ols_change(positions, values, groups=None):
    """(change across the span, its standard error, residual df) of an OLS line of ``values`` on
    ``positions``; with ``groups`` (0/1) the difference of the two groups' changes (interaction)."""
    import statsmodels.api as sm

    x = np.asarray(positions, np.float64)
    y = np.asarray(values, np.float64)
    span = x.max() - x.min()
    cols = [np.ones_like(x), x]
    if groups is not None:
        g = np.asarray(groups, np.float64)
        cols += [g, g * x]
    fit = sm.OLS(y, np.column_stack(cols)).fit()
    k = len(cols) - 1
    return float(fit.params[k] * span), float(fit.bse[k] * span), float(fit.df_resid)


def _runs_by_position(runs_by_position) -> tuple[np.ndarray, np.ndarray, int]:
    xs, ys, fewest = [], [], min(len(_finite(v)) for v in runs_by_position.values())
    for position, v in sorted(runs_by_position.items()):
        v = _finite(v)
        xs += [float(position)] * len(v)
        ys += list(v)
    return np.array(xs), np.array(ys), fewest


def change(runs_by_position: dict, direction: int = 1, level: float = 0.95) -> RunTest:
    """The change of the run means from the first to the last position along the OLS line through every
    run's mean (``runs_by_position``: position -> run means), tested against 0."""
    x, y, fewest = _runs_by_position(runs_by_position)
    test = "OLS of run means on position"
    if fewest < 2 or len(runs_by_position) < 2:
        return _not_computable(test, y, compared_with=0.0)
    c, se, df = _ols_change(x, y)
    return _from_t(test, c, 0.0, c, se, df, direction, level, len(y), None)


def change_equivalence(runs_by_position: dict, margin: float, level: float = 0.95) -> RunTest:
    """TOST that the OLS change (see :func:`change`) lies within ``+- margin``."""
    from scipy import stats

    x, y, fewest = _runs_by_position(runs_by_position)
    test = f"two one-sided tests on the OLS change of run means (margin ±{margin:g})"
    if fewest < 2 or len(runs_by_position) < 2:
        return _not_computable(test, y, compared_with=0.0)
    alpha = 1 - level
    c, se, df = _ols_change(x, y)
    if se == 0:
        inside = abs(c) < margin
        return RunTest(test, c, 0.0, c, c, c, 0.0 if inside else 1.0, 0.0 if not inside else 1.0, math.inf, 0.0, len(y))
    half = stats.t.ppf(1 - alpha, df) * se
    p = max(stats.t.sf((c + margin) / se, df), stats.t.cdf((c - margin) / se, df))
    beyond = stats.t.sf((abs(c) - margin) / se, df)
    mde = (stats.t.ppf(1 - alpha, df) + stats.t.ppf(POWER, df)) * se
    return RunTest(
        test,
        c,
        0.0,
        c,
        c - half,
        c + half,
        float(p),
        float(beyond),
        df,
        float(mde),
        len(y),
        underpowered=bool(2 * half >= 2 * margin),
    )


def change_difference(
    runs_by_position: dict, other_by_position: dict, direction: int = 1, level: float = 0.95
) -> RunTest:
    """The change of ``runs_by_position`` minus the change of ``other_by_position`` (e.g. trained against
    untrained runs at the same positions): the interaction of one OLS fit through every run of both."""
    x1, y1, f1 = _runs_by_position(runs_by_position)
    x0, y0, f0 = _runs_by_position(other_by_position)
    test = "OLS of run means on position x (trained vs other)"
    if min(f1, f0) < 2 or len(runs_by_position) < 2 or len(other_by_position) < 2:
        return _not_computable(test, y1, y0)
    d, se, df = _ols_change(
        np.concatenate([x0, x1]), np.concatenate([y0, y1]), np.r_[np.zeros(len(y0)), np.ones(len(y1))]
    )
    own = _ols_change(x1, y1)[0]
    return _from_t(test, own, own - d, d, se, df, direction, level, len(y1), len(y0))


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels); NaN entries (tests that could not be computed) stay NaN and
    do not count in the family."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def permutation_null(predictions, y, n_permutations: int, seed: int, level: float = 0.95) -> dict:
    """Label-permutation null of accuracy averaged over runs.

    ``predictions``: (runs, samples) or (samples,) predicted classes on the same test samples ``y``.
    Each permutation of ``y`` scores every run; the null is the distribution of their mean accuracy
    (it keeps each run's prediction balance and the class balance).  Returns the observed mean
    ``accuracy``, the null interval ``null_lo``-``null_hi`` at ``level``, ``null_mean`` and the one-sided
    ``p_perm``."""
    pred = np.atleast_2d(np.asarray(predictions))
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    null = np.array([(pred == rng.permutation(y)[None, :]).mean() for _ in range(int(n_permutations))])
    acc = float((pred == y[None, :]).mean())
    alpha = (1 - level) / 2
    return {
        "accuracy": acc,
        "null_lo": float(np.quantile(null, alpha)),
        "null_hi": float(np.quantile(null, 1 - alpha)),
        "null_mean": float(null.mean()),
        "p_perm": float((1 + (null >= acc).sum()) / (1 + len(null))),
    }


def _boot_means(scores: np.ndarray, run_idx: np.ndarray, sample_idx: np.ndarray) -> np.ndarray:
    """Mean over the chosen runs (``run_idx``: (replicates, runs)) of each run's mean over the chosen samples
    (``sample_idx``: (replicates, samples)), one value per bootstrap replicate."""

    picked = scores[:, sample_idx]  # (runs, replicates, samples)
    if np.isnan(scores).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a replicate that drew only NaN samples of a run
            per_run = np.nanmean(picked, axis=2)
        return np.nanmean(np.take_along_axis(per_run.T, run_idx, axis=1), axis=1)
    return np.take_along_axis(picked.mean(axis=2).T, run_idx, axis=1).mean(axis=1)


def hierarchical_bootstrap(
    scores, seed: int, n_boot: int = 2000, level: float = 0.95, floor=None, other=None
) -> tuple[float, float, float]:
    """(estimate, low, high): percentile interval of mean(scores) - mean(floor) - mean(other) that
    resamples runs, then test samples.

    ``scores``: (runs, samples) per-sample scores of every run on the same test samples; ``floor``:
    (samples,) a per-sample floor on the same samples (a noise map), paired by sample; ``other``:
    (runs', samples) another set of runs on the same samples (an untrained model), whose runs are
    resampled on their own.  Each replicate draws runs with replacement, and test samples with
    replacement (shared by both sides, since every run saw the same samples)."""
    s = np.atleast_2d(np.asarray(scores, np.float64))
    rng = np.random.default_rng(seed)
    n_runs, n_samples = s.shape
    samples = rng.integers(0, n_samples, (n_boot, n_samples))
    stat = _boot_means(s, rng.integers(0, n_runs, (n_boot, n_runs)), samples)
    estimate = float(np.nanmean(s))
    if floor is not None:
        f = np.asarray(floor, np.float64)
        stat -= _boot_means(f[None, :], np.zeros((n_boot, 1), np.int64), samples)
        estimate -= float(np.nanmean(f))
    if other is not None:
        o = np.atleast_2d(np.asarray(other, np.float64))
        stat -= _boot_means(o, rng.integers(0, len(o), (n_boot, len(o))), samples)
        estimate -= float(np.nanmean(o))
    alpha = (1 - level) / 2
    return estimate, float(np.quantile(stat, alpha)), float(np.quantile(stat, 1 - alpha))


def hierarchical_bootstrap_change(
    scores_by_position: dict, seed: int, n_boot: int = 2000, level: float = 0.95, other_by_position: dict | None = None
) -> tuple[float, float, float]:
    """(change, low, high): the change of the mean score from the first to the last position along the
    least-squares line through the position means, with a percentile interval that resamples runs,
    then samples, at every position (``scores_by_position``: position -> (runs, samples)); with
    ``other_by_position`` (other runs at the same positions, resampled on their own) the change
    minus theirs."""
    positions = np.array(sorted(scores_by_position), np.float64)
    weights = positions - positions.mean()
    weights = weights / (weights**2).sum() * (positions[-1] - positions[0])
    rng = np.random.default_rng(seed)

    def changes(by_position):
        boots, means = [], []
        for p in sorted(by_position):
            s = np.atleast_2d(np.asarray(by_position[p], np.float64))
            means.append(np.nanmean(s))
            boots.append(
                _boot_means(
                    s, rng.integers(0, len(s), (n_boot, len(s))), rng.integers(0, s.shape[1], (n_boot, s.shape[1]))
                )
            )
        return float(np.array(means) @ weights), np.column_stack(boots) @ weights

    estimate, stat = changes(scores_by_position)
    if other_by_position is not None:
        other, other_stat = changes(other_by_position)
        estimate, stat = estimate - other, stat - other_stat
    alpha = (1 - level) / 2
    return estimate, float(np.quantile(stat, alpha)), float(np.quantile(stat, 1 - alpha))
