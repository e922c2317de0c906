"""Rule mnist_figures: example images with each model's saliency, and the temporal saliency profile."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # works in conda envs without the package installed
from vanishing_saliency.mnist_steps import figures_step  # noqa: E402
from vanishing_saliency.workflow import first_log, logged  # noqa: E402

i, o, p = snakemake.input, snakemake.output, snakemake.params
with logged(first_log(snakemake)):
    figures_step(i.data, list(i.maps), p.models, list(i.metrics), p.per_digit, p.seed, o.examples_png,
                 o.examples_pdf, o.profile_png, o.profile_pdf, o.profile_tsv)
