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
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, HCPDataError
from ..io import atomic_path, save_json
from .clean import RADIUS_MM
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
    """The run-identifying entities of a parsed file name as they appear in it (``ses-1_dir-LR_run-2``)."""
    return "_".join(f"{k}-{entities[k]}" for k in RUN_ENTITIES if entities.get(k))


def _func_dir(root, subject: str, entities: dict) -> Path:
    ses = entities.get("ses")
    return Path(root) / f"sub-{subject}" / (f"ses-{ses}" if ses else "") / "func"


def run_entry(bids_root, derivatives, subject: str, task: str, spec: dict, entities: dict) -> dict:
    """One run of a subject (a rule's params: strings only): its workflow ``task``, ``run`` (the entities that name
    it, ``dir-LR``), ``name`` (the same, for output file names) and the paths of its dense time series, confounds,
    events and the raw bold file its sidecars describe; ``blocks`` / ``ignore``: the task's trial types."""
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
    """Every run of ``tasks`` fMRIPrep wrote for one subject (found by file name), in task then entity order.

    A task with no run found gets one entry with the paths a run without entities would have, so that the check
    reports the missing file for this subject alone.

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
        One :func:`run_entry` per run.
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
        entities = [parse_bids_filename(f)["entities"] for f in found]
        entities = [e for e in entities if e.get("sub") == subject] or [{}]
        runs += [run_entry(bids_root, derivatives, subject, task, spec, e) for e in entities]
    return runs


def expected_runs(bids_root, derivatives, subject: str, tasks, directions, task_specs: dict) -> list[dict]:
    """The runs of a cohort whose files are still to be written (the simulated one): one per task and
    phase-encoding direction, named by the ``dir`` entity."""
    return [
        run_entry(bids_root, derivatives, subject, task, task_specs[task], {"dir": d})
        for task in tasks
        for d in directions
    ]


def run_files(run: dict) -> list[str]:
    """The input files of one fMRIPrep run: dense time series, confounds (and its JSON), events, sidecars."""
    confounds_json = run["confounds"].removesuffix(".tsv") + ".json"
    return [run["dtseries"], run["confounds"], confounds_json, run["events"], *sidecars(run)]


def discover_subjects(derivatives) -> tuple[list[str], list[str]]:
    """(subjects, skipped): the ``sub-<label>`` folders of fMRIPrep's derivatives (labels of letters and digits; the
    others are skipped).

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
    inheritance: each file's entities are a subset of the run's; a later file overrides an earlier one)."""
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
    """(RepetitionTime in s, the sidecar that set it) of a run, after BIDS inheritance."""
    found = sidecars(run)
    tr, source = None, None
    for path in found:
        try:
            meta = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            _fail(run, subject, path, f"is not a JSON sidecar ({exc})")
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
    if isinstance(tr, bool) or not isinstance(tr, int | float) or not tr > 0:
        _fail(run, subject, source, f"RepetitionTime {tr!r} is not a positive number of seconds")
    return float(tr), source


def read_confounds_table(run: dict, subject, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(motion (frames, 12): fMRIPrep's 6 parameters (mm, radians) and their derivatives, first row 0 where n/a;
    framewise displacement (frames,) mm) of a run's confounds table, checked against its frame count."""
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
    motion = table[list(MOTION_COLUMNS)].to_numpy(np.float64, copy=True)
    motion[0] = np.nan_to_num(motion[0])
    if not np.isfinite(motion).all():
        _fail(run, subject, path, "holds n/a or non-finite motion values after the first row")
    if "framewise_displacement" in table.columns:
        fd = table["framewise_displacement"].to_numpy(np.float64, copy=True)
        fd[0] = np.nan_to_num(fd[0])
        if not np.isfinite(fd).all():
            _fail(run, subject, path, "holds n/a in framewise_displacement after the first row")
    else:  # Power et al. (2012) from the parameters: fMRIPrep's rotations are radians
        params = motion[:, :6].copy()
        params[:, 3:] *= RADIUS_MM
        fd = np.concatenate([[0.0], np.abs(np.diff(params, axis=0)).sum(1)])
    return motion, fd


def strategy_confounds(run: dict, subject, arguments: dict, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(regressors (frames, k), scrubbed frames (bool)) of one strategy, through nilearn's ``load_confounds``
    (it finds the confounds table beside the dense time series).  A missing column names the table."""
    from nilearn.interfaces.fmriprep import load_confounds

    if not arguments.get("strategy"):  # a built-in strategy without motion regression: nilearn would return None
        return np.zeros((n_frames, 0)), np.zeros(n_frames, bool)
    try:
        table, sample_mask = load_confounds(run["dtseries"], demean=False, **arguments)
    except (ValueError, KeyError) as exc:  # KeyError: pandas', when only some of a group's columns are there
        detail = " ".join(str(exc.args[0] if exc.args else exc).split())
        _fail(run, subject, run["confounds"], f"the confound strategy {arguments} cannot be built: {detail}")
    scrubbed = np.ones(n_frames, bool)
    scrubbed[np.asarray(sample_mask if sample_mask is not None else np.arange(n_frames), int)] = False
    return table.to_numpy(np.float64).reshape(n_frames, -1), scrubbed


def read_events(run: dict, subject, n_frames: int, tr: float) -> list[tuple]:
    """[(onset, duration, trial_type)] of a run's task blocks from its ``events.tsv``, sorted by onset.

    Rows whose ``trial_type`` is one of the task's ``blocks`` are blocks; ``ignore``'s are skipped (trial events);
    any other trial type is an error, as are rows outside the run and blocks that overlap.

    Raises
    ------
    HCPDataError
        If the file is missing, lacks a column, has an unmapped trial type, a row outside the run (or a block
        without a positive duration), no block, or two blocks that overlap.
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
        if not (np.isfinite(on) and np.isfinite(dur)):
            _fail(run, subject, path, f"line {i + 2} ({kind}): onset and duration must be numbers of seconds")
        where = f"line {i + 2} ({kind} at {on:g} s, duration {dur:g} s)"
        if on < 0 or on + dur > seconds + 1e-6:
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


def load_run(run: dict, subject, strategies: dict) -> dict:
    """One fMRIPrep run after every check: ``data`` (frames, 91282) float32, ``motion`` (frames, 12), ``fd``,
    ``tr`` (from the sidecars, equal to the CIFTI's), ``blocks`` and, per strategy name in ``strategies`` (name ->
    ``load_confounds`` arguments), ``nuisance[name]`` = (regressors, scrubbed frames).

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
    nuisance = {name: strategy_confounds(run, subject, args, len(data)) for name, args in strategies.items()}
    blocks = read_events(run, subject, len(data), tr)
    return {"data": data, "motion": motion, "fd": fd, "tr": tr, "blocks": blocks, "nuisance": nuisance}


# ---- writing a cohort in this layout (the simulated one) ------------------------------------------------------


def _derivative(x: np.ndarray) -> np.ndarray:
    return np.vstack([np.zeros((1, x.shape[1])), np.diff(x, axis=0)])


def confounds_table(motion_hcp: np.ndarray, data: np.ndarray) -> pd.DataFrame:
    """An fMRIPrep-style confounds table of one S1200 run: its 12 motion regressors (rotations converted from
    degrees to radians, as fMRIPrep writes them) with their squares, framewise displacement, and the mean
    cortical grayordinate signal as ``global_signal`` (the CIFTI has no volume: fMRIPrep's is the brain-mask mean)
    with its derivative and squares, and DVARS over the cortex.

    The derivatives' first row is 0, as HCP's ``Movement_Regressors.txt`` has it (fMRIPrep writes n/a there, and
    nilearn then uses the second row's value), so this run cleans to the same series in both layouts."""
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
    gs_d = _derivative(gs[:, None])[:, 0]
    cols.update(
        global_signal=gs,
        global_signal_derivative1=gs_d,
        global_signal_power2=gs**2,
        global_signal_derivative1_power2=gs_d**2,
    )
    fd_params = params.copy()
    fd_params[:, 3:] *= RADIUS_MM
    fd = np.concatenate([[np.nan], np.abs(np.diff(fd_params, axis=0)).sum(1)])
    dv = np.concatenate([[np.nan], np.sqrt((np.diff(np.asarray(data[:, :N_CORTEX], np.float64), axis=0) ** 2).mean(1))])
    cols.update(framewise_displacement=fd, dvars=dv, std_dvars=dv / np.nanmedian(dv))
    return pd.DataFrame(cols)


def events_table(ev_files: dict) -> pd.DataFrame:
    """A BIDS ``events.tsv`` from FSL three-column EV files (trial type -> path): one row per EV row, sorted by
    onset; the placeholder rows (duration and amplitude 0) HCP writes for an empty condition are left out."""
    rows = []
    for kind, path in ev_files.items():
        for on, dur, amp in np.loadtxt(path, ndmin=2):
            if dur > 0 or amp != 0:
                rows.append({"onset": float(on), "duration": float(dur), "trial_type": kind})
    return pd.DataFrame(rows, columns=["onset", "duration", "trial_type"]).sort_values(
        ["onset", "trial_type"], kind="stable"
    )


def write_table(path, table: pd.DataFrame) -> None:
    """A BIDS TSV: tab separated, ``n/a`` for missing values, every digit of a float kept."""
    with atomic_path(path, suffix=".tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="n/a", float_format="%.17g")


def write_run(s1200_run: dict, run: dict, data: np.ndarray, tr: float) -> list[Path]:
    """Write one run given in the S1200 layout (``s1200_run``: an entry of ``hcp.io.subject_runs``, its files on
    disk; ``data``: its dense time series) in this layout at the paths of ``run`` (an entry of
    :func:`expected_runs`): the CIFTI file moved, the confounds table, the events and the bold sidecar."""
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
