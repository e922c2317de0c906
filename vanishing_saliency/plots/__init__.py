"""The workflow's figures, one module per branch: :mod:`.synthetic`, :mod:`.mnist`, :mod:`.dynamics` and
:mod:`.hcp`.  Each takes tables or arrays and returns a matplotlib figure; the steps save it.

This package sets one style for every figure before any of them imports pyplot (the Agg backend; text of at
least :data:`MIN_FONT_PT` pt at the saved size; :func:`colorbar` labels every colour bar);
``tests/test_figures.py`` checks every figure the workflow draws against it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

MIN_FONT_PT = 8

matplotlib.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 9,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "legend.title_fontsize": 8,
        "figure.titlesize": 10,
    }
)


def colorbar(fig, mappable, ax, label: str, **kw):
    """A colour bar that says what its colours are."""
    bar = fig.colorbar(mappable, ax=ax, **kw)
    bar.set_label(label)
    bar.ax.tick_params(labelsize=MIN_FONT_PT)
    return bar
