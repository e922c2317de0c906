"""Steps of ``rules/hcp_preprocess.smk``: atlas, hrf, (simulate), check, preprocess, qc_table, blocks, split."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import HCPDataError
from ..hcp import derivatives as D
from ..hcp.bids import write_run as write_bids_run
from ..hcp.blocks import experiment_samples, split_subjects, task_regressor
from ..hcp.cifti import write_dlabel, write_ptseries
from ..hcp.clean import CleaningOptions, clean_parcellated
from ..hcp.geometry import TR, Parcellator, build_atlas, load_atlas
from ..hcp.io import read_dtseries, subject_runs
from ..hcp.qc import connectivity, edge_distances, mean_connectivity, qcfc_summary
from ..hcp.qc import qcfc as qcfc_of
from ..hcp.runs import check_subject, load, missing_required, run_files, strategies_of, timeseries_name
from ..hcp.simulate import SimulationSettings, simulate_subject
from ..hcp.simulate import hrf as hrf_kernel
from ..io import load_json, save_figure, save_json, save_npz, save_table, save_text
from ..tables.hcp import strategies_markdown
from ..workflow import Job

log = logging.getLogger("vanishing_saliency")

RUN_TABLE = "runs.tsv"  # in each subject's folder of results/hcp/timeseries: every run, its status and files
AREA_ORDER = "official Glasser MMP1.0 dlabel order: 1-180 right (R_*_ROI), 181-360 left (L_*_ROI)"


def atlas(job: Job) -> None:
    """The Glasser labels, names, networks and cortical vertex indices, once for every job."""
    save_npz(job.output[0], **build_atlas())


def derivatives(job: Job) -> None:
    """The BIDS derivative dataset's ``dataset_description.json``, README and ``.bidsignore``, and the atlas: the
    dlabel, its look-up table and its description."""
    o, p = job.output, job.params
    atlas_ = load_atlas(job.input.atlas)
    save_json(o.description, D.dataset_description(p.source, p.links, p.code_url))
    write_dlabel(o.dlabel, atlas_)
    save_table(o.atlas_table, D.atlas_table(atlas_))
    save_json(o.atlas_description, D.GLASSER)
    save_text(o.readme, D.readme(p.source))
    save_text(o.bidsignore, D.bidsignore())


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
    """Clean and parcellate every run of a subject that passed its check with the configured strategy; beside it,
    the QC figure and the functional connectivity under every compared strategy (for the cohort's QC-FC).

    ``output.timeseries`` (and ``output.derivatives``, the subject's folder of the BIDS derivative dataset) is a
    folder: one cleaned series and its QC per run (:func:`vanishing_saliency.hcp.runs.timeseries_name`), and
    ``runs.tsv``, every run of the subject with its check status.  A run that failed its check is left out alone
    (its reason is in the check report and qc.tsv); the subject keeps its other runs.  Raises the first data error
    the check found when no run of the subject passed."""
    from ..plots.hcp import run_qc_figure

    subject, p = job.wildcards.subject, job.params
    checked = {(r["task"], r["run"]): r for r in load_json(job.input.check)["runs"]}
    usable = [run for run in p.runs if checked[(run["task"], run["run"])]["status"] == "ok"]
    if not usable:
        bad = next((r for r in checked.values() if r["status"] == "error"), None)
        if bad is None:
            raise HCPDataError(subject, "-", "-", job.input.check, "the subject has no run of the configured tasks")
        raise HCPDataError(  # the file at fault and the whole problem, as the check found them
            subject,
            bad["task"],
            bad["run"],
            bad.get("file", bad["dtseries"]),
            bad.get("problem", bad["message"]) + "  (no run of this subject passed its check; hcp.exclude skips it)",
        )
    missing = missing_required(usable, p.tasks, p.require_runs)
    if missing:  # the runs exist (an fMRIPrep subject without them is excluded before any job) but failed their check
        bad = next((r for r in checked.values() if r["status"] == "error"), None) or {}
        raise HCPDataError(
            subject,
            bad.get("task", "-"),
            bad.get("run", "-"),
            bad.get("file", bad.get("dtseries", job.input.check)),
            f"hcp.require_runs demands {', '.join(missing)}, which no run that passed its check has"
            + (f" (first failed run: {bad.get('problem', bad.get('message'))})" if bad else "")
            + "; hcp.exclude skips the subject",
        )
    for r in checked.values():
        if r["status"] == "error":
            log.warning("%s %s %s left out: %s", subject, r["task"], r["run"], r["message"])
    series_dir = Path(job.output.timeseries)
    series_dir.mkdir(parents=True, exist_ok=True)
    derivative_root = Path(job.output.derivatives).parent if job.output.get("derivatives") else None
    atlas_ = load_atlas(job.input.atlas)
    kernel = _kernel(job.input.hrf, "qc")
    parcellate = Parcellator(atlas_["labels"])
    c = p.cleaning
    strategies = strategies_of(c)
    fc = {st: [] for st in strategies}
    tdof = {st: [] for st in strategies}
    figure_runs, fds, censored_counts = [], [], []
    files = {}  # (task, run) -> its series and QC file names, for runs.tsv
    for run in usable:
        task, direction = run["task"], run["run"]
        name = timeseries_name(subject, run)
        ts_path, qc_path = series_dir / f"{name}.npz", series_dir / f"{name}_qc.json"
        files[(task, direction)] = {"timeseries": ts_path.name, "qc": qc_path.name}
        loaded = load(run, subject, p.tr, c)
        data, motion, blocks, tr = loaded["data"], loaded["motion"], loaded["blocks"], loaded["tr"]
        areas = parcellate(data)
        del data
        gs = parcellate.global_signal(areas)
        run_kernel = kernel if abs(tr - p.tr) < 1e-9 else hrf_kernel(tr)  # a BIDS run at another TR
        task_reg = task_regressor([(on, dur) for on, dur, _ in blocks], len(areas), tr, run_kernel)
        for st in strategies:
            if st in loaded["unbuilt"]:  # a compared strategy this run's confounds table cannot build
                log.warning("%s %s %s: %s (left out of its QC-FC)", subject, task, direction, loaded["unbuilt"][st])
                continue
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
        save_json(
            qc_path,
            {"subject": str(subject), "task": task, "run": direction, **qc, "strategies_unbuilt": loaded["unbuilt"]},
        )
        if derivative_root is not None:  # the BIDS derivative copies, unless hcp.bids_derivatives is false
            stem = derivative_root / D.run_stem(subject, run)
            stem.parent.mkdir(parents=True, exist_ok=True)
            write_ptseries(f"{stem}.ptseries.nii", ts, tr, atlas_)
            D.write_timeseries_tsv(f"{stem}.tsv", ts, atlas_["names"])
            sources = [D.bids_uri(f, p.links) for f in run_files(run)]
            D.timeseries_sidecar(f"{stem}.json", tr, c["strategy"], censored, sources, AREA_ORDER)
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
    save_table(
        series_dir / RUN_TABLE,
        pd.DataFrame(
            [
                {
                    "subject": str(subject),
                    "task": r["task"],
                    "run": r["run"],
                    "status": r["status"],
                    "message": r.get("message", ""),
                    "timeseries": files.get((r["task"], r["run"]), {}).get("timeseries", ""),
                    "qc": files.get((r["task"], r["run"]), {}).get("qc", ""),
                }
                for r in checked.values()
            ]
        ),
    )
    n_edges = len(atlas_["names"]) * (len(atlas_["names"]) - 1) // 2
    save_npz(
        job.output.fc,
        subject=str(subject),
        strategies=np.array(strategies),
        # a strategy no run of the subject could build: NaN (the QC-FC leaves the subject out of it)
        fc=np.stack([mean_connectivity(fc[st]) if fc[st] else np.full(n_edges, np.nan) for st in strategies]).astype(
            np.float32
        ),
        tdof_lost=np.array([np.mean(tdof[st]) if tdof[st] else np.nan for st in strategies]),
        mean_fd_mm=np.float64(np.mean(fds)),
        n_censored=np.int64(sum(censored_counts)),
    )
    left_out = [f"{r['task']} {r['run']}" for r in checked.values() if r["status"] == "error"]
    save_figure(run_qc_figure(figure_runs, subject, c["strategy"], left_out), job.output.qc_png, dpi=100)


RUN_COLUMNS = ("session", "files")  # of a check row: in the cohort's runs.tsv, not in qc.tsv


def qc_table(job: Job) -> pd.DataFrame:
    """Every run of the cohort with its status (``output.qc``); an excluded subject keeps what its check found.
    Beside it, ``output.runs``: each subject's own runs as found (subject, session, task, run, status, the files)."""
    excluded = {str(s): why for s, why in dict(job.params.excluded).items()}  # hcp.exclude, hcp.require_runs
    rows = []
    for path in job.input:
        for r in load_json(path)["runs"]:
            if r["subject"] in excluded:
                found = f"check: {r['status']}" + (f" ({r['message']})" if r.get("message") else "")
                r = {**r, "status": "excluded", "message": f"{excluded[r['subject']]}; {found}"}
            rows.append(r)
    checked = {r["subject"] for r in rows}
    rows += [
        {"subject": s, "status": "excluded", "message": f"{excluded[s]}; no folder to check"}
        for s in sorted(excluded.keys() - checked)
    ]
    table = pd.DataFrame(rows)
    found = table.reindex(columns=["subject", "session", "task", "run", "status", "files"])
    found["session"] = found["session"].fillna("")
    found["files"] = [" ".join(f) if isinstance(f, list) else "" for f in found["files"]]
    save_table(job.output.runs, found)
    table = table.drop(columns=[c for c in RUN_COLUMNS if c in table.columns])
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
    save_table(job.output.qc, table)
    return table


def _series_files(folders, column: str) -> list[Path]:
    """The files (``column``: ``timeseries`` or ``qc``) of every cleaned run in the subjects' folders of
    results/hcp/timeseries, in each folder's run-table order (runs that failed their check have none)."""
    out = []
    for folder in folders:
        table = pd.read_csv(Path(folder) / RUN_TABLE, sep="\t", dtype=str, keep_default_na=False)
        out += [Path(folder) / name for name in table[column] if name]
    return out


def blocks(job: Job) -> None:
    """The samples of one experiment (its kind, tasks, shift, length and baseline in ``params.spec``), from every
    subject's cleaned runs of its tasks (each subject's own runs: the folders' run tables)."""
    experiment, spec = job.wildcards.experiment, job.params.spec
    tasks = list(spec["tasks"])

    def runs():
        for path in _series_files(job.input, "timeseries"):
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
    qc_runs = [load_json(path) for path in _series_files(job.input.timeseries, "qc")]
    # runs whose confounds table could not build a compared strategy (fMRIPrep input): left out of its QC-FC
    unbuilt = {
        st: [
            (r["subject"], r["task"], r["run"], r["strategies_unbuilt"][st])
            for r in qc_runs
            if st in r.get("strategies_unbuilt", {})
        ]
        for st in strategies
    }
    rows, results = [], {}
    for k, strategy in enumerate(strategies):
        built = [i for i, f in enumerate(fcs) if np.isfinite(f["fc"][k]).all()]  # subjects with a run built
        row = {
            "strategy": strategy,
            "chosen": strategy == job.params.strategy,
            "n_subjects": len(built),
            "runs_unbuilt": len(unbuilt[strategy]),
            "tdof_lost_mean": float(np.mean([fcs[i]["tdof_lost"][k] for i in built])) if built else np.nan,
        }
        if len(built) >= 3:
            r, p_ = qcfc_of(np.stack([fcs[i]["fc"][k] for i in built]), mean_fd[built])
            results[strategy] = r
            row.update(qcfc_summary(r, p_, distances))
        else:  # a correlation across subjects needs three
            row.update(qcfc_significant_percent=np.nan, qcfc_median_abs=np.nan, qcfc_distance_rho=np.nan)
        rows.append(row)
    table = pd.DataFrame(rows)
    save_table(job.output.tsv, table)
    save_text(job.output.md, strategies_markdown(table, float(mean_fd.mean()), unbuilt, len(qc_runs)))
    save_figure(qcfc_figure(results, distances), job.output.png, job.output.pdf)
    runs = pd.DataFrame(qc_runs)
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
