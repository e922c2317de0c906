"""Claims 3 and 4 of SPEC section 1 on the synthetic boxes, one function per claim.

- 3a (:func:`claim_3a`), two lines: the LSTM's and Bi-LSTM's saliency misses early and middle boxes (on the
  boxes that end before the last step their map ranks the box *below* a noise map: the paper's WJac .000),
  and that miss is learned (*below* the same architecture untrained);
- 3b (:func:`claim_3b`): input-cell attention's map scores better than every other learned model's on every
  Table 1 dataset, beyond both its floors, and is not equivalent to a noise map;
- 3c (:func:`claim_3c`): input-cell attention's WJac equals the paper's within a tolerance (two one-sided
  tests) on at least 5 of the paper's 6 datasets; declared not testable on a dataset where the paper's value
  lies below its own floors (a noise map, the untrained architecture): a map matching it could not pass them;
- 4a (:func:`claim_4a`): the LSTM's score rises as the box moves later, more than its untrained twin's;
- 4b (:func:`claim_4b`): input-cell attention's score is flat across box positions (two one-sided tests on its
  change against a margin), with its map above both floors, and not equivalent to noise, at every position.

The deciding metric of each claim is ``summary.deciding_metric`` (AUROC by default); 3c is about the paper's
number and is decided on WJac.  The ``summary.reported_metrics`` (WJac, Euc) are shown beside each verdict with
the paper's value, never voted.  The replicate is the training run: every test compares run means
(:mod:`vanishing_saliency.stats`).  The gate of every model (each run against its label-permutation null) is
read from the gates table (:func:`vanishing_saliency.tables.synthetic.gates`), computed once per run; the
decision table is :mod:`.verdicts`'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS
from ..metrics import HIGHER_IS_BETTER
from ..plan import run_kind
from ..stats import (
    change,
    change_difference,
    change_equivalence,
    equivalence,
    one_sample,
    two_sample,
    two_sample_equivalence,
)
from .verdicts import (
    NOT_REPRODUCED,
    NOT_TESTABLE,
    PAPER_TABLE1,
    REPRODUCED,
    Claim,
    Comparison,
    ModelCheck,
    RunGate,
    decided_claim,
    untestable,
)

LSTM, BILSTM, INPUTCELL = "lstm", "bilstm", "inputcell_lstm"
PAPER_MATCHES_NEEDED = 5  # 3c: of the paper's 6 Table 1 datasets


def _label(model: str) -> str:
    return LABELS.get(model, model)


class Cells:
    """Per-sample scores of every (dataset, model): its trained runs and its untrained runs, each a per-sample table
    (label, pred, correct and the metrics) on the same test samples, with the gate of every run (``gates``: one row
    per run, :func:`vanishing_saliency.tables.synthetic.gates`)."""

    def __init__(self, tables: dict, gates: pd.DataFrame, settings: dict):
        self.runs: dict = {}
        for (dataset, model, run, _), t in tables.items():
            kind = run_kind(run)
            self.runs.setdefault((dataset, model), {"trained": {}, "untrained": {}})[kind][str(run)] = t
        self.gates = gates
        self.settings, self.level = settings, settings["level"]

    def __contains__(self, key) -> bool:
        return key in self.runs and bool(self.runs[key]["trained"])

    def scores(self, dataset: str, model: str, metric: str, kind: str = "trained") -> np.ndarray:
        """(runs, samples) per-sample ``metric``."""
        return np.stack([t[metric].to_numpy(np.float64) for t in self.runs[(dataset, model)][kind].values()])

    def run_means(self, dataset: str, model: str, metric: str, kind: str = "trained") -> pd.Series:
        """Each run's mean of ``metric`` over the test samples, indexed by run name (a run whose every sample is NaN
        is NaN, and the tests name it)."""
        runs = self.runs[(dataset, model)][kind]
        return pd.Series(
            [float(t[metric].mean()) for t in runs.values()], index=list(runs), dtype=np.float64, name=metric
        )

    def check(self, dataset: str, model: str, scope: str, name: str | None = None, subject: bool = True) -> ModelCheck:
        """The gate of ``model``'s trained runs on ``dataset``: each run against its own label-permutation null."""
        g = self.gates[(self.gates.dataset == dataset) & (self.gates.model == model) & (self.gates.kind == "trained")]
        runs = tuple(
            RunGate(str(r.run), float(r.accuracy), float(r.null_hi), float(r.p_perm), bool(r.above_null))
            for r in g.itertuples()
        )
        return ModelCheck(name or _label(model), scope, runs, dataset, subject)

    def noise_floor(
        self, dataset: str, model: str, metric: str, direction: int, scope: str, noise: pd.DataFrame, what: str = ""
    ) -> Comparison:
        """The map of ``model`` against a noise map scored on the same test samples (a constant: its mean)."""
        return Comparison(
            scope,
            f"noise map{what}",
            "floor",
            metric,
            one_sample(self.run_means(dataset, model, metric), _noise(noise, metric), direction, self.level),
            direction=direction,
            noise=True,
            effect=self.effect(metric),
        )

    def noise_equivalence(self, dataset: str, model: str, metric: str, scope: str, noise, what: str = "") -> Comparison:
        """Two one-sided tests that the map scores as a noise map does, within ``smallest_effect``: where the claim
        says the map locates the box, a learned model's map equivalent to noise counts against it."""
        margin = self.effect(metric)
        return Comparison(
            scope,
            f"noise map{what} (within ±{margin:g})",
            "noise-equivalence",
            metric,
            equivalence(self.run_means(dataset, model, metric), _noise(noise, metric), margin, self.level),
            noise=True,
            effect=margin,
        )

    def untrained_floor(
        self, dataset: str, model: str, metric: str, direction: int, scope: str, what: str = "", role: str = "floor"
    ) -> Comparison:
        """The map of ``model`` against the same architecture untrained (Welch t-test on run means)."""
        against = f"untrained {_label(model)}{what}"
        if not self.runs[(dataset, model)]["untrained"]:
            return Comparison(
                scope,
                against,
                role,
                metric,
                direction=direction,
                missing=f"no untrained runs of {_label(model)} on {dataset}",
            )
        return Comparison(
            scope,
            against,
            role,
            metric,
            two_sample(
                self.run_means(dataset, model, metric),
                self.run_means(dataset, model, metric, "untrained"),
                direction,
                self.level,
            ),
            direction=direction,
            effect=self.effect(metric),
        )

    def untrained_equivalence(self, dataset: str, model: str, metric: str, scope: str) -> Comparison:
        """Two one-sided tests that the map scores as the same architecture untrained does, within
        ``smallest_effect``: where the claim says an effect is learned, equivalence counts against it."""
        margin = self.effect(metric)
        against = f"untrained {_label(model)} (within ±{margin:g})"
        if not self.runs[(dataset, model)]["untrained"]:
            return Comparison(scope, against, "noise-equivalence", metric, missing=f"no untrained runs on {dataset}")
        return Comparison(
            scope,
            against,
            "noise-equivalence",
            metric,
            two_sample_equivalence(
                self.run_means(dataset, model, metric),
                self.run_means(dataset, model, metric, "untrained"),
                margin,
                self.level,
            ),
            effect=margin,
        )

    def effect(self, metric: str) -> float:
        """The smallest difference of interest on ``metric`` (``summary.smallest_effect``)."""
        return float(self.settings["smallest_effect"][metric])

    def reported(self, dataset: str, model: str, scope: str) -> list[Comparison]:
        """The reported metrics (never voted) with the paper's value of the same model and dataset."""
        paper = PAPER_TABLE1.get(model, {}).get(dataset)
        out = []
        for metric in self.settings["reported_metrics"]:
            value = float(self.run_means(dataset, model, metric).mean())
            ref = None if paper is None or metric not in ("wjac", "euc") else paper[("wjac", "euc").index(metric)]
            out.append(Comparison(scope, "paper", "reported", metric, value=value, paper=ref))
        return out


def _noise(noise: pd.DataFrame, metric: str) -> float:
    return float(np.nanmean(noise[metric].to_numpy(np.float64)))


def _better(metric: str) -> int:
    return 1 if HIGHER_IS_BETTER[metric] else -1


def claim_3a(cells: Cells, noise: dict, early: list[str], level: float) -> list[Claim]:
    """3a, two lines: on every box that ends before the last step, the LSTM's and the Bi-LSTM's map score *worse*
    than a noise map (the box gets less saliency than a map with no knowledge gives it: saliency vanishes backwards
    in time; the paper's WJac .000), and worse than their untrained twin's (the miss is learned, not the
    architecture's at any weights; a map equivalent to the untrained twin's counts against that line).  Each (box,
    model) is a scope whose subject is that model."""
    metric = cells.settings["deciding_metric"]["3a"]
    worse = -_better(metric)
    lines = (
        ("3a", "3a LSTM / Bi-LSTM saliency misses early and middle boxes (below a noise map)", "WJac .000 (Table 1)"),
        ("3a-learned", "3a learned: the miss is learned (below the untrained twin's map)", "not in the paper"),
    )
    pairs = [(d, m) for d in early for m in (LSTM, BILSTM) if (d, m) in cells]
    if not pairs:
        why = "no LSTM or Bi-LSTM of synthetic.table1 on a box that ends before the last step"
        return [untestable(i, text, paper, metric, why) for i, text, paper in lines]
    out = []
    for claim_id, text, paper in lines:
        models, comparisons, scopes = [], [], []
        for d, m in pairs:
            scope = f"{d}, {_label(m)}"
            scopes.append(scope)
            models.append(cells.check(d, m, scope))
            if claim_id == "3a":
                c = cells.noise_floor(d, m, metric, worse, scope, noise[d])
                c.role = "claim"
            else:
                c = cells.untrained_floor(d, m, metric, worse, scope, role="claim")
                comparisons.append(cells.untrained_equivalence(d, m, metric, scope))
            comparisons += [c, *cells.reported(d, m, scope)]
        out.append(decided_claim(claim_id, text, paper, metric, scopes, models, comparisons, level))
    return out


def claim_3b(cells: Cells, noise: dict, datasets: list[str], level: float) -> Claim:
    """3b: on every Table 1 dataset, input-cell attention's map beats both its floors and every other learned
    model's map (Welch t-test on run means); its map equivalent to a noise map counts against the claim; a
    comparator at chance leaves the claim's family and is listed beside it."""
    metric = cells.settings["deciding_metric"]["3b"]
    direction = _better(metric)
    text, paper = "3b input-cell attention scores best on every dataset", "best WJac on all 6 (Table 1)"
    scopes = [d for d in datasets if (d, INPUTCELL) in cells]
    if not scopes:
        return untestable(
            "3b", text, paper, metric, f"{INPUTCELL} ({_label(INPUTCELL)}) is not among synthetic.table1.models"
        )
    models, comparisons = [], []
    for d in scopes:
        others = [m for (dd, m) in cells.runs if dd == d and m != INPUTCELL and (d, m) in cells]
        models += [cells.check(d, INPUTCELL, d)] + [cells.check(d, m, d, subject=False) for m in others]
        comparisons += [
            cells.noise_floor(d, INPUTCELL, metric, direction, d, noise[d]),
            cells.noise_equivalence(d, INPUTCELL, metric, d, noise[d]),
            cells.untrained_floor(d, INPUTCELL, metric, direction, d),
        ]
        mine = cells.run_means(d, INPUTCELL, metric)
        for m in others:
            comparisons.append(
                Comparison(
                    d,
                    _label(m),
                    "claim",
                    metric,
                    two_sample(mine, cells.run_means(d, m, metric), direction, level),
                    direction=direction,
                    comparator=_label(m),
                    effect=cells.effect(metric),
                )
            )
        comparisons += cells.reported(d, INPUTCELL, d)
    return decided_claim("3b", text, paper, metric, scopes, models, comparisons, level)


def claim_3c(cells: Cells, noise: dict, datasets: list[str], level: float) -> Claim:
    """3c: input-cell attention's WJac within ``paper_tolerance`` of the paper's (two one-sided tests on run means)
    on at least 5 of the paper's 6 datasets.  Declared not testable, before any test, on a dataset where the
    paper's value lies at or below its own floors (this run's noise map or untrained input-cell attention on
    WJac): a map that matched it would be at its floor, and a map that passed the floors would miss it; the
    equivalence test is then reported beside, not voted."""
    metric, tol = "wjac", cells.settings["paper_tolerance"]
    text, paper = f"3c input-cell WJac as in the paper (within ±{tol:g})", "Table 1 input-cell WJac"
    paper_wjac = PAPER_TABLE1[INPUTCELL]
    scopes = [d for d in datasets if d in paper_wjac and (d, INPUTCELL) in cells]
    if not scopes:
        return untestable(
            "3c", text, paper, metric, f"no dataset of the paper's Table 1 has {_label(INPUTCELL)} in synthetic.table1"
        )
    models, comparisons, pre = [], [], {}
    for d in scopes:
        ref = paper_wjac[d][0]
        models.append(cells.check(d, INPUTCELL, d))
        floors = {"noise map": _noise(noise[d], metric)}
        if cells.runs[(d, INPUTCELL)]["untrained"]:
            floors[f"untrained {_label(INPUTCELL)}"] = float(cells.run_means(d, INPUTCELL, metric, "untrained").mean())
        match = Comparison(
            d,
            f"the paper (±{tol:g})",
            "claim",
            metric,
            equivalence(cells.run_means(d, INPUTCELL, metric), ref, tol, level),
            paper=ref,
            effect=tol,
        )
        high = {k: v for k, v in floors.items() if v >= ref}
        if high:
            pre[d] = [
                f"the paper's {metric} {ref:.3f} lies below its own floors here ("
                + ", ".join(f"{k} {v:.3f}" for k, v in high.items())
                + "): a map matching it could not pass them"
            ]
            match.role = "reported"
            comparisons.append(match)
            continue
        comparisons += [
            cells.noise_floor(d, INPUTCELL, metric, 1, d, noise[d]),
            cells.untrained_floor(d, INPUTCELL, metric, 1, d),
            match,
        ]
    claim = decided_claim("3c", text, paper, metric, scopes, models, comparisons, level, pre)
    need = min(PAPER_MATCHES_NEEDED, len(scopes))
    ok = sum(v.verdict == REPRODUCED for v in claim.scopes)
    open_ = sum(v.verdict.startswith(NOT_TESTABLE) for v in claim.scopes)
    claim.verdict = REPRODUCED if ok >= need else (NOT_REPRODUCED if ok + open_ < need else NOT_TESTABLE)
    claim.reason = f"matched on {ok} of {len(scopes)} datasets (needed: {need}); " + claim.reason
    return claim


def _by_position(cells: Cells, model: str, metric: str, starts: dict, kind: str = "trained", noise=None) -> dict:
    """position -> run means (or, with ``noise``, run means minus the noise map's mean at that position)."""
    return {
        start: cells.run_means(d, model, metric, kind) - (_noise(noise[d], metric) if noise is not None else 0.0)
        for d, start in starts.items()
    }


def _moving(cells: Cells, model: str, starts: dict, claim: tuple):
    """(scope, the model's gate at every start, None) of a moving-box claim about ``model``, or (None, None, the
    claim not testable) where the model is not trained on two or more positions.  ``claim``: (id, text, paper,
    metric)."""
    if len(starts) < 2 or not all((d, model) in cells for d in starts):
        return (
            None,
            None,
            untestable(
                *claim, f"{_label(model)} is not trained on two or more moving-box positions (synthetic.moving)"
            ),
        )
    scope = f"{_label(model)}, starts {min(starts.values())}-{max(starts.values())}"
    checks = [cells.check(d, model, scope, f"{_label(model)} at start {start}") for d, start in starts.items()]
    return scope, checks, None


def claim_4a(cells: Cells, noise: dict, starts: dict, level: float) -> Claim:
    """4a: the LSTM's score rises as the box moves later: its change from the first to the last start beyond a
    noise map's (an OLS line through every run's mean), and beyond its untrained twin's change, the LSTM learned
    at every start."""
    metric = cells.settings["deciding_metric"]["4a"]
    direction = _better(metric)
    text, paper, s = "4a LSTM saliency improves as the box moves later", "rises (Fig. 5)", cells.settings
    scope, models, not_testable = _moving(cells, LSTM, starts, ("4a", text, paper, metric))
    if not_testable:
        return not_testable
    comparisons = [
        Comparison(
            scope,
            "noise map's change",
            "claim",
            metric,
            change(_by_position(cells, LSTM, metric, starts, noise=noise), direction, level),
            direction=direction,
            effect=cells.effect(metric),
        )
    ]
    against = f"untrained {_label(LSTM)}'s change"
    if all(cells.runs[(d, LSTM)]["untrained"] for d in starts):
        comparisons.append(
            Comparison(
                scope,
                against,
                "floor",
                metric,
                change_difference(
                    _by_position(cells, LSTM, metric, starts),
                    _by_position(cells, LSTM, metric, starts, "untrained"),
                    direction,
                    level,
                ),
                direction=direction,
                effect=cells.effect(metric),
            )
        )
    else:
        comparisons.append(
            Comparison(scope, against, "floor", metric, missing="no untrained LSTM runs at every moving-box position")
        )
    comparisons += [
        Comparison(scope, "change (not voted)", "reported", m, change(_by_position(cells, LSTM, m, starts), 1, level))
        for m in s["reported_metrics"]
    ]
    return decided_claim("4a", text, paper, metric, [scope], models, comparisons, level)


def claim_4b(cells: Cells, noise: dict, starts: dict, level: float) -> Claim:
    """4b: input-cell attention's score is flat across box positions: two one-sided tests put its change (OLS
    through every run's mean) within ``flat_margin``, with its map beyond a noise map and its untrained twin at
    every position (a map at chance is flat too), and not equivalent to a noise map at any (the claim is that its
    saliency keeps locating the box), the model learned at every position."""
    metric = cells.settings["deciding_metric"]["4b"]
    direction = _better(metric)
    margin = cells.settings["flat_margin"][metric]
    text, paper, s = "4b input-cell attention is flat across box positions", "flat (Fig. 5)", cells.settings
    scope, models, not_testable = _moving(cells, INPUTCELL, starts, ("4b", text, paper, metric))
    if not_testable:
        return not_testable
    comparisons = []
    for d, start in starts.items():
        what = f" at start {start}"
        comparisons += [
            cells.noise_floor(d, INPUTCELL, metric, direction, scope, noise[d], what),
            cells.noise_equivalence(d, INPUTCELL, metric, scope, noise[d], what),
            cells.untrained_floor(d, INPUTCELL, metric, direction, scope, what),
        ]
    comparisons.append(
        Comparison(
            scope,
            f"no change (±{margin:g})",
            "claim",
            metric,
            change_equivalence(_by_position(cells, INPUTCELL, metric, starts), margin, level),
            effect=margin,
        )
    )
    comparisons += [
        Comparison(
            scope, "change (not voted)", "reported", m, change(_by_position(cells, INPUTCELL, m, starts), 1, level)
        )
        for m in s["reported_metrics"]
    ]
    return decided_claim("4b", text, paper, metric, [scope], models, comparisons, level)


def synthetic_claims(
    table1: dict,
    moving: dict,
    noise: dict,
    starts: dict,
    gates: pd.DataFrame,
    settings: dict,
    box_ends: dict | None = None,
) -> list[Claim]:
    """Every claim of points 3 and 4.  ``table1`` / ``moving``: {(dataset, model, run, method): per-sample table};
    ``noise``: dataset -> per-sample scores of the noise map; ``starts``: moving dataset -> box start; ``gates``:
    every run against its label-permutation null (:func:`vanishing_saliency.tables.synthetic.gates`);
    ``box_ends``: Table 1 dataset -> (last box step, n_time) (None: every box counts as early or middle);
    ``settings``: ``synthetic.summary`` of the config."""
    level = settings["level"]
    t1 = Cells(table1, gates, settings)
    datasets = list(dict.fromkeys(d for d, *_ in table1))
    early = [d for d in datasets if box_ends is None or box_ends[d][0] < box_ends[d][1]]
    mv = Cells(moving, gates, settings)
    positions = {d: starts[d] for d in dict.fromkeys(d for d, *_ in moving)}
    return [
        *claim_3a(t1, noise, early, level),
        claim_3b(t1, noise, datasets, level),
        claim_3c(t1, noise, datasets, level),
        claim_4a(mv, noise, positions, level),
        claim_4b(mv, noise, positions, level),
    ]
