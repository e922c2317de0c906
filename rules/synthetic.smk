# Synthetic-box branch: generate -> train (seeds + as many untrained floors), saliency + per-sample metrics
# -> Table 1 / Table 2 against a noise map, the method table, the epoch curve, Fig. 3 and 5 -> claims.


rule synthetic_generate:
    output:
        "resources/synthetic/{dataset}.npz",
    log:
        "logs/synthetic/generate/{dataset}.log",
    benchmark:
        "logs/benchmark/synthetic/generate/{dataset}.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(1),
    params:
        settings=lambda wc: dataset_settings(wc.dataset),
        seed=job_seed("synthetic_generate"),
    script:
        "../workflow_scripts/synthetic_generate.py"


# One job per (dataset, model) pair trains all its runs (its training seeds, seed0, ...: the most of the groups it
# belongs to; then as many untrained floors, untrained0, ...: the architecture at its initial weights) and scores each
# run's test saliency for every method of saliency.methods (one job, not two: the scoring of a pair takes a second or
# two, the start of a job that imports torch about three).  A job's outputs are fixed by its rule, so each seed count
# has its rule (synthetic_train_seeds<k>), pinned to its pairs by the {pair} wildcard ("<dataset>/<model>"); all of
# them run the step synthetic.train.  Each run keeps the training and saliency seeds a job of its own would have had.
for _n_seeds, _pairs in synthetic_run_classes().items():
    _runs = plan.pair_runs(_n_seeds)

    rule:
        name:
            f"synthetic_train_seeds{_n_seeds}"
        input:
            lambda wc: f"resources/synthetic/{wc.pair.split('/')[0]}.npz",
        output:
            models=expand("results/synthetic/models/{{pair}}_{run}.pt", run=_runs),
            sidecars=expand("results/synthetic/models/{{pair}}_{run}.json", run=_runs),
            # one per (run, method), runs outer
            metrics=[f"results/synthetic/metrics/{{pair}}_{r}_{m}.tsv" for r in _runs for m in METHODS],
            # the first training run's few examples, one per method (the heat maps'; ~0.3 MB each)
            examples=[f"results/synthetic/saliency/{{pair}}_{_runs[0]}_{m}_examples.npz" for m in METHODS],
            # saliency.save_maps: all keeps every test map (vanishing_saliency.maps; ~37 KB per 100 x 100 map)
            maps=(
                [f"results/synthetic/saliency/{{pair}}_{r}_{m}_maps.npz" for r in _runs for m in METHODS]
                if config["saliency"].get("save_maps", "examples") == "all"
                else []
            ),
        log:
            "logs/synthetic/train/{pair}.log",
        benchmark:
            "logs/benchmark/synthetic/train/{pair}.tsv"
        wildcard_constraints:
            pair=pair_constraint(_pairs),
        conda:
            "../envs/synthetic.yaml"
        threads: config["training"]["threads"]
        resources:
            mem_mb=on_attempt(1300),
            runtime=on_attempt(1),
        params:
            models=config["models"],
            runs=[{"run": r, "training": plan.run_training(config["training"], r)} for r in _runs],
            methods=METHODS,
            saliency=config["saliency"],
            # {run: training seed} and {"<method>/<run>": saliency seed}
            seeds=lambda wc, runs=_runs: {
                **run_seeds("synthetic_train", runs, wc.pair.split("/")),
                **{
                    f"{m}/{r}": v
                    for m in METHODS
                    for r, v in run_seeds("synthetic_saliency", runs, wc.pair.split("/"), [m]).items()
                },
            },
        script:
            "../workflow_scripts/synthetic_train.py"


rule synthetic_noise:
    input:
        "resources/synthetic/{dataset}.npz",
    output:
        "results/synthetic/metrics/{dataset}/noise.tsv",
    log:
        "logs/synthetic/noise/{dataset}.log",
    benchmark:
        "logs/benchmark/synthetic/noise/{dataset}.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(1),
    params:
        seed=job_seed("synthetic_noise"),
    script:
        "../workflow_scripts/synthetic_noise.py"


rule synthetic_gates:
    input:
        # one metrics file (primary method) per run of every group: each run is gated once, and every table, figure
        # and claim reads this table
        metrics=[metric_file(*k) for k in gate_keys()],
    output:
        report(
            "results/synthetic/gates.tsv",
            caption="../report/synthetic_gates.rst",
            category="Synthetic boxes",
            labels={"table": "the gate: every run against its permutation null"},
        ),
    log:
        "logs/synthetic/gates.log",
    benchmark:
        "logs/benchmark/synthetic/gates.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        runs=gate_keys(),
        permutations=SYN["summary"]["permutations"],
        level=SYN["summary"]["level"],
        seed=job_seed("synthetic_gates", per_job=False),
    script:
        "../workflow_scripts/synthetic_gates.py"


rule synthetic_table:
    input:
        # one metrics file and its model's sidecar per entry of params.runs, and one noise file per dataset
        metrics=lambda wc: [metric_file(*k) for k in metric_keys(wc.table)],
        sidecars=lambda wc: [synthetic_model(d, m, run, "json") for d, m, run, _ in metric_keys(wc.table)],
        noise=lambda wc: [noise_file(d) for d in group_datasets(wc.table)],
        gates="results/synthetic/gates.tsv",
    output:
        tsv=report(
            "results/synthetic/{table}.tsv",
            caption="../report/synthetic_table.rst",
            category="Synthetic boxes",
            labels={"table": "{table}", "format": "tsv"},
        ),
        runs="results/synthetic/{table}_runs.tsv",
        md="results/synthetic/{table}.md",
    log:
        "logs/synthetic/{table}.log",
    benchmark:
        "logs/benchmark/synthetic/{table}.tsv"
    wildcard_constraints:
        table="table1|table2",
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        runs=lambda wc: metric_keys(wc.table),
        datasets=lambda wc: group_datasets(wc.table),
        title=lambda wc: {
            "table1": "Table 1: saliency quality on the synthetic boxes",
            "table2": "Table 2: all nine architectures",
        }[wc.table],
        bootstrap=SYN["summary"]["bootstrap"],
        level=SYN["summary"]["level"],
        seed=job_seed("synthetic_table"),
    script:
        "../workflow_scripts/synthetic_table.py"


rule synthetic_methods:
    input:
        data="resources/synthetic/{dataset}.npz",
        model="results/synthetic/models/{dataset}/{model}_seed0.pt",
    output:
        "results/synthetic/methods/{dataset}/{model}.tsv",
    log:
        "logs/synthetic/methods/{dataset}_{model}.log",
    benchmark:
        "logs/benchmark/synthetic/methods/{dataset}_{model}.tsv"
    priority: 10
    conda:
        "../envs/synthetic.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(1200),
        runtime=on_attempt(1),
    params:
        methods=SYN["method_table"]["methods"],
        max_test=SYN["method_table"]["max_test"],
        saliency=config["saliency"],
        seed=job_seed("synthetic_methods"),
    script:
        "../workflow_scripts/synthetic_methods.py"


rule synthetic_method_table:
    input:
        methods=[f"results/synthetic/methods/{d}/{m}.tsv" for d, m in synthetic_pairs("table1")],
        noise=[noise_file(d) for d in group_datasets("table1")],
        gates="results/synthetic/gates.tsv",
    output:
        tsv=report(
            "results/synthetic/method_table.tsv",
            caption="../report/synthetic_methods.rst",
            category="Synthetic boxes",
            labels={"table": "method table"},
        ),
        md="results/synthetic/method_table.md",
    log:
        "logs/synthetic/method_table.log",
    benchmark:
        "logs/benchmark/synthetic/method_table.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(300),
        runtime=on_attempt(1),
    params:
        pairs=synthetic_pairs("table1"),
        datasets=group_datasets("table1"),
        bootstrap=SYN["summary"]["bootstrap"],
        level=SYN["summary"]["level"],
        seed=job_seed("synthetic_table"),
    script:
        "../workflow_scripts/synthetic_method_table.py"


rule synthetic_epoch_curve:
    input:
        f"resources/synthetic/{SYN['epoch_curve']['dataset']}.npz",
    output:
        "results/synthetic/epoch_curve/{model}.tsv",
    log:
        "logs/synthetic/epoch_curve/{model}.log",
    benchmark:
        "logs/benchmark/synthetic/epoch_curve/{model}.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(1),
    params:
        models=config["models"],
        # every epoch is trained and scored: no stopping rule, and "last" so a perfect validation score stops nothing
        training={
            **config["training"],
            "max_epochs": SYN["epoch_curve"]["max_epochs"],
            "selection": "last",
            "stop_at_train_accuracy": None,
            "patience": SYN["epoch_curve"]["max_epochs"] + 1,
        },
        max_test=SYN["epoch_curve"]["max_test"],
        dataset=SYN["epoch_curve"]["dataset"],
        saliency=config["saliency"],
        seed=job_seed("synthetic_epoch_curve"),
    script:
        "../workflow_scripts/synthetic_epoch_curve.py"


# Partial input-cell attention (paper supplement) with each window K of synthetic.partial_window: one job per K
# trains its runs and scores their gradient saliency; the figure sets AUROC against K.
rule synthetic_partial_window:
    input:
        f"resources/synthetic/{PARTIAL.get('dataset', 'earlier')}.npz",
    output:
        "results/synthetic/partial_window/window{window}.tsv",
    log:
        "logs/synthetic/partial_window/window{window}.log",
    benchmark:
        "logs/benchmark/synthetic/partial_window/window{window}.tsv"
    wildcard_constraints:
        window=r"\d+",
    conda:
        "../envs/synthetic.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(2),
    params:
        models=config["models"],
        training=config["training"],
        dataset=PARTIAL.get("dataset"),
        saliency=config["saliency"],
        seeds=lambda wc: run_seeds(
            "synthetic_partial_window", [f"seed{k}" for k in range(PARTIAL["seeds"])], [wc.window]
        ),
    script:
        "../workflow_scripts/synthetic_partial_window.py"


rule synthetic_partial_figure:
    input:
        windows=[f"results/synthetic/partial_window/window{k}.tsv" for k in PARTIAL.get("windows", [])],
        noise=f"results/synthetic/metrics/{PARTIAL.get('dataset', 'earlier')}/noise.tsv",
    output:
        tsv="results/synthetic/partial_window.tsv",
        png=report(
            "results/synthetic/figures/partial_window.png",
            caption="../report/synthetic_partial_window.rst",
            category="Synthetic boxes",
            labels={"figure": "partial input-cell attention against its window"},
        ),
        pdf="results/synthetic/figures/partial_window.pdf",
    log:
        "logs/synthetic/partial_figure.log",
    benchmark:
        "logs/benchmark/synthetic/partial_figure.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(300),
        runtime=on_attempt(1),
    params:
        n_time=SYN["n_time"],
    script:
        "../workflow_scripts/synthetic_partial_figure.py"


rule synthetic_epoch_figure:
    input:
        [f"results/synthetic/epoch_curve/{m}.tsv" for m in SYN["epoch_curve"]["models"]],
    output:
        tsv="results/synthetic/epoch_curve.tsv",
        png=report(
            "results/synthetic/figures/epoch_curve.png",
            caption="../report/synthetic_epoch_curve.rst",
            category="Synthetic boxes",
            labels={"figure": "saliency quality through training"},
        ),
        pdf="results/synthetic/figures/epoch_curve.pdf",
    log:
        "logs/synthetic/epoch_figure.log",
    benchmark:
        "logs/benchmark/synthetic/epoch_figure.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(300),
        runtime=on_attempt(1),
    script:
        "../workflow_scripts/synthetic_epoch_figure.py"


rule synthetic_moving_figure:
    input:
        metrics=[metric_file(*k) for k in metric_keys("moving", [PRIMARY_METHOD])],
        noise=[noise_file(d) for d in group_datasets("moving")],
        gates="results/synthetic/gates.tsv",
    output:
        tsv="results/synthetic/moving_box.tsv",
        png=report(
            "results/synthetic/figures/moving_box.png",
            caption="../report/moving_box.rst",
            category="Synthetic boxes",
            labels={"figure": "moving box (Fig. 5)"},
        ),
        pdf="results/synthetic/figures/moving_box.pdf",
    log:
        "logs/synthetic/moving_box.log",
    benchmark:
        "logs/benchmark/synthetic/moving_box.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        runs=metric_keys("moving", [PRIMARY_METHOD]),
        datasets=group_datasets("moving"),
        starts={
            d: min(b["time"][0] for p in SYN["datasets"][d]["patterns"] for b in p) for d in SYN["moving"]["datasets"]
        },
        level=SYN["summary"]["level"],
        seed=job_seed("synthetic_table", per_job=False),
    script:
        "../workflow_scripts/synthetic_moving_figure.py"


rule synthetic_heatmaps:
    input:
        lambda wc: [
            f"results/synthetic/saliency/{wc.dataset}/{m}_seed0_{PRIMARY_METHOD}_examples.npz"
            for m in models_for_dataset(config, wc.dataset)
        ],
    output:
        png=report(
            "results/synthetic/figures/saliency_{dataset}.png",
            caption="../report/heatmaps.rst",
            category="Synthetic boxes",
            labels={"figure": "saliency maps (Fig. 3)", "dataset": "{dataset}"},
        ),
        pdf="results/synthetic/figures/saliency_{dataset}.pdf",
    log:
        "logs/synthetic/heatmaps_{dataset}.log",
    benchmark:
        "logs/benchmark/synthetic/heatmaps_{dataset}.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(600),
        runtime=on_attempt(1),
    script:
        "../workflow_scripts/synthetic_heatmaps.py"


rule synthetic_summary:
    input:
        table1=[metric_file(*k) for k in metric_keys("table1", [PRIMARY_METHOD])],
        moving=[metric_file(*k) for k in metric_keys("moving", [PRIMARY_METHOD])],
        noise=[noise_file(d) for d in dict.fromkeys(group_datasets("table1") + group_datasets("moving"))],
        method_table="results/synthetic/method_table.tsv",
        gates="results/synthetic/gates.tsv",
    output:
        md=report(
            "results/synthetic/summary.md",
            caption="../report/synthetic_summary.rst",
            category="Synthetic boxes",
            labels={"table": "paper claims 3 and 4"},
        ),
        tsv="results/synthetic/summary.tsv",
        tests="results/synthetic/summary_tests.tsv",
    log:
        "logs/synthetic/summary.log",
    benchmark:
        "logs/benchmark/synthetic/summary.tsv"
    conda:
        "../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        table1=metric_keys("table1", [PRIMARY_METHOD]),
        moving=metric_keys("moving", [PRIMARY_METHOD]),
        noise_datasets=list(dict.fromkeys(group_datasets("table1") + group_datasets("moving"))),
        starts={
            d: min(b["time"][0] for p in SYN["datasets"][d]["patterns"] for b in p) for d in SYN["moving"]["datasets"]
        },
        box_ends={
            d: (max(b["time"][1] for p in SYN["datasets"][d]["patterns"] for b in p), SYN["n_time"])
            for d in SYN["table1"]["datasets"]
        },
        method=PRIMARY_METHOD,
        summary=SYN["summary"],
    script:
        "../workflow_scripts/synthetic_summary.py"
