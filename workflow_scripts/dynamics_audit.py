"""Rule dynamics_audit: step/sine response of every cell and single-cell ablation of one network."""

from vanishing_saliency.steps import dynamics
from vanishing_saliency.workflow import run_step

run_step(dynamics.audit, snakemake)
