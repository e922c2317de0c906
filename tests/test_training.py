"""Training: determinism, validation split, sidecar, the never-the-test-set rule."""

import copy
import json

import numpy as np
import pytest
import torch

from vanishing_saliency.errors import ConfigError
from vanishing_saliency.models import ModelConfig, StructuredSelfAttention, build_model
from vanishing_saliency.synthetic import generate_dataset
from vanishing_saliency.training import (
    TrainConfig,
    evaluate,
    load_model,
    save_model,
    select_epoch,
    split_validation,
    train_model,
)

BOX = [[{"time": [0, 5], "features": [0, 4]}]]


def _data():
    return generate_dataset(BOX, n_time=12, n_features=6, n_train=120, n_test=40, seed=0)


def _train(d, seed=5, epochs=4):
    cfg = ModelConfig(n_features=6, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=epochs, patience=50, stop_at_train_accuracy=None)
    return (
        train_model(
            "inputcell_lstm", cfg, tcfg, d["x_train"], d["y_train"], d["lengths_train"], seed=seed, progress=False
        ),
        cfg,
        tcfg,
    )


def test_same_seed_same_weights_other_seed_differs():
    d = _data()
    (m1, h1), _, _ = _train(d)
    (m2, h2), _, _ = _train(d)
    (m3, _), _, _ = _train(d, seed=6)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert h1["history"] == h2["history"]
    assert not torch.equal(m1.classifier.weight, m3.classifier.weight)


def test_validation_split_is_stratified_and_disjoint():
    y = np.array([0] * 50 + [1] * 30)
    tr, val = split_validation(y, 0.2, seed=1)
    assert len(set(tr) & set(val)) == 0 and len(tr) + len(val) == 80
    assert (y[val] == 0).sum() == 10 and (y[val] == 1).sum() == 6


def test_learns_the_box_and_round_trips_through_sidecar(tmp_path):
    d = _data()
    (model, info), cfg, tcfg = _train(d, epochs=15)
    acc, _ = evaluate(model, d["x_test"], d["y_test"], d["lengths_test"])
    assert acc > 0.9
    assert 1 <= info["best_epoch"] <= info["epochs_run"] <= 15
    # the validation set is carved from the 120 training samples
    assert info["n_train"] + info["n_val"] == 120 and info["n_val"] == 12
    # first_best (the default): the first epoch that reached the best validation accuracy
    top = max(h["val_accuracy"] for h in info["history"])
    assert info["best_epoch"] == min(h["epoch"] for h in info["history"] if h["val_accuracy"] == top)
    assert info["selection"] == "first_best"
    save_model(tmp_path / "m.pt", model, "inputcell_lstm", cfg, tcfg, 5, {"test_accuracy": acc})
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["architecture"] == "inputcell_lstm" and meta["seed"] == 5
    assert meta["versions"]["torch"].startswith("2.13")
    again, _ = load_model(tmp_path / "m.pt")
    assert evaluate(again, d["x_test"], d["y_test"], d["lengths_test"])[0] == acc


def test_first_best_stops_at_a_perfect_validation_score_and_keeps_the_same_model():
    """Once the validation accuracy is 1, no later epoch can be kept by first_best: training stops there, and
    the kept model is the one a full-length run (selection "last", same seed) had at that epoch."""
    d = _data()
    cfg = ModelConfig(n_features=6, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=15, patience=50, stop_at_train_accuracy=None)
    model, info = train_model(
        "inputcell_lstm", cfg, tcfg, d["x_train"], d["y_train"], d["lengths_train"], seed=5, progress=False
    )
    states = {}
    full_cfg = TrainConfig(**{**tcfg.__dict__, "selection": "last"})
    _, full = train_model(
        "inputcell_lstm",
        cfg,
        full_cfg,
        d["x_train"],
        d["y_train"],
        d["lengths_train"],
        seed=5,
        progress=False,
        on_epoch=lambda e, m: states.__setitem__(e, copy.deepcopy(m.state_dict())),
    )
    assert full["epochs_run"] == 15 and info["epochs_run"] < 15
    assert info["history"][-1]["val_accuracy"] == 1.0
    assert info["history"] == full["history"][: info["epochs_run"]]
    assert info["best_epoch"] == select_epoch(full["history"], "first_best")
    for key, value in model.state_dict().items():
        assert torch.equal(value, states[info["best_epoch"]][key])


HISTORY = [
    {"epoch": 1, "val_accuracy": 0.7, "val_loss": 0.60},
    {"epoch": 2, "val_accuracy": 1.0, "val_loss": 0.30},
    {"epoch": 3, "val_accuracy": 0.9, "val_loss": 0.20},
    {"epoch": 4, "val_accuracy": 1.0, "val_loss": 0.05},
    {"epoch": 5, "val_accuracy": 1.0, "val_loss": 0.10},
]


def test_selection_rules_on_a_scripted_history():
    assert select_epoch(HISTORY, "first_best") == 2  # first to reach the best accuracy
    assert select_epoch(HISTORY, "best_loss") == 4
    assert select_epoch(HISTORY, "last") == 5
    assert select_epoch(HISTORY, "accuracy_then_loss") == 4  # the old rule: a later epoch
    with pytest.raises(ConfigError, match="unknown training.selection 'best'"):
        select_epoch(HISTORY, "best")


@pytest.mark.parametrize("rule", ["first_best", "best_loss", "last", "accuracy_then_loss"])
def test_training_keeps_the_epoch_its_rule_selects(rule):
    d = _data()
    cfg = ModelConfig(n_features=6, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=6, patience=50, stop_at_train_accuracy=None, selection=rule)
    seen = {}
    model, info = train_model(
        "lstm",
        cfg,
        tcfg,
        d["x_train"],
        d["y_train"],
        d["lengths_train"],
        seed=1,
        progress=False,
        on_epoch=lambda e, m: seen.__setitem__(e, copy.deepcopy(m.state_dict())),
    )
    assert info["best_epoch"] == select_epoch(info["history"], rule) and info["selection"] == rule
    assert sorted(seen) == list(range(7))  # epoch 0 = the initial weights
    for name, value in model.state_dict().items():  # the model returned is that epoch's
        assert torch.equal(value, seen[info["best_epoch"]][name])


def test_zero_epochs_is_the_untrained_model():
    d = _data()
    cfg = ModelConfig(n_features=6, hidden=4, r=3, d_a=5)
    model, info = train_model(
        "lstm", cfg, TrainConfig(max_epochs=0), d["x_train"], d["y_train"], d["lengths_train"], seed=2, progress=False
    )
    torch.manual_seed(2)
    fresh = build_model("lstm", cfg)
    assert info["epochs_run"] == 0 and info["best_epoch"] == 0 and 0 <= info["val_accuracy"] <= 1
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_lin_penalty_against_a_hand_computation():
    att = StructuredSelfAttention(hidden=2, d_a=3, hops=2, flatten=True)
    with torch.no_grad():  # scores: hop 0 follows h[:, 0], hop 1 is flat
        att.ws1.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]) * 50)
        att.ws2.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]) * 50)
    h = torch.tensor([[[1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, True, False]])
    att(h, mask)
    # A: hop 0 = (1, 0, 0) (all on step 0), hop 1 = (1/3, 1/3, 1/3); A A^T = [[1, 1/3], [1/3, 1/3]]
    want = 0.0**2 + 2 * (1 / 3) ** 2 + (1 / 3 - 1) ** 2
    assert att.last_penalty.item() == pytest.approx(want, abs=1e-6)
    model = build_model(
        "lstm_selfattn",
        ModelConfig(n_features=3, selfattn_form="lin2017", selfattn_penalty=0.5, selfattn_hops=2, selfattn_d_a=4),
    )
    model(torch.randn(2, 5, 3), torch.tensor([5, 3]))
    assert model.regularization().item() == pytest.approx(0.5 * model.selfattn.last_penalty.item())
    assert build_model("lstm_selfattn", ModelConfig(n_features=3)).regularization() is None  # the "mean" form


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_our_adam_is_torch_adam_bit_for_bit(dtype):
    """torch_startup.StartupAdam (no torch.optim, so no TorchDynamo import) gives torch.optim.Adam's weights exactly."""
    from vanishing_saliency.torch_startup import StartupAdam as Adam

    torch.manual_seed(0)
    ours = build_model("inputcell_lstm_selfattn", ModelConfig(n_features=6, hidden=4, r=3, d_a=5)).to(dtype)
    theirs = copy.deepcopy(ours)
    opt_ours, opt_theirs = Adam(ours.parameters(), lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01)
    x = torch.randn(8, 7, 6, dtype=dtype)
    y = torch.arange(8) % 2
    lengths = torch.tensor([7, 5, 7, 3, 7, 6, 2, 7])
    for step in range(12):
        torch.manual_seed(step)  # the same dropout masks for both
        loss_ours = torch.nn.functional.cross_entropy(ours(x, lengths), y)
        torch.manual_seed(step)
        loss_theirs = torch.nn.functional.cross_entropy(theirs(x, lengths), y)
        for opt, loss in ((opt_ours, loss_ours), (opt_theirs, loss_theirs)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_the_public_torch_apis_train_the_same_weights(monkeypatch):
    """The start-up shortcuts (StartupAdam, the kernels' deterministic flag) change the start-up time, not a number:
    a training with the public APIs (VANISHING_SALIENCY_PUBLIC_TORCH=1) ends at the same weights bit for bit."""
    from vanishing_saliency import torch_startup

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 9, 3)).astype(np.float32)
    y = (x[:, :, 0].mean(1) > 0).astype(np.int64)
    lengths = np.full(40, 9)
    cfg = TrainConfig(max_epochs=3, batch_size=8, stop_at_train_accuracy=None)
    models = {}
    for public in ("0", "1"):
        monkeypatch.setenv("VANISHING_SALIENCY_PUBLIC_TORCH", public)
        assert torch_startup.use_startup_shortcuts() == (public == "0" and torch.__version__.startswith("2.13."))
        opt = torch_startup.adam([torch.zeros(2, requires_grad=True)], lr=0.1)
        assert isinstance(opt, torch.optim.Adam) == (not torch_startup.use_startup_shortcuts())
        models[public], _ = train_model(
            "lstm", ModelConfig(n_features=3, hidden=4), cfg, x, y, lengths, seed=5, progress=False
        )
    for a, b in zip(models["0"].state_dict().values(), models["1"].state_dict().values(), strict=True):
        assert torch.equal(a, b)
