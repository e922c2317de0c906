"""Rule dynamics_prepare: MNIST digits as row or pixel sequences for the audit's own networks."""

from vanishing_saliency.steps import dynamics
from vanishing_saliency.workflow import run_step

run_step(dynamics.prepare, snakemake)
