# HCP branch, part 1: (simulate) -> check -> clean + parcellate -> QC table, blocks, split.
# On a cluster a subject's simulate / check / preprocess jobs form one group ("hcp_subject"), and the Slurm profiles
# put `group-components: hcp_subject=<n>` subjects in one submission: a 1,000-subject cohort is 1000 / n cluster jobs.
# Locally, groups change nothing.


rule hcp_atlas:
    output:
        "resources/hcp/atlas.npz",
    log:
        "logs/hcp/atlas.log",
    benchmark:
        "logs/benchmark/hcp/atlas.tsv"
    priority: 50
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(600),
        runtime=on_attempt(1),
    params:
        # what the file holds: an atlas.npz of an older workflow (fewer arrays) is rebuilt, not read and failed on
        arrays=ATLAS_ARRAYS,
    script:
        "../workflow_scripts/hcp_atlas.py"


# The haemodynamic responses every subject's simulation and QC convolve with, once for the cohort (a second of
# work: on a cluster it runs beside Snakemake, not as a job of its own).
localrules:
    hcp_hrf,


rule hcp_hrf:
    output:
        "resources/hcp/hrf.npz",
    log:
        "logs/hcp/hrf.log",
    benchmark:
        "logs/benchmark/hcp/hrf.tsv"
    priority: 50
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(1),
    params:
        tr=HCP["tr"],
        simulate_hrf=HCP["simulate"]["hrf"] if HCP["source"] == "simulated" else None,
    script:
        "../workflow_scripts/hcp_hrf.py"


rule hcp_simulate:
    input:
        atlas="resources/hcp/atlas.npz",
        hrf="resources/hcp/hrf.npz",
    output:
        **simulated_outputs(),
        truth="resources/hcp/simulated_truth/sub-{subject}_truth.npz",
    log:
        "logs/hcp/simulate/sub-{subject}.log",
    benchmark:
        "logs/benchmark/hcp/simulate/sub-{subject}.tsv"
    priority: 40
    group:
        "hcp_subject"
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(1400),
        runtime=on_attempt(1),
    params:
        tasks=HCP["tasks"],
        directions=HCP["directions"],
        settings={**HCP["simulate"], "dtseries_suffix": HCP["dtseries_suffix"]},
        layout=HCP_LAYOUT,
        bids_runs=lambda wc: _subject_runs(wc.subject) if HCP_LAYOUT == "fmriprep" else [],
        seed=job_seed("hcp_simulate"),
        area_seed=job_seed("hcp_simulate.area_seed", per_job=False),
    script:
        "../workflow_scripts/hcp_simulate.py"


# Checks and preprocessing outrank simulation so each simulated subject is
# consumed (and its temp() raw files deleted) before many more are written.
rule hcp_check:
    input:
        raw_subject_input,
    output:
        "results/hcp/check/sub-{subject}.json",
    log:
        "logs/hcp/check/sub-{subject}.log",
    benchmark:
        "logs/benchmark/hcp/check/sub-{subject}.tsv"
    priority: 45
    group:
        "hcp_subject"
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(900),
        runtime=on_attempt(1),
    params:
        runs=hcp_subject_runs,
        tr=HCP["tr"],
        cleaning=HCP["cleaning"],
    script:
        "../workflow_scripts/hcp_check.py"


rule hcp_preprocess:
    input:
        raw=preprocess_raw_input,
        check="results/hcp/check/sub-{subject}.json",
        atlas="resources/hcp/atlas.npz",
        hrf="resources/hcp/hrf.npz",
    output:
        **({"derivatives": directory(subject_derivatives("{subject}")[0])} if subject_derivatives("{subject}") else {}),
        # the subject's own runs (each cleaned run's series and QC, and runs.tsv: every run with its status)
        timeseries=directory(subject_series("{subject}")),
        # the same series in the BIDS derivative dataset: CIFTI-2, TSV, JSON sidecar
        fc="results/hcp/qc/sub-{subject}_fc.npz",
        qc_png=report(
            "results/hcp/qc/sub-{subject}_qc.png",
            caption="../report/hcp_run_qc.rst",
            category="HCP",
            subcategory="per-subject QC",
            labels={"subject": "{subject}", "figure": "run QC"},
        ),
    log:
        "logs/hcp/preprocess/sub-{subject}.log",
    benchmark:
        "logs/benchmark/hcp/preprocess/sub-{subject}.tsv"
    priority: 45
    group:
        "hcp_subject"
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(1),
    params:
        runs=hcp_subject_runs,  # task, run and raw paths of each run
        tr=HCP["tr"],
        cleaning=HCP["cleaning"],
        tasks=HCP["tasks"],
        require_runs=HCP.get("require_runs"),
        links=DATASET_LINKS,  # the derivative sidecars name their sources as bids:<dataset>:<path>
    script:
        "../workflow_scripts/hcp_preprocess.py"


# The BIDS derivative dataset's description, README and .bidsignore, and the atlas its parcellated runs are averaged
# in: a dlabel that wb_command -cifti-parcellate takes, its look-up table (official colours) and its description.
rule hcp_derivatives:
    input:
        atlas="resources/hcp/atlas.npz",
    output:
        **{key: f"{derivatives.ROOT}/{name}" for key, name in DERIVATIVE_FILES.items()},
    log:
        "logs/hcp/derivatives.log",
    benchmark:
        "logs/benchmark/hcp/derivatives.tsv"
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(300),
        runtime=on_attempt(1),
    params:
        source=HCP_SOURCE_DESCRIPTION,
        links=DATASET_LINKS,
        code_url=CODE_URL,
    script:
        "../workflow_scripts/hcp_derivatives.py"


rule hcp_qc_table:
    input:
        expand("results/hcp/check/sub-{subject}.json", subject=hcp_check_subjects(config) if HCP["enabled"] else []),
    output:
        qc=report("results/hcp/qc.tsv", caption="../report/hcp_qc.rst", category="HCP", labels={"table": "run QC"}),
        # every subject's own runs as found (its sessions, run entities and files) with their status
        runs="results/hcp/runs.tsv",
    log:
        "logs/hcp/qc_table.log",
    benchmark:
        "logs/benchmark/hcp/qc_table.tsv"
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(256),
        runtime=on_attempt(1),
    params:
        excluded=hcp_excluded(),  # {subject: why}: hcp.exclude, hcp.require_runs
    script:
        "../workflow_scripts/hcp_qc_table.py"


rule hcp_blocks:
    input:
        [subject_series(s) for s in HCP_SUBJECTS],
    output:
        "results/hcp/samples/{experiment}.npz",
    log:
        "logs/hcp/blocks_{experiment}.log",
    benchmark:
        "logs/benchmark/hcp/blocks_{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(HCP_EXPERIMENTS) or "no-experiment",
    priority: 45
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(400),
        runtime=on_attempt(1),
    params:
        spec=lambda wc: experiment_blocks(wc.experiment),
    script:
        "../workflow_scripts/hcp_blocks.py"


rule hcp_split:
    output:
        "results/hcp/split.tsv",
    log:
        "logs/hcp/split.log",
    benchmark:
        "logs/benchmark/hcp/split.tsv"
    priority: 45
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(256),
        runtime=on_attempt(1),
    params:
        subjects=HCP_SUBJECTS,
        seed=job_seed("hcp_split"),
        ratio=HCP["split"]["ratio"],
        val_fraction=HCP["split"]["val_fraction"],
    script:
        "../workflow_scripts/hcp_split.py"


rule hcp_qcfc:
    input:
        fc=expand("results/hcp/qc/sub-{subject}_fc.npz", subject=HCP_SUBJECTS),
        timeseries=[subject_series(s) for s in HCP_SUBJECTS],
        samples=expand("results/hcp/samples/{experiment}.npz", experiment=HCPA["experiments"]),
        atlas="resources/hcp/atlas.npz",
    output:
        tsv=report(
            "results/hcp/qc/strategies.tsv",
            caption="../report/hcp_qcfc.rst",
            category="HCP",
            subcategory="denoising QC",
            labels={"table": "confound strategies (QC-FC)"},
        ),
        md="results/hcp/qc/strategies.md",
        censoring="results/hcp/qc/censoring.tsv",
        png=report(
            "results/hcp/qc/qcfc.png",
            caption="../report/hcp_qcfc.rst",
            category="HCP",
            subcategory="denoising QC",
            labels={"figure": "QC-FC"},
        ),
        pdf="results/hcp/qc/qcfc.pdf",
    log:
        "logs/hcp/qcfc.log",
    benchmark:
        "logs/benchmark/hcp/qcfc.tsv"
    conda:
        "../envs/hcp_preprocess.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(1),
    params:
        strategy=HCP["cleaning"]["strategy"],
        experiments=HCPA["experiments"],
    script:
        "../workflow_scripts/hcp_qcfc.py"
