"""One run of either input layout, loaded and checked the same way: the S1200 tree (:mod:`.io`) or fMRIPrep
derivatives of a BIDS dataset (:mod:`.bids`).  A run is an entry of ``io.subject_runs`` or ``bids.subject_runs``
(``layout`` says which; the S1200 entries have none)."""

from __future__ import annotations

from ..errors import HCPDataError
from . import bids, io
from .clean import framewise_displacement
from .geometry import FRAMES


def layout(run: dict) -> str:
    """``s1200`` or ``fmriprep``.

    Parameters
    ----------
    run : dict
        An entry of ``io.subject_runs`` or ``bids.subject_runs``.

    Returns
    -------
    str
        The run's ``layout``; ``s1200`` when it has none.
    """
    return run.get("layout", "s1200")


def run_name(run: dict) -> str:
    """The entities that name a run in output file names: ``dir-LR`` (S1200) or the BIDS ones (``ses-1_run-2``).

    Parameters
    ----------
    run : dict
        An entry of ``io.subject_runs`` or ``bids.subject_runs``.

    Returns
    -------
    str
        ``dir-<run>`` for an S1200 run; an fMRIPrep run's ``name`` (:func:`.bids.entities_label`: empty for a run
        without entities).
    """
    return run["name"] if layout(run) == "fmriprep" else f"dir-{run['run']}"


def run_entities(run: dict) -> dict:
    """A run's BIDS entities: an S1200 run's direction as ``dir``, an fMRIPrep run's own (``ses``, ``dir``, ``run``...).

    Parameters
    ----------
    run : dict
        An entry of ``io.subject_runs`` or ``bids.subject_runs``.

    Returns
    -------
    dict
        ``{entity: value}``.
    """
    return dict(run["entities"]) if layout(run) == "fmriprep" else {"dir": run["run"]}


def missing_required(runs, tasks, require: dict | None) -> list[str]:
    """The runs config ``hcp.require_runs`` demands of a subject that ``runs`` lack.

    Parameters
    ----------
    runs : iterable of dict
        The subject's runs (entries of ``io.subject_runs`` / ``bids.subject_runs``; ``absent`` ones do not count).
    tasks : iterable of str
        Config ``hcp.tasks``: each needs its runs.
    require : dict or None
        ``{entity: [value, ...]}``: every task needs, for each listed entity, a run with each of its values
        (``{dir: [LR, RL]}``: both phase-encoding directions); ``{}``: a run of every task; None: nothing.

    Returns
    -------
    list of str
        ``<task> <entity>-<value>`` (or ``<task>``) for each demand no run meets, in config order; empty when all
        are met.
    """
    if require is None:
        return []
    runs = [r for r in runs if not r.get("absent")]
    missing = []
    for task in tasks:
        of_task = [run_entities(r) for r in runs if r["task"] == task]
        if not require and not of_task:
            missing.append(task)
        for entity, values in require.items():
            missing += [f"{task} {entity}-{v}" for v in values if not any(e.get(entity) == str(v) for e in of_task)]
    return missing


def timeseries_name(subject, run: dict) -> str:
    """A cleaned run's file name (no extension) in its subject's folder of ``results/hcp/timeseries``:
    ``sub-<s>_task-<T>_<run entities>_atlas-MMP360_timeseries``.

    Parameters
    ----------
    subject : str
        Subject ID or label (without ``sub-``).
    run : dict
        An entry of ``io.subject_runs`` or ``bids.subject_runs``.

    Returns
    -------
    str
        The name; the run entities are :func:`run_name`'s (``dir-LR`` for an S1200 run, the BIDS ones for an
        fMRIPrep run, none for a BIDS run without entities).
    """
    parts = (f"sub-{subject}", f"task-{run['task']}", run_name(run), "atlas-MMP360_timeseries")
    return "_".join(x for x in parts if x)


def strategy_arguments(cleaning: dict, names) -> dict:
    """nilearn ``load_confounds`` arguments of each strategy name (config ``hcp.cleaning``).

    Parameters
    ----------
    cleaning : dict
        Config ``hcp.cleaning``: its ``motion_regression`` and (optional) ``confound_strategies`` are used.
    names : iterable of str
        Strategy names: built in (``paper``, ``24P``, ``24P+GS``) or keys of ``confound_strategies``.

    Returns
    -------
    dict
        Name -> its :func:`.bids.confound_arguments`.

    Raises
    ------
    ConfigError
        If a name is neither built in nor a key of ``confound_strategies``.
    """
    custom = cleaning.get("confound_strategies") or {}
    return {n: bids.confound_arguments(n, custom, cleaning["motion_regression"]) for n in names}


def strategies_of(cleaning: dict) -> list[str]:
    """The chosen strategy, then the compared ones (config ``hcp.cleaning``).

    Parameters
    ----------
    cleaning : dict
        Config ``hcp.cleaning``: its ``strategy`` and ``compare_strategies``.

    Returns
    -------
    list of str
        ``strategy``, then ``compare_strategies``, each name once (at its first place).
    """
    return list(dict.fromkeys([cleaning["strategy"], *cleaning["compare_strategies"]]))


def load(run: dict, subject, tr: float, cleaning: dict) -> dict:
    """A checked run: ``data`` (frames, 91282) float32, ``motion`` (frames, 12), ``fd`` (mm), ``tr`` (s), ``blocks``
    [(onset, duration, condition)], ``nuisance`` (strategy -> (regressors, scrubbed frames); empty for an S1200
    run, whose regressors the cleaning builds from ``motion`` and the global signal) and ``unbuilt`` (a compared
    strategy the run's confounds table cannot build -> what it lacks; the cleaning's own strategy is required).

    ``tr``: config ``hcp.tr``, what an S1200 run must have (an fMRIPrep run's comes from its sidecars).

    Parameters
    ----------
    run : dict
        An entry of ``io.subject_runs`` or ``bids.subject_runs``.
    subject : str
        Subject ID (it names the run in an error).
    tr : float
        Config ``hcp.tr`` in seconds: an S1200 run's CIFTI must have it (within 1e-4 s); unused for an fMRIPrep run.
    cleaning : dict
        Config ``hcp.cleaning``: for an fMRIPrep run, the confounds of its ``strategy`` and ``compare_strategies``
        (:func:`strategies_of`, :func:`strategy_arguments`) are loaded; unused for an S1200 run.

    Returns
    -------
    dict
        ``data`` (numpy.ndarray of float32, shape (frames, 91282)), ``motion`` (float64, shape (frames, 12): the 6
        parameters, mm and degrees for an S1200 run but mm and radians for an fMRIPrep run, then their derivatives),
        ``fd`` (float64, shape (frames,), mm), ``tr`` (float, seconds), ``blocks`` (list of (onset, duration,
        condition) tuples, sorted by onset), ``nuisance`` (dict) and ``unbuilt`` (dict of str to str).

    Raises
    ------
    HCPDataError
        The first problem found, naming the subject, task, run and file (a compared strategy that cannot be built is
        not one).
    ConfigError
        For an fMRIPrep run, if a strategy of ``cleaning`` is unknown (before any file is read).
    """
    if layout(run) == "fmriprep":
        strategies = strategy_arguments(cleaning, strategies_of(cleaning))
        return bids.load_run(run, subject, strategies, required=cleaning["strategy"])
    data, motion = io.load_run(run, subject, run["task"], run["run"], tr, FRAMES.get(run["task"]))
    blocks = io.read_blocks(run, subject, len(data), tr)
    return {
        "data": data,
        "motion": motion,
        "fd": framewise_displacement(motion),
        "tr": tr,
        "blocks": blocks,
        "nuisance": {},
        "unbuilt": {},
    }


def run_files(run: dict) -> list[str]:
    """The input files of a run, whichever its layout.

    Parameters
    ----------
    run : dict
        An entry of ``io.subject_runs`` or ``bids.subject_runs``.

    Returns
    -------
    list of str
        :func:`.bids.run_files` or :func:`.io.run_files` of it.
    """
    return bids.run_files(run) if layout(run) == "fmriprep" else io.run_files(run)


def check_subject(subject, runs, tr: float, cleaning: dict) -> dict:
    """Validate every run of a subject: ``{'subject', 'ok', 'runs': [status rows]}``; a data problem of a run
    (:class:`HCPDataError`, whatever the file) is its row's status, not raised.

    Each row: subject, task, run, dtseries, status (``ok`` | ``error`` | ``absent``: an fMRIPrep subject with no
    run of a task), message and, when ok, the frame count,
    framewise displacement (mean, max) and, for an fMRIPrep run, its TR and the compared strategies its confounds
    table cannot build (``strategies_unbuilt``: ``name: what it lacks``, ``; ``-separated; empty when none); when
    not, ``file`` and ``problem`` (the :class:`HCPDataError`'s).

    Parameters
    ----------
    subject : str
        Subject ID or label.
    runs : iterable of dict
        The subject's runs (entries of ``io.subject_runs`` or ``bids.subject_runs``).
    tr : float
        Config ``hcp.tr`` in seconds (see :func:`load`).
    cleaning : dict
        Config ``hcp.cleaning`` (see :func:`load`).

    Returns
    -------
    dict
        ``subject`` (str), ``ok`` (whether no row's status is ``error``; True when there is no run) and ``runs`` (the
        rows, in ``runs`` order).  A row: ``subject``, ``task``, ``run``, ``dtseries``, ``session`` (an fMRIPrep
        run's ``ses``, empty otherwise), ``files`` (:func:`run_files`), ``status``, ``message`` (the error's text,
        empty when ok); when ok, ``frames``, ``fd_mean_mm``, ``fd_max_mm`` and, for an fMRIPrep run
        only, ``tr`` and ``strategies_unbuilt``; when not, ``file`` and ``problem``.

    Raises
    ------
    ConfigError
        If a strategy of ``cleaning`` is unknown and a run is an fMRIPrep one: only :class:`HCPDataError` is caught,
        and any other exception propagates.
    """
    rows = []
    for run in runs:
        row = {
            "subject": str(subject),
            "task": run["task"],
            "run": run["run"],
            "dtseries": run["dtseries"],
            "session": run_entities(run).get("ses", "") if not run.get("absent") else "",
            "files": [] if run.get("absent") else run_files(run),
        }
        if run.get("absent"):  # an fMRIPrep subject with no run of this task: not an error of the subject
            row.update(status="absent", message=f"no run of task {run['task']} for this subject")
            rows.append(row)
            continue
        try:
            loaded = load(run, subject, tr, cleaning)
            fd = loaded["fd"]
            row.update(
                status="ok",
                message="",
                frames=len(loaded["data"]),
                fd_mean_mm=float(fd.mean()),
                fd_max_mm=float(fd.max()),
            )
            if layout(run) == "fmriprep":
                row["tr"] = loaded["tr"]
                row["strategies_unbuilt"] = "; ".join(f"{n}: {p}" for n, p in loaded["unbuilt"].items())
        except HCPDataError as exc:
            row.update(status="error", message=str(exc), file=exc.path, problem=exc.problem)
        rows.append(row)
    return {"subject": str(subject), "ok": all(r["status"] != "error" for r in rows), "runs": rows}
