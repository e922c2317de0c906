"""A simulated HCP cohort written in the real raw layout and formats.

Per run: ``tfMRI_<TASK>_<DIR>_Atlas_MSMAll.dtseries.nii`` (CIFTI-2, frames x
91282, SeriesAxis step 0.72 s, intent ConnDenseSeries), ``Movement_Regressors.txt``
(12 columns ``%10.6f``: translations mm, rotations deg, then their backward
differences) and ``EVs/*.txt`` (FSL three-column, tab separated).

The signal of grayordinate ``g`` of area ``a`` at frame ``t`` (every knob in
:class:`SimulationSettings`, config ``hcp.simulate``):

- task response: ``amplitude x r(t)`` in the ``n_responsive_areas`` areas of the run's task
  (disjoint across tasks, the same for every subject), 0 elsewhere; ``r`` is the task's
  block design (1 during the ``response_window`` part of each block, 0 otherwise) convolved
  with nilearn's canonical SPM or Glover haemodynamic response (``hrf``), peak-normalised to 1;
- area noise: AR(1) in time (coefficient ``area_noise_ar``, sd ``area_noise_sd``), shared by
  every grayordinate of an area, so parcel averaging does not remove it (as real fMRI noise
  is spatially correlated);
- grayordinate noise: white, sd ``noise_sd`` (averaging an area's ~165 grayordinates
  shrinks it to ~``noise_sd / 13``);
- motion artefact: the 12 regressors (:func:`motion_regressors`: drift, slow wander, respiration,
  jitter, spikes and ``motion_task_coupling`` x the task regressor) x random loadings of scale
  ``motion_scale`` (only motion regression removes it);
- slow drift: a linear trend and cosines at 0.002 and 0.005 Hz x random loadings of scale
  ``drift_scale`` (only the low-frequency regression removes it);
- a constant baseline of 100.

The ground truth (responsive areas, neural boxes, clean area responses) is saved beside
the cohort.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.cifti2.parse_cifti2 import Cifti2Extension

from ..errors import ConfigError
from ..io import atomic_path, save_npz
from .geometry import FRAMES, N_AREAS, N_CORTEX, N_GRAYORDINATES, TR, brain_model_axis
from .io import run_paths
from .tasks import GAMBLING_EVENTS, LAYOUT, WM_TRIALS


@dataclass
class SimulationSettings:
    """Knobs of the simulator (config key ``hcp.simulate``)."""

    n_responsive_areas: int = 24  # per task
    amplitude: float = 1.0  # task response (noise sd = 1)
    noise_sd: float = 1.0
    area_noise_sd: float = 0.0
    area_noise_ar: float = 0.6
    hrf: str = "spm"
    motion_scale: float = 1.0
    motion_task_coupling: float = 0.005  # artefact amplitude per unit of regressor
    drift_scale: float = 2.0
    response_window: tuple = (0.0, 1.0)  # part of each block with neural activity (fractions)
    jitter_s: float = 1.0
    dtseries_suffix: str = "_Atlas_MSMAll"


def responsive_areas(task: str, n: int, seed: int) -> np.ndarray:
    """Areas (1-360) that respond to a task: disjoint across tasks, the same for every subject."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(N_AREAS) + 1
    k = sorted(FRAMES).index(task)
    return np.sort(perm[k * n : (k + 1) * n])


def hrf(tr: float = TR, kind: str = "spm", length_s: float = 32.0) -> np.ndarray:
    """nilearn's canonical haemodynamic response (``spm`` or ``glover``; peak ~5-6 s, undershoot
    ~15 s), sampled every ``tr``, unit sum."""
    from nilearn.glm.first_level import glover_hrf, spm_hrf

    if kind not in ("spm", "glover"):
        raise ConfigError(f"unknown hcp.simulate.hrf {kind!r} (spm | glover)")
    h = (spm_hrf if kind == "spm" else glover_hrf)(tr, oversampling=1, time_length=length_s)
    return h / h.sum()


def area_noise(n_frames: int, n_areas: int, sd: float, ar: float, rng: np.random.Generator) -> np.ndarray:
    """(frames, areas) AR(1) noise with marginal sd ``sd``."""
    if sd == 0:
        return np.zeros((n_frames, n_areas))
    innovations = rng.normal(0, sd * np.sqrt(1 - ar**2), (n_frames, n_areas))
    out = np.empty_like(innovations)
    out[0] = rng.normal(0, sd, n_areas)
    for t in range(1, n_frames):
        out[t] = ar * out[t - 1] + innovations[t]
    return out


def jittered_blocks(task: str, rng: np.random.Generator, jitter_s: float):
    """[(condition, onset, duration)] for one run: the protocol's blocks, all shifted by one offset drawn
    uniformly within ``jitter_s`` (a run's own timing; contiguous blocks stay contiguous, none overlap)."""
    offset = rng.uniform(-jitter_s, jitter_s)
    return [(c, max(0.0, on + offset), dur) for c, on, dur in LAYOUT[task]]


def neural_boxcar(blocks, n_frames: int, window=(0.0, 1.0), tr: float = TR) -> np.ndarray:
    """1 on frames where the simulated neurons respond, else 0."""
    box = np.zeros(n_frames)
    times = np.arange(n_frames) * tr
    for _, onset, dur in blocks:
        a, b = onset + window[0] * dur, onset + window[1] * dur
        box[(times >= a) & (times < b)] = 1.0
    return box


def motion_regressors(
    n_frames: int, rng: np.random.Generator, task_regressor=None, coupling: float = 0.0, tr: float = TR
) -> np.ndarray:
    """(frames, 12): translations (mm) / rotations (deg) and their backward differences (first row 0),
    as in HCP's Movement_Regressors.txt.

    Each parameter: a linear drift over the run (sd 0.2), a slow mean-reverting wander (sd 0.02,
    time constant 100 s), a respiratory oscillation (0.2-0.35 Hz, amplitude 0.03), frame jitter
    (sd 0.015), spikes on 1 % of frames (sd 0.3), and ``coupling`` x the run's task regressor
    (times a random loading per parameter): the task-correlated motion a real scanner session has
    a little of.  With ``coupling`` 0 the confounds explain about as much of the task as random
    regressors would (``tests/test_hcp.py``)."""
    t = np.arange(n_frames)[:, None] * tr
    x = rng.normal(0, 0.2, 6) * t / max(t[-1, 0], tr)
    a = np.exp(-tr / 100.0)
    wander = np.zeros((n_frames, 6))
    wander[0] = rng.normal(0, 0.02, 6)
    for k in range(1, n_frames):
        wander[k] = a * wander[k - 1] + rng.normal(0, 0.02 * np.sqrt(1 - a * a), 6)
    x = x + wander + 0.03 * np.sin(2 * np.pi * rng.uniform(0.2, 0.35) * t + rng.uniform(0, 2 * np.pi, 6))
    x += rng.normal(0, 0.015, (n_frames, 6))
    spikes = rng.random(n_frames) < 0.01
    x[spikes] += rng.normal(0, 0.3, (int(spikes.sum()), 6))
    if task_regressor is not None and coupling:
        task = np.asarray(task_regressor, np.float64)
        x += coupling * (task - task.mean())[:, None] * rng.normal(0, 1, 6)
    deriv = np.vstack([np.zeros((1, 6)), np.diff(x, axis=0)])
    return np.hstack([x, deriv])


def drift_terms(n_frames: int, tr: float = TR) -> np.ndarray:
    """(frames, 3): a linear trend and two cosines at 0.002 and 0.005 Hz (below 0.008 Hz)."""
    t = np.arange(n_frames) * tr
    return np.stack([(t - t.mean()) / t.max(), np.cos(2 * np.pi * 0.002 * t), np.cos(2 * np.pi * 0.005 * t + 1.0)], 1)


def add_area_signal(data: np.ndarray, area_signal: np.ndarray, labels: np.ndarray, rows: int = 16) -> None:
    """``data += area_signal[:, labels]`` (each grayordinate gets its area's signal), a few frames at a time: the
    same sums, without a frames x 91282 temporary (4x faster for a 405-frame run)."""
    buf = np.empty((rows, data.shape[1]), data.dtype)
    for lo in range(0, len(data), rows):
        part = buf[: min(rows, len(data) - lo)]
        np.take(area_signal[lo : lo + len(part)], labels, axis=1, out=part)
        data[lo : lo + len(part)] += part


def simulate_run(
    task: str,
    labels: np.ndarray,
    areas_by_task: dict,
    rng: np.random.Generator,
    settings: SimulationSettings,
    kernel: np.ndarray | None = None,
):
    """One run: (data (frames, 91282) float32, motion (frames, 12), blocks, truth dict).

    ``kernel``: ``hrf(TR, settings.hrf)`` computed beforehand (the workflow's ``hcp_hrf`` job: nilearn is slow
    to import), else computed here."""
    n = FRAMES[task]
    blocks = jittered_blocks(task, rng, settings.jitter_s)
    box = neural_boxcar(blocks, n, settings.response_window)
    response = np.convolve(box, hrf(TR, settings.hrf) if kernel is None else kernel)[:n]
    response = response / max(response.max(), 1e-12)
    area_signal = np.zeros((n, N_AREAS + 1), np.float32)  # column 0: non-cortex
    area_signal[:, 1:] = area_noise(n, N_AREAS, settings.area_noise_sd, settings.area_noise_ar, rng)
    area_signal[:, areas_by_task[task]] += settings.amplitude * response[:, None]
    data = rng.standard_normal((n, N_GRAYORDINATES), dtype=np.float32)
    data *= settings.noise_sd
    add_area_signal(data, area_signal, labels)
    motion = motion_regressors(n, rng, response, settings.motion_task_coupling)
    loadings = rng.normal(0, settings.motion_scale, (12, N_GRAYORDINATES)).astype(np.float32)
    data += (motion / motion.std(0).clip(1e-6)).astype(np.float32) @ loadings * np.float32(0.5)
    drift = drift_terms(n).astype(np.float32)
    data += drift @ rng.normal(0, settings.drift_scale, (3, N_GRAYORDINATES)).astype(np.float32)
    data += np.float32(100.0)  # a BOLD-like baseline
    truth = {"boxcar": box, "response": response, "areas": areas_by_task[task]}
    return data, motion, blocks, truth


class DtseriesWriter:
    """Writes dense time series that share one brain-model axis, as nibabel's ``Cifti2Image`` would
    (the same bytes; ``tests/test_hcp.py``), but builds the CIFTI-2 XML of each series length once
    and writes the data in one piece.

    nibabel turns the 91282-grayordinate brain-model axis into XML, and parses it back to check the
    shape, several times per image (about 5 s of a simulated subject's 6 runs); the XML only
    depends on the axis and the number of frames."""

    def __init__(self, axis, tr: float = TR):
        self.axis, self.tr = axis, tr
        self._xml = {}

    def header(self, n_frames: int) -> nib.Nifti2Header:
        """The NIfTI-2 header of a ``(n_frames, grayordinates)`` float32 dense time series."""

        if n_frames not in self._xml:
            series = nib.cifti2.SeriesAxis(start=0.0, step=self.tr, size=n_frames, unit="SECOND")
            self._xml[n_frames] = nib.cifti2.Cifti2Header.from_axes((series, self.axis)).to_xml()
        header = nib.cifti2.cifti2.LimitedNifti2Header()
        header.set_data_dtype(np.float32)
        header.set_data_shape((1, 1, 1, 1, n_frames, len(self.axis)))
        header.set_intent("ConnDenseSeries")
        header["pixdim"][:4] = 1
        header.extensions.append(Cifti2Extension.from_bytes(self._xml[n_frames]))
        return header

    def write(self, path, data: np.ndarray) -> None:
        """nibabel's header and CIFTI-2 extension bytes, then the data block as one contiguous write (frames
        varying fastest, NIfTI's order; nibabel's chunked writer took 2-3x as long for these 150 MB)."""
        data = np.asarray(data, np.float32)
        img = nib.Nifti2Image(data.reshape((1, 1, 1, 1, *data.shape)), None, self.header(data.shape[0]))
        img.header.set_slope_inter(1.0, 0.0)  # what nibabel's writer stores for float32 data
        head = io.BytesIO()
        img.header.write_to(head)
        offset = int(img.header["vox_offset"])
        with atomic_path(path, suffix=".dtseries.nii") as tmp, open(tmp, "wb") as f:
            f.write(head.getvalue().ljust(offset, b"\0"))
            np.ascontiguousarray(data.T, dtype=img.header.get_data_dtype()).tofile(f)


def write_dtseries(path, data: np.ndarray, axis, tr: float = TR) -> None:
    """One dense time series through nibabel's ``Cifti2Image`` (the reference the writer above matches)."""
    series = nib.cifti2.SeriesAxis(start=0.0, step=tr, size=data.shape[0], unit="SECOND")
    img = nib.cifti2.Cifti2Image(np.asarray(data, np.float32), header=(series, axis))
    img.nifti_header.set_intent("ConnDenseSeries")
    with atomic_path(path, suffix=".dtseries.nii") as tmp:
        img.to_filename(str(tmp))


def write_motion(path, motion: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.savetxt(tmp, motion, fmt="%10.6f", delimiter=" ")


def write_ev(path, rows) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{on:.3f}\t{dur:.3f}\t{amp:g}\n" for on, dur, amp in rows))


def write_evs(ev_dir: Path, task: str, blocks, rng: np.random.Generator) -> None:
    """Block EV files with the real names, plus the trial-level files of each task."""
    conditions = sorted({c for c, _, _ in LAYOUT[task]})
    for cond in conditions:
        write_ev(ev_dir / f"{cond}.txt", [(on, dur, 1.0) for c, on, dur in blocks if c == cond])
    if task == "GAMBLING":
        events = {k: [] for k in GAMBLING_EVENTS}
        for c, on, _ in blocks:  # 8 trials of 3.5 s; mostly the block's outcome
            for i in range(8):
                kind = c if rng.random() < 0.75 else rng.choice(["win", "loss", "neut"])
                events[f"{kind}_event"].append((on + 3.5 * i, 3.5, 1.0))
        for k, rows in events.items():
            write_ev(ev_dir / f"{k}.txt", rows or [(0.0, 0.0, 0.0)])
    elif task == "WM":
        trials = {k: [] for k in WM_TRIALS}
        for c, on, _ in blocks:  # 2.5 s cue then 10 trials of 2.5 s
            load = c.split("_")[0]
            for i in range(10):
                outcome = "cor" if rng.random() < 0.9 else rng.choice(["err", "nlr"])
                row = (on + 2.5 + 2.5 * i, 2.0, 1.0)
                trials[f"{load}_{outcome}"].append(row)
                if outcome != "nlr":
                    trials[f"all_bk_{outcome}"].append(row)
        for k, rows in trials.items():
            write_ev(ev_dir / f"{k}.txt", rows or [(0.0, 0.0, 0.0)])


def simulate_subject(
    root,
    subject: str,
    atlas: dict,
    tasks,
    directions,
    seed: int,
    settings: SimulationSettings,
    truth_path,
    area_seed: int,
    kernel: np.ndarray | None = None,
) -> list[Path]:
    """Write every run of one subject under ``root``; returns the written paths.  ``kernel``: the HRF (see
    :func:`simulate_run`)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(atlas["labels"])
    writer = DtseriesWriter(brain_model_axis(atlas))
    areas = {t: responsive_areas(t, settings.n_responsive_areas, area_seed) for t in FRAMES}
    written, truth = [], {}
    for task in tasks:
        for direction in directions:
            paths = run_paths(root, subject, task, direction, settings.dtseries_suffix)
            data, motion, blocks, tr_truth = simulate_run(task, labels, areas, rng, settings, kernel)
            writer.write(paths["dtseries"], data)
            write_motion(paths["motion"], motion)
            write_evs(paths["evs"], task, blocks, rng)
            written += [paths["dtseries"], paths["motion"]]
            key = f"{task}_{direction}"
            truth[f"{key}_boxcar"] = tr_truth["boxcar"]
            truth[f"{key}_response"] = tr_truth["response"]
            truth[f"{key}_motion"] = motion
    for t in FRAMES:
        truth[f"areas_{t}"] = areas[t]
    save_npz(truth_path, subject=subject, cortex_grayordinates=np.int64(N_CORTEX), **truth)
    return written
