"""Rule hcp_train: train one architecture with one seed on one HCP experiment."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import train_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    train_step(snakemake.input.samples, snakemake.input.split, snakemake.output.model, snakemake.wildcards.model,
               snakemake.params.models, snakemake.params.training, snakemake.params.seed,
               snakemake.wildcards.experiment, snakemake.threads,
               int(snakemake.wildcards.seed))
