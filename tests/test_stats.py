"""Run-level statistics (vanishing_saliency.stats): the tests the verdicts use, checked on simulated nulls and
known answers."""

import numpy as np
import pytest
from scipy import stats as sps

from vanishing_saliency.hcp.controls import permutation_null as one_run_null
from vanishing_saliency.stats import (
    change,
    change_difference,
    change_equivalence,
    equivalence,
    hierarchical_bootstrap,
    hierarchical_bootstrap_change,
    holm,
    one_sample,
    paired,
    permutation_null,
    two_sample,
)


def _cohort(rng, n_runs, n_subjects, run_sd, subject_effects, noise_sd=0.3):
    """(runs, subjects) per-subject shares: the subjects' own levels, one offset per run, measurement noise."""
    return subject_effects[None, :] + rng.normal(0, run_sd, (n_runs, 1)) + rng.normal(0, noise_sd, (n_runs, n_subjects))


@pytest.mark.parametrize("run_sd, control_sd", [(0.1, 0.1), (0.33, 0.33), (0.67, 0.67), (0.33, 1.0)])
def test_the_run_level_test_holds_its_false_positive_rate_where_subjects_as_units_do_not(run_sd, control_sd):
    # SPEC section 10: 10 subjects, 3 trained runs against 3 control runs, no true difference; the subject spread is 1
    rng = np.random.default_rng(0)
    reps, alpha = 2000, 0.05
    by_runs = by_subjects = 0
    for _ in range(reps):
        subjects = rng.normal(0, 1, 10)
        trained = _cohort(rng, 3, 10, run_sd, subjects)
        control = _cohort(rng, 3, 10, control_sd, subjects)
        by_runs += two_sample(trained.mean(1), control.mean(1), 1).p <= alpha
        diff = trained.mean(0) - control.mean(0)  # the old design: per-subject means compared over subjects
        by_subjects += sps.ttest_1samp(diff, 0, alternative="greater").pvalue <= alpha
    rate_runs, rate_subjects = by_runs / reps, by_subjects / reps
    assert 0.02 <= rate_runs <= 0.07, rate_runs
    assert rate_subjects > 0.10, rate_subjects  # 12-47 %: every subject shares its run's offset


def test_the_run_level_test_has_power_for_a_real_difference():
    rng = np.random.default_rng(1)
    hits = sum(two_sample(rng.normal(1.0, 0.2, 3), rng.normal(0.0, 0.2, 3), 1).p <= 0.05 for _ in range(500))
    assert hits / 500 > 0.9


def test_two_sample_is_welchs_t_test_and_reports_its_smallest_detectable_difference():
    a, b = np.array([0.9, 0.8, 0.85]), np.array([0.5, 0.55, 0.7])
    r = two_sample(a, b, 1)
    ref = sps.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert r.p == pytest.approx(ref.pvalue) and r.df == pytest.approx(ref.df)
    lo, hi = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (r.lo, r.hi) == pytest.approx((lo, hi))
    assert r.p + r.p_opposite == pytest.approx(1) and r.diff == pytest.approx(a.mean() - b.mean())
    # the claim direction flips the p-values, not the difference
    assert two_sample(a, b, -1).p == pytest.approx(r.p_opposite)
    # the design detects (80 % power, one-sided 5 %) a difference of (t_.95 + t_.80) standard errors
    se = np.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 3)
    assert r.mde == pytest.approx((sps.t.ppf(0.95, r.df) + sps.t.ppf(0.8, r.df)) * se)


def test_fewer_than_two_runs_cannot_be_tested():
    assert not two_sample([0.9], [0.5, 0.6]).computable
    assert not one_sample([0.9], 0.5).computable
    assert not equivalence([0.5], 0.5, 0.1).computable
    assert not change({0: [0.1], 10: [0.5, 0.6]}).computable
    assert two_sample([0.9, 0.8], [0.5, 0.6]).computable


def test_runs_without_spread_give_an_exact_answer():
    assert two_sample([1.0, 1.0], [0.5, 0.5], 1).p == 0.0
    assert two_sample([0.5, 0.5], [0.5, 0.5], 1).p == 1.0
    assert one_sample([0.8, 0.8], 0.79, 1).p == 0.0


def test_paired_tests_the_per_run_differences():
    a, b = np.array([0.9, 0.8, 0.7]), np.array([0.85, 0.72, 0.66])
    r = paired(a, b, 1)
    assert r.p == pytest.approx(sps.ttest_rel(a, b, alternative="greater").pvalue)
    assert (r.value, r.compared_with) == pytest.approx((a.mean(), b.mean()))


def test_equivalence_is_two_one_sided_tests_and_knows_when_it_is_underpowered():
    from statsmodels.stats.weightstats import DescrStatsW

    inside = np.array([0.51, 0.49, 0.50, 0.52])
    r = equivalence(inside, 0.5, 0.1)
    assert r.p == pytest.approx(DescrStatsW(inside).ttost_mean(0.4, 0.6)[0]) and r.p < 0.01
    assert not r.underpowered and r.lo > -0.1 and r.hi < 0.1
    far = equivalence(np.array([0.9, 0.92, 0.88]), 0.5, 0.1)
    assert far.p > 0.99 and far.p_opposite < 0.01 and not far.underpowered
    wide = equivalence(np.array([0.2, 0.8, 0.5]), 0.5, 0.1)  # centred on chance, but 3 runs this spread say nothing
    assert wide.underpowered and wide.p > 0.05


def test_change_is_the_ols_line_through_every_run():
    runs = {0: [0.1, 0.12, 0.08], 20: [0.5, 0.52, 0.48], 40: [0.9, 0.92, 0.88]}
    r = change(runs, 1)
    assert r.value == pytest.approx(0.8) and r.p < 1e-4 and r.n == 9
    flat = {0: [0.80, 0.82, 0.78], 20: [0.81, 0.79, 0.80], 40: [0.80, 0.81, 0.79]}
    assert change_equivalence(flat, 0.05).p < 0.01
    assert change_equivalence(runs, 0.05).p > 0.99
    same = {k: [v + 0.3 for v in vs] for k, vs in runs.items()}  # the same rise, higher up: no difference of changes
    d = change_difference(same, runs, 1)
    assert d.diff == pytest.approx(0.0, abs=1e-12) and d.p > 0.4
    steeper = change_difference({k: [2 * v for v in vs] for k, vs in runs.items()}, runs, 1)
    assert steeper.diff == pytest.approx(0.8) and steeper.p < 1e-4


def test_holm_adjusts_like_statsmodels_and_skips_tests_that_could_not_be_run():
    p = holm([0.01, np.nan, 0.04, 0.03])
    assert np.isnan(p[1])
    assert p[[0, 2, 3]] == pytest.approx([0.03, 0.06, 0.06])


def test_the_permutation_null_of_one_run_is_the_old_one_and_averaging_runs_tightens_it():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    pred = np.where(rng.random(200) < 0.6, y, 1 - y)
    assert permutation_null(pred, y, 500, 7) == one_run_null(pred, y, 500, 7)
    # three runs at 56 % each: one is not above its null, their mean is
    runs = np.stack([np.where(rng.random(200) < 0.56, y, 1 - y) for _ in range(3)])
    mean = permutation_null(runs, y, 1000, 7)
    assert mean["null_hi"] - mean["null_lo"] < one_run_null(runs[0], y, 1000, 7)["null_hi"] - 0.4
    # a model with no knowledge: predictions that ignore the labels stay within their null
    no_knowledge = [permutation_null(rng.integers(0, 2, (3, 200)), y, 300, k)["p_perm"] for k in range(40)]
    assert np.mean(np.array(no_knowledge) <= 0.05) <= 0.15


def test_the_hierarchical_bootstrap_carries_the_spread_between_runs():
    rng = np.random.default_rng(4)
    samples = rng.normal(0, 0.3, 300)
    scores = samples[None, :] + rng.normal(0, 0.5, (3, 1)) + rng.normal(0, 0.1, (3, 300))
    est, lo, hi = hierarchical_bootstrap(scores, 0, 2000)
    assert lo < est < hi and est == pytest.approx(scores.mean())
    # resampling samples alone (of the run mean) is far narrower: it forgets that the runs disagree
    flat = np.quantile([scores.mean(0)[rng.integers(0, 300, 300)].mean() for _ in range(2000)], [0.025, 0.975])
    assert (hi - lo) > 3 * (flat[1] - flat[0])
    # paired by sample with a floor: the difference of means; the samples' shared part cancels
    est2, lo2, hi2 = hierarchical_bootstrap(scores, 0, 2000, floor=samples)
    assert est2 == pytest.approx(scores.mean() - samples.mean()) and lo2 < est2 < hi2


def test_the_hierarchical_bootstrap_of_a_change_covers_it():
    rng = np.random.default_rng(5)
    by_position = {p: 0.01 * p + rng.normal(0, 0.02, (3, 1)) + rng.normal(0, 0.1, (3, 100)) for p in (0, 20, 40)}
    est, lo, hi = hierarchical_bootstrap_change(by_position, 0, 1000)
    assert lo < 0.4 < hi and lo < est < hi
    same, lo2, hi2 = hierarchical_bootstrap_change(by_position, 0, 1000, other_by_position=by_position)
    assert same == pytest.approx(0.0) and lo2 < 0 < hi2
