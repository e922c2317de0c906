# Synthetic-box branch: generate -> train -> saliency + metrics -> tables and figures.


rule synthetic_generate:
    output:
        "resources/synthetic/{dataset}.npz",
    params:
        settings=lambda wc: dataset_settings(wc.dataset),
        seed=job_seed("synthetic_generate"),
    log:
        "logs/synthetic/generate/{dataset}.log",
    benchmark:
        "logs/benchmark/synthetic/generate/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/synthetic.yaml"
    script:
        "../workflow_scripts/synthetic_generate.py"


rule synthetic_train:
    input:
        "resources/synthetic/{dataset}.npz",
    output:
        model="results/synthetic/models/{dataset}/{model}.pt",
        sidecar="results/synthetic/models/{dataset}/{model}.json",
    params:
        models=config["models"],
        training=config["training"],
        seed=job_seed("synthetic_train"),
    log:
        "logs/synthetic/train/{dataset}_{model}.log",
    benchmark:
        "logs/benchmark/synthetic/train/{dataset}_{model}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../envs/synthetic.yaml"
    script:
        "../workflow_scripts/synthetic_train.py"


rule synthetic_saliency:
    input:
        data="resources/synthetic/{dataset}.npz",
        model="results/synthetic/models/{dataset}/{model}.pt",
    output:
        metrics="results/synthetic/metrics/{dataset}/{model}_{method}.tsv",
        examples="results/synthetic/saliency/{dataset}/{model}_{method}_examples.npz",
    params:
        saliency=config["saliency"],
        seed=job_seed("synthetic_saliency"),
    log:
        "logs/synthetic/saliency/{dataset}_{model}_{method}.log",
    benchmark:
        "logs/benchmark/synthetic/saliency/{dataset}_{model}_{method}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../envs/synthetic.yaml"
    script:
        "../workflow_scripts/synthetic_saliency.py"


rule synthetic_table:
    input:
        lambda wc: metric_files(synthetic_runs(wc.table)),
    output:
        tsv=report("results/synthetic/{table}.tsv", caption="../report/synthetic_table.rst",
                   category="Synthetic boxes", labels={"table": "{table}", "format": "tsv"}),
        md="results/synthetic/{table}.md",
    params:
        runs=lambda wc: metric_runs(synthetic_runs(wc.table)),
        title=lambda wc: {"table1": "Table 1: saliency quality on the synthetic boxes",
                          "table2": "Table 2: all nine architectures"}[wc.table],
    wildcard_constraints:
        table="table1|table2",
    log:
        "logs/synthetic/{table}.log",
    benchmark:
        "logs/benchmark/synthetic/{table}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/synthetic.yaml"
    script:
        "../workflow_scripts/synthetic_table.py"


rule synthetic_moving_figure:
    input:
        [f"results/synthetic/metrics/{d}/{m}_{PRIMARY_METHOD}.tsv" for d, m in synthetic_runs("moving")],
    output:
        tsv="results/synthetic/moving_box.tsv",
        png=report("results/synthetic/figures/moving_box.png", caption="../report/moving_box.rst",
                   category="Synthetic boxes", labels={"figure": "moving box (Fig. 5)"}),
        pdf="results/synthetic/figures/moving_box.pdf",
    params:
        runs=[(d, m, PRIMARY_METHOD) for d, m in synthetic_runs("moving")],
        starts={d: min(b["time"][0] for p in SYN["datasets"][d]["patterns"] for b in p)
                for d in SYN["moving"]["datasets"]},
    log:
        "logs/synthetic/moving_box.log",
    benchmark:
        "logs/benchmark/synthetic/moving_box.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/synthetic.yaml"
    script:
        "../workflow_scripts/synthetic_moving_figure.py"


rule synthetic_heatmaps:
    input:
        lambda wc: [f"results/synthetic/saliency/{wc.dataset}/{m}_{PRIMARY_METHOD}_examples.npz"
                    for m in models_for_dataset(wc.dataset)],
    output:
        png=report("results/synthetic/figures/saliency_{dataset}.png", caption="../report/heatmaps.rst",
                   category="Synthetic boxes", labels={"figure": "saliency maps (Fig. 3)", "dataset": "{dataset}"}),
        pdf="results/synthetic/figures/saliency_{dataset}.pdf",
    log:
        "logs/synthetic/heatmaps_{dataset}.log",
    benchmark:
        "logs/benchmark/synthetic/heatmaps_{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/synthetic.yaml"
    script:
        "../workflow_scripts/synthetic_heatmaps.py"
