"""The HCP branch's outputs as a BIDS derivative dataset (``results/hcp/derivatives``), named as XCP-D names its
parcellated time series, beside the workflow's own ``.npz`` files.

- ``dataset_description.json`` (``DatasetType: derivative``, ``GeneratedBy`` this workflow);
- ``atlases/atlas-Glasser/atlas-Glasser_space-fsLR_den-91k_dseg.dlabel.nii``: the atlas the series are averaged in;
- per run, ``sub-<s>/[ses-<x>/]func/sub-<s>[_ses-<x>]_task-<t>[_<entities>]_space-fsLR_seg-Glasser_den-91k_stat-mean_
  timeseries.ptseries.nii`` (CIFTI-2, the 360 official Glasser names on its parcels axis), the same as ``.tsv``
  (one column per area, one row per frame) and a ``.json`` sidecar (RepetitionTime, the confound strategy, the
  censored frames, the source files).

An S1200 run keeps its HCP task name and names its phase-encoding direction ``dir-LR``; an fMRIPrep run keeps the
BIDS task label and entities of its source files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..io import atomic_path, save_json
from .bids import RUN_ENTITIES

ROOT = "results/hcp/derivatives"
SUFFIX = "space-fsLR_seg-Glasser_den-91k_stat-mean_timeseries"
ATLAS = "atlases/atlas-Glasser/atlas-Glasser_space-fsLR_den-91k_dseg.dlabel.nii"


def run_stem(subject: str, run: dict) -> str:
    """``sub-<s>[/ses-<x>]/func/sub-<s>[_ses-<x>]_task-<t>[_<entities>]_space-fsLR_seg-Glasser_den-91k_stat-mean_
    timeseries`` of one run (an entry of ``hcp.io.subject_runs`` or ``hcp.bids.subject_runs``), relative to the
    derivative dataset's root.

    Parameters
    ----------
    subject : str
        Subject ID or label (without ``sub-``).
    run : dict
        An entry of ``hcp.io.subject_runs`` (its ``task`` and ``run``, the direction, name it:
        ``task-<task>_dir-<run>``) or of ``hcp.bids.subject_runs`` (``layout`` fmriprep: its ``bids_task`` and its
        ``entities`` ``ses`` and those of :data:`RUN_ENTITIES` name it).

    Returns
    -------
    str
        The path, without an extension, relative to :data:`ROOT`.
    """
    if run.get("layout") == "fmriprep":
        ents = run["entities"]
        ses, task = ents.get("ses"), run["bids_task"]
        rest = [f"{k}-{ents[k]}" for k in RUN_ENTITIES if k != "ses" and ents.get(k)]
    else:
        ses, task, rest = None, run["task"], [f"dir-{run['run']}"]
    name = "_".join([f"sub-{subject}", *([f"ses-{ses}"] if ses else []), f"task-{task}", *rest, SUFFIX])
    folder = Path(f"sub-{subject}", *([f"ses-{ses}"] if ses else []), "func")
    return str(folder / name)


def dataset_description(source: str, source_url: str | None = None) -> dict:
    """The derivative dataset's ``dataset_description.json``.

    Parameters
    ----------
    source : str
        What the input data are, said in ``GeneratedBy``'s ``Description``.
    source_url : str, optional
        Where they are (``file://`` + the HCP tree or fMRIPrep's derivatives): the ``URL`` of ``SourceDatasets``,
        left out when None (a simulated cohort).

    Returns
    -------
    dict
        ``Name``, ``BIDSVersion`` (1.9.0), ``DatasetType`` (derivative), ``GeneratedBy`` (this workflow, the
        package's version and the source) and, with a URL, ``SourceDatasets``, to be saved as JSON.
    """
    description = {
        "Name": "vanishing-saliency: parcellated, denoised task fMRI (Glasser MMP1.0, 360 areas)",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [
            {
                "Name": "vanishing-saliency",
                "Version": __version__,
                "Description": f"Snakemake workflow (hcp_preprocess): confound regression and Glasser parcellation "
                f"of {source}",
            }
        ],
    }
    if source_url:
        description["SourceDatasets"] = [{"URL": source_url}]
    return description


def write_timeseries_tsv(path, timeseries: np.ndarray, area_names) -> None:
    """A parcellated run as a BIDS TSV: one column per area (named), one row per frame.

    Parameters
    ----------
    path : str or path-like
        The ``.tsv`` file, written atomically.
    timeseries : array-like, shape (frames, areas)
        The parcellated run; written as float32 values with 7 significant digits, without an index column.
    area_names : iterable
        One name per area, in the column order of ``timeseries`` (the header row, as str).
    """
    with atomic_path(path, suffix=".tsv") as tmp:
        pd.DataFrame(np.asarray(timeseries, np.float32), columns=[str(n) for n in area_names]).to_csv(
            tmp, sep="\t", index=False, float_format="%.7g"
        )


def timeseries_sidecar(path, tr: float, strategy: str, censored: np.ndarray, sources: list[str], order: str) -> None:
    """The JSON sidecar of a parcellated run.

    Parameters
    ----------
    path : str or path-like
        The ``.json`` file, written atomically.
    tr : float
        Repetition time in seconds (``RepetitionTime``).
    strategy : str
        The confound strategy the run was cleaned with (``Denoising.Strategy``).
    censored : numpy.ndarray of bool, shape (frames,)
        The censored frames; their 0-based indices are written as ``Denoising.CensoredFrames``.
    sources : list of str
        The run's input files (``Sources``).
    order : str
        How the areas (the columns) are ordered (``AreaOrder``).
    """
    save_json(
        path,
        {
            "RepetitionTime": float(tr),
            "Atlas": "Glasser MMP1.0 (360 cortical areas)",
            "AreaOrder": order,
            "Statistic": "mean over each area's grayordinates",
            "Denoising": {
                "Strategy": strategy,
                "Standardized": "z-scored per area over the uncensored frames",
                "CensoredFrames": [int(i) for i in np.flatnonzero(censored)],
                "Censoring": "censored frames left out of the regression fit, then linearly interpolated",
            },
            "Sources": sources,
        },
    )
