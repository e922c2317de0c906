"""Rule hcp_saliency: saliency of every test sample for one trained HCP model."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.hcp.experiments import saliency_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    saliency_step(snakemake.input.samples, snakemake.input.split, snakemake.input.model, snakemake.output[0],
                  snakemake.wildcards.method, snakemake.params.saliency, snakemake.params.seed, snakemake.threads)
