"""Claim tables: every verdict of :mod:`vanishing_saliency.claims` with the test that decided it.

- :func:`verdict_table`: one row per claim (scope ``all``) and per scope of a claim: the verdict, the row of
  the decision table that decided it, this run's value, each run's accuracy against its null, every comparison
  with its difference, interval and Holm-adjusted p in both directions, the comparators left out (at chance),
  the smallest difference detectable at the Holm-adjusted level and the runs per cell that would give 80 %
  power to the claim's effect (or margin);
- :func:`comparison_table`: every comparison (floors, claim tests, equivalences to noise, reported numbers)
  with its interval, p in both directions, Holm-adjusted p and family size, and whether it was tested;
- :func:`claims_markdown`: both as a Markdown page, after the decision table itself;
- :func:`compact_markdown`: the verdict lines of a saved ``summary.tsv`` as one short table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..claims.verdicts import SCOPE_NOT_TESTED, describe
from . import markdown_table

VERDICT_COLUMNS = (
    "claim",
    "part",
    "scope",
    "verdict",
    "decided_by",
    "metric",
    "paper",
    "value",
    "runs_against_null",
    "comparisons",
    "left_out",
    "test",
    "runs",
    "subjects",
    "smallest_detectable",
    "runs_needed",
    "cause",
    "reason",
)
COMPARISON_COLUMNS = (
    "claim",
    "part",
    "scope",
    "role",
    "against",
    "metric",
    "paper",
    "value",
    "compared_with",
    "difference",
    "lo",
    "hi",
    "test",
    "runs",
    "runs_compared",
    "runs_dropped",
    "p",
    "p_opposite",
    "p_adjusted",
    "p_opposite_adjusted",
    "tests_in_family",
    "smallest_detectable",
    "smallest_detectable_holm",
    "effect",
    "runs_needed",
    "underpowered",
    "status",
    "verdict",
)

#: The decision table of SPEC section 10 as every summary prints it (``decided_by`` names its rows).
DECISION_TABLE = [
    ("missing", "a precondition fails (too few test subjects, a paper value below its own floors)", "not testable"),
    ("subject at chance", "the model the claim is about did not learn (not every run above its null)", "not testable"),
    (
        "reversed",
        "a claim test significantly reversed (Holm-adjusted, both sides learned), a map beyond a noise floor the "
        "other way, or an equivalence claim beyond its margin",
        "not reproduced",
    ),
    (
        "equivalent to its floor",
        "the model learned and its map is equivalent to its noise floor within the declared margin (two one-sided "
        "tests) where the claim says the map locates the signal; or, where the claim says an effect is learned, "
        "equivalent to the same architecture untrained (or trained on permuted labels)",
        "not reproduced",
    ),
    ("not computed", "a control not in the config, or fewer than 2 spread runs on a side", "not testable"),
    ("holds", "every claim test holds and every floor is passed", "reproduced"),
    ("below a floor", "the map significantly below its untrained floor: more runs cannot pass it", "not testable"),
    ("underpowered", "none of these shown", "not testable (underpowered), with the runs that would decide it"),
]


def _num(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, (int, float, np.floating)) else str(v)


def _p(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"


def _runs_against_null(claim, scope) -> str:
    return "; ".join(f"{m.model}: {m.accuracies()}" for m in claim.models if m.scope == scope)


def verdict_table(claims) -> pd.DataFrame:
    rows = []
    for claim in claims:
        alpha = 1 - claim.level
        needed = [s.runs_needed for s in claim.scopes if s.runs_needed is not None]
        rows.append(
            {
                "claim": claim.id,
                "part": claim.text,
                "scope": "all",
                "verdict": claim.verdict,
                "metric": claim.metric,
                "paper": claim.paper,
                "subjects": claim.n_subjects,
                "runs_needed": max(needed) if needed else None,
                "reason": claim.reason,
            }
        )
        for s in claim.scopes:
            if s.scope == "all":  # a claim with nothing to decide per scope: its one line says why
                continue
            tested = [c for c in claim.comparisons if c.scope == s.scope and c.tested]
            voting = [c for c in tested if c.role != "noise-equivalence"]
            mdes = [c.detectable(alpha) for c in tested]
            needs = [c.runs_needed(alpha) for c in voting]
            rows.append(
                {
                    "claim": claim.id,
                    "part": claim.text,
                    "scope": s.scope,
                    "verdict": s.verdict,
                    "decided_by": s.step,
                    "metric": claim.metric,
                    "paper": claim.paper,
                    "value": s.value,
                    "runs_against_null": _runs_against_null(claim, s.scope),
                    "comparisons": "; ".join(describe(c) for c in tested),
                    "left_out": "; ".join(s.left_out),
                    "test": "; ".join(dict.fromkeys(c.result.test for c in tested)),
                    "runs": max((c.result.n for c in tested), default=None),
                    "subjects": claim.n_subjects,
                    "smallest_detectable": max((m for m in mdes if np.isfinite(m)), default=np.nan),
                    "runs_needed": (
                        s.runs_needed
                        if s.runs_needed is not None
                        else (max(needs) if needs and all(n is not None for n in needs) else None)
                    ),
                    "cause": s.cause,
                    "reason": s.reason,
                }
            )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def _status(c) -> str:
    if c.role == "reported":
        return "reported, not voted"
    if c.missing:
        return f"not computed: {c.missing}"
    if c.left_out:
        return "not tested: " + ("its scope stopped first" if c.left_out == SCOPE_NOT_TESTED else c.left_out)
    if c.result is not None and not c.result.computable:
        return f"not computed: {c.result.note}"
    return "tested"


def comparison_table(claims) -> pd.DataFrame:
    rows = []
    for claim in claims:
        alpha = 1 - claim.level
        verdicts = {s.scope: s.verdict for s in claim.scopes}
        for c in claim.comparisons:
            r = c.result
            row = {
                "claim": claim.id,
                "part": claim.text,
                "scope": c.scope,
                "role": c.role,
                "against": c.against,
                "metric": c.metric,
                "paper": c.paper,
                "value": c.shown_value,
                "status": _status(c),
                "verdict": verdicts.get(c.scope),
            }
            if r is not None:
                row.update(
                    compared_with=r.compared_with,
                    difference=r.diff,
                    lo=r.lo,
                    hi=r.hi,
                    test=r.test,
                    runs=r.n,
                    runs_compared=r.n_other,
                    runs_dropped=", ".join(r.dropped),
                    p=r.p,
                    p_opposite=r.p_opposite,
                    p_adjusted=c.p_adj,
                    p_opposite_adjusted=c.p_opposite_adj,
                    tests_in_family=c.tests if c.tested else None,
                    smallest_detectable=r.mde,
                    smallest_detectable_holm=c.detectable(alpha),
                    effect=c.effect,
                    runs_needed=c.runs_needed(alpha),
                    underpowered=r.underpowered,
                )
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _interval(lo, hi) -> str:
    return "-" if lo is None or pd.isna(lo) else f"[{lo:+.3f}, {hi:+.3f}]"


def _int(v) -> str:
    return "-" if v is None or pd.isna(v) else f"{int(v)}"


def decision_table_markdown() -> list[str]:
    """SPEC section 10's decision table, as the summaries apply it (first row that applies decides)."""
    return markdown_table(["decided by", "what the runs show", "verdict"], DECISION_TABLE)


def claims_markdown(
    title: str,
    intro: str,
    claims,
    notes: list[str] = (),
    extra: list[str] | None = None,
    notes_heading: str = "What the paper's metric can and cannot show",
) -> str:
    """The verdicts (one line per claim), the decision table, each scope's verdict line with what decided it,
    every comparison, then ``extra`` sections and ``notes``."""
    verdicts = verdict_table(claims)
    out = [f"# {title}", "", intro, ""]
    out += markdown_table(
        ["claim", "verdict", "why"],
        ([r.part, f"**{r.verdict}**", r.reason] for r in verdicts[verdicts.scope == "all"].itertuples()),
    )
    out += [
        "",
        "## How a verdict is decided",
        "",
        "Per scope, the first row that applies decides (SPEC section 10). Holm adjusts, as one family per claim, "
        "every p-value a decision uses, over the comparisons actually tested (a comparator at chance leaves the "
        "family): a directional comparison two-sided, since it decides both ways.",
        "",
        *decision_table_markdown(),
    ]
    out += ["", "## Each verdict with what decided it", ""]
    header = ["claim", "scope", "verdict", "decided by", "this run", "each run against its null"]
    out += markdown_table(
        [*header, "runs", "smallest detectable (Holm)", "runs for 80 % power", "comparators left out", "why"],
        (
            [
                r.claim,
                r.scope,
                r.verdict,
                r.decided_by,
                _num(r.value),
                r.runs_against_null or "-",
                _int(r.runs),
                _num(r.smallest_detectable),
                _int(r.runs_needed),
                r.left_out or "-",
                r.reason,
            ]
            for r in verdicts[verdicts.scope != "all"].itertuples()
        ),
    )
    table = comparison_table(claims)
    out += [
        "",
        "## Every comparison",
        "",
        "Interval: the two-sided interval of the difference from the run-level test (for an equivalence test, the "
        "interval its two one-sided tests use). p: one-sided, the claim's way and the other (for an equivalence: "
        "of equivalence, and of a departure beyond the margin); adjusted: Holm over the claim's tested "
        "comparisons (the family's size is given). Smallest detectable: at 80 % power, at the unadjusted and at "
        "Holm's first-step level; runs: per cell, for 80 % power to the effect (or margin). Reported rows are "
        "shown, never voted.",
        "",
    ]
    rows = []
    for r in table.itertuples():
        runs = (
            "-"
            if pd.isna(r.runs)
            else (f"{int(r.runs)}" + ("" if pd.isna(r.runs_compared) else f" vs {int(r.runs_compared)}"))
        )
        if isinstance(r.runs_dropped, str) and r.runs_dropped:
            runs += f" (NaN, left out: {r.runs_dropped})"
        rows.append(
            [
                r.claim,
                r.scope,
                r.role,
                r.against,
                r.metric,
                _num(r.paper),
                _num(r.value),
                _num(r.compared_with),
                _num(r.difference),
                _interval(r.lo, r.hi),
                r.test if isinstance(r.test, str) else "-",
                runs,
                f"{_p(r.p)} / {_p(r.p_opposite)}",
                f"{_p(r.p_adjusted)} / {_p(r.p_opposite_adjusted)}"
                + (f" (of {_int(r.tests_in_family)})" if not pd.isna(r.tests_in_family) else ""),
                f"{_num(r.smallest_detectable)} / {_num(r.smallest_detectable_holm)}",
                _int(r.runs_needed),
                r.status,
            ]
        )
    header = ["claim", "scope", "role", "against", "metric", "paper", "this run", "compared with", "difference"]
    header += ["interval", "test", "runs", "p (claim / other)", "adjusted p", "smallest detectable (raw / Holm)"]
    out += markdown_table([*header, "runs for 80 % power", "status"], rows)
    out += extra or []
    if notes:
        out += ["", f"## {notes_heading}", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def compact_markdown(verdicts: pd.DataFrame) -> str:
    """One row per claim and scope of a saved verdict table (``summary.tsv``): verdict, the row of the decision
    table that decided it, this run's value, runs, the smallest difference detectable at the Holm-adjusted level
    and the runs per cell for 80 % power."""
    rows = []
    for _, g in verdicts.groupby("claim", sort=False):
        overall = g[g.scope == "all"].iloc[0]
        scopes = g[g.scope != "all"]
        if scopes.empty:
            rows.append([overall.part, "all", overall.verdict, "missing", "", "", "", "", overall.reason])
        for r in scopes.itertuples():
            rows.append(
                [
                    overall.part,
                    r.scope,
                    r.verdict,
                    r.decided_by if isinstance(r.decided_by, str) else "-",
                    _num(r.value),
                    _int(r.runs),
                    _num(r.smallest_detectable),
                    _int(r.runs_needed),
                    r.cause,
                ]
            )
        if len(scopes) > 1:
            rows.append([overall.part, "all", f"**{overall.verdict}**", "", "", "", "", _int(overall.runs_needed), ""])
    header = ["claim", "scope", "verdict", "decided by", "this run", "runs", "smallest detectable (Holm)"]
    return "\n".join(markdown_table([*header, "runs for 80 % power", "why"], rows))
