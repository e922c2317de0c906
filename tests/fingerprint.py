"""Content hashes of a run's numbers: every table, array, model state_dict, JSON sidecar and PNG.

npz and .pt files are zip archives with write times inside, so arrays and tensors are hashed
by name, dtype, shape and bytes rather than file bytes.  Left out, with the reason:
provenance.json/.tsv (they record the date and host), PDFs (matplotlib stamps a creation
date), and the wall-clock ``train_seconds`` of the training sidecars.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

VOLATILE = {"provenance.json", "provenance.tsv"}
VOLATILE_KEYS = {"train_seconds"}


def _array_digest(h, name, arr):
    arr = np.ascontiguousarray(arr)
    h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
    h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            for name in sorted(f.files):
                _array_digest(h, name, f[name])
    elif path.suffix == ".pt":
        state = torch.load(path, map_location="cpu", weights_only=True)
        for name in sorted(state):
            _array_digest(h, name, state[name].numpy())
    elif path.suffix == ".json":
        record = json.loads(path.read_text())
        if isinstance(record, dict):
            record = {k: v for k, v in record.items() if k not in VOLATILE_KEYS}
        h.update(json.dumps(record, sort_keys=True).encode())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(workdir: Path) -> dict[str, str]:
    """{relative path: digest} of every result and resource file that carries numbers."""
    out = {}
    for top in ("results", "resources"):
        for path in sorted((workdir / top).rglob("*")):
            if path.is_file() and path.name not in VOLATILE and path.suffix in {
                    ".tsv", ".md", ".npz", ".pt", ".json", ".png"}:
                out[str(path.relative_to(workdir))] = file_digest(path)
    return out


def differences(a: dict, b: dict) -> list[str]:
    return ([f"only in first run: {k}" for k in sorted(a.keys() - b.keys())]
            + [f"only in second run: {k}" for k in sorted(b.keys() - a.keys())]
            + [f"differs: {k}" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]])
