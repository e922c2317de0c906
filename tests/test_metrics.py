"""Metrics on hand-made maps whose answers are known."""

import numpy as np
import pytest

from vanishing_saliency.metrics import (
    all_scores,
    area_under_precision_recall,
    auroc,
    average_precision,
    euclidean,
    minmax_scale,
    noise_maps,
    saliency_scores,
    weighted_jaccard,
)
from vanishing_saliency.stats import at_chance, bootstrap_mean_ci


def test_perfect_map_scores_one_and_zero():
    mask = np.zeros((1, 4, 5), bool)
    mask[0, 1:3, 2:4] = True
    maps = np.where(mask, -7.0, 0.0)  # sign is ignored: |R|
    s = saliency_scores(maps, mask)
    assert s["wjac"][0] == pytest.approx(1.0)
    assert s["euc"][0] == pytest.approx(0.0)


def test_known_values_of_a_half_right_map():
    # 2 box cells, 2 outside; saliency 1 on one box cell and one outside cell, 0 elsewhere
    ref = np.array([[1.0, 1.0, 0.0, 0.0]])
    s = np.array([[1.0, 0.0, 1.0, 0.0]])
    assert weighted_jaccard(ref, s)[0] == pytest.approx(1 / 3)  # min sums to 1, max to 3
    assert euclidean(ref, s)[0] == pytest.approx(np.sqrt(2) / np.sqrt(2))


def test_graded_map():
    ref = np.array([[1.0, 1.0, 0.0, 0.0]])
    s = np.array([[0.5, 1.0, 0.25, 0.0]])
    assert weighted_jaccard(ref, s)[0] == pytest.approx(1.5 / 2.25)
    assert euclidean(ref, s)[0] == pytest.approx(np.sqrt(0.25 + 0.0625) / np.sqrt(2))


def test_minmax_is_per_sample_over_all_entries():
    maps = np.array([[[2.0, 4.0], [-6.0, 3.0]], [[1.0, 1.0], [1.0, 1.0]]])
    s = minmax_scale(maps)
    assert np.allclose(s[0], [[0.0, 0.5], [1.0, 0.25]])
    assert np.all(s[1] == 0.0)  # constant map: nothing salient


def test_zero_saliency_gives_zero_jaccard_and_unit_euclidean():
    mask = np.zeros((2, 3, 3), bool)
    mask[:, 0] = True
    s = saliency_scores(np.zeros((2, 3, 3)), mask)
    assert np.all(s["wjac"] == 0.0)
    assert np.allclose(s["euc"], 1.0)


def test_chance_flag():
    assert at_chance(0.5, 300)
    assert at_chance(0.53, 300)  # 159/300 is not significant
    assert not at_chance(0.6, 300)
    assert not at_chance(1.0, 20)


# ---- calibrated metrics: AUROC, average precision, AUP / AUR, noise floor, bootstrap -----------------


def _box(n=1, t=20, f=10):
    m = np.zeros((n, t, f), bool)
    m[:, :5, :4] = True  # 20 of 200 entries: share 0.1
    return m


def test_calibrated_metrics_of_perfect_inverted_and_constant_maps():
    m = _box()
    perfect, inverted, constant = all_scores(m * 2.0, m), all_scores(~m * 2.0, m), all_scores(np.ones(m.shape), m)
    for key in ("auroc", "ap", "aup", "aur"):
        assert perfect[key][0] == pytest.approx(1.0), key
    assert inverted["auroc"][0] == pytest.approx(0.0) and inverted["aup"][0] == 0 and inverted["aur"][0] == 0
    assert inverted["ap"][0] == pytest.approx(0.1)  # everything selected at the last threshold
    assert constant["auroc"][0] == pytest.approx(0.5)  # a map with no knowledge
    assert constant["ap"][0] == pytest.approx(0.1) and constant["aup"][0] == 0 and constant["aur"][0] == 0


def test_noise_maps_score_the_floor():
    m = _box(200, 30, 20)
    noise = all_scores(noise_maps(m.shape, 0), m)
    assert np.mean(noise["auroc"]) == pytest.approx(0.5, abs=0.02)
    assert np.mean(noise["ap"]) == pytest.approx(m[0].mean(), abs=0.02)  # the box's share of the entries
    uniform = np.random.default_rng(1).random(m.shape)
    aup, aur = area_under_precision_recall(uniform, m)
    assert np.mean(aup) == pytest.approx(m[0].mean(), abs=0.02) and np.mean(aur) == pytest.approx(0.5, abs=0.02)
    # the paper's WJac floor on an Earlier-like box (SPEC section 10): ~0.12 for pure noise
    earlier = np.zeros((50, 100, 100), bool)
    earlier[:, :30, 10:90] = True
    assert np.mean(all_scores(noise_maps(earlier.shape, 2), earlier)["wjac"]) == pytest.approx(0.122, abs=0.005)


def test_graded_map_known_values():
    # 4 entries, 2 true; scores 3 (true), 2 (false), 1 (true), 0 (false)
    maps = np.array([[3.0, 2.0, 1.0, 0.0]])
    truth = np.array([[True, False, True, False]])
    assert auroc(maps, truth)[0] == pytest.approx(0.75)  # 3 of 4 (true, false) pairs in order
    assert average_precision(maps, truth)[0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    aup, aur = area_under_precision_recall(maps, truth)  # scaled: 1, 2/3, 1/3, 0
    assert aup[0] == pytest.approx((1 / 3) * (2 / 3) + (1 / 3) * (1 / 2) + (1 / 3) * 1)
    assert aur[0] == pytest.approx((1 / 3) * 1 + (1 / 3) * (1 / 2) + (1 / 3) * (1 / 2))
    ties = np.array([[1.0, 1.0, 0.0, 0.0]])
    assert auroc(ties, np.array([[True, False, True, False]]))[0] == pytest.approx(0.5)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = rng.normal(1.0, 1.0, 30), rng.normal(1.0, 1.0, 3000)
    m, lo, hi = bootstrap_mean_ci(small, seed=1)
    assert lo < m < hi and lo < 1.0 < hi
    _, lo2, hi2 = bootstrap_mean_ci(large, seed=1)
    assert hi2 - lo2 < (hi - lo) / 5
    assert bootstrap_mean_ci(small, seed=1) == bootstrap_mean_ci(small, seed=1)


def test_auroc_is_the_mann_whitney_u_of_average_ranks_exactly():
    """The integer tie-group count gives exactly what average ranks give (scipy's rankdata, the
    definition), ties, constant maps, empty and full masks and non-finite maps included."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(4)
    maps = np.round(rng.standard_normal((40, 6, 50)), 1)  # many ties
    maps[:3] = 0.0  # constant maps
    maps[3, 0, 0] = np.nan
    masks = rng.random((40, 6, 50)) < rng.uniform(0.05, 0.95, (40, 1, 1))
    masks[4], masks[5] = False, True
    a, m = np.abs(maps).reshape(40, -1), masks.reshape(40, -1)
    n_pos = m.sum(1)
    u = (rankdata(a, axis=1) * m).sum(1) - n_pos * (n_pos + 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = u / (n_pos * (m.shape[1] - n_pos))
    got = auroc(maps, masks)
    assert np.isnan(got[[3, 4, 5]]).all()
    keep = np.setdiff1d(np.arange(40), [3, 4, 5])
    assert np.array_equal(got[keep], expected[keep])  # bit for bit, not approximately
    assert np.allclose(got[:3], 0.5)


def test_pooled_aup_aur_match_time_interpret_and_sklearn():
    """time-interpret's own aup / aur (the tint extra, which make venv installs) and its definition written with
    scikit-learn (per-sample (a - min) / (max - min + 1e-5), the batch pooled, precision_recall_curve integrated
    over its thresholds by auc) to 1e-9, with ties and signed maps."""
    import torch
    from sklearn.metrics import auc, precision_recall_curve
    from tint.metrics.white_box import aup as tint_aup
    from tint.metrics.white_box import aur as tint_aur

    from vanishing_saliency.metrics import pooled_aup_aur

    rng = np.random.default_rng(3)
    for maps in (rng.normal(size=(7, 20, 6)), np.round(rng.random((7, 20, 6)) * 8) / 8):  # ties: 9 levels
        masks = rng.random(maps.shape) < 0.2
        masks[:, 5:9, 1:4] = True
        maps = maps + 2.0 * masks  # some knowledge
        a = maps.reshape(7, -1)
        low = a.min(1, keepdims=True)
        scaled = (a - low) / (a.max(1, keepdims=True) - low + 1e-5)
        precision, recall, thresholds = precision_recall_curve(masks.reshape(-1), scaled.reshape(-1))
        aup, aur = pooled_aup_aur(maps, masks)
        assert abs(aup - auc(thresholds, precision[:-1])) < 1e-9
        assert abs(aur - auc(thresholds, recall[:-1])) < 1e-9
        truth = torch.tensor(masks, dtype=torch.float64)
        assert abs(aup - tint_aup(torch.tensor(maps), truth)) < 1e-9
        assert abs(aur - tint_aur(torch.tensor(maps), truth)) < 1e-9
    # on non-negative maps (what the definition is for), a map that knows nothing scores below an informed one
    noise = np.abs(rng.normal(size=(7, 20, 6)))
    informed = noise + 2.0 * masks
    assert all(n < i for n, i in zip(pooled_aup_aur(noise, masks), pooled_aup_aur(informed, masks), strict=True))
    assert np.isnan(pooled_aup_aur(maps, np.zeros_like(masks))).all()
    assert pooled_aup_aur(np.ones((2, 3)), np.eye(2, 3, dtype=bool)) == (0.0, 0.0)  # one threshold: tint's 0
    # float32 maps are scaled in float32, as tint does: the same thresholds, the same areas
    maps32 = informed.astype(np.float32)
    truth = torch.tensor(masks, dtype=torch.float32)
    ours = pooled_aup_aur(maps32, masks)
    assert abs(ours[0] - tint_aup(torch.tensor(maps32), truth)) < 1e-9
    assert abs(ours[1] - tint_aur(torch.tensor(maps32), truth)) < 1e-9
