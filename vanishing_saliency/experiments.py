"""The synthetic-box experiment steps, one function per workflow rule.

Each function reads files, calls the library and writes its outputs
atomically; the workflow scripts only unpack ``snakemake`` objects.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from .io import load_json, save_npz, save_table
from .metrics import saliency_scores
from .models import ModelConfig
from .saliency import attribute
from .synthetic import generate_dataset
from .training import TrainConfig, evaluate, load_model, predict_logits, save_model, train_model

log = logging.getLogger("vanishing_saliency")

SPLIT_KEYS = ("x", "y", "lengths")


def load_split(path, split: str) -> dict:
    with np.load(path) as f:
        return {k: f[f"{k}_{split}"] for k in (*SPLIT_KEYS, "mask", "pattern") if f"{k}_{split}" in f}


def generate_step(out_path, settings: dict, seed: int) -> None:
    data = generate_dataset(settings["patterns"], n_time=settings["n_time"], n_features=settings["n_features"],
                            n_train=settings["n_train"], n_test=settings["n_test"], seed=seed,
                            standardize=settings["standardize"])
    save_npz(out_path, **data, seed=np.int64(seed))
    log.info("wrote %s: %d train / %d test samples", out_path, settings["n_train"], settings["n_test"])


def train_step(data_path, model_path, name: str, models_cfg: dict, training_cfg: dict, seed: int,
               dataset: str) -> dict:
    torch.set_num_threads(int(training_cfg.get("threads", 1)))
    train = load_split(data_path, "train")
    test = load_split(data_path, "test")
    mcfg = ModelConfig(n_features=train["x"].shape[2], n_classes=int(train["y"].max()) + 1,
                       **{k: models_cfg[k] for k in ("hidden", "r", "d_a", "dropout", "selfattn_hops", "selfattn_d_a")})
    tcfg = TrainConfig(**{k: training_cfg[k] for k in ("batch_size", "lr", "max_epochs", "patience",
                                                        "val_fraction", "stop_at_train_accuracy", "dtype")})
    model, info = train_model(name, mcfg, tcfg, train["x"], train["y"], train["lengths"], seed=seed,
                              desc=f"{dataset}/{name}")
    test_acc, test_loss = evaluate(model, test["x"], test["y"], test["lengths"])
    train_acc, _ = evaluate(model, train["x"], train["y"], train["lengths"])
    extra = {"dataset": dataset, "train_accuracy": train_acc, "test_accuracy": test_acc,
             "test_loss": test_loss, **info}
    save_model(model_path, model, name, mcfg, tcfg, seed, extra)
    log.info("%s on %s: %d epochs (best %d), train %.3f val %.3f test %.3f", name, dataset, info["epochs_run"],
             info["best_epoch"], train_acc, info["val_accuracy"], test_acc)
    return extra


def saliency_step(data_path, model_path, metrics_path, examples_path, method: str, saliency_cfg: dict,
                  seed: int, threads: int = 1) -> pd.DataFrame:
    torch.set_num_threads(int(threads))
    model, meta = load_model(model_path)
    test = load_split(data_path, "test")
    maps = attribute(method, model, test["x"], test["y"], test["lengths"],
                     batch_size=saliency_cfg["batch_size"], options=saliency_cfg, seed=seed)
    pred = predict_logits(model, test["x"], test["lengths"]).argmax(1).numpy()
    scores = saliency_scores(maps, test["mask"])
    table = pd.DataFrame({"sample": np.arange(len(maps)), "label": test["y"], "pattern": test["pattern"],
                          "correct": (pred == test["y"]).astype(int), "wjac": scores["wjac"],
                          "euc": scores["euc"]})
    save_table(metrics_path, table)
    # the first few test samples of each class, for the heat-map figures
    keep = np.concatenate([np.flatnonzero(test["y"] == c)[: saliency_cfg["examples"]]
                           for c in np.unique(test["y"])])
    save_npz(examples_path, index=keep, x=test["x"][keep], mask=test["mask"][keep], y=test["y"][keep],
             saliency=maps[keep].astype(np.float32), architecture=meta["architecture"], method=method)
    log.info("%s / %s on %s: WJac %.4f  Euc %.4f  accuracy %.3f", meta["architecture"], method,
             meta["dataset"], table.wjac.mean(), table.euc.mean(), table.correct.mean())
    return table
