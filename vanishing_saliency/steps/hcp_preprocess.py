"""Steps of ``rules/hcp_preprocess.smk``: atlas, (simulate), check, preprocess, qc_table, blocks, split."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import HCPDataError
from ..hcp.blocks import experiment_samples, split_subjects
from ..hcp.clean import clean_parcellated
from ..hcp.geometry import FRAMES, Parcellator, build_atlas, load_atlas
from ..hcp.io import check_subject, load_run, read_blocks
from ..hcp.simulate import SimulationSettings, simulate_subject
from ..io import load_json, save_json, save_npz, save_table
from ..workflow import Job

log = logging.getLogger("vanishing_saliency")

AREA_ORDER = "official Glasser MMP1.0 dlabel order: 1-180 right (R_*_ROI), 181-360 left (L_*_ROI)"


def atlas(job: Job) -> None:
    """The Glasser labels, names, networks and cortical vertex indices, once for every job."""
    save_npz(job.output[0], **build_atlas())


def simulate(job: Job) -> None:
    """One simulated subject in the raw HCP layout (``output.raw``, the subject's folder) and its truth."""
    p = job.params
    known = SimulationSettings.__dataclass_fields__
    sim = SimulationSettings(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in p.settings.items()
                                if k in known})
    subject_dir = Path(job.output.raw)
    written = simulate_subject(subject_dir.parent, subject_dir.name, load_atlas(job.input.atlas), p.tasks,
                               p.directions, p.seed, sim, job.output.truth, p.area_seed)
    log.info("simulated subject %s: %d files under %s", subject_dir.name, len(written), subject_dir)


def check(job: Job) -> dict:
    """Validate every run of a subject (``params.runs``); never raises: the statuses go to the output."""
    result = check_subject(job.wildcards.subject, job.params.runs, job.params.tr, FRAMES)
    for row in result["runs"]:
        if row["status"] != "ok":
            log.error("%s", row["message"])
    save_json(job.output[0], result)
    return result


def preprocess(job: Job) -> None:
    """Clean and parcellate every run of a subject; raises the first data error the check found.

    ``params.runs``, ``output.timeseries`` and ``output.qc`` list the runs in the same order."""
    subject, p = job.wildcards.subject, job.params
    for run in load_json(job.input.check)["runs"]:
        if run["status"] != "ok":
            raise HCPDataError(subject, run["task"], run["run"], run["dtseries"],
                               run["message"].split(": ", 3)[-1] + "  (add the subject to hcp.exclude to skip it)")
    atlas_ = load_atlas(job.input.atlas)
    parcellate = Parcellator(atlas_["labels"])
    for run, ts_path, qc_path in zip(p.runs, job.output.timeseries, job.output.qc, strict=True):
        task, direction = run["task"], run["run"]
        data, motion = load_run(run, subject, task, direction, p.tr, FRAMES[task])
        blocks = read_blocks(run, subject, len(data), p.tr)
        areas = parcellate(data)
        del data
        c = p.cleaning
        ts, qc = clean_parcellated(areas, motion, p.tr, c["highpass_cutoff_hz"], c["motion_regression"],
                                   c["lowfreq_regression"])
        save_npz(ts_path, timeseries=ts.astype(np.float32), area_names=atlas_["names"], area_order=AREA_ORDER,
                 tr=np.float64(p.tr), subject=str(subject), task=task, run=direction,
                 block_onset_s=np.array([b[0] for b in blocks]), block_duration_s=np.array([b[1] for b in blocks]),
                 block_condition=np.array([b[2] for b in blocks]))
        save_json(qc_path, {"subject": str(subject), "task": task, "run": direction, **qc})
        log.info("%s %s %s: motion corr %.3f -> %.2e, low-frequency power %.3f -> %.3f", subject, task,
                 direction, qc["max_abs_corr_with_motion_before"], qc["max_abs_corr_with_motion_after"],
                 qc["lowfreq_power_fraction_before"], qc["lowfreq_power_fraction_after"])


def qc_table(job: Job) -> pd.DataFrame:
    """Every run of the cohort with its status; excluded subjects listed as such."""
    rows = [r for p in job.input for r in load_json(p)["runs"]]
    table = pd.DataFrame(rows)
    for subject in job.params.excluded:
        table.loc[len(table)] = {"subject": str(subject), "status": "excluded", "message": "listed in hcp.exclude"}
    first = ["subject", "task", "run", "status", "frames", "fd_mean_mm", "fd_max_mm", "message", "dtseries"]
    table = table[[c for c in first if c in table.columns] + [c for c in table.columns if c not in first]]
    save_table(job.output[0], table)
    return table


def blocks(job: Job) -> None:
    """The samples of one experiment (its kind, tasks, shift, length and baseline in ``params.spec``)."""
    experiment, spec = job.wildcards.experiment, job.params.spec
    tasks = list(spec["tasks"])

    def runs():
        for path in job.input:
            with np.load(path) as f:
                if str(f["task"]) not in tasks:
                    yield {"task": str(f["task"])}
                    continue
                yield {k: f[k] for k in ("timeseries", "tr", "block_onset_s", "block_duration_s")} | {
                    "task": str(f["task"]), "subject": str(f["subject"]), "run": str(f["run"])}

    s = experiment_samples(runs(), spec["kind"], tasks, spec["hrf_shift_s"], spec["on_frames"], spec["off_frames"],
                           spec["frames"], spec["baseline"])
    save_npz(job.output[0], data=s["data"], lengths=s["lengths"], labels=s["labels"], label_names=np.array(tasks),
             subjects=s["subjects"], runs=s["runs"], block_start_frame=s["block_start_frame"],
             on_mask=s["on_mask"], hrf_shift_s=np.float64(spec["hrf_shift_s"]), experiment=experiment,
             kind=spec["kind"], baseline=spec["baseline"])
    log.info("%s (%s): %d samples (%s), lengths %d-%d", experiment, spec["kind"], len(s["labels"]), ", ".join(
        f"{t}: {int((s['labels'] == i).sum())}" for i, t in enumerate(tasks)), s["lengths"].min(), s["lengths"].max())


def split(job: Job) -> None:
    """A deterministic train / val / test split by subject."""
    p = job.params
    sets = split_subjects(p.subjects, p.seed, tuple(p.ratio), p.val_fraction)
    save_table(job.output[0], pd.DataFrame({"subject": list(sets), "set": list(sets.values())}))
