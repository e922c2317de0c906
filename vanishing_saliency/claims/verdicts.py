"""Verdicts on the paper's claims: SPEC section 10's decision table, used by every claim of both branches.

A claim is decided per *scope* (a dataset, a model on a dataset, an experiment) from :class:`ModelCheck`
objects (the gate: each run of a model against its own label-permutation null) and :class:`Comparison`
objects, each a run-level test of :mod:`vanishing_saliency.stats`:

- ``floor``: the map the claim relies on against a floor with no knowledge: a noise map (``noise=True``:
  a random map, a uniform or time-shuffled map, a random order of entries) or the same architecture
  untrained or trained on permuted labels;
- ``claim``: the claim's own test (against another model, a threshold, or an equivalence margin);
- ``noise-equivalence``: two one-sided tests of the map against its no-knowledge floor within the declared
  margin: its noise floor, for claims that say the map locates the signal (3b, 4b, 6b); its untrained (or
  permuted-label) twin, for claims that say an effect is learned (3a, 6a learned);
- ``reported``: a number shown beside the verdict (the paper's metric), never voted.

Before anything is tested, the gate: a scope whose *subject* (the model the claim is about) is not
learned (:func:`vanishing_saliency.stats.learned`: every run above its null) is ``not testable``; a
*comparator* that is not learned leaves the claim's family and is listed beside it with its accuracy.
Then every p-value used by a decision of the claim (all its scopes) is Holm-adjusted as one family
(:func:`adjust`): each directional comparison two-sided (it decides both ways), each equivalence by its
two one-sided tests, and a claim's equivalence also by its departure test.  Then, per scope
(:func:`decide`), in order (the rows of the decision table; ``step`` names the one that decided):

1. ``missing``: a precondition fails (too few test subjects; a paper value below its own floors);
2. ``subject at chance``: the claim's subject is not learned: ``not testable``;
3. ``reversed``: a claim test significantly reversed (both sides learned), a map beyond a noise floor the
   other way, or an equivalence claim beyond its margin: ``not reproduced``, decided before the floors;
4. ``equivalent to its floor``: a learned model's map equivalent to its noise floor where the claim says
   the map locates the signal (3b, 4b, 6b), or equivalent to the same architecture untrained (or trained on
   permuted labels) where the claim says the effect is learned (3a, 6a learned): ``not reproduced``;
5. ``not computed``: a control not in the config, or a comparison without 2 spread runs a side:
   ``not testable``;
6. ``holds``: every claim test holds and every floor is passed: ``reproduced``;
7. ``below a floor``: the map significantly below a floor that is not a noise map (its untrained
   twin): ``not testable``, since more runs cannot pass it;
8. ``underpowered``: none of these shown: ``not testable (underpowered)``, with the runs per cell that
   would give 80 % power to the claim's effect (or margin) at the Holm-adjusted level.

So a map or model with no knowledge never earns ``reproduced`` (it stops at 2, 5, 7 or 8), and knowledge
against a claim is never hidden behind a floor (3 and 4 come before them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..stats import RunTest, detectable, holm, learned, runs_needed, runs_per_cell

REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "not reproduced", "not testable"
UNDERPOWERED = "not testable (underpowered)"
ROLES = ("floor", "claim", "noise-equivalence", "reported")
SCOPE_NOT_TESTED = "its scope stopped before any test (a precondition, or its subject at chance)"

# Paper Table 1 (SPEC section 5): WJac / Euc / accuracy % per model and dataset.
PAPER_TABLE1 = {
    "lstm": {
        "earlier": (0.000, 1.006, 53.4),
        "middle": (0.000, 1.003, 98.6),
        "latter": (0.019, 0.985, 100),
        "mixed": (0.000, 1.003, 49.1),
        "three_earlier": (0.000, 1.003, 52.2),
        "three_middle": (0.000, 1.004, 51.8),
    },
    "bilstm": {
        "earlier": (0.000, 1.004, 50.7),
        "middle": (0.000, 1.003, 53.2),
        "latter": (0.013, 0.990, 100),
        "mixed": (0.000, 1.002, 51.5),
        "three_earlier": (0.000, 1.003, 51.3),
        "three_middle": (0.000, 1.003, 51.3),
    },
    "lstm_selfattn": {
        "earlier": (0.048, 0.973, 100),
        "middle": (0.048, 0.963, 100),
        "latter": (0.045, 0.973, 100),
        "mixed": (0.060, 0.953, 100),
        "three_earlier": (0.025, 0.985, 100),
        "three_middle": (0.075, 0.939, 99.9),
    },
    "inputcell_lstm": {
        "earlier": (0.103, 0.914, 100),
        "middle": (0.124, 0.891, 100),
        "latter": (0.110, 0.903, 100),
        "mixed": (0.104, 0.912, 77.6),
        "three_earlier": (0.108, 0.903, 100),
        "three_middle": (0.106, 0.905, 100),
    },
}


@dataclass(frozen=True)
class RunGate:
    """One run of a model against its own label-permutation null (:func:`vanishing_saliency.stats.permutation_null`)."""

    run: str
    accuracy: float
    null_hi: float
    p: float
    above: bool

    def __str__(self) -> str:
        return f"{self.run} {self.accuracy:.3f} (null up to {self.null_hi:.3f}, p {self.p:.3g})"


@dataclass
class ModelCheck:
    """Whether a model a claim involves learned on the scope's data: every run above its own label-permutation
    null.  ``subject``: the claim is about this model (a comparator otherwise); ``where``: the data, when the
    scope does not say it."""

    model: str
    scope: str
    runs: tuple = ()
    where: str = ""
    subject: bool = True

    @property
    def learned(self) -> bool:
        return learned(r.above for r in self.runs)

    @property
    def accuracy(self) -> float:
        return float(np.mean([r.accuracy for r in self.runs])) if self.runs else np.nan

    def accuracies(self) -> str:
        """Each run's accuracy against its null, on one line."""
        return ", ".join(map(str, self.runs)) if self.runs else "no trained runs"

    def reason(self) -> str:
        where = f" on {self.where}" if self.where else ""
        if not self.runs:
            return f"{self.model} has no trained runs{where}"
        above = sum(r.above for r in self.runs)
        return (
            f"{self.model}{where}: {above} of {len(self.runs)} run(s) above their label-permutation null "
            f"(accuracy {self.accuracy:.3f}; {self.accuracies()})"
        )


@dataclass
class Comparison:
    """One run-level test of a claim (see the module docstring for ``role`` and ``noise``).

    ``comparator``: the model on the other side (a :class:`ModelCheck` with ``subject=False`` in the same scope);
    when it is not learned the comparison leaves the claim's family (``left_out`` says why).  ``effect``: the
    claim's effect (or, for an equivalence, its margin) that the planned runs should detect."""

    scope: str
    against: str
    role: str
    metric: str
    result: RunTest | None = None
    direction: int = 1  # +1: the claim says higher than what it is compared with, -1: lower
    noise: bool = False
    comparator: str | None = None
    effect: float = np.nan
    paper: object = None
    value: float | None = None  # a reported number without a test
    missing: str = ""  # why the comparison could not be made
    left_out: str = ""  # why it left the claim's family (its comparator is not learned)
    p_adj: float = np.nan
    p_opposite_adj: float = np.nan
    tests: int = 0  # the size of the Holm family it was adjusted in

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown comparison role {self.role!r}; known: {', '.join(ROLES)}")

    @property
    def equivalence(self) -> bool:
        return bool(self.result is not None and self.result.equivalence)

    @property
    def tested(self) -> bool:
        """In the claim's Holm family: voted, computed, and its comparator learned."""
        return bool(
            self.role != "reported"
            and self.result is not None
            and self.result.computable
            and not self.missing
            and not self.left_out
        )

    def passed(self, alpha: float) -> bool:
        """The claim's direction (or, for an equivalence, the equivalence) shown at the adjusted level."""
        return bool(self.tested and self.p_adj <= alpha)

    def against_claim(self, alpha: float) -> bool:
        """Shown the other way at the adjusted level: reversed, or beyond an equivalence margin."""
        return bool(self.tested and np.isfinite(self.p_opposite_adj) and self.p_opposite_adj <= alpha)

    @property
    def shown_value(self) -> float:
        return self.result.value if self.result is not None else (np.nan if self.value is None else self.value)

    def detectable(self, alpha: float) -> float:
        """The smallest difference (equivalence: margin) the test detects at Holm's first step of its family."""
        return detectable(self.result, self.tests, alpha) if self.tested else np.nan

    def runs_needed(self, alpha: float) -> int | None:
        """Runs per side that would give 80 % power to ``effect`` at Holm's first step of its family."""
        return runs_needed(self.result, self.effect, self.tests, alpha) if self.tested else None


@dataclass
class ScopeVerdict:
    scope: str
    verdict: str
    reason: str
    value: float = np.nan
    cause: str = ""  # the reason in a few words, for the claim's one-line summary
    step: str = ""  # the row of the decision table that decided it
    runs_needed: int | None = None  # runs per cell for 80 % power to every undecided test (underpowered)
    left_out: list = field(default_factory=list)  # comparators at chance, with their accuracy


@dataclass
class Claim:
    """A claim's verdict with every scope's verdict and every comparison behind them."""

    id: str
    text: str
    paper: str
    metric: str
    verdict: str
    reason: str
    scopes: list[ScopeVerdict] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    models: list[ModelCheck] = field(default_factory=list)
    n_subjects: int | None = None
    level: float = 0.95


def gate(comparisons: list[Comparison], models: list[ModelCheck]) -> None:
    """Take each comparison whose comparator is not learned out of the claim's family, saying why."""
    low = {(m.scope, m.model): m for m in models if not m.subject and not m.learned}
    for c in comparisons:
        m = low.get((c.scope, c.comparator))
        if m is not None and c.role != "reported":
            c.left_out = f"{m.model} is at chance: {m.reason()}"


def adjust(comparisons: list[Comparison]) -> int:
    """Holm-adjust, as one family, every p-value a decision of the claim uses (tested comparisons only): a
    directional comparison by its two-sided p (the adjusted value is given to the side the estimate is on, 1 to
    the other), an equivalence by its two one-sided tests, and a claim's equivalence also by its departure test.
    Returns the family's size (also stored on every tested comparison)."""
    members: list[tuple[Comparison, str]] = []
    values: list[float] = []
    for c in comparisons:
        if not c.tested:
            continue
        r = c.result
        if r.equivalence:
            members.append((c, "p"))
            values.append(r.p)
            if c.role == "claim":
                members.append((c, "p_opposite"))
                values.append(r.p_opposite)
        else:
            members.append((c, "both"))
            values.append(min(1.0, 2 * min(r.p, r.p_opposite)))
    adjusted = holm(values) if values else []
    for c in comparisons:
        c.p_adj = c.p_opposite_adj = np.nan
        if c.tested:
            c.tests = len(values)
    for (c, which), p in zip(members, adjusted, strict=True):
        if which == "p":
            c.p_adj = float(p)
        elif which == "p_opposite":
            c.p_opposite_adj = float(p)
        elif c.result.p <= c.result.p_opposite:
            c.p_adj, c.p_opposite_adj = float(p), 1.0
        else:
            c.p_adj, c.p_opposite_adj = 1.0, float(p)
    return len(values)


def _fmt(v, digits=3) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _p(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"


def describe(c: Comparison) -> str:
    """One comparison with its numbers: value against the other side, difference and interval, adjusted p (and the
    runs left out because their value is NaN)."""
    r = c.result
    dropped = f"; NaN, left out: {', '.join(r.dropped)}" if r.dropped else ""
    if c.equivalence:
        return (
            f"{c.against}: difference {_fmt(r.diff)} (interval [{_fmt(r.lo)}, {_fmt(r.hi)}], margin ±{r.margin:g}); "
            f"adjusted p of equivalence {_p(c.p_adj)}"
            + (f", of a departure {_p(c.p_opposite_adj)}" if c.role == "claim" else "")
            + dropped
        )
    return (
        f"{c.against} {_fmt(r.compared_with)} (this {_fmt(r.value)}, difference {_fmt(r.diff)}, "
        f"interval [{_fmt(r.lo)}, {_fmt(r.hi)}]; adjusted p {_p(c.p_adj)} the claim's way, "
        f"{_p(c.p_opposite_adj)} the other{dropped})"
    )


def _names(comparisons) -> str:
    return ", ".join(c.against for c in comparisons)


def decide(
    scope: str, models: list[ModelCheck], comparisons: list[Comparison], level: float, preconditions: list[str] = ()
) -> ScopeVerdict:
    """The verdict of one scope of a claim (the decision table of the module docstring), after :func:`gate` and
    :func:`adjust`."""
    alpha = 1 - level
    mine = [c for c in comparisons if c.scope == scope and c.role != "reported"]
    value = next((c.result.value for c in mine if c.role == "claim" and c.result is not None), None)
    if value is None:
        value = next((c.result.value for c in mine if c.result is not None), np.nan)
    left_out = list(dict.fromkeys(c.left_out for c in mine if c.left_out and c.left_out != SCOPE_NOT_TESTED))

    def verdict(v, reason, cause, step, runs=None):
        return ScopeVerdict(scope, v, reason, value, cause, step, runs, left_out)

    if preconditions:
        return verdict(NOT_TESTABLE, "; ".join(preconditions), preconditions[0], "missing")
    low = [m for m in models if m.scope == scope and m.subject and not m.learned]
    if low:
        return verdict(
            NOT_TESTABLE,
            "; ".join(m.reason() for m in low),
            ", ".join(f"{m.model} {'at chance' if m.runs else 'not trained'}" for m in low),
            "subject at chance",
        )
    tested = [c for c in mine if c.tested]
    against = [
        c
        for c in tested
        if c.against_claim(alpha) and (c.role == "claim" or (c.role == "floor" and c.noise and not c.equivalence))
    ]
    if against:
        return verdict(
            NOT_REPRODUCED,
            "shown against the claim: " + "; ".join(describe(c) for c in against),
            ("beyond the margin of " if all(c.equivalence for c in against) else "reversed against ") + _names(against),
            "reversed",
        )
    noise_like = [c for c in tested if c.role == "noise-equivalence" and c.passed(alpha)]
    if noise_like:
        return verdict(
            NOT_REPRODUCED,
            "the model learned, but its map is equivalent to one with no knowledge: "
            + "; ".join(describe(c) for c in noise_like),
            f"learned, map equivalent to {_names(noise_like)}",
            "equivalent to its floor",
        )
    absent = [c for c in mine if c.role in ("floor", "claim") and not c.left_out and not c.tested]
    if absent:
        return verdict(
            NOT_TESTABLE,
            "; ".join(f"{c.against}: {c.missing or c.result.note}" for c in absent),
            absent[0].missing or f"{absent[0].against}: {absent[0].result.note}",
            "not computed",
        )
    voting = [c for c in tested if c.role in ("floor", "claim")]
    if all(c.passed(alpha) for c in voting):
        return verdict(
            REPRODUCED,
            "beyond every floor and test: " + "; ".join(describe(c) for c in voting),
            "direction holds and every floor is passed",
            "holds",
        )
    below = [c for c in voting if c.role == "floor" and not c.noise and c.against_claim(alpha)]
    if below:
        return verdict(
            NOT_TESTABLE,
            "the map is on the wrong side of a floor that more runs cannot pass: "
            + "; ".join(describe(c) for c in below),
            f"map below {_names(below)}",
            "below a floor",
        )
    open_ = [c for c in voting if not c.passed(alpha)]
    needs = [c.runs_needed(alpha) for c in open_]
    runs = None if any(n is None for n in needs) else max(needs)
    have = max(runs_per_cell(c.result) for c in open_)
    if runs is None:
        plan = ""
    elif runs > have:
        plan = f"; {runs} runs per cell would decide it"
    else:
        plan = f"; the difference is smaller than the effect of interest, which {have} runs per cell already detect"
    return verdict(
        UNDERPOWERED,
        "not decided: " + "; ".join(_plan(c, n, alpha) for c, n in zip(open_, needs, strict=True)),
        f"not shown against {_names(open_)}{plan}",
        "underpowered",
        runs,
    )


def _plan(c: Comparison, n: int | None, alpha: float) -> str:
    """An undecided comparison with what its design detects and the runs that would detect the claim's effect."""
    what = f"{'a margin' if c.equivalence else 'an effect'} of {c.effect:g}"
    if n is None:
        runs = f"runs for 80 % power to {what}: not plannable"
    elif n > runs_per_cell(c.result):
        runs = f"runs for 80 % power to {what}: {n} per cell"
    else:
        runs = f"{runs_per_cell(c.result)} runs per cell already give 80 % power to {what} (needed: {n})"
    return f"{describe(c)}; detectable at the Holm-adjusted level {_fmt(c.detectable(alpha))}, {runs}"


def combine(verdicts) -> str:
    """One verdict from several scopes that must all hold: any failure fails; all reproduced reproduces; otherwise
    underpowered where every open scope is underpowered, else not testable."""
    verdicts = list(verdicts)
    if not verdicts:
        return NOT_TESTABLE
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    if all(v in (UNDERPOWERED, REPRODUCED) for v in verdicts):
        return UNDERPOWERED
    return NOT_TESTABLE


def summarise(scopes: list[ScopeVerdict]) -> str:
    """The overall reason: each scope's verdict and its cause in a few words."""
    if len(scopes) == 1:
        return scopes[0].cause or scopes[0].reason
    n_ok = sum(s.verdict == REPRODUCED for s in scopes)
    return f"reproduced on {n_ok} of {len(scopes)}; " + "; ".join(
        f"{s.scope}: {s.verdict}" + (f" ({s.cause})" if s.verdict != REPRODUCED and s.cause else "") for s in scopes
    )


def decided_claim(
    claim_id: str,
    text: str,
    paper: str,
    metric: str,
    scopes,
    models: list[ModelCheck],
    comparisons: list[Comparison],
    level: float,
    preconditions: dict | None = None,
    common: list | None = None,
    n_subjects: int | None = None,
) -> Claim:
    """The gate, Holm across the claim's tested comparisons, then each scope's verdict (its ``preconditions`` after
    the ``common`` ones), then the claim's: the one way every branch turns its comparisons into a :class:`Claim`."""
    gate(comparisons, models)
    gated = {m.scope for m in models if m.subject and not m.learned}
    pre = {s: list(common or []) + list((preconditions or {}).get(s, [])) for s in scopes}
    for c in comparisons:  # a scope that stops before its tests (a precondition, its subject at chance) tests nothing
        if (c.scope in gated or pre.get(c.scope)) and not c.left_out and c.role != "reported":
            c.left_out = SCOPE_NOT_TESTED
    adjust(comparisons)
    verdicts = [decide(s, models, comparisons, level, pre[s]) for s in scopes]
    return Claim(
        claim_id,
        text,
        paper,
        metric,
        combine(v.verdict for v in verdicts),
        summarise(verdicts),
        verdicts,
        comparisons,
        models,
        n_subjects,
        level,
    )


def untestable(claim_id: str, text: str, paper: str, metric: str, why: str, scope: str = "all") -> Claim:
    """A claim with nothing to decide (its models are not in the config): not testable, with why."""
    return Claim(
        claim_id, text, paper, metric, NOT_TESTABLE, why, [ScopeVerdict(scope, NOT_TESTABLE, why, step="missing")]
    )
