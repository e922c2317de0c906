"""Claim tables: every verdict of :mod:`vanishing_saliency.claims` with the numbers behind it.

- :func:`verdict_table`: one row per claim (scope ``all``) and per scope of a claim: the verdict,
  this run's value, every null's value with its adjusted p, the test, the runs and subjects
  used, the smallest effect the design could detect, and why;
- :func:`comparison_table`: every comparison (floors, claim tests and reported numbers) with its
  interval, p and Holm-adjusted p;
- :func:`claims_markdown`: both as a Markdown page;
- :func:`compact_markdown`: the verdict lines of a saved ``summary.tsv`` as one short table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import markdown_table

VERDICT_COLUMNS = (
    "claim",
    "part",
    "scope",
    "verdict",
    "metric",
    "paper",
    "value",
    "nulls",
    "test",
    "runs",
    "subjects",
    "smallest_detectable",
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
    "boot_lo",
    "boot_hi",
    "test",
    "runs",
    "runs_compared",
    "p",
    "p_adjusted",
    "smallest_detectable",
    "underpowered",
    "verdict",
)


def _num(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, (int, float, np.floating)) else str(v)


def _p(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"


def _voting(claim, scope):
    return [c for c in claim.comparisons if c.scope == scope and c.role in ("floor", "claim") and c.result is not None]


def _nulls(comparisons) -> str:
    return "; ".join(
        f"{c.against} {_num(c.result.compared_with)} ("
        + (f"{c.result.n_other} runs; " if c.result.n_other is not None else "")
        + f"adjusted p {_p(c.p_adj)})"
        for c in comparisons
    )


def verdict_table(claims) -> pd.DataFrame:
    rows = []
    for claim in claims:
        rows.append(
            {
                "claim": claim.id,
                "part": claim.text,
                "scope": "all",
                "verdict": claim.verdict,
                "metric": claim.metric,
                "paper": claim.paper,
                "subjects": claim.n_subjects,
                "reason": claim.reason,
            }
        )
        for s in claim.scopes:
            if s.scope == "all":  # a claim with nothing to decide per scope: its one line says why
                continue
            voting = _voting(claim, s.scope)
            mdes = [c.result.mde for c in voting if np.isfinite(c.result.mde)]
            rows.append(
                {
                    "claim": claim.id,
                    "part": claim.text,
                    "scope": s.scope,
                    "verdict": s.verdict,
                    "metric": claim.metric,
                    "paper": claim.paper,
                    "value": s.value,
                    "nulls": _nulls(voting),
                    "test": "; ".join(dict.fromkeys(c.result.test for c in voting)),
                    "runs": max((c.result.n for c in voting), default=None),
                    "subjects": claim.n_subjects,
                    "smallest_detectable": max(mdes) if mdes else np.nan,
                    "cause": s.cause,
                    "reason": s.reason,
                }
            )
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def comparison_table(claims) -> pd.DataFrame:
    rows = []
    for claim in claims:
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
                    p=r.p,
                    p_adjusted=c.p_adj,
                    smallest_detectable=r.mde,
                    underpowered=r.underpowered,
                )
            elif c.missing:
                row.update(test=f"not computed: {c.missing}")
            if c.boot is not None:
                row.update(boot_lo=c.boot[0], boot_hi=c.boot[1])
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _interval(lo, hi) -> str:
    return "-" if lo is None or pd.isna(lo) else f"[{lo:+.3f}, {hi:+.3f}]"


def claims_markdown(
    title: str,
    intro: str,
    claims,
    notes: list[str] = (),
    extra: list[str] | None = None,
    notes_heading: str = "What the paper's metric can and cannot show",
) -> str:
    """The verdicts (one line per claim), each scope's verdict line, every comparison, then ``extra``
    sections and ``notes``."""
    verdicts = verdict_table(claims)
    out = [f"# {title}", "", intro, ""]
    out += markdown_table(
        ["claim", "verdict", "why"],
        ([r.part, f"**{r.verdict}**", r.reason] for r in verdicts[verdicts.scope == "all"].itertuples()),
    )
    out += ["", "## Each verdict with its numbers", ""]
    header = ["claim", "scope", "verdict", "this run", "compared with (runs; Holm-adjusted p)", "test", "runs"]
    out += markdown_table(
        [*header, "subjects", "smallest detectable difference", "why"],
        (
            [
                r.claim,
                r.scope,
                r.verdict,
                _num(r.value),
                r.nulls or "-",
                r.test or "-",
                _num(r.runs, 0),
                _num(r.subjects, 0),
                _num(r.smallest_detectable),
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
        "Interval: the two-sided interval of the difference from the run-level test (for an equivalence test, "
        "the interval the two one-sided tests use); bootstrap: runs, then test samples (synthetic boxes). "
        "Reported rows are shown, never voted.",
        "",
    ]
    rows = []
    for r in table.itertuples():
        runs = (
            "-"
            if pd.isna(r.runs)
            else (f"{int(r.runs)}" + ("" if pd.isna(r.runs_compared) else f" vs {int(r.runs_compared)}"))
        )
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
                _interval(r.boot_lo, r.boot_hi),
                r.test if isinstance(r.test, str) else "-",
                runs,
                _p(r.p),
                _p(r.p_adjusted),
                _num(r.smallest_detectable),
            ]
        )
    header = ["claim", "scope", "role", "against", "metric", "paper", "this run", "compared with", "difference"]
    header += ["interval", "bootstrap", "test", "runs", "p", "adjusted p", "smallest detectable"]
    out += markdown_table(header, rows)
    out += extra or []
    if notes:
        out += ["", f"## {notes_heading}", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def compact_markdown(verdicts: pd.DataFrame) -> str:
    """One row per claim and scope of a saved verdict table (``summary.tsv``): verdict, this run's value,
    what it was compared with (Holm-adjusted p), runs and the smallest detectable difference."""
    rows = []
    for _, g in verdicts.groupby("claim", sort=False):
        overall = g[g.scope == "all"].iloc[0]
        scopes = g[g.scope != "all"]
        for r in scopes.itertuples():
            nulls = r.nulls if isinstance(r.nulls, str) and r.nulls else "-"
            rows.append(
                [
                    overall.part,
                    r.scope,
                    r.verdict,
                    _num(r.value),
                    nulls,
                    _num(r.runs, 0),
                    _num(r.smallest_detectable),
                    r.cause,
                ]
            )
        if len(scopes) > 1:
            rows.append([overall.part, "all", f"**{overall.verdict}**", "", "", "", "", ""])
    header = ["claim", "scope", "verdict", "this run", "compared with (adjusted p)", "runs", "smallest detectable"]
    return "\n".join(markdown_table([*header, "why"], rows))
