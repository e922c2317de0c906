"""Atomic writes: a failure leaves neither a half-written file nor a temp file behind."""

import numpy as np
import pytest

from vanishing_saliency.io import atomic_path, save_npz
from vanishing_saliency.workflow import derive_seed


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.npz"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "out.npz"
    save_npz(target, a=np.arange(3))
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"junk")
            raise RuntimeError
    with np.load(target) as f:
        assert list(f["a"]) == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["out.npz"]


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(2019, "train", "earlier", "lstm") == derive_seed(2019, "train", "earlier", "lstm")
    assert derive_seed(2019, "train", "earlier", "lstm") != derive_seed(2019, "train", "earlier", "bilstm")
    assert derive_seed(2019, "train", "earlier", "lstm") == 2019 + __import__("zlib").crc32(b"train/earlier/lstm")
