"""Verdicts on the paper's claims (SPEC section 10): one gate, used by every claim, and the rules
that turn run-level tests into ``reproduced``, ``not reproduced`` or ``not testable``.

A claim is decided per *scope* (a dataset, a model on a dataset, an experiment) from
:class:`Comparison` objects, each a run-level test of :mod:`vanishing_saliency.stats`:

- ``floor``: the map the claim relies on against a floor with no knowledge: a noise map
  (``noise=True``: a random map, a uniform or time-shuffled map, a random order of entries)
  or the same architecture untrained or trained on permuted labels;
- ``claim``: the claim's own test (against another model, a threshold, or an equivalence
  margin);
- ``reported``: a number shown beside the verdict (the paper's metric), never voted.

Every p-value a claim combines (all its scopes) is Holm-adjusted as one family
(:func:`adjust`) before anything is decided.  Then, per scope (:func:`decide`), in order:

1. a missing input (a control not in the config, no runs, too few test subjects) or a model
   involved that is not above its label-permutation null (:class:`ModelCheck`): ``not testable``;
2. a comparison with fewer than 2 runs on a side: ``not testable``;
3. the map beyond a *noise* floor in the direction opposite to the claim (adjusted p): it
   carries knowledge that contradicts the claim: ``not reproduced``;
4. the map not beyond every floor in the claim's direction (adjusted p): it is at its floor and
   cannot support the claim: ``not testable``;
5. an equivalence test that shows a departure beyond its margin: ``not reproduced``; one that shows
   neither equivalence nor a departure (its interval as wide as the margin, or straddling its edge):
   ``not testable (underpowered)``;
6. any claim test not passed: ``not reproduced``; otherwise ``reproduced``.

So a map or model with no knowledge never earns ``reproduced``: it stops at step 1, 3 or 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..stats import RunTest, holm

REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "not reproduced", "not testable"
UNDERPOWERED = "not testable (underpowered)"

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


@dataclass
class ModelCheck:
    """Whether a model involved in a claim is above its label-permutation null (accuracy averaged over
    its runs, :func:`vanishing_saliency.stats.permutation_null`)."""

    model: str
    scope: str
    accuracy: float
    null_hi: float
    p: float
    n_runs: int
    alpha: float = 0.05
    where: str = ""  # the data the model is tested on, when the scope does not say it

    @property
    def above(self) -> bool:
        return bool(np.isfinite(self.p) and self.p <= self.alpha)

    def reason(self) -> str:
        if not self.n_runs:
            return f"{self.model} has no trained runs{' on ' + self.where if self.where else ''}"
        return (
            f"{self.model} is not above its permutation null{' on ' + self.where if self.where else ''} "
            f"(accuracy {self.accuracy:.3f} over {self.n_runs} run(s), null up to {self.null_hi:.3f}, "
            f"p = {self.p:.3g})"
        )


@dataclass
class Comparison:
    """One run-level test of a claim (see the module docstring for ``role`` and ``noise``)."""

    scope: str
    against: str
    role: str
    metric: str
    result: RunTest | None = None
    direction: int = 1  # +1: the claim says higher than what it is compared with, -1: lower
    noise: bool = False
    equivalence: bool = False
    boot: tuple | None = None  # (lo, hi) hierarchical-bootstrap interval of the difference
    paper: object = None
    value: float | None = None  # a reported number without a test
    missing: str = ""  # why the comparison could not be made
    p_adj: float = np.nan
    p_opposite_adj: float = np.nan

    def _boot_agrees(self, direction: int) -> bool:
        """A directional test passes only where its hierarchical-bootstrap interval (when it has one, the
        synthetic branch) agrees: the t-test on run means carries the run-to-run spread, the bootstrap the
        sample-to-sample spread of a floor scored once (a noise map)."""
        if self.boot is None or self.equivalence:
            return True
        lo, hi = self.boot
        return bool(lo > 0) if direction > 0 else bool(hi < 0)

    def passed(self, alpha: float) -> bool:
        return bool(np.isfinite(self.p_adj) and self.p_adj <= alpha and self._boot_agrees(self.direction))

    def contradicted(self, alpha: float) -> bool:
        return bool(
            self.noise
            and np.isfinite(self.p_opposite_adj)
            and self.p_opposite_adj <= alpha
            and self._boot_agrees(-self.direction)
        )

    @property
    def shown_value(self) -> float:
        return self.result.value if self.result is not None else (np.nan if self.value is None else self.value)


@dataclass
class ScopeVerdict:
    scope: str
    verdict: str
    reason: str
    value: float = np.nan
    cause: str = ""  # the reason in a few words, for the claim's one-line summary


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


def adjust(comparisons: list[Comparison]) -> None:
    """Holm-adjust, as one family, every p-value the claim's floor and claim comparisons carry (and,
    separately, the opposite-direction p-values of its noise floors and equivalence tests)."""
    voting = [c for c in comparisons if c.role in ("floor", "claim") and c.result is not None]
    for c, p in zip(voting, holm([c.result.p for c in voting]), strict=True):
        c.p_adj = float(p)
    against = [c for c in voting if c.noise or c.equivalence]
    for c, p in zip(against, holm([c.result.p_opposite for c in against]), strict=True):
        c.p_opposite_adj = float(p)


def _fmt(v, digits=3) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _p(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"


def _short(c: Comparison) -> str:
    r = c.result
    return f"{c.against} {_fmt(r.compared_with)} (this {_fmt(r.value)}; adjusted p = {_p(c.p_adj)})"


def _names(comparisons) -> str:
    return ", ".join(c.against for c in comparisons)


def decide(
    scope: str, models: list[ModelCheck], comparisons: list[Comparison], level: float, preconditions: list[str] = ()
) -> ScopeVerdict:
    """The verdict of one scope of a claim (the rules of the module docstring), after :func:`adjust`."""
    alpha = 1 - level
    mine = [c for c in comparisons if c.scope == scope and c.role in ("floor", "claim")]
    claims = [c for c in mine if c.role == "claim"]
    value = next((c.result.value for c in claims + mine if c.result is not None), np.nan)

    def verdict(v, reason, cause):
        return ScopeVerdict(scope, v, reason, value, cause)

    missing = list(preconditions) + [c.missing for c in mine if c.missing]
    if missing:
        return verdict(NOT_TESTABLE, "; ".join(missing), missing[0])
    low = [m for m in models if m.scope == scope and not m.above]
    if low:
        return verdict(
            NOT_TESTABLE,
            "; ".join(m.reason() for m in low),
            ", ".join(f"{m.model} {'not above chance' if m.n_runs else 'not trained'}" for m in low),
        )
    few = [c for c in mine if not c.result.computable]
    if few:
        return verdict(
            NOT_TESTABLE,
            "; ".join(
                f"{c.against}: {c.result.n} run(s) against "
                f"{c.result.n_other if c.result.n_other is not None else '-'}; "
                "a run-level test needs at least 2 on each side"
                for c in few
            ),
            "fewer than 2 runs",
        )
    floors = [c for c in mine if c.role == "floor"]
    against = [c for c in floors if c.contradicted(alpha)]
    if against:
        return verdict(
            NOT_REPRODUCED,
            "the map is beyond its no-knowledge floor the other way: " + "; ".join(_short(c) for c in against),
            f"the map is on the wrong side of {_names(against)}",
        )
    at_floor = [c for c in floors if not c.passed(alpha)]
    if at_floor:
        return verdict(
            NOT_TESTABLE,
            "the map is at its floor: not beyond " + "; ".join(_short(c) for c in at_floor),
            f"map not beyond {_names(at_floor)}",
        )
    beyond = [c for c in claims if c.equivalence and np.isfinite(c.p_opposite_adj) and c.p_opposite_adj <= alpha]
    if beyond:
        return verdict(
            NOT_REPRODUCED,
            "; ".join(
                f"outside its margin: {c.against}, difference {_fmt(c.result.diff)} "
                f"(adjusted p of a departure beyond the margin {_p(c.p_opposite_adj)})"
                for c in beyond
            ),
            f"outside the margin of {_names(beyond)}",
        )
    weak = [c for c in claims if c.equivalence and not c.passed(alpha)]
    if weak:
        return verdict(
            UNDERPOWERED,
            "; ".join(
                (
                    f"the {100 * (1 - 2 * alpha):.0f} % interval of the difference from {c.against} "
                    f"[{_fmt(c.result.lo)}, {_fmt(c.result.hi)}] is as wide as the margin"
                    if c.result.underpowered
                    else f"neither within {c.against} (adjusted p {_p(c.p_adj)}) nor beyond it (adjusted p "
                    f"{_p(c.p_opposite_adj)}): difference {_fmt(c.result.diff)}, "
                    f"{100 * (1 - 2 * alpha):.0f} % interval [{_fmt(c.result.lo)}, {_fmt(c.result.hi)}]"
                )
                + f" (smallest detectable {_fmt(c.result.mde)})"
                for c in weak
            ),
            "inconclusive: neither equivalence nor a departure shown",
        )
    failed = [c for c in claims if not c.passed(alpha)]
    if failed:
        return verdict(
            NOT_REPRODUCED,
            "; ".join(
                f"not shown against {_short(c)}, interval of the difference [{_fmt(c.result.lo)}, {_fmt(c.result.hi)}]"
                for c in failed
            ),
            f"not shown against {_names(failed)}",
        )
    return verdict(
        REPRODUCED, "beyond every floor and test: " + "; ".join(_short(c) for c in mine), "beyond every floor and test"
    )


def combine(verdicts) -> str:
    """One verdict from several scopes that must all hold: any failure fails; otherwise any untestable
    scope makes the claim untestable."""
    verdicts = list(verdicts)
    if not verdicts:
        return NOT_TESTABLE
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if UNDERPOWERED in verdicts and all(v in (UNDERPOWERED, REPRODUCED) for v in verdicts):
        return UNDERPOWERED
    if any(v.startswith(NOT_TESTABLE) for v in verdicts):
        return NOT_TESTABLE
    return REPRODUCED


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
    """Holm across the claim's comparisons, then each scope's verdict (its ``preconditions`` after the ``common``
    ones), then the claim's: the one way every branch turns its comparisons into a :class:`Claim`."""
    adjust(comparisons)
    verdicts = [
        decide(s, models, comparisons, level, list(common or []) + list((preconditions or {}).get(s, [])))
        for s in scopes
    ]
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
    )
