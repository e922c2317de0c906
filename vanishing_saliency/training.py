"""Training one model: a validation set (given, or carved from the training set) chooses the checkpoint.

Logits + cross-entropy (softmax applied once, inside the loss), plus the model's own
regulariser (the Lin et al. penalty of a self-attention readout).  The test set is only
ever evaluated, never used to choose.

Training stops once the training accuracy of an epoch reaches ``stop_at_train_accuracy``
(the original study's rule), after ``max_epochs``, after ``patience`` epochs in which
the selection criterion did not improve, or (``first_best``) once the validation accuracy
is 1: no later epoch could be kept, so training on would change nothing but the time.  The checkpoint
kept (``selection``):

- ``first_best`` (default, the original study's): the first epoch that reached the best
  validation accuracy;
- ``best_loss``: the epoch with the lowest validation loss (the first, on ties);
- ``last``: the last epoch trained;
- ``accuracy_then_loss``: the best validation accuracy, ties broken by lower validation
  loss (this workflow's rule before ``selection`` existed; it keeps late epochs).

``max_epochs = 0`` returns the model at its initial weights (the "untrained" floor).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .errors import ConfigError
from .io import atomic_path, load_json, package_versions, save_json
from .models import ModelConfig, build_model
from .torch_startup import adam, set_determinism

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainConfig:
    """Optimisation settings (paper: batch 50, Adam 1e-3, up to 400 epochs).

    Parameters
    ----------
    batch_size : int, default 50
        Training samples per optimisation step (the last batch of an epoch may be smaller).
    lr : float, default 1e-3
        Adam's learning rate.
    max_epochs : int, default 400
        Most epochs trained; 0 keeps the initial weights.
    patience : int, default 30
        Training stops after this many epochs in a row in which the selection criterion did not improve (never with
        ``selection`` ``"last"``, where every epoch improves it).
    val_fraction : float, default 0.1
        Share of each class's training samples held out for validation when no validation set is given (rounded
        per class).
    stop_at_train_accuracy : float or None, default 1.0
        Training stops after the first epoch whose training accuracy reaches this; None: no such stop.
    dtype : {"float32", "float64"}, default "float32"
        Floating-point type of the model and the inputs (a key of ``DTYPES``).
    selection : {"first_best", "best_loss", "last", "accuracy_then_loss"}, default "first_best"
        Which epoch's weights are kept (see the module docstring and ``SELECTIONS``).
    """

    batch_size: int = 50
    lr: float = 1e-3
    max_epochs: int = 400
    patience: int = 30
    val_fraction: float = 0.1
    stop_at_train_accuracy: float | None = 1.0
    dtype: str = "float32"
    selection: str = "first_best"


SELECTIONS = ("first_best", "best_loss", "last", "accuracy_then_loss")


def _improves(rule: str, acc: float, loss: float, best: dict) -> bool:
    """Whether an epoch with validation ``acc`` / ``loss`` replaces the kept checkpoint ``best``."""
    if rule == "first_best":
        return acc > best["val_accuracy"]
    if rule == "best_loss":
        return loss < best["val_loss"]
    if rule == "last":
        return True
    if rule == "accuracy_then_loss":
        return (acc, -loss) > (best["val_accuracy"], -best["val_loss"])

    raise ConfigError(f"unknown training.selection {rule!r}; known: {', '.join(SELECTIONS)}")


def select_epoch(history: list[dict], rule: str) -> int:
    """The epoch ``rule`` keeps from a training history (``epoch``, ``val_accuracy``, ``val_loss`` per epoch).

    The same choice :func:`train_model` makes while training, made afterwards from its ``history``.

    Parameters
    ----------
    history : list of dict
        One dict per epoch, in training order, with at least the keys ``epoch`` (int), ``val_accuracy`` and
        ``val_loss`` (float), as in the ``history`` that :func:`train_model` returns.
    rule : {"first_best", "best_loss", "last", "accuracy_then_loss"}
        The selection rule (see the module docstring).

    Returns
    -------
    int
        The ``epoch`` of the kept entry; 0 when ``history`` is empty (or, with ``best_loss``, when no epoch has a
        validation loss below infinity).

    Raises
    ------
    ConfigError
        If ``rule`` is not one of ``SELECTIONS`` and ``history`` is not empty.
    """
    best = {"val_accuracy": -1.0, "val_loss": float("inf"), "epoch": 0}
    for h in history:
        if _improves(rule, h["val_accuracy"], h["val_loss"], best):
            best = {"val_accuracy": h["val_accuracy"], "val_loss": h["val_loss"], "epoch": h["epoch"]}
    return best["epoch"]


def split_validation(y: np.ndarray, fraction: float, seed: int):
    """Stratified train/validation indices from the training labels only.

    Each class's samples are shuffled with a generator seeded by ``seed``, and the first
    ``round(fraction * n_class)`` of them (Python's ``round``: halves to even) go to validation.

    Parameters
    ----------
    y : numpy.ndarray, shape (n,)
        Class labels of the training samples.
    fraction : float
        Share of each class to hold out for validation.
    seed : int
        Seed of the shuffle (``numpy.random.default_rng``).

    Returns
    -------
    train_idx, val_idx : numpy.ndarray of int
        Sorted indices into ``y`` of the training and of the validation samples; together they hold every index
        once.
    """
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        n_val = int(round(fraction * len(idx)))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def _tensors(x, y, lengths, dtype):
    return (
        torch.as_tensor(np.asarray(x), dtype=dtype),
        torch.as_tensor(np.asarray(y), dtype=torch.long),
        torch.as_tensor(np.asarray(lengths), dtype=torch.long),
    )


@torch.no_grad()
def predict_logits(model: nn.Module, x, lengths, batch_size: int = 256) -> torch.Tensor:
    """A model's logits for every sample, in batches, without autograd; leaves the model in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier called as ``model(x, lengths)`` (e.g. :class:`~vanishing_saliency.models.SequenceClassifier`).
    x : array-like, shape (n, time, features)
        Input sequences, converted to the dtype of the model's first parameter; ``n`` must be at least 1.
    lengths : array-like of int, shape (n,)
        True sequence lengths.
    batch_size : int, default 256
        Samples per forward pass.

    Returns
    -------
    torch.Tensor, shape (n, n_classes)
        The logits (no softmax), in the model's dtype.
    """
    model.eval()
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(np.asarray(x), dtype=dtype)
    lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
    return torch.cat([model(x[i : i + batch_size], lengths[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate(model: nn.Module, x, y, lengths, batch_size: int = 256) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of a model on a split.

    The logits come from :func:`predict_logits` (eval mode, no autograd; the model is left in eval mode).

    Parameters
    ----------
    model : torch.nn.Module
        A classifier called as ``model(x, lengths)``, returning logits of shape ``(batch, n_classes)``.
    x : array-like, shape (n, time, features)
        Input sequences; ``n`` must be at least 1.
    y : array-like of int, shape (n,)
        Class labels.
    lengths : array-like of int, shape (n,)
        True sequence lengths.
    batch_size : int, default 256
        Samples per forward pass.

    Returns
    -------
    accuracy : float
        Share of the samples whose largest logit is their label.
    loss : float
        Mean cross-entropy of the logits against ``y`` (the model's regulariser not included).
    """
    logits = predict_logits(model, x, lengths, batch_size)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    loss = nn.functional.cross_entropy(logits, y).item()
    return (logits.argmax(1) == y).double().mean().item(), loss


def train_model(
    name: str,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    x,
    y,
    lengths,
    seed: int,
    progress: bool = True,
    desc: str | None = None,
    val=None,
    on_epoch=None,
):
    """Train architecture ``name``; returns (model at the epoch ``train_cfg.selection`` keeps, history dict).

    ``val``: an explicit validation set ``(x, y, lengths)`` (e.g. held-out subjects); without
    it a stratified ``train_cfg.val_fraction`` of the training samples is held out.
    ``on_epoch(epoch, model)``: called after every epoch (epoch 0: the initial weights), e.g.
    to follow saliency quality through training; it must leave the weights alone.

    Calls :func:`set_determinism` with ``seed`` (keeping torch's thread count), then trains with :func:`adam`
    on the cross-entropy plus the model's regulariser, in batches of ``train_cfg.batch_size`` samples drawn in a
    new order each epoch (a torch generator seeded with ``seed``).  Stopping rules and ``selection``: see the module
    docstring.  Without validation samples (``val_fraction`` rounding to none), an epoch's validation accuracy and
    loss are its training accuracy and mean training cross-entropy.

    Parameters
    ----------
    name : str
        The architecture, a key of ``vanishing_saliency.models.REGISTRY``.
    model_cfg : ModelConfig
        The model's hyper-parameters.
    train_cfg : TrainConfig
        Optimisation settings.
    x : array-like, shape (n, time, features)
        Training sequences (converted to ``train_cfg.dtype``).
    y : array-like of int, shape (n,)
        Training labels.
    lengths : array-like of int, shape (n,)
        True sequence lengths.
    seed : int
        Seed of torch (the initial weights, dropout), of the validation split and of the batch order.
    progress : bool, default True
        Whether to show a tqdm progress bar over the epochs.
    desc : str, optional
        The progress bar's label (default ``name``).
    val : tuple of (x, y, lengths), optional
        An explicit validation set, shaped as ``x``, ``y`` and ``lengths``; then every sample of ``x`` is trained on.
    on_epoch : callable, optional
        ``on_epoch(epoch, model)``, called as described above.

    Returns
    -------
    model : SequenceClassifier
        The model with the kept epoch's weights, in eval mode and in ``train_cfg.dtype``.
    info : dict
        ``epochs_run`` (int), ``best_epoch`` (int, 0: the initial weights), ``selection`` (str), ``val_accuracy`` and
        ``val_loss`` of the kept epoch (NaN for the initial weights without validation samples), ``n_train`` and
        ``n_val`` (int), ``train_seconds`` (float) and ``history``: one dict per epoch trained with ``epoch``,
        ``train_loss`` (mean cross-entropy, regulariser not included), ``train_accuracy``, ``val_loss`` and
        ``val_accuracy``.

    Raises
    ------
    ConfigError
        If ``train_cfg.selection`` is not one of ``SELECTIONS`` (before any training), or ``name`` is not a registered
        architecture or ``model_cfg`` does not fit it (:func:`~vanishing_saliency.models.build_model`).
    """
    set_determinism(seed, torch.get_num_threads())
    dtype = DTYPES[train_cfg.dtype]
    model = build_model(name, model_cfg).to(dtype)
    x_all, y_all, l_all = _tensors(x, y, lengths, dtype)
    if val is None:
        tr_idx, val_idx = split_validation(np.asarray(y), train_cfg.val_fraction, seed)
        x_tr, y_tr, l_tr = x_all[tr_idx], y_all[tr_idx], l_all[tr_idx]
        x_val, y_val, l_val = x_all[val_idx], y_all[val_idx], l_all[val_idx]
    else:
        x_tr, y_tr, l_tr = x_all, y_all, l_all
        x_val, y_val, l_val = _tensors(*val, dtype)
        tr_idx, val_idx = np.arange(len(x_tr)), np.arange(len(x_val))
    opt = adam(model.parameters(), lr=train_cfg.lr)
    gen = torch.Generator().manual_seed(seed)
    rule = train_cfg.selection
    _improves(rule, 0.0, 0.0, {"val_accuracy": 0.0, "val_loss": 0.0})  # an unknown rule fails first
    best = {"val_accuracy": -1.0, "val_loss": float("inf"), "epoch": 0, "state": copy.deepcopy(model.state_dict())}
    history = []
    stale = 0
    start = time.perf_counter()
    if on_epoch is not None:
        on_epoch(0, model)
    bar = tqdm(range(1, train_cfg.max_epochs + 1), desc=desc or name, disable=not progress, mininterval=1.0, leave=True)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)
        correct, total_loss = 0, 0.0
        for i in range(0, len(order), train_cfg.batch_size):
            batch = order[i : i + train_cfg.batch_size]
            logits = model(x_tr[batch], l_tr[batch])
            loss = nn.functional.cross_entropy(logits, y_tr[batch])
            penalty = model.regularization()
            opt.zero_grad()
            (loss + penalty if penalty is not None else loss).backward()
            opt.step()
            correct += (logits.argmax(1) == y_tr[batch]).sum().item()
            total_loss += loss.item() * len(batch)
        train_acc = correct / len(x_tr)
        if len(val_idx):
            val_acc, val_loss = evaluate(model, x_val, y_val, l_val)
        else:
            val_acc, val_loss = train_acc, total_loss / len(x_tr)
        history.append(
            {
                "epoch": epoch,
                "train_loss": total_loss / len(x_tr),
                "train_accuracy": train_acc,
                "val_loss": val_loss,
                "val_accuracy": val_acc,
            }
        )
        bar.set_postfix(train_acc=f"{train_acc:.3f}", val_acc=f"{val_acc:.3f}", val_loss=f"{val_loss:.3f}")
        if on_epoch is not None:
            on_epoch(epoch, model)
        if _improves(rule, val_acc, val_loss, best):
            best = {
                "val_accuracy": val_acc,
                "val_loss": val_loss,
                "epoch": epoch,
                "state": copy.deepcopy(model.state_dict()),
            }
            stale = 0
        else:
            stale += 1
        if train_cfg.stop_at_train_accuracy is not None and train_acc >= train_cfg.stop_at_train_accuracy:
            break
        if stale >= train_cfg.patience:
            break
        if rule == "first_best" and best["val_accuracy"] >= 1.0:
            break  # no later epoch can be kept: the rest would change nothing but the time taken
    bar.close()
    model.load_state_dict(best["state"])
    model.eval()
    if not history:  # max_epochs = 0: the initial weights, scored on the validation set
        best["val_accuracy"], best["val_loss"] = (
            evaluate(model, x_val, y_val, l_val) if len(val_idx) else (float("nan"), float("nan"))
        )
    info = {
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "selection": rule,
        "val_accuracy": best["val_accuracy"],
        "val_loss": best["val_loss"],
        "n_train": int(len(tr_idx)),
        "n_val": int(len(val_idx)),
        "train_seconds": time.perf_counter() - start,
        "history": history,
    }
    return model, info


def save_model(path, model, name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, seed: int, extra: dict) -> None:
    """``state_dict`` at ``path`` plus a JSON sidecar at ``path`` with suffix ``.json``.

    Both files are written atomically (a temporary file renamed into place); the folder is created if needed.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write the ``state_dict`` (``torch.save``), e.g. ``model.pt``; the sidecar is
        ``path.with_suffix(".json")``.
    model : torch.nn.Module
        The trained model.
    name : str
        Its architecture (sidecar key ``architecture``).
    model_cfg : ModelConfig
        Its hyper-parameters (``model_config``, as a dict).
    train_cfg : TrainConfig
        The optimisation settings it was trained with (``train_config``, as a dict).
    seed : int
        The training seed (``seed``).
    extra : dict
        Further sidecar entries, written after the others (a key of the same name replaces theirs).
    """
    path = Path(path)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(model.state_dict(), tmp)
    meta = {
        "architecture": name,
        "model_config": asdict(model_cfg),
        "train_config": asdict(train_cfg),
        "seed": seed,
        "versions": package_versions(),
        **extra,
    }
    save_json(path.with_suffix(".json"), meta)


def load_model(path):
    """Rebuild a model from its ``.pt`` and sidecar; returns (model in eval mode, sidecar dict).

    The inverse of :func:`save_model`: the architecture and ``ModelConfig`` come from the sidecar, the dtype from its
    ``train_config``, and the weights are loaded onto the CPU (``weights_only=True``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``state_dict`` file; its sidecar is ``path.with_suffix(".json")``.

    Returns
    -------
    model : SequenceClassifier
        The model with the saved weights, on the CPU, in eval mode.
    meta : dict
        The sidecar, as written by :func:`save_model`.

    Raises
    ------
    ConfigError
        If the sidecar's architecture is not registered or its model configuration does not fit it.
    """
    path = Path(path)
    meta = load_json(path.with_suffix(".json"))
    model = build_model(meta["architecture"], ModelConfig(**meta["model_config"]))
    model = model.to(DTYPES[meta["train_config"]["dtype"]])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()
    return model, meta
