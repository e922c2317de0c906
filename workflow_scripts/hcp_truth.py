"""Rule hcp_truth: how well each model's saliency recovers the simulator's planted ground truth."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import truth_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

p = snakemake.params
with logged(first_log(snakemake)):
    truth_step(p.runs, list(snakemake.input.truth), p.tasks, snakemake.output.tsv, snakemake.output.md,
               snakemake.wildcards.experiment, p.fraction)
