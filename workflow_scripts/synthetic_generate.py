"""Rule synthetic_generate: one seeded box dataset (.npz with ground-truth masks)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.generate, snakemake)
