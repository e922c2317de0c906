"""Run-level statistics for the verdicts (SPEC section 10): every test, interval, null and gate.

The replicate is the training run.  Every test takes **one value per run** (a run's mean over its
test samples, or a per-run difference), never seed x subject or seed x sample pairs: every subject
and sample of a run shares the run's offset, so they are repeated measures of the run, not
independent evidence about it.  Why per-run means rather than a mixed model (statsmodels MixedLM
with run and subject as random effects): every run is scored on the same test samples, so a run's
mean is a sufficient summary of its effect, the t distribution on run means is exact under
normality at any number of runs, and with the few runs of a default claim a mixed model estimates
its run variance on the boundary and its Wald tests are anti-conservative.  Welch's form of the
two-sample test, because trained and control runs spread differently (an untrained model's runs
differ only by their initial weights).  Simulated under a true null (10 subjects, 3 + 3 runs, a
run-to-run spread of 0.1-0.67 of the subject spread, control runs up to 3x as spread), this holds
4-5 % false positives at a nominal 5 % where a paired t-test over subjects gives 12-47 %
(``tests/test_stats.py``).

- :func:`two_sample` (Welch t-test on the run means of two sets of runs), :func:`one_sample`
  (run means, or per-run differences, against a constant), :func:`paired`, :func:`equivalence`
  (two one-sided tests, TOST, against a margin), :func:`two_sample_equivalence` (TOST of two sets of runs),
  :func:`change` / :func:`change_equivalence` /
  :func:`change_difference` (the change of the run means along positions, from an ordinary
  least-squares line through every run);
- :func:`holm`: Holm's step-down adjustment across the tests one claim makes;
  :func:`detectable` / :func:`runs_needed`: the smallest difference a test can detect at a
  (Holm-adjusted) level with 80 % power, and the runs per side that would detect a given one;
- the gate: :func:`permutation_null` (the label-permutation null of a run's accuracy, or of the
  accuracy averaged over runs), :func:`binomial_p`, :func:`at_chance`, :func:`learned` (every run
  above its own null);
- intervals: :func:`t_interval` (run means), :func:`bootstrap_mean_ci`,
  :func:`hierarchical_bootstrap` / :func:`hierarchical_bootstrap_change` (runs, then test samples)
  and :func:`mean_interval`, which takes the t-based interval until a cell has
  :data:`MIN_BOOTSTRAP_RUNS` runs: a percentile bootstrap over a few runs is anti-conservative
  (``tests/test_stats.py`` simulates it: 12-25 % false positives at a nominal 5 % with 3 runs).

Every test is oriented by ``direction`` (+1: the claim says higher, -1: lower) and returns a
:class:`RunTest`: the one-sided p in the claim's direction and the other, the two-sided interval
of the difference, its standard error and how that error shrinks with more runs (``design``), and
the smallest difference the design could detect at the unadjusted level.  A test that cannot be
computed (fewer than 2 runs on a side, or runs without any spread: identical runs say nothing about
the run-to-run spread a t-test needs) has NaN p-values and says why in ``note``; runs whose value is
NaN are left out and named in ``dropped``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

POWER = 0.8
#: Runs a cell needs before its intervals come from the hierarchical bootstrap rather than the t distribution on run
#: means: with fewer the bootstrap's false-positive rate exceeds 7 % at a nominal 5 % (tests/test_stats.py).
MIN_BOOTSTRAP_RUNS = 20
MAX_PLANNED_RUNS = 1000


@dataclass(frozen=True)
class RunTest:
    """One run-level comparison, in the metric's own units.

    ``value`` / ``compared_with``: the mean over the runs of the side under test and of the side
    (or constant) it is compared with; ``diff`` = value - compared_with and its two-sided
    interval ``lo``-``hi`` at the test's level; ``p``: one-sided p-value in the claim's
    direction, ``p_opposite`` in the other (for an equivalence test: ``p`` the TOST p-value,
    ``p_opposite`` the p of a departure beyond the margin); ``se`` / ``df``: the standard error
    of ``diff`` and its degrees of freedom; ``mde``: the smallest |diff| detectable at 80 % power
    at the unadjusted level; ``n`` / ``n_other``: runs on each side (``n_other`` None for a
    constant); ``design``: how ``se`` and ``df`` scale with the runs per side (see
    :func:`runs_needed`); ``equivalence``: a TOST; ``margin``: its margin; ``dropped``: runs left
    out because their value is NaN; ``note``: why the test could not be computed."""

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
    se: float = np.nan
    design: tuple = ()
    equivalence: bool = False
    margin: float = np.nan
    dropped: tuple = ()
    note: str = ""

    @property
    def computable(self) -> bool:
        return bool(np.isfinite(self.p))


def _names(values) -> list | None:
    """The run names of a pandas Series (its index), None for any other sequence."""
    index = getattr(values, "index", None)
    return None if index is None or callable(index) else [str(i) for i in index]


def _finite(values) -> tuple[np.ndarray, tuple]:
    """The finite values, and the names of the NaN ones (a Series' index, else "run <position>")."""
    names = _names(values)
    v = np.asarray(values, np.float64).ravel()
    ok = np.isfinite(v)
    dropped = tuple(str(names[i]) if names is not None else f"run {i}" for i in np.flatnonzero(~ok))
    return v[ok], dropped


def _critical(alpha: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(1 - alpha, df))


def _scaled(design: tuple, n) -> tuple[np.ndarray, np.ndarray]:
    """(standard error, degrees of freedom) of a test with ``n`` runs per side (or per position), from its design:
    ``("t", sd)`` one sample of runs (or per-run differences); ``("welch", sd_a, sd_b)`` two independent sets of
    runs; ``("ols", sd, points, params)`` a least-squares line through ``points`` x ``n`` run means with ``params``
    coefficients (``sd``: the standard error times the square root of the runs per position)."""
    n = np.asarray(n, np.float64)
    kind = design[0]
    if kind == "t":
        return design[1] / np.sqrt(n), n - 1
    if kind == "welch":
        va, vb = design[1] ** 2, design[2] ** 2
        se = np.sqrt((va + vb) / n)
        df = (va + vb) ** 2 / ((va**2 + vb**2) / (n - 1)) if va + vb > 0 else n - 1
        return se, df
    if kind == "ols":
        return design[1] / np.sqrt(n), design[2] * n - design[3]
    raise ValueError(f"unknown test design {design!r}")


def _from_t(test, value, compared_with, diff, se, df, direction, level, n, n_other, design, dropped) -> RunTest:
    from scipy import stats

    alpha = 1 - level
    t = direction * diff / se
    half = stats.t.ppf(1 - alpha / 2, df) * se
    mde = (_critical(alpha, df) + stats.t.ppf(POWER, df)) * se
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
        se=float(se),
        design=design,
        dropped=dropped,
    )


def _not_computable(test, a, b=None, compared_with=np.nan, note="", dropped=(), equivalence=False, margin=np.nan):
    value = float(np.mean(a)) if len(a) else np.nan
    other = float(np.mean(b)) if b is not None and len(b) else compared_with
    if not note:
        note = (
            f"{len(a)} run(s) against {'-' if b is None else len(b)}: a run-level test needs at least 2 on each side"
            if b is not None
            else f"{len(a)} run(s): a run-level test needs at least 2"
        )
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
        equivalence=equivalence,
        margin=margin,
        dropped=tuple(dropped),
        note=note,
    )


NO_SPREAD = "the runs are identical (no run-to-run spread): a t-test on run means says nothing"


def _no_spread(se: float, *values) -> bool:
    """A standard error at rounding level of the values it comes from: the runs do not spread."""
    scale = max([1.0] + [float(np.max(np.abs(v))) for v in values if len(v)])
    return se <= 1e-12 * scale


def two_sample(runs, other_runs, direction: int = 1, level: float = 0.95) -> RunTest:
    """Welch's t-test of the run means ``runs`` against ``other_runs`` (independent runs, e.g. trained
    seeds against untrained or label-permuted runs)."""
    (a, da), (b, db) = _finite(runs), _finite(other_runs)
    test, dropped = "Welch t-test on run means", da + db
    if len(a) < 2 or len(b) < 2:
        return _not_computable(test, a, b, dropped=dropped)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if _no_spread(se, a, b):
        return _not_computable(test, a, b, note=NO_SPREAD, dropped=dropped)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    design = ("welch", float(a.std(ddof=1)), float(b.std(ddof=1)))
    return _from_t(
        test,
        float(a.mean()),
        float(b.mean()),
        float(a.mean() - b.mean()),
        se,
        df,
        direction,
        level,
        len(a),
        len(b),
        design,
        dropped,
    )


def one_sample(
    runs,
    value0: float = 0.0,
    direction: int = 1,
    level: float = 0.95,
    test: str = "one-sample t-test on run means",
    _dropped: tuple = (),
) -> RunTest:
    """t-test of the run means ``runs`` against the constant ``value0`` (a noise map's score, a uniform map's
    share, the paper's threshold); with per-run differences and ``value0 = 0`` it is the paired test of two
    quantities measured on the same run (a map against its own time-shuffled copy)."""
    a, dropped = _finite(runs)
    dropped = tuple(_dropped) + dropped
    if len(a) < 2:
        return _not_computable(test, a, compared_with=value0, dropped=dropped)
    sd = float(a.std(ddof=1))
    if _no_spread(sd, a):
        return _not_computable(test, a, compared_with=value0, note=NO_SPREAD, dropped=dropped)
    se = sd / math.sqrt(len(a))
    return _from_t(
        test,
        float(a.mean()),
        float(value0),
        float(a.mean() - value0),
        se,
        len(a) - 1,
        direction,
        level,
        len(a),
        None,
        ("t", sd),
        dropped,
    )


def paired(runs, other_runs, direction: int = 1, level: float = 0.95) -> RunTest:
    """Paired t-test of two quantities measured on the same runs (run k of ``runs`` with run k of
    ``other_runs``: a map against its own time-shuffled copy, a model's drop with its own entries
    against a random order): the one-sample test of the per-run differences, reported with both
    sides' means."""
    a, b = np.asarray(runs, np.float64), np.asarray(other_runs, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    names = _names(runs)
    dropped = tuple(str(names[i]) if names is not None else f"run {i}" for i in np.flatnonzero(~keep))
    r = one_sample(a[keep] - b[keep], 0.0, direction, level, "paired t-test on run means", dropped)
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
        se=r.se,
        design=r.design,
        dropped=r.dropped,
        note=r.note,
    )


def _tost(test, value, center, diff, se, df, margin, level, n, design, dropped) -> RunTest:
    """Two one-sided tests that ``diff`` lies within ``+- margin`` (see :func:`equivalence`)."""
    from scipy import stats

    alpha = 1 - level
    p_low = stats.t.sf((diff + margin) / se, df)  # H0: diff <= -margin
    p_high = stats.t.cdf((diff - margin) / se, df)  # H0: diff >= +margin
    half = stats.t.ppf(1 - alpha, df) * se
    beyond = stats.t.sf((abs(diff) - margin) / se, df)  # H1: |diff| > margin on the estimate's side
    mde = (_critical(alpha, df) + stats.t.ppf(1 - (1 - POWER) / 2, df)) * se
    return RunTest(
        test,
        value,
        center,
        diff,
        diff - half,
        diff + half,
        float(max(p_low, p_high)),
        float(beyond),
        float(df),
        float(mde),
        n,
        None,
        underpowered=bool(half >= margin),
        se=float(se),
        design=design,
        equivalence=True,
        margin=float(margin),
        dropped=dropped,
    )


def equivalence(runs, center: float, margin: float, level: float = 0.95) -> RunTest:
    """Two one-sided tests (TOST) that the mean of the run means lies within ``center +- margin``.

    ``p`` is the larger of the two one-sided p-values (equivalence shown when p <= 1 - level);
    ``lo``-``hi`` is the matching ``1 - 2 (1 - level)`` interval of the difference from ``center``;
    ``underpowered`` when that interval is at least as wide as the margin's range (2 x margin): no
    outcome of this design could show equivalence.  ``p_opposite`` is the one-sided p that the mean
    lies outside the margin on the side of its estimate (a clear departure); ``mde``: the smallest margin
    the design shows equivalence within, with 80 % power, when the true difference is 0."""
    a, dropped = _finite(runs)
    test = f"two one-sided t-tests on run means (margin ±{margin:g})"
    if len(a) < 2:
        return _not_computable(test, a, compared_with=center, dropped=dropped, equivalence=True, margin=margin)
    sd = float(a.std(ddof=1))
    if _no_spread(sd, a):
        return _not_computable(
            test, a, compared_with=center, note=NO_SPREAD, dropped=dropped, equivalence=True, margin=margin
        )
    se = sd / math.sqrt(len(a))
    diff = float(a.mean() - center)
    return _tost(test, float(a.mean()), center, diff, se, len(a) - 1, margin, level, len(a), ("t", sd), dropped)


def paired_equivalence(runs, other_runs, margin: float, level: float = 0.95) -> RunTest:
    """Two one-sided tests that the per-run differences ``runs - other_runs`` (run k with run k: a map
    and its own time-shuffled copy) lie within ``+- margin`` of 0, reported with both sides' means;
    the fields as in :func:`equivalence`."""
    a, b = np.asarray(runs, np.float64), np.asarray(other_runs, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    names = _names(runs)
    dropped = tuple(str(names[i]) if names is not None else f"run {i}" for i in np.flatnonzero(~keep))
    r = equivalence(a[keep] - b[keep], 0.0, margin, level)
    test = f"two one-sided paired t-tests on run means (margin ±{margin:g})"
    mean_a = float(a[keep].mean()) if keep.any() else np.nan
    mean_b = float(b[keep].mean()) if keep.any() else np.nan
    return RunTest(
        **{
            **r.__dict__,
            "test": test,
            "value": mean_a,
            "compared_with": mean_b,
            "n_other": int(keep.sum()),
            "dropped": dropped + r.dropped,
        }
    )


def two_sample_equivalence(runs, other_runs, margin: float, level: float = 0.95) -> RunTest:
    """Two one-sided Welch t-tests that the mean of the run means ``runs`` lies within ``+- margin`` of the mean of
    ``other_runs`` (independent runs: trained seeds against their untrained twins); the fields as in
    :func:`equivalence`."""
    (a, da), (b, db) = _finite(runs), _finite(other_runs)
    test, dropped = f"two one-sided Welch t-tests on run means (margin ±{margin:g})", da + db
    if len(a) < 2 or len(b) < 2:
        return _not_computable(test, a, b, dropped=dropped, equivalence=True, margin=margin)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if _no_spread(se, a, b):
        return _not_computable(test, a, b, note=NO_SPREAD, dropped=dropped, equivalence=True, margin=margin)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    design = ("welch", float(a.std(ddof=1)), float(b.std(ddof=1)))
    r = _tost(
        test,
        float(a.mean()),
        float(b.mean()),
        float(a.mean() - b.mean()),
        se,
        df,
        margin,
        level,
        len(a),
        design,
        dropped,
    )
    return RunTest(**{**r.__dict__, "n_other": len(b)})


def _ols_change(positions, values, groups=None):
    """(change across the span, its standard error, residual df, coefficients) of an OLS line of ``values`` on
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
    return float(fit.params[k] * span), float(fit.bse[k] * span), float(fit.df_resid), len(cols)


def _runs_by_position(runs_by_position) -> tuple[np.ndarray, np.ndarray, int, tuple]:
    """(positions, run means, fewest finite runs at a position, names of the NaN runs) of position -> run means."""
    xs, ys, dropped, fewest = [], [], [], None
    for position, values in sorted(runs_by_position.items()):
        v, gone = _finite(values)
        fewest = len(v) if fewest is None else min(fewest, len(v))
        dropped += [f"{g} at {position:g}" for g in gone]
        xs += [float(position)] * len(v)
        ys += list(v)
    return np.array(xs), np.array(ys), fewest or 0, tuple(dropped)


def _ols_design(se: float, fewest: int, points: int, params: int) -> tuple:
    return ("ols", se * math.sqrt(fewest), points, params)


def change(runs_by_position: dict, direction: int = 1, level: float = 0.95) -> RunTest:
    """The change of the run means from the first to the last position along the OLS line through every
    run's mean (``runs_by_position``: position -> run means), tested against 0."""
    x, y, fewest, dropped = _runs_by_position(runs_by_position)
    test = "OLS of run means on position"
    if fewest < 2 or len(runs_by_position) < 2:
        return _not_computable(test, y, compared_with=0.0, dropped=dropped, note=_few_positions(fewest))
    c, se, df, params = _ols_change(x, y)
    if _no_spread(se, y):
        return _not_computable(test, y, compared_with=0.0, note=NO_SPREAD, dropped=dropped)
    design = _ols_design(se, fewest, len(runs_by_position), params)
    return _from_t(test, c, 0.0, c, se, df, direction, level, len(y), None, design, dropped)


def _few_positions(fewest: int) -> str:
    return f"{fewest} run(s) at a position: a line through run means needs at least 2 at each of 2 positions"


def change_equivalence(runs_by_position: dict, margin: float, level: float = 0.95) -> RunTest:
    """TOST that the OLS change (see :func:`change`) lies within ``+- margin``."""
    x, y, fewest, dropped = _runs_by_position(runs_by_position)
    test = f"two one-sided tests on the OLS change of run means (margin ±{margin:g})"
    if fewest < 2 or len(runs_by_position) < 2:
        return _not_computable(
            test, y, compared_with=0.0, note=_few_positions(fewest), dropped=dropped, equivalence=True, margin=margin
        )
    c, se, df, params = _ols_change(x, y)
    if _no_spread(se, y):
        return _not_computable(
            test, y, compared_with=0.0, note=NO_SPREAD, dropped=dropped, equivalence=True, margin=margin
        )
    design = _ols_design(se, fewest, len(runs_by_position), params)
    return _tost(test, c, 0.0, c, se, df, margin, level, len(y), design, dropped)


def change_difference(
    runs_by_position: dict, other_by_position: dict, direction: int = 1, level: float = 0.95
) -> RunTest:
    """The change of ``runs_by_position`` minus the change of ``other_by_position`` (e.g. trained against
    untrained runs at the same positions): the interaction of one OLS fit through every run of both."""
    x1, y1, f1, d1 = _runs_by_position(runs_by_position)
    x0, y0, f0, d0 = _runs_by_position(other_by_position)
    test = "OLS of run means on position x (trained vs other)"
    if min(f1, f0) < 2 or len(runs_by_position) < 2 or len(other_by_position) < 2:
        return _not_computable(test, y1, y0, note=_few_positions(min(f1, f0)), dropped=d1 + d0)
    d, se, df, params = _ols_change(
        np.concatenate([x0, x1]), np.concatenate([y0, y1]), np.r_[np.zeros(len(y0)), np.ones(len(y1))]
    )
    if _no_spread(se, y0, y1):
        return _not_computable(test, y1, y0, note=NO_SPREAD, dropped=d1 + d0)
    own = _ols_change(x1, y1)[0]
    design = _ols_design(se, min(f1, f0), len(runs_by_position) + len(other_by_position), params)
    return _from_t(test, own, own - d, d, se, df, direction, level, len(y1), len(y0), design, d1 + d0)


# ---- planning: what a test can detect, and the runs that would detect an effect ---------------------------------


def _level_alpha(r: RunTest, alpha: float, tests: int) -> float:
    """The one-sided level of ``r`` at Holm's first step over ``tests`` tests: a directional test is two-sided (a
    claim is decided both ways), so alpha / (2 tests); an equivalence test's two one-sided tests, alpha / tests."""
    tests = max(int(tests), 1)
    return alpha / tests if r.equivalence else alpha / (2 * tests)


def detectable(r: RunTest, tests: int = 1, alpha: float = 0.05, power: float = POWER) -> float:
    """The smallest difference ``r``'s design detects with ``power`` at Holm's first step over ``tests`` tests (for
    an equivalence test: the smallest margin it shows equivalence within, when the true difference is 0); NaN when
    the test could not be computed."""
    from scipy import stats

    if not r.computable or not np.isfinite(r.se):
        return np.nan
    beta = 1 - (1 - power) / 2 if r.equivalence else power
    return float((_critical(_level_alpha(r, alpha, tests), r.df) + stats.t.ppf(beta, r.df)) * r.se)


def runs_per_cell(r: RunTest) -> int:
    """The runs per side (per position, for a line) ``r`` was computed from: what :func:`runs_needed` counts."""
    if r.design and r.design[0] == "ols" and r.se > 0:
        return int(round((r.design[1] / r.se) ** 2))
    return int(r.n)


def runs_needed(r: RunTest, effect: float, tests: int = 1, alpha: float = 0.05, power: float = POWER) -> int | None:
    """The runs per side (per position, for a line) with which ``r``'s test would detect ``effect`` with ``power``
    at Holm's first step over ``tests`` tests, at the spread these runs show (for an equivalence test: show
    equivalence within ``effect`` when the true difference is 0); None when it cannot be planned (the test was not
    computed) or needs more than :data:`MAX_PLANNED_RUNS`."""
    from scipy import stats

    if not r.computable or not r.design or not np.isfinite(effect) or effect <= 0:
        return None
    n = np.arange(2, MAX_PLANNED_RUNS + 1)
    se, df = _scaled(r.design, n)
    df = np.maximum(df, 1)
    beta = 1 - (1 - power) / 2 if r.equivalence else power
    need = (stats.t.ppf(1 - _level_alpha(r, alpha, tests), df) + stats.t.ppf(beta, df)) * se
    ok = np.flatnonzero(need <= effect)
    return int(n[ok[0]]) if len(ok) else None


# ---- the gate: is a model above its label-permutation null? -----------------------------------------------------


def permutation_null(predictions, y, n_permutations: int, seed: int, level: float = 0.95) -> dict:
    """Label-permutation null of accuracy: of one run (``predictions`` of shape (samples,)) or averaged over runs
    ((runs, samples), every run on the same test samples ``y``).

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


def learned(above_null) -> bool:
    """The gate every claim reads: a model learned when **every** run is above its own label-permutation null (one
    learned run and two at chance do not make a learned model, however the runs' mean compares with its null)."""
    above = [bool(a) for a in above_null]
    return bool(above) and all(above)


def binomial_p(n_correct: int, n: int, chance: float) -> float:
    """One-sided binomial p-value of ``n_correct`` of ``n`` against the rate ``chance``."""
    from scipy.stats import binomtest

    return float(binomtest(int(n_correct), int(n), float(chance), alternative="greater").pvalue)


def at_chance(accuracy: float, n: int, n_classes: int = 2, alpha: float = 0.05) -> bool:
    """True when ``accuracy`` on ``n`` samples is not significantly above chance
    (one-sided binomial test against 1/n_classes).

    Parameters
    ----------
    accuracy : float
        Fraction correct, in [0, 1] (``round(accuracy * n)`` successes are tested).
    n : int
        Number of samples.
    n_classes : int, default 2
        Number of classes: chance is ``1 / n_classes``.
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    bool
        True when the test's p-value is above ``alpha``.
    """
    return binomial_p(int(round(accuracy * n)), n, 1.0 / n_classes) > alpha


# ---- intervals ----------------------------------------------------------------------------------------------------


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the t interval of the mean of run values (NaN ones left out); NaN bounds with fewer than 2
    runs or no spread."""
    from scipy import stats

    v, _ = _finite(values)
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    if len(v) < 2 or sd == 0:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(1 - (1 - level) / 2, len(v) - 1) * sd / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def bootstrap_mean_ci(values: np.ndarray, seed: int, n_boot: int = 2000, level: float = 0.95) -> tuple:
    """(mean, low, high): percentile bootstrap interval of the mean over the first axis (NaNs dropped).

    Parameters
    ----------
    values : array-like, shape (n,)
        The values whose mean is estimated; non-finite ones (NaN, inf) are dropped.
    seed : int
        Seed of the resampling (``numpy.random.default_rng``).
    n_boot : int, default 2000
        Bootstrap resamples.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    tuple of float
        ``(mean, low, high)``: the mean of the finite values and the ``(1 - level) / 2`` and ``(1 + level) / 2``
        quantiles of the resampled means; all NaN when no value is finite.
    """
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)
    alpha = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def mean_interval(scores, seed: int, n_boot: int = 2000, level: float = 0.95, floor=None) -> tuple[float, float, float]:
    """(estimate, low, high) of the mean over runs of ``scores`` ((runs, samples) per-sample scores) minus the mean of
    ``floor`` ((samples,), a map with no knowledge scored on the same samples): the hierarchical bootstrap (runs,
    then samples) from :data:`MIN_BOOTSTRAP_RUNS` runs on, the t interval of the run means below that."""
    s = np.atleast_2d(np.asarray(scores, np.float64))
    if len(s) >= MIN_BOOTSTRAP_RUNS and n_boot:
        return hierarchical_bootstrap(s, seed, n_boot, level, floor=floor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a run whose every sample is NaN
        runs = np.nanmean(s, axis=1)
    offset = float(np.nanmean(np.asarray(floor, np.float64))) if floor is not None else 0.0
    mean, lo, hi = t_interval(runs, level)
    return mean - offset, lo - offset, hi - offset


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
