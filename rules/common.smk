# Python helpers shared by every .smk file (cross-key config checks, target lists).
from vanishing_saliency.errors import ConfigError
from vanishing_saliency.models import REGISTRY
from vanishing_saliency.saliency import METHODS as ALL_METHODS
from vanishing_saliency.synthetic import check_patterns, dataset_settings
from vanishing_saliency.workflow import derive_seed


def check_config(cfg):
    """Checks a JSON schema cannot express; each error names the offending key."""
    syn = cfg["synthetic"]
    for name, ds in syn["datasets"].items():
        check_patterns(name, ds["patterns"], syn["n_time"], syn["n_features"])
    for group in ("table1", "table2", "moving"):
        for name in syn[group]["datasets"]:
            if name not in syn["datasets"]:
                raise ConfigError(
                    f"synthetic.{group}.datasets names {name!r}, which is not defined under "
                    f"synthetic.datasets (defined: {', '.join(sorted(syn['datasets']))})")
    for name in syn["heatmap_datasets"]:
        if name not in heatmap_pairs_datasets(cfg):
            raise ConfigError(
                f"synthetic.heatmap_datasets names {name!r}, which no table or moving-box experiment trains on")


def heatmap_pairs_datasets(cfg):
    syn = cfg["synthetic"]
    return {d for g in ("table1", "table2", "moving") for d in syn[g]["datasets"]}


check_config(config)


SYN = config["synthetic"]
METHODS = config["saliency"]["methods"]
PRIMARY_METHOD = METHODS[0]


def synthetic_runs(group):
    """(dataset, model) pairs of one experiment group: table1, table2 or moving."""
    g = SYN[group]
    return [(d, m) for d in g["datasets"] for m in g["models"]]


def models_for_dataset(dataset):
    """Every model trained on a dataset, in first-use order."""
    seen = []
    for group in ("table1", "table2", "moving"):
        if dataset in SYN[group]["datasets"]:
            seen += [m for m in SYN[group]["models"] if m not in seen]
    return seen


def metric_files(runs):
    return [f"results/synthetic/metrics/{d}/{m}_{meth}.tsv" for d, m in runs for meth in METHODS]


def synthetic_targets():
    return (
        expand("results/synthetic/{table}.{ext}", table=["table1", "table2"], ext=["tsv", "md"])
        + ["results/synthetic/moving_box.tsv"]
        + expand("results/synthetic/figures/moving_box.{ext}", ext=["png", "pdf"])
        + expand("results/synthetic/figures/saliency_{dataset}.{ext}",
                 dataset=SYN["heatmap_datasets"], ext=["png", "pdf"])
    )
