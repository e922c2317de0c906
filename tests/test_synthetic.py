"""Synthetic box generator."""

import numpy as np
import pytest

from vanishing_saliency.errors import ConfigError
from vanishing_saliency.synthetic import check_patterns, generate_dataset, pattern_mask

EARLIER = [[{"time": [0, 30], "features": [10, 90]}]]


def test_box_values_follow_the_class():
    d = generate_dataset(EARLIER, n_time=100, n_features=100, n_train=400, n_test=100, seed=0, standardize=False)
    x, y, m = d["x_train"], d["y_train"], d["mask_train"]
    assert m[0].sum() == 30 * 80 and m[0, 0, 10] and not m[0, 30, 10] and not m[0, 0, 9]
    assert np.mean(x[y == 1][m[y == 1]]) == pytest.approx(1.0, abs=0.02)
    assert np.mean(x[y == 0][m[y == 0]]) == pytest.approx(-1.0, abs=0.02)
    assert np.mean(x[~m]) == pytest.approx(0.0, abs=0.01)
    assert np.std(x[~m]) == pytest.approx(1.0, abs=0.01)
    assert (y == 1).sum() == 200  # balanced classes


def test_seeded_and_standardised_on_train_only():
    a = generate_dataset(EARLIER, n_time=20, n_features=10, n_train=50, n_test=30, seed=3)
    b = generate_dataset(EARLIER, n_time=20, n_features=10, n_train=50, n_test=30, seed=3)
    c = generate_dataset(EARLIER, n_time=20, n_features=10, n_train=50, n_test=30, seed=4)
    assert np.array_equal(a["x_test"], b["x_test"]) and not np.array_equal(a["x_test"], c["x_test"])
    assert np.allclose(a["x_train"].mean(0), 0.0, atol=1e-5)
    assert np.allclose(a["x_train"].std(0), 1.0, atol=1e-4)
    assert not np.allclose(a["x_test"].mean(0), 0.0, atol=1e-3)


def test_mixed_patterns_are_drawn_per_sample():
    patterns = [[{"time": [0, 5], "features": [0, 5]}], [{"time": [5, 10], "features": [5, 10]}]]
    d = generate_dataset(patterns, n_time=10, n_features=10, n_train=200, n_test=10, seed=1)
    for which in (0, 1):
        sel = d["pattern_train"] == which
        assert 60 < sel.sum() < 140
        assert np.array_equal(d["mask_train"][sel][0], pattern_mask(patterns[which], 10, 10))


def test_three_boxes_mask():
    three = [
        [
            {"time": [0, 40], "features": [0, 30]},
            {"time": [0, 40], "features": [35, 65]},
            {"time": [0, 40], "features": [70, 100]},
        ]
    ]
    assert pattern_mask(three[0], 100, 100).sum() == 40 * 90


@pytest.mark.parametrize(
    "box, key", [({"time": [90, 120], "features": [0, 5]}, "time"), ({"time": [0, 5], "features": [5, 5]}, "features")]
)
def test_box_outside_the_sequence_names_the_key(box, key):
    with pytest.raises(ConfigError, match=rf"synthetic\.datasets\.late\.patterns\[0\]\[0\]\.{key}"):
        check_patterns("late", [[box]], 100, 100)
