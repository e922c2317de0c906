# Cell-dynamics audit (SPEC section 8): sequential-MNIST LSTMs at several sizes + the other branches'
# LSTMs -> step/sine response of every cell, single-cell ablation -> Table 1, distributions, capacity.


rule dynamics_prepare:
    output:
        "resources/dynamics/seqmnist.npz",
    log:
        "logs/dynamics/prepare.log",
    benchmark:
        "logs/benchmark/dynamics/prepare.tsv"
    priority: 30
    conda:
        "../envs/dynamics.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(1),
    params:
        source=MNIST["source"],
        idx_folder=MNIST["idx_folder"],
        verify=MNIST["verify"],
        task=DYN["task"],
        seed=job_seed("dynamics_prepare"),
    script:
        "../workflow_scripts/dynamics_prepare.py"


rule dynamics_train:
    input:
        "resources/dynamics/seqmnist.npz",
    output:
        model="results/dynamics/models/seqmnist_h{hidden}.pt",
        sidecar="results/dynamics/models/seqmnist_h{hidden}.json",
    log:
        "logs/dynamics/train/seqmnist_h{hidden}.log",
    benchmark:
        "logs/benchmark/dynamics/train/seqmnist_h{hidden}.tsv"
    wildcard_constraints:
        hidden=r"\d+",
    priority: 30
    conda:
        "../envs/dynamics.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(1100),
        runtime=on_attempt(3),
    params:
        models=lambda wc: {**config["models"], **DYN["task"]["model_overrides"], "hidden": int(wc.hidden)},
        training={**config["training"], **DYN["task"]["training_overrides"]},
        seed=job_seed("dynamics_train"),
    script:
        "../workflow_scripts/dynamics_train.py"


rule dynamics_audit:
    input:
        model=lambda wc: DYN_NETWORKS[wc.network]["model"],
        data=lambda wc: DYN_NETWORKS[wc.network]["data"],
        split=lambda wc: DYN_NETWORKS[wc.network]["split"],
    output:
        cells="results/dynamics/{network}/cells.tsv",
        probes="results/dynamics/{network}/probes.tsv",
        summary="results/dynamics/{network}/summary.json",
        heatmap_png=report(
            "results/dynamics/{network}/figures/heatmap.png",
            caption="../report/dynamics_heatmap.rst",
            category="Cell dynamics",
            subcategory="{network}",
            labels={"figure": "hidden-state heat-map"},
        ),
        heatmap_pdf="results/dynamics/{network}/figures/heatmap.pdf",
        ablation_png=report(
            "results/dynamics/{network}/figures/ablation.png",
            caption="../report/dynamics_ablation.rst",
            category="Cell dynamics",
            subcategory="{network}",
            labels={"figure": "single-cell ablation"},
        ),
        ablation_pdf="results/dynamics/{network}/figures/ablation.pdf",
    log:
        "logs/dynamics/audit/{network}.log",
    benchmark:
        "logs/benchmark/dynamics/audit/{network}.tsv"
    wildcard_constraints:
        network="|".join(DYN_NETWORKS) or "no-network",
    conda:
        "../envs/dynamics.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(1700),
        runtime=on_attempt(1),
    params:
        dynamics=DYN,
        seed=job_seed("dynamics_audit"),
    script:
        "../workflow_scripts/dynamics_audit.py"


rule dynamics_table:
    input:
        cells=[f"results/dynamics/{n}/cells.tsv" for n in DYN_NETWORKS],
        summaries=[f"results/dynamics/{n}/summary.json" for n in DYN_NETWORKS],
    output:
        tsv=report(
            "results/dynamics/table1.tsv",
            caption="../report/dynamics_table.rst",
            category="Cell dynamics",
            labels={"table": "metrics per network (Table 1)"},
        ),
        md="results/dynamics/table1.md",
        png=report(
            "results/dynamics/figures/distributions.png",
            caption="../report/dynamics_distributions.rst",
            category="Cell dynamics",
            labels={"figure": "metric distributions"},
        ),
        pdf="results/dynamics/figures/distributions.pdf",
    log:
        "logs/dynamics/table.log",
    benchmark:
        "logs/benchmark/dynamics/table.tsv"
    conda:
        "../envs/dynamics.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(800),
        runtime=on_attempt(1),
    script:
        "../workflow_scripts/dynamics_table.py"


rule dynamics_capacity:
    input:
        cells=expand("results/dynamics/seqmnist_h{hidden}/cells.tsv", hidden=DYN["task"]["hidden_sizes"]),
    output:
        tsv=report(
            "results/dynamics/capacity.tsv",
            caption="../report/dynamics_capacity.rst",
            category="Cell dynamics",
            labels={"table": "capacity"},
        ),
        md="results/dynamics/capacity.md",
        png=report(
            "results/dynamics/figures/capacity.png",
            caption="../report/dynamics_capacity.rst",
            category="Cell dynamics",
            labels={"figure": "capacity"},
        ),
        pdf="results/dynamics/figures/capacity.pdf",
    log:
        "logs/dynamics/capacity.log",
    benchmark:
        "logs/benchmark/dynamics/capacity.tsv"
    conda:
        "../envs/dynamics.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(800),
        runtime=on_attempt(1),
    params:
        sizes=DYN["task"]["hidden_sizes"],
    script:
        "../workflow_scripts/dynamics_capacity.py"
