"""The HCP tables: test accuracy, feature drop, on/off-task share, ground-truth recovery and
the summary of the paper's HCP claims (SPEC section 1, point 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from . import mean_sd


def _label(name: str) -> str:
    return LABELS.get(name, name)


# ---- accuracy ---------------------------------------------------------------------

CONTROL_LABELS = {"length": "length-only logistic regression", "mean": "mean-only logistic regression"}


def accuracy_table(sidecars, experiment: str, y_test, controls: dict, permutations: int, seed: int,
                   level: float = 0.95) -> pd.DataFrame:
    """Test accuracy of every model run (sidecars with ``test_predictions``) and of every logistic
    control (``controls``: feature -> predicted labels), each with a one-sided binomial test against
    the majority-class rate and the label-permutation null of its own predictions."""
    from scipy import stats  # lazy: scipy.stats costs ~0.5 s of every job's start-up
    from ..hcp.controls import permutation_null

    alpha = 1 - level
    rows = []
    for k, m in enumerate(sidecars):
        null = permutation_null(m["test_predictions"], y_test, permutations, seed + k, level)
        p = stats.binomtest(m["n_test_correct"], m["n_test"], m["test_chance"], alternative="greater").pvalue
        rows.append({"experiment": experiment, "model": m["architecture"], "run": m.get("run", "seed0"),
                     "seed": m["replicate"], "torch_seed": m["seed"], "test_accuracy": m["test_accuracy"],
                     "n_test": m["n_test"], "chance": m["test_chance"], "binomial_p": p,
                     "above_chance": bool(p <= alpha), **{k2: null[k2] for k2 in ("null_lo", "null_hi", "p_perm")},
                     "above_null": bool(null["p_perm"] <= alpha), "val_accuracy": m["val_accuracy"],
                     "train_accuracy": m["train_accuracy"], "epochs": m["epochs_run"],
                     "selection": m.get("selection"), "epoch_kept": m.get("best_epoch")})
    chance = float(np.bincount(np.asarray(y_test)).max() / len(y_test))
    for k, (feature, pred) in enumerate(controls.items()):
        null = permutation_null(pred, y_test, permutations, seed + 1000 + k, level)
        n_correct = int(round(null["accuracy"] * len(y_test)))
        p = stats.binomtest(n_correct, len(y_test), chance, alternative="greater").pvalue
        rows.append({"experiment": experiment, "model": f"{feature}_only", "run": "logistic control", "seed": None,
                     "test_accuracy": null["accuracy"], "n_test": len(y_test), "chance": chance, "binomial_p": p,
                     "above_chance": bool(p <= alpha), **{k2: null[k2] for k2 in ("null_lo", "null_hi", "p_perm")},
                     "above_null": bool(null["p_perm"] <= alpha)})
    return pd.DataFrame(rows)


def _row_label(model: str, run: str) -> str:
    if run == "logistic control":
        return CONTROL_LABELS.get(model.removesuffix("_only"), model)
    return _label(model) + ("" if run.startswith("seed") else f" ({run})")


def accuracy_markdown(table: pd.DataFrame, experiment: str, level: float = 0.95) -> str:
    lines = [f"# {experiment}: test accuracy against its controls", "",
             f"Trained models: mean ± sd over seeds. Null: the {100 * level:.0f} % interval of the accuracy of the "
             "run's own predictions against permuted test labels (a classifier with no knowledge); p: one-sided "
             "permutation p-value (largest over seeds). Controls: the same architecture trained on permuted labels, "
             "untrained, or trained and tested on time-shuffled samples; logistic regressions that see only each "
             "sample's length or its mean.", "",
             "| model | test accuracy % | chance % | null interval % | max p | above the null |",
             "|---|---|---|---|---|---|"]
    seeds = table[table.run.astype(str).str.startswith("seed")]
    for model, g in seeds.groupby("model", sort=False):
        lines.append(f"| {_label(model)} | {mean_sd(g.test_accuracy, 100)} | {100 * g.chance.iloc[0]:.1f} | "
                     f"{100 * g.null_lo.min():.1f}-{100 * g.null_hi.max():.1f} | {g.p_perm.max():.3g} | "
                     f"{'yes' if g.above_null.all() else 'no'} |")
    for r in table[~table.run.astype(str).str.startswith("seed")].itertuples():
        lines.append(f"| {_row_label(r.model, r.run)} | {100 * r.test_accuracy:.1f} | {100 * r.chance:.1f} | "
                     f"{100 * r.null_lo:.1f}-{100 * r.null_hi:.1f} | {r.p_perm:.3g} | {'yes' if r.above_null else 'no'} |")
    return "\n".join(lines) + "\n"


# ---- feature drop -----------------------------------------------------------------

def paired_drop_test(table: pd.DataFrame, a: str, b: str, fraction: float) -> dict:
    """Own-feature drop of model ``a`` vs model ``b`` at ``fraction``, paired by seed (t-test)."""
    from scipy import stats  # lazy: scipy.stats costs ~0.5 s of every job's start-up
    own = table[(table.kind == "own") & np.isclose(table.fraction, fraction)]
    da = own[own.target == a].set_index("seed")["drop"]
    db = own[own.target == b].set_index("seed")["drop"]
    seeds = da.index.intersection(db.index)
    diff = (da[seeds] - db[seeds]).to_numpy()
    p = float(stats.ttest_rel(da[seeds], db[seeds]).pvalue) if len(seeds) > 1 and np.ptp(diff) > 0 else float("nan")
    return {"a": a, "b": b, "fraction": fraction, "n_seeds": len(seeds), "mean_difference": float(diff.mean()),
            "p_paired_t": p}


def feature_drop_markdown(table: pd.DataFrame, highlight: float, experiment: str) -> str:
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
                      "random" if s == "random" else f"{_label(s)}'s features" for s in sources) + " |",
                  "|---|---|" + "---|" * len(sources)]
        base = tm[tm.fraction == 0].groupby("target").accuracy.mean()
        for target, g in at.groupby("target", sort=False):
            cells = []
            for s in sources:
                cell = mean_sd(100 * g[g.source == s]["drop"])
                cells.append(f"**{cell}**" if s == target else cell)
            lines.append(f"| {_label(target)} | {100 * base[target]:.1f} | " + " | ".join(cells) + " |")
        models = list(dict.fromkeys(at.target))
        tests = [paired_drop_test(tm, a, b, highlight) for i, a in enumerate(models) for b in models[i + 1:]]
        if tests:
            lines += ["", f"Paired t-test over seeds of the own-feature drop at {100 * highlight:.0f} %:", "",
                      "| model A | model B | mean drop A - B (points) | seeds | p |", "|---|---|---|---|---|"]
            lines += [f"| {_label(t['a'])} | {_label(t['b'])} | "
                      f"{100 * t['mean_difference']:.1f} | {t['n_seeds']} | {t['p_paired_t']:.3g} |" for t in tests]
        lines.append("")
    return "\n".join(lines)


# ---- on/off-task share ---------------------------------------------------------------

def bucket_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("on_bucket_")] + ["off_bucket"]


def run_kind(run) -> str:
    """trained (any seed), uniform map, time-shuffled map (the nulls of a seed's maps), or the control's name."""
    run = str(run)
    if run.startswith("seed"):
        return "trained"
    if run.startswith("uniform"):
        return "uniform map"
    if run.startswith("time-shuffled"):
        return "time-shuffled map"
    return run


def onoff_markdown(table: pd.DataFrame, fraction: float, n_buckets: int, experiment: str) -> str:
    cols = bucket_columns(table)
    lines = [f"# {experiment}: where each model's top {100 * fraction:.0f} % salient entries fall", "",
             "Shares in %. Trained models: correctly classified test samples, mean ± sd over seeds; controls "
             "(permuted labels, untrained): every test sample. Nulls of the trained models' samples: a uniform map "
             "(its share is the share of on-task frames) and each map with its frames shuffled in time. Buckets: "
             f"the on-task frames in {n_buckets} consecutive groups, then the off-task frames.", ""]
    for method, tm in table.groupby("method", sort=False):
        lines += [f"## Saliency method: {method}", "",
                  "| model | run | on-task % | off-task % | " + " | ".join(cols) + " |",
                  "|---|---|---|---|" + "---|" * len(cols)]
        tm = tm.assign(kind=[run_kind(r) for r in tm.run])
        for (model, kind), g in tm.groupby(["model", "kind"], sort=False):
            cells = [mean_sd(g[c], 100) if c in g and g[c].notna().any() else "-"
                     for c in ("on_task_share", "off_task_share", *cols)]
            lines.append(f"| {_label(model)} | {kind} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# ---- ground truth (simulated cohort) ------------------------------------------------------

def truth_markdown(table: pd.DataFrame, experiment: str, fraction: float, n_planted: int) -> str:
    lines = [f"# {experiment}: does saliency find the planted ground truth? (simulated cohort)", "",
             f"Area AUROC: the areas ranked by mean saliency against the {n_planted} planted responsive areas of the "
             "experiment's tasks (0.5 = no knowledge). Time AUROC: per sample, saliency summed over areas per frame "
             "against the frames where the planted response is at least half its peak. Area precision@k (k = "
             f"{n_planted}; chance = k / 360) and entry precision: the share of each sample's top "
             f"{100 * fraction:.0f} % (time, area) entries on a planted area of its own task at a responding frame. "
             "Trained models: mean ± sd over seeds, correctly classified test samples; controls: every test sample.",
             ""]
    for method, tm in table.groupby("method", sort=False):
        lines += [f"## Saliency method: {method}", "",
                  "| model | run | area AUROC | time AUROC | area precision@k | chance | entry precision | chance |",
                  "|---|---|---|---|---|---|---|---|"]
        tm = tm.assign(kind=[run_kind(r) for r in tm.run])
        for (model, kind), g in tm.groupby(["model", "kind"], sort=False):
            lines.append(f"| {_label(model)} | {kind} | {mean_sd(g.area_auroc, digits=3)} | "
                         f"{mean_sd(g.time_auroc, digits=3)} | {mean_sd(g.area_precision_at_k, digits=3)} | "
                         f"{g.area_chance.iloc[0]:.3f} | {mean_sd(g.entry_precision_top, digits=3)} | "
                         f"{g.entry_chance.mean():.3f} |")
        lines.append("")
    return "\n".join(lines)


# ---- denoising QC -----------------------------------------------------------------------

def strategies_markdown(table: pd.DataFrame, mean_fd: float) -> str:
    lines = ["# Confound strategies on this cohort (QC-FC benchmark)", "",
             f"{int(table.n_subjects.iloc[0])} subjects, mean framewise displacement {mean_fd:.3f} mm. QC-FC: the "
             "correlation across subjects of mean FD with each area pair's connectivity; significant: FDR 5 % "
             "(Benjamini-Hochberg); distance dependence: Spearman correlation of QC-FC with the distance between the "
             "areas' centroids. Lower is better everywhere; tDOF lost: confounds + censored frames + filtered "
             "frequencies per run.", "",
             "| strategy | tDOF lost per run | QC-FC edges significant % | median abs. QC-FC | QC-FC vs distance (rho) |",
             "|---|---|---|---|---|"]
    for r in table.itertuples():
        name = f"**{r.strategy}** (used)" if r.chosen else r.strategy
        lines.append(f"| {name} | {r.tdof_lost_mean:.1f} | {r.qcfc_significant_percent:.1f} | "
                     f"{r.qcfc_median_abs:.3f} | {r.qcfc_distance_rho:+.3f} |")
    return "\n".join(lines) + "\n"
