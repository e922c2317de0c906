"""The raw HCP layout, and loading one run with every check a user's data needs.

``<root>/<subject>/MNINonLinear/Results/tfMRI_<TASK>_<DIR>/`` holds
``tfMRI_<TASK>_<DIR><suffix>.dtseries.nii``, ``Movement_Regressors.txt`` and
``EVs/*.txt``.  Every problem raises :class:`HCPDataError` naming the subject,
task, run and file, and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import DataError, HCPDataError
from .geometry import N_GRAYORDINATES


def run_dir(root, subject: str, task: str, direction: str) -> Path:
    return Path(root) / str(subject) / "MNINonLinear" / "Results" / f"tfMRI_{task}_{direction}"


def run_paths(root, subject, task, direction, suffix: str = "_Atlas_MSMAll") -> dict:
    d = run_dir(root, subject, task, direction)
    return {"dir": d, "dtseries": d / f"tfMRI_{task}_{direction}{suffix}.dtseries.nii",
            "motion": d / "Movement_Regressors.txt", "evs": d / "EVs"}


def subject_runs(root, subject, tasks, directions, suffix: str = "_Atlas_MSMAll") -> list[dict]:
    """Every run the workflow reads for one subject, in task-then-direction order: ``task``,
    ``run``, and the paths of its ``dtseries``, ``motion`` regressors and block EV files
    (``evs``: condition -> path), as strings (they travel as rule params)."""
    from .blocks import BLOCK_EVS

    out = []
    for task in tasks:
        for direction in directions:
            paths = run_paths(root, subject, task, direction, suffix)
            out.append({"task": task, "run": direction, "dtseries": str(paths["dtseries"]),
                        "motion": str(paths["motion"]),
                        "evs": {c: str(paths["evs"] / f"{c}.txt") for c in BLOCK_EVS[task]}})
    return out


def raw_files(root, subject, tasks, directions, suffix: str = "_Atlas_MSMAll") -> list[Path]:
    """Every raw file the workflow reads for one subject: dense time series, motion regressors and
    block EV files of each run (what ``hcp_check`` and ``hcp_preprocess`` open)."""
    return [Path(p) for r in subject_runs(root, subject, tasks, directions, suffix)
            for p in (r["dtseries"], r["motion"], *r["evs"].values())]


def discover_subjects(root) -> list[str]:
    """Subject folders under ``root`` that have an ``MNINonLinear/Results`` folder."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"hcp.root {root} is not a directory")
    return sorted(p.name for p in root.iterdir() if (p / "MNINonLinear" / "Results").is_dir())


def load_run(paths: dict, subject, task, direction, tr: float, expected_frames: int | None = None):
    """(data (frames, 91282) float32, motion (frames, 12)) after every check."""
    def fail(path, problem):
        raise HCPDataError(subject, task, direction, path, problem)

    dts, mot = paths["dtseries"], paths["motion"]
    if not Path(dts).is_file():
        fail(dts, "missing dense time series (expected a CIFTI-2 .dtseries.nii)")
    try:
        # read into memory (no memory map): parcellation then gathers from RAM, not page faults
        img = nib.load(str(dts), mmap=False)
        series_map, brain_map = (img.header.matrix.get_index_map(i) for i in range(2))
        data = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:  # nibabel raises many types for truncated/corrupt files
        fail(dts, f"cannot be read as CIFTI-2 ({type(exc).__name__}: {exc}); truncated or corrupt?")
    # the index maps, not full Axis objects: building a BrainModelAxis costs ~0.2 s per run
    if (series_map.indices_map_to_data_type != "CIFTI_INDEX_TYPE_SERIES"
            or brain_map.indices_map_to_data_type != "CIFTI_INDEX_TYPE_BRAIN_MODELS"):
        fail(dts, "expected a dense time series (series x brain models axes)")
    if abs(series_map.series_step - tr) > 1e-4:
        fail(dts, f"has TR {series_map.series_step:g} s in its SeriesAxis, expected {tr:g} s (config hcp.tr)")
    if data.shape[1] != N_GRAYORDINATES:
        fail(dts, f"has {data.shape[1]} grayordinates, expected {N_GRAYORDINATES} (the HCP 91k space)")
    if expected_frames is not None and data.shape[0] != expected_frames:
        fail(dts, f"has {data.shape[0]} frames, expected {expected_frames} for {task}")
    if not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))
        fail(dts, f"holds {len(bad)} non-finite values (first at frame {bad[0][0]}, grayordinate {bad[0][1]})")
    if not Path(mot).is_file():
        fail(mot, "missing motion regressors")
    try:
        motion = np.loadtxt(mot, ndmin=2)
    except ValueError as exc:
        fail(mot, f"is not a numeric table ({exc})")
    if motion.shape[1] != 12:
        fail(mot, f"has {motion.shape[1]} columns, expected 12 (6 motion parameters and their derivatives)")
    if motion.shape[0] != data.shape[0]:
        fail(mot, f"has {motion.shape[0]} rows but the dense time series has {data.shape[0]} frames")
    if not np.isfinite(motion).all():
        fail(mot, "holds non-finite values")
    return data, motion


def read_ev(path, subject, task, direction, run_seconds: float) -> np.ndarray:
    """FSL three-column EV file -> (n, 3) onsets, durations, amplitudes; checked against the run."""
    path = Path(path)
    if not path.is_file():
        raise HCPDataError(subject, task, direction, path, "missing EV file")
    try:
        ev = np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        raise HCPDataError(subject, task, direction, path, f"malformed EV file ({exc})") from None
    if ev.size == 0:
        raise HCPDataError(subject, task, direction, path, "empty EV file (expected onset, duration, amplitude rows)")
    if ev.shape[1] != 3:
        raise HCPDataError(subject, task, direction, path, f"has {ev.shape[1]} columns, expected 3 (onset, duration, amplitude)")
    if np.any(ev[:, 0] < 0) or np.any(ev[:, 0] + ev[:, 1] > run_seconds + 1e-6):
        raise HCPDataError(subject, task, direction, path,
                           f"has blocks beyond the run (run length {run_seconds:.2f} s; latest end "
                           f"{(ev[:, 0] + ev[:, 1]).max():.2f} s)")
    return ev


def read_blocks(run: dict, subject, n_frames: int, tr: float) -> list[tuple]:
    """[(onset, duration, condition)] of a run's task blocks from its block EV files, sorted by onset.

    ``run``: one entry of :func:`subject_runs`."""
    rows = []
    for cond, path in run["evs"].items():
        ev = read_ev(path, subject, run["task"], run["run"], n_frames * tr)
        rows += [(on, dur, cond) for on, dur, _ in ev]
    return sorted(rows)


def check_subject(subject, runs, tr: float, expected_frames: dict) -> dict:
    """Validate every run of a subject without raising: ``{'subject', 'ok', 'runs': [status rows]}``.

    Each row: subject, task, run, dtseries, status (``ok`` | ``error``), message and, when ok, the
    frame count and framewise displacement (mean, max)."""
    from .clean import framewise_displacement

    rows = []
    for run in runs:
        task, direction = run["task"], run["run"]
        row = {"subject": str(subject), "task": task, "run": direction, "dtseries": run["dtseries"]}
        try:
            data, motion = load_run(run, subject, task, direction, tr, expected_frames[task])
            read_blocks(run, subject, len(data), tr)
            fd = framewise_displacement(motion)
            row.update(status="ok", message="", frames=len(data), fd_mean_mm=float(fd.mean()),
                       fd_max_mm=float(fd.max()))
        except HCPDataError as exc:
            row.update(status="error", message=str(exc))
        rows.append(row)
    return {"subject": str(subject), "ok": all(r["status"] == "ok" for r in rows), "runs": rows}
