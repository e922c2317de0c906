# HCP branch, part 2: train every model x run (seeds, then the controls) per experiment -> saliency ->
# accuracy against its confound controls, feature drop, on/off share against its nulls, saliency and brain
# maps, ground truth (simulated) -> the paper's claims, decided against nulls.


# One training job per (experiment, model) trains all its runs (the training seeds, then its control runs: as many
# as seeds for the controls a claim compares against, one of the others; see hcp_runs); one saliency job per
# (experiment, model, method) scores all of them but the time-shuffled control.  A job's outputs are fixed by its
# rule, so each set of runs has its pair of rules (hcp_train_controls<k>, hcp_saliency_controls<k>), pinned to its
# experiments and models (hcp_run_classes); both run the steps hcp_analysis.train and hcp_analysis.saliency.  Every
# run's maps are temp() (about 8 MB per run and method, 1 GB with 8 seeds): the share, drop, truth and mean-map outputs
# keep what the claims and figures need, and the maps go (`snakemake --notemp` keeps them; `vanishing-saliency
# attribute` recomputes any).
for _runs, _experiments, _models, _k in hcp_run_classes():
    _saliency_runs = [r for r in _runs if plan.run_kind(r) != "timeshuffled"]

    rule:
        name:
            f"hcp_train_controls{_k}"
        input:
            samples="results/hcp/samples/{experiment}.npz",
            split="results/hcp/split.tsv",
        output:
            models=expand("results/hcp/{{experiment}}/models/{{model}}_{run}.pt", run=_runs),
            sidecars=expand("results/hcp/{{experiment}}/models/{{model}}_{run}.json", run=_runs),
        log:
            "logs/hcp/train/{experiment}_{model}.log",
        benchmark:
            "logs/benchmark/hcp/train/{experiment}_{model}.tsv"
        wildcard_constraints:
            experiment="|".join(_experiments),
            model="|".join(_models),
        priority: 40
        conda:
            "../envs/hcp_analysis.yaml"
        threads: config["training"]["threads"]
        resources:
            mem_mb=on_attempt(900),
            runtime=on_attempt(2),
        params:
            models={**config["models"], **HCPA["model_overrides"]},
            runs=[{"run": r, "training": plan.run_training(HCP_TRAINING, r)} for r in _runs],
            seeds=lambda wc, runs=_runs: run_seeds("hcp_train", runs, [wc.experiment, wc.model]),
        script:
            "../workflow_scripts/hcp_train.py"

    rule:
        name:
            f"hcp_saliency_controls{_k}"
        input:
            samples="results/hcp/samples/{experiment}.npz",
            split="results/hcp/split.tsv",
            models=expand("results/hcp/{{experiment}}/models/{{model}}_{run}.pt", run=_saliency_runs),
        output:
            [temp(hcp_saliency_file("{experiment}", "{model}", r, "{method}")) for r in _saliency_runs],
        log:
            "logs/hcp/saliency/{experiment}_{model}_{method}.log",
        benchmark:
            "logs/benchmark/hcp/saliency/{experiment}_{model}_{method}.tsv"
        wildcard_constraints:
            experiment="|".join(e for e in _experiments if experiment_kind(e) in ("on_task", "on_off"))
            or "no-experiment",
            model="|".join(_models),
        priority: 35
        conda:
            "../envs/hcp_analysis.yaml"
        threads: config["training"]["threads"]
        resources:
            mem_mb=on_attempt(900),
            runtime=on_attempt(1),
        params:
            saliency=config["saliency"],
            runs=_saliency_runs,
            seeds=lambda wc, runs=_saliency_runs: run_seeds(
                "hcp_saliency", runs, [wc.experiment, wc.model], [wc.method]
            ),
        script:
            "../workflow_scripts/hcp_saliency.py"


rule hcp_accuracy:
    input:
        samples="results/hcp/samples/{experiment}.npz",
        split="results/hcp/split.tsv",
        sidecars=lambda wc: [
            hcp_model_file(wc.experiment, m, r, "json")
            for r, m in hcp_cells(lambda model: hcp_runs(wc.experiment, model))
        ],
    output:
        tsv=report(
            "results/hcp/{experiment}/accuracy.tsv",
            caption="../report/hcp_accuracy.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"table": "test accuracy", "experiment": "{experiment}"},
        ),
        md="results/hcp/{experiment}/accuracy.md",
    log:
        "logs/hcp/accuracy_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/accuracy_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(HCP_EXPERIMENTS) or "no-experiment",
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(1),
    params:
        permutations=HCPA["permutations"],
        level=HCPA["level"],
        seed=job_seed("hcp_accuracy"),
    script:
        "../workflow_scripts/hcp_accuracy.py"


rule hcp_feature_drop:
    input:
        samples="results/hcp/samples/{experiment}.npz",
        split="results/hcp/split.tsv",
        # one model and one saliency file per run, in the order of params.runs
        models=lambda wc: [
            hcp_model_file(wc.experiment, r["model"], r["run"])
            for r in hcp_saliency_runs(wc.experiment, runs=HCP_SEED_RUNS)
        ],
        saliency=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment, runs=HCP_SEED_RUNS)],
        # the untrained maps of the same replicates: the floor of every map's drop
        untrained=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment, runs="untrained")],
    output:
        tsv=report(
            "results/hcp/{experiment}/feature_drop.tsv",
            caption="../report/hcp_feature_drop.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"table": "feature drop", "experiment": "{experiment}"},
        ),
        md="results/hcp/{experiment}/feature_drop.md",
        subjects="results/hcp/{experiment}/feature_drop_subjects.tsv",
        png=report(
            "results/hcp/{experiment}/figures/feature_drop.png",
            caption="../report/hcp_feature_drop.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"figure": "feature drop (Fig. 7a)", "experiment": "{experiment}"},
        ),
        pdf="results/hcp/{experiment}/figures/feature_drop.pdf",
    log:
        "logs/hcp/feature_drop_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/feature_drop_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(hcp_experiments("on_task", "on_off")) or "no-experiment",
    conda:
        "../envs/hcp_analysis.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=on_attempt(1200),
        runtime=on_attempt(1),
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment, runs=HCP_SEED_RUNS)),
        untrained_runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment, runs="untrained")),
        random_draws=HCPA["random_drop_draws"],
        fractions=HCPA["drop_fractions"],
        highlight=HCPA["top_fraction"],
        baseline=HCPA["drop_baseline"],
        seed=job_seed("hcp_feature_drop"),
    script:
        "../workflow_scripts/hcp_feature_drop.py"


rule hcp_onoff:
    input:
        lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment)],
    output:
        tsv=report(
            "results/hcp/{experiment}/onoff_share.tsv",
            caption="../report/hcp_onoff.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"table": "on/off-task share", "experiment": "{experiment}"},
        ),
        md="results/hcp/{experiment}/onoff_share.md",
        subjects="results/hcp/{experiment}/onoff_share_subjects.tsv",
        png=report(
            "results/hcp/{experiment}/figures/onoff_buckets.png",
            caption="../report/hcp_onoff.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"figure": "on/off-task buckets (Fig. 7b, 12)", "experiment": "{experiment}"},
        ),
        pdf="results/hcp/{experiment}/figures/onoff_buckets.pdf",
    log:
        "logs/hcp/onoff_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/onoff_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(hcp_experiments("on_off")) or "no-experiment",
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(1),
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment)),
        fraction=HCPA["top_fraction"],
        n_buckets=HCPA["on_buckets"],
        seed=job_seed("hcp_onoff"),
    script:
        "../workflow_scripts/hcp_onoff.py"


rule hcp_saliency_maps:
    input:
        atlas="resources/hcp/atlas.npz",
        saliency=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment, [PRIMARY_METHOD], HCP_SEED_RUNS)],
    output:
        npz="results/hcp/{experiment}/saliency_maps.npz",
        png=report(
            "results/hcp/{experiment}/figures/saliency_maps.png",
            caption="../report/hcp_maps.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"figure": "saliency maps (Fig. 1)", "experiment": "{experiment}"},
        ),
        pdf="results/hcp/{experiment}/figures/saliency_maps.pdf",
        sorted_png=report(
            "results/hcp/{experiment}/figures/saliency_maps_sorted.png",
            caption="../report/hcp_maps.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"figure": "saliency maps by network", "experiment": "{experiment}"},
        ),
        sorted_pdf="results/hcp/{experiment}/figures/saliency_maps_sorted.pdf",
    log:
        "logs/hcp/saliency_maps_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/saliency_maps_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(hcp_experiments("on_task", "on_off")) or "no-experiment",
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(600),
        runtime=on_attempt(1),
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment, [PRIMARY_METHOD], HCP_SEED_RUNS)),
        on_frames=lambda wc: HCP["blocks"]["on_frames"] if experiment_kind(wc.experiment) == "on_off" else None,
    script:
        "../workflow_scripts/hcp_saliency_maps.py"


# Each model's mean saliency per area (correct test samples, frames, training seeds) in the BIDS derivative dataset,
# for Connectome Workbench: .pscalar.nii (one map per model), .dscalar.nii (painted on the 91k grayordinates) and a
# sidecar (method, output, target, seeds, experiment, split).  The file names carry the experiment as a BIDS label
# (letters and digits: on_off -> onoff), hence the wildcard {label}.
rule hcp_saliency_derivative:
    input:
        maps=lambda wc: f"results/hcp/{SALIENCY_LABELS[wc.label]}/saliency_maps.npz",
        atlas="resources/hcp/atlas.npz",
        split="results/hcp/split.tsv",
    output:
        pscalar=f"{derivatives.ROOT}/space-fsLR_seg-Glasser_den-91k_desc-{{label}}_stat-mean_saliency.pscalar.nii",
        dscalar=f"{derivatives.ROOT}/space-fsLR_seg-Glasser_den-91k_desc-{{label}}_stat-mean_saliency.dscalar.nii",
        sidecar=f"{derivatives.ROOT}/space-fsLR_seg-Glasser_den-91k_desc-{{label}}_stat-mean_saliency.json",
    log:
        "logs/hcp/saliency_derivative_{label}.log",
    benchmark:
        "logs/benchmark/hcp/saliency_derivative_{label}.tsv"
    wildcard_constraints:
        label="|".join(SALIENCY_LABELS) or "no-experiment",
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        experiment=lambda wc: SALIENCY_LABELS[wc.label],
        spec=lambda wc: HCP_EXPERIMENTS[SALIENCY_LABELS[wc.label]],
        method=PRIMARY_METHOD,
        output="probability",
        map_seeds=lambda wc: {
            m: list(run_seeds("hcp_train", HCP_SEED_RUNS, [SALIENCY_LABELS[wc.label], m]).values())
            for m in HCPA["models"]
        },
    script:
        "../workflow_scripts/hcp_saliency_derivative.py"


rule hcp_brain_maps:
    input:
        maps="results/hcp/{experiment}/saliency_maps.npz",
        # a simulated cohort's planted areas are outlined (the same for every subject: one truth file)
        truth=[
            f"resources/hcp/simulated_truth/sub-{s}_truth.npz"
            for s in HCP_SUBJECTS[:1]
            if HCP["source"] == "simulated"
        ],
    output:
        png=report(
            "results/hcp/{experiment}/figures/brain_maps.png",
            caption="../report/hcp_brain_maps.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"figure": "most salient areas on the cortex", "experiment": "{experiment}"},
        ),
        pdf="results/hcp/{experiment}/figures/brain_maps.pdf",
    log:
        "logs/hcp/brain_maps_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/brain_maps_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(hcp_experiments("on_task", "on_off")) or "no-experiment",
    priority: 30
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(2100),
        runtime=on_attempt(1),
    params:
        n_top=HCPA["brain_map_areas"],
        tasks=lambda wc: HCP_EXPERIMENTS[wc.experiment]["tasks"],
    script:
        "../workflow_scripts/hcp_brain_maps.py"


rule hcp_truth:
    input:
        saliency=lambda wc: [r["path"] for r in hcp_saliency_runs(wc.experiment)],
        truth=expand("resources/hcp/simulated_truth/sub-{subject}_truth.npz", subject=HCP_SUBJECTS),
    output:
        tsv=report(
            "results/hcp/{experiment}/truth_recovery.tsv",
            caption="../report/hcp_truth.rst",
            category="HCP",
            subcategory="{experiment}",
            labels={"table": "ground-truth recovery", "experiment": "{experiment}"},
        ),
        md="results/hcp/{experiment}/truth_recovery.md",
    log:
        "logs/hcp/truth_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/truth_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(hcp_experiments("on_task", "on_off")) or "no-experiment",
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        runs=lambda wc: run_keys(hcp_saliency_runs(wc.experiment)),
        spec=lambda wc: experiment_blocks(wc.experiment),
        fraction=HCPA["top_fraction"],
    script:
        "../workflow_scripts/hcp_truth.py"


rule hcp_summary:
    input:
        accuracy=expand("results/hcp/{experiment}/accuracy.tsv", experiment=HCPA["experiments"]),
        onoff=expand("results/hcp/{experiment}/onoff_share.tsv", experiment=hcp_experiments("on_off")),
        drop=expand("results/hcp/{experiment}/feature_drop.tsv", experiment=hcp_experiments("on_off")),
        truth=[
            f"results/hcp/{e}/truth_recovery.tsv"
            for e in hcp_experiments("on_task", "on_off")
            if HCP["source"] == "simulated"
        ],
        split="results/hcp/split.tsv",
    output:
        md=report(
            "results/hcp/summary.md",
            caption="../report/hcp_summary.rst",
            category="HCP",
            labels={"table": "paper claims"},
        ),
        tsv="results/hcp/summary.tsv",
        tests="results/hcp/summary_tests.tsv",
    log:
        "logs/hcp/summary.log",
    benchmark:
        "logs/benchmark/hcp/summary.tsv"
    conda:
        "../envs/hcp_analysis.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(300),
        runtime=on_attempt(1),
    params:
        experiments={e: experiment_blocks(e) for e in HCPA["experiments"]},
        controls=HCPA["controls"],
        equivalence_margin=HCPA["equivalence_margin"],
        smallest_effect=HCPA["smallest_effect"],
        onoff=hcp_experiments("on_off"),
        source=HCP["source"],
        method=PRIMARY_METHOD,
        fraction=HCPA["top_fraction"],
        min_test_subjects=HCPA["min_test_subjects"],
        level=HCPA["level"],
        seed=job_seed("hcp_summary"),
    script:
        "../workflow_scripts/hcp_summary.py"
