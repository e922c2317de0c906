"""The plan of a run: which training runs, seeds and controls exist, as pure functions of the config.

``rules/common.smk`` binds these to the workflow's config (paths and input functions stay there); the steps, tables
and claims read run names with :func:`run_kind` and :func:`run_index`, the one parser of them.

A *run* is the replicate of a claim (SPEC section 10): a trained model of one seed (``seed<k>``) or a control run
(``untrained<k>``: the architecture at its initial weights; ``permuted<k>``: trained on permuted labels;
``timeshuffled<k>``: trained on time-shuffled samples).  Null maps derived from a trained run's maps carry the run
in their name (``uniform seed1``, ``time-shuffled seed1``).

- synthetic branch: each (dataset, model) pair of a group (``table1``, ``table2``, ``moving``) has its seeds
  (:func:`group_seeds`) and as many untrained runs (:func:`pair_runs`); one job trains all the runs of a pair, one
  rule per seed count (:func:`synthetic_run_classes`);
- HCP branch: each (experiment, model) cell has the analysis' seeds, then its controls (:func:`control_runs`: as many
  runs as seeds for those a claim compares against), one rule pair per set of runs (:func:`hcp_run_classes`);
- seeds: every seeded job derives its seed from the config's ``seed``, the rule's key (:data:`SEED_KEYS`) and its
  wildcard values (:func:`run_seeds`).
"""

from __future__ import annotations

import collections

from .workflow import derive_seed

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

CONTROL_RUNS = ("permuted", "untrained", "timeshuffled")
# the controls a claim compares against, by experiment kind: the share claims 6a / 6b test the trained runs against
# the label-permuted and untrained runs, the drop claims 6c / 6d against the untrained maps; and the models whose
# controls they read (6a the LSTM's, 6b input-cell attention's, 6c / 6d the untrained maps of both)
CLAIM_CONTROLS = {"on_off": ("permuted", "untrained")}
CLAIM_MODELS = ("lstm", "inputcell_lstm")
# the moving-box models a claim reads (4a: the LSTM, 4b: input-cell attention); the others are drawn in Fig. 5 only
MOVING_CLAIM_MODELS = ("lstm", "inputcell_lstm")
SYNTHETIC_GROUPS = ("table1", "table2", "moving")


# ---- run names ------------------------------------------------------------------------------------------------


def run_kind(run) -> str:
    """What a run is, from its name.

    Parameters
    ----------
    run : str
        A run name: ``seed<k>``, a control's (``permuted<k>``, ``untrained<k>``, ``timeshuffled<k>``), a null map's
        (``uniform seed<k>``, ``time-shuffled seed<k>``) or another label.

    Returns
    -------
    str
        ``trained``, the control, ``uniform map``, ``time-shuffled map``, or the name itself (``logistic control``).
    """
    run = str(run)
    if run.startswith("seed"):
        return "trained"
    if run.startswith("uniform"):
        return "uniform map"
    if run.startswith("time-shuffled"):
        return "time-shuffled map"
    return next((c for c in CONTROL_RUNS if run.startswith(c)), run)


def run_index(run) -> int | None:
    """The replicate number of a run name.

    Parameters
    ----------
    run : str
        A run name (``seed2``, ``time-shuffled seed1``, ``logistic control``).

    Returns
    -------
    int or None
        Its trailing number (2, 1), None without one.
    """
    digits = str(run)[len(str(run).rstrip("0123456789")) :]
    return int(digits) if digits else None


# ---- seeds --------------------------------------------------------------------------------------------------


def run_seeds(seed: int, rule: str, runs, before=(), after=()) -> dict:
    """``{run: seed}`` of a job that covers several runs: each run keeps the seed a job of that run alone had.

    Parameters
    ----------
    seed : int
        The config's ``seed``.
    rule : str
        The rule whose key (:data:`SEED_KEYS`) seeds the runs.
    runs : iterable of str
        The runs.
    before, after : sequence of str
        The job's other wildcard values, in file-name order before and after the run's.

    Returns
    -------
    dict
        ``{run: derive_seed(seed, SEED_KEYS[rule], *before, run, *after)}``.
    """
    return {run: derive_seed(seed, SEED_KEYS[rule], *before, run, *after) for run in runs}


# ---- the synthetic branch -------------------------------------------------------------------------------------


def group_seeds(cfg: dict, group: str, model: str) -> int:
    """Training seeds of a model in a synthetic group.

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    group : str
        ``table1``, ``table2`` or ``moving``.
    model : str
        The architecture.

    Returns
    -------
    int
        The group's seeds (``synthetic.seeds`` for Table 1 and the moving box, ``synthetic.table2.seeds``), but
        ``synthetic.moving.other_seeds`` (where set) for the moving-box models no claim reads.
    """
    syn = cfg["synthetic"]
    other = syn["moving"].get("other_seeds")
    if group == "moving" and other and model not in MOVING_CLAIM_MODELS:
        return other
    return syn["table2"]["seeds"] if group == "table2" else syn["seeds"]


def synthetic_pairs(cfg: dict, group: str) -> list[tuple[str, str]]:
    """The (dataset, model) pairs of a synthetic group.

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    group : str
        ``table1``, ``table2`` or ``moving``.

    Returns
    -------
    list of tuple
        Every dataset with every model of the group, in config order.
    """
    g = cfg["synthetic"][group]
    return [(d, m) for d in g["datasets"] for m in g["models"]]


def pair_runs(n_seeds: int) -> list[str]:
    """The runs of a synthetic pair with ``n_seeds`` training seeds: ``seed0``, ... then as many ``untrained<k>``
    (the architecture at the initial weights of its own seed): the untrained floor is compared run against run.

    Parameters
    ----------
    n_seeds : int
        The pair's training seeds.

    Returns
    -------
    list of str
        ``2 * n_seeds`` run names.
    """
    return [f"seed{k}" for k in range(n_seeds)] + [f"untrained{k}" for k in range(n_seeds)]


def metric_keys(cfg: dict, group: str, methods=None) -> list[tuple[str, str, str, str]]:
    """(dataset, model, run, method) of every per-sample metrics file of a synthetic group.

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    group : str
        ``table1``, ``table2`` or ``moving``.
    methods : list of str, optional
        The saliency methods; ``saliency.methods`` when None.

    Returns
    -------
    list of tuple
        In pair, run, method order.
    """
    return [
        (d, m, run, meth)
        for d, m in synthetic_pairs(cfg, group)
        for run in pair_runs(group_seeds(cfg, group, m))
        for meth in (methods or cfg["saliency"]["methods"])
    ]


def gate_keys(cfg: dict) -> list[tuple[str, str, str, str]]:
    """Every run of every synthetic group, once, with the primary saliency method: the runs of the gates table.

    Parameters
    ----------
    cfg : dict
        The workflow's config.

    Returns
    -------
    list of tuple
        (dataset, model, run, method), first occurrence order over :data:`SYNTHETIC_GROUPS`.
    """
    primary = [cfg["saliency"]["methods"][0]]
    return list(dict.fromkeys(k for g in SYNTHETIC_GROUPS for k in metric_keys(cfg, g, primary)))


def run_training(training: dict, run: str) -> dict:
    """The training settings of one run.

    Parameters
    ----------
    training : dict
        The branch's training settings.
    run : str
        The run's name.

    Returns
    -------
    dict
        ``training``, or with ``max_epochs`` 0 for an untrained run.
    """
    return {**training, "max_epochs": 0} if run_kind(run) == "untrained" else training


def pair_seed_count(cfg: dict, dataset: str, model: str) -> int:
    """A trained pair's training seeds: the most of the synthetic groups it belongs to (they share their first seeds).

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    dataset, model : str
        The pair.

    Returns
    -------
    int
        The seed count.
    """
    syn = cfg["synthetic"]
    return max(
        group_seeds(cfg, g, model)
        for g in SYNTHETIC_GROUPS
        if dataset in syn[g]["datasets"] and model in syn[g]["models"]
    )


def synthetic_run_classes(cfg: dict) -> dict[int, list[tuple[str, str]]]:
    """Every trained synthetic pair, grouped by its number of training seeds.

    One job per pair trains and scores all its runs (its seeds, then as many untrained runs), and a job's outputs are
    fixed by its rule, so each seed count has its rule (``synthetic_train_seeds<k>``).

    Parameters
    ----------
    cfg : dict
        The workflow's config.

    Returns
    -------
    dict
        ``{seed count: [(dataset, model), ...]}``, by seed count.
    """
    classes = {}
    for d, m in dict.fromkeys(p for g in SYNTHETIC_GROUPS for p in synthetic_pairs(cfg, g)):
        classes.setdefault(pair_seed_count(cfg, d, m), []).append((d, m))
    return dict(sorted(classes.items()))


# ---- the HCP branch -------------------------------------------------------------------------------------------


def control_runs(controls, seeds: int, kind: str, model: str, which: str = "claims") -> list[str]:
    """The run names of a model's controls in an HCP experiment.

    The training run is the replicate of a claim (SPEC section 10), so a control a claim compares against gets as
    many runs as the trained model has seeds: the permuted and untrained controls of the LSTM and input-cell
    attention (:data:`CLAIM_MODELS`) in an on_off experiment.  With ``which = "claims"`` (``hcp.analysis.
    control_runs``, the default) the other controls (the time-shuffled classifier, every control of the on_task and
    off_task experiments, and the controls of the models no claim reads: Bi-LSTM and self-attention), which the
    accuracy, confound, share and ground-truth tables show as descriptive floors, get one run each; with ``"all"``
    every control of every model gets ``seeds`` runs.

    Parameters
    ----------
    controls : list of str
        ``hcp.analysis.controls``, in order.
    seeds : int
        ``hcp.analysis.seeds``.
    kind : str
        The experiment's kind (``on_task``, ``on_off``, ``off_task``).
    model : str
        The architecture.
    which : str, optional
        ``claims`` or ``all``.

    Returns
    -------
    list of str
        ``permuted0``, ``permuted1``, ..., then the next control's.
    """
    if which == "all":
        claimed = CONTROL_RUNS
    else:
        claimed = CLAIM_CONTROLS.get(kind, ()) if model in CLAIM_MODELS else ()
    return [f"{c}{k}" for c in controls for k in range(int(seeds) if c in claimed else 1)]


def hcp_runs(cfg: dict, experiment: str, model: str) -> list[str]:
    """The runs of a model in an HCP experiment: its training seeds, then its control runs (:func:`control_runs`).

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    experiment : str
        An experiment of ``hcp.experiments``.
    model : str
        The architecture.

    Returns
    -------
    list of str
        ``seed0``, ..., then the controls'.
    """
    analysis = cfg["hcp"]["analysis"]
    kind = cfg["hcp"]["experiments"][experiment]["kind"]
    seeds = [f"seed{k}" for k in range(analysis["seeds"])]
    return seeds + control_runs(analysis["controls"], analysis["seeds"], kind, model, analysis["control_runs"])


def hcp_saliency_run_names(cfg: dict, experiment: str, model: str) -> list[str]:
    """The runs whose test saliency is computed: all of :func:`hcp_runs` but the time-shuffled control's (its test
    samples are shuffled).

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    experiment, model : str
        The cell.

    Returns
    -------
    list of str
        The run names.
    """
    return [r for r in hcp_runs(cfg, experiment, model) if run_kind(r) != "timeshuffled"]


def control_count(runs) -> int:
    """The most runs of any control among ``runs`` (it names their class's rules).

    Parameters
    ----------
    runs : iterable of str
        Run names.

    Returns
    -------
    int
        0 without a control.
    """
    counts = collections.Counter(run_kind(r) for r in runs if run_kind(r) != "trained")
    return max(counts.values(), default=0)


def hcp_run_classes(cfg: dict) -> list[tuple[tuple, list, list, str]]:
    """The analysed (experiment, model) cells grouped by their runs, as (runs, experiments, models, label) blocks.

    A job's outputs are fixed by its rule, so each set of runs has its pair of rules (``hcp_train_controls<label>``,
    ``hcp_saliency_controls<label>``; the label is the most runs of any control, with a letter after it where several
    blocks have as many), pinned to its cells by the {experiment} and {model} wildcards.  Wildcard constraints are per
    wildcard, so the cells of one set of runs are split into blocks of experiments x models: the experiments whose
    models with these runs are the same share a block.

    Parameters
    ----------
    cfg : dict
        The workflow's config.

    Returns
    -------
    list of tuple
        ``(runs, experiments, models, label)``.
    """
    analysis = cfg["hcp"]["analysis"]
    cells = {}
    for e in analysis["experiments"]:
        for m in analysis["models"]:
            cells.setdefault(tuple(hcp_runs(cfg, e, m)), {}).setdefault(e, []).append(m)
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


def hcp_cells(cfg: dict, runs_of) -> list[tuple[str, str]]:
    """Every (run, model) of the analysed models.

    Parameters
    ----------
    cfg : dict
        The workflow's config.
    runs_of : callable
        ``runs_of(model)``: the model's runs.

    Returns
    -------
    list of tuple
        Runs in order (the seeds, then each control's runs, by replicate), the models of a run in config order.
    """
    analysis = cfg["hcp"]["analysis"]
    per_model = {m: runs_of(m) for m in analysis["models"]}
    kinds = ["trained", *analysis["controls"]]
    ordered = sorted(
        {r for m in analysis["models"] for r in per_model[m]}, key=lambda r: (kinds.index(run_kind(r)), run_index(r))
    )
    return [(r, m) for r in ordered for m in analysis["models"] if r in per_model[m]]
