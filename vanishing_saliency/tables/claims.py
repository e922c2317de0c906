"""Claim tables: every claim of the paper with this run's value, what it is compared with, the
interval, the verdict and why (rows built by :mod:`vanishing_saliency.verdicts`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("claim", "part", "metric", "scope", "paper", "value", "compared_with", "lo", "hi", "p", "verdict", "reason")


def claim_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=list(COLUMNS))


def _num(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, (int, float, np.floating)) else str(v)


def claims_markdown(title: str, intro: str, overall: list[dict], table: pd.DataFrame, notes: list[str],
                    extra: list[str] | None = None,
                    notes_heading: str = "What the paper's metric can and cannot show") -> str:
    """``overall``: one row per claim part (claim, part, verdict, reason); ``table``: the detail rows;
    ``extra``: Markdown sections appended before the notes."""
    out = [f"# {title}", "", intro, "", "| claim | verdict | why |", "|---|---|---|"]
    out += [f"| {r['part']} | **{r['verdict']}** | {r['reason']} |" for r in overall]
    out += ["", "## Every comparison", "",
            "| claim | metric | scope | paper | this run | compared with | interval | p | verdict | why |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        interval = "-" if pd.isna(r.lo) else f"[{r.lo:+.3f}, {r.hi:+.3f}]"
        p = "-" if r.p is None or pd.isna(r.p) else f"{r.p:.3g}"
        out.append(f"| {r.part} | {r.metric} | {r.scope} | {_num(r.paper)} | {_num(r.value)} | "
                   f"{_num(r.compared_with)} | {interval} | {p} | {r.verdict} | {r.reason} |")
    out += extra or []
    if notes:
        out += ["", f"## {notes_heading}", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"
