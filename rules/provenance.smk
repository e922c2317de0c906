# Provenance: written last in each branch's result folder (config hash, package versions,
# git commit, every job's seed, date, host CPU), and shown in the report.


rule provenance:
    input:
        lambda wc: BRANCH_TARGETS[wc.branch](),
    output:
        json="results/{branch}/provenance.json",
        tsv=report(
            "results/{branch}/provenance.tsv",
            caption="../report/provenance.rst",
            category="Provenance",
            subcategory="{branch}",
            labels={"branch": "{branch}"},
        ),
    log:
        "logs/provenance/{branch}.log",
    benchmark:
        "logs/benchmark/provenance/{branch}.tsv"
    wildcard_constraints:
        branch="|".join(BRANCH_TARGETS),
    conda:
        "../envs/provenance.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(600),
        runtime=on_attempt(1),
    params:
        config=config,  # a changed config re-runs this rule (rerun trigger: params)
        job_records="logs",  # every job writes <log>.job.json with the seeds it used
        workflow_dir=workflow.basedir,
    script:
        "../workflow_scripts/provenance.py"
