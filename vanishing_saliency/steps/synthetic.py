"""Steps of ``rules/synthetic.smk``: generate, train, saliency, table, moving_figure, heatmaps."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..data import load_split, load_splits
from ..io import save_figure, save_npz, save_table, save_text
from ..synthetic import generate_dataset
from ..tables.synthetic import markdown, moving_box, summarise
from ..training import load_model
from ..workflow import Job
from .common import attribute_split, first_per_class, train_and_save

log = logging.getLogger("vanishing_saliency")


def generate(job: Job) -> None:
    """One seeded box dataset: train and test splits with their ground-truth masks."""
    s, seed = job.params.settings, job.params.seed
    data = generate_dataset(s["patterns"], n_time=s["n_time"], n_features=s["n_features"], n_train=s["n_train"],
                            n_test=s["n_test"], seed=seed, standardize=s["standardize"])
    save_npz(job.output[0], **data, seed=np.int64(seed))
    log.info("wrote %s: %d train / %d test samples", job.output[0], s["n_train"], s["n_test"])


def train(job: Job) -> dict:
    """One architecture on one dataset (validation carved from the training split)."""
    wc, p = job.wildcards, job.params
    return train_and_save(load_splits(job.input[0]), job.output.model, wc.model, p.models, p.training, p.seed,
                          job.threads, wc.dataset, {"dataset": wc.dataset})


def saliency(job: Job) -> pd.DataFrame:
    """Saliency maps of the test set, their per-sample WJac / Euc against the box, and a few examples."""
    model, meta = load_model(job.input.model)
    test = load_split(job.input.data, "test")
    method, cfg = job.wildcards.method, job.params.saliency
    r = attribute_split(model, test, method, cfg, job.params.seed, job.threads)
    table = pd.DataFrame({"sample": np.arange(len(r["maps"])), "label": test["y"], "pattern": test["pattern"],
                          "correct": r["correct"].astype(int), "wjac": r["wjac"], "euc": r["euc"]})
    save_table(job.output.metrics, table)
    keep = first_per_class(test["y"], cfg["examples"])  # for the heat-map figures
    save_npz(job.output.examples, index=keep, x=test["x"][keep], mask=test["mask"][keep], y=test["y"][keep],
             saliency=r["maps"][keep].astype(np.float32), architecture=meta["architecture"], method=method)
    log.info("%s / %s on %s: WJac %.4f  Euc %.4f  accuracy %.3f", meta["architecture"], method,
             meta["dataset"], table.wjac.mean(), table.euc.mean(), table.correct.mean())
    return table


def table(job: Job) -> pd.DataFrame:
    """Paper Table 1 / Table 2: TSV (one row per dataset x model x method) and Markdown (paper layout)."""
    summary = summarise(job.params.runs, job.input)
    save_table(job.output.tsv, summary)
    save_text(job.output.md, markdown(summary, job.params.title))
    return summary


def moving_figure(job: Job) -> None:
    """Saliency quality against the box's start (paper Fig. 5)."""
    from ..plots import moving_box_figure

    summary = moving_box(job.params.runs, job.input, job.params.starts)
    save_table(job.output.tsv, summary)
    save_figure(moving_box_figure(summary, job.params.starts), job.output.png, job.output.pdf)


def heatmaps(job: Job) -> None:
    """One test sample's saliency per model on one dataset (paper Fig. 3)."""
    from ..plots import saliency_heatmaps

    examples = []
    for path in job.input:
        with np.load(path) as f:
            examples.append({k: f[k] for k in f.files})
    save_figure(saliency_heatmaps(examples, job.wildcards.dataset), job.output.png, job.output.pdf)
