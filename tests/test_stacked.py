"""Seeds trained together (vanishing_saliency.stacked): each seed as if it had trained alone."""

import numpy as np
import pytest
import torch

from vanishing_saliency.models import REGISTRY, ModelConfig, build_model
from vanishing_saliency.stacked import StackedClassifier, train_stacked
from vanishing_saliency.synthetic import generate_dataset
from vanishing_saliency.training import TrainConfig, evaluate, train_model

BOX = [[{"time": [2, 6], "features": [0, 3]}]]


def _data(lengths: bool):
    d = generate_dataset(BOX, n_time=14, n_features=7, n_train=160, n_test=60, seed=1)
    if lengths:  # variable lengths (the HCP blocks'): padding after each sequence's end
        rng = np.random.default_rng(2)
        d["lengths_train"] = rng.integers(8, 15, len(d["y_train"]))
        d["lengths_test"] = rng.integers(8, 15, len(d["y_test"]))
    return d


# The bias of input-cell attention's W2 adds one constant to a hop's scores at every step, which its softmax over
# the steps cancels: its true gradient is 0 and what autograd returns is rounding noise, which Adam scales to steps of
# the learning rate's size in either implementation.  It changes no output; every other weight is compared.
NO_EFFECT = {"attention.w2.bias"}


def _weights_close(a, b, tol):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max((sa[k] - sb[k]).abs().max().item() for k in sa if k not in NO_EFFECT) < tol


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_stacked_seed_is_the_seed_trained_alone(name):
    d = _data(lengths=True)
    cfg = ModelConfig(n_features=7, hidden=4, r=3, d_a=5, selfattn_form="lin2017", selfattn_penalty=0.3, window=4)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=3, patience=50, stop_at_train_accuracy=None)
    seeds = [4, 9, 13]
    together = train_stacked(
        name, cfg, [tcfg] * 3, d["x_train"], d["y_train"], d["lengths_train"], seeds, False, stack=True
    )
    for (model, info), seed in zip(together, seeds, strict=True):
        alone, alone_info = train_model(
            name, cfg, tcfg, d["x_train"], d["y_train"], d["lengths_train"], seed=seed, progress=False
        )
        # the same initial weights, data order and dropout masks: the same training to float rounding
        assert _weights_close(model, alone, 1e-3), name
        assert info["best_epoch"] == alone_info["best_epoch"]
        assert [h["val_accuracy"] for h in info["history"]] == [h["val_accuracy"] for h in alone_info["history"]]
        np.testing.assert_allclose(
            [h["train_loss"] for h in info["history"]], [h["train_loss"] for h in alone_info["history"]], rtol=1e-4
        )
        test = (d["x_test"], d["y_test"], d["lengths_test"])
        assert evaluate(model, *test)[0] == evaluate(alone, *test)[0]
        assert info["stacked"] == seeds and info["seed"] == seed


def test_each_seed_stops_and_keeps_its_checkpoint_by_its_own_rule():
    d = _data(lengths=False)
    cfg = ModelConfig(n_features=7, hidden=4, r=3, d_a=5)
    short = TrainConfig(batch_size=20, lr=0.02, max_epochs=2, patience=50, stop_at_train_accuracy=None)
    long = TrainConfig(batch_size=20, lr=0.02, max_epochs=9, patience=3, stop_at_train_accuracy=0.97)
    untrained = TrainConfig(batch_size=20, lr=0.02, max_epochs=0)
    cfgs, seeds = [short, long, untrained], [1, 2, 3]
    together = train_stacked(
        "lstm", cfg, cfgs, d["x_train"], d["y_train"], d["lengths_train"], seeds, False, stack=True
    )
    for (model, info), tcfg, seed in zip(together, cfgs, seeds, strict=True):
        alone, alone_info = train_model(
            "lstm", cfg, tcfg, d["x_train"], d["y_train"], d["lengths_train"], seed=seed, progress=False
        )
        assert info["epochs_run"] == alone_info["epochs_run"] and info["best_epoch"] == alone_info["best_epoch"]
        assert _weights_close(model, alone, 1e-4)
    assert together[0][1]["epochs_run"] == 2 and together[2][1]["epochs_run"] == 0
    assert together[1][1]["epochs_run"] > 2  # the short seed's stop did not stop the others


def test_the_same_seeds_give_the_same_numbers():
    d = _data(lengths=True)
    cfg = ModelConfig(n_features=7, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=2, patience=50, stop_at_train_accuracy=None)

    def weights():
        out = train_stacked(
            "inputcell_lstm", cfg, [tcfg] * 2, d["x_train"], d["y_train"], d["lengths_train"], [0, 1], stack=True
        )
        return [torch.cat([p.flatten() for p in m.state_dict().values()]) for m, _ in out]

    assert all(torch.equal(a, b) for a, b in zip(weights(), weights(), strict=True))


def test_the_stacked_forward_is_each_seeds_forward():
    cfg = ModelConfig(n_features=5, hidden=3, r=2, d_a=4)
    torch.manual_seed(0)
    for name in ("bilstm", "inputcell_lstm", "lstm_selfattn"):
        models = [build_model(name, cfg).eval() for _ in range(3)]
        stacked = StackedClassifier(models).eval()
        x = torch.randn(3, 6, 9, 5)
        lengths = torch.randint(3, 10, (3, 6))
        for wide in (False, True):  # a kernel call per seed (the CPU's), one block-diagonal call for all (a GPU's)
            stacked.wide_kernel = wide
            out = stacked(x, lengths)
            for s, m in enumerate(models):
                torch.testing.assert_close(out[s], m(x[s], lengths[s]), rtol=1e-5, atol=1e-6)
        # and the seeds come back out as the models they were
        for m, back in zip(models, stacked.models(name), strict=True):
            assert all(
                torch.equal(p, q) for p, q in zip(m.state_dict().values(), back.state_dict().values(), strict=True)
            )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_stacked_trainer_runs_on_cuda():
    d = _data(lengths=True)
    cfg = ModelConfig(n_features=7, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=2, patience=50, stop_at_train_accuracy=None)
    out = train_stacked(
        "inputcell_lstm", cfg, [tcfg] * 2, d["x_train"], d["y_train"], d["lengths_train"], [0, 1], device="cuda"
    )
    alone, _ = train_model("inputcell_lstm", cfg, tcfg, d["x_train"], d["y_train"], d["lengths_train"], seed=1)
    assert _weights_close(out[1][0], alone, 1e-2)


def test_runs_with_their_own_labels_or_samples_train_together_as_alone():
    # label-permuted and time-shuffled controls: each run its own labels or its own samples, with a given validation set
    d = _data(lengths=True)
    cfg = ModelConfig(n_features=7, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=2, patience=50, stop_at_train_accuracy=None)
    rng = np.random.default_rng(5)
    x, y, lengths = d["x_train"], d["y_train"], d["lengths_train"]
    ys = [rng.permutation(y) for _ in range(2)]
    xs = [x[:, rng.permutation(x.shape[1])] for _ in range(2)]
    val = (d["x_test"], d["y_test"], d["lengths_test"])
    for xr, yr in ((x, ys), (xs, y)):
        together = train_stacked("lstm", cfg, [tcfg] * 2, xr, yr, lengths, [0, 1], False, val=val, stack=True)
        for k, (model, info) in enumerate(together):
            xk = xr[k] if isinstance(xr, list) else xr
            yk = yr[k] if isinstance(yr, list) else yr
            alone, alone_info = train_model("lstm", cfg, tcfg, xk, yk, lengths, seed=k, progress=False, val=val)
            assert _weights_close(model, alone, 1e-4) and info["n_val"] == len(d["y_test"])
            assert [h["val_loss"] for h in info["history"]] == pytest.approx(
                [h["val_loss"] for h in alone_info["history"]], rel=1e-5
            )


def test_runs_trained_one_after_the_other_are_the_alone_runs_and_the_stacked_ones():
    # stack=False: train_model per run, in order; its runs are the alone runs exactly, and the stacked ones to float
    # rounding, per-run labels included
    d = _data(lengths=True)
    cfg = ModelConfig(n_features=7, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=3, patience=50, stop_at_train_accuracy=None)
    short = TrainConfig(batch_size=20, lr=0.01, max_epochs=1, patience=50, stop_at_train_accuracy=None)
    x, lengths = d["x_train"], d["lengths_train"]
    ys = [d["y_train"], np.random.default_rng(3).permutation(d["y_train"])]
    args = ("bilstm", cfg, [tcfg, short], x, ys, lengths, [5, 6], False)
    in_turn, stacked = train_stacked(*args, stack=False), train_stacked(*args)
    for k, ((model, info), (s_model, s_info)) in enumerate(zip(in_turn, stacked, strict=True)):
        alone, alone_info = train_model("bilstm", cfg, [tcfg, short][k], x, ys[k], lengths, seed=5 + k, progress=False)
        assert all(
            torch.equal(a, b) for a, b in zip(model.state_dict().values(), alone.state_dict().values(), strict=True)
        )
        assert info["history"] == alone_info["history"] and info["stacked"] == [] and info["seed"] == 5 + k
        assert _weights_close(model, s_model, 1e-3) and info["epochs_run"] == s_info["epochs_run"] == [3, 1][k]
