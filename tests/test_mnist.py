"""MNIST branch: idx parsing, verification against the canonical files, temporal profile, and the
branch run end to end by Snakemake on a small subset."""

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from report_check import check_report

from vanishing_saliency.mnist import (
    SPLITS,
    MNISTDataError,
    idx_bytes,
    last_rows_fraction,
    load_arrays,
    read_idx,
    select_digits,
    temporal_profile,
    verify,
)
from vanishing_saliency.steps import mnist as steps
from vanishing_saliency.steps.mnist import pick_examples
from vanishing_saliency.workflow import Job

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    return load_arrays("package")


def _write_idx(folder: Path, arrays: dict, gz: bool):
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in SPLITS.items():
        data = idx_bytes(arrays[key])
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data, compresslevel=1))
        else:
            (folder / stem).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    a = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    path.write_bytes(gzip.compress(idx_bytes(a)) if gz else idx_bytes(a))
    b = read_idx(path)
    assert b.dtype == np.uint8 and b.shape == (5, 28, 28) and np.array_equal(a, b)
    labels = np.arange(7, dtype=np.uint8)
    (tmp_path / "l.idx").write_bytes(idx_bytes(labels))
    assert np.array_equal(read_idx(tmp_path / "l.idx"), labels)
    assert idx_bytes(labels)[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 7])  # magic 0x00000801, count 7


@pytest.mark.parametrize(
    "content,message",
    [
        (idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-10], "truncated or corrupt"),
        (b"\x1f\x00\x08\x03" + bytes(20), "not an idx file"),
        (bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + bytes(4), "expected 0x08"),
        (bytes([0, 0, 8, 3, 0, 0]), "header truncated"),
    ],
)
def test_bad_idx_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(MNISTDataError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))[:30])
    with pytest.raises(MNISTDataError, match="cannot read") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_missing_idx_file_names_folder_and_file(tmp_path):
    with pytest.raises(MNISTDataError, match="train-images-idx3-ubyte") as err:
        load_arrays("idx", tmp_path)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(MNISTDataError, match="idx_folder is not set"):
        load_arrays("idx", None)
    with pytest.raises(MNISTDataError, match="unknown mnist.source"):
        load_arrays("web")


def test_package_arrays_are_the_canonical_mnist(mnist):
    assert mnist["train_images"].shape == (60000, 28, 28) and mnist["test_images"].shape == (10000, 28, 28)
    verify(mnist)  # md5 of each array's idx encoding + label counts
    _, y_train, _ = select_digits(mnist["train_images"], mnist["train_labels"], [1, 6, 7])
    _, y_test, _ = select_digits(mnist["test_images"], mnist["test_labels"], [1, 6, 7])
    assert len(y_train) == 6742 + 5918 + 6265 and len(y_test) == 3121


def test_verify_rejects_one_changed_pixel_or_label(mnist):
    images = mnist["test_images"].copy()
    images[1234, 14, 14] ^= 1
    with pytest.raises(MNISTDataError, match="test_images: md5 .* differs from the canonical"):
        verify({**mnist, "test_images": images})
    labels = mnist["train_labels"].copy()
    labels[labels == 3] = 8  # a relabelled class changes the counts before the md5 is reached
    with pytest.raises(MNISTDataError, match="label counts"):
        verify({**mnist, "train_labels": labels})
    with pytest.raises(MNISTDataError, match="expected \\(n, 28, 28\\)"):
        verify({**mnist, "test_images": mnist["test_images"][:, :27]})


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_source_equals_package(tmp_path, mnist, gz):
    _write_idx(tmp_path / "idx", mnist, gz)
    arrays = load_arrays("idx", tmp_path / "idx")
    for key in SPLITS:
        assert np.array_equal(arrays[key], mnist[key])
    verify(arrays)


def _prepare_job(tmp_path, verify):
    return Job.make(
        output=[tmp_path / "d.npz"],
        params={
            "source": "idx",
            "idx_folder": tmp_path / "idx",
            "verify": verify,
            "digits": [1, 6, 7],
            "max_train": 30,
            "max_test": 30,
            "ink_threshold": 0.5,
            "seed": 0,
        },
    )


def test_prepare_fails_on_altered_files_and_says_how_to_override(tmp_path, mnist):
    altered = {**mnist, "train_images": mnist["train_images"].copy()}
    altered["train_images"][0, 0, 0] = 255
    _write_idx(tmp_path / "idx", altered, gz=False)
    with pytest.raises(MNISTDataError, match="mnist.verify: false"):
        steps.prepare(_prepare_job(tmp_path, verify=True))
    assert not (tmp_path / "d.npz").exists()
    steps.prepare(_prepare_job(tmp_path, verify=False))
    with np.load(tmp_path / "d.npz") as f:
        assert f["x_train"].shape == (30, 28, 28) and set(f["y_train"]) == {0, 1, 2}
        assert set(f["pattern_test"]) == {1, 6, 7}
        # SPEC section 6 normalisation and the ink mask agree with the raw pixels
        raw = f["images_test"]
        assert np.allclose(f["x_test"], (raw / 255.0 - 0.1307) / 0.3081, atol=1e-6)
        assert np.array_equal(f["mask_test"], raw > 127.5)


def test_temporal_profile_known_answers():
    maps = np.zeros((4, 28, 28))
    maps[0, 27, :] = 1.0  # all mass in the last row
    maps[1] = -2.0  # uniform, negative sign ignored
    maps[2, 0, 3] = 5.0  # all mass in the first row
    # sample 3 is all zero: uniform by convention (no division by zero)
    maps[3] = 0.0
    p = temporal_profile(maps)
    assert p.shape == (4, 28) and np.allclose(p.sum(1), 1.0)
    assert p[0, 27] == 1.0 and p[0, :27].sum() == 0.0
    assert np.allclose(p[1], 1 / 28) and np.allclose(p[3], 1 / 28)
    assert p[2, 0] == 1.0
    assert np.allclose(last_rows_fraction(maps, 7), [1.0, 0.25, 0.0, 0.25])
    half = np.zeros((1, 28, 28))
    half[0, 20, 0], half[0, 25, 0] = 1.0, 3.0
    assert np.allclose(last_rows_fraction(half, 7), 0.75)


def test_select_digits_is_stratified_seeded_and_remapped():
    labels = np.repeat(np.arange(10), 50)
    images = np.arange(500)[:, None, None] * np.ones((1, 2, 2), np.uint8)
    x, y, keep = select_digits(images, labels, [7, 1], limit=20, seed=3)
    assert len(y) == 20 and np.bincount(y).tolist() == [10, 10]
    assert set(labels[keep[y == 0]]) == {7} and set(labels[keep[y == 1]]) == {1}
    _, _, again = select_digits(images, labels, [7, 1], limit=20, seed=3)
    _, _, other = select_digits(images, labels, [7, 1], limit=20, seed=4)
    assert np.array_equal(keep, again) and not np.array_equal(keep, other)
    _, y_all, _ = select_digits(images, labels, [7, 1])
    assert len(y_all) == 100


def test_pick_examples_fixed_per_digit():
    digits = np.array([1, 6, 7] * 10)
    a = pick_examples(digits, 2, seed=5)
    assert len(a) == 6 and list(digits[a]) == [1, 1, 6, 6, 7, 7]
    assert np.array_equal(a, pick_examples(digits, 2, seed=5))


def test_table_step_uses_correct_samples_only(tmp_path):
    prof = np.zeros((3, 28))
    prof[0, 27] = 1.0  # correct, all mass in the last row
    prof[1, 0] = 1.0  # correct, all mass in the first row
    prof[2, 27] = 1.0  # misclassified, ignored by the saliency columns
    t = pd.DataFrame(
        {"sample": range(3), "digit": [1, 6, 7], "correct": [1, 1, 0], "wjac": [0.2, 0.4, 0.9], "euc": [1.0, 2.0, 9.0]}
    )
    for r in range(28):
        t[f"row_{r:02d}"] = prof[:, r]
    t.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    (tmp_path / "m.json").write_text('{"epochs_run": 4}')
    table = steps.table(
        Job.make(
            input={"metrics": [tmp_path / "m.tsv"], "sidecars": [tmp_path / "m.json"]},
            output={"tsv": tmp_path / "t.tsv", "md": tmp_path / "t.md"},
            params={"runs": [("lstm", "gradient")], "last_rows": 7},
        )
    )
    row = table.iloc[0]
    assert row.test_accuracy == pytest.approx(2 / 3) and row.last_7_rows_fraction == pytest.approx(0.5)
    assert row.first_half_fraction == pytest.approx(0.5) and row.wjac_vs_ink == pytest.approx(0.3)
    assert row.euc_vs_ink == pytest.approx(1.5) and row.epochs == 4
    assert "| LSTM | gradient | 66.67 | 0.500 |" in (tmp_path / "t.md").read_text()


@pytest.mark.workflow
def test_mnist_branch_end_to_end(tmp_path):
    cfg = yaml.safe_load((ROOT / "tests" / "tiny_config.yaml").read_text())
    cfg["synthetic"]["enabled"] = False
    cfg["mnist"]["enabled"] = True
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--cores",
            "2",
            "--configfile",
            "config.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-4000:]
    out = tmp_path / "results/mnist"
    table = pd.read_csv(out / "table.tsv", sep="\t")
    methods = cfg["saliency"]["methods"]
    assert len(table) == 2 * len(methods) and set(table.model) == {"lstm", "inputcell_lstm"}
    assert (table.n_test == 90).all() and (table.test_accuracy > 1 / 3).all()  # above chance after 3 epochs
    profile = pd.read_csv(out / "temporal_profile.tsv", sep="\t")
    assert set(profile.digit) == {1, 6, 7} and set(profile.row) == set(range(28))
    assert np.allclose(profile.groupby(["model", "digit"]).share.sum(), 1.0)
    for fig in ("saliency_examples", "temporal_profile"):
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{fig}.{ext}").stat().st_size > 5000
    with np.load(out / f"saliency/lstm_{methods[0]}.npz") as f:
        assert f["saliency"].shape == (90, 28, 28) and (f["saliency"] >= 0).all()
    assert "MNIST arrays match the canonical md5s" in (tmp_path / "logs/mnist/prepare.log").read_text()
    check_report(tmp_path, tmp_path / "config.yaml", "results/mnist", ["MNIST"], ["table.tsv"])
