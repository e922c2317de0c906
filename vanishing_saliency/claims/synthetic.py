"""Claims 3 and 4 of SPEC section 1 on the synthetic boxes, one function per claim.

- 3a (:func:`claim_3a`): the LSTM's and Bi-LSTM's saliency misses early and middle boxes: on the
  boxes that end before the last step, their map ranks the box *below* a noise map and below the
  same architecture untrained (the paper: WJac .000);
- 3b (:func:`claim_3b`): input-cell attention's map scores better than every other model's on
  every Table 1 dataset;
- 3c (:func:`claim_3c`): input-cell attention's WJac equals the paper's within a tolerance
  (two one-sided tests) on at least 5 of the paper's 6 datasets;
- 4a (:func:`claim_4a`): the LSTM's score rises as the box moves later, more than its untrained
  twin's and a noise map's;
- 4b (:func:`claim_4b`): input-cell attention's score is flat across box positions (two one-sided
  tests on its change against a margin), with its map above both floors at every position.

The deciding metric of each claim is ``summary.deciding_metric`` (AUROC by default); 3c is
about the paper's number and is decided on WJac.  The ``summary.reported_metrics`` (WJac,
Euc) are shown beside each verdict with the paper's value, never voted.  The replicate is
the training run: every test compares run means (:mod:`vanishing_saliency.stats`), and every
interval is a hierarchical bootstrap over runs, then test samples.  Every model a claim
involves must be above its label-permutation null (accuracy averaged over its runs), and the
map the claim relies on beyond both its floors (:mod:`.verdicts`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from ..metrics import HIGHER_IS_BETTER
from ..stats import (
    change,
    change_difference,
    change_equivalence,
    equivalence,
    hierarchical_bootstrap,
    hierarchical_bootstrap_change,
    one_sample,
    permutation_null,
    two_sample,
)
from ..workflow import derive_seed
from .verdicts import (
    NOT_REPRODUCED,
    NOT_TESTABLE,
    PAPER_TABLE1,
    REPRODUCED,
    Claim,
    Comparison,
    ModelCheck,
    ScopeVerdict,
    adjust,
    decide,
    decided_claim,
    summarise,
)

LSTM, BILSTM, INPUTCELL = "lstm", "bilstm", "inputcell_lstm"
PAPER_MATCHES_NEEDED = 5  # 3c: of the paper's 6 Table 1 datasets


def _label(model: str) -> str:
    return LABELS.get(model, model)


class Cells:
    """Per-sample scores of every (dataset, model): its trained runs and its untrained runs, each a
    per-sample table (label, pred, correct and the metrics) on the same test samples."""

    def __init__(self, tables: dict, settings: dict, seed: int):
        self.runs: dict = {}
        for (dataset, model, run, _), t in tables.items():
            kind = "untrained" if str(run).startswith("untrained") else "trained"
            self.runs.setdefault((dataset, model), {"trained": [], "untrained": []})[kind].append(t)
        self.settings, self.seed, self.level = settings, seed, settings["level"]
        self._checks: dict = {}

    def __contains__(self, key) -> bool:
        return key in self.runs and bool(self.runs[key]["trained"])

    def scores(self, dataset: str, model: str, metric: str, kind: str = "trained") -> np.ndarray:
        """(runs, samples) per-sample ``metric``."""
        return np.stack([t[metric].to_numpy(np.float64) for t in self.runs[(dataset, model)][kind]])

    def run_means(self, dataset: str, model: str, metric: str, kind: str = "trained") -> np.ndarray:
        return (
            np.nanmean(self.scores(dataset, model, metric, kind), axis=1)
            if self.runs[(dataset, model)][kind]
            else np.array([])
        )

    def check(self, dataset: str, model: str, scope: str, name: str | None = None) -> ModelCheck:
        """The model above its label-permutation null on ``dataset`` (accuracy averaged over its runs)?"""
        key = (dataset, model)
        if key not in self._checks:
            t = self.runs[key]["trained"]
            null = permutation_null(
                np.stack([x["pred"].to_numpy() for x in t]),
                t[0]["label"].to_numpy(),
                self.settings["permutations"],
                derive_seed(self.seed, "null", dataset, model),
                self.level,
            )
            self._checks[key] = null
        null = self._checks[key]
        return ModelCheck(
            name or _label(model),
            scope,
            null["accuracy"],
            null["null_hi"],
            null["p_perm"],
            len(self.runs[key]["trained"]),
            1 - self.level,
            dataset,
        )

    def floors(
        self, dataset: str, model: str, metric: str, direction: int, scope: str, noise: pd.DataFrame, what: str = ""
    ) -> list[Comparison]:
        """The map of ``model`` on ``dataset`` against a noise map and against the same architecture untrained."""
        s, n_boot, seed = self.settings, self.settings["bootstrap"], derive_seed(self.seed, "floors", dataset, model)
        scores, floor = self.scores(dataset, model, metric), noise[metric].to_numpy(np.float64)
        out = [
            Comparison(
                scope,
                f"noise map{what}",
                "floor",
                metric,
                one_sample(np.nanmean(scores, 1), float(np.nanmean(floor)), direction, s["level"]),
                direction=direction,
                noise=True,
                boot=hierarchical_bootstrap(scores, seed, n_boot, s["level"], floor=floor)[1:],
            )
        ]
        if not self.runs[(dataset, model)]["untrained"]:
            out.append(
                Comparison(
                    scope,
                    f"untrained {_label(model)}{what}",
                    "floor",
                    metric,
                    direction=direction,
                    missing=f"no untrained runs of {_label(model)} on {dataset}",
                )
            )
            return out
        other = self.scores(dataset, model, metric, "untrained")
        out.append(
            Comparison(
                scope,
                f"untrained {_label(model)}{what}",
                "floor",
                metric,
                two_sample(np.nanmean(scores, 1), np.nanmean(other, 1), direction, s["level"]),
                direction=direction,
                boot=hierarchical_bootstrap(scores, seed + 1, n_boot, s["level"], other=other)[1:],
            )
        )
        return out

    def reported(self, dataset: str, model: str, scope: str) -> list[Comparison]:
        """The reported metrics (never voted) with the paper's value of the same model and dataset."""
        paper = PAPER_TABLE1.get(model, {}).get(dataset)
        out = []
        for metric in self.settings["reported_metrics"]:
            value = float(np.mean(self.run_means(dataset, model, metric)))
            ref = None if paper is None or metric not in ("wjac", "euc") else paper[("wjac", "euc").index(metric)]
            out.append(Comparison(scope, "paper", "reported", metric, value=value, paper=ref))
        return out


def _decided(claim_id, text, paper, metric, scopes, models, comparisons, level, preconditions=None) -> Claim:
    """Holm across the claim's comparisons, then each scope's verdict, then the claim's."""
    return decided_claim(claim_id, text, paper, metric, scopes, models, comparisons, level, preconditions)


def _untestable(claim_id, text, paper, metric, why) -> Claim:
    return Claim(claim_id, text, paper, metric, NOT_TESTABLE, why, [ScopeVerdict("all", NOT_TESTABLE, why)])


def claim_3a(cells: Cells, noise: dict, early: list[str], level: float) -> Claim:
    """3a: on every box that ends before the last step, the LSTM's and the Bi-LSTM's map score *worse*
    than a noise map and than their untrained twin (the box gets less saliency than a map with no
    knowledge gives it: saliency vanishes backwards in time), each model above its permutation null."""
    metric = cells.settings["deciding_metric"]["3a"]
    direction = -1 if HIGHER_IS_BETTER[metric] else 1
    text, paper = "3a LSTM / Bi-LSTM saliency misses early and middle boxes", "WJac .000 (Table 1)"
    pairs = [(d, m) for d in early for m in (LSTM, BILSTM) if (d, m) in cells]
    if not pairs:
        return _untestable(
            "3a", text, paper, metric, "no LSTM or Bi-LSTM of synthetic.table1 on a box that ends before the last step"
        )
    models, comparisons, scopes = [], [], []
    for d, m in pairs:
        scope = f"{d}, {_label(m)}"
        scopes.append(scope)
        models.append(cells.check(d, m, scope))
        comparisons += cells.floors(d, m, metric, direction, scope, noise[d]) + cells.reported(d, m, scope)
    return _decided("3a", text, paper, metric, scopes, models, comparisons, level)


def claim_3b(cells: Cells, noise: dict, datasets: list[str], level: float) -> Claim:
    """3b: on every Table 1 dataset, input-cell attention's map beats both its floors and every other
    model's map (Welch t-test on run means), every model above its permutation null."""
    metric = cells.settings["deciding_metric"]["3b"]
    direction = 1 if HIGHER_IS_BETTER[metric] else -1
    text, paper = "3b input-cell attention scores best on every dataset", "best WJac on all 6 (Table 1)"
    if not any((d, INPUTCELL) in cells for d in datasets):
        return _untestable(
            "3b", text, paper, metric, f"{INPUTCELL} ({_label(INPUTCELL)}) is not among synthetic.table1.models"
        )
    models, comparisons = [], []
    for d in datasets:
        others = [m for (dd, m) in cells.runs if dd == d and m != INPUTCELL and (d, m) in cells]
        models += [cells.check(d, m, d) for m in [INPUTCELL, *others]]
        comparisons += cells.floors(d, INPUTCELL, metric, direction, d, noise[d])
        mine = cells.scores(d, INPUTCELL, metric)
        for m in others:
            theirs = cells.scores(d, m, metric)
            comparisons.append(
                Comparison(
                    d,
                    _label(m),
                    "claim",
                    metric,
                    two_sample(np.nanmean(mine, 1), np.nanmean(theirs, 1), direction, level),
                    direction=direction,
                    boot=hierarchical_bootstrap(
                        mine, derive_seed(cells.seed, "3b", d, m), cells.settings["bootstrap"], level, other=theirs
                    )[1:],
                )
            )
        comparisons += cells.reported(d, INPUTCELL, d)
    return _decided("3b", text, paper, metric, datasets, models, comparisons, level)


def claim_3c(cells: Cells, noise: dict, datasets: list[str], level: float) -> Claim:
    """3c: input-cell attention's WJac within ``paper_tolerance`` of the paper's (two one-sided tests on run
    means) on at least 5 of the paper's 6 datasets.  A dataset where a noise map also lands within the
    tolerance is not testable: matching that number is no evidence."""
    metric, tol = "wjac", cells.settings["paper_tolerance"]
    text, paper = f"3c input-cell WJac as in the paper (within ±{tol:g})", "Table 1 input-cell WJac"
    paper_wjac = PAPER_TABLE1[INPUTCELL]
    scopes = [d for d in datasets if d in paper_wjac and (d, INPUTCELL) in cells]
    if not scopes:
        return _untestable(
            "3c", text, paper, metric, f"no dataset of the paper's Table 1 has {_label(INPUTCELL)} in synthetic.table1"
        )
    models, comparisons, pre = [], [], {}
    for d in scopes:
        models.append(cells.check(d, INPUTCELL, d))
        comparisons += cells.floors(d, INPUTCELL, metric, 1, d, noise[d])
        runs, ref = cells.run_means(d, INPUTCELL, metric), paper_wjac[d][0]
        est = hierarchical_bootstrap(
            cells.scores(d, INPUTCELL, metric), derive_seed(cells.seed, "3c", d), cells.settings["bootstrap"], level
        )
        comparisons.append(
            Comparison(
                d,
                f"the paper (±{tol:g})",
                "claim",
                metric,
                equivalence(runs, ref, tol, level),
                equivalence=True,
                paper=ref,
                boot=(est[1] - ref, est[2] - ref),
            )
        )
        noise_wjac = float(np.nanmean(noise[d][metric]))
        if abs(noise_wjac - ref) <= tol:
            pre[d] = [
                f"a noise map also lands within ±{tol:g} of the paper ({noise_wjac:.3f} vs {ref:.3f}): "
                "matching the number is no evidence"
            ]
    adjust(comparisons)
    verdicts = [decide(d, models, comparisons, level, pre.get(d, [])) for d in scopes]
    need = min(PAPER_MATCHES_NEEDED, len(scopes))
    ok = sum(v.verdict == REPRODUCED for v in verdicts)
    open_ = sum(v.verdict.startswith(NOT_TESTABLE) for v in verdicts)
    verdict = REPRODUCED if ok >= need else (NOT_REPRODUCED if ok + open_ < need else NOT_TESTABLE)
    return Claim(
        "3c",
        text,
        paper,
        metric,
        verdict,
        f"matched on {ok} of {len(scopes)} datasets (needed: {need}); " + summarise(verdicts),
        verdicts,
        comparisons,
        models,
    )


def _by_position(cells: Cells, model: str, metric: str, starts: dict, kind: str = "trained", noise=None) -> dict:
    """position -> run means (or, with ``noise``, run means minus the noise map's mean at that position)."""
    out = {}
    for d, start in starts.items():
        runs = cells.run_means(d, model, metric, kind)
        out[start] = runs - (float(np.nanmean(noise[d][metric])) if noise is not None else 0.0)
    return out


def _scores_by_position(cells: Cells, model: str, metric: str, starts: dict, kind="trained", noise=None) -> dict:
    out = {}
    for d, start in starts.items():
        s = cells.scores(d, model, metric, kind)
        out[start] = s - (noise[d][metric].to_numpy(np.float64)[None, :] if noise is not None else 0.0)
    return out


def _moving(cells: Cells, model: str, starts: dict, claim: tuple) -> tuple:
    """(scope, model checks at every start, None) of a moving-box claim about ``model``, or (None, None, the
    claim not testable) where the model is not trained on two or more positions.  ``claim``: (id, text, paper,
    metric)."""
    if len(starts) < 2 or not all((d, model) in cells for d in starts):
        return (
            None,
            None,
            _untestable(
                *claim, f"{_label(model)} is not trained on two or more moving-box positions (synthetic.moving)"
            ),
        )
    scope = f"{_label(model)}, starts {min(starts.values())}-{max(starts.values())}"
    checks = [cells.check(d, model, scope, f"{_label(model)} at start {start}") for d, start in starts.items()]
    return scope, checks, None


def claim_4a(cells: Cells, noise: dict, starts: dict, level: float) -> Claim:
    """4a: the LSTM's score rises as the box moves later: its change from the first to the last start (an OLS
    line through every run's mean) beats a noise map's change and its untrained twin's, the LSTM above its
    permutation null at every start."""
    metric = cells.settings["deciding_metric"]["4a"]
    direction = 1 if HIGHER_IS_BETTER[metric] else -1
    text, paper, s = "4a LSTM saliency improves as the box moves later", "rises (Fig. 5)", cells.settings
    scope, models, untestable = _moving(cells, LSTM, starts, ("4a", text, paper, metric))
    if untestable:
        return untestable
    seed = derive_seed(cells.seed, "4a")
    comparisons = [
        Comparison(
            scope,
            "noise map's change",
            "floor",
            metric,
            change(_by_position(cells, LSTM, metric, starts, noise=noise), direction, level),
            direction=direction,
            noise=True,
            boot=hierarchical_bootstrap_change(
                _scores_by_position(cells, LSTM, metric, starts, noise=noise), seed, s["bootstrap"], level
            )[1:],
        )
    ]
    if all(cells.runs[(d, LSTM)]["untrained"] for d in starts):
        comparisons.append(
            Comparison(
                scope,
                f"untrained {_label(LSTM)}'s change",
                "floor",
                metric,
                change_difference(
                    _by_position(cells, LSTM, metric, starts),
                    _by_position(cells, LSTM, metric, starts, "untrained"),
                    direction,
                    level,
                ),
                direction=direction,
                boot=hierarchical_bootstrap_change(
                    _scores_by_position(cells, LSTM, metric, starts),
                    seed + 1,
                    s["bootstrap"],
                    level,
                    _scores_by_position(cells, LSTM, metric, starts, "untrained"),
                )[1:],
            )
        )
    else:
        comparisons.append(
            Comparison(
                scope,
                f"untrained {_label(LSTM)}'s change",
                "floor",
                metric,
                missing="no untrained LSTM runs at every moving-box position",
            )
        )
    comparisons += [
        Comparison(scope, "change (not voted)", "reported", m, change(_by_position(cells, LSTM, m, starts), 1, level))
        for m in s["reported_metrics"]
    ]
    return _decided("4a", text, paper, metric, [scope], models, comparisons, level)


def claim_4b(cells: Cells, noise: dict, starts: dict, level: float) -> Claim:
    """4b: input-cell attention's score is flat across box positions: two one-sided tests put its change (OLS
    through every run's mean) within ``flat_margin``, with its map beyond a noise map and its untrained twin at
    every position (a map at chance is flat too) and the model above its permutation null everywhere."""
    metric = cells.settings["deciding_metric"]["4b"]
    direction = 1 if HIGHER_IS_BETTER[metric] else -1
    margin = cells.settings["flat_margin"][metric]
    text, paper, s = "4b input-cell attention is flat across box positions", "flat (Fig. 5)", cells.settings
    scope, models, untestable = _moving(cells, INPUTCELL, starts, ("4b", text, paper, metric))
    if untestable:
        return untestable
    comparisons = []
    for d, start in starts.items():
        comparisons += cells.floors(d, INPUTCELL, metric, direction, scope, noise[d], f" at start {start}")
    comparisons.append(
        Comparison(
            scope,
            f"no change (±{margin:g})",
            "claim",
            metric,
            change_equivalence(_by_position(cells, INPUTCELL, metric, starts), margin, level),
            equivalence=True,
            boot=hierarchical_bootstrap_change(
                _scores_by_position(cells, INPUTCELL, metric, starts),
                derive_seed(cells.seed, "4b"),
                s["bootstrap"],
                level,
            )[1:],
        )
    )
    comparisons += [
        Comparison(
            scope, "change (not voted)", "reported", m, change(_by_position(cells, INPUTCELL, m, starts), 1, level)
        )
        for m in s["reported_metrics"]
    ]
    return _decided("4b", text, paper, metric, [scope], models, comparisons, level)


def synthetic_claims(
    table1: dict, moving: dict, noise: dict, starts: dict, settings: dict, seed: int, box_ends: dict | None = None
) -> list[Claim]:
    """Every claim of points 3 and 4.  ``table1`` / ``moving``: {(dataset, model, run, method): per-sample
    table}; ``noise``: dataset -> per-sample scores of the noise map; ``starts``: moving dataset -> box start;
    ``box_ends``: Table 1 dataset -> (last box step, n_time) (None: every box counts as early or middle);
    ``settings``: ``synthetic.summary`` of the config."""
    level = settings["level"]
    t1 = Cells(table1, settings, seed)
    datasets = list(dict.fromkeys(d for d, *_ in table1))
    early = [d for d in datasets if box_ends is None or box_ends[d][0] < box_ends[d][1]]
    mv = Cells(moving, settings, seed)
    positions = {d: starts[d] for d in dict.fromkeys(d for d, *_ in moving)}
    return [
        claim_3a(t1, noise, early, level),
        claim_3b(t1, noise, datasets, level),
        claim_3c(t1, noise, datasets, level),
        claim_4a(mv, noise, positions, level),
        claim_4b(mv, noise, positions, level),
    ]
