"""Rule synthetic_summary: claims 3 and 4 of the paper, decided from this run's numbers."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.summary, snakemake)
