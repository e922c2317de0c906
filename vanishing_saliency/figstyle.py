"""One figure style for every figure: text of at least 8 pt at the saved size, colour bars labelled.

Imported by :mod:`vanishing_saliency.plots` and :mod:`vanishing_saliency.hcp.figures`;
``tests/test_figures.py`` checks every figure the workflow draws against :data:`MIN_FONT_PT`.
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
