"""Rule synthetic_noise: every metric of a noise map |N(0,1)| on one dataset's test samples (the floor)."""

from vanishing_saliency.steps import synthetic
from vanishing_saliency.workflow import run_step

run_step(synthetic.noise, snakemake)
