"""Rule synthetic_heatmaps: one test sample's saliency per model on one dataset (paper Fig. 3)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.heatmaps, snakemake)
