"""Every table the workflow writes: built from per-sample or per-model records, rendered as
TSV-ready DataFrames and Markdown that pastes into a paper.  One module per branch
(``synthetic``, ``hcp``, ``mnist``, ``dynamics``) and the claims' verdicts (``claims``); the steps only read inputs
and save.  Every Markdown table is drawn by :func:`markdown_table`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def markdown_table(header: Sequence[str], rows: Iterable[Sequence], align: str | None = None) -> list[str]:
    """A GitHub-flavoured Markdown table as lines: the header, its rule and one line per row.

    Parameters
    ----------
    header : sequence of str
        The column names.
    rows : iterable of sequences
        The cells of each row, as many as the header has columns; each is written with ``str``.
    align : str, optional
        One letter per column, ``l`` (left, the default for every column) or ``r`` (right: numbers).

    Returns
    -------
    list of str
        ``| a | b |``, ``|---|---|``, then ``| 1 | 2 |`` per row.

    Raises
    ------
    ValueError
        A row with another number of cells than the header, or an ``align`` that is not one l or r per column.
    """
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align {align!r}: expected one of l / r per column ({len(header)})")
    lines = ["| " + " | ".join(header) + " |", "|" + "".join("---|" if a == "l" else "---:|" for a in align)]
    for row in rows:
        cells = [str(c) for c in row]
        if len(cells) != len(header):
            raise ValueError(f"a row of {len(cells)} cells under a header of {len(header)}: {cells}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def mean_sd(values, scale: float = 1.0, digits: int = 1) -> str:
    """``mean ± sd`` of a series (sample sd; 0 for a single value)."""
    mean = scale * values.mean()
    sd = scale * values.std(ddof=1) if len(values) > 1 else 0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def num(value, digits: int = 3) -> str:
    """A number, or ``n/a`` for None / NaN."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"
