"""Steps of ``rules/synthetic.smk``: generate, train (training and test saliency of every run of a pair), noise,
gates, table, methods, method_table, epoch_curve, epoch_figure, partial_window, partial_figure, moving_figure, heatmaps,
summary.

Rules that read many per-sample metric files pass ``params.runs`` (dataset, model, run, method
of each) in the order of their input lists; a run is a training seed (``seed0``, ...) or
``untrained<k>``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..claims.synthetic import synthetic_claims
from ..data import load_split, load_splits
from ..io import load_json, save_figure, save_npz, save_table, save_text
from ..maps import save_maps
from ..metrics import METRICS, POOLED_METRICS, all_scores, noise_maps, pooled_scores
from ..stats import at_chance
from ..synthetic import generate_dataset
from ..tables import synthetic as T
from ..tables.claims import claims_markdown, comparison_table, verdict_table
from ..workflow import Job

# torch is imported by the steps that train or attribute, inside them (vanishing_saliency.LAZY_IMPORTS): the jobs
# that generate data, score noise maps or draw tables and figures do not load it

log = logging.getLogger("vanishing_saliency")


def generate(job: Job) -> None:
    """One seeded box dataset: train and test splits with their ground-truth masks."""
    s, seed = job.params.settings, job.params.seed
    data = generate_dataset(
        s["patterns"],
        n_time=s["n_time"],
        n_features=s["n_features"],
        n_train=s["n_train"],
        n_test=s["n_test"],
        seed=seed,
        standardize=s["standardize"],
    )
    save_npz(job.output[0], **data, seed=np.int64(seed))
    log.info("wrote %s: %d train / %d test samples", job.output[0], s["n_train"], s["n_test"])


def train(job: Job) -> list[dict]:
    """Every run of one architecture on one dataset (``wildcards.pair``: "<dataset>/<model>"): its training
    seeds, then as many untrained floors (0 epochs), each trained with its seed of ``params.seeds`` and all of them
    together (:func:`vanishing_saliency.stacked.train_stacked`: each as if it had trained alone); then every
    run's test saliency for every method of ``params.methods`` (seed ``params.seeds["<method>/<run>"]``), scored
    per sample against the box, with a few examples of the first run (and every run's every map with
    ``saliency.save_maps: all``).  ``params.runs`` and the outputs list the runs in the same order;
    ``output.metrics`` (/ ``output.maps``) hold one file per (run, method), runs outer; ``output.examples`` one per
    method, of the first run."""
    from .common import train_together_and_save

    dataset, name = job.wildcards.pair.split("/")
    p = job.params
    splits = load_splits(job.input[0])
    records = train_together_and_save(
        [
            {
                "splits": splits,
                "path": path,
                "training": run["training"],
                "seed": p.seeds[run["run"]],
                "label": run["run"],
                "extra": {"dataset": dataset, "run": run["run"]},
            }
            for run, path in zip(p.runs, job.output.models, strict=True)
        ],
        name,
        p.models,
        job.threads,
        dataset,
    )
    runs = [r["run"] for r in p.runs]
    keys = [(run, method) for run in runs for method in p.methods]
    metrics = dict(zip(keys, job.output.metrics, strict=True))
    examples = dict(zip([(runs[0], method) for method in p.methods], job.output.examples, strict=True))
    maps = dict(zip(keys, job.output.maps, strict=True)) if job.output.maps else {}
    for method in p.methods:
        _score_runs(
            job.input[0],
            dict(zip(runs, job.output.models, strict=True)),
            method,
            p.saliency,
            {run: p.seeds[f"{method}/{run}"] for run in runs},
            job.threads,
            {run: metrics[(run, method)] for run in runs},
            {run: examples[(run, method)] for run in runs if (run, method) in examples},
            {run: maps[(run, method)] for run in runs if (run, method) in maps},
        )
    return records


def _scores_table(split: dict, result: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample": np.arange(len(split["y"])),
            "label": split["y"],
            "pattern": split["pattern"],
            "pred": result["pred"],
            "correct": result["correct"].astype(int),
            **{m: result[m] for m in METRICS},
            # one value per run (the batch pooled), on every row of it
            **{m: result[m] for m in POOLED_METRICS if m in result},
        }
    )


def _score_runs(
    data_path,
    models: dict,
    method: str,
    cfg: dict,
    seeds: dict,
    threads: int,
    metrics: dict,
    examples: dict,
    maps: dict,
) -> list[pd.DataFrame]:
    """For every run (``models``: run -> model file): saliency maps of the test set by ``method``, every per-sample
    metric against the box (written to ``metrics[run]``), a few examples for the runs of ``examples``
    (``examples[run]``) and, for the runs of ``maps``, every map (a maps file, :mod:`vanishing_saliency.maps`)."""
    from ..training import load_model
    from .common import attribute_split, first_per_class, gradient_shap_baselines

    test = load_split(data_path, "test")
    keep = first_per_class(test["y"], cfg["examples"])  # for the heat-map figures
    tables = []
    for run, model_path in models.items():
        seed = seeds[run]
        model, meta = load_model(model_path)
        r = attribute_split(
            model, test, method, cfg, seed, threads, gradient_shap_baselines(data_path, method, cfg, seed)
        )
        table = _scores_table(test, r)
        save_table(metrics[run], table)
        if run in examples:
            save_npz(
                examples[run],
                index=keep,
                x=test["x"][keep],
                mask=test["mask"][keep],
                y=test["y"][keep],
                saliency=r["maps"][keep].astype(np.float32),
                architecture=meta["architecture"],
                method=method,
            )
        if run in maps:
            save_maps(
                maps[run],
                r["maps"],
                test["y"],
                test["lengths"],
                target=test["y"],
                pred=r["pred"],
                index=np.arange(len(test["y"])),
                mask=test["mask"],
                pattern=test["pattern"],
                architecture=meta["architecture"],
                method=method,
                output="probability",
                run=run,
                dataset=meta["dataset"],
            )
        log.info(
            "%s (%s) / %s on %s: WJac %.4f  AUROC %.4f  accuracy %.3f",
            meta["architecture"],
            run,
            method,
            meta["dataset"],
            table.wjac.mean(),
            table.auroc.mean(),
            table.correct.mean(),
        )
        tables.append(table)
    return tables


def noise(job: Job) -> pd.DataFrame:
    """Every metric of |N(0,1)| maps (seeded) on the test samples: the floor of every table."""
    test = load_split(job.input[0], "test")
    maps = noise_maps(test["x"].shape, job.params.seed)
    r = {
        "pred": np.zeros(len(test["y"]), int),
        "correct": np.zeros(len(test["y"]), bool),
        **all_scores(maps, test["mask"]),
        **pooled_scores(maps, test["mask"]),
    }
    table = _scores_table(test, r).drop(columns=["pred", "correct"])
    save_table(job.output[0], table)
    log.info("noise maps on %s: WJac %.4f  AUROC %.4f", job.input[0], table.wjac.mean(), table.auroc.mean())
    return table


def gates(job: Job) -> pd.DataFrame:
    """Every run of every group against its own label-permutation null, once: the gate every table, figure and claim
    reads (a model learned where every run is above its null)."""
    p = job.params
    samples = {tuple(k): pd.read_csv(path, sep="\t") for k, path in zip(p.runs, job.input.metrics, strict=True)}
    table = T.gates(samples, p.permutations, p.seed, p.level)
    save_table(job.output[0], table)
    cells = table.drop_duplicates(["dataset", "model", "kind"])
    log.info("%d runs gated: %d of %d cells learned", len(table), int(cells.learned.sum()), len(cells))
    return table


def _gates(job: Job) -> pd.DataFrame:
    return pd.read_csv(job.input.gates, sep="\t")


def table(job: Job) -> pd.DataFrame:
    """Table 1 / Table 2: per-run rows, cells (mean ± sd over seeds, against the noise map) and Markdown."""
    p = job.params
    runs, samples = T.read_runs(p.runs, job.input.metrics, [load_json(s) for s in job.input.sidecars])
    noise_ = T.read_noise(p.datasets, job.input.noise)
    cells = T.cells(runs, samples, noise_, _gates(job), p.seed, p.bootstrap, p.level)
    save_table(job.output.runs, runs)
    save_table(job.output.tsv, cells)
    save_text(job.output.md, T.markdown(cells, p.title))
    return cells


def methods(job: Job) -> pd.DataFrame:
    """Every method of the method table on one trained model (seed 0), the first ``max_test`` test samples."""
    from ..training import load_model
    from .common import attribute_split, gradient_shap_baselines

    p = job.params
    model, meta = load_model(job.input.model)
    test = load_split(job.input.data, "test")
    if p.max_test is not None:
        test = {k: v[: p.max_test] for k, v in test.items()}
    frames = []
    for method in p.methods:
        r = attribute_split(
            model,
            test,
            method,
            p.saliency,
            p.seed,
            job.threads,
            gradient_shap_baselines(job.input.data, method, p.saliency, p.seed),
        )
        frames.append(_scores_table(test, r).assign(method=method))
        log.info(
            "%s / %s: AUROC %.4f  WJac %.4f", meta["architecture"], method, np.nanmean(r["auroc"]), np.mean(r["wjac"])
        )
    out = pd.concat(frames, ignore_index=True)
    save_table(job.output[0], out)
    return out


def method_table(job: Job) -> pd.DataFrame:
    """The method table: rows model x method, columns Table 1's datasets, AUROC and WJac against noise."""
    p = job.params
    frames = [pd.read_csv(path, sep="\t") for path in job.input.methods]
    t = T.method_cells(
        [tuple(x) for x in p.pairs],
        frames,
        T.read_noise(p.datasets, job.input.noise),
        _gates(job),
        p.seed,
        p.bootstrap,
        p.level,
    )
    save_table(job.output.tsv, t)
    save_text(job.output.md, T.method_markdown(t))
    return t


def epoch_curve(job: Job) -> pd.DataFrame:
    """Saliency quality (gradient) and test accuracy after every epoch of one training, epoch 0 included."""
    from ..saliency import attribute
    from ..training import evaluate, train_model
    from .common import model_config, saliency_options, train_config

    p, name = job.params, job.wildcards.model
    splits = load_splits(job.input[0])
    tr, te = splits["train"], splits["test"]
    te = {k: v[: p.max_test] for k, v in te.items()}
    rows = []

    def score(epoch, model):
        was_training = model.training
        maps = attribute("gradient", model, te["x"], te["y"], te["lengths"], options=saliency_options(p.saliency))
        s = all_scores(maps, te["mask"])
        rows.append(
            {
                "model": name,
                "epoch": epoch,
                "test_accuracy": evaluate(model, te["x"], te["y"], te["lengths"])[0],
                **{m: float(np.nanmean(s[m])) for m in METRICS},
            }
        )
        model.train(was_training)

    import torch

    torch.set_num_threads(int(job.threads))
    model, info = train_model(
        name,
        model_config(p.models, tr["x"].shape[2], splits["n_classes"]),
        train_config(p.training),
        tr["x"],
        tr["y"],
        tr["lengths"],
        seed=p.seed,
        desc=f"{p.dataset}/{name} epoch curve",
        on_epoch=score,
    )
    curve = pd.DataFrame(rows).merge(pd.DataFrame(info["history"]), on="epoch", how="left")
    curve.insert(1, "dataset", p.dataset)
    curve["kept_by_first_best"] = curve.epoch == _first_best(info["history"])
    save_table(job.output[0], curve)
    return curve


def partial_window(job: Job) -> pd.DataFrame:
    """Partial input-cell attention with window K = ``wildcards.window`` on one dataset: every training run (seeds
    ``params.seeds``) trained, then its test accuracy and gradient-saliency scores (the means of the per-sample
    metrics, and the pooled ones), one row per run."""
    import torch

    from ..training import train_model
    from .common import attribute_split, model_config, train_config

    p, window = job.params, int(job.wildcards.window)
    splits = load_splits(job.input[0])
    tr, te = splits["train"], splits["test"]
    torch.set_num_threads(int(job.threads))
    rows = []
    for run, seed in p.seeds.items():
        model, info = train_model(
            "inputcell_lstm_partial",
            model_config({**p.models, "window": window}, tr["x"].shape[2], splits["n_classes"]),
            train_config(p.training),
            tr["x"],
            tr["y"],
            tr["lengths"],
            seed=seed,
            desc=f"{p.dataset} window {window} {run}",
        )
        r = attribute_split(model, te, "gradient", p.saliency, seed, job.threads)
        accuracy = float(r["correct"].mean())
        rows.append(
            {
                "dataset": p.dataset,
                "window": window,
                "run": run,
                "epochs_run": info["epochs_run"],
                "test_accuracy": accuracy,
                "at_chance": at_chance(accuracy, len(r["correct"]), splits["n_classes"]),
                **{m: float(np.nanmean(r[m])) for m in METRICS},
                **{m: r[m] for m in POOLED_METRICS},
            }
        )
        log.info("window %d %s: accuracy %.3f  AUROC %.4f", window, run, accuracy, rows[-1]["auroc"])
    table = pd.DataFrame(rows)
    save_table(job.output[0], table)
    return table


def partial_figure(job: Job) -> pd.DataFrame:
    """Gradient AUROC and test accuracy of partial input-cell attention against its window K, beside the noise map's
    AUROC on the same test set (one table of every run, and the figure)."""
    from ..plots.synthetic import partial_window_figure

    runs = pd.concat([pd.read_csv(p, sep="\t") for p in job.input.windows], ignore_index=True)
    noise_ = pd.read_csv(job.input.noise, sep="\t")
    save_table(job.output.tsv, runs)
    save_figure(
        partial_window_figure(runs, float(noise_.auroc.mean()), job.params.n_time), job.output.png, job.output.pdf
    )
    return runs


def _first_best(history) -> int:
    from ..training import select_epoch

    return select_epoch(history, "first_best")


def epoch_figure(job: Job) -> None:
    from ..plots.synthetic import epoch_curve_figure

    curve = pd.concat([pd.read_csv(p, sep="\t") for p in job.input], ignore_index=True)
    save_table(job.output.tsv, curve)
    save_figure(epoch_curve_figure(curve), job.output.png, job.output.pdf)


def moving_figure(job: Job) -> None:
    """Saliency quality against the box's start (paper Fig. 5), with the untrained and noise floors."""
    from ..plots.synthetic import moving_box_figure

    p = job.params
    runs, samples = T.read_runs(p.runs, job.input.metrics)
    # the figure shows means and spreads: no intervals against the noise map (the summary tests the claims)
    cells = T.cells(runs, samples, T.read_noise(p.datasets, job.input.noise), _gates(job), p.seed, 0, p.level)
    summary = T.moving_box(cells, p.starts)
    save_table(job.output.tsv, summary)
    save_figure(moving_box_figure(summary), job.output.png, job.output.pdf)


def heatmaps(job: Job) -> None:
    """One test sample's saliency per model on one dataset (paper Fig. 3)."""
    from ..plots.synthetic import saliency_heatmaps

    examples = []
    for path in job.input:
        with np.load(path) as f:
            examples.append({k: f[k] for k in f.files})
    save_figure(saliency_heatmaps(examples, job.wildcards.dataset), job.output.png, job.output.pdf)


def summary(job: Job) -> pd.DataFrame:
    """Claims 3 and 4 of SPEC section 1, decided at the run level: one verdict line per claim and scope
    (``summary.tsv``), every comparison behind them (``summary_tests.tsv``) and the Markdown page."""

    p, i = job.params, job.input
    t1 = dict(zip(map(tuple, p.table1), [pd.read_csv(x, sep="\t") for x in i.table1], strict=True))
    mv = dict(zip(map(tuple, p.moving), [pd.read_csv(x, sep="\t") for x in i.moving], strict=True))
    noise_ = T.read_noise(p.noise_datasets, i.noise)
    box_ends = {d: tuple(v) for d, v in p.box_ends.items()}
    claims = synthetic_claims(t1, mv, noise_, p.starts, _gates(job), p.summary, box_ends)
    s = p.summary
    intro = (
        f"Saliency method: {p.method} (the paper's). The replicate is the training run: every test compares run "
        "means (Welch t-test against other runs, one-sample or paired against a floor scored on the same runs, two "
        "one-sided tests for an equivalence). Deciding metric per claim: "
        + ", ".join(f"{k} {v}" for k, v in s["deciding_metric"].items())
        + f"; 3c is WJac against the paper (±{s['paper_tolerance']:g}); "
        + ", ".join(s["reported_metrics"])
        + " are reported beside, never voted. A map within "
        + ", ".join(f"{v:g} {k}" for k, v in s["smallest_effect"].items() if k in s["deciding_metric"].values())
        + " of its noise floor is equivalent to it (synthetic.summary.smallest_effect), the effect the planned "
        "runs should detect. Paper values: SPEC section 5 (Table 1)."
    )
    notes = T.summary_notes(pd.read_csv(i.method_table, sep="\t"), list(dict.fromkeys(d for d, *_ in p.table1)))
    table = verdict_table(claims)
    save_table(job.output.tsv, table)
    save_table(job.output.tests, comparison_table(claims))
    save_text(
        job.output.md,
        claims_markdown(
            "Synthetic boxes: the paper's claims 3 and 4 in this run",
            intro,
            claims,
            notes,
            notes_heading="What the method table shows",
        ),
    )
    return table
