"""Training one model: a validation set (given, or carved from the training set) chooses the checkpoint.

Logits + cross-entropy (softmax applied once, inside the loss).  The
checkpoint kept is the one with the best validation accuracy (ties: lower
validation loss); the test set is only ever evaluated, never used to choose.
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

from .io import atomic_path, load_json, package_versions, save_json
from .models import ModelConfig, build_model

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainConfig:
    """Optimisation settings (paper: batch 50, Adam 1e-3, up to 400 epochs)."""

    batch_size: int = 50
    lr: float = 1e-3
    max_epochs: int = 400
    patience: int = 30
    val_fraction: float = 0.1
    stop_at_train_accuracy: float | None = 1.0
    dtype: str = "float32"


def set_determinism(seed: int, threads: int = 1) -> None:
    """Seed torch and make CPU kernels deterministic."""
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True)


def split_validation(y: np.ndarray, fraction: float, seed: int):
    """Stratified train/validation indices from the training labels only."""
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
    return (torch.as_tensor(np.asarray(x), dtype=dtype), torch.as_tensor(np.asarray(y), dtype=torch.long),
            torch.as_tensor(np.asarray(lengths), dtype=torch.long))


@torch.no_grad()
def predict_logits(model: nn.Module, x, lengths, batch_size: int = 256) -> torch.Tensor:
    model.eval()
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(np.asarray(x), dtype=dtype)
    lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
    return torch.cat([model(x[i:i + batch_size], lengths[i:i + batch_size])
                      for i in range(0, len(x), batch_size)])


def evaluate(model: nn.Module, x, y, lengths, batch_size: int = 256) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of a model on a split."""
    logits = predict_logits(model, x, lengths, batch_size)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    loss = nn.functional.cross_entropy(logits, y).item()
    return (logits.argmax(1) == y).double().mean().item(), loss


def train_model(name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, x, y, lengths,
                seed: int, progress: bool = True, desc: str | None = None, val=None):
    """Train architecture ``name``; returns (model at its best validation epoch, history dict).

    ``val``: an explicit validation set ``(x, y, lengths)`` (e.g. held-out subjects); without
    it a stratified ``train_cfg.val_fraction`` of the training samples is held out.
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
    opt = torch.optim.Adam(model.parameters(), lr=train_cfg.lr)
    gen = torch.Generator().manual_seed(seed)
    best = {"val_accuracy": -1.0, "val_loss": float("inf"), "epoch": 0, "state": None}
    history = []
    stale = 0
    start = time.perf_counter()
    bar = tqdm(range(1, train_cfg.max_epochs + 1), desc=desc or name, disable=not progress,
               mininterval=1.0, leave=True)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)
        correct, total_loss = 0, 0.0
        for i in range(0, len(order), train_cfg.batch_size):
            batch = order[i:i + train_cfg.batch_size]
            logits = model(x_tr[batch], l_tr[batch])
            loss = nn.functional.cross_entropy(logits, y_tr[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += (logits.argmax(1) == y_tr[batch]).sum().item()
            total_loss += loss.item() * len(batch)
        train_acc = correct / len(x_tr)
        if len(val_idx):
            val_acc, val_loss = evaluate(model, x_val, y_val, l_val)
        else:
            val_acc, val_loss = train_acc, total_loss / len(x_tr)
        history.append({"epoch": epoch, "train_loss": total_loss / len(x_tr), "train_accuracy": train_acc,
                        "val_loss": val_loss, "val_accuracy": val_acc})
        bar.set_postfix(train_acc=f"{train_acc:.3f}", val_acc=f"{val_acc:.3f}", val_loss=f"{val_loss:.3f}")
        if (val_acc, -val_loss) > (best["val_accuracy"], -best["val_loss"]):
            best = {"val_accuracy": val_acc, "val_loss": val_loss, "epoch": epoch,
                    "state": copy.deepcopy(model.state_dict())}
            stale = 0
        else:
            stale += 1
        if train_cfg.stop_at_train_accuracy is not None and train_acc >= train_cfg.stop_at_train_accuracy:
            break
        if stale >= train_cfg.patience:
            break
    bar.close()
    model.load_state_dict(best["state"])
    model.eval()
    info = {"epochs_run": len(history), "best_epoch": best["epoch"],
            "val_accuracy": best["val_accuracy"], "val_loss": best["val_loss"],
            "n_train": int(len(tr_idx)), "n_val": int(len(val_idx)),
            "train_seconds": time.perf_counter() - start, "history": history}
    return model, info


def save_model(path, model, name: str, model_cfg: ModelConfig, train_cfg: TrainConfig,
               seed: int, extra: dict) -> None:
    """``state_dict`` at ``path`` plus a JSON sidecar at ``path`` with suffix ``.json``."""
    path = Path(path)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(model.state_dict(), tmp)
    meta = {"architecture": name, "model_config": asdict(model_cfg), "train_config": asdict(train_cfg),
            "seed": seed, "versions": package_versions(), **extra}
    save_json(path.with_suffix(".json"), meta)


def load_model(path):
    """Rebuild a model from its ``.pt`` and sidecar; returns (model in eval mode, sidecar dict)."""
    path = Path(path)
    meta = load_json(path.with_suffix(".json"))
    model = build_model(meta["architecture"], ModelConfig(**meta["model_config"]))
    model = model.to(DTYPES[meta["train_config"]["dtype"]])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()
    return model, meta
