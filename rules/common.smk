# Python helpers shared by every .smk file: job seeds, target and input lists.  The config's checks are in
# vanishing_saliency/configcheck.py; the rules' code in vanishing_saliency/steps/<rule file>.py (README).
import functools
import os
import re
from pathlib import Path

from snakemake.logging import logger

from vanishing_saliency import plan
from vanishing_saliency.plan import SEED_KEYS
from vanishing_saliency.configcheck import (
    check_config,
    check_dataset_defined,
    check_fmriprep_tasks_found,
    hcp_layout,
    hcp_subjects,
    models_for_dataset,
    saliency_labels,
    strategies_no_run_can_build,
    subjects_with_required_runs,
)
from vanishing_saliency.hcp import bids, derivatives
from vanishing_saliency.hcp.geometry import ATLAS_ARRAYS
from vanishing_saliency.hcp.io import subject_runs
from vanishing_saliency.hcp.runs import run_files
from vanishing_saliency.labels import ARCHITECTURES, SALIENCY_METHODS as ALL_METHODS
from vanishing_saliency.provenance import code_url
from vanishing_saliency.workflow import derive_seed

with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
    check_config(config)


def on_attempt(request):
    """A rule's mem_mb or runtime: ``request`` (set from the default run's measured peaks, checked by
    benchmarks/check_resources.py) on the first attempt, twice that on the second, and so on.  A job Slurm
    stopped at its --mem or --time (a slower or busier node than the measuring one, a bigger config) is
    resubmitted with more (`retries` in the Slurm profiles); a local run never retries."""
    return lambda wildcards, attempt: request * attempt


def job_seed(rule, per_job=True):
    """A rule's params.seed: the config seed, the rule's seed key and (``per_job``) the job's wildcard
    values in the order of its output pattern.  Each job writes what it got into its job record
    (``<log>.job.json``), which the provenance rule collects."""
    key = SEED_KEYS[rule]
    if not per_job:
        return derive_seed(config["seed"], key)
    return lambda wc: derive_seed(config["seed"], key, *map(str, wc))


def dataset_settings(name):
    """A synthetic dataset's patterns and sizes (its own n_train / n_test over the synthetic defaults); a name
    that is not defined (a target asked for on the command line) is a config error naming the defined ones."""
    syn = config["synthetic"]
    check_dataset_defined(config, name)
    ds = syn["datasets"][name]
    return {
        "patterns": ds["patterns"],
        "n_time": syn["n_time"],
        "n_features": syn["n_features"],
        "n_train": ds.get("n_train", syn["n_train"]),
        "n_test": ds.get("n_test", syn["n_test"]),
        "standardize": syn["standardize"],
    }


SYN = config["synthetic"]
# partial input-cell attention against its window (optional: no figure without the key)
PARTIAL = SYN.get("partial_window") or {}
METHODS = config["saliency"]["methods"]
PRIMARY_METHOD = METHODS[0]


# which runs exist (vanishing_saliency.plan, pure functions of the config), bound to this config
def group_seeds(group, model):
    return plan.group_seeds(config, group, model)


def synthetic_pairs(group):
    return plan.synthetic_pairs(config, group)


def metric_keys(group, methods=None):
    return plan.metric_keys(config, group, methods)


def gate_keys():
    return plan.gate_keys(config)


def metric_file(dataset, model, run, method):
    return f"results/synthetic/metrics/{dataset}/{model}_{run}_{method}.tsv"


def synthetic_model(dataset, model, run, ext="pt"):
    return f"results/synthetic/models/{dataset}/{model}_{run}.{ext}"


def noise_file(dataset):
    return f"results/synthetic/metrics/{dataset}/noise.tsv"


def group_datasets(group):
    return list(SYN[group]["datasets"])


def synthetic_run_classes():
    return plan.synthetic_run_classes(config)


def pair_constraint(pairs):
    """The {pair} wildcard ("<dataset>/<model>") pinned to exactly these pairs."""
    return "|".join(re.escape(f"{d}/{m}") for d, m in pairs) or "no-pair"


def run_seeds(rule, runs, before, after=()):
    return plan.run_seeds(config["seed"], rule, runs, before, after)


def synthetic_targets():
    if not SYN["enabled"]:
        return []
    return (
        expand("results/synthetic/{table}{part}.{ext}", table=["table1", "table2"], part=["", "_runs"], ext=["tsv"])
        + expand("results/synthetic/{table}.md", table=["table1", "table2"])
        + [
            "results/synthetic/moving_box.tsv",
            "results/synthetic/method_table.tsv",
            "results/synthetic/method_table.md",
            "results/synthetic/summary.md",
            "results/synthetic/summary.tsv",
            "results/synthetic/gates.tsv",
            "results/synthetic/epoch_curve.tsv",
        ]
        + expand("results/synthetic/figures/{fig}.{ext}", fig=["moving_box", "epoch_curve"], ext=["png", "pdf"])
        + expand(
            "results/synthetic/figures/saliency_{dataset}.{ext}", dataset=SYN["heatmap_datasets"], ext=["png", "pdf"]
        )
        + (
            ["results/synthetic/partial_window.tsv"]
            + expand("results/synthetic/figures/partial_window.{ext}", ext=["png", "pdf"])
            if PARTIAL
            else []
        )
    )


# ---- HCP -------------------------------------------------------------------

HCP = config["hcp"]
SIMULATED_ROOT = "resources/hcp/simulated"
HCP_ROOT = SIMULATED_ROOT if HCP["source"] == "simulated" else HCP["root"]
# the input layout: an HCP S1200 tree (HCP_ROOT) or fMRIPrep derivatives of a BIDS dataset (FMRIPREP_ROOTS: raw
# dataset, derivatives); a simulated cohort can be written in either (hcp.simulate.layout)
HCP_LAYOUT = hcp_layout(HCP)
SIMULATED_BIDS = "resources/hcp/simulated_bids"
HCP_SOURCE_DESCRIPTION = {
    "simulated": f"a simulated cohort (vanishing_saliency.hcp.simulate) in the {HCP_LAYOUT} layout",
    "raw": f"an HCP S1200-style tree at {HCP['root']}",
    "fmriprep": f"fMRIPrep derivatives at {(HCP.get('fmriprep') or {}).get('derivatives')} of the BIDS dataset at "
    f"{(HCP.get('fmriprep') or {}).get('bids_root')}",
}[HCP["source"]]
if HCP["source"] == "simulated":
    FMRIPREP_ROOTS = (f"{SIMULATED_BIDS}/rawdata", f"{SIMULATED_BIDS}/derivatives/fmriprep")
elif HCP["source"] == "fmriprep":
    FMRIPREP_ROOTS = (HCP["fmriprep"]["bids_root"], HCP["fmriprep"]["derivatives"])
else:
    FMRIPREP_ROOTS = (None, None)
# the input datasets the BIDS derivative dataset's Sources point into (bids:<name>:<path> URIs), and where the
# workflow's code is published (its checkout's web remote), for the dataset's GeneratedBy
CODE_URL = code_url(workflow.basedir)
DATASET_LINKS = derivatives.dataset_links(
    {"raw": FMRIPREP_ROOTS[0], "fmriprep": FMRIPREP_ROOTS[1]} if HCP_LAYOUT == "fmriprep" else {"hcp": HCP_ROOT}
)


def hcp_check_subjects(cfg):
    """Every listed subject, excluded ones included (hcp.exclude, hcp.require_runs): the check keeps an excluded
    subject's reason."""
    excluded = [str(s) for s in cfg["hcp"]["exclude"]] + list(REQUIRED_MISSING)
    return HCP_SUBJECTS + [s for s in excluded if s not in HCP_SUBJECTS and _has_folder(s)]


def _has_folder(subject):
    if HCP["source"] == "fmriprep":
        return (Path(FMRIPREP_ROOTS[1]) / f"sub-{subject}").is_dir()
    return HCP["source"] == "simulated" or (Path(HCP["root"]) / subject).is_dir()


with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
    HCP_SUBJECTS, _skipped = hcp_subjects(config) if HCP["enabled"] else ([], [])
if _skipped:
    _where = f"hcp.root {HCP['root']}" if HCP["source"] == "raw" else "hcp.fmriprep.derivatives"
    logger.warning(
        f"{_where}: skipping {len(_skipped)} folder(s) whose names are not subject IDs (letters and digits only): "
        f"{', '.join(_skipped)}"
    )
HCPA = HCP["analysis"]
HCP_EXPERIMENTS = HCP["experiments"]
HCP_SEED_RUNS = [f"seed{k}" for k in range(HCPA["seeds"])]
SALIENCY_LABELS = saliency_labels(HCP) if HCP["enabled"] else {}  # desc-<label> of the maps -> experiment


def experiment_kind(experiment):
    return HCP_EXPERIMENTS[experiment]["kind"]


def hcp_runs(experiment, model):
    return plan.hcp_runs(config, experiment, model)


def hcp_saliency_run_names(experiment, model):
    return plan.hcp_saliency_run_names(config, experiment, model)


def hcp_run_classes():
    return plan.hcp_run_classes(config)


def hcp_experiments(*kinds):
    """Analysed experiments of the given kinds (all when none is given)."""
    return [e for e in HCPA["experiments"] if not kinds or experiment_kind(e) in kinds]


def experiment_blocks(experiment):
    """Everything hcp_blocks needs to build an experiment's samples."""
    exp = HCP_EXPERIMENTS[experiment]
    return {
        "kind": exp["kind"],
        "tasks": exp["tasks"],
        "frames": exp.get("frames"),
        "hrf_shift_s": exp.get("hrf_shift_s", HCP["blocks"]["hrf_shift_s"]),
        "baseline": exp.get("baseline", "run"),
        "on_frames": HCP["blocks"]["on_frames"],
        "off_frames": HCP["blocks"]["off_frames"],
        "max_censored": HCP["cleaning"]["max_censored_fraction"],
    }


def simulated_outputs():
    """hcp_simulate's folders: the subject's S1200 tree, or its raw BIDS folder and its fMRIPrep derivatives."""
    if HCP_LAYOUT == "fmriprep":
        folders = {"raw": f"{FMRIPREP_ROOTS[0]}/sub-{{subject}}", "derivatives": f"{FMRIPREP_ROOTS[1]}/sub-{{subject}}"}
    else:
        folders = {"raw": f"{SIMULATED_ROOT}/{{subject}}"}
    keep = HCP["simulate"]["keep_raw"]
    return {k: directory(v) if keep else temp(directory(v)) for k, v in folders.items()}


def simulated_folders(subject):
    return [p.format(subject=subject) for p in simulated_outputs().values()]


def hcp_subject_runs(wildcards):
    """Every run of a subject with the paths of its raw files (expected, whether or not they exist)."""
    return _subject_runs(wildcards.subject)


def raw_subject_input(wildcards):
    """hcp_check's input: the simulated subject folder; for real data the subject's raw files that exist (a missing
    one becomes our error naming subject and file, not a DAG failure; an edited one re-runs the subject)."""
    if HCP["source"] == "simulated":
        return simulated_folders(wildcards.subject)
    return list(_existing_raw_files(wildcards.subject))


def preprocess_raw_input(wildcards):
    """hcp_preprocess's raw input: the simulated subject folder (a temp() output, kept until preprocessing has read
    it).  Real data's raw files are declared once, as hcp_check's inputs: an edited one re-runs the check, whose
    newer report re-runs the preprocessing (declaring each of the 36 files per subject on both rules was half of
    Snakemake's work on a 1,000-subject tree)."""
    return raw_subject_input(wildcards) if HCP["source"] == "simulated" else []


# hcp_check and hcp_preprocess ask for the same subject's runs (params.runs): each subject is listed and its files
# looked up once per Snakemake process (the files do not change while the DAG is built, and each job still checks
# its inputs' times as usual)
@functools.lru_cache(maxsize=None)
def _subject_runs(subject):
    """The runs of one subject: the S1200 tree's fixed runs (each task and direction: a missing one is an error its
    check reports), or the runs fMRIPrep wrote for this subject (its own sessions and run entities; a task it has no
    run of is reported absent, not missing)."""
    if HCP_LAYOUT == "s1200":
        return subject_runs(HCP_ROOT, subject, HCP["tasks"], HCP["directions"], HCP["dtseries_suffix"])
    specs = HCP["fmriprep"]["tasks"]
    if HCP["source"] == "simulated":  # not written yet: one run per task and direction
        return bids.expected_runs(*FMRIPREP_ROOTS, subject, HCP["tasks"], HCP["directions"], specs)
    return bids.subject_runs(*FMRIPREP_ROOTS, subject, HCP["tasks"], specs)


if HCP["enabled"] and HCP["source"] == "fmriprep":  # a task no subject has is a config error before any job
    with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
        check_fmriprep_tasks_found(
            HCP, {r["task"] for s in HCP_SUBJECTS for r in _subject_runs(s) if not r.get("absent")}
        )


# hcp.require_runs: a subject of an fMRIPrep dataset without the runs it demands is left out before any job (its
# check still runs, so qc.tsv says why); an S1200 subject has fixed runs, checked by hcp_preprocess with the rest
REQUIRED_MISSING = {}
if HCP["enabled"] and HCP["source"] == "fmriprep" and HCP.get("require_runs") is not None:
    with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
        HCP_SUBJECTS, REQUIRED_MISSING = subjects_with_required_runs(HCP, {s: _subject_runs(s) for s in HCP_SUBJECTS})
    if REQUIRED_MISSING:
        logger.warning(
            f"hcp.require_runs: leaving out {len(REQUIRED_MISSING)} subject(s) without the runs it demands: "
            + "; ".join(f"sub-{s} (no {', '.join(m)})" for s, m in REQUIRED_MISSING.items())
        )


# a configured confound strategy no run's table can build: said once, before any job (hcp.cleaning.strategy's own is
# a config error; a compared one is only left out of the QC-FC, as each run's check reports)
if HCP["enabled"] and HCP["source"] == "fmriprep":
    with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
        for _name, _problem in strategies_no_run_can_build(
            HCP, [r for s in HCP_SUBJECTS for r in _subject_runs(s)]
        ).items():
            logger.warning(f"hcp.cleaning.compare_strategies: no run can build {_name!r}: {_problem}")


def hcp_excluded():
    """{subject: why} of every subject left out: listed in hcp.exclude, or without the runs hcp.require_runs
    demands."""
    return {str(s): "listed in hcp.exclude" for s in HCP["exclude"]} | {
        s: f"hcp.require_runs: no {', '.join(m)}" for s, m in REQUIRED_MISSING.items()
    }


@functools.lru_cache(maxsize=None)
def _existing_raw_files(subject):
    return tuple(f for run in _subject_runs(subject) for f in run_files(run) if os.path.exists(f))


def subject_series(subject):
    """A subject's folder of cleaned runs (hcp_preprocess): one series and QC file per run, and runs.tsv."""
    return f"results/hcp/timeseries/sub-{subject}"


# the derivative dataset's own files (rule hcp_derivatives' outputs)
DERIVATIVE_FILES = {
    "description": derivatives.DESCRIPTION,
    "readme": derivatives.README,
    "bidsignore": derivatives.BIDSIGNORE,
    "dlabel": derivatives.ATLAS,
    "atlas_table": derivatives.ATLAS_TABLE,
    "atlas_description": derivatives.ATLAS_DESCRIPTION,
}


def saliency_derivatives(experiment):
    """An experiment's mean saliency maps in the BIDS derivative dataset (.pscalar.nii, .dscalar.nii, .json); none
    with hcp.bids_derivatives false."""
    if not HCP.get("bids_derivatives", True):
        return []
    stem = f"{derivatives.ROOT}/{derivatives.saliency_stem(experiment)}"
    return [f"{stem}.{ext}" for ext in ("pscalar.nii", "dscalar.nii", "json")]


def subject_derivatives(subject):
    """A subject's folder of the BIDS derivative dataset (results/hcp/derivatives/sub-<s>: each cleaned run as
    .ptseries.nii, .tsv and .json); none with hcp.bids_derivatives false."""
    return [f"{derivatives.ROOT}/sub-{subject}"] if HCP.get("bids_derivatives", True) else []


def hcp_targets():
    if not HCP["enabled"]:
        return []
    sal = hcp_experiments("on_task", "on_off")
    return (
        [
            "results/hcp/qc.tsv",
            "results/hcp/runs.tsv",
            "results/hcp/split.tsv",
            "results/hcp/summary.md",
            "results/hcp/summary.tsv",
            "results/hcp/qc/strategies.md",
            "results/hcp/qc/qcfc.png",
        ]
        + (
            [f"{derivatives.ROOT}/{name}" for name in DERIVATIVE_FILES.values()]
            if HCP.get("bids_derivatives", True)
            else []
        )
        + [p for s in HCP_SUBJECTS for p in subject_derivatives(s)]
        + expand("results/hcp/samples/{experiment}.npz", experiment=HCPA["experiments"])
        + expand("results/hcp/{experiment}/accuracy.md", experiment=HCPA["experiments"])
        + expand("results/hcp/{experiment}/feature_drop.md", experiment=sal)
        + expand(
            "results/hcp/{experiment}/figures/{fig}.{ext}",
            experiment=sal,
            fig=["feature_drop", "saliency_maps", "saliency_maps_sorted", "brain_maps"],
            ext=["png", "pdf"],
        )
        + [p for e in sal for p in saliency_derivatives(e)]
        + expand("results/hcp/{experiment}/onoff_share.md", experiment=hcp_experiments("on_off"))
        + expand(
            "results/hcp/{experiment}/figures/onoff_buckets.{ext}",
            experiment=hcp_experiments("on_off"),
            ext=["png", "pdf"],
        )
        + (expand("results/hcp/{experiment}/truth_recovery.md", experiment=sal) if HCP["source"] == "simulated" else [])
    )


def hcp_model_file(experiment, model, run, ext="pt"):
    return f"results/hcp/{experiment}/models/{model}_{run}.{ext}"


def hcp_saliency_file(experiment, model, run, method):
    return f"results/hcp/{experiment}/saliency/{model}_{run}_{method}.npz"


def hcp_saliency_runs(experiment, methods=None, runs=None):
    """Every (model, run, method) saliency file of an experiment, with its file (``path``); ``seed`` is the seed index
    of a training seed (None for a control).  ``runs``: every run with saliency of each model (None, the default),
    the same list for every model, or ``"untrained"``: each model's untrained runs."""

    def runs_of(model):
        if runs is None:
            return hcp_saliency_run_names(experiment, model)
        if runs == "untrained":
            return [r for r in hcp_runs(experiment, model) if plan.run_kind(r) == "untrained"]
        return runs

    return [
        {
            "model": m,
            "run": r,
            "seed": plan.run_index(r) if plan.run_kind(r) == "trained" else None,
            "method": meth,
            "path": hcp_saliency_file(experiment, m, r, meth),
        }
        for meth in (methods or METHODS)
        for r, m in hcp_cells(runs_of)
    ]


def hcp_cells(runs_of):
    return plan.hcp_cells(config, runs_of)


def run_keys(runs):
    """The runs without their paths (a rule's params.runs; the paths are its inputs, in the same order)."""
    return [{k: v for k, v in r.items() if k != "path"} for r in runs]


HCP_TRAINING = {**config["training"], **HCPA["training_overrides"]}


# ---- MNIST -----------------------------------------------------------------
MNIST = config["mnist"]


def mnist_targets():
    if not MNIST["enabled"]:
        return []
    return ["results/mnist/table.tsv", "results/mnist/table.md", "results/mnist/temporal_profile.tsv"] + expand(
        "results/mnist/figures/{fig}.{ext}", fig=["saliency_examples", "temporal_profile"], ext=["png", "pdf"]
    )


# ---- cell dynamics -----------------------------------------------------------
DYN = config["dynamics"]


def dynamics_networks():
    """Audited networks: name -> model, test data and (HCP samples) subject split; disabled branches skipped
    (configcheck.check_dynamics has checked that each is trained)."""
    nets = {}
    for n in DYN["task"]["hidden_sizes"]:
        nets[f"seqmnist_h{n}"] = {
            "model": f"results/dynamics/models/seqmnist_h{n}.pt",
            "data": "resources/dynamics/seqmnist.npz",
            "split": [],
        }
    for entry in DYN["audit"]:
        parts = entry.split("/")
        if parts[0] == "mnist" and MNIST["enabled"]:
            nets[f"mnist_{parts[1]}"] = {
                "model": f"results/mnist/models/{parts[1]}.pt",
                "data": "resources/mnist/digits.npz",
                "split": [],
            }
        elif parts[0] == "synthetic" and SYN["enabled"]:
            nets[f"synthetic_{parts[1]}_{parts[2]}"] = {
                "model": synthetic_model(parts[1], parts[2], "seed0"),
                "data": f"resources/synthetic/{parts[1]}.npz",
                "split": [],
            }
        elif parts[0] == "hcp" and HCP["enabled"]:
            nets[f"hcp_{parts[1]}_{parts[2]}"] = {
                "model": hcp_model_file(parts[1], parts[2], "seed0"),
                "data": f"results/hcp/samples/{parts[1]}.npz",
                "split": ["results/hcp/split.tsv"],
            }
    return nets


DYN_NETWORKS = dynamics_networks() if DYN["enabled"] else {}


def dynamics_targets():
    if not DYN["enabled"]:
        return []
    return (
        expand("results/dynamics/{table}.{ext}", table=["table1", "capacity"], ext=["tsv", "md"])
        + expand("results/dynamics/figures/{fig}.{ext}", fig=["distributions", "capacity"], ext=["png", "pdf"])
        + expand(
            "results/dynamics/{network}/figures/{fig}.{ext}",
            network=list(DYN_NETWORKS),
            fig=["heatmap", "ablation"],
            ext=["png", "pdf"],
        )
    )


# ---- provenance --------------------------------------------------------------
BRANCH_TARGETS = {
    "synthetic": synthetic_targets,
    "hcp": hcp_targets,
    "mnist": mnist_targets,
    "dynamics": dynamics_targets,
}


def provenance_targets():
    return [f"results/{b}/provenance.json" for b in BRANCH_TARGETS if config[b]["enabled"]]
