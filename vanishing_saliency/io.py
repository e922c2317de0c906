"""File I/O at the edges: atomic writes (temp name, then rename) and metadata."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A crash or exception leaves no half-written ``path`` behind.  The file gets the permissions a plain ``open``
    would give it (0666 less the umask: readable by the group on a shared cluster), not mkstemp's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=suffix or "".join(path.suffixes), dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if os.path.exists(tmp):  # a writer may have replaced the temp file: chmod what is there
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def temp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def remove_stale_temps(path) -> list[Path]:
    """Delete temp files an earlier, killed writer of ``path`` left beside it (SIGKILL skips cleanup).

    Safe because Snakemake runs one job per output at a time, so no live writer owns them.
    """
    path = Path(path)
    stale = [p for p in path.parent.glob(temp_prefix(path) + "*") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def save_npz(path, **arrays) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def save_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def save_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_table(path, frame) -> None:
    """Write a pandas DataFrame as TSV."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def save_figure(fig, *paths, dpi: int = 150) -> None:
    """Save a figure to each path (format from the suffix).  A figure laid out to its own margins
    (``fig.fixed_layout = True``) is saved as it is; any other is trimmed to its contents, which costs
    one more drawing pass."""
    tight = None if getattr(fig, "fixed_layout", False) else "tight"
    for p in paths:
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=Path(p).suffix.lstrip("."), dpi=dpi, bbox_inches=tight)


def load_json(path):
    return json.loads(Path(path).read_text())


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


SIDECAR_PACKAGES = ("vanishing_saliency", "torch", "numpy", "captum", "snakemake")


def package_versions(names=SIDECAR_PACKAGES) -> dict:
    """Versions of the packages that decide the numbers (None when not installed)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
