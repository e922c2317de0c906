"""The HCP tables: test accuracy, feature drop, on/off-task share, ground-truth recovery and
the summary of the paper's HCP claims (SPEC section 1, point 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..models import LABELS
from . import mean_sd


def _label(name: str) -> str:
    return LABELS.get(name, name)


# ---- accuracy ---------------------------------------------------------------------

def accuracy_table(sidecars, experiment: str, alpha: float = 0.05) -> pd.DataFrame:
    """Test accuracy per model and seed from the model sidecars, with a one-sided binomial test
    of each against the test set's majority-class rate."""
    rows = []
    for m in sidecars:
        p = stats.binomtest(m["n_test_correct"], m["n_test"], m["test_chance"], alternative="greater").pvalue
        rows.append({"experiment": experiment, "model": m["architecture"], "seed": m["replicate"],
                     "torch_seed": m["seed"],
                     "test_accuracy": m["test_accuracy"], "n_test": m["n_test"], "chance": m["test_chance"],
                     "binomial_p": p, "above_chance": bool(p <= alpha), "val_accuracy": m["val_accuracy"],
                     "train_accuracy": m["train_accuracy"], "epochs": m["epochs_run"]})
    return pd.DataFrame(rows)


def accuracy_markdown(table: pd.DataFrame, experiment: str, alpha: float = 0.05) -> str:
    lines = [f"# {experiment}: test accuracy", "",
             "Mean ± sd over seeds; p: one-sided binomial test of each seed's test accuracy against the "
             f"majority-class rate (chance), largest p over seeds shown; above chance at alpha = {alpha} "
             "means every seed is.", "",
             "| model | test accuracy % | chance % | n test | max p | above chance |", "|---|---|---|---|---|---|"]
    for model, g in table.groupby("model", sort=False):
        lines.append(f"| {_label(model)} | {mean_sd(g.test_accuracy, 100)} | {100 * g.chance.iloc[0]:.1f} | "
                     f"{g.n_test.iloc[0]} | {g.binomial_p.max():.3g} | {'yes' if g.above_chance.all() else 'no'} |")
    return "\n".join(lines) + "\n"


# ---- feature drop -----------------------------------------------------------------

def paired_drop_test(table: pd.DataFrame, a: str, b: str, fraction: float) -> dict:
    """Own-feature drop of model ``a`` vs model ``b`` at ``fraction``, paired by seed (t-test)."""
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


def onoff_markdown(table: pd.DataFrame, fraction: float, n_buckets: int, experiment: str) -> str:
    cols = bucket_columns(table)
    lines = [f"# {experiment}: where each model's top {100 * fraction:.0f} % salient entries fall", "",
             "Correctly classified test samples; shares in %, mean ± sd over seeds. Buckets: the on-task "
             f"frames in {n_buckets} consecutive groups, then the off-task frames.", ""]
    for method, tm in table.groupby("method", sort=False):
        lines += [f"## Saliency method: {method}", "",
                  "| model | on-task % | off-task % | " + " | ".join(cols) + " |",
                  "|---|---|---|" + "---|" * len(cols)]
        for model, g in tm.groupby("model", sort=False):
            cells = [mean_sd(g[c], 100) for c in ("on_task_share", "off_task_share", *cols)]
            lines.append(f"| {_label(model)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# ---- ground truth (simulated cohort) ------------------------------------------------------

def truth_markdown(table: pd.DataFrame, experiment: str, fraction: float, n_planted: int) -> str:
    lines = [f"# {experiment}: does saliency find the planted ground truth? (simulated cohort)", "",
             f"Area precision@k: share of the k = {n_planted} areas with the highest mean saliency that are "
             "planted responsive areas of the experiment's tasks (chance = k / 360). Entry precision: share of "
             f"each sample's top {100 * fraction:.0f} % (time, area) entries that lie on a planted area of the "
             "sample's own task at a frame where its planted response is at least half its peak. Mean ± sd "
             "over seeds; correctly classified test samples.", ""]
    for method, tm in table.groupby("method", sort=False):
        lines += [f"## Saliency method: {method}", "",
                  "| model | area precision@k | chance | entry precision | chance |", "|---|---|---|---|---|"]
        for model, g in tm.groupby("model", sort=False):
            lines.append(f"| {_label(model)} | {mean_sd(g.area_precision_at_k, digits=3)} | "
                         f"{g.area_chance.iloc[0]:.3f} | {mean_sd(g.entry_precision_top, digits=3)} | "
                         f"{g.entry_chance.mean():.3f} |")
        lines.append("")
    return "\n".join(lines)


# ---- the paper's claims ------------------------------------------------------------------

def summary_markdown(acc: pd.DataFrame, onoff: pd.DataFrame | None, drop: pd.DataFrame | None, truth: list,
                     method: str, fraction: float, lstm: str = "lstm", inputcell: str = "inputcell_lstm",
                     control_experiment: str = "off_task") -> str:
    """Each HCP claim of the paper with this run's numbers.  ``acc``: every experiment's accuracy
    table; ``onoff`` / ``drop``: the on_off share and feature-drop tables (None when not run);
    ``truth``: the ground-truth tables of the simulated cohort (each with an ``experiment`` column)."""
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
        txt = ", ".join(f"{_label(m)} {100 * mean_acc[m]:.1f} %" for m in mean_acc.index)
        lines.append(f"| models trained on off-task frames only are at chance | at chance | {txt} "
                     f"(chance {100 * control.chance.iloc[0]:.1f} %) | {verdict(not above.any())} |")
    ic = acc[acc.model == inputcell].groupby("experiment").test_accuracy.mean()
    ls = acc[acc.model == lstm].groupby("experiment").test_accuracy.mean()
    for exp in ic.index.intersection(ls.index):
        lines.append(f"| ({exp}) test accuracy, LSTM vs input-cell | both high | {100 * ls[exp]:.1f} % vs "
                     f"{100 * ic[exp]:.1f} % | n/a |")
    for t in truth:
        exp = str(t.experiment.iloc[0])
        t = t[t.method == method].groupby("model")[["area_precision_at_k", "entry_precision_top", "entry_chance"]].mean()
        txt = "; ".join(f"{_label(m)} {r.area_precision_at_k:.2f} / {r.entry_precision_top:.2f}"
                        for m, r in t.iterrows())
        lines.append(f"| ({exp}, simulated) saliency finds the planted areas / responses (precision) | - | {txt} | n/a |")
    lines += ["", "Details: accuracy.md, feature_drop.md, onoff_share.md and truth_recovery.md in each "
              "experiment's folder; figures under figures/."]
    return "\n".join(lines) + "\n"
