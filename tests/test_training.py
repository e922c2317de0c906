"""Training: determinism, validation split, sidecar, the never-the-test-set rule."""

import json

import numpy as np
import torch

from vanishing_saliency.models import ModelConfig
from vanishing_saliency.synthetic import generate_dataset
from vanishing_saliency.training import TrainConfig, evaluate, load_model, save_model, split_validation, train_model

BOX = [[{"time": [0, 5], "features": [0, 4]}]]


def _data():
    return generate_dataset(BOX, n_time=12, n_features=6, n_train=120, n_test=40, seed=0)


def _train(d, seed=5, epochs=4):
    cfg = ModelConfig(n_features=6, hidden=4, r=3, d_a=5)
    tcfg = TrainConfig(batch_size=20, lr=0.01, max_epochs=epochs, patience=50, stop_at_train_accuracy=None)
    return train_model("inputcell_lstm", cfg, tcfg, d["x_train"], d["y_train"], d["lengths_train"],
                       seed=seed, progress=False), cfg, tcfg


def test_same_seed_same_weights_other_seed_differs():
    d = _data()
    (m1, h1), _, _ = _train(d)
    (m2, h2), _, _ = _train(d)
    (m3, _), _, _ = _train(d, seed=6)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
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
    assert 1 <= info["best_epoch"] <= info["epochs_run"] == 15
    # the validation set is carved from the 120 training samples
    assert info["n_train"] + info["n_val"] == 120 and info["n_val"] == 12
    best = max(info["history"], key=lambda h: (h["val_accuracy"], -h["val_loss"]))
    assert best["epoch"] == info["best_epoch"]
    save_model(tmp_path / "m.pt", model, "inputcell_lstm", cfg, tcfg, 5, {"test_accuracy": acc})
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["architecture"] == "inputcell_lstm" and meta["seed"] == 5
    assert meta["versions"]["torch"].startswith("2.13")
    again, _ = load_model(tmp_path / "m.pt")
    assert evaluate(again, d["x_test"], d["y_test"], d["lengths_test"])[0] == acc
