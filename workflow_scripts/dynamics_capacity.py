"""Rule dynamics_capacity: cell metrics against hidden size."""

from vanishing_saliency.steps import dynamics
from vanishing_saliency.workflow import run_step

run_step(dynamics.capacity, snakemake)
