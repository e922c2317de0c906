"""Steps of ``rules/mnist.smk`` (paper Fig. 6, supplement Fig. 11): prepare, train, saliency, table, figures.

The prepared file has the split-array layout of a synthetic dataset (``x_train``, ``y_train``,
``lengths_train``, ... and ``mask_test`` = the digit's ink), so training and saliency are the
shared ones of :mod:`.common`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..data import load_split, load_splits
from ..io import load_json, save_figure, save_npz, save_table, save_text
from ..mnist import load_digits, normalise, temporal_profile
from ..tables.mnist import mnist_markdown, mnist_table, temporal_profile_table
from ..training import load_model
from ..workflow import Job
from .common import attribute_split, train_and_save

log = logging.getLogger("vanishing_saliency")


def prepare(job: Job) -> None:
    """Load, verify and normalise the chosen digits; the ink mask is the saliency ground truth."""
    p = job.params
    d = load_digits(p.source, p.idx_folder, p.verify, p.digits, p.max_train, p.max_test, p.seed)
    tr_img, y_tr, te_img, y_te, idx_te = (
        d["train_images"],
        d["train_labels"],
        d["test_images"],
        d["test_labels"],
        d["test_index"],
    )
    save_npz(
        job.output[0],
        x_train=normalise(tr_img),
        y_train=y_tr,
        lengths_train=np.full(len(y_tr), 28),
        x_test=normalise(te_img),
        y_test=y_te,
        lengths_test=np.full(len(y_te), 28),
        mask_test=te_img / 255.0 > p.ink_threshold,
        pattern_test=np.asarray(p.digits)[y_te],
        images_test=te_img,
        mnist_index_test=idx_te,
        digits=np.asarray(p.digits),
        seed=np.int64(p.seed),
    )
    log.info("MNIST digits %s: %d train / %d test images", p.digits, len(y_tr), len(y_te))


def train(job: Job) -> dict:
    """One architecture on the digits."""
    p = job.params
    return train_and_save(
        load_splits(job.input[0]),
        job.output.model,
        job.wildcards.model,
        p.models,
        p.training,
        p.seed,
        job.threads,
        "mnist",
        {"dataset": "mnist"},
    )


def saliency(job: Job) -> pd.DataFrame:
    """Saliency of every test image, its scores against the ink and its temporal profile."""
    model, meta = load_model(job.input.model)
    test = load_split(job.input.data, "test")
    method = job.wildcards.method
    r = attribute_split(model, test, method, job.params.saliency, job.params.seed, job.threads)
    maps = np.abs(r["maps"])
    profile = temporal_profile(maps)
    table = pd.DataFrame(
        {
            "sample": np.arange(len(test["y"])),
            "digit": test["pattern"],
            "correct": r["correct"].astype(int),
            "wjac": r["wjac"],
            "euc": r["euc"],
        }
    )
    for row in range(profile.shape[1]):
        table[f"row_{row:02d}"] = profile[:, row]
    save_table(job.output.metrics, table)
    save_npz(
        job.output.maps,
        saliency=maps.astype(np.float32),
        pred=r["pred"],
        y=test["y"],
        architecture=meta["architecture"],
        method=method,
    )
    log.info(
        "%s / %s: accuracy %.4f, WJac vs ink %.4f, Euc %.4f",
        meta["architecture"],
        method,
        table.correct.mean(),
        table.wjac.mean(),
        table.euc.mean(),
    )
    return table


def table(job: Job) -> pd.DataFrame:
    """Accuracy, last-rows saliency share and WJac / Euc against the ink, per model and method."""
    p = job.params
    t = mnist_table(p.runs, job.input.metrics, [load_json(s) for s in job.input.sidecars], p.last_rows)
    save_table(job.output.tsv, t)
    save_text(job.output.md, mnist_markdown(t, p.last_rows))
    return t


def pick_examples(digits_of_samples, per_digit: int, seed: int) -> np.ndarray:
    """A fixed, seeded choice of ``per_digit`` test images of each digit."""
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            np.sort(rng.choice(np.flatnonzero(digits_of_samples == d), per_digit, replace=False))
            for d in np.unique(digits_of_samples)
        ]
    )


def figures(job: Job) -> None:
    """Example images with each model's saliency (Fig. 6), and the temporal saliency profile."""
    from ..plots.mnist import mnist_examples_figure, mnist_profile_figure

    p, o = job.params, job.output
    with np.load(job.input.data) as f:
        images, digit = f["images_test"], f["pattern_test"]
    chosen = pick_examples(digit, p.per_digit, p.seed)
    maps = {}
    for m, path in zip(p.models, job.input.maps, strict=True):
        with np.load(path) as f:
            maps[m] = (f["saliency"][chosen], f["pred"][chosen] == f["y"][chosen])
    save_figure(mnist_examples_figure(images[chosen], digit[chosen], maps), o.examples_png, o.examples_pdf)
    profile = temporal_profile_table(p.models, job.input.metrics)
    save_table(o.profile_tsv, profile)
    save_figure(mnist_profile_figure(profile), o.profile_png, o.profile_pdf)
