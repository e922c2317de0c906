# HCP branch, part 2: train every model x seed per experiment -> saliency -> accuracy,
# feature drop, on/off share, saliency and brain maps, ground truth (simulated) -> summary.


rule hcp_train:
    input:
        samples="results/hcp/samples/{experiment}.npz",
        split="results/hcp/split.tsv",
    output:
        model="results/hcp/{experiment}/models/{model}_seed{seed}.pt",
        sidecar="results/hcp/{experiment}/models/{model}_seed{seed}.json",
    params:
        models={**config["models"], **HCPA["model_overrides"]},
        training={**config["training"], **HCPA["training_overrides"]},
        seed=job_seed("hcp_train"),
    wildcard_constraints:
        experiment="on_task|on_off|off_task",
        seed=r"\d+",
    log:
        "logs/hcp/train/{experiment}_{model}_seed{seed}.log",
    benchmark:
        "logs/benchmark/hcp/train/{experiment}_{model}_seed{seed}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_train.py"


rule hcp_saliency:
    input:
        samples="results/hcp/samples/{experiment}.npz",
        split="results/hcp/split.tsv",
        model="results/hcp/{experiment}/models/{model}_seed{seed}.pt",
    output:
        "results/hcp/{experiment}/saliency/{model}_seed{seed}_{method}.npz",
    params:
        saliency=config["saliency"],
        seed=job_seed("hcp_saliency"),
    wildcard_constraints:
        experiment="on_task|on_off",
        seed=r"\d+",
    log:
        "logs/hcp/saliency/{experiment}_{model}_seed{seed}_{method}.log",
    benchmark:
        "logs/benchmark/hcp/saliency/{experiment}_{model}_seed{seed}_{method}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_saliency.py"


rule hcp_accuracy:
    input:
        lambda wc: [hcp_model_file(wc.experiment, m, s, "json") for s in HCP_SEEDS for m in HCPA["models"]],
    output:
        tsv=report("results/hcp/{experiment}/accuracy.tsv", caption="../report/hcp_accuracy.rst", category="HCP",
                   subcategory="{experiment}", labels={"table": "test accuracy", "experiment": "{experiment}"}),
        md="results/hcp/{experiment}/accuracy.md",
    wildcard_constraints:
        experiment="on_task|on_off|off_task",
    log:
        "logs/hcp/accuracy_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/accuracy_{experiment}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_accuracy.py"


rule hcp_feature_drop:
    input:
        samples="results/hcp/samples/{experiment}.npz",
        split="results/hcp/split.tsv",
        # one model and one saliency file per run, in the order of params.runs
        models=lambda wc: [hcp_model_file(wc.experiment, r["model"], r["seed"]) for r in hcp_saliency_runs(wc.experiment)],
        saliency=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment)],
    output:
        tsv=report("results/hcp/{experiment}/feature_drop.tsv", caption="../report/hcp_feature_drop.rst",
                   category="HCP", subcategory="{experiment}",
                   labels={"table": "feature drop", "experiment": "{experiment}"}),
        md="results/hcp/{experiment}/feature_drop.md",
        png=report("results/hcp/{experiment}/figures/feature_drop.png", caption="../report/hcp_feature_drop.rst",
                   category="HCP", subcategory="{experiment}",
                   labels={"figure": "feature drop (Fig. 7a)", "experiment": "{experiment}"}),
        pdf="results/hcp/{experiment}/figures/feature_drop.pdf",
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment)),
        fractions=HCPA["drop_fractions"],
        highlight=HCPA["top_fraction"],
        baseline=HCPA["drop_baseline"],
        seed=job_seed("hcp_feature_drop"),
    wildcard_constraints:
        experiment="on_task|on_off",
    log:
        "logs/hcp/feature_drop_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/feature_drop_{experiment}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_feature_drop.py"


rule hcp_onoff:
    input:
        [r["path"] for r in hcp_saliency_runs("on_off")],
    output:
        tsv=report("results/hcp/on_off/onoff_share.tsv", caption="../report/hcp_onoff.rst", category="HCP",
                   subcategory="on_off", labels={"table": "on/off-task share", "experiment": "on_off"}),
        md="results/hcp/on_off/onoff_share.md",
        png=report("results/hcp/on_off/figures/onoff_buckets.png", caption="../report/hcp_onoff.rst",
                   category="HCP", subcategory="on_off",
                   labels={"figure": "on/off-task buckets (Fig. 7b, 12)", "experiment": "on_off"}),
        pdf="results/hcp/on_off/figures/onoff_buckets.pdf",
    params:
        runs=run_keys(hcp_saliency_runs("on_off")),
        fraction=HCPA["top_fraction"],
        n_buckets=HCPA["on_buckets"],
    log:
        "logs/hcp/onoff.log",
    benchmark:
        "logs/benchmark/hcp/onoff.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_onoff.py"


rule hcp_saliency_maps:
    input:
        atlas="resources/hcp/atlas.npz",
        saliency=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment, [PRIMARY_METHOD])],
    output:
        npz="results/hcp/{experiment}/saliency_maps.npz",
        png=report("results/hcp/{experiment}/figures/saliency_maps.png", caption="../report/hcp_maps.rst",
                   category="HCP", subcategory="{experiment}",
                   labels={"figure": "saliency maps (Fig. 1)", "experiment": "{experiment}"}),
        pdf="results/hcp/{experiment}/figures/saliency_maps.pdf",
        sorted_png=report("results/hcp/{experiment}/figures/saliency_maps_sorted.png",
                          caption="../report/hcp_maps.rst", category="HCP", subcategory="{experiment}",
                          labels={"figure": "saliency maps by network", "experiment": "{experiment}"}),
        sorted_pdf="results/hcp/{experiment}/figures/saliency_maps_sorted.pdf",
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment, [PRIMARY_METHOD])),
        on_frames=lambda wc: HCP["blocks"]["on_frames"] if wc.experiment == "on_off" else None,
    wildcard_constraints:
        experiment="on_task|on_off",
    log:
        "logs/hcp/saliency_maps_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/saliency_maps_{experiment}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_saliency_maps.py"


rule hcp_brain_maps:
    input:
        "results/hcp/{experiment}/saliency_maps.npz",
    output:
        png=report("results/hcp/{experiment}/figures/brain_maps.png", caption="../report/hcp_brain_maps.rst",
                   category="HCP", subcategory="{experiment}",
                   labels={"figure": "most salient areas on the cortex", "experiment": "{experiment}"}),
        pdf="results/hcp/{experiment}/figures/brain_maps.pdf",
    params:
        n_top=HCPA["brain_map_areas"],
    wildcard_constraints:
        experiment="on_task|on_off",
    log:
        "logs/hcp/brain_maps_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/brain_maps_{experiment}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_brain_maps.py"


rule hcp_truth:
    input:
        saliency=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment)],
        truth=expand("resources/hcp/simulated_truth/sub-{subject}_truth.npz", subject=HCP_SUBJECTS),
    output:
        tsv=report("results/hcp/{experiment}/truth_recovery.tsv", caption="../report/hcp_truth.rst",
                   category="HCP", subcategory="{experiment}",
                   labels={"table": "ground-truth recovery", "experiment": "{experiment}"}),
        md="results/hcp/{experiment}/truth_recovery.md",
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment)),
        tasks=lambda wc: HCP["experiments"][wc.experiment],
        fraction=HCPA["top_fraction"],
    wildcard_constraints:
        experiment="on_task|on_off",
    log:
        "logs/hcp/truth_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/truth_{experiment}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_truth.py"


rule hcp_summary:
    input:
        accuracy=expand("results/hcp/{experiment}/accuracy.tsv", experiment=HCPA["experiments"]),
        onoff=["results/hcp/on_off/onoff_share.tsv"] if "on_off" in HCPA["experiments"] else [],
        drop=["results/hcp/on_off/feature_drop.tsv"] if "on_off" in HCPA["experiments"] else [],
        truth=[f"results/hcp/{e}/truth_recovery.tsv" for e in HCPA["experiments"]
               if e != "off_task" and HCP["source"] == "simulated"],
    output:
        report("results/hcp/summary.md", caption="../report/hcp_summary.rst", category="HCP",
               labels={"table": "paper claims"}),
    params:
        method=PRIMARY_METHOD,
        fraction=HCPA["top_fraction"],
    log:
        "logs/hcp/summary.log",
    benchmark:
        "logs/benchmark/hcp/summary.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/hcp_analysis.yaml"
    script:
        "../workflow_scripts/hcp_summary.py"
