"""Metrics on hand-made maps whose answers are known."""

import numpy as np
import pytest

from vanishing_saliency.metrics import at_chance, euclidean, minmax_scale, saliency_scores, weighted_jaccard


def test_perfect_map_scores_one_and_zero():
    mask = np.zeros((1, 4, 5), bool)
    mask[0, 1:3, 2:4] = True
    maps = np.where(mask, -7.0, 0.0)          # sign is ignored: |R|
    s = saliency_scores(maps, mask)
    assert s["wjac"][0] == pytest.approx(1.0)
    assert s["euc"][0] == pytest.approx(0.0)


def test_known_values_of_a_half_right_map():
    # 2 box cells, 2 outside; saliency 1 on one box cell and one outside cell, 0 elsewhere
    ref = np.array([[1.0, 1.0, 0.0, 0.0]])
    s = np.array([[1.0, 0.0, 1.0, 0.0]])
    assert weighted_jaccard(ref, s)[0] == pytest.approx(1 / 3)        # min sums to 1, max to 3
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
    assert np.all(s[1] == 0.0)                                          # constant map: nothing salient


def test_zero_saliency_gives_zero_jaccard_and_unit_euclidean():
    mask = np.zeros((2, 3, 3), bool)
    mask[:, 0] = True
    s = saliency_scores(np.zeros((2, 3, 3)), mask)
    assert np.all(s["wjac"] == 0.0)
    assert np.allclose(s["euc"], 1.0)


def test_chance_flag():
    assert at_chance(0.5, 300)
    assert at_chance(0.53, 300)              # 159/300 is not significant
    assert not at_chance(0.6, 300)
    assert not at_chance(1.0, 20)
