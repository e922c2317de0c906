"""Run-level statistics (vanishing_saliency.stats): the tests the verdicts use, checked on simulated nulls and
known answers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from vanishing_saliency.stats import (
    MIN_BOOTSTRAP_RUNS,
    change,
    change_difference,
    change_equivalence,
    detectable,
    equivalence,
    hierarchical_bootstrap,
    hierarchical_bootstrap_change,
    holm,
    learned,
    mean_interval,
    one_sample,
    paired,
    paired_equivalence,
    permutation_null,
    runs_needed,
    t_interval,
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


def test_runs_without_spread_are_not_evidence():
    # identical runs have no run-to-run spread to test against: no p-value, and the reason, never p = 0
    for r in (
        one_sample([0.5] * 3, 0.5001, 1),
        one_sample([0.8, 0.8], 0.79, 1),
        two_sample([1.0, 1.0], [0.5, 0.5], 1),
        paired([0.6, 0.7], [0.5, 0.6], 1),
        equivalence([0.5, 0.5, 0.5], 0.5, 0.1),
        change({0: [0.2, 0.2], 10: [0.4, 0.4]}),
    ):
        assert not r.computable and np.isnan(r.p) and "identical" in r.note, r
    # one side without spread is fine: Welch's error comes from the other
    assert two_sample([0.9, 0.8, 0.85], [0.5, 0.5, 0.5], 1).p < 0.01


def test_runs_whose_value_is_nan_are_named_where_they_are_left_out():
    runs = pd.Series([0.9, np.nan, 0.85, 0.8], index=["seed0", "seed1", "seed2", "seed3"])
    r = one_sample(runs, 0.5, 1)
    assert r.n == 3 and r.dropped == ("seed1",)
    r = two_sample(runs, pd.Series([0.5, 0.6, np.nan], index=["untrained0", "untrained1", "untrained2"]), 1)
    assert r.dropped == ("seed1", "untrained2") and (r.n, r.n_other) == (3, 2)
    assert paired(runs, runs - 0.1, 1).dropped == ("seed1",)
    assert change({0: runs, 10: runs + 0.1}).dropped == ("seed1 at 0", "seed1 at 10")
    assert one_sample([0.9, np.nan, 0.8], 0.5).dropped == ("run 1",)


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


def test_paired_equivalence_tests_the_per_run_differences_and_reports_both_means():
    from statsmodels.stats.weightstats import ttost_paired

    a = pd.Series([0.91, np.nan, 0.88, 0.93], index=["seed0", "seed1", "seed2", "seed3"])
    b = pd.Series([0.90, 0.7, 0.86, 0.935], index=a.index)
    r = paired_equivalence(a, b, 0.05)
    keep = a.notna()
    assert r.p == pytest.approx(ttost_paired(a[keep].to_numpy(), b[keep].to_numpy(), -0.05, 0.05)[0])
    assert (r.value, r.compared_with) == pytest.approx((a[keep].mean(), b[keep].mean()))
    assert r.equivalence and r.dropped == ("seed1",) and r.p < 0.05
    assert paired_equivalence(a, b + 0.3, 0.05).p_opposite < 0.01  # a clear departure beyond the margin


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


def test_the_permutation_null_of_one_run_and_of_runs_averaged():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    pred = np.where(rng.random(200) < 0.6, y, 1 - y)
    one = permutation_null(pred, y, 500, 7)
    assert one == permutation_null(pred[None, :], y, 500, 7) and one["accuracy"] == pytest.approx((pred == y).mean())
    # three runs at 56 % each: one is not above its null, their mean is
    runs = np.stack([np.where(rng.random(200) < 0.56, y, 1 - y) for _ in range(3)])
    mean = permutation_null(runs, y, 1000, 7)
    assert mean["null_hi"] - mean["null_lo"] < permutation_null(runs[0], y, 1000, 7)["null_hi"] - 0.4
    # a model with no knowledge: predictions that ignore the labels stay within their null
    no_knowledge = [permutation_null(rng.integers(0, 2, (3, 200)), y, 300, k)["p_perm"] for k in range(40)]
    assert np.mean(np.array(no_knowledge) <= 0.05) <= 0.15


def test_the_gate_needs_every_run_above_its_null_where_the_pooled_null_does_not():
    # one learned run and two at chance: their mean accuracy is above the null of that mean, yet the model did not
    # learn; the gate every claim reads asks each run
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 300)
    runs = np.stack([y, rng.integers(0, 2, 300), rng.integers(0, 2, 300)])
    assert permutation_null(runs, y, 1000, 1)["p_perm"] <= 0.001
    above = [permutation_null(r, y, 1000, k)["p_perm"] <= 0.05 for k, r in enumerate(runs)]
    assert above[0] and not learned(above)
    assert learned([True, True, True]) and not learned([])


def test_holm_detectable_difference_is_the_one_at_holms_first_step():
    a, b = np.array([0.60, 0.62, 0.58]), np.array([0.50, 0.51, 0.49])
    r = two_sample(a, b, 1)
    # one test: two-sided 5 %, so one-sided 2.5 % (a claim is decided both ways); ten tests: 0.25 %
    for tests in (1, 10, 30):
        crit = sps.t.ppf(1 - 0.05 / (2 * tests), r.df) + sps.t.ppf(0.8, r.df)
        assert detectable(r, tests, 0.05) == pytest.approx(crit * r.se)
    assert detectable(r, 30) > 3 * detectable(r, 1) / 2 > r.mde
    # an equivalence test's two one-sided tests at alpha / tests, power for a true difference of 0
    e = equivalence(np.array([0.51, 0.49, 0.50, 0.52]), 0.5, 0.1)
    crit = sps.t.ppf(1 - 0.05 / 4, 3) + sps.t.ppf(0.9, 3)
    assert detectable(e, 4, 0.05) == pytest.approx(crit * e.se)
    assert np.isnan(detectable(one_sample([0.5], 0.4)))


def test_runs_needed_gives_the_planned_power_in_simulation():
    # planned from 3 + 3 runs at sd 0.02 for a 0.04 difference at Holm's first step over 6 tests ...
    rng = np.random.default_rng(11)
    pilot = two_sample(rng.normal(0.04, 0.02, 3), rng.normal(0.0, 0.02, 3), 1)
    sd_a, sd_b = pilot.design[1:]
    n = runs_needed(pilot, 0.04, tests=6)
    assert n is not None and n > 3
    assert runs_needed(pilot, 0.04, tests=6) >= runs_needed(pilot, 0.04, tests=1)
    assert runs_needed(pilot, 0.08, tests=6) < n

    # ... those runs, drawn at the pilot's spreads, detect it about 80 % of the time (and n - 2 clearly less)
    def power(k):
        hits = 0
        for _ in range(1000):
            r = two_sample(rng.normal(0.04, sd_a, k), rng.normal(0.0, sd_b, k), 1)
            hits += min(1.0, 2 * min(r.p, r.p_opposite)) * 6 <= 0.05 and r.diff > 0
        return hits / 1000

    assert 0.75 <= power(n) <= 0.9 and power(max(2, n - 2)) < 0.75
    # one-sample and paired designs plan on the sd of the runs (or of their differences)
    tight, loose = one_sample([0.52, 0.55, 0.50], 0.5), one_sample([0.52, 0.65, 0.40], 0.5)
    assert runs_needed(tight, 0.05) < runs_needed(loose, 0.05)
    # an equivalence is planned for its margin; a test that could not be computed is not plannable
    assert runs_needed(equivalence([0.50, 0.53, 0.47], 0.5, 0.05), 0.05) > 3
    assert runs_needed(one_sample([0.5], 0.4), 0.05) is None


def test_a_bootstrap_over_few_runs_is_anti_conservative_and_the_tables_use_t_until_enough_runs():
    # a true null: runs scatter around the floor (a noise map scored on the same samples); how often the 95 %
    # interval of (cell - floor) excludes 0
    def rates(n_runs, reps):
        rng = np.random.default_rng(n_runs)
        boot = t = 0
        for k in range(reps):
            sample = rng.normal(0, 0.1, 100)
            scores = sample[None] + rng.normal(0, 0.02, (n_runs, 1)) + rng.normal(0, 0.01, (n_runs, 100))
            floor = sample + rng.normal(0, 0.01, 100)
            _, lo, hi = hierarchical_bootstrap(scores, k, 1000, 0.95, floor=floor)
            boot += lo > 0 or hi < 0
            _, lo, hi = mean_interval(scores, k, 1000, 0.95, floor=floor)
            t += lo > 0 or hi < 0
        return boot / reps, t / reps

    boot3, t3 = rates(3, 600)
    assert boot3 > 0.15 and t3 <= 0.07  # 3 runs: the bootstrap is far too narrow, the t interval holds
    boot, _ = rates(MIN_BOOTSTRAP_RUNS, 600)
    assert boot <= 0.085  # from MIN_BOOTSTRAP_RUNS on, mean_interval may take the bootstrap
    assert t_interval([0.5, 0.6, 0.55])[1] < 0.55 < t_interval([0.5, 0.6, 0.55])[2]


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
