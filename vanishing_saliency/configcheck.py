"""Config errors in a few lines: the file, the key path, the bad value and what is allowed.

- YAML syntax errors with their line and column (:func:`yaml_problem`; Snakemake itself reports
  only "not valid JSON or YAML", so ``make`` runs this check before Snakemake, and
  ``python -m vanishing_saliency.configcheck FILE`` runs it by hand);
- schema errors (:func:`schema_problem`): the first error of ``schemas/config.schema.yaml`` (by
  jsonschema's relevance), with the key's description, the allowed values of an enum, and for
  an unknown key the nearest valid name;
- checks across keys that a schema cannot express (:func:`check_config`: names that must be defined
  elsewhere, Table 2's seeds within Table 1's, the synthetic boxes inside their samples, each HCP
  experiment's window inside the protocol's blocks, the audited networks trained somewhere), and the
  HCP subject list (:func:`hcp_subjects`);
- :func:`reported`: any :class:`~vanishing_saliency.errors.ConfigError` raised inside it is printed
  as one message naming where the bad value came from (the config file, or the command line's
  ``--config`` for a key set there), and the process exits with status 1: no schema dump, no traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import sys
from pathlib import Path

import pandas as pd
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .errors import ConfigError
from .hcp import bids, derivatives
from .hcp.blocks import check_experiment
from .hcp.clean import STRATEGIES
from .hcp.io import SUBJECT_ID, discover_subjects
from .hcp.runs import missing_required, strategies_of, strategy_arguments
from .hcp.tasks import BLOCK_EVS
from .synthetic import check_patterns

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
SUBJECTS_SCHEMA = SCHEMA.parent / "subjects.schema.yaml"

# How to change a few keys: said with every missing key, since a partial config file is the usual cause.
PARTIAL_CONFIG_HINT = (
    "a config file given with --configfile replaces config.yaml whole (keys are not merged): start from a copy of "
    "config.yaml and edit it, or change a few keys of the default with --config key=value"
)


def config_source(configfiles) -> str:
    """How to name the config in a message: the file(s) given, or the embedded default."""
    return ", ".join(map(str, configfiles)) if configfiles else "config.yaml (the embedded default)"


def yaml_problem(path) -> str | None:
    """A YAML syntax error of ``path`` with its line and column, or None when the file parses."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        return f"config file {path} not found"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"config error in {path}{where}: YAML syntax: {exc.problem or exc.context}"
    except yaml.YAMLError as exc:
        return f"config error in {path}: YAML syntax: {exc}"
    if not isinstance(data, dict):
        return f"config error in {path}: expected keys at the top level (a YAML mapping), got {type(data).__name__}"
    return None


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _described(schema: dict) -> str:
    d = " ".join(str(schema.get("description", "")).split())
    return f" ({d})" if d else ""


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/"):
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        return {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def schema_problem(config: dict, schema: dict) -> str | None:
    """The most relevant schema error of ``config`` as one readable line (without the file), or None."""

    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    where, sub = _path(error.absolute_path), _resolve(error.schema, schema)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = list(sub.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        key = unknown[0] if unknown else "?"
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return (
            f"{where}: unknown key `{key}`{hint} Allowed here: {', '.join(allowed)}"
            if allowed
            else f"{where}: unknown key `{key}`"
        )
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        prop = _resolve(sub.get("properties", {}).get(missing, {}), schema)
        return f"{where}: the key `{missing}` is missing{_described(prop)}. Note: {PARTIAL_CONFIG_HINT}"
    if kind == "enum":
        return (
            f"{where}: {error.instance!r} is not allowed; allowed: {', '.join(map(str, error.validator_value))}"
            f"{_described(sub)}"
        )
    if kind == "pattern" and error.absolute_path:
        return f"{where}: {error.instance!r} does not match {error.validator_value}{_described(sub)}"
    if kind == "propertyNames":
        return f"{where}: a name here {error.message}{_described(sub)}"
    return f"{where}: {error.message}{_described(sub)}"


def check_schema(config: dict, schema_path=SCHEMA) -> None:
    """Raise ConfigError with :func:`schema_problem`'s message if the config breaks the schema; the error's
    ``key`` is the dotted path of the offending key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    problem = schema_problem(config, schema)
    if problem:
        error = best_match(Draft202012Validator(schema).iter_errors(config))
        raise ConfigError(problem, key=_path(error.absolute_path))


def _dotted(mapping, prefix: str = "") -> dict[str, object]:
    """{"a.b": value} of every leaf of a nested mapping."""
    out = {}
    for k, v in mapping.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out.update(_dotted(v, key) if isinstance(v, dict) and v else {key: v})
    return out


def blame(source: str, key: str | None, overrides=None) -> str:
    """Where a bad value came from: the command line when ``key`` (or a key above it) was set with
    ``--config`` (``overrides``: that nested dict), otherwise ``source``."""
    if key:
        for k, v in _dotted(dict(overrides or {})).items():
            if key == k or key.startswith((k + ".", k + "[")) or k.startswith(key + "."):
                return f"the command line (--config {k}={v!r})"
    return source


@contextlib.contextmanager
def reported(source: str, overrides=None):
    """Print a ConfigError raised inside as ``config error in <where>: <message>`` and exit 1; ``<where>`` is
    ``source``, or the command line for a key set there (``overrides``: the ``--config`` values)."""
    try:
        yield
    except ConfigError as exc:
        sys.stderr.write(f"config error in {blame(source, exc.key, overrides)}: {exc}\n")
        sys.exit(1)


# ---- checks across keys (what a JSON schema cannot express) --------------------------------------------------------


def trained_datasets(cfg: dict) -> set[str]:
    """The synthetic datasets some table or the moving-box experiment trains on."""
    syn = cfg["synthetic"]
    return {d for g in ("table1", "table2", "moving") for d in syn[g]["datasets"]}


def models_for_dataset(cfg: dict, dataset: str) -> list[str]:
    """Every model trained on a synthetic dataset, in first-use order."""
    syn, seen = cfg["synthetic"], []
    for group in ("table1", "table2", "moving"):
        if dataset in syn[group]["datasets"]:
            seen += [m for m in syn[group]["models"] if m not in seen]
    return seen


def check_dataset_defined(cfg: dict, name: str) -> None:
    """A synthetic dataset a rule is asked for (a target on the command line, too) must be defined."""
    datasets = cfg["synthetic"]["datasets"]
    if name not in datasets:
        raise ConfigError(
            f"synthetic dataset {name!r} is used but not defined under synthetic.datasets "
            f"(defined: {', '.join(sorted(datasets))})"
        )


def check_synthetic(cfg: dict) -> None:
    """The synthetic branch's and saliency's cross-key checks; each error names the offending key."""
    syn = cfg["synthetic"]
    defined = ", ".join(sorted(syn["datasets"]))
    for name, ds in syn["datasets"].items():
        check_patterns(name, ds["patterns"], syn["n_time"], syn["n_features"])
    for group in ("table1", "table2", "moving"):
        for name in syn[group]["datasets"]:
            if name not in syn["datasets"]:
                raise ConfigError(
                    f"synthetic.{group}.datasets names {name!r}, which is not defined under synthetic.datasets "
                    f"(defined: {defined})",
                    key=f"synthetic.{group}.datasets",
                )
    for name in syn["heatmap_datasets"]:
        if name not in trained_datasets(cfg):
            raise ConfigError(
                f"synthetic.heatmap_datasets names {name!r}, which no table or moving-box experiment trains on",
                key="synthetic.heatmap_datasets",
            )
    curve = syn["epoch_curve"]
    if curve["dataset"] not in syn["datasets"]:
        raise ConfigError(
            f"synthetic.epoch_curve.dataset names {curve['dataset']!r}, which is not defined under "
            f"synthetic.datasets (defined: {defined})",
            key="synthetic.epoch_curve.dataset",
        )
    partial = syn.get("partial_window")
    if partial and partial["dataset"] not in syn["datasets"]:
        raise ConfigError(
            f"synthetic.partial_window.dataset names {partial['dataset']!r}, which is not defined under "
            f"synthetic.datasets (defined: {defined})",
            key="synthetic.partial_window.dataset",
        )
    if syn["table2"]["seeds"] > syn["seeds"]:
        raise ConfigError(
            f"synthetic.table2.seeds = {syn['table2']['seeds']} is more than synthetic.seeds = "
            f"{syn['seeds']} (Table 2 shares its first seeds with Table 1)",
            key="synthetic.table2.seeds",
        )
    sal = cfg["saliency"]
    methods = set(sal["methods"]) | set(syn["method_table"]["methods"])
    tint = sorted(methods & {"extremal_mask", "tint_dynamask"})
    if tint and importlib.util.find_spec("tint") is None:
        raise ConfigError(
            f"saliency: {', '.join(tint)} come from time-interpret, which is not installed here: "
            'pip install "vanishing_saliency[tint]" (make venv installs it)',
            key="saliency.methods",
        )
    if "gradient_shap" in methods and not sal.get("gradient_shap_baseline"):
        raise ConfigError(
            "saliency: gradient_shap is a method but saliency.gradient_shap_baseline is not set "
            "(allowed: train, zeros)",
            key="saliency.gradient_shap_baseline",
        )
    flat = syn["summary"]["deciding_metric"]["4b"]
    if flat not in syn["summary"]["flat_margin"]:
        raise ConfigError(
            f"synthetic.summary.flat_margin has no margin for {flat!r}, the metric that decides claim 4b "
            "(synthetic.summary.deciding_metric.4b)",
            key="synthetic.summary.flat_margin",
        )
    deciding = set(syn["summary"]["deciding_metric"].values())
    lacking = sorted(deciding - set(syn["summary"]["smallest_effect"]))
    if lacking:
        raise ConfigError(
            f"synthetic.summary.smallest_effect has no value for {', '.join(map(repr, lacking))}, a metric that "
            "decides a box claim (synthetic.summary.deciding_metric)",
            key="synthetic.summary.smallest_effect",
        )


def hcp_layout(hcp: dict) -> str:
    """The layout the HCP branch reads: ``s1200`` (an HCP tree, simulated or not) or ``fmriprep`` (fMRIPrep
    derivatives of a BIDS dataset: source fmriprep, or a simulated cohort written so)."""
    if hcp["source"] == "fmriprep" or (hcp["source"] == "simulated" and hcp["simulate"].get("layout") == "fmriprep"):
        return "fmriprep"
    return "s1200"


def check_hcp_layout(hcp: dict) -> None:
    """The input layout's keys: the tasks it can read, the confound strategies it can build, its folders."""
    layout = hcp_layout(hcp)
    cleaning = hcp["cleaning"]
    custom = cleaning.get("confound_strategies") or {}
    names = strategies_of(cleaning)
    if layout == "s1200":
        for task in hcp["tasks"]:
            if task not in BLOCK_EVS:
                raise ConfigError(
                    f"hcp.tasks: {task} is not an HCP task of the S1200 layout (known: {', '.join(BLOCK_EVS)}); "
                    "another dataset's tasks are read with hcp.source: fmriprep and defined under hcp.fmriprep.tasks",
                    key="hcp.tasks",
                )
        for name in names:
            if name not in STRATEGIES:
                raise ConfigError(
                    f"hcp.cleaning: strategy {name!r} is not one the S1200 layout can build (known: "
                    f"{', '.join(STRATEGIES)}); strategies under hcp.cleaning.confound_strategies read fMRIPrep's "
                    "confounds table (hcp.source: fmriprep)",
                    key="hcp.cleaning.strategy" if name == cleaning["strategy"] else "hcp.cleaning.compare_strategies",
                )
        return
    for name in names:
        if name not in STRATEGIES and name not in custom:
            raise ConfigError(
                f"hcp.cleaning: strategy {name!r} is neither built in ({', '.join(STRATEGIES)}) nor defined under "
                f"hcp.cleaning.confound_strategies ({', '.join(custom) or 'none defined'})",
                key="hcp.cleaning.strategy" if name == cleaning["strategy"] else "hcp.cleaning.compare_strategies",
            )
    fmriprep = hcp.get("fmriprep")
    if not fmriprep:
        raise ConfigError(
            "hcp.fmriprep is missing: the fMRIPrep layout needs its roots and each task's BIDS label and block trial "
            "types (see config.yaml)",
            key="hcp.fmriprep",
        )
    for task in hcp["tasks"]:
        if task not in fmriprep["tasks"]:
            raise ConfigError(
                f"hcp.tasks: {task} is not defined under hcp.fmriprep.tasks (defined: "
                f"{', '.join(fmriprep['tasks']) or 'none'}): give its bids_task and block trial types",
                key="hcp.fmriprep.tasks",
            )
    if hcp["source"] == "simulated":
        missing = [t for t in hcp["tasks"] if t not in BLOCK_EVS]
        if missing:
            raise ConfigError(f"hcp.tasks: the simulated cohort has only {', '.join(BLOCK_EVS)}", key="hcp.tasks")
        for task in hcp["tasks"]:
            spec = fmriprep["tasks"][task]
            unmapped = [c for c in BLOCK_EVS[task] if c not in spec["blocks"]]
            if unmapped:
                raise ConfigError(
                    f"hcp.fmriprep.tasks.{task}.blocks: the simulated cohort's {task} blocks are "
                    f"{', '.join(BLOCK_EVS[task])}; {', '.join(unmapped)} missing",
                    key=f"hcp.fmriprep.tasks.{task}.blocks",
                )
        return
    for key in ("bids_root", "derivatives"):
        if not fmriprep.get(key) or not Path(fmriprep[key]).is_dir():
            raise ConfigError(
                f"hcp.fmriprep.{key} {fmriprep.get(key)!r} is not a directory (hcp.source: fmriprep reads "
                + (
                    "the raw BIDS dataset's events and sidecars there)"
                    if key == "bids_root"
                    else "fMRIPrep's output there)"
                ),
                key=f"hcp.fmriprep.{key}",
            )


def check_fmriprep_tasks_found(hcp: dict, found_tasks) -> None:
    """Source fmriprep, before any job: every task of ``hcp.tasks`` has a run in some subject (``found_tasks``: the
    tasks whose runs were found); a task label no subject has is one config error, not a failed check per subject.
    """
    missing = [task for task in hcp["tasks"] if task not in set(found_tasks)]
    if not missing:
        return
    derivatives = Path(hcp["fmriprep"]["derivatives"])
    labels = sorted(
        {f.name.split("task-")[1].split("_")[0] for f in derivatives.glob(f"sub-*/**/*{bids.CIFTI_ENTITIES}")}
    )
    raise ConfigError(
        "hcp.fmriprep.tasks: no subject of the cohort has a run of "
        + ", ".join(f"{t} (task-{hcp['fmriprep']['tasks'][t]['bids_task']})" for t in missing)
        + f" under {derivatives} (expected sub-<s>/[ses-<x>/]func/*_task-<label>_*{bids.CIFTI_ENTITIES}; task labels "
        f"found: {', '.join(labels) or 'none'})",
        key="hcp.fmriprep.tasks",
    )


def check_hcp(cfg: dict) -> None:
    """The input layout's keys (:func:`check_hcp_layout`); every analysed HCP experiment is defined and its window
    fits the protocol's blocks."""
    hcp = cfg["hcp"]
    check_hcp_layout(hcp)
    for name in hcp["analysis"]["experiments"]:
        if name not in hcp["experiments"]:
            raise ConfigError(
                f"hcp.analysis.experiments names {name!r}, which is not defined under hcp.experiments "
                f"(defined: {', '.join(hcp['experiments'])})",
                key="hcp.analysis.experiments",
            )
    for name in hcp["analysis"]["experiments"]:
        exp = hcp["experiments"][name]
        shift = exp.get("hrf_shift_s", hcp["blocks"]["hrf_shift_s"])
        check_experiment(name, exp, hcp["tr"], shift, hcp["blocks"]["on_frames"], hcp["tasks"])
    saliency_labels(hcp)


def saliency_labels(hcp: dict) -> dict[str, str]:
    """``{BIDS label: experiment}`` of the analysed experiments with saliency maps (kinds on_task and on_off): the
    ``desc-<label>`` of their maps in the derivative dataset (:func:`.hcp.derivatives.bids_label`).  ConfigError when
    two experiments share a label (``on_off`` and ``onoff``), which would share the maps' file names."""
    labels = {}
    for name in hcp["analysis"]["experiments"]:
        if hcp["experiments"][name]["kind"] not in ("on_task", "on_off"):
            continue
        label = derivatives.bids_label(name)
        if label in labels:
            raise ConfigError(
                f"hcp.analysis.experiments {labels[label]!r} and {name!r} both name their saliency maps desc-{label} "
                "in the BIDS derivative dataset (labels keep letters and digits only); rename one",
                key="hcp.analysis.experiments",
            )
        labels[label] = name
    return labels


def check_dynamics(cfg: dict) -> None:
    """Every network the cell-dynamics audit names is trained by an enabled branch of this config."""
    for entry in cfg["dynamics"]["audit"]:
        branch, *parts = entry.split("/")
        if not cfg.get(branch, {}).get("enabled", False):
            continue  # the audit skips networks of disabled branches
        if branch == "mnist" and parts[0] not in cfg["mnist"]["models"]:
            raise ConfigError(
                f"dynamics.audit {entry}: {parts[0]} is not in mnist.models {cfg['mnist']['models']}",
                key="dynamics.audit",
            )
        if branch == "synthetic" and (
            parts[0] not in cfg["synthetic"]["datasets"] or parts[1] not in models_for_dataset(cfg, parts[0])
        ):
            raise ConfigError(
                f"dynamics.audit {entry}: no {parts[1]} is trained on synthetic dataset "
                f"{parts[0]} (see synthetic.table1/table2/moving)",
                key="dynamics.audit",
            )
        analysis = cfg["hcp"]["analysis"]
        if branch == "hcp" and (parts[0] not in analysis["experiments"] or parts[1] not in analysis["models"]):
            raise ConfigError(
                f"dynamics.audit {entry}: hcp.analysis trains {analysis['models']} on {analysis['experiments']}",
                key="dynamics.audit",
            )


def check_config(cfg: dict) -> None:
    """Every cross-key check of a config that already passed the schema (:func:`check_schema`)."""
    check_synthetic(cfg)
    if cfg["hcp"]["enabled"]:
        check_hcp(cfg)
    if cfg["dynamics"]["enabled"]:
        check_dynamics(cfg)


def hcp_subjects(cfg: dict) -> tuple[list[str], list[str]]:
    """(subjects, skipped folders): the HCP cohort after ``hcp.exclude``, from the simulation's size, ``hcp.subjects``,
    ``hcp.subjects_sheet`` (validated against ``schemas/subjects.schema.yaml``) or the folders under ``hcp.root``
    (folders whose names are not subject IDs are skipped and returned).  ConfigError for a subject listed twice, a
    name that is not a subject ID, listed subjects without a folder under the root, or fewer than 3 subjects."""
    hcp, skipped = cfg["hcp"], []
    if hcp["source"] == "simulated":
        subjects = [f"9{i:05d}" for i in range(1, hcp["simulate"]["n_subjects"] + 1)]
    elif hcp.get("subjects"):
        subjects = [str(s) for s in hcp["subjects"]]
    elif hcp.get("subjects_sheet"):
        sheet = pd.read_csv(hcp["subjects_sheet"], sep="\t", dtype=str)
        if "subject" not in sheet.columns and "participant_id" in sheet.columns:  # a BIDS participants.tsv
            sheet["subject"] = sheet["participant_id"].str.removeprefix("sub-")
            sheet = sheet[["subject"]]
        validator = Draft202012Validator(yaml.safe_load(SUBJECTS_SCHEMA.read_text()))
        for i, row in enumerate(sheet.to_dict("records")):
            error = best_match(validator.iter_errors({k: v for k, v in row.items() if isinstance(v, str)}))
            if error is not None:
                raise ConfigError(f"hcp.subjects_sheet ({hcp['subjects_sheet']}), row {i + 1}: {error.message}")
        subjects = list(sheet["subject"])
    elif hcp["source"] == "fmriprep":
        subjects, skipped = bids.discover_subjects(hcp["fmriprep"]["derivatives"])
    else:
        subjects, skipped = discover_subjects(hcp["root"])
    seen = set()
    for s in subjects:
        if s in seen:
            raise ConfigError(f"hcp subjects: subject {s} is listed twice")
        if not SUBJECT_ID.match(s):
            raise ConfigError(f"hcp subjects: {s!r} is not a subject ID (letters and digits only; file names carry it)")
        seen.add(s)
    if hcp["source"] != "simulated" and (hcp.get("subjects") or hcp.get("subjects_sheet")):
        root = hcp["root"] if hcp["source"] == "raw" else hcp["fmriprep"]["derivatives"]
        folder = "{}" if hcp["source"] == "raw" else "sub-{}"
        missing = [s for s in subjects if not (Path(root) / folder.format(s)).is_dir()]
        if missing:
            key = "hcp.subjects" if hcp.get("subjects") else f"hcp.subjects_sheet ({hcp['subjects_sheet']})"
            where = f"hcp.root {root}" if hcp["source"] == "raw" else f"hcp.fmriprep.derivatives {root} (sub-<label>)"
            raise ConfigError(
                f"{key}: {len(missing)} listed subject(s) have no folder under {where}: {', '.join(missing)}"
            )
    kept = [s for s in subjects if s not in set(map(str, hcp["exclude"]))]
    if len(kept) < 3:
        raise ConfigError(
            f"hcp: {len(kept)} subject(s) after hcp.exclude, but the train / validation / test "
            "split (hcp.split) needs at least 3: list more under hcp.subjects (or hcp.simulate.n_subjects)"
        )
    return kept, skipped


def subjects_with_required_runs(hcp: dict, runs: dict) -> tuple[list[str], dict[str, list[str]]]:
    """The subjects that have the runs ``hcp.require_runs`` demands, and what each other one lacks.

    Parameters
    ----------
    hcp : dict
        Config ``hcp`` (``tasks``, ``require_runs``).
    runs : dict
        ``{subject: its runs}`` (entries of ``hcp.io.subject_runs`` / ``hcp.bids.subject_runs``), in cohort order.

    Returns
    -------
    kept : list of str
        The subjects with every demanded run.
    missing : dict
        ``{subject: [what it lacks, ...]}`` of the others (:func:`.hcp.runs.missing_required`).

    Raises
    ------
    ConfigError
        When fewer than 3 subjects are kept (the split needs them).
    """
    missing = {s: m for s, r in runs.items() if (m := missing_required(r, hcp["tasks"], hcp.get("require_runs")))}
    kept = [s for s in runs if s not in missing]
    if len(kept) < 3:
        raise ConfigError(
            f"hcp: {len(kept)} subject(s) have the runs hcp.require_runs demands ({hcp['require_runs']}), but the "
            "split (hcp.split) needs at least 3: ask for fewer runs",
            key="hcp.require_runs",
        )
    return kept, missing


def strategies_no_run_can_build(hcp: dict, runs) -> dict[str, str]:
    """The configured confound strategies that no run's confounds table can build, asked once per distinct table
    header (:func:`.hcp.bids.strategies_a_table_cannot_build`) before any job.

    Parameters
    ----------
    hcp : dict
        Config ``hcp`` (its ``cleaning``: ``strategy``, ``compare_strategies``).
    runs : iterable of dict
        The cohort's fMRIPrep runs (entries of :func:`.hcp.bids.subject_runs`; absent runs and runs without a
        confounds table are skipped: their checks report them).

    Returns
    -------
    dict
        Compared strategy -> what the first table lacks for it; empty when every strategy can be built from some run.

    Raises
    ------
    ConfigError
        When no run can build the cleaning's own strategy (``hcp.cleaning.strategy``): no run could be cleaned.
    """
    cleaning = hcp["cleaning"]
    strategies = strategy_arguments(cleaning, strategies_of(cleaning))
    tables = {}
    for run in runs:
        path = Path(run.get("confounds") or "")
        if run.get("absent") or not path.is_file():
            continue
        with open(path, encoding="utf-8") as f:
            header = f.readline()
        sidecar = path.with_suffix(".json")
        tables.setdefault((header, sidecar.read_text(encoding="utf-8") if sidecar.is_file() else ""), path)
    if not tables:
        return {}
    problems = [bids.strategies_a_table_cannot_build(path, strategies) for path in tables.values()]
    never = {name: problems[0][name] for name in strategies if all(name in p for p in problems)}
    if cleaning["strategy"] in never:
        raise ConfigError(
            f"hcp.cleaning.strategy {cleaning['strategy']!r}: no run's confounds table can build it "
            f"({len(tables)} distinct table header(s) read): {never[cleaning['strategy']]}",
            key="hcp.cleaning.strategy",
        )
    return never


def main(argv=None) -> int:
    """``python -m vanishing_saliency.configcheck FILE``: the YAML syntax and schema checks of one config file."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python -m vanishing_saliency.configcheck CONFIG.yaml\n")
        return 2
    problem = yaml_problem(argv[0])
    if problem is None:
        schema_issue = schema_problem(yaml.safe_load(Path(argv[0]).read_text()), yaml.safe_load(SCHEMA.read_text()))
        problem = f"config error in {argv[0]}: {schema_issue}" if schema_issue else None
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
