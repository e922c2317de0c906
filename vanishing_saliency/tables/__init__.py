"""Every table the workflow writes: built from per-sample or per-model records, rendered as
TSV-ready DataFrames and Markdown that pastes into a paper.  One module per branch
(``synthetic``, ``hcp``, ``mnist``, ``dynamics``); the steps only read inputs and save."""

from __future__ import annotations

import numpy as np


def mean_sd(values, scale: float = 1.0, digits: int = 1) -> str:
    """``mean ± sd`` of a series (sample sd; 0 for a single value)."""
    mean = scale * values.mean()
    sd = scale * values.std(ddof=1) if len(values) > 1 else 0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def num(value, digits: int = 3) -> str:
    """A number, or ``n/a`` for None / NaN."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"
