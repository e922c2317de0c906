"""One run of either input layout, loaded and checked the same way: the S1200 tree (:mod:`.io`) or fMRIPrep
derivatives of a BIDS dataset (:mod:`.bids`).  A run is an entry of ``io.subject_runs`` or ``bids.subject_runs``
(``layout`` says which; the S1200 entries have none)."""

from __future__ import annotations

from ..errors import HCPDataError
from . import bids, io
from .clean import framewise_displacement
from .geometry import FRAMES


def layout(run: dict) -> str:
    """``s1200`` or ``fmriprep``."""
    return run.get("layout", "s1200")


def run_name(run: dict) -> str:
    """The entities that name a run in output file names: ``dir-LR`` (S1200) or the BIDS ones (``ses-1_run-2``)."""
    return run["name"] if layout(run) == "fmriprep" else f"dir-{run['run']}"


def strategy_arguments(cleaning: dict, names) -> dict:
    """nilearn ``load_confounds`` arguments of each strategy name (config ``hcp.cleaning``)."""
    custom = cleaning.get("confound_strategies") or {}
    return {n: bids.confound_arguments(n, custom, cleaning["motion_regression"]) for n in names}


def strategies_of(cleaning: dict) -> list[str]:
    """The chosen strategy, then the compared ones (config ``hcp.cleaning``)."""
    return list(dict.fromkeys([cleaning["strategy"], *cleaning["compare_strategies"]]))


def load(run: dict, subject, tr: float, cleaning: dict) -> dict:
    """A checked run: ``data`` (frames, 91282) float32, ``motion`` (frames, 12), ``fd`` (mm), ``tr`` (s), ``blocks``
    [(onset, duration, condition)] and ``nuisance`` (strategy -> (regressors, scrubbed frames); empty for an S1200
    run, whose regressors the cleaning builds from ``motion`` and the global signal).

    ``tr``: config ``hcp.tr``, what an S1200 run must have (an fMRIPrep run's comes from its sidecars).

    Raises
    ------
    HCPDataError
        The first problem found, naming the subject, task, run and file.
    """
    if layout(run) == "fmriprep":
        return bids.load_run(run, subject, strategy_arguments(cleaning, strategies_of(cleaning)))
    data, motion = io.load_run(run, subject, run["task"], run["run"], tr, FRAMES.get(run["task"]))
    blocks = io.read_blocks(run, subject, len(data), tr)
    return {
        "data": data,
        "motion": motion,
        "fd": framewise_displacement(motion),
        "tr": tr,
        "blocks": blocks,
        "nuisance": {},
    }


def run_files(run: dict) -> list[str]:
    """The input files of a run, whichever its layout."""
    return bids.run_files(run) if layout(run) == "fmriprep" else io.run_files(run)


def check_subject(subject, runs, tr: float, cleaning: dict) -> dict:
    """Validate every run of a subject without raising: ``{'subject', 'ok', 'runs': [status rows]}``.

    Each row: subject, task, run, dtseries, status (``ok`` | ``error``), message and, when ok, the frame count, the
    TR and framewise displacement (mean, max); when not, ``file`` and ``problem`` (the :class:`HCPDataError`'s).
    """
    rows = []
    for run in runs:
        row = {"subject": str(subject), "task": run["task"], "run": run["run"], "dtseries": run["dtseries"]}
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
        except HCPDataError as exc:
            row.update(status="error", message=str(exc), file=exc.path, problem=exc.problem)
        rows.append(row)
    return {"subject": str(subject), "ok": all(r["status"] == "ok" for r in rows), "runs": rows}
