"""Rule synthetic_saliency: saliency maps of the test set and their per-sample metrics."""
from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.saliency, snakemake)  # noqa: F821 (snakemake is set by Snakemake's script preamble)
