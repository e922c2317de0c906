"""The HCP experiment steps (paper section 5.3): train, saliency, and the reports.

One function per workflow rule; the scripts only unpack ``snakemake``.
Models are trained on the training subjects, the checkpoint is chosen on the
validation subjects, and everything reported is measured on the test subjects.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..io import load_json, save_figure, save_npz, save_table, save_text
from ..models import LABELS, ModelConfig
from ..saliency import attribute
from ..training import TrainConfig, evaluate, load_model, predict_logits, save_model, train_model
from . import analysis as A

log = logging.getLogger("vanishing_saliency")

MODEL_KEYS = ("hidden", "r", "d_a", "dropout", "selfattn_hops", "selfattn_d_a")
TRAIN_KEYS = ("batch_size", "lr", "max_epochs", "patience", "val_fraction", "stop_at_train_accuracy", "dtype")


# ---- data -------------------------------------------------------------------

def load_samples(samples_path, split_path) -> dict:
    """The experiment's samples grouped by the subject split: {'train'|'val'|'test': dict of arrays}."""
    split = pd.read_csv(split_path, sep="\t", dtype=str)
    sets = dict(zip(split.subject, split.set))
    with np.load(samples_path) as f:
        data = {k: f[k] for k in f.files}
    missing = sorted(set(data["subjects"]) - set(sets))
    if missing:
        raise ValueError(f"{samples_path}: subjects {', '.join(missing[:5])} are not in the split {split_path}; "
                         "re-run hcp_split (delete the split file)")
    which = np.array([sets[s] for s in data["subjects"]])
    out = {"label_names": [str(x) for x in data["label_names"]], "experiment": str(data["experiment"])}
    for name in ("train", "val", "test"):
        idx = np.flatnonzero(which == name)
        if len(idx) == 0:
            raise ValueError(f"{samples_path}: no samples from {name} subjects (split {split_path})")
        out[name] = {"x": data["data"][idx], "y": data["labels"][idx], "lengths": data["lengths"][idx],
                     "on_mask": data["on_mask"][idx], "subjects": data["subjects"][idx], "runs": data["runs"][idx],
                     "block_start_frame": data["block_start_frame"][idx], "index": idx}
    return out


def chance_level(y) -> float:
    """Accuracy of always answering the most frequent class."""
    return float(np.bincount(np.asarray(y)).max() / len(y))


# ---- train and saliency -------------------------------------------------------

def train_step(samples_path, split_path, model_path, name: str, models_cfg: dict, training_cfg: dict,
               seed: int, experiment: str, threads: int = 1, replicate: int = 0) -> dict:
    """Train one model; ``replicate`` is the seed index of the config (``seed`` the derived torch seed)."""
    torch.set_num_threads(int(threads))
    d = load_samples(samples_path, split_path)
    tr, va, te = d["train"], d["val"], d["test"]
    mcfg = ModelConfig(n_features=tr["x"].shape[2], n_classes=len(d["label_names"]),
                       **{k: models_cfg[k] for k in MODEL_KEYS})
    tcfg = TrainConfig(**{k: training_cfg[k] for k in TRAIN_KEYS})
    model, info = train_model(name, mcfg, tcfg, tr["x"], tr["y"], tr["lengths"], seed=seed,
                              desc=f"hcp {experiment}/{name}", val=(va["x"], va["y"], va["lengths"]))
    test_acc, test_loss = evaluate(model, te["x"], te["y"], te["lengths"])
    train_acc, _ = evaluate(model, tr["x"], tr["y"], tr["lengths"])
    extra = {"experiment": experiment, "replicate": int(replicate), "label_names": d["label_names"], "train_accuracy": train_acc,
             "test_accuracy": test_acc, "test_loss": test_loss, "n_test": int(len(te["y"])),
             "n_test_correct": int(round(test_acc * len(te["y"]))), "test_chance": chance_level(te["y"]),
             "train_subjects": sorted(set(map(str, tr["subjects"]))),
             "val_subjects": sorted(set(map(str, va["subjects"]))),
             "test_subjects": sorted(set(map(str, te["subjects"]))), **info}
    save_model(model_path, model, name, mcfg, tcfg, seed, extra)
    log.info("%s on %s: %d epochs (best %d), train %.3f val %.3f test %.3f (chance %.3f)", name, experiment,
             info["epochs_run"], info["best_epoch"], train_acc, info["val_accuracy"], test_acc, extra["test_chance"])
    return extra


def saliency_step(samples_path, split_path, model_path, out_path, method: str, saliency_cfg: dict, seed: int,
                  threads: int = 1) -> None:
    """Saliency of every test sample (w.r.t. its true class) with the prediction, so the reports can
    use the correctly classified ones (maps, on/off share) or all of them (feature drop)."""
    torch.set_num_threads(int(threads))
    model, meta = load_model(model_path)
    te = load_samples(samples_path, split_path)["test"]
    maps = attribute(method, model, te["x"], te["y"], te["lengths"], batch_size=saliency_cfg["batch_size"],
                     options=saliency_cfg, seed=seed)
    maps = np.abs(maps) * A.valid_mask(te["lengths"], maps.shape[1])[:, :, None]
    pred = predict_logits(model, te["x"], te["lengths"]).argmax(1).numpy()
    save_npz(out_path, saliency=maps.astype(np.float32), y=te["y"], pred=pred, correct=pred == te["y"],
             lengths=te["lengths"], on_mask=te["on_mask"], subjects=te["subjects"], runs=te["runs"],
             block_start_frame=te["block_start_frame"], architecture=meta["architecture"], method=method)
    log.info("%s / %s: %d test samples, %d correct", meta["architecture"], method, len(pred), (pred == te["y"]).sum())


# ---- accuracy and the off-task control ------------------------------------------

def accuracy_step(model_jsons, out_tsv, out_md, experiment: str, alpha: float = 0.05) -> pd.DataFrame:
    """Test accuracy per model and seed with a one-sided binomial test against the majority-class rate."""
    rows = []
    for path in model_jsons:
        m = load_json(path)
        p = stats.binomtest(m["n_test_correct"], m["n_test"], m["test_chance"], alternative="greater").pvalue
        rows.append({"experiment": experiment, "model": m["architecture"], "seed": m["replicate"],
                     "torch_seed": m["seed"],
                     "test_accuracy": m["test_accuracy"], "n_test": m["n_test"], "chance": m["test_chance"],
                     "binomial_p": p, "above_chance": bool(p <= alpha), "val_accuracy": m["val_accuracy"],
                     "train_accuracy": m["train_accuracy"], "epochs": m["epochs_run"]})
    table = pd.DataFrame(rows)
    save_table(out_tsv, table)
    lines = [f"# {experiment}: test accuracy", "",
             "Mean ± sd over seeds; p: one-sided binomial test of each seed's test accuracy against the "
             f"majority-class rate (chance), largest p over seeds shown; above chance at alpha = {alpha} "
             "means every seed is.", "",
             "| model | test accuracy % | chance % | n test | max p | above chance |", "|---|---|---|---|---|---|"]
    for model, g in table.groupby("model", sort=False):
        lines.append(f"| {LABELS.get(model, model)} | {100 * g.test_accuracy.mean():.1f} ± "
                     f"{100 * g.test_accuracy.std(ddof=1) if len(g) > 1 else 0:.1f} | {100 * g.chance.iloc[0]:.1f} | "
                     f"{g.n_test.iloc[0]} | {g.binomial_p.max():.3g} | {'yes' if g.above_chance.all() else 'no'} |")
    save_text(out_md, "\n".join(lines) + "\n")
    return table


# ---- feature drop ---------------------------------------------------------------

def feature_drop_table(models: dict, maps: dict, test: dict, fractions, baseline: float, seed: int) -> pd.DataFrame:
    """Accuracy of every ``models[name]`` after removing the top fractions of every source's saliency.

    models: name -> model; maps: name -> (n, time, areas) saliency of that model on ``test``.
    Sources are each model's own map, every other model's map and a random order ('random').
    """
    x, y, lengths = test["x"], test["y"], test["lengths"]
    ranks = {src: A.salience_ranks(m, lengths) for src, m in maps.items()}
    ranks["random"] = A.random_ranks(lengths, x.shape, seed)
    rows = []
    for target, model in models.items():
        base_acc, _ = evaluate(model, x, y, lengths)
        for source, r in ranks.items():
            for frac in fractions:
                acc = base_acc if frac == 0 else evaluate(model, A.drop_features(x, r, lengths, frac, baseline),
                                                          y, lengths)[0]
                rows.append({"target": target, "source": source, "kind": "own" if source == target else
                             ("random" if source == "random" else "cross"), "fraction": float(frac),
                             "accuracy": acc, "drop": base_acc - acc})
    return pd.DataFrame(rows)


def feature_drop_step(samples_path, split_path, runs: list[dict], fractions, highlight: float, baseline: float,
                      seed: int, out_tsv, out_md, out_png, out_pdf, experiment: str) -> pd.DataFrame:
    """runs: [{'model', 'seed', 'method', 'model_path', 'saliency_path'}] for every model x seed x method."""
    test = load_samples(samples_path, split_path)["test"]
    frames = []
    runs = pd.DataFrame(runs)
    for (model_seed, method), g in runs.groupby(["seed", "method"], sort=False):
        models = {r.model: load_model(r.model_path)[0] for r in g.itertuples()}
        maps = {}
        for r in g.itertuples():
            with np.load(r.saliency_path) as f:
                maps[r.model] = f["saliency"]
        t = feature_drop_table(models, maps, test, fractions, baseline, seed + int(model_seed))
        t.insert(0, "method", method)
        t.insert(0, "seed", model_seed)
        frames.append(t)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "experiment", experiment)
    save_table(out_tsv, table)
    save_text(out_md, feature_drop_markdown(table, highlight, experiment))
    from .figures import feature_drop_figure

    fig = feature_drop_figure(table[table.method == table.method.iloc[0]], highlight, experiment)
    save_figure(fig, out_png, out_pdf)
    return table


def paired_drop_test(table: pd.DataFrame, a: str, b: str, fraction: float) -> dict:
    """Own-feature drop of model ``a`` vs model ``b`` at ``fraction``, paired by seed (t-test)."""
    own = table[(table.kind == "own") & np.isclose(table.fraction, fraction)]
    da = own[own.target == a].set_index("seed").drop_
    db = own[own.target == b].set_index("seed").drop_
    seeds = da.index.intersection(db.index)
    diff = (da[seeds] - db[seeds]).to_numpy()
    p = float(stats.ttest_rel(da[seeds], db[seeds]).pvalue) if len(seeds) > 1 and np.ptp(diff) > 0 else float("nan")
    return {"a": a, "b": b, "fraction": fraction, "n_seeds": len(seeds), "mean_difference": float(diff.mean()),
            "p_paired_t": p}


def feature_drop_markdown(table: pd.DataFrame, highlight: float, experiment: str) -> str:
    table = table.rename(columns={"drop": "drop_"})
    lines = [f"# {experiment}: accuracy drop when salient features are removed", "",
             f"Removing the top {100 * highlight:.0f} % (time, area) entries of a saliency map (replaced by "
             "the z-scored mean, 0) from every test sample; drop = accuracy before - after, in percentage "
             "points, mean ± sd over seeds. Rows: the model evaluated; columns: whose saliency chose the "
             "features (own, another model's, or random).", ""]
    for method, tm in table.groupby("method", sort=False):
        at = tm[np.isclose(tm.fraction, highlight)]
        sources = list(dict.fromkeys(at.source))
        lines += [f"## Saliency method: {method}", "",
                  "| model evaluated | accuracy % | " + " | ".join(
                      "random" if s == "random" else f"{LABELS.get(s, s)}'s features" for s in sources) + " |",
                  "|---|---|" + "---|" * len(sources)]
        base = tm[tm.fraction == 0].groupby("target").accuracy.mean()
        for target, g in at.groupby("target", sort=False):
            cells = []
            for s in sources:
                v = 100 * g[g.source == s].drop_
                cell = f"{v.mean():.1f} ± {v.std(ddof=1) if len(v) > 1 else 0:.1f}"
                cells.append(f"**{cell}**" if s == target else cell)
            lines.append(f"| {LABELS.get(target, target)} | {100 * base[target]:.1f} | " + " | ".join(cells) + " |")
        models = list(dict.fromkeys(at.target))
        tests = [paired_drop_test(tm, a, b, highlight) for i, a in enumerate(models) for b in models[i + 1:]]
        if tests:
            lines += ["", f"Paired t-test over seeds of the own-feature drop at {100 * highlight:.0f} %:", "",
                      "| model A | model B | mean drop A - B (points) | seeds | p |", "|---|---|---|---|---|"]
            lines += [f"| {LABELS.get(t['a'], t['a'])} | {LABELS.get(t['b'], t['b'])} | "
                      f"{100 * t['mean_difference']:.1f} | {t['n_seeds']} | {t['p_paired_t']:.3g} |" for t in tests]
        lines.append("")
    return "\n".join(lines)


# ---- on-task / off-task share ------------------------------------------------------

def onoff_step(saliency_runs: list[dict], fraction: float, n_buckets: int, out_tsv, out_md, out_png, out_pdf,
               experiment: str) -> pd.DataFrame:
    """Share of the top-``fraction`` salient entries on-task / off-task and per bucket, over the
    correctly classified test samples.  saliency_runs: [{'model', 'seed', 'method', 'path'}]."""
    rows = []
    for r in saliency_runs:
        with np.load(r["path"]) as f:
            ok = f["correct"]
            maps, lengths, on = f["saliency"][ok], f["lengths"][ok], f["on_mask"][ok]
        buckets = A.bucket_shares(maps, lengths, on, fraction, n_buckets)
        row = {"model": r["model"], "seed": r["seed"], "method": r["method"], "n_samples": int(ok.sum()),
               "on_task_share": float(A.on_share(maps, lengths, on, fraction).mean())}
        row["off_task_share"] = 1.0 - row["on_task_share"]
        row.update({f"on_bucket_{i + 1}": float(v) for i, v in enumerate(buckets[:, :-1].mean(0))})
        row["off_bucket"] = float(buckets[:, -1].mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    table.insert(0, "experiment", experiment)
    save_table(out_tsv, table)
    bucket_cols = [c for c in table.columns if c.startswith("on_bucket_")] + ["off_bucket"]
    lines = [f"# {experiment}: where each model's top {100 * fraction:.0f} % salient entries fall", "",
             "Correctly classified test samples; shares in %, mean ± sd over seeds. Buckets: the on-task "
             f"frames in {n_buckets} consecutive groups, then the off-task frames.", ""]
    for method, tm in table.groupby("method", sort=False):
        lines += [f"## Saliency method: {method}", "",
                  "| model | on-task % | off-task % | " + " | ".join(bucket_cols) + " |",
                  "|---|---|---|" + "---|" * len(bucket_cols)]
        for model, g in tm.groupby("model", sort=False):
            cells = [f"{100 * g[c].mean():.1f} ± {100 * g[c].std(ddof=1) if len(g) > 1 else 0:.1f}"
                     for c in ("on_task_share", "off_task_share", *bucket_cols)]
            lines.append(f"| {LABELS.get(model, model)} | " + " | ".join(cells) + " |")
        lines.append("")
    save_text(out_md, "\n".join(lines))
    from .figures import bucket_figure

    save_figure(bucket_figure(table[table.method == table.method.iloc[0]], bucket_cols, experiment), out_png, out_pdf)
    return table


# ---- saliency maps and brain maps ----------------------------------------------------

def mean_maps(saliency_runs: list[dict]) -> dict:
    """model -> (time, areas) mean scaled saliency over correctly classified test samples and seeds."""
    acc = {}
    for r in saliency_runs:
        with np.load(r["path"]) as f:
            ok = f["correct"]
            m = A.mean_map(f["saliency"][ok], f["lengths"][ok]) if ok.any() else None
        if m is not None:
            acc.setdefault(r["model"], []).append(m)
    return {k: np.nanmean(np.stack(v), 0) for k, v in acc.items()}


def maps_step(saliency_runs, atlas_path, out_pngs, out_pdfs, out_npz, experiment: str, on_frames: int | None):
    from .figures import saliency_map_figure
    from .geometry import load_atlas

    atlas = load_atlas(atlas_path)
    maps = mean_maps(saliency_runs)
    order = A.area_order(atlas["names"], atlas["networks"])
    save_npz(out_npz, models=np.array(list(maps)), maps=np.stack(list(maps.values())), area_names=atlas["names"],
             area_networks=atlas["networks"], sorted_order=order)
    for sort, png, pdf in zip((False, True), out_pngs, out_pdfs):
        fig = saliency_map_figure(maps, atlas["names"], atlas["networks"], order if sort else None, experiment,
                                  on_frames)
        save_figure(fig, png, pdf)


def brain_maps_step(maps_npz, out_png, out_pdf, experiment: str, n_top: int) -> None:
    from .figures import brain_map_figure

    with np.load(maps_npz) as f:
        models, maps = [str(m) for m in f["models"]], f["maps"]
    area_scores = {m: np.nanmean(maps[i], 0) for i, m in enumerate(models)}
    save_figure(brain_map_figure(area_scores, n_top, experiment), out_png, out_pdf)


# ---- ground truth of the simulated cohort ----------------------------------------------

def truth_step(saliency_runs, truth_paths, tasks, out_tsv, out_md, experiment: str, fraction: float) -> pd.DataFrame:
    """How well saliency recovers the simulator's planted areas and (area, frame) responses."""
    truths = {}
    for p in truth_paths:
        with np.load(p) as f:
            truths[str(f["subject"])] = {k: f[k] for k in f.files}
    first = next(iter(truths.values()))
    planted = np.unique(np.concatenate([first[f"areas_{t}"] for t in tasks])) - 1  # 0-based columns
    rows = []
    for r in saliency_runs:
        with np.load(r["path"]) as f:
            ok = f["correct"]
            maps, lengths = f["saliency"][ok], f["lengths"][ok]
            subjects, runs, starts, y = f["subjects"][ok], f["runs"][ok], f["block_start_frame"][ok], f["y"][ok]
        # the planted response of each sample's own frames, on its task's areas
        respond = np.zeros(maps.shape, bool)
        for i in range(len(maps)):
            task = tasks[int(y[i])]
            resp = truths[str(subjects[i])][f"{task}_{runs[i]}_response"]
            n = int(lengths[i])
            active = resp[starts[i]:starts[i] + n] >= 0.5
            cols = truths[str(subjects[i])][f"areas_{task}"] - 1
            respond[i, :n][np.ix_(active, cols)] = True
        top = A.top_mask(A.salience_ranks(maps, lengths), lengths, fraction)
        valid = A.valid_mask(lengths, maps.shape[1])[:, :, None] & np.ones(maps.shape, bool)
        area_scores = A.mean_map(maps, lengths).mean(0)
        rows.append({"model": r["model"], "seed": r["seed"], "method": r["method"], "n_samples": int(ok.sum()),
                     "area_precision_at_k": A.precision_at_k(area_scores, planted), "k": len(planted),
                     "area_chance": len(planted) / maps.shape[2],
                     "entry_precision_top": float((top & respond).sum() / max(top.sum(), 1)),
                     "entry_chance": float(respond.sum() / valid.sum())})
    table = pd.DataFrame(rows)
    table.insert(0, "experiment", experiment)
    save_table(out_tsv, table)
    lines = [f"# {experiment}: does saliency find the planted ground truth? (simulated cohort)", "",
             f"Area precision@k: share of the k = {len(planted)} areas with the highest mean saliency that are "
             "planted responsive areas of the experiment's tasks (chance = k / 360). Entry precision: share of "
             f"each sample's top {100 * fraction:.0f} % (time, area) entries that lie on a planted area of the "
             "sample's own task at a frame where its planted response is at least half its peak. Mean ± sd "
             "over seeds; correctly classified test samples.", ""]
    for method, tm in table.groupby("method", sort=False):
        lines += [f"## Saliency method: {method}", "",
                  "| model | area precision@k | chance | entry precision | chance |", "|---|---|---|---|---|"]
        for model, g in tm.groupby("model", sort=False):
            lines.append(f"| {LABELS.get(model, model)} | {g.area_precision_at_k.mean():.3f} ± "
                         f"{g.area_precision_at_k.std(ddof=1) if len(g) > 1 else 0:.3f} | {g.area_chance.iloc[0]:.3f} | "
                         f"{g.entry_precision_top.mean():.3f} ± "
                         f"{g.entry_precision_top.std(ddof=1) if len(g) > 1 else 0:.3f} | {g.entry_chance.mean():.3f} |")
        lines.append("")
    save_text(out_md, "\n".join(lines))
    return table


# ---- the paper's claims ----------------------------------------------------------------

def summary_step(accuracy_tsvs, onoff_tsv, drop_tsv, truth_tsvs, out_md, method: str,
                 fraction: float, lstm: str = "lstm", inputcell: str = "inputcell_lstm",
                 control_experiment: str = "off_task") -> str:
    acc = pd.concat([pd.read_csv(p, sep="\t") for p in accuracy_tsvs], ignore_index=True)
    onoff = pd.read_csv(onoff_tsv, sep="\t") if onoff_tsv else None
    drop = pd.read_csv(drop_tsv, sep="\t") if drop_tsv else None
    # the off-task control is one of the accuracy tables (absent when that experiment is not configured)
    control = acc[acc.experiment == control_experiment]
    control = control if len(control) else None
    lines = ["# HCP: the paper's claims (SPEC section 1, point 6) in this run", "",
             f"Saliency method: {method}; top {100 * fraction:.0f} % of each sample's (time, area) entries. "
             "Numbers are means over seeds (test subjects only).", "",
             "| claim | paper | this run | reproduced |", "|---|---|---|---|"]

    def verdict(ok):
        return "n/a" if ok is None else ("yes" if ok else "**no**")

    if onoff is not None:
        o = onoff[onoff.method == method].groupby("model").off_task_share.mean()
        if lstm in o:
            lines.append(f"| LSTM puts most of its top saliency off-task | > 70 % off-task | "
                         f"{100 * o[lstm]:.1f} % off-task | {verdict(o[lstm] > 0.7)} |")
        if inputcell in o:
            lines.append(f"| input-cell attention puts it on-task | mostly on-task | {100 * (1 - o[inputcell]):.1f} % "
                         f"on-task | {verdict(o[inputcell] < 0.5)} |")
    if drop is not None:
        d = drop[(drop.method == method) & np.isclose(drop.fraction, fraction)]
        own = d[d.kind == "own"].groupby("target")["drop"].mean()
        if lstm in own and inputcell in own:
            lines.append(f"| removing a model's own salient features hurts input-cell attention more than the LSTM | "
                         f"LSTM ~2 %, input-cell ~9.5 % | LSTM {100 * own[lstm]:.1f} %, input-cell "
                         f"{100 * own[inputcell]:.1f} % | {verdict(own[inputcell] > own[lstm])} |")
            cross = d[(d.target == lstm) & (d.source == inputcell)]["drop"].mean()
            lines.append(f"| input-cell attention's salient features matter more to the LSTM than its own | "
                         f"~6 % vs ~2 % | {100 * cross:.1f} % vs {100 * own[lstm]:.1f} % | "
                         f"{verdict(cross > own[lstm])} |")
    if control is not None:
        above = control.groupby("model").above_chance.any()
        mean_acc = control.groupby("model").test_accuracy.mean()
        txt = ", ".join(f"{LABELS.get(m, m)} {100 * mean_acc[m]:.1f} %" for m in mean_acc.index)
        lines.append(f"| models trained on off-task frames only are at chance | at chance | {txt} "
                     f"(chance {100 * control.chance.iloc[0]:.1f} %) | {verdict(not above.any())} |")
    ic = acc[acc.model == inputcell].groupby("experiment").test_accuracy.mean()
    ls = acc[acc.model == lstm].groupby("experiment").test_accuracy.mean()
    for exp in ic.index.intersection(ls.index):
        lines.append(f"| ({exp}) test accuracy, LSTM vs input-cell | both high | {100 * ls[exp]:.1f} % vs "
                     f"{100 * ic[exp]:.1f} % | n/a |")
    for p in truth_tsvs:
        t = pd.read_csv(p, sep="\t")
        t = t[t.method == method].groupby("model")[["area_precision_at_k", "entry_precision_top", "entry_chance"]].mean()
        exp = Path(p).parent.name
        txt = "; ".join(f"{LABELS.get(m, m)} {r.area_precision_at_k:.2f} / {r.entry_precision_top:.2f}"
                        for m, r in t.iterrows())
        lines.append(f"| ({exp}, simulated) saliency finds the planted areas / responses (precision) | - | {txt} | n/a |")
    lines += ["", "Details: accuracy.md, feature_drop.md, onoff_share.md and truth_recovery.md in each "
              "experiment's folder; figures under figures/."]
    text = "\n".join(lines) + "\n"
    save_text(out_md, text)
    return text
