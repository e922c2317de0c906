"""Rule mnist_saliency: saliency of every test image, scores against the ink and the temporal profile."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.mnist_steps import saliency_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

with logged(first_log(snakemake)):
    saliency_step(snakemake.input.data, snakemake.input.model, snakemake.output.maps, snakemake.output.metrics,
                  snakemake.wildcards.method, snakemake.params.saliency, snakemake.params.seed, snakemake.threads)
