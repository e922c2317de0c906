"""Feature drop, on/off share, maps and ground-truth scores on hand-made saliency maps with known answers."""

import numpy as np
import pytest
import torch
from torch import nn

from vanishing_saliency.hcp import analysis as A
from vanishing_saliency.hcp.geometry import area_networks
from vanishing_saliency.tables import hcp as T


def test_ranks_put_the_largest_first_and_padding_last():
    maps = np.zeros((1, 3, 2))
    maps[0, 0, 1], maps[0, 1, 0], maps[0, 2, 0] = 5.0, -7.0, 100.0  # frame 2 is padding
    ranks = A.salience_ranks(maps, [2])
    assert ranks[0, 1, 0] == 0 and ranks[0, 0, 1] == 1  # |-7| > 5
    assert set(ranks[0, 2].ravel()) == {4, 5}  # padding never counts, however large


def test_top_fraction_rounds_up_and_counts_valid_entries_only():
    maps = np.arange(2 * 10 * 4, dtype=float).reshape(2, 10, 4)
    lengths = np.array([10, 5])
    top = A.top_mask(A.salience_ranks(maps, lengths), lengths, 0.1)
    assert top[0].sum() == 4 and top[0, 9].all()  # 10 % of 40 = the last frame
    assert top[1].sum() == 2 and top[1, 4, 2:].all()  # ceil(0.1 * 20) = 2, inside the 5 frames
    assert list(A.n_removed([10, 5], 4, 0.0)) == [0, 0]


def test_drop_features_replaces_exactly_the_top_entries():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 5))
    maps = rng.random((3, 6, 5))
    lengths = np.array([6, 4, 6])
    ranks = A.salience_ranks(maps, lengths)
    out = A.drop_features(x, ranks, lengths, 0.2, baseline=-9.0)
    changed = out != x
    assert list(changed.sum((1, 2))) == [6, 4, 6]
    assert (out[changed] == -9.0).all()
    for i in range(3):  # the changed entries are the largest ones
        valid = maps[i, : lengths[i]].ravel()
        assert maps[i][changed[i]].min() >= np.sort(valid)[-changed[i].sum()]
    assert not changed[1, 4:].any()  # padding untouched


def test_random_ranks_are_seeded_permutations_of_valid_entries():
    a = A.random_ranks([4, 2], (2, 4, 3), seed=1)
    assert (a == A.random_ranks([4, 2], (2, 4, 3), seed=1)).all()
    assert not (a == A.random_ranks([4, 2], (2, 4, 3), seed=2)).all()
    assert sorted(a[1, :2].ravel()) == list(range(6))


def _on_off(n=4, on=38, off=10, areas=20):
    on_mask = np.zeros((n, on + off), bool)
    on_mask[:, :on] = True
    return np.zeros((n, on + off, areas)), np.full(n, on + off), on_mask


def test_on_share_and_buckets_with_known_answers():
    maps, lengths, on_mask = _on_off()
    maps[0, 40:48] = 1.0  # sample 0: all saliency off-task
    maps[1, :38] = 1.0  # sample 1: all on-task
    maps[2, 10:20] = 1.0  # sample 2: bucket 2 of 4 (frames 10-19)
    maps[3, 38:48, :10] = 1.0  # sample 3: 90 strong entries in bucket 4
    maps[3, 29:38, :10] = 2.0  # (frames 29-37), 100 weaker off-task
    share = A.on_share(maps, lengths, on_mask, 0.1)  # top 10 % = 96 entries
    assert share[0] == 0.0 and share[1] == 1.0 and share[2] == 1.0
    buckets = A.bucket_shares(maps, lengths, on_mask, 0.1, 4)
    assert buckets.shape == (4, 5) and np.allclose(buckets.sum(1), 1)
    assert buckets[0, 4] == 1.0
    assert buckets[2, 1] == 1.0  # array_split(38, 4): 10, 10, 9, 9 frames
    # sample 3: the 90 strong entries, then 6 of the 100 tied weaker ones
    assert buckets[3, 3] == 90 / 96 and buckets[3, 4] == 6 / 96


def test_buckets_need_the_same_on_frames_everywhere():
    maps, lengths, on_mask = _on_off()
    on_mask[1, 37] = False
    with pytest.raises(ValueError, match="same on-task frames"):
        A.bucket_shares(maps, lengths, on_mask)


def test_mean_map_scales_each_sample_and_ignores_padding():
    maps = np.zeros((2, 3, 2))
    maps[0] = [[0, 2], [4, 0], [0, 0]]
    maps[1, :2] = [[0, 10], [0, 0]]
    maps[1, 2] = 999.0  # padding of sample 1
    m = A.mean_map(maps, [3, 2])
    assert np.allclose(m[0], [0, 0.75]) and np.allclose(m[1], [0.5, 0]) and np.allclose(m[2], [0, 0])


def test_area_order_and_precision():
    names = ["L_a", "L_b", "R_a", "R_b", "L_c"]
    nets = ["Visual", "Default", "Default", "Visual", "Default"]
    assert list(A.area_order(names, nets)) == [1, 4, 0, 2, 3]
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.0])
    assert A.precision_at_k(scores, [0, 3]) == 0.5
    assert A.precision_at_k(scores, [0, 2, 3]) == 1.0


def test_area_network_is_the_majority_label():
    class Net:
        map_all = np.r_[np.array([1, 1, 2, 2, 2, 0]), np.zeros(59412 - 6, int)]
        labels = {0: "", 1: "Visual", 2: "Default"}

    labels = np.zeros(91282, int)
    labels[:6] = [1, 1, 1, 2, 2, 2]
    labels[6:59412] = np.arange(3, 361).repeat(-(-(59412 - 6) // 358))[: 59412 - 6]
    nets = area_networks(labels, Net)
    assert nets[0] == "Visual" and nets[1] == "Default"  # area 2: one Visual, two Default/unassigned


class FirstEntryModel(nn.Module):
    """Class 1 iff x[:, 0, 0] > 0: only one entry of each sample matters."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x, lengths):
        return torch.stack([torch.zeros(len(x)), self.w * x[:, 0, 0]], 1)


def test_feature_drop_with_a_known_model():
    n, t, f = 40, 5, 4
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, t, f))
    x[:, 0, 0] = np.where(y == 1, 1.0, -1.0)
    lengths = np.full(n, t)
    right = np.zeros((n, t, f))
    right[:, 0, 0] = 1.0  # saliency on the one entry that matters
    wrong = np.zeros((n, t, f))
    wrong[:, 4, :] = 1.0  # saliency on entries the model ignores
    models = {"good": FirstEntryModel().double(), "bad": FirstEntryModel().double()}
    subjects = np.where(np.arange(n) < 20, "100307", "100408")
    table, per_subject = A.feature_drop_table(
        models,
        {"good": right, "bad": wrong},
        {"x": x, "y": y, "lengths": lengths, "subjects": subjects},
        [0.0, 0.05, 0.2],
        baseline=0.0,
        seed=0,
        untrained_maps={"good": wrong},
        random_draws=20,
        claim_fraction=0.05,
    )
    by_subject = per_subject.set_index(["target", "source", "kind", "fraction", "subject"])
    assert (by_subject.n_samples == 20).all()
    assert (
        by_subject.accuracy["good", "good", "own", 0.05, "100408"] == 0.5
    )  # every class-1 sample of each subject flips
    at = table[table.kind != "untrained"].set_index(["target", "source", "fraction"]).accuracy
    assert at["good", "good", 0.0] == 1.0
    assert at["good", "good", 0.05] == 0.5  # x[0,0] -> 0: every class-1 sample flips
    assert at["bad", "bad", 0.2] == 1.0  # its own "salient" entries do not matter
    assert at["bad", "good", 0.05] == 0.5  # the other model's features do
    assert set(table.kind) == {"own", "cross", "random", "untrained"}
    # the drop as a share of the headroom above chance (here 1.0 - 0.5): all of it
    own = table[(table.target == "good") & (table.kind == "own") & (table.fraction == 0.05)].iloc[0]
    assert own.headroom == 0.5 and own.relative_drop == 1.0
    # the untrained map (on the ignored entries) costs nothing, and only at the claims' fraction
    floor = table[table.kind == "untrained"]
    assert set(floor.fraction) == {0.05} and (floor[floor.target == "good"]["drop"] == 0).all()
    # random orders: averaged over 20 draws; 5 % of 20 entries is one entry, x[0, 0] in 1 of 20 orders
    rand = table[(table.kind == "random") & (table.target == "good") & (table.fraction == 0.05)].iloc[0]
    assert rand.draws == 20 and 0 < rand["drop"] < 0.2
    assert set(table[(table.kind == "random") & (table.fraction == 0.2)].draws) == {5}  # the curve's other points


def test_accuracy_binomial_test_against_chance():
    y = np.arange(100) % 2
    sidecars = []
    for seed, correct in ((0, 52), (1, 90)):
        pred = y.copy()
        pred[correct:] = 1 - pred[correct:]  # the first `correct` predictions are right
        sidecars.append(
            {
                "architecture": "lstm",
                "seed": 100 + seed,
                "replicate": seed,
                "test_accuracy": correct / 100,
                "n_test": 100,
                "n_test_correct": correct,
                "test_chance": 0.5,
                "val_accuracy": 1,
                "train_accuracy": 1,
                "epochs_run": 3,
                "test_predictions": pred.tolist(),
            }
        )
    majority = {"length": np.ones(100, dtype=int)}  # a control that always says class 1
    table = T.accuracy_table(sidecars, "off_task", y, majority, permutations=200, seed=0)
    runs = table[table.run == "seed0"]
    assert list(runs.above_chance) == [False, True]
    assert list(runs.above_null) == [False, True]
    assert runs.binomial_p.iloc[0] > 0.3 and runs.p_perm.iloc[1] < 0.01
    assert (runs.null_lo < 0.5).all() and (runs.null_hi > 0.5).all()
    control = table[table.run == "logistic control"].iloc[0]
    assert control.model == "length_only" and control.test_accuracy == 0.5 and not control.above_null
    # the gate of every claim: every run above its own null; one at chance (52 %) and one learned (90 %) do not make
    # a learned model, although their mean (71 %) is far above the null of a mean
    assert (runs.group_runs == 2).all() and (runs.group_runs_above == 1).all() and not runs.group_learned.any()
    md = T.accuracy_markdown(table, "off_task")
    assert "| LSTM | 2 | 71.0 ± 26.9 | 50.0 | seed0 52.0 (null up to" in md and "| 1 of 2 | no |" in md


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.1, 0.37, 1.0])
def test_top_entries_equal_the_stable_ranking(fraction):
    """top_entries (a partition at the k-th largest value) keeps exactly the entries the full stable ranking
    keeps, ties included (maps with many equal values, padding, a zero-length sample)."""
    rng = np.random.default_rng(int(fraction * 100))
    maps = rng.integers(0, 4, (6, 9, 5)).astype(float) * rng.choice([-1, 1], (6, 9, 5))  # many ties
    lengths = np.array([9, 4, 1, 9, 7, 0])
    want = A.top_mask(A.salience_ranks(maps, lengths), lengths, fraction)
    assert np.array_equal(A.top_entries(maps, lengths, fraction), want)


def test_control_runs_follow_what_the_claims_read():
    from vanishing_saliency.claims.hcp import INPUTCELL, LSTM
    from vanishing_saliency.plan import control_runs

    controls = ["permuted", "untrained", "timeshuffled"]
    # the LSTM's and input-cell attention's permuted and untrained runs are the replicates 6a / 6b / 6c / 6d compare
    # against on an on_off experiment: one per seed
    for model in (LSTM, INPUTCELL):
        runs = control_runs(controls, 3, "on_off", model)
        assert runs == [*(f"permuted{k}" for k in range(3)), *(f"untrained{k}" for k in range(3)), "timeshuffled0"]
    # no claim reads the Bi-LSTM's or self-attention's controls, nor any control of the other experiments: one run
    for model, kind in [("bilstm", "on_off"), ("lstm_selfattn", "on_off"), (LSTM, "on_task"), (INPUTCELL, "off_task")]:
        assert control_runs(controls, 3, kind, model) == ["permuted0", "untrained0", "timeshuffled0"]
    # control_runs: all gives every control of every model as many runs as seeds
    assert len(control_runs(controls, 3, "on_task", "bilstm", "all")) == 9
    assert control_runs(["untrained"], 2, "on_off", LSTM) == ["untrained0", "untrained1"]
