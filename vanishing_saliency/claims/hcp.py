"""Claim 6 of SPEC section 1 (the HCP experiments), decided against nulls, and the confound controls.

For every on_off experiment (the paper's, and any variant such as one without the HRF shift):

- 6a the LSTM puts more than 70 % of its top salient entries off-task;
- 6b input-cell attention puts them on-task, i.e. more on-task than a map with no knowledge;
- 6c removing a model's own top entries hurts input-cell attention more than the LSTM (each
  model's drop beyond dropping random entries of the same fraction);
- 6d input-cell attention's top entries hurt the LSTM more than the LSTM's own;

and for every off_task experiment: 6e a model trained on the off-task frames alone is at chance.

Every test is paired by test subject (and seed, for the feature drop): one-sided t-tests
(statsmodels) at ``1 - level``.  The nulls of a share are a uniform map, the map with its frames
shuffled in time, and the same architecture untrained or trained on permuted labels: a share a
model with no knowledge also reaches is not evidence.  A claim is ``not testable`` when a model it
is about is not above its permutation null, or the test set has fewer subjects than
``min_test_subjects``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from ..tables.claims import claim_table, claims_markdown
from .verdicts import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, combine, t_greater

LSTM, INPUTCELL = "lstm", "inputcell_lstm"
SHARE_NULLS = ("uniform map", "time-shuffled map", "untrained", "permuted")


def _label(m):
    return LABELS.get(m, m)


def above_null(accuracy: pd.DataFrame, experiment: str, model: str) -> bool:
    """Every seed of the model beats its permutation null on this experiment."""
    g = accuracy[(accuracy.experiment == experiment) & (accuracy.model == model)
                 & accuracy.run.astype(str).str.startswith("seed")]
    return bool(len(g)) and bool(g.above_null.all())


def _kind(run: str) -> str:
    run = str(run)
    if run.startswith("seed"):
        return "trained"
    for null in ("uniform", "time-shuffled"):
        if run.startswith(null):
            return f"{null} map"
    return run


def subject_shares(subjects: pd.DataFrame, model: str, method: str, column: str) -> dict:
    """kind (trained, uniform map, time-shuffled map, untrained, permuted) -> per-subject share (mean over seeds)."""
    t = subjects[(subjects.model == model) & (subjects.method == method)].copy()
    t["kind"] = t.run.map(_kind)
    return {k: g.groupby("subject")[column].mean() for k, g in t.groupby("kind")}


def _share_claim(part, experiment, model, shares, column, paper, threshold, level, testable_reason):
    """Rows and verdict of a share claim: the trained share beats ``threshold`` (if given) and every null."""
    alpha = 1 - level
    trained = shares.get("trained")
    rows, failures = [], []
    if trained is None:
        return [], NOT_TESTABLE, f"no saliency of {_label(model)}"
    tests = []
    if threshold is not None:
        tests.append((f"threshold {threshold:.2f}", t_greater(trained, threshold, level), threshold))
    for null in SHARE_NULLS:
        if null in shares:
            both = pd.concat([trained, shares[null]], axis=1, join="inner").dropna()
            tests.append((null, t_greater(both.iloc[:, 0] - both.iloc[:, 1], 0.0, level), float(shares[null].mean())))
    for name, t, null_value in tests:
        ok = t["p"] <= alpha
        if np.isnan(t["p"]):
            testable_reason = testable_reason or too_few_units(t["n"], "test subjects")
        elif not ok:
            failures.append(f"not above the {name} ({null_value:.3f}; p = {t['p']:.3g})")
        rows.append({"claim": 6, "part": part, "metric": column.replace("_", " "), "scope": f"{experiment}, vs {name}",
                     "paper": paper, "value": float(trained.mean()), "compared_with": null_value,
                     "lo": t["lo"], "hi": t["hi"], "p": t["p"],
                     "verdict": REPRODUCED if ok else NOT_REPRODUCED,
                     "reason": f"{t['n']} test subjects, one-sided paired t-test"})
    if testable_reason:
        for r in rows:
            r["verdict"], r["reason"] = NOT_TESTABLE, testable_reason
        return rows, NOT_TESTABLE, testable_reason
    verdict = REPRODUCED if not failures else NOT_REPRODUCED
    reason = (f"{_label(model)} {float(trained.mean()):.3f}: above every null" if not failures
              else f"{_label(model)} {float(trained.mean()):.3f}: " + "; ".join(failures))
    return rows, verdict, reason


def too_few_units(n: int, units: str) -> str:
    return f"{n} {units}: a paired t-test needs at least 2"


def _drop_units(drop: pd.DataFrame, method: str, fraction: float, target: str, source: str | None, kind: str):
    t = drop[(drop.method == method) & np.isclose(drop.fraction, fraction) & (drop.target == target)
             & (drop.kind == kind)]
    if source is not None:
        t = t[t.source == source]
    return t.set_index(["seed", "subject"])["drop"]


def _drop_claim(part, experiment, paper, comparisons, level, testable_reason):
    """Rows and verdict of a feature-drop claim: every ``(what, a, b)`` of ``comparisons`` needs a > b
    (per seed x subject, one-sided paired t-test)."""
    rows, failures = [], []
    tests = []
    for what, a, b in comparisons:
        both = pd.concat([a, b], axis=1, join="inner").dropna()
        tests.append((what, both, t_greater(both.iloc[:, 0] - both.iloc[:, 1], 0.0, level)))
    testable_reason = testable_reason or next(
        (too_few_units(t["n"], "seed x subject pairs") for *_, t in tests if np.isnan(t["p"])), "")
    for what, both, t in tests:
        ok = t["p"] <= 1 - level
        if not ok:
            failures.append(f"{what}: {100 * t['mean']:+.1f} points (p = {t['p']:.3g})")
        rows.append({"claim": 6, "part": part, "metric": "accuracy drop (points)", "scope": f"{experiment}: {what}",
                     "paper": paper, "value": 100 * float(both.iloc[:, 0].mean()),
                     "compared_with": 100 * float(both.iloc[:, 1].mean()), "lo": 100 * t["lo"], "hi": 100 * t["hi"],
                     "p": t["p"], "verdict": NOT_TESTABLE if testable_reason else (REPRODUCED if ok else NOT_REPRODUCED),
                     "reason": testable_reason or f"{t['n']} seed x subject pairs, one-sided paired t-test"})
    if testable_reason:
        return rows, NOT_TESTABLE, testable_reason
    if failures:
        return rows, NOT_REPRODUCED, "; ".join(failures)
    return rows, REPRODUCED, "; ".join(f"{r['scope'].split(': ', 1)[1]}: {r['value'] - r['compared_with']:+.1f} points"
                                       for r in rows)


def hcp_claims(accuracy: pd.DataFrame, onoff: dict, onoff_subjects: dict, drop_subjects: dict,
               truth: pd.DataFrame | None, experiments: dict, source: str, method: str, fraction: float,
               n_test_subjects: int, min_test_subjects: int, level: float):
    """(claim table, Markdown).  ``onoff`` / ``onoff_subjects`` / ``drop_subjects``: on_off experiment ->
    its tables; ``experiments``: name -> spec (kind, tasks, hrf_shift_s, baseline, frames)."""
    rows, overall, notes = [], [], []
    few = (f"only {n_test_subjects} test subjects (hcp.analysis.min_test_subjects: {min_test_subjects})"
           if n_test_subjects < min_test_subjects else "")

    def untestable(experiment, *models):
        if few:
            return few
        bad = [m for m in models if not above_null(accuracy, experiment, m)]
        return f"{', '.join(map(_label, bad))} not above its permutation null on {experiment}" if bad else ""

    for e in onoff:
        shift = experiments[e]["hrf_shift_s"]
        subj = onoff_subjects[e]
        tag = f"{e} (HRF shift {shift:g} s)"
        for part, model, column, paper, threshold in (
                ("6a LSTM top saliency mostly off-task", LSTM, "off_task_share", "> 70 % off-task", 0.7),
                ("6b input-cell attention top saliency on-task", INPUTCELL, "on_task_share", "mostly on-task", None)):
            shares = subject_shares(subj, model, method, column)
            r, v, why = _share_claim(part, e, model, shares, column, paper, threshold, level, untestable(e, model))
            rows += r
            overall.append({"part": f"{part} [{tag}]", "verdict": v, "reason": why})
        drop = drop_subjects[e]
        why_not = untestable(e, LSTM, INPUTCELL)
        if (drop.target == LSTM).any() and (drop.target == INPUTCELL).any():
            own = {m: _drop_units(drop, method, fraction, m, None, "own") for m in (LSTM, INPUTCELL)}
            rand = {m: _drop_units(drop, method, fraction, m, None, "random") for m in (LSTM, INPUTCELL)}
            cross = _drop_units(drop, method, fraction, LSTM, INPUTCELL, "cross")
            r, v, why = _drop_claim(
                "6c own top entries hurt input-cell attention more than the LSTM", e, "LSTM ~2, input-cell ~9.5",
                [("input-cell drop beyond random vs LSTM's", own[INPUTCELL] - rand[INPUTCELL], own[LSTM] - rand[LSTM]),
                 ("input-cell own vs random entries", own[INPUTCELL], rand[INPUTCELL])], level, why_not)
            rows += r
            overall.append({"part": f"6c own-feature drop, input-cell > LSTM [{tag}]", "verdict": v, "reason": why})
            r, v, why = _drop_claim(
                "6d input-cell's top entries hurt the LSTM more than its own", e, "~6 vs ~2",
                [("LSTM with input-cell's vs its own entries", cross, own[LSTM]),
                 ("LSTM with input-cell's vs random entries", cross, rand[LSTM])], level, why_not)
            rows += r
            overall.append({"part": f"6d cross-model drop [{tag}]", "verdict": v, "reason": why})

    controls = [e for e, spec in experiments.items() if spec["kind"] == "off_task"]
    for e in controls:
        spec = experiments[e]
        partner = next((o for o in onoff if list(experiments[o]["tasks"]) == list(spec["tasks"])), None)
        g = accuracy[(accuracy.experiment == e) & accuracy.run.astype(str).str.startswith("seed")]
        models = list(dict.fromkeys(g.model))
        reason_nt = few or ("" if partner and all(above_null(accuracy, partner, m) for m in models) else
                            f"the on/off models ({partner or 'no on_off experiment with these tasks'}) are not all "
                            "above chance, so chance here would say nothing")
        above = [m for m in models if g[g.model == m].above_null.any()]
        for m in models:
            gm = g[g.model == m]
            rows.append({"claim": 6, "part": "6e off-task frames alone are at chance", "metric": "test accuracy",
                         "scope": f"{e} (baseline {spec['baseline']}), {_label(m)}", "paper": "at chance",
                         "value": float(gm.test_accuracy.mean()),
                         "compared_with": f"null {gm.null_lo.min():.3f}-{gm.null_hi.max():.3f}",
                         "p": float(gm.p_perm.min()),
                         "verdict": NOT_TESTABLE if reason_nt else (NOT_REPRODUCED if m in above else REPRODUCED),
                         "reason": reason_nt or ("above its permutation null" if m in above else "within its null")})
        v = NOT_TESTABLE if reason_nt else (NOT_REPRODUCED if above else REPRODUCED)
        overall.append({"part": f"6e off-task control at chance [{e}, baseline {spec['baseline']}]", "verdict": v,
                        "reason": reason_nt or (f"{', '.join(map(_label, above))} above the null" if above
                                                else "every model within its permutation null")})

    # what carries the off-task information: the run's standardisation or the frames themselves
    by_baseline = {experiments[e]["baseline"]: e for e in controls}
    if {"run", "rest"} <= set(by_baseline):
        acc = {b: accuracy[(accuracy.experiment == e) & accuracy.run.astype(str).str.startswith("seed")]
               for b, e in by_baseline.items()}
        run_above, rest_above = bool(acc["run"].above_null.any()), bool(acc["rest"].above_null.any())
        txt = (f"off-task control: mean accuracy {100 * acc['run'].test_accuracy.mean():.1f} % with whole-run "
               f"z-scoring ({by_baseline['run']}), {100 * acc['rest'].test_accuracy.mean():.1f} % with each run "
               f"re-standardised by its rest frames ({by_baseline['rest']}). ")
        if run_above and not rest_above:
            txt += ("The off-task information is the whole-run standardisation: it puts a run's rest frames below the "
                    "run's mean in the areas its task drives, a task signature in every off-task frame; with a rest "
                    "baseline the models fall to their nulls.")
        elif run_above and rest_above:
            txt += "Off-task frames stay informative with a rest baseline too: the standardisation is not the only cause."
        else:
            txt += "With whole-run z-scoring the control is already at chance."
        notes.append(txt)

    control_lines = _controls_section(accuracy, experiments)
    truth_lines = _truth_section(truth, method, source)
    table = claim_table(rows)
    intro = (f"Saliency method: {method}; top {100 * fraction:.0f} % of each sample's (time, area) entries. Test "
             f"subjects: {n_test_subjects}. Every comparison is a one-sided paired t-test at alpha = {1 - level:.2f} "
             "(statsmodels); intervals are of the difference. A claim is 'not testable' where a model it is about "
             "is not above its permutation null or there are too few test subjects.")
    text = claims_markdown("HCP: the paper's claims (SPEC section 1, point 6), decided against nulls", intro, overall,
                           table, notes, control_lines + truth_lines, "Where the off-task information comes from")
    return table, text


def _controls_section(accuracy: pd.DataFrame, experiments: dict) -> list[str]:
    out = ["", "## Confound controls", "",
           "| experiment | trained models (mean %) | length only % | mean only % | time-shuffled (mean %) | "
           "permuted labels (mean %) | what it shows |", "|---|---|---|---|---|---|---|"]
    for e, g in accuracy.groupby("experiment", sort=False):
        seeds = g[g.run.astype(str).str.startswith("seed")]
        ctrl = {r.model: r for r in g[g.run == "logistic control"].itertuples()}

        def pct(rows):
            return f"{100 * rows.test_accuracy.mean():.1f}" if len(rows) else "-"

        def ctl(name):
            r = ctrl.get(f"{name}_only")
            return "-" if r is None else f"{100 * r.test_accuracy:.1f}" + (" *" if r.above_null else "")

        shown = []
        for name in ("length", "mean"):
            r = ctrl.get(f"{name}_only")
            if r is not None and r.above_null:
                shown.append(f"the sample's {name} alone separates the tasks")
        ts = g[g.run == "timeshuffled"]
        if len(ts) and ts.above_null.any():
            shown.append("shuffling the frames in time keeps the information")
        out.append(f"| {e} | {pct(seeds)} | {ctl('length')} | {ctl('mean')} | {pct(ts)} | "
                   f"{pct(g[g.run == 'permuted'])} | {'; '.join(shown) or 'no confound above its null'} |")
    out += ["", "\\* above its label-permutation null (95 %)."]
    return out


def _truth_section(truth: pd.DataFrame | None, method: str, source: str) -> list[str]:
    if source != "simulated":
        return ["", "## Ground truth", "", "Real data (hcp.source: raw) have no ground truth: nothing here says which "
                "areas or frames carry the task, so saliency cannot be scored against it."]
    if truth is None or truth.empty:
        return []
    t = truth[truth.method == method].copy()
    t["kind"] = ["trained" if str(r).startswith("seed") else str(r) for r in t.run]
    out = ["", "## Ground truth of the simulated cohort", "",
           "| experiment | model | run | area AUROC | time AUROC |", "|---|---|---|---|---|"]
    for (e, m, k), g in t.groupby(["experiment", "model", "kind"], sort=False):
        out.append(f"| {e} | {_label(m)} | {k} | {g.area_auroc.mean():.3f} | {g.time_auroc.mean():.3f} |")
    return out
