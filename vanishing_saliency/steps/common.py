"""What every branch's steps share: one way to train, one to attribute and score a split.

Branch differences are parameters: where the validation set comes from (carved from
the training split, or held-out subjects), which extra fields the sidecar records,
whether maps are scored against a ground-truth mask.
"""

from __future__ import annotations

import logging
from dataclasses import fields

import numpy as np
import torch

from ..data import chance_level, load_split
from ..metrics import all_scores, pooled_scores
from ..models import ModelConfig
from ..saliency import SaliencyOptions
from ..saliency import method as saliency_method
from ..training import TrainConfig, evaluate, predict_logits, save_model, train_model

log = logging.getLogger("vanishing_saliency")

MODEL_KEYS = (
    "hidden",
    "r",
    "d_a",
    "dropout",
    "selfattn_hops",
    "selfattn_d_a",
    "selfattn_form",
    "selfattn_penalty",
    "window",
)
TRAIN_KEYS = (
    "batch_size",
    "lr",
    "max_epochs",
    "patience",
    "val_fraction",
    "stop_at_train_accuracy",
    "dtype",
    "selection",
)


def model_config(models: dict, n_features: int, n_classes: int) -> ModelConfig:
    """The architecture hyper-parameters of config ``models`` (with a branch's overrides merged)."""
    return ModelConfig(
        n_features=int(n_features), n_classes=int(n_classes), **{k: models[k] for k in MODEL_KEYS if k in models}
    )


def saliency_options(saliency: dict) -> SaliencyOptions:
    """The attribution settings of config ``saliency``; a key the config leaves out (the schema makes them optional)
    keeps :class:`SaliencyOptions`' default, the one copy of the defaults."""
    return SaliencyOptions(**{f.name: saliency[f.name] for f in fields(SaliencyOptions) if f.name in saliency})


def train_config(training: dict) -> TrainConfig:
    """The optimisation settings of config ``training`` (with a branch's overrides merged)."""
    return TrainConfig(**{k: training[k] for k in TRAIN_KEYS})


def train_and_save(
    splits: dict,
    model_path,
    name: str,
    models: dict,
    training: dict,
    seed: int,
    threads: int,
    where: str,
    extra: dict | None = None,
    test_counts: bool = False,
    test_predictions: bool = False,
) -> dict:
    """Train architecture ``name`` on ``splits['train']``, evaluate it, save ``.pt`` + sidecar.

    ``splits``: from :func:`vanishing_saliency.data.load_splits`; with a ``val`` split the
    checkpoint is chosen on it, otherwise on a stratified part of ``train``.  The sidecar
    holds the training history, train/test accuracy, ``extra`` and, with ``test_counts``,
    the test-set size, correct count and majority-class rate (with ``test_predictions``, the
    predicted class of every test sample too).  Returns the sidecar fields.
    """
    torch.set_num_threads(int(threads))
    tr, va = splits["train"], splits.get("val")
    mcfg = model_config(models, tr["x"].shape[2], splits["n_classes"])
    tcfg = train_config(training)
    model, info = train_model(
        name,
        mcfg,
        tcfg,
        tr["x"],
        tr["y"],
        tr["lengths"],
        seed=seed,
        desc=f"{where}/{name}",
        val=None if va is None else (va["x"], va["y"], va["lengths"]),
    )
    return _evaluate_and_save(
        splits, model, info, model_path, name, mcfg, tcfg, seed, where, extra, test_counts, test_predictions
    )


def train_together_and_save(
    runs: list[dict],
    name: str,
    models: dict,
    threads: int,
    where: str,
    test_counts: bool = False,
    test_predictions: bool = False,
) -> list[dict]:
    """:func:`train_and_save` for several runs of one architecture trained together
    (:func:`vanishing_saliency.stacked.train_stacked`: each run as if it had trained alone).

    ``runs``: one dict per run with ``splits`` (as for :func:`train_and_save`; runs may share one, or differ in
    their training labels or samples, not in their validation or test sets' sizes), ``path``, ``training``, ``seed``,
    ``label`` (for the log and the progress bar) and ``extra``.  Returns the sidecar fields of each run, in order.
    """
    from ..stacked import train_stacked

    if not runs:
        return []
    torch.set_num_threads(int(threads))
    first = runs[0]["splits"]
    mcfg = model_config(models, first["train"]["x"].shape[2], first["n_classes"])
    tcfgs = [train_config(r["training"]) for r in runs]

    def per_run(split: str, key: str):
        values = [r["splits"][split][key] for r in runs]
        return values[0] if all(v is values[0] for v in values) else values

    val = None
    if first.get("val") is not None:
        val = tuple(per_run("val", k) for k in ("x", "y", "lengths"))
    trained = train_stacked(
        name,
        mcfg,
        tcfgs,
        per_run("train", "x"),
        per_run("train", "y"),
        per_run("train", "lengths"),
        [int(r["seed"]) for r in runs],
        desc=f"{where}/{name} x{len(runs)} runs",
        val=val,
    )
    return [
        _evaluate_and_save(
            r["splits"],
            model,
            info,
            r["path"],
            name,
            mcfg,
            tcfg,
            int(r["seed"]),
            f"{where} {r['label']}",
            r["extra"],
            test_counts,
            test_predictions,
        )
        for r, (model, info), tcfg in zip(runs, trained, tcfgs, strict=True)
    ]


def _evaluate_and_save(
    splits, model, info, model_path, name, mcfg, tcfg, seed, where, extra, test_counts, test_predictions
) -> dict:
    """Test and train accuracy of a trained model, its sidecar fields, and the model saved with them."""
    tr, te = splits["train"], splits["test"]
    test_acc, test_loss = evaluate(model, te["x"], te["y"], te["lengths"])
    train_acc, _ = evaluate(model, tr["x"], tr["y"], tr["lengths"])
    record = {**(extra or {}), "train_accuracy": train_acc, "test_accuracy": test_acc, "test_loss": test_loss}
    if test_counts:
        record.update(
            n_test=int(len(te["y"])),
            n_test_correct=int(round(test_acc * len(te["y"]))),
            test_chance=chance_level(te["y"]),
        )
    if test_predictions:
        record["test_predictions"] = predict_logits(model, te["x"], te["lengths"]).argmax(1).tolist()
    record.update(info)
    save_model(model_path, model, name, mcfg, tcfg, seed, record)
    log.info(
        "%s on %s: %d epochs (best %d), train %.3f val %.3f test %.3f (chance %.3f)",
        name,
        where,
        info["epochs_run"],
        info["best_epoch"],
        train_acc,
        info["val_accuracy"],
        test_acc,
        chance_level(te["y"]),
    )
    return record


def attribute_split(model, split: dict, method: str, saliency: dict, seed: int, threads: int, baselines=None) -> dict:
    """Saliency of every sample of a split (w.r.t. its true class) and the model's predictions.

    Returns ``maps`` (n, time, features) as the method gives them, ``pred``, ``correct`` and,
    when the split has a ground-truth ``mask``, every per-sample score of
    :data:`vanishing_saliency.metrics.METRICS` and the batch-pooled ones of ``POOLED_METRICS``.
    ``baselines``: GradientShap's baseline samples.
    """
    torch.set_num_threads(int(threads))
    explainer = saliency_method(method, model, output="probability", options=saliency_options(saliency))
    maps = explainer.attribute(
        split["x"], target=split["y"], lengths=split["lengths"], baselines=baselines, seed=seed
    ).numpy()
    pred = predict_logits(model, split["x"], split["lengths"]).argmax(1).numpy()
    out = {"maps": maps, "pred": pred, "correct": pred == split["y"]}
    if "mask" in split:
        out.update(all_scores(maps, split["mask"]))
        out.update(pooled_scores(maps, split["mask"]))
    return out


def gradient_shap_baselines(data_path, method: str, saliency: dict, seed: int):
    """GradientShap's baselines: ``gradient_shap_n_baselines`` seeded training samples of the dataset
    (``gradient_shap_baseline: train``), or None (an all-zero baseline; every other method)."""
    if method != "gradient_shap" or saliency.get("gradient_shap_baseline") != "train":
        return None

    x = load_split(data_path, "train")["x"]
    n = min(int(saliency.get("gradient_shap_n_baselines", 20)), len(x))
    return x[np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))]


def first_per_class(y, n: int) -> np.ndarray:
    """Indices of the first ``n`` samples of each class, class by class."""
    return np.concatenate([np.flatnonzero(y == c)[:n] for c in np.unique(y)])
