"""Rule synthetic_saliency: saliency maps of the test set and their per-sample metrics."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.experiments import saliency_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    saliency_step(snakemake.input.data, snakemake.input.model, snakemake.output.metrics,
                  snakemake.output.examples, snakemake.wildcards.method, snakemake.params.saliency,
                  snakemake.params.seed, snakemake.threads)
