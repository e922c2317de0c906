"""Claim 6 of SPEC section 1 (the HCP experiments), one function per claim, decided at the run level.

For every on_off experiment (the paper's, and any variant such as one without the HRF shift):

- 6a (:func:`claim_6a`), two lines: the LSTM puts more than 70 % of its top salient entries off-task (beyond
  the uniform and time-shuffled maps), and that share is learned (beyond the same architecture untrained and
  trained on permuted labels);
- 6b (:func:`claim_6b`): input-cell attention puts them on-task, beyond every no-knowledge map, and not
  equivalent to a uniform or time-shuffled map;
- 6c (:func:`claim_6c`): removing a model's own top entries hurts input-cell attention more than
  the LSTM;
- 6d (:func:`claim_6d`): input-cell attention's top entries hurt the LSTM more than its own;

and for every off_task experiment, 6e (:func:`claim_6e`): a model trained on the off-task
frames alone is at chance (two one-sided tests against ``equivalence_margin``).

The replicate is the training run: a share is a run's mean over every test sample, a drop a
run's accuracy loss over every test sample as a fraction of its headroom (base accuracy minus
chance), beyond a random order of entries averaged over ``random_drop_draws`` draws.  Trained
models and controls are scored on the same test samples.  The floors of a share are a uniform
map (constant), the run's own map shuffled in time (paired by run), and the same architecture
untrained and trained on permuted labels (``seeds`` runs each, Welch t-test on run means); the
floors of a drop are the random order (paired by run) and the untrained twin's map applied to
the same trained run (paired by run).  The gate of a model is read from the accuracy table: every run above its
own label-permutation null; see :mod:`.verdicts` for the decision table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from ..plan import CLAIM_MODELS, run_index, run_kind
from ..stats import equivalence, one_sample, paired, paired_equivalence, two_sample, two_sample_equivalence
from .verdicts import Claim, Comparison, ModelCheck, RunGate, decided_claim, untestable

LSTM, INPUTCELL = CLAIM_MODELS  # the models whose controls get a run per seed (plan.control_runs)


def _label(m: str) -> str:
    return LABELS.get(m, m)


class Context:
    """What every HCP claim reads: the accuracy table of every experiment, the configured controls, the
    number of test subjects and the analysis settings (``level``, ``equivalence_margin``,
    ``min_test_subjects``, ``smallest_effect``)."""

    def __init__(self, accuracy: pd.DataFrame, controls, n_test_subjects: int, settings: dict):
        self.accuracy = accuracy.assign(kind=[run_kind(r) for r in accuracy.run])
        self.controls, self.n_subjects, self.settings = list(controls), int(n_test_subjects), settings
        self.level = settings["level"]

    def preconditions(self) -> list[str]:
        need = self.settings["min_test_subjects"]
        return (
            [f"only {self.n_subjects} test subjects (hcp.analysis.min_test_subjects: {need})"]
            if self.n_subjects < need
            else []
        )

    def check(self, experiment: str, model: str, scope: str, subject: bool = True) -> ModelCheck:
        """The gate of the model's trained runs on ``experiment``: each run against its own label-permutation null."""
        g = self.accuracy[
            (self.accuracy.experiment == experiment)
            & (self.accuracy.model == model)
            & (self.accuracy.kind == "trained")
        ]
        runs = tuple(
            RunGate(str(r.run), float(r.test_accuracy), float(r.null_hi), float(r.p_perm), bool(r.above_null))
            for r in g.itertuples()
        )
        return ModelCheck(_label(model), scope, runs, experiment, subject)

    def effect(self, unit: str) -> float:
        """The smallest difference of interest in ``unit``: ``share`` or ``relative_drop``
        (hcp.analysis.smallest_effect)."""
        return float(self.settings["smallest_effect"][unit])

    def missing_control(self, control: str) -> str:
        return "" if control in self.controls else f"the {control} control is not in hcp.analysis.controls"


def _runs(table: pd.DataFrame, model: str, kind: str, column: str) -> pd.Series:
    """Per-run values of ``column`` (indexed by replicate number) of a model's runs of one kind."""
    t = table[(table.model == model) & (table.run.map(run_kind) == kind)]
    return pd.Series(t[column].to_numpy(np.float64), index=[run_index(r) for r in t.run]).sort_index()


def _named(values: pd.Series, kind: str = "seed") -> pd.Series:
    """The same values indexed by run name (``seed0``, ...), so that a NaN run is named where it is left out."""
    return pd.Series(values.to_numpy(), index=[f"{kind}{i}" for i in values.index], dtype=np.float64)


def _noise_floors(ctx: Context, shares: pd.DataFrame, model: str, column: str, scope: str, role: str = "floor"):
    """A share against the two maps with no knowledge of the task drawn from the run itself: a uniform map
    (a constant) and the run's own map shuffled in time (paired by run)."""
    mine = _runs(shares, model, "trained", column)
    uniform = float(_runs(shares, model, "uniform map", column).mean())
    shuffled = _runs(shares, model, "time-shuffled map", column).reindex(mine.index)
    effect = ctx.effect("share")
    return (
        mine,
        uniform,
        shuffled,
        [
            Comparison(
                scope,
                "uniform map",
                role,
                column,
                one_sample(_named(mine), uniform, 1, ctx.level),
                noise=True,
                effect=effect,
            ),
            Comparison(
                scope,
                "time-shuffled map",
                role,
                column,
                paired(_named(mine), shuffled, 1, ctx.level),
                noise=True,
                effect=effect,
            ),
        ],
    )


def _control_comparisons(ctx: Context, shares, model, column, scope, role: str) -> list[Comparison]:
    """A share against the same architecture untrained and trained on permuted labels (Welch t-test on run
    means); with ``role = "claim"`` (a claim that the share is learned) also two one-sided tests that it is
    equivalent to each, within ``smallest_effect``, which count against that claim."""
    mine = _named(_runs(shares, model, "trained", column))
    effect = ctx.effect("share")
    out = []
    for control in ("untrained", "permuted"):
        missing = ctx.missing_control(control)
        other = None if missing else _named(_runs(shares, model, control, column), control)
        out.append(
            Comparison(
                scope,
                f"{control} {_label(model)}",
                role,
                column,
                None if missing else two_sample(mine, other, 1, ctx.level),
                missing=missing,
                effect=effect,
            )
        )
        if role == "claim":
            out.append(
                Comparison(
                    scope,
                    f"{control} {_label(model)} (within ±{effect:g})",
                    "noise-equivalence",
                    column,
                    None if missing else two_sample_equivalence(mine, other, effect, ctx.level),
                    missing=missing,
                    effect=effect,
                )
            )
    return out


def _decided(ctx, claim_id, text, paper, metric, scopes, models, comparisons, preconditions=None) -> Claim:
    return decided_claim(
        claim_id,
        text,
        paper,
        metric,
        scopes,
        models,
        comparisons,
        ctx.level,
        preconditions,
        common=ctx.preconditions(),
        n_subjects=ctx.n_subjects,
    )


def claim_6a(ctx: Context, experiment: str, tag: str, shares: pd.DataFrame) -> list[Claim]:
    """6a, two lines: the LSTM's off-task share of its top entries is above 0.70 and beyond the maps with no
    knowledge drawn from the run (uniform, time-shuffled); and that share is learned: above the same
    architecture's untrained and label-permuted runs' (a share equivalent to theirs counts against that line)."""
    column, models = "off_task_share", [ctx.check(experiment, LSTM, tag)]
    mine, _, _, noise = _noise_floors(ctx, shares, LSTM, column, tag)
    threshold = Comparison(
        tag,
        "threshold 0.70",
        "claim",
        column,
        one_sample(_named(mine), 0.7, 1, ctx.level),
        effect=ctx.effect("share"),
    )
    return [
        _decided(
            ctx,
            "6a",
            "6a LSTM top saliency mostly off-task",
            "> 70 % off-task",
            column,
            [tag],
            models,
            [*noise, threshold],
        ),
        _decided(
            ctx,
            "6a-learned",
            "6a learned: the LSTM's off-task share is learned (beyond untrained and permuted-label runs)",
            "not in the paper",
            column,
            [tag],
            models,
            _control_comparisons(ctx, shares, LSTM, column, tag, "claim"),
        ),
    ]


def claim_6b(ctx: Context, experiment: str, tag: str, shares: pd.DataFrame) -> Claim:
    """6b: input-cell attention's on-task share is above every no-knowledge map's (uniform, time-shuffled,
    untrained, permuted labels); its share equivalent to a uniform or time-shuffled map's (within
    ``smallest_effect``) counts against the claim."""
    column, margin = "on_task_share", ctx.effect("share")
    mine, uniform, shuffled, noise = _noise_floors(ctx, shares, INPUTCELL, column, tag)
    equivalent = [
        Comparison(
            tag,
            f"uniform map (within ±{margin:g})",
            "noise-equivalence",
            column,
            equivalence(_named(mine), uniform, margin, ctx.level),
            noise=True,
            effect=margin,
        ),
        Comparison(
            tag,
            f"time-shuffled map (within ±{margin:g})",
            "noise-equivalence",
            column,
            paired_equivalence(_named(mine), _named(shuffled), margin, ctx.level),
            noise=True,
            effect=margin,
        ),
    ]
    return _decided(
        ctx,
        "6b",
        "6b input-cell attention top saliency on-task",
        "mostly on-task",
        column,
        [tag],
        [ctx.check(experiment, INPUTCELL, tag)],
        [*noise, *equivalent, *_control_comparisons(ctx, shares, INPUTCELL, column, tag, "floor")],
    )


def _drops(drop: pd.DataFrame, target: str, fraction: float, method: str) -> pd.DataFrame:
    """target's per-run relative drops at ``fraction``: one row per seed, one column per (kind, source)."""
    t = drop[(drop.target == target) & np.isclose(drop.fraction, fraction) & (drop.method == method)]
    t = t.assign(key=[k if k == "random" else f"{k}:{s}" for k, s in zip(t.kind, t.source, strict=True)])
    table = t.pivot_table(index="seed", columns="key", values="relative_drop", aggfunc="first", dropna=False)
    table.index = [f"seed{int(i)}" for i in table.index]
    return table


def _col(table: pd.DataFrame, key: str) -> pd.Series:
    return table[key] if key in table else pd.Series(np.nan, index=table.index)


def _drop_floors(ctx, scope: str, what: str, target_drops: pd.DataFrame, source: str, kind: str) -> list[Comparison]:
    """A map's drop on one target against a random order and against the untrained twin's map, paired by run."""
    mine = _col(target_drops, f"{kind}:{source}")
    missing, effect = ctx.missing_control("untrained"), ctx.effect("relative_drop")
    return [
        Comparison(
            scope,
            f"random entries ({what})",
            "floor",
            "relative drop",
            paired(mine, _col(target_drops, "random"), 1, ctx.level),
            noise=True,
            effect=effect,
        ),
        Comparison(
            scope,
            f"untrained {_label(source)}'s entries ({what})",
            "floor",
            "relative drop",
            None if missing else paired(mine, _col(target_drops, f"untrained:{source}"), 1, ctx.level),
            missing=missing,
            effect=effect,
        ),
    ]


def claim_6c(ctx: Context, experiment: str, tag: str, drop: pd.DataFrame, method: str, fraction: float) -> Claim:
    """6c: input-cell attention's own top entries cost it more of its headroom, beyond a random order, than the
    LSTM's own cost the LSTM (Welch t-test on run means); input-cell attention's entries beyond both floors.  Both
    models are the claim's subjects (a drop of a model at chance has no headroom to measure)."""
    ic, lstm = _drops(drop, INPUTCELL, fraction, method), _drops(drop, LSTM, fraction, method)
    models = [ctx.check(experiment, m, tag) for m in (LSTM, INPUTCELL)]
    comparisons = _drop_floors(ctx, tag, f"on {_label(INPUTCELL)}", ic, INPUTCELL, "own")
    beyond = {
        name: _col(t, f"own:{m}") - _col(t, "random") for name, t, m in (("ic", ic, INPUTCELL), ("lstm", lstm, LSTM))
    }
    comparisons.append(
        Comparison(
            tag,
            f"{_label(LSTM)}'s own drop beyond random",
            "claim",
            "relative drop",
            two_sample(beyond["ic"], beyond["lstm"], 1, ctx.level),
            effect=ctx.effect("relative_drop"),
        )
    )
    return _decided(
        ctx,
        "6c",
        "6c own top entries hurt input-cell attention more than the LSTM",
        "LSTM ~2, input-cell ~9.5 points",
        "relative drop",
        [tag],
        models,
        comparisons,
    )


def claim_6d(ctx: Context, experiment: str, tag: str, drop: pd.DataFrame, method: str, fraction: float) -> Claim:
    """6d: input-cell attention's top entries cost the LSTM more of its headroom than the LSTM's own (paired by
    LSTM run); input-cell attention's entries beyond a random order and its untrained twin's on the LSTM.  Both
    models are the claim's subjects."""
    lstm = _drops(drop, LSTM, fraction, method)
    models = [ctx.check(experiment, m, tag) for m in (LSTM, INPUTCELL)]
    comparisons = _drop_floors(ctx, tag, f"on {_label(LSTM)}", lstm, INPUTCELL, "cross")
    comparisons.append(
        Comparison(
            tag,
            f"{_label(LSTM)}'s own entries",
            "claim",
            "relative drop",
            paired(_col(lstm, f"cross:{INPUTCELL}"), _col(lstm, f"own:{LSTM}"), 1, ctx.level),
            effect=ctx.effect("relative_drop"),
        )
    )
    return _decided(
        ctx,
        "6d",
        "6d input-cell's top entries hurt the LSTM more than its own",
        "~6 vs ~2 points",
        "relative drop",
        [tag],
        models,
        comparisons,
    )


def claim_6e(ctx: Context, experiment: str, tag: str, partner: str | None) -> Claim:
    """6e: every model trained on the off-task frames alone is at chance: two one-sided tests put its run
    accuracies within chance ± ``equivalence_margin``.  Only testable where the on/off models of the same
    tasks learned (chance here would otherwise say nothing)."""
    margin, acc = ctx.settings["equivalence_margin"], ctx.accuracy
    text = "6e off-task frames alone are at chance"
    g = acc[(acc.experiment == experiment) & (acc.kind == "trained")]
    models = list(dict.fromkeys(g.model))
    pre = []
    if partner is None:
        pre.append("no on_off experiment with these tasks: chance here would say nothing")
    else:
        low = [
            ctx.check(partner, m, partner)
            for m in dict.fromkeys(acc[(acc.experiment == partner) & (acc.kind == "trained")].model)
        ]
        low = [m for m in low if not m.learned]
        if low:
            pre.append(
                f"the on/off models of {partner} did not all learn ({'; '.join(m.reason() for m in low)}): "
                "chance here would say nothing"
            )
    scopes, comparisons = [], []
    for m in models:
        gm = g[g.model == m]
        scope = f"{tag}, {_label(m)}"
        scopes.append(scope)
        comparisons.append(
            Comparison(
                scope,
                f"chance ± {margin:g}",
                "claim",
                "test accuracy",
                equivalence(
                    pd.Series(gm.test_accuracy.to_numpy(np.float64), index=gm.run),
                    float(gm.chance.iloc[0]),
                    margin,
                    ctx.level,
                ),
                effect=margin,
            )
        )
    if not scopes:
        return untestable("6e", text, "at chance", "test accuracy", f"no model trained on {experiment}", tag)
    return _decided(ctx, "6e", text, "at chance", "test accuracy", scopes, [], comparisons, {s: pre for s in scopes})


def hcp_claims(
    accuracy: pd.DataFrame,
    shares: dict,
    drops: dict,
    experiments: dict,
    controls,
    method: str,
    fraction: float,
    n_test_subjects: int,
    settings: dict,
) -> list[Claim]:
    """Every claim of point 6.  ``shares`` / ``drops``: on_off experiment -> its on/off share table (one row per
    run over every test sample) and feature-drop table; ``experiments``: name -> spec (kind, tasks,
    hrf_shift_s, baseline); ``controls``: ``hcp.analysis.controls``; ``settings``: ``level``,
    ``equivalence_margin``, ``min_test_subjects``, ``smallest_effect``."""
    ctx = Context(accuracy, controls, n_test_subjects, settings)
    out = []
    for e in shares:
        tag = f"{e} (HRF shift {experiments[e]['hrf_shift_s']:g} s)"
        share = shares[e][shares[e].method == method]
        out += [
            *claim_6a(ctx, e, tag, share),
            claim_6b(ctx, e, tag, share),
            claim_6c(ctx, e, tag, drops[e], method, fraction),
            claim_6d(ctx, e, tag, drops[e], method, fraction),
        ]
    for e, spec in experiments.items():
        if spec["kind"] == "off_task" and e in set(accuracy.experiment):
            partner = next((o for o in shares if list(experiments[o]["tasks"]) == list(spec["tasks"])), None)
            out.append(claim_6e(ctx, e, f"{e} (baseline {spec.get('baseline', 'run')})", partner))
    return out
