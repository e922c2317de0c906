"""Task blocks from EV files, and the samples of the paper's HCP experiments.

Frames of a block: from ``ceil((onset + shift) / TR)`` up to (not including)
``ceil((onset + duration + shift) / TR)``; ``shift`` (config
``hcp.blocks.hrf_shift_s``) delays the window for the haemodynamic lag.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from .geometry import FRAMES, TR
from .simulate import hrf, neural_boxcar
from .tasks import LAYOUT


def block_frames(onsets, durations, n_frames: int, shift_s: float = 0.0, tr: float = TR):
    """[(start, end)] frame ranges of blocks, clipped to the run, sorted by onset."""
    out = []
    for on, dur in sorted(zip(onsets, durations, strict=True)):
        start = int(np.ceil((on + shift_s) / tr - 1e-9))
        end = min(int(np.ceil((on + dur + shift_s) / tr - 1e-9)), n_frames)
        if end > start:
            out.append((start, end))
    return out


def active_mask(ranges, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, bool)
    for a, b in ranges:
        mask[a:b] = True
    return mask


def on_task_samples(ts: np.ndarray, ranges):
    """Each active block's frames: list of (frames, 360) arrays (variable length) and their start frames."""
    return [ts[a:b] for a, b in ranges], [a for a, _ in ranges]


def on_off_samples(ts: np.ndarray, ranges, on_frames: int = 38, off_frames: int = 10):
    """The last ``on_frames`` frames of an active block followed by the next ``off_frames`` frames,
    for blocks whose following frames are all off-task (non-active) and inside the run."""
    mask = active_mask(ranges, len(ts))
    samples, starts = [], []
    for a, b in ranges:
        if b - a < on_frames or b + off_frames > len(ts) or mask[b : b + off_frames].any():
            continue
        samples.append(ts[b - on_frames : b + off_frames])
        starts.append(b - on_frames)
    return samples, starts


def off_task_samples(ts: np.ndarray, ranges, off_frames: int = 10):
    """Only the ``off_frames`` non-active frames after each block (the control experiment)."""
    mask = active_mask(ranges, len(ts))
    samples, starts = [], []
    for _, b in ranges:
        if b + off_frames > len(ts) or mask[b : b + off_frames].any():
            continue
        samples.append(ts[b : b + off_frames])
        starts.append(b)
    return samples, starts


def pad(samples, n_features: int = 360):
    """Stack variable-length samples: (n, T_max, features) zero-padded, and lengths."""
    lengths = np.array([len(s) for s in samples], dtype=np.int64)
    out = np.zeros((len(samples), int(lengths.max(initial=0)), n_features), np.float32)
    for i, s in enumerate(samples):
        out[i, : len(s)] = s
    return out, lengths


KINDS = ("on_task", "on_off", "off_task")
BASELINES = ("run", "rest")


def rest_standardised(ts: np.ndarray, ranges) -> np.ndarray:
    """A run re-standardised per area by the mean and sd of its frames outside the (shifted) blocks.

    Whole-run z-scoring puts a run's rest frames below the run's mean in the areas its task
    drives, by an amount set by how much of the run the task fills: a task signature in every
    rest frame.  Here rest frames have mean 0 and sd 1 in every area."""
    rest = ~active_mask(ranges, len(ts))
    sd = ts[rest].std(0)
    return (ts - ts[rest].mean(0)) / np.where(sd > 0, sd, 1.0)


def experiment_samples(
    runs,
    kind: str,
    tasks,
    shift_s: float,
    on_frames: int,
    off_frames: int,
    frames: int | None = None,
    baseline: str = "run",
    max_censored: float = 1.0,
) -> dict:
    """The samples of one experiment from parcellated runs.

    ``kind``: ``on_task`` (each active block; with ``frames``, its first ``frames`` frames, shorter
    blocks dropped, so every sample has the same length), ``on_off`` or ``off_task``.  ``baseline``:
    ``run`` (the whole-run z-scored series) or ``rest`` (see :func:`rest_standardised`).
    ``runs``: dicts with ``timeseries`` (frames, 360), ``task``, ``subject``, ``run``, ``tr``,
    ``block_onset_s`` and ``block_duration_s``; runs of other tasks are skipped.  Returns the
    arrays of the samples file: ``data`` (n, T_max, 360) zero-padded, ``lengths``, ``labels``
    (index into ``tasks``), ``subjects``, ``runs``, ``block_start_frame`` and ``on_mask`` (True on
    frames inside an active block: every valid frame of an on_task sample, the first
    ``on_frames`` of an on_off sample, none of the off_task control).  A run may carry ``censored``
    (bool per frame, see :mod:`.clean`): samples with a larger share of censored frames than
    ``max_censored`` are dropped; ``dropped`` counts them per subject.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown experiment kind {kind!r}; known: {', '.join(KINDS)}")
    samples, labels, subjects, run_names, starts = [], [], [], [], []
    dropped = {}
    n_runs = 0
    for r in runs:
        n_runs += 1
        task = r["task"]
        if task not in tasks:
            continue
        ts = r["timeseries"]
        ranges = block_frames(r["block_onset_s"], r["block_duration_s"], len(ts), shift_s, float(r["tr"]))
        if baseline == "rest":
            ts = rest_standardised(ts, ranges)
        if kind == "on_task":
            if frames is not None:
                ranges_ = [(a, a + frames) for a, b in ranges if b - a >= frames]
                s, st = on_task_samples(ts, ranges_)
            else:
                s, st = on_task_samples(ts, ranges)
        elif kind == "on_off":
            s, st = on_off_samples(ts, ranges, on_frames, off_frames)
        else:
            s, st = off_task_samples(ts, ranges, off_frames)
        if r.get("censored") is not None:
            censored = np.asarray(r["censored"], bool)
            keep = [censored[a : a + len(x)].mean() <= max_censored for x, a in zip(s, st, strict=True)]
            dropped[str(r["subject"])] = dropped.get(str(r["subject"]), 0) + keep.count(False)
            s, st = [x for x, k in zip(s, keep, strict=True) if k], [a for a, k in zip(st, keep, strict=True) if k]
        samples += s
        starts += st
        labels += [list(tasks).index(task)] * len(s)
        subjects += [str(r["subject"])] * len(s)
        run_names += [str(r["run"])] * len(s)
    if not samples:
        raise DataError(f"{kind} experiment: no samples from {n_runs} runs of tasks {list(tasks)}")
    data, lengths = pad(samples)
    on_mask = np.zeros(data.shape[:2], bool)
    if kind == "on_task":
        on_mask = np.arange(data.shape[1])[None, :] < lengths[:, None]
    elif kind == "on_off":
        on_mask[:, :on_frames] = True
    return {
        "data": data,
        "lengths": lengths,
        "labels": np.array(labels),
        "subjects": np.array(subjects),
        "runs": np.array(run_names),
        "block_start_frame": np.array(starts),
        "on_mask": on_mask,
        "dropped": dropped,
    }


def shortest_block_frames(task: str, tr: float = TR) -> int:
    """Frames of the shortest block of a task's protocol (any onset: at least floor(duration / TR))."""

    return int(np.floor(min(d for _, _, d in LAYOUT[task]) / tr + 1e-9))


def check_experiment(name: str, exp: dict, tr: float, shift_s: float, on_frames: int, tasks_run) -> None:
    """Config checks of one experiment against the HCP protocol's block timing (ConfigError naming the key)."""

    key = f"hcp.experiments.{name}"
    missing = [t for t in exp["tasks"] if t not in tasks_run]
    if missing:
        raise ConfigError(
            f"{key}.tasks uses {', '.join(missing)}, which hcp.tasks does not preprocess "
            f"(hcp.tasks: {', '.join(tasks_run)}); add it there or choose other tasks"
        )
    if exp.get("frames") is not None:
        if exp["kind"] != "on_task":
            raise ConfigError(f"{key}.frames is set but {key}.kind is {exp['kind']!r}: only on_task samples are cut")
        known = [t for t in exp["tasks"] if t in LAYOUT]  # another dataset's task: its blocks are known per run
        shortest = min((shortest_block_frames(t, tr) for t in known), default=exp["frames"])
        if exp["frames"] > shortest:
            raise ConfigError(
                f"{key}.frames = {exp['frames']} is longer than the shortest block of "
                f"{', '.join(exp['tasks'])} ({shortest} frames of {tr:g} s): use at most {shortest}"
            )
    for task in (t for t in exp["tasks"] if t in LAYOUT):
        run_s = FRAMES[task] * tr
        last_end = max(on + d for _, on, d in LAYOUT[task])
        if last_end + shift_s > run_s:
            raise ConfigError(
                f"{key}: an HRF shift of {shift_s:g} s pushes the last {task} block (ending at "
                f"{last_end:g} s) past the end of the run ({run_s:g} s); use a shift of at most "
                f"{run_s - last_end:g} s (hcp.blocks.hrf_shift_s or {key}.hrf_shift_s)"
            )


def split_subjects(subjects, seed: int, ratio=(566, 183), val_fraction: float = 0.1):
    """Deterministic subject-wise split: dict subject -> 'train' | 'val' | 'test'.

    ``ratio`` is train:test (the paper's 566:183); the validation subjects are
    then drawn from the training subjects.
    """
    subjects = sorted(set(map(str, subjects)))
    if len(subjects) < 3:
        raise ConfigError(f"hcp: need at least 3 subjects to split into train/val/test, got {len(subjects)}")
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(subjects))
    n_test = max(1, int(round(len(subjects) * ratio[1] / sum(ratio))))
    n_val = max(1, int(round((len(subjects) - n_test) * val_fraction)))
    sets = {s: "test" for s in order[:n_test]}
    sets.update({s: "val" for s in order[n_test : n_test + n_val]})
    sets.update({s: "train" for s in order[n_test + n_val :]})
    return dict(sorted(sets.items()))


def task_regressor(blocks, n_frames: int, tr: float = TR, kernel: np.ndarray | None = None) -> np.ndarray:
    """A run's task regressor: its blocks [(onset, duration)] as a boxcar convolved with nilearn's SPM
    haemodynamic response (``kernel``: ``hrf(tr)`` computed beforehand, else computed here), peak-normalised
    (the QC's measure of how much of the task the confounds would remove)."""

    box = neural_boxcar([(None, on, dur) for on, dur in blocks], n_frames, tr=tr)
    response = np.convolve(box, hrf(tr) if kernel is None else kernel)[:n_frames]
    return response / max(response.max(), 1e-12)
