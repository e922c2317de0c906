"""fMRIPrep derivatives of a BIDS task dataset: the layout, a subject's runs, and loading one run with every check.

Two roots (config ``hcp.fmriprep``):

- the raw BIDS dataset (``bids_root``): ``sub-<s>/[ses-<x>/]func/sub-<s>[_ses-<x>]_task-<t>[_acq-..][_dir-..]
  [_run-..]_events.tsv`` (``onset``, ``duration``, ``trial_type``) and the ``*_bold.json`` sidecars that give
  ``RepetitionTime`` (BIDS inheritance: a ``task-<t>_bold.json`` at the root applies to every run of the task, a
  file nearer the run overrides it);
- fMRIPrep's derivatives (``derivatives``): the same entities with ``_space-fsLR_den-91k_bold.dtseries.nii`` (the
  91,282 HCP grayordinates) and ``_desc-confounds_timeseries.tsv``.

The layout is read with nilearn's ``interfaces.bids`` (``get_bids_files``, ``parse_bids_filename``): nilearn is
already a dependency (its ``load_confounds`` reads the confounds), it reads file names without building an index,
and a run is one glob.  pybids indexes the whole dataset into a database first (and adds SQLAlchemy and its own
config); snakebids wraps pybids to generate Snakemake inputs, which ``rules/common.smk`` already computes per
subject.

Confounds are chosen by nilearn's ``load_confounds`` strategies; the workflow's own strategies are expressed in them
(:data:`BUILTIN_STRATEGIES`).  Every problem raises :class:`HCPDataError` naming the subject, task, run and file.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, HCPDataError
from ..io import atomic_path, save_json
from .clean import backward_difference, dvars, framewise_displacement
from .geometry import N_CORTEX
from .io import read_checked_dtseries

# BIDS entities that tell the runs of one task apart, in the order BIDS file names carry them
RUN_ENTITIES = ("ses", "acq", "ce", "rec", "dir", "run", "echo")
CIFTI_ENTITIES = "_space-fsLR_den-91k_bold.dtseries.nii"
CONFOUNDS = "_desc-confounds_timeseries.tsv"
MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
MOTION_COLUMNS = MOTION + tuple(f"{c}_derivative1" for c in MOTION)
LABEL = re.compile(r"^[A-Za-z0-9]+$")

# The workflow's strategies (clean.STRATEGIES) as nilearn load_confounds arguments: the same regressors as the
# S1200 path builds from Movement_Regressors.txt and the mean cortical signal (paper: the 6 parameters and their
# derivatives; 24P: and the squares of both; 24P+GS: and the global signal, its derivative and their squares).
BUILTIN_STRATEGIES = {
    "paper": {"strategy": ["motion"], "motion": "derivatives"},
    "24P": {"strategy": ["motion"], "motion": "full"},
    "24P+GS": {"strategy": ["motion", "global_signal"], "motion": "full", "global_signal": "full"},
}


def confound_arguments(name: str, custom: dict | None = None, motion_regression: bool = True) -> dict:
    """The nilearn ``load_confounds`` arguments of a strategy.

    Parameters
    ----------
    name : str
        A built-in strategy (``paper``, ``24P``, ``24P+GS``) or a key of ``custom``.
    custom : dict, optional
        Config ``hcp.cleaning.confound_strategies``: name -> ``load_confounds`` arguments.
    motion_regression : bool, default True
        False drops ``motion`` from a built-in strategy (config ``hcp.cleaning.motion_regression``).

    Returns
    -------
    dict
        Keyword arguments of :func:`nilearn.interfaces.fmriprep.load_confounds` (``demean`` excluded).

    Raises
    ------
    ConfigError
        If the strategy is neither built in nor in ``custom``.
    """
    custom = custom or {}
    if name in custom:
        return dict(custom[name])
    if name not in BUILTIN_STRATEGIES:
        raise ConfigError(
            f"unknown confound strategy {name!r}: built in {', '.join(BUILTIN_STRATEGIES)}, or define it under "
            "hcp.cleaning.confound_strategies",
            key="hcp.cleaning.strategy",
        )
    args = {k: list(v) if isinstance(v, list) else v for k, v in BUILTIN_STRATEGIES[name].items()}
    if not motion_regression:
        args["strategy"] = [s for s in args["strategy"] if s != "motion"]
    return args


def entities_label(entities: dict) -> str:
    """The run-identifying entities of a parsed file name as they appear in it (``ses-1_dir-LR_run-2``).

    Parameters
    ----------
    entities : dict of str to str
        The entities of a parsed BIDS file name (``parse_bids_filename(path)["entities"]``); only those of
        :data:`RUN_ENTITIES` that have a value are used.

    Returns
    -------
    str
        ``<entity>-<label>`` of each, joined by ``_`` in :data:`RUN_ENTITIES` order; empty when there is none.
    """
    return "_".join(f"{k}-{entities[k]}" for k in RUN_ENTITIES if entities.get(k))


def _func_dir(root, subject: str, entities: dict) -> Path:
    ses = entities.get("ses")
    return Path(root) / f"sub-{subject}" / (f"ses-{ses}" if ses else "") / "func"


def run_entry(bids_root, derivatives, subject: str, task: str, spec: dict, entities: dict) -> dict:
    """One run of a subject (a rule's params: plain values): its workflow ``task``, ``run`` (the entities that name
    it, ``dir-LR``), ``name`` (the same, for output file names) and the paths of its dense time series, confounds,
    events and the raw bold file its sidecars describe; ``blocks`` / ``ignore``: the task's trial types.

    Parameters
    ----------
    bids_root, derivatives : str or path-like
        The raw BIDS dataset and fMRIPrep's derivatives (config ``hcp.fmriprep``).
    subject : str
        Subject label (without ``sub-``).
    task : str
        The workflow's task name (a key of config ``hcp.fmriprep.tasks``).
    spec : dict
        The task's entry of config ``hcp.fmriprep.tasks``: ``bids_task`` (the BIDS task label), ``blocks`` (the trial
        types that are blocks) and, optionally, ``ignore`` (the trial types to skip).
    entities : dict of str to str
        The run's entities (``parse_bids_filename(path)["entities"]``, or ``{"dir": "LR"}``); only those of
        :data:`RUN_ENTITIES` that have a value are used; an empty dict is a run without any.

    Returns
    -------
    dict
        ``layout`` (``"fmriprep"``), ``task``, ``run`` (:func:`entities_label`, ``"single"`` when that is empty),
        ``name`` (:func:`entities_label`, possibly empty), ``bids_task``, ``entities`` (dict: ``sub`` and the run's
        entities of :data:`RUN_ENTITIES`), the paths (str, whether or not the files exist) ``dtseries`` and
        ``confounds`` in ``derivatives``, ``events`` and ``bold`` (``*_bold.nii.gz``) in ``bids_root``, ``bids_root``
        (str), and ``blocks`` and ``ignore`` (lists of str; ``ignore`` empty when ``spec`` has none).
    """
    label = entities_label(entities)
    ses = entities.get("ses")
    rest = "_".join(f"{k}-{entities[k]}" for k in RUN_ENTITIES[1:] if entities.get(k))
    stem = (
        f"sub-{subject}" + (f"_ses-{ses}" if ses else "") + f"_task-{spec['bids_task']}" + (f"_{rest}" if rest else "")
    )
    deriv, raw = _func_dir(derivatives, subject, entities), _func_dir(bids_root, subject, entities)
    return {
        "layout": "fmriprep",
        "task": task,
        "run": label or "single",
        "name": label,
        "bids_task": spec["bids_task"],
        "entities": {"sub": subject, **{k: entities[k] for k in RUN_ENTITIES if entities.get(k)}},
        "dtseries": str(deriv / f"{stem}{CIFTI_ENTITIES}"),
        "confounds": str(deriv / f"{stem}{CONFOUNDS}"),
        "events": str(raw / f"{stem}_events.tsv"),
        "bold": str(raw / f"{stem}_bold.nii.gz"),
        "bids_root": str(bids_root),
        "blocks": list(spec["blocks"]),
        "ignore": list(spec.get("ignore", [])),
    }


def subject_runs(bids_root, derivatives, subject: str, tasks, task_specs: dict) -> list[dict]:
    """Every run of ``tasks`` fMRIPrep wrote for one subject (found by file name), in task then file-name order:
    each subject's own runs, sessions and run entities (a ragged dataset's subjects differ).

    A task with no run found gets one entry with the paths a run without entities would have and ``absent`` True,
    which the check reports as absent (a task the subject was not scanned in is not an error of the subject).

    Parameters
    ----------
    bids_root, derivatives : str or path-like
        The raw BIDS dataset and fMRIPrep's derivatives (config ``hcp.fmriprep``).
    subject : str
        Subject label (without ``sub-``).
    tasks : iterable of str
        The workflow's task names (config ``hcp.tasks``).
    task_specs : dict
        Config ``hcp.fmriprep.tasks``: task -> ``bids_task``, ``blocks``, ``ignore``.

    Returns
    -------
    list of dict
        One :func:`run_entry` per run: the tasks in ``tasks`` order, each task's runs sorted by file name (so
        ``run-10`` before ``run-2``), or the one entry without entities (and ``absent``) of a task with no run found.
    """
    from nilearn.interfaces.bids import get_bids_files, parse_bids_filename

    runs = []
    for task in tasks:
        spec = task_specs[task]
        found = get_bids_files(
            derivatives,
            file_tag="bold",
            file_type="dtseries.nii",
            sub_label=subject,
            modality_folder="func",
            filters=[("task", spec["bids_task"]), ("space", "fsLR"), ("den", "91k")],
        )
        if not found and not list((Path(derivatives) / f"sub-{subject}").glob("ses-*")):
            # nilearn looks under sub-*/ses-*/ for every subject once any subject has sessions: this one has none
            found = sorted(
                str(p)
                for p in (Path(derivatives) / f"sub-{subject}" / "func").glob(f"sub-{subject}_*{CIFTI_ENTITIES}")
                if parse_bids_filename(str(p))["entities"].get("task") == spec["bids_task"]
            )
        entities = [e for e in (parse_bids_filename(f)["entities"] for f in found) if e.get("sub") == subject]
        if entities:
            runs += [run_entry(bids_root, derivatives, subject, task, spec, e) for e in entities]
        else:  # the subject has no run of this task: the check reports it absent, not missing
            runs.append({**run_entry(bids_root, derivatives, subject, task, spec, {}), "absent": True})
    return runs


def expected_runs(bids_root, derivatives, subject: str, tasks, directions, task_specs: dict) -> list[dict]:
    """The runs of a cohort whose files are still to be written (the simulated one): one per task and
    phase-encoding direction, named by the ``dir`` entity.

    Parameters
    ----------
    bids_root, derivatives : str or path-like
        The raw BIDS dataset and fMRIPrep's derivatives to be written.
    subject : str
        Subject label (without ``sub-``).
    tasks : iterable of str
        The workflow's task names (keys of ``task_specs``).
    directions : sequence of str
        Phase-encoding directions (``LR``, ``RL``): each run's ``dir`` entity.  Iterated once per task, so not a
        one-shot iterator.
    task_specs : dict
        Config ``hcp.fmriprep.tasks``: task -> ``bids_task``, ``blocks``, ``ignore``.

    Returns
    -------
    list of dict
        One :func:`run_entry` per task and direction, in task-then-direction order (``run``: ``dir-<direction>``).
    """
    return [
        run_entry(bids_root, derivatives, subject, task, task_specs[task], {"dir": d})
        for task in tasks
        for d in directions
    ]


def run_files(run: dict) -> list[str]:
    """The input files of one fMRIPrep run: dense time series, confounds (and its JSON), events, sidecars.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs` (a :func:`run_entry`).

    Returns
    -------
    list of str
        ``dtseries``, ``confounds``, the confounds' JSON (``*_desc-confounds_timeseries.json``), ``events``, then the
        sidecars that :func:`sidecars` finds on disk at the time of the call (none for a run not written yet).
    """
    confounds_json = run["confounds"].removesuffix(".tsv") + ".json"
    return [run["dtseries"], run["confounds"], confounds_json, run["events"], *sidecars(run)]


def discover_subjects(derivatives) -> tuple[list[str], list[str]]:
    """(subjects, skipped): the ``sub-<label>`` folders of fMRIPrep's derivatives (labels of letters and digits; the
    others are skipped).

    Parameters
    ----------
    derivatives : str or path-like
        fMRIPrep's derivatives folder (config ``hcp.fmriprep.derivatives``).

    Returns
    -------
    subjects : list of str
        The labels (without ``sub-``) made of letters and digits only, sorted.
    skipped : list of str
        The other labels of ``sub-*`` folders, sorted.

    Raises
    ------
    ConfigError
        If ``derivatives`` is not a directory.
    """
    root = Path(derivatives)
    if not root.is_dir():
        raise ConfigError(f"hcp.fmriprep.derivatives {root} is not a directory", key="hcp.fmriprep.derivatives")
    found = sorted(p.name[4:] for p in root.glob("sub-*") if p.is_dir())
    return [s for s in found if LABEL.match(s)], [s for s in found if not LABEL.match(s)]


def _json_files(folder: str) -> tuple[str, ...]:
    # keyed on the folder's modification time: a sidecar added or removed since (a fix, then a rerun in the same
    # process) is seen
    try:
        mtime = Path(folder).stat().st_mtime_ns
    except OSError:
        return ()
    return _json_listing(folder, mtime)


@functools.lru_cache(maxsize=4096)
def _json_listing(folder: str, mtime_ns: int) -> tuple[str, ...]:
    return tuple(sorted(str(p) for p in Path(folder).glob("*_bold.json"))) if Path(folder).is_dir() else ()


def sidecars(run: dict) -> list[str]:
    """The raw dataset's ``*_bold.json`` files that apply to a run, from the root down to the run's folder (BIDS
    inheritance: each file's entities are a subset of the run's; a later file overrides an earlier one).

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`: its ``bids_root``, ``entities`` and ``bids_task`` are used.

    Returns
    -------
    list of str
        The paths of the ``*_bold.json`` files, in the dataset's root, ``sub-<s>``, ``ses-<x>`` (when the run has a
        session) and ``func`` folders in that order (by name within a folder), whose entities (``task`` included)
        all have the run's values; empty when there is none.
    """
    from nilearn.interfaces.bids import parse_bids_filename

    root, ents = Path(run["bids_root"]), {**run["entities"], "task": run["bids_task"]}
    levels = [root, root / f"sub-{ents['sub']}"]
    if ents.get("ses"):
        levels.append(levels[-1] / f"ses-{ents['ses']}")
    levels.append(levels[-1] / "func")
    out = []
    for level in levels:
        for f in _json_files(str(level)):
            e = parse_bids_filename(f)["entities"]
            if all(ents.get(k) == v for k, v in e.items()):
                out.append(f)
    return out


def _fail(run: dict, subject, path, problem):
    raise HCPDataError(subject, run["task"], run["run"], path, problem)


def repetition_time(run: dict, subject) -> tuple[float, str]:
    """(RepetitionTime in s, the sidecar that set it) of a run, after BIDS inheritance.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`.
    subject : str
        Subject label (it names the run in an error).

    Returns
    -------
    tr : float
        The repetition time in seconds: the ``RepetitionTime`` of the last of :func:`sidecars` that has one.
    source : str
        The path of that sidecar.

    Raises
    ------
    HCPDataError
        If a sidecar cannot be read or is not JSON, no sidecar has ``RepetitionTime`` (the error names the run's own
        ``*_bold.json``, whether or not it exists), or the value is not a positive number (a boolean is not one).
    """
    found = sidecars(run)
    tr, source = None, None
    for path in found:
        try:
            meta = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            _fail(run, subject, path, f"is not a JSON sidecar ({exc})")
        if not isinstance(meta, dict):
            _fail(run, subject, path, f"is not a JSON sidecar (a JSON object of fields; found a {type(meta).__name__})")
        if "RepetitionTime" in meta:
            tr, source = meta["RepetitionTime"], path
    where = Path(run["bold"]).with_name(Path(run["bold"]).name.replace(".nii.gz", ".json"))
    if tr is None:
        _fail(
            run,
            subject,
            where,
            "no RepetitionTime for this run: expected it in this sidecar or one it inherits from (e.g. "
            f"task-{run['bids_task']}_bold.json at the dataset root; found {len(found)} sidecar(s))",
        )
    if isinstance(tr, bool) or not isinstance(tr, int | float) or not 0 < tr < float("inf"):
        _fail(run, subject, source, f"RepetitionTime {tr!r} is not a positive number of seconds")
    return float(tr), source


def read_confounds_table(run: dict, subject, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(motion (frames, 12): fMRIPrep's 6 parameters (mm, radians) and their derivatives, first row 0 where n/a;
    framewise displacement (frames,) mm) of a run's confounds table, checked against its frame count.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`: its ``confounds`` table is read.
    subject : str
        Subject label (it names the run in an error).
    n_frames : int
        Frames of the run's dense time series: the table must have as many rows.

    Returns
    -------
    motion : numpy.ndarray of float64, shape (n_frames, 12)
        The columns of :data:`MOTION_COLUMNS`: ``trans_x`` ... ``rot_z`` (mm, radians), then their ``_derivative1``;
        n/a in the first row set to 0.
    fd : numpy.ndarray of float64, shape (n_frames,)
        Framewise displacement in mm: the table's ``framewise_displacement`` (n/a in the first row set to 0) or,
        without that column, Power et al. (2012) from the parameters (rotations as arc length on a 50 mm sphere; the
        first frame 0).

    Raises
    ------
    HCPDataError
        If the table is missing or cannot be read as a tab-separated table, lacks a column of :data:`MOTION_COLUMNS`,
        does not have ``n_frames`` rows, or holds an n/a or non-finite motion or ``framewise_displacement`` value
        after the first row.
    """
    path = run["confounds"]
    if not Path(path).is_file():
        _fail(run, subject, path, "missing fMRIPrep confounds table (expected *_desc-confounds_timeseries.tsv)")
    try:
        table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except (ValueError, pd.errors.ParserError) as exc:
        _fail(run, subject, path, f"is not a tab-separated table ({exc})")
    missing = [c for c in MOTION_COLUMNS if c not in table.columns]
    if missing:
        _fail(run, subject, path, f"missing confound column(s) {', '.join(missing)} (fMRIPrep writes them)")
    if len(table) != n_frames:
        _fail(
            run,
            subject,
            path,
            f"has {len(table)} rows but the dense time series ({Path(run['dtseries']).name}) has {n_frames} frames "
            "(one row per frame)",
        )
    columns = [*MOTION_COLUMNS, *(["framewise_displacement"] if "framewise_displacement" in table.columns else [])]
    values = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64, copy=True)
    values[0] = np.where(np.isnan(values[0]), 0.0, values[0])  # fMRIPrep's n/a in the first row of a derivative
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, col = bad[0]
        _fail(
            run,
            subject,
            path,
            f"{columns[col]} on line {row + 2} is {table[columns[col]].iloc[row]!r}: expected a number (n/a only in "
            f"the first row); {len(bad)} such value(s)",
        )
    motion = values[:, : len(MOTION_COLUMNS)]
    if "framewise_displacement" in table.columns:
        fd = values[:, -1]
    else:  # Power et al. (2012) from the parameters: fMRIPrep's rotations are radians
        fd = framewise_displacement(motion, degrees=False)
    return motion, fd


def strategy_problem(name: str | None, arguments: dict, detail: str) -> str:
    """What a confound strategy a table cannot build lacks, in words: its name (or its parts, unnamed), then the
    columns missing where the error lists them (pandas' ``[...] not in index``, nilearn's ``The following keywords
    or parameters are missing``), else the error's text.

    Parameters
    ----------
    name : str or None
        The strategy's name (config ``hcp.cleaning``: ``24P+GS``, a key of ``confound_strategies``).
    arguments : dict
        Its ``load_confounds`` arguments (their ``strategy`` names it when ``name`` is None).
    detail : str
        The error nilearn or pandas raised.

    Returns
    -------
    str
        E.g. ``the confound strategy '24P+GS' cannot be built from this table: missing columns
        global_signal_power2, global_signal_derivative1_power2``.
    """
    label = repr(name) if name else f"({', '.join(arguments.get('strategy', []))})"
    columns = re.findall(r"'([^']+)'", detail) if ("not in index" in detail or "are missing" in detail) else []
    if columns:
        detail = "missing column" + ("s " if len(columns) > 1 else " ") + ", ".join(dict.fromkeys(columns))
    return f"the confound strategy {label} cannot be built from this table: {detail}"


def strategy_confounds(
    run: dict, subject, arguments: dict, n_frames: int, name: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(regressors (frames, k), scrubbed frames (bool)) of one strategy, through nilearn's ``load_confounds``
    (it finds the confounds table beside the dense time series).  A missing column names the table.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`: its ``dtseries`` goes to ``load_confounds``; its ``confounds`` names the
        table in an error.
    subject : str
        Subject label (it names the run in an error).
    arguments : dict
        ``load_confounds`` keyword arguments (:func:`confound_arguments`), without ``demean`` (always False here).
    n_frames : int
        Frames of the run (the confounds table's rows, checked by :func:`read_confounds_table`).
    name : str, optional
        The strategy's name (config ``hcp.cleaning``), which names it in an error.

    Returns
    -------
    regressors : numpy.ndarray of float64, shape (n_frames, k)
        The strategy's confounds, not demeaned; k is 0 when ``arguments`` has no (or an empty) ``strategy``.
    scrubbed : numpy.ndarray of bool, shape (n_frames,)
        True at the frames that ``load_confounds``'s sample mask leaves out (non-steady-state volumes, the motion
        outliers its scrubbing flags); all False when it returns no mask.

    Raises
    ------
    HCPDataError
        If ``load_confounds`` raises ``ValueError`` or ``KeyError`` (a column the strategy needs is missing...); the
        error names the confounds table, the strategy and the missing columns where nilearn lists them.
    """
    from nilearn.interfaces.fmriprep import load_confounds

    if not arguments.get("strategy"):  # a built-in strategy without motion regression: nilearn would return None
        return np.zeros((n_frames, 0)), np.zeros(n_frames, bool)
    try:
        table, sample_mask = load_confounds(run["dtseries"], demean=False, **arguments)
    except (ValueError, KeyError) as exc:  # KeyError: pandas', when only some of a group's columns are there
        detail = " ".join(str(exc.args[0] if exc.args else exc).split())
        _fail(run, subject, run["confounds"], strategy_problem(name, arguments, detail))
    scrubbed = np.ones(n_frames, bool)
    scrubbed[np.asarray(sample_mask if sample_mask is not None else np.arange(n_frames), int)] = False
    return table.to_numpy(np.float64).reshape(n_frames, -1), scrubbed


def strategies_a_table_cannot_build(confounds, strategies: dict, n_frames: int = 8) -> dict[str, str]:
    """The strategies an fMRIPrep confounds table's columns cannot build, read from its header alone.

    nilearn's ``load_confounds`` is run on a stand-in: the table's header (and its JSON sidecar, which CompCor
    strategies read) over ``n_frames`` rows of numbers, in a temporary folder, so the answer is nilearn's own and the
    table is not read whole (the workflow asks this of each distinct header before any job).

    Parameters
    ----------
    confounds : str or path-like
        A ``*_desc-confounds_timeseries.tsv``.
    strategies : dict
        Strategy name -> ``load_confounds`` arguments (:func:`confound_arguments`).
    n_frames : int, optional
        Rows of the stand-in.

    Returns
    -------
    dict
        Name -> :func:`strategy_problem` of each strategy it cannot build (the missing columns named); empty when
        it can build them all.
    """
    from nilearn.interfaces.fmriprep import load_confounds

    confounds = Path(confounds)
    with open(confounds, encoding="utf-8") as f:
        columns = f.readline().rstrip("\n").split("\t")
    stem = confounds.name.removesuffix("_desc-confounds_timeseries.tsv")
    problems = {}
    with tempfile.TemporaryDirectory(prefix="vs-confounds-") as tmp:
        pd.DataFrame(np.zeros((n_frames, len(columns))), columns=columns).to_csv(
            Path(tmp) / confounds.name, sep="\t", index=False
        )
        sidecar = confounds.with_suffix(".json")
        if sidecar.is_file():
            (Path(tmp) / sidecar.name).write_text(sidecar.read_text(encoding="utf-8"), encoding="utf-8")
        image = Path(tmp) / f"{stem}_space-fsLR_den-91k_bold.dtseries.nii"
        image.touch()
        for name, arguments in strategies.items():
            if not arguments.get("strategy"):
                continue
            try:
                load_confounds(str(image), demean=False, **arguments)
            except (ValueError, KeyError) as exc:
                detail = " ".join(str(exc.args[0] if exc.args else exc).split())
                if "not in index" in detail or "are missing" in detail:  # a column, not the stand-in's numbers
                    problems[name] = strategy_problem(name, arguments, detail)
    return problems


def read_events(run: dict, subject, n_frames: int, tr: float) -> list[tuple]:
    """[(onset, duration, trial_type)] of a run's task blocks from its ``events.tsv``, sorted by onset.

    Rows whose ``trial_type`` is one of the task's ``blocks`` are blocks; ``ignore``'s are skipped (trial events);
    any other trial type is an error, as are rows outside the run and blocks that overlap.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`: its ``events`` file and the task's ``blocks`` and ``ignore`` trial types.
    subject : str
        Subject label (it names the run in an error).
    n_frames : int
        Frames of the run: with ``tr``, its length ``n_frames * tr`` seconds, which every row (a block or an ignored
        event) must end within (to within 1e-6 s).
    tr : float
        Repetition time in seconds.

    Returns
    -------
    list of tuple
        ``(onset, duration, trial_type)`` of every block (float seconds, float seconds, str), sorted by onset.

    Raises
    ------
    HCPDataError
        If the file is missing, is not a tab-separated table, lacks a column, has an unmapped trial type, a row whose
        onset or duration is not a number (n/a included, ignored rows too), a row outside the run (or a block
        without a positive duration), no block, or two blocks that overlap (by more than 0.01 s).
    """
    path = run["events"]
    if not Path(path).is_file():
        _fail(run, subject, path, "missing events file (expected onset, duration and trial_type columns)")
    try:
        events = pd.read_csv(path, sep="\t", na_values=["n/a"], dtype={"trial_type": str})
    except (ValueError, pd.errors.ParserError) as exc:
        _fail(run, subject, path, f"is not a tab-separated table ({exc})")
    missing = [c for c in ("onset", "duration", "trial_type") if c not in events.columns]
    if missing:
        _fail(run, subject, path, f"missing column(s) {', '.join(missing)} (expected onset, duration, trial_type)")
    for column in ("onset", "duration"):  # a word where a number belongs becomes n/a: reported on its line below
        events[column] = pd.to_numeric(events[column], errors="coerce")
    known = set(run["blocks"]) | set(run["ignore"])
    unmapped = [t for t in dict.fromkeys(events["trial_type"].astype(str)) if t not in known]
    if unmapped:
        first = int(np.flatnonzero(events["trial_type"].astype(str) == unmapped[0])[0]) + 2
        _fail(
            run,
            subject,
            path,
            f"trial type(s) {', '.join(map(repr, unmapped))} (first on line {first}) are not mapped: list each under "
            f"hcp.fmriprep.tasks.{run['task']}.blocks (an active block) or .ignore",
        )
    seconds = n_frames * tr
    rows = []
    for i, (on, dur, kind) in enumerate(events[["onset", "duration", "trial_type"]].itertuples(index=False)):
        if not np.isfinite(on) or not (np.isfinite(dur) or kind not in run["blocks"]):
            # BIDS allows an n/a duration (an ignored event's); a block needs both numbers
            _fail(run, subject, path, f"line {i + 2} ({kind}): onset and duration must be numbers of seconds")
        dur = dur if np.isfinite(dur) else 0.0
        where = f"line {i + 2} ({kind} at {on:g} s, duration {dur:g} s)"
        if on < 0 or on + max(dur, 0.0) > seconds + 1e-6:
            _fail(run, subject, path, f"{where}: outside the run (0-{seconds:.2f} s: {n_frames} frames of {tr:g} s)")
        if kind in run["blocks"]:
            if dur <= 0:
                _fail(run, subject, path, f"{where}: a block needs a duration above 0 s")
            rows.append((float(on), float(dur), str(kind)))
    if not rows:
        _fail(run, subject, path, f"no block: no row has a trial type of {run['blocks']}")
    rows.sort()
    for (on_a, dur_a, a), (on_b, _, b) in itertools.pairwise(rows):
        if on_b < on_a + dur_a - 0.01:
            _fail(run, subject, path, f"the {b} block at {on_b:g} s overlaps the {a} block at {on_a:g} s")
    return rows


def load_run(run: dict, subject, strategies: dict, required: str | None = None) -> dict:
    """One fMRIPrep run after every check: ``data`` (frames, 91282) float32, ``motion`` (frames, 12), ``fd``,
    ``tr`` (from the sidecars, equal to the CIFTI's), ``blocks`` and, per strategy name in ``strategies`` (name ->
    ``load_confounds`` arguments), ``nuisance[name]`` = (regressors, scrubbed frames).  A strategy the confounds
    table cannot build is an error of the run if it is the ``required`` one (the cleaning's); any other goes to
    ``unbuilt[name]`` (what it lacks) and the run stays usable.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs` (or of :func:`expected_runs`, once written).
    subject : str
        Subject label (it names the run in an error).
    strategies : dict
        Strategy name -> ``load_confounds`` arguments (:func:`confound_arguments`); may be empty.
    required : str, optional
        The strategy the run is cleaned with: if its table cannot build it, the run fails.  None: every strategy
        is required.

    Returns
    -------
    dict
        ``data`` (numpy.ndarray of float32, shape (frames, 91282)), ``motion`` (float64, shape (frames, 12): mm and
        radians, see :func:`read_confounds_table`), ``fd`` (float64, shape (frames,), mm), ``tr`` (float, seconds:
        the sidecars', which the CIFTI's ``SeriesStep`` matches within 1e-4 s), ``blocks`` (:func:`read_events`),
        ``nuisance`` (dict of name to (regressors, scrubbed), as :func:`strategy_confounds` returns them) and
        ``unbuilt`` (dict of name to what the table lacks, :func:`strategy_problem`).

    Raises
    ------
    HCPDataError
        If a file is missing or does not hold what is expected (see :func:`repetition_time`,
        :func:`read_confounds_table`, :func:`strategy_confounds`, :func:`read_events` and
        :func:`vanishing_saliency.hcp.io.read_checked_dtseries`).
    """
    dts = run["dtseries"]
    if not Path(dts).is_file():  # before the sidecars: a run fMRIPrep did not write has none either
        _fail(run, subject, dts, f"missing dense time series (expected fMRIPrep's *{CIFTI_ENTITIES})")
    tr, source = repetition_time(run, subject)
    data = read_checked_dtseries(
        dts, lambda problem: _fail(run, subject, dts, problem), tr, f"RepetitionTime in the sidecar {source}"
    )
    motion, fd = read_confounds_table(run, subject, len(data))
    nuisance, unbuilt = {}, {}
    for name, args in strategies.items():
        try:
            nuisance[name] = strategy_confounds(run, subject, args, len(data), name)
        except HCPDataError as exc:
            if required is None or name == required:
                raise
            unbuilt[name] = exc.problem
    blocks = read_events(run, subject, len(data), tr)
    return {
        "data": data,
        "motion": motion,
        "fd": fd,
        "tr": tr,
        "blocks": blocks,
        "nuisance": nuisance,
        "unbuilt": unbuilt,
    }


# ---- writing a cohort in this layout (the simulated one) ------------------------------------------------------


def confounds_table(motion_hcp: np.ndarray, data: np.ndarray) -> pd.DataFrame:
    """An fMRIPrep-style confounds table of one S1200 run: its 12 motion regressors (rotations converted from
    degrees to radians, as fMRIPrep writes them) with their squares, framewise displacement, and the mean
    cortical grayordinate signal as ``global_signal`` (the CIFTI has no volume: fMRIPrep's is the brain-mask mean)
    with its derivative and squares, and DVARS over the cortex.

    The derivatives' first row is 0, as HCP's ``Movement_Regressors.txt`` has it (fMRIPrep writes n/a there, and
    nilearn then uses the second row's value), so this run cleans to the same series in both layouts.

    Parameters
    ----------
    motion_hcp : numpy.ndarray, shape (frames, 12)
        The run's ``Movement_Regressors.txt``: the 6 parameters (mm, degrees), then their derivatives.
    data : numpy.ndarray, shape (frames, 91282)
        The run's dense time series; its cortical grayordinates (the first ``N_CORTEX``) give ``global_signal`` and
        ``dvars``.

    Returns
    -------
    pandas.DataFrame
        One row per frame: for each motion parameter (``trans_x`` ... ``rot_z``, mm and radians) the parameter and its
        ``_derivative1``, ``_power2`` and ``_derivative1_power2``; ``global_signal`` and the same three; then
        ``framewise_displacement`` (mm, rotations as arc length on a 50 mm sphere), ``dvars`` (root mean square over
        the cortical grayordinates of the backward difference) and ``std_dvars`` (``dvars`` over its median), those
        three NaN (written as n/a) in the first row.
    """
    params = np.asarray(motion_hcp[:, :6], np.float64).copy()
    deriv = np.asarray(motion_hcp[:, 6:12], np.float64).copy()
    params[:, 3:], deriv[:, 3:] = np.deg2rad(params[:, 3:]), np.deg2rad(deriv[:, 3:])
    cols = {}
    for k, name in enumerate(MOTION):
        cols[name] = params[:, k]
        cols[f"{name}_derivative1"] = deriv[:, k]
        cols[f"{name}_power2"] = params[:, k] ** 2
        cols[f"{name}_derivative1_power2"] = deriv[:, k] ** 2
    gs = np.asarray(data[:, :N_CORTEX], np.float64).mean(1)
    gs_d = backward_difference(gs)
    cols.update(
        global_signal=gs,
        global_signal_derivative1=gs_d,
        global_signal_power2=gs**2,
        global_signal_derivative1_power2=gs_d**2,
    )
    fd, dv = framewise_displacement(motion_hcp), dvars(data[:, :N_CORTEX])
    fd[0] = dv[0] = np.nan  # fMRIPrep's n/a in the first row
    cols.update(framewise_displacement=fd, dvars=dv, std_dvars=dv / np.nanmedian(dv))
    return pd.DataFrame(cols)


def events_table(ev_files: dict) -> pd.DataFrame:
    """A BIDS ``events.tsv`` from FSL three-column EV files (trial type -> path): one row per EV row, sorted by
    onset; the placeholder rows (duration and amplitude 0) HCP writes for an empty condition are left out.

    Parameters
    ----------
    ev_files : dict
        Trial type -> path (str or path-like) of its FSL three-column EV file (onset, duration, amplitude).

    Returns
    -------
    pandas.DataFrame
        Columns ``onset`` and ``duration`` (float seconds) and ``trial_type`` (str), sorted by onset, then trial type;
        the amplitudes are dropped, and so is every row whose duration is not above 0 and whose amplitude is 0.  The
        index keeps the rows' order before sorting.
    """
    rows = []
    for kind, path in ev_files.items():
        for on, dur, amp in np.loadtxt(path, ndmin=2):
            if dur > 0 or amp != 0:
                rows.append({"onset": float(on), "duration": float(dur), "trial_type": kind})
    return pd.DataFrame(rows, columns=["onset", "duration", "trial_type"]).sort_values(
        ["onset", "trial_type"], kind="stable"
    )


def write_table(path, table: pd.DataFrame) -> None:
    """A BIDS TSV: tab separated, ``n/a`` for missing values, every digit of a float kept.

    Parameters
    ----------
    path : str or path-like
        The ``.tsv`` file, written atomically (its folder created when missing).
    table : pandas.DataFrame
        Written with a header row and without its index.
    """
    with atomic_path(path, suffix=".tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="n/a", float_format="%.17g")


def write_run(s1200_run: dict, run: dict, data: np.ndarray, tr: float) -> list[Path]:
    """Write one run given in the S1200 layout (``s1200_run``: an entry of ``hcp.io.subject_runs``, its files on
    disk; ``data``: its dense time series) in this layout at the paths of ``run`` (an entry of
    :func:`expected_runs`): the CIFTI file moved, the confounds table, the events and the bold sidecar.

    Parameters
    ----------
    s1200_run : dict
        An entry of ``hcp.io.subject_runs`` whose files exist: its ``dtseries`` is moved (it is gone afterwards), its
        ``motion`` regressors give the confounds table (:func:`confounds_table`), and every ``*.txt`` in the folder of
        its ``evs`` (block and trial EVs alike) gives the events (:func:`events_table`).
    run : dict
        An entry of :func:`expected_runs`: the paths to write.
    data : numpy.ndarray, shape (frames, 91282)
        The S1200 run's dense time series (for the confounds' ``global_signal`` and ``dvars``).
    tr : float
        Repetition time in seconds, written as the bold sidecar's ``RepetitionTime``.

    Returns
    -------
    list of pathlib.Path
        The dense time series, confounds table and events, then the bold sidecar (``*_bold.json``: ``RepetitionTime``
        and ``TaskName``); the confounds' JSON sidecar, written too, is not listed.
    """
    out = [Path(run[k]) for k in ("dtseries", "confounds", "events")]
    for p in out:
        p.parent.mkdir(parents=True, exist_ok=True)
    Path(s1200_run["dtseries"]).replace(run["dtseries"])
    write_table(run["confounds"], confounds_table(np.loadtxt(s1200_run["motion"], ndmin=2), data))
    save_json(
        run["confounds"].removesuffix(".tsv") + ".json",
        {"framewise_displacement": {"Description": "Power et al. (2012), rotations on a 50 mm sphere", "Units": "mm"}},
    )
    ev_dir = Path(next(iter(s1200_run["evs"].values()))).parent
    write_table(run["events"], events_table({p.stem: p for p in sorted(ev_dir.glob("*.txt"))}))
    sidecar = Path(run["bold"]).with_name(Path(run["bold"]).name.replace(".nii.gz", ".json"))
    save_json(sidecar, {"RepetitionTime": tr, "TaskName": run["bids_task"]})
    return [*out, sidecar]
