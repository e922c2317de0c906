"""Steps of ``rules/hcp_preprocess.smk``: atlas, hrf, (simulate), check, preprocess, qc_table, blocks, split."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import HCPDataError
from ..hcp.bids import write_run as write_bids_run
from ..hcp.blocks import experiment_samples, split_subjects, task_regressor
from ..hcp.cifti import write_dlabel, write_ptseries
from ..hcp.clean import CleaningOptions, clean_parcellated
from ..hcp.derivatives import dataset_description, timeseries_sidecar, write_timeseries_tsv
from ..hcp.geometry import TR, Parcellator, build_atlas, load_atlas
from ..hcp.io import read_dtseries, subject_runs
from ..hcp.qc import connectivity, edge_distances, mean_connectivity, qcfc_summary
from ..hcp.qc import qcfc as qcfc_of
from ..hcp.runs import check_subject, load, run_files, strategies_of
from ..hcp.simulate import SimulationSettings, simulate_subject
from ..hcp.simulate import hrf as hrf_kernel
from ..io import load_json, save_figure, save_json, save_npz, save_table, save_text
from ..tables.hcp import strategies_markdown
from ..workflow import Job

log = logging.getLogger("vanishing_saliency")

AREA_ORDER = "official Glasser MMP1.0 dlabel order: 1-180 right (R_*_ROI), 181-360 left (L_*_ROI)"


def atlas(job: Job) -> None:
    """The Glasser labels, names, networks and cortical vertex indices, once for every job."""
    save_npz(job.output[0], **build_atlas())


def derivatives(job: Job) -> None:
    """The BIDS derivative dataset's ``dataset_description.json`` and the atlas as a dlabel."""
    save_json(job.output.description, dataset_description(job.params.source, job.params.source_url))
    write_dlabel(job.output.dlabel, load_atlas(job.input.atlas))


def hrf(job: Job) -> None:
    """The haemodynamic responses every subject's job convolves with, computed once (nilearn is slow to import;
    benchmarks.bench_imports): ``qc`` (SPM, at ``params.tr``: the QC's task regressor) and, for a simulated cohort,
    ``simulate`` (the simulator's ``params.simulate_hrf`` at the CIFTI step it writes)."""

    p = job.params
    kernels = {"qc": hrf_kernel(p.tr)}
    if p.simulate_hrf:
        kernels["simulate"] = hrf_kernel(TR, p.simulate_hrf)
    save_npz(job.output[0], **kernels)


def _kernel(path, name: str) -> np.ndarray:
    with np.load(path) as f:
        return f[name]


def simulate(job: Job) -> None:
    """One simulated subject and its truth: in the raw HCP layout (``output.raw``, the subject's folder) or, with
    ``params.layout`` fmriprep, the same runs written as a BIDS dataset (``output.raw``) and its fMRIPrep
    derivatives (``output.derivatives``), at the paths ``params.bids_runs`` lists."""
    p = job.params
    known = SimulationSettings.__dataclass_fields__
    sim = SimulationSettings(
        **{k: (tuple(v) if isinstance(v, list) else v) for k, v in p.settings.items() if k in known}
    )
    subject_dir = Path(job.output.raw)
    subject = job.wildcards.subject
    if p.layout == "fmriprep":  # simulate in the S1200 layout beside the outputs, then write it out as BIDS
        subject_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".s1200-{subject}-", dir=subject_dir.parent))
        try:
            _simulate(job, staging, subject, sim)
            for s1200_run, run in zip(
                subject_runs(staging, subject, p.tasks, p.directions, sim.dtseries_suffix), p.bids_runs, strict=True
            ):
                data, _, _ = read_dtseries(s1200_run["dtseries"])
                write_bids_run(s1200_run, run, data, TR)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("simulated subject %s in the fMRIPrep layout: %d runs", subject, len(p.bids_runs))
        return
    written = _simulate(job, subject_dir.parent, subject_dir.name, sim)
    log.info("simulated subject %s: %d files under %s", subject_dir.name, len(written), subject_dir)


def _simulate(job: Job, root: Path, subject: str, sim: SimulationSettings) -> list:
    p = job.params
    return simulate_subject(
        root,
        subject,
        load_atlas(job.input.atlas),
        p.tasks,
        p.directions,
        p.seed,
        sim,
        job.output.truth,
        p.area_seed,
        _kernel(job.input.hrf, "simulate"),
    )


def check(job: Job) -> dict:
    """Validate every run of a subject (``params.runs``; an fMRIPrep run's confounds under every strategy of
    ``params.cleaning``); a data problem does not raise: the statuses go to the output."""
    result = check_subject(job.wildcards.subject, job.params.runs, job.params.tr, job.params.cleaning)
    for row in result["runs"]:
        if row["status"] != "ok":
            log.error("%s", row["message"])
    save_json(job.output[0], result)
    return result


def cleaning_options(cleaning: dict, strategy: str | None = None) -> CleaningOptions:
    """The cleaning of config ``hcp.cleaning``, with another ``strategy`` (a compared one) when given."""
    bandpass = cleaning["bandpass"]
    return CleaningOptions(
        strategy=strategy or cleaning["strategy"],
        motion_regression=cleaning["motion_regression"],
        lowfreq_regression=cleaning["lowfreq_regression"],
        highpass_cutoff_hz=cleaning["highpass_cutoff_hz"],
        fd_threshold=cleaning["fd_threshold"],
        bandpass=tuple(bandpass) if bandpass is not None else None,
    )


def preprocess(job: Job) -> None:
    """Clean and parcellate every run of a subject with the configured strategy; beside it, the QC figure
    and the functional connectivity under every compared strategy (for the cohort's QC-FC).  Raises the
    first data error the check found.

    ``params.runs``, ``output.timeseries`` and ``output.qc`` list the runs in the same order."""
    from ..plots.hcp import run_qc_figure

    subject, p = job.wildcards.subject, job.params
    for run in load_json(job.input.check)["runs"]:
        if run["status"] != "ok":  # the file at fault and the whole problem, as the check found them
            raise HCPDataError(
                subject,
                run["task"],
                run["run"],
                run.get("file", run["dtseries"]),
                run.get("problem", run["message"]) + "  (add the subject to hcp.exclude to skip it)",
            )
    atlas_ = load_atlas(job.input.atlas)
    kernel = _kernel(job.input.hrf, "qc")
    parcellate = Parcellator(atlas_["labels"])
    c = p.cleaning
    strategies = strategies_of(c)
    fc = {st: [] for st in strategies}
    tdof = {st: [] for st in strategies}
    figure_runs, fds, censored_counts = [], [], []
    # the BIDS derivative copies of each run, unless hcp.bids_derivatives is false (no such outputs)
    bids_copies = [list(job.output.get(k, [])) or [None] * len(p.runs) for k in ("ptseries", "tsv", "sidecar")]
    outputs = zip(p.runs, job.output.timeseries, job.output.qc, *bids_copies, strict=True)
    for run, ts_path, qc_path, ptseries_path, tsv_path, sidecar_path in outputs:
        task, direction = run["task"], run["run"]
        loaded = load(run, subject, p.tr, c)
        data, motion, blocks, tr = loaded["data"], loaded["motion"], loaded["blocks"], loaded["tr"]
        areas = parcellate(data)
        del data
        gs = parcellate.global_signal(areas)
        run_kernel = kernel if abs(tr - p.tr) < 1e-9 else hrf_kernel(tr)  # a BIDS run at another TR
        task_reg = task_regressor([(on, dur) for on, dur, _ in blocks], len(areas), tr, run_kernel)
        for st in strategies:
            nuisance, scrubbed = loaded["nuisance"].get(st, (None, None))
            ts_st, censored_st, qc_st = clean_parcellated(
                areas, motion, tr, cleaning_options(c, st), gs, task_reg, nuisance, loaded["fd"], scrubbed
            )
            fc[st].append(connectivity(ts_st[~censored_st]))
            tdof[st].append(qc_st["tdof_lost"])
            if st == c["strategy"]:
                ts, censored, qc = ts_st, censored_st, qc_st
        save_npz(
            ts_path,
            timeseries=ts.astype(np.float32),
            censored=censored,
            area_names=atlas_["names"],
            area_order=AREA_ORDER,
            tr=np.float64(tr),
            subject=str(subject),
            task=task,
            run=direction,
            strategy=c["strategy"],
            block_onset_s=np.array([b[0] for b in blocks]),
            block_duration_s=np.array([b[1] for b in blocks]),
            block_condition=np.array([b[2] for b in blocks]),
        )
        save_json(qc_path, {"subject": str(subject), "task": task, "run": direction, **qc})
        if ptseries_path is not None:
            write_ptseries(ptseries_path, ts, tr, atlas_)
            write_timeseries_tsv(tsv_path, ts, atlas_["names"])
            timeseries_sidecar(sidecar_path, tr, c["strategy"], censored, run_files(run), AREA_ORDER)
        fds.append(qc["fd_mean_mm"])
        censored_counts.append(qc["n_censored"])
        figure_runs.append(
            {
                "label": f"{task} {direction}",
                "motion": motion,
                "threshold": c["fd_threshold"],
                "before": areas,
                "after": ts,
                "censored": censored,
            }
        )
        log.info(
            "%s %s %s (%s): motion corr %.3f -> %.2e, low-frequency power %.3f -> %.3f, %d frames censored, "
            "task variance in the confounds %.3f",
            subject,
            task,
            direction,
            c["strategy"],
            qc["max_abs_corr_with_motion_before"],
            qc["max_abs_corr_with_motion_after"],
            qc["lowfreq_power_fraction_before"],
            qc["lowfreq_power_fraction_after"],
            qc["n_censored"],
            qc["task_variance_in_confounds"],
        )
    save_npz(
        job.output.fc,
        subject=str(subject),
        strategies=np.array(strategies),
        fc=np.stack([mean_connectivity(fc[st]) for st in strategies]).astype(np.float32),
        tdof_lost=np.array([np.mean(tdof[st]) for st in strategies]),
        mean_fd_mm=np.float64(np.mean(fds)),
        n_censored=np.int64(sum(censored_counts)),
    )
    save_figure(run_qc_figure(figure_runs, subject, c["strategy"]), job.output.qc_png, dpi=100)


def qc_table(job: Job) -> pd.DataFrame:
    """Every run of the cohort with its status; an excluded subject keeps what its check found."""
    excluded = {str(s) for s in job.params.excluded}
    rows = []
    for path in job.input:
        for r in load_json(path)["runs"]:
            if r["subject"] in excluded:
                found = f"check: {r['status']}" + (f" ({r['message']})" if r.get("message") else "")
                r = {**r, "status": "excluded", "message": f"listed in hcp.exclude; {found}"}
            rows.append(r)
    checked = {r["subject"] for r in rows}
    rows += [
        {"subject": s, "status": "excluded", "message": "listed in hcp.exclude; no folder to check"}
        for s in sorted(excluded - checked)
    ]
    table = pd.DataFrame(rows)
    first = [
        "subject",
        "task",
        "run",
        "status",
        "frames",
        "fd_mean_mm",
        "fd_max_mm",
        "message",
        "file",
        "problem",
        "dtseries",
    ]
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
                    "task": str(f["task"]),
                    "subject": str(f["subject"]),
                    "run": str(f["run"]),
                    "censored": f["censored"] if "censored" in f.files else None,
                }

    s = experiment_samples(
        runs(),
        spec["kind"],
        tasks,
        spec["hrf_shift_s"],
        spec["on_frames"],
        spec["off_frames"],
        spec["frames"],
        spec["baseline"],
        spec["max_censored"],
    )
    save_npz(
        job.output[0],
        data=s["data"],
        lengths=s["lengths"],
        labels=s["labels"],
        label_names=np.array(tasks),
        subjects=s["subjects"],
        runs=s["runs"],
        block_start_frame=s["block_start_frame"],
        on_mask=s["on_mask"],
        hrf_shift_s=np.float64(spec["hrf_shift_s"]),
        experiment=experiment,
        kind=spec["kind"],
        baseline=spec["baseline"],
        dropped_subjects=np.array(list(s["dropped"]), dtype=str),
        dropped_counts=np.array(list(s["dropped"].values()), dtype=np.int64),
    )
    log.info(
        "%s (%s): %d samples (%s), lengths %d-%d",
        experiment,
        spec["kind"],
        len(s["labels"]),
        ", ".join(f"{t}: {int((s['labels'] == i).sum())}" for i, t in enumerate(tasks)),
        s["lengths"].min(),
        s["lengths"].max(),
    )


def qcfc(job: Job) -> pd.DataFrame:
    """The confound strategies on the same cohort: tDOF lost and the QC-FC benchmark; censoring per subject."""
    from ..plots.hcp import qcfc_figure

    fcs = []
    for path in job.input.fc:
        with np.load(path) as f:
            fcs.append({k: f[k] for k in f.files})
    strategies = [str(s) for s in fcs[0]["strategies"]]
    mean_fd = np.array([float(f["mean_fd_mm"]) for f in fcs])
    distances = edge_distances(load_atlas(job.input.atlas)["centroids"])
    rows, results = [], {}
    for k, strategy in enumerate(strategies):
        r, p_ = qcfc_of(np.stack([f["fc"][k] for f in fcs]), mean_fd)
        results[strategy] = r
        rows.append(
            {
                "strategy": strategy,
                "chosen": strategy == job.params.strategy,
                "n_subjects": len(fcs),
                "tdof_lost_mean": float(np.mean([f["tdof_lost"][k] for f in fcs])),
                **qcfc_summary(r, p_, distances),
            }
        )
    table = pd.DataFrame(rows)
    save_table(job.output.tsv, table)
    save_text(job.output.md, strategies_markdown(table, float(mean_fd.mean())))
    save_figure(qcfc_figure(results, distances), job.output.png, job.output.pdf)
    runs = pd.DataFrame([load_json(path) for path in job.input.qc])
    censoring = runs.groupby("subject").agg(
        runs=("run", "size"),
        frames=("frames", "sum"),
        frames_censored=("n_censored", "sum"),
        fd_mean_mm=("fd_mean_mm", "mean"),
        task_variance_in_confounds=("task_variance_in_confounds", "mean"),
    )
    for experiment, path in zip(job.params.experiments, job.input.samples, strict=True):
        with np.load(path) as f:
            counts = dict(zip(f["dropped_subjects"].astype(str), f["dropped_counts"], strict=True))
        censoring[f"samples_dropped_{experiment}"] = [int(counts.get(s, 0)) for s in censoring.index]
    save_table(job.output.censoring, censoring.reset_index())
    log.info(
        "QC-FC: %s",
        "; ".join(f"{r.strategy} {r.qcfc_significant_percent:.1f} % edges significant" for r in table.itertuples()),
    )
    return table


def split(job: Job) -> None:
    """A deterministic train / val / test split by subject."""
    p = job.params
    sets = split_subjects(p.subjects, p.seed, tuple(p.ratio), p.val_fraction)
    save_table(job.output[0], pd.DataFrame({"subject": list(sets), "set": list(sets.values())}))
