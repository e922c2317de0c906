# Vanishing saliency of recurrent networks, end to end.
#   snakemake --cores all                                  (the embedded default, config.yaml)
#   snakemake --cores all --configfile configs/paper.yaml  (a config file replaces the default)
#   snakemake --cores all --config seed=7                  (single keys on top of either)
import os

from snakemake import __version__ as snakemake_version
from snakemake.utils import min_version

from vanishing_saliency.configcheck import check_schema, config_source, reported

min_version("9.0")

# Every rule's script imports this checkout's package (vanishing_saliency) without installing it:
# Snakemake puts this folder on its own sys.path and hands that search path to each script, inside a
# rule's conda env (--sdm conda) too (tests/test_workflow.py checks that a job runs this checkout's code).

# A config file given on the command line replaces the embedded default rather than merging into it
# (Snakemake's own behaviour), so a run is exactly what its file says.
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config.yaml")


CONFIG_SOURCE = config_source(workflow.overwrite_configfiles)
# the --config key=value overrides: an error in one of those keys is blamed on the command line
CONFIG_OVERRIDES = dict(workflow.config_settings.config)

with reported(CONFIG_SOURCE, CONFIG_OVERRIDES):
    check_schema(config, os.path.join(workflow.basedir, "schemas", "config.schema.yaml"))


include: "rules/common.smk"


# File names join model and method with "_" and both contain "_": pin them to the known names.
wildcard_constraints:
    model="|".join(sorted(ARCHITECTURES, key=len, reverse=True)),
    method="|".join(ALL_METHODS),
    dataset="[A-Za-z0-9_]+",
    subject="[A-Za-z0-9]+",


include: "rules/synthetic.smk"
include: "rules/hcp_preprocess.smk"
include: "rules/hcp_analysis.smk"
include: "rules/mnist.smk"
include: "rules/dynamics.smk"
include: "rules/provenance.smk"


report: "report/workflow.rst"


# Snakemake's job rate limiter (the command line's --max-jobs-per-timespan, 100/1s unless set) re-runs the job
# selection from a timer after every selection, and every finished job adds one more such timer chain (the
# release that wakes the scheduler when a job ends is never taken back; snakemake PR #3744 describes the loop).
# After n jobs the scheduler selects about n times per timespan, each time re-evaluating every waiting job's
# params and stat-ing its inputs: in the 447-job default run its main process held 90 timer threads after 170
# jobs and took most of a core from the jobs.  A local run has nothing to rate-limit, so the limiter is switched
# off once the scheduler exists; a cluster run keeps it (it spaces the sbatch calls).  Snakemake has no public
# switch for it (--max-jobs-per-timespan sets the rate, not whether the timers run), so this reaches into its
# scheduler, only on the releases checked (SNAKEMAKE_RELEASES_CHECKED); any other release runs Snakemake's default.
# What it saves: python -m benchmarks.bench_fresh_run of the default run with the limiter and without it (two
# commits that differ only in this switch; benchmarks/README.md has the figures).
SNAKEMAKE_RELEASES_CHECKED = ("9.27.",)


onstart:
    if (
        snakemake_version.startswith(SNAKEMAKE_RELEASES_CHECKED)
        and workflow.local_exec
        and getattr(workflow, "scheduler", None) is not None
    ):
        workflow.scheduler.job_rate_limiter = None


rule all:
    default_target: True
    input:
        synthetic_targets(),
        hcp_targets(),
        mnist_targets(),
        dynamics_targets(),
        provenance_targets(),
