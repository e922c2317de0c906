"""Claim 6 of SPEC section 1 (the HCP experiments), one function per claim, decided at the run level.

For every on_off experiment (the paper's, and any variant such as one without the HRF shift):

- 6a (:func:`claim_6a`): the LSTM puts more than 70 % of its top salient entries off-task;
- 6b (:func:`claim_6b`): input-cell attention puts them on-task;
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
the same trained run (paired by run).  Every model a claim involves must be above its
label-permutation null (accuracy averaged over its runs); see :mod:`.verdicts` for the rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..hcp.controls import run_index, run_kind
from ..labels import LABELS
from ..stats import equivalence, one_sample, paired, two_sample
from .verdicts import Claim, Comparison, ModelCheck, ScopeVerdict, decided_claim

LSTM, INPUTCELL = "lstm", "inputcell_lstm"


def _label(m: str) -> str:
    return LABELS.get(m, m)


class Context:
    """What every HCP claim reads: the accuracy table of every experiment, the configured controls, the
    number of test subjects and the analysis settings (``level``, ``equivalence_margin``,
    ``min_test_subjects``)."""

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

    def check(self, experiment: str, model: str, scope: str) -> ModelCheck:
        """The model's trained runs above their label-permutation null (accuracy averaged over the runs)?"""
        g = self.accuracy[
            (self.accuracy.experiment == experiment)
            & (self.accuracy.model == model)
            & (self.accuracy.kind == "trained")
        ]
        if g.empty:
            return ModelCheck(_label(model), scope, np.nan, np.nan, np.nan, 0, 1 - self.level, experiment)
        r = g.iloc[0]
        return ModelCheck(
            _label(model),
            scope,
            float(r.group_accuracy),
            float(r.group_null_hi),
            float(r.group_p_perm),
            int(r.group_runs),
            1 - self.level,
            experiment,
        )

    def missing_control(self, control: str) -> str:
        return "" if control in self.controls else f"the {control} control is not in hcp.analysis.controls"


def _runs(table: pd.DataFrame, model: str, kind: str, column: str) -> pd.Series:
    """Per-run values of ``column`` (indexed by replicate number) of a model's runs of one kind."""
    t = table[(table.model == model) & (table.run.map(run_kind) == kind)]
    return pd.Series(t[column].to_numpy(np.float64), index=[run_index(r) for r in t.run]).sort_index()


def _share_floors(ctx: Context, shares: pd.DataFrame, model: str, column: str, scope: str) -> list[Comparison]:
    """A share against the four maps with no knowledge of the task."""
    level = ctx.level
    mine = _runs(shares, model, "trained", column)
    uniform = float(_runs(shares, model, "uniform map", column).mean())
    out = [
        Comparison(scope, "uniform map", "floor", column, one_sample(mine, uniform, 1, level), noise=True),
        Comparison(
            scope,
            "time-shuffled map",
            "floor",
            column,
            paired(mine, _runs(shares, model, "time-shuffled map", column).reindex(mine.index), 1, level),
            noise=True,
        ),
    ]
    for control in ("untrained", "permuted"):
        missing = ctx.missing_control(control)
        other = _runs(shares, model, control, column)
        out.append(
            Comparison(
                scope,
                f"{control} {_label(model)}",
                "floor",
                column,
                None if missing else two_sample(mine, other, 1, level),
                missing=missing,
            )
        )
    return out


def _share_claim(ctx, claim_id, text, paper, experiment, tag, shares, model, column, threshold=None) -> Claim:
    models = [ctx.check(experiment, model, tag)]
    comparisons = _share_floors(ctx, shares, model, column, tag)
    if threshold is not None:
        comparisons.append(
            Comparison(
                tag,
                f"threshold {threshold:.2f}",
                "claim",
                column,
                one_sample(_runs(shares, model, "trained", column), threshold, 1, ctx.level),
            )
        )
    return _decided(ctx, claim_id, text, paper, column, [tag], models, comparisons)


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


def claim_6a(ctx: Context, experiment: str, tag: str, shares: pd.DataFrame) -> Claim:
    """6a: the LSTM's off-task share of its top entries is above 0.70 and above every no-knowledge map's."""
    return _share_claim(
        ctx,
        "6a",
        "6a LSTM top saliency mostly off-task",
        "> 70 % off-task",
        experiment,
        tag,
        shares,
        LSTM,
        "off_task_share",
        0.7,
    )


def claim_6b(ctx: Context, experiment: str, tag: str, shares: pd.DataFrame) -> Claim:
    """6b: input-cell attention's on-task share is above every no-knowledge map's."""
    return _share_claim(
        ctx,
        "6b",
        "6b input-cell attention top saliency on-task",
        "mostly on-task",
        experiment,
        tag,
        shares,
        INPUTCELL,
        "on_task_share",
    )


def _drops(drop: pd.DataFrame, target: str, fraction: float, method: str) -> pd.DataFrame:
    """target's per-run relative drops at ``fraction``: one row per seed, one column per (kind, source)."""
    t = drop[(drop.target == target) & np.isclose(drop.fraction, fraction) & (drop.method == method)]
    t = t.assign(key=[k if k == "random" else f"{k}:{s}" for k, s in zip(t.kind, t.source, strict=True)])
    return t.pivot_table(index="seed", columns="key", values="relative_drop", aggfunc="first")


def _col(table: pd.DataFrame, key: str) -> pd.Series:
    return table[key] if key in table else pd.Series(np.nan, index=table.index)


def _drop_floors(ctx, scope: str, what: str, target_drops: pd.DataFrame, source: str, kind: str) -> list[Comparison]:
    """A map's drop on one target against a random order and against the untrained twin's map, paired by run."""
    mine = _col(target_drops, f"{kind}:{source}")
    missing = ctx.missing_control("untrained")
    return [
        Comparison(
            scope,
            f"random entries ({what})",
            "floor",
            "relative drop",
            paired(mine, _col(target_drops, "random"), 1, ctx.level),
            noise=True,
        ),
        Comparison(
            scope,
            f"untrained {_label(source)}'s entries ({what})",
            "floor",
            "relative drop",
            None if missing else paired(mine, _col(target_drops, f"untrained:{source}"), 1, ctx.level),
            missing=missing,
        ),
    ]


def claim_6c(ctx: Context, experiment: str, tag: str, drop: pd.DataFrame, method: str, fraction: float) -> Claim:
    """6c: input-cell attention's own top entries cost it more of its headroom, beyond a random order, than the
    LSTM's own cost the LSTM (Welch t-test on run means); input-cell attention's entries beyond both floors."""
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
    LSTM run); input-cell attention's entries beyond a random order and its untrained twin's on the LSTM."""
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
    tasks are above chance (chance here would otherwise say nothing)."""
    margin, acc = ctx.settings["equivalence_margin"], ctx.accuracy
    text = "6e off-task frames alone are at chance"
    g = acc[(acc.experiment == experiment) & (acc.kind == "trained")]
    models = list(dict.fromkeys(g.model))
    pre = []
    if partner is None:
        pre.append("no on_off experiment with these tasks: chance here would say nothing")
    else:
        low = [
            m
            for m in dict.fromkeys(acc[(acc.experiment == partner) & (acc.kind == "trained")].model)
            if not ctx.check(partner, m, partner).above
        ]
        if low:
            pre.append(
                f"the on/off models of {partner} are not all above chance ({', '.join(map(_label, low))}): "
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
                equivalence(gm.test_accuracy, float(gm.chance.iloc[0]), margin, ctx.level),
                equivalence=True,
            )
        )
    if not scopes:
        return Claim(
            "6e",
            text,
            "at chance",
            "test accuracy",
            "not testable",
            f"no model trained on {experiment}",
            [ScopeVerdict(tag, "not testable", f"no model trained on {experiment}")],
        )
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
    ``equivalence_margin``, ``min_test_subjects``."""
    ctx = Context(accuracy, controls, n_test_subjects, settings)
    out = []
    for e in shares:
        tag = f"{e} (HRF shift {experiments[e]['hrf_shift_s']:g} s)"
        share = shares[e][shares[e].method == method]
        out += [
            claim_6a(ctx, e, tag, share),
            claim_6b(ctx, e, tag, share),
            claim_6c(ctx, e, tag, drops[e], method, fraction),
            claim_6d(ctx, e, tag, drops[e], method, fraction),
        ]
    for e, spec in experiments.items():
        if spec["kind"] == "off_task" and e in set(accuracy.experiment):
            partner = next((o for o in shares if list(experiments[o]["tasks"]) == list(spec["tasks"])), None)
            out.append(claim_6e(ctx, e, f"{e} (baseline {spec.get('baseline', 'run')})", partner))
    return out
