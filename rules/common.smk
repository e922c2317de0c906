# Python helpers shared by every .smk file: job seeds, target and input lists.  The config's checks are in
# vanishing_saliency/configcheck.py; the rules' code in vanishing_saliency/steps/<rule file>.py (README).
import collections
import functools
import os
import re
from pathlib import Path

from snakemake.logging import logger

from vanishing_saliency.claims.synthetic import MOVING_CLAIM_MODELS
from vanishing_saliency.hcp.controls import control_runs, run_index, run_kind
from vanishing_saliency.configcheck import (
    check_config,
    check_dataset_defined,
    check_fmriprep_tasks_found,
    hcp_layout,
    hcp_subjects,
    models_for_dataset,
    saliency_labels,
)
from vanishing_saliency.hcp import bids, derivatives
from vanishing_saliency.errors import ConfigError
from vanishing_saliency.hcp.geometry import ATLAS_ARRAYS
from vanishing_saliency.hcp.io import subject_runs
from vanishing_saliency.hcp.runs import missing_required, run_files
from vanishing_saliency.labels import ARCHITECTURES, SALIENCY_METHODS as ALL_METHODS
from vanishing_saliency.provenance import code_url
from vanishing_saliency.workflow import derive_seed

with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
    check_config(config)


# The derive_seed key of each seeded job. Frozen, since renaming one would change every number it seeds.
SEED_KEYS = {
    "synthetic_generate": "synthetic",
    "synthetic_train": "train",
    "synthetic_saliency": "saliency",
    "synthetic_noise": "synthetic-noise",
    "synthetic_methods": "synthetic-methods",
    "synthetic_epoch_curve": "synthetic-epoch-curve",
    "synthetic_partial_window": "synthetic-partial-window",
    "synthetic_table": "synthetic-table",
    "synthetic_gates": "synthetic-gates",
    "hcp_simulate": "hcp-simulate",
    "hcp_simulate.area_seed": "hcp-areas",
    "hcp_split": "hcp-split",
    "hcp_train": "hcp-train",
    "hcp_saliency": "hcp-saliency",
    "hcp_feature_drop": "hcp-feature-drop",
    "hcp_accuracy": "hcp-accuracy",
    "hcp_onoff": "hcp-onoff",
    "hcp_summary": "hcp-summary",
    "mnist_prepare": "mnist-subset",
    "mnist_train": "mnist-train",
    "mnist_saliency": "mnist-saliency",
    "mnist_figures": "mnist-examples",
    "dynamics_prepare": "dynamics-subset",
    "dynamics_train": "dynamics-train",
    "dynamics_audit": "dynamics-audit",
}


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
# every moving-box position is a replicate of claims 4a / 4b: it gets as many training runs as Table 1
GROUP_SEEDS = {"table1": SYN["seeds"], "table2": SYN["table2"]["seeds"], "moving": SYN["seeds"]}


def group_seeds(group, model):
    """Training seeds of a model in a group: the group's, but synthetic.moving.other_seeds (where set) for the
    moving-box models no claim reads (all but MOVING_CLAIM_MODELS: the LSTM of 4a, input-cell attention of 4b)."""
    other = SYN["moving"].get("other_seeds")
    if group == "moving" and other and model not in MOVING_CLAIM_MODELS:
        return other
    return GROUP_SEEDS[group]


def synthetic_pairs(group):
    """(dataset, model) pairs of one experiment group: table1, table2 or moving."""
    g = SYN[group]
    return [(d, m) for d in g["datasets"] for m in g["models"]]


def pair_runs(n_seeds):
    """The runs of a pair with ``n_seeds`` training seeds: seed0, seed1, ..., then as many untrained models
    (untrained0, ...: the architecture at initial weights of their own seeds), since a run is the replicate of a
    claim and the untrained floor is compared run against run."""
    return [f"seed{k}" for k in range(n_seeds)] + [f"untrained{k}" for k in range(n_seeds)]


def metric_keys(group, methods=None):
    """(dataset, model, run, method) of every per-sample metrics file of a group."""
    return [
        (d, m, run, meth)
        for d, m in synthetic_pairs(group)
        for run in pair_runs(group_seeds(group, m))
        for meth in (methods or METHODS)
    ]


def gate_keys():
    """(dataset, model, run, method) of every run of every group, once, scored by the primary method: the runs the
    gates table holds (each against its label-permutation null)."""
    return list(dict.fromkeys(k for g in GROUP_SEEDS for k in metric_keys(g, [PRIMARY_METHOD])))


def metric_file(dataset, model, run, method):
    return f"results/synthetic/metrics/{dataset}/{model}_{run}_{method}.tsv"


def synthetic_model(dataset, model, run, ext="pt"):
    return f"results/synthetic/models/{dataset}/{model}_{run}.{ext}"


def noise_file(dataset):
    return f"results/synthetic/metrics/{dataset}/noise.tsv"


def group_datasets(group):
    return list(SYN[group]["datasets"])


def run_training(training, run):
    """The training settings of one run: the branch's, or no epoch at all for an untrained floor."""
    return {**training, "max_epochs": 0} if run.startswith("untrained") else training


def pair_seed_count(dataset, model):
    """A trained pair's training seeds: the most of the groups (table1, table2, moving) it belongs to (they share
    their first seeds)."""
    return max(
        group_seeds(g, model) for g in GROUP_SEEDS if dataset in SYN[g]["datasets"] and model in SYN[g]["models"]
    )


def synthetic_run_classes():
    """Every trained (dataset, model) pair, grouped by its number of training seeds: one job per pair trains and scores
    all its runs (its seeds, then as many untrained floors), and a job's outputs are fixed by its rule, so each seed
    count has its rule (synthetic_train_seeds<k>)."""
    classes = {}
    for d, m in dict.fromkeys(p for g in GROUP_SEEDS for p in synthetic_pairs(g)):
        classes.setdefault(pair_seed_count(d, m), []).append((d, m))
    return dict(sorted(classes.items()))


def pair_constraint(pairs):
    """The {pair} wildcard ("<dataset>/<model>") pinned to exactly these pairs."""
    return "|".join(re.escape(f"{d}/{m}") for d, m in pairs) or "no-pair"


def run_seeds(rule, runs, before, after=()):
    """{run: seed} of a job that covers several runs: each run keeps the seed a job of that run alone had (the
    rule's seed key, then the wildcard values in file-name order: ``before``, the run, ``after``)."""
    return {run: derive_seed(config["seed"], SEED_KEYS[rule], *before, run, *after) for run in runs}


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
    """The runs of a model in an experiment: its training seeds, then its control runs (control_runs: as many runs as
    seeds for the controls a claim compares against, the LSTM's and input-cell attention's in an on_off experiment,
    one run of the others; or, with hcp.analysis.control_runs: all, as many runs of every control)."""
    return HCP_SEED_RUNS + control_runs(
        HCPA["controls"], HCPA["seeds"], experiment_kind(experiment), model, HCPA["control_runs"]
    )


def hcp_saliency_run_names(experiment, model):
    """The runs whose test saliency is computed: all but the time-shuffled control (its test samples are shuffled)."""
    return [r for r in hcp_runs(experiment, model) if not r.startswith("timeshuffled")]


def hcp_run_classes():
    """The analysed (experiment, model) cells grouped by their runs, as (runs, experiments, models, label) blocks.

    A job's outputs are fixed by its rule, so each set of runs has its pair of rules (hcp_train_controls<label>,
    hcp_saliency_controls<label>; the label is the most runs of any control, with a letter after it where several
    blocks have as many), pinned to its cells by the {experiment} and {model} wildcards.  Wildcard constraints are per
    wildcard, so the cells of one set of runs are split into blocks of experiments x models: the experiments whose
    models with these runs are the same share a block."""
    cells = {}
    for e in HCPA["experiments"]:
        for m in HCPA["models"]:
            cells.setdefault(tuple(hcp_runs(e, m)), {}).setdefault(e, []).append(m)
    blocks, names = [], collections.Counter()
    for runs, by_experiment in cells.items():
        grouped = {}
        for e, models in by_experiment.items():
            grouped.setdefault(tuple(models), []).append(e)
        for models, experiments in grouped.items():
            k = control_count(runs)
            suffix = "" if names[k] == 0 else chr(ord("a") + names[k])
            names[k] += 1
            blocks.append((runs, experiments, list(models), f"{k}{suffix}"))
    return blocks


def control_count(runs):
    """The most runs of any control among ``runs`` (names its class's rules)."""
    counts = collections.Counter(run_kind(r) for r in runs if not r.startswith("seed"))
    return max(counts.values(), default=0)


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
    REQUIRED_MISSING = {
        s: missing
        for s in HCP_SUBJECTS
        if (missing := missing_required(_subject_runs(s), HCP["tasks"], HCP["require_runs"]))
    }
    if REQUIRED_MISSING:
        logger.warning(
            f"hcp.require_runs: leaving out {len(REQUIRED_MISSING)} subject(s) without the runs it demands: "
            + "; ".join(f"sub-{s} (no {', '.join(m)})" for s, m in REQUIRED_MISSING.items())
        )
        HCP_SUBJECTS = [s for s in HCP_SUBJECTS if s not in REQUIRED_MISSING]
        if len(HCP_SUBJECTS) < 3:
            with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
                raise ConfigError(
                    f"hcp: {len(HCP_SUBJECTS)} subject(s) have the runs hcp.require_runs demands "
                    f"({HCP['require_runs']}), but the split (hcp.split) needs at least 3: ask for fewer runs",
                    key="hcp.require_runs",
                )


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
            return [r for r in hcp_runs(experiment, model) if r.startswith("untrained")]
        return runs

    return [
        {
            "model": m,
            "run": r,
            "seed": int(r[4:]) if r.startswith("seed") else None,
            "method": meth,
            "path": hcp_saliency_file(experiment, m, r, meth),
        }
        for meth in (methods or METHODS)
        for r, m in hcp_cells(runs_of)
    ]


def hcp_cells(runs_of):
    """Every (run, model) of the analysed models, ``runs_of(model)`` their runs: runs in order (the seeds, then each
    control's runs), the models of a run in config order."""
    per_model = {m: runs_of(m) for m in HCPA["models"]}
    kinds = ["trained", *HCPA["controls"]]
    ordered = sorted(
        {r for m in HCPA["models"] for r in per_model[m]}, key=lambda r: (kinds.index(run_kind(r)), run_index(r))
    )
    return [(r, m) for r in ordered for m in HCPA["models"] if r in per_model[m]]


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
