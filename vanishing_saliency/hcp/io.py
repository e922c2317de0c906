"""The raw HCP layout, and loading one run with every check a user's data needs.

``<root>/<subject>/MNINonLinear/Results/tfMRI_<TASK>_<DIR>/`` holds
``tfMRI_<TASK>_<DIR><suffix>.dtseries.nii``, ``Movement_Regressors.txt`` and
``EVs/*.txt``.  Every problem raises :class:`HCPDataError` naming the subject,
task, run and file, and what was expected.
"""

from __future__ import annotations

import itertools
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import ConfigError, HCPDataError
from .geometry import N_CORTEX, N_GRAYORDINATES, SUBCORTICAL
from .tasks import BLOCK_EVS

CIFTI_EXTENSION_CODE = 32  # the NIfTI extension code of CIFTI-2's XML

# (structure, grayordinates) of the HCP 91k space, in file order
EXPECTED_LAYOUT = [("CORTEX_LEFT", 29696), ("CORTEX_RIGHT", 29716), *SUBCORTICAL]


def run_dir(root, subject: str, task: str, direction: str) -> Path:
    """The folder of one run: ``<root>/<subject>/MNINonLinear/Results/tfMRI_<task>_<direction>``.

    Parameters
    ----------
    root : str or path-like
        The HCP tree's root folder (config ``hcp.root``).
    subject : str
        Subject ID.
    task : str
        Task name as in the folder names (``GAMBLING``, ``RELATIONAL``, ``WM``).
    direction : str
        Phase-encoding direction of the run (``LR`` or ``RL``).

    Returns
    -------
    pathlib.Path
        The run's folder (whether or not it exists).
    """
    return Path(root) / str(subject) / "MNINonLinear" / "Results" / f"tfMRI_{task}_{direction}"


def run_paths(root, subject, task, direction, suffix: str = "_Atlas_MSMAll") -> dict:
    """The paths of one run's raw files, in :func:`run_dir`.

    Parameters
    ----------
    root : str or path-like
        The HCP tree's root folder.
    subject, task, direction : str
        Subject ID, task and phase-encoding direction of the run (see :func:`run_dir`).
    suffix : str, default "_Atlas_MSMAll"
        File-name suffix of the dense time series (config ``hcp.dtseries_suffix``).

    Returns
    -------
    dict of str to pathlib.Path
        ``dir`` (the run's folder), ``dtseries`` (``tfMRI_<task>_<direction><suffix>.dtseries.nii``), ``motion``
        (``Movement_Regressors.txt``) and ``evs`` (the ``EVs`` folder).
    """
    d = run_dir(root, subject, task, direction)
    return {
        "dir": d,
        "dtseries": d / f"tfMRI_{task}_{direction}{suffix}.dtseries.nii",
        "motion": d / "Movement_Regressors.txt",
        "evs": d / "EVs",
    }


def subject_runs(root, subject, tasks, directions, suffix: str = "_Atlas_MSMAll") -> list[dict]:
    """Every run the workflow reads for one subject, in task-then-direction order: ``task``,
    ``run``, and the paths of its ``dtseries``, ``motion`` regressors and block EV files
    (``evs``: condition -> path), as strings (they travel as rule params).

    Parameters
    ----------
    root : str or path-like
        The HCP tree's root folder.
    subject : str
        Subject ID.
    tasks : iterable of str
        Tasks, keys of ``hcp.tasks.BLOCK_EVS`` (``GAMBLING``, ``RELATIONAL``, ``WM``).
    directions : iterable of str
        Phase-encoding directions (``LR``, ``RL``).
    suffix : str, default "_Atlas_MSMAll"
        File-name suffix of the dense time series.

    Returns
    -------
    list of dict
        One dict per run: ``task``, ``run`` (the direction), ``dtseries`` and ``motion`` (str), ``evs`` (dict of
        condition to str, the task's block conditions ``BLOCK_EVS[task]``).
    """

    out = []
    for task in tasks:
        for direction in directions:
            paths = run_paths(root, subject, task, direction, suffix)
            out.append(
                {
                    "task": task,
                    "run": direction,
                    "dtseries": str(paths["dtseries"]),
                    "motion": str(paths["motion"]),
                    "evs": {c: str(paths["evs"] / f"{c}.txt") for c in BLOCK_EVS[task]},
                }
            )
    return out


def run_files(run: dict) -> list[str]:
    """The raw files of one run of ``subject_runs``: dense time series, motion regressors, block EV files.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`.

    Returns
    -------
    list of str
        The run's ``dtseries`` and ``motion`` paths, then its EV files in condition order.
    """
    return [run["dtseries"], run["motion"], *run["evs"].values()]


def raw_files(root, subject, tasks, directions, suffix: str = "_Atlas_MSMAll") -> list[Path]:
    """Every raw file the workflow reads for one subject: dense time series, motion regressors and
    block EV files of each run (what ``hcp_check`` and ``hcp_preprocess`` open).

    Parameters
    ----------
    root : str or path-like
        The HCP tree's root folder.
    subject : str
        Subject ID.
    tasks, directions : iterable of str
        Tasks and phase-encoding directions (see :func:`subject_runs`).
    suffix : str, default "_Atlas_MSMAll"
        File-name suffix of the dense time series.

    Returns
    -------
    list of pathlib.Path
        The files of every run, in :func:`subject_runs`'s order, each run's as :func:`run_files` lists them.
    """
    return [Path(p) for r in subject_runs(root, subject, tasks, directions, suffix) for p in run_files(r)]


SUBJECT_ID = re.compile(r"^[A-Za-z0-9]+$")


def discover_subjects(root) -> tuple[list[str], list[str]]:
    """(subjects, skipped): folders under ``root`` with an ``MNINonLinear/Results`` folder whose names
    are subject IDs (letters and digits: the workflow's file names carry them), and the other folders
    that hold one (``100002_v2``...), which are skipped.

    Parameters
    ----------
    root : str or path-like
        The HCP tree's root folder (config ``hcp.root``).

    Returns
    -------
    subjects : list of str
        Folder names that are subject IDs, sorted.
    skipped : list of str
        The other folders with ``MNINonLinear/Results``, sorted.

    Raises
    ------
    ConfigError
        If ``root`` is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"hcp.root {root} is not a directory")
    found = sorted(p.name for p in root.iterdir() if (p / "MNINonLinear" / "Results").is_dir())
    return [s for s in found if SUBJECT_ID.match(s)], [s for s in found if not SUBJECT_ID.match(s)]


def read_dtseries(path):
    """(data (frames, grayordinates) float32, series index map, brain-model index map) of a CIFTI-2 file.

    nibabel reads the NIfTI-2 file and hands over the CIFTI-2 extension's XML as bytes; the two index
    maps are parsed with the standard library's (C) XML parser, as elements with the CIFTI-2 attribute
    names.  nibabel's Cifti2Image would also build, deep-copy and re-parse the 91282-entry brain-model
    mapping in Python (about 0.8 s of every run's 1.2 s here), which no check needs.

    Parameters
    ----------
    path : str or path-like
        A CIFTI-2 file (``.dtseries.nii``), read whole into memory (no memory map).

    Returns
    -------
    data : numpy.ndarray of float32, shape (frames, grayordinates)
        The time series.
    series_map : xml.etree.ElementTree.Element
        The ``MatrixIndicesMap`` of dimension 0 (the series axis: ``SeriesStep`` and so on).
    brain_map : xml.etree.ElementTree.Element
        The ``MatrixIndicesMap`` of dimension 1 (the brain models).

    Raises
    ------
    ValueError
        If the NIfTI-2 header has no CIFTI-2 extension, or the file does not have exactly the two index maps
        (dimensions 0 and 1) and a ``(1, 1, 1, 1, frames, grayordinates)`` shape.
    """

    # read into memory (no memory map): parcellation then gathers from RAM, not page faults
    img = nib.Nifti2Image.from_filename(str(path), mmap=False)
    xml = [e.content for e in img.header.extensions if e.get_code() == CIFTI_EXTENSION_CODE]
    if not xml:
        raise ValueError("no CIFTI-2 extension in the NIfTI-2 header")
    maps = {m.get("AppliesToMatrixDimension"): m for m in ET.fromstring(xml[0]).iter("MatrixIndicesMap")}
    if set(maps) != {"0", "1"} or img.ndim != 6 or img.shape[:4] != (1, 1, 1, 1):
        raise ValueError(f"expected two CIFTI-2 dimensions, found index maps {sorted(maps)} and shape {img.shape}")
    return np.asarray(img.dataobj, dtype=np.float32).reshape(img.shape[4:]), maps["0"], maps["1"]


def read_checked_dtseries(path, fail, tr: float, tr_source: str) -> np.ndarray:
    """A run's dense time series (frames, 91282) float32, after the checks both layouts need: readable CIFTI-2, a
    dense series at ``tr`` (within 1e-4 s), on the HCP 91k grayordinates in their file order.

    Parameters
    ----------
    path : str or path-like
        The ``.dtseries.nii`` file.
    fail : callable
        Called with the problem (str) when a check fails; it must raise (the caller's error names the run).
    tr : float
        The expected repetition time in seconds.
    tr_source : str
        Where ``tr`` comes from, for the message (``config hcp.tr``, a sidecar's path).

    Returns
    -------
    numpy.ndarray of float32, shape (frames, 91282)
        The time series.
    """
    if not Path(path).is_file():
        fail("missing dense time series (expected a CIFTI-2 .dtseries.nii)")
    try:
        data, series_map, brain_map = read_dtseries(path)
    except Exception as exc:  # nibabel and the XML parser raise many types for truncated/corrupt files
        fail(f"cannot be read as CIFTI-2 ({type(exc).__name__}: {exc}); truncated or corrupt?")
    if (
        series_map.get("IndicesMapToDataType") != "CIFTI_INDEX_TYPE_SERIES"
        or brain_map.get("IndicesMapToDataType") != "CIFTI_INDEX_TYPE_BRAIN_MODELS"
    ):
        fail("expected a dense time series (series x brain models axes)")
    step = float(series_map.get("SeriesStep", "nan"))
    if not abs(step - tr) <= 1e-4:
        fail(f"has TR {step:g} s in its SeriesAxis, expected {tr:g} s ({tr_source})")
    if data.shape[1] != N_GRAYORDINATES:
        fail(f"has {data.shape[1]} grayordinates, expected {N_GRAYORDINATES} (the HCP 91k space, fsLR den-91k)")
    layout = [
        (bm.get("BrainStructure", "").removeprefix("CIFTI_STRUCTURE_"), int(bm.get("IndexCount", -1)))
        for bm in brain_map.iter("BrainModel")
    ]
    if layout != EXPECTED_LAYOUT:
        wrong = next(
            (
                f"{got} where {want} was expected"
                for got, want in zip(layout, EXPECTED_LAYOUT, strict=False)
                if got != want
            ),
            f"{len(layout)} brain models where {len(EXPECTED_LAYOUT)} were expected",
        )
        fail(f"brain-model layout differs from the HCP 91k grayordinates: {wrong} (structure, grayordinates)")
    if not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))
        fail(f"holds {len(bad)} non-finite values (first at frame {bad[0][0]}, grayordinate {bad[0][1]})")
    constant = np.ptp(data[:, :N_CORTEX], axis=0) == 0
    if constant.mean() > 0.01:
        fail(
            f"is constant over time in {int(constant.sum())} of {N_CORTEX} cortical grayordinates (first: "
            f"{int(np.argmax(constant))}); expected a BOLD time series"
        )
    return data


def load_run(paths: dict, subject, task, direction, tr: float, expected_frames: int | None = None):
    """(data (frames, 91282) float32, motion (frames, 12)) after every check.

    Parameters
    ----------
    paths : dict
        The run's ``dtseries`` and ``motion`` paths (an entry of :func:`subject_runs`, or :func:`run_paths`).
    subject, task, direction : str
        Subject ID, task and phase-encoding direction of the run (they name it in an error).
    tr : float
        Expected repetition time in seconds (config ``hcp.tr``); the file's ``SeriesStep`` must match within 1e-4 s.
    expected_frames : int, optional
        The protocol's frame count of a run of ``task``; None: any count (the two files must still agree).

    Returns
    -------
    data : numpy.ndarray of float32, shape (frames, 91282)
        The dense time series, in the HCP 91k grayordinates.
    motion : numpy.ndarray of float64, shape (frames, 12)
        The motion regressors (6 parameters and their derivatives), one row per frame.

    Raises
    ------
    HCPDataError
        If a file is missing or unreadable, the time series is not a dense series in the 91k space at ``tr``, the
        motion table is empty or not 12 numeric columns, the frame counts disagree (with each other or with
        ``expected_frames``), a value is not finite, or more than 1 % of the cortical grayordinates are constant.
    """

    def fail(path, problem):
        raise HCPDataError(subject, task, direction, path, problem)

    dts, mot = paths["dtseries"], paths["motion"]
    data = read_checked_dtseries(dts, lambda problem: fail(dts, problem), tr, "config hcp.tr")
    if not Path(mot).is_file():
        fail(mot, "missing motion regressors")
    try:
        motion = np.loadtxt(mot, ndmin=2)
    except ValueError as exc:
        fail(mot, f"is not a numeric table ({exc})")
    if motion.size == 0:
        fail(mot, "is empty (expected one row of 12 motion regressors per frame)")
    if motion.shape[1] != 12:
        fail(mot, f"has {motion.shape[1]} columns, expected 12 (6 motion parameters and their derivatives)")
    frames, rows = data.shape[0], motion.shape[0]
    protocol = f"an HCP {task} run has {expected_frames} frames" if expected_frames is not None else None
    if rows != frames:
        if expected_frames is not None and rows == expected_frames:  # the motion file has the run's length
            fail(
                dts,
                f"has {frames} frames, but the run's motion regressors ({Path(mot).name}) have {rows} rows, one per "
                f"frame, and {protocol}: truncated?",
            )
        fail(
            mot,
            f"has {rows} rows but the dense time series ({Path(dts).name}) has {frames} frames (one row per frame)"
            + (f"; {protocol}" if protocol else ""),
        )
    if expected_frames is not None and frames != expected_frames:
        fail(dts, f"has {frames} frames (and {Path(mot).name} as many rows), but {protocol}")
    if not np.isfinite(motion).all():
        fail(mot, "holds non-finite values")
    return data, motion


def read_ev(path, subject, task, direction, run_seconds: float) -> np.ndarray:
    """FSL three-column EV file -> (n, 3) onsets, durations, amplitudes; checked against the run.

    Parameters
    ----------
    path : str or path-like
        The EV file.
    subject, task, direction : str
        Subject ID, task and phase-encoding direction of the run (they name it in an error).
    run_seconds : float
        Length of the run in seconds: every block must end by then (to within 1e-6 s).

    Returns
    -------
    numpy.ndarray of float64, shape (n, 3)
        One row per block: onset (s), duration (s), amplitude.

    Raises
    ------
    HCPDataError
        If the file is missing, malformed, empty, not three columns or not finite, or a block starts before 0 s,
        has a duration that is not positive or ends after ``run_seconds``.
    """
    path = Path(path)

    def fail(problem):
        raise HCPDataError(subject, task, direction, path, problem)

    if not path.is_file():
        fail("missing EV file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file is reported below
            ev = np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        fail(f"malformed EV file ({exc})")
    if ev.size == 0:
        fail("empty EV file (expected onset, duration, amplitude rows)")
    if ev.shape[1] != 3:
        fail(f"has {ev.shape[1]} columns, expected 3 (onset, duration, amplitude)")
    if not np.isfinite(ev).all():
        fail("holds non-finite values")

    def row(i):
        return f"row {i + 1} (onset {ev[i, 0]:g} s, duration {ev[i, 1]:g} s)"

    for i in range(len(ev)):
        if ev[i, 0] < 0:
            fail(f"{row(i)}: onset before the start of the run (0 s)")
        if ev[i, 1] <= 0:
            fail(f"{row(i)}: duration is not positive (a block needs a duration above 0 s)")
        if ev[i, 0] + ev[i, 1] > run_seconds + 1e-6:
            fail(f"{row(i)}: ends at {ev[i, 0] + ev[i, 1]:.2f} s, after the end of the run ({run_seconds:.2f} s)")
    return ev


def read_blocks(run: dict, subject, n_frames: int, tr: float) -> list[tuple]:
    """[(onset, duration, condition)] of a run's task blocks from its block EV files, sorted by onset;
    two blocks that repeat or overlap (within a file or across the task's files) are an error naming both.

    Parameters
    ----------
    run : dict
        One entry of :func:`subject_runs`.
    subject : str
        Subject ID (it names the run in an error).
    n_frames : int
        Frames of the run: with ``tr``, its length ``n_frames * tr`` seconds that every block must end within.
    tr : float
        Repetition time in seconds.

    Returns
    -------
    list of tuple
        ``(onset, duration, condition)`` of every block (seconds, seconds, str), sorted by onset.

    Raises
    ------
    HCPDataError
        If an EV file fails :func:`read_ev`'s checks, or two blocks repeat or overlap (by more than 0.01 s).
    """
    rows = []
    for cond, path in run["evs"].items():
        ev = read_ev(path, subject, run["task"], run["run"], n_frames * tr)
        rows += [(on, dur, cond, path) for on, dur, _ in ev]
    rows.sort()
    for (on_a, dur_a, cond_a, path_a), (on_b, dur_b, cond_b, path_b) in itertools.pairwise(rows):
        if on_b < on_a + dur_a - 0.01:  # EV files print 3 decimals: contiguous blocks may touch
            what = "repeats" if abs(on_b - on_a) < 0.01 and abs(dur_b - dur_a) < 0.01 else "overlaps"
            where = f"{path_b}" if path_a == path_b else f"{path_a} and {path_b}"
            raise HCPDataError(
                subject,
                run["task"],
                run["run"],
                where,
                f"the {cond_b} block at {on_b:g} s {what} the {cond_a} block at {on_a:g} s "
                f"(ending at {on_a + dur_a:g} s); blocks must not overlap",
            )
    return [(on, dur, cond) for on, dur, cond, _ in rows]
