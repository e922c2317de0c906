"""Rule synthetic_methods: every method of the method table on one trained model."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.methods, snakemake)
