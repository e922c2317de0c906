"""A plan for the paper-size HCP cohort on a Slurm cluster, from a finished default run's measurements.

Usage: python -m benchmarks.paper_plan [RUN_DIR] [--subjects 749] [--nodes 4] [--cores-per-node 32]
                                       [--subjects-per-job 20] [--cores-per-job 4]

The default run preprocesses a simulated cohort of ``hcp.simulate.n_subjects`` subjects and trains every
(experiment, architecture) on it.  From its benchmark files (wall time, CPU time and peak memory of
every job) this scales the HCP branch to ``--subjects`` real subjects:

- preprocessing (hcp_check + hcp_preprocess; no simulation on real data) costs the same per subject,
  since every subject has the same runs and frames;
- the analysis jobs (training, saliency, reports) are scaled by subjects / measured subjects, since
  their samples are per subject (the epoch counts are assumed unchanged: an estimate, said so);
- disk: each subject's raw runs (CIFTI-2 float32, frames x 91282, the real files' size) stay where
  they are; the workflow writes each subject's parcellated series and QC, measured on the run.

Prints the Slurm submissions (per-subject jobs grouped ``--subjects-per-job`` to a job, as
``profiles/slurm`` does), core-hours, peak memory per job, disk, and the wall time on ``--nodes``
nodes of ``--cores-per-node`` cores (jobs of one stage run side by side; stages one after another).
"""

import argparse
import math
import sys
from pathlib import Path

import pandas as pd
import yaml

from benchmarks.memory_table import collect
from vanishing_saliency.hcp.geometry import FRAMES, N_GRAYORDINATES

ROOT = Path(__file__).resolve().parents[1]

PER_SUBJECT = ("hcp_check", "hcp_preprocess")
ANALYSIS_STAGES = [
    ("hcp_blocks", "hcp_split"),
    ("hcp_train",),
    ("hcp_saliency",),
    (
        "hcp_accuracy",
        "hcp_feature_drop",
        "hcp_onoff",
        "hcp_saliency_maps",
        "hcp_truth",
        "hcp_brain_maps",
        "hcp_qcfc",
        "hcp_qc_table",
        "hcp_derivatives",
    ),
    ("hcp_summary",),
]


def cpu_times(run_dir: Path, jobs: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [
            float(pd.to_numeric(pd.read_csv(run_dir / f, sep="\t")["cpu_time"], errors="coerce").max())
            for f in jobs.file
        ],
        index=jobs.index,
    )


def raw_bytes_per_subject(cfg: dict) -> int:
    """The dense time series of every run (float32 frames x grayordinates; headers, motion and EV files add <1 %)."""
    hcp = cfg["hcp"]
    return sum(FRAMES[t] * N_GRAYORDINATES * 4 for t in hcp["tasks"]) * len(hcp["directions"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", type=Path, default=ROOT)
    ap.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    ap.add_argument("--subjects", type=int, default=749)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--cores-per-node", type=int, default=32)
    ap.add_argument("--subjects-per-job", type=int, default=20, help="group-components of profiles/slurm")
    ap.add_argument("--cores-per-job", type=int, default=4, help="cores of profiles/slurm: subjects at once per job")
    args = ap.parse_args()
    cfg = yaml.safe_load(args.configfile.read_text())
    jobs = collect(args.run_dir, args.configfile)
    jobs = jobs[jobs.rule.str.startswith("hcp_")].copy()
    if jobs.empty:
        sys.exit(f"no HCP benchmark files under {args.run_dir}/logs/benchmark: run the default workflow first")
    jobs["cpu_s"] = cpu_times(args.run_dir, jobs)
    measured = int((jobs.rule == "hcp_preprocess").sum())
    scale = args.subjects / measured
    cores = args.nodes * args.cores_per_node

    per_subject = jobs[jobs.rule.isin(PER_SUBJECT)]
    subj_cpu = per_subject.cpu_s.sum() / measured
    subj_wall = per_subject.s.sum() / measured
    subj_mem = per_subject.max_rss_mb.max()
    groups = math.ceil(args.subjects / args.subjects_per_job)
    # a group job runs cores-per-job subjects at a time; as many group jobs run at once as the nodes hold
    group_wall = math.ceil(args.subjects_per_job / args.cores_per_job) * subj_wall
    at_once = max(1, cores // args.cores_per_job)
    rows = [
        (
            "preprocessing (check + preprocess)",
            groups,
            args.subjects * subj_cpu / 3600,
            subj_mem * min(args.cores_per_job, args.subjects_per_job),
            math.ceil(groups / at_once) * group_wall / 3600,
        )
    ]
    for stage in ANALYSIS_STAGES:
        # hcp_train and hcp_saliency are rule classes, one per set of runs (hcp_train_controls<k>, ...)
        g = jobs[jobs.rule.str.replace(r"_controls\d+[a-z]?$", "", regex=True).isin(stage)]
        if g.empty:
            continue
        stage_waves = math.ceil(len(g) / cores)
        rows.append(
            (
                " + ".join(sorted(set(g.rule))),
                len(g),
                g.cpu_s.sum() * scale / 3600,
                g.max_rss_mb.max(),
                stage_waves * g.s.max() * scale / 3600,
            )
        )
    table = pd.DataFrame(rows, columns=["stage", "Slurm jobs", "core-hours", "peak RSS per job (MB)", "wall (h)"])

    out_dir = args.run_dir / "results" / "hcp"
    written = (
        sum(  # timeseries/sub-<s> is a folder per subject
            f.stat().st_size
            for pat in ("timeseries/sub-*", "qc/sub-*", "check/sub-*")
            for p in out_dir.glob(pat)
            for f in ([p] if p.is_file() else p.rglob("*"))
            if f.is_file()
        )
        / measured
    )
    raw = raw_bytes_per_subject(cfg)
    print(
        f"Paper-size plan: {args.subjects} subjects on {args.nodes} nodes x {args.cores_per_node} cores, "
        f"{args.subjects_per_job} subjects per preprocessing job (measured on {measured} subjects; analysis "
        f"scaled x{scale:.1f})"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print(
        f"\ntotal: {table['Slurm jobs'].sum()} Slurm jobs, {table['core-hours'].sum():,.1f} core-hours, "
        f"{table['wall (h)'].sum():,.2f} h wall; largest job {table['peak RSS per job (MB)'].max():,.0f} MB"
    )
    print(
        f"disk: raw input {raw / 1e9:.2f} GB per subject = {args.subjects * raw / 1e12:.2f} TB (read in place); "
        f"the workflow writes {written / 1e6:.1f} MB per subject = {args.subjects * written / 1e9:.2f} GB"
    )
    print("assumptions: per-subject cost as measured; analysis cost proportional to subjects, epochs unchanged")


if __name__ == "__main__":
    main()
