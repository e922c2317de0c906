"""The HCP tables: test accuracy, feature drop, on/off-task share, ground-truth recovery and
the summary of the paper's HCP claims (SPEC section 1, point 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from ..plan import run_kind
from ..stats import binomial_p, learned, permutation_null
from . import markdown_table, mean_sd


def _label(name: str) -> str:
    return LABELS.get(name, name)


# ---- accuracy ---------------------------------------------------------------------

CONTROL_LABELS = {"length": "length-only logistic regression", "mean": "mean-only logistic regression"}


def accuracy_table(
    sidecars, experiment: str, y_test, controls: dict, permutations: int, seed: int, level: float = 0.95
) -> pd.DataFrame:
    """Test accuracy of every model run (sidecars with ``test_predictions``) and of every logistic
    control (``controls``: feature -> predicted labels), each with a one-sided binomial test against
    the majority-class rate and the label-permutation null of its own predictions (``p_perm``,
    ``above_null``); every run of a model also carries its group's (the model's trained runs, or one
    control's runs) gate: ``group_runs``, ``group_runs_above`` and ``group_learned`` (every run above its
    own null), the gate every claim reads."""
    alpha = 1 - level
    rows = []
    for k, m in enumerate(sidecars):
        null = permutation_null(m["test_predictions"], y_test, permutations, seed + k, level)
        p = binomial_p(m["n_test_correct"], m["n_test"], m["test_chance"])
        rows.append(
            {
                "experiment": experiment,
                "model": m["architecture"],
                "run": m.get("run", "seed0"),
                "kind": run_kind(m.get("run", "seed0")),
                "seed": m["replicate"],
                "torch_seed": m["seed"],
                "test_accuracy": m["test_accuracy"],
                "n_test": m["n_test"],
                "chance": m["test_chance"],
                "binomial_p": p,
                "above_chance": bool(p <= alpha),
                **{k2: null[k2] for k2 in ("null_lo", "null_hi", "p_perm")},
                "above_null": bool(null["p_perm"] <= alpha),
                "val_accuracy": m["val_accuracy"],
                "train_accuracy": m["train_accuracy"],
                "epochs": m["epochs_run"],
                "selection": m.get("selection"),
                "epoch_kept": m.get("best_epoch"),
            }
        )
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["kind"]), []).append(r)
    for members in groups.values():
        above = [r["above_null"] for r in members]
        for r in members:
            r.update(group_runs=len(members), group_runs_above=int(sum(above)), group_learned=learned(above))
    chance = float(np.bincount(np.asarray(y_test)).max() / len(y_test))
    for k, (feature, pred) in enumerate(controls.items()):
        null = permutation_null(pred, y_test, permutations, seed + 1000 + k, level)
        n_correct = int(round(null["accuracy"] * len(y_test)))
        p = binomial_p(n_correct, len(y_test), chance)
        rows.append(
            {
                "experiment": experiment,
                "model": f"{feature}_only",
                "run": "logistic control",
                "kind": "logistic control",
                "seed": None,
                "test_accuracy": null["accuracy"],
                "n_test": len(y_test),
                "chance": chance,
                "binomial_p": p,
                "above_chance": bool(p <= alpha),
                **{k2: null[k2] for k2 in ("null_lo", "null_hi", "p_perm")},
                "above_null": bool(null["p_perm"] <= alpha),
            }
        )
    return pd.DataFrame(rows)


def accuracy_markdown(table: pd.DataFrame, experiment: str, level: float = 0.95) -> str:
    lines = [
        f"# {experiment}: test accuracy against its controls",
        "",
        f"Every model and control: mean ± sd over its runs (as many runs per control as training seeds). Each "
        f"run against its own label-permutation null (the {100 * level:.0f} % interval of its accuracy when its "
        "predictions meet permuted test labels: a classifier with no knowledge; one-sided p); learned: every run "
        "above its null, the gate every claim reads. Controls: the same architecture trained on permuted labels, "
        "untrained, or trained and tested on time-shuffled samples; logistic regressions that see only each "
        "sample's length or its mean (one fit each).",
        "",
    ]
    rows = []
    runs = table[table.kind != "logistic control"]
    for (model, kind), g in runs.groupby(["model", "kind"], sort=False):
        r = g.iloc[0]
        rows.append(
            [
                _label(model) + ("" if kind == "trained" else f" ({kind})"),
                len(g),
                mean_sd(g.test_accuracy, 100),
                f"{100 * r.chance:.1f}",
                "; ".join(
                    f"{x.run} {100 * x.test_accuracy:.1f} (null up to {100 * x.null_hi:.1f}, p {x.p_perm:.3g})"
                    for x in g.itertuples()
                ),
                f"{int(r.group_runs_above)} of {int(r.group_runs)}",
                "yes" if r.group_learned else "no",
            ]
        )
    for r in table[table.kind == "logistic control"].itertuples():
        rows.append(
            [
                CONTROL_LABELS.get(r.model.removesuffix("_only"), r.model),
                1,
                f"{100 * r.test_accuracy:.1f}",
                f"{100 * r.chance:.1f}",
                f"{100 * r.test_accuracy:.1f} (null up to {100 * r.null_hi:.1f}, p {r.p_perm:.3g})",
                "1 of 1" if r.above_null else "0 of 1",
                "yes" if r.above_null else "no",
            ]
        )
    header = ["model", "runs", "test accuracy %", "chance %", "each run against its null %", "above", "learned"]
    return "\n".join(lines + markdown_table(header, rows)) + "\n"


# ---- feature drop -----------------------------------------------------------------


def source_label(kind: str, source: str) -> str:
    """How a feature-drop source reads in tables and figures."""
    if kind == "random":
        return "random entries"
    return ("untrained " if kind == "untrained" else "") + f"{_label(source)}'s entries"


def feature_drop_markdown(table: pd.DataFrame, highlight: float, experiment: str) -> str:
    lines = [
        f"# {experiment}: accuracy drop when salient features are removed",
        "",
        f"Removing the top {100 * highlight:.0f} % (time, area) entries of a saliency map (replaced by "
        "the z-scored mean, 0) from every test sample; drop = accuracy before - after, in percentage "
        "points, mean ± sd over seeds; relative drop: the drop as a share of the model's headroom above "
        "chance (base accuracy - majority-class rate), the unit claims 6c / 6d compare. Rows: the model "
        "evaluated; columns: whose saliency chose the entries (each trained model's, the untrained maps of "
        "the same replicate, or random orders averaged over draws).",
        "",
    ]
    for method, tm in table.groupby("method", sort=False):
        at = tm[np.isclose(tm.fraction, highlight)].assign(
            label=lambda t: [source_label(k, s) for k, s in zip(t.kind, t.source, strict=True)]
        )
        labels = list(dict.fromkeys(at.label))
        rows = []
        for target, g in at.groupby("target", sort=False):
            cells = []
            for label in labels:
                c = g[g.label == label]
                cell = f"{mean_sd(100 * c['drop'])} ({mean_sd(c.relative_drop, digits=2)})" if len(c) else "-"
                cells.append(f"**{cell}**" if (c.kind == "own").any() else cell)
            base = g.groupby("seed").base_accuracy.first()
            head = g.groupby("seed").headroom.first()
            rows.append([_label(target), mean_sd(100 * base), mean_sd(100 * head), *cells])
        lines += [f"## Saliency method: {method}", ""]
        lines += markdown_table(["model evaluated", "accuracy %", "headroom (points)", *labels], rows)
        lines += [
            "",
            "Cells: drop in points (relative drop); bold: the model's own entries. Claims 6c and 6d test "
            "these at the run level in results/hcp/summary.md.",
            "",
        ]
    return "\n".join(lines)


# ---- on/off-task share ---------------------------------------------------------------


def bucket_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("on_bucket_")] + ["off_bucket"]


def onoff_markdown(table: pd.DataFrame, fraction: float, n_buckets: int, experiment: str) -> str:
    cols = bucket_columns(table)
    lines = [
        f"# {experiment}: where each model's top {100 * fraction:.0f} % salient entries fall",
        "",
        "Shares in %, over every test sample, mean ± sd over runs (seeds, and as many runs of each control: "
        "permuted labels, untrained). Nulls of the trained runs' maps: a uniform map "
        "(its share is the share of on-task frames) and each map with its frames shuffled in time. Buckets: "
        f"the on-task frames in {n_buckets} consecutive groups, then the off-task frames.",
        "",
    ]
    for method, tm in table.groupby("method", sort=False):
        tm = tm.assign(kind=[run_kind(r) for r in tm.run])
        rows = [
            [
                _label(model),
                kind,
                *(
                    mean_sd(g[c], 100) if c in g and g[c].notna().any() else "-"
                    for c in ("on_task_share", "off_task_share", *cols)
                ),
            ]
            for (model, kind), g in tm.groupby(["model", "kind"], sort=False)
        ]
        lines += [f"## Saliency method: {method}", ""]
        lines += markdown_table(["model", "run", "on-task %", "off-task %", *cols], rows)
        lines.append("")
    return "\n".join(lines)


# ---- ground truth (simulated cohort) ------------------------------------------------------


def truth_markdown(table: pd.DataFrame, experiment: str, fraction: float, n_planted: int) -> str:
    lines = [
        f"# {experiment}: does saliency find the planted ground truth? (simulated cohort)",
        "",
        f"Area AUROC: the areas ranked by mean saliency against the {n_planted} planted responsive areas of the "
        "experiment's tasks (0.5 = no knowledge). Time AUROC: per sample, saliency summed over areas per frame "
        "against the frames where the planted response is at least half its peak. Area precision@k (k = "
        f"{n_planted}; chance = k / 360) and entry precision: the share of each sample's top "
        f"{100 * fraction:.0f} % (time, area) entries on a planted area of its own task at a responding frame. "
        "Mean ± sd over runs (seeds, and as many runs of each control), every test sample.",
        "",
    ]
    for method, tm in table.groupby("method", sort=False):
        tm = tm.assign(kind=[run_kind(r) for r in tm.run])
        rows = [
            [
                _label(model),
                kind,
                mean_sd(g.area_auroc, digits=3),
                mean_sd(g.time_auroc, digits=3),
                mean_sd(g.area_precision_at_k, digits=3),
                f"{g.area_chance.iloc[0]:.3f}",
                mean_sd(g.entry_precision_top, digits=3),
                f"{g.entry_chance.mean():.3f}",
            ]
            for (model, kind), g in tm.groupby(["model", "kind"], sort=False)
        ]
        header = ["model", "run", "area AUROC", "time AUROC", "area precision@k", "chance", "entry precision"]
        lines += [f"## Saliency method: {method}", "", *markdown_table([*header, "chance"], rows), ""]
    return "\n".join(lines)


# ---- denoising QC -----------------------------------------------------------------------


def strategies_markdown(table: pd.DataFrame, mean_fd: float, unbuilt: dict | None = None, n_runs: int = 0) -> str:
    """The strategies table (``qcfc``'s rows), and below it the runs whose confounds table could not build a
    compared strategy (``unbuilt``: strategy -> [(subject, task, run, what it lacks)]; ``n_runs``: the cohort's
    runs), each strategy once, the first runs named."""
    lines = [
        "# Confound strategies on this cohort (QC-FC benchmark)",
        "",
        f"{int(table.n_subjects.max())} subjects, mean framewise displacement {mean_fd:.3f} mm. QC-FC: the "
        "correlation across subjects of mean FD with each area pair's connectivity; significant: FDR 5 % "
        "(Benjamini-Hochberg); distance dependence: Spearman correlation of QC-FC with the distance between the "
        "areas' centroids. Lower is better everywhere; tDOF lost: confounds + censored frames + filtered "
        "frequencies per run.",
        "",
    ]
    lines += markdown_table(
        ["strategy", "tDOF lost per run", "QC-FC edges significant %", "median abs. QC-FC", "QC-FC vs distance (rho)"],
        (
            [
                f"**{r.strategy}** (used)" if r.chosen else r.strategy,
                *(
                    "-" if not np.isfinite(v) else format(v, f)
                    for v, f in (
                        (r.tdof_lost_mean, ".1f"),
                        (r.qcfc_significant_percent, ".1f"),
                        (r.qcfc_median_abs, ".3f"),
                        (r.qcfc_distance_rho, "+.3f"),
                    )
                ),
            ]
            for r in table.itertuples()
        ),
    )
    for strategy, missing in (unbuilt or {}).items():
        if not missing:
            continue
        problems = list(dict.fromkeys(p for *_, p in missing))
        who = "every run's" if len(missing) == n_runs else f"{len(missing)} of {n_runs} runs'"
        subjects = int(table.loc[table.strategy == strategy, "n_subjects"].iloc[0])
        lines += [
            "",
            f"**{strategy}**: {who} confounds table cannot build it ({'; '.join(problems[:3])}"
            + ("; ..." if len(problems) > 3 else "")
            + f"); those runs are left out of its row ({subjects} subjects with a run that has it): "
            + ", ".join(f"sub-{s} {t} {r}" for s, t, r, _ in missing[:5])
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            + ". The cleaning's own strategy is required of every run; a compared one is not.",
        ]
    return "\n".join(lines) + "\n"


# ---- the summary's descriptive sections ---------------------------------------------------


def controls_markdown(accuracy: pd.DataFrame) -> list[str]:
    """The confound controls of every experiment: trained models against the length-only, mean-only,
    time-shuffled and label-permuted controls (mean accuracy over runs)."""
    rows = []
    accuracy = accuracy.assign(kind=[run_kind(r) for r in accuracy.run])
    for e, g in accuracy.groupby("experiment", sort=False):
        ctrl = {r.model: r for r in g[g.kind == "logistic control"].itertuples()}

        def pct(rows):
            return f"{100 * rows.test_accuracy.mean():.1f}" if len(rows) else "-"

        def ctl(name, ctrl=ctrl):
            r = ctrl.get(f"{name}_only")
            return "-" if r is None else f"{100 * r.test_accuracy:.1f}" + (" *" if r.above_null else "")

        shown = [
            f"the sample's {name} alone separates the tasks"
            for name in ("length", "mean")
            if ctrl.get(f"{name}_only") is not None and ctrl[f"{name}_only"].above_null
        ]
        ts = g[g.kind == "timeshuffled"]
        if len(ts) and ts.group_learned.any():
            shown.append("shuffling the frames in time keeps the information")
        rows.append(
            [
                e,
                pct(g[g.kind == "trained"]),
                ctl("length"),
                ctl("mean"),
                pct(ts),
                pct(g[g.kind == "permuted"]),
                "; ".join(shown) or "no confound above its null",
            ]
        )
    header = ["experiment", "trained models (mean %)", "length only %", "mean only %", "time-shuffled (mean %)"]
    out = [
        "",
        "## Confound controls",
        "",
        *markdown_table([*header, "permuted labels (mean %)", "what it shows"], rows),
    ]
    out += [
        "",
        "\\* above its label-permutation null (95 %); time-shuffled: every run above its own null.",
    ]
    return out


def truth_summary_markdown(truth: pd.DataFrame | None, method: str, source: str) -> list[str]:
    """Ground-truth recovery of every experiment (simulated cohort), mean over runs."""
    if source != "simulated":
        return [
            "",
            "## Ground truth",
            "",
            "Real data (hcp.source: raw) have no ground truth: nothing here says which "
            "areas or frames carry the task, so saliency cannot be scored against it.",
        ]
    if truth is None or truth.empty:
        return []
    t = truth[truth.method == method].assign(kind=lambda x: [run_kind(r) for r in x.run])
    rows = [
        [e, _label(m), k, f"{g.area_auroc.mean():.3f}", f"{g.time_auroc.mean():.3f}"]
        for (e, m, k), g in t.groupby(["experiment", "model", "kind"], sort=False)
    ]
    header = ["experiment", "model", "run", "area AUROC", "time AUROC"]
    return ["", "## Ground truth of the simulated cohort", "", *markdown_table(header, rows)]


def offtask_note(accuracy: pd.DataFrame, experiments: dict) -> list[str]:
    """What carries the off-task information: the run's standardisation or the frames themselves (from the
    off_task experiments with a whole-run and a rest baseline)."""
    by_baseline = {
        experiments[e].get("baseline", "run"): e
        for e in experiments
        if experiments[e]["kind"] == "off_task" and e in set(accuracy.experiment)
    }
    if not {"run", "rest"} <= set(by_baseline):
        return []
    acc = {
        b: accuracy[(accuracy.experiment == e) & (accuracy.run.map(run_kind) == "trained")]
        for b, e in by_baseline.items()
    }
    run_above, rest_above = bool(acc["run"].group_learned.any()), bool(acc["rest"].group_learned.any())
    txt = (
        f"off-task control: mean accuracy {100 * acc['run'].test_accuracy.mean():.1f} % with whole-run "
        f"z-scoring ({by_baseline['run']}), {100 * acc['rest'].test_accuracy.mean():.1f} % with each run "
        f"re-standardised by its rest frames ({by_baseline['rest']}). "
    )
    if run_above and not rest_above:
        txt += (
            "The off-task information is the whole-run standardisation: it puts a run's rest frames below the "
            "run's mean in the areas its task drives, a task signature in every off-task frame; with a rest "
            "baseline the models fall to their nulls."
        )
    elif run_above and rest_above:
        txt += "Off-task frames stay informative with a rest baseline too: the standardisation is not the only cause."
    else:
        txt += "With whole-run z-scoring the control is already at chance."
    return [txt]
